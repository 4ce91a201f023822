/* env_down — destroy an environment and prove nothing of it remains. */
#include "env_int.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "exec.h"

#define DOWN_DEFAULT_PARALLEL 16

struct down {
	struct state *st;
	struct prov *prov;
	const char *env;
	struct ev_sink *ev;
	pthread_mutex_t mu;
	struct env_receipt *r;
	enum env_cluster_kind cluster;
	int64_t wait_ms; /* how long deletions the cluster finishes later (namespaces) are waited for */
	struct env_secrets sec; /* the providers' secret resolver (BMC passwords) */
	int bmc_timeout_ms;
	const char *netboot_dir;
	struct env_down_notice *notice;
};

/* Journal "deleting", delete through the provider table, drop the row. */
int env_step_delete(struct state *st, struct prov *p, const char *env, const struct plan_step *s,
	struct ev_sink *ev, struct sbx_err *err)
{
	const char *type = plan_step_type(s);
	char *spec = res_encode(&s->res);
	struct state_res row = {(char *)env, (char *)type, s->res.name, NULL, spec, STATE_RES_DELETING, 0};
	exec_crash_point(type, "before");
	int rc = state_res_put(st, &row, err);
	free(spec);
	if (rc == 0)
		rc = prov_delete(p, &s->res, err);
	if (rc == 0) {
		exec_crash_point(type, "after");
		rc = state_res_delete(st, env, type, s->res.name, err);
	}
	/* its host key goes with it: a new VM of that name, or the machine installed anew, gets a new one */
	if (rc == 0 && (s->res.type == RES_DOMAIN || s->res.type == RES_MACHINE))
		rc = state_res_delete(st, env, ENV_ROW_HOSTKEY, s->res.name, err);
	if (rc < 0) {
		ev_emit(ev, env, "step.fail", type, s->res.name, NULL, "could not delete: %s", sbx_err_first(err));
		return -1;
	}
	char *who = res_display(s->res.type, s->res.name);
	ev_emit(ev, env, "step.done", type, s->res.name, NULL, "deleted %s %s", type, who);
	free(who);
	return 0;
}

/* The executor's step: delete, and note it in the receipt. */
static int down_step(void *ctx, const struct plan_step *s, struct sbx_err *err)
{
	struct down *d = ctx;
	if (env_step_delete(d->st, d->prov, d->env, s, d->ev, err) < 0)
		return -1;
	pthread_mutex_lock(&d->mu);
	char *who = res_display(s->res.type, s->res.name);
	if (s->res.type == RES_MACHINE)
		env_strv_add(&d->r->removed, &d->r->nremoved, xasprintf("%s %s (powered off through BMC %s:%d)",
			plan_step_type(s), who, s->res.u.mach.bmc_address, s->res.u.mach.bmc_port));
	else
		env_strv_add(&d->r->removed, &d->r->nremoved, xasprintf("%s %s", plan_step_type(s), who));
	free(who);
	pthread_mutex_unlock(&d->mu);
	return 0;
}

/* Add the provider objects tagged with the env that the state does not know to the targets. */
static int down_orphans(struct down *d, struct env_rows *rows, struct sbx_err *err)
{
	struct prov_obj *objs = NULL;
	size_t nobj = 0;
	if (prov_list(d->prov, true, &objs, &nobj, err) < 0)
		return -1;
	for (size_t i = 0; i < nobj; i++) {
		bool known = false;
		for (size_t k = 0; k < rows->nrec && !known; k++)
			known = strcmp(rows->recs[k].res.name, objs[i].name) == 0;
		if (known)
			continue;
		rows->recs = xrealloc(rows->recs, (rows->nrec + 1) * sizeof(*rows->recs));
		rows->recs[rows->nrec++] = (struct plan_rec){.res = {.type = objs[i].type, .name = xstrdup(objs[i].name)},
			.status = STATE_RES_CREATED};
		char *who = res_display(objs[i].type, objs[i].name);
		ev_emit(d->ev, d->env, "down.orphan", res_type_name(objs[i].type), objs[i].name, NULL,
			"found %s %s tagged with %s but not in the state%s: deleting it too", res_type_name(objs[i].type), who,
			d->env, objs[i].type == RES_K8S ? " (applied by `sandbox apply`)" : "");
		free(who);
	}
	prov_obj_list_free(objs, nobj);
	return 0;
}

/* What is still tagged with the env, into the receipt; whether any of it is a cluster object. */
static int down_remaining(struct down *d, bool *cluster, struct sbx_err *err)
{
	struct prov_obj *objs = NULL;
	size_t nobj = 0;
	state_strv_free(d->r->remaining, d->r->nremaining);
	d->r->remaining = NULL;
	d->r->nremaining = 0;
	*cluster = false;
	if (prov_list(d->prov, true, &objs, &nobj, err) < 0)
		return -1;
	for (size_t i = 0; i < nobj; i++) {
		*cluster = *cluster || objs[i].type == RES_K8S;
		char *who = res_display(objs[i].type, objs[i].name);
		env_strv_add(&d->r->remaining, &d->r->nremaining, xasprintf("%s %s", res_type_name(objs[i].type), who));
		free(who);
	}
	prov_obj_list_free(objs, nobj);
	return 0;
}

/* Re-query the providers until nothing is tagged with the env; a cluster finishes deleting a
 * namespace (and what is in it) after the delete returns, so those are waited for. */
static int down_verify(struct down *d, struct sbx_err *err)
{
	struct sbx_backoff b;
	bool cluster = false;
	sbx_backoff_init(&b, d->wait_ms, 200, 2000);
	do {
		if (down_remaining(d, &cluster, err) < 0)
			return -1;
	} while (d->r->nremaining && cluster && sbx_backoff_wait_intr(&b) == 0);
	if (d->r->nremaining)
		return sbx_err_set(err, SBX_EXIT_FAILED, "%zu object(s) tagged with %s remain (first: %s)%s",
			d->r->nremaining, d->env, d->r->remaining[0], cluster ? "; the cluster has not finished deleting "
			"them" : "");
	return 0;
}

/* An installed cluster's objects go with its machines: drop them from the targets. */
static void down_skip_cluster(struct down *d, struct env_rows *rows)
{
	size_t k = 0, skipped = 0;
	for (size_t i = 0; i < rows->nrec; i++) {
		if (rows->recs[i].res.type == RES_K8S) {
			res_clear(&rows->recs[i].res);
			skipped++;
		} else {
			rows->recs[k++] = rows->recs[i];
		}
	}
	rows->nrec = k;
	if (skipped)
		ev_emit(d->ev, d->env, "down.cluster", NULL, NULL, NULL, "%zu cluster object(s) go with the cluster's "
			"machines", skipped);
}

/* Delete the env's row, with its notice when there is one. */
static int forget_env(struct down *d, struct sbx_err *err)
{
	struct env_down_notice *nt = d->notice;
	const struct state_outbox *ob = nt && nt->build ? nt->build(nt->ctx) : NULL;
	if (state_env_delete_notice(d->st, d->env, ob, nt ? &nt->queued : NULL, err) < 0)
		return -1;
	exec_crash_point("env", "deleted");
	return 0;
}

/* Drop the rows that are not provider resources (host keys, outputs), then the env itself. */
static int down_forget(struct down *d, struct sbx_err *err)
{
	struct state_res *rows = NULL;
	struct state_lease *leases = NULL;
	size_t n = 0, nl = 0;
	int rc = state_res_list(d->st, d->env, &rows, &n, err);
	if (rc == 0)
		rc = state_lease_list(d->st, d->env, &leases, &nl, err);
	for (size_t i = 0; rc == 0 && i < n; i++)
		rc = state_res_delete(d->st, d->env, rows[i].type, rows[i].name, err);
	state_res_list_free(rows, n);
	char *key = env_key_path(d->st, d->env), *kh = env_known_hosts_path(d->st, d->env);
	char *kc = env_kubeconfig_path(d->st, d->env);
	if (rc == 0 && state_ipam_release(d->st, d->env, err) == 0 && state_lease_release(d->st, d->env, err) == 0 &&
		state_secret_delete_env(d->st, d->env, err) == 0 && forget_env(d, err) == 0) {
		unlink(key);
		unlink(kh);
		unlink(kc);
		d->r->env_removed = true;
		for (size_t i = 0; i < nl; i++)
			env_strv_add(&d->r->removed, &d->r->nremoved, xasprintf("lease %s (node %s) released",
				leases[i].machine, leases[i].node));
	} else {
		rc = -1;
	}
	state_lease_list_free(leases, nl);
	free(key);
	free(kh);
	free(kc);
	return rc;
}

/* Delete everything, verify, forget. */
static int down_run(struct down *d, const struct env_down_opts *o, struct sbx_err *err)
{
	struct env_rows rows = {0};
	struct plan_desired none = {0};
	struct plan p = {0};
	int rc = -1;
	if (env_rows_load(d->st, d->env, &rows, err) < 0)
		goto out;
	if (d->cluster == ENV_CLUSTER_INSTALLED)
		down_skip_cluster(d, &rows);
	if (down_orphans(d, &rows, err) < 0 ||
		plan_build(&none, rows.recs, rows.nrec, NULL, 0, false, &p, err) < 0)
		goto out;
	ev_emit(d->ev, d->env, "plan", NULL, NULL, NULL, "tearing down %zu resource(s)", p.ndelete);
	if (exec_run(&p, o->parallel > 0 ? o->parallel : DOWN_DEFAULT_PARALLEL, down_step, d, err) < 0)
		goto out;
	if (down_verify(d, err) < 0)
		goto out;
	rc = down_forget(d, err);
out:
	env_rows_clear(&rows);
	plan_clear(&p);
	return rc;
}

/* Refuse protected environments unless confirmed; mark the env destroying. */
static int down_guard(struct down *d, const struct env_down_opts *o, const struct state_env *env,
	struct sbx_err *err)
{
	if (env->protected && !sbx_streq(o->confirm, d->env)) {
		sbx_err_set(err, SBX_EXIT_REFUSED, "environment %s is protected", d->env);
		sbx_err_hint(err, "if you really mean to destroy it, run `sandbox down %s --confirm %s`", d->env, d->env);
		return -1;
	}
	if (env->protected && state_env_unprotect(d->st, d->env, err) < 0)
		return -1;
	if (sbx_streq(env->status, STATE_ENV_REAPING) && !o->reaping)
		ev_emit(d->ev, d->env, "down.takeover", NULL, NULL, NULL, "finishing a teardown the reaper started");
	return state_env_set_status(d->st, d->env, o->reaping ? STATE_ENV_REAPING : STATE_ENV_DESTROYING, err);
}

/* Whether the recorded environment has, or had, machines. */
static int down_machines(struct down *d, bool *machines, struct sbx_err *err)
{
	struct env_rows rows = {0};
	if (*machines)
		return 0;
	if (env_rows_load(d->st, d->env, &rows, err) < 0)
		return -1;
	for (size_t i = 0; i < rows.nrec && !*machines; i++)
		*machines = rows.recs[i].res.type != RES_K8S;
	env_rows_clear(&rows);
	return 0;
}

/* Open the provider session of a recorded environment: libvirt when it has machines, the
 * attached cluster when it has one. */
static int down_open_site(struct down *d, const struct state_env *env, struct sbx_err *err)
{
	char *uri, *pool, *pool_path, *kubeconfig, *context;
	bool machines = false;
	env_site_of_row(env, &uri, &pool, &pool_path);
	d->cluster = env_cluster_of_row(env, &kubeconfig, &context, &machines);
	struct prov_cfg pc = {.state_id = state_id(d->st), .env = d->env, .env_id = env->id, .protect = env->protected,
		.uri = uri, .pool = pool, .pool_path = pool_path, .kubeconfig = kubeconfig, .kube_context = context};
	int rc = down_machines(d, &machines, err);
	pc.no_machines = !machines;
	d->sec = (struct env_secrets){d->st, d->env};
	pc.secret = env_secret_cb;
	pc.secret_ctx = &d->sec;
	pc.bmc_timeout_ms = d->bmc_timeout_ms;
	pc.netboot_dir = d->netboot_dir;
	struct prov_route *routes = NULL;
	size_t nroutes = 0;
	if (rc == 0 && machines)
		rc = env_place_routes(d->st, d->env, NULL, &routes, &nroutes, err);
	pc.routes = routes;
	pc.nroutes = nroutes;
	if (rc == 0 && (rc = prov_open(&pc, &d->prov, err)) < 0)
		sbx_err_hint(err, "%s nothing was deleted; retry `sandbox down %s` when it is reachable",
			machines ? "is libvirtd running?" : "is the cluster reachable with its kubeconfig?", d->env);
	free(uri);
	free(pool);
	free(pool_path);
	free(kubeconfig);
	free(context);
	env_routes_free(routes, nroutes);
	return rc;
}

/* Destroy an environment. */
int env_down(const struct env_config *cfg, struct state *st, const struct env_down_opts *o,
	struct env_receipt *r, struct sbx_err *err)
{
	struct down d = {st, NULL, o->env, o->ev, PTHREAD_MUTEX_INITIALIZER, r, ENV_CLUSTER_NONE,
		cfg->ready_timeout * 1000, {st, o->env}, (int)cfg->bmc_timeout * 1000, cfg->netboot_dir, o->notice};
	struct state_lock *lk = NULL;
	struct state_env *env = NULL;
	int rc = -1;
	*r = (struct env_receipt){0};
	if (state_env_lock(st, o->env, o->wait_lock, &lk, err) < 0 || state_env_get(st, o->env, &env, err) < 0)
		goto out;
	if (env == NULL) {
		ev_emit(o->ev, o->env, "down.done", NULL, NULL, NULL, "no environment named %s: nothing to do", o->env);
		rc = 0;
		goto out;
	}
	if (down_guard(&d, o, env, err) < 0)
		goto out;
	ev_emit(o->ev, o->env, "down.start", NULL, NULL, NULL, "tearing down %s", o->env);
	(void)state_event_add(st, o->env, "down.start", NULL, NULL);
	int64_t t0 = sbx_mono_ms();
	if (down_open_site(&d, env, err) < 0) {
		env_event_duration(st, o->env, "down.fail", t0);
		goto out;
	}
	rc = down_run(&d, o, err);
	env_event_duration(st, o->env, rc == 0 ? "down.done" : "down.fail", t0);
	if (rc < 0) {
		sbx_err_hint(err, "the environment stays in the state; fix the cause and run `sandbox down %s` again", o->env);
	}
out:
	prov_close(d.prov);
	pthread_mutex_destroy(&d.mu);
	state_env_free(env);
	state_env_unlock(lk);
	return rc;
}

/* Free a receipt. */
void env_receipt_clear(struct env_receipt *r)
{
	state_strv_free(r->removed, r->nremoved);
	state_strv_free(r->remaining, r->nremaining);
	*r = (struct env_receipt){0};
}
