/*
 * bp_interp — ${...} in scalar values: ${var} and ${var:-default} from --var, ${env.name},
 * ${secret.NAME} kept literally (NAME recorded), $${ for a literal ${.
 */
#include "bp_int.h"

#include <stdlib.h>
#include <string.h>

#define SECRET_PREFIX "secret."

/* Whether a secret name is made of [A-Za-z0-9_-]. */
static bool secret_name_ok(const char *s, size_t n)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-", s[i]) == NULL ||
			s[i] == '\0')
			return false;
	return true;
}

/* Record a secret name (sorted and deduplicated at the end). */
static void secret_add(struct bp_ctx *c, const char *name, size_t n)
{
	xgrow(&c->secrets, &c->capsecrets, c->nsecrets + 1, sizeof(*c->secrets));
	c->secrets[c->nsecrets++] = xstrndup(name, n);
}

/* The value of --var `name` (the last one given wins), or NULL. */
static const char *var_find(const struct bp_ctx *c, const char *name, size_t n)
{
	const char *v = NULL;
	for (size_t i = 0; c->opts && i < c->opts->nvars; i++) {
		const char *k = c->opts->vars[i].key;
		if (k && strlen(k) == n && memcmp(k, name, n) == 0)
			v = c->opts->vars[i].value;
	}
	return v;
}

/* Expand one expression (the text between ${ and }). */
static int interp_expr(struct bp_ctx *c, const struct bp_tree *t, const char *e, size_t n,
	struct sbx_buf *b)
{
	if (n == 8 && memcmp(e, "env.name", 8) == 0) {
		const char *env = c->opts ? c->opts->env_name : NULL;
		sbx_buf_puts(b, env ? env : "<env>");
		return 0;
	}
	if (n > strlen(SECRET_PREFIX) && memcmp(e, SECRET_PREFIX, strlen(SECRET_PREFIX)) == 0) {
		const char *name = e + strlen(SECRET_PREFIX);
		size_t nl = n - strlen(SECRET_PREFIX);
		if (!secret_name_ok(name, nl)) {
			bp_errf(c, t->pos, "invalid secret name \"%.*s\": use letters, digits, '_' and '-'",
				(int)nl, name);
			return -1;
		}
		secret_add(c, name, nl);
		sbx_buf_printf(b, "${%.*s}", (int)n, e);
		return 0;
	}
	const char *dflt = memmem(e, n, ":-", 2);
	size_t nn = dflt ? (size_t)(dflt - e) : n;
	const char *v = nn ? var_find(c, e, nn) : NULL;
	if (v == NULL && dflt == NULL) {
		bp_errf(c, t->pos, "unknown variable \"%.*s\" in \"%s\" (pass --var %.*s=VALUE, or write "
			"${%.*s:-default})", (int)n, e, t->str, (int)n, e, (int)n, e);
		return -1;
	}
	if (v)
		sbx_buf_puts(b, v);
	else
		sbx_buf_add(b, dflt + 2, n - nn - 2);
	return 0;
}

/* Interpolate one scalar; returns the new string or NULL (error reported). */
static char *interp_str(struct bp_ctx *c, const struct bp_tree *t)
{
	struct sbx_buf b = {0};
	const char *s = t->str;
	while (*s) {
		if (s[0] == '$' && s[1] == '$' && s[2] == '{') {
			sbx_buf_puts(&b, "${");
			s += 3;
			continue;
		}
		if (s[0] != '$' || s[1] != '{') {
			sbx_buf_add(&b, s++, 1);
			continue;
		}
		const char *end = strchr(s + 2, '}');
		if (end == NULL) {
			bp_errf(c, t->pos, "unterminated \"${\" in \"%s\" (write $${ for a literal ${)", t->str);
			goto fail;
		}
		if (interp_expr(c, t, s + 2, (size_t)(end - s - 2), &b) < 0)
			goto fail;
		s = end + 1;
	}
	return sbx_buf_steal(&b);
fail:
	sbx_buf_free(&b);
	return NULL;
}

/* Interpolate every scalar of a tree. */
void bp_interp_tree(struct bp_ctx *c, struct bp_tree *t)
{
	if (t->kind == BP_TREE_SCALAR) {
		if (strchr(t->str, '$') == NULL)
			return;
		char *s = interp_str(c, t);
		if (s) {
			free(t->str);
			t->str = s;
		}
		t->bad = s == NULL;
		return;
	}
	for (size_t i = 0; i < t->n; i++)
		bp_interp_tree(c, t->ents[i].val);
}
