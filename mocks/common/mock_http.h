/*
 * mock_http — the libmicrohttpd listener of a server: epoll on a pool of threads (one per online
 * core), never a thread per connection. Accumulates request bodies up to a cap (413 beyond),
 * builds plain requests and runs them through mock_server_step; a long-poll or a delay suspends
 * the connection (MHD_suspend_connection) until its record, its deadline (one timer thread) or
 * shutdown resumes it, so waiting costs no thread. Owned by the server; mocks never use it.
 */
#ifndef SBX_MOCK_HTTP_H
#define SBX_MOCK_HTTP_H

#include "mock_util.h"

#include <stddef.h>

struct mock_server;

struct mock_http;
/* Listen on host:port (port 0 = any) and hand every request to mock_server_handle(s, ...). */
struct mock_http *mock_http_start(struct mock_server *s, const char *host, int port,
				  size_t max_body, struct mock_err *e);
/* The bound port. */
int mock_http_port(const struct mock_http *h);
/* Stop listening, end parked requests, close connections, join the threads. NULL is a no-op. */
void mock_http_stop(struct mock_http *h);

#endif
