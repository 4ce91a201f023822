/* stripe_refund — Stripe Refunds of a PaymentIntent: create, retrieve, list. */
#include "stripe_int.h"

#include "mock_kv.h"
#include "payment_int.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char *const refund_params[] = {"payment_intent", "amount", "reason", "metadata", "expand", NULL};

/* Keep the Charge after a refund, and the fields it changed, for charge.refunded (in the call's parameters). */
static void charge_refunded(struct stripe_call *c, const json_t *rec, bool full)
{
	json_t *ch = stripe_charge_view(rec), *prev = json_object();

	json_object_set_new(prev, "amount_refunded", json_integer(payment_int_of(rec, "amount_refunded") -
								  payment_int_of(json_object_get(c->params, "_refund"),
										 "amount")));
	if (full)
		json_object_set_new(prev, "refunded", json_false());
	json_object_set_new(c->params, "_charge", ch);
	json_object_set_new(c->params, "_charge_prev", prev);
}

/* Make a refund (under the intent's lock): checks the amount left, records it on the intent. */
static int op_refund(json_t *rec, void *arg)
{
	struct stripe_call *c = arg;
	int64_t left = payment_int_of(rec, "amount_received") - payment_int_of(rec, "amount_refunded"), amount = left;
	json_t *r = json_object_get(c->params, "_refund");
	char ts[32];

	if (strcmp(stripe_field(rec, "status"), "succeeded") != 0 || left < 1) {
		stripe_error(c->resp, 400, "invalid_request_error", "charge_already_refunded", "payment_intent", NULL,
			     left < 1 && strcmp(stripe_field(rec, "status"), "succeeded") == 0
			     ? "Charge %s has already been refunded." : "This PaymentIntent (%s) does not have a successful charge to refund.",
			     stripe_field(rec, "id"));
		return -1;
	}
	if (stripe_param_int(c, "amount", false, 1, INT64_MAX, &amount) < 0)
		return -1;
	if (amount > left) {
		stripe_bad_param(c, "amount_too_large", "amount",
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
	charge_refunded(c, rec, amount == left);
	return 0;
}

/* POST /v1/refunds. */
static void do_create_refund(struct stripe_call *c)
{
	static const char *const reasons[] = {"duplicate", "fraudulent", "requested_by_customer", NULL};
	const char *pi, *reason;
	char *id = mock_id_new("re_", 24);
	json_t *r = json_pack("{s:s,s:s,s:n,s:o,s:n,s:n,s:n,s:s}", "id", id, "object", "refund",
			      "balance_transaction", "created", stripe_now(), "destination_details", "reason",
			      "receipt_number", "status", "succeeded");

	if (stripe_params_check(c, refund_params) < 0 || stripe_param_str(c, "payment_intent", true, &pi) < 0 ||
	    stripe_param_enum(c, "reason", reasons, &reason) < 0 || stripe_metadata_apply(c, r) < 0)
		goto out;
	if (!json_object_get(r, "metadata"))
		json_object_set_new(r, "metadata", json_object());
	json_object_set_new(r, "payment_intent", json_string(pi));
	if (reason)
		json_object_set_new(r, "reason", json_string(reason));
	json_object_set(c->params, "_refund", r);
	if (mock_store_update(c->st->p->intents, pi, op_refund, c) < 0) {
		if (!c->resp->status)
			stripe_error(c->resp, 400, "invalid_request_error", "resource_missing", "payment_intent", NULL,
				     "No such payment_intent: '%.60s'", pi);
		goto out;
	}
	mock_store_put(c->st->refunds, json_deep_copy(r));
	stripe_event_send(c->st, c->req, "refund.created", r);
	stripe_event_send_changed(c->st, c->req, "charge.refunded", json_object_get(c->params, "_charge"),
				  json_object_get(c->params, "_charge_prev"));
	mock_resp_json(c->resp, 200, json_incref(r));
out:
	json_decref(r);
	free(id);
}

/* GET /v1/refunds/{id}. */
static void do_retrieve_refund(struct stripe_call *c)
{
	stripe_get_one(c, c->st->refunds, "refund");
}

/* GET /v1/refunds: payment_intent filters. */
static void do_list_refunds(struct stripe_call *c)
{
	struct mock_kvlist f = {0};
	const char *pi;

	if (stripe_params_check(c, (const char *const[]){"limit", "starting_after", "ending_before", "payment_intent",
						  "expand", NULL}) < 0 ||
	    stripe_param_str(c, "payment_intent", false, &pi) < 0)
		return;
	if (pi)
		mock_kv_add(&f, "payment_intent", pi);
	stripe_list_page(c, c->st->refunds, &f, "/v1/refunds", "refund", stripe_as_is);
	mock_kv_free(&f);
}

/* POST /v1/refunds. */
HANDLER(h_create_refund, do_create_refund, true)

/* GET /v1/refunds. */
HANDLER(h_list_refunds, do_list_refunds, true)

/* GET /v1/refunds/{id}. */
HANDLER(h_retrieve_refund, do_retrieve_refund, true)

/* Register the Refunds routes. */
void stripe_refund_routes(struct stripe *st, struct mock_server *srv)
{
	const unsigned f = MOCK_ROUTE_SELF_AUTH;

	mock_server_route(srv, "POST", "/v1/refunds", h_create_refund, st, f);
	mock_server_route(srv, "GET", "/v1/refunds", h_list_refunds, st, f);
	mock_server_route(srv, "GET", "/v1/refunds/{id}", h_retrieve_refund, st, f);
}
