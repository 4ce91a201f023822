/* role_ahead — what a warm pool member gets before any environment: each role's guarded
 * environment-independent preparation, and the services of the roles that run idle. */
#include "role_int.h"

#include <stdlib.h>
#include <string.h>

#include "sha256.h"

/* The guarded environment-independent preparation of a role. */
char *role_prepare_ahead(const char *role, const char *root)
{
	const struct role_def *def = role_find(role);
	struct role_host h = {.root = root};
	char hex[65], *body = def && def->ahead ? def->ahead(&h) : NULL;
	if (body == NULL)
		return NULL;
	sbx_sha256_hex(body, strlen(body), hex);
	char *s = xasprintf("m=%s" ROLE_PREPARED_DIR "/%s; [ \"$(cat \"$m\" 2>/dev/null)\" = %.16s ] || "
		"{ ( %s ) && mkdir -p %s" ROLE_PREPARED_DIR " && echo %.16s > \"$m\"; }", root, role, hex, body, root, hex);
	free(body);
	return s;
}

/* The guarded preparation done ahead, then rest (caller frees both). */
char *role_prepare_join(const char *role, const struct role_host *h, char *rest)
{
	char *ahead = role_prepare_ahead(role, h->root), *s;
	if (ahead == NULL)
		return rest;
	s = rest ? xasprintf("%s && { %s; }", ahead, rest) : xstrdup(ahead);
	free(ahead);
	free(rest);
	return s;
}

/* Whether a role's services run idle ahead. */
bool role_runs_idle(const char *role)
{
	const struct role_def *def = role_find(role);
	return def && def->idle;
}

/* The neutral blueprint of one node carrying the roles of roles that run idle; NULL when none
 * does (caller frees). Its one network is never created: pg_hba.conf admits no network. */
static char *ahead_yaml(const char *roles)
{
	struct sbx_buf b = {0};
	char *copy = xstrdup(roles ? roles : ""), *save = NULL;
	size_t n = 0;
	sbx_buf_puts(&b, "apiVersion: sandbox/v1\nname: warm\nsite: { uri: 'qemu:///system', image: { recipe: debian-12 } }\n"
		"networks: [ { name: warm } ]\nnodes: [ { name: warm, networks: [warm], roles: [");
	for (char *r = strtok_r(copy, "+", &save); r; r = strtok_r(NULL, "+", &save))
		if (role_runs_idle(r))
			sbx_buf_printf(&b, "%s%s", n++ ? ", " : "", r);
	sbx_buf_puts(&b, "] } ]\n");
	free(copy);
	if (n == 0) {
		sbx_buf_free(&b);
		return NULL;
	}
	return sbx_buf_steal(&b);
}

/* Apply the idle roles of roles on a warm pool member. */
int role_apply_ahead(const char *roles, const struct role_ahead_host *t, struct sbx_err *err)
{
	char *yaml = ahead_yaml(roles);
	struct bp_blueprint *bp = NULL;
	struct ssh_pool *pool = NULL;
	int rc = 0;
	if (yaml == NULL) {
		ssh_close(t->conn);
		return 0;
	}
	if (t->conn) { /* no second handshake: the connection is taken (proven alive) from a pool */
		pool = ssh_pool_new();
		ssh_pool_put(pool, t->conn);
	}
	if (bp_load_string("warm-pool.yaml", yaml, strlen(yaml), NULL, &bp, err) < 0) {
		sbx_err_prefix(err, "member %s: the roles run ahead (%s)", t->name, roles);
		rc = -1;
	} else {
		struct role_host h = {.name = t->name, .node = "warm", .ssh_addr = t->ssh_addr,
			.pinned_hostkey = t->pinned_hostkey, .root = ""};
		struct role_ctx ctx = {.bp = bp, .env = "warm", .hosts = &h, .nhosts = 1, .ssh_user = t->ssh_user,
			.ssh_priv_pem = t->ssh_priv_pem, .cluster_dir = t->cluster_dir,
			.health_timeout_ms = t->health_timeout_ms, .refresh = true, .pool = pool};
		rc = role_apply_all(&ctx, NULL, err);
	}
	ssh_pool_free(pool);
	bp_free(bp);
	free(yaml);
	return rc;
}
