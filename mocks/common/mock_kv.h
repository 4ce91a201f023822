/* mock_kv — ordered key/value lists: query strings, headers, extra options, store filters. */
#ifndef SBX_MOCK_KV_H
#define SBX_MOCK_KV_H

#include <stdbool.h>
#include <stddef.h>

struct mock_kv {
	char *key, *value;
};
/* A list (zero-initialise it). Not thread-safe. */
struct mock_kvlist {
	struct mock_kv *v;
	size_t n, cap;
};
/* Append a copy of key/value (value may be NULL). */
void mock_kv_add(struct mock_kvlist *l, const char *key, const char *value);
/* The value of the first entry named key (case-insensitive when nocase), or NULL. */
const char *mock_kv_get(const struct mock_kvlist *l, const char *key, bool nocase);
/* Free the entries; the list can be reused. */
void mock_kv_free(struct mock_kvlist *l);

#endif
