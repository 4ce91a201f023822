#!/bin/sh
# Reap throughput and daemon idle RSS, SQLite vs PostgreSQL in the same run. Each backend gets N
# environments (SBX_BENCH_REAP_N, default 200) made by the release `up --no-wait` on qemu:///system
# with SANDBOX_TEST_NO_START=1 (a network, an overlay volume, a seed and a domain each, defined and
# not started: the "defined-only" environments of the goal), then one `sandbox reap` with the clock
# moved past their expiry tears them all down: environments/s = N / its wall time (goal >= 50).
# Then `sandbox daemon` on the emptied state: VmRSS once its first pass is done (/healthz 200).
# Needs root, libvirtd and PostgreSQL's server binaries; prints figures, asserts nothing.
set -u
top=${SBX_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
bdir=${SBX_BIN_PLAIN:-$top/build}
[ -x "$bdir/sandbox" ] || { echo "reap bench: build $bdir first, skipped"; exit 0; }
[ "$(id -u)" -eq 0 ] || { echo "reap bench: needs root for qemu:///system, skipped"; exit 0; }
SBX_TOP=$top SBX_BIN=$bdir
. "$top/tests/lib/harness.sh"
. "$top/tests/lib/pg.sh"
. "$top/tests/lib/lvobj.sh"
. "$top/tests/lib/daemon.sh"
. "$top/tests/bench/lib.sh"
virsh -c qemu:///system version >/dev/null 2>&1 || sh "$top/tests/libvirt-up.sh" >/dev/null 2>&1 ||
    { echo "reap bench: libvirtd is not running, skipped"; exit 0; }
N=${SBX_BENCH_REAP_N:-200}
E=rb$(($$ % 100000))
V="virsh -c qemu:///system"
chmod 0755 "$T"
qemu-img create -q -f qcow2 "$T/blank.qcow2" 16M
export SANDBOX_IPAM_POOL="10.$((150 + $$ % 100)).0.0/16"
on_exit "lv_purge '^sbx-$E[sp][0-9]+\\.'"
cat > "$T/bp.yaml" <<YAML
apiVersion: sandbox/v1
name: reap
lifetime: { ttl: 1h }
site: { uri: "qemu:///system", image: { path: "$T/blank.qcow2" } }
networks: [ { name: lan } ]
nodes:
  - { name: vm, count: 1, cpus: 1, memory: 64Mi, networks: [lan] }
YAML

# seed PREFIX: N environments PREFIX1..PREFIXN on $SANDBOX_STATE (lv_seed_envs)
seed() { lv_seed_envs "$bdir/sandbox" "$T/bp.yaml" "$1" "$N" || echo "up failed: $(head -3 "$T/up-failed")" >&2; }
objects() { lv_count "^sbx-$1"; }

# idle_rss: start the daemon on $SANDBOX_STATE, wait for its first pass, print its VmRSS (kB)
idle_rss() {
    daemon_start "" --interval 30 || { echo "daemon did not listen" >&2; return; }
    until_true 60 curl -sf -o /dev/null "$URL/healthz" || echo "daemon: no first pass in 60 s" >&2
    awk '/^VmRSS/ { print $2 }' "/proc/$DPID/status"
    daemon_stop ""
}

# one BACKEND-NAME PREFIX: seed, reap, idle RSS on $SANDBOX_STATE
one() {
    t0=$(now); seed "$2"; t1=$(now)
    have=$(objects "$2")
    t2=$(now)
    SANDBOX_FAKE_NOW=$(( $(date +%s) + 7200 )) "$bdir/sandbox" reap >"$T/reap.out" 2>&1 || echo "$1: reap failed: $(tail -2 "$T/reap.out")"
    t3=$(now)
    awk -v b="$1" -v n="$N" -v o="$have" -v s="$(ms "$t0" "$t1")" -v r="$(ms "$t2" "$t3")" -v left="$(objects "$2")" \
        'BEGIN { printf "%-10s seeded %d environments (%d libvirt objects) in %.1f s; reaped in %.2f s: %.1f env/s; objects left %d\n",
            b, n, o, s / 1000, r / 1000, n / (r / 1000), left }'
    echo "$1 daemon idle RSS: $(idle_rss) kB"
}

mkdir -m 700 "$T/sq"
SANDBOX_STATE="$T/sq/state.db" one sqlite "${E}s"
if pg_start; then
    SANDBOX_STATE="$PG_URL" SANDBOX_STATE_DIR="$T/pgl" one postgresql "${E}p"
else
    echo "postgresql: could not start a server, skipped"
fi
