/*
 * fuzz_mock_stripe_form — Stripe's nested form parameters (stripe_form) two ways: parsed into a
 * document whose leaves are all strings and whose depth is bounded, and as the body of the
 * payment mock's Stripe POST /v1/payment_intents (create, and confirm when it asks) through the
 * whole pipeline, without a socket (Bearer auth with the configured key, Idempotency-Key
 * alternating so replays and conflicts are exercised too).
 */
#include "mock_log.h"
#include "mock_opts.h"
#include "mock_req.h"
#include "mock_server.h"
#include "mock_util.h"
#include "../../mocks/payment/payment.h"
#include "../../mocks/payment/stripe_form.h"

#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static struct mock_server *srv;

/* Build the server once (quiet, small stores, no webhook URL). */
static void init(void)
{
	static struct mock_opts o;
	struct mock_err e;

	mock_opts_defaults(&o);
	o.max_records = 200;
	o.api_key = mock_xstrdup("sk_test_fuzz");
	mock_log_access_enable(false);
	srv = mock_server_new("payment", &o, &e);
	if (!srv || !payment_new(srv, &e))
		abort();
}

/* Every leaf is a string, and nesting stays within the bound. */
static void check_doc(const json_t *v, int depth)
{
	const char *k;
	json_t *c;
	size_t i;

	if (depth > STRIPE_FORM_MAX_DEPTH + 1)
		abort();
	if (json_is_object(v)) {
		json_object_foreach((json_t *)v, k, c)
			check_doc(c, depth + 1);
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, c)
			check_doc(c, depth + 1);
	} else if (!json_is_string(v)) {
		abort();
	}
}

/* One input: a form body. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static unsigned n;
	struct mock_req *req;
	struct mock_resp resp = {0};
	struct mock_err e;
	json_t *doc;

	if (!srv)
		init();
	doc = stripe_form_parse((const char *)data, size, &e);
	if (doc)
		check_doc(doc, 0);
	json_decref(doc);
	req = mock_req_new("POST", "/v1/payment_intents", data, size);
	mock_req_add_header(req, "Authorization", "Bearer sk_test_fuzz");
	mock_req_add_header(req, "Stripe-Version", "2025-01-27.acacia");
	mock_req_add_header(req, "Content-Type", "application/x-www-form-urlencoded");
	if (n++ % 2)
		mock_req_add_header(req, "Idempotency-Key", "fuzz-key");
	mock_server_handle(srv, req, &resp);
	if (resp.status != 200 && resp.status != 400 && resp.status != 402 && resp.status != 501)
		abort();
	mock_resp_clear(&resp);
	mock_req_free(req);
	return 0;
}
