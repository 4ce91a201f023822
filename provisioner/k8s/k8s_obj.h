/*
 * k8s_obj — objects on the server by reference: get one, list those a label selector matches
 * across every resource type discovery reports, delete one or all of them with a propagation
 * policy. What pruning, `down` and `gc` are built from.
 */
#ifndef SBX_K8S_OBJ_H
#define SBX_K8S_OBJ_H

#include <stddef.h>

#include <jansson.h>

#include "k8s_disc.h"
#include "util.h"

struct k8s;

/* One object on the server. */
struct k8s_ref {
	char *api_version, *kind;
	char *namespace;          /* NULL: cluster-scoped */
	char *name;
	char *uid;                /* NULL when unknown */
	char *resource_version;   /* NULL when unknown */
	json_t *labels;           /* metadata.labels (a reference the ref owns), or NULL */
};
/* A list of references; zero-initialise, free with k8s_refs_clear. */
struct k8s_refs {
	struct k8s_ref *v;
	size_t n, cap;
};
/* Free the references; r can be reused. */
void k8s_refs_clear(struct k8s_refs *r);

/* The path of one object of type t ("/api/v1/namespaces/NS/configmaps/NAME"); caller frees. */
char *k8s_obj_path(const struct k8s_rtype *t, const char *ns, const char *name);

/*
 * GET one object (ns is ignored for a cluster-scoped kind; NULL for a namespaced one means the
 * context's namespace). Returns 0 with *out (the caller decrefs), 1 when it does not exist (*out
 * untouched), -1 with err.
 */
int k8s_get(struct k8s *k, const char *api_version, const char *kind, const char *ns, const char *name,
	json_t **out, struct sbx_err *err) SBX_WUR;

/*
 * Append to *out every object, in any namespace, that the label selector ("sandbox.dev/env=demo")
 * matches, over every type that can be listed, created and deleted (the preferred version of
 * each group; an object seen through two groups is listed once). Lists are read in pages. On
 * error *out is left as it was.
 */
int k8s_list_labelled(struct k8s *k, const char *selector, struct k8s_refs *out, struct sbx_err *err) SBX_WUR;

/* How dependents of a deleted object go (metadata.ownerReferences). */
enum k8s_propagation {
	K8S_PROPAGATE_BACKGROUND, /* the object goes now, its dependents after it */
	K8S_PROPAGATE_FOREGROUND, /* the object stays (deletionTimestamp) until its dependents are gone */
	K8S_PROPAGATE_ORPHAN,     /* dependents are kept */
};

/* Delete one object; with ref->uid, only if it is still that object (a precondition). Returns 0
 * when the delete was accepted or the object was already gone (or is another object now). */
int k8s_delete(struct k8s *k, const struct k8s_ref *ref, enum k8s_propagation p, struct sbx_err *err) SBX_WUR;

/*
 * Delete every object the selector matches (k8s_list_labelled): namespaced objects first, then
 * cluster-scoped ones, then Namespaces, then CustomResourceDefinitions, each with its uid as a
 * precondition. Goes on past a failed delete and then fails with every error. Appends what it
 * deleted to *deleted when not NULL. Does not wait: wait for them with k8s_wait and k8s_pred_gone.
 */
int k8s_delete_labelled(struct k8s *k, const char *selector, enum k8s_propagation p, struct k8s_refs *deleted,
	struct sbx_err *err) SBX_WUR;

#endif
