/*
 * role — turn SSH-ready machines into the platform the blueprint describes.
 *
 * A role (router, lb, postgres, mocks, k3s-server, k3s-agent) renders its config files from the
 * model in C, then on each of its hosts: prepare (idempotent: directories, VIPs on lo, initdb) →
 * compare the sha256 of every rendered file with the node's copy → upload the changed ones next
 * to their target (PATH.sbx-new: whatever was there is removed, the file created anew with O_EXCL
 * and mode 0600, given its owner and mode once its content is complete) → validate them on the
 * node (`haproxy -c`, `bird -p -c`, `postgres -C`, pgbouncer loading a copy that listens nowhere;
 * a large artifact must have its digest) → swap atomically (mv) → start services that are not
 * running, reload (or restart) only those whose files changed → poll the health check until it
 * passes or the deadline.
 * A second apply without model changes uploads nothing and reloads nothing; unless ctx->refresh,
 * one quick check per host (one command) finds the units unchanged and skips even their
 * preparation and health check (see role_apply_all). role_plan_all is the
 * dry run of all this (for `sandbox plan`): the same renders and comparison, no action.
 * Database passwords never reach a node: PostgreSQL (ALTER ROLE) and pgbouncer (userlist.txt)
 * get the SCRAM-SHA-256 verifier computed here, salted from a stored random secret
 * (role_scram_salt), so it is the same on every apply. HAProxy's master binds the VIP ports as
 * root and runs its workers as the haproxy user. The mocks run as the sbx-mocks user, with their
 * per-environment API key and webhook secret in files only it can read (role_mocks.c).
 * k3s (role_k3s.c): every k3s-server and k3s-agent host gets the binary (/usr/local/bin/k3s) and
 * the airgap images (/var/lib/rancher/k3s/agent/images/, imported by k3s at start: nothing is
 * downloaded on a node) from ctx->k3s_bin / k3s_images, streamed over SSH only when the node's
 * digest differs, and /etc/rancher/k3s/config.yaml (0600): the join token (ctx->secret
 * "k3s-token": the same on every node, never on a command line or in an event), node-name,
 * node-ip (the host's address on its first network); servers also https-listen-port
 * (cluster.api_port), tls-san (their addresses), write-kubeconfig-mode 0600 and `disable:
 * [servicelb]` (the lb role provides the VIPs; Traefik, the ingress controller, stays, as a
 * NodePort Service on cluster.ingress's ports through a HelmChartConfig in k3s's server manifests
 * directory, so VIP backends on the cluster's nodes reach it). The first
 * k3s-server host (ctx->hosts order) starts the cluster (cluster-init: embedded etcd, so more
 * servers make an HA control plane); every other server and agent joins it (server:
 * https://FIRST:PORT). The service k3s (sbx-svc; under systemd with KillMode=process and
 * Delegate=yes, as k3s's own unit) restarts when the binary, the images or the config change.
 * Health: a server's /readyz answers ok (k3s kubectl, at least 10 minutes allowed); an agent's
 * k3s runs (its node's readiness is the env layer's to check through the API). Agents' health
 * checks wait for every server.
 * Which roles exist, their order, prerequisites, renderers and outputs: one registry (role_defs).
 *
 * Services are run by the node-side helper cluster/node/sbx-svc (uploaded by the role): under
 * systemd (root "" and systemd as PID 1) as units sbx-NAME.service; otherwise started directly
 * in the background with config, pid and socket paths under the host's root prefix (netns tests).
 *
 * Hosts are applied in parallel, one thread each; only a role's health check waits for its
 * prerequisite to be healthy on every host carrying it: lb's waits for router (it needs an
 * Established BGP session). When a prerequisite fails, its dependents fail without a health
 * check (and say so).
 * Every other host (pass all instances in ctx->hosts, role or not: LB backends are looked up
 * there) gets the node scripts and, when the blueprint has VIPs and a router, a route to the
 * VIP /24 via the router, which forwards. Commands run as ctx->ssh_user, through `sudo -n`
 * when that user is not root.
 */
#ifndef SBX_ROLE_H
#define SBX_ROLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bp.h"
#include "util.h"

/* One machine (one instance of a blueprint node). */
struct role_host {
	const char *name;           /* sbx-<env>-<node>-<i> */
	const char *node;           /* the blueprint node's name */
	int index;                  /* instance index, 0-based */
	const char *ssh_addr;
	int ssh_port;               /* 0 = 22 */
	const char *const *addrs;   /* one per bp node network, same order as node->networks */
	const char *pinned_hostkey; /* "TYPE BASE64" recorded at readiness (NULL: accept any) */
	const char *root;           /* "" on VMs; a per-host prefix directory in netns tests */
};

struct ssh_pool;

/* A large local file a role installs as it is (k3s: the binary, the airgap images): streamed over
 * SSH when the node's copy does not have its digest, and checked against it on the node. */
struct role_artifact {
	const char *path;   /* the local file (NULL in a dry run before its download: compared only) */
	const char *sha256; /* lowercase hex */
	const char *name;   /* its file name on the node ("k3s-airgap-images-amd64.tar.zst") */
};

struct role_ctx {
	const struct bp_blueprint *bp;
	const char *env;
	const struct role_host *hosts;
	size_t nhosts;
	const char *ssh_user;        /* "sandbox" on VMs (sudo), "root" in tests */
	const char *ssh_priv_pem;
	const char *vip_cidr;        /* a /24 for VIPs: vip i = .(10+i) */
	const char *const *net_cidrs; /* one per bp->networks (same order), for pg_hba; NULL: host addrs */
	struct ssh_pool *pool;       /* open connections from readiness, taken per host; NULL: connect */
	const char *cluster_dir;     /* the repo's cluster/ (node scripts); NULL: next to the binary,
	                                then /usr/local/share/sandbox/cluster, then ./cluster */
	const char *mock_bin_dir;    /* where sbx-mock-{sms,mail,payment} are (uploaded to the mocks
	                                node); NULL: this executable's directory */
	int health_timeout_ms;       /* per role and host; 0 = 120 s */
	/* The k3s roles' files (the env layer resolves them with artifact_resolve before any node is
	 * touched); unset (NULL sha256) when the blueprint installs no k3s. */
	struct role_artifact k3s_bin, k3s_images;
	/* Get-or-create a generated secret ("db-<owner>": a password; "pg-scram-salt": the seed of the
	 * SCRAM salts; "k3s-token": the cluster's join token); *value caller-freed. Called only from
	 * the thread that called role_apply_all/role_outputs. */
	int (*secret)(void *ctx, const char *name, char **value, struct sbx_err *err);
	void *secret_ctx;
	/* Optional progress ("connect", "render", "upload", "validate", "reload", "health", "done").
	 * Called from worker threads (one per host): must be thread-safe. */
	void (*progress)(void *ctx, const char *host, const char *role, const char *step);
	void *progress_ctx;
	/* Apply every unit in full (preparation, comparison, services, health check, post step) even
	 * when the quick check finds it unchanged: `up --refresh`. */
	bool refresh;
};

#define ROLE_MAX_TIMINGS 8

/* What an apply did. */
struct role_report {
	int files_changed;  /* rendered files whose content differed on the node and were replaced */
	int reloads;        /* running services reloaded or restarted because their files changed */
	int starts;         /* services started because they were not running */
	int hosts;          /* hosts that had something to apply (a role or the VIP route) */
	int hosts_unchanged; /* of those, hosts the quick check found unchanged (every unit skipped) */
	int units_skipped;  /* units (a role, or a host's base) found unchanged and not applied */
	int health_checks;  /* units whose health check ran (polls of one unit count once) */
	int ssh_execs;      /* commands run over SSH (the connections' own probes left out) */
	int64_t check_ms;   /* from the call until every quick check had answered (0: none ran) */
	int64_t total_ms;   /* from the call to every role healthy */
	struct {
		const char *role;  /* static string */
		int64_t ms;        /* from the call until this role was healthy on all its hosts */
	} timings[ROLE_MAX_TIMINGS];
	size_t ntimings;
};

/*
 * Apply every role of every host. Unless ctx->refresh, each host first gets one quick check: a
 * single command over its connection (taken from ctx->pool as it is, without a probe; a dead one
 * is replaced by a new connection once) that prints the manifest the last apply left on the node
 * (ROOT/run/sbx/applied: one "applied ROLE DIGEST" line per unit that was applied and healthy;
 * /run is emptied by a reboot), the sha256 of every file of every unit, and which services
 * sbx-svc sees running. A unit (a role, or the host's base) whose digest (of everything it
 * renders: files, modes, owners, services, preparation, health check, post step) is the
 * manifest's, whose files all have their rendered content and whose services all run, is
 * skipped: no preparation, no health check, no post step. Every other unit is applied in full,
 * exactly as with refresh (so a changed file reloads or restarts as it always did, a stopped
 * service is started and health-checked). After a host applied something, one more command
 * writes its manifest (the units that are applied or unchanged; a unit that failed is left out).
 * Returns 0 when all are healthy. On failure -1 and err names
 * the host, the role, the step, and the node's own stderr of the failing command; *report is
 * filled in either case (report may be NULL).
 */
int role_apply_all(const struct role_ctx *ctx, struct role_report *report, struct sbx_err *err) SBX_WUR;

/* One output of the environment. */
struct role_output {
	char *key;    /* DATABASE_URL, DATABASE_URL_<DB>, VIP_<NAME>_URL, VIP_<NAME>_ADDR */
	char *value;
	bool secret;  /* contains a password: never print in logs */
};

/*
 * The outputs the roles provide: DATABASE_URL (first database, through pgbouncer:
 * postgresql://OWNER:PASSWORD@DBADDR:6432/DB, password from ctx->secret("db-OWNER"), URL-escaped
 * unless it is a "${secret.NAME}" placeholder, which goes in verbatim),
 * DATABASE_URL_<DB> for every database (name upper-cased, '-' → '_'), per VIP
 * VIP_<NAME>_ADDR (a.b.c.d:port) and VIP_<NAME>_URL (tcp://a.b.c.d:port), and per enabled mock
 * MOCK_SMS_URL, MOCK_MAIL_URL, MOCK_PAYMENT_URL (http://ADDR:8081/8082/8083 on the mocks node's
 * first address) and MOCK_MAIL_SMTP (ADDR:2525); with any mock MOCK_API_KEY (the mocks' API key,
 * ctx->secret("mock-api-key")) and with sms or payment MOCK_WEBHOOK_SECRET (their webhook signing
 * secret, ctx->secret("mock-webhook-secret")), both secret, verbatim (placeholders stay as they are);
 * with sms what the Twilio SDK needs: TWILIO_ACCOUNT_SID ("AC" and ctx->secret("mock-twilio-account-sid")),
 * TWILIO_AUTH_TOKEN (ctx->secret("mock-twilio-auth-token")), both secret, and TWILIO_API_BASE (the
 * SMS mock's URL); with payment what the Stripe SDK needs: STRIPE_API_KEY ("sk_test_" and
 * ctx->secret("mock-stripe-api-key")), STRIPE_API_BASE (the payment mock's URL) and
 * STRIPE_WEBHOOK_SECRET ("whsec_" and the mocks' webhook secret), the keys secret.
 * *out is a caller-owned array (free with role_outputs_free), written only on success.
 */
int role_outputs(const struct role_ctx *ctx, struct role_output **out, size_t *n, struct sbx_err *err) SBX_WUR;
void role_outputs_free(struct role_output *o, size_t n);

/*
 * The kubeconfig of the installed cluster: /etc/rancher/k3s/k3s.yaml (below the host's root),
 * which k3s writes on the first k3s-server host (ctx->hosts order), read over SSH (as root,
 * through `sudo -n` when ctx->ssh_user is not root), with every `server:` rewritten to
 * https://FIRST_SSH_ADDR:API_PORT (the address sandbox reaches that host on, which its
 * certificate's tls-san lists; API_PORT = cluster.api_port). It holds the cluster admin's client
 * key: the caller stores it 0600 and never prints it. *out caller-freed (written only on
 * success). Fails when no host carries k3s-server, the host cannot be reached, or the file is
 * not there yet (k3s not started).
 */
int role_k3s_kubeconfig(const struct role_ctx *ctx, char **out, struct sbx_err *err) SBX_WUR;

/* The address of VIP number i (0-based) in vip_cidr ("10.1.2.0/24" → "10.1.2.(10+i)"); caller
 * frees; NULL when vip_cidr is not an IPv4 /24 network or i is out of range. */
char *role_vip_addr(const char *vip_cidr, size_t i);

struct role_env;
struct role_unit;

/*
 * One row of the role registry. The registry has a row for every role the blueprint accepts
 * (bp_known_roles; a unit test keeps the two in step), in the order a host carrying several
 * roles applies them. A row without render is accepted by the blueprint but not applied by this
 * build: plain (a machine with nothing to apply).
 */
struct role_def {
	const char *name;
	const char *after; /* prerequisite: this role's health check waits until that role is healthy
	                      on every host carrying it (NULL: none) */
	/* Render the role's unit for one host: files, services, health check, post step (pure). */
	int (*render)(const struct role_env *env, const struct role_host *h, struct role_unit *u,
		struct sbx_err *err);
	/* Append the role's outputs (see role_outputs) to *o; h is the first host carrying the role
	 * (NULL: the role provides none). */
	int (*outputs)(const struct role_ctx *ctx, const struct role_host *h, struct role_output **o,
		size_t *n, struct sbx_err *err);
	/* The part of the role's preparation that no environment changes (directories under /etc and
	 * /var, users, initdb), as shell for host h (only its root is read; caller frees); NULL: none.
	 * See role_prepare_ahead. */
	char *(*ahead)(const struct role_host *h);
	/* Its services can run idle ahead of any environment, from what it renders for a node of a
	 * blueprint with no network and no database (role_apply_ahead): an environment's apply then
	 * finds them running and only reloads what it changes. */
	bool idle;
};

/* The registry, ended by a row whose name is NULL. */
extern const struct role_def role_defs[];

/* The registry row of a role, or NULL when the blueprint does not know it either. */
const struct role_def *role_find(const char *name);

/* True when this build applies the role (its row has a renderer); false for plain and names the
 * registry does not have. */
bool role_known(const char *name);

/* Where a node records the preparations done ahead: one file per role holding its digest. */
#define ROLE_PREPARED_DIR "/var/lib/sbx/prepared"

/*
 * The environment-independent preparation of a role (its registry row's `ahead`) for a host whose
 * root prefix is root ("" on VMs), guarded by its marker: the shell runs it only when
 * ROOT/var/lib/sbx/prepared/ROLE does not hold its digest, and writes that digest once it
 * succeeded. The role's own preparation starts with the same guarded shell, so what was done ahead
 * (by the warm pool on a member, or by an earlier apply) is not done again; a changed recipe
 * changes the digest and runs again. Caller frees; NULL when the role has nothing to do ahead (or
 * is unknown).
 */
char *role_prepare_ahead(const char *role, const char *root);

/* Whether a role's services run idle on a warm pool member prepared for it (its row's `idle`). */
bool role_runs_idle(const char *role);

/* A warm pool member that role_apply_ahead applies to. */
struct role_ahead_host {
	const char *name;           /* the member's name (in messages) */
	const char *ssh_addr;
	const char *ssh_user;       /* "sandbox" (sudo) */
	const char *ssh_priv_pem;
	const char *pinned_hostkey; /* "TYPE BASE64" */
	const char *cluster_dir;    /* as role_ctx.cluster_dir */
	int health_timeout_ms;      /* as role_ctx.health_timeout_ms */
	struct ssh_conn *conn;      /* the caller's open connection to it (role_apply_ahead takes it and
	                               closes it), or NULL: connect */
};

/*
 * Apply, on a warm pool member, the base unit and every role of roles ('+'-separated) that runs
 * idle (role_runs_idle), as rendered for a node of a neutral blueprint (no network, no database,
 * environment "warm"), up to their health checks; the manifest it leaves makes the node scripts
 * an unchanged unit for the environment that takes the member over, and the role's services are
 * already running: that apply uploads only what the environment changes and reloads for it.
 * 0 with nothing to do when no role of roles runs idle. Every file such a role renders that its
 * environment can change must be one its service reloads rather than restarts for (postgres:
 * pg_hba.conf and pgbouncer's files; postgresql.conf names no environment).
 */
int role_apply_ahead(const char *roles, const struct role_ahead_host *t, struct sbx_err *err) SBX_WUR;

/* What a dry run found that an apply would do. */
enum role_change_kind {
	ROLE_CHANGE_CREATE,      /* upload a file the node does not have */
	ROLE_CHANGE_UPDATE,      /* replace a file whose content differs on the node */
	ROLE_CHANGE_START,       /* start a service that is not running */
	ROLE_CHANGE_RELOAD,      /* reload a running service because one of its files changes */
	ROLE_CHANGE_RESTART,     /* restart a running service because one of its files changes */
	ROLE_CHANGE_UNREACHABLE, /* the host could not be asked: what apply would do there is unknown */
};

/* One change of a dry run. */
struct role_change {
	char *host;        /* the role_host's name (sbx-<env>-<node>-<i>) */
	const char *role;  /* static: a registry name, "base" (the node scripts every host gets), or
	                      "-" (the host could not be reached at all) */
	enum role_change_kind kind;
	char *what;        /* CREATE/UPDATE: the file's path on the node (root prefix included);
	                      START/RELOAD/RESTART: the service's name;
	                      UNREACHABLE: "host unreachable: <reason>" */
};

/*
 * A dry run of role_apply_all for `sandbox plan`: on every host (in parallel, as apply), render
 * the units exactly as apply does, compare the sha256 of every file with the node's copy over
 * SSH (the comparison apply makes), and ask sbx-svc which services run. *out lists, host by host
 * in ctx->hosts order, then unit by unit (base, then registry order): the files apply would
 * create or replace, the services it would start (not running), and the running ones it would
 * reload or restart (one of their files changes). Nothing in the list: apply would change
 * nothing (the post steps, e.g. idempotent SQL, are not reported).
 *
 * It changes nothing on the nodes: no preparation (directories, VIPs, initdb), no upload, no
 * service action. Secrets come from ctx->secret as given: pass a getter that does not create
 * (a secret that does not exist yet may come back as a placeholder: the files holding it then
 * show as changed). ctx->progress, if set, sees only "connect". A host that cannot be reached
 * (connection refused or timed out after 15 s, host key changed, a command that fails) is one
 * ROLE_CHANGE_UNREACHABLE entry, not a failure of the dry run.
 *
 * Returns 0, or -1 when the roles cannot be rendered at all (node scripts or mock binaries not
 * found, a secret getter failing, a model a role rejects, e.g. lb without router); err says why.
 * *out is a caller-owned array (free with role_changes_free), written only on success.
 */
int role_plan_all(const struct role_ctx *ctx, struct role_change **out, size_t *n,
	struct sbx_err *err) SBX_WUR;
void role_changes_free(struct role_change *c, size_t n);

/* "create", "update", "start", "reload", "restart", "unreachable". */
const char *role_change_verb(enum role_change_kind kind);

#endif
