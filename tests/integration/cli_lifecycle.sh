#!/bin/sh
# The CLI against real libvirtd + QEMU, with VMs that need not boot an OS (blank disk, --no-wait):
# up, converge, drift, scale, status, outputs, extend, down with a receipt, protection, locks,
# reap, gc, blueprint errors. Booting real guests is the e2e suite's job.
. "$SBX_TOP/tests/lib/harness.sh"
use_real_libvirt
E=it$$
on_exit "$SANDBOX down $E --confirm $E; $SANDBOX down ${E}p --confirm ${E}p; $SANDBOX down ${E}x"

cat > "$T/bp.yaml" <<YAML
apiVersion: sandbox/v1
name: itest
lifetime: { ttl: 1h, max_ttl: 3h }
site: { uri: "$URI", image: { path: "$BLANK" } }
networks: [ { name: front }, { name: back, mode: isolated } ]
nodes:
  - { name: web, count: 2, memory: 64Mi, networks: [front, back] }
  - { name: db, networks: [back] }
YAML

# validate / plan
expect_rc 0 "$SANDBOX" validate "$T/bp.yaml"
expect_rc 0 "$SANDBOX" plan "$T/bp.yaml" --name $E
expect_out "Plan: 11 to create, 0 to update, 0 to delete"

# up creates everything and records it
expect_rc 0 "$SANDBOX" up "$T/bp.yaml" --no-wait --name $E --json
expect_out '"event":"up.done"'
[ "$(leftovers $E)" -eq 11 ] && pass || fail "expected 11 libvirt objects after up, found $(leftovers $E)"
expect_rc 0 "$SANDBOX" list --json
expect_out "\"name\": \"$E\""
expect_rc 0 "$SANDBOX" status $E --json
expect_out '"status": "ready"'
expect_out '"instance": "web-1"'

# a re-run converges without creating anything
expect_rc 0 "$SANDBOX" up "$T/bp.yaml" --no-wait --name $E --json
expect_out 'plan: 0 to create, 0 to update, 0 to delete, 11 unchanged'

# drift: a domain removed behind our back is re-created
$V destroy sbx-$E.db-0 >/dev/null 2>&1; $V undefine sbx-$E.db-0 >/dev/null 2>&1
expect_rc 0 "$SANDBOX" up "$T/bp.yaml" --no-wait --name $E
expect_out 'plan: 1 to create'
$V dominfo sbx-$E.db-0 >/dev/null 2>&1 && pass || fail "drifted domain not re-created"

# drift libvirt reports: a stopped, resized domain shows in plan (observed → wanted) and up fixes it
$V destroy sbx-$E.web-0 >/dev/null 2>&1
$V setmaxmem sbx-$E.web-0 131072 --config >/dev/null 2>&1
expect_rc 0 "$SANDBOX" plan "$T/bp.yaml" --name $E
expect_out "^~ domain +sbx-$E.web-0 +drifted in libvirt"
expect_out "state \\(observed\\): shut off → running"
expect_out "memory \\(observed\\): 128Mi → 64Mi"
expect_out "Plan: 0 to create, 1 to update, 0 to delete"
expect_rc 0 "$SANDBOX" plan "$T/bp.yaml" --name $E --no-refresh
expect_out "Plan: 0 to create, 0 to update, 0 to delete"
expect_rc 0 "$SANDBOX" up "$T/bp.yaml" --no-wait --name $E
expect_out 'plan: 0 to create, 1 to update'
[ "$($V domstate sbx-$E.web-0 2>/dev/null)" = running ] && pass || fail "drifted domain not started again"
$V dominfo sbx-$E.web-0 | grep -Eq 'Max memory: +65536 KiB' && pass || fail "drifted memory not restored"
expect_rc 0 "$SANDBOX" plan "$T/bp.yaml" --name $E --json
expect_out '"update": 0'

# scale up: one more web node
sed 's/count: 2/count: 3/' "$T/bp.yaml" > "$T/bp3.yaml"
expect_rc 0 "$SANDBOX" up "$T/bp3.yaml" --no-wait --name $E
expect_out 'plan: 3 to create'

# outputs
expect_rc 0 "$SANDBOX" outputs $E --format env
expect_out "^SANDBOX_ENV=$E\$"
expect_out '^SANDBOX_NODE_WEB_2_IP=10\.'
expect_out '^SANDBOX_SSH_KEY=.*/keys/'
KEY=$(printf '%s\n' "$OUT" | sed -n 's/^SANDBOX_SSH_KEY=//p')
[ "$(stat -c %a "$KEY")" = 600 ] && pass || fail "ssh key file mode is not 0600"
expect_no_out 'PRIVATE KEY'

# a network's cidr changes: plan shows it replaced with the domains on it and their seeds (the
# cause named), up deletes those domains, replaces the network, creates them again on the new
# block (their NICs on its bridge), IPAM moves; db-0, only on back, is left running as it was
NET16=${SANDBOX_IPAM_POOL%.0.0/16}
NEW=$NET16.200.0/24
OLD=$(sqlite3 "$T/state/state.db" "SELECT cidr FROM ipam WHERE env = '$E' AND network = 'front'")
sed "s#{ name: front }#{ name: front, cidr: $NEW }#" "$T/bp3.yaml" > "$T/bp4.yaml"
DBID=$($V domid sbx-$E.db-0); WEBID=$($V domid sbx-$E.web-0)
expect_rc 0 "$SANDBOX" plan "$T/bp4.yaml" --name $E
expect_out "^± network +sbx-$E\.front +replaced: cidr $OLD → $NEW\$"
expect_out "^± domain +sbx-$E\.web-0 +replaced: network front cidr $OLD → $NEW\$"
expect_out "^± seed +sbx-$E\.web-2-seed\.iso +replaced: network front cidr $OLD → $NEW\$"
expect_no_out "sbx-$E\.db-0"
expect_out "^Plan: 0 to create, 0 to update, 0 to delete, 7 to replace, 7 unchanged\.\$"
expect_rc 0 "$SANDBOX" plan "$T/bp4.yaml" --name $E --json
expect_out '"action": "replace"'
expect_out '"replace": 7'
expect_rc 0 "$SANDBOX" up "$T/bp4.yaml" --no-wait --name $E --json
expect_out "\"event\":\"ipam.move\".*block $OLD → $NEW"
expect_out 'plan: 0 to create, 0 to update, 0 to delete, 7 to replace, 7 unchanged'
[ "$(sqlite3 "$T/state/state.db" "SELECT cidr FROM ipam WHERE env = '$E' AND network = 'front'")" = "$NEW" ] &&
    pass || fail "IPAM does not hold $NEW for front"
$V net-dumpxml sbx-$E.front | grep -q "<ip address='$NET16.200.1'" && pass || fail "front is not on $NEW"
BR=$($V net-info sbx-$E.front | awk '/^Bridge:/ { print $2 }')
for i in 0 1 2; do
    TAP=$($V domiflist sbx-$E.web-$i | awk -v n="sbx-$E.front" '$3 == n { print $1 }')
    [ -n "$TAP" ] && ip -o link show master "$BR" | grep -q " $TAP[:@]" && pass ||
        fail "web-$i's NIC ($TAP) is not a port of $BR"
done
[ "$($V domid sbx-$E.db-0)" = "$DBID" ] && pass || fail "db-0 was restarted"
[ "$($V domid sbx-$E.web-0)" != "$WEBID" ] && pass || fail "web-0 was not created again"
expect_rc 0 "$SANDBOX" outputs $E --format env
expect_out "^SANDBOX_NODE_WEB_0_IP=$NET16\.200\.10\$"
expect_rc 0 "$SANDBOX" up "$T/bp4.yaml" --no-wait --name $E --json
expect_out 'plan: 0 to create, 0 to update, 0 to delete, 14 unchanged'

# extend is capped by max_ttl
expect_rc 0 "$SANDBOX" extend $E --ttl 10h
expect_out 'capped'
expect_rc 2 "$SANDBOX" extend $E --ttl soon

# a second command on a locked environment is refused with exit 3
SID=$(sqlite3 "$T/state/state.db" "SELECT value FROM meta WHERE key = 'state_id'")
LOCK="$T/state/$SID/locks/$E.lock"
( flock -x 9; sleep 2 ) 9>"$LOCK" &
LPID=$!
on_exit "kill $LPID"
i=0; while flock -n "$LOCK" true 2>/dev/null && [ $i -lt 100 ]; do i=$((i+1)); sleep 0.05; done
expect_rc 3 "$SANDBOX" down $E
expect_out 'lock'
expect_out 'hint: .*--wait-lock'
expect_rc 0 "$SANDBOX" down $E --wait-lock 20s
wait $LPID 2>/dev/null
expect_out "re-query: nothing tagged with $E remains"
[ "$(leftovers $E)" -eq 0 ] && pass || fail "objects left after down: $(leftovers $E)"
expect_rc 0 "$SANDBOX" down $E
expect_rc 1 "$SANDBOX" status $E
expect_out 'no environment named'

# protected environments refuse down without --confirm, also after the blueprint drops protection
cat > "$T/prod.yaml" <<YAML
apiVersion: sandbox/v1
name: prod
lifetime: { permanent: true, protect: true }
site: { uri: "$URI", image: { path: "$BLANK" } }
networks: [ { name: core } ]
nodes: [ { name: app, memory: 64Mi, networks: [core] } ]
YAML
expect_rc 0 "$SANDBOX" up "$T/prod.yaml" --no-wait --name ${E}p
expect_rc 3 "$SANDBOX" down ${E}p
expect_out 'protected'
expect_out 'confirm'
grep -v 'lifetime' "$T/prod.yaml" > "$T/prod2.yaml"
echo 'lifetime: { ttl: 1h }' >> "$T/prod2.yaml"
sed -i 's/name: app,/name: api,/' "$T/prod2.yaml"
expect_rc 3 "$SANDBOX" up "$T/prod2.yaml" --no-wait --name ${E}p
expect_out 'protected'
expect_rc 0 "$SANDBOX" status ${E}p --json
expect_out '"protected": true'
# a cidr change would replace its network and VM: refused, nothing moved
sed "s#{ name: core }#{ name: core, cidr: $NET16.201.0/24 }#" "$T/prod.yaml" > "$T/prod3.yaml"
expect_rc 3 "$SANDBOX" up "$T/prod3.yaml" --no-wait --name ${E}p
expect_out "protected: the plan would replace network sbx-${E}p\.core \\(cidr .* → $NET16\.201\.0/24\\)"
expect_out "protected: the plan would replace domain sbx-${E}p\.app-0 \\(network core cidr "
expect_out 'hint: .*cidr or mode does not change in place'
[ "$(sqlite3 "$T/state/state.db" "SELECT cidr FROM ipam WHERE env = '${E}p'")" != "$NET16.201.0/24" ] &&
    pass || fail "a refused replacement moved the IPAM block"
$V net-dumpxml sbx-${E}p.core | grep -q "$NET16\.201\." && fail "a refused replacement changed the network" || pass
expect_rc 3 "$SANDBOX" down ${E}p --confirm wrong
expect_rc 0 "$SANDBOX" down ${E}p --confirm ${E}p
[ "$(leftovers ${E}p)" -eq 0 ] && pass || fail "protected env left objects"

# expiry: an expired environment is gone after one reap; a live one stays
expect_rc 0 "$SANDBOX" up "$T/bp.yaml" --no-wait --name ${E}x --ttl 1m
T1=$(date +%s)
# the TTL's clock starts when up has finished, not when it began (up took seconds here)
EXP=$("$SANDBOX" status ${E}x --json | sed -n 's/^ *"expires": \([0-9]*\),*$/\1/p')
[ "$EXP" -ge $((T1 + 59)) ] && [ "$EXP" -le $(( $(date +%s) + 60 )) ] && pass ||
    fail "expires $EXP: want finish ($T1) + 60 s"
expect_rc 0 "$SANDBOX" reap
[ "$(leftovers ${E}x)" -eq 11 ] && pass || fail "reap removed a live environment"
NOW=$(( $(date +%s) + 120 ))
expect_rc 0 env SANDBOX_FAKE_NOW=$NOW "$SANDBOX" reap --json
expect_out '"event":"reap.done"'
[ "$(leftovers ${E}x)" -eq 0 ] && pass || fail "reap left objects"
expect_rc 1 "$SANDBOX" status ${E}x

# gc lists an object named like ours that carries no owner; --delete keeps it (exit 3), only
# --force-foreign removes it; --env narrows to one environment's objects
cat > "$T/orphan.xml" <<XML
<domain type='qemu'><name>sbx-$E.orphan-0</name><memory unit='MiB'>32</memory><os><type arch='x86_64'>hvm</type></os></domain>
XML
$V define "$T/orphan.xml" >/dev/null
on_exit "$V undefine sbx-$E.orphan-0"
expect_rc 0 "$SANDBOX" gc --uri $URI
expect_out "sbx-$E\\.orphan-0 +untagged"
expect_rc 0 "$SANDBOX" gc --uri $URI --env ${E}zz
expect_no_out "sbx-$E\\.orphan-0"
expect_rc 3 "$SANDBOX" gc --uri $URI --env $E --delete --json
expect_out '"class": "untagged"'
$V dominfo sbx-$E.orphan-0 >/dev/null 2>&1 && pass || fail "gc --delete removed an untagged object"
# (always with --env here: this machine may run other states' environments)
expect_rc 0 "$SANDBOX" gc --uri $URI --env $E --delete --force-foreign --json
$V dominfo sbx-$E.orphan-0 >/dev/null 2>&1 && fail "gc --force-foreign left the orphan" || pass

# blueprint errors: file:line:col, exit 2, nothing created
printf 'apiVersion: sandbox/v1\nname: bad\nnodes:\n  - { name: web, memory: lots }\n' > "$T/bad.yaml"
expect_rc 2 "$SANDBOX" up "$T/bad.yaml" --name ${E}b
expect_out "bad.yaml:4:[0-9]+: "
expect_rc 1 "$SANDBOX" status ${E}b
expect_rc 2 "$SANDBOX" up "$T/bp.yaml" --no-wait --name ${E} --ttl 10h
expect_out 'max_ttl'
expect_rc 2 "$SANDBOX" frobnicate
expect_rc 2 "$SANDBOX" up
expect_out 'usage: sandbox up'
finish
