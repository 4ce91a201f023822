/* Unit tests of the per-environment lock: across threads, across processes, waiting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "state_fix.h"

/* A private state for the test. */
static int setup(void **ctx)
{
	struct state_fix *f = state_fix_new("lock", NULL);
	*ctx = f;
	return 0;
}

/* Close and remove everything. */
static int teardown(void **ctx)
{
	state_fix_free(*ctx);
	return 0;
}

/* A second lock of the same env fails at once with REFUSED and the --wait-lock hint. */
static void test_busy_refused_at_once(void **ctx)
{
	struct state_fix *f = *ctx;
	struct sbx_err err = SBX_ERR_INIT;
	struct state_lock *a = NULL, *b = NULL, *c = NULL;
	struct stat sb;
	assert_int_equal(state_env_lock(f->st, "demo", 0, &a, &err), 0);
	assert_non_null(a);
	char *locks = xasprintf("%s/locks", state_private_dir(f->st));
	assert_int_equal(stat(locks, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0700);
	free(locks);
	assert_int_equal(state_env_lock(f->st, "demo", 0, &b, &err), -1);
	assert_null(b);
	assert_int_equal(err.code, SBX_EXIT_REFUSED);
	assert_non_null(err.hint);
	assert_non_null(strstr(err.hint, "--wait-lock SECONDS"));
	assert_non_null(strstr(err.hint, "environment demo"));
	sbx_err_clear(&err);
	assert_int_equal(state_env_lock(f->st, "other", 0, &c, &err), 0);
	state_env_unlock(a);
	assert_int_equal(state_env_lock(f->st, "demo", 0, &b, &err), 0);
	state_env_unlock(b);
	state_env_unlock(c);
	state_env_unlock(NULL);
	assert_int_equal(state_env_lock(f->st, "../evil", 0, &b, &err), -1);
	assert_int_equal(err.code, SBX_EXIT_USAGE);
	sbx_err_clear(&err);
}

struct holder {
	struct state_lock *lk;
	int64_t hold_ms;
	int64_t released_at;
};

/* Hold a lock for a while, then release it. */
static void *hold_then_release(void *arg)
{
	struct holder *h = arg;
	sbx_sleep_ms(h->hold_ms); /* simulates a command at work; the test itself never sleeps */
	h->released_at = sbx_mono_ms();
	state_env_unlock(h->lk);
	return NULL;
}

/* wait_secs > 0 gets the lock once another thread releases it. */
static void test_wait_until_released(void **ctx)
{
	struct state_fix *f = *ctx;
	struct sbx_err err = SBX_ERR_INIT;
	struct holder h = {.hold_ms = 300};
	struct state_lock *lk = NULL;
	pthread_t th;
	assert_int_equal(state_env_lock(f->st, "demo", 0, &h.lk, &err), 0);
	assert_int_equal(pthread_create(&th, NULL, hold_then_release, &h), 0);
	int64_t t0 = sbx_mono_ms();
	assert_int_equal(state_env_lock(f->st, "demo", 10, &lk, &err), 0);
	int64_t got = sbx_mono_ms();
	pthread_join(th, NULL);
	assert_true(got >= h.released_at);
	assert_true(got - t0 < 5000);
	state_env_unlock(lk);
}

/* wait_secs < 0 blocks until the release. */
static void test_wait_forever(void **ctx)
{
	struct state_fix *f = *ctx;
	struct sbx_err err = SBX_ERR_INIT;
	struct holder h = {.hold_ms = 200};
	struct state_lock *lk = NULL;
	pthread_t th;
	assert_int_equal(state_env_lock(f->st, "demo", 0, &h.lk, &err), 0);
	assert_int_equal(pthread_create(&th, NULL, hold_then_release, &h), 0);
	assert_int_equal(state_env_lock(f->st, "demo", -1, &lk, &err), 0);
	int64_t got = sbx_mono_ms();
	pthread_join(th, NULL);
	assert_true(got >= h.released_at);
	state_env_unlock(lk);
}

/* A bounded wait on a lock that stays held gives up after about wait_secs. */
static void test_wait_times_out(void **ctx)
{
	struct state_fix *f = *ctx;
	struct sbx_err err = SBX_ERR_INIT;
	struct state_lock *a = NULL, *b = NULL;
	assert_int_equal(state_env_lock(f->st, "demo", 0, &a, &err), 0);
	int64_t t0 = sbx_mono_ms();
	assert_int_equal(state_env_lock(f->st, "demo", 1, &b, &err), -1);
	int64_t dt = sbx_mono_ms() - t0;
	assert_true(dt >= 900 && dt < 3000);
	assert_int_equal(err.code, SBX_EXIT_REFUSED);
	sbx_err_clear(&err);
	state_env_unlock(a);
}

struct poker {
	pthread_t target;
	atomic_int done;
};

/* Signal the target until it says it is done. */
static void *poke(void *arg)
{
	struct poker *p = arg;
	struct sbx_backoff b;
	sbx_backoff_init(&b, 10000, 5, 100);
	while (!p->done && sbx_backoff_wait(&b) == 0)
		pthread_kill(p->target, SIGUSR1);
	return NULL;
}

/* A handler that only interrupts. */
static void on_usr1(int sig)
{
	(void)sig;
}

/* Wait (wait_secs) on a held lock while another thread sends SIGUSR1 (handled, no SA_RESTART). */
static void interrupted_wait(struct state_fix *f, int wait_secs)
{
	struct sbx_err err = SBX_ERR_INIT;
	struct state_lock *a = NULL, *b = NULL;
	struct sigaction sa, old;
	struct poker p = {pthread_self(), 0};
	pthread_t th;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1; /* no SA_RESTART, like the CLI's SIGINT handler */
	sigemptyset(&sa.sa_mask);
	assert_int_equal(sigaction(SIGUSR1, &sa, &old), 0);
	assert_int_equal(state_env_lock(f->st, "demo", 0, &a, &err), 0);
	assert_int_equal(pthread_create(&th, NULL, poke, &p), 0);
	int64_t t0 = sbx_mono_ms();
	int rc = state_env_lock(f->st, "demo", wait_secs, &b, &err);
	int64_t dt = sbx_mono_ms() - t0;
	p.done = 1;
	pthread_join(th, NULL);
	sigaction(SIGUSR1, &old, NULL);
	assert_int_equal(rc, -1);
	assert_null(b);
	assert_int_equal(err.code, SBX_EXIT_FAILED);
	assert_non_null(strstr(sbx_err_first(&err), "interrupted"));
	assert_true(dt < 5000);
	sbx_err_clear(&err);
	state_env_unlock(a);
}

/* Waiting, forever or bounded, ends with an error when a signal (a Ctrl-C handler) interrupts it. */
static void test_wait_interruptible(void **ctx)
{
	interrupted_wait(*ctx, -1);
	interrupted_wait(*ctx, 30);
}

/* A lock held by a child process is released by the kernel when the child dies. */
static void test_dead_child_releases(void **ctx)
{
	struct state_fix *f = *ctx;
	struct sbx_err err = SBX_ERR_INIT;
	struct state_lock *lk = NULL;
	int ready[2];
	char c = 0;
	assert_int_equal(pipe(ready), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct state *st = NULL;
		struct state_lock *mine = NULL;
		close(ready[0]);
		if (state_open(f->db, &st, &err) < 0 || state_env_lock(st, "demo", 0, &mine, &err) < 0)
			_exit(2);
		if (write(ready[1], "x", 1) != 1)
			_exit(3);
		for (;;)
			pause(); /* killed by the parent */
	}
	close(ready[1]);
	assert_int_equal(read(ready[0], &c, 1), 1);
	close(ready[0]);
	assert_int_equal(state_env_lock(f->st, "demo", 0, &lk, &err), -1);
	assert_int_equal(err.code, SBX_EXIT_REFUSED);
	sbx_err_clear(&err);
	assert_int_equal(kill(pid, SIGKILL), 0);
	int status = 0;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(state_env_lock(f->st, "demo", 0, &lk, &err), 0);
	state_env_unlock(lk);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_busy_refused_at_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wait_until_released, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wait_forever, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wait_times_out, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wait_interruptible, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dead_child_releases, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
