#!/bin/sh
# `sandbox up` of one node to SSH-ready: from a warm pool member (claim, identity, NIC moved,
# readiness) against a cold boot, in the same run. The pool (`sandbox daemon --pool`, one member)
# is filled first and its daemon stopped, so neither up competes with a booting member.
# Goal (issue "Warm pool"): under 5 s from the pool. Prints figures, asserts nothing.
# Needs root, libvirtd and the cached image (built on first use).
#   sh tests/bench/warm_up.sh      Env: SBX_BIN_PLAIN (default build), WARM_DEADLINE s (900)
set -u
top=${SBX_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
bin=${SBX_BIN_PLAIN:-$top/build}/sandbox
deadline=${WARM_DEADLINE:-900}
[ "$(id -u)" -eq 0 ] || { echo "warm_up bench: needs root, skipped"; exit 0; }
sh "$top/tests/libvirt-up.sh" >/dev/null || { echo "warm_up bench: libvirtd not running, skipped"; exit 0; }
sh "$top/tests/image/build.sh" debian-12 >/dev/null || { echo "warm_up bench: no image, skipped"; exit 0; }
T=$(mktemp -d); E=wbench$$; dpid=""
export SANDBOX_STATE="$T/state/state.db" SANDBOX_IPAM_POOL="10.$((150 + $$ % 100)).0.0/16"
. "$top/tests/bench/lib.sh"
members() { "$bin" pool --json 2>/dev/null | grep -c '"name"'; }
ready() { "$bin" pool --json 2>/dev/null | grep -q '"status": *"ready"'; }
daemon() { "$bin" daemon --listen 127.0.0.1:0 --interval 1 "$@" >>"$T/daemon.log" 2>&1 & dpid=$!; }
stop() { [ -n "$dpid" ] && kill -TERM "$dpid" 2>/dev/null && wait "$dpid"; dpid=""; }
wait_for() { # SECS CMD...: poll CMD until it succeeds or SECS pass
    _d=$(( $(date +%s) + $1 )); shift
    while ! "$@"; do [ "$(date +%s)" -lt "$_d" ] || return 1; sleep 0.5; done
}
no_members() { [ "$(members)" -eq 0 ]; }
cleanup() {
    stop
    "$bin" down $E-w >/dev/null 2>&1; "$bin" down $E-c >/dev/null 2>&1
    if [ "$(members)" -gt 0 ]; then daemon; wait_for 300 no_members; stop; fi
    "$bin" gc --env sbx-pool --delete >/dev/null 2>&1 # the pool network, once no member is recorded
    rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
cat > "$T/one.yaml" <<YAML
apiVersion: sandbox/v1
name: bench
site: { uri: qemu:///system, image: { recipe: debian-12 } }
networks: [ { name: lan } ]
nodes: [ { name: vm, cpus: 1, memory: 1Gi, networks: [lan] } ]
YAML
t0=$(now); daemon --pool recipe=debian-12,cpus=1,memory=1Gi,count=1
wait_for "$deadline" ready || { echo "warm_up bench: no member ready in $deadline s"; exit 0; }
t1=$(now); stop
echo "pool: one member booted and SSH-ready in $(ms $t0 $t1) ms"
t0=$(now); "$bin" up "$T/one.yaml" --name $E-w --json >"$T/warm.log" 2>&1; rc=$?; t1=$(now)
grep -q '"event":"pool.adopt"' "$T/warm.log" && how="from the pool" || how="NOT from the pool"
echo "sandbox up, 1 node, $how, to SSH-ready: $(ms $t0 $t1) ms (exit $rc)"
grep -o '"event":"pool.adopt"[^}]*"message":"[^"]*"' "$T/warm.log" | sed 's/.*"message":"/  /; s/"$//'
grep -o '"event":"node.ready"[^}]*"message":"[^"]*"' "$T/warm.log" | sed 's/.*"message":"/  /; s/"$//'
t0=$(now); "$bin" up "$T/one.yaml" --name $E-c --json >"$T/cold.log" 2>&1; rc=$?; t1=$(now)
echo "sandbox up, 1 node, cold, to SSH-ready: $(ms $t0 $t1) ms (exit $rc)"
