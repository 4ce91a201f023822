/*
 * A MIME message the mail tests share (one entity per line): an RFC 2047 subject (B, UTF-8) and
 * sender (Q, ISO-8859-1), multipart/alternative (base64 UTF-8 text, quoted-printable Latin-1
 * HTML) inside multipart/mixed, and a forwarded message/rfc822 with an encoded-word filename.
 */
#ifndef SBX_TEST_MIME_FIXTURE_H
#define SBX_TEST_MIME_FIXTURE_H

static const char mime_fixture[] =
	"Subject: =?UTF-8?B?UsOpc3Vtw6kgZHUgbW9pcw==?=\r\n"
	"From: =?ISO-8859-1?Q?Zo=EB?= <zoe@example.org>\r\n"
	"Content-Type: multipart/mixed; boundary=mixed\r\n\r\n"
	"--mixed\r\nContent-Type: multipart/alternative; boundary=alt\r\n\r\n"
	"--alt\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n"
	"\r\nw6l0w6k=\r\n"
	"--alt\r\nContent-Type: text/html; charset=iso-8859-1\r\n"
	"Content-Transfer-Encoding: quoted-printable\r\n\r\n<p>=E9t=E9</p>\r\n"
	"--alt--\r\n"
	"--mixed\r\nContent-Type: message/rfc822\r\n"
	"Content-Disposition: attachment; filename=\"=?UTF-8?Q?r=C3=A9ponse.eml?=\"\r\n\r\n"
	"Subject: inner\r\n\r\ninner body\r\n"
	"--mixed--\r\n";

#endif
