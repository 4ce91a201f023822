/* state_res — the resource journal and the append-only event log. */
#include "state_db.h"

#include <stdlib.h>
#include <string.h>

#define RES_COLS "env, type, name, provider_id, spec, status, updated"

/* Record a resource (insert, or update in place keeping its journal order). */
int state_res_put(struct state *st, const struct state_res *r, struct sbx_err *err)
{
	if (!r->env || !r->type || !r->name || !r->status)
		return sbx_err_set(err, SBX_EXIT_FAILED, "state_res_put: env, type, name and status are required");
	st_lock(st);
	int rc = db_exec(st, NULL, NULL,
		"INSERT INTO res (" RES_COLS ") VALUES (?, ?, ?, ?, ?, ?, ?)"
		" ON CONFLICT (env, type, name) DO UPDATE SET provider_id = excluded.provider_id,"
		" spec = excluded.spec, status = excluded.status, updated = excluded.updated",
		"ssssssi", r->env, r->type, r->name, r->provider_id, r->spec, r->status, sbx_now());
	if (rc < 0 && db_last_is(st, DB_ERR_FOREIGNKEY))
		sbx_err_set(err, SBX_EXIT_FAILED, "cannot record %s %s: environment %s is not in the state",
			r->type, r->name, r->env);
	else if (rc < 0)
		db_fail(st, err, "cannot record a resource");
	st_unlock(st);
	return rc;
}

/* Free a resource array. */
void state_res_list_free(struct state_res *res, size_t n)
{
	for (size_t i = 0; i < n && res; i++) {
		struct state_res *r = &res[i];
		char *strs[] = {r->env, r->type, r->name, r->provider_id, r->spec, r->status};
		for (size_t j = 0; j < SBX_NELEM(strs); j++)
			free(strs[j]);
	}
	free(res);
}

/* Decode one row of RES_COLS into r. */
static void res_from_row(struct db_rows *s, struct state_res *r)
{
	char **strs[] = {&r->env, &r->type, &r->name, &r->provider_id, &r->spec, &r->status};
	for (int i = 0; i < (int)SBX_NELEM(strs); i++)
		*strs[i] = db_col_str(s, i);
	r->updated = db_col_int(s, 6);
}

/* Run a resource query and collect the rows. */
static int res_query(struct state *st, const char *sql, const char *env, struct state_res **out,
	size_t *n, struct sbx_err *err)
{
	struct db_rows *s = NULL;
	struct state_res *v = NULL;
	size_t len = 0, cap = 0;
	int rc = -1;
	st_lock(st);
	if (db_query(st, &s, err, sql, env ? "s" : NULL, env) < 0)
		goto out;
	while ((rc = db_next(st, s, err)) == 1) {
		xgrow(&v, &cap, len + 1, sizeof(*v));
		res_from_row(s, &v[len++]);
	}
	db_done(st, s);
out:
	st_unlock(st);
	if (rc < 0) {
		state_res_list_free(v, len);
		return -1;
	}
	*out = v;
	*n = len;
	return 0;
}

/* The resources of one environment, in the order they were first recorded. */
int state_res_list(struct state *st, const char *env, struct state_res **out, size_t *n,
	struct sbx_err *err)
{
	return res_query(st, "SELECT " RES_COLS " FROM res WHERE env = ? ORDER BY rowid", env, out, n,
		err);
}

/* Every resource of every environment. */
int state_res_list_all(struct state *st, struct state_res **out, size_t *n, struct sbx_err *err)
{
	return res_query(st, "SELECT " RES_COLS " FROM res ORDER BY env, rowid", NULL, out, n, err);
}

/* Forget a resource (absent is not an error). */
int state_res_delete(struct state *st, const char *env, const char *type, const char *name,
	struct sbx_err *err)
{
	st_lock(st);
	int rc = db_exec(st, err, NULL, "DELETE FROM res WHERE env = ? AND type = ? AND name = ?",
		"sss", env, type, name);
	st_unlock(st);
	return rc;
}

/* Append an event. */
int state_event_add(struct state *st, const char *env, const char *kind, const char *detail_json,
	struct sbx_err *err)
{
	if (!kind)
		return sbx_err_set(err, SBX_EXIT_FAILED, "state_event_add: kind is required");
	st_lock(st);
	int rc = db_exec(st, NULL, NULL, "INSERT INTO event (ts, env, kind, detail) VALUES (?, ?, ?, ?)",
		"isss", sbx_now(), env, kind, detail_json);
	if (rc < 0 && db_last_is(st, DB_ERR_CHECK))
		sbx_err_set(err, SBX_EXIT_FAILED, "cannot log event %s: its detail is not valid JSON", kind);
	else if (rc < 0)
		db_fail(st, err, "cannot log an event");
	st_unlock(st);
	return rc;
}

/* Free an event array. */
void state_event_list_free(struct state_event *ev, size_t n)
{
	for (size_t i = 0; i < n && ev; i++) {
		free(ev[i].env);
		free(ev[i].kind);
		free(ev[i].detail);
	}
	free(ev);
}

/* Collect the rows of an event query. */
static int event_rows(struct state *st, struct db_rows *s, struct state_event **out, size_t *n,
	struct sbx_err *err)
{
	struct state_event *v = NULL;
	size_t len = 0, cap = 0;
	int rc;
	while ((rc = db_next(st, s, err)) == 1) {
		xgrow(&v, &cap, len + 1, sizeof(*v));
		struct state_event *e = &v[len++];
		e->id = db_col_int(s, 0);
		e->ts = db_col_int(s, 1);
		e->env = db_col_str(s, 2);
		e->kind = db_col_str(s, 3);
		e->detail = db_col_str(s, 4);
	}
	if (rc < 0) {
		state_event_list_free(v, len);
		return -1;
	}
	*out = v;
	*n = len;
	return 0;
}

/* The last `limit` events (0 = all) of env (NULL = all), oldest first. */
int state_event_list(struct state *st, const char *env, size_t limit, struct state_event **out,
	size_t *n, struct sbx_err *err)
{
	struct db_rows *s = NULL;
	int rc = -1;
	int64_t lim = limit == 0 || limit > INT64_MAX ? INT64_MAX : (int64_t)limit;
	st_lock(st);
	if (db_query(st, &s, err,
		"SELECT * FROM (SELECT id, ts, env, kind, detail FROM event WHERE ?1 IS NULL OR env = ?1"
		" ORDER BY id DESC LIMIT ?2) AS last ORDER BY id", "si", env, lim) == 0) {
		rc = event_rows(st, s, out, n, err);
		db_done(st, s);
	}
	st_unlock(st);
	return rc;
}

/* Up to limit events with an id above after, oldest first. */
int state_event_after(struct state *st, int64_t after, size_t limit, struct state_event **out, size_t *n,
	struct sbx_err *err)
{
	struct db_rows *s = NULL;
	int rc = -1;
	int64_t lim = limit == 0 || limit > INT64_MAX ? INT64_MAX : (int64_t)limit;
	st_lock(st);
	if (db_query(st, &s, err, "SELECT id, ts, env, kind, detail FROM event WHERE id > ? ORDER BY id LIMIT ?",
		"ii", after, lim) == 0) {
		rc = event_rows(st, s, out, n, err);
		db_done(st, s);
	}
	st_unlock(st);
	return rc;
}
