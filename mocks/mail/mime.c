/* mime — Internet messages parsed by GMime into headers and decoded leaf parts. */
#include "mime.h"

#include "buf.h"
#include "codec.h"
#include "mock_util.h"

#include <ctype.h>
#include <gmime/gmime.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct mime_header {
	char *name, *value;
};

struct mime_msg {
	struct mime_header *headers; /* top level */
	size_t nheaders;
	struct mime_part *parts;
	size_t nparts;
};

/* What walking GMime's tree needs: the result, and the message's line endings for re-writing. */
struct walk {
	struct mime_msg *m;
	GMimeFormatOptions *format;
};

/* Lowercase a string in place; returns it. */
static char *lower(char *s)
{
	for (char *p = s; p && *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return s;
}

/* A header value unfolded (line breaks removed, outer blanks trimmed); caller frees. */
static char *unfold(const char *raw)
{
	char *g = g_mime_utils_header_unfold(raw ? raw : "");
	char *s = mock_xstrdup(g);

	g_free(g);
	return s;
}

/* The unfolded raw value of header name of obj, or NULL; caller frees. */
static char *header_raw(GMimeObject *obj, const char *name)
{
	GMimeHeader *h = g_mime_header_list_get_header(g_mime_object_get_header_list(obj), name);

	return h ? unfold(g_mime_header_get_raw_value(h)) : NULL;
}

/* Copy the headers of the top-level entity: names as written, values unfolded. */
static void headers_copy(struct mime_msg *m, GMimeObject *top)
{
	GMimeHeaderList *l = g_mime_object_get_header_list(top);
	size_t n = (size_t)g_mime_header_list_get_count(l);

	n = n < MIME_MAX_HEADERS ? n : MIME_MAX_HEADERS;
	m->headers = mock_xcalloc(n, sizeof(*m->headers));
	for (size_t i = 0; i < n; i++) {
		GMimeHeader *h = g_mime_header_list_get_header_at(l, (int)i);
		m->headers[i].name = mock_xstrdup(g_mime_header_get_name(h));
		m->headers[i].value = unfold(g_mime_header_get_raw_value(h));
	}
	m->nheaders = n;
}

/*
 * The lowercase "type/subtype" of an entity: GMime's reading of its Content-Type (its default
 * when absent: text/plain, or message/rfc822 in a digest), but text/plain (RFC 2045's default)
 * when the header names no type/subtype; caller frees.
 */
static char *entity_type(GMimeObject *obj)
{
	char *ct = header_raw(obj, "Content-Type");
	bool typed = !ct || memchr(ct, '/', strcspn(ct, ";"));
	char *g = typed ? g_mime_content_type_get_mime_type(g_mime_object_get_content_type(obj)) : NULL;
	char *type = lower(mock_xstrdup(g ? g : "text/plain"));

	g_free(g);
	free(ct);
	return type;
}

/* The Content-ID of an entity without its angle brackets, or NULL; caller frees. */
static char *entity_content_id(GMimeObject *obj)
{
	char *raw = header_raw(obj, "Content-ID");
	char *id = NULL;

	if (raw) {
		const char *p = raw + strspn(raw, " <");
		id = mock_xstrndup(p, strcspn(p, ">"));
	}
	free(raw);
	return id;
}

/* The lowercase Content-Transfer-Encoding token of an entity ("7bit" when absent); caller frees. */
static char *entity_encoding(GMimeObject *obj)
{
	char *enc = header_raw(obj, "Content-Transfer-Encoding");

	enc = lower(enc ? enc : mock_xstrdup("7bit"));
	enc[strcspn(enc, " \t;")] = '\0';
	return enc;
}

/* The lowercase disposition ("inline", "attachment"), or NULL without the header; caller frees. */
static char *entity_disposition(GMimeObject *obj)
{
	GMimeContentDisposition *d = g_mime_object_get_content_disposition(obj);
	const char *v = d ? g_mime_content_disposition_get_disposition(d) : NULL;

	if (!g_mime_object_get_header(obj, "Content-Disposition"))
		return NULL;
	return lower(mock_xstrdup(v ? v : ""));
}

/* The decoded filename (Content-Disposition filename=, else Content-Type name=), or NULL. */
static char *entity_filename(GMimeObject *obj)
{
	GMimeContentDisposition *d = g_mime_object_get_content_disposition(obj);
	const char *f = d ? g_mime_content_disposition_get_parameter(d, "filename") : NULL;
	struct sbx_buf b = {0};

	f = f ? f : g_mime_object_get_content_type_parameter(obj, "name");
	if (!f)
		return NULL;
	codec_to_utf8(f, strlen(f), NULL, &b);
	return sbx_buf_steal(&b);
}

/* Append the bytes a GMime stream holds to out. */
static void stream_take(GMimeStream *s, struct sbx_buf *out)
{
	GByteArray *a = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(s));

	sbx_buf_add(out, a->data, a->len);
}

/*
 * The body of a leaf: a part's content with its transfer encoding undone; anything else (a
 * message/rfc822, a multipart shown as a leaf) as GMime writes its content, with the line
 * endings of the message.
 */
static void entity_body(const struct walk *w, GMimeObject *obj, struct mime_part *part)
{
	GMimeStream *s = g_mime_stream_mem_new();
	struct sbx_buf b = {0};

	if (GMIME_IS_PART(obj)) {
		GMimeDataWrapper *content = g_mime_part_get_content(GMIME_PART(obj));
		if (content)
			g_mime_data_wrapper_write_to_stream(content, s);
	} else {
		g_mime_object_write_content_to_stream(obj, w->format, s);
	}
	stream_take(s, &b);
	g_object_unref(s);
	part->len = b.len;
	part->body = sbx_buf_steal(&b);
}

/* Append a leaf part built from an entity. */
static void leaf_add(const struct walk *w, GMimeObject *obj)
{
	struct mime_msg *m = w->m;
	struct mime_part *p;

	if (m->nparts >= MIME_MAX_PARTS)
		return;
	m->parts = mock_xrealloc(m->parts, (m->nparts + 1) * sizeof(*m->parts));
	p = &m->parts[m->nparts++];
	memset(p, 0, sizeof(*p));
	p->content_type = entity_type(obj);
	p->charset = mock_xstrdup(g_mime_object_get_content_type_parameter(obj, "charset"));
	p->encoding = entity_encoding(obj);
	p->disposition = entity_disposition(obj);
	p->filename = entity_filename(obj);
	p->content_id = entity_content_id(obj);
	entity_body(w, obj, p);
	p->attachment = (p->disposition && !strcmp(p->disposition, "attachment")) || p->filename ||
			(strncmp(p->content_type, "text/", 5) && strncmp(p->content_type, "multipart/", 10));
}

/* Collect the leaves under obj: multiparts are walked (up to MIME_MAX_DEPTH), the rest kept. */
static void entity_walk(const struct walk *w, GMimeObject *obj, int depth)
{
	GMimeMultipart *mp = GMIME_IS_MULTIPART(obj) ? GMIME_MULTIPART(obj) : NULL;
	int n = mp ? g_mime_multipart_get_count(mp) : 0;

	if (n == 0 || depth >= MIME_MAX_DEPTH) {
		leaf_add(w, obj);
		return;
	}
	for (int i = 0; i < n; i++)
		entity_walk(w, g_mime_multipart_get_part(mp, i), depth + 1);
}

/* A message GMime cannot read at all (empty, odd first line): one text/plain part of every byte. */
static void raw_add(struct mime_msg *m, const char *raw, size_t len)
{
	struct sbx_buf b = {0};

	m->parts = mock_xcalloc(1, sizeof(*m->parts));
	m->nparts = 1;
	m->parts[0].content_type = mock_xstrdup("text/plain");
	m->parts[0].encoding = mock_xstrdup("7bit");
	sbx_buf_add(&b, raw, len);
	m->parts[0].len = len;
	m->parts[0].body = sbx_buf_steal(&b);
}

/*
 * Where the top-level header section ends without the blank line RFC 5322 wants: the offset of
 * the first line that is neither blank, a continuation nor has a ':', or len when there is none.
 * GMime would read on to the next blank line as (invalid) headers and drop that text; the body
 * starts there instead, as mail written by hand expects.
 */
static size_t header_gap(const char *raw, size_t len)
{
	const char *p = raw, *end = raw + len;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *e = nl ? nl : end;
		if (e == p || (e - p == 1 && *p == '\r'))
			return len;
		if (!((*p == ' ' || *p == '\t') && p > raw) && !memchr(p, ':', (size_t)(e - p)))
			return (size_t)(p - raw);
		p = nl ? nl + 1 : end;
	}
	return len;
}

/* The bytes GMime parses: raw, with the missing blank line inserted at the header gap. */
static GMimeStream *input_stream(const char *raw, size_t len, bool crlf)
{
	size_t gap = header_gap(raw, len);
	GMimeStream *s = g_mime_stream_mem_new();

	g_mime_stream_write(s, raw, gap);
	if (gap < len) {
		g_mime_stream_write_string(s, crlf ? "\r\n" : "\n");
		g_mime_stream_write(s, raw + gap, len - gap);
	}
	g_mime_stream_reset(s);
	return s;
}

/* GMime's tree of raw (len bytes, line endings CRLF when crlf), or NULL. Caller unrefs. */
static GMimeObject *gmime_read(const char *raw, size_t len, bool crlf)
{
	GMimeStream *s = input_stream(raw, len, crlf);
	GMimeParser *parser = g_mime_parser_new_with_stream(s);
	GMimeObject *top;

	g_mime_parser_set_format(parser, GMIME_FORMAT_MESSAGE);
	top = g_mime_parser_construct_part(parser, NULL);
	g_object_unref(parser);
	g_object_unref(s);
	return top;
}

/* Parse a message (see mime.h). */
struct mime_msg *mime_parse(const char *raw, size_t len)
{
	struct walk w = {mock_xcalloc(1, sizeof(*w.m)), NULL};
	const char *nl = raw ? memchr(raw, '\n', len) : NULL;
	bool crlf = nl && nl > raw && nl[-1] == '\r';
	GMimeObject *top;

	codec_init();
	raw = raw ? raw : "";
	top = gmime_read(raw, len, crlf);
	if (!top) {
		raw_add(w.m, raw, len);
		return w.m;
	}
	w.format = g_mime_format_options_new();
	g_mime_format_options_set_newline_format(w.format, crlf ? GMIME_NEWLINE_FORMAT_DOS
								: GMIME_NEWLINE_FORMAT_UNIX);
	headers_copy(w.m, top);
	entity_walk(&w, top, 0);
	g_mime_format_options_free(w.format);
	g_object_unref(top);
	return w.m;
}

/* Free a parsed message. */
void mime_free(struct mime_msg *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->nheaders; i++) {
		free(m->headers[i].name);
		free(m->headers[i].value);
	}
	free(m->headers);
	for (size_t i = 0; i < m->nparts; i++) {
		struct mime_part *p = &m->parts[i];
		free(p->content_type);
		free(p->charset);
		free(p->encoding);
		free(p->disposition);
		free(p->filename);
		free(p->content_id);
		free(p->body);
	}
	free(m->parts);
	free(m);
}

/* Number of top-level headers. */
size_t mime_nheaders(const struct mime_msg *m)
{
	return m->nheaders;
}

/* The i-th top-level header. */
void mime_header_at(const struct mime_msg *m, size_t i, const char **name, const char **value)
{
	*name = m->headers[i].name;
	*value = m->headers[i].value;
}

/* The first top-level header called name. */
const char *mime_header(const struct mime_msg *m, const char *name)
{
	for (size_t i = 0; i < m->nheaders; i++)
		if (!strcasecmp(m->headers[i].name, name))
			return m->headers[i].value;
	return NULL;
}

/* A decoded top-level header (GMime's RFC 2047 decoder, then made valid UTF-8). */
char *mime_header_decoded(const struct mime_msg *m, const char *name)
{
	const char *v = mime_header(m, name);
	struct sbx_buf b = {0};
	char *g;

	if (!v)
		return NULL;
	codec_init();
	g = g_mime_utils_header_decode_text(NULL, v);
	codec_to_utf8(g, strlen(g), NULL, &b);
	g_free(g);
	return sbx_buf_steal(&b);
}

/* Number of leaf parts. */
size_t mime_nparts(const struct mime_msg *m)
{
	return m->nparts;
}

/* The i-th leaf part. */
const struct mime_part *mime_part_at(const struct mime_msg *m, size_t i)
{
	return &m->parts[i];
}

/* The first non-attachment part of a content type. */
const struct mime_part *mime_body(const struct mime_msg *m, const char *content_type)
{
	for (size_t i = 0; i < m->nparts; i++)
		if (!m->parts[i].attachment && !strcmp(m->parts[i].content_type, content_type))
			return &m->parts[i];
	return NULL;
}

/* A part's body as UTF-8. */
char *mime_part_text(const struct mime_part *p)
{
	struct sbx_buf b = {0};

	codec_to_utf8(p->body, p->len, p->charset, &b);
	return sbx_buf_steal(&b);
}

/* Append the mailboxes of an address list (groups walked one level) to *a, up to the cap. */
static void addrs_add(InternetAddressList *l, struct mime_addr **a, size_t *n, int depth)
{
	int count = l ? internet_address_list_length(l) : 0;
	struct sbx_buf b = {0};

	for (int i = 0; i < count && *n < MIME_MAX_ADDRS; i++) {
		InternetAddress *ia = internet_address_list_get_address(l, i);
		const char *name = internet_address_get_name(ia), *addr;
		if (INTERNET_ADDRESS_IS_GROUP(ia)) {
			if (depth < 1)
				addrs_add(internet_address_group_get_members(INTERNET_ADDRESS_GROUP(ia)), a, n,
					  depth + 1);
			continue;
		}
		addr = internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(ia));
		*a = mock_xrealloc(*a, (*n + 1) * sizeof(**a));
		codec_to_utf8(name ? name : "", name ? strlen(name) : 0, NULL, &b);
		(*a)[*n].name = sbx_buf_steal(&b);
		codec_to_utf8(addr ? addr : "", addr ? strlen(addr) : 0, NULL, &b);
		(*a)[*n].address = sbx_buf_steal(&b);
		(*n)++;
	}
}

/* The mailboxes of a header (GMime's address parser). */
struct mime_addr *mime_header_addrs(const struct mime_msg *m, const char *name, size_t *n)
{
	const char *v = mime_header(m, name);
	struct mime_addr *a = NULL;
	InternetAddressList *l;

	*n = 0;
	if (!v)
		return NULL;
	codec_init();
	l = internet_address_list_parse(NULL, v);
	addrs_add(l, &a, n, 0);
	if (l)
		g_object_unref(l);
	return a;
}

/* Free a mailbox array. */
void mime_addrs_free(struct mime_addr *a, size_t n)
{
	for (size_t i = 0; a && i < n; i++) {
		free(a[i].name);
		free(a[i].address);
	}
	free(a);
}

/* The Date header as RFC 3339 (GMime's RFC 5322 date parser). */
int mime_header_date(const struct mime_msg *m, char out[40])
{
	const char *v = mime_header(m, "Date");
	GDateTime *dt;
	gchar *s;

	if (!v)
		return -1;
	codec_init();
	dt = g_mime_utils_header_decode_date(v);
	if (!dt)
		return -1;
	s = g_date_time_get_utc_offset(dt) == 0 ? g_date_time_format(dt, "%Y-%m-%dT%H:%M:%SZ")
						 : g_date_time_format(dt, "%Y-%m-%dT%H:%M:%S%:z");
	g_date_time_unref(dt);
	if (!s)
		return -1;
	snprintf(out, 40, "%s", s);
	g_free(s);
	return 0;
}
