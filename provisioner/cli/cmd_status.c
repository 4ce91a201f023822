/* cmd_status — `sandbox status NAME`: nodes, addresses, resources, time left, webhooks pending. */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "env.h"


/* The nodes as JSON. */
static json_t *nodes_json(const struct env_node *nodes, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++) {
		json_t *addrs = json_object();
		for (size_t k = 0; k < nodes[i].naddrs; k++)
			json_object_set_new(addrs, nodes[i].nets[k], json_string(nodes[i].addrs[k]));
		json_array_append_new(a, json_pack("{s:s, s:s, s:s, s:s?, s:o, s:s, s:s?}", "instance", nodes[i].instance,
			"node", nodes[i].node, "domain", nodes[i].domain, "ip", nodes[i].ip, "addresses", addrs,
			"status", nodes[i].status, "host", nodes[i].host));
	}
	return a;
}

/* The webhook deliveries that wait in the outbox for an environment. */
struct outbox_depth {
	int64_t pending, oldest; /* oldest: when the oldest was queued (0: none) */
};

/* The age of the oldest pending delivery in seconds (0 when none). */
static int64_t depth_age(const struct outbox_depth *q)
{
	int64_t age = q->pending && q->oldest ? sbx_now() - q->oldest : 0;
	return age > 0 ? age : 0;
}

/* The outbox's line of the human view. */
static void print_outbox(const struct outbox_depth *q)
{
	char buf[32];
	if (q->pending == 0)
		printf("  webhooks:  none pending\n");
	else
		printf("  webhooks:  %lld pending, the oldest queued %s ago\n", (long long)q->pending,
			sbx_fmt_duration(depth_age(q), buf, sizeof(buf)));
}

/* Print the human view. */
static void print_status(const struct state_env *e, const struct env_node *nodes, size_t n,
	const struct state_res *res, size_t nres, const struct outbox_depth *q)
{
	char buf[32];
	printf("Environment %s (id %s)\n  status:    %s\n  blueprint: %s\n  owner:     %s\n", e->name, e->id,
		e->status, e->blueprint ? e->blueprint : "-", e->owner ? e->owner : "-");
	if (e->expires == 0)
		printf("  expires:   never (permanent)\n");
	else if (e->expires <= sbx_now())
		printf("  expires:   EXPIRED %s ago (the next `sandbox reap` removes it)\n",
			sbx_fmt_duration(sbx_now() - e->expires, buf, sizeof(buf)));
	else
		printf("  expires:   in %s\n", sbx_fmt_duration(e->expires - sbx_now(), buf, sizeof(buf)));
	printf("  protected: %s\n", e->protected ? "yes (down needs --confirm)" : "no");
	print_outbox(q);
	printf("\nNodes:\n");
	for (size_t i = 0; i < n; i++)
		printf("  %-20s %-16s %s%s%s\n", nodes[i].instance, nodes[i].ip ? nodes[i].ip : "-", nodes[i].status,
			nodes[i].host ? "  on " : "", nodes[i].host ? nodes[i].host : "");
	printf("\nResources:\n");
	size_t nout = 0;
	for (size_t i = 0; i < nres; i++) {
		if (strcmp(res[i].type, ENV_ROW_OUTPUT) == 0)
			nout++;
		else if (strcmp(res[i].type, ENV_ROW_HOSTKEY) != 0 && strcmp(res[i].type, ENV_ROW_ALIAS) != 0) {
			char *who = env_res_display(res[i].type, res[i].name);
			printf("  %-8s %-44s %s\n", res[i].type, who, res[i].status);
			free(who);
		}
	}
	if (nout)
		printf("\n%zu output(s) recorded: `sandbox outputs %s`\n", nout, e->name);
}

/* Show one environment. */
int cmd_status(int argc, char **argv)
{
	struct sbx_err err = SBX_ERR_INIT;
	bool json = false;
	const struct cli_opt opts[] = {CLI_FLAG("json", 0, &json, "print JSON"), CLI_END};
	const struct cli_opt_syntax syn = {"status", opts, "NAME", 1, 1, NULL};
	struct cli_opt_args a;
	if (cli_opt_parse(&syn, argc, argv, &a) < 0)
		return a.exit;
	struct state *st = NULL;
	struct state_env *e = NULL;
	struct env_node *nodes = NULL;
	struct state_res *res = NULL;
	struct outbox_depth q = {0, 0};
	size_t n = 0, nres = 0;
	int rc = -1;
	if (cli_state_open(&st, &err) == 0 && env_get(st, a.pos[0], &e, &err) == 0 &&
		env_nodes(st, e->name, &nodes, &n, &err) == 0 && state_res_list(st, e->name, &res, &nres, &err) == 0 &&
		state_outbox_depth(st, e->id, &q.pending, &q.oldest, &err) == 0)
		rc = 0;
	if (rc == 0 && json) {
		json_t *o = cli_env_json(e);
		json_object_set_new(o, "nodes", nodes_json(nodes, n));
		json_object_set_new(o, "webhooks", json_pack("{s:I, s:I}", "pending", (json_int_t)q.pending,
			"oldest_age_s", (json_int_t)depth_age(&q)));
		cli_print_json(o);
	} else if (rc == 0) {
		print_status(e, nodes, n, res, nres, &q);
	}
	state_res_list_free(res, nres);
	env_nodes_free(nodes, n);
	state_env_free(e);
	state_close(st);
	return rc == 0 ? 0 : cli_fail(&err);
}
