/* bp — loading a blueprint: read the extends chain, merge, interpolate, then convert, default, validate. */
#include "bp_schema.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Report a positioned error. */
void bp_errf(struct bp_ctx *c, struct bp_pos pos, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *msg = xvasprintf(fmt, ap);
	va_end(ap);
	sbx_err_at(c->err, pos.file, pos.line, pos.col, "%s", msg);
	c->nerr++;
	free(msg);
}

/* Levenshtein distance, capped: 3 means "3 or more". */
static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	if (la > 32 || lb > 32 || (la > lb ? la - lb : lb - la) > 2)
		return 3;
	size_t d[33][33];
	for (size_t i = 0; i <= la; i++)
		d[i][0] = i;
	for (size_t j = 0; j <= lb; j++)
		d[0][j] = j;
	for (size_t i = 1; i <= la; i++)
		for (size_t j = 1; j <= lb; j++) {
			size_t sub = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
			size_t del = d[i - 1][j] + 1, ins = d[i][j - 1] + 1;
			d[i][j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
		}
	return d[la][lb];
}

/* The closest candidate within edit distance 2 (and shorter than the word itself). */
const char *bp_suggest(const char *word, const char *const *cands, size_t n)
{
	const char *best = NULL;
	size_t bestd = 3, wl = strlen(word);
	for (size_t i = 0; i < n; i++) {
		size_t d = edit_distance(word, cands[i]);
		if (d < bestd && d < wl) {
			best = cands[i];
			bestd = d;
		}
	}
	return best;
}

/* Record a file of the chain; returns its stable name (for positions). */
static const char *ctx_add_file(struct bp_ctx *c, const char *name, const char *canon)
{
	xgrow(&c->files, &c->capfiles, c->nfiles + 1, sizeof(*c->files));
	xgrow(&c->canon, &c->capcanon, c->nfiles + 1, sizeof(*c->canon));
	c->files[c->nfiles] = xstrdup(name);
	c->canon[c->nfiles] = xstrdup(canon);
	return c->files[c->nfiles++];
}

/* The canonical path of a file (itself when it cannot be resolved). */
static char *canon_path(const char *path)
{
	char *r = bp_file_canon(path);
	return r ? r : xstrdup(path);
}

/* The path of a parent, relative to the directory of the child (for messages and positions). */
static char *parent_path(const char *child, const char *rel)
{
	char *dir = sbx_dirname(child);
	char *p = strcmp(dir, ".") == 0 ? xstrdup(rel) : sbx_path_join(dir, rel);
	free(dir);
	return p;
}

/* Report an extends cycle, naming the chain. */
static void report_cycle(struct bp_ctx *c, struct bp_pos pos, const char *path)
{
	struct sbx_buf b = {0};
	for (size_t i = 0; i < c->nfiles; i++)
		sbx_buf_printf(&b, "%s -> ", c->files[i]);
	sbx_buf_puts(&b, path);
	bp_errf(c, pos, "extends: cycle: %s", b.data);
	sbx_buf_free(&b);
}

/* Read a regular file of reasonable size. */
static int read_blueprint(const char *path, char **data, size_t *len, const char **why)
{
	struct stat st;
	struct sbx_err e = SBX_ERR_INIT;
	*why = NULL;
	if (stat(path, &st) < 0) {
		*why = strerror(errno);
		return -1;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > (off_t)BP_MAX_FILE) {
		*why = S_ISREG(st.st_mode) ? "file too large" : "not a regular file";
		return -1;
	}
	int rc = sbx_read_file(path, data, len, &e);
	if (rc < 0)
		*why = "cannot read it";
	sbx_err_clear(&e);
	return rc;
}

/* Parse a parent file. Its content may appear in messages only once it has declared itself a
 * blueprint (apiVersion: sandbox/v1 at its top); otherwise one message at the `extends` that
 * named it says so, quoting at most the first BP_QUOTE_MAX bytes of the line at fault. */
static int parse_parent(struct bp_ctx *c, struct bp_pos at, const char *file, const char *data, size_t len,
	struct bp_tree **out)
{
	struct sbx_err own = SBX_ERR_INIT, *err = c->err;
	int nerr = c->nerr;
	bool declared = false;
	c->err = &own;
	int rc = bp_yaml_parse(c, file, data, len, out, &declared);
	c->err = err;
	for (size_t i = 0; declared && i < own.n; i++)
		sbx_err_at(err, own.msgs[i].file, own.msgs[i].line, own.msgs[i].col, "%s", own.msgs[i].text);
	if (!declared) {
		int line = own.n ? own.msgs[0].line : 1;
		char *start = bp_file_line_prefix(data, len, line);
		c->nerr = nerr;
		bp_errf(c, at, "extends: %s is not a sandbox blueprint (no \"apiVersion: sandbox/v1\" at its top); its "
			"line %d begins \"%s\"", file, line, start);
		free(start);
		if (rc == 0)
			bp_tree_free(*out);
		rc = -1;
	}
	sbx_err_clear(&own);
	return rc;
}

/* Load the parent named by `extends` of the tree t (which came from file `child`): a file the
 * blueprint may read (bp_file_resolve), not yet in the chain. */
static int load_parent(struct bp_ctx *c, struct bp_tree *ext, struct bp_pos kpos, const char *child,
	struct bp_tree **out)
{
	char d[80], *data = NULL, *path = NULL, *canon = NULL;
	const char *why;
	size_t len;
	int rc = -1;
	if (ext->kind != BP_TREE_SCALAR || bp_tree_is_null(ext)) {
		bp_errf(c, ext->pos, "extends: expected a file path, got %s", bp_tree_describe(ext, d, sizeof(d)));
		goto out;
	}
	path = parent_path(child, ext->str);
	if ((canon = bp_file_resolve(c, ext->pos, "extends", ext->str)) == NULL)
		goto out;
	for (size_t i = 0; i < c->nfiles; i++)
		if (strcmp(c->canon[i], canon) == 0) {
			report_cycle(c, ext->pos, path);
			goto out;
		}
	if (c->nfiles >= BP_MAX_CHAIN) {
		bp_errf(c, kpos, "extends: chain longer than %d files", BP_MAX_CHAIN);
		goto out;
	}
	if (read_blueprint(canon, &data, &len, &why) < 0) {
		bp_errf(c, ext->pos, "extends: cannot read \"%s\": %s", path, why);
		goto out;
	}
	rc = parse_parent(c, ext->pos, ctx_add_file(c, path, canon), data, len, out);
out:
	free(data);
	free(path);
	free(canon);
	return rc;
}

/* Parse the inventory file at canon (`path` for positions, `named` as the blueprint wrote it, for
 * messages): a file declaring itself (apiVersion:
 * sandbox/v1 at its top) with a machines: list, which it hands over in *out. Its content appears in
 * messages only once it has declared itself. */
static int parse_inventory(struct bp_ctx *c, struct bp_pos at, const char *path, const char *named,
	const char *canon, struct bp_tree **out)
{
	struct sbx_err own = SBX_ERR_INIT, *err = c->err;
	struct bp_tree *t = NULL;
	char *data = NULL;
	const char *why;
	size_t len;
	bool declared = false;
	int nerr = c->nerr, rc;
	if (read_blueprint(canon, &data, &len, &why) < 0) {
		bp_errf(c, at, "machines: cannot read \"%s\": %s", named, why);
		return -1;
	}
	c->err = &own;
	int parsed = rc = bp_yaml_parse(c, ctx_add_file(c, path, canon), data, len, &t, &declared);
	c->err = err;
	for (size_t i = 0; declared && i < own.n; i++)
		sbx_err_at(err, own.msgs[i].file, own.msgs[i].line, own.msgs[i].col, "%s", own.msgs[i].text);
	sbx_err_clear(&own);
	if (!declared)
		c->nerr = nerr;
	if (!declared || (rc == 0 && bp_tree_get(t, "machines") == NULL)) {
		bp_errf(c, at, "machines: %s is not an inventory (apiVersion: sandbox/v1 and a machines: list at its "
			"top)", named);
		rc = -1;
	}
	if (rc == 0)
		*out = bp_tree_take(t, "machines", &(struct bp_pos){0});
	bp_tree_free(parsed == 0 ? t : NULL);
	free(data);
	return rc;
}

/* machines: FILE: the capacity pool from an inventory file inside the blueprint's own directory
 * tree (never an image directory, never a host file outside it), spliced into the tree. */
static int load_inventory(struct bp_ctx *c, struct bp_tree *root)
{
	const struct bp_tree *v = bp_tree_get(root, "machines");
	if (v == NULL || v->kind != BP_TREE_SCALAR || bp_tree_is_null(v))
		return 0;
	char **dirs = c->dirs;
	size_t ndirs = c->ndirs;
	c->dirs = NULL, c->ndirs = 0; /* the tree only */
	char *canon = bp_file_resolve(c, v->pos, "machines", v->str);
	c->dirs = dirs, c->ndirs = ndirs;
	struct bp_tree *list = NULL;
	char *path = parent_path(v->pos.file, v->str);
	int rc = canon ? parse_inventory(c, v->pos, path, v->str, canon, &list) : -1;
	free(canon);
	free(path);
	if (rc == 0) {
		struct bp_pos kpos;
		bp_tree_free(bp_tree_take(root, "machines", &kpos));
		bp_tree_add(root, xstrdup("machines"), kpos, list);
	}
	return rc;
}

/* Parse a file and its ancestors; merge them (the top file wins). */
static int load_chain(struct bp_ctx *c, const char *name, const char *yaml, size_t len,
	struct bp_tree **out)
{
	struct bp_tree **chain = NULL;
	size_t n = 0, cap = 0;
	struct bp_tree *t;
	char *canon = canon_path(name);
	int rc = bp_yaml_parse(c, ctx_add_file(c, name, canon), yaml, len, &t, NULL);
	free(canon);
	while (rc == 0) {
		xgrow(&chain, &cap, n + 1, sizeof(*chain));
		chain[n++] = t;
		struct bp_pos kpos;
		struct bp_tree *ext = bp_tree_take(t, "extends", &kpos);
		if (ext == NULL)
			break;
		rc = load_parent(c, ext, kpos, c->files[c->nfiles - 1], &t);
		bp_tree_free(ext);
	}
	for (size_t i = n; rc == 0 && i-- > 1;)
		chain[i - 1] = bp_tree_merge(chain[i], chain[i - 1]);
	if (rc == 0 && load_inventory(c, chain[0]) < 0) {
		bp_tree_free(chain[0]);
		n = 0;
		rc = -1;
	}
	if (rc == 0)
		*out = chain[0];
	for (size_t i = 0; rc < 0 && i < n; i++)
		bp_tree_free(chain[i]);
	free(chain);
	return rc;
}

struct msg_at {
	struct sbx_err_msg m;
	size_t i;
};

/* Order messages by file, line, column, then the order they were reported in. */
static int msg_cmp(const void *a, const void *b)
{
	const struct msg_at *x = a, *y = b;
	int r = strcmp(x->m.file ? x->m.file : "", y->m.file ? y->m.file : "");
	if (r == 0 && x->m.line != y->m.line)
		r = x->m.line < y->m.line ? -1 : 1;
	if (r == 0 && x->m.col != y->m.col)
		r = x->m.col < y->m.col ? -1 : 1;
	return r != 0 ? r : (x->i > y->i) - (x->i < y->i);
}

/* Sort the messages added since index `from` by position. */
static void sort_errors(struct sbx_err *e, size_t from)
{
	if (e == NULL || e->n <= from + 1)
		return;
	size_t n = e->n - from;
	struct msg_at *a = xmalloc(n * sizeof(*a));
	for (size_t i = 0; i < n; i++)
		a[i] = (struct msg_at){e->msgs[from + i], i};
	qsort(a, n, sizeof(*a), msg_cmp);
	for (size_t i = 0; i < n; i++)
		e->msgs[from + i] = a[i].m;
	free(a);
}

/* Compare two strings for qsort. */
static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Move the secret names into the blueprint, sorted and unique. */
static void finish_secrets(struct bp_ctx *c, struct bp_blueprint *bp)
{
	size_t n = 0;
	if (c->nsecrets > 1)
		qsort(c->secrets, c->nsecrets, sizeof(*c->secrets), str_cmp);
	for (size_t i = 0; i < c->nsecrets; i++) {
		if (n > 0 && strcmp(c->secrets[n - 1], c->secrets[i]) == 0)
			free(c->secrets[i]);
		else
			c->secrets[n++] = c->secrets[i];
	}
	bp->secret_names = c->secrets;
	bp->nsecret_names = n;
	c->secrets = NULL;
	c->nsecrets = 0;
}

/* Hand the file list, secrets and hash to a valid blueprint. */
static void finish(struct bp_ctx *c, struct bp_blueprint *bp, const char *name)
{
	bp->file = xstrdup(name);
	bp->files = c->files;
	bp->nfiles = c->nfiles;
	c->files = NULL; /* c->nfiles still counts c->canon */
	finish_secrets(c, bp);
	if (c->opts && c->opts->no_hash)
		return;
	char *json = bp_to_json(bp);
	sbx_sha256_hex(json, strlen(json), bp->hash);
	free(json);
}

/* Free a string array. */
static void strv_free(char **v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		free(v[i]);
	free(v);
}

/* Release what the context still owns. */
static void ctx_free(struct bp_ctx *c)
{
	strv_free(c->files, c->nfiles);
	strv_free(c->canon, c->nfiles);
	strv_free(c->secrets, c->nsecrets);
	strv_free(c->dirs, c->ndirs);
	free(c->netkeys);
	free(c->nodekeys);
}

/* Load from a string. */
int bp_load_string(const char *name, const char *yaml, size_t len, const struct bp_load_opts *opts,
	struct bp_blueprint **out, struct sbx_err *err)
{
	struct bp_ctx c = {.err = err, .opts = opts};
	struct bp_blueprint *bp = xcalloc(1, sizeof(*bp));
	struct bp_tree *root = NULL;
	size_t from = err ? err->n : 0;
	int rc = -1;
	if (name == NULL)
		name = "<input>";
	if (yaml == NULL) {
		yaml = "";
		len = 0;
	}
	bp_file_dirs_init(&c);
	if (load_chain(&c, name, yaml, len, &root) < 0)
		goto out;
	bp_interp_tree(&c, root);
	bp_schema_conv_map(&c, root, &bp_tables_blueprint, bp);
	bp_defaults_fill(bp);
	bp_validate_model(&c, root, bp);
	if (c.nerr > 0)
		goto out;
	finish(&c, bp, name);
	*out = bp;
	bp = NULL;
	rc = 0;
out:
	sort_errors(err, from);
	if (c.nerr > 0)
		sbx_err_hint(err, "every key, type and default is described in blueprints/README.md");
	bp_tree_free(root);
	bp_free(bp);
	ctx_free(&c);
	return rc;
}

/* Load from a file. */
int bp_load(const char *path, const struct bp_load_opts *opts, struct bp_blueprint **out,
	struct sbx_err *err)
{
	char *data = NULL;
	size_t len = 0;
	const char *why;
	if (read_blueprint(path, &data, &len, &why) < 0)
		return sbx_err_set(err, SBX_EXIT_USAGE, "cannot read blueprint %s: %s", path, why);
	int rc = bp_load_string(path, data, len, opts, out, err);
	free(data);
	return rc;
}

/* Free a blueprint. */
void bp_free(struct bp_blueprint *bp)
{
	if (bp == NULL)
		return;
	bp_schema_free(&bp_tables_blueprint, bp);
	free(bp->file);
	strv_free(bp->files, bp->nfiles);
	strv_free(bp->secret_names, bp->nsecret_names);
	free(bp);
}

/* "${secret.NAME}" → NAME. */
char *bp_secret_ref(const char *value)
{
	static const char pre[] = "${secret.";
	size_t n = value ? strlen(value) : 0;
	if (n <= sizeof(pre) || strncmp(value, pre, sizeof(pre) - 1) != 0 || value[n - 1] != '}')
		return NULL;
	const char *name = value + sizeof(pre) - 1;
	size_t nl = n - (sizeof(pre) - 1) - 1;
	if (memchr(name, '}', nl) || memchr(name, '$', nl))
		return NULL;
	return xstrndup(name, nl);
}

/* Replace each ${secret.NAME} of text by its value. */
int bp_secret_expand(const char *text, const char *(*get)(void *ud, const char *name), void *ud, char **out,
	char **missing)
{
	static const char pre[] = "${secret.";
	struct sbx_buf b = {0};
	const char *p = text ? text : "", *ref;
	while ((ref = strstr(p, pre)) != NULL) {
		const char *name = ref + sizeof(pre) - 1, *end = strchr(name, '}');
		if (end == NULL)
			break;
		char *n = xstrndup(name, (size_t)(end - name));
		const char *v = get(ud, n);
		if (v == NULL) {
			if (missing)
				*missing = n;
			else
				free(n);
			sbx_buf_free(&b);
			return -1;
		}
		free(n);
		sbx_buf_add(&b, p, (size_t)(ref - p));
		sbx_buf_puts(&b, v);
		p = end + 1;
	}
	sbx_buf_puts(&b, p);
	*out = sbx_buf_steal(&b);
	return 0;
}

/* Find a node by name. */
const struct bp_node *bp_node_find(const struct bp_blueprint *bp, const char *name)
{
	for (size_t i = 0; bp && name && i < bp->nnodes; i++)
		if (sbx_streq(bp->nodes[i].name, name))
			return &bp->nodes[i];
	return NULL;
}

/* Find a network by name. */
const struct bp_network *bp_network_find(const struct bp_blueprint *bp, const char *name)
{
	for (size_t i = 0; bp && name && i < bp->nnetworks; i++)
		if (sbx_streq(bp->networks[i].name, name))
			return &bp->networks[i];
	return NULL;
}

/* Whether a node has a role. */
bool bp_node_has_role(const struct bp_node *n, const char *role)
{
	for (size_t i = 0; n && role && i < n->nroles; i++)
		if (strcmp(n->roles[i], role) == 0)
			return true;
	return false;
}
