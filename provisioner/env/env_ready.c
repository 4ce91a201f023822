/* env_ready — wait for every node to answer SSH; pin host keys. */
#include "env_int.h"

#include <stdlib.h>
#include <string.h>

#include "exec.h"

struct ready {
	struct state *st;
	const char *env;
	const char *privkey;
	struct ev_sink *ev;
	struct env_node *nodes;
	int timeout_ms;
	struct ssh_pool *pool;
};

/* Wait for one node. */
static int ready_one(void *ctx, size_t i, struct sbx_err *err)
{
	struct ready *r = ctx;
	struct env_node *n = &r->nodes[i];
	struct ssh_target t = {n->ip, 22, "sandbox", r->privkey, n->hostkey};
	struct ssh_conn *c = NULL;
	char *hostkey = NULL;
	int64_t t0 = sbx_mono_ms();
	ev_emit(r->ev, r->env, "node.booting", "domain", n->domain, n->instance, "booting, waiting for SSH on %s", n->ip);
	int rc = ssh_connect_wait(&t, r->timeout_ms, &c, &hostkey, err);
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
int env_ready(const struct env_config *cfg, struct state *st, const char *env, const char *privkey,
	struct ev_sink *ev, struct ssh_pool *pool, struct sbx_err *err)
{
	struct ready r = {st, env, privkey, ev, NULL, (int)cfg->ready_timeout * 1000, pool};
	size_t n = 0;
	if (env_nodes(st, env, &r.nodes, &n, err) < 0)
		return -1;
	int rc = exec_each(n, n < 64 ? (int)n : 64, ready_one, &r, err);
	if (rc == 0)
		rc = write_known_hosts(st, env, r.nodes, n, err);
	env_nodes_free(r.nodes, n);
	return rc;
}
