/* env_plan — the planner's inputs (shared with up) and `plan`: what up would do, changing nothing. */
#include "env_int.h"

#include <stdlib.h>
#include <string.h>

/* The block of every network: allocated (up) or as recorded, else a placeholder (plan). */
static int inputs_nets(struct state *st, const struct bp_blueprint *bp, const char *env, bool allocate,
	struct env_inputs *in, struct sbx_err *err)
{
	in->nnets = bp->nnetworks;
	in->nets = xcalloc(in->nnets + 1, sizeof(*in->nets));
	in->cidrs = xcalloc(in->nnets + 1, sizeof(char *));
	in->moved = xcalloc(in->nnets + 1, sizeof(bool));
	for (size_t i = 0; i < in->nnets; i++) {
		const struct bp_network *n = &bp->networks[i];
		if (state_ipam_differs(st, env, n->name, n->cidr, &in->moved[i], err) < 0)
			return -1;
		int rc = in->moved[i] ? (in->cidrs[i] = xstrdup(n->cidr), 0) :
			allocate ? state_ipam_alloc(st, env, n->name, n->cidr, &in->cidrs[i], err) :
			state_ipam_get(st, env, n->name, &in->cidrs[i], err);
		if (rc < 0)
			return -1;
		if (in->cidrs[i] == NULL)
			in->cidrs[i] = xstrdup(strcmp(n->cidr, "auto") ? n->cidr : "0.0.0.0/24");
		in->nets[i] = (struct plan_net){n->name, in->cidrs[i]};
	}
	return 0;
}

/* Move the blocks of the networks whose cidr changed. */
int env_ipam_move(struct state *st, const char *env, const struct env_inputs *in, struct ev_sink *ev,
	struct sbx_err *err)
{
	for (size_t i = 0; i < in->nnets; i++) {
		char *old = NULL;
		if (!in->moved[i])
			continue;
		if (state_ipam_get(st, env, in->nets[i].network, &old, err) < 0 ||
			state_ipam_move(st, env, in->nets[i].network, in->cidrs[i], err) < 0) {
			free(old);
			return -1;
		}
		ev_emit(ev, env, "ipam.move", "network", in->nets[i].network, NULL, "network %s: block %s → %s (%s released)",
			in->nets[i].network, old ? old : "(none)", in->cidrs[i], old ? old : "none");
		free(old);
	}
	return 0;
}

/* Ask the provider about every desired resource. */
static int inputs_observe(struct prov *p, struct env_inputs *in, struct sbx_err *err)
{
	size_t n = in->desired.n;
	in->obs = xcalloc(n + 1, sizeof(*in->obs));
	in->seen = xcalloc(n + 1, sizeof(*in->seen));
	in->nobs = n;
	for (size_t i = 0; i < n; i++) {
		const struct res *r = &in->desired.res[i];
		if (prov_observe(p, r, &in->seen[i], err) < 0)
			return -1;
		const struct prov_seen *s = &in->seen[i];
		in->obs[i] = (struct plan_obs){r->name, s->exists, s->foreign, s->untagged, s->drift, s->ndrift};
	}
	return 0;
}

/* Tell IPAM which blocks the site's networks already use (before allocating); more: besides those
 * it was told before (another host's). */
int env_ipam_avoid(struct state *st, struct prov *p, bool more, struct sbx_err *err)
{
	char **blocks = NULL;
	size_t n = 0;
	if (prov_used_blocks(p, &blocks, &n, err) < 0)
		return -1;
	if (more)
		state_ipam_avoid_add(st, (const char *const *)blocks, n);
	else
		state_ipam_avoid(st, (const char *const *)blocks, n);
	state_strv_free(blocks, n);
	return 0;
}

/* Put the rows the planner diffs first (stable), the cluster objects after them. */
static size_t rows_partition(struct env_rows *r)
{
	struct plan_rec *v = xcalloc(r->nrec + 1, sizeof(*v));
	size_t k = 0;
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < r->nrec; i++)
			if ((r->recs[i].res.type == RES_K8S) == (pass == 1))
				v[k++] = r->recs[i];
	size_t planned = 0;
	while (planned < r->nrec && v[planned].res.type != RES_K8S)
		planned++;
	free(r->recs);
	r->recs = v;
	return planned;
}

/* Gather the planner's inputs. */
int env_inputs_load(struct state *st, const struct bp_blueprint *bp, const char *env, bool allocate,
	struct prov *p, struct env_inputs *in, struct sbx_err *err)
{
	*in = (struct env_inputs){0};
	if ((allocate && p && env_ipam_avoid(st, p, false, err) < 0) || inputs_nets(st, bp, env, allocate, in, err) < 0 ||
		plan_desired(bp, env, in->nets, in->nnets, &in->desired, err) < 0 ||
		env_rows_load(st, env, &in->rows, err) < 0 ||
		(env_alias_apply(&in->rows, &in->desired, &in->cold), p && inputs_observe(p, in, err) < 0)) {
		env_inputs_clear(in);
		return -1;
	}
	in->nplanned = rows_partition(&in->rows);
	return 0;
}

/* Free the inputs. */
void env_inputs_clear(struct env_inputs *in)
{
	for (size_t i = 0; in->cidrs && i < in->nnets; i++)
		free(in->cidrs[i]);
	for (size_t i = 0; in->seen && i < in->nobs; i++)
		prov_seen_clear(&in->seen[i]);
	free(in->cidrs);
	free(in->moved);
	free(in->nets);
	free(in->obs);
	free(in->seen);
	plan_desired_clear(&in->desired);
	plan_desired_clear(&in->cold);
	env_rows_clear(&in->rows);
	*in = (struct env_inputs){0};
}

/* Whether bp fits on its host now (the admission `up` would make): a line, or none without
 * machines. */
static int plan_fit(const struct env_config *cfg, struct state *st, const char *env, const struct bp_blueprint *bp,
	char **fit, struct sbx_err *err)
{
	struct cap_amount want;
	env_capacity_demand(bp, &want);
	if (want.memory == 0 && want.cpus == 0 && want.blocks == 0)
		return 0;
	return env_admit_line(cfg, st, env, bp, fit, err);
}

/* Plan without side effects. */
int env_plan(const struct env_config *cfg, struct state *st, const struct env_plan_opts *o,
	struct env_plan_result *out, struct sbx_err *err)
{
	const char *env = o->env ? o->env : o->bp->name;
	struct state_env *e = NULL;
	struct prov *p = NULL;
	struct env_inputs in = {0};
	struct prov_cfg pc = env_site_of_bp(o->bp);
	char *rec_uri = NULL, *rec_pool = NULL, *rec_path = NULL;
	struct prov_route *routes = NULL;
	size_t nroutes = 0;
	int rc = -1;
	if ((o->refresh && env_secret_check(st, env, o->bp, err) < 0) || state_env_get(st, env, &e, err) < 0 ||
		(e && env_place_check(st, env, o->bp, err) < 0))
		goto out;
	if (e && o->bp->site.nhosts) { /* placed on one of site.hosts: that one */
		env_site_of_row(e, &rec_uri, &rec_pool, &rec_path);
		pc.uri = rec_uri;
	}
	pc.state_id = state_id(st);
	pc.env = env;
	pc.env_id = e ? e->id : NULL;
	pc.no_machines = o->bp->nnodes == 0 && o->bp->nnetworks == 0;
	struct env_secrets sec = {st, env};
	pc.secret = env_secret_cb;
	pc.secret_ctx = &sec;
	pc.bmc_timeout_ms = cfg ? (int)cfg->bmc_timeout * 1000 : 0;
	pc.netboot_dir = cfg ? cfg->netboot_dir : NULL;
	if (e && env_place_routes(st, env, o->bp, &routes, &nroutes, err) < 0)
		goto out;
	pc.routes = routes;
	pc.nroutes = nroutes;
	if (o->refresh && prov_open(&pc, &p, err) < 0) {
		sbx_err_hint(err, "plan asks libvirt what exists; without it, `sandbox plan --no-refresh` plans "
			"from the state alone");
		goto out;
	}
	if (env_inputs_load(st, o->bp, env, false, p, &in, err) < 0)
		goto out;
	*out = (struct env_plan_result){0};
	rc = plan_build(&in.desired, in.rows.recs, in.nplanned, in.obs, in.nobs, e ? e->protected : false,
		&out->plan, err);
	out->roles.applies = env_roles_any(o->bp);
	if (rc == 0 && o->refresh && e && env_roles_plan(cfg, st, o->bp, env, &out->roles, err) < 0)
		rc = -1;
	if (rc == 0 && o->refresh && env_cluster_plan(cfg, st, o->bp, env, e, &out->cluster, err) < 0)
		rc = -1;
	if (rc == 0 && o->refresh && cfg && plan_fit(cfg, st, env, o->bp, &out->fit, err) < 0)
		rc = -1;
	if (rc == 0 && !o->refresh && o->bp->cluster.present)
		out->cluster = (struct env_cluster_plan){.applies = true, .why = xstrdup("not checked (--no-refresh)")};
	if (rc < 0)
		env_plan_result_clear(out);
out:
	env_inputs_clear(&in);
	prov_close(p);
	env_routes_free(routes, nroutes);
	free(rec_uri);
	free(rec_pool);
	free(rec_path);
	state_env_free(e);
	return rc;
}

/* Free a plan result. */
void env_plan_result_clear(struct env_plan_result *r)
{
	plan_clear(&r->plan);
	role_changes_free(r->roles.changes, r->roles.n);
	env_cluster_plan_clear(&r->cluster);
	free(r->fit);
	r->fit = NULL;
	*r = (struct env_plan_result){0};
}
