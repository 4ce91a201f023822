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

/* A duration histogram. */
static void histogram(struct sbx_buf *b, const char *name, const char *help, const struct daemon_hist *h)
{
	head(b, name, "histogram", help);
	for (size_t i = 0; i < DAEMON_NBUCKETS; i++)
		sbx_buf_printf(b, "%s_bucket{le=\"%g\"} %llu\n", name, daemon_bucket_le[i],
			(unsigned long long)h->buckets[i]);
	sbx_buf_printf(b, "%s_bucket{le=\"+Inf\"} %llu\n", name, (unsigned long long)h->count);
	sbx_buf_printf(b, "%s_sum %.3f\n", name, h->sum_s);
	sbx_buf_printf(b, "%s_count %llu\n", name, (unsigned long long)h->count);
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
	histogram(b, "sandbox_reap_duration_seconds", "Time to tear down one expired environment.", &s->reap);
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

/* Count one event of the log if it is the end of an up or a down with a duration. */
static void count_event(struct daemon_evstats *v, const struct state_event *e)
{
	static const char *const kinds[] = {"up.done", "up.fail", "down.done", "down.fail"};
	size_t k = 0;
	while (k < SBX_NELEM(kinds) && !sbx_streq(e->kind, kinds[k]))
		k++;
	json_t *j = k < SBX_NELEM(kinds) && e->detail ? json_loads(e->detail, 0, NULL) : NULL;
	json_t *ms = json_object_get(j, "duration_ms");
	if (json_is_integer(ms)) {
		daemon_hist_add(k < 2 ? &v->up : &v->down, (double)json_integer_value(ms) / 1000.0);
		v->up_failed += k == 1;
		v->down_failed += k == 3;
	}
	json_decref(j);
}

/* Read the events logged since the last scrape into the up/down histograms. */
static int read_events(struct daemon *d, struct daemon_evstats *out, struct sbx_err *err)
{
	struct daemon_evstats *v = &d->evs;
	struct state_event *ev = NULL;
	size_t n = 0;
	int rc = 0;
	pthread_mutex_lock(&v->mu);
	do {
		rc = state_event_after(d->st, v->seen, 1000, &ev, &n, err);
		for (size_t i = 0; rc == 0 && i < n; i++) {
			count_event(v, &ev[i]);
			v->seen = ev[i].id;
		}
		state_event_list_free(ev, rc == 0 ? n : 0);
	} while (rc == 0 && n == 1000);
	*out = *v;
	pthread_mutex_unlock(&v->mu);
	return rc;
}

/* The histograms of every up and down in the state, the machine leases held, the webhooks waiting. */
static int state_metrics(struct daemon *d, struct sbx_buf *b, struct sbx_err *err)
{
	struct daemon_evstats v;
	struct state_lease *leases = NULL;
	size_t nl = 0;
	int64_t queued = 0;
	if (read_events(d, &v, err) < 0 || state_lease_list(d->st, NULL, &leases, &nl, err) < 0 ||
		state_outbox_count(d->st, &queued, err) < 0)
		return -1;
	state_lease_list_free(leases, nl);
	histogram(b, "sandbox_up_duration_seconds", "Time of one `up` (the CLI's and any other), from the state's "
		"event log.", &v.up);
	histogram(b, "sandbox_down_duration_seconds", "Time of one `down` (the CLI's, a reaper's), from the state's "
		"event log.", &v.down);
	one(b, "sandbox_up_failed_total", "counter", "Runs of up that failed (in the state's event log).",
		(long long)v.up_failed);
	one(b, "sandbox_down_failed_total", "counter", "Runs of down that failed (in the state's event log).",
		(long long)v.down_failed);
	one(b, "sandbox_leases_held", "gauge", "Bare-metal machines leased to an environment.", (long long)nl);
	one(b, "sandbox_notify_queued", "gauge", "Webhook deliveries waiting in the state's outbox (every daemon's).",
		(long long)queued);
	return 0;
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
	if (state_metrics(d, &b, err) < 0) {
		sbx_buf_free(&b);
		return -1;
	}
	*out = sbx_buf_steal(&b);
	return 0;
}
