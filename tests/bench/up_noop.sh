#!/bin/sh
# A no-change `up` of the README's quickstart (examples/quickstart.yaml: web + PostgreSQL, 2 VMs
# under whatever acceleration the machine has), as a user runs it: first `up`, then a second `up`
# that changes nothing (the quick check: one SSH command per node), next to `up --refresh` (every
# role applied and health-checked, the behaviour before the quick check) in the same run, twice
# each, alternating; the roles.done message of each; then `down`. Each round also prints the
# machine's limit: one `sandbox ssh ENV NODE -- true` per node in parallel (OpenSSH, a new
# connection each, as up's readiness makes), and the no-change up's phases (ms since its start:
# plan, every node ready, roles done, up done). SBX_BENCH_ROUNDS (2) sets the rounds;
# SBX_BENCH_KEEP=DIR keeps the event logs of the last round there.
# Prints figures, asserts nothing. Needs root, libvirtd and the cached image.
set -u
top=${SBX_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
bin=${SBX_BIN_PLAIN:-$top/build}/sandbox
[ "$(id -u)" -eq 0 ] || { echo "up_noop: needs root, skipped"; exit 0; }
sh "$top/tests/libvirt-up.sh" >/dev/null || { echo "up_noop: libvirtd not running, skipped"; exit 0; }
sh "$top/tests/image/build.sh" debian-12 >/dev/null || { echo "up_noop: no image, skipped"; exit 0; }
T=$(mktemp -d); E=noop$$
export SANDBOX_STATE="$T/state.db"
trap '"$bin" down $E >/dev/null 2>&1; [ -n "${SBX_BENCH_KEEP:-}" ] && cp "$T"/*.log "$SBX_BENCH_KEEP"/; rm -rf "$T"' EXIT
. "$top/tests/bench/lib.sh"
msg() { sed -n "s/.*\"event\":\"$1\".*\"message\":\"\\([^\"]*\\)\".*/\\1/p" "$2"; }
# phases LOG: "plan N, node.ready NODE N, ..., roles.done N, up.done N" (elapsed_ms of each)
phases() {
    awk '/"event":"(plan|node.ready|roles.done|up.done)"/ {
        ms = $0; sub(/^\{"elapsed_ms":/, "", ms); sub(/,.*/, "", ms)
        ev = $0; sub(/.*"event":"/, "", ev); sub(/".*/, "", ev)
        nd = ""; if (ev == "node.ready") { nd = $0; sub(/.*"node":"/, "", nd); sub(/".*/, "", nd); nd = " " nd }
        printf "%s%s%s %s", sep, ev, nd, ms; sep = ", " }' "$1"
}
t0=$(now); "$bin" up "$top/examples/quickstart.yaml" --name $E --json >"$T/up.log" 2>&1; rc=$?; t1=$(now)
echo "first up, 2 VMs: $(ms $t0 $t1) ms (exit $rc)"
[ $rc -eq 0 ] || { tail -n 20 "$T/up.log"; exit 0; }
round=0
while [ $round -lt "${SBX_BENCH_ROUNDS:-2}" ]; do
    round=$((round + 1))
    t0=$(now); for n in web-0 db-0; do "$bin" ssh $E $n -- true & done; wait; t1=$(now)
    echo "anchor ($round): ssh NODE true on both nodes in parallel: $(ms $t0 $t1) ms"
    t0=$(now); "$bin" up "$top/examples/quickstart.yaml" --name $E --json >"$T/noop.log" 2>&1; rc=$?; t1=$(now)
    echo "no-change up ($round): $(ms $t0 $t1) ms (exit $rc); $(msg roles.done "$T/noop.log")"
    echo "  phases (ms): $(phases "$T/noop.log")"
    t0=$(now); "$bin" up "$top/examples/quickstart.yaml" --name $E --json --refresh >"$T/full.log" 2>&1; rc=$?
    t1=$(now)
    echo "up --refresh ($round): $(ms $t0 $t1) ms (exit $rc); $(msg roles.done "$T/full.log")"
done
t0=$(now); "$bin" down $E >/dev/null 2>&1; rc=$?; t1=$(now)
echo "down, 2 VMs: $(ms $t0 $t1) ms (exit $rc)"
