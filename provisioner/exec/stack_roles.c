/* stack_roles — apply node roles after readiness. */
#include "stack_roles.h"

/* Apply the roles of every node. */
int stack_roles(struct state *st, struct lv *lv, const struct bp_blueprint *bp, const char *env,
	const char *privkey, struct ev_sink *ev, struct sbx_err *err)
{
	(void)st;
	(void)privkey;
	(void)err;
	if (lv_is_test(lv))
		return 0;
	for (size_t i = 0; i < bp->nnodes; i++)
		for (size_t k = 0; k < bp->nodes[i].nroles; k++)
			ev_emit(ev, env, "roles.skip", NULL, NULL, NULL, "role %s of node %s: not applied by this build",
				bp->nodes[i].roles[k], bp->nodes[i].name);
	return 0;
}
