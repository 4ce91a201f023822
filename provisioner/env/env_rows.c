/* env_rows — an environment's state rows decoded once: typed resources, host keys, nodes. */
#include "env_int.h"

#include <stdlib.h>
#include <string.h>

/* Order rows by (type, name). */
static int cmp_row(const void *a, const void *b)
{
	const struct state_res *x = *(const struct state_res *const *)a, *y = *(const struct state_res *const *)b;
	int c = strcmp(x->type, y->type);
	return c ? c : strcmp(x->name, y->name);
}

/* Decode the provider resources among the rows. */
static int rows_decode(struct env_rows *r, struct sbx_err *err)
{
	r->recs = xcalloc(r->nrows + 1, sizeof(*r->recs));
	for (size_t i = 0; i < r->nrows; i++) {
		const struct state_res *row = &r->rows[i];
		int t = res_type_parse(row->type);
		if (t < 0)
			continue;
		struct plan_rec *rec = &r->recs[r->nrec];
		if (res_decode((enum res_type)t, row->name, NULL, row->spec, &rec->res, err) < 0) {
			sbx_err_prefix(err, "state of %s", row->env);
			return -1;
		}
		rec->status = row->status;
		r->nrec++;
	}
	return 0;
}

/* Load and decode an environment's rows. */
int env_rows_load(struct state *st, const char *env, struct env_rows *out, struct sbx_err *err)
{
	struct env_rows r = {0};
	if (state_res_list(st, env, &r.rows, &r.nrows, err) < 0)
		return -1;
	if (rows_decode(&r, err) < 0) {
		env_rows_clear(&r);
		return -1;
	}
	r.by_key = xcalloc(r.nrows + 1, sizeof(*r.by_key));
	for (size_t i = 0; i < r.nrows; i++)
		r.by_key[i] = &r.rows[i];
	qsort(r.by_key, r.nrows, sizeof(*r.by_key), cmp_row);
	*out = r;
	return 0;
}

/* Free the decoded rows. */
void env_rows_clear(struct env_rows *r)
{
	for (size_t i = 0; i < r->nrec; i++)
		res_clear(&r->recs[i].res);
	free(r->recs);
	free(r->by_key);
	state_res_list_free(r->rows, r->nrows);
	*r = (struct env_rows){0};
}

/* The spec of one row. */
const char *env_rows_spec(const struct env_rows *r, const char *type, const char *name)
{
	struct state_res key = {.type = (char *)type, .name = (char *)name};
	const struct state_res *kp = &key;
	const struct state_res **hit = bsearch(&kp, r->by_key, r->nrows, sizeof(*r->by_key), cmp_row);
	return hit ? (*hit)->spec : NULL;
}

/* Fill one node from a recorded domain. */
static void node_from_rec(struct env_node *n, const struct plan_rec *rec, const struct env_rows *rows)
{
	const struct res_domain *d = &rec->res.u.dom;
	n->node = xstrdup(d->node ? d->node : "");
	n->index = d->index;
	n->instance = xasprintf("%s-%d", n->node, n->index);
	n->domain = xstrdup(rec->res.name);
	n->status = xstrdup(rec->status);
	n->naddrs = d->nnics;
	n->addrs = xcalloc(n->naddrs + 1, sizeof(char *));
	n->nets = xcalloc(n->naddrs + 1, sizeof(char *));
	for (size_t i = 0; i < n->naddrs; i++) {
		n->addrs[i] = xstrdup(d->nics[i].ip);
		n->nets[i] = xstrdup(d->nics[i].net);
	}
	n->ip = xstrdup(n->naddrs ? n->addrs[0] : NULL);
	n->hostkey = xstrdup(env_rows_spec(rows, ENV_ROW_HOSTKEY, rec->res.name));
}

/* The host entry of machine instance `inst` in a recorded network boot service, and that
 * service's network (NULL: none boots it). */
static const struct res_host *machine_host(const struct env_rows *rows, const char *inst, const char **net)
{
	for (size_t i = 0; i < rows->nrec; i++)
		for (size_t k = 0; rows->recs[i].res.type == RES_NETBOOT && k < rows->recs[i].res.u.nb.nhosts; k++)
			if (sbx_streq(rows->recs[i].res.u.nb.hosts[k].name, inst) && rows->recs[i].res.u.nb.hosts[k].ip) {
				*net = rows->recs[i].res.u.nb.net;
				return &rows->recs[i].res.u.nb.hosts[k];
			}
	return NULL;
}

/* Fill one node from a recorded bare-metal machine (instance 0) at the address its service gives. */
static void node_from_machine(struct env_node *n, const struct plan_rec *rec, const struct res_host *h,
	const char *net, const struct env_rows *rows)
{
	n->node = xstrdup(rec->res.u.mach.node ? rec->res.u.mach.node : "");
	n->instance = xstrdup(h->name);
	n->domain = xstrdup(rec->res.name);
	n->status = xstrdup(rec->status);
	n->machine = true;
	n->naddrs = 1;
	n->addrs = xcalloc(2, sizeof(char *));
	n->nets = xcalloc(2, sizeof(char *));
	n->addrs[0] = xstrdup(h->ip);
	n->nets[0] = xstrdup(net ? net : "");
	n->ip = xstrdup(h->ip);
	n->hostkey = xstrdup(env_rows_spec(rows, ENV_ROW_HOSTKEY, rec->res.name));
}

/* Each node's host from env's placement (none: NULL). */
static int nodes_hosts(struct state *st, const char *env, struct env_node *nodes, size_t n, struct sbx_err *err)
{
	struct state_place *pv = NULL;
	size_t npv = 0;
	if (state_place_list(st, env, &pv, &npv, err) < 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (!nodes[i].machine && nodes[i].node)
			nodes[i].host = xstrdup(state_place_find(pv, npv, "node", nodes[i].node));
	state_place_list_free(pv, npv);
	return 0;
}

/* The node instances of an environment, from its domain resources, then its bare-metal machines
 * that boot from a network boot service (a machine without one has no address to reach). */
int env_nodes(struct state *st, const char *env, struct env_node **out, size_t *n, struct sbx_err *err)
{
	struct env_rows rows;
	size_t k = 0;
	if (env_rows_load(st, env, &rows, err) < 0)
		return -1;
	struct env_node *nodes = xcalloc(rows.nrec + 1, sizeof(*nodes));
	for (size_t i = 0; i < rows.nrec; i++)
		if (rows.recs[i].res.type == RES_DOMAIN)
			node_from_rec(&nodes[k++], &rows.recs[i], &rows);
	for (size_t i = 0; i < rows.nrec; i++) {
		const struct plan_rec *rec = &rows.recs[i];
		const char *net = NULL;
		char *inst = rec->res.type == RES_MACHINE ? xasprintf("%s-0", rec->res.u.mach.node ? rec->res.u.mach.node : "") : NULL;
		const struct res_host *h = inst ? machine_host(&rows, inst, &net) : NULL;
		if (h)
			node_from_machine(&nodes[k++], rec, h, net, &rows);
		free(inst);
	}
	env_rows_clear(&rows);
	if (nodes_hosts(st, env, nodes, k, err) < 0) {
		env_nodes_free(nodes, k);
		return -1;
	}
	*out = nodes;
	*n = k;
	return 0;
}

/* Free the node list. */
void env_nodes_free(struct env_node *nodes, size_t n)
{
	for (size_t i = 0; nodes && i < n; i++) {
		struct env_node *x = &nodes[i];
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
		free(x->hostkey);
		free(x->host);
	}
	free(nodes);
}
