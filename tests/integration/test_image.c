/*
 * image_resolve: a local path (sha256 good and bad), a url served by an HTTP server inside this
 * test on 127.0.0.1:<ephemeral> (cached by sha256, a bad sha256 leaves nothing in the cache), an
 * unreachable url falling back to a recipe, recipe caching, a failing recipe leaving no half
 * image, and two concurrent builds of one recipe running it once. Everything lives in a temp
 * dir (the image_dirs passed to image_resolve point into it).
 */
#include <dirent.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "http_fix.h"
#include "image.h"

static char top[] = "/tmp/sbx-test-image.XXXXXX";
static char *cache, *recipes, *counter, *payload_path, payload_sha[65];
static struct image_dirs dirs;
static unsigned char payload[70000];
static struct http_fix *srv;
static int srv_port;

/* --- fixtures ----------------------------------------------------------------------------- */

/* Write a recipe script into the recipes dir. */
static void write_recipe(const char *name, const char *body)
{
	struct sbx_err err = SBX_ERR_INIT;
	char *path = xasprintf("%s/%s.sh", recipes, name);
	assert_int_equal(sbx_write_file(path, body, strlen(body), 0755, &err), 0);
	free(path);
}

/* A recipe that counts its runs in $SBX_TEST_COUNTER and writes a raw disk + manifest. */
static const char good_recipe[] =
	"#!/bin/sh\nset -eu\nout=$1\necho run >>\"$SBX_TEST_COUNTER\"\n"
	"sleep 0.3\nprintf 'tiny disk' >\"$out/disk.raw\"\nprintf 'k' >\"$out/vmlinuz\"\n"
	"printf 'disk=disk.raw\\nformat=raw\\nkernel=vmlinuz\\ncmdline=root=/dev/vda quiet\\n' >\"$out/manifest\"\n";

/* Temp dirs, env, payload, server. */
static int setup(void **state)
{
	struct sbx_err err = SBX_ERR_INIT;
	(void)state;
	assert_non_null(mkdtemp(top));
	cache = xasprintf("%s/cache", top);
	recipes = xasprintf("%s/recipes", top);
	counter = xasprintf("%s/count", top);
	payload_path = xasprintf("%s/local.img", top);
	assert_int_equal(sbx_mkdir_p(recipes, 0755, &err), 0);
	dirs = (struct image_dirs){cache, recipes};
	setenv("SBX_TEST_COUNTER", counter, 1);
	sbx_random(payload, sizeof payload);
	memcpy(payload, "QFI\xfb", 4);
	sbx_sha256_hex(payload, sizeof payload, payload_sha);
	assert_int_equal(sbx_write_file(payload_path, payload, sizeof payload, 0644, &err), 0);
	srv = http_fix_start();
	http_fix_route(srv, "/image", payload, sizeof payload);
	srv_port = http_fix_port(srv);
	return 0;
}

/* Stop the server, remove the temp dir. */
static int teardown(void **state)
{
	(void)state;
	http_fix_stop(srv);
	sbx_rm_rf(top);
	free(cache);
	free(recipes);
	free(counter);
	free(payload_path);
	return 0;
}

/* Lines in the counter file (recipe runs so far). */
static int runs(void)
{
	char *data = NULL;
	size_t len = 0;
	int n = 0;
	struct sbx_err err = SBX_ERR_INIT;
	if (sbx_read_file(counter, &data, &len, &err) < 0) {
		sbx_err_clear(&err);
		return 0;
	}
	for (size_t i = 0; i < len; i++)
		n += data[i] == '\n';
	free(data);
	return n;
}

/* Names in dir that do not end in ".lock" (and are not "." / ".."). */
static int entries_besides_locks(const char *dir)
{
	DIR *d = opendir(dir);
	int n = 0;
	struct dirent *e;
	while (d && (e = readdir(d)) != NULL) {
		size_t l = strlen(e->d_name);
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") && (l < 5 || strcmp(e->d_name + l - 5, ".lock")))
			n++;
	}
	if (d)
		closedir(d);
	return n;
}

/* --- tests -------------------------------------------------------------------------------- */

/* A local path: good sha256 accepted (relative to the blueprint dir), bad one rejected. */
static void test_path(void **state)
{
	(void)state;
	struct image_files f = {0};
	struct sbx_err err = SBX_ERR_INIT;
	struct bp_image img = {.path = "local.img", .sha256 = payload_sha, .kernel = "k", .cmdline = "console=ttyS0"};
	if (image_resolve(&img, top, &dirs, NULL, NULL, &f, &err) < 0)
		fail_msg("%s", sbx_err_first(&err));
	assert_string_equal(f.disk, payload_path);
	assert_string_equal(f.format, "qcow2");
	assert_string_equal(f.sha256, payload_sha);
	char *k = xasprintf("%s/k", top);
	assert_string_equal(f.kernel, k);
	assert_string_equal(f.cmdline, "console=ttyS0");
	free(k);
	image_files_clear(&f);

	img.sha256 = "0000000000000000000000000000000000000000000000000000000000000000";
	assert_int_equal(image_resolve(&img, top, &dirs, NULL, NULL, &f, &err), -1);
	assert_non_null(strstr(sbx_err_first(&err), "sha256 mismatch"));
	assert_null(f.disk);
	sbx_err_clear(&err);
	img.path = "missing.img";
	img.sha256 = NULL;
	assert_int_equal(image_resolve(&img, top, &dirs, NULL, NULL, &f, &err), -1);
	sbx_err_clear(&err);
}

struct prog {
	uint64_t last, total;
	int calls;
};

/* Record download progress. */
static void on_progress(void *ctx, const char *what, uint64_t done, uint64_t total)
{
	struct prog *p = ctx;
	(void)what;
	p->last = done;
	p->total = total;
	p->calls++;
}

/* A url: downloaded once, verified, cached by sha256; a second resolve does not download. */
static void test_url_cached(void **state)
{
	(void)state;
	struct image_files f = {0};
	struct sbx_err err = SBX_ERR_INIT;
	struct prog p = {0};
	char *url = xasprintf("http://127.0.0.1:%d/image", srv_port);
	struct bp_image img = {.url = url, .sha256 = payload_sha};
	int hits0 = http_fix_hits(srv);
	if (image_resolve(&img, top, &dirs, on_progress, &p, &f, &err) < 0)
		fail_msg("%s", sbx_err_first(&err));
	char *want = xasprintf("%s/url/%s", cache, payload_sha);
	assert_string_equal(f.disk, want);
	assert_string_equal(f.format, "qcow2");
	assert_int_equal(http_fix_hits(srv), hits0 + 1);
	assert_true(p.calls > 0);
	assert_int_equal(p.last, sizeof payload);
	char got[65];
	assert_int_equal(sbx_sha256_file(f.disk, got, &err), 0);
	assert_string_equal(got, payload_sha);
	image_files_clear(&f);
	assert_int_equal(image_resolve(&img, top, &dirs, NULL, NULL, &f, &err), 0);
	assert_int_equal(http_fix_hits(srv), hits0 + 1);
	image_files_clear(&f);
	free(want);
	free(url);
}

/* A url whose content does not match the sha256 is rejected and leaves nothing in the cache. */
static void test_url_bad_sha(void **state)
{
	(void)state;
	struct image_files f = {0};
	struct sbx_err err = SBX_ERR_INIT;
	char *url = xasprintf("http://127.0.0.1:%d/image", srv_port), *dir = xasprintf("%s/url", cache);
	struct bp_image img = {.url = url, .sha256 = "1111111111111111111111111111111111111111111111111111111111111111",
		.recipe = "tiny"}; /* not a fetch failure: no fallback either */
	int before = entries_besides_locks(dir);
	assert_int_equal(image_resolve(&img, top, &dirs, NULL, NULL, &f, &err), -1);
	assert_non_null(strstr(sbx_err_first(&err), "sha256 mismatch"));
	assert_int_equal(entries_besides_locks(dir), before);
	sbx_err_clear(&err);
	img.sha256 = NULL;
	assert_int_equal(image_resolve(&img, top, &dirs, NULL, NULL, &f, &err), -1);
	assert_int_equal(err.code, SBX_EXIT_USAGE);
	sbx_err_clear(&err);
	free(url);
	free(dir);
}

/* An unreachable url falls back to the recipe; the recipe is built once and then reused. */
static void test_url_fallback_recipe(void **state)
{
	(void)state;
	struct image_files f = {0};
	struct sbx_err err = SBX_ERR_INIT;
	int closed_fd, closed_port = http_fix_listen(&closed_fd);
	close(closed_fd); /* nothing listens there any more */
	char *url = xasprintf("http://127.0.0.1:%d/image", closed_port);
	write_recipe("tiny", good_recipe);
	/* a sha256 not in the cache yet (payload_sha is, from test_url_cached) */
	struct bp_image img = {.url = url, .sha256 = "2222222222222222222222222222222222222222222222222222222222222222",
		.recipe = "tiny"};
	int r0 = runs();
	if (image_resolve(&img, top, &dirs, NULL, NULL, &f, &err) < 0)
		fail_msg("%s", sbx_err_first(&err));
	assert_int_equal(runs(), r0 + 1);
	assert_non_null(strstr(f.disk, "/recipe/tiny-"));
	assert_string_equal(f.format, "raw");
	assert_non_null(f.kernel);
	assert_string_equal(f.cmdline, "root=/dev/vda quiet");
	assert_non_null(f.sha256);
	image_files_clear(&f);
	struct bp_image only = {.recipe = "tiny"};
	assert_int_equal(image_resolve(&only, top, &dirs, NULL, NULL, &f, &err), 0);
	assert_int_equal(runs(), r0 + 1);
	image_files_clear(&f);
	free(url);
}

/* A failing recipe leaves no image dir and no temp dir behind; unknown names are refused. */
static void test_recipe_failure(void **state)
{
	(void)state;
	struct image_files f = {0};
	struct sbx_err err = SBX_ERR_INIT;
	char *dir = xasprintf("%s/recipe", cache);
	write_recipe("broken", "#!/bin/sh\nprintf 'disk=x\\n' >\"$1/manifest\"\necho 'debootstrap exploded' >&2\nexit 3\n");
	struct bp_image img = {.recipe = "broken"};
	int before = entries_besides_locks(dir);
	assert_int_equal(image_resolve(&img, top, &dirs, NULL, NULL, &f, &err), -1);
	assert_non_null(strstr(sbx_err_first(&err), "debootstrap exploded"));
	assert_int_equal(entries_besides_locks(dir), before);
	sbx_err_clear(&err);
	img.recipe = "no-such-recipe";
	assert_int_equal(image_resolve(&img, top, &dirs, NULL, NULL, &f, &err), -1);
	assert_int_equal(err.code, SBX_EXIT_USAGE);
	sbx_err_clear(&err);
	img.recipe = "../etc/passwd";
	assert_int_equal(image_resolve(&img, top, &dirs, NULL, NULL, &f, &err), -1);
	sbx_err_clear(&err);
	free(dir);
}

/* Resolve recipe "twin" (for threads). */
static void *resolve_twin(void *arg)
{
	struct image_files f = {0};
	struct sbx_err err = SBX_ERR_INIT;
	struct bp_image img = {.recipe = "twin"};
	*(int *)arg = image_resolve(&img, top, &dirs, NULL, NULL, &f, &err);
	image_files_clear(&f);
	sbx_err_clear(&err);
	return NULL;
}

/* Two concurrent resolves of a new recipe build it once (flock). */
static void test_recipe_concurrent(void **state)
{
	(void)state;
	pthread_t t[2];
	int rc[2] = {-1, -1}, r0 = runs();
	write_recipe("twin", good_recipe);
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&t[i], NULL, resolve_twin, &rc[i]), 0);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	assert_int_equal(rc[0], 0);
	assert_int_equal(rc[1], 0);
	assert_int_equal(runs(), r0 + 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_path),
		cmocka_unit_test(test_url_cached),
		cmocka_unit_test(test_url_bad_sha),
		cmocka_unit_test(test_url_fallback_recipe),
		cmocka_unit_test(test_recipe_failure),
		cmocka_unit_test(test_recipe_concurrent),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
