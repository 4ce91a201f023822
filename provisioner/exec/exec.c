/* exec — the parallel DAG walker. */
#include "exec.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum st { ST_WAIT, ST_RUN, ST_DONE, ST_FAIL, ST_SKIP };

struct run {
	const struct plan *p;
	exec_step_fn fn;
	void *ctx;
	enum st *st;
	size_t left; /* steps not yet finished (done, failed or skipped) */
	size_t running;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct sbx_err *err;
};

/* Request a stop (and cancel the waits for machines: sbx_cancel). */
void exec_interrupt(void)
{
	sbx_cancel();
}

/* Whether a stop was requested. */
bool exec_interrupted(void)
{
	return sbx_cancelled();
}

/* First signal: stop starting work; second: the default action. */
static void on_signal(int sig)
{
	if (sbx_cancelled())
		signal(sig, SIG_DFL), raise(sig);
	sbx_cancel();
}

/* Install the interrupt handlers. */
void exec_install_signals(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

/* Merge one step's error into the run's error. */
static void merge_err(struct sbx_err *into, const struct sbx_err *from, const struct plan_step *s)
{
	for (size_t i = 0; i < from->n; i++)
		sbx_err_set(into, from->code, "%s %s: %s", plan_step_type(s), s->res.name, from->msgs[i].text);
	if (from->n == 0)
		sbx_err_set(into, SBX_EXIT_FAILED, "%s %s failed", plan_step_type(s), s->res.name);
}

/* Pick a step whose deps are done; mark steps behind failures skipped. Returns n if none. */
static size_t pick(struct run *r)
{
	const struct plan *p = r->p;
	for (size_t i = 0; i < p->n; i++) {
		if (r->st[i] != ST_WAIT)
			continue;
		bool ready = true, blocked = false;
		for (size_t k = 0; k < p->steps[i].ndeps; k++) {
			enum st d = r->st[p->steps[i].deps[k]];
			ready &= d == ST_DONE;
			blocked |= d == ST_FAIL || d == ST_SKIP;
		}
		if (blocked || (sbx_cancelled() && ready)) {
			r->st[i] = ST_SKIP;
			r->left--;
			sbx_err_set(r->err, SBX_EXIT_FAILED, "%s %s: not attempted (%s)",
				plan_step_type(&p->steps[i]), p->steps[i].res.name, sbx_cancelled() ? "interrupted" : "a step it depends on failed");
			return pick(r);
		}
		if (ready)
			return i;
	}
	return p->n;
}

/* Worker: run ready steps until everything is finished. */
static void *worker(void *arg)
{
	struct run *r = arg;
	pthread_mutex_lock(&r->mu);
	for (;;) {
		size_t i = pick(r);
		if (i == r->p->n) {
			if (r->left == 0 || (r->running == 0))
				break;
			pthread_cond_wait(&r->cv, &r->mu);
			continue;
		}
		r->st[i] = ST_RUN;
		r->running++;
		pthread_mutex_unlock(&r->mu);
		struct sbx_err e = SBX_ERR_INIT;
		int rc = r->fn(r->ctx, &r->p->steps[i], &e);
		pthread_mutex_lock(&r->mu);
		r->st[i] = rc == 0 ? ST_DONE : ST_FAIL;
		if (rc < 0)
			merge_err(r->err, &e, &r->p->steps[i]);
		sbx_err_clear(&e);
		r->running--;
		r->left--;
		pthread_cond_broadcast(&r->cv);
	}
	pthread_cond_broadcast(&r->cv);
	pthread_mutex_unlock(&r->mu);
	return NULL;
}

/* Start workers and wait for them. */
static void run_workers(void *arg, int parallel, void *(*fn)(void *))
{
	size_t nt = parallel > 0 ? (size_t)parallel : 1;
	pthread_t *t = xcalloc(nt, sizeof(*t));
	size_t started = 0;
	for (; started < nt; started++)
		if (pthread_create(&t[started], NULL, fn, arg) != 0)
			break;
	if (started == 0)
		fn(arg);
	for (size_t i = 0; i < started; i++)
		pthread_join(t[i], NULL);
	free(t);
}

/* Walk the plan. */
int exec_run(const struct plan *p, int parallel, exec_step_fn fn, void *ctx, struct sbx_err *err)
{
	struct run r = {p, fn, ctx, xcalloc(p->n + 1, sizeof(enum st)), 0, 0,
		PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, err};
	size_t work = 0;
	for (size_t i = 0; i < p->n; i++) {
		r.st[i] = p->steps[i].action == PLAN_NOOP ? ST_DONE : ST_WAIT;
		work += r.st[i] == ST_WAIT;
	}
	r.left = work;
	if (work > 0)
		run_workers(&r, (size_t)parallel < work ? parallel : (int)work, worker);
	bool ok = true;
	for (size_t i = 0; i < p->n; i++) {
		ok &= r.st[i] == ST_DONE;
		if (r.st[i] == ST_WAIT)
			sbx_err_set(err, SBX_EXIT_FAILED, "%s %s: not attempted (its dependencies never finished)",
				plan_step_type(&p->steps[i]), p->steps[i].res.name);
	}
	free(r.st);
	pthread_mutex_destroy(&r.mu);
	pthread_cond_destroy(&r.cv);
	return ok ? 0 : -1;
}

struct each {
	size_t n, next;
	exec_each_fn fn;
	void *ctx;
	pthread_mutex_t mu;
	struct sbx_err *err;
	bool failed;
};

/* Worker of exec_each. */
static void *each_worker(void *arg)
{
	struct each *e = arg;
	for (;;) {
		pthread_mutex_lock(&e->mu);
		size_t i = e->next++;
		pthread_mutex_unlock(&e->mu);
		if (i >= e->n)
			return NULL;
		struct sbx_err le = SBX_ERR_INIT;
		int rc = e->fn(e->ctx, i, &le);
		pthread_mutex_lock(&e->mu);
		for (size_t k = 0; k < le.n; k++)
			sbx_err_set(e->err, le.code, "%s", le.msgs[k].text);
		if (le.hint && e->err && e->err->hint == NULL)
			sbx_err_hint(e->err, "%s", le.hint);
		e->failed |= rc < 0;
		pthread_mutex_unlock(&e->mu);
		sbx_err_clear(&le);
	}
}

/* Parallel for. */
int exec_each(size_t n, int parallel, exec_each_fn fn, void *ctx, struct sbx_err *err)
{
	struct each e = {n, 0, fn, ctx, PTHREAD_MUTEX_INITIALIZER, err, false};
	if (n == 0)
		return 0;
	run_workers(&e, (size_t)parallel < n ? parallel : (int)n, each_worker);
	pthread_mutex_destroy(&e.mu);
	return e.failed ? -1 : 0;
}

static char crash_spec[64];

/* Set the crash point (NULL: none). */
void exec_crash_set(const char *spec)
{
	snprintf(crash_spec, sizeof(crash_spec), "%s", spec ? spec : "");
}

/* Die at the configured crash point (tests only). */
void exec_crash_point(const char *type, const char *phase)
{
	static atomic_int seen;
	const char *spec = crash_spec[0] ? crash_spec : NULL;
	char t[32], ph[16];
	int nth = 1;
	if (spec == NULL || sscanf(spec, "%31[^:]:%15[^:]:%d", t, ph, &nth) < 2)
		return;
	if (strcmp(t, type) == 0 && strcmp(ph, phase) == 0 && atomic_fetch_add(&seen, 1) + 1 == nth)
		raise(SIGKILL);
}
