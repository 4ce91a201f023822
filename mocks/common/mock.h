/*
 * mock — the shared library of the mocked external services (sbx-mock-sms, -mail, -payment).
 *
 * A mock is route handlers plus its domain; everything generic lives here:
 *   options   common command line (--listen, --data, --api-key, --max-body, ...) + per-mock extras
 *   server    libmicrohttpd (one thread per connection), body cap (413), route table with {name}
 *             captures, bearer auth, fault injection, access log, metrics, /healthz, /metrics,
 *             /admin/faults; mock_server_handle() runs the whole pipeline without a socket (fuzzers)
 *   req/resp  plain request/response objects independent of libmicrohttpd; JSON helpers on jansson
 *   store     a collection of JSON records (in memory, written through to SQLite with --data) with
 *             filters, paging, a cap and long-poll waiters
 *   metrics   a Prometheus counter/gauge registry
 *   log       JSON-lines on stderr
 *   faults    the PUT /admin/faults configuration: latency, error rate, per-target failures
 *   sched     a background thread running delayed jobs
 *   webhook   signed (HMAC-SHA256) webhook deliveries with exponential backoff and a delivery log
 *
 * Threads: handlers run on libmicrohttpd's connection threads, concurrently. Every object here is
 * thread-safe unless its comment says otherwise. JSON values handed to handlers are private copies.
 */
#ifndef SBX_MOCK_H
#define SBX_MOCK_H

#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MOCK_PRINTF(a, b) __attribute__((format(printf, a, b)))
#define MOCK_WUR __attribute__((warn_unused_result))
#define MOCK_NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* ---- util ------------------------------------------------------------------------------- */

/* Allocation wrappers: never return NULL (abort with a message on out-of-memory). */
void *mock_xmalloc(size_t n);
void *mock_xcalloc(size_t n, size_t size);
void *mock_xrealloc(void *p, size_t n);
char *mock_xstrdup(const char *s); /* mock_xstrdup(NULL) == NULL */
char *mock_xstrndup(const char *s, size_t n);
char *mock_xasprintf(const char *fmt, ...) MOCK_PRINTF(1, 2); /* caller frees */

/* The error object: a function that fails writes one message here and returns -1. */
struct mock_err {
	char msg[512];
};
/* Set the message (replacing a previous one). Returns -1. */
int mock_err_set(struct mock_err *e, const char *fmt, ...) MOCK_PRINTF(2, 3);

/* Wall clock in milliseconds since the epoch; monotonic milliseconds; sleep. */
int64_t mock_now_ms(void);
int64_t mock_mono_ms(void);
void mock_sleep_ms(int64_t ms);
/* RFC 3339 UTC time with milliseconds ("2026-11-22T22:15:03.120Z") of ms since the epoch. */
void mock_fmt_time(int64_t ms, char out[32]);
/* A fresh random id: prefix + `len` characters of [0-9a-z] ("SM" + 32, "pi_" + 24); caller frees. */
char *mock_id_new(const char *prefix, size_t len);
/* Uniform random integer in [lo, hi] (hi >= lo). */
int64_t mock_rand_range(int64_t lo, int64_t hi);
/* Uniform random double in [0, 1). */
double mock_rand_unit(void);
/* Strict decimal integer parse of the whole string; 0 on success, -1 otherwise. */
int mock_parse_int(const char *s, int64_t min, int64_t max, int64_t *out);
/* Duration: "10s", "500ms", "2m", or a bare number of seconds → milliseconds. 0 / -1. */
int mock_parse_duration_ms(const char *s, int64_t *ms);
/* Size: "1048576", "64k", "1M" (binary units) → bytes. 0 / -1. */
int mock_parse_size(const char *s, size_t *bytes);

/* Whether s starts with "http://" or "https://". */
bool mock_is_http_url(const char *s);

/* Lowercase hex HMAC-SHA256 of data under key (out has 65 bytes). */
void mock_hmac_sha256_hex(const char *key, const void *data, size_t len, char out[65]);
/* Lowercase hex SHA-256 (out has 65 bytes). */
void mock_sha256_hex(const void *data, size_t len, char out[65]);
/*
 * The webhook signature header value "t=<ts>,v1=<hex HMAC-SHA256(secret, "<ts>.<body>")>";
 * caller frees.
 */
char *mock_signature(const char *secret, int64_t ts, const char *body, size_t len);
/* Check a "t=..,v1=.." header against body; tolerance_s = 0 disables the age check. */
bool mock_signature_verify(const char *secret, const char *header, const char *body, size_t len,
			   int64_t now_s, int64_t tolerance_s);

/* A growable string buffer (zero-initialise it). */
struct mock_buf {
	char *data;
	size_t len, cap;
};
void mock_buf_add(struct mock_buf *b, const void *data, size_t len);
void mock_buf_puts(struct mock_buf *b, const char *s);
void mock_buf_printf(struct mock_buf *b, const char *fmt, ...) MOCK_PRINTF(2, 3);
char *mock_buf_steal(struct mock_buf *b); /* NUL-terminated, never NULL; caller frees */
void mock_buf_free(struct mock_buf *b);

/* ---- key/value lists (query strings, headers, extra options) ------------------------------ */

struct mock_kv {
	char *key, *value;
};
struct mock_kvlist {
	struct mock_kv *v;
	size_t n, cap;
};
/* Append a copy of key/value (value may be NULL). */
void mock_kv_add(struct mock_kvlist *l, const char *key, const char *value);
/* The value of the first entry named key (case-insensitive when nocase), or NULL. */
const char *mock_kv_get(const struct mock_kvlist *l, const char *key, bool nocase);
void mock_kv_free(struct mock_kvlist *l);

/* ---- options ------------------------------------------------------------------------------ */

/* A mock-specific option: "--name VALUE" (has_arg) or "--name" (flag, value "1"). */
struct mock_optdef {
	const char *name;   /* without the dashes: "callback-url" */
	bool has_arg;
	const char *env;    /* environment variable used when the option is absent, or NULL */
	const char *help;   /* one line for --help */
};

struct mock_opts {
	char *listen_host;       /* --listen HOST:PORT (default 127.0.0.1:0) */
	int listen_port;
	char *data;              /* --data FILE: SQLite store, NULL = in memory */
	char *api_key;           /* --api-key KEY or $SBX_MOCK_API_KEY; NULL = no auth */
	size_t max_body;         /* --max-body SIZE (default 1M) */
	size_t max_records;      /* --max-records N per collection (default 10000, oldest evicted) */
	char *webhook_secret;    /* --webhook-secret S or $SBX_MOCK_WEBHOOK_SECRET */
	int webhook_attempts;    /* --webhook-attempts N (default 5) */
	int64_t webhook_backoff_ms; /* --webhook-backoff MS first retry delay, doubled (default 500) */
	int64_t webhook_timeout_ms; /* --webhook-timeout MS per attempt (default 5000) */
	bool quiet;              /* --quiet: no access log */
	struct mock_kvlist extra; /* mock-specific options by name (see mock_opts_get) */
};

/*
 * Parse argv. `prog` is the program name for --help, `extra` a table of mock-specific options
 * (may be NULL when nextra == 0). Returns 0, 1 when --help was printed (exit 0), or -1 with a
 * message in e (exit 2). Free with mock_opts_free (also after a failure).
 */
int mock_opts_parse(struct mock_opts *o, int argc, char **argv, const char *prog,
		    const struct mock_optdef *extra, size_t nextra, struct mock_err *e) MOCK_WUR;
/* Defaults only (what tests and fuzzers use without a command line). */
void mock_opts_defaults(struct mock_opts *o);
/* The value of a mock-specific option (or its environment variable), or NULL. */
const char *mock_opts_get(const struct mock_opts *o, const char *name);
void mock_opts_free(struct mock_opts *o);

/* ---- log ---------------------------------------------------------------------------------- */

/* Enable or disable the access log (mock_log_event always prints). */
void mock_log_access_enable(bool on);
/*
 * Print one JSON line on stderr: {"ts":..,"level":..,"msg":..} plus the fields of `fields` (a JSON
 * object, may be NULL; the function steals the reference).
 */
void mock_log_event(const char *level, const char *msg, json_t *fields);
/* Print a formatted info/warn/error line without extra fields. */
void mock_log(const char *level, const char *fmt, ...) MOCK_PRINTF(2, 3);

/* ---- metrics ------------------------------------------------------------------------------ */

struct mock_metrics;
struct mock_metrics *mock_metrics_new(void);
void mock_metrics_free(struct mock_metrics *m);
/* Declare a metric's type ("counter" / "gauge") and help text (optional, once). */
void mock_metrics_describe(struct mock_metrics *m, const char *name, const char *type,
			   const char *help);
/* Add delta to the series name{labels}; labels is the inside of the braces ("" for none). */
void mock_metrics_add(struct mock_metrics *m, const char *name, const char *labels, double delta);
/* Set a gauge series. */
void mock_metrics_set(struct mock_metrics *m, const char *name, const char *labels, double value);
/* The current value of a series (0 when absent). */
double mock_metrics_get(struct mock_metrics *m, const char *name, const char *labels);
/* Render the Prometheus text exposition format; caller frees. */
char *mock_metrics_render(struct mock_metrics *m);

/* ---- request / response ------------------------------------------------------------------- */

#define MOCK_MAX_PARAMS 4

struct mock_req {
	char *method;            /* "GET" */
	char *path;              /* "/v1/messages/SM1" (decoded, without the query) */
	struct mock_kvlist query;   /* decoded query arguments */
	struct mock_kvlist headers; /* request headers */
	char *body;              /* NUL-terminated (also when body_len == 0) */
	size_t body_len;
	char *remote;            /* client address, or NULL */
	/* Set by the router: {name} captures of the matched pattern. */
	const char *param_names[MOCK_MAX_PARAMS];
	char *param_values[MOCK_MAX_PARAMS];
	size_t nparams;
	const char *route;       /* the matched pattern ("/v1/messages/{id}") or NULL */
};

/* A request built by hand (tests, fuzzers): path may carry "?a=b&c=d" (percent-decoded here). */
struct mock_req *mock_req_new(const char *method, const char *path, const void *body, size_t len);
/* Add a request header. */
void mock_req_add_header(struct mock_req *r, const char *name, const char *value);
void mock_req_free(struct mock_req *r);
/* Query argument, header (case-insensitive) or path capture by name; NULL when absent. */
const char *mock_req_query(const struct mock_req *r, const char *key);
const char *mock_req_header(const struct mock_req *r, const char *name);
const char *mock_req_param(const struct mock_req *r, const char *name);

struct mock_resp {
	int status;              /* 0 until set: the pipeline turns it into 500 */
	char *body;
	size_t body_len;
	const char *content_type; /* static string */
	struct mock_kvlist headers;
};
/* Release what the response holds (not the struct itself); it can be reused. */
void mock_resp_clear(struct mock_resp *r);
/* Respond with a JSON document (steals `doc`; compact, followed by "\n"). */
void mock_resp_json(struct mock_resp *r, int status, json_t *doc);
/* Respond with text (copied). */
void mock_resp_text(struct mock_resp *r, int status, const char *content_type, const char *text);
/* Respond {"error": {"code": code, "message": message}}. */
void mock_resp_error(struct mock_resp *r, int status, const char *code, const char *fmt, ...)
	MOCK_PRINTF(4, 5);
/* Add a response header (copied). */
void mock_resp_header(struct mock_resp *r, const char *name, const char *value);

/*
 * Parse the body as a JSON object. On failure respond 400 (malformed JSON with jansson's
 * message and position, or "body must be a JSON object") and return NULL. Caller decrefs.
 */
json_t *mock_req_json(const struct mock_req *r, struct mock_resp *resp);
/*
 * Read obj[key] as a string. Returns 0 (and *out, borrowed from obj, or NULL when absent and not
 * required), or -1 after a 400 response naming the field.
 */
int mock_json_str(json_t *obj, const char *key, bool required, const char **out,
		  struct mock_resp *resp) MOCK_WUR;
/* Read obj[key] as an integer in [min, max]; same contract (absent and optional: *out untouched). */
int mock_json_int(json_t *obj, const char *key, bool required, int64_t min, int64_t max,
		  int64_t *out, struct mock_resp *resp) MOCK_WUR;
/* Compact JSON text of doc; caller frees. */
char *mock_json_dump(const json_t *doc);

/* ---- store -------------------------------------------------------------------------------- */

/*
 * A store is a named collection of JSON object records, each with a unique string "id", in
 * insertion order (a sequence number). With a database (--data) every change is written through
 * to SQLite and reloaded at start. Lists return newest first.
 *
 * A filter is a list of key=value pairs (usually the query string minus paging keys). The match
 * function decides whether a record matches; the default (mock_store_match_fields) compares each
 * filter key with the record's top-level field of the same name: equal to a string or number, or
 * equal to any element of an array. Keys the record does not have never match.
 */
typedef bool (*mock_match_fn)(const json_t *rec, const struct mock_kvlist *filter, void *arg);
bool mock_store_match_fields(const json_t *rec, const struct mock_kvlist *filter, void *arg);

struct mock_db;
/* Open the SQLite file (created when missing), or an in-memory-only database when path is NULL. */
struct mock_db *mock_db_open(const char *path, struct mock_err *e);
void mock_db_close(struct mock_db *db);

struct mock_store;
/* A collection named `name` in db, holding at most max_records (0 = unlimited; oldest evicted). */
struct mock_store *mock_store_new(struct mock_db *db, const char *name, size_t max_records,
				  struct mock_err *e);
void mock_store_free(struct mock_store *s);
const char *mock_store_name(const struct mock_store *s);
/* Replace the match function (arg is passed back). */
void mock_store_set_match(struct mock_store *s, mock_match_fn fn, void *arg);
/* Insert rec, or replace the record with the same "id" (keeping its place). Steals rec. 0 / -1. */
int mock_store_put(struct mock_store *s, json_t *rec);
/* A copy of the record with this id, or NULL. Caller decrefs. */
json_t *mock_store_get(struct mock_store *s, const char *id);
/*
 * Update a record in place under the store's lock: fn gets the record (mutable) and returns 0 to
 * keep the change (written through, waiters woken) or -1 to leave it unchanged (fn must then not
 * have modified it). Returns fn's result, or -1 when the id is unknown (fn not called).
 */
int mock_store_update(struct mock_store *s, const char *id, int (*fn)(json_t *rec, void *arg),
		      void *arg);
/* Delete one record: 0, or -1 when absent. */
int mock_store_del(struct mock_store *s, const char *id);
/* Delete every record; returns how many. */
size_t mock_store_clear(struct mock_store *s);
size_t mock_store_count(struct mock_store *s);
/* Matching records (copies), newest first, after skipping `offset`; *total = all matches. */
json_t *mock_store_list(struct mock_store *s, const struct mock_kvlist *filter, size_t offset,
			size_t limit, size_t *total);
/*
 * Long-poll: the newest matching record whose sequence number is > after_seq (0 = any), waiting
 * up to timeout_ms for one to be put. Returns a copy or NULL on timeout/shutdown.
 */
json_t *mock_store_wait(struct mock_store *s, const struct mock_kvlist *filter, uint64_t after_seq,
			int64_t timeout_ms);
/* The sequence number of a record (0 when unknown) — for "after" cursors. */
uint64_t mock_store_seq(struct mock_store *s, const char *id);
/* How many long-polls are waiting now. */
size_t mock_store_waiters(struct mock_store *s);
/* Wake every waiter and make further waits return at once (shutdown). */
void mock_store_shutdown(struct mock_store *s);

/* ---- faults ------------------------------------------------------------------------------- */

/*
 * Fault configuration, replaced as a whole by PUT /admin/faults:
 *   {"latency_ms": 200}                      fixed added latency
 *   {"latency_ms": {"min": 10, "max": 80}}   uniform range
 *   {"error_rate": 0.25, "error_status": 503} fraction of requests failed (status default 500)
 *   {"targets": {"+15551230000": {"status": 503, "message": "..."}}}
 *                                            deterministic failures per recipient / card, looked
 *                                            up by the mock with mock_faults_target()
 * Latency and error rate apply to routes flagged MOCK_ROUTE_FAULTS (the API under test), not to
 * the inspection, admin, health and metrics routes.
 */
struct mock_faults;
struct mock_faults *mock_faults_new(void);
void mock_faults_free(struct mock_faults *f);
/* Replace the configuration from a JSON document; -1 with a message on a bad document. */
int mock_faults_set(struct mock_faults *f, const json_t *doc, struct mock_err *e) MOCK_WUR;
void mock_faults_reset(struct mock_faults *f);
/* The configuration as JSON (caller decrefs). */
json_t *mock_faults_get(struct mock_faults *f);
/* Latency to add now (ms, 0 = none). */
int64_t mock_faults_latency(struct mock_faults *f);
/* Whether to fail this request: returns the status to answer, or 0. */
int mock_faults_roll(struct mock_faults *f);
/* Whether key has a deterministic failure: 1 with *status and *message (caller frees), else 0. */
int mock_faults_target(struct mock_faults *f, const char *key, int *status, char **message);

/* ---- sched -------------------------------------------------------------------------------- */

/* One background thread running jobs in due order (same due time: submission order). */
struct mock_sched;
typedef void (*mock_job_fn)(void *arg);
struct mock_sched *mock_sched_new(void);
/* Run fn(arg) after delay_ms; at shutdown, unrun jobs get drop(arg) (when drop is not NULL). */
void mock_sched_after(struct mock_sched *s, int64_t delay_ms, mock_job_fn fn, mock_job_fn drop,
		      void *arg);
/* Stop the thread (after the running job), drop the pending jobs, free. NULL is a no-op. */
void mock_sched_free(struct mock_sched *s);

/* ---- webhook ------------------------------------------------------------------------------ */

/*
 * Deliveries POST a JSON body with headers Content-Type: application/json, Signature: t=..,v1=..
 * (when a secret is set; HMAC-SHA256 of "<t>.<body>"), Sbx-Delivery: <id>, Sbx-Event: <event>.
 * A 2xx answer is a success; anything else is retried after backoff, backoff*2, ... up to
 * `attempts` attempts. Every delivery is a record in the store given to mock_webhook_new:
 *   {"id": "whd_..", "url", "event", "status": "pending"|"succeeded"|"failed", "attempts": n,
 *    "response_status": code, "error": "...", "created_at", "updated_at", "body": <doc>,
 *    "history": [{"at", "status", "error", "duration_ms"}]}
 * Counters: sbx_mock_webhook_deliveries_total{result="succeeded"|"failed"} (per attempt) and
 * sbx_mock_webhook_failures_total (deliveries given up).
 */
struct mock_webhook;
struct mock_webhook *mock_webhook_new(const struct mock_opts *o, struct mock_store *log,
				      struct mock_metrics *m);
/* Stop the sender (pending retries are dropped). NULL is a no-op. */
void mock_webhook_free(struct mock_webhook *w);
/* Queue a delivery of doc (not stolen) to url after delay_ms. Returns the delivery id; caller frees. */
char *mock_webhook_send(struct mock_webhook *w, const char *url, const char *event,
			const json_t *doc, int64_t delay_ms);

/* ---- server ------------------------------------------------------------------------------- */

struct mock_server;
typedef void (*mock_handler_fn)(const struct mock_req *req, struct mock_resp *resp, void *arg);

enum mock_route_flags {
	MOCK_ROUTE_PUBLIC = 1 << 0, /* no API key needed (/healthz, /metrics) */
	MOCK_ROUTE_FAULTS = 1 << 1, /* fault injection (latency, error rate) applies */
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
 * MOCK_MAX_PARAMS). First registered match wins, so register "/x/wait" before "/x/{id}".
 * A path that matches with another method answers 405.
 */
void mock_server_route(struct mock_server *s, const char *method, const char *pattern,
		       mock_handler_fn fn, void *arg, unsigned flags);
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
