#!/bin/sh
# `up` falls back to a cold boot when a claimed warm pool member cannot be taken over, on real
# libvirt with blank-disk VMs (no OS: nothing answers SSH) and `up --no-wait`:
#   - `sandbox daemon --pool image=BLANK` journals and starts one member; the daemon is stopped and
#     the member's row marked ready (as if it had answered SSH);
#   - `up` claims it (pool.claim), cannot reach it over the pool network (pool.fallback), destroys
#     its domain and volumes and creates the node cold under its usual names; the pool is empty;
#   - a second `up` changes nothing; `down` leaves nothing;
#   - a shape whose members cannot boot backs off (5 s, 10 s, 20 s) instead of booting one a pass.
. "$SBX_TOP/tests/lib/harness.sh"
. "$SBX_TOP/tests/lib/daemon.sh"
. "$SBX_TOP/tests/lib/warm.sh"
use_real_libvirt
command -v sqlite3 >/dev/null || skip "needs the sqlite3 client"
E=wfb$$

start_daemon() { daemon_start "" --interval 1 "$@" || fail "daemon not listening"; }
stop_daemon() { daemon_stop "" || fail "daemon still running 60 s after SIGTERM"; }
member_running() { _m=$(members); [ -n "$_m" ] && [ "$($V domstate "$_m" 2>/dev/null)" = running ]; }
on_exit "empty_pool; $SANDBOX down $E"

start_daemon --pool "image=$BLANK,cpus=1,memory=128Mi,count=1"
until_true 120 member_running && pass || { fail "no member running within 120 s"; tail -5 "$T/d.err" >&2; }
stop_daemon
M=$(members)
sqlite3 "$SANDBOX_STATE" "UPDATE warm SET status = 'ready', hostkey = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeKeyOfABlankMachine0000000000000000000' WHERE id = '$M'" &&
    pass || fail "cannot mark $M ready"

cat > "$T/bp.yaml" <<YAML
apiVersion: sandbox/v1
name: wfb
site: { uri: "$URI", image: { path: $BLANK } }
networks: [ { name: lan } ]
nodes: [ { name: vm, cpus: 1, memory: 128Mi, networks: [lan] } ]
YAML
expect_rc 0 "$SANDBOX" up "$T/bp.yaml" --name $E --no-wait --json
expect_out '"event":"pool.claim".*"node":"vm-0"'
expect_out '"event":"pool.fallback".*"node":"vm-0"'
expect_no_out '"event":"pool.adopt"'
expect_out '"event":"up.done"'
$V dominfo "$M" >/dev/null 2>&1 && fail "the member's domain $M is still defined" || pass
$V vol-list sandbox 2>/dev/null | grep -q "$M" && fail "the member's volumes are left" || pass
[ "$($V domstate sbx-$E.vm-0 2>/dev/null)" = running ] && pass || fail "vm-0 was not created cold"
pool_empty && pass || fail "pool still lists $(members)"
expect_rc 0 "$SANDBOX" status $E
expect_no_out "$M"
expect_no_out '^  alias'
expect_rc 0 "$SANDBOX" up "$T/bp.yaml" --name $E --no-wait --json
expect_out 'plan: 0 to create, 0 to update, 0 to delete'
expect_no_out '"event":"pool.claim"'
expect_rc 0 "$SANDBOX" down $E
expect_out "nothing tagged with $E remains"
[ "$(leftovers $E)" -eq 0 ] && pass || fail "virsh still shows $(leftovers $E) object(s) of $E"
empty_pool
P=${M#sbx-pool.}; P=${P%%.*}
$V net-info "sbx-pool.$P.net" >/dev/null 2>&1 && fail "the pool network sbx-pool.$P.net is left" || pass

# A shape whose members cannot boot (more memory than the host has: QEMU refuses at once) backs
# off: the next member after 5 s, then 10 s, then 20 s (pool.backoff), not one every pass.
daemon_start b --interval 1 --pool "image=$BLANK,cpus=1,memory=4000Gi,count=1" || fail "daemon b not listening"
three_backoffs() { [ "$(grep -c '"event":"pool.backoff"' "$T/db.err" 2>/dev/null)" -ge 3 ]; }
until_true 180 three_backoffs && pass || { fail "3 failed boots not seen within 180 s"; tail -5 "$T/db.err" >&2; }
daemon_stop b || fail "daemon b still running 60 s after SIGTERM"
grep '"event":"pool.broken"' "$T/db.err" | head -1 | grep -q 'cannot boot a member: .*memory' && pass ||
    fail "the failed boot does not say why: $(grep '"event":"pool.broken"' "$T/db.err" | head -1)"
for w in '1 failure in a row: the next member of this shape in 5s' '2 failures in a row: .* in 10s' \
    '3 failures in a row: .* in 20s'; do
    grep '"event":"pool.backoff"' "$T/db.err" | grep -q "$w" && pass || fail "no pool.backoff saying /$w/"
done
# the third boot started at least 10 s after the second failed (the log's times are whole seconds)
secs() { date -d "$(printf '%s' "$1" | grep -o '"ts":"[^"]*"' | cut -d'"' -f4)" +%s; }
t2=$(secs "$(grep '"event":"pool.backoff"' "$T/db.err" | sed -n 2p)")
t3=$(secs "$(grep '"event":"pool.broken"' "$T/db.err" | sed -n 3p)")
[ $((t3 - t2)) -ge 9 ] && pass || fail "the third boot came $((t3 - t2)) s after the second failure, not 10 s"
empty_pool
finish
