/* stripe_pm — the test payment methods (pm_card_visa, pm_card_chargeDeclined, ...): what confirming does. */
#include "stripe_int.h"

#include <string.h>

static const struct stripe_test_pm test_pms[] = {
	{"pm_card_visa", "visa", "4242", PM_OK, NULL, NULL, NULL},
	{"pm_card_visa_debit", "visa", "5556", PM_OK, NULL, NULL, NULL},
	{"pm_card_mastercard", "mastercard", "4444", PM_OK, NULL, NULL, NULL},
	{"pm_card_amex", "amex", "8431", PM_OK, NULL, NULL, NULL},
	{"pm_card_chargeDeclined", "visa", "0002", PM_DECLINE, "card_declined", "generic_decline",
	 "Your card was declined."},
	{"pm_card_chargeDeclinedInsufficientFunds", "visa", "9995", PM_DECLINE, "card_declined",
	 "insufficient_funds", "Your card has insufficient funds."},
	{"pm_card_chargeDeclinedLostCard", "visa", "9987", PM_DECLINE, "card_declined", "lost_card",
	 "Your card was declined."},
	{"pm_card_chargeDeclinedExpiredCard", "visa", "0069", PM_DECLINE, "expired_card", "expired_card",
	 "Your card has expired."},
	{"pm_card_chargeDeclinedIncorrectCvc", "visa", "0127", PM_DECLINE, "incorrect_cvc", "incorrect_cvc",
	 "Your card's security code is incorrect."},
	{"pm_card_chargeDeclinedProcessingError", "visa", "0119", PM_DECLINE, "processing_error",
	 "processing_error", "An error occurred while processing your card. Try again in a little bit."},
	{"pm_card_authenticationRequired", "visa", "3184", PM_3DS, NULL, NULL, NULL},
	{"pm_card_threeDSecure2Required", "visa", "3220", PM_3DS, NULL, NULL, NULL},
};

/* The test payment method with this id, or NULL. */
const struct stripe_test_pm *stripe_pm_find(const char *id)
{
	for (size_t i = 0; id && i < MOCK_NELEM(test_pms); i++) {
		if (strcmp(test_pms[i].id, id) == 0)
			return &test_pms[i];
	}
	return NULL;
}
