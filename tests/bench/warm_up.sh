#!/bin/sh
# In one run:
#   1. `sandbox up` of one node to SSH-ready: from a warm pool member (claim, identity, NIC moved,
#      readiness) against a cold boot;
#   2. `sandbox up examples/quickstart.yaml` (web + db with postgres) to roles-healthy (up's exit):
#      from a pool of one plain member and one prepared ahead for postgres (roles=postgres: initdb
#      done, PostgreSQL and pgbouncer running idle) against
#      a cold boot.
# Each pool is filled first and its daemon stopped, so no up competes with a booting member.
# Goal (issue "Warm pool"): one node under 5 s and the quickstart under 15 s from the pool. Prints
# figures, asserts nothing. Needs root, libvirtd and the cached image (built on first use).
#   sh tests/bench/warm_up.sh      Env: SBX_BIN_PLAIN (default build), WARM_DEADLINE s (900),
#                                  WARM_QUICKSTART=0 skips part 2
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
ready_n() { [ "$("$bin" pool --json 2>/dev/null | grep -c '"status": *"ready"')" -ge "$1" ]; }
# the pool's messages and the roles' timing of an up's event log
adopt_lines() {
    grep -o '"event":"\(pool.adopt\|node.ready\|roles.done\)"[^}]*"message":"[^"]*"' "$1" | sed 's/.*"message":"/  /; s/"$//'
}
cleanup() {
    stop
    for e in $E-w $E-c $E-qw $E-qc; do "$bin" down $e >/dev/null 2>&1; done
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
adopt_lines "$T/warm.log"
t0=$(now); "$bin" up "$T/one.yaml" --name $E-c --json >"$T/cold.log" 2>&1; rc=$?; t1=$(now)
echo "sandbox up, 1 node, cold, to SSH-ready: $(ms $t0 $t1) ms (exit $rc)"
"$bin" down $E-w >/dev/null 2>&1; "$bin" down $E-c >/dev/null 2>&1
[ "${WARM_QUICKSTART:-1}" = 0 ] && exit 0

qs=$top/examples/quickstart.yaml
t0=$(now); daemon --pool recipe=debian-12,cpus=1,memory=1Gi,count=1 \
    --pool recipe=debian-12,cpus=1,memory=1Gi,count=1,roles=postgres
wait_for "$deadline" ready_n 2 || { echo "warm_up bench: no 2 members ready in $deadline s"; exit 0; }
t1=$(now); stop
echo "pool: two members booted and SSH-ready, one with postgres running idle, in $(ms $t0 $t1) ms"
t0=$(now); "$bin" up "$qs" --name $E-qw --json >"$T/qwarm.log" 2>&1; rc=$?; t1=$(now)
n=$(grep -c '"event":"pool.adopt"' "$T/qwarm.log")
echo "sandbox up examples/quickstart.yaml, $n of 2 nodes from the pool, to roles-healthy: $(ms $t0 $t1) ms (exit $rc)"
adopt_lines "$T/qwarm.log"
"$bin" down $E-qw >/dev/null 2>&1
t0=$(now); "$bin" up "$qs" --name $E-qc --json >"$T/qcold.log" 2>&1; rc=$?; t1=$(now)
echo "sandbox up examples/quickstart.yaml, cold, to roles-healthy: $(ms $t0 $t1) ms (exit $rc)"
adopt_lines "$T/qcold.log"
