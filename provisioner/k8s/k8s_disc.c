/* k8s_disc — discovery documents (aggregated and legacy) into a cache of resource types. */
#include "k8s_disc.h"
#include "k8s_http.h"
#include "k8s_int.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define DISC_ACCEPT "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList," \
	"application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json"

struct k8s_disc {
	pthread_mutex_t mu;
	struct k8s_rtype *v;
	size_t n, cap;
	bool loaded;
};

/* A new, empty cache. */
struct k8s_disc *k8s_disc_new(void)
{
	struct k8s_disc *d = xcalloc(1, sizeof(*d));
	pthread_mutex_init(&d->mu, NULL);
	return d;
}

/* Free a type's strings. */
void k8s_rtype_clear(struct k8s_rtype *t)
{
	free(t->group);
	free(t->version);
	free(t->kind);
	free(t->resource);
	*t = (struct k8s_rtype){0};
}

/* Free an array of types. */
void k8s_rtypes_free(struct k8s_rtype *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		k8s_rtype_clear(&v[i]);
	free(v);
}

/* Drop every entry. */
static void disc_empty(struct k8s_disc *d)
{
	k8s_rtypes_free(d->v, d->n);
	d->v = NULL;
	d->n = d->cap = 0;
	d->loaded = false;
}

/* Free the cache. */
void k8s_disc_free(struct k8s_disc *d)
{
	if (d == NULL)
		return;
	disc_empty(d);
	pthread_mutex_destroy(&d->mu);
	free(d);
}

/* A copy of a type. */
static struct k8s_rtype rtype_dup(const struct k8s_rtype *t)
{
	return (struct k8s_rtype){xstrdup(t->group), xstrdup(t->version), xstrdup(t->kind),
		xstrdup(t->resource), t->namespaced, t->verbs, t->preferred};
}

/* The verb bits of a JSON list of verbs. */
static unsigned verb_bits(const json_t *verbs)
{
	static const char *const names[] = {"get", "list", "watch", "create", "update", "patch", "delete",
		"deletecollection"};
	unsigned bits = 0;
	size_t i;
	json_t *v;
	json_array_foreach(verbs, i, v) for (size_t b = 0; b < SBX_NELEM(names); b++)
		if (sbx_streq(json_string_value(v), names[b]))
			bits |= 1u << b;
	return bits;
}

/* Add a type unless the same group/version/resource is there. Takes a copy of t's strings. */
static void disc_add(struct k8s_disc *d, const struct k8s_rtype *t)
{
	for (size_t i = 0; i < d->n; i++)
		if (strcmp(d->v[i].group, t->group) == 0 && strcmp(d->v[i].version, t->version) == 0 &&
			strcmp(d->v[i].resource, t->resource) == 0)
			return;
	xgrow(&d->v, &d->cap, d->n + 1, sizeof(*d->v));
	d->v[d->n++] = rtype_dup(t);
}

/* Add one version of an aggregated group. */
static void agg_version(struct k8s_disc *d, const char *group, const json_t *ver, bool preferred)
{
	const char *version = json_string_value(json_object_get(ver, "version"));
	json_t *r;
	size_t i;
	json_array_foreach(json_object_get(ver, "resources"), i, r) {
		const char *res = json_string_value(json_object_get(r, "resource"));
		const char *kind = json_string_value(json_object_get(json_object_get(r, "responseKind"), "kind"));
		if (version == NULL || res == NULL || kind == NULL || *kind == '\0')
			continue;
		struct k8s_rtype t = {(char *)group, (char *)version, (char *)kind, (char *)res,
			sbx_streq(json_string_value(json_object_get(r, "scope")), "Namespaced"),
			verb_bits(json_object_get(r, "verbs")), preferred};
		pthread_mutex_lock(&d->mu);
		disc_add(d, &t);
		pthread_mutex_unlock(&d->mu);
	}
}

/* Add an aggregated discovery document. */
int k8s_disc_add_aggregated(struct k8s_disc *d, const json_t *list, struct sbx_err *err)
{
	const char *av = json_string_value(json_object_get(list, "apiVersion"));
	if (!sbx_streq(json_string_value(json_object_get(list, "kind")), "APIGroupDiscoveryList") ||
		!(sbx_streq(av, "apidiscovery.k8s.io/v2") || sbx_streq(av, "apidiscovery.k8s.io/v2beta1")))
		return sbx_err_set(err, SBX_EXIT_FAILED, "not an aggregated discovery document");
	json_t *g, *v;
	size_t i, j;
	json_array_foreach(json_object_get(list, "items"), i, g) {
		const char *group = json_string_value(json_object_get(json_object_get(g, "metadata"), "name"));
		json_array_foreach(json_object_get(g, "versions"), j, v) agg_version(d, group ? group : "", v, j == 0);
	}
	return 0;
}

/* Add a legacy APIResourceList. */
int k8s_disc_add_resources(struct k8s_disc *d, const json_t *list, bool preferred, struct sbx_err *err)
{
	const char *gv = json_string_value(json_object_get(list, "groupVersion"));
	if (!sbx_streq(json_string_value(json_object_get(list, "kind")), "APIResourceList") || gv == NULL)
		return sbx_err_set(err, SBX_EXIT_FAILED, "not an APIResourceList");
	const char *slash = strchr(gv, '/');
	char *group = slash ? xstrndup(gv, (size_t)(slash - gv)) : xstrdup("");
	json_t *r;
	size_t i;
	json_array_foreach(json_object_get(list, "resources"), i, r) {
		const char *res = json_string_value(json_object_get(r, "name"));
		const char *kind = json_string_value(json_object_get(r, "kind"));
		if (res == NULL || strchr(res, '/') || kind == NULL || *kind == '\0')
			continue;
		struct k8s_rtype t = {group, (char *)(slash ? slash + 1 : gv), (char *)kind, (char *)res,
			json_is_true(json_object_get(r, "namespaced")), verb_bits(json_object_get(r, "verbs")), preferred};
		pthread_mutex_lock(&d->mu);
		disc_add(d, &t);
		pthread_mutex_unlock(&d->mu);
	}
	free(group);
	return 0;
}

/* Look a type up in the cache. */
int k8s_disc_find(struct k8s_disc *d, const char *api_version, const char *kind, struct k8s_rtype *out)
{
	const char *slash = strchr(api_version, '/');
	size_t glen = slash ? (size_t)(slash - api_version) : 0;
	const char *version = slash ? slash + 1 : api_version;
	int rc = -1;
	pthread_mutex_lock(&d->mu);
	for (size_t i = 0; i < d->n && rc < 0; i++) {
		const struct k8s_rtype *t = &d->v[i];
		if (strlen(t->group) == glen && strncmp(t->group, api_version, glen) == 0 &&
			strcmp(t->version, version) == 0 && strcmp(t->kind, kind) == 0) {
			*out = rtype_dup(t);
			rc = 0;
		}
	}
	pthread_mutex_unlock(&d->mu);
	return rc;
}

/* How many types are cached. */
size_t k8s_disc_count(struct k8s_disc *d)
{
	pthread_mutex_lock(&d->mu);
	size_t n = d->n;
	pthread_mutex_unlock(&d->mu);
	return n;
}

/* GET a discovery document, asking for the aggregated form; it must be a JSON object. */
static int disc_get(struct k8s *k, const char *path, json_t **out, struct sbx_err *err)
{
	struct k8s_req r = {.method = "GET", .path = path, .accept = DISC_ACCEPT};
	json_t *j = NULL;
	if (k8s_call(k, &r, &j, NULL, err) < 0)
		return -1;
	if (!json_is_object(j)) {
		json_decref(j);
		return sbx_err_set(err, SBX_EXIT_FAILED, "GET %s: the answer is not a JSON object "
			"(is %s a Kubernetes API server?)", path, k->cfg->server);
	}
	*out = j;
	return 0;
}

/* Fetch and add a legacy group version ("v1" under /api, "apps/v1" under /apis). */
static int disc_legacy_gv(struct k8s *k, struct k8s_disc *d, const char *root, const char *gv,
	bool preferred, struct sbx_err *err)
{
	char *path = xasprintf("%s/%s", root, gv);
	json_t *list = NULL;
	int rc = disc_get(k, path, &list, err);
	if (rc == 0)
		rc = k8s_disc_add_resources(d, list, preferred, err);
	json_decref(list);
	free(path);
	return rc;
}

/* The legacy /apis: every version of every group (a version that fails is skipped). */
static void disc_legacy_groups(struct k8s *k, struct k8s_disc *d, const json_t *apis)
{
	json_t *g, *v;
	size_t i, j;
	json_array_foreach(json_object_get(apis, "groups"), i, g) {
		const char *pref = json_string_value(json_object_get(json_object_get(g, "preferredVersion"),
			"groupVersion"));
		json_array_foreach(json_object_get(g, "versions"), j, v) {
			const char *gv = json_string_value(json_object_get(v, "groupVersion"));
			struct sbx_err ignored = SBX_ERR_INIT;
			if (gv && disc_legacy_gv(k, d, "/apis", gv, sbx_streq(gv, pref), &ignored) < 0)
				sbx_err_clear(&ignored);
		}
	}
}

/* Fill d from /api (aggregated or legacy versions list). */
static int disc_core(struct k8s *k, struct k8s_disc *d, struct sbx_err *err)
{
	json_t *api = NULL, *v;
	size_t i;
	int rc = disc_get(k, "/api", &api, err);
	if (rc == 0 && sbx_streq(json_string_value(json_object_get(api, "kind")), "APIGroupDiscoveryList"))
		rc = k8s_disc_add_aggregated(d, api, err);
	else if (rc == 0)
		json_array_foreach(json_object_get(api, "versions"), i, v) if (rc == 0 && json_string_value(v))
			rc = disc_legacy_gv(k, d, "/api", json_string_value(v), i == 0, err);
	json_decref(api);
	return rc;
}

/* Fill d from /apis (aggregated, or the legacy group list). */
static int disc_groups(struct k8s *k, struct k8s_disc *d, struct sbx_err *err)
{
	json_t *apis = NULL;
	int rc = disc_get(k, "/apis", &apis, err);
	if (rc == 0 && sbx_streq(json_string_value(json_object_get(apis, "kind")), "APIGroupDiscoveryList"))
		rc = k8s_disc_add_aggregated(d, apis, err);
	else if (rc == 0)
		disc_legacy_groups(k, d, apis);
	json_decref(apis);
	return rc;
}

/* Discover again into a fresh cache, then swap it in. */
int k8s_disc_refresh(struct k8s *k, struct sbx_err *err)
{
	struct k8s_disc *fresh = k8s_disc_new();
	if (disc_core(k, fresh, err) < 0 || disc_groups(k, fresh, err) < 0) {
		sbx_err_prefix(err, "discovery");
		k8s_disc_free(fresh);
		return -1;
	}
	struct k8s_disc *d = k->disc;
	pthread_mutex_lock(&d->mu);
	disc_empty(d);
	d->v = fresh->v;
	d->n = fresh->n;
	d->cap = fresh->cap;
	d->loaded = true;
	fresh->v = NULL;
	fresh->n = fresh->cap = 0;
	pthread_mutex_unlock(&d->mu);
	k8s_disc_free(fresh);
	return 0;
}

/* Whether the cache has been filled from the server. */
static bool disc_loaded(struct k8s_disc *d)
{
	pthread_mutex_lock(&d->mu);
	bool l = d->loaded;
	pthread_mutex_unlock(&d->mu);
	return l;
}

/* Resolve a kind, refreshing the cache on a miss. */
int k8s_disc_resolve(struct k8s *k, const char *api_version, const char *kind, struct k8s_rtype *out,
	struct sbx_err *err)
{
	if (disc_loaded(k->disc) && k8s_disc_find(k->disc, api_version, kind, out) == 0)
		return 0;
	if (k8s_disc_refresh(k, err) < 0)
		return -1;
	if (k8s_disc_find(k->disc, api_version, kind, out) == 0)
		return 0;
	return sbx_err_set(err, SBX_EXIT_FAILED, "the server has no resource type for kind %s in %s", kind,
		api_version);
}

/* Every listable type, one version per group and resource. */
int k8s_disc_types(struct k8s *k, struct k8s_rtype **out, size_t *n, struct sbx_err *err)
{
	if (!disc_loaded(k->disc) && k8s_disc_refresh(k, err) < 0)
		return -1;
	struct k8s_disc *d = k->disc;
	struct k8s_rtype *v = NULL;
	size_t m = 0, cap = 0;
	pthread_mutex_lock(&d->mu);
	for (size_t i = 0; i < d->n; i++) {
		const struct k8s_rtype *t = &d->v[i];
		if (!t->preferred || !(t->verbs & K8S_VERB_LIST))
			continue;
		xgrow(&v, &cap, m + 1, sizeof(*v));
		v[m++] = rtype_dup(t);
	}
	pthread_mutex_unlock(&d->mu);
	*out = v;
	*n = m;
	return 0;
}

/* The collection path of a type. */
char *k8s_rtype_path(const struct k8s_rtype *t, const char *ns)
{
	char *base = *t->group ? xasprintf("/apis/%s/%s", t->group, t->version) : xasprintf("/api/%s", t->version);
	char *p;
	if (ns && t->namespaced) {
		char *e = k8s_escape(ns);
		p = xasprintf("%s/namespaces/%s/%s", base, e, t->resource);
		free(e);
	} else {
		p = xasprintf("%s/%s", base, t->resource);
	}
	free(base);
	return p;
}

/* The apiVersion of a type. */
char *k8s_rtype_api_version(const struct k8s_rtype *t)
{
	return *t->group ? xasprintf("%s/%s", t->group, t->version) : xstrdup(t->version);
}
