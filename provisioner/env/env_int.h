/*
 * env_int — what the verbs of env/ share: the environment's state rows decoded once, the inputs
 * of the planner (identical for `plan` and `up`), the site a provider session opens, the journaled
 * delete step, and the two phases of `up` after the machines run.
 */
#ifndef SBX_ENV_INT_H
#define SBX_ENV_INT_H

#include "env.h"
#include "env_capacity.h"
#include "k8s.h"
#include "prov.h"
#include "ssh.h"

/* Append the event kind of env with detail {"duration_ms": the milliseconds since t0_ms (monotonic)}:
 * up.done/up.fail and down.done/down.fail, which the daemon's /metrics reads (errors ignored). */
void env_event_duration(struct state *st, const char *env, const char *kind, int64_t t0_ms);

/* Everything the state records for an environment, decoded once. */
struct env_rows {
	struct state_res *rows;      /* every row */
	size_t nrows;
	struct plan_rec *recs;       /* the provider resources among them, typed */
	size_t nrec;
	const struct state_res **by_key; /* rows sorted by (type, name) */
};
int env_rows_load(struct state *st, const char *env, struct env_rows *out, struct sbx_err *err) SBX_WUR;
void env_rows_clear(struct env_rows *r);
/* The spec of the row (type, name), or NULL (O(log n)). */
const char *env_rows_spec(const struct env_rows *r, const char *type, const char *name);

/* The planner's inputs: blocks, desired resources, recorded and (optionally) observed ones. */
struct env_inputs {
	struct plan_net *nets;
	char **cidrs;
	bool *moved;                  /* per network: cidrs[i] is the blueprint's new block, IPAM still
	                                 holds the old one (env_ipam_move moves it) */
	size_t nnets;
	struct plan_desired desired;
	struct plan_desired cold;     /* the desired resources that alias rows renamed, as they were */
	struct env_rows rows;         /* recs: the machine resources first, then the cluster objects */
	size_t nplanned;              /* how many of rows.recs the planner diffs (not the cluster
	                                 objects: the cluster phase applies and prunes those) */
	struct plan_obs *obs;     /* NULL: not observed */
	struct prov_seen *seen;
	size_t nobs;
};

/* Tell the state's IPAM which blocks the site's networks already use (before allocating or
 * counting free blocks); more: add them to those it was told (another host's), else replace. */
int env_ipam_avoid(struct state *st, struct prov *p, bool more, struct sbx_err *err) SBX_WUR;
/* Move the IPAM block of every network of `in` whose cidr changed (its old block released), once
 * the plan that replaces those networks is accepted; one event each. Refused (exit 3) when a new
 * block is taken. */
int env_ipam_move(struct state *st, const char *env, const struct env_inputs *in, struct ev_sink *ev,
	struct sbx_err *err) SBX_WUR;
/*
 * Gather the inputs for bp as environment env: with allocate, IPAM blocks are allocated (up);
 * without, a network with no block yet gets a placeholder (plan). A network whose explicit cidr
 * differs from its recorded block is planned with the new one (moved[i]; IPAM unchanged). With
 * p, every desired resource is observed through the provider table (drift); p == NULL trusts the
 * state.
 */
int env_inputs_load(struct state *st, const struct bp_blueprint *bp, const char *env, bool allocate,
	struct prov *p, struct env_inputs *in, struct sbx_err *err) SBX_WUR;
void env_inputs_clear(struct env_inputs *in);

/*
 * Warm pool members taken over by an environment (env_adopt.c). A member's objects keep their
 * libvirt names (a running domain cannot be renamed), so the node's resources are recorded under
 * them: an alias row (type ENV_ROW_ALIAS) maps each cold name (plan_desired's "sbx-ENV.NODE-I",
 * its ".qcow2", its "-seed.iso") to "OBJECT[ MAC]" (the member's first MAC, for the domain and
 * seed), and env_inputs_load renames the desired resources accordingly (the originals kept in
 * in->cold), so plan, up, status and down see the member's objects as the node's.
 */
void env_alias_apply(const struct env_rows *rows, struct plan_desired *d, struct plan_desired *cold);
/* Members claimed by one up. */
struct env_claims {
	struct warm_member *m;
	size_t n;
};
/*
 * For each desired domain of in that is neither recorded nor aliased, whose node the pool can
 * serve (warm_shape_of_node, the pool's site, one network), claim a ready member
 * (warm_claim_for_node); on a claim, journal the aliases and the member's objects as pending rows
 * of the node, forget the member's pool row, and tag its objects as env's through p (their NICs
 * are moved later, by the domain's step). Nothing, not even an event, when the state records
 * no pool member at the start. Events: pool.claim; pool.miss (cold boot: why);
 * pool.fallback (a claimed member that could not be tagged: destroyed). The caller reloads its
 * inputs after claims (out->n > 0).
 */
int env_warm_claim(struct state *st, struct prov *p, const struct bp_blueprint *bp, const char *env,
	const struct env_inputs *in, struct ev_sink *ev, struct env_claims *out, struct sbx_err *err) SBX_WUR;
void env_claims_clear(struct env_claims *c);
const struct warm_member *env_claims_find(const struct env_claims *c, const char *dom);
/*
 * Over the pool network, with the pool's key and the member's pinned host key: give member m the
 * identity of node instance `hostname` of the domain resource dom: hostname, pubkey as the only
 * authorized key of user sandbox, new SSH host keys printed to the serial console between
 * cloud-init's markers (so env_ready vouches for them as on a cold boot), dom's first static
 * address (on eth0 beside the pool's when this returns: move the NIC right after; the pool's
 * address goes once this function's connection has closed; the new host keys serve new
 * connections without an sshd restart; cloud-init then leaves hostname and network alone on
 * reboots).
 */
int env_adopt_identity(struct state *st, const struct warm_member *m, const char *hostname, const char *pubkey,
	const struct res *dom, struct sbx_err *err) SBX_WUR;
/* The shell script (run as root in the member) env_adopt_identity runs; caller frees. */
char *env_adopt_script(const char *hostname, const char *pubkey, const struct res_domain *d);

/* The site of a blueprint (its defaults applied) as a provider configuration (no env, no key). */
struct prov_cfg env_site_of_bp(const struct bp_blueprint *bp);
/* The libvirt URI and pool of a recorded environment (from its resolved blueprint); caller frees
 * each. */
void env_site_of_row(const struct state_env *e, char **uri, char **pool, char **pool_path);
/* The hosts of a recorded environment's site.hosts (none without it): *hosts (caller frees each and
 * the array; NULL when there are none), *n how many. */
void env_site_hosts_of_row(const struct state_env *e, char ***hosts, size_t *n);
enum env_cluster_kind {
	ENV_CLUSTER_NONE,
	ENV_CLUSTER_INSTALLED, /* k3s on the environment's machines: its objects go with them */
	ENV_CLUSTER_ATTACHED,  /* a cluster the blueprint names a kubeconfig of: down deletes them */
};
/* The cluster of a recorded environment (the attached one's kubeconfig and context, else NULL;
 * caller frees), and whether its blueprint declares machines. */
enum env_cluster_kind env_cluster_of_row(const struct state_env *e, char **kubeconfig, char **context,
	bool *machines);

/* Journal "deleting", delete through the provider table, drop the row. Emits step events. */
int env_step_delete(struct state *st, struct prov *p, const char *env, const struct plan_step *s,
	struct ev_sink *ev, struct sbx_err *err) SBX_WUR;

/* Wait (in parallel, against cfg->ready_timeout) until every node instance of env accepts SSH
 * and runs a command; pin and record host keys, a new one only once the node's console (through
 * prov) lists it (a warning when the site cannot show consoles); write the environment's
 * known_hosts file. The open connections are put in pool (may be NULL) for the roles. When quick
 * (a converging up without --refresh), a node whose key is pinned is ready once authenticated by
 * that key, with no `true` run: the node was proven when its key was pinned, and the roles' quick
 * check, the first command on a node with roles, proves the session (or reconnects).
 * env_ready_start runs it to its end, unless quick, every node's key is pinned and pool is
 * given: then it runs on a thread of its own, alongside the roles (which wait in the pool for each
 * node's connection: a node's quick check starts when that node is ready, not when all are; the
 * run touches no state). *out (always set on 0) is for env_ready_finish, which waits for the end
 * and says how it went. */
struct env_ready_run;
int env_ready_start(const struct env_config *cfg, struct state *st, struct prov *prov, const char *env,
	const char *privkey, bool quick, struct ev_sink *ev, struct ssh_pool *pool, struct env_ready_run **out,
	struct sbx_err *err) SBX_WUR;
int env_ready_finish(struct env_ready_run *r, struct sbx_err *err) SBX_WUR;
/* Whether the run goes on alongside (on its own thread). */
bool env_ready_alongside(const struct env_ready_run *r);


/* Apply the roles of every node (router, lb, postgres, ...) over the connections in pool (may be
 * NULL) or new ones; record their outputs. Unless refresh, a unit the quick check finds unchanged
 * is skipped (see role_apply_all); the roles.done event says on how many nodes. */
int env_roles(const struct env_config *cfg, struct state *st, const struct bp_blueprint *bp,
	const char *env, const char *privkey, bool refresh, struct ev_sink *ev, struct ssh_pool *pool,
	struct sbx_err *err) SBX_WUR;

/* Whether some node of bp carries a role this build applies. */
bool env_roles_any(const struct bp_blueprint *bp);
/* What the roles would change on the recorded nodes (nothing when none carries a role this build
 * applies, or the environment has no key or nodes yet). */
int env_roles_plan(const struct env_config *cfg, struct state *st, const struct bp_blueprint *bp,
	const char *env, struct env_role_plan *out, struct sbx_err *err) SBX_WUR;

/* A recorded output value with each ${secret.NAME} replaced by the secret (reveal) or by ****;
 * caller frees; NULL with err when a secret cannot be read. */
char *env_output_resolve(struct state *st, const char *env, const char *v, bool reveal, struct sbx_err *err);

/* The cluster phase of up (after the roles): apply the platform defaults, the environment's
 * addresses and the apps to the environment's cluster; prune what is no longer declared. A no-op
 * without a cluster section. */
int env_cluster(const struct env_config *cfg, struct state *st, const struct bp_blueprint *bp,
	const struct state_env *row, struct ev_sink *ev, struct sbx_err *err) SBX_WUR;
/* The cluster phase's dry run for plan (row NULL: the environment does not exist yet). */
int env_cluster_plan(const struct env_config *cfg, struct state *st, const struct bp_blueprint *bp, const char *env,
	const struct state_env *row, struct env_cluster_plan *out, struct sbx_err *err) SBX_WUR;
/* The kubeconfig (path, context; caller frees both) an environment's cluster is reached with:
 * the blueprint's for an attached cluster, the fetched one for an installed cluster. */
void env_cluster_access(struct state *st, const struct state_env *e, const struct bp_cluster *cl, char **path,
	char **context);
/* The pseudo-network under which the VIP block is allocated from the IPAM pool. */
#define ENV_VIP_NETWORK "_vip"
/* Route the VIP block from this host through the environment's router (local libvirt only; a
 * failure is a warning event). */
int env_vip_route(struct state *st, const struct bp_blueprint *bp, const char *env, const char *uri,
	struct ev_sink *ev, struct sbx_err *err) SBX_WUR;

/* The secret an installed cluster's kubeconfig is kept in (it holds the admin's client key). */
#define ENV_SECRET_KUBECONFIG "kubeconfig"
/* Write the kubeconfig file (0600) of an installed cluster from the state; 1: none stored yet. */
int env_kubeconfig_write(struct state *st, const char *env, struct sbx_err *err) SBX_WUR;
/* Fetch it from the first k3s server (after the roles), store it and write the file. */
int env_kubeconfig_fetch(struct state *st, const char *env, const struct role_ctx *ctx, struct sbx_err *err) SBX_WUR;
/* The namespace of a team: <env>-<team>; caller frees. */
char *env_namespace(const char *env, const char *team);

/* A template variable: one value, several (a line is repeated per value), or none (a line naming
 * it is left out). */
struct env_tvar {
	const char *name;
	const char *const *values;
	size_t n;
};
/* Render a manifest template (see cluster/manifests/README.md); caller frees. */
char *env_manifest_render(const char *text, const struct env_tvar *vars, size_t n);
/* Read DIR/manifests/FILE, render it and add its objects to set. */
int env_manifest_add(struct k8s_manifest_set *set, const char *dir, const char *file, const struct env_tvar *vars,
	size_t n, struct sbx_err *err) SBX_WUR;

/* The providers' secret resolver (prov_cfg.secret) for one environment: ctx is a struct
 * env_secrets that outlives the session. */
struct env_secrets {
	struct state *st;
	const char *env;
};
int env_secret_cb(void *ctx, const char *ref, char **value, struct sbx_err *err);

/* Where an environment spread over site.hosts goes (env_admit_place fills it, env_placement_clear
 * frees it): what each host reports, what the environment asks of each, each node's and network's host. */
struct env_placement {
	bool spread;              /* placed per group of nodes (site.hosts has more than one host) */
	size_t nhosts;            /* bp->site.nhosts */
	struct cap_host *host;    /* what each host reports */
	struct cap_amount *share; /* what the environment asks of each host */
	size_t *node_host;        /* per node of bp: its host (SIZE_MAX: not a libvirt node) */
	size_t *net_host;         /* per network of bp */
	size_t primary;           /* the host of the largest group: the environment's site.uri */
};
void env_placement_clear(struct env_placement *pl);

/* Admission (env_admit.c). probe: what bp's machine host reports (h->known false: nothing to
 * check; h->uri points into bp). check, inside the caller's state transaction: 0 admitted, 1
 * refused with err naming each cap reached and each shortage (SBX_EXIT_REFUSED), -1 failed; with a
 * spread placement pl, the share of each host is checked there. claim: record env's promise (same
 * transaction, after its row; with pl, one per host and where each node and network is). line: the
 * fit for `plan` (caller frees), recording nothing; with several hosts, where each group would go. */
int env_admit_probe(struct state *st, const struct bp_blueprint *bp, struct cap_host *h, struct sbx_err *err) SBX_WUR;
/* With site.hosts, choose the host(s) and set bp->site.uri to the primary one; without, probe
 * site.uri. With more than one host, a new environment (or one placed so already) is spread: its
 * groups of nodes (env_capacity_groups) go where env_capacity_spread puts them, the groups already
 * recorded stay where they are (pl->spread); an environment recorded on one host before placement
 * existed stays there. *h: what the primary host reports. 0, 1 refused (each shortage in err), -1 failed. */
int env_admit_place(const struct env_config *cfg, struct state *st, const char *env, struct bp_blueprint *bp,
	struct cap_host *h, struct env_placement *pl, struct sbx_err *err) SBX_WUR;
int env_admit_check(const struct env_config *cfg, struct state *st, const char *env, const struct bp_blueprint *bp,
	const struct cap_host *h, const struct env_placement *pl, struct sbx_err *err) SBX_WUR;
int env_admit_claim(struct state *st, const char *env, const struct bp_blueprint *bp, const struct env_placement *pl,
	struct sbx_err *err) SBX_WUR;
int env_admit_line(const struct env_config *cfg, struct state *st, const char *env, const struct bp_blueprint *bp,
	char **line, struct sbx_err *err) SBX_WUR;
/* One line per host of a spread placement: "qemu:///system: nodes web, db; networks front" (caller frees). */
char *env_placement_text(const struct bp_blueprint *bp, const struct env_placement *pl, size_t host);
/* The routes of env's objects from its recorded placement (each node instance's domain, volume and
 * seed, each network; bp's desired ones, bp may be NULL, and the recorded ones): *n 0 when env has
 * none (everything on its site.uri). Free with env_routes_free. */
int env_place_routes(struct state *st, const char *env, const struct bp_blueprint *bp, struct prov_route **out,
	size_t *n, struct sbx_err *err) SBX_WUR;
void env_routes_free(struct prov_route *r, size_t n);
/* Whether bp still has the node or network of placement row r. */
bool env_place_in_bp(const struct bp_blueprint *bp, const struct state_place *r);
/* Refuse (SBX_EXIT_REFUSED, -1; each host named with its nodes and networks, and a hint) env when
 * nodes or networks bp still has were placed on a host bp no longer lists (site.hosts, else
 * site.uri): they are never created again elsewhere. Rows of objects bp no longer has do not count
 * (up deletes those on their recorded host). */
int env_place_check(struct state *st, const char *env, const struct bp_blueprint *bp, struct sbx_err *err) SBX_WUR;
/* Drop the placement rows of the nodes and networks bp no longer has (after an up deleted them). */
int env_place_prune(struct state *st, const char *env, const struct bp_blueprint *bp, struct sbx_err *err) SBX_WUR;

/* Bare-metal machines are leased to one environment at a time (key: plan_machine_key). check
 * refuses (SBX_EXIT_REFUSED, naming the holder) when another environment holds a machine of bp,
 * touching nothing; take leases them to env (which must be recorded), refusing the same way when
 * another environment got there first. */
int env_lease_check(struct state *st, const char *env, const struct bp_blueprint *bp, struct sbx_err *err) SBX_WUR;
int env_lease_take(struct state *st, const char *env, const struct bp_blueprint *bp, struct sbx_err *err) SBX_WUR;
/* After up's plan ran: release env's leases on machines bp no longer names (a "lease.release" event
 * each). */
int env_lease_trim(struct state *st, const char *env, const struct bp_blueprint *bp, struct ev_sink *ev,
	struct sbx_err *err) SBX_WUR;

struct artifact_set;
/* When bp installs k3s: resolve its artifacts (download what is missing into the image cache,
 * verify every digest; progress as "artifact.progress" events), before `up` touches anything.
 * An error says what to supply and where to get it. 0 when bp installs no k3s. */
int env_artifacts_check(const struct env_config *cfg, const struct bp_blueprint *bp, const char *env,
	struct ev_sink *ev, struct sbx_err *err) SBX_WUR;
/* When bp installs k3s: look its artifacts up (no download, no hashing: the nodes check every
 * upload against the digest) into *s (the caller clears it with artifact_set_clear after the
 * roles ran) and point ctx->k3s_bin / k3s_images at them. */
int env_artifacts_roles(const struct env_config *cfg, const struct bp_blueprint *bp, struct artifact_set *s,
	struct role_ctx *ctx, struct sbx_err *err) SBX_WUR;

/* Add a string to a vector. */
void env_strv_add(char ***v, size_t *n, char *s);

#endif
