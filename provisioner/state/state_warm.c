/* state_warm — the warm pool's members: rows journaled before their VMs exist, claimed atomically. */
#include "state_db.h"

#include <stdlib.h>
#include <string.h>

#define WARM_COLS "id, shape, status, image_hash, address, hostkey, volumes, claimed_env, claimed_node, " \
	"created, updated, roles"

/* Read the current row (WARM_COLS) into m. */
static void warm_row(struct db_rows *s, struct warm_member *m)
{
	*m = (struct warm_member){db_col_str(s, 0), db_col_str(s, 1), db_col_str(s, 2), db_col_str(s, 3),
		db_col_str(s, 4), db_col_str(s, 5), db_col_str(s, 6), db_col_str(s, 7), db_col_str(s, 8),
		db_col_int(s, 9), db_col_int(s, 10), db_col_str(s, 11)};
}

/* Record a new member. */
int state_warm_add(struct state *st, const struct warm_member *m, struct sbx_err *err)
{
	int64_t now = sbx_now();

	st_lock(st);
	int rc = db_exec(st, err, NULL, "INSERT INTO warm (" WARM_COLS ") VALUES (?, ?, ?, ?, ?, ?, ?, NULL, NULL, ?, ?, ?)",
		"sssssssiis", m->id, m->shape, m->status, m->image_hash, m->address, m->hostkey,
		m->volumes ? m->volumes : "", now, now, m->roles ? m->roles : "");
	st_unlock(st);
	return rc;
}

/* Set a member's status (and its address and host key when given). */
int state_warm_set(struct state *st, const char *id, const char *status, const char *address,
	const char *hostkey, struct sbx_err *err)
{
	int changes = 0;

	st_lock(st);
	int rc = db_exec(st, err, &changes, "UPDATE warm SET status = ?, address = COALESCE(?, address), "
		"hostkey = COALESCE(?, hostkey), updated = ? WHERE id = ?", "sssis", status, address, hostkey,
		sbx_now(), id);
	st_unlock(st);
	if (rc < 0)
		return -1;
	return changes == 0;
}

/* Every member, or those of one shape, by id. */
int state_warm_list(struct state *st, const char *shape, struct warm_member **out, size_t *n,
	struct sbx_err *err)
{
	struct db_rows *s = NULL;
	struct warm_member *v = NULL;
	size_t len = 0, cap = 0;
	int rc = -1;

	st_lock(st);
	if (db_query(st, &s, err, shape ? "SELECT " WARM_COLS " FROM warm WHERE shape = ? ORDER BY id" :
		"SELECT " WARM_COLS " FROM warm ORDER BY id", shape ? "s" : NULL, shape) < 0)
		goto out;
	while ((rc = db_next(st, s, err)) == 1) {
		xgrow(&v, &cap, len + 1, sizeof(*v));
		warm_row(s, &v[len++]);
	}
	db_done(st, s);
out:
	st_unlock(st);
	if (rc < 0) {
		state_warm_list_free(v, len);
		return -1;
	}
	*out = v;
	*n = len;
	return 0;
}

/* Free a list of members. */
void state_warm_list_free(struct warm_member *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		warm_member_clear(&v[i]);
	free(v);
}

/* Forget a member. */
int state_warm_delete(struct state *st, const char *id, struct sbx_err *err)
{
	st_lock(st);
	int rc = db_exec(st, err, NULL, "DELETE FROM warm WHERE id = ?", "s", id);
	st_unlock(st);
	return rc;
}

/*
 * Claim one ready member in one statement: the subquery picks the oldest ready member and the
 * outer WHERE checks it is still ready, so of two claimers racing for it one updates no row. On
 * PostgreSQL the pick skips rows another claimer has locked (SKIP LOCKED) instead of waiting on
 * them; SQLite serialises writers on the file.
 */
int state_warm_claim(struct state *st, const char *shape, const char *image_hash, const char *env,
	const char *node, struct warm_member *out, struct sbx_err *err)
{
	return state_warm_claim_roles(st, shape, image_hash, NULL, 0, NULL, 0, env, node, out, err);
}

/*
 * The roles' condition has WARM_MAX_ROLES fixed parameters (?6..?13), each a LIKE pattern
 * "%+ROLE+%" matched against "+roles+", or "%" (any) when unused; a member prepared for no role
 * ('') qualifies for any node. The exclusion has WARM_MAX_ROLES more (?14..?21), each a NOT LIKE
 * pattern "%+ROLE+%", or "" when unused (no "+roles+" is empty).
 */
int state_warm_claim_roles(struct state *st, const char *shape, const char *image_hash,
	const char *const *roles, size_t nroles, const char *const *without, size_t nwithout, const char *env,
	const char *node, struct warm_member *out, struct sbx_err *err)
{
	char *pat[WARM_MAX_ROLES], *excl[WARM_MAX_ROLES];
	if (nroles > WARM_MAX_ROLES || nwithout > WARM_MAX_ROLES)
		return sbx_err_set(err, SBX_EXIT_FAILED, "a node with more than %d roles cannot claim a warm pool member",
			WARM_MAX_ROLES);
	for (size_t i = 0; i < WARM_MAX_ROLES; i++) {
		pat[i] = roles && i < nroles ? xasprintf("%%+%s+%%", roles[i]) : xstrdup("%");
		excl[i] = without && i < nwithout ? xasprintf("%%+%s+%%", without[i]) : xstrdup("");
	}
	char *sql = xasprintf("UPDATE warm SET status = 'claimed', claimed_env = ?1, claimed_node = ?2, updated = ?3 "
		"WHERE id = (SELECT id FROM warm WHERE shape = ?4 AND status = 'ready' AND (?5 IS NULL OR image_hash = ?5) "
		"AND (roles = '' OR ('+' || roles || '+' LIKE ?6 AND '+' || roles || '+' LIKE ?7 AND "
		"'+' || roles || '+' LIKE ?8 AND '+' || roles || '+' LIKE ?9 AND '+' || roles || '+' LIKE ?10 AND "
		"'+' || roles || '+' LIKE ?11 AND '+' || roles || '+' LIKE ?12 AND '+' || roles || '+' LIKE ?13)) "
		"AND '+' || roles || '+' NOT LIKE ?14 AND '+' || roles || '+' NOT LIKE ?15 AND "
		"'+' || roles || '+' NOT LIKE ?16 AND '+' || roles || '+' NOT LIKE ?17 AND "
		"'+' || roles || '+' NOT LIKE ?18 AND '+' || roles || '+' NOT LIKE ?19 AND "
		"'+' || roles || '+' NOT LIKE ?20 AND '+' || roles || '+' NOT LIKE ?21 "
		"ORDER BY %s, created, id LIMIT 1%s) AND status = 'ready' RETURNING " WARM_COLS,
		nroles ? "(roles = ''), length(roles)" : "length(roles)", st->be == &db_pg ? " FOR UPDATE SKIP LOCKED" : "");
	struct db_rows *s = NULL;
	struct warm_member m = {0};
	int rc = -1;

	st_lock(st);
	if (db_query(st, &s, err, sql, "ssissssssssssssssssss", env, node, sbx_now(), shape, image_hash, pat[0], pat[1],
		pat[2], pat[3], pat[4], pat[5], pat[6], pat[7], excl[0], excl[1], excl[2], excl[3], excl[4], excl[5], excl[6],
		excl[7]) < 0)
		goto out;
	rc = db_next(st, s, err);
	if (rc == 1) {
		warm_row(s, &m);
		while (db_next(st, s, err) == 1)
			;
	}
	db_done(st, s);
out:
	st_unlock(st);
	free(sql);
	for (size_t i = 0; i < WARM_MAX_ROLES; i++) {
		free(pat[i]);
		free(excl[i]);
	}
	if (rc == 1)
		*out = m;
	return rc;
}

/* Free a member's strings. */
void warm_member_clear(struct warm_member *m)
{
	if (!m)
		return;
	free(m->id);
	free(m->shape);
	free(m->status);
	free(m->image_hash);
	free(m->address);
	free(m->hostkey);
	free(m->volumes);
	free(m->claimed_env);
	free(m->claimed_node);
	free(m->roles);
	*m = (struct warm_member){0};
}
