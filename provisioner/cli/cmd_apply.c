/* cmd_apply — `sandbox apply ENV -f PATH...`: server-side apply of manifests to an environment's
 * cluster, with its ownership labels (down deletes them) and within its namespaces; `sandbox apply
 * --kubeconfig FILE -f PATH...` applies to any cluster. --dry-run=server shows what would change. */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "env.h"
#include "k8s.h"

/* How the objects are printed. */
struct apply_print {
	bool json, dry_run;
};

/* "Kind ns/name" of an item (caller frees). */
static char *item_who(const struct k8s_apply_item *it)
{
	return xasprintf("%s %s%s%s", it->src->kind, it->namespace ? it->namespace : "", it->namespace ? "/" : "",
		it->src->name);
}

/* One object as a JSON event. */
static json_t *item_json(const struct k8s_apply_item *it, bool dry_run)
{
	json_t *j = json_pack("{s:s, s:s, s:s, s:s?, s:s, s:s, s:s, s:i, s:b}", "event", "apply", "apiVersion",
		it->src->api_version, "kind", it->src->kind, "namespace", it->namespace, "name", it->src->name,
		"result", k8s_result_name(it->result), "file", it->src->file, "line", it->src->line, "dry_run", dry_run);
	if (it->error)
		json_object_set_new(j, "error", json_string(it->error));
	if (dry_run)
		json_object_set_new(j, "diff", k8s_diff_json(&it->diff));
	if (it->nconflicts) {
		json_t *c = json_array();
		for (size_t i = 0; i < it->nconflicts; i++)
			json_array_append_new(c, json_pack("{s:s?, s:s?, s:s?}", "field", it->conflicts[i].field,
				"manager", it->conflicts[i].manager, "message", it->conflicts[i].message));
		json_object_set_new(j, "conflicts", c);
	}
	return j;
}

/* Print one object's outcome (the apply's progress callback). */
static void print_item(const struct k8s_apply_item *it, void *ud)
{
	const struct apply_print *p = ud;
	if (p->json) {
		json_t *j = item_json(it, p->dry_run);
		char *s = json_dumps(j, JSON_COMPACT);
		printf("%s\n", s);
		free(s);
		json_decref(j);
		fflush(stdout);
		return;
	}
	char *who = item_who(it);
	printf("%s: %s%s\n", who, k8s_result_name(it->result), p->dry_run ? " (dry run)" : "");
	for (size_t i = 0; i < it->nconflicts; i++)
		printf("  ! %s is owned by %s\n", it->conflicts[i].field ? it->conflicts[i].field : "a field",
			it->conflicts[i].manager ? it->conflicts[i].manager : "another manager");
	k8s_diff_print(&it->diff, stdout, "  ");
	free(who);
	fflush(stdout);
}

/* Print the closing summary. */
static void print_summary(const struct k8s_apply_report *r, bool json)
{
	if (json) {
		json_t *j = json_pack("{s:s, s:b}", "event", "summary", "dry_run", r->dry_run);
		for (int i = 0; i < K8S_APPLY_N; i++)
			json_object_set_new(j, k8s_result_name(i), json_integer((json_int_t)r->count[i]));
		char *s = json_dumps(j, JSON_COMPACT);
		printf("%s\n", s);
		free(s);
		json_decref(j);
		return;
	}
	printf("%zu object(s)%s:", r->n, r->dry_run ? " (dry run)" : "");
	for (int i = 0; i < K8S_APPLY_N; i++)
		printf("%s %zu %s", i ? "," : "", r->count[i], k8s_result_name(i));
	printf("\n");
}

/* Load, connect, apply, print; the exit code. */
static int apply_run(const char *kubeconfig, const char *context, const struct cli_list *files,
	const struct k8s_apply_opts *opts, bool json, struct sbx_err *err)
{
	struct k8s_manifest_set *set = NULL;
	struct k8s_config *cfg = NULL;
	struct k8s *k = NULL;
	struct k8s_apply_report *rep = NULL;
	struct apply_print p = {json, opts->dry_run};
	struct k8s_apply_opts o = *opts;
	int rc = -1;
	o.progress = print_item;
	o.ud = &p;
	if (k8s_manifests_load((const char *const *)files->v, files->n, &set, err) < 0 ||
		k8s_config_load(kubeconfig, context, &cfg, err) < 0 || k8s_open(cfg, &k, err) < 0 ||
		k8s_apply(k, set, &o, &rep, err) < 0)
		goto out;
	print_summary(rep, json);
	rc = k8s_apply_report_check(rep, err);
out:
	k8s_apply_report_free(rep);
	k8s_close(k);
	k8s_config_free(cfg);
	k8s_manifests_free(set);
	return rc;
}

/* Apply to an environment's cluster; print; the exit code. */
static int apply_env(const struct env_apply_opts *eo, bool json, struct sbx_err *err)
{
	struct state *st = NULL;
	struct env_applied ap = {0};
	struct apply_print p = {json, eo->dry_run};
	struct env_apply_opts o = *eo;
	o.progress = print_item;
	o.ud = &p;
	int rc = cli_state_open(&st, err);
	if (rc == 0)
		rc = env_apply(cli_cfg, st, &o, &ap, err);
	if (rc == 0) {
		print_summary(ap.rep, json);
		rc = k8s_apply_report_check(ap.rep, err);
	}
	env_applied_clear(&ap);
	state_close(st);
	return rc;
}

/* Apply manifests to a cluster. */
int cmd_apply(int argc, char **argv)
{
	struct sbx_err err = SBX_ERR_INIT;
	const char *kubeconfig = NULL, *context = NULL, *dry_run = NULL;
	struct cli_list files = {0};
	struct k8s_apply_opts o = {0};
	bool json = false;
	int64_t timeout = 60, wait_lock = 0;
	const struct cli_opt opts[] = {
		CLI_STRING("kubeconfig", 0, &kubeconfig, "FILE", "apply to this cluster instead of an environment's "
			"(exec plugins are refused)"),
		CLI_STRING("context", 0, &context, "NAME", "with --kubeconfig: a context of it (default: its current-context)"),
		CLI_LIST("filename", 'f', &files, "PATH",
			"a manifest file or directory (*.yaml, *.yml, *.json; - reads stdin); repeatable", .required = true),
		CLI_STRING("namespace", 'n', &o.namespace, "NS", "for namespaced objects that name none; with ENV a team "
			"of cluster.namespaces (default: the first), else a namespace (default: the context's)"),
		CLI_ENUM("dry-run", 0, &dry_run, "server", "the server computes the result; nothing changes; prints a diff"),
		CLI_FLAG("force-conflicts", 0, &o.force, "take over fields that another field manager owns"),
		CLI_STRING("field-manager", 0, &o.field_manager, "NAME", "with --kubeconfig: the field manager (default: sandbox)"),
		CLI_DURATION("timeout", 0, &timeout, "D", "how long a CustomResourceDefinition may take to be established (60s)"),
		CLI_DURATION("wait-lock", 0, &wait_lock, "D", "with ENV: wait this long for another command on it (default: 0)"),
		CLI_FLAG("json", 0, &json, "one JSON object per line for each object, then a summary"),
		CLI_END};
	const struct cli_opt_syntax syn = {"apply", opts, "[ENV]", 0, 1, NULL};
	struct cli_opt_args a;
	if (cli_opt_parse(&syn, argc, argv, &a) < 0)
		return a.exit;
	if ((a.npos == 1) == (kubeconfig != NULL)) {
		cli_list_free(&files);
		sbx_err_set(&err, SBX_EXIT_USAGE, a.npos ? "give an environment or --kubeconfig, not both" :
			"apply to what? give an environment name or --kubeconfig FILE");
		sbx_err_hint(&err, "`sandbox apply ENV -f FILE` applies to an environment's cluster; `sandbox apply "
			"--kubeconfig FILE -f FILE` to any cluster");
		return cli_fail(&err);
	}
	o.dry_run = dry_run != NULL;
	o.timeout_ms = timeout * 1000;
	int rc;
	if (a.npos == 1) {
		struct env_apply_opts eo = {.env = a.pos[0], .files = (const char *const *)files.v, .nfiles = files.n,
			.team = o.namespace, .dry_run = o.dry_run, .force = o.force, .timeout_ms = o.timeout_ms,
			.wait_lock = (int)wait_lock};
		rc = apply_env(&eo, json, &err);
	} else {
		rc = apply_run(kubeconfig, context, &files, &o, json, &err);
	}
	cli_list_free(&files);
	return rc == 0 ? 0 : cli_fail(&err);
}
