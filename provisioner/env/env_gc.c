/* env_gc — provider objects named sbx-* that this state does not know: list, and delete. */
#include "env_int.h"

#include <stdlib.h>
#include <string.h>

struct gc {
	const struct env_gc_opts *o;
	char **known;        /* every resource name of this state, sorted */
	size_t nknown;
	struct env_gc_item *items;
	size_t n, cap;
};

/* qsort/bsearch over strings. */
static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The sites to scan: those given, else the default plus every environment's. */
static void gc_uris(struct state *st, const struct env_gc_opts *o, char ***uris, size_t *n)
{
	struct state_env **envs = NULL;
	size_t ne = 0;
	struct sbx_err e = SBX_ERR_INIT;
	for (size_t i = 0; i < o->nuris; i++)
		env_strv_add(uris, n, xstrdup(o->uris[i]));
	if (o->nuris)
		return;
	env_strv_add(uris, n, xstrdup(BP_DEFAULT_URI));
	if (state_env_list(st, &envs, &ne, &e) == 0)
		for (size_t i = 0; i < ne; i++) {
			char *uri, *pool, *pool_path;
			env_site_of_row(envs[i], &uri, &pool, &pool_path);
			bool seen = false;
			for (size_t k = 0; k < *n; k++)
				seen |= strcmp((*uris)[k], uri) == 0;
			if (!seen)
				env_strv_add(uris, n, uri);
			else
				free(uri);
			free(pool);
			free(pool_path);
		}
	sbx_err_clear(&e);
	state_env_list_free(envs, ne);
}

/* Scan one site; list (and delete, in the delete order) orphans. Returns those left, or -1. */
static int gc_site(struct gc *g, const char *uri, struct sbx_err *err)
{
	struct prov_cfg pc = {.uri = uri, .pool = BP_DEFAULT_POOL, .pool_path = BP_DEFAULT_POOL_PATH};
	struct prov *p = NULL;
	struct prov_obj *objs = NULL;
	size_t n = 0;
	int left = 0;
	if (prov_open(&pc, &p, err) < 0 || prov_list(p, g->o->env, &objs, &n, err) < 0) {
		prov_close(p);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		if (bsearch(&objs[i].name, g->known, g->nknown, sizeof(char *), cmp_str))
			continue;
		bool deleted = g->o->delete && prov_obj_delete(p, &objs[i], err) == 0;
		left += !deleted;
		xgrow(&g->items, &g->cap, g->n + 1, sizeof(*g->items));
		g->items[g->n++] = (struct env_gc_item){xstrdup(uri), xstrdup(res_type_name(objs[i].type)),
			xstrdup(objs[i].name), xstrdup(objs[i].env), deleted};
	}
	prov_obj_list_free(objs, n);
	prov_close(p);
	return left;
}

/* Garbage-collect orphans. */
int env_gc(const struct env_config *cfg, struct state *st, const struct env_gc_opts *o,
	struct env_gc_item **items, size_t *n, struct sbx_err *err)
{
	struct gc g = {.o = o};
	struct state_res *res = NULL;
	size_t nres = 0, nuris = 0;
	char **uris = NULL;
	int left = 0;
	(void)cfg;
	if (state_res_list_all(st, &res, &nres, err) < 0)
		return -1;
	g.known = xcalloc(nres + 1, sizeof(char *));
	for (size_t i = 0; i < nres; i++)
		g.known[g.nknown++] = res[i].name;
	qsort(g.known, g.nknown, sizeof(char *), cmp_str);
	gc_uris(st, o, &uris, &nuris);
	for (size_t i = 0; i < nuris && left >= 0; i++) {
		int l = gc_site(&g, uris[i], err);
		left = l < 0 ? -1 : left + l;
	}
	free(g.known);
	state_res_list_free(res, nres);
	state_strv_free(uris, nuris);
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
	}
	free(items);
}
