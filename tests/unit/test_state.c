/* Unit tests of the state module: schema, environments, resources, events, reaper claims, batches. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <signal.h>
#include <libpq-fe.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "state_fix.h"

/* A private state for the test. */
static int setup(void **ctx)
{
	struct state_fix *f = state_fix_new("state", "st");
	*ctx = f;
	return 0;
}

/* Close and remove everything. */
static int teardown(void **ctx)
{
	state_fix_free(*ctx);
	return 0;
}

/* Record a resource. */
static void add_res(struct state *st, const char *env, const char *type, const char *name)
{
	struct sbx_err err = SBX_ERR_INIT;
	struct state_res r = {.env = (char *)env, .type = (char *)type, .name = (char *)name,
		.spec = "{\"a\":1}", .status = STATE_RES_PENDING};
	if (state_res_put(st, &r, &err) < 0)
		fail_msg("put %s: %s", name, sbx_err_first(&err));
}

/* Run SQL on the PostgreSQL schema of path directly; *ok = whether it succeeded. */
static PGresult *pg_raw(const char *path, const char *sql, bool *ok)
{
	char *loc = state_fix_location(path);
	PGconn *c = PQconnectdb(loc);
	free(loc);
	assert_int_equal(PQstatus(c), CONNECTION_OK);
	PGresult *r = PQexec(c, sql);
	*ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
	PQfinish(c);
	return r;
}

/* Run SQL statements on the database directly (outside the module): 0 = done, else failed. */
static int raw_sql(const char *db, const char *sql, char **errmsg)
{
	if (state_fix_pg()) {
		bool ok = false;
		PGresult *r = pg_raw(db, sql, &ok);
		if (!ok && errmsg) /* freed with sqlite3_free, as SQLite's */
			*errmsg = sqlite3_mprintf("%s", PQresultErrorMessage(r));
		PQclear(r);
		return ok ? SQLITE_OK : SQLITE_ERROR;
	}
	sqlite3 *h = NULL;
	assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
	sqlite3_busy_timeout(h, 5000);
	int rc = sqlite3_exec(h, sql, NULL, NULL, errmsg);
	sqlite3_close(h);
	return rc;
}

/* Read one integer with SQL directly. */
static int64_t raw_int(const char *db, const char *sql)
{
	if (state_fix_pg()) {
		bool ok = false;
		PGresult *r = pg_raw(db, sql, &ok);
		assert_true(ok);
		assert_int_equal(PQntuples(r), 1);
		int64_t v = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
		PQclear(r);
		return v;
	}
	sqlite3 *h = NULL;
	sqlite3_stmt *s = NULL;
	assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(h, sql, -1, &s, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	int64_t v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	sqlite3_close(h);
	return v;
}

/* The SQL that sets the schema version to v (backend's own). */
static char *set_version_sql(int v)
{
	return state_fix_pg() ? xasprintf("UPDATE sbx_schema SET version = %d", v) :
		xasprintf("PRAGMA user_version = %d", v);
}

/* Open creates a 0700 directory, a 0600 WAL database at the latest schema; re-open keeps data. */
static void test_open_and_reopen(void **ctx)
{
	struct state_fix *f = *ctx;
	struct sbx_err err = SBX_ERR_INIT;
	struct stat sb;
	char *dir = sbx_dirname(f->db);
	assert_string_equal(state_dir(f->st), dir);
	assert_int_equal(stat(dir, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0700);
	if (state_fix_pg()) {
		assert_true(raw_int(f->db, "SELECT max(version) FROM sbx_schema") >= 1);
	} else {
		assert_int_equal(stat(f->db, &sb), 0);
		assert_int_equal(sb.st_mode & 0777, 0600);
		assert_true(raw_int(f->db, "PRAGMA user_version") >= 1);
		assert_int_equal(raw_int(f->db, "SELECT journal_mode = 'wal' FROM pragma_journal_mode"), 1);
	}
	state_fix_env(f->st, "keep", 0, false);
	state_close(f->st);
	assert_int_equal(state_fix_open(f->db, &f->st, &err), 0);
	struct state_env *e = NULL;
	assert_int_equal(state_env_get(f->st, "keep", &e, &err), 0);
	assert_non_null(e);
	state_env_free(e);
	free(dir);
}

/* Each state has its own random id, kept across re-opens; a version-1 database gets one. */
static void test_state_id(void **ctx)
{
	struct state_fix *f = *ctx;
	struct sbx_err err = SBX_ERR_INIT;
	char *id = xstrdup(state_id(f->st));
	assert_int_equal(strlen(id), 16);
	assert_int_equal(strspn(id, "0123456789abcdef"), 16);
	state_close(f->st);
	assert_int_equal(state_fix_open(f->db, &f->st, &err), 0);
	assert_string_equal(state_id(f->st), id);
	struct state_fix *g = state_fix_new("state2", NULL);
	assert_string_not_equal(state_id(g->st), id);
	state_fix_free(g);
	state_close(f->st);
	char *v1 = set_version_sql(1), *sql = xasprintf("DROP TABLE meta; DROP TABLE lease; DROP TABLE env_lock; "
		"DROP TABLE env_claim; DROP TABLE caps; DROP TABLE warm; DROP TABLE env_place; DROP TABLE outbox; %s", v1);
	assert_int_equal(raw_sql(f->db, sql, NULL), SQLITE_OK);
	free(v1);
	free(sql);
	assert_int_equal(state_fix_open(f->db, &f->st, &err), 0);
	assert_int_equal(strlen(state_id(f->st)), 16);
	assert_string_not_equal(state_id(f->st), id);
	free(id);
}

/* Step 9 keeps a claim made under step 7's one-claim-per-environment table; an environment then holds
 * one claim per host, and its placement rows. */
static void test_step9_claims(void **ctx)
{
	struct state_fix *f = *ctx;
	struct sbx_err err = SBX_ERR_INIT;
	struct state_claim c = {0}, two[2] = {{1, 1, 1}, {2, 2, 2}};
	const char *uris[2] = {"qemu:///system", "qemu:///session"};
	struct state_place *pv = NULL, p1 = {"node", "web", "qemu:///session"};
	size_t npv = 9;
	state_fix_env(f->st, "old", 0, false);
	state_close(f->st);
	f->st = NULL;
	/* back to step 8: without step 9's tables, step 10's warm.roles and step 11's outbox */
	char *v8 = set_version_sql(8), *sql = xasprintf("DROP TABLE outbox; DROP TABLE env_place; DROP TABLE env_claim; "
		"ALTER TABLE warm DROP COLUMN roles; "
		"CREATE TABLE env_claim (env TEXT PRIMARY KEY, uri TEXT NOT NULL, memory BIGINT NOT NULL, cpus BIGINT NOT NULL,"
		" disk BIGINT NOT NULL); CREATE INDEX env_claim_uri ON env_claim(uri);"
		"INSERT INTO env_claim VALUES ('old', 'qemu:///system', 7, 3, 5); %s", v8);
	assert_int_equal(raw_sql(f->db, sql, NULL), SQLITE_OK);
	free(v8);
	free(sql);
	assert_int_equal(state_fix_open(f->db, &f->st, &err), 0);
	assert_int_equal(state_claim_get(f->st, "old", "qemu:///system", &c, &err), 0);
	assert_int_equal(c.memory, 7);
	assert_int_equal(c.cpus, 3);
	assert_int_equal(state_place_list(f->st, "old", &pv, &npv, &err), 0);
	assert_int_equal(npv, 0);
	assert_int_equal(state_claim_set(f->st, "old", uris, two, 2, &err), 0);
	assert_int_equal(state_claim_get(f->st, "old", "qemu:///session", &c, &err), 0);
	assert_int_equal(c.memory, 2);
	assert_int_equal(state_place_set(f->st, "old", &p1, 1, &err), 0);
	assert_int_equal(state_place_list(f->st, "old", &pv, &npv, &err), 0);
	assert_int_equal(npv, 1);
	assert_string_equal(state_place_find(pv, npv, "node", "web"), "qemu:///session");
	state_place_list_free(pv, npv);
}

/* A database from a newer binary is refused with a clear message. */
static void test_newer_schema_refused(void **ctx)
{
	struct state_fix *f = *ctx;
	struct sbx_err err = SBX_ERR_INIT;
	struct state *st2 = NULL;
	char *v999 = set_version_sql(999);
	assert_int_equal(raw_sql(f->db, v999, NULL), SQLITE_OK);
	free(v999);
	assert_int_equal(state_fix_open(f->db, &st2, &err), -1);
	assert_null(st2);
	assert_non_null(strstr(sbx_err_first(&err), "newer"));
	assert_non_null(strstr(sbx_err_first(&err), "999"));
	assert_non_null(err.hint);
	sbx_err_clear(&err);
}

/* Count the expiry.warning events of env. */
static size_t warn_events(struct state *st, const char *env)
{
	struct sbx_err err = SBX_ERR_INIT;
	struct state_event *ev = NULL;
	size_t n = 0, k = 0;
	assert_int_equal(state_event_list(st, env, 0, &ev, &n, &err), 0);
	for (size_t i = 0; i < n; i++)
		k += strcmp(ev[i].kind, "expiry.warning") == 0;
	state_event_list_free(ev, n);
	return k;
}

/* A warning is recorded (with its event) once per environment, offset and expiry; a new expiry
 * re-arms it; the rows go with the environment. */
static void test_warn_once(void **ctx)
{
	struct state_fix *f = *ctx;
	struct sbx_err err = SBX_ERR_INIT;
	struct state_env *e = NULL;
	bool first = false;
	state_fix_env(f->st, "w", 5000, false);
	assert_int_equal(state_env_get(f->st, "w", &e, &err), 0);
	assert_int_equal(state_warn_record(f->st, "w", e->id, 3600, 5000, "{\"before_s\":3600}", NULL, &first, NULL, &err), 0);
	assert_true(first);
	assert_int_equal(state_warn_record(f->st, "w", e->id, 3600, 5000, "{\"before_s\":3600}", NULL, &first, NULL, &err), 0);
	assert_false(first);
	assert_int_equal(warn_events(f->st, "w"), 1);
	assert_int_equal(state_warn_record(f->st, "w", e->id, 600, 5000, NULL, NULL, &first, NULL, &err), 0);
	assert_true(first);
	assert_int_equal(state_warn_record(f->st, "w", e->id, 600, 9000, NULL, NULL, &first, NULL, &err), 0);
	assert_true(first);
	assert_int_equal(warn_events(f->st, "w"), 3);
	assert_int_equal(raw_int(f->db, "SELECT count(*) FROM warning"), 3);
	/* a detail that is not JSON fails the whole record: no row, so a retry warns */
	assert_int_equal(state_warn_record(f->st, "w", e->id, 60, 5000, "{bad", NULL, &first, NULL, &err), -1);
	sbx_err_clear(&err);
	assert_int_equal(raw_int(f->db, "SELECT count(*) FROM warning"), 3);
	assert_int_equal(state_env_delete(f->st, "w", &err), 0);
	assert_int_equal(raw_int(f->db, "SELECT count(*) FROM warning"), 0);
	state_env_free(e);
}

#define OB_SECRET "outbox-signing-key-4f9a1c"

/* A delivery of env "w" with id, signed with OB_SECRET. */
static struct state_outbox ob_item(const char *id)
{
	return (struct state_outbox){.id = (char *)id, .env = "w", .env_id = "wid", .event = "expiry.warning",
		.body = "{\"type\":\"expiry.warning\"}", .url = "http://127.0.0.1:1/hook", .secret = OB_SECRET,
		.created = 1000};
}

/* Put o and return what the put did. */
static enum state_outbox_put ob_put(struct state *st, struct state_outbox o)
{
	struct sbx_err err = SBX_ERR_INIT;
	enum state_outbox_put res = STATE_OUTBOX_DUPLICATE;
	if (state_outbox_put(st, &o, &res, &err) < 0)
		fail_msg("put %s: %s", o.id, sbx_err_first(&err));
	return res;
}

/* Claim as holder at now; the id claimed or NULL (owned). */
static char *ob_claim(struct state *st, const char *holder, int64_t now)
{
	struct sbx_err err = SBX_ERR_INIT;
	struct state_outbox *o = NULL;
	if (state_outbox_claim(st, holder, now, 60, &o, &err) < 0)
		fail_msg("claim: %s", sbx_err_first(&err));
	char *id = o ? xstrdup(o->id) : NULL;
	state_outbox_free(o);
	return id;
}

/* The outbox's rows. */
static int64_t ob_count(struct state *st)
{
	struct sbx_err err = SBX_ERR_INIT;
	int64_t n = -1;
	assert_int_equal(state_outbox_count(st, &n, &err), 0);
	return n;
}

/* A delivery is queued once per id; the cap refuses more. */
static void test_outbox_put_once(void **ctx)
{
	struct state_fix *f = *ctx;
	assert_int_equal(ob_put(f->st, ob_item("e1.warning.600.5000")), STATE_OUTBOX_QUEUED);
	assert_int_equal(ob_put(f->st, ob_item("e1.warning.600.5000")), STATE_OUTBOX_DUPLICATE);
	assert_int_equal(ob_count(f->st), 1);
	state_outbox_cap_set(f->st, 2);
	struct state_outbox unsigned_one = ob_item("e1.reap.done");
	unsigned_one.secret = NULL;
	assert_int_equal(ob_put(f->st, unsigned_one), STATE_OUTBOX_QUEUED);
	assert_int_equal(ob_put(f->st, ob_item("e2.reap.done")), STATE_OUTBOX_FULL);
	assert_int_equal(ob_put(f->st, ob_item("e1.reap.done")), STATE_OUTBOX_DUPLICATE);
	assert_int_equal(ob_count(f->st), 2);
	state_outbox_cap_set(f->st, 0);
	assert_int_equal(ob_put(f->st, ob_item("e2.reap.done")), STATE_OUTBOX_QUEUED);
	/* the row without a secret comes back without one */
	struct sbx_err err = SBX_ERR_INIT;
	struct state_outbox *o = NULL;
	assert_int_equal(state_outbox_claim(f->st, "h1", 1000, 60, &o, &err), 0);
	assert_non_null(o);
	if (strcmp(o->id, "e1.reap.done") == 0)
		assert_null(o->secret);
	state_outbox_free(o);
}

/* A claim excludes other holders while its lease runs and its holder lives; then it is taken over. */
static void test_outbox_claim(void **ctx)
{
	struct state_fix *f = *ctx;
	struct sbx_err err = SBX_ERR_INIT;
	struct state_lock *a = NULL, *b = NULL;
	assert_int_equal(state_reaper_hold(f->st, "daemon@h:1", &a, &err), 0);
	assert_int_equal(state_reaper_hold(f->st, "daemon@h:2", &b, &err), 0);
	assert_int_equal(ob_put(f->st, ob_item("d1")), STATE_OUTBOX_QUEUED);
	assert_null(ob_claim(f->st, "daemon@h:1", 999)); /* not due before it was created */
	char *id = ob_claim(f->st, "daemon@h:1", 1000);
	assert_string_equal(id, "d1");
	free(id);
	assert_null(ob_claim(f->st, "daemon@h:2", 1001));
	assert_null(ob_claim(f->st, "daemon@h:1", 1001)); /* nor twice by its holder */
	/* its lease ran out: taken over */
	id = ob_claim(f->st, "daemon@h:2", 1060);
	assert_string_equal(id, "d1");
	free(id);
	/* released: claimable again at once */
	assert_int_equal(state_outbox_release(f->st, "daemon@h:2", &err), 0);
	id = ob_claim(f->st, "daemon@h:1", 1061);
	assert_string_equal(id, "d1");
	free(id);
	assert_null(ob_claim(f->st, "daemon@h:2", 1062));
	/* its holder died (its liveness lock is free): taken over at once */
	state_env_unlock(a);
	id = ob_claim(f->st, "daemon@h:2", 1062);
	assert_string_equal(id, "d1");
	free(id);
	state_env_unlock(b);
}

/* A failed attempt puts the row back with its attempts, next time and error; done deletes it and logs. */
static void test_outbox_retry_done(void **ctx)
{
	struct state_fix *f = *ctx;
	struct sbx_err err = SBX_ERR_INIT;
	struct state_outbox *o = NULL;
	struct state_lock *a = NULL;
	assert_int_equal(state_reaper_hold(f->st, "daemon@h:1", &a, &err), 0);
	assert_int_equal(ob_put(f->st, ob_item("r1")), STATE_OUTBOX_QUEUED);
	char *id = ob_claim(f->st, "daemon@h:1", 1000);
	assert_string_equal(id, "r1");
	free(id);
	/* only its holder puts it back */
	assert_int_equal(state_outbox_retry(f->st, "r1", "daemon@h:9", 3, 1000, "no", &err), 0);
	assert_null(ob_claim(f->st, "daemon@h:1", 1001));
	assert_int_equal(state_outbox_retry(f->st, "r1", "daemon@h:1", 1, 1002, "webhook http://x: HTTP 503", &err), 0);
	assert_null(ob_claim(f->st, "daemon@h:1", 1001));
	assert_int_equal(state_outbox_claim(f->st, "daemon@h:1", 1002, 60, &o, &err), 0);
	assert_non_null(o);
	assert_int_equal(o->attempts, 1);
	assert_int_equal(o->next_at, 1002);
	assert_int_equal(o->created, 1000);
	assert_string_equal(o->last_error, "webhook http://x: HTTP 503");
	assert_string_equal(o->url, "http://127.0.0.1:1/hook");
	assert_string_equal(o->event, "expiry.warning");
	assert_string_equal(o->env_id, "wid");
	assert_string_equal(o->body, "{\"type\":\"expiry.warning\"}");
	state_outbox_free(o);
	assert_int_equal(state_outbox_done(f->st, "r1", "w", "notify.sent", "{\"id\":\"r1\"}", &err), 0);
	assert_int_equal(ob_count(f->st), 0);
	assert_null(ob_claim(f->st, "daemon@h:1", 5000));
	struct state_event *ev = NULL;
	size_t n = 0;
	assert_int_equal(state_event_list(f->st, "w", 0, &ev, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_string_equal(ev[0].kind, "notify.sent");
	state_event_list_free(ev, n);
	/* a detail that is not JSON fails the whole step: the row stays */
	assert_int_equal(ob_put(f->st, ob_item("r2")), STATE_OUTBOX_QUEUED);
	assert_int_equal(state_outbox_done(f->st, "r2", "w", "notify.sent", "{bad", &err), -1);
	sbx_err_clear(&err);
	assert_int_equal(ob_count(f->st), 1);
	state_env_unlock(a);
}

/* The secret goes in sealed and comes out whole; it is nowhere in clear in the database; a sealed
 * value moved to another delivery, or cut short, does not open there: the row is claimed unreadable. */
static void test_outbox_secret(void **ctx)
{
	struct state_fix *f = *ctx;
	struct sbx_err err = SBX_ERR_INIT;
	struct state_outbox *o = NULL;
	assert_int_equal(ob_put(f->st, ob_item("s1")), STATE_OUTBOX_QUEUED);
	struct state_outbox two = ob_item("s2");
	two.created = 2000;
	assert_int_equal(ob_put(f->st, two), STATE_OUTBOX_QUEUED);
	assert_int_equal(state_outbox_claim(f->st, "h", 1000, 60, &o, &err), 0);
	assert_non_null(o);
	assert_string_equal(o->id, "s1");
	assert_string_equal(o->secret, OB_SECRET);
	assert_null(o->unreadable);
	state_outbox_free(o);
	if (state_fix_pg()) {
		assert_int_equal(raw_int(f->db, "SELECT count(*) FROM outbox WHERE strpos(encode(secret_ct, 'escape'), "
			"'" OB_SECRET "') > 0 OR strpos(body || url || id, '" OB_SECRET "') > 0"), 0);
	} else {
		/* closed first: closing another descriptor of its file would drop the handle's POSIX locks */
		char *wal = xasprintf("%s-wal", f->db);
		state_close(f->st);
		f->st = NULL;
		assert_int_equal(raw_int(f->db, "PRAGMA wal_checkpoint(FULL)"), 0);
		assert_false(state_fix_file_has(f->db, OB_SECRET));
		assert_false(state_fix_file_has(wal, OB_SECRET));
		assert_true(state_fix_file_has(f->db, "http://127.0.0.1:1/hook")); /* the search does find what is there */
		free(wal);
		assert_int_equal(state_fix_open(f->db, &f->st, &err), 0);
	}
	assert_int_equal(raw_int(f->db, "SELECT length(secret_ct) FROM outbox WHERE id = 's1'"),
		(int64_t)strlen(OB_SECRET));
	/* s1's sealed secret copied onto s2: bound to s1, it does not open as s2's */
	assert_int_equal(raw_sql(f->db, "UPDATE outbox SET secret_nonce = (SELECT secret_nonce FROM outbox WHERE id = 's1'),"
		" secret_tag = (SELECT secret_tag FROM outbox WHERE id = 's1'), secret_ct = (SELECT secret_ct FROM outbox"
		" WHERE id = 's1') WHERE id = 's2'", NULL), SQLITE_OK);
	assert_int_equal(state_outbox_done(f->st, "s1", "w", NULL, NULL, &err), 0);
	/* claimed all the same, unreadable: the holder gives it up */
	assert_int_equal(state_outbox_claim(f->st, "h", 3000, 60, &o, &err), 0);
	assert_non_null(o);
	assert_string_equal(o->id, "s2");
	assert_null(o->secret);
	assert_non_null(o->unreadable);
	assert_non_null(strstr(o->unreadable, "cannot decrypt"));
	assert_null(strstr(o->unreadable, OB_SECRET));
	state_outbox_free(o);
	/* a sealed value cut short (its nonce) is unreadable too */
	assert_int_equal(state_outbox_release(f->st, "h", &err), 0);
	assert_int_equal(raw_sql(f->db, "UPDATE outbox SET secret_nonce = substr(secret_nonce, 1, 4) WHERE id = 's2'",
		NULL), SQLITE_OK);
	assert_int_equal(state_outbox_claim(f->st, "h", 3000, 60, &o, &err), 0);
	assert_non_null(o);
	assert_null(o->secret);
	assert_non_null(strstr(o->unreadable, "corrupt"));
	state_outbox_free(o);
}

/* A warning and its webhook are recorded together: once, and not at all when the record fails. */
static void test_outbox_with_warning(void **ctx)
{
	struct state_fix *f = *ctx;
	struct sbx_err err = SBX_ERR_INIT;
	struct state_env *e = NULL;
	enum state_outbox_put q = STATE_OUTBOX_FULL;
	bool first = false, sent = true;
	state_fix_env(f->st, "w", 5000, false);
	assert_int_equal(state_env_get(f->st, "w", &e, &err), 0);
	struct state_outbox ob = ob_item("w.warning.600.5000");
	assert_int_equal(state_warn_sent(f->st, e->id, 600, 5000, &sent, &err), 0);
	assert_false(sent);
	assert_int_equal(state_warn_record(f->st, "w", e->id, 600, 5000, NULL, &ob, &first, &q, &err), 0);
	assert_true(first);
	assert_int_equal(q, STATE_OUTBOX_QUEUED);
	assert_int_equal(state_warn_sent(f->st, e->id, 600, 5000, &sent, &err), 0);
	assert_true(sent);
	assert_int_equal(state_warn_record(f->st, "w", e->id, 600, 5000, NULL, &ob, &first, &q, &err), 0);
	assert_false(first);
	assert_int_equal(q, STATE_OUTBOX_DUPLICATE);
	assert_int_equal(ob_count(f->st), 1);
	/* the event fails (not JSON): neither the warning nor its webhook */
	ob.id = "w.warning.60.5000";
	assert_int_equal(state_warn_record(f->st, "w", e->id, 60, 5000, "{bad", &ob, &first, &q, &err), -1);
	sbx_err_clear(&err);
	assert_int_equal(ob_count(f->st), 1);
	assert_int_equal(state_warn_sent(f->st, e->id, 60, 5000, &sent, &err), 0);
	assert_false(sent);
	/* the outbox is full: the warning is recorded, its webhook dropped (said) */
	state_outbox_cap_set(f->st, 1);
	assert_int_equal(state_warn_record(f->st, "w", e->id, 60, 5000, NULL, &ob, &first, &q, &err), 0);
	assert_true(first);
	assert_int_equal(q, STATE_OUTBOX_FULL);
	assert_int_equal(ob_count(f->st), 1);
	/* the rows outlive the environment (a reap's notice is sent after it is gone) */
	assert_int_equal(state_env_delete(f->st, "w", &err), 0);
	assert_int_equal(ob_count(f->st), 1);
	state_env_free(e);
}

/* An environment's deletion and its notice go in together: both or neither, and no notice for an
 * environment that was not there. */
static void test_outbox_with_deletion(void **ctx)
{
	struct state_fix *f = *ctx;
	struct sbx_err err = SBX_ERR_INIT;
	struct state_env *e = NULL;
	enum state_outbox_put q = STATE_OUTBOX_FULL;
	struct state_outbox ob = ob_item("w.reap.done");
	state_fix_env(f->st, "w", 5000, false);
	add_res(f->st, "w", "domain", "sbx-w-x-0");
	/* refused (a resource is left): nothing queued */
	assert_int_equal(state_env_delete_notice(f->st, "w", &ob, &q, &err), -1);
	assert_int_equal(err.code, SBX_EXIT_REFUSED);
	sbx_err_clear(&err);
	assert_int_equal(ob_count(f->st), 0);
	assert_int_equal(state_res_delete(f->st, "w", "domain", "sbx-w-x-0", &err), 0);
	/* the put fails (a body is required): the environment stays */
	ob.body = NULL;
	assert_int_equal(state_env_delete_notice(f->st, "w", &ob, &q, &err), -1);
	sbx_err_clear(&err);
	assert_int_equal(state_env_get(f->st, "w", &e, &err), 0);
	assert_non_null(e);
	state_env_free(e);
	assert_int_equal(ob_count(f->st), 0);
	/* deleted, and queued with it */
	ob.body = "{\"type\":\"reap.done\"}";
	assert_int_equal(state_env_delete_notice(f->st, "w", &ob, &q, &err), 0);
	assert_int_equal(q, STATE_OUTBOX_QUEUED);
	assert_int_equal(state_env_get(f->st, "w", &e, &err), 0);
	assert_null(e);
	assert_int_equal(ob_count(f->st), 1);
	/* absent: nothing queued */
	ob.id = "w.reap.done.again";
	assert_int_equal(state_env_delete_notice(f->st, "w", &ob, &q, &err), 0);
	assert_int_equal(q, STATE_OUTBOX_DUPLICATE);
	assert_int_equal(ob_count(f->st), 1);
	/* the outbox is full: the environment goes, its notice dropped (said) */
	state_fix_env(f->st, "v", 5000, false);
	state_outbox_cap_set(f->st, 1);
	ob.id = "v.reap.done";
	assert_int_equal(state_env_delete_notice(f->st, "v", &ob, &q, &err), 0);
	assert_int_equal(q, STATE_OUTBOX_FULL);
	assert_int_equal(state_env_get(f->st, "v", &e, &err), 0);
	assert_null(e);
	assert_int_equal(ob_count(f->st), 1);
}

#define OPENERS 4

/* Several processes opening (creating, migrating) a fresh database at once all succeed. */
static void test_concurrent_first_open(void **ctx)
{
	struct state_fix *f = *ctx;
	struct sbx_err err = SBX_ERR_INIT;
	char *db = xasprintf("%s/fresh/state.db", f->dir);
	pid_t pids[OPENERS];
	int start[2];
	assert_int_equal(pipe(start), 0);
	for (int i = 0; i < OPENERS; i++) {
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (pids[i] == 0) {
			struct state *st = NULL;
			char c, name[16];
			snprintf(name, sizeof(name), "p%d", i);
			if (read(start[0], &c, 1) != 1)
				_exit(2);
			if (state_fix_open(db, &st, &err) < 0) {
				fprintf(stderr, "opener %d: %s\n", i, sbx_err_first(&err));
				_exit(2);
			}
			struct state_env e = {.name = name};
			_exit(state_env_create(st, &e, &err) == 0 ? 0 : 3);
		}
	}
	assert_int_equal(write(start[1], "gogo", OPENERS), OPENERS);
	for (int i = 0; i < OPENERS; i++) {
		int status = 0;
		assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
	}
	close(start[0]);
	close(start[1]);
	assert_int_equal(raw_int(db, "SELECT count(*) FROM env"), OPENERS);
	free(db);
}

/* A file that is not a database is reported, naming the file. */
static void test_not_a_database(void **ctx)
{
	struct state_fix *f = *ctx;
	struct sbx_err err = SBX_ERR_INIT;
	struct state *st = NULL;
	char *db = xasprintf("%s/junk.db", f->dir);
	char junk[4096];
	memset(junk, 'x', sizeof(junk));
	assert_int_equal(sbx_write_file(db, junk, sizeof(junk), 0600, &err), 0);
	assert_int_equal(state_open(db, &st, &err), -1);
	assert_null(st);
	assert_non_null(strstr(sbx_err_first(&err), db));
	assert_non_null(strstr(sbx_err_first(&err), "not a database"));
	sbx_err_clear(&err);
	free(db);
}

/* Create, read, update, set status/expiry; duplicates refused; absent handled. */
static void test_env_crud(void **ctx)
{
	struct state_fix *f = *ctx;
	struct sbx_err err = SBX_ERR_INIT;
	struct state_env *e = NULL;
	sbx_fake_now_set(1000);
	state_fix_env(f->st, "demo", 5000, false);
	assert_int_equal(state_env_get(f->st, "demo", &e, &err), 0);
	assert_non_null(e);
	assert_string_equal(e->name, "demo");
	assert_int_equal(strlen(e->id), 16);
	assert_string_equal(e->status, STATE_ENV_CREATING);
	assert_string_equal(e->blueprint, "/bp.yaml");
	assert_string_equal(e->owner, "me@host");
	assert_int_equal(e->created, 1000);
	assert_int_equal(e->expires, 5000);
	assert_false(e->protected);
	assert_null(e->claimed_by);
	char *id = xstrdup(e->id);

	/* duplicate */
	struct state_env dup = {.name = "demo"};
	assert_int_equal(state_env_create(f->st, &dup, &err), -1);
	assert_int_equal(err.code, SBX_EXIT_REFUSED);
	sbx_err_clear(&err);
	struct state_env bad = {.name = "a/b"};
	assert_int_equal(state_env_create(f->st, &bad, &err), -1);
	assert_int_equal(err.code, SBX_EXIT_USAGE);
	sbx_err_clear(&err);

	/* update */
	sbx_fake_now_set(2000);
	free(e->bp_hash);
	e->bp_hash = xstrdup("h2");
	free(e->status);
	e->status = xstrdup(STATE_ENV_READY);
	e->expires = 9000;
	assert_int_equal(state_env_update(f->st, e, &err), 0);
	state_env_free(e);
	assert_int_equal(state_env_get(f->st, "demo", &e, &err), 0);
	assert_string_equal(e->bp_hash, "h2");
	assert_string_equal(e->status, STATE_ENV_READY);
	assert_string_equal(e->id, id);
	assert_int_equal(e->created, 1000);
	assert_int_equal(e->updated, 2000);
	assert_int_equal(e->expires, 9000);
	state_env_free(e);

	assert_int_equal(state_env_set_status(f->st, "demo", STATE_ENV_FAILED, &err), 0);
	assert_int_equal(state_env_set_expires(f->st, "demo", 12345, &err), 0);
	assert_int_equal(state_env_get(f->st, "demo", &e, &err), 0);
	assert_string_equal(e->status, STATE_ENV_FAILED);
	assert_int_equal(e->expires, 12345);
	state_env_free(e);

	/* absent */
	e = (struct state_env *)&err; /* must be overwritten with NULL */
	assert_int_equal(state_env_get(f->st, "nope", &e, &err), 0);
	assert_null(e);
	assert_int_equal(state_env_set_status(f->st, "nope", STATE_ENV_READY, &err), -1);
	assert_non_null(strstr(sbx_err_first(&err), "nope"));
	sbx_err_clear(&err);
	struct state_env ghost = {.name = "nope"};
	assert_int_equal(state_env_update(f->st, &ghost, &err), -1);
	sbx_err_clear(&err);
	free(id);
	sbx_fake_now_set(0);
}

/* The list is ordered by name, whatever the insertion order. */
static void test_env_list_order(void **ctx)
{
	struct state_fix *f = *ctx;
	struct sbx_err err = SBX_ERR_INIT;
	struct state_env **v = NULL;
	size_t n = 99;
	assert_int_equal(state_env_list(f->st, &v, &n, &err), 0);
	assert_int_equal(n, 0);
	state_env_list_free(v, n);
	const char *names[] = {"charlie", "alpha", "delta", "bravo"};
	for (size_t i = 0; i < SBX_NELEM(names); i++)
		state_fix_env(f->st, names[i], 0, false);
	assert_int_equal(state_env_list(f->st, &v, &n, &err), 0);
	assert_int_equal(n, 4);
	assert_string_equal(v[0]->name, "alpha");
	assert_string_equal(v[1]->name, "bravo");
	assert_string_equal(v[2]->name, "charlie");
	assert_string_equal(v[3]->name, "delta");
	state_env_list_free(v, n);
}

/* Whether EXPLAIN QUERY PLAN of sql mentions `want` (on the database file directly). */
static bool plan_mentions(const char *db, const char *sql, const char *want)
{
	sqlite3 *h = NULL;
	sqlite3_stmt *s = NULL;
	bool hit = false;
	char *q = xasprintf("EXPLAIN QUERY PLAN %s", sql);
	assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(h, q, -1, &s, NULL), SQLITE_OK);
	while (sqlite3_step(s) == SQLITE_ROW)
		hit = hit || strstr((const char *)sqlite3_column_text(s, 3), want) != NULL;
	sqlite3_finalize(s);
	sqlite3_close(h);
	free(q);
	return hit;
}

/* The brief list is the full list without bp_json, in the same order, read from the covering index. */
static void test_env_list_brief(void **ctx)
{
	struct state_fix *f = *ctx;
	struct sbx_err err = SBX_ERR_INIT;
	struct state_env **full = NULL, **brief = NULL;
	size_t nf = 0, nb = 99;
	assert_int_equal(state_env_list_brief(f->st, &brief, &nb, &err), 0);
	assert_int_equal(nb, 0);
	state_env_list_free(brief, nb);
	for (int i = 0; i < 300; i++) {
		char name[32];
		snprintf(name, sizeof(name), "e%d", (i * 7919) % 300); /* not in name order */
		state_fix_env(f->st, name, i % 3 ? sbx_now() + i : 0, i % 5 == 0);
	}
	assert_int_equal(state_env_set_status(f->st, "e42", STATE_ENV_FAILED, &err), 0);
	assert_int_equal(state_env_list(f->st, &full, &nf, &err), 0);
	assert_int_equal(state_env_list_brief(f->st, &brief, &nb, &err), 0);
	assert_int_equal(nb, 300);
	assert_int_equal(nf, nb);
	for (size_t i = 0; i < nb; i++) {
		const struct state_env *a = full[i], *b = brief[i];
		assert_string_equal(a->name, b->name);
		assert_string_equal(a->id, b->id);
		assert_string_equal(a->status, b->status);
		assert_string_equal(a->blueprint, b->blueprint);
		assert_string_equal(a->bp_hash, b->bp_hash);
		assert_string_equal(a->owner, b->owner);
		assert_non_null(a->bp_json);
		assert_null(b->bp_json);
		assert_true(a->created == b->created && a->updated == b->updated && a->expires == b->expires);
		assert_true(a->max_ttl == b->max_ttl && a->protected == b->protected && a->claimed_at == b->claimed_at);
		assert_true(sbx_streq(a->claimed_by, b->claimed_by));
		if (i > 0)
			assert_true(strcmp(brief[i - 1]->name, b->name) < 0);
	}
	state_env_list_free(full, nf);
	state_env_list_free(brief, nb);
	if (!state_fix_pg()) /* SQLite's query plan */
		assert_true(plan_mentions(f->db, "SELECT name, id, blueprint, bp_hash, NULL, status, owner, created,"
			" updated, expires, max_ttl, protected, claimed_by, claimed_at FROM env ORDER BY name",
			"COVERING INDEX env_brief"));
}

/* The depth of one environment's deliveries (or all): how many, and when the oldest was queued; one
 * read of the index outbox_env. */
static void test_outbox_depth(void **ctx)
{
	struct state_fix *f = *ctx;
	struct sbx_err err = SBX_ERR_INIT;
	int64_t n = -1, oldest = -1;
	assert_int_equal(state_outbox_depth(f->st, NULL, &n, &oldest, &err), 0);
	assert_int_equal(n, 0);
	assert_int_equal(oldest, 0);
	struct state_outbox a = ob_item("w.warning.600.5000"), b = ob_item("w.reap.done"), c = ob_item("o.reap.done");
	b.created = 2000;
	c.env = "o";
	c.env_id = "oid";
	c.created = 500;
	assert_int_equal(ob_put(f->st, b), STATE_OUTBOX_QUEUED);
	assert_int_equal(ob_put(f->st, a), STATE_OUTBOX_QUEUED);
	assert_int_equal(ob_put(f->st, c), STATE_OUTBOX_QUEUED);
	assert_int_equal(state_outbox_depth(f->st, "wid", &n, &oldest, &err), 0);
	assert_int_equal(n, 2);
	assert_int_equal(oldest, 1000);
	assert_int_equal(state_outbox_depth(f->st, "oid", &n, &oldest, &err), 0);
	assert_int_equal(n, 1);
	assert_int_equal(oldest, 500);
	assert_int_equal(state_outbox_depth(f->st, NULL, &n, &oldest, &err), 0);
	assert_int_equal(n, 3);
	assert_int_equal(oldest, 500);
	assert_int_equal(state_outbox_depth(f->st, "none", &n, &oldest, &err), 0);
	assert_int_equal(n, 0);
	assert_int_equal(oldest, 0);
	if (!state_fix_pg())
		assert_true(plan_mentions(f->db, "SELECT count(*), COALESCE(min(created), 0) FROM outbox WHERE env_id = 'wid'",
			"COVERING INDEX outbox_env"));
}

/* protected survives an update that clears it; only unprotect lifts it. */
static void test_protect_sticky(void **ctx)
{
	struct state_fix *f = *ctx;
	struct sbx_err err = SBX_ERR_INIT;
	struct state_env *e = NULL;
	state_fix_env(f->st, "prod", 0, true);
	assert_int_equal(state_env_get(f->st, "prod", &e, &err), 0);
	assert_true(e->protected);
	e->protected = false;
	assert_int_equal(state_env_update(f->st, e, &err), 0);
	state_env_free(e);
	assert_int_equal(state_env_get(f->st, "prod", &e, &err), 0);
	assert_true(e->protected);
	assert_int_equal(state_env_unprotect(f->st, "prod", &err), 0);
	state_env_free(e);
	assert_int_equal(state_env_get(f->st, "prod", &e, &err), 0);
	assert_false(e->protected);
	e->protected = true;
	assert_int_equal(state_env_update(f->st, e, &err), 0);
	state_env_free(e);
	assert_int_equal(state_env_get(f->st, "prod", &e, &err), 0);
	assert_true(e->protected);
	state_env_free(e);
}

/* set_expires refuses to go beyond created + max_ttl. */
static void test_max_ttl(void **ctx)
{
	struct state_fix *f = *ctx;
	struct sbx_err err = SBX_ERR_INIT;
	sbx_fake_now_set(1000);
	struct state_env e = {.name = "ttl", .expires = 2000, .max_ttl = 3600};
	assert_int_equal(state_env_create(f->st, &e, &err), 0);
	assert_int_equal(state_env_set_expires(f->st, "ttl", 1000 + 3600, &err), 0);
	assert_int_equal(state_env_set_expires(f->st, "ttl", 1000 + 3601, &err), -1);
	assert_int_equal(err.code, SBX_EXIT_REFUSED);
	sbx_err_clear(&err);
	assert_int_equal(state_env_set_expires(f->st, "ttl", 0, &err), -1);
	sbx_err_clear(&err);
	assert_int_equal(state_env_set_expires(f->st, "nope", 5, &err), -1);
	sbx_err_clear(&err);
	sbx_fake_now_set(0);
}

/* Resources: put, update in place keeping order, list, list_all, delete; unknown env refused. */
static void test_resources(void **ctx)
{
	struct state_fix *f = *ctx;
	struct sbx_err err = SBX_ERR_INIT;
	struct state_res *r = NULL;
	size_t n = 0;
	state_fix_env(f->st, "a", 0, false);
	state_fix_env(f->st, "b", 0, false);
	add_res(f->st, "a", "network", "sbx-a-front");
	add_res(f->st, "a", "volume", "sbx-a-web-0");
	add_res(f->st, "a", "domain", "sbx-a-web-0");
	add_res(f->st, "b", "network", "sbx-b-front");
	struct state_res upd = {.env = "a", .type = "network", .name = "sbx-a-front",
		.provider_id = "uuid-1", .spec = "{}", .status = STATE_RES_CREATED};
	assert_int_equal(state_res_put(f->st, &upd, &err), 0);
	assert_int_equal(state_res_list(f->st, "a", &r, &n, &err), 0);
	assert_int_equal(n, 3);
	assert_string_equal(r[0].name, "sbx-a-front");
	assert_string_equal(r[0].status, STATE_RES_CREATED);
	assert_string_equal(r[0].provider_id, "uuid-1");
	assert_string_equal(r[1].type, "volume");
	assert_string_equal(r[2].type, "domain");
	assert_null(r[2].provider_id);
	assert_string_equal(r[2].spec, "{\"a\":1}");
	state_res_list_free(r, n);
	assert_int_equal(state_res_list_all(f->st, &r, &n, &err), 0);
	assert_int_equal(n, 4);
	assert_string_equal(r[3].env, "b");
	state_res_list_free(r, n);
	assert_int_equal(state_res_delete(f->st, "a", "volume", "sbx-a-web-0", &err), 0);
	assert_int_equal(state_res_delete(f->st, "a", "volume", "sbx-a-web-0", &err), 0);
	assert_int_equal(state_res_list(f->st, "a", &r, &n, &err), 0);
	assert_int_equal(n, 2);
	assert_string_equal(r[1].type, "domain");
	state_res_list_free(r, n);
	struct state_res orphan = {.env = "ghost", .type = "t", .name = "n", .status = "pending"};
	assert_int_equal(state_res_put(f->st, &orphan, &err), -1);
	assert_non_null(strstr(sbx_err_first(&err), "environment ghost is not in the state"));
	sbx_err_clear(&err);
}

/* Delete refuses while resources or IPAM rows remain; then removes the row and its secrets. */
static void test_delete_refused_until_empty(void **ctx)
{
	struct state_fix *f = *ctx;
	struct sbx_err err = SBX_ERR_INIT;
	struct state_env *e = NULL;
	char *cidr = NULL, *v = NULL;
	state_fix_env(f->st, "d", 0, false);
	add_res(f->st, "d", "domain", "sbx-d-x-0");
	assert_int_equal(state_ipam_alloc(f->st, "d", "front", NULL, &cidr, &err), 0);
	assert_int_equal(state_secret_put(f->st, "d", "db", "pw", &err), 0);
	assert_int_equal(state_env_delete(f->st, "d", &err), -1);
	assert_int_equal(err.code, SBX_EXIT_REFUSED);
	assert_non_null(strstr(sbx_err_first(&err), "1 resource"));
	sbx_err_clear(&err);
	assert_int_equal(state_res_delete(f->st, "d", "domain", "sbx-d-x-0", &err), 0);
	assert_int_equal(state_env_delete(f->st, "d", &err), -1);
	assert_non_null(strstr(sbx_err_first(&err), "1 IPAM"));
	sbx_err_clear(&err);
	assert_int_equal(state_ipam_release(f->st, "d", &err), 0);
	assert_int_equal(state_env_delete(f->st, "d", &err), 0);
	assert_int_equal(state_env_get(f->st, "d", &e, &err), 0);
	assert_null(e);
	assert_int_equal(state_secret_get(f->st, "d", "db", &v, &err), 0);
	assert_null(v);
	assert_int_equal(state_env_delete(f->st, "d", &err), 0); /* idempotent */
	free(cidr);
}

/* A machine is leased to one environment at a time: the second gets the holder, a repeat by the
 * holder is fine, release frees it, and an environment holding one is not deleted. */
static void test_leases(void **ctx)
{
	struct state_fix *f = *ctx;
	struct sbx_err err = SBX_ERR_INIT;
	char *holder = NULL;
	state_fix_env(f->st, "a", 0, false);
	state_fix_env(f->st, "b", 0, false);
	assert_int_equal(state_lease_holder(f->st, "ipmi:10.0.0.5:623", &holder, &err), 0);
	assert_null(holder);
	assert_int_equal(state_lease_acquire(f->st, "ipmi:10.0.0.5:623", "a", "metal", &holder, &err), 0);
	assert_null(holder);
	assert_int_equal(state_lease_acquire(f->st, "ipmi:10.0.0.5:623", "a", "metal", &holder, &err), 0);
	assert_int_equal(state_lease_acquire(f->st, "ipmi:10.0.0.5:623", "b", "m2", &holder, &err), 1);
	assert_string_equal(holder, "a");
	free(holder);
	assert_int_equal(state_lease_acquire(f->st, "ipmi:10.0.0.5:624", "b", "m2", &holder, &err), 0);
	assert_int_equal(state_env_delete(f->st, "a", &err), -1);
	assert_non_null(strstr(sbx_err_first(&err), "1 machine lease"));
	sbx_err_clear(&err);
	assert_int_equal(state_lease_release(f->st, "a", &err), 0);
	assert_int_equal(state_lease_holder(f->st, "ipmi:10.0.0.5:623", &holder, &err), 0);
	assert_null(holder);
	assert_int_equal(state_lease_holder(f->st, "ipmi:10.0.0.5:624", &holder, &err), 0);
	assert_string_equal(holder, "b");
	free(holder);
	assert_int_equal(state_lease_acquire(f->st, "ipmi:10.0.0.5:623", "b", "m2", &holder, &err), 0);
	assert_int_equal(state_env_delete(f->st, "a", &err), 0);
	assert_int_equal(state_lease_acquire(f->st, "ipmi:10.0.0.6:623", "ghost", "m", &holder, &err), -1);
	sbx_err_clear(&err);
}

/* Events: append, list the last N oldest first, per env and globally; append-only; JSON checked. */
static void test_events(void **ctx)
{
	struct state_fix *f = *ctx;
	struct sbx_err err = SBX_ERR_INIT;
	struct state_event *ev = NULL;
	size_t n = 0;
	sbx_fake_now_set(777);
	for (int i = 0; i < 5; i++) {
		char *d = xasprintf("{\"i\":%d}", i);
		assert_int_equal(state_event_add(f->st, i % 2 ? "x" : "y", "step.done", d, &err), 0);
		free(d);
	}
	assert_int_equal(state_event_add(f->st, NULL, "reap.start", NULL, &err), 0);
	assert_int_equal(state_event_add(f->st, "y", "bad", "{not json", &err), -1);
	assert_non_null(strstr(sbx_err_first(&err), "not valid JSON"));
	sbx_err_clear(&err);
	assert_int_equal(state_event_list(f->st, "y", 2, &ev, &n, &err), 0);
	assert_int_equal(n, 2);
	assert_string_equal(ev[0].detail, "{\"i\":2}");
	assert_string_equal(ev[1].detail, "{\"i\":4}");
	assert_true(ev[0].id < ev[1].id);
	assert_int_equal(ev[0].ts, 777);
	state_event_list_free(ev, n);
	assert_int_equal(state_event_list(f->st, NULL, 0, &ev, &n, &err), 0);
	assert_int_equal(n, 6);
	assert_null(ev[5].env);
	assert_null(ev[5].detail);
	assert_string_equal(ev[5].kind, "reap.start");
	assert_string_equal(ev[0].env, "y");
	state_event_list_free(ev, n);
	char *msg = NULL;
	assert_int_not_equal(raw_sql(f->db, "DELETE FROM event", &msg), SQLITE_OK);
	assert_non_null(strstr(msg, "append-only"));
	sqlite3_free(msg);
	assert_int_not_equal(raw_sql(f->db, "UPDATE event SET kind = 'x'", NULL), SQLITE_OK);
	sbx_fake_now_set(0);
}

/* Two handles (two reapers): each expired env claimed once; protected/permanent/future never. */
static void test_claim_two_handles(void **ctx)
{
	struct state_fix *f = *ctx;
	struct sbx_err err = SBX_ERR_INIT;
	struct state *st2 = NULL;
	char **v = NULL;
	size_t n = 0;
	assert_int_equal(state_fix_open(f->db, &st2, &err), 0);
	state_fix_env(f->st, "old1", 100, false);
	state_fix_env(f->st, "old2", 200, false);
	state_fix_env(f->st, "future", 5000, false);
	state_fix_env(f->st, "prot", 100, true);
	state_fix_env(f->st, "perm", 0, false);
	state_fix_env(f->st, "downing", 100, false);
	assert_int_equal(state_env_set_status(f->st, "downing", STATE_ENV_DESTROYING, &err), 0);
	struct state_lock *r1 = NULL;
	assert_int_equal(state_reaper_hold(f->st, "r1", &r1, &err), 0); /* r1 is alive */
	assert_int_equal(state_env_claim_expired(f->st, 1000, "r1", 600, &v, &n, &err), 0);
	assert_int_equal(n, 2);
	assert_string_equal(v[0], "old1");
	assert_string_equal(v[1], "old2");
	state_strv_free(v, n);
	assert_int_equal(state_env_claim_expired(st2, 1000, "r2", 600, &v, &n, &err), 0);
	assert_int_equal(n, 0);
	state_strv_free(v, n);
	struct state_env *e = NULL;
	assert_int_equal(state_env_get(st2, "old1", &e, &err), 0);
	assert_string_equal(e->status, STATE_ENV_REAPING);
	assert_string_equal(e->claimed_by, "r1");
	assert_int_equal(e->claimed_at, 1000);
	state_env_free(e);
	assert_int_equal(state_env_get(st2, "prot", &e, &err), 0);
	assert_string_equal(e->status, STATE_ENV_CREATING);
	state_env_free(e);
	state_env_unlock(r1);
	state_close(st2);
}

/* A claim older than stale_secs is taken over, once; stale_secs <= 0 never takes over. */
static void test_claim_stale_takeover(void **ctx)
{
	struct state_fix *f = *ctx;
	struct sbx_err err = SBX_ERR_INIT;
	char **v = NULL;
	size_t n = 0;
	struct state_lock *r1 = NULL, *r2 = NULL, *r3 = NULL;
	state_fix_env(f->st, "e", 100, false);
	assert_int_equal(state_reaper_hold(f->st, "r1", &r1, &err), 0);
	assert_int_equal(state_reaper_hold(f->st, "r2", &r2, &err), 0);
	assert_int_equal(state_reaper_hold(f->st, "r3", &r3, &err), 0);
	/* a reaper id is held once */
	struct state_lock *again = NULL;
	assert_int_equal(state_reaper_hold(f->st, "r1", &again, &err), -1);
	assert_int_equal(err.code, SBX_EXIT_REFUSED);
	sbx_err_clear(&err);
	assert_int_equal(state_env_claim_expired(f->st, 1000, "r1", 60, &v, &n, &err), 0);
	assert_int_equal(n, 1);
	state_strv_free(v, n);
	/* the reaper moved on to destroying, then hung (its liveness lock still held) */
	assert_int_equal(state_env_set_status(f->st, "e", STATE_ENV_DESTROYING, &err), 0);
	assert_int_equal(state_env_claim_expired(f->st, 1059, "r2", 60, &v, &n, &err), 0);
	assert_int_equal(n, 0);
	state_strv_free(v, n);
	assert_int_equal(state_env_claim_expired(f->st, 5000, "r2", 0, &v, &n, &err), 0);
	assert_int_equal(n, 0);
	state_strv_free(v, n);
	assert_int_equal(state_env_claim_expired(f->st, 1060, "r2", 60, &v, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_string_equal(v[0], "e");
	state_strv_free(v, n);
	assert_int_equal(state_env_claim_expired(f->st, 1060, "r3", 60, &v, &n, &err), 0);
	assert_int_equal(n, 0);
	state_strv_free(v, n);
	struct state_env *e = NULL;
	assert_int_equal(state_env_get(f->st, "e", &e, &err), 0);
	assert_string_equal(e->claimed_by, "r2");
	assert_string_equal(e->status, STATE_ENV_REAPING);
	state_env_free(e);
	state_env_unlock(r1);
	state_env_unlock(r2);
	state_env_unlock(r3);
}

/* The claims of a reaper whose liveness lock is free (it died) are taken over at once; a live
 * reaper's are not, and nor are one's own. */
static void test_claim_dead_reaper(void **ctx)
{
	struct state_fix *f = *ctx;
	struct sbx_err err = SBX_ERR_INIT;
	struct state_lock *r1 = NULL, *r2 = NULL;
	char **v = NULL;
	size_t n = 0;
	state_fix_env(f->st, "a", 100, false);
	state_fix_env(f->st, "b", 200, false);
	assert_int_equal(state_reaper_hold(f->st, "daemon@h:1", &r1, &err), 0);
	assert_int_equal(state_reaper_hold(f->st, "daemon@h:2", &r2, &err), 0);
	assert_int_equal(state_env_claim_expired(f->st, 1000, "daemon@h:1", 3600, &v, &n, &err), 0);
	assert_int_equal(n, 2);
	state_strv_free(v, n);
	assert_int_equal(state_env_claim_expired(f->st, 1001, "daemon@h:2", 3600, &v, &n, &err), 0);
	assert_int_equal(n, 0); /* daemon 1 is alive */
	state_strv_free(v, n);
	state_env_unlock(r1); /* daemon 1 dies */
	assert_int_equal(state_env_claim_expired(f->st, 1002, "daemon@h:2", 0, &v, &n, &err), 0);
	assert_int_equal(n, 0); /* stale_secs 0: never taken over */
	state_strv_free(v, n);
	assert_int_equal(state_env_claim_expired(f->st, 1002, "daemon@h:2", 3600, &v, &n, &err), 0);
	assert_int_equal(n, 2);
	assert_string_equal(v[0], "a");
	assert_string_equal(v[1], "b");
	state_strv_free(v, n);
	struct state_env *e = NULL;
	assert_int_equal(state_env_get(f->st, "b", &e, &err), 0);
	assert_string_equal(e->claimed_by, "daemon@h:2");
	assert_int_equal(e->claimed_at, 1002);
	state_env_free(e);
	/* its own claims stay its own, and a second pass of a live reaper takes nothing */
	assert_int_equal(state_env_claim_expired(f->st, 1003, "daemon@h:2", 3600, &v, &n, &err), 0);
	assert_int_equal(n, 0);
	state_strv_free(v, n);
	state_env_unlock(r2);
}

/* A reaper id names its kind, host and pid, and two ids made by one process differ (a restarted
 * daemon that got the same pid never takes a dead one's id). */
static void test_reaper_id(void **ctx)
{
	(void)ctx;
	char *a = state_reaper_id("daemon"), *b = state_reaper_id("daemon");
	char *pid = xasprintf(":%d.", (int)getpid());
	assert_true(strncmp(a, "daemon@", 7) == 0);
	assert_non_null(strstr(a, pid));
	assert_string_not_equal(a, b);
	free(pid);
	free(a);
	free(b);
}

#define RACE_ENVS 20
#define RACE_PROCS 2

/* A reaper process: wait for the start byte, claim (a few rounds), write what it got to `out`,
 * say so on done_fd and stay alive (holding its liveness lock, so the other reaper cannot take its
 * claims over as a dead one's) until the byte on end_fd. */
static void race_child(const char *db, int start_fd, int done_fd, int end_fd, const char *out, int id)
{
	struct sbx_err err = SBX_ERR_INIT;
	struct state *st = NULL;
	struct sbx_buf b = {0};
	char c, *reaper = xasprintf("reaper-%d", id);
	struct state_lock *alive = NULL;
	if (state_fix_open(db, &st, &err) < 0 || state_reaper_hold(st, reaper, &alive, &err) < 0 ||
		read(start_fd, &c, 1) != 1)
		_exit(2);
	for (int round = 0; round < 3; round++) {
		char **v = NULL;
		size_t n = 0;
		if (state_env_claim_expired(st, 1000, reaper, 600, &v, &n, &err) < 0)
			_exit(3);
		for (size_t i = 0; i < n; i++)
			sbx_buf_printf(&b, "%s\n", v[i]);
		state_strv_free(v, n);
	}
	if (sbx_write_file(out, b.data ? b.data : "", b.len, 0600, &err) < 0)
		_exit(4);
	if (write(done_fd, "d", 1) != 1 || read(end_fd, &c, 1) != 1)
		_exit(5);
	_exit(0);
}

/* A racing child: (state path, start fd, done fd, end fd, output file, index); it exits. */
typedef void (*race_child_fn)(const char *db, int start_fd, int done_fd, int end_fd, const char *out, int id);

/* Start RACE_PROCS children at once, wait until each has written what it claimed (one name per
 * line, RACE_ENVS names "<prefix>NN" in all), then let them go: every name was claimed exactly once. */
static void race_run(struct state_fix *f, race_child_fn child, const char *tag, size_t prefix)
{
	struct sbx_err err = SBX_ERR_INIT;
	int start[2], done[2], end[2];
	pid_t pids[RACE_PROCS];
	char *outs[RACE_PROCS];
	assert_int_equal(pipe(start), 0);
	assert_int_equal(pipe(done), 0);
	assert_int_equal(pipe(end), 0);
	for (int i = 0; i < RACE_PROCS; i++) {
		outs[i] = xasprintf("%s/%s-%d", f->dir, tag, i);
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (pids[i] == 0)
			child(f->db, start[0], done[1], end[0], outs[i], i);
	}
	char go[RACE_PROCS] = {0};
	assert_int_equal(write(start[1], go, sizeof(go)), RACE_PROCS);
	for (int i = 0; i < RACE_PROCS; i++) /* every child claimed all it will */
		assert_int_equal(read(done[0], go, 1), 1);
	assert_int_equal(write(end[1], go, sizeof(go)), RACE_PROCS);
	int counts[RACE_ENVS] = {0};
	for (int i = 0; i < RACE_PROCS; i++) {
		int status = 0;
		assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
		char *data = NULL;
		size_t len = 0;
		assert_int_equal(sbx_read_file(outs[i], &data, &len, &err), 0);
		for (char *line = strtok(data, "\n"); line; line = strtok(NULL, "\n"))
			counts[strtol(line + prefix, NULL, 10)]++;
		free(data);
		free(outs[i]);
	}
	int fds[] = {start[0], start[1], done[0], done[1], end[0], end[1]};
	for (size_t i = 0; i < SBX_NELEM(fds); i++)
		close(fds[i]);
	for (int i = 0; i < RACE_ENVS; i++)
		assert_int_equal(counts[i], 1);
}

/* Two processes racing over 20 expired environments: each claimed exactly once in total. */
static void test_claim_race_processes(void **ctx)
{
	struct state_fix *f = *ctx;
	for (int i = 0; i < RACE_ENVS; i++) {
		char name[16];
		snprintf(name, sizeof(name), "env-%02d", i);
		state_fix_env(f->st, name, 100 + i, false);
	}
	race_run(f, race_child, "claims", 4);
}

/* An outbox worker process: wait for the start byte, claim until nothing is due (keeping every claim),
 * write the ids to `out`, say so on done_fd and stay alive (its claims live) until the byte on end_fd. */
static void outbox_child(const char *db, int start_fd, int done_fd, int end_fd, const char *out, int id)
{
	struct sbx_err err = SBX_ERR_INIT;
	struct state *st = NULL;
	struct state_lock *alive = NULL;
	struct sbx_buf b = {0};
	char c, *holder = xasprintf("daemon-%d", id);
	if (state_fix_open(db, &st, &err) < 0 || state_reaper_hold(st, holder, &alive, &err) < 0 ||
		read(start_fd, &c, 1) != 1)
		_exit(2);
	for (;;) {
		struct state_outbox *o = NULL;
		if (state_outbox_claim(st, holder, 1000, 600, &o, &err) < 0)
			_exit(3);
		if (o == NULL)
			break;
		sbx_buf_printf(&b, "%s\n", o->id);
		state_outbox_free(o);
	}
	if (sbx_write_file(out, b.data ? b.data : "", b.len, 0600, &err) < 0)
		_exit(4);
	if (write(done_fd, "d", 1) != 1 || read(end_fd, &c, 1) != 1)
		_exit(5);
	_exit(0);
}

/* Two worker processes racing over 20 due deliveries: each claimed exactly once in total. */
static void test_outbox_claim_race(void **ctx)
{
	struct state_fix *f = *ctx;
	for (int i = 0; i < RACE_ENVS; i++) {
		char id[16];
		snprintf(id, sizeof(id), "ob-%02d", i);
		assert_int_equal(ob_put(f->st, ob_item(id)), STATE_OUTBOX_QUEUED);
	}
	race_run(f, outbox_child, "outbox", 3);
}

/* Record a warm pool member of shape with image hash h. */
static void add_warm(struct state *st, const char *id, const char *shape, const char *h, const char *status)
{
	struct sbx_err err = SBX_ERR_INIT;
	struct warm_member m = {.id = (char *)id, .shape = (char *)shape, .status = (char *)status,
		.image_hash = (char *)h, .volumes = "vol-a,vol-b"};
	if (state_warm_add(st, &m, &err) < 0)
		fail_msg("warm add %s: %s", id, sbx_err_first(&err));
}

/* Warm pool members: journaled, made ready with an address and host key, claimed only when ready
 * and of the shape (and image) asked for, once; listed by shape; deleted. */
static void test_warm_members(void **ctx)
{
	struct state_fix *f = *ctx;
	struct sbx_err err = SBX_ERR_INIT;
	struct warm_member m = {0}, *v = NULL;
	size_t n = 0;
	sbx_fake_now_set(5000);
	add_warm(f->st, "sbx-pool.a-1", "A", "h1", WARM_BOOTING);
	add_warm(f->st, "sbx-pool.a-2", "A", "h2", WARM_BOOTING);
	add_warm(f->st, "sbx-pool.b-1", "B", "h1", WARM_BOOTING);
	struct warm_member dup = {.id = "sbx-pool.a-1", .shape = "A", .status = WARM_BOOTING, .image_hash = "h"};
	assert_int_equal(state_warm_add(f->st, &dup, &err), -1);
	sbx_err_clear(&err);
	struct warm_member bad = {.id = "sbx-pool.x", .shape = "A", .status = "sleeping", .image_hash = "h"};
	assert_int_equal(state_warm_add(f->st, &bad, &err), -1);
	sbx_err_clear(&err);
	/* nothing ready yet */
	assert_int_equal(state_warm_claim(f->st, "A", NULL, "e", "web-1", &m, &err), 0);
	assert_int_equal(state_warm_set(f->st, "sbx-pool.a-1", WARM_READY, "10.0.0.5", "ssh-ed25519 AAAA", &err), 0);
	assert_int_equal(state_warm_set(f->st, "sbx-pool.a-2", WARM_READY, "10.0.0.6", NULL, &err), 0);
	assert_int_equal(state_warm_set(f->st, "sbx-pool.nope", WARM_READY, NULL, NULL, &err), 1);
	assert_int_equal(state_warm_list(f->st, "A", &v, &n, &err), 0);
	assert_int_equal(n, 2);
	assert_string_equal(v[0].id, "sbx-pool.a-1");
	assert_string_equal(v[0].status, WARM_READY);
	assert_string_equal(v[0].address, "10.0.0.5");
	assert_string_equal(v[0].hostkey, "ssh-ed25519 AAAA");
	assert_string_equal(v[0].volumes, "vol-a,vol-b");
	assert_null(v[1].hostkey);
	assert_null(v[0].claimed_env);
	assert_int_equal(v[0].created, 5000);
	state_warm_list_free(v, n);
	/* of the image asked for only */
	assert_int_equal(state_warm_claim(f->st, "A", "h3", "e", "web-1", &m, &err), 0);
	assert_int_equal(state_warm_claim(f->st, "A", "h2", "e", "web-1", &m, &err), 1);
	assert_string_equal(m.id, "sbx-pool.a-2");
	assert_string_equal(m.status, WARM_CLAIMED);
	assert_string_equal(m.claimed_env, "e");
	assert_string_equal(m.claimed_node, "web-1");
	assert_string_equal(m.address, "10.0.0.6");
	warm_member_clear(&m);
	assert_int_equal(state_warm_claim(f->st, "A", NULL, "e", "web-2", &m, &err), 1);
	assert_string_equal(m.id, "sbx-pool.a-1");
	warm_member_clear(&m);
	/* the pool of A is empty; B's member is not ready */
	assert_int_equal(state_warm_claim(f->st, "A", NULL, "e", "web-3", &m, &err), 0);
	assert_int_equal(state_warm_claim(f->st, "B", NULL, "e", "web-3", &m, &err), 0);
	assert_int_equal(state_warm_list(f->st, NULL, &v, &n, &err), 0);
	assert_int_equal(n, 3);
	assert_string_equal(v[0].status, WARM_CLAIMED);
	assert_string_equal(v[0].claimed_node, "web-2");
	assert_string_equal(v[2].shape, "B");
	state_warm_list_free(v, n);
	assert_int_equal(state_warm_delete(f->st, "sbx-pool.a-1", &err), 0);
	assert_int_equal(state_warm_delete(f->st, "sbx-pool.a-1", &err), 0);
	assert_int_equal(state_warm_list(f->st, "A", &v, &n, &err), 0);
	assert_int_equal(n, 1);
	state_warm_list_free(v, n);
	sbx_fake_now_set(0);
}

/* Record a ready member of shape S prepared for roles. */
static void add_warm_roles(struct state *st, const char *id, const char *roles)
{
	struct sbx_err err = SBX_ERR_INIT;
	struct warm_member m = {.id = (char *)id, .shape = "S", .status = WARM_BOOTING, .image_hash = "h",
		.volumes = "v", .roles = (char *)roles};
	if (state_warm_add(st, &m, &err) < 0 || state_warm_set(st, id, WARM_READY, NULL, NULL, &err) != 0)
		fail_msg("warm add %s: %s", id, sbx_err_first(&err));
}

/* Claim for a node with roles and without the roles of without: the id claimed, or "none". */
static char *claim_without(struct state *st, const char *const *roles, size_t n, const char *const *without,
	size_t nwithout)
{
	struct sbx_err err = SBX_ERR_INIT;
	struct warm_member m = {0};
	int rc = state_warm_claim_roles(st, "S", NULL, roles, n, without, nwithout, "e", "x-0", &m, &err);
	if (rc < 0)
		fail_msg("claim: %s", sbx_err_first(&err));
	char *id = xstrdup(rc == 1 ? m.id : "none");
	warm_member_clear(&m);
	return id;
}

/* Claim for a node with roles: the id claimed, or "none". */
static char *claim_roles(struct state *st, const char *const *roles, size_t n)
{
	return claim_without(st, roles, n, NULL, 0);
}

/* Members prepared ahead for roles: a node takes one prepared for all its roles (before an
 * unprepared one), or an unprepared one; a node without roles takes the least prepared first. */
static void test_warm_roles(void **ctx)
{
	struct state_fix *f = *ctx;
	static const char *const pg[] = {"postgres"}, *const pg_lb[] = {"postgres", "lb"}, *const k3s[] = {"k3s-server"};
	static const char *const nine[] = {"a", "b", "c", "d", "e", "f", "g", "h", "i"};
	struct sbx_err err = SBX_ERR_INIT;
	struct warm_member m = {0}, *v = NULL;
	size_t n = 0;
	sbx_fake_now_set(5000);
	add_warm_roles(f->st, "m-plain", NULL);
	sbx_fake_now_set(5001);
	add_warm_roles(f->st, "m-pg", "postgres");
	add_warm_roles(f->st, "m-pg-lb", "lb+postgres");
	add_warm_roles(f->st, "m-pg-lb-2", "lb+postgres");
	assert_int_equal(state_warm_list(f->st, NULL, &v, &n, &err), 0);
	assert_int_equal(n, 4);
	assert_string_equal(v[0].roles, "postgres"); /* by id */
	assert_string_equal(v[1].roles, "lb+postgres");
	assert_string_equal(v[3].roles, "");
	state_warm_list_free(v, n);
	assert_int_equal(state_warm_claim_roles(f->st, "S", NULL, nine, 9, NULL, 0, "e", "x", &m, &err), -1);
	sbx_err_clear(&err);
	char *got = claim_roles(f->st, pg_lb, 2);
	assert_string_equal(got, "m-pg-lb");
	free(got);
	got = claim_roles(f->st, NULL, 0); /* the least prepared: the plain one, though it is older */
	assert_string_equal(got, "m-plain");
	free(got);
	got = claim_roles(f->st, pg, 1); /* prepared for exactly it first */
	assert_string_equal(got, "m-pg");
	free(got);
	got = claim_roles(f->st, k3s, 1); /* only an unprepared member could serve it: none left */
	assert_string_equal(got, "none");
	free(got);
	got = claim_roles(f->st, pg, 1);
	assert_string_equal(got, "m-pg-lb-2");
	free(got);
	sbx_fake_now_set(0);
}

/* A member prepared for a role whose services run idle goes only to a node carrying that role. */
static void test_warm_roles_idle(void **ctx)
{
	struct state_fix *f = *ctx;
	static const char *const pg[] = {"postgres"}, *const lb[] = {"lb"}, *const idle[] = {"postgres"};
	sbx_fake_now_set(6000);
	add_warm_roles(f->st, "m-pg", "postgres");
	add_warm_roles(f->st, "m-pg-lb", "lb+postgres");
	sbx_fake_now_set(6001);
	add_warm_roles(f->st, "m-plain", NULL);
	char *got = claim_without(f->st, NULL, 0, idle, 1); /* a plain node: not a postgres member, though older */
	assert_string_equal(got, "m-plain");
	free(got);
	got = claim_without(f->st, NULL, 0, idle, 1);
	assert_string_equal(got, "none");
	free(got);
	got = claim_without(f->st, lb, 1, idle, 1); /* prepared for lb, but postgres would run on it */
	assert_string_equal(got, "none");
	free(got);
	got = claim_without(f->st, pg, 1, NULL, 0);
	assert_string_equal(got, "m-pg");
	free(got);
	got = claim_roles(f->st, NULL, 0); /* nothing excluded: the postgres+lb one serves a plain node */
	assert_string_equal(got, "m-pg-lb");
	free(got);
	sbx_fake_now_set(0);
}

#define WARM_RACE_MEMBERS 40

/* A claimer process: wait for the start byte, claim until the pool is empty, write what it got. */
static void warm_race_child(const char *db, int start_fd, const char *out, int id)
{
	struct sbx_err err = SBX_ERR_INIT;
	struct state *st = NULL;
	struct sbx_buf b = {0};
	char c, env[16];
	snprintf(env, sizeof(env), "env-%d", id);
	if (state_fix_open(db, &st, &err) < 0 || read(start_fd, &c, 1) != 1)
		_exit(2);
	for (int i = 0;; i++) {
		struct warm_member m = {0};
		char node[16];
		snprintf(node, sizeof(node), "n-%d", i);
		int rc = state_warm_claim(st, "S", NULL, env, node, &m, &err);
		if (rc < 0)
			_exit(3);
		if (rc == 0)
			break;
		if (strcmp(m.claimed_env, env) != 0 || strcmp(m.claimed_node, node) != 0)
			_exit(5);
		sbx_buf_printf(&b, "%s\n", m.id);
		warm_member_clear(&m);
	}
	if (sbx_write_file(out, b.data ? b.data : "", b.len, 0600, &err) < 0)
		_exit(4);
	_exit(0);
}

/* Two processes claiming from one warm pool until it is empty: every member claimed exactly once. */
static void test_warm_claim_race(void **ctx)
{
	struct state_fix *f = *ctx;
	struct sbx_err err = SBX_ERR_INIT;
	int start[2];
	pid_t pids[RACE_PROCS];
	char *outs[RACE_PROCS];
	for (int i = 0; i < WARM_RACE_MEMBERS; i++) {
		char id[32];
		snprintf(id, sizeof(id), "sbx-pool.s-%02d", i);
		add_warm(f->st, id, "S", "h", WARM_BOOTING);
		assert_int_equal(state_warm_set(f->st, id, WARM_READY, NULL, NULL, &err), 0);
	}
	assert_int_equal(pipe(start), 0);
	for (int i = 0; i < RACE_PROCS; i++) {
		outs[i] = xasprintf("%s/warm-claims-%d", f->dir, i);
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (pids[i] == 0)
			warm_race_child(f->db, start[0], outs[i], i);
	}
	char go[RACE_PROCS] = {0};
	assert_int_equal(write(start[1], go, sizeof(go)), RACE_PROCS);
	int counts[WARM_RACE_MEMBERS] = {0};
	for (int i = 0; i < RACE_PROCS; i++) {
		int status = 0;
		assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
		char *data = NULL;
		size_t len = 0;
		assert_int_equal(sbx_read_file(outs[i], &data, &len, &err), 0);
		for (char *line = strtok(data, "\n"); line; line = strtok(NULL, "\n"))
			counts[strtol(line + strlen("sbx-pool.s-"), NULL, 10)]++;
		free(data);
		free(outs[i]);
	}
	close(start[0]);
	close(start[1]);
	for (int i = 0; i < WARM_RACE_MEMBERS; i++)
		assert_int_equal(counts[i], 1);
	struct warm_member *v = NULL;
	size_t n = 0;
	assert_int_equal(state_warm_list(f->st, "S", &v, &n, &err), 0);
	for (size_t i = 0; i < n; i++)
		assert_string_equal(v[i].status, WARM_CLAIMED);
	state_warm_list_free(v, n);
}

struct put_job {
	struct state *st;
	int base;
	int failures;
};

/* Put 50 resources through a shared handle. */
static void *put_thread(void *arg)
{
	struct put_job *j = arg;
	for (int i = 0; i < 50; i++) {
		struct sbx_err err = SBX_ERR_INIT;
		char name[32];
		snprintf(name, sizeof(name), "r-%d", j->base + i);
		struct state_res r = {.env = "t", .type = "domain", .name = name, .status = "pending"};
		if (state_res_put(j->st, &r, &err) < 0)
			j->failures++;
		sbx_err_clear(&err);
	}
	return NULL;
}

/* One handle shared by four threads: every write lands. */
static void test_threads_share_handle(void **ctx)
{
	struct state_fix *f = *ctx;
	struct sbx_err err = SBX_ERR_INIT;
	pthread_t th[4];
	struct put_job jobs[4];
	state_fix_env(f->st, "t", 0, false);
	for (int i = 0; i < 4; i++) {
		jobs[i] = (struct put_job){f->st, i * 1000, 0};
		assert_int_equal(pthread_create(&th[i], NULL, put_thread, &jobs[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(jobs[i].failures, 0);
	}
	struct state_res *r = NULL;
	size_t n = 0;
	assert_int_equal(state_res_list(f->st, "t", &r, &n, &err), 0);
	assert_int_equal(n, 200);
	state_res_list_free(r, n);
}

/* Count the resources of env. */
static size_t res_count(struct state *st, const char *env)
{
	struct sbx_err err = SBX_ERR_INIT;
	struct state_res *r = NULL;
	size_t n = 0;
	assert_int_equal(state_res_list(st, env, &r, &n, &err), 0);
	state_res_list_free(r, n);
	return n;
}

/* A batch is all-or-nothing; batches nest. */
static void test_batch(void **ctx)
{
	struct state_fix *f = *ctx;
	struct sbx_err err = SBX_ERR_INIT;
	state_fix_env(f->st, "b", 0, false);
	assert_int_equal(state_begin(f->st, &err), 0);
	add_res(f->st, "b", "domain", "one");
	add_res(f->st, "b", "domain", "two");
	state_rollback(f->st);
	assert_int_equal(res_count(f->st, "b"), 0);
	assert_int_equal(state_begin(f->st, &err), 0);
	add_res(f->st, "b", "domain", "one");
	assert_int_equal(state_begin(f->st, &err), 0);
	add_res(f->st, "b", "domain", "inner");
	state_rollback(f->st);
	char *cidr = NULL; /* a function with its own transaction inside a batch */
	assert_int_equal(state_ipam_alloc(f->st, "b", "front", NULL, &cidr, &err), 0);
	assert_int_equal(state_commit(f->st, &err), 0);
	assert_int_equal(res_count(f->st, "b"), 1);
	free(cidr);
	assert_int_equal(state_ipam_get(f->st, "b", "front", &cidr, &err), 0);
	assert_non_null(cidr);
	free(cidr);
	assert_int_equal(state_commit(f->st, &err), -1); /* no batch open */
	sbx_err_clear(&err);
	/* a batch left open at close is discarded */
	assert_int_equal(state_begin(f->st, &err), 0);
	add_res(f->st, "b", "domain", "lost");
	state_close(f->st);
	assert_int_equal(state_fix_open(f->db, &f->st, &err), 0);
	assert_int_equal(res_count(f->st, "b"), 1);
}

#define MANY_N 500


/* Put MANY_N resources of env, one transaction each or (batch) all in one. */
static void many_puts(struct state *st, const char *env, bool batch)
{
	struct sbx_err err = SBX_ERR_INIT;
	state_fix_env(st, env, 0, false);
	if (batch)
		assert_int_equal(state_begin(st, &err), 0);
	for (int i = 0; i < MANY_N; i++) {
		char name[48];
		snprintf(name, sizeof(name), "sbx-%s-node-%d", env, i);
		add_res(st, env, "domain", name);
	}
	if (batch)
		assert_int_equal(state_commit(st, &err), 0);
}

/* Many rows, one transaction each and all in one: both land, and a reopened state lists them
 * all. (Timings are not asserted here; tests/bench has the benchmarks.) */
static void test_many_puts(void **ctx)
{
	struct state_fix *f = *ctx;
	struct sbx_err err = SBX_ERR_INIT;
	struct state *st = NULL;
	struct state_res *r = NULL;
	size_t n = 0;
	char *db = xasprintf("%s/many/state.db", f->dir);
	assert_int_equal(state_fix_open(db, &st, &err), 0);
	many_puts(st, "single", false);
	many_puts(st, "batch", true);
	state_close(st);
	assert_int_equal(state_fix_open(db, &st, &err), 0);
	for (int k = 0; k < 2; k++) {
		assert_int_equal(state_res_list(st, k ? "batch" : "single", &r, &n, &err), 0);
		assert_int_equal(n, MANY_N);
		state_res_list_free(r, n);
	}
	state_close(st);
	free(db);
}

/* A child that opens the state at path, takes env's lock and waits; returns its pid once it holds it. */
static pid_t lock_holder(const char *path, const char *env)
{
	int p[2];
	char c = 0;
	assert_int_equal(pipe(p), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct sbx_err err = SBX_ERR_INIT;
		struct state *st = NULL;
		struct state_lock *lk = NULL;
		close(p[0]);
		if (state_fix_open(path, &st, &err) < 0 || state_env_lock(st, env, 0, &lk, &err) < 0)
			_exit(2);
		if (write(p[1], "x", 1) != 1)
			_exit(3);
		for (;;)
			pause();
	}
	close(p[1]);
	ssize_t n = read(p[0], &c, 1); /* the child holds the lock, or died (0) */
	close(p[0]);
	if (n != 1) {
		waitpid(pid, NULL, 0);
		fail_msg("the lock holder died before taking the lock");
	}
	return pid;
}

/* SIGKILL and reap a child. */
static void kill_child(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/* Whether env's events include kind with `text` in its detail. */
static bool has_event(struct state *st, const char *env, const char *kind, const char *text)
{
	struct sbx_err err = SBX_ERR_INIT;
	struct state_event *ev = NULL;
	size_t n = 0;
	bool found = false;
	assert_int_equal(state_event_list(st, env, 0, &ev, &n, &err), 0);
	for (size_t i = 0; i < n; i++)
		if (strcmp(ev[i].kind, kind) == 0 && ev[i].detail && strstr(ev[i].detail, text))
			found = true;
	state_event_list_free(ev, n);
	return found;
}

/* PostgreSQL: a lease whose holder (on another host) was SIGKILLed is taken over after the lease. */
static void test_lock_lease_takeover(void **ctx)
{
	struct state_fix *f = *ctx;
	struct sbx_err err = SBX_ERR_INIT;
	struct state_lock *lk = NULL;
	pid_t pid = lock_holder(f->db, "e");
	int busy = state_env_lock(f->st, "e", 0, &lk, &err);
	int exit_busy = err.code;
	sbx_err_clear(&err);
	int moved = raw_sql(f->db, "UPDATE env_lock SET host = 'elsewhere' WHERE env = 'e'", NULL);
	kill_child(pid);
	assert_int_equal(busy, -1);
	assert_int_equal(exit_busy, SBX_EXIT_REFUSED);
	assert_int_equal(moved, SQLITE_OK);
	/* the holder is gone, but its lease (another host's) runs until it expires: the times are the
	 * lease's own, read back (not this process's clock, which a loaded machine moves on) */
	int64_t expires = raw_int(f->db, "SELECT expires FROM env_lock WHERE env = 'e'");
	assert_true(expires > 0);
	assert_int_equal(state_env_lock(f->st, "e", 0, &lk, &err), -1);
	char *want = xasprintf("locked by elsewhere pid %d", (int)pid);
	assert_non_null(strstr(sbx_err_first(&err), want));
	assert_non_null(err.hint);
	assert_non_null(strstr(err.hint, "sandbox unlock e"));
	free(want);
	sbx_err_clear(&err);
	sbx_fake_now_set(expires - 1);
	assert_int_equal(state_env_lock(f->st, "e", 0, &lk, &err), -1);
	sbx_err_clear(&err);
	sbx_fake_now_set(expires + 1);
	assert_int_equal(state_env_lock(f->st, "e", 0, &lk, &err), 0);
	assert_true(has_event(f->st, "e", "lock.takeover", "\"host\":\"elsewhere\""));
	assert_true(has_event(f->st, "e", "lock.takeover", "\"expired\":true"));
	assert_int_equal(raw_int(f->db, "SELECT count(*) FROM env_lock WHERE env = 'e'"), 1);
	char *mine = xasprintf("SELECT pid FROM env_lock WHERE env = 'e'");
	assert_int_equal(raw_int(f->db, mine), getpid());
	free(mine);
	state_env_unlock(lk);
	assert_int_equal(raw_int(f->db, "SELECT count(*) FROM env_lock"), 0);
	sbx_fake_now_set(0);
}

/* PostgreSQL: a lease held by a process of this host that was SIGKILLed is taken over at once. */
static void test_lock_dead_holder_here(void **ctx)
{
	struct state_fix *f = *ctx;
	struct sbx_err err = SBX_ERR_INIT;
	struct state_lock *lk = NULL;
	pid_t pid = lock_holder(f->db, "d");
	kill_child(pid);
	assert_int_equal(raw_int(f->db, "SELECT count(*) FROM env_lock WHERE env = 'd'"), 1);
	assert_int_equal(state_env_lock(f->st, "d", 0, &lk, &err), 0);
	assert_true(has_event(f->st, "d", "lock.takeover", "\"expired\":false"));
	char *pidtext = xasprintf("\"pid\":%d", (int)pid);
	assert_true(has_event(f->st, "d", "lock.takeover", pidtext));
	free(pidtext);
	state_env_unlock(lk);
}

/* `sandbox unlock`: a live holder's lease is dropped and logged; then there is nothing to drop. */
static void test_lock_break(void **ctx)
{
	struct state_fix *f = *ctx;
	struct sbx_err err = SBX_ERR_INIT;
	struct state_lock *lk = NULL;
	bool held = false;
	if (!state_fix_pg()) { /* SQLite: a flock, nothing in the database to drop */
		assert_int_equal(state_env_lock_break(f->st, "u", "ops@here", &held, &err), 0);
		assert_false(held);
		assert_true(has_event(f->st, "u", "lock.unlock", "\"held\":false"));
		return;
	}
	pid_t pid = lock_holder(f->db, "u");
	int rc = state_env_lock_break(f->st, "u", "ops@here", &held, &err);
	int64_t left = raw_int(f->db, "SELECT count(*) FROM env_lock");
	kill_child(pid);
	assert_int_equal(rc, 0);
	assert_true(held);
	assert_int_equal(left, 0);
	char *pidtext = xasprintf("\"pid\":%d", (int)pid);
	assert_true(has_event(f->st, "u", "lock.unlock", pidtext));
	assert_true(has_event(f->st, "u", "lock.unlock", "\"by\":\"ops@here\""));
	free(pidtext);
	assert_int_equal(state_env_lock_break(f->st, "u", "ops@here", &held, &err), 0);
	assert_false(held);
	/* and the lock is free */
	assert_int_equal(state_env_lock(f->st, "u", 0, &lk, &err), 0);
	state_env_unlock(lk);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_open_and_reopen, setup, teardown),
		cmocka_unit_test_setup_teardown(test_step9_claims, setup, teardown),
		cmocka_unit_test_setup_teardown(test_newer_schema_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_state_id, setup, teardown),
		cmocka_unit_test_setup_teardown(test_concurrent_first_open, setup, teardown),
		cmocka_unit_test_setup_teardown(test_env_list_brief, setup, teardown),
		cmocka_unit_test_setup_teardown(test_env_crud, setup, teardown),
		cmocka_unit_test_setup_teardown(test_leases, setup, teardown),
		cmocka_unit_test_setup_teardown(test_env_list_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_protect_sticky, setup, teardown),
		cmocka_unit_test_setup_teardown(test_max_ttl, setup, teardown),
		cmocka_unit_test_setup_teardown(test_resources, setup, teardown),
		cmocka_unit_test_setup_teardown(test_delete_refused_until_empty, setup, teardown),
		cmocka_unit_test_setup_teardown(test_events, setup, teardown),
		cmocka_unit_test_setup_teardown(test_claim_two_handles, setup, teardown),
		cmocka_unit_test_setup_teardown(test_claim_stale_takeover, setup, teardown),
		cmocka_unit_test_setup_teardown(test_claim_dead_reaper, setup, teardown),
		cmocka_unit_test(test_reaper_id),
		cmocka_unit_test_setup_teardown(test_claim_race_processes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_warm_members, setup, teardown),
		cmocka_unit_test_setup_teardown(test_warm_roles, setup, teardown),
		cmocka_unit_test_setup_teardown(test_warm_roles_idle, setup, teardown),
		cmocka_unit_test_setup_teardown(test_warm_claim_race, setup, teardown),
		cmocka_unit_test_setup_teardown(test_threads_share_handle, setup, teardown),
		cmocka_unit_test_setup_teardown(test_batch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_warn_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_outbox_put_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_outbox_claim, setup, teardown),
		cmocka_unit_test_setup_teardown(test_outbox_retry_done, setup, teardown),
		cmocka_unit_test_setup_teardown(test_outbox_secret, setup, teardown),
		cmocka_unit_test_setup_teardown(test_outbox_with_warning, setup, teardown),
		cmocka_unit_test_setup_teardown(test_outbox_with_deletion, setup, teardown),
		cmocka_unit_test_setup_teardown(test_outbox_depth, setup, teardown),
		cmocka_unit_test_setup_teardown(test_outbox_claim_race, setup, teardown),
		cmocka_unit_test_setup_teardown(test_many_puts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lock_break, setup, teardown),
		/* SQLite only (left out on PostgreSQL) */
		cmocka_unit_test_setup_teardown(test_not_a_database, setup, teardown),
	};
	/* PostgreSQL only: lock leases (a SQLite state's locks are flocks) */
	const struct CMUnitTest pg_tests[] = {
		cmocka_unit_test_setup_teardown(test_lock_lease_takeover, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lock_dead_holder_here, setup, teardown),
	};
	struct CMUnitTest run[SBX_NELEM(tests) + SBX_NELEM(pg_tests)];
	size_t n = SBX_NELEM(tests) - (state_fix_pg() ? 1 : 0);
	memcpy(run, tests, n * sizeof(*run));
	if (state_fix_pg()) {
		memcpy(run + n, pg_tests, sizeof(pg_tests));
		n += SBX_NELEM(pg_tests);
	}
	sbx_fake_now_set(0);
	return _cmocka_run_group_tests(state_fix_pg() ? "state on PostgreSQL" : "state on SQLite", run, n,
		NULL, NULL);
}
