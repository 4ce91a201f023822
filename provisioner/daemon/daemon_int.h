/* daemon_int — what the daemon's files share: the running daemon and its counters. */
#ifndef SBX_DAEMON_INT_H
#define SBX_DAEMON_INT_H

#include <pthread.h>
#include <stdbool.h>

#include <jansson.h>

#include "daemon.h"
#include "env.h"
#include "event.h"
#include "state.h"

#define DAEMON_NBUCKETS 12

/* A duration histogram: counts per daemon_bucket_le (cumulative), their number and sum. */
struct daemon_hist {
	uint64_t buckets[DAEMON_NBUCKETS];
	uint64_t count;
	double sum_s;
};
/* Count one duration of s seconds. */
void daemon_hist_add(struct daemon_hist *h, double s);

/* What /metrics reads from the state's event log (every up and down, the CLI's too), read
 * incrementally: each scrape reads only the events after the last one it saw. */
struct daemon_evstats {
	pthread_mutex_t mu;
	int64_t seen;              /* the last event id read */
	struct daemon_hist up, down;
	uint64_t up_failed, down_failed;
};

/* The reaper's counters, read by /metrics and /healthz (under the daemon's mutex). */
struct daemon_stats {
	uint64_t passes, passes_ok;     /* reaper passes, and those whose state queries succeeded */
	int64_t last_ok_mono_ms;        /* when the last successful pass ended (0: none yet) */
	uint64_t reaped, failures;      /* teardowns that succeeded / failed */
	uint64_t warnings;              /* expiry warnings recorded by this process */
	uint64_t notify_sent, notify_failed; /* webhook deliveries: delivered / given up */
	struct daemon_hist reap;        /* teardown durations */
};
extern const double daemon_bucket_le[DAEMON_NBUCKETS];

struct daemon {
	const struct env_config *cfg;
	const struct daemon_opts *o;
	struct state *st;      /* shared by the reaper and the HTTP threads (the handle serialises) */
	struct ev_sink *log;   /* JSON lines on stderr */
	char *reaper;          /* "daemon@HOST:PID.RANDOM" (state_reaper_id) */
	struct state_lock *alive; /* the reaper's liveness lock, held for the daemon's life */
	pthread_mutex_t mu;
	pthread_cond_t wake;   /* the reaper's sleep, cut short by a stop */
	bool stop;
	struct daemon_stats stats;
	struct daemon_evstats evs;
	struct daemon_http *http;
	struct daemon_notify *notify;
	struct daemon_warm *warm;   /* the warm pool's thread */
	bool st_lost;               /* the state's connection is gone: reconnecting */
	int64_t retry_at_ms, retry_ms; /* the next reconnection attempt (monotonic), the backoff */
};

/* One reaper pass: reap, then warn; updates the counters. */
void daemon_pass(struct daemon *d);
/* Record the warnings due now (state_warn_record); -1 with err when the state failed. */
int daemon_warn(struct daemon *d, struct sbx_err *err);
/* Count a teardown in the counters (thread-safe). */
void daemon_stats_teardown(struct daemon *d, int64_t ms, bool ok);

/* The webhook deliveries (daemon_notify.c): queued in the state's outbox, delivered by one worker
 * thread, at least once. Start delivers what an earlier daemon left; stop ends after the current
 * attempt and leaves what waits to the next daemon (NULL is a no-op). */
struct daemon_notify;
int daemon_notify_start(struct daemon *d, struct daemon_notify **out, struct sbx_err *err);
void daemon_notify_stop(struct daemon_notify *n);
/* The webhook of e's blueprint (e->bp_json) with its key, or NULL: none, or its secret is not set
 * (logged as notify.error about event). */
struct env_notify_target *daemon_notify_target(struct daemon *d, const struct state_env *e, const char *event);
/* The outbox row that POSTs the body j (taken), to which id, type (event), env, env_id and time are
 * added, to t (taken); NULL when t is NULL. Free with state_outbox_free. */
struct state_outbox *daemon_notify_item(const struct state_env *e, struct env_notify_target *t, const char *event,
	const char *id, json_t *j);
/* After o was put in the outbox (res): wake the worker, or log the drop of a full outbox. */
void daemon_notify_queued(struct daemon *d, const struct state_outbox *o, enum state_outbox_put res);
/* Queue (state_outbox_put) daemon_notify_item(e, t, event, id, j); nothing when t is NULL. */
void daemon_notify_send(struct daemon *d, const struct state_env *e, struct env_notify_target *t, const char *event,
	const char *id, json_t *j);
/* The warm pool's thread (daemon_warm.c): start; stop waits for it (NULL is a no-op). */
struct daemon_warm;
int daemon_warm_start(struct daemon *d, struct daemon_warm **out, struct sbx_err *err);
void daemon_warm_stop(struct daemon_warm *w);
/* The Prometheus text of /metrics; caller frees. -1 with err when the state cannot be read. */
int daemon_metrics(struct daemon *d, char **out, struct sbx_err *err);
/* The HTML page of /; caller frees. -1 with err when the state cannot be read. */
int daemon_page(struct daemon *d, char **out, struct sbx_err *err);

/* The HTTP side: start listening (the bound port in *port), stop (NULL is a no-op). */
struct daemon_http;
int daemon_http_start(struct daemon *d, const char *host, int port, int *bound, char **addr,
	struct daemon_http **out, struct sbx_err *err);
void daemon_http_stop(struct daemon_http *h);

#endif
