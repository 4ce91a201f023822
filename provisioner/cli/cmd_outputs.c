/* cmd_outputs — `sandbox outputs NAME`: what a CI job needs (addresses, SSH key, URLs). */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "ssh.h"
#include "env.h"

/*
 * Outputs are (key, value) pairs. Values recorded by roles may contain ${secret.NAME}; the text
 * format (for humans) shows them as "****", the env and json formats (for programs) resolve them.
 */
struct out {
	char **k, **v;
	size_t n;
};

/* Add one output (takes ownership of value). */
static void out_add(struct out *o, const char *key, char *value)
{
	o->k = xrealloc(o->k, (o->n + 1) * sizeof(char *));
	o->v = xrealloc(o->v, (o->n + 1) * sizeof(char *));
	o->k[o->n] = xstrdup(key);
	o->v[o->n++] = value;
}

/* "web-0" → "WEB_0". */
static char *env_key(const char *prefix, const char *name, const char *suffix)
{
	char *s = xasprintf("%s%s%s", prefix, name, suffix);
	for (char *p = s; *p; p++)
		*p = *p == '-' ? '_' : (char)toupper((unsigned char)*p);
	return s;
}

/* Replace ${secret.NAME} in v by the secret (reveal) or by ****. */
static char *resolve(struct state *st, const char *env, const char *v, bool reveal, struct sbx_err *err)
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

/* Collect every output of the environment. */
static int collect(struct state *st, const struct state_env *e, bool reveal, struct out *o, struct sbx_err *err)
{
	struct env_node *nodes = NULL;
	struct state_res *res = NULL;
	size_t n = 0, nres = 0;
	if (env_nodes(st, e->name, &nodes, &n, err) < 0 || state_res_list(st, e->name, &res, &nres, err) < 0) {
		env_nodes_free(nodes, n);
		return -1;
	}
	out_add(o, "SANDBOX_ENV", xstrdup(e->name));
	out_add(o, "SANDBOX_SSH_USER", xstrdup("sandbox"));
	out_add(o, "SANDBOX_SSH_KEY", env_key_path(st, e->name));
	out_add(o, "SANDBOX_KNOWN_HOSTS", env_known_hosts_path(st, e->name));
	for (size_t i = 0; i < n; i++) {
		char *k = env_key("SANDBOX_NODE_", nodes[i].instance, "_IP");
		out_add(o, k, xstrdup(nodes[i].ip ? nodes[i].ip : ""));
		free(k);
	}
	int rc = 0;
	for (size_t i = 0; i < nres && rc == 0; i++) {
		if (strcmp(res[i].type, ENV_ROW_OUTPUT) != 0)
			continue;
		char *v = resolve(st, e->name, res[i].spec ? res[i].spec : "", reveal, err);
		rc = v ? 0 : -1;
		if (v)
			out_add(o, res[i].name, v);
	}
	env_nodes_free(nodes, n);
	state_res_list_free(res, nres);
	return rc;
}

/* Print in the chosen format. */
static void print_outputs(const struct out *o, const char *format)
{
	if (strcmp(format, "json") == 0) {
		json_t *j = json_object();
		for (size_t i = 0; i < o->n; i++)
			json_object_set_new(j, o->k[i], json_string(o->v[i]));
		cli_print_json(j);
		return;
	}
	for (size_t i = 0; i < o->n; i++) {
		if (strcmp(format, "env") == 0) {
			/* plain when safe, else single-quoted for POSIX shells */
			bool plain = o->v[i][strcspn(o->v[i], " \t\n'\"$`\\;&|<>(){}*?#~")] == '\0';
			char *q = plain ? xstrdup(o->v[i]) : ssh_quote(o->v[i]);
			printf("%s=%s\n", o->k[i], q);
			free(q);
		} else {
			printf("%-28s %s\n", o->k[i], o->v[i]);
		}
	}
}

/* Print outputs. */
int cmd_outputs(int argc, char **argv)
{
	struct sbx_err err = SBX_ERR_INIT;
	const char *format = "text";
	bool json = false;
	const struct cli_opt opts[] = {
		CLI_ENUM("format", 'f', &format, "text|env|json", "text masks the secrets; env and json are for programs"),
		CLI_FLAG("json", 0, &json, "the same as --format json"),
		CLI_END};
	const struct cli_opt_syntax syn = {"outputs", opts, "NAME", 1, 1, NULL};
	struct cli_opt_args a;
	if (cli_opt_parse(&syn, argc, argv, &a) < 0)
		return a.exit;
	if (json)
		format = "json";
	struct state *st = NULL;
	struct state_env *e = NULL;
	struct out o = {0};
	int rc = -1;
	if (cli_state_open(&st, &err) == 0 && cli_env_get(st, a.pos[0], &e, &err) == 0)
		rc = collect(st, e, strcmp(format, "text") != 0, &o, &err);
	if (rc == 0)
		print_outputs(&o, format);
	for (size_t i = 0; i < o.n; i++) {
		free(o.k[i]);
		free(o.v[i]);
	}
	free(o.k);
	free(o.v);
	state_env_free(e);
	state_close(st);
	return rc == 0 ? 0 : cli_fail(&err);
}
