/* mock_sched — one background thread running delayed jobs in due order. */
#include "mock.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

struct job {
	struct job *next;
	int64_t due; /* monotonic ms */
	mock_job_fn fn, drop;
	void *arg;
};

struct mock_sched {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	pthread_t thread;
	struct job *jobs; /* sorted by due, FIFO among equals */
	struct job *last; /* the last job (appending is the common case) */
	bool stop;
};

/* Sleep on the condition until the monotonic deadline (lock held). */
static void wait_until(struct mock_sched *s, int64_t due)
{
	struct timespec ts = {due / 1000, (due % 1000) * 1000000};

	pthread_cond_timedwait(&s->cond, &s->lock, &ts);
}

/* The thread: pop due jobs and run them unlocked. */
static void *sched_main(void *arg)
{
	struct mock_sched *s = arg;

	pthread_mutex_lock(&s->lock);
	while (!s->stop) {
		struct job *j = s->jobs;
		if (!j) {
			pthread_cond_wait(&s->cond, &s->lock);
			continue;
		}
		if (j->due > mock_mono_ms()) {
			wait_until(s, j->due);
			continue;
		}
		s->jobs = j->next;
		if (!s->jobs)
			s->last = NULL;
		pthread_mutex_unlock(&s->lock);
		j->fn(j->arg);
		free(j);
		pthread_mutex_lock(&s->lock);
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

/* Start a scheduler. */
struct mock_sched *mock_sched_new(void)
{
	struct mock_sched *s = mock_xcalloc(1, sizeof(*s));
	pthread_condattr_t ca;

	pthread_mutex_init(&s->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->cond, &ca);
	pthread_condattr_destroy(&ca);
	if (pthread_create(&s->thread, NULL, sched_main, s) != 0) {
		mock_log("error", "cannot start the scheduler thread");
		abort();
	}
	return s;
}

/* Queue a job. */
void mock_sched_after(struct mock_sched *s, int64_t delay_ms, mock_job_fn fn, mock_job_fn drop,
		      void *arg)
{
	struct job *j = mock_xcalloc(1, sizeof(*j)), **pp;

	j->due = mock_mono_ms() + (delay_ms > 0 ? delay_ms : 0);
	j->fn = fn;
	j->drop = drop;
	j->arg = arg;
	pthread_mutex_lock(&s->lock);
	pp = s->last && s->last->due <= j->due ? &s->last->next : &s->jobs;
	while (*pp && (*pp)->due <= j->due)
		pp = &(*pp)->next;
	j->next = *pp;
	*pp = j;
	if (!j->next)
		s->last = j;
	if (s->jobs == j) /* a new earliest job: the thread sleeps until the old head otherwise */
		pthread_cond_signal(&s->cond);
	pthread_mutex_unlock(&s->lock);
}

/* Stop, drop pending jobs, free. */
void mock_sched_free(struct mock_sched *s)
{
	if (!s)
		return;
	pthread_mutex_lock(&s->lock);
	s->stop = true;
	pthread_cond_signal(&s->cond);
	pthread_mutex_unlock(&s->lock);
	pthread_join(s->thread, NULL);
	while (s->jobs) {
		struct job *j = s->jobs;
		s->jobs = j->next;
		if (j->drop)
			j->drop(j->arg);
		free(j);
	}
	pthread_cond_destroy(&s->cond);
	pthread_mutex_destroy(&s->lock);
	free(s);
}
