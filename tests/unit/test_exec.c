/* Unit tests of the parallel DAG executor. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "exec.h"

struct rec {
	pthread_mutex_t mu;
	char order[64][16];
	size_t n;
	const char *fail; /* name of the step to fail */
	atomic_int running, peak;
};

/* Record the order steps run in; fail the configured one. */
static int rec_step(void *ctx, const struct plan_step *s, struct sbx_err *err)
{
	struct rec *r = ctx;
	int now = atomic_fetch_add(&r->running, 1) + 1;
	int peak = atomic_load(&r->peak);
	while (now > peak && !atomic_compare_exchange_weak(&r->peak, &peak, now))
		;
	sbx_sleep_ms(20);
	atomic_fetch_sub(&r->running, 1);
	pthread_mutex_lock(&r->mu);
	snprintf(r->order[r->n++], 16, "%s", s->res.name);
	pthread_mutex_unlock(&r->mu);
	if (r->fail && strcmp(s->res.name, r->fail) == 0)
		return sbx_err_set(err, SBX_EXIT_FAILED, "boom");
	return 0;
}

/* Position of a name in the recorded order, -1 if it never ran. */
static int pos(struct rec *r, const char *name)
{
	for (size_t i = 0; i < r->n; i++)
		if (strcmp(r->order[i], name) == 0)
			return (int)i;
	return -1;
}

/* A diamond: net → (vol-a, vol-b) → dom; plus an independent step. */
static void diamond(struct plan *p)
{
	static const char *names[] = {"net", "vol-a", "vol-b", "dom", "other"};
	memset(p, 0, sizeof(*p));
	p->steps = calloc(5, sizeof(*p->steps));
	p->n = p->cap = 5;
	for (size_t i = 0; i < 5; i++) {
		p->steps[i].action = PLAN_CREATE;
		p->steps[i].res.type = RES_NETWORK;
		p->steps[i].res.name = strdup(names[i]);
	}
	size_t dv[] = {0}, dd[] = {1, 2};
	p->steps[1].deps = malloc(sizeof(size_t));
	memcpy(p->steps[1].deps, dv, sizeof(dv));
	p->steps[1].ndeps = 1;
	p->steps[2].deps = malloc(sizeof(size_t));
	memcpy(p->steps[2].deps, dv, sizeof(dv));
	p->steps[2].ndeps = 1;
	p->steps[3].deps = malloc(2 * sizeof(size_t));
	memcpy(p->steps[3].deps, dd, sizeof(dd));
	p->steps[3].ndeps = 2;
}

/* Dependencies run first; independent steps run in parallel. */
static void test_order_and_parallelism(void **state)
{
	(void)state;
	struct plan p;
	struct rec r = {.mu = PTHREAD_MUTEX_INITIALIZER};
	struct sbx_err err = SBX_ERR_INIT;
	diamond(&p);
	assert_int_equal(exec_run(&p, 4, rec_step, &r, &err), 0);
	assert_int_equal(r.n, 5);
	assert_true(pos(&r, "net") < pos(&r, "vol-a"));
	assert_true(pos(&r, "net") < pos(&r, "vol-b"));
	assert_true(pos(&r, "vol-a") < pos(&r, "dom"));
	assert_true(pos(&r, "vol-b") < pos(&r, "dom"));
	assert_true(atomic_load(&r.peak) >= 2);
	assert_false(sbx_err_isset(&err));
	plan_clear(&p);
}

/* A failed step skips its dependents but not independent steps. */
static void test_failure_skips_dependents(void **state)
{
	(void)state;
	struct plan p;
	struct rec r = {.mu = PTHREAD_MUTEX_INITIALIZER, .fail = "vol-a"};
	struct sbx_err err = SBX_ERR_INIT;
	diamond(&p);
	assert_int_equal(exec_run(&p, 2, rec_step, &r, &err), -1);
	assert_int_equal(pos(&r, "dom"), -1);
	assert_true(pos(&r, "other") >= 0);
	assert_true(pos(&r, "vol-b") >= 0);
	bool boom = false, skipped = false;
	for (size_t i = 0; i < err.n; i++) {
		boom |= strstr(err.msgs[i].text, "vol-a: boom") != NULL;
		skipped |= strstr(err.msgs[i].text, "dom: not attempted") != NULL;
	}
	assert_true(boom);
	assert_true(skipped);
	sbx_err_clear(&err);
	plan_clear(&p);
}

/* No-op steps do not run, and count as done for their dependents. */
static void test_noops_do_not_run(void **state)
{
	(void)state;
	struct plan p;
	struct rec r = {.mu = PTHREAD_MUTEX_INITIALIZER};
	struct sbx_err err = SBX_ERR_INIT;
	diamond(&p);
	p.steps[0].action = PLAN_NOOP;
	p.steps[4].action = PLAN_NOOP;
	assert_int_equal(exec_run(&p, 1, rec_step, &r, &err), 0);
	assert_int_equal(r.n, 3);
	assert_int_equal(pos(&r, "net"), -1);
	plan_clear(&p);
}

/* Count calls of exec_each. */
static int count_each(void *ctx, size_t i, struct sbx_err *err)
{
	atomic_int *hits = ctx;
	atomic_fetch_add(&hits[i], 1);
	return i == 7 ? sbx_err_set(err, SBX_EXIT_FAILED, "item %zu failed", i) : 0;
}

/* exec_each visits each index once and reports failures. */
static void test_each(void **state)
{
	(void)state;
	atomic_int hits[20] = {0};
	struct sbx_err err = SBX_ERR_INIT;
	assert_int_equal(exec_each(20, 5, count_each, hits, &err), -1);
	for (int i = 0; i < 20; i++)
		assert_int_equal(atomic_load(&hits[i]), 1);
	assert_string_equal(sbx_err_first(&err), "item 7 failed");
	sbx_err_clear(&err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_order_and_parallelism),
		cmocka_unit_test(test_failure_skips_dependents),
		cmocka_unit_test(test_noops_do_not_run),
		cmocka_unit_test(test_each),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
