/*
 * lv_storage — the libvirt provider's storage (see lv.h): the directory-backed pool and the qcow2
 * overlay volumes in it.
 */
#ifndef SBX_LV_STORAGE_H
#define SBX_LV_STORAGE_H

#include <stdint.h>

#include "lv_owner.h"
#include "util.h"

struct lv;

/* The directory-backed storage pool (created/started when absent; its directory 0711: QEMU may
 * open the files it is given, nobody may list them). */
int lv_pool_ensure(struct lv *lv, const char *pool, const char *path, struct sbx_err *err) SBX_WUR;
/* Stop and undefine a pool (its directory and volumes are left alone); absent is success. */
int lv_pool_delete(struct lv *lv, const char *pool, struct sbx_err *err) SBX_WUR;

struct lv_vol_spec {
	const char *pool;
	const char *name;      /* sbx-<env>.<node>-<i>.qcow2 */
	const char *backing;   /* absolute path of the base image; NULL = empty volume */
	const char *backing_format; /* "qcow2" or "raw" */
	uint64_t capacity;     /* bytes; never below the backing image's virtual size */
	struct lv_owner owner; /* tagged on the file (local libvirt) */
	bool adopt;            /* an existing untagged volume may be tagged and used */
};
/* Create a qcow2 overlay volume (copy-on-write: independent of the base's size), mode 0600 (it
 * will hold the guest's secrets). An existing volume must be the owner's (lv_owner_check).
 * *path = its path (caller frees). */
int lv_vol_ensure(struct lv *lv, const struct lv_vol_spec *spec, char **path, struct sbx_err *err) SBX_WUR;
/* Delete a volume; an absent pool or volume is success. */
int lv_vol_delete(struct lv *lv, const char *pool, const char *name, struct sbx_err *err) SBX_WUR;
/* Tag volume `name` of `pool` (or a seed) as owner's: a warm pool member's volume taken over by an
 * environment. Refused untouched when its tag is not of owner->state (local libvirt only; elsewhere
 * volumes carry no tag and this is a no-op). */
int lv_vol_retag(struct lv *lv, const char *pool, const char *name, const struct lv_owner *owner,
	struct sbx_err *err) SBX_WUR;

#endif
