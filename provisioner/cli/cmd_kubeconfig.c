/* cmd_kubeconfig — `sandbox kubeconfig ENV`: the path of the kubeconfig an environment's cluster
 * is reached with (export KUBECONFIG=$(sandbox kubeconfig dev)); --json adds its context and the
 * team namespaces. */
#include <stdlib.h>

#include <jansson.h>

#include "cli.h"
#include "env.h"

/* Print the kubeconfig of an environment. */
int cmd_kubeconfig(int argc, char **argv)
{
	struct sbx_err err = SBX_ERR_INIT;
	bool json = false;
	const struct cli_opt opts[] = {
		CLI_FLAG("json", 0, &json, "{kubeconfig, context, installed, namespaces}"),
		CLI_END};
	const struct cli_opt_syntax syn = {"kubeconfig", opts, "ENV", 1, 1, NULL};
	struct cli_opt_args a;
	if (cli_opt_parse(&syn, argc, argv, &a) < 0)
		return a.exit;
	struct state *st = NULL;
	struct env_cluster_info ci = {0};
	int rc = cli_state_open(&st, &err);
	if (rc == 0)
		rc = env_cluster_info(st, a.pos[0], &ci, &err);
	if (rc == 0 && json) {
		json_t *ns = json_array();
		for (size_t i = 0; i < ci.nnamespaces; i++)
			json_array_append_new(ns, json_string(ci.namespaces[i]));
		cli_print_json(json_pack("{s:s, s:s?, s:b, s:o}", "kubeconfig", ci.kubeconfig, "context", ci.context,
			"installed", ci.installed, "namespaces", ns));
	} else if (rc == 0) {
		printf("%s\n", ci.kubeconfig);
		if (ci.context)
			fprintf(stderr, "(context %s: kubectl --context %s)\n", ci.context, ci.context);
	}
	env_cluster_info_clear(&ci);
	state_close(st);
	return rc == 0 ? 0 : cli_fail(&err);
}
