#!/bin/sh
# The capacity pool: nodes with `provider: ipmi` and `match:` take machines of `machines:` whose
# tags fit and that no other environment leases. Three nodes for two fitting machines: `up` refuses
# (exit 3, naming the node that did not fit) before anything is recorded; two nodes: each gets its
# own machine, both leased, and a second `up` keeps them; a second environment is refused while the
# first holds them; `down` releases them. Needs no BMC and no libvirtd (test:///default): the pool is
# resolved and the leases taken before any BMC is contacted; the BMCs are unreachable (192.0.2.x is
# TEST-NET-1), so `up` then fails on them after SANDBOX_BMC_TIMEOUT=1s. Only the pool is checked.
. "$SBX_TOP/tests/lib/harness.sh"
command -v sqlite3 >/dev/null || skip "needs sqlite3"
A=pla$$ B=plb$$
export SANDBOX_BMC_TIMEOUT=1s
on_exit "$SANDBOX down $A; $SANDBOX down $B"
printf 'QFI\373' > "$T/blank.img"
# bp NODES...: a blueprint with the pool and a libvirt node, plus one matching node per name
bp() {
    cat <<'YAML'
apiVersion: sandbox/v1
name: x
site: { uri: test:///default, image: { path: blank.img } }
networks: [ { name: f } ]
machines:
  - { name: m-small, bmc: { address: 192.0.2.10, port: 6230, user: admin, password: "${secret.bmc}" },
      mac: "52:54:00:00:00:10", tags: { size: small } }
  - { name: m1, bmc: { address: 192.0.2.11, port: 6230, user: admin, password: "${secret.bmc}" },
      mac: "52:54:00:00:00:11", tags: { size: large, rack: r1 } }
  - { name: m2, bmc: { address: 192.0.2.12, port: 6230, user: admin, password: "${secret.bmc}" },
      mac: "52:54:00:00:00:12", tags: { size: large } }
nodes:
  - { name: w, memory: 64Mi, networks: [f] }
YAML
    for n in "$@"; do echo "  - { name: $n, provider: ipmi, match: { size: large } }"; done
}
bp a b c > "$T/three.yaml"
bp a b > "$T/two.yaml"
bp a > "$T/one.yaml"
for e in $A $B; do printf %s 's3cret-bmc' | "$SANDBOX" secret set $e bmc >/dev/null || fail "secret set $e"; done
leases() { sqlite3 "$SANDBOX_STATE" "SELECT machine || ' ' || env || ' ' || node FROM lease ORDER BY machine" | tr '\n' ';'; }
expect_rc_not() { want=$1; shift; OUT=$("$@" 2>&1); rc=$?; [ "$rc" -ne "$want" ] && pass || fail "exit $rc: $*"; }

expect_rc 0 "$SANDBOX" validate "$T/three.yaml"

# three nodes, two large machines: refused before anything is recorded
expect_rc 3 "$SANDBOX" up "$T/three.yaml" --name $A --no-wait
expect_out "node c: no free machine matches \\{size=large\\}: 2 fit; m1 is given to node a; m2 is given to node b"
expect_out "hint: nothing was created"
[ "$(sqlite3 "$SANDBOX_STATE" "SELECT count(*) FROM env")" = 0 ] && pass || fail "the refused up recorded an environment"
[ "$(leases)" = "" ] && pass || fail "the refused up took leases: $(leases)"

# the plan shows which machine each node gets
expect_rc 0 "$SANDBOX" plan "$T/two.yaml" --name $A --no-refresh
expect_out "^\\+ machine +sbx-$A\\.a-0 +new: boot pxe, power on \\(BMC 192\\.0\\.2\\.11:6230\\)$"
expect_out "^\\+ machine +sbx-$A\\.b-0 +new: boot pxe, power on \\(BMC 192\\.0\\.2\\.12:6230\\)$"

# two nodes: one machine each, both leased (up then fails on the unreachable BMCs)
expect_rc_not 3 "$SANDBOX" up "$T/two.yaml" --name $A --no-wait
held="ipmi:192.0.2.11:6230 $A a;ipmi:192.0.2.12:6230 $A b;"
[ "$(leases)" = "$held" ] && pass || fail "leases: $(leases), wanted $held"
# again, with the nodes listed the other way round: each keeps its machine
bp b a > "$T/two-ba.yaml"
expect_rc_not 3 "$SANDBOX" up "$T/two-ba.yaml" --name $A --no-wait
[ "$(leases)" = "$held" ] && pass || fail "a second up moved the leases: $(leases)"

# a second environment: both large machines are leased to the first
expect_rc 3 "$SANDBOX" up "$T/one.yaml" --name $B --no-wait
expect_out "node a: no free machine matches \\{size=large\\}: 2 fit; m1 is leased to environment $A; m2 is leased to environment $A"
[ "$(sqlite3 "$SANDBOX_STATE" "SELECT count(*) FROM env WHERE name = '$B'")" = 0 ] && pass || fail "the refused up recorded $B"
expect_no_out "s3cret-bmc"

# down releases them; then the second environment gets m1
expect_rc 0 "$SANDBOX" down $A
[ "$(leases)" = "" ] && pass || fail "down kept leases: $(leases)"
expect_rc_not 3 "$SANDBOX" up "$T/one.yaml" --name $B --no-wait
[ "$(leases)" = "ipmi:192.0.2.11:6230 $B a;" ] && pass || fail "leases of $B: $(leases)"
expect_rc 0 "$SANDBOX" down $B
finish
