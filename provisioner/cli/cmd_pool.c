/* cmd_pool — `sandbox pool [--json]`: the warm pool's members (`sandbox daemon --pool`): name, shape,
 * status, age, address on the pool network, the environment and node that claimed it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "env.h"

/* One member as JSON. */
static json_t *member_json(const struct warm_member *m, int64_t now)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:s?, s:s?, s:s?, s:I, s:I, s:I, s:s}", "name", m->id, "shape", m->shape,
		"status", m->status, "image_hash", m->image_hash, "address", m->address, "claimed_env", m->claimed_env,
		"claimed_node", m->claimed_node, "created", (json_int_t)m->created, "updated", (json_int_t)m->updated,
		"age_s", (json_int_t)(now - m->created), "roles", m->roles ? m->roles : "");
}

/* Print the members as a table. */
static void members_print(const struct warm_member *v, size_t n, int64_t now)
{
	if (n == 0) {
		printf("no warm pool members (`sandbox daemon --pool SPEC` keeps some)\n");
		return;
	}
	printf("%-44s %-9s %-7s %-15s %-20s %s\n", "NAME", "STATUS", "AGE", "ADDRESS", "CLAIMED BY", "SHAPE");
	for (size_t i = 0; i < n; i++) {
		char age[32], *by = v[i].claimed_env ? xasprintf("%s/%s", v[i].claimed_env, v[i].claimed_node) : NULL;
		sbx_fmt_duration(now - v[i].created, age, sizeof(age));
		printf("%-44s %-9s %-7s %-15s %-20s %s%s%s\n", v[i].id, v[i].status, age, v[i].address ? v[i].address : "-",
			by ? by : "-", v[i].shape, v[i].roles && *v[i].roles ? ",roles=" : "", v[i].roles ? v[i].roles : "");
		free(by);
	}
}

/* List the warm pool's members. */
int cmd_pool(int argc, char **argv)
{
	struct sbx_err err = SBX_ERR_INIT;
	bool json = false;
	const struct cli_opt opts[] = {CLI_FLAG("json", 0, &json, "print JSON"), CLI_END};
	const struct cli_opt_syntax syn = {"pool", opts, NULL, 0, 0, NULL};
	struct cli_opt_args a;
	if (cli_opt_parse(&syn, argc, argv, &a) < 0)
		return a.exit;
	struct state *st = NULL;
	struct warm_member *v = NULL;
	size_t n = 0;
	int rc = cli_state_open(&st, &err);
	if (rc == 0)
		rc = state_warm_list(st, NULL, &v, &n, &err);
	state_close(st);
	if (rc < 0)
		return cli_fail(&err);
	int64_t now = sbx_now();
	if (json) {
		json_t *items = json_array();
		for (size_t i = 0; i < n; i++)
			json_array_append_new(items, member_json(&v[i], now));
		cli_print_json(json_pack("{s:o, s:I}", "members", items, "total", (json_int_t)n));
	} else {
		members_print(v, n, now);
	}
	state_warm_list_free(v, n);
	return 0;
}
