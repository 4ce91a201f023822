/*
 * lv — the libvirt provider: networks, storage pool + volumes (qcow2 overlays), cloud-init NoCloud
 * seeds, and QEMU domains. Every object it creates is named `sbx-<env>-...` and, where libvirt
 * allows metadata (domains), carries the environment name and id in
 * <metadata><sbx:env xmlns:sbx="https://sandbox.dev/xmlns/1" name=".." id=".." node=".." index=".."/>.
 *
 * Every ensure call is idempotent (absent → create; present and matching → nothing; running state
 * converged), every delete call treats "already absent" as success. Transient libvirt errors
 * (VIR_ERR_OPERATION_TIMEOUT, VIR_ERR_SYSTEM_ERROR on connect, ...) are retried with backoff.
 * Works against qemu:///system and libvirt's test driver (test:///default, test+unix:///default),
 * where volumes have no real files (lv_is_test() lets callers skip file work).
 * One struct lv may be used from several threads (libvirt connections are thread-safe).
 */
#ifndef SBX_LV_H
#define SBX_LV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

struct lv;

int lv_open(const char *uri, struct lv **out, struct sbx_err *err) SBX_WUR;
void lv_close(struct lv *lv); /* NULL is a no-op */
bool lv_is_test(const struct lv *lv);
const char *lv_uri(const struct lv *lv);

/* "kvm" when KVM is usable (a bounded probe: KVM_CREATE_VM + a tiny KVM_RUN, cached), else "qemu".
 * want = "auto" | "kvm" | "qemu". */
const char *lv_domain_type(struct lv *lv, const char *want);

/* A static DHCP host entry. */
struct lv_host {
	const char *mac;  /* 52:54:00:xx:xx:xx */
	const char *ip;
	const char *name;
};

struct lv_net_spec {
	const char *name;   /* libvirt network name: sbx-<env>-<net> */
	const char *bridge; /* bridge device (<= 15 chars), e.g. sbx<8 hex of sha256(name)> */
	const char *cidr;   /* "a.b.c.0/24": the host is .1, DHCP range .100-.199 */
	bool nat;           /* NAT forward, else isolated */
	const struct lv_host *hosts;
	size_t nhosts;
	const char *env, *env_id;
};
int lv_net_ensure(struct lv *lv, const struct lv_net_spec *spec, struct sbx_err *err) SBX_WUR;
int lv_net_delete(struct lv *lv, const char *name, struct sbx_err *err) SBX_WUR;

/* The directory-backed storage pool (created/started when absent; its directory 0755). */
int lv_pool_ensure(struct lv *lv, const char *pool, const char *path, struct sbx_err *err) SBX_WUR;
/* Stop and undefine a pool (its directory and volumes are left alone); absent is success. */
int lv_pool_delete(struct lv *lv, const char *pool, struct sbx_err *err) SBX_WUR;

struct lv_vol_spec {
	const char *pool;
	const char *name;      /* sbx-<env>-<node>-<i>.qcow2 */
	const char *backing;   /* absolute path of the base image; NULL = empty volume */
	const char *backing_format; /* "qcow2" or "raw" */
	uint64_t capacity;     /* bytes; never below the backing image's virtual size */
};
/* Create a qcow2 overlay volume (copy-on-write: independent of the base's size). *path = its
 * path (caller frees). */
int lv_vol_ensure(struct lv *lv, const struct lv_vol_spec *spec, char **path, struct sbx_err *err) SBX_WUR;
int lv_vol_delete(struct lv *lv, const char *pool, const char *name, struct sbx_err *err) SBX_WUR;

/* cloud-init NoCloud seed (an ISO 9660 image labelled "cidata") as a volume `name` in `pool`,
 * rewritten on every call (built with genisoimage, uploaded with virStorageVolUpload). *path =
 * its path (caller frees). */
struct lv_seed_spec {
	const char *pool;
	const char *name;           /* sbx-<env>-<node>-<i>-seed.iso */
	const char *meta_data;      /* YAML text */
	const char *user_data;      /* "#cloud-config\n..." */
	const char *network_config; /* network-config v2 YAML, may be NULL */
};
int lv_seed_ensure(struct lv *lv, const struct lv_seed_spec *spec, char **path, struct sbx_err *err) SBX_WUR;

struct lv_nic {
	const char *network; /* libvirt network name */
	const char *mac;
};

struct lv_dom_spec {
	const char *name;      /* sbx-<env>-<node>-<i> */
	const char *env, *env_id, *node;
	int index;
	const char *type;      /* "kvm" | "qemu" */
	int vcpus;
	uint64_t memory;       /* bytes */
	const char *disk;      /* overlay path */
	const char *seed;      /* seed ISO path, may be NULL */
	const char *kernel, *initrd, *cmdline; /* direct kernel boot when kernel != NULL */
	const struct lv_nic *nics;
	size_t nnics;
};
/* Define (or redefine when the XML differs) and start the domain. The XML's hash is kept in the
 * metadata (attribute spec): a changed spec stops a running domain, redefines and starts it.
 * On the test driver the domain type is "test" whatever spec->type says. */
int lv_dom_ensure(struct lv *lv, const struct lv_dom_spec *spec, struct sbx_err *err) SBX_WUR;
/* Destroy (hard stop) and undefine; also removes its console log
 * (/var/log/libvirt/qemu/<name>-console.log, written while it runs). */
int lv_dom_delete(struct lv *lv, const char *name, struct sbx_err *err) SBX_WUR;

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
