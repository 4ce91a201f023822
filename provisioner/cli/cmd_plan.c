/* cmd_plan — `sandbox plan BLUEPRINT`: show what `up` would do, change nothing. */
#include <getopt.h>
#include <stdlib.h>

#include "cli.h"
#include "env.h"

/* Print the plan of a blueprint against the state. */
int cmd_plan(int argc, char **argv)
{
	static const struct option opts[] = {
		{"var", required_argument, NULL, 'V'}, {"name", required_argument, NULL, 'n'},
		{"json", no_argument, NULL, 'j'}, {"verbose", no_argument, NULL, 'v'},
		{"no-refresh", no_argument, NULL, 'R'}, {0, 0, 0, 0}};
	struct cli_vars vars = {0};
	struct sbx_err err = SBX_ERR_INIT;
	const char *name = NULL;
	bool json = false, verbose = false, refresh = true;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "vn:", opts, NULL)) != -1) {
		if (c == 'V' && cli_vars_add(&vars, optarg, &err) < 0)
			return cli_vars_free(&vars), cli_fail(&err);
		if (c == 'n')
			name = optarg;
		else if (c == 'j')
			json = true;
		else if (c == 'v')
			verbose = true;
		else if (c == 'R')
			refresh = false;
		else if (c == '?')
			return cli_vars_free(&vars), cli_usage_error("plan", "unknown option");
	}
	if (optind != argc - 1)
		return cli_vars_free(&vars), cli_usage_error("plan", "expected one BLUEPRINT file");
	struct bp_blueprint *bp = NULL;
	struct state *st = NULL;
	struct plan p = {0};
	struct bp_load_opts lo = {vars.v, vars.n, name};
	int rc = -1;
	if (bp_load(argv[optind], &lo, &bp, &err) == 0 && cli_state_open(&st, &err) == 0) {
		struct env_plan_opts po = {bp, name, refresh};
		rc = env_plan(cli_cfg, st, &po, &p, &err);
	}
	if (rc == 0 && json) {
		char *s = plan_to_json(&p);
		printf("%s\n", s);
		free(s);
	} else if (rc == 0) {
		printf("Environment %s (blueprint %s):\n", name ? name : bp->name, argv[optind]);
		plan_print(&p, stdout, verbose);
	}
	plan_clear(&p);
	state_close(st);
	bp_free(bp);
	cli_vars_free(&vars);
	return rc == 0 ? 0 : cli_fail(&err);
}
