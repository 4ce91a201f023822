/* cmd_up — `sandbox up BLUEPRINT --name N`: create or converge an environment. */
#include <stdlib.h>

#include "cli.h"
#include "event.h"
#include "env.h"

/* Bring an environment up. */
int cmd_up(int argc, char **argv)
{
	struct cli_vars vars = {0};
	struct sbx_err err = SBX_ERR_INIT;
	struct env_up_opts o = {0};
	bool json = false;
	int64_t secs = 0;
	const struct cli_opt opts[] = {
		CLI_STRING("name", 'n', &o.env, "N", "the environment's name (default: the blueprint's name)"),
		CLI_DURATION("ttl", 0, &o.ttl, "D", "expire D from now (default: the blueprint's lifetime.ttl)", .min = 60),
		CLI_VARS("var", 0, &vars, "set a blueprint variable (repeatable)"),
		CLI_FLAG("json", 0, &json, "print the events as JSON lines"),
		CLI_DURATION("wait-lock", 0, &secs, "D", "wait up to D for another command's lock on the environment"),
		CLI_INT("parallel", 0, &o.parallel, "N", 1, 256, "run at most N steps at once (default 16)"),
		CLI_FLAG("no-wait", 0, &o.no_wait, "return once the VMs run: no SSH readiness, no roles"),
		CLI_FLAG("queue", 0, &o.queue, "when it does not fit (capacity, caps, machines), wait until it does"),
		CLI_DURATION("queue-timeout", 0, &o.queue_timeout, "D", "with --queue: wait at most D (default 1h)",
			.min = 1),
		CLI_FLAG("refresh", 0, &o.refresh, "apply every role in full with its health check, also on nodes "
			"found unchanged"),
		CLI_END};
	const struct cli_opt_syntax syn = {"up", opts, "BLUEPRINT", 1, 1, NULL};
	struct cli_opt_args a;
	if (cli_opt_parse(&syn, argc, argv, &a) < 0)
		return a.exit;
	o.wait_lock = (int)secs;
	o.bp_path = a.pos[0];
	o.vars = vars.v;
	o.nvars = vars.n;
	o.ev = cli_ev_new(json);
	env_interrupt_on_signals();
	struct state *st = NULL;
	int rc = cli_state_open(&st, &err);
	if (rc == 0)
		rc = env_up(cli_cfg, st, &o, &err);
	ev_sink_free(o.ev);
	state_close(st);
	cli_vars_free(&vars);
	return rc == 0 ? 0 : cli_fail(&err);
}
