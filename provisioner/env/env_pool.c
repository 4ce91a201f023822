/* env_pool — the capacity pool: a node with provider ipmi and `match:` gets a machine of the
 * blueprint's `machines:` that carries every tag of the match, that no other environment holds (the
 * state's leases) and that no other node of the environment uses. Resolved before anything is
 * touched; the machine's BMC and MAC become the node's, so the plan, the leases and the provider
 * see an ordinary ipmi node. A node keeps the machine its environment already holds for it. */
#include "env_int.h"

#include <stdlib.h>
#include <string.h>

/* A machine of the pool: its lease key, its holder (env and node, NULL: free), and the node of
 * this environment that got it in this pass (NULL: none). */
struct pool_slot {
	const struct bp_machine *m;
	char *key;
	const char *holder, *holder_node;
	const char *given; /* a node name of this environment */
};

/* Whether machine m carries every tag of node n's match. */
static bool pool_fits(const struct bp_machine *m, const struct bp_node *n)
{
	for (size_t i = 0; i < n->nmatch; i++) {
		bool has = false;
		for (size_t k = 0; k < m->ntags && !has; k++)
			has = strcmp(m->tags[k], n->match[i]) == 0;
		if (!has)
			return false;
	}
	return true;
}

/* Give node n machine m: its BMC and MAC become the node's. */
static void pool_give(struct bp_node *n, struct pool_slot *s)
{
	const struct bp_machine *m = s->m;
	free(n->bmc.address);
	free(n->bmc.user);
	free(n->bmc.password);
	free(n->mac);
	n->bmc = (struct bp_bmc){xstrdup(m->bmc.address), m->bmc.port, xstrdup(m->bmc.user), xstrdup(m->bmc.password)};
	n->mac = xstrdup(m->mac);
	s->given = n->name;
}

/* Why a fitting machine cannot be given, appended to b. */
static void pool_why(struct sbx_buf *b, const struct pool_slot *s, const char *env)
{
	if (s->given)
		sbx_buf_printf(b, "; %s is given to node %s", s->m->name, s->given);
	else if (s->holder && strcmp(s->holder, env) != 0)
		sbx_buf_printf(b, "; %s is leased to environment %s", s->m->name, s->holder);
	else if (s->holder)
		sbx_buf_printf(b, "; %s is leased to this environment's node %s", s->m->name, s->holder_node);
}

/* Refuse node n: nothing of the pool fits, or every fitting machine is taken. */
static void pool_refuse(const struct bp_node *n, const struct pool_slot *v, size_t nv, const char *env,
	struct sbx_err *err)
{
	struct sbx_buf want = {0}, why = {0};
	size_t fit = 0;
	for (size_t i = 0; i < n->nmatch; i++)
		sbx_buf_printf(&want, "%s%s", i ? ", " : "", n->match[i]);
	for (size_t i = 0; i < nv; i++)
		if (pool_fits(v[i].m, n)) {
			fit++;
			pool_why(&why, &v[i], env);
		}
	if (fit == 0)
		sbx_err_set(err, SBX_EXIT_REFUSED, "node %s: no machine of machines: matches {%s}", n->name,
			want.data ? want.data : "");
	else
		sbx_err_set(err, SBX_EXIT_REFUSED, "node %s: no free machine matches {%s}: %zu fit%s", n->name,
			want.data ? want.data : "", fit, why.data ? why.data : "");
	sbx_buf_free(&want);
	sbx_buf_free(&why);
}

/* The pool's slots, with their leases. */
static struct pool_slot *pool_slots(const struct bp_blueprint *bp, const struct state_lease *l, size_t nl)
{
	struct pool_slot *v = xcalloc(bp->nmachines + 1, sizeof(*v));
	for (size_t i = 0; i < bp->nmachines; i++) {
		v[i].m = &bp->machines[i];
		v[i].key = plan_machine_key(v[i].m->bmc.address, v[i].m->bmc.port);
		for (size_t k = 0; k < nl; k++)
			if (strcmp(l[k].machine, v[i].key) == 0)
				v[i].holder = l[k].env, v[i].holder_node = l[k].node;
		/* a node naming the machine's BMC itself uses it */
		for (size_t k = 0; k < bp->nnodes; k++) {
			const struct bp_node *n = &bp->nodes[k];
			char *key = n->nmatch || !n->bmc.address ? NULL : plan_machine_key(n->bmc.address, n->bmc.port);
			if (key && strcmp(key, v[i].key) == 0)
				v[i].given = n->name;
			free(key);
		}
	}
	return v;
}

/* Give a machine to node n: the one its environment holds for it (sticky), else the first free one. */
static bool pool_pick(struct bp_node *n, struct pool_slot *v, size_t nv, const char *env, bool sticky)
{
	for (size_t i = 0; i < nv; i++) {
		struct pool_slot *s = &v[i];
		if (s->given || !pool_fits(s->m, n))
			continue;
		bool mine = s->holder && strcmp(s->holder, env) == 0 && sbx_streq(s->holder_node, n->name);
		if (sticky ? mine : s->holder == NULL) {
			pool_give(n, s);
			return true;
		}
	}
	return false;
}

/* Give every matching node a machine of the pool, or refuse naming each node that did not fit. */
int env_pool_assign(struct state *st, const char *env, struct bp_blueprint *bp, struct sbx_err *err)
{
	struct state_lease *l = NULL;
	size_t nl = 0;
	int rc = 0;

	if (bp->nmachines == 0)
		return 0;
	if (state_lease_list(st, NULL, &l, &nl, err) < 0)
		return -1;
	struct pool_slot *v = pool_slots(bp, l, nl);
	bool *done = xcalloc(bp->nnodes + 1, sizeof(*done));
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < bp->nnodes; i++)
			if (bp->nodes[i].nmatch && !done[i])
				done[i] = pool_pick(&bp->nodes[i], v, bp->nmachines, env, pass == 0);
	for (size_t i = 0; i < bp->nnodes; i++)
		if (bp->nodes[i].nmatch && !done[i]) {
			pool_refuse(&bp->nodes[i], v, bp->nmachines, env, err);
			rc = -1;
		}
	if (rc < 0)
		sbx_err_hint(err, "nothing was created; free a machine (`sandbox down ENV` of its holder) or add "
			"machines to machines:");
	for (size_t i = 0; i < bp->nmachines; i++)
		free(v[i].key);
	free(v);
	free(done);
	state_lease_list_free(l, nl);
	return rc;
}
