#!/bin/sh
# The machine's limit for the boot benchmark: boot the cached recipe image with plain QEMU (TCG,
# 1 vCPU, 1 GiB, direct kernel boot with the image's kernel/cmdline, a NoCloud seed with a
# generated key, user-mode networking with hostfwd to a free port), once alone and then 3 at once,
# and print the seconds until each VM is SSH-ready (an authenticated `ssh ... true` succeeds).
# Prints figures, asserts nothing. Cleans up every QEMU it started.
#
#   sh tests/bench/boot_limit.sh            (needs root for the image build on first use)
# Env: BOOT_LIMIT_PARALLEL (default 3), BOOT_LIMIT_DEADLINE seconds per VM (default 600).
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
par=${BOOT_LIMIT_PARALLEL:-3}
deadline=${BOOT_LIMIT_DEADLINE:-600}
img=$(sh "$top/tests/image/build.sh") || { echo "boot_limit: no image" >&2; exit 77; }
work=$(mktemp -d /tmp/sbx-boot-limit.XXXXXX)
pids=""

cleanup() {
    for p in $pids; do kill "$p" 2>/dev/null; done
    for p in $pids; do
        i=0
        while kill -0 "$p" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
        kill -9 "$p" 2>/dev/null
    done
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

val() { sed -n "s/^$1=//p" "$img/manifest"; }
disk="$img/$(val disk)"; kernel="$img/$(val kernel)"; initrd="$img/$(val initrd)"; cmdline=$(val cmdline)

ssh-keygen -q -t ed25519 -N "" -C boot-limit -f "$work/key"
cat >"$work/user-data" <<UD
#cloud-config
users:
  - name: sandbox
    shell: /bin/bash
    sudo: "ALL=(ALL) NOPASSWD:ALL"
    lock_passwd: true
    ssh_authorized_keys:
      - "$(cat "$work/key.pub")"
ssh_pwauth: false
UD

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# start_vm NAME: overlay + seed + QEMU in the background; writes $work/NAME.port, records the pid.
start_vm() {
    n=$1
    qemu-img create -q -f qcow2 -b "$disk" -F qcow2 "$work/$n.qcow2"
    printf 'instance-id: %s\nlocal-hostname: %s\n' "$n" "$n" >"$work/$n.meta-data"
    mkdir -p "$work/$n.seed"
    cp "$work/user-data" "$work/$n.seed/user-data"
    cp "$work/$n.meta-data" "$work/$n.seed/meta-data"
    genisoimage -quiet -output "$work/$n.iso" -volid cidata -joliet -rock \
        "$work/$n.seed/user-data" "$work/$n.seed/meta-data"
    port=$(free_port)
    echo "$port" >"$work/$n.port"
    qemu-system-x86_64 -accel tcg -m 1024 -smp 1 -nodefaults -display none \
        -serial "file:$work/$n.console" -kernel "$kernel" -initrd "$initrd" -append "$cmdline" \
        -drive "file=$work/$n.qcow2,if=virtio,format=qcow2" \
        -drive "file=$work/$n.iso,media=cdrom,format=raw" \
        -netdev "user,id=n0,hostfwd=tcp:127.0.0.1:$port-:22" -device virtio-net-pci,netdev=n0 \
        -device virtio-rng-pci -pidfile "$work/$n.pid" -daemonize
    pids="$pids $(cat "$work/$n.pid")"
}

# wait_ssh NAME T0: poll ssh with growing intervals until it answers; writes seconds to NAME.secs.
wait_ssh() {
    n=$1 t0=$2 port=$(cat "$work/$1.port") d=1
    while :; do
        if ssh -p "$port" -i "$work/key" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
            -o BatchMode=yes -o ConnectTimeout=5 -o LogLevel=ERROR sandbox@127.0.0.1 true 2>/dev/null; then
            echo $(( $(date +%s) - t0 )) >"$work/$n.secs"
            return 0
        fi
        [ $(( $(date +%s) - t0 )) -ge "$deadline" ] && { echo "timeout" >"$work/$n.secs"; return 1; }
        sleep $d
        [ $d -lt 4 ] && d=$((d * 2))
    done
}

# round LABEL N: start N VMs at once, wait for all, print, stop them.
round() {
    label=$1 count=$2 names="" t0=$(date +%s)
    for i in $(seq 1 "$count"); do start_vm "$label-$i"; names="$names $label-$i"; done
    for n in $names; do wait_ssh "$n" "$t0" & done
    wait
    out=""
    for n in $names; do out="$out $(cat "$work/$n.secs")"; done
    echo "boot_limit: $label ($count VM, TCG, 1 vCPU, 1 GiB): SSH-ready after${out} s"
    for p in $pids; do kill "$p" 2>/dev/null; done
}

echo "boot_limit: image $img, $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
round alone 1
round parallel "$par"
