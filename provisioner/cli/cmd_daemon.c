/* cmd_daemon — `sandbox daemon`: the reaper loop with /metrics, /healthz and a status page. */
#include <stdlib.h>

#include "cli.h"
#include "daemon.h"

#define DAEMON_DEFAULT_LISTEN "127.0.0.1:9090"
#define DAEMON_DEFAULT_INTERVAL_S 30

/* Run the daemon until SIGTERM/SIGINT. */
int cmd_daemon(int argc, char **argv)
{
	struct sbx_err err = SBX_ERR_INIT;
	const char *listen = DAEMON_DEFAULT_LISTEN;
	int64_t interval = DAEMON_DEFAULT_INTERVAL_S;
	const struct cli_opt opts[] = {
		CLI_STRING("listen", 'l', &listen, "HOST:PORT", "where to serve /, /healthz and /metrics (port 0: any "
			"free port; default " DAEMON_DEFAULT_LISTEN ")"),
		CLI_DURATION("interval", 'i', &interval, "D", "time between reaper passes (default 30s)", .min = 1),
		CLI_END};
	const struct cli_opt_syntax syn = {"daemon", opts, NULL, 0, 0, NULL};
	struct cli_opt_args a;
	if (cli_opt_parse(&syn, argc, argv, &a) < 0)
		return a.exit;
	struct daemon_opts o = {NULL, 0, interval, stdout};
	char *host = NULL;
	if (daemon_parse_listen(listen, &host, &o.port, &err) < 0)
		return cli_fail(&err);
	o.host = host;
	int rc = daemon_run(cli_cfg, &o, &err);
	free(host);
	return rc == 0 ? 0 : cli_fail(&err);
}
