/*
 * lv_int — what the files of the libvirt provider share inside the module: the connection, libvirt
 * error reporting, the retry helper every ensure/delete goes through, and the XML helpers.
 */
#ifndef SBX_LV_INT_H
#define SBX_LV_INT_H

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "lv.h"

struct lv {
	virConnectPtr conn;
	char *uri;
	bool test;
	bool local;  /* qemu:/// on this host: volume files can carry an xattr owner tag */
};

/* One attempt at an idempotent operation; `out` is the caller's result slot (may be unused). */
typedef int (*lv_op_fn)(struct lv *lv, const void *arg, void *out, struct sbx_err *err);

/* The code of the last libvirt error on this thread (0 when none). */
int lv_code(void);
/* Report the last libvirt error as "<what> <name>: <message>" and note whether it is transient
 * (what lv_retry retries). Returns -1. */
int lv_fail(struct sbx_err *err, const char *what, const char *name);
/* Take back an lv_fail whose object reached the wanted state after all (another client started or
 * stopped it): clears err, which must be the attempt's own (lv_retry's). Returns 0. Check that
 * state only after lv_fail: every libvirt call, virDomainIsActive too, resets the last error. */
int lv_unfail(struct sbx_err *err);
/* Copy every message of src into dst; clear src. */
void lv_err_move(struct sbx_err *dst, struct sbx_err *src);
/* Run fn until it succeeds, retrying while it fails with a transient libvirt error (reported
 * through lv_fail), with backoff for up to 30 s. err gets only the last attempt's messages. */
int lv_retry(struct lv *lv, lv_op_fn fn, const void *arg, void *out, struct sbx_err *err) SBX_WUR;
/* lv_retry for an operation whose `out` is a char ** that gets a path allocated by libvirt;
 * *path = a copy of it (caller frees). */
int lv_retry_path(struct lv *lv, lv_op_fn fn, const void *arg, char **path, struct sbx_err *err) SBX_WUR;

/* Append `<tag>escaped text</tag>` to b. */
void lv_xml_elem(struct sbx_buf *b, const char *tag, const char *text);
/* The value of attribute `attr` in an XML fragment (first occurrence; caller frees), or NULL. */
char *lv_xml_attr(const char *xml, const char *attr);

/* Look up a pool that must exist (free with virStoragePoolFree), or NULL with err set. */
virStoragePoolPtr lv_pool_get(struct lv *lv, const char *name, struct sbx_err *err);
/* End an ensure attempt on vol (NULL: it failed, err is set) in pool: *out = the volume's path
 * (allocated by libvirt); vol and pool are freed either way. Returns 0, or -1 without a path. */
int lv_vol_path(virStoragePoolPtr pool, virStorageVolPtr vol, const char *name, char **out,
	struct sbx_err *err);
/* Check (existed) and tag the owner of a volume's file; a no-op on remote or test libvirt. */
int lv_vol_owner_ensure(struct lv *lv, const char *kind, const char *path, const char *name,
	const struct lv_owner *owner, bool existed, bool adopt, struct sbx_err *err) SBX_WUR;
/* The owner recorded in a network's XML. */
void lv_net_owner_of(const char *xml, struct lv_owner_rec *out);
/* The owner recorded in a domain's metadata. */
void lv_dom_owner_of(virDomainPtr dom, struct lv_owner_rec *out);
/* The value of attribute `attr` of a domain's sbx:env metadata (caller frees), or NULL. */
char *lv_dom_meta_attr(virDomainPtr dom, const char *attr);

#endif
