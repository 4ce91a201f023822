/* kvm — a bounded probe of KVM: a tiny guest must reach HLT in a forked child. */
#include "kvm.h"

#include <errno.h>
#include <glob.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util.h"

#define KVM_PROBE_MS 3000
#define KVM_QEMU_PROBE_MS 8000
#define KVM_GUEST_ADDR 0x1000

static pthread_once_t kvm_once = PTHREAD_ONCE_INIT;
static bool kvm_answer;
static struct {
	char *force, *kernel, *cache, *image_cache;
} kvm_cfg;

/* Set the probe's configuration (before the first kvm_usable). */
void kvm_configure(const char *force, const char *probe_kernel, const char *cache_file,
	const char *image_cache)
{
	free(kvm_cfg.force);
	free(kvm_cfg.kernel);
	free(kvm_cfg.cache);
	free(kvm_cfg.image_cache);
	kvm_cfg.force = xstrdup(force);
	kvm_cfg.kernel = xstrdup(probe_kernel);
	kvm_cfg.cache = xstrdup(cache_file);
	kvm_cfg.image_cache = xstrdup(image_cache);
}

/* Point the vCPU at the guest code in real mode. */
static int kvm_vcpu_setup(int vcpu)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	if (ioctl(vcpu, KVM_GET_SREGS, &sregs) < 0)
		return -1;
	sregs.cs.base = 0;
	sregs.cs.selector = 0;
	if (ioctl(vcpu, KVM_SET_SREGS, &sregs) < 0)
		return -1;
	memset(&regs, 0, sizeof regs);
	regs.rip = KVM_GUEST_ADDR;
	regs.rflags = 0x2;
	return ioctl(vcpu, KVM_SET_REGS, &regs);
}

/* Create a VM with one page of code; returns the vCPU fd or -1. */
static int kvm_guest_create(int kvm)
{
	static const uint8_t code[] = {0xb0, 0x01, 0x04, 0x02, 0xf4}; /* mov al,1; add al,2; hlt */
	int vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0)
		return -1;
	void *mem = mmap(NULL, 0x1000, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		return -1;
	memcpy(mem, code, sizeof code);
	struct kvm_userspace_memory_region region = {
		.slot = 0, .guest_phys_addr = KVM_GUEST_ADDR, .memory_size = 0x1000,
		.userspace_addr = (uint64_t)(uintptr_t)mem,
	};
	if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region) < 0)
		return -1;
	int vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	if (vcpu < 0 || kvm_vcpu_setup(vcpu) < 0)
		return -1;
	return vcpu;
}

/* The child: exit 0 when the guest halts, 1 otherwise (alarm() kills a spinning guest). */
static void kvm_child(int timeout_ms)
{
	alarm((unsigned)(timeout_ms + 999) / 1000);
	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0 || ioctl(kvm, KVM_GET_API_VERSION, 0) != KVM_API_VERSION)
		_exit(1);
	int vcpu = kvm_guest_create(kvm);
	int size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (vcpu < 0 || size <= 0)
		_exit(1);
	struct kvm_run *run = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
	if (run == MAP_FAILED)
		_exit(1);
	for (int i = 0; i < 16; i++) {
		if (ioctl(vcpu, KVM_RUN, 0) < 0)
			_exit(1);
		if (run->exit_reason == KVM_EXIT_HLT)
			_exit(0);
		if (run->exit_reason != KVM_EXIT_INTR)
			_exit(1);
	}
	_exit(1);
}

/* Stage 1: run the tiny guest in a child and wait for it against a deadline. */
static int kvm_probe_ioctl(int timeout_ms)
{
	if (access("/dev/kvm", R_OK | W_OK) != 0)
		return 0;
	pid_t pid = fork();
	if (pid < 0)
		return 0;
	if (pid == 0)
		kvm_child(timeout_ms);
	struct sbx_backoff b;
	int status = 0;
	sbx_backoff_init(&b, timeout_ms + 500, 5, 100);
	for (;;) {
		pid_t r = waitpid(pid, &status, WNOHANG);
		if (r == pid)
			return WIFEXITED(status) && WEXITSTATUS(status) == 0;
		if ((r < 0 && errno != EINTR) || sbx_backoff_wait(&b) < 0)
			break;
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, WNOHANG);
	return 0;
}

/* A Linux kernel to boot for stage 2 (caller frees), or NULL. */
static char *kvm_kernel(void)
{
	const char *env = kvm_cfg.kernel;
	struct utsname u;
	glob_t g;
	char *path = NULL;
	if (env && *env)
		return xstrdup(env);
	if (uname(&u) == 0 && (path = xasprintf("/boot/vmlinuz-%s", u.release)) && access(path, R_OK) == 0)
		return path;
	free(path);
	if (access("/boot/vmlinuz", R_OK) == 0)
		return xstrdup("/boot/vmlinuz");
	if (kvm_cfg.image_cache == NULL)
		return NULL;
	char *pat = xasprintf("%s/recipe/*/vmlinuz", kvm_cfg.image_cache);
	path = glob(pat, 0, NULL, &g) == 0 && g.gl_pathc > 0 ? xstrdup(g.gl_pathv[g.gl_pathc - 1]) : NULL;
	if (path)
		globfree(&g);
	free(pat);
	return path;
}

/* Stage 2: QEMU with KVM must boot a real kernel to its "no root fs" panic within the bound. */
static int kvm_probe_qemu(const char *kernel, int timeout_ms)
{
	char *out = NULL;
	struct sbx_err err = SBX_ERR_INIT;
	char *argv[] = {"qemu-system-x86_64", "-accel", "kvm", "-nodefaults", "-display", "none", "-m", "128",
		"-serial", "stdio", "-no-reboot", "-kernel", (char *)kernel, "-append",
		"console=ttyS0 panic=-1", NULL};
	int ok = sbx_run(argv, timeout_ms, &out, &err) == 0 && out && strstr(out, "Kernel panic") != NULL;
	free(out);
	sbx_err_clear(&err);
	return ok;
}

/* Run both stages now, uncached; -1 when stage 1 passed but no kernel exists for stage 2. */
int kvm_probe(int timeout_ms)
{
	if (!kvm_probe_ioctl(timeout_ms))
		return 0;
	char *kernel = kvm_kernel();
	int ok = kernel ? kvm_probe_qemu(kernel, KVM_QEMU_PROBE_MS) : -1;
	free(kernel);
	return ok;
}

/* The host's boot id (caller frees), or "". */
static char *kvm_boot_id(void)
{
	char *id = NULL;
	size_t len = 0;
	struct sbx_err err = SBX_ERR_INIT;
	if (sbx_read_file("/proc/sys/kernel/random/boot_id", &id, &len, &err) < 0) {
		sbx_err_clear(&err);
		return xstrdup("");
	}
	id[strcspn(id, "\n")] = '\0';
	return id;
}

/* Read a cached answer for this boot: 1/0, or -1 when none. */
static int kvm_cache_read(const char *path, const char *boot)
{
	char *data = NULL;
	size_t len = 0;
	int v = -1;
	struct sbx_err err = SBX_ERR_INIT;
	if (path && sbx_read_file(path, &data, &len, &err) == 0) {
		size_t n = strlen(boot);
		if (len > n + 1 && strncmp(data, boot, n) == 0 && data[n] == ' ')
			v = strncmp(data + n + 1, "kvm", 3) == 0;
	}
	sbx_err_clear(&err);
	free(data);
	return v;
}

/* Keep a probe's answer for this host boot in the cache file (path NULL: not kept). */
static void kvm_cache_write(const char *path, const char *boot, bool usable)
{
	struct sbx_err err = SBX_ERR_INIT;
	char *line = xasprintf("%s %s\n", boot, usable ? "kvm" : "qemu");
	char *dir = path ? sbx_dirname(path) : NULL;
	if (path && sbx_mkdir_p(dir, 0755, &err) == 0)
		(void)!sbx_write_file(path, line, strlen(line), 0644, &err);
	sbx_err_clear(&err);
	free(line);
	free(dir);
}

/*
 * Probe once for the process (and once per host boot through the cache file). An undecided probe
 * (no kernel yet: a fresh machine before its first recipe image) means TCG for this process and is
 * not kept, so a later process with a kernel decides.
 */
static void kvm_once_probe(void)
{
	const char *force = kvm_cfg.force;
	if (force && (strcmp(force, "0") == 0 || strcmp(force, "1") == 0)) {
		kvm_answer = force[0] == '1';
		return;
	}
	char *path = xstrdup(kvm_cfg.cache), *boot = kvm_boot_id();
	int v = kvm_cache_read(path, boot);
	if (v < 0) {
		v = kvm_probe(KVM_PROBE_MS);
		if (v >= 0)
			kvm_cache_write(path, boot, v == 1);
	}
	kvm_answer = v == 1;
	free(path);
	free(boot);
}

/* Whether KVM is usable (cached). */
bool kvm_usable(void)
{
	pthread_once(&kvm_once, kvm_once_probe);
	return kvm_answer;
}
