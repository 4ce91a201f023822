/* stack — shared pieces of the lifecycle: site of an environment, key paths, nodes, plan. */
#include "stack.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

/* The libvirt URI and pool from an environment's resolved blueprint. */
void stack_env_site(const struct state_env *env, char **uri, char **pool)
{
	json_t *j = json_loads(env->bp_json ? env->bp_json : "{}", 0, NULL);
	json_t *site = json_object_get(j, "site");
	const char *u = json_string_value(json_object_get(site, "uri"));
	const char *p = json_string_value(json_object_get(site, "pool"));
	*uri = xstrdup(u ? u : "qemu:///system");
	*pool = xstrdup(p ? p : "sandbox");
	json_decref(j);
}

/* The key file of an environment. */
char *stack_key_path(struct state *st, const char *env)
{
	return xasprintf("%s/keys/%s.pem", state_dir(st), env);
}

/* The known_hosts file of an environment. */
char *stack_known_hosts_path(struct state *st, const char *env)
{
	return xasprintf("%s/keys/%s.known_hosts", state_dir(st), env);
}

/* Fill one node from a domain resource's spec. */
static void node_from_spec(struct stack_node *n, const struct state_res *r)
{
	json_t *j = json_loads(r->spec ? r->spec : "{}", 0, NULL);
	const char *node = json_string_value(json_object_get(j, "node"));
	n->node = xstrdup(node ? node : "");
	n->index = (int)json_integer_value(json_object_get(j, "index"));
	n->instance = xasprintf("%s-%d", n->node, n->index);
	n->domain = xstrdup(r->name);
	n->status = xstrdup(r->status);
	json_t *nics = json_object_get(j, "nics");
	n->naddrs = json_array_size(nics);
	n->addrs = xcalloc(n->naddrs + 1, sizeof(char *));
	n->nets = xcalloc(n->naddrs + 1, sizeof(char *));
	for (size_t i = 0; i < n->naddrs; i++) {
		json_t *nic = json_array_get(nics, i);
		n->addrs[i] = xstrdup(json_string_value(json_object_get(nic, "ip")));
		n->nets[i] = xstrdup(json_string_value(json_object_get(nic, "net")));
	}
	n->ip = xstrdup(n->naddrs ? n->addrs[0] : NULL);
	json_decref(j);
}

/* The node instances of an environment, from its domain resources. */
int stack_nodes(struct state *st, const char *env, struct stack_node **out, size_t *n,
	struct sbx_err *err)
{
	struct state_res *res = NULL;
	size_t nres = 0, k = 0;
	if (state_res_list(st, env, &res, &nres, err) < 0)
		return -1;
	struct stack_node *nodes = xcalloc(nres + 1, sizeof(*nodes));
	for (size_t i = 0; i < nres; i++)
		if (strcmp(res[i].type, PLAN_T_DOMAIN) == 0)
			node_from_spec(&nodes[k++], &res[i]);
	state_res_list_free(res, nres);
	*out = nodes;
	*n = k;
	return 0;
}

/* The pinned host key of a domain, or NULL. */
char *stack_pinned_key(struct state *st, const char *env, const char *domain)
{
	struct state_res *res = NULL;
	size_t n = 0;
	char *key = NULL;
	struct sbx_err e = SBX_ERR_INIT;
	if (state_res_list(st, env, &res, &n, &e) == 0)
		for (size_t i = 0; i < n && key == NULL; i++)
			if (strcmp(res[i].type, STACK_T_HOSTKEY) == 0 && strcmp(res[i].name, domain) == 0)
				key = xstrdup(res[i].spec);
	sbx_err_clear(&e);
	state_res_list_free(res, n);
	return key;
}

/* Free the node list. */
void stack_nodes_free(struct stack_node *nodes, size_t n)
{
	for (size_t i = 0; nodes && i < n; i++) {
		struct stack_node *x = &nodes[i];
		for (size_t k = 0; k < x->naddrs; k++) {
			free(x->addrs[k]);
			free(x->nets[k]);
		}
		free(x->addrs);
		free(x->nets);
		free(x->instance);
		free(x->node);
		free(x->domain);
		free(x->ip);
		free(x->status);
	}
	free(nodes);
}

/* Plan without side effects. */
int stack_plan(struct state *st, const struct bp_blueprint *bp, const char *env, struct plan *out,
	struct sbx_err *err)
{
	struct plan_net *nets = xcalloc(bp->nnetworks + 1, sizeof(*nets));
	char **cidrs = xcalloc(bp->nnetworks + 1, sizeof(char *));
	struct plan_desired d = {0};
	struct state_res *rec = NULL;
	struct state_env *e = NULL;
	size_t nrec = 0;
	int rc = -1;
	if (state_env_get(st, env, &e, err) < 0)
		goto out;
	for (size_t i = 0; i < bp->nnetworks; i++) {
		if (state_ipam_get(st, env, bp->networks[i].name, &cidrs[i], err) < 0)
			goto out;
		if (cidrs[i] == NULL)
			cidrs[i] = xstrdup(strcmp(bp->networks[i].cidr, "auto") ? bp->networks[i].cidr : "0.0.0.0/24");
		nets[i] = (struct plan_net){bp->networks[i].name, cidrs[i]};
	}
	if (plan_desired(bp, env, nets, bp->nnetworks, &d, err) < 0 ||
		state_res_list(st, env, &rec, &nrec, err) < 0)
		goto out;
	rc = plan_build(&d, rec, nrec, NULL, 0, e ? e->protected : false, out, err);
out:
	for (size_t i = 0; i < bp->nnetworks; i++)
		free(cidrs[i]);
	free(cidrs);
	free(nets);
	plan_desired_clear(&d);
	state_res_list_free(rec, nrec);
	state_env_free(e);
	return rc;
}

/* Free a receipt. */
void stack_receipt_clear(struct stack_receipt *r)
{
	state_strv_free(r->removed, r->nremoved);
	state_strv_free(r->remaining, r->nremaining);
	*r = (struct stack_receipt){0};
}
