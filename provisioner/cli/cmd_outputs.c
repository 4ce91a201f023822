/* cmd_outputs — `sandbox outputs NAME`: what a CI job needs (addresses, SSH key, URLs); the text
 * format (for humans) masks secrets as ****, env and json (for programs) reveal them. */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "env.h"

/* Print in the chosen format. */
static void print_outputs(const struct env_outputs *o, const char *format)
{
	if (strcmp(format, "json") == 0) {
		json_t *j = json_object();
		for (size_t i = 0; i < o->n; i++)
			json_object_set_new(j, o->keys[i], json_string(o->values[i]));
		cli_print_json(j);
		return;
	}
	for (size_t i = 0; i < o->n; i++) {
		if (strcmp(format, "env") == 0) {
			/* plain when safe, else single-quoted for POSIX shells */
			bool plain = o->values[i][strcspn(o->values[i], " \t\n'\"$`\\;&|<>(){}*?#~")] == '\0';
			char *q = plain ? xstrdup(o->values[i]) : sbx_shell_quote(o->values[i]);
			printf("%s=%s\n", o->keys[i], q);
			free(q);
		} else {
			printf("%-28s %s\n", o->keys[i], o->values[i]);
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
	struct env_outputs o = {0};
	int rc = -1;
	if (cli_state_open(&st, &err) == 0)
		rc = env_outputs_get(st, a.pos[0], strcmp(format, "text") != 0, &o, &err);
	if (rc == 0)
		print_outputs(&o, format);
	env_outputs_clear(&o);
	state_close(st);
	return rc == 0 ? 0 : cli_fail(&err);
}
