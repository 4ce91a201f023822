/* state_db — SQL helpers shared by the state files over the backend: binding, rows, nested transactions. */
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

/* Whether a location names a PostgreSQL database. */
bool state_is_url(const char *location)
{
	return location && (strncmp(location, "postgresql://", 13) == 0 ||
		strncmp(location, "postgres://", 11) == 0);
}

/* The URL without the password (user:secret@ becomes user@). */
char *db_url_shown(const char *url)
{
	const char *auth = strstr(url, "://");
	const char *at = auth ? strpbrk(auth + 3, "@/") : NULL;
	if (!at || *at != '@')
		return xstrdup(url);
	const char *colon = memchr(auth + 3, ':', (size_t)(at - auth - 3));
	if (!colon)
		return xstrdup(url);
	return xasprintf("%.*s%s", (int)(colon - url), url, at);
}

/* Add an error naming the last database failure. */
int db_fail(struct state *st, struct sbx_err *err, const char *what)
{
	return st->be->fail(st, err, what);
}

/* Whether the last failure was this kind of constraint. */
bool db_last_is(struct state *st, enum db_errkind kind)
{
	return st->be->last_kind(st) == kind;
}

/* Run sql with the values of fmt (va_list form). */
static int query_v(struct state *st, struct db_rows **out, struct sbx_err *err, const char *sql,
	const char *fmt, va_list ap)
{
	va_list cp;
	va_copy(cp, ap);
	int rc = st->be->query(st, out, sql, fmt, cp, err);
	va_end(cp);
	return rc;
}

/* Run `sql` with the values of `fmt` bound. */
int db_query(struct state *st, struct db_rows **out, struct sbx_err *err, const char *sql,
	const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int rc = query_v(st, out, err, sql, fmt, ap);
	va_end(ap);
	return rc;
}

/* The next row. */
int db_next(struct state *st, struct db_rows *r, struct sbx_err *err)
{
	return st->be->next(st, r, err);
}

/* Column i as an integer. */
int64_t db_col_int(struct db_rows *r, int i)
{
	return r->be->col_int(r, i);
}

/* Column i as bytes. */
const void *db_col_blob(struct db_rows *r, int i, size_t *len)
{
	return r->be->col_blob(r, i, len);
}

/* Free the rows. */
void db_done(struct state *st, struct db_rows *r)
{
	if (r)
		st->be->done(r);
}

/* Run, read to completion, free (va_list form). */
int db_execv(struct state *st, struct sbx_err *err, int *changes, const char *sql, const char *fmt,
	va_list ap)
{
	struct db_rows *r = NULL;
	int rc = query_v(st, &r, err, sql, fmt, ap);
	if (rc < 0)
		return -1;
	while ((rc = db_next(st, r, err)) == 1)
		;
	if (rc == 0 && changes)
		*changes = st->be->changes(st, r);
	db_done(st, r);
	return rc;
}

/* Run, read to completion, free. */
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
	struct db_rows *r = NULL;
	va_list ap;
	va_start(ap, fmt);
	int rc = query_v(st, &r, err, sql, fmt, ap);
	va_end(ap);
	if (rc < 0)
		return -1;
	rc = db_next(st, r, err);
	if (rc >= 0) {
		*found = rc == 1;
		*v = rc == 1 ? db_col_int(r, 0) : 0;
		rc = 0;
	}
	db_done(st, r);
	return rc;
}

/* Run a one-text query. */
int db_text(struct state *st, struct sbx_err *err, char **out, const char *sql, const char *fmt, ...)
{
	struct db_rows *r = NULL;
	va_list ap;
	va_start(ap, fmt);
	int rc = query_v(st, &r, err, sql, fmt, ap);
	va_end(ap);
	if (rc < 0)
		return -1;
	rc = db_next(st, r, err);
	if (rc >= 0) {
		*out = rc == 1 ? db_col_str(r, 0) : NULL;
		rc = 0;
	}
	db_done(st, r);
	return rc;
}

/* Run fixed statements. */
int db_run(struct state *st, const char *sql, struct sbx_err *err)
{
	return st->be->run(st, sql, err);
}

/* Open a (possibly nested) write transaction. */
int db_begin(struct state *st, struct sbx_err *err)
{
	if (db_run(st, st->txn_depth == 0 ? st->be->begin_sql : "SAVEPOINT sbx", err) < 0)
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
	if (st->txn_depth == 0)
		st->be->run(st, "ROLLBACK", NULL);
	else if (!st->be->txn_lost(st) || st->be->run(st, "ROLLBACK TO sbx", NULL) == 0)
		st->be->run(st, "ROLLBACK TO sbx; RELEASE sbx", NULL);
}

/* Commit the innermost level. */
int db_commit(struct state *st, struct sbx_err *err)
{
	if (st->txn_depth <= 0)
		return sbx_err_set(err, SBX_EXIT_FAILED, "state: commit without a transaction");
	if (st->be->txn_lost(st)) { /* rolled back after an I/O or full-disk error */
		db_rollback(st);
		return sbx_err_set(err, SBX_EXIT_FAILED, "state database %s: the transaction was rolled "
			"back after an earlier error; nothing of it was saved", st->shown);
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
char *db_col_str(struct db_rows *r, int i)
{
	const char *s = r->be->col_text(r, i);
	return s ? xstrdup(s) : NULL;
}

/* Whether a name is usable as a file name part. */
bool state_name_ok(const char *s)
{
	return s && *s && !strchr(s, '/') && strcmp(s, ".") != 0 && strcmp(s, "..") != 0;
}

/* Whether the connection to a server state is gone. */
bool state_conn_lost(struct state *st)
{
	st_lock(st);
	bool lost = st->be->conn_lost && st->be->conn_lost(st);
	st_unlock(st);
	return lost;
}

/* Connect a server state again; open transactions are gone with the old connection. */
int state_reconnect(struct state *st, struct sbx_err *err)
{
	int rc = 0;
	st_lock(st);
	if (st->be->conn_lost && st->be->conn_lost(st)) {
		st->txn_depth = 0;
		rc = st->be->reconnect(st, err);
	}
	st_unlock(st);
	return rc;
}
