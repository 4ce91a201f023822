/*
 * buf — a growable byte buffer, always NUL-terminated once anything was added. Shared by the
 * provisioner and the mocks: depends on nothing else in the tree (it aborts on out-of-memory by
 * itself). Not thread-safe: one buffer belongs to one thread.
 */
#ifndef SBX_BUF_H
#define SBX_BUF_H

#include <stddef.h>

/* A buffer; zero-initialise it (struct sbx_buf b = {0}). */
struct sbx_buf {
	char *data;
	size_t len, cap;
};
/* Append len bytes (may contain NULs); data stays NUL-terminated, also when len is 0. */
void sbx_buf_add(struct sbx_buf *b, const void *data, size_t len);
/* Append a string. */
void sbx_buf_puts(struct sbx_buf *b, const char *s);
/* Append formatted text. */
void sbx_buf_printf(struct sbx_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Take the contents: NUL-terminated, never NULL; the buffer is reset; caller frees. */
char *sbx_buf_steal(struct sbx_buf *b);
/* Free the contents; the buffer can be reused. */
void sbx_buf_free(struct sbx_buf *b);

#endif
