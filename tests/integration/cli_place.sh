#!/bin/sh
# An environment spread over site.hosts (qemu:///system and qemu:///session, defined-only domains:
# SANDBOX_TEST_NO_START=1): two groups of nodes on two networks go to two hosts. The hosts' capacities
# differ by what the state promised: a filler environment on qemu:///system leaves it about half the
# memory qemu:///session has, so the big group fits only on qemu:///session and the small one then
# keeps more on qemu:///system. plan shows the placement; up places and records it; a second up is
# 0/0/0; a host dropped from site.hosts: plan and up refuse (exit 3) while the blueprint keeps nodes
# placed there, changing nothing (status, gc still use it), and up deletes them there once the
# blueprint drops them too; a group that fits nowhere is refused (exit 3) leaving nothing; three
# concurrent ups racing for the pool's last blocks: one wins, the losers are refused at admission
# (exit 3) leaving no row; down leaves nothing; an environment recorded before placement existed
# stays on its one host. (As root,
# qemu:///session may be served by the same daemon as qemu:///system: the objects are then visible
# at both URIs, and the placement is checked through what sandbox reports and records.)
. "$SBX_TOP/tests/lib/harness.sh"
use_real_libvirt
timeout 30 virsh -c qemu:///session version >/dev/null 2>&1 || skip "qemu:///session does not answer"
export SANDBOX_TEST_NO_START=1 SANDBOX_MEMORY_RESERVE=512Mi
E=pl$$
on_exit "for e in ${E} ${E}huge ${E}r1 ${E}r2 ${E}r3; do $SANDBOX down \$e; done"
VS="virsh -c qemu:///session"

# the memory admission gives an environment on a host (MiB): "memory X of Y GiB" of plan
avail() { # avail BLUEPRINT URI
    "$SANDBOX" plan "$1" --name ${E}probe 2>/dev/null | sed -n "s|^Capacity: [a-z ]* on $2: memory [0-9.]* of \\([0-9.]*\\) GiB.*|\\1|p" |
        awk '{ printf "%d", $1 * 1024 }'
}
one() { # one FILE URI MEMORY
    cat > "$1" <<YAML
apiVersion: sandbox/v1
name: one
lifetime: { ttl: 1h }
site: { uri: "$2", image: { path: "$BLANK" } }
networks: [ { name: lan } ]
nodes:
  - { name: f, count: 1, cpus: 1, memory: $3, networks: [lan] }
YAML
}
two() { # two FILE BIGMEMORY
    cat > "$1" <<YAML
apiVersion: sandbox/v1
name: two
lifetime: { ttl: 1h }
site: { hosts: [ "qemu:///system", "qemu:///session" ], image: { path: "$BLANK" } }
networks: [ { name: front }, { name: back } ]
nodes:
  - { name: big, count: 1, cpus: 1, memory: $2, networks: [back] }
  - { name: small, count: 2, cpus: 1, memory: 64Mi, networks: [front] }
YAML
}
one "$T/ps.yaml" qemu:///session 64Mi
one "$T/py.yaml" qemu:///system 64Mi
A=$(avail "$T/ps.yaml" qemu:///session)
[ "${A:-0}" -gt 4096 ] || skip "qemu:///session reports ${A:-no} MiB for environments (4 GiB needed)"
# fill qemu:///system with promises (defined-only) until it gives about half of A
i=0
while S=$(avail "$T/py.yaml" qemu:///system) && [ "$S" -gt $((A * 11 / 20)) ] && [ $i -lt 4 ]; do
    M=$((S - A / 2)); [ $M -gt $((S - 256)) ] && M=$((S - 256))
    one "$T/fill$i.yaml" qemu:///system ${M}Mi
    expect_rc 0 "$SANDBOX" up "$T/fill$i.yaml" --no-wait --name ${E}fill$i
    on_exit "$SANDBOX down ${E}fill$i"
    i=$((i + 1))
done
S=$(avail "$T/py.yaml" qemu:///system)
[ "$S" -le $((A * 11 / 20)) ] && pass || fail "qemu:///system still gives $S MiB (qemu:///session $A)"
BIG=$((A * 3 / 4))
two "$T/two.yaml" ${BIG}Mi
two "$T/huge.yaml" $((A * 2))Mi

# plan shows where each group goes
expect_rc 0 "$SANDBOX" plan "$T/two.yaml" --name ${E}
expect_out "^Placement: qemu:///system: nodes small; networks front "
expect_out "^Placement: qemu:///session: nodes big; networks back "

# up places them there and records it
expect_rc 0 "$SANDBOX" up "$T/two.yaml" --no-wait --name ${E} --json
expect_out '"event":"place","message":"place: qemu:///session: nodes big; networks back '
expect_out '"event":"place","message":"place: qemu:///system: nodes small; networks front '
expect_out '"message":"plan: 11 to create, 0 to update, 0 to delete, 0 unchanged"'
$VS dominfo sbx-${E}.big-0 >/dev/null 2>&1 && pass || fail "no domain big-0 on qemu:///session"
$VS net-info sbx-${E}.back >/dev/null 2>&1 && pass || fail "no network back on qemu:///session"
$V dominfo sbx-${E}.small-1 >/dev/null 2>&1 && pass || fail "no domain small-1 on qemu:///system"
$V net-info sbx-${E}.front >/dev/null 2>&1 && pass || fail "no network front on qemu:///system"
# status names each node's host; gc finds no orphan on either host; outputs read
expect_rc 0 "$SANDBOX" status ${E}
expect_out "^  big-0 .* on qemu:///session$"
expect_out "^  small-1 .* on qemu:///system$"
expect_rc 0 "$SANDBOX" status ${E} --json
expect_out '"instance": "big-0"'
expect_out '"host": "qemu:///session"'
expect_rc 0 "$SANDBOX" gc --json
expect_no_out "sbx-${E}\\."
expect_rc 0 "$SANDBOX" outputs ${E}
# a second up changes nothing, and plan agrees
expect_rc 0 "$SANDBOX" up "$T/two.yaml" --no-wait --name ${E}
expect_out "plan: 0 to create, 0 to update, 0 to delete, 11 unchanged"
expect_out "place: qemu:///session: nodes big"
expect_rc 0 "$SANDBOX" plan "$T/two.yaml" --name ${E}
expect_out "^Plan: 0 to create, 0 to update, 0 to delete, 11 unchanged"
expect_out "^Placement: qemu:///session: nodes big; networks back "

# qemu:///session dropped from site.hosts while big and back are there: plan and up refuse, naming
# them, changing nothing (never created again on qemu:///system); status and gc still use the host
sed 's|hosts: \[ "qemu:///system", "qemu:///session" \]|hosts: [ "qemu:///system" ]|' "$T/two.yaml" > "$T/gone.yaml"
GONE="nodes big and networks back are placed on qemu:///session, which is no longer in site.hosts"
expect_rc 3 "$SANDBOX" plan "$T/gone.yaml" --name ${E}
expect_out "$GONE"
expect_out "hint: nothing was changed; add qemu:///session back to site.hosts, or remove those nodes"
expect_rc 3 "$SANDBOX" up "$T/gone.yaml" --no-wait --name ${E} --json
expect_out "$GONE"
expect_no_out '"event":"(plan|place|step\.start)"'
expect_rc 0 "$SANDBOX" status ${E}
expect_out "^  big-0 .* on qemu:///session$"
expect_out "^  small-0 .* on qemu:///system$"
expect_rc 0 "$SANDBOX" gc --json
expect_no_out "sbx-${E}\\."
expect_rc 0 "$SANDBOX" plan "$T/two.yaml" --name ${E}
expect_out "^Plan: 0 to create, 0 to update, 0 to delete, 11 unchanged"
# ... and dropped from the blueprint too: up deletes them on qemu:///session, their rows go
sed '/name: big/d; s/networks: \[ { name: front }, { name: back } \]/networks: [ { name: front } ]/' "$T/gone.yaml" > "$T/gone1.yaml"
expect_rc 0 "$SANDBOX" plan "$T/gone1.yaml" --name ${E}
expect_out "^Plan: 0 to create, 0 to update, 4 to delete, 7 unchanged"
expect_rc 0 "$SANDBOX" up "$T/gone1.yaml" --no-wait --name ${E}
expect_out "host: qemu:///system \\(of site.hosts\\)"
expect_out "plan: 0 to create, 0 to update, 4 to delete, 7 unchanged"
if $VS dominfo sbx-${E}.big-0 >/dev/null 2>&1; then fail "big-0 is still on qemu:///session"; else pass; fi
if $VS net-info sbx-${E}.back >/dev/null 2>&1; then fail "back is still on qemu:///session"; else pass; fi
$V dominfo sbx-${E}.small-1 >/dev/null 2>&1 && pass || fail "no domain small-1 on qemu:///system"
ROWS=$(sqlite3 "$SANDBOX_STATE" "SELECT kind || ' ' || name || ' ' || uri FROM env_place WHERE env = '${E}' ORDER BY 1" | tr '\n' ,)
[ "$ROWS" = "network front qemu:///system,node small qemu:///system," ] && pass || fail "placement rows: $ROWS"
expect_rc 0 "$SANDBOX" status ${E}
expect_no_out "big-0"
expect_rc 0 "$SANDBOX" up "$T/gone1.yaml" --no-wait --name ${E}
expect_out "plan: 0 to create, 0 to update, 0 to delete, 7 unchanged"

# a group that fits on no host: refused before anything is created
expect_rc 3 "$SANDBOX" up "$T/huge.yaml" --no-wait --name ${E}huge
expect_out "nodes big \\(one host: they share networks\\) fit on no host of site.hosts"
expect_out "needs [0-9.]+ GiB memory on qemu:///system"
expect_out "needs [0-9.]+ GiB memory on qemu:///session"
[ "$(leftovers ${E}huge)" -eq 0 ] && pass || fail "${E}huge left objects"
if "$SANDBOX" status ${E}huge >/dev/null 2>&1; then fail "${E}huge has a state row"; else pass; fi

# the IPAM blocks are counted at the primary host: two networks do not fit a one-block pool (small
# nodes: memory fits whatever else the machine is running meanwhile)
ONE=$(printf '%s' "$SANDBOX_IPAM_POOL" | sed 's|\.0\.0/16$|.255.0/24|')
two "$T/two-small.yaml" 64Mi
expect_rc 3 env SANDBOX_IPAM_POOL="$ONE" "$SANDBOX" up "$T/two-small.yaml" --no-wait --name ${E}huge
expect_out "needs 2 /24 network blocks of the IPAM pool $ONE, 1 free"
[ "$(leftovers ${E}huge)" -eq 0 ] && pass || fail "${E}huge left objects (blocks)"
# three concurrent ups race for the pool's last two blocks: the admission reserves a spread
# environment's blocks too, so exactly one wins and the others are refused there, leaving no row
# (CPUs overcommitted enough that only the blocks are short on this machine)
TWO=$(printf '%s' "$SANDBOX_IPAM_POOL" | sed 's|\.0\.0/16$|.252.0/23|')
for r in r1 r2 r3; do
    SANDBOX_IPAM_POOL=$TWO SANDBOX_CPU_OVERCOMMIT=64 "$SANDBOX" up "$T/two-small.yaml" --no-wait --name ${E}$r >"$T/$r.out" 2>&1 &
    echo $! > "$T/$r.pid"
done
win="" nwin=0
for r in r1 r2 r3; do
    wait "$(cat "$T/$r.pid")"; rc=$?
    if [ $rc -eq 0 ]; then
        win=${E}$r nwin=$((nwin + 1))
    elif [ $rc -eq 3 ]; then
        grep -Eq "network blocks of the IPAM pool $TWO, [01] free|IPAM pool $TWO is exhausted" "$T/$r.out" && pass ||
            { fail "the loser ${E}$r does not name the IPAM pool"; cat "$T/$r.out" >&2; }
        [ "$(leftovers ${E}$r)" -eq 0 ] && pass || fail "the loser ${E}$r left objects"
        if "$SANDBOX" status ${E}$r >/dev/null 2>&1; then fail "the loser ${E}$r has a state row"; else pass; fi
    else
        fail "${E}$r exited $rc (want 0 or 3)"; cat "$T/$r.out" >&2
    fi
done
[ $nwin -eq 1 ] && pass || fail "$nwin of three ups racing for the last blocks won (want 1)"
if [ -n "$win" ]; then
    [ "$(leftovers $win)" -eq 11 ] && pass || fail "the winner $win has $(leftovers $win) objects"
    expect_rc 0 "$SANDBOX" down $win
    [ "$(leftovers $win)" -eq 0 ] && pass || fail "$win left objects"
fi

# down removes everything on both hosts
expect_rc 0 "$SANDBOX" down ${E}
[ "$(leftovers ${E})" -eq 0 ] && pass || fail "${E} left objects on qemu:///system"
[ "$( { $VS list --all --name; $VS net-list --all --name; } | grep -c "sbx-${E}\\.")" -eq 0 ] && pass ||
    fail "${E} left objects on qemu:///session"
# an environment recorded before placement existed (no placement rows: made so by hand) stays on its
# host whole: a second group added to its blueprint goes there too, unspread
two "$T/old.yaml" 64Mi
sed '/name: small/d; s/networks: \[ { name: front }, { name: back } \]/networks: [ { name: back } ]/' "$T/old.yaml" > "$T/old1.yaml"
expect_rc 0 "$SANDBOX" up "$T/old1.yaml" --no-wait --name ${E}old
on_exit "$SANDBOX down ${E}old"
HOST=$(printf '%s\n' "$OUT" | sed -n 's|.*host: \(qemu[^ ]*\) (of site.hosts).*|\1|p')
sqlite3 "$SANDBOX_STATE" "DELETE FROM env_place WHERE env = '${E}old'" && pass || fail "cannot drop the placement rows"
expect_rc 0 "$SANDBOX" up "$T/old.yaml" --no-wait --name ${E}old
expect_out "host: $HOST \\(of site.hosts\\)"
expect_no_out "place: "
expect_out "plan: 7 to create, 0 to update, 0 to delete, 4 unchanged"
expect_rc 0 "$SANDBOX" status ${E}old
expect_no_out " on qemu:"
expect_rc 0 "$SANDBOX" down ${E}old
[ "$(leftovers ${E}old)" -eq 0 ] && pass || fail "${E}old left objects"
j=0
while [ $j -lt $i ]; do
    expect_rc 0 "$SANDBOX" down ${E}fill$j
    [ "$(leftovers ${E}fill$j)" -eq 0 ] && pass || fail "${E}fill$j left objects"
    j=$((j + 1))
done
finish
