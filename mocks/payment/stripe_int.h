/*
 * stripe_int — what the files of the payment mock's Stripe API share (stripe.h is its interface):
 * the API's state, one call's context, and the helpers every noun uses. One noun per file:
 *   stripe.c           the API: which requests are its, auth, faults, one call's run, the routes
 *   stripe_error.c     Stripe's error objects, and the 501 naming an operation outside the subset
 *   stripe_param.c     the parameters of a call (form body or query), checked and typed
 *   stripe_list.c      lists ({object: "list", data, has_more, url}) and one-record answers
 *   stripe_idem.c      Idempotency-Key: fingerprint, replay, conflicts
 *   stripe_event.c     Events to --webhook-url, signed with Stripe-Signature
 *   stripe_pm.c        the test payment methods (pm_card_visa, pm_card_chargeDeclined, ...)
 *   stripe_charge.c    the Charge of a paid intent, as charge.refunded carries it (no Charges API)
 *   stripe_intent.c    PaymentIntents
 *   stripe_refund.c    Refunds
 *   stripe_customer.c  Customers
 */
#ifndef SBX_MOCK_STRIPE_INT_H
#define SBX_MOCK_STRIPE_INT_H

#include "mock_req.h"
#include "mock_server.h"
#include "mock_store.h"
#include "mock_util.h"
#include "stripe.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#define STRIPE_DOCS "https://stripe.com/docs/error-codes/"

struct stripe {
	struct payment *p;
	struct mock_store *customers, *refunds;
	char *api_key;   /* --stripe-api-key, else --api-key; NULL: any key */
	char *wh_secret; /* the Stripe-Signature key, or NULL: events unsigned */
};

/* One operation's context: the API, the request, its parameters, the answer, what to announce. */
struct stripe_call {
	struct stripe *st;
	const struct mock_req *req;
	json_t *params;         /* the parsed form (POST) or query (GET) */
	struct mock_resp *resp;
	const char *event;      /* an event to send about the answered object, or NULL */
	json_t *error;          /* a card error answered 402 after the update (stolen) */
};

typedef void (*stripe_call_fn)(struct stripe_call *c);

/* A test payment method: what confirming with it does. */
enum pm_result { PM_OK, PM_DECLINE, PM_3DS };
struct stripe_test_pm {
	const char *id, *brand, *last4;
	enum pm_result result;
	const char *code, *decline_code, *message;
};

/* --- stripe.c --- */
/* Run one operation of a route: Request-Id, auth and faults (api false: not for the mock's own
 * 3-D Secure page), the parameters, Idempotency-Key, then fn. */
void stripe_run(const struct mock_req *req, struct mock_resp *resp, struct stripe *st, stripe_call_fn fn, bool api);
/* Define a route handler name that runs the operation fn (api: as for stripe_run). */
#define HANDLER(name, fn, api) \
	static void name(const struct mock_req *req, struct mock_resp *resp, void *arg) \
	{ \
		stripe_run(req, resp, arg, fn, api); \
	}

/* --- stripe_error.c --- */
/* Answer Stripe's error body {error: {type, code, message, param, doc_url}}; extra (stolen, may be
 * NULL) adds fields to the error object. */
void MOCK_PRINTF(7, 8) stripe_error(struct mock_resp *resp, int status, const char *type, const char *code,
				    const char *param, json_t *extra, const char *fmt, ...);
/* Answer 400 invalid_request_error about one parameter. */
#define stripe_bad_param(c, code, param, ...) \
	stripe_error((c)->resp, 400, "invalid_request_error", code, param, NULL, __VA_ARGS__)
/* Answer 501 api_error sbx_unsupported naming the operation ("GET /v1/charges") or, with what, a
 * parameter of it; Stripe-Should-Retry: false. */
void stripe_unsupported(const struct mock_req *req, const char *what, struct mock_resp *resp);

/* --- stripe_param.c --- */
/* Only "expand" (accepted and ignored): the parameters of a retrieve or delete. */
extern const char *const stripe_no_params[];
/* The parameters of a request: the form body (POST) or the query string; NULL after a 400.
 * Caller frees. */
json_t *stripe_params_parse(const struct mock_req *req, struct mock_resp *resp);
/* Check the parameters against the NULL-terminated list the operation implements: 0, or -1 after a 501. */
int stripe_params_check(struct stripe_call *c, const char *const *allowed);
/* A string parameter (NULL when absent; required: absent or "" is a 400); -1 after a 400. */
int stripe_param_str(struct stripe_call *c, const char *name, bool required, const char **out);
/* An integer parameter in [min, max] (absent and optional: *out untouched); -1 after a 400. */
int stripe_param_int(struct stripe_call *c, const char *name, bool required, int64_t min, int64_t max,
		     int64_t *out);
/* A parameter that must be one of words (NULL-terminated; absent or "": NULL); -1 after a 400. */
int stripe_param_enum(struct stripe_call *c, const char *name, const char *const *words, const char **out);
/* Whether a boolean parameter is "true"; -1 after a 400 when it is neither true nor false. */
int stripe_param_bool(struct stripe_call *c, const char *name, bool *out);
/* Apply the metadata parameter to obj: keys set, "" unsets a key, metadata="" clears; -1 after a 400. */
int stripe_metadata_apply(struct stripe_call *c, json_t *obj);
/* Copy the optional string parameters names (NULL-terminated) into obj ("" sets null); -1 after a 400. */
int stripe_strings_copy(struct stripe_call *c, json_t *obj, const char *const *names);
/* A string field of a record ("" when absent; borrowed from rec). */
const char *stripe_field(const json_t *rec, const char *key);
/* Now in Unix seconds, as a new JSON integer. */
json_t *stripe_now(void);

/* --- stripe_list.c --- */
/* Answer a list of the store's records (newest first) matching filter, with Stripe's paging
 * (limit, starting_after, ending_before); view makes each item (a new reference). */
void stripe_list_page(struct stripe_call *c, struct mock_store *s, const struct mock_kvlist *filter, const char *url,
		      const char *what, json_t *(*view)(const json_t *rec));
/* A record as it is (refunds and customers are stored in Stripe's shape): a new reference. */
json_t *stripe_as_is(const json_t *rec);
/* Answer one record of a store (the path's id), or 404 "No such what". */
void stripe_answer_one(struct stripe_call *c, struct mock_store *s, const char *what);
/* A retrieve: check the parameters, then stripe_answer_one. */
void stripe_get_one(struct stripe_call *c, struct mock_store *s, const char *what);

/* --- stripe_idem.c --- */
/* Run a POST operation under its Idempotency-Key (other methods, or no key: just run it). */
void stripe_idem_run(struct stripe_call *c, stripe_call_fn fn, const char *request_id);

/* --- stripe_event.c --- */
/* Send a Stripe Event of type about obj (not stolen) to --webhook-url, signed with Stripe-Signature;
 * nothing without a URL, a type or an object. */
void stripe_event_send(struct stripe *st, const struct mock_req *req, const char *type, const json_t *obj);
/* The same, with data.previous_attributes prev (the changed fields' former values; not stolen). */
void stripe_event_send_changed(struct stripe *st, const struct mock_req *req, const char *type, const json_t *obj,
			       const json_t *prev);

/* --- stripe_charge.c --- */
/* The Charge of a paid PaymentIntent record (latest_charge), as charge.* events carry it: a new
 * reference. The mock has no Charges API (/v1/charges answers 501). */
json_t *stripe_charge_view(const json_t *intent);

/* --- stripe_pm.c --- */
/* The test payment method with this id (NULL: none), or NULL. */
const struct stripe_test_pm *stripe_pm_find(const char *id);

/* --- the nouns: register their routes --- */
/* PaymentIntents (stripe_intent.c). */
void stripe_intent_routes(struct stripe *st, struct mock_server *srv);
/* Refunds (stripe_refund.c). */
void stripe_refund_routes(struct stripe *st, struct mock_server *srv);
/* Customers (stripe_customer.c). */
void stripe_customer_routes(struct stripe *st, struct mock_server *srv);

#endif
