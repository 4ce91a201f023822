/* env_ready — wait for every node to answer SSH; pin host keys. */
#include "env_int.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "exec.h"

struct ready {
	struct state *st;
	struct prov *prov;
	const char *env;
	const char *privkey;
	bool quick;           /* a pinned node runs no `true` (see env_ready_start) */
	struct ev_sink *ev;
	struct env_node *nodes;
	int timeout_ms;
	struct ssh_pool *pool;
};

/* A readiness run, maybe alongside the roles. */
struct env_ready_run {
	struct ready r;
	size_t n;
	bool alongside;       /* running on th */
	pthread_t th;
	int rc;               /* its result once joined */
	struct sbx_err err;   /* its errors (alongside) */
};

/* Refuse a first host key the console does not vouch for. */
static int hostkey_refused(struct ready *r, const struct env_node *n, const char *hostkey, bool other,
	struct sbx_err *err)
{
	char *fp = ssh_fingerprint(hostkey);
	if (other)
		sbx_err_set(err, SBX_EXIT_FAILED, "node %s: the SSH host key %s at %s is not one its console printed: "
			"another machine answers on its address", n->instance, fp, n->ip);
	else
		sbx_err_set(err, SBX_EXIT_FAILED, "node %s: its console never printed its SSH host key fingerprints "
			"(cloud-init keys_to_console), so the key %s at %s cannot be trusted", n->instance, fp, n->ip);
	sbx_err_hint(err, "`virsh console %s` shows what the VM printed; `sandbox down %s` removes the environment",
		n->domain, r->env);
	free(fp);
	return -1;
}

/* First contact: wait (until deadline_ms) for the node's console to list the key it offered. */
static int hostkey_vouched(struct ready *r, const struct env_node *n, const char *hostkey, int64_t deadline_ms,
	struct sbx_err *err)
{
	struct sbx_backoff b;
	sbx_backoff_init(&b, deadline_ms - sbx_mono_ms(), 200, 2000);
	for (;;) {
		char *console = NULL;
		int got = n->machine ? 1 : prov_console(r->prov, n->domain, &console, err);
		int v = got == 0 ? ssh_hostkey_on_console(console, hostkey) : 2;
		free(console);
		if (got < 0)
			return -1;
		if (v == 2)
			ev_emit(r->ev, r->env, "node.hostkey", "domain", n->domain, n->instance,
				"warning: host key pinned on first use (this site's console log cannot be read from here)");
		if (v == 1 || v == 2)
			return 0;
		if (v == 0 && sbx_cancelled())
			return sbx_err_set(err, SBX_EXIT_FAILED, "%s: interrupted while waiting for its console to list "
				"its SSH host key", n->instance);
		if (v < 0 || sbx_backoff_wait_intr(&b) < 0)
			return hostkey_refused(r, n, hostkey, v < 0, err);
	}
}

/* Wait for one node. */
static int ready_one(void *ctx, size_t i, struct sbx_err *err)
{
	struct ready *r = ctx;
	struct env_node *n = &r->nodes[i];
	struct ssh_target t = {n->ip, 22, "sandbox", r->privkey, n->hostkey};
	bool unproven = n->hostkey && r->quick;
	struct ssh_conn *c = NULL;
	char *hostkey = NULL;
	int64_t t0 = sbx_mono_ms();
	ev_emit(r->ev, r->env, "node.booting", "domain", n->domain, n->instance, "booting, waiting for SSH on %s", n->ip);
	int rc = unproven ? ssh_connect_wait_unproven(&t, r->timeout_ms, &c, &hostkey, err) :
		ssh_connect_wait(&t, r->timeout_ms, &c, &hostkey, err);
	if (rc < 0 && strstr(sbx_err_first(err), "host key changed"))
		sbx_err_hint(err, "something other than node %s answers at %s, or its VM was rebuilt outside sandbox: "
			"`sandbox status %s` shows the node, `sandbox down %s` removes the environment and its pinned keys",
			n->instance, n->ip, r->env, r->env);
	if (rc == 0 && n->hostkey == NULL)
		rc = hostkey_vouched(r, n, hostkey, t0 + r->timeout_ms, err);
	if (rc == 0 && n->hostkey == NULL) {
		struct state_res row = {(char *)r->env, ENV_ROW_HOSTKEY, n->domain, NULL, hostkey, STATE_RES_CREATED, 0};
		rc = state_res_put(r->st, &row, err);
		n->hostkey = rc == 0 ? hostkey : NULL;
		hostkey = rc == 0 ? NULL : hostkey;
	}
	if (rc == 0)
		ev_emit(r->ev, r->env, "node.ready", "domain", n->domain, n->instance, "ready (%s) after %.1fs",
			n->ip, (double)(sbx_mono_ms() - t0) / 1000.0);
	else
		ev_emit(r->ev, r->env, "node.fail", "domain", n->domain, n->instance, "not ready: %s",
			sbx_err_first(err));
	if (rc == 0)
		ssh_pool_put(r->pool, c);
	else
		ssh_close(c);
	if (rc < 0 && r->pool)
		ssh_pool_give_up(r->pool, &t);
	free(hostkey);
	if (rc < 0)
		sbx_err_prefix(err, "node %s", n->instance);
	return rc;
}

/* Write known_hosts lines "IP TYPE BASE64" for every pinned node. */
static int write_known_hosts(struct state *st, const char *env, const struct env_node *nodes, size_t n,
	struct sbx_err *err)
{
	struct sbx_buf b = {0};
	for (size_t i = 0; i < n; i++)
		if (nodes[i].hostkey && nodes[i].ip)
			sbx_buf_printf(&b, "%s %s\n", nodes[i].ip, nodes[i].hostkey);
	char *path = env_known_hosts_path(st, env);
	int rc = sbx_write_file(path, b.data ? b.data : "", b.len, 0600, err);
	free(path);
	sbx_buf_free(&b);
	return rc;
}

/* Wait for every node (err: the caller's, or the run's own alongside). */
static int ready_all(struct env_ready_run *x, struct sbx_err *err)
{
	return exec_each(x->n, x->n < 64 ? (int)x->n : 64, ready_one, &x->r, err);
}

/* The thread of a readiness run alongside the roles. */
static void *ready_main(void *arg)
{
	struct env_ready_run *x = arg;
	x->rc = ready_all(x, &x->err);
	return NULL;
}

/* Whether the readiness can run alongside the roles: every node is pinned (readiness then writes
 * nothing to the state) and the roles wait for its connections in the pool. */
static bool can_run_alongside(const struct env_ready_run *x)
{
	if (x->r.pool == NULL || !x->r.quick || x->n == 0)
		return false;
	for (size_t i = 0; i < x->n; i++)
		if (x->r.nodes[i].hostkey == NULL)
			return false;
	return true;
}

/* Start waiting for every node. */
int env_ready_start(const struct env_config *cfg, struct state *st, struct prov *prov, const char *env,
	const char *privkey, bool quick, struct ev_sink *ev, struct ssh_pool *pool, struct env_ready_run **out,
	struct sbx_err *err)
{
	struct env_ready_run *x = xcalloc(1, sizeof(*x));
	x->r = (struct ready){st, prov, env, privkey, quick, ev, NULL, (int)cfg->ready_timeout * 1000, pool};
	x->err = (struct sbx_err)SBX_ERR_INIT;
	if (env_nodes(st, env, &x->r.nodes, &x->n, err) < 0) {
		free(x);
		return -1;
	}
	x->alongside = can_run_alongside(x);
	for (size_t i = 0; x->alongside && i < x->n; i++)
		ssh_pool_expect(pool, &(struct ssh_target){x->r.nodes[i].ip, 22, "sandbox", privkey, NULL});
	if (x->alongside && pthread_create(&x->th, NULL, ready_main, x) != 0)
		abort();
	if (!x->alongside)
		x->rc = ready_all(x, err);
	*out = x;
	return 0;
}

/* Whether the run goes on alongside. */
bool env_ready_alongside(const struct env_ready_run *x)
{
	return x->alongside;
}

/* Wait for the run's end; write known_hosts; free it. */
int env_ready_finish(struct env_ready_run *x, struct sbx_err *err)
{
	if (x->alongside) {
		pthread_join(x->th, NULL);
		for (size_t i = 0; i < x->err.n; i++)
			sbx_err_set(err, x->err.code ? x->err.code : SBX_EXIT_FAILED, "%s", x->err.msgs[i].text);
		if (x->err.hint)
			sbx_err_hint(err, "%s", x->err.hint);
		sbx_err_clear(&x->err);
	}
	int rc = x->rc;
	if (rc == 0)
		rc = write_known_hosts(x->r.st, x->r.env, x->r.nodes, x->n, err);
	env_nodes_free(x->r.nodes, x->n);
	free(x);
	return rc;
}
