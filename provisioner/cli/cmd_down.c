/* cmd_down — `sandbox down NAME`: destroy an environment and print a receipt. */
#include <getopt.h>
#include <stdlib.h>

#include <jansson.h>

#include "cli.h"
#include "event.h"
#include "exec.h"
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
		printf("  re-query of libvirt: nothing tagged with %s remains\n", env);
	printf("  state: %s\n", r->env_removed ? "environment removed" : "environment kept (see errors)");
}

/* Tear an environment down. */
int cmd_down(int argc, char **argv)
{
	static const struct option opts[] = {
		{"confirm", required_argument, NULL, 'c'}, {"json", no_argument, NULL, 'j'},
		{"wait-lock", required_argument, NULL, 'w'}, {"parallel", required_argument, NULL, 'p'},
		{0, 0, 0, 0}};
	struct env_down_opts o = {0};
	struct sbx_err err = SBX_ERR_INIT;
	bool json = false;
	int64_t secs;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'c')
			o.confirm = optarg;
		else if (c == 'j')
			json = true;
		else if (c == 'w' && cli_duration("down", "--wait-lock", optarg, &secs) == 0)
			o.wait_lock = (int)secs;
		else if (c == 'p')
			o.parallel = (int)strtol(optarg, NULL, 10);
		else
			return c == 'w' ? SBX_EXIT_USAGE : cli_usage_error("down", "unknown option");
	}
	if (optind != argc - 1)
		return cli_usage_error("down", "expected one environment NAME");
	o.env = argv[optind];
	o.ev = cli_ev_new(json);
	exec_install_signals();
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
