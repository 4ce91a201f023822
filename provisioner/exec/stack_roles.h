/*
 * stack_roles — the phases of `up` after the VMs run: readiness (every node answers SSH with the
 * environment's key; host keys pinned on first contact) and the node roles.
 * Both are no-ops against libvirt's test driver (its domains do not boot).
 */
#ifndef SBX_STACK_ROLES_H
#define SBX_STACK_ROLES_H

#include "bp.h"
#include "event.h"
#include "lv.h"
#include "ssh.h"
#include "state.h"
#include "util.h"

/* Wait (in parallel, against a deadline: $SANDBOX_READY_TIMEOUT seconds, default 900) until every
 * node instance of env accepts SSH and runs a command; pin and record host keys; write the
 * environment's known_hosts file. The open connections are put in pool (may be NULL) for the
 * roles. */
int stack_ready(struct state *st, struct lv *lv, const struct bp_blueprint *bp, const char *env,
	const char *privkey, struct ev_sink *ev, struct ssh_pool *pool, struct sbx_err *err) SBX_WUR;

/* Apply the roles of every node (router, lb, postgres, ...) over the connections in pool (may be
 * NULL) or new ones; record their outputs. */
int stack_roles(struct state *st, struct lv *lv, const struct bp_blueprint *bp, const char *env,
	const char *privkey, struct ev_sink *ev, struct ssh_pool *pool, struct sbx_err *err) SBX_WUR;

#endif
