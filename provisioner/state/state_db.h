/*
 * state_db — private to provisioner/state/: the handle and the small SQLite helpers every state
 * file shares (prepare/bind/step with errors in sbx_err, nested transactions, row decoding).
 * Not for use outside provisioner/state/.
 *
 * Locking: every public state_* function takes st->mu (a recursive mutex) around its work;
 * the db_* helpers below expect it held.
 */
#ifndef SBX_STATE_DB_H
#define SBX_STATE_DB_H

#include <pthread.h>
#include <stdarg.h>
#include <sqlite3.h>

#include "state.h"

#define STATE_KEY_LEN 32

struct state {
	sqlite3 *db;
	char *path, *dir;
	pthread_mutex_t mu; /* recursive: state_begin holds it until state_commit/state_rollback */
	int txn_depth;      /* open db_begin levels */
	int user_txn;       /* open state_begin levels */
	unsigned char key[STATE_KEY_LEN];
	bool have_key;
	char *ipam_pool;    /* NULL: STATE_IPAM_DEFAULT_POOL */
	char *id;           /* the state id (meta.state_id) */
	char *private_dir;  /* dir/<id>: this state's keys and locks */
	int64_t *avoid;     /* IPAM: /24 blocks (address >> 8) the host's networks already use */
	size_t navoid;
};

/* Take / release the handle's mutex. */
void st_lock(struct state *st);
void st_unlock(struct state *st);

/*
 * Bind the values in `fmt` to `stmt` from parameter 1 on: 's' = const char * (NULL binds NULL),
 * 'i' = int64_t, 'b' = const void * followed by int length. Returns 0, or -1 with err set.
 */
int db_bindv(struct state *st, sqlite3_stmt *stmt, const char *fmt, va_list ap, struct sbx_err *err);
/* Prepare `sql` and bind the values of `fmt` (see db_bindv). *out is finalized by the caller. */
int db_prep(struct state *st, sqlite3_stmt **out, struct sbx_err *err, const char *sql,
	const char *fmt, ...);
/* Step once: 1 = a row, 0 = done, -1 = error (err set, naming the SQLite message). */
int db_step(struct state *st, sqlite3_stmt *stmt, struct sbx_err *err);
/* Prepare, bind, run to completion, finalize. Returns 0 or -1. *changes (may be NULL) = rows changed. */
int db_exec(struct state *st, struct sbx_err *err, int *changes, const char *sql, const char *fmt, ...);
int db_execv(struct state *st, struct sbx_err *err, int *changes, const char *sql, const char *fmt,
	va_list ap);
/* Run a one-value query: *found = whether a row came back; *v = its first column (0 when NULL). */
int db_int(struct state *st, struct sbx_err *err, int64_t *v, bool *found, const char *sql,
	const char *fmt, ...);
/* Run a one-value text query: *out = a copy of the first column of the first row, NULL if none. */
int db_text(struct state *st, struct sbx_err *err, char **out, const char *sql, const char *fmt, ...);
/* Add an error naming the last SQLite failure, prefixed with `what`. Returns -1. */
int db_fail(struct state *st, struct sbx_err *err, const char *what);

/* Whether the last failure on the connection had this extended result code. */
bool db_last_is(struct state *st, int extended_code);

/* Open a (possibly nested) write transaction: BEGIN IMMEDIATE at depth 0, SAVEPOINT deeper. */
int db_begin(struct state *st, struct sbx_err *err);
/* Commit the innermost level. On failure the level is rolled back. */
int db_commit(struct state *st, struct sbx_err *err);
/* Roll back the innermost level (errors ignored: nothing useful to do). */
void db_rollback(struct state *st);
/* Finish the innermost level: commit when rc == 0, else roll back. Returns rc or the commit's -1. */
int db_end(struct state *st, int rc, struct sbx_err *err);

/* A copy of column i (NULL stays NULL); caller frees. */
char *db_col_str(sqlite3_stmt *stmt, int i);

/* Whether a name is usable as a lock file name / key part: non-empty, no '/', not "." or "..". */
bool state_name_ok(const char *s);

/* Secrets need the key: load it (creating it on first use). */
int state_key_load(struct state *st, struct sbx_err *err);

#endif
