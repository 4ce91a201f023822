#!/bin/sh
# Ownership between environments and state files on real libvirt (blank-disk VMs, up --no-wait):
#   - names cannot collide (env X + node b-web vs env X-b + node web);
#   - a second state refuses a name the first owns (exit 3, nothing touched), plans it as a
#     conflict, and allocates its networks around the first state's;
#   - gc from the second state never deletes the first state's (protected) objects;
#   - an orphan of this state is collected only under its environment's lock;
#   - extend waits for no one (a held lock refuses it) and refuses an environment a reaper claimed;
#   - down deletes what is recorded or tagged with its environment, not an untagged look-alike.
. "$SBX_TOP/tests/lib/harness.sh"
use_real_libvirt
X=own$$
SA="$T/a/state.db" SB="$T/b/state.db"
A() { SANDBOX_STATE=$SA "$SANDBOX" "$@"; }
B() { SANDBOX_STATE=$SB "$SANDBOX" "$@"; }
on_exit "SANDBOX_STATE=$SA $SANDBOX down $X --confirm $X; SANDBOX_STATE=$SA $SANDBOX down $X-b; SANDBOX_STATE=$SB $SANDBOX down ${X}o; SANDBOX_STATE=$SB $SANDBOX down $X"

# bp FILE NODE LIFETIME: a one-node blueprint.
bp() {
    cat > "$T/$1" <<YAML
apiVersion: sandbox/v1
name: x
lifetime: $3
site: { uri: "$URI", image: { path: "$BLANK" } }
networks: [ { name: net } ]
nodes: [ { name: $2, memory: 64Mi, networks: [net] } ]
YAML
}
bp prot.yaml b-web "{ permanent: true, protect: true }"
bp web.yaml web "{ ttl: 1h }"

# 1. no collision: X with node b-web and X-b with node web are two domains, each its own
expect_rc 0 A up "$T/prot.yaml" --no-wait --name $X
expect_rc 0 A up "$T/web.yaml" --no-wait --name $X-b
$V dumpxml sbx-$X.b-web-0 2>/dev/null | grep -q "name=\"$X\"" && pass || fail "sbx-$X.b-web-0 is not $X's"
$V dumpxml sbx-$X-b.web-0 2>/dev/null | grep -q "name=\"$X-b\"" && pass || fail "sbx-$X-b.web-0 is not $X-b's"
$V dumpxml sbx-$X.b-web-0 2>/dev/null | grep -q "protect=\"1\"" && pass || fail "the protected domain is not tagged protected"
[ "$(leftovers $X)" -eq 4 ] && pass || fail "expected 4 objects of $X, found $(leftovers $X)"
MEM=$($V dominfo sbx-$X.b-web-0 | sed -n 's/^Max memory: *//p')
# the disk and the seed are 0600 and tagged with their owner; the pool's directory is 0711
VOL=$($V vol-path --pool sandbox sbx-$X.b-web-0.qcow2 2>/dev/null)
SEED=$($V vol-path --pool sandbox sbx-$X.b-web-0-seed.iso 2>/dev/null)
[ -n "$VOL" ] && [ "$(stat -c %a "$VOL")" = 600 ] && pass || fail "volume $VOL is not 0600"
[ -n "$SEED" ] && [ "$(stat -c %a "$SEED")" = 600 ] && pass || fail "seed $SEED is not 0600"
[ "$(stat -c %a "$(dirname "$VOL")")" = 711 ] && pass || fail "pool directory $(dirname "$VOL") is not 0711"
python3 -c 'import os, sys; print(os.getxattr(sys.argv[1], "user.sbx.owner").decode())' "$VOL" 2>/dev/null |
    grep -q "^state=[0-9a-f-]*;env_id=[^;]*;env=$X;protect=1$" && pass || fail "volume $VOL has no owner xattr for $X (protected)"

# 2. a second state: the same environment name is refused, nothing is touched
expect_rc 0 B plan "$T/prot.yaml" --name $X
expect_out "^! domain +sbx-$X\\.b-web-0 +exists in libvirt but belongs to environment $X"
expect_out "name\\(s\\) taken by objects this environment does not own"
sed 's/memory: 64Mi/memory: 96Mi/' "$T/prot.yaml" > "$T/prot96.yaml"
expect_rc 3 B up "$T/prot96.yaml" --no-wait --name $X
expect_out "belongs to environment $X"
expect_out "nothing was changed"
[ "$($V dominfo sbx-$X.b-web-0 | sed -n 's/^Max memory: *//p')" = "$MEM" ] && pass || fail "the other state's up changed $X's domain"
$V dumpxml sbx-$X.b-web-0 | grep -q "state=\"$(sqlite3 "$SA" "SELECT value FROM meta")\"" && pass || fail "owner changed"

# 3. the second state's networks avoid the first state's blocks (same IPAM pool, empty state)
expect_rc 0 B up "$T/web.yaml" --no-wait --name ${X}o
NA=$($V net-dumpxml sbx-$X.net | sed -n "s/.*<ip address='\\([0-9.]*\\)'.*/\\1/p")
NB=$($V net-dumpxml sbx-${X}o.net | sed -n "s/.*<ip address='\\([0-9.]*\\)'.*/\\1/p")
[ -n "$NA" ] && [ -n "$NB" ] && [ "$NA" != "$NB" ] && pass || fail "both states got the block of $NA"

# 4. gc from the second state lists the first state's objects as foreign and keeps them
expect_rc 3 B gc --uri $URI --env $X --delete --json
expect_out '"class": "foreign"'
expect_no_out '"deleted": true'
$V dominfo sbx-$X.b-web-0 >/dev/null 2>&1 && pass || fail "gc from another state deleted a protected domain"

# 5. an orphan of this state (its row lost) is collected, but not while its environment is locked
sqlite3 "$SA" "DELETE FROM res WHERE name = 'sbx-$X-b.web-0'" && pass || fail "cannot edit state A"
SID=$(sqlite3 "$SA" "SELECT value FROM meta WHERE key = 'state_id'")
LOCK="$T/a/$SID/locks/$X-b.lock"
( flock -x 9; sleep 3 ) 9>"$LOCK" &
LPID=$!
i=0; while flock -n "$LOCK" true 2>/dev/null && [ $i -lt 100 ]; do i=$((i+1)); sleep 0.05; done
expect_rc 3 A gc --uri $URI --env $X-b --delete
expect_out "sbx-$X-b\\.web-0 +orphan +kept: environment $X-b is busy"
wait $LPID
expect_rc 0 A gc --uri $URI --env $X-b --delete
expect_out "sbx-$X-b\\.web-0 +orphan +deleted"
$V dominfo sbx-$X-b.web-0 >/dev/null 2>&1 && fail "the orphan is still there" || pass

# 5b. extend takes the environment's lock (refused while another command holds it) and refuses an
#     environment that a reaper has claimed
( flock -x 9; sleep 3 ) 9>"$LOCK" &
LPID=$!
i=0; while flock -n "$LOCK" true 2>/dev/null && [ $i -lt 100 ]; do i=$((i+1)); sleep 0.05; done
expect_rc 3 A extend $X-b --ttl 2h
expect_out "environment $X-b is locked"
wait $LPID
sqlite3 "$SA" "UPDATE env SET status = 'reaping', claimed_by = 'reaper@elsewhere:42', claimed_at = strftime('%s', 'now') WHERE name = '$X-b'" &&
    pass || fail "cannot edit state A"
expect_rc 3 A extend $X-b --ttl 2h
expect_out "environment $X-b is reaping \\(claimed by a reaper\\)"
sqlite3 "$SA" "UPDATE env SET status = 'ready', claimed_by = NULL, claimed_at = 0 WHERE name = '$X-b'"
expect_rc 0 A extend $X-b --ttl 2h

# 6. down of everything leaves nothing of theirs; an object named like X-b's that carries no owner
#    (defined by hand here) is not down's to delete
STRAY=sbx-$X-b.stray
on_exit "$V net-undefine $STRAY"
printf '<network><name>%s</name><bridge name="sbxs%s"/></network>\n' "$STRAY" "$$" > "$T/stray.xml"
$V net-define "$T/stray.xml" >/dev/null 2>&1 && pass || fail "cannot define $STRAY"
expect_rc 0 A down $X --confirm $X
expect_rc 0 A down $X-b
expect_no_out "$STRAY"
$V net-info $STRAY >/dev/null 2>&1 && pass || fail "down deleted $STRAY, which carries no owner"
$V net-undefine $STRAY >/dev/null 2>&1
expect_rc 0 B down ${X}o
[ "$(leftovers $X)" -eq 0 ] && [ "$(leftovers $X-b)" -eq 0 ] && [ "$(leftovers ${X}o)" -eq 0 ] && pass ||
    fail "objects left: $(leftovers $X) $(leftovers $X-b) $(leftovers ${X}o)"
finish
