/* state_fix — a private state for a test, and environments in it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>

#include "state_fix.h"

/* A temp dir and a state in it. */
struct state_fix *state_fix_new(const char *tag, const char *sub)
{
	struct state_fix *f = xcalloc(1, sizeof(*f));
	struct sbx_err err = SBX_ERR_INIT;
	snprintf(f->dir, sizeof(f->dir), "/tmp/sbx-test-%s-XXXXXX", tag);
	if (mkdtemp(f->dir) == NULL)
		fail_msg("mkdtemp %s failed", f->dir);
	f->db = sub ? xasprintf("%s/%s/state.db", f->dir, sub) : xasprintf("%s/state.db", f->dir);
	f->key = sub ? xasprintf("%s/%s/key", f->dir, sub) : xasprintf("%s/key", f->dir);
	if (state_open(f->db, &f->st, &err) < 0)
		fail_msg("state_open %s: %s", f->db, sbx_err_first(&err));
	return f;
}

/* Close and remove everything. */
void state_fix_free(struct state_fix *f)
{
	if (f == NULL)
		return;
	state_close(f->st);
	sbx_rm_rf(f->dir);
	free(f->db);
	free(f->key);
	free(f);
}

/* cmocka setup. */
int state_fix_setup(void **ctx)
{
	*ctx = state_fix_new("state", NULL);
	return 0;
}

/* cmocka teardown. */
int state_fix_teardown(void **ctx)
{
	state_fix_free(*ctx);
	return 0;
}

/* Record an environment. */
void state_fix_env(struct state *st, const char *name, int64_t expires, bool protect)
{
	struct sbx_err err = SBX_ERR_INIT;
	struct state_env e = {.name = (char *)name, .blueprint = "/bp.yaml", .bp_hash = "h1", .bp_json = "{}",
		.owner = "me@host", .expires = expires, .protected = protect};
	if (state_env_create(st, &e, &err) < 0)
		fail_msg("create %s: %s", name, sbx_err_first(&err));
}
