/*
 * k8s_watch — wait until objects reach a state, through a watch stream: list (the objects and a
 * resourceVersion), then `?watch=1&resourceVersion=RV&allowWatchBookmarks=true`, keeping the
 * current objects up to date from the events and asking a predicate after each change. A stream
 * that ends or breaks resumes from the last resourceVersion seen (bookmarks included); `410 Gone`
 * (as the watch's answer or as an ERROR event) lists again. Everything runs against one deadline.
 */
#ifndef SBX_K8S_WATCH_H
#define SBX_K8S_WATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "util.h"

struct k8s;

/*
 * A predicate over the objects currently matched (sorted by namespace/name; n == 0: none exist).
 * Returns 1 when the wait is over, 0 to keep waiting, -1 to fail. It may describe, in `why`, what
 * is still missing (0) or wrong (-1): that text ends the error of a wait that times out or fails.
 * `why` is emptied before each call.
 */
typedef int (*k8s_pred_fn)(json_t *const *objs, size_t n, void *ud, struct sbx_buf *why);

struct k8s_wait_spec {
	const char *api_version, *kind;  /* "v1", "Node" */
	const char *namespace;           /* NULL: the context's namespace (namespaced kinds) */
	bool all_namespaces;             /* watch every namespace (namespace ignored) */
	const char *name;                /* one object, or NULL: all that label_selector matches */
	const char *label_selector;      /* NULL: no label condition */
	k8s_pred_fn pred;
	void *ud;
	int64_t timeout_ms;              /* the deadline, from now (> 0) */
	const char *resource_version;    /* NULL: start from the latest state; else list exactly at this
	                                  * resourceVersion first (nothing after it is missed); when it is
	                                  * compacted (410 Gone) the latest state is listed instead */
	int watch_s;                     /* how long one watch request may last before the server ends
	                                  * it and the wait resumes from its resourceVersion; 0: 290 s */
};

/*
 * Wait until spec->pred returns 1. Returns 0 then; -1 with err when the predicate fails, the
 * deadline passes ("timed out after 60 s waiting for KIND NAME: <why>"), or the server refuses
 * (403, 404 for the type, ...). Transient breaks of the stream are retried until the deadline.
 */
int k8s_wait(struct k8s *k, const struct k8s_wait_spec *spec, struct sbx_err *err) SBX_WUR;

/* k8s_pred_condition's argument: at least `min` objects (0 counts as 1), each with the condition
 * `type` in status.conditions at `status` ("Established", "True"; a Node's "Ready", "True"). */
struct k8s_cond {
	const char *type, *status;
	size_t min;
};
/* Every object has the condition (ud: a struct k8s_cond); why: each object that has not, with the
 * condition's status, reason and message. */
int k8s_pred_condition(json_t *const *objs, size_t n, void *ud, struct sbx_buf *why);
/* Nothing matches any more (deleted); why: what is still there. ud unused. */
int k8s_pred_gone(json_t *const *objs, size_t n, void *ud, struct sbx_buf *why);

#endif
