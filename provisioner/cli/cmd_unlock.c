/* cmd_unlock — `sandbox unlock ENV`: drop an environment's lock lease whose holder is gone. */
#include <stdio.h>

#include "cli.h"
#include "env.h"

/* Drop the lease and say whose it was. */
int cmd_unlock(int argc, char **argv)
{
	struct sbx_err err = SBX_ERR_INIT;
	const struct cli_opt opts[] = {CLI_END};
	const struct cli_opt_syntax syn = {"unlock", opts, "ENV", 1, 1, NULL};
	struct cli_opt_args a;
	if (cli_opt_parse(&syn, argc, argv, &a) < 0)
		return a.exit;
	struct state *st = NULL;
	bool held = false;
	int rc = cli_state_open(&st, &err);
	if (rc == 0)
		rc = state_env_lock_break(st, a.pos[0], cli_cfg->owner, &held, &err);
	state_close(st);
	if (rc < 0)
		return cli_fail(&err);
	printf(held ? "unlocked %s (event lock.unlock)\n" :
		"%s held no lock lease; nothing to unlock (event lock.unlock)\n", a.pos[0]);
	return 0;
}
