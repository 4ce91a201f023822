/*
 * payment_int — what the payment mock's two APIs share inside the mock: its JSON API (payment.c)
 * and its Stripe API (stripe*.c) keep payment intents in one collection (so that inspection and
 * wait see both) and Idempotency-Key answers in another, and send events to one webhook URL.
 */
#ifndef SBX_MOCK_PAYMENT_INT_H
#define SBX_MOCK_PAYMENT_INT_H

#include "mock_target.h"

#include <jansson.h>
#include <pthread.h>
#include <stdint.h>

struct stripe;

struct payment {
	struct mock_server *srv;
	struct mock_store *intents, *idem;
	struct mock_target webhook; /* --webhook-url, checked at start (url NULL: none) */
	pthread_mutex_t idem_lock; /* serialises requests carrying an Idempotency-Key */
	struct stripe *stripe;
};

/* Set an intent record's status and the JSON API's updated_at (both APIs keep these in step). */
void payment_set_status(json_t *rec, const char *status);
/* An integer field of an intent record (0 when absent). */
int64_t payment_int_of(const json_t *rec, const char *key);

#endif
