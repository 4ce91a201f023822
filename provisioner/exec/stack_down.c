/* stack_down — destroy an environment and prove nothing of it remains. */
#include "stack.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "exec.h"
#include "lv.h"

#define DOWN_DEFAULT_PARALLEL 16

struct down {
	struct state *st;
	struct lv *lv;
	const char *env;
	char *pool;
	struct ev_sink *ev;
	pthread_mutex_t mu;
	struct stack_receipt *r;
};

/* Add a line to a string vector. */
static void strv_add(char ***v, size_t *n, char *s)
{
	*v = xrealloc(*v, (*n + 1) * sizeof(**v));
	(*v)[(*n)++] = s;
}

/* The executor's step: journal, delete, drop the row. */
static int down_step(void *ctx, const struct plan_step *s, struct sbx_err *err)
{
	struct down *d = ctx;
	struct state_res row = {(char *)d->env, s->type, s->name, NULL, s->old_spec, STATE_RES_DELETING, 0};
	exec_crash_point(s->type, "before");
	if (state_res_put(d->st, &row, err) < 0)
		return -1;
	int rc;
	if (strcmp(s->type, PLAN_T_DOMAIN) == 0)
		rc = lv_dom_delete(d->lv, s->name, err);
	else if (strcmp(s->type, PLAN_T_NETWORK) == 0)
		rc = lv_net_delete(d->lv, s->name, err);
	else
		rc = lv_vol_delete(d->lv, d->pool, s->name, err);
	if (rc == 0) {
		exec_crash_point(s->type, "after");
		rc = state_res_delete(d->st, d->env, s->type, s->name, err);
	}
	if (rc < 0) {
		ev_emit(d->ev, d->env, "step.fail", s->type, s->name, NULL, "could not delete: %s", sbx_err_first(err));
		return -1;
	}
	ev_emit(d->ev, d->env, "step.done", s->type, s->name, NULL, "deleted %s %s", s->type, s->name);
	pthread_mutex_lock(&d->mu);
	strv_add(&d->r->removed, &d->r->nremoved, xasprintf("%s %s", s->type, s->name));
	pthread_mutex_unlock(&d->mu);
	return 0;
}

/* Map a libvirt object kind onto a planner type. */
static const char *obj_type(const struct lv_obj *o)
{
	if (strcmp(o->kind, "volume") == 0)
		return strstr(o->name, "-seed") ? PLAN_T_SEED : PLAN_T_VOLUME;
	return o->kind;
}

/* Recorded rows plus libvirt objects tagged with the env that the state does not know. */
static int down_targets(struct down *d, struct state_res **rows, size_t *n, struct sbx_err *err)
{
	struct lv_obj *objs = NULL;
	size_t nobj = 0;
	if (state_res_list(d->st, d->env, rows, n, err) < 0 || lv_list_ours(d->lv, d->env, &objs, &nobj, err) < 0)
		return -1;
	for (size_t i = 0; i < nobj; i++) {
		bool known = false;
		for (size_t k = 0; k < *n && !known; k++)
			known = strcmp((*rows)[k].name, objs[i].name) == 0;
		if (known)
			continue;
		*rows = xrealloc(*rows, (*n + 1) * sizeof(**rows));
		(*rows)[(*n)++] = (struct state_res){xstrdup(d->env), xstrdup(obj_type(&objs[i])),
			xstrdup(objs[i].name), NULL, NULL, xstrdup(STATE_RES_CREATED), 0};
		ev_emit(d->ev, d->env, "down.orphan", objs[i].kind, objs[i].name, NULL,
			"found %s %s in libvirt but not in the state: deleting it too", objs[i].kind, objs[i].name);
	}
	lv_obj_list_free(objs, nobj);
	return 0;
}

/* Re-query libvirt: what is still tagged with the env. */
static int down_verify(struct down *d, struct sbx_err *err)
{
	struct lv_obj *objs = NULL;
	size_t nobj = 0;
	if (lv_list_ours(d->lv, d->env, &objs, &nobj, err) < 0)
		return -1;
	for (size_t i = 0; i < nobj; i++)
		strv_add(&d->r->remaining, &d->r->nremaining, xasprintf("%s %s", objs[i].kind, objs[i].name));
	lv_obj_list_free(objs, nobj);
	if (d->r->nremaining)
		return sbx_err_set(err, SBX_EXIT_FAILED, "%zu object(s) tagged with %s remain in libvirt (first: %s)",
			d->r->nremaining, d->env, d->r->remaining[0]);
	return 0;
}

/* Drop the rows that are not libvirt objects (host keys, outputs), then state of the env. */
static int down_forget(struct down *d, struct sbx_err *err)
{
	struct state_res *rows = NULL;
	size_t n = 0;
	int rc = state_res_list(d->st, d->env, &rows, &n, err);
	for (size_t i = 0; rc == 0 && i < n; i++)
		rc = state_res_delete(d->st, d->env, rows[i].type, rows[i].name, err);
	state_res_list_free(rows, n);
	char *key = stack_key_path(d->st, d->env), *kh = stack_known_hosts_path(d->st, d->env);
	if (rc == 0 && state_ipam_release(d->st, d->env, err) == 0 &&
		state_secret_delete_env(d->st, d->env, err) == 0 && state_env_delete(d->st, d->env, err) == 0) {
		unlink(key);
		unlink(kh);
		d->r->env_removed = true;
	} else {
		rc = -1;
	}
	free(key);
	free(kh);
	return rc;
}

/* Delete everything, verify, forget. */
static int down_run(struct down *d, const struct stack_down_opts *o, struct sbx_err *err)
{
	struct state_res *rows = NULL;
	size_t n = 0;
	struct plan_desired none = {0};
	struct plan p = {0};
	int rc = -1;
	if (down_targets(d, &rows, &n, err) < 0 || plan_build(&none, rows, n, NULL, 0, false, &p, err) < 0)
		goto out;
	ev_emit(d->ev, d->env, "plan", NULL, NULL, NULL, "tearing down %zu resource(s)", p.ndelete);
	if (exec_run(&p, o->parallel > 0 ? o->parallel : DOWN_DEFAULT_PARALLEL, down_step, d, err) < 0)
		goto out;
	if (down_verify(d, err) < 0)
		goto out;
	rc = down_forget(d, err);
out:
	state_res_list_free(rows, n);
	plan_clear(&p);
	return rc;
}

/* Refuse protected environments unless confirmed; mark the env destroying. */
static int down_guard(struct down *d, const struct stack_down_opts *o, const struct state_env *env,
	struct sbx_err *err)
{
	if (env->protected && !sbx_streq(o->confirm, d->env)) {
		sbx_err_set(err, SBX_EXIT_REFUSED, "environment %s is protected", d->env);
		sbx_err_hint(err, "if you really mean to destroy it, run `sandbox down %s --confirm %s`", d->env, d->env);
		return -1;
	}
	if (env->protected && state_env_unprotect(d->st, d->env, err) < 0)
		return -1;
	if (sbx_streq(env->status, STATE_ENV_REAPING) && !o->reaping) {
		ev_emit(d->ev, d->env, "down.takeover", NULL, NULL, NULL, "finishing a teardown the reaper started");
	}
	return state_env_set_status(d->st, d->env, o->reaping ? STATE_ENV_REAPING : STATE_ENV_DESTROYING, err);
}

/* Destroy an environment. */
int stack_down(struct state *st, const struct stack_down_opts *o, struct stack_receipt *r,
	struct sbx_err *err)
{
	struct down d = {st, NULL, o->env, NULL, o->ev, PTHREAD_MUTEX_INITIALIZER, r};
	struct state_lock *lk = NULL;
	struct state_env *env = NULL;
	char *uri = NULL;
	int rc = -1;
	*r = (struct stack_receipt){0};
	if (state_env_lock(st, o->env, o->wait_lock, &lk, err) < 0 || state_env_get(st, o->env, &env, err) < 0)
		goto out;
	if (env == NULL) {
		ev_emit(o->ev, o->env, "down.done", NULL, NULL, NULL, "no environment named %s: nothing to do", o->env);
		rc = 0;
		goto out;
	}
	if (down_guard(&d, o, env, err) < 0)
		goto out;
	stack_env_site(env, &uri, &d.pool);
	ev_emit(o->ev, o->env, "down.start", NULL, NULL, NULL, "tearing down %s", o->env);
	(void)state_event_add(st, o->env, "down.start", NULL, NULL);
	if (lv_open(uri, &d.lv, err) < 0) {
		sbx_err_hint(err, "is libvirtd running? nothing was deleted; retry `sandbox down %s` when it is", o->env);
		goto out;
	}
	rc = down_run(&d, o, err);
	if (rc < 0) {
		(void)state_event_add(st, o->env, "down.fail", NULL, NULL);
		sbx_err_hint(err, "the environment stays in the state; fix the cause and run `sandbox down %s` again", o->env);
	}
out:
	lv_close(d.lv);
	free(uri);
	free(d.pool);
	pthread_mutex_destroy(&d.mu);
	state_env_free(env);
	state_env_unlock(lk);
	return rc;
}
