/*
 * bp — the blueprint: a YAML file parsed (libyaml) into a typed, validated model.
 *
 * Loading runs: parse every file of the `extends` chain → deep merge (maps merge by key, lists of
 * named items merge by `name`, other lists replace) → interpolate ${...} → validate → typed model.
 * Every error names FILE:LINE:COL and what was expected (reported through struct sbx_err; loading
 * reports as many errors as it can find, not just the first).
 *
 * Interpolation: ${var} from --var k=v (${var:-default} when not given); ${env.name} (the
 * environment's name; "<env>" when validating without one, and names containing it still validate);
 * ${secret.NAME} is NOT resolved: it is kept literally in the model so that the model can be printed
 * without leaking secrets; the executor resolves it from the state (bp_secret_ref() recognises such
 * a value). `$${` escapes a literal `${`. Unknown variables are errors.
 *
 * A blueprint is untrusted input. site.uri names only the local system or session daemon, a
 * remote one over SSH or TLS (with no parameter that names a command, socket or file) or the test
 * driver. image.path, kernel, initrd and extends name files inside the directory tree of the file
 * that sets them or inside bp_load_opts.image_dirs, compared after resolving symlinks and ".."; the
 * model keeps the resolved absolute path. A file reached through `extends` must declare
 * `apiVersion: sandbox/v1` at its top: until it has, messages quote at most the first 40 bytes of
 * one of its lines (cleaned for a terminal), so naming a file that is not a blueprint cannot print
 * it. A credential (bmc.password) is only ever a ${secret.NAME} reference. The full reference is
 * blueprints/README.md.
 */
#ifndef SBX_BP_H
#define SBX_BP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

/* Where a value came from (after merging: the file that set it last). */
struct bp_pos {
	const char *file; /* owned by the blueprint's file list */
	int line, col;
};

enum bp_net_mode {
	BP_NET_NAT,      /* default: outbound NAT through the host */
	BP_NET_ISOLATED, /* no forwarding */
};

struct bp_network {
	char *name;
	char *cidr;            /* "auto" (allocated by IPAM) or an explicit "a.b.c.0/24" */
	enum bp_net_mode mode; /* key `mode: nat|isolated` */
	struct bp_pos pos;
};

/* The base image. Exactly one of path/url/recipe is the primary source; `recipe` may also be the
 * fallback when the url cannot be reached. */
struct bp_image {
	char *path;    /* a local qcow2/raw disk image */
	char *url;     /* downloaded (libcurl), verified against sha256, cached */
	char *sha256;  /* required with url; optional with path (verified when given) */
	char *recipe;  /* a named image recipe of the project ("debian-12"): built with debootstrap, cached */
	char *kernel;  /* direct kernel boot: kernel path (optional; recipes provide their own) */
	char *initrd;
	char *cmdline;
	struct bp_pos pos;
};

/* The site's defaults (filled by the defaults pass; also what a stored environment without them
 * falls back to, and the URI `gc` scans by default). */
#define BP_DEFAULT_URI       "qemu:///system"
#define BP_DEFAULT_POOL      "sandbox"
#define BP_DEFAULT_POOL_PATH "/var/lib/sandbox/pool"

struct bp_site {
	char *provider; /* "libvirt" (default) */
	char *uri;      /* libvirt URI, default "qemu:///system" */
	char **hosts;   /* `hosts:` libvirt URIs to place the environment on (up picks one that fits and
	                   sets uri to it); none: uri */
	size_t nhosts;
	char *pool;     /* libvirt storage pool name, default "sandbox" */
	char *pool_path; /* its directory, default "/var/lib/sandbox/pool" */
	char *domain_type; /* "auto" (default: KVM when usable, else TCG), "kvm", "qemu" */
	struct bp_image image;
	struct bp_pos pos;
};

struct bp_bmc {
	char *address; /* host or IP of the BMC */
	int port;      /* default 623 */
	char *user;
	char *password; /* usually "${secret.NAME}" */
};

/* A machine of the capacity pool (`machines:`): a node with provider ipmi and `match:` gets one. */
struct bp_machine {
	char *name;
	struct bp_bmc bmc;
	char *mac;     /* the PXE MAC */
	char **tags;   /* "key=value" ("size=large"), in the blueprint's order */
	size_t ntags;
	struct bp_pos pos;
};

struct bp_node {
	char *name;
	int count;       /* default 1 */
	int cpus;        /* default 1 */
	uint64_t memory; /* bytes, default 1Gi */
	uint64_t disk;   /* bytes, default 8Gi (virtual size of the overlay); `disk: /dev/...`: disk_dev */
	char **roles;    /* router lb k3s-server k3s-agent postgres mocks ... */
	size_t nroles;
	char **networks; /* names of networks; the first one is the primary (SSH) network */
	size_t nnetworks;
	char *provider;  /* "libvirt" (default) or "ipmi" */
	struct bp_bmc bmc; /* provider ipmi only */
	char *mac;       /* provider ipmi: the PXE MAC */
	char *boot;      /* provider ipmi: the boot device `up` sets, "pxe" (the default; the only one) */
	bool wipe;       /* provider ipmi: wipe the disk before installing (default false) */
	char *disk_dev;  /* provider ipmi: the device to install to, "/dev/sda" (`disk: /dev/...`), or NULL */
	char **match;    /* provider ipmi without bmc: "key=value" tags a machine of `machines:` must carry */
	size_t nmatch;
	struct bp_pos pos;
};

struct bp_lifetime {
	int64_t ttl;     /* seconds; default 8h; 0 when permanent */
	int64_t max_ttl; /* seconds; default 72h; extend never goes past created + max_ttl */
	bool permanent;
	bool protect;
};

struct bp_bgp {
	uint32_t router_as; /* default 65000 */
	uint32_t lb_as;     /* default 65001 */
};

struct bp_vip {
	char *name;
	int port;
	char *backend_nodes; /* a node name (all its instances) */
	int backend_port;
	bool rate_limit;     /* per-source stick-table limiting */
	int rate_per_10s;    /* requests per 10 s per source when rate_limit (default 100) */
	struct bp_pos pos;
};

struct bp_db {
	char *name;
	char *owner;
	struct bp_pos pos;
};

struct bp_database {
	struct bp_db *dbs;
	size_t ndbs;
	char *pool_mode;       /* pgbouncer pool_mode: transaction (default) | session | statement */
	int default_pool_size; /* default 20 */
	int max_client_conn;   /* default 200 */
	bool present;          /* the key was given */
};

/* A file the cluster install needs (the k3s binary, the airgap images): a local path or a URL,
 * checked against its SHA-256. */
struct bp_artifact {
	char *path;    /* in the blueprint's tree or an image directory */
	char *url;     /* downloaded once into the artifact cache */
	char *sha256;  /* required */
	struct bp_pos pos;
	bool present;
};

/* A team's namespace on the cluster, with its quota and the default limits of its containers.
 * Quantities are Kubernetes quantities as written ("4", "500m", "8Gi"). */
struct bp_namespace {
	char *name;
	char *quota_cpu, *quota_memory; /* ResourceQuota hard limits (NULL: none) */
	int quota_pods;
	char *limit_cpu, *limit_memory; /* LimitRange defaults per container (default 500m / 512Mi) */
	char *request_cpu, *request_memory; /* LimitRange default requests (default 100m / 128Mi) */
	struct bp_pos pos;
};

/* The Kubernetes cluster: installed (k3s on the nodes with roles k3s-server / k3s-agent, from
 * artifacts) or attached (an existing cluster's kubeconfig). */
struct bp_cluster {
	char *bundle;             /* install: a directory of k3s release assets (k3s,
	                             k3s-airgap-images-amd64.tar*, sha256sum-amd64.txt) */
	struct bp_artifact k3s;   /* install: the k3s binary (instead of the bundle) */
	struct bp_artifact images;/* install: the airgap images tarball (instead of the bundle) */
	int api_port;             /* install: the API server's port (default 6443) */
	int ingress_http;         /* install: the NodePorts of the ingress controller (Traefik) on */
	int ingress_https;        /* every node (defaults 30080, 30443): what VIP backends point at */
	bool ingress;             /* an ingress: mapping was given */
	char *kubeconfig;         /* attach: a kubeconfig file in the blueprint's tree or an image dir */
	char *context;            /* attach: its context (default: its current-context) */
	struct bp_namespace *namespaces; /* one per team: <env>-<name> on the cluster */
	size_t nnamespaces;
	struct bp_pos pos;
	bool present;
};

/* An application applied after the platform defaults. */
struct bp_app {
	char *name;
	char *manifests;  /* a file or directory of YAML/JSON manifests (in the blueprint's tree) */
	char *chart;      /* or a Helm chart directory, rendered with `helm template` */
	char *values;     /* the chart's values file (optional) */
	char *namespace;  /* a cluster.namespaces name: where namespaced objects go */
	struct bp_pos pos;
};

struct bp_mocks {
	bool sms, mail, payment;
	char *payment_webhook_url;
	char *sms_callback_url;
	bool present;
};

/* notify: where the daemon POSTs an environment's expiry warnings and reap outcome. */
struct bp_notify {
	char *webhook;    /* an http:// or https:// URL */
	char *secret;     /* "${secret.NAME}": the HMAC-SHA256 signing key (NULL: unsigned) */
	bool present;
};

struct bp_blueprint {
	char *api_version; /* "sandbox/v1" */
	char *name;
	char *file;        /* the path given to bp_load */
	char **files;      /* every file of the extends chain, the given one first (owned; bp_pos points here) */
	size_t nfiles;
	struct bp_lifetime lifetime;
	struct bp_site site;
	struct bp_network *networks;
	size_t nnetworks;
	struct bp_node *nodes;
	size_t nnodes;
	struct bp_machine *machines; /* the capacity pool */
	size_t nmachines;
	struct bp_bgp bgp;
	struct bp_vip *vips;
	size_t nvips;
	struct bp_database database;
	struct bp_mocks mocks;
	struct bp_notify notify;
	struct bp_cluster cluster;
	struct bp_app *apps;
	size_t napps;
	char **secret_names; /* every NAME used as ${secret.NAME}, sorted, unique */
	size_t nsecret_names;
	char hash[65];       /* sha256 of the resolved model's canonical JSON */
};

/* One --var k=v. */
struct bp_var {
	const char *key;
	const char *value;
};

struct bp_load_opts {
	const struct bp_var *vars;
	size_t nvars;
	const char *env_name; /* for ${env.name}; NULL when validating without an environment */
	const char *const *image_dirs; /* directories besides its own tree a blueprint may read files
	                                * from (env_config: SANDBOX_IMAGE_DIRS and the image cache) */
	size_t nimage_dirs;
	bool no_hash; /* leave bp->hash "" (for callers that never read it: plan, validate -q): hashing
	               * a 500-node model's canonical JSON is a third of its load */
};

/*
 * Load, merge, interpolate and validate the blueprint at `path`.
 * On success *out is a new blueprint (free with bp_free) and 0 is returned. On failure -1 is
 * returned, *out is untouched and `err` holds every positioned error found (code SBX_EXIT_USAGE),
 * or an unpositioned error when the file cannot be read.
 */
int bp_load(const char *path, const struct bp_load_opts *opts, struct bp_blueprint **out,
	struct sbx_err *err) SBX_WUR;

/* The same, from a YAML string; `name` is the file name used in messages and for relative
 * `extends` paths (relative to the current directory when it has no slash). */
int bp_load_string(const char *name, const char *yaml, size_t len, const struct bp_load_opts *opts,
	struct bp_blueprint **out, struct sbx_err *err) SBX_WUR;

/* Free a blueprint; bp_free(NULL) is a no-op. */
void bp_free(struct bp_blueprint *bp);

/* The resolved model as canonical JSON (sorted keys, 2-space indent); caller frees.
 * Secret references stay "${secret.NAME}". */
char *bp_to_json(const struct bp_blueprint *bp);

/* If `value` is exactly "${secret.NAME}", return a copy of NAME (caller frees); else NULL. */
char *bp_secret_ref(const char *value);

/* Where the state keeps the value of a blueprint's ${secret.NAME}: under BP_SECRET_STORE "NAME"
 * (`sandbox secret set` writes there; the roles read it). */
#define BP_SECRET_STORE "user/"

/* `text` with every ${secret.NAME} replaced by get(ud, NAME) (NULL: unknown); *out is a new string
 * (caller frees; it holds secrets: cleanse it). On an unknown name -1, and *missing (when not
 * NULL) is a copy of it (caller frees). */
int bp_secret_expand(const char *text, const char *(*get)(void *ud, const char *name), void *ud, char **out,
	char **missing) SBX_WUR;

/* Look up a node by name; NULL when absent. */
const struct bp_node *bp_node_find(const struct bp_blueprint *bp, const char *name);
const struct bp_network *bp_network_find(const struct bp_blueprint *bp, const char *name);
/* True when node n carries the role (false for a NULL node or role): the one "does this node
 * carry role X" query. */
bool bp_node_has_role(const struct bp_node *n, const char *role);

/* The roles the model knows (for validation and the role registry): NULL-terminated. */
extern const char *const bp_known_roles[];

#endif
