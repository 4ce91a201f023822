/* role — the role registry, parallel apply in phases, and the outputs the roles provide. */
#include "role_int.h"

#include <ctype.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/* One role of the registry. */
struct role_def {
	const char *name;
	int phase; /* 0 first; lb in 1: its health check needs the router's BGP */
	int (*render)(const struct role_env *env, const struct role_host *h, struct role_unit *u,
		struct sbx_err *err);
};

static const struct role_def role_defs[] = {
	{"router", 0, role_router_render},
	{"postgres", 0, role_postgres_render},
	{"lb", 1, role_lb_render},
};
#define ROLE_NDEFS SBX_NELEM(role_defs)
#define ROLE_NPHASES 2

const char *const role_names[] = {"router", "postgres", "lb", NULL};

/* Shared state of one role_apply_all. */
struct apply {
	struct role_env env;
	pthread_barrier_t barrier;
	atomic_bool failed;
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

/* True when the host has any role of the registry. */
static bool host_has_any(const struct role_env *env, const struct role_host *h)
{
	for (size_t i = 0; i < ROLE_NDEFS; i++)
		if (host_has(env, h, role_defs[i].name))
			return true;
	return false;
}

/* Render and apply one role on the worker's host. */
static int worker_role(struct worker *w, size_t d)
{
	struct role_unit u = {0};
	int rc = role_defs[d].render(&w->a->env, w->node.h, &u, &w->err);
	if (rc == 0)
		rc = role_node_apply(&w->node, &u, &w->err);
	role_unit_clear(&u);
	if (rc == 0)
		w->done_ms[d] = sbx_mono_ms() - w->a->t0;
	return rc;
}

/* Apply the host's roles of one phase. */
static int worker_phase(struct worker *w, int phase)
{
	for (size_t d = 0; d < ROLE_NDEFS; d++)
		if (role_defs[d].phase == phase && host_has(&w->a->env, w->node.h, role_defs[d].name) &&
			worker_role(w, d) < 0)
			return -1;
	return 0;
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

/* A host's thread: start, then every phase in step with the other hosts. */
static void *worker_main(void *arg)
{
	struct worker *w = arg;
	w->failed = worker_start(w) < 0;
	for (int p = 0; p < ROLE_NPHASES; p++) {
		if (w->failed)
			atomic_store(&w->a->failed, true);
		pthread_barrier_wait(&w->a->barrier);
		if (!atomic_load(&w->a->failed))
			w->failed = worker_phase(w, p) < 0;
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
	pthread_barrier_init(&a->barrier, NULL, (unsigned)n);
	for (size_t i = 0; i < n; i++)
		if (pthread_create(&w[i].th, NULL, worker_main, &w[i]) != 0)
			abort();
	for (size_t i = 0; i < n; i++)
		pthread_join(w[i].th, NULL);
	pthread_barrier_destroy(&a->barrier);
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
	for (size_t i = 0; i < ctx->nhosts; i++) {
		if (!host_has_any(&a.env, &ctx->hosts[i]))
			continue;
		w[n] = (struct worker){.a = &a, .node = {.env = &a.env, .h = &ctx->hosts[i]}};
		for (size_t d = 0; d < ROLE_NDEFS; d++)
			w[n].done_ms[d] = -1;
		n++;
	}
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
		char *u = url_escape(db->dbs[i].owner), *p = url_escape(pw), *up = env_name(db->dbs[i].name);
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
