/*
 * cmd_caps — `sandbox caps [--json]` shows the caps on live environments (per owner, in total) and
 * how many live now; `sandbox caps set [--per-owner N|none] [--total N|none]` changes them in the
 * state (a cap not named keeps its value). `up` refuses (exit 3) an environment past a cap.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "env.h"

/* A cap's value: a whole number >= 0, or "none" (-1). */
static int cap_arg(const struct cli_opt_syntax *syn, const char *flag, const char *v, int64_t *out)
{
	char *end = NULL;
	if (v == NULL)
		return 0;
	if (strcmp(v, "none") == 0) {
		*out = -1;
		return 0;
	}
	long long n = strtoll(v, &end, 10);
	if (end == v || *end || n < 0 || n > 1000000)
		return cli_opt_error(syn, "--%s: expected a number of environments or none, got \"%s\"", flag, v);
	*out = n;
	return 0;
}

/* A cap as text. */
static const char *cap_text(int64_t v, char *buf, size_t len)
{
	if (v < 0)
		return "none";
	snprintf(buf, len, "%lld", (long long)v);
	return buf;
}

/* Print the caps and the live counts. */
static int caps_show(struct state *st, bool json, struct sbx_err *err)
{
	struct state_caps c;
	int64_t mine = 0, all = 0;
	char a[24], b[24];
	if (state_caps_get(st, &c, err) < 0 || state_env_count(st, cli_cfg->owner, NULL, &mine, err) < 0 ||
		state_env_count(st, NULL, NULL, &all, err) < 0)
		return -1;
	if (json) {
		cli_print_json(json_pack("{s:o, s:o, s:I, s:s, s:I}", "per_owner",
			c.per_owner < 0 ? json_null() : json_integer(c.per_owner), "total",
			c.total < 0 ? json_null() : json_integer(c.total), "live", (json_int_t)all, "owner", cli_cfg->owner,
			"owner_live", (json_int_t)mine));
		return 0;
	}
	printf("per-owner cap: %s (%s has %lld live)\n", cap_text(c.per_owner, a, sizeof(a)), cli_cfg->owner,
		(long long)mine);
	printf("total cap:     %s (%lld live)\n", cap_text(c.total, b, sizeof(b)), (long long)all);
	return 0;
}

/* Show or set the caps on live environments. */
int cmd_caps(int argc, char **argv)
{
	struct sbx_err err = SBX_ERR_INIT;
	const char *per_owner = NULL, *total = NULL;
	bool json = false;
	const struct cli_opt opts[] = {
		CLI_STRING("per-owner", 0, &per_owner, "N", "set: at most N live environments per owner (none: no cap)"),
		CLI_STRING("total", 0, &total, "N", "set: at most N live environments in the state (none: no cap)"),
		CLI_FLAG("json", 0, &json, "print JSON"),
		CLI_END};
	const struct cli_opt_syntax syn = {"caps", opts, "[set]", 0, 1, NULL};
	struct cli_opt_args a;
	if (cli_opt_parse(&syn, argc, argv, &a) < 0)
		return a.exit;
	bool set = a.npos == 1;
	if (set && strcmp(a.pos[0], "set") != 0)
		return cli_opt_error(&syn, "expected set, got \"%s\"", a.pos[0]);
	if (set ? per_owner == NULL && total == NULL : per_owner != NULL || total != NULL)
		return cli_opt_error(&syn, set ? "caps set needs --per-owner N or --total N" :
			"--per-owner and --total go with `caps set`");
	struct state *st = NULL;
	struct state_caps c = {-1, -1};
	int rc = cli_state_open(&st, &err);
	if (rc == 0 && set && (rc = state_caps_get(st, &c, &err)) == 0) {
		if (cap_arg(&syn, "per-owner", per_owner, &c.per_owner) != 0 || cap_arg(&syn, "total", total, &c.total) != 0) {
			state_close(st);
			return SBX_EXIT_USAGE;
		}
		rc = state_caps_set(st, &c, &err);
	}
	if (rc == 0)
		rc = caps_show(st, json, &err);
	state_close(st);
	return rc == 0 ? 0 : cli_fail(&err);
}
