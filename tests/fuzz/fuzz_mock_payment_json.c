/*
 * fuzz_mock_payment_json — payment request bodies through the whole pipeline, without a socket:
 * the first byte picks the operation (create, confirm, capture, refund, cancel) on a fresh intent,
 * with or without an Idempotency-Key.
 */
#include "mock_log.h"
#include "mock_opts.h"
#include "mock_req.h"
#include "mock_server.h"
#include "mock_util.h"
#include "../../mocks/payment/payment.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct mock_server *srv;

/* Build the server once (quiet, small stores, no webhooks). */
static void init(void)
{
	static struct mock_opts o;
	struct mock_err e;

	mock_opts_defaults(&o);
	o.max_records = 200;
	mock_log_access_enable(false);
	srv = mock_server_new("payment", &o, &e);
	if (!srv || !payment_new(srv, &e))
		abort();
}

/* Run one request; returns the status (the body is dropped). */
static int run(const char *method, const char *path, const void *body, size_t len, const char *key,
	       char *id_out)
{
	struct mock_req *req = mock_req_new(method, path, body, len);
	struct mock_resp resp = {0};
	int status;

	if (key)
		mock_req_add_header(req, "Idempotency-Key", key);
	mock_server_handle(srv, req, &resp);
	status = resp.status;
	if (id_out && status == 200) {
		json_t *doc = json_loadb(resp.body, resp.body_len, 0, NULL);
		snprintf(id_out, 64, "%s", json_string_value(json_object_get(doc, "id")));
		json_decref(doc);
	}
	mock_resp_clear(&resp);
	mock_req_free(req);
	return status;
}

/* One input. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const ops[] = {"confirm", "capture", "refund", "cancel"};
	static const char create[] = "{\"amount\": 1000, \"currency\": \"eur\", \"capture_method\": \"manual\"}";
	char id[64] = "", path[160], key[32];
	int status;

	if (!srv)
		init();
	if (size == 0)
		return 0;
	snprintf(key, sizeof(key), "k%u", data[0] & 7);
	if ((data[0] & 0x70) == 0) {
		status = run("POST", "/v1/payment_intents", data + 1, size - 1, data[0] & 0x80 ? key : NULL, NULL);
		if (status != 200 && status != 400 && status != 409)
			abort();
		return 0;
	}
	if (run("POST", "/v1/payment_intents", create, strlen(create), NULL, id) != 200)
		abort();
	snprintf(path, sizeof(path), "/v1/payment_intents/%s/%s", id, ops[(data[0] >> 4) & 3]);
	status = run("POST", path, data + 1, size - 1, data[0] & 0x80 ? key : NULL, NULL);
	if (status >= 500)
		abort();
	return 0;
}
