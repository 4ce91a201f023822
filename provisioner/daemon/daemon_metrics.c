/* daemon_metrics — /metrics in the Prometheus text format (version 0.0.4). */
#include "daemon_int.h"

#include <string.h>

/* The statuses always reported (0 when none), so a dashboard sees every series. */
static const char *const known_status[] = {STATE_ENV_CREATING, STATE_ENV_READY, STATE_ENV_FAILED,
	STATE_ENV_DESTROYING, STATE_ENV_REAPING};

/* Append a label value escaped as the format says (backslash, double quote, newline). */
static void label(struct sbx_buf *b, const char *v)
{
	for (; v && *v; v++) {
		if (*v == '\\' || *v == '"')
			sbx_buf_printf(b, "\\%c", *v);
		else if (*v == '\n')
			sbx_buf_puts(b, "\\n");
		else
			sbx_buf_add(b, v, 1);
	}
}

/* Append a metric's HELP and TYPE lines. */
static void head(struct sbx_buf *b, const char *name, const char *type, const char *help)
{
	sbx_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* How many environments have status s. */
static size_t count_status(struct state_env **envs, size_t n, const char *s)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		k += sbx_streq(envs[i]->status, s);
	return k;
}

/* Whether status s was already reported (a known one, or an earlier environment's). */
static bool status_seen(struct state_env **envs, size_t upto, const char *s)
{
	for (size_t i = 0; i < SBX_NELEM(known_status); i++)
		if (sbx_streq(known_status[i], s))
			return true;
	for (size_t i = 0; i < upto; i++)
		if (sbx_streq(envs[i]->status, s))
			return true;
	return false;
}

/* sandbox_environments{status} and sandbox_environment_expiry_seconds{env}. */
static void env_metrics(struct sbx_buf *b, struct state_env **envs, size_t n)
{
	int64_t now = sbx_now();
	head(b, "sandbox_environments", "gauge", "Environments in the state, by status.");
	for (size_t i = 0; i < SBX_NELEM(known_status); i++)
		sbx_buf_printf(b, "sandbox_environments{status=\"%s\"} %zu\n", known_status[i],
			count_status(envs, n, known_status[i]));
	for (size_t i = 0; i < n; i++)
		if (!status_seen(envs, i, envs[i]->status)) {
			sbx_buf_puts(b, "sandbox_environments{status=\"");
			label(b, envs[i]->status);
			sbx_buf_printf(b, "\"} %zu\n", count_status(envs, n, envs[i]->status));
		}
	head(b, "sandbox_environment_expiry_seconds", "gauge",
		"Seconds until an environment expires (negative: overdue); permanent ones are left out.");
	for (size_t i = 0; i < n; i++)
		if (envs[i]->expires > 0) {
			sbx_buf_puts(b, "sandbox_environment_expiry_seconds{env=\"");
			label(b, envs[i]->name);
			sbx_buf_printf(b, "\"} %lld\n", (long long)(envs[i]->expires - now));
		}
}

/* The teardown duration histogram. */
static void histogram(struct sbx_buf *b, const struct daemon_stats *s)
{
	head(b, "sandbox_reap_duration_seconds", "histogram", "Time to tear down one expired environment.");
	for (size_t i = 0; i < DAEMON_NBUCKETS; i++)
		sbx_buf_printf(b, "sandbox_reap_duration_seconds_bucket{le=\"%g\"} %llu\n", daemon_bucket_le[i],
			(unsigned long long)s->buckets[i]);
	sbx_buf_printf(b, "sandbox_reap_duration_seconds_bucket{le=\"+Inf\"} %llu\n", (unsigned long long)s->count);
	sbx_buf_printf(b, "sandbox_reap_duration_seconds_sum %.3f\n", s->sum_s);
	sbx_buf_printf(b, "sandbox_reap_duration_seconds_count %llu\n", (unsigned long long)s->count);
}

/* A counter or gauge with one value. */
static void one(struct sbx_buf *b, const char *name, const char *type, const char *help, long long v)
{
	head(b, name, type, help);
	sbx_buf_printf(b, "%s %lld\n", name, v);
}

/* The reaper's counters. */
static void reaper_metrics(struct sbx_buf *b, const struct daemon_stats *s)
{
	histogram(b, s);
	one(b, "sandbox_reap_failures_total", "counter", "Teardowns of expired environments that failed.",
		(long long)s->failures);
	one(b, "sandbox_reaped_total", "counter", "Expired environments torn down.", (long long)s->reaped);
	one(b, "sandbox_reap_passes_total", "counter", "Reaper passes.", (long long)s->passes);
	one(b, "sandbox_reap_passes_ok_total", "counter", "Reaper passes whose state queries succeeded.",
		(long long)s->passes_ok);
	one(b, "sandbox_reaper_last_success_age_seconds", "gauge",
		"Seconds since the last successful reaper pass ended (-1: none yet).",
		s->last_ok_mono_ms ? (long long)((sbx_mono_ms() - s->last_ok_mono_ms) / 1000) : -1);
	one(b, "sandbox_expiry_warnings_total", "counter", "Expiry warnings this daemon recorded.",
		(long long)s->warnings);
	one(b, "sandbox_notify_sent_total", "counter", "Webhook deliveries (notify:) answered 2xx.",
		(long long)s->notify_sent);
	one(b, "sandbox_notify_failed_total", "counter", "Webhook deliveries given up after their attempts.",
		(long long)s->notify_failed);
}

/* Render /metrics. */
int daemon_metrics(struct daemon *d, char **out, struct sbx_err *err)
{
	struct state_env **envs = NULL;
	size_t n = 0;
	struct sbx_buf b = {0};
	struct daemon_stats s;
	if (state_env_list_brief(d->st, &envs, &n, err) < 0)
		return -1;
	pthread_mutex_lock(&d->mu);
	s = d->stats;
	pthread_mutex_unlock(&d->mu);
	env_metrics(&b, envs, n);
	reaper_metrics(&b, &s);
	state_env_list_free(envs, n);
	*out = sbx_buf_steal(&b);
	return 0;
}
