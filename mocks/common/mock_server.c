/* mock_server — routes, the request pipeline, built-in and inspection routes, main(). */
#include "mock_server.h"

#include "clock.h"
#include "mock_dl.h"
#include "mock_faults.h"
#include "mock_http.h"
#include "mock_kv.h"
#include "mock_log.h"
#include "mock_metrics.h"
#include "mock_opts.h"
#include "mock_req.h"
#include "mock_sched.h"
#include "mock_store.h"
#include "mock_util.h"
#include "mock_webhook.h"

#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct route {
	char *method, *pattern;
	char *names[MOCK_MAX_PARAMS]; /* the {name}s of the pattern */
	mock_handler_fn fn;
	void *arg;
	unsigned flags;
	mock_guard_fn when; /* NULL: always; else the route applies only when it says so */
};

struct named_store {
	char *name;
	struct mock_store *st;
};

/* The argument of the inspection handlers. */
struct inspect {
	struct mock_store *st;
};

struct mock_server {
	char *name;
	const struct mock_opts *opts;
	struct mock_db *db;
	struct mock_metrics *metrics;
	struct mock_faults *faults;
	struct mock_sched *sched;
	struct mock_webhook *webhook;
	struct mock_http *http;
	struct route *routes;
	size_t nroutes;
	struct named_store *stores;
	size_t nstores;
	struct inspect **inspects;
	size_t ninspects;
	pthread_mutex_t lock; /* stores */
	bool stopped;
};

static void builtin_routes(struct mock_server *s);

/* Declare the server's own metrics. */
static void describe_metrics(struct mock_metrics *m)
{
	mock_metrics_describe(m, "sbx_mock_http_requests_total", "counter",
			      "HTTP requests by route, method and status.");
	mock_metrics_describe(m, "sbx_mock_messages_stored", "gauge",
			      "Records currently stored, by collection.");
	mock_metrics_describe(m, "sbx_mock_waiters", "gauge", "Long-polls in progress, by collection.");
	mock_metrics_describe(m, "sbx_mock_store_evictions_total", "counter",
			      "Records evicted by --max-records or --max-store-bytes, by collection.");
}

/* Create a server. */
struct mock_server *mock_server_new(const char *name, const struct mock_opts *opts,
				    struct mock_err *e)
{
	struct mock_server *s = mock_xcalloc(1, sizeof(*s));
	struct mock_store *log;

	pthread_mutex_init(&s->lock, NULL);
	s->name = mock_xstrdup(name);
	s->opts = opts;
	s->db = mock_db_open(opts->data, e);
	if (!s->db)
		goto fail;
	s->metrics = mock_metrics_new();
	describe_metrics(s->metrics);
	s->faults = mock_faults_new();
	log = mock_server_store(s, "webhook_deliveries", e);
	if (!log)
		goto fail;
	s->webhook = mock_webhook_new(opts, log, s->metrics);
	s->sched = mock_sched_new();
	builtin_routes(s);
	return s;
fail:
	mock_server_free(s);
	return NULL;
}

/* Free everything. */
void mock_server_free(struct mock_server *s)
{
	if (!s)
		return;
	mock_server_stop(s);
	for (size_t i = 0; i < s->nroutes; i++) {
		free(s->routes[i].method);
		free(s->routes[i].pattern);
		for (size_t j = 0; j < MOCK_MAX_PARAMS; j++)
			free(s->routes[i].names[j]);
	}
	for (size_t i = 0; i < s->nstores; i++) {
		mock_store_free(s->stores[i].st);
		free(s->stores[i].name);
	}
	for (size_t i = 0; i < s->ninspects; i++)
		free(s->inspects[i]);
	free(s->inspects);
	free(s->routes);
	free(s->stores);
	mock_faults_free(s->faults);
	mock_metrics_free(s->metrics);
	mock_db_close(s->db);
	pthread_mutex_destroy(&s->lock);
	free(s->name);
	free(s);
}

/* Register a route. */
void mock_server_route(struct mock_server *s, const char *method, const char *pattern,
		       mock_handler_fn fn, void *arg, unsigned flags)
{
	mock_server_route_when(s, method, pattern, fn, arg, flags, NULL);
}

/* Register a guarded route. */
void mock_server_route_when(struct mock_server *s, const char *method, const char *pattern,
			    mock_handler_fn fn, void *arg, unsigned flags, mock_guard_fn when)
{
	struct route *r;
	size_t i = 0;

	s->routes = mock_xrealloc(s->routes, (s->nroutes + 1) * sizeof(*s->routes));
	r = &s->routes[s->nroutes++];
	*r = (struct route){.method = mock_xstrdup(method), .pattern = mock_xstrdup(pattern),
			    .fn = fn, .arg = arg, .flags = flags, .when = when};
	for (const char *p = strchr(pattern, '{'); p && i < MOCK_MAX_PARAMS; p = strchr(p + 1, '{'))
		r->names[i++] = mock_xstrndup(p + 1, strcspn(p + 1, "}"));
}

/* A store of the server's database, created on first use. */
struct mock_store *mock_server_store(struct mock_server *s, const char *name, struct mock_err *e)
{
	struct mock_store *st = NULL;

	pthread_mutex_lock(&s->lock);
	for (size_t i = 0; i < s->nstores && !st; i++) {
		if (strcmp(s->stores[i].name, name) == 0)
			st = s->stores[i].st;
	}
	if (!st) {
		st = mock_store_new(s->db, name, s->opts->max_records, e);
		if (st) {
			mock_store_set_max_bytes(st, s->opts->max_store_bytes);
			s->stores = mock_xrealloc(s->stores, (s->nstores + 1) * sizeof(*s->stores));
			s->stores[s->nstores++] = (struct named_store){mock_xstrdup(name), st};
		}
	}
	pthread_mutex_unlock(&s->lock);
	return st;
}

/* Accessors. */
const struct mock_opts *mock_server_opts(const struct mock_server *s)
{
	return s->opts;
}

/* The metrics registry. */
struct mock_metrics *mock_server_metrics(struct mock_server *s)
{
	return s->metrics;
}

/* The fault configuration. */
struct mock_faults *mock_server_faults(struct mock_server *s)
{
	return s->faults;
}

/* The domain scheduler. */
struct mock_sched *mock_server_sched(struct mock_server *s)
{
	return s->sched;
}

/* The webhook sender. */
struct mock_webhook *mock_server_webhook(struct mock_server *s)
{
	return s->webhook;
}

/* Forget the captures of a previous match. */
static void params_clear(struct mock_req *req)
{
	for (size_t i = 0; i < req->nparams; i++)
		free(req->param_values[i]);
	req->nparams = 0;
}

/* Match path against pattern, filling captures. */
static bool path_match(const char *pat, const char *path, struct mock_req *req)
{
	params_clear(req);
	while (*pat && *path) {
		if (pat[0] == '*' && pat[1] == '\0')
			return true; /* a final "*" takes the rest (one segment or more) */
		size_t pl = strcspn(pat, "/"), sl = strcspn(path, "/");
		if (pat[0] == '{' && pl > 2 && pat[pl - 1] == '}') {
			if (sl == 0 || req->nparams == MOCK_MAX_PARAMS)
				return false;
			req->param_names[req->nparams] = NULL; /* set by the caller from the pattern */
			req->param_values[req->nparams++] = mock_xstrndup(path, sl);
		} else if (pl != sl || strncmp(pat, path, pl) != 0) {
			return false;
		}
		pat += pl;
		path += sl;
		if (*pat != *path)
			return false;
		if (*pat == '/') {
			pat++;
			path++;
		}
	}
	return *pat == '\0' && *path == '\0';
}


/* Find the route of a request: NULL and *path_hit when only the method differs. */
static const struct route *route_find(struct mock_server *s, struct mock_req *req, bool *path_hit)
{
	*path_hit = false;
	for (size_t i = 0; i < s->nroutes; i++) {
		const struct route *r = &s->routes[i];
		if ((r->when && !r->when(req)) || !path_match(r->pattern, req->path, req))
			continue;
		if (strcmp(r->method, "*") != 0 && strcmp(r->method, req->method) != 0) {
			*path_hit = true;
			continue;
		}
		for (size_t j = 0; j < req->nparams; j++)
			req->param_names[j] = r->names[j];
		req->route = r->pattern;
		return r;
	}
	params_clear(req);
	return NULL;
}

/* Whether a presented secret equals the expected one (constant time). */
bool mock_secret_equal(const char *given, const char *want)
{
	size_t n = strlen(want);

	return given && strlen(given) == n && mock_mem_equal_ct(given, want, n);
}

/* Whether the request carries the API key: Authorization: Bearer KEY, or X-Api-Key: KEY. */
static bool auth_ok(struct mock_server *s, const struct mock_req *req)
{
	const char *h = mock_req_header(req, "Authorization");

	if (!s->opts->api_key)
		return true;
	if (h && strncasecmp(h, "Bearer ", 7) == 0 && mock_secret_equal(h + 7, s->opts->api_key))
		return true;
	return mock_secret_equal(mock_req_header(req, "X-Api-Key"), s->opts->api_key);
}

/* The pipeline's stages (req->stage). */
enum { STAGE_START, STAGE_HANDLER, STAGE_AFTER, STAGE_LAST, STAGE_DONE };

/* Route and authenticate: 0 with req->route_ix, or -1 with the error in resp. */
static int route_auth(struct mock_server *s, struct mock_req *req, struct mock_resp *resp)
{
	bool path_hit;
	const struct route *r = route_find(s, req, &path_hit);

	if (!r) {
		if (path_hit)
			mock_resp_error(resp, 405, "method_not_allowed", "%s is not allowed on %s",
					req->method, req->path);
		else
			mock_resp_error(resp, 404, "not_found", "no route for %s %s", req->method, req->path);
		return -1;
	}
	if (!(r->flags & (MOCK_ROUTE_PUBLIC | MOCK_ROUTE_SELF_AUTH)) && !auth_ok(s, req)) {
		mock_resp_error(resp, 401, "unauthorized", "missing or wrong API key (Authorization: Bearer KEY, or X-Api-Key: KEY)");
		mock_resp_header(resp, "WWW-Authenticate", "Bearer");
		return -1;
	}
	req->route_ix = (size_t)(r - s->routes);
	return 0;
}

/* Roll the injected error rate (fault routes), then run the handler; its latencies delay the answer. */
static void run_handler(struct mock_server *s, struct mock_req *req, struct mock_resp *resp)
{
	const struct route *r = &s->routes[req->route_ix];
	int status = (r->flags & MOCK_ROUTE_FAULTS) ? mock_faults_roll(s->faults) : 0;

	int64_t delay = 0;

	if (status) {
		mock_resp_error(resp, status, "injected_fault", "fault injected by /admin/faults");
		return;
	}
	mock_faults_defer(&delay); /* a handler applying latency itself (a provider's API) */
	r->fn(req, resp, r->arg);
	mock_faults_defer(NULL);
	resp->delay_ms += delay;
}

/* The last stage: a missing answer is a 500; count and log. */
static enum mock_step step_done(struct mock_server *s, struct mock_req *req, struct mock_resp *resp)
{
	if (req->stage != STAGE_DONE) {
		req->stage = STAGE_DONE;
		if (resp->status == 0)
			mock_resp_error(resp, 500, "internal", "the handler produced no response");
		mock_server_account(s, req, resp, req->t0_ms);
	}
	return MOCK_STEP_DONE;
}

/* Run the pipeline as far as it goes without blocking. */
enum mock_step mock_server_step(struct mock_server *s, struct mock_req *req,
				struct mock_resp *resp, int64_t *ms)
{
	if (req->stage == STAGE_START) {
		req->stage = STAGE_HANDLER;
		if (!req->t0_ms)
			req->t0_ms = sbx_mono_ms();
		if (route_auth(s, req, resp) < 0)
			return step_done(s, req, resp);
		if ((s->routes[req->route_ix].flags & MOCK_ROUTE_FAULTS) &&
		    (*ms = mock_faults_latency(s->faults)) > 0)
			return MOCK_STEP_SLEEP;
	}
	if (req->stage == STAGE_HANDLER) {
		req->stage = STAGE_AFTER;
		run_handler(s, req, resp);
		if (resp->wait)
			return MOCK_STEP_WAIT;
	}
	if (req->stage == STAGE_AFTER && resp->delay_ms > 0) {
		req->stage = STAGE_LAST;
		*ms = resp->delay_ms;
		resp->delay_ms = 0;
		return MOCK_STEP_SLEEP;
	}
	return step_done(s, req, resp);
}

/* Run the whole pipeline, blocking on delays and long-polls. */
void mock_server_handle(struct mock_server *s, struct mock_req *req, struct mock_resp *resp)
{
	enum mock_step st;
	int64_t ms = 0;
	json_t *rec;

	while ((st = mock_server_step(s, req, resp, &ms)) != MOCK_STEP_DONE) {
		if (st == MOCK_STEP_SLEEP) {
			sbx_sleep_ms(ms);
			continue;
		}
		rec = mock_wait_block(resp->wait);
		mock_wait_finish(resp, rec);
		json_decref(rec);
	}
}

/* A method name safe as a label value. */
static const char *method_label(const char *m)
{
	static const char *const known[] = {"GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"};

	for (size_t i = 0; i < MOCK_NELEM(known); i++) {
		if (strcmp(m, known[i]) == 0)
			return known[i];
	}
	return "OTHER";
}

/* Count and log a finished request. */
void mock_server_account(struct mock_server *s, const struct mock_req *req,
			 const struct mock_resp *resp, int64_t t0_ms)
{
	char labels[256];

	snprintf(labels, sizeof(labels), "route=\"%s\",method=\"%s\",status=\"%d\"",
		 req->route ? req->route : "unmatched", method_label(req->method), resp->status);
	mock_metrics_add(s->metrics, "sbx_mock_http_requests_total", labels, 1);
	if (!mock_log_access_enabled())
		return;
	mock_log_event("info", "request",
		       json_pack("{s:s,s:s,s:s,s:s?,s:i,s:I,s:I,s:s?}", "mock", s->name, "method",
				 req->method, "path", req->path, "route", req->route, "status",
				 resp->status, "bytes", (json_int_t)resp->body_len, "duration_ms",
				 (json_int_t)(sbx_mono_ms() - t0_ms), "remote", req->remote));
}

/* GET /healthz. */
static void h_healthz(const struct mock_req *req, struct mock_resp *resp, void *arg)
{
	struct mock_server *s = arg;

	(void)req;
	mock_resp_json(resp, 200, json_pack("{s:s,s:s}", "status", "ok", "mock", s->name));
}

/* GET /metrics. */
static void h_metrics(const struct mock_req *req, struct mock_resp *resp, void *arg)
{
	struct mock_server *s = arg;
	char labels[160], *text;

	(void)req;
	pthread_mutex_lock(&s->lock);
	for (size_t i = 0; i < s->nstores; i++) {
		snprintf(labels, sizeof(labels), "collection=\"%s\"", s->stores[i].name);
		mock_metrics_set(s->metrics, "sbx_mock_messages_stored", labels,
				 (double)mock_store_count(s->stores[i].st));
		mock_metrics_set(s->metrics, "sbx_mock_waiters", labels,
				 (double)mock_store_waiters(s->stores[i].st));
		mock_metrics_set(s->metrics, "sbx_mock_store_evictions_total", labels,
				 (double)mock_store_evictions(s->stores[i].st));
	}
	pthread_mutex_unlock(&s->lock);
	text = mock_metrics_render(s->metrics);
	mock_resp_text(resp, 200, "text/plain; version=0.0.4", text);
	free(text);
}

/* GET /admin/faults. */
static void h_faults_get(const struct mock_req *req, struct mock_resp *resp, void *arg)
{
	struct mock_server *s = arg;

	(void)req;
	mock_resp_json(resp, 200, mock_faults_get(s->faults));
}

/* PUT /admin/faults. */
static void h_faults_put(const struct mock_req *req, struct mock_resp *resp, void *arg)
{
	struct mock_server *s = arg;
	struct mock_err e = {{0}};
	json_t *doc = mock_req_json(req, resp);

	if (!doc)
		return;
	if (mock_faults_set(s->faults, doc, &e) < 0)
		mock_resp_error(resp, 400, "invalid_faults", "%s", e.msg);
	else
		mock_resp_json(resp, 200, mock_faults_get(s->faults));
	json_decref(doc);
}

/* DELETE /admin/faults. */
static void h_faults_delete(const struct mock_req *req, struct mock_resp *resp, void *arg)
{
	struct mock_server *s = arg;

	(void)req;
	mock_faults_reset(s->faults);
	mock_resp_json(resp, 200, mock_faults_get(s->faults));
}

/* Register /healthz, /metrics and /admin/faults. */
static void builtin_routes(struct mock_server *s)
{
	mock_server_route(s, "GET", "/healthz", h_healthz, s, MOCK_ROUTE_PUBLIC);
	mock_server_route(s, "GET", "/metrics", h_metrics, s, MOCK_ROUTE_PUBLIC);
	mock_server_route(s, "GET", "/admin/faults", h_faults_get, s, 0);
	mock_server_route(s, "PUT", "/admin/faults", h_faults_put, s, 0);
	mock_server_route(s, "DELETE", "/admin/faults", h_faults_delete, s, 0);
}

/* The filter of an inspection request: the query minus paging/wait keys. */
static void inspect_filter(const struct mock_req *req, struct mock_kvlist *f)
{
	static const char *const reserved[] = {"limit", "offset", "timeout", "after"};

	for (size_t i = 0; i < req->query.n; i++) {
		size_t j = 0;
		while (j < MOCK_NELEM(reserved) && strcmp(reserved[j], req->query.v[i].key) != 0)
			j++;
		if (j == MOCK_NELEM(reserved))
			mock_kv_add(f, req->query.v[i].key, req->query.v[i].value);
	}
}

/* GET prefix: list. */
static void h_list(const struct mock_req *req, struct mock_resp *resp, void *arg)
{
	struct inspect *in = arg;
	struct mock_kvlist f = {0};
	int64_t limit, offset;
	size_t total;
	json_t *items;

	if (mock_req_query_int(req, "limit", 50, 1000, &limit, resp) < 0 ||
	    mock_req_query_int(req, "offset", 0, INT32_MAX, &offset, resp) < 0)
		return;
	inspect_filter(req, &f);
	items = mock_store_list(in->st, &f, (size_t)offset, (size_t)limit, &total);
	mock_kv_free(&f);
	mock_resp_json(resp, 200, json_pack("{s:o,s:I,s:I,s:I}", "items", items, "total",
					     (json_int_t)total, "limit", (json_int_t)limit, "offset",
					     (json_int_t)offset));
}

/* GET prefix/{id}. */
static void h_get(const struct mock_req *req, struct mock_resp *resp, void *arg)
{
	struct inspect *in = arg;
	const char *id = mock_req_param(req, "id");
	json_t *rec = mock_store_get(in->st, id);

	if (!rec)
		mock_resp_error(resp, 404, "not_found", "no %s with id \"%s\"", mock_store_name(in->st), id);
	else
		mock_resp_json(resp, 200, rec);
}

/* The answer of a finished long-poll. */
static void wait_done(struct mock_resp *resp, const json_t *rec, int64_t timeout_ms, void *arg)
{
	(void)arg;
	if (rec)
		mock_resp_json(resp, 200, json_deep_copy(rec));
	else
		mock_resp_error(resp, 408, "timeout", "nothing matched within %lldms", (long long)timeout_ms);
}

/* GET prefix/wait: long-poll. */
static void h_wait(const struct mock_req *req, struct mock_resp *resp, void *arg)
{
	struct inspect *in = arg;
	const char *t = mock_req_query(req, "timeout"), *after = mock_req_query(req, "after");
	struct mock_kvlist f = {0};
	int64_t ms = 10000;
	uint64_t seq = 0;

	if (t && (mock_parse_duration_ms(t, &ms) < 0 || ms > 300000)) {
		mock_resp_error(resp, 400, "invalid_query", "timeout must be a duration up to 300s (e.g. 10s, 500ms)");
		return;
	}
	if (after && !(seq = mock_store_seq(in->st, after))) {
		mock_resp_error(resp, 400, "invalid_query", "after: no %s with id \"%s\"", mock_store_name(in->st), after);
		return;
	}
	inspect_filter(req, &f);
	mock_resp_wait(resp, in->st, &f, seq, ms, wait_done, NULL);
}

/* DELETE prefix/{id}. */
static void h_del(const struct mock_req *req, struct mock_resp *resp, void *arg)
{
	struct inspect *in = arg;
	const char *id = mock_req_param(req, "id");

	if (mock_store_del(in->st, id) < 0)
		mock_resp_error(resp, 404, "not_found", "no %s with id \"%s\"", mock_store_name(in->st), id);
	else
		mock_resp_text(resp, 204, "application/json", "");
}

/* DELETE prefix. */
static void h_clear(const struct mock_req *req, struct mock_resp *resp, void *arg)
{
	struct inspect *in = arg;

	(void)req;
	mock_resp_json(resp, 200, json_pack("{s:I}", "deleted", (json_int_t)mock_store_clear(in->st)));
}

/* Register the inspection routes of a store. */
void mock_server_inspect(struct mock_server *s, const char *prefix, struct mock_store *st,
			 unsigned flags)
{
	struct inspect *in = mock_xcalloc(1, sizeof(*in));
	char *item = mock_xasprintf("%s/{id}", prefix), *wait = mock_xasprintf("%s/wait", prefix);

	in->st = st;
	s->inspects = mock_xrealloc(s->inspects, (s->ninspects + 1) * sizeof(*s->inspects));
	s->inspects[s->ninspects++] = in;
	if (flags & MOCK_INSPECT_LIST)
		mock_server_route(s, "GET", prefix, h_list, in, 0);
	if (flags & MOCK_INSPECT_WAIT)
		mock_server_route(s, "GET", wait, h_wait, in, 0);
	if (flags & MOCK_INSPECT_GET)
		mock_server_route(s, "GET", item, h_get, in, 0);
	if (flags & MOCK_INSPECT_DELETE) {
		mock_server_route(s, "DELETE", item, h_del, in, 0);
		mock_server_route(s, "DELETE", prefix, h_clear, in, 0);
	}
	free(item);
	free(wait);
}

/* Start listening. */
int mock_server_start(struct mock_server *s, struct mock_err *e)
{
	s->http = mock_http_start(s, s->opts, e);
	return s->http ? 0 : -1;
}

/* The bound port. */
int mock_server_port(const struct mock_server *s)
{
	return s->http ? mock_http_port(s->http) : 0;
}

/* Print the listening line. */
void mock_server_announce(const struct mock_server *s)
{
	const char *h = s->opts->listen_host;

	if (strchr(h, ':'))
		printf("listening on http://[%s]:%d\n", h, mock_server_port(s));
	else
		printf("listening on http://%s:%d\n", h, mock_server_port(s));
	fflush(stdout);
}

/* Stop everything that runs. */
void mock_server_stop(struct mock_server *s)
{
	if (s->stopped)
		return;
	s->stopped = true;
	pthread_mutex_lock(&s->lock);
	for (size_t i = 0; i < s->nstores; i++)
		mock_store_shutdown(s->stores[i].st);
	pthread_mutex_unlock(&s->lock);
	mock_http_stop(s->http);
	s->http = NULL;
	mock_sched_free(s->sched);
	s->sched = NULL;
	mock_webhook_free(s->webhook);
	s->webhook = NULL;
}

/* The signals main() waits for. */
static void wait_set(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
}

/* Block SIGTERM/SIGINT, ignore SIGPIPE. */
void mock_signals_block(void)
{
	sigset_t set;

	signal(SIGPIPE, SIG_IGN);
	wait_set(&set);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
}

/* Wait for SIGTERM or SIGINT. */
int mock_signals_wait(void)
{
	sigset_t set;
	int sig = 0;

	wait_set(&set);
	while (sigwait(&set, &sig) != 0)
		;
	return sig;
}

/* Create, set up and start the server; 0 / -1 (e). */
static int main_start(struct mock_server **out, const char *name, const struct mock_opts *o,
		      int (*setup)(struct mock_server *, void *, struct mock_err *), void *arg,
		      struct mock_err *e)
{
	struct mock_server *s = mock_server_new(name, o, e);

	if (!s)
		return -1;
	if (setup(s, arg, e) < 0) {
		mock_server_free(s);
		return -1;
	}
	*out = s;
	return 0;
}

/* The main() of a mock. */
int mock_main(int argc, char **argv, const char *name, const struct mock_optdef *extra,
	      size_t nextra, int (*setup)(struct mock_server *srv, void *arg, struct mock_err *e),
	      void (*teardown)(void *arg), void *arg)
{
	struct mock_opts o;
	struct mock_err e = {{0}};
	struct mock_server *s = NULL;
	int rc, sig;

	/*
	 * Two malloc arenas, not eight per core: records are built by the HTTP threads and changed
	 * and freed by the others, and each arena kept its own freed memory (RSS after a load).
	 */
	mallopt(M_ARENA_MAX, 2);
	mock_signals_block();
	rc = mock_opts_parse(&o, argc, argv, argv[0], extra, nextra, &e);
	if (rc != 0) {
		if (rc < 0)
			fprintf(stderr, "sbx-mock-%s: %s\n", name, e.msg);
		mock_opts_free(&o);
		return rc < 0 ? 2 : 0;
	}
	mock_log_access_enable(!o.quiet);
	rc = main_start(&s, name, &o, setup, arg, &e);
	if (rc == 0 && mock_server_start(s, &e) < 0)
		rc = -1;
	if (rc == 0) {
		mock_server_announce(s);
		mock_log_event("info", "listening", json_pack("{s:s,s:i}", "mock", name, "port", mock_server_port(s)));
		sig = mock_signals_wait();
		mock_log_event("info", "shutting down", json_pack("{s:s,s:i}", "mock", name, "signal", sig));
		mock_server_stop(s);
	} else {
		fprintf(stderr, "sbx-mock-%s: %s\n", name, e.msg);
	}
	if (teardown && s)
		teardown(arg);
	mock_server_free(s);
	mock_opts_free(&o);
	mock_dl_unload();
	return rc == 0 ? 0 : 1;
}
