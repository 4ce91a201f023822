#!/bin/sh
# The capacity pool against two simulated machines: OpenIPMI's ipmi_sim on loopback (ports from
# bind(0)), each with a chassis_control program that keeps the machine's power and boot device in
# files, so ipmi_sim accepts the boot flags and the power is observable (tests/lib/bmc_sim.sh).
# Nodes with `provider: ipmi` and `match:` take machines of `machines:` whose tags fit and that no
# other environment leases. Three nodes for two fitting machines: `up` refuses (exit 3, naming the
# node that did not fit) before anything is recorded or powered; two nodes: each gets its own
# machine (booted from the network, powered on), both leased, and a second `up` keeps them; a
# second environment is refused while the first holds them; dropping a node from the blueprint
# powers its machine off and releases it for another environment; `down` powers off and releases.
. "$SBX_TOP/tests/lib/harness.sh"
for b in /usr/bin/ipmi_sim /usr/bin/python3 /usr/bin/sqlite3; do
    [ -x "$b" ] || skip "needs $b"
done
A=pla$$ B=plb$$
. "$SBX_TOP/tests/lib/bmc_sim.sh"
bmc_sim "$T/sim1" 1
bmc_sim "$T/sim2" 2
P1=$(cat "$T/sim1/port") P2=$(cat "$T/sim2/port")
# down before the sims are killed, while the BMCs answer
on_exit "$SANDBOX down $A; $SANDBOX down $B"

# bp NODES...: a blueprint with the pool (a small machine that is never reachable, two large
# simulated ones), plus one node matching size: large per name
bp() {
    cat <<YAML
apiVersion: sandbox/v1
name: x
site: { uri: test:///default, image: { recipe: r } }
machines:
  - { name: m-small, bmc: { address: 192.0.2.10, port: 6230, user: admin, password: "\${secret.bmc}" },
      mac: "52:54:00:00:00:10", tags: { size: small } }
  - { name: m1, bmc: { address: 127.0.0.1, port: $P1, user: admin, password: "\${secret.bmc}" },
      mac: "52:54:00:00:00:11", tags: { size: large, rack: r1 } }
  - { name: m2, bmc: { address: 127.0.0.1, port: $P2, user: admin, password: "\${secret.bmc}" },
      mac: "52:54:00:00:00:12", tags: { size: large } }
nodes:
YAML
    for n in "$@"; do echo "  - { name: $n, provider: ipmi, match: { size: large } }"; done
}
bp a b c > "$T/three.yaml"
bp a b > "$T/two.yaml"
bp b a > "$T/two-ba.yaml"
bp a > "$T/one.yaml"
for e in $A $B; do printf %s 'Bmc-pw-0451' | "$SANDBOX" secret set $e bmc >/dev/null || fail "secret set $e"; done
leases() { sqlite3 "$SANDBOX_STATE" "SELECT machine || ' ' || env || ' ' || node FROM lease ORDER BY env, node" | tr '\n' ';'; }
powers() { echo "$(cat "$T/sim1/power") $(cat "$T/sim2/power")"; }

expect_rc 0 "$SANDBOX" validate "$T/three.yaml"

# three nodes, two large machines: refused before anything is recorded or powered
expect_rc 3 "$SANDBOX" up "$T/three.yaml" --name $A --no-wait
expect_out "node c: no free machine matches \\{size=large\\}: 2 fit; m1 is given to node a; m2 is given to node b"
expect_out "hint: nothing was created"
[ "$(sqlite3 "$SANDBOX_STATE" "SELECT count(*) FROM env")" = 0 ] && pass || fail "the refused up recorded an environment"
[ "$(leases)" = "" ] && pass || fail "the refused up took leases: $(leases)"
[ "$(powers)" = "0 0" ] && pass || fail "the refused up powered machines: $(powers)"

# the plan shows which machine each node gets
expect_rc 0 "$SANDBOX" plan "$T/two.yaml" --name $A
expect_out "^\\+ machine +sbx-$A\\.a-0 +new: boot pxe, run the image from RAM, power on \\(BMC 127\\.0\\.0\\.1:$P1\\)$"
expect_out "^\\+ machine +sbx-$A\\.b-0 +new: boot pxe, run the image from RAM, power on \\(BMC 127\\.0\\.0\\.1:$P2\\)$"

# two nodes: one machine each, booted from the network, powered on, leased
expect_rc 0 "$SANDBOX" up "$T/two.yaml" --name $A --no-wait
expect_no_out "Bmc-pw-0451|rejected the boot flags"
held="ipmi:127.0.0.1:$P1 $A a;ipmi:127.0.0.1:$P2 $A b;"
[ "$(leases)" = "$held" ] && pass || fail "leases: $(leases), wanted $held"
[ "$(powers)" = "1 1" ] && pass || fail "power after up: $(powers)"
[ "$(cat "$T/sim1/boot" "$T/sim2/boot" | tr '\n' ' ')" = "pxe pxe " ] && pass ||
    fail "boot devices: $(cat "$T/sim1/boot" "$T/sim2/boot" 2>&1 | tr '\n' ' ')"
# again, with the nodes listed the other way round: each keeps its machine, nothing to do
expect_rc 0 "$SANDBOX" plan "$T/two-ba.yaml" --name $A
expect_out "Plan: 0 to create, 0 to update, 0 to delete, 2 unchanged"
expect_rc 0 "$SANDBOX" up "$T/two-ba.yaml" --name $A --no-wait
[ "$(leases)" = "$held" ] && pass || fail "a second up moved the leases: $(leases)"

# a second environment: both large machines are leased to the first
expect_rc 3 "$SANDBOX" up "$T/one.yaml" --name $B --no-wait
expect_out "node a: no free machine matches \\{size=large\\}: 2 fit; m1 is leased to environment $A; m2 is leased to environment $A"
[ "$(sqlite3 "$SANDBOX_STATE" "SELECT count(*) FROM env WHERE name = '$B'")" = 0 ] && pass || fail "the refused up recorded $B"

# the first environment drops node b: its machine is powered off and its lease released; then the
# second environment gets that machine
expect_rc 0 "$SANDBOX" up "$T/one.yaml" --name $A --no-wait
expect_out "released the lease of ipmi:127\\.0\\.0\\.1:$P2 \\(node b is gone from the blueprint\\)"
[ "$(leases)" = "ipmi:127.0.0.1:$P1 $A a;" ] && pass || fail "leases after dropping node b: $(leases)"
[ "$(powers)" = "1 0" ] && pass || fail "power after dropping node b: $(powers)"
expect_rc 0 "$SANDBOX" up "$T/one.yaml" --name $B --no-wait
[ "$(leases)" = "ipmi:127.0.0.1:$P1 $A a;ipmi:127.0.0.1:$P2 $B a;" ] && pass || fail "leases with $B: $(leases)"
[ "$(powers)" = "1 1" ] && pass || fail "power after $B's up: $(powers)"

# down powers the machines off and releases them
expect_rc 0 "$SANDBOX" down $A
expect_rc 0 "$SANDBOX" down $B
[ "$(powers)" = "0 0" ] && pass || fail "power after down: $(powers)"
[ "$(leases)" = "" ] && pass || fail "down kept leases: $(leases)"
finish
