/*
 * bp_tables — the schema of a blueprint as data: one table of fields per section (site, image,
 * lifetime, networks, nodes, bmc, machines, bgp, vips, backend, rate_limit, database, pooler, mocks, cluster,
 * namespaces, apps), the
 * choices of its enumerations and the roles a node may carry. The engine that reads these tables is
 * bp_schema.c; defaults are filled by bp_defaults.c, cross-field checks made by bp_validate.c.
 */
#include "bp_schema.h"

#include <stddef.h>

/* The one list of role names a blueprint accepts (the role registry is checked against it). */
const char *const bp_known_roles[] = {
	"router", "lb", "k3s-server", "k3s-agent", "postgres", "mocks", "plain", NULL,
};

#define FLD(k, t, T, m, ...) {.key = (k), .type = (t), .off = offsetof(T, m), __VA_ARGS__}
#define SCHEMA(w, T, f, ...) {.what = (w), .fields = (f), .n = SBX_NELEM(f), .size = sizeof(T), __VA_ARGS__}

static const char *const api_versions[] = {"sandbox/v1", NULL};
static const char *const providers_site[] = {"libvirt", NULL};
static const char *const providers_node[] = {"libvirt", "ipmi", NULL};
static const char *const boot_devs[] = {"pxe", NULL};
static const char *const domain_types[] = {"auto", "kvm", "qemu", NULL};
static const char *const net_modes[] = {"nat", "isolated", NULL}; /* enum bp_net_mode order */
static const char *const pool_modes[] = {"transaction", "session", "statement", NULL};

static const struct bp_field image_fields[] = {
	FLD("path", BP_F_PATH, struct bp_image, path),
	FLD("url", BP_F_URL, struct bp_image, url),
	FLD("sha256", BP_F_SHA256, struct bp_image, sha256),
	FLD("recipe", BP_F_NAME, struct bp_image, recipe),
	FLD("kernel", BP_F_PATH, struct bp_image, kernel),
	FLD("initrd", BP_F_PATH, struct bp_image, initrd),
	FLD("cmdline", BP_F_STR, struct bp_image, cmdline),
};
static const struct bp_schema image_schema = SCHEMA("image", struct bp_image, image_fields,
	.pos = BP_OPT(struct bp_image, pos));

static const struct bp_field site_fields[] = {
	FLD("provider", BP_F_CHOICE, struct bp_site, provider, .choices = providers_site),
	FLD("uri", BP_F_URI, struct bp_site, uri),
	FLD("hosts", BP_F_STRS, struct bp_site, hosts, .off_n = offsetof(struct bp_site, nhosts)),
	FLD("pool", BP_F_NAME, struct bp_site, pool),
	FLD("pool_path", BP_F_ABSPATH, struct bp_site, pool_path),
	FLD("domain_type", BP_F_CHOICE, struct bp_site, domain_type, .choices = domain_types),
	FLD("image", BP_F_SUB, struct bp_site, image, .sub = &image_schema),
};
static const struct bp_schema site_schema = SCHEMA("site", struct bp_site, site_fields,
	.pos = BP_OPT(struct bp_site, pos));

static const struct bp_field lifetime_fields[] = {
	FLD("ttl", BP_F_DUR, struct bp_lifetime, ttl, .min = 60, .max = 365 * 86400),
	FLD("max_ttl", BP_F_DUR, struct bp_lifetime, max_ttl, .min = 60, .max = 365 * 86400),
	FLD("permanent", BP_F_BOOL, struct bp_lifetime, permanent),
	FLD("protect", BP_F_BOOL, struct bp_lifetime, protect),
};
static const struct bp_schema lifetime_schema = SCHEMA("lifetime", struct bp_lifetime, lifetime_fields);

static const struct bp_field network_fields[] = {
	FLD("name", BP_F_NAME, struct bp_network, name, .required = true),
	FLD("cidr", BP_F_CIDR, struct bp_network, cidr),
	FLD("mode", BP_F_ENUM, struct bp_network, mode, .choices = net_modes),
};
const struct bp_schema bp_tables_network = SCHEMA("network", struct bp_network, network_fields,
	.pos = BP_OPT(struct bp_network, pos));

static const struct bp_field bmc_fields[] = {
	FLD("address", BP_F_STR, struct bp_bmc, address, .required = true),
	FLD("port", BP_F_INT, struct bp_bmc, port, .min = 1, .max = 65535),
	FLD("user", BP_F_STR, struct bp_bmc, user),
	FLD("password", BP_F_SECRET, struct bp_bmc, password),
};
static const struct bp_schema bmc_schema = SCHEMA("bmc", struct bp_bmc, bmc_fields);

static const struct bp_field machine_fields[] = {
	FLD("name", BP_F_NAME, struct bp_machine, name, .required = true),
	FLD("bmc", BP_F_SUB, struct bp_machine, bmc, .sub = &bmc_schema, .required = true),
	FLD("mac", BP_F_MAC, struct bp_machine, mac),
	FLD("tags", BP_F_TAGS, struct bp_machine, tags, .off_n = offsetof(struct bp_machine, ntags)),
};
const struct bp_schema bp_tables_machine = SCHEMA("machine", struct bp_machine, machine_fields,
	.pos = BP_OPT(struct bp_machine, pos));

static const struct bp_field node_fields[] = {
	FLD("name", BP_F_NAME, struct bp_node, name, .required = true),
	FLD("count", BP_F_INT, struct bp_node, count, .min = 1, .max = 1000),
	FLD("cpus", BP_F_INT, struct bp_node, cpus, .min = 1, .max = 128),
	FLD("memory", BP_F_SIZE, struct bp_node, memory, .min = 64 * BP_MIB, .max = 4 * BP_TIB),
	FLD("disk", BP_F_DISK, struct bp_node, disk, .min = 1 * BP_GIB, .max = 64 * BP_TIB,
		.off_n = offsetof(struct bp_node, disk_dev)),
	FLD("roles", BP_F_STRS, struct bp_node, roles, .off_n = offsetof(struct bp_node, nroles)),
	FLD("networks", BP_F_STRS, struct bp_node, networks, .off_n = offsetof(struct bp_node, nnetworks)),
	FLD("provider", BP_F_CHOICE, struct bp_node, provider, .choices = providers_node),
	FLD("bmc", BP_F_SUB, struct bp_node, bmc, .sub = &bmc_schema),
	FLD("mac", BP_F_MAC, struct bp_node, mac),
	FLD("boot", BP_F_CHOICE, struct bp_node, boot, .choices = boot_devs),
	FLD("wipe", BP_F_BOOL, struct bp_node, wipe),
	FLD("match", BP_F_TAGS, struct bp_node, match, .off_n = offsetof(struct bp_node, nmatch)),
};
const struct bp_schema bp_tables_node = SCHEMA("node", struct bp_node, node_fields,
	.pos = BP_OPT(struct bp_node, pos));

static const struct bp_field bgp_fields[] = {
	FLD("router_as", BP_F_U32, struct bp_bgp, router_as, .min = 1, .max = UINT32_MAX),
	FLD("lb_as", BP_F_U32, struct bp_bgp, lb_as, .min = 1, .max = UINT32_MAX),
};
static const struct bp_schema bgp_schema = SCHEMA("bgp", struct bp_bgp, bgp_fields);

/* vip.backend and vip.rate_limit are mappings whose fields live in the vip itself. */
static const struct bp_field backend_fields[] = {
	FLD("nodes", BP_F_NAME, struct bp_vip, backend_nodes, .required = true),
	FLD("port", BP_F_INT, struct bp_vip, backend_port, .min = 1, .max = 65535, .required = true),
};
static const struct bp_schema backend_schema = SCHEMA("backend", struct bp_vip, backend_fields);

static const struct bp_field rate_fields[] = {
	FLD("per_10s", BP_F_INT, struct bp_vip, rate_per_10s, .min = 1, .max = 1000000),
};
static const struct bp_schema rate_schema = SCHEMA("rate_limit", struct bp_vip, rate_fields,
	.present = BP_OPT(struct bp_vip, rate_limit));

static const struct bp_field vip_fields[] = {
	FLD("name", BP_F_NAME, struct bp_vip, name, .required = true),
	FLD("port", BP_F_INT, struct bp_vip, port, .min = 1, .max = 65535, .required = true),
	{.key = "backend", .type = BP_F_SUB, .off = 0, .sub = &backend_schema, .required = true},
	{.key = "rate_limit", .type = BP_F_SUB, .off = 0, .sub = &rate_schema},
};
const struct bp_schema bp_tables_vip = SCHEMA("vip", struct bp_vip, vip_fields,
	.pos = BP_OPT(struct bp_vip, pos));

static const struct bp_field db_fields[] = {
	FLD("name", BP_F_PGNAME, struct bp_db, name, .required = true),
	FLD("owner", BP_F_PGNAME, struct bp_db, owner),
};
const struct bp_schema bp_tables_db = SCHEMA("database", struct bp_db, db_fields,
	.pos = BP_OPT(struct bp_db, pos));

/* database.pooler: its fields live in the database section itself. */
static const struct bp_field pooler_fields[] = {
	FLD("mode", BP_F_CHOICE, struct bp_database, pool_mode, .choices = pool_modes),
	FLD("default_pool_size", BP_F_INT, struct bp_database, default_pool_size, .min = 1, .max = 10000),
	FLD("max_client_conn", BP_F_INT, struct bp_database, max_client_conn, .min = 1, .max = 100000),
};
static const struct bp_schema pooler_schema = SCHEMA("pooler", struct bp_database, pooler_fields);

static const struct bp_field database_fields[] = {
	FLD("databases", BP_F_LIST, struct bp_database, dbs, .off_n = offsetof(struct bp_database, ndbs),
		.sub = &bp_tables_db),
	{.key = "pooler", .type = BP_F_SUB, .off = 0, .sub = &pooler_schema},
};
static const struct bp_schema database_schema = SCHEMA("database", struct bp_database, database_fields,
	.present = BP_OPT(struct bp_database, present));

/* mocks.sms, mocks.mail, mocks.payment: given means enabled. */
static const struct bp_field sms_fields[] = {
	FLD("callback_url", BP_F_URL, struct bp_mocks, sms_callback_url),
};
static const struct bp_field payment_fields[] = {
	FLD("webhook_url", BP_F_URL, struct bp_mocks, payment_webhook_url),
};
static const struct bp_schema sms_schema = SCHEMA("mocks.sms", struct bp_mocks, sms_fields,
	.present = BP_OPT(struct bp_mocks, sms));
static const struct bp_schema mail_schema = {.what = "mocks.mail", .size = sizeof(struct bp_mocks),
	.present = BP_OPT(struct bp_mocks, mail)};
static const struct bp_schema payment_schema = SCHEMA("mocks.payment", struct bp_mocks, payment_fields,
	.present = BP_OPT(struct bp_mocks, payment));
static const struct bp_field mocks_fields[] = {
	{.key = "sms", .type = BP_F_SUB, .sub = &sms_schema},
	{.key = "mail", .type = BP_F_SUB, .sub = &mail_schema},
	{.key = "payment", .type = BP_F_SUB, .sub = &payment_schema},
};
static const struct bp_schema mocks_schema = SCHEMA("mocks", struct bp_mocks, mocks_fields,
	.present = BP_OPT(struct bp_mocks, present));

/* notify: the daemon's webhook. */
static const struct bp_field notify_fields[] = {
	FLD("webhook", BP_F_WEBURL, struct bp_notify, webhook, .required = true),
	FLD("secret", BP_F_SECRET, struct bp_notify, secret),
};
static const struct bp_schema notify_schema = SCHEMA("notify", struct bp_notify, notify_fields,
	.present = BP_OPT(struct bp_notify, present));

static const struct bp_field artifact_fields[] = {
	FLD("path", BP_F_PATH, struct bp_artifact, path),
	FLD("url", BP_F_URL, struct bp_artifact, url),
	FLD("sha256", BP_F_SHA256, struct bp_artifact, sha256, .required = true),
};
static const struct bp_schema k3s_artifact_schema = SCHEMA("cluster.k3s", struct bp_artifact, artifact_fields,
	.pos = BP_OPT(struct bp_artifact, pos), .present = BP_OPT(struct bp_artifact, present));
static const struct bp_schema images_artifact_schema = SCHEMA("cluster.images", struct bp_artifact,
	artifact_fields, .pos = BP_OPT(struct bp_artifact, pos), .present = BP_OPT(struct bp_artifact, present));

/* namespace.quota and namespace.limits: their fields live in the namespace itself. */
static const struct bp_field quota_fields[] = {
	FLD("cpu", BP_F_QUANTITY, struct bp_namespace, quota_cpu),
	FLD("memory", BP_F_QUANTITY, struct bp_namespace, quota_memory),
	FLD("pods", BP_F_INT, struct bp_namespace, quota_pods, .min = 1, .max = 100000),
};
static const struct bp_schema quota_schema = SCHEMA("quota", struct bp_namespace, quota_fields);
static const struct bp_field limits_fields[] = {
	FLD("cpu", BP_F_QUANTITY, struct bp_namespace, limit_cpu),
	FLD("memory", BP_F_QUANTITY, struct bp_namespace, limit_memory),
	FLD("request_cpu", BP_F_QUANTITY, struct bp_namespace, request_cpu),
	FLD("request_memory", BP_F_QUANTITY, struct bp_namespace, request_memory),
};
static const struct bp_schema limits_schema = SCHEMA("limits", struct bp_namespace, limits_fields);

static const struct bp_field namespace_fields[] = {
	FLD("name", BP_F_NAME, struct bp_namespace, name, .required = true),
	{.key = "quota", .type = BP_F_SUB, .off = 0, .sub = &quota_schema},
	{.key = "limits", .type = BP_F_SUB, .off = 0, .sub = &limits_schema},
};
const struct bp_schema bp_tables_namespace = SCHEMA("namespace", struct bp_namespace, namespace_fields,
	.pos = BP_OPT(struct bp_namespace, pos));

/* cluster.ingress: NodePorts (the Kubernetes default range) whose fields live in the cluster itself. */
static const struct bp_field ingress_fields[] = {
	FLD("http", BP_F_INT, struct bp_cluster, ingress_http, .min = 30000, .max = 32767),
	FLD("https", BP_F_INT, struct bp_cluster, ingress_https, .min = 30000, .max = 32767),
};
static const struct bp_schema ingress_schema = SCHEMA("ingress", struct bp_cluster, ingress_fields,
	.present = BP_OPT(struct bp_cluster, ingress));

static const struct bp_field cluster_fields[] = {
	FLD("bundle", BP_F_PATH, struct bp_cluster, bundle),
	FLD("k3s", BP_F_SUB, struct bp_cluster, k3s, .sub = &k3s_artifact_schema),
	FLD("images", BP_F_SUB, struct bp_cluster, images, .sub = &images_artifact_schema),
	FLD("api_port", BP_F_INT, struct bp_cluster, api_port, .min = 1, .max = 65535),
	{.key = "ingress", .type = BP_F_SUB, .off = 0, .sub = &ingress_schema},
	FLD("kubeconfig", BP_F_PATH, struct bp_cluster, kubeconfig),
	FLD("context", BP_F_STR, struct bp_cluster, context),
	FLD("namespaces", BP_F_LIST, struct bp_cluster, namespaces,
		.off_n = offsetof(struct bp_cluster, nnamespaces), .sub = &bp_tables_namespace),
};
static const struct bp_schema cluster_schema = SCHEMA("cluster", struct bp_cluster, cluster_fields,
	.pos = BP_OPT(struct bp_cluster, pos), .present = BP_OPT(struct bp_cluster, present));

static const struct bp_field app_fields[] = {
	FLD("name", BP_F_NAME, struct bp_app, name, .required = true),
	FLD("manifests", BP_F_PATH, struct bp_app, manifests),
	FLD("chart", BP_F_PATH, struct bp_app, chart),
	FLD("values", BP_F_PATH, struct bp_app, values),
	FLD("namespace", BP_F_NAME, struct bp_app, namespace),
};
const struct bp_schema bp_tables_app = SCHEMA("app", struct bp_app, app_fields, .pos = BP_OPT(struct bp_app, pos));

static const struct bp_field top_fields[] = {
	FLD("apiVersion", BP_F_LITERAL, struct bp_blueprint, api_version, .choices = api_versions,
		.required = true),
	FLD("name", BP_F_NAME, struct bp_blueprint, name, .required = true),
	FLD("lifetime", BP_F_SUB, struct bp_blueprint, lifetime, .sub = &lifetime_schema),
	FLD("site", BP_F_SUB, struct bp_blueprint, site, .sub = &site_schema),
	FLD("networks", BP_F_LIST, struct bp_blueprint, networks,
		.off_n = offsetof(struct bp_blueprint, nnetworks), .sub = &bp_tables_network),
	FLD("nodes", BP_F_LIST, struct bp_blueprint, nodes, .off_n = offsetof(struct bp_blueprint, nnodes),
		.sub = &bp_tables_node),
	FLD("machines", BP_F_LIST, struct bp_blueprint, machines, .off_n = offsetof(struct bp_blueprint, nmachines),
		.sub = &bp_tables_machine),
	FLD("bgp", BP_F_SUB, struct bp_blueprint, bgp, .sub = &bgp_schema),
	FLD("vips", BP_F_LIST, struct bp_blueprint, vips, .off_n = offsetof(struct bp_blueprint, nvips),
		.sub = &bp_tables_vip),
	FLD("database", BP_F_SUB, struct bp_blueprint, database, .sub = &database_schema),
	FLD("mocks", BP_F_SUB, struct bp_blueprint, mocks, .sub = &mocks_schema),
	FLD("notify", BP_F_SUB, struct bp_blueprint, notify, .sub = &notify_schema),
	FLD("cluster", BP_F_SUB, struct bp_blueprint, cluster, .sub = &cluster_schema),
	FLD("apps", BP_F_LIST, struct bp_blueprint, apps, .off_n = offsetof(struct bp_blueprint, napps),
		.sub = &bp_tables_app),
};
const struct bp_schema bp_tables_blueprint = SCHEMA("blueprint", struct bp_blueprint, top_fields);
