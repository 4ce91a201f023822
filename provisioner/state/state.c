/* state — open, migrate and close the state database; batches of writes. */
#include "state_db.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#define BUSY_TIMEOUT_MS 30000

/*
 * The schema, one step per version: step i takes user_version i to i + 1. Append only; never edit
 * a released step.
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
};

/* This state's private directory. */
const char *state_private_dir(const struct state *st)
{
	return st->private_dir;
}

/* The state's id. */
const char *state_id(const struct state *st)
{
	return st->id;
}

/* Set the IPAM pool. */
void state_set_ipam_pool(struct state *st, const char *pool)
{
	free(st->ipam_pool);
	st->ipam_pool = xstrdup(pool);
}

/* The directory holding the database, key and locks. */
const char *state_dir(const struct state *st)
{
	return st->dir;
}

/* Refuse a directory another user owns, or that group or others can get into. */
static int check_dir(const char *dir, struct sbx_err *err)
{
	struct stat sb;
	if (lstat(dir, &sb) < 0)
		return sbx_err_set(err, SBX_EXIT_FAILED, "cannot inspect %s: %s", dir, strerror(errno));
	if (S_ISDIR(sb.st_mode) && sb.st_uid == geteuid() && (sb.st_mode & 077) == 0)
		return 0;
	sbx_err_set(err, SBX_EXIT_FAILED, "the state directory %s must be a directory of yours with mode 0700 "
		"(it is %s, owner uid %u, mode %03o): it holds the environments' keys", dir,
		S_ISDIR(sb.st_mode) ? "a directory" : "not a directory", (unsigned)sb.st_uid, (unsigned)(sb.st_mode & 0777));
	sbx_err_hint(err, "`chmod 700 %s` if it is yours, or point SANDBOX_STATE at a directory of your own", dir);
	return -1;
}

/* This state's own directory (keys, locks) beside the database: dir/<state id>, 0700. */
static int private_dir(struct state *st, struct sbx_err *err)
{
	st->private_dir = xasprintf("%s/%s", st->dir, st->id);
	return sbx_mkdir_p(st->private_dir, 0700, err) < 0 ? -1 : check_dir(st->private_dir, err);
}

/* Create the directory (0700) and the database file (0600) when missing. */
static int prepare_files(struct state *st, struct sbx_err *err)
{
	if (sbx_mkdir_p(st->dir, 0700, err) < 0 || check_dir(st->dir, err) < 0)
		return -1;
	int fd = open(st->path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return sbx_err_set(err, SBX_EXIT_FAILED, "cannot open the state database %s: %s",
			st->path, strerror(errno));
	close(fd);
	return 0;
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
		int rc = sqlite3_exec(st->db, "PRAGMA journal_mode = WAL", NULL, NULL, NULL);
		if (rc == SQLITE_OK)
			return 0;
		if ((rc & 0xff) != SQLITE_BUSY || sbx_backoff_wait(&b) < 0)
			return db_fail(st, err, "PRAGMA journal_mode = WAL");
	}
}

/* Apply the pragmas every connection needs. */
static int set_pragmas(struct state *st, struct sbx_err *err)
{
	static const char *const pragmas[] = {
		"PRAGMA synchronous = NORMAL",
		"PRAGMA foreign_keys = ON",
	};
	sqlite3_busy_timeout(st->db, BUSY_TIMEOUT_MS);
	if (set_wal(st, err) < 0)
		return -1;
	for (size_t i = 0; i < SBX_NELEM(pragmas); i++) {
		if (sqlite3_exec(st->db, pragmas[i], NULL, NULL, NULL) != SQLITE_OK)
			return db_fail(st, err, pragmas[i]);
	}
	return 0;
}

/* Read PRAGMA user_version. */
static int schema_version(struct state *st, int64_t *v, struct sbx_err *err)
{
	bool found;
	return db_int(st, err, v, &found, "PRAGMA user_version", NULL);
}

/* Refuse a schema newer than this binary knows. */
static int check_version(struct state *st, int64_t v, int64_t known, struct sbx_err *err)
{
	if (v <= known)
		return 0;
	sbx_err_set(err, SBX_EXIT_FAILED,
		"the state database %s has schema version %lld, newer than this sandbox knows (%lld)",
		st->path, (long long)v, (long long)known);
	sbx_err_hint(err, "use a newer sandbox binary with this state, or point SANDBOX_STATE elsewhere");
	return -1;
}

/* Apply the steps from version v on (inside the caller's transaction). */
static int apply_steps(struct state *st, int64_t v, int64_t known, struct sbx_err *err)
{
	for (; v < known; v++) {
		if (sqlite3_exec(st->db, migrations[v], NULL, NULL, NULL) != SQLITE_OK)
			return db_fail(st, err, "schema migration");
	}
	char *sql = xasprintf("PRAGMA user_version = %lld", (long long)known);
	int rc = db_exec(st, err, NULL, sql, NULL);
	free(sql);
	return rc;
}

/* Bring the schema to the version this binary knows, all steps in one transaction. */
static int migrate(struct state *st, struct sbx_err *err)
{
	int64_t v = 0, known = (int64_t)SBX_NELEM(migrations);
	if (schema_version(st, &v, err) < 0 || check_version(st, v, known, err) < 0)
		return -1;
	if (v == known)
		return 0;
	if (db_begin(st, err) < 0)
		return -1;
	/* Re-read under the write lock: another process may have migrated meanwhile. */
	int rc = schema_version(st, &v, err);
	if (rc == 0)
		rc = check_version(st, v, known, err);
	if (rc == 0 && v < known)
		rc = apply_steps(st, v, known, err);
	return db_end(st, rc, err);
}

/* Allocate a handle for `path`. */
static struct state *state_new(const char *path)
{
	struct state *st = xcalloc(1, sizeof(*st));
	pthread_mutexattr_t a;
	pthread_mutexattr_init(&a);
	pthread_mutexattr_settype(&a, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(&st->mu, &a);
	pthread_mutexattr_destroy(&a);
	st->path = xstrdup(path);
	st->dir = sbx_dirname(st->path);
	return st;
}

/* Open (creating and migrating when needed) the state. */
int state_open(const char *path, struct state **out, struct sbx_err *err)
{
	if (path == NULL || *path == '\0')
		return sbx_err_set(err, SBX_EXIT_USAGE, "no state path given");
	struct state *st = state_new(path);
	int rc = -1;
	if (prepare_files(st, err) < 0)
		goto out;
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX;
	if (sqlite3_open_v2(st->path, &st->db, flags, NULL) != SQLITE_OK) {
		if (!st->db)
			abort(); /* SQLite could not allocate the handle */
		db_fail(st, err, "open");
		goto out;
	}
	sqlite3_extended_result_codes(st->db, 1);
	if (set_pragmas(st, err) < 0 || migrate(st, err) < 0 ||
		db_text(st, err, &st->id, "SELECT value FROM meta WHERE key = 'state_id'", NULL) < 0 ||
		private_dir(st, err) < 0)
		goto out;
	*out = st;
	st = NULL;
	rc = 0;
out:
	state_close(st);
	return rc;
}

/* Close the state. */
void state_close(struct state *st)
{
	if (!st)
		return;
	while (st->user_txn > 0)
		state_rollback(st); /* a batch left open is discarded */
	sqlite3_close_v2(st->db);
	OPENSSL_cleanse(st->key, sizeof(st->key));
	pthread_mutex_destroy(&st->mu);
	free(st->path);
	free(st->dir);
	free(st->ipam_pool);
	free(st->id);
	free(st->private_dir);
	free(st->avoid);
	free(st);
}

/* Start a batch. */
int state_begin(struct state *st, struct sbx_err *err)
{
	st_lock(st);
	if (db_begin(st, err) < 0) {
		st_unlock(st);
		return -1;
	}
	st->user_txn++;
	return 0;
}

/* Commit a batch. */
int state_commit(struct state *st, struct sbx_err *err)
{
	if (st->user_txn <= 0)
		return sbx_err_set(err, SBX_EXIT_FAILED, "state_commit without state_begin");
	int rc = db_commit(st, err);
	st->user_txn--;
	st_unlock(st);
	return rc;
}

/* Abandon a batch. */
void state_rollback(struct state *st)
{
	if (!st || st->user_txn <= 0)
		return;
	db_rollback(st);
	st->user_txn--;
	st_unlock(st);
}
