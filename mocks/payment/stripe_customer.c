/* stripe_customer — Stripe Customers: create, retrieve, update, delete, list. */
#include "stripe_int.h"

#include "mock_kv.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

static const char *const customer_params[] = {"email", "name", "phone", "description", "metadata", "expand",
					      NULL};

/* Set a customer's fields from the parameters; -1 after a 400. */
static int customer_fields(struct stripe_call *c, json_t *cus)
{
	return stripe_metadata_apply(c, cus) < 0 ||
	       stripe_strings_copy(c, cus, (const char *const[]){"email", "name", "phone", "description", NULL}) < 0 ? -1 : 0;
}

/* POST /v1/customers. */
static void do_create_customer(struct stripe_call *c)
{
	char *id = mock_id_new("cus_", 14), prefix[9];
	json_t *cus;

	snprintf(prefix, sizeof(prefix), "%.8s", id + 4);
	for (char *p = prefix; *p; p++)
		*p = (char)toupper((unsigned char)*p);
	cus = json_pack("{s:s,s:s,s:n,s:i,s:o,s:n,s:n,s:b,s:n,s:n,s:s,s:b,s:o,s:n,s:n,s:[],s:s}", "id", id, "object",
			"customer", "address", "balance", 0, "created", stripe_now(), "currency", "default_source",
			"delinquent", 0, "description", "email", "invoice_prefix", prefix, "livemode", 0, "metadata",
			json_object(), "name", "phone", "preferred_locales", "tax_exempt", "none");
	if (stripe_params_check(c, customer_params) == 0 && customer_fields(c, cus) == 0) {
		mock_store_put(c->st->customers, json_deep_copy(cus));
		stripe_event_send(c->st, c->req, "customer.created", cus);
		mock_resp_json(c->resp, 200, json_incref(cus));
	}
	json_decref(cus);
	free(id);
}

/* Whether rec is a deleted customer: then 404 "No such customer", as Stripe answers an update or delete of one. */
static bool gone(struct stripe_call *c, const json_t *rec)
{
	if (!json_is_true(json_object_get(rec, "deleted")))
		return false;
	stripe_error(c->resp, 404, "invalid_request_error", "resource_missing", "id", NULL, "No such customer: '%.60s'",
		     stripe_field(rec, "id"));
	return true;
}

/* The fields of cur that differ from before, with their former values (null when absent): a new reference. */
static json_t *changed(const json_t *before, const json_t *cur)
{
	json_t *prev = json_object(), *v;
	const char *k;

	json_object_foreach((json_t *)cur, k, v) {
		json_t *old = json_object_get(before, k);
		if (!old || !json_equal(old, v))
			json_object_set_new(prev, k, old ? json_incref(old) : json_null());
	}
	return prev;
}

/* Update a customer (under the store's lock); the changed fields go to customer.updated. */
static int op_customer(json_t *rec, void *arg)
{
	struct stripe_call *c = arg;
	json_t *before;

	if (gone(c, rec))
		return -1;
	before = json_deep_copy(rec);
	if (customer_fields(c, rec) < 0) {
		json_decref(before);
		return -1;
	}
	json_object_set_new(c->params, "_previous", changed(before, rec));
	json_decref(before);
	return 0;
}

/* POST /v1/customers/{id}: customer.updated when a field changed. */
static void do_update_customer(struct stripe_call *c)
{
	const char *id = mock_req_param(c->req, "id");
	json_t *prev, *cus;

	if (stripe_params_check(c, customer_params) < 0)
		return;
	if (mock_store_update(c->st->customers, id, op_customer, c) < 0) {
		if (!c->resp->status)
			stripe_error(c->resp, 404, "invalid_request_error", "resource_missing", "id", NULL,
				     "No such customer: '%.60s'", id);
		return;
	}
	prev = json_object_get(c->params, "_previous");
	cus = mock_store_get(c->st->customers, id);
	if (cus && json_object_size(prev) > 0)
		stripe_event_send_changed(c->st, c->req, "customer.updated", cus, prev);
	json_decref(cus);
	stripe_answer_one(c, c->st->customers, "customer");
}

/* Delete a customer (under the store's lock): the record becomes Stripe's deleted customer {id, object,
 * deleted: true}, which a retrieve answers (lists skip it); the customer as it was goes to customer.deleted. */
static int op_delete(json_t *rec, void *arg)
{
	struct stripe_call *c = arg;
	json_t *was;

	if (gone(c, rec))
		return -1;
	was = json_deep_copy(rec);
	json_object_clear(rec);
	json_object_set(rec, "id", json_object_get(was, "id"));
	json_object_set_new(rec, "object", json_string("customer"));
	json_object_set_new(rec, "deleted", json_true());
	json_object_set_new(c->params, "_deleted", was);
	return 0;
}

/* DELETE /v1/customers/{id}: {id, object, deleted: true}, and customer.deleted. */
static void do_delete_customer(struct stripe_call *c)
{
	const char *id = mock_req_param(c->req, "id");

	if (stripe_params_check(c, stripe_no_params) < 0)
		return;
	if (mock_store_update(c->st->customers, id, op_delete, c) < 0) {
		if (!c->resp->status)
			stripe_error(c->resp, 404, "invalid_request_error", "resource_missing", "id", NULL,
				     "No such customer: '%.60s'", id);
		return;
	}
	stripe_event_send(c->st, c->req, "customer.deleted", json_object_get(c->params, "_deleted"));
	mock_resp_json(c->resp, 200, json_pack("{s:s,s:s,s:b}", "id", id, "object", "customer", "deleted", 1));
}

/* GET /v1/customers/{id}. */
static void do_retrieve_customer(struct stripe_call *c)
{
	stripe_get_one(c, c->st->customers, "customer");
}

/* GET /v1/customers: email filters. */
static void do_list_customers(struct stripe_call *c)
{
	struct mock_kvlist f = {0};
	const char *email;

	if (stripe_params_check(c, (const char *const[]){"limit", "starting_after", "ending_before", "email", "expand",
						  NULL}) < 0 ||
	    stripe_param_str(c, "email", false, &email) < 0)
		return;
	if (email)
		mock_kv_add(&f, "email", email);
	stripe_list_page(c, c->st->customers, &f, "/v1/customers", "customer", stripe_as_is);
	mock_kv_free(&f);
}

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

/* Register the Customers routes. */
void stripe_customer_routes(struct stripe *st, struct mock_server *srv)
{
	const unsigned f = MOCK_ROUTE_SELF_AUTH;

	mock_server_route(srv, "POST", "/v1/customers", h_create_customer, st, f);
	mock_server_route(srv, "GET", "/v1/customers", h_list_customers, st, f);
	mock_server_route(srv, "GET", "/v1/customers/{id}", h_retrieve_customer, st, f);
	mock_server_route(srv, "POST", "/v1/customers/{id}", h_update_customer, st, f);
	mock_server_route(srv, "DELETE", "/v1/customers/{id}", h_delete_customer, st, f);
}
