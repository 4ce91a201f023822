/* Unit tests of the state's IPAM: one /24 per (env, network), never shared, from a pool. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "state_fix.h"

/* A private state for the test. */
static int setup(void **ctx)
{
	struct state_fix *f = state_fix_new("ipam", NULL);
	state_fix_env(f->st, "a", 0, false);
	state_fix_env(f->st, "b", 0, false);
	state_fix_env(f->st, "c", 0, false);
	*ctx = f;
	return 0;
}

/* Close and remove everything. */
static int teardown(void **ctx)
{
	state_fix_free(*ctx);
	return 0;
}

/* Allocate and return the block (the test fails on error). */
static char *alloc_ok(struct state *st, const char *env, const char *net, const char *want)
{
	struct sbx_err err = SBX_ERR_INIT;
	char *cidr = NULL;
	if (state_ipam_alloc(st, env, net, want, &cidr, &err) < 0)
		fail_msg("alloc %s/%s: %s", env, net, sbx_err_first(&err));
	assert_non_null(cidr);
	return cidr;
}

/* Allocation fails with `code` and a message containing `needle`. */
static void alloc_fails(struct state *st, const char *env, const char *net, const char *want,
	int code, const char *needle)
{
	struct sbx_err err = SBX_ERR_INIT;
	char *cidr = NULL;
	assert_int_equal(state_ipam_alloc(st, env, net, want, &cidr, &err), -1);
	assert_null(cidr);
	assert_int_equal(err.code, code);
	if (!strstr(sbx_err_first(&err), needle))
		fail_msg("\"%s\" does not mention \"%s\"", sbx_err_first(&err), needle);
	sbx_err_clear(&err);
}

/* A second call returns the same block; get returns it too; another network gets the next. */
static void test_idempotent(void **ctx)
{
	struct state_fix *f = *ctx;
	struct sbx_err err = SBX_ERR_INIT;
	char *x = alloc_ok(f->st, "a", "front", NULL);
	char *y = alloc_ok(f->st, "a", "front", "auto");
	char *z = alloc_ok(f->st, "a", "back", NULL);
	char *g = NULL, *none = (char *)"unset";
	assert_string_equal(x, "10.211.0.0/24");
	assert_string_equal(y, x);
	assert_string_equal(z, "10.211.1.0/24");
	assert_int_equal(state_ipam_get(f->st, "a", "front", &g, &err), 0);
	assert_string_equal(g, x);
	assert_int_equal(state_ipam_get(f->st, "a", "nope", &none, &err), 0);
	assert_null(none);
	char *again = alloc_ok(f->st, "a", "front", x); /* explicit, equal to what it has */
	assert_string_equal(again, x);
	free(x);
	free(y);
	free(z);
	free(g);
	free(again);
}

/* Blocks of different environments never overlap. */
static void test_no_overlap(void **ctx)
{
	struct state_fix *f = *ctx;
	const char *envs[] = {"a", "b", "c"}, *nets[] = {"front", "back", "mgmt"};
	char *got[9];
	for (int i = 0; i < 9; i++)
		got[i] = alloc_ok(f->st, envs[i / 3], nets[i % 3], NULL);
	for (int i = 0; i < 9; i++)
		for (int j = i + 1; j < 9; j++)
			assert_string_not_equal(got[i], got[j]);
	for (int i = 0; i < 9; i++)
		free(got[i]);
}

/* An explicit block taken by another env is refused, naming the holder; bad blocks are usage errors. */
static void test_explicit(void **ctx)
{
	struct state_fix *f = *ctx;
	char *x = alloc_ok(f->st, "a", "front", "10.211.5.0/24");
	assert_string_equal(x, "10.211.5.0/24");
	alloc_fails(f->st, "b", "front", "10.211.5.0/24", SBX_EXIT_REFUSED, "environment a");
	alloc_fails(f->st, "a", "front", "10.211.6.0/24", SBX_EXIT_REFUSED, "already has");
	alloc_fails(f->st, "b", "x", "10.211.6.1/24", SBX_EXIT_USAGE, "expected a /24");
	alloc_fails(f->st, "b", "x", "10.211.0.0/16", SBX_EXIT_USAGE, "expected a /24");
	alloc_fails(f->st, "b", "x", "banana", SBX_EXIT_USAGE, "expected a /24");
	alloc_fails(f->st, "ghost", "x", NULL, SBX_EXIT_FAILED, "environment ghost is not in the state");
	/* outside the pool is allowed, and still exclusive */
	char *y = alloc_ok(f->st, "b", "lab", "192.168.50.0/24");
	alloc_fails(f->st, "c", "lab", "192.168.50.0/24", SBX_EXIT_REFUSED, "environment b");
	free(x);
	free(y);
}

/* A changed explicit block moves the allocation (the old block free again); a block another env
 * holds, or a libvirt network on the host uses, is refused; "auto" never differs. */
static void test_move(void **ctx)
{
	struct state_fix *f = *ctx;
	struct sbx_err err = SBX_ERR_INIT;
	bool differs = true;
	char *x = alloc_ok(f->st, "a", "front", "10.211.5.0/24"), *y = alloc_ok(f->st, "b", "front", NULL), *got = NULL;
	assert_int_equal(state_ipam_differs(f->st, "a", "front", "10.211.5.0/24", &differs, &err), 0);
	assert_false(differs);
	assert_int_equal(state_ipam_differs(f->st, "a", "front", "auto", &differs, &err), 0);
	assert_false(differs);
	assert_int_equal(state_ipam_differs(f->st, "a", "back", "10.211.6.0/24", &differs, &err), 0);
	assert_false(differs); /* nothing held yet: an allocation, not a move */
	assert_int_equal(state_ipam_differs(f->st, "a", "front", "10.211.6.0/24", &differs, &err), 0);
	assert_true(differs);
	assert_int_equal(state_ipam_move(f->st, "a", "front", "10.211.6.0/24", &err), 0);
	assert_int_equal(state_ipam_get(f->st, "a", "front", &got, &err), 0);
	assert_string_equal(got, "10.211.6.0/24");
	free(got);
	char *z = alloc_ok(f->st, "c", "front", "10.211.5.0/24"); /* released */
	assert_int_equal(state_ipam_move(f->st, "a", "front", y, &err), -1);
	assert_int_equal(err.code, SBX_EXIT_REFUSED);
	assert_non_null(strstr(sbx_err_first(&err), "environment b"));
	sbx_err_clear(&err);
	const char *used[] = {"10.211.9.0/24"};
	state_ipam_avoid(f->st, used, 1);
	assert_int_equal(state_ipam_move(f->st, "a", "front", "10.211.9.0/24", &err), -1);
	assert_int_equal(err.code, SBX_EXIT_REFUSED);
	assert_non_null(strstr(sbx_err_first(&err), "libvirt network"));
	sbx_err_clear(&err);
	assert_int_equal(state_ipam_move(f->st, "a", "front", "10.211.9.1/24", &err), -1);
	assert_int_equal(err.code, SBX_EXIT_USAGE);
	sbx_err_clear(&err);
	assert_int_equal(state_ipam_get(f->st, "a", "front", &got, &err), 0);
	assert_string_equal(got, "10.211.6.0/24"); /* a refused move changes nothing */
	free(got);
	free(x);
	free(y);
	free(z);
}

/* Auto skips blocks taken explicitly. */
static void test_auto_skips_explicit(void **ctx)
{
	struct state_fix *f = *ctx;
	char *x = alloc_ok(f->st, "a", "front", "10.211.0.0/24");
	char *y = alloc_ok(f->st, "a", "back", "10.211.2.0/24");
	char *z = alloc_ok(f->st, "b", "front", NULL);
	char *w = alloc_ok(f->st, "b", "back", NULL);
	assert_string_equal(z, "10.211.1.0/24");
	assert_string_equal(w, "10.211.3.0/24");
	free(x);
	free(y);
	free(z);
	free(w);
}

/* A /23 pool holds two blocks: the third is "no capacity" until an env releases. */
static void test_exhaustion_and_reuse(void **ctx)
{
	struct state_fix *f = *ctx;
	struct sbx_err err = SBX_ERR_INIT;
	state_set_ipam_pool(f->st, "10.9.0.0/23");
	char *x = alloc_ok(f->st, "a", "front", NULL);
	char *y = alloc_ok(f->st, "b", "front", NULL);
	assert_string_equal(x, "10.9.0.0/24");
	assert_string_equal(y, "10.9.1.0/24");
	alloc_fails(f->st, "c", "front", NULL, SBX_EXIT_REFUSED, "no capacity");
	assert_int_equal(state_ipam_release(f->st, "a", &err), 0);
	char *g = (char *)"unset";
	assert_int_equal(state_ipam_get(f->st, "a", "front", &g, &err), 0);
	assert_null(g);
	char *z = alloc_ok(f->st, "c", "front", NULL);
	assert_string_equal(z, "10.9.0.0/24");
	assert_int_equal(state_ipam_release(f->st, "nobody", &err), 0);
	free(x);
	free(y);
	free(z);
}

/* The warm pool's block (its members' addresses) is the state's: auto skips it, an explicit wish
 * for it is refused naming the pool, the free count leaves it out, and it is free again once the
 * last member's row is gone. */
static void test_warm_block(void **ctx)
{
	struct state_fix *f = *ctx;
	struct sbx_err err = SBX_ERR_INIT;
	struct warm_member m = {.id = "sbx-warm-x", .shape = "s", .status = WARM_BOOTING, .image_hash = "h",
		.address = "10.9.1.17", .volumes = "x.qcow2"};
	int64_t nfree = -1;
	const char *pool = NULL;
	state_set_ipam_pool(f->st, "10.9.0.0/23");
	assert_int_equal(state_warm_add(f->st, &m, &err), 0);
	assert_int_equal(state_ipam_free_blocks(f->st, &nfree, &pool, &err), 0);
	assert_int_equal(nfree, 1);
	char *x = alloc_ok(f->st, "a", "front", NULL);
	assert_string_equal(x, "10.9.0.0/24");
	alloc_fails(f->st, "b", "front", NULL, SBX_EXIT_REFUSED, "no capacity");
	alloc_fails(f->st, "b", "front", "10.9.1.0/24", SBX_EXIT_REFUSED, "warm pool");
	char *hi = NULL;
	assert_int_equal(state_ipam_pick_high(f->st, &hi, &err), -1);
	assert_null(hi);
	sbx_err_clear(&err);
	assert_int_equal(state_ipam_move(f->st, "a", "front", "10.9.1.0/24", &err), -1);
	assert_int_equal(err.code, SBX_EXIT_REFUSED);
	assert_non_null(strstr(sbx_err_first(&err), "warm pool"));
	sbx_err_clear(&err);
	assert_int_equal(state_warm_delete(f->st, m.id, &err), 0);
	assert_int_equal(state_ipam_free_blocks(f->st, &nfree, &pool, &err), 0);
	assert_int_equal(nfree, 1); /* a still holds 10.9.0.0/24 */
	char *y = alloc_ok(f->st, "b", "front", "10.9.1.0/24");
	assert_string_equal(y, "10.9.1.0/24");
	free(x);
	free(y);
}

/* A malformed pool is a usage error naming the pool. */
static void test_bad_pool(void **ctx)
{
	struct state_fix *f = *ctx;
	const char *bad[] = {"10.0.0.0", "10.0.0.0/25", "10.0.0.0/4", "nonsense/16", "10.0.0.0/x"};
	for (size_t i = 0; i < SBX_NELEM(bad); i++) {
		state_set_ipam_pool(f->st, bad[i]);
		alloc_fails(f->st, "a", "front", NULL, SBX_EXIT_USAGE, "IPAM pool");
	}
	state_set_ipam_pool(f->st, "10.50.7.9/24"); /* host bits are ignored */
	char *x = alloc_ok(f->st, "a", "front", NULL);
	assert_string_equal(x, "10.50.7.0/24");
	free(x);
}

#define PROCS 2
#define NETS 8

/* A child: allocate NETS networks for env `env` through its own handle; exit 0 on success. */
static void alloc_child(const char *db, const char *env, int start_fd)
{
	struct sbx_err err = SBX_ERR_INIT;
	struct state *st = NULL;
	char c;
	if (state_fix_open(db, &st, &err) < 0 || read(start_fd, &c, 1) != 1)
		_exit(2);
	for (int i = 0; i < NETS; i++) {
		char net[16], *cidr = NULL;
		snprintf(net, sizeof(net), "n%d", i);
		if (state_ipam_alloc(st, env, net, NULL, &cidr, &err) < 0)
			_exit(3);
		free(cidr);
	}
	state_close(st);
	_exit(0);
}

/* Two processes allocating at once never get the same block. */
static void test_processes_never_overlap(void **ctx)
{
	struct state_fix *f = *ctx;
	struct sbx_err err = SBX_ERR_INIT;
	const char *envs[PROCS] = {"a", "b"};
	pid_t pids[PROCS];
	int start[2];
	assert_int_equal(pipe(start), 0);
	for (int i = 0; i < PROCS; i++) {
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (pids[i] == 0)
			alloc_child(f->db, envs[i], start[0]);
	}
	assert_int_equal(write(start[1], "go", PROCS), PROCS);
	for (int i = 0; i < PROCS; i++) {
		int status = 0;
		assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
	}
	close(start[0]);
	close(start[1]);
	char *all[PROCS * NETS];
	for (int i = 0; i < PROCS * NETS; i++) {
		char net[16];
		snprintf(net, sizeof(net), "n%d", i % NETS);
		all[i] = NULL;
		assert_int_equal(state_ipam_get(f->st, envs[i / NETS], net, &all[i], &err), 0);
		assert_non_null(all[i]);
	}
	for (int i = 0; i < PROCS * NETS; i++)
		for (int j = i + 1; j < PROCS * NETS; j++)
			assert_string_not_equal(all[i], all[j]);
	for (int i = 0; i < PROCS * NETS; i++)
		free(all[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_idempotent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_overlap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_explicit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_auto_skips_explicit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_move, setup, teardown),
		cmocka_unit_test_setup_teardown(test_exhaustion_and_reuse, setup, teardown),
		cmocka_unit_test_setup_teardown(test_warm_block, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_pool, setup, teardown),
		cmocka_unit_test_setup_teardown(test_processes_never_overlap, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
