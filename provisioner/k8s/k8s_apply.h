/*
 * k8s_apply — server-side apply of a manifest set: `PATCH <object>?fieldManager=sandbox
 * [&force=true][&dryRun=All]` with Content-Type application/apply-patch+yaml (the JSON object).
 * Ordered by k8s_order: CustomResourceDefinitions first (each waited for until Established, then
 * discovery refreshed so their kinds resolve), Namespaces, other cluster-scoped objects, then
 * namespaced ones; the objects of one rank are sent in parallel. Each object's result is one of
 * created / configured / unchanged (its resourceVersion before and after) / conflict (409: the
 * fields and the managers that own them; only `force` takes them over) / failed. A dry run asks
 * the server what each object would become and diffs that with the live object.
 */
#ifndef SBX_K8S_APPLY_H
#define SBX_K8S_APPLY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "k8s_diff.h"
#include "k8s_manifest.h"
#include "k8s_status.h"
#include "util.h"

struct k8s;

enum k8s_result {
	K8S_APPLY_CREATED,
	K8S_APPLY_CONFIGURED,
	K8S_APPLY_UNCHANGED,
	K8S_APPLY_CONFLICT,
	K8S_APPLY_FAILED,
	K8S_APPLY_N,
};
/* "created", "configured", "unchanged", "conflict", "failed". */
const char *k8s_result_name(enum k8s_result r);

/* A field another manager owns (from the 409's Status causes). */
struct k8s_conflict {
	char *field;    /* ".data.key" */
	char *manager;  /* "kubectl-client-side-apply", or NULL when the message names none */
	char *message;  /* the server's words */
};

/* The outcome for one object. */
struct k8s_apply_item {
	const struct k8s_manifest *src;   /* the declaration (points into the applied set) */
	char *namespace;                  /* where it went; NULL: cluster-scoped */
	enum k8s_result result;
	struct k8s_conflict *conflicts;   /* K8S_APPLY_CONFLICT */
	size_t nconflicts;
	struct k8s_diff diff;             /* dry run: what would change */
	char *error;                      /* K8S_APPLY_FAILED: why */
};

/* The outcomes, in the order the objects were applied; count[r] objects had result r. */
struct k8s_apply_report {
	struct k8s_apply_item *v;
	size_t n;
	size_t count[K8S_APPLY_N];
	bool dry_run;
};

/* A label added to every object (for pruning: "sandbox.dev/env" = the environment's id). */
struct k8s_label {
	const char *key, *value;
};

struct k8s_apply_opts {
	const char *field_manager;        /* NULL: "sandbox" */
	bool force;                       /* take fields other managers own (force=true) */
	bool dry_run;                     /* dryRun=All: change nothing, fill each item's diff */
	const char *namespace;            /* for namespaced objects that name none; NULL: the context's */
	const struct k8s_label *labels;   /* added to metadata.labels (they win over the manifest's) */
	size_t nlabels;
	int64_t timeout_ms;               /* how long a CRD may take to be Established; 0: 60 s */
	int parallel;                     /* requests in flight; 0: 4 */
	/* Called on the calling thread for each object once its rank is done, in apply order. */
	void (*progress)(const struct k8s_apply_item *it, void *ud);
	void *ud;
};

/*
 * Apply every object of set. Returns 0 once every object has an outcome, whatever it is, with
 * the report in *out (freed with k8s_apply_report_free; the items point into set, which must
 * outlive it); k8s_apply_report_check turns it into an error. Returns -1 (err) without a report
 * only when nothing could be applied (discovery failed: the server is unreachable or refuses).
 */
int k8s_apply(struct k8s *k, const struct k8s_manifest_set *set, const struct k8s_apply_opts *o,
	struct k8s_apply_report **out, struct sbx_err *err) SBX_WUR;
/*
 * 0 when every object was applied; else -1 with one message per object that failed or conflicts
 * ("FILE:LINE: KIND NAMESPACE/NAME: ...") and the code: SBX_EXIT_FAILED when one failed,
 * SBX_EXIT_REFUSED when the only trouble is conflicts (with a hint about --force-conflicts).
 */
int k8s_apply_report_check(const struct k8s_apply_report *r, struct sbx_err *err);
/* Free a report; NULL is a no-op. */
void k8s_apply_report_free(struct k8s_apply_report *r);

/* The body apply sends for m: a copy with the namespace set (ns NULL: removed) and the labels
 * added. The caller decrefs. */
json_t *k8s_apply_body(const struct k8s_manifest *m, const char *ns, const struct k8s_label *labels,
	size_t nlabels);
/* The conflicts a 409 Status names (FieldManagerConflict causes); *n of them, caller frees with
 * k8s_conflicts_free. */
struct k8s_conflict *k8s_conflicts_from_status(const struct k8s_status *st, size_t *n);
/* Free conflicts. */
void k8s_conflicts_free(struct k8s_conflict *c, size_t n);

#endif
