#!/bin/sh
# A QEMU machine (TCG) boots from the network service of its environment: the setup of
# tests/lib/netboot.sh, with the BMC's power-on starting QEMU (`-boot n`, an e1000 NIC with the iPXE
# ROM of Debian's ipxe-qemu, its NIC a tap in the environment's bridge, the declared MAC) and its
# power-off stopping it. `up` powers the machine on; its iPXE gets the planned address from
# dnsmasq (DHCPACK in dnsmasq's log), fetches its script and then the kernel over HTTP (the HTTP
# side's log). When the project's image is cached (tests/image/build.sh, not built here), its kernel
# and initrd are served: iPXE boots that kernel with the script's command line (the serial console
# shows it, seed URL included); else the kernel is a text file. `down` powers the machine off (QEMU
# gone) and stops the service. Booting the image to SSH needs an installer it does not have yet.
. "$SBX_TOP/tests/lib/harness.sh"
[ "$(id -u)" -eq 0 ] || skip "needs root (network namespaces, a tap device)"
for b in /usr/bin/ipmi_sim /usr/sbin/dnsmasq /usr/bin/python3 /usr/bin/sqlite3 /usr/bin/qemu-system-x86_64 \
         /usr/lib/ipxe/qemu/pxe-e1000.rom; do
    [ -e "$b" ] || skip "needs $b (Debian: ipmi_sim openipmi, dnsmasq-base, qemu-system-x86, ipxe-qemu)"
done
IMG=$(ls -d "${SANDBOX_IMAGE_CACHE:-/var/lib/sandbox/images}"/recipe/debian-12-*/ 2>/dev/null | head -1)
if [ -n "$IMG" ] && [ -f "$IMG/vmlinuz" ] && [ -f "$IMG/initrd.img" ]; then
    NB_KERNEL=$IMG/vmlinuz NB_INITRD=$IMG/initrd.img
fi
. "$SBX_TOP/tests/lib/netboot.sh"
ip -n $H tuntap add nbtap0 mode tap && ip -n $H link set nbtap0 master $BR && ip -n $H link set nbtap0 up ||
    skip "cannot create a tap device"
cat > "$S/on" <<ON
#!/bin/sh
qemu-system-x86_64 -machine pc,accel=tcg -m 512 -display none -serial file:$T/console.log -boot n \
    -netdev tap,id=n0,ifname=nbtap0,script=no,downscript=no \
    -device e1000,netdev=n0,mac=$MAC,romfile=/usr/lib/ipxe/qemu/pxe-e1000.rom \
    -pidfile $T/qemu.pid -daemonize > $T/qemu.log 2>&1
ON
printf '#!/bin/sh\n[ -f %s ] && kill "$(cat %s)"\n' "$T/qemu.pid" "$T/qemu.pid" > "$S/off"
chmod +x "$S/on" "$S/off"
on_exit '[ -f "$T/qemu.pid" ] && kill -9 "$(cat "$T/qemu.pid")"'
printf %s 'Bmc-pw-0451' | "$SANDBOX" secret set $A bmc >/dev/null || fail "secret set"
on_exit "ip netns exec $H $SANDBOX down $A"

expect_rc 0 inh "$SANDBOX" up "$T/bp/metal.yaml" --name $A --no-wait
until_true 30 test -s "$T/qemu.pid" && pass || fail "the power-on started no QEMU: $(cat "$T/qemu.log" 2>&1)"
QPID=$(cat "$T/qemu.pid" 2>/dev/null)
# iPXE under TCG: BIOS, ROM, DHCP, HTTP (deadlines, not speed)
until_true 240 grep -q "DHCPACK(.*) $NET.249 $MAC" "$NB/dnsmasq.log" && pass ||
    fail "no DHCPACK for $MAC: $(tail -5 "$NB/dnsmasq.log")"
until_true 240 grep -q "^GET /ipxe/db-0 200$" "$NB/http.log" && pass || fail "iPXE did not fetch its script: $(tail -5 "$NB/http.log")"
until_true 240 grep -q "^GET /boot/kernel 200$" "$NB/http.log" && pass || fail "iPXE did not fetch the kernel: $(tail -5 "$NB/http.log")"
grep -q "user class: iPXE\|vendor class: iPXE\|tags: .*ipxe" "$NB/dnsmasq.log" && pass || fail "dnsmasq did not see iPXE: $(grep -i ipxe "$NB/dnsmasq.log" | head -3)"
PORT=$(cat "$NB/http.port")
if [ -n "${NB_KERNEL:-}" ]; then
    until_true 300 grep -q "GET /boot/initrd 200" "$NB/http.log" && pass || fail "iPXE did not fetch the initrd"
    until_true 300 grep -q "Command line: .*ds=nocloud-net;s=http://$NET.1:$PORT/seed/db-0/ " "$T/console.log" && pass ||
        fail "the image's kernel did not boot with the script's command line: $(tail -5 "$T/console.log")"
fi

expect_rc 0 inh "$SANDBOX" down $A
until_true 30 sh -c "! kill -0 $QPID 2>/dev/null" && pass || fail "down did not power the machine off (QEMU $QPID runs)"
none_left() { ! ps -eo pid,args | grep -F -- "$NB" | grep -qv grep; }
until_true 10 none_left && pass || fail "left running: $(ps -eo pid,args | grep -F -- "$NB" | grep -v grep)"
[ ! -e "$NB" ] && pass || fail "$NB is left"
finish
