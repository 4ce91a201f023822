/* Unit tests of env_capacity (whether an environment fits on its host: the arithmetic) and of the
 * state's admission records (claims, caps, live counts) that env_admit feeds it from. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "env_capacity.h"
#include "env_int.h"
#include "state_fix.h"

#define GI (1024ULL * 1024 * 1024)
#define MI (1024ULL * 1024)

/* A host of 16 GiB (10 free), 4 CPUs, 100 GiB of pool; 3 free /24 blocks in the IPAM pool. */
static const struct cap_host host = {"qemu:///system", true, 16 * GI, 10 * GI, 4, true, 100 * GI, "10.211.0.0/16",
	3};
static const struct cap_policy pol = {2.0, 1 * GI};

/* The demand: every libvirt node instance, ipmi nodes left out. */
static void test_demand(void **ctx)
{
	(void)ctx;
	static const char y[] = "apiVersion: sandbox/v1\nname: t\nsite: { image: { recipe: debian-12 } }\n"
		"networks: [ { name: f } ]\n"
		"nodes:\n  - { name: w, count: 3, cpus: 2, memory: 512Mi, disk: 4Gi, networks: [f] }\n"
		"  - { name: d, networks: [f] }\n"
		"  - { name: m, provider: ipmi, bmc: { address: h, password: \"${secret.bmc}\" } }\n";
	struct bp_blueprint *bp = NULL;
	struct sbx_err err = SBX_ERR_INIT;
	struct cap_amount a;
	assert_int_equal(bp_load_string("t.yaml", y, strlen(y), NULL, &bp, &err), 0);
	env_capacity_demand(bp, &a);
	assert_int_equal(a.memory, 3 * 512 * MI + 1 * GI); /* d: the default 1Gi */
	assert_int_equal(a.cpus, 3 * 2 + 1);
	assert_int_equal(a.disk, 3 * 4 * GI + 8 * GI);    /* d: the default 8Gi overlay */
	assert_int_equal(a.blocks, 1);                    /* f: cidr auto */
	bp_free(bp);
}

/* A small environment on an empty host fits; the line says so. */
static void test_fits(void **ctx)
{
	(void)ctx;
	struct cap_amount none = {0}, want = {2 * GI, 4, 16 * GI, 2};
	struct cap_fit f;
	struct sbx_err err = SBX_ERR_INIT;
	env_capacity_fit(&host, &pol, &none, 0, &none, &want, &f);
	assert_true(env_capacity_fits(&f));
	assert_int_equal(f.avail.memory, 9 * GI); /* min(16 - 0, 10) - 1 reserve */
	assert_int_equal(f.avail.cpus, 8);        /* 4 x 2.0 */
	assert_int_equal(env_capacity_refuse(&host, &f, &err), 0);
	assert_false(sbx_err_isset(&err));
	char *line = env_capacity_line(&host, &f);
	assert_string_equal(line, "Capacity: fits on qemu:///system: memory 2.0 of 9.0 GiB, CPUs 4 of 8, disk 16.0 of "
		"100.0 GiB, network blocks 2 of 3");
	free(line);
}

/* What other environments were promised counts even when their nodes do not run yet (the host's
 * total minus the promises binds before its free memory); each shortage is one message. */
static void test_promised(void **ctx)
{
	(void)ctx;
	struct cap_amount none = {0}, others = {12 * GI, 6, 0, 0}, want = {5 * GI, 3, 200 * GI, 4};
	struct cap_fit f;
	struct sbx_err err = SBX_ERR_INIT;
	env_capacity_fit(&host, &pol, &others, 3, &none, &want, &f);
	assert_int_equal(f.avail.memory, 3 * GI); /* min(16 - 12, 10) - 1 */
	assert_int_equal(f.avail.cpus, 2);
	assert_true(f.short_mem && f.short_cpus && f.short_disk && f.short_blocks);
	assert_int_equal(env_capacity_refuse(&host, &f, &err), -1);
	assert_int_equal(err.code, SBX_EXIT_REFUSED);
	assert_int_equal(err.n, 4);
	assert_string_equal(err.msgs[0].text, "needs 5.0 GiB memory on qemu:///system, 3.0 GiB free (3 other "
		"environments hold 12.0 GiB)");
	assert_string_equal(err.msgs[1].text, "needs 3 CPUs on qemu:///system, 2 free (overcommit included) (3 other "
		"environments hold 6.0 CPUs)");
	assert_string_equal(err.msgs[2].text, "needs 200.0 GiB disk in the storage pool on qemu:///system, 100.0 GiB "
		"free");
	assert_string_equal(err.msgs[3].text, "needs 4 /24 network blocks of the IPAM pool 10.211.0.0/16, 3 free");
	sbx_err_clear(&err);
}

/* A converging run counts only its growth over its own earlier promise: the same size needs
 * nothing, however full the host is; one more node needs one node. */
static void test_delta(void **ctx)
{
	(void)ctx;
	struct cap_amount others = {0}, mine = {8 * GI, 4, 32 * GI, 0}, same = mine, more = {10 * GI, 5, 40 * GI, 0};
	struct cap_host full = host;
	struct cap_fit f;
	full.mem_free = 0;
	env_capacity_fit(&full, &pol, &others, 0, &mine, &same, &f);
	assert_true(env_capacity_fits(&f));
	assert_int_equal(f.need.memory, 0);
	env_capacity_fit(&full, &pol, &others, 0, &mine, &more, &f);
	assert_int_equal(f.need.memory, 2 * GI);
	assert_int_equal(f.need.cpus, 1);
	assert_int_equal(f.need.disk, 8 * GI);
	assert_true(f.short_mem);
	assert_false(f.short_cpus); /* 8 - 4 mine = 4 left */
	/* a smaller blueprint needs nothing */
	struct cap_amount less = {1 * GI, 1, 8 * GI, 0};
	env_capacity_fit(&full, &pol, &others, 0, &mine, &less, &f);
	assert_true(env_capacity_fits(&f));
}

/* A host that reports nothing (the test driver) is not checked; a pool not created yet leaves the
 * disk unchecked. */
static void test_unknown(void **ctx)
{
	(void)ctx;
	struct cap_amount none = {0}, want = {900 * GI, 900, 900 * GI, 1};
	struct cap_host h = {"test:///default", false, 0, 0, 0, false, 0, "10.211.0.0/16", 1};
	struct cap_fit f;
	env_capacity_fit(&h, &pol, &none, 0, &none, &want, &f);
	assert_true(env_capacity_fits(&f));
	char *line = env_capacity_line(&h, &f);
	assert_string_equal(line, "Capacity: fits on test:///default: the site reports no capacity (memory, CPUs, disk "
		"not checked), network blocks 1 of 1");
	free(line);
	h = host;
	h.disk_known = false;
	want = (struct cap_amount){1 * GI, 1, 900 * GI, 0};
	env_capacity_fit(&h, &pol, &none, 0, &none, &want, &f);
	assert_true(env_capacity_fits(&f));
	/* without an IPAM pool (no networks to allocate) blocks are not checked */
	h.ipam_pool = NULL;
	want.blocks = 9;
	env_capacity_fit(&h, &pol, &none, 0, &none, &want, &f);
	assert_true(env_capacity_fits(&f));
}

/* The IPAM pool's free blocks: neither allocated in the state nor used by the host's networks. */
static void test_state_blocks(void **ctx)
{
	struct state_fix *fx = *ctx;
	struct sbx_err err = SBX_ERR_INIT;
	const char *pool = NULL;
	const char *const host_nets[] = {"10.99.0.0/24", "10.99.1.0/24", "192.168.122.0/24"};
	char *cidr = NULL;
	int64_t n = -1;
	state_set_ipam_pool(fx->st, "10.99.0.0/22");
	assert_int_equal(state_ipam_free_blocks(fx->st, &n, &pool, &err), 0);
	assert_int_equal(n, 4);
	assert_string_equal(pool, "10.99.0.0/22");
	state_ipam_avoid(fx->st, host_nets, 3);
	assert_int_equal(state_ipam_free_blocks(fx->st, &n, &pool, &err), 0);
	assert_int_equal(n, 2);
	/* the warm pool's network takes the highest free block, allocation the lowest */
	assert_int_equal(state_ipam_pick_high(fx->st, &cidr, &err), 0);
	assert_string_equal(cidr, "10.99.3.0/24");
	free(cidr);
	state_fix_env(fx->st, "a", 0, false);
	assert_int_equal(state_ipam_alloc(fx->st, "a", "front", NULL, &cidr, &err), 0);
	assert_string_equal(cidr, "10.99.2.0/24");
	free(cidr);
	assert_int_equal(state_ipam_free_blocks(fx->st, &n, &pool, &err), 0);
	assert_int_equal(n, 1);
	/* a block the state holds and the host's network uses (ours) counts once */
	const char *const ours[] = {"10.99.2.0/24"};
	state_ipam_avoid(fx->st, ours, 1);
	assert_int_equal(state_ipam_free_blocks(fx->st, &n, &pool, &err), 0);
	assert_int_equal(n, 3);
	assert_int_equal(state_ipam_pick_high(fx->st, &cidr, &err), 0);
	assert_string_equal(cidr, "10.99.3.0/24");
	free(cidr);
	/* two host networks in one block take it once */
	const char *const twice[] = {"10.99.3.0/25", "10.99.3.128/25"};
	state_ipam_avoid(fx->st, twice, 2);
	assert_int_equal(state_ipam_free_blocks(fx->st, &n, &pool, &err), 0);
	assert_int_equal(n, 2);
	assert_int_equal(state_ipam_pick_high(fx->st, &cidr, &err), 0);
	assert_string_equal(cidr, "10.99.1.0/24");
	free(cidr);
	/* a spread environment's hosts: each one's networks are added to the others' */
	const char *const h1[] = {"10.99.0.0/24"}, *const h2[] = {"10.99.3.0/24", "10.99.0.0/24"};
	state_ipam_avoid(fx->st, h1, 1);
	state_ipam_avoid_add(fx->st, h2, 2);
	assert_int_equal(state_ipam_free_blocks(fx->st, &n, &pool, &err), 0);
	assert_int_equal(n, 1); /* 10.99.1.0: the state holds .2, the hosts use .0 (counted once) and .3 */
	assert_int_equal(state_ipam_alloc(fx->st, "a", "back", NULL, &cidr, &err), 0);
	assert_string_equal(cidr, "10.99.1.0/24");
	free(cidr);
	state_ipam_avoid(fx->st, h1, 1); /* replaces: .3 is free again */
	assert_int_equal(state_ipam_free_blocks(fx->st, &n, &pool, &err), 0);
	assert_int_equal(n, 1);
	/* all taken: a refusal that says the pool is exhausted */
	const char *const rest[] = {"10.99.0.0/24", "10.99.1.0/24", "10.99.3.0/24"};
	state_ipam_avoid(fx->st, rest, 3);
	assert_int_equal(state_ipam_pick_high(fx->st, &cidr, &err), -1);
	assert_int_equal(err.code, SBX_EXIT_REFUSED);
	assert_non_null(strstr(sbx_err_first(&err), "exhausted"));
	sbx_err_clear(&err);
}

/* Placement ranks fitting hosts by memory left, then CPUs; a host that reports nothing ranks last. */
static void test_better(void **ctx)
{
	(void)ctx;
	struct cap_amount none = {0}, want = {1 * GI, 2, 0, 0}, busy = {4 * GI, 4, 0, 0}, cpus = {0, 4, 0, 0};
	struct cap_host unknown = {"test:///default", false, 0, 0, 0, false, 0, NULL, 0};
	struct cap_fit a, b, c, d;
	env_capacity_fit(&host, &pol, &none, 0, &none, &want, &a);
	env_capacity_fit(&host, &pol, &busy, 1, &none, &want, &b); /* 16 - 4 > 10 free: memory ties */
	assert_true(env_capacity_better(&a, &b));                  /* ... CPUs: 6 left against 2 */
	assert_false(env_capacity_better(&b, &a));
	env_capacity_fit(&host, &pol, &cpus, 1, &none, &want, &c);
	assert_false(env_capacity_better(&a, &a));                 /* a tie keeps the first */
	struct cap_amount full = {8 * GI, 0, 0, 0};
	env_capacity_fit(&host, &pol, &full, 1, &none, &want, &d); /* 16 - 8 - 1 = 7 GiB left */
	assert_true(env_capacity_better(&c, &d));
	env_capacity_fit(&unknown, &pol, &none, 0, &none, &want, &d);
	assert_true(env_capacity_fits(&d));
	assert_true(env_capacity_better(&c, &d));
	assert_false(env_capacity_better(&d, &c));
	/* free memory that moved a little between the probes does not outweigh CPUs */
	struct cap_host moved = host;
	moved.mem_free += 256 * MI;
	env_capacity_fit(&moved, &pol, &busy, 1, &none, &want, &b);
	assert_true(env_capacity_better(&a, &b));  /* 6 CPUs left against 2, memory 8 against 8.25 GiB */
	assert_false(env_capacity_better(&b, &a));
	assert_false(env_capacity_better(&b, &c)); /* 2 CPUs left each: a tie, the first stays */
	assert_false(env_capacity_better(&c, &b));
}

/* Claims: put replaces, the sum leaves out the asking environment and counts only live rows of
 * the same host; deleting the environment drops its claim. */
static void test_state_claims(void **ctx)
{
	struct state_fix *fx = *ctx;
	struct sbx_err err = SBX_ERR_INIT;
	struct state_claim c, a = {1 * GI, 1, 8 * GI}, b = {2 * GI, 2, 16 * GI};
	size_t n = 9;
	state_fix_env(fx->st, "a", 0, false);
	state_fix_env(fx->st, "b", 0, false);
	assert_int_equal(state_claim_put(fx->st, "a", "qemu:///system", &a, &err), 0);
	assert_int_equal(state_claim_put(fx->st, "b", "qemu:///system", &a, &err), 0);
	assert_int_equal(state_claim_put(fx->st, "b", "qemu:///system", &b, &err), 0);
	assert_int_equal(state_claim_put(fx->st, "gone", "qemu:///system", &b, &err), 0); /* no env row */
	assert_int_equal(state_claim_put(fx->st, "other", "qemu+ssh://h/system", &b, &err), 0);
	assert_int_equal(state_claim_sum(fx->st, "qemu:///system", "a", &c, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_int_equal(c.memory, 2 * GI);
	assert_int_equal(state_claim_sum(fx->st, "qemu:///system", NULL, &c, &n, &err), 0);
	assert_int_equal(n, 2);
	assert_int_equal(c.cpus, 3);
	assert_int_equal(c.disk, 24 * GI);
	assert_int_equal(state_claim_get(fx->st, "b", "qemu:///system", &c, &err), 0);
	assert_int_equal(c.memory, 2 * GI);
	assert_int_equal(state_claim_get(fx->st, "b", "qemu+ssh://h/system", &c, &err), 0);
	assert_int_equal(c.memory, 0);
	assert_int_equal(state_env_delete(fx->st, "b", &err), 0);
	assert_int_equal(state_claim_get(fx->st, "b", "qemu:///system", &c, &err), 0);
	assert_int_equal(c.memory, 0);
	assert_int_equal(state_claim_sum(fx->st, "qemu:///system", NULL, &c, &n, &err), 0);
	assert_int_equal(n, 1);
}

/* Caps: none until set, set and cleared; live counts per owner and in total. */
static void test_state_caps(void **ctx)
{
	struct state_fix *fx = *ctx;
	struct sbx_err err = SBX_ERR_INIT;
	struct state_caps c;
	int64_t n = -1;
	assert_int_equal(state_caps_get(fx->st, &c, &err), 0);
	assert_int_equal(c.per_owner, -1);
	assert_int_equal(c.total, -1);
	assert_int_equal(state_caps_set(fx->st, &(struct state_caps){2, 0}, &err), 0);
	assert_int_equal(state_caps_get(fx->st, &c, &err), 0);
	assert_int_equal(c.per_owner, 2);
	assert_int_equal(c.total, 0);
	assert_int_equal(state_caps_set(fx->st, &(struct state_caps){-1, 5}, &err), 0);
	assert_int_equal(state_caps_get(fx->st, &c, &err), 0);
	assert_int_equal(c.per_owner, -1);
	assert_int_equal(c.total, 5);
	state_fix_env(fx->st, "a", 0, false);
	state_fix_env(fx->st, "b", 0, false);
	assert_int_equal(state_env_count(fx->st, NULL, NULL, &n, &err), 0);
	assert_int_equal(n, 2);
	assert_int_equal(state_env_count(fx->st, NULL, "a", &n, &err), 0);
	assert_int_equal(n, 1);
	assert_int_equal(state_env_count(fx->st, "me@host", "b", &n, &err), 0);
	assert_int_equal(n, 1);
	assert_int_equal(state_env_count(fx->st, "nobody@nowhere", NULL, &n, &err), 0);
	assert_int_equal(n, 0);
}

/* Nodes that share a network are one group (a chain of shared networks too); a node alone on its
 * networks is a group of its own; an ipmi node is in none. */
static void test_groups(void **ctx)
{
	(void)ctx;
	static const char y[] = "apiVersion: sandbox/v1\nname: t\nsite: { image: { recipe: debian-12 } }\n"
		"networks: [ { name: a }, { name: b }, { name: c }, { name: d } ]\n"
		"nodes:\n  - { name: x, count: 2, cpus: 2, memory: 1Gi, disk: 4Gi, networks: [a] }\n"
		"  - { name: u, memory: 512Mi, disk: 4Gi, networks: [c] }\n"
		"  - { name: y, memory: 1Gi, disk: 4Gi, networks: [b, a] }\n"
		"  - { name: m, provider: ipmi, bmc: { address: h, password: \"${secret.bmc}\" } }\n"
		"  - { name: z, memory: 2Gi, disk: 4Gi, networks: [b] }\n"
		"  - { name: v, cpus: 3, memory: 256Mi, disk: 4Gi, networks: [d] }\n";
	struct bp_blueprint *bp = NULL;
	struct sbx_err err = SBX_ERR_INIT;
	size_t *group = NULL, n = 0;
	struct cap_amount *want = NULL;
	assert_int_equal(bp_load_string("t.yaml", y, strlen(y), NULL, &bp, &err), 0);
	env_capacity_groups(bp, &group, &want, &n);
	assert_int_equal(n, 3);
	assert_int_equal(group[0], 0);        /* x */
	assert_int_equal(group[1], 1);        /* u */
	assert_int_equal(group[2], 0);        /* y: a with x, b with z */
	assert_int_equal(group[3], SIZE_MAX); /* m: bare metal */
	assert_int_equal(group[4], 0);        /* z */
	assert_int_equal(group[5], 2);        /* v: alone on d */
	assert_int_equal(want[0].memory, 2 * GI + 1 * GI + 2 * GI);
	assert_int_equal(want[0].cpus, 2 * 2 + 1 + 1);
	assert_int_equal(want[0].disk, 4 * 4 * GI);
	assert_int_equal(want[1].memory, 512 * MI);
	assert_int_equal(want[2].cpus, 3);
	free(group);
	free(want);
	bp_free(bp);
}

/* The largest group first, each to the host that keeps the most memory; a host's room shrinks. */
static void test_spread(void **ctx)
{
	(void)ctx;
	struct cap_room room[] = {{true, true, 8 * GI, 8, 100 * GI}, {true, true, 4 * GI, 8, 100 * GI}};
	struct cap_amount want[] = {{1 * GI, 1, 8 * GI, 0}, {6 * GI, 2, 8 * GI, 0}, {3 * GI, 2, 8 * GI, 0}};
	size_t host[3], unplaced = 99;
	assert_int_equal(env_capacity_spread(room, 2, want, 3, host, &unplaced), 0);
	assert_int_equal(host[1], 0); /* 6 GiB: only the first has room */
	assert_int_equal(host[2], 1); /* 3 GiB: the first keeps 2 GiB, too little */
	assert_int_equal(host[0], 0); /* 1 GiB: the first keeps 1 GiB, the second none */
	assert_int_equal(room[0].memory, 1 * GI);
	assert_int_equal(room[0].cpus, 5);
	assert_int_equal(room[0].disk, 84 * GI);
	assert_int_equal(room[1].memory, 1 * GI);
	assert_int_equal(room[1].cpus, 6);
	/* a group that fits nowhere: refused, naming it */
	struct cap_room small[] = {{true, true, 8 * GI, 8, 100 * GI}, {true, false, 4 * GI, 8, 0}};
	struct cap_amount big[] = {{1 * GI, 1, 0, 0}, {9 * GI, 1, 0, 0}};
	assert_int_equal(env_capacity_spread(small, 2, big, 2, host, &unplaced), -1);
	assert_int_equal(unplaced, 1);
	/* CPUs short, or the pool's disk short (when known), is no fit either */
	struct cap_room cpu[] = {{true, true, 8 * GI, 1, 1 * GI}, {true, false, 2 * GI, 4, 0}};
	struct cap_amount two[] = {{1 * GI, 2, 4 * GI, 0}};
	assert_int_equal(env_capacity_spread(cpu, 2, two, 1, host, &unplaced), 0);
	assert_int_equal(host[0], 1);
}

/* Memory left within 1/16 is a tie that CPUs decide, then the list's order; a host that reports
 * nothing takes what fits nowhere else and otherwise ranks last. */
static void test_spread_ties(void **ctx)
{
	(void)ctx;
	struct cap_room room[] = {{true, true, 8 * GI, 2, 100 * GI}, {true, true, 8 * GI + 200 * MI, 8, 100 * GI}};
	struct cap_amount want[] = {{1 * GI, 1, 0, 0}};
	size_t host[2], unplaced;
	assert_int_equal(env_capacity_spread(room, 2, want, 1, host, &unplaced), 0);
	assert_int_equal(host[0], 1); /* more CPUs */
	struct cap_room same[] = {{true, true, 4 * GI, 4, 0}, {true, true, 4 * GI, 4, 0}};
	assert_int_equal(env_capacity_spread(same, 2, want, 1, host, &unplaced), 0);
	assert_int_equal(host[0], 0); /* a full tie keeps the first */
	struct cap_room unknown[] = {{false, false, 0, 0, 0}, {true, true, 4 * GI, 4, 100 * GI}};
	struct cap_amount two[] = {{1 * GI, 1, 0, 0}, {64 * GI, 1, 0, 0}};
	assert_int_equal(env_capacity_spread(unknown, 2, two, 2, host, &unplaced), 0);
	assert_int_equal(host[0], 1);
	assert_int_equal(host[1], 0);
	assert_false(unknown[0].known);
	assert_int_equal(unknown[1].memory, 3 * GI);
}

/* Placement rows: where each node and network is, replaced as a whole; one claim per host, summed per
 * host; both go with the environment. */
static void test_state_place(void **ctx)
{
	struct state_fix *fx = *ctx;
	struct sbx_err err = SBX_ERR_INIT;
	struct state_place *pv = NULL;
	struct state_place v[3] = {{"node", "big", "qemu:///session"}, {"node", "small", "qemu:///system"},
		{"network", "back", "qemu:///session"}};
	const char *uris[2] = {"qemu:///system", "qemu:///session"};
	struct state_claim c, cl[2] = {{1 * GI, 2, 8 * GI}, {12 * GI, 1, 8 * GI}};
	size_t npv = 0, n = 0;
	state_fix_env(fx->st, "a", 0, false);
	state_fix_env(fx->st, "b", 0, false);
	assert_int_equal(state_place_list(fx->st, "a", &pv, &npv, &err), 0);
	assert_int_equal(npv, 0);
	assert_null(pv);
	assert_int_equal(state_place_set(fx->st, "a", v, 3, &err), 0);
	assert_int_equal(state_place_set(fx->st, "a", v, 3, &err), 0); /* replaced, not duplicated */
	assert_int_equal(state_place_list(fx->st, "a", &pv, &npv, &err), 0);
	assert_int_equal(npv, 3);
	assert_string_equal(state_place_find(pv, npv, "node", "big"), "qemu:///session");
	assert_string_equal(state_place_find(pv, npv, "node", "small"), "qemu:///system");
	assert_string_equal(state_place_find(pv, npv, "network", "back"), "qemu:///session");
	assert_null(state_place_find(pv, npv, "network", "big"));
	state_place_list_free(pv, npv);
	assert_int_equal(state_claim_set(fx->st, "a", uris, cl, 2, &err), 0);
	assert_int_equal(state_claim_put(fx->st, "b", "qemu:///session", &cl[0], &err), 0);
	assert_int_equal(state_claim_sum(fx->st, "qemu:///session", NULL, &c, &n, &err), 0);
	assert_int_equal(c.memory, 13 * GI);
	assert_int_equal(n, 2);
	assert_int_equal(state_claim_sum(fx->st, "qemu:///system", "b", &c, &n, &err), 0);
	assert_int_equal(c.memory, 1 * GI);
	assert_int_equal(state_claim_put(fx->st, "a", "qemu:///system", &cl[0], &err), 0); /* one host again */
	assert_int_equal(state_claim_get(fx->st, "a", "qemu:///session", &c, &err), 0);
	assert_int_equal(c.memory, 0);
	assert_int_equal(state_env_delete(fx->st, "a", &err), 0);
	assert_int_equal(state_place_list(fx->st, "a", &pv, &npv, &err), 0);
	assert_int_equal(npv, 0);
	assert_int_equal(state_claim_get(fx->st, "a", "qemu:///system", &c, &err), 0);
	assert_int_equal(c.memory, 0);
}

/* A blueprint of two groups on two hosts (hosts: the site.hosts line, nodes and networks: the rest). */
static struct bp_blueprint *place_bp(const char *hosts, const char *rest)
{
	struct bp_blueprint *bp = NULL;
	struct sbx_err err = SBX_ERR_INIT;
	char *y = xasprintf("apiVersion: sandbox/v1\nname: t\nsite: { %s, image: { recipe: debian-12 } }\n%s", hosts,
		rest);
	assert_int_equal(bp_load_string("t.yaml", y, strlen(y), NULL, &bp, &err), 0);
	free(y);
	return bp;
}

/* Nodes and networks the blueprint keeps on a host it no longer lists are refused, naming them, the
 * host and what to do; those it removed are not (up deletes them there), and their rows go once
 * env_place_prune is told the blueprint without them. */
static void test_place_check(void **ctx)
{
	struct state_fix *fx = *ctx;
	struct sbx_err err = SBX_ERR_INIT;
	struct state_place *pv = NULL;
	struct state_place v[5] = {{"node", "big", "qemu:///session"}, {"node", "small", "qemu:///system"},
		{"network", "back", "qemu:///session"}, {"network", "front", "qemu:///system"},
		{"node", "db", "qemu:///session"}};
	static const char both[] = "hosts: [ qemu:///system, qemu:///session ]", sys[] = "hosts: [ qemu:///system ]";
	static const char all[] = "networks: [ { name: front }, { name: back } ]\nnodes:\n"
		"  - { name: big, memory: 1Gi, networks: [back] }\n  - { name: db, memory: 1Gi, networks: [back] }\n"
		"  - { name: small, memory: 64Mi, networks: [front] }\n";
	static const char kept[] = "networks: [ { name: front } ]\nnodes:\n"
		"  - { name: small, memory: 64Mi, networks: [front] }\n";
	size_t npv = 0;
	state_fix_env(fx->st, "a", 0, false);
	assert_int_equal(state_place_set(fx->st, "a", v, 5, &err), 0);
	struct bp_blueprint *bp = place_bp(both, all);
	assert_int_equal(env_place_check(fx->st, "a", bp, &err), 0);
	assert_int_equal(env_place_check(fx->st, "none", bp, &err), 0); /* nothing recorded */
	bp_free(bp);
	bp = place_bp(sys, all);
	assert_int_equal(env_place_check(fx->st, "a", bp, &err), -1);
	assert_int_equal(err.code, SBX_EXIT_REFUSED);
	assert_int_equal(err.n, 1);
	assert_string_equal(sbx_err_first(&err), "nodes big, db and networks back are placed on qemu:///session, "
		"which is no longer in site.hosts");
	assert_non_null(strstr(err.hint, "add qemu:///session back to site.hosts, or remove those nodes"));
	sbx_err_clear(&err);
	bp_free(bp);
	bp = place_bp("uri: qemu:///session", all); /* one host, site.uri: system's small and front */
	assert_int_equal(env_place_check(fx->st, "a", bp, &err), -1);
	assert_string_equal(sbx_err_first(&err), "nodes small and networks front are placed on qemu:///system, "
		"which is no longer in site.hosts");
	sbx_err_clear(&err);
	bp_free(bp);
	bp = place_bp(sys, kept);
	assert_int_equal(env_place_check(fx->st, "a", bp, &err), 0);
	assert_int_equal(env_place_prune(fx->st, "a", bp, &err), 0);
	assert_int_equal(state_place_list(fx->st, "a", &pv, &npv, &err), 0);
	assert_int_equal(npv, 2);
	assert_string_equal(state_place_find(pv, npv, "node", "small"), "qemu:///system");
	assert_string_equal(state_place_find(pv, npv, "network", "front"), "qemu:///system");
	state_place_list_free(pv, npv);
	bp_free(bp);
}

/* A host's room is its fit's avail; the disk only when the pool exists and the host reports. */
static void test_room(void **ctx)
{
	(void)ctx;
	struct cap_amount none = {0}, want = {2 * GI, 4, 16 * GI, 0};
	struct cap_fit f;
	env_capacity_fit(&host, &pol, &none, 0, &none, &want, &f);
	struct cap_room r = env_capacity_room(&host, &f);
	assert_true(r.known);
	assert_true(r.disk_known);
	assert_int_equal(r.memory, 9 * GI);
	assert_int_equal(r.cpus, 8);
	assert_int_equal(r.disk, 100 * GI);
	struct cap_host nopool = host;
	nopool.disk_known = false;
	env_capacity_fit(&nopool, &pol, &none, 0, &none, &want, &f);
	assert_false(env_capacity_room(&nopool, &f).disk_known);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_demand),
		cmocka_unit_test(test_fits),
		cmocka_unit_test(test_promised),
		cmocka_unit_test(test_delta),
		cmocka_unit_test(test_unknown),
		cmocka_unit_test(test_better),
		cmocka_unit_test(test_groups),
		cmocka_unit_test(test_spread),
		cmocka_unit_test(test_spread_ties),
		cmocka_unit_test(test_room),
		cmocka_unit_test_setup_teardown(test_state_claims, state_fix_setup, state_fix_teardown),
		cmocka_unit_test_setup_teardown(test_state_place, state_fix_setup, state_fix_teardown),
		cmocka_unit_test_setup_teardown(test_place_check, state_fix_setup, state_fix_teardown),
		cmocka_unit_test_setup_teardown(test_state_caps, state_fix_setup, state_fix_teardown),
		cmocka_unit_test_setup_teardown(test_state_blocks, state_fix_setup, state_fix_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
