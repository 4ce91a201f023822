/* env_place — an environment spread over site.hosts: its placement as text, the routes that send each
 * of its objects to its host, and the refusal of a blueprint that keeps objects on a host it no longer
 * lists (they are never created again elsewhere). */
#include "env_int.h"

#include <stdlib.h>
#include <string.h>

/* Free a placement. */
void env_placement_clear(struct env_placement *pl)
{
	free(pl->host);
	free(pl->share);
	free(pl->node_host);
	free(pl->net_host);
	*pl = (struct env_placement){0};
}

/* What goes to host h of pl, or NULL when nothing does. */
char *env_placement_text(const struct bp_blueprint *bp, const struct env_placement *pl, size_t h)
{
	struct sbx_buf nodes = {0}, nets = {0};
	for (size_t i = 0; i < bp->nnodes; i++)
		if (pl->node_host[i] == h)
			sbx_buf_printf(&nodes, "%s%s", nodes.len ? ", " : "", bp->nodes[i].name);
	for (size_t i = 0; i < bp->nnetworks; i++)
		if (pl->net_host[i] == h)
			sbx_buf_printf(&nets, "%s%s", nets.len ? ", " : "", bp->networks[i].name);
	char *t = NULL;
	if (nodes.len || nets.len)
		t = xasprintf("%s: nodes %s; networks %s (%.1f GiB memory, %lld CPUs)", pl->host[h].uri,
			nodes.len ? nodes.data : "none", nets.len ? nets.data : "none",
			(double)pl->share[h].memory / (1024.0 * 1024.0 * 1024.0), (long long)pl->share[h].cpus);
	sbx_buf_free(&nodes);
	sbx_buf_free(&nets);
	return t;
}

/* Add a route. */
static void route_add(struct prov_route **v, size_t *n, char *name, const char *uri)
{
	*v = xrealloc(*v, (*n + 1) * sizeof(**v));
	(*v)[(*n)++] = (struct prov_route){name, xstrdup(uri)};
}

/* Route the domain, volume and seed of each instance of bp's placed nodes. */
static void routes_of_bp(const char *env, const struct bp_blueprint *bp, const struct state_place *pv, size_t npv,
	struct prov_route **v, size_t *n)
{
	for (size_t i = 0; bp && i < bp->nnodes; i++) {
		const char *uri = state_place_find(pv, npv, "node", bp->nodes[i].name);
		for (int k = 0; uri && k < bp->nodes[i].count; k++) {
			char *dom = plan_domain_name(env, bp->nodes[i].name, k);
			route_add(v, n, xasprintf("%s.qcow2", dom), uri);
			route_add(v, n, xasprintf("%s-seed.iso", dom), uri);
			route_add(v, n, dom, uri);
		}
	}
	for (size_t i = 0; bp && i < bp->nnetworks; i++) {
		const char *uri = state_place_find(pv, npv, "network", bp->networks[i].name);
		if (uri)
			route_add(v, n, plan_network_name(env, bp->networks[i].name), uri);
	}
}

/* The blueprint node of a node instance ("web-0": "web"; caller frees). */
static char *node_of_instance(const char *inst)
{
	const char *dash = strrchr(inst, '-');
	return dash ? xasprintf("%.*s", (int)(dash - inst), inst) : xstrdup(inst);
}

/* Route env's recorded resources (a node removed from the blueprint still has its host). */
static int routes_of_rows(struct state *st, const char *env, const struct state_place *pv, size_t npv,
	struct prov_route **v, size_t *n, struct sbx_err *err)
{
	struct env_rows rows = {0};
	if (env_rows_load(st, env, &rows, err) < 0)
		return -1;
	for (size_t i = 0; i < rows.nrec; i++) {
		const struct res *r = &rows.recs[i].res;
		const char *uri = NULL;
		if (r->type == RES_NETWORK)
			uri = state_place_find(pv, npv, "network", r->u.net.net);
		else if (r->node && r->type != RES_MACHINE && r->type != RES_K8S) {
			char *node = node_of_instance(r->node);
			uri = state_place_find(pv, npv, "node", node);
			free(node);
		}
		if (uri)
			route_add(v, n, xstrdup(r->name), uri);
	}
	env_rows_clear(&rows);
	return 0;
}

/* The routes of env's objects. */
int env_place_routes(struct state *st, const char *env, const struct bp_blueprint *bp, struct prov_route **out,
	size_t *n, struct sbx_err *err)
{
	struct state_place *pv = NULL;
	struct prov_route *v = NULL;
	size_t npv = 0, k = 0;
	*out = NULL;
	*n = 0;
	if (state_place_list(st, env, &pv, &npv, err) < 0)
		return -1;
	routes_of_bp(env, bp, pv, npv, &v, &k);
	int rc = npv ? routes_of_rows(st, env, pv, npv, &v, &k, err) : 0;
	state_place_list_free(pv, npv);
	if (rc < 0) {
		env_routes_free(v, k);
		return -1;
	}
	*out = v;
	*n = k;
	return 0;
}

/* Free routes. */
void env_routes_free(struct prov_route *r, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free((char *)r[i].name);
		free((char *)r[i].uri);
	}
	free(r);
}

/* Whether bp still has the node or network of a placement row. */
bool env_place_in_bp(const struct bp_blueprint *bp, const struct state_place *r)
{
	bool node = strcmp(r->kind, "node") == 0;
	size_t n = node ? bp->nnodes : bp->nnetworks;
	for (size_t i = 0; i < n; i++)
		if (strcmp(node ? bp->nodes[i].name : bp->networks[i].name, r->name) == 0)
			return true;
	return false;
}

/* Whether uri is one of bp's hosts (site.hosts, else site.uri). */
static bool bp_lists_host(const struct bp_blueprint *bp, const char *uri)
{
	if (bp->site.nhosts == 0)
		return sbx_streq(bp->site.uri, uri);
	for (size_t i = 0; i < bp->site.nhosts; i++)
		if (strcmp(bp->site.hosts[i], uri) == 0)
			return true;
	return false;
}

/* Refuse what of bp the rows pv place on the host of row k (its first): "nodes a, b and networks n". */
static void refuse_host(const struct state_place *pv, size_t npv, size_t k, const struct bp_blueprint *bp,
	struct sbx_err *err)
{
	struct sbx_buf nodes = {0}, nets = {0};
	const char *uri = pv[k].uri;
	for (size_t i = k; i < npv; i++) {
		bool node = strcmp(pv[i].kind, "node") == 0;
		struct sbx_buf *b = node ? &nodes : &nets;
		if (strcmp(pv[i].uri, uri) == 0 && env_place_in_bp(bp, &pv[i]))
			sbx_buf_printf(b, "%s%s", b->len ? ", " : "", pv[i].name);
	}
	sbx_err_set(err, SBX_EXIT_REFUSED, "%s%s%s%s%s are placed on %s, which is no longer in site.hosts",
		nodes.len ? "nodes " : "", nodes.len ? nodes.data : "", nodes.len && nets.len ? " and " : "",
		nets.len ? "networks " : "", nets.len ? nets.data : "", uri);
	sbx_buf_free(&nodes);
	sbx_buf_free(&nets);
}

/* Refuse env when nodes or networks bp still has were placed on a host bp no longer lists. */
int env_place_check(struct state *st, const char *env, const struct bp_blueprint *bp, struct sbx_err *err)
{
	struct state_place *pv = NULL;
	struct sbx_buf gone = {0};
	size_t npv = 0;
	if (state_place_list(st, env, &pv, &npv, err) < 0)
		return -1;
	for (size_t i = 0; i < npv; i++) {
		bool seen = false;
		for (size_t j = 0; j < i && !seen; j++) /* each host once, at its first row */
			seen = strcmp(pv[j].uri, pv[i].uri) == 0 && env_place_in_bp(bp, &pv[j]);
		if (seen || bp_lists_host(bp, pv[i].uri) || !env_place_in_bp(bp, &pv[i]))
			continue;
		refuse_host(pv, npv, i, bp, err);
		sbx_buf_printf(&gone, "%s%s", gone.len ? " and " : "", pv[i].uri);
	}
	if (gone.len)
		sbx_err_hint(err, "nothing was changed; add %s back to site.hosts, or remove those nodes (and their "
			"networks) from the blueprint to delete them there", gone.data);
	int rc = gone.len ? -1 : 0;
	sbx_buf_free(&gone);
	state_place_list_free(pv, npv);
	return rc;
}

/* Drop the placement rows of the nodes and networks bp no longer has (once up deleted them). */
int env_place_prune(struct state *st, const char *env, const struct bp_blueprint *bp, struct sbx_err *err)
{
	struct state_place *pv = NULL;
	size_t npv = 0, k = 0;
	if (state_place_list(st, env, &pv, &npv, err) < 0)
		return -1;
	struct state_place *keep = xcalloc(npv + 1, sizeof(*keep));
	for (size_t i = 0; i < npv; i++)
		if (env_place_in_bp(bp, &pv[i]))
			keep[k++] = pv[i];
	int rc = k < npv ? state_place_set(st, env, keep, k, err) : 0;
	free(keep);
	state_place_list_free(pv, npv);
	return rc;
}
