/*
 * plan — the pure planner: desired resources (from the blueprint, the environment name and its
 * IPAM blocks) minus recorded resources (from the state) and observed objects (from libvirt)
 * = a plan of create/update/delete steps with dependencies (a DAG the executor walks).
 * No I/O here: everything comes in as arguments, so it is unit-tested without any daemon.
 *
 * Resource names are deterministic: network sbx-<env>-<net>, volume sbx-<env>-<node>-<i>.qcow2,
 * seed sbx-<env>-<node>-<i>-seed.iso, domain sbx-<env>-<node>-<i>. Node instances are "<node>-<i>".
 */
#ifndef SBX_PLAN_H
#define SBX_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "bp.h"
#include "state.h"
#include "util.h"

#define PLAN_T_NETWORK "network"
#define PLAN_T_VOLUME  "volume"
#define PLAN_T_SEED    "seed"
#define PLAN_T_DOMAIN  "domain"

/* The /24 allocated to one blueprint network. */
struct plan_net {
	const char *network; /* blueprint network name */
	const char *cidr;    /* "a.b.c.0/24" */
};

/* One desired resource. */
struct plan_res {
	char *type;
	char *name;
	char *node;   /* node instance ("web-0") for per-node resources, else NULL */
	char *spec;   /* canonical JSON (sorted keys, compact) */
	char **deps;  /* names of the resources it needs */
	size_t ndeps;
};

struct plan_desired {
	struct plan_res *res;
	size_t n, cap;
};

enum plan_action { PLAN_NOOP, PLAN_CREATE, PLAN_UPDATE, PLAN_DELETE };

struct plan_step {
	enum plan_action action;
	char *type, *name, *node;
	char *spec;     /* desired spec (NULL for delete) */
	char *old_spec; /* recorded spec (update/delete), NULL for create */
	char *reason;   /* why: "new", "changed: memory, vcpus", "missing in libvirt", ... */
	size_t *deps;   /* indices of steps that must finish first */
	size_t ndeps;
};

struct plan {
	struct plan_step *steps;
	size_t n, cap;
	size_t ncreate, nupdate, ndelete, nnoop;
};

/*
 * Compute the desired resources. `nets` gives the block of every blueprint network (all must be
 * present). Nodes with provider "ipmi" are not libvirt resources and are skipped here.
 * Fails (SBX_EXIT_USAGE) when a network cannot hold its nodes (at most 240 per /24).
 */
int plan_desired(const struct bp_blueprint *bp, const char *env, const struct plan_net *nets,
	size_t nnets, struct plan_desired *out, struct sbx_err *err) SBX_WUR;
void plan_desired_clear(struct plan_desired *d);

/*
 * Diff desired against recorded (state rows of the environment) and observed (names of libvirt
 * objects of the environment; NULL = not observed, trust the state). Deletions of everything
 * recorded but not desired are ordered domains → volumes/seeds → networks; creations follow the
 * desired deps. A protected environment refuses (SBX_EXIT_REFUSED) a plan that deletes or
 * replaces a domain or volume. `down` passes nd == 0 (and protected == false after --confirm).
 */
int plan_build(const struct plan_desired *desired, const struct state_res *recorded, size_t nrec,
	const char *const *observed, size_t nobs, bool protected, struct plan *out,
	struct sbx_err *err) SBX_WUR;
void plan_clear(struct plan *p);

/* Print the plan like a diff (+ create, ~ update, - delete), noops hidden unless verbose. */
void plan_print(const struct plan *p, FILE *f, bool verbose);
/* The plan as JSON text (caller frees). */
char *plan_to_json(const struct plan *p);

/* Deterministic names (caller frees). */
char *plan_domain_name(const char *env, const char *node, int index);
char *plan_network_name(const char *env, const char *net);
/* The bridge device of a network name: "sbx" + 8 hex digits (fits IFNAMSIZ). Writes 12 bytes. */
void plan_bridge_name(const char *network_name, char out[12]);
/* A stable locally administered MAC for (env, instance, network). Writes 18 bytes. */
void plan_mac(const char *env, const char *instance, const char *net, char out[18]);
/* Address of host number `host` (1..254) in "a.b.c.0/24" (caller frees); NULL if malformed. */
char *plan_cidr_host(const char *cidr, int host);

#endif
