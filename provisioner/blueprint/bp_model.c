/*
 * bp_model — the schema of a blueprint. The merged, interpolated tree becomes the typed model of
 * bp.h. Table-driven: one schema (a table of fields) per mapping; a field's type says how its
 * scalar is converted; a schema's `check` validates what spans several fields.
 */
#include "bp_int.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum ftype { F_STR, F_NAME, F_CHOICE, F_ENUM, F_INT, F_U32, F_BOOL, F_SIZE, F_DUR, F_STRS, F_SUB, F_FN };

struct field;
typedef void field_fn(struct bp_ctx *c, const struct bp_tree *v, void *obj, const struct field *f);

struct schema {
	const char *what; /* for messages: "node", "site" */
	const struct field *fields;
	size_t n;
	void (*check)(struct bp_ctx *c, const struct bp_tree *map, void *obj);
};

struct field {
	const char *key;
	enum ftype type;
	size_t off, off_n;  /* where the value goes; off_n: the count of an F_STRS list */
	int64_t min, max;   /* F_INT, F_U32, F_SIZE, F_DUR bounds */
	const char *const *choices; /* F_CHOICE (stored as a string), F_ENUM (stored as an int) */
	const struct schema *sub;   /* F_SUB: a nested mapping stored at off */
	field_fn *fn;               /* F_FN */
	bool required;
};

#define KIB (INT64_C(1) << 10)
#define MIB (INT64_C(1) << 20)
#define GIB (INT64_C(1) << 30)
#define TIB (INT64_C(1) << 40)

/* A pointer into an object. */
#define AT(obj, off, T) ((T *)(void *)((char *)(obj) + (off)))

static void conv_map(struct bp_ctx *c, const struct bp_tree *m, const struct schema *s, void *obj);

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

/* F_STR. */
static void conv_str(struct bp_ctx *c, const struct bp_tree *v, void *obj, const struct field *f)
{
	const char *s = scalar(c, v, f->key, "a string");
	if (s)
		set_str(obj, f->off, s);
}

/* F_NAME: a resource name. */
static void conv_name(struct bp_ctx *c, const struct bp_tree *v, void *obj, const struct field *f)
{
	const char *s = scalar(c, v, f->key, "a name");
	if (s == NULL)
		return;
	if (!name_ok(c, s))
		bp_errf(c, v->pos, "%s: invalid name \"%s\": expected lowercase letters, digits and '-', "
			"starting with a letter, at most 40 characters", f->key, s);
	set_str(obj, f->off, s);
}

/* Index of s in a NULL-terminated table, or -1 (and an error listing the choices). */
static int choice(struct bp_ctx *c, const struct bp_tree *v, const struct field *f)
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

/* F_CHOICE: a string from a table. */
static void conv_choice(struct bp_ctx *c, const struct bp_tree *v, void *obj, const struct field *f)
{
	int i = choice(c, v, f);
	if (i >= 0)
		set_str(obj, f->off, f->choices[i]);
}

/* F_ENUM: an index into a table. */
static void conv_enum(struct bp_ctx *c, const struct bp_tree *v, void *obj, const struct field *f)
{
	int i = choice(c, v, f);
	if (i >= 0)
		*AT(obj, f->off, int) = i;
}

/* An integer within the field's bounds. */
static int int_value(struct bp_ctx *c, const struct bp_tree *v, const struct field *f, int64_t *out)
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

/* F_INT. */
static void conv_int(struct bp_ctx *c, const struct bp_tree *v, void *obj, const struct field *f)
{
	int64_t x;
	if (int_value(c, v, f, &x) == 0)
		*AT(obj, f->off, int) = (int)x;
}

/* F_U32. */
static void conv_u32(struct bp_ctx *c, const struct bp_tree *v, void *obj, const struct field *f)
{
	int64_t x;
	if (int_value(c, v, f, &x) == 0)
		*AT(obj, f->off, uint32_t) = (uint32_t)x;
}

/* F_BOOL. */
static void conv_bool(struct bp_ctx *c, const struct bp_tree *v, void *obj, const struct field *f)
{
	const char *s = scalar(c, v, f->key, "true or false");
	if (s == NULL)
		return;
	if (strcmp(s, "true") == 0 || strcmp(s, "false") == 0)
		*AT(obj, f->off, bool) = s[0] == 't';
	else
		bp_errf(c, v->pos, "%s: expected true or false, got \"%s\"", f->key, s);
}

/* F_SIZE: "512Mi", "2Gi". */
static void conv_size(struct bp_ctx *c, const struct bp_tree *v, void *obj, const struct field *f)
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

/* F_DUR: "8h", "3d". */
static void conv_dur(struct bp_ctx *c, const struct bp_tree *v, void *obj, const struct field *f)
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

/* F_STRS: a list of strings. */
static void conv_strs(struct bp_ctx *c, const struct bp_tree *v, void *obj, const struct field *f)
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

/* F_SUB: a nested mapping. */
static void conv_sub(struct bp_ctx *c, const struct bp_tree *v, void *obj, const struct field *f)
{
	conv_map(c, v, f->sub, AT(obj, f->off, char));
}

/* F_FN: a field with its own converter. */
static void conv_fn(struct bp_ctx *c, const struct bp_tree *v, void *obj, const struct field *f)
{
	f->fn(c, v, obj, f);
}

static field_fn *const convs[] = {
	[F_STR] = conv_str, [F_NAME] = conv_name, [F_CHOICE] = conv_choice, [F_ENUM] = conv_enum,
	[F_INT] = conv_int, [F_U32] = conv_u32, [F_BOOL] = conv_bool, [F_SIZE] = conv_size,
	[F_DUR] = conv_dur, [F_STRS] = conv_strs, [F_SUB] = conv_sub, [F_FN] = conv_fn,
};

/* Report keys of a map that the schema does not know. */
static void unknown_keys(struct bp_ctx *c, const struct bp_tree *m, const struct schema *s)
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
static void conv_map(struct bp_ctx *c, const struct bp_tree *m, const struct schema *s, void *obj)
{
	char d[80];
	if (m->kind != BP_TREE_MAP && !bp_tree_is_null(m)) {
		bp_errf(c, m->pos, "%s: expected a mapping (key: value), got %s", s->what,
			bp_tree_describe(m, d, sizeof(d)));
		return;
	}
	if (m->kind == BP_TREE_MAP)
		unknown_keys(c, m, s);
	for (size_t i = 0; i < s->n; i++) {
		const struct field *f = &s->fields[i];
		const struct bp_tree *v = bp_tree_get(m, f->key);
		if (v)
			convs[f->type](c, v, obj, f);
		else if (f->required)
			bp_errf(c, m->pos, "missing required key \"%s\" in %s", f->key, s->what);
	}
	if (s->check)
		s->check(c, m, obj);
}

/* ---- lists of named items ---------------------------------------------------------------- */

struct list_spec {
	const struct schema *schema;
	size_t size, pos_off; /* element size; offset of its struct bp_pos (its name is the first member) */
	void (*init)(void *elem);
};

/* Report duplicate names in a converted list. */
static void dup_names(struct bp_ctx *c, char *arr, size_t n, const struct list_spec *ls)
{
	struct bp_key *k = xmalloc(n * sizeof(*k));
	size_t nk = 0;
	for (size_t i = 0; i < n; i++)
		if (*AT(arr + i * ls->size, 0, char *))
			k[nk++] = (struct bp_key){*AT(arr + i * ls->size, 0, char *), i};
	bp_keys_sort(k, nk);
	for (size_t i = 1, first = 0; i < nk; i++) {
		if (strcmp(k[i].name, k[first].name) != 0) {
			first = i;
			continue;
		}
		struct bp_pos *p0 = AT(arr + k[first].i * ls->size, ls->pos_off, struct bp_pos);
		struct bp_pos *p = AT(arr + k[i].i * ls->size, ls->pos_off, struct bp_pos);
		bp_errf(c, *p, "duplicate %s name \"%s\" (first defined at %s:%d:%d)", ls->schema->what,
			k[i].name, p0->file, p0->line, p0->col);
	}
	free(k);
}

/* Convert a list of mappings into a new array. */
static void *conv_list(struct bp_ctx *c, const struct bp_tree *v, const char *key,
	const struct list_spec *ls, size_t *n)
{
	char d[80];
	if (v->kind != BP_TREE_SEQ) {
		bp_errf(c, v->pos, "%s: expected a list of %ss, got %s", key, ls->schema->what,
			bp_tree_describe(v, d, sizeof(d)));
		*n = 0;
		return NULL;
	}
	char *arr = xcalloc(v->n, ls->size);
	for (size_t i = 0; i < v->n; i++) {
		char *e = arr + i * ls->size;
		ls->init(e);
		*AT(e, ls->pos_off, struct bp_pos) = v->ents[i].val->pos;
		conv_map(c, v->ents[i].val, ls->schema, e);
	}
	dup_names(c, arr, v->n, ls);
	*n = v->n;
	return arr;
}

/* Sorted keys over the names of a converted list. */
static struct bp_key *list_keys(const char *arr, size_t n, size_t size, size_t *nk)
{
	struct bp_key *k = xmalloc(n * sizeof(*k));
	*nk = 0;
	for (size_t i = 0; i < n; i++) {
		const char *name = *(char *const *)(const void *)(arr + i * size);
		if (name)
			k[(*nk)++] = (struct bp_key){name, i};
	}
	bp_keys_sort(k, *nk);
	return k;
}

/* Report an undefined reference, suggesting a close name. */
static void undefined_ref(struct bp_ctx *c, struct bp_pos pos, const char *owner, const char *kind,
	const char *name, const struct bp_key *k, size_t nk)
{
	const char **cands = xcalloc(nk, sizeof(*cands));
	for (size_t i = 0; i < nk; i++)
		cands[i] = k[i].name;
	const char *near = bp_suggest(name, cands, nk);
	if (near)
		bp_errf(c, pos, "%s: undefined %s \"%s\" (did you mean \"%s\"?)", owner, kind, name, near);
	else
		bp_errf(c, pos, "%s: undefined %s \"%s\"", owner, kind, name);
	free(cands);
}

/* ---- scalars with their own syntax -------------------------------------------------------- */

/* A string with a syntax check; `ok` returns the canonical copy or NULL. */
static void conv_checked(struct bp_ctx *c, const struct bp_tree *v, void *obj, const struct field *f,
	char *(*ok)(const char *s), const char *expected)
{
	const char *s = scalar(c, v, f->key, expected);
	char *canon = s ? ok(s) : NULL;
	if (s && canon == NULL)
		bp_errf(c, v->pos, "%s: expected %s, got \"%s\"", f->key, expected, s);
	if (canon) {
		free(*AT(obj, f->off, char *));
		*AT(obj, f->off, char *) = canon;
	}
}

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

/* A copy of "auto" or of an IPv4 network a.b.c.d/N (N in 8..30, no host bits), or NULL. */
static char *cidr_ok(const char *s)
{
	char addr[INET_ADDRSTRLEN];
	struct in_addr a;
	const char *slash = strchr(s, '/');
	if (strcmp(s, "auto") == 0)
		return xstrdup(s);
	if (slash == NULL || (size_t)(slash - s) >= sizeof(addr) || strspn(slash + 1, "0123456789") != 2 ||
		slash[3] != '\0')
		return NULL;
	snprintf(addr, sizeof(addr), "%.*s", (int)(slash - s), s);
	int bits = (slash[1] - '0') * 10 + (slash[2] - '0');
	if (inet_pton(AF_INET, addr, &a) != 1 || bits < 8 || bits > 30)
		return NULL;
	uint32_t host = ntohl(a.s_addr) & (UINT32_MAX >> bits);
	return host == 0 ? xstrdup(s) : NULL;
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

/* "sandbox/v1" only. */
static char *api_ok(const char *s)
{
	return strcmp(s, "sandbox/v1") == 0 ? xstrdup(s) : NULL;
}

/* A SHA-256 field. */
static void conv_sha256(struct bp_ctx *c, const struct bp_tree *v, void *obj, const struct field *f)
{
	conv_checked(c, v, obj, f, sha256_ok, "a SHA-256 (64 hex digits)");
}

/* A MAC address field. */
static void conv_mac(struct bp_ctx *c, const struct bp_tree *v, void *obj, const struct field *f)
{
	conv_checked(c, v, obj, f, mac_ok, "a MAC address like 52:54:00:12:34:56");
}

/* A network's cidr. */
static void conv_cidr(struct bp_ctx *c, const struct bp_tree *v, void *obj, const struct field *f)
{
	conv_checked(c, v, obj, f, cidr_ok,
		"\"auto\" or an IPv4 network like 10.20.0.0/24 (prefix 8 to 30, host bits zero)");
}

/* A URL field. */
static void conv_url(struct bp_ctx *c, const struct bp_tree *v, void *obj, const struct field *f)
{
	conv_checked(c, v, obj, f, url_ok, "an http://, https:// or file:// URL");
}

/* An absolute path field. */
static void conv_abspath(struct bp_ctx *c, const struct bp_tree *v, void *obj, const struct field *f)
{
	conv_checked(c, v, obj, f, abspath_ok, "an absolute path");
}

/* A PostgreSQL name field. */
static void conv_pgname(struct bp_ctx *c, const struct bp_tree *v, void *obj, const struct field *f)
{
	conv_checked(c, v, obj, f, pgname_ok, "a PostgreSQL name (lowercase letters, digits, '_')");
}

/* apiVersion. */
static void conv_api(struct bp_ctx *c, const struct bp_tree *v, void *obj, const struct field *f)
{
	conv_checked(c, v, obj, f, api_ok, "\"sandbox/v1\"");
}

/* The absolute directory of the file that set a value. */
static char *value_dir(const struct bp_tree *v)
{
	char *dir = sbx_dirname(v->pos.file ? v->pos.file : ".");
	char *real = realpath(dir, NULL);
	if (real == NULL && dir[0] != '/') {
		char *cwd = getcwd(NULL, 0);
		real = cwd ? sbx_path_join(cwd, dir) : NULL;
		free(cwd);
	}
	if (real == NULL)
		real = xstrdup(dir);
	free(dir);
	return real;
}

/* A file path; a relative one is made absolute against the directory of the file that set it. */
static void conv_path(struct bp_ctx *c, const struct bp_tree *v, void *obj, const struct field *f)
{
	const char *s = scalar(c, v, f->key, "a file path");
	if (s == NULL)
		return;
	while (sbx_has_prefix(s, "./"))
		s += 2;
	char *dir = s[0] == '/' ? NULL : value_dir(v);
	char *p = dir ? sbx_path_join(dir, s) : xstrdup(s);
	free(*AT(obj, f->off, char *));
	*AT(obj, f->off, char *) = p;
	free(dir);
}

/* ---- checks across fields ---------------------------------------------------------------- */

/* The position of a map value, else of the map. */
static struct bp_pos val_pos(const struct bp_tree *m, const char *key)
{
	const struct bp_tree *v = bp_tree_get(m, key);
	return v ? v->pos : m->pos;
}

/* image: a source, url with sha256. */
static void image_check(struct bp_ctx *c, const struct bp_tree *m, void *obj)
{
	struct bp_image *im = obj;
	im->pos = m->pos;
	if (!bp_tree_get(m, "path") && !bp_tree_get(m, "url") && !bp_tree_get(m, "recipe"))
		bp_errf(c, m->pos, "image: expected at least one of path, url or recipe");
	if (bp_tree_get(m, "url") && !bp_tree_get(m, "sha256"))
		bp_errf(c, val_pos(m, "url"), "image: url needs sha256 (the image's SHA-256, 64 hex digits)");
}

/* site: remember the position. */
static void site_check(struct bp_ctx *c, const struct bp_tree *m, void *obj)
{
	(void)c;
	((struct bp_site *)obj)->pos = m->pos;
}

/* A duration as written (or formatted when defaulted). */
static const char *dur_text(const struct bp_tree *m, const char *key, int64_t secs, char *buf, size_t len)
{
	const struct bp_tree *v = bp_tree_get(m, key);
	if (v && v->kind == BP_TREE_SCALAR) {
		snprintf(buf, len, "%s", v->str);
		return buf;
	}
	return sbx_fmt_duration(secs, buf, len);
}

/* lifetime: permanent excludes ttl; ttl within max_ttl. */
static void lifetime_check(struct bp_ctx *c, const struct bp_tree *m, void *obj)
{
	static const char *const keys[] = {"ttl", "max_ttl"};
	struct bp_lifetime *l = obj;
	char a[32], b[32];
	if (l->permanent) {
		for (size_t i = 0; i < SBX_NELEM(keys); i++)
			if (bp_tree_get(m, keys[i]))
				bp_errf(c, bp_tree_ent(m, keys[i])->kpos, "%s: a permanent blueprint does not "
					"expire (remove %s, or set permanent: false)", keys[i], keys[i]);
		l->ttl = l->max_ttl = 0;
		return;
	}
	if (l->ttl > l->max_ttl)
		bp_errf(c, val_pos(m, bp_tree_get(m, "ttl") ? "ttl" : "max_ttl"),
			"ttl: %s is longer than max_ttl %s%s", dur_text(m, "ttl", l->ttl, a, sizeof(a)),
			dur_text(m, "max_ttl", l->max_ttl, b, sizeof(b)),
			bp_tree_get(m, "max_ttl") ? "" : " (the default)");
}

/* bgp: eBGP needs two AS numbers. */
static void bgp_check(struct bp_ctx *c, const struct bp_tree *m, void *obj)
{
	const struct bp_bgp *g = obj;
	if (g->router_as == g->lb_as)
		bp_errf(c, m->pos, "bgp: router_as and lb_as must differ (the load balancers peer with the "
			"router over eBGP)");
}

/* "node \"web\"" for messages. */
static const char *node_label(const struct bp_node *n, char *buf, size_t len)
{
	snprintf(buf, len, "node \"%s\"", n->name ? n->name : "?");
	return buf;
}

/* Report an item listed twice in a small list. */
static bool listed_before(const struct bp_tree *seq, size_t i)
{
	for (size_t j = 0; j < i; j++)
		if (seq->ents[j].val->kind == BP_TREE_SCALAR && strcmp(seq->ents[j].val->str, seq->ents[i].val->str) == 0)
			return true;
	return false;
}

/* node.roles: known, once each. */
static void node_check_roles(struct bp_ctx *c, const struct bp_tree *m, const struct bp_node *n)
{
	const struct bp_tree *r = bp_tree_get(m, "roles");
	char lab[64];
	size_t nk = 0;
	while (bp_known_roles[nk])
		nk++;
	for (size_t i = 0; r && r->kind == BP_TREE_SEQ && i < r->n; i++) {
		const struct bp_tree *it = r->ents[i].val;
		if (it->kind != BP_TREE_SCALAR || bp_tree_is_null(it))
			continue;
		const char *near = bp_suggest(it->str, (const char *const *)bp_known_roles, nk);
		size_t k = 0;
		while (k < nk && strcmp(bp_known_roles[k], it->str) != 0)
			k++;
		if (k == nk)
			bp_errf(c, it->pos, "%s: unknown role \"%s\"%s%s%s", node_label(n, lab, sizeof(lab)),
				it->str, near ? " (did you mean \"" : "", near ? near : "", near ? "\"?)" : "");
		else if (listed_before(r, i))
			bp_errf(c, it->pos, "%s: role \"%s\" listed twice", node_label(n, lab, sizeof(lab)), it->str);
	}
}

/* node.networks: defined, once each. */
static void node_check_networks(struct bp_ctx *c, const struct bp_tree *m, const struct bp_node *n)
{
	const struct bp_tree *r = bp_tree_get(m, "networks");
	char lab[64];
	for (size_t i = 0; r && r->kind == BP_TREE_SEQ && i < r->n; i++) {
		const struct bp_tree *it = r->ents[i].val;
		if (it->kind != BP_TREE_SCALAR || bp_tree_is_null(it))
			continue;
		node_label(n, lab, sizeof(lab));
		if (bp_keys_find(c->netkeys, c->nnetkeys, it->str) < 0)
			undefined_ref(c, it->pos, lab, "network", it->str, c->netkeys, c->nnetkeys);
		else if (listed_before(r, i))
			bp_errf(c, it->pos, "%s: network \"%s\" listed twice", lab, it->str);
	}
}

/* node.provider: ipmi needs a bmc and is one machine; libvirt needs a network. */
static void node_check_provider(struct bp_ctx *c, const struct bp_tree *m, const struct bp_node *n)
{
	char lab[64];
	const struct bp_tree *nets = bp_tree_get(m, "networks");
	node_label(n, lab, sizeof(lab));
	if (sbx_streq(n->provider, "ipmi")) {
		if (!bp_tree_get(m, "bmc"))
			bp_errf(c, val_pos(m, "provider"), "%s: provider ipmi needs bmc: { address: ..., user: ..., "
				"password: ... }", lab);
		if (n->count != 1)
			bp_errf(c, val_pos(m, "count"), "%s: an ipmi node is one machine; count must be 1", lab);
		return;
	}
	static const char *const ipmi_only[] = {"bmc", "mac"};
	for (size_t i = 0; i < SBX_NELEM(ipmi_only); i++)
		if (bp_tree_get(m, ipmi_only[i]))
			bp_errf(c, bp_tree_ent(m, ipmi_only[i])->kpos, "%s: %s is only valid with provider: ipmi",
				lab, ipmi_only[i]);
	if (nets == NULL || (nets->kind == BP_TREE_SEQ && nets->n == 0))
		bp_errf(c, m->pos, "%s: missing required key \"networks\" (a libvirt node needs at least one "
			"network; the first one carries SSH)", lab);
}

/* node: cross-field checks. */
static void node_check(struct bp_ctx *c, const struct bp_tree *m, void *obj)
{
	node_check_roles(c, m, obj);
	node_check_networks(c, m, obj);
	node_check_provider(c, m, obj);
}

/* vip.rate_limit: present means on. */
static void rate_check(struct bp_ctx *c, const struct bp_tree *m, void *obj)
{
	(void)c;
	(void)m;
	((struct bp_vip *)obj)->rate_limit = true;
}

/* vip: the backend names a node. */
static void vip_check(struct bp_ctx *c, const struct bp_tree *m, void *obj)
{
	const struct bp_vip *v = obj;
	const struct bp_tree *be = bp_tree_get(bp_tree_get(m, "backend"), "nodes");
	char lab[64];
	if (v->backend_nodes == NULL || be == NULL ||
		bp_keys_find(c->nodekeys, c->nnodekeys, v->backend_nodes) >= 0)
		return;
	snprintf(lab, sizeof(lab), "vip \"%s\"", v->name ? v->name : "?");
	undefined_ref(c, be->pos, lab, "node", v->backend_nodes, c->nodekeys, c->nnodekeys);
}

/* database: owner defaults to the database's name. */
static void db_check(struct bp_ctx *c, const struct bp_tree *m, void *obj)
{
	struct bp_db *d = obj;
	(void)c;
	(void)m;
	if (d->owner == NULL && d->name)
		d->owner = xstrdup(d->name);
}

/* database: given. */
static void database_check(struct bp_ctx *c, const struct bp_tree *m, void *obj)
{
	(void)c;
	(void)m;
	((struct bp_database *)obj)->present = true;
}

/* mocks.sms / mail / payment: given means enabled. */
static void sms_check(struct bp_ctx *c, const struct bp_tree *m, void *obj)
{
	(void)c;
	(void)m;
	((struct bp_mocks *)obj)->sms = true;
}

/* mocks.mail. */
static void mail_check(struct bp_ctx *c, const struct bp_tree *m, void *obj)
{
	(void)c;
	(void)m;
	((struct bp_mocks *)obj)->mail = true;
}

/* mocks.payment. */
static void payment_check(struct bp_ctx *c, const struct bp_tree *m, void *obj)
{
	(void)c;
	(void)m;
	((struct bp_mocks *)obj)->payment = true;
}

/* mocks: given. */
static void mocks_check(struct bp_ctx *c, const struct bp_tree *m, void *obj)
{
	(void)c;
	(void)m;
	((struct bp_mocks *)obj)->present = true;
}

/* ---- the schema -------------------------------------------------------------------------- */

#define FLD(k, t, T, m, ...) {.key = (k), .type = (t), .off = offsetof(T, m), __VA_ARGS__}
#define FFN(k, T, m, f, ...) {.key = (k), .type = F_FN, .off = offsetof(T, m), .fn = (f), __VA_ARGS__}
#define SCHEMA(what, fields, check) {what, fields, SBX_NELEM(fields), check}

static const char *const providers_site[] = {"libvirt", NULL};
static const char *const providers_node[] = {"libvirt", "ipmi", NULL};
static const char *const domain_types[] = {"auto", "kvm", "qemu", NULL};
static const char *const net_modes[] = {"nat", "isolated", NULL}; /* enum bp_net_mode order */
static const char *const pool_modes[] = {"transaction", "session", "statement", NULL};

static const struct field image_fields[] = {
	FFN("path", struct bp_image, path, conv_path),
	FFN("url", struct bp_image, url, conv_url),
	FFN("sha256", struct bp_image, sha256, conv_sha256),
	FLD("recipe", F_NAME, struct bp_image, recipe),
	FFN("kernel", struct bp_image, kernel, conv_path),
	FFN("initrd", struct bp_image, initrd, conv_path),
	FLD("cmdline", F_STR, struct bp_image, cmdline),
};
static const struct schema image_schema = SCHEMA("image", image_fields, image_check);

static const struct field site_fields[] = {
	FLD("provider", F_CHOICE, struct bp_site, provider, .choices = providers_site),
	FLD("uri", F_STR, struct bp_site, uri),
	FLD("pool", F_NAME, struct bp_site, pool),
	FFN("pool_path", struct bp_site, pool_path, conv_abspath),
	FLD("domain_type", F_CHOICE, struct bp_site, domain_type, .choices = domain_types),
	FLD("image", F_SUB, struct bp_site, image, .sub = &image_schema),
};
static const struct schema site_schema = SCHEMA("site", site_fields, site_check);

static const struct field lifetime_fields[] = {
	FLD("ttl", F_DUR, struct bp_lifetime, ttl, .min = 60, .max = 365 * 86400),
	FLD("max_ttl", F_DUR, struct bp_lifetime, max_ttl, .min = 60, .max = 365 * 86400),
	FLD("permanent", F_BOOL, struct bp_lifetime, permanent),
	FLD("protect", F_BOOL, struct bp_lifetime, protect),
};
static const struct schema lifetime_schema = SCHEMA("lifetime", lifetime_fields, lifetime_check);

static const struct field network_fields[] = {
	FLD("name", F_NAME, struct bp_network, name, .required = true),
	FFN("cidr", struct bp_network, cidr, conv_cidr),
	FLD("mode", F_ENUM, struct bp_network, mode, .choices = net_modes),
};
static const struct schema network_schema = {"network", network_fields, SBX_NELEM(network_fields), NULL};

static const struct field bmc_fields[] = {
	FLD("address", F_STR, struct bp_bmc, address, .required = true),
	FLD("port", F_INT, struct bp_bmc, port, .min = 1, .max = 65535),
	FLD("user", F_STR, struct bp_bmc, user),
	FLD("password", F_STR, struct bp_bmc, password),
};
static const struct schema bmc_schema = {"bmc", bmc_fields, SBX_NELEM(bmc_fields), NULL};

static const struct field node_fields[] = {
	FLD("name", F_NAME, struct bp_node, name, .required = true),
	FLD("count", F_INT, struct bp_node, count, .min = 1, .max = 1000),
	FLD("cpus", F_INT, struct bp_node, cpus, .min = 1, .max = 128),
	FLD("memory", F_SIZE, struct bp_node, memory, .min = 64 * MIB, .max = 4 * TIB),
	FLD("disk", F_SIZE, struct bp_node, disk, .min = 1 * GIB, .max = 64 * TIB),
	FLD("roles", F_STRS, struct bp_node, roles, .off_n = offsetof(struct bp_node, nroles)),
	FLD("networks", F_STRS, struct bp_node, networks, .off_n = offsetof(struct bp_node, nnetworks)),
	FLD("provider", F_CHOICE, struct bp_node, provider, .choices = providers_node),
	FLD("bmc", F_SUB, struct bp_node, bmc, .sub = &bmc_schema),
	FFN("mac", struct bp_node, mac, conv_mac),
};
static const struct schema node_schema = SCHEMA("node", node_fields, node_check);

static const struct field bgp_fields[] = {
	FLD("router_as", F_U32, struct bp_bgp, router_as, .min = 1, .max = UINT32_MAX),
	FLD("lb_as", F_U32, struct bp_bgp, lb_as, .min = 1, .max = UINT32_MAX),
};
static const struct schema bgp_schema = SCHEMA("bgp", bgp_fields, bgp_check);

static const struct field backend_fields[] = {
	FLD("nodes", F_NAME, struct bp_vip, backend_nodes, .required = true),
	FLD("port", F_INT, struct bp_vip, backend_port, .min = 1, .max = 65535, .required = true),
};
static const struct schema backend_schema = {"backend", backend_fields, SBX_NELEM(backend_fields), NULL};

static const struct field rate_fields[] = {
	FLD("per_10s", F_INT, struct bp_vip, rate_per_10s, .min = 1, .max = 1000000),
};
static const struct schema rate_schema = SCHEMA("rate_limit", rate_fields, rate_check);

static const struct field vip_fields[] = {
	FLD("name", F_NAME, struct bp_vip, name, .required = true),
	FLD("port", F_INT, struct bp_vip, port, .min = 1, .max = 65535, .required = true),
	{.key = "backend", .type = F_SUB, .off = 0, .sub = &backend_schema, .required = true},
	{.key = "rate_limit", .type = F_SUB, .off = 0, .sub = &rate_schema},
};
static const struct schema vip_schema = SCHEMA("vip", vip_fields, vip_check);

static const struct field db_fields[] = {
	FFN("name", struct bp_db, name, conv_pgname, .required = true),
	FFN("owner", struct bp_db, owner, conv_pgname),
};
static const struct schema db_schema = SCHEMA("database", db_fields, db_check);

static const struct field pooler_fields[] = {
	FLD("mode", F_CHOICE, struct bp_database, pool_mode, .choices = pool_modes),
	FLD("default_pool_size", F_INT, struct bp_database, default_pool_size, .min = 1, .max = 10000),
	FLD("max_client_conn", F_INT, struct bp_database, max_client_conn, .min = 1, .max = 100000),
};
static const struct schema pooler_schema = {"pooler", pooler_fields, SBX_NELEM(pooler_fields), NULL};

static field_fn conv_dbs;
static const struct field database_fields[] = {
	{.key = "databases", .type = F_FN, .fn = conv_dbs},
	{.key = "pooler", .type = F_SUB, .off = 0, .sub = &pooler_schema},
};
static const struct schema database_schema = SCHEMA("database", database_fields, database_check);

static const struct field sms_fields[] = {
	FFN("callback_url", struct bp_mocks, sms_callback_url, conv_url),
};
static const struct field payment_fields[] = {
	FFN("webhook_url", struct bp_mocks, payment_webhook_url, conv_url),
};
static const struct schema sms_schema = SCHEMA("mocks.sms", sms_fields, sms_check);
static const struct schema mail_schema = {"mocks.mail", NULL, 0, mail_check};
static const struct schema payment_schema = SCHEMA("mocks.payment", payment_fields, payment_check);
static const struct field mocks_fields[] = {
	{.key = "sms", .type = F_SUB, .sub = &sms_schema},
	{.key = "mail", .type = F_SUB, .sub = &mail_schema},
	{.key = "payment", .type = F_SUB, .sub = &payment_schema},
};
static const struct schema mocks_schema = SCHEMA("mocks", mocks_fields, mocks_check);

/* ---- lists ------------------------------------------------------------------------------- */

/* Defaults of a network. */
static void network_init(void *e)
{
	struct bp_network *n = e;
	n->cidr = xstrdup("auto");
	n->mode = BP_NET_NAT;
}

/* Defaults of a node. */
static void node_init(void *e)
{
	struct bp_node *n = e;
	n->count = 1;
	n->cpus = 1;
	n->memory = 1 * GIB;
	n->disk = 8 * GIB;
	n->provider = xstrdup("libvirt");
	n->bmc.port = 623;
}

/* Defaults of a vip. */
static void vip_init(void *e)
{
	((struct bp_vip *)e)->rate_per_10s = 100;
}

/* Nothing to default. */
static void db_init(void *e)
{
	(void)e;
}

static const struct list_spec network_list = {&network_schema, sizeof(struct bp_network),
	offsetof(struct bp_network, pos), network_init};
static const struct list_spec node_list = {&node_schema, sizeof(struct bp_node),
	offsetof(struct bp_node, pos), node_init};
static const struct list_spec vip_list = {&vip_schema, sizeof(struct bp_vip),
	offsetof(struct bp_vip, pos), vip_init};
static const struct list_spec db_list = {&db_schema, sizeof(struct bp_db),
	offsetof(struct bp_db, pos), db_init};

/* networks: a list, indexed by name for node references. */
static void conv_networks(struct bp_ctx *c, const struct bp_tree *v, void *obj, const struct field *f)
{
	struct bp_blueprint *bp = obj;
	bp->networks = conv_list(c, v, f->key, &network_list, &bp->nnetworks);
	free(c->netkeys);
	c->netkeys = list_keys((const char *)bp->networks, bp->nnetworks, sizeof(*bp->networks), &c->nnetkeys);
}

/* nodes: a list, indexed by name for vip references. */
static void conv_nodes(struct bp_ctx *c, const struct bp_tree *v, void *obj, const struct field *f)
{
	struct bp_blueprint *bp = obj;
	bp->nodes = conv_list(c, v, f->key, &node_list, &bp->nnodes);
	free(c->nodekeys);
	c->nodekeys = list_keys((const char *)bp->nodes, bp->nnodes, sizeof(*bp->nodes), &c->nnodekeys);
	if (v->kind == BP_TREE_SEQ && v->n == 0)
		bp_errf(c, v->pos, "nodes: expected at least one node");
}

/* vips. */
static void conv_vips(struct bp_ctx *c, const struct bp_tree *v, void *obj, const struct field *f)
{
	struct bp_blueprint *bp = obj;
	bp->vips = conv_list(c, v, f->key, &vip_list, &bp->nvips);
}

/* database.databases. */
static void conv_dbs(struct bp_ctx *c, const struct bp_tree *v, void *obj, const struct field *f)
{
	struct bp_database *d = obj;
	d->dbs = conv_list(c, v, f->key, &db_list, &d->ndbs);
}

/* Whether any node has a role. */
static bool any_role(const struct bp_blueprint *bp, const char *role)
{
	for (size_t i = 0; i < bp->nnodes; i++)
		if (bp_node_has_role(&bp->nodes[i], role))
			return true;
	return false;
}

/* The blueprint: what needs which role, libvirt nodes need an image. */
static void top_check(struct bp_ctx *c, const struct bp_tree *m, void *obj)
{
	const struct bp_blueprint *bp = obj;
	const struct bp_ent *e;
	bool libvirt = false;
	if ((e = bp_tree_ent(m, "vips")) && bp->nvips > 0 && !any_role(bp, "lb"))
		bp_errf(c, e->kpos, "vips: no node has role lb (the load balancers carry the VIPs)");
	if ((e = bp_tree_ent(m, "database")) && !any_role(bp, "postgres"))
		bp_errf(c, e->kpos, "database: no node has role postgres");
	for (size_t i = 0; i < bp->nnodes; i++)
		libvirt = libvirt || sbx_streq(bp->nodes[i].provider, "libvirt");
	if (libvirt && !bp_tree_get(bp_tree_get(m, "site"), "image")) {
		const struct bp_ent *s = bp_tree_ent(m, "site");
		bp_errf(c, s ? s->kpos : m->pos, "missing required key \"image\" in site (libvirt nodes need "
			"a base image: { recipe: debian-12 }, { path: ... } or { url: ..., sha256: ... })");
	}
}

static const struct field top_fields[] = {
	FFN("apiVersion", struct bp_blueprint, api_version, conv_api, .required = true),
	FLD("name", F_NAME, struct bp_blueprint, name, .required = true),
	FLD("lifetime", F_SUB, struct bp_blueprint, lifetime, .sub = &lifetime_schema),
	FLD("site", F_SUB, struct bp_blueprint, site, .sub = &site_schema),
	{.key = "networks", .type = F_FN, .fn = conv_networks},
	{.key = "nodes", .type = F_FN, .fn = conv_nodes, .required = true},
	FLD("bgp", F_SUB, struct bp_blueprint, bgp, .sub = &bgp_schema),
	{.key = "vips", .type = F_FN, .fn = conv_vips},
	FLD("database", F_SUB, struct bp_blueprint, database, .sub = &database_schema),
	FLD("mocks", F_SUB, struct bp_blueprint, mocks, .sub = &mocks_schema),
};
static const struct schema top_schema = SCHEMA("blueprint", top_fields, top_check);

/* The defaults documented in bp.h. */
static void bp_defaults(struct bp_blueprint *bp)
{
	bp->lifetime.ttl = 8 * 3600;
	bp->lifetime.max_ttl = 72 * 3600;
	bp->site.provider = xstrdup("libvirt");
	bp->site.uri = xstrdup("qemu:///system");
	bp->site.pool = xstrdup("sandbox");
	bp->site.pool_path = xstrdup("/var/lib/sandbox/pool");
	bp->site.domain_type = xstrdup("auto");
	bp->bgp.router_as = 65000;
	bp->bgp.lb_as = 65001;
	bp->database.pool_mode = xstrdup("transaction");
	bp->database.default_pool_size = 20;
	bp->database.max_client_conn = 200;
}

/* Convert the merged tree into the model. */
void bp_model_build(struct bp_ctx *c, const struct bp_tree *root, struct bp_blueprint *bp)
{
	c->bp = bp;
	bp_defaults(bp);
	conv_map(c, root, &top_schema, bp);
}
