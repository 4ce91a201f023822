/*
 * lv_dom — the libvirt provider's QEMU domains (see lv.h): their XML, define, converge (redefine
 * when the spec changed), start, and delete.
 */
#ifndef SBX_LV_DOM_H
#define SBX_LV_DOM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lv_owner.h"
#include "util.h"

struct lv;

struct lv_nic {
	const char *network; /* libvirt network name */
	const char *mac;
};

struct lv_dom_spec {
	const char *name;      /* sbx-<env>.<node>-<i> */
	struct lv_owner owner; /* in the metadata; not part of the spec hash */
	bool adopt;            /* an existing domain without an owner may be taken over */
	const char *node;
	int index;
	const char *type;      /* "kvm" | "qemu" */
	int vcpus;
	uint64_t memory;       /* bytes */
	const char *disk;      /* overlay path */
	const char *seed;      /* seed ISO path, may be NULL */
	const char *kernel, *initrd, *cmdline; /* direct kernel boot when kernel != NULL */
	const struct lv_nic *nics;
	size_t nnics;
	const char *title;     /* lv_dom_adopt: the domain's title (its name in the environment) */
};
/* Define (or redefine when the XML differs) and start the domain. The XML's hash is kept in the
 * metadata (attribute spec): a changed spec stops a running domain, redefines and starts it; a
 * changed protection flag only rewrites the metadata. An existing domain of another owner is
 * refused (lv_owner_check) before anything is changed. On the test driver the domain type is
 * "test" whatever spec->type says. */
int lv_dom_ensure(struct lv *lv, const struct lv_dom_spec *spec, struct sbx_err *err) SBX_WUR;
/*
 * Take over a running domain that another environment of the same state booted (a warm pool
 * member, whose name spec->name stays: libvirt renames only stopped domains): its metadata gets
 * spec's owner, node and index (spec "adopted": a later lv_dom_ensure with a changed spec
 * redefines it) and spec->title. With move, its first NIC (its MAC must be spec->nics[0].mac)
 * is moved to spec->nics[0].network, live and in the config (virDomainUpdateDeviceFlags: the
 * guest keeps its device and MAC, only the host side changes bridge), and the further NICs of
 * spec are attached. *mac (may be NULL): the domain's first MAC (caller frees). Another state's
 * domain, or one not running, is refused untouched.
 */
int lv_dom_adopt(struct lv *lv, const struct lv_dom_spec *spec, bool move, char **mac, struct sbx_err *err) SBX_WUR;
/* Destroy (hard stop) and undefine; also removes its console log
 * (/var/log/libvirt/qemu/<name>-console.log, written while it runs). */
int lv_dom_delete(struct lv *lv, const char *name, struct sbx_err *err) SBX_WUR;

/* The serial console log of a domain since its last start (libvirt keeps it in
 * /var/log/libvirt/qemu/<name>-console.log). 0 and *text (caller frees) when readable; 1 when this
 * connection cannot read it (remote or test libvirt, or no permission): not an error. */
int lv_dom_console(struct lv *lv, const char *name, char **text, struct sbx_err *err) SBX_WUR;

/* What libvirt reports about a domain. */
struct lv_dom_seen {
	bool exists;
	bool running;
	const char *state;  /* static: "running", "shut off", "paused", ... */
	int vcpus;
	uint64_t memory;    /* bytes (the maximum) */
	struct lv_owner_rec owner; /* free with lv_owner_rec_clear */
};
/* Observe a domain (absent: exists false, not an error). */
int lv_dom_observe(struct lv *lv, const char *name, struct lv_dom_seen *out, struct sbx_err *err) SBX_WUR;

#endif
