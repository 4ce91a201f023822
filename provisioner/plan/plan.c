/* plan — desired resources, the diff against the state, and the plan's printing. */
#include "plan.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "ip4.h"
#include "state.h"

#define PLAN_HOST_FIRST 10  /* .1 is the host bridge; nodes from .10 */
#define PLAN_HOST_MAX   240 /* .10 .. .249 */

/* Domain name of a node instance. */
char *plan_domain_name(const char *env, const char *node, int index)
{
	return xasprintf("sbx-%s.%s-%d", env, node, index);
}

/* The key of a bare-metal machine: its BMC. */
char *plan_machine_key(const char *bmc_address, int bmc_port)
{
	return xasprintf("ipmi:%s:%d", bmc_address, bmc_port);
}

/* Network name of a blueprint network. */
char *plan_network_name(const char *env, const char *net)
{
	return xasprintf("sbx-%s.%s", env, net);
}

/* Bridge device name derived from the network name. */
void plan_bridge_name(const char *network_name, char out[12])
{
	char h[65];
	sbx_sha256_hex(network_name, strlen(network_name), h);
	snprintf(out, 12, "sbx%.8s", h);
}

/* A MAC from a hash of (env, instance, network). */
void plan_mac(const char *env, const char *instance, const char *net, char out[18])
{
	char *key = xasprintf("%s/%s/%s", env, instance, net);
	char h[65];
	sbx_sha256_hex(key, strlen(key), h);
	free(key);
	snprintf(out, 18, "52:54:00:%.2s:%.2s:%.2s", h, h + 2, h + 4);
}

/* Append one desired resource (takes ownership of name). */
static struct res *desired_add(struct plan_desired *d, enum res_type type, char *name, const char *node)
{
	xgrow(&d->res, &d->cap, d->n + 1, sizeof(*d->res));
	struct res *r = &d->res[d->n++];
	*r = (struct res){.type = type, .name = name, .node = xstrdup(node)};
	return r;
}

/* The block of a blueprint network. */
static const char *net_cidr(const struct plan_net *nets, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(nets[i].network, name) == 0)
			return nets[i].cidr;
	return NULL;
}

/* The image identity (what the volume is built from). */
static struct res_image image_of(const struct bp_image *img)
{
	return (struct res_image){xstrdup(img->path), xstrdup(img->url), xstrdup(img->sha256),
		xstrdup(img->recipe), xstrdup(img->kernel), xstrdup(img->initrd), xstrdup(img->cmdline)};
}

struct addr_ctx {
	const struct bp_blueprint *bp;
	const char *env;
	const struct plan_net *nets;
	size_t nnets;
	int *next_host; /* per blueprint network: next free host number */
};

/* The NIC of one instance on its k-th network, with its static address. */
static int instance_nic(struct addr_ctx *ac, const struct bp_node *node, const char *inst, size_t k,
	struct res_nic *out, struct sbx_err *err)
{
	const char *netname = node->networks[k];
	size_t ni = 0;
	while (ni < ac->bp->nnetworks && strcmp(ac->bp->networks[ni].name, netname))
		ni++;
	const char *cidr = net_cidr(ac->nets, ac->nnets, netname);
	if (ni == ac->bp->nnetworks || cidr == NULL)
		return sbx_err_set(err, SBX_EXIT_USAGE, "node %s: network %s has no address block", node->name,
			netname);
	int host = PLAN_HOST_FIRST + ac->next_host[ni]++;
	if (host >= PLAN_HOST_FIRST + PLAN_HOST_MAX)
		return sbx_err_set(err, SBX_EXIT_USAGE,
			"network %s holds at most %d node instances; split the nodes over more networks", netname,
			PLAN_HOST_MAX);
	char mac[18], *ip = ip4_host(cidr, host), *gw = ip4_host(cidr, 1);
	plan_mac(ac->env, inst, netname, mac);
	*out = (struct res_nic){plan_network_name(ac->env, netname), xstrdup(netname), xstrdup(mac),
		ip ? ip : xstrdup(""), gw ? gw : xstrdup(""), 24, k == 0};
	return 0;
}

/* The NICs of one instance (caller frees each with the resource). */
static int instance_nics(struct addr_ctx *ac, const struct bp_node *node, const char *inst,
	struct res_nic **out, struct sbx_err *err)
{
	struct res_nic *nics = xcalloc(node->nnetworks + 1, sizeof(*nics));
	for (size_t k = 0; k < node->nnetworks; k++)
		if (instance_nic(ac, node, inst, k, &nics[k], err) < 0) {
			struct res tmp = {.type = RES_SEED, .u.seed = {.nics = nics, .nnics = k}};
			res_clear(&tmp);
			return -1;
		}
	*out = nics;
	return 0;
}

/* A deep copy of n NICs. */
static struct res_nic *nics_dup(const struct res_nic *nics, size_t n)
{
	struct res src = {.type = RES_SEED, .u.seed = {.nics = (struct res_nic *)nics, .nnics = n}}, dst;
	res_copy(&dst, &src);
	struct res_nic *out = dst.u.seed.nics;
	dst.u.seed.nics = NULL;
	dst.u.seed.nnics = 0;
	res_clear(&dst);
	return out;
}

/* Add the volume, seed and domain of one node instance. */
static int add_instance(struct plan_desired *d, struct addr_ctx *ac, const struct bp_node *node,
	int i, struct sbx_err *err)
{
	char *inst = xasprintf("%s-%d", node->name, i);
	char *dom = plan_domain_name(ac->env, node->name, i);
	struct res_nic *nics = NULL;
	int rc = instance_nics(ac, node, inst, &nics, err);
	if (rc == 0) {
		const struct bp_site *site = &ac->bp->site;
		char *vol = xasprintf("%s.qcow2", dom), *seed = xasprintf("%s-seed.iso", dom);
		desired_add(d, RES_VOLUME, xstrdup(vol), inst)->u.vol = (struct res_volume){image_of(&site->image),
			node->disk, xstrdup(site->pool)};
		desired_add(d, RES_SEED, xstrdup(seed), inst)->u.seed = (struct res_seed){xstrdup(inst),
			xstrdup("sandbox"), nics_dup(nics, node->nnetworks), node->nnetworks};
		struct res *r = desired_add(d, RES_DOMAIN, dom, inst);
		r->u.dom = (struct res_domain){xstrdup(node->name), i, node->cpus, node->memory, vol, seed,
			xstrdup(site->domain_type), nics, node->nnetworks};
		dom = NULL;
		res_dep(r, vol);
		res_dep(r, seed);
		for (size_t k = 0; k < node->nnetworks; k++)
			res_dep(r, r->u.dom.nics[k].network);
	}
	free(inst);
	free(dom);
	return rc;
}

/* The network a bare-metal node boots from: its first, else the blueprint's first (NULL: none). */
static const char *machine_net(const struct bp_blueprint *bp, const struct bp_node *node)
{
	if (node->nnetworks > 0)
		return node->networks[0];
	return bp->nnetworks > 0 ? bp->networks[0].name : NULL;
}

/* Whether a bare-metal node with a MAC boots from network `net` (it has a network boot service). */
static bool net_boots_machines(const struct bp_blueprint *bp, const char *net)
{
	for (size_t i = 0; i < bp->nnodes; i++) {
		const struct bp_node *node = &bp->nodes[i];
		if (sbx_streq(node->provider, "ipmi") && node->mac && sbx_streq(machine_net(bp, node), net))
			return true;
	}
	return false;
}

/* Add one network resource. */
static void add_network(struct plan_desired *d, const struct bp_blueprint *bp, const char *env,
	const struct bp_network *n, const char *cidr)
{
	struct res *r = desired_add(d, RES_NETWORK, plan_network_name(env, n->name), NULL);
	char br[12];
	plan_bridge_name(r->name, br);
	r->u.net = (struct res_network){xstrdup(n->name), xstrdup(cidr), xstrdup(br), n->mode != BP_NET_ISOLATED,
		net_boots_machines(bp, n->name)};
}

/* Add the machine of a node with provider ipmi (one instance, "<node>-0"). */
static void add_machine(struct plan_desired *d, const char *env, const struct bp_node *node)
{
	char *inst = xasprintf("%s-0", node->name);
	struct res *r = desired_add(d, RES_MACHINE, plan_domain_name(env, node->name, 0), inst);
	const struct bp_bmc *b = &node->bmc;

	r->u.mach = (struct res_machine){xstrdup(node->name), xstrdup(b->address), b->port, xstrdup(b->user),
		xstrdup(b->password), xstrdup(node->mac), xstrdup(node->boot ? node->boot : "pxe"), xstrdup("on"),
		xstrdup(node->disk_dev), node->wipe};
	free(inst);
}

/* The name of the network boot service of a network. */
char *plan_netboot_name(const char *env, const char *net)
{
	return xasprintf("sbx-%s.%s.netboot", env, net);
}

/* The desired resource of a name, or NULL. */
static struct res *desired_find(struct plan_desired *d, enum res_type type, const char *name)
{
	for (size_t i = 0; i < d->n; i++)
		if (d->res[i].type == type && strcmp(d->res[i].name, name) == 0)
			return &d->res[i];
	return NULL;
}

/* Add the network boot service of network ni (a no-op when none of its machines declares a MAC):
 * one host per machine booting on it, numbered down from the top of the block (.249, .248, ...) so
 * that the VMs' addresses, numbered up from .10, never move. */
static int add_netboot(struct plan_desired *d, struct addr_ctx *ac, size_t ni, struct sbx_err *err)
{
	const struct bp_network *n = &ac->bp->networks[ni];
	const char *cidr = net_cidr(ac->nets, ac->nnets, n->name);
	struct res nb = {.type = RES_NETBOOT};
	int k = 0;

	for (size_t i = 0; i < ac->bp->nnodes; i++) {
		const struct bp_node *node = &ac->bp->nodes[i];
		if (!sbx_streq(node->provider, "ipmi") || node->mac == NULL || !sbx_streq(machine_net(ac->bp, node), n->name))
			continue;
		if (ac->next_host[ni] + k >= PLAN_HOST_MAX) {
			res_clear(&nb);
			return sbx_err_set(err, SBX_EXIT_USAGE, "network %s holds at most %d node instances and machines; "
				"split the nodes over more networks", n->name, PLAN_HOST_MAX);
		}
		nb.u.nb.hosts = xrealloc(nb.u.nb.hosts, (size_t)(k + 1) * sizeof(*nb.u.nb.hosts));
		nb.u.nb.hosts[k] = (struct res_host){xasprintf("%s-0", node->name), xstrdup(node->mac),
			ip4_host(cidr, PLAN_HOST_FIRST + PLAN_HOST_MAX - 1 - k), xstrdup(node->disk_dev), node->wipe};
		nb.u.nb.nhosts = (size_t)++k;
		char *netboot = plan_netboot_name(ac->env, n->name), *mach = plan_domain_name(ac->env, node->name, 0);
		struct res *m = desired_find(d, RES_MACHINE, mach);
		if (m)
			res_dep(m, netboot);
		free(netboot);
		free(mach);
	}
	if (k == 0)
		return 0;
	struct res *r = desired_add(d, RES_NETBOOT, plan_netboot_name(ac->env, n->name), NULL);
	char *netname = plan_network_name(ac->env, n->name);
	char br[12];
	plan_bridge_name(netname, br);
	nb.u.nb.net = xstrdup(n->name);
	nb.u.nb.bridge = xstrdup(br);
	nb.u.nb.cidr = xstrdup(cidr);
	nb.u.nb.address = ip4_host(cidr, 1);
	nb.u.nb.image = image_of(&ac->bp->site.image);
	nb.u.nb.user = xstrdup("sandbox");
	r->u.nb = nb.u.nb;
	res_dep(r, netname);
	free(netname);
	return 0;
}

/* Compute every desired resource of the blueprint: networks, VMs, bare-metal machines and the
 * network boot services of the networks they boot from. */
int plan_desired(const struct bp_blueprint *bp, const char *env, const struct plan_net *nets,
	size_t nnets, struct plan_desired *out, struct sbx_err *err)
{
	struct plan_desired d = {0};
	struct addr_ctx ac = {bp, env, nets, nnets, xcalloc(bp->nnetworks + 1, sizeof(int))};
	int rc = 0;
	for (size_t i = 0; i < bp->nnetworks; i++) {
		const char *cidr = net_cidr(nets, nnets, bp->networks[i].name);
		if (cidr == NULL) {
			rc = sbx_err_set(err, SBX_EXIT_FAILED, "network %s has no address block", bp->networks[i].name);
			goto out;
		}
		add_network(&d, bp, env, &bp->networks[i], cidr);
	}
	for (size_t i = 0; i < bp->nnodes && rc == 0; i++) {
		const struct bp_node *node = &bp->nodes[i];
		if (strcmp(node->provider, "ipmi") == 0)
			add_machine(&d, env, node);
		if (strcmp(node->provider, "libvirt") != 0)
			continue;
		for (int k = 0; k < node->count && rc == 0; k++)
			rc = add_instance(&d, &ac, node, k, err);
	}
	for (size_t i = 0; i < bp->nnetworks && rc == 0; i++)
		rc = add_netboot(&d, &ac, i, err);
out:
	free(ac.next_host);
	if (rc < 0)
		plan_desired_clear(&d);
	else
		*out = d;
	return rc;
}

/* Free the desired resources. */
void plan_desired_clear(struct plan_desired *d)
{
	for (size_t i = 0; i < d->n; i++)
		res_clear(&d->res[i]);
	free(d->res);
	*d = (struct plan_desired){0};
}

/* qsort/bsearch comparator over pointers to recorded resources: by type, then name. */
static int cmp_rec(const void *a, const void *b)
{
	const struct plan_rec *x = *(const struct plan_rec *const *)a, *y = *(const struct plan_rec *const *)b;
	return x->res.type != y->res.type ? (int)x->res.type - (int)y->res.type : strcmp(x->res.name, y->res.name);
}

/* qsort/bsearch comparator over names. */
static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* qsort/bsearch comparator over observations, by name. */
static int cmp_obs(const void *a, const void *b)
{
	return strcmp(((const struct plan_obs *)a)->name, ((const struct plan_obs *)b)->name);
}

/* The recorded row of a desired resource, or NULL. */
static const struct plan_rec *rec_find(const struct plan_rec **sorted, size_t n, const struct res *r)
{
	struct plan_rec key = {.res = {.type = r->type, .name = r->name}};
	const struct plan_rec *kp = &key;
	const struct plan_rec **hit = bsearch(&kp, sorted, n, sizeof(*sorted), cmp_rec);
	return hit ? *hit : NULL;
}

/* What a step does to a bare-metal machine, after its reason: "new: boot pxe, install to /dev/sda,
 * wipe the disk first, power on (BMC 10.0.0.5:623)" (a machine with a MAC and no disk: "run the
 * image from RAM", what its network boot service makes it do); the reason itself for other types and for
 * noops. Takes ownership of reason. */
static char *machine_reason(enum plan_action a, const struct res *r, char *reason)
{
	const struct res_machine *m = &r->u.mach;
	char *out;

	if (r->type != RES_MACHINE || a == PLAN_NOOP || a == PLAN_CONFLICT)
		return reason;
	if (a == PLAN_DELETE)
		out = xasprintf("%s: power off, release the lease (BMC %s:%d)", reason, m->bmc_address, m->bmc_port);
	else
		out = xasprintf("%s: boot %s%s%s%s%s, power %s%s (BMC %s:%d)", reason, m->boot ? m->boot : "pxe",
			m->disk ? ", install to " : "", m->disk ? m->disk : "", m->wipe ? ", wipe the disk first" : "",
			m->mac && !m->disk ? ", run the image from RAM" : "", m->power ? m->power : "on",
			a == PLAN_UPDATE ? " again" : "", m->bmc_address, m->bmc_port);
	free(reason);
	return out;
}

/* Append a step holding a copy of r. */
static struct plan_step *step_add(struct plan *p, enum plan_action a, const struct res *r, char *reason)
{
	xgrow(&p->steps, &p->cap, p->n + 1, sizeof(*p->steps));
	struct plan_step *s = &p->steps[p->n++];
	*s = (struct plan_step){.action = a, .reason = machine_reason(a, r, reason)};
	res_copy(&s->res, r);
	return s;
}

/* Add a dependency edge. */
static void step_dep(struct plan_step *s, size_t on)
{
	s->deps = xrealloc(s->deps, (s->ndeps + 1) * sizeof(*s->deps));
	s->deps[s->ndeps++] = on;
}

/* Append the provider's drift to a step's changes. */
static void step_drift(struct plan_step *s, const struct plan_obs *o)
{
	s->changes = xrealloc(s->changes, (s->nchanges + o->ndrift + 1) * sizeof(*s->changes));
	for (size_t i = 0; i < o->ndrift; i++) {
		const struct res_change *c = &o->drift[i];
		s->changes[s->nchanges++] = (struct res_change){xasprintf("%s (observed)", c->field),
			xstrdup(c->old), xstrdup(c->new)};
	}
}

/* Whether a change is one libvirt applies to a network live: its DHCP range (`netboot`). */
static bool change_in_place(const struct res *r, const struct res_change *c)
{
	return r->type == RES_NETWORK && sbx_streq(c->field, "netboot");
}

/* Whether recorded changes need a new object: any of a volume or seed, any of a network but
 * `netboot`. Domains, machines and network boot services converge in place. */
static bool change_replaces(const struct res *r, const struct res_change *ch, size_t nch)
{
	if (r->type != RES_VOLUME && r->type != RES_SEED && r->type != RES_NETWORK)
		return false;
	for (size_t i = 0; i < nch; i++)
		if (!change_in_place(r, &ch[i]))
			return true;
	return false;
}

/* What replaces a network: "cidr 10.0.1.0/24 → 10.0.2.0/24" (its changes but netboot); caller frees. */
static char *net_cause(const struct res *r, const struct res_change *ch, size_t nch)
{
	struct sbx_buf b = {0};
	for (size_t i = 0; i < nch; i++)
		if (!change_in_place(r, &ch[i]))
			sbx_buf_printf(&b, "%s%s %s → %s", b.len ? ", " : "", ch[i].field, ch[i].old, ch[i].new);
	return b.len ? sbx_buf_steal(&b) : xstrdup("");
}

/* Mark an update that needs a new object; a network's reason says why. */
static void step_mark_replace(struct plan_step *s)
{
	s->replace = s->action == PLAN_UPDATE && change_replaces(&s->res, s->changes, s->nchanges);
	if (!s->replace || s->res.type != RES_NETWORK)
		return;
	char *cause = net_cause(&s->res, s->changes, s->nchanges);
	free(s->reason);
	s->reason = xasprintf("replaced: %s", cause);
	free(cause);
}

/* Decide the action of one desired resource and add its step. */
static void plan_one(struct plan *p, const struct res *r, const struct plan_rec *rec, const struct plan_obs *o)
{
	struct res_change *ch = NULL;
	size_t nch = 0;
	if (rec && strcmp(rec->status, STATE_RES_CREATED) == 0 && (o == NULL || o->exists))
		res_diff(&rec->res, r, &ch, &nch);
	enum plan_action a = PLAN_NOOP;
	char *reason;
	if (o && o->foreign && !(o->untagged && rec))
		a = PLAN_CONFLICT, reason = xasprintf("exists in libvirt but belongs to %s", o->foreign);
	else if (rec == NULL)
		a = PLAN_CREATE, reason = xstrdup("new");
	else if (strcmp(rec->status, STATE_RES_CREATED) != 0)
		a = PLAN_CREATE, reason = xasprintf("interrupted while %s", rec->status);
	else if (o && !o->exists)
		a = PLAN_CREATE, reason = xstrdup(r->type == RES_MACHINE ? "powered off" :
			r->type == RES_NETBOOT ? "not running" : "missing in libvirt");
	else if (nch || (o && o->ndrift))
		a = PLAN_UPDATE, reason = xstrdup(nch && o && o->ndrift ? "changed, and drifted in libvirt" :
			nch ? "changed" : "drifted in libvirt");
	else
		reason = xstrdup("up to date");
	struct plan_step *s = step_add(p, a, r, reason);
	s->changes = ch;
	s->nchanges = nch;
	s->drift_only = a == PLAN_UPDATE && nch == 0;
	s->recorded = rec != NULL;
	step_mark_replace(s);
	if (a == PLAN_UPDATE && o)
		step_drift(s, o);
}

/* The step names sorted, each followed by its index (for bsearch by name). */
struct name_idx {
	const char *name;
	size_t idx;
};

/* qsort/bsearch comparator over name_idx. */
static int cmp_name_idx(const void *a, const void *b)
{
	return strcmp(((const struct name_idx *)a)->name, ((const struct name_idx *)b)->name);
}

/* Turn the desired resources' dependency names into step edges. */
static void plan_edges(struct plan *p, const struct plan_desired *d)
{
	struct name_idx *ix = xcalloc(p->n + 1, sizeof(*ix));
	for (size_t i = 0; i < p->n; i++)
		ix[i] = (struct name_idx){p->steps[i].res.name, i};
	qsort(ix, p->n, sizeof(*ix), cmp_name_idx);
	for (size_t i = 0; i < d->n; i++)
		for (size_t k = 0; k < d->res[i].ndeps; k++) {
			struct name_idx key = {d->res[i].deps[k], 0};
			const struct name_idx *hit = bsearch(&key, ix, p->n, sizeof(*ix), cmp_name_idx);
			if (hit)
				step_dep(&p->steps[i], hit->idx);
		}
	free(ix);
}

/* Steps for the desired resources. */
static void plan_creates(struct plan *p, const struct plan_desired *d, const struct plan_rec **rs,
	size_t nrec, const struct plan_obs *obs, size_t nobs)
{
	for (size_t i = 0; i < d->n; i++) {
		const struct res *r = &d->res[i];
		struct plan_obs key = {.name = r->name};
		const struct plan_obs *o = obs ? bsearch(&key, obs, nobs, sizeof(*obs), cmp_obs) : NULL;
		struct plan_obs absent = {.name = r->name, .exists = false};
		if (obs && o == NULL)
			o = &absent;
		plan_one(p, r, rec_find(rs, nrec, r), o);
	}
	plan_edges(p, d);
}

/* Steps for recorded resources no longer desired, ordered by the delete rank. */
static void plan_deletes(struct plan *p, const struct plan_desired *d, const struct plan_rec **rs,
	size_t nrec)
{
	const char **dsorted = xcalloc(d->n + 1, sizeof(char *));
	for (size_t i = 0; i < d->n; i++)
		dsorted[i] = d->res[i].name;
	qsort(dsorted, d->n, sizeof(char *), cmp_str);
	size_t first = p->n;
	for (int rank = 0; rank <= RES_MAX_RANK; rank++)
		for (size_t i = 0; i < nrec; i++) {
			const struct res *r = &rs[i]->res;
			if (res_delete_rank(r->type) != rank || bsearch(&r->name, dsorted, d->n, sizeof(char *), cmp_str))
				continue;
			struct plan_step *s = step_add(p, PLAN_DELETE, r,
				xstrdup(d->n ? "no longer in the blueprint" : "environment teardown"));
			for (size_t j = first; j < p->n - 1; j++)
				if (res_delete_rank(p->steps[j].res.type) < rank)
					step_dep(s, j);
		}
	free(dsorted);
}

#define REPLACED "replaced: "

/* Whether a step is on network `name`: a domain with a NIC there (desired or recorded), or a
 * machine booting from it (it waits for the network's boot service, plan_netboot_name). */
static bool dom_on(const struct plan_step *s, const char *name)
{
	for (size_t k = 0; s->res.type == RES_DOMAIN && k < s->res.u.dom.nnics; k++)
		if (sbx_streq(s->res.u.dom.nics[k].network, name))
			return true;
	if (s->res.type != RES_MACHINE)
		return false;
	char *nb = xasprintf("%s.netboot", name);
	bool on = false;
	for (size_t k = 0; k < s->res.ndeps && !on; k++)
		on = strcmp(s->res.deps[k], nb) == 0;
	free(nb);
	return on;
}

/* The delete half of domain step di's replacement among steps [from, p->n), or (size_t)-1. */
static size_t delete_half(const struct plan *p, size_t di, size_t from)
{
	for (size_t j = from; j < p->n; j++)
		if (p->steps[j].action == PLAN_DELETE && p->steps[j].replace &&
			strcmp(p->steps[j].res.name, p->steps[di].res.name) == 0)
			return j;
	return (size_t)-1;
}

/* Make domain (or machine) step di a replacement (cause: its reason): a delete step of its recorded
 * self that its own changed seed and volume wait for, and the step itself creating it again (a
 * machine: powered off, then on, to boot with its new address). Returns the delete step, or
 * (size_t)-1 without a record. Steps [0, n) are the desired resources'. */
static size_t dom_replace(struct plan *p, size_t di, size_t n, const char *cause, const struct plan_rec **rs,
	size_t nrec)
{
	size_t del = delete_half(p, di, n);
	const struct plan_rec *rec = rec_find(rs, nrec, &p->steps[di].res);
	if (del != (size_t)-1 || rec == NULL)
		return del;
	struct plan_step *s = &p->steps[di];
	const struct res_machine *m = s->res.type == RES_MACHINE ? &s->res.u.mach : NULL;
	char *off = m ? xasprintf("%s: power off (BMC %s:%d)", cause, m->bmc_address, m->bmc_port) : xstrdup(cause);
	s->action = PLAN_UPDATE;
	s->replace = true;
	s->drift_only = false;
	free(s->reason);
	s->reason = m ? xasprintf("%s: power off, then on to boot with its new address (BMC %s:%d)", cause,
		m->bmc_address, m->bmc_port) : xstrdup(cause);
	del = p->n;
	struct plan_step *d = step_add(p, PLAN_DELETE, &rec->res, xstrdup(cause)); /* moves the steps */
	free(d->reason);
	d->reason = off;
	d->replace = d->recorded = true;
	step_dep(&p->steps[di], del);
	for (size_t j = 0; j < n; j++) {
		struct plan_step *o = &p->steps[j];
		if (!o->replace || !sbx_streq(o->res.node, p->steps[di].res.node) ||
			(o->res.type != RES_SEED && o->res.type != RES_VOLUME))
			continue;
		step_dep(o, del);
		if (o->res.type == RES_SEED) { /* it carries the addresses */
			free(o->reason);
			o->reason = xstrdup(cause);
		}
	}
	return del;
}

/* Replace the domains and machines on replaced network step ni: the network waits for their
 * delete halves (and for the deletes of domains dropped from the blueprint that are on it). */
static void net_replace(struct plan *p, size_t ni, size_t n, const struct plan_rec **rs, size_t nrec)
{
	const struct plan_step *net = &p->steps[ni];
	char *cause = xasprintf(REPLACED "network %s %s", net->res.u.net.net, net->reason + strlen(REPLACED));
	char *name = xstrdup(net->res.name);
	for (size_t i = 0; i < p->n; i++) {
		struct plan_step *s = &p->steps[i];
		if (!dom_on(s, name) || (s->action == PLAN_DELETE && s->replace))
			continue;
		size_t dep = i;
		if (s->action == PLAN_NOOP || s->action == PLAN_UPDATE)
			dep = i < n ? dom_replace(p, i, n, cause, rs, nrec) : (size_t)-1;
		else if (s->action != PLAN_DELETE)
			continue;
		if (dep != (size_t)-1)
			step_dep(&p->steps[ni], dep);
	}
	free(name);
	free(cause);
}

/* Replace what sits on every replaced network. */
static void plan_replace(struct plan *p, size_t n, const struct plan_rec **rs, size_t nrec)
{
	for (size_t i = 0; i < n; i++)
		if (p->steps[i].res.type == RES_NETWORK && p->steps[i].replace)
			net_replace(p, i, n, rs, nrec);
}

/* Whether a step destroys what a protected environment keeps (its VMs, disks, machines' power, and
 * the networks its VMs are on). */
static bool step_destructive(const struct plan_step *s)
{
	if (s->action == PLAN_DELETE)
		return s->res.type == RES_DOMAIN || s->res.type == RES_VOLUME || s->res.type == RES_MACHINE;
	return s->action == PLAN_UPDATE && (s->res.type == RES_VOLUME || (s->replace && s->res.type == RES_NETWORK));
}

/* Refuse one destructive step of a protected environment, naming a replacement's cause. */
static void step_refuse(const struct plan_step *s, struct sbx_err *err)
{
	bool rep = s->replace || s->action == PLAN_UPDATE;
	const char *cause = s->replace && strncmp(s->reason, REPLACED, strlen(REPLACED)) == 0 ?
		s->reason + strlen(REPLACED) : NULL;
	sbx_err_set(err, SBX_EXIT_REFUSED, "the environment is protected: the plan would %s %s %s%s%s%s",
		rep ? "replace" : "delete", plan_step_type(s), s->res.name, cause ? " (" : "", cause ? cause : "",
		cause ? ")" : "");
}

/* Count the actions and refuse destructive plans of protected environments. */
static int plan_check(struct plan *p, bool protected, struct sbx_err *err)
{
	bool net = false;
	for (size_t i = 0; i < p->n; i++) {
		struct plan_step *s = &p->steps[i];
		p->ncreate += s->action == PLAN_CREATE;
		p->nupdate += s->action == PLAN_UPDATE && !s->replace;
		p->nreplace += s->action == PLAN_UPDATE && s->replace;
		p->ndelete += s->action == PLAN_DELETE && !s->replace;
		p->nnoop += s->action == PLAN_NOOP;
		p->nconflict += s->action == PLAN_CONFLICT;
		if (protected && step_destructive(s)) {
			step_refuse(s, err);
			net = net || (s->replace && s->res.type == RES_NETWORK);
		}
	}
	if (!sbx_err_isset(err) || err->code != SBX_EXIT_REFUSED)
		return 0;
	if (net)
		sbx_err_hint(err, "a network's cidr or mode does not change in place: the network and the VMs on it "
			"would be deleted and created again; keep them as they are in the blueprint, or tear the "
			"environment down on purpose with `sandbox down NAME --confirm NAME`");
	else
		sbx_err_hint(err, "restore the nodes in the blueprint, or tear the environment down on purpose "
			"with `sandbox down NAME --confirm NAME`");
	return -1;
}

/* Build the plan. */
int plan_build(const struct plan_desired *desired, const struct plan_rec *recorded, size_t nrec,
	const struct plan_obs *obs, size_t nobs, bool protected, struct plan *out, struct sbx_err *err)
{
	struct plan p = {0};
	const struct plan_rec **rs = xcalloc(nrec + 1, sizeof(*rs));
	struct plan_obs *os = NULL;
	for (size_t i = 0; i < nrec; i++)
		rs[i] = &recorded[i];
	qsort(rs, nrec, sizeof(*rs), cmp_rec);
	if (obs) {
		os = xcalloc(nobs + 1, sizeof(*os));
		memcpy(os, obs, nobs * sizeof(*os));
		qsort(os, nobs, sizeof(*os), cmp_obs);
	}
	plan_creates(&p, desired, rs, nrec, os, nobs);
	plan_deletes(&p, desired, rs, nrec);
	plan_replace(&p, desired->n, rs, nrec);
	free(rs);
	free(os);
	if (plan_check(&p, protected, err) < 0) {
		plan_clear(&p);
		return -1;
	}
	*out = p;
	return 0;
}

/* Free a plan. */
void plan_clear(struct plan *p)
{
	for (size_t i = 0; i < p->n; i++) {
		struct plan_step *s = &p->steps[i];
		res_clear(&s->res);
		free(s->reason);
		res_changes_free(s->changes, s->nchanges);
		free(s->deps);
	}
	free(p->steps);
	*p = (struct plan){0};
}

/* The type name of a step. */
const char *plan_step_type(const struct plan_step *s)
{
	return res_type_name(s->res.type);
}

static const char *const action_mark[] = {"=", "+", "~", "-", "!"};
static const char *const action_word[] = {"noop", "create", "update", "delete", "conflict"};

/* The mark of a step: ± for a replacement. */
static const char *step_mark(const struct plan_step *s)
{
	return s->replace && s->action == PLAN_UPDATE ? "±" : action_mark[s->action];
}

/* The action of a step as JSON says it: "replace" for a replacement. */
static const char *step_word(const struct plan_step *s)
{
	return s->replace && s->action == PLAN_UPDATE ? "replace" : action_word[s->action];
}

/* The counts of a plan. */
char *plan_summary(const struct plan *p)
{
	char rep[48] = "";
	if (p->nreplace)
		snprintf(rep, sizeof(rep), ", %zu to replace", p->nreplace);
	return xasprintf("%zu to create, %zu to update, %zu to delete%s, %zu unchanged", p->ncreate, p->nupdate,
		p->ndelete, rep, p->nnoop);
}

/* Print the plan like a diff, each changed field on its own line. */
void plan_print(const struct plan *p, FILE *f, bool verbose)
{
	for (size_t i = 0; i < p->n; i++) {
		const struct plan_step *s = &p->steps[i];
		if ((s->action == PLAN_NOOP || (s->action == PLAN_DELETE && s->replace)) && !verbose)
			continue;
		fprintf(f, "%s %-8s %-40s %s\n", step_mark(s), plan_step_type(s), s->res.name, s->reason);
		for (size_t k = 0; k < s->nchanges; k++)
			fprintf(f, "      %s: %s → %s\n", s->changes[k].field, s->changes[k].old, s->changes[k].new);
	}
	char *sum = plan_summary(p);
	fprintf(f, "Plan: %s.\n", sum);
	free(sum);
	if (p->nconflict)
		fprintf(f, "%zu name(s) taken by objects this environment does not own (!): `up` refuses.\n",
			p->nconflict);
}

/* The changes of a step as a JSON array. */
static json_t *changes_json(const struct plan_step *s)
{
	json_t *a = json_array();
	for (size_t k = 0; k < s->nchanges; k++)
		json_array_append_new(a, json_pack("{s:s, s:s, s:s}", "field", s->changes[k].field, "old",
			s->changes[k].old, "new", s->changes[k].new));
	return a;
}

/* The plan as a JSON value. */
void *plan_to_json_value(const struct plan *p)
{
	json_t *steps = json_array();
	for (size_t i = 0; i < p->n; i++) {
		const struct plan_step *s = &p->steps[i];
		json_t *deps = json_array();
		for (size_t k = 0; k < s->ndeps; k++)
			json_array_append_new(deps, json_string(p->steps[s->deps[k]].res.name));
		json_array_append_new(steps, json_pack("{s:s, s:s, s:s, s:s, s:o, s:o, s:b}", "action",
			step_word(s), "type", plan_step_type(s), "name", s->res.name, "reason", s->reason,
			"after", deps, "changes", changes_json(s), "replace", s->replace));
	}
	return json_pack("{s:o, s:{s:I, s:I, s:I, s:I, s:I, s:I}}", "steps", steps, "summary", "create",
		(json_int_t)p->ncreate, "update", (json_int_t)p->nupdate, "delete", (json_int_t)p->ndelete,
		"replace", (json_int_t)p->nreplace, "unchanged", (json_int_t)p->nnoop, "conflict",
		(json_int_t)p->nconflict);
}

/* The plan as JSON. */
char *plan_to_json(const struct plan *p)
{
	json_t *o = plan_to_json_value(p);
	char *s = json_dumps(o, JSON_INDENT(2) | JSON_SORT_KEYS);
	json_decref(o);
	return s;
}
