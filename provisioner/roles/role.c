/* role — the role registry, parallel apply in phases, its dry run, and the roles' outputs. */
#include "role_int.h"

#include <ctype.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* The dry run's bound on reaching a host: plan must still print the rest when one is down, and a
 * loaded TCG guest can take tens of seconds to open a channel. */
#define PLAN_CONNECT_MS 45000
#define PLAN_OP_MS 60000
/* The bound on writing a host's manifest after one of its units failed. */
#define RECORD_AFTER_FAILURE_MS 15000

/* Registry order is the order on a host carrying several roles. */
const struct role_def role_defs[] = {
	{"router", NULL, role_router_render, NULL, role_router_ahead, false},
	{"postgres", NULL, role_postgres_render, role_postgres_outputs, role_postgres_ahead, true},
	{"lb", "router", role_lb_render, role_lb_outputs, role_lb_ahead, false}, /* its health check needs BGP Established */
	{"mocks", NULL, role_mocks_render, role_mocks_outputs, role_mocks_ahead, false},
	{"k3s-server", NULL, role_k3s_server_render, NULL, NULL, false},
	{"k3s-agent", "k3s-server", role_k3s_agent_render, NULL, NULL, false}, /* joins a server: checked once they are up */
	/* accepted by the blueprint, not applied by this build */
	{"plain", NULL, NULL, NULL, NULL, false}, /* a plain machine: nothing to apply */
	{NULL, NULL, NULL, NULL, NULL, false},
};
#define ROLE_NDEFS (SBX_NELEM(role_defs) - 1)

/* Shared state of one role_apply_all: how many hosts still work on each role. */
struct apply {
	struct role_env env;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int pending[ROLE_NDEFS];
	bool failed[ROLE_NDEFS];
	int64_t t0;
};

/* One host's thread. Unit 0 is the host's base, unit 1 + d registry role d. */
struct worker {
	struct apply *a;
	struct role_node node;
	struct sbx_err err;
	struct role_unit units[ROLE_NDEFS + 1]; /* rendered up front (apply) */
	bool rendered[ROLE_NDEFS + 1];
	bool same[ROLE_NDEFS + 1];    /* the quick check found the unit unchanged: skipped */
	bool ok[ROLE_NDEFS + 1];      /* applied and healthy, or unchanged */
	int render_failed;            /* the first role whose render failed (its error in render_err), or -1 */
	struct sbx_err render_err;
	bool checked;                 /* the quick check ran */
	int64_t check_ms;             /* when it answered */
	int64_t done_ms[ROLE_NDEFS]; /* when each role became healthy here; -1: not applied */
	struct role_change *changes; /* the dry run's findings on this host */
	size_t nchanges;
	pthread_t th;
	bool failed;
};

/* The registry index of a role name, or -1. */
static int def_index(const char *name)
{
	for (size_t d = 0; name && d < ROLE_NDEFS; d++)
		if (sbx_streq(role_defs[d].name, name))
			return (int)d;
	return -1;
}

/* Look up a role in the registry. */
const struct role_def *role_find(const char *name)
{
	int d = def_index(name);
	return d < 0 ? NULL : &role_defs[d];
}

/* True when this build applies the role. */
bool role_known(const char *name)
{
	const struct role_def *def = role_find(name);
	return def && def->render;
}

/* True when the host's node carries registry role d and this build applies it. */
static bool host_has(const struct role_env *env, const struct role_host *h, size_t d)
{
	return role_defs[d].render && bp_node_has_role(role_node_of(env, h), role_defs[d].name);
}

/* Wait until the role's prerequisite is healthy everywhere; false when it failed somewhere.
 * (A host carrying both a role and its prerequisite applies them in registry order, so the
 * prerequisite's count never waits on the waiting host itself.) */
static bool dep_wait(struct apply *a, size_t d)
{
	int dep = def_index(role_defs[d].after);
	bool ok = true;
	if (dep < 0)
		return true;
	pthread_mutex_lock(&a->mu);
	while (a->pending[dep] > 0 && !a->failed[dep])
		pthread_cond_wait(&a->cv, &a->mu);
	ok = !a->failed[dep];
	pthread_mutex_unlock(&a->mu);
	return ok;
}

/* One host is done with a role (ok or not); wake the waiters. */
static void role_finish(struct apply *a, size_t d, bool ok)
{
	pthread_mutex_lock(&a->mu);
	a->pending[d]--;
	a->failed[d] = a->failed[d] || !ok;
	pthread_cond_broadcast(&a->cv);
	pthread_mutex_unlock(&a->mu);
}

/* The gate of a role with a prerequisite: what the worker waits on before its health check. */
struct gate {
	struct apply *a;
	size_t d;
};

/* Wait for the prerequisite (called by the engine just before the health check). */
static bool gate_wait(void *arg)
{
	struct gate *g = arg;
	return dep_wait(g->a, g->d);
}

/* Copy a worker's error messages. */
static void err_take(struct sbx_err *dst, const struct sbx_err *src)
{
	for (size_t i = 0; i < src->n; i++)
		sbx_err_set(dst, src->code ? src->code : SBX_EXIT_FAILED, "%s", src->msgs[i].text);
	if (src->hint)
		sbx_err_hint(dst, "%s", src->hint);
}

/* Report a worker's progress, if anyone listens. */
static void worker_say(const struct worker *w, const char *role, const char *step)
{
	const struct role_ctx *ctx = w->a->env.ctx;
	if (ctx->progress)
		ctx->progress(ctx->progress_ctx, w->node.h->name, role, step);
}

/* Apply one role on the worker's host, unless the quick check found it unchanged; everything up
 * to the health check runs at once, the health check only once the role's prerequisite is
 * healthy everywhere. */
static int worker_role(struct worker *w, size_t d)
{
	struct gate g = {w->a, d};
	if (w->render_failed == (int)d) {
		err_take(&w->err, &w->render_err);
		return -1;
	}
	if (w->same[1 + d] && !dep_wait(w->a, d)) /* unchanged, but its prerequisite failed: as applied */
		return sbx_err_set(&w->err, SBX_EXIT_FAILED, "node %s (%s), role %s: not checked because role %s "
			"failed", w->node.h->node, w->node.h->name, role_defs[d].name, role_defs[d].after);
	if (w->same[1 + d]) {
		worker_say(w, role_defs[d].name, "unchanged");
		w->ok[1 + d] = true;
		w->done_ms[d] = sbx_mono_ms() - w->a->t0;
		return 0;
	}
	char *msg = role_defs[d].after ? xasprintf("not checked because role %s failed", role_defs[d].after)
		: NULL;
	w->node.gate = role_defs[d].after ? gate_wait : NULL;
	w->node.gate_arg = &g;
	w->node.gate_msg = msg;
	int rc = role_node_apply(&w->node, &w->units[1 + d], &w->err);
	w->node.gate = NULL;
	free(msg);
	w->ok[1 + d] = rc == 0;
	if (rc == 0)
		w->done_ms[d] = sbx_mono_ms() - w->a->t0;
	return rc;
}

/* Render the host's base and its roles (up to the first that fails to render). */
static void worker_render(struct worker *w)
{
	role_base_render(&w->a->env, w->node.h, &w->units[0]);
	w->rendered[0] = true;
	w->render_failed = -1;
	for (size_t d = 0; d < ROLE_NDEFS && w->render_failed < 0; d++) {
		if (!host_has(&w->a->env, w->node.h, d))
			continue;
		if (role_defs[d].render(&w->a->env, w->node.h, &w->units[1 + d], &w->render_err) < 0)
			w->render_failed = (int)d;
		else
			w->rendered[1 + d] = true;
	}
}

/* The worker's rendered units as a list (u) with their indexes (idx); returns how many. */
static size_t worker_units(const struct worker *w, const struct role_unit **u, size_t *idx)
{
	size_t n = 0;
	for (size_t k = 0; k < ROLE_NDEFS + 1; k++)
		if (w->rendered[k]) {
			idx[n] = k;
			u[n++] = &w->units[k];
		}
	return n;
}

/* The quick check of every rendered unit in one command; marks the unchanged ones. */
static int worker_check(struct worker *w)
{
	const struct role_unit *u[ROLE_NDEFS + 1];
	size_t idx[ROLE_NDEFS + 1];
	bool same[ROLE_NDEFS + 1] = {0};
	size_t n = worker_units(w, u, idx);
	if (role_node_check(&w->node, u, n, same, &w->err) < 0)
		return -1;
	for (size_t k = 0; k < n; k++)
		w->same[idx[k]] = same[k];
	w->checked = true;
	w->check_ms = sbx_mono_ms() - w->a->t0;
	return 0;
}

/* Connect, quick-check (unless refresh), and install the node scripts unless unchanged. */
static int worker_start(struct worker *w)
{
	bool refresh = w->a->env.ctx->refresh;
	w->node.unproven = !refresh;
	if (role_node_connect(&w->node, &w->err) < 0 || (!refresh && worker_check(w) < 0))
		return -1;
	if (w->same[0])
		return w->ok[0] = true, 0;
	int rc = role_node_apply(&w->node, &w->units[0], &w->err);
	w->ok[0] = rc == 0;
	return rc;
}

/* After the roles: write the host's manifest when something was applied (a host found unchanged
 * keeps its manifest and costs no second command); a unit that failed is left out of it. */
static void worker_record(struct worker *w)
{
	const struct role_unit *u[ROLE_NDEFS + 1];
	size_t idx[ROLE_NDEFS + 1];
	bool ok[ROLE_NDEFS + 1] = {0}, act = false;
	struct sbx_err e = SBX_ERR_INIT;
	size_t n = worker_units(w, u, idx);
	for (size_t k = 0; k < n; k++) {
		ok[k] = w->ok[idx[k]];
		act = act || !w->same[idx[k]];
	}
	if (w->node.c == NULL || !act)
		return;
	if (w->failed) /* best effort (the node may be what failed): the next up re-applies anyway */
		ssh_set_timeout(w->node.c, RECORD_AFTER_FAILURE_MS);
	if (role_node_record(&w->node, u, ok, n, &e) < 0 && !w->failed) {
		err_take(&w->err, &e);
		w->failed = true;
	}
	sbx_err_clear(&e);
}

/* A host's thread: render, start, then its roles in registry order, each after its prerequisite;
 * then the manifest. */
static void *worker_main(void *arg)
{
	struct worker *w = arg;
	worker_render(w);
	w->failed = worker_start(w) < 0;
	for (size_t d = 0; d < ROLE_NDEFS; d++) {
		if (!host_has(&w->a->env, w->node.h, d))
			continue;
		if (!w->failed)
			w->failed = worker_role(w, d) < 0;
		role_finish(w->a, d, !w->failed);
	}
	worker_record(w);
	role_node_close(&w->node);
	for (size_t k = 0; k < ROLE_NDEFS + 1; k++)
		role_unit_clear(&w->units[k]);
	sbx_err_clear(&w->render_err);
	return NULL;
}

/* Add the worker's counters and timings to the report. */
static void report_add(struct role_report *r, const struct worker *w)
{
	int skipped = 0, units = 0;
	for (size_t k = 0; k < ROLE_NDEFS + 1; k++) {
		units += w->rendered[k];
		skipped += w->rendered[k] && w->same[k];
	}
	r->files_changed += w->node.files_changed;
	r->reloads += w->node.reloads;
	r->starts += w->node.starts;
	r->hosts++;
	r->hosts_unchanged += w->checked && skipped == units && !w->failed;
	r->units_skipped += skipped;
	r->health_checks += w->node.health_checks;
	r->ssh_execs += w->node.execs;
	if (w->checked && w->check_ms > r->check_ms)
		r->check_ms = w->check_ms;
	for (size_t d = 0; d < ROLE_NDEFS; d++) {
		if (w->done_ms[d] < 0)
			continue;
		size_t k = 0;
		while (k < r->ntimings && !sbx_streq(r->timings[k].role, role_defs[d].name))
			k++;
		if (k == r->ntimings && k < ROLE_MAX_TIMINGS)
			r->timings[r->ntimings++].role = role_defs[d].name;
		if (k < r->ntimings && w->done_ms[d] > r->timings[k].ms)
			r->timings[k].ms = w->done_ms[d];
	}
}

/* Start one thread per host with roles, running fn; join them all. */
static void run_workers(struct apply *a, struct worker *w, size_t n, void *(*fn)(void *))
{
	pthread_mutex_init(&a->mu, NULL);
	pthread_cond_init(&a->cv, NULL);
	for (size_t i = 0; i < n; i++)
		if (pthread_create(&w[i].th, NULL, fn, &w[i]) != 0)
			abort();
	for (size_t i = 0; i < n; i++)
		pthread_join(w[i].th, NULL);
	pthread_cond_destroy(&a->cv);
	pthread_mutex_destroy(&a->mu);
}

/* Set up a worker per host that carries a role of the registry; count hosts per role. */
static size_t workers_init(struct apply *a, const struct role_ctx *ctx, struct worker *w)
{
	size_t n = 0;
	for (size_t i = 0; i < ctx->nhosts; i++) {
		bool any = role_base_routes(&a->env, &ctx->hosts[i]);
		for (size_t d = 0; d < ROLE_NDEFS; d++)
			if (host_has(&a->env, &ctx->hosts[i], d))
				any = true, a->pending[d]++;
		if (!any)
			continue;
		w[n] = (struct worker){.a = a, .node = {.env = &a->env, .h = &ctx->hosts[i]}};
		for (size_t d = 0; d < ROLE_NDEFS; d++)
			w[n].done_ms[d] = -1;
		n++;
	}
	return n;
}

/* Derive the environment, then run fn on a thread per host that has something to apply; *n gets
 * the number of workers (w has room for every host). */
static int workers_run(struct apply *a, const struct role_ctx *ctx, struct worker *w,
	void *(*fn)(void *), size_t *n, struct sbx_err *err)
{
	if (role_env_init(ctx, &a->env, err) < 0)
		return -1;
	*n = workers_init(a, ctx, w);
	if (*n)
		run_workers(a, w, *n, fn);
	return 0;
}

/* Move the failed workers' errors into err; -1 when any failed. */
static int workers_errors(struct worker *w, size_t n, struct sbx_err *err)
{
	int rc = 0;
	for (size_t i = 0; i < n; i++) {
		if (w[i].failed) {
			err_take(err, &w[i].err);
			rc = -1;
		}
		sbx_err_clear(&w[i].err);
	}
	return rc;
}

/* Apply every role of every host. */
int role_apply_all(const struct role_ctx *ctx, struct role_report *report, struct sbx_err *err)
{
	struct apply a = {.t0 = sbx_mono_ms()};
	struct role_report r = {0};
	struct worker *w = xcalloc(ctx->nhosts + 1, sizeof(*w));
	size_t n = 0;
	int rc = workers_run(&a, ctx, w, worker_main, &n, err);
	for (size_t i = 0; i < n; i++)
		report_add(&r, &w[i]);
	if (rc == 0)
		rc = workers_errors(w, n, err);
	r.total_ms = sbx_mono_ms() - a.t0;
	if (report)
		*report = r;
	role_env_clear(&a.env);
	free(w);
	return rc;
}

/* Record that the host could not be asked (e says why; cleared). */
static void plan_unreachable(struct worker *w, const char *role, struct sbx_err *e)
{
	struct sbx_buf b = {0};
	sbx_buf_puts(&b, "host unreachable: ");
	for (size_t i = 0; i < e->n; i++)
		sbx_buf_printf(&b, "%s%s", i ? "; " : "", e->msgs[i].text);
	role_change_add(&w->changes, &w->nchanges, w->node.h, role, ROLE_CHANGE_UNREACHABLE,
		sbx_buf_steal(&b));
	sbx_err_clear(e);
}

/* Render one unit (def NULL: the base unit) and compare it with the host; false ends the host's
 * dry run (a role that cannot render: w->failed; a host that cannot be asked: its change). */
static bool plan_unit(struct worker *w, const struct role_def *def)
{
	struct role_unit u = {0};
	struct sbx_err e = SBX_ERR_INIT;
	bool go = true;
	if (def == NULL)
		role_base_render(&w->a->env, w->node.h, &u);
	else
		w->failed = def->render(&w->a->env, w->node.h, &u, &w->err) < 0;
	if (!w->failed && role_node_plan(&w->node, &u, &w->changes, &w->nchanges, &e) < 0) {
		plan_unreachable(w, u.role, &e);
		go = false;
	}
	role_unit_clear(&u);
	return go && !w->failed;
}

/* A host's dry run: connect, then the base unit and its roles in registry order. */
static void *planner_main(void *arg)
{
	struct worker *w = arg;
	struct sbx_err e = SBX_ERR_INIT;
	w->node.connect_ms = PLAN_CONNECT_MS;
	if (role_node_connect(&w->node, &e) < 0) {
		plan_unreachable(w, "-", &e);
		return NULL;
	}
	ssh_set_timeout(w->node.c, PLAN_OP_MS);
	bool go = plan_unit(w, NULL);
	for (size_t d = 0; go && d < ROLE_NDEFS; d++)
		if (host_has(&w->a->env, w->node.h, d))
			go = plan_unit(w, &role_defs[d]);
	role_node_close(&w->node);
	return NULL;
}

/* Move a worker's changes to the end of *c. */
static void changes_take(struct role_change **c, size_t *nc, struct worker *w)
{
	if (w->nchanges == 0)
		return;
	*c = xrealloc(*c, (*nc + w->nchanges) * sizeof(**c));
	memcpy(*c + *nc, w->changes, w->nchanges * sizeof(**c));
	*nc += w->nchanges;
	free(w->changes);
	w->changes = NULL;
	w->nchanges = 0;
}

/* Dry-run every role of every host. */
int role_plan_all(const struct role_ctx *ctx, struct role_change **out, size_t *n, struct sbx_err *err)
{
	struct apply a = {.t0 = sbx_mono_ms()};
	struct worker *w = xcalloc(ctx->nhosts + 1, sizeof(*w));
	struct role_change *c = NULL;
	size_t nw = 0, nc = 0;
	int rc = workers_run(&a, ctx, w, planner_main, &nw, err);
	for (size_t i = 0; i < nw; i++)
		changes_take(&c, &nc, &w[i]);
	if (rc == 0)
		rc = workers_errors(w, nw, err);
	if (rc == 0) {
		*out = c;
		*n = nc;
	} else {
		role_changes_free(c, nc);
	}
	role_env_clear(&a.env);
	free(w);
	return rc;
}

/* Free a dry run's changes. */
void role_changes_free(struct role_change *c, size_t n)
{
	for (size_t i = 0; c && i < n; i++) {
		free(c[i].host);
		free(c[i].what);
	}
	free(c);
}

/* The verb of a change kind. */
const char *role_change_verb(enum role_change_kind kind)
{
	static const char *const verbs[] = {"create", "update", "start", "reload", "restart", "unreachable"};
	return (size_t)kind < SBX_NELEM(verbs) ? verbs[kind] : "?";
}

/* Append one output. */
void role_output_add(struct role_output **o, size_t *n, char *key, char *value, bool secret)
{
	*o = xrealloc(*o, (*n + 1) * sizeof(**o));
	(*o)[*n] = (struct role_output){.key = key, .value = value, .secret = secret};
	(*n)++;
}

/* An upper-cased environment-variable-safe copy of a name; caller frees. */
char *role_output_name(const char *s)
{
	char *u = xstrdup(s);
	for (char *p = u; *p; p++)
		*p = isalnum((unsigned char)*p) ? (char)toupper((unsigned char)*p) : '_';
	return u;
}

/* The outputs the roles provide, in registry order, from the first host carrying each role. */
int role_outputs(const struct role_ctx *ctx, struct role_output **out, size_t *n, struct sbx_err *err)
{
	struct role_env env = {.ctx = ctx};
	struct role_output *o = NULL;
	size_t no = 0;
	int rc = 0;
	for (size_t d = 0; rc == 0 && d < ROLE_NDEFS; d++) {
		size_t *idx = NULL;
		size_t nh = role_defs[d].outputs ? role_hosts_with(&env, role_defs[d].name, &idx) : 0;
		if (nh > 0)
			rc = role_defs[d].outputs(ctx, &ctx->hosts[idx[0]], &o, &no, err);
		free(idx);
	}
	if (rc < 0) {
		role_outputs_free(o, no);
		return -1;
	}
	*out = o;
	*n = no;
	return 0;
}

/* Free an outputs array. */
void role_outputs_free(struct role_output *o, size_t n)
{
	for (size_t i = 0; o && i < n; i++) {
		free(o[i].key);
		free(o[i].value);
	}
	free(o);
}
