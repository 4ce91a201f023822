/*
 * test_sms — the SMS gateway mock over HTTP: validation, magic numbers, delivery statuses,
 * signed callbacks (verified with OpenSSL here), retries, per-recipient faults.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "mocktest.h"
#include "../../mocks/sms/sms.h"
#include "../../mocks/sms/sms_msg.h"
#include "mock_req.h"

#include <stdlib.h>

#define SECRET "whsec_test"

static struct mockproc srv;
static struct hookrecv *hooks;

/* Start a receiver and an SMS mock calling it back. */
static int group_setup(void **state)
{
	char url[128];

	(void)state;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	hooks = hookrecv_start();
	if (!hooks)
		return -1;
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/sms-status", hookrecv_port(hooks));
	return mt_start(&srv, "sms", "--callback-url", url, "--webhook-secret", SECRET,
			"--delivery-delay", "20ms", "--webhook-backoff", "50ms", "--webhook-attempts", "3",
			(char *)NULL);
}

/* Stop both; SIGTERM must exit 0. */
static int group_teardown(void **state)
{
	int rc;

	(void)state;
	rc = mockproc_stop(&srv, SIGTERM, 20000);
	hookrecv_stop(hooks);
	curl_global_cleanup();
	return rc == 0 ? 0 : -1;
}

/* POST /v1/messages with a JSON body; fills r. */
static long send_sms(struct http_resp *r, const char *to, const char *extra)
{
	char body[1024];

	snprintf(body, sizeof(body), "{\"to\":\"%s\",\"from\":\"+15550001234\",\"body\":\"code 1234\"%s}",
		 to, extra ? extra : "");
	return http_reqf(r, "POST", body, NULL, "%s/v1/messages", srv.url);
}

/* Wait until message id reaches status (long-poll on the inspection API). */
static bool wait_status(const char *id, const char *to_enc, const char *status)
{
	struct http_resp r;
	bool ok;

	http_reqf(&r, "GET", NULL, NULL, "%s/v1/messages/wait?to=%s&status=%s&timeout=10s", srv.url,
		  to_enc, status);
	ok = r.status == 200 && strcmp(http_str(&r, "id"), id) == 0;
	http_resp_free(&r);
	return ok;
}

/* A valid message is queued (201), readable, and goes queued → sent → delivered. */
static void test_send_and_deliver(void **state)
{
	struct http_resp r;
	char id[64];

	(void)state;
	assert_int_equal(send_sms(&r, "+15557770001", NULL), 201);
	assert_string_equal(http_str(&r, "status"), "queued");
	assert_int_equal(strncmp(http_str(&r, "id"), "SM", 2), 0);
	snprintf(id, sizeof(id), "%s", http_str(&r, "id"));
	http_resp_free(&r);
	assert_true(wait_status(id, "%2B15557770001", "delivered"));
	assert_int_equal(http_reqf(&r, "GET", NULL, NULL, "%s/v1/messages/%s", srv.url, id), 200);
	assert_string_equal(http_str(&r, "body"), "code 1234");
	assert_int_equal(json_array_size(json_object_get(r.json, "history")), 3);
	http_resp_free(&r);
}

/* Missing, mistyped and invalid fields answer 400 naming the problem. */
static void test_validation(void **state)
{
	static const struct {
		const char *body, *code;
	} cases[] = {
		{"{\"from\":\"+15550001234\",\"body\":\"x\"}", "missing_field"},
		{"{\"to\":15557770002,\"from\":\"+15550001234\",\"body\":\"x\"}", "invalid_field"},
		{"{\"to\":\"5557770002\",\"from\":\"+15550001234\",\"body\":\"x\"}", "invalid_to"},
		{"{\"to\":\"+0557770002\",\"from\":\"+15550001234\",\"body\":\"x\"}", "invalid_to"},
		{"{\"to\":\"+1555777000212345\",\"from\":\"+15550001234\",\"body\":\"x\"}", "invalid_to"},
		{"{\"to\":\"+15557770002\",\"from\":\"this sender is too long\",\"body\":\"x\"}", "invalid_from"},
		{"{\"to\":\"+15557770002\",\"from\":\"+15550001234\",\"body\":\"\"}", "invalid_body"},
		{"{\"to\":\"+15557770002\",\"from\":\"+15550001234\",\"body\":\"x\",\"status_callback\":\"ftp://x\"}", "invalid_status_callback"},
	};
	struct http_resp r;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(http_reqf(&r, "POST", cases[i].body, NULL, "%s/v1/messages", srv.url), 400);
		assert_string_equal(http_str(&r, "error.code"), cases[i].code);
		assert_true(strlen(http_str(&r, "error.message")) > 10);
		http_resp_free(&r);
	}
	assert_int_equal(http_reqf(&r, "POST", "{\"to\":\"+15557770002\",\"from\":\"Acme\",\"body\":\"x\"}", NULL, "%s/v1/messages", srv.url), 201);
	http_resp_free(&r);
}

/* Magic numbers: invalid (400), blocked (403). */
static void test_magic_rejected(void **state)
{
	struct http_resp r;

	(void)state;
	assert_int_equal(send_sms(&r, SMS_MAGIC_INVALID, NULL), 400);
	assert_string_equal(http_str(&r, "error.code"), "invalid_number");
	http_resp_free(&r);
	assert_int_equal(send_sms(&r, SMS_MAGIC_BLOCKED, NULL), 403);
	assert_string_equal(http_str(&r, "error.code"), "blocked");
	http_resp_free(&r);
}

/* Magic numbers: unreachable (queued → failed), carrier rejected (queued → sent → failed). */
static void test_magic_failed(void **state)
{
	struct http_resp r;
	char id[64];

	(void)state;
	assert_int_equal(send_sms(&r, SMS_MAGIC_UNREACHABLE, NULL), 201);
	snprintf(id, sizeof(id), "%s", http_str(&r, "id"));
	http_resp_free(&r);
	assert_true(wait_status(id, "%2B15005550002", "failed"));
	assert_int_equal(http_reqf(&r, "GET", NULL, NULL, "%s/v1/messages/%s", srv.url, id), 200);
	assert_string_equal(http_str(&r, "error_code"), "unreachable");
	assert_int_equal(json_array_size(json_object_get(r.json, "history")), 2);
	http_resp_free(&r);

	assert_int_equal(send_sms(&r, SMS_MAGIC_REJECTED, NULL), 201);
	snprintf(id, sizeof(id), "%s", http_str(&r, "id"));
	http_resp_free(&r);
	assert_true(wait_status(id, "%2B15005550004", "failed"));
	assert_int_equal(http_reqf(&r, "GET", NULL, NULL, "%s/v1/messages/%s", srv.url, id), 200);
	assert_string_equal(http_str(&r, "error_code"), "carrier_rejected");
	assert_int_equal(json_array_size(json_object_get(r.json, "history")), 3);
	http_resp_free(&r);
}

/* Collect the statuses the receiver got for message id, checking every signature. */
static size_t callback_statuses(const char *id, const char *path, const char **out, size_t max)
{
	size_t n = 0, total = hookrecv_wait(hooks, 0, 0);

	for (size_t i = 0; i < total && n < max; i++) {
		size_t len;
		const char *body = hookrecv_body(hooks, i, &len);
		json_t *doc = json_loads(body, 0, NULL);
		if (doc && strcmp(json_string_value(json_object_get(doc, "id")), id) == 0 &&
		    strcmp(hookrecv_path(hooks, i), path) == 0) {
			assert_true(mt_verify_signature(SECRET, hookrecv_header(hooks, i, "Signature"), body, len));
			assert_string_equal(hookrecv_header(hooks, i, "Sbx-Event"), "message.status");
			out[n++] = strdup(json_string_value(json_object_get(doc, "status")));
		}
		json_decref(doc);
	}
	return n;
}

/* Callbacks arrive signed, in order queued, sent, delivered, at both URLs. */
static void test_callbacks_signed_in_order(void **state)
{
	struct http_resp r;
	char id[64], extra[160];
	const char *st[8];
	size_t n = 0;
	long long deadline = mockproc_now_ms() + 10000;

	(void)state;
	snprintf(extra, sizeof(extra), ",\"status_callback\":\"http://127.0.0.1:%d/own\"", hookrecv_port(hooks));
	assert_int_equal(send_sms(&r, "+15557770003", extra), 201);
	snprintf(id, sizeof(id), "%s", http_str(&r, "id"));
	http_resp_free(&r);
	while (mockproc_now_ms() < deadline) {
		hookrecv_wait(hooks, hookrecv_wait(hooks, 0, 0) + 1, 200);
		for (size_t i = 0; i < n; i++)
			free((void *)st[i]);
		n = callback_statuses(id, "/own", st, 8);
		if (n >= 3)
			break;
	}
	assert_int_equal(n, 3);
	assert_string_equal(st[0], "queued");
	assert_string_equal(st[1], "sent");
	assert_string_equal(st[2], "delivered");
	for (size_t i = 0; i < n; i++)
		free((void *)st[i]);
	n = callback_statuses(id, "/sms-status", st, 8);
	assert_int_equal(n, 3);
	for (size_t i = 0; i < n; i++)
		free((void *)st[i]);
}

/* Sum the attempts of message id's deliveries; -1 while one is not succeeded yet. */
static int attempts_of(const char *id, int *retried_after_500)
{
	struct http_resp r;
	json_t *d;
	size_t i;
	int sum = 0, n = 0;

	http_reqf(&r, "GET", NULL, NULL, "%s/v1/webhook_deliveries?limit=1000", srv.url);
	*retried_after_500 = 0;
	json_array_foreach(json_object_get(r.json, "items"), i, d) {
		json_t *hist = json_object_get(d, "history");
		if (strcmp(json_string_value(json_object_get(json_object_get(d, "body"), "id")), id) != 0)
			continue;
		if (strcmp(json_string_value(json_object_get(d, "status")), "succeeded") != 0)
			sum = -1000;
		sum += (int)json_integer_value(json_object_get(d, "attempts"));
		n++;
		if (json_array_size(hist) > 1 &&
		    json_integer_value(json_object_get(json_array_get(hist, 0), "response_status")) == 500)
			(*retried_after_500)++;
	}
	http_resp_free(&r);
	return n == 3 && sum > 0 ? sum : -1;
}

/* A failing receiver is retried with backoff; the delivery log shows every attempt. */
static void test_callback_retry(void **state)
{
	struct http_resp r;
	char id[64];
	int sum = -1, retried = 0, delay = 5;
	long long deadline = mockproc_now_ms() + 10000;

	(void)state;
	hookrecv_fail_next(hooks, 2, 500);
	assert_int_equal(send_sms(&r, "+15557770004", NULL), 201);
	snprintf(id, sizeof(id), "%s", http_str(&r, "id"));
	http_resp_free(&r);
	while ((sum = attempts_of(id, &retried)) < 0 && mockproc_now_ms() < deadline) {
		usleep((useconds_t)delay * 1000);
		delay = delay < 200 ? delay * 2 : 200;
	}
	assert_int_equal(sum, 3 + 2); /* three callbacks, two of the attempts answered 500 */
	assert_true(retried >= 1);
	assert_int_equal(http_reqf(&r, "GET", NULL, NULL, "%s/metrics", srv.url), 200);
	assert_non_null(strstr(r.body, "sbx_mock_webhook_deliveries_total{result=\"failed\"} 2\n"));
	http_resp_free(&r);
}

/* A receiver that keeps failing: the delivery is given up after --webhook-attempts. */
static void test_callback_given_up(void **state)
{
	struct http_resp r;

	(void)state;
	hookrecv_fail_next(hooks, 1000, 503);
	assert_int_equal(send_sms(&r, "+15557770005", NULL), 201);
	http_resp_free(&r);
	assert_int_equal(http_reqf(&r, "GET", NULL, NULL, "%s/v1/webhook_deliveries/wait?status=failed&timeout=10s", srv.url), 200);
	assert_int_equal(http_int(&r, "attempts"), 3);
	assert_string_equal(http_str(&r, "error"), "receiver answered 503");
	http_resp_free(&r);
	hookrecv_fail_next(hooks, 0, 200);
	assert_int_equal(http_reqf(&r, "GET", NULL, NULL, "%s/metrics", srv.url), 200);
	assert_non_null(strstr(r.body, "sbx_mock_webhook_failures_total "));
	http_resp_free(&r);
}

/* Per-recipient faults from /admin/faults fail deterministically. */
static void test_recipient_fault(void **state)
{
	struct http_resp r;

	(void)state;
	assert_int_equal(http_reqf(&r, "PUT", "{\"targets\": {\"+15557770006\": {\"status\": 502, \"message\": \"carrier down\"}}}", NULL, "%s/admin/faults", srv.url), 200);
	http_resp_free(&r);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(send_sms(&r, "+15557770006", NULL), 502);
		assert_string_equal(http_str(&r, "error.message"), "carrier down");
		http_resp_free(&r);
	}
	assert_int_equal(send_sms(&r, "+15557770007", NULL), 201);
	http_resp_free(&r);
	assert_int_equal(http_reqf(&r, "DELETE", NULL, NULL, "%s/admin/faults", srv.url), 200);
	http_resp_free(&r);
}

/* Long messages count segments. */
static void test_segments(void **state)
{
	struct http_resp r;
	char body[600];

	(void)state;
	snprintf(body, sizeof(body), "{\"to\":\"+15557770008\",\"from\":\"Acme\",\"body\":\"%0300d\"}", 0);
	assert_int_equal(http_reqf(&r, "POST", body, NULL, "%s/v1/messages", srv.url), 201);
	assert_int_equal(http_int(&r, "segments"), 2);
	http_resp_free(&r);
}

/* The tree the mock built before sms_msg (same members, same order) for m's fields. */
static json_t *reference_tree(const struct sms_msg *m, const char *to, const char *from, const char *body,
			      const char *cb, json_int_t segments, const char *account_sid, const char *mss)
{
	const struct sms_step *st = m->step;
	json_t *rec = json_object(), *history = json_array();

	for (size_t i = 0; i < m->nhistory; i++)
		json_array_append_new(history, json_pack("{s:s,s:s}", "status", m->history[i].status, "at",
							 m->history[i].at));
	json_object_set_new(rec, "id", json_string(m->id));
	json_object_set_new(rec, "status", json_string(st ? st->status : "queued"));
	json_object_set_new(rec, "to", json_string(to));
	json_object_set_new(rec, "from", from ? json_string(from) : json_null());
	json_object_set_new(rec, "body", json_string(body));
	json_object_set_new(rec, "segments", json_integer(segments));
	json_object_set_new(rec, "status_callback", cb ? json_string(cb) : json_null());
	json_object_set_new(rec, "error_code", st && st->code ? json_integer(st->code)
			    : st && st->error_code ? json_string(st->error_code) : json_null());
	json_object_set_new(rec, "error_message", st && st->error_message ? json_string(st->error_message)
			    : json_null());
	json_object_set_new(rec, "created_at", json_string(m->created_at));
	json_object_set_new(rec, "updated_at", json_string(m->updated_at));
	json_object_set_new(rec, "history", history);
	if (account_sid || mss) {
		json_object_set_new(rec, "api", json_string("twilio"));
		json_object_set_new(rec, "account_sid", json_string(account_sid));
		json_object_set_new(rec, "messaging_service_sid", mss ? json_string(mss) : json_null());
	}
	return rec;
}

/* Assert that m's text is what mock_json_dump writes for the reference tree, and parses back. */
static void assert_msg_text(const struct sms_msg *m, json_t *want_tree)
{
	char *want = mock_json_dump(want_tree), *got;
	size_t len;
	json_t *back;

	got = sms_msg_text(m, &len);
	assert_string_equal(got, want);
	assert_int_equal(len, strlen(want));
	back = json_loadb(got, len, 0, NULL);
	assert_non_null(back);
	assert_true(json_equal(back, want_tree));
	json_decref(back);
	free(got);
	free(want);
	json_decref(want_tree);
}

/*
 * In process: a message's record text (written without a tree) is the text of the tree the mock
 * built before, for quotes, backslashes, every control character, UTF-8 (2 to 4 bytes, U+2028),
 * 1,600-character bodies, null from and callback, at each status of every kind of plan, with
 * Twilio's fields; strings that are not UTF-8 are refused.
 */
static void test_msg_text_in_process(void **state)
{
	static const struct sms_step steps[] = {{"sent", NULL, NULL, 0},
						{"failed", "carrier_rejected", "the \"carrier\" said\tno", 0},
						{"undelivered", NULL, "Unreachable destination handset", 30003}};
	char ctl[40], longb[6401], *p = longb;
	const char *bodies[] = {"code 1234", "q\"b\\s/", ctl, "caf\u00e9 \u65e5\u672c \U0001F600 \u2028", longb, "x"};
	struct sms_msg *m;

	(void)state;
	for (int c = 1; c < 32; c++)
		ctl[c - 1] = (char)c;
	memcpy(ctl + 31, "\x7f end", 6);
	for (int i = 0; i < 1600; i++) { /* 1,600 characters, 1 to 4 bytes, an escape every 7 */
		static const char *const ch[] = {"a", "\u00e9", "\u20ac", "\U0001F600", "\"", "\n", "\\"};
		const char *s = ch[i % 7];
		memcpy(p, s, strlen(s));
		p += strlen(s);
	}
	*p = '\0';
	for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		const char *from = i % 2 ? NULL : "Acme \"Co\"", *cb = i % 3 ? "http://127.0.0.1:9/\u00e9?a=\"b\"" : NULL;
		size_t chars = sms_utf8_len(bodies[i]);
		json_int_t segs = (json_int_t)(chars <= 160 ? 1 : (chars + 152) / 153);

		m = sms_msg_new("+15551234567", from, bodies[i], cb);
		assert_non_null(m);
		assert_msg_text(m, reference_tree(m, "+15551234567", from, bodies[i], cb, segs, NULL, NULL));
		for (size_t k = 0; k < 2; k++) {
			sms_msg_step(m, &steps[(i + k) % 3]);
			assert_msg_text(m, reference_tree(m, "+15551234567", from, bodies[i], cb, segs, NULL, NULL));
		}
		sms_msg_free(m);
	}
	m = sms_msg_new("+15551234567", NULL, "twilio \u00e9", NULL);
	sms_msg_set_twilio(m, mock_xstrdup("SM0123456789abcdef0123456789abcdef"), "AC\"x", "MG01");
	sms_msg_step(m, &steps[2]);
	assert_msg_text(m, reference_tree(m, "+15551234567", NULL, "twilio \u00e9", NULL, 1, "AC\"x", "MG01"));
	sms_msg_free(m);
	assert_null(sms_msg_new("+15551234567", "Acme", "bad \xff", NULL));
	assert_null(sms_msg_new("+15551234567", "\xc3", "ok", NULL));
	assert_null(sms_msg_new("+15551234567", "Acme", "ok", "http://x/\xed\xa0\x80"));
}

/* In process: mock_json_esc writes mock_json_esc_len bytes, as mock_json_dump escapes each byte. */
static void test_json_esc_in_process(void **state)
{
	char in[600], out[MOCK_JSON_STR_MAX(600)];
	struct sbx_buf b = {0};

	(void)state;
	for (int c = 1; c < 256; c++) {
		char one[2] = {(char)c, 0};
		json_t *v = json_stringn_nocheck(one, 1);
		char *want = mock_json_dump(v);
		size_t n = mock_json_esc(out, one, 1);
		assert_int_equal(n, mock_json_esc_len(one, 1));
		assert_int_equal(n, strlen(want));
		assert_memory_equal(out, want, n);
		free(want);
		json_decref(v);
	}
	for (size_t i = 0; i < sizeof(in); i++) /* escapes across put_str's 256-byte pieces */
		in[i] = "ab\"\\\n\x01\xc3\xa9"[i % 8];
	mock_json_put_str(&b, in, sizeof(in));
	assert_int_equal(b.len, mock_json_esc(out, in, sizeof(in)));
	assert_int_equal(b.len, mock_json_esc_len(in, sizeof(in)));
	assert_memory_equal(b.data, out, b.len);
	sbx_buf_free(&b);
}

/* Malformed or wrong bodies are answered 400 with a JSON error; the mock keeps serving. */
static void test_malformed_bodies(void **state)
{
	static const char *const bad[] = {
		"", "{", "[]", "null", "\"x\"", "{\"to\":1,\"from\":\"Acme\",\"body\":\"b\"}",
		"{\"to\":\"+15551234567\",\"from\":\"Acme\",\"body\":\"\xff\"}",
		"{\"to\":\"+15551234567\",\"to\":\"+15551234568\",\"from\":\"Acme\",\"body\":\"b\"}",
		"{\"to\":\"+15551234567\",\"from\":\"Acme\",\"body\":\"\\ud800\"}",
		"{\"to\":\"+15551234567\",\"from\":\"Acme\",\"body\":\"b\"} x",
		"{\"to\":\"+15551234567\",\"from\":\"Acme\",\"body\":\"\"}",
		"{\"to\":\"+15551234567\",\"from\":\"Acme\"}",
		"{\"to\":\"+15551234567\",\"from\":\"Acme\",\"body\":\"b\",\"status_callback\":7}",
	};
	struct http_resp r;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(http_reqf(&r, "POST", bad[i], NULL, "%s/v1/messages", srv.url), 400);
		assert_non_null(json_object_get(json_object_get(r.json, "error"), "code"));
		http_resp_free(&r);
	}
	assert_int_equal(send_sms(&r, "+15557770009", NULL), 201);
	http_resp_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_send_and_deliver),
		cmocka_unit_test(test_validation),
		cmocka_unit_test(test_magic_rejected),
		cmocka_unit_test(test_magic_failed),
		cmocka_unit_test(test_callbacks_signed_in_order),
		cmocka_unit_test(test_callback_retry),
		cmocka_unit_test(test_callback_given_up),
		cmocka_unit_test(test_recipient_fault),
		cmocka_unit_test(test_segments),
		cmocka_unit_test(test_msg_text_in_process),
		cmocka_unit_test(test_json_esc_in_process),
		cmocka_unit_test(test_malformed_bodies),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
