/*
 * state_db — private to provisioner/state/: the handle and the small SQL helpers every state
 * file shares (query/bind/rows with errors in sbx_err, nested transactions, row decoding), over a
 * backend table (state_sqlite.c: a SQLite file; state_pg.c: PostgreSQL through libpq).
 * Not for use outside provisioner/state/.
 *
 * Portable SQL: `?` and `?N` placeholders (the PostgreSQL backend turns them into $n), ON CONFLICT
 * clauses, no rowid outside `ORDER BY rowid` of res (a column on PostgreSQL), no PRAGMA.
 *
 * Locking: every public state_* function takes st->mu (a recursive mutex) around its work;
 * the db_* helpers below expect it held.
 */
#ifndef SBX_STATE_DB_H
#define SBX_STATE_DB_H

#include <pthread.h>
#include <stdarg.h>

#include "state.h"

#define STATE_KEY_LEN 32

/* The kinds of constraint failure callers tell apart (db_last_is). */
enum db_errkind { DB_ERR_OTHER, DB_ERR_FOREIGNKEY, DB_ERR_UNIQUE, DB_ERR_CHECK };

struct state;
struct db_backend;

/* Rows of one statement; each backend's own struct starts with this. */
struct db_rows {
	const struct db_backend *be;
};

/* A database backend: one connection per handle; every call with st->mu held. */
struct db_backend {
	const char *name;
	/* Connect (st->path) and configure the connection. */
	int (*open)(struct state *st, struct sbx_err *err);
	void (*close)(struct state *st);
	/* Run `sql` with the values of fmt bound; *out: the rows to read (db_next). */
	int (*query)(struct state *st, struct db_rows **out, const char *sql, const char *fmt, va_list ap,
		struct sbx_err *err);
	/* 1 = a row, 0 = done, -1 = error. */
	int (*next)(struct state *st, struct db_rows *r, struct sbx_err *err);
	const char *(*col_text)(struct db_rows *r, int i);
	int64_t (*col_int)(struct db_rows *r, int i);
	const void *(*col_blob)(struct db_rows *r, int i, size_t *len);
	/* Rows changed by the statement (after its last db_next). */
	int (*changes)(struct state *st, struct db_rows *r);
	void (*done)(struct db_rows *r);
	/* Run fixed statements (several, separated by ';'); no values. */
	int (*run)(struct state *st, const char *sql, struct sbx_err *err);
	/* Whether the server abandoned the open transaction after an error. */
	bool (*txn_lost)(struct state *st);
	int (*fail)(struct state *st, struct sbx_err *err, const char *what);
	/* Whether the connection to the server is gone (NULL: an embedded database, never). */
	bool (*conn_lost)(struct state *st);
	/* Connect again (after conn_lost); 0 once connected. */
	int (*reconnect)(struct state *st, struct sbx_err *err);
	enum db_errkind (*last_kind)(struct state *st);
	/* What opens a write transaction (one writer at a time, like SQLite's BEGIN IMMEDIATE). */
	const char *begin_sql;
	/* The schema steps: step i takes version i to i + 1. */
	const char *const *migrations;
	size_t nmigrations;
	int (*version_get)(struct state *st, int64_t *v, struct sbx_err *err);
	int (*version_set)(struct state *st, int64_t v, struct sbx_err *err);
};

extern const struct db_backend db_sqlite, db_pg;

/* Whether a state location names a PostgreSQL database (postgres:// or postgresql://). */
bool state_is_url(const char *location);
/* A URL without its password, for messages and logs; caller frees. */
char *db_url_shown(const char *url);

struct state {
	const struct db_backend *be;
	void *conn;         /* the backend's connection */
	char *path, *dir;   /* path: the location (file or URL); dir: the local directory */
	char *shown;        /* path without a password (state_location) */
	pthread_mutex_t mu; /* recursive: state_begin holds it until state_commit/state_rollback */
	int txn_depth;      /* open db_begin levels */
	int user_txn;       /* open state_begin levels */
	unsigned char key[STATE_KEY_LEN];
	bool have_key;
	char *ipam_pool;    /* NULL: STATE_IPAM_DEFAULT_POOL */
	int64_t outbox_cap; /* 0: STATE_OUTBOX_CAP */
	char *id;           /* the state id (meta.state_id) */
	char *private_dir;  /* dir/<id>: this state's keys and locks */
	int64_t *avoid;     /* IPAM: /24 blocks (address >> 8) the host's networks already use */
	size_t navoid;
};

/* Take / release the handle's mutex. */
void st_lock(struct state *st);
void st_unlock(struct state *st);

/*
 * Run `sql` with the values in `fmt` bound from parameter 1 on: 's' = const char * (NULL binds
 * NULL), 'i' = int64_t, 'b' = const void * followed by int length. *out is freed by the caller
 * (db_done). Returns 0, or -1 with err set.
 */
int db_query(struct state *st, struct db_rows **out, struct sbx_err *err, const char *sql,
	const char *fmt, ...);
/* The next row: 1 = a row, 0 = done, -1 = error (err set, naming the database's message). */
int db_next(struct state *st, struct db_rows *r, struct sbx_err *err);
/* Column i of the current row as an integer (0 when NULL). */
int64_t db_col_int(struct db_rows *r, int i);
/* Column i as bytes (valid until the next db_next/db_done); *len its length. */
const void *db_col_blob(struct db_rows *r, int i, size_t *len);
/* Free the rows; NULL is a no-op. */
void db_done(struct state *st, struct db_rows *r);
/* Prepare, bind, run to completion, finalize. Returns 0 or -1. *changes (may be NULL) = rows changed. */
int db_exec(struct state *st, struct sbx_err *err, int *changes, const char *sql, const char *fmt, ...);
int db_execv(struct state *st, struct sbx_err *err, int *changes, const char *sql, const char *fmt,
	va_list ap);
/* Run a one-value query: *found = whether a row came back; *v = its first column (0 when NULL). */
int db_int(struct state *st, struct sbx_err *err, int64_t *v, bool *found, const char *sql,
	const char *fmt, ...);
/* Run a one-value text query: *out = a copy of the first column of the first row, NULL if none. */
int db_text(struct state *st, struct sbx_err *err, char **out, const char *sql, const char *fmt, ...);
/* Add an error naming the last database failure, prefixed with `what`. Returns -1. */
int db_fail(struct state *st, struct sbx_err *err, const char *what);

/* Whether the last failure on the connection was this kind of constraint. */
bool db_last_is(struct state *st, enum db_errkind kind);
/* Run fixed statements (no values). */
int db_run(struct state *st, const char *sql, struct sbx_err *err);

/* Open a (possibly nested) write transaction: the backend's begin_sql at depth 0, SAVEPOINT deeper. */
int db_begin(struct state *st, struct sbx_err *err);
/* Commit the innermost level. On failure the level is rolled back. */
int db_commit(struct state *st, struct sbx_err *err);
/* Roll back the innermost level (errors ignored: nothing useful to do). */
void db_rollback(struct state *st);
/* Finish the innermost level: commit when rc == 0, else roll back. Returns rc or the commit's -1. */
int db_end(struct state *st, int rc, struct sbx_err *err);

/* A copy of column i (NULL stays NULL); caller frees. */
char *db_col_str(struct db_rows *r, int i);

/* Whether a name is usable as a lock file name / key part: non-empty, no '/', not "." or "..". */
bool state_name_ok(const char *s);

/* Secrets need the key: load it (creating it on first use). */
int state_key_load(struct state *st, struct sbx_err *err);

/* Queue a webhook delivery in the outbox (inside the caller's transaction; state_outbox_put). */
int db_outbox_put(struct state *st, const struct state_outbox *o, enum state_outbox_put *res, struct sbx_err *err);

#define DB_NONCE_LEN 12
#define DB_TAG_LEN 16

/* One value sealed with AES-256-GCM under the state's key. */
struct db_sealed {
	unsigned char nonce[DB_NONCE_LEN], tag[DB_TAG_LEN];
	unsigned char *ct; /* as long as the plaintext, never NULL once sealed; the caller frees */
	size_t len;
};

/* Seal value, bound to its place (env, name): another place's sealed value does not open there.
 * The key must be loaded (state_key_load). s->ct is the caller's to free. */
int db_seal(struct state *st, const char *env, const char *name, const char *value, struct db_sealed *s,
	struct sbx_err *err);
/* Open what db_seal sealed for (env, name): *value (caller frees and cleanses); a wrong key or a
 * changed byte is an error, never garbage. */
int db_unseal(struct state *st, const char *env, const char *name, struct db_sealed *s, char **value,
	struct sbx_err *err);
/* Read a sealed value stored as columns first (nonce), first + 1 (tag), first + 2 (ciphertext) of the
 * current row (s->ct: caller frees); false when the nonce or tag has the wrong size. */
bool db_sealed_cols(struct db_rows *r, int first, struct db_sealed *s);

#endif
