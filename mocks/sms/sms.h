/*
 * sms — the SMS gateway mock: POST /v1/messages, E.164 validation, magic numbers, delivery-status
 * callbacks (queued → sent → delivered, or failed) signed like every webhook of the mocks; and,
 * on the same messages, Twilio's Messages API for the official SDKs (twilio.h).
 */
#ifndef SBX_MOCK_SMS_H
#define SBX_MOCK_SMS_H

#include "mock_opts.h"
#include "mock_util.h"

#include <stdbool.h>
#include <stddef.h>

struct mock_server;

/* The magic recipients (documented in mocks/README.md). */
#define SMS_MAGIC_INVALID "+15005550001"     /* 400 invalid_number */
#define SMS_MAGIC_UNREACHABLE "+15005550002" /* accepted, then failed: unreachable */
#define SMS_MAGIC_BLOCKED "+15005550003"     /* 403 blocked */
#define SMS_MAGIC_REJECTED "+15005550004"    /* accepted, sent, then failed: carrier_rejected */

/* Mock-specific options: --callback-url URL, --delivery-delay DURATION, and the Twilio API's
 * --account-sid, --auth-token (each also as --NAME-file FILE, mode 0600). */
extern const struct mock_optdef sms_options[];
extern const size_t sms_noptions;

struct sms;
/* The SMS domain on srv: registers its routes. NULL with e on a bad option. Free after srv stops. */
struct sms *sms_new(struct mock_server *srv, struct mock_err *e);
void sms_free(struct sms *s);

/* Whether s is an E.164 number: '+', a non-zero digit, then 1 to 14 digits. */
bool sms_valid_e164(const char *s);

#endif
