/*
 * state_fix — the one SQLite fixture of the provisioner's tests: a private temp directory with a
 * state in it, removed afterwards, and a helper that records environments.
 */
#ifndef SBX_STATE_FIX_H
#define SBX_STATE_FIX_H

#include <stdbool.h>
#include <stdint.h>

#include "state.h"

struct state_fix {
	char dir[64];       /* /tmp/sbx-test-TAG-XXXXXX */
	char *db;           /* DIR[/SUB]/state.db */
	char *key;          /* the secrets' key file beside it */
	struct state *st;   /* open */
};

/* A new temp dir named after `tag` and a state at DIR/SUB/state.db (sub NULL: DIR/state.db, the
 * subdirectory not created beforehand). Fails the running test on error. */
struct state_fix *state_fix_new(const char *tag, const char *sub);
/* Close the state and remove the directory; NULL is a no-op. */
void state_fix_free(struct state_fix *f);
/* cmocka setup/teardown over a struct state_fix in *ctx (tag "state", no subdirectory). */
int state_fix_setup(void **ctx);
int state_fix_teardown(void **ctx);
/* Record an environment (fails the running test on error). */
void state_fix_env(struct state *st, const char *name, int64_t expires, bool protect);

#endif
