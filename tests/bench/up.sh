#!/bin/sh
# `sandbox up` to SSH-ready against the machine's limit (the same image booted by plain QEMU in
# the same run: tests/bench/boot_limit.sh), for 1 and 3 nodes; then `down` of the 3-node env.
# Targets: 3 nodes <= 1.05 x the 3-parallel plain-QEMU limit; 1 node <= plain boot + 2 s;
# down < 4 s. Needs root, libvirtd and the cached image (built on first use).
set -u
top=${SBX_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
bin=${SBX_BIN_PLAIN:-$top/build}/sandbox
[ "$(id -u)" -eq 0 ] || { echo "up bench: needs root, skipped"; exit 0; }
sh "$top/tests/libvirt-up.sh" >/dev/null || { echo "up bench: libvirtd not running, skipped"; exit 0; }
sh "$top/tests/image/build.sh" debian-12 >/dev/null || { echo "up bench: no image, skipped"; exit 0; }
T=$(mktemp -d); E=bench$$
export SANDBOX_STATE="$T/state.db"
trap '"$bin" down $E-1 >/dev/null 2>&1; "$bin" down $E-3 >/dev/null 2>&1; rm -rf "$T"' EXIT
. "$top/tests/bench/lib.sh"
mk() { # name count
    cat > "$T/$1.yaml" <<YAML
apiVersion: sandbox/v1
name: bench
site: { uri: qemu:///system, image: { recipe: debian-12 } }
networks: [ { name: lan } ]
nodes: [ { name: vm, count: $2, memory: 1Gi, networks: [lan] } ]
YAML
}
if [ -f "$top/tests/bench/boot_limit.sh" ]; then
    echo "-- limit: plain QEMU boots of the same image"
    sh "$top/tests/bench/boot_limit.sh"
fi
mk one 1; mk three 3
t0=$(now); "$bin" up "$T/one.yaml" --name $E-1 >"$T/up1.log" 2>&1; rc=$?; t1=$(now)
echo "sandbox up, 1 node, to SSH-ready: $(ms $t0 $t1) ms (exit $rc)"
"$bin" down $E-1 >/dev/null 2>&1
t0=$(now); "$bin" up "$T/three.yaml" --name $E-3 >"$T/up3.log" 2>&1; rc=$?; t1=$(now)
echo "sandbox up, 3 nodes, to SSH-ready: $(ms $t0 $t1) ms (exit $rc)"
t0=$(now); "$bin" down $E-3 >"$T/down.log" 2>&1; rc=$?; t1=$(now)
echo "sandbox down, 3 nodes: $(ms $t0 $t1) ms (exit $rc)"
