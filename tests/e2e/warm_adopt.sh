#!/bin/sh
# End to end with real VMs: `up` takes over a warm pool member (libvirtd + QEMU under TCG, the
# project's Debian image, real SSH).
#   1. `sandbox daemon --pool ...,roles=postgres` boots one member (pool network, pool key) and
#      prepares the postgres role ahead on it (initdb; its marker) and starts PostgreSQL there (a
#      role whose services run idle); the daemon is stopped.
#   2. `up` of two postgres nodes of the member's shape: vm-0 claims and takes over the member
#      (pool.claim, prepared for postgres; pool.adopt), vm-1 finds the pool empty and boots cold
#      (pool.miss); the role is healthy on both, and vm-0's preparation was not done again (its
#      marker and cluster older than the claim), vm-1's was done by the apply; vm-0's PostgreSQL is
#      the one started ahead (its postmaster.pid start time), reloaded, not restarted.
#   3. vm-0 is the node: hostname vm-0, an address of the environment's network (not the pool's),
#      a new SSH host key (not the member's) that its console printed, the environment's key logs
#      in and the pool's no longer does, its domain's metadata and title are the environment's.
#   4. A second `up` changes nothing; `down` destroys the member's domain and volumes and its
#      receipt lists them; a daemon without --pool leaves no pool object.
. "$SBX_TOP/tests/lib/harness.sh"
. "$SBX_TOP/tests/lib/daemon.sh"
. "$SBX_TOP/tests/lib/warm.sh"
URI=qemu:///system
V="virsh -c $URI"
[ "$(id -u)" -eq 0 ] || skip "needs root (libvirt qemu:///system, image build)"
command -v ssh >/dev/null && command -v ssh-keyscan >/dev/null || skip "needs the OpenSSH client"
$V version >/dev/null 2>&1 || sh "$SBX_TOP/tests/libvirt-up.sh" >/dev/null 2>&1 || skip "libvirtd is not running"
IMG=$(sh "$SBX_TOP/tests/image/build.sh" debian-12) || skip "cannot build the test image"
echo "image: $IMG"
export SANDBOX_IPAM_POOL="10.$((150 + $$ % 100)).0.0/16"
chmod 0755 "$T"
SHAPE="recipe=debian-12,cpus=1,memory=768Mi,count=1,roles=postgres"
PREP=/var/lib/sbx/prepared/postgres
PGV=/var/lib/sbx/postgresql/15/PG_VERSION
PGPID=/var/lib/sbx/postgresql/15/postmaster.pid
E=warm$$

start_daemon() { daemon_start "" --interval 1 "$@" || fail "daemon not listening"; }
stop_daemon() { daemon_stop "" || fail "daemon still running 60 s after SIGTERM"; }
ready_member() { "$SANDBOX" pool --json 2>/dev/null | grep -q '"status": *"ready"'; }
on_exit "empty_pool; $SANDBOX down $E"

# 1. one member, SSH-ready on the pool network
start_daemon --pool "$SHAPE"
until_true 1800 ready_member && pass || { fail "no pool member ready within 1800 s"; tail -20 "$T/d.err" >&2; }
stop_daemon
M=$(members)
MADDR=$("$SANDBOX" pool --json | grep -o '"address": *"[^"]*"' | sed 's/.*"\([^"]*\)"$/\1/')
echo "member: $M at $MADDR"
[ -n "$M" ] && [ "$($V domstate "$M" 2>/dev/null)" = running ] && pass || fail "member $M is not running"
MKEY=$(ssh-keyscan -t ed25519 "$MADDR" 2>/dev/null | awk '{print $3}')
[ -n "$MKEY" ] && pass || fail "no host key from the member at $MADDR"
POOLKEY=$(find "$(dirname "$SANDBOX_STATE")" -name pool.warm.pem | head -1)
[ -s "$POOLKEY" ] && pass || fail "no pool key at $POOLKEY"
# the role's preparation done ahead: its marker and the cluster (mtimes, to compare after the claim)
MPREP=$(ssh -i "$POOLKEY" -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
    -o ConnectTimeout=30 "sandbox@$MADDR" sudo -n stat -c %Y "$PREP" "$PGV" 2>/dev/null | tr '\n' ' ')
echo "member's preparation (marker, PG_VERSION mtimes): $MPREP"
[ "$(echo $MPREP | wc -w)" -eq 2 ] && pass || fail "the member was not prepared for postgres ahead"
"$SANDBOX" pool --json | grep -q '"roles": *"postgres"' && pass || fail "the member's row lacks its roles"
# PostgreSQL runs idle on the member: its postmaster's start time (line 3 of postmaster.pid)
MPGSTART=$(ssh -i "$POOLKEY" -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
    -o ConnectTimeout=30 "sandbox@$MADDR" sudo -n sed -n 3p "$PGPID" 2>/dev/null)
echo "member's postmaster started at: $MPGSTART"
[ -n "$MPGSTART" ] && pass || fail "PostgreSQL does not run on the member"

# 2. up: vm-0 from the pool, vm-1 cold
cat > "$T/bp.yaml" <<YAML
apiVersion: sandbox/v1
name: warm
site: { uri: "$URI", image: { recipe: debian-12 } }
networks: [ { name: lan } ]
nodes: [ { name: vm, count: 2, cpus: 1, memory: 768Mi, roles: [postgres], networks: [lan] } ]
database: { databases: [ { name: app, owner: app } ] }
YAML
expect_rc 0 "$SANDBOX" up "$T/bp.yaml" --name $E --json
printf '%s\n' "$OUT" > "$T/up.out"
grep -o '"event":"\(pool.adopt\|node.ready\|roles.done\)"[^}]*"message":"[^"]*"' "$T/up.out" | sed 's/.*"message":"/  /; s/"$//'
expect_out '"event":"pool.claim".*prepared ahead for roles postgres.*"node":"vm-0"'
expect_out '"event":"pool.adopt".*"node":"vm-0"'
expect_out '"event":"pool.miss".*"node":"vm-1"'
expect_out '"event":"node.ready".*"node":"vm-0"'
expect_out '"event":"node.ready".*"node":"vm-1"'
expect_out '"event":"up.done"'
expect_no_out '"event":"pool.fallback"'
expect_no_out '"event":"node.hostkey"'

# the role's preparation was not repeated on vm-0 (same marker, same cluster); vm-1's apply did it
expect_rc 0 "$SANDBOX" ssh $E vm-0 -- sudo -n stat -c %Y "$PREP" "$PGV"
[ "$(echo $OUT)" = "$(echo $MPREP)" ] && pass || fail "vm-0's preparation was done again: $(echo $OUT), before: $MPREP"
expect_rc 0 "$SANDBOX" ssh $E vm-1 -- sudo -n test -s "$PREP"
expect_rc 0 "$SANDBOX" ssh $E vm-0 -- sudo -n sed -n 3p "$PGPID"
[ "$(echo $OUT)" = "$MPGSTART" ] && pass || fail "vm-0's PostgreSQL was restarted: started at $(echo $OUT), ahead at $MPGSTART"
for n in vm-0 vm-1; do
    expect_rc 0 "$SANDBOX" ssh $E $n -- sudo -n -u postgres psql -h /run/sbx/postgresql -X -At -d app -c 'SELECT 1'
    expect_out '^1$'
done

# 3. vm-0 is the environment's node
expect_rc 0 "$SANDBOX" ssh $E vm-0 -- hostname
expect_out '^vm-0$'
IP0=$("$SANDBOX" outputs $E --format env | sed -n 's/^SANDBOX_NODE_VM_0_IP=//p')
IP1=$("$SANDBOX" outputs $E --format env | sed -n 's/^SANDBOX_NODE_VM_1_IP=//p')
echo "vm-0 $IP0, vm-1 $IP1"
[ -n "$IP0" ] && [ "$IP0" != "$MADDR" ] && [ "${IP0%.*}" = "${IP1%.*}" ] && pass ||
    fail "vm-0's address $IP0 is not of the environment's network (vm-1 $IP1, member $MADDR)"
expect_rc 0 "$SANDBOX" ssh $E vm-0 -- ip -4 -o addr show eth0
expect_out "inet $IP0/"
# the pool's address goes once the identity script's connection has closed (a detached job)
pool_addr_gone() { ! "$SANDBOX" ssh $E vm-0 -- ip -4 -o addr show eth0 | grep -q "inet $MADDR/"; }
until_true 60 pool_addr_gone && pass || fail "vm-0 still has the pool's address $MADDR"
next_keys_gone() { "$SANDBOX" ssh $E vm-0 -- test ! -e /etc/ssh/sbx-next; }
until_true 60 next_keys_gone && pass || fail "vm-0 still has the directory of the keys made ahead"
KEY0=$("$SANDBOX" ssh $E vm-0 -- cat /etc/ssh/ssh_host_ed25519_key.pub | awk '{print $2}')
[ -n "$KEY0" ] && [ "$KEY0" != "$MKEY" ] && pass || fail "vm-0's host key did not change ($KEY0)"
expect_rc 0 "$SANDBOX" ssh $E vm-0 -- cat /etc/ssh/ssh_host_ed25519_key.pub
expect_out " root@vm-0$"
sed -n '/BEGIN SSH HOST KEY KEYS/,/END SSH HOST KEY KEYS/p' "/var/log/libvirt/qemu/$M-console.log" | tail -4 |
    grep -q -- "$KEY0" && pass || fail "vm-0's console did not print its new host key"
# the node answers the pinned key (OpenSSH with the environment's known_hosts)
expect_rc 0 env SSH_AUTH_SOCK= "$SANDBOX" ssh $E vm-0 -- true
# the pool's key no longer logs in, at either address
for a in "$IP0" "$MADDR"; do
    if ssh -i "$POOLKEY" -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
        -o ConnectTimeout=10 "sandbox@$a" true 2>/dev/null; then fail "the pool's key logs in at $a"; else pass; fi
done
# reachable from vm-1 over the environment's network
expect_rc 0 "$SANDBOX" ssh $E vm-1 -- bash -c "exec 3<>/dev/tcp/$IP0/22; head -c 4 <&3"
expect_out '^SSH-'
$V dumpxml "$M" | grep -Eq "name=[\"']$E[\"']" && pass || fail "domain $M does not carry the environment's owner"
$V dumpxml "$M" | grep -q "<title>$E/vm-0</title>" && pass || fail "domain $M lacks the title $E/vm-0"
expect_rc 0 "$SANDBOX" status $E
expect_out "$M"

# 4. converged; down destroys the member's objects
expect_rc 0 "$SANDBOX" up "$T/bp.yaml" --name $E --json
expect_out 'plan: 0 to create, 0 to update, 0 to delete'
expect_rc 0 "$SANDBOX" down $E
expect_out "$M"
expect_out "nothing tagged with $E remains"
$V dominfo "$M" >/dev/null 2>&1 && fail "down left domain $M" || pass
$V vol-list sandbox 2>/dev/null | grep -q "$M" && fail "down left volumes of $M" || pass
empty_pool
P=${M#sbx-pool.}; P=${P%%.*}
$V net-info "sbx-pool.$P.net" >/dev/null 2>&1 && fail "the pool network sbx-pool.$P.net is left" || pass
finish
