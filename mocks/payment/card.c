/* card — the test card table (documented in mocks/README.md) and number checks. */
#include "card.h"

#include <string.h>

static const struct {
	const char *number;
	struct card_outcome outcome;
} table[] = {
	{"4242424242424242", {CARD_SUCCEEDS, NULL, NULL, "succeeded", "visa"}},
	{"5555555555554444", {CARD_SUCCEEDS, NULL, NULL, "succeeded", "mastercard"}},
	{"4000000000000002", {CARD_DECLINED, "card_declined", "generic_decline", "Your card was declined.", "visa"}},
	{"4000000000009995", {CARD_DECLINED, "card_declined", "insufficient_funds", "Your card has insufficient funds.", "visa"}},
	{"4000000000000069", {CARD_DECLINED, "expired_card", "expired_card", "Your card has expired.", "visa"}},
	{"4000000000000119", {CARD_DECLINED, "processing_error", "processing_error", "An error occurred while processing your card. Try again.", "visa"}},
	{"4000002760003184", {CARD_REQUIRES_3DS, NULL, NULL, "3-D Secure authentication required", "visa"}},
	{"4000000000003220", {CARD_REQUIRES_3DS, NULL, NULL, "3-D Secure authentication required", "visa"}},
};

/* Keep the digits of a number. */
bool card_digits(const char *number, char out[20])
{
	size_t n = 0;

	for (const char *p = number; *p; p++) {
		if (*p == ' ' || *p == '-')
			continue;
		if (*p < '0' || *p > '9' || n == 19)
			return false;
		out[n++] = *p;
	}
	out[n] = '\0';
	return n >= 12;
}

/* Luhn check. */
bool card_luhn(const char *digits)
{
	size_t n = strlen(digits);
	int sum = 0;

	for (size_t i = 0; i < n; i++) {
		int d = digits[n - 1 - i] - '0';
		if (i % 2 == 1)
			d = d * 2 > 9 ? d * 2 - 9 : d * 2;
		sum += d;
	}
	return n > 0 && sum % 10 == 0;
}

/* The brand of an unlisted number. */
static const char *brand_of(const char *d)
{
	if (d[0] == '4')
		return "visa";
	if (d[0] == '5' && d[1] >= '1' && d[1] <= '5')
		return "mastercard";
	if (d[0] == '3' && (d[1] == '4' || d[1] == '7'))
		return "amex";
	return "unknown";
}

/* Classify a number. */
struct card_outcome card_classify(const char *number)
{
	char d[20];

	if (!card_digits(number, d))
		return (struct card_outcome){CARD_INVALID, "invalid_number",
					     NULL, "The card number is not a valid card number.", "unknown"};
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		if (strcmp(table[i].number, d) == 0)
			return table[i].outcome;
	}
	if (!card_luhn(d))
		return (struct card_outcome){CARD_DECLINED, "incorrect_number", NULL,
					     "Your card number is incorrect.", brand_of(d)};
	return (struct card_outcome){CARD_SUCCEEDS, NULL, NULL, "succeeded", brand_of(d)};
}
