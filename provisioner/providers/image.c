/* image — resolve a base image: a local path, a verified download, or a cached recipe build. */
#include "image.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define IMAGE_BUILD_MS (45 * 60 * 1000)
#define IMAGE_KEY_LEN 16

struct image_ctx {
	const struct image_dirs *dirs;
	image_progress_fn progress;
	void *ctx;
};

/* Report progress when a callback is set. */
static void image_progress(const struct image_ctx *c, const char *what, uint64_t done, uint64_t total)
{
	if (c->progress)
		c->progress(c->ctx, what, done, total);
}

/* Free the strings of f. */
void image_files_clear(struct image_files *f)
{
	if (f == NULL)
		return;
	free(f->disk);
	free(f->format);
	free(f->kernel);
	free(f->initrd);
	free(f->cmdline);
	free(f->sha256);
	*f = (struct image_files){0};
}

/* "qcow2" when the file starts with the qcow2 magic, else "raw". */
static const char *image_format(const char *path)
{
	char magic[4] = {0};
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, magic, sizeof magic) : -1;
	if (fd >= 0)
		close(fd);
	return n == 4 && memcmp(magic, "QFI\xfb", 4) == 0 ? "qcow2" : "raw";
}

/* Replace *slot with v when v is set. */
static void image_set(char **slot, char *v)
{
	if (v == NULL)
		return;
	free(*slot);
	*slot = v;
}

/* The blueprint's direct-boot fields (relative to bp_dir) override what the image provides. */
static void image_boot_fields(const struct bp_image *img, const char *bp_dir, struct image_files *out)
{
	image_set(&out->kernel, img->kernel ? sbx_path_join(bp_dir, img->kernel) : NULL);
	image_set(&out->initrd, img->initrd ? sbx_path_join(bp_dir, img->initrd) : NULL);
	image_set(&out->cmdline, xstrdup(img->cmdline));
}

/* --- path ----------------------------------------------------------------------------------- */

/* A local image: must exist; sha256 verified when given. */
static int image_from_path(const struct bp_image *img, const char *bp_dir, struct image_files *out,
	struct sbx_err *err)
{
	char *joined = sbx_path_join(bp_dir, img->path), real[PATH_MAX];
	int rc = -1;
	if (realpath(joined, real) == NULL) {
		sbx_err_set(err, SBX_EXIT_FAILED, "image %s: %s", joined, strerror(errno));
		goto out;
	}
	if (img->sha256 && fetch_verify(real, NULL, img->sha256, err) < 0)
		goto out;
	out->disk = xstrdup(real);
	out->format = xstrdup(image_format(real));
	out->sha256 = xstrdup(img->sha256);
	rc = 0;
out:
	free(joined);
	return rc;
}

/* --- url ------------------------------------------------------------------------------------ */

/* A downloaded image, cached as <cache>/url/<sha256>. */
static int image_from_url(const struct bp_image *img, const struct image_ctx *c, struct image_files *out,
	bool *fetch_failed, struct sbx_err *err)
{
	char *dir = NULL, *final = NULL;
	*fetch_failed = false;
	if (!fetch_sha_ok(img->sha256))
		return sbx_err_set(err, SBX_EXIT_USAGE, "image url %s needs a sha256 (64 hex digits)", img->url);
	if ((dir = fetch_cache_dir(c->dirs->cache, "url", err)) == NULL ||
		fetch_cached(img->url, img->sha256, dir, c->progress, c->ctx, &final, fetch_failed, err) < 0) {
		free(dir);
		return -1;
	}
	out->disk = final;
	out->format = xstrdup(image_format(final));
	out->sha256 = xstrdup(final + strlen(dir) + 1);
	free(dir);
	return 0;
}

/* --- recipe --------------------------------------------------------------------------------- */

/* Directories searched for recipes, in order (caller frees each and the array). */
static char **recipe_dirs(const struct image_ctx *c, size_t *n)
{
	char **v = xcalloc(5, sizeof *v), exe[PATH_MAX];
	static const char *const rel[] = {"../examples/image", "../../examples/image", "../share/sandbox/images"};
	const char *env = c->dirs->recipes;
	ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
	*n = 0;
	if (env && *env)
		v[(*n)++] = xstrdup(env);
	if (len > 0) {
		exe[len] = '\0';
		char *dir = sbx_dirname(exe);
		for (size_t i = 0; i < SBX_NELEM(rel); i++)
			v[(*n)++] = xasprintf("%s/%s", dir, rel[i]);
		free(dir);
	}
	return v;
}

/* The recipe script of `name` (caller frees), or NULL with an error. */
static char *recipe_script(const struct image_ctx *c, const char *name, struct sbx_err *err)
{
	size_t n = 0;
	char **dirs = recipe_dirs(c, &n), *found = NULL;
	for (size_t i = 0; i < n; i++) {
		char *p = xasprintf("%s/%s.sh", dirs[i], name);
		if (found == NULL && access(p, R_OK) == 0)
			found = p;
		else
			free(p);
		free(dirs[i]);
	}
	free(dirs);
	if (found == NULL) {
		sbx_err_set(err, SBX_EXIT_USAGE, "image recipe '%s' not found", name);
		sbx_err_hint(err, "set SANDBOX_RECIPES to the directory holding %s.sh", name);
	}
	return found;
}

/* A recipe name is a plain file name: [a-z0-9._-], not starting with '.'. */
static bool recipe_name_ok(const char *s)
{
	return s && *s && *s != '.' && strlen(s) <= 64 &&
		strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789._-") == strlen(s);
}

/* Set one manifest key; unknown keys are ignored (newer recipes). */
static void manifest_set(struct image_files *f, const char *dir, const char *key, const char *val)
{
	static const struct {
		const char *key;
		size_t off;
		bool path;
	} keys[] = {
		{"disk", offsetof(struct image_files, disk), true},
		{"format", offsetof(struct image_files, format), false},
		{"kernel", offsetof(struct image_files, kernel), true},
		{"initrd", offsetof(struct image_files, initrd), true},
		{"cmdline", offsetof(struct image_files, cmdline), false},
	};
	for (size_t i = 0; i < SBX_NELEM(keys); i++) {
		if (strcmp(keys[i].key, key) != 0)
			continue;
		char **slot = (char **)((char *)f + keys[i].off);
		free(*slot);
		*slot = keys[i].path ? sbx_path_join(dir, val) : xstrdup(val);
	}
}

/* Parse <dir>/manifest (key=value lines) into out. */
static int manifest_read(const char *dir, struct image_files *out, struct sbx_err *err)
{
	char *path = sbx_path_join(dir, "manifest"), *data = NULL, *save = NULL;
	size_t len = 0;
	struct image_files f = {0};
	int rc = sbx_read_file(path, &data, &len, err);
	for (char *line = rc == 0 ? strtok_r(data, "\n", &save) : NULL; line; line = strtok_r(NULL, "\n", &save)) {
		char *eq = strchr(line, '=');
		if (eq && line[0] != '#') {
			*eq = '\0';
			manifest_set(&f, dir, line, eq + 1);
		}
	}
	if (rc == 0 && f.disk == NULL)
		rc = sbx_err_set(err, SBX_EXIT_FAILED, "%s: no disk= line", path);
	if (rc == 0 && f.format == NULL)
		f.format = xstrdup(image_format(f.disk));
	if (rc == 0)
		*out = f;
	else
		image_files_clear(&f);
	free(path);
	free(data);
	return rc;
}

/* Run the recipe into a temp dir next to `dir` and rename it into place. */
static int recipe_build(const char *script, const char *name, const char *parent, const char *dir,
	const struct image_ctx *c, struct sbx_err *err)
{
	char *tmp = xasprintf("%s/.build-%s.XXXXXX", parent, name), *mpath = NULL;
	int rc = -1;
	if (mkdtemp(tmp) == NULL) {
		sbx_err_set(err, SBX_EXIT_FAILED, "cannot create %s: %s", tmp, strerror(errno));
		goto out;
	}
	char *argv[] = {"sh", (char *)script, tmp, NULL};
	image_progress(c, "building image", 0, 0);
	if (sbx_run(argv, IMAGE_BUILD_MS, NULL, err) < 0) {
		sbx_err_prefix(err, "image recipe %s", name);
		goto out;
	}
	mpath = sbx_path_join(tmp, "manifest");
	if (access(mpath, R_OK) != 0) {
		sbx_err_set(err, SBX_EXIT_FAILED, "image recipe %s wrote no manifest", name);
		goto out;
	}
	chmod(tmp, 0755);
	if (rename(tmp, dir) < 0) {
		sbx_err_set(err, SBX_EXIT_FAILED, "cannot rename %s to %s: %s", tmp, dir, strerror(errno));
		goto out;
	}
	image_progress(c, "building image", 1, 1);
	rc = 0;
out:
	if (rc < 0)
		sbx_rm_rf(tmp);
	free(tmp);
	free(mpath);
	return rc;
}

/* The sha256 of a recipe image's disk, computed once and kept in <dir>/disk.sha256. */
static char *recipe_disk_sha(const char *dir, const char *disk, struct sbx_err *err)
{
	char *path = sbx_path_join(dir, "disk.sha256"), *data = NULL, hex[65];
	size_t len = 0;
	struct sbx_err ignore = SBX_ERR_INIT;
	if (sbx_read_file(path, &data, &len, &ignore) == 0 && fetch_sha_ok(data)) {
		free(path);
		return data;
	}
	free(data);
	sbx_err_clear(&ignore);
	if (sbx_sha256_file(disk, hex, err) < 0) {
		free(path);
		return NULL;
	}
	(void)!sbx_write_file(path, hex, 64, 0644, &ignore);
	sbx_err_clear(&ignore);
	free(path);
	return xstrdup(hex);
}

/* The cache directory of a recipe: <cache>/recipe/<name>-<key> (caller frees). */
static char *recipe_dir(const char *parent, const char *name, const char *script, struct sbx_err *err)
{
	char hex[65];
	if (sbx_sha256_file(script, hex, err) < 0)
		return NULL;
	hex[IMAGE_KEY_LEN] = '\0';
	return xasprintf("%s/%s-%s", parent, name, hex);
}

/* A recipe image: reuse the cached build or build it (one builder at a time, by flock). */
static int image_from_recipe(const char *name, const struct image_ctx *c, struct image_files *out,
	struct sbx_err *err)
{
	char *script = NULL, *parent = NULL, *dir = NULL, *lock = NULL, *manifest = NULL;
	int rc = -1, lfd = -1;
	if (!recipe_name_ok(name))
		return sbx_err_set(err, SBX_EXIT_USAGE, "image recipe '%s': not a valid name", name ? name : "");
	if ((script = recipe_script(c, name, err)) == NULL || (parent = fetch_cache_dir(c->dirs->cache, "recipe", err)) == NULL ||
		(dir = recipe_dir(parent, name, script, err)) == NULL)
		goto out;
	lock = xasprintf("%s.lock", dir);
	manifest = sbx_path_join(dir, "manifest");
	if (access(manifest, R_OK) != 0) {
		if ((lfd = fetch_lock(lock, err)) < 0)
			goto out;
		if (access(manifest, R_OK) != 0 && recipe_build(script, name, parent, dir, c, err) < 0)
			goto out;
	}
	struct image_files f = {0};
	if (manifest_read(dir, &f, err) < 0)
		goto out;
	if ((f.sha256 = recipe_disk_sha(dir, f.disk, err)) == NULL) {
		image_files_clear(&f);
		goto out;
	}
	*out = f;
	rc = 0;
out:
	fetch_unlock(lfd);
	free(script);
	free(parent);
	free(dir);
	free(lock);
	free(manifest);
	return rc;
}

/* --- entry point ---------------------------------------------------------------------------- */

/* A url image, falling back to the recipe when the download itself fails. */
static int image_from_url_or_recipe(const struct bp_image *img, const struct image_ctx *c,
	struct image_files *out, struct sbx_err *err)
{
	struct sbx_err uerr = SBX_ERR_INIT;
	bool fetch_failed = false;
	int rc = image_from_url(img, c, out, &fetch_failed, &uerr);
	if (rc < 0 && fetch_failed && img->recipe) {
		image_progress(c, "download failed; building the recipe instead", 0, 0);
		rc = image_from_recipe(img->recipe, c, out, err);
	} else if (rc < 0) {
		for (size_t i = 0; i < uerr.n; i++)
			sbx_err_set(err, uerr.code ? uerr.code : SBX_EXIT_FAILED, "%s", uerr.msgs[i].text);
		if (uerr.hint)
			sbx_err_hint(err, "%s", uerr.hint);
	}
	sbx_err_clear(&uerr);
	return rc;
}

/* Resolve the blueprint's image to local files. */
int image_resolve(const struct bp_image *img, const char *bp_dir, const struct image_dirs *dirs,
	image_progress_fn progress, void *ctx, struct image_files *out, struct sbx_err *err)
{
	struct image_ctx c = {dirs, progress, ctx};
	struct image_files f = {0};
	int rc;
	if (img->path)
		rc = image_from_path(img, bp_dir, &f, err);
	else if (img->url)
		rc = image_from_url_or_recipe(img, &c, &f, err);
	else if (img->recipe)
		rc = image_from_recipe(img->recipe, &c, &f, err);
	else
		rc = sbx_err_set(err, SBX_EXIT_USAGE, "image: one of path, url or recipe is required");
	if (rc < 0)
		return -1;
	image_boot_fields(img, bp_dir, &f);
	*out = f;
	return 0;
}
