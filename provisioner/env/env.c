/* env — what every verb shares: opening the state, the site of an environment, key paths. */
#include "env_int.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "exec.h"

/* Open the configured state. */
int env_state_open(const struct env_config *cfg, struct state **st, struct sbx_err *err)
{
	if (state_open_at(cfg->state_path, cfg->state_dir, st, err) < 0) {
		if (cfg->state_dir)
			sbx_err_hint(err, "check the PostgreSQL URL of SANDBOX_STATE (or --state) and the "
				"permissions of %s", cfg->state_dir);
		else
			sbx_err_hint(err, "set SANDBOX_STATE (or --state) to a writable path, or check the "
				"permissions of %s", cfg->state_path);
		return -1;
	}
	state_set_ipam_pool(*st, cfg->ipam_pool);
	return 0;
}

/* Load an environment or explain that it does not exist. */
int env_get(struct state *st, const char *name, struct state_env **out, struct sbx_err *err)
{
	struct state_env *e = NULL;
	if (state_env_get(st, name, &e, err) < 0)
		return -1;
	if (e == NULL) {
		sbx_err_set(err, SBX_EXIT_FAILED, "no environment named \"%s\"", name);
		sbx_err_hint(err, "`sandbox list` shows the environments this state knows");
		return -1;
	}
	*out = e;
	return 0;
}

/* The blueprint loading options of a command. */
struct bp_load_opts env_bp_opts(const struct env_config *cfg, const struct bp_var *vars, size_t nvars,
	const char *env)
{
	return (struct bp_load_opts){.vars = vars, .nvars = nvars, .env_name = env,
		.image_dirs = cfg ? (const char *const *)cfg->image_dirs : NULL, .nimage_dirs = cfg ? cfg->nimage_dirs : 0};
}

/* Stop the lifecycle between steps on SIGINT/SIGTERM. */
void env_interrupt_on_signals(void)
{
	exec_install_signals();
}

/* Stop the lifecycle between steps now. */
void env_interrupt(void)
{
	exec_interrupt();
}

/* The provider configuration of a blueprint's site. */
struct prov_cfg env_site_of_bp(const struct bp_blueprint *bp)
{
	const struct bp_site *s = &bp->site;
	return (struct prov_cfg){.uri = s->uri, .pool = s->pool, .pool_path = s->pool_path, .image = &s->image};
}

/* The site recorded with an environment (its resolved blueprint). */
void env_site_of_row(const struct state_env *e, char **uri, char **pool, char **pool_path)
{
	json_t *j = json_loads(e->bp_json ? e->bp_json : "{}", 0, NULL);
	json_t *site = json_object_get(j, "site");
	const char *u = json_string_value(json_object_get(site, "uri"));
	const char *p = json_string_value(json_object_get(site, "pool"));
	const char *pp = json_string_value(json_object_get(site, "pool_path"));
	*uri = xstrdup(u ? u : BP_DEFAULT_URI);
	*pool = xstrdup(p ? p : BP_DEFAULT_POOL);
	*pool_path = xstrdup(pp ? pp : BP_DEFAULT_POOL_PATH);
	json_decref(j);
}

/* The hosts of a recorded environment's site.hosts. */
void env_site_hosts_of_row(const struct state_env *e, char ***hosts, size_t *n)
{
	json_t *j = json_loads(e->bp_json ? e->bp_json : "{}", 0, NULL);
	json_t *h = json_object_get(json_object_get(j, "site"), "hosts");
	size_t k = 0;
	char **v = json_array_size(h) ? xcalloc(json_array_size(h), sizeof(char *)) : NULL;
	for (size_t i = 0; i < json_array_size(h); i++)
		if (json_string_value(json_array_get(h, i)))
			v[k++] = xstrdup(json_string_value(json_array_get(h, i)));
	json_decref(j);
	*hosts = v;
	*n = k;
}

/* The cluster of a recorded environment, and whether it has machines (nodes, networks). */
enum env_cluster_kind env_cluster_of_row(const struct state_env *e, char **kubeconfig, char **context,
	bool *machines)
{
	json_t *j = json_loads(e->bp_json ? e->bp_json : "{}", 0, NULL);
	json_t *cl = json_object_get(j, "cluster");
	const char *kc = json_string_value(json_object_get(cl, "kubeconfig"));
	enum env_cluster_kind kind = !json_is_true(json_object_get(cl, "present")) ? ENV_CLUSTER_NONE :
		kc ? ENV_CLUSTER_ATTACHED : ENV_CLUSTER_INSTALLED;
	*kubeconfig = xstrdup(kc);
	*context = xstrdup(json_string_value(json_object_get(cl, "context")));
	*machines = json_array_size(json_object_get(j, "nodes")) > 0 || json_array_size(json_object_get(j, "networks")) > 0;
	json_decref(j);
	return kind;
}

/* The key file of an environment. */
char *env_key_path(struct state *st, const char *env)
{
	return xasprintf("%s/keys/%s.pem", state_private_dir(st), env);
}

/* The known_hosts file of an environment. */
char *env_known_hosts_path(struct state *st, const char *env)
{
	return xasprintf("%s/keys/%s.known_hosts", state_private_dir(st), env);
}

/* Add a string to a vector. */
void env_strv_add(char ***v, size_t *n, char *s)
{
	*v = xrealloc(*v, (*n + 1) * sizeof(**v));
	(*v)[(*n)++] = s;
}

/* A state row's resource as people read it. */
char *env_res_display(const char *type, const char *name)
{
	int t = res_type_parse(type);
	return t < 0 ? xstrdup(name) : res_display((enum res_type)t, name);
}

/* Log kind with the milliseconds since t0_ms (monotonic) as its detail's duration_ms. */
void env_event_duration(struct state *st, const char *env, const char *kind, int64_t t0_ms)
{
	char detail[64];
	snprintf(detail, sizeof(detail), "{\"duration_ms\":%lld}", (long long)(sbx_mono_ms() - t0_ms));
	(void)state_event_add(st, env, kind, detail, NULL);
}
