/* env_config — flags, SANDBOX_* variables and defaults, read once. */
#include "env_config.h"

#include <limits.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "exec.h"
#include "ip4.h"
#include "kvm.h"
#include "lv.h"

#define CFG_READY_TIMEOUT_S 900
#define CFG_ROLE_TIMEOUT_S 120
#define CFG_BMC_TIMEOUT_S 20
#define CFG_NETBOOT_DIR "/var/lib/sandbox/netboot" /* dnsmasq (as nobody) reads tftp/ there: mode 0755 */
#define CFG_BMC_TIMEOUT_MAX_S 3600
#define CFG_IPAM_POOL "10.211.0.0/16"
#define CFG_CPU_OVERCOMMIT 4.0
#define CFG_REAP_PARALLEL 8
#define CFG_MEM_RESERVE (512ULL << 20)

/* A variable's value, or the earlier SBX_ name's, or NULL when unset or empty. */
static const char *var(const char *name, const char *old_name)
{
	const char *v = getenv(name);
	if ((v == NULL || *v == '\0') && old_name)
		v = getenv(old_name);
	return v && *v ? v : NULL;
}

/* The passwd entry of this user: a copy of its name or home directory (which), or NULL. */
static char *pw_field(bool home)
{
	struct passwd pw, *res = NULL;
	char buf[4096];
	if (getpwuid_r(getuid(), &pw, buf, sizeof(buf), &res) != 0 || res == NULL)
		return NULL;
	return xstrdup(home ? pw.pw_dir : pw.pw_name);
}

/* The user's home directory; caller frees. */
static char *home_dir(void)
{
	const char *home = var("HOME", NULL);
	char *pw = home ? NULL : pw_field(true);
	return home ? xstrdup(home) : pw ? pw : xstrdup("/");
}

/* The default state database. */
static char *default_state(void)
{
	const char *xdg = var("XDG_STATE_HOME", NULL);
	if (xdg && *xdg == '/')
		return xasprintf("%s/sandbox/state.db", xdg);
	char *home = home_dir(), *s = xasprintf("%s/.local/state/sandbox/state.db", home);
	free(home);
	return s;
}

/* The default image cache. */
static char *default_image_cache(void)
{
	const char *xdg = var("XDG_CACHE_HOME", NULL);
	if (geteuid() == 0)
		return xstrdup("/var/lib/sandbox/images");
	if (xdg)
		return xasprintf("%s/sandbox/images", xdg);
	char *home = home_dir(), *s = xasprintf("%s/.cache/sandbox/images", home);
	free(home);
	return s;
}

/* Where the KVM probe's answer is kept until the host reboots. */
static char *default_kvm_cache(void)
{
	const char *rt = var("XDG_RUNTIME_DIR", NULL);
	if (geteuid() == 0)
		return xstrdup("/run/sandbox/kvm-probe");
	return rt ? xasprintf("%s/sandbox-kvm-probe", rt) : NULL;
}

/* The user@host that runs this. */
static char *owner_name(void)
{
	char host[HOST_NAME_MAX + 1] = "localhost";
	const char *user = var("SUDO_USER", NULL);
	char *pw = user ? NULL : pw_field(false);
	gethostname(host, sizeof(host) - 1);
	char *s = xasprintf("%s@%s", user ? user : pw ? pw : "unknown", host);
	free(pw);
	return s;
}

/* A duration variable (a duration like 15m, or plain seconds); positive. */
static int duration_var(const char *name, int64_t def, int64_t *out, struct sbx_err *err)
{
	const char *v = var(name, NULL);
	*out = def;
	if (v == NULL || (sbx_parse_duration_arg(v, out) == 0 && *out > 0))
		return 0;
	*out = def;
	return sbx_err_set(err, SBX_EXIT_USAGE, "%s=%s: expected a duration like 90s, 15m or 1h (a bare number is "
		"seconds)", name, v);
}

/* The fake clock of the tests. */
static int fake_now(int64_t *out, struct sbx_err *err)
{
	const char *v = var("SANDBOX_FAKE_NOW", "SBX_FAKE_NOW");
	char *end = NULL;
	*out = 0;
	if (v == NULL)
		return 0;
	long long n = strtoll(v, &end, 10);
	if (end == v || *end || n <= 0)
		return sbx_err_set(err, SBX_EXIT_USAGE, "SANDBOX_FAKE_NOW=%s: expected epoch seconds", v);
	*out = n;
	return 0;
}

/* The IPAM pool must be a /8 to /24. */
static int check_pool(const char *pool, struct sbx_err *err)
{
	uint32_t a;
	int bits;
	if (ip4_parse_cidr(pool, &a, &bits) == 0 && bits >= 8 && bits <= 24)
		return 0;
	sbx_err_set(err, SBX_EXIT_USAGE, "SANDBOX_IPAM_POOL=%s: expected an IPv4 CIDR between /8 and /24", pool);
	sbx_err_hint(err, "for example SANDBOX_IPAM_POOL=10.211.0.0/16 (one /24 per network comes from it)");
	return -1;
}

/* The image directories: the cache, then each absolute entry of SANDBOX_IMAGE_DIRS. */
static int image_dirs(struct env_config *c, struct sbx_err *err)
{
	const char *v = var("SANDBOX_IMAGE_DIRS", NULL);
	c->image_dirs = xcalloc(1, sizeof(*c->image_dirs));
	c->image_dirs[c->nimage_dirs++] = xstrdup(c->image_cache);
	for (const char *p = v; p && *p;) {
		size_t n = strcspn(p, ":");
		if (n > 0 && p[0] != '/')
			return sbx_err_set(err, SBX_EXIT_USAGE, "SANDBOX_IMAGE_DIRS=%s: expected absolute directories "
				"separated by ':', got \"%.*s\"", v, (int)n, p);
		if (n > 0) {
			c->image_dirs = xrealloc(c->image_dirs, (c->nimage_dirs + 1) * sizeof(*c->image_dirs));
			c->image_dirs[c->nimage_dirs++] = xstrndup(p, n);
		}
		p += n + (p[n] == ':');
	}
	return 0;
}

/* The BMC session timeout: a duration of at most an hour (it is handed on in milliseconds). */
static int bmc_timeout(struct env_config *c, struct sbx_err *err)
{
	if (duration_var("SANDBOX_BMC_TIMEOUT", CFG_BMC_TIMEOUT_S, &c->bmc_timeout, err) < 0)
		return -1;
	if (c->bmc_timeout <= CFG_BMC_TIMEOUT_MAX_S)
		return 0;
	return sbx_err_set(err, SBX_EXIT_USAGE, "SANDBOX_BMC_TIMEOUT=%lld s: expected at most 1h",
		(long long)c->bmc_timeout);
}

/* How many teardowns a reaper pass runs at once. */
static int reap_parallel(struct env_config *c, struct sbx_err *err)
{
	const char *v = var("SANDBOX_REAP_PARALLEL", NULL);
	char *end = NULL;
	long n = v ? strtol(v, &end, 10) : CFG_REAP_PARALLEL;
	if (v && (end == v || *end || n < 1 || n > 64))
		return sbx_err_set(err, SBX_EXIT_USAGE, "SANDBOX_REAP_PARALLEL=%s: expected a number from 1 to 64", v);
	c->reap_parallel = (int)n;
	return 0;
}

/* The admission policy: the CPU overcommit ratio and the memory reserve. */
static int admission(struct env_config *c, struct sbx_err *err)
{
	const char *v = var("SANDBOX_CPU_OVERCOMMIT", NULL), *m = var("SANDBOX_MEMORY_RESERVE", NULL);
	char *end = NULL;
	c->cpu_overcommit = CFG_CPU_OVERCOMMIT;
	c->mem_reserve = CFG_MEM_RESERVE;
	if (v) {
		c->cpu_overcommit = strtod(v, &end);
		if (end == v || *end || !(c->cpu_overcommit > 0 && c->cpu_overcommit <= 1000))
			return sbx_err_set(err, SBX_EXIT_USAGE, "SANDBOX_CPU_OVERCOMMIT=%s: expected a number of virtual "
				"CPUs per host CPU, like 4 or 1.5", v);
	}
	if (m && sbx_parse_size(m, &c->mem_reserve) < 0)
		return sbx_err_set(err, SBX_EXIT_USAGE, "SANDBOX_MEMORY_RESERVE=%s: expected a size like 512Mi or 2Gi", m);
	return 0;
}

/* Read the variables. */
static void read_strings(struct env_config *c, const char *state_flag)
{
	const char *s = state_flag && *state_flag ? state_flag : var("SANDBOX_STATE", NULL);
	c->state_path = s ? xstrdup(s) : default_state();
	if (strncmp(c->state_path, "postgresql://", 13) == 0 || strncmp(c->state_path, "postgres://", 11) == 0) {
		s = var("SANDBOX_STATE_DIR", NULL);
		char *def = s ? NULL : default_state();
		c->state_dir = s ? xstrdup(s) : sbx_dirname(def);
		free(def);
	}
	c->ipam_pool = xstrdup(var("SANDBOX_IPAM_POOL", NULL) ? var("SANDBOX_IPAM_POOL", NULL) : CFG_IPAM_POOL);
	s = var("SANDBOX_IMAGE_CACHE", NULL);
	c->image_cache = s ? xstrdup(s) : default_image_cache();
	c->recipes_dir = xstrdup(var("SANDBOX_RECIPES", NULL));
	c->netboot_dir = xstrdup(var("SANDBOX_NETBOOT_DIR", NULL) ? var("SANDBOX_NETBOOT_DIR", NULL) : CFG_NETBOOT_DIR);
	c->cluster_dir = xstrdup(var("SANDBOX_CLUSTER_DIR", "SBX_CLUSTER_DIR"));
	c->mock_bin_dir = xstrdup(var("SANDBOX_MOCK_BIN_DIR", "SBX_MOCK_BIN_DIR"));
	c->kvm_force = xstrdup(var("SANDBOX_KVM", "SBX_KVM"));
	c->kvm_probe_kernel = xstrdup(var("SANDBOX_KVM_PROBE_KERNEL", "SBX_KVM_PROBE_KERNEL"));
	c->kvm_cache = default_kvm_cache();
	c->owner = owner_name();
	c->test_crash = xstrdup(var("SANDBOX_TEST_CRASH", "SBX_TEST_CRASH"));
	c->test_no_start = sbx_streq(var("SANDBOX_TEST_NO_START", NULL), "1");
}

/* Build the configuration and apply the process-wide hooks. */
int env_config_load(struct env_config *c, const char *state_flag, struct sbx_err *err)
{
	*c = (struct env_config){0};
	read_strings(c, state_flag);
	if (duration_var("SANDBOX_READY_TIMEOUT", CFG_READY_TIMEOUT_S, &c->ready_timeout, err) < 0 ||
		duration_var("SANDBOX_ROLE_TIMEOUT", CFG_ROLE_TIMEOUT_S, &c->role_timeout, err) < 0 ||
		bmc_timeout(c, err) < 0 || admission(c, err) < 0 || reap_parallel(c, err) < 0 ||
		fake_now(&c->fake_now, err) < 0 || check_pool(c->ipam_pool, err) < 0 || image_dirs(c, err) < 0) {
		env_config_clear(c);
		return -1;
	}
	sbx_fake_now_set(c->fake_now);
	exec_crash_set(c->test_crash);
	lv_no_start_set(c->test_no_start);
	kvm_configure(c->kvm_force, c->kvm_probe_kernel, c->kvm_cache, c->image_cache);
	return 0;
}

/* Free the strings. */
void env_config_clear(struct env_config *c)
{
	char **s[] = {&c->state_path, &c->state_dir, &c->ipam_pool, &c->image_cache, &c->netboot_dir, &c->recipes_dir, &c->cluster_dir,
		&c->mock_bin_dir, &c->kvm_force, &c->kvm_probe_kernel, &c->kvm_cache, &c->owner, &c->test_crash};
	for (size_t i = 0; i < SBX_NELEM(s); i++) {
		free(*s[i]);
		*s[i] = NULL;
	}
	for (size_t i = 0; i < c->nimage_dirs; i++)
		free(c->image_dirs[i]);
	free(c->image_dirs);
	c->image_dirs = NULL;
	c->nimage_dirs = 0;
}
