/* cmd_validate — `sandbox validate BLUEPRINT`: check and print the resolved blueprint. */
#include <getopt.h>
#include <stdlib.h>

#include <jansson.h>

#include "cli.h"

/* Validate a blueprint. */
int cmd_validate(int argc, char **argv)
{
	static const struct option opts[] = {
		{"var", required_argument, NULL, 'v'}, {"name", required_argument, NULL, 'n'},
		{"json", no_argument, NULL, 'j'}, {"quiet", no_argument, NULL, 'q'}, {0, 0, 0, 0}};
	struct cli_vars vars = {0};
	struct sbx_err err = SBX_ERR_INIT;
	const char *name = NULL;
	bool json = false, quiet = false;
	int c, rc;
	optind = 1;
	while ((c = getopt_long(argc, argv, "qn:", opts, NULL)) != -1) {
		if (c == 'v' && cli_vars_add(&vars, optarg, &err) < 0)
			return cli_vars_free(&vars), cli_fail(&err);
		if (c == 'n')
			name = optarg;
		else if (c == 'j')
			json = true;
		else if (c == 'q')
			quiet = true;
		else if (c == '?')
			return cli_vars_free(&vars), cli_usage_error("validate", "unknown option");
	}
	if (optind != argc - 1)
		return cli_vars_free(&vars), cli_usage_error("validate", "expected one BLUEPRINT file");
	struct bp_blueprint *bp = NULL;
	struct bp_load_opts lo = {vars.v, vars.n, name};
	if (bp_load(argv[optind], &lo, &bp, &err) < 0) {
		cli_vars_free(&vars);
		return cli_fail(&err);
	}
	char *s = bp_to_json(bp);
	if (json)
		printf("%s\n", s);
	else if (!quiet)
		printf("%s: valid (%zu node group(s), %zu network(s), hash %.12s)\n", argv[optind], bp->nnodes,
			bp->nnetworks, bp->hash);
	free(s);
	bp_free(bp);
	cli_vars_free(&vars);
	rc = 0;
	return rc;
}
