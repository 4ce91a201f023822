/* env_reap — claim every expired environment (one atomic update each) and destroy it. */
#include "env_int.h"

#define REAP_STALE_CLAIM_S 3600

/* Destroy one claimed environment; errors go into err, prefixed with its name. */
static int reap_one(const struct env_config *cfg, struct state *st, const char *name, struct ev_sink *ev,
	struct sbx_err *err)
{
	struct env_down_opts o = {name, NULL, 0, 0, true, ev};
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

/* Reap expired environments, telling the watcher about each teardown. */
int env_reap_watched(const struct env_config *cfg, struct state *st, const char *reaper, struct ev_sink *ev,
	const struct env_reap_watch *w, size_t *nexpired, size_t *nfailed, struct sbx_err *err)
{
	char **names = NULL;
	size_t n = 0, failed = 0;
	*nexpired = *nfailed = 0;
	if (state_env_claim_expired(st, sbx_now(), reaper, REAP_STALE_CLAIM_S, &names, &n, err) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (w && w->start)
			w->start(w->ctx, names[i]);
		int64_t t0 = sbx_mono_ms();
		int rc = reap_one(cfg, st, names[i], ev, err);
		failed += rc < 0;
		if (w && w->done)
			w->done(w->ctx, names[i], sbx_mono_ms() - t0, rc == 0);
	}
	if (n > 0 || !w || !w->quiet_idle)
		ev_emit(ev, NULL, "reap.summary", NULL, NULL, NULL, "reap: %zu expired, %zu reaped, %zu failed", n,
			n - failed, failed);
	state_strv_free(names, n);
	*nexpired = n;
	*nfailed = failed;
	return failed ? -1 : 0;
}

/* Reap expired environments. */
int env_reap(const struct env_config *cfg, struct state *st, const char *reaper, struct ev_sink *ev,
	size_t *nexpired, size_t *nfailed, struct sbx_err *err)
{
	return env_reap_watched(cfg, st, reaper, ev, NULL, nexpired, nfailed, err);
}
