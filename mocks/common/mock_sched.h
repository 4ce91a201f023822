/* mock_sched — one background thread running delayed jobs in due order. */
#ifndef SBX_MOCK_SCHED_H
#define SBX_MOCK_SCHED_H

#include <stdint.h>

/* A scheduler; jobs with the same due time run in submission order. Thread-safe. */
struct mock_sched;
typedef void (*mock_job_fn)(void *arg);
/* Start the thread. Free with mock_sched_free. */
struct mock_sched *mock_sched_new(void);
/* Run fn(arg) after delay_ms; at shutdown, unrun jobs get drop(arg) (when drop is not NULL). */
void mock_sched_after(struct mock_sched *s, int64_t delay_ms, mock_job_fn fn, mock_job_fn drop,
		      void *arg);
/* Stop the thread (after the running job), drop the pending jobs, free. NULL is a no-op. */
void mock_sched_free(struct mock_sched *s);

#endif
