/* codec — base64, UTF-8 validation and charset conversion on GLib and GMime. */
#include "codec.h"

#include <errno.h>
#include <gmime/gmime.h>
#include <iconv.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static pthread_once_t gmime_once = PTHREAD_ONCE_INIT;

/* Initialise GMime (its charset tables, iconv cache and default options). */
static void gmime_init(void)
{
	g_mime_init();
}

/* Initialise GMime once. */
void codec_init(void)
{
	pthread_once(&gmime_once, gmime_init);
}

/* Decode base64 leniently (GLib). */
void codec_base64_decode(const char *in, size_t len, struct sbx_buf *out)
{
	guchar *raw = g_malloc(len / 4 * 3 + 3);
	gint state = 0;
	guint save = 0;
	gsize n = g_base64_decode_step(in, len, raw, &state, &save);

	sbx_buf_add(out, raw, n);
	g_free(raw);
}

/* Encode base64 with padding (GLib). */
void codec_base64_encode(const void *in, size_t len, struct sbx_buf *out)
{
	gchar *s = g_base64_encode(in, len);

	sbx_buf_puts(out, s);
	g_free(s);
}

/* Check UTF-8 validity (GLib: NUL is invalid too). */
bool codec_utf8_valid(const char *in, size_t len)
{
	return g_utf8_validate_len(in, len, NULL);
}

/* Append in to out with every invalid UTF-8 byte (and NUL) replaced by U+FFFD. */
static void utf8_append_valid(const char *in, size_t len, struct sbx_buf *out)
{
	gchar *s = g_utf8_make_valid(in, (gssize)len);

	sbx_buf_puts(out, s);
	g_free(s);
}

/* Whether the bytes of charset are taken as UTF-8 as they are (no charset, UTF-8, ASCII). */
static bool charset_utf8(const char *charset)
{
	return !charset || !strcasecmp(charset, "utf-8") || !strcasecmp(charset, "utf8") ||
	       !strcasecmp(charset, "us-ascii") || !strcasecmp(charset, "ascii");
}

/* Convert with cd into raw; a byte iconv refuses becomes U+FFFD. */
static void charset_convert(iconv_t cd, const char *in, size_t len, struct sbx_buf *raw)
{
	char *ip = (char *)in, chunk[4096];

	while (len > 0) {
		char *op = chunk;
		size_t room = sizeof(chunk);
		size_t rc = iconv(cd, &ip, &len, &op, &room);
		sbx_buf_add(raw, chunk, (size_t)(op - chunk));
		if (rc == (size_t)-1 && errno != E2BIG) {
			sbx_buf_add(raw, "\xef\xbf\xbd", 3);
			ip++, len--;
		}
	}
}

/*
 * Append in, in an unknown charset, as UTF-8 the way GMime reads unlabelled 8-bit text: with the
 * first of its fallback charsets (UTF-8, ISO-8859-1) that converts it best.
 */
static void charset_guess(const char *in, size_t len, struct sbx_buf *out)
{
	char *s = g_mime_utils_decode_8bit(NULL, in, len);

	utf8_append_valid(s, strlen(s), out);
	g_free(s);
}

/* Convert to UTF-8 (see codec.h). */
void codec_to_utf8(const char *in, size_t len, const char *charset, struct sbx_buf *out)
{
	struct sbx_buf raw = {0};
	iconv_t cd;

	if (charset_utf8(charset)) {
		utf8_append_valid(in, len, out);
		return;
	}
	codec_init();
	cd = iconv_open("UTF-8", g_mime_charset_iconv_name(charset));
	if (cd == (iconv_t)-1) {
		charset_guess(in, len, out);
		return;
	}
	charset_convert(cd, in, len, &raw);
	iconv_close(cd);
	utf8_append_valid(raw.data ? raw.data : "", raw.len, out);
	sbx_buf_free(&raw);
}

/* One GLib checksum of in as hex into out (size n). */
static void checksum_hex(GChecksumType type, const void *in, size_t len, char *out, size_t n)
{
	gchar *s = g_compute_checksum_for_data(type, (const guchar *)(in ? in : ""), len);

	snprintf(out, n, "%s", s ? s : "");
	g_free(s);
}

/* MD5 and SHA-1 as hex. */
void codec_md5_sha1_hex(const void *in, size_t len, char md5[33], char sha1[41])
{
	checksum_hex(G_CHECKSUM_MD5, in, len, md5, 33);
	checksum_hex(G_CHECKSUM_SHA1, in, len, sha1, 41);
}
