/* cli — the command table and shared helpers of the subcommands. */
#include "cli.h"
#include "dynlib.h"
#include "env.h"
#include "event.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

const struct env_config *cli_cfg;

const struct cli_cmd cli_cmds[] = {
	{"validate", cmd_validate, "check a blueprint and print it resolved (or its errors)", 0},
	{"plan", cmd_plan, "show what `up` would create, change and delete", 0},
	{"up", cmd_up, "create or converge an environment", CLI_LIBS_INFRA},
	{"down", cmd_down, "destroy an environment and everything it owns", CLI_LIBS_INFRA},
	{"list", cmd_list, "list environments", 0},
	{"status", cmd_status, "show an environment: nodes, addresses, time left", 0},
	{"extend", cmd_extend, "push an environment's expiry (capped by max_ttl)", 0},
	{"outputs", cmd_outputs, "what a CI job needs: addresses, SSH key, URLs", 0},
	{"ssh", cmd_ssh, "open a shell on a node, or run a command there", 0},
	{"reap", cmd_reap, "destroy every expired environment", CLI_LIBS_INFRA},
	{"daemon", cmd_daemon, "reap expired environments every interval; serve /metrics, /healthz and a status page",
		CLI_LIBS_INFRA | CLI_LIBS_HTTPD},
	{"apply", cmd_apply, "server-side apply of Kubernetes manifests to an environment's cluster", CLI_LIBS_INFRA},
	{"kubeconfig", cmd_kubeconfig, "the path of the kubeconfig of an environment's cluster", 0},
	{"gc", cmd_gc, "list (and delete) libvirt objects of ours that the state does not know", CLI_LIBS_INFRA},
	{"unlock", cmd_unlock, "drop an environment's lock lease (PostgreSQL state) whose holder is gone; logs it", 0},
	{"pool", cmd_pool, "list the warm pool's members (booted ahead by `sandbox daemon --pool`)", 0},
	{"caps", cmd_caps, "show or set the caps on live environments (per owner, in total)", 0},
	{"netboot-serve", cmd_netboot_serve, "the HTTP side of a network boot service (started by `up`, not for people)",
		CLI_LIBS_HTTPD},
	{"secret", cmd_secret, "set (from stdin), list or remove the values of a blueprint's ${secret.NAME}", 0},
	{NULL, NULL, NULL, 0},
};

/* Load the libraries of a command's CLI_LIBS_* bits (plan and ssh only read: they load what they use
 * when they use it). */
int cli_load_libs(const struct cli_cmd *c, struct sbx_err *err)
{
	if ((c->libs & CLI_LIBS_INFRA) &&
	    (dynlib_open(&dynlib_virt, err) < 0 || dynlib_open(&dynlib_ssh2, err) < 0 ||
	     dynlib_open(&dynlib_curl, err) < 0 || dynlib_open(&dynlib_ipmi, err) < 0 ||
	     dynlib_open(&dynlib_crypto, err) < 0))
		return -1;
	if ((c->libs & CLI_LIBS_HTTPD) && dynlib_open(&dynlib_mhd, err) < 0)
		return -1;
	return 0;
}

/* Print a command's help: the command parses "--help" from its own option table. */
int cli_help(const char *cmd)
{
	char help[] = "--help";
	for (const struct cli_cmd *c = cli_cmds; c->name; c++)
		if (strcmp(c->name, cmd) == 0) {
			printf("sandbox %s: %s\n", c->name, c->summary);
			fflush(stdout);
			return c->fn(2, (char *[]){(char *)c->name, help, NULL});
		}
	return SBX_EXIT_USAGE;
}

/* Print an error and return its exit code. */
int cli_fail(struct sbx_err *err)
{
	int code = err->code ? err->code : SBX_EXIT_FAILED;
	if (err->n == 0)
		sbx_err_set(err, code, "failed");
	sbx_err_print(err, stderr);
	sbx_err_clear(err);
	return code;
}

/* Open the state. */
int cli_state_open(struct state **st, struct sbx_err *err)
{
	return env_state_open(cli_cfg, st, err);
}

/* Add one --var k=v. */
int cli_vars_add(struct cli_vars *vars, const char *kv, struct sbx_err *err)
{
	const char *eq = strchr(kv, '=');
	if (eq == NULL || eq == kv)
		return sbx_err_set(err, SBX_EXIT_USAGE, "--var expects KEY=VALUE, got \"%s\"", kv);
	vars->v = xrealloc(vars->v, (vars->n + 1) * sizeof(*vars->v));
	vars->v[vars->n++] = (struct bp_var){xstrndup(kv, (size_t)(eq - kv)), xstrdup(eq + 1)};
	return 0;
}

/* Free the --var list. */
void cli_vars_free(struct cli_vars *vars)
{
	for (size_t i = 0; i < vars->n; i++) {
		free((char *)vars->v[i].key);
		free((char *)vars->v[i].value);
	}
	free(vars->v);
	*vars = (struct cli_vars){0};
}

/* Print JSON to stdout. */
void cli_print_json(struct json_t *j)
{
	char *s = json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS);
	printf("%s\n", s ? s : "null");
	free(s);
	json_decref(j);
}

/* Whether stdout is a terminal. */
bool cli_tty(void)
{
	return isatty(STDOUT_FILENO) == 1;
}

/* The event sink for a mutating command. */
struct ev_sink *cli_ev_new(bool json)
{
	return ev_sink_new(json ? EV_JSON : cli_tty() ? EV_TTY : EV_PLAIN, stdout);
}
