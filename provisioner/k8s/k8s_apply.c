/* k8s_apply — server-side apply in rank order, in parallel within a rank, with CRD waits. */
#include "k8s_apply.h"
#include "k8s_disc.h"
#include "k8s_http.h"
#include "k8s_int.h"
#include "k8s_obj.h"
#include "k8s_watch.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define APPLY_CRD_TIMEOUT_MS 60000
#define APPLY_PARALLEL 4
#define APPLY_PARALLEL_MAX 32

/* One object while it is applied. */
struct job {
	struct k8s_apply_item *it;
	struct k8s_rtype type;      /* resolved; resource NULL while its CRD is pending */
	bool pending;               /* its kind comes with a CRD of this set */
	size_t crd;                 /* that CRD's index in the set */
	enum k8s_rank rank;
};

/* What an apply works with. */
struct run {
	struct k8s *k;
	const struct k8s_manifest_set *set;
	const struct k8s_apply_opts *o;
	struct job *jobs;           /* in set order */
	size_t *order;
	pthread_mutex_t mu;
	size_t next, end;           /* the batch being applied: order[next..end) */
};

/* The name of a result. */
const char *k8s_result_name(enum k8s_result r)
{
	static const char *const names[] = {"created", "configured", "unchanged", "conflict", "failed"};
	return r < K8S_APPLY_N ? names[r] : "?";
}

/* Free conflicts. */
void k8s_conflicts_free(struct k8s_conflict *c, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(c[i].field);
		free(c[i].manager);
		free(c[i].message);
	}
	free(c);
}

/* The conflicts of a 409 Status. */
struct k8s_conflict *k8s_conflicts_from_status(const struct k8s_status *st, size_t *n)
{
	struct k8s_conflict *c = xcalloc(st->ncauses + 1, sizeof(*c));
	size_t m = 0;
	for (size_t i = 0; i < st->ncauses; i++) {
		const struct k8s_cause *k = &st->causes[i];
		if (!sbx_streq(k->type, "FieldManagerConflict"))
			continue;
		c[m++] = (struct k8s_conflict){xstrdup(k->field), k8s_cause_manager(k->message), xstrdup(k->message)};
	}
	*n = m;
	return c;
}

/* The body apply sends. */
json_t *k8s_apply_body(const struct k8s_manifest *m, const char *ns, const struct k8s_label *labels,
	size_t nlabels)
{
	json_t *body = json_deep_copy(m->obj);
	json_t *md = json_object_get(body, "metadata");
	if (ns)
		json_object_set_new(md, "namespace", json_string(ns));
	else
		json_object_del(md, "namespace");
	if (nlabels == 0)
		return body;
	json_t *l = json_object_get(md, "labels");
	if (!json_is_object(l)) {
		l = json_object();
		json_object_set_new(md, "labels", l);
	}
	for (size_t i = 0; i < nlabels; i++)
		json_object_set_new(l, labels[i].key, json_string(labels[i].value));
	return body;
}

/* Mark an item failed with err's first message (err is cleared). */
static void item_fail(struct k8s_apply_item *it, struct sbx_err *err)
{
	free(it->error);
	it->error = xstrdup(sbx_err_isset(err) ? sbx_err_first(err) : "failed");
	it->result = K8S_APPLY_FAILED;
	sbx_err_clear(err);
}

/* The resourceVersion of an object, or "". */
static const char *obj_rv(const json_t *o)
{
	const char *rv = json_string_value(json_object_get(json_object_get(o, "metadata"), "resourceVersion"));
	return rv ? rv : "";
}

/* Decide the result of a successful apply. */
static void item_result(struct run *r, struct k8s_apply_item *it, const json_t *live, const json_t *after, long code)
{
	if (r->o->dry_run) {
		k8s_diff_objects(live, after, &it->diff);
		it->result = live == NULL ? K8S_APPLY_CREATED : it->diff.n ? K8S_APPLY_CONFIGURED : K8S_APPLY_UNCHANGED;
	} else if (live == NULL || code == 201) {
		it->result = K8S_APPLY_CREATED;
	} else {
		it->result = strcmp(obj_rv(live), obj_rv(after)) == 0 ? K8S_APPLY_UNCHANGED : K8S_APPLY_CONFIGURED;
	}
}

/* The PATCH of one object; its Status on failure. */
static int apply_patch(struct run *r, const char *path, const json_t *body, json_t **after, long *code,
	struct k8s_status *st, struct sbx_err *err)
{
	const char *fm = r->o->field_manager ? r->o->field_manager : "sandbox";
	char *efm = k8s_escape(fm);
	char *p = xasprintf("%s?fieldManager=%s%s%s", path, efm, r->o->force ? "&force=true" : "",
		r->o->dry_run ? "&dryRun=All" : "");
	struct k8s_req req = {.method = "PATCH", .path = p, .ctype = "application/apply-patch+yaml", .body = body};
	struct k8s_resp resp;
	int rc = k8s_http(r->k, &req, &resp, err);
	if (rc == 0 && resp.code / 100 == 2) {
		*after = json_incref(resp.body);
		*code = resp.code;
	} else if (rc == 0) {
		k8s_status_parse(resp.body, resp.code, st);
		rc = k8s_req_err(&req, st, err);
	}
	k8s_resp_clear(&resp);
	free(p);
	free(efm);
	return rc;
}

/* Apply one object: read it, apply it, judge the result. */
static void apply_one(struct run *r, struct job *j)
{
	struct k8s_apply_item *it = j->it;
	const struct k8s_manifest *m = it->src;
	struct sbx_err err = SBX_ERR_INIT;
	struct k8s_status st = {0};
	json_t *live = NULL, *after = NULL;
	long code = 0;
	json_t *body = k8s_apply_body(m, it->namespace, r->o->labels, r->o->nlabels);
	char *path = k8s_obj_path(&j->type, it->namespace, m->name);
	struct k8s_req get = {.method = "GET", .path = path};
	int rc = k8s_call(r->k, &get, &live, &st, &err);
	if (rc < 0 && st.code == 404)
		rc = 0;
	else if (rc < 0 && st.code)
		k8s_req_err(&get, &st, &err);
	if (rc == 0 && (rc = apply_patch(r, path, body, &after, &code, &st, &err)) == 0)
		item_result(r, it, live, after, code);
	if (rc < 0 && st.code == 409)
		it->conflicts = k8s_conflicts_from_status(&st, &it->nconflicts);
	if (rc < 0 && it->nconflicts)
		it->result = K8S_APPLY_CONFLICT;
	else if (rc < 0)
		item_fail(it, &err);
	sbx_err_clear(&err);
	k8s_status_clear(&st);
	json_decref(live);
	json_decref(after);
	json_decref(body);
	free(path);
}

/* A worker: apply the batch's objects until none is left. */
static void *worker(void *arg)
{
	struct run *r = arg;
	for (;;) {
		pthread_mutex_lock(&r->mu);
		size_t i = r->next < r->end ? r->order[r->next++] : SIZE_MAX;
		pthread_mutex_unlock(&r->mu);
		if (i == SIZE_MAX)
			return NULL;
		if (r->jobs[i].it->result != K8S_APPLY_FAILED)
			apply_one(r, &r->jobs[i]);
	}
}

/* Apply order[from..to) with up to o->parallel threads (this one included). */
static void apply_batch(struct run *r, size_t from, size_t to)
{
	int want = r->o->parallel > 0 ? r->o->parallel : APPLY_PARALLEL;
	size_t nthreads = (size_t)(want < APPLY_PARALLEL_MAX ? want : APPLY_PARALLEL_MAX);
	pthread_t th[APPLY_PARALLEL_MAX] = {0};
	size_t started = 0;
	r->next = from;
	r->end = to;
	if (nthreads > to - from)
		nthreads = to - from;
	for (size_t i = 1; i < nthreads; i++)
		if (pthread_create(&th[started], NULL, worker, r) == 0)
			started++;
	worker(r);
	for (size_t i = 0; i < started; i++)
		pthread_join(th[i], NULL);
}

/* The namespace an object goes to: its own, the option's, or the context's; NULL if cluster-scoped. */
static char *job_namespace(struct run *r, const struct job *j)
{
	if (j->rank == K8S_RANK_CRD || j->rank == K8S_RANK_NAMESPACE || j->rank == K8S_RANK_CLUSTER)
		return NULL;
	const char *ns = j->it->src->namespace ? j->it->src->namespace : r->o->namespace;
	return xstrdup(ns ? ns : k8s_namespace(r->k));
}

/* Resolve every object's type (one discovery refresh at most); find the ones waiting for a CRD. */
static void resolve_all(struct run *r)
{
	bool refreshed = false;
	for (size_t i = 0; i < r->set->n; i++) {
		struct job *j = &r->jobs[i];
		const struct k8s_manifest *m = j->it->src;
		int scope = k8s_manifests_crd_scope(r->set, m->api_version, m->kind, &j->crd);
		struct sbx_err err = SBX_ERR_INIT;
		int found = k8s_disc_find(r->k->disc, m->api_version, m->kind, &j->type);
		if (found < 0 && scope < 0 && !refreshed) {
			refreshed = true;
			if (k8s_disc_refresh(r->k, &err) < 0)
				sbx_err_clear(&err);
			found = k8s_disc_find(r->k->disc, m->api_version, m->kind, &j->type);
		}
		j->pending = found < 0 && scope >= 0;
		j->rank = k8s_manifest_rank(m, found == 0 ? j->type.namespaced : scope != 0);
		if (found < 0 && !j->pending) {
			sbx_err_set(&err, SBX_EXIT_FAILED, "the server has no resource type for kind %s in %s "
				"(and no CustomResourceDefinition of these manifests defines it)", m->kind, m->api_version);
			item_fail(j->it, &err);
		}
		j->it->namespace = job_namespace(r, j);
	}
}

/* Wait for the CRDs of order[from..to) to be Established, then refresh discovery. */
static void crds_wait(struct run *r, size_t from, size_t to)
{
	int64_t t = r->o->timeout_ms > 0 ? r->o->timeout_ms : APPLY_CRD_TIMEOUT_MS;
	struct k8s_cond est = {"Established", "True", 1};
	for (size_t i = from; i < to; i++) {
		struct job *j = &r->jobs[r->order[i]];
		if (j->it->result == K8S_APPLY_FAILED || j->it->result == K8S_APPLY_CONFLICT)
			continue;
		struct k8s_wait_spec w = {.api_version = "apiextensions.k8s.io/v1", .kind = "CustomResourceDefinition",
			.name = j->it->src->name, .pred = k8s_pred_condition, .ud = &est, .timeout_ms = t};
		struct sbx_err err = SBX_ERR_INIT;
		if (k8s_wait(r->k, &w, &err) < 0)
			item_fail(j->it, &err);
	}
	struct sbx_err err = SBX_ERR_INIT;
	if (k8s_disc_refresh(r->k, &err) < 0)
		sbx_err_clear(&err);
}

/* Resolve an object whose CRD this apply created: discovery may lag behind Established a little. */
static void resolve_pending(struct run *r, struct job *j)
{
	const struct k8s_manifest *m = j->it->src;
	const struct k8s_apply_item *crd = NULL;
	struct sbx_err err = SBX_ERR_INIT;
	for (size_t i = 0; i < r->set->n; i++)
		if (r->jobs[i].it->src == &r->set->v[j->crd])
			crd = r->jobs[i].it;
	if (r->o->dry_run || crd == NULL || crd->result == K8S_APPLY_FAILED || crd->result == K8S_APPLY_CONFLICT) {
		sbx_err_set(&err, SBX_EXIT_FAILED, "its CustomResourceDefinition %s is not on the server%s",
			r->set->v[j->crd].name, r->o->dry_run ? " (a dry run does not create it)" : "");
		item_fail(j->it, &err);
		return;
	}
	struct sbx_backoff b;
	sbx_backoff_init(&b, r->o->timeout_ms > 0 ? r->o->timeout_ms : APPLY_CRD_TIMEOUT_MS, 100, 1000);
	while (k8s_disc_find(r->k->disc, m->api_version, m->kind, &j->type) < 0) {
		if (sbx_backoff_wait(&b) < 0 || k8s_disc_refresh(r->k, &err) < 0) {
			sbx_err_set(&err, SBX_EXIT_FAILED, "discovery does not serve kind %s in %s", m->kind, m->api_version);
			item_fail(j->it, &err);
			return;
		}
	}
	j->pending = false;
}

/* Apply one rank: resolve what waited for a CRD, send, wait for CRDs, report progress. */
static void apply_rank(struct run *r, size_t from, size_t to)
{
	for (size_t i = from; i < to; i++) {
		struct job *j = &r->jobs[r->order[i]];
		if (j->pending && j->it->result != K8S_APPLY_FAILED)
			resolve_pending(r, j);
	}
	apply_batch(r, from, to);
	if (from < to && r->jobs[r->order[from]].rank == K8S_RANK_CRD && !r->o->dry_run)
		crds_wait(r, from, to);
	for (size_t i = from; i < to && r->o->progress; i++)
		r->o->progress(r->jobs[r->order[i]].it, r->o->ud);
}

/* Build the report from the jobs, in apply order. */
static struct k8s_apply_report *report_make(struct run *r)
{
	struct k8s_apply_report *rep = xcalloc(1, sizeof(*rep));
	rep->v = xcalloc(r->set->n + 1, sizeof(*rep->v));
	rep->n = r->set->n;
	rep->dry_run = r->o->dry_run;
	for (size_t i = 0; i < rep->n; i++) {
		struct job *j = &r->jobs[r->order[i]];
		rep->v[i] = *j->it;
		rep->count[j->it->result]++;
	}
	return rep;
}

/* Apply a manifest set. */
int k8s_apply(struct k8s *k, const struct k8s_manifest_set *set, const struct k8s_apply_opts *o,
	struct k8s_apply_report **out, struct sbx_err *err)
{
	if (k8s_disc_count(k->disc) == 0 && k8s_disc_refresh(k, err) < 0)
		return -1;
	struct run r = {.k = k, .set = set, .o = o, .jobs = xcalloc(set->n + 1, sizeof(*r.jobs)),
		.order = xcalloc(set->n + 1, sizeof(*r.order))};
	struct k8s_apply_item *items = xcalloc(set->n + 1, sizeof(*items));
	enum k8s_rank *ranks = xcalloc(set->n + 1, sizeof(*ranks));
	pthread_mutex_init(&r.mu, NULL);
	for (size_t i = 0; i < set->n; i++) {
		items[i].src = &set->v[i];
		r.jobs[i].it = &items[i];
	}
	resolve_all(&r);
	for (size_t i = 0; i < set->n; i++)
		ranks[i] = r.jobs[i].rank;
	k8s_order(ranks, set->n, r.order);
	for (size_t from = 0, to; from < set->n; from = to) {
		for (to = from; to < set->n && r.jobs[r.order[to]].rank == r.jobs[r.order[from]].rank; to++)
			;
		apply_rank(&r, from, to);
	}
	*out = report_make(&r);
	for (size_t i = 0; i < set->n; i++)
		k8s_rtype_clear(&r.jobs[i].type);
	pthread_mutex_destroy(&r.mu);
	free(ranks);
	free(items);
	free(r.order);
	free(r.jobs);
	return 0;
}

/* Turn a report into an error. */
int k8s_apply_report_check(const struct k8s_apply_report *r, struct sbx_err *err)
{
	if (r->count[K8S_APPLY_FAILED] == 0 && r->count[K8S_APPLY_CONFLICT] == 0)
		return 0;
	int code = r->count[K8S_APPLY_FAILED] ? SBX_EXIT_FAILED : SBX_EXIT_REFUSED;
	for (size_t i = 0; i < r->n; i++) {
		const struct k8s_apply_item *it = &r->v[i];
		const struct k8s_manifest *m = it->src;
		char *who = xasprintf("%s %s%s%s", m->kind, it->namespace ? it->namespace : "", it->namespace ? "/" : "",
			m->name);
		if (it->result == K8S_APPLY_FAILED)
			sbx_err_set(err, code, "%s:%d: %s: %s", m->file, m->line, who, it->error);
		for (size_t c = 0; it->result == K8S_APPLY_CONFLICT && c < it->nconflicts; c++)
			sbx_err_set(err, code, "%s:%d: %s: conflict: %s is owned by %s%s%s", m->file, m->line, who,
				it->conflicts[c].field ? it->conflicts[c].field : "a field",
				it->conflicts[c].manager ? "\"" : "another manager", it->conflicts[c].manager ?
				it->conflicts[c].manager : "", it->conflicts[c].manager ? "\"" : "");
		free(who);
	}
	if (code == SBX_EXIT_REFUSED)
		sbx_err_hint(err, "another field manager owns these fields; --force-conflicts takes them over");
	return -1;
}

/* Free a report. */
void k8s_apply_report_free(struct k8s_apply_report *r)
{
	if (r == NULL)
		return;
	for (size_t i = 0; i < r->n; i++) {
		free(r->v[i].namespace);
		free(r->v[i].error);
		k8s_conflicts_free(r->v[i].conflicts, r->v[i].nconflicts);
		k8s_diff_clear(&r->v[i].diff);
	}
	free(r->v);
	free(r);
}
