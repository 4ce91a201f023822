/* card — the payment mock's test cards: what confirming with a card number does. */
#ifndef SBX_MOCK_PAYMENT_CARD_H
#define SBX_MOCK_PAYMENT_CARD_H

#include <stdbool.h>

enum card_result {
	CARD_SUCCEEDS,
	CARD_DECLINED,      /* 402 card_error; code/decline_code say why */
	CARD_REQUIRES_3DS,  /* requires_action until confirmed again */
	CARD_INVALID,       /* 400: not a card number at all */
};

struct card_outcome {
	enum card_result result;
	const char *code;         /* "card_declined", "expired_card", ... (declines) */
	const char *decline_code; /* "generic_decline", "insufficient_funds", ... or NULL */
	const char *message;
	const char *brand;        /* "visa", "mastercard", "amex", "unknown" */
};

/* Classify a card number (digits, spaces and dashes allowed). Never fails. */
struct card_outcome card_classify(const char *number);
/* Whether number (digits only) passes the Luhn check. */
bool card_luhn(const char *digits);
/* The digits of number into out (at most 19 + NUL); false when not 12-19 digits. */
bool card_digits(const char *number, char out[20]);

#endif
