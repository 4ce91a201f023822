/* env_ssh — reach one node of an environment: a command over libssh2, or OpenSSH's argv. */
#include "env_int.h"

#include <stdlib.h>
#include <string.h>

/* Find the node instance: "web-0" exactly, or "web" for its first instance. */
static const struct env_node *find_node(const struct env_node *nodes, size_t n, const char *want)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(nodes[i].instance, want) == 0)
			return &nodes[i];
	for (size_t i = 0; i < n; i++)
		if (strcmp(nodes[i].node, want) == 0 && nodes[i].index == 0)
			return &nodes[i];
	return NULL;
}

/* Load the node (with its pinned key) and the environment's private key. */
static int ssh_target_load(struct state *st, const char *env, const char *node, struct env_node **nodes,
	size_t *n, const struct env_node **hit, char **priv, struct sbx_err *err)
{
	struct state_env *e = NULL;
	int rc = env_get(st, env, &e, err);
	state_env_free(e);
	if (rc < 0 || env_nodes(st, env, nodes, n, err) < 0)
		return -1;
	*hit = find_node(*nodes, *n, node);
	if (*hit == NULL || (*hit)->ip == NULL) {
		sbx_err_set(err, SBX_EXIT_FAILED, "environment %s has no node \"%s\"", env, node);
		sbx_err_hint(err, "`sandbox status %s` lists its nodes", env);
		return -1;
	}
	if (priv && (state_secret_get(st, env, "ssh-key", priv, err) < 0 || *priv == NULL)) {
		if (!sbx_err_isset(err))
			sbx_err_set(err, SBX_EXIT_FAILED, "environment %s has no SSH key (was `up` ever run?)", env);
		return -1;
	}
	return 0;
}

/* Run one command on a node. */
int env_ssh_run(struct state *st, const char *env, const char *node, const char *cmd, struct ssh_result *res,
	struct sbx_err *err)
{
	struct env_node *nodes = NULL;
	const struct env_node *hit = NULL;
	struct ssh_conn *c = NULL;
	char *priv = NULL;
	size_t n = 0;
	int rc = -1;
	*res = (struct ssh_result){0};
	if (ssh_target_load(st, env, node, &nodes, &n, &hit, &priv, err) == 0) {
		struct ssh_target t = {hit->ip, 22, "sandbox", priv, hit->hostkey};
		rc = ssh_connect(&t, 30000, &c, NULL, err) < 0 || ssh_exec(c, cmd, NULL, res, err) < 0 ? -1 : 0;
	}
	ssh_close(c);
	if (priv)
		memset(priv, 0, strlen(priv));
	free(priv);
	env_nodes_free(nodes, n);
	return rc;
}

/* The OpenSSH command line for an interactive shell on a node. */
int env_ssh_argv(struct state *st, const char *env, const char *node, char ***argv, struct sbx_err *err)
{
	struct env_node *nodes = NULL;
	const struct env_node *hit = NULL;
	size_t n = 0;
	int rc = ssh_target_load(st, env, node, &nodes, &n, &hit, NULL, err);
	if (rc == 0) {
		char *kh = env_known_hosts_path(st, env);
		char **v = xcalloc(11, sizeof(char *));
		const char *fixed[] = {"ssh", "-i", NULL, "-o", NULL, "-o", "StrictHostKeyChecking=yes", "-o",
			"IdentitiesOnly=yes", NULL};
		for (size_t i = 0; i < SBX_NELEM(fixed); i++)
			v[i] = xstrdup(fixed[i]);
		v[2] = env_key_path(st, env);
		v[4] = xasprintf("UserKnownHostsFile=%s", kh);
		v[9] = xasprintf("sandbox@%s", hit->ip);
		free(kh);
		*argv = v;
	}
	env_nodes_free(nodes, n);
	return rc;
}
