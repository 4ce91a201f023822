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

struct mock_opts;
struct mock_server;

struct mock_http;
/*
 * Listen on o->listen_host:listen_port (port 0 = any) and run every request through s. Bodies
 * up to o->max_body; at most o->max_conns_per_ip connections per client address (more are
 * refused at accept); a connection idle for o->idle_timeout_ms (rounded up to seconds) is closed,
 * unless parked. o is borrowed.
 */
struct mock_http *mock_http_start(struct mock_server *s, const struct mock_opts *o,
				  struct mock_err *e);
/* The bound port. */
int mock_http_port(const struct mock_http *h);
/* Stop listening, end parked requests, close connections, join the threads. NULL is a no-op. */
void mock_http_stop(struct mock_http *h);

#endif
