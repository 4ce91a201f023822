/* mock_util — allocation, errors, wall-clock time, ids, random numbers, parsing. */
#include "mock_util.h"

#include "random.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Abort on out-of-memory. */
static void *oom(void *p)
{
	if (!p) {
		fputs("sbx-mock: out of memory\n", stderr);
		abort();
	}
	return p;
}

/* Allocate n bytes or abort. */
void *mock_xmalloc(size_t n)
{
	return oom(malloc(n ? n : 1));
}

/* Allocate a zeroed array or abort. */
void *mock_xcalloc(size_t n, size_t size)
{
	return oom(calloc(n ? n : 1, size ? size : 1));
}

/* Resize or abort. */
void *mock_xrealloc(void *p, size_t n)
{
	return oom(realloc(p, n ? n : 1));
}

/* Duplicate a string (NULL stays NULL). */
char *mock_xstrdup(const char *s)
{
	return s ? oom(strdup(s)) : NULL;
}

/* Duplicate at most n bytes of a string. */
char *mock_xstrndup(const char *s, size_t n)
{
	return oom(strndup(s, n));
}

/* Format into a fresh string. */
char *mock_xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	return oom(s);
}

/* Set the error message. */
int mock_err_set(struct mock_err *e, const char *fmt, ...)
{
	va_list ap;

	if (!e)
		return -1;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return -1;
}

/* Wall clock in ms. */
int64_t mock_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Format ms since the epoch as RFC 3339 UTC. The seconds part is kept per thread: records take
 * several timestamps within the same second.
 */
void mock_fmt_time(int64_t ms, char out[32])
{
	static __thread int64_t last = -1;
	static __thread char base[24];
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	size_t n;

	if (ms < 0 || (int64_t)t != last) {
		gmtime_r(&t, &tm);
		strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
		last = ms < 0 ? -1 : (int64_t)t;
	}
	n = strlen(base);
	if (ms < 0) {
		snprintf(out, 32, "%s.%03dZ", base, (int)(ms % 1000));
		return;
	}
	memcpy(out, base, n); /* "%s.%03dZ" without snprintf: an SMS takes three of these */
	out[n] = '.';
	out[n + 1] = (char)('0' + ms % 1000 / 100);
	out[n + 2] = (char)('0' + ms % 100 / 10);
	out[n + 3] = (char)('0' + ms % 10);
	out[n + 4] = 'Z';
	out[n + 5] = '\0';
}

/* A random id of prefix + len chars of [0-9a-z]. */
char *mock_id_new(const char *prefix, size_t len)
{
	static const char alphabet[] = "0123456789abcdefghijklmnopqrstuvwxyz";
	/* Random bytes drawn 512 at a time per thread: one getrandom per 16 ids, not one each. */
	static __thread unsigned char pool[512];
	static __thread size_t left;
	size_t plen = strlen(prefix);
	char *id = mock_xmalloc(plen + len + 1);

	memcpy(id, prefix, plen);
	for (size_t i = 0; i < len; i++) {
		if (!left) {
			sbx_random(pool, sizeof(pool));
			left = sizeof(pool);
		}
		id[plen + i] = alphabet[pool[--left] % 36];
		pool[left] = 0;
	}
	id[plen + len] = '\0';
	return id;
}

/* Uniform random double in [0, 1). */
double mock_rand_unit(void)
{
	uint64_t r;

	sbx_random(&r, sizeof(r));
	return (double)(r >> 11) / (double)(1ULL << 53);
}

/* Uniform random integer in [lo, hi]. */
int64_t mock_rand_range(int64_t lo, int64_t hi)
{
	if (hi <= lo)
		return lo;
	return lo + (int64_t)(mock_rand_unit() * (double)(hi - lo + 1));
}

/* Parse a whole decimal integer within [min, max]. */
int mock_parse_int(const char *s, int64_t min, int64_t max, int64_t *out)
{
	char *end;
	long long v;

	if (!s || !*s || isspace((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

/* Split "123unit" into a number and its unit suffix. */
static int split_unit(const char *s, int64_t *n, const char **unit)
{
	char *end;
	long long v;

	if (!s || !isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || v < 0)
		return -1;
	*n = v;
	*unit = end;
	return 0;
}

/* Parse "10s", "500ms", "2m", "3" (seconds) into milliseconds. */
int mock_parse_duration_ms(const char *s, int64_t *ms)
{
	static const struct {
		const char *unit;
		int64_t mult;
	} units[] = {{"", 1000}, {"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}};
	const char *unit;
	int64_t n;

	if (split_unit(s, &n, &unit) < 0)
		return -1;
	for (size_t i = 0; i < MOCK_NELEM(units); i++) {
		if (strcmp(unit, units[i].unit) == 0 && n <= INT64_MAX / units[i].mult) {
			*ms = n * units[i].mult;
			return 0;
		}
	}
	return -1;
}

/* Parse "1048576", "64k", "1M", "1Mi" into bytes. */
int mock_parse_size(const char *s, size_t *bytes)
{
	static const struct {
		const char *unit;
		uint64_t mult;
	} units[] = {{"", 1},	     {"k", 1024},    {"K", 1024},    {"Ki", 1024},
		     {"M", 1 << 20}, {"Mi", 1 << 20}, {"G", 1 << 30}, {"Gi", 1 << 30}};
	const char *unit;
	int64_t n;

	if (split_unit(s, &n, &unit) < 0)
		return -1;
	for (size_t i = 0; i < MOCK_NELEM(units); i++) {
		if (strcmp(unit, units[i].unit) == 0 && (uint64_t)n <= SIZE_MAX / units[i].mult) {
			*bytes = (size_t)n * units[i].mult;
			return 0;
		}
	}
	return -1;
}

/* Whether s is an http(s) URL. */
bool mock_is_http_url(const char *s)
{
	return s && (strncmp(s, "http://", 7) == 0 || strncmp(s, "https://", 8) == 0);
}

/* Constant-time comparison (what CRYPTO_memcmp did, without loading libcrypto for it). */
bool mock_mem_equal_ct(const void *a, const void *b, size_t n)
{
	const volatile unsigned char *x = a, *y = b;
	unsigned char d = 0;

	for (size_t i = 0; i < n; i++)
		d |= x[i] ^ y[i];
	return d == 0;
}

/* Wipe a string's bytes. */
void mock_wipe_str(char *s)
{
	if (s)
		explicit_bzero(s, strlen(s));
}
