/*
 * k8s_disc — discovery: which resource path serves a kind of an apiVersion, whether it is
 * namespaced, and its verbs. Asks for aggregated discovery first (apidiscovery.k8s.io v2, then
 * v2beta1: two requests, /api and /apis) and falls back to the legacy documents (/api, /api/v1,
 * /apis, /apis/G/V). The answers are cached in the connection; a kind the cache does not know
 * refreshes it once (a CustomResourceDefinition just created).
 */
#ifndef SBX_K8S_DISC_H
#define SBX_K8S_DISC_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "util.h"

struct k8s;

/* Verbs a resource type supports. */
enum k8s_verb {
	K8S_VERB_GET = 1 << 0,
	K8S_VERB_LIST = 1 << 1,
	K8S_VERB_WATCH = 1 << 2,
	K8S_VERB_CREATE = 1 << 3,
	K8S_VERB_UPDATE = 1 << 4,
	K8S_VERB_PATCH = 1 << 5,
	K8S_VERB_DELETE = 1 << 6,
	K8S_VERB_DELETECOLLECTION = 1 << 7,
};

/* A resource type. */
struct k8s_rtype {
	char *group;      /* "" for the core group */
	char *version;    /* "v1" */
	char *kind;       /* "ConfigMap" */
	char *resource;   /* "configmaps" (the path segment) */
	bool namespaced;
	unsigned verbs;   /* enum k8s_verb bits */
	bool preferred;   /* the version the server prefers for this group */
};

/* The cache (one per connection; k8s_open makes it). Its functions lock it. */
struct k8s_disc;
struct k8s_disc *k8s_disc_new(void);
void k8s_disc_free(struct k8s_disc *d);

/* Add the types of an aggregated document (an APIGroupDiscoveryList of apidiscovery.k8s.io/v2
 * or v2beta1). -1 (err) when list is not one. */
int k8s_disc_add_aggregated(struct k8s_disc *d, const json_t *list, struct sbx_err *err) SBX_WUR;
/* Add the types of a legacy APIResourceList (subresources such as pods/log are skipped);
 * `preferred` marks them as their group's preferred version. -1 (err) when list is not one. */
int k8s_disc_add_resources(struct k8s_disc *d, const json_t *list, bool preferred, struct sbx_err *err) SBX_WUR;
/* Look apiVersion ("v1", "apps/v1") + kind up in the cache only: 0 and a copy in *out (clear it
 * with k8s_rtype_clear), or -1 when the cache does not know it. */
int k8s_disc_find(struct k8s_disc *d, const char *api_version, const char *kind, struct k8s_rtype *out);
/* How many types the cache holds. */
size_t k8s_disc_count(struct k8s_disc *d);

/* Empty the cache and discover again from the server. */
int k8s_disc_refresh(struct k8s *k, struct sbx_err *err) SBX_WUR;
/*
 * Resolve apiVersion + kind: from the cache, discovering (the first time) or refreshing it (on a
 * miss) from the server. 0 and a copy in *out; -1 with err: "no resource type for KIND in
 * APIVERSION" (SBX_EXIT_FAILED) or why discovery failed.
 */
int k8s_disc_resolve(struct k8s *k, const char *api_version, const char *kind, struct k8s_rtype *out,
	struct sbx_err *err) SBX_WUR;
/* Every type that can be listed, one version per group and resource (the preferred one), from
 * the cache (discovering first when it is empty). The caller frees *out with k8s_rtypes_free. */
int k8s_disc_types(struct k8s *k, struct k8s_rtype **out, size_t *n, struct sbx_err *err) SBX_WUR;

/* The path of a type's collection: "/api/v1/namespaces/NS/configmaps", "/apis/G/V/RES" (ns NULL:
 * cluster-wide, or a cluster-scoped type). Caller frees. */
char *k8s_rtype_path(const struct k8s_rtype *t, const char *ns);
/* "apps/v1" or "v1"; caller frees. */
char *k8s_rtype_api_version(const struct k8s_rtype *t);
/* Free a type's strings. */
void k8s_rtype_clear(struct k8s_rtype *t);
/* Free an array of types. */
void k8s_rtypes_free(struct k8s_rtype *v, size_t n);

#endif
