/* env_admit — admission: before `up` records anything, the environment must fit on its host
 * (env_capacity's arithmetic over what the host reports and what the state promised) and under
 * the caps on live environments; its bare-metal machines must be free (env_pool, env_lease). The
 * caps, the fit and the environment's row with its claim are checked and written in one state
 * transaction, so two concurrent `up`s never both take the last slot. */
#include "env_int.h"

#include <stdlib.h>
#include <string.h>

#include "env_capacity.h"

/* The IPAM pool's free blocks, once the host's networks are known to IPAM (what allocation avoids). */
static int probe_blocks(struct state *st, struct prov *p, struct cap_host *h, struct sbx_err *err)
{
	if (env_ipam_avoid(st, p, err) < 0)
		return -1;
	return state_ipam_free_blocks(st, &h->blocks_free, &h->ipam_pool, err);
}

/* Ask host `uri` what it has for bp; h->known false when there is nothing to ask. */
static int probe_at(struct state *st, const struct bp_blueprint *bp, const char *uri, struct cap_host *h,
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
		rc = probe_blocks(st, p, h, err);
	prov_close(p);
	return rc;
}

/* Ask the site's machine host what it has; h->known false when there is nothing to ask. */
int env_admit_probe(struct state *st, const struct bp_blueprint *bp, struct cap_host *h, struct sbx_err *err)
{
	return probe_at(st, bp, bp->site.uri, h, err);
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

/* The fit of env's blueprint on host h, from the state's promises. */
static int admit_fit(const struct env_config *cfg, struct state *st, const char *env, const struct bp_blueprint *bp,
	const struct cap_host *h, struct cap_fit *out, struct sbx_err *err)
{
	struct state_claim others, mine;
	struct cap_amount want;
	size_t n = 0;
	if (state_claim_sum(st, h->uri, env, &others, &n, err) < 0 || state_claim_get(st, env, h->uri, &mine, err) < 0)
		return -1;
	env_capacity_demand(bp, &want);
	if (admit_blocks(st, env, bp, &want.blocks, err) < 0)
		return -1;
	struct cap_policy pol = {cfg->cpu_overcommit, cfg->mem_reserve};
	struct cap_amount o = {others.memory, others.cpus, others.disk, 0}, m = {mine.memory, mine.cpus, mine.disk, 0};
	env_capacity_fit(h, &pol, &o, n, &m, &want, out);
	return 0;
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
	const struct cap_host *h, struct sbx_err *err)
{
	struct state_env *old = NULL;
	struct cap_fit f;
	int rc = state_env_get(st, env, &old, err);
	if (rc == 0 && old == NULL)
		rc = admit_caps(st, env, cfg->owner, err);
	if (rc >= 0 && admit_fit(cfg, st, env, bp, h, &f, err) < 0)
		rc = -1;
	if (rc >= 0 && env_capacity_refuse(h, &f, err) < 0)
		rc = 1;
	state_env_free(old);
	return rc;
}

/* Record what env was admitted for (inside the same transaction). */
int env_admit_claim(struct state *st, const char *env, const struct bp_blueprint *bp, struct sbx_err *err)
{
	struct cap_amount want;
	env_capacity_demand(bp, &want);
	struct state_claim c = {want.memory, want.cpus, want.disk}; /* blocks: the ipam table holds them */
	return state_claim_put(st, env, bp->site.uri, &c, err);
}

/* The fit as a line for `plan` (one per host of site.hosts; caller frees), recording nothing. */
int env_admit_line(const struct env_config *cfg, struct state *st, const char *env, const struct bp_blueprint *bp,
	char **line, struct sbx_err *err)
{
	struct sbx_buf b = {0};
	size_t n = bp->site.nhosts ? bp->site.nhosts : 1;
	for (size_t i = 0; i < n; i++) {
		struct cap_host h;
		struct cap_fit f;
		if (probe_at(st, bp, bp->site.nhosts ? bp->site.hosts[i] : bp->site.uri, &h, err) < 0 ||
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
		rc = probe_at(st, bp, bp->site.hosts[i], &hs[i], err) < 0 ? -1 : admit_fit(cfg, st, env, bp, &hs[i], &fs[i], err);
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

/* Where env goes: without site.hosts, site.uri; with them, the host it was recorded on, else the one
 * place_new picks; bp->site.uri is set to it and *h is what it reports. 0, 1 refused, -1 failed. */
int env_admit_place(const struct env_config *cfg, struct state *st, const char *env, struct bp_blueprint *bp,
	struct cap_host *h, struct sbx_err *err)
{
	struct state_env *old = NULL;
	char *uri = NULL, *pool = NULL, *pool_path = NULL;
	int rc;
	if (bp->site.nhosts == 0)
		return env_admit_probe(st, bp, h, err);
	if (state_env_get(st, env, &old, err) < 0)
		return -1;
	if (old)
		env_site_of_row(old, &uri, &pool, &pool_path);
	if (uri == NULL) {
		rc = place_new(cfg, st, env, bp, h, err);
		uri = rc == 0 ? xstrdup(h->uri) : NULL;
	}
	if (uri) {
		free(bp->site.uri);
		bp->site.uri = uri;
		rc = env_admit_probe(st, bp, h, err);
	}
	state_env_free(old);
	free(pool);
	free(pool_path);
	return rc;
}
