/* stack_ready — wait for every node to answer SSH; pin host keys. */
#include "stack_roles.h"

#include <stdlib.h>
#include <string.h>

#include "exec.h"
#include "plan.h"
#include "ssh.h"
#include "stack.h"

#define READY_TIMEOUT_S 900

struct ready {
	struct state *st;
	const char *env;
	const char *privkey;
	struct ev_sink *ev;
	struct stack_node *nodes;
	int timeout_ms;
	struct ssh_pool *pool;
};

/* Wait for one node. */
static int ready_one(void *ctx, size_t i, struct sbx_err *err)
{
	struct ready *r = ctx;
	struct stack_node *n = &r->nodes[i];
	char *pinned = stack_pinned_key(r->st, r->env, n->domain), *hostkey = NULL;
	struct ssh_target t = {n->ip, 22, "sandbox", r->privkey, pinned};
	struct ssh_conn *c = NULL;
	int64_t t0 = sbx_mono_ms();
	ev_emit(r->ev, r->env, "node.booting", PLAN_T_DOMAIN, n->domain, n->instance, "booting, waiting for SSH on %s", n->ip);
	int rc = ssh_connect_wait(&t, r->timeout_ms, &c, &hostkey, err);
	if (rc == 0 && pinned == NULL) {
		struct state_res row = {(char *)r->env, STACK_T_HOSTKEY, n->domain, NULL, hostkey, STATE_RES_CREATED, 0};
		rc = state_res_put(r->st, &row, err);
	}
	if (rc == 0)
		ev_emit(r->ev, r->env, "node.ready", PLAN_T_DOMAIN, n->domain, n->instance, "ready (%s) after %.1fs",
			n->ip, (double)(sbx_mono_ms() - t0) / 1000.0);
	else
		ev_emit(r->ev, r->env, "node.fail", PLAN_T_DOMAIN, n->domain, n->instance, "not ready: %s",
			sbx_err_first(err));
	if (rc == 0)
		ssh_pool_put(r->pool, c);
	else
		ssh_close(c);
	free(pinned);
	free(hostkey);
	if (rc < 0)
		sbx_err_prefix(err, "node %s", n->instance);
	return rc;
}

/* Write known_hosts lines "IP TYPE BASE64" for every pinned node. */
static int write_known_hosts(struct state *st, const char *env, struct stack_node *nodes, size_t n,
	struct sbx_err *err)
{
	struct sbx_buf b = {0};
	for (size_t i = 0; i < n; i++) {
		char *key = stack_pinned_key(st, env, nodes[i].domain);
		if (key && nodes[i].ip)
			sbx_buf_printf(&b, "%s %s\n", nodes[i].ip, key);
		free(key);
	}
	char *path = stack_known_hosts_path(st, env);
	int rc = sbx_write_file(path, b.data ? b.data : "", b.len, 0600, err);
	free(path);
	sbx_buf_free(&b);
	return rc;
}

/* Wait for every node. */
int stack_ready(struct state *st, struct lv *lv, const struct bp_blueprint *bp, const char *env,
	const char *privkey, struct ev_sink *ev, struct ssh_pool *pool, struct sbx_err *err)
{
	(void)bp;
	if (lv_is_test(lv))
		return 0;
	const char *tenv = getenv("SANDBOX_READY_TIMEOUT");
	int64_t secs = READY_TIMEOUT_S;
	if (tenv && sbx_parse_duration(tenv, &secs) < 0)
		secs = strtol(tenv, NULL, 10);
	struct ready r = {st, env, privkey, ev, NULL, (int)(secs > 0 ? secs : READY_TIMEOUT_S) * 1000, pool};
	size_t n = 0;
	if (stack_nodes(st, env, &r.nodes, &n, err) < 0)
		return -1;
	int rc = exec_each(n, n < 64 ? (int)n : 64, ready_one, &r, err);
	if (rc == 0)
		rc = write_known_hosts(st, env, r.nodes, n, err);
	stack_nodes_free(r.nodes, n);
	return rc;
}
