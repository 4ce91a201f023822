/*
 * lv_seed — the libvirt provider's cloud-init seeds (see lv.h): a NoCloud ISO built locally and
 * uploaded as a volume of the pool.
 */
#ifndef SBX_LV_SEED_H
#define SBX_LV_SEED_H

#include "lv_owner.h"
#include "util.h"

struct lv;

/* cloud-init NoCloud seed (an ISO 9660 image labelled "cidata") as a volume `name` in `pool`,
 * rewritten on every call (built with genisoimage, uploaded with virStorageVolUpload), mode 0600.
 * *path = its path (caller frees). */
struct lv_seed_spec {
	const char *pool;
	const char *name;           /* sbx-<env>.<node>-<i>-seed.iso */
	const char *meta_data;      /* YAML text */
	const char *user_data;      /* "#cloud-config\n..." */
	const char *network_config; /* network-config v2 YAML, may be NULL */
	struct lv_owner owner;      /* tagged on the file (local libvirt); an existing seed of another
	                               owner is refused, not rewritten */
	bool adopt;
};
int lv_seed_ensure(struct lv *lv, const struct lv_seed_spec *spec, char **path, struct sbx_err *err) SBX_WUR;

#endif
