/* cmd_down — `sandbox down NAME`: destroy an environment and print a receipt. */
#include <stdlib.h>

#include <jansson.h>

#include "cli.h"
#include "event.h"
#include "env.h"

/* Print what was removed and what a re-query found. */
static void print_receipt(const char *env, const struct env_receipt *r, bool json)
{
	if (json) {
		json_t *rem = json_array(), *left = json_array();
		for (size_t i = 0; i < r->nremoved; i++)
			json_array_append_new(rem, json_string(r->removed[i]));
		for (size_t i = 0; i < r->nremaining; i++)
			json_array_append_new(left, json_string(r->remaining[i]));
		json_t *o = json_pack("{s:s, s:s, s:o, s:o, s:b}", "event", "down.receipt", "env", env, "removed", rem,
			"remaining", left, "state_removed", r->env_removed);
		char *s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
		printf("%s\n", s);
		free(s);
		json_decref(o);
		return;
	}
	printf("Receipt for %s:\n", env);
	for (size_t i = 0; i < r->nremoved; i++)
		printf("  removed   %s\n", r->removed[i]);
	if (r->nremoved == 0)
		printf("  removed   nothing (no resources were recorded)\n");
	for (size_t i = 0; i < r->nremaining; i++)
		printf("  REMAINING %s\n", r->remaining[i]);
	if (r->nremaining == 0)
		printf("  re-query: nothing tagged with %s remains\n", env);
	printf("  state: %s\n", r->env_removed ? "environment removed" : "environment kept (see errors)");
}

/* Tear an environment down. */
int cmd_down(int argc, char **argv)
{
	struct env_down_opts o = {0};
	struct sbx_err err = SBX_ERR_INIT;
	bool json = false;
	int64_t secs = 0;
	const struct cli_opt opts[] = {
		CLI_STRING("confirm", 0, &o.confirm, "NAME", "destroy a protected environment: NAME repeats its name"),
		CLI_FLAG("json", 0, &json, "print the events and the receipt as JSON lines"),
		CLI_DURATION("wait-lock", 0, &secs, "D", "wait up to D for another command's lock on the environment"),
		CLI_INT("parallel", 0, &o.parallel, "N", 1, 256, "delete at most N resources at once (default 16)"),
		CLI_END};
	const struct cli_opt_syntax syn = {"down", opts, "NAME", 1, 1, NULL};
	struct cli_opt_args a;
	if (cli_opt_parse(&syn, argc, argv, &a) < 0)
		return a.exit;
	o.wait_lock = (int)secs;
	o.env = a.pos[0];
	o.ev = cli_ev_new(json);
	env_interrupt_on_signals();
	struct state *st = NULL;
	struct env_receipt r = {0};
	int rc = cli_state_open(&st, &err);
	if (rc == 0)
		rc = env_down(cli_cfg, st, &o, &r, &err);
	ev_sink_free(o.ev);
	if (r.env_removed || r.nremoved || r.nremaining)
		print_receipt(o.env, &r, json);
	env_receipt_clear(&r);
	state_close(st);
	return rc == 0 ? 0 : cli_fail(&err);
}
