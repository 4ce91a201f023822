/* env_gc — provider objects of ours (libvirt objects named sbx-*, cluster objects labelled
 * sandbox.dev/state) that this state does not know: list, classify, delete. */
#include "env_int.h"
#include "env_warm.h"

#include <stdlib.h>
#include <string.h>

struct gc {
	struct state *st;
	const struct env_gc_opts *o;
	char **known;        /* every resource name of this state, sorted */
	size_t nknown;
	struct env_gc_item *items;
	size_t n, cap;
	const char *netboot_dir; /* scanned with the first machine site only (it is this host's) */
};

/* The class names. */
const char *env_gc_class_name(enum env_gc_class c)
{
	static const char *const names[] = {"orphan", "protected", "foreign", "untagged"};
	return (unsigned)c < SBX_NELEM(names) ? names[c] : "?";
}

/* qsort/bsearch over strings. */
static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A place objects of ours live: a libvirt URI, or a cluster (kubeconfig, context). */
struct gc_site {
	char *uri, *kubeconfig, *context;
};

/* Add a site unless it is there already. */
static void site_add(struct gc_site **v, size_t *n, char *uri, char *kubeconfig, char *context)
{
	for (size_t i = 0; i < *n; i++)
		if (sbx_streq((*v)[i].uri, uri) && sbx_streq((*v)[i].kubeconfig, kubeconfig) &&
			sbx_streq((*v)[i].context, context)) {
			free(uri);
			free(kubeconfig);
			free(context);
			return;
		}
	*v = xrealloc(*v, (*n + 1) * sizeof(**v));
	(*v)[(*n)++] = (struct gc_site){uri, kubeconfig, context};
}

/* Add the other hosts of a recorded environment's site.hosts. */
static void site_add_hosts(struct gc_site **v, size_t *n, const struct state_env *e)
{
	char **hosts = NULL;
	size_t nh = 0;
	env_site_hosts_of_row(e, &hosts, &nh);
	for (size_t i = 0; i < nh; i++)
		site_add(v, n, hosts[i], NULL, NULL);
	free(hosts);
}

/* The sites to scan: those given (URIs, kubeconfigs), else the default libvirt URI plus every
 * environment's URI, the other hosts of its site.hosts, and its attached cluster. */
static void gc_sites(struct state *st, const struct env_gc_opts *o, struct gc_site **v, size_t *n)
{
	struct state_env **envs = NULL;
	size_t ne = 0;
	struct sbx_err e = SBX_ERR_INIT;
	for (size_t i = 0; i < o->nuris; i++)
		site_add(v, n, xstrdup(o->uris[i]), NULL, NULL);
	for (size_t i = 0; i < o->nkubeconfigs; i++)
		site_add(v, n, NULL, xstrdup(o->kubeconfigs[i]), xstrdup(o->context));
	if (o->nuris || o->nkubeconfigs)
		return;
	site_add(v, n, xstrdup(BP_DEFAULT_URI), NULL, NULL);
	if (state_env_list(st, &envs, &ne, &e) == 0)
		for (size_t i = 0; i < ne; i++) {
			char *uri, *pool, *pool_path, *kc, *ctx;
			bool machines = false;
			env_site_of_row(envs[i], &uri, &pool, &pool_path);
			if (env_cluster_of_row(envs[i], &kc, &ctx, &machines) == ENV_CLUSTER_ATTACHED) {
				site_add(v, n, NULL, kc, ctx);
			} else {
				free(kc);
				free(ctx);
			}
			if (machines) {
				site_add(v, n, uri, NULL, NULL);
				site_add_hosts(v, n, envs[i]);
			} else {
				free(uri);
			}
			free(pool);
			free(pool_path);
		}
	sbx_err_clear(&e);
	state_env_list_free(envs, ne);
}

/* Free the sites. */
static void gc_sites_free(struct gc_site *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].uri);
		free(v[i].kubeconfig);
		free(v[i].context);
	}
	free(v);
}

/* Whether an object is selected by --env: tagged with that environment name, or untagged and
 * named sbx-<env>.* (names are unambiguous: '.' is in no environment name). */
static bool gc_selected(const struct gc *g, const struct prov_obj *o)
{
	if (g->o->env == NULL)
		return true;
	if (o->tagged)
		return sbx_streq(o->env, g->o->env);
	size_t n = strlen(g->o->env);
	return strncmp(o->name, "sbx-", 4) == 0 && strncmp(o->name + 4, g->o->env, n) == 0 && o->name[4 + n] == '.';
}

/* Whose an unknown object is. */
static enum env_gc_class gc_classify(const struct gc *g, const struct prov_obj *o)
{
	if (!o->tagged)
		return ENV_GC_UNTAGGED;
	if (!sbx_streq(o->state_id, state_id(g->st)))
		return ENV_GC_FOREIGN;
	return o->protect ? ENV_GC_PROTECTED : ENV_GC_OURS;
}

/* The names of the warm pool's objects the state records: each member's domain and volumes, and
 * the pool network while any member is recorded. Added to *v (each a new string). */
static int warm_names(struct state *st, char ***v, size_t *n, struct sbx_err *err)
{
	struct warm_member *m = NULL;
	size_t nm = 0;
	if (state_warm_list(st, NULL, &m, &nm, err) < 0)
		return -1;
	for (size_t i = 0; i < nm; i++) {
		char *vols = xstrdup(m[i].volumes ? m[i].volumes : ""), *save = NULL;
		env_strv_add(v, n, xstrdup(m[i].id));
		for (char *t = strtok_r(vols, ",", &save); t; t = strtok_r(NULL, ",", &save))
			env_strv_add(v, n, xstrdup(t));
		free(vols);
	}
	if (nm > 0)
		env_strv_add(v, n, warm_net_name(st));
	state_warm_list_free(m, nm);
	return 0;
}

/* Whether the warm pool records the name now. */
static int gc_warm_recorded(struct gc *g, const char *name, bool *yes, struct sbx_err *err)
{
	char **v = NULL;
	size_t n = 0;
	*yes = false;
	if (warm_names(g->st, &v, &n, err) < 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		*yes = *yes || strcmp(v[i], name) == 0;
	state_strv_free(v, n);
	return 0;
}

/* Whether the state records the name now (re-read under the environment's lock). */
static int gc_recorded(struct gc *g, const char *env, const char *name, bool *yes, struct sbx_err *err)
{
	struct state_res *rows = NULL;
	size_t n = 0;
	*yes = false;
	if (strcmp(env, WARM_OWNER_ENV) == 0)
		return gc_warm_recorded(g, name, yes, err);
	if (state_res_list(g->st, env, &rows, &n, err) < 0)
		return -1;
	for (size_t i = 0; i < n && !*yes; i++)
		*yes = strcmp(rows[i].name, name) == 0;
	state_res_list_free(rows, n);
	return 0;
}

/* Delete an orphan of ours under its environment's lock, after re-checking the state. */
static int gc_delete_ours(struct gc *g, struct prov *p, const struct prov_obj *o, char **note, struct sbx_err *err)
{
	struct state_lock *lk = NULL;
	bool recorded = false;
	struct sbx_err e = SBX_ERR_INIT;
	if (o->env == NULL || state_env_lock(g->st, o->env, 0, &lk, &e) < 0) {
		*note = xasprintf("kept: environment %s is busy (locked)", o->env ? o->env : "?");
		sbx_err_clear(&e);
		return 0;
	}
	int rc = gc_recorded(g, o->env, o->name, &recorded, err);
	if (rc == 0 && recorded)
		*note = xstrdup("kept: the state records it now (a concurrent up)");
	else if (rc == 0)
		rc = prov_obj_delete(p, o, err) == 0 ? 1 : -1;
	state_env_unlock(lk);
	return rc;
}

/* Delete one unknown object if its class allows it; 1 deleted, 0 kept, -1 failed. */
static int gc_delete(struct gc *g, struct prov *p, const struct prov_obj *o, enum env_gc_class c, char **note,
	struct sbx_err *err)
{
	if (!g->o->delete)
		return 0;
	if (c == ENV_GC_OURS)
		return gc_delete_ours(g, p, o, note, err);
	if (!g->o->force_foreign) {
		*note = xstrdup("kept: not this state's (--force-foreign deletes it)");
		return 0;
	}
	return prov_obj_delete(p, o, err) == 0 ? 1 : -1;
}

/* Scan one site; list (and delete, in the delete order) what the state does not know. Returns the
 * number left, or -1. */
static int gc_site(struct gc *g, const struct gc_site *site, struct sbx_err *err)
{
	struct prov_cfg pc = {.state_id = state_id(g->st), .uri = site->uri, .pool = BP_DEFAULT_POOL,
		.pool_path = BP_DEFAULT_POOL_PATH, .kubeconfig = site->kubeconfig, .kube_context = site->context,
		.no_machines = site->uri == NULL, .netboot_dir = site->uri ? g->netboot_dir : NULL};
	if (site->uri)
		g->netboot_dir = NULL;
	char *where = site->uri ? xstrdup(site->uri) : xasprintf("kubeconfig %s%s%s", site->kubeconfig,
		site->context ? " context " : "", site->context ? site->context : "");
	struct prov *p = NULL;
	struct prov_obj *objs = NULL;
	size_t n = 0;
	int left = 0;
	if (prov_open(&pc, &p, err) < 0 || prov_list(p, false, &objs, &n, err) < 0) {
		sbx_err_prefix(err, "%s", where);
		prov_close(p);
		free(where);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		const struct prov_obj *o = &objs[i];
		if (bsearch(&o->name, g->known, g->nknown, sizeof(char *), cmp_str) || !gc_selected(g, o))
			continue;
		enum env_gc_class c = gc_classify(g, o);
		char *note = NULL;
		struct sbx_err e = SBX_ERR_INIT;
		int d = gc_delete(g, p, o, c, &note, &e);
		if (d < 0)
			note = xasprintf("DELETE FAILED: %s", sbx_err_first(&e));
		sbx_err_clear(&e);
		left += d != 1;
		xgrow(&g->items, &g->cap, g->n + 1, sizeof(*g->items));
		g->items[g->n++] = (struct env_gc_item){xstrdup(where), xstrdup(res_type_name(o->type)),
			res_display(o->type, o->name), xstrdup(o->env), xstrdup(o->state_id), c, d == 1, note};
	}
	prov_obj_list_free(objs, n);
	prov_close(p);
	free(where);
	return left;
}

/* The leases whose environment is gone: listed; with --delete --force-foreign released (the
 * environment's BMC credentials went with it, so the machine cannot be powered off from here). */
static int gc_leases(struct gc *g, struct sbx_err *err)
{
	struct state_lease *v = NULL;
	size_t n = 0;
	int left = 0;
	if (state_lease_list(g->st, NULL, &v, &n, err) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (v[i].env_exists || (g->o->env && !sbx_streq(v[i].env, g->o->env)))
			continue;
		char *note = NULL;
		bool del = false;
		struct sbx_err e = SBX_ERR_INIT;
		if (g->o->delete && !g->o->force_foreign)
			note = xstrdup("kept: its environment and BMC credentials are gone; power the machine off, then "
				"--force-foreign releases the lease");
		else if (g->o->delete && state_lease_drop(g->st, v[i].machine, v[i].env, &e) < 0)
			note = xasprintf("DELETE FAILED: %s", sbx_err_first(&e));
		else
			del = g->o->delete;
		sbx_err_clear(&e);
		left += !del;
		xgrow(&g->items, &g->cap, g->n + 1, sizeof(*g->items));
		g->items[g->n++] = (struct env_gc_item){xstrdup("state"), xstrdup("lease"), xasprintf("%s (node %s)",
			v[i].machine, v[i].node), xstrdup(v[i].env), xstrdup(state_id(g->st)), ENV_GC_OURS, del, note};
	}
	state_lease_list_free(v, n);
	return left;
}

/* Garbage-collect orphans. */
int env_gc(const struct env_config *cfg, struct state *st, const struct env_gc_opts *o,
	struct env_gc_item **items, size_t *n, struct sbx_err *err)
{
	struct gc g = {.st = st, .o = o, .netboot_dir = cfg ? cfg->netboot_dir : NULL};
	struct state_res *res = NULL;
	size_t nres = 0, nsites = 0;
	struct gc_site *sites = NULL;
	int left = 0;
	char **warm = NULL;
	size_t nwarm = 0;
	if (state_res_list_all(st, &res, &nres, err) < 0)
		return -1;
	if (warm_names(st, &warm, &nwarm, err) < 0) {
		state_res_list_free(res, nres);
		return -1;
	}
	g.known = xcalloc(nres + nwarm + 1, sizeof(char *));
	for (size_t i = 0; i < nres; i++)
		g.known[g.nknown++] = res[i].name;
	for (size_t i = 0; i < nwarm; i++)
		g.known[g.nknown++] = warm[i];
	qsort(g.known, g.nknown, sizeof(char *), cmp_str);
	gc_sites(st, o, &sites, &nsites);
	for (size_t i = 0; i < nsites && left >= 0; i++) {
		int l = gc_site(&g, &sites[i], err);
		left = l < 0 ? -1 : left + l;
	}
	if (left >= 0 && o->nkubeconfigs == 0) {
		int l = gc_leases(&g, err);
		left = l < 0 ? -1 : left + l;
	}
	free(g.known);
	state_strv_free(warm, nwarm);
	state_res_list_free(res, nres);
	gc_sites_free(sites, nsites);
	*items = g.items;
	*n = g.n;
	return left;
}

/* Free the gc items. */
void env_gc_items_free(struct env_gc_item *items, size_t n)
{
	for (size_t i = 0; items && i < n; i++) {
		free(items[i].uri);
		free(items[i].type);
		free(items[i].name);
		free(items[i].env);
		free(items[i].state_id);
		free(items[i].note);
	}
	free(items);
}
