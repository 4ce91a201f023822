/* env_warm_fill — booting warm pool members: the pool network, a member's objects through the
 * provider table, its readiness (SSH answered, host key vouched for by its console). */
#include "env_warm.h"
#include "env_int.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "image.h"
#include "ip4.h"
#include "random.h"

#define WARM_SECRETS     "@warm-pool" /* the secrets' environment name: no environment has it */
#define WARM_HOST_FIRST  10
#define WARM_HOST_LAST   250
#define WARM_SLICE_MS    10000        /* one SSH wait, between looks at the stop flag */

/* One provider session per shape and image hash (a session resolves its image once). */
struct warm_sess {
	char *key; /* "SHAPE|HASH" */
	struct prov *prov;
	struct bp_image img;
};

struct warm_site {
	const struct env_config *cfg;
	struct state *st;
	char *privkey, *pubkey;
	char *net;           /* the pool network's name */
	struct prov *base;   /* no image: the network, consoles */
	struct warm_sess *sess;
	size_t nsess;
};

/* The pool's key pair: from the state, else generated and kept there; its file rewritten. */
static int site_key(struct warm_site *s, struct sbx_err *err)
{
	if (state_secret_get(s->st, WARM_SECRETS, "ssh-key", &s->privkey, err) < 0 ||
		state_secret_get(s->st, WARM_SECRETS, "ssh-pub", &s->pubkey, err) < 0)
		return -1;
	if (s->privkey == NULL || s->pubkey == NULL) {
		free(s->privkey);
		free(s->pubkey);
		s->privkey = s->pubkey = NULL;
		if (ssh_keygen("sandbox-warm-pool", &s->privkey, &s->pubkey, err) < 0 ||
			state_secret_put(s->st, WARM_SECRETS, "ssh-key", s->privkey, err) < 0 ||
			state_secret_put(s->st, WARM_SECRETS, "ssh-pub", s->pubkey, err) < 0)
			return -1;
	}
	char *dir = xasprintf("%s/keys", state_private_dir(s->st)), *path = warm_key_path(s->st);
	int rc = sbx_mkdir_p(dir, 0700, err);
	if (rc == 0)
		rc = sbx_write_file(path, s->privkey, strlen(s->privkey), 0600, err);
	free(dir);
	free(path);
	return rc;
}

/* The provider configuration of the pool (image: NULL for the base session). */
static struct prov_cfg site_cfg(struct warm_site *s, const struct bp_image *img)
{
	return (struct prov_cfg){.state_id = state_id(s->st), .env = WARM_OWNER_ENV, .env_id = WARM_OWNER_ENV,
		.uri = BP_DEFAULT_URI, .pool = BP_DEFAULT_POOL, .pool_path = BP_DEFAULT_POOL_PATH,
		.pubkey = s->pubkey, .image = img, .bp_dir = "/", .image_cache = s->cfg->image_cache,
		.recipes_dir = s->cfg->recipes_dir, .no_machines = false, .netboot_dir = NULL};
}

/* Open a fill session. */
int warm_site_open(const struct env_config *cfg, struct state *st, struct warm_site **out, struct sbx_err *err)
{
	struct warm_site *s = xcalloc(1, sizeof(*s));
	*s = (struct warm_site){.cfg = cfg, .st = st, .net = warm_net_name(st)};
	struct prov_cfg pc = site_cfg(s, NULL);
	if (site_key(s, err) < 0 || (pc.pubkey = s->pubkey, prov_open(&pc, &s->base, err)) < 0) {
		warm_site_close(s);
		return -1;
	}
	*out = s;
	return 0;
}

/* Close a fill session. */
void warm_site_close(struct warm_site *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->nsess; i++) {
		prov_close(s->sess[i].prov);
		free(s->sess[i].key);
		free(s->sess[i].img.path);
		free(s->sess[i].img.url);
		free(s->sess[i].img.sha256);
		free(s->sess[i].img.recipe);
	}
	free(s->sess);
	prov_close(s->base);
	free(s->privkey);
	free(s->pubkey);
	free(s->net);
	free(s);
}

const char *warm_site_uri(const struct warm_site *s)
{
	(void)s;
	return BP_DEFAULT_URI;
}

const char *warm_site_pool(const struct warm_site *s)
{
	(void)s;
	return BP_DEFAULT_POOL;
}

/* The blueprint image of a shape (strings owned by the caller's struct). */
static struct bp_image shape_image(const struct warm_shape *sh)
{
	bool url = sh->image && strstr(sh->image, "://") != NULL;
	return (struct bp_image){.path = url ? NULL : xstrdup(sh->image), .url = url ? xstrdup(sh->image) : NULL,
		.sha256 = xstrdup(sh->sha256), .recipe = xstrdup(sh->recipe)};
}

/* The provider session of a shape's image, opened on first use. */
static int shape_sess(struct warm_site *s, const struct warm_shape *sh, const char *hash, struct warm_sess **out,
	struct sbx_err *err)
{
	char *key = xasprintf("%s|%s", sh->key, hash);
	for (size_t i = 0; i < s->nsess; i++)
		if (strcmp(s->sess[i].key, key) == 0) {
			*out = &s->sess[i];
			free(key);
			return 0;
		}
	s->sess = xrealloc(s->sess, (s->nsess + 1) * sizeof(*s->sess));
	struct warm_sess *w = &s->sess[s->nsess];
	*w = (struct warm_sess){key, NULL, shape_image(sh)};
	struct prov_cfg pc = site_cfg(s, &w->img);
	if (prov_open(&pc, &w->prov, err) < 0) {
		free(w->key);
		free(w->img.path);
		free(w->img.url);
		free(w->img.sha256);
		free(w->img.recipe);
		return -1;
	}
	s->nsess++;
	*out = w;
	return 0;
}

/* The image hash of a shape now. */
int warm_image_hash(struct warm_site *s, const struct warm_shape *sh, char **hash, struct sbx_err *err)
{
	struct bp_image img = shape_image(sh);
	struct image_dirs dirs = {s->cfg->image_cache, s->cfg->recipes_dir};
	struct image_files f = {0};
	struct stat sb;
	int rc = image_resolve(&img, "/", &dirs, NULL, NULL, &f, err);
	if (rc == 0 && f.sha256)
		*hash = xstrdup(f.sha256);
	else if (rc == 0 && stat(f.disk, &sb) == 0)
		*hash = xasprintf("file:%lld:%lld", (long long)sb.st_size, (long long)sb.st_mtime);
	else if (rc == 0)
		rc = sbx_err_set(err, SBX_EXIT_FAILED, "image %s: cannot read it", f.disk);
	image_files_clear(&f);
	free(img.path);
	free(img.url);
	free(img.sha256);
	free(img.recipe);
	return rc;
}

/* The pool network's /24: the one its members' addresses are in, else a new one (the network is
 * then recreated). The state counts the block taken from the first member's row on
 * (state_ipam.c: pool_taken). */
static int net_cidr(struct warm_site *s, const struct warm_member *v, size_t n, char **cidr, struct sbx_err *err)
{
	for (size_t i = 0; i < n; i++) {
		int64_t b = ip4_addr_block(v[i].address);
		if (b >= 0) {
			*cidr = ip4_block_cidr((uint32_t)b);
			return 0;
		}
	}
	struct res r = {.type = RES_NETWORK, .name = s->net};
	if (prov_delete(s->base, &r, err) < 0 || env_ipam_avoid(s->st, s->base, false, err) < 0)
		return -1;
	return state_ipam_pick_high(s->st, cidr, err);
}

/* A host number of cidr no member's address uses (0: none left). */
static int free_host(const char *cidr, const struct warm_member *v, size_t n)
{
	for (int h = WARM_HOST_FIRST; h <= WARM_HOST_LAST; h++) {
		char *ip = ip4_host(cidr, h);
		bool used = false;
		for (size_t i = 0; i < n && !used; i++)
			used = sbx_streq(v[i].address, ip);
		free(ip);
		if (!used)
			return h;
	}
	return 0;
}

/* Record the new member's row: its id, address and volumes. */
static int member_journal(struct warm_site *s, const struct warm_shape *sh, const char *hash, struct warm_member *m,
	char **cidr, struct sbx_err *err)
{
	struct warm_member *v = NULL;
	size_t n = 0;
	unsigned char rnd[3];
	int rc = state_warm_list(s->st, NULL, &v, &n, err);
	if (rc == 0)
		rc = net_cidr(s, v, n, cidr, err);
	int host = rc == 0 ? free_host(*cidr, v, n) : 0;
	state_warm_list_free(v, n);
	if (rc < 0)
		return -1;
	if (host == 0)
		return sbx_err_set(err, SBX_EXIT_REFUSED, "the warm pool network %s is full", *cidr);
	sbx_random(rnd, sizeof(rnd));
	m->id = xasprintf(WARM_PREFIX "%.8s.%s-%02x%02x%02x", state_id(s->st), sh->tag, rnd[0], rnd[1], rnd[2]);
	m->shape = xstrdup(sh->key);
	m->status = xstrdup(WARM_BOOTING);
	m->image_hash = xstrdup(hash);
	m->address = ip4_host(*cidr, host);
	m->volumes = xasprintf("%s.qcow2,%s-seed.iso", m->id, m->id);
	m->roles = sh->roles ? xstrdup(sh->roles) : NULL;
	return state_warm_add(s->st, m, err);
}

/* Create the pool network (when absent) and the member's volume, seed and domain. */
static int member_objects(struct warm_site *s, struct prov *p, const struct warm_shape *sh, const struct warm_member *m,
	const char *cidr, struct sbx_err *err)
{
	char br[12], mac[18], *gw = ip4_host(cidr, 1), *vol = xasprintf("%s.qcow2", m->id);
	char *seed = xasprintf("%s-seed.iso", m->id), *host = xstrdup(m->id + strlen(WARM_PREFIX) + 9);
	plan_bridge_name(s->net, br);
	plan_mac(WARM_OWNER_ENV, m->id, "pool", mac);
	struct res_nic nic = {s->net, "pool", mac, m->address, gw, 24, true};
	struct res net = {.type = RES_NETWORK, .name = s->net, .u.net = {.net = "pool", .cidr = (char *)cidr, .bridge = br, .nat = true}};
	struct res rv = {.type = RES_VOLUME, .name = vol, .u.vol = {{0}, WARM_DISK, BP_DEFAULT_POOL}};
	struct res rs = {.type = RES_SEED, .name = seed, .u.seed = {host, "sandbox", &nic, 1}};
	struct res rd = {.type = RES_DOMAIN, .name = m->id, .u.dom = {"pool", 0, sh->cpus, sh->memory, vol, seed,
		"auto", &nic, 1}};
	int rc = prov_ensure(s->base, &net, false, false, err);
	if (rc == 0)
		rc = prov_ensure(p, &rv, false, false, err);
	if (rc == 0)
		rc = prov_ensure(p, &rs, false, false, err);
	if (rc == 0)
		rc = prov_ensure(p, &rd, false, false, err);
	free(gw);
	free(vol);
	free(seed);
	free(host);
	return rc;
}

/* Boot one new member. */
int warm_member_boot(struct warm_site *s, const struct warm_shape *sh, const char *hash, char **id, char **address,
	struct sbx_err *err)
{
	struct warm_sess *w = NULL;
	struct warm_member m = {0};
	char *cidr = NULL;
	int rc = shape_sess(s, sh, hash, &w, err);
	if (rc == 0)
		rc = member_journal(s, sh, hash, &m, &cidr, err);
	if (rc == 0 && (rc = member_objects(s, w->prov, sh, &m, cidr, err)) < 0) {
		struct sbx_err e = SBX_ERR_INIT;
		(void)!state_warm_set(s->st, m.id, WARM_BROKEN, NULL, NULL, &e);
		sbx_err_clear(&e);
	}
	if (rc == 0) {
		*id = m.id;
		*address = m.address;
		m.id = m.address = NULL;
	}
	free(cidr);
	warm_member_clear(&m);
	return rc;
}

/* Wait for the console to print the host key the member offered: 0 vouched (or the console
 * cannot be read here), -1 not (err set). */
static int member_vouched(struct warm_site *s, const char *id, const char *hostkey, int64_t deadline_ms,
	struct sbx_err *err)
{
	struct sbx_backoff b;
	sbx_backoff_init(&b, deadline_ms - sbx_mono_ms(), 200, 2000);
	for (;;) {
		char *console = NULL;
		int got = prov_console(s->base, id, &console, err);
		int v = got == 0 ? ssh_hostkey_on_console(console, hostkey) : 2;
		free(console);
		if (got < 0)
			return -1;
		if (v == 1 || v == 2)
			return 0;
		if (v < 0)
			return sbx_err_set(err, SBX_EXIT_FAILED, "the SSH host key at its address is not one its console "
				"printed: another machine answers there");
		if (sbx_backoff_wait(&b) < 0)
			return sbx_err_set(err, SBX_EXIT_FAILED, "its console never printed its SSH host key fingerprints");
	}
}

/* Mark a member broken; returns -1. */
static int member_broken(struct warm_site *s, const char *id, struct sbx_err *err)
{
	struct sbx_err e = SBX_ERR_INIT;
	(void)!state_warm_set(s->st, id, WARM_BROKEN, NULL, NULL, &e);
	sbx_err_clear(&e);
	sbx_err_prefix(err, "warm pool member %s", id);
	return -1;
}

/* Whether the state still records member id (a claimer may destroy it while it boots). */
static bool member_recorded(struct warm_site *s, const char *id)
{
	struct sbx_err e = SBX_ERR_INIT;
	struct warm_member *v = NULL;
	size_t n = 0;
	bool found = state_warm_list(s->st, NULL, &v, &n, &e) < 0; /* unreadable: keep waiting */
	for (size_t i = 0; i < n && !found; i++)
		found = strcmp(v[i].id, id) == 0;
	state_warm_list_free(v, n);
	sbx_err_clear(&e);
	return found;
}

/* The member's next host keys, made ahead so that a takeover only moves them into place (see
 * env_adopt.c): generated in the member, never served by its sshd before the takeover, with no
 * comment (the takeover writes root@HOSTNAME); next/fp holds "BITS FINGERPRINT (TYPE)" per key,
 * in the order cloud-init prints them. */
static const char next_keys_sh[] =
	"rm -rf " WARM_NEXT_KEYS " && install -d -m 700 " WARM_NEXT_KEYS "\n"
	"for t in ecdsa ed25519; do\n"
	"  f=" WARM_NEXT_KEYS "/ssh_host_${t}_key\n"
	"  ssh-keygen -q -t \"$t\" -N '' -C '' -f \"$f\"\n"
	"  set -- $(ssh-keygen -l -f \"$f.pub\"); eval \"ty=\\${$#}\"\n"
	"  printf '%s %s %s\\n' \"$1\" \"$2\" \"$ty\" >> " WARM_NEXT_KEYS "/fp\n"
	"done\n";

/* Prepare a member as root: its next host keys, then what each role of roles ('+'-separated, may
 * be NULL) does ahead. */
static int member_prepare(struct ssh_conn *c, const char *id, const char *roles, struct sbx_err *err)
{
	struct sbx_buf b = {0};
	struct ssh_result res = {0};
	char *copy = xstrdup(roles ? roles : ""), *save = NULL;
	sbx_buf_puts(&b, "set -e\n");
	sbx_buf_puts(&b, next_keys_sh);
	for (char *r = strtok_r(copy, "+", &save); r; r = strtok_r(NULL, "+", &save)) {
		char *sh = role_prepare_ahead(r, "");
		if (sh)
			sbx_buf_printf(&b, "%s\n", sh);
		free(sh);
	}
	free(copy);
	int rc = ssh_exec(c, "sudo -n sh -s", b.data, &res, err);
	if (rc == 0 && res.status != 0)
		rc = sbx_err_set(err, SBX_EXIT_FAILED, "member %s: the preparation%s%s exited %d: %s", id,
			roles && *roles ? " of roles " : "", roles && *roles ? roles : "", res.status, res.err ? res.err : "");
	ssh_result_clear(&res);
	sbx_buf_free(&b);
	return rc;
}

/* Wait for a member to be ready. */
int warm_member_wait(struct warm_site *s, const char *id, const char *address, const char *roles,
	const volatile bool *stop, struct sbx_err *err)
{
	struct ssh_target t = {address, 22, "sandbox", s->privkey, NULL};
	int64_t deadline = sbx_mono_ms() + s->cfg->ready_timeout * 1000;
	struct ssh_conn *c = NULL;
	char *hostkey = NULL;
	for (;;) {
		int64_t left = deadline - sbx_mono_ms();
		sbx_err_clear(err);
		if (*stop || !member_recorded(s, id))
			return -2;
		if (ssh_connect_wait(&t, (int)(left < WARM_SLICE_MS ? left : WARM_SLICE_MS), &c, &hostkey, err) == 0)
			break;
		if (left <= WARM_SLICE_MS)
			return member_broken(s, id, err);
	}
	int rc = member_vouched(s, id, hostkey, deadline, err);
	if (rc == 0)
		rc = member_prepare(c, id, roles, err);
	struct role_ahead_host h = {.name = id, .ssh_addr = address, .ssh_user = "sandbox", .ssh_priv_pem = s->privkey,
		.pinned_hostkey = hostkey, .cluster_dir = s->cfg->cluster_dir,
		.health_timeout_ms = (int)s->cfg->role_timeout * 1000, .conn = c};
	if (rc == 0 && role_apply_ahead(roles, &h, err) < 0) /* takes c */
		rc = *stop ? -2 : -1; /* the daemon's stop cut the health check short: left booting */
	else if (rc != 0)
		ssh_close(c);
	if (rc == -2) {
		free(hostkey);
		return -2;
	}
	if (rc == 0)
		rc = state_warm_set(s->st, id, WARM_READY, NULL, hostkey, err) < 0 ? -1 : 0;
	else
		rc = member_broken(s, id, err);
	free(hostkey);
	return rc;
}

/* Delete the pool network once no member is recorded. */
int warm_net_prune(struct warm_site *s, struct sbx_err *err)
{
	struct warm_member *v = NULL;
	size_t n = 0;
	if (state_warm_list(s->st, NULL, &v, &n, err) < 0)
		return -1;
	state_warm_list_free(v, n);
	if (n > 0)
		return 0;
	struct res r = {.type = RES_NETWORK, .name = s->net};
	return prov_delete(s->base, &r, err);
}
