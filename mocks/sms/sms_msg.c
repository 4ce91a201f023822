/* sms_msg — a message's typed fields and its record text. */
#include "sms_msg.h"

#include "buf.h"
#include "mock_form.h"
#include "mock_req.h"
#include "mock_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Segments of a message: 160 characters for one, 153 each when split. */
static size_t segments(size_t chars)
{
	return chars <= 160 ? 1 : (chars + 152) / 153;
}

/* Whether s is NULL or UTF-8. */
static bool utf8_or_null(const char *s)
{
	return !s || mock_utf8_valid(s, strlen(s));
}

/* Append key (",\"name\":") then s as a JSON string, or null when s is NULL. */
static void put_member(struct sbx_buf *b, const char *key, const char *s)
{
	sbx_buf_puts(b, key);
	if (s)
		mock_json_put_str(b, s, strlen(s));
	else
		sbx_buf_add(b, "null", 4);
}

/* The members that never change (see struct sms_msg). */
static char *fixed_members(const char *to, const char *from, const char *body, const char *cb,
			   size_t *len)
{
	struct sbx_buf b = {mock_xmalloc(256), 0, 256};
	char num[40];

	b.data[0] = '\0';
	put_member(&b, ",\"to\":", to);
	put_member(&b, ",\"from\":", from);
	put_member(&b, ",\"body\":", body);
	sbx_buf_add(&b, num, (size_t)snprintf(num, sizeof(num), ",\"segments\":%zu",
					      segments(sms_utf8_len(body))));
	put_member(&b, ",\"status_callback\":", cb);
	*len = b.len;
	return sbx_buf_steal(&b);
}

/* A new queued message. */
struct sms_msg *sms_msg_new(const char *to, const char *from, const char *body, const char *cb)
{
	struct sms_msg *m;

	if (!to || !body || !utf8_or_null(to) || !utf8_or_null(from) || !utf8_or_null(body) ||
	    !utf8_or_null(cb))
		return NULL;
	m = mock_xcalloc(1, sizeof(*m));
	m->id = mock_id_new("SM", 32);
	m->fixed = fixed_members(to, from, body, cb, &m->fixed_len);
	mock_fmt_time(mock_now_ms(), m->created_at);
	memcpy(m->updated_at, m->created_at, sizeof(m->updated_at));
	m->history[0].status = "queued";
	memcpy(m->history[0].at, m->created_at, sizeof(m->history[0].at));
	m->nhistory = 1;
	return m;
}

/* Free a message. */
void sms_msg_free(struct sms_msg *m)
{
	if (!m)
		return;
	free(m->id);
	free(m->fixed);
	free(m->extra);
	free(m);
}

/* Add Twilio's fields. */
void sms_msg_set_twilio(struct sms_msg *m, char *sid, const char *account_sid, const char *mss)
{
	struct sbx_buf b = {0};

	free(m->id);
	m->id = sid;
	put_member(&b, ",\"api\":", "twilio");
	if (account_sid && utf8_or_null(account_sid))
		put_member(&b, ",\"account_sid\":", account_sid);
	if (utf8_or_null(mss))
		put_member(&b, ",\"messaging_service_sid\":", mss);
	free(m->extra);
	m->extra_len = b.len;
	m->extra = sbx_buf_steal(&b);
}

/* Move to a step. */
void sms_msg_step(struct sms_msg *m, const struct sms_step *st)
{
	m->step = st;
	mock_fmt_time(mock_now_ms(), m->updated_at);
	if (m->nhistory < SMS_MSG_HISTORY) {
		m->history[m->nhistory].status = st->status;
		memcpy(m->history[m->nhistory].at, m->updated_at, sizeof(m->updated_at));
		m->nhistory++;
	}
}

/*
 * A bounded writer: the text's exact size is counted first (text_len), then the text written with
 * copies into one allocation of that size, without a check per piece.
 */
struct jw {
	char *p;
	size_t len;
};

/* Append n bytes. */
static void jw_raw(struct jw *w, const char *s, size_t n)
{
	memcpy(w->p + w->len, s, n);
	w->len += n;
}

/* Append a string literal. */
#define JW_LIT(w, lit) jw_raw((w), (lit), sizeof(lit) - 1)
/* The length of a string literal. */
#define LIT_LEN(lit) (sizeof(lit) - 1)

/* Append s as a JSON string, or null when s is NULL. */
static void jw_str(struct jw *w, const char *s)
{
	if (s)
		w->len += mock_json_esc(w->p + w->len, s, strlen(s));
	else
		JW_LIT(w, "null");
}

/* The bytes jw_str writes for s. */
static size_t str_len(const char *s)
{
	return s ? mock_json_esc_len(s, strlen(s)) : 4;
}

/* The integer error code of a step as text (0: none). */
static size_t code_text(const struct sms_step *st, char num[24])
{
	return st && st->code ? (size_t)snprintf(num, 24, "%d", st->code) : 0;
}

/* The record text's length (without the NUL): what sms_msg_text writes, piece by piece. */
static size_t text_len(const struct sms_msg *m, size_t code_len)
{
	const struct sms_step *st = m->step;
	size_t n = LIT_LEN("{\"id\":") + str_len(m->id) + LIT_LEN(",\"status\":") +
		   str_len(st ? st->status : "queued") + m->fixed_len;

	n += LIT_LEN(",\"error_code\":") + (code_len ? code_len : str_len(st ? st->error_code : NULL)) +
	     LIT_LEN(",\"error_message\":") + str_len(st ? st->error_message : NULL);
	n += LIT_LEN(",\"created_at\":") + str_len(m->created_at) + LIT_LEN(",\"updated_at\":") +
	     str_len(m->updated_at) + LIT_LEN(",\"history\":[");
	for (size_t i = 0; i < m->nhistory; i++)
		n += (i > 0) + LIT_LEN("{\"status\":") + str_len(m->history[i].status) +
		     LIT_LEN(",\"at\":") + str_len(m->history[i].at) + LIT_LEN("}");
	return n + LIT_LEN("]") + m->extra_len + LIT_LEN("}");
}

/* Append the error fields of the current step (null for "queued" and the steps without). */
static void jw_error(struct jw *w, const struct sms_step *st, const char *code, size_t code_len)
{
	JW_LIT(w, ",\"error_code\":");
	if (code_len)
		jw_raw(w, code, code_len);
	else
		jw_str(w, st ? st->error_code : NULL);
	JW_LIT(w, ",\"error_message\":");
	jw_str(w, st ? st->error_message : NULL);
}

/* The record text. */
char *sms_msg_text(const struct sms_msg *m, size_t *len)
{
	char code[24];
	size_t code_len = code_text(m->step, code), n = text_len(m, code_len);
	struct jw w = {mock_xmalloc(n + 1), 0};

	JW_LIT(&w, "{\"id\":");
	jw_str(&w, m->id);
	JW_LIT(&w, ",\"status\":");
	jw_str(&w, m->step ? m->step->status : "queued");
	jw_raw(&w, m->fixed, m->fixed_len);
	jw_error(&w, m->step, code, code_len);
	JW_LIT(&w, ",\"created_at\":");
	jw_str(&w, m->created_at);
	JW_LIT(&w, ",\"updated_at\":");
	jw_str(&w, m->updated_at);
	JW_LIT(&w, ",\"history\":[");
	for (size_t i = 0; i < m->nhistory; i++) {
		if (i)
			JW_LIT(&w, ",");
		JW_LIT(&w, "{\"status\":");
		jw_str(&w, m->history[i].status);
		JW_LIT(&w, ",\"at\":");
		jw_str(&w, m->history[i].at);
		JW_LIT(&w, "}");
	}
	JW_LIT(&w, "]");
	if (m->extra)
		jw_raw(&w, m->extra, m->extra_len);
	JW_LIT(&w, "}");
	if (w.len != n)
		abort(); /* text_len and this writer disagree: a bug, never a short buffer */
	w.p[w.len] = '\0';
	*len = w.len;
	return w.p;
}

/* The record as a tree. */
json_t *sms_msg_json(const struct sms_msg *m)
{
	size_t len;
	char *text = sms_msg_text(m, &len);
	json_t *rec = json_loadb(text, len, 0, NULL);

	free(text);
	return rec;
}
