/* bp_tree — the generic positioned tree of a blueprint file, and the deep merge of `extends`. */
#include "bp_int.h"

#include <stdlib.h>
#include <string.h>

/* Allocate an empty node. */
struct bp_tree *bp_tree_new(enum bp_tree_kind kind, struct bp_pos pos)
{
	struct bp_tree *t = xcalloc(1, sizeof(*t));
	t->kind = kind;
	t->pos = pos;
	return t;
}

/* Free a node and its children. */
void bp_tree_free(struct bp_tree *t)
{
	if (t == NULL)
		return;
	for (size_t i = 0; i < t->n; i++) {
		free(t->ents[i].key);
		bp_tree_free(t->ents[i].val);
	}
	free(t->ents);
	free(t->str);
	free(t);
}

/* Append an entry (map) or item (list, key NULL). */
void bp_tree_add(struct bp_tree *t, char *key, struct bp_pos kpos, struct bp_tree *val)
{
	xgrow(&t->ents, &t->cap, t->n + 1, sizeof(*t->ents));
	t->ents[t->n++] = (struct bp_ent){key, kpos, val};
}

/* Index of a key in a map, or -1. */
static long tree_find(const struct bp_tree *t, const char *key)
{
	if (t == NULL || t->kind != BP_TREE_MAP)
		return -1;
	for (size_t i = 0; i < t->n; i++)
		if (strcmp(t->ents[i].key, key) == 0)
			return (long)i;
	return -1;
}

/* Find a map entry. */
const struct bp_ent *bp_tree_ent(const struct bp_tree *t, const char *key)
{
	long i = tree_find(t, key);
	return i < 0 ? NULL : &t->ents[i];
}

/* Find a map value. */
const struct bp_tree *bp_tree_get(const struct bp_tree *t, const char *key)
{
	const struct bp_ent *e = bp_tree_ent(t, key);
	return e ? e->val : NULL;
}

/* Remove a map entry and hand over its value. */
struct bp_tree *bp_tree_take(struct bp_tree *t, const char *key, struct bp_pos *kpos)
{
	long i = tree_find(t, key);
	if (i < 0)
		return NULL;
	struct bp_tree *v = t->ents[i].val;
	*kpos = t->ents[i].kpos;
	free(t->ents[i].key);
	memmove(&t->ents[i], &t->ents[i + 1], (t->n - (size_t)i - 1) * sizeof(*t->ents));
	t->n--;
	return v;
}

/* Whether a node is a plain null scalar. */
bool bp_tree_is_null(const struct bp_tree *t)
{
	static const char *const nulls[] = {"", "~", "null", "Null", "NULL"};
	if (t == NULL || t->kind != BP_TREE_SCALAR || !t->plain)
		return false;
	for (size_t i = 0; i < SBX_NELEM(nulls); i++)
		if (strcmp(t->str, nulls[i]) == 0)
			return true;
	return false;
}

/* Describe a node for a message. */
const char *bp_tree_describe(const struct bp_tree *t, char *buf, size_t len)
{
	static const char *const kinds[] = {"a string", "a mapping", "a list"};
	if (bp_tree_is_null(t) || t == NULL) {
		snprintf(buf, len, "nothing");
		return buf;
	}
	if (t->kind != BP_TREE_SCALAR) {
		snprintf(buf, len, "%s", kinds[t->kind]);
		return buf;
	}
	char v[BP_QUOTE_MAX + 1];
	size_t n = 0;
	for (const char *s = t->str; *s && n + 1 < sizeof(v); s++)
		v[n++] = (*s == '"' || (unsigned char)*s < 0x20) ? '?' : *s;
	v[n] = '\0';
	snprintf(buf, len, "\"%s%s\"", v, strlen(t->str) > n ? "..." : "");
	return buf;
}

/* Order keys by name, then index. */
static int key_cmp(const void *a, const void *b)
{
	const struct bp_key *x = a, *y = b;
	int r = strcmp(x->name, y->name);
	if (r != 0)
		return r;
	return (x->i > y->i) - (x->i < y->i);
}

/* Sort keys. */
void bp_keys_sort(struct bp_key *k, size_t n)
{
	if (n > 1)
		qsort(k, n, sizeof(*k), key_cmp);
}

/* Binary search for the first key with a name. */
long bp_keys_find(const struct bp_key *k, size_t n, const char *name)
{
	size_t lo = 0, hi = n;
	if (name == NULL)
		return -1;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (strcmp(k[mid].name, name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return (lo < n && strcmp(k[lo].name, name) == 0) ? (long)k[lo].i : -1;
}

/* Report duplicate keys of a map. */
void bp_tree_dupkeys(struct bp_ctx *c, const struct bp_tree *t)
{
	struct bp_key *k = xmalloc(t->n * sizeof(*k));
	for (size_t i = 0; i < t->n; i++)
		k[i] = (struct bp_key){t->ents[i].key, i};
	bp_keys_sort(k, t->n);
	for (size_t i = 1, first = 0; i < t->n; i++) {
		if (strcmp(k[i].name, k[first].name) != 0) {
			first = i;
			continue;
		}
		const struct bp_ent *e = &t->ents[k[i].i];
		bp_errf(c, e->kpos, "duplicate key \"%s\" (first set at line %d)", e->key,
			t->ents[k[first].i].kpos.line);
	}
	free(k);
}

/* The scalar `name` of a list item, or NULL. */
static const char *item_name(const struct bp_tree *t)
{
	const struct bp_tree *n = bp_tree_get(t, "name");
	return (n && n->kind == BP_TREE_SCALAR) ? n->str : NULL;
}

/* Whether a non-empty list holds only maps with a `name`. */
static bool seq_named(const struct bp_tree *t)
{
	if (t->kind != BP_TREE_SEQ || t->n == 0)
		return false;
	for (size_t i = 0; i < t->n; i++)
		if (item_name(t->ents[i].val) == NULL)
			return false;
	return true;
}

/* Free a container whose entries were moved out. */
static void shell_free(struct bp_tree *t)
{
	t->n = 0;
	bp_tree_free(t);
}

/* Merge src's entries into dst by key. */
static void merge_map(struct bp_tree *dst, struct bp_tree *src)
{
	for (size_t j = 0; j < src->n; j++) {
		struct bp_ent *s = &src->ents[j];
		long i = tree_find(dst, s->key);
		if (i < 0) {
			bp_tree_add(dst, s->key, s->kpos, s->val);
			continue;
		}
		dst->ents[i].val = bp_tree_merge(dst->ents[i].val, s->val);
		dst->ents[i].kpos = s->kpos;
		free(s->key);
	}
	dst->pos = src->pos;
	shell_free(src);
}

/* Merge src's items into dst by `name`; new names append. */
static void merge_named(struct bp_tree *dst, struct bp_tree *src)
{
	size_t n0 = dst->n;
	struct bp_key *k = xmalloc(n0 * sizeof(*k));
	for (size_t i = 0; i < n0; i++)
		k[i] = (struct bp_key){xstrdup(item_name(dst->ents[i].val)), i};
	bp_keys_sort(k, n0);
	for (size_t j = 0; j < src->n; j++) {
		struct bp_tree *it = src->ents[j].val;
		long i = bp_keys_find(k, n0, item_name(it));
		if (i < 0)
			bp_tree_add(dst, NULL, it->pos, it);
		else
			dst->ents[i].val = bp_tree_merge(dst->ents[i].val, it);
	}
	for (size_t i = 0; i < n0; i++)
		free((char *)k[i].name);
	free(k);
	dst->pos = src->pos;
	shell_free(src);
}

/* Deep merge: maps by key, named lists by name, everything else replaced. */
struct bp_tree *bp_tree_merge(struct bp_tree *dst, struct bp_tree *src)
{
	if (dst->kind == BP_TREE_MAP && src->kind == BP_TREE_MAP) {
		merge_map(dst, src);
		return dst;
	}
	if (seq_named(dst) && seq_named(src)) {
		merge_named(dst, src);
		return dst;
	}
	bp_tree_free(dst);
	return src;
}
