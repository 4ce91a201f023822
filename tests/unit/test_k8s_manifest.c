/* Unit tests of manifest loading (files, directories, checks at FILE:LINE) and the apply order. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "k8s_apply.h"
#include "k8s_manifest.h"
#include "tdir.h"

static char dir[] = "/tmp/sbx-k8smf.XXXXXX";

/* A directory of manifests, out of name order, with files that are not manifests. */
static int setup(void **state)
{
	(void)state;
	if (tdir_make(dir) < 0)
		return -1;
	char *sub = xasprintf("%s/d", dir);
	mkdir(sub, 0700);
	free(sub);
	tdir_put(dir, "d/20-app.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: app, namespace: team}\n"
		"data: {a: \"1\"}\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\n");
	tdir_put(dir, "d/10-ns.yml", "apiVersion: v1\nkind: Namespace\nmetadata: {name: team}\n");
	tdir_put(dir, "d/30-crd.json", "{\"apiVersion\": \"apiextensions.k8s.io/v1\", \"kind\": \"CustomResourceDefinition\","
		" \"metadata\": {\"name\": \"widgets.example.com\"}, \"spec\": {\"group\": \"example.com\","
		" \"scope\": \"Namespaced\", \"names\": {\"kind\": \"Widget\", \"plural\": \"widgets\"},"
		" \"versions\": [{\"name\": \"v1\", \"served\": true, \"storage\": true}]}}");
	tdir_put(dir, "d/README.md", "not a manifest");
	tdir_put(dir, "d/.hidden.yaml", "not: [valid");
	tdir_put(dir, "d/40-list.yaml", "apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: Secret, metadata: {name: s}}\n"
		"- {apiVersion: rbac.authorization.k8s.io/v1, kind: ClusterRole, metadata: {name: r}}\n");
	return 0;
}

/* Remove it. */
static int teardown(void **state)
{
	(void)state;
	return sbx_rm_rf(dir);
}

/* A directory loads sorted by name, *.yaml|*.yml|*.json only; a List stands for its items. */
static void test_dir(void **state)
{
	(void)state;
	char *d = xasprintf("%s/d", dir);
	const char *paths[] = {d};
	struct k8s_manifest_set *set = NULL;
	struct sbx_err err = SBX_ERR_INIT;
	if (k8s_manifests_load(paths, 1, &set, &err) < 0) {
		sbx_err_print(&err, stderr);
		fail();
	}
	assert_int_equal(set->n, 6);
	const char *kinds[] = {"Namespace", "ConfigMap", "Deployment", "CustomResourceDefinition", "Secret", "ClusterRole"};
	for (size_t i = 0; i < 6; i++)
		assert_string_equal(set->v[i].kind, kinds[i]);
	assert_string_equal(set->v[1].namespace, "team");
	assert_null(set->v[2].namespace);
	assert_int_equal(set->v[2].line, 6);
	assert_non_null(strstr(set->v[2].file, "20-app.yaml"));
	assert_int_equal(k8s_manifests_crd_scope(set, "example.com/v1", "Widget", NULL), 1);
	assert_int_equal(k8s_manifests_crd_scope(set, "example.com/v2", "Widget", NULL), -1);
	assert_int_equal(k8s_manifests_crd_scope(set, "v1", "Widget", NULL), -1);
	k8s_manifests_free(set);
	free(d);
}

/* Load text that must fail; every message goes into one string "F:L: msg|..." (caller frees). */
static char *bad(const char *text)
{
	struct k8s_manifest_set set = {0};
	struct sbx_err err = SBX_ERR_INIT;
	struct sbx_buf b = {0};
	assert_int_equal(k8s_manifests_add_text(&set, "m.yaml", text, strlen(text), false, &err), -1);
	assert_int_equal(set.n, 0);
	assert_int_equal(err.code, SBX_EXIT_USAGE);
	for (size_t i = 0; i < err.n; i++)
		sbx_buf_printf(&b, "%s:%d: %s|", err.msgs[i].file, err.msgs[i].line, err.msgs[i].text);
	sbx_err_clear(&err);
	free(set.v);
	return sbx_buf_steal(&b);
}

/* Check the errors of a text. */
static void expect_bad(const char *text, const char *want)
{
	char *s = bad(text);
	assert_string_equal(s, want);
	free(s);
}

/* Objects without apiVersion/kind/name, unsafe names, duplicates: every one at FILE:LINE. */
static void test_errors(void **state)
{
	(void)state;
	expect_bad("kind: ConfigMap\nmetadata: {name: a}\n---\napiVersion: v1\nmetadata: {name: b}\n---\n"
		"apiVersion: v1\nkind: Secret\nmetadata: {}\n",
		"m.yaml:1: ConfigMap a: no apiVersion|m.yaml:4: object b: no kind|m.yaml:7: Secret: no metadata.name|");
	expect_bad("- a\n", "m.yaml:1: a manifest document must be a mapping (an object)|");
	expect_bad("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ../secrets}\n",
		"m.yaml:1: ConfigMap ../secrets: a name or namespace cannot be \".\" or \"..\" or contain '/' or '%'|");
	expect_bad("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: ..}\n",
		"m.yaml:1: ConfigMap a: a name or namespace cannot be \".\" or \"..\" or contain '/' or '%'|");
	expect_bad("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: a}\n---\n"
		"apiVersion: apps/v1beta1\nkind: Deployment\nmetadata: {name: a}\n",
		"m.yaml:5: Deployment a is declared twice (first at m.yaml:1)|");
	expect_bad("a: 1\nb: [\n", "m.yaml:3: YAML syntax error: while parsing a flow node: did not find expected node content|");
	/* a missing path is a usage error too */
	const char *paths[] = {"/nonexistent/x.yaml"};
	struct k8s_manifest_set *set = NULL;
	struct sbx_err err = SBX_ERR_INIT;
	assert_int_equal(k8s_manifests_load(paths, 1, &set, &err), -1);
	assert_int_equal(err.code, SBX_EXIT_USAGE);
	sbx_err_clear(&err);
	tdir_put(dir, "empty.yaml", "# nothing\n");
	char *p = xasprintf("%s/empty.yaml", dir);
	paths[0] = p;
	assert_int_equal(k8s_manifests_load(paths, 1, &set, &err), -1);
	assert_string_equal(sbx_err_first(&err), "no objects in the manifests given");
	sbx_err_clear(&err);
	free(p);
}

/* CRDs, then Namespaces, then cluster-scoped, then namespaced; stable within a rank. */
static void test_order(void **state)
{
	(void)state;
	const char *y = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c1}\n---\n"
		"apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\n---\n"
		"apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: r}\n---\n"
		"apiVersion: v1\nkind: Namespace\nmetadata: {name: n}\n---\n"
		"apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {name: widgets.example.com}\n"
		"spec: {group: example.com, scope: Cluster, names: {kind: Widget}, versions: [{name: v1}]}\n---\n"
		"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c2}\n";
	struct k8s_manifest_set set = {0};
	struct sbx_err err = SBX_ERR_INIT;
	assert_int_equal(k8s_manifests_add_text(&set, "o.yaml", y, strlen(y), false, &err), 0);
	assert_int_equal(set.n, 6);
	/* the Widget is cluster-scoped by its CRD; ConfigMaps are namespaced (what discovery says) */
	size_t crd = 99;
	assert_int_equal(k8s_manifests_crd_scope(&set, "example.com/v1", "Widget", &crd), 0);
	assert_int_equal(crd, 4);
	bool namespaced[] = {true, false, false, false, false, true};
	enum k8s_rank ranks[6];
	size_t order[6];
	for (size_t i = 0; i < 6; i++)
		ranks[i] = k8s_manifest_rank(&set.v[i], namespaced[i]);
	k8s_order(ranks, 6, order);
	const char *names[] = {"widgets.example.com", "n", "w", "r", "c1", "c2"};
	for (size_t i = 0; i < 6; i++)
		assert_string_equal(set.v[order[i]].name, names[i]);
	/* the body apply sends: namespace set or dropped, labels added over the manifest's */
	struct k8s_label l[] = {{"sandbox.dev/env", "e1"}};
	json_t *b = k8s_apply_body(&set.v[0], "team", l, 1);
	char *s = json_dumps(b, JSON_COMPACT | JSON_SORT_KEYS);
	assert_string_equal(s, "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"labels\":"
		"{\"sandbox.dev/env\":\"e1\"},\"name\":\"c1\",\"namespace\":\"team\"}}");
	free(s);
	json_decref(b);
	assert_null(json_object_get(set.v[0].obj, "metadata") ? json_object_get(json_object_get(set.v[0].obj,
		"metadata"), "labels") : NULL); /* the set is not modified */
	for (size_t i = 0; i < set.n; i++) {
		json_decref(set.v[i].obj);
		free(set.v[i].file);
	}
	free(set.v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dir),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_order),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
