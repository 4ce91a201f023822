/* state_sqlite — the SQLite backend of the state: one WAL database file. */
#include "state_db.h"

#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#define BUSY_TIMEOUT_MS 30000

/* The rows of one prepared statement. */
struct sqlite_rows {
	struct db_rows base;
	sqlite3_stmt *stmt;
};

/*
 * The schema, one step per version: step i takes user_version i to i + 1. Append only; never edit
 * a released step. state_pg.c holds the same steps in PostgreSQL's dialect.
 */
static const char *const migrations[] = {
	/* 1: environments, resources, events, IPAM, secrets. */
	"CREATE TABLE env ("
	"  name TEXT PRIMARY KEY, id TEXT NOT NULL UNIQUE, blueprint TEXT, bp_hash TEXT,"
	"  bp_json TEXT, status TEXT NOT NULL, owner TEXT,"
	"  created INTEGER NOT NULL, updated INTEGER NOT NULL,"
	"  expires INTEGER NOT NULL DEFAULT 0, max_ttl INTEGER NOT NULL DEFAULT 0,"
	"  protected INTEGER NOT NULL DEFAULT 0 CHECK (protected IN (0, 1)),"
	"  claimed_by TEXT, claimed_at INTEGER NOT NULL DEFAULT 0);"
	"CREATE INDEX env_expires ON env(expires) WHERE expires > 0;"
	"CREATE TABLE res ("
	"  env TEXT NOT NULL REFERENCES env(name) ON UPDATE RESTRICT ON DELETE RESTRICT,"
	"  type TEXT NOT NULL, name TEXT NOT NULL, provider_id TEXT, spec TEXT,"
	"  status TEXT NOT NULL, updated INTEGER NOT NULL, PRIMARY KEY (env, type, name));"
	"CREATE TABLE event ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT, ts INTEGER NOT NULL, env TEXT,"
	"  kind TEXT NOT NULL, detail TEXT CHECK (detail IS NULL OR json_valid(detail)));"
	"CREATE INDEX event_env ON event(env, id);"
	"CREATE TRIGGER event_no_update BEFORE UPDATE ON event"
	"  BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END;"
	"CREATE TRIGGER event_no_delete BEFORE DELETE ON event"
	"  BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END;"
	"CREATE TABLE ipam ("
	"  env TEXT NOT NULL REFERENCES env(name) ON UPDATE RESTRICT ON DELETE RESTRICT,"
	"  network TEXT NOT NULL, block INTEGER NOT NULL UNIQUE, cidr TEXT NOT NULL,"
	"  PRIMARY KEY (env, network));"
	"CREATE TABLE secret ("
	"  env TEXT NOT NULL, name TEXT NOT NULL, nonce BLOB NOT NULL, ct BLOB NOT NULL,"
	"  tag BLOB NOT NULL, PRIMARY KEY (env, name));",
	/* 2: the state's own random id, carried by every object it creates (ownership). */
	"CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
	"INSERT INTO meta VALUES ('state_id', lower(hex(randomblob(8))));",
	/* 3: the expiry warnings sent (the daemon), once per environment, offset and expiry. */
	"CREATE TABLE IF NOT EXISTS warning ("
	"  env_id TEXT NOT NULL REFERENCES env(id) ON UPDATE RESTRICT ON DELETE CASCADE,"
	"  before_s INTEGER NOT NULL, expires INTEGER NOT NULL, sent INTEGER NOT NULL,"
	"  PRIMARY KEY (env_id, before_s, expires));",
	/* 4: bare-metal machines ("ipmi:ADDRESS:PORT"), each leased to one environment at a time. */
	"CREATE TABLE lease ("
	"  machine TEXT PRIMARY KEY,"
	"  env TEXT NOT NULL REFERENCES env(name) ON UPDATE RESTRICT ON DELETE RESTRICT,"
	"  node TEXT NOT NULL, since INTEGER NOT NULL);",
	/* 5: `list` reads every environment but not its resolved blueprint (bp_json, the bulk of a
	 * row): a covering index in name order spares it reading the whole table. */
	"CREATE INDEX IF NOT EXISTS env_brief ON env(name, id, blueprint, bp_hash, status, owner, created, updated,"
	"  expires, max_ttl, protected, claimed_by, claimed_at);",
	/* 6: environment locks as leases (used on PostgreSQL; a SQLite state's locks are flocks). */
	"CREATE TABLE env_lock ("
	"  env TEXT PRIMARY KEY, token TEXT NOT NULL, host TEXT NOT NULL, pid INTEGER NOT NULL,"
	"  since INTEGER NOT NULL, heartbeat INTEGER NOT NULL, expires INTEGER NOT NULL);",
	/* 7: admission: what each environment is promised on its host (memory and disk in bytes),
	 * and the caps on live environments (scope 'per_owner' or 'total'). */
	"CREATE TABLE env_claim ("
	"  env TEXT PRIMARY KEY, uri TEXT NOT NULL, memory INTEGER NOT NULL, cpus INTEGER NOT NULL,"
	"  disk INTEGER NOT NULL);"
	"CREATE INDEX env_claim_uri ON env_claim(uri);"
	"CREATE TABLE caps (scope TEXT PRIMARY KEY, value INTEGER NOT NULL);",
	/* 8: the warm pool's members (`sandbox daemon --pool`): VMs booted ahead of any environment. */
	"CREATE TABLE warm ("
	"  id TEXT PRIMARY KEY, shape TEXT NOT NULL, status TEXT NOT NULL"
	"  CHECK (status IN ('booting', 'ready', 'claimed', 'broken')),"
	"  image_hash TEXT NOT NULL, address TEXT, hostkey TEXT, volumes TEXT NOT NULL,"
	"  claimed_env TEXT, claimed_node TEXT, created INTEGER NOT NULL, updated INTEGER NOT NULL);"
	"CREATE INDEX warm_shape ON warm(shape, status, created);",
	/* 9: several hypervisor hosts (site.hosts): where each node and network of an environment was
	 * placed (kind 'node' or 'network', its blueprint name; none: all on the environment's site.uri),
	 * and a claim per environment and host. */
	"CREATE TABLE env_place ("
	"  env TEXT NOT NULL, kind TEXT NOT NULL CHECK (kind IN ('node', 'network')), name TEXT NOT NULL,"
	"  uri TEXT NOT NULL, PRIMARY KEY (env, kind, name));"
	"CREATE TABLE env_claim_9 ("
	"  env TEXT NOT NULL, uri TEXT NOT NULL, memory INTEGER NOT NULL, cpus INTEGER NOT NULL,"
	"  disk INTEGER NOT NULL, PRIMARY KEY (env, uri));"
	"INSERT INTO env_claim_9 SELECT env, uri, memory, cpus, disk FROM env_claim;"
	"DROP TABLE env_claim;"
	"ALTER TABLE env_claim_9 RENAME TO env_claim;"
	"CREATE INDEX env_claim_uri ON env_claim(uri);",
	/* 10: the roles prepared ahead on a warm pool member ('+'-separated, '' none). */
	"ALTER TABLE warm ADD COLUMN roles TEXT NOT NULL DEFAULT '';",
	/* 11: the daemon's webhook outbox: each delivery until it is delivered or given up (the signing
	 * secret sealed like secret's), claimed by one daemon at a time for a lease. No reference to env:
	 * a reap's notice outlives its environment. */
	"CREATE TABLE outbox ("
	"  id TEXT PRIMARY KEY, env TEXT NOT NULL, env_id TEXT NOT NULL, event TEXT NOT NULL,"
	"  body TEXT NOT NULL, url TEXT NOT NULL, secret_nonce BLOB, secret_tag BLOB, secret_ct BLOB,"
	"  created INTEGER NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, next_at INTEGER NOT NULL, last_error TEXT,"
	"  claimed_by TEXT, claim_until INTEGER NOT NULL DEFAULT 0);"
	"CREATE INDEX outbox_due ON outbox(next_at);",
	/* 12: `status` shows an environment's pending deliveries and the oldest one's age with one
	 * indexed read (state_outbox_depth). */
	"CREATE INDEX outbox_env ON outbox(env_id, created);",
};

/* The connection. */
static sqlite3 *conn(struct state *st)
{
	return st->conn;
}

/* Add an error naming the last SQLite failure. */
static int lite_fail(struct state *st, struct sbx_err *err, const char *what)
{
	int code = sqlite3_extended_errcode(conn(st));
	const char *msg = sqlite3_errmsg(conn(st));
	if ((code & 0xff) == SQLITE_BUSY || (code & 0xff) == SQLITE_LOCKED) {
		sbx_err_set(err, SBX_EXIT_FAILED, "%s: the state database %s is busy (%s)", what,
			st->path, msg);
		sbx_err_hint(err, "another sandbox process holds the database for too long; retry");
		return -1;
	}
	return sbx_err_set(err, SBX_EXIT_FAILED, "%s: state database %s: %s", what, st->path, msg);
}

/* The kind of the last constraint failure. */
static enum db_errkind lite_last_kind(struct state *st)
{
	switch (sqlite3_extended_errcode(conn(st))) {
	case SQLITE_CONSTRAINT_FOREIGNKEY:
		return DB_ERR_FOREIGNKEY;
	case SQLITE_CONSTRAINT_UNIQUE:
		return DB_ERR_UNIQUE;
	case SQLITE_CONSTRAINT_CHECK:
		return DB_ERR_CHECK;
	default:
		return DB_ERR_OTHER;
	}
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

/* Prepare and bind. */
static int lite_query(struct state *st, struct db_rows **out, const char *sql, const char *fmt,
	va_list ap, struct sbx_err *err)
{
	sqlite3_stmt *stmt = NULL;
	if (sqlite3_prepare_v2(conn(st), sql, -1, &stmt, NULL) != SQLITE_OK)
		return lite_fail(st, err, "prepare");
	va_list cp;
	va_copy(cp, ap);
	int rc = 0;
	for (int i = 0; rc == 0 && fmt && fmt[i]; i++)
		if (bind_one(stmt, i + 1, fmt[i], &cp) != SQLITE_OK)
			rc = lite_fail(st, err, "bind");
	va_end(cp);
	if (rc < 0) {
		sqlite3_finalize(stmt);
		return -1;
	}
	struct sqlite_rows *r = xcalloc(1, sizeof(*r));
	r->base.be = &db_sqlite;
	r->stmt = stmt;
	*out = &r->base;
	return 0;
}

/* Step once. */
static int lite_next(struct state *st, struct db_rows *rows, struct sbx_err *err)
{
	int rc = sqlite3_step(((struct sqlite_rows *)rows)->stmt);
	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	return lite_fail(st, err, "query");
}

/* Column i as text. */
static const char *lite_col_text(struct db_rows *rows, int i)
{
	return (const char *)sqlite3_column_text(((struct sqlite_rows *)rows)->stmt, i);
}

/* Column i as an integer. */
static int64_t lite_col_int(struct db_rows *rows, int i)
{
	return sqlite3_column_int64(((struct sqlite_rows *)rows)->stmt, i);
}

/* Column i as bytes. */
static const void *lite_col_blob(struct db_rows *rows, int i, size_t *len)
{
	sqlite3_stmt *s = ((struct sqlite_rows *)rows)->stmt;
	const void *p = sqlite3_column_blob(s, i);
	*len = (size_t)sqlite3_column_bytes(s, i);
	return p;
}

/* Rows changed by the last statement. */
static int lite_changes(struct state *st, struct db_rows *rows)
{
	(void)rows;
	return sqlite3_changes(conn(st));
}

/* Finalize. */
static void lite_done(struct db_rows *rows)
{
	sqlite3_finalize(((struct sqlite_rows *)rows)->stmt);
	free(rows);
}

/* Run fixed statements. */
static int lite_run(struct state *st, const char *sql, struct sbx_err *err)
{
	if (sqlite3_exec(conn(st), sql, NULL, NULL, NULL) != SQLITE_OK)
		return lite_fail(st, err, sql);
	return 0;
}

/* Whether SQLite rolled the open transaction back (after an I/O or full-disk error). */
static bool lite_txn_lost(struct state *st)
{
	return sqlite3_get_autocommit(conn(st)) != 0;
}

/*
 * Switch the database to WAL. Switching takes an exclusive lock and SQLite answers SQLITE_BUSY at
 * once, without calling the busy handler, while another process holds the file (several processes
 * opening a fresh state together): retry with backoff until the busy timeout.
 */
static int set_wal(struct state *st, struct sbx_err *err)
{
	struct sbx_backoff b;
	sbx_backoff_init(&b, BUSY_TIMEOUT_MS, 2, 100);
	for (;;) {
		int rc = sqlite3_exec(conn(st), "PRAGMA journal_mode = WAL", NULL, NULL, NULL);
		if (rc == SQLITE_OK)
			return 0;
		if ((rc & 0xff) != SQLITE_BUSY || sbx_backoff_wait(&b) < 0)
			return lite_fail(st, err, "PRAGMA journal_mode = WAL");
	}
}

/* Open the file and apply the pragmas every connection needs. */
static int lite_open(struct state *st, struct sbx_err *err)
{
	static const char *const pragmas[] = {
		"PRAGMA synchronous = NORMAL",
		"PRAGMA foreign_keys = ON",
	};
	sqlite3 *db = NULL;
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX;
	int rc = sqlite3_open_v2(st->path, &db, flags, NULL);
	if (!db)
		abort(); /* SQLite could not allocate the handle */
	st->conn = db;
	if (rc != SQLITE_OK)
		return lite_fail(st, err, "open");
	sqlite3_extended_result_codes(db, 1);
	sqlite3_busy_timeout(db, BUSY_TIMEOUT_MS);
	if (set_wal(st, err) < 0)
		return -1;
	for (size_t i = 0; i < SBX_NELEM(pragmas); i++) {
		if (sqlite3_exec(db, pragmas[i], NULL, NULL, NULL) != SQLITE_OK)
			return lite_fail(st, err, pragmas[i]);
	}
	return 0;
}

/* Close the file. */
static void lite_close(struct state *st)
{
	sqlite3_close_v2(conn(st));
	st->conn = NULL;
}

/* Read PRAGMA user_version. */
static int lite_version_get(struct state *st, int64_t *v, struct sbx_err *err)
{
	bool found;
	return db_int(st, err, v, &found, "PRAGMA user_version", NULL);
}

/* Set PRAGMA user_version. */
static int lite_version_set(struct state *st, int64_t v, struct sbx_err *err)
{
	char *sql = xasprintf("PRAGMA user_version = %lld", (long long)v);
	int rc = db_run(st, sql, err);
	free(sql);
	return rc;
}

const struct db_backend db_sqlite = {
	.name = "sqlite",
	.open = lite_open,
	.close = lite_close,
	.query = lite_query,
	.next = lite_next,
	.col_text = lite_col_text,
	.col_int = lite_col_int,
	.col_blob = lite_col_blob,
	.changes = lite_changes,
	.done = lite_done,
	.run = lite_run,
	.txn_lost = lite_txn_lost,
	.fail = lite_fail,
	.last_kind = lite_last_kind,
	.begin_sql = "BEGIN IMMEDIATE",
	.migrations = migrations,
	.nmigrations = SBX_NELEM(migrations),
	.version_get = lite_version_get,
	.version_set = lite_version_set,
};
