/* daemon_notify — the webhook deliveries: queued in the state's outbox (state_outbox_put), delivered
 * by one worker thread, so a slow or dead receiver never holds up the reaper and a daemon that dies
 * or stops leaves what it did not deliver to the next one. At least once: a daemon that dies after
 * the receiver answered and before the row was deleted has it sent again, with the same
 * Sandbox-Delivery id. */
#include "daemon_int.h"

#include "clock.h"

#include <errno.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#define NOTIFY_ATTEMPTS 4     /* per delivery */
#define NOTIFY_BACKOFF_S 1    /* before the second attempt, doubled each time */
#define NOTIFY_TIMEOUT_S 10L  /* per attempt */
#define NOTIFY_LEASE_S 60     /* a claim on a row: well above an attempt */
#define NOTIFY_POLL_MS 1000   /* the outbox is read again after that when nothing was due */

struct daemon_notify {
	struct daemon *d;
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv;  /* a delivery queued, or stop */
	bool stop, wake;
	bool failing;       /* the last read of the outbox failed (logged once) */
	int64_t mono0;      /* when the worker started (sbx_mono_ms) */
};

/* The outbox's clock: the wall clock; under the tests' fake clock (which stands still), the fake
 * time plus the time the worker has run, so retries still come due. */
static int64_t notify_now(const struct daemon_notify *n)
{
	int64_t fake = n->d->cfg->fake_now;
	return fake > 0 ? fake + (sbx_mono_ms() - n->mono0) / 1000 : sbx_now();
}

/* Wait up to ms on the monotonic clock for a wake-up; whether to go on. */
static bool idle(struct daemon_notify *n, int64_t ms)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += (time_t)(ms / 1000);
	ts.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&n->mu);
	while (!n->stop && !n->wake && pthread_cond_timedwait(&n->cv, &n->mu, &ts) != ETIMEDOUT)
		;
	n->wake = false;
	bool go = !n->stop;
	pthread_mutex_unlock(&n->mu);
	return go;
}

/* Record the end of a delivery: the row deleted with its event (notify.sent, or notify.failed with
 * why) in the state, the daemon's log and counters. */
static void outcome(struct daemon *d, const struct state_outbox *o, bool ok, int64_t attempts, long status,
	const char *why)
{
	struct sbx_err err = SBX_ERR_INIT;
	char *orig = env_notify_origin(o->url);
	json_t *x = json_pack("{s:s, s:s, s:I, s:I, s:s}", "event", o->event, "id", o->id, "attempts",
		(json_int_t)attempts, "status", (json_int_t)status, "to", orig);
	if (!ok)
		json_object_set_new(x, "error", json_string(why));
	char *detail = json_dumps(x, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(x);
	if (state_outbox_done(d->st, o->id, o->env, ok ? "notify.sent" : "notify.failed", detail, &err) < 0)
		ev_emit(d->log, o->env, "notify.error", NULL, NULL, NULL, "cannot record the delivery %s (it will be "
			"sent again): %s", o->id, err.n ? err.msgs[0].text : "?");
	if (ok)
		ev_emit(d->log, o->env, "notify.sent", NULL, NULL, NULL, "%s delivered to %s (attempt %lld, HTTP %ld)",
			o->event, orig, (long long)attempts, status);
	else
		ev_emit(d->log, o->env, "notify.failed", NULL, NULL, NULL, "%s not delivered to %s after %lld attempt(s): %s",
			o->event, orig, (long long)attempts, why);
	pthread_mutex_lock(&d->mu);
	if (ok)
		d->stats.notify_sent++;
	else
		d->stats.notify_failed++;
	pthread_mutex_unlock(&d->mu);
	sbx_err_clear(&err);
	free(detail);
	free(orig);
}

/* A failed attempt that is not the last: put the row back, due after the doubling backoff. */
static void retry(struct daemon_notify *n, const struct state_outbox *o, int64_t attempts, const char *why)
{
	struct sbx_err err = SBX_ERR_INIT;
	int64_t wait = (int64_t)NOTIFY_BACKOFF_S << (attempts - 1);
	if (state_outbox_retry(n->d->st, o->id, n->d->reaper, attempts, notify_now(n) + wait, why, &err) < 0)
		ev_emit(n->d->log, o->env, "notify.error", NULL, NULL, NULL, "cannot record the attempt on %s: %s", o->id,
			err.n ? err.msgs[0].text : "?");
	ev_emit(n->d->log, o->env, "notify.retry", NULL, NULL, NULL, "%s: attempt %lld failed: %s; next in %llds",
		o->event, (long long)attempts, why, (long long)wait);
	sbx_err_clear(&err);
}

/* POST a claimed row once; then delete it (delivered, or its last attempt) or put it back. */
static void attempt(struct daemon_notify *n, const struct state_outbox *o)
{
	struct sbx_err err = SBX_ERR_INIT;
	struct env_notify_target t = {.url = o->url, .secret = o->secret};
	long status = 0;
	bool ok = env_notify_post(&t, o->event, o->id, o->body, NOTIFY_TIMEOUT_S, &status, &err) == 0;
	int64_t attempts = o->attempts + 1;
	const char *why = err.n ? err.msgs[err.n - 1].text : "?";
	if (ok || attempts >= NOTIFY_ATTEMPTS)
		outcome(n->d, o, ok, attempts, status, why);
	else
		retry(n, o, attempts, why);
	sbx_err_clear(&err);
}

/* A row whose signing secret cannot be opened (the state's key changed, or it was tampered with):
 * it never will, so it is given up at once, unsent (unsigned, it would pass for a forgery). */
static void give_up(struct daemon_notify *n, const struct state_outbox *o)
{
	char *why = xasprintf("signing secret unreadable: %s", o->unreadable);
	outcome(n->d, o, false, o->attempts, 0, why);
	free(why);
}

/* Deliver the row due first: 1 = one was tried, 0 = none is due, -1 = the state failed (logged once). */
static int deliver_next(struct daemon_notify *n)
{
	struct sbx_err err = SBX_ERR_INIT;
	struct state_outbox *o = NULL;
	if (state_outbox_claim(n->d->st, n->d->reaper, notify_now(n), NOTIFY_LEASE_S, &o, &err) < 0) {
		if (!n->failing)
			ev_emit(n->d->log, NULL, "notify.error", NULL, NULL, NULL, "cannot read the webhook outbox: %s",
				err.n ? err.msgs[0].text : "?");
		n->failing = true;
		sbx_err_clear(&err);
		return -1;
	}
	n->failing = false;
	if (o == NULL)
		return 0;
	if (o->unreadable)
		give_up(n, o);
	else
		attempt(n, o);
	state_outbox_free(o);
	return 1;
}

/* The worker: deliver what is due, oldest first, until stopped. */
static void *notify_main(void *arg)
{
	struct daemon_notify *n = arg;
	for (;;) {
		pthread_mutex_lock(&n->mu);
		bool stop = n->stop;
		pthread_mutex_unlock(&n->mu);
		if (stop || (deliver_next(n) <= 0 && !idle(n, NOTIFY_POLL_MS)))
			return NULL;
	}
}

/* Start the worker: it delivers what an earlier daemon left first. */
int daemon_notify_start(struct daemon *d, struct daemon_notify **out, struct sbx_err *err)
{
	struct daemon_notify *n = xcalloc(1, sizeof(*n));
	n->d = d;
	n->mono0 = sbx_mono_ms();
	pthread_mutex_init(&n->mu, NULL);
	sbx_cond_init_mono(&n->cv);
	if (pthread_create(&n->th, NULL, notify_main, n) != 0) {
		pthread_cond_destroy(&n->cv);
		pthread_mutex_destroy(&n->mu);
		free(n);
		return sbx_err_set(err, SBX_EXIT_FAILED, "cannot start the webhook thread");
	}
	*out = n;
	return 0;
}

/* Stop the worker after its current attempt; what waits stays in the outbox for the next daemon. */
void daemon_notify_stop(struct daemon_notify *n)
{
	struct sbx_err err = SBX_ERR_INIT;
	int64_t left = 0;
	if (n == NULL)
		return;
	pthread_mutex_lock(&n->mu);
	n->stop = true;
	pthread_cond_broadcast(&n->cv);
	pthread_mutex_unlock(&n->mu);
	pthread_join(n->th, NULL);
	if (state_outbox_release(n->d->st, n->d->reaper, &err) < 0 || state_outbox_count(n->d->st, &left, &err) < 0)
		ev_emit(n->d->log, NULL, "notify.error", NULL, NULL, NULL, "cannot read the webhook outbox: %s",
			err.n ? err.msgs[0].text : "?");
	else if (left > 0)
		ev_emit(n->d->log, NULL, "notify.pending", NULL, NULL, NULL, "webhook deliveries left in the state's outbox "
			"for the next daemon: %lld", (long long)left);
	sbx_err_clear(&err);
	pthread_cond_destroy(&n->cv);
	pthread_mutex_destroy(&n->mu);
	free(n);
}

/* Wake the worker: a delivery was queued. */
static void wake(struct daemon *d)
{
	struct daemon_notify *n = d->notify;
	pthread_mutex_lock(&n->mu);
	n->wake = true;
	pthread_cond_signal(&n->cv);
	pthread_mutex_unlock(&n->mu);
}

/* After a put: wake the worker, or log a drop (the outbox is full). */
void daemon_notify_queued(struct daemon *d, const struct state_outbox *o, enum state_outbox_put res)
{
	if (res == STATE_OUTBOX_QUEUED)
		wake(d);
	else if (res == STATE_OUTBOX_FULL)
		ev_emit(d->log, o->env, "notify.dropped", NULL, NULL, NULL, "%s not delivered: %d deliveries already wait "
			"in the outbox", o->event, STATE_OUTBOX_CAP);
}

/* The delivery of the body j (taken) about e to t (taken; NULL: none). */
struct state_outbox *daemon_notify_item(const struct state_env *e, struct env_notify_target *t, const char *event,
	const char *id, json_t *j)
{
	struct state_outbox *o = NULL;
	if (t) {
		json_object_set_new(j, "id", json_string(id));
		json_object_set_new(j, "type", json_string(event));
		json_object_set_new(j, "env", json_string(e->name));
		json_object_set_new(j, "env_id", json_string(e->id));
		json_object_set_new(j, "time", json_integer(sbx_now()));
		o = xcalloc(1, sizeof(*o));
		*o = (struct state_outbox){.id = xstrdup(id), .env = xstrdup(e->name), .env_id = xstrdup(e->id),
			.event = xstrdup(event), .body = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS), .url = t->url,
			.secret = t->secret, .created = sbx_now()};
		t->url = t->secret = NULL;
		env_notify_target_free(t);
	}
	json_decref(j);
	return o;
}

/* Queue a POST of the body j (taken) about e to t (taken; NULL: nothing to send). */
void daemon_notify_send(struct daemon *d, const struct state_env *e, struct env_notify_target *t, const char *event,
	const char *id, json_t *j)
{
	struct sbx_err err = SBX_ERR_INIT;
	enum state_outbox_put res = STATE_OUTBOX_DUPLICATE;
	struct state_outbox *o = daemon_notify_item(e, t, event, id, j);
	if (o && state_outbox_put(d->st, o, &res, &err) < 0)
		ev_emit(d->log, e->name, "notify.error", NULL, NULL, NULL, "%s not delivered: %s", event, err.msgs[0].text);
	else if (o)
		daemon_notify_queued(d, o, res);
	state_outbox_free(o);
	sbx_err_clear(&err);
}

/* The webhook of e's blueprint, or NULL (none, or its secret not set: logged). */
struct env_notify_target *daemon_notify_target(struct daemon *d, const struct state_env *e, const char *event)
{
	struct sbx_err err = SBX_ERR_INIT;
	struct env_notify_target *t = NULL;
	if (env_notify_target(d->st, e, &t, &err) < 0)
		ev_emit(d->log, e->name, "notify.error", NULL, NULL, NULL, "%s not delivered: %s", event, err.msgs[0].text);
	sbx_err_clear(&err);
	return t;
}
