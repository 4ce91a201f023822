/* env_outputs — what a CI job needs from an environment: addresses, SSH key, role outputs. */
#include "env_int.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* Add one output (takes ownership of value). */
static void out_add(struct env_outputs *o, const char *key, char *value)
{
	o->keys = xrealloc(o->keys, (o->n + 1) * sizeof(char *));
	o->values = xrealloc(o->values, (o->n + 1) * sizeof(char *));
	o->keys[o->n] = xstrdup(key);
	o->values[o->n++] = value;
}

/* "web-0" → "SANDBOX_NODE_WEB_0_IP". */
static char *node_key(const char *instance)
{
	char *s = xasprintf("SANDBOX_NODE_%s_IP", instance);
	for (char *p = s; *p; p++)
		*p = *p == '-' ? '_' : (char)toupper((unsigned char)*p);
	return s;
}

/* Replace ${secret.NAME} in v by the secret (reveal) or by ****. */
char *env_output_resolve(struct state *st, const char *env, const char *v, bool reveal, struct sbx_err *err)
{
	struct sbx_buf b = {0};
	const char *p = v;
	for (const char *s; (s = strstr(p, "${secret.")) != NULL;) {
		const char *end = strchr(s, '}');
		if (end == NULL)
			break;
		sbx_buf_add(&b, p, (size_t)(s - p));
		char *name = xstrndup(s + 9, (size_t)(end - s - 9)), *val = NULL;
		if (reveal && state_secret_get(st, env, name, &val, err) < 0) {
			free(name);
			sbx_buf_free(&b);
			return NULL;
		}
		sbx_buf_puts(&b, reveal && val ? val : "****");
		free(val);
		free(name);
		p = end + 1;
	}
	sbx_buf_puts(&b, p);
	return sbx_buf_steal(&b);
}

/* The environment's fixed outputs and its node addresses. */
static void outputs_nodes(struct state *st, const char *env, const struct env_node *nodes, size_t n,
	struct env_outputs *o)
{
	out_add(o, "SANDBOX_ENV", xstrdup(env));
	out_add(o, "SANDBOX_SSH_USER", xstrdup("sandbox"));
	out_add(o, "SANDBOX_SSH_KEY", env_key_path(st, env));
	out_add(o, "SANDBOX_KNOWN_HOSTS", env_known_hosts_path(st, env));
	for (size_t i = 0; i < n; i++) {
		char *k = node_key(nodes[i].instance);
		out_add(o, k, xstrdup(nodes[i].ip ? nodes[i].ip : ""));
		free(k);
	}
}

/* Collect every output of the environment. */
int env_outputs_get(struct state *st, const char *name, bool reveal, struct env_outputs *out, struct sbx_err *err)
{
	struct state_env *e = NULL;
	struct env_node *nodes = NULL;
	struct env_rows rows = {0};
	struct env_outputs o = {0};
	size_t n = 0;
	int rc = -1;
	if (env_get(st, name, &e, err) < 0 || env_nodes(st, name, &nodes, &n, err) < 0 ||
		env_rows_load(st, name, &rows, err) < 0)
		goto out;
	outputs_nodes(st, name, nodes, n, &o);
	rc = 0;
	for (size_t i = 0; i < rows.nrows && rc == 0; i++) {
		if (strcmp(rows.rows[i].type, ENV_ROW_OUTPUT) != 0)
			continue;
		char *v = env_output_resolve(st, name, rows.rows[i].spec ? rows.rows[i].spec : "", reveal, err);
		rc = v ? 0 : -1;
		if (v)
			out_add(&o, rows.rows[i].name, v);
	}
out:
	if (rc == 0)
		*out = o;
	else
		env_outputs_clear(&o);
	env_rows_clear(&rows);
	env_nodes_free(nodes, n);
	state_env_free(e);
	return rc;
}

/* Free the outputs. */
void env_outputs_clear(struct env_outputs *o)
{
	for (size_t i = 0; i < o->n; i++) {
		free(o->keys[i]);
		free(o->values[i]);
	}
	free(o->keys);
	free(o->values);
	*o = (struct env_outputs){0};
}
