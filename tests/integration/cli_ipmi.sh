#!/bin/sh
# `sandbox` against a bare-metal machine: OpenIPMI's ipmi_sim on loopback (ports from bind(0))
# fronting a QEMU machine its startcmd launches (ipmi-bmc-extern on the sim's VM serial port), so
# the power state is real. plan shows the machine's boot and power actions (read from the BMC),
# up powers it on (QEMU runs), a second plan has nothing to do, down powers it off (QEMU gone) and
# releases the lease; a wrong BMC password fails up with the auth error and never prints a
# password. The sim rejects the boot flags (no chassis_control program): up goes on with an event
# saying the machine keeps its own boot order (see tests/integration/test_ipmi.c for the sim that
# accepts them). The node's install target (disk, wipe) is in the plan.
. "$SBX_TOP/tests/lib/harness.sh"
for b in /usr/bin/ipmi_sim /usr/bin/qemu-system-x86_64 /usr/bin/setpriv /usr/bin/python3 /usr/bin/sqlite3; do
    [ -x "$b" ] || skip "needs $b"
done
E=ipm$$ W=ipw$$
freeport() { python3 -c 'import socket,sys; s=socket.socket(socket.AF_INET, getattr(socket, sys.argv[1])); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' "$1"; }
PORT=$(freeport SOCK_DGRAM) SERIAL=$(freeport SOCK_STREAM)
mkdir -p "$T/sim/state"
cat > "$T/sim/sim.emu" <<'EMU'
mc_setbmc 0x20
mc_add 0x20 0 no-device-sdrs 0x23 9 8 0x9f 0x1291 0xf02 persist_sdr
sel_enable 0x20 1000 0x0a
mc_enable 0x20
EMU
cat > "$T/sim/lan.conf" <<CONF
name "sbx"
set_working_mc 0x20
  startlan 1
    addr 127.0.0.1 $PORT
    priv_limit admin
    allowed_auths_admin none md2 md5 straight
    guid a123456789abcdefa123456789abcdef
  endlan
  serial 15 127.0.0.1 $SERIAL codec VM
  startcmd "/usr/bin/setpriv --pdeathsig KILL /usr/bin/qemu-system-x86_64 -machine pc -accel tcg -nodefaults -display none -m 64 -pidfile $T/sim/qemu.pid -chardev socket,id=ipmi0,host=127.0.0.1,port=$SERIAL,reconnect=1 -device ipmi-bmc-extern,chardev=ipmi0,id=bmc0 -device isa-ipmi-bt,bmc=bmc0"
  startnow false
  poweroff_wait 2
  kill_wait 2
  user 2 true "admin" "Bmc-pw-0451" admin 10 none md2 md5 straight
CONF
/usr/bin/ipmi_sim -c "$T/sim/lan.conf" -f "$T/sim/sim.emu" -s "$T/sim/state" -n > "$T/sim/sim.log" 2>&1 &
SIM=$!
# the machine goes with the sim (setpriv), the sim with the test; down first, while the BMC answers
on_exit "kill -9 $SIM; [ -s $T/sim/qemu.pid ] && kill -9 \$(cat $T/sim/qemu.pid)"
on_exit "$SANDBOX down $E; $SANDBOX down $W"

# qemu_alive: the machine's QEMU process runs (its pidfile names a live qemu-system process)
qemu_alive() { p=$(cat "$T/sim/qemu.pid" 2>/dev/null) && [ -n "$p" ] && grep -qs '^Name:.*qemu-system' /proc/$p/status &&
    ! grep -qs '^State:.*Z' /proc/$p/status; }
# wait_for SECONDS CMD...: until CMD succeeds (a deadline, polled every 0.2 s)
wait_for() { end=$(($(date +%s) + $1)); shift; until "$@"; do [ "$(date +%s)" -lt $end ] || return 1; sleep 0.2; done; }
wait_for 30 sh -c "ss -lun | grep -q '127.0.0.1:$PORT '" || { cat "$T/sim/sim.log" >&2; fail "ipmi_sim did not listen"; finish; }

cat > "$T/m.yaml" <<YAML
apiVersion: sandbox/v1
name: x
site: { uri: test:///default, image: { recipe: r } }
nodes:
  - { name: db, provider: ipmi, mac: "52:54:00:12:34:56", boot: pxe, wipe: true, disk: /dev/vda,
      bmc: { address: 127.0.0.1, port: $PORT, user: admin, password: "\${secret.bmc}" } }
YAML
printf %s 'Bmc-pw-0451' | "$SANDBOX" secret set $E bmc >/dev/null || fail "secret set"

expect_rc 0 "$SANDBOX" plan "$T/m.yaml" --name $E
expect_out "^\\+ machine +sbx-$E\\.db-0 +new: boot pxe, install to /dev/vda, wipe the disk first, power on \\(BMC 127\\.0\\.0\\.1:$PORT\\)$"
qemu_alive && fail "the machine runs before up" || pass

expect_rc 0 "$SANDBOX" up "$T/m.yaml" --name $E --no-wait
expect_no_out "Bmc-pw-0451"
# the sim rejects the boot flags: an event says the machine keeps its own boot order
expect_out "machine sbx-$E\\.db-0: the BMC 127\\.0\\.0\\.1:$PORT rejected the boot flags \\(boot pxe for the next boot: .+\\); the machine boots in its own boot order"
wait_for 60 qemu_alive && pass || fail "up did not start the machine's QEMU"
[ "$(sqlite3 "$SANDBOX_STATE" "SELECT env FROM lease WHERE machine = 'ipmi:127.0.0.1:$PORT'")" = $E ] &&
    pass || fail "no lease for $E"

expect_rc 0 "$SANDBOX" plan "$T/m.yaml" --name $E
expect_out "Plan: 0 to create, 0 to update, 0 to delete, 1 unchanged"

# a wrong password: the auth error, and no password printed. The same BMC under another address
# ("localhost") is another machine key, so the lease of $E does not refuse $W first.
sed "s/address: 127.0.0.1/address: localhost/" "$T/m.yaml" > "$T/w.yaml"
printf %s 'not-the-pw-77' | "$SANDBOX" secret set $W bmc >/dev/null || fail "secret set $W"
expect_rc 1 "$SANDBOX" plan "$T/w.yaml" --name $W
expect_out "machine sbx-$W\\.db-0: BMC localhost:$PORT: opening an RMCP\\+ session: wrong user name or password"
expect_no_out "not-the-pw-77|Bmc-pw-0451"

expect_rc 0 "$SANDBOX" down $E
expect_no_out "Bmc-pw-0451"
expect_out "removed +machine sbx-$E\\.db-0 \\(powered off through BMC 127\\.0\\.0\\.1:$PORT\\)$"
expect_out "removed +lease ipmi:127\\.0\\.0\\.1:$PORT \\(node db\\) released$"
wait_for 60 sh -c '! { p=$(cat '"$T"'/sim/qemu.pid 2>/dev/null) && grep -qs "^State:[^Z]*$" /proc/$p/status; }' && pass ||
    fail "down did not stop the machine's QEMU"
[ "$(sqlite3 "$SANDBOX_STATE" "SELECT count(*) FROM lease")" = 0 ] && pass || fail "down kept the lease"
finish
