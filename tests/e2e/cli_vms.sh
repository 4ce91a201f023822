#!/bin/sh
# End to end with real VMs: libvirtd + QEMU (TCG here), the project's Debian image, real SSH.
#   1. `up` the README's example (examples/quickstart.yaml: web + PostgreSQL), `ssh` into both,
#      psql through pgbouncer with the generated credentials; a re-run changes nothing (the quick
#      check), a stopped service and an edited file are repaired by a plain re-run; `down`, and
#      virsh shows nothing left.
#   2. scale 1 → 2 → 1 → 2: the re-created node gets a new host key, and its old pin (deleted with
#      its domain) does not block readiness; host keys are vouched by the consoles, not trusted blindly.
#   3. an environment with a 1-minute TTL is gone after one `reap` once it has expired.
. "$SBX_TOP/tests/lib/harness.sh"
URI=qemu:///system
V="virsh -c $URI"
[ "$(id -u)" -eq 0 ] || skip "needs root (libvirt qemu:///system, image build)"
$V version >/dev/null 2>&1 || sh "$SBX_TOP/tests/libvirt-up.sh" >/dev/null 2>&1 || skip "libvirtd is not running"
IMG=$(sh "$SBX_TOP/tests/image/build.sh" debian-12) || skip "cannot build the test image"
echo "image: $IMG"
ours() { { $V list --all --name; $V net-list --all --name; $V vol-list sandbox 2>/dev/null; } | grep -c "sbx-$1\\." ; }

E=e2e$$
on_exit "$SANDBOX down $E; $SANDBOX down ${E}t"
expect_rc 0 "$SANDBOX" up "$SBX_TOP/examples/quickstart.yaml" --name $E --json
expect_out '"event":"node.ready".*"node":"web-0"'
expect_out '"event":"node.ready".*"node":"db-0"'
expect_out '"event":"roles.done"'
expect_out '"event":"up.done"'
expect_no_out '"event":"node.hostkey"'
[ "$($V domstate sbx-$E.web-0 2>/dev/null)" = running ] && pass || fail "web-0 is not running"
$V dumpxml sbx-$E.web-0 | grep -q "<sbx:env" && pass || fail "domain lacks the environment metadata"
$V vol-dumpxml --pool sandbox sbx-$E.web-0.qcow2 | grep -q '<backingStore>' && pass || fail "disk is not a qcow2 overlay"

expect_rc 0 "$SANDBOX" ssh $E web -- hostname
expect_out '^web-0$'
expect_rc 0 "$SANDBOX" ssh $E db-0 -- sh -c 'id -un; sudo -n true && echo sudo-ok'
expect_out '^sandbox$'
expect_out 'sudo-ok'
expect_rc 3 "$SANDBOX" ssh $E web -- sh -c 'exit 3'
# the nodes reach each other over the private network
DBIP=$("$SANDBOX" outputs $E --format env | sed -n 's/^SANDBOX_NODE_DB_0_IP=//p')
expect_rc 0 "$SANDBOX" ssh $E web -- bash -c "exec 3<>/dev/tcp/$DBIP/22; head -c 4 <&3"
expect_out '^SSH-'
# the database, through pgbouncer, with the password from the encrypted state
DBURL=$("$SANDBOX" outputs $E --format env | sed -n 's/^DATABASE_URL=//p')
expect_rc 0 "$SANDBOX" ssh $E web -- psql "$DBURL" -tAc "select current_user || '@' || current_database()"
expect_out '^app@app$'
# interactive ssh goes through OpenSSH with the pinned host key
expect_rc 0 env SSH_AUTH_SOCK= "$SANDBOX" ssh $E web </dev/null
# a re-run converges without touching the VMs: one command per node with roles, no health check
expect_rc 0 "$SANDBOX" up "$SBX_TOP/examples/quickstart.yaml" --name $E --json
expect_out 'plan: 0 to create, 0 to update, 0 to delete'
expect_out 'roles unchanged on 1 of 1 node\(s\).*0 health check\(s\) run'
# a service stopped and a rendered file edited behind sandbox's back: a plain re-run finds both in
# its quick check, puts the file back and starts the service; psql works again
expect_rc 0 "$SANDBOX" ssh $E db-0 -- sudo -n /usr/local/lib/sbx/sbx-svc "" stop pgbouncer
expect_rc 0 "$SANDBOX" ssh $E db-0 -- sudo -n sh -c 'echo "# edited" >> /etc/sbx/postgresql/pg_hba.conf'
expect_rc 0 "$SANDBOX" up "$SBX_TOP/examples/quickstart.yaml" --name $E --json
expect_out '"event":"roles.done".* 1 file\(s\) changed, 1 start\(s\)'
expect_rc 0 "$SANDBOX" ssh $E db-0 -- sudo -n /usr/local/lib/sbx/sbx-svc "" running pgbouncer
expect_rc 1 "$SANDBOX" ssh $E db-0 -- sudo -n grep -q edited /etc/sbx/postgresql/pg_hba.conf
expect_rc 0 "$SANDBOX" ssh $E web -- psql "$DBURL" -tAc "select 1"
expect_out '^1$'
expect_rc 0 "$SANDBOX" up "$SBX_TOP/examples/quickstart.yaml" --name $E --json
expect_out 'roles unchanged on 1 of 1 node\(s\)'

expect_rc 0 "$SANDBOX" down $E
expect_out "nothing tagged with $E remains"
[ "$(ours $E)" -eq 0 ] && pass || fail "virsh still shows $(ours $E) object(s) of $E"

# expiry
cat > "$T/one.yaml" <<YAML
apiVersion: sandbox/v1
name: e2e-ttl
lifetime: { ttl: 1m, max_ttl: 1h }
site: { uri: "$URI", image: { recipe: debian-12 } }
networks: [ { name: lan } ]
nodes: [ { name: vm, memory: 768Mi, networks: [lan] } ]
YAML
expect_rc 0 "$SANDBOX" up "$T/one.yaml" --name ${E}t
# scale 1 → 2 → 1 → 2 with SSH readiness each time
sed 's/name: vm,/name: vm, count: 2,/' "$T/one.yaml" > "$T/two.yaml"
expect_rc 0 "$SANDBOX" up "$T/two.yaml" --name ${E}t --json
expect_out '"event":"node.ready".*"node":"vm-1"'
KEY1=$("$SANDBOX" ssh ${E}t vm-1 -- cat /etc/ssh/ssh_host_ed25519_key.pub | cut -d' ' -f2)
expect_rc 0 "$SANDBOX" up "$T/one.yaml" --name ${E}t --json
expect_out 'plan: 0 to create, 0 to update, 3 to delete'
# (a new --ttl restarts the clock at the end of this up: the scaling took minutes of the first one)
expect_rc 0 "$SANDBOX" up "$T/two.yaml" --name ${E}t --json --ttl 1m
expect_out '"event":"node.ready".*"node":"vm-1"'
expect_no_out 'host key changed'
KEY2=$("$SANDBOX" ssh ${E}t vm-1 -- cat /etc/ssh/ssh_host_ed25519_key.pub | cut -d' ' -f2)
[ -n "$KEY1" ] && [ -n "$KEY2" ] && [ "$KEY1" != "$KEY2" ] && pass || fail "vm-1's host key did not change on re-creation"
expect_rc 0 "$SANDBOX" status ${E}t
expect_out 'expires: +in '
expect_rc 0 env SANDBOX_FAKE_NOW=$(( $(date +%s) + 61 )) "$SANDBOX" reap
expect_out "reaped ${E}t"
[ "$(ours ${E}t)" -eq 0 ] && pass || fail "reap left $(ours ${E}t) object(s)"
expect_rc 1 "$SANDBOX" status ${E}t
finish
