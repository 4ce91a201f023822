/* mailpit_msg — a received message in Mailpit's shapes: the delivery-time index and the views. */
#include "mailpit_msg.h"

#include "buf.h"
#include "codec.h"
#include "mail_msg.h"
#include "mailpit_query.h"
#include "mock_util.h"
#include "sha256.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define SNIPPET_MAX 200

/* A JSON string of a C string that may be NULL (then ""). */
static json_t *jstr(const char *s)
{
	json_t *v = json_string(s ? s : "");

	return v ? v : json_string("");
}

/* A copy of s made valid UTF-8 ("" for NULL); caller frees. */
static char *utf8_dup(const char *s)
{
	struct sbx_buf b = {0};

	sbx_buf_add(&b, "", 0);
	codec_to_utf8(s ? s : "", s ? strlen(s) : 0, NULL, &b);
	return sbx_buf_steal(&b);
}

/* {Name, Address} of a mailbox. */
static json_t *mailbox_json(const struct mime_addr *a)
{
	return json_pack("{s:o,s:o}", "Name", jstr(a->name), "Address", jstr(a->address));
}

/* [{Name, Address}] of a header ([] when absent). */
static json_t *addrs_json(const struct mime_msg *m, const char *header)
{
	size_t n;
	struct mime_addr *a = mime_header_addrs(m, header, &n);
	json_t *arr = json_array();

	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, mailbox_json(&a[i]));
	mime_addrs_free(a, n);
	return arr;
}

/* The From mailbox: the first one, else {Name: the raw header} as Mailpit does, else empty. */
static json_t *from_json(const struct mime_msg *m)
{
	json_t *all = addrs_json(m, "From"), *first = json_array_get(all, 0);
	json_t *from;
	char *raw;

	if (first) {
		from = json_incref(first);
	} else {
		raw = mime_header_decoded(m, "From");
		from = json_pack("{s:o,s:s}", "Name", jstr(raw), "Address", "");
		free(raw);
	}
	json_decref(all);
	return from;
}

/* A header decoded, with outer angle brackets removed (Message-ID, Return-Path); caller frees. */
static char *header_bare(const struct mime_msg *m, const char *name)
{
	char *v = mime_header_decoded(m, name), *s = v;
	size_t len;

	if (!v)
		return mock_xstrdup("");
	while (*s == '<' || *s == ' ')
		s++;
	len = strlen(s);
	while (len && (s[len - 1] == '>' || s[len - 1] == ' '))
		len--;
	s = mock_xstrndup(s, len);
	free(v);
	return s;
}

/* Whether a part is one of Mailpit's inline parts (vs. its attachments). */
static bool part_inline(const struct mime_part *p)
{
	if (p->disposition)
		return !strcmp(p->disposition, "inline");
	return p->content_id != NULL;
}

/* Append the text of HTML (tags, style and script dropped) to out. */
static void html_text(const char *h, struct sbx_buf *out)
{
	while (*h) {
		if (*h != '<') {
			sbx_buf_add(out, h++, 1);
			continue;
		}
		if (!strncasecmp(h, "<style", 6) || !strncasecmp(h, "<script", 7)) {
			const char *end = strcasestr(h, h[2] == 't' || h[2] == 'T' ? "</style" : "</script");
			h = end ? end + 1 : h + strlen(h);
		}
		h = strchr(h, '>');
		h = h ? h + 1 : "";
		sbx_buf_add(out, " ", 1);
	}
}

/* Collapse blanks to one space and trim, in place. */
static void squeeze(char *s)
{
	char *w = s;
	bool blank = true; /* drop leading blanks */

	for (const char *r = s; *r; r++) {
		if (isspace((unsigned char)*r)) {
			if (!blank)
				*w++ = ' ';
			blank = true;
		} else {
			*w++ = *r;
			blank = false;
		}
	}
	if (w > s && w[-1] == ' ')
		w--;
	*w = '\0';
}

/* Mailpit's snippet: the HTML's text, else the text, blanks collapsed, cut at 200 bytes + "...". */
static json_t *snippet_json(const char *text, const char *html)
{
	struct sbx_buf b = {0};
	json_t *v;
	size_t n;

	sbx_buf_add(&b, "", 0);
	if (html && html[strspn(html, " \t\r\n")])
		html_text(html, &b);
	else if (text)
		sbx_buf_add(&b, text, strlen(text));
	sbx_buf_add(&b, "", 1);
	squeeze(b.data);
	n = strlen(b.data);
	if (n > SNIPPET_MAX) {
		n = SNIPPET_MAX;
		while (n && ((unsigned char)b.data[n] & 0xC0) == 0x80)
			n--; /* not inside a UTF-8 sequence */
		b.data[n] = '\0';
		v = json_sprintf("%s...", b.data);
	} else {
		v = jstr(b.data);
	}
	sbx_buf_free(&b);
	return v;
}

/* The text of the first body part of a type, or NULL; caller frees. */
static char *body_text(const struct mime_msg *m, const char *type)
{
	const struct mime_part *p = mime_body(m, type);

	return p ? mime_part_text(p) : NULL;
}

/* Append "s " to the search text. */
static void search_add(struct sbx_buf *b, const char *s)
{
	if (s && *s) {
		sbx_buf_add(b, s, strlen(s));
		sbx_buf_add(b, " ", 1);
	}
}

/* Append the names and addresses of a mailbox or array of them to the search text. */
static void search_addrs(struct sbx_buf *b, const json_t *a)
{
	size_t i;
	json_t *e;

	if (json_is_object(a)) {
		search_add(b, json_string_value(json_object_get(a, "Name")));
		search_add(b, json_string_value(json_object_get(a, "Address")));
	}
	json_array_foreach(a, i, e)
		search_addrs(b, e);
}

/* The beginning of the search text, from an index: subject, then names and addresses. */
static void search_head(struct sbx_buf *b, const json_t *ix)
{
	static const char *const addr_keys[] = {"From", "To", "Cc", "Bcc", "ReplyTo"};

	search_add(b, json_string_value(json_object_get(ix, "Subject")));
	for (size_t i = 0; i < MOCK_NELEM(addr_keys); i++)
		search_addrs(b, json_object_get(ix, addr_keys[i]));
}

/* The attachment counts of a parsed message, and with search its search text, into ix. */
static void index_body(json_t *ix, const struct mime_msg *m, bool search)
{
	char *text = body_text(m, "text/plain"), *html = body_text(m, "text/html");
	struct sbx_buf b = {0};
	json_int_t natt = 0, ninl = 0;

	if (search) {
		search_head(&b, ix);
		search_add(&b, text);
		if (html)
			html_text(html, &b);
		sbx_buf_add(&b, " ", 1);
	}
	for (size_t i = 0; i < mime_nparts(m); i++) {
		const struct mime_part *p = mime_part_at(m, i);
		if (!p->attachment)
			continue;
		*(part_inline(p) ? &ninl : &natt) += 1;
		if (search)
			search_add(&b, p->filename);
	}
	json_object_set_new(ix, "Snippet", snippet_json(text, html));
	json_object_set_new(ix, "Attachments", json_integer(natt));
	json_object_set_new(ix, "Inline", json_integer(ninl));
	if (search)
		json_object_set_new(ix, "search", json_stringn_nocheck(b.data ? b.data : "", b.len));
	sbx_buf_free(&b);
	free(text);
	free(html);
}

/* The index of a parsed message (with "search" when search). */
static json_t *index_of(const struct mime_msg *m, bool search)
{
	char *subject = mime_header_decoded(m, "Subject"), date[40];
	char *mid = header_bare(m, "Message-ID"), *rp = header_bare(m, "Return-Path");
	json_t *ix = json_pack("{s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o}", "MessageID", jstr(mid), "From",
			       from_json(m), "To", addrs_json(m, "To"), "Cc", addrs_json(m, "Cc"),
			       "Bcc", addrs_json(m, "Bcc"), "ReplyTo", addrs_json(m, "Reply-To"),
			       "ReturnPath", jstr(rp), "Subject", jstr(subject));

	json_object_set_new(ix, "Date", mime_header_date(m, date) == 0 ? json_string(date) : json_null());
	index_body(ix, m, search);
	free(subject);
	free(mid);
	free(rp);
	return ix;
}

/* The index of a raw message. */
json_t *mailpit_msg_index(const char *raw, size_t len)
{
	struct mime_msg *m = mime_parse(raw, len);
	json_t *ix = index_of(m, false);

	mime_free(m);
	return ix;
}

/* The index of a record. */
json_t *mailpit_msg_record_index(const json_t *rec, bool search)
{
	json_t *ix = json_object_get(rec, "mailpit");
	struct mime_msg *m;

	if (json_is_object(ix) && (!search || json_object_get(ix, "search")))
		return json_incref(ix);
	m = mail_msg_parse(rec);
	ix = index_of(m, search);
	mime_free(m);
	return ix;
}

/* The read flag. */
bool mailpit_msg_read(const json_t *rec)
{
	return json_is_true(json_object_get(rec, "read"));
}

/* A string field of a record, or "". */
static const char *rec_str(const json_t *rec, const char *key)
{
	const char *s = json_string_value(json_object_get(rec, key));

	return s ? s : "";
}

/* The summary. */
json_t *mailpit_msg_summary(const json_t *rec)
{
	json_t *ix = mailpit_msg_record_index(rec, false);
	json_t *sum = json_pack("{s:s,s:O,s:b,s:O,s:O,s:O,s:O,s:O,s:O,s:s,s:s,s:[],s:O,s:O,s:O}",
				"ID", rec_str(rec, "id"), "MessageID", json_object_get(ix, "MessageID"),
				"Read", mailpit_msg_read(rec), "From", json_object_get(ix, "From"),
				"To", json_object_get(ix, "To"), "Cc", json_object_get(ix, "Cc"),
				"Bcc", json_object_get(ix, "Bcc"), "ReplyTo",
				json_object_get(ix, "ReplyTo"), "Subject", json_object_get(ix, "Subject"),
				"Created", rec_str(rec, "received_at"), "Username",
				rec_str(rec, "auth_user"), "Tags", "Size", json_object_get(rec, "size"),
				"Attachments", json_object_get(ix, "Attachments"), "Snippet",
				json_object_get(ix, "Snippet"));

	json_decref(ix);
	return sum;
}

/* An Attachment of a part. */
static json_t *attachment_json(const struct mime_part *p, size_t i)
{
	char md5[33], sha1[41], sha256[65], id[24];
	char *fn = utf8_dup(p->filename ? p->filename : p->content_id);
	char *type = utf8_dup(p->content_type), *cid = utf8_dup(p->content_id);
	json_t *a;

	codec_md5_sha1_hex(p->body, p->len, md5, sha1);
	sbx_sha256_hex(p->body, p->len, sha256);
	snprintf(id, sizeof(id), "%zu", i);
	a = json_pack("{s:s,s:s,s:s,s:s,s:I,s:{s:s,s:s,s:s}}", "PartID", id, "FileName", fn,
		      "ContentType", type, "ContentID", cid, "Size", (json_int_t)p->len, "Checksums",
		      "MD5", md5, "SHA1", sha1, "SHA256", sha256);
	free(fn);
	free(type);
	free(cid);
	return a ? a : json_object();
}

/* The <...> links of a List-Unsubscribe value. */
static json_t *unsubscribe_links(const char *v)
{
	json_t *links = json_array();
	const char *lt, *gt;

	while (v && (lt = strchr(v, '<')) && (gt = strchr(lt, '>'))) {
		json_array_append_new(links, json_stringn(lt + 1, (size_t)(gt - lt - 1)));
		v = gt + 1;
	}
	return links;
}

/* Mailpit's ListUnsubscribe object. */
static json_t *unsubscribe_json(const struct mime_msg *m)
{
	char *h = mime_header_decoded(m, "List-Unsubscribe");
	char *post = mime_header_decoded(m, "List-Unsubscribe-Post");
	json_t *u = json_pack("{s:o,s:o,s:s,s:o}", "Header", jstr(h), "Links", unsubscribe_links(h),
			      "Errors", "", "HeaderPost", jstr(post));

	free(h);
	free(post);
	return u;
}

/* The parts of a message into Attachments and Inline arrays of d. */
static void parts_add(json_t *d, const struct mime_msg *m)
{
	json_t *att = json_array(), *inl = json_array();

	for (size_t i = 0; i < mime_nparts(m); i++) {
		const struct mime_part *p = mime_part_at(m, i);
		if (p->attachment)
			json_array_append_new(part_inline(p) ? inl : att, attachment_json(p, i));
	}
	json_object_set_new(d, "Inline", inl);
	json_object_set_new(d, "Attachments", att);
}

/* The full message. */
json_t *mailpit_msg_full(const json_t *rec)
{
	json_t *ix = mailpit_msg_record_index(rec, false), *d, *date = json_object_get(ix, "Date");
	struct mime_msg *m = mail_msg_parse(rec);
	char *text = body_text(m, "text/plain"), *html = body_text(m, "text/html");
	const char *rp = json_string_value(json_object_get(ix, "ReturnPath"));

	if (!rp || !*rp)
		rp = *rec_str(rec, "from") ? rec_str(rec, "from")
					   : json_string_value(json_object_get(json_object_get(ix, "From"), "Address"));
	d = json_pack("{s:s,s:O,s:O,s:O,s:O,s:O,s:O,s:s,s:O,s:o,s:O,s:[],s:s,s:s,s:s,s:O}",
		      "ID", rec_str(rec, "id"), "MessageID", json_object_get(ix, "MessageID"), "From",
		      json_object_get(ix, "From"), "To", json_object_get(ix, "To"), "Cc",
		      json_object_get(ix, "Cc"), "Bcc", json_object_get(ix, "Bcc"), "ReplyTo",
		      json_object_get(ix, "ReplyTo"), "ReturnPath", rp ? rp : "", "Subject",
		      json_object_get(ix, "Subject"), "ListUnsubscribe", unsubscribe_json(m), "Date",
		      json_is_string(date) ? date : json_object_get(rec, "received_at"), "Tags",
		      "Username", rec_str(rec, "auth_user"), "Text", text ? text : "", "HTML",
		      html ? html : "", "Size", json_object_get(rec, "size"));
	parts_add(d, m);
	free(text);
	free(html);
	mime_free(m);
	json_decref(ix);
	return d;
}

/* Go's canonical form of a header name ("message-id" → "Message-Id"); caller frees. */
static char *canonical_name(const char *name)
{
	char *c = mock_xstrdup(name);
	bool up = true;

	if (strpbrk(c, " \t:"))
		return c; /* Go leaves such names alone */
	for (char *p = c; *p; p++) {
		*p = (char)(up ? toupper((unsigned char)*p) : tolower((unsigned char)*p));
		up = *p == '-';
	}
	return c;
}

/* Sort helper: compare two C strings. */
static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The headers as {"Name": [values]}, names sorted as Go encodes a map. */
json_t *mailpit_msg_headers(const json_t *rec)
{
	struct mime_msg *m = mail_msg_parse(rec);
	size_t n = mime_nheaders(m), nk = 0;
	char **keys = mock_xcalloc(n ? n : 1, sizeof(*keys));
	json_t *by = json_object(), *out = json_object();

	for (size_t i = 0; i < n; i++) {
		const char *name, *value;
		char *c;
		mime_header_at(m, i, &name, &value);
		char *u = utf8_dup(name), *v = utf8_dup(value);
		c = canonical_name(u);
		if (!json_object_get(by, c) && json_object_set_new(by, c, json_array()) == 0)
			keys[nk++] = mock_xstrdup(c);
		json_array_append_new(json_object_get(by, c), json_string(v));
		free(u);
		free(v);
		free(c);
	}
	qsort(keys, nk, sizeof(*keys), name_cmp);
	for (size_t i = 0; i < nk; i++) {
		json_object_set(out, keys[i], json_object_get(by, keys[i]));
		free(keys[i]);
	}
	free(keys);
	json_decref(by);
	mime_free(m);
	return out;
}

/* An attachment or inline part by PartID. */
const struct mime_part *mailpit_msg_part(const struct mime_msg *m, const char *part_id)
{
	int64_t i;

	if (mock_parse_int(part_id, 0, MIME_MAX_PARTS - 1, &i) < 0 || (size_t)i >= mime_nparts(m))
		return NULL;
	return mime_part_at(m, (size_t)i)->attachment ? mime_part_at(m, (size_t)i) : NULL;
}

/* Whether a record matches a search query (text). */
static bool query_match(const json_t *rec, const char *query)
{
	struct mailpit_query *q = NULL;
	struct mock_err e = {{0}};
	json_t *ix;
	bool ok;

	if (mailpit_query_parse(query, &q, &e) != MAILPIT_QUERY_OK)
		return false;
	ix = mailpit_msg_record_index(rec, mailpit_query_has_text(q));
	ok = mailpit_query_match(q, ix, json_integer_value(json_object_get(rec, "size")),
				 mailpit_msg_read(rec));
	json_decref(ix);
	mailpit_query_free(q);
	return ok;
}

/* The store's index of a record. */
json_t *mailpit_msg_store_index(const json_t *rec)
{
	static const char *const keys[] = {"MessageID", "From", "To", "Cc", "Bcc", "ReplyTo",
					   "Subject", "Attachments", "Inline"};
	json_t *ix = mailpit_msg_record_index(rec, false), *out = json_object(), *v;
	struct sbx_buf head = {0};

	for (size_t i = 0; i < MOCK_NELEM(keys); i++)
		if ((v = json_object_get(ix, keys[i])))
			json_object_set(out, keys[i], v);
	search_head(&head, ix);
	json_object_set_new(out, "head", json_stringn_nocheck(head.data ? head.data : "", head.len));
	json_object_set_new(out, "size", json_integer(json_integer_value(json_object_get(rec, "size"))));
	json_object_set_new(out, "read", json_boolean(mailpit_msg_read(rec)));
	sbx_buf_free(&head);
	json_decref(ix);
	return out;
}

/* A search query decided from a store index: 1, 0, or -1 (the body is needed). */
static int query_match_index(const json_t *ix, const char *query)
{
	struct mailpit_query *q = NULL;
	struct mock_err e = {{0}};
	int rc;

	if (mailpit_query_parse(query, &q, &e) != MAILPIT_QUERY_OK)
		return 0; /* as query_match */
	rc = mailpit_query_match_head(q, ix, json_string_value(json_object_get(ix, "head")),
				      json_integer_value(json_object_get(ix, "size")),
				      json_is_true(json_object_get(ix, "read")));
	mailpit_query_free(q);
	return rc;
}

/* The store's index match. */
int mailpit_msg_index_match(const json_t *ix, const struct mock_kvlist *filter, void *arg)
{
	bool open = false;

	(void)arg;
	for (size_t i = 0; i < filter->n; i++) {
		const char *k = filter->v[i].key, *v = filter->v[i].value;
		int rc = 1;
		if (!strcmp(k, MAILPIT_FILTER_UNREAD))
			rc = json_is_true(json_object_get(ix, "read")) ? 0 : 1;
		else if (!strcmp(k, MAILPIT_FILTER_QUERY))
			rc = query_match_index(ix, v ? v : "");
		else if (mail_msg_filter_known(k))
			rc = -1; /* a field of the record */
		if (rc == 0)
			return 0;
		open |= rc < 0;
	}
	return open ? -1 : 1;
}

/* The store tag function. */
uint32_t mailpit_msg_tags(const json_t *rec)
{
	return mailpit_msg_read(rec) ? 0 : MAILPIT_TAG_UNREAD;
}

/* The store match function. */
bool mailpit_msg_match(const json_t *rec, const struct mock_kvlist *filter, void *arg)
{
	for (size_t i = 0; i < filter->n; i++) {
		const char *k = filter->v[i].key, *v = filter->v[i].value;
		if (!strcmp(k, MAILPIT_FILTER_UNREAD) && mailpit_msg_read(rec))
			return false;
		if (!strcmp(k, MAILPIT_FILTER_QUERY) && !query_match(rec, v ? v : ""))
			return false;
	}
	return mail_msg_match(rec, filter, arg);
}
