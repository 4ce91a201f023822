/* env_adopt — a warm pool member becomes a node of an environment: the claim, the aliases that
 * give the node's resources the member's object names, the member's new identity over SSH, and
 * what a fallback to a cold boot undoes. */
#include "env_int.h"
#include "env_warm.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#define ADOPT_SSH_MS 60000 /* reaching a ready member on the pool network */

/* The object name an alias row gives (caller frees), and its MAC (caller frees, may be NULL). */
static char *alias_split(const char *spec, char **mac)
{
	const char *sp = strchr(spec, ' ');
	*mac = sp && sp[1] ? xstrdup(sp + 1) : NULL;
	return sp ? xstrndup(spec, (size_t)(sp - spec)) : xstrdup(spec);
}

/* Replace *s by its alias, if it has one. */
static void alias_name(const struct env_rows *rows, char **s)
{
	const char *spec = *s ? env_rows_spec(rows, ENV_ROW_ALIAS, *s) : NULL;
	char *mac = NULL;
	if (spec == NULL)
		return;
	free(*s);
	*s = alias_split(spec, &mac);
	free(mac);
}

/* Replace the first NIC's MAC of a domain or seed by the one its alias records. */
static void alias_mac(const char *spec, struct res_nic *nics, size_t n)
{
	char *mac = NULL, *name = alias_split(spec, &mac);
	if (mac && n > 0) {
		free(nics[0].mac);
		nics[0].mac = mac;
		mac = NULL;
	}
	free(name);
	free(mac);
}

/* Keep a copy of r in cold. */
static void cold_keep(struct plan_desired *cold, const struct res *r)
{
	if (cold->n == cold->cap) {
		cold->cap = cold->cap ? 2 * cold->cap : 8;
		cold->res = xrealloc(cold->res, cold->cap * sizeof(*cold->res));
	}
	res_copy(&cold->res[cold->n++], r);
}

/* Rename the desired resources the alias rows name. */
void env_alias_apply(const struct env_rows *rows, struct plan_desired *d, struct plan_desired *cold)
{
	for (size_t i = 0; i < d->n; i++) {
		struct res *r = &d->res[i];
		const char *spec = env_rows_spec(rows, ENV_ROW_ALIAS, r->name);
		if (spec)
			cold_keep(cold, r);
		if (spec && r->type == RES_DOMAIN)
			alias_mac(spec, r->u.dom.nics, r->u.dom.nnics);
		if (spec && r->type == RES_SEED)
			alias_mac(spec, r->u.seed.nics, r->u.seed.nnics);
		alias_name(rows, &r->name);
		if (r->type == RES_DOMAIN) {
			alias_name(rows, &r->u.dom.disk);
			alias_name(rows, &r->u.dom.seed);
		}
		for (size_t k = 0; k < r->ndeps; k++)
			alias_name(rows, &r->deps[k]);
	}
}

/* The alias row of a cold name: the member's object (and MAC). */
static int alias_put(struct state *st, const char *env, const char *cold, const char *obj, const char *mac,
	struct sbx_err *err)
{
	char *spec = mac ? xasprintf("%s %s", obj, mac) : xstrdup(obj);
	struct state_res row = {(char *)env, ENV_ROW_ALIAS, (char *)cold, NULL, spec, STATE_RES_CREATED, 0};
	int rc = state_res_put(st, &row, err);
	free(spec);
	return rc;
}

/* Journal r under the member's name obj, status pending. */
static int alias_journal(struct state *st, const char *env, const struct res *r, const char *obj, struct sbx_err *err)
{
	struct res a;
	res_copy(&a, r);
	free(a.name);
	a.name = xstrdup(obj);
	char *spec = res_encode(&a);
	struct state_res row = {(char *)env, (char *)res_type_name(a.type), a.name, NULL, spec, STATE_RES_PENDING, 0};
	int rc = state_res_put(st, &row, err);
	free(spec);
	res_clear(&a);
	return rc;
}

/* The member's volume whose name ends with suffix (the overlay ".qcow2", the seed "-seed.iso"),
 * or NULL; caller frees. */
static char *member_volume(const struct warm_member *m, const char *suffix)
{
	char *v = xstrdup(m->volumes ? m->volumes : ""), *save = NULL, *hit = NULL;
	for (char *t = strtok_r(v, ",", &save); t && !hit; t = strtok_r(NULL, ",", &save)) {
		size_t n = strlen(t), k = strlen(suffix);
		if (n > k && strcmp(t + n - k, suffix) == 0 && (strcmp(suffix, ".qcow2") != 0 || n < 9 ||
				strcmp(t + n - 9, "-seed.iso") != 0))
			hit = xstrdup(t);
	}
	free(v);
	return hit;
}

/* The desired resource of a type of one node instance. */
static const struct res *desired_of(const struct plan_desired *d, enum res_type type, const char *inst)
{
	for (size_t i = 0; i < d->n; i++)
		if (d->res[i].type == type && sbx_streq(d->res[i].node, inst))
			return &d->res[i];
	return NULL;
}

/* One taken-over object of an instance: its cold resource and the member's object name. */
struct adopt_obj {
	const struct res *cold;
	char *obj;
};

/* Journal the aliases and rows of an instance's objects, hand the member's row over, then tag
 * the objects as the environment's; the domain's first MAC goes into its aliases. */
static int claim_record(struct state *st, struct prov *p, const char *env, const struct warm_member *m,
	struct adopt_obj *o, size_t n, struct sbx_err *err)
{
	char *mac = NULL;
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++)
		if (o[i].obj && (alias_put(st, env, o[i].cold->name, o[i].obj, NULL, err) < 0 ||
				alias_journal(st, env, o[i].cold, o[i].obj, err) < 0))
			rc = -1;
	if (rc == 0)
		rc = state_warm_delete(st, m->id, err);
	for (size_t i = 0; i < n && rc == 0; i++) {
		struct res r = {.type = o[i].cold->type, .name = o[i].obj};
		if (o[i].obj == NULL)
			continue;
		r.u = o[i].cold->u;
		rc = prov_adopt(p, &r, false, r.type == RES_DOMAIN ? &mac : NULL, err);
	}
	for (size_t i = 0; i < n && rc == 0; i++)
		if (o[i].obj && (o[i].cold->type == RES_DOMAIN || o[i].cold->type == RES_SEED))
			rc = alias_put(st, env, o[i].cold->name, o[i].obj, mac, err);
	free(mac);
	return rc;
}

/* Forget the member's objects of a failed claim: delete them and their rows (absent is fine). */
static void claim_undo(struct state *st, struct prov *p, const char *env, struct adopt_obj *o, size_t n)
{
	for (size_t i = n; i-- > 0;) {
		struct sbx_err e = SBX_ERR_INIT;
		struct res r = {.type = o[i].cold->type, .name = o[i].obj};
		if (o[i].obj && prov_delete(p, &r, &e) == 0) {
			(void)state_res_delete(st, env, res_type_name(r.type), o[i].obj, &e);
			(void)state_res_delete(st, env, ENV_ROW_ALIAS, o[i].cold->name, &e);
		}
		sbx_err_clear(&e);
	}
}

/* Whether the pool may serve this environment's node: its site is the pool's (the default
 * libvirt URI and storage pool) and the node has one network; else why not (static text). */
static const char *claim_blocked(const struct bp_blueprint *bp, const struct res *dom)
{
	if (!sbx_streq(bp->site.uri, BP_DEFAULT_URI) || !sbx_streq(bp->site.pool, BP_DEFAULT_POOL))
		return "the site is not the pool's (default libvirt URI and storage pool)";
	if (dom->u.dom.nnics != 1)
		return "the node has no network or several";
	return NULL;
}

/* The blueprint node of a domain resource. */
static const struct bp_node *bp_node_of(const struct bp_blueprint *bp, const struct res *dom)
{
	for (size_t i = 0; i < bp->nnodes; i++)
		if (sbx_streq(bp->nodes[i].name, dom->u.dom.node))
			return &bp->nodes[i];
	return NULL;
}

/* Try the pool for one new domain: 1 claimed and recorded (*m filled), 0 not. */
static int claim_one(struct state *st, struct prov *p, const struct bp_blueprint *bp, const char *env,
	const struct plan_desired *d, const struct res *dom, struct ev_sink *ev, struct warm_member *m)
{
	struct sbx_err e = SBX_ERR_INIT;
	const struct bp_node *bn = bp_node_of(bp, dom);
	const char *why = bn ? claim_blocked(bp, dom) : "no blueprint node";
	char *key = NULL;
	int rc = why ? 0 : warm_shape_of_node(bp, bn, &key, &e);
	free(key);
	if (why == NULL && rc != 0)
		why = rc < 0 ? sbx_err_first(&e) : "no pool shape for this node";
	if (why == NULL && (rc = warm_claim_for_node(st, bp, bn, NULL, env, dom->node, m, &e)) <= 0)
		why = rc < 0 ? sbx_err_first(&e) : "the pool has no ready member of its shape";
	if (why) {
		ev_emit(ev, env, "pool.miss", "domain", dom->name, dom->node, "cold boot: %s", why);
		sbx_err_clear(&e);
		return 0;
	}
	struct adopt_obj o[3];
	size_t n = 0;
	const struct res *vol = desired_of(d, RES_VOLUME, dom->node), *seed = desired_of(d, RES_SEED, dom->node);
	char *vname = member_volume(m, ".qcow2"), *sname = member_volume(m, "-seed.iso");
	if (vol && vname)
		o[n++] = (struct adopt_obj){vol, vname};
	if (seed && sname)
		o[n++] = (struct adopt_obj){seed, sname};
	o[n++] = (struct adopt_obj){dom, xstrdup(m->id)};
	rc = vol && vname ? claim_record(st, p, env, m, o, n, &e) : sbx_err_set(&e, SBX_EXIT_FAILED, "no overlay volume");
	if (rc == 0)
		ev_emit(ev, env, "pool.claim", "domain", m->id, dom->node, "claimed warm pool member %s (%s)%s%s", m->id,
			m->address ? m->address : "?", m->roles && *m->roles ? ", prepared ahead for roles " : "",
			m->roles && *m->roles ? m->roles : "");
	else {
		ev_emit(ev, env, "pool.fallback", "domain", m->id, dom->node, "cold boot: claimed member %s could not be "
			"taken over: %s", m->id, sbx_err_first(&e));
		claim_undo(st, p, env, o, n);
		struct sbx_err e2 = SBX_ERR_INIT; /* what claim_undo did not reach (absent is fine) */
		(void)!warm_member_destroy(st, BP_DEFAULT_URI, BP_DEFAULT_POOL, m, &e2);
		sbx_err_clear(&e2);
	}
	if (!(vol && vname))
		free(vname);
	if (!(seed && sname))
		free(sname);
	for (size_t i = 0; i < n; i++)
		free(o[i].obj);
	sbx_err_clear(&e);
	return rc == 0 ? 1 : 0;
}

/* Whether the state records any pool member (a state without a pool: no claim, no pool.miss). */
static int pool_recorded(struct state *st, bool *any, struct sbx_err *err)
{
	struct warm_member *v = NULL;
	size_t n = 0;
	if (state_warm_list(st, NULL, &v, &n, err) < 0)
		return -1;
	state_warm_list_free(v, n);
	*any = n > 0;
	return 0;
}

/* Claim pool members for the new domains of in. */
int env_warm_claim(struct state *st, struct prov *p, const struct bp_blueprint *bp, const char *env,
	const struct env_inputs *in, struct ev_sink *ev, struct env_claims *out, struct sbx_err *err)
{
	bool any = false;
	if (pool_recorded(st, &any, err) < 0)
		return -1;
	for (size_t i = 0; any && i < in->desired.n; i++) {
		const struct res *r = &in->desired.res[i];
		bool recorded = false;
		if (r->type != RES_DOMAIN || env_rows_spec(&in->rows, ENV_ROW_ALIAS, r->name) != NULL)
			continue;
		for (size_t k = 0; k < in->rows.nrec && !recorded; k++)
			recorded = sbx_streq(in->rows.recs[k].res.name, r->name);
		if (recorded)
			continue;
		struct warm_member m = {0};
		if (claim_one(st, p, bp, env, &in->desired, r, ev, &m) == 1) {
			out->m = xrealloc(out->m, (out->n + 1) * sizeof(*out->m));
			out->m[out->n++] = m;
		} else
			warm_member_clear(&m);
	}
	return 0;
}

/* Free the claims. */
void env_claims_clear(struct env_claims *c)
{
	for (size_t i = 0; i < c->n; i++)
		warm_member_clear(&c->m[i]);
	free(c->m);
	*c = (struct env_claims){0};
}

/* The claimed member whose domain is named dom, or NULL. */
const struct warm_member *env_claims_find(const struct env_claims *c, const char *dom)
{
	for (size_t i = 0; c && i < c->n; i++)
		if (sbx_streq(c->m[i].id, dom))
			return &c->m[i];
	return NULL;
}

/* Append the lines of /etc/network/interfaces for the domain's NICs (static, like the seeds),
 * written by the shell itself: every process costs about 0.1 s in a TCG guest. */
static void script_net(struct sbx_buf *b, const struct res_domain *d)
{
	sbx_buf_puts(b, "printf '%s\\n'");
	for (size_t i = 0; i < d->nnics; i++) {
		const struct res_nic *n = &d->nics[i];
		sbx_buf_printf(b, " '%s eth%zu' 'iface eth%zu inet static' '    address %s/%d'", i ? "allow-hotplug" : "auto",
			i, i, n->ip, n->prefix);
		if (i == 0 && n->gateway)
			sbx_buf_printf(b, " '    gateway %s'", n->gateway);
	}
	sbx_buf_puts(b, " > /etc/network/interfaces.d/50-cloud-init\n");
	if (d->nnics && d->nics[0].gateway)
		sbx_buf_printf(b, "printf 'nameserver %%s\\n' %s > /etc/resolv.conf\n", d->nics[0].gateway);
}

/* Append the address switch. The node's address (and default route) goes on eth0 now, beside the
 * pool's, with one `ip` process, so that the guest answers on the environment's network as soon as
 * its NIC is moved there (ARP included: a first SYN that finds no answer costs 3 s). A detached job
 * waits for the script's sshd (its nearest sshd ancestor) to exit, that is for this connection to
 * close, then drops every other address of eth0 and the used key directory. sshd is left running:
 * Debian 12's OpenSSH (9.2) re-executes itself for every connection and that child reads the host
 * keys, so the new keys serve the next connection without a restart. The addresses are IPAM's
 * dotted quads: safe inside the quotes. */
static void script_switch(struct sbx_buf *b, const struct res_domain *d)
{
	if (d->nnics == 0)
		return;
	sbx_buf_printf(b, "ip -b - <<'EOF'\naddr replace %s/%d dev eth0\nlink set eth0 up\n", d->nics[0].ip,
		d->nics[0].prefix);
	if (d->nics[0].gateway)
		sbx_buf_printf(b, "route replace default via %s dev eth0\n", d->nics[0].gateway);
	sbx_buf_puts(b, "EOF\n"
		"s= p=$$\nwhile [ \"$p\" -gt 1 ] && read -r _ c _ pp _ < /proc/$p/stat; do\n"
		"  if [ \"$c\" = '(sshd)' ]; then s=$p; break; fi; p=$pp\ndone\n");
	sbx_buf_printf(b, "setsid -f sh -c 'if [ -n \"$1\" ]; then tail --pid=\"$1\" -s 0.1 -f /dev/null; else sleep 5; fi; "
		"ip -4 -o addr show dev eth0 | while read -r _ _ _ a _; do [ \"${a%%/*}\" = %s ] || ip addr del \"$a\" dev eth0; done; "
		"rm -rf " WARM_NEXT_KEYS "' sbx-switch \"$s\" </dev/null >/dev/null 2>&1\n", d->nics[0].ip);
}

/* Append the host keys' change: the member's next keys (made ahead, see env_warm_fill.c) moved
 * into place and labelled root@HOSTNAME, or new ones made now for a member prepared without them;
 * then printed to the console the way cloud-init prints them. */
static void script_hostkeys(struct sbx_buf *b)
{
	sbx_buf_puts(b, "n=" WARM_NEXT_KEYS "\nrm -f /etc/ssh/ssh_host_*\n"
		"if [ -s \"$n/fp\" ]; then\n"
		"  mv -f \"$n\"/ssh_host_* /etc/ssh/\n"
		"  for f in /etc/ssh/ssh_host_*_key.pub; do read -r t k _ < \"$f\"; printf '%s %s root@%s\\n' \"$t\" \"$k\" \"$h\" > \"$f\"; done\n"
		"else\n"
		"  ssh-keygen -q -t ed25519 -N '' -f /etc/ssh/ssh_host_ed25519_key\n"
		"  ssh-keygen -q -t ecdsa -N '' -f /etc/ssh/ssh_host_ecdsa_key\n"
		"  mkdir -p \"$n\"\n"
		"  for f in /etc/ssh/ssh_host_*_key.pub; do ssh-keygen -l -f \"$f\"; done | while read -r bits fp _ ty; do\n"
		"    printf '%s %s %s\\n' \"$bits\" \"$fp\" \"$ty\"; done > \"$n/fp\"\n"
		"fi\n"
		"{ echo; echo '-----BEGIN SSH HOST KEY FINGERPRINTS-----'\n"
		"  while read -r bits fp ty; do printf '%s %s root@%s %s\\n' \"$bits\" \"$fp\" \"$h\" \"$ty\"; done < \"$n/fp\"\n"
		"  echo '-----END SSH HOST KEY FINGERPRINTS-----'; echo '-----BEGIN SSH HOST KEY KEYS-----'\n"
		"  for f in /etc/ssh/ssh_host_*_key.pub; do read -r l < \"$f\"; printf '%s\\n' \"$l\"; done\n"
		"  echo '-----END SSH HOST KEY KEYS-----'; } > /dev/ttyS0\n");
}

/* The shell script (run as root) that gives a member the node's identity: hostname, the
 * environment's key instead of the pool's (the file keeps its owner and mode), new host keys
 * printed to the console, the addresses of the node's networks. Shell builtins wherever they do:
 * the whole script starts four processes when the member has its next keys (caller frees). */
char *env_adopt_script(const char *hostname, const char *pubkey, const struct res_domain *d)
{
	struct sbx_buf b = {0};
	char *h = sbx_shell_quote(hostname), *k = sbx_shell_quote(pubkey);
	sbx_buf_printf(&b, "set -e\nh=%s\nprintf '%%s\\n' \"$h\" > /etc/hostname\nprintf '%%s' \"$h\" > /proc/sys/kernel/hostname\n"
		"printf '127.0.0.1 localhost\\n127.0.1.1 %%s\\n::1 localhost ip6-localhost ip6-loopback\\n' \"$h\" > /etc/hosts\n"
		"[ -d /etc/cloud/cloud.cfg.d ] || mkdir -p /etc/cloud/cloud.cfg.d\n"
		"printf 'preserve_hostname: true\\nmanage_etc_hosts: false\\nnetwork: {config: disabled}\\n' "
		"> /etc/cloud/cloud.cfg.d/99-sandbox-adopted.cfg\n", h);
	sbx_buf_printf(&b, "d=\nwhile IFS=: read -r u _ _ _ _ home _; do if [ \"$u\" = sandbox ]; then d=$home; fi; done < /etc/passwd\n"
		"if [ -z \"$d\" ] || [ ! -f \"$d/.ssh/authorized_keys\" ]; then echo 'no authorized_keys of user sandbox' >&2; exit 1; fi\n"
		"printf '%%s\\n' %s > \"$d/.ssh/authorized_keys\"\n", k);
	script_hostkeys(&b);
	script_net(&b, d);
	script_switch(&b, d);
	free(h);
	free(k);
	return sbx_buf_steal(&b);
}

/* Give a claimed member the identity of node instance `hostname` over the pool network. */
int env_adopt_identity(struct state *st, const struct warm_member *m, const char *hostname, const char *pubkey,
	const struct res *dom, struct sbx_err *err)
{
	char *keypath = warm_key_path(st), *priv = NULL, *script = NULL;
	size_t len = 0;
	struct ssh_conn *c = NULL;
	struct ssh_result res = {0};
	int rc = -1;
	if (m->address == NULL || m->hostkey == NULL) {
		sbx_err_set(err, SBX_EXIT_FAILED, "member %s has no address or pinned host key", m->id);
		goto out;
	}
	if (sbx_read_file(keypath, &priv, &len, err) < 0)
		goto out;
	struct ssh_target t = {m->address, 22, "sandbox", priv, m->hostkey};
	if (ssh_connect_wait_unproven(&t, ADOPT_SSH_MS, &c, NULL, err) < 0) /* the pinned key proves it */
		goto out;
	script = env_adopt_script(hostname, pubkey, &dom->u.dom);
	if (ssh_exec(c, "sudo -n sh -s", script, &res, err) < 0)
		goto out;
	if (res.status != 0) {
		sbx_err_set(err, SBX_EXIT_FAILED, "member %s: the identity script exited %d: %s", m->id, res.status,
			res.err ? res.err : "");
		goto out;
	}
	rc = 0;
out:
	if (rc < 0)
		sbx_err_prefix(err, "warm pool member %s", m->id);
	ssh_result_clear(&res);
	ssh_close(c);
	if (priv)
		OPENSSL_cleanse(priv, len);
	free(priv);
	free(script);
	free(keypath);
	return rc;
}
