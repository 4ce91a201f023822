/* state_warn — the expiry warnings sent: one row per environment id, offset and expiry. */
#include "state_db.h"

/* Insert the row and, when it is new, the event and the webhook (inside the caller's transaction). */
static int warn_tx(struct state *st, const char *env, const char *env_id, int64_t before, int64_t expires,
	const char *detail_json, const struct state_outbox *ob, bool *first, enum state_outbox_put *queued,
	struct sbx_err *err)
{
	int changes = 0;
	if (db_exec(st, err, &changes, "INSERT INTO warning (env_id, before_s, expires, sent)"
		" VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING", "siii", env_id, before, expires, sbx_now()) < 0)
		return -1;
	*first = changes == 1;
	if (*first && state_event_add(st, env, "expiry.warning", detail_json, err) < 0)
		return -1;
	return *first && ob ? db_outbox_put(st, ob, queued, err) : 0;
}

/* Record a warning once; add its event and queue its webhook with it. */
int state_warn_record(struct state *st, const char *env, const char *env_id, int64_t before,
	int64_t expires, const char *detail_json, const struct state_outbox *ob, bool *first,
	enum state_outbox_put *queued, struct sbx_err *err)
{
	enum state_outbox_put q = STATE_OUTBOX_DUPLICATE;
	bool got = false;
	int rc = -1;
	st_lock(st);
	if (db_begin(st, err) == 0)
		rc = db_end(st, warn_tx(st, env, env_id, before, expires, detail_json, ob, &got, &q, err), err);
	st_unlock(st);
	if (rc == 0) {
		*first = got;
		if (queued)
			*queued = q;
	}
	return rc;
}

/* Whether a warning was recorded. */
int state_warn_sent(struct state *st, const char *env_id, int64_t before, int64_t expires, bool *sent,
	struct sbx_err *err)
{
	int64_t v = 0;
	bool found = false;
	st_lock(st);
	int rc = db_int(st, err, &v, &found, "SELECT 1 FROM warning WHERE env_id = ? AND before_s = ? AND expires = ?",
		"sii", env_id, before, expires);
	st_unlock(st);
	if (rc == 0)
		*sent = found;
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
