/*
 * codec — the conversions the mail mock needs besides MIME parsing, on GLib and GMime: base64
 * (raw messages kept as JSON, AUTH PLAIN), UTF-8 validation, and bytes in a declared charset
 * turned into valid UTF-8 (for JSON); plus GMime's one-time initialisation. Thread-safe.
 *
 * Every conversion appends to an sbx_buf and is total: malformed input is decoded leniently
 * (invalid base64 characters are skipped, a byte that is not valid in its charset becomes
 * U+FFFD), never rejected.
 */
#ifndef SBX_MAIL_CODEC_H
#define SBX_MAIL_CODEC_H

#include "buf.h"

#include <stdbool.h>
#include <stddef.h>

/* Initialise GMime once per process, whichever thread comes first (idempotent). */
void codec_init(void);
/* Append the base64 decoding of in (whitespace and invalid characters skipped) to out. */
void codec_base64_decode(const char *in, size_t len, struct sbx_buf *out);
/* Append the base64 encoding of in (with padding, no line breaks) to out. */
void codec_base64_encode(const void *in, size_t len, struct sbx_buf *out);
/* The MD5 and SHA-1 of in as lowercase hex (GLib's checksums). */
void codec_md5_sha1_hex(const void *in, size_t len, char md5[33], char sha1[41]);
/* Whether in is valid UTF-8 (no overlongs, no surrogates, no NUL). */
bool codec_utf8_valid(const char *in, size_t len);
/*
 * Append in, declared in charset (NULL = unknown), to out as valid UTF-8: UTF-8, US-ASCII and
 * unknown charsets are kept as UTF-8, any other charset iconv knows is converted; every byte
 * that is not valid in the result (NUL included) becomes U+FFFD.
 */
void codec_to_utf8(const char *in, size_t len, const char *charset, struct sbx_buf *out);

#endif
