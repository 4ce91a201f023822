/* mime — a lenient parser of Internet messages into headers and decoded leaf parts. */
#include "mime.h"

#include "buf.h"
#include "codec.h"
#include "mock_util.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct mime_header {
	char *name, *value;
};

/* The headers of one entity. */
struct header_list {
	struct mime_header *v;
	size_t n;
};

struct mime_msg {
	struct header_list headers; /* top level */
	struct mime_part *parts;
	size_t nparts;
};

/* A parameter list of a structured header ("type/sub; a=b; c*=utf-8''x"). */
struct param {
	char *key, *value; /* key lowercase, RFC 2231 "*" suffixes removed; value decoded */
};
struct param_list {
	struct param v[32];
	size_t n;
};

/* The end of the line starting at p (pointing at its "\n", or end) and the start of the next. */
static const char *line_end(const char *p, const char *end, const char **next)
{
	const char *nl = memchr(p, '\n', (size_t)(end - p));

	*next = nl ? nl + 1 : end;
	return nl ? nl : end;
}

/* Whether [p, e) is empty or a lone "\r". */
static bool line_blank(const char *p, const char *e)
{
	return p == e || (e - p == 1 && *p == '\r');
}

/* Append one header (name/value from a raw unfolded line) to l. */
static void header_add(struct header_list *l, const char *p, size_t len)
{
	const char *colon = memchr(p, ':', len);
	size_t vl;

	if (!colon || colon == p || l->n >= MIME_MAX_HEADERS)
		return;
	l->v = mock_xrealloc(l->v, (l->n + 1) * sizeof(*l->v));
	l->v[l->n].name = mock_xstrndup(p, (size_t)(colon - p));
	colon++;
	vl = len - (size_t)(colon - p);
	while (vl && (*colon == ' ' || *colon == '\t'))
		colon++, vl--;
	while (vl && isspace((unsigned char)colon[vl - 1]))
		vl--;
	l->v[l->n].value = mock_xstrndup(colon, vl);
	l->n++;
}

/*
 * Parse the header section of [p, end) into l, unfolding continuation lines. Returns the start of
 * the body (after the blank line, or end).
 */
static const char *headers_parse(const char *p, const char *end, struct header_list *l)
{
	struct sbx_buf cur = {0};
	const char *next;

	while (p < end) {
		const char *e = line_end(p, end, &next);
		if (line_blank(p, e))
			break;
		size_t len = (size_t)(e - p) - (e > p && e[-1] == '\r');
		bool folded = (*p == ' ' || *p == '\t') && cur.len;
		if (!folded && !memchr(p, ':', len)) {
			next = p; /* not a header: the body starts here */
			break;
		}
		if (folded) {
			sbx_buf_add(&cur, p, len);
		} else {
			if (cur.len)
				header_add(l, cur.data, cur.len);
			cur.len = 0;
			sbx_buf_add(&cur, p, len);
		}
		p = next;
	}
	if (cur.len)
		header_add(l, cur.data, cur.len);
	sbx_buf_free(&cur);
	return p < end ? next : end;
}

/* Free a header list. */
static void headers_free(struct header_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].name);
		free(l->v[i].value);
	}
	free(l->v);
}

/* The value of header name in l, or NULL. */
static const char *headers_get(const struct header_list *l, const char *name)
{
	for (size_t i = 0; i < l->n; i++)
		if (!strcasecmp(l->v[i].name, name))
			return l->v[i].value;
	return NULL;
}

/* Lowercase a string in place; returns it. */
static char *lower(char *s)
{
	for (char *p = s; p && *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return s;
}

/* Read a token or quoted string at *pp (up to a stop character); caller frees. */
static char *param_token(const char **pp, const char *stops)
{
	struct sbx_buf b = {0};
	const char *p = *pp;

	sbx_buf_add(&b, "", 0);
	if (*p == '"') {
		for (p++; *p && *p != '"'; p++) {
			if (*p == '\\' && p[1])
				p++;
			sbx_buf_add(&b, p, 1);
		}
		if (*p == '"')
			p++;
	} else {
		size_t n = strcspn(p, stops), keep = n;
		while (keep && isspace((unsigned char)p[keep - 1]))
			keep--;
		sbx_buf_add(&b, p, keep);
		p += n;
	}
	*pp = p;
	return sbx_buf_steal(&b);
}

/* Decode an RFC 2231 extended value "charset'lang'%xx..." to UTF-8; caller frees. */
static char *rfc2231_decode(const char *v, bool first)
{
	struct sbx_buf raw = {0}, out = {0};
	const char *q1 = first ? strchr(v, '\'') : NULL;
	const char *q2 = q1 ? strchr(q1 + 1, '\'') : NULL;
	char cs[64] = "";

	if (q2 && (size_t)(q1 - v) < sizeof(cs)) {
		memcpy(cs, v, (size_t)(q1 - v));
		cs[q1 - v] = '\0';
		v = q2 + 1;
	}
	for (const char *p = v; *p; p++) {
		char c = *p;
		if (c == '%' && isxdigit((unsigned char)p[1]) && isxdigit((unsigned char)p[2])) {
			char hex[3] = {p[1], p[2], 0};
			c = (char)strtol(hex, NULL, 16);
			p += 2;
		}
		sbx_buf_add(&raw, &c, 1);
	}
	codec_to_utf8(raw.data ? raw.data : "", raw.len, cs[0] ? cs : NULL, &out);
	sbx_buf_free(&raw);
	return sbx_buf_steal(&out);
}

/* Add key=value to pl, joining RFC 2231 continuations (key*0, key*1*) onto one key. */
static void param_add(struct param_list *pl, char *key, char *value)
{
	char *star = strchr(key, '*');
	bool ext = key[0] && key[strlen(key) - 1] == '*';
	bool first = !star || !strncmp(star, "*0", 2) || !strcmp(star, "*");
	char *v = ext ? rfc2231_decode(value, first) : mock_xstrdup(value);

	if (star)
		*star = '\0';
	for (size_t i = 0; i < pl->n; i++) {
		if (star && !first && !strcmp(pl->v[i].key, key)) {
			char *joined = mock_xasprintf("%s%s", pl->v[i].value, v);
			free(pl->v[i].value);
			pl->v[i].value = joined;
			free(v);
			free(key);
			return;
		}
	}
	if (pl->n < MOCK_NELEM(pl->v)) {
		pl->v[pl->n].key = key;
		pl->v[pl->n++].value = v;
		return;
	}
	free(key);
	free(v);
}

/* Parse "value; k=v; ..." : returns the lowercase main value (caller frees), params into pl. */
static char *params_parse(const char *s, struct param_list *pl)
{
	const char *p = s;
	char *main = lower(param_token(&p, ";"));

	while (*p) {
		p += strspn(p, "; \t");
		if (!*p)
			break;
		char *key = lower(param_token(&p, "=;"));
		p += strspn(p, " \t");
		if (*p != '=') {
			free(key);
			continue;
		}
		p++;
		p += strspn(p, " \t");
		char *value = param_token(&p, ";");
		param_add(pl, key, value);
		free(value);
	}
	return main;
}

/* The value of a parameter, or NULL. */
static const char *params_get(const struct param_list *pl, const char *key)
{
	for (size_t i = 0; i < pl->n; i++)
		if (!strcmp(pl->v[i].key, key))
			return pl->v[i].value;
	return NULL;
}

/* Free a parameter list. */
static void params_free(struct param_list *pl)
{
	for (size_t i = 0; i < pl->n; i++) {
		free(pl->v[i].key);
		free(pl->v[i].value);
	}
	pl->n = 0;
}

/* Undo the transfer encoding of a leaf body into part->body. */
static void part_decode(struct mime_part *part, const char *body, size_t len)
{
	struct sbx_buf b = {0};

	if (!strcmp(part->encoding, "base64"))
		codec_base64_decode(body, len, &b);
	else if (!strcmp(part->encoding, "quoted-printable"))
		codec_qp_decode(body, len, false, &b);
	else
		sbx_buf_add(&b, body, len);
	part->len = b.len;
	part->body = sbx_buf_steal(&b);
}

/* A header value decoded to UTF-8 (RFC 2047); caller frees. */
static char *decode_words(const char *v)
{
	struct sbx_buf b = {0};

	codec_header_decode(v, strlen(v), &b);
	return sbx_buf_steal(&b);
}

/* Fill a leaf part's descriptive fields from its headers. */
static void part_describe(struct mime_part *part, const struct header_list *h, char *type,
			  const struct param_list *tp)
{
	const char *enc = headers_get(h, "Content-Transfer-Encoding");
	const char *disp = headers_get(h, "Content-Disposition");
	const char *cid = headers_get(h, "Content-ID");
	struct param_list dp = {.n = 0};
	const char *fname;

	part->content_type = type;
	part->charset = mock_xstrdup(params_get(tp, "charset"));
	part->encoding = lower(mock_xstrdup(enc ? enc : "7bit"));
	part->encoding[strcspn(part->encoding, " \t;")] = '\0';
	part->disposition = disp ? params_parse(disp, &dp) : NULL;
	fname = params_get(&dp, "filename");
	fname = fname ? fname : params_get(tp, "name");
	part->filename = fname ? decode_words(fname) : NULL;
	if (cid) {
		cid += strspn(cid, " <");
		part->content_id = mock_xstrndup(cid, strcspn(cid, ">"));
	}
	part->attachment = (part->disposition && !strcmp(part->disposition, "attachment")) ||
			   part->filename ||
			   (strncmp(type, "text/", 5) && strncmp(type, "multipart/", 10));
	params_free(&dp);
}

/* Append a leaf part built from an entity's headers and body. */
static void leaf_add(struct mime_msg *m, const struct header_list *h, char *type,
		     const struct param_list *tp, const char *body, size_t len)
{
	struct mime_part *part;

	if (m->nparts >= MIME_MAX_PARTS) {
		free(type);
		return;
	}
	m->parts = mock_xrealloc(m->parts, (m->nparts + 1) * sizeof(*m->parts));
	part = &m->parts[m->nparts++];
	memset(part, 0, sizeof(*part));
	part_describe(part, h, type, tp);
	part_decode(part, body, len);
}

static void entity_parse(struct mime_msg *m, const char *p, const char *end, int depth,
			 struct header_list *h);

/*
 * Whether the line [p, e) is a delimiter of boundary b: 1 for "--b", 2 for the closing "--b--",
 * 0 otherwise.
 */
static int boundary_line(const char *p, const char *e, const char *b, size_t bl)
{
	if ((size_t)(e - p) < bl + 2 || p[0] != '-' || p[1] != '-' || memcmp(p + 2, b, bl))
		return 0;
	p += bl + 2;
	if (e - p >= 2 && p[0] == '-' && p[1] == '-')
		return 2;
	while (p < e && isspace((unsigned char)*p))
		p++;
	return p == e ? 1 : 0;
}

/* Walk the parts of a multipart body; returns 0, or -1 when no delimiter was found. */
static int multipart_parse(struct mime_msg *m, const char *p, const char *end, const char *b,
			   int depth)
{
	size_t bl = strlen(b);
	const char *part = NULL, *next;
	int found = -1;

	while (p < end) {
		const char *e = line_end(p, end, &next);
		int kind = boundary_line(p, e, b, bl);
		if (kind) {
			if (part) {
				const char *stop = p > part && p[-1] == '\n' ? p - 1 : p;
				stop = stop > part && stop[-1] == '\r' ? stop - 1 : stop;
				entity_parse(m, part, stop, depth + 1, NULL);
			}
			found = 0;
			part = kind == 1 ? next : NULL;
			if (kind == 2)
				break;
		}
		p = next;
	}
	if (part && part < end)
		entity_parse(m, part, end, depth + 1, NULL);
	return found;
}

/*
 * Parse one entity [p, end): its headers (into *top when given, kept by the caller), then its
 * body, as a multipart container or as a leaf.
 */
static void entity_parse(struct mime_msg *m, const char *p, const char *end, int depth,
			 struct header_list *top)
{
	struct header_list local = {0};
	struct header_list *h = top ? top : &local;
	struct param_list tp = {.n = 0};
	const char *ct, *body, *boundary;
	char *type;

	body = headers_parse(p, end, h);
	ct = headers_get(h, "Content-Type");
	type = params_parse(ct && *ct ? ct : "text/plain", &tp);
	if (!strchr(type, '/')) {
		free(type);
		type = mock_xstrdup("text/plain");
	}
	boundary = params_get(&tp, "boundary");
	if (!strncmp(type, "multipart/", 10) && boundary && *boundary && depth < MIME_MAX_DEPTH &&
	    multipart_parse(m, body, end, boundary, depth) == 0)
		free(type);
	else
		leaf_add(m, h, type, &tp, body, (size_t)(end - body));
	params_free(&tp);
	if (!top)
		headers_free(&local);
}

/* Parse a message (see mime.h). */
struct mime_msg *mime_parse(const char *raw, size_t len)
{
	struct mime_msg *m = mock_xcalloc(1, sizeof(*m));

	entity_parse(m, raw ? raw : "", (raw ? raw : "") + len, 0, &m->headers);
	return m;
}

/* Free a parsed message. */
void mime_free(struct mime_msg *m)
{
	if (!m)
		return;
	headers_free(&m->headers);
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
	return m->headers.n;
}

/* The i-th top-level header. */
void mime_header_at(const struct mime_msg *m, size_t i, const char **name, const char **value)
{
	*name = m->headers.v[i].name;
	*value = m->headers.v[i].value;
}

/* The first top-level header called name. */
const char *mime_header(const struct mime_msg *m, const char *name)
{
	return headers_get(&m->headers, name);
}

/* A decoded top-level header. */
char *mime_header_decoded(const struct mime_msg *m, const char *name)
{
	const char *v = mime_header(m, name);

	return v ? decode_words(v) : NULL;
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
