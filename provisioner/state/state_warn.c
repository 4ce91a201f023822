/* state_warn — the expiry warnings sent: one row per environment id, offset and expiry. */
#include "state_db.h"

/* Insert the row and, when it is new, the event (inside the caller's transaction). */
static int warn_tx(struct state *st, const char *env, const char *env_id, int64_t before, int64_t expires,
	const char *detail_json, bool *first, struct sbx_err *err)
{
	int changes = 0;
	if (db_exec(st, err, &changes, "INSERT INTO warning (env_id, before_s, expires, sent)"
		" VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING", "siii", env_id, before, expires, sbx_now()) < 0)
		return -1;
	*first = changes == 1;
	return *first ? state_event_add(st, env, "expiry.warning", detail_json, err) : 0;
}

/* Record a warning once; add its event with it. */
int state_warn_record(struct state *st, const char *env, const char *env_id, int64_t before,
	int64_t expires, const char *detail_json, bool *first, struct sbx_err *err)
{
	bool got = false;
	int rc = -1;
	st_lock(st);
	if (db_begin(st, err) == 0)
		rc = db_end(st, warn_tx(st, env, env_id, before, expires, detail_json, &got, err), err);
	st_unlock(st);
	if (rc == 0)
		*first = got;
	return rc;
}

/* Mark (env_id, before, expires) as done once, with no event. */
int state_warn_mark(struct state *st, const char *env_id, int64_t before, int64_t expires, bool *first,
	struct sbx_err *err)
{
	int changes = 0;
	st_lock(st);
	int rc = db_exec(st, err, &changes, "INSERT INTO warning (env_id, before_s, expires, sent)"
		" VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING", "siii", env_id, before, expires, sbx_now());
	st_unlock(st);
	if (rc == 0)
		*first = changes == 1;
	return rc < 0 ? -1 : 0;
}
