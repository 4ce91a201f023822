/*
 * payment_int — what the payment mock's two APIs share inside the mock: its JSON API (payment.c)
 * and its Stripe API (stripe.c) keep payment intents in one collection (so that inspection and
 * wait see both) and Idempotency-Key answers in another, and send events to one webhook URL.
 */
#ifndef SBX_MOCK_PAYMENT_INT_H
#define SBX_MOCK_PAYMENT_INT_H

#include "mock_target.h"

#include <pthread.h>

struct stripe;

struct payment {
	struct mock_server *srv;
	struct mock_store *intents, *idem;
	struct mock_target webhook; /* --webhook-url, checked at start (url NULL: none) */
	pthread_mutex_t idem_lock; /* serialises requests carrying an Idempotency-Key */
	struct stripe *stripe;
};

#endif
