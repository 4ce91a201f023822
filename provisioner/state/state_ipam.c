/* state_ipam — one /24 per (environment, network) from a pool, never shared between environments. */
#include "state_db.h"

#include <stdlib.h>
#include <string.h>

#include "ip4.h"

#define IPAM_DEFAULT_POOL "10.211.0.0/16"

/* A range of /24 blocks; a block is its network address >> 8. */
struct pool {
	int64_t lo, hi; /* inclusive */
};

/* The configured pool (a /8 to /24). */
static int pool_get(struct state *st, struct pool *p, const char **text, struct sbx_err *err)
{
	const char *s = st->ipam_pool;
	uint32_t addr;
	int len;
	if (!s || !*s)
		s = IPAM_DEFAULT_POOL;
	if (ip4_parse_cidr(s, &addr, &len) < 0 || len < 8 || len > 24)
		return sbx_err_set(err, SBX_EXIT_USAGE,
			"the IPAM pool %s is not an IPv4 CIDR between /8 and /24", s);
	uint32_t mask = len ? ~0u << (32 - len) : 0;
	p->lo = (addr & mask) >> 8;
	p->hi = p->lo + ((int64_t)1 << (24 - len)) - 1;
	*text = s;
	return 0;
}

/* Parse an explicit "a.b.c.0/24" into its block. */
static int want_block(const char *want, int64_t *b, struct sbx_err *err)
{
	uint32_t addr;
	int len;
	if (ip4_parse_cidr(want, &addr, &len) < 0 || len != 24 || (addr & 255) != 0)
		return sbx_err_set(err, SBX_EXIT_USAGE,
			"network cidr %s: expected a /24 block like 10.211.7.0/24, or auto", want);
	*b = addr >> 8;
	return 0;
}

/* Whether a block is in the list of blocks the host's networks already use. */
static bool block_avoided(const struct state *st, int64_t b)
{
	for (size_t i = 0; i < st->navoid; i++)
		if (st->avoid[i] == b)
			return true;
	return false;
}

static int cmp_block(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

/* Append to *out the pool's blocks environments hold (ipam), or those of warm members' addresses. */
static int taken_rows(struct state *st, const struct pool *p, bool addresses, int64_t **out, size_t *n, size_t *cap,
	struct sbx_err *err)
{
	struct db_rows *s = NULL;
	int rc = addresses ? db_query(st, &s, err, "SELECT address FROM warm WHERE address IS NOT NULL", NULL)
			   : db_query(st, &s, err, "SELECT block FROM ipam WHERE block BETWEEN ? AND ?", "ii", p->lo, p->hi);
	if (rc < 0)
		return -1;
	while ((rc = db_next(st, s, err)) == 1) {
		char *a = addresses ? db_col_str(s, 0) : NULL;
		int64_t b = addresses ? ip4_addr_block(a) : db_col_int(s, 0);
		free(a);
		if (b < p->lo || b > p->hi)
			continue;
		xgrow(out, cap, *n + 1, sizeof(**out));
		(*out)[(*n)++] = b;
	}
	db_done(st, s);
	return rc < 0 ? -1 : 0;
}

/* The blocks of the pool the state has allocated, ascending and distinct: those environments hold
 * (ipam) and the warm pool network's, which its members' addresses are in (its network is created
 * after the first member's row, and may live on another host than the environment's). */
static int pool_taken(struct state *st, const struct pool *p, int64_t **out, size_t *n, struct sbx_err *err)
{
	size_t cap = 0, k = 0;
	*out = NULL;
	*n = 0;
	if (taken_rows(st, p, false, out, n, &cap, err) < 0 || taken_rows(st, p, true, out, n, &cap, err) < 0)
		return -1;
	if (*n)
		qsort(*out, *n, sizeof(**out), cmp_block);
	for (size_t i = 0; i < *n; i++)
		if (k == 0 || (*out)[k - 1] != (*out)[i])
			(*out)[k++] = (*out)[i];
	*n = k;
	return 0;
}

/* The pool and the blocks of it the state has allocated (ascending), read together. */
struct snap {
	struct pool p;
	const char *text;
	int64_t *taken;
	size_t ntaken;
};

static int snap_take(struct state *st, struct snap *s, struct sbx_err *err)
{
	*s = (struct snap){.text = ""};
	return pool_get(st, &s->p, &s->text, err) < 0 || pool_taken(st, &s->p, &s->taken, &s->ntaken, err) < 0 ? -1 : 0;
}

/* The same under the state's lock, for callers outside a transaction. */
static int snap_take_locked(struct state *st, struct snap *s, struct sbx_err *err)
{
	st_lock(st);
	int rc = snap_take(st, s, err);
	st_unlock(st);
	return rc;
}

/* Whether block b is allocated in the state. */
static bool snap_held(const struct snap *s, int64_t b)
{
	return s->ntaken && bsearch(&b, s->taken, s->ntaken, sizeof(*s->taken), cmp_block);
}

/* Whether block b is in the pool, not allocated and not used by the host's networks. */
static bool snap_block_free(const struct state *st, const struct snap *s, int64_t b)
{
	return b >= s->p.lo && b <= s->p.hi && !snap_held(s, b) && !block_avoided(st, b);
}

/* The lowest block of the pool neither allocated nor used by the host's networks. */
static int pool_free_block(struct state *st, int64_t *out, struct sbx_err *err)
{
	struct snap s;
	int64_t b;
	if (snap_take(st, &s, err) < 0)
		return free(s.taken), -1;
	for (b = s.p.lo; b <= s.p.hi && !snap_block_free(st, &s, b); b++)
		;
	free(s.taken);
	if (b > s.p.hi) {
		sbx_err_set(err, SBX_EXIT_REFUSED, "no capacity: the IPAM pool %s is exhausted (%lld /24 blocks, all allocated)",
			s.text, (long long)(s.p.hi - s.p.lo + 1));
		sbx_err_hint(err, "destroy unused environments, or set SANDBOX_IPAM_POOL to a larger pool");
		return -1;
	}
	*out = b;
	return 0;
}

/* The highest block of the pool neither allocated nor avoided (allocation takes the lowest). */
int state_ipam_pick_high(struct state *st, char **cidr, struct sbx_err *err)
{
	struct snap s;
	int64_t b;
	if (snap_take_locked(st, &s, err) < 0)
		return free(s.taken), -1;
	for (b = s.p.hi; b >= s.p.lo && !snap_block_free(st, &s, b); b--)
		;
	free(s.taken);
	if (b < s.p.lo)
		return sbx_err_set(err, SBX_EXIT_REFUSED, "no capacity: the IPAM pool %s is exhausted", s.text);
	*cidr = ip4_block_cidr((uint32_t)b);
	return 0;
}

/* How many blocks of the pool are free. */
int state_ipam_free_blocks(struct state *st, int64_t *nfree, const char **pool, struct sbx_err *err)
{
	struct snap s;
	if (snap_take_locked(st, &s, err) < 0)
		return free(s.taken), -1;
	int64_t n = s.p.hi - s.p.lo + 1 - (int64_t)s.ntaken;
	for (size_t i = 0; i < st->navoid; i++) /* distinct (state_ipam_avoid) */
		n -= st->avoid[i] >= s.p.lo && st->avoid[i] <= s.p.hi && !snap_held(&s, st->avoid[i]);
	free(s.taken);
	*nfree = n;
	*pool = s.text;
	return 0;
}

/* Refuse a block another (env, network) holds. */
static int block_check_free(struct state *st, int64_t b, struct sbx_err *err)
{
	char *holder = NULL;
	if (db_text(st, err, &holder,
		"SELECT 'environment ' || env || ' (network ' || network || ')' FROM ipam WHERE block = ?",
		"i", b) < 0)
		return -1;
	if (!holder) {
		struct pool one = {b, b};
		int64_t *v = NULL;
		size_t n = 0, cap = 0;
		if (taken_rows(st, &one, true, &v, &n, &cap, err) < 0)
			return free(v), -1;
		free(v);
		if (n == 0)
			return 0;
		holder = xstrdup("the warm pool's network (sandbox daemon --pool)");
	}
	char *cidr = ip4_block_cidr((uint32_t)b);
	sbx_err_set(err, SBX_EXIT_REFUSED, "network block %s is already allocated to %s", cidr, holder);
	sbx_err_hint(err, "use cidr: auto, or another block");
	free(cidr);
	free(holder);
	return -1;
}

/* An existing allocation must match an explicit wish. */
static int check_same(const char *env, const char *network, const char *have, const char *want,
	struct sbx_err *err)
{
	int64_t bh = -1, bw = -1;
	if (!want)
		return 0;
	if (want_block(want, &bw, err) < 0)
		return -1;
	if (want_block(have, &bh, err) == 0 && bh == bw)
		return 0;
	sbx_err_set(err, SBX_EXIT_REFUSED, "network %s of environment %s already has %s, not %s",
		network, env, have, want);
	sbx_err_hint(err, "destroy the environment to change a network's block");
	return -1;
}

/* Record the allocation. */
static int ipam_insert(struct state *st, const char *env, const char *network, int64_t b,
	const char *cidr, struct sbx_err *err)
{
	if (db_exec(st, NULL, NULL, "INSERT INTO ipam (env, network, block, cidr) VALUES (?, ?, ?, ?)",
		"ssis", env, network, b, cidr) == 0)
		return 0;
	if (db_last_is(st, DB_ERR_FOREIGNKEY))
		return sbx_err_set(err, SBX_EXIT_FAILED, "cannot allocate %s to network %s: environment %s "
			"is not in the state", cidr, network, env);
	if (db_last_is(st, DB_ERR_UNIQUE))
		return sbx_err_set(err, SBX_EXIT_REFUSED, "network block %s is already allocated", cidr);
	return db_fail(st, err, "cannot record an IPAM allocation");
}

/* Allocate inside the caller's transaction. */
static int alloc_tx(struct state *st, const char *env, const char *network, const char *want,
	char **cidr, struct sbx_err *err)
{
	char *have = NULL;
	int64_t b = 0;
	if (db_text(st, err, &have, "SELECT cidr FROM ipam WHERE env = ? AND network = ?", "ss", env,
		network) < 0)
		return -1;
	if (have) {
		if (check_same(env, network, have, want, err) < 0) {
			free(have);
			return -1;
		}
		*cidr = have;
		return 0;
	}
	int rc = want ? want_block(want, &b, err) : pool_free_block(st, &b, err);
	if (rc == 0 && want)
		rc = block_check_free(st, b, err);
	if (rc == 0 && want && block_avoided(st, b)) {
		rc = sbx_err_set(err, SBX_EXIT_REFUSED, "network block %s is already used by a libvirt network on "
			"this host", want);
		sbx_err_hint(err, "use cidr: auto, or another block (`virsh net-list --all` shows the networks)");
	}
	char *text = ip4_block_cidr((uint32_t)b);
	if (rc == 0)
		rc = ipam_insert(st, env, network, b, text, err);
	if (rc == 0)
		*cidr = text;
	else
		free(text);
	return rc;
}

/* Allocate (or return) the block of (env, network). */
int state_ipam_alloc(struct state *st, const char *env, const char *network, const char *want,
	char **cidr, struct sbx_err *err)
{
	char *got = NULL;
	int rc = -1;
	if (!env || !network || !*network)
		return sbx_err_set(err, SBX_EXIT_FAILED, "state_ipam_alloc: env and network are required");
	if (want && (!*want || strcmp(want, "auto") == 0))
		want = NULL;
	st_lock(st);
	if (db_begin(st, err) == 0)
		rc = db_end(st, alloc_tx(st, env, network, want, &got, err), err);
	st_unlock(st);
	if (rc == 0)
		*cidr = got;
	else
		free(got);
	return rc;
}

/* Move (env, network) to block b inside the caller's transaction. */
static int move_tx(struct state *st, const char *env, const char *network, int64_t b, const char *want,
	struct sbx_err *err)
{
	if (block_check_free(st, b, err) < 0)
		return -1;
	if (block_avoided(st, b)) {
		sbx_err_set(err, SBX_EXIT_REFUSED, "network block %s is already used by a libvirt network on this host",
			want);
		sbx_err_hint(err, "choose another block (`virsh net-list --all` shows the networks)");
		return -1;
	}
	char *text = ip4_block_cidr((uint32_t)b);
	int rc = db_exec(st, err, NULL, "UPDATE ipam SET block = ?, cidr = ? WHERE env = ? AND network = ?", "isss", b,
		text, env, network);
	free(text);
	return rc;
}

/* Move the block of (env, network) to an explicit one. */
int state_ipam_move(struct state *st, const char *env, const char *network, const char *want, struct sbx_err *err)
{
	int64_t b;
	int rc = -1;
	if (want_block(want, &b, err) < 0)
		return -1;
	st_lock(st);
	if (db_begin(st, err) == 0)
		rc = db_end(st, move_tx(st, env, network, b, want, err), err);
	st_unlock(st);
	return rc;
}

/* Whether (env, network) holds a block other than the explicit want ("auto"/NULL: never). */
int state_ipam_differs(struct state *st, const char *env, const char *network, const char *want, bool *differs,
	struct sbx_err *err)
{
	char *have = NULL;
	int64_t bh = -1, bw = -1;
	*differs = false;
	if (!want || !*want || strcmp(want, "auto") == 0)
		return 0;
	if (want_block(want, &bw, err) < 0 || state_ipam_get(st, env, network, &have, err) < 0)
		return -1;
	struct sbx_err ignore = SBX_ERR_INIT;
	*differs = have && (want_block(have, &bh, &ignore) < 0 || bh != bw);
	sbx_err_clear(&ignore);
	free(have);
	return 0;
}

/* The block of (env, network), or NULL. */
int state_ipam_get(struct state *st, const char *env, const char *network, char **cidr,
	struct sbx_err *err)
{
	st_lock(st);
	int rc = db_text(st, err, cidr, "SELECT cidr FROM ipam WHERE env = ? AND network = ?", "ss", env,
		network);
	st_unlock(st);
	return rc;
}

/* Set the blocks to avoid. */
void state_ipam_avoid(struct state *st, const char *const *cidrs, size_t n)
{
	free(st->avoid);
	st->avoid = NULL;
	st->navoid = 0;
	state_ipam_avoid_add(st, cidrs, n);
}

/* Add blocks to avoid. */
void state_ipam_avoid_add(struct state *st, const char *const *cidrs, size_t n)
{
	st->avoid = xrealloc(st->avoid, (st->navoid + n + 1) * sizeof(*st->avoid));
	for (size_t i = 0; i < n; i++) {
		uint32_t a;
		int bits;
		if (ip4_parse_cidr(cidrs[i], &a, &bits) == 0 && !block_avoided(st, a >> 8))
			st->avoid[st->navoid++] = a >> 8;
	}
}

/* Release every block of env. */
int state_ipam_release(struct state *st, const char *env, struct sbx_err *err)
{
	st_lock(st);
	int rc = db_exec(st, err, NULL, "DELETE FROM ipam WHERE env = ?", "s", env);
	st_unlock(st);
	return rc;
}
