/* cmd_up — `sandbox up BLUEPRINT --name N`: create or converge an environment. */
#include <getopt.h>
#include <stdlib.h>

#include "cli.h"
#include "event.h"
#include "exec.h"
#include "env.h"

/* Bring an environment up. */
int cmd_up(int argc, char **argv)
{
	static const struct option opts[] = {
		{"var", required_argument, NULL, 'V'}, {"name", required_argument, NULL, 'n'},
		{"ttl", required_argument, NULL, 't'}, {"json", no_argument, NULL, 'j'},
		{"wait-lock", required_argument, NULL, 'w'}, {"parallel", required_argument, NULL, 'p'},
		{"no-wait", no_argument, NULL, 'N'}, {0, 0, 0, 0}};
	struct cli_vars vars = {0};
	struct sbx_err err = SBX_ERR_INIT;
	struct env_up_opts o = {0};
	bool json = false;
	int64_t secs;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "n:", opts, NULL)) != -1) {
		switch (c) {
		case 'V':
			if (cli_vars_add(&vars, optarg, &err) < 0)
				return cli_vars_free(&vars), cli_fail(&err);
			break;
		case 'n': o.env = optarg; break;
		case 't':
			if (cli_duration("up", "--ttl", optarg, &o.ttl) < 0)
				return cli_vars_free(&vars), SBX_EXIT_USAGE;
			break;
		case 'j': json = true; break;
		case 'w':
			if (cli_duration("up", "--wait-lock", optarg, &secs) < 0)
				return cli_vars_free(&vars), SBX_EXIT_USAGE;
			o.wait_lock = (int)secs;
			break;
		case 'p': o.parallel = (int)strtol(optarg, NULL, 10); break;
		case 'N': o.no_wait = true; break;
		default: return cli_vars_free(&vars), cli_usage_error("up", "unknown option");
		}
	}
	if (optind != argc - 1)
		return cli_vars_free(&vars), cli_usage_error("up", "expected one BLUEPRINT file");
	o.bp_path = argv[optind];
	o.vars = vars.v;
	o.nvars = vars.n;
	o.ev = cli_ev_new(json);
	exec_install_signals();
	struct state *st = NULL;
	int rc = cli_state_open(&st, &err);
	if (rc == 0)
		rc = env_up(cli_cfg, st, &o, &err);
	ev_sink_free(o.ev);
	state_close(st);
	cli_vars_free(&vars);
	return rc == 0 ? 0 : cli_fail(&err);
}
