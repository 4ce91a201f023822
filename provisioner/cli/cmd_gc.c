/* cmd_gc — `sandbox gc [--delete]`: find provider objects of ours that the state does not know. */
#include <getopt.h>
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
	static const struct option opts[] = {{"delete", no_argument, NULL, 'd'}, {"uri", required_argument, NULL, 'u'},
		{"json", no_argument, NULL, 'j'}, {"env", required_argument, NULL, 'e'}, {0, 0, 0, 0}};
	struct sbx_err err = SBX_ERR_INIT;
	struct env_gc_opts o = {0};
	bool json = false;
	char **uris = NULL;
	size_t nuris = 0;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'd')
			o.delete = true;
		else if (c == 'j')
			json = true;
		else if (c == 'e')
			o.env = optarg;
		else if (c == 'u') {
			uris = xrealloc(uris, (nuris + 1) * sizeof(char *));
			uris[nuris++] = xstrdup(optarg);
		} else
			return state_strv_free(uris, nuris), cli_usage_error("gc", "unknown option");
	}
	o.uris = (const char *const *)uris;
	o.nuris = nuris;
	struct state *st = NULL;
	struct env_gc_item *items = NULL;
	size_t n = 0;
	int left = cli_state_open(&st, &err) == 0 ? env_gc(cli_cfg, st, &o, &items, &n, &err) : -1;
	if (left >= 0 && json)
		cli_print_json(gc_json(items, n));
	else if (left >= 0)
		gc_print(items, n, o.delete);
	env_gc_items_free(items, n);
	state_strv_free(uris, nuris);
	state_close(st);
	if (left < 0)
		return cli_fail(&err);
	return o.delete && left > 0 ? cli_fail(&err) : 0;
}
