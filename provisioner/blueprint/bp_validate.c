/*
 * bp_validate — the validation pass (libvirt's Validate): run on the complete model, after the
 * schema has converted the tree and the defaults pass has filled it. It checks what spans several
 * fields or sections: lifetime bounds, image sources, node roles, networks and providers, undefined
 * references, names given twice, names PostgreSQL reserves, and which sections and roles need
 * which roles. The tree is walked alongside the model for positions; a section the schema rejected
 * (not a mapping) is not checked again.
 */
#include "bp_schema.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A section as the schema converted it (a mapping or null), else NULL. */
static const struct bp_tree *as_map(const struct bp_tree *v)
{
	return v && (v->kind == BP_TREE_MAP || bp_tree_is_null(v)) ? v : NULL;
}

/* The item i of a list as the schema converted it, else NULL. */
static const struct bp_tree *item_map(const struct bp_tree *list, size_t i)
{
	return list && list->kind == BP_TREE_SEQ && i < list->n ? as_map(list->ents[i].val) : NULL;
}

/* The position of a map value, else of the map. */
static struct bp_pos val_pos(const struct bp_tree *m, const char *key)
{
	const struct bp_tree *v = bp_tree_get(m, key);
	return v ? v->pos : m->pos;
}

/* Report an undefined reference, suggesting a close name. */
static void undefined_ref(struct bp_ctx *c, struct bp_pos pos, const char *owner, const char *kind,
	const char *name, const struct bp_key *k, size_t nk)
{
	const char **cands = xcalloc(nk, sizeof(*cands));
	for (size_t i = 0; i < nk; i++)
		cands[i] = k[i].name;
	const char *near = bp_suggest(name, cands, nk);
	if (near)
		bp_errf(c, pos, "%s: undefined %s \"%s\" (did you mean \"%s\"?)", owner, kind, name, near);
	else
		bp_errf(c, pos, "%s: undefined %s \"%s\"", owner, kind, name);
	free(cands);
}

/* image: a source, url with sha256. */
static void image_check(struct bp_ctx *c, const struct bp_tree *m)
{
	if (!bp_tree_get(m, "path") && !bp_tree_get(m, "url") && !bp_tree_get(m, "recipe"))
		bp_errf(c, m->pos, "image: expected at least one of path, url or recipe");
	if (bp_tree_get(m, "url") && !bp_tree_get(m, "sha256"))
		bp_errf(c, val_pos(m, "url"), "image: url needs sha256 (the image's SHA-256, 64 hex digits)");
}

/* site.hosts: each an allowed libvirt URI, none twice. */
static void hosts_check(struct bp_ctx *c, const struct bp_tree *m, const struct bp_site *s)
{
	const struct bp_tree *l = bp_tree_get(m, "hosts");
	for (size_t i = 0; l && l->kind == BP_TREE_SEQ && i < l->n && i < s->nhosts; i++) {
		char *why = bp_uri_problem(s->hosts[i]);
		if (why)
			bp_errf(c, l->ents[i].val->pos, "hosts: %s", why);
		for (size_t k = 0; k < i && !why; k++)
			if (strcmp(s->hosts[k], s->hosts[i]) == 0)
				bp_errf(c, l->ents[i].val->pos, "hosts: %s is listed twice", s->hosts[i]);
		free(why);
	}
}

/* A duration as written (or formatted when defaulted). */
static const char *dur_text(const struct bp_tree *m, const char *key, int64_t secs, char *buf, size_t len)
{
	const struct bp_tree *v = bp_tree_get(m, key);
	if (v && v->kind == BP_TREE_SCALAR) {
		snprintf(buf, len, "%s", v->str);
		return buf;
	}
	return sbx_fmt_duration(secs, buf, len);
}

/* lifetime: permanent excludes ttl; ttl within max_ttl. */
static void lifetime_check(struct bp_ctx *c, const struct bp_tree *m, const struct bp_lifetime *l)
{
	static const char *const keys[] = {"ttl", "max_ttl"};
	char a[32], b[32];
	if (l->permanent) {
		for (size_t i = 0; i < SBX_NELEM(keys); i++)
			if (bp_tree_get(m, keys[i]))
				bp_errf(c, bp_tree_ent(m, keys[i])->kpos, "%s: a permanent blueprint does not "
					"expire (remove %s, or set permanent: false)", keys[i], keys[i]);
		return;
	}
	if (l->ttl > l->max_ttl)
		bp_errf(c, val_pos(m, bp_tree_get(m, "ttl") ? "ttl" : "max_ttl"),
			"ttl: %s is longer than max_ttl %s%s", dur_text(m, "ttl", l->ttl, a, sizeof(a)),
			dur_text(m, "max_ttl", l->max_ttl, b, sizeof(b)),
			bp_tree_get(m, "max_ttl") ? "" : " (the default)");
}

/* bgp: eBGP needs two AS numbers. */
static void bgp_check(struct bp_ctx *c, const struct bp_tree *m, const struct bp_bgp *g)
{
	if (g->router_as == g->lb_as)
		bp_errf(c, m->pos, "bgp: router_as and lb_as must differ (the load balancers peer with the "
			"router over eBGP)");
}

/* "node \"web\"" for messages. */
static const char *node_label(const struct bp_node *n, char *buf, size_t len)
{
	snprintf(buf, len, "node \"%s\"", n->name ? n->name : "?");
	return buf;
}

/* Whether item i of a small list repeats an earlier one. */
static bool listed_before(const struct bp_tree *seq, size_t i)
{
	for (size_t j = 0; j < i; j++)
		if (seq->ents[j].val->kind == BP_TREE_SCALAR && strcmp(seq->ents[j].val->str, seq->ents[i].val->str) == 0)
			return true;
	return false;
}

/* node.roles: known, once each. */
static void node_check_roles(struct bp_ctx *c, const struct bp_tree *m, const struct bp_node *n)
{
	const struct bp_tree *r = bp_tree_get(m, "roles");
	char lab[64];
	size_t nk = 0;
	while (bp_known_roles[nk])
		nk++;
	for (size_t i = 0; r && r->kind == BP_TREE_SEQ && i < r->n; i++) {
		const struct bp_tree *it = r->ents[i].val;
		if (it->kind != BP_TREE_SCALAR || bp_tree_is_null(it))
			continue;
		const char *near = bp_suggest(it->str, (const char *const *)bp_known_roles, nk);
		size_t k = 0;
		while (k < nk && strcmp(bp_known_roles[k], it->str) != 0)
			k++;
		if (k == nk)
			bp_errf(c, it->pos, "%s: unknown role \"%s\"%s%s%s", node_label(n, lab, sizeof(lab)),
				it->str, near ? " (did you mean \"" : "", near ? near : "", near ? "\"?)" : "");
		else if (listed_before(r, i))
			bp_errf(c, it->pos, "%s: role \"%s\" listed twice", node_label(n, lab, sizeof(lab)), it->str);
	}
}

/* node.networks: defined, once each. */
static void node_check_networks(struct bp_ctx *c, const struct bp_tree *m, const struct bp_node *n)
{
	const struct bp_tree *r = bp_tree_get(m, "networks");
	char lab[64];
	for (size_t i = 0; r && r->kind == BP_TREE_SEQ && i < r->n; i++) {
		const struct bp_tree *it = r->ents[i].val;
		if (it->kind != BP_TREE_SCALAR || bp_tree_is_null(it))
			continue;
		node_label(n, lab, sizeof(lab));
		if (bp_keys_find(c->netkeys, c->nnetkeys, it->str) < 0)
			undefined_ref(c, it->pos, lab, "network", it->str, c->netkeys, c->nnetkeys);
		else if (listed_before(r, i))
			bp_errf(c, it->pos, "%s: network \"%s\" listed twice", lab, it->str);
	}
}

/* node.provider: ipmi needs a bmc and is one machine; libvirt needs a network. */
static void node_check_provider(struct bp_ctx *c, const struct bp_tree *m, const struct bp_node *n)
{
	char lab[64];
	const struct bp_tree *nets = bp_tree_get(m, "networks");
	node_label(n, lab, sizeof(lab));
	if (sbx_streq(n->provider, "ipmi")) {
		if (!bp_tree_get(m, "bmc") && !bp_tree_get(m, "match"))
			bp_errf(c, val_pos(m, "provider"), "%s: provider ipmi needs bmc: { address: ..., user: ..., "
				"password: ... } (or match: { TAG: VALUE } to take a machine of machines:)", lab);
		if (bp_tree_get(m, "bmc") && bp_tree_get(m, "match"))
			bp_errf(c, bp_tree_ent(m, "match")->kpos, "%s: match picks a machine of machines:; give either "
				"bmc or match, not both", lab);
		if (bp_tree_get(m, "match") && bp_tree_get(m, "mac"))
			bp_errf(c, bp_tree_ent(m, "mac")->kpos, "%s: mac comes with the machine match picks", lab);
		if (bp_tree_get(m, "match") && !c->has_machines)
			bp_errf(c, bp_tree_ent(m, "match")->kpos, "%s: match needs a machines: section to pick from", lab);
		if (n->count != 1)
			bp_errf(c, val_pos(m, "count"), "%s: an ipmi node is one machine; count must be 1", lab);
		const struct bp_tree *d = bp_tree_get(m, "disk");
		uint64_t size;
		if (d && d->kind == BP_TREE_SCALAR && !d->bad && sbx_parse_size(d->str, &size) == 0)
			bp_errf(c, val_pos(m, "disk"), "%s: disk: a machine installs to a device; expected a device "
				"path like /dev/sda, not a size", lab);
		if (n->wipe && n->disk_dev == NULL)
			bp_errf(c, val_pos(m, "wipe"), "%s: wipe: true needs the disk to wipe (disk: /dev/...)", lab);
		return;
	}
	if (n->disk_dev)
		bp_errf(c, val_pos(m, "disk"), "%s: disk: a device path is only valid with provider: ipmi (a VM's "
			"disk is a size like 20Gi)", lab);
	static const char *const ipmi_only[] = {"bmc", "mac", "boot", "wipe", "match"};
	for (size_t i = 0; i < SBX_NELEM(ipmi_only); i++)
		if (bp_tree_get(m, ipmi_only[i]))
			bp_errf(c, bp_tree_ent(m, ipmi_only[i])->kpos, "%s: %s is only valid with provider: ipmi",
				lab, ipmi_only[i]);
	if (nets == NULL || (nets->kind == BP_TREE_SEQ && nets->n == 0))
		bp_errf(c, m->pos, "%s: missing required key \"networks\" (a libvirt node needs at least one "
			"network; the first one carries SSH)", lab);
}

/* Whether the node named `name` carries a k3s role. */
static bool k3s_node(const struct bp_blueprint *bp, const char *name)
{
	for (size_t i = 0; i < bp->nnodes; i++)
		if (sbx_streq(bp->nodes[i].name, name))
			return bp_node_has_role(&bp->nodes[i], "k3s-server") || bp_node_has_role(&bp->nodes[i], "k3s-agent");
	return false;
}

/* vip: the backend names a node; on the cluster's nodes it is a NodePort (where the ingress
 * controller or an app's NodePort Service listens on every node). */
static void vip_check(struct bp_ctx *c, const struct bp_tree *m, const struct bp_vip *v,
	const struct bp_blueprint *bp)
{
	const struct bp_tree *be = bp_tree_get(m, "backend"), *nodes = bp_tree_get(be, "nodes");
	char lab[64];
	snprintf(lab, sizeof(lab), "vip \"%s\"", v->name ? v->name : "?");
	if (v->backend_nodes == NULL || nodes == NULL)
		return;
	if (bp_keys_find(c->nodekeys, c->nnodekeys, v->backend_nodes) < 0) {
		undefined_ref(c, nodes->pos, lab, "node", v->backend_nodes, c->nodekeys, c->nnodekeys);
		return;
	}
	if (k3s_node(bp, v->backend_nodes) && bp_tree_get(be, "port") && (v->backend_port < 30000 ||
		v->backend_port > 32767))
		bp_errf(c, val_pos(be, "port"), "%s: backend.port %d: nodes \"%s\" run k3s, where services are reached on "
			"a NodePort (30000-32767): the ingress controller's (cluster.ingress: https 30443, http 30080 by "
			"default) or an app's NodePort Service", lab, v->backend_port, v->backend_nodes);
}

/* Whether PostgreSQL or pgbouncer reserve a name: its superuser, the template databases, the
 * pooler's own user and the pg_ prefix of the system catalogs and roles. */
static bool pg_reserved(const char *name)
{
	static const char *const reserved[] = {"postgres", "template0", "template1", "pgbouncer"};
	for (size_t i = 0; i < SBX_NELEM(reserved); i++)
		if (strcmp(name, reserved[i]) == 0)
			return true;
	return sbx_has_prefix(name, "pg_");
}

/* database.databases: a name or owner given in the blueprint is not reserved. */
static void db_check(struct bp_ctx *c, const struct bp_tree *m, const struct bp_db *d)
{
	static const char *const keys[] = {"name", "owner"};
	const char *const vals[] = {d->name, d->owner};
	for (size_t i = 0; i < SBX_NELEM(keys); i++)
		if (vals[i] && bp_tree_get(m, keys[i]) && pg_reserved(vals[i]))
			bp_errf(c, val_pos(m, keys[i]), "%s: \"%s\" is reserved by PostgreSQL (postgres, template0, "
				"template1, pgbouncer and names starting with pg_ cannot be used)", keys[i], vals[i]);
}

/* Whether any node has a role. */
static bool any_role(const struct bp_blueprint *bp, const char *role)
{
	for (size_t i = 0; i < bp->nnodes; i++)
		if (bp_node_has_role(&bp->nodes[i], role))
			return true;
	return false;
}

/* The position of the first node's `role` in its roles list (else of the node). */
static struct bp_pos role_pos(const struct bp_tree *root, const struct bp_blueprint *bp, const char *role)
{
	const struct bp_tree *nodes = bp_tree_get(root, "nodes");
	for (size_t i = 0; i < bp->nnodes; i++) {
		const struct bp_tree *m = item_map(nodes, i), *r = bp_tree_get(m, "roles");
		for (size_t k = 0; bp_node_has_role(&bp->nodes[i], role) && r && r->kind == BP_TREE_SEQ && k < r->n; k++)
			if (r->ents[k].val->kind == BP_TREE_SCALAR && strcmp(r->ents[k].val->str, role) == 0)
				return r->ents[k].val->pos;
		if (bp_node_has_role(&bp->nodes[i], role))
			return bp->nodes[i].pos;
	}
	return root->pos;
}

/* Whether the mocks section enables a mock. */
static bool mocks_enabled(const struct bp_mocks *m)
{
	return m->present && (m->sms || m->mail || m->payment);
}

/* What needs which role: the VIPs, the database and the mocks a node to run on; a load balancer a
 * router to peer with; a mocks node something to run. */
static void roles_check(struct bp_ctx *c, const struct bp_tree *m, const struct bp_blueprint *bp)
{
	const struct bp_ent *e;
	char lab[64];
	if ((e = bp_tree_ent(m, "vips")) && bp->nvips > 0 && !any_role(bp, "lb"))
		bp_errf(c, e->kpos, "vips: no node has role lb (the load balancers carry the VIPs)");
	if ((e = bp_tree_ent(m, "database")) && !any_role(bp, "postgres"))
		bp_errf(c, e->kpos, "database: no node has role postgres");
	if ((e = bp_tree_ent(m, "mocks")) && !any_role(bp, "mocks"))
		bp_errf(c, e->kpos, "mocks: no node has role mocks (the mocks run on a node with role mocks)");
	if (any_role(bp, "lb") && !any_role(bp, "router"))
		bp_errf(c, role_pos(m, bp, "lb"), "role lb needs a node with role router (the load balancers announce "
			"the VIPs to it over BGP)");
	for (size_t i = 0; !mocks_enabled(&bp->mocks) && i < bp->nnodes; i++)
		if (bp_node_has_role(&bp->nodes[i], "mocks")) {
			bp_errf(c, role_pos(m, bp, "mocks"), "%s: role mocks has nothing to run: no mocks: section enables a "
				"mock (add mocks: { sms: {}, mail: {}, payment: {} })",
				node_label(&bp->nodes[i], lab, sizeof(lab)));
			break;
		}
}

/* Whether a node is a machine that boots from the network (its MAC given, or one of the pool's). */
static bool netboots(const struct bp_node *n)
{
	return sbx_streq(n->provider, "ipmi") && (n->mac || n->nmatch);
}

/* The blueprint: what needs which role; libvirt nodes need an image, and machines that boot from
 * the network one with a kernel and initrd (a recipe's, or given). */
static void top_check(struct bp_ctx *c, const struct bp_tree *m, const struct bp_blueprint *bp)
{
	bool libvirt = false, netboot = false;
	roles_check(c, m, bp);
	for (size_t i = 0; i < bp->nnodes; i++) {
		libvirt = libvirt || sbx_streq(bp->nodes[i].provider, "libvirt");
		netboot = netboot || netboots(&bp->nodes[i]);
	}
	const struct bp_tree *img = bp_tree_get(bp_tree_get(m, "site"), "image");
	if ((libvirt || netboot) && !img) {
		const struct bp_ent *s = bp_tree_ent(m, "site");
		bp_errf(c, s ? s->kpos : m->pos, "missing required key \"image\" in site (%s need a base image: "
			"{ recipe: debian-12 }, { path: ... } or { url: ..., sha256: ... })",
			libvirt ? "libvirt nodes" : "machines that boot from the network");
	} else if (netboot && !bp->site.image.recipe && !(bp->site.image.kernel && bp->site.image.initrd))
		bp_errf(c, img->pos, "site.image: machines that boot from the network need the image's kernel and "
			"initrd: give kernel and initrd, or a recipe (recipe: debian-12)");
}

/* An artifact: exactly one source. */
static void artifact_check(struct bp_ctx *c, const struct bp_tree *m, const char *what)
{
	if ((bp_tree_get(m, "path") != NULL) == (bp_tree_get(m, "url") != NULL))
		bp_errf(c, m->pos, "cluster.%s: expected exactly one of path or url (with its sha256)", what);
}

/* How the cluster comes to be: installed (k3s roles + artifacts) or attached (kubeconfig). */
static void cluster_source_check(struct bp_ctx *c, const struct bp_tree *m, const struct bp_blueprint *bp,
	const struct bp_tree *root)
{
	const struct bp_cluster *cl = &bp->cluster;
	bool k3s = any_role(bp, "k3s-server") || any_role(bp, "k3s-agent");
	bool files = cl->bundle || cl->k3s.present || cl->images.present;
	if (cl->kubeconfig && (k3s || files))
		bp_errf(c, val_pos(m, "kubeconfig"), "cluster: kubeconfig attaches an existing cluster; it cannot be "
			"combined with k3s roles or k3s artifacts (bundle, k3s, images)");
	else if (!cl->kubeconfig && !k3s)
		bp_errf(c, m->pos, "cluster: expected nodes with role k3s-server (install k3s) or kubeconfig "
			"(attach an existing cluster)");
	if (cl->bundle && (cl->k3s.present || cl->images.present))
		bp_errf(c, val_pos(m, "bundle"), "cluster: bundle and k3s/images are alternatives: give a bundle "
			"directory, or both k3s and images");
	else if (!cl->kubeconfig && k3s && !cl->bundle && !(cl->k3s.present && cl->images.present))
		bp_errf(c, m->pos, "cluster: k3s needs its artifacts: bundle: DIR (with k3s, "
			"k3s-airgap-images-amd64.tar.zst and sha256sum-amd64.txt from a k3s release), or k3s: and images: "
			"{ path or url, sha256 }");
	if (any_role(bp, "k3s-agent") && !any_role(bp, "k3s-server"))
		bp_errf(c, role_pos(root, bp, "k3s-agent"), "role k3s-agent needs a node with role k3s-server to join");
}

/* Whether a and b are scalars with the same text (values the blueprint gave, not defaults). */
static bool scalar_eq(const struct bp_tree *a, const struct bp_tree *b)
{
	return a && b && a->kind == BP_TREE_SCALAR && b->kind == BP_TREE_SCALAR && sbx_streq(a->str, b->str);
}

/* cluster.ingress: the installed k3s's Traefik, on two different NodePorts. */
static void ingress_check(struct bp_ctx *c, const struct bp_tree *m, const struct bp_cluster *cl)
{
	const struct bp_ent *e = bp_tree_ent(m, "ingress");
	const struct bp_tree *in = as_map(bp_tree_get(m, "ingress"));
	if (e == NULL)
		return;
	if (cl->kubeconfig)
		bp_errf(c, e->kpos, "cluster.ingress: sets the NodePorts of the ingress controller of the k3s this "
			"blueprint installs; an attached cluster's ingress is its own (remove ingress, or install k3s)");
	else if (in && cl->ingress_http == cl->ingress_https && scalar_eq(bp_tree_get(in, "http"), bp_tree_get(in, "https")))
		bp_errf(c, val_pos(in, "https"), "cluster.ingress: http and https need different NodePorts (both are %d)",
			cl->ingress_https);
}

/* The cluster section, its artifacts and namespaces. */
static void cluster_check(struct bp_ctx *c, const struct bp_tree *root, const struct bp_blueprint *bp)
{
	const struct bp_tree *m = as_map(bp_tree_get(root, "cluster")), *a;
	if (m == NULL) {
		if (any_role(bp, "k3s-server") || any_role(bp, "k3s-agent"))
			bp_errf(c, role_pos(root, bp, any_role(bp, "k3s-server") ? "k3s-server" : "k3s-agent"),
				"k3s roles need a cluster: section with the k3s artifacts (bundle: DIR, or k3s: and images:)");
		return;
	}
	cluster_source_check(c, m, bp, root);
	if ((a = as_map(bp_tree_get(m, "k3s"))))
		artifact_check(c, a, "k3s");
	if ((a = as_map(bp_tree_get(m, "images"))))
		artifact_check(c, a, "images");
	ingress_check(c, m, &bp->cluster);
	bp_schema_dup_names(c, bp->cluster.namespaces, bp->cluster.nnamespaces, &bp_tables_namespace);
}

/* An app: one source, in a namespace of the cluster. */
static void app_check(struct bp_ctx *c, const struct bp_tree *m, const struct bp_app *app, const struct bp_key *ns,
	size_t nns)
{
	if ((bp_tree_get(m, "manifests") != NULL) == (bp_tree_get(m, "chart") != NULL))
		bp_errf(c, m->pos, "app %s: expected exactly one of manifests (a file or directory) or chart",
			app->name ? app->name : "?");
	if (app->values && !app->chart)
		bp_errf(c, val_pos(m, "values"), "app %s: values goes with chart", app->name ? app->name : "?");
	if (app->namespace && bp_keys_find(ns, nns, app->namespace) < 0)
		undefined_ref(c, val_pos(m, "namespace"), "app", "namespace", app->namespace, ns, nns);
}

/* The apps: a cluster to run on, one source each, names once. */
static void apps_check(struct bp_ctx *c, const struct bp_tree *root, const struct bp_blueprint *bp)
{
	const struct bp_tree *apps = bp_tree_get(root, "apps"), *m;
	const struct bp_ent *e = bp_tree_ent(root, "apps");
	size_t nns = 0;
	if (bp->napps && !bp->cluster.present && e)
		bp_errf(c, e->kpos, "apps: there is no cluster to apply them to (add a cluster: section)");
	struct bp_key *ns = bp_schema_keys(bp->cluster.namespaces, bp->cluster.nnamespaces, &bp_tables_namespace, &nns);
	for (size_t i = 0; i < bp->napps; i++)
		if ((m = item_map(apps, i)))
			app_check(c, m, &bp->apps[i], ns, nns);
	free(ns);
	bp_schema_dup_names(c, bp->apps, bp->napps, &bp_tables_app);
}

/* Machines or an attached cluster: a blueprint describes at least one. */
static void nodes_needed(struct bp_ctx *c, const struct bp_tree *root, const struct bp_blueprint *bp)
{
	const struct bp_tree *v = bp_tree_get(root, "nodes");
	if (bp->nnodes > 0 || bp->cluster.kubeconfig || (v && v->kind != BP_TREE_SEQ && !bp_tree_is_null(v)))
		return;
	if (v)
		bp_errf(c, v->pos, "nodes: expected at least one node (or cluster.kubeconfig, to run on an existing "
			"cluster without machines)");
	else
		bp_errf(c, root->pos, "missing required key \"nodes\" in blueprint (or cluster.kubeconfig, to run on an "
			"existing cluster without machines)");
}

/* The networks and the nodes: names once each, references defined, roles and providers sound. */
static void lists_check(struct bp_ctx *c, const struct bp_tree *root, const struct bp_blueprint *bp)
{
	const struct bp_tree *nodes = bp_tree_get(root, "nodes");
	const struct bp_tree *m;
	free(c->netkeys);
	free(c->nodekeys);
	c->netkeys = bp_schema_keys(bp->networks, bp->nnetworks, &bp_tables_network, &c->nnetkeys);
	c->nodekeys = bp_schema_keys(bp->nodes, bp->nnodes, &bp_tables_node, &c->nnodekeys);
	c->has_machines = bp->nmachines > 0;
	bp_schema_dup_names(c, bp->networks, bp->nnetworks, &bp_tables_network);
	for (size_t i = 0; i < bp->nnodes; i++)
		if ((m = item_map(nodes, i))) {
			node_check_roles(c, m, &bp->nodes[i]);
			node_check_networks(c, m, &bp->nodes[i]);
			node_check_provider(c, m, &bp->nodes[i]);
		}
	bp_schema_dup_names(c, bp->nodes, bp->nnodes, &bp_tables_node);
	bp_schema_dup_names(c, bp->machines, bp->nmachines, &bp_tables_machine);
}

/* Check the complete model, in the order of the schema (lifetime, site, networks, nodes, bgp, vips,
 * database), then what spans sections. */
void bp_validate_model(struct bp_ctx *c, const struct bp_tree *root, const struct bp_blueprint *bp)
{
	const struct bp_tree *m, *vips = bp_tree_get(root, "vips");
	if (bp->name && strcmp(bp->name, SBX_POOL_ENV) == 0)
		bp_errf(c, val_pos(root, "name"), "name: \"%s\" is reserved for the warm pool's objects: expected another "
			"environment name", bp->name);
	if ((m = as_map(bp_tree_get(root, "lifetime"))))
		lifetime_check(c, m, &bp->lifetime);
	if ((m = as_map(bp_tree_get(root, "site"))))
		hosts_check(c, m, &bp->site);
	if ((m = as_map(bp_tree_get(root, "site"))) && (m = as_map(bp_tree_get(m, "image"))))
		image_check(c, m);
	lists_check(c, root, bp);
	if ((m = as_map(bp_tree_get(root, "bgp"))))
		bgp_check(c, m, &bp->bgp);
	for (size_t i = 0; i < bp->nvips; i++)
		if ((m = item_map(vips, i)))
			vip_check(c, m, &bp->vips[i], bp);
	bp_schema_dup_names(c, bp->vips, bp->nvips, &bp_tables_vip);
	bp_schema_dup_names(c, bp->database.dbs, bp->database.ndbs, &bp_tables_db);
	const struct bp_tree *dbs = bp_tree_get(as_map(bp_tree_get(root, "database")), "databases");
	for (size_t i = 0; i < bp->database.ndbs; i++)
		if ((m = item_map(dbs, i)))
			db_check(c, m, &bp->database.dbs[i]);
	top_check(c, root, bp);
	cluster_check(c, root, bp);
	apps_check(c, root, bp);
	nodes_needed(c, root, bp);
}
