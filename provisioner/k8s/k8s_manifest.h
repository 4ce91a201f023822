/*
 * k8s_manifest — the objects to apply: read from YAML (multi-document) and JSON files, from the
 * *.yaml, *.yml and *.json files of a directory (sorted by name, not recursive), or from "-"
 * (standard input, YAML). Every object remembers FILE:LINE of its document, and every error names
 * it. A `kind: List` document stands for its items. Each object must have apiVersion, kind and
 * metadata.name (names and namespaces must be usable as a path segment: not "." or "..", no '/'
 * or '%'); an object declared twice is an error.
 *
 * Also the apply order: CustomResourceDefinitions, then Namespaces, then other cluster-scoped
 * objects, then namespaced ones (declaration order within each rank).
 */
#ifndef SBX_K8S_MANIFEST_H
#define SBX_K8S_MANIFEST_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "util.h"

/* One object. The strings point into obj and live as long as the set. */
struct k8s_manifest {
	json_t *obj;
	char *file;
	int line;
	const char *api_version, *kind, *name;
	const char *namespace;   /* metadata.namespace, or NULL */
};

/* The objects of one or more files, in declaration order. Zero-initialise. */
struct k8s_manifest_set {
	struct k8s_manifest *v;
	size_t n, cap;
};

/*
 * Load the files and directories of paths[0..n) into a new set (*out, freed with
 * k8s_manifests_free). On error *out is untouched and err lists every problem found, each at
 * FILE:LINE (SBX_EXIT_USAGE, also for a path that cannot be read).
 */
int k8s_manifests_load(const char *const *paths, size_t n, struct k8s_manifest_set **out,
	struct sbx_err *err) SBX_WUR;
/* Add the objects of YAML (json false) or JSON text to set; `name` names it in errors. On error
 * nothing is added. */
int k8s_manifests_add_text(struct k8s_manifest_set *set, const char *name, const char *text, size_t len,
	bool json, struct sbx_err *err) SBX_WUR;
/* Free a set and its objects; NULL is a no-op. */
void k8s_manifests_free(struct k8s_manifest_set *set);

/* The apply ranks, in order. */
enum k8s_rank {
	K8S_RANK_CRD,
	K8S_RANK_NAMESPACE,
	K8S_RANK_CLUSTER,
	K8S_RANK_NAMESPACED,
	K8S_RANK_N,
};
/* Whether m is a CustomResourceDefinition (apiextensions.k8s.io). */
bool k8s_manifest_is_crd(const struct k8s_manifest *m);
/* The rank of m, given whether its kind is namespaced. */
enum k8s_rank k8s_manifest_rank(const struct k8s_manifest *m, bool namespaced);
/* Fill order[0..n) with the indexes 0..n-1 sorted by ranks[i], stable. */
void k8s_order(const enum k8s_rank *ranks, size_t n, size_t *order);
/* The scope a CRD of the set declares for apiVersion + kind: 1 Namespaced, 0 Cluster, -1 when no
 * CRD of the set defines that kind in that group and version. *crd (optional) = its index. */
int k8s_manifests_crd_scope(const struct k8s_manifest_set *set, const char *api_version, const char *kind,
	size_t *crd);

#endif
