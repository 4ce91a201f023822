/*
 * env_warm — the warm pool: VMs of a given shape booted ahead of any environment by
 * `sandbox daemon --pool SPEC`, kept SSH-ready on the pool network, claimed by `up`.
 *
 * A shape is the base image (a recipe, or an image file or URL), the vCPUs and the memory; its key
 * is one canonical string ("recipe=debian-12,cpus=1,memory=1073741824"), computed the same way
 * from a --pool spec (warm_shape_parse) and from a blueprint node (warm_shape_of_node), so a node
 * matches a member iff they are equal. Objects are named after the state (8 hex digits of its
 * id), so two states' pools on one host never share a name. Members are rows of the state (state.h: struct
 * warm_member) and libvirt objects named "sbx-pool.*" carrying the state's ownership metadata
 * with the environment WARM_OWNER_ENV, so `gc` sees them as the state's while it records them.
 */
#ifndef SBX_ENV_WARM_H
#define SBX_ENV_WARM_H

#include <stdbool.h>
#include <stdint.h>

#include "bp.h"
#include "env_config.h"
#include "state.h"
#include "util.h"

#define WARM_PREFIX     SBX_POOL_PREFIX /* every pool object's name starts with it: "sbx-pool.<state>.*" */
#define WARM_OWNER_ENV  "sbx-" SBX_POOL_ENV /* the environment name in the pool objects' owner tag */
#define WARM_DISK       (8ull << 30)   /* a member's disk (virtual size of its overlay) */
#define WARM_NEXT_KEYS  "/etc/ssh/sbx-next" /* in a member: its next host keys, made ahead (env_warm_fill.c) */

/* A --pool spec, parsed. */
struct warm_shape {
	char *key;      /* the canonical shape key */
	char *tag;      /* a short name for objects: "debian-12-1c-1024m" */
	char *recipe;   /* exactly one of recipe / image is set */
	char *image;    /* an absolute path or an http(s) URL */
	char *sha256;   /* with a URL: required; with a path: optional */
	int cpus;
	uint64_t memory; /* bytes */
	int count;       /* members to keep ready */
	char *roles;     /* roles=: the roles prepared ahead on each member, '+'-separated in the role
	                    registry's order ("postgres+lb"), or NULL */
};

/*
 * Parse "recipe=NAME|image=PATH-OR-URL[,sha256=HEX],cpus=N,memory=SIZE,count=N[,roles=R+R...]"
 * (cpus default 1, memory default 1Gi, count default 1; roles: names of the role registry that
 * this build applies, run through role_prepare_ahead on each member before it is ready; not part
 * of the key). Fails (SBX_EXIT_USAGE) naming what is expected.
 */
int warm_shape_parse(const char *spec, struct warm_shape *out, struct sbx_err *err) SBX_WUR;
void warm_shape_clear(struct warm_shape *s);

/*
 * The shape key of node of bp (*key: caller frees): 0, or 1 when the node cannot come from the
 * pool (not libvirt, a disk other than WARM_DISK, a site image with its own kernel that is not a
 * recipe); -1 on error.
 */
int warm_shape_of_node(const struct bp_blueprint *bp, const struct bp_node *node, char **key,
	struct sbx_err *err) SBX_WUR;

/*
 * Claim a ready member for node `node` (the instance name, "web-1") of environment env, whose
 * blueprint node is bnode of bp, booted from the image whose disk's sha256 is image_sha256 (NULL:
 * any), prepared for none or all of bnode's roles and for no role it does not carry whose services
 * run idle (state_warm_claim_roles): 1 with *out filled (free with warm_member_clear; the caller now owns the member's domain
 * and volumes, and forgets its row with state_warm_delete once it has adopted or destroyed
 * them), 0 when no member matches (no shape, an empty pool), -1 on error. Atomic (one
 * statement): two concurrent claimers never get the same member.
 */
int warm_claim_for_node(struct state *st, const struct bp_blueprint *bp, const struct bp_node *bnode,
	const char *image_sha256, const char *env, const char *node, struct warm_member *out,
	struct sbx_err *err);

/* The pool network's libvirt name, "sbx-pool.<state>.net" (NAT, a /24 of the IPAM pool that no
 * environment holds); caller frees. */
char *warm_net_name(struct state *st);

/* Path of the pool's private SSH key (its members' authorized key; written 0600 by the daemon);
 * the members' pinned host keys are in the state (warm_member.hostkey). Caller frees. */
char *warm_key_path(struct state *st);

/*
 * Destroy m's domain and volumes on the libvirt at uri (storage pool `pool`; absent objects are
 * not an error), then forget its row. Used by the daemon, and by a claimer that gives up.
 */
int warm_member_destroy(struct state *st, const char *uri, const char *pool,
	const struct warm_member *m, struct sbx_err *err) SBX_WUR;

/*
 * Filling the pool (the daemon's side). A fill session holds the state, the site (the default
 * libvirt URI and storage pool), the pool's key pair (generated once, kept encrypted in the state
 * and in warm_key_path) and one provider session per shape (its base image). Thread-safe for
 * warm_member_wait; the rest from one thread.
 */
struct warm_site;
int warm_site_open(const struct env_config *cfg, struct state *st, struct warm_site **out,
	struct sbx_err *err) SBX_WUR;
void warm_site_close(struct warm_site *s); /* NULL is a no-op */
/* The hash of sh's base image now (resolving it: a recipe not cached yet is built); caller frees. */
int warm_image_hash(struct warm_site *s, const struct warm_shape *sh, char **hash,
	struct sbx_err *err) SBX_WUR;
/*
 * Boot one new member of sh from the image of hash `hash`: its row first (booting, with its
 * address), then the pool network (when absent), its volume, seed and domain. *id and *address:
 * caller frees. A failure once the row exists marks it broken.
 */
int warm_member_boot(struct warm_site *s, const struct warm_shape *sh, const char *hash, char **id,
	char **address, struct sbx_err *err) SBX_WUR;
/*
 * Wait (up to the configuration's ready timeout) until member id at address answers SSH with a
 * host key its console printed, then run the preparation of each of roles ('+'-separated, NULL or
 * "": none; role_prepare_ahead) on it and start the services of those that run idle
 * (role_apply_ahead); then its row is ready with that key (0). -1: it is broken (row
 * marked so); -2: *stop became true first (row left booting), or its row is gone (a claimer gave
 * it up).
 */
int warm_member_wait(struct warm_site *s, const char *id, const char *address, const char *roles,
	const volatile bool *stop, struct sbx_err *err) SBX_WUR;
/* Delete the pool network when the state records no member (absent is not an error). */
int warm_net_prune(struct warm_site *s, struct sbx_err *err) SBX_WUR;
/* The site's libvirt URI and storage pool (for warm_member_destroy). */
const char *warm_site_uri(const struct warm_site *s);
const char *warm_site_pool(const struct warm_site *s);

#endif
