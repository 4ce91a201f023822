/*
 * mailpit_msg — a received message in Mailpit's shapes (server/apiv1 and internal/storage of
 * axllent/mailpit): the index kept in the store record at delivery, and the views built on it.
 *
 * The index (the record's "mailpit" object, see mail_msg.h): {"MessageID", "From" {Name,
 * Address}, "To", "Cc", "Bcc", "ReplyTo" [{Name, Address}], "ReturnPath", "Subject", "Date" (RFC
 * 3339 of the Date header, or null), "Snippet" (up to 200 bytes of the HTML text, else the text,
 * blanks collapsed, "..." when cut), "Attachments", "Inline" (counts)}. Records stored by older
 * versions have none; it is then built from the raw message when needed. The text plain search
 * terms look in (subject, names and addresses, text, HTML text, file names: the index's
 * "search") is not kept, since it would about double a text message's memory: it is built from
 * the raw message for a query that has such a term (older records may still carry it).
 * The record's "read" (bool, absent = false) is Mailpit's read flag.
 *
 * Views: the MessageSummary of a list, the Message of GET /api/v1/message/{ID} (Attachments and
 * Inline [{PartID, FileName, ContentType, ContentID, Size, Checksums {MD5, SHA1, SHA256}}]; a
 * PartID is the index of the leaf part in mime.h's order, as a string), and the headers as
 * {"Canonical-Name": [values]} in name order.
 */
#ifndef SBX_MAILPIT_MSG_H
#define SBX_MAILPIT_MSG_H

#include "mime.h"
#include "mock_kv.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The index of a raw message, without "search" (new reference). */
json_t *mailpit_msg_index(const char *raw, size_t len);
/*
 * The index of a record: its own (new reference to it) or one built from its raw message; with
 * search, one that has "search" (built from the raw message unless the record's has it).
 */
json_t *mailpit_msg_record_index(const json_t *rec, bool search);
/* Whether a record is marked read. */
bool mailpit_msg_read(const json_t *rec);
/* The MessageSummary of a record (new reference). */
json_t *mailpit_msg_summary(const json_t *rec);
/* The Message of a record (new reference). */
json_t *mailpit_msg_full(const json_t *rec);
/* The headers of a record as {"Name": [values]} (new reference). */
json_t *mailpit_msg_headers(const json_t *rec);
/*
 * The store's match function: the filters of mail_msg_match, plus MAILPIT_FILTER_QUERY (a
 * search query, see mailpit_query.h; a query that does not parse matches nothing) and
 * MAILPIT_FILTER_UNREAD (any value: unread messages only). arg unused.
 */
#define MAILPIT_FILTER_QUERY "mailpit:query"
#define MAILPIT_FILTER_UNREAD "mailpit:unread"
bool mailpit_msg_match(const json_t *rec, const struct mock_kvlist *filter, void *arg);
/*
 * The store's index (mock_store_set_index): what a search reads without the message, i.e. the
 * Mailpit index's addresses, subject, message id and attachment counts, "head" (the beginning of
 * the search text that plain words look in: subject, names and addresses), "size" and "read".
 */
json_t *mailpit_msg_store_index(const json_t *rec);
/*
 * The store's index match: the filters mailpit_msg_match takes, decided from the index (1 or 0),
 * or -1 when it needs the record: a filter of mail_msg_match, or a plain word not in "head".
 */
int mailpit_msg_index_match(const json_t *index, const struct mock_kvlist *filter, void *arg);
/* The store's tag function: MAILPIT_TAG_UNREAD for a message not read. */
#define MAILPIT_TAG_UNREAD 1u
uint32_t mailpit_msg_tags(const json_t *rec);
/* The attachment or inline part PartID of a parsed message, or NULL. */
const struct mime_part *mailpit_msg_part(const struct mime_msg *m, const char *part_id);

#endif
