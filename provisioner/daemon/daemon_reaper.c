/* daemon_reaper — one pass of the reaper loop and the counters it keeps. */
#include "daemon_int.h"

#define DAEMON_RETRY_MIN_MS 1000
#define DAEMON_RETRY_MAX_MS 60000

/* Upper bounds (seconds) of the teardown duration histogram's buckets (+Inf is implied). */
const double daemon_bucket_le[DAEMON_NBUCKETS] = {0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600};

/* Count one duration. */
void daemon_hist_add(struct daemon_hist *h, double s)
{
	for (size_t i = 0; i < DAEMON_NBUCKETS; i++)
		h->buckets[i] += s <= daemon_bucket_le[i];
	h->count++;
	h->sum_s += s;
}

/* Count one teardown. */
void daemon_stats_teardown(struct daemon *d, int64_t ms, bool ok)
{
	double s = (double)ms / 1000.0;
	pthread_mutex_lock(&d->mu);
	if (ok)
		d->stats.reaped++;
	else
		d->stats.failures++;
	daemon_hist_add(&d->stats.reap, s);
	pthread_mutex_unlock(&d->mu);
}

/* One teardown the reaper runs: the environment as it was claimed, its webhook, read before the
 * teardown drops its secrets, and the reap.done row queued with the environment's deletion. */
struct reap_tok {
	struct daemon *d;
	struct state_env *env;
	struct env_notify_target *target;
	int64_t t0;                   /* sbx_mono_ms() at the start */
	struct env_down_notice notice;
	struct state_outbox *done;    /* built by the notice, NULL until then */
};

/* The notice's build callback: the reap.done row, now that the teardown took its time. */
static const struct state_outbox *build_done(void *ctx)
{
	struct reap_tok *t = ctx;
	const struct state_env *e = t->env;
	if (t->target == NULL || t->done)
		return t->done;
	char *id = xasprintf("%s.reap.done", e->id);
	struct env_notify_target *c = xcalloc(1, sizeof(*c)); /* the target stays for a reap.failed */
	c->url = xstrdup(t->target->url);
	c->secret = t->target->secret ? xstrdup(t->target->secret) : NULL;
	t->done = daemon_notify_item(e, c, "reap.done", id, json_pack("{s:I, s:I, s:s}", "expires",
		(json_int_t)e->expires, "duration_ms", (json_int_t)(sbx_mono_ms() - t->t0), "by", t->d->reaper));
	free(id);
	return t->done;
}

/* The env_reap_watch start callback: keep the environment (its webhook's secret goes with it). */
static void *on_start(void *ctx, const char *env)
{
	struct daemon *d = ctx;
	struct sbx_err err = SBX_ERR_INIT;
	struct reap_tok *t = xcalloc(1, sizeof(*t));
	t->d = d;
	t->t0 = sbx_mono_ms();
	t->notice = (struct env_down_notice){.build = build_done, .ctx = t, .queued = STATE_OUTBOX_DUPLICATE};
	if (state_env_get(d->st, env, &t->env, &err) < 0)
		ev_emit(d->log, env, "notify.error", NULL, NULL, NULL, "its reap will not be notified: %s", err.msgs[0].text);
	if (t->env)
		t->target = daemon_notify_target(d, t->env, "reap");
	sbx_err_clear(&err);
	return t;
}

/* The env_reap_watch notice callback: the reap.done row goes in with the deletion. */
static struct env_down_notice *on_notice(void *ctx, void *tok)
{
	struct reap_tok *t = tok;
	(void)ctx;
	return t && t->env && t->target ? &t->notice : NULL;
}

/* A teardown's outcome: its reap.done was queued with the environment's deletion (wake the worker
 * for it); a failure is queued here, once per expiry (the next passes retry the teardown, and the
 * environment stays, so a daemon that dies before this put has the next one's teardown send it). */
static void reap_notify(struct daemon *d, struct reap_tok *t, int64_t ms, bool ok)
{
	struct sbx_err err = SBX_ERR_INIT;
	const struct state_env *e = t->env;
	bool first = true;
	if (ok) {
		if (t->done)
			daemon_notify_queued(d, t->done, t->notice.queued);
		return;
	}
	if (state_warn_mark(d->st, e->id, 0, e->expires, &first, &err) < 0)
		ev_emit(d->log, e->name, "notify.error", NULL, NULL, NULL, "reap.failed not delivered: %s", err.msgs[0].text);
	char *id = xasprintf("%s.reap.failed.%lld", e->id, (long long)e->expires);
	if (first && t->target) {
		daemon_notify_send(d, e, t->target, "reap.failed", id, json_pack("{s:I, s:I, s:s}", "expires",
			(json_int_t)e->expires, "duration_ms", (json_int_t)ms, "by", d->reaper));
		t->target = NULL;
	}
	free(id);
	sbx_err_clear(&err);
}

/* The env_reap_watch done callback. */
static void on_teardown(void *ctx, void *tok, const char *env, int64_t ms, bool ok)
{
	struct daemon *d = ctx;
	struct reap_tok *t = tok;
	daemon_stats_teardown(d, ms, ok);
	if (t && t->env && sbx_streq(t->env->name, env))
		reap_notify(d, t, ms, ok);
	if (t) {
		state_env_free(t->env);
		env_notify_target_free(t->target);
		state_outbox_free(t->done);
		free(t);
	}
}

/* Log every message of err as one event, then clear it. */
static void log_errors(struct daemon *d, const char *kind, struct sbx_err *err)
{
	for (size_t i = 0; i < err->n; i++)
		ev_emit(d->log, NULL, kind, NULL, NULL, NULL, "%s", err->msgs[i].text);
	sbx_err_clear(err);
}

/* Whether the state answers: after its connection was lost, reconnect with a doubling backoff
 * (1 s to 60 s, checked once per pass). */
static bool state_ready(struct daemon *d)
{
	struct sbx_err err = SBX_ERR_INIT;
	int64_t now = sbx_mono_ms();
	if (!state_conn_lost(d->st))
		return true;
	if (!d->st_lost) {
		d->st_lost = true;
		d->retry_ms = DAEMON_RETRY_MIN_MS;
		d->retry_at_ms = now;
		ev_emit(d->log, NULL, "state.lost", NULL, NULL, NULL, "lost the connection to the state %s; reconnecting",
			state_location(d->st));
	}
	if (now < d->retry_at_ms)
		return false;
	bool ok = state_reconnect(d->st, &err) == 0;
	if (ok)
		ev_emit(d->log, NULL, "state.reconnected", NULL, NULL, NULL, "connected to the state %s again",
			state_location(d->st));
	else
		ev_emit(d->log, NULL, "state.reconnect", NULL, NULL, NULL, "%s; next attempt in %llds",
			err.n ? err.msgs[0].text : "?", (long long)(d->retry_ms / 1000));
	d->st_lost = !ok;
	d->retry_at_ms = now + d->retry_ms;
	d->retry_ms = d->retry_ms * 2 > DAEMON_RETRY_MAX_MS ? DAEMON_RETRY_MAX_MS : d->retry_ms * 2;
	sbx_err_clear(&err);
	return ok;
}

/* Reap, then warn; a pass is successful when the state answered (teardowns may still fail). */
void daemon_pass(struct daemon *d)
{
	struct sbx_err err = SBX_ERR_INIT;
	struct env_reap_watch w = {.done = on_teardown, .start = on_start, .notice = on_notice, .ctx = d,
		.quiet_idle = true};
	size_t n = 0, failed = 0;
	if (!state_ready(d)) {
		pthread_mutex_lock(&d->mu);
		d->stats.passes++;
		pthread_mutex_unlock(&d->mu);
		return;
	}
	int rc = env_reap_watched(d->cfg, d->st, d->reaper, d->log, &w, &n, &failed, &err);
	bool ok = rc == 0 || failed > 0;
	log_errors(d, ok ? "reap.fail" : "reap.error", &err);
	if (daemon_warn(d, &err) < 0)
		ok = false;
	log_errors(d, "warn.error", &err);
	pthread_mutex_lock(&d->mu);
	d->stats.passes++;
	if (ok) {
		d->stats.passes_ok++;
		d->stats.last_ok_mono_ms = sbx_mono_ms();
	}
	pthread_mutex_unlock(&d->mu);
}
