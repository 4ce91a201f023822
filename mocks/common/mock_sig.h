/*
 * mock_sig — webhook signatures: the header value "t=<ts>,v1=<hex HMAC-SHA256(secret,
 * "<ts>.<body>")>" that the webhook sender writes and receivers check. Pure, thread-safe.
 */
#ifndef SBX_MOCK_SIG_H
#define SBX_MOCK_SIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The signature header value of body at time ts (seconds); caller frees. */
char *mock_signature(const char *secret, int64_t ts, const char *body, size_t len);
/* Check a "t=..,v1=.." header against body; tolerance_s = 0 disables the age check. */
bool mock_signature_verify(const char *secret, const char *header, const char *body, size_t len,
			   int64_t now_s, int64_t tolerance_s);

#endif
