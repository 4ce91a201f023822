/*
 * The libvirt provider against libvirt's test driver through the daemon (test+unix:///default):
 * idempotent ensure/delete of networks, pool, volumes, seeds and domains, owner tags (another
 * owner's object is refused untouched, an untagged one adopted only when asked, a protection change
 * re-tags in place), listing with owners, gc, what the host reports for admission. Every object is
 * named after a random run id and removed in teardown.
 * Skips (77) when libvirtd does not answer.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "lv.h"

#define URI "test+unix:///default"

static struct lv *lv;
static virConnectPtr raw;    /* a second connection to inspect what lv did */
static char run[16];         /* random run id: every name contains it */
static char *env1, *env2;    /* env2 = env1 + "-x": a prefix clash on purpose */
static char *pool;
static struct lv_owner owner1, owner2; /* two environments of one state */

/* Fail the test with the error's first message unless rc == 0. */
#define OK(call)                                                                    \
	do {                                                                        \
		struct sbx_err e_ = SBX_ERR_INIT;                                   \
		int rc_ = (call);                                                   \
		if (rc_ != 0)                                                       \
			fail_msg("%s: %s", #call, sbx_err_first(&e_));              \
		sbx_err_clear(&e_);                                                 \
	} while (0)
#define E (&e_)

/* Delete everything of this run (objects whose name contains the run id) and the pool. */
static void cleanup_run(void)
{
	struct lv_obj *objs = NULL;
	size_t n = 0;
	struct sbx_err err = SBX_ERR_INIT;
	if (lv_list_all(lv, NULL, &objs, &n, &err) == 0) {
		for (size_t pass = 0; pass < 2; pass++) /* domains first, then what they used */
			for (size_t i = 0; i < n; i++)
				if (strstr(objs[i].name, run) && (pass == 1) != (strcmp(objs[i].kind, "domain") == 0))
					(void)!lv_obj_delete(lv, &objs[i], &err);
		lv_obj_list_free(objs, n);
	}
	(void)!lv_pool_delete(lv, pool, &err);
	sbx_err_clear(&err);
}

/* Open both connections; skip when libvirtd is down. */
static int setup(void **state)
{
	struct sbx_err err = SBX_ERR_INIT;
	(void)state;
	unsigned char r[4];
	sbx_random(r, sizeof r);
	snprintf(run, sizeof run, "t%02x%02x%02x%02x", r[0], r[1], r[2], r[3]);
	env1 = xasprintf("lv%s", run);
	env2 = xasprintf("lv%s-x", run);
	pool = xasprintf("sbx-pool-%s", run);
	owner1 = (struct lv_owner){"state-a", "id1", env1, false};
	owner2 = (struct lv_owner){"state-a", "id2", env2, false};
	if (lv_open(URI, &lv, &err) < 0) {
		fprintf(stderr, "libvirtd does not answer at %s: %s\n", URI, sbx_err_first(&err));
		exit(77);
	}
	raw = virConnectOpen(URI);
	assert_non_null(raw);
	assert_true(lv_is_test(lv));
	struct sbx_err e2 = SBX_ERR_INIT;
	if (lv_pool_ensure(lv, pool, "/sbx-test-pool", &e2) < 0)
		fail_msg("pool: %s", sbx_err_first(&e2));
	return 0;
}

/* Remove everything and close. */
static int teardown(void **state)
{
	(void)state;
	cleanup_run();
	virConnectClose(raw);
	lv_close(lv);
	free(env1);
	free(env2);
	free(pool);
	return 0;
}

/* A network spec for env with n static hosts. */
static struct lv_net_spec net_spec(const char *name, const char *bridge, int n)
{
	static const struct lv_host hosts[] = {
		{"52:54:00:aa:00:01", "10.250.7.10", "a"},
		{"52:54:00:aa:00:02", "10.250.7.11", "b"},
	};
	return (struct lv_net_spec){name, bridge, "10.250.7.0/24", true, hosts, (size_t)n, owner1, false, false};
}

/* Ensuring a network twice leaves it as it was; more hosts are added; a different cidr fails. */
static void test_net_idempotent(void **state)
{
	(void)state;
	char *name = xasprintf("sbx-%s.front", env1), *bridge = xasprintf("sbx%s", run);
	struct lv_net_spec s = net_spec(name, bridge, 1);
	OK(lv_net_ensure(lv, &s, E));
	virNetworkPtr n = virNetworkLookupByName(raw, name);
	assert_non_null(n);
	assert_int_equal(virNetworkIsActive(n), 1);
	char *x1 = virNetworkGetXMLDesc(n, 0);
	OK(lv_net_ensure(lv, &s, E));
	char *x2 = virNetworkGetXMLDesc(n, 0);
	assert_string_equal(x1, x2);
	assert_non_null(strstr(x1, "<forward mode='nat'"));
	assert_non_null(strstr(x1, "52:54:00:aa:00:01"));
	assert_null(strstr(x1, "52:54:00:aa:00:02"));

	s = net_spec(name, bridge, 2);
	OK(lv_net_ensure(lv, &s, E));
	char *x3 = virNetworkGetXMLDesc(n, 0);
	assert_non_null(x3);
	assert_non_null(strstr(x3, "52:54:00:aa:00:02"));

	struct sbx_err err = SBX_ERR_INIT;
	s.cidr = "10.250.8.0/24";
	assert_int_equal(lv_net_ensure(lv, &s, &err), -1);
	assert_non_null(strstr(sbx_err_first(&err), "different address"));
	sbx_err_clear(&err);
	s.cidr = "10.250.8.0/16";
	assert_int_equal(lv_net_ensure(lv, &s, &err), -1);
	sbx_err_clear(&err);

	OK(lv_net_delete(lv, name, E));
	assert_null(virNetworkLookupByName(raw, name));
	OK(lv_net_delete(lv, name, E)); /* absent = success */
	virNetworkFree(n);
	free(x1);
	free(x2);
	free(x3);
	free(name);
	free(bridge);
}

/* A network machines boot from is defined without a DHCP range (libvirt's dnsmasq answers no MAC
 * there); converging it as one they left adds the range back, and as one they boot from again
 * removes it; its static hosts stay. */
static void test_net_netboot(void **state)
{
	(void)state;
	char *name = xasprintf("sbx-%s.metal", env1), *bridge = xasprintf("sbm%s", run);
	struct lv_net_spec s = net_spec(name, bridge, 0);
	s.netboot = true;
	OK(lv_net_ensure(lv, &s, E));
	virNetworkPtr n = virNetworkLookupByName(raw, name);
	assert_non_null(n);
	char *x1 = virNetworkGetXMLDesc(n, 0); /* the test driver knows no INACTIVE flag */
	assert_null(strstr(x1, "<range"));
	assert_non_null(strstr(x1, "<ip address='10.250.7.1'"));

	s = net_spec(name, bridge, 1);
	OK(lv_net_ensure(lv, &s, E));
	char *x2 = virNetworkGetXMLDesc(n, 0);
	assert_non_null(strstr(x2, "<range start='10.250.7.100' end='10.250.7.199'"));

	s.netboot = true;
	OK(lv_net_ensure(lv, &s, E));
	char *x3 = virNetworkGetXMLDesc(n, 0);
	assert_null(strstr(x3, "<range"));
	assert_non_null(strstr(x3, "52:54:00:aa:00:01"));
	OK(lv_net_ensure(lv, &s, E));
	char *x4 = virNetworkGetXMLDesc(n, 0);
	assert_string_equal(x3, x4);

	OK(lv_net_delete(lv, name, E));
	virNetworkFree(n);
	char *v[] = {x1, x2, x3, x4, name, bridge};
	for (size_t i = 0; i < SBX_NELEM(v); i++)
		free(v[i]);
}

/* A volume spec. */
static struct lv_vol_spec vol_spec(const char *name)
{
	return (struct lv_vol_spec){pool, name, "/var/lib/sandbox/images/base.qcow2", "qcow2", 2ULL << 30, owner1,
		false};
}

/* Volume and seed ensure are idempotent; delete of an absent volume is fine. */
static void test_vol_seed_idempotent(void **state)
{
	(void)state;
	char *name = xasprintf("sbx-%s.n-0.qcow2", env1), *seed = xasprintf("sbx-%s.n-0-seed.iso", env1);
	char *p1 = NULL, *p2 = NULL, *s1 = NULL, *s2 = NULL;
	struct lv_vol_spec v = vol_spec(name);
	OK(lv_pool_ensure(lv, pool, "/sbx-test-pool", E));
	OK(lv_vol_ensure(lv, &v, &p1, E));
	OK(lv_vol_ensure(lv, &v, &p2, E));
	assert_string_equal(p1, p2);
	virStoragePoolPtr sp = virStoragePoolLookupByName(raw, pool);
	assert_non_null(sp);
	virStoragePoolRefresh(sp, 0);
	virStorageVolPtr vol = virStorageVolLookupByName(sp, name);
	assert_non_null(vol);
	char *xml = virStorageVolGetXMLDesc(vol, 0);
	assert_non_null(strstr(xml, "<backingStore>"));
	assert_non_null(strstr(xml, "/var/lib/sandbox/images/base.qcow2"));

	struct lv_seed_spec ss = {pool, seed, "instance-id: x\n", "#cloud-config\n", NULL, owner1, false};
	OK(lv_seed_ensure(lv, &ss, &s1, E));
	OK(lv_seed_ensure(lv, &ss, &s2, E));
	assert_string_equal(s1, s2);
	assert_int_equal(virStoragePoolNumOfVolumes(sp), 2);

	OK(lv_vol_delete(lv, pool, name, E));
	OK(lv_vol_delete(lv, pool, name, E));
	OK(lv_vol_delete(lv, pool, seed, E));
	OK(lv_vol_delete(lv, "sbx-no-such-pool", name, E));
	assert_int_equal(virStoragePoolNumOfVolumes(sp), 0);
	virStorageVolFree(vol);
	virStoragePoolFree(sp);
	free(xml);
	free(p1);
	free(p2);
	free(s1);
	free(s2);
	free(name);
	free(seed);
}

/* A domain spec on one NIC. */
static struct lv_dom_spec dom_spec(const char *name, struct lv_owner owner, const char *disk)
{
	static const struct lv_nic nic = {"default", "52:54:00:aa:01:01"};
	return (struct lv_dom_spec){
		.name = name, .owner = owner, .node = "n", .index = 0, .type = "qemu",
		.vcpus = 1, .memory = 512ULL << 20, .disk = disk, .seed = NULL,
		.kernel = "/boot/vmlinuz", .initrd = "/boot/initrd.img", .cmdline = "root=/dev/vda",
		.nics = &nic, .nnics = 1,
	};
}

/* A domain is defined and started once; metadata carries the env; a changed spec redefines. */
static void test_dom_idempotent(void **state)
{
	(void)state;
	char *name = xasprintf("sbx-%s.n-0", env1);
	unsigned char u1[VIR_UUID_BUFLEN], u2[VIR_UUID_BUFLEN];
	struct lv_dom_spec d = dom_spec(name, owner1, "/default-pool/x.qcow2");
	OK(lv_dom_ensure(lv, &d, E));
	virDomainPtr dom = virDomainLookupByName(raw, name);
	assert_non_null(dom);
	assert_int_equal(virDomainIsActive(dom), 1);
	assert_int_equal(virDomainGetUUID(dom, u1), 0);
	char *meta = virDomainGetMetadata(dom, VIR_DOMAIN_METADATA_ELEMENT, "https://sandbox.dev/xmlns/1", 0);
	assert_non_null(meta);
	char *want = xasprintf("name=\"%s\"", env1);
	assert_non_null(strstr(meta, want));
	assert_non_null(strstr(meta, "index=\"0\""));
	assert_non_null(strstr(meta, "state=\"state-a\""));
	assert_non_null(strstr(meta, "id=\"id1\""));
	assert_non_null(strstr(meta, "protect=\"0\""));

	OK(lv_dom_ensure(lv, &d, E));
	virDomainPtr again = virDomainLookupByName(raw, name);
	assert_int_equal(virDomainGetUUID(again, u2), 0);
	assert_memory_equal(u1, u2, VIR_UUID_BUFLEN);
	assert_int_equal(virDomainIsActive(again), 1);

	d.memory = 768ULL << 20;
	OK(lv_dom_ensure(lv, &d, E));
	virDomainPtr changed = virDomainLookupByName(raw, name);
	assert_int_equal(virDomainIsActive(changed), 1);
	assert_int_equal(virDomainGetMaxMemory(changed), 768 * 1024);

	OK(lv_dom_delete(lv, name, E));
	assert_null(virDomainLookupByName(raw, name));
	OK(lv_dom_delete(lv, name, E));
	virDomainFree(dom);
	virDomainFree(again);
	virDomainFree(changed);
	free(meta);
	free(want);
	free(name);
}

/* Whether list holds (kind, name). */
static bool listed(const struct lv_obj *o, size_t n, const char *kind, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(o[i].kind, kind) == 0 && strcmp(o[i].name, name) == 0)
			return true;
	return false;
}

/* Create a domain and a volume for an owner; names returned (caller frees). */
static void make_env(struct lv_owner owner, char **dom, char **vol)
{
	char *path = NULL;
	*dom = xasprintf("sbx-%s.n-0", owner.env);
	*vol = xasprintf("sbx-%s.n-0.qcow2", owner.env);
	struct lv_vol_spec v = vol_spec(*vol);
	v.owner = owner;
	OK(lv_vol_ensure(lv, &v, &path, E));
	struct lv_dom_spec d = dom_spec(*dom, owner, path);
	OK(lv_dom_ensure(lv, &d, E));
	free(path);
}

/* The owner a listing reports for (kind, name); NULL when not listed. */
static const struct lv_owner_rec *owner_of(const struct lv_obj *o, size_t n, const char *kind, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(o[i].kind, kind) == 0 && strcmp(o[i].name, name) == 0)
			return &o[i].owner;
	return NULL;
}

/* The listing carries each object's owner (even when one env name is a prefix of another). */
static void test_list_and_gc(void **state)
{
	(void)state;
	struct lv_obj *o = NULL;
	size_t n = 0;
	char *d1, *v1, *d2, *v2;
	make_env(owner1, &d1, &v1);
	make_env(owner2, &d2, &v2);

	OK(lv_list_all(lv, NULL, &o, &n, E));
	assert_true(listed(o, n, "domain", d1) && listed(o, n, "domain", d2));
	assert_true(listed(o, n, "volume", v1) && listed(o, n, "volume", v2));
	const struct lv_owner_rec *r1 = owner_of(o, n, "domain", d1), *r2 = owner_of(o, n, "domain", d2);
	assert_true(lv_owner_is(r1, &owner1) && !lv_owner_is(r1, &owner2));
	assert_true(lv_owner_is(r2, &owner2));
	assert_string_equal(r2->env, env2);
	assert_false(owner_of(o, n, "volume", v1)->tagged); /* the test driver's volumes have no files */
	for (size_t pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < n; i++)
			if (strstr(o[i].name, run) && (pass == 1) != (strcmp(o[i].kind, "domain") == 0))
				OK(lv_obj_delete(lv, &o[i], E));
	lv_obj_list_free(o, n);
	OK(lv_list_all(lv, NULL, &o, &n, E));
	assert_false(listed(o, n, "domain", d1) || listed(o, n, "domain", d2) || listed(o, n, "volume", v1));
	lv_obj_list_free(o, n);
	free(d1);
	free(v1);
	free(d2);
	free(v2);
}

/* Another owner's domain and network are refused untouched; an untagged domain is adopted only
 * when asked; a protection change re-tags in place without a restart. */
static void test_owner_refused(void **state)
{
	(void)state;
	char *name = xasprintf("sbx-%s.own-0", env1), *net = xasprintf("sbx-%s.own", env1);
	char *bridge = xasprintf("sbo%s", run);
	struct sbx_err err = SBX_ERR_INIT;
	struct lv_dom_spec d = dom_spec(name, owner1, "/default-pool/o.qcow2");
	OK(lv_dom_ensure(lv, &d, E));
	virDomainPtr dom = virDomainLookupByName(raw, name);
	unsigned char u1[VIR_UUID_BUFLEN], u2[VIR_UUID_BUFLEN];
	assert_int_equal(virDomainGetUUID(dom, u1), 0);
	struct lv_dom_spec other = dom_spec(name, (struct lv_owner){"state-b", "id9", env1, false}, "/x.qcow2");
	other.memory = 64ULL << 20;
	assert_int_equal(lv_dom_ensure(lv, &other, &err), -1);
	assert_int_equal(err.code, SBX_EXIT_REFUSED);
	assert_non_null(strstr(sbx_err_first(&err), "state state-a"));
	sbx_err_clear(&err);
	assert_int_equal(virDomainGetMaxMemory(dom), 512 * 1024); /* untouched */
	d.owner.protect = true;
	OK(lv_dom_ensure(lv, &d, E));
	virDomainPtr again = virDomainLookupByName(raw, name);
	assert_int_equal(virDomainGetUUID(again, u2), 0);
	assert_memory_equal(u1, u2, VIR_UUID_BUFLEN);
	char *meta = virDomainGetMetadata(again, VIR_DOMAIN_METADATA_ELEMENT, "https://sandbox.dev/xmlns/1", 0);
	assert_non_null(strstr(meta, "protect=\"1\""));

	struct lv_net_spec s = net_spec(net, bridge, 0);
	OK(lv_net_ensure(lv, &s, E));
	s.owner.env_id = "id9";
	assert_int_equal(lv_net_ensure(lv, &s, &err), -1);
	assert_int_equal(err.code, SBX_EXIT_REFUSED);
	sbx_err_clear(&err);
	s.owner.env_id = "id1";
	s.owner.protect = true;
	OK(lv_net_ensure(lv, &s, E));
	virNetworkPtr vn = virNetworkLookupByName(raw, net);
	char *nx = virNetworkGetXMLDesc(vn, 0);
	assert_non_null(strstr(nx, "protect=1"));
	OK(lv_dom_delete(lv, name, E));
	OK(lv_net_delete(lv, net, E));

	/* a domain without an owner tag (defined behind our back) */
	char *raw_xml = xasprintf("<domain type='test'><name>%s</name><memory>65536</memory><os><type>hvm</type>"
		"</os></domain>", name);
	virDomainPtr bare = virDomainDefineXML(raw, raw_xml);
	assert_non_null(bare);
	assert_int_equal(lv_dom_ensure(lv, &d, &err), -1);
	assert_non_null(strstr(sbx_err_first(&err), "no owner tag"));
	sbx_err_clear(&err);
	d.adopt = true;
	OK(lv_dom_ensure(lv, &d, E));
	virDomainPtr adopted = virDomainLookupByName(raw, name);
	char *m2 = virDomainGetMetadata(adopted, VIR_DOMAIN_METADATA_ELEMENT, "https://sandbox.dev/xmlns/1", 0);
	assert_non_null(m2);
	assert_non_null(strstr(m2, "state=\"state-a\""));
	OK(lv_dom_delete(lv, name, E));
	virDomainFree(adopted);
	virDomainFree(bare);
	virDomainFree(dom);
	virDomainFree(again);
	virNetworkFree(vn);
	free(m2);
	free(raw_xml);
	free(nx);
	free(meta);
	free(name);
	free(net);
	free(bridge);
}

struct par {
	const char *net, *bridge, *vol;
	int rc;
};

/* One thread of test_parallel: ensure the same network and volume. */
static void *par_run(void *arg)
{
	struct par *p = arg;
	struct sbx_err err = SBX_ERR_INIT;
	char *path = NULL;
	struct lv_net_spec s = net_spec(p->net, p->bridge, 1);
	struct lv_vol_spec v = vol_spec(p->vol);
	p->rc = lv_net_ensure(lv, &s, &err) == 0 && lv_vol_ensure(lv, &v, &path, &err) == 0 ? 0 : -1;
	if (p->rc)
		fprintf(stderr, "parallel ensure: %s\n", sbx_err_first(&err));
	free(path);
	sbx_err_clear(&err);
	return NULL;
}

/* Four threads ensuring the same objects on one connection all succeed and create one each. */
static void test_parallel(void **state)
{
	(void)state;
	pthread_t t[4];
	char *net = xasprintf("sbx-%s.par", env1), *bridge = xasprintf("sbp%s", run);
	char *vol = xasprintf("sbx-%s.par-0.qcow2", env1);
	struct par p[4];
	for (int i = 0; i < 4; i++) {
		p[i] = (struct par){net, bridge, vol, -1};
		assert_int_equal(pthread_create(&t[i], NULL, par_run, &p[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(p[i].rc, 0);
	}
	struct lv_obj *o = NULL;
	size_t n = 0, nets = 0;
	OK(lv_list_all(lv, NULL, &o, &n, E));
	for (size_t i = 0; i < n; i++)
		nets += strcmp(o[i].name, net) == 0;
	assert_int_equal(nets, 1);
	lv_obj_list_free(o, n);
	OK(lv_net_delete(lv, net, E));
	OK(lv_vol_delete(lv, pool, vol, E));
	free(net);
	free(bridge);
	free(vol);
}

/* The KVM probe answers within its bound; an explicit type is honoured. */
static void test_domain_type(void **state)
{
	(void)state;
	int64_t t0 = sbx_mono_ms();
	const char *t = lv_domain_type(lv, "auto");
	assert_true(sbx_mono_ms() - t0 < 15000); /* both probe stages are bounded */
	assert_true(strcmp(t, "kvm") == 0 || strcmp(t, "qemu") == 0);
	assert_string_equal(lv_domain_type(lv, "auto"), t); /* cached */
	assert_string_equal(lv_domain_type(lv, "qemu"), "qemu");
	assert_string_equal(lv_domain_type(lv, "kvm"), "kvm");
	fprintf(stderr, "lv_domain_type(auto) = %s\n", t);
}

/* What the host reports for admission: memory (free never above the total), CPUs, and the free
 * space of a pool that exists (none of one that does not). */
static void test_node_info(void **state)
{
	(void)state;
	struct lv_node n = {0};
	OK(lv_node_info(lv, pool, &n, E));
	assert_true(n.mem_total > 0);
	assert_true(n.mem_free > 0 && n.mem_free <= n.mem_total);
	assert_true(n.cpus > 0);
	assert_true(n.disk_known);
	assert_true(n.disk_free > 0);
	OK(lv_node_info(lv, "sbx-no-such-pool", &n, E));
	assert_false(n.disk_known);
	fprintf(stderr, "lv_node_info: %llu of %llu bytes free, %lld CPUs, pool %llu bytes free\n",
		(unsigned long long)n.mem_free, (unsigned long long)n.mem_total, (long long)n.cpus,
		(unsigned long long)n.disk_free);
}

/* Bad input is refused before libvirt is asked. */
static void test_bad_specs(void **state)
{
	(void)state;
	struct sbx_err err = SBX_ERR_INIT;
	struct lv_net_spec s = net_spec("sbx-x-bad", "this-bridge-name-is-too-long", 0);
	assert_int_equal(lv_net_ensure(lv, &s, &err), -1);
	assert_int_equal(err.code, SBX_EXIT_USAGE);
	sbx_err_clear(&err);
	char *path = NULL;
	struct lv_vol_spec v = {"sbx-no-such-pool", "sbx-x.qcow2", NULL, NULL, 1 << 20, owner1, false};
	assert_int_equal(lv_vol_ensure(lv, &v, &path, &err), -1);
	assert_null(path);
	sbx_err_clear(&err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_net_idempotent),
		cmocka_unit_test(test_net_netboot),
		cmocka_unit_test(test_vol_seed_idempotent),
		cmocka_unit_test(test_dom_idempotent),
		cmocka_unit_test(test_list_and_gc),
		cmocka_unit_test(test_owner_refused),
		cmocka_unit_test(test_parallel),
		cmocka_unit_test(test_domain_type),
		cmocka_unit_test(test_bad_specs),
		cmocka_unit_test(test_node_info),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
