/*
 * cli — the command table and what every subcommand shares: option conventions, opening the
 * state, printing errors with a next step, exit codes (enum sbx_exit).
 * One file per subcommand (cmd_<name>.c) provides `int cmd_<name>(int argc, char **argv)`, which
 * parses argv with cli_opt_parse before anything else: `sandbox help CMD` runs it with --help.
 */
#ifndef SBX_CLI_H
#define SBX_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include "bp.h"
#include "cli_opt.h"
#include "state.h"
#include "util.h"

struct cli_cmd {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary; /* one line; the usage and options come from the command's cli_opt table */
	unsigned libs;       /* CLI_LIBS_* bits: the libraries to load before it starts */
};

/* A command that changes infrastructure loads libvirt, libssh2, libcurl and libfreeipmi up front, so
 * that a missing one is an error with a hint before anything is touched; the daemon also libmicrohttpd. */
enum { CLI_LIBS_INFRA = 1u << 0, CLI_LIBS_HTTPD = 1u << 1 };

/* The table (NULL-terminated by name). */
extern const struct cli_cmd cli_cmds[];

/* Load the libraries a command needs before it runs (a missing one is an error with a hint, not a
 * failure halfway through); the others load on first use, if ever. 0, or -1 with err. */
int cli_load_libs(const struct cli_cmd *c, struct sbx_err *err);
/* Print the help of a command to stdout (its summary, then what `sandbox CMD --help` prints);
 * return the exit code: 0, or SBX_EXIT_USAGE for an unknown command. */
int cli_help(const char *cmd);
/* Print err (and its hint) to stderr; return its exit code (SBX_EXIT_FAILED when unset). */
int cli_fail(struct sbx_err *err);

/* Open the state the configuration names (--state, $SANDBOX_STATE or the default). */
int cli_state_open(struct state **st, struct sbx_err *err) SBX_WUR;
/* The configuration, built by main before the subcommand runs (flags, SANDBOX_*, defaults). */
struct env_config;
extern const struct env_config *cli_cfg;

/* --var k=v collection (CLI_VARS rows of an option table). */
struct cli_vars {
	struct bp_var *v;
	size_t n;
};
/* Append "KEY=VALUE" (copied); -1 with a usage error in err when kv has no KEY=. */
int cli_vars_add(struct cli_vars *vars, const char *kv, struct sbx_err *err);
/* Free the pairs and empty the collection. */
void cli_vars_free(struct cli_vars *vars);

/* Print a JSON value compactly or indented to stdout (takes the reference). */
struct json_t;
void cli_print_json(struct json_t *j);

/* One environment as JSON (list and status). */
struct json_t *cli_env_json(const struct state_env *e);
/* What `list --json` prints of envs, without the final newline (caller frees): the same bytes as
 * cli_print_json of {"items": [cli_env_json of each], "total": n}. */
char *cli_env_list_json(struct state_env **envs, size_t n);

/* Whether stdout is a terminal (colour/live view). */
bool cli_tty(void);

/* The event sink of up/down/reap: JSON lines with --json, a live view on a TTY, else plain. */
struct ev_sink;
struct ev_sink *cli_ev_new(bool json);

/* Subcommands. */
int cmd_validate(int argc, char **argv);
int cmd_plan(int argc, char **argv);
int cmd_up(int argc, char **argv);
int cmd_down(int argc, char **argv);
int cmd_list(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_extend(int argc, char **argv);
int cmd_outputs(int argc, char **argv);
int cmd_ssh(int argc, char **argv);
int cmd_reap(int argc, char **argv);
int cmd_daemon(int argc, char **argv);
int cmd_unlock(int argc, char **argv);
int cmd_caps(int argc, char **argv);
int cmd_pool(int argc, char **argv);
int cmd_gc(int argc, char **argv);
int cmd_secret(int argc, char **argv);
int cmd_apply(int argc, char **argv);
int cmd_kubeconfig(int argc, char **argv);
int cmd_netboot_serve(int argc, char **argv);

#endif
