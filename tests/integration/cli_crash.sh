#!/bin/sh
# Kill `up` and `down` (SIGKILL) at several points of their journals, then check that `up`
# converges and `down` leaves nothing behind. Real libvirtd + QEMU (objects outlive the killed
# client, as in real life), VMs that need not boot (blank disk, --no-wait).
. "$SBX_TOP/tests/lib/harness.sh"
use_real_libvirt

cat > "$T/bp.yaml" <<YAML
apiVersion: sandbox/v1
name: crash
site: { uri: "$URI", image: { path: "$BLANK" } }
networks: [ { name: net } ]
nodes: [ { name: vm, count: 3, memory: 64Mi, networks: [net] } ]
YAML

n=0
for point in network:before network:after volume:before volume:after:2 seed:after:3 domain:before:2 domain:after:1; do
    n=$((n + 1)); E=cr$$-$n
    on_exit "$SANDBOX down $E"
    SANDBOX_TEST_CRASH=$point "$SANDBOX" up "$T/bp.yaml" --no-wait --name $E --parallel 1 >"$T/out" 2>&1
    rc=$?
    [ $rc -eq 137 ] || [ $rc -gt 128 ] && pass || { fail "$point: up was not killed (exit $rc)"; tail "$T/out" >&2; }
    expect_rc 0 "$SANDBOX" status $E
    expect_out 'creating'
    # a second up converges
    expect_rc 0 "$SANDBOX" up "$T/bp.yaml" --no-wait --name $E
    expect_out "environment $E is ready"
    [ "$(leftovers $E)" -eq 10 ] && pass || fail "$point: expected 10 objects after resume, found $(leftovers $E)"
    # kill again mid-down? no: down must clean up everything
    expect_rc 0 "$SANDBOX" down $E
    [ "$(leftovers $E)" -eq 0 ] && pass || fail "$point: down left $(leftovers $E) objects"
done

# a crash in the middle of up, followed directly by down, also leaves nothing
E=cr$$-d
on_exit "$SANDBOX down $E"
SANDBOX_TEST_CRASH=domain:after:2 "$SANDBOX" up "$T/bp.yaml" --no-wait --name $E --parallel 1 >/dev/null 2>&1
expect_rc 0 "$SANDBOX" down $E
expect_out 'nothing tagged'
[ "$(leftovers $E)" -eq 0 ] && pass || fail "down after crash left $(leftovers $E) objects"
# a crash in the middle of down, then down again
E=cr$$-e
on_exit "$SANDBOX down $E"
expect_rc 0 "$SANDBOX" up "$T/bp.yaml" --no-wait --name $E
SANDBOX_TEST_CRASH=volume:after:2 "$SANDBOX" down $E --parallel 1 >/dev/null 2>&1
[ $? -gt 128 ] && pass || fail "down was not killed"
expect_rc 0 "$SANDBOX" status $E
expect_out 'destroying'
expect_rc 0 "$SANDBOX" down $E
[ "$(leftovers $E)" -eq 0 ] && pass || fail "second down left $(leftovers $E) objects"
finish
