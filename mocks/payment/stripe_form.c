/* stripe_form — nested form parameters (brackets) into a JSON document. */
#include "stripe_form.h"

#include "mock_form.h"
#include "mock_kv.h"
#include "mock_util.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* Split a name "a[b][]" into its segments ("a", "b", ""); -1 when malformed or too deep. */
static int split_name(const char *name, char *seg[STRIPE_FORM_MAX_DEPTH + 1], size_t *n)
{
	size_t head = strcspn(name, "[");
	const char *p = name + head;

	*n = 0;
	if (head == 0 || (strchr(name, ']') && strchr(name, ']') < p))
		return -1;
	seg[(*n)++] = mock_xstrndup(name, head);
	while (*p) {
		const char *close = strchr(p, ']');
		if (*p != '[' || !close || memchr(p + 1, '[', (size_t)(close - p - 1)) ||
		    *n > STRIPE_FORM_MAX_DEPTH)
			return -1;
		seg[(*n)++] = mock_xstrndup(p + 1, (size_t)(close - p - 1));
		p = close + 1;
	}
	return 0;
}

/* Whether a segment is an array index ("" or digits); *idx is its value (SIZE_MAX for ""). */
static bool seg_index(const char *s, size_t *idx)
{
	int64_t v;

	if (!*s) {
		*idx = (size_t)-1;
		return true;
	}
	if (strspn(s, "0123456789") != strlen(s) || mock_parse_int(s, 0, 999, &v) < 0)
		return false;
	*idx = (size_t)v;
	return true;
}

/* The child of node at segment seg, created as an object/array (next says which) or set to leaf. */
static json_t *step(json_t *node, const char *seg, const char *next, const char *leaf)
{
	size_t idx, ndummy;
	bool want_arr = next && seg_index(next, &ndummy);
	json_t *child = next ? (want_arr ? json_array() : json_object()) : json_string(leaf);
	json_t *cur;

	if (json_is_object(node)) {
		cur = json_object_get(node, seg);
		if (cur && next && (json_is_array(cur) == want_arr) && !json_is_string(cur)) {
			json_decref(child);
			return cur;
		}
		if (cur) {
			json_decref(child);
			return NULL;
		}
		json_object_set_new(node, seg, child);
		return child;
	}
	if (!seg_index(seg, &idx) || (idx != (size_t)-1 && idx > json_array_size(node))) {
		json_decref(child);
		return NULL;
	}
	if (idx != (size_t)-1 && idx < json_array_size(node)) {
		cur = json_array_get(node, idx);
		json_decref(child);
		return next && !json_is_string(cur) && json_is_array(cur) == want_arr ? cur : NULL;
	}
	if (idx == (size_t)-1 && next) { /* "a[][b]": ambiguous */
		json_decref(child);
		return NULL;
	}
	json_array_append_new(node, child);
	return child;
}

/* Put one parameter into doc: 0, or -1 when its name does not fit what doc holds. */
static int put(json_t *doc, const char *name, const char *value)
{
	char *seg[STRIPE_FORM_MAX_DEPTH + 1];
	size_t n = 0;
	json_t *node = doc;
	int rc = split_name(name, seg, &n);

	for (size_t i = 0; rc == 0 && i < n; i++) {
		node = step(node, seg[i], i + 1 < n ? seg[i + 1] : NULL, value);
		if (!node)
			rc = -1;
	}
	for (size_t i = 0; i < n; i++)
		free(seg[i]);
	return rc;
}

/* Parse a body into a document. */
json_t *stripe_form_parse(const char *body, size_t len, struct mock_err *e)
{
	struct mock_kvlist l = {0};
	json_t *doc = json_object();

	if (mock_form_parse(body, len, &l, e) < 0)
		goto fail;
	for (size_t i = 0; i < l.n; i++) {
		if (put(doc, l.v[i].key, l.v[i].value) < 0) {
			mock_err_set(e, "Invalid parameter name or a conflicting value: %.200s", l.v[i].key);
			goto fail;
		}
	}
	mock_kv_free(&l);
	return doc;
fail:
	mock_kv_free(&l);
	json_decref(doc);
	return NULL;
}
