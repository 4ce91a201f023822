/*
 * test_payment — the payment gateway mock over HTTP: validation, idempotency, every test card,
 * capture/refund/cancel state machine, signed webhooks with retries, per-card faults; Stripe's
 * nested form parameters and which API a request on a shared path goes to (the Stripe API with the
 * official SDK: sdk_stripe.sh).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "mocktest.h"
#include "../../mocks/payment/stripe_form.h"

#include <stdlib.h>

#define SECRET "whsec_pay"

static struct mockproc srv;
static struct hookrecv *hooks;

/* Start a receiver and a payment mock sending it events. */
static int group_setup(void **state)
{
	char url[128];

	(void)state;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	hooks = hookrecv_start();
	if (!hooks)
		return -1;
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/events", hookrecv_port(hooks));
	return mt_start(&srv, "payment", "--webhook-url", url, "--webhook-secret", SECRET,
			"--webhook-backoff", "50ms", "--webhook-attempts", "4", (char *)NULL);
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

/* Create an intent; returns its id in id (64 bytes). */
static void create(char *id, const char *extra)
{
	struct http_resp r;
	char body[256];

	snprintf(body, sizeof(body), "{\"amount\": 2500, \"currency\": \"EUR\"%s}", extra ? extra : "");
	assert_int_equal(http_reqf(&r, "POST", body, NULL, "%s/v1/payment_intents", srv.url), 200);
	assert_string_equal(http_str(&r, "status"), "requires_payment_method");
	assert_string_equal(http_str(&r, "currency"), "eur");
	snprintf(id, 64, "%s", http_str(&r, "id"));
	http_resp_free(&r);
}

/* POST /v1/payment_intents/{id}/{op} with body; returns the status. */
static long op(struct http_resp *r, const char *id, const char *name, const char *body)
{
	return http_reqf(r, "POST", body, NULL, "%s/v1/payment_intents/%s/%s", srv.url, id, name);
}

/* Confirm a fresh intent with card; expect status http and intent status / error code. */
static void confirm_card(const char *card, long http, const char *want)
{
	struct http_resp r;
	char id[64], body[128];

	create(id, NULL);
	snprintf(body, sizeof(body), "{\"card\": \"%s\"}", card);
	assert_int_equal(op(&r, id, "confirm", body), http);
	if (http == 200)
		assert_string_equal(http_str(&r, "status"), want);
	else if (want)
		assert_string_equal(json_string_value(json_object_get(json_object_get(r.json, "error"), "decline_code")), want);
	else
		assert_string_equal(http_str(&r, "error.code"), "incorrect_number");
	http_resp_free(&r);
}

/* Creating validates amount and currency. */
static void test_create_validation(void **state)
{
	static const char *const bad[] = {
		"{\"currency\": \"eur\"}", "{\"amount\": 0, \"currency\": \"eur\"}",
		"{\"amount\": \"10\", \"currency\": \"eur\"}", "{\"amount\": 10}",
		"{\"amount\": 10, \"currency\": \"euro\"}", "{\"amount\": 10, \"currency\": \"eur\", \"capture_method\": \"later\"}",
		"{\"amount\": 10, \"currency\": \"eur\", \"metadata\": 5}", "not json",
	};
	struct http_resp r;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(http_reqf(&r, "POST", bad[i], NULL, "%s/v1/payment_intents", srv.url), 400);
		assert_true(strlen(http_str(&r, "error.message")) > 5);
		http_resp_free(&r);
	}
}

/* Same key + same body → same response; same key + other body → 409. */
static void test_idempotency(void **state)
{
	const char *hdr[] = {"Idempotency-Key: order-42", NULL};
	struct http_resp a, b;

	(void)state;
	assert_int_equal(http_reqf(&a, "POST", "{\"amount\": 100, \"currency\": \"usd\"}", hdr, "%s/v1/payment_intents", srv.url), 200);
	assert_int_equal(http_reqf(&b, "POST", "{\"currency\": \"usd\",  \"amount\": 100}", hdr, "%s/v1/payment_intents", srv.url), 200);
	assert_string_equal(a.body, b.body);
	assert_true(http_has_header(&b, "Idempotent-Replayed: true"));
	http_resp_free(&b);
	assert_int_equal(http_reqf(&b, "POST", "{\"amount\": 101, \"currency\": \"usd\"}", hdr, "%s/v1/payment_intents", srv.url), 409);
	assert_string_equal(http_str(&b, "error.code"), "idempotency_key_in_use");
	http_resp_free(&b);
	assert_int_equal(http_reqf(&b, "GET", NULL, NULL, "%s/v1/payment_intents?amount=100&currency=usd", srv.url), 200);
	assert_int_equal(http_int(&b, "total"), 1);
	http_resp_free(&b);
	http_resp_free(&a);
}

/* Idempotent confirm: a replayed decline is the same 402, not a second attempt. */
static void test_idempotent_confirm(void **state)
{
	const char *hdr[] = {"Idempotency-Key: confirm-1", NULL};
	struct http_resp a, b;
	char id[64];

	(void)state;
	create(id, NULL);
	assert_int_equal(http_reqf(&a, "POST", "{\"card\": \"4000000000000002\"}", hdr, "%s/v1/payment_intents/%s/confirm", srv.url, id), 402);
	assert_int_equal(http_reqf(&b, "POST", "{\"card\": \"4000000000000002\"}", hdr, "%s/v1/payment_intents/%s/confirm", srv.url, id), 402);
	assert_string_equal(a.body, b.body);
	http_resp_free(&a);
	http_resp_free(&b);
}

/* Each test card does what the table in mocks/README.md says. */
static void test_cards(void **state)
{
	(void)state;
	confirm_card("4242424242424242", 200, "succeeded");
	confirm_card("5555 5555 5555 4444", 200, "succeeded");
	confirm_card("4000000000000002", 402, "generic_decline");
	confirm_card("4000000000009995", 402, "insufficient_funds");
	confirm_card("4000000000000069", 402, "expired_card");
	confirm_card("4000000000000119", 402, "processing_error");
	confirm_card("4000000000003220", 200, "requires_action");
	confirm_card("4000002760003184", 200, "requires_action");
	confirm_card("4242424242424241", 402, NULL);
}

/* A declined card leaves the intent retryable with last_payment_error set. */
static void test_decline_then_retry(void **state)
{
	struct http_resp r;
	char id[64];

	(void)state;
	create(id, NULL);
	assert_int_equal(op(&r, id, "confirm", "{\"card\": {\"number\": \"4000000000000069\"}}"), 402);
	assert_string_equal(http_str(&r, "error.code"), "expired_card");
	assert_string_equal(http_str(&r, "error.type"), "card_error");
	http_resp_free(&r);
	assert_int_equal(http_reqf(&r, "GET", NULL, NULL, "%s/v1/payment_intents/%s", srv.url, id), 200);
	assert_string_equal(http_str(&r, "status"), "requires_payment_method");
	assert_non_null(json_object_get(json_object_get(r.json, "last_payment_error"), "code"));
	http_resp_free(&r);
	assert_int_equal(op(&r, id, "confirm", "{\"card\": \"4242424242424242\"}"), 200);
	assert_string_equal(http_str(&r, "status"), "succeeded");
	assert_true(json_is_null(json_object_get(r.json, "last_payment_error")));
	http_resp_free(&r);
}

/* 3-D Secure: requires_action, then pass → succeeded; fail → declined. */
static void test_three_d_secure(void **state)
{
	struct http_resp r;
	char id[64];

	(void)state;
	create(id, NULL);
	assert_int_equal(op(&r, id, "confirm", "{\"card\": \"4000000000003220\"}"), 200);
	assert_string_equal(http_str(&r, "status"), "requires_action");
	assert_non_null(json_object_get(r.json, "next_action"));
	http_resp_free(&r);
	assert_int_equal(op(&r, id, "confirm", "{\"three_d_secure\": \"pass\"}"), 200);
	assert_string_equal(http_str(&r, "status"), "succeeded");
	http_resp_free(&r);
	create(id, NULL);
	assert_int_equal(op(&r, id, "confirm", "{\"card\": \"4000000000003220\"}"), 200);
	http_resp_free(&r);
	assert_int_equal(op(&r, id, "confirm", "{\"three_d_secure\": \"fail\"}"), 402);
	assert_string_equal(http_str(&r, "error.code"), "authentication_required");
	http_resp_free(&r);
}

/* Manual capture: requires_capture → capture (partial) → succeeded; capturing twice is 400. */
static void test_capture(void **state)
{
	struct http_resp r;
	char id[64];

	(void)state;
	create(id, ", \"capture_method\": \"manual\"");
	assert_int_equal(op(&r, id, "confirm", "{\"card\": \"4242424242424242\"}"), 200);
	assert_string_equal(http_str(&r, "status"), "requires_capture");
	assert_int_equal(http_int(&r, "amount_capturable"), 2500);
	http_resp_free(&r);
	assert_int_equal(op(&r, id, "capture", "{\"amount_to_capture\": 3000}"), 400);
	http_resp_free(&r);
	assert_int_equal(op(&r, id, "capture", "{\"amount_to_capture\": 2000}"), 200);
	assert_string_equal(http_str(&r, "status"), "succeeded");
	assert_int_equal(http_int(&r, "amount_received"), 2000);
	http_resp_free(&r);
	assert_int_equal(op(&r, id, "capture", NULL), 400);
	assert_string_equal(http_str(&r, "error.code"), "payment_intent_unexpected_state");
	http_resp_free(&r);
}

/* Refunds: partial, the rest, then nothing left; not before success. */
static void test_refund(void **state)
{
	struct http_resp r;
	char id[64];

	(void)state;
	create(id, NULL);
	assert_int_equal(op(&r, id, "refund", NULL), 400);
	http_resp_free(&r);
	assert_int_equal(op(&r, id, "confirm", "{\"card\": \"4242424242424242\"}"), 200);
	http_resp_free(&r);
	assert_int_equal(op(&r, id, "refund", "{\"amount\": 1000}"), 200);
	assert_int_equal(http_int(&r, "amount_refunded"), 1000);
	http_resp_free(&r);
	assert_int_equal(op(&r, id, "refund", "{\"amount\": 1501}"), 400);
	http_resp_free(&r);
	assert_int_equal(op(&r, id, "refund", NULL), 200);
	assert_int_equal(http_int(&r, "amount_refunded"), 2500);
	assert_int_equal(json_array_size(json_object_get(r.json, "refunds")), 2);
	http_resp_free(&r);
	assert_int_equal(op(&r, id, "refund", NULL), 400);
	http_resp_free(&r);
}

/* Cancel an open intent; a canceled one cannot be confirmed; unknown ids are 404. */
static void test_cancel_and_missing(void **state)
{
	struct http_resp r;
	char id[64];

	(void)state;
	create(id, NULL);
	assert_int_equal(op(&r, id, "cancel", NULL), 200);
	assert_string_equal(http_str(&r, "status"), "canceled");
	http_resp_free(&r);
	assert_int_equal(op(&r, id, "confirm", "{\"card\": \"4242424242424242\"}"), 400);
	http_resp_free(&r);
	assert_int_equal(op(&r, "pi_missing", "confirm", "{\"card\": \"4242424242424242\"}"), 404);
	assert_string_equal(http_str(&r, "error.code"), "resource_missing");
	http_resp_free(&r);
	assert_int_equal(http_reqf(&r, "GET", NULL, NULL, "%s/v1/payment_intents/pi_missing", srv.url), 404);
	http_resp_free(&r);
}

/* Lists return items and total, filtered by status. */
static void test_list(void **state)
{
	struct http_resp r;
	char id[64];
	json_t *it;
	size_t i;

	(void)state;
	create(id, NULL);
	assert_int_equal(http_reqf(&r, "GET", NULL, NULL, "%s/v1/payment_intents?status=requires_payment_method&limit=1000", srv.url), 200);
	assert_true(http_int(&r, "total") >= 1);
	assert_int_equal((size_t)http_int(&r, "total"), json_array_size(json_object_get(r.json, "items")));
	json_array_foreach(json_object_get(r.json, "items"), i, it)
		assert_string_equal(json_string_value(json_object_get(it, "status")), "requires_payment_method");
	http_resp_free(&r);
}

/* Find the recorded event of type for intent id; its index or -1. */
static long find_event(const char *id, const char *type)
{
	size_t n = hookrecv_wait(hooks, 0, 0);

	for (size_t i = 0; i < n; i++) {
		json_t *ev = json_loads(hookrecv_body(hooks, i, NULL), 0, NULL);
		json_t *obj = json_object_get(json_object_get(ev, "data"), "object");
		bool hit = ev && strcmp(json_string_value(json_object_get(ev, "type")), type) == 0 &&
			   strcmp(json_string_value(json_object_get(obj, "id")), id) == 0;
		json_decref(ev);
		if (hit)
			return (long)i;
	}
	return -1;
}

/* Webhooks are signed "t=<ts>,v1=<hmac>" over "<ts>.<body>" and carry the intent. */
static void test_webhook_signed(void **state)
{
	struct http_resp r;
	char id[64];
	long i = -1;
	size_t len;
	const char *body;
	long long deadline = mockproc_now_ms() + 10000;

	(void)state;
	create(id, NULL);
	assert_int_equal(op(&r, id, "confirm", "{\"card\": \"4242424242424242\"}"), 200);
	http_resp_free(&r);
	while ((i = find_event(id, "payment_intent.succeeded")) < 0 && mockproc_now_ms() < deadline)
		hookrecv_wait(hooks, hookrecv_wait(hooks, 0, 0) + 1, 200);
	assert_true(i >= 0);
	body = hookrecv_body(hooks, (size_t)i, &len);
	assert_true(mt_verify_signature(SECRET, hookrecv_header(hooks, (size_t)i, "Signature"), body, len));
	assert_false(mt_verify_signature("wrong", hookrecv_header(hooks, (size_t)i, "Signature"), body, len));
	assert_true(find_event(id, "payment_intent.created") >= 0);
}

/* A failing receiver is retried with exponential backoff; the log shows it. */
static void test_webhook_retry(void **state)
{
	struct http_resp r;
	json_t *hist;
	char id[64];
	long long t1, t2, t3;

	(void)state;
	hookrecv_fail_next(hooks, 2, 503);
	create(id, NULL);
	assert_int_equal(http_reqf(&r, "GET", NULL, NULL, "%s/v1/webhook_deliveries/wait?event=payment_intent.created&attempts=3&timeout=10s", srv.url), 200);
	assert_string_equal(http_str(&r, "status"), "succeeded");
	hist = json_object_get(r.json, "history");
	assert_int_equal(json_array_size(hist), 3);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(hist, 0), "response_status")), 503);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(hist, 2), "response_status")), 200);
	/* Timestamps "...T..:..:SS.mmmZ": the second gap (100 ms) is longer than the first (50 ms). */
	t1 = strtoll(json_string_value(json_object_get(json_array_get(hist, 0), "at")) + 20, NULL, 10) +
	     1000 * strtoll(json_string_value(json_object_get(json_array_get(hist, 0), "at")) + 17, NULL, 10);
	t2 = strtoll(json_string_value(json_object_get(json_array_get(hist, 1), "at")) + 20, NULL, 10) +
	     1000 * strtoll(json_string_value(json_object_get(json_array_get(hist, 1), "at")) + 17, NULL, 10);
	t3 = strtoll(json_string_value(json_object_get(json_array_get(hist, 2), "at")) + 20, NULL, 10) +
	     1000 * strtoll(json_string_value(json_object_get(json_array_get(hist, 2), "at")) + 17, NULL, 10);
	assert_true((t2 - t1 + 60000) % 60000 >= 45);
	assert_true((t3 - t2 + 60000) % 60000 >= 95);
	http_resp_free(&r);
}

/* Per-card faults from /admin/faults fail that card only. */
static void test_card_fault(void **state)
{
	struct http_resp r;
	char id[64];

	(void)state;
	assert_int_equal(http_reqf(&r, "PUT", "{\"targets\": {\"4242424242424242\": {\"status\": 500, \"message\": \"acquirer down\"}}}", NULL, "%s/admin/faults", srv.url), 200);
	http_resp_free(&r);
	create(id, NULL);
	assert_int_equal(op(&r, id, "confirm", "{\"card\": \"4242424242424242\"}"), 500);
	assert_string_equal(http_str(&r, "error.message"), "acquirer down");
	http_resp_free(&r);
	assert_int_equal(op(&r, id, "confirm", "{\"card\": \"5555555555554444\"}"), 200);
	http_resp_free(&r);
	assert_int_equal(http_reqf(&r, "DELETE", NULL, NULL, "%s/admin/faults", srv.url), 200);
	http_resp_free(&r);
}

/* The compact JSON of a form body's Stripe parameters, or NULL (refused); caller frees. */
static char *form_json(const char *body)
{
	struct mock_err e;
	json_t *doc = stripe_form_parse(body, strlen(body), &e);
	char *out = doc ? json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS) : NULL;

	json_decref(doc);
	return out;
}

/* Stripe's nested form parameters: brackets make objects, [] and [N] arrays; inconsistent names,
 * gaps in indices and too deep nesting are refused. */
static void test_stripe_form(void **state)
{
	static const char *const cases[][2] = {
		{"amount=100&currency=usd", "{\"amount\":\"100\",\"currency\":\"usd\"}"},
		{"metadata[order]=A-17&metadata[note]=a+b%21", "{\"metadata\":{\"note\":\"a b!\",\"order\":\"A-17\"}}"},
		{"payment_method_types[]=card&payment_method_types[]=link", "{\"payment_method_types\":[\"card\",\"link\"]}"},
		{"t[0]=card&t[1]=link", "{\"t\":[\"card\",\"link\"]}"},
		{"items[0][price]=p1&items[0][qty]=2&items[1][price]=p2",
		 "{\"items\":[{\"price\":\"p1\",\"qty\":\"2\"},{\"price\":\"p2\"}]}"},
		{"expand[]=customer&a[b][c][d][e]=deep", "{\"a\":{\"b\":{\"c\":{\"d\":{\"e\":\"deep\"}}}},\"expand\":[\"customer\"]}"},
		{"metadata=", "{\"metadata\":\"\"}"},
		{"", "{}"},
	};
	static const char *const refused[] = {
		"a=1&a[b]=2", "a[b]=2&a=1", "a[b]=1&a[b]=2", "a[]=1&a[x]=2", "t[1]=card", "a[b", "a]b=1", "[x]=1",
		"a[][b]=1", "a[b]c=1", "a[b][c][d][e][f][g]=too+deep", "a=%zz",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *got = form_json(cases[i][0]);
		assert_non_null(got);
		assert_string_equal(got, cases[i][1]);
		free(got);
	}
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		char *got = form_json(refused[i]);
		if (got)
			fail_msg("accepted %s as %s", refused[i], got);
	}
}

/* A response body, cut at 8 KiB. */
struct body_buf {
	char data[8192];
	size_t len;
};

/* Collect a response body. */
static size_t collect(char *p, size_t size, size_t n, void *arg)
{
	struct body_buf *b = arg;
	size_t k = size * n, room = sizeof(b->data) - 1 - b->len;

	memcpy(b->data + b->len, p, k < room ? k : room);
	b->len += k < room ? k : room;
	b->data[b->len] = '\0';
	return k;
}

/* POST body to /v1/payment_intents labelled Content-Type: application/x-www-form-urlencoded (as
 * curl --data does); the answer's JSON (NULL when none) and *status. */
static json_t *post_as_form(const char *body, long *status)
{
	struct body_buf b = {.len = 0};
	char url[256];
	CURL *c = curl_easy_init();
	struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/x-www-form-urlencoded");

	b.data[0] = '\0';
	snprintf(url, sizeof(url), "%s/v1/payment_intents", srv.url);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
	*status = curl_easy_perform(c) == CURLE_OK && curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status) == CURLE_OK
		? *status : 0;
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	return json_loads(b.data, 0, NULL);
}

/* A JSON body labelled as a form (what curl --data sends) stays the JSON API's; a form body with
 * no Stripe-Version is Stripe's. */
static void test_api_by_content(void **state)
{
	long status;
	json_t *doc;

	(void)state;
	doc = post_as_form(" {\"amount\": 300, \"currency\": \"usd\"}", &status);
	assert_int_equal(status, 200);
	assert_non_null(json_object_get(doc, "created_at")); /* the JSON API's record */
	json_decref(doc);
	doc = post_as_form("amount=300&currency=usd&metadata[order]=9", &status);
	assert_int_equal(status, 200);
	assert_null(json_object_get(doc, "created_at"));
	assert_string_equal(json_string_value(json_object_get(json_object_get(doc, "metadata"), "order")), "9");
	assert_false(json_object_get(doc, "livemode") == NULL || json_is_true(json_object_get(doc, "livemode")));
	json_decref(doc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create_validation),
		cmocka_unit_test(test_idempotency),
		cmocka_unit_test(test_idempotent_confirm),
		cmocka_unit_test(test_cards),
		cmocka_unit_test(test_decline_then_retry),
		cmocka_unit_test(test_three_d_secure),
		cmocka_unit_test(test_capture),
		cmocka_unit_test(test_refund),
		cmocka_unit_test(test_cancel_and_missing),
		cmocka_unit_test(test_list),
		cmocka_unit_test(test_webhook_signed),
		cmocka_unit_test(test_webhook_retry),
		cmocka_unit_test(test_card_fault),
		cmocka_unit_test(test_stripe_form),
		cmocka_unit_test(test_api_by_content),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
