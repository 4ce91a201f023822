/* mock_kv — ordered key/value lists. */
#include "mock_kv.h"

#include "mock_util.h"

#include <stdlib.h>
#include <strings.h>
#include <string.h>

/* Append a key/value copy. */
void mock_kv_add(struct mock_kvlist *l, const char *key, const char *value)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 8;
		l->v = mock_xrealloc(l->v, l->cap * sizeof(*l->v));
	}
	l->v[l->n].key = mock_xstrdup(key);
	l->v[l->n].value = mock_xstrdup(value);
	l->n++;
}

/* Find the first value for key. */
const char *mock_kv_get(const struct mock_kvlist *l, const char *key, bool nocase)
{
	for (size_t i = 0; i < l->n; i++) {
		if (nocase ? strcasecmp(l->v[i].key, key) == 0 : strcmp(l->v[i].key, key) == 0)
			return l->v[i].value;
	}
	return NULL;
}

/* Free the list's entries. */
void mock_kv_free(struct mock_kvlist *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].key);
		free(l->v[i].value);
	}
	free(l->v);
	l->v = NULL;
	l->n = l->cap = 0;
}
