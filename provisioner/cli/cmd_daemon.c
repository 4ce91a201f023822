/* cmd_daemon — `sandbox daemon`: the reaper loop with /metrics, /healthz and a status page. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "daemon.h"

#define DAEMON_DEFAULT_LISTEN "127.0.0.1:9090"
#define DAEMON_DEFAULT_INTERVAL_S 30

/* Parse the --pool specs into shapes (one per shape and roles). */
static int parse_pool(const struct cli_list *pool, struct warm_shape *shapes, struct sbx_err *err)
{
	for (size_t i = 0; i < pool->n; i++) {
		if (warm_shape_parse(pool->v[i], &shapes[i], err) < 0)
			return -1;
		for (size_t k = 0; k < i; k++)
			if (strcmp(shapes[k].key, shapes[i].key) == 0 && sbx_streq(shapes[k].roles, shapes[i].roles))
				return sbx_err_set(err, SBX_EXIT_USAGE, "--pool %s: the same shape and roles as --pool %s",
					pool->v[i], pool->v[k]);
	}
	return 0;
}

/* Run the daemon until SIGTERM/SIGINT. */
int cmd_daemon(int argc, char **argv)
{
	struct sbx_err err = SBX_ERR_INIT;
	const char *listen = DAEMON_DEFAULT_LISTEN;
	struct cli_list pool = {0};
	int64_t interval = DAEMON_DEFAULT_INTERVAL_S;
	const struct cli_opt opts[] = {
		CLI_STRING("listen", 'l', &listen, "HOST:PORT", "where to serve /, /healthz and /metrics (port 0: any "
			"free port; default " DAEMON_DEFAULT_LISTEN ")"),
		CLI_DURATION("interval", 'i', &interval, "D", "time between reaper passes (default 30s)", .min = 1),
		CLI_LIST("pool", 0, &pool, "SPEC", "keep a warm pool of booted VMs of this shape: recipe=NAME or "
			"image=PATH|URL[,sha256=HEX], cpus=N, memory=SIZE, count=N, roles=ROLE+ROLE (installed ahead; "
			"postgres also started) (repeatable, one per shape and roles)"),
		CLI_END};
	const struct cli_opt_syntax syn = {"daemon", opts, NULL, 0, 0, NULL};
	struct cli_opt_args a;
	if (cli_opt_parse(&syn, argc, argv, &a) < 0)
		return a.exit;
	struct daemon_opts o = {NULL, 0, interval, stdout, NULL, 0};
	struct warm_shape *shapes = xcalloc(pool.n + 1, sizeof(*shapes));
	char *host = NULL;
	int rc = parse_pool(&pool, shapes, &err);
	o.pool = shapes;
	o.npool = pool.n;
	if (rc == 0)
		rc = daemon_parse_listen(listen, &host, &o.port, &err);
	o.host = host;
	if (rc == 0)
		rc = daemon_run(cli_cfg, &o, &err);
	free(host);
	for (size_t i = 0; i < pool.n; i++)
		warm_shape_clear(&shapes[i]);
	free(shapes);
	cli_list_free(&pool);
	return rc == 0 ? 0 : cli_fail(&err);
}
