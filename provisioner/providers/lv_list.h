/*
 * lv_list — what of the libvirt provider's objects exists (see lv.h): every domain, network and
 * volume named sbx-*, each with the owner it carries (lv_owner.h), and deleting one listed object
 * (gc). Attributing an object to an environment is the caller's business, by its owner tag: never
 * by a guess from its name.
 */
#ifndef SBX_LV_LIST_H
#define SBX_LV_LIST_H

#include <stddef.h>

#include "lv_owner.h"
#include "util.h"

struct lv;

/* Something in libvirt whose name starts with "sbx-". */
struct lv_obj {
	char *kind;  /* "domain", "network", "volume" */
	char *name;
	char *pool;  /* volumes: their pool */
	struct lv_owner_rec owner; /* untagged when it carries none (or a remote volume) */
};
/* List every object named sbx-* (env NULL), or only those named sbx-<env>.*: every name an
 * environment's objects get (the owner of each is still read, and is what attributes it). An
 * environment's name has no '.', so no other environment's names start so. The whole listing
 * rescans the storage pools first (files put there behind libvirt's back); one environment's does
 * not (its volumes are made through libvirt, and a rescan reads every file of a pool). *out: free
 * with lv_obj_list_free. */
int lv_list_all(struct lv *lv, const char *env, struct lv_obj **out, size_t *n, struct sbx_err *err) SBX_WUR;
void lv_obj_list_free(struct lv_obj *objs, size_t n);
/* Delete one listed object (gc). */
int lv_obj_delete(struct lv *lv, const struct lv_obj *obj, struct sbx_err *err) SBX_WUR;
/* The /24 blocks ("a.b.c.0/24") the host's libvirt networks use, ours or not (IPAM avoids them).
 * *out: caller frees each and the array. */
int lv_net_blocks(struct lv *lv, char ***out, size_t *n, struct sbx_err *err) SBX_WUR;

#endif
