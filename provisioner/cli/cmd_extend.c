/* cmd_extend — `sandbox extend NAME --ttl D`: push the expiry, never past created + max_ttl. */
#include <stdlib.h>

#include <jansson.h>

#include "cli.h"

/* Compute and store the new expiry. */
static int extend(struct state *st, const struct state_env *e, int64_t ttl, int64_t *expires,
	bool *capped, struct sbx_err *err)
{
	char buf[32];
	if (e->expires == 0)
		return sbx_err_set(err, SBX_EXIT_REFUSED, "environment %s is permanent: it does not expire", e->name);
	if (!sbx_streq(e->status, STATE_ENV_READY) && !sbx_streq(e->status, STATE_ENV_FAILED) &&
		!sbx_streq(e->status, STATE_ENV_CREATING)) {
		sbx_err_set(err, SBX_EXIT_REFUSED, "environment %s is %s", e->name, e->status);
		sbx_err_hint(err, "an environment being torn down cannot be extended; `sandbox up` it again instead");
		return -1;
	}
	int64_t want = sbx_now() + ttl, cap = e->max_ttl ? e->created + e->max_ttl : 0;
	*capped = cap && want > cap;
	*expires = *capped ? cap : want;
	if (*capped && cap <= sbx_now()) {
		sbx_err_set(err, SBX_EXIT_REFUSED, "environment %s has reached its max_ttl (%s)", e->name,
			sbx_fmt_duration(e->max_ttl, buf, sizeof(buf)));
		sbx_err_hint(err, "create a new environment, or raise lifetime.max_ttl in its blueprint and `up` again");
		return -1;
	}
	if (*expires < e->expires)
		*expires = e->expires; /* extend never shortens */
	return state_env_set_expires(st, e->name, *expires, err);
}

/* Extend an environment's lifetime. */
int cmd_extend(int argc, char **argv)
{
	struct sbx_err err = SBX_ERR_INIT;
	int64_t ttl = 0, expires = 0;
	bool json = false, capped = false;
	const struct cli_opt opts[] = {
		CLI_DURATION("ttl", 0, &ttl, "D", "expire D from now (never past created + max_ttl)", .required = true),
		CLI_FLAG("json", 0, &json, "print JSON"),
		CLI_END};
	const struct cli_opt_syntax syn = {"extend", opts, "NAME", 1, 1, NULL};
	struct cli_opt_args a;
	if (cli_opt_parse(&syn, argc, argv, &a) < 0)
		return a.exit;
	struct state *st = NULL;
	struct state_env *e = NULL;
	int rc = -1;
	if (cli_state_open(&st, &err) == 0 && cli_env_get(st, a.pos[0], &e, &err) == 0)
		rc = extend(st, e, ttl, &expires, &capped, &err);
	if (rc == 0 && json) {
		cli_print_json(json_pack("{s:s, s:I, s:I, s:b}", "name", e->name, "expires", (json_int_t)expires,
			"seconds_left", (json_int_t)(expires - sbx_now()), "capped", capped));
	} else if (rc == 0) {
		char buf[32];
		printf("%s now expires in %s%s\n", e->name, sbx_fmt_duration(expires - sbx_now(), buf, sizeof(buf)),
			capped ? " (capped by the blueprint's max_ttl)" : "");
	}
	if (rc == 0)
		(void)state_event_add(st, e->name, "extend", NULL, NULL);
	state_env_free(e);
	state_close(st);
	return rc == 0 ? 0 : cli_fail(&err);
}
