/* mail_msg — received messages as store records; summary and detail views; filters. */
#include "mail_msg.h"

#include "buf.h"
#include "codec.h"
#include "mock_kv.h"
#include "mock_util.h"
#include "sha256.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* A JSON string of a UTF-8 C string, or null. Steals s. */
static json_t *str_or_null(char *s)
{
	json_t *v = s ? json_string(s) : json_null();

	free(s);
	return v ? v : json_null();
}

/* The header section of a message (up to and including the blank line, or all of it). */
static size_t header_len(const char *data, size_t len)
{
	const char *p = data, *end = data + len;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl)
			return len;
		if (nl == p || (nl == p + 1 && *p == '\r'))
			return (size_t)(nl + 1 - data);
		p = nl + 1;
	}
	return len;
}

/* Add the decoded top-level headers of the message to rec. */
static void add_headers(json_t *rec, const char *data, size_t len)
{
	struct mime_msg *m = mime_parse(data, header_len(data, len));
	char *subject = mime_header_decoded(m, "Subject");

	json_object_set_new(rec, "subject", str_or_null(subject ? subject : mock_xstrdup("")));
	json_object_set_new(rec, "date", str_or_null(mime_header_decoded(m, "Date")));
	json_object_set_new(rec, "header_from", str_or_null(mime_header_decoded(m, "From")));
	json_object_set_new(rec, "header_to", str_or_null(mime_header_decoded(m, "To")));
	json_object_set_new(rec, "header_cc", str_or_null(mime_header_decoded(m, "Cc")));
	json_object_set_new(rec, "message_id", str_or_null(mime_header_decoded(m, "Message-ID")));
	mime_free(m);
}

/* A JSON string of an address (sanitised to UTF-8). */
static json_t *addr_json(const char *a)
{
	struct sbx_buf b = {0};

	codec_to_utf8(a, strlen(a), NULL, &b);
	return str_or_null(sbx_buf_steal(&b));
}

/* Build a record (see mail_msg.h). */
json_t *mail_msg_new(const struct smtp_envelope *env, const char *data, size_t len)
{
	json_t *rec = json_object(), *to = json_array();
	char ts[32];

	json_object_set_new(rec, "id", str_or_null(mock_id_new("msg_", 20)));
	mock_fmt_time(mock_now_ms(), ts);
	json_object_set_new(rec, "received_at", json_string(ts));
	json_object_set_new(rec, "from", addr_json(env->from));
	for (size_t i = 0; i < env->nrcpt; i++)
		json_array_append_new(to, addr_json(env->rcpt[i]));
	json_object_set_new(rec, "to", to);
	add_headers(rec, data, len);
	json_object_set_new(rec, "size", json_integer((json_int_t)len));
	json_object_set_new(rec, "helo", env->helo ? addr_json(env->helo) : json_null());
	json_object_set_new(rec, "auth_user", env->auth_user ? addr_json(env->auth_user) : json_null());
	json_object_set_new(rec, "tls", json_boolean(env->tls));
	json_object_set_new(rec, "remote", env->peer ? json_string(env->peer) : json_null());
	if (codec_utf8_valid(data, len)) {
		json_object_set_new(rec, "raw", json_stringn_nocheck(data, len));
	} else {
		struct sbx_buf b = {0};
		codec_base64_encode(data, len, &b);
		json_object_set_new(rec, "raw_base64", json_stringn_nocheck(b.data, b.len));
		sbx_buf_free(&b);
	}
	return rec;
}

/* The list view. */
json_t *mail_msg_summary(const json_t *rec)
{
	json_t *sum = json_copy((json_t *)rec);

	json_object_del(sum, "raw");
	json_object_del(sum, "raw_base64");
	json_object_del(sum, "mailpit");
	json_object_del(sum, "read");
	return sum;
}

/* The raw bytes. */
void mail_msg_raw(const json_t *rec, struct sbx_buf *out)
{
	const json_t *raw = json_object_get(rec, "raw");
	const json_t *b64 = json_object_get(rec, "raw_base64");

	sbx_buf_add(out, "", 0);
	if (json_is_string(raw))
		sbx_buf_add(out, json_string_value(raw), json_string_length(raw));
	else if (json_is_string(b64))
		codec_base64_decode(json_string_value(b64), json_string_length(b64), out);
}

/* Parse the raw message. */
struct mime_msg *mail_msg_parse(const json_t *rec)
{
	struct sbx_buf raw = {0};
	struct mime_msg *m;

	mail_msg_raw(rec, &raw);
	m = mime_parse(raw.data, raw.len);
	sbx_buf_free(&raw);
	return m;
}

/* A string field of the JSON view of a part (sanitised; null when absent). */
static json_t *opt_str(const char *s)
{
	return s ? addr_json(s) : json_null();
}

/* The JSON view of one leaf part. */
static json_t *part_json(const struct mime_part *p, size_t i)
{
	return json_pack("{s:I,s:o,s:o,s:o,s:o,s:o,s:o,s:I,s:b}", "index", (json_int_t)i,
			 "content_type", opt_str(p->content_type), "charset", opt_str(p->charset),
			 "encoding", opt_str(p->encoding), "disposition", opt_str(p->disposition),
			 "filename", opt_str(p->filename), "content_id", opt_str(p->content_id),
			 "size", (json_int_t)p->len, "attachment", p->attachment);
}

/* The JSON view of an attachment. */
static json_t *attachment_json(const struct mime_part *p, size_t i)
{
	char sha[65];

	sbx_sha256_hex(p->body, p->len, sha);
	return json_pack("{s:I,s:o,s:o,s:I,s:o,s:s}", "index", (json_int_t)i, "filename",
			 opt_str(p->filename), "content_type", opt_str(p->content_type), "size",
			 (json_int_t)p->len, "content_id", opt_str(p->content_id), "sha256", sha);
}

/* The text of the first non-attachment part of a type, or null. */
static json_t *body_json(const struct mime_msg *m, const char *type)
{
	const struct mime_part *p = mime_body(m, type);

	return p ? str_or_null(mime_part_text(p)) : json_null();
}

/* The detail view. */
json_t *mail_msg_detail(const json_t *rec)
{
	json_t *d = mail_msg_summary(rec), *headers = json_array(), *parts = json_array();
	json_t *atts = json_array();
	struct mime_msg *m = mail_msg_parse(rec);

	for (size_t i = 0; i < mime_nheaders(m); i++) {
		const char *name, *value;
		mime_header_at(m, i, &name, &value);
		json_array_append_new(headers, json_pack("{s:o,s:o}", "name", opt_str(name), "value",
							 opt_str(value)));
	}
	for (size_t i = 0; i < mime_nparts(m); i++) {
		const struct mime_part *p = mime_part_at(m, i);
		json_array_append_new(parts, part_json(p, i));
		if (p->attachment)
			json_array_append_new(atts, attachment_json(p, i));
	}
	json_object_set_new(d, "headers", headers);
	json_object_set_new(d, "text", body_json(m, "text/plain"));
	json_object_set_new(d, "html", body_json(m, "text/html"));
	json_object_set_new(d, "parts", parts);
	json_object_set_new(d, "attachments", atts);
	mime_free(m);
	return d;
}

static const char *const filter_keys[] = {"to", "from", "subject"};

/* Whether key is a filter. */
bool mail_msg_filter_known(const char *key)
{
	for (size_t i = 0; i < MOCK_NELEM(filter_keys); i++)
		if (!strcmp(key, filter_keys[i]))
			return true;
	return false;
}

/* Whether a record matches one filter entry. */
static bool match_one(const json_t *rec, const char *key, const char *want)
{
	const json_t *v = json_object_get(rec, key);
	size_t i;
	json_t *e;

	if (!want)
		return true;
	if (!strcmp(key, "subject"))
		return json_is_string(v) && strcasestr(json_string_value(v), want);
	if (json_is_string(v))
		return !strcasecmp(json_string_value(v), want);
	json_array_foreach(v, i, e)
		if (json_is_string(e) && !strcasecmp(json_string_value(e), want))
			return true;
	return false;
}

/* The store match function. */
bool mail_msg_match(const json_t *rec, const struct mock_kvlist *filter, void *arg)
{
	(void)arg;
	for (size_t i = 0; i < filter->n; i++)
		if (mail_msg_filter_known(filter->v[i].key) &&
		    !match_one(rec, filter->v[i].key, filter->v[i].value))
			return false;
	return true;
}
