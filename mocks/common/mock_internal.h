/* mock_internal — what the shared library's modules share with each other, not with mocks. */
#ifndef SBX_MOCK_INTERNAL_H
#define SBX_MOCK_INTERNAL_H

#include "mock.h"

/* Whether the access log is on. */
bool mock_log_access_enabled(void);

/* Parse a query string "a=b&c=d" (percent-decoded, '+' kept) into l. */
void mock_req_parse_query(struct mock_kvlist *l, const char *q);

/* Count and log a finished request (what mock_server_handle does after the handler). */
void mock_server_account(struct mock_server *s, const struct mock_req *req,
			 const struct mock_resp *resp, int64_t t0_ms);

/* The HTTP listener (libmicrohttpd), owned by the server. */
struct mock_http;
/* Listen on host:port and hand every request to mock_server_handle(s, ...). */
struct mock_http *mock_http_start(struct mock_server *s, const char *host, int port,
				  size_t max_body, struct mock_err *e);
int mock_http_port(const struct mock_http *h);
/* Stop listening, close connections, wait for their threads. NULL is a no-op. */
void mock_http_stop(struct mock_http *h);

#endif
