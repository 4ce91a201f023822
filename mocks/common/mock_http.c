/* mock_http — the libmicrohttpd listener: body accumulation with a cap, hand-off to the pipeline. */
#include "mock_http.h"

#include "buf.h"
#include "clock.h"
#include "mock_kv.h"
#include "mock_log.h"
#include "mock_req.h"
#include "mock_server.h"
#include "mock_util.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

struct mock_http {
	struct MHD_Daemon *d;
	struct mock_server *srv;
	size_t max_body;
	int port;
};

/* Per-request state between libmicrohttpd's calls. */
struct conn_state {
	char *uri;     /* the raw request target, for the query string */
	bool started;  /* the access handler has seen the headers */
	struct sbx_buf body;
	bool too_big;
	int64_t t0;
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
	r->remote = client_addr(c);
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

/* libmicrohttpd's access handler: accumulate, then run the pipeline. */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version, const char *upload,
				  size_t *upload_size, void **con_cls)
{
	struct mock_http *h = cls;
	struct conn_state *st = *con_cls;
	struct mock_req *req;
	struct mock_resp resp = {0};
	enum MHD_Result rc;

	(void)version;
	if (!st)
		st = *con_cls = on_uri(NULL, "", c);
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
	req = req_from(c, url, method, st);
	mock_server_handle(h->srv, req, &resp);
	rc = send_resp(c, &resp);
	mock_resp_clear(&resp);
	mock_req_free(req);
	return rc;
}

/* Free the per-request state. */
static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct conn_state *st = *con_cls;

	(void)cls;
	(void)c;
	(void)toe;
	if (!st)
		return;
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

/* Start listening. */
struct mock_http *mock_http_start(struct mock_server *s, const char *host, int port,
				  size_t max_body, struct mock_err *e)
{
	struct mock_http *h = mock_xcalloc(1, sizeof(*h));
	struct sockaddr_storage ss;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
			 MHD_USE_POLL | MHD_USE_ERROR_LOG;
	const union MHD_DaemonInfo *di;

	h->srv = s;
	h->max_body = max_body;
	if (resolve(host, port, &ss, e) < 0)
		goto fail;
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	h->d = MHD_start_daemon(flags, (uint16_t)port, NULL, NULL, on_request, h,
				MHD_OPTION_EXTERNAL_LOGGER, mhd_logger, h,
				MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
				MHD_OPTION_NOTIFY_COMPLETED, on_completed, h,
				MHD_OPTION_URI_LOG_CALLBACK, on_uri, h,
				MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)120,
				MHD_OPTION_CONNECTION_LIMIT, (unsigned)2000,
				MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned)1024,
				MHD_OPTION_END);
	if (!h->d) {
		mock_err_set(e, "cannot listen on %s:%d (address in use or not local?)", host, port);
		goto fail;
	}
	di = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_BIND_PORT);
	h->port = di ? di->port : port;
	return h;
fail:
	free(h);
	return NULL;
}

/* The bound port. */
int mock_http_port(const struct mock_http *h)
{
	return h->port;
}

/* Stop the listener. */
void mock_http_stop(struct mock_http *h)
{
	if (!h)
		return;
	MHD_stop_daemon(h->d);
	free(h);
}
