/*
 * mailpit_query — Mailpit's search syntax (mailpit.axllent.org/docs/usage/search-filters), the
 * subset the mail mock answers, read into terms and matched against a message's Mailpit index
 * (mailpit_msg.h).
 *
 * A query is terms separated by blanks; double quotes group a phrase (and are removed: to:"Bob
 * Smith" is one term). A term prefixed with '-' or '!' is negated. All terms must match.
 * Supported terms (prefixes case-insensitive, values matched as ASCII-case-insensitive
 * substrings):
 *   word / "a phrase"   subject, addresses and names, text body, HTML body text, file names
 *   to: from: cc: bcc: reply-to:   the name or address of a mailbox of that header
 *   addressed:          any of the five above
 *   subject: message-id:
 *   is:read is:unread has:attachment(s) has:inline(s)
 *   larger:SIZE smaller:SIZE   (SIZE: 2000, 1.5k, 2kb, 3m, 3mb — binary units)
 * As in Mailpit, a term without a letter or digit and a prefix with an empty value are ignored,
 * and a word with another "name:" prefix is searched as text. Mailpit's tag:, is:tagged, before:
 * and after: are answered MAILPIT_QUERY_UNSUPPORTED.
 */
#ifndef SBX_MAILPIT_QUERY_H
#define SBX_MAILPIT_QUERY_H

#include "mock_util.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define MAILPIT_QUERY_MAX_LEN 4096
#define MAILPIT_QUERY_MAX_TERMS 64

enum mailpit_query_rc {
	MAILPIT_QUERY_OK = 0,
	MAILPIT_QUERY_BAD = -1,         /* malformed: empty, too long, unterminated quote */
	MAILPIT_QUERY_UNSUPPORTED = -2, /* a Mailpit term this mock does not answer */
};

struct mailpit_query;
/* Read a query into *out (free with mailpit_query_free); otherwise e names the problem. */
enum mailpit_query_rc mailpit_query_parse(const char *s, struct mailpit_query **out,
					  struct mock_err *e);
/* Free a query. NULL is a no-op. */
void mailpit_query_free(struct mailpit_query *q);
/* Whether the query has a plain text term, which needs the index's "search" (mailpit_msg.h). */
bool mailpit_query_has_text(const struct mailpit_query *q);
/*
 * Whether a message matches from its index without the search text: plain text terms look in head
 * (the search text's beginning: subject, names and addresses; see mailpit_msg_store_index). 1 or
 * 0, or -1 when a text term not found in head leaves it to the body (mailpit_query_match then).
 */
int mailpit_query_match_head(const struct mailpit_query *q, const json_t *index, const char *head,
			     json_int_t size, bool read);
/* Whether a message matches: its Mailpit index, size in bytes and read flag. */
bool mailpit_query_match(const struct mailpit_query *q, const json_t *index, json_int_t size,
			 bool read);

#endif
