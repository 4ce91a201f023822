# metal_vm.sh — the simulated machine of the bare-metal e2e tests (source it after netboot.sh with
# the project's image in NB_KERNEL/NB_INITRD/NB_DISK):
#
#   metal_vm MEMORY_MIB [QEMU ARGS...]   the BMC's power-on starts a QEMU machine (TCG, MEMORY_MIB)
#                     whose firmware boots the network on every boot: iPXE (Debian's ipxe.lkrn as
#                     QEMU's -kernel: the image's kernel has virtio drivers only, and SeaBIOS runs no
#                     virtio PXE ROM here) on a virtio NIC with the declared MAC, a tap nbtap0 in the
#                     environment's bridge (it replaces the namespace $M's NIC, which has that MAC),
#                     its console in $T/console.log, its pid in $T/qemu.pid, QEMU ARGS added (a
#                     disk); power-off kills it. QEMU is killed on exit.
#   metal_down        `down` of $A, then: the machine off (QEMU gone, the BMC says off), no lease,
#                     no process of the service, its directory gone.
metal_vm() {
    _mem=$1
    shift
    ip -n $H link del nbh0
    ip -n $H tuntap add nbtap0 mode tap && ip -n $H link set nbtap0 master $BR && ip -n $H link set nbtap0 up ||
        skip "cannot create a tap device"
    cat > "$S/on" <<ON
#!/bin/sh
qemu-system-x86_64 -machine pc,accel=tcg -m $_mem -display none -serial file:$T/console.log \
    -kernel /usr/lib/ipxe/ipxe.lkrn \
    -netdev tap,id=n0,ifname=nbtap0,script=no,downscript=no -device virtio-net-pci,netdev=n0,mac=$MAC,romfile= \
    $* -pidfile $T/qemu.pid -daemonize > $T/qemu.log 2>&1
ON
    printf '#!/bin/sh\n[ -f %s ] && kill "$(cat %s)"\n' "$T/qemu.pid" "$T/qemu.pid" > "$S/off"
    chmod +x "$S/on" "$S/off"
    on_exit '[ -f "$T/qemu.pid" ] && kill -9 "$(cat "$T/qemu.pid")"'
}

metal_down() {
    _qpid=$(cat "$T/qemu.pid" 2>/dev/null)
    expect_rc 0 inh "$SANDBOX" down $A
    until_true 30 sh -c "! kill -0 $_qpid 2>/dev/null" && pass || fail "down did not power the machine off (QEMU $_qpid runs)"
    [ "$(cat "$S/power")" = 0 ] && pass || fail "the BMC says power $(cat "$S/power")"
    [ "$(sqlite3 "$SANDBOX_STATE" "SELECT count(*) FROM lease")" = 0 ] && pass || fail "down kept the lease"
    _none_left() { ! ps -eo pid,args | grep -F -- "$NB" | grep -qv grep; }
    until_true 10 _none_left && pass || fail "left running: $(ps -eo pid,args | grep -F -- "$NB" | grep -v grep)"
    [ ! -e "$NB" ] && pass || fail "$NB is left"
}
