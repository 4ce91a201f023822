/* Unit tests of env_notify: an environment's webhook read from its recorded model and the state's
 * secret, the signature against a vector computed with `openssl dgst -sha256 -hmac`, and the URL's
 * origin that messages show. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "env.h"
#include "state_fix.h"

/* printf '%s' '1700000000.{"a":1}' | openssl dgst -sha256 -hmac k3y */
static void test_sign(void **ctx)
{
	(void)ctx;
	char *s = env_notify_sign("k3y", 1700000000, "{\"a\":1}");
	assert_string_equal(s, "t=1700000000,v1=fd5a70e965043f7df6309c2c3b5ff5a8ffa99b1f5175e9a311459e73c4634d4a");
	free(s);
}

static void test_origin(void **ctx)
{
	(void)ctx;
	static const char *const cases[][2] = {
		{"https://hooks.example.org/services/T0/B0/XYZ?token=1", "https://hooks.example.org"},
		{"http://user:pw@127.0.0.1:8080/hook", "http://127.0.0.1:8080"},
		{"http://h#frag", "http://h"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *o = env_notify_origin(cases[i][0]);
		assert_string_equal(o, cases[i][1]);
		free(o);
	}
}

/* The target: none without notify; the URL and the key; an unset secret is an error naming it. */
static void test_target(void **ctx)
{
	struct state_fix *f = *ctx;
	struct sbx_err err = SBX_ERR_INIT;
	struct env_notify_target *t = (struct env_notify_target *)&err;
	struct state_env e = {.name = "e1", .id = "0123456789abcdef", .bp_json = "{\"name\":\"t\"}"};
	assert_int_equal(env_notify_target(f->st, &e, &t, &err), 0);
	assert_null(t);
	e.bp_json = "{\"notify\":{\"secret\":\"${secret.hook}\",\"webhook\":\"https://h/x\"}}";
	assert_int_equal(env_notify_target(f->st, &e, &t, &err), -1);
	assert_non_null(strstr(sbx_err_first(&err), "secret \"hook\" is not set for environment e1"));
	sbx_err_clear(&err);
	assert_int_equal(state_secret_put(f->st, "e1", "user/hook", "v4lue", &err), 0);
	assert_int_equal(env_notify_target(f->st, &e, &t, &err), 0);
	assert_string_equal(t->url, "https://h/x");
	assert_string_equal(t->secret, "v4lue");
	env_notify_target_free(t);
	e.bp_json = "{\"notify\":{\"secret\":null,\"webhook\":\"https://h/y\"}}";
	assert_int_equal(env_notify_target(f->st, &e, &t, &err), 0);
	assert_string_equal(t->url, "https://h/y");
	assert_null(t->secret);
	env_notify_target_free(t);
	env_notify_target_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sign),
		cmocka_unit_test(test_origin),
		cmocka_unit_test_setup_teardown(test_target, state_fix_setup, state_fix_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
