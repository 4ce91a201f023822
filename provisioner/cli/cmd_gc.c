/* cmd_gc — `sandbox gc [--delete]`: find provider objects of ours that the state does not know. */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "env.h"

/* Print the orphans found. */
static void gc_print(const struct env_gc_item *items, size_t n, bool del)
{
	size_t kept_foreign = 0;
	if (n == 0)
		printf("gc: nothing to collect: every libvirt object named sbx-* and every labelled cluster object is "
			"known to the state\n");
	for (size_t i = 0; i < n; i++) {
		const struct env_gc_item *it = &items[i];
		kept_foreign += it->class != ENV_GC_OURS && !it->deleted;
		printf("%-8s %-44s %-9s %s%s%s (%s)\n", it->type, it->name, env_gc_class_name(it->class),
			it->deleted ? "deleted" : it->note ? it->note : "present", it->env ? " env " : "",
			it->env ? it->env : "", it->uri);
	}
	if (!del && n)
		printf("hint: `sandbox gc --delete` removes the orphans of this state; objects of other states, "
			"untagged or protected ones need --force-foreign as well\n");
	else if (del && kept_foreign)
		printf("hint: %zu object(s) kept: they belong to another state, carry no owner or were protected; "
			"`sandbox gc --delete --force-foreign` removes them\n", kept_foreign);
}

/* The orphans as JSON. */
static json_t *gc_json(const struct env_gc_item *items, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_pack("{s:s, s:s, s:s?, s:s?, s:s, s:s, s:b, s:s?}", "uri", items[i].uri,
			"kind", items[i].type, "env", items[i].env, "state", items[i].state_id, "name", items[i].name, "class",
			env_gc_class_name(items[i].class), "deleted", items[i].deleted, "note", items[i].note));
	return json_pack("{s:o, s:I}", "items", a, "total", (json_int_t)n);
}

/* Garbage-collect orphans: every libvirt object named sbx-* that this state does not know, or
 * with --env only those tagged with one environment name. */
int cmd_gc(int argc, char **argv)
{
	struct sbx_err err = SBX_ERR_INIT;
	struct env_gc_opts o = {0};
	bool json = false;
	struct cli_list uri = {0}, kc = {0};
	const struct cli_opt opts[] = {
		CLI_STRING("env", 0, &o.env, "NAME", "only the objects tagged with the environment NAME"),
		CLI_FLAG("delete", 0, &o.delete, "delete the orphans of this state"),
		CLI_FLAG("force-foreign", 0, &o.force_foreign,
			"with --delete, also delete objects of other states, untagged and protected ones"),
		CLI_LIST("uri", 0, &uri, "URI",
			"scan this libvirt URI (repeatable; default: qemu:///system, every environment's site, its site.hosts and attached "
			"cluster)"),
		CLI_LIST("kubeconfig", 0, &kc, "FILE", "scan this cluster for objects labelled by sandbox (repeatable)"),
		CLI_STRING("context", 0, &o.context, "NAME", "the kubeconfigs' context (default: their current-context)"),
		CLI_FLAG("json", 0, &json, "print JSON"),
		CLI_END};
	const struct cli_opt_syntax syn = {"gc", opts, NULL, 0, 0, NULL};
	struct cli_opt_args a;
	if (cli_opt_parse(&syn, argc, argv, &a) < 0)
		return a.exit;
	o.uris = (const char *const *)uri.v;
	o.nuris = uri.n;
	o.kubeconfigs = (const char *const *)kc.v;
	o.nkubeconfigs = kc.n;
	struct state *st = NULL;
	struct env_gc_item *items = NULL;
	size_t n = 0;
	int left = cli_state_open(&st, &err) == 0 ? env_gc(cli_cfg, st, &o, &items, &n, &err) : -1;
	if (left >= 0 && json)
		cli_print_json(gc_json(items, n));
	else if (left >= 0)
		gc_print(items, n, o.delete);
	bool failed = false, kept = false;
	for (size_t i = 0; i < n; i++) {
		failed |= items[i].note && strncmp(items[i].note, "DELETE FAILED", 13) == 0;
		kept |= items[i].note && strncmp(items[i].note, "kept", 4) == 0;
	}
	env_gc_items_free(items, n);
	cli_list_free(&uri);
	cli_list_free(&kc);
	state_close(st);
	if (left < 0)
		return cli_fail(&err);
	return failed ? SBX_EXIT_FAILED : kept ? SBX_EXIT_REFUSED : 0;
}
