/* cmd_validate — `sandbox validate BLUEPRINT`: check and print the resolved blueprint. */
#include <stdlib.h>

#include <jansson.h>

#include "cli.h"
#include "env.h"

/* Validate a blueprint. */
int cmd_validate(int argc, char **argv)
{
	struct cli_vars vars = {0};
	struct sbx_err err = SBX_ERR_INIT;
	const char *name = NULL;
	bool json = false, quiet = false;
	int rc;
	const struct cli_opt opts[] = {
		CLI_VARS("var", 0, &vars, "set a blueprint variable (repeatable)"),
		CLI_STRING("name", 'n', &name, "N", "resolve ${env.name} as N"),
		CLI_FLAG("json", 0, &json, "print the resolved blueprint as JSON"),
		CLI_FLAG("quiet", 'q', &quiet, "print nothing: the exit code tells"),
		CLI_END};
	const struct cli_opt_syntax syn = {"validate", opts, "BLUEPRINT", 1, 1, NULL};
	struct cli_opt_args a;
	if (cli_opt_parse(&syn, argc, argv, &a) < 0)
		return a.exit;
	struct bp_blueprint *bp = NULL;
	struct bp_load_opts lo = env_bp_opts(cli_cfg, vars.v, vars.n, name);
	lo.no_hash = quiet && !json; /* only the text line prints it */
	if (bp_load(a.pos[0], &lo, &bp, &err) < 0) {
		cli_vars_free(&vars);
		return cli_fail(&err);
	}
	if (json) {
		char *s = bp_to_json(bp); /* built only when printed: a 500-node model takes a while */
		printf("%s\n", s);
		free(s);
	} else if (!quiet) {
		printf("%s: valid (%zu node group(s), %zu network(s), hash %.12s)\n", a.pos[0], bp->nnodes,
			bp->nnetworks, bp->hash);
	}
	bp_free(bp);
	cli_vars_free(&vars);
	rc = 0;
	return rc;
}
