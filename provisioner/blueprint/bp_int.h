/*
 * bp_int — internals shared by the blueprint module's source files (not a public header).
 *
 * Loading goes through a generic tree: every YAML file becomes a tree of maps, lists and scalars,
 * each node remembering FILE:LINE:COL (bp_yaml.c); the trees of an `extends` chain are merged
 * (bp_tree.c), scalars are interpolated (bp_interp.c), and the result goes through three passes,
 * as libvirt's conf parsing does: the schema engine converts it into the typed model with the tables
 * (bp_schema.c, bp_tables.c), the defaults pass fills what was left out (bp_defaults.c), and the
 * validation pass checks what spans fields and sections (bp_validate.c).
 */
#ifndef SBX_BP_INT_H
#define SBX_BP_INT_H

#include "bp.h"

#define BP_MAX_DEPTH 64          /* nesting limit of a YAML file */
#define BP_MAX_FILE (4u << 20)   /* largest blueprint file read */
#define BP_MAX_CHAIN 16          /* longest `extends` chain */
#define BP_QUOTE_MAX 40          /* most bytes of a line of a file not known to be a blueprint that a
                                  * message shows */

enum bp_tree_kind { BP_TREE_SCALAR, BP_TREE_MAP, BP_TREE_SEQ };

struct bp_tree;

/* A map entry (key set) or a list item (key NULL). */
struct bp_ent {
	char *key;
	struct bp_pos kpos;
	struct bp_tree *val;
};

struct bp_tree {
	enum bp_tree_kind kind;
	char *str;  /* scalar value */
	bool plain; /* an unquoted scalar */
	bool bad;   /* interpolation failed (already reported) */
	struct bp_pos pos;
	struct bp_ent *ents; /* map entries or list items */
	size_t n, cap;
};

/* A name and its index, for sorted lookups and duplicate detection. */
struct bp_key {
	const char *name;
	size_t i;
};

/* The loader's context. */
struct bp_ctx {
	struct sbx_err *err;
	const struct bp_load_opts *opts;
	int nerr;              /* errors reported so far */
	char **files;          /* the extends chain (becomes bp->files) */
	char **canon;          /* their canonical paths, for cycle detection */
	size_t nfiles, capfiles, capcanon;
	char **secrets;        /* ${secret.NAME} names seen */
	size_t nsecrets, capsecrets;
	struct bp_key *netkeys, *nodekeys; /* sorted names of networks and nodes (validation) */
	size_t nnetkeys, nnodekeys;
	bool has_machines;     /* the blueprint has a machines: pool (validation) */
	char **dirs;           /* the image directories, resolved (bp_file_dirs_init) */
	size_t ndirs;
};

/* Report an error at a position (counts it in c->nerr). */
void bp_errf(struct bp_ctx *c, struct bp_pos pos, const char *fmt, ...) SBX_PRINTF(3, 4);
/* The closest candidate to `word` (edit distance <= 2, shorter than the word), or NULL. */
const char *bp_suggest(const char *word, const char *const *cands, size_t n);

/* Trees. bp_tree_add takes ownership of key and val. */
struct bp_tree *bp_tree_new(enum bp_tree_kind kind, struct bp_pos pos);
void bp_tree_free(struct bp_tree *t);
void bp_tree_add(struct bp_tree *t, char *key, struct bp_pos kpos, struct bp_tree *val);
/* The entry of a map under `key` (first one), or NULL (also when t is not a map). */
const struct bp_ent *bp_tree_ent(const struct bp_tree *t, const char *key);
const struct bp_tree *bp_tree_get(const struct bp_tree *t, const char *key);
/* Remove `key` from a map and return its value (caller owns it) and key position; NULL if absent. */
struct bp_tree *bp_tree_take(struct bp_tree *t, const char *key, struct bp_pos *kpos);
/* Deep-merge src over dst (src wins); consumes both and returns the result. */
struct bp_tree *bp_tree_merge(struct bp_tree *dst, struct bp_tree *src);
/* A plain null scalar (empty, ~, null). */
bool bp_tree_is_null(const struct bp_tree *t);
/* A short description for messages: "\"lots\"" (at most BP_QUOTE_MAX bytes of a string), "a mapping",
 * "a list", "nothing". */
const char *bp_tree_describe(const struct bp_tree *t, char *buf, size_t len);
/* Report duplicate keys of a map. */
void bp_tree_dupkeys(struct bp_ctx *c, const struct bp_tree *t);

/* Sort keys by (name, index); find the lowest index of `name` (-1 when absent). */
void bp_keys_sort(struct bp_key *k, size_t n);
long bp_keys_find(const struct bp_key *k, size_t n, const char *name);

/* Parse one YAML file into a tree whose root is a mapping. Returns 0 or -1 (errors reported).
 * *declared (may be NULL) tells, also on failure, whether the file's top-level mapping has
 * `apiVersion: sandbox/v1` (as written): whether it declared itself a blueprint. */
int bp_yaml_parse(struct bp_ctx *c, const char *file, const char *data, size_t len,
	struct bp_tree **out, bool *declared);

/* Files (bp_file.c). The canonical absolute form of path (relative: to the current directory):
 * symlinks and ".." of the part that exists resolved (realpath), the rest appended; NULL when
 * ".." follows a part that does not exist. Caller frees. */
char *bp_file_canon(const char *path);
/* Resolve c->opts->image_dirs into c->dirs (those that cannot be resolved are dropped). */
void bp_file_dirs_init(struct bp_ctx *c);
/* Resolve `path`, named at pos (relative: to the directory of pos.file), and check that it lies
 * inside the directory tree of pos.file or an image directory. Returns the canonical path (caller
 * frees), or NULL after reporting at pos ("WHAT: ..."). */
char *bp_file_resolve(struct bp_ctx *c, struct bp_pos pos, const char *what, const char *path);
/* At most BP_QUOTE_MAX bytes of line `line` (1-based) of data, cleaned for a terminal; caller frees. */
char *bp_file_line_prefix(const char *data, size_t len, int line);

/* What is wrong with a libvirt URI for site.uri, as a new message (caller frees); NULL when a
 * blueprint may use it (bp_uri.c). */
char *bp_uri_problem(const char *uri);

/* Interpolate every scalar of the tree in place (errors reported). */
void bp_interp_tree(struct bp_ctx *c, struct bp_tree *t);

/* Fill every default into a converted model (bp may be partial after conversion errors). */
void bp_defaults_fill(struct bp_blueprint *bp);

/* Check a converted, defaulted model against the tree it came from (errors reported through c). */
void bp_validate_model(struct bp_ctx *c, const struct bp_tree *root, const struct bp_blueprint *bp);

#endif
