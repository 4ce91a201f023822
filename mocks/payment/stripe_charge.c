/* stripe_charge — the Charge of a paid PaymentIntent, as Stripe's charge.* events carry it. */
#include "stripe_int.h"

#include "payment_int.h"

/* A field of rec, or null (a new reference). */
static json_t *or_null(const json_t *rec, const char *key)
{
	json_t *v = json_object_get(rec, key);

	return v ? json_incref(v) : json_null();
}

/* The Charge of an intent record (payment_method_details and amount_refunded are the record's own). */
json_t *stripe_charge_view(const json_t *intent)
{
	int64_t captured = payment_int_of(intent, "amount_received"), refunded = payment_int_of(intent, "amount_refunded");
	json_t *card = json_object_get(json_object_get(intent, "payment_method_details"), "card");
	json_t *ch = json_pack("{s:o,s:s,s:I,s:I,s:I,s:n,s:{s:n,s:n,s:n,s:n},s:b,s:o,s:o,s:o,s:o,s:b,s:n,s:n,s:b,"
			       "s:o,s:b,s:o,s:o,s:o,s:b,s:s}",
			       "id", or_null(intent, "latest_charge"), "object", "charge", "amount",
			       (json_int_t)payment_int_of(intent, "amount"), "amount_captured", (json_int_t)captured,
			       "amount_refunded", (json_int_t)refunded, "balance_transaction", "billing_details",
			       "address", "email", "name", "phone", "captured", 1, "created", or_null(intent, "created"),
			       "currency", or_null(intent, "currency"), "customer", or_null(intent, "customer"),
			       "description", or_null(intent, "description"), "disputed", 0, "failure_code",
			       "failure_message", "livemode", 0, "metadata", json_object(), "paid", 1, "payment_intent",
			       or_null(intent, "id"), "payment_method", or_null(intent, "payment_method"),
			       "receipt_email", or_null(intent, "receipt_email"), "refunded", captured > 0 && refunded >= captured,
			       "status", "succeeded");

	json_object_set_new(ch, "payment_method_details",
			    card ? json_pack("{s:s,s:O}", "type", "card", "card", card) : json_null());
	return ch;
}
