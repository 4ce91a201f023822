/*
 * Unit tests of env_warm: --pool specs (defaults, the canonical key, errors that say what is
 * expected), a blueprint node's shape (equal to a spec's iff recipe/image, cpus and memory are),
 * and the claim `up` makes for a node.
 *
 * Also the claimer of tests/integration/cli_warm_pool.sh:
 *   test_env_warm claim STATE SPEC ENV NODE   claim a ready member of SPEC's shape for ENV's NODE
 * printing "claimed ID ADDRESS" (exit 0) or "none" (exit 1); exit 2 on an error.
 *   test_env_warm destroy STATE ID            a claimer giving its member up: warm_member_destroy
 *                                             on qemu:///system, storage pool "sandbox"
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "env_warm.h"
#include "state_fix.h"

/* Parse a spec that must be good. */
static void parse_ok(const char *spec, struct warm_shape *s)
{
	struct sbx_err err = SBX_ERR_INIT;
	if (warm_shape_parse(spec, s, &err) < 0)
		fail_msg("%s: %s", spec, sbx_err_first(&err));
}

/* A spec that must be refused (usage), its message containing `want`. */
static void parse_bad(const char *spec, const char *want)
{
	struct sbx_err err = SBX_ERR_INIT;
	struct warm_shape s = {0};
	assert_int_equal(warm_shape_parse(spec, &s, &err), -1);
	assert_int_equal(err.code, SBX_EXIT_USAGE);
	if (strstr(sbx_err_first(&err), want) == NULL)
		fail_msg("%s: \"%s\" lacks \"%s\"", spec, sbx_err_first(&err), want);
	assert_non_null(err.hint);
	assert_non_null(strstr(err.hint, "recipe=NAME"));
	sbx_err_clear(&err);
}

/* Specs: defaults, canonical keys (order and units do not matter), tags, and the errors. */
static void test_parse(void **ctx)
{
	(void)ctx;
	struct warm_shape a = {0}, b = {0}, c = {0};
	parse_ok("recipe=debian-12", &a);
	assert_string_equal(a.key, "recipe=debian-12,cpus=1,memory=1073741824");
	assert_string_equal(a.tag, "debian-12-1c-1024m");
	assert_int_equal(a.count, 1);
	parse_ok("count=3,memory=1024Mi,cpus=1,recipe=debian-12", &b);
	assert_string_equal(a.key, b.key);
	assert_int_equal(b.count, 3);
	parse_ok("image=/dev/null,cpus=2,memory=512Mi,count=0", &c);
	assert_string_equal(c.key, "image=/dev/null,cpus=2,memory=536870912");
	assert_string_equal(c.tag, "null-2c-512m");
	assert_int_equal(c.count, 0);
	warm_shape_clear(&a);
	warm_shape_clear(&b);
	warm_shape_clear(&c);
	parse_ok("image=https://example.org/d.qcow2,sha256=" "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", &a);
	assert_string_equal(a.key, "image=https://example.org/d.qcow2,cpus=1,memory=1073741824");
	warm_shape_clear(&a);
	parse_ok("recipe=debian-12,roles=mocks+postgres+lb", &a); /* the registry's order; not in the key */
	assert_string_equal(a.roles, "postgres+lb+mocks");
	assert_string_equal(a.key, "recipe=debian-12,cpus=1,memory=1073741824");
	warm_shape_clear(&a);
	parse_bad("cpus=1", "exactly one of recipe= or image=");
	parse_bad("recipe=a,image=/dev/null", "exactly one of recipe= or image=");
	parse_bad("recipe=debian-12,cpus=0", "cpus=0");
	parse_bad("recipe=debian-12,memory=lots", "memory=lots");
	parse_bad("recipe=debian-12,memory=64Mi", "memory=64Mi");
	parse_bad("recipe=debian-12,count=-1", "count=-1");
	parse_bad("recipe=debian-12,count=100", "count=100");
	parse_bad("recipe=Debian 12", "recipe=Debian 12");
	parse_bad("recipe=debian-12,recipe=x", "recipe=x");
	parse_bad("recipe=debian-12,colour=blue", "colour=blue");
	parse_bad("recipe=debian-12,,", "key=value");
	parse_bad("recipe=debian-12,roles=postgres+nosuch", "roles=postgres+nosuch");
	parse_bad("recipe=debian-12,roles=plain", "roles=plain");
	parse_bad("recipe=debian-12,roles=lb+lb", "roles=lb+lb");
	parse_bad("recipe=debian-12,roles=lb++mocks", "roles=lb++mocks");
	parse_bad("recipe=debian-12,roles=", "roles=");
	parse_bad("image=disk.qcow2", "absolute path");
	parse_bad("image=/nonexistent/disk.qcow2", "absolute path");
	parse_bad("image=https://example.org/d.qcow2", "needs sha256=");
}

/* Load a blueprint from text. */
static struct bp_blueprint *load(const char *y)
{
	struct bp_blueprint *bp = NULL;
	struct sbx_err err = SBX_ERR_INIT;
	if (bp_load_string("t.yaml", y, strlen(y), NULL, &bp, &err) < 0)
		fail_msg("%s", sbx_err_first(&err));
	return bp;
}

static const char bp_recipe[] = "apiVersion: sandbox/v1\nname: t\nsite: { image: { recipe: debian-12 } }\n"
	"networks: [ { name: f } ]\n"
	"nodes:\n  - { name: a, networks: [f] }\n"
	"  - { name: b, cpus: 1, memory: 512Mi, networks: [f] }\n"
	"  - { name: c, cpus: 2, networks: [f] }\n"
	"  - { name: d, disk: 4Gi, networks: [f] }\n"
	"  - { name: m, provider: ipmi, bmc: { address: h, password: \"${secret.bmc}\" } }\n";

/* A node's key equals a spec's iff recipe, cpus and memory are equal; a node the pool cannot
 * serve (another disk, bare metal) has none. */
static void test_node_shape(void **ctx)
{
	(void)ctx;
	struct bp_blueprint *bp = load(bp_recipe);
	struct sbx_err err = SBX_ERR_INIT;
	struct warm_shape s1 = {0}, s2 = {0}, s3 = {0};
	char *k = NULL;
	parse_ok("recipe=debian-12,cpus=1,memory=1Gi,count=2", &s1);
	parse_ok("recipe=debian-12,memory=512Mi", &s2);
	parse_ok("recipe=debian-11,cpus=1,memory=1Gi", &s3);
	assert_int_equal(warm_shape_of_node(bp, &bp->nodes[0], &k, &err), 0);
	assert_string_equal(k, s1.key);
	assert_string_not_equal(k, s3.key);
	free(k);
	assert_int_equal(warm_shape_of_node(bp, &bp->nodes[1], &k, &err), 0);
	assert_string_equal(k, s2.key);
	assert_string_not_equal(k, s1.key);
	free(k);
	assert_int_equal(warm_shape_of_node(bp, &bp->nodes[2], &k, &err), 0);
	assert_string_not_equal(k, s1.key);
	free(k);
	k = NULL;
	assert_int_equal(warm_shape_of_node(bp, &bp->nodes[3], &k, &err), 1);
	assert_int_equal(warm_shape_of_node(bp, &bp->nodes[4], &k, &err), 1);
	assert_null(k);
	bp_free(bp);
	/* an image file: the same real path */
	char *y = xasprintf("apiVersion: sandbox/v1\nname: t\nsite: { image: { path: /dev/../dev/null } }\n"
		"networks: [ { name: f } ]\nnodes: [ { name: a, networks: [f] } ]\n");
	struct bp_load_opts lo = {.image_dirs = (const char *const[]){"/dev"}, .nimage_dirs = 1};
	bp = NULL;
	if (bp_load_string("t.yaml", y, strlen(y), &lo, &bp, &err) == 0) {
		struct warm_shape s4 = {0};
		parse_ok("image=/dev/null", &s4);
		assert_int_equal(warm_shape_of_node(bp, &bp->nodes[0], &k, &err), 0);
		assert_string_equal(k, s4.key);
		free(k);
		warm_shape_clear(&s4);
		bp_free(bp);
	}
	sbx_err_clear(&err);
	free(y);
	warm_shape_clear(&s1);
	warm_shape_clear(&s2);
	warm_shape_clear(&s3);
}

/* Record a ready member of shape key. */
static void add_ready(struct state *st, const char *id, const char *key, const char *hash)
{
	struct sbx_err err = SBX_ERR_INIT;
	struct warm_member m = {.id = (char *)id, .shape = (char *)key, .status = WARM_BOOTING,
		.image_hash = (char *)hash, .address = "10.9.9.10", .volumes = "v.qcow2,v-seed.iso"};
	assert_int_equal(state_warm_add(st, &m, &err), 0);
	assert_int_equal(state_warm_set(st, id, WARM_READY, NULL, "ssh-ed25519 AAAA", &err), 0);
}

/* up's claim: a matching node gets the member (once), another shape or image gets none. */
static void test_claim_for_node(void **ctx)
{
	struct state_fix *f = *ctx;
	struct bp_blueprint *bp = load(bp_recipe);
	struct sbx_err err = SBX_ERR_INIT;
	struct warm_shape s = {0};
	struct warm_member m = {0};
	parse_ok("recipe=debian-12,count=1", &s);
	add_ready(f->st, "sbx-pool.x.m1", s.key, "h1");
	assert_int_equal(warm_claim_for_node(f->st, bp, &bp->nodes[1], NULL, "e", "b-0", &m, &err), 0);
	assert_int_equal(warm_claim_for_node(f->st, bp, &bp->nodes[3], NULL, "e", "d-0", &m, &err), 0);
	assert_int_equal(warm_claim_for_node(f->st, bp, &bp->nodes[0], "h2", "e", "a-0", &m, &err), 0);
	assert_int_equal(warm_claim_for_node(f->st, bp, &bp->nodes[0], "h1", "e", "a-0", &m, &err), 1);
	assert_string_equal(m.id, "sbx-pool.x.m1");
	assert_string_equal(m.claimed_env, "e");
	assert_string_equal(m.claimed_node, "a-0");
	assert_string_equal(m.hostkey, "ssh-ed25519 AAAA");
	warm_member_clear(&m);
	assert_int_equal(warm_claim_for_node(f->st, bp, &bp->nodes[0], NULL, "e", "a-1", &m, &err), 0);
	char *net = warm_net_name(f->st), *key = warm_key_path(f->st);
	assert_true(strncmp(net, WARM_PREFIX, strlen(WARM_PREFIX)) == 0);
	assert_non_null(strstr(key, "/keys/"));
	free(net);
	free(key);
	warm_shape_clear(&s);
	bp_free(bp);
}

/* The integration test's claimer. */
static int claim_main(char **argv)
{
	struct sbx_err err = SBX_ERR_INIT;
	struct warm_shape s = {0};
	struct warm_member m = {0};
	struct state *st = NULL;
	if (warm_shape_parse(argv[1], &s, &err) < 0 || state_open(argv[0], &st, &err) < 0) {
		fprintf(stderr, "%s\n", sbx_err_first(&err));
		return 2;
	}
	int rc = state_warm_claim(st, s.key, NULL, argv[2], argv[3], &m, &err);
	if (rc < 0)
		fprintf(stderr, "%s\n", sbx_err_first(&err));
	else if (rc == 0)
		printf("none\n");
	else
		printf("claimed %s %s\n", m.id, m.address ? m.address : "-");
	warm_member_clear(&m);
	warm_shape_clear(&s);
	state_close(st);
	return rc < 0 ? 2 : rc == 1 ? 0 : 1;
}

/* The integration test's claimer giving a member up. */
static int destroy_main(char **argv)
{
	struct sbx_err err = SBX_ERR_INIT;
	struct warm_member *v = NULL;
	struct state *st = NULL;
	size_t n = 0;
	int rc = state_open(argv[0], &st, &err) < 0 || state_warm_list(st, NULL, &v, &n, &err) < 0 ? -1 : 1;
	for (size_t i = 0; rc == 1 && i < n; i++)
		if (strcmp(v[i].id, argv[1]) == 0)
			rc = warm_member_destroy(st, BP_DEFAULT_URI, BP_DEFAULT_POOL, &v[i], &err);
	if (rc < 0)
		fprintf(stderr, "%s\n", sbx_err_first(&err));
	else if (rc == 1)
		fprintf(stderr, "%s: no such member\n", argv[1]);
	state_warm_list_free(v, n);
	state_close(st);
	return rc == 0 ? 0 : 2;
}

int main(int argc, char **argv)
{
	if (argc == 6 && strcmp(argv[1], "claim") == 0)
		return claim_main(argv + 2);
	if (argc == 4 && strcmp(argv[1], "destroy") == 0)
		return destroy_main(argv + 2);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_node_shape),
		cmocka_unit_test_setup_teardown(test_claim_for_node, state_fix_setup, state_fix_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
