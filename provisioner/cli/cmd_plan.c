/* cmd_plan — `sandbox plan BLUEPRINT`: show what `up` would do, change nothing. */
#include <stdlib.h>

#include "cli.h"
#include "env.h"

/* Print the plan of a blueprint against the state. */
int cmd_plan(int argc, char **argv)
{
	struct cli_vars vars = {0};
	struct sbx_err err = SBX_ERR_INIT;
	const char *name = NULL;
	bool json = false, verbose = false, no_refresh = false;
	const struct cli_opt opts[] = {
		CLI_STRING("name", 'n', &name, "N", "plan the environment named N (default: the blueprint's name)"),
		CLI_VARS("var", 0, &vars, "set a blueprint variable (repeatable)"),
		CLI_FLAG("json", 0, &json, "print the plan as JSON"),
		CLI_FLAG("verbose", 'v', &verbose, "list the unchanged resources too"),
		CLI_FLAG("no-refresh", 0, &no_refresh, "plan from the state alone, without asking libvirt what exists"),
		CLI_END};
	const struct cli_opt_syntax syn = {"plan", opts, "BLUEPRINT", 1, 1, NULL};
	struct cli_opt_args a;
	if (cli_opt_parse(&syn, argc, argv, &a) < 0)
		return a.exit;
	struct bp_blueprint *bp = NULL;
	struct state *st = NULL;
	struct plan p = {0};
	struct bp_load_opts lo = {vars.v, vars.n, name};
	int rc = -1;
	if (bp_load(a.pos[0], &lo, &bp, &err) == 0 && cli_state_open(&st, &err) == 0) {
		struct env_plan_opts po = {bp, name, !no_refresh};
		rc = env_plan(cli_cfg, st, &po, &p, &err);
	}
	if (rc == 0 && json) {
		char *s = plan_to_json(&p);
		printf("%s\n", s);
		free(s);
	} else if (rc == 0) {
		printf("Environment %s (blueprint %s):\n", name ? name : bp->name, a.pos[0]);
		plan_print(&p, stdout, verbose);
	}
	plan_clear(&p);
	state_close(st);
	bp_free(bp);
	cli_vars_free(&vars);
	return rc == 0 ? 0 : cli_fail(&err);
}
