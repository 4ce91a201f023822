/* mock_form — form-encoded bodies: a bounded, strict parser and an encoder. */
#include "mock_form.h"

#include "buf.h"
#include "mock_kv.h"
#include "mock_util.h"

#include <stdlib.h>
#include <string.h>

/* Value of one hex digit, or -1. */
static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* The length of the UTF-8 sequence at s (n bytes left), or 0 when it is malformed. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	size_t len = s[0] < 0x80 ? 1 : s[0] >= 0xC2 && s[0] <= 0xDF ? 2 : s[0] >= 0xE0 && s[0] <= 0xEF ? 3
		: s[0] >= 0xF0 && s[0] <= 0xF4 ? 4 : 0;

	if (len == 0 || len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
	}
	if ((s[0] == 0xE0 && s[1] < 0xA0) || (s[0] == 0xED && s[1] > 0x9F) || /* overlong, surrogate */
	    (s[0] == 0xF0 && s[1] < 0x90) || (s[0] == 0xF4 && s[1] > 0x8F))   /* overlong, > U+10FFFF */
		return 0;
	return len;
}

/* Whether s is well-formed UTF-8. */
bool mock_utf8_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;

	for (size_t i = 0; i < len;) {
		size_t n = utf8_seq(p + i, len - i);
		if (n == 0)
			return false;
		i += n;
	}
	return true;
}

/* Decode n bytes of one name or value into a fresh string; NULL with e when malformed. */
static char *form_decode(const char *s, size_t n, const char *what, struct mock_err *e)
{
	char *out = mock_xmalloc(n + 1), *o = out;

	for (size_t i = 0; i < n; i++) {
		if (s[i] == '%') {
			int hi = i + 2 < n ? hexval((unsigned char)s[i + 1]) : -1;
			int lo = hi >= 0 ? hexval((unsigned char)s[i + 2]) : -1;
			if (lo < 0) {
				mock_err_set(e, "malformed %s: '%%' must be followed by two hex digits", what);
				goto fail;
			}
			*o++ = (char)(hi * 16 + lo);
			i += 2;
		} else {
			*o++ = s[i] == '+' ? ' ' : s[i];
		}
	}
	*o = '\0';
	if (memchr(out, '\0', (size_t)(o - out)) || !mock_utf8_valid(out, (size_t)(o - out))) {
		mock_err_set(e, "malformed %s: not UTF-8 text (or a NUL byte)", what);
		goto fail;
	}
	return out;
fail:
	free(out);
	return NULL;
}

/* Parse one "name=value" pair of len bytes into l. */
static int form_pair(const char *p, size_t len, struct mock_kvlist *l, struct mock_err *e)
{
	const char *eq = memchr(p, '=', len);
	size_t klen = eq ? (size_t)(eq - p) : len;
	char *k, *v;

	if (klen == 0)
		return mock_err_set(e, "malformed form body: a parameter without a name");
	k = form_decode(p, klen, "parameter name", e);
	v = k ? form_decode(eq ? eq + 1 : p + len, eq ? len - klen - 1 : 0, "parameter value", e) : NULL;
	if (v)
		mock_kv_add(l, k, v);
	free(k);
	free(v);
	return v ? 0 : -1;
}

/* Parse a form body. */
int mock_form_parse(const char *body, size_t len, struct mock_kvlist *l, struct mock_err *e)
{
	size_t n = 0;

	for (size_t i = 0; i < len;) {
		const char *amp = memchr(body + i, '&', len - i);
		size_t plen = amp ? (size_t)(amp - (body + i)) : len - i;
		if (plen > 0) {
			if (++n > MOCK_FORM_MAX_PARAMS)
				return mock_err_set(e, "too many parameters (at most %d)", MOCK_FORM_MAX_PARAMS);
			if (form_pair(body + i, plen, l, e) < 0)
				return -1;
		}
		i += plen + 1;
	}
	return 0;
}

/* Append s percent-encoded to b. */
static void form_escape_into(struct sbx_buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
		    strchr("-_.~", *p))
			sbx_buf_add(b, (const char *)p, 1);
		else if (*p == ' ')
			sbx_buf_add(b, "+", 1);
		else
			sbx_buf_printf(b, "%%%c%c", hex[*p >> 4], hex[*p & 15]);
	}
}

/* Encode one value. */
char *mock_form_escape(const char *s)
{
	struct sbx_buf b = {0};

	form_escape_into(&b, s);
	return sbx_buf_steal(&b);
}

/* Encode a whole list. */
char *mock_form_encode(const struct mock_kvlist *l)
{
	struct sbx_buf b = {0};

	for (size_t i = 0; i < l->n; i++) {
		if (i)
			sbx_buf_add(&b, "&", 1);
		form_escape_into(&b, l->v[i].key);
		sbx_buf_add(&b, "=", 1);
		form_escape_into(&b, l->v[i].value ? l->v[i].value : "");
	}
	return sbx_buf_steal(&b);
}
