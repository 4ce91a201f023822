#!/bin/sh
# Placement across site.hosts against real libvirt (qemu:///system and qemu:///session, blank-disk
# VMs, --no-wait): a new environment goes to the listed host that keeps the most memory, then
# CPUs, once what the state promised there is counted; a converging up stays where it was placed;
# plan shows the fit on every host; one that fits nowhere is refused naming each host, leaving
# nothing; a host that is no allowed URI is a blueprint error at its line; gc scans every host of
# an environment's site.hosts. (As root, qemu:///session
# may be served by the same daemon as qemu:///system: placement only needs two URIs with their own
# promises.)
. "$SBX_TOP/tests/lib/harness.sh"
use_real_libvirt
timeout 30 virsh -c qemu:///session version >/dev/null 2>&1 || skip "qemu:///session does not answer"
E=ho$$
on_exit "for e in ${E}a ${E}b ${E}big; do $SANDBOX down \$e; done"
VS="virsh -c qemu:///session"

bp() { # bp FILE CPUS MEMORY
    cat > "$1" <<YAML
apiVersion: sandbox/v1
name: hosts
lifetime: { ttl: 1h }
site: { hosts: [ "qemu:///system", "qemu:///session" ], image: { path: "$BLANK" } }
networks: [ { name: front } ]
nodes:
  - { name: web, count: 1, cpus: $2, memory: $3, networks: [front] }
YAML
}
bp "$T/h.yaml" 4 64Mi
bp "$T/big.yaml" 1 4096Gi

expect_rc 0 "$SANDBOX" plan "$T/h.yaml" --name ${E}a
expect_out "^Capacity: fits on qemu:///system: memory 0\\.1 of"
expect_out "^Capacity: fits on qemu:///session: memory 0\\.0 of"
expect_out "^Placement: qemu:///system: nodes web; networks front "

# the first goes to the first host (a tie); the second to the other (the first holds 4 CPUs)
expect_rc 0 "$SANDBOX" up "$T/h.yaml" --no-wait --name ${E}a
expect_out "host: qemu:///system \\(of site.hosts\\)"
expect_rc 0 "$SANDBOX" up "$T/h.yaml" --no-wait --name ${E}b --json
expect_out '"event":"place","message":"host: qemu:///session \(of site.hosts\)"'
$VS dominfo sbx-${E}b.web-0 >/dev/null 2>&1 && pass || fail "${E}b has no domain on qemu:///session"
# converging stays put, and plan looks there
expect_rc 0 "$SANDBOX" up "$T/h.yaml" --no-wait --name ${E}b
expect_out "host: qemu:///session"
expect_out "plan: 0 to create, 0 to update, 0 to delete, 4 unchanged"
expect_rc 0 "$SANDBOX" plan "$T/h.yaml" --name ${E}b
expect_out "^Plan: 0 to create, 0 to update, 0 to delete, 4 unchanged"

# fits nowhere: each host named, nothing left
expect_rc 3 "$SANDBOX" up "$T/big.yaml" --no-wait --name ${E}big
expect_out "needs 4096\\.0 GiB memory on qemu:///system"
expect_out "needs 4096\\.0 GiB memory on qemu:///session"
[ "$(leftovers ${E}big)" -eq 0 ] && pass || fail "${E}big left objects"
if "$SANDBOX" status ${E}big >/dev/null 2>&1; then fail "${E}big has a state row"; else pass; fi

# a host outside the allow-list is a blueprint error at its position
sed 's|"qemu:///session"|"qemu+unix:///system"|' "$T/h.yaml" > "$T/bad.yaml"
expect_rc 2 "$SANDBOX" validate "$T/bad.yaml"
expect_out "bad\\.yaml:4:[0-9]+: hosts: expected qemu:///system"

expect_rc 0 "$SANDBOX" down ${E}b
# gc looks at every host of a recorded environment's site.hosts, not only where it was placed: with
# only ${E}a left (on qemu:///system), an untagged orphan is listed on qemu:///session too
$VS net-define /dev/stdin >/dev/null <<XML && pass || fail "cannot define the orphan network"
<network><name>sbx-${E}orph.lan</name></network>
XML
on_exit "$VS net-undefine sbx-${E}orph.lan"
expect_rc 0 "$SANDBOX" gc --json
OUT=$(printf '%s' "$OUT" | tr -d '\n')
expect_out '"uri": "qemu:///session"[^}]*"name": "sbx-'${E}'orph\.lan"|"name": "sbx-'${E}'orph\.lan"[^}]*"uri": "qemu:///session"'
expect_rc 0 "$SANDBOX" gc --json --uri qemu:///system
expect_no_out '"uri": "qemu:///session"'
$VS net-undefine sbx-${E}orph.lan >/dev/null && pass || fail "cannot undefine the orphan network"
expect_rc 0 "$SANDBOX" down ${E}a
[ "$(leftovers ${E}a)" -eq 0 ] && [ "$(leftovers ${E}b)" -eq 0 ] && pass || fail "objects left after down"
finish
