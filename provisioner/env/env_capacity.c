/* env_capacity — whether an environment fits on its host: the arithmetic, no I/O. */
#include "env_capacity.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GIB (1024.0 * 1024.0 * 1024.0)
#define CAP_MEM_TIE 16 /* memory left within 1/16 of each other is a tie (free memory moves) */

/* What bp asks of its libvirt host. */
void env_capacity_demand(const struct bp_blueprint *bp, struct cap_amount *out)
{
	struct cap_amount a = {0};
	for (size_t i = 0; i < bp->nnodes; i++) {
		const struct bp_node *n = &bp->nodes[i];
		if (n->provider && strcmp(n->provider, "libvirt") != 0)
			continue;
		uint64_t count = n->count > 0 ? (uint64_t)n->count : 0;
		a.memory += count * n->memory;
		a.cpus += (int64_t)count * n->cpus;
		a.disk += count * n->disk;
	}
	for (size_t i = 0; i < bp->nnetworks; i++)
		a.blocks += bp->networks[i].cidr == NULL || strcmp(bp->networks[i].cidr, "auto") == 0;
	*out = a;
}

/* a - b, floored at 0. */
static uint64_t sub0(uint64_t a, uint64_t b)
{
	return a > b ? a - b : 0;
}

/* Whether want fits on h beside others, given the environment's own earlier promise. */
void env_capacity_fit(const struct cap_host *h, const struct cap_policy *pol, const struct cap_amount *others,
	size_t nholders, const struct cap_amount *mine, const struct cap_amount *want, struct cap_fit *out)
{
	struct cap_fit f = {.held = *others, .nholders = nholders, .checked = h->known};
	f.need.memory = sub0(want->memory, mine->memory);
	f.need.cpus = want->cpus > mine->cpus ? want->cpus - mine->cpus : 0;
	f.need.disk = sub0(want->disk, mine->disk);
	if (h->known) {
		uint64_t by_total = sub0(h->mem_total, others->memory + mine->memory);
		f.avail.memory = sub0(by_total < h->mem_free ? by_total : h->mem_free, pol->mem_reserve);
		int64_t cpus = (int64_t)((double)h->cpus * pol->cpu_overcommit) - others->cpus - mine->cpus;
		f.avail.cpus = cpus > 0 ? cpus : 0;
		f.short_mem = f.need.memory > f.avail.memory;
		f.short_cpus = f.need.cpus > f.avail.cpus;
	}
	f.need.blocks = want->blocks;
	if (h->ipam_pool) {
		f.avail.blocks = h->blocks_free > 0 ? h->blocks_free : 0;
		f.short_blocks = f.need.blocks > f.avail.blocks;
	}
	if (h->known && h->disk_known) {
		f.avail.disk = h->disk_free;
		f.short_disk = f.need.disk > f.avail.disk;
	}
	*out = f;
}

/* Whether f fits. */
bool env_capacity_fits(const struct cap_fit *f)
{
	return !f->short_mem && !f->short_cpus && !f->short_disk && !f->short_blocks;
}

/* "(3 environments hold 12.0 GiB)" or "" into buf. */
static const char *held_text(const struct cap_fit *f, double held, const char *unit, char *buf, size_t len)
{
	if (f->nholders == 0)
		return "";
	snprintf(buf, len, " (%zu other environment%s hold%s %.1f%s)", f->nholders, f->nholders == 1 ? "" : "s",
		f->nholders == 1 ? "s" : "", held, unit);
	return buf;
}

/* One message per shortage. */
int env_capacity_refuse(const struct cap_host *h, const struct cap_fit *f, struct sbx_err *err)
{
	char b[96];
	if (f->short_mem)
		sbx_err_set(err, SBX_EXIT_REFUSED, "needs %.1f GiB memory on %s, %.1f GiB free%s",
			(double)f->need.memory / GIB, h->uri, (double)f->avail.memory / GIB,
			held_text(f, (double)f->held.memory / GIB, " GiB", b, sizeof(b)));
	if (f->short_cpus)
		sbx_err_set(err, SBX_EXIT_REFUSED, "needs %lld CPUs on %s, %lld free (overcommit included)%s",
			(long long)f->need.cpus, h->uri, (long long)f->avail.cpus,
			held_text(f, (double)f->held.cpus, " CPUs", b, sizeof(b)));
	if (f->short_disk)
		sbx_err_set(err, SBX_EXIT_REFUSED, "needs %.1f GiB disk in the storage pool on %s, %.1f GiB free",
			(double)f->need.disk / GIB, h->uri, (double)f->avail.disk / GIB);
	if (f->short_blocks)
		sbx_err_set(err, SBX_EXIT_REFUSED, "needs %lld /24 network block%s of the IPAM pool %s, %lld free",
			(long long)f->need.blocks, f->need.blocks == 1 ? "" : "s", h->ipam_pool, (long long)f->avail.blocks);
	return env_capacity_fits(f) ? 0 : -1;
}

/* The fit as one line. */
char *env_capacity_line(const struct cap_host *h, const struct cap_fit *f)
{
	char disk[64] = "", blocks[96] = "";
	if (h->ipam_pool)
		snprintf(blocks, sizeof(blocks), ", network blocks %lld of %lld", (long long)f->need.blocks,
			(long long)f->avail.blocks);
	if (!f->checked)
		return xasprintf("Capacity: %s on %s: the site reports no capacity (memory, CPUs, disk not checked)%s",
			env_capacity_fits(f) ? "fits" : "does not fit", h->uri, blocks);
	if (h->disk_known)
		snprintf(disk, sizeof(disk), " of %.1f", (double)f->avail.disk / GIB);
	return xasprintf("Capacity: %s on %s: memory %.1f of %.1f GiB, CPUs %lld of %lld, disk %.1f%s GiB%s%s",
		env_capacity_fits(f) ? "fits" : "does not fit", h->uri, (double)f->need.memory / GIB,
		(double)f->avail.memory / GIB, (long long)f->need.cpus, (long long)f->avail.cpus,
		(double)f->need.disk / GIB, disk, h->disk_known ? "" : " (pool not created yet: not checked)", blocks);
}

/* The memory and CPUs a fitting host keeps once the environment is placed (0 when it reports none). */
static void place_left(const struct cap_fit *f, uint64_t *mem, int64_t *cpus)
{
	*mem = f->checked && f->avail.memory > f->need.memory ? f->avail.memory - f->need.memory : 0;
	*cpus = f->checked && f->avail.cpus > f->need.cpus ? f->avail.cpus - f->need.cpus : 0;
}

/* Whether host a is a better place than b. */
bool env_capacity_better(const struct cap_fit *a, const struct cap_fit *b)
{
	uint64_t ma, mb;
	int64_t ca, cb;
	place_left(a, &ma, &ca);
	place_left(b, &mb, &cb);
	uint64_t hi = ma > mb ? ma : mb, diff = ma > mb ? ma - mb : mb - ma;
	if (diff > hi / CAP_MEM_TIE)
		return ma > mb;
	return ca > cb;
}

/* The room host h has, as fit f reports it. */
struct cap_room env_capacity_room(const struct cap_host *h, const struct cap_fit *f)
{
	return (struct cap_room){f->checked, f->checked && h->disk_known, f->avail.memory, f->avail.cpus, f->avail.disk};
}

/* The root of x's set (with path halving). */
static size_t set_find(size_t *parent, size_t x)
{
	while (parent[x] != x) {
		parent[x] = parent[parent[x]];
		x = parent[x];
	}
	return x;
}

/* Whether node n is on the libvirt provider. */
static bool node_libvirt(const struct bp_node *n)
{
	return n->provider == NULL || strcmp(n->provider, "libvirt") == 0;
}

/* Join the libvirt nodes of bp that share a network (parent: one set per node). */
static void join_by_network(const struct bp_blueprint *bp, size_t *parent)
{
	for (size_t a = 0; a < bp->nnodes; a++)
		for (size_t b = a + 1; b < bp->nnodes; b++) {
			const struct bp_node *na = &bp->nodes[a], *nb = &bp->nodes[b];
			bool shared = false;
			for (size_t i = 0; node_libvirt(na) && node_libvirt(nb) && i < na->nnetworks && !shared; i++)
				for (size_t k = 0; k < nb->nnetworks && !shared; k++)
					shared = strcmp(na->networks[i], nb->networks[k]) == 0;
			if (shared)
				parent[set_find(parent, a)] = set_find(parent, b);
		}
}

/* Group bp's libvirt nodes by the networks they share. */
void env_capacity_groups(const struct bp_blueprint *bp, size_t **group, struct cap_amount **want, size_t *ngroups)
{
	size_t *parent = xcalloc(bp->nnodes + 1, sizeof(*parent)), *g = xcalloc(bp->nnodes + 1, sizeof(*g));
	size_t *id = xcalloc(bp->nnodes + 1, sizeof(*id)); /* a set's group, by its root */
	struct cap_amount *w = xcalloc(bp->nnodes + 1, sizeof(*w));
	size_t n = 0;
	for (size_t i = 0; i < bp->nnodes; i++) {
		parent[i] = i;
		id[i] = SIZE_MAX;
	}
	join_by_network(bp, parent);
	for (size_t i = 0; i < bp->nnodes; i++) {
		const struct bp_node *nd = &bp->nodes[i];
		size_t root = set_find(parent, i);
		g[i] = SIZE_MAX;
		if (!node_libvirt(nd))
			continue;
		if (id[root] == SIZE_MAX)
			id[root] = n++;
		g[i] = id[root];
		uint64_t count = nd->count > 0 ? (uint64_t)nd->count : 0;
		w[g[i]].memory += count * nd->memory;
		w[g[i]].cpus += (int64_t)count * nd->cpus;
		w[g[i]].disk += count * nd->disk;
	}
	free(parent);
	free(id);
	*group = g;
	*want = w;
	*ngroups = n;
}

/* Whether want fits in room r. */
static bool room_fits(const struct cap_room *r, const struct cap_amount *want)
{
	if (!r->known)
		return true;
	return want->memory <= r->memory && want->cpus <= r->cpus && (!r->disk_known || want->disk <= r->disk);
}

/* Whether placing want in room a keeps more than in room b (memory within 1/16, then CPUs). */
static bool room_better(const struct cap_room *a, const struct cap_room *b, const struct cap_amount *want)
{
	uint64_t ma = a->known ? a->memory - want->memory : 0, mb = b->known ? b->memory - want->memory : 0;
	int64_t ca = a->known ? a->cpus - want->cpus : 0, cb = b->known ? b->cpus - want->cpus : 0;
	uint64_t hi = ma > mb ? ma : mb, diff = ma > mb ? ma - mb : mb - ma;
	if (diff > hi / CAP_MEM_TIE)
		return ma > mb;
	return ca > cb;
}

/* Take want out of room r. */
static void room_take(struct cap_room *r, const struct cap_amount *want)
{
	if (!r->known)
		return;
	r->memory -= want->memory;
	r->cpus -= want->cpus;
	if (r->disk_known)
		r->disk -= want->disk;
}

/* The groups in placing order: the largest memory first, then CPUs, then their own order. */
static size_t *spread_order(const struct cap_amount *want, size_t n)
{
	size_t *o = xcalloc(n + 1, sizeof(*o));
	for (size_t i = 0; i < n; i++) {
		size_t k = i;
		for (; k > 0; k--) {
			const struct cap_amount *a = &want[i], *b = &want[o[k - 1]];
			if (!(a->memory > b->memory || (a->memory == b->memory && a->cpus > b->cpus)))
				break;
			o[k] = o[k - 1];
		}
		o[k] = i;
	}
	return o;
}

/* Spread the groups over the hosts. */
int env_capacity_spread(struct cap_room *room, size_t nhosts, const struct cap_amount *want, size_t ngroups,
	size_t *host, size_t *unplaced)
{
	size_t *order = spread_order(want, ngroups);
	int rc = 0;
	for (size_t i = 0; i < ngroups && rc == 0; i++) {
		const struct cap_amount *w = &want[order[i]];
		size_t pick = nhosts;
		for (size_t h = 0; h < nhosts; h++)
			if (room_fits(&room[h], w) && (pick == nhosts || room_better(&room[h], &room[pick], w)))
				pick = h;
		if (pick == nhosts) {
			*unplaced = order[i];
			rc = -1;
		} else {
			room_take(&room[pick], w);
			host[order[i]] = pick;
		}
	}
	free(order);
	return rc;
}
