/* daemon_notify — the webhook deliveries: a bounded queue and one worker thread, so a slow or dead
 * receiver never holds up the reaper. */
#include "daemon_int.h"

#include "clock.h"

#include <errno.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#define NOTIFY_QUEUE 256      /* deliveries waiting at most; more are dropped (logged) */
#define NOTIFY_ATTEMPTS 4     /* per delivery */
#define NOTIFY_BACKOFF_MS 1000 /* before the second attempt, doubled each time */
#define NOTIFY_TIMEOUT_S 10L  /* per attempt */

/* One delivery. */
struct notify_job {
	char *env, *event, *id, *body;
	struct env_notify_target *t;
};

struct daemon_notify {
	struct daemon *d;
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv;  /* a job queued, or stop */
	bool stop;
	struct notify_job q[NOTIFY_QUEUE];
	size_t head, n;
};

/* Free a job's contents. */
static void job_clear(struct notify_job *j)
{
	free(j->env);
	free(j->event);
	free(j->id);
	free(j->body);
	env_notify_target_free(j->t);
	*j = (struct notify_job){0};
}

/* Wait ms on the monotonic clock unless stopped; whether to go on. */
static bool backoff(struct daemon_notify *n, int64_t ms)
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
	while (!n->stop && pthread_cond_timedwait(&n->cv, &n->mu, &ts) != ETIMEDOUT)
		;
	bool go = !n->stop;
	pthread_mutex_unlock(&n->mu);
	return go;
}

/* Record the outcome in the state's event log and in the daemon's log and counters. */
static void outcome(struct daemon *d, const struct notify_job *j, bool ok, int attempts, long status,
	const char *why)
{
	struct sbx_err err = SBX_ERR_INIT;
	char *o = env_notify_origin(j->t->url);
	json_t *x = json_pack("{s:s, s:s, s:i, s:I, s:s}", "event", j->event, "id", j->id, "attempts", attempts,
		"status", (json_int_t)status, "to", o);
	char *detail = json_dumps(x, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(x);
	if (state_event_add(d->st, j->env, ok ? "notify.sent" : "notify.failed", detail, &err) < 0)
		ev_emit(d->log, j->env, "notify.error", NULL, NULL, NULL, "cannot record the delivery %s: %s", j->id,
			err.n ? err.msgs[0].text : "?");
	if (ok)
		ev_emit(d->log, j->env, "notify.sent", NULL, NULL, NULL, "%s delivered to %s (attempt %d, HTTP %ld)",
			j->event, o, attempts, status);
	else
		ev_emit(d->log, j->env, "notify.failed", NULL, NULL, NULL, "%s not delivered to %s after %d attempt(s): %s",
			j->event, o, attempts, why);
	pthread_mutex_lock(&d->mu);
	if (ok)
		d->stats.notify_sent++;
	else
		d->stats.notify_failed++;
	pthread_mutex_unlock(&d->mu);
	sbx_err_clear(&err);
	free(detail);
	free(o);
}

/* Deliver one job: bounded attempts with a doubling backoff, cut short by a stop. */
static void deliver(struct daemon_notify *n, const struct notify_job *j)
{
	struct sbx_err err = SBX_ERR_INIT;
	int64_t wait = NOTIFY_BACKOFF_MS;
	long status = 0;
	int i = 0;
	bool ok = false;
	while (!ok && i < NOTIFY_ATTEMPTS) {
		sbx_err_clear(&err);
		ok = env_notify_post(j->t, j->event, j->id, j->body, NOTIFY_TIMEOUT_S, &status, &err) == 0;
		i++;
		if (!ok && i < NOTIFY_ATTEMPTS && !backoff(n, wait))
			break;
		wait *= 2;
	}
	outcome(n->d, j, ok, i, status, err.n ? err.msgs[err.n - 1].text : "stopped");
	sbx_err_clear(&err);
}

/* The worker: deliver jobs in order until stopped. */
static void *notify_main(void *arg)
{
	struct daemon_notify *n = arg;
	for (;;) {
		struct notify_job j;
		pthread_mutex_lock(&n->mu);
		while (!n->stop && n->n == 0)
			pthread_cond_wait(&n->cv, &n->mu);
		if (n->n == 0 || n->stop) {
			pthread_mutex_unlock(&n->mu);
			return NULL;
		}
		j = n->q[n->head];
		n->q[n->head] = (struct notify_job){0};
		n->head = (n->head + 1) % NOTIFY_QUEUE;
		n->n--;
		pthread_mutex_unlock(&n->mu);
		deliver(n, &j);
		job_clear(&j);
	}
}

/* Start the worker. */
int daemon_notify_start(struct daemon *d, struct daemon_notify **out, struct sbx_err *err)
{
	struct daemon_notify *n = xcalloc(1, sizeof(*n));
	n->d = d;
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

/* Stop the worker after its current attempt; what is still queued is logged as dropped. */
void daemon_notify_stop(struct daemon_notify *n)
{
	if (n == NULL)
		return;
	pthread_mutex_lock(&n->mu);
	n->stop = true;
	pthread_cond_broadcast(&n->cv);
	pthread_mutex_unlock(&n->mu);
	pthread_join(n->th, NULL);
	for (; n->n > 0; n->n--, n->head = (n->head + 1) % NOTIFY_QUEUE) {
		struct notify_job *j = &n->q[n->head];
		ev_emit(n->d->log, j->env, "notify.dropped", NULL, NULL, NULL, "%s not delivered: the daemon stopped",
			j->event);
		job_clear(j);
	}
	pthread_cond_destroy(&n->cv);
	pthread_mutex_destroy(&n->mu);
	free(n);
}

/* Queue a delivery (takes t); a full queue drops it with a log line. */
void daemon_notify_queue(struct daemon *d, const char *env, const char *event, const char *id, const char *body,
	struct env_notify_target *t)
{
	struct daemon_notify *n = d->notify;
	bool queued = false;
	pthread_mutex_lock(&n->mu);
	if (n->n < NOTIFY_QUEUE && !n->stop) {
		n->q[(n->head + n->n) % NOTIFY_QUEUE] = (struct notify_job){xstrdup(env), xstrdup(event), xstrdup(id),
			xstrdup(body), t};
		n->n++;
		queued = true;
		pthread_cond_signal(&n->cv);
	}
	pthread_mutex_unlock(&n->mu);
	if (!queued) {
		ev_emit(d->log, env, "notify.dropped", NULL, NULL, NULL, "%s not delivered: %d deliveries already wait",
			event, NOTIFY_QUEUE);
		env_notify_target_free(t);
	}
}

/* Queue a POST of the body j (taken) about e to t (taken; NULL: nothing to send). */
void daemon_notify_send(struct daemon *d, const struct state_env *e, struct env_notify_target *t, const char *event,
	const char *id, json_t *j)
{
	if (t) {
		json_object_set_new(j, "id", json_string(id));
		json_object_set_new(j, "type", json_string(event));
		json_object_set_new(j, "env", json_string(e->name));
		json_object_set_new(j, "env_id", json_string(e->id));
		json_object_set_new(j, "time", json_integer(sbx_now()));
		char *body = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
		daemon_notify_queue(d, e->name, event, id, body, t);
		free(body);
	}
	json_decref(j);
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
