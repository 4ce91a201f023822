/* env_secret — the secrets a blueprint names as ${secret.NAME}: set, listed, removed, checked before
 * up and plan, resolved at apply time. Stored in the state as "user/NAME", apart from the secrets
 * sandbox generates (whose names hold no '/'). */
#include "env_int.h"

#include <stdlib.h>
#include <string.h>


#define USER_PREFIX BP_SECRET_STORE

/* Whether a secret name is [A-Za-z0-9_-]{1,ENV_SECRET_NAME_MAX}. */
static bool name_ok(const char *name)
{
	size_t n = name ? strlen(name) : 0;
	return n > 0 && n <= ENV_SECRET_NAME_MAX &&
		strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-") == n;
}

/* Refuse an environment or secret name that could not be one (name NULL: not checked). */
static int check_names(const char *env, const char *name, struct sbx_err *err)
{
	if (!sbx_valid_name(env)) {
		sbx_err_set(err, SBX_EXIT_USAGE, "\"%s\" is not a valid environment name", env ? env : "");
		sbx_err_hint(err, "use lowercase letters, digits and '-', starting with a letter, at most 40 characters");
		return -1;
	}
	if (name && !name_ok(name)) {
		sbx_err_set(err, SBX_EXIT_USAGE, "\"%s\" is not a valid secret name", name);
		sbx_err_hint(err, "use letters, digits, '_' and '-', at most %d characters, as in ${secret.NAME}",
			ENV_SECRET_NAME_MAX);
		return -1;
	}
	return 0;
}

/* The state's name of a user secret; caller frees. */
static char *stored_name(const char *name)
{
	return xasprintf(USER_PREFIX "%s", name);
}

/* Store a value. */
int env_secret_set(struct state *st, const char *env, const char *name, const char *value,
	struct sbx_err *err)
{
	if (check_names(env, name, err) < 0)
		return -1;
	if (value == NULL || *value == '\0') {
		sbx_err_set(err, SBX_EXIT_USAGE, "secret %s: the value is empty", name);
		sbx_err_hint(err, "printf %%s \"$VALUE\" | sandbox secret set %s %s", env, name);
		return -1;
	}
	char *key = stored_name(name);
	int rc = state_secret_put(st, env, key, value, err);
	free(key);
	return rc;
}

/* The names set for env. */
int env_secret_list(struct state *st, const char *env, char ***names, size_t *n, struct sbx_err *err)
{
	char **all = NULL;
	size_t nall = 0, k = 0;
	if (check_names(env, NULL, err) < 0 || state_secret_names(st, env, &all, &nall, err) < 0)
		return -1;
	for (size_t i = 0; i < nall; i++) {
		if (sbx_has_prefix(all[i], USER_PREFIX)) {
			char *s = xstrdup(all[i] + strlen(USER_PREFIX));
			free(all[i]);
			all[k++] = s;
		} else {
			free(all[i]);
		}
	}
	*names = all;
	*n = k;
	return 0;
}

/* Whether a sorted list holds name. */
static bool listed(char *const *names, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(names[i], name) == 0)
			return true;
	return false;
}

/* Forget one. */
int env_secret_rm(struct state *st, const char *env, const char *name, struct sbx_err *err)
{
	char **names = NULL;
	size_t n = 0;
	if (check_names(env, name, err) < 0 || env_secret_list(st, env, &names, &n, err) < 0)
		return -1;
	int rc = 0;
	char *key = stored_name(name);
	if (!listed(names, n, name)) {
		rc = sbx_err_set(err, SBX_EXIT_FAILED, "environment %s has no secret \"%s\"", env, name);
		sbx_err_hint(err, "`sandbox secret list %s` shows the %zu it has", env, n);
	} else {
		rc = state_secret_delete(st, env, key, err);
	}
	free(key);
	state_strv_free(names, n);
	return rc;
}

/* Check that every secret bp uses is set. */
int env_secret_check(struct state *st, const char *env, const struct bp_blueprint *bp, struct sbx_err *err)
{
	char **names = NULL;
	size_t n = 0, missing = 0;
	const char *last = NULL;
	if (bp->nsecret_names == 0)
		return 0;
	if (env_secret_list(st, env, &names, &n, err) < 0)
		return -1;
	for (size_t i = 0; i < bp->nsecret_names; i++) {
		if (listed(names, n, bp->secret_names[i]))
			continue;
		sbx_err_set(err, SBX_EXIT_USAGE, "secret \"%s\" is not set for environment %s (the blueprint uses "
			"${secret.%s})", bp->secret_names[i], env, bp->secret_names[i]);
		last = bp->secret_names[i];
		missing++;
	}
	if (missing)
		sbx_err_hint(err, "set %s with: printf %%s \"$VALUE\" | sandbox secret set %s %s", missing > 1 ? "each" : "it",
			env, missing > 1 ? "NAME" : last);
	state_strv_free(names, n);
	return missing ? -1 : 0;
}

/* The value of a ${secret.NAME} reference. */
int env_secret_resolve(struct state *st, const char *env, const char *value, char **out,
	struct sbx_err *err)
{
	char *name = bp_secret_ref(value), *key = NULL, *v = NULL;
	int rc = -1;
	if (name == NULL) {
		sbx_err_set(err, SBX_EXIT_USAGE, "a credential must be a ${secret.NAME} reference");
		goto out;
	}
	key = stored_name(name);
	if (state_secret_get(st, env, key, &v, err) < 0)
		goto out;
	if (v == NULL) {
		sbx_err_set(err, SBX_EXIT_USAGE, "secret \"%s\" is not set for environment %s", name, env);
		sbx_err_hint(err, "set it with: printf %%s \"$VALUE\" | sandbox secret set %s %s", env, name);
		goto out;
	}
	*out = v;
	rc = 0;
out:
	free(key);
	free(name);
	return rc;
}

/* prov_cfg.secret: resolve a reference of the environment in ctx. */
int env_secret_cb(void *ctx, const char *ref, char **value, struct sbx_err *err)
{
	const struct env_secrets *s = ctx;
	return env_secret_resolve(s->st, s->env, ref, value, err);
}
