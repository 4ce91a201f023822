/*
 * fuzz_mock_json — the shared library's request parsing: the input is split at the first newline
 * into a request target (path + query string, percent-decoding, routing, inspection queries) and a
 * PUT /admin/faults body.
 */
#include "mock_log.h"
#include "mock_opts.h"
#include "mock_req.h"
#include "mock_server.h"
#include "mock_store.h"
#include "mock_util.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static struct mock_server *srv;
static struct mock_store *st;

/* Build the server once with an inspected store holding a few records. */
static void init(void)
{
	static struct mock_opts o;
	struct mock_err e;

	mock_opts_defaults(&o);
	mock_log_access_enable(false);
	srv = mock_server_new("fuzz", &o, &e);
	st = srv ? mock_server_store(srv, "things", &e) : NULL;
	if (!st)
		abort();
	mock_server_inspect(srv, "/v1/things", st, MOCK_INSPECT_LIST | MOCK_INSPECT_GET | MOCK_INSPECT_DELETE);
	for (int i = 0; i < 5; i++)
		mock_store_put(st, json_pack("{s:s,s:i,s:[s,s]}", "id", (char[]){(char)('a' + i), 0},
					     "n", i, "to", "x@example.com", "+15550001111"));
}

/* Run one request and check the answer is a status the pipeline may produce. */
static void run(const char *method, const char *target, const void *body, size_t len)
{
	struct mock_req *req = mock_req_new(method, target, body, len);
	struct mock_resp resp = {0};

	mock_server_handle(srv, req, &resp);
	if (resp.status < 200 || resp.status > 499)
		abort();
	mock_resp_clear(&resp);
	mock_req_free(req);
}

/* One input. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nl = memchr(data, '\n', size);
	size_t tlen = nl ? (size_t)(nl - data) : size;
	char *target;

	if (!srv)
		init();
	target = malloc(tlen + 12);
	memcpy(target, "/v1/things", 10);
	memcpy(target + 10, data, tlen);
	target[10 + tlen] = '\0';
	if (strlen(target) == 10 + tlen && !strstr(target, "/wait")) {
		run("GET", target, "", 0);
		if (data[0] == '/' && tlen > 1 && data[1] == 'z')
			run("DELETE", target, "", 0);
	}
	free(target);
	if (nl)
		run("PUT", "/admin/faults", nl + 1, size - tlen - 1);
	run("DELETE", "/admin/faults", "", 0);
	return 0;
}
