/*
 * rawconn — many plain TCP connections to a mock at once (header-only, for the mock tests): open
 * them, send raw (possibly partial) requests, and collect every answer until the peer closes,
 * against a deadline with poll(2). Also the thread count of a process from /proc.
 */
#ifndef SBX_TEST_RAWCONN_H
#define SBX_TEST_RAWCONN_H

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

/* One connection and what it read. */
struct rawconn {
	int fd;         /* -1 when closed */
	char buf[2048]; /* the start of the answer (NUL-terminated) */
	size_t len;
	bool eof;       /* the peer closed (or reset) */
};

/* A connection from address `from` (NULL: any) to 127.0.0.1:port (blocking); -1 on failure. */
static inline int rc_connect_from(const char *from, int port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	struct sockaddr_in src = {.sin_family = AF_INET};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0)
		return -1;
	if (from && (inet_pton(AF_INET, from, &src.sin_addr) != 1 ||
		     bind(fd, (struct sockaddr *)&src, sizeof(src)) < 0)) {
		close(fd);
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* A connection to 127.0.0.1:port; -1 on failure. */
static inline int rc_connect(int port)
{
	return rc_connect_from(NULL, port);
}

/* Write all of text to fd (blocking); 0 / -1. */
static inline int rc_send(int fd, const char *text)
{
	size_t len = strlen(text), off = 0;

	while (off < len) {
		ssize_t w = send(fd, text + off, len - off, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		off += (size_t)w;
	}
	return 0;
}

/* Open n connections and send each `request`; 0, or -1 when one fails (all closed then). */
static inline int rc_open_all(struct rawconn *c, size_t n, int port, const char *request)
{
	for (size_t i = 0; i < n; i++) {
		memset(&c[i], 0, sizeof(c[i]));
		c[i].fd = rc_connect(port);
		if (c[i].fd < 0 || (request && rc_send(c[i].fd, request) < 0)) {
			for (size_t j = 0; j <= i; j++)
				if (c[j].fd >= 0)
					close(c[j].fd);
			return -1;
		}
		fcntl(c[i].fd, F_SETFL, O_NONBLOCK);
	}
	return 0;
}

/* Read what is there on one connection; mark eof when the peer closed. */
static inline void rc_drain(struct rawconn *c)
{
	char tmp[4096];
	ssize_t r;

	while ((r = recv(c->fd, tmp, sizeof(tmp), 0)) > 0) {
		size_t k = (size_t)r < sizeof(c->buf) - 1 - c->len ? (size_t)r : sizeof(c->buf) - 1 - c->len;
		memcpy(c->buf + c->len, tmp, k);
		c->len += k;
		c->buf[c->len] = '\0';
	}
	if (r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
		c->eof = true;
}

/*
 * Poll the n connections until each has been closed by the peer or until the deadline (monotonic
 * ms, mockproc_now_ms's clock) passes. Returns how many reached end of file.
 */
static inline size_t rc_read_all(struct rawconn *c, size_t n, long long deadline_ms,
				 long long (*now_ms)(void))
{
	struct pollfd *p = calloc(n, sizeof(*p));
	size_t done = 0;

	for (;;) {
		size_t np = 0;
		long long left = deadline_ms - now_ms();
		done = 0;
		for (size_t i = 0; i < n; i++) {
			if (c[i].eof) {
				done++;
				continue;
			}
			p[np].fd = c[i].fd;
			p[np].events = POLLIN;
			p[np].revents = 0;
			np++;
		}
		if (np == 0 || left <= 0)
			break;
		if (poll(p, np, (int)(left > 1000 ? 1000 : left)) < 0 && errno != EINTR)
			break;
		for (size_t i = 0; i < n; i++)
			if (!c[i].eof)
				rc_drain(&c[i]);
	}
	free(p);
	return done;
}

/* Close every connection. */
static inline void rc_close_all(struct rawconn *c, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (c[i].fd >= 0)
			close(c[i].fd);
		c[i].fd = -1;
	}
}

/* The "Threads:" of /proc/PID/status, or -1. */
static inline int rc_threads(pid_t pid)
{
	char path[64], line[256];
	int n = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Threads: %d", &n) == 1)
			break;
	fclose(f);
	return n;
}

/* Raise the soft limit of open files to at least want (up to the hard limit); whether it fits. */
static inline bool rc_files(rlim_t want)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return false;
	if (rl.rlim_cur >= want)
		return true;
	rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= want ? want : rl.rlim_max;
	return setrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur >= want;
}

#endif
