/* mock_sched — one background thread running delayed jobs in due order (a binary heap). */
#include "mock_sched.h"

#include "clock.h"
#include "mock_log.h"
#include "mock_util.h"

#include <pthread.h>
#include <stdlib.h>
#include <time.h>

struct job {
	int64_t due;  /* monotonic ms */
	uint64_t seq; /* submission order, breaks ties */
	mock_job_fn fn, drop;
	void *arg;
};

struct mock_sched {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	pthread_t thread;
	struct job *heap; /* min-heap on (due, seq) */
	size_t n, cap;
	uint64_t seq;
	bool stop;
};

/* Whether job a runs before job b. */
static bool before(const struct job *a, const struct job *b)
{
	return a->due < b->due || (a->due == b->due && a->seq < b->seq);
}

/* Swap two heap slots. */
static void swap(struct job *h, size_t i, size_t j)
{
	struct job t = h[i];

	h[i] = h[j];
	h[j] = t;
}

/* Restore the heap upwards from slot i. */
static void sift_up(struct job *h, size_t i)
{
	while (i > 0 && before(&h[i], &h[(i - 1) / 2])) {
		swap(h, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
}

/* Restore the heap downwards from slot 0. */
static void sift_down(struct job *h, size_t n)
{
	size_t i = 0;

	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < n && before(&h[l], &h[m]))
			m = l;
		if (r < n && before(&h[r], &h[m]))
			m = r;
		if (m == i)
			return;
		swap(h, i, m);
		i = m;
	}
}

/* Remove the earliest job (n > 0; lock held). */
static struct job heap_pop(struct mock_sched *s)
{
	struct job top = s->heap[0];

	s->heap[0] = s->heap[--s->n];
	sift_down(s->heap, s->n);
	return top;
}

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
		struct job j;
		if (s->n == 0) {
			pthread_cond_wait(&s->cond, &s->lock);
			continue;
		}
		if (s->heap[0].due > sbx_mono_ms()) {
			wait_until(s, s->heap[0].due);
			continue;
		}
		j = heap_pop(s);
		pthread_mutex_unlock(&s->lock);
		j.fn(j.arg);
		pthread_mutex_lock(&s->lock);
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

/* Start a scheduler. */
struct mock_sched *mock_sched_new(void)
{
	struct mock_sched *s = mock_xcalloc(1, sizeof(*s));

	pthread_mutex_init(&s->lock, NULL);
	sbx_cond_init_mono(&s->cond);
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
	int64_t due = sbx_mono_ms() + (delay_ms > 0 ? delay_ms : 0);

	pthread_mutex_lock(&s->lock);
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 64;
		s->heap = mock_xrealloc(s->heap, s->cap * sizeof(*s->heap));
	}
	s->heap[s->n] = (struct job){due, s->seq++, fn, drop, arg};
	sift_up(s->heap, s->n++);
	if (s->heap[0].seq == s->seq - 1) /* a new earliest job: wake the thread to re-arm */
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
	while (s->n > 0) {
		struct job j = heap_pop(s);
		if (j.drop)
			j.drop(j.arg);
	}
	free(s->heap);
	pthread_cond_destroy(&s->cond);
	pthread_mutex_destroy(&s->lock);
	free(s);
}
