#!/bin/sh
# Kill `up` and `down` (SIGKILL) at several points of their journals, then check that `up`
# converges and `down` leaves nothing behind. Real libvirtd + QEMU (objects outlive the killed
# client, as in real life), VMs that need not boot (blank disk, --no-wait). Then Ctrl-C (SIGINT)
# while `up` waits for a VM that never answers SSH: it stops waiting at once (the deadline is
# 15 minutes), exits 1 saying so and how to go on, and the next `up` converges. Last, a VM that
# cannot start (its disk emptied): `up` reports libvirt's own error.
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

# Ctrl-C while up waits for SSH (a blank disk never answers)
E=cr$$-i
on_exit "$SANDBOX down $E"
( "$SANDBOX" up "$T/bp.yaml" --name $E >"$T/i.out" 2>&1; echo $? >"$T/i.rc" ) &
waiting() { grep -q 'waiting for' "$T/i.out" && [ "$($V domstate "sbx-$E.vm-2" 2>/dev/null)" = running ]; }
until_true 120 waiting && pass || { fail "up did not reach its SSH wait"; tail -5 "$T/i.out" >&2; }
pkill -INT -f "sandbox up $T/bp.yaml --name $E\$" && pass || fail "no up process to interrupt"
until_true 60 test -s "$T/i.rc" && pass || { fail "up still waits 60 s after SIGINT"; pkill -KILL -f "sandbox up $T/bp.yaml --name $E\$"; }
[ "$(cat "$T/i.rc" 2>/dev/null)" = 1 ] && pass || { fail "interrupted up exited $(cat "$T/i.rc" 2>/dev/null), not 1"; tail -5 "$T/i.out" >&2; }
grep -q 'interrupted while waiting for .*:22 to answer SSH' "$T/i.out" && pass || { fail "no interrupt message"; tail -8 "$T/i.out" >&2; }
grep -q "run the same \`sandbox up\` again to resume, or \`sandbox down $E\` to clean up" "$T/i.out" && pass ||
    fail "the interrupted up says nothing of what to do next"
expect_rc 0 "$SANDBOX" up "$T/bp.yaml" --no-wait --name $E
expect_out 'plan: 0 to create, 0 to update, 0 to delete'
expect_rc 0 "$SANDBOX" down $E
[ "$(leftovers $E)" -eq 0 ] && pass || fail "down after the interrupted up left $(leftovers $E) objects"
# A VM that cannot start: up says what libvirt said (it used to be "unknown libvirt error": the
# check whether the domain had started after all reset libvirt's error first), and down cleans up.
E=cr$$-s
on_exit "$SANDBOX down $E"
expect_rc 0 "$SANDBOX" up "$T/bp.yaml" --no-wait --name $E
$V destroy "sbx-$E.vm-1" >/dev/null && : >"$($V vol-path --pool sandbox "sbx-$E.vm-1.qcow2")" && pass ||
    fail "cannot stop vm-1 and empty its disk"
expect_rc 1 "$SANDBOX" up "$T/bp.yaml" --no-wait --name $E
expect_out "cannot start domain sbx-$E\.vm-1: .*not in qcow2 format"
expect_no_out 'unknown libvirt error'
expect_rc 0 "$SANDBOX" down $E
[ "$(leftovers $E)" -eq 0 ] && pass || fail "down after the failed start left $(leftovers $E) objects"
finish
