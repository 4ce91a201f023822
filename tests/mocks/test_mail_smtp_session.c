/* Unit tests of the SMTP state machine (mocks/mail/smtp_session.c), without sockets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../mocks/mail/smtp_session.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What the hooks saw. */
struct seen {
	int delivered;
	char data[4096];
	size_t len;
	char from[128];
	char rcpt[8][128];
	size_t nrcpt;
	char user[64];
	bool tls;
};

/* Refuse senders/recipients starting with "bad". */
static int hook_mail(void *arg, const char *from, struct smtp_reply *r)
{
	(void)arg;
	if (strncmp(from, "bad", 3))
		return 0;
	r->code = 553;
	snprintf(r->text, sizeof(r->text), "5.7.1 sender refused");
	return -1;
}

/* Refuse recipients starting with "bad". */
static int hook_rcpt(void *arg, const char *to, struct smtp_reply *r)
{
	(void)arg;
	if (strncmp(to, "bad", 3))
		return 0;
	r->code = 550;
	snprintf(r->text, sizeof(r->text), "5.1.1 no such user");
	return -1;
}

/* Accept user "u" with password "p". */
static int hook_auth(void *arg, const char *user, const char *pass, struct smtp_reply *r)
{
	struct seen *seen = arg;

	(void)r;
	snprintf(seen->user, sizeof(seen->user), "%s", user);
	return strcmp(user, "u") || strcmp(pass, "p") ? -1 : 0;
}

/* Record the delivered message. */
static int hook_deliver(void *arg, const struct smtp_envelope *env, const char *data, size_t len,
			struct smtp_reply *r)
{
	struct seen *seen = arg;

	(void)r;
	seen->delivered++;
	assert_true(len < sizeof(seen->data));
	memcpy(seen->data, data, len);
	seen->len = len;
	snprintf(seen->from, sizeof(seen->from), "%s", env->from);
	seen->nrcpt = env->nrcpt;
	for (size_t i = 0; i < env->nrcpt && i < 8; i++)
		snprintf(seen->rcpt[i], sizeof(seen->rcpt[i]), "%s", env->rcpt[i]);
	seen->tls = env->tls;
	return 0;
}

struct fixture {
	struct smtp_config cfg;
	struct smtp_hooks hooks;
	struct seen seen;
	struct smtp_session *s;
};

/* A session with small limits: lines of 100 bytes, messages of 300 bytes, 3 recipients. */
static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	f->cfg = (struct smtp_config){"mx.test", 100, 300, 3, true, false};
	f->hooks = (struct smtp_hooks){hook_mail, hook_rcpt, hook_auth, hook_deliver, &f->seen};
	f->s = smtp_session_new(&f->cfg, &f->hooks);
	*state = f;
	return 0;
}

/* Free the fixture. */
static int teardown(void **state)
{
	struct fixture *f = *state;

	smtp_session_free(f->s);
	free(f);
	return 0;
}

/* Feed text and return the replies it produced (static buffer). */
static const char *talk(struct fixture *f, const char *in)
{
	static char out[8192];
	size_t len;
	const char *o;

	smtp_session_feed(f->s, in, strlen(in));
	o = smtp_session_output(f->s, &len);
	assert_true(len < sizeof(out));
	memcpy(out, o, len);
	out[len] = '\0';
	smtp_session_output_clear(f->s);
	return out;
}

/* The greeting, EHLO capabilities, a full transaction with dot-unstuffing. */
static void test_transaction(void **state)
{
	struct fixture *f = *state;
	const char *r;

	assert_string_equal(talk(f, ""), "220 mx.test ESMTP sbx-mock-mail\r\n");
	r = talk(f, "EHLO client\r\n");
	assert_non_null(strstr(r, "250-SIZE 300\r\n"));
	assert_non_null(strstr(r, "250-8BITMIME\r\n"));
	assert_non_null(strstr(r, "250-PIPELINING\r\n"));
	assert_non_null(strstr(r, "250-STARTTLS\r\n"));
	assert_non_null(strstr(r, "250 AUTH PLAIN\r\n"));
	assert_string_equal(talk(f, "MAIL FROM:<a@x.org> BODY=8BITMIME\r\n"), "250 2.1.0 Ok\r\n");
	assert_string_equal(talk(f, "RCPT TO:<b@y.org>\r\n"), "250 2.1.5 Ok\r\n");
	assert_string_equal(talk(f, "rcpt to: <c@y.org>\r\n"), "250 2.1.5 Ok\r\n");
	assert_string_equal(talk(f, "DATA\r\n"), "354 End data with <CR><LF>.<CR><LF>\r\n");
	assert_string_equal(talk(f, "Subject: hi\r\n\r\n..leading dot\r\n.x\r\nend\r\n"), "");
	assert_int_equal(f->seen.delivered, 0);
	assert_string_equal(talk(f, ".\r\n"), "250 2.0.0 Ok: queued\r\n");
	assert_int_equal(f->seen.delivered, 1);
	assert_int_equal(f->seen.len, strlen("Subject: hi\r\n\r\n.leading dot\r\nx\r\nend\r\n"));
	assert_memory_equal(f->seen.data, "Subject: hi\r\n\r\n.leading dot\r\nx\r\nend\r\n", f->seen.len);
	assert_string_equal(f->seen.from, "a@x.org");
	assert_int_equal(f->seen.nrcpt, 2);
	assert_string_equal(f->seen.rcpt[1], "c@y.org");
	assert_string_equal(talk(f, "QUIT\r\n"), "221 2.0.0 Bye\r\n");
	assert_true(smtp_session_closed(f->s));
	assert_int_equal(smtp_session_delivered(f->s), 1);
}

/* A whole pipelined batch in one feed, split at odd places, answered in order. */
static void test_pipelining(void **state)
{
	struct fixture *f = *state;
	const char *batch = "EHLO c\r\nMAIL FROM:<>\r\nRCPT TO:<x@y>\r\nRCPT TO:<bad@y>\r\nDATA\r\n"
			    "hello\r\n.\r\nNOOP\r\nQUIT\r\nNOOP\r\n";
	char out[4096] = "";
	size_t len;

	talk(f, "");
	for (size_t i = 0; i < strlen(batch); i += 7)
		smtp_session_feed(f->s, batch + i, strlen(batch + i) < 7 ? strlen(batch + i) : 7);
	const char *o = smtp_session_output(f->s, &len);
	assert_true(len < sizeof(out));
	memcpy(out, o, len);
	assert_non_null(strstr(out, "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n550 5.1.1 no such user\r\n354 "));
	assert_non_null(strstr(out, "250 2.0.0 Ok: queued\r\n250 2.0.0 Ok\r\n221 2.0.0 Bye\r\n"));
	assert_null(strstr(strstr(out, "221"), "250")); /* nothing after QUIT */
	assert_string_equal(f->seen.from, "");
	assert_int_equal(f->seen.nrcpt, 1);
	assert_memory_equal(f->seen.data, "hello\r\n", 7);
}

/* Sequence errors, syntax errors, unknown commands, refusals by hooks. */
static void test_errors(void **state)
{
	struct fixture *f = *state;

	talk(f, "");
	assert_string_equal(talk(f, "MAIL FROM:<a@b>\r\n"), "503 5.5.1 Error: send HELO/EHLO first\r\n");
	assert_string_equal(talk(f, "HELO\r\n"), "501 5.5.4 Syntax: EHLO hostname\r\n");
	assert_string_equal(talk(f, "HELO c\r\n"), "250 mx.test greets c\r\n");
	assert_string_equal(talk(f, "RCPT TO:<a@b>\r\n"), "503 5.5.1 Error: need MAIL command\r\n");
	assert_string_equal(talk(f, "DATA\r\n"), "503 5.5.1 Error: need MAIL command\r\n");
	assert_string_equal(talk(f, "MAIL TO:<a@b>\r\n"), "501 5.5.4 Syntax: MAIL FROM:<address>\r\n");
	assert_string_equal(talk(f, "MAIL FROM:<a@b\r\n"), "501 5.5.4 Syntax: MAIL FROM:<address>\r\n");
	assert_string_equal(talk(f, "MAIL FROM:<bad@b>\r\n"), "553 5.7.1 sender refused\r\n");
	assert_string_equal(talk(f, "MAIL FROM:<a@b> FOO=1\r\n"), "555 5.5.4 Unsupported MAIL parameter\r\n");
	assert_string_equal(talk(f, "MAIL FROM:<a@b> SIZE=x\r\n"), "501 5.5.4 Syntax error in SIZE parameter\r\n");
	assert_string_equal(talk(f, "MAIL FROM:<a@b> SIZE=301\r\n"),
			    "552 5.3.4 Message size exceeds fixed maximum message size\r\n");
	assert_string_equal(talk(f, "MAIL FROM:a@b SIZE=300\r\n"), "250 2.1.0 Ok\r\n");
	assert_string_equal(talk(f, "MAIL FROM:<a@b>\r\n"), "503 5.5.1 Error: nested MAIL command\r\n");
	assert_string_equal(talk(f, "DATA\r\n"), "554 5.5.1 Error: no valid recipients\r\n");
	assert_string_equal(talk(f, "RCPT TO:<>\r\n"), "501 5.5.4 Syntax: RCPT TO:<address>\r\n");
	talk(f, "RCPT TO:<1@b>\r\nRCPT TO:<2@b>\r\nRCPT TO:<3@b>\r\n");
	assert_string_equal(talk(f, "RCPT TO:<4@b>\r\n"), "452 4.5.3 Error: too many recipients\r\n");
	assert_string_equal(talk(f, "DATA x\r\n"), "501 5.5.4 Syntax: DATA\r\n");
	assert_string_equal(talk(f, "RSET\r\n"), "250 2.0.0 Ok\r\n");
	assert_string_equal(talk(f, "RCPT TO:<a@b>\r\n"), "503 5.5.1 Error: need MAIL command\r\n");
	assert_string_equal(talk(f, "FOO\r\n"), "500 5.5.2 Error: command not recognized\r\n");
	assert_string_equal(talk(f, "\r\n"), "500 5.5.2 Error: bad syntax\r\n");
	assert_int_equal(talk(f, "VRFY x\r\n")[0], '2');
	assert_string_equal(talk(f, "noop\n"), "250 2.0.0 Ok\r\n"); /* bare LF accepted */
	assert_int_equal(f->seen.delivered, 0);
}

/* Command lines and DATA lines over max_line; messages over max_size. */
static void test_limits(void **state)
{
	struct fixture *f = *state;
	char longl[300];

	memset(longl, 'a', sizeof(longl) - 3);
	memcpy(longl + sizeof(longl) - 3, "\r\n", 3);
	talk(f, "EHLO c\r\n");
	assert_string_equal(talk(f, longl), "500 5.5.2 Error: line too long\r\n");
	/* The same long line split over several feeds (discarded without buffering). */
	smtp_session_feed(f->s, longl, 150);
	assert_string_equal(talk(f, longl + 150), "500 5.5.2 Error: line too long\r\n");
	assert_string_equal(talk(f, "NOOP\r\n"), "250 2.0.0 Ok\r\n");
	/* A long line inside DATA: the message is refused once it ends. */
	talk(f, "MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n");
	assert_string_equal(talk(f, longl), "");
	assert_string_equal(talk(f, "ok\r\n.\r\n"), "500 5.5.2 Error: line too long\r\n");
	/* Too big: 4 lines of 90 bytes > 300. */
	talk(f, "MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n");
	for (int i = 0; i < 4; i++)
		talk(f, "012345678901234567890123456789012345678901234567890123456789"
			"0123456789012345678901234567\r\n");
	assert_string_equal(talk(f, ".\r\n"),
			    "552 5.3.4 Message size exceeds fixed maximum message size\r\n");
	assert_int_equal(f->seen.delivered, 0);
	/* After a refusal the session goes on. */
	talk(f, "MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n");
	assert_string_equal(talk(f, "small\r\n.\r\n"), "250 2.0.0 Ok: queued\r\n");
	assert_int_equal(f->seen.delivered, 1);
}

/* AUTH PLAIN with an initial response, with a continuation, bad credentials, cancel. */
static void test_auth(void **state)
{
	struct fixture *f = *state;

	f->cfg.auth_required = true;
	talk(f, "EHLO c\r\n");
	assert_string_equal(talk(f, "MAIL FROM:<a@b>\r\n"), "530 5.7.0 Authentication required\r\n");
	assert_string_equal(talk(f, "AUTH LOGIN\r\n"), "504 5.5.4 Unrecognized authentication type\r\n");
	/* "\0u\0x" */
	assert_int_equal(talk(f, "AUTH PLAIN AHUAeA==\r\n")[0], '5');
	assert_string_equal(talk(f, "AUTH PLAIN\r\n"), "334 \r\n");
	assert_string_equal(talk(f, "*\r\n"), "501 5.7.0 Authentication aborted\r\n");
	assert_string_equal(talk(f, "AUTH PLAIN\r\n"), "334 \r\n");
	assert_string_equal(talk(f, "bm90LWJhc2U2NA\r\n"), "501 5.5.2 Malformed AUTH PLAIN response\r\n");
	/* "\0u\0p" */
	assert_string_equal(talk(f, "AUTH PLAIN AHUAcA==\r\n"), "235 2.7.0 Authentication successful\r\n");
	assert_string_equal(f->seen.user, "u");
	assert_string_equal(talk(f, "AUTH PLAIN AHUAcA==\r\n"), "503 5.5.1 Error: already authenticated\r\n");
	assert_string_equal(talk(f, "MAIL FROM:<a@b>\r\n"), "250 2.1.0 Ok\r\n");
}

/* STARTTLS stops processing (pipelined bytes after it are dropped) and resets the session. */
static void test_starttls(void **state)
{
	struct fixture *f = *state;

	talk(f, "EHLO c\r\n");
	assert_string_equal(talk(f, "STARTTLS\r\nMAIL FROM:<injected@x>\r\n"),
			    "220 2.0.0 Ready to start TLS\r\n");
	assert_true(smtp_session_tls_pending(f->s));
	smtp_session_tls_started(f->s);
	assert_false(smtp_session_tls_pending(f->s));
	assert_string_equal(talk(f, "MAIL FROM:<a@b>\r\n"), "503 5.5.1 Error: send HELO/EHLO first\r\n");
	assert_null(strstr(talk(f, "EHLO c\r\n"), "STARTTLS"));
	assert_string_equal(talk(f, "STARTTLS\r\n"), "503 5.5.1 TLS already active\r\n");
	talk(f, "MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\nx\r\n.\r\n");
	assert_true(f->seen.tls);
	f->cfg.tls_available = false;
	smtp_session_abort(f->s, 421, "4.4.2 bye");
	assert_true(smtp_session_closed(f->s));
	assert_string_equal(talk(f, "NOOP\r\n"), "421 4.4.2 bye\r\n");
}

/* LF-only line endings are kept as sent in the stored message. */
static void test_bare_lf(void **state)
{
	struct fixture *f = *state;

	talk(f, "HELO c\nMAIL FROM:<a@b>\nRCPT TO:<c@d>\nDATA\n");
	assert_string_equal(talk(f, "a\n..b\n.\n"), "250 2.0.0 Ok: queued\r\n");
	assert_int_equal(f->seen.len, 5);
	assert_memory_equal(f->seen.data, "a\n.b\n", 5);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_transaction, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pipelining, setup, teardown),
		cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_limits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_auth, setup, teardown),
		cmocka_unit_test_setup_teardown(test_starttls, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bare_lf, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
