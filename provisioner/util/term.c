/* term — cleaning text for a terminal: controls, escape sequences and broken UTF-8 become '?'. */
#include "term.h"

#include <stdbool.h>
#include <string.h>

#include "util.h"

#define ESC 0x1b
#define BEL 0x07

/* The length of the well-formed UTF-8 character of 2..4 bytes at p[0..n), or 0. */
static size_t utf8_len(const unsigned char *p, size_t n)
{
	unsigned char c = p[0], lo = 0x80, hi = 0xbf;
	size_t len = c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
	if (len == 0 || len > n)
		return 0;
	if (c == 0xe0)
		lo = 0xa0; /* overlong */
	else if (c == 0xed)
		hi = 0x9f; /* surrogates */
	else if (c == 0xf0)
		lo = 0x90; /* overlong */
	else if (c == 0xf4)
		hi = 0x8f; /* past U+10FFFF */
	if (p[1] < lo || p[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	return len;
}

/* The length of a control string's body (OSC, DCS, SOS, PM, APC) up to and with its BEL or ST;
 * a newline (kept by the caller) or the end stops it. */
static size_t string_len(const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (p[i] == BEL)
			return i + 1;
		if (p[i] == ESC && i + 1 < n && p[i + 1] == '\\')
			return i + 2;
		if (p[i] == '\n')
			return i;
	}
	return n;
}

/* The length of the escape sequence at p[0..n) (p[0] is ESC). */
static size_t esc_len(const unsigned char *p, size_t n)
{
	size_t i = 1;
	if (n < 2)
		return 1;
	if (p[1] == '[') { /* CSI: parameters and intermediates, then a final byte */
		for (i = 2; i < n && p[i] >= 0x20 && p[i] <= 0x3f; i++)
			;
		return i < n && p[i] >= 0x40 && p[i] <= 0x7e ? i + 1 : i;
	}
	if (p[1] == ']' || p[1] == 'P' || p[1] == 'X' || p[1] == '^' || p[1] == '_')
		return 2 + string_len(p + 2, n - 2);
	while (i < n && p[i] >= 0x20 && p[i] <= 0x2f) /* intermediates, then a final byte */
		i++;
	return i < n && p[i] >= 0x30 && p[i] <= 0x7e ? i + 1 : i;
}

/* Whether p[0..n) starts with a C1 control encoded in UTF-8 (U+0080..U+009F). */
static bool c1_at(const unsigned char *p, size_t n)
{
	return n > 1 && p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f;
}

/* How many bytes at p[0..n) to copy as they are (0: the next thing is not printable). */
static size_t printable_len(const unsigned char *p, size_t n)
{
	if (p[0] == '\n' || p[0] == '\t' || (p[0] >= 0x20 && p[0] < 0x7f))
		return 1;
	return p[0] >= 0x80 && !c1_at(p, n) ? utf8_len(p, n) : 0;
}

/* How many bytes at p[0..n) one '?' stands for: a whole escape sequence, a C1 control, or one byte. */
static size_t unprintable_len(const unsigned char *p, size_t n)
{
	return p[0] == ESC ? esc_len(p, n) : c1_at(p, n) ? 2 : 1;
}

/* Clean len bytes. */
char *term_sanitize_n(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	struct sbx_buf b = {0};
	size_t i = 0, k;
	if (s == NULL)
		return NULL;
	while (i < len) {
		if ((k = printable_len(p + i, len - i)) > 0) {
			sbx_buf_add(&b, p + i, k);
		} else if (p[i] == '\r' && i + 1 < len && p[i + 1] == '\n') {
			k = 1; /* CRLF: the newline follows */
		} else {
			k = unprintable_len(p + i, len - i);
			sbx_buf_add(&b, "?", 1);
		}
		i += k;
	}
	return sbx_buf_steal(&b);
}

/* Clean a string. */
char *term_sanitize(const char *s)
{
	return s ? term_sanitize_n(s, strlen(s)) : NULL;
}
