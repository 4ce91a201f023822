/* Unit tests of the planner's replacements: a network whose cidr or mode changes is replaced with
 * the domains on it (deleted first, created again after it), the rest is left alone, a change
 * libvirt makes live stays an update, and a protected environment refuses. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "plan.h"
#include "plan_fix.h"
#include "state.h"


static const struct plan_net moved[] = {{"front", "10.211.3.0/24"}, {"back", "10.211.2.0/24"}};

/* The desired resources of a blueprint text with blocks n. */
static void desired(const char *text, const struct plan_net *n, struct plan_desired *d)
{
	struct bp_blueprint *bp = plan_fix_load(text);
	struct sbx_err err = SBX_ERR_INIT;
	assert_int_equal(plan_desired(bp, "demo", n, 2, d, &err), 0);
	bp_free(bp);
}

/* The index of the step of (action, name). */
static size_t idx(const struct plan *p, enum plan_action a, const char *name)
{
	for (size_t i = 0; i < p->n; i++)
		if (p->steps[i].action == a && strcmp(p->steps[i].res.name, name) == 0)
			return i;
	fail_msg("no %d step for %s", (int)a, name);
	return 0;
}

/* Whether step i waits for step j. */
static bool waits(const struct plan *p, size_t i, size_t j)
{
	for (size_t k = 0; k < p->steps[i].ndeps; k++)
		if (p->steps[i].deps[k] == j)
			return true;
	return false;
}

/* The plan's text. */
static char *print(const struct plan *p)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	plan_print(p, f, false);
	fclose(f);
	return text;
}

/* A domain on front is replaced in order: deleted, then front and its seed replaced, then created. */
static void check_web_replaced(const struct plan *p, const char *inst, const char *cause)
{
	char *dom = xasprintf("sbx-demo.%s", inst), *seed = xasprintf("sbx-demo.%s-seed.iso", inst),
		*vol = xasprintf("sbx-demo.%s.qcow2", inst);
	size_t del = idx(p, PLAN_DELETE, dom), cre = idx(p, PLAN_UPDATE, dom), net = idx(p, PLAN_UPDATE, "sbx-demo.front");
	size_t sd = idx(p, PLAN_UPDATE, seed);
	assert_true(p->steps[del].replace);
	assert_true(p->steps[cre].replace);
	assert_string_equal(p->steps[cre].reason, cause);
	assert_string_equal(p->steps[del].reason, cause);
	assert_string_equal(p->steps[del].res.u.dom.nics[0].ip, strcmp(inst, "web-0") ? "10.211.1.11" : "10.211.1.10");
	assert_string_equal(p->steps[cre].res.u.dom.nics[0].ip, strcmp(inst, "web-0") ? "10.211.3.11" : "10.211.3.10");
	assert_true(waits(p, net, del));
	assert_true(waits(p, sd, del));
	assert_true(waits(p, cre, del) && waits(p, cre, net) && waits(p, cre, sd));
	assert_true(p->steps[sd].replace);
	assert_string_equal(p->steps[sd].reason, cause);
	assert_int_equal(p->steps[idx(p, PLAN_NOOP, vol)].action, PLAN_NOOP); /* the disk stays */
	free(dom);
	free(seed);
	free(vol);
}

/* A changed cidr replaces the network, the domains on it and their seeds (the addresses), in a
 * safe order; the other network's domain and every volume stay; text and JSON say so. */
static void test_cidr_replaces(void **state)
{
	(void)state;
	struct plan_desired d = {0}, d2 = {0};
	struct plan p = {0};
	struct sbx_err err = SBX_ERR_INIT;
	size_t nrec;
	desired(plan_fix_yaml, plan_fix_nets, &d);
	struct plan_rec *rec = plan_fix_record_all(&d, &nrec);
	desired(plan_fix_yaml, moved, &d2);
	assert_int_equal(plan_build(&d2, rec, nrec, NULL, 0, false, &p, &err), 0);
	size_t net = idx(&p, PLAN_UPDATE, "sbx-demo.front");
	assert_true(p.steps[net].replace);
	assert_string_equal(p.steps[net].reason, "replaced: cidr 10.211.1.0/24 → 10.211.3.0/24");
	const char *cause = "replaced: network front cidr 10.211.1.0/24 → 10.211.3.0/24";
	check_web_replaced(&p, "web-0", cause);
	check_web_replaced(&p, "web-1", cause);
	idx(&p, PLAN_NOOP, "sbx-demo.db-0"); /* only on back */
	idx(&p, PLAN_NOOP, "sbx-demo.db-0-seed.iso");
	idx(&p, PLAN_NOOP, "sbx-demo.back");
	assert_int_equal(p.nreplace, 5);
	assert_int_equal(p.ncreate + p.nupdate + p.ndelete, 0);
	assert_int_equal(p.nnoop, d2.n - 5);
	assert_int_equal(p.n, d2.n + 2);
	char *text = print(&p);
	assert_non_null(strstr(text, "± network  sbx-demo.front                           replaced: cidr 10.211.1.0/24 → 10.211.3.0/24\n"));
	assert_non_null(strstr(text, "± domain   sbx-demo.web-0                           replaced: network front cidr"));
	assert_non_null(strstr(text, "± seed     sbx-demo.web-1-seed.iso"));
	assert_non_null(strstr(text, "      nics[0].ip: 10.211.1.10 → 10.211.3.10\n"));
	assert_null(strstr(text, "- domain"));
	assert_non_null(strstr(text, "Plan: 0 to create, 0 to update, 0 to delete, 5 to replace, 6 unchanged.\n"));
	free(text);
	char *json = plan_to_json(&p);
	assert_non_null(strstr(json, "\"action\": \"replace\""));
	assert_non_null(strstr(json, "\"replace\": 5"));
	assert_non_null(strstr(json, "\"reason\": \"replaced: network front cidr 10.211.1.0/24 → 10.211.3.0/24\""));
	free(json);
	plan_clear(&p);
	plan_fix_recs_free(rec, nrec);
	plan_desired_clear(&d);
	plan_desired_clear(&d2);
}

/* A changed mode replaces the network and every domain on it, not their unchanged seeds; a domain
 * dropped from the blueprint that is on it is deleted before the network goes. */
static void test_mode_replaces(void **state)
{
	(void)state;
	struct plan_desired d = {0}, d2 = {0};
	struct plan p = {0};
	struct sbx_err err = SBX_ERR_INIT;
	size_t nrec;
	desired(plan_fix_yaml, plan_fix_nets, &d);
	struct plan_rec *rec = plan_fix_record_all(&d, &nrec);
	desired("apiVersion: sandbox/v1\nname: demo\nsite: { image: { recipe: debian-12 } }\n"
		"networks: [ { name: front }, { name: back } ]\n"
		"nodes: [ { name: web, count: 2, memory: 512Mi, networks: [front, back] } ]\n", plan_fix_nets, &d2);
	assert_int_equal(plan_build(&d2, rec, nrec, NULL, 0, false, &p, &err), 0);
	size_t back = idx(&p, PLAN_UPDATE, "sbx-demo.back");
	assert_string_equal(p.steps[back].reason, "replaced: mode isolated → nat");
	const char *cause = "replaced: network back mode isolated → nat";
	for (int i = 0; i < 2; i++) {
		char *dom = xasprintf("sbx-demo.web-%d", i), *seed = xasprintf("sbx-demo.web-%d-seed.iso", i);
		size_t del = idx(&p, PLAN_DELETE, dom), cre = idx(&p, PLAN_UPDATE, dom);
		assert_string_equal(p.steps[cre].reason, cause);
		assert_true(waits(&p, back, del) && waits(&p, cre, back) && waits(&p, cre, del));
		assert_false(p.steps[idx(&p, PLAN_NOOP, seed)].replace);
		free(dom);
		free(seed);
	}
	size_t gone = idx(&p, PLAN_DELETE, "sbx-demo.db-0");
	assert_false(p.steps[gone].replace);
	assert_string_equal(p.steps[gone].reason, "no longer in the blueprint");
	assert_true(waits(&p, back, gone));
	idx(&p, PLAN_NOOP, "sbx-demo.front");
	assert_int_equal(p.nreplace, 3);
	assert_int_equal(p.ndelete, 3); /* db-0's domain, volume, seed */
	plan_clear(&p);
	plan_fix_recs_free(rec, nrec);
	plan_desired_clear(&d);
	plan_desired_clear(&d2);
}

/* What libvirt changes live (the DHCP range of a netboot change) stays an update in place; so do
 * a domain's own changes. */
static void test_in_place(void **state)
{
	(void)state;
	struct plan_desired d = {0};
	struct plan p = {0};
	struct sbx_err err = SBX_ERR_INIT;
	size_t nrec;
	desired(plan_fix_yaml, plan_fix_nets, &d);
	struct plan_rec *rec = plan_fix_record_all(&d, &nrec);
	for (size_t i = 0; i < nrec; i++) {
		if (strcmp(rec[i].res.name, "sbx-demo.front") == 0)
			rec[i].res.u.net.netboot = true;
		if (strcmp(rec[i].res.name, "sbx-demo.db-0") == 0)
			rec[i].res.u.dom.vcpus = 2;
	}
	assert_int_equal(plan_build(&d, rec, nrec, NULL, 0, true, &p, &err), 0);
	const struct plan_step *front = &p.steps[idx(&p, PLAN_UPDATE, "sbx-demo.front")];
	assert_false(front->replace);
	assert_string_equal(front->reason, "changed");
	assert_false(p.steps[idx(&p, PLAN_UPDATE, "sbx-demo.db-0")].replace);
	idx(&p, PLAN_NOOP, "sbx-demo.web-0");
	assert_int_equal(p.nupdate, 2);
	assert_int_equal(p.nreplace + p.ndelete + p.ncreate, 0);
	char *text = print(&p);
	assert_non_null(strstr(text, "Plan: 0 to create, 2 to update, 0 to delete, 9 unchanged.\n"));
	free(text);
	plan_clear(&p);
	plan_fix_recs_free(rec, nrec);
	plan_desired_clear(&d);
}

/* A machine booting from a replaced network is replaced too: powered off before the network goes,
 * on again after its boot service has the new addresses (its script and seed); a machine on the
 * other network and its service stay. */
static void test_machine_replaced(void **state)
{
	(void)state;
	static const char yaml[] = "apiVersion: sandbox/v1\nname: demo\nsite: { image: { recipe: debian-12 } }\n"
		"networks: [ { name: front }, { name: back, mode: isolated } ]\n"
		"nodes:\n  - { name: web, networks: [front] }\n"
		"  - { name: m1, provider: ipmi, networks: [front], mac: \"52:54:00:00:00:01\", disk: /dev/sda,\n"
		"      bmc: { address: 192.0.2.1, password: \"${secret.bmc}\" } }\n"
		"  - { name: m2, provider: ipmi, networks: [back], mac: \"52:54:00:00:00:02\", disk: /dev/sda,\n"
		"      bmc: { address: 192.0.2.2, password: \"${secret.bmc}\" } }\n";
	struct plan_desired d = {0}, d2 = {0};
	struct plan p = {0};
	struct sbx_err err = SBX_ERR_INIT;
	size_t nrec;
	desired(yaml, plan_fix_nets, &d);
	struct plan_rec *rec = plan_fix_record_all(&d, &nrec);
	desired(yaml, moved, &d2);
	assert_int_equal(plan_build(&d2, rec, nrec, NULL, 0, false, &p, &err), 0);
	size_t net = idx(&p, PLAN_UPDATE, "sbx-demo.front"), nb = idx(&p, PLAN_UPDATE, "sbx-demo.front.netboot");
	size_t del = idx(&p, PLAN_DELETE, "sbx-demo.m1-0"), on = idx(&p, PLAN_UPDATE, "sbx-demo.m1-0");
	assert_true(p.steps[del].replace && p.steps[on].replace);
	assert_string_equal(p.steps[del].reason, "replaced: network front cidr 10.211.1.0/24 → 10.211.3.0/24: power off "
		"(BMC 192.0.2.1:623)");
	assert_string_equal(p.steps[on].reason, "replaced: network front cidr 10.211.1.0/24 → 10.211.3.0/24: power off, "
		"then on to boot with its new address (BMC 192.0.2.1:623)");
	assert_false(p.steps[nb].replace); /* the service converges in place: new addresses, same directory */
	assert_true(waits(&p, net, del));  /* off before its network goes */
	assert_true(waits(&p, nb, net));
	assert_true(waits(&p, on, del) && waits(&p, on, nb)); /* on again once the service has the new addresses */
	idx(&p, PLAN_NOOP, "sbx-demo.m2-0");
	idx(&p, PLAN_NOOP, "sbx-demo.back.netboot");
	char *text = print(&p);
	assert_non_null(strstr(text, "± machine  sbx-demo.m1-0                            replaced: network front cidr"));
	free(text);
	plan_clear(&p);
	plan_fix_recs_free(rec, nrec);
	plan_desired_clear(&d);
	plan_desired_clear(&d2);
}

/* A protected environment refuses a replacement through a network change, naming the network,
 * each domain and the cause, with a hint. */
static void test_protected(void **state)
{
	(void)state;
	struct plan_desired d = {0}, d2 = {0};
	struct plan p = {0};
	struct sbx_err err = SBX_ERR_INIT;
	size_t nrec;
	desired(plan_fix_yaml, plan_fix_nets, &d);
	struct plan_rec *rec = plan_fix_record_all(&d, &nrec);
	desired(plan_fix_yaml, moved, &d2);
	assert_int_equal(plan_build(&d2, rec, nrec, NULL, 0, true, &p, &err), -1);
	assert_int_equal(err.code, SBX_EXIT_REFUSED);
	assert_int_equal(p.n, 0);
	assert_int_equal(err.n, 3);
	bool net = false, web0 = false;
	for (size_t i = 0; i < err.n; i++) {
		net = net || strcmp(err.msgs[i].text, "the environment is protected: the plan would replace network "
			"sbx-demo.front (cidr 10.211.1.0/24 → 10.211.3.0/24)") == 0;
		web0 = web0 || strcmp(err.msgs[i].text, "the environment is protected: the plan would replace domain "
			"sbx-demo.web-0 (network front cidr 10.211.1.0/24 → 10.211.3.0/24)") == 0;
	}
	assert_true(net && web0);
	assert_non_null(err.hint);
	assert_non_null(strstr(err.hint, "cidr or mode does not change in place"));
	assert_non_null(strstr(err.hint, "--confirm"));
	sbx_err_clear(&err);
	plan_fix_recs_free(rec, nrec);
	plan_desired_clear(&d);
	plan_desired_clear(&d2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cidr_replaces),
		cmocka_unit_test(test_mode_replaces),
		cmocka_unit_test(test_in_place),
		cmocka_unit_test(test_machine_replaced),
		cmocka_unit_test(test_protected),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
