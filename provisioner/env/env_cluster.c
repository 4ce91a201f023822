/*
 * env_cluster — the cluster phase of `up`: connect to the environment's Kubernetes cluster
 * (installed: the kubeconfig fetched from its first server; attached: the blueprint's), wait for
 * its nodes, then apply the platform defaults (cluster/manifests/ for each team namespace), the
 * environment's addresses as a ConfigMap and a Secret, and the blueprint's apps, all with
 * server-side apply and ownership labels; every object is journaled before it is applied, and
 * what an earlier `up` applied but the blueprint no longer declares is pruned.
 */
#include "env_int.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/crypto.h>

#define CLUSTER_FIELD_MANAGER "sandbox"
#define NS_NAME_MAX 63

struct cluster {
	const struct env_config *cfg;
	struct state *st;
	const struct bp_blueprint *bp;
	const struct state_env *row;
	struct ev_sink *ev;
	struct k8s *k;
	char *kubeconfig, *context;  /* how the cluster is reached */
	bool attached;               /* a shared cluster: the environment writes only its namespaces */
	char **teams;                /* cluster.namespaces' names */
	size_t nteams;
	char *dir;                   /* cluster/ */
	struct k8s_label labels[4];
	size_t nlabels;
	char **keys;                 /* row keys of everything applied this run */
	size_t nkeys;
	struct env_cluster_plan *plan; /* a dry run (plan): nothing journaled, nothing changed */
};

/* The kubeconfig an environment's cluster is reached with, and its context. */
void env_cluster_access(struct state *st, const struct state_env *e, const struct bp_cluster *cl, char **path,
	char **context)
{
	*path = cl->kubeconfig ? xstrdup(cl->kubeconfig) : env_kubeconfig_path(st, e->name);
	*context = xstrdup(cl->kubeconfig ? cl->context : NULL);
}

/* Where an installed cluster's kubeconfig is kept. */
char *env_kubeconfig_path(struct state *st, const char *env)
{
	return xasprintf("%s/kube/%s.kubeconfig", state_private_dir(st), env);
}

/* Write an installed cluster's kubeconfig file (0600) from the encrypted state, where the roles
 * stored it; 1 when there is none yet. */
int env_kubeconfig_write(struct state *st, const char *env, struct sbx_err *err)
{
	char *kc = NULL;
	if (state_secret_get(st, env, ENV_SECRET_KUBECONFIG, &kc, err) < 0)
		return -1;
	if (kc == NULL)
		return 1;
	char *dir = xasprintf("%s/kube", state_private_dir(st)), *path = env_kubeconfig_path(st, env);
	int rc = sbx_mkdir_p(dir, 0700, err);
	if (rc == 0)
		rc = sbx_write_file(path, kc, strlen(kc), 0600, err);
	OPENSSL_cleanse(kc, strlen(kc));
	free(kc);
	free(dir);
	free(path);
	return rc;
}

/* Fetch an installed cluster's kubeconfig from its first server; keep it encrypted in the state
 * and as a 0600 file. */
int env_kubeconfig_fetch(struct state *st, const char *env, const struct role_ctx *ctx, struct sbx_err *err)
{
	char *kc = NULL;
	if (role_k3s_kubeconfig(ctx, &kc, err) < 0)
		return -1;
	int rc = state_secret_put(st, env, ENV_SECRET_KUBECONFIG, kc, err);
	OPENSSL_cleanse(kc, strlen(kc));
	free(kc);
	return rc == 0 && env_kubeconfig_write(st, env, err) == 0 ? 0 : -1;
}

/* The namespace of a team: <env>-<team>. */
char *env_namespace(const char *env, const char *team)
{
	return xasprintf("%s-%s", env, team);
}

/* Connect to the cluster. */
static int cluster_connect(struct cluster *c, struct sbx_err *err)
{
	struct k8s_config *kc = NULL;
	if (!c->attached && access(c->kubeconfig, R_OK) != 0 && env_kubeconfig_write(c->st, c->row->name, err) < 0)
		return -1;
	int rc = k8s_config_load(c->kubeconfig, c->context, &kc, err);
	if (rc == 0)
		rc = k8s_open(kc, &c->k, err);
	if (rc < 0)
		sbx_err_prefix(err, "cluster of %s", c->row->name);
	if (rc < 0 && !c->attached)
		sbx_err_hint(err, "the kubeconfig of an installed cluster is fetched by `sandbox up %s`: run it again",
			c->row->name);
	k8s_config_free(kc);
	return rc;
}

/* Set the labels every object of the environment carries. */
static void cluster_labels(struct cluster *c)
{
	c->labels[c->nlabels++] = (struct k8s_label){"sandbox.dev/state", state_id(c->st)};
	c->labels[c->nlabels++] = (struct k8s_label){"sandbox.dev/env-id", c->row->id};
	c->labels[c->nlabels++] = (struct k8s_label){"sandbox.dev/env", c->row->name};
	if (c->row->protected)
		c->labels[c->nlabels++] = (struct k8s_label){"sandbox.dev/protect", "true"};
}

/* Free what a cluster session holds. */
static void cluster_clear(struct cluster *c)
{
	state_strv_free(c->keys, c->nkeys);
	state_strv_free(c->teams, c->nteams);
	k8s_close(c->k);
	free(c->kubeconfig);
	free(c->context);
	free(c->dir);
}

/* The environment's network blocks (egress the namespaces may use). */
static char **env_blocks(struct cluster *c, size_t *n)
{
	char **v = xcalloc(c->bp->nnetworks + 2, sizeof(char *));
	*n = 0;
	for (size_t i = 0; i < c->bp->nnetworks; i++) {
		struct sbx_err e = SBX_ERR_INIT;
		if (state_ipam_get(c->st, c->row->name, c->bp->networks[i].name, &v[*n], &e) == 0 && v[*n])
			(*n)++;
		sbx_err_clear(&e);
	}
	struct sbx_err e = SBX_ERR_INIT;
	if (state_ipam_get(c->st, c->row->name, ENV_VIP_NETWORK, &v[*n], &e) == 0 && v[*n])
		(*n)++;
	sbx_err_clear(&e);
	return v;
}

/* A one-value template variable. */
#define TV(name, value) {name, (const char *const[]){value}, 1}

/* The platform objects of one team namespace. */
static int platform_ns(struct cluster *c, struct k8s_manifest_set *set, const struct bp_namespace *t,
	char *const *blocks, size_t nblocks, struct sbx_err *err)
{
	char *ns = env_namespace(c->row->name, t->name), pods[16] = "";
	if (t->quota_pods)
		snprintf(pods, sizeof(pods), "%d", t->quota_pods);
	const struct env_tvar vars[] = {TV("NAMESPACE", ns), TV("TEAM", t->name), TV("ENV", c->row->name),
		TV("QUOTA_CPU", t->quota_cpu), TV("QUOTA_MEMORY", t->quota_memory), TV("QUOTA_PODS", pods),
		TV("LIMIT_CPU", t->limit_cpu), TV("LIMIT_MEMORY", t->limit_memory), TV("REQUEST_CPU", t->request_cpu),
		TV("REQUEST_MEMORY", t->request_memory), {"EGRESS_CIDR", (const char *const *)blocks, nblocks}};
	static const char *const files[] = {"namespace.yaml", "networkpolicy.yaml", "limitrange.yaml"};
	int rc = strlen(ns) > NS_NAME_MAX ? sbx_err_set(err, SBX_EXIT_USAGE, "namespace %s is longer than %d "
		"characters: shorten the environment or the team name", ns, NS_NAME_MAX) : 0;
	for (size_t i = 0; rc == 0 && i < SBX_NELEM(files); i++)
		rc = env_manifest_add(set, c->dir, files[i], vars, SBX_NELEM(vars), err);
	if (rc == 0 && (t->quota_cpu || t->quota_memory || t->quota_pods))
		rc = env_manifest_add(set, c->dir, "quota.yaml", vars, SBX_NELEM(vars), err);
	free(ns);
	return rc;
}

/* The role outputs, split into what a ConfigMap and what a Secret carries. */
static int env_values(struct cluster *c, json_t *plain, json_t *secret, struct sbx_err *err)
{
	struct env_rows rows = {0};
	if (env_rows_load(c->st, c->row->name, &rows, err) < 0)
		return -1;
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < rows.nrows; i++) {
		const struct state_res *r = &rows.rows[i];
		if (strcmp(r->type, ENV_ROW_OUTPUT) != 0 || r->spec == NULL || strcmp(r->name, "KUBECONFIG") == 0)
			continue; /* (a path on this host means nothing in the cluster) */
		char *v = env_output_resolve(c->st, c->row->name, r->spec, true, err);
		rc = v ? 0 : -1;
		if (v)
			json_object_set_new(strstr(r->spec, "${secret.") ? secret : plain, r->name, json_string(v));
		free(v);
	}
	env_rows_clear(&rows);
	return rc;
}

/* The environment's addresses in one namespace: a ConfigMap and a Secret named sandbox-env (its
 * values in data, base64, as the API stores them). */
static int env_objects(struct k8s_manifest_set *set, const char *ns, json_t *plain, json_t *secret,
	struct sbx_err *err)
{
	json_t *data = json_object(), *v;
	const char *key;
	json_object_foreach(secret, key, v) {
		char *b = sbx_base64(json_string_value(v), json_string_length(v));
		json_object_set_new(data, key, json_string(b));
		OPENSSL_cleanse(b, strlen(b));
		free(b);
	}
	json_t *cm = json_pack("{s:s, s:s, s:{s:s, s:s}}", "apiVersion", "v1", "kind", "ConfigMap", "metadata",
		"name", "sandbox-env", "namespace", ns);
	json_t *sec = json_pack("{s:s, s:s, s:{s:s, s:s}, s:s}", "apiVersion", "v1", "kind", "Secret", "metadata",
		"name", "sandbox-env", "namespace", ns, "type", "Opaque");
	/* no empty maps: the server drops them, and each apply would set them again */
	if (json_object_size(plain))
		json_object_set(cm, "data", plain);
	if (json_object_size(data))
		json_object_set(sec, "data", data);
	json_decref(data);
	char *t1 = json_dumps(cm, JSON_COMPACT), *t2 = json_dumps(sec, JSON_COMPACT);
	int rc = k8s_manifests_add_text(set, "sandbox-env", t1, strlen(t1), true, err);
	if (rc == 0)
		rc = k8s_manifests_add_text(set, "sandbox-env", t2, strlen(t2), true, err);
	OPENSSL_cleanse(t2, strlen(t2));
	free(t1);
	free(t2);
	json_decref(cm);
	json_decref(sec);
	return rc;
}

/* Every team namespace's platform objects and addresses. */
static int platform_set(struct cluster *c, struct k8s_manifest_set *set, struct sbx_err *err)
{
	size_t nblocks = 0;
	char **blocks = env_blocks(c, &nblocks);
	json_t *plain = json_object(), *secret = json_object();
	int rc = env_values(c, plain, secret, err);
	for (size_t i = 0; rc == 0 && i < c->bp->cluster.nnamespaces; i++) {
		const struct bp_namespace *t = &c->bp->cluster.namespaces[i];
		char *ns = env_namespace(c->row->name, t->name);
		rc = platform_ns(c, set, t, blocks, nblocks, err);
		if (rc == 0)
			rc = env_objects(set, ns, plain, secret, err);
		free(ns);
	}
	json_decref(plain);
	json_decref(secret);
	state_strv_free(blocks, nblocks);
	return rc;
}

/* Render a Helm chart with `helm template` into set. */
static int app_chart(struct cluster *c, const struct bp_app *app, const char *ns, struct k8s_manifest_set *set,
	struct sbx_err *err)
{
	char *out = NULL;
	char *argv[] = {"helm", "template", (char *)app->name, (char *)app->chart, "--namespace", (char *)ns,
		app->values ? "--values" : NULL, (char *)app->values, NULL};
	(void)c;
	if (sbx_run(argv, 300000, &out, err) < 0) {
		sbx_err_hint(err, "apps[%s] is a Helm chart: install helm on this host (it only renders the chart, "
			"`helm template`), or render it yourself and give the files as manifests", app->name);
		return -1;
	}
	int rc = k8s_manifests_add_text(set, app->chart, out, strlen(out), false, err);
	free(out);
	return rc;
}

/* Map a manifest's namespace: a team name becomes the team's namespace; on an attached cluster
 * anything else is refused (an environment writes only into its own namespaces). */
static int map_namespace(struct cluster *c, struct k8s_manifest *m, struct sbx_err *err)
{
	if (m->namespace == NULL)
		return 0;
	for (size_t i = 0; i < c->nteams; i++) {
		char *ns = env_namespace(c->row->name, c->teams[i]);
		bool team = strcmp(m->namespace, c->teams[i]) == 0 || strcmp(m->namespace, ns) == 0;
		if (team) {
			json_object_set_new(json_object_get(m->obj, "metadata"), "namespace", json_string(ns));
			m->namespace = json_string_value(json_object_get(json_object_get(m->obj, "metadata"), "namespace"));
		}
		free(ns);
		if (team)
			return 0;
	}
	if (!c->attached)
		return 0;
	return sbx_err_set(err, SBX_EXIT_USAGE, "%s:%d: %s %s names namespace %s, which is not one of this "
		"environment's (cluster.namespaces)", m->file, m->line, m->kind, m->name, m->namespace);
}

/* Load one app's objects, in its namespace. */
static int app_set(struct cluster *c, const struct bp_app *app, struct k8s_manifest_set **out, struct sbx_err *err)
{
	char *ns = app->namespace ? env_namespace(c->row->name, app->namespace) : NULL;
	struct k8s_manifest_set *set = NULL;
	int rc;
	if (app->chart) {
		set = xcalloc(1, sizeof(*set));
		rc = app_chart(c, app, ns ? ns : "default", set, err);
	} else {
		const char *paths[] = {app->manifests};
		rc = k8s_manifests_load(paths, 1, &set, err);
	}
	for (size_t i = 0; rc == 0 && set && i < set->n; i++)
		rc = map_namespace(c, &set->v[i], err);
	free(ns);
	if (rc < 0) {
		k8s_manifests_free(set);
		return -1;
	}
	*out = set;
	return 0;
}

/* The row key of a manifest applied with default namespace ns (a cluster-scoped kind: none). */
static char *manifest_key(struct cluster *c, const struct k8s_manifest_set *set, const struct k8s_manifest *m,
	const char *ns, bool *cluster_scoped, struct sbx_err *err)
{
	struct k8s_rtype t = {0};
	int crd = k8s_manifests_crd_scope(set, m->api_version, m->kind, NULL);
	bool namespaced = true;
	if (crd < 0 && k8s_disc_resolve(c->k, m->api_version, m->kind, &t, err) == 0) {
		namespaced = t.namespaced;
		k8s_rtype_clear(&t);
	} else if (crd >= 0) {
		namespaced = crd == 1;
	} else {
		sbx_err_clear(err); /* a kind of a CRD in the same set: applied after it, namespaced as declared */
	}
	*cluster_scoped = !namespaced;
	return res_k8s_key(m->api_version, m->kind, namespaced ? (m->namespace ? m->namespace : ns) : NULL, m->name);
}

/* Journal one object's row. */
static int journal(struct cluster *c, const char *key, const char *status, struct sbx_err *err)
{
	struct res r = {.type = RES_K8S, .name = (char *)key};
	if (res_k8s_parse(key, &r.u.k8s) < 0)
		return sbx_err_set(err, SBX_EXIT_FAILED, "bad cluster object key %s", key);
	char *spec = res_encode(&r);
	struct state_res row = {(char *)c->row->name, "k8s", (char *)key, NULL, spec, (char *)status, 0};
	int rc = state_res_put(c->st, &row, err);
	free(spec);
	r.name = NULL;
	res_clear(&r);
	return rc;
}

/* Report each object's outcome as it is applied. */
static void apply_progress(const struct k8s_apply_item *it, void *ud)
{
	struct cluster *c = ud;
	const struct k8s_manifest *m = it->src;
	ev_emit(c->ev, c->row->name, it->result == K8S_APPLY_FAILED || it->result == K8S_APPLY_CONFLICT ? "k8s.fail" :
		"k8s.apply", m->kind, m->name, NULL, "%s %s%s%s: %s", m->kind, it->namespace ? it->namespace : "",
		it->namespace ? "/" : "", m->name, k8s_result_name(it->result));
}

/* Journal every object of a set as pending; remember its key. */
static int journal_set(struct cluster *c, const struct k8s_manifest_set *set, const char *ns, char ***keys,
	struct sbx_err *err)
{
	*keys = xcalloc(set->n + 1, sizeof(char *));
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < set->n; i++) {
		bool cs = false;
		char *key = manifest_key(c, set, &set->v[i], ns, &cs, err);
		if (cs && c->attached && strncmp(set->v[i].name, c->row->name, strlen(c->row->name)) != 0)
			rc = sbx_err_set(err, SBX_EXIT_USAGE, "%s:%d: cluster-scoped %s %s: on a shared cluster its name must "
				"start with the environment's name (%s-...)", set->v[i].file, set->v[i].line, set->v[i].kind,
				set->v[i].name, c->row->name);
		if (rc == 0 && c->plan == NULL)
			rc = journal(c, key, STATE_RES_PENDING, err);
		(*keys)[i] = key;
		env_strv_add(&c->keys, &c->nkeys, xstrdup(key));
	}
	return rc;
}

/* A planned change's line. */
static void plan_add(struct env_cluster_plan *p, char *who, const char *action, char *detail)
{
	p->v = xrealloc(p->v, (p->n + 1) * sizeof(*p->v));
	p->v[p->n++] = (struct env_cluster_change){who, action, detail};
}

/* Whether the dry run creates this namespace (its objects cannot be dry-run before it exists). */
static bool plan_creates_ns(const struct env_cluster_plan *p, const char *ns)
{
	char *who = xasprintf("Namespace %s", ns);
	bool found = false;
	for (size_t i = 0; i < p->n && !found; i++)
		found = strcmp(p->v[i].action, "create") == 0 && strcmp(p->v[i].who, who) == 0;
	free(who);
	return found;
}

/* Note each object of a dry run's report in the plan. */
static void plan_report(struct cluster *c, const struct k8s_apply_report *rep)
{
	for (size_t i = 0; i < rep->n; i++) {
		const struct k8s_apply_item *it = &rep->v[i];
		char *who = xasprintf("%s %s%s%s", it->src->kind, it->namespace ? it->namespace : "",
			it->namespace ? "/" : "", it->src->name), *detail = NULL;
		const char *action = "unchanged";
		size_t len = 0;
		FILE *f;
		switch (it->result) {
		case K8S_APPLY_CREATED:
			action = "create";
			break;
		case K8S_APPLY_CONFIGURED:
			action = "change";
			if ((f = open_memstream(&detail, &len)) != NULL) {
				k8s_diff_print(&it->diff, f, "    ");
				fclose(f);
				while (len && detail[len - 1] == '\n')
					detail[--len] = '\0';
			}
			break;
		case K8S_APPLY_UNCHANGED:
			break;
		case K8S_APPLY_CONFLICT:
			action = "conflict";
			detail = xasprintf("    owned by %s: %s", it->nconflicts && it->conflicts[0].manager ?
				it->conflicts[0].manager : "another field manager", it->nconflicts && it->conflicts[0].field ?
				it->conflicts[0].field : "a field");
			break;
		default:
			/* in a namespace the same dry run creates: it would be created with it */
			action = it->namespace && plan_creates_ns(c->plan, it->namespace) ? "create" : "fail";
			if (strcmp(action, "fail") == 0)
				detail = xasprintf("    %s", it->error ? it->error : "failed");
			break;
		}
		c->plan->ncreate += strcmp(action, "create") == 0;
		c->plan->nchange += strcmp(action, "change") == 0;
		c->plan->nunchanged += strcmp(action, "unchanged") == 0;
		c->plan->nfail += strcmp(action, "fail") == 0 || strcmp(action, "conflict") == 0;
		plan_add(c->plan, who, action, detail);
	}
}

/* Journal, apply (default namespace ns) and journal again one set; in a dry run, only apply with
 * dryRun and note the outcome. */
static int apply_set(struct cluster *c, const struct k8s_manifest_set *set, const char *ns, struct sbx_err *err)
{
	struct k8s_apply_report *rep = NULL;
	char **keys = NULL;
	struct k8s_apply_opts o = {.field_manager = CLUSTER_FIELD_MANAGER, .namespace = ns, .labels = c->labels,
		.nlabels = c->nlabels, .progress = c->plan ? NULL : apply_progress, .ud = c, .dry_run = c->plan != NULL};
	int rc = journal_set(c, set, ns, &keys, err);
	if (rc == 0)
		rc = k8s_apply(c->k, set, &o, &rep, err);
	if (rc == 0 && rep && c->plan)
		plan_report(c, rep);
	for (size_t i = 0; rc == 0 && rep && !c->plan && i < rep->n; i++) {
		enum k8s_result r = rep->v[i].result;
		size_t k = (size_t)(rep->v[i].src - set->v);
		if (r == K8S_APPLY_CREATED || r == K8S_APPLY_CONFIGURED || r == K8S_APPLY_UNCHANGED)
			rc = journal(c, keys[k], STATE_RES_CREATED, err);
	}
	if (rc == 0 && rep && !c->plan)
		rc = k8s_apply_report_check(rep, err);
	k8s_apply_report_free(rep);
	state_strv_free(keys, set->n);
	return rc;
}

/* The order pruned objects go in: namespaced, other cluster-scoped, namespaces, CRDs. */
static int prune_rank(const struct res_k8s *o)
{
	if (strcmp(o->kind, "CustomResourceDefinition") == 0)
		return 3;
	if (strcmp(o->kind, "Namespace") == 0)
		return 2;
	return o->namespace ? 0 : 1;
}

/* Whether a key was applied this run. */
static bool applied_now(const struct cluster *c, const char *key)
{
	for (size_t i = 0; i < c->nkeys; i++)
		if (strcmp(c->keys[i], key) == 0)
			return true;
	return false;
}

/* Delete what an earlier run applied and this blueprint no longer declares. */
static int prune(struct cluster *c, struct sbx_err *err)
{
	struct env_rows rows = {0};
	int rc = env_rows_load(c->st, c->row->name, &rows, err);
	for (int rank = 0; rc == 0 && rank < 4; rank++)
		for (size_t i = 0; rc == 0 && i < rows.nrec; i++) {
			const struct res *r = &rows.recs[i].res;
			if (r->type != RES_K8S || applied_now(c, r->name) || prune_rank(&r->u.k8s) != rank)
				continue;
			const struct res_k8s *o = &r->u.k8s;
			struct k8s_ref ref = {o->api_version, o->kind, o->namespace, o->obj_name, NULL, NULL, NULL};
			if (c->plan) {
				plan_add(c->plan, res_display(RES_K8S, r->name), "prune", NULL);
				c->plan->nprune++;
				continue;
			}
			ev_emit(c->ev, c->row->name, "k8s.prune", o->kind, o->obj_name, NULL, "%s %s%s%s: no longer declared: "
				"deleting it", o->kind, o->namespace ? o->namespace : "", o->namespace ? "/" : "", o->obj_name);
			rc = k8s_delete(c->k, &ref, K8S_PROPAGATE_BACKGROUND, err);
			if (rc == 0)
				rc = state_res_delete(c->st, c->row->name, "k8s", r->name, err);
		}
	env_rows_clear(&rows);
	return rc;
}

/* An installed cluster: wait until every k3s node is Ready (the API says which is not, and why). */
static int wait_nodes(struct cluster *c, struct sbx_err *err)
{
	size_t want = 0;
	for (size_t i = 0; i < c->bp->nnodes; i++)
		if (bp_node_has_role(&c->bp->nodes[i], "k3s-server") || bp_node_has_role(&c->bp->nodes[i], "k3s-agent"))
			want += (size_t)c->bp->nodes[i].count;
	if (c->bp->cluster.kubeconfig || want == 0)
		return 0;
	struct k8s_cond ready = {"Ready", "True", want};
	struct k8s_wait_spec w = {.api_version = "v1", .kind = "Node", .pred = k8s_pred_condition, .ud = &ready,
		.timeout_ms = c->cfg->ready_timeout * 1000};
	ev_emit(c->ev, c->row->name, "k8s.nodes", NULL, NULL, NULL, "waiting for %zu Kubernetes node(s) to be Ready", want);
	return k8s_wait(c->k, &w, err);
}

/* The output key of a team's namespace: K8S_NAMESPACE_<TEAM>; caller frees. */
static char *ns_output_key(const char *team)
{
	char *key = xasprintf("K8S_NAMESPACE_%s", team);
	for (char *p = key; *p; p++)
		*p = *p == '-' ? '_' : (char)toupper((unsigned char)*p);
	return key;
}

/* Drop the namespace outputs of teams the blueprint no longer has. */
static int drop_stale_outputs(struct cluster *c, struct sbx_err *err)
{
	struct state_res *rows = NULL;
	size_t n = 0;
	int rc = state_res_list(c->st, c->row->name, &rows, &n, err);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		if (strcmp(rows[i].type, ENV_ROW_OUTPUT) != 0 || strncmp(rows[i].name, "K8S_NAMESPACE_", 14) != 0)
			continue;
		bool kept = false;
		for (size_t k = 0; k < c->nteams && !kept; k++) {
			char *key = ns_output_key(c->teams[k]);
			kept = strcmp(key, rows[i].name) == 0;
			free(key);
		}
		if (!kept)
			rc = state_res_delete(c->st, c->row->name, ENV_ROW_OUTPUT, rows[i].name, err);
	}
	state_res_list_free(rows, n);
	return rc;
}

/* Record KUBECONFIG and each team's namespace as outputs. */
static int cluster_outputs(struct cluster *c, struct sbx_err *err)
{
	struct state_res row = {(char *)c->row->name, ENV_ROW_OUTPUT, "KUBECONFIG", NULL, c->kubeconfig,
		STATE_RES_CREATED, 0};
	int rc = drop_stale_outputs(c, err);
	if (rc == 0)
		rc = state_res_put(c->st, &row, err);
	for (size_t i = 0; rc == 0 && i < c->nteams; i++) {
		char *key = ns_output_key(c->teams[i]), *ns = env_namespace(c->row->name, c->teams[i]);
		struct state_res r = {(char *)c->row->name, ENV_ROW_OUTPUT, key, NULL, ns, STATE_RES_CREATED, 0};
		rc = state_res_put(c->st, &r, err);
		free(key);
		free(ns);
	}
	return rc;
}

/* Apply the platform, then every app. */
static int cluster_apply(struct cluster *c, struct sbx_err *err)
{
	struct k8s_manifest_set *set = xcalloc(1, sizeof(*set));
	int rc = platform_set(c, set, err);
	if (rc == 0 && set->n)
		rc = apply_set(c, set, NULL, err);
	k8s_manifests_free(set);
	for (size_t i = 0; rc == 0 && i < c->bp->napps; i++) {
		const struct bp_app *app = &c->bp->apps[i];
		char *ns = app->namespace ? env_namespace(c->row->name, app->namespace) : NULL;
		set = NULL;
		ev_emit(c->ev, c->row->name, "k8s.app", "app", app->name, NULL, "applying app %s", app->name);
		rc = app_set(c, app, &set, err);
		if (rc == 0)
			rc = apply_set(c, set, ns, err);
		if (rc < 0)
			sbx_err_prefix(err, "app %s", app->name);
		k8s_manifests_free(set);
		free(ns);
	}
	return rc;
}

/* The cluster phase of up. */
int env_cluster(const struct env_config *cfg, struct state *st, const struct bp_blueprint *bp,
	const struct state_env *row, struct ev_sink *ev, struct sbx_err *err)
{
	if (!bp->cluster.present)
		return 0;
	struct cluster c = {.cfg = cfg, .st = st, .bp = bp, .row = row, .ev = ev, .attached = bp->cluster.kubeconfig != NULL,
		.dir = sbx_cluster_dir(cfg->cluster_dir, "manifests/namespace.yaml")};
	env_cluster_access(st, row, &bp->cluster, &c.kubeconfig, &c.context);
	for (size_t i = 0; i < bp->cluster.nnamespaces; i++)
		env_strv_add(&c.teams, &c.nteams, xstrdup(bp->cluster.namespaces[i].name));
	cluster_labels(&c);
	int rc = c.dir ? 0 : sbx_err_set(err, SBX_EXIT_FAILED, "cannot find the platform manifests (cluster/manifests)");
	if (rc < 0)
		sbx_err_hint(err, "set SANDBOX_CLUSTER_DIR to the sandbox source's cluster/ directory");
	if (rc == 0)
		rc = cluster_connect(&c, err);
	ev_emit(ev, row->name, "k8s.start", NULL, NULL, NULL, "applying the platform and %zu app(s) to the cluster",
		bp->napps);
	if (rc == 0)
		rc = wait_nodes(&c, err);
	if (rc == 0) /* first: the sandbox-env ConfigMap carries them */
		rc = cluster_outputs(&c, err);
	if (rc == 0)
		rc = cluster_apply(&c, err);
	if (rc == 0)
		rc = prune(&c, err);
	ev_emit(ev, row->name, rc == 0 ? "k8s.done" : "k8s.fail", NULL, NULL, NULL, "cluster %s%s",
		rc == 0 ? "ready" : "failed: ", rc == 0 ? "" : sbx_err_first(err));
	cluster_clear(&c);
	return rc;
}

/* The cluster of a recorded environment, for the CLI. */
int env_cluster_info(struct state *st, const char *env, struct env_cluster_info *out, struct sbx_err *err)
{
	struct state_env *e = NULL;
	bool machines = false;
	*out = (struct env_cluster_info){0};
	if (env_get(st, env, &e, err) < 0)
		return -1;
	enum env_cluster_kind kind = env_cluster_of_row(e, &out->kubeconfig, &out->context, &machines);
	out->installed = kind == ENV_CLUSTER_INSTALLED;
	if (kind == ENV_CLUSTER_INSTALLED) {
		out->kubeconfig = env_kubeconfig_path(st, env);
		if (access(out->kubeconfig, R_OK) != 0 && env_kubeconfig_write(st, env, err) < 0) {
			env_cluster_info_clear(out);
			state_env_free(e);
			return -1;
		}
	}
	json_t *j = json_loads(e->bp_json ? e->bp_json : "{}", 0, NULL), *ns;
	size_t i;
	json_array_foreach(json_object_get(json_object_get(j, "cluster"), "namespaces"), i, ns)
		env_strv_add(&out->namespaces, &out->nnamespaces,
			env_namespace(env, json_string_value(json_object_get(ns, "name"))));
	json_decref(j);
	state_env_free(e);
	if (kind != ENV_CLUSTER_NONE)
		return 0;
	env_cluster_info_clear(out);
	sbx_err_set(err, SBX_EXIT_USAGE, "environment %s has no Kubernetes cluster", env);
	sbx_err_hint(err, "add a cluster: section to its blueprint (see blueprints/README.md) and run `sandbox up` again");
	return -1;
}

/* Free a cluster description. */
void env_cluster_info_clear(struct env_cluster_info *ci)
{
	free(ci->kubeconfig);
	free(ci->context);
	state_strv_free(ci->namespaces, ci->nnamespaces);
	*ci = (struct env_cluster_info){0};
}

/* Apply manifests to an environment's cluster, with its labels and within its namespaces. */
int env_apply(const struct env_config *cfg, struct state *st, const struct env_apply_opts *o,
	struct env_applied *out, struct sbx_err *err)
{
	struct state_lock *lk = NULL;
	struct state_env *e = NULL;
	struct env_cluster_info ci = {0};
	struct cluster c = {.cfg = cfg, .st = st};
	char *ns = NULL;
	int rc = -1;
	*out = (struct env_applied){0};
	if (state_env_lock(st, o->env, o->wait_lock, &lk, err) < 0 || env_cluster_info(st, o->env, &ci, err) < 0 ||
		env_get(st, o->env, &e, err) < 0)
		goto out;
	json_t *j = json_loads(e->bp_json ? e->bp_json : "{}", 0, NULL), *t;
	size_t i;
	json_array_foreach(json_object_get(json_object_get(j, "cluster"), "namespaces"), i, t)
		env_strv_add(&c.teams, &c.nteams, xstrdup(json_string_value(json_object_get(t, "name"))));
	json_decref(j);
	c.row = e;
	c.attached = !ci.installed;
	c.kubeconfig = xstrdup(ci.kubeconfig);
	c.context = xstrdup(ci.context);
	cluster_labels(&c);
	ns = o->team ? env_namespace(o->env, o->team) : (c.nteams ? env_namespace(o->env, c.teams[0]) : NULL);
	bool known = o->team == NULL;
	for (size_t k = 0; k < c.nteams && !known; k++)
		known = strcmp(c.teams[k], o->team) == 0;
	if (!known) {
		sbx_err_set(err, SBX_EXIT_USAGE, "%s is not a namespace of %s", o->team, o->env);
		sbx_err_hint(err, "name one of cluster.namespaces in its blueprint (a team name)");
		goto out;
	}
	if (k8s_manifests_load(o->files, o->nfiles, &out->set, err) < 0 || cluster_connect(&c, err) < 0)
		goto out;
	for (size_t k = 0; k < out->set->n; k++) {
		bool cs = false;
		char *key = NULL;
		if (map_namespace(&c, &out->set->v[k], err) < 0 || (key = manifest_key(&c, out->set, &out->set->v[k], ns,
			&cs, err)) == NULL)
			goto out;
		free(key);
		if (cs && c.attached && strncmp(out->set->v[k].name, o->env, strlen(o->env)) != 0) {
			sbx_err_set(err, SBX_EXIT_USAGE, "%s:%d: cluster-scoped %s %s: on a shared cluster its name must start "
				"with the environment's name (%s-...)", out->set->v[k].file, out->set->v[k].line,
				out->set->v[k].kind, out->set->v[k].name, o->env);
			goto out;
		}
	}
	struct k8s_apply_opts ao = {.field_manager = CLUSTER_FIELD_MANAGER, .force = o->force, .dry_run = o->dry_run,
		.namespace = ns, .labels = c.labels, .nlabels = c.nlabels, .timeout_ms = o->timeout_ms,
		.progress = o->progress, .ud = o->ud};
	rc = k8s_apply(c.k, out->set, &ao, &out->rep, err);
out:
	if (rc < 0)
		env_applied_clear(out);
	free(ns);
	cluster_clear(&c);
	env_cluster_info_clear(&ci);
	state_env_free(e);
	state_env_unlock(lk);
	return rc;
}

/* Free what env_apply returned. */
void env_applied_clear(struct env_applied *a)
{
	k8s_apply_report_free(a->rep);
	k8s_manifests_free(a->set);
	*a = (struct env_applied){0};
}

/* What the cluster phase of up would do: a server-side dry run of the same objects. */
int env_cluster_plan(const struct env_config *cfg, struct state *st, const struct bp_blueprint *bp, const char *env,
	const struct state_env *row, struct env_cluster_plan *out, struct sbx_err *err)
{
	*out = (struct env_cluster_plan){.applies = bp->cluster.present};
	if (!bp->cluster.present)
		return 0;
	struct state_env planned = {.name = (char *)env, .id = "0000000000000000"};
	const struct state_env *r = row ? row : &planned;
	struct cluster c = {.cfg = cfg, .st = st, .bp = bp, .row = r, .attached = bp->cluster.kubeconfig != NULL,
		.dir = sbx_cluster_dir(cfg->cluster_dir, "manifests/namespace.yaml"), .plan = out};
	env_cluster_access(st, r, &bp->cluster, &c.kubeconfig, &c.context);
	if (!c.attached && access(c.kubeconfig, R_OK) != 0) {
		char *kc = NULL;
		struct sbx_err e = SBX_ERR_INIT;
		if (state_secret_get(st, env, ENV_SECRET_KUBECONFIG, &kc, &e) < 0 || kc == NULL) {
			out->why = xstrdup("the cluster is not installed yet (up installs it, then applies every object)");
			sbx_err_clear(&e);
			free(kc);
			cluster_clear(&c);
			return 0;
		}
		OPENSSL_cleanse(kc, strlen(kc));
		free(kc);
	}
	for (size_t i = 0; i < bp->cluster.nnamespaces; i++)
		env_strv_add(&c.teams, &c.nteams, xstrdup(bp->cluster.namespaces[i].name));
	cluster_labels(&c);
	int rc = c.dir ? 0 : sbx_err_set(err, SBX_EXIT_FAILED, "cannot find the platform manifests (cluster/manifests)");
	if (rc == 0)
		rc = cluster_connect(&c, err);
	if (rc == 0)
		rc = cluster_apply(&c, err);
	if (rc == 0 && row)
		rc = prune(&c, err);
	out->checked = rc == 0;
	cluster_clear(&c);
	return rc;
}

/* Free a cluster plan. */
void env_cluster_plan_clear(struct env_cluster_plan *p)
{
	for (size_t i = 0; i < p->n; i++) {
		free(p->v[i].who);
		free(p->v[i].detail);
	}
	free(p->v);
	free(p->why);
	*p = (struct env_cluster_plan){0};
}
