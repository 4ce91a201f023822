/*
 * libFuzzer target: the Mailpit search query reader (mocks/mail/mailpit_query.c) and the Mailpit
 * views of a message (mailpit_msg.c). The input is a query, a newline, then a message: the query
 * is read and, when it parses, matched against the message's index; the message's summary, full
 * view and headers must serialise whatever it holds.
 */
#include "../../mocks/mail/mail_msg.h"
#include "../../mocks/mail/mailpit_msg.h"
#include "../../mocks/mail/mailpit_query.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Serialise a view (abort when it cannot be) and drop it. */
static void dump(json_t *v)
{
	char *s = v ? json_dumps(v, 0) : NULL;

	if (!s)
		abort(); /* every view must serialise */
	free(s);
	json_decref(v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *rcpt[] = {"bob@example.org"};
	struct smtp_envelope env = {"fuzz", "alice@example.org", rcpt, 1, NULL, false, true, NULL};
	const uint8_t *nl = memchr(data, '\n', size);
	size_t qlen = nl ? (size_t)(nl - data) : size;
	char *query = strndup((const char *)data, qlen);
	const char *msg = nl ? (const char *)nl + 1 : "";
	size_t mlen = nl ? size - qlen - 1 : 0;
	struct mailpit_query *q = NULL;
	struct mock_err e = {{0}};
	json_t *rec = mail_msg_new(&env, msg, mlen);
	enum mailpit_query_rc rc = mailpit_query_parse(query, &q, &e);

	if ((rc == MAILPIT_QUERY_OK) != (q != NULL) || (rc != MAILPIT_QUERY_OK && !e.msg[0]))
		abort(); /* a query, or an error message */
	json_object_set_new(rec, "mailpit", mailpit_msg_index(msg, mlen));
	if (q) {
		json_t *ix = mailpit_msg_record_index(rec, true);
		bool a = mailpit_query_match(q, ix, (json_int_t)mlen, false);
		bool b = mailpit_query_match(q, ix, (json_int_t)mlen, false);
		if (a != b)
			abort(); /* matching is a pure function */
		json_decref(ix);
	}
	dump(mailpit_msg_summary(rec));
	dump(mailpit_msg_full(rec));
	dump(mailpit_msg_headers(rec));
	mailpit_query_free(q);
	json_decref(rec);
	free(query);
	return 0;
}
