/* env_extend — push an environment's expiry, never past created + max_ttl. */
#include "env_int.h"

/* Refuse what cannot be extended: permanent, being torn down, claimed by a reaper. */
static int extend_check(const struct state_env *e, struct sbx_err *err)
{
	if (e->expires == 0)
		return sbx_err_set(err, SBX_EXIT_REFUSED, "environment %s is permanent: it does not expire", e->name);
	if (sbx_streq(e->status, STATE_ENV_READY) || sbx_streq(e->status, STATE_ENV_FAILED) ||
		sbx_streq(e->status, STATE_ENV_CREATING))
		return 0;
	sbx_err_set(err, SBX_EXIT_REFUSED, "environment %s is %s%s", e->name, e->status,
		e->claimed_by ? " (claimed by a reaper)" : "");
	sbx_err_hint(err, "an environment being torn down cannot be extended; `sandbox up` it again instead");
	return -1;
}

/* Compute and store the new expiry of a loaded environment. */
static int extend_env(struct state *st, const struct state_env *e, int64_t ttl, struct env_extend_result *out,
	struct sbx_err *err)
{
	char buf[32];
	if (extend_check(e, err) < 0)
		return -1;
	int64_t want = sbx_now() + ttl, cap = e->max_ttl ? e->created + e->max_ttl : 0;
	out->capped = cap && want > cap;
	out->expires = out->capped ? cap : want;
	if (out->capped && cap <= sbx_now()) {
		sbx_err_set(err, SBX_EXIT_REFUSED, "environment %s has reached its max_ttl (%s)", e->name,
			sbx_fmt_duration(e->max_ttl, buf, sizeof(buf)));
		sbx_err_hint(err, "create a new environment, or raise lifetime.max_ttl in its blueprint and `up` again");
		return -1;
	}
	if (out->expires < e->expires)
		out->expires = e->expires; /* extend never shortens */
	if (state_env_set_expires(st, e->name, out->expires, err) < 0)
		return -1;
	(void)state_event_add(st, e->name, "extend", NULL, NULL);
	return 0;
}

/* Extend an environment under its lock. */
int env_extend(struct state *st, const char *name, int64_t ttl, int wait_lock, struct env_extend_result *out,
	struct sbx_err *err)
{
	struct state_lock *lk = NULL;
	struct state_env *e = NULL;
	int rc = -1;
	*out = (struct env_extend_result){0};
	if (state_env_lock(st, name, wait_lock, &lk, err) < 0 || env_get(st, name, &e, err) < 0)
		goto out;
	rc = extend_env(st, e, ttl, out, err);
out:
	state_env_free(e);
	state_env_unlock(lk);
	return rc;
}
