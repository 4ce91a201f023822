#!/bin/sh
# Admission against real libvirtd (qemu:///system, blank-disk VMs, --no-wait): an environment that
# does not fit its host is refused with exit 3 before anything exists (no libvirt object, no state
# row); plan shows the fit; a converging up counts only its growth; caps on live environments
# refuse the N+1th; two concurrent ups race for the last slot (and for the last IPAM block) and
# exactly one wins; --queue waits until another environment is downed, then proceeds; a queue's
# timeout and Ctrl-C leave nothing.
# Refusals come from blueprints asking for far more than any host has (or a reserve as large), so
# the test does not depend on this machine's size.
. "$SBX_TOP/tests/lib/harness.sh"
use_real_libvirt
E=ad$$
on_exit "for e in ${E}a ${E}b ${E}c ${E}d ${E}e ${E}big; do $SANDBOX down \$e; done"

bp() { # bp FILE MEMORY CPUS [COUNT]
    cat > "$1" <<YAML
apiVersion: sandbox/v1
name: admit
lifetime: { ttl: 1h }
site: { uri: "$URI", image: { path: "$BLANK" } }
networks: [ { name: front } ]
nodes:
  - { name: web, count: ${4:-1}, memory: $2, cpus: $3, networks: [front] }
YAML
}
bp "$T/small.yaml" 64Mi 1
bp "$T/big.yaml" 4096Gi 1
bp "$T/cpus.yaml" 64Mi 128 100

# nothing of ENV in libvirt and no state row
absent() {
    [ "$(leftovers "$1")" -eq 0 ] && pass || fail "$1: libvirt objects left: $(leftovers "$1")"
    if "$SANDBOX" status "$1" >/dev/null 2>&1; then fail "$1: the state has a row"; else pass; fi
}

# plan shows the fit; up refuses what does not fit, creating nothing
expect_rc 0 "$SANDBOX" plan "$T/big.yaml" --name ${E}big
expect_out "^Capacity: does not fit on qemu:///system: memory 4096\\.0 of [0-9.]+ GiB"
expect_rc 0 "$SANDBOX" plan "$T/small.yaml" --name ${E}a --json
expect_out '"capacity": "Capacity: fits on qemu:///system'
expect_rc 3 "$SANDBOX" up "$T/big.yaml" --no-wait --name ${E}big
expect_out "needs 4096\\.0 GiB memory on qemu:///system, [0-9.]+ GiB free"
expect_out "hint: nothing was created"
absent ${E}big
expect_rc 3 "$SANDBOX" up "$T/cpus.yaml" --no-wait --name ${E}big
expect_out "needs 12800 CPUs on qemu:///system, [0-9]+ free"
absent ${E}big
# IP blocks: two networks from a pool of one /24
sed 's/^networks: .*/networks: [ { name: front }, { name: back } ]/' "$T/small.yaml" > "$T/nets.yaml"
POOL1="${SANDBOX_IPAM_POOL%.0.0/16}.255.0/24"
expect_rc 3 env SANDBOX_IPAM_POOL="$POOL1" "$SANDBOX" up "$T/nets.yaml" --no-wait --name ${E}big
expect_out "needs 2 /24 network blocks of the IPAM pool $POOL1, [01] free"
absent ${E}big
expect_rc 0 env SANDBOX_IPAM_POOL="$POOL1" "$SANDBOX" plan "$T/nets.yaml" --name ${E}big
expect_out "^Capacity: does not fit on .*, network blocks 2 of [01]\\.$"
# a block this machine already routes (another state file's network or VIP route: a bridge's
# route here) is not this state's to take: the one-block pool is full, and nothing is created
POOL3="${SANDBOX_IPAM_POOL%.0.0/16}.253.0/24"
BR=sbxd$$
on_exit "ip link del $BR"
if ip link add $BR type bridge && ip link set $BR up && ip route add "$POOL3" dev $BR; then
    pass
    expect_rc 3 env SANDBOX_IPAM_POOL="$POOL3" "$SANDBOX" up "$T/small.yaml" --no-wait --name ${E}big
    expect_out "network blocks? of the IPAM pool $POOL3, 0 free"
    absent ${E}big
    ip link del $BR && pass || fail "cannot delete the bridge $BR"
    expect_rc 0 env SANDBOX_IPAM_POOL="$POOL3" "$SANDBOX" plan "$T/small.yaml" --name ${E}big
    expect_out "^Capacity: fits on .*, network blocks 1 of 1\\.$"
else
    fail "cannot make the bridge $BR with a route to $POOL3"
fi
expect_rc 2 env SANDBOX_CPU_OVERCOMMIT=lots "$SANDBOX" up "$T/small.yaml" --no-wait --name ${E}big
expect_out "SANDBOX_CPU_OVERCOMMIT=lots: expected a number"

# a small one fits; its re-run counts only its growth (none), even with no memory left to give
expect_rc 0 "$SANDBOX" up "$T/small.yaml" --no-wait --name ${E}a
[ "$(leftovers ${E}a)" -eq 4 ] && pass || fail "expected 4 libvirt objects of ${E}a, found $(leftovers ${E}a)"
expect_rc 3 env SANDBOX_MEMORY_RESERVE=100000Gi "$SANDBOX" up "$T/small.yaml" --no-wait --name ${E}b
expect_out "needs 0\\.1 GiB memory on qemu:///system, 0\\.0 GiB free \\(1 other environment holds 0\\.1 GiB\\)"
absent ${E}b
expect_rc 0 env SANDBOX_MEMORY_RESERVE=100000Gi "$SANDBOX" up "$T/small.yaml" --no-wait --name ${E}a
expect_out "plan: 0 to create, 0 to update, 0 to delete, 4 unchanged"

# caps: per owner, then in total
expect_rc 0 "$SANDBOX" caps
expect_out "^per-owner cap: none \\(.* has 1 live\\)"
expect_rc 0 "$SANDBOX" caps set --per-owner 1
expect_rc 3 "$SANDBOX" up "$T/small.yaml" --no-wait --name ${E}b
expect_out "cap reached: .* has 1 live environment, the per-owner cap is 1"
absent ${E}b
expect_rc 0 "$SANDBOX" up "$T/small.yaml" --no-wait --name ${E}a # a re-run is no new environment
expect_rc 2 "$SANDBOX" caps set --total many
expect_rc 0 "$SANDBOX" caps set --per-owner none --total 2 --json
expect_out '"total": 2'
expect_out '"per_owner": null'

# race PATTERN A B [VAR=VALUE...]: two concurrent ups of small.yaml named A and B (with the
# variables); exactly one wins, the loser exits 3 naming PATTERN and leaves nothing; the winner is
# downed.
race() {
    _pat=$1 _a=$2 _b=$3; shift 3
    env "$@" "$SANDBOX" up "$T/small.yaml" --no-wait --name "$_a" >"$T/$_a.out" 2>&1 & _pa=$!
    env "$@" "$SANDBOX" up "$T/small.yaml" --no-wait --name "$_b" >"$T/$_b.out" 2>&1 & _pb=$!
    wait $_pa; _ra=$?
    wait $_pb; _rb=$?
    case "$_ra:$_rb" in
    0:3) _win=$_a _lose=$_b ;;
    3:0) _win=$_b _lose=$_a ;;
    *) fail "race of $_a and $_b: exits $_ra and $_rb (want one 0, one 3)"; cat "$T/$_a.out" "$T/$_b.out" >&2; return ;;
    esac
    pass
    grep -Eq "$_pat" "$T/$_lose.out" && pass || { fail "the loser $_lose does not say: $_pat"; cat "$T/$_lose.out" >&2; }
    absent "$_lose"
    [ "$(leftovers "$_win")" -eq 4 ] && pass || fail "the winner $_win has $(leftovers "$_win") objects"
    expect_rc 0 "$SANDBOX" down "$_win"
}

# two concurrent ups race for the last slot
race "the total cap is 2" ${E}b ${E}c

# two concurrent ups race for the last IPAM block (a pool of one /24): the block is reserved by the
# admission itself, so the loser is refused there and leaves nothing
expect_rc 0 "$SANDBOX" caps set --total none
POOL2="${SANDBOX_IPAM_POOL%.0.0/16}.254.0/24"
race "network blocks? of the IPAM pool $POOL2, 0 free|IPAM pool $POOL2 is exhausted" ${E}d ${E}e \
    SANDBOX_IPAM_POOL="$POOL2"

# --queue: waits while the cap is reached (nothing created meanwhile), proceeds once a is downed
expect_rc 0 "$SANDBOX" caps set --total 1
"$SANDBOX" up "$T/small.yaml" --no-wait --name ${E}b --queue --queue-timeout 10m --json >"$T/q.out" 2>&1 & pq=$!
until_true 60 grep -q '"event":"queue.wait"' "$T/q.out" && pass || fail "up --queue printed no queue.wait"
grep -q 'queued: cap reached: the state has 1 live environment, the total cap is 1' "$T/q.out" && pass ||
    fail "queue.wait does not say what is missing"
absent ${E}b
expect_rc 0 "$SANDBOX" down ${E}a
wait $pq && pass || { fail "up --queue failed after the slot was freed"; cat "$T/q.out" >&2; }
grep -q '"event":"queue.admit"' "$T/q.out" && pass || fail "no queue.admit event"
grep -q '"event":"up.done"' "$T/q.out" && pass || fail "no up.done after the queue"
[ "$(grep -c '"event":"queue.wait"' "$T/q.out")" -eq 1 ] && pass || fail "queue.wait repeated without a change"
[ "$(leftovers ${E}b)" -eq 4 ] && pass || fail "queued ${E}b has $(leftovers ${E}b) objects"

# the queue's deadline: exit 3, nothing left
expect_rc 3 "$SANDBOX" up "$T/small.yaml" --no-wait --name ${E}c --queue --queue-timeout 2s
expect_out "--queue-timeout 2s passed while queued"
expect_out "cap reached"
absent ${E}c

# Ctrl-C while queued: nothing left
"$SANDBOX" up "$T/small.yaml" --no-wait --name ${E}c --queue >"$T/i.out" 2>&1 & pi=$!
until_true 60 grep -q 'queued: ' "$T/i.out" && pass || fail "up --queue printed no queued line"
kill -INT $pi
wait $pi; ri=$?
[ "$ri" -eq 1 ] && pass || fail "an interrupted queued up exited $ri, not 1"
grep -q "interrupted while queued (waiting for: cap reached: .*); nothing was created" "$T/i.out" && pass || { fail "no interrupt message"; cat "$T/i.out" >&2; }
absent ${E}c

expect_rc 0 "$SANDBOX" down ${E}b
absent ${E}b
finish
