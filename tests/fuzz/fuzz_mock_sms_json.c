/* fuzz_mock_sms_json — POST /v1/messages bodies through the whole pipeline, without a socket. */
#include "mock_kv.h"
#include "mock_log.h"
#include "mock_opts.h"
#include "mock_req.h"
#include "mock_server.h"
#include "mock_util.h"
#include "../../mocks/sms/sms.h"

#include <stdint.h>
#include <stdlib.h>

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

/* One input: the body of a POST /v1/messages. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mock_req *req;
	struct mock_resp resp = {0};

	if (!srv)
		init();
	req = mock_req_new("POST", "/v1/messages", data, size);
	mock_server_handle(srv, req, &resp);
	if (resp.status != 201 && resp.status != 400 && resp.status != 403)
		abort();
	mock_resp_clear(&resp);
	mock_req_free(req);
	return 0;
}
