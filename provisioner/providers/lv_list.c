/* lv_list — listing our domains, networks and volumes with their owners; deleting one of them. */
#include "lv_int.h"

#include <stdlib.h>
#include <string.h>

#include "ip4.h"

struct obj_list {
	struct lv_obj *v;
	size_t n, cap;
};

/* Append an object (takes ownership of the owner record). */
static struct lv_obj *objs_add(struct obj_list *l, const char *kind, const char *name, const char *pool)
{
	xgrow(&l->v, &l->cap, l->n + 1, sizeof *l->v);
	struct lv_obj *o = &l->v[l->n++];
	*o = (struct lv_obj){xstrdup(kind), xstrdup(name), xstrdup(pool), {0}};
	return o;
}

/*
 * Whether a name is listed for prefix: it starts with it, or it is a warm pool object
 * (SBX_POOL_PREFIX), which an environment that took a member over keeps
 * under its pool name (its owner tag then names the environment: lv_obj.owner decides, not the name).
 */
static bool listed(const char *name, const char *prefix)
{
	return sbx_has_prefix(name, prefix) || sbx_has_prefix(name, SBX_POOL_PREFIX);
}

/* Our domains (name starting with prefix), owner from metadata. */
static int list_domains(struct lv *lv, const char *prefix, struct obj_list *l, struct sbx_err *err)
{
	virDomainPtr *doms = NULL;
	int n = virConnectListAllDomains(lv->conn, &doms, 0);
	if (n < 0)
		return lv_fail(err, "cannot list", "domains");
	for (int i = 0; i < n; i++) {
		const char *name = virDomainGetName(doms[i]);
		if (name && listed(name, prefix))
			lv_dom_owner_of(doms[i], &objs_add(l, "domain", name, NULL)->owner);
		virDomainFree(doms[i]);
	}
	free(doms);
	return 0;
}

/* Our networks (name starting with prefix), owner from their DNS TXT record. */
static int list_networks(struct lv *lv, const char *prefix, struct obj_list *l, struct sbx_err *err)
{
	virNetworkPtr *nets = NULL;
	int n = virConnectListAllNetworks(lv->conn, &nets, 0);
	if (n < 0)
		return lv_fail(err, "cannot list", "networks");
	for (int i = 0; i < n; i++) {
		const char *name = virNetworkGetName(nets[i]);
		if (name && listed(name, prefix)) {
			char *xml = virNetworkGetXMLDesc(nets[i], 0);
			lv_net_owner_of(xml, &objs_add(l, "network", name, NULL)->owner);
			free(xml);
		}
		virNetworkFree(nets[i]);
	}
	free(nets);
	return 0;
}

/* Our volumes (name starting with prefix) in one active pool, owner from the file (local libvirt).
 * refresh: rescan the pool's directory first (files libvirt did not make); an environment's
 * volumes are all made through libvirt, and a rescan reads every file of the pool. */
static void list_pool_volumes(struct lv *lv, const char *prefix, bool refresh, virStoragePoolPtr pool,
	struct obj_list *l)
{
	virStorageVolPtr *vols = NULL;
	const char *pname = virStoragePoolGetName(pool);
	if (refresh)
		virStoragePoolRefresh(pool, 0);
	int n = virStoragePoolListAllVolumes(pool, &vols, 0);
	for (int i = 0; i < n; i++) {
		const char *name = virStorageVolGetName(vols[i]);
		if (name && listed(name, prefix)) {
			struct lv_obj *o = objs_add(l, "volume", name, pname);
			char *path = lv->local ? virStorageVolGetPath(vols[i]) : NULL;
			lv_owner_file_read(path, &o->owner);
			free(path);
		}
		virStorageVolFree(vols[i]);
	}
	free(vols);
}

/* Our volumes in every active pool. */
static int list_volumes(struct lv *lv, const char *prefix, bool refresh, struct obj_list *l, struct sbx_err *err)
{
	virStoragePoolPtr *pools = NULL;
	int n = virConnectListAllStoragePools(lv->conn, &pools, VIR_CONNECT_LIST_STORAGE_POOLS_ACTIVE);
	if (n < 0)
		return lv_fail(err, "cannot list", "storage pools");
	for (int i = 0; i < n; i++) {
		list_pool_volumes(lv, prefix, refresh, pools[i], l);
		virStoragePoolFree(pools[i]);
	}
	free(pools);
	return 0;
}

/* List every object of ours (or of one environment's names). */
int lv_list_all(struct lv *lv, const char *env, struct lv_obj **out, size_t *n, struct sbx_err *err)
{
	struct obj_list l = {0};
	char *prefix = env ? xasprintf("sbx-%s.", env) : xstrdup("sbx-");
	int rc = list_domains(lv, prefix, &l, err) < 0 || list_networks(lv, prefix, &l, err) < 0 ||
		list_volumes(lv, prefix, env == NULL, &l, err) < 0 ? -1 : 0;
	free(prefix);
	if (rc < 0) {
		lv_obj_list_free(l.v, l.n);
		return -1;
	}
	*out = l.v;
	*n = l.n;
	return 0;
}

/* Free a listing. */
void lv_obj_list_free(struct lv_obj *objs, size_t n)
{
	for (size_t i = 0; objs && i < n; i++) {
		free(objs[i].kind);
		free(objs[i].name);
		free(objs[i].pool);
		lv_owner_rec_clear(&objs[i].owner);
	}
	free(objs);
}

/* Delete one listed object. */
int lv_obj_delete(struct lv *lv, const struct lv_obj *obj, struct sbx_err *err)
{
	if (sbx_streq(obj->kind, "domain"))
		return lv_dom_delete(lv, obj->name, err);
	if (sbx_streq(obj->kind, "network"))
		return lv_net_delete(lv, obj->name, err);
	if (sbx_streq(obj->kind, "volume"))
		return lv_vol_delete(lv, obj->pool ? obj->pool : "", obj->name, err);
	return sbx_err_set(err, SBX_EXIT_FAILED, "cannot delete %s %s: unknown kind", obj->kind, obj->name);
}

/* The /24 block of a network's <ip address= netmask=|prefix=>, or NULL. */
static char *net_block(const char *xml)
{
	const char *ip = xml ? strstr(xml, "<ip ") : NULL;
	const char *end = ip ? strchr(ip, '>') : NULL;
	char *tag = end ? xstrndup(ip, (size_t)(end - ip)) : NULL;
	char *addr = tag ? lv_xml_attr(tag, "address") : NULL, *cidr = addr ? xasprintf("%s/24", addr) : NULL;
	uint32_t a = 0;
	int bits = 0;
	char *block = cidr && ip4_parse_cidr(cidr, &a, &bits) == 0 ? ip4_block_cidr(a >> 8) : NULL;
	free(tag);
	free(addr);
	free(cidr);
	return block;
}

/* The /24 blocks the host's networks use. */
int lv_net_blocks(struct lv *lv, char ***out, size_t *n, struct sbx_err *err)
{
	virNetworkPtr *nets = NULL;
	int k = virConnectListAllNetworks(lv->conn, &nets, 0);
	if (k < 0)
		return lv_fail(err, "cannot list", "networks");
	char **v = xcalloc((size_t)k + 1, sizeof(char *));
	size_t m = 0;
	for (int i = 0; i < k; i++) {
		char *xml = virNetworkGetXMLDesc(nets[i], 0);
		char *b = net_block(xml);
		if (b)
			v[m++] = b;
		free(xml);
		virNetworkFree(nets[i]);
	}
	free(nets);
	*out = v;
	*n = m;
	return 0;
}
