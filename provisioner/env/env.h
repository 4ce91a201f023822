/*
 * env — the lifecycle of environments, one verb per file: up, down, plan, reap, gc, and the two
 * phases of up after the machines run (ready, roles). The CLI and the daemon call these; they only
 * parse and print. Everything below (blueprint, planner, executor, provider table, SSH, roles,
 * state) is reached from here, never the other way round.
 *
 * Safety rules kept here: every resource is journaled in the state before it is created or
 * deleted; an environment row leaves the state only after the providers confirm nothing of it
 * remains; protection lives in the state (sticky); one command per environment at a time (lock).
 */
#ifndef SBX_ENV_H
#define SBX_ENV_H

#include <stdbool.h>
#include <stdint.h>

#include "bp.h"
#include "env_config.h"
#include "event.h"
#include "k8s.h"
#include "plan.h"
#include "role.h"
#include "ssh.h"
#include "state.h"
#include "util.h"

/* Open the state the configuration names (with its IPAM pool); the hint says what to check. */
int env_state_open(const struct env_config *cfg, struct state **st, struct sbx_err *err) SBX_WUR;
/* Load the environment `name`, or fail with "no environment named NAME" and a hint (exit 1). */
int env_get(struct state *st, const char *name, struct state_env **out, struct sbx_err *err) SBX_WUR;
/* The options a command loads a blueprint with: the --var pairs, the environment's name (NULL:
 * none) and the configured image directories (cfg may be NULL: none). */
struct bp_load_opts env_bp_opts(const struct env_config *cfg, const struct bp_var *vars, size_t nvars,
	const char *env);
/* SIGINT/SIGTERM stop up/down/reap between steps (what runs finishes and is journaled); a second
 * signal kills. */
void env_interrupt_on_signals(void);
/* Stop the up/down/reap of this process between steps, as a signal would (async-signal-safe). */
void env_interrupt(void);

/* --- up ------------------------------------------------------------------------------------ */
struct env_up_opts {
	const char *bp_path;
	const char *env;            /* NULL = the blueprint's name */
	const struct bp_var *vars;
	size_t nvars;
	int64_t ttl;                /* seconds; 0 = the blueprint's */
	int wait_lock;              /* seconds; see state_env_lock */
	int parallel;               /* workers; 0 = default */
	bool no_wait;               /* return once the VMs run: no SSH readiness, no roles */
	bool refresh;               /* apply every role in full, health checks included, even on
	                               nodes the quick check finds unchanged */
	bool queue;                 /* wait until it fits (capacity, caps, machines) instead of refusing */
	int64_t queue_timeout;      /* seconds --queue waits at most; 0 = an hour */
	struct ev_sink *ev;
};

/* Create or converge the environment. Before touching anything (lock, state row) it checks that
 * every ${secret.NAME} of the blueprint is set (env_secret_check); then, before recording anything,
 * it admits the environment (env_admit: capacity on its host, the caps, the machines of the pool)
 * or refuses with SBX_EXIT_REFUSED naming what is missing (with queue: waits for room). On failure
 * the environment is left "failed" with every resource journaled: `up` again resumes, `down`
 * cleans up. */
int env_up(const struct env_config *cfg, struct state *st, const struct env_up_opts *o,
	struct sbx_err *err) SBX_WUR;

/* --- plan ---------------------------------------------------------------------------------- */
struct env_plan_opts {
	const struct bp_blueprint *bp;
	const char *env;  /* NULL = the blueprint's name */
	bool refresh;     /* ask the provider what it has (drift); false: trust the state */
};

/* What the roles would change on the nodes that exist (asked over SSH, read-only). */
struct env_role_plan {
	bool applies;                /* some node carries a role this build applies */
	bool checked;                /* the nodes were asked (refresh, and the environment has nodes) */
	size_t nnodes;               /* how many */
	struct role_change *changes; /* files to create/update, services to start/reload/restart,
	                                unreachable hosts */
	size_t n;
};

/* What the cluster phase would do (a server-side dry run of the same objects). */
struct env_cluster_change {
	char *who;                   /* "Kind namespace/name" */
	const char *action;          /* create, change, unchanged, prune, conflict, fail */
	char *detail;                /* change: the diff lines; conflict/fail: why; else NULL */
};
struct env_cluster_plan {
	bool applies;                /* the blueprint has a cluster */
	bool checked;                /* the cluster was asked */
	char *why;                   /* not checked: why (else NULL) */
	struct env_cluster_change *v;
	size_t n, ncreate, nchange, nunchanged, nprune, nfail;
};
void env_cluster_plan_clear(struct env_cluster_plan *p);

struct env_plan_result {
	struct plan plan;            /* the provider resources */
	struct env_role_plan roles;
	struct env_cluster_plan cluster;
	char *fit;                   /* whether it fits on its host now ("Capacity: fits on ..."), one
	                                line; NULL without refresh or machines */
};

/* What `plan` shows: the plan `up` would execute now, from the same inputs `up` uses (the state,
 * and with refresh what the provider reports and what the roles would change on the existing
 * nodes), without changing anything: no IPAM allocation (networks without a block yet are planned
 * with a placeholder), no key, no secret, no lock, nothing uploaded. With refresh, like `up`, it
 * first checks that every ${secret.NAME} of the blueprint is set (env_secret_check). Free with
 * env_plan_result_clear. */
int env_plan(const struct env_config *cfg, struct state *st, const struct env_plan_opts *o,
	struct env_plan_result *out, struct sbx_err *err) SBX_WUR;
void env_plan_result_clear(struct env_plan_result *r);

/* --- down and reap ------------------------------------------------------------------------- */
/* A webhook queued in the outbox in the transaction that deletes the environment's row
 * (state_env_delete_notice), so a process that dies right after the deletion does not lose it. */
struct env_down_notice {
	/* Build the row once the teardown succeeded (NULL: none); the caller keeps and frees it. */
	const struct state_outbox *(*build)(void *ctx);
	void *ctx;
	enum state_outbox_put queued; /* set by env_down: what the put did (DUPLICATE: nothing put) */
};
struct env_down_opts {
	const char *env;
	const char *confirm;  /* must equal env to destroy a protected environment */
	int wait_lock;
	int parallel;
	bool reaping;         /* called by the reaper on a claimed environment */
	struct ev_sink *ev;
	struct env_down_notice *notice; /* may be NULL */
};

/* What down removed and what a re-query of the providers still shows (should be nothing). */
struct env_receipt {
	char **removed;   /* "domain sbx-demo-web-0", ... */
	size_t nremoved;
	char **remaining; /* objects still tagged with the environment after teardown */
	size_t nremaining;
	bool env_removed; /* the state row is gone */
};

/* The capacity pool (env_pool.c): give every node with `match:` a machine of bp's `machines:` (its
 * BMC and MAC become the node's): the one env already holds for that node, else the first one that
 * fits and that neither another environment (a lease) nor another node of bp uses. Refuses
 * (SBX_EXIT_REFUSED), naming each node that did not fit and why, touching nothing. */
int env_pool_assign(struct state *st, const char *env, struct bp_blueprint *bp, struct sbx_err *err) SBX_WUR;

/* Destroy the environment. Idempotent: an unknown environment is not an error (receipt empty). */
int env_down(const struct env_config *cfg, struct state *st, const struct env_down_opts *o,
	struct env_receipt *r, struct sbx_err *err) SBX_WUR;
void env_receipt_clear(struct env_receipt *r);

/* Claim (one atomic update each) and destroy every expired environment as `reaper`, up to
 * cfg->reap_parallel at once (each with its own lock and provider session). *nexpired counts the
 * claims, *nfailed the teardowns that failed (their errors are in err). */
int env_reap(const struct env_config *cfg, struct state *st, const char *reaper, struct ev_sink *ev,
	size_t *nexpired, size_t *nfailed, struct sbx_err *err) SBX_WUR;
/* What a long-running reaper (the daemon) learns of a pass. */
struct env_reap_watch {
	/* Called after each teardown with its duration and outcome and what start returned for it
	 * (may be NULL). */
	void (*done)(void *ctx, void *tok, const char *env, int64_t ms, bool ok);
	/* Called before each teardown, the environment claimed and still whole; returns what done
	 * gets for it (may be NULL). Both are called from the pass's worker threads, several
	 * teardowns at once (SANDBOX_REAP_PARALLEL). */
	void *(*start)(void *ctx, const char *env);
	/* The notice env_down queues with the environment's deletion, for what start returned (may
	 * be NULL, and may return NULL). */
	struct env_down_notice *(*notice)(void *ctx, void *tok);
	void *ctx;
	bool quiet_idle; /* no "reap.summary" event when nothing was expired */
};
/* env_reap, telling w (may be NULL) about each teardown. */
int env_reap_watched(const struct env_config *cfg, struct state *st, const char *reaper, struct ev_sink *ev,
	const struct env_reap_watch *w, size_t *nexpired, size_t *nfailed, struct sbx_err *err) SBX_WUR;

/* --- notify: an environment's webhook (the blueprint's notify:) -------------------------------- */
struct env_notify_target {
	char *url;
	char *secret; /* the signing key (NULL: unsigned); wiped by env_notify_target_free */
};
/* The webhook e's resolved blueprint (e->bp_json) names, its key read from the state (the
 * environment's secret that notify.secret references). *out = NULL when it names none; -1 with
 * err when the secret is not set. Free with env_notify_target_free (NULL is a no-op). */
int env_notify_target(struct state *st, const struct state_env *e, struct env_notify_target **out,
	struct sbx_err *err) SBX_WUR;
void env_notify_target_free(struct env_notify_target *t);
/* The Sandbox-Signature value "t=T,v1=HEX": lowercase hex HMAC-SHA256 under key of the bytes
 * "T.BODY" (T: Unix seconds). Caller frees. */
char *env_notify_sign(const char *key, int64_t t, const char *body);
/* The scheme, host and port of url (no user part, path or query: they may carry a token), for
 * messages. Caller frees. */
char *env_notify_origin(const char *url);
/* POST body (JSON) to t once, with the headers Sandbox-Event: event, Sandbox-Delivery: id and,
 * with a key, Sandbox-Signature (signed now); no redirect is followed. 0 on a 2xx answer; else -1
 * with err naming only the URL's origin. *status: the HTTP status (0: no answer). */
int env_notify_post(const struct env_notify_target *t, const char *event, const char *id, const char *body,
	long timeout_s, long *status, struct sbx_err *err) SBX_WUR;

/* --- gc ------------------------------------------------------------------------------------ */
struct env_gc_opts {
	const char *env;          /* only objects tagged with this environment name, or untagged and
	                             named sbx-<env>.* (NULL: all) */
	const char *const *uris;  /* the sites to scan; none (and no kubeconfigs): the default and every
	                             environment's, and every attached cluster */
	size_t nuris;
	const char *const *kubeconfigs; /* clusters to scan */
	size_t nkubeconfigs;
	const char *context;      /* their context (NULL: current-context) */
	bool delete;
	bool force_foreign;       /* also delete objects of other states, untagged or protected ones */
};

/* Whose an object the state does not know is. */
enum env_gc_class {
	ENV_GC_OURS,      /* tagged with this state: an orphan of ours (deleted by --delete) */
	ENV_GC_PROTECTED, /* ours, but its environment was protected (only --force-foreign) */
	ENV_GC_FOREIGN,   /* tagged with another state (only --force-foreign) */
	ENV_GC_UNTAGGED,  /* carries no owner (only --force-foreign) */
};

/* One object the state does not know. */
struct env_gc_item {
	char *uri, *type, *name;
	char *env, *state_id;   /* its owner tag, may be NULL */
	enum env_gc_class class;
	bool deleted;
	char *note;             /* why it was kept, or why its deletion failed (NULL: none) */
};

/* The class as a word ("orphan", "protected", "foreign", "untagged"). */
const char *env_gc_class_name(enum env_gc_class c);

/* Find (and with delete, remove in the delete order) the provider objects named sbx-* that this
 * state does not know. An orphan of ours is deleted only under its environment's lock and after
 * re-checking the state; objects of other states, untagged and protected ones only with
 * force_foreign. Returns the number of orphans still present (0 when every one was deleted or
 * none found), or -1. *items: free with env_gc_items_free. */
int env_gc(const struct env_config *cfg, struct state *st, const struct env_gc_opts *o,
	struct env_gc_item **items, size_t *n, struct sbx_err *err) SBX_WUR;
void env_gc_items_free(struct env_gc_item *items, size_t n);

/* --- extend, outputs, ssh ------------------------------------------------------------------ */
struct env_extend_result {
	int64_t expires; /* the new expiry */
	bool capped;     /* max_ttl cut the request short */
};
/* Push the expiry to now + ttl (capped at created + max_ttl, never shortened) under the
 * environment's lock. Refuses (SBX_EXIT_REFUSED) a permanent environment, one being torn down or
 * claimed by a reaper, and one past its max_ttl. */
int env_extend(struct state *st, const char *name, int64_t ttl, int wait_lock, struct env_extend_result *out,
	struct sbx_err *err) SBX_WUR;

/* Outputs: SANDBOX_ENV, SANDBOX_SSH_USER/KEY/KNOWN_HOSTS, SANDBOX_NODE_<INSTANCE>_IP, then what the
 * roles recorded (DATABASE_URL, VIP_*, MOCK_*). Secrets appear as **** unless revealed. */
struct env_outputs {
	char **keys, **values;
	size_t n;
};
int env_outputs_get(struct state *st, const char *name, bool reveal, struct env_outputs *out,
	struct sbx_err *err) SBX_WUR;
void env_outputs_clear(struct env_outputs *o);

/* Run cmd on a node ("web-0", or "web" for its first instance) as the environment's user, with
 * the pinned host key; *res holds its status and output (free with ssh_result_clear). */
int env_ssh_run(struct state *st, const char *env, const char *node, const char *cmd, struct ssh_result *res,
	struct sbx_err *err) SBX_WUR;
/* The argv (NULL-terminated, caller frees each and the array) of an interactive OpenSSH session on
 * a node, with the environment's key and known_hosts. */
int env_ssh_argv(struct state *st, const char *env, const char *node, char ***argv, struct sbx_err *err) SBX_WUR;

/* --- secrets a blueprint names ------------------------------------------------------------- */

/*
 * A blueprint's ${secret.NAME} (a BMC password, a token) is set by the user before `up`, kept
 * encrypted in the state per environment, and resolved only where it is used (env_secret_resolve,
 * at apply time). These secrets live apart from the ones sandbox generates itself (the SSH key, the
 * database passwords): a NAME can neither read nor replace those. The environment need not exist
 * yet; `down` forgets its secrets with it. Values are never printed or logged; names are
 * [A-Za-z0-9_-], at most ENV_SECRET_NAME_MAX characters.
 */
#define ENV_SECRET_NAME_MAX 64
/* Store (or replace) a value; refuses an invalid environment or secret name and an empty value
 * (SBX_EXIT_USAGE). */
int env_secret_set(struct state *st, const char *env, const char *name, const char *value,
	struct sbx_err *err) SBX_WUR;
/* The names set for env, sorted (caller frees with state_strv_free). */
int env_secret_list(struct state *st, const char *env, char ***names, size_t *n, struct sbx_err *err) SBX_WUR;
/* Forget one; an absent one is an error (exit 1) naming the ones that exist. */
int env_secret_rm(struct state *st, const char *env, const char *name, struct sbx_err *err) SBX_WUR;
/* Check that every ${secret.NAME} bp uses (bp->secret_names) is set for env: one message per missing
 * one (SBX_EXIT_USAGE) and a hint with the command that sets it. Reads no value. */
int env_secret_check(struct state *st, const char *env, const struct bp_blueprint *bp, struct sbx_err *err) SBX_WUR;
/* The value of a "${secret.NAME}" reference (exactly that, as a credential field holds) set for env:
 * *out is a new string (caller frees, and should OPENSSL_cleanse it). Not a reference, or not set:
 * SBX_EXIT_USAGE. */
int env_secret_resolve(struct state *st, const char *env, const char *value, char **out,
	struct sbx_err *err) SBX_WUR;

/* --- what the state records about an environment ------------------------------------------- */

/* State rows that are not provider resources: a node's pinned SSH host key (name = domain,
 * spec = "TYPE BASE64") and the environment's outputs (name = KEY, spec = value, where a
 * password appears as ${secret.NAME}, resolved only by `outputs` in a program format). */
#define ENV_ROW_HOSTKEY "hostkey"
#define ENV_ROW_OUTPUT  "output"
/* A node's usual object name (name) mapped to the warm pool member's object that is the node
 * (spec "OBJECT[ MAC]"); see env_int.h. */
#define ENV_ROW_ALIAS   "alias"

/* One node instance as recorded (from the domain resources of the environment). */
struct env_node {
	char *instance; /* "web-0" */
	char *node;     /* "web" */
	int index;
	char *domain;   /* "sbx-demo-web-0" */
	char *ip;       /* primary address */
	char **addrs;   /* every address, in the node's network order */
	char **nets;    /* blueprint network names, same order */
	size_t naddrs;
	char *status;   /* resource status */
	char *hostkey;  /* the pinned host key, or NULL */
	bool machine;   /* a bare-metal machine (provider ipmi), not a VM: no console to read */
	char *host;     /* the libvirt URI it was placed on among site.hosts, or NULL (the environment's site) */
};
int env_nodes(struct state *st, const char *env, struct env_node **out, size_t *n,
	struct sbx_err *err) SBX_WUR;
void env_nodes_free(struct env_node *nodes, size_t n);

/* Path of the environment's private SSH key file (written 0600 by up); caller frees. */
char *env_key_path(struct state *st, const char *env);
/* Where an installed cluster's kubeconfig is kept (0600); caller frees. */
char *env_kubeconfig_path(struct state *st, const char *env);
/* A state row's resource as people read it (a cluster object: "Kind namespace/name"); caller frees. */
char *env_res_display(const char *type, const char *name);

/* --- cluster -------------------------------------------------------------------------------- */
struct env_cluster_info {
	char *kubeconfig, *context; /* how the cluster is reached (context NULL: the current-context) */
	bool installed;             /* k3s on the environment's machines (else an attached cluster) */
	char **namespaces;          /* the team namespaces, <env>-<team> */
	size_t nnamespaces;
};
/* The cluster of an environment; an error (exit 2) when it has none. */
int env_cluster_info(struct state *st, const char *env, struct env_cluster_info *out, struct sbx_err *err) SBX_WUR;
void env_cluster_info_clear(struct env_cluster_info *ci);

struct env_apply_opts {
	const char *env;
	const char *const *files;  /* manifest files or directories ("-": stdin) */
	size_t nfiles;
	const char *team;          /* the default namespace's team (NULL: the first of cluster.namespaces) */
	bool dry_run, force;
	int64_t timeout_ms;        /* how long a CRD may take to be Established (0: 60 s) */
	int wait_lock;             /* seconds to wait for the environment's lock */
	void (*progress)(const struct k8s_apply_item *it, void *ud);
	void *ud;
};
struct env_applied {
	struct k8s_manifest_set *set;
	struct k8s_apply_report *rep; /* its items point into set */
};
/* Apply manifests to an environment's cluster with its ownership labels (down deletes them),
 * team names as namespaces mapped to the environment's, and, on an attached cluster, nothing
 * outside its namespaces. Returns 0 with a report (check it with k8s_apply_report_check). */
int env_apply(const struct env_config *cfg, struct state *st, const struct env_apply_opts *o,
	struct env_applied *out, struct sbx_err *err) SBX_WUR;
void env_applied_clear(struct env_applied *a);

/* Path of the environment's known_hosts file (pinned host keys); caller frees. */
char *env_known_hosts_path(struct state *st, const char *env);

#endif
