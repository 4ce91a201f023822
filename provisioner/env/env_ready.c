/* env_ready — wait for every node to answer SSH; pin host keys. */
#include "env_int.h"

#include <stdlib.h>
#include <string.h>

#include "exec.h"

struct ready {
	struct state *st;
	struct prov *prov;
	const char *env;
	const char *privkey;
	const struct bp_blueprint *checked; /* its nodes with roles: no `true` (see env_ready) */
	struct ev_sink *ev;
	struct env_node *nodes;
	int timeout_ms;
	struct ssh_pool *pool;
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
		if (v < 0 || sbx_backoff_wait(&b) < 0)
			return hostkey_refused(r, n, hostkey, v < 0, err);
	}
}

/* Wait for one node. */
static int ready_one(void *ctx, size_t i, struct sbx_err *err)
{
	struct ready *r = ctx;
	struct env_node *n = &r->nodes[i];
	struct ssh_target t = {n->ip, 22, "sandbox", r->privkey, n->hostkey};
	bool unproven = n->hostkey && r->checked && env_roles_checks(r->checked, n->node);
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

/* Wait for every node. */
int env_ready(const struct env_config *cfg, struct state *st, struct prov *prov, const char *env,
	const char *privkey, const struct bp_blueprint *checked, struct ev_sink *ev, struct ssh_pool *pool,
	struct sbx_err *err)
{
	struct ready r = {st, prov, env, privkey, checked, ev, NULL, (int)cfg->ready_timeout * 1000, pool};
	size_t n = 0;
	if (env_nodes(st, env, &r.nodes, &n, err) < 0)
		return -1;
	int rc = exec_each(n, n < 64 ? (int)n : 64, ready_one, &r, err);
	if (rc == 0)
		rc = write_known_hosts(st, env, r.nodes, n, err);
	env_nodes_free(r.nodes, n);
	return rc;
}
