/*
 * kvm — whether hardware virtualization actually works here. /dev/kvm opening is not enough (on
 * some hosts a KVM guest spins forever in the host kernel), so the probe has two bounded stages:
 *  1. a tiny real-mode guest (`mov al,1; add al,2; hlt`) run with KVM_RUN in a forked child
 *     (alarm() + a deadline in the parent) must exit with KVM_EXIT_HLT;
 *  2. QEMU with -accel kvm must boot a real Linux kernel to its "no root fs" panic within 8 s
 *     (kernel: the configured probe kernel, /boot/vmlinuz-$(uname -r), /boot/vmlinuz, or a recipe
 *     image's kernel in the image cache). With no kernel to boot the answer is "not usable" for
 *     this process and is not cached: stage 1 alone passes on the hosts where KVM hangs. Nested KVM inside a
 *     Firecracker VM passes stage 1 but hangs in stage 2: that is the case this exists for.
 */
#ifndef SBX_KVM_H
#define SBX_KVM_H

#include <stdbool.h>

/* Configure the probe before the first kvm_usable (env_config does): force "0"/"1" skips it
 * (NULL: probe); probe_kernel for stage 2 (NULL: the host's); cache_file keeps the answer for this
 * host boot (NULL: not kept); image_cache is searched for a recipe kernel (NULL: not searched). */
void kvm_configure(const char *force, const char *probe_kernel, const char *cache_file,
	const char *image_cache);

/* True when both stages pass. The answer is cached for the process (thread-safe) and for the host
 * boot in the configured cache file, keyed by the boot id. */
bool kvm_usable(void);

/* Run both stages now, uncached (timeout_ms bounds stage 1): 1 usable, 0 not usable, -1 stage 1
 * passed and no kernel exists for stage 2. */
int kvm_probe(int timeout_ms);

#endif
