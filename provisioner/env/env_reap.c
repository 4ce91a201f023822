/* env_reap — claim every expired environment (one atomic update each) and destroy it. */
#include "env_int.h"

#include <pthread.h>
#include <stdlib.h>

#define REAP_STALE_CLAIM_S 3600

/* Destroy one claimed environment; errors go into err, prefixed with its name. */
static int reap_one(const struct env_config *cfg, struct state *st, const char *name, struct ev_sink *ev,
	struct env_down_notice *notice, struct sbx_err *err)
{
	struct env_down_opts o = {name, NULL, 0, 0, true, ev, notice};
	struct env_receipt r = {0};
	struct sbx_err e = SBX_ERR_INIT;
	int rc = env_down(cfg, st, &o, &r, &e);
	if (rc == 0)
		ev_emit(ev, name, "reap.done", NULL, NULL, NULL, "reaped %s: %zu resource(s) removed, nothing left in libvirt",
			name, r.nremoved);
	else
		for (size_t i = 0; i < e.n; i++)
			sbx_err_set(err, e.code, "reap %s: %s", name, e.msgs[i].text);
	sbx_err_clear(&e);
	env_receipt_clear(&r);
	return rc;
}

/* One pass's teardowns, shared by its workers. */
struct reap_pass {
	const struct env_config *cfg;
	struct state *st;
	struct ev_sink *ev;
	const struct env_reap_watch *w;
	char **names;
	size_t n, next, failed;
	pthread_mutex_t mu; /* guards next, failed and err */
	struct sbx_err *err;
};

/* Take the next claimed environment (NULL: none left). */
static const char *pass_take(struct reap_pass *p)
{
	pthread_mutex_lock(&p->mu);
	const char *name = p->next < p->n ? p->names[p->next++] : NULL;
	pthread_mutex_unlock(&p->mu);
	return name;
}

/* A worker: tear down claimed environments until none is left. */
static void *pass_worker(void *arg)
{
	struct reap_pass *p = arg;
	const char *name;
	while ((name = pass_take(p)) != NULL) {
		struct sbx_err e = SBX_ERR_INIT;
		void *tok = p->w && p->w->start ? p->w->start(p->w->ctx, name) : NULL;
		int64_t t0 = sbx_mono_ms();
		struct env_down_notice *nt = p->w && p->w->notice ? p->w->notice(p->w->ctx, tok) : NULL;
		int rc = reap_one(p->cfg, p->st, name, p->ev, nt, &e);
		if (p->w && p->w->done)
			p->w->done(p->w->ctx, tok, name, sbx_mono_ms() - t0, rc == 0);
		pthread_mutex_lock(&p->mu);
		p->failed += rc < 0;
		for (size_t i = 0; i < e.n; i++)
			sbx_err_set(p->err, e.code, "%s", e.msgs[i].text);
		pthread_mutex_unlock(&p->mu);
		sbx_err_clear(&e);
	}
	return NULL;
}

/* Run the pass on up to cfg->reap_parallel threads (the caller's is one of them). */
static void pass_run(struct reap_pass *p)
{
	size_t nw = p->cfg->reap_parallel > 1 ? (size_t)p->cfg->reap_parallel : 1;
	if (nw > p->n)
		nw = p->n;
	pthread_t *tids = xcalloc(nw ? nw : 1, sizeof(*tids));
	size_t started = 0;
	for (size_t i = 1; i < nw; i++)
		if (pthread_create(&tids[started], NULL, pass_worker, p) == 0)
			started++;
	pass_worker(p);
	for (size_t i = 0; i < started; i++)
		pthread_join(tids[i], NULL);
	free(tids);
}

/* Reap expired environments, telling the watcher about each teardown. */
int env_reap_watched(const struct env_config *cfg, struct state *st, const char *reaper, struct ev_sink *ev,
	const struct env_reap_watch *w, size_t *nexpired, size_t *nfailed, struct sbx_err *err)
{
	struct reap_pass p = {.cfg = cfg, .st = st, .ev = ev, .w = w, .err = err};
	*nexpired = *nfailed = 0;
	if (state_env_claim_expired(st, sbx_now(), reaper, REAP_STALE_CLAIM_S, &p.names, &p.n, err) < 0)
		return -1;
	pthread_mutex_init(&p.mu, NULL);
	pass_run(&p);
	pthread_mutex_destroy(&p.mu);
	if (p.n > 0 || !w || !w->quiet_idle)
		ev_emit(ev, NULL, "reap.summary", NULL, NULL, NULL, "reap: %zu expired, %zu reaped, %zu failed", p.n,
			p.n - p.failed, p.failed);
	state_strv_free(p.names, p.n);
	*nexpired = p.n;
	*nfailed = p.failed;
	return p.failed ? -1 : 0;
}

/* Reap expired environments. */
int env_reap(const struct env_config *cfg, struct state *st, const char *reaper, struct ev_sink *ev,
	size_t *nexpired, size_t *nfailed, struct sbx_err *err)
{
	return env_reap_watched(cfg, st, reaper, ev, NULL, nexpired, nfailed, err);
}
