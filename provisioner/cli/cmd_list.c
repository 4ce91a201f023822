/* cmd_list — `sandbox list`: every environment the state knows. */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"

/* Time left as text ("permanent", "expired", "3h 5m"). */
static const char *time_left(const struct state_env *e, char *buf, size_t len)
{
	if (e->expires == 0)
		return "permanent";
	int64_t left = e->expires - sbx_now();
	if (left <= 0)
		return "expired";
	return sbx_fmt_duration(left, buf, len);
}

/* One environment as JSON (shared with status). */
json_t *cli_env_json(const struct state_env *e)
{
	char buf[32];
	return json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:s, s:b, s:s, s:s}", "name", e->name, "id", e->id,
		"status", e->status, "blueprint", e->blueprint ? e->blueprint : "", "created", (json_int_t)e->created,
		"expires", (json_int_t)e->expires, "time_left", time_left(e, buf, sizeof(buf)), "protected",
		e->protected, "owner", e->owner ? e->owner : "", "hash", e->bp_hash ? e->bp_hash : "");
}

/* List environments. */
int cmd_list(int argc, char **argv)
{
	struct sbx_err err = SBX_ERR_INIT;
	bool json = false;
	const struct cli_opt opts[] = {CLI_FLAG("json", 0, &json, "print JSON"), CLI_END};
	const struct cli_opt_syntax syn = {"list", opts, NULL, 0, 0, NULL};
	struct cli_opt_args a;
	if (cli_opt_parse(&syn, argc, argv, &a) < 0)
		return a.exit;
	struct state *st = NULL;
	struct state_env **envs = NULL;
	size_t n = 0;
	if (cli_state_open(&st, &err) < 0 || state_env_list(st, &envs, &n, &err) < 0) {
		state_close(st);
		return cli_fail(&err);
	}
	if (json) {
		json_t *a = json_array();
		for (size_t i = 0; i < n; i++)
			json_array_append_new(a, cli_env_json(envs[i]));
		cli_print_json(json_pack("{s:o, s:I}", "items", a, "total", (json_int_t)n));
	} else {
		printf("%-24s %-11s %-12s %-9s %s\n", "NAME", "STATUS", "TIME LEFT", "PROTECTED", "OWNER");
		for (size_t i = 0; i < n; i++) {
			char buf[32];
			printf("%-24s %-11s %-12s %-9s %s\n", envs[i]->name, envs[i]->status,
				time_left(envs[i], buf, sizeof(buf)), envs[i]->protected ? "yes" : "no",
				envs[i]->owner ? envs[i]->owner : "");
		}
	}
	state_env_list_free(envs, n);
	state_close(st);
	return 0;
}
