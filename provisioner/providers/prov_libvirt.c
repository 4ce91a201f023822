/* prov_libvirt — the libvirt provider's rows: typed resources to lv calls, listing, observation. */
#include "prov_int.h"
#include "ip4.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "cloudinit.h"
#include "image.h"
#include "lv.h"
#include "sha256.h"

struct lvp {
	struct lv *lv;
	const struct prov_cfg *cfg;
	struct lv_owner owner; /* what this session tags with */
	pthread_mutex_t mu;   /* guards the lazy preparation and the observed listing */
	int prepared;         /* 0 not yet, 1 done, -1 failed */
	struct image_files img;
	struct lv_obj *seen;  /* what libvirt had for the environment, listed on the first observe */
	size_t nseen;
	bool listed;
};

/* Connect to libvirt. */
static int lvp_open(const struct prov_cfg *cfg, void **h, struct sbx_err *err)
{
	struct lvp *p = xcalloc(1, sizeof(*p));
	if (lv_open(cfg->uri, &p->lv, err) < 0) {
		sbx_err_hint(err, "is libvirtd running? (`sudo make deps` starts it); check site.uri in the blueprint");
		free(p);
		return -1;
	}
	p->cfg = cfg;
	p->owner = (struct lv_owner){cfg->state_id, cfg->env_id, cfg->env, cfg->protect};
	pthread_mutex_init(&p->mu, NULL);
	*h = p;
	return 0;
}

/* Disconnect. */
static void lvp_close(void *h)
{
	struct lvp *p = h;
	lv_close(p->lv);
	image_files_clear(&p->img);
	lv_obj_list_free(p->seen, p->nseen);
	pthread_mutex_destroy(&p->mu);
	free(p);
}

/* Whether this is libvirt's test driver. */
static bool lvp_is_test(void *h)
{
	return lv_is_test(((struct lvp *)h)->lv);
}

/* Make sure the pool exists and the base image is resolved (once per session). */
static int lvp_prepare(void *h, struct sbx_err *err)
{
	struct lvp *p = h;
	struct image_dirs dirs = {p->cfg->image_cache, p->cfg->recipes_dir};
	pthread_mutex_lock(&p->mu);
	if (p->prepared == 0) {
		int rc = lv_pool_ensure(p->lv, p->cfg->pool, p->cfg->pool_path, err);
		if (rc == 0 && !lv_is_test(p->lv) && p->cfg->image)
			rc = image_resolve(p->cfg->image, p->cfg->bp_dir, &dirs, p->cfg->progress,
				p->cfg->progress_ctx, &p->img, err);
		p->prepared = rc == 0 ? 1 : -1;
	} else if (p->prepared < 0) {
		sbx_err_set(err, SBX_EXIT_FAILED, "the storage pool or the base image could not be prepared");
	}
	int rc = p->prepared > 0 ? 0 : -1;
	pthread_mutex_unlock(&p->mu);
	return rc;
}

/* Create (or converge) a network. */
static int net_ensure(void *h, const struct res *r, bool adopt, struct sbx_err *err)
{
	struct lvp *p = h;
	const struct res_network *n = &r->u.net;
	struct lv_net_spec ns = {r->name, n->bridge, n->cidr, n->nat, NULL, 0, p->owner, adopt, n->netboot};
	return lv_net_ensure(p->lv, &ns, err);
}

/* Delete a network. */
static int net_remove(void *h, const char *name, const char *where, struct sbx_err *err)
{
	(void)where;
	return lv_net_delete(((struct lvp *)h)->lv, name, err);
}

/* Create the overlay volume of a node instance. */
static int vol_ensure(void *h, const struct res *r, bool adopt, struct sbx_err *err)
{
	struct lvp *p = h;
	if (lvp_prepare(p, err) < 0)
		return -1;
	bool img = p->img.disk != NULL;
	struct lv_vol_spec vs = {p->cfg->pool, r->name, img ? p->img.disk : NULL, img ? p->img.format : NULL,
		r->u.vol.capacity, p->owner, adopt};
	char *path = NULL;
	int rc = lv_vol_ensure(p->lv, &vs, &path, err);
	free(path);
	return rc;
}

/* Delete a volume or seed (from the listed pool, else the session's). */
static int vol_remove(void *h, const char *name, const char *where, struct sbx_err *err)
{
	struct lvp *p = h;
	return lv_vol_delete(p->lv, where ? where : p->cfg->pool, name, err);
}

/* The seed's cloud-init texts. */
struct seed_text {
	char *md, *ud, *nc;
};

/* The instance id of a seed: "<env id>-<hostname>-<8 hex of its addresses>". A seed replaced with
 * new addresses (its network's cidr changed) is a new instance to cloud-init, which then applies
 * its network config to the disk it keeps (one instance id per disk would keep the old address).
 * Caller frees. */
static char *seed_instance_id(const struct lvp *p, const struct res_seed *s)
{
	struct sbx_buf b = {0};
	char h[65];
	for (size_t i = 0; i < s->nnics; i++)
		sbx_buf_printf(&b, "%s/%d %s;", s->nics[i].ip, s->nics[i].prefix, s->nics[i].gateway);
	sbx_sha256_hex(b.data ? b.data : "", b.len, h);
	free(b.data);
	return xasprintf("%s-%s-%.8s", p->cfg->env_id, s->hostname, h);
}

/* Render the NoCloud texts of a seed. */
static void seed_render(struct lvp *p, const struct res_seed *s, struct seed_text *out)
{
	struct cloudinit_nic *cn = xcalloc(s->nnics + 1, sizeof(*cn));
	char **addrs = xcalloc(s->nnics + 1, sizeof(char *));
	for (size_t i = 0; i < s->nnics; i++) {
		addrs[i] = xasprintf("%s/%d", s->nics[i].ip, s->nics[i].prefix);
		cn[i] = (struct cloudinit_nic){s->nics[i].mac, addrs[i], i == 0 ? s->nics[i].gateway : NULL};
	}
	const char *gw = s->nnics ? s->nics[0].gateway : NULL;
	char *iid = seed_instance_id(p, s);
	const char *keys[] = {p->cfg->pubkey};
	const char *dns[] = {gw};
	struct cloudinit_spec cs = {iid, s->hostname, s->user, keys, p->cfg->pubkey ? 1 : 0, cn, s->nnics,
		dns, gw ? 1 : 0};
	*out = (struct seed_text){cloudinit_meta_data(&cs), cloudinit_user_data(&cs),
		cloudinit_network_config(&cs)};
	free(iid);
	for (size_t i = 0; i < s->nnics; i++)
		free(addrs[i]);
	free(addrs);
	free(cn);
}

/* Render and store the NoCloud seed of a node instance. */
static int seed_ensure(void *h, const struct res *r, bool adopt, struct sbx_err *err)
{
	struct lvp *p = h;
	if (lvp_prepare(p, err) < 0)
		return -1;
	struct seed_text t;
	seed_render(p, &r->u.seed, &t);
	struct lv_seed_spec ss = {p->cfg->pool, r->name, t.md, t.ud, t.nc, p->owner, adopt};
	char *path = NULL;
	int rc = lv_seed_ensure(p->lv, &ss, &path, err);
	free(path);
	free(t.md);
	free(t.ud);
	free(t.nc);
	return rc;
}

/* Define and start the domain of a node instance. */
static int dom_ensure(void *h, const struct res *r, bool adopt, struct sbx_err *err)
{
	struct lvp *p = h;
	const struct res_domain *d = &r->u.dom;
	if (lvp_prepare(p, err) < 0)
		return -1;
	struct lv_nic *ln = xcalloc(d->nnics + 1, sizeof(*ln));
	for (size_t i = 0; i < d->nnics; i++)
		ln[i] = (struct lv_nic){d->nics[i].network, d->nics[i].mac};
	char *disk = xasprintf("%s/%s", p->cfg->pool_path, d->disk);
	char *seed = xasprintf("%s/%s", p->cfg->pool_path, d->seed);
	bool img = p->img.disk != NULL;
	struct lv_dom_spec ds = {r->name, p->owner, adopt, d->node, d->index,
		lv_domain_type(p->lv, d->domain_type), d->vcpus, d->memory, disk, seed, img ? p->img.kernel : NULL,
		img ? p->img.initrd : NULL, img ? p->img.cmdline : NULL, ln, d->nnics, NULL};
	int rc = lv_dom_ensure(p->lv, &ds, err);
	free(disk);
	free(seed);
	free(ln);
	return rc;
}

/* Take over a warm pool member's domain, volume or seed (see prov_adopt). */
static int lvp_adopt(void *h, const struct res *r, bool move, char **mac, struct sbx_err *err)
{
	struct lvp *p = h;
	pthread_mutex_lock(&p->mu); /* the owners listed for observe are stale now */
	lv_obj_list_free(p->seen, p->nseen);
	p->seen = NULL;
	p->nseen = 0;
	p->listed = false;
	pthread_mutex_unlock(&p->mu);
	if (r->type == RES_VOLUME || r->type == RES_SEED)
		return lv_vol_retag(p->lv, p->cfg->pool, r->name, &p->owner, err);
	if (r->type != RES_DOMAIN)
		return sbx_err_set(err, SBX_EXIT_FAILED, "%s %s cannot be taken over", res_type_name(r->type), r->name);
	const struct res_domain *d = &r->u.dom;
	struct lv_nic *ln = xcalloc(d->nnics + 1, sizeof(*ln));
	for (size_t i = 0; i < d->nnics; i++)
		ln[i] = (struct lv_nic){d->nics[i].network, d->nics[i].mac};
	char *title = xasprintf("%s/%s-%d", p->cfg->env, d->node, d->index); /* environment/instance */
	struct lv_dom_spec ds = {.name = r->name, .owner = p->owner, .node = d->node, .index = d->index,
		.nics = ln, .nnics = d->nnics, .title = title};
	int rc = lv_dom_adopt(p->lv, &ds, move, mac, err);
	free(title);
	free(ln);
	return rc;
}

/* Destroy and undefine a domain. */
static int dom_remove(void *h, const char *name, const char *where, struct sbx_err *err)
{
	(void)where;
	return lv_dom_delete(((struct lvp *)h)->lv, name, err);
}

/* Describe an owner that is not this session's as prov_seen.foreign (NULL when it is ours). */
static void seen_owner(struct lvp *p, const struct lv_owner_rec *have, struct prov_seen *out)
{
	if (lv_owner_is(have, &p->owner))
		return;
	out->foreign = lv_owner_describe(have);
	out->untagged = !have->tagged;
}

/* Look up a listed object by name, listing every object once per session. */
static int seen_find(struct lvp *p, const char *name, struct prov_seen *out, struct sbx_err *err)
{
	int rc = 0;
	pthread_mutex_lock(&p->mu);
	if (!p->listed) {
		rc = lv_list_all(p->lv, p->cfg->env, &p->seen, &p->nseen, err);
		p->listed = rc == 0;
	}
	for (size_t i = 0; rc == 0 && i < p->nseen && !out->exists; i++)
		if (strcmp(p->seen[i].name, name) == 0) {
			out->exists = true;
			if (p->lv && lv_is_test(p->lv) == false)
				seen_owner(p, &p->seen[i].owner, out);
		}
	pthread_mutex_unlock(&p->mu);
	return rc;
}

/* Whether libvirt has the object (volumes and seeds), and whose it is. */
static int obj_observe(void *h, const struct res *r, struct prov_seen *out, struct sbx_err *err)
{
	return seen_find(h, r->name, out, err);
}

/* Note one field libvirt reports differently (takes ownership of the texts). */
static void drift_add(struct prov_seen *out, const char *field, char *seen, char *want)
{
	out->drift = xrealloc(out->drift, (out->ndrift + 1) * sizeof(*out->drift));
	out->drift[out->ndrift++] = (struct res_change){xstrdup(field), seen, want};
}

/* A network: present, and active. */
static int net_observe(void *h, const struct res *r, struct prov_seen *out, struct sbx_err *err)
{
	struct lv_net_seen seen;
	if (lv_net_observe(((struct lvp *)h)->lv, r->name, &seen, err) < 0)
		return -1;
	out->exists = seen.exists;
	if (seen.exists)
		seen_owner(h, &seen.owner, out);
	if (seen.exists && !seen.active && !lv_no_start()) /* the test hook defines, never starts */
		drift_add(out, "state", xstrdup("inactive"), xstrdup("active"));
	lv_owner_rec_clear(&seen.owner);
	return 0;
}

/* A domain: present, running, with the CPUs and memory of its spec. */
static int dom_observe(void *h, const struct res *r, struct prov_seen *out, struct sbx_err *err)
{
	struct lv_dom_seen seen;
	char a[32], b[32];
	if (lv_dom_observe(((struct lvp *)h)->lv, r->name, &seen, err) < 0)
		return -1;
	out->exists = seen.exists;
	if (seen.exists)
		seen_owner(h, &seen.owner, out);
	if (seen.exists && !seen.running && !lv_no_start())
		drift_add(out, "state", xstrdup(seen.state), xstrdup("running"));
	if (seen.exists && seen.vcpus != (r->u.dom.vcpus > 0 ? r->u.dom.vcpus : 1))
		drift_add(out, "vcpus", xasprintf("%d", seen.vcpus), xasprintf("%d", r->u.dom.vcpus));
	if (seen.exists && seen.memory / 1024 != r->u.dom.memory / 1024)
		drift_add(out, "memory", xstrdup(sbx_fmt_size(seen.memory, a, sizeof(a))),
			xstrdup(sbx_fmt_size(r->u.dom.memory, b, sizeof(b))));
	lv_owner_rec_clear(&seen.owner);
	return 0;
}

/* The resource type of a listed libvirt object. */
static enum res_type obj_type(const struct lv_obj *o)
{
	if (strcmp(o->kind, "domain") == 0)
		return RES_DOMAIN;
	if (strcmp(o->kind, "network") == 0)
		return RES_NETWORK;
	size_t n = strlen(o->name);
	return n > 9 && strcmp(o->name + n - 9, "-seed.iso") == 0 ? RES_SEED : RES_VOLUME;
}

/* Objects named like ours in libvirt, with their owners. */
static int lvp_list(void *h, struct prov_obj **objs, size_t *n, struct sbx_err *err)
{
	struct lvp *p = h;
	struct lv_obj *lo = NULL;
	size_t nlo = 0;
	if (lv_list_all(p->lv, p->cfg->env, &lo, &nlo, err) < 0)
		return -1;
	*objs = xrealloc(*objs, (*n + nlo + 1) * sizeof(**objs));
	for (size_t i = 0; i < nlo; i++) {
		const struct lv_owner_rec *o = &lo[i].owner;
		(*objs)[(*n)++] = (struct prov_obj){obj_type(&lo[i]), xstrdup(lo[i].name), xstrdup(lo[i].pool),
			o->tagged, xstrdup(o->state), xstrdup(o->env_id), xstrdup(o->env), o->protect, NULL};
	}
	lv_obj_list_free(lo, nlo);
	return 0;
}

/* A domain's console log. */
static int lvp_console(void *h, const char *name, char **text, struct sbx_err *err)
{
	return lv_dom_console(((struct lvp *)h)->lv, name, text, err);
}

/* Whether the libvirt host is this machine (its bridges, and so its routes, are here). */
static bool lvp_local(const struct lvp *p)
{
	const char *uri = lv_uri(p->lv);
	return !lv_is_test(p->lv) && uri && (strcmp(uri, "qemu:///system") == 0 || strcmp(uri, "qemu:///session") == 0);
}

/* The /24 blocks this machine's routing table covers: another state's networks and VIP routes,
 * which no libvirt network of the host shows (none when /proc/net/route cannot be read). */
static size_t route_blocks(char ***out)
{
	struct ip4_route *r = NULL;
	size_t nr = ip4_host_routes(&r), m = ip4_route_blocks(r, nr, out);
	free(r);
	return m;
}

/* Address blocks the host's networks use, and on this machine those its routes cover. */
static int lvp_blocks(void *h, char ***v, size_t *n, struct sbx_err *err)
{
	struct lvp *p = h;
	char **b = NULL, **rb = NULL;
	size_t nb = 0, nr = 0;
	if (lv_net_blocks(p->lv, &b, &nb, err) < 0)
		return -1;
	if (lvp_local(p))
		nr = route_blocks(&rb);
	*v = xrealloc(*v, (*n + nb + nr + 1) * sizeof(char *));
	for (size_t i = 0; i < nb; i++)
		(*v)[(*n)++] = b[i];
	for (size_t i = 0; i < nr; i++)
		(*v)[(*n)++] = rb[i];
	free(b);
	free(rb);
	return 0;
}

/* What the host has (nothing usable on the test driver, whose figures are made up). */
static int lvp_host_info(void *h, struct prov_host *out, struct sbx_err *err)
{
	struct lvp *p = h;
	struct lv_node lh;
	if (lv_is_test(p->lv))
		return 0;
	if (lv_node_info(p->lv, p->cfg->pool, &lh, err) < 0)
		return -1;
	*out = (struct prov_host){true, lh.mem_total, lh.mem_free, lh.cpus, lh.disk_known, lh.disk_free};
	return 0;
}

static const struct prov_type lvp_types[] = {
	{RES_NETWORK, "creating network", net_ensure, net_remove, net_observe, NULL},
	{RES_VOLUME, "creating disk", vol_ensure, vol_remove, obj_observe, NULL},
	{RES_SEED, "writing cloud-init seed", seed_ensure, vol_remove, obj_observe, NULL},
	{RES_DOMAIN, "starting VM", dom_ensure, dom_remove, dom_observe, NULL},
};

const struct provider prov_libvirt = {"libvirt", lvp_open, lvp_close, lvp_is_test, lvp_prepare, lvp_list,
	lvp_console, lvp_blocks, lvp_types, SBX_NELEM(lvp_types), true,
	lvp_host_info, lvp_adopt};
