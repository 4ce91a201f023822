#!/bin/sh
# The warm pool on real libvirt (qemu:///system, the debian-12 recipe image, TCG) and a private state:
#   - `sandbox daemon --pool recipe=debian-12,...,count=2` boots 2 members that become ready (SSH
#     answered, host key pinned) on the state's pool network; `sandbox pool --json` shows them;
#   - `sandbox gc` sees their domains, volumes and network as the state's (no orphan);
#   - two processes claiming at once get different members (the claim is one statement), and a
#     third finds none; the claimers give the members up (warm_member_destroy); the daemon refills
#     to 2 ready;
#   - the daemon restarted without --pool destroys every member, its volumes and the network, and
#     `gc` then finds nothing of the pool;
#   - a member whose row is gone (a daemon SIGKILLed, the state restored) is an orphan to `gc`, and
#     `gc --delete` removes it.
# Deadlines are generous: a TCG boot takes 40-200 s on a loaded host.
. "$SBX_TOP/tests/lib/harness.sh"
. "$SBX_TOP/tests/lib/daemon.sh"
. "$SBX_TOP/tests/lib/lvobj.sh"
use_real_libvirt
command -v jq >/dev/null || skip "jq is not installed"
HELPER="$SBX_BIN/tests/unit/test_env_warm"
[ -x "$HELPER" ] || { fail "$HELPER is not built (make test-bins)"; finish; }
SPEC=recipe=debian-12,cpus=1,memory=512Mi,count=2
DB=$SANDBOX_STATE
BOOT_S=900

# pool_objects: how many libvirt objects of this state's pool (named PFX*) exist.
pool_objects() { lv_count "$PFX"; }
# the prefix of this state's pool objects, known once the state exists
PFX=none
on_exit '[ "$PFX" = none ] || lv_purge "$PFX"'

# start_daemon [ARGS...]: the daemon with ARGS (tests/lib/daemon.sh); sets DPID.
start_daemon() { daemon_up "" --interval 5 "$@"; }
# log_tail: the daemon's last log lines (after a failure).
log_tail() { grep -v '"event":"http' "$T/d.err" | tail -n 25 | cut -c1-400 >&2; }
# stop_daemon: SIGTERM; it must exit 0 (its member waits give up within seconds).
stop_daemon() { daemon_down ""; [ "$DRC" = 0 ] || log_tail; }
# count STATUS: members with that status.
count() { "$SANDBOX" pool --json 2>/dev/null | jq --arg s "$1" '[.members[] | select(.status == $s)] | length'; }
total() { "$SANDBOX" pool --json 2>/dev/null | jq .total; }
# ready_or_broken N: N members ready, or one broke (then the check after it fails)
ready_or_broken() { [ "$(count ready)" = "$1" ] || [ "$(count broken)" != 0 ]; }
none_left() { [ "$(total)" = 0 ] && [ "$(pool_objects)" = 0 ]; }
running_domains() { $V list --name | grep -c "$PFX"; }
# (until_true runs a command again and again: these read the state anew each time)
has_member() { [ "$(total)" -ge 1 ] 2>/dev/null; }
domains_are() { [ "$(running_domains)" = "$1" ]; }
# gc_pool_items: what `gc --json` lists of this state's pool.
gc_pool_items() { "$SANDBOX" gc --json 2>/dev/null | jq --arg p "$PFX" '[.. | objects | select(has("name")) | select(.name | tostring | contains($p))] | length'; }

# bad specs: exit 2, saying what is expected
expect_rc 2 "$SANDBOX" daemon --pool recipe=debian-12,cpus=0
expect_out 'cpus=0'
expect_out 'expected recipe=NAME or image='
expect_rc 2 "$SANDBOX" daemon --pool cpus=1,count=2
expect_out 'exactly one of recipe= or image='
expect_rc 0 "$SANDBOX" pool
expect_out 'no warm pool members'

# fill: 2 ready
start_daemon --pool "$SPEC"
until_true 60 has_member && pass || fail "no member recorded"
PFX=$("$SANDBOX" pool --json | jq -r '.members[0].name' | cut -d. -f1-2).
case "$PFX" in sbx-pool.????????.) pass ;; *) fail "member name prefix: $PFX" ;; esac
until_true $BOOT_S ready_or_broken 2
[ "$(count ready)" = 2 ] && pass || { fail "2 members not ready after $BOOT_S s"; "$SANDBOX" pool >&2; log_tail; }
expect_rc 0 "$SANDBOX" pool
expect_out 'ready +[0-9smh ]+ +10\.[0-9.]+ +- +recipe=debian-12,cpus=1,memory=536870912'
OUT=$("$SANDBOX" pool --json)
expect_out '"image_hash": "[0-9a-f]{64}"'
grep -q '"event":"pool.ready"' "$T/d.err" && pass || fail "no pool.ready event"
grep -q '"event":"pool.fill"' "$T/d.err" && pass || fail "no pool.fill event"
[ "$(running_domains)" = 2 ] && pass || fail "2 running domains expected"
$V net-list --name | grep -q "${PFX}net" && pass || fail "no pool network ${PFX}net"
[ "$(gc_pool_items)" = 0 ] && pass || fail "gc lists recorded pool objects as orphans"

# claims racing from two processes: different members; a third finds none
"$HELPER" claim "$DB" "$SPEC" envA web-0 >"$T/c1" 2>&1 &
c1=$!
"$HELPER" claim "$DB" "$SPEC" envB web-0 >"$T/c2" 2>&1 &
c2=$!
wait $c1; r1=$?
wait $c2; r2=$?
[ "$r1" = 0 ] && [ "$r2" = 0 ] && pass || fail "claims exited $r1 $r2: $(cat "$T/c1" "$T/c2")"
M1=$(awk '/^claimed/ {print $2}' "$T/c1") M2=$(awk '/^claimed/ {print $2}' "$T/c2")
[ -n "$M1" ] && [ -n "$M2" ] && [ "$M1" != "$M2" ] && pass || fail "claimed '$M1' and '$M2'"
OUT=$("$HELPER" claim "$DB" "$SPEC" envC web-0 2>&1); rc=$?
# the daemon may have refilled one already: then the third gets a fresh member, never M1 or M2
if [ "$rc" = 1 ]; then expect_out '^none$'; else
    M3=$(printf '%s\n' "$OUT" | awk '/^claimed/ {print $2}')
    [ -n "$M3" ] && [ "$M3" != "$M1" ] && [ "$M3" != "$M2" ] && pass || fail "third claim: $OUT"
fi
expect_rc 0 "$SANDBOX" pool --json
OUT=$(printf '%s\n' "$OUT" | jq -r --arg m "$M1" '.members[] | select(.name == $m) | "\(.status) \(.claimed_env) \(.claimed_node)"')
expect_out '^claimed envA web-0$'
# the claimers give their members up
for m in $M1 $M2 ${M3:-}; do expect_rc 0 "$HELPER" destroy "$DB" "$m"; done
$V list --all --name | grep -q "$M1" && fail "$M1 still defined" || pass
# refill
until_true $BOOT_S ready_or_broken 2
[ "$(count ready)" = 2 ] && pass || { fail "not refilled to 2 ready after $BOOT_S s"; "$SANDBOX" pool >&2; log_tail; }
grep -q '"event":"pool.broken"' "$T/d.err" && fail "a member broke: $(grep '"event":"pool.broken"' "$T/d.err" | tail -1)" || pass
[ "$(count claimed)" = 0 ] && pass || fail "claimed members left"
stop_daemon

# without --pool: everything goes, gc finds nothing of the pool
start_daemon
until_true 300 none_left && pass || { fail "pool not emptied"; "$SANDBOX" pool >&2; pool_objects >&2; log_tail; }
grep -q '"event":"pool.destroy"' "$T/d.err" && pass || fail "no pool.destroy event"
[ "$(gc_pool_items)" = 0 ] && pass || fail "gc lists pool objects after the pool was emptied"
stop_daemon

# a member the state no longer records is an orphan: gc lists it, gc --delete removes it
start_daemon --pool recipe=debian-12,cpus=1,memory=512Mi,count=1
until_true 120 domains_are 1 && pass || { fail "no domain: $(running_domains)"; "$SANDBOX" pool >&2; log_tail; }
daemon_kill ""
expect_rc 0 sqlite3 "$DB" "DELETE FROM warm"
[ "$(gc_pool_items)" -ge 3 ] && pass || fail "gc does not list the unrecorded member's objects: $(gc_pool_items)"
"$SANDBOX" gc --delete --json >"$T/gc.json" 2>&1 # other states' objects are kept: exit 3
jq -e --arg p "$PFX" '[.. | objects | select(has("name")) | select(.name | tostring | contains($p)) | select(.deleted != true)] | length == 0' "$T/gc.json" >/dev/null \
    && pass || fail "gc --delete did not delete every pool object: $(grep "$PFX" "$T/gc.json" | head -3)"
[ "$(pool_objects)" = 0 ] && pass || fail "gc --delete left $(pool_objects) pool objects"
finish
