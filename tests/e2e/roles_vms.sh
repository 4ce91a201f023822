#!/bin/sh
# End to end: the roles on real VMs. examples/govstack.yaml (router, 2 BGP load balancers, a backend,
# PostgreSQL) extended so the backend node runs the mocks and the VIP forwards to the SMS mock:
#   1. `up` applies every role; outputs give DATABASE_URL, the VIP and the mock URLs.
#   2. from inside the router VM: BGP Established with both LBs, the VIP route via both (ECMP),
#      an HTTP request to the VIP answered by the backend through HAProxy; the same request from
#      this host, through the route `up` set via the router.
#   3. psql through pgbouncer with the generated credentials, from the backend node.
#   3b. the mocks run as sbx-mocks, want MOCK_API_KEY (401 without it), and refuse a status
#      callback to the node's loopback.
#   4. a second `up` changes no file, starts and reloads nothing; `plan` asks the nodes and agrees,
#      and shows exactly the files and reloads a changed VIP backend port would cause.
#   5. HAProxy stopped on lb-0: the router withdraws that path, the VIP still answers via lb-1.
#   6. `down` leaves nothing tagged with the environment.
. "$SBX_TOP/tests/lib/harness.sh"
URI=qemu:///system
V="virsh -c $URI"
[ "$(id -u)" -eq 0 ] || skip "needs root (libvirt qemu:///system, image build)"
$V version >/dev/null 2>&1 || sh "$SBX_TOP/tests/libvirt-up.sh" >/dev/null 2>&1 || skip "libvirtd is not running"
IMG=$(sh "$SBX_TOP/tests/image/build.sh" debian-12) || skip "cannot build the test image"
echo "image: $IMG"
# the VMs run the plain (not sanitizer) mock builds
export SANDBOX_MOCK_BIN_DIR="$SBX_TOP/${BUILD:-build}"
[ -x "$SANDBOX_MOCK_BIN_DIR/sbx-mock-sms" ] || skip "no $SANDBOX_MOCK_BIN_DIR/sbx-mock-sms (run make)"

E=roles$$
on_exit "$SANDBOX down $E"
cp "$SBX_TOP/examples/govstack.yaml" "$T/govstack.yaml"
cat > "$T/e2e.yaml" <<YAML
extends: govstack.yaml
name: e2e-roles
lifetime: { ttl: 1h, max_ttl: 2h }
nodes:
  - { name: web, roles: [mocks] }
vips:
  - { name: www, backend: { nodes: web, port: 8081 } }
mocks: { sms: {}, mail: {}, payment: {} }
YAML

# 1. up
expect_rc 0 "$SANDBOX" up "$T/e2e.yaml" --name $E --json
[ "$rc" -eq 0 ] || { fail "up failed: the remaining checks need the environment"; finish; }
expect_out '"event":"roles.done"'
UPOUT=$OUT
printf '%s\n' "$OUT" | grep '"event":"roles.done"' | sed 's/.*"message":"\([^"]*\)".*/up: \1/'
expect_rc 0 "$SANDBOX" outputs $E --format env
expect_out '^DATABASE_URL=postgresql://dilosi:[A-Za-z0-9]+@[0-9.]+:6432/dilosi$'
expect_out '^MOCK_SMS_URL=http://'
expect_out '^MOCK_API_KEY=[A-Za-z0-9_-]+$'
expect_out '^MOCK_WEBHOOK_SECRET=[A-Za-z0-9_-]+$'
expect_out '^TWILIO_ACCOUNT_SID=AC[A-Za-z0-9]+$'
expect_out '^TWILIO_AUTH_TOKEN=[A-Za-z0-9_-]+$'
expect_out '^TWILIO_API_BASE=http://[0-9.]+:8081$'
expect_out '^STRIPE_API_KEY=sk_test_[A-Za-z0-9_-]+$'
expect_out '^STRIPE_API_BASE=http://[0-9.]+:8083$'
expect_out '^STRIPE_WEBHOOK_SECRET=whsec_[A-Za-z0-9_-]+$'
expect_out '^VIP_WWW_ADDR=[0-9.]+:80$'
ENVOUT=$OUT
VIP=$(printf '%s\n' "$ENVOUT" | sed -n 's/^VIP_WWW_ADDR=\([0-9.]*\):80$/\1/p')
DBURL=$(printf '%s\n' "$ENVOUT" | sed -n 's/^DATABASE_URL=//p')
MOCKKEY=$(printf '%s\n' "$ENVOUT" | sed -n 's/^MOCK_API_KEY=//p')
TWTOKEN=$(printf '%s\n' "$ENVOUT" | sed -n 's/^TWILIO_AUTH_TOKEN=//p')
SKKEY=$(printf '%s\n' "$ENVOUT" | sed -n 's/^STRIPE_API_KEY=sk_test_//p')
# the text format never shows the password
expect_rc 0 "$SANDBOX" outputs $E
expect_out 'DATABASE_URL.*dilosi:\*\*\*\*@'
expect_no_out "${DBURL#postgresql://dilosi:}"
expect_out 'MOCK_API_KEY.*\*\*\*\*'
expect_no_out "$MOCKKEY"
expect_out 'TWILIO_AUTH_TOKEN.*\*\*\*\*'
expect_no_out "$TWTOKEN"
expect_out 'STRIPE_API_KEY.*\*\*\*\*'
expect_no_out "$SKKEY"

# 2. from the router
expect_rc 0 "$SANDBOX" ssh $E router -- sudo -n birdc -s /run/sbx/bird.ctl show protocols
n=$(printf '%s\n' "$OUT" | grep -c 'BGP .*Established')
[ "$n" -eq 2 ] && pass || fail "router: $n BGP session(s) Established, want 2"
expect_rc 0 "$SANDBOX" ssh $E router -- ip route show "$VIP"
n=$(printf '%s\n' "$OUT" | grep -c 'nexthop via')
[ "$n" -eq 2 ] && pass || fail "router: VIP route has $n nexthop(s), want 2 (ECMP)"
expect_rc 0 "$SANDBOX" ssh $E router -- curl -sS -m 5 "http://$VIP/healthz"
expect_out '"ok"'
# and from this host: up routed the VIP block through the router
expect_out_of_up=$(printf '%s\n' "$UPOUT" | grep -c '"event":"vip.route".*routed from this host')
[ "$expect_out_of_up" -eq 1 ] && pass || fail "up did not route the VIP block from this host"
expect_rc 0 ip route show "${VIP%.*}.0/24"
expect_out "via [0-9.]+ dev "
expect_rc 0 curl -sS -m 10 "http://$VIP/healthz"
expect_out '"ok"'

# 3. PostgreSQL through pgbouncer with the generated credentials
expect_rc 0 "$SANDBOX" ssh $E web -- psql "$DBURL" -tAc "select current_user || '@' || current_database()"
expect_out '^dilosi@dilosi$'
expect_rc 2 "$SANDBOX" ssh $E web -- psql "$(printf '%s' "$DBURL" | sed 's/:[A-Za-z0-9]*@/:wrong@/')" -tAc 'select 1'

# 3b. the mocks: unprivileged, behind the environment's API key, callbacks confined
expect_rc 0 "$SANDBOX" ssh $E web -- pgrep -c -u sbx-mocks -f /usr/local/lib/sbx/sbx-mock-
expect_out '^3$'
expect_rc 1 "$SANDBOX" ssh $E web -- pgrep -u root -f /usr/local/lib/sbx/sbx-mock-
expect_rc 0 "$SANDBOX" ssh $E web -- curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:8081/v1/messages
expect_out '^401$'
expect_rc 0 "$SANDBOX" ssh $E web -- curl -s -o /dev/null -w '%{http_code}' -H "X-Api-Key: $MOCKKEY" \
    http://127.0.0.1:8081/v1/messages
expect_out '^200$'
expect_rc 0 "$SANDBOX" ssh $E web -- curl -s -H "Authorization: Bearer $MOCKKEY" -d \
    '{"to":"+15557770001","from":"Acme","body":"x","status_callback":"http://127.0.0.1:8083/"}' \
    http://127.0.0.1:8081/v1/messages
expect_out 'callback_not_allowed'

# 4. a second up changes nothing
expect_rc 0 "$SANDBOX" up "$T/e2e.yaml" --name $E --json
expect_out 'plan: 0 to create, 0 to update, 0 to delete'
expect_out '"event":"roles.done".*0 file\(s\) changed, 0 start\(s\), 0 reload\(s\)'

# 4b. plan asks the nodes: nothing to change; a changed backend port shows exactly the HAProxy
#     config of both LBs and a reload, and the nodes are left as they were
expect_rc 0 "$SANDBOX" plan "$T/e2e.yaml" --name $E
expect_out 'Plan: 0 to create, 0 to update, 0 to delete'
expect_out 'Roles on 5 existing node\(s\): 0 file\(s\) to change, 0 service action\(s\), 0 node\(s\) unreachable'
sed 's/port: 8081/port: 8082/' "$T/e2e.yaml" > "$T/e2e-port.yaml"
expect_rc 0 "$SANDBOX" plan "$T/e2e-port.yaml" --name $E --json
n=$(printf '%s\n' "$OUT" | grep -c '"what": "/etc/haproxy/haproxy.cfg"')
[ "$n" -eq 2 ] && pass || fail "plan: haproxy.cfg to change on $n LB(s), want 2"
n=$(printf '%s\n' "$OUT" | grep -c '"action": "reload"')
[ "$n" -eq 2 ] && pass || fail "plan: $n reload(s), want 2 (haproxy on each LB)"
expect_rc 0 "$SANDBOX" up "$T/e2e.yaml" --name $E --json
expect_out '"event":"roles.done".*0 file\(s\) changed, 0 start\(s\), 0 reload\(s\)'

# HAProxy's workers run unprivileged
expect_rc 0 "$SANDBOX" ssh $E lb-0 -- ps -o user= -C haproxy
expect_out '^haproxy$'

# 5. failover: HAProxy stops on lb-0
LB0=$("$SANDBOX" outputs $E --format env | sed -n 's/^SANDBOX_NODE_LB_0_IP=//p')
expect_rc 0 "$SANDBOX" ssh $E lb-0 -- sudo -n /usr/local/lib/sbx/sbx-svc "" stop haproxy
gone=0 i=0 t0=$(date +%s%N)
while [ $i -lt 60 ]; do
    "$SANDBOX" ssh $E router -- ip route show "$VIP" >"$T/route" 2>&1
    if ! grep -q "$LB0" "$T/route"; then gone=1; break; fi
    sleep 0.5; i=$((i + 1))
done
echo "failover: route via lb-0 withdrawn on the router $(( ($(date +%s%N) - t0) / 1000000 )) ms after HAProxy stopped (poll: ssh + 0.5 s)"
[ $gone -eq 1 ] && pass || { fail "route via lb-0 ($LB0) still present after 60 polls"; cat "$T/route" >&2; }
expect_rc 0 "$SANDBOX" ssh $E router -- curl -sS -m 5 "http://$VIP/healthz"
expect_out '"ok"'

# 6. down
expect_rc 0 "$SANDBOX" down $E
expect_out "nothing tagged with $E remains"
[ "$(leftovers $E)" -eq 0 ] && pass || fail "virsh still shows $(leftovers $E) object(s) of $E"
[ -z "$(ip route show "${VIP%.*}.0/24" 2>/dev/null)" ] && pass ||
    fail "a route to the VIP block outlived the environment"
finish
