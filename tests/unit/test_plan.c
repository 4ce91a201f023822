/* Unit tests of the planner: desired resources, diff against the state, protection, printing. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "ip4.h"
#include "plan.h"
#include "plan_fix.h"
#include "state.h"



/* Find a desired resource. */
static const struct res *find(const struct plan_desired *d, const char *name)
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
	struct bp_blueprint *bp = plan_fix_load(plan_fix_yaml);
	struct plan_desired d = {0};
	struct sbx_err err = SBX_ERR_INIT;
	assert_int_equal(plan_desired(bp, "demo", plan_fix_nets, 2, &d, &err), 0);
	assert_int_equal(d.n, 2 + 3 * 3); /* 2 networks, 3 instances × (volume, seed, domain) */
	assert_non_null(find(&d, "sbx-demo.front"));
	assert_non_null(find(&d, "sbx-demo.web-1.qcow2"));
	assert_non_null(find(&d, "sbx-demo.db-0-seed.iso"));
	const struct res *dom = find(&d, "sbx-demo.web-1");
	assert_non_null(dom);
	assert_int_equal(dom->type, RES_DOMAIN);
	assert_string_equal(dom->node, "web-1");
	assert_int_equal(dom->ndeps, 4);
	assert_int_equal(dom->u.dom.memory, 512 * 1024 * 1024);
	assert_int_equal(dom->u.dom.nnics, 2);
	assert_string_equal(dom->u.dom.nics[0].ip, "10.211.1.11");
	assert_string_equal(dom->u.dom.nics[0].gateway, "10.211.1.1");
	assert_string_equal(dom->u.dom.nics[0].network, "sbx-demo.front");
	assert_string_equal(dom->u.dom.disk, "sbx-demo.web-1.qcow2");
	const struct res *db = find(&d, "sbx-demo.db-0");
	/* db is the third instance on "back" (after web-0, web-1) */
	assert_string_equal(db->u.dom.nics[0].ip, "10.211.2.12");
	const struct res *net = find(&d, "sbx-demo.back");
	assert_false(net->u.net.nat);
	assert_string_equal(net->u.net.cidr, "10.211.2.0/24");
	assert_string_equal(find(&d, "sbx-demo.db-0.qcow2")->u.vol.image.recipe, "debian-12");
	/* same input, same output */
	struct plan_desired d2 = {0};
	assert_int_equal(plan_desired(bp, "demo", plan_fix_nets, 2, &d2, &err), 0);
	for (size_t i = 0; i < d.n; i++) {
		char *a = res_encode(&d.res[i]), *b = res_encode(&d2.res[i]);
		assert_string_equal(a, b);
		free(a);
		free(b);
	}
	plan_desired_clear(&d);
	plan_desired_clear(&d2);
	bp_free(bp);
}

/* Index of a step by name. */
static const struct plan_step *step(const struct plan *p, const char *name)
{
	for (size_t i = 0; i < p->n; i++)
		if (strcmp(p->steps[i].res.name, name) == 0)
			return &p->steps[i];
	return NULL;
}

/* Empty state: everything created; recorded: nothing to do; a change: one update. */
static void test_diff(void **state)
{
	(void)state;
	struct bp_blueprint *bp = plan_fix_load(plan_fix_yaml);
	struct plan_desired d = {0};
	struct plan p = {0};
	struct sbx_err err = SBX_ERR_INIT;
	assert_int_equal(plan_desired(bp, "demo", plan_fix_nets, 2, &d, &err), 0);
	assert_int_equal(plan_build(&d, NULL, 0, NULL, 0, false, &p, &err), 0);
	assert_int_equal(p.ncreate, d.n);
	const struct plan_step *dom = step(&p, "sbx-demo.web-0");
	assert_int_equal(dom->ndeps, 4);
	assert_string_equal(p.steps[dom->deps[0]].res.name, "sbx-demo.web-0.qcow2");
	plan_clear(&p);

	size_t nrec;
	struct plan_rec *rec = plan_fix_record_all(&d, &nrec);
	assert_int_equal(plan_build(&d, rec, nrec, NULL, 0, false, &p, &err), 0);
	assert_int_equal(p.nnoop, d.n);
	assert_int_equal(p.ncreate + p.nupdate + p.ndelete, 0);
	plan_clear(&p);

	/* an interrupted create is retried; a changed field is an update that names old and new */
	rec[0].status = STATE_RES_PENDING;
	size_t k = 0;
	while (strcmp(rec[k].res.name, "sbx-demo.web-1") != 0)
		k++;
	rec[k].res.u.dom.memory = 1024 * 1024 * 1024;
	rec[k].res.u.dom.vcpus = 2;
	assert_int_equal(plan_build(&d, rec, nrec, NULL, 0, false, &p, &err), 0);
	assert_int_equal(p.steps[0].action, PLAN_CREATE);
	assert_non_null(strstr(p.steps[0].reason, "interrupted"));
	const struct plan_step *upd = step(&p, "sbx-demo.web-1");
	assert_int_equal(upd->action, PLAN_UPDATE);
	assert_non_null(strstr(upd->reason, "changed"));
	assert_int_equal(upd->nchanges, 2);
	assert_string_equal(upd->changes[0].field, "memory");
	assert_string_equal(upd->changes[0].old, "1Gi");
	assert_string_equal(upd->changes[0].new, "512Mi");
	assert_string_equal(upd->changes[1].field, "vcpus");
	assert_string_equal(upd->changes[1].old, "2");
	assert_string_equal(upd->changes[1].new, "1");
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	plan_print(&p, f, false);
	fclose(f);
	assert_non_null(strstr(text, "~ domain   sbx-demo.web-1"));
	assert_non_null(strstr(text, "      memory: 1Gi → 512Mi\n"));
	assert_non_null(strstr(text, "Plan: 1 to create, 1 to update, 0 to delete"));
	free(text);
	char *json = plan_to_json(&p);
	assert_non_null(strstr(json, "\"field\": \"vcpus\""));
	free(json);
	plan_clear(&p);
	plan_fix_recs_free(rec, nrec);
	plan_desired_clear(&d);
	bp_free(bp);
}

/* What libvirt lost is created again; what the blueprint dropped is deleted in order. */
static void test_drift_and_delete_order(void **state)
{
	(void)state;
	struct bp_blueprint *bp = plan_fix_load(plan_fix_yaml);
	struct plan_desired d = {0}, none = {0};
	struct plan p = {0};
	struct sbx_err err = SBX_ERR_INIT;
	assert_int_equal(plan_desired(bp, "demo", plan_fix_nets, 2, &d, &err), 0);
	size_t nrec;
	struct plan_rec *rec = plan_fix_record_all(&d, &nrec);
	const struct plan_obs observed[] = {{"sbx-demo.front", true, NULL, false, NULL, 0}, {"sbx-demo.back", true, NULL, false, NULL, 0}};
	assert_int_equal(plan_build(&d, rec, nrec, observed, 2, false, &p, &err), 0);
	assert_int_equal(p.ncreate, d.n - 2);
	assert_non_null(strstr(step(&p, "sbx-demo.db-0")->reason, "missing in libvirt"));
	plan_clear(&p);

	/* drift the provider reports is an update listing what it saw and what is wanted */
	const struct res_change drift[] = {{"state", "shut off", "running"}};
	struct plan_obs all[16];
	for (size_t i = 0; i < d.n; i++)
		all[i] = (struct plan_obs){d.res[i].name, true, NULL, false, NULL, 0};
	size_t k = 0;
	while (strcmp(all[k].name, "sbx-demo.db-0") != 0)
		k++;
	all[k].drift = drift;
	all[k].ndrift = 1;
	assert_int_equal(plan_build(&d, rec, nrec, all, d.n, false, &p, &err), 0);
	const struct plan_step *db = step(&p, "sbx-demo.db-0");
	assert_int_equal(db->action, PLAN_UPDATE);
	assert_non_null(strstr(db->reason, "drifted"));
	assert_int_equal(db->nchanges, 1);
	assert_string_equal(db->changes[0].field, "state (observed)");
	assert_string_equal(db->changes[0].old, "shut off");
	assert_int_equal(p.nupdate, 1);
	assert_int_equal(p.nnoop, d.n - 1);
	plan_clear(&p);

	assert_int_equal(plan_build(&none, rec, nrec, NULL, 0, false, &p, &err), 0);
	assert_int_equal(p.ndelete, d.n);
	const struct plan_step *net = step(&p, "sbx-demo.back"), *vol = step(&p, "sbx-demo.db-0.qcow2");
	assert_int_equal(net->ndeps, 9); /* after every domain, volume and seed */
	assert_int_equal(vol->ndeps, 3); /* after the three domains */
	for (size_t j = 0; j < vol->ndeps; j++)
		assert_int_equal(p.steps[vol->deps[j]].res.type, RES_DOMAIN);
	plan_clear(&p);
	plan_fix_recs_free(rec, nrec);
	plan_desired_clear(&d);
	bp_free(bp);
}

/* A protected environment refuses a plan that would delete a VM. */
static void test_protected(void **state)
{
	(void)state;
	struct bp_blueprint *bp = plan_fix_load(plan_fix_yaml);
	struct plan_desired d = {0}, none = {0};
	struct plan p = {0};
	struct sbx_err err = SBX_ERR_INIT;
	assert_int_equal(plan_desired(bp, "demo", plan_fix_nets, 2, &d, &err), 0);
	size_t nrec;
	struct plan_rec *rec = plan_fix_record_all(&d, &nrec);
	assert_int_equal(plan_build(&none, rec, nrec, NULL, 0, true, &p, &err), -1);
	assert_int_equal(err.code, SBX_EXIT_REFUSED);
	assert_non_null(strstr(sbx_err_first(&err), "protected"));
	assert_non_null(err.hint);
	sbx_err_clear(&err);
	/* converging a protected environment without deletions is fine */
	assert_int_equal(plan_build(&d, rec, nrec, NULL, 0, true, &p, &err), 0);
	plan_clear(&p);
	plan_fix_recs_free(rec, nrec);
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
	char *ip = ip4_host("10.1.2.0/24", 254);
	assert_string_equal(ip, "10.1.2.254");
	free(ip);
	assert_null(ip4_host("garbage", 3));
	assert_null(ip4_host("10.1.2.0/24", 255));
	assert_null(ip4_host("10.1.0.0/16", 3));
}

/* A network too small for its nodes is a clear error. */
static void test_network_capacity(void **state)
{
	(void)state;
	struct bp_blueprint *bp = plan_fix_load("apiVersion: sandbox/v1\nname: big\nsite: { image: { recipe: debian-12 } }\n"
		"networks: [ { name: n } ]\nnodes: [ { name: w, count: 241, networks: [n] } ]\n");
	struct plan_desired d = {0};
	struct sbx_err err = SBX_ERR_INIT;
	const struct plan_net one[] = {{"n", "10.0.0.0/24"}};
	assert_int_equal(plan_desired(bp, "big", one, 1, &d, &err), -1);
	assert_non_null(strstr(sbx_err_first(&err), "at most 240"));
	sbx_err_clear(&err);
	bp_free(bp);
}

/* A node with provider ipmi is one machine: its BMC (the password as the ${secret} reference) and
 * what up and down do to it, in the plan's reason; a protected environment keeps it powered. */
static void test_machine(void **state)
{
	(void)state;
	struct bp_blueprint *bp = plan_fix_load("apiVersion: sandbox/v1\nname: demo\n"
		"site: { image: { recipe: debian-12 } }\n"
		"networks: [ { name: front }, { name: back } ]\n"
		"nodes:\n"
		"  - { name: web, networks: [front] }\n"
		"  - { name: metal, provider: ipmi, mac: \"52:54:00:12:34:56\",\n"
		"      bmc: { address: 10.0.0.5, user: admin, password: \"${secret.bmc}\" } }\n");
	struct plan_desired d = {0}, none = {0};
	struct plan p = {0};
	struct sbx_err err = SBX_ERR_INIT;
	assert_int_equal(plan_desired(bp, "demo", plan_fix_nets, 2, &d, &err), 0);
	const struct res *m = find(&d, "sbx-demo.metal-0");
	assert_non_null(m);
	assert_int_equal(m->type, RES_MACHINE);
	assert_string_equal(m->node, "metal-0");
	assert_string_equal(m->u.mach.bmc_address, "10.0.0.5");
	assert_int_equal(m->u.mach.bmc_port, 623);
	assert_string_equal(m->u.mach.bmc_user, "admin");
	assert_string_equal(m->u.mach.bmc_password, "${secret.bmc}");
	assert_string_equal(m->u.mach.mac, "52:54:00:12:34:56");
	assert_string_equal(m->u.mach.boot, "pxe");
	assert_string_equal(m->u.mach.power, "on");

	assert_int_equal(plan_build(&d, NULL, 0, NULL, 0, false, &p, &err), 0);
	const struct plan_step *s = step(&p, "sbx-demo.metal-0");
	assert_non_null(s);
	assert_int_equal(s->action, PLAN_CREATE);
	assert_string_equal(s->reason, "new: boot pxe, run the image from RAM, power on (BMC 10.0.0.5:623)");
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	plan_print(&p, f, false);
	fclose(f);
	assert_non_null(strstr(text, "+ machine  sbx-demo.metal-0"));
	assert_null(strstr(text, "${secret"));
	free(text);
	plan_clear(&p);

	size_t nrec;
	struct plan_rec *rec = plan_fix_record_all(&d, &nrec);
	assert_int_equal(plan_build(&d, rec, nrec, NULL, 0, false, &p, &err), 0);
	assert_int_equal(step(&p, "sbx-demo.metal-0")->action, PLAN_NOOP);
	plan_clear(&p);
	/* the BMC reads the recorded machine powered off: up powers it on again */
	struct plan_obs off = {.name = "sbx-demo.metal-0", .exists = false};
	assert_int_equal(plan_build(&d, rec, nrec, &off, 1, false, &p, &err), 0);
	s = step(&p, "sbx-demo.metal-0");
	assert_int_equal(s->action, PLAN_CREATE);
	assert_string_equal(s->reason, "powered off: boot pxe, run the image from RAM, power on (BMC 10.0.0.5:623)");
	plan_clear(&p);
	assert_int_equal(plan_build(&none, rec, nrec, NULL, 0, false, &p, &err), 0);
	s = step(&p, "sbx-demo.metal-0");
	assert_int_equal(s->action, PLAN_DELETE);
	assert_string_equal(s->reason, "environment teardown: power off, release the lease (BMC 10.0.0.5:623)");
	plan_clear(&p);
	assert_int_equal(plan_build(&none, rec, nrec, NULL, 0, true, &p, &err), -1);
	assert_int_equal(err.code, SBX_EXIT_REFUSED);
	bool named = false;
	for (size_t i = 0; i < err.n; i++)
		named = named || strstr(err.msgs[i].text, "would delete machine sbx-demo.metal-0");
	assert_true(named);
	sbx_err_clear(&err);
	plan_fix_recs_free(rec, nrec);
	plan_desired_clear(&d);
	bp_free(bp);
}

/* A machine's install target and wipe are in its resource and in the plan's reason; changing the
 * disk of a recorded machine is an update naming the field. */
static void test_machine_install(void **state)
{
	(void)state;
	static const char *const y = "apiVersion: sandbox/v1\nname: demo\n"
		"site: { image: { recipe: debian-12 } }\n"
		"nodes:\n"
		"  - { name: metal, provider: ipmi, boot: pxe, wipe: true, disk: %s,\n"
		"      bmc: { address: 10.0.0.6, password: \"${secret.bmc}\" } }\n";
	char *y1 = xasprintf(y, "/dev/sda"), *y2 = xasprintf(y, "/dev/nvme0n1");
	struct bp_blueprint *bp = plan_fix_load(y1), *bp2 = plan_fix_load(y2);
	struct plan_desired d = {0}, d2 = {0};
	struct plan p = {0};
	struct sbx_err err = SBX_ERR_INIT;
	assert_int_equal(plan_desired(bp, "demo", plan_fix_nets, 2, &d, &err), 0);
	const struct res *m = find(&d, "sbx-demo.metal-0");
	assert_non_null(m);
	assert_string_equal(m->u.mach.disk, "/dev/sda");
	assert_true(m->u.mach.wipe);
	assert_int_equal(plan_build(&d, NULL, 0, NULL, 0, false, &p, &err), 0);
	assert_string_equal(step(&p, "sbx-demo.metal-0")->reason,
		"new: boot pxe, install to /dev/sda, wipe the disk first, power on (BMC 10.0.0.6:623)");
	plan_clear(&p);

	size_t nrec;
	struct plan_rec *rec = plan_fix_record_all(&d, &nrec);
	assert_int_equal(plan_desired(bp2, "demo", plan_fix_nets, 2, &d2, &err), 0);
	assert_int_equal(plan_build(&d2, rec, nrec, NULL, 0, false, &p, &err), 0);
	const struct plan_step *s = step(&p, "sbx-demo.metal-0");
	assert_int_equal(s->action, PLAN_UPDATE);
	assert_int_equal(s->nchanges, 1);
	assert_string_equal(s->changes[0].field, "disk");
	assert_string_equal(s->changes[0].old, "/dev/sda");
	assert_string_equal(s->changes[0].new, "/dev/nvme0n1");
	assert_string_equal(s->reason,
		"changed: boot pxe, install to /dev/nvme0n1, wipe the disk first, power on again (BMC 10.0.0.6:623)");
	plan_clear(&p);
	plan_fix_recs_free(rec, nrec);
	plan_desired_clear(&d);
	plan_desired_clear(&d2);
	bp_free(bp);
	bp_free(bp2);
	free(y1);
	free(y2);
}

/* Machines with a MAC get the network boot service of the network they boot from (their first, else
 * the blueprint's first): one service per network, addresses from the top of the block (VMs keep
 * theirs from .10), the machine after its service, the service after its network; the resource
 * round-trips through the state's JSON and a changed MAC is an update naming the host's field. */
static void test_netboot(void **state)
{
	(void)state;
	static const char *const y = "apiVersion: sandbox/v1\nname: demo\n"
		"site: { image: { recipe: debian-12 } }\n"
		"networks: [ { name: front }, { name: back } ]\n"
		"nodes:\n"
		"  - { name: web, networks: [front] }\n"
		"  - { name: metal, provider: ipmi, mac: \"%s\", networks: [back], disk: /dev/sda,\n"
		"      bmc: { address: 10.0.0.5, password: \"${secret.bmc}\" } }\n"
		"  - { name: edge, provider: ipmi, mac: \"52:54:00:00:00:22\", bmc: { address: 10.0.0.6, password: \"${secret.bmc}\" } }\n"
		"  - { name: nomac, provider: ipmi, bmc: { address: 10.0.0.7, password: \"${secret.bmc}\" } }\n";
	char *y1 = xasprintf(y, "52:54:00:00:00:11"), *y2 = xasprintf(y, "52:54:00:00:00:12");
	struct bp_blueprint *bp = plan_fix_load(y1), *bp2 = plan_fix_load(y2);
	struct plan_desired d = {0}, d2 = {0};
	struct sbx_err err = SBX_ERR_INIT;
	assert_int_equal(plan_desired(bp, "demo", plan_fix_nets, 2, &d, &err), 0);
	const struct res *back = find(&d, "sbx-demo.back.netboot"), *front = find(&d, "sbx-demo.front.netboot");
	assert_non_null(back);
	assert_non_null(front);
	assert_int_equal(back->type, RES_NETBOOT);
	char br[12];
	plan_bridge_name("sbx-demo.back", br);
	assert_string_equal(back->u.nb.bridge, br);
	assert_string_equal(back->u.nb.cidr, "10.211.2.0/24");
	assert_string_equal(back->u.nb.address, "10.211.2.1");
	assert_int_equal(back->u.nb.nhosts, 1);
	assert_string_equal(back->u.nb.hosts[0].name, "metal-0");
	assert_string_equal(back->u.nb.hosts[0].mac, "52:54:00:00:00:11");
	assert_string_equal(back->u.nb.hosts[0].ip, "10.211.2.249");
	assert_string_equal(back->u.nb.hosts[0].disk, "/dev/sda");
	assert_int_equal(front->u.nb.nhosts, 1);
	assert_string_equal(front->u.nb.hosts[0].name, "edge-0");
	assert_string_equal(front->u.nb.hosts[0].ip, "10.211.1.249");
	assert_null(front->u.nb.hosts[0].disk);
	assert_string_equal(find(&d, "sbx-demo.web-0")->u.dom.nics[0].ip, "10.211.1.10");
	const struct res *m = find(&d, "sbx-demo.metal-0");
	assert_int_equal(m->ndeps, 1);
	assert_string_equal(m->deps[0], "sbx-demo.back.netboot");
	assert_int_equal(find(&d, "sbx-demo.nomac-0")->ndeps, 0);
	assert_int_equal(back->ndeps, 1);
	assert_string_equal(back->deps[0], "sbx-demo.back");
	assert_true(res_delete_rank(RES_NETBOOT) > res_delete_rank(RES_MACHINE));
	assert_true(res_delete_rank(RES_NETBOOT) < res_delete_rank(RES_NETWORK));

	char *spec = res_encode(back);
	struct res dec;
	struct res_change *ch = NULL;
	size_t nch = 0;
	assert_int_equal(res_decode(RES_NETBOOT, back->name, NULL, spec, &dec, &err), 0);
	res_diff(back, &dec, &ch, &nch);
	assert_int_equal(nch, 0);
	res_changes_free(ch, nch);
	assert_int_equal(plan_desired(bp2, "demo", plan_fix_nets, 2, &d2, &err), 0);
	res_diff(&dec, find(&d2, "sbx-demo.back.netboot"), &ch, &nch);
	assert_int_equal(nch, 1);
	assert_string_equal(ch[0].field, "hosts[0].mac");
	res_changes_free(ch, nch);
	res_clear(&dec);
	free(spec);
	plan_desired_clear(&d);
	plan_desired_clear(&d2);
	bp_free(bp);
	bp_free(bp2);
	free(y1);
	free(y2);
}

/* A network that machines boot from has no DHCP of libvirt's (netboot: the service is its one
 * DHCP server); the others keep it. A row recorded before the field existed reads as false: no
 * change for a VM-only network, an update ("netboot") for one a machine boots from. */
static void test_netboot_network(void **state)
{
	(void)state;
	struct bp_blueprint *bp = plan_fix_load("apiVersion: sandbox/v1\nname: demo\n"
		"site: { image: { recipe: debian-12 } }\n"
		"networks: [ { name: front }, { name: back } ]\n"
		"nodes:\n"
		"  - { name: web, networks: [front, back] }\n"
		"  - { name: metal, provider: ipmi, mac: \"52:54:00:00:00:11\", networks: [front],\n"
		"      bmc: { address: 10.0.0.5, password: \"${secret.bmc}\" } }\n");
	struct plan_desired d = {0};
	struct sbx_err err = SBX_ERR_INIT;
	struct res old;
	struct res_change *ch = NULL;
	size_t nch = 0;

	assert_int_equal(plan_desired(bp, "demo", plan_fix_nets, 2, &d, &err), 0);
	const struct res *front = find(&d, "sbx-demo.front"), *back = find(&d, "sbx-demo.back");
	assert_true(front->u.net.netboot);
	assert_false(back->u.net.netboot);
	char *spec = res_encode(front);
	assert_non_null(strstr(spec, "\"netboot\":true"));
	free(spec);
	assert_int_equal(res_decode(RES_NETWORK, back->name, NULL, "{\"bridge\":\"x\",\"cidr\":\"10.211.2.0/24\","
		"\"mode\":\"nat\",\"net\":\"back\"}", &old, &err), 0);
	assert_false(old.u.net.netboot);
	free(old.u.net.bridge);
	old.u.net.bridge = xstrdup(back->u.net.bridge);
	res_diff(&old, back, &ch, &nch);
	assert_int_equal(nch, 0);
	res_changes_free(ch, nch);
	res_clear(&old);
	spec = res_encode(back);
	assert_int_equal(res_decode(RES_NETWORK, front->name, NULL, spec, &old, &err), 0);
	free(spec);
	free(old.u.net.net);
	free(old.u.net.cidr);
	free(old.u.net.bridge);
	old.u.net.net = xstrdup("front");
	old.u.net.cidr = xstrdup(front->u.net.cidr);
	old.u.net.bridge = xstrdup(front->u.net.bridge);
	old.u.net.netboot = false;
	res_diff(&old, front, &ch, &nch);
	assert_int_equal(nch, 1);
	assert_string_equal(ch[0].field, "netboot");
	res_changes_free(ch, nch);
	res_clear(&old);
	plan_desired_clear(&d);
	bp_free(bp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_desired),
		cmocka_unit_test(test_netboot),
		cmocka_unit_test(test_netboot_network),
		cmocka_unit_test(test_diff),
		cmocka_unit_test(test_drift_and_delete_order),
		cmocka_unit_test(test_protected),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_network_capacity),
		cmocka_unit_test(test_machine),
		cmocka_unit_test(test_machine_install),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
