/*
 * mock_util — what every module of the mocks' shared library leans on: allocation that aborts on
 * out-of-memory, the error object, the wall clock and RFC 3339 times, random ids and numbers, strict
 * number / duration / size parsing. Thread-safe. The helpers the mocks share with the provisioner
 * (buf.h, clock.h, random.h, sha256.h) live in provisioner/util/.
 */
#ifndef SBX_MOCK_UTIL_H
#define SBX_MOCK_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MOCK_PRINTF(a, b) __attribute__((format(printf, a, b)))
#define MOCK_WUR __attribute__((warn_unused_result))
#define MOCK_NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* Allocation wrappers: never return NULL (abort with a message on out-of-memory). */
void *mock_xmalloc(size_t n);
void *mock_xcalloc(size_t n, size_t size);
void *mock_xrealloc(void *p, size_t n);
char *mock_xstrdup(const char *s); /* mock_xstrdup(NULL) == NULL */
char *mock_xstrndup(const char *s, size_t n);
char *mock_xasprintf(const char *fmt, ...) MOCK_PRINTF(1, 2); /* caller frees */

/* The error object: a function that fails writes one message here and returns -1. */
struct mock_err {
	char msg[512];
};
/* Set the message (replacing a previous one). Returns -1. */
int mock_err_set(struct mock_err *e, const char *fmt, ...) MOCK_PRINTF(2, 3);

/* Wall clock in milliseconds since the epoch (monotonic time and sleeping: clock.h). */
int64_t mock_now_ms(void);
/* RFC 3339 UTC time with milliseconds ("2026-11-22T22:15:03.120Z") of ms since the epoch. */
void mock_fmt_time(int64_t ms, char out[32]);
/* A fresh random id: prefix + `len` characters of [0-9a-z] ("SM" + 32, "pi_" + 24); caller frees. */
char *mock_id_new(const char *prefix, size_t len);
/* Uniform random integer in [lo, hi] (hi >= lo). */
int64_t mock_rand_range(int64_t lo, int64_t hi);
/* Uniform random double in [0, 1). */
double mock_rand_unit(void);
/* Strict decimal integer parse of the whole string; 0 on success, -1 otherwise. */
int mock_parse_int(const char *s, int64_t min, int64_t max, int64_t *out);
/* Duration: "10s", "500ms", "2m", or a bare number of seconds → milliseconds. 0 / -1. */
int mock_parse_duration_ms(const char *s, int64_t *ms);
/* Size: "1048576", "64k", "1M" (binary units) → bytes. 0 / -1. */
int mock_parse_size(const char *s, size_t *bytes);

/* Whether s starts with "http://" or "https://". */
bool mock_is_http_url(const char *s);
/* Whether the n bytes at a and b are equal, in a time that does not depend on where they differ. */
bool mock_mem_equal_ct(const void *a, const void *b, size_t n);
/* Wipe a secret (explicit_bzero: not optimised away); s may be NULL. */
void mock_wipe_str(char *s);

#endif
