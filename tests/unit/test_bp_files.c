/* Unit tests of the blueprint module over files: extends chains and merging, the shipped
 * blueprints, the canonical JSON (golden file) and its hash, and loading speed. */
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

#define D "tests/unit/data/bp/"
#define MIB (UINT64_C(1) << 20)
#define GIB (UINT64_C(1) << 30)

/* Run from the repository root. */
static int setup_top(void **state)
{
	(void)state;
	const char *top = getenv("SBX_TOP");
	if (top && *top && chdir(top) != 0)
		return -1;
	return 0;
}

/* Load a file that must be valid. */
static struct bp_blueprint *load_ok(const char *path, const struct bp_load_opts *o)
{
	struct sbx_err err = SBX_ERR_INIT;
	struct bp_blueprint *bp = NULL;
	if (bp_load(path, o, &bp, &err) != 0) {
		sbx_err_print(&err, stderr);
		fail_msg("expected %s to be valid", path);
	}
	sbx_err_clear(&err);
	return bp;
}

/* Load a file that must fail; returns the errors (caller clears). */
static struct sbx_err load_bad(const char *path)
{
	struct sbx_err err = SBX_ERR_INIT;
	struct bp_blueprint *bp = NULL;
	assert_int_equal(bp_load(path, NULL, &bp, &err), -1);
	assert_null(bp);
	return err;
}

/* Whether some message sits at file:line:col and contains phrase. */
static bool has_error(const struct sbx_err *err, const char *file, int line, int col, const char *phrase)
{
	for (size_t i = 0; i < err->n; i++) {
		const struct sbx_err_msg *m = &err->msgs[i];
		if (m->file && strcmp(m->file, file) == 0 && m->line == line && m->col == col &&
			strstr(m->text, phrase))
			return true;
	}
	sbx_err_print(err, stderr);
	return false;
}

/* A path must be absolute: the current directory joined with rel. */
static void assert_abs_path(const char *path, const char *rel)
{
	char *cwd = getcwd(NULL, 0);
	char *want = xasprintf("%s/%s", cwd, rel);
	assert_string_equal(path, want);
	free(want);
	free(cwd);
}

static void test_extends_merge(void **state)
{
	(void)state;
	struct bp_blueprint *bp = load_ok(D "child.yaml", NULL);
	assert_string_equal(bp->name, "child");
	assert_int_equal(bp->nfiles, 2);
	assert_string_equal(bp->files[0], D "child.yaml");
	assert_string_equal(bp->files[1], D "base.yaml");
	/* nested map merge: the child's image adds path, keeps the parent's recipe and cmdline */
	assert_abs_path(bp->site.image.path, D "images/base.qcow2");
	assert_string_equal(bp->site.image.recipe, "debian-12");
	assert_string_equal(bp->site.image.cmdline, "console=ttyS0");
	/* merge by name: web keeps cpus and networks, takes count; roles (scalars) are replaced */
	assert_int_equal(bp->nnodes, 3);
	assert_string_equal(bp->nodes[0].name, "lb");
	assert_string_equal(bp->nodes[1].name, "web");
	assert_string_equal(bp->nodes[2].name, "db");
	const struct bp_node *web = bp_node_find(bp, "web");
	assert_int_equal(web->count, 1);
	assert_int_equal(web->cpus, 2);
	assert_int_equal(web->nroles, 1);
	assert_string_equal(web->roles[0], "k3s-server");
	assert_int_equal(web->nnetworks, 1);
	assert_string_equal(web->networks[0], "back");
	/* positions: where the value was last set */
	assert_string_equal(web->pos.file, D "child.yaml");
	assert_int_equal(web->pos.line, 7);
	assert_int_equal(web->pos.col, 5);
	assert_string_equal(bp->nodes[0].pos.file, D "base.yaml");
	assert_int_equal(bp->nodes[0].pos.line, 11);
	assert_string_equal(bp->networks[0].pos.file, D "base.yaml");
	assert_true(bp->database.present);
	assert_int_equal(bp->nvips, 1);
	bp_free(bp);
}

static void test_extends_chain(void **state)
{
	(void)state;
	struct bp_blueprint *bp = load_ok(D "grandchild.yaml", NULL);
	assert_int_equal(bp->nfiles, 3);
	assert_string_equal(bp->files[2], D "base.yaml");
	assert_int_equal(bp->lifetime.ttl, 2 * 3600);
	assert_int_equal(bp->lifetime.max_ttl, 72 * 3600);
	const struct bp_node *lb = bp_node_find(bp, "lb");
	assert_int_equal(lb->count, 1);
	assert_true(lb->memory == 512 * MIB);
	const struct bp_node *web = bp_node_find(bp, "web");
	assert_int_equal(web->count, 1);
	assert_true(web->memory == 2 * GIB);
	assert_int_equal(web->cpus, 2);
	/* networks merge by name: front's cidr overridden, back kept */
	assert_int_equal(bp->nnetworks, 2);
	assert_string_equal(bp->networks[0].cidr, "auto");
	assert_string_equal(bp->networks[0].pos.file, D "grandchild.yaml");
	assert_int_equal(bp->networks[1].mode, BP_NET_ISOLATED);
	bp_free(bp);

	/* a parent in another directory: relative to the extending file */
	bp = load_ok(D "sub/nested.yaml", NULL);
	assert_int_equal(bp->nfiles, 3);
	assert_string_equal(bp->files[1], D "sub/../child.yaml");
	assert_abs_path(bp->site.image.kernel, D "sub/vmlinuz");
	assert_abs_path(bp->site.image.path, D "images/base.qcow2");
	bp_free(bp);
}

static void test_extends_errors(void **state)
{
	(void)state;
	struct sbx_err err = load_bad(D "cycle-a.yaml");
	assert_true(has_error(&err, D "cycle-b.yaml", 3, 10,
		"extends: cycle: " D "cycle-a.yaml -> " D "cycle-b.yaml -> " D "cycle-a.yaml"));
	sbx_err_clear(&err);

	err = load_bad(D "self.yaml");
	assert_true(has_error(&err, D "self.yaml", 3, 10, "extends: cycle: " D "self.yaml -> " D "./self.yaml"));
	sbx_err_clear(&err);

	err = load_bad(D "missing-parent.yaml");
	assert_true(has_error(&err, D "missing-parent.yaml", 3, 10,
		"extends: cannot read \"" D "no-such-parent.yaml\": No such file or directory"));
	sbx_err_clear(&err);

	/* errors in both files of a chain, each at its own file's position */
	err = load_bad(D "bad-child.yaml");
	assert_true(has_error(&err, D "bad-parent.yaml", 5, 13, "memory: expected a size like 512Mi or 2Gi"));
	assert_true(has_error(&err, D "bad-child.yaml", 7, 24, "cpus: expected an integer"));
	assert_int_equal(err.n, 2);
	sbx_err_clear(&err);

	/* the value last set wins: a child fixing the parent's bad value is valid */
	struct bp_blueprint *bp = load_ok(D "fix-child.yaml", NULL);
	assert_true(bp->nodes[0].memory == GIB);
	assert_string_equal(bp->nodes[0].pos.file, D "fix-child.yaml");
	bp_free(bp);
}

static void test_merge_rules(void **state)
{
	(void)state;
	struct sbx_err err = SBX_ERR_INIT;
	struct bp_blueprint *bp = NULL;
	/* an empty list replaces (clears), a list of scalars replaces, a kind change replaces */
	const char *y = "apiVersion: sandbox/v1\nextends: base.yaml\nname: m\nvips: []\n"
		"nodes: [ { name: lb, networks: [back], roles: [] } ]\nsite: { image: { recipe: debian-13 } }\n";
	assert_int_equal(bp_load_string(D "inline.yaml", y, strlen(y), NULL, &bp, &err), 0);
	assert_int_equal(bp->nvips, 0);
	const struct bp_node *lb = bp_node_find(bp, "lb");
	assert_int_equal(lb->nnetworks, 1);
	assert_string_equal(lb->networks[0], "back");
	assert_int_equal(lb->nroles, 0);
	assert_int_equal(lb->count, 2);
	assert_string_equal(bp->site.image.recipe, "debian-13");
	assert_int_equal(bp->nfiles, 2);
	assert_string_equal(bp->files[1], D "base.yaml");
	bp_free(bp);
	sbx_err_clear(&err);

	/* a list of unnamed items replaces the parent's */
	y = "apiVersion: sandbox/v1\nextends: base.yaml\nname: m\nnetworks: [ { cidr: auto } ]\n";
	assert_int_equal(bp_load_string(D "inline.yaml", y, strlen(y), NULL, &bp, &err), -1);
	assert_true(has_error(&err, D "inline.yaml", 4, 13, "missing required key \"name\" in network"));
	sbx_err_clear(&err);
}

static void test_shipped_blueprints(void **state)
{
	(void)state;
	struct bp_blueprint *prod = load_ok("blueprints/production.yaml", NULL);
	assert_true(prod->lifetime.permanent);
	assert_true(prod->lifetime.protect);
	assert_int_equal(prod->lifetime.ttl, 0);
	assert_true(bp_node_find(prod, "db") != NULL);
	assert_true(prod->database.present && prod->mocks.present);

	struct bp_load_opts o = {.env_name = "demo"};
	struct bp_blueprint *sb = load_ok("blueprints/sandbox.yaml", &o);
	assert_false(sb->lifetime.permanent);
	assert_false(sb->lifetime.protect);
	assert_int_equal(sb->lifetime.ttl, 8 * 3600);
	assert_int_equal(sb->lifetime.max_ttl, 72 * 3600);
	assert_int_equal(sb->nnodes, prod->nnodes);
	assert_true(bp_node_find(sb, "router")->memory < bp_node_find(prod, "router")->memory);
	assert_true(bp_node_find(sb, "db")->memory < bp_node_find(prod, "db")->memory);
	assert_string_equal(sb->mocks.sms_callback_url, "http://www.demo.sandbox.test/hooks/sms");
	assert_string_not_equal(sb->hash, prod->hash);

	struct bp_var v = {"branch", "feature-x"};
	struct bp_load_opts ov = {.vars = &v, .nvars = 1, .env_name = "ci-feature-x"};
	struct bp_blueprint *ci = load_ok("blueprints/ci-branch.yaml", &ov);
	assert_string_equal(ci->name, "ci-feature-x");
	assert_int_equal(ci->nfiles, 3);
	assert_int_equal(ci->lifetime.ttl, 4 * 3600);
	assert_int_equal(ci->lifetime.max_ttl, 24 * 3600);
	assert_int_equal(bp_node_find(ci, "lb")->count, 1);
	assert_true(bp_node_find(ci, "lb")->memory == bp_node_find(sb, "lb")->memory);
	bp_free(ci);
	ci = load_ok("blueprints/ci-branch.yaml", NULL); /* branch defaults to main */
	assert_string_equal(ci->name, "ci-main");
	bp_free(ci);
	bp_free(sb);
	bp_free(prod);
}

/* Read a whole file or fail. */
static char *slurp(const char *path)
{
	char *data = NULL;
	struct sbx_err err = SBX_ERR_INIT;
	if (sbx_read_file(path, &data, NULL, &err) != 0)
		fail_msg("cannot read %s: %s", path, sbx_err_first(&err));
	return data;
}

static void test_json_golden(void **state)
{
	(void)state;
	struct bp_var v = {"path", "p"};
	struct bp_load_opts o = {.vars = &v, .nvars = 1, .env_name = "demo"};
	struct bp_blueprint *bp = load_ok(D "full.yaml", &o);
	char *json = bp_to_json(bp);
	char *want = slurp(D "full.json");
	size_t n = strlen(want);
	while (n > 0 && want[n - 1] == '\n')
		want[--n] = '\0';
	if (getenv("SBX_UPDATE_GOLDEN")) {
		FILE *f = fopen(D "full.json", "w");
		fprintf(f, "%s\n", json);
		fclose(f);
	}
	assert_string_equal(json, want);
	char hash[65];
	sbx_sha256_hex(json, strlen(json), hash);
	assert_string_equal(bp->hash, hash);
	free(json);
	free(want);
	bp_free(bp);
}

static void test_hash_stability(void **state)
{
	(void)state;
	struct bp_load_opts o = {.env_name = "demo"};
	struct bp_blueprint *a = load_ok(D "child.yaml", &o);
	struct bp_blueprint *b = load_ok(D "child.yaml", &o);
	char *ja = bp_to_json(a), *jb = bp_to_json(b);
	assert_string_equal(ja, jb);
	assert_string_equal(a->hash, b->hash);
	free(ja);
	free(jb);
	bp_free(b);

	/* one changed value changes the hash; reordering keys does not */
	const char *y1 = "apiVersion: sandbox/v1\nextends: child.yaml\nname: child\nnodes: [ { name: db, cpus: 2 } ]\n";
	const char *y2 = "name: child\napiVersion: sandbox/v1\nextends: child.yaml\n";
	struct sbx_err err = SBX_ERR_INIT;
	assert_int_equal(bp_load_string(D "x.yaml", y1, strlen(y1), &o, &b, &err), 0);
	assert_string_not_equal(a->hash, b->hash);
	bp_free(b);
	assert_int_equal(bp_load_string(D "x.yaml", y2, strlen(y2), &o, &b, &err), 0);
	assert_string_equal(a->hash, b->hash);
	bp_free(b);
	bp_free(a);
	sbx_err_clear(&err);
}

/* A blueprint with n nodes. */
static char *big_blueprint(size_t n)
{
	struct sbx_buf b = {0};
	sbx_buf_puts(&b, "apiVersion: sandbox/v1\nname: big\nsite: { image: { recipe: debian-12 } }\n"
		"networks:\n  - { name: front }\n  - { name: back, mode: isolated }\nnodes:\n"
		"  - { name: lb, count: 2, roles: [lb], networks: [front, back] }\n");
	for (size_t i = 0; i < n - 1; i++)
		sbx_buf_printf(&b, "  - name: node-%zu\n    cpus: 2\n    memory: 2Gi\n    disk: 10Gi\n"
			"    roles: [k3s-agent]\n    networks: [back, front]\n", i);
	sbx_buf_puts(&b, "vips:\n  - { name: www, port: 443, backend: { nodes: node-7, port: 30443 } }\n");
	return sbx_buf_steal(&b);
}

/* A 500-node blueprint loads (its speed is measured by tests/bench/plan500.sh, not asserted). */
static void test_load_500_nodes(void **state)
{
	(void)state;
	char *y = big_blueprint(500);
	struct bp_blueprint *bp = NULL;
	struct sbx_err err = SBX_ERR_INIT;
	assert_int_equal(bp_load_string("big.yaml", y, strlen(y), NULL, &bp, &err), 0);
	assert_int_equal(bp->nnodes, 500);
	assert_string_equal(bp->nodes[499].name, "node-498");
	bp_free(bp);
	free(y);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_extends_merge),
		cmocka_unit_test(test_extends_chain),
		cmocka_unit_test(test_extends_errors),
		cmocka_unit_test(test_merge_rules),
		cmocka_unit_test(test_shipped_blueprints),
		cmocka_unit_test(test_json_golden),
		cmocka_unit_test(test_hash_stability),
		cmocka_unit_test(test_load_500_nodes),
	};
	return cmocka_run_group_tests(tests, setup_top, NULL);
}
