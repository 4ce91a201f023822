/* state_claim — admission's records: what each environment is promised on its host, and the caps
 * on live environments. */
#include "state_db.h"

#include <stdlib.h>
#include <string.h>

/* Record env's promises, one per host, replacing its earlier ones (inside a transaction). */
static int claim_set_tx(struct state *st, const char *env, const char *const *uris, const struct state_claim *c,
	size_t n, struct sbx_err *err)
{
	if (db_exec(st, err, NULL, "DELETE FROM env_claim WHERE env = ?", "s", env) < 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (db_exec(st, err, NULL, "INSERT INTO env_claim (env, uri, memory, cpus, disk) VALUES (?, ?, ?, ?, ?)",
			"ssiii", env, uris[i], (int64_t)c[i].memory, c[i].cpus, (int64_t)c[i].disk) < 0)
			return -1;
	return 0;
}

/* Record env's promises on several hosts. */
int state_claim_set(struct state *st, const char *env, const char *const *uris, const struct state_claim *c,
	size_t n, struct sbx_err *err)
{
	int rc = -1;
	st_lock(st);
	if (db_begin(st, err) == 0)
		rc = db_end(st, claim_set_tx(st, env, uris, c, n, err), err);
	st_unlock(st);
	return rc;
}

/* Record env's promise on uri. */
int state_claim_put(struct state *st, const char *env, const char *uri, const struct state_claim *c,
	struct sbx_err *err)
{
	return state_claim_set(st, env, &uri, c, 1, err);
}

/* Read one row of sums or a claim: memory, cpus, disk, then (ncols 4) a count. */
static int claim_row(struct state *st, struct db_rows *s, struct state_claim *out, size_t *count,
	struct sbx_err *err)
{
	struct state_claim c = {0};
	size_t n = 0;
	int rc = db_next(st, s, err);
	if (rc == 1) {
		c = (struct state_claim){(uint64_t)db_col_int(s, 0), db_col_int(s, 1), (uint64_t)db_col_int(s, 2)};
		n = count ? (size_t)db_col_int(s, 3) : 0;
	}
	db_done(st, s);
	if (rc < 0)
		return -1;
	*out = c;
	if (count)
		*count = n;
	return 0;
}

/* env's promise on uri. */
int state_claim_get(struct state *st, const char *env, const char *uri, struct state_claim *out,
	struct sbx_err *err)
{
	struct db_rows *s = NULL;
	int rc = -1;
	st_lock(st);
	if (db_query(st, &s, err, "SELECT memory, cpus, disk FROM env_claim WHERE env = ? AND uri = ?", "ss",
		env, uri) == 0)
		rc = claim_row(st, s, out, NULL, err);
	st_unlock(st);
	return rc;
}

/* What the other live environments on uri are promised. */
int state_claim_sum(struct state *st, const char *uri, const char *except, struct state_claim *out,
	size_t *nenvs, struct sbx_err *err)
{
	struct db_rows *s = NULL;
	int rc = -1;
	st_lock(st);
	if (db_query(st, &s, err, "SELECT COALESCE(SUM(c.memory), 0), COALESCE(SUM(c.cpus), 0), "
		"COALESCE(SUM(c.disk), 0), COUNT(*) FROM env_claim c JOIN env e ON e.name = c.env "
		"WHERE c.uri = ? AND c.env <> ?", "ss", uri, except ? except : "") == 0)
		rc = claim_row(st, s, out, nenvs, err);
	st_unlock(st);
	return rc;
}

/* One cap (-1 when unset). */
static int cap_get(struct state *st, const char *scope, int64_t *out, struct sbx_err *err)
{
	bool found = false;
	int64_t v = -1;
	if (db_int(st, err, &v, &found, "SELECT value FROM caps WHERE scope = ?", "s", scope) < 0)
		return -1;
	*out = found ? v : -1;
	return 0;
}

/* The caps. */
int state_caps_get(struct state *st, struct state_caps *out, struct sbx_err *err)
{
	struct state_caps c = {-1, -1};
	st_lock(st);
	int rc = cap_get(st, "per_owner", &c.per_owner, err) < 0 || cap_get(st, "total", &c.total, err) < 0 ? -1 : 0;
	st_unlock(st);
	if (rc == 0)
		*out = c;
	return rc;
}

/* Set or drop one cap. */
static int cap_set(struct state *st, const char *scope, int64_t v, struct sbx_err *err)
{
	if (v < 0)
		return db_exec(st, err, NULL, "DELETE FROM caps WHERE scope = ?", "s", scope);
	return db_exec(st, err, NULL, "INSERT INTO caps (scope, value) VALUES (?, ?) "
		"ON CONFLICT (scope) DO UPDATE SET value = excluded.value", "si", scope, v);
}

/* Set both caps in one transaction. */
int state_caps_set(struct state *st, const struct state_caps *c, struct sbx_err *err)
{
	int rc = -1;
	st_lock(st);
	if (db_begin(st, err) == 0)
		rc = db_end(st, cap_set(st, "per_owner", c->per_owner, err) < 0 || cap_set(st, "total", c->total, err) < 0 ?
			-1 : 0, err);
	st_unlock(st);
	return rc;
}

/* Count environments. */
int state_env_count(struct state *st, const char *owner, const char *except, int64_t *n, struct sbx_err *err)
{
	bool found = false;
	int rc;
	st_lock(st);
	if (owner)
		rc = db_int(st, err, n, &found, "SELECT COUNT(*) FROM env WHERE owner = ? AND name <> ?", "ss", owner,
			except ? except : "");
	else
		rc = db_int(st, err, n, &found, "SELECT COUNT(*) FROM env WHERE name <> ?", "s", except ? except : "");
	st_unlock(st);
	return rc;
}
