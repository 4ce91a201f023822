/* mock_req — plain HTTP request/response objects and the JSON helpers of handlers. */
#include "mock_req.h"

#include "mock_kv.h"
#include "mock_store.h"
#include "mock_util.h"

#include <ctype.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Value of one hex digit, or -1. */
static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Percent-decode n bytes of s into a fresh string ('+' stays '+' unless plus_space). */
static char *pct_decode_as(const char *s, size_t n, bool plus_space)
{
	char *out = mock_xmalloc(n + 1), *o = out;

	for (size_t i = 0; i < n; i++) {
		if (s[i] == '%' && i + 2 < n && hexval((unsigned char)s[i + 1]) >= 0 && hexval((unsigned char)s[i + 2]) >= 0) {
			*o++ = (char)(hexval((unsigned char)s[i + 1]) * 16 + hexval((unsigned char)s[i + 2]));
			i += 2;
		} else {
			*o++ = plus_space && s[i] == '+' ? ' ' : s[i];
		}
	}
	*o = '\0';
	return out;
}

/* Percent-decode n bytes of s into a fresh string ('+' stays '+'). */
static char *pct_decode(const char *s, size_t n)
{
	return pct_decode_as(s, n, false);
}

/* Parse "a=b&c=d" into l, '+' kept or read as a space. */
static void parse_query_as(struct mock_kvlist *l, const char *q, bool plus_space)
{
	while (q && *q) {
		size_t len = strcspn(q, "&");
		const char *eq = memchr(q, '=', len);
		if (len > 0) {
			size_t klen = eq ? (size_t)(eq - q) : len;
			char *k = pct_decode_as(q, klen, plus_space);
			char *v = eq ? pct_decode_as(eq + 1, len - klen - 1, plus_space) : mock_xstrdup("");
			mock_kv_add(l, k, v);
			free(k);
			free(v);
		}
		q += len + (q[len] == '&');
	}
}

/* Parse "a=b&c=d" into l ('+' kept). */
void mock_req_parse_query(struct mock_kvlist *l, const char *q)
{
	parse_query_as(l, q, false);
}

/* Parse "a=b+c&d=e" into l ('+' is a space). */
void mock_req_parse_form(struct mock_kvlist *l, const char *q)
{
	parse_query_as(l, q, true);
}

/* Build a request by hand. */
struct mock_req *mock_req_new(const char *method, const char *path, const void *body, size_t len)
{
	struct mock_req *r = mock_xcalloc(1, sizeof(*r));
	const char *qm = strchr(path, '?');

	r->method = mock_xstrdup(method);
	r->path = pct_decode(path, qm ? (size_t)(qm - path) : strlen(path));
	if (qm) {
		mock_req_parse_query(&r->query, qm + 1);
		r->raw_query = mock_xstrdup(qm + 1);
	}
	r->body = mock_xmalloc(len + 1);
	if (len)
		memcpy(r->body, body, len);
	r->body[len] = '\0';
	r->body_len = len;
	return r;
}

/* Add a header. */
void mock_req_add_header(struct mock_req *r, const char *name, const char *value)
{
	mock_kv_add(&r->headers, name, value);
}

/* Free a request. */
void mock_req_free(struct mock_req *r)
{
	if (!r)
		return;
	free(r->method);
	free(r->path);
	free(r->body);
	free(r->remote);
	free(r->raw_query);
	mock_kv_free(&r->query);
	mock_kv_free(&r->headers);
	for (size_t i = 0; i < r->nparams; i++)
		free(r->param_values[i]);
	free(r);
}

/* Query argument by name. */
const char *mock_req_query(const struct mock_req *r, const char *key)
{
	return mock_kv_get(&r->query, key, false);
}

/* Header by name. */
const char *mock_req_header(const struct mock_req *r, const char *name)
{
	return mock_kv_get(&r->headers, name, true);
}

/* Path capture by name. */
const char *mock_req_param(const struct mock_req *r, const char *name)
{
	for (size_t i = 0; i < r->nparams; i++) {
		if (strcmp(r->param_names[i], name) == 0)
			return r->param_values[i];
	}
	return NULL;
}

/* Release the response's contents. */
void mock_resp_clear(struct mock_resp *r)
{
	mock_wait_free(r->wait);
	free(r->body);
	mock_kv_free(&r->headers);
	memset(r, 0, sizeof(*r));
}

/* Hold the answer back. */
void mock_resp_delay(struct mock_resp *r, int64_t ms)
{
	r->delay_ms = ms > 0 ? ms : 0;
}

/* Replace the body. */
static void resp_set(struct mock_resp *r, int status, const char *ctype, char *body, size_t len)
{
	free(r->body);
	r->status = status;
	r->content_type = ctype;
	r->body = body;
	r->body_len = len;
}

/* Respond with a body the response takes over. */
void mock_resp_take(struct mock_resp *r, int status, const char *content_type, char *body, size_t len)
{
	resp_set(r, status, content_type, body, len);
}

/* Respond with JSON. */
void mock_resp_json(struct mock_resp *r, int status, json_t *doc)
{
	char *text = mock_json_dump(doc);
	size_t len = strlen(text);

	json_decref(doc);
	text = mock_xrealloc(text, len + 2);
	text[len] = '\n';
	text[len + 1] = '\0';
	resp_set(r, status, "application/json", text, len + 1);
}

/* Respond with text. */
void mock_resp_text(struct mock_resp *r, int status, const char *content_type, const char *text)
{
	resp_set(r, status, content_type, mock_xstrdup(text), strlen(text));
}

/* Respond with an error document. */
void mock_resp_error(struct mock_resp *r, int status, const char *code, const char *fmt, ...)
{
	va_list ap;
	char msg[512];

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	mock_resp_json(r, status, json_pack("{s:{s:s,s:s}}", "error", "code", code, "message", msg));
}

/* Read an integer query argument; 400 when bad. */
int mock_req_query_int(const struct mock_req *req, const char *key, int64_t def, int64_t max,
		       int64_t *out, struct mock_resp *r)
{
	const char *v = mock_req_query(req, key);

	*out = def;
	if (v && mock_parse_int(v, 0, max, out) < 0) {
		mock_resp_error(r, 400, "invalid_query", "%s must be an integer between 0 and %lld", key,
				(long long)max);
		return -1;
	}
	return 0;
}

/* Add a response header. */
void mock_resp_header(struct mock_resp *r, const char *name, const char *value)
{
	mock_kv_add(&r->headers, name, value);
}

/* Respond with bytes the response takes over. */
void mock_resp_bytes(struct mock_resp *r, int status, struct sbx_buf *b, const char *content_type)
{
	mock_resp_clear(r);
	r->status = status;
	r->body_len = b->len;
	r->body = sbx_buf_steal(b);
	r->content_type = NULL;
	mock_resp_header(r, "Content-Type", content_type);
}

/* Parse the body as a JSON object or answer 400. */
json_t *mock_req_json(const struct mock_req *r, struct mock_resp *resp)
{
	json_error_t err;
	json_t *doc;

	if (r->body_len == 0) {
		mock_resp_error(resp, 400, "invalid_json", "request body is empty: expected a JSON object");
		return NULL;
	}
	doc = json_loadb(r->body, r->body_len, JSON_REJECT_DUPLICATES, &err);
	if (!doc) {
		mock_resp_error(resp, 400, "invalid_json", "malformed JSON at line %d column %d: %s",
				err.line, err.column, err.text);
		return NULL;
	}
	if (!json_is_object(doc)) {
		json_decref(doc);
		mock_resp_error(resp, 400, "invalid_json", "request body must be a JSON object");
		return NULL;
	}
	return doc;
}

/* Read a string field. */
int mock_json_str(json_t *obj, const char *key, bool required, const char **out,
		  struct mock_resp *resp)
{
	json_t *v = json_object_get(obj, key);

	if (!v || json_is_null(v)) {
		if (required) {
			mock_resp_error(resp, 400, "missing_field", "field \"%s\" is required", key);
			return -1;
		}
		*out = NULL;
		return 0;
	}
	if (!json_is_string(v)) {
		mock_resp_error(resp, 400, "invalid_field", "field \"%s\" must be a string", key);
		return -1;
	}
	*out = json_string_value(v);
	return 0;
}

/* The most members the quick path of mock_req_str_fields reads (more: jansson's path). */
#define FLAT_MAX 16

/* Skip JSON whitespace. */
static const char *skip_ws(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
		p++;
	return p;
}

/*
 * A quoted string of printable ASCII without escapes at p (in buf, which is written: its closing
 * quote becomes a NUL): its start, with *pp after it; NULL when it is anything else.
 */
static char *flat_str(char **pp, const char *end)
{
	char *p = *pp, *s;

	if (p >= end || *p != '"')
		return NULL;
	for (s = ++p; p < end && *p != '"'; p++) {
		if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7f || *p == '\\')
			return NULL;
	}
	if (p >= end)
		return NULL;
	*p = '\0';
	*pp = p + 1;
	return s;
}

/*
 * The quick path: buf (len bytes, a copy of the body) is a JSON object of at most FLAT_MAX
 * members, each a string of printable ASCII without escapes or null, with distinct keys — what
 * jansson would parse into the same object (anything else: -1, jansson decides). Fills keys and
 * vals (NULL: null) in buf; *n members.
 */
static int flat_parse(char *buf, size_t len, char **keys, char **vals, size_t *n)
{
	char *p = buf, *end = buf + len;

	*n = 0;
	p = (char *)skip_ws(p, end);
	if (p >= end || *p++ != '{')
		return -1;
	p = (char *)skip_ws(p, end);
	if (p < end && *p == '}') {
		p++;
		goto done;
	}
	for (;;) {
		if (*n == FLAT_MAX || !(keys[*n] = flat_str(&p, end)))
			return -1;
		p = (char *)skip_ws(p, end);
		if (p >= end || *p++ != ':')
			return -1;
		p = (char *)skip_ws(p, end);
		if (end - p >= 4 && memcmp(p, "null", 4) == 0) {
			vals[*n] = NULL;
			p += 4;
		} else if (!(vals[*n] = flat_str(&p, end))) {
			return -1;
		}
		for (size_t i = 0; i < *n; i++) {
			if (strcmp(keys[i], keys[*n]) == 0)
				return -1; /* jansson: duplicate key */
		}
		(*n)++;
		p = (char *)skip_ws(p, end);
		if (p < end && *p == ',') {
			p = (char *)skip_ws(p + 1, end);
			continue;
		}
		if (p >= end || *p++ != '}')
			return -1;
		break;
	}
done:
	return skip_ws(p, end) == end ? 0 : -1;
}

/* Read the string fields from the quick path's members, as mock_json_str reads them. */
static int flat_fields(char **keys, char **vals, size_t nmembers, size_t n, const char *const *want,
		       const bool *required, const char **out, struct mock_resp *resp)
{
	for (size_t i = 0; i < n; i++) {
		out[i] = NULL;
		for (size_t j = 0; j < nmembers; j++) {
			if (strcmp(keys[j], want[i]) == 0)
				out[i] = vals[j];
		}
		if (!out[i] && required[i]) {
			mock_resp_error(resp, 400, "missing_field", "field \"%s\" is required", want[i]);
			return -1;
		}
	}
	return 0;
}

/* Read string fields of a JSON object body: the quick path, else jansson's. */
int mock_req_str_fields(const struct mock_req *r, size_t n, const char *const *keys,
			const bool *required, const char **out, struct mock_fields *hold,
			struct mock_resp *resp)
{
	char *mkeys[FLAT_MAX], *mvals[FLAT_MAX];
	size_t nmembers;

	*hold = (struct mock_fields){NULL, NULL};
	if (r->body_len > 0) {
		hold->buf = mock_xmalloc(r->body_len + 1);
		memcpy(hold->buf, r->body, r->body_len);
		hold->buf[r->body_len] = '\0';
		if (flat_parse(hold->buf, r->body_len, mkeys, mvals, &nmembers) == 0)
			return flat_fields(mkeys, mvals, nmembers, n, keys, required, out, resp);
		free(hold->buf);
		hold->buf = NULL;
	}
	hold->doc = mock_req_json(r, resp);
	if (!hold->doc)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (mock_json_str(hold->doc, keys[i], required[i], &out[i], resp) < 0)
			return -1;
	}
	return 0;
}

/* Free what the fields point into. */
void mock_fields_free(struct mock_fields *hold)
{
	free(hold->buf);
	json_decref(hold->doc);
	*hold = (struct mock_fields){NULL, NULL};
}

/* Read an integer field within bounds. */
int mock_json_int(json_t *obj, const char *key, bool required, int64_t min, int64_t max,
		  int64_t *out, struct mock_resp *resp)
{
	json_t *v = json_object_get(obj, key);

	if (!v || json_is_null(v)) {
		if (!required)
			return 0;
		mock_resp_error(resp, 400, "missing_field", "field \"%s\" is required", key);
		return -1;
	}
	if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max) {
		mock_resp_error(resp, 400, "invalid_field",
				"field \"%s\" must be an integer between %lld and %lld", key,
				(long long)min, (long long)max);
		return -1;
	}
	*out = json_integer_value(v);
	return 0;
}

/* Write s as a JSON string at out (runs of plain bytes are copied whole). */
size_t mock_json_esc(char *out, const char *s, size_t len)
{
	static const char hex[] = "0123456789ABCDEF"; /* json_dumps: \\u%04X */
	char *o = out;
	size_t i = 0;

	*o++ = '"';
	while (i < len) {
		size_t run = i;
		unsigned char c;

		while (run < len && (unsigned char)s[run] >= 0x20 && s[run] != '"' && s[run] != '\\')
			run++;
		memcpy(o, s + i, run - i);
		o += run - i;
		if (run == len)
			break;
		c = (unsigned char)s[run];
		*o++ = '\\';
		switch (c) {
		case '"': *o++ = '"'; break;
		case '\\': *o++ = '\\'; break;
		case '\b': *o++ = 'b'; break;
		case '\f': *o++ = 'f'; break;
		case '\n': *o++ = 'n'; break;
		case '\r': *o++ = 'r'; break;
		case '\t': *o++ = 't'; break;
		default:
			memcpy(o, "u00", 3);
			o[3] = hex[c >> 4];
			o[4] = hex[c & 15];
			o += 5;
		}
		i = run + 1;
	}
	*o++ = '"';
	return (size_t)(o - out);
}

/* The length of s as a JSON string. */
size_t mock_json_esc_len(const char *s, size_t len)
{
	size_t n = len + 2;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\' || c == '\b' || c == '\f' || c == '\n' || c == '\r' || c == '\t')
			n += 1;
		else if (c < 0x20)
			n += 5;
	}
	return n;
}

/* Append s as a JSON string, escaped in pieces of up to 256 bytes. */
void mock_json_put_str(struct sbx_buf *b, const char *s, size_t len)
{
	char out[MOCK_JSON_STR_MAX(256)];
	size_t i = 0, n;

	if (len <= 256) {
		sbx_buf_add(b, out, mock_json_esc(out, s, len));
		return;
	}
	sbx_buf_add(b, "\"", 1);
	for (; i < len; i += n) {
		n = len - i < 256 ? len - i : 256;
		sbx_buf_add(b, out + 1, mock_json_esc(out, s + i, n) - 2); /* without its quotes */
	}
	sbx_buf_add(b, "\"", 1);
}

/* Append v as compact JSON, objects in insertion order (json_dumps' JSON_PRESERVE_ORDER). */
static void dump_value(struct sbx_buf *b, const json_t *v)
{
	const char *key;
	json_t *item;
	size_t i;
	char *real, num[24];

	switch (json_typeof(v)) {
	case JSON_OBJECT:
		sbx_buf_add(b, "{", 1);
		i = 0;
		json_object_foreach ((json_t *)v, key, item) {
			if (i++)
				sbx_buf_add(b, ",", 1);
			mock_json_put_str(b, key, strlen(key));
			sbx_buf_add(b, ":", 1);
			dump_value(b, item);
		}
		sbx_buf_add(b, "}", 1);
		return;
	case JSON_ARRAY:
		sbx_buf_add(b, "[", 1);
		json_array_foreach (v, i, item) {
			if (i)
				sbx_buf_add(b, ",", 1);
			dump_value(b, item);
		}
		sbx_buf_add(b, "]", 1);
		return;
	case JSON_STRING:
		mock_json_put_str(b, json_string_value(v), json_string_length(v));
		return;
	case JSON_INTEGER:
		sbx_buf_add(b, num, (size_t)snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT,
						     json_integer_value(v)));
		return;
	case JSON_REAL: /* jansson's own formatting of doubles */
		real = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
		sbx_buf_puts(b, real ? real : "null");
		free(real);
		return;
	case JSON_TRUE: sbx_buf_add(b, "true", 4); return;
	case JSON_FALSE: sbx_buf_add(b, "false", 5); return;
	default: sbx_buf_add(b, "null", 4); return;
	}
}

/*
 * Compact JSON text: the same text as json_dumps(JSON_COMPACT | JSON_PRESERVE_ORDER), written
 * straight into one buffer with runs of plain bytes copied whole (jansson's goes through a callback
 * per piece: this is on the path of every stored record and every answer).
 */
char *mock_json_dump(const json_t *doc)
{
	struct sbx_buf b = {NULL, 0, 0};

	if (!doc)
		return mock_xstrdup("null");
	b.data = mock_xmalloc(512); /* a record in one allocation, not seven doublings from 8 */
	b.cap = 512;
	dump_value(&b, doc);
	/* the doublings leave up to half the buffer unused: the store keeps this text */
	return b.cap - b.len > 64 ? mock_xrealloc(b.data, b.len + 1) : b.data;
}

/* Decode the Authorization: Basic header. */
char *mock_req_basic(const struct mock_req *r, const char **pass)
{
	const char *h = mock_req_header(r, "Authorization");
	size_t n;
	unsigned char *out;
	char *colon;
	int len;

	if (!h || strncasecmp(h, "Basic ", 6) != 0)
		return NULL;
	for (h += 6; *h == ' '; h++)
		;
	n = strlen(h);
	if (n < 4 || n % 4 || n > 4096)
		return NULL;
	out = mock_xcalloc(1, n / 4 * 3 + 1);
	len = EVP_DecodeBlock(out, (const unsigned char *)h, (int)n);
	if (len > 0)
		len -= (h[n - 1] == '=') + (h[n - 2] == '=');
	if (len <= 0 || memchr(out, '\0', (size_t)len)) {
		explicit_bzero(out, n / 4 * 3 + 1);
		free(out);
		return NULL;
	}
	out[len] = '\0';
	colon = strchr((char *)out, ':');
	if (colon)
		*colon = '\0';
	*pass = colon ? colon + 1 : (const char *)out + len;
	return (char *)out;
}
