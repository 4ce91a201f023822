#!/bin/sh
# Two `sandbox daemon`s on one PostgreSQL state (tests/lib/pg.sh) reap 200 expired environments
# whose objects are real libvirt objects on qemu:///system: each was made by `sandbox up --no-wait`
# (named and tagged as every up does: a network, an overlay volume, a cloud-init seed and a
# domain), with SANDBOX_TEST_NO_START=1 so networks and domains are defined but not started. Their
# expiries are spread over ten seconds while both daemons run, so the passes compete. Afterwards no
# sbx-<env> network, volume or domain remains, and the event log has exactly one down.start and one
# down.done per environment. Then a daemon SIGKILLed mid-reap (a crash point before its third
# network delete) leaves one environment half torn down, with libvirt objects left; another daemon
# (its clock not moved: it takes over the dead daemon's liveness lease) finishes it and the rest,
# each torn down once, nothing left.
#   SBX_REAP_N  how many environments the first part seeds (default 200)
. "$SBX_TOP/tests/lib/harness.sh"
. "$SBX_TOP/tests/lib/pg.sh"
. "$SBX_TOP/tests/lib/daemon.sh"
. "$SBX_TOP/tests/lib/lvobj.sh"
use_real_libvirt
N=${SBX_REAP_N:-200}
K=10
E=rl$(($$ % 100000))
pg_start || finish
export SANDBOX_STATE="$PG_URL" SANDBOX_STATE_DIR="$T/local"
psql_q() { "$PG_BIN/psql" -X -At -v ON_ERROR_STOP=1 -d "$PG_URL" -c "$1"; }

# (the daemons run SANDBOX_REAP_PARALLEL's default: 8 teardowns at once)
# whatever a failed run leaves in libvirt goes, state or not
on_exit "lv_purge '^sbx-$E[xk][0-9]+\\.'"
# objects PREFIX: how many libvirt objects (domains, networks, volumes) are named sbx-PREFIX*
objects() { lv_count "^sbx-$1"; }

cat > "$T/bp.yaml" <<YAML
apiVersion: sandbox/v1
name: reap
lifetime: { ttl: 1h }
site: { uri: "$URI", image: { path: "$BLANK" } }
networks: [ { name: lan } ]
nodes:
  - { name: vm, count: 1, cpus: 1, memory: 64Mi, networks: [lan] }
YAML

# seed PREFIX COUNT: environments PREFIX1..PREFIXCOUNT, defined and not started (lv_seed_envs).
# The ups run the build's release binary when there is one (an ASan up takes 0.8 s here, a release one 0.1 s):
# the daemons under test are $SANDBOX.
REL=$(cd "$SBX_BIN/.." && pwd)/sandbox
[ -x "$REL" ] || REL=$SANDBOX
seed() {
    lv_seed_envs "$REL" "$T/bp.yaml" "$1" "$2" && pass ||
        { fail "up failed: $(head -3 "$T/up-failed")"; tail -5 "$T/up-$(head -1 "$T/up-failed").log" >&2; }
}

t0=$(date +%s)
seed "${E}x" "$N"
echo "seeded $N environments in $(( $(date +%s) - t0 )) s"
[ "$(psql_q "SELECT count(*) FROM env WHERE name LIKE '${E}x%' AND status = 'ready'")" = "$N" ] && pass ||
    fail "not $N ready environments"
# 4 objects each (network, volume, seed, domain), none running
[ "$(objects "${E}x")" = $((4 * N)) ] && pass || fail "libvirt has $(objects "${E}x") objects, want $((4 * N))"
[ -z "$($V list --name | grep "^sbx-$E")" ] && pass || fail "a seeded domain runs"
[ -z "$($V net-list --name | grep "^sbx-$E")" ] && pass || fail "a seeded network is active"
$V dumpxml "sbx-${E}x1.vm-0" | grep -q "<sbx:env .*state=\"[0-9a-f]*\" name=\"${E}x1\"" && pass || fail "the domain carries no owner"

left() { psql_q "SELECT count(*) FROM env WHERE name LIKE '$1%'"; }
none_left() { [ "$(left "$1")" = 0 ]; }
# once KIND PREFIX COUNT: COUNT events KIND for environments PREFIX*, one per environment
once() {
    [ "$(psql_q "SELECT count(*) FROM event WHERE kind = '$1' AND env LIKE '$2%'")" = "$3" ] &&
        [ "$(psql_q "SELECT count(DISTINCT env) FROM event WHERE kind = '$1' AND env LIKE '$2%'")" = "$3" ] && pass ||
        fail "$1 events of $2*: $(psql_q "SELECT count(*) FROM event WHERE kind = '$1' AND env LIKE '$2%'"), not $3 distinct"
}

daemon_up 1 --interval 1
daemon_up 2 --interval 1
t0=$(date +%s)
psql_q "UPDATE env SET expires = floor(extract(epoch FROM now()))::bigint + 2 + substr(name, length('${E}x') + 1)::int % 10
    WHERE name LIKE '${E}x%'" >/dev/null && pass || fail "set the expiries"
until_true 300 none_left "${E}x" && pass || fail "$(left "${E}x") environments left after 300 s"
echo "reaped $N environments in $(( $(date +%s) - t0 )) s (expiries spread over 10 s)"
[ "$(objects "${E}x")" = 0 ] && pass || fail "libvirt objects left: $(objects "${E}x")"
once down.start "${E}x" "$N"
once down.done "${E}x" "$N"
daemon_down 1
daemon_down 2
r1=$(grep -c '"event":"reap.done"' "$T/d1.err") r2=$(grep -c '"event":"reap.done"' "$T/d2.err")
echo "reaped: daemon 1 $r1, daemon 2 $r2"
[ $((r1 + r2)) -eq "$N" ] && pass || fail "reap.done lines: $r1 + $r2, not $N"
grep -h '"event":"reap.fail"\|"event":"reap.error"' "$T/d1.err" "$T/d2.err" >"$T/errs"
[ ! -s "$T/errs" ] && pass || { fail "reap failures"; head -5 "$T/errs" >&2; }
[ "$(psql_q "SELECT count(*) FROM env_lock")" = 0 ] && pass || fail "lock leases left: $(psql_q "SELECT env, host, pid FROM env_lock")"

# a daemon SIGKILLed mid-reap: before its third network delete, so two environments are gone and
# the third has lost its domain, volume and seed but keeps its network; every other one stays claimed
seed "${E}k" "$K"
psql_q "UPDATE env SET expires = floor(extract(epoch FROM now()))::bigint - 1 WHERE name LIKE '${E}k%'" >/dev/null &&
    pass || fail "expire the k environments"
# (one teardown at a time: exactly one is cut short)
SANDBOX_REAP_PARALLEL=1 SANDBOX_TEST_CRASH=network:before:3 daemon_start 3 --interval 1
until_true 120 test -s "$T/d3.rc" && pass || fail "the crash point did not kill daemon 3"
[ "$(cat "$T/d3.rc" 2>/dev/null)" = 137 ] && pass || fail "daemon 3 exited $(cat "$T/d3.rc" 2>/dev/null), want 137 (SIGKILL)"
[ "$(left "${E}k")" = $((K - 2)) ] && pass || fail "daemon 3 did not reap 2 before it died"
CRASHED=$(psql_q "SELECT DISTINCT env FROM event WHERE kind = 'down.start' AND env IN (SELECT name FROM env)")
[ -n "$CRASHED" ] && [ "$(printf '%s\n' "$CRASHED" | wc -l)" = 1 ] && pass || fail "want one teardown cut short: '$CRASHED'"
[ "$(objects "$CRASHED\\.")" = 1 ] && $V net-info "sbx-$CRASHED.lan" >/dev/null 2>&1 && pass ||
    fail "$CRASHED: $(objects "$CRASHED\\.") objects left, want its network only"
[ "$(objects "${E}k")" = $((4 * (K - 3) + 1)) ] && pass || fail "libvirt has $(objects "${E}k") objects of ${E}k*"
daemon_up 4 --interval 1
until_true 120 none_left "${E}k" && pass || fail "daemon 4 left $(left "${E}k") environments"
[ "$(objects "${E}k")" = 0 ] && pass || fail "libvirt objects of ${E}k* left: $(objects "${E}k")"
kind_count() { psql_q "SELECT count(*) FROM event WHERE kind = '$1' AND env = '$2'"; }
[ "$(kind_count down.start "$CRASHED")" = 2 ] && [ "$(kind_count down.done "$CRASHED")" = 1 ] && pass ||
    fail "$CRASHED: $(kind_count down.start "$CRASHED") down.start, $(kind_count down.done "$CRASHED") down.done; want 2 and 1"
once down.done "${E}k" "$K"
grep -q "\"env\":\"$CRASHED\",\"event\":\"reap.done\"" "$T/d4.err" && pass || fail "daemon 4 did not reap $CRASHED"
[ "$(grep -c '"event":"reap.done"' "$T/d4.err")" = $((K - 2)) ] && pass || fail "daemon 4: not $((K - 2)) reap.done"
daemon_down 4
[ "$(psql_q "SELECT count(*) FROM env_lock")" = 0 ] && pass || fail "lock leases left after daemon 4: $(psql_q "SELECT env, host, pid FROM env_lock")"
SANDBOX_REAP_PARALLEL=0 expect_rc 2 "$SANDBOX" reap
expect_out 'SANDBOX_REAP_PARALLEL=0: expected a number from 1 to 64'
finish
