/*
 * plan — the pure planner: desired resources (from the blueprint, the environment name and its
 * IPAM blocks) minus recorded resources (decoded from the state) and observed objects (what the
 * provider reports) = a plan of create/update/delete steps with dependencies (a DAG the executor
 * walks). No I/O here: everything comes in as arguments, so it is unit-tested without any daemon.
 *
 * Resource names are deterministic and unambiguous: network sbx-<env>.<net>, volume
 * sbx-<env>.<node>-<i>.qcow2, seed sbx-<env>.<node>-<i>-seed.iso, domain sbx-<env>.<node>-<i>,
 * bare-metal machine sbx-<env>.<node>-0, network boot service sbx-<env>.<net>.netboot.
 * Environment, node and network names cannot contain '.', so no two (environment, node) pairs
 * produce the same name. Node instances are "<node>-<i>".
 */
#ifndef SBX_PLAN_H
#define SBX_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "bp.h"
#include "res.h"
#include "util.h"

/* The /24 allocated to one blueprint network. */
struct plan_net {
	const char *network; /* blueprint network name */
	const char *cidr;    /* "a.b.c.0/24" */
};

struct plan_desired {
	struct res *res;
	size_t n, cap;
};

/* A resource as the state records it (decoded), with its journal status. */
struct plan_rec {
	struct res res;
	const char *status; /* STATE_RES_* */
};

/* What the provider reports about one desired resource. */
struct plan_obs {
	const char *name;
	bool exists;
	const char *foreign;            /* exists but belongs to another owner (described), or NULL */
	bool untagged;                  /* foreign only for lack of an owner tag */
	const struct res_change *drift; /* field: what the provider reports → what is desired */
	size_t ndrift;
};

/* PLAN_CONFLICT: the name is taken by an object this environment does not own; `up` refuses the
 * whole plan before touching anything. */
enum plan_action { PLAN_NOOP, PLAN_CREATE, PLAN_UPDATE, PLAN_DELETE, PLAN_CONFLICT };

struct plan_step {
	enum plan_action action;
	struct res res;               /* desired (noop, create, update) or recorded (delete) */
	char *reason;                 /* "new", "changed", "drift", "missing in libvirt", ... */
	struct res_change *changes;   /* update: recorded → desired, then drift: observed → desired */
	size_t nchanges;
	bool drift_only;              /* an update the provider's converge fixes in place (the recorded
	                                 spec is unchanged): no need to replace the object */
	bool recorded;                /* the state journaled it before this run (an untagged object of
	                                 that name may be adopted: a crash came before its tag) */
	bool replace;                 /* an update that deletes the object first (a changed volume or
	                                 seed; a network whose address or mode changed, and the domains
	                                 on it); a delete: the first half of a domain's replacement */
	size_t *deps;                 /* indices of steps that must finish first */
	size_t ndeps;
};

struct plan {
	struct plan_step *steps;
	size_t n, cap;
	size_t ncreate, nupdate, ndelete, nnoop, nconflict;
	size_t nreplace; /* replaced objects (not in the other counts; a domain's delete half not counted) */
};

/*
 * Compute the desired resources. `nets` gives the block of every blueprint network (all must be
 * present). A node with provider "ipmi" is one RES_MACHINE named like a domain (sbx-<env>.<node>-0)
 * that `up` boots from the network and powers on, and `down` powers off.
 * Fails (SBX_EXIT_USAGE) when a network cannot hold its nodes (at most 240 per /24).
 */
int plan_desired(const struct bp_blueprint *bp, const char *env, const struct plan_net *nets,
	size_t nnets, struct plan_desired *out, struct sbx_err *err) SBX_WUR;
void plan_desired_clear(struct plan_desired *d);

/*
 * Diff desired against recorded (the environment's resource rows) and observed (one entry per
 * desired resource the provider was asked about; obs == NULL: not observed, trust the state).
 * Deletions of everything recorded but not desired follow res_delete_rank (domains → volumes/seeds
 * → networks); creations follow the desired deps. A network whose spec changes in a way libvirt
 * cannot apply live (anything but `netboot`: its cidr, its mode) is replaced, and so is every
 * domain attached to it: each such domain gets a delete step (replace set) that the network's
 * replacement and the domain's changed seed or volume wait for, then its update step (replace set)
 * creates it again after them; their reasons name the cause ("replaced: network lan cidr A → B").
 * A protected environment refuses (SBX_EXIT_REFUSED) a plan that deletes or replaces a domain,
 * volume or network. `down` passes nd == 0 (and protected == false after --confirm). The plan
 * copies what it needs from its inputs.
 */
int plan_build(const struct plan_desired *desired, const struct plan_rec *recorded, size_t nrec,
	const struct plan_obs *obs, size_t nobs, bool protected, struct plan *out,
	struct sbx_err *err) SBX_WUR;
void plan_clear(struct plan *p);

/* Print the plan like a diff (+ create, ~ update, ± replace, - delete) with "field: old → new"
 * lines under each update; noops hidden unless verbose, a domain's delete half (its ± line says
 * it) too. */
void plan_print(const struct plan *p, FILE *f, bool verbose);
/* The plan as a JSON value (caller decrefs; opaque here to keep jansson out of this header). */
void *plan_to_json_value(const struct plan *p);
/* The plan as JSON text (caller frees). */
char *plan_to_json(const struct plan *p);
/* The counts: "N to create, N to update, N to delete[, N to replace], N unchanged" (caller frees). */
char *plan_summary(const struct plan *p);

/* The type name of a step ("network", ...). */
const char *plan_step_type(const struct plan_step *s);

/* Deterministic names (caller frees). */
char *plan_domain_name(const char *env, const char *node, int index);
char *plan_network_name(const char *env, const char *net);
/* The network boot service of a network with bare-metal machines: sbx-<env>.<net>.netboot. */
char *plan_netboot_name(const char *env, const char *net);
/* The identity of a bare-metal machine, what a lease is held on: "ipmi:ADDRESS:PORT" of its BMC. */
char *plan_machine_key(const char *bmc_address, int bmc_port);
/* The bridge device of a network name: "sbx" + 8 hex digits (fits IFNAMSIZ). Writes 12 bytes. */
void plan_bridge_name(const char *network_name, char out[12]);
/* A stable locally administered MAC for (env, instance, network). Writes 18 bytes. */
void plan_mac(const char *env, const char *instance, const char *net, char out[18]);

#endif
