/* Unit tests of the blueprint module: parser, defaults, validation messages, interpolation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "bp.h"
#include "sha256.h"

#define MIB (UINT64_C(1) << 20)
#define GIB (UINT64_C(1) << 30)

/* Run the tests from the repository root (the runner does; a direct run may not). */
static int setup_top(void **state)
{
	(void)state;
	const char *top = getenv("SBX_TOP");
	if (top && *top && chdir(top) != 0)
		return -1;
	return 0;
}

/* Load a YAML string as "t.yaml". */
static int load_str(const char *yaml, const struct bp_load_opts *o, struct bp_blueprint **bp,
	struct sbx_err *err)
{
	return bp_load_string("t.yaml", yaml, strlen(yaml), o, bp, err);
}

/* Load a string that must be valid. */
static struct bp_blueprint *load_ok(const char *yaml, const struct bp_load_opts *o)
{
	struct sbx_err err = SBX_ERR_INIT;
	struct bp_blueprint *bp = NULL;
	if (load_str(yaml, o, &bp, &err) != 0) {
		sbx_err_print(&err, stderr);
		fail_msg("expected a valid blueprint");
	}
	sbx_err_clear(&err);
	return bp;
}

#define HDR "apiVersion: sandbox/v1\nname: t\nsite: { image: { recipe: debian-12 } }\n"
#define NOTIFY_NODES "networks: [ { name: f } ]\nnodes: [ { name: w, networks: [f] } ]\n"

static void test_minimal_defaults(void **state)
{
	(void)state;
	struct bp_blueprint *bp = load_ok(HDR
		"networks: [ { name: front } ]\n"
		"nodes: [ { name: web, networks: [front] } ]\n", NULL);
	assert_string_equal(bp->api_version, "sandbox/v1");
	assert_string_equal(bp->name, "t");
	assert_string_equal(bp->file, "t.yaml");
	assert_int_equal(bp->nfiles, 1);
	assert_int_equal(bp->lifetime.ttl, 8 * 3600);
	assert_int_equal(bp->lifetime.max_ttl, 72 * 3600);
	assert_false(bp->lifetime.permanent);
	assert_false(bp->lifetime.protect);
	assert_string_equal(bp->site.provider, "libvirt");
	assert_string_equal(bp->site.uri, "qemu:///system");
	assert_string_equal(bp->site.pool, "sandbox");
	assert_string_equal(bp->site.pool_path, "/var/lib/sandbox/pool");
	assert_string_equal(bp->site.domain_type, "auto");
	assert_string_equal(bp->site.image.recipe, "debian-12");
	assert_null(bp->site.image.url);
	assert_int_equal(bp->nnetworks, 1);
	assert_string_equal(bp->networks[0].cidr, "auto");
	assert_int_equal(bp->networks[0].mode, BP_NET_NAT);
	assert_int_equal(bp->nnodes, 1);
	const struct bp_node *n = &bp->nodes[0];
	assert_int_equal(n->count, 1);
	assert_int_equal(n->cpus, 1);
	assert_true(n->memory == 1 * GIB);
	assert_true(n->disk == 8 * GIB);
	assert_string_equal(n->provider, "libvirt");
	assert_int_equal(n->nroles, 0);
	assert_int_equal(n->nnetworks, 1);
	assert_int_equal(n->pos.line, 5);
	assert_int_equal(n->pos.col, 10);
	assert_string_equal(n->pos.file, "t.yaml");
	assert_int_equal(bp->bgp.router_as, 65000);
	assert_int_equal(bp->bgp.lb_as, 65001);
	assert_false(bp->database.present);
	assert_string_equal(bp->database.pool_mode, "transaction");
	assert_int_equal(bp->database.default_pool_size, 20);
	assert_int_equal(bp->database.max_client_conn, 200);
	assert_false(bp->mocks.present);
	assert_int_equal(bp->nvips, 0);
	assert_int_equal(bp->nsecret_names, 0);
	assert_int_equal(strlen(bp->hash), 64);
	bp_free(bp);
}

/* no_hash leaves the hash empty and the model as it is; the hash does not depend on it. */
static void test_no_hash(void **state)
{
	(void)state;
	const char *yaml = HDR "networks: [ { name: a }, { name: b } ]\n"
		"nodes: [ { name: web, count: 3, networks: [a, b] }, { name: db, memory: 2Gi, networks: [b] } ]\n";
	struct bp_load_opts with = {0}, without = {.no_hash = true};
	struct bp_blueprint *a = load_ok(yaml, &with), *b = load_ok(yaml, &without), *c = load_ok(yaml, NULL);
	assert_int_equal(strlen(a->hash), 64);
	assert_string_equal(b->hash, "");
	assert_string_equal(c->hash, a->hash);
	char *ja = bp_to_json(a), *jb = bp_to_json(b);
	assert_string_equal(ja, jb);
	char hex[65];
	sbx_sha256_hex(ja, strlen(ja), hex);
	assert_string_equal(hex, a->hash);
	free(ja);
	free(jb);
	bp_free(a);
	bp_free(b);
	bp_free(c);
}

/* The defaults pass fills what a given section leaves out, inside lists and nested mappings too. */
static void test_defaults_nested(void **state)
{
	(void)state;
	struct bp_blueprint *bp = load_ok("apiVersion: sandbox/v1\nname: t\n"
		"lifetime: { permanent: true }\n"
		"site: { uri: test:///default, image: { recipe: debian-12 } }\n"
		"networks: [ { name: front, mode: isolated } ]\n"
		"nodes:\n"
		"  - { name: db, cpus: 2, roles: [postgres, lb], networks: [front] }\n"
		"  - { name: metal, provider: ipmi, bmc: { address: h } }\n"
		"  - { name: edge, roles: [router], networks: [front] }\n"
		"vips: [ { name: www, port: 80, backend: { nodes: db, port: 1 }, rate_limit: {} } ]\n"
		"database: { databases: [ { name: app } ], pooler: { mode: session } }\n", NULL);
	assert_int_equal(bp->lifetime.ttl, 0);
	assert_int_equal(bp->lifetime.max_ttl, 0);
	assert_string_equal(bp->site.uri, "test:///default");
	assert_string_equal(bp->site.pool, "sandbox");
	assert_string_equal(bp->site.pool_path, "/var/lib/sandbox/pool");
	assert_string_equal(bp->site.domain_type, "auto");
	assert_string_equal(bp->networks[0].cidr, "auto");
	assert_int_equal(bp->nodes[0].cpus, 2);
	assert_int_equal(bp->nodes[0].count, 1);
	assert_true(bp->nodes[0].memory == 1 * GIB && bp->nodes[0].disk == 8 * GIB);
	assert_string_equal(bp->nodes[1].provider, "ipmi");
	assert_int_equal(bp->nodes[1].bmc.port, 623);
	assert_string_equal(bp->nodes[1].boot, "pxe");
	assert_false(bp->nodes[1].wipe);
	assert_null(bp->nodes[1].disk_dev);
	assert_true(bp->vips[0].rate_limit);
	assert_int_equal(bp->vips[0].rate_per_10s, 100);
	assert_string_equal(bp->database.dbs[0].owner, "app");
	assert_string_equal(bp->database.pool_mode, "session");
	assert_int_equal(bp->database.default_pool_size, 20);
	assert_int_equal(bp->database.max_client_conn, 200);
	bp_free(bp);
}

static void test_full_model(void **state)
{
	(void)state;
	static const char *const dirs[] = {"/sandbox-images"};
	struct bp_load_opts o = {.vars = (struct bp_var[]){{"path", "p"}}, .nvars = 1, .env_name = "demo",
		.image_dirs = dirs, .nimage_dirs = 1};
	struct bp_blueprint *bp = NULL;
	struct sbx_err err = SBX_ERR_INIT;
	assert_int_equal(bp_load("tests/unit/data/bp/full.yaml", &o, &bp, &err), 0);
	assert_string_equal(bp->site.image.kernel, "/sandbox-images/vmlinuz");
	assert_string_equal(bp->name, "full-demo");
	assert_int_equal(bp->lifetime.ttl, 90 * 60);
	assert_int_equal(bp->lifetime.max_ttl, 2 * 86400);
	assert_true(bp->lifetime.protect);
	assert_string_equal(bp->site.image.sha256,
		"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
	assert_int_equal(bp->networks[1].mode, BP_NET_ISOLATED);
	const struct bp_node *lb = bp_node_find(bp, "lb");
	assert_non_null(lb);
	assert_int_equal(lb->count, 2);
	assert_true(lb->memory == 512 * MIB);
	assert_true(lb->disk == 4 * GIB);
	assert_true(bp_node_find(bp, "web")->disk == UINT64_C(20000000000));
	assert_true(bp_node_has_role(bp_node_find(bp, "web"), "k3s-agent"));
	assert_false(bp_node_has_role(bp_node_find(bp, "web"), "lb"));
	assert_null(bp_node_find(bp, "nope"));
	assert_non_null(bp_network_find(bp, "back"));
	assert_null(bp_network_find(bp, "nope"));
	const struct bp_node *m = bp_node_find(bp, "metal-1");
	assert_string_equal(m->provider, "ipmi");
	assert_string_equal(m->bmc.address, "10.0.0.5");
	assert_int_equal(m->bmc.port, 9623);
	assert_string_equal(m->bmc.password, "${secret.bmc}");
	assert_string_equal(m->mac, "52:54:00:ab:cd:ef");
	assert_string_equal(m->boot, "pxe");
	assert_true(m->wipe);
	assert_string_equal(m->disk_dev, "/dev/disk/by-id/wwn-0x5000c500a1b2c3d4");
	assert_null(lb->disk_dev);
	assert_int_equal(bp->nmachines, 1);
	assert_string_equal(bp->machines[0].name, "rack1-01");
	assert_int_equal(bp->machines[0].bmc.port, 623);
	assert_int_equal(bp->machines[0].ntags, 2);
	assert_string_equal(bp->machines[0].tags[0], "size=large");
	assert_string_equal(bp->machines[0].tags[1], "rack=r1");
	const struct bp_node *pool = bp_node_find(bp, "metal-pool");
	assert_int_equal(pool->nmatch, 1);
	assert_string_equal(pool->match[0], "size=large");
	assert_null(pool->bmc.address);
	assert_null(lb->boot);
	assert_int_equal(bp->bgp.router_as, 64512);
	assert_int_equal(bp->nvips, 2);
	assert_true(bp->vips[0].rate_limit);
	assert_int_equal(bp->vips[0].rate_per_10s, 50);
	assert_false(bp->vips[1].rate_limit);
	assert_int_equal(bp->vips[1].rate_per_10s, 100);
	assert_string_equal(bp->vips[1].backend_nodes, "web");
	assert_int_equal(bp->vips[1].backend_port, 30080);
	assert_true(bp->database.present);
	assert_int_equal(bp->database.ndbs, 2);
	assert_string_equal(bp->database.dbs[1].owner, "audit");
	assert_string_equal(bp->database.pool_mode, "session");
	assert_true(bp->mocks.present && bp->mocks.sms && bp->mocks.mail && bp->mocks.payment);
	assert_string_equal(bp->mocks.sms_callback_url, "http://web/p/sms");
	assert_string_equal(bp->mocks.payment_webhook_url,
		"https://pay.example/hook?token=${secret.pay_token}&x=${literal}");
	assert_int_equal(bp->nsecret_names, 2);
	assert_string_equal(bp->secret_names[0], "bmc");
	assert_string_equal(bp->secret_names[1], "pay_token");
	bp_free(bp);
	sbx_err_clear(&err);
}

static void test_units(void **state)
{
	(void)state;
	static const struct {
		const char *mem, *disk, *ttl, *max;
		uint64_t mem_b, disk_b;
		int64_t ttl_s, max_s;
	} ok[] = {
		{"512Mi", "4Gi", "8h", "3d", 512 * MIB, 4 * GIB, 8 * 3600, 3 * 86400},
		{"2G", "10G", "1h30m", "1w", 2000000000, 10000000000, 5400, 7 * 86400},
		{"1073741824", "1Ti", "90s", "2h", GIB, UINT64_C(1) << 40, 90, 7200},
		{"\"64Mi\"", "'1Gi'", "\"15m\"", "1d", 64 * MIB, GIB, 900, 86400},
	};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		char *y = xasprintf(HDR "lifetime: { ttl: %s, max_ttl: %s }\nnetworks: [ { name: f } ]\n"
			"nodes: [ { name: w, memory: %s, disk: %s, networks: [f] } ]\n", ok[i].ttl, ok[i].max,
			ok[i].mem, ok[i].disk);
		struct bp_blueprint *bp = load_ok(y, NULL);
		assert_true(bp->nodes[0].memory == ok[i].mem_b);
		assert_true(bp->nodes[0].disk == ok[i].disk_b);
		assert_int_equal(bp->lifetime.ttl, ok[i].ttl_s);
		assert_int_equal(bp->lifetime.max_ttl, ok[i].max_s);
		bp_free(bp);
		free(y);
	}
	static const char *const bad_sizes[] = {"lots", "1.5Gi", "-1Gi", "Gi", "1 Gi", "1gi", "99999999999999999999"};
	for (size_t i = 0; i < sizeof(bad_sizes) / sizeof(bad_sizes[0]); i++) {
		char *y = xasprintf(HDR "networks: [ { name: f } ]\nnodes: [ { name: w, memory: \"%s\", "
			"networks: [f] } ]\n", bad_sizes[i]);
		struct sbx_err err = SBX_ERR_INIT;
		struct bp_blueprint *bp = NULL;
		assert_int_equal(load_str(y, NULL, &bp, &err), -1);
		assert_int_equal(err.n, 1);
		assert_non_null(strstr(err.msgs[0].text, "expected a size like 512Mi or 2Gi"));
		sbx_err_clear(&err);
		free(y);
	}
	static const char *const bad_durs[] = {"soon", "8", "h", "1.5h", "-1h", "8hours", "0s"};
	for (size_t i = 0; i < sizeof(bad_durs) / sizeof(bad_durs[0]); i++) {
		char *y = xasprintf(HDR "lifetime: { ttl: \"%s\" }\nnetworks: [ { name: f } ]\n"
			"nodes: [ { name: w, networks: [f] } ]\n", bad_durs[i]);
		struct sbx_err err = SBX_ERR_INIT;
		struct bp_blueprint *bp = NULL;
		assert_int_equal(load_str(y, NULL, &bp, &err), -1);
		assert_int_equal(err.n, 1);
		assert_non_null(strstr(err.msgs[0].text, "ttl: "));
		sbx_err_clear(&err);
		free(y);
	}
}

/* A getter for bp_secret_expand: a → "A", b-2 → "B2", else unknown. */
static const char *expand_get(void *ud, const char *name)
{
	(void)ud;
	return sbx_streq(name, "a") ? "A" : sbx_streq(name, "b-2") ? "B2" : NULL;
}

static void test_secret_ref(void **state)
{
	(void)state;
	char *s = bp_secret_ref("${secret.bmc}");
	assert_string_equal(s, "bmc");
	free(s);
	assert_null(bp_secret_ref("${secret.}"));
	assert_null(bp_secret_ref("x${secret.bmc}"));
	assert_null(bp_secret_ref("${secret.bmc}x"));
	assert_null(bp_secret_ref("${env.name}"));
	assert_null(bp_secret_ref(NULL));
	assert_null(bp_secret_ref("plain"));
	/* every ${secret.NAME} of a text replaced; an unknown one named */
	char *out = NULL, *miss = NULL;
	assert_int_equal(bp_secret_expand("https://h/${secret.a}/x?t=${secret.b-2}&$${c}", expand_get, NULL, &out, &miss), 0);
	assert_string_equal(out, "https://h/A/x?t=B2&$${c}");
	free(out);
	assert_int_equal(bp_secret_expand("${secret.a}${secret.zz}", expand_get, NULL, &out, &miss), -1);
	assert_string_equal(miss, "zz");
	free(miss);
	assert_int_equal(bp_secret_expand("plain ${secret.a", expand_get, NULL, &out, NULL), 0);
	assert_string_equal(out, "plain ${secret.a");
	free(out);
}

/* notify: the webhook and its signing secret's reference, in the model and its JSON. */
static void test_notify(void **state)
{
	(void)state;
	struct bp_blueprint *bp = load_ok(HDR NOTIFY_NODES
		"notify: { webhook: \"https://hooks.example.org/sbx?team=a\", secret: \"${secret.hook}\" }\n", NULL);
	assert_true(bp->notify.present);
	assert_string_equal(bp->notify.webhook, "https://hooks.example.org/sbx?team=a");
	assert_string_equal(bp->notify.secret, "${secret.hook}");
	assert_int_equal(bp->nsecret_names, 1);
	assert_string_equal(bp->secret_names[0], "hook");
	char *j = bp_to_json(bp);
	assert_non_null(strstr(j, "\"notify\": {\n    \"secret\": \"${secret.hook}\",\n    \"webhook\": "
		"\"https://hooks.example.org/sbx?team=a\"\n  }"));
	free(j);
	bp_free(bp);
	/* without notify: no "notify" key (the models written before it keep their hash) */
	bp = load_ok(HDR NOTIFY_NODES, NULL);
	assert_false(bp->notify.present);
	j = bp_to_json(bp);
	assert_null(strstr(j, "notify"));
	free(j);
	bp_free(bp);
}

static void test_known_roles(void **state)
{
	(void)state;
	static const char *const want[] = {"router", "lb", "k3s-server", "k3s-agent", "postgres", "mocks",
		"plain"};
	size_t n = 0;
	while (bp_known_roles[n])
		n++;
	assert_int_equal(n, sizeof(want) / sizeof(want[0]));
	for (size_t i = 0; i < n; i++)
		assert_string_equal(bp_known_roles[i], want[i]);
}

/* ---- interpolation ---------------------------------------------------------------------- */

static void test_interp(void **state)
{
	(void)state;
	struct bp_var vars[] = {{"db", "first"}, {"db", "main"}, {"n", "3"}};
	struct bp_load_opts o = {.vars = vars, .nvars = 3, .env_name = "demo"};
	struct bp_blueprint *bp = load_ok(HDR
		"networks: [ { name: front } ]\n"
		"nodes: [ { name: \"web-${env.name}\", count: \"${n}\", networks: [front], roles: [postgres, mocks] } ]\n"
		"database: { databases: [ { name: \"${db}_${missing:-dflt}\", owner: o_x } ] }\n"
		"mocks: { mail: {}, sms: { callback_url: \"http://x/${secret.tok}/${secret.a}/${secret.tok}\" } }\n",
		&o);
	assert_string_equal(bp->nodes[0].name, "web-demo");
	assert_int_equal(bp->nodes[0].count, 3);
	assert_string_equal(bp->database.dbs[0].name, "main_dflt");
	assert_string_equal(bp->database.dbs[0].owner, "o_x");
	assert_int_equal(bp->nsecret_names, 2);
	assert_string_equal(bp->secret_names[0], "a");
	assert_string_equal(bp->secret_names[1], "tok");
	bp_free(bp);

	bp = load_ok(HDR
		"networks: [ { name: front } ]\n"
		"nodes: [ { name: web, networks: [front], roles: [mocks] } ]\n"
		"mocks: { payment: { webhook_url: \"http://h/$${a}/${secret.tok}/${secret.a}/${secret.tok}/$\" } }\n",
		NULL);
	assert_string_equal(bp->mocks.payment_webhook_url, "http://h/${a}/${secret.tok}/${secret.a}/${secret.tok}/$");
	assert_int_equal(bp->nsecret_names, 2);
	assert_string_equal(bp->secret_names[0], "a");
	assert_string_equal(bp->secret_names[1], "tok");
	bp_free(bp);
}

static void test_interp_binary_var(void **state)
{
	(void)state;
	/* A --var value that is not UTF-8 still renders as JSON (bytes become '?'). */
	struct bp_var v = {"tok", "a\xff\xfe"};
	struct bp_load_opts o = {.vars = &v, .nvars = 1};
	struct bp_blueprint *bp = load_ok(HDR
		"networks: [ { name: front } ]\n"
		"nodes: [ { name: web, networks: [front], roles: [mocks] } ]\n"
		"mocks: { sms: { callback_url: \"http://x/${tok}\" } }\n", &o);
	assert_string_equal(bp->mocks.sms_callback_url, "http://x/a\xff\xfe");
	char *json = bp_to_json(bp);
	assert_non_null(strstr(json, "\"http://x/a??\""));
	free(json);
	bp_free(bp);
	bp_free(NULL);
}

static void test_interp_env_placeholder(void **state)
{
	(void)state;
	/* Without an environment, ${env.name} is "<env>" and still passes name validation. */
	struct bp_blueprint *bp = load_ok(HDR
		"networks: [ { name: front } ]\n"
		"nodes: [ { name: \"db-${env.name}\", networks: [front] } ]\n", NULL);
	assert_string_equal(bp->nodes[0].name, "db-<env>");
	bp_free(bp);
}

/* ---- validation messages ---------------------------------------------------------------- */

struct bad {
	const char *yaml;
	int line, col;
	const char *phrase;
};

#define SHA64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define K3S_NODES "networks: [ { name: b } ]\nnodes:\n  - { name: c, roles: [k3s-server], networks: [b] }\n"
static const struct bad bad_cases[] = {
	{HDR NOTIFY_NODES "notify: { webhook: file:///etc/passwd }\n", 6, 20,
		"webhook: expected an http:// or https:// URL, got \"file:///etc/passwd\""},
	{HDR NOTIFY_NODES "notify: { webhook: \"https:///x\" }\n", 6, 20, "webhook: expected an http:// or https:// URL"},
	{HDR NOTIFY_NODES "notify: { webhook: \"https://h/x\", secret: s3cr3t }\n", 6, 43,
		"secret: a credential must be a \"${secret.NAME}\" reference"},
	{HDR NOTIFY_NODES "notify: { secret: \"${secret.hook}\" }\n", 6, 9, "missing required key \"webhook\" in notify"},
	{HDR NOTIFY_NODES "notify: { webhook: \"https://h/x\", sceret: x }\n", 6, 35,
		"unknown key \"sceret\" in notify (did you mean \"secret\"?)"},
	{HDR K3S_NODES, 6, 24, "k3s roles need a cluster: section with the k3s artifacts"},
	{HDR "cluster: { kubeconfig: kc, ingress: { http: 30080 } }\n", 4, 28, "cluster.ingress: sets the NodePorts of the ingress controller of the k3s"},
	{HDR K3S_NODES "cluster: { bundle: b, ingress: { http: 8080 } }\n", 7, 40, "http: "},
	{HDR K3S_NODES "cluster: { bundle: b, ingress: { http: 30080, https: 30080 } }\n", 7, 54, "cluster.ingress: http and https need different NodePorts"},
	{HDR K3S_NODES "cluster: { bundle: b }\nvips: [ { name: www, port: 443, backend: { nodes: c, port: 8080 } } ]\n", 8, 60,
		"vip \"www\": backend.port 8080: nodes \"c\" run k3s, where services are reached on a NodePort (30000-32767)"},
	{HDR K3S_NODES "cluster: { namespaces: [ { name: t } ] }\n", 7, 10,
		"cluster: k3s needs its artifacts: bundle: DIR"},
	{HDR K3S_NODES "cluster: { kubeconfig: kc }\n", 7, 24, "cluster: kubeconfig attaches an existing cluster"},
	{HDR K3S_NODES "cluster: { bundle: b, k3s: { path: k, sha256: " SHA64 " } }\n", 7, 20,
		"cluster: bundle and k3s/images are alternatives"},
	{HDR K3S_NODES "cluster:\n  k3s: { path: k, url: http://x/k, sha256: " SHA64 " }\n  images: { url: http://x/i, "
		"sha256: " SHA64 " }\n", 8, 8, "cluster.k3s: expected exactly one of path or url"},
	{HDR K3S_NODES "cluster: { bundle: b, namespaces: [ { name: t, quota: { cpu: lots } } ] }\n", 7, 62,
		"cpu: expected a Kubernetes quantity like 2, 500m or 8Gi, got \"lots\""},
	{HDR "cluster: { kubeconfig: kc, namespaces: [ { name: team } ] }\napps: [ { name: a, manifests: m, "
		"namespace: tema } ]\n", 5, 45, "app: undefined namespace \"tema\" (did you mean \"team\"?)"},
	{HDR "cluster: { kubeconfig: kc }\napps: [ { name: a, manifests: m, chart: c } ]\n", 5, 9,
		"app a: expected exactly one of manifests (a file or directory) or chart"},
	{HDR "networks: [ { name: f } ]\nnodes: [ { name: w, networks: [f] } ]\napps: [ { name: a, manifests: m } ]\n",
		6, 1, "apps: there is no cluster to apply them to"},
	{HDR "networks: [ { name: f } ]\nnodes: [ { name: w, networks: [f] } ]\ncluster: { namespaces: [] }\n", 6, 10,
		"cluster: expected nodes with role k3s-server (install k3s) or kubeconfig"},
	{HDR "networks: [ { name: front } ]\nnodes:\n  - name: web\n    memroy: 1Gi\n    networks: [front]\n",
		7, 5, "unknown key \"memroy\" in node (did you mean \"memory\"?)"},
	{HDR "networks: [ { name: front } ]\nnodes:\n  - name: web\n    memory: lots\n    networks: [front]\n",
		7, 13, "memory: expected a size like 512Mi or 2Gi, got \"lots\""},
	{HDR "networks: [ { name: front } ]\nnodes:\n  - name: web\n    disk: 2Xi\n    networks: [front]\n",
		7, 11, "disk: expected a size like 20Gi or a device path like /dev/sda (a path under /dev/ without \"..\" or "
		"empty parts), got \"2Xi\""},
	{HDR "networks: [ { name: front } ]\nnodes:\n  - name: web\n    memory: 1Mi\n    networks: [front]\n",
		7, 13, "memory: 1Mi is out of range (64Mi to 4Ti)"},
	{HDR "lifetime: { ttl: soon }\nnetworks: [ { name: f } ]\nnodes: [ { name: w, networks: [f] } ]\n",
		4, 18, "ttl: expected a duration like 8h or 3d, got \"soon\""},
	{HDR "networks: [ { name: front } ]\nnodes:\n  - { name: web, cpus: many, networks: [front] }\n",
		6, 24, "cpus: expected an integer between 1 and 128, got \"many\""},
	{HDR "networks: [ { name: front } ]\nnodes:\n  - { name: web, count: 0, networks: [front] }\n",
		6, 25, "count: expected an integer between 1 and 1000, got \"0\""},
	{HDR "networks: [ { name: front } ]\nnodes:\n  - { name: web, cpus: [1], networks: [front] }\n",
		6, 24, "cpus: expected an integer, got a list"},
	{HDR "networks: [ { name: front } ]\nnodes:\n  - name: web\n    networks: [front]\n  - name: web\n    networks: [front]\n",
		8, 5, "duplicate node name \"web\" (first defined at t.yaml:6:5)"},
	{HDR "networks: [ { name: front }, { name: front } ]\nnodes: [ { name: w, networks: [front] } ]\n",
		4, 30, "duplicate network name \"front\""},
	{HDR "networks: [ { name: front } ]\nnodes:\n  - { networks: [front] }\n",
		6, 5, "missing required key \"name\" in node"},
	{HDR "networks: [ { name: front } ]\nnodes:\n  - { name: web, networks: [front, frnt] }\n",
		6, 36, "node \"web\": undefined network \"frnt\" (did you mean \"front\"?)"},
	{HDR "networks: [ { name: front } ]\nnodes:\n  - { name: web, networks: [front, front] }\n",
		6, 36, "network \"front\" listed twice"},
	{HDR "networks: [ { name: front } ]\nnodes: [ { name: web, networks: [front], roles: [lb] } ]\n"
		"vips: [ { name: www, port: 443, backend: { nodes: wbe, port: 1 } } ]\n",
		6, 51, "vip \"www\": undefined node \"wbe\" (did you mean \"web\"?)"},
	{HDR "networks: [ { name: front } ]\nnodes: [ { name: Web_1, networks: [front] } ]\n",
		5, 18, "name: invalid name \"Web_1\""},
	{HDR "networks: [ { name: front } ]\nnodes: [ { name: web, roles: [routr], networks: [front] } ]\n",
		5, 31, "node \"web\": unknown role \"routr\" (did you mean \"router\"?)"},
	{HDR "networks: [ { name: front } ]\nnodes: [ { name: web, roles: [lb, lb], networks: [front] } ]\n",
		5, 35, "role \"lb\" listed twice"},
	{HDR "nodes:\n  - name: metal\n    provider: ipmi\n",
		6, 15, "node \"metal\": provider ipmi needs bmc"},
	{HDR "nodes:\n  - { name: metal, provider: ipmi, count: 2, bmc: { address: h } }\n",
		5, 43, "count must be 1"},
	{HDR "nodes:\n  - { name: metal, provider: ipmi, bmc: { user: u } }\n",
		5, 41, "missing required key \"address\" in bmc"},
	{HDR "networks: [ { name: front } ]\nnodes: [ { name: web, networks: [front], bmc: { address: h } } ]\n",
		5, 42, "bmc is only valid with provider: ipmi"},
	{HDR "networks: [ { name: front } ]\nnodes: [ { name: web } ]\n",
		5, 10, "missing required key \"networks\""},
	{HDR "nodes: [ { name: m, provider: ipmi, bmc: { address: h }, mac: \"52:54:00:12:34\" } ]\n",
		4, 63, "mac: expected a MAC address like 52:54:00:12:34:56, got \"52:54:00:12:34\""},
	{HDR "nodes: [ { name: m, provider: ipmi, bmc: { address: h }, disk: /dev/../etc/passwd } ]\n",
		4, 64, "disk: expected a size like 20Gi or a device path like /dev/sda (a path under /dev/ without \"..\""},
	{HDR "nodes: [ { name: m, provider: ipmi, bmc: { address: h }, disk: /etc/sda } ]\n",
		4, 64, "got \"/etc/sda\""},
	{HDR "nodes: [ { name: m, provider: ipmi, bmc: { address: h }, disk: /dev/ } ]\n",
		4, 64, "got \"/dev/\""},
	{HDR "nodes: [ { name: m, provider: ipmi, bmc: { address: h }, disk: /dev/sda/ } ]\n",
		4, 64, "got \"/dev/sda/\""},
	{HDR "nodes: [ { name: m, provider: ipmi, bmc: { address: h }, disk: \"/dev/s a\" } ]\n",
		4, 64, "got \"/dev/s a\""},
	{HDR "nodes: [ { name: m, provider: ipmi, bmc: { address: h }, disk: dev/sda } ]\n",
		4, 64, "disk: expected a size like 20Gi or a device path like /dev/sda"},
	{HDR "nodes: [ { name: m, provider: ipmi, bmc: { address: h }, disk: 20Gi } ]\n",
		4, 64, "node \"m\": disk: a machine installs to a device; expected a device path like /dev/sda"},
	{HDR "networks: [ { name: f } ]\nnodes: [ { name: w, networks: [f], disk: /dev/sda } ]\n",
		5, 42, "node \"w\": disk: a device path is only valid with provider: ipmi"},
	{HDR "nodes: [ { name: m, provider: ipmi, bmc: { address: h }, boot: disk } ]\n",
		4, 64, "boot: expected one of pxe, got \"disk\""},
	{HDR "nodes: [ { name: m, provider: ipmi, bmc: { address: h }, wipe: yes } ]\n",
		4, 64, "wipe: expected true or false, got \"yes\""},
	{HDR "nodes: [ { name: m, provider: ipmi, bmc: { address: h }, wipe: true } ]\n",
		4, 64, "node \"m\": wipe: true needs the disk to wipe (disk: /dev/...)"},
	{HDR "networks: [ { name: f } ]\nnodes: [ { name: w, networks: [f], wipe: false } ]\n",
		5, 36, "node \"w\": wipe is only valid with provider: ipmi"},
	{HDR "networks: [ { name: f } ]\nnodes: [ { name: w, networks: [f], boot: pxe } ]\n",
		5, 36, "node \"w\": boot is only valid with provider: ipmi"},
	{HDR "nodes: [ { name: m, provider: ipmi, match: { size: large } } ]\n",
		4, 37, "node \"m\": match needs a machines: section to pick from"},
	{HDR "machines: [ { name: m1, bmc: { address: h }, tags: { size: large } } ]\nnodes: [ { name: m, provider: ipmi, match: { size: large }, bmc: { address: h } } ]\n",
		5, 37, "node \"m\": match picks a machine of machines:; give either bmc or match, not both"},
	{HDR "machines: [ { name: m1, bmc: { address: h }, tags: { size: large } } ]\nnodes: [ { name: m, provider: ipmi, match: { size: large }, mac: \"52:54:00:12:34:56\" } ]\n",
		5, 61, "node \"m\": mac comes with the machine match picks"},
	{HDR "machines: [ { name: m1, bmc: { address: h }, tags: { size: large } } ]\nnodes: [ { name: m, provider: ipmi, match: [large] } ]\n",
		5, 44, "match: expected a mapping of tags like { size: large }, got a list"},
	{HDR "machines: [ { name: m1, bmc: { address: h }, tags: { size: large } } ]\nnodes: [ { name: m, provider: ipmi, match: { Size: large } } ]\n",
		5, 46, "match: invalid tag name \"Size\""},
	{HDR "machines: [ { name: m1, tags: { size: large } } ]\nnodes: [ { name: m, provider: ipmi, match: { size: large } } ]\n",
		4, 13, "missing required key \"bmc\" in machine"},
	{HDR "machines: [ { name: m1, bmc: { address: h } }, { name: m1, bmc: { address: g } } ]\n"
		"nodes: [ { name: m, provider: ipmi, match: { size: large } } ]\n",
		4, 48, "duplicate machine name \"m1\""},
	{HDR "machines: [ { name: m1, bmc: { address: h }, tags: { size: large } } ]\nnetworks: [ { name: f } ]\nnodes: [ { name: w, networks: [f], match: { size: large } } ]\n",
		6, 36, "node \"w\": match is only valid with provider: ipmi"},
	{"apiVersion: sandbox/v1\nname: t\nsite: { uri: test:///default }\n"
		"nodes: [ { name: m, provider: ipmi, bmc: { address: h }, mac: \"52:54:00:12:34:56\" } ]\n",
		3, 1, "missing required key \"image\" in site (machines that boot from the network need a base image"},
	{"apiVersion: sandbox/v1\nname: t\nsite: { image: { url: \"https://example.org/d.img\", sha256: "
		"\"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\" } }\n"
		"nodes: [ { name: m, provider: ipmi, bmc: { address: h }, mac: \"52:54:00:12:34:56\" } ]\n",
		3, 16, "site.image: machines that boot from the network need the image's kernel and initrd: give kernel "
		"and initrd, or a recipe (recipe: debian-12)"},
	{HDR "nodes: [ { name: m, provider: pxe, bmc: { address: h } } ]\n",
		4, 31, "provider: expected one of libvirt, ipmi, got \"pxe\""},
	{HDR "lifetime: { ttl: 5d }\nnetworks: [ { name: f } ]\nnodes: [ { name: w, networks: [f] } ]\n",
		4, 18, "ttl: 5d is longer than max_ttl 3d 0h (the default)"},
	{HDR "lifetime: { ttl: 5d, max_ttl: 2d }\nnetworks: [ { name: f } ]\nnodes: [ { name: w, networks: [f] } ]\n",
		4, 18, "ttl: 5d is longer than max_ttl 2d"},
	{HDR "lifetime: { permanent: true, ttl: 8h }\nnetworks: [ { name: f } ]\nnodes: [ { name: w, networks: [f] } ]\n",
		4, 30, "ttl: a permanent blueprint does not expire"},
	{HDR "lifetime: { permanent: yes }\nnetworks: [ { name: f } ]\nnodes: [ { name: w, networks: [f] } ]\n",
		4, 24, "permanent: expected true or false, got \"yes\""},
	{"apiVersion: sandbox/v2\nname: t\nnodes: []\n",
		1, 13, "apiVersion: expected \"sandbox/v1\", got \"sandbox/v2\""},
	{"name: t\nnodes: [ { name: m, provider: ipmi, bmc: { address: h } } ]\n",
		1, 1, "missing required key \"apiVersion\" in blueprint"},
	{"apiVersion: sandbox/v1\nname: t\n",
		1, 1, "missing required key \"nodes\" in blueprint (or cluster.kubeconfig"},
	{"apiVersion: sandbox/v1\nname: t\nnodes: []\n",
		3, 8, "nodes: expected at least one node (or cluster.kubeconfig"},
	{"apiVersion: sandbox/v1\nname: t\nnode: []\n",
		3, 1, "unknown key \"node\" in blueprint (did you mean \"nodes\"?)"},
	{"apiVersion: sandbox/v1\nname: t\nzzzzzz: 1\n",
		3, 1, "unknown key \"zzzzzz\" in blueprint; expected one of: apiVersion, name, lifetime"},
	{"apiVersion: sandbox/v1\nname: t\nnodes: [ { name: web\n",
		4, 1, "YAML syntax error"},
	{"apiVersion: sandbox/v1\nname: t\n  bad: indent\n",
		3, 6, "YAML syntax error: mapping values are not allowed in this context"},
	{"apiVersion: sandbox/v1\nname: t\nname: u\nnodes: []\n",
		3, 1, "duplicate key \"name\" (first set at line 2)"},
	{"apiVersion: sandbox/v1\nname: &n t\nnodes: [ { name: *n } ]\n",
		3, 18, "aliases (*n) are not supported"},
	{"- just\n- a list\n",
		1, 1, "expected a mapping (apiVersion: ..., name: ...) at the top, got a list"},
	{"",
		1, 1, "expected a mapping (apiVersion: ..., name: ...) at the top, got nothing"},
	{"a: 1\n---\nb: 2\n",
		3, 1, "expected a single YAML document"},
	{"apiVersion: sandbox/v1\nname: ci-${branch}\nnodes: []\n",
		2, 7, "unknown variable \"branch\" in \"ci-${branch}\" (pass --var branch=VALUE"},
	{"apiVersion: sandbox/v1\nname: ci-${branch\nnodes: []\n",
		2, 7, "unterminated \"${\""},
	{"apiVersion: sandbox/v1\nname: \"${secret.a b}\"\nnodes: []\n",
		2, 7, "invalid secret name \"a b\""},
	{HDR "networks: [ { name: f, cidr: 10.0.0.5/24 } ]\nnodes: [ { name: w, networks: [f] } ]\n",
		4, 30, "cidr: expected \"auto\" or an IPv4 network"},
	{HDR "networks: [ { name: f, mode: bridged } ]\nnodes: [ { name: w, networks: [f] } ]\n",
		4, 30, "mode: expected one of nat, isolated, got \"bridged\""},
	{"apiVersion: sandbox/v1\nname: t\nsite: { image: { url: \"https://x/i.qcow2\" } }\n"
		"networks: [ { name: f } ]\nnodes: [ { name: w, networks: [f] } ]\n",
		3, 23, "image: url needs sha256"},
	{"apiVersion: sandbox/v1\nname: t\nsite: { image: { url: \"ftp://x\", sha256: abc } }\n"
		"networks: [ { name: f } ]\nnodes: [ { name: w, networks: [f] } ]\n",
		3, 42, "sha256: expected a SHA-256 (64 hex digits), got \"abc\""},
	{"apiVersion: sandbox/v1\nname: t\nsite: { image: {} }\n"
		"networks: [ { name: f } ]\nnodes: [ { name: w, networks: [f] } ]\n",
		3, 16, "image: expected at least one of path, url or recipe"},
	{"apiVersion: sandbox/v1\nname: t\nsite: { uri: test:///default }\n"
		"networks: [ { name: f } ]\nnodes: [ { name: w, networks: [f] } ]\n",
		3, 1, "missing required key \"image\" in site"},
	{"apiVersion: sandbox/v1\nname: t\nsite: { pool_path: relative/dir, image: { recipe: r } }\n"
		"networks: [ { name: f } ]\nnodes: [ { name: w, networks: [f] } ]\n",
		3, 20, "pool_path: expected an absolute path, got \"relative/dir\""},
	{HDR "networks: [ { name: f } ]\nnodes: [ { name: w, networks: [f] } ]\nbgp: { router_as: 65000, lb_as: 65000 }\n",
		6, 6, "bgp: router_as and lb_as must differ"},
	{HDR "networks: [ { name: f } ]\nnodes: [ { name: w, networks: [f] } ]\n"
		"vips: [ { name: www, port: 443, backend: { nodes: w, port: 1 } } ]\n",
		6, 1, "vips: no node has role lb"},
	{HDR "networks: [ { name: f } ]\nnodes: [ { name: w, networks: [f] } ]\n"
		"database: { databases: [ { name: app } ] }\n",
		6, 1, "database: no node has role postgres"},
	{HDR "networks: [ { name: f } ]\nnodes: [ { name: w, networks: [f], roles: [postgres] } ]\n"
		"database: { databases: [ { name: my-app } ] }\n",
		6, 34, "name: expected a PostgreSQL name"},
	{HDR "networks: [ { name: f } ]\nnodes: [ { name: w, networks: [f], roles: [postgres] } ]\n"
		"database: { pooler: { mode: fast } }\n",
		6, 29, "mode: expected one of transaction, session, statement, got \"fast\""},
	{HDR "networks: [ { name: f } ]\nnodes: [ { name: w, networks: [f], roles: [lb] } ]\n"
		"vips: [ { name: www, backend: { nodes: w, port: 1 } } ]\n",
		6, 9, "missing required key \"port\" in vip"},
	{HDR "networks: [ { name: f } ]\nnodes: [ { name: w, networks: [f], roles: [lb] } ]\n"
		"vips: [ { name: www, port: 70000, backend: { nodes: w, port: 1 } } ]\n",
		6, 28, "port: expected an integer between 1 and 65535, got \"70000\""},
	{HDR "networks: [ { name: f } ]\nnodes: [ { name: w, networks: [f] } ]\nmocks: { sms: { callback: x } }\n",
		6, 17, "unknown key \"callback\" in mocks.sms"},
	{HDR "networks: [ { name: f } ]\nnodes: [ { name: w, networks: [f] } ]\nmocks: { sms: { callback_url: x } }\n",
		6, 31, "callback_url: expected an http://, https:// or file:// URL, got \"x\""},
	{HDR "networks: { name: f }\nnodes: [ { name: w } ]\n",
		4, 11, "networks: expected a list of networks, got a mapping"},
	{"apiVersion: sandbox/v1\nname: t\nsite: 3\nnodes: [ { name: w, provider: ipmi, bmc: { address: h } } ]\n",
		3, 7, "site: expected a mapping (key: value), got \"3\""},
	{"apiVersion: sandbox/v1\nname: t\nextends: [a]\n",
		3, 10, "extends: expected a file path, got a list"},
	{"apiVersion: sandbox/v1\nname: t\nextends: no-such-file.yaml\n",
		3, 10, "extends: cannot read \"no-such-file.yaml\": No such file or directory"},
	{"apiVersion: sandbox/v1\nname: \xff\n",
		2, 7, "YAML syntax error: invalid leading UTF-8 octet"},
	{"apiVersion: sandbox/v1\nname: t\nx: [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]\n",
		3, 67, "nesting deeper than 64 levels"},
	{"apiVersion: sandbox/v1\nname: t\n? [a]\n: b\n",
		3, 3, "expected a plain key (key: value), got a list"},
	{HDR "networks: [ { name: f } ]\nnodes: [ { name: w, networks: f } ]\n",
		5, 31, "networks: expected a list like [a, b], got \"f\""},
	/* site.uri: only transports that run no command and open no socket or file the blueprint names */
#define URI(u) "apiVersion: sandbox/v1\nname: t\nsite: { uri: \"" u "\", image: { recipe: r } }\n" \
	"networks: [ { name: f } ]\nnodes: [ { name: w, networks: [f] } ]\n"
#define URI_EXPECTED "uri: expected qemu:///system, qemu:///session, qemu+ssh://[USER@]HOST[:PORT]/system, " \
	"qemu+tls://HOST[:PORT]/system (or /session on that host) or test:///default, got "
	{URI("ext:///x?command=/bin/sh"), 3, 14, URI_EXPECTED "\"ext:///x?command=/bin/sh\""},
	{URI("qemu+ext:///system?command=/tmp/evil"), 3, 14, URI_EXPECTED "\"qemu+ext:///system?command=/tmp/evil\""},
	{URI("qemu+unix:///system?socket=/tmp/s"), 3, 14, URI_EXPECTED "\"qemu+unix:///system?socket=/tmp/s\""},
	{URI("qemu+tcp://host/system"), 3, 14, URI_EXPECTED "\"qemu+tcp://host/system\""},
	{URI("qemu+libssh2://host/system?known_hosts=/x"), 3, 14, URI_EXPECTED "\"qemu+libssh2://host/system?known_ho"},
	{URI("qemu:///system?socket=/tmp/s"), 3, 14, URI_EXPECTED "\"qemu:///system?socket=/tmp/s\""},
	{URI("test:///etc/passwd"), 3, 14, URI_EXPECTED "\"test:///etc/passwd\""},
	{URI("qemu+ssh://-oProxyCommand=sh/system"), 3, 14, URI_EXPECTED "\"qemu+ssh://-oProxyCommand=sh/system\""},
	{URI("qemu+ssh://a@b@host/system"), 3, 14, URI_EXPECTED "\"qemu+ssh://a@b@host/system\""},
	{URI("qemu+ssh://host/"), 3, 14, URI_EXPECTED "\"qemu+ssh://host/\""},
	{URI("qemu+ssh://host/system?netcat=/tmp/nc"), 3, 14, "uri: parameter \"netcat\" is not allowed (libvirt "
		"would run a command or use a socket or file it names); allowed: mode, no_tty, sshauth, tls_priority"},
	{URI("qemu+ssh://root@host/system?mode=direct&keyfile=/root/.ssh/id_rsa"), 3, 14, "uri: parameter \"keyfile\" is not allowed"},
	{URI("qemu+ssh://host/system?socket=/run/x.sock"), 3, 14, "uri: parameter \"socket\" is not allowed"},
	{URI("qemu+ssh://host/system?command=sh"), 3, 14, "uri: parameter \"command\" is not allowed"},
	{URI("qemu+ssh://host/system?proxy=netcat"), 3, 14, "uri: parameter \"proxy\" is not allowed"},
	{URI("qemu+ssh://host/system?no_verify=1"), 3, 14, "uri: parameter \"no_verify\" is not allowed"},
	{URI("qemu+tls://host/system?pkipath=/tmp/pki"), 3, 14, "uri: parameter \"pkipath\" is not allowed"},
	{URI("qemu+ssh://host/system?mode=$(reboot)"), 3, 14, "uri: parameter \"mode\": expected letters, digits and"},
	/* credentials are ${secret.NAME} references; a literal is never echoed */
	{HDR "nodes: [ { name: m, provider: ipmi, bmc: { address: h, password: hunter2 } } ]\n", 4, 66,
		"password: a credential must be a \"${secret.NAME}\" reference, not a literal value (store it with "
		"`printf %s \"$VALUE\" | sandbox secret set ENV NAME`, then write \"${secret.NAME}\" here)"},
	{HDR "nodes: [ { name: m, provider: ipmi, bmc: { address: h, password: \"pw-${secret.bmc}\" } } ]\n", 4, 66,
		"password: a credential must be a \"${secret.NAME}\" reference"},
	/* names PostgreSQL and pgbouncer reserve */
#define DB(d) HDR "networks: [ { name: f } ]\nnodes: [ { name: w, networks: [f], roles: [postgres] } ]\n" \
	"database: { databases: [ " d " ] }\n"
#define RESERVED "is reserved by PostgreSQL (postgres, template0, template1, pgbouncer and names starting with " \
	"pg_ cannot be used)"
	{DB("{ name: postgres }"), 6, 34, "name: \"postgres\" " RESERVED},
	{DB("{ name: template0 }"), 6, 34, "name: \"template0\" " RESERVED},
	{DB("{ name: app, owner: template1 }"), 6, 46, "owner: \"template1\" " RESERVED},
	{DB("{ name: app, owner: pg_monitor }"), 6, 46, "owner: \"pg_monitor\" " RESERVED},
	{DB("{ name: pgbouncer, owner: app }"), 6, 34, "name: \"pgbouncer\" " RESERVED},
	/* the warm pool's objects are named like an environment called "pool" */
	{"apiVersion: sandbox/v1\nname: pool\nsite: { image: { recipe: debian-12 } }\n" NOTIFY_NODES, 2, 7,
		"name: \"pool\" is reserved for the warm pool's objects: expected another environment name"},
	/* networks: IPAM serves /24 blocks */
	{HDR "networks: [ { name: f, cidr: 10.0.0.0/16 } ]\nnodes: [ { name: w, networks: [f] } ]\n", 4, 30,
		"cidr: expected \"auto\" or an IPv4 network like 10.20.0.0/24 (a /24, host bits zero: each network gets "
		"one /24 block), got \"10.0.0.0/16\""},
	{HDR "networks: [ { name: f, cidr: 10.0.0.128/25 } ]\nnodes: [ { name: w, networks: [f] } ]\n", 4, 30,
		"got \"10.0.0.128/25\""},
	/* roles that need other roles or sections */
	{HDR "networks: [ { name: f } ]\nnodes:\n  - { name: w, networks: [f] }\n  - { name: lb, networks: [f], roles: [plain, lb] }\n",
		7, 47, "role lb needs a node with role router (the load balancers announce the VIPs to it over BGP)"},
	{HDR "networks: [ { name: f } ]\nnodes: [ { name: w, networks: [f] } ]\nmocks: { sms: {} }\n",
		6, 1, "mocks: no node has role mocks (the mocks run on a node with role mocks)"},
	{HDR "networks: [ { name: f } ]\nnodes: [ { name: w, networks: [f], roles: [mocks] } ]\n",
		5, 44, "node \"w\": role mocks has nothing to run: no mocks: section enables a mock (add mocks: { sms: {}, "
		"mail: {}, payment: {} })"},
	{HDR "networks: [ { name: f } ]\nnodes: [ { name: w, networks: [f], roles: [mocks] } ]\nmocks: {}\n",
		5, 44, "node \"w\": role mocks has nothing to run"},
};

/* Whether the error list has a message at line:col in t.yaml containing phrase. */
static bool has_error(const struct sbx_err *err, const char *file, int line, int col, const char *phrase)
{
	for (size_t i = 0; i < err->n; i++) {
		const struct sbx_err_msg *m = &err->msgs[i];
		if (m->file && strcmp(m->file, file) == 0 && m->line == line && m->col == col &&
			strstr(m->text, phrase))
			return true;
	}
	return false;
}

static void test_bad_inputs(void **state)
{
	(void)state;
	int failures = 0;
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad *b = &bad_cases[i];
		struct sbx_err err = SBX_ERR_INIT;
		struct bp_blueprint *bp = (struct bp_blueprint *)&err; /* must stay untouched */
		int rc = load_str(b->yaml, NULL, &bp, &err);
		if (rc != -1 || bp != (struct bp_blueprint *)&err || err.code != SBX_EXIT_USAGE ||
			!has_error(&err, "t.yaml", b->line, b->col, b->phrase)) {
			fprintf(stderr, "case %zu: wanted t.yaml:%d:%d: ...%s...; got rc %d:\n", i, b->line,
				b->col, b->phrase, rc);
			sbx_err_print(&err, stderr);
			failures++;
		}
		sbx_err_clear(&err);
	}
	assert_int_equal(failures, 0);
}

/* What the rules for untrusted blueprints still accept; what they refuse is reported once, and a
 * literal credential is never repeated. */
static void test_untrusted_accepted(void **state)
{
	(void)state;
	static const char *const uris[] = {"qemu:///system", "qemu:///session", "test:///default",
		"qemu+ssh://deploy@kvm-1.example.org:2222/system?mode=direct&no_tty=1&sshauth=agent,privkey",
		"qemu+tls://10.0.0.7/session", "qemu+ssh://[fd00::1]/system"};
	for (size_t i = 0; i < sizeof(uris) / sizeof(uris[0]); i++) {
		char *y = xasprintf("apiVersion: sandbox/v1\nname: t\nsite: { uri: \"%s\", image: { recipe: r } }\n"
			"networks: [ { name: f } ]\nnodes: [ { name: w, networks: [f] } ]\n", uris[i]);
		struct bp_blueprint *bp = load_ok(y, NULL);
		assert_string_equal(bp->site.uri, uris[i]);
		bp_free(bp);
		free(y);
	}
	/* an attached cluster needs no machines */
	struct bp_blueprint *kb = load_ok(HDR "cluster: { kubeconfig: kc, context: shared, namespaces: [ { name: t } ] }\n"
		"apps: [ { name: a, manifests: apps/a, namespace: t } ]\n", NULL);
	assert_int_equal(kb->nnodes, 0);
	assert_string_equal(kb->cluster.context, "shared");
	assert_string_equal(kb->cluster.namespaces[0].limit_memory, "512Mi");
	assert_int_equal(kb->cluster.api_port, 6443);
	assert_int_equal(kb->cluster.ingress_http, 0); /* an attached cluster's ingress is its own */
	bp_free(kb);
	/* an installed one: Traefik on 30080/30443, which VIPs on its nodes may point at */
	kb = load_ok(HDR "networks: [ { name: b } ]\nnodes:\n  - { name: c, roles: [k3s-server], networks: [b] }\n"
		"  - { name: r, roles: [router], networks: [b] }\n  - { name: l, roles: [lb], networks: [b] }\n"
		"cluster: { bundle: b }\nvips: [ { name: www, port: 443, backend: { nodes: c, port: 30443 } } ]\n", NULL);
	assert_int_equal(kb->cluster.ingress_http, 30080);
	assert_int_equal(kb->cluster.ingress_https, 30443);
	bp_free(kb);
	kb = load_ok(HDR "networks: [ { name: b } ]\nnodes:\n  - { name: c, roles: [k3s-server], networks: [b] }\n"
		"cluster: { bundle: b, ingress: { http: 31080, https: 31443 } }\n", NULL);
	assert_int_equal(kb->cluster.ingress_http, 31080);
	assert_int_equal(kb->cluster.ingress_https, 31443);
	bp_free(kb);
	struct bp_blueprint *bp = load_ok(HDR "nodes: [ { name: m, provider: ipmi, bmc: { address: h, user: admin, "
		"password: \"${secret.bmc-pw}\" } } ]\n", NULL);
	assert_string_equal(bp->nodes[0].bmc.password, "${secret.bmc-pw}");
	assert_int_equal(bp->nsecret_names, 1);
	bp_free(bp);

	struct sbx_err err = SBX_ERR_INIT;
	bp = NULL;
	assert_int_equal(load_str(DB("{ name: pg_app }"), NULL, &bp, &err), -1);
	assert_int_equal(err.n, 1); /* the owner defaults to the name: one error */
	sbx_err_clear(&err);
	assert_int_equal(load_str(HDR "nodes: [ { name: m, provider: ipmi, bmc: { address: h, password: hunter2 } } ]\n",
		NULL, &bp, &err), -1);
	FILE *f = tmpfile();
	sbx_err_print(&err, f);
	char out[2048] = "";
	rewind(f);
	assert_true(fread(out, 1, sizeof(out) - 1, f) > 0);
	fclose(f);
	assert_null(strstr(out, "hunter2"));
	sbx_err_clear(&err);
}

static void test_many_errors_one_pass(void **state)
{
	(void)state;
	struct sbx_err err = SBX_ERR_INIT;
	struct bp_blueprint *bp = NULL;
	const char *y = HDR
		"networks: [ { name: front } ]\n"
		"nodes:\n"
		"  - { name: a, memory: lots, networks: [front] }\n"
		"  - { name: b, cpus: x, networks: [nope] }\n"
		"  - { name: c, roles: [dba], networks: [front] }\n"
		"lifetime: { ttl: later }\n";
	assert_int_equal(load_str(y, NULL, &bp, &err), -1);
	assert_null(bp);
	assert_int_equal(err.n, 5);
	/* every error, sorted by position */
	static const int want[][2] = {{6, 24}, {7, 22}, {7, 36}, {8, 24}, {9, 18}};
	for (size_t i = 0; i < 5; i++) {
		assert_string_equal(err.msgs[i].file, "t.yaml");
		assert_int_equal(err.msgs[i].line, want[i][0]);
		assert_int_equal(err.msgs[i].col, want[i][1]);
	}
	assert_non_null(strstr(err.msgs[3].text, "unknown role \"dba\""));
	assert_non_null(err.hint);
	assert_non_null(strstr(err.hint, "blueprints/README.md"));
	sbx_err_clear(&err);
}

static void test_unreadable_file(void **state)
{
	(void)state;
	struct sbx_err err = SBX_ERR_INIT;
	struct bp_blueprint *bp = NULL;
	assert_int_equal(bp_load("tests/unit/data/bp/does-not-exist.yaml", NULL, &bp, &err), -1);
	assert_null(bp);
	assert_int_equal(err.n, 1);
	assert_null(err.msgs[0].file);
	assert_non_null(strstr(err.msgs[0].text, "does-not-exist.yaml"));
	sbx_err_clear(&err);
	assert_int_equal(bp_load("tests/unit/data/bp", NULL, &bp, &err), -1);
	assert_non_null(strstr(err.msgs[0].text, "not a regular file"));
	sbx_err_clear(&err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_minimal_defaults),
		cmocka_unit_test(test_defaults_nested),
		cmocka_unit_test(test_no_hash),
		cmocka_unit_test(test_full_model),
		cmocka_unit_test(test_units),
		cmocka_unit_test(test_secret_ref),
		cmocka_unit_test(test_notify),
		cmocka_unit_test(test_known_roles),
		cmocka_unit_test(test_interp),
		cmocka_unit_test(test_interp_binary_var),
		cmocka_unit_test(test_interp_env_placeholder),
		cmocka_unit_test(test_bad_inputs),
		cmocka_unit_test(test_untrusted_accepted),
		cmocka_unit_test(test_many_errors_one_pass),
		cmocka_unit_test(test_unreadable_file),
	};
	return cmocka_run_group_tests(tests, setup_top, NULL);
}
