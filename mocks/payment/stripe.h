/*
 * stripe — the payment mock's Stripe API, so that the official Stripe SDKs talk to the mock
 * unchanged (only host, port and protocol differ): under /v1/, form-encoded parameters with
 * brackets (stripe_form.h), Stripe's objects, lists ({object: "list", data, has_more, url} with
 * limit, starting_after, ending_before), errors ({error: {type, code, decline_code, message, param,
 * doc_url}}) and HTTP codes, Idempotency-Key, Bearer (or Basic) auth with the API key
 * (--stripe-api-key, else --api-key; neither: any key):
 *   PaymentIntents: POST /v1/payment_intents, GET /v1/payment_intents[/{id}], POST
 *     /v1/payment_intents/{id}, POST .../{id}/confirm|capture|cancel
 *   Refunds: POST /v1/refunds, GET /v1/refunds[/{id}]
 *   Customers: POST /v1/customers, GET /v1/customers[/{id}], POST|DELETE /v1/customers/{id}
 *   mock only: GET|POST /v1/payment_intents/{id}/_complete_3ds[?outcome=fail] (3-D Secure)
 * and 501 with a Stripe error naming the operation for anything else.
 *
 * The JSON API lives under /v1/ too: a request is the Stripe API's when it carries a
 * Stripe-Version header or a form-encoded body that is not a JSON object (stripe_request), or when
 * its path is one the JSON API does not have (customers, refunds, _complete_3ds). Events go to --webhook-url as Stripe
 * Event objects signed with Stripe-Signature (key: --stripe-webhook-secret, else
 * --webhook-secret). See mocks/README.md. Thread-safe like every route of the mocks.
 */
#ifndef SBX_MOCK_STRIPE_H
#define SBX_MOCK_STRIPE_H

#include "mock_req.h"
#include "mock_util.h"

#include <stdbool.h>

struct payment;
struct stripe;

/* Whether a request on a path both APIs have is the Stripe API's (see above). */
bool stripe_request(const struct mock_req *req);
/* The Stripe API of the payment domain p: reads its options, registers its routes. NULL with e. */
struct stripe *stripe_new(struct payment *p, struct mock_err *e);
/* Free the API (after the server stopped). NULL is a no-op. */
void stripe_free(struct stripe *st);

#endif
