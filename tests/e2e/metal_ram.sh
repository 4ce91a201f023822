#!/bin/sh
# A simulated bare-metal machine without a disk runs the environment's image from RAM and becomes
# a node: the setup of tests/lib/netboot.sh with the project's image and a node without `disk:`,
# the BMC's power-on starting a QEMU machine with no disk and 2 GiB (tests/lib/metal_vm.sh). `plan`
# says "run the image from RAM"; `up` (which waits for SSH) powers it on; iPXE fetches the RAM
# script (the installer's initrd, sandbox.ram=1, the stream's sha256, root=/dev/loop0); the
# installer loads the image's extent stream into a tmpfs, checks its sha256, attaches it to
# /dev/loop0 and switch_roots into it; cloud-init takes the seed; nothing reports an install; the
# node is SSH-ready with its root on /dev/loop0 (a file in RAM) and no failed systemd unit. Another
# stream served in place of the image and the machine rebooted: the installer refuses it (both
# sha256s on the console) instead of running it. `down` powers the machine off, releases the lease, stops the
# service and leaves nothing. Deadlines are generous (TCG on a shared machine).
. "$SBX_TOP/tests/lib/harness.sh"
[ "$(id -u)" -eq 0 ] || skip "needs root (network namespaces, a tap device, the image build)"
for b in /usr/bin/ipmi_sim /usr/sbin/dnsmasq /usr/bin/python3 /usr/bin/sqlite3 /usr/bin/qemu-system-x86_64 \
         /usr/lib/ipxe/ipxe.lkrn /bin/busybox; do
    [ -e "$b" ] || skip "needs $b (Debian: openipmi, dnsmasq-base, qemu-system-x86, ipxe, busybox-static)"
done
IMG=$(sh "$SBX_TOP/tests/image/build.sh" debian-12) || skip "cannot build the test image"
NB_KERNEL=$IMG/vmlinuz NB_INITRD=$IMG/initrd.img NB_DISK=$IMG/disk.qcow2 NB_RAM=1
NB_CMDLINE="root=/dev/vda console=ttyS0 net.ifnames=0"
export SANDBOX_READY_TIMEOUT=${SBX_METAL_READY_TIMEOUT:-1800}
. "$SBX_TOP/tests/lib/netboot.sh"
. "$SBX_TOP/tests/lib/metal_vm.sh"
metal_vm 2048
printf %s 'Bmc-pw-0451' | "$SANDBOX" secret set $A bmc >/dev/null || fail "secret set"
on_exit "ip netns exec $H $SANDBOX down $A"

expect_rc 0 inh "$SANDBOX" plan "$T/bp/metal.yaml" --name $A
expect_out "^\\+ machine +sbx-$A\\.db-0 +new: boot pxe, run the image from RAM, power on "
t0=$(date +%s)
expect_rc 0 inh "$SANDBOX" up "$T/bp/metal.yaml" --name $A
echo "up: $(( $(date +%s) - t0 )) s" >&2
[ "$_failures" -eq 0 ] || { tail -30 "$T/console.log" >&2; tail -20 "$NB/http.log" >&2; }
# one boot from the network, the image into RAM, no install reported
grep -q "^GET /boot/installer 200$" "$NB/http.log" && grep -q "^GET /image 200$" "$NB/http.log" && pass ||
    fail "the installer or the image was not fetched: $(tail -5 "$NB/http.log")"
grep -q "^GET /installed/" "$NB/http.log" && fail "a RAM machine reported an install" || pass
[ "$(grep -c "^GET /ipxe/db-0 200$" "$NB/http.log")" = 1 ] && pass || fail "not one boot: $(grep ipxe "$NB/http.log")"
SUM=$(cat "$NB/image.stream.sha256" 2>/dev/null)
[ "$(sha256sum < "$NB/image.stream" | cut -c1-64)" = "$SUM" ] && pass || fail "image.stream.sha256 is not the stream's: '$SUM'"
grep -aq "Command line: .* sandbox.ram=1 sandbox.sha256=$SUM root=/dev/vda .* root=/dev/loop0 fsck.mode=skip" "$T/console.log" &&
    pass || fail "the RAM command line: $(grep -a 'Command line' "$T/console.log")"
grep -aq "sandbox-installer: running the image from RAM (/dev/loop0)" "$T/console.log" && pass ||
    fail "the console does not show the switch to RAM: $(grep -a sandbox-installer "$T/console.log")"
# a node like a VM, its root in RAM
[ "$(inh "$SANDBOX" ssh $A db-0 -- uname -n 2>"$T/ssh.err")" = db-0 ] && pass || fail "ssh db-0: $(cat "$T/ssh.err")"
root=$(inh "$SANDBOX" ssh $A db-0 -- findmnt -no SOURCE,FSTYPE,OPTIONS / 2>"$T/ssh.err")
case $root in /dev/loop0\ *ext4\ *rw,*) pass ;; *) fail "the root file system: '$root' $(cat "$T/ssh.err")" ;; esac
back=$(inh "$SANDBOX" ssh $A db-0 -- cat /sys/block/loop0/loop/backing_file 2>"$T/ssh.err")
[ "$back" = /ram/root.img ] && pass || fail "/dev/loop0's file: '$back' $(cat "$T/ssh.err")"
failed=$(inh "$SANDBOX" ssh $A db-0 -- systemctl list-units --failed --plain --no-legend 2>"$T/ssh.err")
[ -z "$failed" ] && pass || fail "failed units on the RAM root: $failed"
expect_rc 0 inh "$SANDBOX" status $A
expect_out "db-0"
grep -rq "Bmc-pw-0451" "$NB" "$T"/*.log 2>/dev/null && fail "the BMC password is in a log" || pass

# another stream where the HTTP side serves the image (a whole one of 1 MiB: quick to fetch; a byte
# flipped in a stream is test_installer's), the machine rebooted: the installer says the sha256
# differs from the script's and does not run it
{ printf 'sandbox-image 1 1 1\n0 1\n'; head -c 1048576 /dev/urandom; printf 'end\n'; } > "$NB/image.stream.new" &&
    mv "$NB/image.stream.new" "$NB/image.stream"
timeout 60 ip netns exec $H "$SANDBOX" ssh $A db-0 -- sudo systemctl reboot >/dev/null 2>&1
refused() { grep -aq "sandbox-installer: FAILED: the image stream's sha256 is [0-9a-f]*, expected $SUM" "$T/console.log"; }
until_true 900 refused && pass || fail "the other stream was not refused: $(grep -a sandbox-installer "$T/console.log" | tail -5)"
[ "$(grep -ac "sandbox-installer: running the image from RAM" "$T/console.log")" = 1 ] && pass ||
    fail "the other stream ran"

metal_down
finish
