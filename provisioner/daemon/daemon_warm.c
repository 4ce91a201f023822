/* daemon_warm — the warm pool's loop (`sandbox daemon --pool`): keep each shape's count of members
 * ready, replace those older than their image, destroy the rest; one thread per booting member.
 * A shape whose members fail (cannot boot, or break before they are ready) waits before its next
 * one: a pass, then twice as long after each failure in a row, at most WARM_BACKOFF_MAX_S. */
#include "daemon_int.h"

#include "clock.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define WARM_PASS_S 5
#define WARM_BACKOFF_MAX_S 300

/* A member this process boots, and the thread waiting for it. */
struct warm_wait {
	struct daemon_warm *w;
	char *id, *address, *shape, *roles;
	pthread_t t;
	atomic_bool done;
};

struct daemon_warm {
	struct daemon *d;
	struct warm_site *site;
	pthread_t t;
	pthread_mutex_t mu;
	pthread_cond_t wake;
	volatile bool stop;
	struct warm_wait **waits;
	size_t nwaits;
	int *fails;           /* per shape (--pool index): failures in a row (under mu) */
	int64_t *retry_at;    /* per shape: no new member before this sbx_mono_ms (under mu) */
};

/* Log a pool event and record it in the state (detail: the member and its shape). */
static void warm_event(struct daemon_warm *w, const char *kind, const char *id, const char *shape, const char *fmt, ...)
	SBX_PRINTF(5, 6);
static void warm_event(struct daemon_warm *w, const char *kind, const char *id, const char *shape, const char *fmt, ...)
{
	struct sbx_err err = SBX_ERR_INIT;
	va_list ap;
	va_start(ap, fmt);
	char *msg = xvasprintf(fmt, ap);
	va_end(ap);
	ev_emit(w->d->log, NULL, kind, "domain", id, NULL, "%s", msg);
	json_t *j = json_pack("{s:s?, s:s?, s:s}", "member", id, "shape", shape, "message", msg);
	char *detail = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	if (state_event_add(w->d->st, NULL, kind, detail, &err) < 0)
		ev_emit(w->d->log, NULL, "pool.error", NULL, NULL, NULL, "cannot record %s: %s", kind, sbx_err_first(&err));
	sbx_err_clear(&err);
	free(detail);
	json_decref(j);
	free(msg);
}

/* Roles as a --pool spec holds them: NULL for none. */
static const char *roles_or_null(const char *roles)
{
	return roles && *roles ? roles : NULL;
}

/* The index of the --pool spec of shape key prepared for roles ('+'-separated; NULL or "": none),
 * or -1; with any_roles, of the first spec of that shape. */
static int spec_index(const struct daemon_warm *w, const char *key, const char *roles, bool any_roles)
{
	for (size_t i = 0; i < w->d->o->npool; i++)
		if (strcmp(w->d->o->pool[i].key, key) == 0 &&
			(any_roles || sbx_streq(w->d->o->pool[i].roles, roles_or_null(roles))))
			return (int)i;
	return -1;
}

/* A member of shape key prepared for roles failed: its spec's next one waits (pool.backoff says
 * how long). */
static void shape_failed(struct daemon_warm *w, const char *key, const char *roles)
{
	int i = spec_index(w, key, roles, false);
	if (i < 0)
		return;
	pthread_mutex_lock(&w->mu);
	int n = ++w->fails[i];
	int64_t delay_s = (int64_t)WARM_PASS_S << (n - 1 < 8 ? n - 1 : 8);
	if (delay_s > WARM_BACKOFF_MAX_S)
		delay_s = WARM_BACKOFF_MAX_S;
	w->retry_at[i] = sbx_mono_ms() + delay_s * 1000;
	pthread_mutex_unlock(&w->mu);
	warm_event(w, "pool.backoff", NULL, key, "%d failure%s in a row: the next member of this shape in %llds", n,
		n == 1 ? "" : "s", (long long)delay_s);
}

/* A member of shape key prepared for roles is ready: its spec's failures are forgotten. */
static void shape_ok(struct daemon_warm *w, const char *key, const char *roles)
{
	int i = spec_index(w, key, roles, false);
	if (i < 0)
		return;
	pthread_mutex_lock(&w->mu);
	w->fails[i] = 0;
	w->retry_at[i] = 0;
	pthread_mutex_unlock(&w->mu);
}

/* Whether shape i may boot a member now (not backing off). */
static bool shape_due(struct daemon_warm *w, size_t i)
{
	pthread_mutex_lock(&w->mu);
	bool due = sbx_mono_ms() >= w->retry_at[i];
	pthread_mutex_unlock(&w->mu);
	return due;
}

/* Wait for one booting member (its own thread). */
static void *wait_main(void *arg)
{
	struct warm_wait *x = arg;
	struct sbx_err err = SBX_ERR_INIT;
	int64_t t0 = sbx_mono_ms();
	int rc = warm_member_wait(x->w->site, x->id, x->address, x->roles, &x->w->stop, &err);
	if (rc == 0) {
		warm_event(x->w, "pool.ready", x->id, x->shape, "ready (%s) after %.1fs", x->address,
			(double)(sbx_mono_ms() - t0) / 1000.0);
		shape_ok(x->w, x->shape, x->roles);
	} else if (rc == -1) {
		warm_event(x->w, "pool.broken", x->id, x->shape, "broken: %s", sbx_err_first(&err));
		shape_failed(x->w, x->shape, x->roles);
	}
	sbx_err_clear(&err);
	x->done = true;
	return NULL;
}

/* Join and forget the waits that are over (all: at stop). */
static void waits_reap(struct daemon_warm *w, bool all)
{
	size_t k = 0;
	for (size_t i = 0; i < w->nwaits; i++) {
		struct warm_wait *x = w->waits[i];
		if (!all && !x->done) {
			w->waits[k++] = x;
			continue;
		}
		pthread_join(x->t, NULL);
		free(x->id);
		free(x->address);
		free(x->shape);
		free(x->roles);
		free(x);
	}
	w->nwaits = k;
}

/* Whether this process waits for member id; its shape's count of them. */
static bool waiting_for(const struct daemon_warm *w, const char *id)
{
	for (size_t i = 0; i < w->nwaits; i++)
		if (strcmp(w->waits[i]->id, id) == 0)
			return true;
	return false;
}

static size_t waits_of(const struct daemon_warm *w, const struct warm_shape *sh)
{
	size_t n = 0;
	for (size_t i = 0; i < w->nwaits; i++)
		n += strcmp(w->waits[i]->shape, sh->key) == 0 && sbx_streq(w->waits[i]->roles, sh->roles);
	return n;
}

/* Why an unclaimed member this process does not wait for should go (NULL: it stays); counts the
 * ready ones kept per shape in ready[]. *replace: it is older than its image. */
static const char *member_verdict(struct daemon_warm *w, const struct warm_member *m, char **hash, size_t *ready,
	bool *replace)
{
	int i = spec_index(w, m->shape, m->roles, false);
	*replace = false;
	if (i < 0 && spec_index(w, m->shape, NULL, true) < 0)
		return "its shape is not in --pool";
	if (strcmp(m->status, WARM_BROKEN) == 0)
		return "broken";
	if (strcmp(m->status, WARM_BOOTING) == 0)
		return "left booting by an earlier daemon";
	if (i < 0) {
		*replace = true;
		return "prepared for other roles than the --pool specs of its shape";
	}
	if (hash[i] && strcmp(m->image_hash, hash[i]) != 0) {
		*replace = true;
		return "older than its image";
	}
	if (ready[i] >= (size_t)w->d->o->pool[i].count)
		return "beyond its shape's count";
	ready[i]++;
	return NULL;
}

/* Destroy the members that should go; count the ready ones that stay. */
static void warm_prune(struct daemon_warm *w, char **hash, size_t *ready)
{
	struct sbx_err err = SBX_ERR_INIT;
	struct warm_member *v = NULL;
	size_t n = 0;
	if (state_warm_list(w->d->st, NULL, &v, &n, &err) < 0) {
		ev_emit(w->d->log, NULL, "pool.error", NULL, NULL, NULL, "cannot list the members: %s", sbx_err_first(&err));
		sbx_err_clear(&err);
		return;
	}
	for (size_t k = 0; k < n && !w->stop; k++) {
		bool replace = false;
		if (strcmp(v[k].status, WARM_CLAIMED) == 0 || waiting_for(w, v[k].id))
			continue;
		const char *why = member_verdict(w, &v[k], hash, ready, &replace);
		if (why == NULL)
			continue;
		if (warm_member_destroy(w->d->st, warm_site_uri(w->site), warm_site_pool(w->site), &v[k], &err) < 0)
			ev_emit(w->d->log, NULL, "pool.error", "domain", v[k].id, NULL, "cannot destroy it: %s",
				sbx_err_first(&err));
		else
			warm_event(w, replace ? "pool.replace" : "pool.destroy", v[k].id, v[k].shape, "destroyed: %s", why);
		sbx_err_clear(&err);
	}
	state_warm_list_free(v, n);
}

/* Boot the members a shape lacks, each waited for by its own thread. */
static void warm_fill(struct daemon_warm *w, const struct warm_shape *sh, const char *hash, size_t have)
{
	for (size_t k = have; k < (size_t)sh->count && !w->stop; k++) {
		struct sbx_err err = SBX_ERR_INIT;
		struct warm_wait *x = xcalloc(1, sizeof(*x));
		*x = (struct warm_wait){.w = w, .shape = xstrdup(sh->key), .roles = sh->roles ? xstrdup(sh->roles) : NULL};
		if (warm_member_boot(w->site, sh, hash, &x->id, &x->address, &err) < 0) {
			warm_event(w, "pool.broken", x->id, sh->key, "cannot boot a member: %s", sbx_err_first(&err));
			sbx_err_clear(&err);
			shape_failed(w, sh->key, sh->roles);
			free(x->shape);
			free(x->roles);
			free(x);
			return;
		}
		warm_event(w, "pool.fill", x->id, sh->key, "booting (%s), %zu of %d", x->address, k + 1, sh->count);
		if (pthread_create(&x->t, NULL, wait_main, x) != 0) {
			ev_emit(w->d->log, NULL, "pool.error", "domain", x->id, NULL, "cannot start its wait");
			free(x->id);
			free(x->address);
			free(x->shape);
			free(x->roles);
			free(x);
			return;
		}
		w->waits = xrealloc(w->waits, (w->nwaits + 1) * sizeof(*w->waits));
		w->waits[w->nwaits++] = x;
	}
}

/* One pass: the images' hashes, prune, fill, and the network once nothing is left. */
static void warm_pass(struct daemon_warm *w)
{
	const struct daemon_opts *o = w->d->o;
	char **hash = xcalloc(o->npool + 1, sizeof(char *));
	size_t *ready = xcalloc(o->npool + 1, sizeof(size_t));
	struct sbx_err err = SBX_ERR_INIT;
	waits_reap(w, false);
	for (size_t i = 0; i < o->npool && !w->stop; i++)
		if (warm_image_hash(w->site, &o->pool[i], &hash[i], &err) < 0) {
			ev_emit(w->d->log, NULL, "pool.error", NULL, NULL, NULL, "shape %s: its image: %s", o->pool[i].key,
				sbx_err_first(&err));
			sbx_err_clear(&err);
		}
	warm_prune(w, hash, ready);
	for (size_t i = 0; i < o->npool && !w->stop; i++)
		if (hash[i] && shape_due(w, i))
			warm_fill(w, &o->pool[i], hash[i], ready[i] + waits_of(w, &o->pool[i]));
	if (w->nwaits == 0 && warm_net_prune(w->site, &err) < 0)
		ev_emit(w->d->log, NULL, "pool.error", NULL, NULL, NULL, "cannot delete the pool network: %s",
			sbx_err_first(&err));
	sbx_err_clear(&err);
	for (size_t i = 0; i < o->npool; i++)
		free(hash[i]);
	free(hash);
	free(ready);
}

/* Sleep until the next pass or a stop; whether to go on. */
static bool warm_sleep(struct daemon_warm *w)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += WARM_PASS_S;
	pthread_mutex_lock(&w->mu);
	while (!w->stop && pthread_cond_timedwait(&w->wake, &w->mu, &ts) != ETIMEDOUT)
		;
	bool go = !w->stop;
	pthread_mutex_unlock(&w->mu);
	return go;
}

/* Whether there is anything to do: shapes, or members recorded (to destroy). */
static bool warm_wanted(struct daemon_warm *w)
{
	struct sbx_err err = SBX_ERR_INIT;
	struct warm_member *v = NULL;
	size_t n = 0;
	if (w->d->o->npool > 0 || w->site)
		return true;
	if (state_warm_list(w->d->st, NULL, &v, &n, &err) < 0)
		n = 0;
	sbx_err_clear(&err);
	state_warm_list_free(v, n);
	return n > 0;
}

/* The pool's thread: open the fill session once there is work (retried each pass), then pass
 * after pass. */
static void *warm_main(void *arg)
{
	struct daemon_warm *w = arg;
	do {
		struct sbx_err err = SBX_ERR_INIT;
		if (!warm_wanted(w))
			continue;
		if (w->site == NULL && warm_site_open(w->d->cfg, w->d->st, &w->site, &err) < 0)
			ev_emit(w->d->log, NULL, "pool.error", NULL, NULL, NULL, "cannot open the pool's site: %s",
				sbx_err_first(&err));
		sbx_err_clear(&err);
		if (w->site)
			warm_pass(w);
	} while (warm_sleep(w));
	waits_reap(w, true);
	return NULL;
}

/* Start the pool's thread. */
int daemon_warm_start(struct daemon *d, struct daemon_warm **out, struct sbx_err *err)
{
	struct daemon_warm *w = xcalloc(1, sizeof(*w));
	w->d = d;
	w->fails = xcalloc(d->o->npool + 1, sizeof(*w->fails));
	w->retry_at = xcalloc(d->o->npool + 1, sizeof(*w->retry_at));
	pthread_mutex_init(&w->mu, NULL);
	sbx_cond_init_mono(&w->wake);
	if (pthread_create(&w->t, NULL, warm_main, w) != 0) {
		pthread_cond_destroy(&w->wake);
		pthread_mutex_destroy(&w->mu);
		free(w->fails);
		free(w->retry_at);
		free(w);
		return sbx_err_set(err, SBX_EXIT_FAILED, "cannot start the warm pool's thread");
	}
	*out = w;
	return 0;
}

/* Stop the pool's thread: its waits give up (their members stay booting, for the next daemon). */
void daemon_warm_stop(struct daemon_warm *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->mu);
	w->stop = true;
	pthread_cond_signal(&w->wake);
	pthread_mutex_unlock(&w->mu);
	pthread_join(w->t, NULL);
	warm_site_close(w->site);
	free(w->waits);
	free(w->fails);
	free(w->retry_at);
	pthread_cond_destroy(&w->wake);
	pthread_mutex_destroy(&w->mu);
	free(w);
}
