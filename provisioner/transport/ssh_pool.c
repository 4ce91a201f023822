/* ssh_pool — open connections handed from one phase of `up` to the next. */
#include "ssh.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* A kept connection is proven alive by `true` within this before it is handed out. */
#define POOL_PROBE_MS 20000

struct ssh_pool {
	pthread_mutex_t mu;
	struct ssh_conn **conns;
	size_t n, cap;
};

/* A new, empty pool. */
struct ssh_pool *ssh_pool_new(void)
{
	struct ssh_pool *p = xcalloc(1, sizeof(*p));
	pthread_mutex_init(&p->mu, NULL);
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
	struct ssh_conn *c = pool_remove(p, label);
	pthread_mutex_unlock(&p->mu);
	free(label);
	return c;
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
	pthread_mutex_destroy(&p->mu);
	free(p);
}
