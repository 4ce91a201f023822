/*
 * stripe_form — Stripe's form-encoded parameters as a JSON document: "a=1" is {"a": "1"},
 * "metadata[order]=7" is {"metadata": {"order": "7"}}, "payment_method_types[]=card" and
 * "payment_method_types[0]=card" are {"payment_method_types": ["card"]}, nested at most
 * STRIPE_FORM_MAX_DEPTH brackets deep (what stripe-node's qs encoding sends). Every value is a
 * string (Stripe reads "100" and "true" per parameter). Pure, thread-safe.
 */
#ifndef SBX_MOCK_STRIPE_FORM_H
#define SBX_MOCK_STRIPE_FORM_H

#include "mock_util.h"

#include <jansson.h>
#include <stddef.h>

#define STRIPE_FORM_MAX_DEPTH 5

/*
 * The parameters of len bytes of a form body (mock_form's rules and bounds) as a JSON object;
 * NULL with e naming the parameter when the body is malformed or a name is inconsistent
 * ("a=1&a[b]=2", an index past the end of an array, unbalanced brackets, too deep).
 */
json_t *stripe_form_parse(const char *body, size_t len, struct mock_err *e);

#endif
