/* lv_seed — cloud-init NoCloud seeds: the ISO built in a temp dir and uploaded into a pool volume. */
#include "lv_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cloudinit.h"

/* Stream source: read the next chunk of the ISO. */
static int seed_read(virStreamPtr st, char *buf, size_t n, void *opaque)
{
	(void)st;
	return (int)read(*(int *)opaque, buf, n);
}

/* Upload a local file into a volume. */
static int seed_upload(struct lv *lv, virStorageVolPtr vol, const char *file, uint64_t size,
	const char *name, struct sbx_err *err)
{
	int fd = open(file, O_RDONLY | O_CLOEXEC), rc = -1;
	if (fd < 0)
		return sbx_err_set(err, SBX_EXIT_FAILED, "cannot open %s: %s", file, strerror(errno));
	virStreamPtr st = virStreamNew(lv->conn, 0);
	if (st == NULL || virStorageVolUpload(vol, st, 0, size, 0) < 0) {
		lv_fail(err, "cannot upload seed", name);
		goto out;
	}
	if (virStreamSendAll(st, seed_read, &fd) < 0 || virStreamFinish(st) < 0) {
		lv_fail(err, "cannot upload seed", name);
		virStreamAbort(st);
		goto out;
	}
	rc = 0;
out:
	if (st)
		virStreamFree(st);
	close(fd);
	return rc;
}

/* Delete an existing seed volume when it is the owner's; refuse another owner's. */
static int seed_clear(struct lv *lv, virStoragePoolPtr pool, const struct lv_seed_spec *s, struct sbx_err *err)
{
	virStorageVolPtr vol = virStorageVolLookupByName(pool, s->name);
	char *path = vol ? virStorageVolGetPath(vol) : NULL;
	int rc = 0;
	if (vol && path && lv->local) {
		struct lv_owner_rec have;
		lv_owner_file_read(path, &have);
		rc = lv_owner_check("seed", s->name, &have, &s->owner, s->adopt, err) < 0 ? -1 : 0;
		lv_owner_rec_clear(&have);
	}
	if (vol && rc == 0)
		virStorageVolDelete(vol, 0);
	if (vol)
		virStorageVolFree(vol);
	free(path);
	return rc;
}

/* (Re)create the seed volume with `size` bytes and fill it from `file` (NULL: test driver). */
static virStorageVolPtr seed_create(struct lv *lv, virStoragePoolPtr pool, const struct lv_seed_spec *s,
	const char *file, uint64_t size, struct sbx_err *err)
{
	const char *name = s->name;
	struct sbx_buf b = {0};
	virStorageVolPtr vol = NULL;
	if (seed_clear(lv, pool, s, err) < 0)
		return NULL;
	sbx_buf_puts(&b, "<volume type='file'>");
	lv_xml_elem(&b, "name", name);
	sbx_buf_printf(&b, "<capacity unit='bytes'>%llu</capacity>", (unsigned long long)size);
	sbx_buf_puts(&b, "<target><format type='raw'/><permissions><mode>0600</mode></permissions></target></volume>");
	char *xml = sbx_buf_steal(&b);
	vol = virStorageVolCreateXML(pool, xml, 0);
	free(xml);
	if (vol == NULL) {
		lv_fail(err, "cannot create seed volume", name);
		return NULL;
	}
	if (file && seed_upload(lv, vol, file, size, name, err) < 0) {
		virStorageVolDelete(vol, 0);
		virStorageVolFree(vol);
		return NULL;
	}
	return vol;
}

/* Build the ISO in a temp dir and put it into the pool as volume spec->name. */
static virStorageVolPtr seed_build(struct lv *lv, virStoragePoolPtr pool, const struct lv_seed_spec *s,
	struct sbx_err *err)
{
	char tmpl[] = "/tmp/sbx-seed.XXXXXX";
	struct stat st;
	virStorageVolPtr vol = NULL;
	if (lv->test) /* no files behind test-driver volumes */
		return seed_create(lv, pool, s, NULL, 2048 * 16, err);
	if (mkdtemp(tmpl) == NULL) {
		sbx_err_set(err, SBX_EXIT_FAILED, "cannot create a temp dir: %s", strerror(errno));
		return NULL;
	}
	char *iso = sbx_path_join(tmpl, "seed.iso");
	if (cloudinit_iso_write(iso, s->meta_data, s->user_data, s->network_config, err) == 0 &&
		stat(iso, &st) == 0)
		vol = seed_create(lv, pool, s, iso, (uint64_t)st.st_size, err);
	sbx_rm_rf(tmpl);
	free(iso);
	return vol;
}

/* One attempt at lv_seed_ensure. */
static int seed_ensure_once(struct lv *lv, const void *arg, void *out, struct sbx_err *err)
{
	const struct lv_seed_spec *s = arg;
	virStoragePoolPtr pool = lv_pool_get(lv, s->pool, err);
	char *path = NULL;
	if (pool == NULL || lv_vol_path(pool, seed_build(lv, pool, s, err), s->name, &path, err) < 0)
		return -1;
	if (lv_vol_owner_ensure(lv, "seed", path, s->name, &s->owner, false, false, err) < 0) {
		free(path);
		return -1;
	}
	*(char **)out = path;
	return 0;
}

/* Write the seed volume (rewritten on every call, so it always matches the spec). */
int lv_seed_ensure(struct lv *lv, const struct lv_seed_spec *spec, char **path, struct sbx_err *err)
{
	return lv_retry_path(lv, seed_ensure_once, spec, path, err);
}
