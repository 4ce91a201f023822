/*
 * bp_defaults — the defaults pass (libvirt's PostParse): run after the schema has converted the
 * tree, it fills every value the blueprint left out, so that the model is complete and no consumer
 * applies a default of its own. A value is "left out" when it is still zero/NULL: every field the
 * schema converts has a lower bound that excludes zero. The documented defaults are in
 * blueprints/README.md; cross-field checks come afterwards (bp_validate.c).
 */
#include "bp_schema.h"

#include <stdlib.h>

/* Set a string that was left out. */
static void str_default(char **p, const char *value)
{
	if (*p == NULL)
		*p = xstrdup(value);
}

/* Set an int that was left out. */
static void int_default(int *p, int value)
{
	if (*p == 0)
		*p = value;
}

/* lifetime: 8h within 72h; a permanent blueprint does not expire. */
static void lifetime_defaults(struct bp_lifetime *l)
{
	if (l->permanent) {
		l->ttl = l->max_ttl = 0;
		return;
	}
	if (l->ttl == 0)
		l->ttl = 8 * 3600;
	if (l->max_ttl == 0)
		l->max_ttl = 72 * 3600;
}

/* site: libvirt on qemu:///system, pool "sandbox" in /var/lib/sandbox/pool, KVM when usable. */
static void site_defaults(struct bp_site *s)
{
	str_default(&s->provider, "libvirt");
	str_default(&s->uri, BP_DEFAULT_URI);
	str_default(&s->pool, BP_DEFAULT_POOL);
	str_default(&s->pool_path, BP_DEFAULT_POOL_PATH);
	str_default(&s->domain_type, "auto");
}

/* A network: an address block from IPAM (mode nat is the enum's zero). */
static void network_defaults(struct bp_network *n)
{
	str_default(&n->cidr, "auto");
}

/* A node: one libvirt machine, 1 CPU, 1Gi of memory, an 8Gi disk; a BMC on port 623, boot pxe. */
static void node_defaults(struct bp_node *n)
{
	int_default(&n->count, 1);
	int_default(&n->cpus, 1);
	if (n->memory == 0)
		n->memory = 1 * BP_GIB;
	if (n->disk == 0)
		n->disk = 8 * BP_GIB;
	str_default(&n->provider, "libvirt");
	int_default(&n->bmc.port, 623);
	if (sbx_streq(n->provider, "ipmi"))
		str_default(&n->boot, "pxe");
}

/* bgp: the router in AS 65000, the load balancers in AS 65001. */
static void bgp_defaults(struct bp_bgp *g)
{
	if (g->router_as == 0)
		g->router_as = 65000;
	if (g->lb_as == 0)
		g->lb_as = 65001;
}

/* database: each owner is its database's name; pgbouncer in transaction mode, 20 per pool, 200 clients. */
static void database_defaults(struct bp_database *d)
{
	for (size_t i = 0; i < d->ndbs; i++)
		if (d->dbs[i].name)
			str_default(&d->dbs[i].owner, d->dbs[i].name);
	str_default(&d->pool_mode, "transaction");
	int_default(&d->default_pool_size, 20);
	int_default(&d->max_client_conn, 200);
}

/* cluster: an installed one has its API on 6443 and Traefik's NodePorts on 30080 and 30443; every
 * container gets requests and limits by default. */
static void cluster_defaults(struct bp_cluster *cl)
{
	if (!cl->present)
		return;
	int_default(&cl->api_port, 6443);
	if (cl->kubeconfig == NULL) {
		int_default(&cl->ingress_http, 30080);
		int_default(&cl->ingress_https, 30443);
	}
	for (size_t i = 0; i < cl->nnamespaces; i++) {
		struct bp_namespace *ns = &cl->namespaces[i];
		str_default(&ns->limit_cpu, "500m");
		str_default(&ns->limit_memory, "512Mi");
		str_default(&ns->request_cpu, "100m");
		str_default(&ns->request_memory, "128Mi");
	}
}

/* Fill every default into the model. */
void bp_defaults_fill(struct bp_blueprint *bp)
{
	lifetime_defaults(&bp->lifetime);
	site_defaults(&bp->site);
	for (size_t i = 0; i < bp->nnetworks; i++)
		network_defaults(&bp->networks[i]);
	for (size_t i = 0; i < bp->nnodes; i++)
		node_defaults(&bp->nodes[i]);
	for (size_t i = 0; i < bp->nmachines; i++)
		int_default(&bp->machines[i].bmc.port, 623);
	bgp_defaults(&bp->bgp);
	for (size_t i = 0; i < bp->nvips; i++)
		int_default(&bp->vips[i].rate_per_10s, 100);
	database_defaults(&bp->database);
	cluster_defaults(&bp->cluster);
}
