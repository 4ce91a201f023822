/*
 * fuzz_mock_sms_json — POST /v1/messages bodies through the whole pipeline, without a socket; and
 * the quick reading of the body's fields (mock_req_str_fields) against jansson's.
 */
#include "mock_kv.h"
#include "mock_log.h"
#include "mock_opts.h"
#include "mock_req.h"
#include "mock_server.h"
#include "mock_util.h"
#include "../../mocks/sms/sms.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static struct mock_server *srv;

/* Build the server once (quiet, small stores, instant deliveries, callbacks to loopback only). */
static void init(void)
{
	static struct mock_opts o;
	struct mock_err e;

	mock_opts_defaults(&o);
	o.max_records = 200;
	o.callback_numeric = true; /* status_callback hosts: IP literals only, never DNS */
	mock_kv_add(&o.extra, "delivery-delay", "0ms");
	mock_log_access_enable(false);
	srv = mock_server_new("sms", &o, &e);
	if (!srv || !sms_new(srv, &e))
		abort();
}

/* The same string or both NULL. */
static bool same_str(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

/* mock_req_str_fields answers as jansson's path (mock_req_json, then mock_json_str per key). */
static void check_fields(const struct mock_req *req)
{
	static const char *const keys[] = {"to", "from", "body", "status_callback"};
	static const bool required[] = {true, true, true, false};
	struct mock_resp quick = {0}, slow = {0};
	const char *fq[4] = {NULL}, *fs[4] = {NULL};
	struct mock_fields hold;
	json_t *doc = mock_req_json(req, &slow);
	int rq = mock_req_str_fields(req, 4, keys, required, fq, &hold, &quick), rs = doc ? 0 : -1;

	for (size_t i = 0; rs == 0 && i < 4; i++)
		rs = mock_json_str(doc, keys[i], required[i], &fs[i], &slow);
	if (rq != rs || quick.status != slow.status || quick.body_len != slow.body_len ||
	    (quick.body_len && memcmp(quick.body, slow.body, quick.body_len) != 0))
		abort();
	for (size_t i = 0; rq == 0 && i < 4; i++) {
		if (!same_str(fq[i], fs[i]))
			abort();
	}
	mock_fields_free(&hold);
	json_decref(doc);
	mock_resp_clear(&quick);
	mock_resp_clear(&slow);
}

/* One input: the body of a POST /v1/messages. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mock_req *req;
	struct mock_resp resp = {0};

	if (!srv)
		init();
	req = mock_req_new("POST", "/v1/messages", data, size);
	check_fields(req);
	mock_server_handle(srv, req, &resp);
	if (resp.status != 201 && resp.status != 400 && resp.status != 403)
		abort();
	mock_resp_clear(&resp);
	mock_req_free(req);
	return 0;
}
