/* Unit tests of the manifest reader: YAML → JSON the way Kubernetes reads it, JSON files. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "k8s_yaml.h"

/* Parse YAML that must load; return its documents as one compact JSON array (caller frees). */
static char *yaml_json(const char *text)
{
	struct k8s_docs d = {0};
	struct sbx_err err = SBX_ERR_INIT;
	if (k8s_yaml_parse("t.yaml", text, strlen(text), &d, &err) < 0) {
		sbx_err_print(&err, stderr);
		fail();
	}
	json_t *a = json_array();
	for (size_t i = 0; i < d.n; i++)
		json_array_append(a, d.v[i].json);
	char *s = json_dumps(a, JSON_COMPACT | JSON_ENCODE_ANY | JSON_SORT_KEYS);
	json_decref(a);
	k8s_docs_clear(&d);
	return s;
}

/* Parse YAML that must fail; return the first message with its position (caller frees). */
static char *yaml_error(const char *text)
{
	struct k8s_docs d = {0};
	struct sbx_err err = SBX_ERR_INIT;
	assert_int_equal(k8s_yaml_parse("t.yaml", text, strlen(text), &d, &err), -1);
	assert_int_equal(d.n, 0);
	assert_int_equal(err.code, SBX_EXIT_USAGE);
	char *s = xasprintf("%s:%d: %s", err.msgs[0].file, err.msgs[0].line, err.msgs[0].text);
	sbx_err_clear(&err);
	return s;
}

/* Check one YAML text against its JSON. */
static void expect(const char *yaml, const char *json)
{
	char *s = yaml_json(yaml);
	assert_string_equal(s, json);
	free(s);
}

/* Check that an error message contains a text. */
static void expect_error(const char *yaml, const char *part)
{
	char *s = yaml_error(yaml);
	if (strstr(s, part) == NULL)
		fail_msg("error \"%s\" lacks \"%s\"", s, part);
	free(s);
}

/* Plain scalars resolve like Kubernetes; quoted ones stay strings. */
static void test_types(void **state)
{
	(void)state;
	expect("a: 1\nb: \"1\"\nc: '1'\nd: true\ne: \"true\"\nf: null\ng: ~\nh:\ni: 1.5\nj: text\n",
		"[{\"a\":1,\"b\":\"1\",\"c\":\"1\",\"d\":true,\"e\":\"true\",\"f\":null,\"g\":null,\"h\":null,"
		"\"i\":1.5,\"j\":\"text\"}]");
	/* YAML 1.2 core booleans; yes/no/on/off are strings */
	expect("[True, FALSE, yes, no, on, off, Yes]", "[[true,false,\"yes\",\"no\",\"on\",\"off\",\"Yes\"]]");
	/* integers: sign, hex, octal (0o and leading 0 like Kubernetes: 0644 = 420), binary, _ */
	expect("[-5, +7, 0x1F, 0o17, 0644, 0b101, 1_000, 0, 08]", "[[-5,7,31,15,420,5,1000,0,8]]");
	/* integral floats are integers (Go encodes 1e3 as 1000); others stay floats */
	expect("[1e3, 2.0, .5, -1.25e-1, 1.]", "[[1000,2,0.5,-0.125,1]]");
	/* not numbers */
	expect("[1.2.3, 0x, 12ab, -, +, 1e, 0xG]", "[[\"1.2.3\",\"0x\",\"12ab\",\"-\",\"+\",\"1e\",\"0xG\"]]");
	/* explicit !!str, block scalars */
	expect("a: !!str 42\nb: |\n  x\n  y\nc: >-\n  p\n  q\n", "[{\"a\":\"42\",\"b\":\"x\\ny\\n\",\"c\":\"p q\"}]");
	/* non-string keys become their JSON text */
	expect("1: a\ntrue: b\n~: c\n", "[{\"1\":\"a\",\"null\":\"c\",\"true\":\"b\"}]");
	expect("big: 99999999999999999999\n", "[{\"big\":1e20}]");
}

/* Several documents; empty and null ones are skipped; lines are the documents' first lines. */
static void test_multidoc(void **state)
{
	(void)state;
	const char *y = "# comment\n---\na: 1\n---\n---\n~\n---\n\nb:\n  - 2\n...\n";
	struct k8s_docs d = {0};
	struct sbx_err err = SBX_ERR_INIT;
	assert_int_equal(k8s_yaml_parse("m.yaml", y, strlen(y), &d, &err), 0);
	assert_int_equal(d.n, 2);
	assert_int_equal(d.v[0].line, 3);
	assert_int_equal(d.v[1].line, 9);
	assert_int_equal(json_integer_value(json_array_get(json_object_get(d.v[1].json, "b"), 0)), 2);
	k8s_docs_clear(&d);
	expect("", "[]");
}

/* Anchors and aliases resolve into copies; merge keys; the budget stops alias bombs. */
static void test_anchors(void **state)
{
	(void)state;
	expect("base: &b {x: 1, y: [1, 2]}\nuse: *b\n", "[{\"base\":{\"x\":1,\"y\":[1,2]},\"use\":{\"x\":1,\"y\":[1,2]}}]");
	expect("d: &d {a: 1, b: 2}\nm:\n  <<: *d\n  b: 3\n", "[{\"d\":{\"a\":1,\"b\":2},\"m\":{\"a\":1,\"b\":3}}]");
	expect("- &a {p: 1}\n- &b {p: 2, q: 2}\n- <<: [*a, *b]\n", "[[{\"p\":1},{\"p\":2,\"q\":2},{\"p\":1,\"q\":2}]]");
	expect("s: &s hi\nt: *s\n", "[{\"s\":\"hi\",\"t\":\"hi\"}]");
	/* copies are not shared: the two are separate values */
	struct k8s_docs d = {0};
	struct sbx_err err = SBX_ERR_INIT;
	const char *y = "a: &m {k: 1}\nb: *m\n";
	assert_int_equal(k8s_yaml_parse("t.yaml", y, strlen(y), &d, &err), 0);
	assert_ptr_not_equal(json_object_get(d.v[0].json, "a"), json_object_get(d.v[0].json, "b"));
	k8s_docs_clear(&d);
	/* a billion laughs stops at the budget, quickly */
	struct sbx_buf b = {0};
	sbx_buf_puts(&b, "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
	for (int i = 1; i < 10; i++)
		sbx_buf_printf(&b, "a%d: &a%d [*a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d]\n", i, i,
			i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1);
	expect_error(b.data, "values (aliases expanded)");
	sbx_buf_free(&b);
	expect_error("a: *nope\n", "unknown anchor");
	expect_error("a: &x [*x]\n", "unknown anchor"); /* a node cannot contain itself */
	expect_error("m:\n  <<: 5\n", "merges a mapping");
}

/* Errors name the file and the line. */
static void test_errors(void **state)
{
	(void)state;
	expect_error("a: 1\nb: [1, 2\n", "t.yaml:");
	expect_error("a: 1\na: 2\n", "t.yaml:2: duplicate mapping key: a");
	expect_error("x: .inf\n", "t.yaml:1: a number JSON cannot represent");
	expect_error("? [a]\n: 1\n", "mapping key must be a scalar");
	expect_error("a:\tb: c\n", "t.yaml:1");
	struct sbx_buf b = {0};
	for (int i = 0; i < K8S_YAML_MAX_DEPTH + 1; i++)
		sbx_buf_puts(&b, "[");
	expect_error(b.data, "nesting too deep");
	sbx_buf_free(&b);
	for (int i = 0; i <= K8S_YAML_MAX_DOCS; i++)
		sbx_buf_puts(&b, "---\na: 1\n");
	expect_error(b.data, "too many documents");
	sbx_buf_free(&b);
}

/* JSON files: one or more values, read by jansson (numbers kept as written). */
static void test_json(void **state)
{
	(void)state;
	const char *j = "{\"a\": 1.0}\n\n{\"b\": [true]}\nnull\n";
	struct k8s_docs d = {0};
	struct sbx_err err = SBX_ERR_INIT;
	assert_int_equal(k8s_json_parse("t.json", j, strlen(j), &d, &err), 0);
	assert_int_equal(d.n, 2);
	assert_true(json_is_real(json_object_get(d.v[0].json, "a")));
	assert_int_equal(d.v[1].line, 3);
	k8s_docs_clear(&d);
	const char *bad = "{\"a\": 1}\n{\"b\": }\n";
	assert_int_equal(k8s_json_parse("t.json", bad, strlen(bad), &d, &err), -1);
	assert_int_equal(err.msgs[0].line, 2);
	assert_int_equal(d.n, 0);
	sbx_err_clear(&err);
	const char *dup = "{\"a\": 1, \"a\": 2}";
	assert_int_equal(k8s_json_parse("t.json", dup, strlen(dup), &d, &err), -1);
	sbx_err_clear(&err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_types),
		cmocka_unit_test(test_multidoc),
		cmocka_unit_test(test_anchors),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_json),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
