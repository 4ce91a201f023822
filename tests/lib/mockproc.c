/* mockproc — start/stop mock binaries and receive webhooks, for tests (libc only). */
#include "mockproc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Monotonic ms. */
long long mockproc_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* $SBX_BIN/sbx-mock-NAME. */
const char *mockproc_bin(const char *name, char *buf, size_t len)
{
	const char *dir = getenv("SBX_BIN");

	snprintf(buf, len, "%s/sbx-mock-%s", dir && *dir ? dir : "build/asan", name);
	return buf;
}

/* The line of out starting with prefix, or NULL. */
static const char *find_line(const char *out, const char *prefix)
{
	size_t plen = strlen(prefix);

	for (const char *l = out; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		if (strncmp(l, prefix, plen) == 0 && strchr(l, '\n'))
			return l;
	}
	return NULL;
}

/* Read more output, waiting up to ms. 1 read, 0 timeout, -1 end/error. */
static int read_more(struct mockproc *p, int ms)
{
	struct pollfd pfd = {p->out_fd, POLLIN, 0};
	ssize_t n;

	if (poll(&pfd, 1, ms) <= 0)
		return 0;
	if (p->out_len + 1 >= sizeof(p->out))
		return -1;
	n = read(p->out_fd, p->out + p->out_len, sizeof(p->out) - 1 - p->out_len);
	if (n <= 0)
		return -1;
	p->out_len += (size_t)n;
	p->out[p->out_len] = '\0';
	return 1;
}

/* Wait for a line. */
int mockproc_expect(struct mockproc *p, const char *prefix, char *rest, size_t len, int timeout_ms)
{
	long long deadline = mockproc_now_ms() + timeout_ms;
	const char *l;

	while (!(l = find_line(p->out, prefix))) {
		long long left = deadline - mockproc_now_ms();
		if (left <= 0 || read_more(p, (int)left) < 0)
			return -1;
	}
	if (rest) {
		l += strlen(prefix);
		snprintf(rest, len, "%.*s", (int)strcspn(l, "\n"), l);
	}
	return 0;
}

/* Fork and exec with stdout on a pipe. The child dies with the test process, so a failed
 * assertion that skips mockproc_stop (cmocka jumps out of the test) leaves no mock behind. */
static int spawn(struct mockproc *p, char *const argv[])
{
	int fds[2];
	pid_t parent = getpid();

	if (pipe(fds) < 0)
		return -1;
	p->pid = fork();
	if (p->pid < 0)
		return -1;
	if (p->pid == 0) {
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
			_exit(127);
		dup2(fds[1], STDOUT_FILENO);
		close(fds[0]);
		close(fds[1]);
		execv(argv[0], argv);
		_exit(127);
	}
	close(fds[1]);
	p->out_fd = fds[0];
	return 0;
}

/* Start a mock and read its port. */
int mockproc_start(struct mockproc *p, char *const argv[], int timeout_ms)
{
	char hostport[100];
	const char *colon;

	memset(p, 0, sizeof(*p));
	p->out_fd = -1;
	if (spawn(p, argv) < 0)
		return -1;
	if (mockproc_expect(p, "listening on http://", hostport, sizeof(hostport), timeout_ms) < 0 ||
	    !(colon = strrchr(hostport, ':'))) {
		fprintf(stderr, "mockproc: %s did not announce its port; stdout: %s\n", argv[0], p->out);
		mockproc_stop(p, SIGKILL, 5000);
		return -1;
	}
	p->port = (int)strtol(colon + 1, NULL, 10);
	snprintf(p->url, sizeof(p->url), "http://%s", hostport);
	return 0;
}

/* Reap the child within the deadline; its status or -1. */
static int reap(pid_t pid, long long deadline)
{
	int st, delay = 1;

	for (;;) {
		pid_t r = waitpid(pid, &st, WNOHANG);
		if (r == pid)
			return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		if (r < 0 || mockproc_now_ms() >= deadline)
			return -1;
		usleep((useconds_t)delay * 1000);
		delay = delay < 64 ? delay * 2 : 64;
	}
}

/* Stop a mock. */
int mockproc_stop(struct mockproc *p, int sig, int timeout_ms)
{
	int rc;

	if (p->pid <= 0)
		return -1;
	if (sig)
		kill(p->pid, sig);
	rc = reap(p->pid, mockproc_now_ms() + timeout_ms);
	if (rc < 0) {
		kill(p->pid, SIGKILL);
		waitpid(p->pid, NULL, 0);
	}
	if (p->out_fd >= 0)
		close(p->out_fd);
	p->out_fd = -1;
	p->pid = 0;
	return rc;
}

/* ---- webhook receiver --------------------------------------------------------------------- */

#define HOOK_MAX_HEADERS 32

struct hookreq {
	char *head; /* request line + headers, NUL-terminated */
	char *names[HOOK_MAX_HEADERS], *values[HOOK_MAX_HEADERS];
	size_t nheaders;
	char *body;
	size_t body_len;
	char path[256];
};

struct hookrecv {
	int fd, port;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct hookreq **reqs;
	size_t n;
	int fail_n, fail_status;
	char location[256]; /* sent with the scripted answers when set */
	atomic_int stop;
	atomic_int down;    /* connections are closed at once, nothing read or recorded */
};

/* Find a header in a request head. */
static const char *head_header(const char *head, const char *name, size_t *vlen)
{
	size_t nlen = strlen(name);

	for (const char *l = strstr(head, "\r\n"); l; l = strstr(l + 2, "\r\n")) {
		const char *h = l + 2;
		if (strncasecmp(h, name, nlen) == 0 && h[nlen] == ':') {
			h += nlen + 1;
			while (*h == ' ')
				h++;
			*vlen = strcspn(h, "\r");
			return h;
		}
	}
	return NULL;
}

/* Copy the headers of q->head into names/values. */
static void split_headers(struct hookreq *q)
{
	for (const char *l = strstr(q->head, "\r\n"); l && q->nheaders < HOOK_MAX_HEADERS;
	     l = strstr(l + 2, "\r\n")) {
		const char *h = l + 2, *colon = strchr(h, ':');
		size_t len = strcspn(h, "\r");
		if (!colon || colon > h + len)
			continue;
		q->names[q->nheaders] = strndup(h, (size_t)(colon - h));
		colon++;
		while (*colon == ' ')
			colon++;
		q->values[q->nheaders++] = strndup(colon, (size_t)(h + len - colon));
	}
}

/* Read one request from fd (head until CRLFCRLF, then Content-Length bytes). */
static struct hookreq *read_request(int fd)
{
	char buf[65536];
	size_t len = 0, clen = 0, vlen;
	char *end = NULL;
	const char *cl;
	struct hookreq *q;

	while (!end || len < (size_t)(end + 4 - buf) + clen) {
		ssize_t n = read(fd, buf + len, sizeof(buf) - 1 - len);
		if (n <= 0)
			return NULL;
		len += (size_t)n;
		buf[len] = '\0';
		if (!end && (end = strstr(buf, "\r\n\r\n")) && (cl = head_header(buf, "Content-Length", &vlen)))
			clen = strtoul(cl, NULL, 10);
		if (len == sizeof(buf) - 1)
			return NULL;
	}
	q = calloc(1, sizeof(*q));
	q->head = strndup(buf, (size_t)(end + 2 - buf));
	q->body_len = clen;
	q->body = malloc(clen + 1);
	memcpy(q->body, end + 4, clen);
	q->body[clen] = '\0';
	sscanf(buf, "%*s %255s", q->path);
	split_headers(q);
	return q;
}

/* Serve one connection: record the request, answer. */
static void serve(struct hookrecv *r, int fd)
{
	struct hookreq *q = read_request(fd);
	int status = 200;
	char resp[512], loc[300] = "";

	if (!q)
		return;
	pthread_mutex_lock(&r->lock);
	if (r->fail_n > 0) {
		r->fail_n--;
		status = r->fail_status;
		if (r->location[0])
			snprintf(loc, sizeof(loc), "Location: %s\r\n", r->location);
	}
	r->reqs = realloc(r->reqs, (r->n + 1) * sizeof(*r->reqs));
	r->reqs[r->n++] = q;
	pthread_cond_broadcast(&r->cond);
	pthread_mutex_unlock(&r->lock);
	snprintf(resp, sizeof(resp), "HTTP/1.1 %d X\r\n%sContent-Length: 0\r\nConnection: close\r\n\r\n",
		 status, loc);
	if (write(fd, resp, strlen(resp)) < 0)
		return;
}

/* The listener thread. */
static void *hook_main(void *arg)
{
	struct hookrecv *r = arg;

	while (!r->stop) {
		struct pollfd pfd = {r->fd, POLLIN, 0};
		int c;
		if (poll(&pfd, 1, 50) <= 0)
			continue;
		c = accept(r->fd, NULL, NULL);
		if (c < 0)
			continue;
		if (!r->down)
			serve(r, c);
		close(c);
	}
	return NULL;
}

/* Start a receiver on 127.0.0.1. */
struct hookrecv *hookrecv_start(void)
{
	return hookrecv_start_at("127.0.0.1");
}

/* Start a receiver on an IPv4 address. */
struct hookrecv *hookrecv_start_at(const char *ip)
{
	struct hookrecv *r = calloc(1, sizeof(*r));
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t sl = sizeof(sa);

	if (inet_pton(AF_INET, ip, &sa.sin_addr) != 1) {
		free(r);
		return NULL;
	}
	r->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (r->fd < 0 || bind(r->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(r->fd, 64) < 0 ||
	    getsockname(r->fd, (struct sockaddr *)&sa, &sl) < 0) {
		if (r->fd >= 0)
			close(r->fd);
		free(r);
		return NULL;
	}
	r->port = ntohs(sa.sin_port);
	pthread_mutex_init(&r->lock, NULL);
	pthread_cond_init(&r->cond, NULL);
	pthread_create(&r->thread, NULL, hook_main, r);
	return r;
}

/* The port. */
int hookrecv_port(const struct hookrecv *r)
{
	return r->port;
}

/* Script failures. */
void hookrecv_fail_next(struct hookrecv *r, int n, int status)
{
	hookrecv_redirect_next(r, n, status, NULL);
}

/* Take the receiver down or up. */
void hookrecv_down(struct hookrecv *r, bool down)
{
	r->down = down;
}

/* Script answers with a Location header. */
void hookrecv_redirect_next(struct hookrecv *r, int n, int status, const char *location)
{
	pthread_mutex_lock(&r->lock);
	r->fail_n = n;
	r->fail_status = status;
	snprintf(r->location, sizeof(r->location), "%s", location ? location : "");
	pthread_mutex_unlock(&r->lock);
}

/* Wait for n requests. */
size_t hookrecv_wait(struct hookrecv *r, size_t n, int timeout_ms)
{
	struct timespec dl;
	size_t have;

	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += timeout_ms / 1000;
	dl.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
	if (dl.tv_nsec >= 1000000000) {
		dl.tv_sec++;
		dl.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&r->lock);
	while (r->n < n && pthread_cond_timedwait(&r->cond, &r->lock, &dl) != ETIMEDOUT)
		;
	have = r->n;
	pthread_mutex_unlock(&r->lock);
	return have;
}

/* The i-th request (NULL when out of range). */
static struct hookreq *req_at(struct hookrecv *r, size_t i)
{
	struct hookreq *q;

	pthread_mutex_lock(&r->lock);
	q = i < r->n ? r->reqs[i] : NULL;
	pthread_mutex_unlock(&r->lock);
	return q;
}

/* Path of request i. */
const char *hookrecv_path(struct hookrecv *r, size_t i)
{
	struct hookreq *q = req_at(r, i);

	return q ? q->path : NULL;
}

/* Body of request i. */
const char *hookrecv_body(struct hookrecv *r, size_t i, size_t *len)
{
	struct hookreq *q = req_at(r, i);

	if (len)
		*len = q ? q->body_len : 0;
	return q ? q->body : NULL;
}

/* A header of request i (valid until stop). */
const char *hookrecv_header(struct hookrecv *r, size_t i, const char *name)
{
	struct hookreq *q = req_at(r, i);

	for (size_t j = 0; q && j < q->nheaders; j++) {
		if (strcasecmp(q->names[j], name) == 0)
			return q->values[j];
	}
	return NULL;
}

/* Stop and free. */
void hookrecv_stop(struct hookrecv *r)
{
	if (!r)
		return;
	r->stop = 1;
	pthread_join(r->thread, NULL);
	close(r->fd);
	for (size_t i = 0; i < r->n; i++) {
		for (size_t j = 0; j < r->reqs[i]->nheaders; j++) {
			free(r->reqs[i]->names[j]);
			free(r->reqs[i]->values[j]);
		}
		free(r->reqs[i]->head);
		free(r->reqs[i]->body);
		free(r->reqs[i]);
	}
	free(r->reqs);
	pthread_cond_destroy(&r->cond);
	pthread_mutex_destroy(&r->lock);
	free(r);
}
