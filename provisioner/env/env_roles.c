/* env_roles — apply the node roles after readiness and record the environment's outputs. */
#include "env_int.h"

#include <stdlib.h>
#include <string.h>

#include "artifact.h"
#include "exec.h"
#include "role.h"


struct roles {
	struct state *st;
	const char *env;
	struct ev_sink *ev;
	struct env_node *nodes;
	size_t nnodes;
	struct role_host *hosts;
	char **net_cidrs;
	size_t nnets;
	char *vip_cidr;
};

/* Whether any node carries a role this build applies (plain nodes need nothing); says which
 * roles of the blueprint it does not apply. ev may be NULL. */
static bool has_roles(const struct bp_blueprint *bp, const char *env, struct ev_sink *ev)
{
	bool any = false;
	for (size_t i = 0; i < bp->nnodes; i++)
		for (size_t k = 0; k < bp->nodes[i].nroles; k++) {
			const char *role = bp->nodes[i].roles[k];
			if (role_known(role))
				any = true;
			else if (strcmp(role, "plain") != 0)
				ev_emit(ev, env, "roles.skip", NULL, NULL, NULL,
					"warning: role %s of node %s is not applied by this build (not implemented yet)",
					role, bp->nodes[i].name);
		}
	return any;
}

/* Whether some node carries a role this build applies. */
bool env_roles_any(const struct bp_blueprint *bp)
{
	return has_roles(bp, NULL, NULL);
}

/* Secrets from the state's encrypted store: the roles' own are created on first use; the
 * blueprint's (${secret.NAME}, set with `sandbox secret set`) only read. */
static int secret_real(void *ctx, const char *name, char **value, struct sbx_err *err)
{
	struct roles *r = ctx;
	if (!sbx_has_prefix(name, BP_SECRET_STORE))
		return state_secret_get_or_create(r->st, r->env, name, value, err);
	if (state_secret_get(r->st, r->env, name, value, err) < 0)
		return -1;
	if (*value)
		return 0;
	const char *user = name + strlen(BP_SECRET_STORE);
	sbx_err_set(err, SBX_EXIT_USAGE, "secret \"%s\" is not set for environment %s", user, r->env);
	sbx_err_hint(err, "set it with: printf %%s \"$VALUE\" | sandbox secret set %s %s", r->env, user);
	return -1;
}

/* Secrets as stored, never created (plan): an absent one reads as its placeholder. */
static int secret_lookup(void *ctx, const char *name, char **value, struct sbx_err *err)
{
	struct roles *r = ctx;
	if (state_secret_get(r->st, r->env, name, value, err) < 0)
		return -1;
	if (*value == NULL)
		*value = xasprintf("${secret.%s}", name);
	return 0;
}

/* Secrets as ${secret.NAME} placeholders: outputs are recorded without the passwords. */
static int secret_placeholder(void *ctx, const char *name, char **value, struct sbx_err *err)
{
	(void)ctx;
	(void)err;
	*value = xasprintf("${secret.%s}", name);
	return 0;
}

/* Role progress as node events (called from the per-host worker threads). */
static void progress(void *ctx, const char *host, const char *role, const char *step)
{
	struct roles *r = ctx;
	const char *inst = host;
	for (size_t i = 0; i < r->nnodes; i++)
		if (strcmp(r->nodes[i].domain, host) == 0)
			inst = r->nodes[i].instance;
	if (strcmp(step, "connect") == 0)
		ev_emit(r->ev, r->env, "role.step", "role", role, inst, "connecting over SSH");
	else if (strcmp(step, "check") == 0)
		ev_emit(r->ev, r->env, "role.step", "role", role, inst, "checking files and services (one command)");
	else if (strcmp(step, "unchanged") == 0)
		ev_emit(r->ev, r->env, "role.done", "role", role, inst, "role %s: unchanged (files as rendered, "
			"services running)", role);
	else
		ev_emit(r->ev, r->env, strcmp(step, "done") == 0 ? "role.done" : "role.step", "role", role, inst,
			"%s%s: %s", strcmp(role, "base") == 0 ? "node scripts" : "role ",
			strcmp(role, "base") == 0 ? "" : role, step);
}

/* Hosts, pinned keys, network blocks and the VIP block of the environment (allocated when
 * `allocate`, else as recorded). */
static int roles_load(struct roles *r, const struct bp_blueprint *bp, bool allocate, struct sbx_err *err)
{
	if (env_nodes(r->st, r->env, &r->nodes, &r->nnodes, err) < 0)
		return -1;
	r->hosts = xcalloc(r->nnodes + 1, sizeof(*r->hosts));
	for (size_t i = 0; i < r->nnodes; i++) {
		const struct env_node *n = &r->nodes[i];
		r->hosts[i] = (struct role_host){.name = n->domain, .node = n->node, .index = n->index,
			.ssh_addr = n->ip, .ssh_port = 22, .addrs = (const char *const *)n->addrs,
			.pinned_hostkey = n->hostkey, .root = ""};
	}
	r->nnets = bp->nnetworks;
	r->net_cidrs = xcalloc(r->nnets + 1, sizeof(char *));
	for (size_t i = 0; i < r->nnets; i++)
		if (state_ipam_get(r->st, r->env, bp->networks[i].name, &r->net_cidrs[i], err) < 0)
			return -1;
	int rc = 0;
	if (bp->nvips > 0)
		rc = allocate ? state_ipam_alloc(r->st, r->env, ENV_VIP_NETWORK, NULL, &r->vip_cidr, err) :
			state_ipam_get(r->st, r->env, ENV_VIP_NETWORK, &r->vip_cidr, err);
	if (rc < 0) {
		sbx_err_prefix(err, "VIP block");
		return -1;
	}
	return 0;
}

/* Free what roles_load loaded. */
static void roles_free(struct roles *r)
{
	for (size_t i = 0; r->net_cidrs && i < r->nnets; i++)
		free(r->net_cidrs[i]);
	free(r->net_cidrs);
	free(r->hosts);
	free(r->vip_cidr);
	env_nodes_free(r->nodes, r->nnodes);
}

/* Replace the environment's recorded outputs by the roles' current ones. */
static int record_outputs(struct roles *r, struct role_ctx *ctx, struct sbx_err *err)
{
	struct role_output *o = NULL;
	struct state_res *old = NULL;
	size_t n = 0, nold = 0;
	ctx->secret = secret_placeholder;
	int rc = role_outputs(ctx, &o, &n, err);
	ctx->secret = secret_real;
	if (rc < 0 || state_res_list(r->st, r->env, &old, &nold, err) < 0 || state_begin(r->st, err) < 0) {
		role_outputs_free(o, n);
		return -1;
	}
	for (size_t i = 0; rc == 0 && i < nold; i++) {
		if (strcmp(old[i].type, ENV_ROW_OUTPUT) != 0)
			continue;
		bool kept = false;
		for (size_t k = 0; k < n && !kept; k++)
			kept = strcmp(o[k].key, old[i].name) == 0;
		if (!kept)
			rc = state_res_delete(r->st, r->env, ENV_ROW_OUTPUT, old[i].name, err);
	}
	for (size_t i = 0; rc == 0 && i < n; i++) {
		struct state_res row = {(char *)r->env, ENV_ROW_OUTPUT, o[i].key, NULL, o[i].value, STATE_RES_CREATED, 0};
		rc = state_res_put(r->st, &row, err);
	}
	if (rc == 0)
		rc = state_commit(r->st, err);
	else
		state_rollback(r->st);
	state_res_list_free(old, nold);
	role_outputs_free(o, n);
	return rc;
}

/* One line per role with the time it took to be healthy everywhere, and what the quick check
 * skipped (so a fast up says why it was fast). */
static void report_timings(struct roles *r, const struct role_report *rep, bool refresh)
{
	struct sbx_buf b = {0}, q = {0};
	for (size_t i = 0; i < rep->ntimings; i++)
		sbx_buf_printf(&b, "%s%s %.1fs", i ? ", " : "", rep->timings[i].role, (double)rep->timings[i].ms / 1000.0);
	if (refresh)
		sbx_buf_puts(&q, "; --refresh: every role applied and health-checked");
	else if (rep->units_skipped)
		sbx_buf_printf(&q, "; roles unchanged on %d of %d node(s), checked in %.1f s (%d unit(s) skipped, "
			"%d health check(s) run; `up --refresh` checks everything)", rep->hosts_unchanged, rep->hosts,
			(double)rep->check_ms / 1000.0, rep->units_skipped, rep->health_checks);
	ev_emit(r->ev, r->env, "roles.done", NULL, NULL, NULL,
		"roles healthy after %.1fs (%s); %d file(s) changed, %d start(s), %d reload(s)%s",
		(double)rep->total_ms / 1000.0, b.data ? b.data : "none", rep->files_changed, rep->starts, rep->reloads,
		q.data ? q.data : "");
	sbx_buf_free(&b);
	sbx_buf_free(&q);
}

/* Whether a node of bp runs a k3s server. */
static bool env_roles_k3s(const struct bp_blueprint *bp)
{
	for (size_t i = 0; i < bp->nnodes; i++)
		if (bp_node_has_role(&bp->nodes[i], "k3s-server"))
			return true;
	return false;
}

/* Apply the roles of every node, record the outputs, fetch an installed cluster's kubeconfig. */
int env_roles(const struct env_config *cfg, struct state *st, const struct bp_blueprint *bp,
	const char *env, const char *privkey, bool refresh, struct ev_sink *ev, struct ssh_pool *pool,
	struct sbx_err *err)
{
	if (!has_roles(bp, env, ev))
		return 0;
	if (exec_interrupted())
		return sbx_err_set(err, SBX_EXIT_FAILED, "interrupted before the roles were applied");
	struct roles r = {.st = st, .env = env, .ev = ev};
	int rc = roles_load(&r, bp, true, err);
	struct role_ctx ctx = {.bp = bp, .env = env, .hosts = r.hosts, .nhosts = r.nnodes, .ssh_user = "sandbox",
		.ssh_priv_pem = privkey, .vip_cidr = r.vip_cidr, .net_cidrs = (const char *const *)r.net_cidrs,
		.secret = secret_real, .secret_ctx = &r, .progress = progress, .progress_ctx = &r, .pool = pool,
		.cluster_dir = cfg->cluster_dir, .mock_bin_dir = cfg->mock_bin_dir,
		.health_timeout_ms = (int)cfg->role_timeout * 1000, .refresh = refresh};
	struct role_report rep = {0};
	struct artifact_set art = {0};
	if (rc == 0)
		rc = env_artifacts_roles(cfg, bp, &art, &ctx, err);
	if (rc == 0) {
		ev_emit(ev, env, "roles.start", NULL, NULL, NULL, "applying roles on %zu node(s)", r.nnodes);
		rc = role_apply_all(&ctx, &rep, err);
	}
	if (rc == 0) {
		report_timings(&r, &rep, refresh);
		rc = record_outputs(&r, &ctx, err);
	}
	if (rc == 0 && bp->cluster.present && bp->cluster.kubeconfig == NULL && env_roles_k3s(bp))
		rc = env_kubeconfig_fetch(st, env, &ctx, err);
	if (rc < 0 && r.hosts) {
		ev_emit(ev, env, "roles.fail", NULL, NULL, NULL, "roles failed: %s", sbx_err_first(err));
	}
	(void)state_event_add(st, env, rc == 0 ? "roles.done" : "roles.fail", NULL, &(struct sbx_err){0});
	artifact_set_clear(&art);
	roles_free(&r);
	return rc;
}

/* What applying the roles would change on the environment's recorded nodes. */
int env_roles_plan(const struct env_config *cfg, struct state *st, const struct bp_blueprint *bp,
	const char *env, struct env_role_plan *out, struct sbx_err *err)
{
	struct roles r = {.st = st, .env = env};
	char *privkey = NULL;
	*out = (struct env_role_plan){.applies = has_roles(bp, env, NULL)};
	if (!out->applies)
		return 0;
	int rc = state_secret_get(st, env, "ssh-key", &privkey, err);
	if (rc == 0 && privkey)
		rc = roles_load(&r, bp, false, err);
	if (rc == 0 && privkey && r.nnodes) {
		struct role_ctx ctx = {.bp = bp, .env = env, .hosts = r.hosts, .nhosts = r.nnodes, .ssh_user = "sandbox",
			.ssh_priv_pem = privkey, .vip_cidr = r.vip_cidr, .net_cidrs = (const char *const *)r.net_cidrs,
			.secret = secret_lookup, .secret_ctx = &r, .cluster_dir = cfg->cluster_dir,
			.mock_bin_dir = cfg->mock_bin_dir};
		struct artifact_set art = {0};
		rc = env_artifacts_roles(cfg, bp, &art, &ctx, err);
		if (rc == 0)
			rc = role_plan_all(&ctx, &out->changes, &out->n, err);
		artifact_set_clear(&art);
		out->checked = rc == 0;
		out->nnodes = r.nnodes;
	}
	free(privkey);
	roles_free(&r);
	return rc;
}
