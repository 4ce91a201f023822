/*
 * state_fix — the one state fixture of the provisioner's tests: a private temp directory with a
 * state in it, removed afterwards, and a helper that records environments.
 *
 * With SBX_TEST_PG_URL set (a postgresql:// URL of a scratch server, tests/lib/pg.sh), every state
 * path DIR/.../state.db names instead a PostgreSQL schema of its own on that server (made on first
 * use), with DIR/... as the state's local directory: the same tests run against both backends.
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

/* Whether the states are on PostgreSQL (SBX_TEST_PG_URL). */
bool state_fix_pg(void);
/* Open the state that `path` names (a SQLite file, or its PostgreSQL schema). */
int state_fix_open(const char *path, struct state **st, struct sbx_err *err);
/* The location state_fix_open opens for path: path itself, or a URL (caller frees). */
char *state_fix_location(const char *path);

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
/* Whether the file at path holds the bytes s (false when it cannot be read): a secret must not be
 * found in clear in a state file. */
bool state_fix_file_has(const char *path, const char *s);

#endif
