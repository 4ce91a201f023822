/* state_env — environment rows: create, read, update, delete, and the reaper's atomic claim. */
#include "state_db.h"

#include <stdlib.h>
#include <string.h>

#define ENV_COLS \
	"name, id, blueprint, bp_hash, bp_json, status, owner, created, updated, expires, max_ttl," \
	" protected, claimed_by, claimed_at"

/* ENV_COLS with NULL for bp_json: what the env_brief index covers. */
#define ENV_BRIEF_COLS \
	"name, id, blueprint, bp_hash, NULL, status, owner, created, updated, expires, max_ttl," \
	" protected, claimed_by, claimed_at"

/*
 * Who a reaper may claim at ?1 (now) with staleness ?2: expired, unprotected, and either not
 * being torn down, or claimed by a reaper longer than ?2 seconds ago (that reaper died) or by a
 * reaper known dead (claimed_at = 1: claims_of_dead).
 */
#define CLAIMABLE \
	"protected = 0 AND expires > 0 AND expires <= ?1 AND (status NOT IN ('reaping', 'destroying')" \
	" OR (?2 > 0 AND claimed_at > 0 AND (claimed_at = 1 OR claimed_at <= ?1 - ?2)))"

/* Decode one row of ENV_COLS. */
static struct state_env *env_from_row(struct db_rows *s)
{
	struct state_env *e = xcalloc(1, sizeof(*e));
	char **strs[] = {&e->name, &e->id, &e->blueprint, &e->bp_hash, &e->bp_json, &e->status, &e->owner};
	for (int i = 0; i < (int)SBX_NELEM(strs); i++)
		*strs[i] = db_col_str(s, i);
	int64_t *ints[] = {&e->created, &e->updated, &e->expires, &e->max_ttl};
	for (int i = 0; i < (int)SBX_NELEM(ints); i++)
		*ints[i] = db_col_int(s, 7 + i);
	e->protected = db_col_int(s, 11) != 0;
	e->claimed_by = db_col_str(s, 12);
	e->claimed_at = db_col_int(s, 13);
	return e;
}

/* Free an environment. */
void state_env_free(struct state_env *e)
{
	if (!e)
		return;
	char *strs[] = {e->name, e->id, e->blueprint, e->bp_hash, e->bp_json, e->status, e->owner,
		e->claimed_by};
	for (size_t i = 0; i < SBX_NELEM(strs); i++)
		free(strs[i]);
	free(e);
}

/* Free a list of environments. */
void state_env_list_free(struct state_env **envs, size_t n)
{
	for (size_t i = 0; i < n && envs; i++)
		state_env_free(envs[i]);
	free(envs);
}

/* Free a string vector. */
void state_strv_free(char **v, size_t n)
{
	for (size_t i = 0; i < n && v; i++)
		free(v[i]);
	free(v);
}

/* Run an env query and collect its rows. */
static int env_query(struct state *st, struct state_env ***out, size_t *n, struct sbx_err *err,
	const char *sql, const char *name)
{
	struct db_rows *s = NULL;
	struct state_env **v = NULL;
	size_t len = 0, cap = 0;
	int rc;
	if (db_query(st, &s, err, sql, name ? "s" : NULL, name) < 0)
		return -1;
	while ((rc = db_next(st, s, err)) == 1) {
		xgrow(&v, &cap, len + 1, sizeof(*v));
		v[len++] = env_from_row(s);
	}
	db_done(st, s);
	if (rc < 0) {
		state_env_list_free(v, len);
		return -1;
	}
	*out = v;
	*n = len;
	return 0;
}

/* Read one environment (NULL when absent). */
int state_env_get(struct state *st, const char *name, struct state_env **out, struct sbx_err *err)
{
	struct state_env **v = NULL;
	size_t n = 0;
	st_lock(st);
	int rc = env_query(st, &v, &n, err, "SELECT " ENV_COLS " FROM env WHERE name = ?", name);
	st_unlock(st);
	if (rc == 0) {
		*out = n ? v[0] : NULL;
		free(v);
	}
	return rc;
}

/* Every environment, ordered by name. */
int state_env_list(struct state *st, struct state_env ***out, size_t *n, struct sbx_err *err)
{
	st_lock(st);
	int rc = env_query(st, out, n, err, "SELECT " ENV_COLS " FROM env ORDER BY name", NULL);
	st_unlock(st);
	return rc;
}

/* Every environment, ordered by name, without its resolved blueprint (from the env_brief index). */
int state_env_list_brief(struct state *st, struct state_env ***out, size_t *n, struct sbx_err *err)
{
	st_lock(st);
	int rc = env_query(st, out, n, err, "SELECT " ENV_BRIEF_COLS " FROM env ORDER BY name", NULL);
	st_unlock(st);
	return rc;
}

/* Whether an environment row exists. */
static int env_exists(struct state *st, const char *name, bool *found, struct sbx_err *err)
{
	int64_t v;
	return db_int(st, err, &v, found, "SELECT 1 FROM env WHERE name = ?", "s", name);
}

/* Error for a missing environment. */
static int env_missing(const char *name, struct sbx_err *err)
{
	return sbx_err_set(err, SBX_EXIT_FAILED, "no environment named %s in the state", name);
}

/* Insert the row (the caller checked the name is free). */
static int env_insert(struct state *st, const struct state_env *e, struct sbx_err *err)
{
	unsigned char raw[8];
	char hex[65], *id = NULL;
	int64_t now = sbx_now();
	if (!e->id) {
		sbx_random(raw, sizeof(raw));
		sbx_sha256_hex(raw, sizeof(raw), hex);
		id = xstrndup(hex, 16);
	}
	int rc = db_exec(st, err, NULL,
		"INSERT INTO env (" ENV_COLS ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, 0)",
		"sssssssiiiii", e->name, e->id ? e->id : id, e->blueprint, e->bp_hash, e->bp_json,
		e->status ? e->status : STATE_ENV_CREATING, e->owner, e->created ? e->created : now, now,
		e->expires, e->max_ttl, (int64_t)e->protected);
	free(id);
	return rc;
}

/* Check the name is free, then insert (inside the caller's transaction). */
static int env_create_tx(struct state *st, const struct state_env *e, struct sbx_err *err)
{
	bool found = false;
	if (env_exists(st, e->name, &found, err) < 0)
		return -1;
	if (found) {
		sbx_err_set(err, SBX_EXIT_REFUSED, "environment %s already exists", e->name);
		sbx_err_hint(err, "pick another --name, or run `sandbox down %s` first", e->name);
		return -1;
	}
	return env_insert(st, e, err);
}

/* Insert a new environment. */
int state_env_create(struct state *st, const struct state_env *e, struct sbx_err *err)
{
	int rc = -1;
	if (!state_name_ok(e->name))
		return sbx_err_set(err, SBX_EXIT_USAGE, "invalid environment name \"%s\"",
			e->name ? e->name : "");
	st_lock(st);
	if (db_begin(st, err) == 0)
		rc = db_end(st, env_create_tx(st, e, err), err);
	st_unlock(st);
	return rc;
}

/* Run an UPDATE of the environment `name`; no such environment is an error. */
static int env_write(struct state *st, const char *name, struct sbx_err *err, const char *sql,
	const char *fmt, ...)
{
	int changes = 0;
	va_list ap;
	va_start(ap, fmt);
	st_lock(st);
	int rc = db_execv(st, err, &changes, sql, fmt, ap);
	st_unlock(st);
	va_end(ap);
	if (rc == 0 && changes == 0)
		return env_missing(name, err);
	return rc;
}

/* Update every mutable field; protection is sticky. */
int state_env_update(struct state *st, const struct state_env *e, struct sbx_err *err)
{
	return env_write(st, e->name, err,
		"UPDATE env SET blueprint = ?, bp_hash = ?, bp_json = ?, status = COALESCE(?, status),"
		" owner = ?, updated = ?, expires = ?, max_ttl = ?, protected = CASE WHEN ? <> 0 THEN 1 ELSE protected END"
		" WHERE name = ?",
		"sssssiiiis", e->blueprint, e->bp_hash, e->bp_json, e->status, e->owner, sbx_now(),
		e->expires, e->max_ttl, (int64_t)e->protected, e->name);
}

/* Set the status. */
int state_env_set_status(struct state *st, const char *name, const char *status, struct sbx_err *err)
{
	return env_write(st, name, err, "UPDATE env SET status = ?, updated = ? WHERE name = ?", "sis",
		status, sbx_now(), name);
}

/* Lift protection. */
int state_env_unprotect(struct state *st, const char *name, struct sbx_err *err)
{
	return env_write(st, name, err, "UPDATE env SET protected = 0, updated = ? WHERE name = ?",
		"is", sbx_now(), name);
}

/* Refuse an expiry past created + max_ttl (inside the caller's transaction). */
static int check_max_ttl(struct state *st, const char *name, int64_t expires, struct sbx_err *err)
{
	int64_t limit = 0;
	bool found = false;
	if (db_int(st, err, &limit, &found,
		"SELECT CASE WHEN max_ttl > 0 THEN created + max_ttl ELSE 0 END FROM env WHERE name = ?",
		"s", name) < 0)
		return -1;
	if (!found)
		return env_missing(name, err);
	if (limit > 0 && (expires == 0 || expires > limit)) {
		char buf[64];
		sbx_err_set(err, SBX_EXIT_REFUSED, "environment %s cannot live past its max_ttl (%s from now)",
			name, sbx_fmt_duration(limit - sbx_now(), buf, sizeof(buf)));
		sbx_err_hint(err, "extend by less, or raise lifetime.max_ttl in the blueprint");
		return -1;
	}
	return db_exec(st, err, NULL, "UPDATE env SET expires = ?, updated = ? WHERE name = ?", "iis",
		expires, sbx_now(), name);
}

/* Set the expiry (0 = never), within max_ttl. */
int state_env_set_expires(struct state *st, const char *name, int64_t expires, struct sbx_err *err)
{
	int rc = -1;
	st_lock(st);
	if (db_begin(st, err) == 0)
		rc = db_end(st, check_max_ttl(st, name, expires, err), err);
	st_unlock(st);
	return rc;
}

/* Count the rows an environment still owns in `table` (a constant name). */
static int count_rows(struct state *st, const char *table, const char *env, int64_t *n,
	struct sbx_err *err)
{
	bool found;
	char *sql = xasprintf("SELECT count(*) FROM %s WHERE env = ?", table);
	int rc = db_int(st, err, n, &found, sql, "s", env);
	free(sql);
	return rc;
}

/* Delete the row and its secrets once nothing else refers to it (inside a transaction); *deleted =
 * whether the row was there. */
static int env_delete_tx(struct state *st, const char *name, bool *deleted, struct sbx_err *err)
{
	int changes = 0;
	int64_t nres = 0, nip = 0, nlease = 0;
	if (count_rows(st, "res", name, &nres, err) < 0 || count_rows(st, "ipam", name, &nip, err) < 0 ||
		count_rows(st, "lease", name, &nlease, err) < 0)
		return -1;
	if (nres > 0 || nip > 0 || nlease > 0) {
		sbx_err_set(err, SBX_EXIT_REFUSED,
			"environment %s still has %lld resource(s), %lld IPAM allocation(s) and %lld machine "
			"lease(s) in the state", name, (long long)nres, (long long)nip, (long long)nlease);
		sbx_err_hint(err, "destroy its resources first (`sandbox down %s`)", name);
		return -1;
	}
	if (db_exec(st, err, NULL, "DELETE FROM secret WHERE env = ?", "s", name) < 0 ||
		db_exec(st, err, NULL, "DELETE FROM env_claim WHERE env = ?", "s", name) < 0 ||
		db_exec(st, err, NULL, "DELETE FROM env_place WHERE env = ?", "s", name) < 0)
		return -1;
	if (db_exec(st, err, &changes, "DELETE FROM env WHERE name = ?", "s", name) < 0)
		return -1;
	*deleted = changes == 1;
	return 0;
}

/* Delete the row, then queue ob when this call deleted it (inside a transaction). */
static int env_delete_notice_tx(struct state *st, const char *name, const struct state_outbox *ob,
	enum state_outbox_put *queued, struct sbx_err *err)
{
	bool deleted = false;
	if (env_delete_tx(st, name, &deleted, err) < 0)
		return -1;
	return ob && deleted ? db_outbox_put(st, ob, queued, err) : 0;
}

/* Delete an environment row, queueing a notice with it. */
int state_env_delete_notice(struct state *st, const char *name, const struct state_outbox *ob,
	enum state_outbox_put *queued, struct sbx_err *err)
{
	enum state_outbox_put q = STATE_OUTBOX_DUPLICATE;
	int rc = -1;
	st_lock(st);
	if (db_begin(st, err) == 0)
		rc = db_end(st, env_delete_notice_tx(st, name, ob, &q, err), err);
	st_unlock(st);
	if (rc == 0 && queued)
		*queued = q;
	return rc;
}

/* Delete an environment row (absent is not an error). */
int state_env_delete(struct state *st, const char *name, struct sbx_err *err)
{
	return state_env_delete_notice(st, name, NULL, NULL, err);
}

/* The names a reaper could claim now. */
static int claim_candidates(struct state *st, int64_t now, int64_t stale, char ***out, size_t *n,
	struct sbx_err *err)
{
	struct db_rows *s = NULL;
	char **v = NULL;
	size_t len = 0, cap = 0;
	int rc;
	if (db_query(st, &s, err, "SELECT name FROM env WHERE " CLAIMABLE " ORDER BY expires, name",
		"ii", now, stale) < 0)
		return -1;
	while ((rc = db_next(st, s, err)) == 1) {
		xgrow(&v, &cap, len + 1, sizeof(*v));
		v[len++] = db_col_str(s, 0);
	}
	db_done(st, s);
	if (rc < 0) {
		state_strv_free(v, len);
		return -1;
	}
	*out = v;
	*n = len;
	return 0;
}

/* Claim one environment if it is still claimable: *won = whether this call got it. */
static int claim_one(struct state *st, const char *name, int64_t now, int64_t stale,
	const char *reaper, bool *won, struct sbx_err *err)
{
	int changes = 0;
	int rc = db_exec(st, err, &changes,
		"UPDATE env SET status = 'reaping', claimed_by = ?3, claimed_at = ?1, updated = ?1"
		" WHERE name = ?4 AND " CLAIMABLE,
		"iiss", now, stale, reaper, name);
	*won = rc == 0 && changes == 1;
	return rc;
}

/*
 * PostgreSQL: claim them all in one statement; rows another reaper's claim holds are skipped
 * (FOR UPDATE SKIP LOCKED) instead of waited for. Oldest expiry first, as on SQLite.
 */
static int claim_skip_locked(struct state *st, int64_t now, const char *reaper, int64_t stale,
	char ***out, size_t *n, struct sbx_err *err)
{
	struct db_rows *s = NULL;
	char **v = NULL;
	size_t len = 0, cap = 0;
	int rc;
	if (db_query(st, &s, err,
		"WITH c AS (SELECT name FROM env WHERE " CLAIMABLE " FOR UPDATE SKIP LOCKED)"
		" UPDATE env SET status = 'reaping', claimed_by = ?3, claimed_at = ?1, updated = ?1"
		" FROM c WHERE env.name = c.name RETURNING env.name, env.expires", "iis", now, stale, reaper) < 0)
		return -1;
	struct claimed { int64_t expires; char *name; } *c = NULL;
	while ((rc = db_next(st, s, err)) == 1) {
		xgrow(&c, &cap, len + 1, sizeof(*c));
		c[len].name = db_col_str(s, 0);
		c[len++].expires = db_col_int(s, 1);
	}
	db_done(st, s);
	/* oldest expiry first, then by name (a few rows: insertion sort) */
	for (size_t i = 1; i < len; i++)
		for (size_t j = i; j > 0 && (c[j - 1].expires > c[j].expires || (c[j - 1].expires ==
			c[j].expires && strcmp(c[j - 1].name, c[j].name) > 0)); j--) {
			struct claimed t = c[j];
			c[j] = c[j - 1];
			c[j - 1] = t;
		}
	v = len ? xcalloc(len, sizeof(*v)) : NULL;
	for (size_t i = 0; i < len; i++)
		v[i] = c[i].name;
	free(c);
	if (rc < 0) {
		state_strv_free(v, len);
		return -1;
	}
	*out = v;
	*n = len;
	return 0;
}

/* The other reapers that hold claims on expired environments (caller frees). */
static int claim_holders(struct state *st, int64_t now, const char *reaper, char ***out, size_t *n,
	struct sbx_err *err)
{
	struct db_rows *s = NULL;
	size_t cap = 0;
	int rc;
	*out = NULL;
	*n = 0;
	st_lock(st);
	if (db_query(st, &s, err, "SELECT DISTINCT claimed_by FROM env WHERE status IN ('reaping', 'destroying')"
		" AND expires > 0 AND expires <= ? AND claimed_at > 1 AND claimed_by IS NOT NULL AND claimed_by <> ?",
		"is", now, reaper) < 0) {
		st_unlock(st);
		return -1;
	}
	while ((rc = db_next(st, s, err)) == 1) {
		xgrow(out, &cap, *n + 1, sizeof(**out));
		(*out)[(*n)++] = db_col_str(s, 0);
	}
	db_done(st, s);
	st_unlock(st);
	return rc < 0 ? -1 : 0;
}

/*
 * Make the claims of dead reapers stale (claimed_at = 1), so this pass takes them over: a reaper
 * whose liveness lock this process can take is gone (state_reaper_hold). A live one keeps its own.
 */
static int claims_of_dead(struct state *st, int64_t now, const char *reaper, struct sbx_err *err)
{
	char **who = NULL;
	size_t n = 0;
	int rc = claim_holders(st, now, reaper, &who, &n, err);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		struct state_lock *lk = NULL;
		struct sbx_err busy = SBX_ERR_INIT;
		if (state_reaper_hold(st, who[i], &lk, &busy) < 0) {
			sbx_err_clear(&busy); /* alive, or its lock unreadable: the staleness still applies */
			continue;
		}
		st_lock(st);
		rc = db_exec(st, err, NULL, "UPDATE env SET claimed_at = 1 WHERE claimed_by = ?"
			" AND status IN ('reaping', 'destroying')", "s", who[i]);
		st_unlock(st);
		state_env_unlock(lk);
	}
	state_strv_free(who, n);
	return rc;
}

/* Claim every expired environment, one atomic UPDATE each. */
int state_env_claim_expired(struct state *st, int64_t now, const char *reaper, int64_t stale_secs,
	char ***names, size_t *n, struct sbx_err *err)
{
	char **cand = NULL, **won = NULL;
	size_t ncand = 0, nwon = 0;
	int rc;
	if (stale_secs > 0 && claims_of_dead(st, now, reaper, err) < 0)
		return -1;
	if (st->be == &db_pg) {
		st_lock(st);
		rc = claim_skip_locked(st, now, reaper, stale_secs, names, n, err);
		st_unlock(st);
		return rc;
	}
	st_lock(st);
	rc = claim_candidates(st, now, stale_secs, &cand, &ncand, err);
	for (size_t i = 0; rc == 0 && i < ncand; i++) {
		bool got = false;
		rc = claim_one(st, cand[i], now, stale_secs, reaper, &got, err);
		if (got) {
			won = xrealloc(won, (nwon + 1) * sizeof(*won));
			won[nwon++] = xstrdup(cand[i]);
		}
	}
	st_unlock(st);
	state_strv_free(cand, ncand);
	if (rc < 0) {
		state_strv_free(won, nwon); /* what was claimed stays claimed: taken over once stale */
		return -1;
	}
	*names = won;
	*n = nwon;
	return 0;
}
