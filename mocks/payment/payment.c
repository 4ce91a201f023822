/* payment — payment intents, their state machine, idempotency and webhooks. */
#include "payment.h"
#include "payment_int.h"

#include "buf.h"
#include "card.h"
#include "mock_faults.h"
#include "mock_opts.h"
#include "mock_req.h"
#include "mock_server.h"
#include "mock_store.h"
#include "mock_target.h"
#include "mock_util.h"
#include "mock_webhook.h"
#include "sha256.h"
#include "stripe.h"

#include <ctype.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

const struct mock_optdef payment_options[] = {
	{"webhook-url", true, "SBX_MOCK_PAYMENT_WEBHOOK_URL", "URL receiving every event"},
	{"stripe-api-key", true, "SBX_MOCK_PAYMENT_STRIPE_API_KEY",
	 "the key the Stripe API requires (default: --api-key; neither: any key)"},
	{"stripe-webhook-secret", true, "SBX_MOCK_PAYMENT_STRIPE_WEBHOOK_SECRET",
	 "key of the Stripe-Signature of the Stripe API's events (default: --webhook-secret)"},
};
const size_t payment_noptions = MOCK_NELEM(payment_options);

enum op_kind { OP_CONFIRM, OP_CAPTURE, OP_REFUND, OP_CANCEL };

/* A state change of one intent, run under the store's lock. */
struct op {
	enum op_kind kind;
	struct payment *p;
	json_t *body;            /* the request document */
	struct mock_resp *resp;  /* set when the operation answers an error */
	const char *event;       /* webhook event to send, or NULL */
	json_t *decline;         /* the card error to answer 402 with */
};

typedef void (*op_handler)(struct payment *p, const struct mock_req *req, struct mock_resp *resp);

/* Send an event about an intent to the webhook URL. */
static void send_event(struct payment *p, const char *type, const json_t *intent)
{
	char *id;
	json_t *ev;

	if (!p->webhook.url || !type || !intent)
		return;
	id = mock_id_new("evt_", 24);
	ev = json_pack("{s:s,s:s,s:s,s:I,s:{s:O}}", "id", id, "object", "event", "type", type,
		       "created", (json_int_t)(mock_now_ms() / 1000), "data", "object", intent);
	free(mock_webhook_send(mock_server_webhook(p->srv), &p->webhook, type, ev, 0));
	json_decref(ev);
	free(id);
}

/* Set status and updated_at. */
void payment_set_status(json_t *rec, const char *status)
{
	char ts[32];

	mock_fmt_time(mock_now_ms(), ts);
	json_object_set_new(rec, "status", json_string(status));
	json_object_set_new(rec, "updated_at", json_string(ts));
}

/* The status of an intent record. */
static const char *status_of(const json_t *rec)
{
	return json_string_value(json_object_get(rec, "status"));
}

/* An integer field of a record. */
int64_t payment_int_of(const json_t *rec, const char *key)
{
	return json_integer_value(json_object_get(rec, key));
}

/* Answer 400 payment_intent_unexpected_state. */
static int unexpected_state(struct op *op, const json_t *rec, const char *action)
{
	mock_resp_error(op->resp, 400, "payment_intent_unexpected_state",
			"cannot %s a PaymentIntent whose status is %s", action, status_of(rec));
	return -1;
}

/* The card number of a confirm request: "card": "4242..." or {"number": "4242..."}. */
static const char *card_number(const json_t *body)
{
	const json_t *c = json_object_get(body, "card");

	if (json_is_object(c))
		c = json_object_get(c, "number");
	return json_string_value(c);
}

/* Payment succeeded (or became capturable) with this card. */
static int pay(struct op *op, json_t *rec, const char *digits, const char *brand)
{
	bool manual = strcmp(json_string_value(json_object_get(rec, "capture_method")), "manual") == 0;
	int64_t amount = payment_int_of(rec, "amount");

	if (digits)
		json_object_set_new(rec, "payment_method_details",
				    json_pack("{s:{s:s,s:s}}", "card", "brand", brand, "last4",
					      digits + strlen(digits) - 4));
	json_object_set_new(rec, "last_payment_error", json_null());
	json_object_set_new(rec, "next_action", json_null());
	json_object_set_new(rec, manual ? "amount_capturable" : "amount_received",
			    json_integer(amount));
	payment_set_status(rec, manual ? "requires_capture" : "succeeded");
	op->event = manual ? "payment_intent.amount_capturable_updated" : "payment_intent.succeeded";
	return 0;
}

/* The card was declined: record the error, answer 402 after the update. */
static int decline(struct op *op, json_t *rec, const char *code, const char *decline_code,
		   const char *message)
{
	json_t *err = json_pack("{s:s,s:s,s:s?,s:s}", "type", "card_error", "code", code,
				"decline_code", decline_code, "message", message);

	json_object_set_new(rec, "last_payment_error", json_deep_copy(err));
	json_object_set_new(rec, "next_action", json_null());
	payment_set_status(rec, "requires_payment_method");
	op->decline = err;
	op->event = "payment_intent.payment_failed";
	return 0;
}

/* Confirming after 3-D Secure: "three_d_secure": "pass" (default) or "fail". */
static int confirm_3ds(struct op *op, json_t *rec)
{
	const char *r = json_string_value(json_object_get(op->body, "three_d_secure"));

	if (r && strcmp(r, "fail") == 0)
		return decline(op, rec, "authentication_required", "authentication_required",
			       "The customer failed 3-D Secure authentication.");
	return pay(op, rec, NULL, NULL);
}

/* Ask for 3-D Secure. */
static int require_3ds(struct op *op, json_t *rec, const char *digits, const char *brand)
{
	char *url = mock_xasprintf("/v1/payment_intents/%s/confirm",
				   json_string_value(json_object_get(rec, "id")));

	json_object_set_new(rec, "payment_method_details",
			    json_pack("{s:{s:s,s:s}}", "card", "brand", brand, "last4",
				      digits + strlen(digits) - 4));
	json_object_set_new(rec, "next_action",
			    json_pack("{s:s,s:{s:s,s:s}}", "type", "three_d_secure", "three_d_secure",
				      "confirm_url", url, "hint", "POST {\"three_d_secure\": \"pass\"|\"fail\"}"));
	free(url);
	payment_set_status(rec, "requires_action");
	op->event = "payment_intent.requires_action";
	return 0;
}

/* Deterministic per-card failures from /admin/faults. */
static int card_fault(struct op *op, const char *digits)
{
	char *msg = NULL;
	int status;

	if (!mock_faults_target(mock_server_faults(op->p->srv), digits, &status, &msg))
		return 0;
	mock_resp_error(op->resp, status, "injected_fault", "%s", msg);
	free(msg);
	return -1;
}

/* Confirm with a card. */
static int op_confirm(struct op *op, json_t *rec)
{
	const char *st = status_of(rec), *number = card_number(op->body);
	struct card_outcome c;
	char digits[20];

	if (strcmp(st, "requires_action") == 0)
		return confirm_3ds(op, rec);
	if (strcmp(st, "requires_payment_method") != 0 && strcmp(st, "requires_confirmation") != 0)
		return unexpected_state(op, rec, "confirm");
	if (!number) {
		mock_resp_error(op->resp, 400, "missing_field",
				"field \"card\" is required: a card number or {\"number\": ...}");
		return -1;
	}
	c = card_classify(number);
	if (c.result == CARD_INVALID) {
		mock_resp_error(op->resp, 400, "invalid_number", "%s", c.message);
		return -1;
	}
	card_digits(number, digits);
	if (card_fault(op, digits) < 0)
		return -1;
	if (c.result == CARD_DECLINED)
		return decline(op, rec, c.code, c.decline_code, c.message);
	if (c.result == CARD_REQUIRES_3DS)
		return require_3ds(op, rec, digits, c.brand);
	return pay(op, rec, digits, c.brand);
}

/* Read an optional amount field in [1, max]; -1 after a 400. */
static int opt_amount(struct op *op, const char *key, int64_t max, int64_t *amount)
{
	if (max < 1) {
		mock_resp_error(op->resp, 400, "amount_too_large", "nothing left to %s",
				op->kind == OP_REFUND ? "refund" : "capture");
		return -1;
	}
	*amount = max;
	return mock_json_int(op->body, key, false, 1, max, amount, op->resp);
}

/* Capture an authorised amount. */
static int op_capture(struct op *op, json_t *rec)
{
	int64_t amount;

	if (strcmp(status_of(rec), "requires_capture") != 0)
		return unexpected_state(op, rec, "capture");
	if (opt_amount(op, "amount_to_capture", payment_int_of(rec, "amount_capturable"), &amount) < 0)
		return -1;
	json_object_set_new(rec, "amount_received", json_integer(amount));
	json_object_set_new(rec, "amount_capturable", json_integer(0));
	payment_set_status(rec, "succeeded");
	op->event = "payment_intent.succeeded";
	return 0;
}

/* Refund (part of) a succeeded payment. */
static int op_refund(struct op *op, json_t *rec)
{
	int64_t amount, refunded = payment_int_of(rec, "amount_refunded");
	char *id, ts[32];

	if (strcmp(status_of(rec), "succeeded") != 0)
		return unexpected_state(op, rec, "refund");
	if (opt_amount(op, "amount", payment_int_of(rec, "amount_received") - refunded, &amount) < 0)
		return -1;
	id = mock_id_new("re_", 24);
	mock_fmt_time(mock_now_ms(), ts);
	json_array_append_new(json_object_get(rec, "refunds"),
			      json_pack("{s:s,s:I,s:s,s:s}", "id", id, "amount", (json_int_t)amount,
					"status", "succeeded", "created_at", ts));
	free(id);
	json_object_set_new(rec, "amount_refunded", json_integer(refunded + amount));
	json_object_set_new(rec, "updated_at", json_string(ts));
	op->event = "charge.refunded";
	return 0;
}

/* Cancel an unfinished payment. */
static int op_cancel(struct op *op, json_t *rec)
{
	const char *st = status_of(rec);

	if (strcmp(st, "succeeded") == 0 || strcmp(st, "canceled") == 0)
		return unexpected_state(op, rec, "cancel");
	json_object_set_new(rec, "amount_capturable", json_integer(0));
	json_object_set_new(rec, "next_action", json_null());
	payment_set_status(rec, "canceled");
	op->event = "payment_intent.canceled";
	return 0;
}

/* Run an operation on the record (under the store's lock). */
static int op_apply(json_t *rec, void *arg)
{
	struct op *op = arg;

	switch (op->kind) {
	case OP_CONFIRM: return op_confirm(op, rec);
	case OP_CAPTURE: return op_capture(op, rec);
	case OP_REFUND: return op_refund(op, rec);
	case OP_CANCEL: return op_cancel(op, rec);
	}
	return -1;
}

/* The request document of an operation: {} when the body is empty. */
static json_t *op_body(const struct mock_req *req, struct mock_resp *resp)
{
	return req->body_len == 0 ? json_object() : mock_req_json(req, resp);
}

/* Answer a card decline: 402 with the error and the intent. */
static void answer_decline(struct mock_resp *resp, json_t *err, json_t *intent)
{
	json_t *e = json_deep_copy(err);

	json_object_set_new(e, "payment_intent", intent);
	mock_resp_json(resp, 402, json_pack("{s:o}", "error", e));
}

/* POST /v1/payment_intents/{id}/<op>. */
static void run_op(struct payment *p, enum op_kind kind, const struct mock_req *req,
		   struct mock_resp *resp)
{
	const char *id = mock_req_param(req, "id");
	struct op op = {kind, p, op_body(req, resp), resp, NULL, NULL};
	json_t *intent;

	if (!op.body)
		return;
	if (mock_store_update(p->intents, id, op_apply, &op) < 0) {
		if (!resp->status)
			mock_resp_error(resp, 404, "resource_missing", "no such payment_intent: \"%s\"", id);
		goto out;
	}
	intent = mock_store_get(p->intents, id);
	send_event(p, op.event, intent);
	if (op.decline)
		answer_decline(resp, op.decline, intent);
	else
		mock_resp_json(resp, 200, intent);
out:
	json_decref(op.decline);
	json_decref(op.body);
}

/* Check a currency code and lowercase it into out; -1 after a 400. */
static int check_currency(const char *cur, char out[4], struct mock_resp *resp)
{
	if (strlen(cur) != 3 || !isalpha((unsigned char)cur[0]) || !isalpha((unsigned char)cur[1]) ||
	    !isalpha((unsigned char)cur[2])) {
		mock_resp_error(resp, 400, "invalid_currency", "\"currency\" must be a three-letter ISO code");
		return -1;
	}
	for (int i = 0; i < 3; i++)
		out[i] = (char)tolower((unsigned char)cur[i]);
	out[3] = '\0';
	return 0;
}

/* Check the optional fields of a new intent; -1 after a 400. */
static int check_create(json_t *doc, const char **capture, struct mock_resp *resp)
{
	const char *desc;
	json_t *meta = json_object_get(doc, "metadata");

	if (mock_json_str(doc, "capture_method", false, capture, resp) < 0 ||
	    mock_json_str(doc, "description", false, &desc, resp) < 0)
		return -1;
	if (!*capture)
		*capture = "automatic";
	if (strcmp(*capture, "automatic") != 0 && strcmp(*capture, "manual") != 0) {
		mock_resp_error(resp, 400, "invalid_field", "\"capture_method\" must be automatic or manual");
		return -1;
	}
	if (meta && !json_is_object(meta) && !json_is_null(meta)) {
		mock_resp_error(resp, 400, "invalid_field", "\"metadata\" must be an object");
		return -1;
	}
	return 0;
}

/* A new intent record. */
static json_t *intent_new(json_t *doc, int64_t amount, const char *currency, const char *capture)
{
	char *id = mock_id_new("pi_", 24), *secret = mock_id_new("_secret_", 24), ts[32];
	json_t *meta = json_object_get(doc, "metadata");
	json_t *rec;

	mock_fmt_time(mock_now_ms(), ts);
	rec = json_pack("{s:s,s:s,s:I,s:s,s:s,s:s,s:I,s:I,s:I,s:O?,s:o,s:n,s:n,s:n,s:[],s:s+,s:I,s:s,s:s}",
			"id", id, "object", "payment_intent", "amount", (json_int_t)amount, "currency",
			currency, "status", "requires_payment_method", "capture_method", capture,
			"amount_capturable", (json_int_t)0, "amount_received", (json_int_t)0,
			"amount_refunded", (json_int_t)0, "description", json_object_get(doc, "description"),
			"metadata", json_is_object(meta) ? json_deep_copy(meta) : json_object(),
			"payment_method_details", "last_payment_error", "next_action", "refunds",
			"client_secret", id, secret, "created", (json_int_t)(mock_now_ms() / 1000),
			"created_at", ts, "updated_at", ts);
	free(id);
	free(secret);
	return rec;
}

/* POST /v1/payment_intents. */
static void op_create(struct payment *p, const struct mock_req *req, struct mock_resp *resp)
{
	json_t *doc = mock_req_json(req, resp), *rec;
	int64_t amount;
	const char *cur, *capture;
	char currency[4];

	if (!doc)
		return;
	if (mock_json_int(doc, "amount", true, 1, 99999999, &amount, resp) < 0 ||
	    mock_json_str(doc, "currency", true, &cur, resp) < 0 ||
	    check_currency(cur, currency, resp) < 0 || check_create(doc, &capture, resp) < 0)
		goto out;
	rec = intent_new(doc, amount, currency, capture);
	mock_store_put(p->intents, json_deep_copy(rec));
	send_event(p, "payment_intent.created", rec);
	mock_resp_json(resp, 200, rec);
out:
	json_decref(doc);
}

/* The fingerprint of a request: method, path and canonical JSON body. */
static void fingerprint(const struct mock_req *req, char out[65])
{
	json_t *doc = json_loadb(req->body, req->body_len, 0, NULL);
	char *canon = doc ? json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY) : NULL;
	struct sbx_buf b = {0};

	sbx_buf_printf(&b, "%s %s\n", req->method, req->path);
	if (canon)
		sbx_buf_puts(&b, canon);
	else
		sbx_buf_add(&b, req->body, req->body_len);
	sbx_sha256_hex(b.data, b.len, out);
	sbx_buf_free(&b);
	free(canon);
	json_decref(doc);
}

/* Replay a saved answer, or 409 when the key came with another request. */
static void replay(const json_t *saved, const char *fp, struct mock_resp *resp)
{
	if (strcmp(json_string_value(json_object_get(saved, "fingerprint")), fp) != 0) {
		mock_resp_error(resp, 409, "idempotency_key_in_use",
				"this Idempotency-Key was used with a different request");
		return;
	}
	mock_resp_text(resp, (int)payment_int_of(saved, "status"), "application/json",
		       json_string_value(json_object_get(saved, "body")));
	mock_resp_header(resp, "Idempotent-Replayed", "true");
}

/* Save an answer under its key (5xx answers are not saved: a retry may succeed). */
static void remember(struct payment *p, const char *key, const char *fp, const struct mock_resp *resp)
{
	char ts[32];

	if (resp->status >= 500)
		return;
	mock_fmt_time(mock_now_ms(), ts);
	mock_store_put(p->idem, json_pack("{s:s,s:s,s:i,s:s%,s:s}", "id", key, "fingerprint", fp,
					   "status", resp->status, "body", resp->body ? resp->body : "",
					   resp->body_len, "created_at", ts));
}

/* Run a POST handler under Idempotency-Key semantics. */
static void idempotent(struct payment *p, const struct mock_req *req, struct mock_resp *resp,
		       op_handler fn)
{
	const char *key = mock_req_header(req, "Idempotency-Key");
	char fp[65];
	json_t *saved;

	if (!key) {
		fn(p, req, resp);
		return;
	}
	if (!*key || strlen(key) > 255) {
		mock_resp_error(resp, 400, "invalid_idempotency_key", "Idempotency-Key must have 1 to 255 characters");
		return;
	}
	fingerprint(req, fp);
	pthread_mutex_lock(&p->idem_lock);
	saved = mock_store_get(p->idem, key);
	if (saved) {
		replay(saved, fp, resp);
	} else {
		fn(p, req, resp);
		remember(p, key, fp, resp);
	}
	pthread_mutex_unlock(&p->idem_lock);
	json_decref(saved);
}

/* The operation handlers, one per route. */
static void do_confirm(struct payment *p, const struct mock_req *req, struct mock_resp *resp)
{
	run_op(p, OP_CONFIRM, req, resp);
}

/* Capture. */
static void do_capture(struct payment *p, const struct mock_req *req, struct mock_resp *resp)
{
	run_op(p, OP_CAPTURE, req, resp);
}

/* Refund. */
static void do_refund(struct payment *p, const struct mock_req *req, struct mock_resp *resp)
{
	run_op(p, OP_REFUND, req, resp);
}

/* Cancel. */
static void do_cancel(struct payment *p, const struct mock_req *req, struct mock_resp *resp)
{
	run_op(p, OP_CANCEL, req, resp);
}

/* Route entry points. */
static void h_create(const struct mock_req *req, struct mock_resp *resp, void *arg)
{
	idempotent(arg, req, resp, op_create);
}

/* POST .../confirm. */
static void h_confirm(const struct mock_req *req, struct mock_resp *resp, void *arg)
{
	idempotent(arg, req, resp, do_confirm);
}

/* POST .../capture. */
static void h_capture(const struct mock_req *req, struct mock_resp *resp, void *arg)
{
	idempotent(arg, req, resp, do_capture);
}

/* POST .../refund. */
static void h_refund(const struct mock_req *req, struct mock_resp *resp, void *arg)
{
	idempotent(arg, req, resp, do_refund);
}

/* POST .../cancel. */
static void h_cancel(const struct mock_req *req, struct mock_resp *resp, void *arg)
{
	idempotent(arg, req, resp, do_cancel);
}

/* Register the routes. */
static void payment_routes(struct payment *p, struct mock_store *log)
{
	struct mock_server *srv = p->srv;

	mock_server_route(srv, "POST", "/v1/payment_intents", h_create, p, MOCK_ROUTE_FAULTS);
	mock_server_route(srv, "POST", "/v1/payment_intents/{id}/confirm", h_confirm, p, MOCK_ROUTE_FAULTS);
	mock_server_route(srv, "POST", "/v1/payment_intents/{id}/capture", h_capture, p, MOCK_ROUTE_FAULTS);
	mock_server_route(srv, "POST", "/v1/payment_intents/{id}/refund", h_refund, p, MOCK_ROUTE_FAULTS);
	mock_server_route(srv, "POST", "/v1/payment_intents/{id}/cancel", h_cancel, p, MOCK_ROUTE_FAULTS);
	mock_server_inspect(srv, "/v1/payment_intents", p->intents, MOCK_INSPECT_ALL);
	mock_server_inspect(srv, "/v1/webhook_deliveries", log,
			    MOCK_INSPECT_LIST | MOCK_INSPECT_GET | MOCK_INSPECT_WAIT);
}

/* Create the payment domain. */
struct payment *payment_new(struct mock_server *srv, struct mock_err *e)
{
	struct payment *p = mock_xcalloc(1, sizeof(*p));
	const char *url = mock_opts_get(mock_server_opts(srv), "webhook-url");
	struct mock_store *log;
	struct mock_err why;

	pthread_mutex_init(&p->idem_lock, NULL);
	p->srv = srv;
	if (url && !mock_is_http_url(url)) {
		mock_err_set(e, "--webhook-url: expected an http(s) URL");
		goto fail;
	}
	if (url && mock_webhook_configured(mock_server_webhook(srv), url, &p->webhook, &why) < 0) {
		mock_err_set(e, "--webhook-url: %s", why.msg);
		goto fail;
	}
	p->intents = mock_server_store(srv, "payment_intents", e);
	p->idem = p->intents ? mock_server_store(srv, "idempotency_keys", e) : NULL;
	log = p->idem ? mock_server_store(srv, "webhook_deliveries", e) : NULL;
	if (!log)
		goto fail;
	p->stripe = stripe_new(p, e); /* first: its routes are tried before the JSON API's */
	if (!p->stripe)
		goto fail;
	payment_routes(p, log);
	return p;
fail:
	payment_free(p);
	return NULL;
}

/* Free the domain (the stores belong to the server). */
void payment_free(struct payment *p)
{
	if (!p)
		return;
	stripe_free(p->stripe);
	pthread_mutex_destroy(&p->idem_lock);
	mock_target_clear(&p->webhook);
	free(p);
}
