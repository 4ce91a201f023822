/* smtp_session — the SMTP protocol state machine of one connection (no I/O). */
#include "smtp_session.h"

#include "buf.h"
#include "codec.h"
#include "mock_util.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum smtp_state { ST_CMD, ST_DATA, ST_AUTH, ST_TLS, ST_CLOSED };

struct smtp_session {
	const struct smtp_config *cfg;
	struct smtp_hooks hooks;
	enum smtp_state state;
	struct sbx_buf out;   /* pending replies */
	struct sbx_buf line;  /* the line being received */
	struct sbx_buf data;  /* the message being received (DATA) */
	bool discarding;       /* the current line is too long: skip to its end */
	char *helo;            /* NULL until EHLO/HELO */
	bool esmtp;
	char *from;            /* NULL outside a transaction */
	char **rcpt;
	size_t nrcpt;
	char *auth_user;
	char *peer;
	bool tls;
	bool data_too_long;    /* a DATA line was too long */
	bool data_too_big;     /* the message exceeded max_size */
	size_t delivered;
};

/* A command handler: replies into s->out, returns 0. */
typedef int (*cmd_fn)(struct smtp_session *s, char *arg);

/* Append a reply line: "code text" (last) or "code-text" (continued). */
static void reply_line(struct smtp_session *s, int code, bool last, const char *text)
{
	sbx_buf_printf(&s->out, "%03d%c%s\r\n", code, last ? ' ' : '-', text);
}

/* Append a one-line reply. Returns 0 (so that handlers can `return reply(...)`). */
static int reply(struct smtp_session *s, int code, const char *text)
{
	reply_line(s, code, true, text);
	return 0;
}

/* Forget the mail transaction (sender, recipients, data). */
static void txn_reset(struct smtp_session *s)
{
	free(s->from);
	s->from = NULL;
	for (size_t i = 0; i < s->nrcpt; i++)
		free(s->rcpt[i]);
	free(s->rcpt);
	s->rcpt = NULL;
	s->nrcpt = 0;
	sbx_buf_free(&s->data);
	s->data_too_long = s->data_too_big = false;
}

/* Create a session (see smtp_session.h). */
struct smtp_session *smtp_session_new(const struct smtp_config *cfg, const struct smtp_hooks *hooks)
{
	struct smtp_session *s = mock_xcalloc(1, sizeof(*s));
	char text[300];

	s->cfg = cfg;
	if (hooks)
		s->hooks = *hooks;
	snprintf(text, sizeof(text), "%s ESMTP sbx-mock-mail", cfg->hostname);
	reply(s, 220, text);
	return s;
}

/* Free a session. */
void smtp_session_free(struct smtp_session *s)
{
	if (!s)
		return;
	txn_reset(s);
	free(s->helo);
	free(s->auth_user);
	free(s->peer);
	sbx_buf_free(&s->out);
	sbx_buf_free(&s->line);
	free(s);
}

/* Skip blanks. */
static char *skip_blanks(char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

/*
 * Parse "KEYWORD:<addr> params" (keyword "FROM" or "TO"): on success *addr points into arg (the
 * address, brackets removed) and *params at the rest. Returns 0 / -1.
 */
static int path_parse(char *arg, const char *keyword, char **addr, char **params)
{
	size_t kl = strlen(keyword);
	char *p, *end;

	if (strncasecmp(arg, keyword, kl) || arg[kl] != ':')
		return -1;
	p = skip_blanks(arg + kl + 1);
	if (*p == '<') {
		end = strchr(p, '>');
		if (!end)
			return -1;
		*end = '\0';
		*addr = p + 1;
		*params = skip_blanks(end + 1);
	} else {
		end = p + strcspn(p, " \t");
		*params = skip_blanks(end + (*end != '\0'));
		*end = '\0';
		*addr = p;
		if (!**addr)
			return -1;
	}
	return strpbrk(*addr, " \t<>") ? -1 : 0;
}

/* Check the MAIL parameters (SIZE=, BODY=, ...). Returns 0, or -1 after replying. */
static int mail_params(struct smtp_session *s, char *params)
{
	static const char *const known[] = {"BODY", "AUTH", "SMTPUTF8", "RET", "ENVID"};
	char *save = NULL;

	for (char *t = strtok_r(params, " \t", &save); t; t = strtok_r(NULL, " \t", &save)) {
		int64_t size;
		bool ok = false;
		if (!strncasecmp(t, "SIZE=", 5)) {
			if (mock_parse_int(t + 5, 0, INT64_MAX, &size)) {
				reply(s, 501, "5.5.4 Syntax error in SIZE parameter");
				return -1;
			}
			if ((uint64_t)size > s->cfg->max_size) {
				reply(s, 552, "5.3.4 Message size exceeds fixed maximum message size");
				return -1;
			}
			continue;
		}
		for (size_t i = 0; i < MOCK_NELEM(known) && !ok; i++)
			ok = !strncasecmp(t, known[i], strlen(known[i])) &&
			     (t[strlen(known[i])] == '=' || t[strlen(known[i])] == '\0');
		if (!ok) {
			reply(s, 555, "5.5.4 Unsupported MAIL parameter");
			return -1;
		}
	}
	return 0;
}

/* Reply with a hook's refusal (defaulting the code when the hook left it unset). */
static int reply_refusal(struct smtp_session *s, struct smtp_reply *r, int dflt)
{
	if (r->code < 200 || r->code > 599)
		r->code = dflt;
	if (!r->text[0])
		snprintf(r->text, sizeof(r->text), "%s", r->code >= 500 ? "5.7.1 Rejected" :
							      "4.7.1 Try again later");
	return reply(s, r->code, r->text);
}

/* HELO / EHLO: greet, reset the transaction. */
static int greet(struct smtp_session *s, char *arg, bool esmtp)
{
	char text[300];

	if (!*arg) {
		reply(s, 501, "5.5.4 Syntax: EHLO hostname");
		return 0;
	}
	txn_reset(s);
	free(s->helo);
	s->helo = mock_xstrdup(arg);
	s->esmtp = esmtp;
	snprintf(text, sizeof(text), "%s greets %.200s", s->cfg->hostname, arg);
	if (!esmtp) {
		reply(s, 250, text);
		return 0;
	}
	reply_line(s, 250, false, text);
	snprintf(text, sizeof(text), "SIZE %zu", s->cfg->max_size);
	reply_line(s, 250, false, text);
	reply_line(s, 250, false, "8BITMIME");
	reply_line(s, 250, false, "PIPELINING");
	reply_line(s, 250, false, "ENHANCEDSTATUSCODES");
	if (s->cfg->tls_available && !s->tls)
		reply_line(s, 250, false, "STARTTLS");
	return reply(s, 250, "AUTH PLAIN");
}

/* HELO. */
static int cmd_helo(struct smtp_session *s, char *arg)
{
	return greet(s, arg, false);
}

/* EHLO. */
static int cmd_ehlo(struct smtp_session *s, char *arg)
{
	return greet(s, arg, true);
}

/* MAIL FROM:<addr> [params]. */
static int cmd_mail(struct smtp_session *s, char *arg)
{
	struct smtp_reply r = {0};
	char *addr, *params;

	if (!s->helo)
		return reply(s, 503, "5.5.1 Error: send HELO/EHLO first");
	if (s->cfg->auth_required && !s->auth_user)
		return reply(s, 530, "5.7.0 Authentication required");
	if (s->from)
		return reply(s, 503, "5.5.1 Error: nested MAIL command");
	if (path_parse(arg, "FROM", &addr, &params))
		return reply(s, 501, "5.5.4 Syntax: MAIL FROM:<address>");
	if (mail_params(s, params))
		return 0;
	if (s->hooks.mail && s->hooks.mail(s->hooks.arg, addr, &r))
		return reply_refusal(s, &r, 550);
	s->from = mock_xstrdup(addr);
	return reply(s, 250, "2.1.0 Ok");
}

/* RCPT TO:<addr>. */
static int cmd_rcpt(struct smtp_session *s, char *arg)
{
	struct smtp_reply r = {0};
	char *addr, *params;

	if (!s->from)
		return reply(s, 503, "5.5.1 Error: need MAIL command");
	if (path_parse(arg, "TO", &addr, &params) || !*addr)
		return reply(s, 501, "5.5.4 Syntax: RCPT TO:<address>");
	if (s->nrcpt >= s->cfg->max_rcpt)
		return reply(s, 452, "4.5.3 Error: too many recipients");
	if (s->hooks.rcpt && s->hooks.rcpt(s->hooks.arg, addr, &r))
		return reply_refusal(s, &r, 550);
	s->rcpt = mock_xrealloc(s->rcpt, (s->nrcpt + 1) * sizeof(*s->rcpt));
	s->rcpt[s->nrcpt++] = mock_xstrdup(addr);
	return reply(s, 250, "2.1.5 Ok");
}

/* DATA: switch to message reception. */
static int cmd_data(struct smtp_session *s, char *arg)
{
	if (*arg)
		return reply(s, 501, "5.5.4 Syntax: DATA");
	if (!s->from)
		return reply(s, 503, "5.5.1 Error: need MAIL command");
	if (!s->nrcpt)
		return reply(s, 554, "5.5.1 Error: no valid recipients");
	sbx_buf_add(&s->data, "", 0);
	s->state = ST_DATA;
	return reply(s, 354, "End data with <CR><LF>.<CR><LF>");
}

/* RSET. */
static int cmd_rset(struct smtp_session *s, char *arg)
{
	(void)arg;
	txn_reset(s);
	return reply(s, 250, "2.0.0 Ok");
}

/* NOOP. */
static int cmd_noop(struct smtp_session *s, char *arg)
{
	(void)arg;
	return reply(s, 250, "2.0.0 Ok");
}

/* QUIT. */
static int cmd_quit(struct smtp_session *s, char *arg)
{
	(void)arg;
	reply(s, 221, "2.0.0 Bye");
	s->state = ST_CLOSED;
	return 0;
}

/* VRFY: never verifies. */
static int cmd_vrfy(struct smtp_session *s, char *arg)
{
	(void)arg;
	return reply(s, 252, "2.0.0 Cannot VRFY user, but will accept message and attempt delivery");
}

/* HELP. */
static int cmd_help(struct smtp_session *s, char *arg)
{
	(void)arg;
	return reply(s, 214, "2.0.0 EHLO HELO MAIL RCPT DATA RSET NOOP QUIT VRFY HELP STARTTLS AUTH");
}

/* STARTTLS. */
static int cmd_starttls(struct smtp_session *s, char *arg)
{
	if (*arg)
		return reply(s, 501, "5.5.4 Syntax: STARTTLS");
	if (!s->cfg->tls_available)
		return reply(s, 502, "5.5.1 STARTTLS not available");
	if (s->tls)
		return reply(s, 503, "5.5.1 TLS already active");
	reply(s, 220, "2.0.0 Ready to start TLS");
	s->state = ST_TLS;
	return 0;
}

/* Check a base64 AUTH PLAIN response ("authzid\0user\0pass") and reply. */
static int auth_plain(struct smtp_session *s, const char *b64)
{
	struct sbx_buf raw = {0};
	struct smtp_reply r = {0};
	const char *user, *pass, *end;

	codec_base64_decode(b64, strlen(b64), &raw);
	end = raw.data + raw.len;
	user = memchr(raw.data, '\0', raw.len);
	pass = user && user + 1 < end ? memchr(user + 1, '\0', (size_t)(end - user - 1)) : NULL;
	if (!pass || memchr(pass + 1, '\0', (size_t)(end - pass - 1))) {
		reply(s, 501, "5.5.2 Malformed AUTH PLAIN response");
		goto out;
	}
	user++, pass++;
	if (s->hooks.auth && s->hooks.auth(s->hooks.arg, user, pass, &r)) {
		reply_refusal(s, &r, 535);
		goto out;
	}
	s->auth_user = mock_xstrdup(user);
	reply(s, 235, "2.7.0 Authentication successful");
out:
	sbx_buf_free(&raw);
	return 0;
}

/* AUTH PLAIN [initial-response]. */
static int cmd_auth(struct smtp_session *s, char *arg)
{
	char *mech = arg, *resp;

	if (!s->helo)
		return reply(s, 503, "5.5.1 Error: send EHLO first");
	if (s->auth_user)
		return reply(s, 503, "5.5.1 Error: already authenticated");
	if (s->from)
		return reply(s, 503, "5.5.1 Error: MAIL transaction in progress");
	resp = mech + strcspn(mech, " \t");
	if (*resp)
		*resp++ = '\0';
	resp = skip_blanks(resp);
	if (strcasecmp(mech, "PLAIN"))
		return reply(s, 504, "5.5.4 Unrecognized authentication type");
	if (!*resp) {
		s->state = ST_AUTH;
		return reply(s, 334, "");
	}
	return auth_plain(s, strcmp(resp, "=") ? resp : "");
}

/* The AUTH continuation line. */
static int auth_line(struct smtp_session *s, char *line)
{
	s->state = ST_CMD;
	if (!strcmp(line, "*"))
		return reply(s, 501, "5.7.0 Authentication aborted");
	return auth_plain(s, line);
}

static const struct {
	const char *verb;
	cmd_fn fn;
} commands[] = {
	{"EHLO", cmd_ehlo}, {"HELO", cmd_helo}, {"MAIL", cmd_mail}, {"RCPT", cmd_rcpt},
	{"DATA", cmd_data}, {"RSET", cmd_rset}, {"NOOP", cmd_noop}, {"QUIT", cmd_quit},
	{"VRFY", cmd_vrfy}, {"HELP", cmd_help}, {"STARTTLS", cmd_starttls}, {"AUTH", cmd_auth},
};

/* Dispatch one command line (line ending removed, NUL-terminated). */
static int command(struct smtp_session *s, char *line)
{
	size_t vl = strcspn(line, " \t");
	char *arg = skip_blanks(line + vl);

	if (!*line)
		return reply(s, 500, "5.5.2 Error: bad syntax");
	for (size_t i = 0; i < MOCK_NELEM(commands); i++) {
		if (strlen(commands[i].verb) == vl && !strncasecmp(line, commands[i].verb, vl)) {
			size_t al = strlen(arg);
			while (al && (arg[al - 1] == ' ' || arg[al - 1] == '\t'))
				arg[--al] = '\0';
			commands[i].fn(s, arg);
			return 0;
		}
	}
	return reply(s, 500, "5.5.2 Error: command not recognized");
}

/* The end of DATA: refuse or deliver the message, then end the transaction. */
static int data_end(struct smtp_session *s)
{
	struct smtp_reply r = {0};
	struct smtp_envelope env = {s->helo, s->from, (const char *const *)s->rcpt, s->nrcpt,
				    s->auth_user, s->tls, s->esmtp, s->peer};

	s->state = ST_CMD;
	if (s->data_too_long) {
		reply(s, 500, "5.5.2 Error: line too long");
	} else if (s->data_too_big) {
		reply(s, 552, "5.3.4 Message size exceeds fixed maximum message size");
	} else if (s->hooks.deliver &&
		   s->hooks.deliver(s->hooks.arg, &env, s->data.data, s->data.len, &r)) {
		reply_refusal(s, &r, 554);
	} else {
		s->delivered++;
		reply(s, r.code ? r.code : 250, r.text[0] ? r.text : "2.0.0 Ok: queued");
	}
	txn_reset(s);
	return 0;
}

/* One DATA line (ending included): end, or unstuff and append. */
static int data_line(struct smtp_session *s, const char *line, size_t len)
{
	size_t body = len;

	while (body && (line[body - 1] == '\n' || line[body - 1] == '\r'))
		body--;
	if (body == 1 && line[0] == '.')
		return data_end(s);
	if (line[0] == '.')
		line++, len--;
	if (s->data_too_big || s->data_too_long)
		return 0;
	if (s->data.len + len > s->cfg->max_size) {
		s->data_too_big = true;
		sbx_buf_free(&s->data);
		return 0;
	}
	sbx_buf_add(&s->data, line, len);
	return 0;
}

/* A line longer than max_line ended (or was cut). */
static int line_too_long(struct smtp_session *s)
{
	if (s->state == ST_DATA) {
		s->data_too_long = true;
		sbx_buf_free(&s->data);
		return 0;
	}
	s->state = ST_CMD;
	return reply(s, 500, "5.5.2 Error: line too long");
}

/* A complete line (ending included) in s->line. */
static void line_done(struct smtp_session *s)
{
	char *l = s->line.data;
	size_t len = s->line.len;

	if (s->state == ST_DATA) {
		data_line(s, l, len);
	} else {
		while (len && (l[len - 1] == '\n' || l[len - 1] == '\r'))
			l[--len] = '\0';
		if (memchr(l, '\0', len))
			reply(s, 500, "5.5.2 Error: NUL in command");
		else if (s->state == ST_AUTH)
			auth_line(s, l);
		else
			command(s, l);
	}
	s->line.len = 0;
}

/* Feed bytes (see smtp_session.h). */
void smtp_session_feed(struct smtp_session *s, const char *buf, size_t len)
{
	size_t i = 0;

	while (i < len && s->state != ST_CLOSED && s->state != ST_TLS) {
		const char *nl = memchr(buf + i, '\n', len - i);
		size_t n = nl ? (size_t)(nl - (buf + i)) + 1 : len - i;
		if (s->discarding) {
			s->discarding = !nl;
			if (nl)
				line_too_long(s);
		} else if (s->line.len + n > s->cfg->max_line) {
			s->line.len = 0;
			s->discarding = !nl;
			if (nl)
				line_too_long(s);
		} else {
			sbx_buf_add(&s->line, buf + i, n);
			if (nl)
				line_done(s);
		}
		i += n;
	}
}

/* The pending output. */
const char *smtp_session_output(const struct smtp_session *s, size_t *len)
{
	*len = s->out.len;
	return s->out.data ? s->out.data : "";
}

/* Drop the pending output. */
void smtp_session_output_clear(struct smtp_session *s)
{
	s->out.len = 0;
}

/* Whether the session is over. */
bool smtp_session_closed(const struct smtp_session *s)
{
	return s->state == ST_CLOSED;
}

/* Whether a TLS handshake is due. */
bool smtp_session_tls_pending(const struct smtp_session *s)
{
	return s->state == ST_TLS;
}

/* TLS is up: reset to the post-greeting state. */
void smtp_session_tls_started(struct smtp_session *s)
{
	txn_reset(s);
	free(s->helo);
	s->helo = NULL;
	free(s->auth_user);
	s->auth_user = NULL;
	s->line.len = 0;
	s->discarding = false;
	s->tls = true;
	s->state = ST_CMD;
}

/* Queue a final reply and close. */
void smtp_session_abort(struct smtp_session *s, int code, const char *text)
{
	reply(s, code, text);
	s->state = ST_CLOSED;
}

/* Set the peer address. */
void smtp_session_set_peer(struct smtp_session *s, const char *peer)
{
	free(s->peer);
	s->peer = mock_xstrdup(peer);
}

/* Messages delivered so far. */
size_t smtp_session_delivered(const struct smtp_session *s)
{
	return s->delivered;
}
