/* env_lease — the leases of an environment's bare-metal machines: checked before `up` touches
 * anything, taken once the environment is recorded, released by `down` (down_forget). */
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
