/* plan — desired resources, the diff against the state, and the plan's printing. */
#include "plan.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#define PLAN_HOST_FIRST 10  /* .1 is the host bridge; nodes from .10 */
#define PLAN_HOST_MAX   240 /* .10 .. .249 */

/* Domain name of a node instance. */
char *plan_domain_name(const char *env, const char *node, int index)
{
	return xasprintf("sbx-%s-%s-%d", env, node, index);
}

/* Network name of a blueprint network. */
char *plan_network_name(const char *env, const char *net)
{
	return xasprintf("sbx-%s-%s", env, net);
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

/* Host address number `host` inside a /24. */
char *plan_cidr_host(const char *cidr, int host)
{
	char net[32];
	struct in_addr a;
	const char *slash = strchr(cidr, '/');
	if (slash == NULL || (size_t)(slash - cidr) >= sizeof(net) || host < 1 || host > 254)
		return NULL;
	memcpy(net, cidr, (size_t)(slash - cidr));
	net[slash - cidr] = '\0';
	if (inet_pton(AF_INET, net, &a) != 1)
		return NULL;
	uint32_t v = (ntohl(a.s_addr) & 0xffffff00u) | (uint32_t)host;
	a.s_addr = htonl(v);
	char buf[INET_ADDRSTRLEN];
	return xstrdup(inet_ntop(AF_INET, &a, buf, sizeof(buf)));
}

/* Serialise a JSON value canonically and release it. */
static char *json_take(json_t *j)
{
	char *s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(j);
	return s;
}

/* Append one desired resource (takes ownership of spec). */
static struct plan_res *desired_add(struct plan_desired *d, const char *type, char *name,
	const char *node, char *spec)
{
	xgrow(&d->res, &d->cap, d->n + 1, sizeof(*d->res));
	struct plan_res *r = &d->res[d->n++];
	*r = (struct plan_res){xstrdup(type), name, xstrdup(node), spec, NULL, 0};
	return r;
}

/* Record that r needs `name`. */
static void res_dep(struct plan_res *r, const char *name)
{
	r->deps = xrealloc(r->deps, (r->ndeps + 1) * sizeof(*r->deps));
	r->deps[r->ndeps++] = xstrdup(name);
}

/* The block of a blueprint network. */
static const char *net_cidr(const struct plan_net *nets, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(nets[i].network, name) == 0)
			return nets[i].cidr;
	return NULL;
}

/* The image identity as JSON (what the volume is built from). */
static json_t *image_json(const struct bp_image *img)
{
	json_t *o = json_object();
	const char *keys[] = {"path", "url", "sha256", "recipe", "kernel", "initrd", "cmdline"};
	const char *vals[] = {img->path, img->url, img->sha256, img->recipe, img->kernel, img->initrd,
		img->cmdline};
	for (size_t i = 0; i < SBX_NELEM(keys); i++)
		if (vals[i])
			json_object_set_new(o, keys[i], json_string(vals[i]));
	return o;
}

struct addr_ctx {
	const struct bp_blueprint *bp;
	const char *env;
	const struct plan_net *nets;
	size_t nnets;
	int *next_host; /* per blueprint network: next free host number */
};

/* The NICs of one instance with their static addresses. */
static int instance_nics(struct addr_ctx *ac, const struct bp_node *node, const char *inst,
	json_t **out, struct sbx_err *err)
{
	json_t *nics = json_array();
	for (size_t k = 0; k < node->nnetworks; k++) {
		size_t ni = 0;
		while (ni < ac->bp->nnetworks && strcmp(ac->bp->networks[ni].name, node->networks[k]))
			ni++;
		const char *cidr = net_cidr(ac->nets, ac->nnets, node->networks[k]);
		if (ni == ac->bp->nnetworks || cidr == NULL) {
			json_decref(nics);
			return sbx_err_set(err, SBX_EXIT_USAGE, "node %s: network %s has no address block",
				node->name, node->networks[k]);
		}
		int host = PLAN_HOST_FIRST + ac->next_host[ni]++;
		if (host >= PLAN_HOST_FIRST + PLAN_HOST_MAX) {
			json_decref(nics);
			return sbx_err_set(err, SBX_EXIT_USAGE,
				"network %s holds at most %d node instances; split the nodes over more networks",
				node->networks[k], PLAN_HOST_MAX);
		}
		char mac[18];
		plan_mac(ac->env, inst, node->networks[k], mac);
		char *ip = plan_cidr_host(cidr, host), *gw = plan_cidr_host(cidr, 1);
		char *lvnet = plan_network_name(ac->env, node->networks[k]);
		json_array_append_new(nics, json_pack("{s:s, s:s, s:s, s:s, s:s, s:i, s:b}", "network", lvnet,
			"net", node->networks[k], "mac", mac, "ip", ip ? ip : "", "gateway", gw ? gw : "", "prefix", 24,
			"primary", k == 0));
		free(ip);
		free(gw);
		free(lvnet);
	}
	*out = nics;
	return 0;
}

/* Add the volume, seed and domain of one node instance. */
static int add_instance(struct plan_desired *d, struct addr_ctx *ac, const struct bp_node *node,
	int i, struct sbx_err *err)
{
	char *inst = xasprintf("%s-%d", node->name, i);
	char *dom = plan_domain_name(ac->env, node->name, i);
	char *vol = xasprintf("%s.qcow2", dom), *seed = xasprintf("%s-seed.iso", dom);
	json_t *nics = NULL;
	int rc = instance_nics(ac, node, inst, &nics, err);
	if (rc < 0)
		goto out;
	char *vspec = json_take(json_pack("{s:o, s:I, s:s}", "image", image_json(&ac->bp->site.image),
		"capacity", (json_int_t)node->disk, "pool", ac->bp->site.pool ? ac->bp->site.pool : "sandbox"));
	desired_add(d, PLAN_T_VOLUME, xstrdup(vol), inst, vspec);
	char *sspec = json_take(json_pack("{s:s, s:O, s:s}", "hostname", inst, "nics", nics, "user", "sandbox"));
	desired_add(d, PLAN_T_SEED, xstrdup(seed), inst, sspec);
	char *dspec = json_take(json_pack("{s:s, s:i, s:i, s:I, s:s, s:s, s:O, s:s}", "node", node->name,
		"index", i, "vcpus", node->cpus, "memory", (json_int_t)node->memory, "disk", vol, "seed", seed,
		"nics", nics, "domain_type", ac->bp->site.domain_type ? ac->bp->site.domain_type : "auto",
		"roles", ""));
	struct plan_res *r = desired_add(d, PLAN_T_DOMAIN, dom, inst, dspec);
	dom = NULL;
	res_dep(r, vol);
	res_dep(r, seed);
	for (size_t k = 0; k < node->nnetworks; k++) {
		char *n = plan_network_name(ac->env, node->networks[k]);
		res_dep(r, n);
		free(n);
	}
out:
	json_decref(nics);
	free(inst);
	free(dom);
	free(vol);
	free(seed);
	return rc;
}

/* Add one network resource. */
static void add_network(struct plan_desired *d, const char *env, const struct bp_network *n,
	const char *cidr)
{
	char *name = plan_network_name(env, n->name);
	char br[12];
	plan_bridge_name(name, br);
	char *spec = json_take(json_pack("{s:s, s:s, s:s, s:s}", "cidr", cidr, "mode",
		n->mode == BP_NET_ISOLATED ? "isolated" : "nat", "bridge", br, "net", n->name));
	desired_add(d, PLAN_T_NETWORK, name, NULL, spec);
}

/* Compute every desired libvirt resource of the blueprint. */
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
		add_network(&d, env, &bp->networks[i], cidr);
	}
	for (size_t i = 0; i < bp->nnodes && rc == 0; i++) {
		const struct bp_node *node = &bp->nodes[i];
		if (node->provider && strcmp(node->provider, "libvirt") != 0)
			continue;
		for (int k = 0; k < node->count && rc == 0; k++)
			rc = add_instance(&d, &ac, node, k, err);
	}
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
	for (size_t i = 0; i < d->n; i++) {
		struct plan_res *r = &d->res[i];
		free(r->type);
		free(r->name);
		free(r->node);
		free(r->spec);
		for (size_t k = 0; k < r->ndeps; k++)
			free(r->deps[k]);
		free(r->deps);
	}
	free(d->res);
	*d = (struct plan_desired){0};
}

/* Order (type, name) pairs. */
static int cmp_key(const char *t1, const char *n1, const char *t2, const char *n2)
{
	int c = strcmp(t1, t2);
	return c ? c : strcmp(n1, n2);
}

/* qsort comparator over pointers to state rows. */
static int cmp_rec(const void *a, const void *b)
{
	const struct state_res *x = *(const struct state_res *const *)a, *y = *(const struct state_res *const *)b;
	return cmp_key(x->type, x->name, y->type, y->name);
}

/* qsort/bsearch comparator over names. */
static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Binary search of a recorded row. */
static const struct state_res *rec_find(const struct state_res **sorted, size_t n, const char *type,
	const char *name)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = cmp_key(type, name, sorted[mid]->type, sorted[mid]->name);
		if (c == 0)
			return sorted[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

/* The top-level keys whose values differ between two JSON specs. */
static char *spec_changes(const char *old_spec, const char *new_spec)
{
	json_t *a = json_loads(old_spec ? old_spec : "{}", 0, NULL), *b = json_loads(new_spec, 0, NULL);
	struct sbx_buf buf = {0};
	const char *k;
	json_t *v;
	json_object_foreach(b, k, v) {
		if (!json_equal(v, json_object_get(a, k)))
			sbx_buf_printf(&buf, "%s%s", buf.len ? ", " : "", k);
	}
	json_object_foreach(a, k, v) {
		if (json_object_get(b, k) == NULL)
			sbx_buf_printf(&buf, "%s%s", buf.len ? ", " : "", k);
	}
	json_decref(a);
	json_decref(b);
	return buf.len ? sbx_buf_steal(&buf) : xstrdup("spec");
}

/* Append a step. */
static struct plan_step *step_add(struct plan *p, enum plan_action a, const char *type, const char *name,
	const char *node, const char *spec, const char *old_spec, char *reason)
{
	xgrow(&p->steps, &p->cap, p->n + 1, sizeof(*p->steps));
	struct plan_step *s = &p->steps[p->n++];
	*s = (struct plan_step){a, xstrdup(type), xstrdup(name), xstrdup(node), xstrdup(spec),
		xstrdup(old_spec), reason, NULL, 0};
	return s;
}

/* Add a dependency edge. */
static void step_dep(struct plan_step *s, size_t on)
{
	s->deps = xrealloc(s->deps, (s->ndeps + 1) * sizeof(*s->deps));
	s->deps[s->ndeps++] = on;
}

/* Decide the action of one desired resource. */
static enum plan_action classify(const struct plan_res *r, const struct state_res *rec, bool missing,
	char **reason)
{
	if (rec == NULL) {
		*reason = xstrdup("new");
		return PLAN_CREATE;
	}
	if (strcmp(rec->status, STATE_RES_CREATED) != 0) {
		*reason = xasprintf("interrupted while %s", rec->status);
		return PLAN_CREATE;
	}
	if (missing) {
		*reason = xstrdup("missing in libvirt");
		return PLAN_CREATE;
	}
	if (!sbx_streq(rec->spec, r->spec)) {
		char *what = spec_changes(rec->spec, r->spec);
		*reason = xasprintf("changed: %s", what);
		free(what);
		return PLAN_UPDATE;
	}
	*reason = xstrdup("up to date");
	return PLAN_NOOP;
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

/* Deletion rank: what must go first. */
static int delete_rank(const char *type)
{
	if (strcmp(type, PLAN_T_DOMAIN) == 0)
		return 0;
	if (strcmp(type, PLAN_T_NETWORK) == 0)
		return 2;
	return 1;
}

/* Whether a recorded row is among the n sorted desired names. */
static bool is_desired(const char **dsorted, size_t n, const struct state_res *r)
{
	return bsearch(&r->name, dsorted, n, sizeof(char *), cmp_str) != NULL;
}

/* Steps for the desired resources. */
static void plan_creates(struct plan *p, const struct plan_desired *d, const struct state_res **rs,
	size_t nrec, const char *const *observed, size_t nobs)
{
	for (size_t i = 0; i < d->n; i++) {
		const struct plan_res *r = &d->res[i];
		const struct state_res *rec = rec_find(rs, nrec, r->type, r->name);
		bool missing = observed && !bsearch(&r->name, observed, nobs, sizeof(char *), cmp_str);
		char *reason;
		enum plan_action a = classify(r, rec, missing, &reason);
		step_add(p, a, r->type, r->name, r->node, r->spec, rec ? rec->spec : NULL, reason);
	}
	struct name_idx *ix = xcalloc(p->n + 1, sizeof(*ix));
	for (size_t i = 0; i < p->n; i++)
		ix[i] = (struct name_idx){p->steps[i].name, i};
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

/* Whether a state row is a libvirt resource the planner owns (other rows: host keys, outputs). */
static bool is_planned_type(const char *type)
{
	static const char *const types[] = {PLAN_T_NETWORK, PLAN_T_VOLUME, PLAN_T_SEED, PLAN_T_DOMAIN};
	for (size_t i = 0; i < SBX_NELEM(types); i++)
		if (strcmp(type, types[i]) == 0)
			return true;
	return false;
}

/* Steps for recorded resources no longer desired, ordered by rank. */
static void plan_deletes(struct plan *p, const struct plan_desired *d, const struct state_res **rs,
	size_t nrec)
{
	const char **dsorted = xcalloc(d->n + 1, sizeof(char *));
	for (size_t i = 0; i < d->n; i++)
		dsorted[i] = d->res[i].name;
	qsort(dsorted, d->n, sizeof(char *), cmp_str);
	size_t first = p->n;
	for (int rank = 0; rank <= 2; rank++)
		for (size_t i = 0; i < nrec; i++) {
			const struct state_res *r = rs[i];
			if (!is_planned_type(r->type) || delete_rank(r->type) != rank || is_desired(dsorted, d->n, r))
				continue;
			struct plan_step *s = step_add(p, PLAN_DELETE, r->type, r->name, NULL, NULL, r->spec,
				xstrdup(d->n ? "no longer in the blueprint" : "environment teardown"));
			for (size_t j = first; j < p->n - 1; j++)
				if (delete_rank(p->steps[j].type) < rank)
					step_dep(s, j);
		}
	free(dsorted);
}

/* Count the actions and refuse destructive plans of protected environments. */
static int plan_check(struct plan *p, bool protected, struct sbx_err *err)
{
	for (size_t i = 0; i < p->n; i++) {
		struct plan_step *s = &p->steps[i];
		p->ncreate += s->action == PLAN_CREATE;
		p->nupdate += s->action == PLAN_UPDATE;
		p->ndelete += s->action == PLAN_DELETE;
		p->nnoop += s->action == PLAN_NOOP;
		bool destructive = s->action == PLAN_DELETE ||
			(s->action == PLAN_UPDATE && strcmp(s->type, PLAN_T_VOLUME) == 0);
		if (protected && destructive && strcmp(s->type, PLAN_T_SEED) != 0 &&
			strcmp(s->type, PLAN_T_NETWORK) != 0)
			sbx_err_set(err, SBX_EXIT_REFUSED, "the environment is protected: the plan would %s %s %s",
				s->action == PLAN_DELETE ? "delete" : "replace", s->type, s->name);
	}
	if (sbx_err_isset(err) && err->code == SBX_EXIT_REFUSED) {
		sbx_err_hint(err, "restore the nodes in the blueprint, or tear the environment down on purpose "
			"with `sandbox down NAME --confirm NAME`");
		return -1;
	}
	return 0;
}

/* Build the plan. */
int plan_build(const struct plan_desired *desired, const struct state_res *recorded, size_t nrec,
	const char *const *observed, size_t nobs, bool protected, struct plan *out, struct sbx_err *err)
{
	struct plan p = {0};
	const struct state_res **rs = xcalloc(nrec + 1, sizeof(*rs));
	const char **obs = NULL;
	for (size_t i = 0; i < nrec; i++)
		rs[i] = &recorded[i];
	qsort(rs, nrec, sizeof(*rs), cmp_rec);
	if (observed) {
		obs = xcalloc(nobs + 1, sizeof(char *));
		memcpy(obs, observed, nobs * sizeof(char *));
		qsort(obs, nobs, sizeof(char *), cmp_str);
	}
	plan_creates(&p, desired, rs, nrec, obs, nobs);
	plan_deletes(&p, desired, rs, nrec);
	free(rs);
	free(obs);
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
		free(s->type);
		free(s->name);
		free(s->node);
		free(s->spec);
		free(s->old_spec);
		free(s->reason);
		free(s->deps);
	}
	free(p->steps);
	*p = (struct plan){0};
}

static const char *const action_mark[] = {"=", "+", "~", "-"};
static const char *const action_word[] = {"noop", "create", "update", "delete"};

/* Print the plan like a diff. */
void plan_print(const struct plan *p, FILE *f, bool verbose)
{
	for (size_t i = 0; i < p->n; i++) {
		const struct plan_step *s = &p->steps[i];
		if (s->action == PLAN_NOOP && !verbose)
			continue;
		fprintf(f, "%s %-8s %-40s %s\n", action_mark[s->action], s->type, s->name, s->reason);
	}
	fprintf(f, "Plan: %zu to create, %zu to update, %zu to delete, %zu unchanged.\n", p->ncreate,
		p->nupdate, p->ndelete, p->nnoop);
}

/* The plan as JSON. */
char *plan_to_json(const struct plan *p)
{
	json_t *steps = json_array();
	for (size_t i = 0; i < p->n; i++) {
		const struct plan_step *s = &p->steps[i];
		json_t *deps = json_array();
		for (size_t k = 0; k < s->ndeps; k++)
			json_array_append_new(deps, json_string(p->steps[s->deps[k]].name));
		json_array_append_new(steps, json_pack("{s:s, s:s, s:s, s:s, s:o}", "action",
			action_word[s->action], "type", s->type, "name", s->name, "reason", s->reason, "after", deps));
	}
	json_t *o = json_pack("{s:o, s:{s:I, s:I, s:I, s:I}}", "steps", steps, "summary", "create",
		(json_int_t)p->ncreate, "update", (json_int_t)p->nupdate, "delete", (json_int_t)p->ndelete,
		"unchanged", (json_int_t)p->nnoop);
	char *s = json_dumps(o, JSON_INDENT(2) | JSON_SORT_KEYS);
	json_decref(o);
	return s;
}
