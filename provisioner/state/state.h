/*
 * state — what sandbox knows it created: environments, their resources, an append-only event log,
 * IPAM allocations, encrypted secrets, and per-environment locks.
 *
 * SQLite in WAL mode at a path the caller gives (env_config: --state, $SANDBOX_STATE or the
 * default), schema versioned with migrations (PRAGMA user_version).
 * Beside the database: `key` (32 random bytes, mode 0600: the AES-256-GCM key of the secrets) and
 * `<state id>/locks/` (one flock file per environment). A handle is safe to use from several threads
 * (calls are serialised by a mutex). Every call returns 0 on success, -1 with `err` set otherwise.
 *
 * Several processes (CLI, reaper, daemon) share the database: WAL, busy_timeout 30 s, write
 * transactions BEGIN IMMEDIATE; foreign keys on (resources and IPAM rows need their environment).
 * synchronous=NORMAL: a committed write survives a crash of the process; a power loss may drop the
 * last few commits (never corrupts), which `gc` covers through the libvirt metadata. A schema newer
 * than this binary knows is refused. Do not use a handle in a forked child: open a new one.
 */
#ifndef SBX_STATE_H
#define SBX_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

struct state;

/* Environment status values. */
#define STATE_ENV_CREATING   "creating"   /* up in progress, or interrupted */
#define STATE_ENV_READY      "ready"      /* up finished */
#define STATE_ENV_FAILED     "failed"     /* up failed; `up` again converges, `down` cleans up */
#define STATE_ENV_DESTROYING "destroying" /* down in progress or interrupted */
#define STATE_ENV_REAPING    "reaping"    /* claimed by a reaper */

struct state_env {
	char *name;
	char *id;        /* random 16-hex-char id, carried in libvirt metadata */
	char *blueprint; /* absolute path of the blueprint file */
	char *bp_hash;
	char *bp_json;   /* the resolved blueprint (bp_to_json), no secret values in it */
	char *status;
	char *owner;     /* user@host that created it */
	int64_t created, updated;
	int64_t expires; /* 0 = never (permanent) */
	int64_t max_ttl; /* seconds from created; 0 = unbounded */
	bool protected;  /* sticky: once set in the state, a blueprint edit cannot drop it */
	char *claimed_by; /* reaper id while status == reaping */
	int64_t claimed_at; /* when claimed_by claimed it (read-only: set by state_env_claim_expired) */
};

/* Resource status values. */
#define STATE_RES_PENDING  "pending"  /* journaled before creation */
#define STATE_RES_CREATED  "created"
#define STATE_RES_DELETING "deleting" /* journaled before deletion */
#define STATE_RES_FAILED   "failed"

struct state_res {
	char *env;
	char *type;        /* "network", "volume", "seed", "domain", "role", ... */
	char *name;        /* the deterministic name, e.g. sbx-demo-web-0 */
	char *provider_id; /* libvirt UUID or path, may be NULL */
	char *spec;        /* canonical JSON of the desired spec, compared by the planner */
	char *status;
	int64_t updated;
};

struct state_event {
	int64_t id, ts;
	char *env, *kind, *detail; /* detail: JSON text */
};

/* Whether the connection to a PostgreSQL state is gone (its server restarted, stopped or became
 * unreachable); every call fails until state_reconnect. Always false for SQLite. */
bool state_conn_lost(struct state *st);
/* Connect a lost PostgreSQL state again (PQreset, the same URL): 0 once connected, or when there was
 * nothing to do; -1 with err while the server does not answer. Call it with no transaction open:
 * one open on the lost connection is forgotten (the server rolled it back). */
int state_reconnect(struct state *st, struct sbx_err *err) SBX_WUR;

/* Open (creating and migrating when needed) the state at `path` (required). */
int state_open(const char *path, struct state **out, struct sbx_err *err) SBX_WUR;
/*
 * Open the state at `location`: a SQLite file path (local_dir ignored: the file's directory), or
 * a PostgreSQL URL (postgresql://... or postgres://..., libpq's syntax) whose local files (the
 * secrets' key, SSH keys, locks) live in `local_dir` (absolute, required, 0700). The same schema
 * and migrations on both; PostgreSQL write transactions are serialised by an advisory lock, like
 * SQLite's BEGIN IMMEDIATE. Every client of one PostgreSQL state needs the same key file.
 */
int state_open_at(const char *location, const char *local_dir, struct state **out,
	struct sbx_err *err) SBX_WUR;
/* Close; state_close(NULL) is a no-op. */
void state_close(struct state *st);
/* The pool IPAM allocates /24 blocks from ("a.b.c.d/N", N 8..24; NULL: 10.211.0.0/16). It is
 * checked at allocation. */
void state_set_ipam_pool(struct state *st, const char *pool);
/* The state's id: 16 random hex digits made when the database was created; every object an
 * environment of this state creates carries it (owned by st). */
const char *state_id(const struct state *st);
/* This state's own directory, DIR/<state id> (0700): its environments' SSH keys, known_hosts
 * files and locks live there, so two state files in one directory never share them (owned by st). */
const char *state_private_dir(const struct state *st);
/* Where the state is: its file, or its URL without the password (for logs; owned by st). */
const char *state_location(const struct state *st);
/* The directory holding the database and the secrets' key file; it must be the caller's and 0700
 * (checked at open) (owned by st). */
const char *state_dir(const struct state *st);

/*
 * Batches: every write between state_begin and state_commit is one transaction (much faster for
 * many puts, and all-or-nothing). The calling thread holds the handle meanwhile: other threads'
 * calls on the same handle wait until state_commit/state_rollback. Batches nest (savepoints).
 * state_commit fails (and rolls back) if the commit fails; state_rollback discards the batch.
 * Commit or roll back from the thread that began; state_close discards a batch left open.
 */
int state_begin(struct state *st, struct sbx_err *err) SBX_WUR;
int state_commit(struct state *st, struct sbx_err *err) SBX_WUR;
void state_rollback(struct state *st);

/*
 * Environments. state_env_get sets *out = NULL (and returns 0) when absent (caller frees with
 * state_env_free). state_env_list returns every environment ordered by name (caller frees with
 * state_env_list_free).
 */
int state_env_get(struct state *st, const char *name, struct state_env **out, struct sbx_err *err);
int state_env_list(struct state *st, struct state_env ***out, size_t *n, struct sbx_err *err);
/* state_env_list without the resolved blueprints (bp_json NULL in every row): what `list` needs,
 * read from a covering index instead of the whole table. */
int state_env_list_brief(struct state *st, struct state_env ***out, size_t *n, struct sbx_err *err);
/*
 * Insert a new environment (fails with SBX_EXIT_REFUSED when the name exists, SBX_EXIT_USAGE when
 * the name is empty or holds '/'). Defaults: id NULL → a random 16-hex-char id; status NULL →
 * creating; created 0 → now. `updated` is set to now; claimed_by/claimed_at are ignored.
 */
int state_env_create(struct state *st, const struct state_env *env, struct sbx_err *err);
/*
 * Update blueprint, bp_hash, bp_json, status (NULL keeps it), owner, expires, max_ttl and
 * protected of an existing environment (-1 when absent); updated = now. `protected` can only go
 * false→true here. id, created and the claim are never changed.
 */
int state_env_update(struct state *st, const struct state_env *env, struct sbx_err *err);
/* Set the status (-1 when absent). */
int state_env_set_status(struct state *st, const char *name, const char *status, struct sbx_err *err);
/*
 * Set the expiry (0 = never; -1 when absent). Refuses (SBX_EXIT_REFUSED) an expiry beyond
 * created + max_ttl when max_ttl > 0 (so also 0 = never, then).
 */
int state_env_set_expires(struct state *st, const char *name, int64_t expires, struct sbx_err *err);
/* Explicitly lift protection (only `down --confirm` does this, after the user confirmed). */
int state_env_unprotect(struct state *st, const char *name, struct sbx_err *err);
/*
 * Delete an environment row and its secrets. Refuses (-1, SBX_EXIT_REFUSED) while it still has
 * resource rows or IPAM allocations. An absent environment is not an error (down is idempotent).
 */
int state_env_delete(struct state *st, const char *name, struct sbx_err *err);
/*
 * Atomically claim every environment expired at `now` (expires != 0 && expires <= now, not
 * protected, not already reaping/destroying): one UPDATE per environment (on PostgreSQL one
 * UPDATE of them all over SELECT ... FOR UPDATE SKIP LOCKED), so two reapers never claim the same one. A claim older than `stale_secs` (a reaper that died) may be taken over:
 * an expired environment in status reaping or destroying whose claimed_at <= now - stale_secs
 * (stale_secs <= 0: never), or at once when its reaper is dead (state_reaper_hold: its liveness
 * lock can be taken). A claim sets status = reaping, claimed_by = reaper, claimed_at = now.
 * A reaper should then take the environment's lock (state_env_lock) before destroying it: a live
 * but slow reaper still holds it. *names (caller frees with state_strv_free) lists what this call
 * claimed, oldest expiry first. A user's `down` never claims, so it is never taken over.
 */
int state_env_claim_expired(struct state *st, int64_t now, const char *reaper, int64_t stale_secs,
	char ***names, size_t *n, struct sbx_err *err);
void state_env_free(struct state_env *env);
void state_env_list_free(struct state_env **envs, size_t n);
void state_strv_free(char **v, size_t n);

/*
 * Resources, keyed by (env, type, name). put = insert or update in place (the environment must be
 * in the state; res->updated is ignored: now is recorded). list returns the resources of env in
 * the order they were first put (reverse it to tear down); list_all orders by env, then that.
 * Caller frees with state_res_list_free. delete of an absent resource is not an error.
 * Many puts: wrap them in state_begin/state_commit (one transaction, much faster).
 */
int state_res_put(struct state *st, const struct state_res *res, struct sbx_err *err);
int state_res_list(struct state *st, const char *env, struct state_res **out, size_t *n,
	struct sbx_err *err);
/* Every resource of every environment (for gc). */
int state_res_list_all(struct state *st, struct state_res **out, size_t *n, struct sbx_err *err);
int state_res_delete(struct state *st, const char *env, const char *type, const char *name,
	struct sbx_err *err);
void state_res_list_free(struct state_res *res, size_t n);

/* Append-only event log (UPDATE/DELETE are refused by the database). detail_json may be NULL,
 * else must be valid JSON. env may be NULL (a global event) and need not be in the state. */
int state_event_add(struct state *st, const char *env, const char *kind, const char *detail_json,
	struct sbx_err *err);
/* The last `limit` events (0 = all) of env (all envs when NULL), oldest first. */
int state_event_list(struct state *st, const char *env, size_t limit, struct state_event **out,
	size_t *n, struct sbx_err *err);
void state_event_list_free(struct state_event *ev, size_t n);
/* Up to `limit` events (0 = all) whose id is above `after`, oldest first: a reader that keeps the
 * last id it saw reads each event once. */
int state_event_after(struct state *st, int64_t after, size_t limit, struct state_event **out, size_t *n,
	struct sbx_err *err) SBX_WUR;

/*
 * The webhook outbox: the daemon's deliveries, kept in the state until delivered, so a daemon that
 * dies or stops leaves them to the next one. One row per delivery id ("ENVID.warning.OFF.EXPIRES",
 * "ENVID.reap.done"): a delivery is queued once. The signing secret is sealed with the state's key
 * (AES-256-GCM, bound to the environment and the delivery id), never stored in clear. A holder (a
 * reaper id, whose liveness lock it holds: state_reaper_hold) claims a due row for a lease, POSTs it,
 * then deletes it (state_outbox_done) or puts it back with its next attempt (state_outbox_retry).
 * At most STATE_OUTBOX_CAP rows (state_outbox_cap_set): a put beyond it is refused (FULL).
 */
#define STATE_OUTBOX_CAP 10000
struct state_outbox {
	char *id, *env, *env_id, *event; /* the delivery id, the environment, the event type */
	char *body, *url;                /* the JSON body, the webhook */
	char *secret;                    /* the signing key (in memory only), or NULL */
	int64_t created, attempts, next_at; /* next_at: due from then on (epoch seconds) */
	char *last_error;                /* the last attempt's failure, or NULL */
	char *unreadable;                /* why its sealed secret cannot be opened (wrong key, tampered:
	                                  * it never will), secret then NULL; NULL when it opened */
};
/* What a put did. */
enum state_outbox_put { STATE_OUTBOX_QUEUED, STATE_OUTBOX_DUPLICATE, STATE_OUTBOX_FULL };
/* Queue o (id, env, env_id, event, body, url, secret (may be NULL), created; due at once). */
int state_outbox_put(struct state *st, const struct state_outbox *o, enum state_outbox_put *res,
	struct sbx_err *err) SBX_WUR;
/* Claim the row due first at now (next_at <= now) that no live holder claims (none, its lease ran
 * out, or its holder is dead: its liveness lock can be taken) for lease_s seconds: one atomic
 * UPDATE, so two holders never both get it. *out = the row with its secret opened (free with
 * state_outbox_free), or NULL when none is due. A secret that does not open (the state's key
 * changed, or the row was tampered with) is no error: the row comes with `unreadable` set, for
 * the holder to give it up (state_outbox_done). */
int state_outbox_claim(struct state *st, const char *holder, int64_t now, int64_t lease_s,
	struct state_outbox **out, struct sbx_err *err) SBX_WUR;
/* Put a claimed row back: its attempts, next attempt time and last error; the claim dropped. */
int state_outbox_retry(struct state *st, const char *id, const char *holder, int64_t attempts, int64_t next_at,
	const char *error, struct sbx_err *err) SBX_WUR;
/* Delete a row and, in the same transaction, add the event kind (detail_json) to env's log (kind
 * NULL: no event). */
int state_outbox_done(struct state *st, const char *id, const char *env, const char *kind,
	const char *detail_json, struct sbx_err *err) SBX_WUR;
/* Drop every claim of holder (a daemon that stops): the rows wait for the next one. */
int state_outbox_release(struct state *st, const char *holder, struct sbx_err *err) SBX_WUR;
/* How many rows wait. */
int state_outbox_count(struct state *st, int64_t *n, struct sbx_err *err) SBX_WUR;
/* The rows that wait for the environment env_id (NULL: all of them), *n, and the creation time of
 * the oldest, *oldest (0 when none): one read of the index outbox_env (schema step 12). */
int state_outbox_depth(struct state *st, const char *env_id, int64_t *n, int64_t *oldest,
	struct sbx_err *err) SBX_WUR;
/* The cap on rows for this handle (0: STATE_OUTBOX_CAP). */
void state_outbox_cap_set(struct state *st, int64_t cap);
/* Free a row, wiping its secret; NULL is a no-op. */
void state_outbox_free(struct state_outbox *o);
/*
 * state_env_delete, and in the same transaction, when this call deleted the row, queue ob (NULL:
 * none) in the outbox (state_outbox_put): a process that dies once the deletion committed does not
 * lose the notice of it. *queued (may be NULL) = what the put did (DUPLICATE when nothing was put:
 * the environment was absent).
 */
int state_env_delete_notice(struct state *st, const char *name, const struct state_outbox *ob,
	enum state_outbox_put *queued, struct sbx_err *err);

/*
 * Expiry warnings: record that the warning `before` seconds ahead of the expiry `expires` of the
 * environment (env, env_id) was sent, and in the same transaction append the event
 * "expiry.warning" (detail_json, may be NULL) to its log and queue its webhook ob (NULL: none) in
 * the outbox: recorded means it will be delivered. *first = whether this call recorded it:
 * false when it was already recorded (by this or another process), and then no event is added and
 * nothing queued. *queued (may be NULL) = what the put did (DUPLICATE when nothing was put).
 * Rows go with their environment (state_env_delete); a new expiry (extend) is a new warning.
 */
int state_warn_record(struct state *st, const char *env, const char *env_id, int64_t before,
	int64_t expires, const char *detail_json, const struct state_outbox *ob, bool *first,
	enum state_outbox_put *queued, struct sbx_err *err);
/* Whether that warning was already recorded (*sent). */
int state_warn_sent(struct state *st, const char *env_id, int64_t before, int64_t expires, bool *sent,
	struct sbx_err *err);
/* The same row without an event: *first = whether this call recorded it. For one-off notices of
 * an expiry that are no warning ahead of it (before <= 0: the daemon's "reap failed" webhook). */
int state_warn_mark(struct state *st, const char *env_id, int64_t before, int64_t expires, bool *first,
	struct sbx_err *err);

/*
 * IPAM: one /24 per (env, network) from the pool state_set_ipam_pool set (default 10.211.0.0/16),
 * never overlapping between environments. Idempotent: a second call returns the same block.
 * `want` is an explicit "a.b.c.0/24" or NULL/"auto"; an explicit block taken by another
 * environment is an error (SBX_EXIT_REFUSED); pool exhausted is SBX_EXIT_REFUSED ("no capacity").
 * The environment must be in the state. An explicit `want` different from the block (env, network)
 * already holds is SBX_EXIT_REFUSED; a `want` that is not an aligned /24 (or a bad pool) is
 * SBX_EXIT_USAGE. Auto takes the lowest free block of the pool. *cidr: caller frees.
 */
int state_ipam_alloc(struct state *st, const char *env, const char *network, const char *want,
	char **cidr, struct sbx_err *err);
/* Move the block (env, network) holds to the explicit `want` (a changed `cidr` of a network that
 * `up` replaces): the old block is released in the same update. Refused (SBX_EXIT_REFUSED) when
 * another (env, network) holds `want` or a libvirt network on the host uses it
 * (state_ipam_avoid); SBX_EXIT_USAGE when `want` is not an aligned /24. */
int state_ipam_move(struct state *st, const char *env, const char *network, const char *want,
	struct sbx_err *err) SBX_WUR;
/* *differs: (env, network) holds a block and `want` is an explicit other one (NULL or "auto":
 * false). */
int state_ipam_differs(struct state *st, const char *env, const char *network, const char *want, bool *differs,
	struct sbx_err *err) SBX_WUR;
/* Blocks ("a.b.c.0/24") that libvirt networks on the host already use, ours or another state's:
 * a new automatic allocation skips them, an explicit one is refused. Replaces the previous set. */
void state_ipam_avoid(struct state *st, const char *const *cidrs, size_t n);
/* Add to the blocks to avoid (the networks of one more host: an environment spread over several). */
void state_ipam_avoid_add(struct state *st, const char *const *cidrs, size_t n);
/* How many /24 blocks of the pool neither an environment holds nor the host's networks use (the
 * state_ipam_avoid list); *pool: the pool as text (owned by st). */
int state_ipam_free_blocks(struct state *st, int64_t *nfree, const char **pool, struct sbx_err *err) SBX_WUR;
/* The block allocated to (env, network), or *cidr = NULL. */
int state_ipam_get(struct state *st, const char *env, const char *network, char **cidr,
	struct sbx_err *err);
/* A /24 of the pool no environment holds and the host's networks do not use, the highest one (the
 * warm pool's network). It has no ipam row: the block is the state's while a warm member's address
 * is in it, and every allocation (auto or explicit) and state_ipam_free_blocks count it taken. */
int state_ipam_pick_high(struct state *st, char **cidr, struct sbx_err *err) SBX_WUR;
/* Release every block of env (none is not an error). */
int state_ipam_release(struct state *st, const char *env, struct sbx_err *err);

/*
 * Leases: a bare-metal machine (its key, "ipmi:ADDRESS:PORT") belongs to one environment at a time.
 * acquire leases it to env (node: the blueprint node that uses it) atomically: 0 when env holds it
 * now (new or already), 1 when another environment does (*holder: its name, caller frees), -1 on
 * error. The environment must be in the state; it cannot be deleted while it holds a lease.
 */
int state_lease_acquire(struct state *st, const char *machine, const char *env, const char *node,
	char **holder, struct sbx_err *err);
/* The environment holding machine, or *env = NULL (caller frees). */
int state_lease_holder(struct state *st, const char *machine, char **env, struct sbx_err *err);
/*
 * Admission. A claim is what an environment is promised on its machine host (recorded with the
 * environment, inside the same transaction as the admission that granted it); deleting the
 * environment row drops it. Caps bound the live environments (rows of env), per owner and in
 * total; -1 is no cap.
 */
struct state_claim {
	uint64_t memory; /* bytes */
	int64_t cpus;
	uint64_t disk;   /* bytes */
};
struct state_caps {
	int64_t per_owner, total; /* -1: none */
};
/* Record env's promise on host uri (replacing its earlier ones, on any host). */
int state_claim_put(struct state *st, const char *env, const char *uri, const struct state_claim *c,
	struct sbx_err *err) SBX_WUR;
/* Record env's promises on n hosts (uris[i] gets c[i]), replacing all its earlier ones. */
int state_claim_set(struct state *st, const char *env, const char *const *uris, const struct state_claim *c,
	size_t n, struct sbx_err *err) SBX_WUR;
/* env's promise on uri (zero when none). */
int state_claim_get(struct state *st, const char *env, const char *uri, struct state_claim *out,
	struct sbx_err *err) SBX_WUR;
/* The sum promised on uri to the environments other than `except` (may be NULL); *nenvs: how many. */
int state_claim_sum(struct state *st, const char *uri, const char *except, struct state_claim *out,
	size_t *nenvs, struct sbx_err *err) SBX_WUR;
/* The caps (-1 each when none was set). */
int state_caps_get(struct state *st, struct state_caps *out, struct sbx_err *err) SBX_WUR;
/* Set both caps (-1: none). */
int state_caps_set(struct state *st, const struct state_caps *c, struct sbx_err *err) SBX_WUR;
/* How many environments exist, of `owner` (NULL: everyone's), leaving out `except` (may be NULL). */
int state_env_count(struct state *st, const char *owner, const char *except, int64_t *n,
	struct sbx_err *err) SBX_WUR;

/*
 * Placement over several hypervisor hosts (site.hosts): the libvirt URI each node (kind "node", its
 * blueprint name) and network (kind "network") of an environment was placed on. An environment
 * without rows has everything on its own site.uri (recorded before placement existed, or on one
 * host). Deleting the environment row drops them.
 */
struct state_place {
	char *kind; /* "node" or "network" */
	char *name; /* the blueprint's node or network name */
	char *uri;
};
/* Replace env's rows with v (n may be 0: none). */
int state_place_set(struct state *st, const char *env, const struct state_place *v, size_t n,
	struct sbx_err *err) SBX_WUR;
/* env's rows, by kind then name (*out NULL when none; free with state_place_list_free). */
int state_place_list(struct state *st, const char *env, struct state_place **out, size_t *n,
	struct sbx_err *err) SBX_WUR;
/* The URI of (kind, name) among v, or NULL (owned by v). */
const char *state_place_find(const struct state_place *v, size_t n, const char *kind, const char *name);
void state_place_list_free(struct state_place *v, size_t n);

/* Release every lease of env (none is not an error). */
int state_lease_release(struct state *st, const char *env, struct sbx_err *err);
/* A lease as listed. */
struct state_lease {
	char *machine, *env, *node;
	int64_t since;
	bool env_exists; /* false: its environment's row is gone (a state edited by hand or restored) */
};
/* Every lease (env NULL) or the leases of env, by machine key. *out: free with state_lease_list_free. */
int state_lease_list(struct state *st, const char *env, struct state_lease **out, size_t *n,
	struct sbx_err *err) SBX_WUR;
void state_lease_list_free(struct state_lease *v, size_t n);
/* Drop the lease of machine if env holds it (else nothing). */
int state_lease_drop(struct state *st, const char *machine, const char *env, struct sbx_err *err) SBX_WUR;

/*
 * Secrets, encrypted with AES-256-GCM under the key file (nonce per value, env+name as AAD).
 * get_or_create generates a 32-char random token when absent (atomically: concurrent callers all
 * get the same value). Values are never logged. The environment need not be in the state;
 * state_env_delete removes its secrets. A value that does not decrypt (wrong key file, tampered
 * row) is an error, never garbage. A key file readable by group/others is refused.
 * *value: caller frees (and should OPENSSL_cleanse it).
 */
int state_secret_get(struct state *st, const char *env, const char *name, char **value,
	struct sbx_err *err); /* *value = NULL when absent */
int state_secret_put(struct state *st, const char *env, const char *name, const char *value,
	struct sbx_err *err);
int state_secret_get_or_create(struct state *st, const char *env, const char *name, char **value,
	struct sbx_err *err);
int state_secret_delete_env(struct state *st, const char *env, struct sbx_err *err);
/* Forget one secret of env (absent is not an error). */
int state_secret_delete(struct state *st, const char *env, const char *name, struct sbx_err *err);
/* The names (never the values) of env's secrets, sorted; none is not an error. *names: caller frees
 * with state_strv_free. Nothing is decrypted: the key file is not needed. */
int state_secret_names(struct state *st, const char *env, char ***names, size_t *n, struct sbx_err *err);

/*
 * Per-environment lock (flock on <state id>/locks/<env>.lock; released by the kernel if the process dies).
 * wait_secs < 0: wait forever; 0: fail at once; > 0: poll with backoff until then.
 * Busy → -1 with SBX_EXIT_REFUSED and a hint naming --wait-lock. Each lock is its own open file,
 * so it also excludes other threads of this process (and a second lock by the same thread: do not
 * nest). On SQLite the lock does not touch the database; st only gives the directory.
 *
 * On PostgreSQL (clients on several hosts) the flock is followed by a lease in the table env_lock:
 * the holder's host and pid, renewed by a heartbeat thread every STATE_LOCK_LEASE_S / 3 seconds.
 * A lease not renewed for STATE_LOCK_LEASE_S (its holder died or lost the server), or held by a
 * process of this host that no longer exists, is taken over, logging the event "lock.takeover"
 * (detail: the previous host, pid and expiry). A busy lease's error names its holder.
 */
#define STATE_LOCK_LEASE_S 60
struct state_lock;
int state_env_lock(struct state *st, const char *env, int wait_secs, struct state_lock **out,
	struct sbx_err *err) SBX_WUR;
/* Release; NULL is a no-op. */
void state_env_unlock(struct state_lock *lk);
/*
 * Reaper liveness: a reaper (a daemon for its whole life, `sandbox reap` for its run) holds the
 * lock of its id (the same flock + lease as an environment's, under the key "reaper~ID") while
 * it may hold claims. state_env_claim_expired takes over at once the claims of a reaper whose
 * lock it can take (the reaper died: its flock went with it, or its lease ran out), instead of
 * after stale_secs. Busy (the id is held) → -1 with SBX_EXIT_REFUSED.
 */
int state_reaper_hold(struct state *st, const char *reaper, struct state_lock **out, struct sbx_err *err) SBX_WUR;
/* A new reaper id "KIND@HOST:PID.RANDOM" (owned): the random part keeps a reused pid (a container's
 * PID 1, restarted) from taking a dead reaper's id, whose claims would then look like its own. */
char *state_reaper_id(const char *kind);
/*
 * `sandbox unlock`: drop env's lease whoever holds it and log the event "lock.unlock" (detail:
 * the holder's host and pid, or held false; `by`). *held = whether a lease was dropped. A SQLite
 * state's flock cannot be broken (the kernel drops it with its process): held = false.
 */
int state_env_lock_break(struct state *st, const char *env, const char *by, bool *held,
	struct sbx_err *err);

/*
 * The warm pool (`sandbox daemon --pool`): VMs booted ahead of any environment, one row each,
 * keyed by id (the libvirt domain name, "sbx-pool.<shape tag>-<n>"). A member is journaled
 * (status "booting") before its objects exist; then "ready" (SSH answered, host key pinned),
 * "claimed" (handed to env/node by state_warm_claim; the claimer takes over its objects) or
 * "broken". Not an environment: no row of env, no resources.
 */
#define WARM_BOOTING "booting"
#define WARM_READY   "ready"
#define WARM_CLAIMED "claimed"
#define WARM_BROKEN  "broken"
struct warm_member {
	char *id;          /* the libvirt domain name */
	char *shape;       /* the shape key (env_warm.h: warm_shape_key) */
	char *status;      /* WARM_* */
	char *image_hash;  /* sha256 of the base image the member was booted from */
	char *address;     /* its IPv4 address on the pool network, or NULL before ready */
	char *hostkey;     /* its pinned SSH host key ("TYPE BASE64"), or NULL before ready */
	char *volumes;     /* its volume names in the site's storage pool, ','-separated */
	char *claimed_env, *claimed_node; /* NULL unless claimed */
	int64_t created, updated;         /* epoch seconds */
	char *roles;       /* the roles prepared on it ahead, '+'-separated ("postgres+mocks"); NULL or
	                      "" none. Recorded when it is journaled; prepared before it is ready. */
};
#define WARM_MAX_ROLES 8 /* roles a claim can ask for */
/* Record a new member (m->id, shape, status, image_hash, volumes; the rest may be NULL). */
int state_warm_add(struct state *st, const struct warm_member *m, struct sbx_err *err) SBX_WUR;
/* Set id's status; address and hostkey when non-NULL. 1 when id was not found. */
int state_warm_set(struct state *st, const char *id, const char *status, const char *address,
	const char *hostkey, struct sbx_err *err) SBX_WUR;
/* Every member (shape NULL) or those of shape, by id. *out: free with state_warm_list_free. */
int state_warm_list(struct state *st, const char *shape, struct warm_member **out, size_t *n,
	struct sbx_err *err) SBX_WUR;
void state_warm_list_free(struct warm_member *v, size_t n);
/* Forget id (absent is not an error). */
int state_warm_delete(struct state *st, const char *id, struct sbx_err *err) SBX_WUR;
/*
 * Claim one ready member of shape (booted from image_hash; NULL: any) for env's node in one
 * statement (two concurrent claimers never get the same member): 1 and *out filled (free with
 * warm_member_clear), 0 when none is ready, -1 on error.
 */
int state_warm_claim(struct state *st, const char *shape, const char *image_hash, const char *env,
	const char *node, struct warm_member *out, struct sbx_err *err) SBX_WUR;
/*
 * The same for a node carrying roles[0..nroles) (at most WARM_MAX_ROLES; names of letters, digits
 * and '-'): only a member prepared for none, or for all of them, and for none of
 * without[0..nwithout) (at most WARM_MAX_ROLES: roles whose services a member runs idle and the
 * node does not carry), qualifies. Of those, a node with roles takes a prepared member first; a
 * node without takes the one prepared for the fewest roles.
 */
int state_warm_claim_roles(struct state *st, const char *shape, const char *image_hash,
	const char *const *roles, size_t nroles, const char *const *without, size_t nwithout, const char *env,
	const char *node, struct warm_member *out, struct sbx_err *err) SBX_WUR;
void warm_member_clear(struct warm_member *m);

#endif
