/* role — the role registry, parallel apply in phases, and the outputs the roles provide. */
#include "role_int.h"

#include <ctype.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* One role of the registry. */
struct role_def {
	const char *name;
	const char *after; /* applied on a host only once this role is healthy on all its hosts */
	int (*render)(const struct role_env *env, const struct role_host *h, struct role_unit *u,
		struct sbx_err *err);
};

/* Registry order is the order on a host carrying several roles. */
static const struct role_def role_defs[] = {
	{"router", NULL, role_router_render},
	{"postgres", NULL, role_postgres_render},
	{"lb", "router", role_lb_render}, /* its health check needs an Established BGP session */
	{"mocks", NULL, role_mocks_render},
};
#define ROLE_NDEFS SBX_NELEM(role_defs)

const char *const role_names[] = {"router", "postgres", "lb", "mocks", NULL};

/* Shared state of one role_apply_all: how many hosts still work on each role. */
struct apply {
	struct role_env env;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int pending[ROLE_NDEFS];
	bool failed[ROLE_NDEFS];
	int64_t t0;
};

/* One host's thread. */
struct worker {
	struct apply *a;
	struct role_node node;
	struct sbx_err err;
	int64_t done_ms[ROLE_NDEFS]; /* when each role became healthy here; -1: not applied */
	pthread_t th;
	bool failed;
};

/* True when the host's node carries the role. */
static bool host_has(const struct role_env *env, const struct role_host *h, const char *role)
{
	const struct bp_node *n = role_node_of(env, h);
	for (size_t i = 0; n && i < n->nroles; i++)
		if (sbx_streq(n->roles[i], role))
			return true;
	return false;
}

/* The registry index of a role name, or -1. */
static int def_index(const char *name)
{
	for (size_t d = 0; name && d < ROLE_NDEFS; d++)
		if (sbx_streq(role_defs[d].name, name))
			return (int)d;
	return -1;
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

/* Render and apply one role on the worker's host; everything up to the health check runs at
 * once, the health check only once the role's prerequisite is healthy everywhere. */
static int worker_role(struct worker *w, size_t d)
{
	struct role_unit u = {0};
	struct gate g = {w->a, d};
	char *msg = role_defs[d].after ? xasprintf("not checked because role %s failed", role_defs[d].after)
		: NULL;
	w->node.gate = role_defs[d].after ? gate_wait : NULL;
	w->node.gate_arg = &g;
	w->node.gate_msg = msg;
	int rc = role_defs[d].render(&w->a->env, w->node.h, &u, &w->err);
	if (rc == 0)
		rc = role_node_apply(&w->node, &u, &w->err);
	w->node.gate = NULL;
	role_unit_clear(&u);
	free(msg);
	if (rc == 0)
		w->done_ms[d] = sbx_mono_ms() - w->a->t0;
	return rc;
}

/* Connect and install the node scripts. */
static int worker_start(struct worker *w)
{
	struct role_unit u = {0};
	if (role_node_connect(&w->node, &w->err) < 0)
		return -1;
	role_base_render(&w->a->env, w->node.h, &u);
	int rc = role_node_apply(&w->node, &u, &w->err);
	role_unit_clear(&u);
	return rc;
}

/* A host's thread: start, then its roles in registry order, each after its prerequisite. */
static void *worker_main(void *arg)
{
	struct worker *w = arg;
	w->failed = worker_start(w) < 0;
	for (size_t d = 0; d < ROLE_NDEFS; d++) {
		if (!host_has(&w->a->env, w->node.h, role_defs[d].name))
			continue;
		if (!w->failed)
			w->failed = worker_role(w, d) < 0;
		role_finish(w->a, d, !w->failed);
	}
	role_node_close(&w->node);
	return NULL;
}

/* Add the worker's counters and timings to the report. */
static void report_add(struct role_report *r, const struct worker *w)
{
	r->files_changed += w->node.files_changed;
	r->reloads += w->node.reloads;
	r->starts += w->node.starts;
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

/* Copy a worker's error messages. */
static void err_take(struct sbx_err *dst, const struct sbx_err *src)
{
	for (size_t i = 0; i < src->n; i++)
		sbx_err_set(dst, src->code ? src->code : SBX_EXIT_FAILED, "%s", src->msgs[i].text);
	if (src->hint)
		sbx_err_hint(dst, "%s", src->hint);
}

/* Start one thread per host with roles; join them all. */
static void run_workers(struct apply *a, struct worker *w, size_t n)
{
	pthread_mutex_init(&a->mu, NULL);
	pthread_cond_init(&a->cv, NULL);
	for (size_t i = 0; i < n; i++)
		if (pthread_create(&w[i].th, NULL, worker_main, &w[i]) != 0)
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
			if (host_has(&a->env, &ctx->hosts[i], role_defs[d].name))
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

/* Apply every role of every host. */
int role_apply_all(const struct role_ctx *ctx, struct role_report *report, struct sbx_err *err)
{
	struct apply a = {.t0 = sbx_mono_ms()};
	struct role_report r = {0};
	struct worker *w = xcalloc(ctx->nhosts + 1, sizeof(*w));
	size_t n = 0;
	int rc = -1;
	if (role_env_init(ctx, &a.env, err) < 0)
		goto out;
	n = workers_init(&a, ctx, w);
	if (n)
		run_workers(&a, w, n);
	rc = 0;
	for (size_t i = 0; i < n; i++) {
		report_add(&r, &w[i]);
		if (w[i].failed) {
			err_take(err, &w[i].err);
			rc = -1;
		}
		sbx_err_clear(&w[i].err);
	}
out:
	r.total_ms = sbx_mono_ms() - a.t0;
	if (report)
		*report = r;
	role_env_clear(&a.env);
	free(w);
	return rc;
}

/* Percent-encode a URL userinfo part; caller frees. */
static char *url_escape(const char *s)
{
	struct sbx_buf b = {0};
	for (; *s; s++) {
		if (isalnum((unsigned char)*s) || strchr("-._~", *s))
			sbx_buf_add(&b, s, 1);
		else
			sbx_buf_printf(&b, "%%%02X", (unsigned char)*s);
	}
	return sbx_buf_steal(&b);
}

/* Append one output. */
static void out_add(struct role_output **o, size_t *n, char *key, char *value, bool secret)
{
	*o = xrealloc(*o, (*n + 1) * sizeof(**o));
	(*o)[*n] = (struct role_output){.key = key, .value = value, .secret = secret};
	(*n)++;
}

/* An upper-cased environment-variable-safe copy of a name; caller frees. */
static char *env_name(const char *s)
{
	char *u = xstrdup(s);
	for (char *p = u; *p; p++)
		*p = isalnum((unsigned char)*p) ? (char)toupper((unsigned char)*p) : '_';
	return u;
}

/* The database URLs through pgbouncer. */
static int outputs_db(const struct role_ctx *ctx, const struct role_host *h, struct role_output **o,
	size_t *n, struct sbx_err *err)
{
	const struct bp_database *db = &ctx->bp->database;
	const char *addr = h->addrs && h->addrs[0] ? h->addrs[0] : h->ssh_addr;
	for (size_t i = 0; i < db->ndbs; i++) {
		char *key = xasprintf("db-%s", db->dbs[i].owner), *pw = NULL;
		int rc = ctx->secret ? ctx->secret(ctx->secret_ctx, key, &pw, err)
			: sbx_err_set(err, SBX_EXIT_FAILED, "roles: no secret store for %s", key);
		free(key);
		if (rc < 0)
			return -1;
		/* a ${secret.NAME} placeholder (resolved later by `outputs`) goes in verbatim */
		bool placeholder = strncmp(pw, "${secret.", 9) == 0;
		char *u = url_escape(db->dbs[i].owner), *p = placeholder ? xstrdup(pw) : url_escape(pw);
		char *up = env_name(db->dbs[i].name);
		char *url = xasprintf("postgresql://%s:%s@%s:%d/%s", u, p, addr, ROLE_PGB_PORT, db->dbs[i].name);
		if (i == 0)
			out_add(o, n, xstrdup("DATABASE_URL"), xstrdup(url), true);
		out_add(o, n, xasprintf("DATABASE_URL_%s", up), url, true);
		free(u);
		free(p);
		free(up);
		free(pw);
	}
	return 0;
}

/* The VIP addresses and URLs. */
static void outputs_vips(const struct role_ctx *ctx, struct role_output **o, size_t *n)
{
	for (size_t i = 0; i < ctx->bp->nvips; i++) {
		const struct bp_vip *v = &ctx->bp->vips[i];
		char *addr = role_vip_addr(ctx->vip_cidr, i), *up = env_name(v->name);
		if (addr) {
			out_add(o, n, xasprintf("VIP_%s_ADDR", up), xasprintf("%s:%d", addr, v->port), false);
			out_add(o, n, xasprintf("VIP_%s_URL", up), xasprintf("tcp://%s:%d", addr, v->port), false);
		}
		free(addr);
		free(up);
	}
}

/* The mock endpoints. */
static void outputs_mocks(const struct role_ctx *ctx, const struct role_host *h, struct role_output **o,
	size_t *n)
{
	static const int ports[ROLE_NMOCKS] = {ROLE_MOCK_SMS_PORT, ROLE_MOCK_MAIL_PORT, ROLE_MOCK_PAYMENT_PORT};
	const char *addr = h->addrs && h->addrs[0] ? h->addrs[0] : h->ssh_addr;
	for (size_t i = 0; i < ROLE_NMOCKS; i++) {
		if (!role_mock_enabled(&ctx->bp->mocks, i))
			continue;
		char *up = env_name(role_mock_name(i));
		out_add(o, n, xasprintf("MOCK_%s_URL", up), xasprintf("http://%s:%d", addr, ports[i]), false);
		free(up);
	}
	if (role_mock_enabled(&ctx->bp->mocks, 1))
		out_add(o, n, xstrdup("MOCK_MAIL_SMTP"), xasprintf("%s:%d", addr, ROLE_MOCK_SMTP_PORT), false);
}

/* The outputs the roles provide. */
int role_outputs(const struct role_ctx *ctx, struct role_output **out, size_t *n, struct sbx_err *err)
{
	struct role_env env = {.ctx = ctx};
	struct role_output *o = NULL;
	size_t no = 0, *idx = NULL;
	size_t ndb = role_hosts_with(&env, "postgres", &idx);
	int rc = 0;
	if (ndb && ctx->bp->database.ndbs)
		rc = outputs_db(ctx, &ctx->hosts[idx[0]], &o, &no, err);
	free(idx);
	size_t nlb = role_hosts_with(&env, "lb", &idx);
	free(idx);
	if (rc == 0 && nlb > 0)
		outputs_vips(ctx, &o, &no);
	size_t nmocks = role_hosts_with(&env, "mocks", &idx);
	if (rc == 0 && nmocks > 0)
		outputs_mocks(ctx, &ctx->hosts[idx[0]], &o, &no);
	free(idx);
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
