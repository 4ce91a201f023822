/* Unit tests of `sandbox list --json`: the direct writer prints what jansson printed, byte for byte. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"

#define NOW 1800000000

/* What `list --json` printed before the writer: cli_env_json of each, dumped by jansson. */
static char *reference(struct state_env **envs, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, cli_env_json(envs[i]));
	json_t *o = json_pack("{s:o, s:I}", "items", a, "total", (json_int_t)n);
	char *s = json_dumps(o, JSON_INDENT(2) | JSON_SORT_KEYS);
	json_decref(o);
	return s;
}

/* An environment with the given strings (copied) and numbers. */
static struct state_env *mk(const char *name, const char *bp, const char *owner, const char *hash,
	int64_t expires, bool protect)
{
	struct state_env *e = xcalloc(1, sizeof(*e));
	e->name = xstrdup(name);
	e->id = xstrdup("0123456789abcdef");
	e->status = xstrdup(STATE_ENV_READY);
	e->blueprint = xstrdup(bp);
	e->owner = xstrdup(owner);
	e->bp_hash = xstrdup(hash);
	e->created = NOW - 7200;
	e->expires = expires;
	e->protected = protect;
	return e;
}

/* The writer's output equals the reference for envs; frees them. */
static void check(struct state_env **envs, size_t n)
{
	char *want = reference(envs, n), *got = cli_env_list_json(envs, n);
	assert_non_null(want);
	assert_non_null(got);
	assert_string_equal(got, want);
	free(want);
	free(got);
	state_env_list_free(envs, n);
}

/* No environment: an empty array, total 0. */
static void test_empty(void **ctx)
{
	(void)ctx;
	sbx_fake_now_set(NOW);
	char *got = cli_env_list_json(NULL, 0), *want = reference(NULL, 0);
	assert_string_equal(got, want);
	assert_non_null(strstr(got, "\"items\": []"));
	free(got);
	free(want);
	sbx_fake_now_set(0);
}

/* Many environments: every expiry kind, missing fields, protection; the same bytes as jansson. */
static void test_many(void **ctx)
{
	(void)ctx;
	sbx_fake_now_set(NOW);
	size_t n = 2500;
	struct state_env **v = xcalloc(n, sizeof(*v));
	for (size_t i = 0; i < n; i++) {
		char name[32];
		snprintf(name, sizeof(name), "env%05zu", i);
		int64_t exp = i % 4 == 0 ? 0 : i % 4 == 1 ? NOW + 3600 * (int64_t)i : i % 4 == 2 ? NOW - 60 : NOW + 59;
		v[i] = mk(name, i % 5 ? "/home/me/bp.yaml" : NULL, i % 7 ? "me@host" : NULL, i % 3 ? "abc" : NULL,
			exp, i % 2);
		v[i]->created = (int64_t)i * 1000003 - 5;
	}
	check(v, n);
	sbx_fake_now_set(0);
}

/* Quotes, backslashes, every control character, DEL, '/', multi-byte UTF-8: escaped as jansson does. */
static void test_escapes(void **ctx)
{
	(void)ctx;
	sbx_fake_now_set(NOW);
	char ctl[64];
	for (int c = 1; c < 0x20; c++)
		ctl[c - 1] = (char)c;
	ctl[0x1f] = '\0';
	const char *odd[] = {"a\"b\\c/d", ctl, "tab\there\nnl\r\b\f", "del\x7f", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
		"", "\xf4\x8f\xbf\xbf"};
	size_t n = SBX_NELEM(odd);
	struct state_env **v = xcalloc(n, sizeof(*v));
	for (size_t i = 0; i < n; i++)
		v[i] = mk("e", odd[i], odd[(i + 1) % n], odd[(i + 2) % n], 0, false);
	check(v, n);
	sbx_fake_now_set(0);
}

/* A string jansson refuses (invalid UTF-8 of every kind): the same output as before, through jansson. */
static void test_invalid_utf8(void **ctx)
{
	(void)ctx;
	sbx_fake_now_set(NOW);
	const char *bad[] = {"\xff", "\xc0\xaf", "\xe0\x80\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "ab\xc3",
		"\x80", "\xf8\x88\x80\x80\x80"};
	for (size_t k = 0; k < SBX_NELEM(bad); k++) {
		struct state_env **v = xcalloc(3, sizeof(*v));
		v[0] = mk("a", "/bp", "me", "h", 0, false);
		v[1] = mk("b", "/bp", bad[k], "h", 0, false);
		v[2] = mk("c", "/bp", "me", "h", 0, false);
		check(v, 3);
	}
	sbx_fake_now_set(0);
}

/* Run the tests. */
int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_many),
		cmocka_unit_test(test_escapes),
		cmocka_unit_test(test_invalid_utf8),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
