/* env_admit — admission: before `up` records anything, the environment must fit on its host
 * (env_capacity's arithmetic over what the host reports and what the state promised) and under
 * the caps on live environments; its bare-metal machines must be free (env_pool, env_lease). The
 * caps, the fit and the environment's row with its claim are checked and written in one state
 * transaction, so two concurrent `up`s never both take the last slot. */
#include "env_int.h"

#include <stdlib.h>
#include <string.h>

#include "env_capacity.h"

/* The IPAM pool's free blocks, once the host's networks are known to IPAM (what allocation avoids;
 * more: besides the other hosts' it was told). */
static int probe_blocks(struct state *st, struct prov *p, bool more, struct cap_host *h, struct sbx_err *err)
{
	if (env_ipam_avoid(st, p, more, err) < 0)
		return -1;
	return state_ipam_free_blocks(st, &h->blocks_free, &h->ipam_pool, err);
}

/* Ask host `uri` what it has for bp; h->known false when there is nothing to ask. more: IPAM avoids
 * its networks besides those of the hosts probed before (a spread environment's). */
static int probe_at(struct state *st, const struct bp_blueprint *bp, const char *uri, bool more, struct cap_host *h,
	struct sbx_err *err)
{
	struct cap_amount want;
	struct prov *p = NULL;
	struct prov_host ph;
	*h = (struct cap_host){.uri = uri};
	env_capacity_demand(bp, &want);
	if (want.memory == 0 && want.cpus == 0 && want.disk == 0 && want.blocks == 0)
		return 0;
	struct prov_cfg pc = env_site_of_bp(bp);
	pc.state_id = state_id(st);
	pc.uri = uri;
	if (prov_open(&pc, &p, err) < 0)
		return -1;
	int rc = prov_host_info(p, &ph, err);
	if (rc == 0)
		*h = (struct cap_host){uri, ph.known, ph.mem_total, ph.mem_free, ph.cpus, ph.disk_known,
			ph.disk_free, NULL, 0};
	if (rc == 0 && want.blocks > 0)
		rc = probe_blocks(st, p, more, h, err);
	prov_close(p);
	return rc;
}

/* Ask the site's machine host what it has; h->known false when there is nothing to ask. */
int env_admit_probe(struct state *st, const struct bp_blueprint *bp, struct cap_host *h, struct sbx_err *err)
{
	return probe_at(st, bp, bp->site.uri, false, h, err);
}

/* The networks of bp that would take a block of the pool: cidr auto, none allocated to env yet. */
static int admit_blocks(struct state *st, const char *env, const struct bp_blueprint *bp, int64_t *n,
	struct sbx_err *err)
{
	*n = 0;
	for (size_t i = 0; i < bp->nnetworks; i++) {
		const struct bp_network *net = &bp->networks[i];
		char *cidr = NULL;
		if (net->cidr && strcmp(net->cidr, "auto") != 0)
			continue;
		if (state_ipam_get(st, env, net->name, &cidr, err) < 0)
			return -1;
		*n += cidr == NULL;
		free(cidr);
	}
	return 0;
}

/* The fit of `want` on host h for env, from the state's promises there. */
static int fit_want(const struct env_config *cfg, struct state *st, const char *env, const struct cap_host *h,
	const struct cap_amount *want, struct cap_fit *out, struct sbx_err *err)
{
	struct state_claim others, mine;
	size_t n = 0;
	if (state_claim_sum(st, h->uri, env, &others, &n, err) < 0 || state_claim_get(st, env, h->uri, &mine, err) < 0)
		return -1;
	struct cap_policy pol = {cfg->cpu_overcommit, cfg->mem_reserve};
	struct cap_amount o = {others.memory, others.cpus, others.disk, 0}, m = {mine.memory, mine.cpus, mine.disk, 0};
	env_capacity_fit(h, &pol, &o, n, &m, want, out);
	return 0;
}

/* The fit of env's blueprint on host h, from the state's promises. */
static int admit_fit(const struct env_config *cfg, struct state *st, const char *env, const struct bp_blueprint *bp,
	const struct cap_host *h, struct cap_fit *out, struct sbx_err *err)
{
	struct cap_amount want;
	env_capacity_demand(bp, &want);
	if (admit_blocks(st, env, bp, &want.blocks, err) < 0)
		return -1;
	return fit_want(cfg, st, env, h, &want, out, err);
}

/* The fit of host i's share of a spread placement (the primary host also counts the IPAM blocks). */
static int fit_share(const struct env_config *cfg, struct state *st, const char *env, const struct bp_blueprint *bp,
	const struct env_placement *pl, size_t i, struct cap_fit *out, struct sbx_err *err)
{
	struct cap_amount want = pl->share[i];
	if (i == pl->primary && admit_blocks(st, env, bp, &want.blocks, err) < 0)
		return -1;
	return fit_want(cfg, st, env, &pl->host[i], &want, out, err);
}

/* Whether each host's share of a spread placement fits there: 1 with err when one does not. */
static int admit_shares(const struct env_config *cfg, struct state *st, const char *env, const struct bp_blueprint *bp,
	const struct env_placement *pl, struct sbx_err *err)
{
	int rc = 0;
	for (size_t i = 0; rc >= 0 && i < pl->nhosts; i++) {
		struct cap_fit f;
		if (fit_share(cfg, st, env, bp, pl, i, &f, err) < 0)
			rc = -1;
		else if (env_capacity_refuse(&pl->host[i], &f, err) < 0)
			rc = 1;
	}
	return rc;
}

/* The caps, for a new environment of `owner`: 1 with err set when one is reached. */
static int admit_caps(struct state *st, const char *env, const char *owner, struct sbx_err *err)
{
	struct state_caps c;
	int64_t mine = 0, all = 0;
	if (state_caps_get(st, &c, err) < 0 || state_env_count(st, owner, env, &mine, err) < 0 ||
		state_env_count(st, NULL, env, &all, err) < 0)
		return -1;
	if (c.per_owner >= 0 && mine >= c.per_owner)
		sbx_err_set(err, SBX_EXIT_REFUSED, "cap reached: %s has %lld live environment%s, the per-owner cap is %lld",
			owner, (long long)mine, mine == 1 ? "" : "s", (long long)c.per_owner);
	if (c.total >= 0 && all >= c.total)
		sbx_err_set(err, SBX_EXIT_REFUSED, "cap reached: the state has %lld live environment%s, the total cap is "
			"%lld (%lld of them %s's)", (long long)all, all == 1 ? "" : "s", (long long)c.total, (long long)mine,
			owner);
	return err->n ? 1 : 0;
}

/* Inside the caller's transaction: 0 when env may be recorded (caps, fit), 1 refused (err says
 * what is missing), -1 failed. */
int env_admit_check(const struct env_config *cfg, struct state *st, const char *env, const struct bp_blueprint *bp,
	const struct cap_host *h, const struct env_placement *pl, struct sbx_err *err)
{
	struct state_env *old = NULL;
	struct cap_fit f;
	int rc = state_env_get(st, env, &old, err);
	if (rc == 0 && old == NULL)
		rc = admit_caps(st, env, cfg->owner, err);
	if (rc >= 0 && pl && pl->spread) {
		int s = admit_shares(cfg, st, env, bp, pl, err);
		rc = s < 0 ? -1 : s > 0 ? 1 : rc;
	} else if (rc >= 0 && admit_fit(cfg, st, env, bp, h, &f, err) < 0)
		rc = -1;
	else if (rc >= 0 && env_capacity_refuse(h, &f, err) < 0)
		rc = 1;
	state_env_free(old);
	return rc;
}

/* Record where a spread env's nodes and networks are, and its promise on each host; the rows of those
 * bp no longer has stay (up deletes them on their host, then env_place_prune drops the rows). */
static int claim_spread(struct state *st, const char *env, const struct bp_blueprint *bp,
	const struct env_placement *pl, struct sbx_err *err)
{
	struct state_place *pv = NULL;
	size_t npv = 0, n = 0, nc = 0;
	if (state_place_list(st, env, &pv, &npv, err) < 0)
		return -1;
	struct state_place *v = xcalloc(bp->nnodes + bp->nnetworks + npv + 1, sizeof(*v));
	struct state_claim *c = xcalloc(pl->nhosts + 1, sizeof(*c));
	const char **uris = xcalloc(pl->nhosts + 1, sizeof(*uris));
	for (size_t i = 0; i < npv; i++)
		if (!env_place_in_bp(bp, &pv[i]))
			v[n++] = pv[i];
	for (size_t i = 0; i < bp->nnodes; i++)
		if (pl->node_host[i] != SIZE_MAX)
			v[n++] = (struct state_place){"node", bp->nodes[i].name, (char *)pl->host[pl->node_host[i]].uri};
	for (size_t i = 0; i < bp->nnetworks; i++)
		v[n++] = (struct state_place){"network", bp->networks[i].name, (char *)pl->host[pl->net_host[i]].uri};
	for (size_t i = 0; i < pl->nhosts; i++) {
		const struct cap_amount *a = &pl->share[i];
		if (a->memory == 0 && a->cpus == 0 && a->disk == 0)
			continue;
		uris[nc] = pl->host[i].uri;
		c[nc++] = (struct state_claim){a->memory, a->cpus, a->disk};
	}
	int rc = state_place_set(st, env, v, n, err) < 0 || state_claim_set(st, env, uris, c, nc, err) < 0 ? -1 : 0;
	free(v);
	free(c);
	free(uris);
	state_place_list_free(pv, npv);
	return rc;
}

/* Reserve the IPAM block of every `cidr: auto` network of bp for env (the networks of its host, or
 * of every host of a spread environment, were given to IPAM by the admission's probes): 1 with err
 * when the pool has none left, so that of two concurrent `up`s that both counted the last free
 * block, the second is refused here, with nothing recorded, instead of failing at its plan after
 * admission. */
static int claim_blocks(struct state *st, const char *env, const struct bp_blueprint *bp, struct sbx_err *err)
{
	for (size_t i = 0; i < bp->nnetworks; i++) {
		const struct bp_network *net = &bp->networks[i];
		char *cidr = NULL;
		if (net->cidr && strcmp(net->cidr, "auto") != 0)
			continue;
		if (state_ipam_alloc(st, env, net->name, NULL, &cidr, err) < 0)
			return err->code == SBX_EXIT_REFUSED ? 1 : -1;
		free(cidr);
	}
	return 0;
}

/* Record what env was admitted for (inside the same transaction): 0, 1 refused (no IPAM block
 * left, err says so), -1 failed. */
int env_admit_claim(struct state *st, const char *env, const struct bp_blueprint *bp, const struct env_placement *pl,
	struct sbx_err *err)
{
	if (pl && pl->spread)
		return claim_spread(st, env, bp, pl, err) < 0 ? -1 : claim_blocks(st, env, bp, err);
	struct cap_amount want;
	env_capacity_demand(bp, &want);
	struct state_claim c = {want.memory, want.cpus, want.disk}; /* blocks: the ipam table holds them */
	if (state_claim_put(st, env, bp->site.uri, &c, err) < 0)
		return -1;
	return claim_blocks(st, env, bp, err);
}

/* Choose among site.hosts for a new environment: the fitting host env_capacity_better ranks first (the
 * list's order breaks ties). 0 with *best, 1 refused (every host's shortages in err), -1 failed. */
static int place_new(const struct env_config *cfg, struct state *st, const char *env, const struct bp_blueprint *bp,
	struct cap_host *best, struct sbx_err *err)
{
	struct cap_host *hs = xcalloc(bp->site.nhosts, sizeof(*hs));
	struct cap_fit *fs = xcalloc(bp->site.nhosts, sizeof(*fs));
	size_t pick = bp->site.nhosts;
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < bp->site.nhosts; i++) {
		rc = probe_at(st, bp, bp->site.hosts[i], false, &hs[i], err) < 0 ? -1 : admit_fit(cfg, st, env, bp, &hs[i], &fs[i], err);
		if (rc == 0 && env_capacity_fits(&fs[i]) && (pick == bp->site.nhosts || env_capacity_better(&fs[i], &fs[pick])))
			pick = i;
	}
	if (rc == 0 && pick == bp->site.nhosts) {
		for (size_t i = 0; i < bp->site.nhosts; i++)
			(void)env_capacity_refuse(&hs[i], &fs[i], err);
		rc = 1;
	}
	if (rc == 0)
		*best = hs[pick];
	free(hs);
	free(fs);
	return rc;
}

/* The index of uri among bp's site.hosts, or SIZE_MAX. */
static size_t host_index(const struct bp_blueprint *bp, const char *uri)
{
	for (size_t i = 0; uri && i < bp->site.nhosts; i++)
		if (strcmp(bp->site.hosts[i], uri) == 0)
			return i;
	return SIZE_MAX;
}

/* A spreading in progress: bp's groups, their demand, where each goes (SIZE_MAX: not yet). */
struct spread {
	size_t *group, ngroups, *ghost;
	struct cap_amount *want;
	struct cap_room *room; /* each host's room for env once its recorded groups are counted */
};

/* Fix the groups whose nodes were recorded on a host (the first recorded node decides). */
static void spread_fixed(const struct bp_blueprint *bp, const struct state_place *pv, size_t npv, struct spread *sp)
{
	for (size_t i = 0; i < bp->nnodes; i++) {
		size_t g = sp->group[i], h = host_index(bp, state_place_find(pv, npv, "node", bp->nodes[i].name));
		if (g != SIZE_MAX && h != SIZE_MAX && sp->ghost[g] == SIZE_MAX)
			sp->ghost[g] = h;
	}
}

/* Add want to a. */
static void amount_add(struct cap_amount *a, const struct cap_amount *want)
{
	a->memory += want->memory;
	a->cpus += want->cpus;
	a->disk += want->disk;
}

/* Count the pool's free blocks again for each host once every host's networks are avoided (a spread
 * environment's blocks are reserved before its networks are placed: a block one host uses is taken). */
static int spread_blocks(struct state *st, struct env_placement *pl, struct sbx_err *err)
{
	for (size_t i = 0; i < pl->nhosts; i++)
		if (pl->host[i].ipam_pool &&
			state_ipam_free_blocks(st, &pl->host[i].blocks_free, &pl->host[i].ipam_pool, err) < 0)
			return -1;
	return 0;
}

/* Probe every host; each must hold the recorded groups' share (else 1, err); their room is what is left. */
static int spread_rooms(const struct env_config *cfg, struct state *st, const char *env, const struct bp_blueprint *bp,
	struct spread *sp, struct env_placement *pl, struct sbx_err *err)
{
	int rc = 0;
	for (size_t g = 0; g < sp->ngroups; g++)
		if (sp->ghost[g] != SIZE_MAX)
			amount_add(&pl->share[sp->ghost[g]], &sp->want[g]);
	for (size_t i = 0; rc >= 0 && i < pl->nhosts; i++) {
		struct cap_fit f;
		if (probe_at(st, bp, bp->site.hosts[i], i > 0, &pl->host[i], err) < 0 ||
			fit_want(cfg, st, env, &pl->host[i], &pl->share[i], &f, err) < 0)
			return -1;
		if (env_capacity_refuse(&pl->host[i], &f, err) < 0)
			rc = 1;
		sp->room[i] = env_capacity_room(&pl->host[i], &f);
		if (rc == 0 && sp->room[i].known) {
			sp->room[i].memory -= f.need.memory;
			sp->room[i].cpus -= f.need.cpus;
			sp->room[i].disk -= sp->room[i].disk_known ? f.need.disk : 0;
		}
	}
	return spread_blocks(st, pl, err) < 0 ? -1 : rc;
}

/* Refuse group g: it fits on no host (each host's room for it in err). */
static void refuse_group(const struct bp_blueprint *bp, const struct spread *sp, size_t g,
	const struct env_placement *pl, const struct cap_room *room, struct sbx_err *err)
{
	struct sbx_buf b = {0};
	const struct cap_amount *w = &sp->want[g];
	for (size_t i = 0; i < bp->nnodes; i++)
		if (sp->group[i] == g)
			sbx_buf_printf(&b, "%s%s", b.len ? ", " : "", bp->nodes[i].name);
	sbx_err_set(err, SBX_EXIT_REFUSED, "nodes %s (one host: they share networks) fit on no host of site.hosts",
		b.data ? b.data : "");
	sbx_buf_free(&b);
	for (size_t h = 0; h < pl->nhosts; h++) {
		const struct cap_room *r = &room[h];
		struct cap_fit f = {.need = *w, .avail = {r->memory, r->cpus, r->disk, 0}, .checked = r->known,
			.short_mem = r->known && w->memory > r->memory, .short_cpus = r->known && w->cpus > r->cpus,
			.short_disk = r->known && r->disk_known && w->disk > r->disk};
		(void)env_capacity_refuse(&pl->host[h], &f, err);
	}
}

/* Place the groups not recorded yet: 0, or 1 with err when one fits nowhere. */
static int spread_new(const struct bp_blueprint *bp, struct spread *sp, struct env_placement *pl, struct sbx_err *err)
{
	size_t *idx = xcalloc(sp->ngroups + 1, sizeof(*idx)), *at = xcalloc(sp->ngroups + 1, sizeof(*at)), n = 0, bad = 0;
	struct cap_amount *w = xcalloc(sp->ngroups + 1, sizeof(*w));
	struct cap_room *before = xcalloc(pl->nhosts + 1, sizeof(*before));
	memcpy(before, sp->room, pl->nhosts * sizeof(*before));
	for (size_t g = 0; g < sp->ngroups; g++)
		if (sp->ghost[g] == SIZE_MAX) {
			idx[n] = g;
			w[n++] = sp->want[g];
		}
	int rc = env_capacity_spread(sp->room, pl->nhosts, w, n, at, &bad) < 0 ? 1 : 0;
	if (rc)
		refuse_group(bp, sp, idx[bad], pl, before, err);
	for (size_t k = 0; rc == 0 && k < n; k++) {
		sp->ghost[idx[k]] = at[k];
		amount_add(&pl->share[at[k]], &w[k]);
	}
	free(idx);
	free(at);
	free(w);
	free(before);
	return rc;
}

/* Each node's and network's host; the primary host: the largest group's. */
static void spread_assign(const struct bp_blueprint *bp, const struct spread *sp, struct env_placement *pl)
{
	size_t big = SIZE_MAX;
	for (size_t g = 0; g < sp->ngroups; g++)
		if (big == SIZE_MAX || sp->want[g].memory > sp->want[big].memory ||
			(sp->want[g].memory == sp->want[big].memory && sp->want[g].cpus > sp->want[big].cpus))
			big = g;
	pl->primary = big == SIZE_MAX ? 0 : sp->ghost[big];
	for (size_t i = 0; i < bp->nnodes; i++)
		pl->node_host[i] = sp->group[i] == SIZE_MAX ? SIZE_MAX : sp->ghost[sp->group[i]];
	for (size_t k = 0; k < bp->nnetworks; k++) {
		pl->net_host[k] = pl->primary;
		for (size_t i = 0; i < bp->nnodes && pl->net_host[k] == pl->primary; i++)
			for (size_t j = 0; pl->node_host[i] != SIZE_MAX && j < bp->nodes[i].nnetworks; j++)
				if (strcmp(bp->nodes[i].networks[j], bp->networks[k].name) == 0)
					pl->net_host[k] = pl->node_host[i];
	}
}

/* Spread env's groups of nodes over site.hosts (the recorded ones stay): 0 with *pl, 1 refused, -1 failed. */
static int place_spread(const struct env_config *cfg, struct state *st, const char *env, const struct bp_blueprint *bp,
	const struct state_place *pv, size_t npv, struct env_placement *pl, struct sbx_err *err)
{
	struct spread sp = {0};
	size_t nh = bp->site.nhosts;
	*pl = (struct env_placement){.spread = true, .nhosts = nh, .host = xcalloc(nh + 1, sizeof(struct cap_host)),
		.share = xcalloc(nh + 1, sizeof(struct cap_amount)), .node_host = xcalloc(bp->nnodes + 1, sizeof(size_t)),
		.net_host = xcalloc(bp->nnetworks + 1, sizeof(size_t))};
	env_capacity_groups(bp, &sp.group, &sp.want, &sp.ngroups);
	sp.ghost = xcalloc(sp.ngroups + 1, sizeof(*sp.ghost));
	sp.room = xcalloc(nh + 1, sizeof(*sp.room));
	for (size_t g = 0; g < sp.ngroups; g++)
		sp.ghost[g] = SIZE_MAX;
	spread_fixed(bp, pv, npv, &sp);
	int rc = spread_rooms(cfg, st, env, bp, &sp, pl, err);
	if (rc == 0)
		rc = spread_new(bp, &sp, pl, err);
	if (rc == 0)
		spread_assign(bp, &sp, pl);
	free(sp.group);
	free(sp.want);
	free(sp.ghost);
	free(sp.room);
	if (rc != 0)
		env_placement_clear(pl);
	return rc;
}

/* Whether env is spread over site.hosts: recorded so (even on what is left of them, one host), or
 * new with more than one host (*pv its rows). */
static int spread_wanted(struct state *st, const char *env, const struct bp_blueprint *bp, const struct state_env *old,
	struct state_place **pv, size_t *npv, bool *want, struct sbx_err *err)
{
	*pv = NULL;
	*npv = 0;
	*want = false;
	if (bp->site.nhosts == 0)
		return 0;
	if (state_place_list(st, env, pv, npv, err) < 0)
		return -1;
	*want = *npv > 0 || (old == NULL && bp->site.nhosts > 1);
	return 0;
}

/* Spread env (new, or recorded spread) and point bp at its primary host. */
static int admit_spread(const struct env_config *cfg, struct state *st, const char *env, struct bp_blueprint *bp,
	const struct state_place *pv, size_t npv, struct cap_host *h, struct env_placement *pl, struct sbx_err *err)
{
	int rc = place_spread(cfg, st, env, bp, pv, npv, pl, err);
	if (rc != 0)
		return rc;
	free(bp->site.uri);
	bp->site.uri = xstrdup(bp->site.hosts[pl->primary]);
	for (size_t i = 0; i < pl->nhosts; i++) /* the hosts' uris point into bp->site.hosts */
		pl->host[i].uri = bp->site.hosts[i];
	*h = pl->host[pl->primary];
	h->uri = bp->site.uri;
	return 0;
}

/* Where env goes: without site.hosts, site.uri; with them, the host it was recorded on, else the one
 * place_new picks, or spread over them; bp->site.uri is set to it and *h is what it reports. 0, 1
 * refused, -1 failed. */
int env_admit_place(const struct env_config *cfg, struct state *st, const char *env, struct bp_blueprint *bp,
	struct cap_host *h, struct env_placement *pl, struct sbx_err *err)
{
	struct state_env *old = NULL;
	struct state_place *pv = NULL;
	size_t npv = 0;
	char *uri = NULL, *pool = NULL, *pool_path = NULL;
	bool spread = false;
	int rc;
	*pl = (struct env_placement){0};
	if (bp->site.nhosts == 0)
		return env_admit_probe(st, bp, h, err);
	if (state_env_get(st, env, &old, err) < 0)
		return -1;
	rc = spread_wanted(st, env, bp, old, &pv, &npv, &spread, err);
	if (rc == 0 && spread) {
		rc = admit_spread(cfg, st, env, bp, pv, npv, h, pl, err);
		goto out;
	}
	if (rc == 0 && old)
		env_site_of_row(old, &uri, &pool, &pool_path);
	if (rc == 0 && uri == NULL) {
		rc = place_new(cfg, st, env, bp, h, err);
		uri = rc == 0 ? xstrdup(h->uri) : NULL;
	}
	if (uri) {
		free(bp->site.uri);
		bp->site.uri = uri;
		rc = env_admit_probe(st, bp, h, err);
	}
out:
	state_env_free(old);
	state_place_list_free(pv, npv);
	free(pool);
	free(pool_path);
	return rc;
}

/* The fit of each host's share and where env's groups would go, as lines for `plan` (recording
 * nothing): 0, 1 when they cannot all be placed (the refusal as lines), -1 failed. */
static int line_spread(const struct env_config *cfg, struct state *st, const char *env, const struct bp_blueprint *bp,
	struct sbx_buf *b, struct sbx_err *err)
{
	struct state_place *pv = NULL;
	struct env_placement pl = {0};
	size_t npv = 0;
	struct sbx_err e2 = SBX_ERR_INIT;
	int rc = state_place_list(st, env, &pv, &npv, err) < 0 ? -1 : place_spread(cfg, st, env, bp, pv, npv, &pl, &e2);
	for (size_t i = 0; rc == 0 && i < pl.nhosts; i++) {
		struct cap_fit f;
		if (fit_share(cfg, st, env, bp, &pl, i, &f, err) < 0) {
			rc = -1;
			break;
		}
		char *l = env_capacity_line(&pl.host[i], &f);
		sbx_buf_printf(b, "%s%s", i ? ".\n" : "", l);
		free(l);
	}
	for (size_t i = 0; rc == 0 && i < pl.nhosts; i++) {
		char *t = env_placement_text(bp, &pl, i);
		if (t)
			sbx_buf_printf(b, ".\nPlacement: %s", t);
		free(t);
	}
	for (size_t i = 0; rc == 1 && i < e2.n; i++)
		sbx_buf_printf(b, "%sPlacement: refused: %s", i ? ".\n" : "", e2.msgs[i].text);
	if (rc < 0 && e2.n)
		sbx_err_set(err, e2.code, "%s", sbx_err_first(&e2));
	env_placement_clear(&pl);
	state_place_list_free(pv, npv);
	sbx_err_clear(&e2);
	return rc;
}

/* Whether env is spread over site.hosts for `plan`: more than one host, and new or recorded so. */
static int line_spread_wanted(struct state *st, const char *env, const struct bp_blueprint *bp, bool *want,
	struct sbx_err *err)
{
	struct state_env *old = NULL;
	struct state_place *pv = NULL;
	size_t npv = 0;
	if (state_env_get(st, env, &old, err) < 0)
		return -1;
	int rc = spread_wanted(st, env, bp, old, &pv, &npv, want, err);
	state_env_free(old);
	state_place_list_free(pv, npv);
	return rc;
}

/* The fit as a line for `plan` (one per host of site.hosts; caller frees), recording nothing. */
int env_admit_line(const struct env_config *cfg, struct state *st, const char *env, const struct bp_blueprint *bp,
	char **line, struct sbx_err *err)
{
	struct sbx_buf b = {0};
	size_t n = bp->site.nhosts ? bp->site.nhosts : 1;
	bool spread = false;
	if (line_spread_wanted(st, env, bp, &spread, err) < 0)
		return -1;
	if (spread) {
		int rc = line_spread(cfg, st, env, bp, &b, err);
		if (rc < 0)
			sbx_buf_free(&b);
		else
			*line = b.data;
		return rc < 0 ? -1 : 0;
	}
	for (size_t i = 0; i < n; i++) {
		struct cap_host h;
		struct cap_fit f;
		if (probe_at(st, bp, bp->site.nhosts ? bp->site.hosts[i] : bp->site.uri, false, &h, err) < 0 ||
			admit_fit(cfg, st, env, bp, &h, &f, err) < 0) {
			sbx_buf_free(&b);
			return -1;
		}
		char *l = env_capacity_line(&h, &f);
		sbx_buf_printf(&b, "%s%s", i ? ".\n" : "", l);
		free(l);
	}
	*line = b.data;
	return 0;
}
