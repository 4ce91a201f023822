/*
 * payment — the payment gateway mock: payment intents with Idempotency-Key, confirm with test
 * cards, capture, refund, cancel, and signed webhooks with retries and a delivery log.
 */
#ifndef SBX_MOCK_PAYMENT_H
#define SBX_MOCK_PAYMENT_H

#include "mock_opts.h"
#include "mock_util.h"

#include <stddef.h>

struct mock_server;

/* Mock-specific options: --webhook-url URL, --stripe-api-key KEY, --stripe-webhook-secret SECRET
 * (each also as --OPTION-file FILE). */
extern const struct mock_optdef payment_options[];
extern const size_t payment_noptions;

struct payment;
/* The payment domain on srv: registers its routes. NULL with e on failure. Free after srv stops. */
struct payment *payment_new(struct mock_server *srv, struct mock_err *e);
void payment_free(struct payment *p);

#endif
