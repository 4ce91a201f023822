/* daemon_http — the daemon's HTTP side (libmicrohttpd): routing, answers, resource bounds. */
#include "daemon_int.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <microhttpd.h>

#define HTTP_THREADS 2             /* a slow state query does not stall every client */
#define HTTP_CONN_LIMIT 64         /* connections in all */
#define HTTP_PER_IP_LIMIT 16       /* connections from one address */
#define HTTP_TIMEOUT_S 10          /* an idle or slow connection is closed after this */
#define HTTP_MEM_LIMIT (32 * 1024) /* per connection: headers of a GET fit easily */
#define HEALTH_GRACE_S 300         /* a pass may take this long on top of 3 intervals */

struct daemon_http {
	struct MHD_Daemon *mhd;
};

/* An answer to send. */
struct answer {
	unsigned status;
	const char *type;
	char *body; /* owned */
};

/* Queue the answer with headers every page carries; frees its body. */
static enum MHD_Result send_answer(struct MHD_Connection *c, struct answer *a)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(strlen(a->body), a->body, MHD_RESPMEM_MUST_FREE);
	if (r == NULL) {
		free(a->body);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, a->type);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(r, "Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'");
	if (a->status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	enum MHD_Result rc = MHD_queue_response(c, a->status, r);
	MHD_destroy_response(r);
	return rc;
}

/* A plain-text answer. */
static struct answer text(unsigned status, char *body)
{
	return (struct answer){status, "text/plain; charset=utf-8", body};
}

/* The outbox's lines of /healthz: the deliveries waiting and the oldest one's age; none when the
 * state cannot be read (the health is the reaper's, not the state's). Caller frees. */
static char *healthz_outbox(struct daemon *d)
{
	struct sbx_err err = SBX_ERR_INIT;
	int64_t n = 0, oldest = 0;
	if (state_outbox_depth(d->st, NULL, &n, &oldest, &err) < 0) {
		sbx_err_clear(&err);
		return xstrdup("");
	}
	int64_t age = n && oldest && sbx_now() > oldest ? sbx_now() - oldest : 0;
	return xasprintf("outbox_pending %lld\noutbox_oldest_age_seconds %lld\n", (long long)n, (long long)age);
}

/* GET /healthz: 200 while the reaper's last successful pass is recent, else 503. */
static struct answer healthz(struct daemon *d)
{
	pthread_mutex_lock(&d->mu);
	int64_t last = d->stats.last_ok_mono_ms;
	pthread_mutex_unlock(&d->mu);
	int64_t age = (sbx_mono_ms() - last) / 1000, limit = 3 * d->o->interval_s + HEALTH_GRACE_S;
	char *ob = healthz_outbox(d);
	struct answer a;
	if (last == 0)
		a = text(MHD_HTTP_SERVICE_UNAVAILABLE, xasprintf("starting: no successful reaper pass yet\n%s", ob));
	else if (age > limit)
		a = text(MHD_HTTP_SERVICE_UNAVAILABLE, xasprintf("stale: last successful reaper pass %llds ago "
			"(limit %llds)\n%s", (long long)age, (long long)limit, ob));
	else
		a = text(MHD_HTTP_OK, xasprintf("ok\nlast_successful_pass_age_seconds %lld\n%s", (long long)age, ob));
	free(ob);
	return a;
}

/* A page rendered from the state, or 500 (logged) when the state cannot be read. */
static struct answer rendered(struct daemon *d, int (*fn)(struct daemon *, char **, struct sbx_err *),
	const char *type)
{
	struct sbx_err err = SBX_ERR_INIT;
	char *body = NULL;
	if (fn(d, &body, &err) < 0) {
		ev_emit(d->log, NULL, "http.error", NULL, NULL, NULL, "%s", sbx_err_first(&err));
		sbx_err_clear(&err);
		return text(MHD_HTTP_INTERNAL_SERVER_ERROR, xstrdup("the state cannot be read; see the daemon's log\n"));
	}
	return (struct answer){MHD_HTTP_OK, type, body};
}

/* Route a request. */
static struct answer route(struct daemon *d, const char *method, const char *url)
{
	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
		return text(MHD_HTTP_METHOD_NOT_ALLOWED, xstrdup("method not allowed: this server is read-only\n"));
	if (strcmp(url, "/healthz") == 0)
		return healthz(d);
	if (strcmp(url, "/metrics") == 0)
		return rendered(d, daemon_metrics, "text/plain; version=0.0.4; charset=utf-8");
	if (strcmp(url, "/") == 0)
		return rendered(d, daemon_page, "text/html; charset=utf-8");
	return text(MHD_HTTP_NOT_FOUND, xstrdup("not found: try /, /healthz or /metrics\n"));
}

/* libmicrohttpd's access handler: answer at the first call (no request body is read). */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
	const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
	struct daemon *d = cls;
	(void)version;
	(void)upload;
	(void)con_cls;
	*upload_size = 0;
	struct answer a = route(d, method, url);
	unsigned status = a.status;
	enum MHD_Result rc = send_answer(c, &a);
	if (status != MHD_HTTP_OK)
		ev_emit(d->log, NULL, "http.request", NULL, NULL, NULL, "%.16s %.200s: %u", method, url, status);
	return rc;
}

/* libmicrohttpd's own errors, into the log. */
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	struct daemon *d = cls;
	char *msg = xvasprintf(fmt, ap);
	size_t n = strlen(msg);
	while (n > 0 && msg[n - 1] == '\n')
		msg[--n] = '\0';
	ev_emit(d->log, NULL, "http.log", NULL, NULL, NULL, "%s", msg);
	free(msg);
}

/* Resolve the listen address (numeric or a name); *addr: its numeric form, caller frees. */
static int resolve(const char *host, int port, struct sockaddr_storage *ss, socklen_t *len, char **addr,
	struct sbx_err *err)
{
	struct addrinfo hints = {.ai_flags = AI_PASSIVE | AI_NUMERICSERV, .ai_socktype = SOCK_STREAM};
	struct addrinfo *ai = NULL;
	char service[16], num[INET6_ADDRSTRLEN];
	snprintf(service, sizeof(service), "%d", port);
	int rc = getaddrinfo(host, service, &hints, &ai);
	if (rc != 0)
		return sbx_err_set(err, SBX_EXIT_USAGE, "--listen %s:%d: %s", host, port, gai_strerror(rc));
	memcpy(ss, ai->ai_addr, ai->ai_addrlen);
	*len = ai->ai_addrlen;
	freeaddrinfo(ai);
	getnameinfo((struct sockaddr *)ss, *len, num, sizeof(num), NULL, 0, NI_NUMERICHOST);
	*addr = ss->ss_family == AF_INET6 ? xasprintf("[%s]", num) : xstrdup(num);
	return 0;
}

/* Start listening. */
int daemon_http_start(struct daemon *d, const char *host, int port, int *bound, char **addr,
	struct daemon_http **out, struct sbx_err *err)
{
	struct sockaddr_storage ss;
	socklen_t len = 0;
	char *a = NULL;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL | MHD_USE_ERROR_LOG;
	if (resolve(host, port, &ss, &len, &a, err) < 0)
		return -1;
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	struct MHD_Daemon *m = MHD_start_daemon(flags, (uint16_t)port, NULL, NULL, on_request, d,
		MHD_OPTION_EXTERNAL_LOGGER, mhd_log, d, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
		MHD_OPTION_THREAD_POOL_SIZE, (unsigned)HTTP_THREADS, MHD_OPTION_CONNECTION_LIMIT,
		(unsigned)HTTP_CONN_LIMIT, MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)HTTP_PER_IP_LIMIT,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)HTTP_TIMEOUT_S, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
		(size_t)HTTP_MEM_LIMIT, MHD_OPTION_END);
	if (m == NULL) {
		sbx_err_set(err, SBX_EXIT_FAILED, "cannot listen on %s:%d (address in use, or not an address of this "
			"host?)", a, port);
		free(a);
		return -1;
	}
	const union MHD_DaemonInfo *di = MHD_get_daemon_info(m, MHD_DAEMON_INFO_BIND_PORT);
	*bound = di && di->port ? di->port : port;
	*addr = a;
	*out = xcalloc(1, sizeof(**out));
	(*out)->mhd = m;
	return 0;
}

/* Stop listening: in-flight answers finish first. */
void daemon_http_stop(struct daemon_http *h)
{
	if (h == NULL)
		return;
	MHD_stop_daemon(h->mhd);
	free(h);
}
