/*
 * http_fix — a tiny HTTP/1.1 server for tests, in a thread on 127.0.0.1:<ephemeral port>:
 * `GET PATH` answers 200 with the body registered for PATH, anything else 404; every request
 * is counted. One request per connection (Connection: close).
 */
#ifndef SBX_HTTP_FIX_H
#define SBX_HTTP_FIX_H

#include <stddef.h>

struct http_fix;

/* Start a server (fails the running test on error). */
struct http_fix *http_fix_start(void);
/* Serve `body` (len bytes, not copied: it must outlive the server) at `path` ("/image"). */
void http_fix_route(struct http_fix *s, const char *path, const void *body, size_t len);
/* The server's port. */
int http_fix_port(const struct http_fix *s);
/* The requests answered so far. */
int http_fix_hits(const struct http_fix *s);
/* Stop the server and free it; NULL is a no-op. */
void http_fix_stop(struct http_fix *s);
/* Listen on 127.0.0.1:0; returns the port, *fd the socket (fails the running test on error). */
int http_fix_listen(int *fd);

#endif
