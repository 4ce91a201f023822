/*
 * artifact_resolve: the k3s install's files from a release bundle directory (missing directory,
 * missing files, a digest the sums do not list, a bad checksum, a file leading out of the bundle,
 * a good bundle) and from explicit artifacts (a path with a good and a bad sha256, a url
 * downloaded once from an HTTP server inside this test, then reused from the cache without a
 * request, a url whose content does not match, a url that answers 404). Everything lives in a
 * temp dir; no root needed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "artifact.h"
#include "http_fix.h"

#define PUT "put the assets of one k3s release (https://github.com/k3s-io/k3s/releases) there: k3s, " \
	"k3s-airgap-images-amd64.tar.zst, sha256sum-amd64.txt"

static char top[] = "/tmp/sbx-test-artifact.XXXXXX";
static char *cache;
static struct http_fix *srv;
static unsigned char bin[50000], zst[90000], gz[3000];
static char bin_sha[65], zst_sha[65], gz_sha[65];

/* Write a file under top (mode 0644 or 0755); returns its path (caller frees). */
static char *put(const char *rel, const void *data, size_t len)
{
	struct sbx_err err = SBX_ERR_INIT;
	char *p = xasprintf("%s/%s", top, rel), *dir = sbx_dirname(p);
	assert_int_equal(sbx_mkdir_p(dir, 0755, &err), 0);
	assert_int_equal(sbx_write_file(p, data, len, 0755, &err), 0);
	free(dir);
	return p;
}

/* A bundle directory top/NAME with the files asked for and a sums file listing `sums`. */
static char *bundle(const char *name, bool k3s, const char *images_ext, const char *sums)
{
	char *dir = xasprintf("%s/%s", top, name), *p;
	struct sbx_err err = SBX_ERR_INIT;
	assert_int_equal(sbx_mkdir_p(dir, 0755, &err), 0);
	if (k3s)
		free(put(p = xasprintf("%s/k3s", name), bin, sizeof bin)), free(p);
	if (images_ext) {
		bool z = strcmp(images_ext, ".tar.zst") == 0;
		p = xasprintf("%s/k3s-airgap-images-amd64%s", name, images_ext);
		free(put(p, z ? zst : gz, z ? sizeof zst : sizeof gz));
		free(p);
	}
	if (sums)
		free(put(p = xasprintf("%s/sha256sum-amd64.txt", name), sums, strlen(sums))), free(p);
	return dir;
}

/* Payloads with the magic bytes of their kind; the server. */
static int setup(void **state)
{
	(void)state;
	assert_non_null(mkdtemp(top));
	cache = xasprintf("%s/cache", top);
	sbx_random(bin, sizeof bin);
	memcpy(bin, "\x7f" "ELF", 4);
	sbx_random(zst, sizeof zst);
	memcpy(zst, "\x28\xb5\x2f\xfd", 4);
	sbx_random(gz, sizeof gz);
	memcpy(gz, "\x1f\x8b", 2);
	sbx_sha256_hex(bin, sizeof bin, bin_sha);
	sbx_sha256_hex(zst, sizeof zst, zst_sha);
	sbx_sha256_hex(gz, sizeof gz, gz_sha);
	srv = http_fix_start();
	http_fix_route(srv, "/v1.30.4%2Bk3s1/k3s", bin, sizeof bin);
	http_fix_route(srv, "/dl/images", zst, sizeof zst);
	return 0;
}

/* Stop the server, remove the temp dir. */
static int teardown(void **state)
{
	(void)state;
	http_fix_stop(srv);
	sbx_rm_rf(top);
	free(cache);
	return 0;
}

/* Resolve; on success returns 0 and fills *out. */
static int resolve(const struct bp_cluster *cl, enum artifact_mode mode, struct artifact_set *out,
	struct sbx_err *err)
{
	return artifact_resolve(cl, cache, mode, NULL, NULL, out, err);
}

/* The error's messages, one per line; caller frees. */
static char *messages(const struct sbx_err *err)
{
	struct sbx_buf b = {0};
	for (size_t i = 0; i < err->n; i++)
		sbx_buf_printf(&b, "%s\n", err->msgs[i].text);
	return b.data ? sbx_buf_steal(&b) : xstrdup("");
}

/* Resolution fails with exactly these messages (one per line) and exit code. */
static void expect_fail(const struct bp_cluster *cl, enum artifact_mode mode, int code, const char *want)
{
	struct artifact_set a = {0};
	struct sbx_err err = SBX_ERR_INIT;
	assert_int_equal(resolve(cl, mode, &a, &err), -1);
	char *got = messages(&err);
	assert_string_equal(got, want);
	assert_int_equal(err.code, code);
	assert_null(a.k3s.path);
	free(got);
	sbx_err_clear(&err);
}

/* A bundle directory that does not exist, or is a file. */
static void test_bundle_missing(void **state)
{
	(void)state;
	char *dir = xasprintf("%s/nope", top), *want = xasprintf("cluster.bundle %s: no such directory: " PUT "\n", dir);
	struct bp_cluster cl = {.bundle = dir};
	expect_fail(&cl, ARTIFACT_VERIFY, SBX_EXIT_USAGE, want);
	expect_fail(&cl, ARTIFACT_LOOKUP, SBX_EXIT_USAGE, want);
	free(want);
	free(dir);
	cl.bundle = put("plainfile", "x", 1);
	want = xasprintf("cluster.bundle %s: not a directory: " PUT "\n", cl.bundle);
	expect_fail(&cl, ARTIFACT_VERIFY, SBX_EXIT_USAGE, want);
	free(want);
	free(cl.bundle);
}

/* Each missing file is named, with what to put there and where to get it. */
static void test_bundle_missing_files(void **state)
{
	(void)state;
	struct bp_cluster cl = {.bundle = bundle("empty", false, NULL, NULL)};
	char *want = xasprintf("cluster.bundle %s: no k3s: " PUT "\n"
		"cluster.bundle %s: no k3s-airgap-images-amd64.tar.zst (or .tar, .tar.gz): " PUT "\n"
		"cluster.bundle %s: no sha256sum-amd64.txt: " PUT "\n", cl.bundle, cl.bundle, cl.bundle);
	expect_fail(&cl, ARTIFACT_VERIFY, SBX_EXIT_USAGE, want);
	free(want);
	free(cl.bundle);
	char *sums = xasprintf("%s  k3s\n", bin_sha);
	cl.bundle = bundle("noimages", true, NULL, sums);
	want = xasprintf("cluster.bundle %s: no k3s-airgap-images-amd64.tar.zst (or .tar, .tar.gz): " PUT "\n",
		cl.bundle);
	expect_fail(&cl, ARTIFACT_VERIFY, SBX_EXIT_USAGE, want);
	expect_fail(&cl, ARTIFACT_LOOKUP, SBX_EXIT_USAGE, want);
	free(want);
	free(cl.bundle);
	free(sums);
}

/* A sums file that does not list a file of the bundle. */
static void test_bundle_sums_incomplete(void **state)
{
	(void)state;
	char *sums = xasprintf("%s  k3s\n%s  k3s-airgap-images-amd64.tar.gz\n", bin_sha, gz_sha);
	struct bp_cluster cl = {.bundle = bundle("partial", true, ".tar.zst", sums)};
	char *want = xasprintf("cluster.bundle %s: sha256sum-amd64.txt lists no sha256 for "
		"k3s-airgap-images-amd64.tar.zst: use the sha256sum-amd64.txt of the release the files come from "
		"(https://github.com/k3s-io/k3s/releases)\n", cl.bundle);
	expect_fail(&cl, ARTIFACT_VERIFY, SBX_EXIT_USAGE, want);
	free(want);
	free(cl.bundle);
	free(sums);
}

/* A file whose digest differs from the sums: named, with the expected and the actual digest; a
 * lookup (no hashing) does not notice. */
static void test_bundle_bad_checksum(void **state)
{
	(void)state;
	char *sums = xasprintf("%s  k3s\n%s  k3s-airgap-images-amd64.tar.zst\n", zst_sha, zst_sha);
	struct bp_cluster cl = {.bundle = bundle("bad", true, ".tar.zst", sums)};
	char *want = xasprintf("cluster.bundle %s: k3s: sha256 mismatch: expected %s, got %s\n", cl.bundle,
		zst_sha, bin_sha);
	expect_fail(&cl, ARTIFACT_VERIFY, SBX_EXIT_FAILED, want);
	struct artifact_set a = {0};
	struct sbx_err err = SBX_ERR_INIT;
	assert_int_equal(resolve(&cl, ARTIFACT_LOOKUP, &a, &err), 0);
	assert_string_equal(a.k3s.sha256, zst_sha);
	artifact_set_clear(&a);
	free(want);
	free(cl.bundle);
	free(sums);
}

/* A good bundle (uppercase digests, "*NAME" binary-mode lines, CRLF): paths, digests, names. */
static void test_bundle_good(void **state)
{
	(void)state;
	char up[65];
	snprintf(up, sizeof up, "%s", bin_sha);
	for (char *p = up; *p; p++)
		*p = (char)(*p >= 'a' && *p <= 'f' ? *p - 32 : *p);
	char *sums = xasprintf("%s  k3s-images.txt\r\n%s *k3s\r\n%s  k3s-airgap-images-amd64.tar.gz\r\n", gz_sha, up,
		gz_sha);
	struct bp_cluster cl = {.bundle = bundle("good", true, ".tar.gz", sums)};
	struct artifact_set a = {0};
	struct sbx_err err = SBX_ERR_INIT;
	if (resolve(&cl, ARTIFACT_VERIFY, &a, &err) < 0)
		fail_msg("%s", sbx_err_first(&err));
	char *k = xasprintf("%s/k3s", cl.bundle), *i = xasprintf("%s/k3s-airgap-images-amd64.tar.gz", cl.bundle);
	assert_string_equal(a.k3s.path, k);
	assert_string_equal(a.k3s.sha256, bin_sha);
	assert_string_equal(a.k3s.name, "k3s");
	assert_string_equal(a.images.path, i);
	assert_string_equal(a.images.sha256, gz_sha);
	assert_string_equal(a.images.name, "k3s-airgap-images-amd64.tar.gz");
	artifact_set_clear(&a);
	free(k), free(i), free(cl.bundle), free(sums);
}

/* A bundle file that leads out of the bundle (a symlink) is refused. */
static void test_bundle_confined(void **state)
{
	(void)state;
	char *sums = xasprintf("%s  k3s\n%s  k3s-airgap-images-amd64.tar.zst\n", bin_sha, zst_sha);
	struct bp_cluster cl = {.bundle = bundle("escape", false, ".tar.zst", sums)};
	char *outside = put("outside-k3s", bin, sizeof bin), *link = xasprintf("%s/k3s", cl.bundle);
	assert_int_equal(symlink(outside, link), 0);
	char *want = xasprintf("cluster.bundle %s: k3s resolves to %s, outside the bundle: copy the file into the "
		"bundle\n", cl.bundle, outside);
	expect_fail(&cl, ARTIFACT_VERIFY, SBX_EXIT_USAGE, want);
	free(want), free(link), free(outside), free(cl.bundle), free(sums);
}

/* Explicit paths: checked; a bad sha256 names the file, the expected and the actual digest. */
static void test_paths(void **state)
{
	(void)state;
	char *k = put("files/k3s-v1", bin, sizeof bin), *i = put("files/images.bin", zst, sizeof zst);
	struct bp_cluster cl = {.k3s = {.path = k, .sha256 = bin_sha, .present = true},
		.images = {.path = i, .sha256 = zst_sha, .present = true}};
	struct artifact_set a = {0};
	struct sbx_err err = SBX_ERR_INIT;
	assert_int_equal(resolve(&cl, ARTIFACT_VERIFY, &a, &err), 0);
	assert_string_equal(a.k3s.path, k);
	assert_string_equal(a.images.name, "k3s-airgap-images-amd64.tar.zst"); /* by its first bytes */
	artifact_set_clear(&a);
	cl.images.sha256 = gz_sha;
	char *want = xasprintf("cluster.images.path %s: sha256 mismatch: expected %s, got %s\n", i, gz_sha, zst_sha);
	expect_fail(&cl, ARTIFACT_VERIFY, SBX_EXIT_FAILED, want);
	free(want);
	cl.images.sha256 = zst_sha;
	cl.k3s.path = "/nonexistent/k3s";
	expect_fail(&cl, ARTIFACT_VERIFY, SBX_EXIT_USAGE, "cluster.k3s.path /nonexistent/k3s: No such file or "
		"directory: put the k3s binary of a k3s release (https://github.com/k3s-io/k3s/releases) there, or give "
		"its url\n");
	free(k), free(i);
}

struct prog {
	int calls;
	uint64_t last;
};

/* Record download progress. */
static void on_progress(void *ctx, const char *what, uint64_t done, uint64_t total)
{
	struct prog *p = ctx;
	(void)what;
	(void)total;
	p->calls++;
	p->last = done;
}

/* URLs: looked up before the download (not there: no path, the name from the URL), downloaded
 * once into CACHE/artifacts/<sha256> with progress, then reused without a request. */
static void test_url_once(void **state)
{
	(void)state;
	char *ku = xasprintf("http://127.0.0.1:%d/v1.30.4%%2Bk3s1/k3s", http_fix_port(srv)),
		*iu = xasprintf("http://127.0.0.1:%d/dl/images", http_fix_port(srv));
	struct bp_cluster cl = {.k3s = {.url = ku, .sha256 = bin_sha, .present = true},
		.images = {.url = iu, .sha256 = zst_sha, .present = true}};
	struct artifact_set a = {0};
	struct sbx_err err = SBX_ERR_INIT;
	struct prog p = {0};
	int hits = http_fix_hits(srv);
	assert_int_equal(resolve(&cl, ARTIFACT_LOOKUP, &a, &err), 0);
	assert_null(a.k3s.path);
	assert_string_equal(a.images.sha256, zst_sha);
	assert_string_equal(a.images.name, "k3s-airgap-images-amd64.tar.zst");
	artifact_set_clear(&a);
	assert_int_equal(http_fix_hits(srv), hits);
	if (artifact_resolve(&cl, cache, ARTIFACT_VERIFY, on_progress, &p, &a, &err) < 0)
		fail_msg("%s", sbx_err_first(&err));
	assert_int_equal(http_fix_hits(srv), hits + 2);
	assert_true(p.calls >= 2);
	char *kp = xasprintf("%s/artifacts/%s", cache, bin_sha);
	assert_string_equal(a.k3s.path, kp);
	assert_string_equal(a.images.name, "k3s-airgap-images-amd64.tar.zst");
	artifact_set_clear(&a);
	for (int mode = 0; mode < 2; mode++) {
		assert_int_equal(resolve(&cl, mode ? ARTIFACT_LOOKUP : ARTIFACT_VERIFY, &a, &err), 0);
		assert_string_equal(a.k3s.path, kp);
		artifact_set_clear(&a);
	}
	assert_int_equal(http_fix_hits(srv), hits + 2);
	free(kp), free(ku), free(iu);
}

/* A url whose content does not match its sha256 (nothing stays in the cache), one that answers
 * 404: each error names the artifact and the URL. */
static void test_url_bad(void **state)
{
	(void)state;
	char *iu = xasprintf("http://127.0.0.1:%d/dl/images", http_fix_port(srv)),
		*ku = xasprintf("http://127.0.0.1:%d/missing/k3s", http_fix_port(srv));
	struct bp_cluster cl = {.k3s = {.path = put("files/k3s-v2", bin, sizeof bin), .sha256 = bin_sha,
		.present = true}, .images = {.url = iu, .sha256 = gz_sha, .present = true}};
	char *want = xasprintf("cluster.images.url: %s: sha256 mismatch: expected %s, got %s\n", iu, gz_sha, zst_sha);
	expect_fail(&cl, ARTIFACT_VERIFY, SBX_EXIT_FAILED, want);
	char *cached = xasprintf("%s/artifacts/%s", cache, gz_sha);
	assert_int_not_equal(access(cached, F_OK), 0);
	free(want);
	free((char *)cl.k3s.path);
	cl.k3s = (struct bp_artifact){.url = ku, .sha256 = gz_sha, .present = true};
	cl.images.sha256 = zst_sha;
	struct artifact_set a = {0};
	struct sbx_err err = SBX_ERR_INIT;
	assert_int_equal(resolve(&cl, ARTIFACT_VERIFY, &a, &err), -1);
	assert_int_equal(err.n, 1);
	assert_true(sbx_has_prefix(sbx_err_first(&err), "cluster.k3s.url: cannot download "));
	assert_non_null(strstr(sbx_err_first(&err), "/missing/k3s: "));
	assert_non_null(strstr(sbx_err_first(&err), "404"));
	sbx_err_clear(&err);
	free(cached), free(iu), free(ku);
}

/* No artifacts at all. */
static void test_none(void **state)
{
	(void)state;
	struct bp_cluster cl = {.kubeconfig = "/x"};
	struct artifact_set a = {0};
	struct sbx_err err = SBX_ERR_INIT;
	assert_int_equal(resolve(&cl, ARTIFACT_VERIFY, &a, &err), -1);
	assert_int_equal(err.code, SBX_EXIT_USAGE);
	assert_true(sbx_has_prefix(sbx_err_first(&err), "cluster: k3s needs its artifacts: bundle: DIR"));
	sbx_err_clear(&err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bundle_missing),
		cmocka_unit_test(test_bundle_missing_files),
		cmocka_unit_test(test_bundle_sums_incomplete),
		cmocka_unit_test(test_bundle_bad_checksum),
		cmocka_unit_test(test_bundle_good),
		cmocka_unit_test(test_bundle_confined),
		cmocka_unit_test(test_paths),
		cmocka_unit_test(test_url_once),
		cmocka_unit_test(test_url_bad),
		cmocka_unit_test(test_none),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
