/*
 * bp_schema — the schema engine: converts a mapping of the merged tree into a model object with a
 * table of fields (bp_schema.h). One converter per field type; unknown keys, missing required keys
 * and names given twice in a list are reported here. No defaults, no checks across fields.
 */
#include "bp_schema.h"

#include <ctype.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "ip4.h"

typedef void conv_fn(struct bp_ctx *c, const struct bp_tree *v, void *obj, const struct bp_field *f);

/* A pointer into an object. */
#define AT(obj, off, T) ((T *)(void *)((char *)(obj) + (off)))

/* The scalar text of v, or NULL after reporting that `expected` was wanted. */
static const char *scalar(struct bp_ctx *c, const struct bp_tree *v, const char *key,
	const char *expected)
{
	char d[80];
	if (v->kind == BP_TREE_SCALAR && !bp_tree_is_null(v) && !v->bad)
		return v->str;
	if (v->bad)
		return NULL;
	bp_errf(c, v->pos, "%s: expected %s, got %s", key, expected, bp_tree_describe(v, d, sizeof(d)));
	return NULL;
}

/* Replace a string member. */
static void set_str(void *obj, size_t off, const char *s)
{
	char **p = AT(obj, off, char *);
	free(*p);
	*p = xstrdup(s);
}

/* Whether a name is valid, taking "<env>" (validation without an environment) as a valid part. */
static bool name_ok(const struct bp_ctx *c, const char *s)
{
	if (sbx_valid_name(s))
		return true;
	if ((c->opts && c->opts->env_name) || strstr(s, "<env>") == NULL)
		return false;
	struct sbx_buf b = {0};
	for (const char *p = s; *p;) {
		bool env = strncmp(p, "<env>", 5) == 0;
		sbx_buf_add(&b, env ? "e" : p, 1);
		p += env ? 5 : 1;
	}
	bool ok = sbx_valid_name(b.data);
	sbx_buf_free(&b);
	return ok;
}

/* BP_F_STR. */
static void conv_str(struct bp_ctx *c, const struct bp_tree *v, void *obj, const struct bp_field *f)
{
	const char *s = scalar(c, v, f->key, "a string");
	if (s)
		set_str(obj, f->off, s);
}

/* BP_F_NAME: a resource name. */
static void conv_name(struct bp_ctx *c, const struct bp_tree *v, void *obj, const struct bp_field *f)
{
	const char *s = scalar(c, v, f->key, "a name");
	if (s == NULL)
		return;
	if (!name_ok(c, s))
		bp_errf(c, v->pos, "%s: invalid name \"%s\": expected lowercase letters, digits and '-', "
			"starting with a letter, at most 40 characters", f->key, s);
	set_str(obj, f->off, s);
}

/* Index of the value in the field's choices, or -1 (and an error listing them). */
static int choice(struct bp_ctx *c, const struct bp_tree *v, const struct bp_field *f)
{
	struct sbx_buf b = {0};
	const char *s = scalar(c, v, f->key, "a string");
	if (s == NULL)
		return -1;
	for (int i = 0; f->choices[i]; i++) {
		if (strcmp(s, f->choices[i]) == 0) {
			sbx_buf_free(&b);
			return i;
		}
		sbx_buf_printf(&b, "%s%s", i ? ", " : "", f->choices[i]);
	}
	bp_errf(c, v->pos, "%s: expected one of %s, got \"%s\"", f->key, b.data, s);
	sbx_buf_free(&b);
	return -1;
}

/* BP_F_CHOICE: a string from a table. */
static void conv_choice(struct bp_ctx *c, const struct bp_tree *v, void *obj, const struct bp_field *f)
{
	int i = choice(c, v, f);
	if (i >= 0)
		set_str(obj, f->off, f->choices[i]);
}

/* BP_F_ENUM: an index into a table. */
static void conv_enum(struct bp_ctx *c, const struct bp_tree *v, void *obj, const struct bp_field *f)
{
	int i = choice(c, v, f);
	if (i >= 0)
		*AT(obj, f->off, int) = i;
}

/* An integer within the field's bounds. */
static int int_value(struct bp_ctx *c, const struct bp_tree *v, const struct bp_field *f, int64_t *out)
{
	const char *s = scalar(c, v, f->key, "an integer");
	size_t n = s ? strspn(s, "0123456789") : 0;
	if (s == NULL)
		return -1;
	int64_t x = (n > 0 && n <= 12 && s[n] == '\0') ? strtoll(s, NULL, 10) : -1;
	if (x < f->min || x > f->max) {
		bp_errf(c, v->pos, "%s: expected an integer between %lld and %lld, got \"%s\"", f->key,
			(long long)f->min, (long long)f->max, s);
		return -1;
	}
	*out = x;
	return 0;
}

/* BP_F_INT. */
static void conv_int(struct bp_ctx *c, const struct bp_tree *v, void *obj, const struct bp_field *f)
{
	int64_t x;
	if (int_value(c, v, f, &x) == 0)
		*AT(obj, f->off, int) = (int)x;
}

/* BP_F_U32. */
static void conv_u32(struct bp_ctx *c, const struct bp_tree *v, void *obj, const struct bp_field *f)
{
	int64_t x;
	if (int_value(c, v, f, &x) == 0)
		*AT(obj, f->off, uint32_t) = (uint32_t)x;
}

/* BP_F_BOOL. */
static void conv_bool(struct bp_ctx *c, const struct bp_tree *v, void *obj, const struct bp_field *f)
{
	const char *s = scalar(c, v, f->key, "true or false");
	if (s == NULL)
		return;
	if (strcmp(s, "true") == 0 || strcmp(s, "false") == 0)
		*AT(obj, f->off, bool) = s[0] == 't';
	else
		bp_errf(c, v->pos, "%s: expected true or false, got \"%s\"", f->key, s);
}

/* BP_F_SIZE: "512Mi", "2Gi". */
static void conv_size(struct bp_ctx *c, const struct bp_tree *v, void *obj, const struct bp_field *f)
{
	char lo[32], hi[32];
	const char *s = scalar(c, v, f->key, "a size like 512Mi or 2Gi");
	uint64_t x;
	if (s == NULL)
		return;
	if (sbx_parse_size(s, &x) < 0) {
		bp_errf(c, v->pos, "%s: expected a size like 512Mi or 2Gi, got \"%s\"", f->key, s);
		return;
	}
	if (x < (uint64_t)f->min || x > (uint64_t)f->max) {
		bp_errf(c, v->pos, "%s: %s is out of range (%s to %s)", f->key, s,
			sbx_fmt_size((uint64_t)f->min, lo, sizeof(lo)), sbx_fmt_size((uint64_t)f->max, hi, sizeof(hi)));
		return;
	}
	*AT(obj, f->off, uint64_t) = x;
}

/* Whether s is a device path: /dev/ then parts of [A-Za-z0-9._:+-], none empty, "." or "..". */
static bool devpath_ok(const char *s)
{
	if (!sbx_has_prefix(s, "/dev/"))
		return false;
	for (const char *p = s + 5;; p++) {
		size_t n = strspn(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:+-");
		if (n == 0 || (p[n] != '/' && p[n] != '\0') || strncmp(p, ".", n) == 0 || strncmp(p, "..", n) == 0)
			return false;
		p += n;
		if (*p == '\0')
			return true;
	}
}

/* BP_F_DISK: a size ("20Gi": a virtual disk) or a device path ("/dev/sda": a machine's disk). */
static void conv_disk(struct bp_ctx *c, const struct bp_tree *v, void *obj, const struct bp_field *f)
{
	static const char expected[] = "a size like 20Gi or a device path like /dev/sda";
	const char *s = scalar(c, v, f->key, expected);
	if (s == NULL)
		return;
	uint64_t x;
	if (s[0] != '/' && sbx_parse_size(s, &x) == 0) {
		conv_size(c, v, obj, f);
		return;
	}
	if (s[0] != '/' || !devpath_ok(s) || strstr(s, "..") || strlen(s) > 255)
		bp_errf(c, v->pos, "%s: expected %s (a path under /dev/ without \"..\" or empty parts), got \"%s\"",
			f->key, expected, s);
	else
		set_str(obj, f->off_n, s);
}

/* BP_F_DUR: "8h", "3d". */
static void conv_dur(struct bp_ctx *c, const struct bp_tree *v, void *obj, const struct bp_field *f)
{
	char lo[32], hi[32];
	const char *s = scalar(c, v, f->key, "a duration like 8h or 3d");
	int64_t x;
	if (s == NULL)
		return;
	if (sbx_parse_duration(s, &x) < 0) {
		bp_errf(c, v->pos, "%s: expected a duration like 8h or 3d, got \"%s\"", f->key, s);
		return;
	}
	if (x < f->min || x > f->max) {
		bp_errf(c, v->pos, "%s: %s is out of range (%s to %s)", f->key, s,
			sbx_fmt_duration(f->min, lo, sizeof(lo)), sbx_fmt_duration(f->max, hi, sizeof(hi)));
		return;
	}
	*AT(obj, f->off, int64_t) = x;
}

/* BP_F_STRS: a list of strings. */
static void conv_strs(struct bp_ctx *c, const struct bp_tree *v, void *obj, const struct bp_field *f)
{
	char d[80];
	if (v->kind != BP_TREE_SEQ) {
		bp_errf(c, v->pos, "%s: expected a list like [a, b], got %s", f->key,
			bp_tree_describe(v, d, sizeof(d)));
		return;
	}
	char **list = xcalloc(v->n, sizeof(*list));
	size_t n = 0;
	for (size_t i = 0; i < v->n; i++) {
		const char *s = scalar(c, v->ents[i].val, f->key, "a string");
		if (s)
			list[n++] = xstrdup(s);
	}
	char ***p = AT(obj, f->off, char **);
	for (size_t i = 0; *p && i < *AT(obj, f->off_n, size_t); i++)
		free((*p)[i]);
	free(*p);
	*p = list;
	*AT(obj, f->off_n, size_t) = n;
}

/* BP_F_TAGS: a mapping of tag names to values, stored as "key=value". */
static void conv_tags(struct bp_ctx *c, const struct bp_tree *v, void *obj, const struct bp_field *f)
{
	char d[80];
	if (v->kind != BP_TREE_MAP) {
		bp_errf(c, v->pos, "%s: expected a mapping of tags like { size: large }, got %s", f->key,
			bp_tree_describe(v, d, sizeof(d)));
		return;
	}
	char **list = xcalloc(v->n + 1, sizeof(*list));
	size_t n = 0;
	for (size_t i = 0; i < v->n; i++) {
		const char *s = scalar(c, v->ents[i].val, v->ents[i].key, "a tag value");
		if (s && !sbx_valid_name(v->ents[i].key))
			bp_errf(c, v->ents[i].kpos, "%s: invalid tag name \"%s\": expected lowercase letters, digits and "
				"'-'", f->key, v->ents[i].key);
		else if (s && (!sbx_valid_name(s)))
			bp_errf(c, v->ents[i].val->pos, "%s: invalid tag value \"%s\": expected lowercase letters, digits "
				"and '-'", f->key, s);
		else if (s)
			list[n++] = xasprintf("%s=%s", v->ents[i].key, s);
	}
	char ***p = AT(obj, f->off, char **);
	for (size_t i = 0; *p && i < *AT(obj, f->off_n, size_t); i++)
		free((*p)[i]);
	free(*p);
	*p = list;
	*AT(obj, f->off_n, size_t) = n;
}

/* ---- scalars with a syntax of their own ---------------------------------------------------- */

/* A lowercase copy. */
static char *lower_dup(const char *s)
{
	char *r = xstrdup(s);
	for (char *p = r; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return r;
}

/* A lowercase copy of 64 hex digits, or NULL. */
static char *sha256_ok(const char *s)
{
	if (strlen(s) != 64 || strspn(s, "0123456789abcdefABCDEF") != 64)
		return NULL;
	return lower_dup(s);
}

/* A lowercase copy of a MAC address aa:bb:cc:dd:ee:ff, or NULL. */
static char *mac_ok(const char *s)
{
	if (strlen(s) != 17)
		return NULL;
	for (int i = 0; i < 17; i++)
		if (i % 3 == 2 ? s[i] != ':' : !isxdigit((unsigned char)s[i]))
			return NULL;
	return lower_dup(s);
}

/* A copy of "auto" or of an IPv4 /24 network a.b.c.0/24, or NULL. */
static char *cidr_ok(const char *s)
{
	return strcmp(s, "auto") == 0 || ip4_is_network(s, 24, 24) ? xstrdup(s) : NULL;
}

/* A copy of an http(s):// or file:// URL, or NULL. */
static char *url_ok(const char *s)
{
	static const char *const schemes[] = {"http://", "https://", "file://"};
	for (size_t i = 0; i < SBX_NELEM(schemes); i++)
		if (sbx_has_prefix(s, schemes[i]) && s[strlen(schemes[i])] != '\0' && !strpbrk(s, " \t\r\n"))
			return xstrdup(s);
	return NULL;
}

/* A copy of an http:// or https:// URL with a host, or NULL. */
static char *weburl_ok(const char *s)
{
	static const char *const schemes[] = {"http://", "https://"};
	for (size_t i = 0; i < SBX_NELEM(schemes); i++) {
		const char *host = s + strlen(schemes[i]);
		if (sbx_has_prefix(s, schemes[i]) && *host != '\0' && *host != '/' && !strpbrk(s, " \t\r\n"))
			return xstrdup(s);
	}
	return NULL;
}

/* A copy of an absolute path, or NULL. */
static char *abspath_ok(const char *s)
{
	return s[0] == '/' ? xstrdup(s) : NULL;
}

/* A copy of a PostgreSQL identifier [a-z_][a-z0-9_]{0,62}, or NULL. */
static char *pgname_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 63 || isdigit((unsigned char)s[0]) ||
		strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_") != n)
		return NULL;
	return xstrdup(s);
}

/* A syntax: its check (the canonical copy, or NULL) and what messages say was expected. */
/* A copy of a Kubernetes quantity (digits, an optional fraction, an optional suffix), or NULL. */
static char *quantity_ok(const char *s)
{
	static const char *const suffixes[] = {"", "m", "k", "M", "G", "T", "Ki", "Mi", "Gi", "Ti"};
	size_t n = strspn(s, "0123456789");
	if (n == 0)
		return NULL;
	if (s[n] == '.') {
		size_t f = strspn(s + n + 1, "0123456789");
		if (f == 0)
			return NULL;
		n += 1 + f;
	}
	for (size_t i = 0; i < SBX_NELEM(suffixes); i++)
		if (strcmp(s + n, suffixes[i]) == 0)
			return xstrdup(s);
	return NULL;
}

struct syntax {
	char *(*ok)(const char *s);
	const char *expected;
};

static const struct syntax syntaxes[] = {
	[BP_F_SHA256] = {sha256_ok, "a SHA-256 (64 hex digits)"},
	[BP_F_MAC] = {mac_ok, "a MAC address like 52:54:00:12:34:56"},
	[BP_F_CIDR] = {cidr_ok, "\"auto\" or an IPv4 network like 10.20.0.0/24 (a /24, host bits zero: each "
		"network gets one /24 block)"},
	[BP_F_URL] = {url_ok, "an http://, https:// or file:// URL"},
	[BP_F_WEBURL] = {weburl_ok, "an http:// or https:// URL"},
	[BP_F_ABSPATH] = {abspath_ok, "an absolute path"},
	[BP_F_PGNAME] = {pgname_ok, "a PostgreSQL name (lowercase letters, digits, '_')"},
	[BP_F_QUANTITY] = {quantity_ok, "a Kubernetes quantity like 2, 500m or 8Gi"},
};

/* A string checked by its syntax; the canonical copy is stored. */
static void conv_syntax(struct bp_ctx *c, const struct bp_tree *v, void *obj, const struct bp_field *f)
{
	const struct syntax *sy = &syntaxes[f->type];
	const char *s = scalar(c, v, f->key, sy->expected);
	char *canon = s ? sy->ok(s) : NULL;
	if (s && canon == NULL)
		bp_errf(c, v->pos, "%s: expected %s, got \"%s\"", f->key, sy->expected, s);
	if (canon) {
		free(*AT(obj, f->off, char *));
		*AT(obj, f->off, char *) = canon;
	}
}

/* BP_F_LITERAL: exactly the one value the field allows. */
static void conv_literal(struct bp_ctx *c, const struct bp_tree *v, void *obj, const struct bp_field *f)
{
	char *want = xasprintf("\"%s\"", f->choices[0]);
	const char *s = scalar(c, v, f->key, want);
	if (s && strcmp(s, f->choices[0]) != 0)
		bp_errf(c, v->pos, "%s: expected %s, got \"%s\"", f->key, want, s);
	else if (s)
		set_str(obj, f->off, s);
	free(want);
}

/* BP_F_PATH: a file the blueprint may read, stored resolved. */
static void conv_path(struct bp_ctx *c, const struct bp_tree *v, void *obj, const struct bp_field *f)
{
	const char *s = scalar(c, v, f->key, "a file path");
	char *p = s ? bp_file_resolve(c, v->pos, f->key, s) : NULL;
	if (p) {
		free(*AT(obj, f->off, char *));
		*AT(obj, f->off, char *) = p;
	}
}

/* BP_F_URI: a libvirt URI of an allowed transport. */
static void conv_uri(struct bp_ctx *c, const struct bp_tree *v, void *obj, const struct bp_field *f)
{
	const char *s = scalar(c, v, f->key, "a libvirt URI");
	char *why = s ? bp_uri_problem(s) : NULL;
	if (why)
		bp_errf(c, v->pos, "%s: %s", f->key, why);
	else if (s)
		set_str(obj, f->off, s);
	free(why);
}

/* BP_F_SECRET: a credential, only as a ${secret.NAME} reference; a literal is never echoed. */
static void conv_secret(struct bp_ctx *c, const struct bp_tree *v, void *obj, const struct bp_field *f)
{
	const char *s = scalar(c, v, f->key, "a ${secret.NAME} reference");
	char *name = s ? bp_secret_ref(s) : NULL;
	if (s && name == NULL)
		bp_errf(c, v->pos, "%s: a credential must be a \"${secret.NAME}\" reference, not a literal value "
			"(store it with `printf %%s \"$VALUE\" | sandbox secret set ENV NAME`, then write "
			"\"${secret.NAME}\" here)", f->key);
	else if (s)
		set_str(obj, f->off, s);
	free(name);
}

/* ---- mappings and lists of them ------------------------------------------------------------ */

/* BP_F_SUB: a nested mapping. */
static void conv_sub(struct bp_ctx *c, const struct bp_tree *v, void *obj, const struct bp_field *f)
{
	bp_schema_conv_map(c, v, f->sub, AT(obj, f->off, char));
}

/* BP_F_LIST: a list of mappings into a new array. */
static void conv_list(struct bp_ctx *c, const struct bp_tree *v, void *obj, const struct bp_field *f)
{
	const struct bp_schema *s = f->sub;
	char d[80];
	if (v->kind != BP_TREE_SEQ) {
		bp_errf(c, v->pos, "%s: expected a list of %ss, got %s", f->key, s->what,
			bp_tree_describe(v, d, sizeof(d)));
		return;
	}
	char *arr = xcalloc(v->n, s->size);
	for (size_t i = 0; i < v->n; i++)
		bp_schema_conv_map(c, v->ents[i].val, s, arr + i * s->size);
	memcpy(AT(obj, f->off, char), &arr, sizeof(arr));
	*AT(obj, f->off_n, size_t) = v->n;
	if ((int64_t)v->n < f->min)
		bp_errf(c, v->pos, "%s: expected at least one %s", f->key, s->what);
}

static conv_fn *const convs[] = {
	[BP_F_STR] = conv_str, [BP_F_NAME] = conv_name, [BP_F_CHOICE] = conv_choice,
	[BP_F_ENUM] = conv_enum, [BP_F_LITERAL] = conv_literal, [BP_F_INT] = conv_int,
	[BP_F_U32] = conv_u32, [BP_F_BOOL] = conv_bool, [BP_F_SIZE] = conv_size, [BP_F_DUR] = conv_dur,
	[BP_F_STRS] = conv_strs, [BP_F_SHA256] = conv_syntax, [BP_F_MAC] = conv_syntax,
	[BP_F_CIDR] = conv_syntax, [BP_F_URL] = conv_syntax, [BP_F_ABSPATH] = conv_syntax,
	[BP_F_WEBURL] = conv_syntax,
	[BP_F_PGNAME] = conv_syntax, [BP_F_PATH] = conv_path, [BP_F_URI] = conv_uri,
	[BP_F_SECRET] = conv_secret, [BP_F_SUB] = conv_sub, [BP_F_LIST] = conv_list,
	[BP_F_QUANTITY] = conv_syntax, [BP_F_DISK] = conv_disk, [BP_F_TAGS] = conv_tags,
};

/* Report keys of a map that the schema does not know. */
static void unknown_keys(struct bp_ctx *c, const struct bp_tree *m, const struct bp_schema *s)
{
	const char **keys = xcalloc(s->n, sizeof(*keys));
	for (size_t i = 0; i < s->n; i++)
		keys[i] = s->fields[i].key;
	for (size_t j = 0; j < m->n; j++) {
		size_t i = 0;
		while (i < s->n && strcmp(keys[i], m->ents[j].key) != 0)
			i++;
		if (i < s->n)
			continue;
		const char *near = bp_suggest(m->ents[j].key, keys, s->n);
		struct sbx_buf b = {0};
		for (i = 0; !near && i < s->n; i++)
			sbx_buf_printf(&b, "%s%s", i ? ", " : "", keys[i]);
		if (near)
			bp_errf(c, m->ents[j].kpos, "unknown key \"%s\" in %s (did you mean \"%s\"?)",
				m->ents[j].key, s->what, near);
		else
			bp_errf(c, m->ents[j].kpos, "unknown key \"%s\" in %s; expected one of: %s",
				m->ents[j].key, s->what, b.data ? b.data : "(none)");
		sbx_buf_free(&b);
	}
	free(keys);
}

/* Convert a mapping (a null value counts as an empty mapping) with a schema. */
void bp_schema_conv_map(struct bp_ctx *c, const struct bp_tree *m, const struct bp_schema *s, void *obj)
{
	char d[80];
	if (m->kind != BP_TREE_MAP && !bp_tree_is_null(m)) {
		bp_errf(c, m->pos, "%s: expected a mapping (key: value), got %s", s->what,
			bp_tree_describe(m, d, sizeof(d)));
		return;
	}
	if (s->pos)
		*AT(obj, s->pos - 1, struct bp_pos) = m->pos;
	if (s->present)
		*AT(obj, s->present - 1, bool) = true;
	if (m->kind == BP_TREE_MAP)
		unknown_keys(c, m, s);
	for (size_t i = 0; i < s->n; i++) {
		const struct bp_field *f = &s->fields[i];
		const struct bp_tree *v = bp_tree_get(m, f->key);
		if (v)
			convs[f->type](c, v, obj, f);
		else if (f->required)
			bp_errf(c, m->pos, "missing required key \"%s\" in %s", f->key, s->what);
	}
}

/* The name of element i of a converted list (its first member). */
static const char *elem_name(const void *arr, size_t i, const struct bp_schema *s)
{
	return *(char *const *)(const void *)((const char *)arr + i * s->size);
}

/* The sorted names of a converted list. */
struct bp_key *bp_schema_keys(const void *arr, size_t n, const struct bp_schema *s, size_t *nk)
{
	struct bp_key *k = xmalloc(n * sizeof(*k));
	*nk = 0;
	for (size_t i = 0; i < n; i++)
		if (elem_name(arr, i, s))
			k[(*nk)++] = (struct bp_key){elem_name(arr, i, s), i};
	bp_keys_sort(k, *nk);
	return k;
}

/* Report duplicate names in a converted list. */
void bp_schema_dup_names(struct bp_ctx *c, const void *arr, size_t n, const struct bp_schema *s)
{
	size_t nk;
	struct bp_key *k = bp_schema_keys(arr, n, s, &nk);
	for (size_t i = 1, first = 0; i < nk; i++) {
		if (strcmp(k[i].name, k[first].name) != 0) {
			first = i;
			continue;
		}
		const char *a = arr;
		const struct bp_pos *p0 = (const void *)(a + k[first].i * s->size + s->pos - 1);
		const struct bp_pos *p = (const void *)(a + k[i].i * s->size + s->pos - 1);
		bp_errf(c, *p, "duplicate %s name \"%s\" (first defined at %s:%d:%d)", s->what,
			k[i].name, p0->file, p0->line, p0->col);
	}
	free(k);
}

/* Whether a field type stores an owned string. */
static bool owns_string(enum bp_ftype t)
{
	return t != BP_F_ENUM && t != BP_F_INT && t != BP_F_U32 && t != BP_F_BOOL && t != BP_F_SIZE &&
		t != BP_F_DISK && t != BP_F_DUR && t != BP_F_STRS && t != BP_F_TAGS && t != BP_F_SUB && t != BP_F_LIST;
}

/* Free one list converted with schema s. */
static void free_list(const struct bp_schema *s, char *arr, size_t n)
{
	for (size_t i = 0; arr && i < n; i++)
		bp_schema_free(s, arr + i * s->size);
	free(arr);
}

/* Free what a schema stored into obj. */
void bp_schema_free(const struct bp_schema *s, void *obj)
{
	for (size_t i = 0; i < s->n; i++) {
		const struct bp_field *f = &s->fields[i];
		if (owns_string(f->type)) {
			free(*AT(obj, f->off, char *));
		} else if (f->type == BP_F_DISK) {
			free(*AT(obj, f->off_n, char *));
		} else if (f->type == BP_F_STRS || f->type == BP_F_TAGS) {
			char **v = *AT(obj, f->off, char **);
			for (size_t k = 0; v && k < *AT(obj, f->off_n, size_t); k++)
				free(v[k]);
			free(v);
		} else if (f->type == BP_F_SUB) {
			bp_schema_free(f->sub, AT(obj, f->off, char));
		} else if (f->type == BP_F_LIST) {
			free_list(f->sub, *AT(obj, f->off, char *), *AT(obj, f->off_n, size_t));
		}
	}
}
