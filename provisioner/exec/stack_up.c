/* stack_up — create or converge an environment: state row, key, IPAM, plan, execute, readiness. */
#include "stack.h"

#include <limits.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "cloudinit.h"
#include "exec.h"
#include "image.h"
#include "lv.h"
#include "ssh.h"
#include "stack_roles.h"

#define UP_DEFAULT_PARALLEL 16
#define UP_READY_TIMEOUT_S 900

struct up {
	struct state *st;
	struct lv *lv;
	const struct bp_blueprint *bp;
	const char *env, *env_id;
	struct ev_sink *ev;
	struct image_files img;
	bool have_img;
	char *pubkey, *privkey;
	const char *pool;
	char *pool_path;
};

/* Journal a resource row. */
static int journal(struct up *u, const struct plan_step *s, const char *status, struct sbx_err *err)
{
	struct state_res r = {(char *)u->env, s->type, s->name, NULL, s->spec ? s->spec : s->old_spec,
		(char *)status, 0};
	return state_res_put(u->st, &r, err);
}

/* Create (or re-create) a network. */
static int do_network(struct up *u, json_t *spec, const char *name, struct sbx_err *err)
{
	struct lv_net_spec ns = {name, json_string_value(json_object_get(spec, "bridge")),
		json_string_value(json_object_get(spec, "cidr")),
		sbx_streq(json_string_value(json_object_get(spec, "mode")), "nat"), NULL, 0, u->env, u->env_id};
	return lv_net_ensure(u->lv, &ns, err);
}

/* Create the overlay volume of a node instance. */
static int do_volume(struct up *u, json_t *spec, const char *name, struct sbx_err *err)
{
	struct lv_vol_spec vs = {u->pool, name, u->have_img ? u->img.disk : NULL,
		u->have_img ? u->img.format : NULL, (uint64_t)json_integer_value(json_object_get(spec, "capacity"))};
	char *path = NULL;
	int rc = lv_vol_ensure(u->lv, &vs, &path, err);
	free(path);
	return rc;
}

/* Build the cloud-init spec's NIC list from a spec's "nics". */
static struct cloudinit_nic *seed_nics(json_t *nics, char ***addrs)
{
	size_t n = json_array_size(nics);
	struct cloudinit_nic *out = xcalloc(n + 1, sizeof(*out));
	*addrs = xcalloc(n + 1, sizeof(char *));
	for (size_t i = 0; i < n; i++) {
		json_t *nic = json_array_get(nics, i);
		(*addrs)[i] = xasprintf("%s/%d", json_string_value(json_object_get(nic, "ip")),
			(int)json_integer_value(json_object_get(nic, "prefix")));
		out[i] = (struct cloudinit_nic){json_string_value(json_object_get(nic, "mac")), (*addrs)[i],
			i == 0 ? json_string_value(json_object_get(nic, "gateway")) : NULL};
	}
	return out;
}

/* Render and store the NoCloud seed of a node instance. */
static int do_seed(struct up *u, json_t *spec, const char *name, struct sbx_err *err)
{
	json_t *nics = json_object_get(spec, "nics");
	char **addrs = NULL;
	struct cloudinit_nic *cn = seed_nics(nics, &addrs);
	const char *host = json_string_value(json_object_get(spec, "hostname"));
	const char *gw = json_array_size(nics) ? json_string_value(json_object_get(json_array_get(nics, 0), "gateway")) : NULL;
	char *iid = xasprintf("%s-%s", u->env_id, host);
	const char *keys[] = {u->pubkey};
	const char *dns[] = {gw};
	struct cloudinit_spec cs = {iid, host, "sandbox", keys, 1, cn, json_array_size(nics), dns, gw ? 1 : 0};
	char *md = cloudinit_meta_data(&cs), *ud = cloudinit_user_data(&cs), *nc = cloudinit_network_config(&cs);
	struct lv_seed_spec ss = {u->pool, name, md, ud, nc};
	char *path = NULL;
	int rc = lv_seed_ensure(u->lv, &ss, &path, err);
	free(path);
	free(md);
	free(ud);
	free(nc);
	free(iid);
	for (size_t i = 0; i < json_array_size(nics); i++)
		free(addrs[i]);
	free(addrs);
	free(cn);
	return rc;
}

/* Define and start the domain of a node instance. */
static int do_domain(struct up *u, json_t *spec, const char *name, struct sbx_err *err)
{
	json_t *nics = json_object_get(spec, "nics");
	size_t nn = json_array_size(nics);
	struct lv_nic *ln = xcalloc(nn + 1, sizeof(*ln));
	for (size_t i = 0; i < nn; i++)
		ln[i] = (struct lv_nic){json_string_value(json_object_get(json_array_get(nics, i), "network")),
			json_string_value(json_object_get(json_array_get(nics, i), "mac"))};
	char *disk = xasprintf("%s/%s", u->pool_path, json_string_value(json_object_get(spec, "disk")));
	char *seed = xasprintf("%s/%s", u->pool_path, json_string_value(json_object_get(spec, "seed")));
	struct lv_dom_spec ds = {name, u->env, u->env_id, json_string_value(json_object_get(spec, "node")),
		(int)json_integer_value(json_object_get(spec, "index")),
		lv_domain_type(u->lv, json_string_value(json_object_get(spec, "domain_type"))),
		(int)json_integer_value(json_object_get(spec, "vcpus")),
		(uint64_t)json_integer_value(json_object_get(spec, "memory")), disk, seed,
		u->have_img ? u->img.kernel : NULL, u->have_img ? u->img.initrd : NULL,
		u->have_img ? u->img.cmdline : NULL, ln, nn};
	int rc = lv_dom_ensure(u->lv, &ds, err);
	free(disk);
	free(seed);
	free(ln);
	return rc;
}

/* Delete one libvirt object of a step. */
static int do_delete(struct up *u, const struct plan_step *s, struct sbx_err *err)
{
	if (strcmp(s->type, PLAN_T_DOMAIN) == 0)
		return lv_dom_delete(u->lv, s->name, err);
	if (strcmp(s->type, PLAN_T_NETWORK) == 0)
		return lv_net_delete(u->lv, s->name, err);
	return lv_vol_delete(u->lv, u->pool, s->name, err);
}

typedef int (*create_fn)(struct up *u, json_t *spec, const char *name, struct sbx_err *err);

static const struct {
	const char *type;
	create_fn fn;
	const char *doing;
} creators[] = {
	{PLAN_T_NETWORK, do_network, "creating network"},
	{PLAN_T_VOLUME, do_volume, "creating disk"},
	{PLAN_T_SEED, do_seed, "writing cloud-init seed"},
	{PLAN_T_DOMAIN, do_domain, "starting VM"},
};

/* Create or update one resource. */
static int do_create(struct up *u, const struct plan_step *s, struct sbx_err *err)
{
	json_t *spec = json_loads(s->spec, 0, NULL);
	int rc = sbx_err_set(err, SBX_EXIT_FAILED, "unknown resource type %s", s->type);
	for (size_t i = 0; i < SBX_NELEM(creators); i++) {
		if (strcmp(creators[i].type, s->type) != 0)
			continue;
		sbx_err_clear(err);
		ev_emit(u->ev, u->env, "step.start", s->type, s->name, s->node, "%s", creators[i].doing);
		bool replace = s->action == PLAN_UPDATE && strcmp(s->type, PLAN_T_DOMAIN) != 0;
		rc = replace ? do_delete(u, s, err) : 0;
		if (rc == 0)
			rc = creators[i].fn(u, spec, s->name, err);
	}
	json_decref(spec);
	return rc;
}

/* The executor's step function: journal, act, journal. */
static int run_step(void *ctx, const struct plan_step *s, struct sbx_err *err)
{
	struct up *u = ctx;
	bool del = s->action == PLAN_DELETE;
	exec_crash_point(s->type, "before");
	if (journal(u, s, del ? STATE_RES_DELETING : STATE_RES_PENDING, err) < 0)
		return -1;
	int rc = del ? do_delete(u, s, err) : do_create(u, s, err);
	if (rc < 0) {
		ev_emit(u->ev, u->env, "step.fail", s->type, s->name, s->node, "%s", sbx_err_first(err));
		struct sbx_err e2 = SBX_ERR_INIT;
		(void)journal(u, s, STATE_RES_FAILED, &e2);
		sbx_err_clear(&e2);
		return -1;
	}
	exec_crash_point(s->type, "after");
	rc = del ? state_res_delete(u->st, u->env, s->type, s->name, err) : journal(u, s, STATE_RES_CREATED, err);
	if (rc == 0)
		ev_emit(u->ev, u->env, "step.done", s->type, s->name, s->node, "%s %s", s->type,
			del ? "deleted" : "ready");
	return rc;
}

/* The user@host that runs this. */
static char *owner_name(void)
{
	char host[HOST_NAME_MAX + 1] = "localhost";
	const char *user = getenv("SUDO_USER");
	struct passwd *pw = getpwuid(getuid());
	if (user == NULL)
		user = pw ? pw->pw_name : "unknown";
	gethostname(host, sizeof(host) - 1);
	return xasprintf("%s@%s", user, host);
}

/* Work out the expiry of a new or converged environment. */
static int compute_expiry(const struct bp_blueprint *bp, const struct stack_up_opts *o,
	const struct state_env *old, int64_t *expires, struct sbx_err *err)
{
	int64_t now = sbx_now(), ttl = o->ttl ? o->ttl : bp->lifetime.ttl;
	char a[32], b[32];
	if (bp->lifetime.permanent) {
		if (o->ttl)
			return sbx_err_set(err, SBX_EXIT_USAGE, "--ttl: blueprint %s is permanent (lifetime.permanent: true)",
				bp->file);
		*expires = 0;
		return 0;
	}
	if (bp->lifetime.max_ttl && ttl > bp->lifetime.max_ttl) {
		sbx_err_set(err, SBX_EXIT_USAGE, "--ttl %s is longer than the blueprint's max_ttl %s",
			sbx_fmt_duration(ttl, a, sizeof(a)), sbx_fmt_duration(bp->lifetime.max_ttl, b, sizeof(b)));
		sbx_err_hint(err, "ask for at most %s, or raise lifetime.max_ttl in the blueprint", b);
		return -1;
	}
	if (old && old->expires && !o->ttl) {
		*expires = old->expires; /* a converging re-run keeps the expiry */
		return 0;
	}
	int64_t created = old ? old->created : now, cap = bp->lifetime.max_ttl ? created + bp->lifetime.max_ttl : 0;
	*expires = now + ttl;
	if (cap && *expires > cap)
		*expires = cap;
	return 0;
}

/* Insert or update the environment row for this run. */
static int env_record(struct up *u, const struct stack_up_opts *o, struct state_env **out,
	struct sbx_err *err)
{
	struct state_env *old = NULL;
	if (state_env_get(u->st, u->env, &old, err) < 0)
		return -1;
	if (old && (sbx_streq(old->status, STATE_ENV_DESTROYING) || sbx_streq(old->status, STATE_ENV_REAPING))) {
		sbx_err_set(err, SBX_EXIT_REFUSED, "environment %s is being torn down (%s)", u->env, old->status);
		sbx_err_hint(err, "run `sandbox down %s` to finish the teardown, then `up` again", u->env);
		state_env_free(old);
		return -1;
	}
	struct state_env e = {0};
	int rc = compute_expiry(u->bp, o, old, &e.expires, err);
	if (rc < 0)
		goto out;
	char idbuf[17] = "";
	if (old == NULL) {
		unsigned char id[8];
		sbx_random(id, sizeof(id));
		for (size_t i = 0; i < 8; i++)
			snprintf(idbuf + 2 * i, 3, "%02x", id[i]);
	}
	char *path = realpath(o->bp_path, NULL);
	char *owner = owner_name();
	char *json = bp_to_json(u->bp);
	e = (struct state_env){.name = (char *)u->env, .id = old ? old->id : idbuf,
		.blueprint = path ? path : (char *)o->bp_path, .bp_hash = (char *)u->bp->hash, .bp_json = json,
		.status = STATE_ENV_CREATING, .owner = old ? old->owner : owner, .expires = e.expires,
		.max_ttl = u->bp->lifetime.max_ttl, .protected = u->bp->lifetime.protect || (old && old->protected),
		.created = old ? old->created : 0};
	rc = old ? state_env_update(u->st, &e, err) : state_env_create(u->st, &e, err);
	free(path);
	free(owner);
	free(json);
	if (rc == 0)
		rc = state_env_get(u->st, u->env, out, err);
out:
	state_env_free(old);
	return rc;
}

/* Make sure the environment has an SSH key pair and its private key file. */
static int env_key(struct up *u, struct sbx_err *err)
{
	if (state_secret_get(u->st, u->env, "ssh-key", &u->privkey, err) < 0 ||
		state_secret_get(u->st, u->env, "ssh-pub", &u->pubkey, err) < 0)
		return -1;
	if (u->privkey == NULL || u->pubkey == NULL) {
		free(u->privkey);
		free(u->pubkey);
		char *comment = xasprintf("sandbox-%s", u->env);
		int rc = ssh_keygen(comment, &u->privkey, &u->pubkey, err);
		free(comment);
		if (rc < 0 || state_secret_put(u->st, u->env, "ssh-key", u->privkey, err) < 0 ||
			state_secret_put(u->st, u->env, "ssh-pub", u->pubkey, err) < 0)
			return -1;
	}
	char *dir = xasprintf("%s/keys", state_dir(u->st)), *path = stack_key_path(u->st, u->env);
	int rc = sbx_mkdir_p(dir, 0700, err);
	if (rc == 0)
		rc = sbx_write_file(path, u->privkey, strlen(u->privkey), 0600, err);
	free(dir);
	free(path);
	return rc;
}

/* Allocate a block for every network. */
static int env_ipam(struct up *u, struct plan_net **nets, char ***cidrs, struct sbx_err *err)
{
	size_t n = u->bp->nnetworks;
	*nets = xcalloc(n + 1, sizeof(**nets));
	*cidrs = xcalloc(n + 1, sizeof(char *));
	for (size_t i = 0; i < n; i++) {
		const struct bp_network *bn = &u->bp->networks[i];
		if (state_ipam_alloc(u->st, u->env, bn->name, bn->cidr, &(*cidrs)[i], err) < 0)
			return -1;
		(*nets)[i] = (struct plan_net){bn->name, (*cidrs)[i]};
	}
	return 0;
}

/* Names of what libvirt has for the environment (for the planner's drift check). */
static int observe(struct up *u, char ***names, size_t *n, struct sbx_err *err)
{
	struct lv_obj *objs = NULL;
	size_t nobj = 0;
	if (lv_list_ours(u->lv, u->env, &objs, &nobj, err) < 0)
		return -1;
	*names = xcalloc(nobj + 1, sizeof(char *));
	for (size_t i = 0; i < nobj; i++)
		(*names)[i] = xstrdup(objs[i].name);
	*n = nobj;
	lv_obj_list_free(objs, nobj);
	return 0;
}

/* Progress of an image download/build. */
static void image_progress(void *ctx, const char *what, uint64_t done, uint64_t total)
{
	struct up *u = ctx;
	if (total)
		ev_emit(u->ev, u->env, "image.progress", NULL, NULL, NULL, "image: %s %.0f%%", what,
			100.0 * (double)done / (double)total);
	else
		ev_emit(u->ev, u->env, "image.progress", NULL, NULL, NULL, "image: %s", what);
}

/* Resolve the base image and the pool when the plan creates disks or VMs. */
static int prepare_site(struct up *u, const struct plan *p, struct sbx_err *err)
{
	bool need = false;
	for (size_t i = 0; i < p->n; i++)
		need |= p->steps[i].action != PLAN_NOOP && p->steps[i].action != PLAN_DELETE &&
			(strcmp(p->steps[i].type, PLAN_T_VOLUME) == 0 || strcmp(p->steps[i].type, PLAN_T_DOMAIN) == 0);
	if (!need)
		return 0;
	if (lv_pool_ensure(u->lv, u->pool, u->pool_path, err) < 0)
		return -1;
	if (lv_is_test(u->lv))
		return 0;
	char *dir = sbx_dirname(u->bp->file);
	int rc = image_resolve(&u->bp->site.image, dir, image_progress, u, &u->img, err);
	free(dir);
	u->have_img = rc == 0;
	return rc;
}

/* Execute the plan. */
static int up_execute(struct up *u, const struct stack_up_opts *o, const struct plan *p, struct sbx_err *err)
{
	ev_emit(u->ev, u->env, "plan", NULL, NULL, NULL,
		"plan: %zu to create, %zu to update, %zu to delete, %zu unchanged", p->ncreate, p->nupdate,
		p->ndelete, p->nnoop);
	if (prepare_site(u, p, err) < 0)
		return -1;
	return exec_run(p, o->parallel > 0 ? o->parallel : UP_DEFAULT_PARALLEL, run_step, u, err);
}

/* Plan against the state and libvirt, then execute. */
static int up_converge(struct up *u, const struct stack_up_opts *o, const struct state_env *env,
	struct sbx_err *err)
{
	struct plan_net *nets = NULL;
	char **cidrs = NULL, **obs = NULL;
	size_t nobs = 0, nrec = 0;
	struct plan_desired d = {0};
	struct plan p = {0};
	struct state_res *rec = NULL;
	int rc = -1;
	if (env_key(u, err) < 0 || env_ipam(u, &nets, &cidrs, err) < 0 ||
		plan_desired(u->bp, u->env, nets, u->bp->nnetworks, &d, err) < 0 ||
		state_res_list(u->st, u->env, &rec, &nrec, err) < 0 || observe(u, &obs, &nobs, err) < 0 ||
		plan_build(&d, rec, nrec, (const char *const *)obs, nobs, env->protected, &p, err) < 0)
		goto out;
	rc = up_execute(u, o, &p, err);
	if (rc == 0 && o->no_wait) {
		ev_emit(u->ev, u->env, "up.nowait", NULL, NULL, NULL, "--no-wait: not waiting for SSH, roles not applied");
		goto out;
	}
	struct ssh_pool *pool = ssh_pool_new();
	if (rc == 0)
		rc = stack_ready(u->st, u->lv, u->bp, u->env, u->privkey, u->ev, pool, err);
	if (rc == 0)
		rc = stack_roles(u->st, u->lv, u->bp, u->env, u->privkey, u->ev, pool, err);
	ssh_pool_free(pool);
out:
	for (size_t i = 0; cidrs && i < u->bp->nnetworks; i++)
		free(cidrs[i]);
	free(cidrs);
	free(nets);
	state_strv_free(obs, nobs);
	state_res_list_free(rec, nrec);
	plan_desired_clear(&d);
	plan_clear(&p);
	return rc;
}

/* Mark the end of the run in the state and the event stream. */
static void up_finish(struct up *u, const struct state_env *env, int rc, struct sbx_err *err)
{
	struct sbx_err e2 = SBX_ERR_INIT;
	(void)state_env_set_status(u->st, u->env, rc == 0 ? STATE_ENV_READY : STATE_ENV_FAILED, &e2);
	(void)state_event_add(u->st, u->env, rc == 0 ? "up.done" : "up.fail", NULL, &e2);
	sbx_err_clear(&e2);
	if (rc == 0) {
		char left[32];
		ev_emit(u->ev, u->env, "up.done", NULL, NULL, NULL, "environment %s is ready%s%s", u->env,
			env->expires ? "; expires in " : " (permanent)",
			env->expires ? sbx_fmt_duration(env->expires - sbx_now(), left, sizeof(left)) : "");
		return;
	}
	ev_emit(u->ev, u->env, "up.fail", NULL, NULL, NULL, "environment %s failed: %s", u->env,
		sbx_err_first(err));
	if (err->hint == NULL)
		sbx_err_hint(err, "run the same `sandbox up` again to resume, or `sandbox down %s` to clean up",
			u->env);
}

/* Create or converge an environment. */
int stack_up(struct state *st, const struct stack_up_opts *o, struct sbx_err *err)
{
	struct bp_blueprint *bp = NULL;
	struct state_lock *lk = NULL;
	struct state_env *env = NULL;
	struct up u = {.st = st, .ev = o->ev};
	int rc = -1;
	struct bp_load_opts lo = {o->vars, o->nvars, o->env};
	if (bp_load(o->bp_path, &lo, &bp, err) < 0)
		return -1;
	u.bp = bp;
	u.env = o->env ? o->env : bp->name;
	if (!sbx_valid_name(u.env)) {
		sbx_err_set(err, SBX_EXIT_USAGE, "\"%s\" is not a valid environment name", u.env);
		sbx_err_hint(err, "use lowercase letters, digits and '-', starting with a letter, at most 40 characters");
		goto out;
	}
	if (state_env_lock(st, u.env, o->wait_lock, &lk, err) < 0 || env_record(&u, o, &env, err) < 0)
		goto out;
	u.env_id = env->id;
	u.pool = bp->site.pool ? bp->site.pool : "sandbox";
	u.pool_path = xstrdup(bp->site.pool_path ? bp->site.pool_path : "/var/lib/sandbox/pool");
	ev_emit(u.ev, u.env, "up.start", NULL, NULL, NULL, "bringing up %s from %s", u.env, o->bp_path);
	(void)state_event_add(st, u.env, "up.start", NULL, NULL);
	if (lv_open(bp->site.uri ? bp->site.uri : "qemu:///system", &u.lv, err) < 0)
		sbx_err_hint(err, "is libvirtd running? (`sudo make deps` starts it); check site.uri in the blueprint");
	else
		rc = up_converge(&u, o, env, err);
	up_finish(&u, env, rc, err);
out:
	lv_close(u.lv);
	image_files_clear(&u.img);
	free(u.pool_path);
	free(u.privkey);
	free(u.pubkey);
	state_env_free(env);
	state_env_unlock(lk);
	bp_free(bp);
	return rc;
}
