/* state_place — where an environment's nodes and networks were placed among site.hosts. */
#include "state_db.h"

#include <stdlib.h>
#include <string.h>

/* Replace env's placement rows (inside the caller's transaction or as one of its own). */
static int place_set_tx(struct state *st, const char *env, const struct state_place *v, size_t n,
	struct sbx_err *err)
{
	if (db_exec(st, err, NULL, "DELETE FROM env_place WHERE env = ?", "s", env) < 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (db_exec(st, err, NULL, "INSERT INTO env_place (env, kind, name, uri) VALUES (?, ?, ?, ?)", "ssss",
			env, v[i].kind, v[i].name, v[i].uri) < 0)
			return -1;
	return 0;
}

/* Record where env's nodes and networks are. */
int state_place_set(struct state *st, const char *env, const struct state_place *v, size_t n, struct sbx_err *err)
{
	int rc = -1;
	st_lock(st);
	if (db_begin(st, err) == 0)
		rc = db_end(st, place_set_tx(st, env, v, n, err), err);
	st_unlock(st);
	return rc;
}

/* Read the rows of one query into a vector. */
static int place_rows(struct state *st, struct db_rows *s, struct state_place **out, size_t *n, struct sbx_err *err)
{
	struct state_place *v = NULL;
	size_t k = 0;
	int rc;
	while ((rc = db_next(st, s, err)) == 1) {
		v = xrealloc(v, (k + 1) * sizeof(*v));
		v[k++] = (struct state_place){db_col_str(s, 0), db_col_str(s, 1), db_col_str(s, 2)};
	}
	db_done(st, s);
	if (rc < 0) {
		state_place_list_free(v, k);
		return -1;
	}
	*out = v;
	*n = k;
	return 0;
}

/* Where env's nodes and networks are, by kind and name. */
int state_place_list(struct state *st, const char *env, struct state_place **out, size_t *n, struct sbx_err *err)
{
	struct db_rows *s = NULL;
	int rc = -1;
	st_lock(st);
	if (db_query(st, &s, err, "SELECT kind, name, uri FROM env_place WHERE env = ? ORDER BY kind, name", "s",
		env) == 0)
		rc = place_rows(st, s, out, n, err);
	st_unlock(st);
	return rc;
}

/* The host of (kind, name) among v, or NULL. */
const char *state_place_find(const struct state_place *v, size_t n, const char *kind, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (sbx_streq(v[i].kind, kind) && sbx_streq(v[i].name, name))
			return v[i].uri;
	return NULL;
}

/* Free a listing. */
void state_place_list_free(struct state_place *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++) {
		free(v[i].kind);
		free(v[i].name);
		free(v[i].uri);
	}
	free(v);
}
