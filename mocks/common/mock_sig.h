/*
 * mock_sig — webhook signatures: the header value "t=<ts>,v1=<hex HMAC-SHA256(secret,
 * "<ts>.<body>")>" that the webhook sender writes and receivers check, and Twilio's
 * X-Twilio-Signature of its form-encoded callbacks. Pure, thread-safe.
 */
#ifndef SBX_MOCK_SIG_H
#define SBX_MOCK_SIG_H

#include "mock_kv.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The signature header value of body at time ts (seconds); caller frees. */
char *mock_signature(const char *secret, int64_t ts, const char *body, size_t len);
/* Check a "t=..,v1=.." header against body; tolerance_s = 0 disables the age check. */
bool mock_signature_verify(const char *secret, const char *header, const char *body, size_t len,
			   int64_t now_s, int64_t tolerance_s);
/*
 * Twilio's X-Twilio-Signature of a form POST to url: base64(HMAC-SHA1(token, url followed by each
 * parameter's name and value, sorted by name, then value, bytewise)), as twilio.validateRequest
 * recomputes it; caller frees.
 */
char *mock_twilio_signature(const char *token, const char *url, const struct mock_kvlist *params);

#endif
