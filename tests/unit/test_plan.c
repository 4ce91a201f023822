/* Unit tests of the planner: desired resources, diff against the state, protection, printing. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "plan.h"

static const char *yaml =
	"apiVersion: sandbox/v1\n"
	"name: demo\n"
	"site: { image: { recipe: debian-12 } }\n"
	"networks: [ { name: front }, { name: back, mode: isolated } ]\n"
	"nodes:\n"
	"  - { name: web, count: 2, memory: 512Mi, networks: [front, back] }\n"
	"  - { name: db, networks: [back] }\n";

static const struct plan_net nets[] = {{"front", "10.211.1.0/24"}, {"back", "10.211.2.0/24"}};

/* Load a blueprint from text. */
static struct bp_blueprint *load(const char *text)
{
	struct bp_blueprint *bp = NULL;
	struct sbx_err err = SBX_ERR_INIT;
	struct bp_load_opts o = {NULL, 0, "demo"};
	if (bp_load_string("test.yaml", text, strlen(text), &o, &bp, &err) < 0)
		sbx_err_print(&err, stderr);
	sbx_err_clear(&err);
	assert_non_null(bp);
	return bp;
}

/* Find a desired resource. */
static const struct plan_res *find(const struct plan_desired *d, const char *name)
{
	for (size_t i = 0; i < d->n; i++)
		if (strcmp(d->res[i].name, name) == 0)
			return &d->res[i];
	return NULL;
}

/* Names, addresses and MACs are deterministic; every VM depends on its disk, seed, networks. */
static void test_desired(void **state)
{
	(void)state;
	struct bp_blueprint *bp = load(yaml);
	struct plan_desired d = {0};
	struct sbx_err err = SBX_ERR_INIT;
	assert_int_equal(plan_desired(bp, "demo", nets, 2, &d, &err), 0);
	assert_int_equal(d.n, 2 + 3 * 3); /* 2 networks, 3 instances × (volume, seed, domain) */
	assert_non_null(find(&d, "sbx-demo-front"));
	assert_non_null(find(&d, "sbx-demo-web-1.qcow2"));
	assert_non_null(find(&d, "sbx-demo-db-0-seed.iso"));
	const struct plan_res *dom = find(&d, "sbx-demo-web-1");
	assert_non_null(dom);
	assert_string_equal(dom->node, "web-1");
	assert_int_equal(dom->ndeps, 4);
	json_t *spec = json_loads(dom->spec, 0, NULL);
	assert_int_equal(json_integer_value(json_object_get(spec, "memory")), 512 * 1024 * 1024);
	json_t *nic0 = json_array_get(json_object_get(spec, "nics"), 0);
	assert_string_equal(json_string_value(json_object_get(nic0, "ip")), "10.211.1.11");
	assert_string_equal(json_string_value(json_object_get(nic0, "gateway")), "10.211.1.1");
	json_decref(spec);
	const struct plan_res *db = find(&d, "sbx-demo-db-0");
	spec = json_loads(db->spec, 0, NULL);
	/* db is the third instance on "back" (after web-0, web-1) */
	assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(spec, "nics"), 0), "ip")),
		"10.211.2.12");
	json_decref(spec);
	/* same input, same output */
	struct plan_desired d2 = {0};
	assert_int_equal(plan_desired(bp, "demo", nets, 2, &d2, &err), 0);
	for (size_t i = 0; i < d.n; i++)
		assert_string_equal(d.res[i].spec, d2.res[i].spec);
	plan_desired_clear(&d);
	plan_desired_clear(&d2);
	bp_free(bp);
}

/* Turn desired resources into recorded rows (as if `up` had finished). */
static struct state_res *record_all(const struct plan_desired *d, size_t *n)
{
	struct state_res *r = calloc(d->n, sizeof(*r));
	for (size_t i = 0; i < d->n; i++)
		r[i] = (struct state_res){"demo", d->res[i].type, d->res[i].name, NULL, d->res[i].spec, STATE_RES_CREATED, 0};
	*n = d->n;
	return r;
}

/* Index of a step by name. */
static const struct plan_step *step(const struct plan *p, const char *name)
{
	for (size_t i = 0; i < p->n; i++)
		if (strcmp(p->steps[i].name, name) == 0)
			return &p->steps[i];
	return NULL;
}

/* Empty state: everything created; recorded: nothing to do; a change: one update. */
static void test_diff(void **state)
{
	(void)state;
	struct bp_blueprint *bp = load(yaml);
	struct plan_desired d = {0};
	struct plan p = {0};
	struct sbx_err err = SBX_ERR_INIT;
	assert_int_equal(plan_desired(bp, "demo", nets, 2, &d, &err), 0);
	assert_int_equal(plan_build(&d, NULL, 0, NULL, 0, false, &p, &err), 0);
	assert_int_equal(p.ncreate, d.n);
	const struct plan_step *dom = step(&p, "sbx-demo-web-0");
	assert_int_equal(dom->ndeps, 4);
	assert_string_equal(p.steps[dom->deps[0]].name, "sbx-demo-web-0.qcow2");
	plan_clear(&p);

	size_t nrec;
	struct state_res *rec = record_all(&d, &nrec);
	assert_int_equal(plan_build(&d, rec, nrec, NULL, 0, false, &p, &err), 0);
	assert_int_equal(p.nnoop, d.n);
	assert_int_equal(p.ncreate + p.nupdate + p.ndelete, 0);
	plan_clear(&p);

	/* an interrupted create is retried; a changed spec is an update */
	rec[0].status = STATE_RES_PENDING;
	char *old = rec[5].spec;
	rec[5].spec = "{\"changed\":true}";
	assert_int_equal(plan_build(&d, rec, nrec, NULL, 0, false, &p, &err), 0);
	assert_int_equal(p.steps[0].action, PLAN_CREATE);
	assert_non_null(strstr(p.steps[0].reason, "interrupted"));
	assert_int_equal(p.steps[5].action, PLAN_UPDATE);
	assert_non_null(strstr(p.steps[5].reason, "changed"));
	rec[5].spec = old;
	plan_clear(&p);
	free(rec);
	plan_desired_clear(&d);
	bp_free(bp);
}

/* What libvirt lost is created again; what the blueprint dropped is deleted in order. */
static void test_drift_and_delete_order(void **state)
{
	(void)state;
	struct bp_blueprint *bp = load(yaml);
	struct plan_desired d = {0}, none = {0};
	struct plan p = {0};
	struct sbx_err err = SBX_ERR_INIT;
	assert_int_equal(plan_desired(bp, "demo", nets, 2, &d, &err), 0);
	size_t nrec;
	struct state_res *rec = record_all(&d, &nrec);
	const char *observed[] = {"sbx-demo-front", "sbx-demo-back"};
	assert_int_equal(plan_build(&d, rec, nrec, observed, 2, false, &p, &err), 0);
	assert_int_equal(p.ncreate, d.n - 2);
	assert_non_null(strstr(step(&p, "sbx-demo-db-0")->reason, "missing in libvirt"));
	plan_clear(&p);

	assert_int_equal(plan_build(&none, rec, nrec, NULL, 0, false, &p, &err), 0);
	assert_int_equal(p.ndelete, d.n);
	const struct plan_step *net = step(&p, "sbx-demo-back"), *vol = step(&p, "sbx-demo-db-0.qcow2");
	assert_int_equal(net->ndeps, 9); /* after every domain, volume and seed */
	assert_int_equal(vol->ndeps, 3); /* after the three domains */
	for (size_t k = 0; k < vol->ndeps; k++)
		assert_string_equal(p.steps[vol->deps[k]].type, PLAN_T_DOMAIN);
	plan_clear(&p);
	free(rec);
	plan_desired_clear(&d);
	bp_free(bp);
}

/* A protected environment refuses a plan that would delete a VM. */
static void test_protected(void **state)
{
	(void)state;
	struct bp_blueprint *bp = load(yaml);
	struct plan_desired d = {0}, none = {0};
	struct plan p = {0};
	struct sbx_err err = SBX_ERR_INIT;
	assert_int_equal(plan_desired(bp, "demo", nets, 2, &d, &err), 0);
	size_t nrec;
	struct state_res *rec = record_all(&d, &nrec);
	assert_int_equal(plan_build(&none, rec, nrec, NULL, 0, true, &p, &err), -1);
	assert_int_equal(err.code, SBX_EXIT_REFUSED);
	assert_non_null(strstr(sbx_err_first(&err), "protected"));
	assert_non_null(err.hint);
	sbx_err_clear(&err);
	/* converging a protected environment without deletions is fine */
	assert_int_equal(plan_build(&d, rec, nrec, NULL, 0, true, &p, &err), 0);
	plan_clear(&p);
	free(rec);
	plan_desired_clear(&d);
	bp_free(bp);
}

/* Helpers: names, MACs, addresses. */
static void test_names(void **state)
{
	(void)state;
	char br[12], mac[18], mac2[18];
	plan_bridge_name("sbx-a-very-long-environment-name-front", br);
	assert_int_equal(strlen(br), 11);
	assert_true(strncmp(br, "sbx", 3) == 0);
	plan_mac("demo", "web-0", "front", mac);
	plan_mac("demo", "web-1", "front", mac2);
	assert_int_equal(strlen(mac), 17);
	assert_true(strncmp(mac, "52:54:00:", 9) == 0);
	assert_string_not_equal(mac, mac2);
	char *ip = plan_cidr_host("10.1.2.0/24", 254);
	assert_string_equal(ip, "10.1.2.254");
	free(ip);
	assert_null(plan_cidr_host("garbage", 3));
	assert_null(plan_cidr_host("10.1.2.0/24", 255));
}

/* A network too small for its nodes is a clear error. */
static void test_network_capacity(void **state)
{
	(void)state;
	struct bp_blueprint *bp = load("apiVersion: sandbox/v1\nname: big\nsite: { image: { recipe: debian-12 } }\n"
		"networks: [ { name: n } ]\nnodes: [ { name: w, count: 241, networks: [n] } ]\n");
	struct plan_desired d = {0};
	struct sbx_err err = SBX_ERR_INIT;
	const struct plan_net one[] = {{"n", "10.0.0.0/24"}};
	assert_int_equal(plan_desired(bp, "big", one, 1, &d, &err), -1);
	assert_non_null(strstr(sbx_err_first(&err), "at most 240"));
	sbx_err_clear(&err);
	bp_free(bp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_desired),
		cmocka_unit_test(test_diff),
		cmocka_unit_test(test_drift_and_delete_order),
		cmocka_unit_test(test_protected),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_network_capacity),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
