/* smtp_server — the SMTP listener: accept thread, a thread per connection, STARTTLS. */
#include "smtp_server.h"

#include "mock_metrics.h"
#include "mock_util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* One client connection. */
struct conn {
	struct smtp_server *srv;
	int fd;
	SSL *ssl;
	char peer[INET6_ADDRSTRLEN];
	struct conn *prev, *next;
};

struct smtp_server {
	struct smtp_server_config cfg;
	SSL_CTX *tls;
	int lfd, port;
	int wake[2];          /* a pipe that wakes the accept thread */
	pthread_t acceptor;
	bool started, stopping;
	pthread_mutex_t lock;
	pthread_cond_t idle;  /* signalled when a connection ends */
	struct conn *conns;
	size_t nconn;
};

/* Put the last OpenSSL error into e. Returns -1. */
static int tls_err(struct mock_err *e, const char *what, const char *file)
{
	char buf[256] = "unknown error";
	unsigned long code = ERR_get_error();

	if (code)
		ERR_error_string_n(code, buf, sizeof(buf));
	ERR_clear_error();
	return mock_err_set(e, "%s %s: %s", what, file, buf);
}

/* Load the certificate and key into a server context. 0 / -1 with e. */
static int tls_load(struct smtp_server *s, struct mock_err *e)
{
	const char *cert = s->cfg.tls_cert, *key = s->cfg.tls_key ? s->cfg.tls_key : cert;

	s->tls = SSL_CTX_new(TLS_server_method());
	if (!s->tls)
		return tls_err(e, "TLS context", "");
	SSL_CTX_set_min_proto_version(s->tls, TLS1_2_VERSION);
	if (SSL_CTX_use_certificate_chain_file(s->tls, cert) != 1)
		return tls_err(e, "--tls-cert", cert);
	if (SSL_CTX_use_PrivateKey_file(s->tls, key, SSL_FILETYPE_PEM) != 1)
		return tls_err(e, "--tls-key", key);
	if (SSL_CTX_check_private_key(s->tls) != 1)
		return tls_err(e, "--tls-key does not match", cert);
	return 0;
}

/* Create a server (see smtp_server.h). */
struct smtp_server *smtp_server_new(const struct smtp_server_config *cfg, struct mock_err *e)
{
	struct smtp_server *s = mock_xcalloc(1, sizeof(*s));

	s->cfg = *cfg;
	s->lfd = s->wake[0] = s->wake[1] = -1;
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->idle, NULL);
	if (cfg->tls_cert && tls_load(s, e) < 0) {
		smtp_server_free(s);
		return NULL;
	}
	s->cfg.session.tls_available = s->tls != NULL;
	if (s->cfg.metrics) {
		mock_metrics_describe(s->cfg.metrics, "sbx_mock_smtp_connections_total", "counter",
				      "SMTP connections, by result (accepted, refused).");
		mock_metrics_describe(s->cfg.metrics, "sbx_mock_smtp_connections_active", "gauge",
				      "SMTP connections open now.");
	}
	return s;
}

/* Count a connection event. */
static void count(struct smtp_server *s, const char *result, size_t active)
{
	if (!s->cfg.metrics)
		return;
	if (result)
		mock_metrics_add(s->cfg.metrics, "sbx_mock_smtp_connections_total", result, 1);
	mock_metrics_set(s->cfg.metrics, "sbx_mock_smtp_connections_active", "", (double)active);
}

/* Send all of buf (plain or TLS). 0 / -1. */
static int conn_write(struct conn *c, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = c->ssl ? SSL_write(c->ssl, buf, (int)len)
				   : send(c->fd, buf, len, MSG_NOSIGNAL);
		if (n <= 0) {
			if (!c->ssl && n < 0 && errno == EINTR)
				continue;
			return -1;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Read some bytes: > 0, 0 at end of stream, -1 on error, -2 on the idle timeout. */
static ssize_t conn_read(struct conn *c, char *buf, size_t len)
{
	ssize_t n;

	if (c->ssl) {
		n = SSL_read(c->ssl, buf, (int)len);
		if (n > 0)
			return n;
		int err = SSL_get_error(c->ssl, (int)n);
		if (err == SSL_ERROR_ZERO_RETURN)
			return 0;
		if (err == SSL_ERROR_WANT_READ ||
		    (err == SSL_ERROR_SYSCALL && (errno == EAGAIN || errno == EWOULDBLOCK)))
			return -2; /* SO_RCVTIMEO expired */
		return -1;
	}
	do
		n = recv(c->fd, buf, len, 0);
	while (n < 0 && errno == EINTR);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return -2;
	return n < 0 ? -1 : n;
}

/* Send the session's pending output. 0 / -1. */
static int conn_flush(struct conn *c, struct smtp_session *ss)
{
	size_t len;
	const char *out = smtp_session_output(ss, &len);
	int rc = len ? conn_write(c, out, len) : 0;

	smtp_session_output_clear(ss);
	return rc;
}

/* Upgrade the connection to TLS. 0 / -1. */
static int conn_starttls(struct conn *c)
{
	c->ssl = SSL_new(c->srv->tls);
	if (!c->ssl || SSL_set_fd(c->ssl, c->fd) != 1 || SSL_accept(c->ssl) != 1) {
		ERR_clear_error();
		return -1;
	}
	return 0;
}

/* The session loop of one connection: read, feed, answer, until the end. */
static void conn_serve(struct conn *c, struct smtp_session *ss)
{
	char buf[16384];

	while (conn_flush(c, ss) == 0 && !smtp_session_closed(ss)) {
		if (smtp_session_tls_pending(ss)) {
			if (conn_starttls(c) < 0)
				return;
			smtp_session_tls_started(ss);
			continue;
		}
		ssize_t n = conn_read(c, buf, sizeof(buf));
		if (n > 0)
			smtp_session_feed(ss, buf, (size_t)n);
		else if (n == -2)
			smtp_session_abort(ss, 421, "4.4.2 Idle timeout, closing connection");
		else if (n == 0 && __atomic_load_n(&c->srv->stopping, __ATOMIC_ACQUIRE))
			smtp_session_abort(ss, 421, "4.3.2 Service shutting down");
		else
			return;
	}
}

/* Unlink a finished connection and free it. */
static void conn_end(struct conn *c)
{
	struct smtp_server *s = c->srv;
	size_t active;

	if (c->ssl) {
		SSL_shutdown(c->ssl);
		SSL_free(c->ssl);
	}
	close(c->fd);
	pthread_mutex_lock(&s->lock);
	if (c->prev)
		c->prev->next = c->next;
	else
		s->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	active = --s->nconn;
	count(s, NULL, active);
	pthread_cond_broadcast(&s->idle);
	pthread_mutex_unlock(&s->lock);
	free(c);
}

/* The thread of one connection. */
static void *conn_thread(void *arg)
{
	struct conn *c = arg;
	struct smtp_session *ss = smtp_session_new(&c->srv->cfg.session, &c->srv->cfg.hooks);

	smtp_session_set_peer(ss, c->peer);
	conn_serve(c, ss);
	smtp_session_free(ss);
	conn_end(c);
	return NULL;
}

/* Set the per-read/per-write timeouts of a client socket. */
static void conn_timeouts(int fd, int64_t ms)
{
	struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000};
	struct timeval wtv = {30, 0};
	int one = 1;

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &wtv, sizeof(wtv));
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

/* The text form of a socket address. */
static void peer_name(const struct sockaddr_storage *sa, char *out, size_t len)
{
	const void *addr = sa->ss_family == AF_INET6
				   ? (const void *)&((const struct sockaddr_in6 *)sa)->sin6_addr
				   : (const void *)&((const struct sockaddr_in *)sa)->sin_addr;

	if (!inet_ntop(sa->ss_family, addr, out, (socklen_t)len))
		snprintf(out, len, "unknown");
}

/* Start a thread for an accepted socket, or refuse it when over the limit. */
static void conn_start(struct smtp_server *s, int fd, const struct sockaddr_storage *sa)
{
	static const char busy[] = "421 4.7.0 Too many connections, try again later\r\n";
	struct conn *c;
	pthread_attr_t attr;
	pthread_t tid;

	pthread_mutex_lock(&s->lock);
	if (s->nconn >= s->cfg.max_conn) {
		count(s, "result=\"refused\"", s->nconn);
		pthread_mutex_unlock(&s->lock);
		(void)!send(fd, busy, sizeof(busy) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
		close(fd);
		return;
	}
	c = mock_xcalloc(1, sizeof(*c));
	c->srv = s;
	c->fd = fd;
	peer_name(sa, c->peer, sizeof(c->peer));
	conn_timeouts(fd, s->cfg.idle_timeout_ms);
	c->next = s->conns;
	if (s->conns)
		s->conns->prev = c;
	s->conns = c;
	count(s, "result=\"accepted\"", ++s->nconn);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	if (pthread_create(&tid, &attr, conn_thread, c) != 0) {
		pthread_mutex_unlock(&s->lock);
		conn_end(c);
		pthread_mutex_lock(&s->lock);
	}
	pthread_attr_destroy(&attr);
	pthread_mutex_unlock(&s->lock);
}

/* The accept thread: accept until stopped. */
static void *accept_thread(void *arg)
{
	struct smtp_server *s = arg;
	struct pollfd p[2] = {{s->lfd, POLLIN, 0}, {s->wake[0], POLLIN, 0}};

	while (!__atomic_load_n(&s->stopping, __ATOMIC_ACQUIRE)) {
		struct sockaddr_storage sa;
		socklen_t sl = sizeof(sa);
		if (poll(p, 2, -1) < 0 || p[1].revents)
			continue;
		int fd = accept4(s->lfd, (struct sockaddr *)&sa, &sl, SOCK_CLOEXEC);
		if (fd >= 0)
			conn_start(s, fd, &sa);
		else if (errno == EMFILE || errno == ENFILE)
			poll(NULL, 0, 50);
	}
	return NULL;
}

/* Bind and listen on host:port; returns the socket or -1 with e. */
static int listen_on(const char *host, int port, int *bound, struct mock_err *e)
{
	struct addrinfo hints = {.ai_flags = AI_PASSIVE | AI_NUMERICSERV, .ai_socktype = SOCK_STREAM};
	struct addrinfo *ai = NULL;
	struct sockaddr_storage sa;
	socklen_t sl = sizeof(sa);
	char ps[16];
	int fd = -1, one = 1, rc;

	snprintf(ps, sizeof(ps), "%d", port);
	rc = getaddrinfo(host, ps, &hints, &ai);
	if (rc != 0)
		return mock_err_set(e, "--smtp %s: %s", host, gai_strerror(rc));
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 512) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &sl) < 0) {
		mock_err_set(e, "--smtp %s:%d: %s", host, port, strerror(errno));
		if (fd >= 0)
			close(fd);
		fd = -1;
	} else {
		*bound = ntohs(sa.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&sa)->sin6_port
							: ((struct sockaddr_in *)&sa)->sin_port);
	}
	freeaddrinfo(ai);
	return fd;
}

/* Start listening and accepting. */
int smtp_server_start(struct smtp_server *s, struct mock_err *e)
{
	s->lfd = listen_on(s->cfg.host, s->cfg.port, &s->port, e);
	if (s->lfd < 0)
		return -1;
	if (pipe2(s->wake, O_CLOEXEC) < 0)
		return mock_err_set(e, "pipe: %s", strerror(errno));
	if (pthread_create(&s->acceptor, NULL, accept_thread, s) != 0)
		return mock_err_set(e, "cannot start the SMTP accept thread");
	s->started = true;
	return 0;
}

/* The bound port. */
int smtp_server_port(const struct smtp_server *s)
{
	return s->port;
}

/* Print the listening line. */
void smtp_server_announce(const struct smtp_server *s)
{
	if (strchr(s->cfg.host, ':'))
		printf("listening on smtp://[%s]:%d\n", s->cfg.host, s->port);
	else
		printf("listening on smtp://%s:%d\n", s->cfg.host, s->port);
	fflush(stdout);
}

/* Stop accepting and end every connection. */
void smtp_server_stop(struct smtp_server *s)
{
	if (!s->started)
		return;
	s->started = false;
	__atomic_store_n(&s->stopping, true, __ATOMIC_RELEASE);
	(void)!write(s->wake[1], "x", 1);
	pthread_join(s->acceptor, NULL);
	pthread_mutex_lock(&s->lock);
	for (struct conn *c = s->conns; c; c = c->next)
		shutdown(c->fd, SHUT_RD);
	while (s->nconn)
		pthread_cond_wait(&s->idle, &s->lock);
	pthread_mutex_unlock(&s->lock);
}

/* Stop and free. */
void smtp_server_free(struct smtp_server *s)
{
	if (!s)
		return;
	smtp_server_stop(s);
	if (s->lfd >= 0)
		close(s->lfd);
	if (s->wake[0] >= 0) {
		close(s->wake[0]);
		close(s->wake[1]);
	}
	SSL_CTX_free(s->tls);
	pthread_cond_destroy(&s->idle);
	pthread_mutex_destroy(&s->lock);
	free(s);
}
