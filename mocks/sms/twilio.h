/*
 * twilio — the SMS mock's Twilio Messages API, so that the official Twilio SDKs talk to the mock
 * unchanged (only the base URL differs): under /2010-04-01/Accounts/{AccountSid}/,
 *   POST Messages.json          form-encoded To, From | MessagingServiceSid, Body, StatusCallback
 *   GET  Messages.json          PageSize, Page, PageToken (anchored on a message), To, From; Twilio's paging keys
 *   GET  Messages/{Sid}.json    one message
 *   DELETE Messages/{Sid}.json  204
 * and 501 with a Twilio-shaped body naming the operation for anything else under /2010-04-01/.
 * Messages are Twilio-shaped (sid SM + 32 hex, RFC 2822 dates, status queued → sent → delivered,
 * or undelivered / failed with a numeric error_code); errors are {code, message, more_info,
 * status}; Twilio's magic test numbers give their documented errors; status callbacks are
 * form-encoded and signed with X-Twilio-Signature (mock_sig.h). HTTP Basic auth with the
 * account SID and auth token (options account-sid, auth-token, their -file forms): see
 * mocks/README.md. Thread-safe like every route of the mocks.
 */
#ifndef SBX_MOCK_TWILIO_H
#define SBX_MOCK_TWILIO_H

#include "mock_util.h"

struct sms;

/* Twilio's magic test numbers (https://www.twilio.com/docs/iam/test-credentials). */
#define TWILIO_MAGIC_INVALID "+15005550001"     /* To: 21211; From: 21212 */
#define TWILIO_MAGIC_UNROUTABLE "+15005550002"  /* To: 21612 */
#define TWILIO_MAGIC_NO_INTL "+15005550003"     /* To: 21408 */
#define TWILIO_MAGIC_BLOCKED "+15005550004"     /* To: 21610 */
#define TWILIO_MAGIC_VALID_FROM "+15005550006"  /* From: passes */
#define TWILIO_MAGIC_NOT_OWNED "+15005550007"   /* From: 21606 */
#define TWILIO_MAGIC_QUEUE_FULL "+15005550008"  /* From: 21611 */
#define TWILIO_MAGIC_NOT_MOBILE "+15005550009"  /* To: 21614 */
/* The mock's own: accepted, then a delivery failure (Twilio has no magic number for these). */
#define TWILIO_MOCK_UNDELIVERED "+15005550010"  /* sent, then undelivered, 30003 */
#define TWILIO_MOCK_FAILED "+15005550011"       /* failed, 30008 */

struct twilio;
/*
 * The Twilio API of the SMS domain s: reads the options (account-sid, auth-token and their -file
 * forms) and registers its routes on s's server. NULL with e on a bad option.
 */
struct twilio *twilio_new(struct sms *s, struct mock_err *e);
/* Free the API (after the server stopped). NULL is a no-op. */
void twilio_free(struct twilio *tw);

/* The RFC 2822 form Twilio gives dates in ("Tue, 01 Dec 2026 10:00:00 +0000") of an RFC 3339
 * UTC time as the mocks store it; false when rfc3339 is not one. */
bool twilio_date(const char *rfc3339, char out[40]);

#endif
