/*
 * mail_msg — a received message as a store record, and its views for the HTTP API.
 *
 * A record (JSON object):
 *   {"id": "msg_…", "received_at": RFC 3339, "from": envelope sender, "to": [envelope
 *    recipients], "subject": decoded Subject, "date": Date header, "header_from", "header_to",
 *    "header_cc": decoded headers (or null), "message_id", "size": bytes, "helo", "auth_user",
 *    "tls": bool, "remote": client address,
 *    "raw": the message as received (after dot-unstuffing) when it is valid UTF-8,
 *    else "raw_base64": the same bytes in base64,
 *    "mailpit": the Mailpit index, "read": Mailpit's read flag (see mailpit_msg.h)}
 * Summaries (lists) are the record without raw/raw_base64/mailpit/read. Details add the MIME view: "headers"
 * [{name, value}], "text", "html" (null when absent), "parts" [{index, content_type, charset,
 * encoding, disposition, filename, content_id, size, attachment}], "attachments" [{index,
 * filename, content_type, size, content_id, sha256}].
 *
 * Filters (query keys): to (case-insensitive, any envelope recipient), from (case-insensitive,
 * the envelope sender), subject (case-insensitive substring of the decoded subject).
 */
#ifndef SBX_MAIL_MSG_H
#define SBX_MAIL_MSG_H

#include "buf.h"
#include "mime.h"
#include "mock_kv.h"
#include "smtp_session.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* A new record for a delivered message (caller owns it). */
json_t *mail_msg_new(const struct smtp_envelope *env, const char *data, size_t len);
/* The list view of a record (new reference). */
json_t *mail_msg_summary(const json_t *rec);
/* Append the raw message bytes of a record to out. */
void mail_msg_raw(const json_t *rec, struct sbx_buf *out);
/* Parse the raw message of a record (free with mime_free). */
struct mime_msg *mail_msg_parse(const json_t *rec);
/* The detail view of a record: summary plus the MIME view (new reference). */
json_t *mail_msg_detail(const json_t *rec);
/* Whether key is a known filter key. */
bool mail_msg_filter_known(const char *key);
/* The store match function for the filters above (arg unused). */
bool mail_msg_match(const json_t *rec, const struct mock_kvlist *filter, void *arg);

#endif
