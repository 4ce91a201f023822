/* Unit tests of the blueprint module over files: extends chains and merging, the shipped
 * blueprints, the canonical JSON (golden file) and its hash, and loading speed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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
	assert_int_equal(bp->nnodes, 4);
	assert_string_equal(bp->nodes[0].name, "lb");
	assert_string_equal(bp->nodes[1].name, "web");
	assert_string_equal(bp->nodes[2].name, "router");
	assert_string_equal(bp->nodes[3].name, "db");
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

	/* a parent in another directory: relative to the extending file; outside the extending file's
	 * tree it must be in an image directory */
	struct sbx_err err = load_bad(D "sub/nested.yaml");
	assert_true(has_error(&err, D "sub/nested.yaml", 2, 10, "extends: \"../child.yaml\" (resolves to "));
	assert_int_equal(err.n, 1);
	sbx_err_clear(&err);
	static const char *const dirs[] = {D};
	struct bp_load_opts o = {.image_dirs = dirs, .nimage_dirs = 1};
	bp = load_ok(D "sub/nested.yaml", &o);
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

/* ---- the files a blueprint may read ------------------------------------------------------- */

/* A scratch tree: TOP/bp holds the blueprints, TOP/outside is another directory, TOP/bp/link.qcow2
 * and TOP/outlink are symlinks to it. */
struct tree {
	char top[64];
	char *real; /* realpath(top) */
};

/* Write a file under the tree. */
static void put(const struct tree *t, const char *rel, const char *text)
{
	char *path = xasprintf("%s/%s", t->top, rel);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	free(path);
}

/* Make the scratch tree. */
static void tree_make(struct tree *t)
{
	snprintf(t->top, sizeof(t->top), "/tmp/sbx-bpfiles-XXXXXX");
	assert_non_null(mkdtemp(t->top));
	t->real = realpath(t->top, NULL);
	char *a = xasprintf("%s/bp", t->top), *b = xasprintf("%s/outside", t->top), *c = xasprintf("%s/bp/images", t->top);
	assert_int_equal(mkdir(a, 0755) | mkdir(b, 0755) | mkdir(c, 0755), 0);
	free(a);
	free(b);
	free(c);
	put(t, "bp/images/disk.qcow2", "QFI\xfb");
	put(t, "outside/disk.qcow2", "QFI\xfb");
	put(t, "outside/parent.yaml", "apiVersion: sandbox/v1\nname: parent\nsite: { image: { path: disk.qcow2 } }\n"
		"networks: [ { name: f } ]\nnodes: [ { name: w, networks: [f] } ]\n");
	put(t, "bp/secret.env", "DB_PASSWORD=hunter2-very-long-secret-value-0123456789abcdef\nTOKEN=second-line-secret\n");
	put(t, "bp/other.yml", "password_for_production_database_cluster_primary: s3cr3t-value\nnodes: nope\n");
	put(t, "bp/broken.yml", "token: \"unterminated s3cr3t-value\n");
	char *link = xasprintf("%s/bp/link.qcow2", t->top), *outlink = xasprintf("%s/outlink", t->top);
	assert_int_equal(symlink("../outside/disk.qcow2", link), 0);
	assert_int_equal(symlink("outside", outlink), 0);
	free(link);
	free(outlink);
}

/* Remove the scratch tree. */
static void tree_free(struct tree *t)
{
	sbx_rm_rf(t->top);
	free(t->real);
}

/* Load TOP/bp/x.yaml made of `body` after a header line; 0 or -1 with the errors in *err. */
static int load_in(const struct tree *t, const char *body, const struct bp_load_opts *o,
	struct bp_blueprint **bp, struct sbx_err *err)
{
	char *y = xasprintf("apiVersion: sandbox/v1\nname: t\n%s", body);
	put(t, "bp/x.yaml", y);
	char *path = xasprintf("%s/bp/x.yaml", t->top);
	int rc = bp_load(path, o, bp, err);
	free(path);
	free(y);
	return rc;
}

#define NODES "networks: [ { name: f } ]\nnodes: [ { name: w, networks: [f] } ]\n"

/* One error at TOP/bp/x.yaml:line:col whose text is `want` with %s replaced by realpath(TOP). */
static void expect_one(const struct tree *t, const char *body, const struct bp_load_opts *o, int line, int col,
	const char *want)
{
	struct sbx_err err = SBX_ERR_INIT;
	struct bp_blueprint *bp = NULL;
	char *file = xasprintf("%s/bp/x.yaml", t->top), *text = xasprintf(want, t->real, t->real);
	assert_int_equal(load_in(t, body, o, &bp, &err), -1);
	if (err.n != 1 || strcmp(err.msgs[0].file, file) != 0 || err.msgs[0].line != line || err.msgs[0].col != col ||
		strcmp(err.msgs[0].text, text) != 0) {
		sbx_err_print(&err, stderr);
		fail_msg("wanted %s:%d:%d: %s", file, line, col, text);
	}
	sbx_err_clear(&err);
	free(file);
	free(text);
}

/* image.path, kernel, initrd and extends stay inside the blueprint's tree; symlinks and ".." are
 * resolved first; what is inside is kept resolved. */
static void test_files_confined(void **state)
{
	(void)state;
	struct tree t;
	tree_make(&t);
	struct sbx_err err = SBX_ERR_INIT;
	struct bp_blueprint *bp = NULL;
	assert_int_equal(load_in(&t, "site: { image: { path: ./images/../images/disk.qcow2, kernel: boot/vmlinuz } }\n"
		NODES, NULL, &bp, &err), 0);
	char *want = xasprintf("%s/bp/images/disk.qcow2", t.real), *k = xasprintf("%s/bp/boot/vmlinuz", t.real);
	assert_string_equal(bp->site.image.path, want);
	assert_string_equal(bp->site.image.kernel, k);
	free(want);
	free(k);
	bp_free(bp);
	expect_one(&t, "site: { image: { path: ../outside/disk.qcow2 } }\n" NODES, NULL, 3, 24,
		"path: \"../outside/disk.qcow2\" (resolves to %s/outside/disk.qcow2) is outside the blueprint's "
		"directory %s/bp: a blueprint reads files only from its own directory tree and the image "
		"directories (none configured; SANDBOX_IMAGE_DIRS adds some)");
	expect_one(&t, "site: { image: { path: link.qcow2 } }\n" NODES, NULL, 3, 24,
		"path: \"link.qcow2\" (resolves to %s/outside/disk.qcow2) is outside the blueprint's directory %s/bp: "
		"a blueprint reads files only from its own directory tree and the image directories (none "
		"configured; SANDBOX_IMAGE_DIRS adds some)");
	static const char *const dirs[] = {"/nonexistent-images", "/var/../etc"};
	struct bp_load_opts o = {.image_dirs = dirs, .nimage_dirs = 2};
	expect_one(&t, "site: { image: { recipe: r, kernel: /etc/../etc/passwd } }\n" NODES, NULL, 3, 37,
		"kernel: \"/etc/../etc/passwd\" (resolves to /etc/passwd) is outside the blueprint's directory %s/bp: "
		"a blueprint reads files only from its own directory tree and the image directories (none "
		"configured; SANDBOX_IMAGE_DIRS adds some)");
	assert_int_equal(load_in(&t, "site: { image: { recipe: r, kernel: /etc/passwd } }\n" NODES, &o, &bp, &err), 0);
	bp_free(bp);
	expect_one(&t, "site: { image: { recipe: r, initrd: nothere/../../outside/initrd } }\n" NODES, NULL, 3, 37,
		"initrd: \"nothere/../../outside/initrd\" cannot be resolved: \"..\" follows a directory that does "
		"not exist");
	o.nimage_dirs = 1;
	expect_one(&t, "extends: /etc/shadow\n" NODES, &o, 3, 10,
		"extends: \"/etc/shadow\" is outside the blueprint's directory %s/bp: a blueprint reads files only "
		"from its own directory tree and the image directories (/nonexistent-images)");
	tree_free(&t);
}

/* A configured image directory (named through a symlink, too) opens files and parents to a blueprint. */
static void test_files_image_dirs(void **state)
{
	(void)state;
	struct tree t;
	tree_make(&t);
	struct sbx_err err = SBX_ERR_INIT;
	struct bp_blueprint *bp = NULL;
	char *outlink = xasprintf("%s/outlink", t.top), *body = xasprintf("site: { image: { path: %s/disk.qcow2 } }\n"
		NODES, outlink);
	const char *dirs[] = {outlink};
	struct bp_load_opts o = {.image_dirs = dirs, .nimage_dirs = 1};
	assert_int_equal(load_in(&t, body, &o, &bp, &err), 0);
	char *want = xasprintf("%s/outside/disk.qcow2", t.real);
	assert_string_equal(bp->site.image.path, want);
	bp_free(bp);
	/* a parent there: its relative image path is inside its own directory */
	assert_int_equal(load_in(&t, "extends: ../outlink/parent.yaml\n", &o, &bp, &err), 0);
	assert_string_equal(bp->name, "t");
	assert_string_equal(bp->site.image.path, want);
	bp_free(bp);
	expect_one(&t, "extends: ../outside/parent.yaml\n", NULL, 3, 10,
		"extends: \"../outside/parent.yaml\" (resolves to %s/outside/parent.yaml) is outside the blueprint's "
		"directory %s/bp: a blueprint reads files only from its own directory tree and the image directories "
		"(none configured; SANDBOX_IMAGE_DIRS adds some)");
	free(want);
	free(body);
	free(outlink);
	tree_free(&t);
}

/* machines: FILE reads the capacity pool from an inventory inside the blueprint's own tree only (an
 * image directory does not open it); a file that is no inventory is named, never quoted; errors in
 * the inventory are reported at its own file:line:col. */
static void test_files_inventory(void **state)
{
	(void)state;
	struct tree t;
	tree_make(&t);
	struct sbx_err err = SBX_ERR_INIT;
	struct bp_blueprint *bp = NULL;
	static const char inv[] = "apiVersion: sandbox/v1\nmachines:\n"
		"  - { name: m1, bmc: { address: 10.0.0.1, password: \"${secret.bmc}\" }, tags: { size: large } }\n";
	put(&t, "bp/images/pool.yaml", inv);
	put(&t, "outside/pool.yaml", inv);
	put(&t, "bp/bad-pool.yaml", "apiVersion: sandbox/v1\nmachines:\n  - { name: m1, tags: { size: large } }\n");
#define POOL_NODES "site: { image: { recipe: r } }\nnodes: [ { name: m, provider: ipmi, match: { size: large } } ]\n"
	assert_int_equal(load_in(&t, "machines: images/pool.yaml\n" POOL_NODES, NULL, &bp, &err), 0);
	assert_int_equal(bp->nmachines, 1);
	assert_string_equal(bp->machines[0].name, "m1");
	assert_string_equal(bp->machines[0].bmc.password, "${secret.bmc}");
	assert_string_equal(bp->machines[0].tags[0], "size=large");
	assert_int_equal(bp->nsecret_names, 1);
	bp_free(bp);
	char *outside = xasprintf("%s/outside", t.top);
	const char *dirs[] = {outside};
	struct bp_load_opts o = {.image_dirs = dirs, .nimage_dirs = 1};
	expect_one(&t, "machines: ../outside/pool.yaml\n" POOL_NODES, &o, 3, 11,
		"machines: \"../outside/pool.yaml\" (resolves to %s/outside/pool.yaml) is outside the blueprint's "
		"directory %s/bp: a blueprint reads files only from its own directory tree and the image directories "
		"(none configured; SANDBOX_IMAGE_DIRS adds some)");
	expect_one(&t, "machines: secret.env\n" POOL_NODES, NULL, 3, 11,
		"machines: secret.env is not an inventory (apiVersion: sandbox/v1 and a machines: list at its top)");
	assert_int_equal(load_in(&t, "machines: bad-pool.yaml\n" POOL_NODES, NULL, &bp, &err), -1);
	char *file = xasprintf("%s/bp/bad-pool.yaml", t.top);
	assert_int_equal(err.n, 1);
	assert_string_equal(err.msgs[0].file, file);
	assert_int_equal(err.msgs[0].line, 3);
	assert_non_null(strstr(err.msgs[0].text, "missing required key \"bmc\" in machine"));
	sbx_err_clear(&err);
	free(file);
	free(outside);
	tree_free(&t);
}

/* A file reached through extends that does not declare itself a blueprint is never quoted beyond
 * the first 40 bytes of one line, cleaned for a terminal. */
static void test_files_foreign(void **state)
{
	(void)state;
	struct tree t;
	tree_make(&t);
	expect_one(&t, "extends: secret.env\n" NODES, NULL, 3, 10,
		"extends: %1$s/bp/secret.env is not a sandbox blueprint (no \"apiVersion: sandbox/v1\" at its top); "
		"its line 1 begins \"DB_PASSWORD=hunter2-very-long-secret-val\"");
	expect_one(&t, "extends: other.yml\n" NODES, NULL, 3, 10,
		"extends: %1$s/bp/other.yml is not a sandbox blueprint (no \"apiVersion: sandbox/v1\" at its top); "
		"its line 1 begins \"password_for_production_database_cluster\"");
	expect_one(&t, "extends: broken.yml\n" NODES, NULL, 3, 10,
		"extends: %1$s/bp/broken.yml is not a sandbox blueprint (no \"apiVersion: sandbox/v1\" at its top); "
		"its line 2 begins \"\"");
	put(&t, "bp/esc.yml", "key: value\n\x1b]0;title\x07\x1b[2Jsecret-after-the-escapes-that-is-long: x\n");
	expect_one(&t, "extends: esc.yml\n" NODES, NULL, 3, 10,
		"extends: %1$s/bp/esc.yml is not a sandbox blueprint (no \"apiVersion: sandbox/v1\" at its top); "
		"its line 2 begins \"??secret-after-the-escapes-t\"");
	tree_free(&t);
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
	static const char *const dirs[] = {"/sandbox-images"};
	struct bp_load_opts o = {.vars = &v, .nvars = 1, .env_name = "demo", .image_dirs = dirs, .nimage_dirs = 1};
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
		"  - { name: lb, count: 2, roles: [lb], networks: [front, back] }\n"
		"  - { name: router, roles: [router], networks: [front] }\n"
		"  - { name: control, roles: [k3s-server], networks: [back] }\n");
	for (size_t i = 0; i < n - 3; i++)
		sbx_buf_printf(&b, "  - name: node-%zu\n    cpus: 2\n    memory: 2Gi\n    disk: 10Gi\n"
			"    roles: [k3s-agent]\n    networks: [back, front]\n", i);
	sbx_buf_puts(&b, "vips:\n  - { name: www, port: 443, backend: { nodes: node-7, port: 30443 } }\n"
		"cluster: { bundle: k3s }\n");
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
	assert_string_equal(bp->nodes[499].name, "node-496");
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
		cmocka_unit_test(test_files_confined),
		cmocka_unit_test(test_files_image_dirs),
		cmocka_unit_test(test_files_foreign),
		cmocka_unit_test(test_files_inventory),
		cmocka_unit_test(test_shipped_blueprints),
		cmocka_unit_test(test_json_golden),
		cmocka_unit_test(test_hash_stability),
		cmocka_unit_test(test_load_500_nodes),
	};
	return cmocka_run_group_tests(tests, setup_top, NULL);
}
