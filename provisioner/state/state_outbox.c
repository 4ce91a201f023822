/* state_outbox — the daemon's webhook deliveries, kept until delivered: queue once, claim, retry,
 * delete. The signing secret is sealed like the environments' secrets (state_secret.c). */
#include "state_db.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

/* The sealed secret first: PostgreSQL's rows decode bytea in the first columns only (PG_MAX_BLOBS). */
#define OUTBOX_COLS "secret_nonce, secret_tag, secret_ct, id, env, env_id, event, body, url, created, attempts," \
	" next_at, last_error"

/* Rows a holder may claim at ?1 (now): due, and claimed by no one or by a lease that ran out. */
#define OUTBOX_CLAIMABLE "next_at <= ?1 AND (claimed_by IS NULL OR claim_until <= ?1)"

/* Candidates tried per claim (others may win some of them). */
#define OUTBOX_TRIES 8

/* The place a delivery's secret is bound to: env's "outbox:ID". Caller frees. */
static char *secret_place(const char *id)
{
	return xasprintf("outbox:%s", id);
}

/* Free a row, wiping its secret. */
void state_outbox_free(struct state_outbox *o)
{
	if (o == NULL)
		return;
	if (o->secret) {
		OPENSSL_cleanse(o->secret, strlen(o->secret));
		free(o->secret);
	}
	char *strs[] = {o->id, o->env, o->env_id, o->event, o->body, o->url, o->last_error, o->unreadable};
	for (size_t i = 0; i < SBX_NELEM(strs); i++)
		free(strs[i]);
	free(o);
}

/* Set this handle's cap on rows. */
void state_outbox_cap_set(struct state *st, int64_t cap)
{
	st_lock(st);
	st->outbox_cap = cap;
	st_unlock(st);
}

/* Insert o's row with its secret sealed (inside the caller's transaction): *changes = 1 when new. */
static int put_row(struct state *st, const struct state_outbox *o, int *changes, struct sbx_err *err)
{
	struct db_sealed s = {.ct = NULL};
	char *place = secret_place(o->id);
	int rc = 0;
	if (o->secret)
		rc = state_key_load(st, err) < 0 || db_seal(st, o->env, place, o->secret, &s, err) < 0 ? -1 : 0;
	if (rc == 0)
		rc = db_exec(st, err, changes, "INSERT INTO outbox (id, env, env_id, event, body, url, secret_nonce,"
			" secret_tag, secret_ct, created, attempts, next_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?)"
			" ON CONFLICT (id) DO NOTHING", "ssssssbbbii", o->id, o->env, o->env_id, o->event, o->body, o->url,
			o->secret ? s.nonce : NULL, o->secret ? DB_NONCE_LEN : 0, o->secret ? s.tag : NULL,
			o->secret ? DB_TAG_LEN : 0, s.ct, (int)s.len, o->created, o->created);
	free(s.ct);
	free(place);
	return rc;
}

/* Queue o unless its id is queued already or the outbox is full (inside a transaction). */
int db_outbox_put(struct state *st, const struct state_outbox *o, enum state_outbox_put *res, struct sbx_err *err)
{
	int64_t n = 0, cap = st->outbox_cap > 0 ? st->outbox_cap : STATE_OUTBOX_CAP;
	bool found = false;
	int changes = 0;
	if (db_int(st, err, &n, &found, "SELECT 1 FROM outbox WHERE id = ?", "s", o->id) < 0)
		return -1;
	if (found) {
		*res = STATE_OUTBOX_DUPLICATE;
		return 0;
	}
	if (db_int(st, err, &n, &found, "SELECT COUNT(*) FROM outbox", NULL) < 0)
		return -1;
	if (n >= cap) {
		*res = STATE_OUTBOX_FULL;
		return 0;
	}
	if (put_row(st, o, &changes, err) < 0)
		return -1;
	*res = changes == 1 ? STATE_OUTBOX_QUEUED : STATE_OUTBOX_DUPLICATE;
	return 0;
}

/* Queue a delivery once. */
int state_outbox_put(struct state *st, const struct state_outbox *o, enum state_outbox_put *res,
	struct sbx_err *err)
{
	enum state_outbox_put got = STATE_OUTBOX_DUPLICATE;
	int rc = -1;
	st_lock(st);
	if (db_begin(st, err) == 0)
		rc = db_end(st, db_outbox_put(st, o, &got, err), err);
	st_unlock(st);
	if (rc == 0)
		*res = got;
	return rc;
}

/* Open the sealed secret of the current row (columns 0-2), if it has one. One that cannot be opened
 * (corrupt, wrong key, tampered) marks the row unreadable; only a key that cannot be loaded fails. */
static int row_secret(struct state *st, struct db_rows *r, struct state_outbox *o, struct sbx_err *err)
{
	struct db_sealed s = {.ct = NULL};
	struct sbx_err bad = SBX_ERR_INIT;
	size_t nn = 0;
	(void)db_col_blob(r, 0, &nn);
	if (nn == 0)
		return 0;
	if (state_key_load(st, err) < 0)
		return -1;
	char *place = secret_place(o->id);
	int rc = db_sealed_cols(r, 0, &s) ? db_unseal(st, o->env, place, &s, &o->secret, &bad) :
		sbx_err_set(&bad, SBX_EXIT_FAILED, "the sealed signing secret of delivery %s is corrupt", o->id);
	if (rc < 0)
		o->unreadable = xstrdup(sbx_err_first(&bad));
	sbx_err_clear(&bad);
	free(place);
	free(s.ct);
	return 0;
}

/* Read the row id (OUTBOX_COLS), its secret opened; *out NULL when it is gone. */
static int row_read(struct state *st, const char *id, struct state_outbox **out, struct sbx_err *err)
{
	struct db_rows *r = NULL;
	struct state_outbox *o = NULL;
	if (db_query(st, &r, err, "SELECT " OUTBOX_COLS " FROM outbox WHERE id = ?", "s", id) < 0)
		return -1;
	int rc = db_next(st, r, err);
	if (rc == 1) {
		o = xcalloc(1, sizeof(*o));
		char **strs[] = {&o->id, &o->env, &o->env_id, &o->event, &o->body, &o->url};
		for (int i = 0; i < (int)SBX_NELEM(strs); i++)
			*strs[i] = db_col_str(r, 3 + i);
		o->created = db_col_int(r, 9);
		o->attempts = db_col_int(r, 10);
		o->next_at = db_col_int(r, 11);
		o->last_error = db_col_str(r, 12);
		rc = row_secret(st, r, o, err);
	}
	db_done(st, r);
	if (rc < 0) {
		state_outbox_free(o);
		return -1;
	}
	*out = o;
	return 0;
}

/* The holders other than holder whose claims have not run out (caller frees). */
static int claim_holders(struct state *st, const char *holder, int64_t now, char ***out, size_t *n,
	struct sbx_err *err)
{
	struct db_rows *r = NULL;
	size_t cap = 0;
	int rc = -1;
	*out = NULL;
	*n = 0;
	st_lock(st);
	if (db_query(st, &r, err, "SELECT DISTINCT claimed_by FROM outbox WHERE claimed_by IS NOT NULL"
		" AND claimed_by <> ? AND claim_until > ?", "si", holder, now) == 0)
		while ((rc = db_next(st, r, err)) == 1) {
			xgrow(out, &cap, *n + 1, sizeof(**out));
			(*out)[(*n)++] = db_col_str(r, 0);
		}
	db_done(st, r);
	st_unlock(st);
	return rc < 0 ? -1 : 0;
}

/* Drop the claims of holders that are dead (their liveness lock can be taken): the rows are due again
 * at once, not when the dead holder's lease runs out. */
static int claims_of_dead(struct state *st, const char *holder, int64_t now, struct sbx_err *err)
{
	char **who = NULL;
	size_t n = 0;
	int rc = claim_holders(st, holder, now, &who, &n, err);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		struct state_lock *lk = NULL;
		struct sbx_err busy = SBX_ERR_INIT;
		if (state_reaper_hold(st, who[i], &lk, &busy) < 0) {
			sbx_err_clear(&busy); /* alive, or its lock unreadable: its lease still applies */
			continue;
		}
		rc = state_outbox_release(st, who[i], err);
		state_env_unlock(lk);
	}
	state_strv_free(who, n);
	return rc;
}

/* The ids of the rows due first (at most OUTBOX_TRIES). */
static int claim_candidates(struct state *st, int64_t now, char ***out, size_t *n, struct sbx_err *err)
{
	struct db_rows *r = NULL;
	size_t cap = 0;
	int rc;
	*out = NULL;
	*n = 0;
	if (db_query(st, &r, err, "SELECT id FROM outbox WHERE " OUTBOX_CLAIMABLE " ORDER BY next_at, created, id"
		" LIMIT ?2", "ii", now, (int64_t)OUTBOX_TRIES) < 0)
		return -1;
	while ((rc = db_next(st, r, err)) == 1) {
		xgrow(out, &cap, *n + 1, sizeof(**out));
		(*out)[(*n)++] = db_col_str(r, 0);
	}
	db_done(st, r);
	return rc < 0 ? -1 : 0;
}

/* Claim one of the candidates: the first whose atomic UPDATE this call wins; *won its id or NULL. */
static int claim_first(struct state *st, const char *holder, int64_t now, int64_t lease_s, char **won,
	struct sbx_err *err)
{
	char **cand = NULL;
	size_t n = 0;
	int rc = claim_candidates(st, now, &cand, &n, err);
	*won = NULL;
	for (size_t i = 0; rc == 0 && i < n && *won == NULL; i++) {
		int changes = 0;
		rc = db_exec(st, err, &changes, "UPDATE outbox SET claimed_by = ?2, claim_until = ?3 WHERE id = ?4 AND "
			OUTBOX_CLAIMABLE, "isis", now, holder, now + lease_s, cand[i]);
		if (rc == 0 && changes == 1)
			*won = xstrdup(cand[i]);
	}
	state_strv_free(cand, n);
	return rc;
}

/* Claim the row due first. */
int state_outbox_claim(struct state *st, const char *holder, int64_t now, int64_t lease_s,
	struct state_outbox **out, struct sbx_err *err)
{
	char *id = NULL;
	struct state_outbox *o = NULL;
	if (claims_of_dead(st, holder, now, err) < 0)
		return -1;
	st_lock(st);
	int rc = claim_first(st, holder, now, lease_s, &id, err);
	if (rc == 0 && id)
		rc = row_read(st, id, &o, err);
	st_unlock(st);
	free(id); /* a row that cannot be read stays claimed until its lease runs out */
	if (rc == 0)
		*out = o;
	return rc;
}

/* Put a claimed row back with its next attempt. */
int state_outbox_retry(struct state *st, const char *id, const char *holder, int64_t attempts, int64_t next_at,
	const char *error, struct sbx_err *err)
{
	st_lock(st);
	int rc = db_exec(st, err, NULL, "UPDATE outbox SET attempts = ?, next_at = ?, last_error = ?, claimed_by = NULL,"
		" claim_until = 0 WHERE id = ? AND claimed_by = ?", "iisss", attempts, next_at, error, id, holder);
	st_unlock(st);
	return rc;
}

/* Delete and log (inside the caller's transaction). */
static int done_tx(struct state *st, const char *id, const char *env, const char *kind, const char *detail_json,
	struct sbx_err *err)
{
	if (db_exec(st, err, NULL, "DELETE FROM outbox WHERE id = ?", "s", id) < 0)
		return -1;
	return kind ? state_event_add(st, env, kind, detail_json, err) : 0;
}

/* Delete a row, with its event. */
int state_outbox_done(struct state *st, const char *id, const char *env, const char *kind,
	const char *detail_json, struct sbx_err *err)
{
	int rc = -1;
	st_lock(st);
	if (db_begin(st, err) == 0)
		rc = db_end(st, done_tx(st, id, env, kind, detail_json, err), err);
	st_unlock(st);
	return rc;
}

/* Drop a holder's claims. */
int state_outbox_release(struct state *st, const char *holder, struct sbx_err *err)
{
	st_lock(st);
	int rc = db_exec(st, err, NULL, "UPDATE outbox SET claimed_by = NULL, claim_until = 0 WHERE claimed_by = ?",
		"s", holder);
	st_unlock(st);
	return rc;
}

/* Count the rows. */
int state_outbox_count(struct state *st, int64_t *n, struct sbx_err *err)
{
	bool found = false;
	int64_t v = 0;
	st_lock(st);
	int rc = db_int(st, err, &v, &found, "SELECT COUNT(*) FROM outbox", NULL);
	st_unlock(st);
	if (rc == 0)
		*n = v;
	return rc;
}

/* Count the rows of one environment (or all) and find the oldest. */
int state_outbox_depth(struct state *st, const char *env_id, int64_t *n, int64_t *oldest, struct sbx_err *err)
{
	struct db_rows *r = NULL;
	int64_t c = 0, first = 0;
	int rc;
	st_lock(st);
	if (env_id)
		rc = db_query(st, &r, err, "SELECT count(*), COALESCE(min(created), 0) FROM outbox WHERE env_id = ?", "s",
			env_id);
	else
		rc = db_query(st, &r, err, "SELECT count(*), COALESCE(min(created), 0) FROM outbox", NULL);
	if (rc == 0 && (rc = db_next(st, r, err)) == 1) {
		c = db_col_int(r, 0);
		first = db_col_int(r, 1);
	}
	db_done(st, r);
	st_unlock(st);
	if (rc < 0)
		return -1;
	*n = c;
	*oldest = first;
	return 0;
}
