/* cmd_ssh — `sandbox ssh NAME NODE [-- CMD...]`: a shell on a node, or a command there. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "ssh.h"
#include "env.h"

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

/* Join argv into one remote command line, each word shell-quoted. */
static char *join_cmd(int argc, char **argv)
{
	struct sbx_buf b = {0};
	for (int i = 0; i < argc; i++) {
		char *q = argc == 1 ? xstrdup(argv[i]) : ssh_quote(argv[i]);
		sbx_buf_printf(&b, "%s%s", i ? " " : "", q);
		free(q);
	}
	return sbx_buf_steal(&b);
}

/* Run one command through libssh2; exit with its status. */
static int run_remote(struct state *st, const char *env, const struct env_node *node, const char *cmd,
	struct sbx_err *err)
{
	char *priv = NULL;
	struct ssh_conn *c = NULL;
	struct ssh_result res = {0};
	int rc = -1;
	if (state_secret_get(st, env, "ssh-key", &priv, err) < 0 || priv == NULL) {
		if (!sbx_err_isset(err))
			sbx_err_set(err, SBX_EXIT_FAILED, "environment %s has no SSH key (was `up` ever run?)", env);
		goto out;
	}
	struct ssh_target t = {node->ip, 22, "sandbox", priv, node->hostkey};
	if (ssh_connect(&t, 30000, &c, NULL, err) < 0 || ssh_exec(c, cmd, NULL, &res, err) < 0)
		goto out;
	fwrite(res.out, 1, res.out_len, stdout);
	fwrite(res.err, 1, res.err_len, stderr);
	rc = res.status < 0 ? 255 : res.status;
out:
	ssh_result_clear(&res);
	ssh_close(c);
	free(priv);
	return rc;
}

/* Replace this process with an interactive OpenSSH client. */
static int exec_shell(struct state *st, const char *env, const struct env_node *node, struct sbx_err *err)
{
	char *key = env_key_path(st, env), *kh = env_known_hosts_path(st, env);
	char *khopt = xasprintf("UserKnownHostsFile=%s", kh), *dest = xasprintf("sandbox@%s", node->ip);
	char *argv[] = {"ssh", "-i", key, "-o", khopt, "-o", "StrictHostKeyChecking=yes", "-o",
		"IdentitiesOnly=yes", dest, NULL};
	fflush(NULL);
	execvp("ssh", argv);
	sbx_err_set(err, SBX_EXIT_FAILED, "cannot run ssh: %s", strerror(errno));
	sbx_err_hint(err, "install an OpenSSH client, or pass a command: `sandbox ssh %s %s -- uname -a`", env,
		node->instance);
	free(key);
	free(kh);
	free(khopt);
	free(dest);
	return -1;
}

/* Open a shell on a node, or run a command there. */
int cmd_ssh(int argc, char **argv)
{
	const struct cli_opt opts[] = {CLI_END};
	const struct cli_opt_syntax syn = {"ssh", opts, "NAME NODE", 2, 2, "COMMAND..."};
	struct cli_opt_args a;
	if (cli_opt_parse(&syn, argc, argv, &a) < 0)
		return a.exit;
	struct sbx_err err = SBX_ERR_INIT;
	struct state *st = NULL;
	struct state_env *e = NULL;
	struct env_node *nodes = NULL;
	size_t n = 0;
	int rc = -1;
	if (cli_state_open(&st, &err) < 0 || cli_env_get(st, a.pos[0], &e, &err) < 0 ||
		env_nodes(st, e->name, &nodes, &n, &err) < 0)
		goto out;
	const struct env_node *node = find_node(nodes, n, a.pos[1]);
	if (node == NULL || node->ip == NULL) {
		sbx_err_set(&err, SBX_EXIT_FAILED, "environment %s has no node \"%s\"", e->name, a.pos[1]);
		sbx_err_hint(&err, "`sandbox status %s` lists its nodes", e->name);
		goto out;
	}
	if (a.nrest > 0) {
		char *cmd = join_cmd(a.nrest, a.rest);
		rc = run_remote(st, e->name, node, cmd, &err);
		free(cmd);
	} else {
		rc = exec_shell(st, e->name, node, &err);
	}
out:
	env_nodes_free(nodes, n);
	state_env_free(e);
	state_close(st);
	return rc >= 0 ? rc : cli_fail(&err);
}
