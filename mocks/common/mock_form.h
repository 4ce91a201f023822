/*
 * mock_form — application/x-www-form-urlencoded bodies, what the providers' SDKs send (Twilio's
 * and Stripe's) and what Twilio's status callbacks carry: "a=b&c=d", '+' is a space, "%XX" a
 * byte. Decoded names and values must be UTF-8 without NUL bytes; a name must not be empty.
 * Pure, thread-safe.
 */
#ifndef SBX_MOCK_FORM_H
#define SBX_MOCK_FORM_H

#include "mock_kv.h"
#include "mock_util.h"

#include <stdbool.h>
#include <stddef.h>

/* The most parameters one body may hold. */
#define MOCK_FORM_MAX_PARAMS 256

/*
 * Parse len bytes of body into l (appended in order; a repeated name is kept each time; empty
 * pairs "&&" are skipped; "name" alone has the value ""). 0, or -1 with e naming the problem
 * (a bad escape, an empty name, a NUL byte, invalid UTF-8, too many parameters); entries already
 * appended stay in l (the caller frees l either way).
 */
int mock_form_parse(const char *body, size_t len, struct mock_kvlist *l, struct mock_err *e) MOCK_WUR;
/* Encode l ("a=b&c=d"; unreserved bytes as they are, space as '+', others %XX); caller frees. */
char *mock_form_encode(const struct mock_kvlist *l);
/* Percent-encode one string as a form value (the same rules); caller frees. */
char *mock_form_escape(const char *s);
/* Whether len bytes of s are well-formed UTF-8 (no overlongs, no surrogates, at most U+10FFFF). */
bool mock_utf8_valid(const char *s, size_t len);

#endif
