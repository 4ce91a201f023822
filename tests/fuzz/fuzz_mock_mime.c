/*
 * libFuzzer target: the MIME reader on GMime and the codecs (mocks/mail/mime.c, codec.c) and the
 * JSON detail view built on them (mail_msg.c), over arbitrary messages.
 */
#include "../../mocks/mail/codec.h"
#include "../../mocks/mail/mail_msg.h"
#include "../../mocks/mail/mime.h"
#include "buf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Touch every field of every part (ASan checks the strings are valid). */
static void walk(const struct mime_msg *m)
{
	size_t total = 0;

	for (size_t i = 0; i < mime_nheaders(m); i++) {
		const char *name, *value;
		mime_header_at(m, i, &name, &value);
		char *d = mime_header_decoded(m, name);
		if (!codec_utf8_valid(d, strlen(d)) && *d)
			abort(); /* decoded headers must be valid UTF-8 */
		total += strlen(name) + strlen(value) + strlen(d);
		free(d);
	}
	for (size_t i = 0; i < mime_nparts(m); i++) {
		const struct mime_part *p = mime_part_at(m, i);
		char *t = mime_part_text(p);
		total += strlen(p->content_type) + strlen(p->encoding) + strlen(t) + p->len;
		total += p->filename ? strlen(p->filename) : 0;
		if (!codec_utf8_valid(t, strlen(t)) && *t)
			abort(); /* mime_part_text must yield valid UTF-8 */
		free(t);
	}
	(void)total;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *rcpt[] = {"bob@example.org"};
	struct smtp_envelope env = {"fuzz", "alice@example.org", rcpt, 1, NULL, false, true, NULL};
	struct mime_msg *m = mime_parse((const char *)data, size);
	struct sbx_buf b = {0};
	json_t *rec, *d;
	char *s;

	walk(m);
	mime_free(m);
	rec = mail_msg_new(&env, (const char *)data, size);
	mail_msg_raw(rec, &b);
	if (b.len != size || (size && memcmp(b.data, data, size)))
		abort(); /* the raw source must round-trip */
	sbx_buf_free(&b);
	d = mail_msg_detail(rec);
	s = json_dumps(d, 0);
	if (!s)
		abort(); /* every view must serialise */
	free(s);
	json_decref(d);
	json_decref(rec);
	return 0;
}
