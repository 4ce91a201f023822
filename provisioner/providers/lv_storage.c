/* lv_storage — the dir storage pool (define, start, delete) and the qcow2 overlay volumes in it. */
#include "lv_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct pool_arg {
	const char *name, *path;
};

/* Define, build and mark autostart the dir pool. */
static virStoragePoolPtr pool_define(struct lv *lv, const struct pool_arg *a, struct sbx_err *err)
{
	struct sbx_buf b = {0};
	sbx_buf_puts(&b, "<pool type='dir'>");
	lv_xml_elem(&b, "name", a->name);
	sbx_buf_puts(&b, "<target>");
	lv_xml_elem(&b, "path", a->path);
	sbx_buf_puts(&b, "<permissions><mode>0711</mode></permissions></target></pool>");
	char *xml = sbx_buf_steal(&b);
	virStoragePoolPtr pool = virStoragePoolDefineXML(lv->conn, xml, 0);
	free(xml);
	if (pool == NULL && (pool = virStoragePoolLookupByName(lv->conn, a->name)) == NULL) {
		lv_fail(err, "cannot define storage pool", a->name);
		return NULL;
	}
	if (!lv->test)
		virStoragePoolBuild(pool, 0);
	virStoragePoolSetAutostart(pool, 1);
	return pool;
}

/* One attempt at lv_pool_ensure. */
static int pool_ensure_once(struct lv *lv, const void *arg, void *out, struct sbx_err *err)
{
	const struct pool_arg *a = arg;
	int rc = -1;
	(void)out;
	if (lv->local && (sbx_mkdir_p(a->path, 0711, err) < 0 || chmod(a->path, 0711) < 0))
		return sbx_err_set(err, SBX_EXIT_FAILED, "cannot prepare the pool directory %s", a->path);
	virStoragePoolPtr pool = virStoragePoolLookupByName(lv->conn, a->name);
	if (pool == NULL && lv_code() != VIR_ERR_NO_STORAGE_POOL)
		return lv_fail(err, "cannot look up storage pool", a->name);
	if (pool == NULL && (pool = pool_define(lv, a, err)) == NULL)
		return -1;
	if (virStoragePoolIsActive(pool) != 1 && virStoragePoolCreate(pool, 0) < 0 &&
		virStoragePoolIsActive(pool) != 1) {
		lv_fail(err, "cannot start storage pool", a->name);
		goto out;
	}
	rc = 0;
out:
	virStoragePoolFree(pool);
	return rc;
}

/* Create/start the dir pool when absent. */
int lv_pool_ensure(struct lv *lv, const char *pool, const char *path, struct sbx_err *err)
{
	struct pool_arg a = {pool, path};
	return lv_retry(lv, pool_ensure_once, &a, NULL, err);
}

/* One attempt at lv_pool_delete. */
static int pool_delete_once(struct lv *lv, const void *arg, void *out, struct sbx_err *err)
{
	const char *name = arg;
	int rc = -1;
	(void)out;
	virStoragePoolPtr pool = virStoragePoolLookupByName(lv->conn, name);
	if (pool == NULL)
		return lv_code() == VIR_ERR_NO_STORAGE_POOL ? 0 : lv_fail(err, "cannot look up storage pool", name);
	if (virStoragePoolIsActive(pool) == 1 && virStoragePoolDestroy(pool) < 0 &&
		virStoragePoolIsActive(pool) == 1) {
		lv_fail(err, "cannot stop storage pool", name);
		goto out;
	}
	if (virStoragePoolUndefine(pool) < 0 && lv_code() != VIR_ERR_NO_STORAGE_POOL) {
		lv_fail(err, "cannot undefine storage pool", name);
		goto out;
	}
	rc = 0;
out:
	virStoragePoolFree(pool);
	return rc;
}

/* Stop and undefine a pool; absent is success. */
int lv_pool_delete(struct lv *lv, const char *pool, struct sbx_err *err)
{
	return lv_retry(lv, pool_delete_once, pool, NULL, err);
}

/* Look up a pool that must exist. */
virStoragePoolPtr lv_pool_get(struct lv *lv, const char *name, struct sbx_err *err)
{
	virStoragePoolPtr pool = virStoragePoolLookupByName(lv->conn, name);
	if (pool == NULL) {
		lv_fail(err, "cannot find storage pool", name);
		sbx_err_hint(err, "the pool is created by lv_pool_ensure (sandbox up)");
	}
	return pool;
}

/* Finish an ensure attempt: hand vol's path to *out, free vol and pool. */
int lv_vol_path(virStoragePoolPtr pool, virStorageVolPtr vol, const char *name, char **out,
	struct sbx_err *err)
{
	char *path = NULL;
	if (vol && (path = virStorageVolGetPath(vol)) == NULL)
		lv_fail(err, "cannot get the path of volume", name);
	if (vol)
		virStorageVolFree(vol);
	virStoragePoolFree(pool);
	if (path == NULL)
		return -1;
	*out = path;
	return 0;
}

/* The virtual size of a qcow2 (header) or raw (file size) image. */
static int image_virtual_size(const char *path, uint64_t *size, struct sbx_err *err)
{
	unsigned char h[32];
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		if (fd >= 0)
			close(fd);
		return sbx_err_set(err, SBX_EXIT_FAILED, "cannot open base image %s: %s", path, strerror(errno));
	}
	ssize_t n = read(fd, h, sizeof h);
	close(fd);
	uint64_t v = (uint64_t)st.st_size;
	if (n == (ssize_t)sizeof h && memcmp(h, "QFI\xfb", 4) == 0) {
		v = 0;
		for (int i = 24; i < 32; i++)
			v = (v << 8) | h[i];
	}
	*size = v;
	return 0;
}

/* The overlay's XML: a qcow2 volume backed by spec->backing (or empty). */
static char *vol_xml(const struct lv_vol_spec *s, uint64_t capacity)
{
	struct sbx_buf b = {0};
	sbx_buf_puts(&b, "<volume type='file'>");
	lv_xml_elem(&b, "name", s->name);
	sbx_buf_printf(&b, "<capacity unit='bytes'>%llu</capacity>", (unsigned long long)capacity);
	sbx_buf_puts(&b, "<target><format type='qcow2'/><permissions><mode>0600</mode></permissions></target>");
	if (s->backing) {
		char *fmt = sbx_xml_escape(s->backing_format ? s->backing_format : "qcow2");
		sbx_buf_puts(&b, "<backingStore>");
		lv_xml_elem(&b, "path", s->backing);
		sbx_buf_printf(&b, "<format type='%s'/></backingStore>", fmt);
		free(fmt);
	}
	sbx_buf_puts(&b, "</volume>");
	return sbx_buf_steal(&b);
}

/* Create the overlay volume in pool. */
static virStorageVolPtr vol_create(struct lv *lv, virStoragePoolPtr pool, const struct lv_vol_spec *s,
	struct sbx_err *err)
{
	uint64_t cap = s->capacity, base = 0;
	if (s->backing && !lv->test && image_virtual_size(s->backing, &base, err) < 0)
		return NULL;
	if (cap < base)
		cap = base;
	if (cap == 0)
		cap = 1ULL << 30;
	char *xml = vol_xml(s, cap);
	virStorageVolPtr vol = virStorageVolCreateXML(pool, xml, 0);
	free(xml);
	if (vol == NULL && (vol = virStorageVolLookupByName(pool, s->name)) == NULL)
		lv_fail(err, "cannot create volume", s->name);
	return vol;
}

/* Check the owner of an existing volume file (local libvirt only) and tag it when it is new or
 * adopted. */
int lv_vol_owner_ensure(struct lv *lv, const char *kind, const char *path, const char *name,
	const struct lv_owner *owner, bool existed, bool adopt, struct sbx_err *err)
{
	if (!lv->local)
		return 0;
	struct lv_owner_rec have;
	lv_owner_file_read(path, &have);
	int rc = existed ? lv_owner_check(kind, name, &have, owner, adopt, err) : 1;
	if (rc == 1 || (rc == 0 && have.protect != owner->protect))
		rc = lv_owner_file_write(path, owner, err);
	lv_owner_rec_clear(&have);
	return rc;
}

/* One attempt at lv_vol_ensure. */
static int vol_ensure_once(struct lv *lv, const void *arg, void *out, struct sbx_err *err)
{
	const struct lv_vol_spec *s = arg;
	virStorageVolPtr vol = NULL;
	virStoragePoolPtr pool = lv_pool_get(lv, s->pool, err);
	char *path = NULL;
	if (pool == NULL)
		return -1;
	vol = virStorageVolLookupByName(pool, s->name);
	bool existed = vol != NULL;
	if (vol == NULL && lv_code() != VIR_ERR_NO_STORAGE_VOL)
		lv_fail(err, "cannot look up volume", s->name);
	else if (vol == NULL)
		vol = vol_create(lv, pool, s, err);
	if (lv_vol_path(pool, vol, s->name, &path, err) < 0)
		return -1;
	if (lv_vol_owner_ensure(lv, "volume", path, s->name, &s->owner, existed, s->adopt, err) < 0) {
		free(path);
		return -1;
	}
	*(char **)out = path;
	return 0;
}

/* Create the overlay volume when absent. */
int lv_vol_ensure(struct lv *lv, const struct lv_vol_spec *spec, char **path, struct sbx_err *err)
{
	return lv_retry_path(lv, vol_ensure_once, spec, path, err);
}

struct vol_arg {
	const char *pool, *name;
};

/* One attempt at lv_vol_delete. */
static int vol_delete_once(struct lv *lv, const void *arg, void *out, struct sbx_err *err)
{
	const struct vol_arg *a = arg;
	int rc = 0;
	(void)out;
	virStoragePoolPtr pool = virStoragePoolLookupByName(lv->conn, a->pool);
	if (pool == NULL)
		return lv_code() == VIR_ERR_NO_STORAGE_POOL ? 0 : lv_fail(err, "cannot look up storage pool", a->pool);
	virStorageVolPtr vol = virStorageVolLookupByName(pool, a->name);
	if (vol == NULL && lv_code() != VIR_ERR_NO_STORAGE_VOL)
		rc = lv_fail(err, "cannot look up volume", a->name);
	if (vol && virStorageVolDelete(vol, 0) < 0 && lv_code() != VIR_ERR_NO_STORAGE_VOL)
		rc = lv_fail(err, "cannot delete volume", a->name);
	if (vol)
		virStorageVolFree(vol);
	virStoragePoolFree(pool);
	return rc;
}

/* Delete a volume; an absent pool or volume is success. */
int lv_vol_delete(struct lv *lv, const char *pool, const char *name, struct sbx_err *err)
{
	struct vol_arg a = {pool, name};
	return lv_retry(lv, vol_delete_once, &a, NULL, err);
}

struct vol_retag_arg {
	const char *pool, *name;
	const struct lv_owner *owner;
};

/* One attempt at lv_vol_retag. */
static int vol_retag_once(struct lv *lv, const void *arg, void *out, struct sbx_err *err)
{
	const struct vol_retag_arg *a = arg;
	char *path = NULL;
	(void)out;
	virStoragePoolPtr pool = lv_pool_get(lv, a->pool, err);
	if (pool == NULL)
		return -1;
	virStorageVolPtr vol = virStorageVolLookupByName(pool, a->name);
	if (vol == NULL)
		lv_fail(err, "cannot look up volume", a->name);
	if (lv_vol_path(pool, vol, a->name, &path, err) < 0)
		return -1;
	struct lv_owner_rec have;
	lv_owner_file_read(path, &have);
	int rc = 0;
	if (!have.tagged || !sbx_streq(have.state, a->owner->state)) {
		char *who = lv_owner_describe(&have);
		rc = sbx_err_set(err, SBX_EXIT_REFUSED, "volume %s belongs to %s, not to this state: not taken over",
			a->name, who);
		free(who);
	}
	if (rc == 0)
		rc = lv_owner_file_write(path, a->owner, err);
	lv_owner_rec_clear(&have);
	free(path);
	return rc;
}

/* Tag a volume of this state as another owner's. */
int lv_vol_retag(struct lv *lv, const char *pool, const char *name, const struct lv_owner *owner, struct sbx_err *err)
{
	struct vol_retag_arg a = {pool, name, owner};
	if (!lv->local)
		return 0;
	return lv_retry(lv, vol_retag_once, &a, NULL, err);
}
