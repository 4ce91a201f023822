/* cmd_reap — `sandbox reap`: claim and destroy every expired environment. */
#include <stdlib.h>

#include "cli.h"
#include "event.h"
#include "env.h"

/* Reap expired environments. */
int cmd_reap(int argc, char **argv)
{
	struct sbx_err err = SBX_ERR_INIT;
	bool json = false;
	const struct cli_opt opts[] = {CLI_FLAG("json", 0, &json, "print the events as JSON lines"), CLI_END};
	const struct cli_opt_syntax syn = {"reap", opts, NULL, 0, 0, NULL};
	struct cli_opt_args a;
	if (cli_opt_parse(&syn, argc, argv, &a) < 0)
		return a.exit;
	char *me = state_reaper_id("reaper");
	struct state *st = NULL;
	size_t n = 0, failed = 0;
	struct ev_sink *ev = cli_ev_new(json);
	env_interrupt_on_signals();
	struct state_lock *alive = NULL;
	int rc = cli_state_open(&st, &err);
	if (rc == 0 && (rc = state_reaper_hold(st, me, &alive, &err)) == 0)
		rc = env_reap(cli_cfg, st, me, ev, &n, &failed, &err);
	state_env_unlock(alive);
	ev_sink_free(ev);
	state_close(st);
	free(me);
	return rc == 0 ? 0 : cli_fail(&err);
}
