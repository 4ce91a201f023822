/*
 * lv_list — what of the libvirt provider's objects exists (see lv.h): listing our domains,
 * networks and volumes, attributing them to environments, and deleting one listed object (gc).
 */
#ifndef SBX_LV_LIST_H
#define SBX_LV_LIST_H

#include <stddef.h>

#include "util.h"

struct lv;

/* Something in libvirt that is ours (name starts with "sbx-"). */
struct lv_obj {
	char *kind; /* "domain", "network", "volume" */
	char *name;
	char *env;  /* from metadata when present (domains); else NULL */
	char *pool; /* volumes */
};
/* List objects named sbx-* (all when env == NULL; else those of env: metadata env, or the
 * name prefix "sbx-<env>-"; as env names may contain '-', an object without metadata goes to the
 * longest env known from domain metadata whose prefix matches). *out: free with lv_obj_list_free. */
int lv_list_ours(struct lv *lv, const char *env, struct lv_obj **out, size_t *n, struct sbx_err *err);
void lv_obj_list_free(struct lv_obj *objs, size_t n);
/* Delete one listed object (gc). */
int lv_obj_delete(struct lv *lv, const struct lv_obj *obj, struct sbx_err *err) SBX_WUR;

#endif
