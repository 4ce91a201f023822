/* Unit tests of the MIME reader on GMime and the codecs (mocks/mail/mime.c, codec.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../mocks/mail/codec.h"
#include "../../mocks/mail/mime.h"
#include "buf.h"
#include "mime_fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Parse a NUL-terminated message. */
static struct mime_msg *parse(const char *raw)
{
	return mime_parse(raw, strlen(raw));
}

/* Check the decoded value of a top-level header. */
static void assert_decoded(const struct mime_msg *m, const char *name, const char *want)
{
	char *s = mime_header_decoded(m, name);

	assert_non_null(s);
	assert_string_equal(s, want);
	free(s);
}

/* base64 both ways, with line breaks and junk; UTF-8 validity. */
static void test_codecs(void **state)
{
	struct sbx_buf b = {0};

	(void)state;
	codec_base64_decode("aGVs\r\nbG8g d29y!bGQ=", 20, &b);
	assert_string_equal(b.data, "hello world");
	b.len = 0;
	codec_base64_encode("hello world", 11, &b);
	assert_string_equal(b.data, "aGVsbG8gd29ybGQ=");
	b.len = 0;
	codec_base64_encode("ab", 2, &b);
	assert_string_equal(b.data, "YWI=");
	sbx_buf_free(&b);
	assert_true(codec_utf8_valid("caf\xc3\xa9", 5));
	assert_false(codec_utf8_valid("caf\xe9", 4));
	assert_false(codec_utf8_valid("\xc0\xaf", 2));       /* overlong */
	assert_false(codec_utf8_valid("\xed\xa0\x80", 3));   /* surrogate */
}

/* Charsets: Latin-1, invalid UTF-8, what iconv knows beyond (KOI8-R, Windows-1252), NUL. */
static void test_charsets(void **state)
{
	struct sbx_buf b = {0};

	(void)state;
	codec_to_utf8("caf\xe9", 4, "ISO-8859-1", &b);
	assert_string_equal(b.data, "caf\xc3\xa9");
	b.len = 0;
	codec_to_utf8("caf\xe9", 4, "utf-8", &b);
	assert_string_equal(b.data, "caf\xef\xbf\xbd");
	b.len = 0;
	codec_to_utf8("\xf0\xd2\xc9\xd7\xc5\xd4", 6, "koi8-r", &b);
	assert_string_equal(b.data, "\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82"); /* Привет */
	b.len = 0;
	codec_to_utf8("\x93q\x94 \x80", 5, "windows-1252", &b);
	assert_string_equal(b.data, "\xe2\x80\x9cq\xe2\x80\x9d \xe2\x82\xac"); /* “q” € */
	b.len = 0;
	codec_to_utf8("a\0b", 3, "iso-8859-1", &b);
	assert_string_equal(b.data, "a\xef\xbf\xbd" "b");
	b.len = 0;
	codec_to_utf8("caf\xe9", 4, "x-no-such-charset", &b); /* GMime's fallback: Latin-1 */
	assert_string_equal(b.data, "caf\xc3\xa9");
	sbx_buf_free(&b);
}

/* RFC 2047 encoded words: B and Q, UTF-8 and ISO-8859-1, adjacent words, a broken one. */
static void test_encoded_words(void **state)
{
	struct mime_msg *m = parse(
		"Subject: =?UTF-8?B?w6l0w6k=?= =?ISO-8859-1?Q?_=E0_la?= plage =?bogus\r\n"
		"From: =?ISO-8859-1?Q?Zo=EB_=C5ngstr=F6m?= <zoe@example.org>\r\n"
		"X-Q: =?UTF-8?Q?a_b=5F?=\r\n"
		"\r\nbody\r\n");

	(void)state;
	assert_decoded(m, "Subject", "\xc3\xa9t\xc3\xa9 \xc3\xa0 la plage =?bogus");
	assert_decoded(m, "From", "Zo\xc3\xab \xc3\x85ngstr\xc3\xb6m <zoe@example.org>");
	assert_decoded(m, "X-Q", "a b_");
	assert_string_equal(mime_header(m, "Subject"),
			    "=?UTF-8?B?w6l0w6k=?= =?ISO-8859-1?Q?_=E0_la?= plage =?bogus");
	mime_free(m);
}

/* Quoted-printable bodies: soft line breaks, escapes, and a bad escape kept as it is. */
static void test_quoted_printable(void **state)
{
	struct mime_msg *m = parse("Content-Type: text/plain; charset=utf-8\r\n"
				   "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
				   "caf=C3=A9 =\r\nsoft=3D=\nbreak =ZZ end");
	const struct mime_part *p = mime_body(m, "text/plain");

	(void)state;
	assert_non_null(p);
	assert_string_equal(p->body, "caf\xc3\xa9 soft=break =ZZ end");
	mime_free(m);
}

static const char multipart_msg[] =
	"From: Alice <alice@example.org>\r\n"
	"To: bob@example.org\r\n"
	"Subject: =?UTF-8?Q?R=C3=A9sum=C3=A9?= and\r\n"
	" more\r\n"
	"MIME-Version: 1.0\r\n"
	"Content-Type: multipart/mixed; boundary=\"outer\"\r\n"
	"\r\n"
	"preamble\r\n"
	"--outer\r\n"
	"Content-Type: multipart/alternative; boundary=inner\r\n"
	"\r\n"
	"--inner\r\n"
	"Content-Type: text/plain; charset=ISO-8859-1\r\n"
	"Content-Transfer-Encoding: quoted-printable\r\n"
	"\r\n"
	"Caf=E9 au lait, a long line that is =\r\n"
	"softly broken.\r\n"
	"--inner\r\n"
	"Content-Type: text/html; charset=utf-8\r\n"
	"\r\n"
	"<p>Caf\xc3\xa9</p>\r\n"
	"--inner--\r\n"
	"--outer\r\n"
	"Content-Type: application/pdf; name=\"ignored.pdf\"\r\n"
	"Content-Disposition: attachment;\r\n"
	"  filename*=utf-8''r%C3%A9sum%C3%A9.pdf\r\n"
	"Content-Transfer-Encoding: base64\r\n"
	"\r\n"
	"JVBERi0xLjQK\r\n"
	"AAEC\r\n"
	"--outer\r\n"
	"Content-Type: image/png\r\n"
	"Content-ID: <logo@x>\r\n"
	"Content-Transfer-Encoding: base64\r\n"
	"\r\n"
	"iVBORw==\r\n"
	"--outer--\r\n"
	"epilogue\r\n";

/* A nested multipart message with text, HTML, an attachment and an inline image. */
static void test_multipart(void **state)
{
	struct mime_msg *m = parse(multipart_msg);
	const struct mime_part *p;
	char *s;

	(void)state;
	assert_int_equal(mime_nheaders(m), 5);
	assert_string_equal(mime_header(m, "to"), "bob@example.org");
	assert_decoded(m, "Subject", "R\xc3\xa9sum\xc3\xa9 and more");
	assert_null(mime_header(m, "Cc"));
	assert_null(mime_header_decoded(m, "Cc"));
	assert_int_equal(mime_nparts(m), 4);

	p = mime_body(m, "text/plain");
	assert_non_null(p);
	assert_string_equal(p->encoding, "quoted-printable");
	s = mime_part_text(p);
	assert_string_equal(s, "Caf\xc3\xa9 au lait, a long line that is softly broken.");
	free(s);
	p = mime_body(m, "text/html");
	assert_non_null(p);
	assert_string_equal(p->body, "<p>Caf\xc3\xa9</p>");

	p = mime_part_at(m, 2);
	assert_true(p->attachment);
	assert_string_equal(p->content_type, "application/pdf");
	assert_string_equal(p->disposition, "attachment");
	assert_string_equal(p->filename, "r\xc3\xa9sum\xc3\xa9.pdf");
	assert_int_equal(p->len, 12);
	assert_memory_equal(p->body, "%PDF-1.4\n\x00\x01\x02", 12);

	p = mime_part_at(m, 3);
	assert_true(p->attachment);
	assert_null(p->filename);
	assert_string_equal(p->content_id, "logo@x");
	assert_int_equal(p->len, 4);
	mime_free(m);
}

/*
 * multipart/alternative inside multipart/mixed: the leaves in order, each decoded (base64 UTF-8,
 * quoted-printable Latin-1), an RFC 2047 subject, and a forwarded message/rfc822 kept byte for
 * byte (CRLF) with an encoded-word filename.
 */
static void test_nested(void **state)
{
	struct mime_msg *m = parse(mime_fixture);
	const struct mime_part *p;
	char *s;

	(void)state;
	assert_decoded(m, "subject", "R\xc3\xa9sum\xc3\xa9 du mois");
	assert_decoded(m, "from", "Zo\xc3\xab <zoe@example.org>");
	assert_int_equal(mime_nparts(m), 3);
	p = mime_part_at(m, 0);
	assert_string_equal(p->content_type, "text/plain");
	assert_string_equal(p->encoding, "base64");
	assert_false(p->attachment);
	assert_string_equal(p->body, "\xc3\xa9t\xc3\xa9");
	p = mime_part_at(m, 1);
	assert_string_equal(p->content_type, "text/html");
	assert_string_equal(p->charset, "iso-8859-1");
	assert_string_equal(p->body, "<p>\xe9t\xe9</p>");
	s = mime_part_text(p);
	assert_string_equal(s, "<p>\xc3\xa9t\xc3\xa9</p>");
	free(s);
	p = mime_part_at(m, 2);
	assert_string_equal(p->content_type, "message/rfc822");
	assert_true(p->attachment);
	assert_string_equal(p->filename, "r\xc3\xa9ponse.eml");
	assert_string_equal(p->body, "Subject: inner\r\n\r\ninner body");
	assert_ptr_equal(mime_body(m, "text/html"), mime_part_at(m, 1));
	mime_free(m);
}

/* A message without MIME headers is one text/plain part; LF-only endings work. */
static void test_plain(void **state)
{
	struct mime_msg *m = parse("Subject: hi\nX-Folded: a\n\tb\n\nbody line\n");
	const struct mime_part *p;

	(void)state;
	assert_string_equal(mime_header(m, "x-folded"), "a\tb");
	assert_int_equal(mime_nparts(m), 1);
	p = mime_body(m, "text/plain");
	assert_non_null(p);
	assert_string_equal(p->body, "body line\n");
	assert_false(p->attachment);
	mime_free(m);

	m = parse("no headers at all\r\n");
	assert_int_equal(mime_nheaders(m), 0);
	assert_string_equal(mime_part_at(m, 0)->body, "no headers at all\r\n");
	mime_free(m);

	/* No blank line after the headers: the body starts at the first line without a ':'. */
	m = parse("Subject: hand-made\nhello world\nsecond line\n");
	assert_int_equal(mime_nheaders(m), 1);
	assert_string_equal(mime_body(m, "text/plain")->body, "hello world\nsecond line\n");
	mime_free(m);
}

/* Broken structure: missing boundary, no delimiter, no closing delimiter, deep nesting. */
static void test_malformed(void **state)
{
	struct mime_msg *m;
	char deep[8192];
	size_t n = 0;

	(void)state;
	m = parse("Content-Type: multipart/mixed\r\n\r\nno boundary param\r\n");
	assert_int_equal(mime_nparts(m), 1);
	assert_string_equal(mime_part_at(m, 0)->content_type, "multipart/mixed");
	mime_free(m);
	m = parse("Content-Type: multipart/mixed; boundary=b\r\n\r\nno delimiter\r\n");
	assert_int_equal(mime_nparts(m), 1);
	mime_free(m);
	m = parse("Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\nunterminated");
	assert_int_equal(mime_nparts(m), 1);
	assert_string_equal(mime_part_at(m, 0)->body, "unterminated");
	mime_free(m);
	/* A vertical tab (isspace, not a separator) once looped forever (found by the fuzzer). */
	m = parse("Content-Type: multipart/mixed\xff\x0b; boundary=b \x0b; q=\"x\"y\x0b\r\n\r\nx");
	assert_int_equal(mime_nparts(m), 1);
	mime_free(m);
	m = parse("Content-Type: ;;; =; a=\"unterminated\r\n\r\nx");
	assert_string_equal(mime_part_at(m, 0)->content_type, "text/plain");
	mime_free(m);
	for (int i = 0; i < 40; i++)
		n += (size_t)snprintf(deep + n, sizeof(deep) - n,
				      "Content-Type: multipart/mixed; boundary=b%d\r\n\r\n--b%d\r\n", i, i);
	m = mime_parse(deep, n);
	assert_int_equal(mime_nparts(m), 1); /* nesting stops at MIME_MAX_DEPTH */
	mime_free(m);
	m = mime_parse(NULL, 0);
	assert_int_equal(mime_nparts(m), 1);
	mime_free(m);
	mime_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_codecs),          cmocka_unit_test(test_charsets),
		cmocka_unit_test(test_encoded_words),   cmocka_unit_test(test_quoted_printable),
		cmocka_unit_test(test_multipart),       cmocka_unit_test(test_nested),
		cmocka_unit_test(test_plain),           cmocka_unit_test(test_malformed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
