/* lv_list — listing our domains, networks and volumes (by env) and deleting one listed object. */
#include "lv_int.h"

#include <stdlib.h>
#include <string.h>

struct obj_list {
	struct lv_obj *v;
	size_t n, cap;
};

/* Append an object. */
static void objs_add(struct obj_list *l, const char *kind, const char *name, char *env, const char *pool)
{
	xgrow(&l->v, &l->cap, l->n + 1, sizeof *l->v);
	l->v[l->n++] = (struct lv_obj){xstrdup(kind), xstrdup(name), env, xstrdup(pool)};
}

/* Our domains (name sbx-*), env from metadata. */
static int list_domains(struct lv *lv, struct obj_list *l, struct sbx_err *err)
{
	virDomainPtr *doms = NULL;
	int n = virConnectListAllDomains(lv->conn, &doms, 0);
	if (n < 0)
		return lv_fail(err, "cannot list", "domains");
	for (int i = 0; i < n; i++) {
		const char *name = virDomainGetName(doms[i]);
		if (name && sbx_has_prefix(name, "sbx-"))
			objs_add(l, "domain", name, lv_dom_meta_attr(doms[i], "name"), NULL);
		virDomainFree(doms[i]);
	}
	free(doms);
	return 0;
}

/* Our networks (name sbx-*). */
static int list_networks(struct lv *lv, struct obj_list *l, struct sbx_err *err)
{
	virNetworkPtr *nets = NULL;
	int n = virConnectListAllNetworks(lv->conn, &nets, 0);
	if (n < 0)
		return lv_fail(err, "cannot list", "networks");
	for (int i = 0; i < n; i++) {
		const char *name = virNetworkGetName(nets[i]);
		if (name && sbx_has_prefix(name, "sbx-"))
			objs_add(l, "network", name, NULL, NULL);
		virNetworkFree(nets[i]);
	}
	free(nets);
	return 0;
}

/* Our volumes (name sbx-*) in one active pool. */
static void list_pool_volumes(virStoragePoolPtr pool, struct obj_list *l)
{
	virStorageVolPtr *vols = NULL;
	const char *pname = virStoragePoolGetName(pool);
	virStoragePoolRefresh(pool, 0);
	int n = virStoragePoolListAllVolumes(pool, &vols, 0);
	for (int i = 0; i < n; i++) {
		const char *name = virStorageVolGetName(vols[i]);
		if (name && sbx_has_prefix(name, "sbx-"))
			objs_add(l, "volume", name, NULL, pname);
		virStorageVolFree(vols[i]);
	}
	free(vols);
}

/* Our volumes in every active pool. */
static int list_volumes(struct lv *lv, struct obj_list *l, struct sbx_err *err)
{
	virStoragePoolPtr *pools = NULL;
	int n = virConnectListAllStoragePools(lv->conn, &pools, VIR_CONNECT_LIST_STORAGE_POOLS_ACTIVE);
	if (n < 0)
		return lv_fail(err, "cannot list", "storage pools");
	for (int i = 0; i < n; i++) {
		list_pool_volumes(pools[i], l);
		virStoragePoolFree(pools[i]);
	}
	free(pools);
	return 0;
}

/* The environment owning an object without metadata: the longest known env whose prefix
 * "sbx-<env>-" its name carries (env names may contain '-'), or NULL. */
static const char *obj_owner(const struct obj_list *l, const char *want, const char *name)
{
	const char *best = NULL;
	for (size_t i = 0; i <= l->n; i++) {
		const char *e = i < l->n ? l->v[i].env : want;
		if (e == NULL || (best && strlen(e) <= strlen(best)))
			continue;
		size_t n = strlen(e);
		if (strncmp(name, "sbx-", 4) == 0 && strncmp(name + 4, e, n) == 0 && name[4 + n] == '-')
			best = e;
	}
	return best;
}

/* Whether a listed object belongs to env. */
static bool obj_keep(const struct obj_list *l, const struct lv_obj *o, const char *env)
{
	if (env == NULL)
		return true;
	if (o->env)
		return strcmp(o->env, env) == 0;
	return sbx_streq(obj_owner(l, env, o->name), env);
}

/* Free one object's strings. */
static void obj_clear(struct lv_obj *o)
{
	free(o->kind);
	free(o->name);
	free(o->env);
	free(o->pool);
}

/* List our objects, optionally only those of one environment. */
int lv_list_ours(struct lv *lv, const char *env, struct lv_obj **out, size_t *n, struct sbx_err *err)
{
	struct obj_list l = {0};
	size_t kept = 0;
	if (list_domains(lv, &l, err) < 0 || list_networks(lv, &l, err) < 0 || list_volumes(lv, &l, err) < 0) {
		lv_obj_list_free(l.v, l.n);
		return -1;
	}
	bool *keep = xcalloc(l.n + 1, sizeof *keep);
	for (size_t i = 0; i < l.n; i++)
		keep[i] = obj_keep(&l, &l.v[i], env);
	for (size_t i = 0; i < l.n; i++) {
		if (keep[i])
			l.v[kept++] = l.v[i];
		else
			obj_clear(&l.v[i]);
	}
	free(keep);
	*out = l.v;
	*n = kept;
	return 0;
}

/* Free a list from lv_list_ours. */
void lv_obj_list_free(struct lv_obj *objs, size_t n)
{
	for (size_t i = 0; objs && i < n; i++)
		obj_clear(&objs[i]);
	free(objs);
}

/* Delete a domain or network object. */
static int obj_delete_named(struct lv *lv, const struct lv_obj *o, struct sbx_err *err)
{
	return sbx_streq(o->kind, "domain") ? lv_dom_delete(lv, o->name, err) : lv_net_delete(lv, o->name, err);
}

/* Delete a volume object. */
static int obj_delete_vol(struct lv *lv, const struct lv_obj *o, struct sbx_err *err)
{
	return lv_vol_delete(lv, o->pool ? o->pool : "", o->name, err);
}

/* How each kind of object is deleted. */
static const struct {
	const char *kind;
	int (*del)(struct lv *, const struct lv_obj *, struct sbx_err *);
} obj_deleters[] = {
	{"domain", obj_delete_named},
	{"network", obj_delete_named},
	{"volume", obj_delete_vol},
};

/* Delete one listed object. */
int lv_obj_delete(struct lv *lv, const struct lv_obj *obj, struct sbx_err *err)
{
	for (size_t i = 0; i < SBX_NELEM(obj_deleters); i++)
		if (sbx_streq(obj->kind, obj_deleters[i].kind))
			return obj_deleters[i].del(lv, obj, err);
	return sbx_err_set(err, SBX_EXIT_FAILED, "cannot delete %s %s: unknown kind", obj->kind, obj->name);
}
