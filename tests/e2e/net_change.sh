#!/bin/sh
# End to end with a real VM: a network's cidr changes under a running node (issue #12). `plan`
# shows the network replaced with the domain on it and its seed; `up` deletes the domain, replaces
# the network, creates the domain again on the same disk, and returns with the node SSH-ready on
# its new address (cloud-init applied the new seed: a new instance id); outputs and IPAM have the
# new block, the host has no address of the old one left, the VM's NIC is a port of the bridge.
. "$SBX_TOP/tests/lib/harness.sh"
URI=qemu:///system
V="virsh -c $URI"
[ "$(id -u)" -eq 0 ] || skip "needs root (libvirt qemu:///system, image build)"
$V version >/dev/null 2>&1 || sh "$SBX_TOP/tests/libvirt-up.sh" >/dev/null 2>&1 || skip "libvirtd is not running"
IMG=$(sh "$SBX_TOP/tests/image/build.sh" debian-12) || skip "cannot build the test image"
echo "image: $IMG"
# a private pool, so that concurrent test states never pick the same blocks
NET16=10.$((150 + $$ % 100))
export SANDBOX_IPAM_POOL="$NET16.0.0/16"
OLD=$NET16.41.0/24 NEW=$NET16.42.0/24
E=nc$$
on_exit "$SANDBOX down $E"
cat > "$T/a.yaml" <<YAML
apiVersion: sandbox/v1
name: e2e-net
lifetime: { ttl: 2h }
site: { uri: "$URI", image: { recipe: debian-12 } }
networks: [ { name: lan, cidr: $OLD } ]
nodes: [ { name: vm, memory: 768Mi, networks: [lan] } ]
YAML
sed "s#cidr: $OLD#cidr: $NEW#" "$T/a.yaml" > "$T/b.yaml"

expect_rc 0 "$SANDBOX" up "$T/a.yaml" --name $E --json
expect_out "\"event\":\"node.ready\".*\"node\":\"vm-0\""
expect_rc 0 "$SANDBOX" ssh $E vm-0 -- ip -4 -o addr show eth0
expect_out "inet $NET16\\.41\\.10/24"

expect_rc 0 "$SANDBOX" plan "$T/b.yaml" --name $E
expect_out "^± network +sbx-$E\\.lan +replaced: cidr $OLD → $NEW\$"
expect_out "^± seed +sbx-$E\\.vm-0-seed\\.iso +replaced: network lan cidr $OLD → $NEW\$"
expect_out "^± domain +sbx-$E\\.vm-0 +replaced: network lan cidr $OLD → $NEW\$"
expect_out "Plan: 0 to create, 0 to update, 0 to delete, 3 to replace, 1 unchanged\\."

expect_rc 0 "$SANDBOX" up "$T/b.yaml" --name $E --json
expect_out "\"event\":\"ipam.move\".*block $OLD → $NEW"
expect_out "\"event\":\"step.done\",\"message\":\"deleted domain sbx-$E\\.vm-0\""
expect_out "\"event\":\"node.ready\".*\"node\":\"vm-0\""
expect_out '"event":"up.done"'
expect_rc 0 "$SANDBOX" ssh $E vm-0 -- ip -4 -o addr show eth0
expect_out "inet $NET16\\.42\\.10/24"
expect_no_out "$NET16\\.41\\."
expect_rc 0 "$SANDBOX" outputs $E --format env
expect_out "^SANDBOX_NODE_VM_0_IP=$NET16\\.42\\.10\$"
[ "$(sqlite3 "$T/state/state.db" "SELECT cidr FROM ipam WHERE env = '$E'")" = "$NEW" ] && pass ||
    fail "IPAM does not hold $NEW"
ip -4 -o addr show | grep -q " $NET16\\.41\\.1/" && fail "the host still has an address of $OLD" || pass
BR=$($V net-info sbx-$E.lan | awk '/^Bridge:/ { print $2 }')
ip -4 -o addr show dev "$BR" | grep -q " $NET16\\.42\\.1/24" && pass || fail "bridge $BR is not on $NEW"
TAP=$($V domiflist sbx-$E.vm-0 | awk -v n="sbx-$E.lan" '$3 == n { print $1 }')
[ -n "$TAP" ] && ip -o link show master "$BR" | grep -q " $TAP[:@]" && pass || fail "vm-0's NIC ($TAP) is not a port of $BR"
expect_rc 0 "$SANDBOX" up "$T/b.yaml" --name $E --json
expect_out 'plan: 0 to create, 0 to update, 0 to delete, 4 unchanged'

expect_rc 0 "$SANDBOX" down $E
expect_out "nothing tagged with $E remains"
finish
