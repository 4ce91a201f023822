/* stripe — the payment mock's Stripe API (/v1/): routes, objects, errors, idempotency, events. */
#include "stripe.h"

#include "buf.h"
#include "clock.h"
#include "mock_faults.h"
#include "mock_opts.h"
#include "mock_req.h"
#include "mock_server.h"
#include "mock_store.h"
#include "mock_target.h"
#include "mock_util.h"
#include "mock_webhook.h"
#include "payment_int.h"
#include "sha256.h"
#include "stripe_form.h"

#include <ctype.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define DOCS "https://stripe.com/docs/error-codes/"
#define IDEM_MAX_AGE_MS (24LL * 3600 * 1000) /* Stripe keeps keys for at least 24 hours */
#define API_VERSION "2025-01-27.acacia"     /* what events say when the request named none */

struct stripe {
	struct payment *p;
	struct mock_store *customers, *refunds;
	char *api_key;   /* --stripe-api-key, else --api-key; NULL: any key */
	char *wh_secret; /* the Stripe-Signature key, or NULL: events unsigned */
};

/* A test payment method: what confirming with it does. */
enum pm_result { PM_OK, PM_DECLINE, PM_3DS };
struct test_pm {
	const char *id, *brand, *last4;
	enum pm_result result;
	const char *code, *decline_code, *message;
};

static const struct test_pm test_pms[] = {
	{"pm_card_visa", "visa", "4242", PM_OK, NULL, NULL, NULL},
	{"pm_card_visa_debit", "visa", "5556", PM_OK, NULL, NULL, NULL},
	{"pm_card_mastercard", "mastercard", "4444", PM_OK, NULL, NULL, NULL},
	{"pm_card_amex", "amex", "8431", PM_OK, NULL, NULL, NULL},
	{"pm_card_chargeDeclined", "visa", "0002", PM_DECLINE, "card_declined", "generic_decline",
	 "Your card was declined."},
	{"pm_card_chargeDeclinedInsufficientFunds", "visa", "9995", PM_DECLINE, "card_declined",
	 "insufficient_funds", "Your card has insufficient funds."},
	{"pm_card_chargeDeclinedLostCard", "visa", "9987", PM_DECLINE, "card_declined", "lost_card",
	 "Your card was declined."},
	{"pm_card_chargeDeclinedExpiredCard", "visa", "0069", PM_DECLINE, "expired_card", "expired_card",
	 "Your card has expired."},
	{"pm_card_chargeDeclinedIncorrectCvc", "visa", "0127", PM_DECLINE, "incorrect_cvc", "incorrect_cvc",
	 "Your card's security code is incorrect."},
	{"pm_card_chargeDeclinedProcessingError", "visa", "0119", PM_DECLINE, "processing_error",
	 "processing_error", "An error occurred while processing your card. Try again in a little bit."},
	{"pm_card_authenticationRequired", "visa", "3184", PM_3DS, NULL, NULL, NULL},
	{"pm_card_threeDSecure2Required", "visa", "3220", PM_3DS, NULL, NULL, NULL},
};

/* Record fields of the JSON API that a Stripe object does not have. */
static const char *const internal_fields[] = {"amount_refunded", "refunds", "payment_method_details",
					      "created_at", "updated_at", "api"};

/* The parameters each operation implements (others: 501); "expand" is accepted and ignored. */
static const char *const create_params[] = {"amount", "currency", "payment_method_types", "capture_method",
					    "confirm", "payment_method", "customer", "description", "metadata",
					    "receipt_email", "automatic_payment_methods", "return_url", "expand", NULL};
static const char *const update_params[] = {"amount", "currency", "payment_method_types", "capture_method",
					    "payment_method", "customer", "description", "metadata",
					    "receipt_email", "expand", NULL};
static const char *const confirm_params[] = {"payment_method", "return_url", "receipt_email", "expand", NULL};
static const char *const capture_params[] = {"amount_to_capture", "metadata", "expand", NULL};
static const char *const cancel_params[] = {"cancellation_reason", "expand", NULL};
static const char *const complete_params[] = {"outcome", NULL};
static const char *const refund_params[] = {"payment_intent", "amount", "reason", "metadata", "expand", NULL};
static const char *const customer_params[] = {"email", "name", "phone", "description", "metadata", "expand",
					      NULL};
static const char *const no_params[] = {"expand", NULL};

/* One operation's context: the API, the request, its parameters, the answer, what to announce. */
struct call {
	struct stripe *st;
	const struct mock_req *req;
	json_t *params;         /* the parsed form (POST) or query (GET) */
	struct mock_resp *resp;
	const char *event;      /* an event to send about the answered object, or NULL */
	json_t *error;          /* a card error answered 402 after the update (stolen) */
};

typedef void (*call_fn)(struct call *c);

/* Answer Stripe's error body; extra (stolen, may be NULL) adds fields to the error object. */
static void MOCK_PRINTF(7, 8) st_error(struct mock_resp *resp, int status, const char *type, const char *code,
				       const char *param, json_t *extra, const char *fmt, ...)
{
	va_list ap;
	char *msg, *doc_url = code && strncmp(code, "sbx_", 4) != 0 ? mock_xasprintf(DOCS "%s", code) : NULL;
	json_t *err;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	err = json_pack("{s:s,s:s?,s:s?,s:s?,s:s?}", "type", type, "code", code, "message", msg, "param", param,
			"doc_url", doc_url);
	if (!err) /* a message that is not UTF-8 (a parameter echoed) */
		err = json_pack("{s:s,s:s?,s:s,s:s?}", "type", type, "code", code, "message",
				"The request could not be processed (its text is not UTF-8)", "param", NULL);
	if (extra)
		json_object_update(err, extra);
	json_decref(extra);
	mock_resp_json(resp, status, json_pack("{s:o}", "error", err));
	free(msg);
	free(doc_url);
}

/* Answer 400 invalid_request_error about one parameter. */
#define bad_param(c, code, param, ...) \
	st_error((c)->resp, 400, "invalid_request_error", code, param, NULL, __VA_ARGS__)

/* Whether a path segment (n bytes) is an object id: "pi_3MtwBw..." (an underscore, and a digit or a capital). */
static bool is_id(const char *seg, size_t n)
{
	bool under = false, mark = false;

	for (size_t i = 0; i < n; i++) {
		under = under || seg[i] == '_';
		mark = mark || (seg[i] >= '0' && seg[i] <= '9') || (seg[i] >= 'A' && seg[i] <= 'Z');
	}
	return under && mark;
}

/* The operation of a request as Stripe's docs name it ("POST /v1/payment_intents/{id}/confirm"). */
static char *op_name(const struct mock_req *req)
{
	struct sbx_buf b = {0};
	const char *p = req->path;

	sbx_buf_printf(&b, "%s ", req->method);
	for (int i = 0; *p; i++) {
		size_t n = strcspn(p + 1, "/") + 1;
		if (i >= 2 && is_id(p + 1, n - 1))
			sbx_buf_puts(&b, "/{id}");
		else
			sbx_buf_add(&b, p, n);
		p += n;
	}
	return sbx_buf_steal(&b);
}

/* Answer 501 naming the operation (what: NULL, or a parameter of it) that the mock does not implement. */
static void st_unsupported(const struct mock_req *req, const char *what, struct mock_resp *resp)
{
	char *op = op_name(req);

	st_error(resp, 501, "api_error", "sbx_unsupported", what, NULL,
		 "sbx-mock-payment does not implement %s%s%s%s: it covers PaymentIntents (create, retrieve, update, "
		 "confirm, capture, cancel, list), Refunds (create, retrieve, list) and Customers (create, retrieve, "
		 "update, delete, list); see mocks/README.md", what ? "the parameter " : "", what ? what : "",
		 what ? " of " : "", op);
	mock_resp_header(resp, "Stripe-Should-Retry", "false");
	free(op);
}

/*
 * Whether a request on a shared path is the Stripe API's: a Stripe-Version header (every Stripe
 * SDK sends one), or a form-encoded body that is not a JSON object (curl labels a JSON body
 * --data sends as a form: the JSON API's clients keep working unchanged).
 */
bool stripe_request(const struct mock_req *req)
{
	const char *ct = mock_req_header(req, "Content-Type");
	size_t i = 0;

	if (mock_req_header(req, "Stripe-Version"))
		return true;
	if (!ct || strncasecmp(ct, "application/x-www-form-urlencoded", 33) != 0)
		return false;
	while (i < req->body_len && strchr(" \t\r\n", req->body[i]))
		i++;
	return i < req->body_len && req->body[i] != '{';
}

/* The key a request presents: Bearer KEY, or Basic with KEY as the user; NULL: none. Caller frees. */
static char *presented_key(const struct mock_req *req)
{
	const char *h = mock_req_header(req, "Authorization"), *pass;

	if (h && strncasecmp(h, "Bearer ", 7) == 0)
		return mock_xstrdup(h + 7);
	return mock_req_basic(req, &pass);
}

/* A key as Stripe shows it in errors: its sk_test_-like prefix, stars, its last 4 characters. */
static char *mask_key(const char *k)
{
	size_t n = strlen(k), pre = 0, stars;
	static const char *const prefixes[] = {"sk_test_", "sk_live_", "rk_test_", "rk_live_", "pk_test_", "pk_live_"};

	for (size_t i = 0; i < MOCK_NELEM(prefixes); i++) {
		if (strncmp(k, prefixes[i], 8) == 0)
			pre = 8;
	}
	if (n < pre + 12)
		return mock_xasprintf("%.*s%s", (int)pre, k, "********");
	stars = n - pre - 4 > 32 ? 32 : n - pre - 4;
	return mock_xasprintf("%.*s%.*s%s", (int)pre, k, (int)stars, "********************************",
			      k + n - 4);
}

/* Authenticate a request: 0, or -1 after Stripe's 401. With no --api-key, any key (or none) passes. */
static int st_auth(const struct stripe *st, const struct mock_req *req, struct mock_resp *resp)
{
	const char *want = st->api_key;
	char *key = want ? presented_key(req) : NULL, *shown;
	bool ok = !want || (key && mock_secret_equal(key, want));

	if (ok) {
		free(key);
		return 0;
	}
	if (!key || !*key) {
		st_error(resp, 401, "invalid_request_error", NULL, NULL, NULL,
			 "You did not provide an API key. You need to provide your API key in the Authorization "
			 "header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY').");
	} else {
		shown = mask_key(key);
		st_error(resp, 401, "invalid_request_error", NULL, NULL, NULL, "Invalid API Key provided: %s", shown);
		free(shown);
	}
	mock_resp_header(resp, "WWW-Authenticate", "Bearer realm=\"Stripe\"");
	if (key)
		OPENSSL_cleanse(key, strlen(key));
	free(key);
	return -1;
}

/* The injected latency and error rate of /admin/faults: 0, or -1 after a Stripe-shaped error. */
static int st_faults(const struct stripe *st, struct mock_resp *resp)
{
	struct mock_faults *f = mock_server_faults(st->p->srv);
	int status;

	sbx_sleep_ms(mock_faults_latency(f));
	status = mock_faults_roll(f);
	if (!status)
		return 0;
	if (status == 429)
		st_error(resp, 429, "invalid_request_error", "rate_limit", NULL, NULL,
			 "Too many requests hit the API too quickly (fault injected by /admin/faults).");
	else
		st_error(resp, status, "api_error", NULL, NULL, NULL, "fault injected by /admin/faults");
	return -1;
}

/* Check the parameters against what the operation implements: 0, or -1 after a 501. */
static int check_params(struct call *c, const char *const *allowed)
{
	const char *k;
	json_t *v;

	json_object_foreach(c->params, k, v) {
		bool ok = false;
		for (size_t i = 0; allowed[i] && !ok; i++)
			ok = strcmp(k, allowed[i]) == 0;
		if (!ok) {
			st_unsupported(c->req, k, c->resp);
			return -1;
		}
	}
	return 0;
}

/* The parameters of a request: the form body (POST) or the query string; NULL after a 400. */
static json_t *call_params(const struct mock_req *req, struct mock_resp *resp)
{
	struct mock_err e;
	json_t *doc;

	if (strcmp(req->method, "POST") == 0)
		doc = stripe_form_parse(req->body, req->body_len, &e);
	else
		doc = stripe_form_parse(req->raw_query ? req->raw_query : "",
					req->raw_query ? strlen(req->raw_query) : 0, &e);
	if (!doc)
		st_error(resp, 400, "invalid_request_error", "parameter_invalid_string", NULL, NULL,
			 "Invalid request body (application/x-www-form-urlencoded): %s", e.msg);
	return doc;
}

/* A string parameter, or NULL when absent; -1 after a 400 when it is not a string. */
static int str_param(struct call *c, const char *name, bool required, const char **out)
{
	json_t *v = json_object_get(c->params, name);

	*out = json_string_value(v);
	if (v && !json_is_string(v)) {
		bad_param(c, "parameter_invalid_string", name, "Invalid string: %s must be a string", name);
		return -1;
	}
	if (required && (!*out || !**out)) {
		bad_param(c, "parameter_missing", name, "Missing required param: %s.", name);
		return -1;
	}
	return 0;
}

/* An integer parameter in [min, max] (absent and optional: *out untouched); -1 after a 400. */
static int int_param(struct call *c, const char *name, bool required, int64_t min, int64_t max, int64_t *out)
{
	const char *s;

	if (str_param(c, name, required, &s) < 0)
		return -1;
	if (!s)
		return 0;
	if (mock_parse_int(s, INT64_MIN, INT64_MAX, out) < 0) {
		bad_param(c, "parameter_invalid_integer", name, "Invalid integer: %.40s", s);
		return -1;
	}
	if (*out < min || *out > max) {
		bad_param(c, *out < min ? "amount_too_small" : "amount_too_large", name,
			  "Invalid %s: must be between %lld and %lld", name, (long long)min, (long long)max);
		return -1;
	}
	return 0;
}

/* A parameter that must be one of a list of words (NULL-terminated); -1 after a 400. */
static int enum_param(struct call *c, const char *name, const char *const *words, const char **out)
{
	if (str_param(c, name, false, out) < 0)
		return -1;
	for (size_t i = 0; *out && words[i]; i++) {
		if (strcmp(*out, words[i]) == 0)
			return 0;
	}
	if (*out && **out) {
		bad_param(c, "parameter_invalid_string", name, "Invalid %s: %.40s", name, *out);
		return -1;
	}
	*out = NULL;
	return 0;
}

/* Whether a boolean parameter is "true"; -1 after a 400 when it is neither true nor false. */
static int bool_param(struct call *c, const char *name, bool *out)
{
	const char *s;

	if (str_param(c, name, false, &s) < 0)
		return -1;
	*out = s && strcmp(s, "true") == 0;
	if (s && !*out && strcmp(s, "false") != 0) {
		bad_param(c, "parameter_invalid_boolean", name, "Invalid boolean: %.40s", s);
		return -1;
	}
	return 0;
}

/* Apply the metadata parameter to obj: keys set, "" unsets a key, metadata="" clears; -1 after a 400. */
static int apply_metadata(struct call *c, json_t *obj)
{
	json_t *m = json_object_get(c->params, "metadata"), *cur = json_object_get(obj, "metadata"), *v;
	const char *k;

	if (!m)
		return 0;
	if (json_is_string(m) && !*json_string_value(m)) {
		json_object_set_new(obj, "metadata", json_object());
		return 0;
	}
	if (!json_is_object(m)) {
		bad_param(c, "parameter_invalid_string", "metadata", "Invalid object: metadata must be a hash");
		return -1;
	}
	json_object_foreach(m, k, v) {
		if (!json_is_string(v) || strlen(k) > 40 || strlen(json_string_value(v)) > 500) {
			bad_param(c, "parameter_invalid_string", "metadata",
				  "Invalid metadata: keys up to 40 characters, values strings up to 500");
			return -1;
		}
	}
	if (!json_is_object(cur)) {
		cur = json_object();
		json_object_set_new(obj, "metadata", cur);
	}
	json_object_foreach(m, k, v) {
		if (*json_string_value(v))
			json_object_set(cur, k, v);
		else
			json_object_del(cur, k);
	}
	return 0;
}

/* Copy the optional string parameters names into obj ("" sets null); -1 after a 400. */
static int copy_strings(struct call *c, json_t *obj, const char *const *names)
{
	const char *v;

	for (size_t i = 0; names[i]; i++) {
		if (str_param(c, names[i], false, &v) < 0)
			return -1;
		if (v)
			json_object_set_new(obj, names[i], *v ? json_string(v) : json_null());
	}
	return 0;
}

/* The test payment method with this id, or NULL. */
static const struct test_pm *find_pm(const char *id)
{
	for (size_t i = 0; id && i < MOCK_NELEM(test_pms); i++) {
		if (strcmp(test_pms[i].id, id) == 0)
			return &test_pms[i];
	}
	return NULL;
}

/* A string field of a record ("" when absent). */
static const char *field(const json_t *rec, const char *key)
{
	const char *v = json_string_value(json_object_get(rec, key));

	return v ? v : "";
}

/* Now in Unix seconds. */
static json_t *now_s(void)
{
	return json_integer(mock_now_ms() / 1000);
}

/* The Stripe PaymentIntent of a stored intent (either API's): a new reference. */
static json_t *intent_view(const json_t *rec)
{
	json_t *v = json_deep_copy(rec);
	json_t *defaults = json_pack("{s:b,s:n,s:n,s:n,s:[s],s:s,s:n,s:n,s:n,s:n,s:n}", "livemode", 0,
				     "payment_method", "customer", "latest_charge", "payment_method_types", "card",
				     "confirmation_method", "automatic", "canceled_at", "cancellation_reason",
				     "receipt_email", "setup_future_usage", "description");

	for (size_t i = 0; i < MOCK_NELEM(internal_fields); i++)
		json_object_del(v, internal_fields[i]);
	json_object_update_missing(v, defaults);
	json_decref(defaults);
	return v;
}

/* Send a Stripe Event about obj (not stolen) to --webhook-url, signed with Stripe-Signature. */
static void send_event(struct stripe *st, const struct mock_req *req, const char *type, const json_t *obj)
{
	struct payment *p = st->p;
	const char *ver = req ? mock_req_header(req, "Stripe-Version") : NULL;
	const char *key = req ? mock_req_header(req, "Idempotency-Key") : NULL;
	char *id, *body;
	json_t *ev;

	if (!p->webhook.url || !type || !obj)
		return;
	id = mock_id_new("evt_", 24);
	ev = json_pack("{s:s,s:s,s:s,s:o,s:{s:O},s:b,s:i,s:{s:n,s:s?},s:s}", "id", id, "object", "event",
		       "api_version", ver && *ver ? ver : API_VERSION, "created", now_s(), "data", "object", obj,
		       "livemode", 0, "pending_webhooks", 1, "request", "id", "idempotency_key", key, "type", type);
	if (!ev) /* a key that is not UTF-8 */
		ev = json_pack("{s:s,s:s,s:s,s:o,s:{s:O},s:b,s:i,s:{s:n,s:n},s:s}", "id", id, "object", "event",
			       "api_version", API_VERSION, "created", now_s(), "data", "object", obj, "livemode", 0,
			       "pending_webhooks", 1, "request", "id", "idempotency_key", "type", type);
	body = mock_json_dump(ev);
	free(mock_webhook_send_raw(mock_server_webhook(p->srv), &p->webhook, type,
				   &(struct mock_webhook_raw){.content_type = "application/json", .body = body,
							      .logged = ev, .sig_header = "Stripe-Signature",
							      .sig_secret = st->wh_secret}, 0));
	free(body);
	json_decref(ev);
	free(id);
}

/* The URL that completes 3-D Secure for an intent (absolute when the request named its Host). */
static char *complete_url(const struct mock_req *req, const char *id)
{
	const char *host = mock_req_header(req, "Host");

	if (host && strspn(host, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:[]") == strlen(host))
		return mock_xasprintf("http://%s/v1/payment_intents/%s/_complete_3ds", host, id);
	return mock_xasprintf("/v1/payment_intents/%s/_complete_3ds", id);
}

/* The payment went through: succeeded, or requires_capture with capture_method manual. */
static void pay(struct call *c, json_t *rec)
{
	bool manual = strcmp(field(rec, "capture_method"), "manual") == 0;
	int64_t amount = payment_int_of(rec, "amount");
	char *ch = mock_xasprintf("ch_%s", field(rec, "id") + 3);

	json_object_set_new(rec, "last_payment_error", json_null());
	json_object_set_new(rec, "next_action", json_null());
	json_object_set_new(rec, "latest_charge", json_string(ch));
	json_object_set_new(rec, manual ? "amount_capturable" : "amount_received", json_integer(amount));
	payment_set_status(rec, manual ? "requires_capture" : "succeeded");
	c->event = manual ? "payment_intent.amount_capturable_updated" : "payment_intent.succeeded";
	free(ch);
}

/* The card was declined: the intent keeps the error and needs a new payment method; 402 after. */
static void decline(struct call *c, json_t *rec, const struct test_pm *pm)
{
	json_t *err = json_pack("{s:s,s:s,s:s,s:s,s:s,s:{s:s,s:s,s:s,s:{s:s,s:s}}}", "type", "card_error", "code",
				pm->code, "decline_code", pm->decline_code, "message", pm->message, "doc_url",
				DOCS "card-declined", "payment_method", "id", pm->id, "object", "payment_method", "type",
				"card", "card", "brand", pm->brand, "last4", pm->last4);

	json_object_set_new(rec, "last_payment_error", json_deep_copy(err));
	json_object_set_new(rec, "next_action", json_null());
	json_object_set_new(rec, "payment_method", json_null());
	payment_set_status(rec, "requires_payment_method");
	c->error = err;
	c->event = "payment_intent.payment_failed";
}

/* Ask for 3-D Secure: requires_action with a next_action leading to _complete_3ds. */
static void require_3ds(struct call *c, json_t *rec)
{
	char *url = complete_url(c->req, field(rec, "id"));
	const char *ret = json_string_value(json_object_get(rec, "return_url"));

	if (ret)
		json_object_set_new(rec, "next_action", json_pack("{s:s,s:{s:s,s:s}}", "type", "redirect_to_url",
								  "redirect_to_url", "url", url, "return_url", ret));
	else
		json_object_set_new(rec, "next_action",
				    json_pack("{s:s,s:{s:s,s:s}}", "type", "use_stripe_sdk", "use_stripe_sdk", "type",
					      "three_d_secure_redirect", "stripe_js", url));
	payment_set_status(rec, "requires_action");
	c->event = "payment_intent.requires_action";
	free(url);
}

/* Answer 400 payment_intent_unexpected_state for an action in rec's status. */
static int unexpected(struct call *c, const json_t *rec, const char *action, const char *allowed)
{
	st_error(c->resp, 400, "invalid_request_error", "payment_intent_unexpected_state", NULL,
		 json_pack("{s:o}", "payment_intent", intent_view(rec)),
		 "You cannot %s this PaymentIntent because it has a status of %s. Only a PaymentIntent with one of "
		 "the following statuses may be %s: %s.", action, field(rec, "status"),
		 strcmp(action, "capture") == 0 ? "captured" : strcmp(action, "cancel") == 0 ? "canceled" : "confirmed",
		 allowed);
	return -1;
}

/* The payment method of a confirm (the parameter, else the intent's): its test card; NULL after a 400. */
static const struct test_pm *confirm_pm(struct call *c, json_t *rec)
{
	const char *id = json_string_value(json_object_get(c->params, "payment_method"));
	const struct test_pm *pm;

	if (!id || !*id)
		id = json_string_value(json_object_get(rec, "payment_method"));
	if (!id) {
		bad_param(c, "payment_intent_unexpected_state", "payment_method",
			  "You cannot confirm this PaymentIntent because it's missing a payment method. Update the "
			  "PaymentIntent with a payment_method and then confirm it again.");
		return NULL;
	}
	pm = find_pm(id);
	if (!pm)
		st_error(c->resp, 400, "invalid_request_error", "resource_missing", "payment_method", NULL,
			 "No such PaymentMethod: '%.60s'", id);
	return pm;
}

/* Confirm (under the store's lock): the test card decides. */
static int op_confirm(json_t *rec, void *arg)
{
	struct call *c = arg;
	const char *st = field(rec, "status"), *ret;
	const struct test_pm *pm;
	char *msg = NULL;
	int status;

	if (strcmp(st, "requires_action") == 0) { /* confirming again completes 3-D Secure */
		pay(c, rec);
		return 0;
	}
	if (strcmp(st, "requires_payment_method") != 0 && strcmp(st, "requires_confirmation") != 0)
		return unexpected(c, rec, "confirm", "requires_confirmation, requires_payment_method, requires_action");
	if (!(pm = confirm_pm(c, rec)) || str_param(c, "return_url", false, &ret) < 0)
		return -1;
	if (mock_faults_target(mock_server_faults(c->st->p->srv), pm->id, &status, &msg)) {
		st_error(c->resp, status, "api_error", NULL, NULL, NULL, "%s", msg);
		free(msg);
		return -1;
	}
	if (ret)
		json_object_set_new(rec, "return_url", json_string(ret));
	if (copy_strings(c, rec, (const char *const[]){"receipt_email", NULL}) < 0)
		return -1;
	json_object_set_new(rec, "payment_method", json_string(pm->id));
	json_object_set_new(rec, "payment_method_details",
			    json_pack("{s:{s:s,s:s}}", "card", "brand", pm->brand, "last4", pm->last4));
	if (pm->result == PM_DECLINE)
		decline(c, rec, pm);
	else if (pm->result == PM_3DS)
		require_3ds(c, rec);
	else
		pay(c, rec);
	return 0;
}

/* Complete (or fail, outcome=fail) 3-D Secure: the mock's stand-in for the bank's page. */
static int op_complete(json_t *rec, void *arg)
{
	struct call *c = arg;
	const char *outcome;

	if (strcmp(field(rec, "status"), "requires_action") != 0)
		return unexpected(c, rec, "confirm", "requires_action");
	if (enum_param(c, "outcome", (const char *const[]){"pass", "fail", NULL}, &outcome) < 0)
		return -1;
	if (!outcome || strcmp(outcome, "pass") == 0) {
		pay(c, rec);
		return 0;
	}
	json_object_set_new(rec, "last_payment_error",
			    json_pack("{s:s,s:s,s:s,s:s}", "type", "invalid_request_error", "code",
				      "payment_intent_authentication_failure", "message",
				      "The provided PaymentMethod has failed authentication. You can provide "
				      "payment_method_data or a new PaymentMethod to attempt to fulfill this "
				      "PaymentIntent again.", "doc_url", DOCS "payment_intent_authentication_failure"));
	json_object_set_new(rec, "next_action", json_null());
	json_object_set_new(rec, "payment_method", json_null());
	payment_set_status(rec, "requires_payment_method");
	c->event = "payment_intent.payment_failed";
	return 0;
}

/* Capture an authorised amount (amount_to_capture: at most what is capturable). */
static int op_capture(json_t *rec, void *arg)
{
	struct call *c = arg;
	int64_t amount = payment_int_of(rec, "amount_capturable");

	if (strcmp(field(rec, "status"), "requires_capture") != 0)
		return unexpected(c, rec, "capture", "requires_capture");
	if (int_param(c, "amount_to_capture", false, 1, amount, &amount) < 0 || apply_metadata(c, rec) < 0)
		return -1;
	json_object_set_new(rec, "amount_received", json_integer(amount));
	json_object_set_new(rec, "amount_capturable", json_integer(0));
	payment_set_status(rec, "succeeded");
	c->event = "payment_intent.succeeded";
	return 0;
}

/* Cancel an unfinished intent. */
static int op_cancel(json_t *rec, void *arg)
{
	static const char *const reasons[] = {"duplicate", "fraudulent", "requested_by_customer", "abandoned", NULL};
	struct call *c = arg;
	const char *st = field(rec, "status"), *reason;

	if (strcmp(st, "succeeded") == 0 || strcmp(st, "canceled") == 0 || strcmp(st, "processing") == 0)
		return unexpected(c, rec, "cancel",
				  "requires_payment_method, requires_capture, requires_confirmation, requires_action");
	if (enum_param(c, "cancellation_reason", reasons, &reason) < 0)
		return -1;
	json_object_set_new(rec, "amount_capturable", json_integer(0));
	json_object_set_new(rec, "next_action", json_null());
	json_object_set_new(rec, "canceled_at", now_s());
	json_object_set_new(rec, "cancellation_reason", reason ? json_string(reason) : json_null());
	payment_set_status(rec, "canceled");
	c->event = "payment_intent.canceled";
	return 0;
}

/* Check a currency parameter and set it lowercased on obj; -1 after a 400. */
static int set_currency(struct call *c, json_t *obj, bool required)
{
	const char *cur;
	char low[4];

	if (str_param(c, "currency", required, &cur) < 0)
		return -1;
	if (!cur)
		return 0;
	if (strlen(cur) != 3 || !isalpha((unsigned char)cur[0]) || !isalpha((unsigned char)cur[1]) ||
	    !isalpha((unsigned char)cur[2])) {
		bad_param(c, "parameter_invalid_string", "currency", "Invalid currency: %.20s", cur);
		return -1;
	}
	for (int i = 0; i < 4; i++)
		low[i] = (char)tolower((unsigned char)cur[i]);
	json_object_set_new(obj, "currency", json_string(low));
	return 0;
}

/* Check the references (payment_method, customer) and the card-only types; -1 after the answer. */
static int check_refs(struct call *c, json_t *obj)
{
	const char *pm, *cus;
	json_t *types = json_object_get(c->params, "payment_method_types"), *t, *rec;
	size_t i;

	if (str_param(c, "payment_method", false, &pm) < 0 || str_param(c, "customer", false, &cus) < 0)
		return -1;
	if (pm && *pm && !find_pm(pm)) {
		st_error(c->resp, 400, "invalid_request_error", "resource_missing", "payment_method", NULL,
			 "No such PaymentMethod: '%.60s'", pm);
		return -1;
	}
	if (cus && *cus) {
		rec = mock_store_get(c->st->customers, cus);
		json_decref(rec);
		if (!rec) {
			st_error(c->resp, 400, "invalid_request_error", "resource_missing", "customer", NULL,
				 "No such customer: '%.60s'", cus);
			return -1;
		}
	}
	if (types && !json_is_array(types)) {
		bad_param(c, "parameter_invalid_string", "payment_method_types", "Invalid array");
		return -1;
	}
	json_array_foreach(types, i, t) {
		if (!json_is_string(t) || strcmp(json_string_value(t), "card") != 0) {
			st_unsupported(c->req, "payment_method_types (other than card)", c->resp);
			return -1;
		}
	}
	if (types)
		json_object_set(obj, "payment_method_types", types);
	if (pm)
		json_object_set_new(obj, "payment_method", *pm ? json_string(pm) : json_null());
	if (cus)
		json_object_set_new(obj, "customer", *cus ? json_string(cus) : json_null());
	return 0;
}

/* Update an intent (under the store's lock). */
static int op_update(json_t *rec, void *arg)
{
	static const char *const captures[] = {"automatic", "automatic_async", "manual", NULL};
	struct call *c = arg;
	const char *st = field(rec, "status"), *capture;
	bool open = strcmp(st, "requires_payment_method") == 0 || strcmp(st, "requires_confirmation") == 0 ||
		    strcmp(st, "requires_action") == 0;
	int64_t amount = -1;
	bool money = json_object_get(c->params, "amount") || json_object_get(c->params, "currency") ||
		     json_object_get(c->params, "payment_method") || json_object_get(c->params, "capture_method");

	if (money && !open)
		return unexpected(c, rec, "update", "requires_payment_method, requires_confirmation, requires_action");
	if (int_param(c, "amount", false, 1, 99999999, &amount) < 0 || set_currency(c, rec, false) < 0 ||
	    enum_param(c, "capture_method", captures, &capture) < 0 || check_refs(c, rec) < 0 ||
	    apply_metadata(c, rec) < 0 || copy_strings(c, rec, (const char *const[]){"description", "receipt_email", NULL}) < 0)
		return -1;
	if (amount > 0)
		json_object_set_new(rec, "amount", json_integer(amount));
	if (capture)
		json_object_set_new(rec, "capture_method", json_string(capture));
	if (json_is_string(json_object_get(c->params, "payment_method")) && strcmp(st, "requires_payment_method") == 0 &&
	    json_is_string(json_object_get(rec, "payment_method")))
		payment_set_status(rec, "requires_confirmation");
	return 0;
}

/* Answer the intent after an operation (200, or 402 with a card error) and send its event. */
static void answer_intent(struct call *c, const char *id)
{
	json_t *rec = mock_store_get(c->st->p->intents, id), *view;

	if (!rec) { /* deleted meanwhile */
		st_error(c->resp, 404, "invalid_request_error", "resource_missing", "intent", NULL,
			 "No such payment_intent: '%.60s'", id);
		return;
	}
	view = intent_view(rec);
	send_event(c->st, c->req, c->event, view);
	if (c->error) {
		json_object_set_new(c->error, "payment_intent", json_incref(view));
		st_error(c->resp, 402, "card_error", field(c->error, "code"), NULL, c->error, "%s",
			 field(c->error, "message"));
		c->error = NULL;
	} else {
		mock_resp_json(c->resp, 200, json_incref(view));
	}
	json_decref(view);
	json_decref(rec);
}

/* Run an operation on the intent of the path. */
static void intent_op(struct call *c, int (*fn)(json_t *rec, void *arg))
{
	const char *id = mock_req_param(c->req, "id");

	if (mock_store_update(c->st->p->intents, id, fn, c) < 0) {
		if (!c->resp->status)
			st_error(c->resp, 404, "invalid_request_error", "resource_missing", "intent", NULL,
				 "No such payment_intent: '%.60s'", id);
		return;
	}
	answer_intent(c, id);
}

/* POST /v1/payment_intents. */
static void do_create(struct call *c)
{
	static const char *const captures[] = {"automatic", "automatic_async", "manual", NULL};
	char *id = mock_id_new("pi_", 24), *secret = mock_id_new("_secret_", 24), ts[32];
	json_t *rec = json_object(), *ape = json_object_get(c->params, "automatic_payment_methods");
	const char *capture, *ret;
	int64_t amount;
	bool confirm;

	mock_fmt_time(mock_now_ms(), ts);
	if (check_params(c, create_params) < 0 || int_param(c, "amount", true, 1, 99999999, &amount) < 0 ||
	    set_currency(c, rec, true) < 0 || enum_param(c, "capture_method", captures, &capture) < 0 ||
	    bool_param(c, "confirm", &confirm) < 0 || str_param(c, "return_url", false, &ret) < 0 ||
	    (ape && !json_is_object(ape) && (bad_param(c, "parameter_invalid_string", "automatic_payment_methods",
						       "Invalid hash"), 1)))
		goto out;
	json_object_set_new(rec, "id", json_string(id));
	json_object_set_new(rec, "object", json_string("payment_intent"));
	json_object_set_new(rec, "amount", json_integer(amount));
	json_object_set_new(rec, "amount_capturable", json_integer(0));
	json_object_set_new(rec, "amount_received", json_integer(0));
	json_object_set_new(rec, "capture_method", json_string(capture ? capture : "automatic"));
	json_object_set_new(rec, "client_secret", json_sprintf("%s%s", id, secret));
	json_object_set_new(rec, "created", now_s());
	json_object_set_new(rec, "metadata", json_object());
	json_object_set_new(rec, "last_payment_error", json_null());
	json_object_set_new(rec, "next_action", json_null());
	json_object_set_new(rec, "livemode", json_false());
	json_object_set_new(rec, "payment_method_types", json_pack("[s]", "card"));
	if (ape)
		json_object_set_new(rec, "automatic_payment_methods",
				    json_pack("{s:b}", "enabled", strcmp(field(ape, "enabled"), "true") == 0));
	if (check_refs(c, rec) < 0 || apply_metadata(c, rec) < 0 ||
	    copy_strings(c, rec, (const char *const[]){"description", "receipt_email", NULL}) < 0)
		goto out;
	if (ret)
		json_object_set_new(rec, "return_url", json_string(ret));
	json_object_set_new(rec, "status", json_string(json_is_string(json_object_get(rec, "payment_method"))
						       ? "requires_confirmation" : "requires_payment_method"));
	json_object_set_new(rec, "amount_refunded", json_integer(0));
	json_object_set_new(rec, "refunds", json_array());
	json_object_set_new(rec, "payment_method_details", json_null());
	json_object_set_new(rec, "api", json_string("stripe"));
	json_object_set_new(rec, "created_at", json_string(ts));
	json_object_set_new(rec, "updated_at", json_string(ts));
	if (confirm && !json_is_string(json_object_get(rec, "payment_method"))) {
		bad_param(c, "payment_intent_unexpected_state", "payment_method",
			  "You cannot confirm this PaymentIntent because it's missing a payment method.");
		goto out;
	}
	mock_store_put(c->st->p->intents, json_incref(rec));
	c->event = "payment_intent.created";
	{
		json_t *view = intent_view(rec);
		send_event(c->st, c->req, c->event, view);
		json_decref(view);
	}
	c->event = NULL;
	if (confirm) {
		if (mock_store_update(c->st->p->intents, id, op_confirm, c) == 0)
			answer_intent(c, id);
	} else {
		mock_resp_json(c->resp, 200, intent_view(rec));
	}
out:
	json_decref(rec);
	free(id);
	free(secret);
}

/* POST /v1/payment_intents/{id}. */
static void do_update(struct call *c)
{
	if (check_params(c, update_params) == 0)
		intent_op(c, op_update);
}

/* POST /v1/payment_intents/{id}/confirm. */
static void do_confirm(struct call *c)
{
	if (check_params(c, confirm_params) == 0)
		intent_op(c, op_confirm);
}

/* POST /v1/payment_intents/{id}/capture. */
static void do_capture(struct call *c)
{
	if (check_params(c, capture_params) == 0)
		intent_op(c, op_capture);
}

/* POST /v1/payment_intents/{id}/cancel. */
static void do_cancel(struct call *c)
{
	if (check_params(c, cancel_params) == 0)
		intent_op(c, op_cancel);
}

/* GET|POST /v1/payment_intents/{id}/_complete_3ds. */
static void do_complete(struct call *c)
{
	if (check_params(c, complete_params) == 0)
		intent_op(c, op_complete);
}

/* GET /v1/payment_intents/{id}. */
static void do_retrieve_intent(struct call *c)
{
	const char *id = mock_req_param(c->req, "id");
	json_t *rec;

	if (check_params(c, (const char *const[]){"expand", "client_secret", NULL}) < 0)
		return;
	rec = mock_store_get(c->st->p->intents, id);
	if (!rec) {
		st_error(c->resp, 404, "invalid_request_error", "resource_missing", "intent", NULL,
			 "No such payment_intent: '%.60s'", id);
		return;
	}
	mock_resp_json(c->resp, 200, intent_view(rec));
	json_decref(rec);
}

/* The position of the record with this id in a list, or -1 after a 400 naming the cursor. */
static ssize_t cursor_at(struct call *c, const json_t *all, const char *name, const char *id, const char *what)
{
	size_t i;
	json_t *r;

	json_array_foreach(all, i, r) {
		if (strcmp(field(r, "id"), id) == 0)
			return (ssize_t)i;
	}
	st_error(c->resp, 400, "invalid_request_error", "resource_missing", name, NULL, "No such %s: '%.60s'", what, id);
	return -1;
}

/* GET a list: Stripe's paging over the store's records (newest first) matching filter. */
static void list_page(struct call *c, struct mock_store *s, const struct mock_kvlist *filter, const char *url,
		      const char *what, json_t *(*view)(const json_t *rec))
{
	int64_t limit = 10;
	const char *after, *before;
	size_t total, start = 0, end;
	json_t *all, *data;
	ssize_t at;

	if (int_param(c, "limit", false, 1, 100, &limit) < 0 || str_param(c, "starting_after", false, &after) < 0 ||
	    str_param(c, "ending_before", false, &before) < 0)
		return;
	all = mock_store_list(s, filter, 0, SIZE_MAX, &total);
	end = json_array_size(all);
	if (after && (at = cursor_at(c, all, "starting_after", after, what)) < 0)
		goto out;
	if (after)
		start = (size_t)at + 1;
	if (before && (at = cursor_at(c, all, "ending_before", before, what)) < 0)
		goto out;
	if (before) {
		end = (size_t)at;
		start = !after && end > (size_t)limit ? end - (size_t)limit : start;
	}
	data = json_array();
	for (size_t i = start; i < end && json_array_size(data) < (size_t)limit; i++)
		json_array_append_new(data, view(json_array_get(all, i)));
	mock_resp_json(c->resp, 200, json_pack("{s:s,s:o,s:b,s:s}", "object", "list", "data", data, "has_more",
					       before && !after ? start > 0 : start + json_array_size(data) < end,
					       "url", url));
out:
	json_decref(all);
}

/* GET /v1/payment_intents: customer filters. */
static void do_list_intents(struct call *c)
{
	struct mock_kvlist f = {0};
	const char *cus;

	if (check_params(c, (const char *const[]){"limit", "starting_after", "ending_before", "customer", "expand", NULL}) < 0 ||
	    str_param(c, "customer", false, &cus) < 0)
		return;
	if (cus)
		mock_kv_add(&f, "customer", cus);
	list_page(c, c->st->p->intents, &f, "/v1/payment_intents", "payment_intent", intent_view);
	mock_kv_free(&f);
}

/* A record as it is (refunds and customers are stored in Stripe's shape): a new reference. */
static json_t *as_is(const json_t *rec)
{
	return json_deep_copy(rec);
}

/* Make a refund (under the intent's lock): checks the amount left, records it on the intent. */
static int op_refund(json_t *rec, void *arg)
{
	struct call *c = arg;
	int64_t left = payment_int_of(rec, "amount_received") - payment_int_of(rec, "amount_refunded"), amount = left;
	json_t *r = json_object_get(c->params, "_refund");
	char ts[32];

	if (strcmp(field(rec, "status"), "succeeded") != 0 || left < 1) {
		st_error(c->resp, 400, "invalid_request_error", "charge_already_refunded", "payment_intent", NULL,
			 left < 1 && strcmp(field(rec, "status"), "succeeded") == 0
			 ? "Charge %s has already been refunded." : "This PaymentIntent (%s) does not have a successful charge to refund.",
			 field(rec, "id"));
		return -1;
	}
	if (int_param(c, "amount", false, 1, INT64_MAX, &amount) < 0)
		return -1;
	if (amount > left) {
		bad_param(c, "amount_too_large", "amount",
			  "Refund amount (%lld) is greater than unrefunded amount on charge (%lld)", (long long)amount,
			  (long long)left);
		return -1;
	}
	mock_fmt_time(mock_now_ms(), ts);
	json_object_set_new(r, "amount", json_integer(amount));
	json_object_set(r, "currency", json_object_get(rec, "currency"));
	json_object_set(r, "charge", json_object_get(rec, "latest_charge"));
	json_array_append_new(json_object_get(rec, "refunds"),
			      json_pack("{s:O,s:I,s:s,s:s}", "id", json_object_get(r, "id"), "amount",
					(json_int_t)amount, "status", "succeeded", "created_at", ts));
	json_object_set_new(rec, "amount_refunded", json_integer(payment_int_of(rec, "amount_refunded") + amount));
	json_object_set_new(rec, "updated_at", json_string(ts));
	return 0;
}

/* POST /v1/refunds. */
static void do_create_refund(struct call *c)
{
	static const char *const reasons[] = {"duplicate", "fraudulent", "requested_by_customer", NULL};
	const char *pi, *reason;
	char *id = mock_id_new("re_", 24);
	json_t *r = json_pack("{s:s,s:s,s:n,s:o,s:n,s:n,s:n,s:s}", "id", id, "object", "refund",
			      "balance_transaction", "created", now_s(), "destination_details", "reason",
			      "receipt_number", "status", "succeeded");

	if (check_params(c, refund_params) < 0 || str_param(c, "payment_intent", true, &pi) < 0 ||
	    enum_param(c, "reason", reasons, &reason) < 0 || apply_metadata(c, r) < 0)
		goto out;
	if (!json_object_get(r, "metadata"))
		json_object_set_new(r, "metadata", json_object());
	json_object_set_new(r, "payment_intent", json_string(pi));
	if (reason)
		json_object_set_new(r, "reason", json_string(reason));
	json_object_set(c->params, "_refund", r);
	if (mock_store_update(c->st->p->intents, pi, op_refund, c) < 0) {
		if (!c->resp->status)
			st_error(c->resp, 400, "invalid_request_error", "resource_missing", "payment_intent", NULL,
				 "No such payment_intent: '%.60s'", pi);
		goto out;
	}
	mock_store_put(c->st->refunds, json_deep_copy(r));
	send_event(c->st, c->req, "refund.created", r);
	mock_resp_json(c->resp, 200, json_incref(r));
out:
	json_decref(r);
	free(id);
}

/* Answer one record of a store (the path's id), or 404. */
static void answer_one(struct call *c, struct mock_store *s, const char *what)
{
	const char *id = mock_req_param(c->req, "id");
	json_t *rec = mock_store_get(s, id);

	if (!rec) {
		st_error(c->resp, 404, "invalid_request_error", "resource_missing", "id", NULL, "No such %s: '%.60s'",
			 what, id);
		return;
	}
	mock_resp_json(c->resp, 200, rec);
}

/* GET /v1/refunds/{id} or /v1/customers/{id}. */
static void get_one(struct call *c, struct mock_store *s, const char *what)
{
	if (check_params(c, no_params) == 0)
		answer_one(c, s, what);
}

/* GET /v1/refunds/{id}. */
static void do_retrieve_refund(struct call *c)
{
	get_one(c, c->st->refunds, "refund");
}

/* GET /v1/refunds: payment_intent filters. */
static void do_list_refunds(struct call *c)
{
	struct mock_kvlist f = {0};
	const char *pi;

	if (check_params(c, (const char *const[]){"limit", "starting_after", "ending_before", "payment_intent",
						  "expand", NULL}) < 0 ||
	    str_param(c, "payment_intent", false, &pi) < 0)
		return;
	if (pi)
		mock_kv_add(&f, "payment_intent", pi);
	list_page(c, c->st->refunds, &f, "/v1/refunds", "refund", as_is);
	mock_kv_free(&f);
}

/* Set a customer's fields from the parameters; -1 after a 400. */
static int customer_fields(struct call *c, json_t *cus)
{
	return apply_metadata(c, cus) < 0 ||
	       copy_strings(c, cus, (const char *const[]){"email", "name", "phone", "description", NULL}) < 0 ? -1 : 0;
}

/* POST /v1/customers. */
static void do_create_customer(struct call *c)
{
	char *id = mock_id_new("cus_", 14), prefix[9];
	json_t *cus;

	snprintf(prefix, sizeof(prefix), "%.8s", id + 4);
	for (char *p = prefix; *p; p++)
		*p = (char)toupper((unsigned char)*p);
	cus = json_pack("{s:s,s:s,s:n,s:i,s:o,s:n,s:n,s:b,s:n,s:n,s:s,s:b,s:o,s:n,s:n,s:[],s:s}", "id", id, "object",
			"customer", "address", "balance", 0, "created", now_s(), "currency", "default_source",
			"delinquent", 0, "description", "email", "invoice_prefix", prefix, "livemode", 0, "metadata",
			json_object(), "name", "phone", "preferred_locales", "tax_exempt", "none");
	if (check_params(c, customer_params) == 0 && customer_fields(c, cus) == 0) {
		mock_store_put(c->st->customers, json_deep_copy(cus));
		send_event(c->st, c->req, "customer.created", cus);
		mock_resp_json(c->resp, 200, json_incref(cus));
	}
	json_decref(cus);
	free(id);
}

/* Update a customer (under the store's lock). */
static int op_customer(json_t *rec, void *arg)
{
	return customer_fields(arg, rec);
}

/* POST /v1/customers/{id}. */
static void do_update_customer(struct call *c)
{
	const char *id = mock_req_param(c->req, "id");

	if (check_params(c, customer_params) < 0)
		return;
	if (mock_store_update(c->st->customers, id, op_customer, c) < 0) {
		if (!c->resp->status)
			st_error(c->resp, 404, "invalid_request_error", "resource_missing", "id", NULL,
				 "No such customer: '%.60s'", id);
		return;
	}
	answer_one(c, c->st->customers, "customer");
}

/* DELETE /v1/customers/{id}: {id, object, deleted: true}. */
static void do_delete_customer(struct call *c)
{
	const char *id = mock_req_param(c->req, "id");

	if (check_params(c, no_params) < 0)
		return;
	if (mock_store_del(c->st->customers, id) < 0) {
		st_error(c->resp, 404, "invalid_request_error", "resource_missing", "id", NULL,
			 "No such customer: '%.60s'", id);
		return;
	}
	mock_resp_json(c->resp, 200, json_pack("{s:s,s:s,s:b}", "id", id, "object", "customer", "deleted", 1));
}

/* GET /v1/customers/{id}. */
static void do_retrieve_customer(struct call *c)
{
	get_one(c, c->st->customers, "customer");
}

/* GET /v1/customers: email filters. */
static void do_list_customers(struct call *c)
{
	struct mock_kvlist f = {0};
	const char *email;

	if (check_params(c, (const char *const[]){"limit", "starting_after", "ending_before", "email", "expand",
						  NULL}) < 0 ||
	    str_param(c, "email", false, &email) < 0)
		return;
	if (email)
		mock_kv_add(&f, "email", email);
	list_page(c, c->st->customers, &f, "/v1/customers", "customer", as_is);
	mock_kv_free(&f);
}

/* The fingerprint of a request: method, path and its parameters in a canonical order. */
static void fingerprint(const struct mock_req *req, const json_t *params, char out[65])
{
	char *canon = json_dumps(params, JSON_COMPACT | JSON_SORT_KEYS);
	struct sbx_buf b = {0};

	sbx_buf_printf(&b, "%s %s\n%s", req->method, req->path, canon ? canon : "");
	sbx_sha256_hex(b.data, b.len, out);
	sbx_buf_free(&b);
	free(canon);
}

/* Replay a saved answer, or 400 idempotency_error when the key came with other parameters. */
static void replay(const json_t *saved, const char *fp, const char *key, struct mock_resp *resp)
{
	if (strcmp(field(saved, "fingerprint"), fp) != 0) {
		st_error(resp, 400, "idempotency_error", NULL, NULL, NULL,
			 "Keys for idempotent requests can only be used with the same parameters they were first used "
			 "with. Try using a key other than '%s' if you meant to execute a different request.", key);
		return;
	}
	mock_resp_text(resp, (int)payment_int_of(saved, "status"), "application/json", field(saved, "body"));
	mock_resp_header(resp, "Idempotent-Replayed", "true");
	mock_resp_header(resp, "Original-Request", field(saved, "request_id"));
}

/* Run a POST operation under Idempotency-Key (keys kept 24 hours, at most --max-records, oldest evicted). */
static void idempotent(struct call *c, call_fn fn, const char *request_id)
{
	struct payment *p = c->st->p;
	const char *key = mock_req_header(c->req, "Idempotency-Key");
	char fp[65], *sid;
	json_t *saved;

	if (!key || strcmp(c->req->method, "POST") != 0) {
		fn(c);
		return;
	}
	if (!*key || strlen(key) > 255) {
		st_error(c->resp, 400, "invalid_request_error", NULL, "Idempotency-Key", NULL,
			 "Idempotency-Key must have 1 to 255 characters");
		return;
	}
	fingerprint(c->req, c->params, fp);
	sid = mock_xasprintf("stripe:%s", key);
	pthread_mutex_lock(&p->idem_lock);
	saved = mock_store_get(p->idem, sid);
	if (saved && mock_now_ms() - payment_int_of(saved, "created_ms") > IDEM_MAX_AGE_MS) {
		mock_store_del(p->idem, sid);
		json_decref(saved);
		saved = NULL;
	}
	if (saved) {
		replay(saved, fp, key, c->resp);
	} else {
		fn(c);
		if (c->resp->status < 500)
			mock_store_put(p->idem, json_pack("{s:s,s:s,s:i,s:s%,s:I,s:s}", "id", sid, "fingerprint", fp,
							   "status", c->resp->status, "body",
							   c->resp->body ? c->resp->body : "", c->resp->body_len,
							   "created_ms", (json_int_t)mock_now_ms(), "request_id", request_id));
	}
	pthread_mutex_unlock(&p->idem_lock);
	json_decref(saved);
	free(sid);
}

/* Run one Stripe route: Request-Id, auth and faults (api: not for the mock's own 3-D Secure page),
 * parameters, idempotency, the operation. */
static void run(const struct mock_req *req, struct mock_resp *resp, struct stripe *st, call_fn fn, bool api)
{
	struct call c = {st, req, NULL, resp, NULL, NULL};
	char *rid = mock_id_new("req_", 14);

	mock_resp_header(resp, "Request-Id", rid);
	if ((api && (st_auth(st, req, resp) < 0 || st_faults(st, resp) < 0)) || !(c.params = call_params(req, resp)))
		goto out;
	idempotent(&c, fn, rid);
out:
	json_decref(c.error);
	json_decref(c.params);
	free(rid);
}

/* Route handlers: one per operation. */
#define HANDLER(name, fn, api) \
	static void name(const struct mock_req *req, struct mock_resp *resp, void *arg) \
	{ \
		run(req, resp, arg, fn, api); \
	}

/* POST /v1/payment_intents and the other operations. */
HANDLER(h_create, do_create, true)
/* GET /v1/payment_intents. */
HANDLER(h_list_intents, do_list_intents, true)
/* GET /v1/payment_intents/{id}. */
HANDLER(h_retrieve_intent, do_retrieve_intent, true)
/* POST /v1/payment_intents/{id}. */
HANDLER(h_update, do_update, true)
/* POST /v1/payment_intents/{id}/confirm. */
HANDLER(h_confirm, do_confirm, true)
/* POST /v1/payment_intents/{id}/capture. */
HANDLER(h_capture, do_capture, true)
/* POST /v1/payment_intents/{id}/cancel. */
HANDLER(h_cancel, do_cancel, true)
/* GET|POST /v1/payment_intents/{id}/_complete_3ds. */
HANDLER(h_complete, do_complete, false)
/* POST /v1/refunds. */
HANDLER(h_create_refund, do_create_refund, true)
/* GET /v1/refunds. */
HANDLER(h_list_refunds, do_list_refunds, true)
/* GET /v1/refunds/{id}. */
HANDLER(h_retrieve_refund, do_retrieve_refund, true)
/* POST /v1/customers. */
HANDLER(h_create_customer, do_create_customer, true)
/* GET /v1/customers. */
HANDLER(h_list_customers, do_list_customers, true)
/* GET /v1/customers/{id}. */
HANDLER(h_retrieve_customer, do_retrieve_customer, true)
/* POST /v1/customers/{id}. */
HANDLER(h_update_customer, do_update_customer, true)
/* DELETE /v1/customers/{id}. */
HANDLER(h_delete_customer, do_delete_customer, true)

/* Anything else of the Stripe API: 401 without the key, else 501 naming the operation. */
static void h_unsupported(const struct mock_req *req, struct mock_resp *resp, void *arg)
{
	if (st_auth(arg, req, resp) == 0)
		st_unsupported(req, NULL, resp);
}

/* Register the routes: the shared paths guarded by stripe_request, the Stripe-only ones not. */
static void stripe_routes(struct stripe *st, struct mock_server *srv)
{
	const unsigned f = MOCK_ROUTE_SELF_AUTH;

	mock_server_route(srv, "GET", "/v1/payment_intents/{id}/_complete_3ds", h_complete, st, MOCK_ROUTE_PUBLIC);
	mock_server_route(srv, "POST", "/v1/payment_intents/{id}/_complete_3ds", h_complete, st, MOCK_ROUTE_PUBLIC);
	mock_server_route_when(srv, "POST", "/v1/payment_intents", h_create, st, f, stripe_request);
	mock_server_route_when(srv, "GET", "/v1/payment_intents", h_list_intents, st, f, stripe_request);
	mock_server_route_when(srv, "GET", "/v1/payment_intents/{id}", h_retrieve_intent, st, f, stripe_request);
	mock_server_route_when(srv, "POST", "/v1/payment_intents/{id}", h_update, st, f, stripe_request);
	mock_server_route_when(srv, "POST", "/v1/payment_intents/{id}/confirm", h_confirm, st, f, stripe_request);
	mock_server_route_when(srv, "POST", "/v1/payment_intents/{id}/capture", h_capture, st, f, stripe_request);
	mock_server_route_when(srv, "POST", "/v1/payment_intents/{id}/cancel", h_cancel, st, f, stripe_request);
	mock_server_route(srv, "POST", "/v1/refunds", h_create_refund, st, f);
	mock_server_route(srv, "GET", "/v1/refunds", h_list_refunds, st, f);
	mock_server_route(srv, "GET", "/v1/refunds/{id}", h_retrieve_refund, st, f);
	mock_server_route(srv, "POST", "/v1/customers", h_create_customer, st, f);
	mock_server_route(srv, "GET", "/v1/customers", h_list_customers, st, f);
	mock_server_route(srv, "GET", "/v1/customers/{id}", h_retrieve_customer, st, f);
	mock_server_route(srv, "POST", "/v1/customers/{id}", h_update_customer, st, f);
	mock_server_route(srv, "DELETE", "/v1/customers/{id}", h_delete_customer, st, f);
	mock_server_route(srv, "*", "/v1/refunds/*", h_unsupported, st, f);
	mock_server_route(srv, "*", "/v1/customers/*", h_unsupported, st, f);
	mock_server_route_when(srv, "*", "/v1/*", h_unsupported, st, f, stripe_request);
}

/* Create the Stripe API and register its routes. */
struct stripe *stripe_new(struct payment *p, struct mock_err *e)
{
	struct stripe *st = mock_xcalloc(1, sizeof(*st));
	const struct mock_opts *o = mock_server_opts(p->srv);
	const char *sec = mock_opts_get(o, "stripe-webhook-secret"), *key = mock_opts_get(o, "stripe-api-key");

	st->p = p;
	st->api_key = mock_xstrdup(key && *key ? key : o->api_key);
	st->wh_secret = mock_xstrdup(sec && *sec ? sec : o->webhook_secret);
	st->customers = mock_server_store(p->srv, "customers", e);
	st->refunds = st->customers ? mock_server_store(p->srv, "refunds", e) : NULL;
	if (!st->refunds) {
		stripe_free(st);
		return NULL;
	}
	stripe_routes(st, p->srv);
	return st;
}

/* Free the API. */
void stripe_free(struct stripe *st)
{
	if (!st)
		return;
	if (st->wh_secret)
		OPENSSL_cleanse(st->wh_secret, strlen(st->wh_secret));
	free(st->wh_secret);
	if (st->api_key)
		OPENSSL_cleanse(st->api_key, strlen(st->api_key));
	free(st->api_key);
	free(st);
}
