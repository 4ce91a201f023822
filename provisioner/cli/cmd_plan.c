/* cmd_plan — `sandbox plan BLUEPRINT`: show what `up` would do, change nothing. */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "env.h"
#include "term.h"

/* The role changes as a JSON array. */
static json_t *roles_json(const struct env_role_plan *r)
{
	json_t *a = json_array();
	for (size_t i = 0; i < r->n; i++)
		json_array_append_new(a, json_pack("{s:s, s:s, s:s, s:s}", "host", r->changes[i].host, "role",
			r->changes[i].role, "action", role_change_verb(r->changes[i].kind), "what", r->changes[i].what));
	return a;
}

/* Print the role changes under the resource plan. */
static void roles_print(const struct env_role_plan *r, bool refresh)
{
	size_t files = 0, services = 0, unreachable = 0;
	if (!r->applies)
		return;
	if (!r->checked) {
		printf("Roles: %s\n", refresh ? "no node to ask yet (up applies every role on new nodes)" :
			"not checked (--no-refresh)");
		return;
	}
	for (size_t i = 0; i < r->n; i++) {
		const struct role_change *c = &r->changes[i];
		bool file = c->kind == ROLE_CHANGE_CREATE || c->kind == ROLE_CHANGE_UPDATE;
		files += file;
		unreachable += c->kind == ROLE_CHANGE_UNREACHABLE;
		services += !file && c->kind != ROLE_CHANGE_UNREACHABLE;
		char *what = term_sanitize(c->what); /* an unreachable host's error may carry remote text */
		printf("%s %-28s %-9s %-11s %s\n", c->kind == ROLE_CHANGE_UNREACHABLE ? "!" : file ? "~" : ">", c->host,
			c->role, role_change_verb(c->kind), what);
		free(what);
	}
	printf("Roles on %zu existing node(s): %zu file(s) to change, %zu service action(s), %zu node(s) "
		"unreachable.\n", r->nnodes, files, services, unreachable);
}

/* The cluster's planned changes as a JSON array. */
static json_t *cluster_json(const struct env_cluster_plan *c)
{
	json_t *a = json_array();
	for (size_t i = 0; i < c->n; i++)
		json_array_append_new(a, json_pack("{s:s, s:s, s:s?}", "object", c->v[i].who, "action", c->v[i].action,
			"detail", c->v[i].detail));
	return a;
}

/* Print what the cluster phase would do. */
static void cluster_print(const struct env_cluster_plan *c, bool verbose)
{
	if (!c->applies)
		return;
	if (!c->checked) {
		printf("Cluster: %s\n", c->why ? c->why : "not checked");
		return;
	}
	for (size_t i = 0; i < c->n; i++) {
		const struct env_cluster_change *ch = &c->v[i];
		const char *a = ch->action;
		if (strcmp(a, "unchanged") == 0 && !verbose)
			continue;
		char *detail = term_sanitize(ch->detail ? ch->detail : ""); /* server text */
		printf("%s %s%s%s%s\n", strcmp(a, "create") == 0 ? "+" : strcmp(a, "change") == 0 ? "~" :
			strcmp(a, "prune") == 0 ? "-" : strcmp(a, "unchanged") == 0 ? " " : "!", ch->who,
			strcmp(a, "prune") == 0 ? " (no longer declared)" : strcmp(a, "conflict") == 0 ? " (conflict)" : "",
			*detail ? "\n" : "", detail);
		free(detail);
	}
	printf("Cluster (server-side dry run): %zu to create, %zu to change, %zu to prune, %zu unchanged%s%zu "
		"would fail.\n", c->ncreate, c->nchange, c->nprune, c->nunchanged, ", ", c->nfail);
}

/* Print the plan as one JSON document. */
static void plan_json(const struct env_plan_result *res)
{
	json_t *o = plan_to_json_value(&res->plan);
	json_object_set_new(o, "roles", roles_json(&res->roles));
	json_object_set_new(o, "roles_checked", json_boolean(res->roles.checked));
	json_object_set_new(o, "cluster", cluster_json(&res->cluster));
	json_object_set_new(o, "cluster_checked", json_boolean(res->cluster.checked));
	json_object_set_new(o, "capacity", res->fit ? json_string(res->fit) : json_null());
	cli_print_json(o);
}

/* Print the plan of a blueprint against the state. */
int cmd_plan(int argc, char **argv)
{
	struct cli_vars vars = {0};
	struct sbx_err err = SBX_ERR_INIT;
	const char *name = NULL;
	bool json = false, verbose = false, no_refresh = false;
	const struct cli_opt opts[] = {
		CLI_STRING("name", 'n', &name, "N", "plan the environment named N (default: the blueprint's name)"),
		CLI_VARS("var", 0, &vars, "set a blueprint variable (repeatable)"),
		CLI_FLAG("json", 0, &json, "print the plan as JSON"),
		CLI_FLAG("verbose", 'v', &verbose, "list the unchanged resources too"),
		CLI_FLAG("no-refresh", 0, &no_refresh,
			"plan from the state alone: do not ask libvirt, the nodes or the cluster"),
		CLI_END};
	const struct cli_opt_syntax syn = {"plan", opts, "BLUEPRINT", 1, 1, NULL};
	struct cli_opt_args a;
	if (cli_opt_parse(&syn, argc, argv, &a) < 0)
		return a.exit;
	struct bp_blueprint *bp = NULL;
	struct state *st = NULL;
	struct env_plan_result res = {0};
	struct bp_load_opts lo = env_bp_opts(cli_cfg, vars.v, vars.n, name);
	lo.no_hash = true; /* the plan never reads it */
	int rc = -1;
	if (bp_load(a.pos[0], &lo, &bp, &err) == 0 && cli_state_open(&st, &err) == 0 &&
		env_pool_assign(st, name ? name : bp->name, bp, &err) == 0) {
		struct env_plan_opts po = {bp, name, !no_refresh};
		rc = env_plan(cli_cfg, st, &po, &res, &err);
	}
	if (rc == 0 && json) {
		plan_json(&res);
	} else if (rc == 0) {
		printf("Environment %s (blueprint %s):\n", name ? name : bp->name, a.pos[0]);
		plan_print(&res.plan, stdout, verbose);
		roles_print(&res.roles, !no_refresh);
		cluster_print(&res.cluster, verbose);
		if (res.fit)
			printf("%s.\n", res.fit);
	}
	env_plan_result_clear(&res);
	state_close(st);
	bp_free(bp);
	cli_vars_free(&vars);
	return rc == 0 ? 0 : cli_fail(&err);
}
