/*
 * codec — the decoders mail needs: base64, quoted-printable, RFC 2047 encoded words, and turning
 * bytes in a declared charset into valid UTF-8 (for JSON). Pure functions, thread-safe.
 *
 * Every decoder appends to an sbx_buf and is total: malformed input is decoded leniently
 * (invalid base64 characters are skipped, a bad "=XY" escape is kept as is), never rejected.
 */
#ifndef SBX_MAIL_CODEC_H
#define SBX_MAIL_CODEC_H

#include "buf.h"

#include <stdbool.h>
#include <stddef.h>

/* Append the base64 decoding of in (whitespace and invalid characters skipped) to out. */
void codec_base64_decode(const char *in, size_t len, struct sbx_buf *out);
/* Append the base64 encoding of in (no line breaks) to out. */
void codec_base64_encode(const void *in, size_t len, struct sbx_buf *out);
/*
 * Append the quoted-printable decoding of in to out (soft line breaks "=\r\n" / "=\n" removed).
 * header_mode: RFC 2047 "Q" encoding ("_" is a space).
 */
void codec_qp_decode(const char *in, size_t len, bool header_mode, struct sbx_buf *out);
/* Whether in is valid UTF-8 (no overlongs, no surrogates, no NUL). */
bool codec_utf8_valid(const char *in, size_t len);
/*
 * Append in, declared in charset (NULL = unknown), to out as valid UTF-8: UTF-8 and US-ASCII are
 * copied, ISO-8859-1 / Latin-1 / Windows-1252 (as Latin-1) are converted, and any byte that is
 * not valid in the result becomes U+FFFD. NUL bytes become U+FFFD too.
 */
void codec_to_utf8(const char *in, size_t len, const char *charset, struct sbx_buf *out);
/*
 * Append a header value to out as UTF-8, decoding RFC 2047 encoded words (=?cs?B?..?= and
 * =?cs?Q?..?=; whitespace between two adjacent encoded words is dropped).
 */
void codec_header_decode(const char *in, size_t len, struct sbx_buf *out);

#endif
