/* buf — a growable byte buffer. */
#include "buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Make room for n more bytes and a NUL; aborts on out-of-memory. */
static void buf_reserve(struct sbx_buf *b, size_t n)
{
	size_t cap = b->cap < 8 ? 8 : b->cap;
	if (b->len + n + 1 <= b->cap)
		return;
	while (cap < b->len + n + 1)
		cap *= 2;
	char *p = realloc(b->data, cap);
	if (p == NULL) {
		fprintf(stderr, "out of memory (%zu bytes)\n", cap);
		abort();
	}
	b->data = p;
	b->cap = cap;
}

/* Append bytes. */
void sbx_buf_add(struct sbx_buf *b, const void *data, size_t len)
{
	buf_reserve(b, len);
	if (len)
		memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
}

/* Append a string. */
void sbx_buf_puts(struct sbx_buf *b, const char *s)
{
	sbx_buf_add(b, s, strlen(s));
}

/* Append formatted text. */
void sbx_buf_printf(struct sbx_buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	buf_reserve(b, (size_t)n);
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

/* Take the buffer's string. */
char *sbx_buf_steal(struct sbx_buf *b)
{
	char *s = b->data;
	if (s == NULL) {
		sbx_buf_add(b, "", 0);
		s = b->data;
	}
	*b = (struct sbx_buf){0};
	return s;
}

/* Free the buffer. */
void sbx_buf_free(struct sbx_buf *b)
{
	free(b->data);
	*b = (struct sbx_buf){0};
}
