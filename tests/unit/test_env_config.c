/* Unit tests of env_config: the one reader of the environment. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "env_config.h"

static const char *const vars[] = {"SANDBOX_STATE", "XDG_STATE_HOME", "SANDBOX_IPAM_POOL", "SANDBOX_IMAGE_CACHE",
	"SANDBOX_RECIPES", "SANDBOX_READY_TIMEOUT", "SANDBOX_ROLE_TIMEOUT", "SANDBOX_BMC_TIMEOUT", "SANDBOX_CLUSTER_DIR", "SBX_CLUSTER_DIR",
	"SANDBOX_MOCK_BIN_DIR", "SBX_MOCK_BIN_DIR", "SANDBOX_FAKE_NOW", "SBX_FAKE_NOW", "SANDBOX_TEST_CRASH",
	"SBX_TEST_CRASH", "SANDBOX_KVM", "SBX_KVM", "SUDO_USER", "SANDBOX_IMAGE_DIRS", "SANDBOX_CPU_OVERCOMMIT",
	"SANDBOX_MEMORY_RESERVE"};

/* Start every test from an environment without our variables. */
static int clean(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
		unsetenv(vars[i]);
	return 0;
}

/* Load, expecting success. */
static void load_ok(struct env_config *c, const char *flag)
{
	struct sbx_err err = SBX_ERR_INIT;
	if (env_config_load(c, flag, &err) < 0)
		fail_msg("%s", sbx_err_first(&err));
}

/* The state path: --state, then SANDBOX_STATE, then XDG_STATE_HOME, then HOME. */
static void test_state_path(void **state)
{
	(void)state;
	struct env_config c;
	setenv("HOME", "/home/u", 1);
	load_ok(&c, NULL);
	assert_string_equal(c.state_path, "/home/u/.local/state/sandbox/state.db");
	env_config_clear(&c);
	setenv("XDG_STATE_HOME", "/xdg", 1);
	load_ok(&c, NULL);
	assert_string_equal(c.state_path, "/xdg/sandbox/state.db");
	env_config_clear(&c);
	setenv("SANDBOX_STATE", "/x/s.db", 1);
	load_ok(&c, NULL);
	assert_string_equal(c.state_path, "/x/s.db");
	env_config_clear(&c);
	load_ok(&c, "/flag.db");
	assert_string_equal(c.state_path, "/flag.db");
	env_config_clear(&c);
}

/* Defaults, values, and the earlier SBX_ names as a fallback. */
static void test_values(void **state)
{
	(void)state;
	struct env_config c;
	load_ok(&c, NULL);
	assert_string_equal(c.ipam_pool, "10.211.0.0/16");
	assert_int_equal(c.ready_timeout, 900);
	assert_int_equal(c.role_timeout, 120);
	assert_int_equal(c.bmc_timeout, 20);
	assert_null(c.cluster_dir);
	assert_null(c.test_crash);
	assert_int_equal(c.fake_now, 0);
	assert_non_null(strchr(c.owner, '@'));
	assert_int_equal(c.nimage_dirs, 1); /* the image cache is always one */
	assert_string_equal(c.image_dirs[0], c.image_cache);
	env_config_clear(&c);
	setenv("SANDBOX_READY_TIMEOUT", "15m", 1);
	setenv("SANDBOX_ROLE_TIMEOUT", "30", 1);
	setenv("SANDBOX_BMC_TIMEOUT", "2m", 1);
	setenv("SBX_CLUSTER_DIR", "/old", 1);
	setenv("SANDBOX_MOCK_BIN_DIR", "/bin2", 1);
	setenv("SBX_MOCK_BIN_DIR", "/old-bin", 1);
	setenv("SANDBOX_IMAGE_CACHE", "/cache", 1);
	setenv("SUDO_USER", "alice", 1);
	setenv("SANDBOX_FAKE_NOW", "1000", 1);
	setenv("SANDBOX_IMAGE_DIRS", "/srv/images::/mnt/golden/", 1);
	load_ok(&c, NULL);
	assert_int_equal(c.nimage_dirs, 3);
	assert_string_equal(c.image_dirs[0], "/cache");
	assert_string_equal(c.image_dirs[1], "/srv/images");
	assert_string_equal(c.image_dirs[2], "/mnt/golden/");
	assert_int_equal(c.ready_timeout, 15 * 60);
	assert_int_equal(c.role_timeout, 30);
	assert_int_equal(c.bmc_timeout, 120);
	assert_string_equal(c.cluster_dir, "/old");
	assert_string_equal(c.mock_bin_dir, "/bin2");
	assert_string_equal(c.image_cache, "/cache");
	assert_true(strncmp(c.owner, "alice@", 6) == 0);
	assert_int_equal(c.fake_now, 1000);
	assert_int_equal(sbx_now(), 1000);
	env_config_clear(&c);
	unsetenv("SANDBOX_FAKE_NOW");
	load_ok(&c, NULL);
	assert_true(sbx_now() > 1000);
	env_config_clear(&c);
}

/* The admission policy: defaults, then a ratio and a size. */
static void test_admission(void **state)
{
	(void)state;
	struct env_config c;
	load_ok(&c, NULL);
	assert_true(c.cpu_overcommit == 4.0);
	assert_int_equal(c.mem_reserve, 512ULL << 20);
	env_config_clear(&c);
	setenv("SANDBOX_CPU_OVERCOMMIT", "1.5", 1);
	setenv("SANDBOX_MEMORY_RESERVE", "2Gi", 1);
	load_ok(&c, NULL);
	assert_true(c.cpu_overcommit == 1.5);
	assert_int_equal(c.mem_reserve, 2ULL << 30);
	env_config_clear(&c);
}

/* A value that cannot be used fails naming the variable. */
static void test_bad_values(void **state)
{
	(void)state;
	static const char *const bad[][2] = {{"SANDBOX_READY_TIMEOUT", "soon"}, {"SANDBOX_ROLE_TIMEOUT", "-5"},
		{"SANDBOX_FAKE_NOW", "yesterday"}, {"SANDBOX_IPAM_POOL", "10.0.0.0/25"}, {"SANDBOX_IPAM_POOL", "x"},
		{"SANDBOX_IMAGE_DIRS", "/srv/images:relative/dir"}, {"SANDBOX_READY_TIMEOUT", "0"},
		{"SANDBOX_ROLE_TIMEOUT", "30 s"}, {"SANDBOX_BMC_TIMEOUT", "0"}, {"SANDBOX_BMC_TIMEOUT", "2h"},
		{"SANDBOX_BMC_TIMEOUT", "fast"}, {"SANDBOX_CPU_OVERCOMMIT", "0"}, {"SANDBOX_CPU_OVERCOMMIT", "lots"},
		{"SANDBOX_CPU_OVERCOMMIT", "2x"}, {"SANDBOX_MEMORY_RESERVE", "much"}};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct env_config c;
		struct sbx_err err = SBX_ERR_INIT;
		setenv(bad[i][0], bad[i][1], 1);
		assert_int_equal(env_config_load(&c, NULL, &err), -1);
		assert_int_equal(err.code, SBX_EXIT_USAGE);
		assert_non_null(strstr(sbx_err_first(&err), bad[i][0]));
		sbx_err_clear(&err);
		unsetenv(bad[i][0]);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_state_path, clean),
		cmocka_unit_test_setup(test_values, clean),
		cmocka_unit_test_setup(test_bad_values, clean),
		cmocka_unit_test_setup(test_admission, clean),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
