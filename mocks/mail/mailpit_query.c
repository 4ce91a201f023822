/* mailpit_query — Mailpit's search syntax: terms, and matching them against a message's index. */
#include "mailpit_query.h"

#include "mock_util.h"

#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum field {
	F_TEXT, F_TO, F_FROM, F_CC, F_BCC, F_REPLY_TO, F_ADDRESSED, F_SUBJECT, F_MESSAGE_ID,
	F_IS_READ, F_IS_UNREAD, F_HAS_ATTACHMENT, F_HAS_INLINE, F_LARGER, F_SMALLER,
	F_UNSUPPORTED,
};

struct term {
	enum field field;
	bool negate;
	char *value;      /* the text to look for (after the prefix) */
	json_int_t bytes; /* larger: / smaller: */
};

struct mailpit_query {
	struct term *terms;
	size_t n;
};

/* The term prefixes: those that take a value, then the whole-word flags. */
static const struct {
	const char *prefix;
	enum field field;
	bool whole; /* the term is exactly this word */
} prefixes[] = {
	{"to:", F_TO, false}, {"from:", F_FROM, false}, {"cc:", F_CC, false},
	{"bcc:", F_BCC, false}, {"reply-to:", F_REPLY_TO, false},
	{"addressed:", F_ADDRESSED, false}, {"subject:", F_SUBJECT, false},
	{"message-id:", F_MESSAGE_ID, false}, {"tag:", F_UNSUPPORTED, false},
	{"before:", F_UNSUPPORTED, false}, {"after:", F_UNSUPPORTED, false},
	{"larger:", F_LARGER, false}, {"smaller:", F_SMALLER, false},
	{"is:read", F_IS_READ, true}, {"is:unread", F_IS_UNREAD, true},
	{"is:tagged", F_UNSUPPORTED, true}, {"has:attachment", F_HAS_ATTACHMENT, true},
	{"has:attachments", F_HAS_ATTACHMENT, true}, {"has:inline", F_HAS_INLINE, true},
	{"has:inlines", F_HAS_INLINE, true},
};

/* Mailpit's size reading: digits, optional .digits, optional blank, optional k/kb/m/mb. 0 = none. */
static json_int_t size_bytes(const char *v)
{
	double num = 0, frac = 0.1, mult = 1;
	const char *p = v;

	if (!isdigit((unsigned char)*p))
		return 0;
	for (; isdigit((unsigned char)*p) && num < 1e15; p++)
		num = num * 10 + (*p - '0');
	if (isdigit((unsigned char)*p))
		return 0;
	if (*p == '.' && isdigit((unsigned char)p[1]))
		for (p++; isdigit((unsigned char)*p); p++, frac /= 10)
			num += (*p - '0') * frac;
	if (*p == ' ')
		p++;
	if (*p) {
		if (!strcasecmp(p, "k") || !strcasecmp(p, "kb"))
			mult = 1024;
		else if (!strcasecmp(p, "m") || !strcasecmp(p, "mb"))
			mult = 1024 * 1024;
		else
			return 0;
	}
	return (json_int_t)(num * mult);
}

/* Whether a term has a letter or digit (Mailpit skips those without). */
static bool has_alnum(const char *s)
{
	for (; *s; s++)
		if (isalnum((unsigned char)*s))
			return true;
	return false;
}

/* Classify one word into t (value copied): 0, 1 to skip it, or UNSUPPORTED (e). */
static int term_read(const char *w, struct term *t, struct mock_err *e)
{
	*t = (struct term){.field = F_TEXT};
	if (strlen(w) > 1 && (*w == '-' || *w == '!')) {
		t->negate = true;
		w++;
	}
	if (!has_alnum(w))
		return 1;
	for (size_t i = 0; i < MOCK_NELEM(prefixes); i++) {
		size_t pl = strlen(prefixes[i].prefix);
		if (prefixes[i].whole ? strcasecmp(w, prefixes[i].prefix) != 0
				      : strncasecmp(w, prefixes[i].prefix, pl) != 0)
			continue;
		if (prefixes[i].field == F_UNSUPPORTED) {
			mock_err_set(e, "the search term \"%.100s\" is not supported by the mail mock "
					    "(tag:, is:tagged, before: and after: are not)", w);
			return MAILPIT_QUERY_UNSUPPORTED;
		}
		if ((prefixes[i].field == F_LARGER || prefixes[i].field == F_SMALLER) &&
		    !(t->bytes = size_bytes(w + pl)))
			break; /* Mailpit: not a size, so plain text */
		t->field = prefixes[i].field;
		if (!prefixes[i].whole && !w[pl])
			return 1;
		w += prefixes[i].whole ? strlen(w) : pl;
		break;
	}
	t->value = mock_xstrdup(w);
	return 0;
}

/* Append a word to the query. OK, or another code (e). */
static enum mailpit_query_rc query_add(struct mailpit_query *q, const char *w, struct mock_err *e)
{
	struct term t;
	int rc = term_read(w, &t, e);

	if (rc != 0)
		return rc > 0 ? MAILPIT_QUERY_OK : MAILPIT_QUERY_UNSUPPORTED;
	if (q->n == MAILPIT_QUERY_MAX_TERMS) {
		free(t.value);
		mock_err_set(e, "too many search terms (at most %d)", MAILPIT_QUERY_MAX_TERMS);
		return MAILPIT_QUERY_BAD;
	}
	q->terms = mock_xrealloc(q->terms, (q->n + 1) * sizeof(*q->terms));
	q->terms[q->n++] = t;
	return MAILPIT_QUERY_OK;
}

/* Split s into words (blanks outside double quotes separate, quotes removed); OK or a code (e). */
static enum mailpit_query_rc words_read(struct mailpit_query *q, const char *s, struct mock_err *e)
{
	char *w = mock_xmalloc(strlen(s) + 1);
	size_t len = 0;
	bool quoted = false, any = false;
	enum mailpit_query_rc rc = MAILPIT_QUERY_OK;

	for (const char *p = s;; p++) {
		if (*p == '"') {
			quoted = !quoted;
			any = true;
		} else if (*p && (quoted || !strchr(" \t\r\n", *p))) {
			w[len++] = *p;
			any = true;
		} else if (any) {
			w[len] = '\0';
			rc = query_add(q, w, e);
			if (rc != MAILPIT_QUERY_OK)
				break;
			len = 0;
			any = false;
		}
		if (!*p)
			break;
	}
	if (rc == MAILPIT_QUERY_OK && quoted)
		rc = (enum mailpit_query_rc)mock_err_set(e, "unterminated double quote in the search query");
	free(w);
	return rc;
}

/* Read a query. */
enum mailpit_query_rc mailpit_query_parse(const char *s, struct mailpit_query **out,
					  struct mock_err *e)
{
	struct mailpit_query *q;
	enum mailpit_query_rc rc;

	if (!s || !s[strspn(s, " \t\r\n")])
		return (enum mailpit_query_rc)mock_err_set(e, "no search query (query=...)");
	if (strlen(s) > MAILPIT_QUERY_MAX_LEN)
		return (enum mailpit_query_rc)mock_err_set(e, "the search query is longer than %d bytes",
							   MAILPIT_QUERY_MAX_LEN);
	q = mock_xcalloc(1, sizeof(*q));
	rc = words_read(q, s, e);
	if (rc != MAILPIT_QUERY_OK) {
		mailpit_query_free(q);
		return rc;
	}
	*out = q;
	return MAILPIT_QUERY_OK;
}

/* Free a query. */
void mailpit_query_free(struct mailpit_query *q)
{
	if (!q)
		return;
	for (size_t i = 0; i < q->n; i++)
		free(q->terms[i].value);
	free(q->terms);
	free(q);
}

/* Whether a query has a plain text term (one that looks in the index's "search"). */
bool mailpit_query_has_text(const struct mailpit_query *q)
{
	for (size_t i = 0; i < q->n; i++)
		if (q->terms[i].field == F_TEXT)
			return true;
	return false;
}

/* Whether a JSON string contains v (ASCII case-insensitive). */
static bool str_has(const json_t *s, const char *v)
{
	return json_is_string(s) && strcasestr(json_string_value(s), v) != NULL;
}

/* Whether a mailbox {Name, Address} or an array of them has v in a name or an address. */
static bool addrs_have(const json_t *a, const char *v)
{
	size_t i;
	json_t *e;

	if (json_is_object(a))
		return str_has(json_object_get(a, "Name"), v) || str_has(json_object_get(a, "Address"), v);
	json_array_foreach(a, i, e)
		if (addrs_have(e, v))
			return true;
	return false;
}

/* Whether one term (ignoring its negation) holds. */
static bool term_holds(const struct term *t, const json_t *ix, json_int_t size, bool read)
{
	static const char *const addr_keys[] = {"To", "From", "Cc", "Bcc", "ReplyTo"};
	const char *v = t->value;

	switch (t->field) {
	case F_TEXT: return str_has(json_object_get(ix, "search"), v);
	case F_TO: return addrs_have(json_object_get(ix, "To"), v);
	case F_FROM: return addrs_have(json_object_get(ix, "From"), v);
	case F_CC: return addrs_have(json_object_get(ix, "Cc"), v);
	case F_BCC: return addrs_have(json_object_get(ix, "Bcc"), v);
	case F_REPLY_TO: return addrs_have(json_object_get(ix, "ReplyTo"), v);
	case F_ADDRESSED:
		for (size_t i = 0; i < MOCK_NELEM(addr_keys); i++)
			if (addrs_have(json_object_get(ix, addr_keys[i]), v))
				return true;
		return false;
	case F_SUBJECT: return str_has(json_object_get(ix, "Subject"), v);
	case F_MESSAGE_ID: return str_has(json_object_get(ix, "MessageID"), v);
	case F_IS_READ: return read;
	case F_IS_UNREAD: return !read;
	case F_HAS_ATTACHMENT: return json_integer_value(json_object_get(ix, "Attachments")) > 0;
	case F_HAS_INLINE: return json_integer_value(json_object_get(ix, "Inline")) > 0;
	case F_LARGER: return size > t->bytes;
	case F_SMALLER: return size < t->bytes;
	case F_UNSUPPORTED: break;
	}
	return false;
}

/* Whether every term matches. */
bool mailpit_query_match(const struct mailpit_query *q, const json_t *index, json_int_t size,
			 bool read)
{
	for (size_t i = 0; i < q->n; i++)
		if (term_holds(&q->terms[i], index, size, read) == q->terms[i].negate)
			return false;
	return true;
}

/* Whether every term matches, the text terms read in head only (1, 0, or -1: open). */
int mailpit_query_match_head(const struct mailpit_query *q, const json_t *index, const char *head,
			     json_int_t size, bool read)
{
	bool open = false;

	for (size_t i = 0; i < q->n; i++) {
		const struct term *t = &q->terms[i];
		bool holds;
		if (t->field == F_TEXT && !strcasestr(head, t->value)) {
			open = true; /* in the body, or across its start, perhaps */
			continue;
		}
		holds = t->field == F_TEXT || term_holds(t, index, size, read);
		if (holds == t->negate)
			return 0;
	}
	return open ? -1 : 1;
}
