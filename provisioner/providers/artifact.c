/* artifact — the k3s binary and airgap images of a cluster install, as checked local files. */
#include "artifact.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define K3S_RELEASES "https://github.com/k3s-io/k3s/releases"
#define BUNDLE_PUT "put the assets of one k3s release (" K3S_RELEASES ") there: k3s, " \
	"k3s-airgap-images-amd64.tar.zst, sha256sum-amd64.txt"
#define SUMS "sha256sum-amd64.txt"
#define IMAGES "k3s-airgap-images-amd64"

/* The suffixes of the images tarball k3s imports, in the order a bundle is searched. */
static const char *const image_exts[] = {".tar.zst", ".tar", ".tar.gz"};

/* Free one artifact's strings. */
static void file_clear(struct artifact_file *f)
{
	free(f->path);
	free(f->sha256);
	free(f->name);
	*f = (struct artifact_file){0};
}

/* Free the strings of a set. */
void artifact_set_clear(struct artifact_set *a)
{
	if (a == NULL)
		return;
	file_clear(&a->k3s);
	file_clear(&a->images);
}

/* A lowercase copy of a hex digest; caller frees. */
static char *sha_lower(const char *s)
{
	char *l = xstrdup(s);
	for (char *p = l; *p; p++)
		*p = (char)(*p | 0x20);
	return l;
}

/* The images' name on a node from the file's first bytes (zstd, gzip, else plain tar). */
static char *images_name_magic(const char *path)
{
	unsigned char m[4] = {0};
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, m, sizeof m) : -1;
	if (fd >= 0)
		close(fd);
	const char *ext = n == 4 && memcmp(m, "\x28\xb5\x2f\xfd", 4) == 0 ? ".tar.zst"
		: n >= 2 && m[0] == 0x1f && m[1] == 0x8b ? ".tar.gz" : ".tar";
	return xasprintf(IMAGES "%s", ext);
}

/* The images' name on a node from a URL's or path's suffix (default .tar.zst). */
static char *images_name_suffix(const char *src)
{
	size_t len = strcspn(src, "?#");
	for (size_t i = 0; i < SBX_NELEM(image_exts); i++) {
		size_t el = strlen(image_exts[i]);
		if (len >= el && strncmp(src + len - el, image_exts[i], el) == 0)
			return xasprintf(IMAGES "%s", image_exts[i]);
	}
	return xstrdup(IMAGES ".tar.zst");
}

/* --- bundle --------------------------------------------------------------------------------- */

/* DIR/NAME resolved, when it exists as a regular file inside DIR (real: DIR resolved); NULL when
 * it does not exist; -1 when it leads out of DIR or is not a file. */
static int bundle_file(const char *dir, const char *real, const char *name, char **out, struct sbx_err *err)
{
	char *p = sbx_path_join(real, name), *r = realpath(p, NULL);
	struct stat st;
	int rc = 0;
	*out = NULL;
	if (r == NULL && errno != ENOENT)
		rc = sbx_err_set(err, SBX_EXIT_FAILED, "cluster.bundle %s: %s: %s", dir, name, strerror(errno));
	else if (r && (!sbx_has_prefix(r, real) || r[strlen(real)] != '/'))
		rc = sbx_err_set(err, SBX_EXIT_USAGE, "cluster.bundle %s: %s resolves to %s, outside the bundle: "
			"copy the file into the bundle", dir, name, r);
	else if (r && (stat(r, &st) < 0 || !S_ISREG(st.st_mode)))
		rc = sbx_err_set(err, SBX_EXIT_USAGE, "cluster.bundle %s: %s is not a regular file: " BUNDLE_PUT,
			dir, name);
	if (rc == 0)
		*out = r;
	else
		free(r);
	free(p);
	return rc;
}

/* The images tarball of the bundle: the first of image_exts that exists. */
static int bundle_images(const char *dir, const char *real, char **out, struct sbx_err *err)
{
	*out = NULL;
	for (size_t i = 0; i < SBX_NELEM(image_exts) && *out == NULL; i++) {
		char *name = xasprintf(IMAGES "%s", image_exts[i]);
		int rc = bundle_file(dir, real, name, out, err);
		free(name);
		if (rc < 0)
			return -1;
	}
	return 0;
}

/* The bundle's three files (paths resolved); every missing one is an error of its own. */
static int bundle_find(const char *dir, const char *real, char **k3s, char **images, char **sums,
	struct sbx_err *err)
{
	int r1 = bundle_file(dir, real, "k3s", k3s, err), r2 = bundle_images(dir, real, images, err),
		r3 = bundle_file(dir, real, SUMS, sums, err);
	if (r1 == 0 && *k3s == NULL)
		r1 = sbx_err_set(err, SBX_EXIT_USAGE, "cluster.bundle %s: no k3s: " BUNDLE_PUT, dir);
	if (r2 == 0 && *images == NULL)
		r2 = sbx_err_set(err, SBX_EXIT_USAGE, "cluster.bundle %s: no " IMAGES ".tar.zst (or .tar, .tar.gz): "
			BUNDLE_PUT, dir);
	if (r3 == 0 && *sums == NULL)
		r3 = sbx_err_set(err, SBX_EXIT_USAGE, "cluster.bundle %s: no " SUMS ": " BUNDLE_PUT, dir);
	return r1 | r2 | r3;
}

/* The digest sha256sum-amd64.txt gives for `name` ("HEX  NAME" or "HEX *NAME" lines); caller
 * frees; NULL when it lists none. */
static char *sums_find(const char *sums, const char *name)
{
	size_t nlen = strlen(name);
	for (const char *l = sums; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		size_t len = strcspn(l, "\r\n");
		if (len < 65 + nlen || strspn(l, "0123456789abcdefABCDEF") != 64 || l[64] != ' ')
			continue;
		const char *f = l + 65 + (l[65] == ' ' || l[65] == '*');
		if ((size_t)(l + len - f) != nlen || strncmp(f, name, nlen) != 0)
			continue;
		char *sha = xstrndup(l, 64);
		for (char *p = sha; *p; p++)
			*p = (char)(*p | 0x20);
		return sha;
	}
	return NULL;
}

/* One bundle file's digest from the sums, checked against the file in ARTIFACT_VERIFY. */
static int bundle_digest(const char *dir, const char *sums, const char *path, enum artifact_mode mode,
	struct artifact_file *f, struct sbx_err *err)
{
	const char *name = strrchr(path, '/') + 1;
	char *sha = sums_find(sums, name), *label = xasprintf("cluster.bundle %s: %s", dir, name);
	int rc = 0;
	if (sha == NULL)
		rc = sbx_err_set(err, SBX_EXIT_USAGE, "cluster.bundle %s: " SUMS " lists no sha256 for %s: use the "
			SUMS " of the release the files come from (" K3S_RELEASES ")", dir, name);
	else if (mode == ARTIFACT_VERIFY && (rc = fetch_verify(path, label, sha, err)) < 0)
		sbx_err_hint(err, "a file of the bundle is damaged or from another release than its " SUMS
			": download them again from " K3S_RELEASES);
	if (rc == 0)
		*f = (struct artifact_file){.path = xstrdup(path), .sha256 = sha, .name = xstrdup(name)};
	else
		free(sha);
	free(label);
	return rc;
}

/* A bundle: its three files found, their digests read from its sums (and checked in
 * ARTIFACT_VERIFY). */
static int bundle_resolve(const char *dir, enum artifact_mode mode, struct artifact_set *out,
	struct sbx_err *err)
{
	char *real = realpath(dir, NULL), *k3s = NULL, *images = NULL, *sumsp = NULL, *sums = NULL;
	struct stat st;
	size_t len = 0;
	int rc = -1;
	if (real == NULL || stat(real, &st) < 0 || !S_ISDIR(st.st_mode)) {
		sbx_err_set(err, SBX_EXIT_USAGE, "cluster.bundle %s: %s: " BUNDLE_PUT, dir,
			real ? "not a directory" : errno == ENOENT ? "no such directory" : strerror(errno));
		goto out;
	}
	if (bundle_find(dir, real, &k3s, &images, &sumsp, err) < 0 || sbx_read_file(sumsp, &sums, &len, err) < 0)
		goto out;
	rc = bundle_digest(dir, sums, k3s, mode, &out->k3s, err) | bundle_digest(dir, sums, images, mode,
		&out->images, err);
out:
	free(real);
	free(k3s);
	free(images);
	free(sumsp);
	free(sums);
	return rc;
}

/* --- k3s / images: path or url ---------------------------------------------------------------- */

/* An artifact given by path: it must exist; its digest is checked in ARTIFACT_VERIFY. */
static int artifact_path(const struct bp_artifact *a, const char *what, enum artifact_mode mode,
	struct artifact_file *f, struct sbx_err *err)
{
	char *real = realpath(a->path, NULL), *label = xasprintf("cluster.%s.path %s", what, a->path);
	int rc = 0;
	if (real == NULL)
		rc = sbx_err_set(err, SBX_EXIT_USAGE, "%s: %s: put the %s of a k3s release (" K3S_RELEASES ") there, "
			"or give its url", label, strerror(errno), sbx_streq(what, "k3s") ? "k3s binary" :
			"airgap images (" IMAGES ".tar.zst)");
	else if (mode == ARTIFACT_VERIFY)
		rc = fetch_verify(real, label, a->sha256, err);
	if (rc == 0)
		*f = (struct artifact_file){.path = real, .sha256 = sha_lower(a->sha256)};
	else
		free(real);
	free(label);
	return rc;
}

/* An artifact given by url: downloaded once into CACHE/artifacts (ARTIFACT_VERIFY), or the
 * cached file when there is one (ARTIFACT_LOOKUP). */
static int artifact_url(const struct bp_artifact *a, const char *what, const char *cache,
	enum artifact_mode mode, fetch_progress_fn progress, void *ctx, struct artifact_file *f,
	struct sbx_err *err)
{
	char *sha = sha_lower(a->sha256), *dir = NULL, *path = xasprintf("%s/artifacts/%s", cache, sha);
	struct sbx_err e = SBX_ERR_INIT;
	int rc = 0;
	if (mode == ARTIFACT_LOOKUP && access(path, R_OK) != 0) {
		free(path);
		path = NULL;
	} else if (mode == ARTIFACT_VERIFY) {
		free(path);
		path = NULL;
		dir = fetch_cache_dir(cache, "artifacts", &e);
		rc = dir ? fetch_cached(a->url, sha, dir, progress, ctx, &path, NULL, &e) : -1;
	}
	for (size_t i = 0; i < e.n; i++)
		sbx_err_set(err, e.code, "cluster.%s.url: %s", what, e.msgs[i].text);
	sbx_err_clear(&e);
	if (rc == 0)
		*f = (struct artifact_file){.path = path, .sha256 = sha};
	else
		free(sha);
	free(dir);
	return rc;
}

/* The k3s binary or the images, by path or url; the images get their name on the node. */
static int artifact_one(const struct bp_artifact *a, const char *what, const char *cache,
	enum artifact_mode mode, fetch_progress_fn progress, void *ctx, struct artifact_file *f,
	struct sbx_err *err)
{
	int rc = a->path ? artifact_path(a, what, mode, f, err)
		: a->url ? artifact_url(a, what, cache, mode, progress, ctx, f, err)
		: sbx_err_set(err, SBX_EXIT_USAGE, "cluster.%s: expected a path or a url with its sha256", what);
	if (rc < 0)
		return -1;
	if (sbx_streq(what, "k3s"))
		f->name = xstrdup("k3s");
	else
		f->name = f->path ? images_name_magic(f->path) : images_name_suffix(a->url ? a->url : a->path);
	return 0;
}

/* --- entry point ---------------------------------------------------------------------------- */

/* Resolve the cluster's artifacts. */
int artifact_resolve(const struct bp_cluster *cl, const char *cache, enum artifact_mode mode,
	fetch_progress_fn progress, void *ctx, struct artifact_set *out, struct sbx_err *err)
{
	struct artifact_set s = {0};
	int rc;
	if (cl->bundle)
		rc = bundle_resolve(cl->bundle, mode, &s, err);
	else if (cl->k3s.present && cl->images.present)
		rc = artifact_one(&cl->k3s, "k3s", cache, mode, progress, ctx, &s.k3s, err) |
			artifact_one(&cl->images, "images", cache, mode, progress, ctx, &s.images, err);
	else
		rc = sbx_err_set(err, SBX_EXIT_USAGE, "cluster: k3s needs its artifacts: bundle: DIR (" BUNDLE_PUT
			"), or k3s: and images: {path|url, sha256}");
	if (rc < 0) {
		artifact_set_clear(&s);
		return -1;
	}
	*out = s;
	return 0;
}
