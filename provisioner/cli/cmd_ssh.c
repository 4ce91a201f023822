/* cmd_ssh — `sandbox ssh NAME NODE [-- CMD...]`: a shell on a node, or a command there. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "env.h"

/* Join argv into one remote command line, each word shell-quoted. */
static char *join_cmd(int argc, char **argv)
{
	struct sbx_buf b = {0};
	for (int i = 0; i < argc; i++) {
		char *q = argc == 1 ? xstrdup(argv[i]) : sbx_shell_quote(argv[i]);
		sbx_buf_printf(&b, "%s%s", i ? " " : "", q);
		free(q);
	}
	return sbx_buf_steal(&b);
}

/* Run one command through libssh2; return its status (or -1). */
static int run_remote(struct state *st, const char *env, const char *node, int argc, char **argv,
	struct sbx_err *err)
{
	struct ssh_result res = {0};
	char *cmd = join_cmd(argc, argv);
	int rc = env_ssh_run(st, env, node, cmd, &res, err);
	if (rc == 0) {
		fwrite(res.out, 1, res.out_len, stdout);
		fwrite(res.err, 1, res.err_len, stderr);
		rc = res.status < 0 ? 255 : res.status;
	}
	ssh_result_clear(&res);
	free(cmd);
	return rc;
}

/* Replace this process with an interactive OpenSSH client. */
static int exec_shell(struct state *st, const char *env, const char *node, struct sbx_err *err)
{
	char **argv = NULL;
	if (env_ssh_argv(st, env, node, &argv, err) < 0)
		return -1;
	fflush(NULL);
	execvp("ssh", argv);
	sbx_err_set(err, SBX_EXIT_FAILED, "cannot run ssh: %s", strerror(errno));
	sbx_err_hint(err, "install an OpenSSH client, or pass a command: `sandbox ssh %s %s -- uname -a`", env, node);
	for (size_t i = 0; argv[i]; i++)
		free(argv[i]);
	free(argv);
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
	int rc = -1;
	if (cli_state_open(&st, &err) == 0)
		rc = a.nrest > 0 ? run_remote(st, a.pos[0], a.pos[1], a.nrest, a.rest, &err) :
			exec_shell(st, a.pos[0], a.pos[1], &err);
	state_close(st);
	return rc >= 0 ? rc : cli_fail(&err);
}
