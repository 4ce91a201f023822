/*
 * fuzz_mock_twilio_form — form-encoded bodies (mock_form) two ways: parsed, encoded and parsed
 * again (the same parameters, or the same refusal never), and as the body of Twilio's
 * POST /2010-04-01/Accounts/{AccountSid}/Messages.json through the SMS mock's whole pipeline,
 * without a socket (Basic auth with the configured credentials).
 */
#include "mock_form.h"
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

#define SID "ACfuzz0123456789"
#define PATH "/2010-04-01/Accounts/" SID "/Messages.json"
/* base64("ACfuzz0123456789:token") */
#define AUTH "Basic QUNmdXp6MDEyMzQ1Njc4OTp0b2tlbg=="

static struct mock_server *srv;

/* Build the server once (quiet, small stores, instant deliveries, callbacks to loopback only). */
static void init(void)
{
	static struct mock_opts o;
	struct mock_err e;

	mock_opts_defaults(&o);
	o.max_records = 200;
	o.callback_numeric = true; /* StatusCallback hosts: IP literals only, never DNS */
	mock_kv_add(&o.extra, "delivery-delay", "0ms");
	mock_kv_add(&o.extra, "account-sid", SID);
	mock_kv_add(&o.extra, "auth-token", "token");
	mock_log_access_enable(false);
	srv = mock_server_new("sms", &o, &e);
	if (!srv || !sms_new(srv, &e))
		abort();
}

/* A parsed form survives encoding: the same names and values in the same order. */
static void round_trip(const uint8_t *data, size_t size)
{
	struct mock_kvlist a = {0}, b = {0};
	struct mock_err e;
	char *enc;

	if (mock_form_parse((const char *)data, size, &a, &e) == 0) {
		enc = mock_form_encode(&a);
		if (mock_form_parse(enc, strlen(enc), &b, &e) < 0 || a.n != b.n)
			abort();
		for (size_t i = 0; i < a.n; i++) {
			if (strcmp(a.v[i].key, b.v[i].key) != 0 || strcmp(a.v[i].value, b.v[i].value) != 0)
				abort();
		}
		free(enc);
	}
	mock_kv_free(&a);
	mock_kv_free(&b);
}

/* One input: a form body. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mock_req *req;
	struct mock_resp resp = {0};

	if (!srv)
		init();
	round_trip(data, size);
	req = mock_req_new("POST", PATH, data, size);
	mock_req_add_header(req, "Authorization", AUTH);
	mock_req_add_header(req, "Content-Type", "application/x-www-form-urlencoded");
	mock_server_handle(srv, req, &resp);
	if (resp.status != 201 && resp.status != 400 && resp.status != 501)
		abort();
	mock_resp_clear(&resp);
	mock_req_free(req);
	return 0;
}
