/* env_up — create or converge an environment: state row, key, IPAM, plan, execute, ready, roles. */
#include "env_int.h"

#include <stdlib.h>
#include <string.h>

#include "exec.h"

#define UP_DEFAULT_PARALLEL 16
#define UP_QUEUE_TIMEOUT 3600 /* seconds --queue waits by default */

struct up {
	const struct env_config *cfg;
	struct state *st;
	struct prov *prov;
	const struct bp_blueprint *bp;
	struct bp_blueprint *bp_mut; /* the same: the capacity pool gives its nodes machines */
	const char *env;
	struct ev_sink *ev;
	char *pubkey, *privkey;
	int64_t ttl_at_finish; /* the TTL whose clock starts when up finishes (0: keep the expiry) */
	struct env_secrets sec; /* the providers' secret resolver (BMC passwords) */
	int64_t t0_ms;          /* when the run started (up.start), monotonic */
	struct env_claims claims; /* warm pool members this run claimed */
	const struct env_inputs *in; /* the plan's inputs while it executes (aliases, cold originals) */
	struct env_placement pl;  /* where admission spread the nodes (site.hosts) */
	bool routed;              /* the session sends some objects to other hosts than site.uri (no warm pool then) */
};

/* Journal a resource row. */
static int journal(struct up *u, const struct plan_step *s, const char *status, struct sbx_err *err)
{
	char *spec = res_encode(&s->res);
	struct state_res r = {(char *)u->env, (char *)plan_step_type(s), s->res.name, NULL, spec,
		(char *)status, 0};
	int rc = state_res_put(u->st, &r, err);
	free(spec);
	return rc;
}

/* Create or update one resource: journal pending, ensure, journal created. */
static int up_step_create(struct up *u, const struct plan_step *s, struct sbx_err *err)
{
	const char *type = plan_step_type(s);
	exec_crash_point(type, "before");
	if (journal(u, s, STATE_RES_PENDING, err) < 0)
		return -1;
	ev_emit(u->ev, u->env, "step.start", type, s->res.name, s->res.node, "%s", prov_doing(s->res.type));
	if (prov_ensure(u->prov, &s->res, s->action == PLAN_UPDATE && s->replace, s->recorded, err) < 0) {
		ev_emit(u->ev, u->env, "step.fail", type, s->res.name, s->res.node, "%s", sbx_err_first(err));
		struct sbx_err e2 = SBX_ERR_INIT;
		(void)journal(u, s, STATE_RES_FAILED, &e2);
		sbx_err_clear(&e2);
		return -1;
	}
	exec_crash_point(type, "after");
	if (journal(u, s, STATE_RES_CREATED, err) < 0)
		return -1;
	ev_emit(u->ev, u->env, "step.done", type, s->res.name, s->res.node, "%s ready", type);
	return 0;
}

/* The cold original of an aliased resource of node instance inst (NULL: not aliased). */
static const struct res *cold_of(const struct env_inputs *in, enum res_type type, const char *inst)
{
	for (size_t i = 0; in && inst && i < in->cold.n; i++)
		if (in->cold.res[i].type == type && sbx_streq(in->cold.res[i].node, inst))
			return &in->cold.res[i];
	return NULL;
}

/* The aliased desired resource of node instance inst (NULL: none). */
static const struct res *aliased_of(const struct env_inputs *in, enum res_type type, const char *inst)
{
	const struct res *cold = cold_of(in, type, inst);
	for (size_t i = 0; cold && i < in->desired.n; i++)
		if (in->desired.res[i].type == type && sbx_streq(in->desired.res[i].node, inst))
			return &in->desired.res[i];
	return NULL;
}

/* Forget an instance's taken-over objects (deleted, rows and aliases dropped), then create its
 * cold originals as any new node's. */
static int up_fallback(struct up *u, const char *inst, const char *why, struct sbx_err *err)
{
	static const enum res_type order[] = {RES_DOMAIN, RES_VOLUME, RES_SEED};
	ev_emit(u->ev, u->env, "pool.fallback", "domain", NULL, inst, "cold boot: the warm pool member could not "
		"be taken over: %s", why);
	sbx_err_clear(err);
	for (size_t i = 0; i < SBX_NELEM(order); i++) {
		const struct res *a = aliased_of(u->in, order[i], inst), *c = cold_of(u->in, order[i], inst);
		if (a == NULL)
			continue;
		if (prov_delete(u->prov, a, err) < 0 || state_res_delete(u->st, u->env, res_type_name(a->type), a->name, err) < 0 ||
			state_res_delete(u->st, u->env, ENV_ROW_HOSTKEY, a->name, err) < 0 ||
			state_res_delete(u->st, u->env, ENV_ROW_ALIAS, c->name, err) < 0)
			return -1;
	}
	for (size_t i = SBX_NELEM(order); i-- > 0;) {
		const struct res *c = cold_of(u->in, order[i], inst);
		struct plan_step cs = {.action = PLAN_CREATE};
		if (c == NULL)
			continue;
		cs.res = *c;
		if (up_step_create(u, &cs, err) < 0)
			return -1;
	}
	return 0;
}

/* Take over the member behind an aliased domain: its identity, its NICs, its rows created. */
static int up_adopt_domain(struct up *u, const struct plan_step *s, struct sbx_err *err)
{
	const struct warm_member *m = env_claims_find(&u->claims, s->res.name);
	int64_t t0 = sbx_mono_ms();
	if (m == NULL) /* claimed by an earlier, interrupted up: its state is unknown */
		return up_fallback(u, s->res.node, "an earlier up was interrupted while taking it over", err);
	ev_emit(u->ev, u->env, "step.start", "domain", s->res.name, s->res.node, "taking over warm pool member %s",
		m->id);
	if (journal(u, s, STATE_RES_PENDING, err) < 0)
		return -1;
	int64_t t1 = t0;
	if (env_adopt_identity(u->st, m, s->res.node, u->pubkey, &s->res, err) < 0 ||
		(t1 = sbx_mono_ms(), prov_adopt(u->prov, &s->res, true, NULL, err)) < 0) {
		char *why = xstrdup(sbx_err_first(err));
		int rc = up_fallback(u, s->res.node, why, err);
		free(why);
		return rc;
	}
	if (journal(u, s, STATE_RES_CREATED, err) < 0)
		return -1;
	ev_emit(u->ev, u->env, "pool.adopt", "domain", s->res.name, s->res.node, "warm pool member %s is node %s "
		"(identity %.1fs, NIC moved %.1fs)", m->id, s->res.node, (double)(t1 - t0) / 1000.0,
		(double)(sbx_mono_ms() - t1) / 1000.0);
	ev_emit(u->ev, u->env, "step.done", "domain", s->res.name, s->res.node, "domain ready");
	return 0;
}

/* A resource renamed after a warm pool member's object: the volume and seed exist (recorded as
 * created), the domain is taken over. */
static int up_step_adopt(struct up *u, const struct plan_step *s, struct sbx_err *err)
{
	if (s->res.type == RES_DOMAIN)
		return up_adopt_domain(u, s, err);
	if (journal(u, s, STATE_RES_CREATED, err) < 0)
		return -1;
	ev_emit(u->ev, u->env, "step.done", plan_step_type(s), s->res.name, s->res.node, "%s taken over from the "
		"warm pool", plan_step_type(s));
	return 0;
}

/* The executor's step function. */
static int up_step(void *ctx, const struct plan_step *s, struct sbx_err *err)
{
	struct up *u = ctx;
	if (s->action == PLAN_DELETE)
		return env_step_delete(u->st, u->prov, u->env, s, u->ev, err);
	if (s->action == PLAN_CREATE && aliased_of(u->in, s->res.type, s->res.node))
		return up_step_adopt(u, s, err);
	return up_step_create(u, s, err);
}

/* An expiry, never past created + max_ttl (max_ttl 0: unbounded). */
static int64_t expiry_capped(int64_t created, int64_t max_ttl, int64_t want)
{
	return max_ttl && want > created + max_ttl ? created + max_ttl : want;
}

/* The expiry of a new or converged environment while up runs: the TTL starts when up finishes
 * (see up_finish), so meanwhile it is now + ttl + grace (the time up may take). */
static int compute_expiry(const struct bp_blueprint *bp, const struct env_up_opts *o,
	const struct state_env *old, int64_t grace, int64_t *expires, int64_t *ttl_at_finish, struct sbx_err *err)
{
	int64_t now = sbx_now(), ttl = o->ttl ? o->ttl : bp->lifetime.ttl;
	char a[32], b[32];
	if (bp->lifetime.permanent) {
		if (o->ttl)
			return sbx_err_set(err, SBX_EXIT_USAGE, "--ttl: blueprint %s is permanent (lifetime.permanent: true)",
				bp->file);
		*expires = 0;
		return 0;
	}
	if (bp->lifetime.max_ttl && ttl > bp->lifetime.max_ttl) {
		sbx_err_set(err, SBX_EXIT_USAGE, "--ttl %s is longer than the blueprint's max_ttl %s",
			sbx_fmt_duration(ttl, a, sizeof(a)), sbx_fmt_duration(bp->lifetime.max_ttl, b, sizeof(b)));
		sbx_err_hint(err, "ask for at most %s, or raise lifetime.max_ttl in the blueprint", b);
		return -1;
	}
	if (old && old->expires && !o->ttl) {
		*expires = old->expires; /* a converging re-run keeps the expiry */
		return 0;
	}
	*expires = expiry_capped(old ? old->created : now, bp->lifetime.max_ttl, now + ttl + grace);
	*ttl_at_finish = ttl;
	return 0;
}

/* Refuse to converge an environment that is being torn down. */
static int refuse_teardown(const struct up *u, const struct state_env *old, struct sbx_err *err)
{
	if (old == NULL || !(sbx_streq(old->status, STATE_ENV_DESTROYING) || sbx_streq(old->status, STATE_ENV_REAPING)))
		return 0;
	sbx_err_set(err, SBX_EXIT_REFUSED, "environment %s is being torn down (%s)", u->env, old->status);
	sbx_err_hint(err, "run `sandbox down %s` to finish the teardown, then `up` again", u->env);
	return -1;
}

/* Insert or update the environment row for this run. */
static int env_record(struct up *u, const struct env_up_opts *o, struct state_env **out, struct sbx_err *err)
{
	struct state_env *old = NULL;
	int64_t expires = 0;
	if (state_env_get(u->st, u->env, &old, err) < 0)
		return -1;
	int rc = refuse_teardown(u, old, err);
	if (rc == 0)
		rc = compute_expiry(u->bp, o, old, u->cfg->ready_timeout + 2 * u->cfg->role_timeout + 600, &expires,
			&u->ttl_at_finish, err);
	if (rc < 0)
		goto out;
	char *path = realpath(o->bp_path, NULL), *json = bp_to_json(u->bp);
	struct state_env e = {.name = (char *)u->env, .id = old ? old->id : NULL,
		.blueprint = path ? path : (char *)o->bp_path, .bp_hash = (char *)u->bp->hash, .bp_json = json,
		.status = STATE_ENV_CREATING, .owner = old ? old->owner : u->cfg->owner, .expires = expires,
		.max_ttl = u->bp->lifetime.max_ttl, .protected = u->bp->lifetime.protect || (old && old->protected),
		.created = old ? old->created : 0};
	rc = old ? state_env_update(u->st, &e, err) : state_env_create(u->st, &e, err);
	free(path);
	free(json);
	if (rc == 0)
		rc = state_env_get(u->st, u->env, out, err);
out:
	state_env_free(old);
	return rc;
}

/* Admit env and record it with its claim, in one transaction: 0 admitted (*out), 1 refused. */
static int up_admit_record(struct up *u, const struct env_up_opts *o, const struct cap_host *h,
	struct state_env **out, struct sbx_err *err)
{
	struct state_env *env = NULL;
	if (state_begin(u->st, err) < 0)
		return -1;
	int rc = env_admit_check(u->cfg, u->st, u->env, u->bp, h, &u->pl, err);
	if (rc == 0 && env_record(u, o, &env, err) < 0)
		rc = -1;
	if (rc == 0)
		rc = env_admit_claim(u->st, u->env, u->bp, &u->pl, err);
	if (rc != 0) {
		state_rollback(u->st);
		state_env_free(env);
		return rc;
	}
	if (state_commit(u->st, err) < 0) {
		state_env_free(env);
		return -1;
	}
	*out = env;
	return 0;
}

/* One admission: the machines of the pool, their leases, the host's capacity and the caps. 0
 * admitted and recorded (*out), 1 refused (err says what is missing; nothing recorded), -1 failed. */
static int up_admit(struct up *u, const struct env_up_opts *o, struct state_env **out, struct sbx_err *err)
{
	struct cap_host h;
	int refused = 0;
	if (env_pool_assign(u->st, u->env, u->bp_mut, err) < 0 || env_lease_check(u->st, u->env, u->bp, err) < 0)
		refused = 1;
	if (refused && err->code != SBX_EXIT_REFUSED)
		return -1;
	env_placement_clear(&u->pl);
	int placed = env_admit_place(u->cfg, u->st, u->env, u->bp_mut, &h, &u->pl, err);
	if (placed < 0)
		return -1;
	if (placed == 1)
		return 1;
	if (refused) /* still say what else is missing, recording nothing */
		return env_admit_check(u->cfg, u->st, u->env, u->bp, &h, &u->pl, err) < 0 ? -1 : 1;
	return up_admit_record(u, o, &h, out, err);
}

/* Every message of err on one line ("a; b"); caller frees. */
static char *err_line(const struct sbx_err *err)
{
	struct sbx_buf b = {0};
	for (size_t i = 0; i < err->n; i++)
		sbx_buf_printf(&b, "%s%s", i ? "; " : "", err->msgs[i].text);
	return b.data ? b.data : xstrdup("");
}

/* Wait once in the queue: print what is missing when it changed, then sleep with backoff. 0 to
 * try again, -1 when the deadline passed or the user interrupted (err says so). */
static int queue_wait(struct up *u, const struct env_up_opts *o, struct sbx_backoff *b, char **last,
	struct sbx_err *err)
{
	char *why = err_line(err), d[32];
	if (*last == NULL || strcmp(*last, why) != 0) {
		ev_emit(u->ev, u->env, "queue.wait", NULL, NULL, NULL, "queued: %s", why);
		free(*last);
		*last = why;
	} else
		free(why);
	int w = exec_interrupted() ? 1 : sbx_backoff_wait_intr(b);
	if (w == 0 && !exec_interrupted()) {
		sbx_err_clear(err);
		return 0;
	}
	if (w < 0) {
		sbx_err_set(err, SBX_EXIT_REFUSED, "--queue-timeout %s passed while queued",
			sbx_fmt_duration(o->queue_timeout ? o->queue_timeout : UP_QUEUE_TIMEOUT, d, sizeof(d)));
		return -1;
	}
	sbx_err_clear(err); /* an interrupt is a failure, not a refusal */
	sbx_err_set(err, SBX_EXIT_FAILED, "interrupted while queued (waiting for: %s); nothing was created", *last);
	return -1;
}

/* What to do about a refusal: the pool's or a lease's own hint, or making room; or queueing. */
static void admit_hint(struct sbx_err *err)
{
	if (err->hint == NULL) {
		sbx_err_hint(err, "nothing was created; make room (`sandbox down ENV` of another environment, `sandbox caps "
			"set`, a smaller blueprint, SANDBOX_CPU_OVERCOMMIT / SANDBOX_MEMORY_RESERVE) or wait for it with "
			"`sandbox up --queue`");
		return;
	}
	char *h = xasprintf("%s; or wait for it with `sandbox up --queue`", err->hint);
	sbx_err_hint(err, "%s", h);
	free(h);
}

/* Admit the environment; with --queue, wait until it fits (polling against the deadline). */
static int up_admit_queued(struct up *u, const struct env_up_opts *o, struct state_env **out, struct sbx_err *err)
{
	struct sbx_backoff b;
	char *last = NULL;
	int rc;
	bool waited = false;
	sbx_backoff_init(&b, (o->queue_timeout > 0 ? o->queue_timeout : UP_QUEUE_TIMEOUT) * 1000, 500, 10000);
	while ((rc = up_admit(u, o, out, err)) == 1 && o->queue && queue_wait(u, o, &b, &last, err) == 0)
		waited = true;
	free(last);
	if (rc == 0 && waited)
		ev_emit(u->ev, u->env, "queue.admit", NULL, NULL, NULL, "admitted: %s fits now", u->env);
	if (rc == 1 && !exec_interrupted())
		admit_hint(err);
	return rc == 0 ? 0 : -1;
}

/* Make sure the environment has an SSH key pair and its private key file. */
static int env_key(struct up *u, struct sbx_err *err)
{
	if (state_secret_get(u->st, u->env, "ssh-key", &u->privkey, err) < 0 ||
		state_secret_get(u->st, u->env, "ssh-pub", &u->pubkey, err) < 0)
		return -1;
	if (u->privkey == NULL || u->pubkey == NULL) {
		free(u->privkey);
		free(u->pubkey);
		char *comment = xasprintf("sandbox-%s", u->env);
		int rc = ssh_keygen(comment, &u->privkey, &u->pubkey, err);
		free(comment);
		if (rc < 0 || state_secret_put(u->st, u->env, "ssh-key", u->privkey, err) < 0 ||
			state_secret_put(u->st, u->env, "ssh-pub", u->pubkey, err) < 0)
			return -1;
	}
	char *dir = xasprintf("%s/keys", state_private_dir(u->st)), *path = env_key_path(u->st, u->env);
	int rc = sbx_mkdir_p(dir, 0700, err);
	if (rc == 0)
		rc = sbx_write_file(path, u->privkey, strlen(u->privkey), 0600, err);
	free(dir);
	free(path);
	return rc;
}

/* Progress of an image download/build. */
static void image_progress(void *ctx, const char *what, uint64_t done, uint64_t total)
{
	struct up *u = ctx;
	if (total)
		ev_emit(u->ev, u->env, "image.progress", NULL, NULL, NULL, "image: %s %.0f%%", what,
			100.0 * (double)done / (double)total);
	else
		ev_emit(u->ev, u->env, "image.progress", NULL, NULL, NULL, "image: %s", what);
}

/* A provider's notice as an event of the environment. */
static void up_notice(void *ctx, const char *kind, const char *name, const char *node, const char *msg)
{
	struct up *u = ctx;
	ev_emit(u->ev, u->env, kind, "machine", name, node, "%s", msg);
}

/* Open the provider session of the environment. */
static int up_open_site(struct up *u, const struct state_env *env, struct sbx_err *err)
{
	struct prov_cfg pc = env_site_of_bp(u->bp);
	char *dir = sbx_dirname(u->bp->file);
	pc.state_id = state_id(u->st);
	pc.env = u->env;
	pc.env_id = env->id;
	pc.protect = env->protected;
	pc.pubkey = u->pubkey;
	pc.bp_dir = dir;
	pc.image_cache = u->cfg->image_cache;
	pc.recipes_dir = u->cfg->recipes_dir;
	pc.progress = image_progress;
	pc.progress_ctx = u;
	u->sec = (struct env_secrets){u->st, u->env};
	pc.secret = env_secret_cb;
	pc.secret_ctx = &u->sec;
	pc.bmc_timeout_ms = (int)u->cfg->bmc_timeout * 1000;
	pc.netboot_dir = u->cfg->netboot_dir;
	pc.notice = up_notice;
	pc.notice_ctx = u;
	struct prov_route *routes = NULL;
	size_t nroutes = 0;
	int rc = env_place_routes(u->st, u->env, u->bp, &routes, &nroutes, err);
	pc.routes = routes;
	pc.nroutes = nroutes;
	for (size_t i = 0; i < nroutes && !u->routed; i++) /* some object on another host than site.uri */
		u->routed = !sbx_streq(routes[i].uri, u->bp->site.uri);
	if (rc == 0)
		rc = prov_open(&pc, &u->prov, err);
	env_routes_free(routes, nroutes);
	free(dir);
	return rc;
}

/* Whether the plan creates or changes disks or machines (which need the pool and base image). */
static bool plan_creates_machines(const struct plan *p)
{
	for (size_t i = 0; i < p->n; i++) {
		const struct plan_step *s = &p->steps[i];
		if ((s->action == PLAN_CREATE || s->action == PLAN_UPDATE) &&
			(s->res.type == RES_VOLUME || s->res.type == RES_DOMAIN))
			return true;
	}
	return false;
}

/* Refuse a plan whose names are taken by objects this environment does not own. */
static int refuse_conflicts(const struct plan *p, const char *env, struct sbx_err *err)
{
	for (size_t i = 0; i < p->n; i++)
		if (p->steps[i].action == PLAN_CONFLICT)
			sbx_err_set(err, SBX_EXIT_REFUSED, "%s %s %s", plan_step_type(&p->steps[i]), p->steps[i].res.name,
				p->steps[i].reason);
	if (!p->nconflict)
		return 0;
	sbx_err_hint(err, "nothing was changed; another environment (or another state file) owns these names: "
		"use another environment name than %s, or remove the other one with the state that owns it", env);
	return -1;
}

/* Plan against the state and the provider, then execute. */
static int up_execute(struct up *u, const struct env_up_opts *o, const struct state_env *env,
	struct sbx_err *err)
{
	struct env_inputs in = {0};
	struct plan p = {0};
	int rc = -1;
	if (env_inputs_load(u->st, u->bp, u->env, true, u->prov, &in, err) < 0)
		goto out;
	if (!prov_is_test(u->prov) && !u->routed && env_warm_claim(u->st, u->prov, u->bp, u->env, &in, u->ev, &u->claims, err) < 0)
		goto out;
	if (u->claims.n) { /* the claimed members' aliases rename the desired resources */
		env_inputs_clear(&in);
		if (env_inputs_load(u->st, u->bp, u->env, true, u->prov, &in, err) < 0)
			goto out;
	}
	if (plan_build(&in.desired, in.rows.recs, in.nplanned, in.obs, in.nobs, env->protected, &p, err) < 0 ||
		refuse_conflicts(&p, u->env, err) < 0)
		goto out;
	char *sum = plan_summary(&p);
	ev_emit(u->ev, u->env, "plan", NULL, NULL, NULL, "plan: %s", sum);
	free(sum);
	if (env_ipam_move(u->st, u->env, &in, u->ev, err) < 0)
		goto out;
	if (plan_creates_machines(&p) && prov_prepare(u->prov, err) < 0)
		goto out;
	u->in = &in;
	rc = exec_run(&p, o->parallel > 0 ? o->parallel : UP_DEFAULT_PARALLEL, up_step, u, err);
	u->in = NULL;
out:
	env_inputs_clear(&in);
	plan_clear(&p);
	return rc;
}

/* Whether up has machines to converge: the blueprint declares some, or an earlier up made some
 * (a blueprint of only an attached cluster never opens libvirt). */
static int machines_wanted(struct up *u, bool *want, struct sbx_err *err)
{
	struct env_rows rows = {0};
	*want = u->bp->nnodes > 0 || u->bp->nnetworks > 0;
	if (*want)
		return 0;
	if (env_rows_load(u->st, u->env, &rows, err) < 0)
		return -1;
	for (size_t i = 0; i < rows.nrec && !*want; i++)
		*want = rows.recs[i].res.type != RES_K8S;
	env_rows_clear(&rows);
	return 0;
}

/* Whether up waits for the nodes: on a real site, and on a test site (libvirt's test driver) whose
 * nodes are all bare-metal machines that boot from a network boot service (real machines: the
 * test driver's VMs never answer SSH, so a site with both waits for neither). */
static int up_waits(struct up *u, bool *wait, struct sbx_err *err)
{
	struct env_node *nodes = NULL;
	size_t n = 0, machines = 0;
	*wait = !prov_is_test(u->prov);
	if (*wait)
		return 0;
	if (env_nodes(u->st, u->env, &nodes, &n, err) < 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		machines += nodes[i].machine ? 1 : 0;
	*wait = n > 0 && machines == n;
	env_nodes_free(nodes, n);
	return 0;
}

/* The roles alongside the readiness run (see env_ready_start); readiness's errors come first. */
static int up_ready_roles(struct up *u, const struct env_up_opts *o, struct env_ready_run *ready,
	struct ssh_pool *pool, struct sbx_err *err)
{
	struct sbx_err re = SBX_ERR_INIT;
	int rc = env_roles(u->cfg, u->st, u->bp, u->env, u->privkey, o->refresh, u->ev, pool, &re);
	if (env_ready_finish(ready, err) < 0)
		rc = -1;
	for (size_t i = 0; rc < 0 && i < re.n; i++)
		sbx_err_set(err, re.code ? re.code : SBX_EXIT_FAILED, "%s", re.msgs[i].text);
	if (rc < 0 && re.hint && err->hint == NULL)
		sbx_err_hint(err, "%s", re.hint);
	sbx_err_clear(&re);
	return rc;
}

/* Converge the machines, then wait for them and apply the roles. */
static int up_machines(struct up *u, const struct env_up_opts *o, const struct state_env *env,
	struct sbx_err *err)
{
	bool wait = false;
	if (env_key(u, err) < 0 || up_open_site(u, env, err) < 0 || up_execute(u, o, env, err) < 0)
		return -1;
	if (o->no_wait)
		return 0;
	if (up_waits(u, &wait, err) < 0)
		return -1;
	if (!wait)
		return 0;
	struct ssh_pool *pool = ssh_pool_new();
	struct env_ready_run *ready = NULL;
	int rc = env_ready_start(u->cfg, u->st, u->prov, u->env, u->privkey, !o->refresh, u->ev, pool,
		&ready, err);
	if (rc == 0 && env_ready_alongside(ready)) /* a node's quick check starts once that node is ready */
		rc = up_ready_roles(u, o, ready, pool, err);
	else if (rc == 0) {
		rc = env_ready_finish(ready, err);
		if (rc == 0)
			rc = env_roles(u->cfg, u->st, u->bp, u->env, u->privkey, o->refresh, u->ev, pool, err);
	}
	if (rc == 0)
		rc = env_vip_route(u->st, u->bp, u->env, prov_uri(u->prov), u->ev, err);
	ssh_pool_free(pool);
	return rc;
}

/* Converge the machines and their roles, then the cluster on them (or the attached one). */
static int up_converge(struct up *u, const struct env_up_opts *o, const struct state_env *env,
	struct sbx_err *err)
{
	bool machines = false;
	if (machines_wanted(u, &machines, err) < 0 || (machines && up_machines(u, o, env, err) < 0) ||
		(machines && env_lease_trim(u->st, u->env, u->bp, u->ev, err) < 0))
		return -1;
	if (o->no_wait) {
		ev_emit(u->ev, u->env, "up.nowait", NULL, NULL, NULL, "--no-wait: not waiting for SSH; roles and "
			"cluster not applied");
		return 0;
	}
	bool attached = u->bp->cluster.kubeconfig != NULL;
	if (machines && prov_is_test(u->prov) && !attached)
		return 0;
	return env_cluster(u->cfg, u->st, u->bp, env, u->ev, err);
}

/* Start the TTL's clock now that up has finished (ready or failed). */
static void up_start_clock(struct up *u, struct state_env *env)
{
	struct sbx_err e2 = SBX_ERR_INIT;
	if (u->ttl_at_finish == 0)
		return;
	int64_t expires = expiry_capped(env->created, env->max_ttl, sbx_now() + u->ttl_at_finish);
	if (state_env_set_expires(u->st, u->env, expires, &e2) == 0)
		env->expires = expires;
	sbx_err_clear(&e2);
}

/* Mark the end of the run in the state and the event stream. */
static void up_finish(struct up *u, struct state_env *env, int rc, struct sbx_err *err)
{
	struct sbx_err e2 = SBX_ERR_INIT;
	up_start_clock(u, env);
	(void)state_env_set_status(u->st, u->env, rc == 0 ? STATE_ENV_READY : STATE_ENV_FAILED, &e2);
	env_event_duration(u->st, u->env, rc == 0 ? "up.done" : "up.fail", u->t0_ms);
	sbx_err_clear(&e2);
	if (rc == 0) {
		char left[32];
		ev_emit(u->ev, u->env, "up.done", NULL, NULL, NULL, "environment %s is ready%s%s", u->env,
			env->expires ? "; expires in " : " (permanent)",
			env->expires ? sbx_fmt_duration(env->expires - sbx_now(), left, sizeof(left)) : "");
		return;
	}
	ev_emit(u->ev, u->env, "up.fail", NULL, NULL, NULL, "environment %s failed: %s", u->env,
		sbx_err_first(err));
	if (err->hint == NULL)
		sbx_err_hint(err, "run the same `sandbox up` again to resume, or `sandbox down %s` to clean up",
			u->env);
}

/* One "place" event per host a spread environment uses. */
static void up_emit_placement(const struct up *u)
{
	for (size_t i = 0; u->pl.spread && i < u->pl.nhosts; i++) {
		char *t = env_placement_text(u->bp, &u->pl, i);
		if (t)
			ev_emit(u->ev, u->env, "place", NULL, NULL, NULL, "place: %s", t);
		free(t);
	}
}

/* Refuse an environment name that could not be a name. */
static int check_name(const char *env, struct sbx_err *err)
{
	if (strcmp(env, SBX_POOL_ENV) == 0) {
		sbx_err_set(err, SBX_EXIT_USAGE, "the environment name \"%s\" is reserved for the warm pool's objects", env);
		sbx_err_hint(err, "give the environment another name");
		return -1;
	}
	if (sbx_valid_name(env))
		return 0;
	sbx_err_set(err, SBX_EXIT_USAGE, "\"%s\" is not a valid environment name", env);
	sbx_err_hint(err, "use lowercase letters, digits and '-', starting with a letter, at most 40 characters");
	return -1;
}

/* Create or converge an environment. */
int env_up(const struct env_config *cfg, struct state *st, const struct env_up_opts *o, struct sbx_err *err)
{
	struct bp_blueprint *bp = NULL;
	struct state_lock *lk = NULL;
	struct state_env *env = NULL;
	struct up u = {.cfg = cfg, .st = st, .ev = o->ev};
	int rc = -1;
	struct bp_load_opts lo = env_bp_opts(cfg, o->vars, o->nvars, o->env);
	if (bp_load(o->bp_path, &lo, &bp, err) < 0)
		return -1;
	u.bp = bp;
	u.env = o->env ? o->env : bp->name;
	u.bp_mut = bp;
	if (check_name(u.env, err) < 0 || env_secret_check(st, u.env, bp, err) < 0 ||
		env_artifacts_check(cfg, bp, u.env, u.ev, err) < 0 ||
		state_env_lock(st, u.env, o->wait_lock, &lk, err) < 0 || env_place_check(st, u.env, bp, err) < 0 ||
		up_admit_queued(&u, o, &env, err) < 0)
		goto out;
	ev_emit(u.ev, u.env, "up.start", NULL, NULL, NULL, "bringing up %s from %s", u.env, o->bp_path);
	if (bp->site.nhosts)
		ev_emit(u.ev, u.env, "place", NULL, NULL, NULL, "host: %s (of site.hosts)", bp->site.uri);
	up_emit_placement(&u);
	(void)state_event_add(st, u.env, "up.start", NULL, NULL);
	u.t0_ms = sbx_mono_ms();
	rc = env_lease_take(st, u.env, bp, err) < 0 ? -1 : up_converge(&u, o, env, err);
	if (rc == 0 && env_place_prune(st, u.env, bp, err) < 0)
		rc = -1;
	up_finish(&u, env, rc, err);
out:
	prov_close(u.prov);
	env_claims_clear(&u.claims);
	env_placement_clear(&u.pl);
	free(u.privkey);
	free(u.pubkey);
	state_env_free(env);
	state_env_unlock(lk);
	bp_free(bp);
	return rc;
}
