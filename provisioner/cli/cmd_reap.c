/* cmd_reap — `sandbox reap`: claim and destroy every expired environment. */
#include <limits.h>
#include <stdlib.h>
#include <unistd.h>

#include "cli.h"
#include "event.h"
#include "exec.h"
#include "stack.h"

#define REAP_STALE_CLAIM_S 3600

/* Destroy one claimed environment; returns 0 or -1 (errors in err, prefixed). */
static int reap_one(struct state *st, const char *name, struct ev_sink *ev, struct sbx_err *err)
{
	struct stack_down_opts o = {name, NULL, 0, 0, true, ev};
	struct stack_receipt r = {0};
	struct sbx_err e = SBX_ERR_INIT;
	int rc = stack_down(st, &o, &r, &e);
	if (rc == 0)
		ev_emit(ev, name, "reap.done", NULL, NULL, NULL, "reaped %s: %zu resource(s) removed, nothing left in libvirt",
			name, r.nremoved);
	else
		for (size_t i = 0; i < e.n; i++)
			sbx_err_set(err, e.code, "reap %s: %s", name, e.msgs[i].text);
	sbx_err_clear(&e);
	stack_receipt_clear(&r);
	return rc;
}

/* Reap expired environments. */
int cmd_reap(int argc, char **argv)
{
	struct sbx_err err = SBX_ERR_INIT;
	bool json = false;
	const struct cli_opt opts[] = {CLI_FLAG("json", 0, &json, "print the events as JSON lines"), CLI_END};
	const struct cli_opt_syntax syn = {"reap", opts, NULL, 0, 0, NULL};
	struct cli_opt_args a;
	if (cli_opt_parse(&syn, argc, argv, &a) < 0)
		return a.exit;
	char host[HOST_NAME_MAX + 1] = "localhost";
	gethostname(host, sizeof(host) - 1);
	char *me = xasprintf("reaper@%s:%d", host, (int)getpid());
	struct state *st = NULL;
	char **names = NULL;
	size_t n = 0, failed = 0;
	struct ev_sink *ev = cli_ev_new(json);
	exec_install_signals();
	int rc = cli_state_open(&st, &err);
	if (rc == 0)
		rc = state_env_claim_expired(st, sbx_now(), me, REAP_STALE_CLAIM_S, &names, &n, &err);
	for (size_t i = 0; rc == 0 && i < n; i++)
		failed += reap_one(st, names[i], ev, &err) < 0;
	ev_emit(ev, NULL, "reap.summary", NULL, NULL, NULL, "reap: %zu expired, %zu reaped, %zu failed", n,
		n - failed, failed);
	ev_sink_free(ev);
	state_strv_free(names, n);
	state_close(st);
	free(me);
	return rc == 0 && failed == 0 ? 0 : cli_fail(&err);
}
