/* codec — base64, quoted-printable, RFC 2047 encoded words, charsets to UTF-8. */
#include "codec.h"

#include "buf.h"
#include "mock_util.h"

#include <string.h>
#include <strings.h>

static const char b64_alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* The 6-bit value of a base64 character, or -1. */
static int b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* Decode base64, skipping anything outside the alphabet and stopping at padding. */
void codec_base64_decode(const char *in, size_t len, struct sbx_buf *out)
{
	unsigned acc = 0;
	int bits = 0;

	sbx_buf_add(out, "", 0);
	for (size_t i = 0; i < len && in[i] != '='; i++) {
		int v = b64_value((unsigned char)in[i]);
		if (v < 0)
			continue;
		acc = (acc << 6) | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			char c = (char)((acc >> bits) & 0xff);
			sbx_buf_add(out, &c, 1);
		}
	}
}

/* Encode base64 with padding. */
void codec_base64_encode(const void *in, size_t len, struct sbx_buf *out)
{
	const unsigned char *p = in;
	char q[4];

	sbx_buf_add(out, "", 0);
	for (size_t i = 0; i < len; i += 3) {
		unsigned v = (unsigned)p[i] << 16;
		if (i + 1 < len)
			v |= (unsigned)p[i + 1] << 8;
		if (i + 2 < len)
			v |= p[i + 2];
		q[0] = b64_alphabet[(v >> 18) & 63];
		q[1] = b64_alphabet[(v >> 12) & 63];
		q[2] = i + 1 < len ? b64_alphabet[(v >> 6) & 63] : '=';
		q[3] = i + 2 < len ? b64_alphabet[v & 63] : '=';
		sbx_buf_add(out, q, 4);
	}
}

/* The value of a hex digit, or -1. */
static int hex_value(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Length of a soft line break at in[i] ("=" + optional blanks + newline), or 0. */
static size_t qp_soft_break(const char *in, size_t len, size_t i)
{
	size_t j = i + 1;

	while (j < len && (in[j] == ' ' || in[j] == '\t'))
		j++;
	if (j < len && in[j] == '\r')
		j++;
	if (j < len && in[j] == '\n')
		return j + 1 - i;
	return j == len ? len - i : 0;
}

/* Decode quoted-printable (body or RFC 2047 "Q"). */
void codec_qp_decode(const char *in, size_t len, bool header_mode, struct sbx_buf *out)
{
	sbx_buf_add(out, "", 0);
	for (size_t i = 0; i < len;) {
		char c = in[i];
		if (c == '_' && header_mode) {
			sbx_buf_add(out, " ", 1);
			i++;
		} else if (c != '=') {
			sbx_buf_add(out, &c, 1);
			i++;
		} else if (i + 2 < len && hex_value((unsigned char)in[i + 1]) >= 0 &&
			   hex_value((unsigned char)in[i + 2]) >= 0) {
			char v = (char)(hex_value((unsigned char)in[i + 1]) * 16 +
					hex_value((unsigned char)in[i + 2]));
			sbx_buf_add(out, &v, 1);
			i += 3;
		} else {
			size_t soft = header_mode ? 0 : qp_soft_break(in, len, i);
			sbx_buf_add(out, in + i, soft ? 0 : 1);
			i += soft ? soft : 1;
		}
	}
}

/* Length of the valid UTF-8 sequence at p (n bytes available), or 0 when invalid. */
static size_t utf8_seq(const unsigned char *p, size_t n)
{
	size_t need;
	unsigned cp;

	if (p[0] > 0 && p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		need = 2, cp = p[0] & 0x1f;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		need = 3, cp = p[0] & 0x0f;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		need = 4, cp = p[0] & 0x07;
	else
		return 0;
	if (n < need)
		return 0;
	for (size_t i = 1; i < need; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	if ((need == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (need == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return need;
}

/* Check UTF-8 validity. */
bool codec_utf8_valid(const char *in, size_t len)
{
	const unsigned char *p = (const unsigned char *)in;

	for (size_t i = 0; i < len;) {
		size_t n = utf8_seq(p + i, len - i);
		if (!n)
			return false;
		i += n;
	}
	return true;
}

/* Whether charset names Latin-1 (or a superset we treat as Latin-1). */
static bool charset_latin1(const char *cs)
{
	static const char *const names[] = {"iso-8859-1", "iso8859-1", "latin1", "latin-1",
					    "windows-1252", "cp1252", "iso-8859-15"};

	for (size_t i = 0; cs && i < MOCK_NELEM(names); i++)
		if (!strcasecmp(cs, names[i]))
			return true;
	return false;
}

/* Convert to UTF-8 (see codec.h). */
void codec_to_utf8(const char *in, size_t len, const char *charset, struct sbx_buf *out)
{
	const unsigned char *p = (const unsigned char *)in;
	bool latin1 = charset_latin1(charset);

	sbx_buf_add(out, "", 0);
	for (size_t i = 0; i < len;) {
		size_t n = latin1 ? (p[i] && p[i] < 0x80) : utf8_seq(p + i, len - i);
		if (n) {
			sbx_buf_add(out, in + i, n);
			i += n;
			continue;
		}
		if (latin1 && p[i]) {
			char two[2] = {(char)(0xc0 | (p[i] >> 6)), (char)(0x80 | (p[i] & 0x3f))};
			sbx_buf_add(out, two, 2);
		} else {
			sbx_buf_add(out, "\xef\xbf\xbd", 3);
		}
		i++;
	}
}

/*
 * Parse an encoded word "=?cs?E?text?=" at in (n bytes). On success append its decoding and return
 * its length; return 0 when in does not start with a well-formed encoded word.
 */
static size_t word_decode(const char *in, size_t n, struct sbx_buf *out)
{
	const char *q1, *q2, *end;
	char cs[64];
	struct sbx_buf raw = {0};

	if (n < 8 || in[0] != '=' || in[1] != '?')
		return 0;
	q1 = memchr(in + 2, '?', n - 2);
	if (!q1 || q1 + 3 >= in + n || q1[2] != '?' || (size_t)(q1 - in - 2) >= sizeof(cs))
		return 0;
	q2 = q1 + 3;
	end = memmem(q2, (size_t)(in + n - q2), "?=", 2);
	if (!end || memchr(q2, ' ', (size_t)(end - q2)))
		return 0;
	memcpy(cs, in + 2, (size_t)(q1 - in - 2));
	cs[q1 - in - 2] = '\0';
	if (strchr(cs, '*'))
		*strchr(cs, '*') = '\0'; /* RFC 2231 language suffix */
	if (q1[1] == 'B' || q1[1] == 'b')
		codec_base64_decode(q2, (size_t)(end - q2), &raw);
	else if (q1[1] == 'Q' || q1[1] == 'q')
		codec_qp_decode(q2, (size_t)(end - q2), true, &raw);
	else
		return 0;
	codec_to_utf8(raw.data, raw.len, cs, out);
	sbx_buf_free(&raw);
	return (size_t)(end + 2 - in);
}

/* Whether in (n bytes) starts with a well-formed encoded word. */
static bool word_at(const char *in, size_t n)
{
	struct sbx_buf scratch = {0};
	size_t w = word_decode(in, n, &scratch);

	sbx_buf_free(&scratch);
	return w > 0;
}

/* Decode a header value with encoded words. */
void codec_header_decode(const char *in, size_t len, struct sbx_buf *out)
{
	size_t i = 0;
	bool after_word = false;

	sbx_buf_add(out, "", 0);
	while (i < len) {
		size_t n = word_decode(in + i, len - i, out);
		if (n) {
			i += n;
			after_word = true;
			continue;
		}
		/* A run of plain text up to the next "=?"; blanks between two words are dropped. */
		const char *next = memmem(in + i + 1, len - i - 1, "=?", 2);
		size_t stop = next ? (size_t)(next - in) : len;
		bool blank = true;
		for (size_t k = i; k < stop; k++)
			blank = blank && strchr(" \t\r\n", in[k]) != NULL && in[k];
		if (!(blank && after_word && next && word_at(next, len - stop)))
			codec_to_utf8(in + i, stop - i, NULL, out);
		after_word = false;
		i = stop;
	}
}
