/* bp_json — the resolved model as canonical JSON (sorted keys, 2-space indent); its hash. */
#include "bp_int.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

/* A string or null; bytes of invalid UTF-8 (from --var) become '?'. */
static json_t *jstr(const char *s)
{
	if (s == NULL)
		return json_null();
	json_t *j = json_string(s);
	if (j)
		return j;
	char *t = xstrdup(s);
	for (char *p = t; *p; p++)
		if ((unsigned char)*p >= 0x80)
			*p = '?';
	j = json_string(t);
	free(t);
	return j;
}

/* A list of strings. */
static json_t *jstrs(char *const *v, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, jstr(v[i]));
	return a;
}

/* Set several members at once from a NULL-terminated list of key, value pairs. */
static json_t *jobj(const char *key, ...)
{
	json_t *o = json_object();
	va_list ap;
	va_start(ap, key);
	for (const char *k = key; k; k = va_arg(ap, const char *))
		json_object_set_new_nocheck(o, k, va_arg(ap, json_t *));
	va_end(ap);
	return o;
}

/* The site and its image. */
static json_t *site_json(const struct bp_site *s)
{
	const struct bp_image *im = &s->image;
	json_t *image = jobj("path", jstr(im->path), "url", jstr(im->url), "sha256", jstr(im->sha256),
		"recipe", jstr(im->recipe), "kernel", jstr(im->kernel), "initrd", jstr(im->initrd),
		"cmdline", jstr(im->cmdline), NULL);
	json_t *site = jobj("provider", jstr(s->provider), "uri", jstr(s->uri), "pool", jstr(s->pool),
		"pool_path", jstr(s->pool_path), "domain_type", jstr(s->domain_type), "image", image, NULL);
	if (s->nhosts) { /* only then: the JSON of blueprints without hosts stays as it was */
		json_t *h = json_array();
		for (size_t i = 0; i < s->nhosts; i++)
			json_array_append_new(h, json_string(s->hosts[i]));
		json_object_set_new(site, "hosts", h);
	}
	return site;
}

/* The networks. */
static json_t *networks_json(const struct bp_blueprint *bp)
{
	json_t *a = json_array();
	for (size_t i = 0; i < bp->nnetworks; i++) {
		const struct bp_network *n = &bp->networks[i];
		json_array_append_new(a, jobj("name", jstr(n->name), "cidr", jstr(n->cidr), "mode",
			jstr(n->mode == BP_NET_ISOLATED ? "isolated" : "nat"), NULL));
	}
	return a;
}

/* One node. */
static json_t *node_json(const struct bp_node *n)
{
	json_t *bmc = jobj("address", jstr(n->bmc.address), "port", json_integer(n->bmc.port),
		"user", jstr(n->bmc.user), "password", jstr(n->bmc.password), NULL);
	return jobj("name", jstr(n->name), "count", json_integer(n->count), "cpus", json_integer(n->cpus),
		"memory", json_integer((json_int_t)n->memory), "disk", json_integer((json_int_t)n->disk),
		"roles", jstrs(n->roles, n->nroles), "networks", jstrs(n->networks, n->nnetworks),
		"provider", jstr(n->provider), "bmc", bmc, "mac", jstr(n->mac), "boot", jstr(n->boot),
		"wipe", json_boolean(n->wipe), "disk_dev", jstr(n->disk_dev), "match", jstrs(n->match, n->nmatch), NULL);
}

/* The capacity pool. */
static json_t *machines_json(const struct bp_blueprint *bp)
{
	json_t *a = json_array();
	for (size_t i = 0; i < bp->nmachines; i++) {
		const struct bp_machine *m = &bp->machines[i];
		json_t *bmc = jobj("address", jstr(m->bmc.address), "port", json_integer(m->bmc.port),
			"user", jstr(m->bmc.user), "password", jstr(m->bmc.password), NULL);
		json_array_append_new(a, jobj("name", jstr(m->name), "bmc", bmc, "mac", jstr(m->mac),
			"tags", jstrs(m->tags, m->ntags), NULL));
	}
	return a;
}

/* The vips. */
static json_t *vips_json(const struct bp_blueprint *bp)
{
	json_t *a = json_array();
	for (size_t i = 0; i < bp->nvips; i++) {
		const struct bp_vip *v = &bp->vips[i];
		json_array_append_new(a, jobj("name", jstr(v->name), "port", json_integer(v->port),
			"backend_nodes", jstr(v->backend_nodes), "backend_port", json_integer(v->backend_port),
			"rate_limit", json_boolean(v->rate_limit), "rate_per_10s", json_integer(v->rate_per_10s),
			NULL));
	}
	return a;
}

/* The database section. */
static json_t *database_json(const struct bp_database *d)
{
	json_t *dbs = json_array();
	for (size_t i = 0; i < d->ndbs; i++)
		json_array_append_new(dbs, jobj("name", jstr(d->dbs[i].name), "owner", jstr(d->dbs[i].owner), NULL));
	return jobj("present", json_boolean(d->present), "databases", dbs, "pool_mode", jstr(d->pool_mode),
		"default_pool_size", json_integer(d->default_pool_size),
		"max_client_conn", json_integer(d->max_client_conn), NULL);
}

/* The mocks section. */
static json_t *mocks_json(const struct bp_mocks *m)
{
	return jobj("present", json_boolean(m->present), "sms", json_boolean(m->sms),
		"mail", json_boolean(m->mail), "payment", json_boolean(m->payment),
		"payment_webhook_url", jstr(m->payment_webhook_url),
		"sms_callback_url", jstr(m->sms_callback_url), NULL);
}

/* An artifact. */
static json_t *artifact_json(const struct bp_artifact *a)
{
	return a->present ? jobj("path", jstr(a->path), "url", jstr(a->url), "sha256", jstr(a->sha256), NULL) :
		json_null();
}

/* The cluster section. */
static json_t *cluster_json(const struct bp_cluster *cl)
{
	json_t *ns = json_array();
	for (size_t i = 0; i < cl->nnamespaces; i++) {
		const struct bp_namespace *n = &cl->namespaces[i];
		json_array_append_new(ns, jobj("name", jstr(n->name), "quota_cpu", jstr(n->quota_cpu), "quota_memory",
			jstr(n->quota_memory), "quota_pods", json_integer(n->quota_pods), "limit_cpu", jstr(n->limit_cpu),
			"limit_memory", jstr(n->limit_memory), "request_cpu", jstr(n->request_cpu), "request_memory",
			jstr(n->request_memory), NULL));
	}
	return jobj("present", json_boolean(cl->present), "bundle", jstr(cl->bundle), "k3s", artifact_json(&cl->k3s),
		"images", artifact_json(&cl->images), "api_port", json_integer(cl->api_port), "ingress_http",
		json_integer(cl->ingress_http), "ingress_https", json_integer(cl->ingress_https), "kubeconfig",
		jstr(cl->kubeconfig), "context", jstr(cl->context), "namespaces", ns, NULL);
}

/* The apps. */
static json_t *apps_json(const struct bp_blueprint *bp)
{
	json_t *a = json_array();
	for (size_t i = 0; i < bp->napps; i++) {
		const struct bp_app *app = &bp->apps[i];
		json_array_append_new(a, jobj("name", jstr(app->name), "manifests", jstr(app->manifests), "chart",
			jstr(app->chart), "values", jstr(app->values), "namespace", jstr(app->namespace), NULL));
	}
	return a;
}

/* The whole model ("notify" only when given, so older models keep their hash). */
static json_t *bp_json(const struct bp_blueprint *bp)
{
	const struct bp_lifetime *l = &bp->lifetime;
	json_t *nodes = json_array();
	for (size_t i = 0; i < bp->nnodes; i++)
		json_array_append_new(nodes, node_json(&bp->nodes[i]));
	json_t *j = jobj("apiVersion", jstr(bp->api_version), "name", jstr(bp->name),
		"lifetime", jobj("ttl", json_integer(l->ttl), "max_ttl", json_integer(l->max_ttl),
			"permanent", json_boolean(l->permanent), "protect", json_boolean(l->protect), NULL),
		"site", site_json(&bp->site), "networks", networks_json(bp), "nodes", nodes, "machines", machines_json(bp),
		"bgp", jobj("router_as", json_integer(bp->bgp.router_as), "lb_as", json_integer(bp->bgp.lb_as), NULL),
		"vips", vips_json(bp), "database", database_json(&bp->database),
		"mocks", mocks_json(&bp->mocks), "secrets", jstrs(bp->secret_names, bp->nsecret_names),
		"cluster", cluster_json(&bp->cluster), "apps", apps_json(bp), NULL);
	if (bp->notify.present)
		json_object_set_new(j, "notify", jobj("webhook", jstr(bp->notify.webhook), "secret",
			jstr(bp->notify.secret), NULL));
	return j;
}

/* The canonical JSON of the model. */
char *bp_to_json(const struct bp_blueprint *bp)
{
	json_t *j = bp_json(bp);
	char *s = json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS);
	json_decref(j);
	if (s == NULL) {
		fprintf(stderr, "sandbox: out of memory (json)\n");
		abort();
	}
	char *r = xstrdup(s);
	free(s);
	return r;
}
