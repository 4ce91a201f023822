/* Unit tests of env_secret: the values of a blueprint's ${secret.NAME}, apart from the secrets sandbox
 * generates; the check `up` and `plan` make before touching anything; resolution at apply time. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "env.h"
#include "state_fix.h"

/* A blueprint using ${secret.bmc} and ${secret.pay-token}. */
static struct bp_blueprint *bp_with_secrets(void)
{
	static const char y[] = "apiVersion: sandbox/v1\nname: t\nsite: { image: { recipe: debian-12 } }\n"
		"networks: [ { name: f } ]\n"
		"nodes:\n  - { name: w, networks: [f], roles: [mocks] }\n"
		"  - { name: m, provider: ipmi, bmc: { address: h, password: \"${secret.bmc}\" } }\n"
		"mocks: { payment: { webhook_url: \"https://pay/hook?t=${secret.pay-token}\" } }\n";
	struct bp_blueprint *bp = NULL;
	struct sbx_err err = SBX_ERR_INIT;
	if (bp_load_string("t.yaml", y, strlen(y), NULL, &bp, &err) < 0) {
		sbx_err_print(&err, stderr);
		fail_msg("blueprint");
	}
	return bp;
}

/* set, list (names only, the generated secrets not among them), rm; before the environment exists. */
static void test_set_list_rm(void **ctx)
{
	struct state_fix *f = *ctx;
	struct sbx_err err = SBX_ERR_INIT;
	char **names = NULL, *v = NULL;
	size_t n = 0;
	assert_int_equal(state_secret_put(f->st, "demo", "ssh-key", "PRIVATE", &err), 0);
	assert_int_equal(env_secret_set(f->st, "demo", "ssh-key", "mine", &err), 0);
	assert_int_equal(env_secret_set(f->st, "demo", "bmc", "hunter2", &err), 0);
	assert_int_equal(env_secret_list(f->st, "demo", &names, &n, &err), 0);
	assert_int_equal(n, 2);
	assert_string_equal(names[0], "bmc");
	assert_string_equal(names[1], "ssh-key");
	state_strv_free(names, n);
	/* the generated SSH key is untouched by a user secret of the same name */
	assert_int_equal(state_secret_get(f->st, "demo", "ssh-key", &v, &err), 0);
	assert_string_equal(v, "PRIVATE");
	free(v);
	assert_int_equal(env_secret_rm(f->st, "demo", "ssh-key", &err), 0);
	assert_int_equal(state_secret_get(f->st, "demo", "ssh-key", &v, &err), 0);
	assert_string_equal(v, "PRIVATE");
	free(v);
	assert_int_equal(env_secret_rm(f->st, "demo", "ssh-key", &err), -1);
	assert_int_equal(err.code, SBX_EXIT_FAILED);
	assert_string_equal(sbx_err_first(&err), "environment demo has no secret \"ssh-key\"");
	sbx_err_clear(&err);
}

/* Invalid names and empty values are usage errors. */
static void test_refused(void **ctx)
{
	struct state_fix *f = *ctx;
	static const char *const bad[][3] = {{"Demo", "x", "v"}, {"demo", "a b", "v"}, {"demo", "", "v"},
		{"demo", "x", ""}, {"demo", "${secret.x}", "v"}};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct sbx_err err = SBX_ERR_INIT;
		assert_int_equal(env_secret_set(f->st, bad[i][0], bad[i][1], bad[i][2], &err), -1);
		assert_int_equal(err.code, SBX_EXIT_USAGE);
		assert_non_null(err.hint);
		sbx_err_clear(&err);
	}
}

/* The check names every missing secret, with the command that sets it; the values are not read. */
static void test_check(void **ctx)
{
	struct state_fix *f = *ctx;
	struct sbx_err err = SBX_ERR_INIT;
	struct bp_blueprint *bp = bp_with_secrets();
	assert_int_equal(env_secret_check(f->st, "demo", bp, &err), -1);
	assert_int_equal(err.code, SBX_EXIT_USAGE);
	assert_int_equal(err.n, 2);
	assert_string_equal(err.msgs[0].text,
		"secret \"bmc\" is not set for environment demo (the blueprint uses ${secret.bmc})");
	assert_string_equal(err.msgs[1].text,
		"secret \"pay-token\" is not set for environment demo (the blueprint uses ${secret.pay-token})");
	assert_string_equal(err.hint, "set each with: printf %s \"$VALUE\" | sandbox secret set demo NAME");
	sbx_err_clear(&err);
	assert_int_equal(env_secret_set(f->st, "demo", "bmc", "hunter2", &err), 0);
	assert_int_equal(env_secret_set(f->st, "other", "pay-token", "t", &err), 0);
	assert_int_equal(env_secret_check(f->st, "demo", bp, &err), -1);
	assert_int_equal(err.n, 1);
	assert_string_equal(err.hint, "set it with: printf %s \"$VALUE\" | sandbox secret set demo pay-token");
	sbx_err_clear(&err);
	assert_int_equal(env_secret_set(f->st, "demo", "pay-token", "t0k", &err), 0);
	assert_int_equal(env_secret_check(f->st, "demo", bp, &err), 0);
	assert_false(sbx_err_isset(&err));
	bp_free(bp);
}

/* A ${secret.NAME} reference resolves to the value set for that environment. */
static void test_resolve(void **ctx)
{
	struct state_fix *f = *ctx;
	struct sbx_err err = SBX_ERR_INIT;
	char *v = NULL;
	assert_int_equal(env_secret_set(f->st, "demo", "bmc", "hunter2", &err), 0);
	assert_int_equal(env_secret_resolve(f->st, "demo", "${secret.bmc}", &v, &err), 0);
	assert_string_equal(v, "hunter2");
	free(v);
	v = NULL;
	assert_int_equal(env_secret_resolve(f->st, "other", "${secret.bmc}", &v, &err), -1);
	assert_string_equal(sbx_err_first(&err), "secret \"bmc\" is not set for environment other");
	assert_string_equal(err.hint, "set it with: printf %s \"$VALUE\" | sandbox secret set other bmc");
	sbx_err_clear(&err);
	assert_int_equal(env_secret_resolve(f->st, "demo", "hunter2", &v, &err), -1);
	assert_int_equal(env_secret_resolve(f->st, "demo", "${secret.ssh-key}", &v, &err), -1);
	assert_null(v);
	sbx_err_clear(&err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_set_list_rm, state_fix_setup, state_fix_teardown),
		cmocka_unit_test_setup_teardown(test_refused, state_fix_setup, state_fix_teardown),
		cmocka_unit_test_setup_teardown(test_check, state_fix_setup, state_fix_teardown),
		cmocka_unit_test_setup_teardown(test_resolve, state_fix_setup, state_fix_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
