/* state_pg — the PostgreSQL backend of the state, through libpq: one connection per handle. */
#include "state_db.h"
#include "dynlib.h"

#include <errno.h>
#include <libpq-fe.h>
#include <stdlib.h>
#include <string.h>

#define PG_MAX_PARAMS 24
#define PG_MAX_BLOBS 8
#define OID_INT8 20
#define OID_TEXT 25
#define OID_BYTEA 17

/* The connection and what its last failure was. */
struct pg_conn {
	PGconn *c;
	char *shown;        /* the URL without its password, for messages */
	char *msg;          /* the last error message, or NULL */
	char sqlstate[6];   /* its SQLSTATE ("" when none) */
};

/* The rows of one statement (all fetched). */
struct pg_rows {
	struct db_rows base;
	PGresult *res;
	int row, nrows, changes;
	unsigned char *blobs[PG_MAX_BLOBS]; /* unescaped bytea columns of the current row */
};

/*
 * The schema, one step per version, the same steps as state_sqlite.c's in PostgreSQL's dialect:
 * BIGINT for integers, BIGSERIAL for SQLite's AUTOINCREMENT and res's rowid (the journal order),
 * BYTEA for blobs, PL/pgSQL for json_valid and the append-only triggers. Append only.
 */
static const char *const migrations[] = {
	/* 1: environments, resources, events, IPAM, secrets. */
	"CREATE TABLE env ("
	"  name TEXT PRIMARY KEY, id TEXT NOT NULL UNIQUE, blueprint TEXT, bp_hash TEXT,"
	"  bp_json TEXT, status TEXT NOT NULL, owner TEXT,"
	"  created BIGINT NOT NULL, updated BIGINT NOT NULL,"
	"  expires BIGINT NOT NULL DEFAULT 0, max_ttl BIGINT NOT NULL DEFAULT 0,"
	"  protected BIGINT NOT NULL DEFAULT 0 CHECK (protected IN (0, 1)),"
	"  claimed_by TEXT, claimed_at BIGINT NOT NULL DEFAULT 0);"
	"CREATE INDEX env_expires ON env(expires) WHERE expires > 0;"
	"CREATE TABLE res (rowid BIGSERIAL UNIQUE,"
	"  env TEXT NOT NULL REFERENCES env(name) ON UPDATE RESTRICT ON DELETE RESTRICT,"
	"  type TEXT NOT NULL, name TEXT NOT NULL, provider_id TEXT, spec TEXT,"
	"  status TEXT NOT NULL, updated BIGINT NOT NULL, PRIMARY KEY (env, type, name));"
	"CREATE FUNCTION sbx_json_valid(t TEXT) RETURNS BOOLEAN LANGUAGE plpgsql IMMUTABLE AS $$"
	"  BEGIN PERFORM t::jsonb; RETURN true; EXCEPTION WHEN others THEN RETURN false; END $$;"
	"CREATE TABLE event ("
	"  id BIGSERIAL PRIMARY KEY, ts BIGINT NOT NULL, env TEXT,"
	"  kind TEXT NOT NULL, detail TEXT CHECK (detail IS NULL OR sbx_json_valid(detail)));"
	"CREATE INDEX event_env ON event(env, id);"
	"CREATE FUNCTION sbx_event_append_only() RETURNS trigger LANGUAGE plpgsql AS $$"
	"  BEGIN RAISE EXCEPTION 'the event log is append-only'; END $$;"
	"CREATE TRIGGER event_no_update BEFORE UPDATE ON event"
	"  FOR EACH ROW EXECUTE FUNCTION sbx_event_append_only();"
	"CREATE TRIGGER event_no_delete BEFORE DELETE ON event"
	"  FOR EACH ROW EXECUTE FUNCTION sbx_event_append_only();"
	"CREATE TABLE ipam ("
	"  env TEXT NOT NULL REFERENCES env(name) ON UPDATE RESTRICT ON DELETE RESTRICT,"
	"  network TEXT NOT NULL, block BIGINT NOT NULL UNIQUE, cidr TEXT NOT NULL,"
	"  PRIMARY KEY (env, network));"
	"CREATE TABLE secret ("
	"  env TEXT NOT NULL, name TEXT NOT NULL, nonce BYTEA NOT NULL, ct BYTEA NOT NULL,"
	"  tag BYTEA NOT NULL, PRIMARY KEY (env, name));",
	/* 2: the state's own random id, carried by every object it creates (ownership). */
	"CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
	"INSERT INTO meta VALUES ('state_id', substr(md5(gen_random_uuid()::text), 1, 16));",
	/* 3: the expiry warnings sent (the daemon), once per environment, offset and expiry. */
	"CREATE TABLE IF NOT EXISTS warning ("
	"  env_id TEXT NOT NULL REFERENCES env(id) ON UPDATE RESTRICT ON DELETE CASCADE,"
	"  before_s BIGINT NOT NULL, expires BIGINT NOT NULL, sent BIGINT NOT NULL,"
	"  PRIMARY KEY (env_id, before_s, expires));",
	/* 4: bare-metal machines ("ipmi:ADDRESS:PORT"), each leased to one environment at a time. */
	"CREATE TABLE lease ("
	"  machine TEXT PRIMARY KEY,"
	"  env TEXT NOT NULL REFERENCES env(name) ON UPDATE RESTRICT ON DELETE RESTRICT,"
	"  node TEXT NOT NULL, since BIGINT NOT NULL);",
	/* 5: `list` reads every environment but not its resolved blueprint (bp_json, the bulk of a
	 * row): a covering index in name order spares it reading the whole table. */
	"CREATE INDEX IF NOT EXISTS env_brief ON env(name, id, blueprint, bp_hash, status, owner, created, updated,"
	"  expires, max_ttl, protected, claimed_by, claimed_at);",
	/* 6: environment locks as leases, with the holder's host and pid and a heartbeat. */
	"CREATE TABLE env_lock ("
	"  env TEXT PRIMARY KEY, token TEXT NOT NULL, host TEXT NOT NULL, pid BIGINT NOT NULL,"
	"  since BIGINT NOT NULL, heartbeat BIGINT NOT NULL, expires BIGINT NOT NULL);",
	/* 7: admission: what each environment is promised on its host (memory and disk in bytes),
	 * and the caps on live environments (scope 'per_owner' or 'total'). */
	"CREATE TABLE env_claim ("
	"  env TEXT PRIMARY KEY, uri TEXT NOT NULL, memory BIGINT NOT NULL, cpus BIGINT NOT NULL,"
	"  disk BIGINT NOT NULL);"
	"CREATE INDEX env_claim_uri ON env_claim(uri);"
	"CREATE TABLE caps (scope TEXT PRIMARY KEY, value BIGINT NOT NULL);",
	/* 8: the warm pool's members (`sandbox daemon --pool`): VMs booted ahead of any environment. */
	"CREATE TABLE warm ("
	"  id TEXT PRIMARY KEY, shape TEXT NOT NULL, status TEXT NOT NULL"
	"  CHECK (status IN ('booting', 'ready', 'claimed', 'broken')),"
	"  image_hash TEXT NOT NULL, address TEXT, hostkey TEXT, volumes TEXT NOT NULL,"
	"  claimed_env TEXT, claimed_node TEXT, created BIGINT NOT NULL, updated BIGINT NOT NULL);"
	"CREATE INDEX warm_shape ON warm(shape, status, created);",
	/* 9: several hypervisor hosts (site.hosts): where each node and network of an environment was
	 * placed (kind 'node' or 'network', its blueprint name; none: all on the environment's site.uri),
	 * and a claim per environment and host. */
	"CREATE TABLE env_place ("
	"  env TEXT NOT NULL, kind TEXT NOT NULL CHECK (kind IN ('node', 'network')), name TEXT NOT NULL,"
	"  uri TEXT NOT NULL, PRIMARY KEY (env, kind, name));"
	"ALTER TABLE env_claim DROP CONSTRAINT env_claim_pkey;"
	"ALTER TABLE env_claim ADD PRIMARY KEY (env, uri);",
	/* 10: the roles prepared ahead on a warm pool member ('+'-separated, '' none). */
	"ALTER TABLE warm ADD COLUMN roles TEXT NOT NULL DEFAULT '';",
	/* 11: the daemon's webhook outbox: each delivery until it is delivered or given up (the signing
	 * secret sealed like secret's), claimed by one daemon at a time for a lease. No reference to env:
	 * a reap's notice outlives its environment. */
	"CREATE TABLE outbox ("
	"  id TEXT PRIMARY KEY, env TEXT NOT NULL, env_id TEXT NOT NULL, event TEXT NOT NULL,"
	"  body TEXT NOT NULL, url TEXT NOT NULL, secret_nonce BYTEA, secret_tag BYTEA, secret_ct BYTEA,"
	"  created BIGINT NOT NULL, attempts BIGINT NOT NULL DEFAULT 0, next_at BIGINT NOT NULL, last_error TEXT,"
	"  claimed_by TEXT, claim_until BIGINT NOT NULL DEFAULT 0);"
	"CREATE INDEX outbox_due ON outbox(next_at);",
	/* 12: `status` shows an environment's pending deliveries and the oldest one's age with one
	 * indexed read (state_outbox_depth). */
	"CREATE INDEX outbox_env ON outbox(env_id, created);",
};

/* The connection of the handle. */
static struct pg_conn *conn(struct state *st)
{
	return st->conn;
}

/* Remember the failure of res (NULL: the connection's own message). */
static void note_error(struct pg_conn *pc, const PGresult *res)
{
	const char *m = res ? PQresultErrorMessage(res) : PQerrorMessage(pc->c);
	const char *code = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	free(pc->msg);
	pc->msg = xstrdup(m && *m ? m : "unknown error");
	size_t n = strlen(pc->msg);
	while (n > 0 && (pc->msg[n - 1] == '\n' || pc->msg[n - 1] == ' '))
		pc->msg[--n] = '\0';
	snprintf(pc->sqlstate, sizeof(pc->sqlstate), "%s", code ? code : "");
}

/* Whether the connection is gone (the server restarted, stopped or became unreachable). */
static bool pg_conn_lost(struct state *st)
{
	return PQstatus(conn(st)->c) == CONNECTION_BAD;
}

/* Add an error naming the last PostgreSQL failure. */
static int pg_fail(struct state *st, struct sbx_err *err, const char *what)
{
	struct pg_conn *pc = conn(st);
	if (!pg_conn_lost(st))
		return sbx_err_set(err, SBX_EXIT_FAILED, "%s: state database %s: %s", what, pc->shown,
			pc->msg ? pc->msg : "unknown error");
	sbx_err_set(err, SBX_EXIT_FAILED, "%s: lost the connection to the state database %s (the server "
		"restarted, stopped or is unreachable): %s", what, pc->shown, pc->msg ? pc->msg : "unknown error");
	sbx_err_hint(err, "nothing more was written by this command; run it again once the server answers "
		"(`sandbox daemon` reconnects by itself)");
	return -1;
}

/* The kind of the last constraint failure (SQLSTATE class 23). */
static enum db_errkind pg_last_kind(struct state *st)
{
	const char *s = conn(st)->sqlstate;
	if (strcmp(s, "23503") == 0)
		return DB_ERR_FOREIGNKEY;
	if (strcmp(s, "23505") == 0)
		return DB_ERR_UNIQUE;
	if (strcmp(s, "23514") == 0)
		return DB_ERR_CHECK;
	return DB_ERR_OTHER;
}

/* sql with `?N` as $N and each bare `?` as the next $n, outside quoted strings; caller frees. */
static char *translate(const char *sql)
{
	struct sbx_buf b = {0};
	int next = 0;
	char quote = 0;
	for (const char *p = sql; *p; p++) {
		if (quote) {
			if (*p == quote)
				quote = 0;
		} else if (*p == '\'' || *p == '"') {
			quote = *p;
		} else if (*p == '?') {
			if (p[1] >= '0' && p[1] <= '9') {
				sbx_buf_add(&b, "$", 1);
				continue;
			}
			sbx_buf_printf(&b, "$%d", ++next);
			continue;
		}
		sbx_buf_add(&b, p, 1);
	}
	return sbx_buf_steal(&b);
}

/* Free the unescaped blobs of the current row. */
static void free_blobs(struct pg_rows *r)
{
	for (int i = 0; i < PG_MAX_BLOBS; i++) {
		PQfreemem(r->blobs[i]);
		r->blobs[i] = NULL;
	}
}

/* Convert the values of fmt into libpq's parameter arrays; *bufs holds the integers' text. */
static int params(const char *fmt, va_list ap, Oid *types, const char **vals, int *lens, int *fmts,
	char (*ints)[24])
{
	int n = 0;
	for (; fmt && fmt[n]; n++) {
		if (n >= PG_MAX_PARAMS)
			return -1;
		lens[n] = 0;
		fmts[n] = 0;
		switch (fmt[n]) {
		case 's':
			types[n] = OID_TEXT;
			vals[n] = va_arg(ap, const char *);
			break;
		case 'i':
			types[n] = OID_INT8;
			snprintf(ints[n], sizeof(ints[n]), "%lld", (long long)va_arg(ap, int64_t));
			vals[n] = ints[n];
			break;
		case 'b':
			types[n] = OID_BYTEA;
			vals[n] = va_arg(ap, const char *);
			lens[n] = va_arg(ap, int);
			fmts[n] = 1;
			break;
		default:
			return -1;
		}
	}
	return n;
}

/* Run a statement with its values; the rows are all fetched. */
static int pg_query(struct state *st, struct db_rows **out, const char *sql, const char *fmt,
	va_list ap, struct sbx_err *err)
{
	struct pg_conn *pc = conn(st);
	Oid types[PG_MAX_PARAMS];
	const char *vals[PG_MAX_PARAMS];
	int lens[PG_MAX_PARAMS], fmts[PG_MAX_PARAMS];
	char ints[PG_MAX_PARAMS][24];
	va_list cp;
	va_copy(cp, ap);
	int n = params(fmt, cp, types, vals, lens, fmts, ints);
	va_end(cp);
	if (n < 0)
		return sbx_err_set(err, SBX_EXIT_FAILED, "state: bad parameter format \"%s\"", fmt);
	char *q = translate(sql);
	PGresult *res = PQexecParams(pc->c, q, n, types, vals, lens, fmts, 0);
	free(q);
	ExecStatusType s = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
	if (s != PGRES_TUPLES_OK && s != PGRES_COMMAND_OK) {
		note_error(pc, res);
		PQclear(res);
		return pg_fail(st, err, "query");
	}
	struct pg_rows *r = xcalloc(1, sizeof(*r));
	r->base.be = &db_pg;
	r->res = res;
	r->row = -1;
	r->nrows = PQntuples(res);
	r->changes = (int)strtol(PQcmdTuples(res), NULL, 10);
	*out = &r->base;
	return 0;
}

/* Move to the next row. */
static int pg_next(struct state *st, struct db_rows *rows, struct sbx_err *err)
{
	struct pg_rows *r = (struct pg_rows *)rows;
	(void)st;
	(void)err;
	free_blobs(r);
	if (r->row + 1 >= r->nrows)
		return 0;
	r->row++;
	return 1;
}

/* Column i as text (NULL when NULL). */
static const char *pg_col_text(struct db_rows *rows, int i)
{
	struct pg_rows *r = (struct pg_rows *)rows;
	if (r->row < 0 || i >= PQnfields(r->res) || PQgetisnull(r->res, r->row, i))
		return NULL;
	return PQgetvalue(r->res, r->row, i);
}

/* Column i as an integer (0 when NULL). */
static int64_t pg_col_int(struct db_rows *rows, int i)
{
	const char *s = pg_col_text(rows, i);
	return s ? (int64_t)strtoll(s, NULL, 10) : 0;
}

/* Column i (a bytea) as bytes. */
static const void *pg_col_blob(struct db_rows *rows, int i, size_t *len)
{
	struct pg_rows *r = (struct pg_rows *)rows;
	const char *s = pg_col_text(rows, i);
	*len = 0;
	if (!s || i >= PG_MAX_BLOBS)
		return NULL;
	PQfreemem(r->blobs[i]);
	r->blobs[i] = PQunescapeBytea((const unsigned char *)s, len);
	if (!r->blobs[i])
		abort(); /* out of memory */
	return r->blobs[i];
}

/* Rows changed by the statement. */
static int pg_changes(struct state *st, struct db_rows *rows)
{
	(void)st;
	return ((struct pg_rows *)rows)->changes;
}

/* Free the rows. */
static void pg_done(struct db_rows *rows)
{
	struct pg_rows *r = (struct pg_rows *)rows;
	free_blobs(r);
	PQclear(r->res);
	free(r);
}

/* Run fixed statements. */
static int pg_run(struct state *st, const char *sql, struct sbx_err *err)
{
	struct pg_conn *pc = conn(st);
	PGresult *res = PQexec(pc->c, sql);
	ExecStatusType s = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
	int rc = 0;
	if (s != PGRES_TUPLES_OK && s != PGRES_COMMAND_OK) {
		note_error(pc, res);
		rc = pg_fail(st, err, sql);
	}
	PQclear(res);
	return rc;
}

/* Whether the server abandoned the open transaction (a statement in it failed). */
static bool pg_txn_lost(struct state *st)
{
	return PQtransactionStatus(conn(st)->c) == PQTRANS_INERROR;
}

/* Ignore the server's notices ("relation already exists, skipping"). */
static void quiet(void *arg, const char *msg)
{
	(void)arg;
	(void)msg;
}

/* Connect. */
static int pg_open(struct state *st, struct sbx_err *err)
{
	if (dynlib_open(&dynlib_pq, err) < 0) /* loaded on first use: say which package is missing */
		return -1;
	struct pg_conn *pc = xcalloc(1, sizeof(*pc));
	st->conn = pc;
	pc->shown = db_url_shown(st->path);
	pc->c = PQconnectdb(st->path);
	if (!pc->c)
		abort(); /* libpq could not allocate the connection */
	if (PQstatus(pc->c) != CONNECTION_OK) {
		note_error(pc, NULL);
		pg_fail(st, err, "connect");
		sbx_err_hint(err, "check that the PostgreSQL server is up and the URL (--state, "
			"SANDBOX_STATE) names a database you may create tables in");
		return -1;
	}
	PQsetNoticeProcessor(pc->c, quiet, NULL);
	return pg_run(st, "SET client_min_messages = warning", err);
}

/* Connect again with the same parameters. */
static int pg_reconnect(struct state *st, struct sbx_err *err)
{
	struct pg_conn *pc = conn(st);
	PQreset(pc->c);
	if (PQstatus(pc->c) != CONNECTION_OK) {
		note_error(pc, NULL);
		return pg_fail(st, err, "reconnect");
	}
	return pg_run(st, "SET client_min_messages = warning", err);
}

/* Disconnect. */
static void pg_close(struct state *st)
{
	struct pg_conn *pc = conn(st);
	PQfinish(pc->c);
	free(pc->shown);
	free(pc->msg);
	free(pc);
	st->conn = NULL;
}

/*
 * The schema version: sbx_schema's one row, 0 before the first migration. Whether the table exists
 * is read from pg_tables (this statement's snapshot), not to_regclass (the backend's catalog
 * cache, which may not yet show a table another migrator just committed).
 */
static int pg_version_get(struct state *st, int64_t *v, struct sbx_err *err)
{
	bool found = false;
	int64_t have = 0;
	*v = 0;
	if (db_int(st, err, &have, &found, "SELECT count(*) FROM pg_catalog.pg_tables"
		" WHERE schemaname = current_schema() AND tablename = 'sbx_schema'", NULL) < 0)
		return -1;
	return have ? db_int(st, err, v, &found, "SELECT max(version) FROM sbx_schema", NULL) : 0;
}

/* Set the schema version (inside the migration's transaction). */
static int pg_version_set(struct state *st, int64_t v, struct sbx_err *err)
{
	if (db_run(st, "CREATE TABLE IF NOT EXISTS sbx_schema (version BIGINT NOT NULL);"
		"DELETE FROM sbx_schema", err) < 0)
		return -1;
	return db_exec(st, err, NULL, "INSERT INTO sbx_schema (version) VALUES (?)", "i", v);
}

const struct db_backend db_pg = {
	.name = "postgresql",
	.open = pg_open,
	.close = pg_close,
	.query = pg_query,
	.next = pg_next,
	.col_text = pg_col_text,
	.col_int = pg_col_int,
	.col_blob = pg_col_blob,
	.changes = pg_changes,
	.done = pg_done,
	.run = pg_run,
	.txn_lost = pg_txn_lost,
	.fail = pg_fail,
	.conn_lost = pg_conn_lost,
	.reconnect = pg_reconnect,
	.last_kind = pg_last_kind,
	/* One writer at a time, like SQLite's BEGIN IMMEDIATE: a transaction-scoped advisory lock. */
	.begin_sql = "BEGIN; SELECT pg_advisory_xact_lock(7301301)",
	.migrations = migrations,
	.nmigrations = SBX_NELEM(migrations),
	.version_get = pg_version_get,
	.version_set = pg_version_set,
};
