/* Unit tests of discovery parsing (aggregated v2 and v2beta1, legacy), Status errors, conflicts and
 * the dry-run diff, from fixture JSON in tests/unit/data/k8s/. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "k8s_apply.h"
#include "k8s_diff.h"
#include "k8s_disc.h"
#include "k8s_status.h"

#define D "tests/unit/data/k8s/"

/* Load a fixture. */
static json_t *fixture(const char *name)
{
	char *p = xasprintf(D "%s", name);
	json_error_t je;
	json_t *j = json_load_file(p, 0, &je);
	if (j == NULL)
		fail_msg("%s: %s", p, je.text);
	free(p);
	return j;
}

/* Add a fixture as an aggregated document. */
static void add_agg(struct k8s_disc *d, const char *name)
{
	struct sbx_err err = SBX_ERR_INIT;
	json_t *j = fixture(name);
	assert_int_equal(k8s_disc_add_aggregated(d, j, &err), 0);
	json_decref(j);
}

/* Add a fixture as a legacy resource list. */
static void add_legacy(struct k8s_disc *d, const char *name, bool preferred)
{
	struct sbx_err err = SBX_ERR_INIT;
	json_t *j = fixture(name);
	assert_int_equal(k8s_disc_add_resources(d, j, preferred, &err), 0);
	json_decref(j);
}

/* Check that apiVersion + kind resolves to a path, scope and verbs. */
static void expect_type(struct k8s_disc *d, const char *av, const char *kind, const char *path, bool namespaced,
	unsigned verbs)
{
	struct k8s_rtype t = {0};
	if (k8s_disc_find(d, av, kind, &t) < 0)
		fail_msg("%s %s not found", av, kind);
	char *p = k8s_rtype_path(&t, "ns1");
	assert_string_equal(p, path);
	assert_int_equal(t.namespaced, namespaced);
	assert_int_equal(t.verbs & verbs, verbs);
	char *api = k8s_rtype_api_version(&t);
	assert_string_equal(api, av);
	free(api);
	free(p);
	k8s_rtype_clear(&t);
}

/* The same checks for both kinds of discovery. */
static void expect_common(struct k8s_disc *d)
{
	expect_type(d, "v1", "ConfigMap", "/api/v1/namespaces/ns1/configmaps", true,
		K8S_VERB_LIST | K8S_VERB_PATCH | K8S_VERB_DELETECOLLECTION);
	expect_type(d, "v1", "Namespace", "/api/v1/namespaces", false, K8S_VERB_GET | K8S_VERB_CREATE);
	expect_type(d, "apps/v1", "Deployment", "/apis/apps/v1/namespaces/ns1/deployments", true, K8S_VERB_WATCH);
	expect_type(d, "example.com/v1", "Widget", "/apis/example.com/v1/namespaces/ns1/widgets", true, K8S_VERB_GET);
	expect_type(d, "example.com/v2", "Widget", "/apis/example.com/v2/namespaces/ns1/widgets", true, K8S_VERB_GET);
	struct k8s_rtype t = {0};
	assert_int_equal(k8s_disc_find(d, "apps/v1", "ConfigMap", &t), -1);
	assert_int_equal(k8s_disc_find(d, "v1", "Scale", &t), -1);          /* a subresource */
	assert_int_equal(k8s_disc_find(d, "autoscaling/v1", "Scale", &t), -1);
}

/* Aggregated discovery, v2 and v2beta1: the first version of a group is the preferred one. */
static void test_aggregated(void **state)
{
	(void)state;
	const char *apis[] = {"disc_apis_v2.json", "disc_apis_v2beta1.json"};
	for (size_t i = 0; i < 2; i++) {
		struct k8s_disc *d = k8s_disc_new();
		add_agg(d, "disc_api_v2.json");
		add_agg(d, apis[i]);
		expect_common(d);
		expect_type(d, "metrics.k8s.io/v1beta1", "PodMetrics", "/apis/metrics.k8s.io/v1beta1/namespaces/ns1/pods",
			true, K8S_VERB_LIST);
		assert_int_equal(k8s_disc_count(d), 9);
		k8s_disc_free(d);
	}
	struct k8s_disc *d = k8s_disc_new();
	struct sbx_err err = SBX_ERR_INIT;
	json_t *legacy = fixture("disc_legacy_apis.json");
	assert_int_equal(k8s_disc_add_aggregated(d, legacy, &err), -1);
	sbx_err_clear(&err);
	json_decref(legacy);
	k8s_disc_free(d);
}

/* Legacy discovery: one APIResourceList per group version, subresources skipped. */
static void test_legacy(void **state)
{
	(void)state;
	struct k8s_disc *d = k8s_disc_new();
	add_legacy(d, "disc_legacy_api_v1.json", true);
	add_legacy(d, "disc_legacy_apps_v1.json", true);
	add_legacy(d, "disc_legacy_example_v2.json", true);
	add_legacy(d, "disc_legacy_example_v1.json", false);
	expect_common(d);
	assert_int_equal(k8s_disc_count(d), 5);
	/* adding the same list again adds nothing */
	add_legacy(d, "disc_legacy_apps_v1.json", true);
	assert_int_equal(k8s_disc_count(d), 5);
	struct sbx_err err = SBX_ERR_INIT;
	json_t *agg = fixture("disc_api_v2.json");
	assert_int_equal(k8s_disc_add_resources(d, agg, true, &err), -1);
	sbx_err_clear(&err);
	json_decref(agg);
	k8s_disc_free(d);
}

/* A Status error: message, reason, causes; the conflicts and their managers. */
static void test_status(void **state)
{
	(void)state;
	struct k8s_status st = {0};
	struct sbx_err err = SBX_ERR_INIT;
	json_t *j = fixture("status_conflict.json");
	k8s_status_parse(j, 409, &st);
	assert_int_equal(st.code, 409);
	assert_string_equal(st.reason, "Conflict");
	assert_int_equal(st.ncauses, 2);
	assert_string_equal(st.causes[1].field, ".data.b");
	size_t n = 0;
	struct k8s_conflict *c = k8s_conflicts_from_status(&st, &n);
	assert_int_equal(n, 2);
	assert_string_equal(c[0].field, ".data.a");
	assert_string_equal(c[0].manager, "kubectl-edit");
	assert_string_equal(c[1].manager, "other");
	k8s_conflicts_free(c, n);
	k8s_status_err(&st, "PATCH /api/v1/namespaces/a/configmaps/b", &err);
	/* the message already names the fields: the causes are not repeated */
	assert_string_equal(sbx_err_first(&err), "PATCH /api/v1/namespaces/a/configmaps/b: HTTP 409 Conflict: "
		"Apply failed with 2 conflicts: conflicts with \"kubectl-edit\" using v1:\n- .data.a\n- .data.b");
	sbx_err_clear(&err);
	json_decref(j);
	j = fixture("status_invalid.json");
	k8s_status_parse(j, 422, &st);
	k8s_status_err(&st, "PATCH x", &err);
	assert_string_equal(sbx_err_first(&err), "PATCH x: HTTP 422 Invalid: ConfigMap \"Bad_Name\" is invalid "
		"(metadata.name: Invalid value: \"Bad_Name\": a lowercase RFC 1123 subdomain must consist of lower "
		"case alphanumeric characters)");
	sbx_err_clear(&err);
	json_decref(j);
	/* not a Status: only the HTTP code */
	k8s_status_parse(NULL, 503, &st);
	assert_null(st.message);
	k8s_status_err(&st, "GET /x", &err);
	assert_string_equal(sbx_err_first(&err), "GET /x: HTTP 503");
	sbx_err_clear(&err);
	k8s_status_clear(&st);
	assert_null(k8s_cause_manager("something else"));
	assert_null(k8s_cause_manager(NULL));
}

/* Diff a live object against what the server would make of it. */
static void test_diff(void **state)
{
	(void)state;
	json_t *live = json_loads("{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"a\","
		"\"resourceVersion\":\"5\",\"uid\":\"u1\",\"creationTimestamp\":\"2024-01-01T00:00:00Z\","
		"\"managedFields\":[{\"manager\":\"x\"}],\"labels\":{\"app\":\"web\",\"old\":\"1\"}},"
		"\"data\":{\"k\":\"v\",\"list\":\"1\"},\"spec\":{\"ports\":[1,2]}}", 0, NULL);
	json_t *after = json_loads("{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"a\","
		"\"resourceVersion\":\"6\",\"uid\":\"u1\",\"creationTimestamp\":\"2024-01-01T00:00:00Z\","
		"\"managedFields\":[{\"manager\":\"sandbox\"}],\"labels\":{\"app\":\"web\",\"sandbox.dev/env\":\"e\"}},"
		"\"data\":{\"k\":\"w\",\"list\":\"1\",\"new\":{\"x\":1}},\"spec\":{\"ports\":[1]}}", 0, NULL);
	struct k8s_diff d = {0};
	k8s_diff_objects(live, live, &d);
	assert_int_equal(d.n, 0);
	k8s_diff_objects(live, after, &d);
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	k8s_diff_print(&d, f, "  ");
	fclose(f);
	assert_string_equal(buf, "  ~ .data.k: \"v\" → \"w\"\n"
		"  + .data.new: {\"x\":1}\n"
		"  - .metadata.labels.old: \"1\"\n"
		"  + .metadata.labels[\"sandbox.dev/env\"]: \"e\"\n"
		"  - .spec.ports[1]: 2\n");
	free(buf);
	json_t *j = k8s_diff_json(&d);
	char *s = json_dumps(json_array_get(j, 0), JSON_COMPACT | JSON_SORT_KEYS);
	assert_string_equal(s, "{\"new\":\"w\",\"old\":\"v\",\"op\":\"change\",\"path\":\".data.k\"}");
	free(s);
	json_decref(j);
	k8s_diff_clear(&d);
	/* a new object: its fields, as whole subtrees; a Secret's values are hidden */
	json_t *secret = json_loads("{\"apiVersion\":\"v1\",\"kind\":\"Secret\",\"metadata\":{\"name\":\"s\","
		"\"uid\":\"u\"},\"data\":{\"password\":\"c2VjcmV0\"}}", 0, NULL);
	k8s_diff_objects(NULL, secret, &d);
	assert_int_equal(d.n, 4);
	assert_string_equal(d.v[1].path, ".data");
	assert_string_equal(json_string_value(d.v[1].new), "(hidden)");
	assert_string_equal(d.v[3].path, ".metadata");
	assert_null(json_object_get(d.v[3].new, "uid"));
	k8s_diff_clear(&d);
	json_decref(secret);
	json_decref(live);
	json_decref(after);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_aggregated),
		cmocka_unit_test(test_legacy),
		cmocka_unit_test(test_status),
		cmocka_unit_test(test_diff),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
