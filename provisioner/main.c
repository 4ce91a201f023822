/* sandbox — ephemeral environments from blueprints. Entry point: dispatch to a subcommand. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "env_config.h"

#ifndef SBX_VERSION
#define SBX_VERSION "0.1.0"
#endif

/* Print the list of commands. */
static void usage(FILE *f)
{
	fprintf(f, "usage: sandbox [--state PATH] COMMAND [ARGS]\n\ncommands:\n");
	for (const struct cli_cmd *c = cli_cmds; c->name; c++)
		fprintf(f, "  %-9s %s\n", c->name, c->summary);
	fprintf(f, "\nexit codes: 0 ok, 1 failed, 2 usage or blueprint error, 3 refused "
		"(protected, locked, no capacity)\n`sandbox help COMMAND` shows a command's usage and options.\n");
}

/* Find a subcommand by name. */
static const struct cli_cmd *find_cmd(const char *name)
{
	for (const struct cli_cmd *c = cli_cmds; c->name; c++)
		if (strcmp(c->name, name) == 0)
			return c;
	return NULL;
}

/* Dispatch. */
int main(int argc, char **argv)
{
	int i = 1;
	const char *state_flag = NULL;
	if (i + 1 < argc && strcmp(argv[i], "--state") == 0) {
		state_flag = argv[i + 1];
		i += 2;
	}
	if (i >= argc || strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
		usage(i >= argc ? stderr : stdout);
		return i >= argc ? SBX_EXIT_USAGE : 0;
	}
	if (strcmp(argv[i], "--version") == 0 || strcmp(argv[i], "version") == 0) {
		printf("sandbox %s\n", SBX_VERSION);
		return 0;
	}
	if (strcmp(argv[i], "help") == 0) {
		if (i + 1 < argc && find_cmd(argv[i + 1]))
			return cli_help(argv[i + 1]);
		usage(stdout);
		return 0;
	}
	const struct cli_cmd *c = find_cmd(argv[i]);
	if (c == NULL) {
		fprintf(stderr, "sandbox: unknown command \"%s\"\nhint: `sandbox --help` lists the commands\n", argv[i]);
		return SBX_EXIT_USAGE;
	}
	struct env_config cfg;
	struct sbx_err err = SBX_ERR_INIT;
	if (env_config_load(&cfg, state_flag, &err) < 0)
		return cli_fail(&err);
	cli_cfg = &cfg;
	if (cli_load_libs(c, &err) < 0) {
		env_config_clear(&cfg);
		return cli_fail(&err);
	}
	int rc = c->fn(argc - i, argv + i);
	env_config_clear(&cfg);
	return rc;
}
