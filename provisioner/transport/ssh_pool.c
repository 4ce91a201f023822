/* ssh_pool — open connections handed from one phase of `up` to the next. */
#include "ssh.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

/* A kept connection is proven alive by `true` within this before it is handed out. */
#define POOL_PROBE_MS 20000

/* A set of labels. */
struct labels {
	char **v;
	size_t n;
};

/* The index of label in s, or -1. */
static ssize_t labels_find(const struct labels *s, const char *label)
{
	for (size_t i = 0; i < s->n; i++)
		if (sbx_streq(s->v[i], label))
			return (ssize_t)i;
	return -1;
}

/* Add label to s (owned: taken). */
static void labels_add(struct labels *s, char *label)
{
	s->v = xrealloc(s->v, (s->n + 1) * sizeof(*s->v));
	s->v[s->n++] = label;
}

/* Remove label from s, if there. */
static void labels_del(struct labels *s, const char *label)
{
	ssize_t i = labels_find(s, label);
	if (i < 0)
		return;
	free(s->v[i]);
	s->v[i] = s->v[--s->n];
}

/* Free s's labels. */
static void labels_clear(struct labels *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
}

struct ssh_pool {
	pthread_mutex_t mu;
	pthread_cond_t cv;       /* a put or a give-up */
	struct ssh_conn **conns;
	size_t n, cap;
	struct labels expected;  /* connections on their way */
	struct labels failed;    /* connections given up */
};

/* A new, empty pool. */
struct ssh_pool *ssh_pool_new(void)
{
	struct ssh_pool *p = xcalloc(1, sizeof(*p));
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	return p;
}

/* Remove and return the connection labelled `label`; call with the lock held. */
static struct ssh_conn *pool_remove(struct ssh_pool *p, const char *label)
{
	for (size_t i = 0; i < p->n; i++) {
		if (!sbx_streq(ssh_label(p->conns[i]), label))
			continue;
		struct ssh_conn *c = p->conns[i];
		p->conns[i] = p->conns[--p->n];
		return c;
	}
	return NULL;
}

/* Keep c for a later take. */
void ssh_pool_put(struct ssh_pool *p, struct ssh_conn *c)
{
	if (p == NULL || c == NULL) {
		ssh_close(c);
		return;
	}
	pthread_mutex_lock(&p->mu);
	struct ssh_conn *old = pool_remove(p, ssh_label(c));
	if (p->n == p->cap) {
		p->cap = p->cap ? 2 * p->cap : 8;
		p->conns = xrealloc(p->conns, p->cap * sizeof(*p->conns));
	}
	p->conns[p->n++] = c;
	labels_del(&p->expected, ssh_label(c));
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
	ssh_close(old);
}

/* Take the kept connection for t, unproven. */
struct ssh_conn *ssh_pool_take_unproven(struct ssh_pool *p, const struct ssh_target *t)
{
	if (p == NULL)
		return NULL;
	char *label = ssh_target_label(t);
	pthread_mutex_lock(&p->mu);
	while (labels_find(&p->expected, label) >= 0)
		pthread_cond_wait(&p->cv, &p->mu);
	struct ssh_conn *c = pool_remove(p, label);
	pthread_mutex_unlock(&p->mu);
	free(label);
	return c;
}

/* Takes of t wait for its connection. */
void ssh_pool_expect(struct ssh_pool *p, const struct ssh_target *t)
{
	char *label = ssh_target_label(t);
	pthread_mutex_lock(&p->mu);
	if (labels_find(&p->expected, label) < 0)
		labels_add(&p->expected, label);
	else
		free(label);
	pthread_mutex_unlock(&p->mu);
}

/* The connection for t will not come. */
void ssh_pool_give_up(struct ssh_pool *p, const struct ssh_target *t)
{
	char *label = ssh_target_label(t);
	pthread_mutex_lock(&p->mu);
	labels_del(&p->expected, label);
	if (labels_find(&p->failed, label) < 0)
		labels_add(&p->failed, label);
	else
		free(label);
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
}

/* Whether the connection for t was given up. */
bool ssh_pool_gave_up(struct ssh_pool *p, const struct ssh_target *t)
{
	if (p == NULL)
		return false;
	char *label = ssh_target_label(t);
	pthread_mutex_lock(&p->mu);
	bool yes = labels_find(&p->failed, label) >= 0;
	pthread_mutex_unlock(&p->mu);
	free(label);
	return yes;
}

/* Take the kept connection for t if it still runs a command. */
struct ssh_conn *ssh_pool_take(struct ssh_pool *p, const struct ssh_target *t)
{
	struct ssh_conn *c = ssh_pool_take_unproven(p, t);
	if (c == NULL)
		return NULL;
	struct sbx_err err = SBX_ERR_INIT;
	if (ssh_probe(c, POOL_PROBE_MS, &err) < 0) {
		ssh_close(c);
		c = NULL;
	}
	sbx_err_clear(&err);
	return c;
}

/* Close what was not taken. */
void ssh_pool_free(struct ssh_pool *p)
{
	if (p == NULL)
		return;
	for (size_t i = 0; i < p->n; i++)
		ssh_close(p->conns[i]);
	free(p->conns);
	labels_clear(&p->expected);
	labels_clear(&p->failed);
	pthread_cond_destroy(&p->cv);
	pthread_mutex_destroy(&p->mu);
	free(p);
}
