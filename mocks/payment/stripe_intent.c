/* stripe_intent — Stripe PaymentIntents: create, retrieve, update, confirm (test payment methods,
 * 3-D Secure), capture, cancel, list. */
#include "stripe_int.h"

#include "mock_faults.h"
#include "mock_kv.h"
#include "payment_int.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

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

/* The URL that completes 3-D Secure for an intent (absolute when the request named its Host). */
static char *complete_url(const struct mock_req *req, const char *id)
{
	const char *host = mock_req_header(req, "Host");

	if (host && strspn(host, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:[]") == strlen(host))
		return mock_xasprintf("http://%s/v1/payment_intents/%s/_complete_3ds", host, id);
	return mock_xasprintf("/v1/payment_intents/%s/_complete_3ds", id);
}

/* The payment went through: succeeded, or requires_capture with capture_method manual. */
static void pay(struct stripe_call *c, json_t *rec)
{
	bool manual = strcmp(stripe_field(rec, "capture_method"), "manual") == 0;
	int64_t amount = payment_int_of(rec, "amount");
	char *ch = mock_xasprintf("ch_%s", stripe_field(rec, "id") + 3);

	json_object_set_new(rec, "last_payment_error", json_null());
	json_object_set_new(rec, "next_action", json_null());
	json_object_set_new(rec, "latest_charge", json_string(ch));
	json_object_set_new(rec, manual ? "amount_capturable" : "amount_received", json_integer(amount));
	payment_set_status(rec, manual ? "requires_capture" : "succeeded");
	c->event = manual ? "payment_intent.amount_capturable_updated" : "payment_intent.succeeded";
	free(ch);
}

/* The card was declined: the intent keeps the error and needs a new payment method; 402 after. */
static void decline(struct stripe_call *c, json_t *rec, const struct stripe_test_pm *pm)
{
	json_t *err = json_pack("{s:s,s:s,s:s,s:s,s:s,s:{s:s,s:s,s:s,s:{s:s,s:s}}}", "type", "card_error", "code",
				pm->code, "decline_code", pm->decline_code, "message", pm->message, "doc_url",
				STRIPE_DOCS "card-declined", "payment_method", "id", pm->id, "object", "payment_method", "type",
				"card", "card", "brand", pm->brand, "last4", pm->last4);

	json_object_set_new(rec, "last_payment_error", json_deep_copy(err));
	json_object_set_new(rec, "next_action", json_null());
	json_object_set_new(rec, "payment_method", json_null());
	payment_set_status(rec, "requires_payment_method");
	c->error = err;
	c->event = "payment_intent.payment_failed";
}

/* Ask for 3-D Secure: requires_action with a next_action leading to _complete_3ds. */
static void require_3ds(struct stripe_call *c, json_t *rec)
{
	char *url = complete_url(c->req, stripe_field(rec, "id"));
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
static int unexpected(struct stripe_call *c, const json_t *rec, const char *action, const char *allowed)
{
	stripe_error(c->resp, 400, "invalid_request_error", "payment_intent_unexpected_state", NULL,
		     json_pack("{s:o}", "payment_intent", intent_view(rec)),
		     "You cannot %s this PaymentIntent because it has a status of %s. Only a PaymentIntent with one of "
		     "the following statuses may be %s: %s.", action, stripe_field(rec, "status"),
		     strcmp(action, "capture") == 0 ? "captured" : strcmp(action, "cancel") == 0 ? "canceled" : "confirmed",
		     allowed);
	return -1;
}

/* The payment method of a confirm (the parameter, else the intent's): its test card; NULL after a 400. */
static const struct stripe_test_pm *confirm_pm(struct stripe_call *c, json_t *rec)
{
	const char *id = json_string_value(json_object_get(c->params, "payment_method"));
	const struct stripe_test_pm *pm;

	if (!id || !*id)
		id = json_string_value(json_object_get(rec, "payment_method"));
	if (!id) {
		stripe_bad_param(c, "payment_intent_unexpected_state", "payment_method",
				 "You cannot confirm this PaymentIntent because it's missing a payment method. Update the "
				 "PaymentIntent with a payment_method and then confirm it again.");
		return NULL;
	}
	pm = stripe_pm_find(id);
	if (!pm)
		stripe_error(c->resp, 400, "invalid_request_error", "resource_missing", "payment_method", NULL,
			     "No such PaymentMethod: '%.60s'", id);
	return pm;
}

/* Confirm (under the store's lock): the test card decides. */
static int op_confirm(json_t *rec, void *arg)
{
	struct stripe_call *c = arg;
	const char *st = stripe_field(rec, "status"), *ret;
	const struct stripe_test_pm *pm;
	char *msg = NULL;
	int status;

	if (strcmp(st, "requires_action") == 0) { /* confirming again completes 3-D Secure */
		pay(c, rec);
		return 0;
	}
	if (strcmp(st, "requires_payment_method") != 0 && strcmp(st, "requires_confirmation") != 0)
		return unexpected(c, rec, "confirm", "requires_confirmation, requires_payment_method, requires_action");
	if (!(pm = confirm_pm(c, rec)) || stripe_param_str(c, "return_url", false, &ret) < 0)
		return -1;
	if (mock_faults_target(mock_server_faults(c->st->p->srv), pm->id, &status, &msg)) {
		stripe_error(c->resp, status, "api_error", NULL, NULL, NULL, "%s", msg);
		free(msg);
		return -1;
	}
	if (ret)
		json_object_set_new(rec, "return_url", json_string(ret));
	if (stripe_strings_copy(c, rec, (const char *const[]){"receipt_email", NULL}) < 0)
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
	struct stripe_call *c = arg;
	const char *outcome;

	if (strcmp(stripe_field(rec, "status"), "requires_action") != 0)
		return unexpected(c, rec, "confirm", "requires_action");
	if (stripe_param_enum(c, "outcome", (const char *const[]){"pass", "fail", NULL}, &outcome) < 0)
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
				      "PaymentIntent again.", "doc_url", STRIPE_DOCS "payment_intent_authentication_failure"));
	json_object_set_new(rec, "next_action", json_null());
	json_object_set_new(rec, "payment_method", json_null());
	payment_set_status(rec, "requires_payment_method");
	c->event = "payment_intent.payment_failed";
	return 0;
}

/* Capture an authorised amount (amount_to_capture: at most what is capturable). */
static int op_capture(json_t *rec, void *arg)
{
	struct stripe_call *c = arg;
	int64_t amount = payment_int_of(rec, "amount_capturable");

	if (strcmp(stripe_field(rec, "status"), "requires_capture") != 0)
		return unexpected(c, rec, "capture", "requires_capture");
	if (stripe_param_int(c, "amount_to_capture", false, 1, amount, &amount) < 0 || stripe_metadata_apply(c, rec) < 0)
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
	struct stripe_call *c = arg;
	const char *st = stripe_field(rec, "status"), *reason;

	if (strcmp(st, "succeeded") == 0 || strcmp(st, "canceled") == 0 || strcmp(st, "processing") == 0)
		return unexpected(c, rec, "cancel",
				  "requires_payment_method, requires_capture, requires_confirmation, requires_action");
	if (stripe_param_enum(c, "cancellation_reason", reasons, &reason) < 0)
		return -1;
	json_object_set_new(rec, "amount_capturable", json_integer(0));
	json_object_set_new(rec, "next_action", json_null());
	json_object_set_new(rec, "canceled_at", stripe_now());
	json_object_set_new(rec, "cancellation_reason", reason ? json_string(reason) : json_null());
	payment_set_status(rec, "canceled");
	c->event = "payment_intent.canceled";
	return 0;
}

/* Check a currency parameter and set it lowercased on obj; -1 after a 400. */
static int set_currency(struct stripe_call *c, json_t *obj, bool required)
{
	const char *cur;
	char low[4];

	if (stripe_param_str(c, "currency", required, &cur) < 0)
		return -1;
	if (!cur)
		return 0;
	if (strlen(cur) != 3 || !isalpha((unsigned char)cur[0]) || !isalpha((unsigned char)cur[1]) ||
	    !isalpha((unsigned char)cur[2])) {
		stripe_bad_param(c, "parameter_invalid_string", "currency", "Invalid currency: %.20s", cur);
		return -1;
	}
	for (int i = 0; i < 4; i++)
		low[i] = (char)tolower((unsigned char)cur[i]);
	json_object_set_new(obj, "currency", json_string(low));
	return 0;
}

/* Check the references (payment_method, customer) and the card-only types; -1 after the answer. */
static int check_refs(struct stripe_call *c, json_t *obj)
{
	const char *pm, *cus;
	json_t *types = json_object_get(c->params, "payment_method_types"), *t, *rec;
	size_t i;
	bool gone;

	if (stripe_param_str(c, "payment_method", false, &pm) < 0 || stripe_param_str(c, "customer", false, &cus) < 0)
		return -1;
	if (pm && *pm && !stripe_pm_find(pm)) {
		stripe_error(c->resp, 400, "invalid_request_error", "resource_missing", "payment_method", NULL,
			     "No such PaymentMethod: '%.60s'", pm);
		return -1;
	}
	if (cus && *cus) {
		rec = mock_store_get(c->st->customers, cus);
		gone = !rec || json_is_true(json_object_get(rec, "deleted"));
		json_decref(rec);
		if (gone) {
			stripe_error(c->resp, 400, "invalid_request_error", "resource_missing", "customer", NULL,
				     "No such customer: '%.60s'", cus);
			return -1;
		}
	}
	if (types && !json_is_array(types)) {
		stripe_bad_param(c, "parameter_invalid_string", "payment_method_types", "Invalid array");
		return -1;
	}
	json_array_foreach(types, i, t) {
		if (!json_is_string(t) || strcmp(json_string_value(t), "card") != 0) {
			stripe_unsupported(c->req, "payment_method_types (other than card)", c->resp);
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
	struct stripe_call *c = arg;
	const char *st = stripe_field(rec, "status"), *capture;
	bool open = strcmp(st, "requires_payment_method") == 0 || strcmp(st, "requires_confirmation") == 0 ||
		    strcmp(st, "requires_action") == 0;
	int64_t amount = -1;
	bool money = json_object_get(c->params, "amount") || json_object_get(c->params, "currency") ||
		     json_object_get(c->params, "payment_method") || json_object_get(c->params, "capture_method");

	if (money && !open)
		return unexpected(c, rec, "update", "requires_payment_method, requires_confirmation, requires_action");
	if (stripe_param_int(c, "amount", false, 1, 99999999, &amount) < 0 || set_currency(c, rec, false) < 0 ||
	    stripe_param_enum(c, "capture_method", captures, &capture) < 0 || check_refs(c, rec) < 0 ||
	    stripe_metadata_apply(c, rec) < 0 || stripe_strings_copy(c, rec, (const char *const[]){"description", "receipt_email", NULL}) < 0)
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
static void answer_intent(struct stripe_call *c, const char *id)
{
	json_t *rec = mock_store_get(c->st->p->intents, id), *view;

	if (!rec) { /* deleted meanwhile */
		stripe_error(c->resp, 404, "invalid_request_error", "resource_missing", "intent", NULL,
			     "No such payment_intent: '%.60s'", id);
		return;
	}
	view = intent_view(rec);
	stripe_event_send(c->st, c->req, c->event, view);
	if (c->error) {
		json_object_set_new(c->error, "payment_intent", json_incref(view));
		stripe_error(c->resp, 402, "card_error", stripe_field(c->error, "code"), NULL, c->error, "%s",
			     stripe_field(c->error, "message"));
		c->error = NULL;
	} else {
		mock_resp_json(c->resp, 200, json_incref(view));
	}
	json_decref(view);
	json_decref(rec);
}

/* Run an operation on the intent of the path. */
static void intent_op(struct stripe_call *c, int (*fn)(json_t *rec, void *arg))
{
	const char *id = mock_req_param(c->req, "id");

	if (mock_store_update(c->st->p->intents, id, fn, c) < 0) {
		if (!c->resp->status)
			stripe_error(c->resp, 404, "invalid_request_error", "resource_missing", "intent", NULL,
				     "No such payment_intent: '%.60s'", id);
		return;
	}
	answer_intent(c, id);
}

/* POST /v1/payment_intents. */
static void do_create(struct stripe_call *c)
{
	static const char *const captures[] = {"automatic", "automatic_async", "manual", NULL};
	char *id = mock_id_new("pi_", 24), *secret = mock_id_new("_secret_", 24), ts[32];
	json_t *rec = json_object(), *ape = json_object_get(c->params, "automatic_payment_methods");
	const char *capture, *ret;
	int64_t amount;
	bool confirm;

	mock_fmt_time(mock_now_ms(), ts);
	if (stripe_params_check(c, create_params) < 0 || stripe_param_int(c, "amount", true, 1, 99999999, &amount) < 0 ||
	    set_currency(c, rec, true) < 0 || stripe_param_enum(c, "capture_method", captures, &capture) < 0 ||
	    stripe_param_bool(c, "confirm", &confirm) < 0 || stripe_param_str(c, "return_url", false, &ret) < 0 ||
	    (ape && !json_is_object(ape) && (stripe_bad_param(c, "parameter_invalid_string", "automatic_payment_methods",
							      "Invalid hash"), 1)))
		goto out;
	json_object_set_new(rec, "id", json_string(id));
	json_object_set_new(rec, "object", json_string("payment_intent"));
	json_object_set_new(rec, "amount", json_integer(amount));
	json_object_set_new(rec, "amount_capturable", json_integer(0));
	json_object_set_new(rec, "amount_received", json_integer(0));
	json_object_set_new(rec, "capture_method", json_string(capture ? capture : "automatic"));
	json_object_set_new(rec, "client_secret", json_sprintf("%s%s", id, secret));
	json_object_set_new(rec, "created", stripe_now());
	json_object_set_new(rec, "metadata", json_object());
	json_object_set_new(rec, "last_payment_error", json_null());
	json_object_set_new(rec, "next_action", json_null());
	json_object_set_new(rec, "livemode", json_false());
	json_object_set_new(rec, "payment_method_types", json_pack("[s]", "card"));
	if (ape)
		json_object_set_new(rec, "automatic_payment_methods",
				    json_pack("{s:b}", "enabled", strcmp(stripe_field(ape, "enabled"), "true") == 0));
	if (check_refs(c, rec) < 0 || stripe_metadata_apply(c, rec) < 0 ||
	    stripe_strings_copy(c, rec, (const char *const[]){"description", "receipt_email", NULL}) < 0)
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
		stripe_bad_param(c, "payment_intent_unexpected_state", "payment_method",
				 "You cannot confirm this PaymentIntent because it's missing a payment method.");
		goto out;
	}
	mock_store_put(c->st->p->intents, json_incref(rec));
	c->event = "payment_intent.created";
	{
		json_t *view = intent_view(rec);
		stripe_event_send(c->st, c->req, c->event, view);
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
static void do_update(struct stripe_call *c)
{
	if (stripe_params_check(c, update_params) == 0)
		intent_op(c, op_update);
}

/* POST /v1/payment_intents/{id}/confirm. */
static void do_confirm(struct stripe_call *c)
{
	if (stripe_params_check(c, confirm_params) == 0)
		intent_op(c, op_confirm);
}

/* POST /v1/payment_intents/{id}/capture. */
static void do_capture(struct stripe_call *c)
{
	if (stripe_params_check(c, capture_params) == 0)
		intent_op(c, op_capture);
}

/* POST /v1/payment_intents/{id}/cancel. */
static void do_cancel(struct stripe_call *c)
{
	if (stripe_params_check(c, cancel_params) == 0)
		intent_op(c, op_cancel);
}

/* GET|POST /v1/payment_intents/{id}/_complete_3ds. */
static void do_complete(struct stripe_call *c)
{
	if (stripe_params_check(c, complete_params) == 0)
		intent_op(c, op_complete);
}

/* GET /v1/payment_intents/{id}. */
static void do_retrieve_intent(struct stripe_call *c)
{
	const char *id = mock_req_param(c->req, "id");
	json_t *rec;

	if (stripe_params_check(c, (const char *const[]){"expand", "client_secret", NULL}) < 0)
		return;
	rec = mock_store_get(c->st->p->intents, id);
	if (!rec) {
		stripe_error(c->resp, 404, "invalid_request_error", "resource_missing", "intent", NULL,
			     "No such payment_intent: '%.60s'", id);
		return;
	}
	mock_resp_json(c->resp, 200, intent_view(rec));
	json_decref(rec);
}

/* GET /v1/payment_intents: customer filters. */
static void do_list_intents(struct stripe_call *c)
{
	struct mock_kvlist f = {0};
	const char *cus;

	if (stripe_params_check(c, (const char *const[]){"limit", "starting_after", "ending_before", "customer", "expand", NULL}) < 0 ||
	    stripe_param_str(c, "customer", false, &cus) < 0)
		return;
	if (cus)
		mock_kv_add(&f, "customer", cus);
	stripe_list_page(c, c->st->p->intents, &f, "/v1/payment_intents", "payment_intent", intent_view);
	mock_kv_free(&f);
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

/* Register the PaymentIntents routes (on the paths the JSON API shares, only for stripe_request). */
void stripe_intent_routes(struct stripe *st, struct mock_server *srv)
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
}
