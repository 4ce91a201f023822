/* cmd_gc — `sandbox gc [--delete]`: find provider objects of ours that the state does not know. */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "env.h"

/* Print the orphans found. */
static void gc_print(const struct env_gc_item *items, size_t n, bool del)
{
	if (n == 0)
		printf("gc: no orphans: every libvirt object named sbx-* is known to the state\n");
	for (size_t i = 0; i < n; i++)
		printf("%-8s %-44s %s (%s)\n", items[i].type, items[i].name,
			items[i].deleted ? "deleted" : del ? "DELETE FAILED" : "orphan", items[i].uri);
	if (!del && n)
		printf("hint: `sandbox gc --delete` removes them (objects of environments kept in another state "
			"file look like orphans here: narrow with --env NAME)\n");
}

/* The orphans as JSON. */
static json_t *gc_json(const struct env_gc_item *items, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_pack("{s:s, s:s, s:s?, s:s, s:b}", "uri", items[i].uri, "kind",
			items[i].type, "env", items[i].env, "name", items[i].name, "deleted", items[i].deleted));
	return json_pack("{s:o, s:I}", "items", a, "total", (json_int_t)n);
}

/* Garbage-collect orphans: every libvirt object named sbx-* that this state does not know (other
 * state files' environments on the same host included), or with --env only those of one
 * environment name. */
int cmd_gc(int argc, char **argv)
{
	struct sbx_err err = SBX_ERR_INIT;
	struct env_gc_opts o = {0};
	bool json = false;
	struct cli_list uri = {0};
	const struct cli_opt opts[] = {
		CLI_STRING("env", 0, &o.env, "NAME", "only the objects of the environment NAME"),
		CLI_FLAG("delete", 0, &o.delete, "delete the orphans found"),
		CLI_LIST("uri", 0, &uri, "URI",
			"scan this libvirt URI (repeatable; default: qemu:///system and every environment's)"),
		CLI_FLAG("json", 0, &json, "print JSON"),
		CLI_END};
	const struct cli_opt_syntax syn = {"gc", opts, NULL, 0, 0, NULL};
	struct cli_opt_args a;
	if (cli_opt_parse(&syn, argc, argv, &a) < 0)
		return a.exit;
	o.uris = (const char *const *)uri.v;
	o.nuris = uri.n;
	struct state *st = NULL;
	struct env_gc_item *items = NULL;
	size_t n = 0;
	int left = cli_state_open(&st, &err) == 0 ? env_gc(cli_cfg, st, &o, &items, &n, &err) : -1;
	if (left >= 0 && json)
		cli_print_json(gc_json(items, n));
	else if (left >= 0)
		gc_print(items, n, o.delete);
	env_gc_items_free(items, n);
	cli_list_free(&uri);
	state_close(st);
	if (left < 0)
		return cli_fail(&err);
	return o.delete && left > 0 ? cli_fail(&err) : 0;
}
