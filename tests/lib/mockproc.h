/*
 * mockproc — test helpers for the mock servers, on libc only (linked into every test binary):
 * start a mock binary and read the port it announces, stop it and get its exit status, and a tiny
 * HTTP listener that records webhook deliveries.
 */
#ifndef SBX_TEST_MOCKPROC_H
#define SBX_TEST_MOCKPROC_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct mockproc {
	pid_t pid;
	int out_fd;        /* the child's stdout */
	int port;          /* from "listening on http://HOST:PORT" */
	char url[128];     /* "http://HOST:PORT" */
	char out[4096];    /* stdout read so far (NUL-terminated) */
	size_t out_len;
};

/* The path of mock binary NAME: $SBX_BIN/sbx-mock-NAME ($SBX_BIN defaults to build/asan). */
const char *mockproc_bin(const char *name, char *buf, size_t len);
/*
 * Run argv[0] with argv (NULL-terminated), stdout piped, stderr inherited, and wait up to
 * timeout_ms for its "listening on http://HOST:PORT" line. 0, or -1 (the child is killed).
 */
int mockproc_start(struct mockproc *p, char *const argv[], int timeout_ms);
/*
 * Read stdout until a line starting with prefix has arrived (or was already read); copy the rest
 * of that line into rest (may be NULL). 0, or -1 on timeout / end of output.
 */
int mockproc_expect(struct mockproc *p, const char *prefix, char *rest, size_t len, int timeout_ms);
/*
 * Send sig (0 = none) and wait up to timeout_ms for the exit: the exit status, 128 + signal when
 * killed by one, or -1 on timeout (then the child is killed with SIGKILL and reaped).
 */
int mockproc_stop(struct mockproc *p, int sig, int timeout_ms);

/* A webhook receiver on 127.0.0.1:<ephemeral>: answers 200 (or a scripted failure), records. */
struct hookrecv;
struct hookrecv *hookrecv_start(void);
/* The same on another IPv4 address (127.0.0.2: a second loopback host); NULL on failure. */
struct hookrecv *hookrecv_start_at(const char *ip);
int hookrecv_port(const struct hookrecv *r);
/* Answer `status` to the next n requests (then 200 again). */
void hookrecv_fail_next(struct hookrecv *r, int n, int status);
/* The same with a "Location: location" header (a redirect; NULL: none). */
void hookrecv_redirect_next(struct hookrecv *r, int n, int status, const char *location);
/* Down: close each connection at once, unanswered and unrecorded (a receiver that is down); or up again. */
void hookrecv_down(struct hookrecv *r, bool down);
/* Wait until at least n requests were recorded; returns how many there are. */
size_t hookrecv_wait(struct hookrecv *r, size_t n, int timeout_ms);
/* The i-th recorded request: path, body (NUL-terminated), a header (case-insensitive) or NULL. */
const char *hookrecv_path(struct hookrecv *r, size_t i);
const char *hookrecv_body(struct hookrecv *r, size_t i, size_t *len);
const char *hookrecv_header(struct hookrecv *r, size_t i, const char *name);
/* Stop the listener thread and free everything. NULL is a no-op. */
void hookrecv_stop(struct hookrecv *r);

/* Monotonic milliseconds. */
long long mockproc_now_ms(void);

#endif
