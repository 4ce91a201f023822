#!/bin/sh
# `sandbox up` of examples/govstack.yaml on real VMs (router, 2 LBs, a backend running the mocks,
# PostgreSQL; 5 VMs under whatever acceleration the machine has): boot to SSH-ready per node,
# then "all nodes SSH-ready" → "all roles healthy" with its per-role breakdown, a no-change
# second up next to an `up --refresh`, failover (HAProxy stopped on lb-0 → the router's route via lb-0 gone), pgbench -S
# at 100 clients through pgbouncer vs direct (from the DB node), and down.
# Prints figures, asserts nothing. Needs root, libvirtd and the cached image.
set -u
top=${SBX_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
bin=${SBX_BIN_PLAIN:-$top/build}/sandbox
[ "$(id -u)" -eq 0 ] || { echo "roles_vms: needs root, skipped"; exit 0; }
sh "$top/tests/libvirt-up.sh" >/dev/null || { echo "roles_vms: libvirtd not running, skipped"; exit 0; }
sh "$top/tests/image/build.sh" debian-12 >/dev/null || { echo "roles_vms: no image, skipped"; exit 0; }
T=$(mktemp -d); E=rbench$$
export SANDBOX_STATE="$T/state.db" SANDBOX_MOCK_BIN_DIR="$(dirname "$bin")"
trap '"$bin" down $E >/dev/null 2>&1; [ -n "${SBX_BENCH_KEEP:-}" ] && cp "$T"/up*.log "$SBX_BENCH_KEEP"/; rm -rf "$T"' EXIT
. "$top/tests/bench/lib.sh"
msg() { sed -n "s/.*\"event\":\"$1\".*\"message\":\"\\([^\"]*\\)\".*/\\1/p" "$2"; }
cp "$top/examples/govstack.yaml" "$T/govstack.yaml"
cat >"$T/bench.yaml" <<YAML
extends: govstack.yaml
nodes: [ { name: web, roles: [mocks] } ]
vips: [ { name: www, backend: { nodes: web, port: 8081 } } ]
mocks: { sms: {}, mail: {}, payment: {} }
YAML
t0=$(now); "$bin" up "$T/bench.yaml" --name $E --json >"$T/up.log" 2>&1; rc=$?; t1=$(now)
echo "up, 5 VMs with roles: $(ms $t0 $t1) ms (exit $rc)"
msg node.ready "$T/up.log" | sed 's/^/  ssh-ready: /'
echo "  $(msg roles.done "$T/up.log")"
[ $rc -eq 0 ] || { tail -n 20 "$T/up.log"; exit 0; }
t0=$(now); "$bin" up "$T/bench.yaml" --name $E --json >"$T/up2.log" 2>&1; t1=$(now)
echo "second up (no change): $(ms $t0 $t1) ms; $(msg roles.done "$T/up2.log")"
t0=$(now); "$bin" up "$T/bench.yaml" --name $E --json --refresh >"$T/up3.log" 2>&1; t1=$(now)
echo "up --refresh (no change, every role applied and health-checked): $(ms $t0 $t1) ms; $(msg roles.done "$T/up3.log")"
VIP=$("$bin" outputs $E --format env | sed -n 's/^VIP_WWW_ADDR=\([0-9.]*\):.*/\1/p')
LB0=$("$bin" outputs $E --format env | sed -n 's/^SANDBOX_NODE_LB_0_IP=//p')
# failover, timed on the router itself (no SSH round trip in the figure)
"$bin" ssh $E lb-0 -- sudo -n /usr/local/lib/sbx/sbx-svc "" stop haproxy >/dev/null 2>&1 &
"$bin" ssh $E router -- sh -c "t0=\$(date +%s%N); while ip route show $VIP | grep -q $LB0; do sleep 0.1; done;
    echo failover: route via lb-0 withdrawn \$(( (\$(date +%s%N) - t0) / 1000000 )) ms after the stop was issued"
wait
# pgbench: initialise as the owner, then -S at 100 clients through pgbouncer and direct
DBURL=$("$bin" outputs $E --format env | sed -n 's/^DATABASE_URL=//p')
DIRECT=$(printf '%s' "$DBURL" | sed 's/:6432\//:5432\//')
S=${SBX_PGBENCH_SECONDS:-60}
"$bin" ssh $E db -- pgbench -q -i -s 1 "$DIRECT" >"$T/pginit.log" 2>&1 ||
    { echo "pgbench -i failed:"; tail -n 5 "$T/pginit.log" | sed 's/^/  /'; }
for what in pgbouncer direct; do
    u=$DBURL; [ $what = direct ] && u=$DIRECT
    "$bin" ssh $E db -- pgbench -n -S -c 100 -j 2 -T "$S" "$u" >"$T/pgbench.log" 2>&1
    tps=$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' "$T/pgbench.log")
    echo "pgbench -S, 100 clients, ${S} s, from the DB VM, $what: ${tps:-failed} tps"
    [ -n "$tps" ] || tail -n 5 "$T/pgbench.log" | sed 's/^/  /'
done
t0=$(now); "$bin" down $E >/dev/null 2>&1; rc=$?; t1=$(now)
echo "down, 5 VMs: $(ms $t0 $t1) ms (exit $rc)"
