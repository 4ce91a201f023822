/* k8s_yaml — YAML (libyaml events) and JSON (jansson) text into JSON documents with their lines. */
#include "k8s_yaml.h"

#include <ctype.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#define YTAG_STR "tag:yaml.org,2002:str"

/* An open mapping or sequence. */
struct yframe {
	json_t *val;      /* owned until it closes and is attached to its parent */
	int line;
	size_t nodes0;    /* the budget used before it opened */
	char *anchor;     /* registered when it closes */
	char *key;        /* mapping: the key waiting for its value */
	bool has_key, merge_key;
	json_t *merges;   /* mapping: the values of `<<`, applied when it closes */
};

/* A registered anchor: its value and how many values a copy costs. */
struct yanchor {
	char *name;
	json_t *val;
	size_t nodes;
};

/* The state of one file's parse. */
struct yparse {
	const char *name;
	struct sbx_err *err;
	struct yframe st[K8S_YAML_MAX_DEPTH];
	int depth;
	struct yanchor *anchors;
	size_t nanchors, acap;
	size_t nodes, ndocs;
	json_t *root;
	int root_line;
	struct k8s_docs docs;
};

/* Report an error at a libyaml mark. */
static int yerr(struct yparse *y, yaml_mark_t m, const char *what, const char *detail)
{
	return sbx_err_at(y->err, y->name, (int)m.line + 1, (int)m.column + 1, "%s%s%s", what,
		detail ? ": " : "", detail ? detail : "");
}

/* Charge n values to the file's budget. */
static int ycharge(struct yparse *y, yaml_mark_t m, size_t n)
{
	if (n > K8S_YAML_MAX_NODES - y->nodes)
		return sbx_err_at(y->err, y->name, (int)m.line + 1, (int)m.column + 1,
			"more than %u values (aliases expanded): refusing a file this large",
			K8S_YAML_MAX_NODES);
	y->nodes += n;
	return 0;
}

/* Parse an integer the way Kubernetes' YAML reader does (sign, 0x/0o/0b, leading 0 = octal). */
static bool yint(const char *s, long long *out)
{
	char d[72];
	size_t n = 0;
	bool neg = *s == '-';
	if (*s == '-' || *s == '+')
		s++;
	for (; *s && n < sizeof(d) - 1; s++)
		if (*s != '_')
			d[n++] = *s;
	if (*s || n == 0)
		return false;
	d[n] = '\0';
	int base = 10;
	const char *p = d;
	if (n > 2 && d[0] == '0' && d[1] && strchr("xXoObB", d[1])) {
		base = strchr("xX", d[1]) ? 16 : strchr("oO", d[1]) ? 8 : 2;
		p += 2;
	} else if (n > 1 && d[0] == '0') {
		base = 8;
	}
	static const char digits[] = "0123456789abcdef";
	unsigned long long v = 0;
	for (; *p; p++) {
		const char *dg = strchr(digits, tolower((unsigned char)*p));
		if (dg == NULL || dg - digits >= base || v > (ULLONG_MAX - (unsigned)(dg - digits)) / (unsigned)base)
			return false;
		v = v * (unsigned)base + (unsigned)(dg - digits);
	}
	if (v > (unsigned long long)LLONG_MAX + neg)
		return false;
	*out = neg ? (long long)(0 - v) : (long long)v;
	return true;
}

/* Whether s has the shape of a YAML float: [-+](.N|N[.N*])([eE][-+]N). */
static bool yfloat_shape(const char *s)
{
	size_t before, after = 0;
	s += *s == '-' || *s == '+';
	before = strspn(s, "0123456789");
	s += before;
	if (*s == '.') {
		after = strspn(s + 1, "0123456789");
		s += 1 + after;
	}
	if (before == 0 && after == 0)
		return false;
	if (*s == 'e' || *s == 'E') {
		s++;
		s += *s == '-' || *s == '+';
		size_t e = strspn(s, "0123456789");
		if (e == 0)
			return false;
		s += e;
	}
	return *s == '\0';
}

/* A number, or NULL when s is not one; *bad when it is one JSON cannot hold (.inf, .nan). */
static json_t *ynumber(const char *s, bool *bad)
{
	long long i;
	static const char *const special[] = {".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF",
		"-.inf", "-.Inf", "-.INF", ".nan", ".NaN", ".NAN"};
	for (size_t k = 0; k < SBX_NELEM(special); k++)
		if (strcmp(s, special[k]) == 0) {
			*bad = true;
			return NULL;
		}
	if (!strchr("+-.0123456789", *s))
		return NULL;
	if (yint(s, &i))
		return json_integer(i);
	if (!yfloat_shape(s))
		return NULL;
	double d = strtod(s, NULL);
	if (!isfinite(d)) {
		*bad = true;
		return NULL;
	}
	if (d == floor(d) && fabs(d) < 9.2e18)
		return json_integer((long long)d);
	return json_real(d);
}

/* The JSON value of a scalar event (NULL with an error set). */
static json_t *yscalar(struct yparse *y, const yaml_event_t *ev)
{
	const char *s = (const char *)ev->data.scalar.value;
	size_t len = ev->data.scalar.length;
	const char *tag = (const char *)ev->data.scalar.tag;
	bool plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
	if (plain && (tag == NULL || strcmp(tag, YTAG_STR) != 0) && strlen(s) == len) {
		static const char *const nul[] = {"", "~", "null", "Null", "NULL"};
		static const char *const yes[] = {"true", "True", "TRUE"}, *const no[] = {"false", "False", "FALSE"};
		bool bad = false;
		for (size_t k = 0; k < SBX_NELEM(nul); k++)
			if (strcmp(s, nul[k]) == 0)
				return json_null();
		for (size_t k = 0; k < SBX_NELEM(yes); k++)
			if (strcmp(s, yes[k]) == 0 || strcmp(s, no[k]) == 0)
				return json_boolean(s[0] == 't' || s[0] == 'T');
		json_t *n = ynumber(s, &bad);
		if (n || bad) {
			if (bad)
				yerr(y, ev->start_mark, "a number JSON cannot represent", s);
			return n;
		}
	}
	json_t *str = json_stringn(s, len);
	if (str == NULL)
		yerr(y, ev->start_mark, "a string that is not valid UTF-8", NULL);
	return str;
}

/* Register an anchor for v (a reference is kept; aliases copy it). */
static void yanchor_add(struct yparse *y, const char *name, json_t *v, size_t nodes)
{
	xgrow(&y->anchors, &y->acap, y->nanchors + 1, sizeof(*y->anchors));
	y->anchors[y->nanchors++] = (struct yanchor){xstrdup(name), json_incref(v), nodes};
}

/* Forget the anchors (a document's anchors end with it). */
static void yanchor_clear(struct yparse *y)
{
	for (size_t i = 0; i < y->nanchors; i++) {
		free(y->anchors[i].name);
		json_decref(y->anchors[i].val);
	}
	y->nanchors = 0;
}

/* The text of a mapping key: strings as they are, other scalars as JSON ("1", "true", "null"). */
static char *ykey_text(const json_t *k)
{
	if (json_is_string(k))
		return xstrndup(json_string_value(k), json_string_length(k));
	if (json_is_object(k) || json_is_array(k))
		return NULL;
	char *s = json_dumps(k, JSON_ENCODE_ANY | JSON_COMPACT);
	char *r = xstrdup(s);
	free(s);
	return r;
}

/* Take k as the key of the open mapping f. Consumes k. */
static int ykey(struct yparse *y, struct yframe *f, json_t *k, bool merge, yaml_mark_t m)
{
	char *text = ykey_text(k);
	json_decref(k);
	if (text == NULL)
		return yerr(y, m, "a mapping key must be a scalar", NULL);
	f->key = text;
	f->has_key = true;
	f->merge_key = merge;
	return 0;
}

/* Add a `<<` value (a mapping or a sequence of mappings) to f's merges. Consumes v. */
static int ymerge_add(struct yparse *y, struct yframe *f, json_t *v, yaml_mark_t m)
{
	size_t i;
	json_t *e;
	bool ok = json_is_object(v) || json_is_array(v);
	json_array_foreach(v, i, e) ok = ok && json_is_object(e);
	if (!ok) {
		json_decref(v);
		return yerr(y, m, "`<<` merges a mapping or a sequence of mappings", NULL);
	}
	if (f->merges == NULL)
		f->merges = json_array();
	if (json_is_object(v))
		return json_array_append_new(f->merges, v);
	json_array_foreach(v, i, e) json_array_append(f->merges, e);
	json_decref(v);
	return 0;
}

/* Attach a finished value to the open container (or make it the document's root). Consumes v. */
static int yattach(struct yparse *y, json_t *v, yaml_mark_t m)
{
	if (y->depth == 0) {
		y->root = v;
		y->root_line = (int)m.line + 1;
		return 0;
	}
	struct yframe *f = &y->st[y->depth - 1];
	if (json_is_array(f->val))
		return json_array_append_new(f->val, v);
	if (!f->has_key)
		return ykey(y, f, v, false, m);
	char *key = f->key;
	bool merge = f->merge_key;
	f->key = NULL;
	f->has_key = f->merge_key = false;
	int rc = 0;
	if (merge)
		rc = ymerge_add(y, f, v, m);
	else if (json_object_get(f->val, key)) {
		rc = yerr(y, m, "duplicate mapping key", key);
		json_decref(v);
	} else {
		json_object_set_new(f->val, key, v);
	}
	free(key);
	return rc;
}

/* A scalar event: a key, or a value. */
static int yon_scalar(struct yparse *y, const yaml_event_t *ev)
{
	json_t *v = yscalar(y, ev);
	if (v == NULL || ycharge(y, ev->start_mark, 1) < 0) {
		json_decref(v);
		return -1;
	}
	if (ev->data.scalar.anchor)
		yanchor_add(y, (const char *)ev->data.scalar.anchor, v, 1);
	struct yframe *f = y->depth ? &y->st[y->depth - 1] : NULL;
	if (f && json_is_object(f->val) && !f->has_key)
		return ykey(y, f, v, ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
			strcmp((const char *)ev->data.scalar.value, "<<") == 0, ev->start_mark);
	return yattach(y, v, ev->start_mark);
}

/* An alias event: a copy of the anchored value. */
static int yon_alias(struct yparse *y, const yaml_event_t *ev)
{
	const char *name = (const char *)ev->data.alias.anchor;
	for (size_t i = y->nanchors; i-- > 0;) {
		if (strcmp(y->anchors[i].name, name) != 0)
			continue;
		if (ycharge(y, ev->start_mark, y->anchors[i].nodes) < 0)
			return -1;
		return yattach(y, json_deep_copy(y->anchors[i].val), ev->start_mark);
	}
	return yerr(y, ev->start_mark, "unknown anchor (an alias refers to an anchor defined before it)", name);
}

/* A mapping or sequence start. */
static int yon_open(struct yparse *y, const yaml_event_t *ev, bool map)
{
	const yaml_char_t *anchor = map ? ev->data.mapping_start.anchor : ev->data.sequence_start.anchor;
	struct yframe *top = y->depth ? &y->st[y->depth - 1] : NULL;
	if (top && json_is_object(top->val) && !top->has_key)
		return yerr(y, ev->start_mark, "a mapping key must be a scalar", NULL);
	if (y->depth == K8S_YAML_MAX_DEPTH)
		return yerr(y, ev->start_mark, "nesting too deep", NULL);
	if (ycharge(y, ev->start_mark, 1) < 0)
		return -1;
	y->st[y->depth++] = (struct yframe){.val = map ? json_object() : json_array(),
		.line = (int)ev->start_mark.line + 1, .nodes0 = y->nodes - 1,
		.anchor = anchor ? xstrdup((const char *)anchor) : NULL};
	return 0;
}

/* Apply the `<<` merges of a closing mapping: keys it does not set come from them, earlier first. */
static void ymerge_apply(struct yframe *f)
{
	size_t i;
	json_t *src, *v;
	const char *k;
	json_array_foreach(f->merges, i, src) {
		json_object_foreach(src, k, v) {
			if (json_object_get(f->val, k) == NULL)
				json_object_set(f->val, k, v);
		}
	}
	json_decref(f->merges);
	f->merges = NULL;
}

/* A mapping or sequence end: finish it and attach it. */
static int yon_close(struct yparse *y, const yaml_event_t *ev)
{
	struct yframe f = y->st[--y->depth];
	ymerge_apply(&f);
	if (f.anchor) {
		yanchor_add(y, f.anchor, f.val, y->nodes - f.nodes0);
		free(f.anchor);
	}
	yaml_mark_t m = ev->start_mark;
	m.line = (size_t)f.line - 1;
	return yattach(y, f.val, m);
}

/* A document end: keep its root unless it is empty. */
static int yon_doc_end(struct yparse *y)
{
	yanchor_clear(y);
	if (y->root == NULL || json_is_null(y->root)) {
		json_decref(y->root);
		y->root = NULL;
		return 0;
	}
	xgrow(&y->docs.v, &y->docs.cap, y->docs.n + 1, sizeof(*y->docs.v));
	y->docs.v[y->docs.n++] = (struct k8s_doc){y->root, y->root_line};
	y->root = NULL;
	return 0;
}

/* Dispatch one event. */
static int yon_event(struct yparse *y, const yaml_event_t *ev)
{
	switch (ev->type) {
	case YAML_SCALAR_EVENT:
		return yon_scalar(y, ev);
	case YAML_ALIAS_EVENT:
		return yon_alias(y, ev);
	case YAML_SEQUENCE_START_EVENT:
	case YAML_MAPPING_START_EVENT:
		return yon_open(y, ev, ev->type == YAML_MAPPING_START_EVENT);
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		return yon_close(y, ev);
	case YAML_DOCUMENT_START_EVENT:
		if (++y->ndocs > K8S_YAML_MAX_DOCS)
			return yerr(y, ev->start_mark, "too many documents in one file", NULL);
		return 0;
	case YAML_DOCUMENT_END_EVENT:
		return yon_doc_end(y);
	default:
		return 0;
	}
}

/* Report libyaml's own error. */
static int ysyntax(struct yparse *y, const yaml_parser_t *p)
{
	yaml_mark_t m = p->problem_mark;
	if (p->error == YAML_READER_ERROR) {
		m.line = 0;
		m.column = p->problem_offset;
	}
	char what[160];
	snprintf(what, sizeof(what), "YAML syntax error%s%s", p->context ? ": " : "",
		p->context ? p->context : "");
	return yerr(y, m, what, p->problem ? p->problem : "cannot parse");
}

/* Free what a parse holds. */
static void yparse_free(struct yparse *y)
{
	for (int i = 0; i < y->depth; i++) {
		json_decref(y->st[i].val);
		json_decref(y->st[i].merges);
		free(y->st[i].anchor);
		free(y->st[i].key);
	}
	yanchor_clear(y);
	free(y->anchors);
	json_decref(y->root);
	k8s_docs_clear(&y->docs);
}

/* Move the documents of a finished parse to the end of out. */
static void docs_move(struct k8s_docs *from, struct k8s_docs *out)
{
	if (from->n) {
		xgrow(&out->v, &out->cap, out->n + from->n, sizeof(*out->v));
		memcpy(out->v + out->n, from->v, from->n * sizeof(*from->v));
		out->n += from->n;
	}
	free(from->v);
	*from = (struct k8s_docs){0};
}

/* Parse YAML text into documents. */
int k8s_yaml_parse(const char *name, const char *text, size_t len, struct k8s_docs *out,
	struct sbx_err *err)
{
	struct yparse y = {.name = name, .err = err};
	yaml_parser_t p;
	int rc = -1;
	if (len > K8S_YAML_MAX_BYTES)
		return sbx_err_at(err, name, 1, 1, "larger than %u bytes", K8S_YAML_MAX_BYTES);
	yaml_parser_initialize(&p);
	yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
	for (;;) {
		yaml_event_t ev;
		if (!yaml_parser_parse(&p, &ev)) {
			ysyntax(&y, &p);
			goto out;
		}
		int r = yon_event(&y, &ev);
		bool end = ev.type == YAML_STREAM_END_EVENT;
		yaml_event_delete(&ev);
		if (r < 0)
			goto out;
		if (end)
			break;
	}
	docs_move(&y.docs, out);
	rc = 0;
out:
	yparse_free(&y);
	yaml_parser_delete(&p);
	return rc;
}

/* The 1-based line of a byte offset. */
static int line_of(const char *text, size_t off)
{
	int line = 1;
	for (size_t i = 0; i < off; i++)
		line += text[i] == '\n';
	return line;
}

/* Parse JSON text (values separated by white space) into documents. */
int k8s_json_parse(const char *name, const char *text, size_t len, struct k8s_docs *out,
	struct sbx_err *err)
{
	struct k8s_docs docs = {0};
	size_t off = 0;
	if (len > K8S_YAML_MAX_BYTES)
		return sbx_err_at(err, name, 1, 1, "larger than %u bytes", K8S_YAML_MAX_BYTES);
	for (;;) {
		while (off < len && strchr(" \t\r\n", text[off]) && text[off])
			off++;
		if (off >= len)
			break;
		json_error_t je;
		json_t *j = json_loadb(text + off, len - off,
			JSON_DISABLE_EOF_CHECK | JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &je);
		int line = line_of(text, off);
		if (j == NULL || docs.n == K8S_YAML_MAX_DOCS) {
			k8s_docs_clear(&docs);
			json_decref(j);
			return sbx_err_at(err, name, line + (j ? 0 : je.line - 1), j ? 1 : je.column,
				"%s", j ? "too many documents in one file" : je.text);
		}
		off += je.position;
		if (json_is_null(j))
			continue;
		xgrow(&docs.v, &docs.cap, docs.n + 1, sizeof(*docs.v));
		docs.v[docs.n++] = (struct k8s_doc){j, line};
	}
	docs_move(&docs, out);
	return 0;
}

/* Release documents. */
void k8s_docs_clear(struct k8s_docs *d)
{
	for (size_t i = 0; i < d->n; i++)
		json_decref(d->v[i].json);
	free(d->v);
	*d = (struct k8s_docs){0};
}
