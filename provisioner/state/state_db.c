/* state_db — SQLite helpers shared by the state files: binding, stepping, nested transactions. */
#include "state_db.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* Take the handle's mutex. */
void st_lock(struct state *st)
{
	pthread_mutex_lock(&st->mu);
}

/* Release the handle's mutex. */
void st_unlock(struct state *st)
{
	pthread_mutex_unlock(&st->mu);
}

/* Add an error naming the last SQLite failure. */
int db_fail(struct state *st, struct sbx_err *err, const char *what)
{
	int code = sqlite3_extended_errcode(st->db);
	const char *msg = sqlite3_errmsg(st->db);
	if ((code & 0xff) == SQLITE_BUSY || (code & 0xff) == SQLITE_LOCKED) {
		sbx_err_set(err, SBX_EXIT_FAILED, "%s: the state database %s is busy (%s)", what,
			st->path, msg);
		sbx_err_hint(err, "another sandbox process holds the database for too long; retry");
		return -1;
	}
	return sbx_err_set(err, SBX_EXIT_FAILED, "%s: state database %s: %s", what, st->path, msg);
}

/* Whether the last failure had this extended result code. */
bool db_last_is(struct state *st, int extended_code)
{
	return sqlite3_extended_errcode(st->db) == extended_code;
}

/* Bind one value of the format. */
static int bind_one(sqlite3_stmt *stmt, int i, char t, va_list *ap)
{
	switch (t) {
	case 's': {
		const char *s = va_arg(*ap, const char *);
		return s ? sqlite3_bind_text(stmt, i, s, -1, SQLITE_TRANSIENT) : sqlite3_bind_null(stmt, i);
	}
	case 'i':
		return sqlite3_bind_int64(stmt, i, va_arg(*ap, int64_t));
	case 'b': {
		const void *p = va_arg(*ap, const void *);
		int n = va_arg(*ap, int);
		return sqlite3_bind_blob(stmt, i, p, n, SQLITE_TRANSIENT);
	}
	default:
		return SQLITE_MISUSE;
	}
}

/* Bind the values of fmt from parameter 1 on. */
int db_bindv(struct state *st, sqlite3_stmt *stmt, const char *fmt, va_list ap, struct sbx_err *err)
{
	va_list cp;
	va_copy(cp, ap);
	int rc = 0;
	for (int i = 0; fmt && fmt[i]; i++) {
		if (bind_one(stmt, i + 1, fmt[i], &cp) != SQLITE_OK) {
			rc = db_fail(st, err, "bind");
			break;
		}
	}
	va_end(cp);
	return rc;
}

/* Prepare and bind with a va_list. */
static int prep_v(struct state *st, sqlite3_stmt **out, struct sbx_err *err, const char *sql,
	const char *fmt, va_list ap)
{
	sqlite3_stmt *stmt = NULL;
	if (sqlite3_prepare_v2(st->db, sql, -1, &stmt, NULL) != SQLITE_OK)
		return db_fail(st, err, "prepare");
	if (db_bindv(st, stmt, fmt, ap, err) < 0) {
		sqlite3_finalize(stmt);
		return -1;
	}
	*out = stmt;
	return 0;
}

/* Prepare `sql` and bind the values of `fmt`. */
int db_prep(struct state *st, sqlite3_stmt **out, struct sbx_err *err, const char *sql,
	const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int rc = prep_v(st, out, err, sql, fmt, ap);
	va_end(ap);
	return rc;
}

/* Step once. */
int db_step(struct state *st, sqlite3_stmt *stmt, struct sbx_err *err)
{
	int rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	return db_fail(st, err, "query");
}

/* Prepare, bind, run to completion, finalize (va_list form). */
int db_execv(struct state *st, struct sbx_err *err, int *changes, const char *sql, const char *fmt,
	va_list ap)
{
	sqlite3_stmt *stmt = NULL;
	int rc = prep_v(st, &stmt, err, sql, fmt, ap);
	if (rc < 0)
		return -1;
	while ((rc = db_step(st, stmt, err)) == 1)
		;
	if (rc == 0 && changes)
		*changes = sqlite3_changes(st->db);
	sqlite3_finalize(stmt);
	return rc;
}

/* Prepare, bind, run to completion, finalize. */
int db_exec(struct state *st, struct sbx_err *err, int *changes, const char *sql, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int rc = db_execv(st, err, changes, sql, fmt, ap);
	va_end(ap);
	return rc;
}

/* Run a one-value query. */
int db_int(struct state *st, struct sbx_err *err, int64_t *v, bool *found, const char *sql,
	const char *fmt, ...)
{
	sqlite3_stmt *stmt = NULL;
	va_list ap;
	va_start(ap, fmt);
	int rc = prep_v(st, &stmt, err, sql, fmt, ap);
	va_end(ap);
	if (rc < 0)
		return -1;
	rc = db_step(st, stmt, err);
	if (rc >= 0) {
		*found = rc == 1;
		*v = rc == 1 ? sqlite3_column_int64(stmt, 0) : 0;
		rc = 0;
	}
	sqlite3_finalize(stmt);
	return rc;
}

/* Run a one-text query. */
int db_text(struct state *st, struct sbx_err *err, char **out, const char *sql, const char *fmt, ...)
{
	sqlite3_stmt *stmt = NULL;
	va_list ap;
	va_start(ap, fmt);
	int rc = prep_v(st, &stmt, err, sql, fmt, ap);
	va_end(ap);
	if (rc < 0)
		return -1;
	rc = db_step(st, stmt, err);
	if (rc >= 0) {
		*out = rc == 1 ? db_col_str(stmt, 0) : NULL;
		rc = 0;
	}
	sqlite3_finalize(stmt);
	return rc;
}

/* Run a fixed statement. */
static int db_run(struct state *st, const char *sql, struct sbx_err *err)
{
	if (sqlite3_exec(st->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return db_fail(st, err, sql);
	return 0;
}

/* Open a (possibly nested) write transaction. */
int db_begin(struct state *st, struct sbx_err *err)
{
	if (db_run(st, st->txn_depth == 0 ? "BEGIN IMMEDIATE" : "SAVEPOINT sbx", err) < 0)
		return -1;
	st->txn_depth++;
	return 0;
}

/* Roll back the innermost level. */
void db_rollback(struct state *st)
{
	if (st->txn_depth <= 0)
		return;
	st->txn_depth--;
	if (sqlite3_get_autocommit(st->db))
		return; /* already rolled back by SQLite */
	if (st->txn_depth == 0)
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	else
		sqlite3_exec(st->db, "ROLLBACK TO sbx; RELEASE sbx", NULL, NULL, NULL);
}

/* Commit the innermost level. */
int db_commit(struct state *st, struct sbx_err *err)
{
	if (st->txn_depth <= 0)
		return sbx_err_set(err, SBX_EXIT_FAILED, "state: commit without a transaction");
	if (sqlite3_get_autocommit(st->db)) { /* SQLite rolled it back after an I/O or full-disk error */
		st->txn_depth--;
		return sbx_err_set(err, SBX_EXIT_FAILED, "state database %s: the transaction was rolled "
			"back after an earlier error; nothing of it was saved", st->path);
	}
	if (db_run(st, st->txn_depth == 1 ? "COMMIT" : "RELEASE sbx", err) < 0) {
		db_rollback(st);
		return -1;
	}
	st->txn_depth--;
	return 0;
}

/* Finish the innermost level according to rc. */
int db_end(struct state *st, int rc, struct sbx_err *err)
{
	if (rc < 0) {
		db_rollback(st);
		return rc;
	}
	return db_commit(st, err);
}

/* A copy of column i. */
char *db_col_str(sqlite3_stmt *stmt, int i)
{
	const unsigned char *s = sqlite3_column_text(stmt, i);
	return s ? xstrdup((const char *)s) : NULL;
}

/* Whether a name is usable as a file name part. */
bool state_name_ok(const char *s)
{
	return s && *s && !strchr(s, '/') && strcmp(s, ".") != 0 && strcmp(s, "..") != 0;
}
