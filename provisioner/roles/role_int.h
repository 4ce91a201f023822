/*
 * role_int — what the roles share inside the module: the derived environment (secrets and node
 * scripts loaded once), the unit a role renders for one host, and the engine that applies a
 * unit over SSH.
 */
#ifndef SBX_ROLE_INT_H
#define SBX_ROLE_INT_H

#include "role.h"
#include "ssh.h"

/* Node-side paths (below a host's root prefix). */
#define ROLE_LIBDIR "/usr/local/lib/sbx"
#define ROLE_RUNDIR "/run/sbx"
#define ROLE_SVCDIR "/etc/sbx/svc"
#define ROLE_LB_HEALTH_PORT 8404
#define ROLE_PG_PORT 5432
#define ROLE_PGB_PORT 6432
#define ROLE_MOCK_SMS_PORT 8081
#define ROLE_MOCK_MAIL_PORT 8082
#define ROLE_MOCK_PAYMENT_PORT 8083
#define ROLE_MOCK_SMTP_PORT 2525
#define ROLE_NMOCKS 3
/* The mocks' per-environment secrets (generated into the state, given by `outputs`) and the
 * unprivileged user they run as. */
#define ROLE_MOCK_API_KEY "mock-api-key"
#define ROLE_MOCK_WEBHOOK_SECRET "mock-webhook-secret"
/* The SMS mock's Twilio credentials: the account SID is "AC" and this secret, the auth token this one. */
#define ROLE_MOCK_TWILIO_SID "mock-twilio-account-sid"
#define ROLE_MOCK_TWILIO_TOKEN "mock-twilio-auth-token"
/* The payment mock's Stripe API key is "sk_test_" and this secret; its Stripe webhook signing secret
 * is "whsec_" and the mocks' webhook secret. */
#define ROLE_MOCK_STRIPE_KEY "mock-stripe-api-key"
#define ROLE_MOCK_USER "sbx-mocks"
/* The secret holding the k3s cluster's join token. */
#define ROLE_K3S_TOKEN "k3s-token"

/* Everything derived from the context once, read-only while hosts run in parallel. */
struct role_env {
	const struct role_ctx *ctx;
	char **secret_keys, **secret_vals; /* "db-<owner>" → password; ROLE_SCRAM_SEED; ROLE_MOCK_* */
	size_t nsecrets;
	char *svc_script;     /* cluster/node/sbx-svc */
	char *lbcheck_script; /* cluster/node/sbx-lbcheck */
	char *mock_bin[ROLE_NMOCKS]; /* sbx-mock-{sms,mail,payment} when a host has the mocks role */
	size_t mock_len[ROLE_NMOCKS];
};

/* Load secrets (through ctx->secret) and node scripts. */
int role_env_init(const struct role_ctx *ctx, struct role_env *env, struct sbx_err *err) SBX_WUR;
void role_env_clear(struct role_env *env);
/* The secret `name` loaded by role_env_init, or NULL. */
const char *role_env_secret(const struct role_env *env, const char *name);
/* `text` with each of the blueprint's ${secret.NAME} replaced by its value (loaded by
 * role_env_init); NULL when one is not loaded. Caller frees (the copy holds secrets). */
char *role_env_expand(const struct role_env *env, const char *text);

/* One rendered file, or a large local file uploaded as it is (a blob: data NULL). */
struct role_file {
	char *path;          /* absolute on the node, root prefix included */
	char *data;
	size_t len;
	char *src;           /* a blob: the local file streamed to the node (NULL in a dry run that has
	                        only the digest: applying it fails) */
	char *sha256;        /* a blob: its digest (lowercase hex), compared with the node's copy and
	                        checked on the node after the upload */
	int mode;
	const char *owner;   /* static: chown to this user (NULL: root) */
	char *validate;      /* shell command checking the staged file, "{}" = its path; NULL: none */
	const char *service; /* static: the service to reload when this file changed (NULL: none) */
	bool restart;        /* restart instead of reload */
};

/* What one role does on one host. */
struct role_unit {
	const char *role;          /* static */
	struct role_file *files;
	size_t nfiles, cap;
	char *prepare;             /* idempotent shell run first (NULL: none) */
	const char *services[4];   /* static names, started in this order */
	size_t nservices;
	char *health;              /* shell; exit 0 = healthy; polled until the deadline */
	char *post;                /* shell run after health (e.g. SQL through psql) */
	char *post_input;          /* its stdin (may hold secrets: never logged) */
	int health_ms;             /* the health check's deadline when longer than the context's */
};

/* Add a file; takes ownership of data and validate. */
void role_unit_file(struct role_unit *u, char *path, char *data, int mode, const char *owner,
	const char *service, bool restart, char *validate);
/* Add a blob: a local file (src, may be NULL in a dry run) uploaded to path when the node's copy
 * does not have digest sha256 (required: the node checks the upload against it); takes ownership
 * of path only. */
void role_unit_blob(struct role_unit *u, char *path, const char *src, const char *sha256, int mode,
	const char *service, bool restart);
/* Add a service: its definition file ROOT/etc/sbx/svc/NAME.conf for sbx-svc (a change restarts). */
void role_unit_service(struct role_unit *u, const struct role_host *h, const char *name,
	const char *cmd, const char *runas, const char *reload_sig, const char *reload_cmd,
	const char *stop_sig);
/* Append lines (newline-separated "Key=Value") to the [Service] section of service `name`'s
 * systemd unit (sbx-svc's SYSTEMD=), after role_unit_service added it; unused without systemd. */
void role_unit_service_systemd(struct role_unit *u, const char *name, const char *lines);
void role_unit_clear(struct role_unit *u);
/* h->root + rel; caller frees. */
char *role_path(const struct role_host *h, const char *rel);

/* Model lookups. */
const struct bp_node *role_node_of(const struct role_env *env, const struct role_host *h);
/* h's address on a network it shares with `peer` (else its first address); not freed. */
const char *role_addr_towards(const struct role_env *env, const struct role_host *h,
	const struct role_host *peer);
/* The instances of blueprint node `node`, in index order, as indexes into ctx->hosts; caller frees. */
size_t role_hosts_of(const struct role_env *env, const char *node, size_t **idx);
/* The hosts carrying role `role`; caller frees. */
size_t role_hosts_with(const struct role_env *env, const char *role, size_t **idx);
/* A BIRD-safe identifier from a node name and index ("lb-a", 1 → "lb_a_1"); caller frees. */
char *role_ident(const char *node, int index);

/* Renderers: pure, golden-file tested. */
int role_router_render(const struct role_env *env, const struct role_host *h, struct role_unit *u,
	struct sbx_err *err) SBX_WUR;
int role_lb_render(const struct role_env *env, const struct role_host *h, struct role_unit *u,
	struct sbx_err *err) SBX_WUR;
int role_postgres_render(const struct role_env *env, const struct role_host *h, struct role_unit *u,
	struct sbx_err *err) SBX_WUR;
/* True when the host gets a route to the VIP network via the router (base unit). */
bool role_base_routes(const struct role_env *env, const struct role_host *h);
int role_mocks_render(const struct role_env *env, const struct role_host *h, struct role_unit *u,
	struct sbx_err *err) SBX_WUR;
int role_k3s_server_render(const struct role_env *env, const struct role_host *h, struct role_unit *u,
	struct sbx_err *err) SBX_WUR;
int role_k3s_agent_render(const struct role_env *env, const struct role_host *h, struct role_unit *u,
	struct sbx_err *err) SBX_WUR;
/* The environment-independent preparations (struct role_def.ahead); caller frees. */
char *role_router_ahead(const struct role_host *h);
char *role_lb_ahead(const struct role_host *h);
char *role_postgres_ahead(const struct role_host *h);
char *role_mocks_ahead(const struct role_host *h);
/* role_prepare_ahead(role, h->root) followed by rest (NULL: none), as one shell that fails when
 * either fails; takes rest; caller frees the result (NULL when both are empty). */
char *role_prepare_join(const char *role, const struct role_host *h, char *rest);
/* The HelmChartConfig pinning Traefik's NodePorts to cluster.ingress (role_k3s.c); caller frees. */
char *role_k3s_traefik_config(const struct bp_cluster *cl);
/* A kubeconfig with the value of every `server:` line replaced by https://ADDR:PORT; caller frees. */
char *role_k3s_kubeconfig_rewrite(const char *yaml, const char *addr, int port);
/* The outputs of the roles that provide some (struct role_def.outputs). */
int role_postgres_outputs(const struct role_ctx *ctx, const struct role_host *h, struct role_output **o,
	size_t *n, struct sbx_err *err) SBX_WUR;
int role_lb_outputs(const struct role_ctx *ctx, const struct role_host *h, struct role_output **o,
	size_t *n, struct sbx_err *err) SBX_WUR;
int role_mocks_outputs(const struct role_ctx *ctx, const struct role_host *h, struct role_output **o,
	size_t *n, struct sbx_err *err) SBX_WUR;
/* Append one output; takes ownership of key and value. */
void role_output_add(struct role_output **o, size_t *n, char *key, char *value, bool secret);
/* An upper-cased environment-variable-safe copy of a name ("pay-svc" → "PAY_SVC"); caller frees. */
char *role_output_name(const char *s);
/* Mock i of the table (0 sms, 1 mail, 2 payment): enabled by the blueprint? its name? */
bool role_mock_enabled(const struct bp_mocks *m, size_t i);
const char *role_mock_name(size_t i);
/* The base unit of every host: the node scripts, and the VIP route via the router. */
void role_base_render(const struct role_env *env, const struct role_host *h, struct role_unit *u);

/* SCRAM-SHA-256 as PostgreSQL (and pgbouncer's auth_file) store it: PostgreSQL's defaults. */
#define ROLE_SCRAM_ITERATIONS 4096
#define ROLE_SCRAM_SALT_LEN 16
/* The secret (per environment) the owners' salts derive from. */
#define ROLE_SCRAM_SEED "pg-scram-salt"
/* True when every byte of s is 7-bit ASCII (false for NULL). SASLprep, which PostgreSQL, libpq
 * and pgbouncer apply to a password, leaves such a password as it is. */
bool role_scram_ascii(const char *s);
/*
 * The SCRAM-SHA-256 verifier of password with this salt, in the format of pg_authid.rolpassword:
 * "SCRAM-SHA-256$<iterations>:<base64 salt>$<base64 StoredKey>:<base64 ServerKey>", where
 * SaltedPassword = PBKDF2-HMAC-SHA256(password, salt, iterations), StoredKey =
 * SHA256(HMAC(SaltedPassword, "Client Key")), ServerKey = HMAC(SaltedPassword, "Server Key").
 * NULL when the password is not ASCII (no SASLprep here) or iterations < 1; caller frees.
 */
char *role_scram_verifier(const char *password, const unsigned char *salt, size_t saltlen, int iterations);
/*
 * The salt of a database owner: the first ROLE_SCRAM_SALT_LEN bytes of
 * HMAC-SHA256(seed, "sbx-scram-salt:<env>:<owner>"). Stable while the seed (a stored random
 * secret, ROLE_SCRAM_SEED) is, so a re-apply renders the same verifier; never derived from the
 * password, because the salt is sent to anyone who starts a SCRAM exchange.
 */
void role_scram_salt(const char *seed, const char *env, const char *owner,
	unsigned char salt[ROLE_SCRAM_SALT_LEN]);

/* The engine: one host's connection and counters. */
struct role_node {
	const struct role_env *env;
	const struct role_host *h;
	struct ssh_conn *c;
	int connect_ms; /* how long role_node_connect tries (0: 120 s) */
	bool unproven;  /* take the pooled connection without a probe (role_node_check replaces a
	                   dead one) */
	bool pooled;    /* c came from the pool unproven and has run nothing yet */
	int files_changed, reloads, starts, health_checks;
	int execs;      /* commands run on closed connections (their connect probes left out) */
	int exec_base;  /* c's command count when it was connected */
	/* Called before the health check (NULL: none): waits for a prerequisite role; false when it
	 * failed (the health check is then not run and the unit fails with gate_msg). */
	bool (*gate)(void *arg);
	void *gate_arg;
	const char *gate_msg;
};
/* Connect to the host (pinned key, retry until a short deadline). */
int role_node_connect(struct role_node *n, struct sbx_err *err) SBX_WUR;
/* Apply one unit: prepare, compare, upload, validate, swap, start/reload, health, post. */
int role_node_apply(struct role_node *n, const struct role_unit *u, struct sbx_err *err) SBX_WUR;
void role_node_close(struct role_node *n);
/* Dry-run one unit: compare its files with the node's (no preparation) and ask which of its
 * services run; append what role_node_apply would do to *c (see role_plan_all). Changes nothing
 * on the node. -1 when a command could not run (err names host, role and step). */
int role_node_plan(struct role_node *n, const struct role_unit *u, struct role_change **c, size_t *nc,
	struct sbx_err *err) SBX_WUR;
/* The digest (lowercase hex) of everything a unit renders: its files (path, content or blob
 * digest, mode, owner, service, restart, validation), services, preparation, health check and
 * post step with its input. */
void role_unit_digest(const struct role_unit *u, char out[65]);
/* The quick check of n units in one command: same[i] when unit i's digest is in the node's
 * manifest, every file of it has its rendered content and every service of it runs. Changes
 * nothing. A dead pooled connection is replaced once. -1 when the command cannot run. */
int role_node_check(struct role_node *n, const struct role_unit *const *u, size_t nu, bool *same,
	struct sbx_err *err) SBX_WUR;
/* Write the node's manifest: the digests of the units u[i] with ok[i] (the others are left out, so
 * the next quick check applies them). */
int role_node_record(struct role_node *n, const struct role_unit *const *u, const bool *ok, size_t nu,
	struct sbx_err *err) SBX_WUR;
/* Append one change; takes ownership of what. */
void role_change_add(struct role_change **c, size_t *nc, const struct role_host *h, const char *role,
	enum role_change_kind kind, char *what);

#endif
