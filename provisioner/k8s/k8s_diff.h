/*
 * k8s_diff — what would change in an object: compare the live object with what the server says
 * it would become (a dry-run apply), field by field, ignoring what the server maintains
 * (metadata.managedFields, resourceVersion, generation, creationTimestamp, uid, selfLink).
 * The values of a Secret's data and stringData are never shown: they appear as "(hidden)".
 */
#ifndef SBX_K8S_DIFF_H
#define SBX_K8S_DIFF_H

#include <stddef.h>
#include <stdio.h>

#include <jansson.h>

enum k8s_diff_op {
	K8S_DIFF_ADD,
	K8S_DIFF_REMOVE,
	K8S_DIFF_CHANGE,
};

/* One change: the path (".spec.replicas", ".metadata.labels[\"a/b\"]", ".items[2]") and the
 * values before (NULL for ADD) and after (NULL for REMOVE). A subtree added or removed as a whole
 * is one change. */
struct k8s_change {
	enum k8s_diff_op op;
	char *path;
	json_t *old, *new;
};

/* The changes, sorted by path; zero-initialise, free with k8s_diff_clear. */
struct k8s_diff {
	struct k8s_change *v;
	size_t n, cap;
};

/* Append to *out how `live` (NULL: the object does not exist) differs from `want`. */
void k8s_diff_objects(const json_t *live, const json_t *want, struct k8s_diff *out);
/* Free the changes; d can be reused. */
void k8s_diff_clear(struct k8s_diff *d);
/* Print one line per change, each after `indent`: "+ .data.b: \"x\"", "~ .spec.replicas: 1 → 3",
 * "- .metadata.labels.old". Values longer than 120 characters are cut. */
void k8s_diff_print(const struct k8s_diff *d, FILE *f, const char *indent);
/* The changes as a JSON array of {"op": "add|remove|change", "path", "old", "new"} (new ref). */
json_t *k8s_diff_json(const struct k8s_diff *d);

#endif
