/*
 * cmd_secret — `sandbox secret set|list|rm ENV [NAME]`: the values of a blueprint's ${secret.NAME}.
 * `set` reads the value from stdin (never from the command line, where ps and shell histories see
 * it); one trailing newline is dropped, so `echo` and a file both work. `list` shows names only.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include "cli.h"
#include "env.h"

#define SECRET_VALUE_MAX (64 * 1024)

/* Read the value from stdin: at most SECRET_VALUE_MAX bytes, no NUL, one trailing newline dropped. */
static int read_value(const char *name, char **out, struct sbx_err *err)
{
	char *v = xmalloc(SECRET_VALUE_MAX + 2);
	size_t n = fread(v, 1, SECRET_VALUE_MAX + 1, stdin);
	int rc = -1;
	if (ferror(stdin))
		sbx_err_set(err, SBX_EXIT_FAILED, "secret %s: cannot read the value from stdin", name);
	else if (n > SECRET_VALUE_MAX)
		sbx_err_set(err, SBX_EXIT_USAGE, "secret %s: the value is longer than %d bytes", name, SECRET_VALUE_MAX);
	else if (memchr(v, '\0', n))
		sbx_err_set(err, SBX_EXIT_USAGE, "secret %s: the value holds a NUL byte", name);
	else
		rc = 0;
	if (rc == 0 && n > 0 && v[n - 1] == '\n')
		n -= n > 1 && v[n - 2] == '\r' ? 2 : 1;
	v[n] = '\0';
	if (rc == 0) {
		*out = v;
		return 0;
	}
	OPENSSL_cleanse(v, SECRET_VALUE_MAX + 2);
	free(v);
	sbx_err_hint(err, "printf %%s \"$VALUE\" | sandbox secret set ENV %s", name);
	return -1;
}

/* `secret set ENV NAME`: the value from stdin. */
static int secret_set(struct state *st, const char *env, const char *name, struct sbx_err *err)
{
	char *value = NULL;
	if (isatty(STDIN_FILENO))
		fprintf(stderr, "reading the value of secret %s from stdin (end with Ctrl-D)\n", name);
	if (read_value(name, &value, err) < 0)
		return -1;
	int rc = env_secret_set(st, env, name, value, err);
	OPENSSL_cleanse(value, strlen(value));
	free(value);
	if (rc == 0)
		printf("secret %s set for environment %s\n", name, env);
	return rc;
}

/* `secret list ENV`: names only. */
static int secret_list(struct state *st, const char *env, bool json, struct sbx_err *err)
{
	char **names = NULL;
	size_t n = 0;
	if (env_secret_list(st, env, &names, &n, err) < 0)
		return -1;
	json_t *a = json ? json_array() : NULL;
	for (size_t i = 0; i < n; i++) {
		if (a)
			json_array_append_new(a, json_string(names[i]));
		else
			printf("%s\n", names[i]);
	}
	if (a)
		cli_print_json(json_pack("{s:s, s:o}", "env", env, "secrets", a));
	state_strv_free(names, n);
	return 0;
}

/* `secret rm ENV NAME`. */
static int secret_rm(struct state *st, const char *env, const char *name, struct sbx_err *err)
{
	if (env_secret_rm(st, env, name, err) < 0)
		return -1;
	printf("secret %s removed from environment %s\n", name, env);
	return 0;
}

/* Set, list or remove the secrets of an environment. */
int cmd_secret(int argc, char **argv)
{
	struct sbx_err err = SBX_ERR_INIT;
	bool json = false;
	const struct cli_opt opts[] = {CLI_FLAG("json", 0, &json, "list: print JSON"), CLI_END};
	const struct cli_opt_syntax syn = {"secret", opts, "set|list|rm ENV [NAME]", 2, 3, NULL};
	struct cli_opt_args a;
	if (cli_opt_parse(&syn, argc, argv, &a) < 0)
		return a.exit;
	const char *verb = a.pos[0], *env = a.pos[1], *name = a.npos > 2 ? a.pos[2] : NULL;
	bool list = strcmp(verb, "list") == 0;
	if (!list && strcmp(verb, "set") != 0 && strcmp(verb, "rm") != 0)
		return cli_opt_error(&syn, "expected set, list or rm, got \"%s\"", verb);
	if (list ? name != NULL : name == NULL)
		return cli_opt_error(&syn, "secret %s takes %s", verb, list ? "ENV" : "ENV NAME");
	struct state *st = NULL;
	int rc = cli_state_open(&st, &err);
	if (rc == 0)
		rc = list ? secret_list(st, env, json, &err) : strcmp(verb, "set") == 0 ? secret_set(st, env, name, &err) :
			secret_rm(st, env, name, &err);
	state_close(st);
	return rc == 0 ? 0 : cli_fail(&err);
}
