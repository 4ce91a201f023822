/*
 * prov — the provider table. Each provider (libvirt today; bare metal next) registers the resource
 * types it realises, each with {ensure, delete, observe}, and lists the objects of ours it holds.
 * The lifecycle (`up`, `down`, `reap`, `gc`) dispatches through this table and never names a
 * provider's own API; the delete order is res_delete_rank's, for everyone.
 *
 * A session (struct prov) is opened for one environment (or, for gc, none) at one site (with routes:
 * several libvirt hosts, each call going to the host of the object it names); it opens
 * the providers' connections, and prepares lazily what creation needs (the libvirt pool and the
 * base image) on the first ensure that needs it. A session may be used from several threads.
 */
#ifndef SBX_PROV_H
#define SBX_PROV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bp.h"
#include "res.h"
#include "util.h"

/* Progress of a long preparation (image download or build): `what` is a short phrase. */
typedef void (*prov_progress_fn)(void *ctx, const char *what, uint64_t done, uint64_t total);
/* Something the user should know that does not fail the step (a BMC that keeps its own boot
 * order): `kind` a dotted event name, `name` the resource, `node` its node instance; `msg` for
 * humans (never a secret). Called from the executor's worker threads. */
typedef void (*prov_notice_fn)(void *ctx, const char *kind, const char *name, const char *node, const char *msg);

/* A resource that lives on another host than the session's uri (site.hosts): its name and host. */
struct prov_route {
	const char *name; /* the resource's (object's) name */
	const char *uri;  /* the libvirt URI it lives at */
};

/* Where and for whom a session acts. Strings are copied by prov_open. */
struct prov_cfg {
	const char *state_id;   /* the state this session acts for: carried by what it creates */
	const char *env;        /* NULL: no environment (gc) */
	const char *env_id;     /* carried by what is created */
	bool protect;           /* the environment is protected (carried too, for gc) */
	const char *uri;        /* libvirt URI */
	const char *pool;       /* libvirt storage pool name */
	const char *pool_path;  /* its directory */
	const char *pubkey;     /* the environment's SSH public key (seeds); NULL when not creating */
	const struct bp_image *image; /* the base image (not copied: must outlive the session) */
	const char *bp_dir;     /* the blueprint's directory (relative image paths) */
	const char *image_cache; /* where base images are cached */
	const char *recipes_dir; /* an extra directory of image recipes, may be NULL */
	prov_progress_fn progress;
	void *progress_ctx;
	const char *kubeconfig; /* the environment's cluster (NULL: none): its objects are resources */
	const char *kube_context; /* its context (NULL: the kubeconfig's current-context) */
	bool no_machines;        /* the environment has none: the machine providers are not opened */
	/* Resolve a "${secret.NAME}" reference of the environment (a BMC password) into *value
	 * (caller wipes and frees); NULL: no secrets here. Never logs the value. */
	int (*secret)(void *ctx, const char *ref, char **value, struct sbx_err *err);
	void *secret_ctx; /* must outlive the session */
	int bmc_timeout_ms;      /* an IPMI session's setup / one command (0: the ipmi module's 20 s) */
	prov_notice_fn notice;   /* NULL: notices are dropped */
	const char *netboot_dir; /* where network boot services keep their files (NULL: none here) */
	void *notice_ctx;
	/* An environment spread over several hosts: the objects named here live at their route's uri
	 * (the session opens one more connection per such host), every other one at uri. */
	const struct prov_route *routes;
	size_t nroutes;
};

/* An object of ours a provider holds, with the owner it carries. */
struct prov_obj {
	enum res_type type;
	char *name;
	char *where;    /* the container it lives in (libvirt: a volume's storage pool), else NULL */
	bool tagged;    /* it carries an owner (else: not created by this version, or unreadable) */
	char *state_id; /* owner: the state, */
	char *env_id;   /* the environment's id */
	char *env;      /* and name */
	bool protect;   /* the owner environment was protected when it was tagged */
	const char *uri; /* listed at a routed host (owned by the session); NULL: the session's uri */
};

/* What a provider reports about one desired resource. */
struct prov_seen {
	bool exists;
	char *foreign;  /* exists but is not this environment's: its owner, for messages (NULL: ours) */
	bool untagged;  /* foreign only because it carries no owner tag */
	struct res_change *drift; /* field: observed → desired */
	size_t ndrift;
};

struct prov;

/* What a site's host reports of its capacity (prov_host_info). */
struct prov_host {
	bool known;          /* false: the site reports nothing usable (libvirt's test driver) */
	uint64_t mem_total;  /* bytes */
	uint64_t mem_free;   /* bytes */
	int64_t cpus;        /* host CPUs */
	bool disk_known;     /* false: the storage pool does not exist yet */
	uint64_t disk_free;  /* bytes available in the storage pool */
};

/* Open a session (every provider's connection). On failure err says what to check. */
int prov_open(const struct prov_cfg *cfg, struct prov **out, struct sbx_err *err) SBX_WUR;
/* prov_open with only the provider that realises resources of type `only` (RES_NTYPES: all). */
int prov_open_only(const struct prov_cfg *cfg, enum res_type only, struct prov **out, struct sbx_err *err) SBX_WUR;
/* Close; NULL is a no-op. */
void prov_close(struct prov *p);
/* Whether the site is a test driver whose machines never boot (no SSH, no roles, no image). */
bool prov_is_test(const struct prov *p);
/* The session's libvirt URI. */
const char *prov_uri(const struct prov *p);
/* The libvirt URI the object `name` lives at (its route's, else the session's). */
const char *prov_uri_of(const struct prov *p, const char *name);

/* Prepare what creating machines needs (the libvirt pool, the base image: downloaded or built
 * when not cached); done once per session, also implicitly by the first ensure that needs it. */
int prov_prepare(struct prov *p, struct sbx_err *err) SBX_WUR;
/* What creating a resource of this type looks like in progress output ("creating disk"). */
const char *prov_doing(enum res_type type);
/* Create or converge r. replace: delete the existing object first (a changed volume or seed; a machine
 * whose network was replaced: powered off, from r).
 * An existing object of another owner is refused (SBX_EXIT_REFUSED) untouched; one without an
 * owner tag only with adopt (the state journaled it before a crash could tag it). */
int prov_ensure(struct prov *p, const struct res *r, bool replace, bool adopt, struct sbx_err *err) SBX_WUR;
/*
 * Take over an object that this state created for another owner (a warm pool member booted by
 * `sandbox daemon --pool`) as r, the session environment's resource of the same name: a volume
 * or seed is re-tagged; a domain must be running and gets the session's owner, r's node and
 * index in its metadata and title (its libvirt name stays r->name), and with move its NICs are
 * moved to r's networks (the first keeps its MAC, which must be r's first; further ones are
 * attached). *mac (domains, may be NULL): its first MAC (caller frees). An object of another
 * state is refused (SBX_EXIT_REFUSED) untouched; a site that cannot do it fails.
 */
int prov_adopt(struct prov *p, const struct res *r, bool move, char **mac, struct sbx_err *err) SBX_WUR;
/* Delete the object of a recorded resource (absent is success; a machine: powered off). */
int prov_delete(struct prov *p, const struct res *r, struct sbx_err *err) SBX_WUR;
/* What the provider has for r; *out is zeroed first (free with prov_seen_clear). */
int prov_observe(struct prov *p, const struct res *r, struct prov_seen *out, struct sbx_err *err) SBX_WUR;
void prov_seen_clear(struct prov_seen *s);

/* Every object named like ours (mine false), or only those tagged with this session's state and
 * environment (mine true), in the delete order. A session for an environment looks only at the
 * names that environment's objects get (libvirt: sbx-<env>.*), whose owners it then reads. *out: free with prov_obj_list_free. */
int prov_list(struct prov *p, bool mine, struct prov_obj **out, size_t *n, struct sbx_err *err) SBX_WUR;
void prov_obj_list_free(struct prov_obj *objs, size_t n);
/* Delete a listed object. */
int prov_obj_delete(struct prov *p, const struct prov_obj *o, struct sbx_err *err) SBX_WUR;
/* What machine `name` printed on its serial console since it started: 0 with *text (caller
 * frees), or 1 when this site cannot show it (remote libvirt, test driver). */
int prov_console(struct prov *p, const char *name, char **text, struct sbx_err *err) SBX_WUR;
/* What the session's machine host reports of its capacity (libvirt: virNodeGetInfo,
 * virNodeGetFreeMemory, the storage pool's info); *out zeroed first (known false when no provider
 * reports any). */
int prov_host_info(struct prov *p, struct prov_host *out, struct sbx_err *err) SBX_WUR;
/* The address blocks ("a.b.c.0/24") the site's networks already use, whoever owns them. *out:
 * caller frees each and the array. */
int prov_used_blocks(struct prov *p, char ***out, size_t *n, struct sbx_err *err) SBX_WUR;

#endif
