/*
 * kvm — whether hardware virtualization actually works here. /dev/kvm opening is not enough (on
 * some hosts a KVM guest spins forever in the host kernel), so the probe runs a tiny real-mode
 * guest (`mov al,1; add al,2; hlt`) in a forked child bounded by a timeout.
 */
#ifndef SBX_KVM_H
#define SBX_KVM_H

#include <stdbool.h>

/* True when a KVM guest ran to HLT within the timeout. The first answer is cached for the
 * process (thread-safe); SBX_KVM=0|1 overrides the probe. */
bool kvm_usable(void);

/* Run the probe now, uncached: 1 usable, 0 not usable. */
int kvm_probe(int timeout_ms);

#endif
