#!/bin/sh
# Start virtlogd and libvirtd when they are not already answering, then wait (bounded) until
# libvirtd accepts connections. Safe to run any number of times.
set -eu
sock=/run/libvirt/libvirt-sock
# Without udev /dev/kvm stays 0600 root:root, which makes libvirtd re-probe QEMU on every define
# (30-50 s each). Give it the mode udev gives it on Debian.
if [ -c /dev/kvm ] && getent group kvm >/dev/null 2>&1; then
    chgrp kvm /dev/kvm && chmod 0660 /dev/kvm || true
fi
if ! pgrep -x virtlogd >/dev/null 2>&1; then
    virtlogd -d
fi
if ! pgrep -x libvirtd >/dev/null 2>&1; then
    libvirtd -d
fi
i=0
while ! virsh -c qemu:///system version >/dev/null 2>&1; do
    i=$((i + 1))
    if [ $i -gt 100 ]; then
        echo "libvirt-up: libvirtd did not answer on $sock within 20 s" >&2
        exit 1
    fi
    sleep 0.2
done
echo "libvirt-up: libvirtd is answering"
