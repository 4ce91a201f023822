/* daemon_warn — warnings ahead of an environment's expiry, each recorded once in the state. */
#include "daemon_int.h"

#include <string.h>

#include <jansson.h>

/* 24 h, 1 h and 10 min ahead, largest first. */
const int64_t daemon_warn_offsets[] = {86400, 3600, 600};
const size_t daemon_nwarn_offsets = SBX_NELEM(daemon_warn_offsets);

/* The smallest offset `left` seconds have crossed, or 0 when none (or already expired). */
static int64_t warn_offset(int64_t left)
{
	int64_t off = 0;
	for (size_t i = 0; i < daemon_nwarn_offsets && left > 0; i++)
		if (left <= daemon_warn_offsets[i])
			off = daemon_warn_offsets[i];
	return off;
}

/* Whether an environment is one the reaper will destroy at its expiry and not yet doing so. */
static bool warnable(const struct state_env *e)
{
	return e->expires > 0 && !e->protected && !sbx_streq(e->status, STATE_ENV_REAPING) &&
		!sbx_streq(e->status, STATE_ENV_DESTROYING);
}

/* The webhook of a warning not recorded yet, or NULL (none, or it cannot be read: logged). */
static struct state_outbox *warn_item(struct daemon *d, const struct state_env *e, int64_t off, int64_t left)
{
	struct sbx_err err = SBX_ERR_INIT;
	struct state_env *full = NULL;
	struct state_outbox *o = NULL;
	if (state_env_get(d->st, e->name, &full, &err) < 0)
		ev_emit(d->log, e->name, "notify.error", NULL, NULL, NULL, "expiry.warning not delivered: %s",
			err.msgs[0].text);
	if (full) {
		char *id = xasprintf("%s.warning.%lld.%lld", e->id, (long long)off, (long long)e->expires);
		o = daemon_notify_item(full, daemon_notify_target(d, full, "expiry.warning"), "expiry.warning", id,
			json_pack("{s:I, s:I, s:I}", "before_s", (json_int_t)off, "expires", (json_int_t)e->expires,
			"seconds_left", (json_int_t)left));
		free(id);
	}
	state_env_free(full);
	sbx_err_clear(&err);
	return o;
}

/* Log and count a warning just recorded; wake the webhook worker for it. */
static void warn_first(struct daemon *d, const struct state_env *e, int64_t off, int64_t left,
	const struct state_outbox *ob, enum state_outbox_put queued)
{
	char a[32], b[32];
	ev_emit(d->log, e->name, "expiry.warning", NULL, NULL, NULL, "%s expires in %s (the %s warning); "
		"`sandbox extend %s` keeps it", e->name, sbx_fmt_duration(left, a, sizeof(a)),
		sbx_fmt_duration(off, b, sizeof(b)), e->name);
	pthread_mutex_lock(&d->mu);
	d->stats.warnings++;
	pthread_mutex_unlock(&d->mu);
	if (ob)
		daemon_notify_queued(d, ob, queued);
}

/* Record (and log, and queue its webhook with it, the first time) the warning due for one environment. */
static int warn_one(struct daemon *d, const struct state_env *e, int64_t now, struct sbx_err *err)
{
	int64_t left = e->expires - now, off = warn_offset(left);
	enum state_outbox_put queued = STATE_OUTBOX_DUPLICATE;
	bool first = false, sent = false;
	if (off == 0)
		return 0;
	if (state_warn_sent(d->st, e->id, off, e->expires, &sent, err) < 0)
		return -1;
	if (sent)
		return 0;
	json_t *j = json_pack("{s:I, s:I, s:I, s:s}", "before_s", (json_int_t)off, "expires", (json_int_t)e->expires,
		"seconds_left", (json_int_t)left, "by", d->reaper);
	char *detail = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(j);
	struct state_outbox *ob = warn_item(d, e, off, left);
	int rc = state_warn_record(d->st, e->name, e->id, off, e->expires, detail, ob, &first, &queued, err);
	free(detail);
	if (rc == 0 && first)
		warn_first(d, e, off, left, ob, queued);
	state_outbox_free(ob);
	return rc;
}

/* Record the warnings due now. */
int daemon_warn(struct daemon *d, struct sbx_err *err)
{
	struct state_env **envs = NULL;
	size_t n = 0;
	int rc = state_env_list_brief(d->st, &envs, &n, err);
	int64_t now = sbx_now();
	for (size_t i = 0; rc == 0 && i < n; i++)
		if (warnable(envs[i]))
			rc = warn_one(d, envs[i], now, err);
	state_env_list_free(envs, n);
	return rc;
}
