/* daemon_int — what the daemon's files share: the running daemon and its counters. */
#ifndef SBX_DAEMON_INT_H
#define SBX_DAEMON_INT_H

#include <pthread.h>
#include <stdbool.h>

#include "daemon.h"
#include "env.h"
#include "event.h"
#include "state.h"

#define DAEMON_NBUCKETS 10

/* The reaper's counters, read by /metrics and /healthz (under the daemon's mutex). */
struct daemon_stats {
	uint64_t passes, passes_ok;     /* reaper passes, and those whose state queries succeeded */
	int64_t last_ok_mono_ms;        /* when the last successful pass ended (0: none yet) */
	uint64_t reaped, failures;      /* teardowns that succeeded / failed */
	uint64_t warnings;              /* expiry warnings recorded by this process */
	uint64_t buckets[DAEMON_NBUCKETS]; /* teardown durations, cumulative per daemon_bucket_le */
	uint64_t count;
	double sum_s;
};
extern const double daemon_bucket_le[DAEMON_NBUCKETS];

struct daemon {
	const struct env_config *cfg;
	const struct daemon_opts *o;
	struct state *st;      /* shared by the reaper and the HTTP threads (the handle serialises) */
	struct ev_sink *log;   /* JSON lines on stderr */
	char *reaper;          /* "daemon@HOST:PID" */
	pthread_mutex_t mu;
	pthread_cond_t wake;   /* the reaper's sleep, cut short by a stop */
	bool stop;
	struct daemon_stats stats;
	struct daemon_http *http;
};

/* One reaper pass: reap, then warn; updates the counters. */
void daemon_pass(struct daemon *d);
/* Record the warnings due now (state_warn_record); -1 with err when the state failed. */
int daemon_warn(struct daemon *d, struct sbx_err *err);
/* Count a teardown in the counters (thread-safe). */
void daemon_stats_teardown(struct daemon *d, int64_t ms, bool ok);

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
