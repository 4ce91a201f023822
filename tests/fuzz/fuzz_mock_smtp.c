/*
 * libFuzzer target: the SMTP state machine (mocks/mail/smtp_session.c) fed arbitrary client bytes
 * in arbitrary chunks, with delivered messages turned into records and MIME detail views.
 * The first byte picks the chunk size and whether STARTTLS "succeeds".
 */
#include "../../mocks/mail/mail_msg.h"
#include "../../mocks/mail/smtp_session.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Refuse addresses starting with 'x' (exercises the refusal path). */
static int hook_addr(void *arg, const char *addr, struct smtp_reply *r)
{
	(void)arg;
	if (addr[0] != 'x')
		return 0;
	r->code = 550;
	snprintf(r->text, sizeof(r->text), "5.1.1 refused");
	return -1;
}

/* Accept only "u"/"p". */
static int hook_auth(void *arg, const char *user, const char *pass, struct smtp_reply *r)
{
	(void)arg;
	(void)r;
	return strcmp(user, "u") || strcmp(pass, "p") ? -1 : 0;
}

/* Build the record and its detail view, then drop them. */
static int hook_deliver(void *arg, const struct smtp_envelope *env, const char *data, size_t len,
			struct smtp_reply *r)
{
	json_t *rec = mail_msg_new(env, data, len), *d = mail_msg_detail(rec);
	char *s = json_dumps(d, 0);

	(void)arg;
	(void)r;
	free(s);
	json_decref(d);
	json_decref(rec);
	return len % 7 == 3 ? -1 : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct smtp_config cfg = {"fuzz", 128, 4096, 4, true, false};
	static const struct smtp_hooks hooks = {hook_addr, hook_addr, hook_auth, hook_deliver, NULL};
	struct smtp_session *s;
	size_t chunk, len;

	if (size < 1)
		return 0;
	chunk = (data[0] & 0x3f) + 1;
	s = smtp_session_new(&cfg, &hooks);
	smtp_session_set_peer(s, "127.0.0.1");
	for (size_t i = 1; i < size && !smtp_session_closed(s); i += chunk) {
		size_t n = size - i < chunk ? size - i : chunk;
		smtp_session_feed(s, (const char *)data + i, n);
		smtp_session_output(s, &len);
		smtp_session_output_clear(s);
		if (smtp_session_tls_pending(s)) {
			if (data[0] & 0x40)
				break;
			smtp_session_tls_started(s);
		}
	}
	smtp_session_free(s);
	return 0;
}
