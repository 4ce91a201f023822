/*
 * mock_server — a mock's HTTP server: the route table with {name} captures, the request pipeline
 * (the API key as a bearer token or X-Api-Key, fault injection, access log, metrics), the built-in
 * routes (/healthz, /metrics, /admin/faults), the generic inspection routes of a store, and the
 * whole main() of a mock.
 *
 * A mock is route handlers plus its domain; the shared library (mocks/common) holds the rest, one
 * header per module: mock_opts (command line), mock_http (libmicrohttpd listener), mock_req
 * (request/response, JSON helpers), mock_store (records in memory and SQLite, long-poll),
 * mock_metrics, mock_log, mock_faults, mock_sched (delayed jobs), mock_webhook (signed deliveries,
 * mock_sig; their targets checked and pinned by mock_target against the allow-list of mock_allow),
 * mock_kv and mock_util.
 *
 * Threads: handlers run on libmicrohttpd's pool threads, concurrently, and must not block: a
 * long-poll hands back a wait (mock_resp_wait), a latency a delay (mock_resp_delay). Every object
 * of the library is thread-safe unless its comment says otherwise. JSON values handed to handlers
 * are private copies.
 */
#ifndef SBX_MOCK_SERVER_H
#define SBX_MOCK_SERVER_H

#include "mock_opts.h"
#include "mock_req.h"
#include "mock_util.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mock_faults;
struct mock_metrics;
struct mock_sched;
struct mock_store;
struct mock_webhook;

struct mock_server;
typedef void (*mock_handler_fn)(const struct mock_req *req, struct mock_resp *resp, void *arg);

enum mock_route_flags {
	MOCK_ROUTE_PUBLIC = 1 << 0, /* no API key needed (/healthz, /metrics) */
	MOCK_ROUTE_FAULTS = 1 << 1, /* fault injection (latency, error rate) applies */
	MOCK_ROUTE_SELF_AUTH = 1 << 2, /* the handler authenticates (a provider's own scheme): no API key */
};

/*
 * A server on these options, with its database (opts->data), metrics, faults, scheduler and
 * webhook sender, and the built-in routes GET /healthz, GET /metrics, GET|PUT|DELETE
 * /admin/faults. `name` ("sms") labels logs and metrics. Not listening yet. `opts` is borrowed
 * and must outlive the server.
 */
struct mock_server *mock_server_new(const char *name, const struct mock_opts *opts,
				    struct mock_err *e);
/* Stop (if started) and free everything, stores included. NULL is a no-op. */
void mock_server_free(struct mock_server *s);
/*
 * Register a route. Pattern segments "{name}" capture one path segment (at most
 * MOCK_MAX_PARAMS); a final segment "*" matches the rest of the path (one segment or more), and
 * the method "*" any method. First registered match wins, so register "/x/wait" before "/x/{id}"
 * and catch-alls last. A path that matches with another method only answers 405.
 */
void mock_server_route(struct mock_server *s, const char *method, const char *pattern,
		       mock_handler_fn fn, void *arg, unsigned flags);
/* Whether a guarded route applies to a request (its headers, method, path; no captures yet). */
typedef bool (*mock_guard_fn)(const struct mock_req *req);
/*
 * A route that applies only to the requests `when` accepts; the others go on to the next routes
 * (they neither match it nor make a 405). Two APIs on one path (a provider's SDK's and the mock's
 * own JSON API) are told apart this way.
 */
void mock_server_route_when(struct mock_server *s, const char *method, const char *pattern,
			    mock_handler_fn fn, void *arg, unsigned flags, mock_guard_fn when);
/* A store (collection) of the server's database, created on first use; owned by the server. */
struct mock_store *mock_server_store(struct mock_server *s, const char *name, struct mock_err *e);

enum mock_inspect_flags {
	MOCK_INSPECT_LIST = 1 << 0,   /* GET prefix?filters&limit=&offset= → {"items", "total"} */
	MOCK_INSPECT_GET = 1 << 1,    /* GET prefix/{id} → record | 404 */
	MOCK_INSPECT_WAIT = 1 << 2,   /* GET prefix/wait?filters&timeout=10s&after=<id> → record | 408 */
	MOCK_INSPECT_DELETE = 1 << 3, /* DELETE prefix/{id} → 204 | 404; DELETE prefix → {"deleted": n} */
	MOCK_INSPECT_ALL = 15,
};
/* Register the generic inspection routes for a store under prefix ("/v1/messages"). */
void mock_server_inspect(struct mock_server *s, const char *prefix, struct mock_store *st,
			 unsigned flags);

/* Whether a presented secret (NULL: none) equals want, in constant time. */
bool mock_secret_equal(const char *given, const char *want);

/* The server's options, metrics, faults and scheduler (owned by the server). */
const struct mock_opts *mock_server_opts(const struct mock_server *s);
struct mock_metrics *mock_server_metrics(struct mock_server *s);
struct mock_faults *mock_server_faults(struct mock_server *s);
struct mock_sched *mock_server_sched(struct mock_server *s);
/* The webhook sender; its delivery log is the store "webhook_deliveries". */
struct mock_webhook *mock_server_webhook(struct mock_server *s);

/*
 * Run the pipeline on a request without any socket: route (404/405), API key (401), faults
 * (latency, error rate), handler, metrics sbx_mock_http_requests_total{route,method,status}, access
 * log. Sets req->route and captures. /metrics also shows sbx_mock_waiters{collection} (long-polls
 * in progress). What the HTTP layer calls, and what fuzzers call.
 */
void mock_server_handle(struct mock_server *s, struct mock_req *req, struct mock_resp *resp);
/* What mock_server_step asks of its caller. */
enum mock_step {
	MOCK_STEP_DONE,  /* resp is the answer (counted and logged) */
	MOCK_STEP_SLEEP, /* call again after *ms milliseconds (injected latency, mock_resp_delay) */
	MOCK_STEP_WAIT,  /* resp->wait is a long-poll: finish it (mock_wait_finish), then call again */
};
/*
 * The pipeline of mock_server_handle in steps that never block, for the HTTP layer: call with a
 * new request (req->stage 0) and the same req and resp again as told until MOCK_STEP_DONE.
 */
enum mock_step mock_server_step(struct mock_server *s, struct mock_req *req,
				struct mock_resp *resp, int64_t *ms);
/*
 * Count and log a finished request that started at t0_ms (monotonic): what mock_server_handle does
 * after the handler, and what the HTTP layer does for requests it answers itself (413).
 */
void mock_server_account(struct mock_server *s, const struct mock_req *req,
			 const struct mock_resp *resp, int64_t t0_ms);

/* Listen on opts->listen_host:listen_port (port 0 = any). 0 / -1. */
int mock_server_start(struct mock_server *s, struct mock_err *e) MOCK_WUR;
/* The bound port (after start). */
int mock_server_port(const struct mock_server *s);
/* Print "listening on http://HOST:PORT" on stdout and flush. */
void mock_server_announce(const struct mock_server *s);
/* Stop accepting, wake long-polls, close connections, stop background threads. Idempotent. */
void mock_server_stop(struct mock_server *s);

/*
 * Block SIGTERM, SIGINT (and ignore SIGPIPE) in the calling thread; call first in main, before
 * any thread starts, so that every thread inherits the mask.
 */
void mock_signals_block(void);
/* Wait for SIGTERM or SIGINT (blocked with mock_signals_block); returns the signal. */
int mock_signals_wait(void);

/*
 * The whole main() of a simple mock: parse options (common + extra), create the server, call
 * setup(srv, arg) to register routes (0 / -1 with e), start, announce, wait for SIGTERM/SIGINT,
 * call teardown(arg) (may be NULL) after the server stopped, free. Returns the exit status
 * (0, or 2 for usage errors, 1 for other failures).
 */
int mock_main(int argc, char **argv, const char *name, const struct mock_optdef *extra,
	      size_t nextra, int (*setup)(struct mock_server *srv, void *arg, struct mock_err *e),
	      void (*teardown)(void *arg), void *arg);

#endif
