/* daemon_reaper — one pass of the reaper loop and the counters it keeps. */
#include "daemon_int.h"

/* Upper bounds (seconds) of the teardown duration histogram's buckets (+Inf is implied). */
const double daemon_bucket_le[DAEMON_NBUCKETS] = {0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600};

/* Count one teardown. */
void daemon_stats_teardown(struct daemon *d, int64_t ms, bool ok)
{
	double s = (double)ms / 1000.0;
	pthread_mutex_lock(&d->mu);
	if (ok)
		d->stats.reaped++;
	else
		d->stats.failures++;
	for (size_t i = 0; i < DAEMON_NBUCKETS; i++)
		d->stats.buckets[i] += s <= daemon_bucket_le[i];
	d->stats.count++;
	d->stats.sum_s += s;
	pthread_mutex_unlock(&d->mu);
}

/* The env_reap_watch callback. */
static void on_teardown(void *ctx, const char *env, int64_t ms, bool ok)
{
	struct daemon *d = ctx;
	(void)env;
	daemon_stats_teardown(d, ms, ok);
}

/* Log every message of err as one event, then clear it. */
static void log_errors(struct daemon *d, const char *kind, struct sbx_err *err)
{
	for (size_t i = 0; i < err->n; i++)
		ev_emit(d->log, NULL, kind, NULL, NULL, NULL, "%s", err->msgs[i].text);
	sbx_err_clear(err);
}

/* Reap, then warn; a pass is successful when the state answered (teardowns may still fail). */
void daemon_pass(struct daemon *d)
{
	struct sbx_err err = SBX_ERR_INIT;
	struct env_reap_watch w = {on_teardown, d, true};
	size_t n = 0, failed = 0;
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
