/*
 * bp_file — the files a blueprint may name, and how much of a file that is not a blueprint a
 * message may show. image.path, image.kernel, image.initrd and extends name files inside the
 * directory tree of the blueprint file that sets them, or inside a configured image directory
 * (bp_load_opts.image_dirs); both sides are compared after resolving symlinks and "..", so neither
 * can lead out. The resolved path is what the model keeps.
 */
#include "bp_int.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "term.h"

/* path made absolute against the current directory (NULL when that is unknown); caller frees. */
static char *absolute(const char *path)
{
	if (path[0] == '/')
		return xstrdup(path);
	char *cwd = getcwd(NULL, 0), *abs = cwd ? sbx_path_join(cwd, path) : NULL;
	free(cwd);
	return abs;
}

/* The resolved form of the longest leading part of abs that exists; *rest: where the part that
 * does not exist begins. */
static char *real_head(const char *abs, size_t *rest)
{
	size_t end = strlen(abs);
	for (;;) {
		char *head = end ? xstrndup(abs, end) : xstrdup("/");
		char *real = realpath(head, NULL);
		free(head);
		if (real || end == 0) {
			*rest = end;
			return real;
		}
		const char *slash = memrchr(abs, '/', end);
		end = slash ? (size_t)(slash - abs) : 0;
	}
}

/* real + the components of rest ("." skipped); NULL when rest holds "..": it cannot be resolved
 * without the directories it would climb out of. Consumes real. */
static char *append_rest(char *real, const char *rest)
{
	struct sbx_buf b = {0};
	sbx_buf_puts(&b, strcmp(real, "/") == 0 ? "" : real);
	free(real);
	for (const char *p = rest; *p;) {
		size_t n = strcspn(p, "/");
		if (n == 2 && strncmp(p, "..", 2) == 0) {
			sbx_buf_free(&b);
			return NULL;
		}
		if (n > 0 && !(n == 1 && p[0] == '.')) {
			sbx_buf_puts(&b, "/");
			sbx_buf_add(&b, p, n);
		}
		p += n + (p[n] == '/');
	}
	return b.len ? sbx_buf_steal(&b) : (sbx_buf_free(&b), xstrdup("/"));
}

/* The canonical absolute form of a path. */
char *bp_file_canon(const char *path)
{
	size_t rest = 0;
	char *abs = absolute(path), *real = abs ? real_head(abs, &rest) : NULL;
	char *canon = real ? append_rest(real, abs + rest) : NULL;
	free(abs);
	return canon;
}

/* Whether the canonical path lies in the canonical directory dir (or is it). */
static bool within(const char *path, const char *dir)
{
	size_t n = strlen(dir);
	if (strcmp(dir, "/") == 0)
		return true;
	return strncmp(path, dir, n) == 0 && (path[n] == '/' || path[n] == '\0');
}

/* Resolve the configured image directories once. */
void bp_file_dirs_init(struct bp_ctx *c)
{
	size_t n = c->opts ? c->opts->nimage_dirs : 0;
	c->dirs = xcalloc(n + 1, sizeof(*c->dirs));
	c->ndirs = 0;
	for (size_t i = 0; i < n; i++) {
		const char *d = c->opts->image_dirs[i];
		char *canon = d && *d ? bp_file_canon(d) : NULL;
		if (canon)
			c->dirs[c->ndirs++] = canon;
	}
}

/* The canonical directory of the blueprint file `file` (the current directory for a bare name). */
static char *file_dir(const char *file)
{
	char *dir = sbx_dirname(file ? file : "."), *canon = bp_file_canon(dir);
	if (canon == NULL)
		return dir;
	free(dir);
	return canon;
}

/* Report a file outside every allowed directory. */
static void report_outside(struct bp_ctx *c, struct bp_pos pos, const char *what, const char *path,
	const char *canon, const char *dir)
{
	struct sbx_buf b = {0};
	for (size_t i = 0; i < c->ndirs; i++)
		sbx_buf_printf(&b, "%s%s", i ? ", " : "", c->dirs[i]);
	bool moved = strcmp(path, canon) != 0;
	bp_errf(c, pos, "%s: \"%s\"%s%s%s is outside the blueprint's directory %s: a blueprint reads files only "
		"from its own directory tree and the image directories (%s)", what, path, moved ? " (resolves to " : "",
		moved ? canon : "", moved ? ")" : "", dir,
		b.data ? b.data : "none configured; SANDBOX_IMAGE_DIRS adds some");
	sbx_buf_free(&b);
}

/* Resolve a file named at pos and check that the blueprint may read it. */
char *bp_file_resolve(struct bp_ctx *c, struct bp_pos pos, const char *what, const char *path)
{
	char *dir = file_dir(pos.file), *full = sbx_path_join(dir, path), *canon = bp_file_canon(full);
	bool ok = canon && within(canon, dir);
	for (size_t i = 0; canon && !ok && i < c->ndirs; i++)
		ok = within(canon, c->dirs[i]);
	if (canon == NULL)
		bp_errf(c, pos, "%s: \"%s\" cannot be resolved: \"..\" follows a directory that does not exist",
			what, path);
	else if (!ok)
		report_outside(c, pos, what, path, canon, dir);
	if (!ok) {
		free(canon);
		canon = NULL;
	}
	free(full);
	free(dir);
	return canon;
}

/* The start of one line of a file, cleaned for a terminal. */
char *bp_file_line_prefix(const char *data, size_t len, int line)
{
	size_t i = 0, n = 0;
	for (int l = 1; l < line && i < len; i++)
		l += data[i] == '\n';
	while (i + n < len && n < BP_QUOTE_MAX && data[i + n] != '\n')
		n++;
	return term_sanitize_n(data + i, n);
}
