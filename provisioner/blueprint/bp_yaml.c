/* bp_yaml — libyaml events into a positioned tree (the only libyaml user of the project). */
#include "bp_int.h"

#include <stdlib.h>
#include <string.h>

#include <yaml.h>

/* An open container and, for maps, the key waiting for its value. */
struct yframe {
	struct bp_tree *node;
	char *key;
	struct bp_pos kpos;
	bool has_key;
};

struct yparse {
	struct bp_ctx *c;
	const char *file;
	const char *data;
	struct yframe st[BP_MAX_DEPTH];
	int depth;
	struct bp_tree *root;
};

/* A libyaml mark as a 1-based position. */
static struct bp_pos ypos(const struct yparse *y, yaml_mark_t m)
{
	return (struct bp_pos){y->file, (int)m.line + 1, (int)m.column + 1};
}

/* The position of a byte offset (reader errors carry no mark). */
static struct bp_pos ypos_offset(const struct yparse *y, size_t off)
{
	struct bp_pos p = {y->file, 1, 1};
	for (size_t i = 0; i < off && y->data[i]; i++) {
		p.col = y->data[i] == '\n' ? 1 : p.col + 1;
		p.line += y->data[i] == '\n';
	}
	return p;
}

/* Attach a node to the open container, or make it the root. Consumes t. */
static int yparse_attach(struct yparse *y, struct bp_tree *t)
{
	char d[80];
	if (y->depth == 0) {
		if (y->root == NULL) {
			y->root = t;
			return 0;
		}
		bp_errf(y->c, t->pos, "expected a single YAML document, found another one");
		bp_tree_free(t);
		return -1;
	}
	struct yframe *f = &y->st[y->depth - 1];
	if (f->node->kind == BP_TREE_SEQ) {
		bp_tree_add(f->node, NULL, t->pos, t);
	} else if (f->has_key) {
		bp_tree_add(f->node, f->key, f->kpos, t);
		f->key = NULL;
		f->has_key = false;
	} else if (t->kind == BP_TREE_SCALAR) {
		f->key = t->str;
		t->str = NULL;
		f->kpos = t->pos;
		f->has_key = true;
		bp_tree_free(t);
	} else {
		bp_errf(y->c, t->pos, "expected a plain key (key: value), got %s",
			bp_tree_describe(t, d, sizeof(d)));
		bp_tree_free(t);
		return -1;
	}
	return 0;
}

/* A scalar event. */
static int yparse_scalar(struct yparse *y, const yaml_event_t *ev)
{
	struct bp_tree *t = bp_tree_new(BP_TREE_SCALAR, ypos(y, ev->start_mark));
	t->str = xstrndup((const char *)ev->data.scalar.value, ev->data.scalar.length);
	t->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
	return yparse_attach(y, t);
}

/* A mapping or sequence start. */
static int yparse_open(struct yparse *y, enum bp_tree_kind kind, const yaml_event_t *ev)
{
	struct bp_tree *t = bp_tree_new(kind, ypos(y, ev->start_mark));
	if (y->depth == BP_MAX_DEPTH) {
		bp_errf(y->c, t->pos, "nesting deeper than %d levels", BP_MAX_DEPTH);
		bp_tree_free(t);
		return -1;
	}
	if (yparse_attach(y, t) < 0)
		return -1;
	y->st[y->depth++] = (struct yframe){t, NULL, {0}, false};
	return 0;
}

/* A mapping or sequence end. */
static int yparse_close(struct yparse *y)
{
	struct yframe *f = &y->st[--y->depth];
	if (f->node->kind == BP_TREE_MAP)
		bp_tree_dupkeys(y->c, f->node);
	return 0;
}

/* Dispatch one event. */
static int yparse_event(struct yparse *y, const yaml_event_t *ev)
{
	switch (ev->type) {
	case YAML_SCALAR_EVENT:
		return yparse_scalar(y, ev);
	case YAML_SEQUENCE_START_EVENT:
		return yparse_open(y, BP_TREE_SEQ, ev);
	case YAML_MAPPING_START_EVENT:
		return yparse_open(y, BP_TREE_MAP, ev);
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		return yparse_close(y);
	case YAML_ALIAS_EVENT:
		bp_errf(y->c, ypos(y, ev->start_mark), "aliases (*%s) are not supported; use extends",
			(const char *)ev->data.alias.anchor);
		return -1;
	default:
		return 0;
	}
}

/* Report libyaml's error. */
static void yparse_syntax(struct yparse *y, const yaml_parser_t *p)
{
	struct bp_pos pos = p->error == YAML_READER_ERROR ? ypos_offset(y, p->problem_offset)
							: ypos(y, p->problem_mark);
	const char *problem = p->problem ? p->problem : "cannot parse";
	if (p->context)
		bp_errf(y->c, pos, "YAML syntax error: %s %s", p->context, problem);
	else
		bp_errf(y->c, pos, "YAML syntax error: %s", problem);
}

/* Run the event loop until the stream ends or an error. */
static int yparse_run(struct yparse *y, yaml_parser_t *p)
{
	for (;;) {
		yaml_event_t ev;
		if (!yaml_parser_parse(p, &ev)) {
			yparse_syntax(y, p);
			return -1;
		}
		int rc = yparse_event(y, &ev);
		bool end = ev.type == YAML_STREAM_END_EVENT;
		yaml_event_delete(&ev);
		if (rc < 0)
			return -1;
		if (end)
			return 0;
	}
}

/* Whether the (possibly partial) root mapping has apiVersion: sandbox/v1 as written. */
static bool yparse_declared(const struct yparse *y)
{
	const struct bp_tree *v = y->root && y->root->kind == BP_TREE_MAP ? bp_tree_get(y->root, "apiVersion") : NULL;
	return v && v->kind == BP_TREE_SCALAR && strcmp(v->str, "sandbox/v1") == 0;
}

/* Parse a YAML file into a tree. */
int bp_yaml_parse(struct bp_ctx *c, const char *file, const char *data, size_t len,
	struct bp_tree **out, bool *declared)
{
	struct yparse y = {.c = c, .file = file, .data = data};
	yaml_parser_t p;
	char d[80];
	int rc = -1;
	yaml_parser_initialize(&p);
	yaml_parser_set_input_string(&p, (const unsigned char *)data, len);
	int ran = yparse_run(&y, &p);
	if (declared)
		*declared = yparse_declared(&y);
	if (ran < 0)
		goto out;
	if (y.root == NULL || y.root->kind != BP_TREE_MAP) {
		struct bp_pos pos = y.root ? y.root->pos : (struct bp_pos){file, 1, 1};
		bp_errf(c, pos, "expected a mapping (apiVersion: ..., name: ...) at the top, got %s",
			bp_tree_describe(y.root, d, sizeof(d)));
		goto out;
	}
	*out = y.root;
	y.root = NULL;
	rc = 0;
out:
	for (int i = 0; i < y.depth; i++)
		free(y.st[i].key);
	bp_tree_free(y.root);
	yaml_parser_delete(&p);
	return rc;
}
