/*
 * mock_http — the libmicrohttpd listener: epoll on a pool of threads (one per online core), body
 * accumulation with a cap, the pipeline in steps, and parked connections (suspended, resumed by a
 * record, a timer or shutdown) for long-polls and delays.
 */
#include "mock_http.h"

#include "buf.h"
#include "clock.h"
#include "mock_kv.h"
#include "mock_log.h"
#include "mock_opts.h"
#include "mock_req.h"
#include "mock_sched.h"
#include "mock_server.h"
#include "mock_store.h"
#include "mock_util.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/*
 * A suspended connection: a long-poll (wait set) or a delay. Resumed once, by whichever comes
 * first of its record (the store's wake), its deadline (the timer) or shutdown; the others find
 * it no longer parked. Freed when both the connection and the timer job let go (refs).
 */
struct park {
	struct mock_http *h;
	struct MHD_Connection *c;
	struct mock_wait *wait; /* the long-poll (resp.wait of the connection), or NULL: a delay */
	json_t *rec;            /* what woke a long-poll (NULL: deadline or shutdown) */
	bool parked;            /* suspended and not resumed yet (h->lock) */
	int refs;               /* h->lock */
	struct park *prev, *next; /* h->parked */
};

struct mock_http {
	struct MHD_Daemon *d;
	struct mock_server *srv;
	size_t max_body;
	int port;
	struct mock_sched *timer; /* deadlines of parked connections */
	pthread_mutex_t lock;     /* parked, inflight, stopping, park refs */
	pthread_cond_t drained;   /* inflight reached 0 while stopping */
	struct park *parked;
	size_t inflight;          /* requests parked at least once and not completed */
	bool stopping;            /* park no more */
};

/* Per-request state between libmicrohttpd's calls. */
struct conn_state {
	char *uri;     /* the raw request target, for the query string */
	bool started;  /* the access handler has seen the headers */
	struct sbx_buf body;
	bool too_big;
	int64_t t0;
	struct mock_req *req;  /* in the pipeline (after the body) */
	struct mock_resp resp;
	struct park *park;     /* while suspended, until the handler runs again */
	bool parked_once;      /* counted in h->inflight */
};

/* A request starts: keep its raw URI ('+' in the query stays a plus, unlike MHD's parser). */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *c)
{
	struct conn_state *st = mock_xcalloc(1, sizeof(*st));

	(void)cls;
	(void)c;
	st->uri = mock_xstrdup(uri);
	st->t0 = sbx_mono_ms();
	return st;
}

/* Route libmicrohttpd's own messages into the JSON log. */
static void mhd_logger(void *cls, const char *fmt, va_list ap)
{
	char msg[512];

	(void)cls;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	msg[strcspn(msg, "\n")] = '\0';
	mock_log("warn", "microhttpd: %s", msg);
}

/* Copy one query argument or header into a list. */
static enum MHD_Result collect_kv(void *cls, enum MHD_ValueKind kind, const char *key,
				  const char *value)
{
	(void)kind;
	mock_kv_add(cls, key, value ? value : "");
	return MHD_YES;
}

/* The client address as text, or NULL. */
static char *client_addr(struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	char host[NI_MAXHOST];
	const struct sockaddr *sa = ci ? ci->client_addr : NULL;

	if (!sa || getnameinfo(sa, sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
							  : sizeof(struct sockaddr_in),
			       host, sizeof(host), NULL, 0, NI_NUMERICHOST) != 0)
		return NULL;
	return mock_xstrdup(host);
}

/* Build a mock_req from the connection (steals the accumulated body). */
static struct mock_req *req_from(struct MHD_Connection *c, const char *url, const char *method,
				 struct conn_state *st)
{
	struct mock_req *r = mock_xcalloc(1, sizeof(*r));
	const char *qm = strchr(st->uri, '?');

	r->method = mock_xstrdup(method);
	r->path = mock_xstrdup(url);
	if (qm) {
		mock_req_parse_query(&r->query, qm + 1);
		r->raw_query = mock_xstrdup(qm + 1);
	}
	MHD_get_connection_values(c, MHD_HEADER_KIND, collect_kv, &r->headers);
	r->body_len = st->body.len;
	r->body = sbx_buf_steal(&st->body);
	r->remote = mock_log_access_enabled() ? client_addr(c) : NULL; /* for the access log only */
	return r;
}

/* Hand a mock_resp to libmicrohttpd (takes the body). */
static enum MHD_Result send_resp(struct MHD_Connection *c, struct mock_resp *resp)
{
	struct MHD_Response *mr;
	enum MHD_Result rc;

	mr = MHD_create_response_from_buffer(resp->body_len, resp->body, MHD_RESPMEM_MUST_FREE);
	if (!mr)
		return MHD_NO;
	resp->body = NULL;
	if (resp->content_type)
		MHD_add_response_header(mr, MHD_HTTP_HEADER_CONTENT_TYPE, resp->content_type);
	for (size_t i = 0; i < resp->headers.n; i++)
		MHD_add_response_header(mr, resp->headers.v[i].key, resp->headers.v[i].value);
	rc = MHD_queue_response(c, (unsigned)resp->status, mr);
	MHD_destroy_response(mr);
	return rc;
}

/* Answer 413 (and account for it). */
static enum MHD_Result too_large(struct mock_http *h, struct MHD_Connection *c, const char *url,
				 const char *method, struct conn_state *st)
{
	struct mock_req *req = req_from(c, url, method, st);
	struct mock_resp resp = {0};
	enum MHD_Result rc;

	mock_resp_error(&resp, 413, "body_too_large", "request body exceeds %zu bytes", h->max_body);
	mock_resp_header(&resp, MHD_HTTP_HEADER_CONNECTION, "close");
	mock_server_account(h->srv, req, &resp, st->t0);
	rc = send_resp(c, &resp);
	mock_resp_clear(&resp);
	mock_req_free(req);
	return rc;
}

/* Whether the announced Content-Length exceeds the cap. */
static bool length_too_big(struct MHD_Connection *c, size_t max)
{
	const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
	int64_t n;

	return cl && mock_parse_int(cl, 0, INT64_MAX, &n) == 0 && (uint64_t)n > max;
}

/* Unlink a park from h->parked (h->lock held). */
static void park_unlink(struct mock_http *h, struct park *p)
{
	if (p->prev)
		p->prev->next = p->next;
	else
		h->parked = p->next;
	if (p->next)
		p->next->prev = p->prev;
	p->prev = p->next = NULL;
	p->parked = false;
}

/* Resume a parked connection with rec (taken; NULL: deadline or shutdown) unless it was already. */
static void unpark(struct park *p, json_t *rec)
{
	struct mock_http *h = p->h;

	pthread_mutex_lock(&h->lock);
	if (p->parked) {
		park_unlink(h, p);
		p->rec = rec;
		rec = NULL;
		MHD_resume_connection(p->c);
	}
	pthread_mutex_unlock(&h->lock);
	json_decref(rec);
}

/* Let go of a park; the last one frees it. */
static void park_unref(struct park *p)
{
	struct mock_http *h = p->h;
	bool last;

	pthread_mutex_lock(&h->lock);
	last = --p->refs == 0;
	pthread_mutex_unlock(&h->lock);
	if (last) {
		json_decref(p->rec);
		free(p);
	}
}

/* The store's wake of a long-poll (store lock held): its record arrived, or shutdown. */
static void park_wake(void *arg, json_t *rec)
{
	unpark(arg, rec);
}

/* The timer: the deadline of a park passed. */
static void park_timeout(void *arg)
{
	unpark(arg, NULL);
	park_unref(arg);
}

/* The timer stops with this park's deadline still ahead (shutdown, after the connections). */
static void park_drop(void *arg)
{
	park_unref(arg);
}

/*
 * Suspend the connection until wait's record (wait NULL: until ms passed), the deadline or
 * shutdown. -1 when the listener is stopping (nothing parked: go on at once).
 */
static int park_start(struct mock_http *h, struct MHD_Connection *c, struct conn_state *st,
		      struct mock_wait *wait, int64_t ms)
{
	struct park *p = mock_xcalloc(1, sizeof(*p));
	json_t *rec = NULL;
	int rc;

	*p = (struct park){.h = h, .c = c, .wait = wait, .parked = true, .refs = 2};
	pthread_mutex_lock(&h->lock);
	if (h->stopping) {
		pthread_mutex_unlock(&h->lock);
		free(p);
		return -1;
	}
	MHD_suspend_connection(c);
	if (!st->parked_once)
		h->inflight++;
	st->parked_once = true;
	p->next = h->parked;
	if (h->parked)
		h->parked->prev = p;
	h->parked = p;
	pthread_mutex_unlock(&h->lock);
	st->park = p;
	if (wait) {
		rc = mock_wait_watch(wait, park_wake, p, &rec);
		if (rc != 0) { /* a record is there already, or the store is shut down */
			p->refs--; /* no timer job: only the connection holds it (still parked: no race) */
			unpark(p, rec);
			return 0;
		}
		ms = mock_wait_timeout(wait);
	}
	mock_sched_after(h->timer, ms, park_timeout, park_drop, p);
	return 0;
}

/* The connection runs again (or closes): stop the watch, take what woke it, let go of the park. */
static json_t *park_end(struct mock_http *h, struct conn_state *st)
{
	struct park *p = st->park;
	json_t *rec;

	st->park = NULL;
	if (p->wait)
		mock_wait_unwatch(p->wait);
	pthread_mutex_lock(&h->lock);
	if (p->parked)
		park_unlink(h, p);
	rec = p->rec;
	p->rec = NULL;
	pthread_mutex_unlock(&h->lock);
	park_unref(p);
	return rec;
}

/* Run the pipeline until it answers (queue the answer) or parks (suspend). */
static enum MHD_Result advance(struct mock_http *h, struct MHD_Connection *c, struct conn_state *st)
{
	enum mock_step step;
	int64_t ms = 0;

	while ((step = mock_server_step(h->srv, st->req, &st->resp, &ms)) != MOCK_STEP_DONE) {
		struct mock_wait *w = step == MOCK_STEP_WAIT ? st->resp.wait : NULL;
		if (park_start(h, c, st, w, ms) == 0)
			return MHD_YES;
		if (w) /* stopping: the long-poll ends now */
			mock_wait_finish(&st->resp, NULL);
	}
	return send_resp(c, &st->resp);
}

/* The handler runs again after a park: finish a long-poll with what woke it, go on. */
static enum MHD_Result resumed(struct mock_http *h, struct MHD_Connection *c, struct conn_state *st)
{
	bool was_wait = st->park && st->park->wait;
	json_t *rec = st->park ? park_end(h, st) : NULL;

	if (was_wait)
		mock_wait_finish(&st->resp, rec);
	json_decref(rec);
	return advance(h, c, st);
}

/* libmicrohttpd's access handler: accumulate, then run the pipeline. */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version, const char *upload,
				  size_t *upload_size, void **con_cls)
{
	struct mock_http *h = cls;
	struct conn_state *st = *con_cls;

	(void)version;
	if (!st)
		st = *con_cls = on_uri(NULL, "", c);
	if (st->req)
		return resumed(h, c, st);
	if (!st->started) {
		st->started = true;
		if (length_too_big(c, h->max_body))
			return too_large(h, c, url, method, st);
		return MHD_YES;
	}
	if (*upload_size) {
		if (!st->too_big && st->body.len + *upload_size > h->max_body) {
			st->too_big = true;
			sbx_buf_free(&st->body);
		}
		if (!st->too_big)
			sbx_buf_add(&st->body, upload, *upload_size);
		*upload_size = 0;
		return MHD_YES;
	}
	if (st->too_big)
		return too_large(h, c, url, method, st);
	st->req = req_from(c, url, method, st);
	st->req->t0_ms = st->t0;
	return advance(h, c, st);
}

/* Free the per-request state. */
static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct mock_http *h = cls;
	struct conn_state *st = *con_cls;

	(void)c;
	(void)toe;
	if (!st)
		return;
	if (st->park)
		json_decref(park_end(h, st));
	if (st->parked_once) {
		pthread_mutex_lock(&h->lock);
		if (--h->inflight == 0 && h->stopping)
			pthread_cond_broadcast(&h->drained);
		pthread_mutex_unlock(&h->lock);
	}
	mock_resp_clear(&st->resp);
	mock_req_free(st->req);
	sbx_buf_free(&st->body);
	free(st->uri);
	free(st);
	*con_cls = NULL;
}

/* Resolve host:port into a socket address. */
static int resolve(const char *host, int port, struct sockaddr_storage *ss, struct mock_err *e)
{
	struct addrinfo hints = {.ai_flags = AI_PASSIVE | AI_NUMERICSERV, .ai_socktype = SOCK_STREAM};
	struct addrinfo *ai = NULL;
	char service[16];
	int rc;

	snprintf(service, sizeof(service), "%d", port);
	rc = getaddrinfo(host, service, &hints, &ai);
	if (rc != 0)
		return mock_err_set(e, "--listen %s: %s", host, gai_strerror(rc));
	memcpy(ss, ai->ai_addr, ai->ai_addrlen);
	freeaddrinfo(ai);
	return 0;
}

/* The size of the thread pool: the online cores. */
static unsigned pool_size(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n < 1 ? 1 : n > 64 ? 64 : (unsigned)n;
}

/* Start listening. */
struct mock_http *mock_http_start(struct mock_server *s, const struct mock_opts *o,
				  struct mock_err *e)
{
	const char *host = o->listen_host;
	int port = o->listen_port;
	unsigned idle = (unsigned)((o->idle_timeout_ms + 999) / 1000);
	struct mock_http *h = mock_xcalloc(1, sizeof(*h));
	struct sockaddr_storage ss;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME |
			 MHD_USE_ERROR_LOG;
	const union MHD_DaemonInfo *di;

	h->srv = s;
	h->max_body = o->max_body;
	pthread_mutex_init(&h->lock, NULL);
	sbx_cond_init_mono(&h->drained);
	if (resolve(host, port, &ss, e) < 0)
		goto fail;
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	h->timer = mock_sched_new();
	h->d = MHD_start_daemon(flags, (uint16_t)port, NULL, NULL, on_request, h,
				MHD_OPTION_EXTERNAL_LOGGER, mhd_logger, h,
				MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
				MHD_OPTION_NOTIFY_COMPLETED, on_completed, h,
				MHD_OPTION_URI_LOG_CALLBACK, on_uri, h,
				MHD_OPTION_THREAD_POOL_SIZE, pool_size(),
				MHD_OPTION_CONNECTION_TIMEOUT, idle ? idle : 1u,
				MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)o->max_conns_per_ip,
				MHD_OPTION_CONNECTION_LIMIT, (unsigned)4096,
				MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned)1024,
				/*
				 * headers and read buffer per connection: MHD zeroes all of it for
				 * every request (16 KB was 4% of the SMS mock's CPU under load); 8 KB
				 * holds a request's headers as nginx's default buffers do
				 */
				MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)8192,
				MHD_OPTION_END);
	if (!h->d) {
		mock_err_set(e, "cannot listen on %s:%d (address in use or not local?)", host, port);
		goto fail;
	}
	di = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_BIND_PORT);
	h->port = di ? di->port : port;
	return h;
fail:
	mock_sched_free(h->timer);
	pthread_cond_destroy(&h->drained);
	pthread_mutex_destroy(&h->lock);
	free(h);
	return NULL;
}

/* The bound port. */
int mock_http_port(const struct mock_http *h)
{
	return h->port;
}

/*
 * Stop the listener: no new connections; resume every parked request (they end at once: a
 * long-poll answers 408) and give them up to 2 s to be answered; then close everything.
 */
void mock_http_stop(struct mock_http *h)
{
	struct timespec dl;
	MHD_socket lfd;

	if (!h)
		return;
	lfd = MHD_quiesce_daemon(h->d); /* the listening socket is ours to close now */
	clock_gettime(CLOCK_MONOTONIC, &dl);
	dl.tv_sec += 2;
	pthread_mutex_lock(&h->lock);
	h->stopping = true;
	while (h->parked) {
		struct park *p = h->parked;
		park_unlink(h, p);
		MHD_resume_connection(p->c);
	}
	while (h->inflight > 0 && pthread_cond_timedwait(&h->drained, &h->lock, &dl) == 0)
		;
	pthread_mutex_unlock(&h->lock);
	MHD_stop_daemon(h->d);
	if (lfd != MHD_INVALID_SOCKET)
		close(lfd);
	mock_sched_free(h->timer);
	pthread_cond_destroy(&h->drained);
	pthread_mutex_destroy(&h->lock);
	free(h);
}
