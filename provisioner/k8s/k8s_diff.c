/* k8s_diff — a field-level diff of two objects. */
#include "k8s_diff.h"
#include "util.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#define DIFF_VALUE_MAX 120

/* What a diff walk carries. */
struct dwalk {
	struct k8s_diff *out;
	bool secret; /* the object is a v1 Secret */
};

/* The fields the server maintains (under metadata). */
static bool ignored(const char *parent, const char *key)
{
	static const char *const md[] = {"managedFields", "resourceVersion", "generation", "creationTimestamp",
		"uid", "selfLink"};
	if (strcmp(parent, ".metadata") != 0)
		return false;
	for (size_t i = 0; i < SBX_NELEM(md); i++)
		if (strcmp(key, md[i]) == 0)
			return true;
	return false;
}

/* Whether a path is under a Secret's values. */
static bool hidden(const struct dwalk *w, const char *path)
{
	return w->secret && (sbx_has_prefix(path, ".data") || sbx_has_prefix(path, ".stringData"));
}

/* A value as recorded: a copy, or "(hidden)". */
static json_t *keep(const struct dwalk *w, const char *path, const json_t *v)
{
	if (v == NULL)
		return NULL;
	if (hidden(w, path))
		return json_string("(hidden)");
	json_t *c = json_deep_copy(v);
	const char *key;
	json_t *m;
	void *tmp;
	if (strcmp(path, ".metadata") == 0)
		json_object_foreach_safe(c, tmp, key, m) if (ignored(path, key))
			json_object_del(c, key);
	return c;
}

/* Record one change. */
static void add(struct dwalk *w, enum k8s_diff_op op, const char *path, const json_t *old, const json_t *new)
{
	struct k8s_diff *d = w->out;
	xgrow(&d->v, &d->cap, d->n + 1, sizeof(*d->v));
	d->v[d->n++] = (struct k8s_change){op, xstrdup(path), keep(w, path, old), keep(w, path, new)};
}

/* The path of a member: ".key", or "[\"a/b\"]" when the key is not a plain word. */
static char *member_path(const char *parent, const char *key)
{
	bool plain = *key != '\0';
	for (const char *p = key; *p; p++)
		plain = plain && (isalnum((unsigned char)*p) || *p == '_' || *p == '-');
	if (plain)
		return xasprintf("%s.%s", parent, key);
	json_t *k = json_string(key);
	char *q = json_dumps(k, JSON_ENCODE_ANY);
	char *r = xasprintf("%s[%s]", parent, q ? q : "?");
	json_decref(k);
	free(q);
	return r;
}

static void walk(struct dwalk *w, const char *path, const json_t *a, const json_t *b);

/* Compare two objects member by member. */
static void walk_object(struct dwalk *w, const char *path, const json_t *a, const json_t *b)
{
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)a, key, v) {
		if (ignored(path, key))
			continue;
		char *p = member_path(path, key);
		walk(w, p, v, json_object_get(b, key));
		free(p);
	}
	json_object_foreach((json_t *)b, key, v) {
		if (ignored(path, key) || json_object_get(a, key))
			continue;
		char *p = member_path(path, key);
		walk(w, p, NULL, v);
		free(p);
	}
}

/* Compare two arrays index by index. */
static void walk_array(struct dwalk *w, const char *path, const json_t *a, const json_t *b)
{
	size_t na = json_array_size(a), nb = json_array_size(b);
	for (size_t i = 0; i < na || i < nb; i++) {
		char *p = xasprintf("%s[%zu]", path, i);
		walk(w, p, json_array_get(a, i), json_array_get(b, i));
		free(p);
	}
}

/* Compare two values at a path. */
static void walk(struct dwalk *w, const char *path, const json_t *a, const json_t *b)
{
	if (a == NULL || b == NULL) {
		if (a || b)
			add(w, a ? K8S_DIFF_REMOVE : K8S_DIFF_ADD, path, a, b);
	} else if (json_is_object(a) && json_is_object(b)) {
		walk_object(w, path, a, b);
	} else if (json_is_array(a) && json_is_array(b)) {
		walk_array(w, path, a, b);
	} else if (!json_equal((json_t *)a, (json_t *)b)) {
		add(w, K8S_DIFF_CHANGE, path, a, b);
	}
}

/* Order changes by path (qsort). */
static int change_cmp(const void *x, const void *y)
{
	return strcmp(((const struct k8s_change *)x)->path, ((const struct k8s_change *)y)->path);
}

/* Diff two objects. */
void k8s_diff_objects(const json_t *live, const json_t *want, struct k8s_diff *out)
{
	const json_t *ref = want ? want : live;
	struct dwalk w = {out, sbx_streq(json_string_value(json_object_get(ref, "kind")), "Secret") &&
		sbx_streq(json_string_value(json_object_get(ref, "apiVersion")), "v1")};
	json_t *empty = json_object();
	size_t from = out->n;
	walk_object(&w, "", live ? live : empty, want ? want : empty);
	if (out->n > from)
		qsort(out->v + from, out->n - from, sizeof(*out->v), change_cmp);
	json_decref(empty);
}

/* Free changes. */
void k8s_diff_clear(struct k8s_diff *d)
{
	for (size_t i = 0; i < d->n; i++) {
		free(d->v[i].path);
		json_decref(d->v[i].old);
		json_decref(d->v[i].new);
	}
	free(d->v);
	*d = (struct k8s_diff){0};
}

/* A value as short text (caller frees). */
static char *short_value(const json_t *v)
{
	char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT | JSON_SORT_KEYS);
	if (s && strlen(s) > DIFF_VALUE_MAX)
		memcpy(s + DIFF_VALUE_MAX - 3, "...", 4);
	return s ? s : xstrdup("?");
}

/* Print the changes. */
void k8s_diff_print(const struct k8s_diff *d, FILE *f, const char *indent)
{
	for (size_t i = 0; i < d->n; i++) {
		const struct k8s_change *c = &d->v[i];
		char *o = c->old ? short_value(c->old) : NULL, *n = c->new ? short_value(c->new) : NULL;
		if (c->op == K8S_DIFF_ADD)
			fprintf(f, "%s+ %s: %s\n", indent, c->path, n);
		else if (c->op == K8S_DIFF_REMOVE)
			fprintf(f, "%s- %s: %s\n", indent, c->path, o);
		else
			fprintf(f, "%s~ %s: %s → %s\n", indent, c->path, o, n);
		free(o);
		free(n);
	}
}

/* The changes as JSON. */
json_t *k8s_diff_json(const struct k8s_diff *d)
{
	static const char *const ops[] = {"add", "remove", "change"};
	json_t *a = json_array();
	for (size_t i = 0; i < d->n; i++) {
		const struct k8s_change *c = &d->v[i];
		json_t *e = json_pack("{s:s, s:s}", "op", ops[c->op], "path", c->path);
		if (c->old)
			json_object_set(e, "old", c->old);
		if (c->new)
			json_object_set(e, "new", c->new);
		json_array_append_new(a, e);
	}
	return a;
}
