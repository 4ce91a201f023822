/*
 * env_capacity — whether an environment fits on its hypervisor host: pure arithmetic over what the
 * host reports (memory, CPUs, the storage pool's free space), what the state has already promised
 * to the other live environments on that host, and what this environment asks for (only the
 * growth over its own earlier promise when it already exists). No I/O: env_admit feeds it.
 *
 *   memory  min(host free, host total - promised to others - own earlier promise) - reserve
 *           must hold the growth (promised nodes that do not run yet count: the total term)
 *   CPUs    host CPUs x overcommit - promised to others - own earlier promise
 *   disk    the pool's free space must hold the new overlays' virtual sizes
 *   blocks  the IPAM pool's free /24 blocks must hold the networks not allocated yet
 *           (`want.blocks` is already the growth: env_admit counts only unallocated networks)
 */
#ifndef SBX_ENV_CAPACITY_H
#define SBX_ENV_CAPACITY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bp.h"
#include "util.h"

/* What an environment asks of a host (or what the state promised). */
struct cap_amount {
	uint64_t memory; /* bytes */
	int64_t cpus;    /* virtual CPUs */
	uint64_t disk;   /* bytes: the overlays' virtual sizes */
	int64_t blocks;  /* /24 blocks of the IPAM pool (networks with cidr: auto) */
};

/* What the host reports. */
struct cap_host {
	const char *uri;
	bool known;       /* false: not checked (libvirt's test driver, no machines) */
	uint64_t mem_total, mem_free;
	int64_t cpus;
	bool disk_known;  /* false: the pool does not exist yet */
	uint64_t disk_free;
	const char *ipam_pool; /* the IPAM pool, NULL: blocks not checked */
	int64_t blocks_free;   /* its /24 blocks no environment holds and no host network uses */
};

/* The operator's policy (env_config). */
struct cap_policy {
	double cpu_overcommit; /* virtual CPUs per host CPU */
	uint64_t mem_reserve;  /* bytes kept free for the host */
};

/* The verdict: what the environment still needs, what is available, and what is short. */
struct cap_fit {
	struct cap_amount need;  /* the growth over the environment's own earlier promise */
	struct cap_amount avail; /* what the host can still give (0 when none) */
	struct cap_amount held;  /* promised to the other environments */
	size_t nholders;         /* how many other environments hold it */
	bool short_mem, short_cpus, short_disk, short_blocks;
	bool checked;            /* the host was known */
};

/* What bp asks of its libvirt host: every libvirt node instance's memory, CPUs and disk, and a
 * /24 block per network with cidr: auto. */
void env_capacity_demand(const struct bp_blueprint *bp, struct cap_amount *out);
/* Whether `want` fits on host h beside `others` (promised to nholders other environments), given
 * the environment's own earlier promise `mine` (zero when new). */
void env_capacity_fit(const struct cap_host *h, const struct cap_policy *pol, const struct cap_amount *others,
	size_t nholders, const struct cap_amount *mine, const struct cap_amount *want, struct cap_fit *out);
/* Whether f fits. */
bool env_capacity_fits(const struct cap_fit *f);
/* One SBX_EXIT_REFUSED message per shortage of f on h ("needs 64.0 GiB memory on URI, 21.3 GiB
 * free (3 environments hold 12.0 GiB)"); returns -1 when something is short, else 0. */
int env_capacity_refuse(const struct cap_host *h, const struct cap_fit *f, struct sbx_err *err);
/* Whether placing the environment on the host of fit a is better than on b's (both fit): more
 * memory left once placed, then more CPUs (a host that reports nothing keeps none). Memory left
 * within 1/16 of each other counts as the same (a host's free memory moves between two probes),
 * and CPUs decide; a tie is false (the caller keeps its first). */
bool env_capacity_better(const struct cap_fit *a, const struct cap_fit *b);
/*
 * Spreading an environment's nodes over several hosts (site.hosts). Nodes that share a network
 * stay on one host (a network does not span hosts): the libvirt nodes fall into groups, the
 * connected components of "shares a network with".
 * Each group then goes where it fits, the largest (memory, then CPUs) first, to the host that keeps
 * the most memory once it is placed (within 1/16: the most CPUs; then the list's order), and that
 * host's room shrinks by it.
 */
/* What one host can still give (from its cap_fit's avail, the state's promises counted). */
struct cap_room {
	bool known;        /* false: the host reports nothing (anything fits, and it keeps nothing) */
	bool disk_known;   /* false: the pool does not exist yet (disk not checked) */
	uint64_t memory;   /* bytes */
	int64_t cpus;
	uint64_t disk;     /* bytes */
};
/* The room of host h as fit f (env_capacity_fit's) reports it. */
struct cap_room env_capacity_room(const struct cap_host *h, const struct cap_fit *f);
/* Group bp's libvirt nodes: *group (caller frees; one per node of bp, SIZE_MAX for a node of another
 * provider) gives each node's group, *want (caller frees) each group's memory, CPUs and disk,
 * *ngroups how many. */
void env_capacity_groups(const struct bp_blueprint *bp, size_t **group, struct cap_amount **want, size_t *ngroups);
/* Spread ngroups groups (want) over nhosts hosts (room, updated to what is left): host[g] is where
 * group g goes. 0, or -1 when a group fits on no host (*unplaced: that group; room and host then
 * say nothing). */
int env_capacity_spread(struct cap_room *room, size_t nhosts, const struct cap_amount *want, size_t ngroups,
	size_t *host, size_t *unplaced);

/* The fit as one line for `plan` ("fits on URI: memory 1.0 of 20.5 GiB, ..."); caller frees. */
char *env_capacity_line(const struct cap_host *h, const struct cap_fit *f);

#endif
