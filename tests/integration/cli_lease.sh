#!/bin/sh
# A bare-metal machine is leased to one environment at a time: `up` of a second environment whose
# node names a BMC the first one holds is refused (exit 3, naming the holder) before anything is
# recorded or touched; `down` of the holder releases the lease. `plan --no-refresh` shows the
# machine with its boot and power actions. Needs no BMC and no libvirtd (test:///default): the
# lease is taken before any BMC is contacted; `up` of the holder then fails on its unreachable BMC
# (192.0.2.7 is TEST-NET-1) after the IPMI session timeout, set to 2 s by SANDBOX_BMC_TIMEOUT
# (the default 20 s would make that up last at least 20 s: it is checked to fail in less).
. "$SBX_TOP/tests/lib/harness.sh"
A=lsa$$ B=lsb$$
on_exit "$SANDBOX down $A; $SANDBOX down $B"
printf 'QFI\373' > "$T/blank.img"; printf K > "$T/vmlinuz"; printf I > "$T/initrd.img"
cat > "$T/m.yaml" <<'YAML'
apiVersion: sandbox/v1
name: x
site: { uri: test:///default, image: { path: blank.img, kernel: vmlinuz, initrd: initrd.img } }
networks: [ { name: f } ]
nodes:
  - { name: w, memory: 64Mi, networks: [f] }
  - { name: db, provider: ipmi, mac: "52:54:00:12:34:56",
      bmc: { address: 192.0.2.7, port: 6230, user: admin, password: "${secret.bmc}" } }
YAML
for e in $A $B; do printf %s 's3cret-bmc' | "$SANDBOX" secret set $e bmc >/dev/null || fail "secret set $e"; done

expect_rc 0 "$SANDBOX" plan "$T/m.yaml" --name $A --no-refresh
expect_out "^\\+ machine +sbx-$A\\.db-0 +new: boot pxe, run the image from RAM, power on \\(BMC 192\\.0\\.2\\.7:6230\\)$"
expect_no_out "s3cret-bmc"

# the first environment takes the lease (whatever becomes of its up afterwards)
expect_rc_not() { want=$1; shift; OUT=$("$@" 2>&1); rc=$?; [ "$rc" -ne "$want" ] && pass || fail "exit $rc: $*"; }
t0=$(date +%s)
SANDBOX_BMC_TIMEOUT=2s expect_rc_not 3 "$SANDBOX" up "$T/m.yaml" --name $A --no-wait
[ $(($(date +%s) - t0)) -lt 20 ] && pass || fail "up waited $(($(date +%s) - t0)) s: SANDBOX_BMC_TIMEOUT=2s not used"
expect_out "machine sbx-$A\\.db-0: BMC 192\\.0\\.2\\.7:6230: .*unreachable"
[ "$(sqlite3 "$SANDBOX_STATE" "SELECT env FROM lease WHERE machine = 'ipmi:192.0.2.7:6230'")" = $A ] &&
    pass || fail "no lease of ipmi:192.0.2.7:6230 for $A"

# the second is refused before anything is recorded
expect_rc 3 "$SANDBOX" up "$T/m.yaml" --name $B --no-wait
expect_out "node db: machine ipmi:192\\.0\\.2\\.7:6230 \\(BMC 192\\.0\\.2\\.7:6230\\) is leased to environment $A"
expect_out "hint: .*sandbox down $A. releases it"
expect_no_out "s3cret-bmc"
[ "$(sqlite3 "$SANDBOX_STATE" "SELECT count(*) FROM env WHERE name = '$B'")" = 0 ] &&
    pass || fail "the refused up recorded environment $B"

# down releases it; then the second environment may take it
expect_rc 0 "$SANDBOX" down $A
[ "$(sqlite3 "$SANDBOX_STATE" "SELECT count(*) FROM lease")" = 0 ] && pass || fail "down kept the lease"
SANDBOX_BMC_TIMEOUT=2s expect_rc_not 3 "$SANDBOX" up "$T/m.yaml" --name $B --no-wait
[ "$(sqlite3 "$SANDBOX_STATE" "SELECT env FROM lease WHERE machine = 'ipmi:192.0.2.7:6230'")" = $B ] &&
    pass || fail "no lease for $B after $A's down"

# a lease whose environment is gone (the env row deleted by hand): gc lists it, --delete keeps it
# (the BMC credentials went with the environment), --delete --force-foreign releases it
sqlite3 "$SANDBOX_STATE" "PRAGMA foreign_keys=OFF; DELETE FROM res WHERE env='$B'; DELETE FROM ipam WHERE env='$B';
    DELETE FROM env WHERE name='$B'" || fail "sqlite3"
expect_rc 0 "$SANDBOX" gc --uri test:///default
expect_out "^lease +ipmi:192\\.0\\.2\\.7:6230 \\(node db\\) +orphan +present env $B \\(state\\)$"
expect_rc 3 "$SANDBOX" gc --uri test:///default --delete
expect_out "kept: its environment and BMC credentials are gone"
[ "$(sqlite3 "$SANDBOX_STATE" "SELECT count(*) FROM lease")" = 1 ] && pass || fail "gc --delete released the lease"
expect_rc 0 "$SANDBOX" gc --uri test:///default --delete --force-foreign
expect_out "^lease +ipmi:192\\.0\\.2\\.7:6230 \\(node db\\) +orphan +deleted env $B"
[ "$(sqlite3 "$SANDBOX_STATE" "SELECT count(*) FROM lease")" = 0 ] && pass || fail "gc --force-foreign kept the lease"
finish
