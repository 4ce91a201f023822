/* Unit tests of the typed resources: the JSON boundary (round trip per type), copy, diff. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "res.h"

/* One NIC. */
static struct res_nic nic(const char *ip, bool primary)
{
	return (struct res_nic){strdup("sbx-demo-front"), strdup("front"), strdup("52:54:00:aa:bb:cc"), strdup(ip),
		strdup("10.0.0.1"), 24, primary};
}

/* A resource of each type with every field set. */
static void sample(enum res_type t, struct res *r)
{
	*r = (struct res){.type = t, .name = strdup("sbx-demo-x"), .node = strdup("x-0")};
	struct res_nic *nics = calloc(2, sizeof(*nics));
	nics[0] = nic("10.0.0.10", true);
	nics[1] = nic("10.0.1.10", false);
	switch (t) {
	case RES_NETWORK:
		r->u.net = (struct res_network){strdup("front"), strdup("10.0.0.0/24"), strdup("sbx0123abcd"), true, false};
		break;
	case RES_VOLUME:
		r->u.vol = (struct res_volume){{strdup("/img/a.qcow2"), NULL, strdup("ab12"), NULL, strdup("/k"),
			strdup("/i"), strdup("console=ttyS0")}, 8ull << 30, strdup("sandbox")};
		break;
	case RES_SEED:
		r->u.seed = (struct res_seed){strdup("x-0"), strdup("sandbox"), nics, 2};
		nics = NULL;
		break;
	case RES_DOMAIN:
		r->u.dom = (struct res_domain){strdup("x"), 3, 2, 1ull << 30, strdup("d.qcow2"), strdup("s.iso"),
			strdup("auto"), nics, 2};
		nics = NULL;
		break;
	case RES_MACHINE:
		r->u.mach = (struct res_machine){strdup("x"), strdup("10.0.0.5"), 623, strdup("admin"),
			strdup("${secret.bmc}"), strdup("52:54:00:12:34:56"), strdup("pxe"), strdup("on"), strdup("/dev/sda"),
			true};
		break;
	default:
		break;
	}
	if (nics) {
		struct res tmp = {.type = RES_SEED, .u.seed = {.nics = nics, .nnics = 2}};
		res_clear(&tmp);
	}
}

/* encode → decode → encode is the identity, and decode → diff finds nothing, for every type. */
static void test_round_trip(void **state)
{
	(void)state;
	for (int t = 0; t < RES_NTYPES; t++) {
		struct res a, b, c;
		struct sbx_err err = SBX_ERR_INIT;
		sample((enum res_type)t, &a);
		char *js = res_encode(&a);
		assert_int_equal(res_decode((enum res_type)t, a.name, a.node, js, &b, &err), 0);
		char *js2 = res_encode(&b);
		assert_string_equal(js, js2);
		struct res_change *ch = NULL;
		size_t n = 9;
		res_diff(&a, &b, &ch, &n);
		assert_int_equal(n, 0);
		res_copy(&c, &b);
		char *js3 = res_encode(&c);
		assert_string_equal(js, js3);
		assert_ptr_not_equal(c.name, b.name);
		res_changes_free(ch, n);
		free(js);
		free(js2);
		free(js3);
		res_clear(&a);
		res_clear(&b);
		res_clear(&c);
	}
}

/* Rows written by the previous build (keys spelled the same, one extra key) still decode. */
static void test_decode_old_rows(void **state)
{
	(void)state;
	const char *old = "{\"disk\":\"sbx-demo-web-0.qcow2\",\"domain_type\":\"auto\",\"index\":0,"
		"\"memory\":536870912,\"nics\":[{\"gateway\":\"10.211.0.1\",\"ip\":\"10.211.0.10\","
		"\"mac\":\"52:54:00:01:02:03\",\"net\":\"front\",\"network\":\"sbx-demo-front\",\"prefix\":24,"
		"\"primary\":true}],\"node\":\"web\",\"roles\":\"\",\"seed\":\"sbx-demo-web-0-seed.iso\",\"vcpus\":1}";
	struct res r;
	struct sbx_err err = SBX_ERR_INIT;
	assert_int_equal(res_decode(RES_DOMAIN, "sbx-demo-web-0", NULL, old, &r, &err), 0);
	assert_int_equal(r.u.dom.memory, 512u << 20);
	assert_int_equal(r.u.dom.nnics, 1);
	assert_string_equal(r.u.dom.nics[0].ip, "10.211.0.10");
	assert_true(r.u.dom.nics[0].primary);
	assert_string_equal(r.u.dom.node, "web");
	res_clear(&r);
	assert_int_equal(res_decode(RES_NETWORK, "n", NULL, "{\"mode\":\"isolated\"}", &r, &err), 0);
	assert_false(r.u.net.nat);
	assert_null(r.u.net.cidr);
	res_clear(&r);
	assert_int_equal(res_decode(RES_VOLUME, "v", NULL, "not json", &r, &err), -1);
	assert_non_null(strstr(sbx_err_first(&err), "volume v"));
	sbx_err_clear(&err);
	assert_int_equal(res_decode(RES_VOLUME, "v", NULL, "[1]", &r, &err), -1);
	sbx_err_clear(&err);
}

/* Differences come out field by field, nested ones with their path, values human-readable. */
static void test_diff(void **state)
{
	(void)state;
	struct res a, b;
	sample(RES_DOMAIN, &a);
	res_copy(&b, &a);
	b.u.dom.memory = 2ull << 30;
	free(b.u.dom.nics[1].ip);
	b.u.dom.nics[1].ip = strdup("10.0.1.11");
	struct res_change *ch = NULL;
	size_t n = 0;
	res_diff(&a, &b, &ch, &n);
	assert_int_equal(n, 2);
	assert_string_equal(ch[0].field, "memory");
	assert_string_equal(ch[0].old, "1Gi");
	assert_string_equal(ch[0].new, "2Gi");
	assert_string_equal(ch[1].field, "nics[1].ip");
	char *text = res_changes_text(ch, n);
	assert_string_equal(text, "memory 1Gi → 2Gi, nics[1].ip 10.0.1.10 → 10.0.1.11");
	free(text);
	res_changes_free(ch, n);
	/* a NIC more: the count changes, the common ones are compared */
	b.u.dom.nnics = 1;
	res_diff(&a, &b, &ch, &n);
	assert_int_equal(n, 2);
	assert_string_equal(ch[1].field, "nics");
	assert_string_equal(ch[1].old, "2 NIC(s)");
	res_changes_free(ch, n);
	b.u.dom.nnics = 2;
	res_clear(&b);
	sample(RES_VOLUME, &b);
	res_diff(&a, &b, &ch, &n);
	assert_int_equal(n, 1);
	assert_string_equal(ch[0].field, "type");
	res_changes_free(ch, n);
	res_clear(&a);
	sample(RES_VOLUME, &a);
	free(b.u.vol.image.sha256);
	b.u.vol.image.sha256 = NULL;
	res_diff(&a, &b, &ch, &n);
	assert_int_equal(n, 1);
	assert_string_equal(ch[0].field, "image.sha256");
	assert_string_equal(ch[0].new, "(none)");
	res_changes_free(ch, n);
	res_clear(&a);
	res_clear(&b);
}

/* Type names and the one delete order. */
static void test_types(void **state)
{
	(void)state;
	for (int t = 0; t < RES_NTYPES; t++)
		assert_int_equal(res_type_parse(res_type_name((enum res_type)t)), t);
	assert_int_equal(res_type_parse("hostkey"), -1);
	assert_int_equal(res_type_parse(NULL), -1);
	assert_true(res_delete_rank(RES_DOMAIN) < res_delete_rank(RES_VOLUME));
	assert_int_equal(res_delete_rank(RES_VOLUME), res_delete_rank(RES_SEED));
	assert_true(res_delete_rank(RES_SEED) < res_delete_rank(RES_NETWORK));
	assert_int_equal(res_delete_rank(RES_NETWORK), RES_MAX_RANK);
	assert_int_equal(res_delete_rank(RES_MACHINE), res_delete_rank(RES_DOMAIN)); /* off before networks go */
	assert_string_equal(res_type_name(RES_MACHINE), "machine");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_decode_old_rows),
		cmocka_unit_test(test_diff),
		cmocka_unit_test(test_types),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
