/* cmd_gc — `sandbox gc [--delete]`: find libvirt objects of ours that the state does not know. */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "lv.h"
#include "stack.h"

/* qsort/bsearch over strings. */
static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Deletion order: domains, volumes, networks. */
static int kind_rank(const char *kind)
{
	return strcmp(kind, "domain") == 0 ? 0 : strcmp(kind, "network") == 0 ? 2 : 1;
}

/* The URIs to scan: those given, else the default plus every environment's. */
static void gc_uris(struct state *st, char ***uris, size_t *n)
{
	if (*n)
		return;
	struct state_env **envs = NULL;
	size_t ne = 0;
	struct sbx_err e = SBX_ERR_INIT;
	*uris = xrealloc(*uris, sizeof(char *));
	(*uris)[(*n)++] = xstrdup("qemu:///system");
	if (state_env_list(st, &envs, &ne, &e) == 0)
		for (size_t i = 0; i < ne; i++) {
			char *uri, *pool;
			stack_env_site(envs[i], &uri, &pool);
			bool seen = false;
			for (size_t k = 0; k < *n; k++)
				seen |= strcmp((*uris)[k], uri) == 0;
			if (!seen) {
				*uris = xrealloc(*uris, (*n + 1) * sizeof(char *));
				(*uris)[(*n)++] = uri;
			} else {
				free(uri);
			}
			free(pool);
		}
	sbx_err_clear(&e);
	state_env_list_free(envs, ne);
}

/* Scan one URI; list (and delete) orphans. Returns the number of orphans still present. */
static int gc_uri(const char *uri, const char *env, char **known, size_t nknown, bool del, json_t *out,
	struct sbx_err *err)
{
	struct lv *lv = NULL;
	struct lv_obj *objs = NULL;
	size_t n = 0;
	int left = 0;
	if (lv_open(uri, &lv, err) < 0 || lv_list_ours(lv, env, &objs, &n, err) < 0) {
		lv_close(lv);
		return -1;
	}
	for (int rank = 0; rank <= 2; rank++)
		for (size_t i = 0; i < n; i++) {
			if (kind_rank(objs[i].kind) != rank || bsearch(&objs[i].name, known, nknown, sizeof(char *), cmp_str))
				continue;
			bool deleted = del && lv_obj_delete(lv, &objs[i], err) == 0;
			left += !deleted;
			json_array_append_new(out, json_pack("{s:s, s:s, s:s?, s:s, s:b}", "uri", uri, "kind", objs[i].kind,
				"env", objs[i].env, "name", objs[i].name, "deleted", deleted));
		}
	lv_obj_list_free(objs, n);
	lv_close(lv);
	return left;
}

/* Print the orphans found. */
static void gc_print(json_t *found, bool del)
{
	size_t i;
	json_t *o;
	if (json_array_size(found) == 0)
		printf("gc: no orphans: every libvirt object named sbx-* is known to the state\n");
	json_array_foreach(found, i, o)
		printf("%-8s %-44s %s (%s)\n", json_string_value(json_object_get(o, "kind")),
			json_string_value(json_object_get(o, "name")),
			json_is_true(json_object_get(o, "deleted")) ? "deleted" : del ? "DELETE FAILED" : "orphan",
			json_string_value(json_object_get(o, "uri")));
	if (!del && json_array_size(found))
		printf("hint: `sandbox gc --delete` removes them (objects of environments kept in another state "
			"file look like orphans here: narrow with --env NAME)\n");
}

/* Garbage-collect orphans: every libvirt object named sbx-* that this state does not know (other
 * state files' environments on the same host included), or with --env only those of one
 * environment name. */
int cmd_gc(int argc, char **argv)
{
	struct sbx_err err = SBX_ERR_INIT;
	bool del = false, json = false;
	const char *env = NULL;
	struct cli_list uri = {0};
	int left = 0;
	const struct cli_opt opts[] = {
		CLI_STRING("env", 0, &env, "NAME", "only the objects of the environment NAME"),
		CLI_FLAG("delete", 0, &del, "delete the orphans found"),
		CLI_LIST("uri", 0, &uri, "URI",
			"scan this libvirt URI (repeatable; default: qemu:///system and every environment's)"),
		CLI_FLAG("json", 0, &json, "print JSON"),
		CLI_END};
	const struct cli_opt_syntax syn = {"gc", opts, NULL, 0, 0, NULL};
	struct cli_opt_args a;
	if (cli_opt_parse(&syn, argc, argv, &a) < 0)
		return a.exit;
	char **uris = uri.v;
	size_t nuris = uri.n;
	struct state *st = NULL;
	struct state_res *res = NULL;
	size_t nres = 0;
	json_t *found = json_array();
	if (cli_state_open(&st, &err) == 0 && state_res_list_all(st, &res, &nres, &err) == 0) {
		char **known = xcalloc(nres + 1, sizeof(char *));
		for (size_t i = 0; i < nres; i++)
			known[i] = res[i].name;
		qsort(known, nres, sizeof(char *), cmp_str);
		gc_uris(st, &uris, &nuris);
		for (size_t i = 0; i < nuris && left >= 0; i++) {
			int l = gc_uri(uris[i], env, known, nres, del, found, &err);
			left = l < 0 ? -1 : left + l;
		}
		free(known);
	} else {
		left = -1;
	}
	if (left >= 0 && json)
		cli_print_json(json_pack("{s:O, s:I}", "items", found, "total", (json_int_t)json_array_size(found)));
	else if (left >= 0)
		gc_print(found, del);
	json_decref(found);
	state_res_list_free(res, nres);
	state_strv_free(uris, nuris);
	state_close(st);
	if (left < 0)
		return cli_fail(&err);
	return del && left > 0 ? cli_fail(&err) : 0;
}
