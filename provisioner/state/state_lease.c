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
