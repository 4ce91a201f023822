/* state_lease — a bare-metal machine is leased to one environment at a time. */
#include "state_db.h"

#include <stdlib.h>
#include <string.h>

/* Lease machine to env unless another environment holds it. */
int state_lease_acquire(struct state *st, const char *machine, const char *env, const char *node,
	char **holder, struct sbx_err *err)
{
	char *got = NULL;
	int rc;

	*holder = NULL;
	st_lock(st);
	rc = db_exec(st, err, NULL,
		"INSERT INTO lease (machine, env, node, since) VALUES (?, ?, ?, ?) ON CONFLICT (machine) DO NOTHING",
		"sssi", machine, env, node, sbx_now());
	if (rc == 0)
		rc = db_text(st, err, &got, "SELECT env FROM lease WHERE machine = ?", "s", machine);
	st_unlock(st);
	if (rc < 0)
		return -1;
	if (got && strcmp(got, env) != 0) {
		*holder = got;
		return 1;
	}
	free(got);
	return 0;
}

/* The environment holding machine, or *env = NULL. */
int state_lease_holder(struct state *st, const char *machine, char **env, struct sbx_err *err)
{
	st_lock(st);
	int rc = db_text(st, err, env, "SELECT env FROM lease WHERE machine = ?", "s", machine);
	st_unlock(st);
	return rc;
}

/* Release every lease of env. */
int state_lease_release(struct state *st, const char *env, struct sbx_err *err)
{
	st_lock(st);
	int rc = db_exec(st, err, NULL, "DELETE FROM lease WHERE env = ?", "s", env);
	st_unlock(st);
	return rc;
}

/* Every lease (env NULL) or those of env, by machine key; each with whether its environment exists. */
int state_lease_list(struct state *st, const char *env, struct state_lease **out, size_t *n, struct sbx_err *err)
{
	static const char *const sel = "SELECT l.machine, l.env, l.node, l.since, "
		"CASE WHEN e.name IS NULL THEN 0 ELSE 1 END FROM lease l LEFT JOIN env e ON e.name = l.env ";
	struct db_rows *s = NULL;
	struct state_lease *v = NULL;
	size_t len = 0, cap = 0;
	int rc = -1;
	char *sql = xasprintf("%s%s ORDER BY l.machine", sel, env ? "WHERE l.env = ?" : "");

	st_lock(st);
	if (db_query(st, &s, err, sql, env ? "s" : NULL, env) < 0)
		goto out;
	while ((rc = db_next(st, s, err)) == 1) {
		xgrow(&v, &cap, len + 1, sizeof(*v));
		v[len++] = (struct state_lease){db_col_str(s, 0), db_col_str(s, 1), db_col_str(s, 2),
			db_col_int(s, 3), db_col_int(s, 4) != 0};
	}
	db_done(st, s);
out:
	st_unlock(st);
	free(sql);
	if (rc < 0) {
		state_lease_list_free(v, len);
		return -1;
	}
	*out = v;
	*n = len;
	return 0;
}

/* Free a list of leases. */
void state_lease_list_free(struct state_lease *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++) {
		free(v[i].machine);
		free(v[i].env);
		free(v[i].node);
	}
	free(v);
}

/* Drop the lease of machine if env still holds it. */
int state_lease_drop(struct state *st, const char *machine, const char *env, struct sbx_err *err)
{
	st_lock(st);
	int rc = db_exec(st, err, NULL, "DELETE FROM lease WHERE machine = ? AND env = ?", "ss", machine, env);
	st_unlock(st);
	return rc;
}
