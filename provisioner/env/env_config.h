/*
 * env_config — the one place that reads the process environment. Built once at the edge (the CLI's
 * main, later the daemon) from flags, SANDBOX_* variables and defaults, then passed down as plain
 * values: no other module calls getenv.
 *
 *   SANDBOX_STATE            the state database (--state wins): a SQLite file, or a PostgreSQL URL
 *                            (postgresql://USER@HOST/DB...); default $XDG_STATE_HOME/sandbox/
 *                            state.db, else ~/.local/state/sandbox/state.db
 *   SANDBOX_STATE_DIR        with a PostgreSQL state: the local directory of the secrets' key file
 *                            (`key`), SSH keys and locks; default the default state's directory
 *   SANDBOX_IPAM_POOL        the pool the /24 blocks come from (default 10.211.0.0/16)
 *   SANDBOX_IMAGE_CACHE      base images (default /var/lib/sandbox/images as root, else
 *                            $XDG_CACHE_HOME/sandbox/images or ~/.cache/sandbox/images)
 *   SANDBOX_IMAGE_DIRS       directories (absolute, ':'-separated) besides its own directory tree
 *                            that a blueprint may name image files (image.path, kernel, initrd) and
 *                            parents (extends) in; the image cache is always one of them
 *   SANDBOX_RECIPES          an extra directory of image recipes (searched first)
 *   SANDBOX_READY_TIMEOUT    SSH readiness deadline per node (duration or seconds, default 900 s)
 *   SANDBOX_ROLE_TIMEOUT     health-check deadline per role and node (default 120 s)
 *   SANDBOX_BMC_TIMEOUT      an IPMI session's setup, and one command, on a BMC (default 20 s)
 *   SANDBOX_CPU_OVERCOMMIT   admission: virtual CPUs per host CPU (a number > 0, default 4)
 *   SANDBOX_MEMORY_RESERVE   admission: host memory kept free of environments (a size like
 *                            512Mi or 2Gi, default 512Mi)
 *   SANDBOX_CLUSTER_DIR      the node scripts (default: found next to the binary)
 *   SANDBOX_MOCK_BIN_DIR     the sbx-mock-* binaries uploaded to a mocks node (default: the
 *                            binary's directory)
 *   SANDBOX_KVM              0|1: skip the KVM probe; SANDBOX_KVM_PROBE_KERNEL: its kernel
 *   SANDBOX_FAKE_NOW         tests: the wall clock in epoch seconds
 *   SANDBOX_REAP_PARALLEL    teardowns a reaper pass (reap, the daemon) runs at once (1-64,
 *                            default 8)
 *   SANDBOX_TEST_CRASH       tests: TYPE:PHASE[:N], a SIGKILL at a journal point
 *                            (env:deleted: once an environment's row is deleted)
 *   SANDBOX_TEST_NO_START    tests: 1 = libvirt networks and domains are defined, not started
 *                            (and not being started is no drift: a second up is a no-op)
 * The SBX_-prefixed names of earlier releases (SBX_CLUSTER_DIR, SBX_MOCK_BIN_DIR, SBX_FAKE_NOW,
 * SBX_TEST_CRASH, SBX_KVM, SBX_KVM_PROBE_KERNEL) are still read when the new name is unset.
 */
#ifndef SBX_ENV_CONFIG_H
#define SBX_ENV_CONFIG_H

#include <stdint.h>

#include "util.h"

struct env_config {
	char *state_path;       /* a file or a postgresql:// URL */
	char *state_dir;        /* a URL state's local directory (NULL for a file: its directory) */
	char *ipam_pool;
	char *image_cache;
	char *netboot_dir;      /* network boot services' files: SANDBOX_NETBOOT_DIR, else CFG_NETBOOT_DIR */
	char **image_dirs;      /* the image cache, then SANDBOX_IMAGE_DIRS (for bp_load_opts) */
	size_t nimage_dirs;
	char *recipes_dir;      /* NULL: only the built-in recipe directories */
	int64_t ready_timeout;  /* seconds */
	int64_t role_timeout;   /* seconds */
	int64_t bmc_timeout;    /* seconds */
	int reap_parallel;      /* teardowns of one reaper pass at once */
	double cpu_overcommit;  /* admission: virtual CPUs per host CPU */
	uint64_t mem_reserve;   /* admission: bytes of host memory kept free */
	char *cluster_dir;      /* NULL: found next to the binary */
	char *mock_bin_dir;     /* NULL: the binary's directory */
	char *kvm_force;        /* "0", "1" or NULL (probe) */
	char *kvm_probe_kernel; /* NULL: the host's kernel */
	char *kvm_cache;        /* where the probe's answer is kept for this boot, or NULL */
	char *owner;            /* user@host of this command (the sudo user when run through sudo) */
	int64_t fake_now;       /* 0: the real clock */
	char *test_crash;       /* NULL: no crash point */
	bool test_no_start;     /* SANDBOX_TEST_NO_START=1: networks and domains defined, not started */
};

/*
 * Build the configuration: `state_flag` (the --state option, may be NULL) wins over the
 * environment. Fails (SBX_EXIT_USAGE) on a value that cannot be used, naming the variable.
 * Then apply it to the process-wide hooks (fake clock, crash points, KVM probe).
 */
int env_config_load(struct env_config *c, const char *state_flag, struct sbx_err *err) SBX_WUR;
/* Free the strings of c. */
void env_config_clear(struct env_config *c);

#endif
