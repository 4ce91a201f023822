/*
 * env_vip_route — make the VIP block reachable from the host that runs sandbox: a route to it
 * through the environment's router, on the bridge of the router's first network (`ip route
 * replace BLOCK via ROUTER dev BRIDGE`). The router has the VIP /32s from BGP (ECMP across the
 * load balancers), so a CI job on this host reaches VIP_*_URL. The kernel drops the route with the
 * bridge when `down` deletes the network: nothing to undo. Only for a local libvirt (the bridge is
 * on this host); a route that cannot be set is a warning, not a failure (the VIPs still answer
 * inside the environment).
 */
#include "env_int.h"

#include <stdlib.h>
#include <string.h>

#include "ip4.h"

/* The bridge of a blueprint network of env, from its recorded network resource. */
static char *net_bridge(const struct env_rows *rows, const char *net)
{
	for (size_t i = 0; i < rows->nrec; i++) {
		const struct res *r = &rows->recs[i].res;
		if (r->type == RES_NETWORK && sbx_streq(r->u.net.net, net) && r->u.net.bridge)
			return xstrdup(r->u.net.bridge);
	}
	return NULL;
}

/* The blueprint node of that name, or NULL. */
static const struct bp_node *find_node(const struct bp_blueprint *bp, const char *name)
{
	for (size_t i = 0; i < bp->nnodes; i++)
		if (strcmp(bp->nodes[i].name, name) == 0)
			return &bp->nodes[i];
	return NULL;
}

/* The first router instance's address and bridge (both NULL when there is none). */
static int router_hop(struct state *st, const struct bp_blueprint *bp, const char *env, char **ip, char **bridge,
	struct sbx_err *err)
{
	struct env_node *nodes = NULL;
	struct env_rows rows = {0};
	size_t n = 0;
	*ip = *bridge = NULL;
	if (env_nodes(st, env, &nodes, &n, err) < 0 || env_rows_load(st, env, &rows, err) < 0) {
		env_nodes_free(nodes, n);
		return -1;
	}
	for (size_t i = 0; i < n && *ip == NULL; i++) {
		const struct bp_node *bn = find_node(bp, nodes[i].node);
		if (bn == NULL || !bp_node_has_role(bn, "router") || nodes[i].naddrs == 0)
			continue;
		*bridge = net_bridge(&rows, nodes[i].nets[0]);
		if (*bridge)
			*ip = xstrdup(nodes[i].addrs[0]);
	}
	env_rows_clear(&rows);
	env_nodes_free(nodes, n);
	return 0;
}

/* The interface of a route this machine has for block (a.b.c.0/24) other than through bridge (caller
 * frees), or NULL: a block another state file's environment uses here (its network, or its own VIP
 * route) is never taken over by `ip route replace`. */
static char *route_holder(const char *block, const char *bridge)
{
	struct ip4_route *r = NULL;
	char *holder = NULL;
	size_t n = 0;
	uint32_t a;
	int bits;
	if (ip4_parse_cidr(block, &a, &bits) == 0)
		n = ip4_host_routes(&r);
	for (size_t i = 0; i < n && !holder; i++)
		if (r[i].dst == a && r[i].bits == bits && !sbx_streq(r[i].iface, bridge))
			holder = xstrdup(r[i].iface);
	free(r);
	return holder;
}

/* Route the VIP block from this host through the router. */
int env_vip_route(struct state *st, const struct bp_blueprint *bp, const char *env, const char *uri,
	struct ev_sink *ev, struct sbx_err *err)
{
	char *block = NULL, *ip = NULL, *bridge = NULL, *out = NULL;
	if (bp->nvips == 0)
		return 0;
	if (uri == NULL || (strcmp(uri, "qemu:///system") != 0 && strcmp(uri, "qemu:///session") != 0)) {
		ev_emit(ev, env, "vip.route", NULL, NULL, NULL, "VIPs: reachable through the router on %s's host, not "
			"routed from here", uri);
		return 0;
	}
	if (state_ipam_get(st, env, ENV_VIP_NETWORK, &block, err) < 0 || router_hop(st, bp, env, &ip, &bridge, err) < 0) {
		free(block);
		return -1;
	}
	char *other = block && ip ? route_holder(block, bridge) : NULL;
	if (other) {
		ev_emit(ev, env, "vip.route", NULL, NULL, NULL, "warning: the VIP block %s is already routed on this host "
			"through %s, not this environment's bridge %s: left as it is (the VIPs answer inside the "
			"environment)", block, other, bridge);
		free(other);
	} else if (block && ip) {
		struct sbx_err e = SBX_ERR_INIT;
		char *argv[] = {"ip", "route", "replace", block, "via", ip, "dev", bridge, NULL};
		if (sbx_run(argv, 10000, &out, &e) == 0)
			ev_emit(ev, env, "vip.route", NULL, NULL, NULL, "VIPs: %s routed from this host via the router %s (%s)",
				block, ip, bridge);
		else
			ev_emit(ev, env, "vip.route", NULL, NULL, NULL, "warning: could not route the VIP block %s from this "
				"host via %s: %s (the VIPs answer inside the environment; add the route as root to reach them "
				"from here)", block, ip, sbx_err_first(&e));
		sbx_err_clear(&e);
	}
	free(out);
	free(block);
	free(ip);
	free(bridge);
	return 0;
}
