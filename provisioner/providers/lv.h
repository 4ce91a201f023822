/*
 * lv — the libvirt provider: networks, storage pool + volumes (qcow2 overlays), cloud-init NoCloud
 * seeds, and QEMU domains. Every object it creates is named `sbx-<env>.<...>` and carries its owner
 * (state id, environment id and name, protection; see lv_owner.h). An ensure call never adopts,
 * redefines, rewrites or starts an object whose owner differs from its spec's: it refuses.
 *
 * Every ensure call is idempotent (absent → create; present and matching → nothing; running state
 * converged), every delete call treats "already absent" as success. Transient libvirt errors
 * (VIR_ERR_OPERATION_TIMEOUT, VIR_ERR_SYSTEM_ERROR on connect, ...) are retried with backoff.
 * Works against qemu:///system and libvirt's test driver (test:///default, test+unix:///default),
 * where volumes have no real files (lv_is_test() lets callers skip file work).
 * One struct lv may be used from several threads (libvirt connections are thread-safe).
 *
 * This header owns the connection; one header per noun declares the rest, and all of them are
 * included here: lv_net.h (networks), lv_storage.h (pool, volumes), lv_seed.h (seeds),
 * lv_dom.h (domains), lv_list.h (listing our objects, gc).
 */
#ifndef SBX_LV_H
#define SBX_LV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

struct lv;

/* Connect to `uri` (NULL: libvirt's default), retrying for a while when libvirtd does not answer
 * yet. *out: close with lv_close. */
int lv_open(const char *uri, struct lv **out, struct sbx_err *err) SBX_WUR;
void lv_close(struct lv *lv); /* NULL is a no-op */
/* Whether the connection is libvirt's test driver (its volumes have no files). */
bool lv_is_test(const struct lv *lv);
/* The connection's URI as libvirt reports it, else the one given (owned by lv). */
const char *lv_uri(const struct lv *lv);

/* What the host reports: its memory (total and free, bytes), CPUs, and the free space of storage
 * pool `pool` (*disk_known false when the pool does not exist yet). */
struct lv_node {
	uint64_t mem_total, mem_free;
	int64_t cpus;
	bool disk_known;
	uint64_t disk_free;
};
/* Ask the host (virNodeGetInfo, virNodeGetMemoryStats or virNodeGetFreeMemory,
 * virStoragePoolGetInfo); *out on success. */
int lv_node_info(struct lv *lv, const char *pool, struct lv_node *out, struct sbx_err *err) SBX_WUR;

/* Tests and benchmarks that seed many environments: from now on in this process, networks and
 * domains are defined (named and tagged as ever) but not started. */
void lv_no_start_set(bool on);
/* Whether lv_no_start_set is on. */
bool lv_no_start(void);

/* "kvm" when KVM is usable (a bounded probe: KVM_CREATE_VM + a tiny KVM_RUN, cached), else "qemu".
 * want = "auto" | "kvm" | "qemu". */
const char *lv_domain_type(struct lv *lv, const char *want);

#include "lv_dom.h"
#include "lv_list.h"
#include "lv_owner.h"
#include "lv_net.h"
#include "lv_seed.h"
#include "lv_storage.h"

#endif
