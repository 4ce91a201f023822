#!/bin/sh
# Power-on to SSH-ready of the simulated bare-metal machine (tests/e2e/metal_qemu.sh's setup: ipmi_sim,
# QEMU TCG with iPXE, 1 vCPU, 1 GiB, the image installed over the network, then booted from the
# disk) beside a VM of the same size (`up` of one libvirt node, 1 GiB, on qemu:///system), both
# started at the same time in one run. Prints each `up`'s wall time (the machine's also split at
# the install's report, polled every second), the node.ready figures of the events. Asserts nothing.
# Needs root, libvirtd and the cached image.
[ "$(id -u)" -eq 0 ] || { echo "metal_boot bench: needs root, skipped"; exit 0; }
SBX_TOP=${SBX_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
SBX_BIN=${SBX_BIN_PLAIN:-$SBX_TOP/build}
sh "$SBX_TOP/tests/libvirt-up.sh" >/dev/null || { echo "metal_boot bench: libvirtd not running, skipped"; exit 0; }
IMG=$(sh "$SBX_TOP/tests/image/build.sh" debian-12 2>/dev/null) || { echo "metal_boot bench: no image, skipped"; exit 0; }
. "$SBX_TOP/tests/lib/harness.sh"
. "$SBX_TOP/tests/bench/lib.sh"
NB_KERNEL=$IMG/vmlinuz NB_INITRD=$IMG/initrd.img NB_DISK=$IMG/disk.qcow2 NB_DEV=/dev/vda
NB_CMDLINE="root=/dev/vda console=ttyS0 net.ifnames=0"
export SANDBOX_READY_TIMEOUT=1800
. "$SBX_TOP/tests/lib/netboot.sh"
ip -n $H link del nbh0
ip -n $H tuntap add nbtap0 mode tap && ip -n $H link set nbtap0 master $BR && ip -n $H link set nbtap0 up || exit 0
qemu-img create -q -f qcow2 "$T/machine.qcow2" 4G
cat > "$S/on" <<ON
#!/bin/sh
qemu-system-x86_64 -machine pc,accel=tcg -m 1024 -display none -serial file:$T/console.log \
    -kernel /usr/lib/ipxe/ipxe.lkrn \
    -netdev tap,id=n0,ifname=nbtap0,script=no,downscript=no -device virtio-net-pci,netdev=n0,mac=$MAC,romfile= \
    -drive file=$T/machine.qcow2,if=virtio,format=qcow2 -pidfile $T/qemu.pid -daemonize > $T/qemu.log 2>&1
ON
printf '#!/bin/sh\n[ -f %s ] && kill "$(cat %s)"\n' "$T/qemu.pid" "$T/qemu.pid" > "$S/off"
chmod +x "$S/on" "$S/off"
on_exit '[ -f "$T/qemu.pid" ] && kill -9 "$(cat "$T/qemu.pid")"'
printf %s 'Bmc-pw-0451' | "$SANDBOX" secret set $A bmc >/dev/null
on_exit "ip netns exec $H $SANDBOX down $A"
# the VM: its own state and the default address pool (the machine's pool is one /24)
V=vmb$$
cat > "$T/vm.yaml" <<YAML
apiVersion: sandbox/v1
name: bench
site: { uri: qemu:///system, image: { recipe: debian-12 } }
networks: [ { name: lan } ]
nodes: [ { name: vm, memory: 1Gi, cpus: 1, networks: [lan] } ]
YAML
mkdir -m 0700 "$T/vm"
vm() { env -u SANDBOX_IPAM_POOL SANDBOX_STATE="$T/vm/state.db" "$SANDBOX" "$@"; }
on_exit "env -u SANDBOX_IPAM_POOL SANDBOX_STATE=$T/vm/state.db $SANDBOX down $V"

t0=$(now)
( inh "$SANDBOX" up "$T/bp/metal.yaml" --name $A > "$T/metal.out" 2>&1; echo $? > "$T/metal.rc"; now > "$T/metal.t" ) &
( vm up "$T/vm.yaml" --name $V > "$T/vm.out" 2>&1; echo $? > "$T/vm.rc"; now > "$T/vm.t" ) &
ti=""
until [ -f "$T/metal.t" ] && [ -f "$T/vm.t" ]; do
    [ -z "$ti" ] && grep -q "^GET /installed/db-0 200" "$NB/http.log" 2>/dev/null && ti=$(now)
    sleep 1
done
echo "VM (1 vCPU, 1 GiB): up to SSH-ready $(ms $t0 "$(cat "$T/vm.t")") ms (exit $(cat "$T/vm.rc"))"
echo "machine (1 vCPU, 1 GiB): up to SSH-ready $(ms $t0 "$(cat "$T/metal.t")") ms (exit $(cat "$T/metal.rc")), of which to the install's report ${ti:+$(ms $t0 $ti)} ms"
grep -h "ready (" "$T/vm.out" "$T/metal.out" | sed 's/^/  /'
for w in vm metal; do [ "$(cat "$T/$w.rc")" = 0 ] || { echo "$w:"; tail -5 "$T/$w.out"; }; done
echo "image stream: $(wc -c < "$NB/image.stream") bytes"
