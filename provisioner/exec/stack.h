/*
 * stack — the lifecycle of one environment, shared by the CLI and the reaper: plan, up (converge),
 * down (destroy with a receipt). It ties the blueprint, the state, the planner, the executor, the
 * libvirt provider, the SSH transport and the roles together.
 *
 * Safety rules it keeps: every resource is journaled in the state before it is created or deleted;
 * an environment row leaves the state only after libvirt confirms nothing tagged with it remains;
 * protection lives in the state (sticky); one command per environment at a time (lock).
 */
#ifndef SBX_STACK_H
#define SBX_STACK_H

#include <stdbool.h>
#include <stdint.h>

#include "bp.h"
#include "event.h"
#include "plan.h"
#include "state.h"
#include "util.h"

struct stack_up_opts {
	const char *bp_path;
	const char *env;            /* NULL = the blueprint's name */
	const struct bp_var *vars;
	size_t nvars;
	int64_t ttl;                /* seconds; 0 = the blueprint's */
	int wait_lock;              /* seconds; see state_env_lock */
	int parallel;               /* workers; 0 = default */
	bool no_wait;               /* return once the VMs run: no SSH readiness, no roles */
	struct ev_sink *ev;
};

/* Create or converge the environment. On failure the environment is left "failed" with every
 * resource journaled: `up` again resumes, `down` cleans up. */
int stack_up(struct state *st, const struct stack_up_opts *o, struct sbx_err *err) SBX_WUR;

/* What `plan` prints: the plan of `up` without changing anything (no IPAM allocation: networks
 * without a block yet are planned with a placeholder). */
int stack_plan(struct state *st, const struct bp_blueprint *bp, const char *env, struct plan *out,
	struct sbx_err *err) SBX_WUR;

struct stack_down_opts {
	const char *env;
	const char *confirm;  /* must equal env to destroy a protected environment */
	int wait_lock;
	int parallel;
	bool reaping;         /* called by the reaper on a claimed environment */
	struct ev_sink *ev;
};

/* What down removed and what a re-query of libvirt still shows (should be nothing). */
struct stack_receipt {
	char **removed;   /* "domain sbx-demo-web-0", ... */
	size_t nremoved;
	char **remaining; /* objects still tagged with the environment after teardown */
	size_t nremaining;
	bool env_removed; /* the state row is gone */
};

/* Destroy the environment. Idempotent: an unknown environment is not an error (receipt empty). */
int stack_down(struct state *st, const struct stack_down_opts *o, struct stack_receipt *r,
	struct sbx_err *err) SBX_WUR;
void stack_receipt_clear(struct stack_receipt *r);

/* The libvirt URI and pool recorded for an environment (from its resolved blueprint); caller
 * frees both. */
void stack_env_site(const struct state_env *env, char **uri, char **pool);

/* Path of the environment's private SSH key file (written 0600 by up); caller frees. */
char *stack_key_path(struct state *st, const char *env);
/* Path of the environment's known_hosts file (pinned host keys); caller frees. */
char *stack_known_hosts_path(struct state *st, const char *env);

/* One node instance as recorded (from the domain resources of the environment). */
struct stack_node {
	char *instance; /* "web-0" */
	char *node;     /* "web" */
	int index;
	char *domain;   /* "sbx-demo-web-0" */
	char *ip;       /* primary address */
	char **addrs;   /* every address, in the node's network order */
	char **nets;    /* blueprint network names, same order */
	size_t naddrs;
	char *status;   /* resource status */
};
int stack_nodes(struct state *st, const char *env, struct stack_node **out, size_t *n,
	struct sbx_err *err) SBX_WUR;
void stack_nodes_free(struct stack_node *nodes, size_t n);

/* State rows that are not libvirt resources: a node's pinned SSH host key (name = domain,
 * spec = "TYPE BASE64") and the environment's outputs (name = KEY, spec = value, where a
 * password appears as ${secret.NAME}, resolved only by `outputs` in a program format). */
#define STACK_T_HOSTKEY "hostkey"
#define STACK_T_OUTPUT  "output"

/* The pinned host key of a domain, or NULL; caller frees. */
char *stack_pinned_key(struct state *st, const char *env, const char *domain);

#endif
