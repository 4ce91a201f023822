/* env_lease — the leases of an environment's bare-metal machines: checked before `up` touches
 * anything, taken once the environment is recorded, released by `down` (down_forget), and by `up`
 * for the machines the blueprint no longer has once they are powered off (trim). */
#include "env_int.h"

#include <stdlib.h>
#include <string.h>

/* Refuse node's machine, which environment `holder` has leased. */
static void lease_refuse(const struct bp_node *n, const char *machine, const char *holder, struct sbx_err *err)
{
	sbx_err_set(err, SBX_EXIT_REFUSED, "node %s: machine %s (BMC %s:%d) is leased to environment %s",
		n->name, machine, n->bmc.address, n->bmc.port, holder);
	sbx_err_hint(err, "a machine serves one environment at a time: `sandbox down %s` releases it", holder);
}

/* Check (take false) or take (take true) the lease of every ipmi node's machine. */
static int leases(struct state *st, const char *env, const struct bp_blueprint *bp, bool take, struct sbx_err *err)
{
	int rc = 0;

	for (size_t i = 0; i < bp->nnodes; i++) {
		const struct bp_node *n = &bp->nodes[i];
		char *machine, *holder = NULL;
		int got;

		if (strcmp(n->provider, "ipmi") != 0)
			continue;
		machine = plan_machine_key(n->bmc.address, n->bmc.port);
		got = take ? state_lease_acquire(st, machine, env, n->name, &holder, err) :
			state_lease_holder(st, machine, &holder, err);
		if (got < 0)
			rc = -1;
		else if (holder && strcmp(holder, env) != 0) {
			lease_refuse(n, machine, holder, err);
			rc = -1;
		}
		free(holder);
		free(machine);
	}
	return rc;
}

/* Refuse before anything is touched when another environment holds a machine of bp. */
int env_lease_check(struct state *st, const char *env, const struct bp_blueprint *bp, struct sbx_err *err)
{
	return leases(st, env, bp, false, err);
}

/* Lease every machine of bp to env (recorded in the state). */
int env_lease_take(struct state *st, const char *env, const struct bp_blueprint *bp, struct sbx_err *err)
{
	return leases(st, env, bp, true, err);
}

/* Whether bp has an ipmi node whose machine key is `machine`. */
static bool lease_wanted(const struct bp_blueprint *bp, const char *machine)
{
	bool yes = false;
	for (size_t i = 0; i < bp->nnodes && !yes; i++) {
		const struct bp_node *n = &bp->nodes[i];
		if (strcmp(n->provider, "ipmi") != 0 || n->bmc.address == NULL)
			continue;
		char *key = plan_machine_key(n->bmc.address, n->bmc.port);
		yes = strcmp(key, machine) == 0;
		free(key);
	}
	return yes;
}

/* Release the leases of env on machines bp no longer has (their machines were powered off). */
int env_lease_trim(struct state *st, const char *env, const struct bp_blueprint *bp, struct ev_sink *ev,
	struct sbx_err *err)
{
	struct state_lease *v = NULL;
	size_t n = 0;
	int rc = state_lease_list(st, env, &v, &n, err);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		if (lease_wanted(bp, v[i].machine))
			continue;
		rc = state_lease_drop(st, v[i].machine, env, err);
		if (rc == 0)
			ev_emit(ev, env, "lease.release", "lease", v[i].machine, NULL, "released the lease of %s (node %s "
				"is gone from the blueprint)", v[i].machine, v[i].node);
	}
	state_lease_list_free(v, n);
	return rc;
}
