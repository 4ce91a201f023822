#!/bin/sh
# A simulated bare-metal machine installs the environment's image and becomes a node: the setup of
# tests/lib/netboot.sh with the project's image (tests/image/build.sh), and the BMC's power-on
# starting a QEMU machine (TCG, 1 GiB; tests/lib/metal_vm.sh) whose firmware boots the network
# first on every boot, with an empty virtio disk (/dev/vda) the size of the image. `up` (which waits
# for SSH) powers it on; iPXE fetches the install script, the installer writes the image's extent
# stream to the disk, reports done and reboots; the next script boots the image's kernel with its
# root on the disk; cloud-init takes the seed; the node is SSH-ready with its host key pinned and
# `sandbox ssh ENV db-0 -- uname -n` answers db-0. `down` powers the machine off, releases the
# lease, stops the service and leaves nothing. Deadlines are generous (TCG on a shared machine).
. "$SBX_TOP/tests/lib/harness.sh"
[ "$(id -u)" -eq 0 ] || skip "needs root (network namespaces, a tap device, the image build)"
for b in /usr/bin/ipmi_sim /usr/sbin/dnsmasq /usr/bin/python3 /usr/bin/sqlite3 /usr/bin/qemu-system-x86_64 \
         /usr/bin/qemu-img /usr/lib/ipxe/ipxe.lkrn /bin/busybox; do
    [ -e "$b" ] || skip "needs $b (Debian: openipmi, dnsmasq-base, qemu-system-x86, qemu-utils, ipxe, busybox-static)"
done
IMG=$(sh "$SBX_TOP/tests/image/build.sh" debian-12) || skip "cannot build the test image"
NB_KERNEL=$IMG/vmlinuz NB_INITRD=$IMG/initrd.img NB_DISK=$IMG/disk.qcow2 NB_DEV=/dev/vda
NB_CMDLINE="root=/dev/vda console=ttyS0 net.ifnames=0"
export SANDBOX_READY_TIMEOUT=${SBX_METAL_READY_TIMEOUT:-1800}
. "$SBX_TOP/tests/lib/netboot.sh"
. "$SBX_TOP/tests/lib/metal_vm.sh"
qemu-img create -q -f qcow2 "$T/machine.qcow2" "$(qemu-img info --output=json "$NB_DISK" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["virtual-size"])')" || fail "cannot create the machine's disk"
metal_vm 1024 -drive file=$T/machine.qcow2,if=virtio,format=qcow2
printf %s 'Bmc-pw-0451' | "$SANDBOX" secret set $A bmc >/dev/null || fail "secret set"
on_exit "ip netns exec $H $SANDBOX down $A"

t0=$(date +%s)
expect_rc 0 inh "$SANDBOX" up "$T/bp/metal.yaml" --name $A
echo "up: $(( $(date +%s) - t0 )) s" >&2
[ "$_failures" -eq 0 ] || { tail -30 "$T/console.log" >&2; tail -20 "$NB/http.log" >&2; }
# the install, then the boot from the disk (the HTTP side's log, the console)
grep -q "^GET /boot/installer 200$" "$NB/http.log" && grep -q "^GET /image 200$" "$NB/http.log" && pass ||
    fail "the installer or the image was not fetched: $(tail -5 "$NB/http.log")"
grep -q "^GET /installed/db-0 200$" "$NB/http.log" && pass || fail "the install was not reported"
grep -q "sandbox-installer: installed to /dev/vda; rebooting" "$T/console.log" && pass ||
    fail "the console does not show the install: $(grep -a sandbox-installer "$T/console.log")"
[ "$(grep -c "^GET /ipxe/db-0 200$" "$NB/http.log")" -ge 2 ] && pass || fail "the machine did not boot again from the network"
grep -aq "Command line: .* root=/dev/vda$\|Command line: .* root=/dev/vda " "$T/console.log" && pass ||
    fail "no boot with the root on the disk: $(grep -a 'Command line' "$T/console.log")"
# a node like a VM: pinned host key, SSH
[ "$(inh "$SANDBOX" ssh $A db-0 -- uname -n 2>"$T/ssh.err")" = db-0 ] && pass || fail "ssh db-0: $(cat "$T/ssh.err")"
expect_rc 0 inh "$SANDBOX" status $A
expect_out "db-0"
kh=$(inh "$SANDBOX" outputs $A --json 2>/dev/null |
    python3 -c 'import json,sys; print([v for k, v in json.load(sys.stdin).items() if "known_hosts" in k.lower()][0])' 2>/dev/null)
[ -n "$kh" ] && grep -q "^$NET.249 [a-z0-9-]* AAAA" "$kh" && pass || fail "no pinned host key for $NET.249 in '$kh'"
[ "$(sqlite3 "$SANDBOX_STATE" "SELECT count(*) FROM lease")" = 1 ] && pass || fail "no lease while up"
grep -rq "Bmc-pw-0451" "$NB" "$T"/*.log 2>/dev/null && fail "the BMC password is in a log" || pass

metal_down
finish
