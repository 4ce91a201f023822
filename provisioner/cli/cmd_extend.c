/* cmd_extend — `sandbox extend NAME --ttl D`: push the expiry, never past created + max_ttl. */
#include <stdlib.h>

#include <jansson.h>

#include "cli.h"
#include "env.h"

/* Extend an environment's lifetime. */
int cmd_extend(int argc, char **argv)
{
	struct sbx_err err = SBX_ERR_INIT;
	int64_t ttl = 0, wait = 0;
	bool json = false;
	const struct cli_opt opts[] = {
		CLI_DURATION("ttl", 0, &ttl, "D", "expire D from now (never past created + max_ttl)", .required = true,
			.min = 60),
		CLI_DURATION("wait-lock", 0, &wait, "D", "wait up to D for another command's lock on the environment"),
		CLI_FLAG("json", 0, &json, "print JSON"),
		CLI_END};
	const struct cli_opt_syntax syn = {"extend", opts, "NAME", 1, 1, NULL};
	struct cli_opt_args a;
	if (cli_opt_parse(&syn, argc, argv, &a) < 0)
		return a.exit;
	struct state *st = NULL;
	struct env_extend_result r = {0};
	const char *name = a.pos[0];
	int rc = -1;
	if (cli_state_open(&st, &err) == 0)
		rc = env_extend(st, name, ttl, (int)wait, &r, &err);
	if (rc == 0 && json) {
		cli_print_json(json_pack("{s:s, s:I, s:I, s:b}", "name", name, "expires", (json_int_t)r.expires,
			"seconds_left", (json_int_t)(r.expires - sbx_now()), "capped", r.capped));
	} else if (rc == 0) {
		char buf[32];
		printf("%s now expires in %s%s\n", name, sbx_fmt_duration(r.expires - sbx_now(), buf, sizeof(buf)),
			r.capped ? " (capped by the blueprint's max_ttl)" : "");
	}
	state_close(st);
	return rc == 0 ? 0 : cli_fail(&err);
}
