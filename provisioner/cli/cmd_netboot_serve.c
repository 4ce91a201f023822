/* cmd_netboot_serve — `sandbox netboot-serve DIR ADDRESS`: the HTTP side of a network boot service
 * (started by `up`, detached; not for people: see daemon/daemon_netboot.c). */
#include "cli.h"
#include "daemon.h"

/* Serve DIR on ADDRESS until stopped. */
int cmd_netboot_serve(int argc, char **argv)
{
	struct sbx_err err = SBX_ERR_INIT;
	const struct cli_opt opts[] = {CLI_END};
	const struct cli_opt_syntax syn = {"netboot-serve", opts, "DIR ADDRESS", 2, 2, NULL};
	struct cli_opt_args a;
	if (cli_opt_parse(&syn, argc, argv, &a) < 0)
		return a.exit;
	if (daemon_netboot_serve(a.pos[0], a.pos[1], &err) < 0)
		return cli_fail(&err);
	return 0;
}
