/*
 * env_manifest — the platform manifests of cluster/manifests/ rendered for one namespace: ${NAME}
 * is replaced by its value; a line naming a variable without a value is left out; a line naming a
 * list variable is repeated once per value.
 */
#include "env_int.h"

#include <stdlib.h>
#include <string.h>

/* The variable named at p ("${NAME}..."), or NULL; *len: the reference's length. */
static const struct env_tvar *var_at(const char *p, const struct env_tvar *vars, size_t n, size_t *len)
{
	if (strncmp(p, "${", 2) != 0)
		return NULL;
	const char *end = strchr(p, '}');
	if (end == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (strlen(vars[i].name) == (size_t)(end - p - 2) && strncmp(p + 2, vars[i].name, (size_t)(end - p - 2)) == 0) {
			*len = (size_t)(end - p) + 1;
			return &vars[i];
		}
	return NULL;
}

/* How many times a line is emitted: 0 when it names an empty variable, the count of a list. */
static size_t line_copies(const char *line, size_t len, const struct env_tvar *vars, size_t n)
{
	size_t copies = 1, vlen;
	for (const char *p = line; p < line + len; p++) {
		const struct env_tvar *v = var_at(p, vars, n, &vlen);
		if (v == NULL)
			continue;
		if (v->n == 0 || v->values[0] == NULL || *v->values[0] == '\0')
			return 0;
		copies = v->n > 1 ? v->n : copies;
	}
	return copies;
}

/* Emit copy k of a line with its variables replaced. */
static void line_emit(struct sbx_buf *b, const char *line, size_t len, size_t k, const struct env_tvar *vars,
	size_t n)
{
	size_t vlen;
	for (const char *p = line; p < line + len;) {
		const struct env_tvar *v = var_at(p, vars, n, &vlen);
		if (v) {
			sbx_buf_puts(b, v->values[v->n > 1 ? k : 0]);
			p += vlen;
		} else {
			sbx_buf_add(b, p++, 1);
		}
	}
	sbx_buf_puts(b, "\n");
}

/* Render a template text. */
char *env_manifest_render(const char *text, const struct env_tvar *vars, size_t n)
{
	struct sbx_buf b = {0};
	for (const char *line = text; *line;) {
		size_t len = strcspn(line, "\n");
		size_t copies = line_copies(line, len, vars, n);
		for (size_t k = 0; k < copies; k++)
			line_emit(&b, line, len, k, vars, n);
		line += len + (line[len] == '\n');
	}
	return b.len ? sbx_buf_steal(&b) : xstrdup("");
}

/* Read and render one manifest template of dir into set. */
int env_manifest_add(struct k8s_manifest_set *set, const char *dir, const char *file, const struct env_tvar *vars,
	size_t n, struct sbx_err *err)
{
	char *path = xasprintf("%s/manifests/%s", dir, file), *text = NULL;
	size_t len = 0;
	int rc = sbx_read_file(path, &text, &len, err);
	if (rc == 0) {
		char *out = env_manifest_render(text, vars, n);
		rc = k8s_manifests_add_text(set, path, out, strlen(out), false, err);
		free(out);
	}
	free(text);
	free(path);
	return rc;
}
