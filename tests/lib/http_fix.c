/* http_fix — a tiny HTTP server for tests: registered bodies by path, 404 otherwise. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http_fix.h"
#include "util.h"

#define HTTP_FIX_ROUTES 8

struct http_fix {
	int fd, port, hits;
	pthread_t th;
	pthread_mutex_t mu;
	struct {
		char *path;
		const void *body;
		size_t len;
	} routes[HTTP_FIX_ROUTES];
	size_t nroutes;
};

/* Write all of buf. */
static void write_all(int fd, const void *buf, size_t n)
{
	const char *p = buf;
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w <= 0)
			return;
		p += w;
		n -= (size_t)w;
	}
}

/* Read a request's head into req; false when the client went away. */
static bool read_head(int c, char *req, size_t cap)
{
	size_t got = 0;
	req[0] = '\0';
	while (got < cap - 1 && strstr(req, "\r\n\r\n") == NULL) {
		ssize_t n = read(c, req + got, cap - 1 - got);
		if (n <= 0)
			return false;
		got += (size_t)n;
		req[got] = '\0';
	}
	return true;
}

/* The route matching "GET PATH ", or -1. */
static int route_of(struct http_fix *s, const char *req)
{
	int hit = -1;
	pthread_mutex_lock(&s->mu);
	for (size_t i = 0; i < s->nroutes && hit < 0; i++) {
		char *line = xasprintf("GET %s ", s->routes[i].path);
		if (strncmp(req, line, strlen(line)) == 0)
			hit = (int)i;
		free(line);
	}
	pthread_mutex_unlock(&s->mu);
	return hit;
}

/* Answer one request. */
static void answer(struct http_fix *s, int c)
{
	char req[2048];
	if (!read_head(c, req, sizeof req))
		return;
	__atomic_add_fetch(&s->hits, 1, __ATOMIC_SEQ_CST);
	int r = route_of(s, req);
	if (r < 0) {
		const char *nf = "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
		write_all(c, nf, strlen(nf));
		return;
	}
	char *h = xasprintf("HTTP/1.1 200 OK\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n",
		s->routes[r].len);
	write_all(c, h, strlen(h));
	write_all(c, s->routes[r].body, s->routes[r].len);
	free(h);
}

/* Accept until the listening socket is shut down. */
static void *serve(void *arg)
{
	struct http_fix *s = arg;
	for (;;) {
		int c = accept(s->fd, NULL, NULL);
		if (c < 0)
			return NULL;
		answer(s, c);
		close(c);
	}
}

/* Listen on 127.0.0.1:0. */
int http_fix_listen(int *fd)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
	socklen_t len = sizeof a;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	*fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(*fd >= 0);
	assert_int_equal(bind(*fd, (struct sockaddr *)&a, sizeof a), 0);
	assert_int_equal(listen(*fd, 16), 0);
	assert_int_equal(getsockname(*fd, (struct sockaddr *)&a, &len), 0);
	return ntohs(a.sin_port);
}

/* Start a server. */
struct http_fix *http_fix_start(void)
{
	struct http_fix *s = xcalloc(1, sizeof(*s));
	pthread_mutex_init(&s->mu, NULL);
	s->port = http_fix_listen(&s->fd);
	assert_int_equal(pthread_create(&s->th, NULL, serve, s), 0);
	return s;
}

/* Register a body for a path. */
void http_fix_route(struct http_fix *s, const char *path, const void *body, size_t len)
{
	pthread_mutex_lock(&s->mu);
	assert_true(s->nroutes < HTTP_FIX_ROUTES);
	s->routes[s->nroutes].path = xstrdup(path);
	s->routes[s->nroutes].body = body;
	s->routes[s->nroutes++].len = len;
	pthread_mutex_unlock(&s->mu);
}

/* The server's port. */
int http_fix_port(const struct http_fix *s)
{
	return s->port;
}

/* Requests answered so far. */
int http_fix_hits(const struct http_fix *s)
{
	return __atomic_load_n(&s->hits, __ATOMIC_SEQ_CST);
}

/* Stop and free. */
void http_fix_stop(struct http_fix *s)
{
	if (s == NULL)
		return;
	shutdown(s->fd, SHUT_RDWR);
	close(s->fd);
	pthread_join(s->th, NULL);
	for (size_t i = 0; i < s->nroutes; i++)
		free(s->routes[i].path);
	pthread_mutex_destroy(&s->mu);
	free(s);
}
