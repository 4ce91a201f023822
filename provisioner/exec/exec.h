/*
 * exec — walk a plan's DAG in parallel. Every step that is not a no-op runs once all the steps it
 * depends on have succeeded; a failed step's dependents are skipped (and reported); independent
 * steps go on. The step function does the work (the caller journals inside it).
 * An interrupt (exec_interrupt(), called from a SIGINT/SIGTERM handler) stops new steps from
 * starting; running steps finish and are journaled, so a later run resumes cleanly.
 */
#ifndef SBX_EXEC_H
#define SBX_EXEC_H

#include <stdbool.h>
#include <stddef.h>

#include "plan.h"
#include "util.h"

/* Do one step. Return 0, or -1 with the reason in err. Called from worker threads. */
typedef int (*exec_step_fn)(void *ctx, const struct plan_step *step, struct sbx_err *err);

/* Run every non-noop step of p with at most `parallel` workers. Returns 0 when all succeeded;
 * else -1 with one message per failed or skipped step in err. */
int exec_run(const struct plan *p, int parallel, exec_step_fn fn, void *ctx, struct sbx_err *err) SBX_WUR;

/* Run fn(ctx, i, err) for i in [0, n) on at most `parallel` threads; -1 if any failed. */
typedef int (*exec_each_fn)(void *ctx, size_t i, struct sbx_err *err);
int exec_each(size_t n, int parallel, exec_each_fn fn, void *ctx, struct sbx_err *err) SBX_WUR;

/* Async-signal-safe: ask running executions to stop starting new work. */
void exec_interrupt(void);
bool exec_interrupted(void);
/* Install SIGINT/SIGTERM handlers that call exec_interrupt() (a second signal kills). */
void exec_install_signals(void);

/* For crash tests: a spec TYPE:PHASE[:N] (SANDBOX_TEST_CRASH, set through exec_crash_set) kills
 * the process (SIGKILL) at the N-th (default first) step of TYPE ("network", "volume", "seed",
 * "domain"), "before" or "after" its work, so tests can interrupt `up`/`down` at a chosen point
 * of the journal. */
void exec_crash_set(const char *spec);
void exec_crash_point(const char *type, const char *phase);

#endif
