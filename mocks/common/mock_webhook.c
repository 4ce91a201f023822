/* mock_webhook — signed webhook deliveries on libcurl with retries and a delivery log. */
#include "mock_webhook.h"

#include "clock.h"
#include "mock_kv.h"
#include "mock_log.h"
#include "mock_metrics.h"
#include "mock_opts.h"
#include "mock_req.h"
#include "mock_sched.h"
#include "mock_sig.h"
#include "mock_store.h"
#include "mock_target.h"
#include "mock_util.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct delivery;

/* A worker of the pool: its thread and its libcurl handle (created at its first attempt). */
struct worker {
	struct mock_webhook *w;
	pthread_t thread;
	CURL *curl;
	char *busy; /* the target ("host:port") of the attempt in progress, or NULL (w->lock) */
};

struct mock_webhook {
	struct mock_sched *sched;     /* first attempts and retries, when due, go to `ready` */
	pthread_mutex_t lock;         /* ready, queued, stop, the workers' busy */
	pthread_cond_t cond;
	struct delivery *ready, *ready_tail; /* due deliveries, oldest first */
	size_t queued;                /* deliveries accepted and not finished */
	size_t max_queued;
	struct worker *workers;       /* started on demand, up to nworkers */
	size_t nworkers, nstarted, nidle;
	bool stop;
	struct mock_store *log;
	struct mock_metrics *metrics;
	const struct mock_opts *opts; /* the allow-list */
	char *secret;
	int attempts;
	int64_t backoff_ms, timeout_ms;
};

struct delivery {
	struct mock_webhook *w;
	char *id, *event, *body;
	char *content_type;
	char *sig_header, *sig_secret; /* a second signature header and its key, or NULL */
	struct mock_kvlist headers; /* the caller's extra headers */
	struct mock_target target;
	char *key;  /* "host:port": one attempt at a time per target */
	int attempt;
	struct delivery *next; /* in w->ready */
};

/* The outcome of one attempt. */
struct attempt {
	long status;
	char error[CURL_ERROR_SIZE];
	int64_t duration_ms;
	bool done;  /* no more attempts */
	bool ok;
};

static void *worker_main(void *arg);
static void worker_start(struct mock_webhook *w);

/* Initialise libcurl once per process. */
static void curl_init_once(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* Start a sender. */
struct mock_webhook *mock_webhook_new(const struct mock_opts *o, struct mock_store *log,
				      struct mock_metrics *m)
{
	struct mock_webhook *w = mock_xcalloc(1, sizeof(*w));

	w->log = log;
	w->metrics = m;
	w->opts = o;
	w->secret = mock_xstrdup(o->webhook_secret);
	w->attempts = o->webhook_attempts > 0 ? o->webhook_attempts : 1;
	w->backoff_ms = o->webhook_backoff_ms;
	w->timeout_ms = o->webhook_timeout_ms > 0 ? o->webhook_timeout_ms : 5000;
	mock_metrics_describe(m, "sbx_mock_webhook_deliveries_total", "counter",
			      "Webhook delivery attempts by result.");
	mock_metrics_describe(m, "sbx_mock_webhook_failures_total", "counter",
			      "Webhook deliveries given up after the last attempt.");
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->cond, NULL);
	w->max_queued = o->webhook_queue ? o->webhook_queue : 10000;
	w->nworkers = o->webhook_workers ? o->webhook_workers : 4;
	w->workers = mock_xcalloc(w->nworkers, sizeof(*w->workers));
	w->sched = mock_sched_new();
	return w;
}

/* Free one delivery job. */
static void delivery_free(void *arg)
{
	struct delivery *d = arg;

	free(d->id);
	free(d->key);
	mock_target_clear(&d->target);
	free(d->event);
	free(d->body);
	free(d->content_type);
	free(d->sig_header);
	if (d->sig_secret)
		mock_wipe_str(d->sig_secret);
	free(d->sig_secret);
	mock_kv_free(&d->headers);
	free(d);
}

/* Stop and free: the attempts in progress end, the rest is dropped. */
void mock_webhook_free(struct mock_webhook *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->lock);
	w->stop = true;
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
	for (size_t i = 0; i < w->nstarted; i++) {
		pthread_join(w->workers[i].thread, NULL);
		curl_easy_cleanup(w->workers[i].curl);
	}
	mock_sched_free(w->sched); /* drops what is not due yet */
	while (w->ready) {
		struct delivery *d = w->ready;
		w->ready = d->next;
		delivery_free(d);
	}
	free(w->workers);
	pthread_cond_destroy(&w->cond);
	pthread_mutex_destroy(&w->lock);
	free(w->secret);
	free(w);
}

/* Discard the receiver's answer. */
static size_t discard(char *p, size_t size, size_t n, void *arg)
{
	(void)p;
	(void)arg;
	return size * n;
}

/* Build the request headers of an attempt. */
static struct curl_slist *attempt_headers(struct mock_webhook *w, struct delivery *d)
{
	char *line = mock_xasprintf("Content-Type: %s", d->content_type);
	struct curl_slist *h = curl_slist_append(NULL, line);

	free(line);
	for (size_t i = 0; i < d->headers.n; i++) {
		line = mock_xasprintf("%s: %s", d->headers.v[i].key, d->headers.v[i].value);
		h = curl_slist_append(h, line);
		free(line);
	}
	line = mock_xasprintf("Sbx-Delivery: %s", d->id);
	h = curl_slist_append(h, line);
	free(line);
	line = mock_xasprintf("Sbx-Event: %s", d->event);
	h = curl_slist_append(h, line);
	free(line);
	if (w->secret) {
		char *sig = mock_signature(w->secret, mock_now_ms() / 1000, d->body, strlen(d->body));
		line = mock_xasprintf("Signature: %s", sig);
		h = curl_slist_append(h, line);
		free(sig);
		free(line);
	}
	if (d->sig_header) {
		char *sig = mock_signature(d->sig_secret, mock_now_ms() / 1000, d->body, strlen(d->body));
		line = mock_xasprintf("%s: %s", d->sig_header, sig);
		h = curl_slist_append(h, line);
		free(sig);
		free(line);
	}
	return curl_slist_append(h, "Expect:");
}

/* POST once, on the worker's handle. */
static void attempt_post(struct worker *wk, struct delivery *d, struct attempt *a)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	struct mock_webhook *w = wk->w;
	struct curl_slist *h = attempt_headers(w, d), *pin;
	int64_t t0 = sbx_mono_ms();
	CURLcode rc;
	CURL *c;

	pthread_once(&once, curl_init_once); /* lazily: an idle mock never loads TLS */
	if (!wk->curl)
		wk->curl = curl_easy_init();
	c = wk->curl;
	curl_easy_reset(c);
	pin = mock_target_pin(&d->target, c);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, d->body);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)w->timeout_ms);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, a->error);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	a->error[0] = '\0';
	rc = curl_easy_perform(c);
	a->duration_ms = sbx_mono_ms() - t0;
	if (rc == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &a->status);
	else if (!a->error[0])
		snprintf(a->error, sizeof(a->error), "%s", curl_easy_strerror(rc));
	if (rc == CURLE_OK && (a->status < 200 || a->status > 299))
		snprintf(a->error, sizeof(a->error), "receiver answered %ld", a->status);
	a->ok = rc == CURLE_OK && a->status >= 200 && a->status <= 299;
	a->done = a->ok || d->attempt >= w->attempts;
	curl_slist_free_all(h);
	curl_slist_free_all(pin);
}

/* Record an attempt in the delivery's log record. */
static int log_attempt(json_t *rec, void *arg)
{
	const struct attempt *a = arg;
	char ts[32];
	json_t *hist = json_object_get(rec, "history");

	mock_fmt_time(mock_now_ms(), ts);
	json_object_set_new(rec, "status", json_string(a->ok ? "succeeded" : a->done ? "failed" : "pending"));
	json_object_set_new(rec, "attempts", json_integer(json_integer_value(json_object_get(rec, "attempts")) + 1));
	json_object_set_new(rec, "response_status", a->status ? json_integer(a->status) : json_null());
	json_object_set_new(rec, "error", a->ok ? json_null() : json_string(a->error));
	json_object_set_new(rec, "updated_at", json_string(ts));
	if (json_is_array(hist))
		json_array_append_new(hist, json_pack("{s:s,s:o,s:o,s:I}", "at", ts, "response_status",
						      a->status ? json_integer(a->status) : json_null(), "error",
						      a->ok ? json_null() : json_string(a->error), "duration_ms",
						      (json_int_t)a->duration_ms));
	return 0;
}

/* Record the address a delivery was pinned to. */
static int log_address(json_t *rec, void *arg)
{
	const struct mock_target *t = arg;

	json_object_set_new(rec, "address", json_string(t->addr_text));
	return 0;
}

/* Record that a delivery's target was refused at its first attempt. */
static int log_refused(json_t *rec, void *arg)
{
	char ts[32];

	mock_fmt_time(mock_now_ms(), ts);
	json_object_set_new(rec, "status", json_string("refused"));
	json_object_set_new(rec, "error", json_string(arg));
	json_object_set_new(rec, "updated_at", json_string(ts));
	return 0;
}

/* Record that a delivery was dropped unattempted (the queue was full). */
static int log_dropped(json_t *rec, void *arg)
{
	char ts[32];

	mock_fmt_time(mock_now_ms(), ts);
	json_object_set_new(rec, "status", json_string("failed"));
	json_object_set_new(rec, "error", json_string(arg));
	json_object_set_new(rec, "updated_at", json_string(ts));
	return 0;
}

/* Pin a delivery's target at its first attempt; false (logged, counted) when refused. */
static bool delivery_pin(struct mock_webhook *w, struct delivery *d)
{
	struct mock_err e;

	if (mock_target_pinned(&d->target))
		return true;
	if (mock_target_check(&d->target, &w->opts->allow_callback, w->opts->callback_numeric, &e) == 0) {
		mock_store_update(w->log, d->id, log_address, &d->target);
		return true;
	}
	mock_metrics_add(w->metrics, "sbx_mock_webhook_deliveries_total", "result=\"refused\"", 1);
	mock_store_update(w->log, d->id, log_refused, e.msg);
	mock_log_event("warn", "webhook refused",
		       json_pack("{s:s,s:s,s:s}", "delivery", d->id, "url", d->target.url, "error", e.msg));
	return false;
}

/* A delivery leaves the sender (given up, done or refused). */
static void delivery_end(struct delivery *d)
{
	struct mock_webhook *w = d->w;

	pthread_mutex_lock(&w->lock);
	w->queued--;
	pthread_mutex_unlock(&w->lock);
	delivery_free(d);
}

/* Start one more worker (w->lock held). */
static void worker_start(struct mock_webhook *w)
{
	struct worker *wk = &w->workers[w->nstarted];

	wk->w = w;
	if (pthread_create(&wk->thread, NULL, worker_main, wk) != 0) {
		mock_log("error", "cannot start a webhook worker");
		abort();
	}
	w->nstarted++;
}

/* The scheduler: a delivery is due; a worker takes it when its target is free. */
static void delivery_due(void *arg)
{
	struct delivery *d = arg;
	struct mock_webhook *w = d->w;

	pthread_mutex_lock(&w->lock);
	d->next = NULL;
	if (w->ready_tail)
		w->ready_tail->next = d;
	else
		w->ready = d;
	w->ready_tail = d;
	if (w->nidle == 0 && w->nstarted < w->nworkers && !w->stop)
		worker_start(w);
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
}

/* Whether a worker is attempting a delivery to key (w->lock held). */
static bool target_busy(struct mock_webhook *w, const char *key)
{
	for (size_t i = 0; i < w->nstarted; i++)
		if (w->workers[i].busy && strcmp(w->workers[i].busy, key) == 0)
			return true;
	return false;
}

/* Take the oldest ready delivery whose target is free, or NULL (w->lock held). */
static struct delivery *ready_take(struct mock_webhook *w)
{
	struct delivery **pp = &w->ready, *prev = NULL;

	for (; *pp; prev = *pp, pp = &(*pp)->next) {
		struct delivery *d = *pp;
		if (target_busy(w, d->key))
			continue;
		*pp = d->next;
		if (w->ready_tail == d)
			w->ready_tail = prev;
		d->next = NULL;
		return d;
	}
	return NULL;
}

static void delivery_run(struct worker *wk, struct delivery *d);

/* A worker: attempt ready deliveries, one per target at a time, until stopped. */
static void *worker_main(void *arg)
{
	struct worker *wk = arg;
	struct mock_webhook *w = wk->w;
	struct delivery *d;

	pthread_mutex_lock(&w->lock);
	while (!w->stop) {
		if (!(d = ready_take(w))) {
			w->nidle++;
			pthread_cond_wait(&w->cond, &w->lock);
			w->nidle--;
			continue;
		}
		wk->busy = mock_xstrdup(d->key); /* d may be freed before the worker is done */
		pthread_mutex_unlock(&w->lock);
		delivery_run(wk, d); /* d is gone (freed or rescheduled) afterwards */
		pthread_mutex_lock(&w->lock);
		free(wk->busy);
		wk->busy = NULL;
		pthread_cond_broadcast(&w->cond); /* that target is free again */
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

/* Run one attempt, then retry or finish. */
static void delivery_run(struct worker *wk, struct delivery *d)
{
	struct mock_webhook *w = wk->w;
	struct attempt a = {0};
	int64_t delay;

	if (!delivery_pin(w, d)) {
		delivery_end(d);
		return;
	}
	d->attempt++;
	attempt_post(wk, d, &a);
	mock_metrics_add(w->metrics, "sbx_mock_webhook_deliveries_total",
			 a.ok ? "result=\"succeeded\"" : "result=\"failed\"", 1);
	mock_store_update(w->log, d->id, log_attempt, &a);
	if (a.done) {
		if (!a.ok) {
			mock_metrics_add(w->metrics, "sbx_mock_webhook_failures_total", "", 1);
			mock_log_event("warn", "webhook delivery failed",
				       json_pack("{s:s,s:s,s:i,s:s}", "delivery", d->id, "url", d->target.url,
						 "attempts", d->attempt, "error", a.error));
		}
		delivery_end(d);
		return;
	}
	delay = w->backoff_ms;
	for (int i = 1; i < d->attempt && delay < 60000; i++)
		delay *= 2;
	/* the key stays busy until we return: a retry is never due before that */
	mock_sched_after(w->sched, delay < 60000 ? delay : 60000, delivery_due, delivery_free, d);
}

/* Check and resolve a URL from a request now. */
int mock_webhook_target(const struct mock_webhook *w, const char *url, struct mock_target *t,
			struct mock_err *e)
{
	return mock_target_resolve(t, url, &w->opts->allow_callback, w->opts->callback_numeric, e);
}

/* Check a URL from the command line: a literal now, a name per delivery. */
int mock_webhook_configured(const struct mock_webhook *w, const char *url, struct mock_target *t,
			    struct mock_err *e)
{
	struct mock_target n;

	if (mock_target_parse(&n, url, e) < 0)
		return -1;
	if (mock_target_numeric(&n) &&
	    mock_target_check(&n, &w->opts->allow_callback, true, e) < 0) {
		mock_target_clear(&n);
		return -1;
	}
	*t = n;
	return 0;
}

/* Refuse a delivery the queue has no room for: logged "failed", counted. */
static void queue_full(struct mock_webhook *w, struct delivery *d)
{
	char error[96];

	snprintf(error, sizeof(error), "queue full (--webhook-queue %zu): not attempted", w->max_queued);
	mock_store_update(w->log, d->id, log_dropped, error);
	mock_metrics_add(w->metrics, "sbx_mock_webhook_failures_total", "", 1);
	mock_log_event("warn", "webhook dropped",
		       json_pack("{s:s,s:s,s:s}", "delivery", d->id, "url", d->target.url, "error", error));
	delivery_free(d);
}

/* Queue a delivery of a body the caller encoded. */
char *mock_webhook_send_raw(struct mock_webhook *w, const struct mock_target *t, const char *event,
			    const struct mock_webhook_raw *m, int64_t delay_ms)
{
	struct delivery *d = mock_xcalloc(1, sizeof(*d));
	char ts[32], *id;
	bool full;

	d->w = w;
	d->id = mock_id_new("whd_", 24);
	mock_target_copy(&d->target, t);
	d->key = mock_xasprintf("%s:%ld", t->host, t->port);
	d->event = mock_xstrdup(event);
	d->body = mock_xstrdup(m->body);
	d->content_type = mock_xstrdup(m->content_type);
	if (m->sig_header && m->sig_secret) {
		d->sig_header = mock_xstrdup(m->sig_header);
		d->sig_secret = mock_xstrdup(m->sig_secret);
	}
	for (size_t i = 0; m->headers && i < m->headers->n; i++)
		mock_kv_add(&d->headers, m->headers->v[i].key, m->headers->v[i].value);
	mock_fmt_time(mock_now_ms(), ts);
	mock_store_put(w->log, json_pack("{s:s,s:s,s:s?,s:s,s:s,s:i,s:n,s:n,s:s,s:s,s:o,s:[]}", "id",
					 d->id, "url", t->url, "address", mock_target_pinned(t) ? t->addr_text : NULL, "event", event,
					 "status", "pending", "attempts", 0, "response_status", "error",
					 "created_at", ts, "updated_at", ts, "body", json_deep_copy(m->logged),
					 "history"));
	id = mock_xstrdup(d->id); /* d belongs to the sender once scheduled */
	pthread_mutex_lock(&w->lock);
	full = w->queued >= w->max_queued;
	if (!full)
		w->queued++;
	pthread_mutex_unlock(&w->lock);
	if (full) {
		queue_full(w, d);
		return id;
	}
	mock_sched_after(w->sched, delay_ms, delivery_due, delivery_free, d);
	return id;
}

/* Queue a JSON delivery. */
char *mock_webhook_send(struct mock_webhook *w, const struct mock_target *t, const char *event,
			const json_t *doc, int64_t delay_ms)
{
	char *body = mock_json_dump(doc), *id;
	struct mock_webhook_raw m = {.content_type = "application/json", .body = body, .logged = doc};

	id = mock_webhook_send_raw(w, t, event, &m, delay_ms);
	free(body);
	return id;
}
