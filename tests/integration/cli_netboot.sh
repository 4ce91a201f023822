#!/bin/sh
# The network boot service of an environment with a bare-metal node, started by the real CLI.
# Everything runs in two network namespaces this test creates: "host" (the environment's bridge
# with its .1 address, where `sandbox` runs with the libvirt test driver and an ipmi_sim BMC on
# loopback) and "metal" (the machine's NIC, a veth into that bridge, with the declared MAC).
# `up` starts dnsmasq and the HTTP side (an up killed right after that: the next one converges); ISC dhclient in "metal" gets the planned address and, as
# iPXE (user class iPXE), its script URL, as a plain PXE ROM the iPXE binary over TFTP; an
# undeclared MAC is ignored (dnsmasq logs it). Over HTTP: the script (install to /dev/sda, the
# seed URL, the stream's sha256), the seed, the kernel, the installer's initrd, the image's extent stream; paths
# outside the service's files are 404; /installed/NODE turns the script into the image's kernel
# with its root on the disk. Both processes killed: plan says "not running", up
# restarts them. `gc` finds a service whose environment is gone and deletes it. `down` stops the
# service even after its directory was deleted under it (found by its command line) and leaves no
# process and no file. The namespaces, BMC and blueprint: tests/lib/netboot.sh.
. "$SBX_TOP/tests/lib/harness.sh"
[ "$(id -u)" -eq 0 ] || skip "needs root (network namespaces)"
for b in /usr/bin/ipmi_sim /usr/sbin/dnsmasq /usr/sbin/dhclient /usr/bin/python3 /usr/bin/curl /usr/bin/sqlite3; do
    [ -x "$b" ] || skip "needs $b"
done
. "$SBX_TOP/tests/lib/netboot.sh"
printf %s 'Bmc-pw-0451' | "$SANDBOX" secret set $A bmc >/dev/null || fail "secret set"
on_exit "ip netns exec $H $SANDBOX down $A"

expect_rc 0 "$SANDBOX" plan "$T/bp/metal.yaml" --name $A --no-refresh
expect_out "^\\+ netboot +sbx-$A\\.boot\\.netboot +new$"
# killed right after the service started, before the journal says so: the row is there, not
# "created", and the service runs; the next up converges without restarting it
ip netns exec $H env SANDBOX_TEST_CRASH=netboot:after "$SANDBOX" up "$T/bp/metal.yaml" --name $A --no-wait >"$T/crash.out" 2>&1 &&
    fail "the crash point did not kill up: $(tail -3 "$T/crash.out")" || pass
st=$(sqlite3 "$SANDBOX_STATE" "SELECT status FROM res WHERE name = 'sbx-$A.boot.netboot'")
[ -n "$st" ] && [ "$st" != created ] && pass || fail "the service's row after the crash: '$st'"
D0=$(cat "$NB/dnsmasq.pid" 2>/dev/null) H0=$(cat "$NB/http.pid" 2>/dev/null)
kill -0 "$D0" 2>/dev/null && kill -0 "$H0" 2>/dev/null && pass || fail "the service does not run after the crash"
[ "$(cat "$S/power")" = 0 ] && pass || fail "the machine was powered on before its service was journaled"
expect_rc 0 inh "$SANDBOX" up "$T/bp/metal.yaml" --name $A --no-wait
[ "$(sqlite3 "$SANDBOX_STATE" "SELECT status FROM res WHERE name = 'sbx-$A.boot.netboot'")" = created ] && pass ||
    fail "the service's row after the second up"
[ "$(cat "$NB/dnsmasq.pid")" = "$D0" ] && [ "$(cat "$NB/http.pid")" = "$H0" ] && pass || fail "the second up restarted the running service"
spec=$(sqlite3 "$SANDBOX_STATE" "SELECT spec FROM res WHERE name = 'sbx-$A.boot.netboot'")
printf '%s' "$spec" | grep -q "\"bridge\":\"$BR\"" && printf '%s' "$spec" | grep -q "\"cidr\":\"$NET.0/24\"" && pass ||
    fail "the recorded service: $spec"
[ -f "$NB/owner" ] && grep -q "^env=$A$" "$NB/owner" && pass || fail "no owner file in $NB"
PORT=$(cat "$NB/http.port" 2>/dev/null)
[ -n "$PORT" ] && pass || fail "no HTTP port"
DPID=$(cat "$NB/dnsmasq.pid" 2>/dev/null) HPID=$(cat "$NB/http.pid" 2>/dev/null)
kill -0 "$DPID" 2>/dev/null && kill -0 "$HPID" 2>/dev/null && pass || fail "dnsmasq ($DPID) or the HTTP side ($HPID) is not running"
# the HTTP side keeps nothing of up's open: not the state
ls -l /proc/$HPID/fd 2>/dev/null | grep -q "$SANDBOX_STATE" && fail "the HTTP side holds the state open" || pass
[ "$(cat "$S/power")" = 1 ] && pass || fail "the machine was not powered on"

# dhcp AS: one DHCP exchange on eth0 of the metal namespace; the script's lines in $T/dhcp.AS
dhcp() {
    cat > "$T/dhclient.$1.conf" <<CONF
timeout 30;
retry 1;
${2:-}
CONF
    printf '#!/bin/sh\necho "$reason ip=$new_ip_address file=$new_filename" >> %s\n' "$T/dhcp.$1" > "$T/dhclient.sh"
    chmod +x "$T/dhclient.sh"
    rm -f "$T/dhcp.$1" "$T/dhclient.lease"
    inm dhclient -1 -d -cf "$T/dhclient.$1.conf" -sf "$T/dhclient.sh" -lf "$T/dhclient.lease" -pf "$T/dhclient.pid" eth0 > "$T/dhclient.$1.log" 2>&1 &
    echo $! > "$T/dhclient.run"
}
dhcp_stop() { kill "$(cat "$T/dhclient.run")" 2>/dev/null; wait "$(cat "$T/dhclient.run")" 2>/dev/null; }
bound() { grep -q "^BOUND" "$T/dhcp.$1" 2>/dev/null; }
IP=$NET.249
# as iPXE: the planned address and the URL of its script
dhcp ipxe 'send user-class "iPXE";'
until_true 60 bound ipxe || fail "no lease as iPXE: $(cat "$T/dhclient.ipxe.log" "$NB/dnsmasq.log" 2>&1 | tail -20)"
dhcp_stop
grep -q "^BOUND ip=$IP file=http://$NET.1:$PORT/ipxe/db-0$" "$T/dhcp.ipxe" && pass || fail "iPXE lease: $(cat "$T/dhcp.ipxe")"
# as a plain PXE ROM: the iPXE binary over TFTP (when Debian's ipxe is installed)
if [ -f /usr/lib/ipxe/undionly.kpxe ]; then
    dhcp pxe ''
    until_true 60 bound pxe || fail "no lease as PXE"
    dhcp_stop
    grep -q "^BOUND ip=$IP file=undionly.kpxe$" "$T/dhcp.pxe" && pass || fail "PXE lease: $(cat "$T/dhcp.pxe")"
fi
# an undeclared MAC: ignored (dnsmasq says so), never offered
ip -n $M link set eth0 address $OTHER
dhcp other 'send user-class "iPXE";'
until_true 60 grep -q "$OTHER ignored" "$NB/dnsmasq.log" && pass || fail "dnsmasq did not ignore $OTHER: $(tail -5 "$NB/dnsmasq.log")"
dhcp_stop
bound other && fail "an undeclared MAC got a lease: $(cat "$T/dhcp.other")" || pass
ip -n $M link set eth0 address $MAC

# HTTP from the machine's side
ip -n $M addr add $IP/24 dev eth0
U=http://$NET.1:$PORT
get() { inm curl -s --path-as-is -o "$T/body" -w '%{http_code}' "$@"; }
[ "$(get $U/ipxe/db-0)" = 200 ] && pass || fail "GET /ipxe/db-0"
SUM=$(cat "$NB/image.stream.sha256" 2>/dev/null)
grep -q "^kernel $U/boot/kernel initrd=initrd initrd=installer ip=dhcp ds=nocloud-net;s=$U/seed/db-0/ sandbox.image=$U/image sandbox.install=/dev/sda sandbox.wipe=1 sandbox.installed=$U/installed/db-0 sandbox.sha256=$SUM console=ttyS0$" "$T/body" &&
    grep -q "^initrd --name initrd $U/boot/initrd$" "$T/body" && grep -q "^initrd --name installer $U/boot/installer$" "$T/body" &&
    pass || fail "the script: $(cat "$T/body")"
[ "$(get $U/seed/db-0/meta-data)" = 200 ] && grep -q '^local-hostname: "db-0"$' "$T/body" && pass || fail "meta-data: $(cat "$T/body")"
pub=$(inh "$SANDBOX" outputs $A --json 2>/dev/null | python3 -c 'import json,sys; d=json.load(sys.stdin); print(open(d["ssh_key"]+".pub").read().split()[1])' 2>/dev/null)
[ "$(get $U/seed/db-0/user-data)" = 200 ] && head -1 "$T/body" | grep -q '^#cloud-config$' && { [ -z "$pub" ] || grep -q "$pub" "$T/body"; } &&
    pass || fail "user-data: $(cat "$T/body")"
[ "$(get $U/seed/db-0/network-config)" = 200 ] && grep -q "$IP/24" "$T/body" && pass || fail "network-config: $(cat "$T/body")"
[ "$(get $U/boot/kernel)" = 200 ] && cmp -s "$T/body" "$T/bp/vmlinuz" && pass || fail "the kernel: $(cat "$T/body")"
# the installer's initrd (a newc cpio with an /init) and the image as an extent stream (its one
# MiB), whose sha256 the script names
[ "$(get $U/boot/installer)" = 200 ] && [ "$(head -c 6 "$T/body")" = 070701 ] && grep -aq "sandbox installer" "$T/body" &&
    pass || fail "the installer: $(head -c 200 "$T/body")"
[ "$(get $U/image)" = 200 ] && [ "$(head -2 "$T/body")" = "sandbox-image 1 1 1
0 1" ] && [ "$(tail -1 "$T/body")" = end ] && [ "$(wc -c < "$T/body")" = $((1048576 + 28)) ] &&
    pass || fail "the image stream: $(head -c 100 "$T/body")"
[ "$(sha256sum < "$T/body" | cut -c1-64)" = "$SUM" ] && pass || fail "the stream's sha256 is not the script's $SUM"
for p in /owner /files /dnsmasq.conf /seed/db-0/../../owner /ipxe/../owner /ipxe/..%2Fowner /seed/db-0/owner \
         /seed/../files/x /boot/../owner /ipxe/db-0.installed /ipxe/other-0 /installed/other-0 /www/ipxe/db-0 //owner; do
    code=$(get "$U$p")
    [ "$code" = 404 ] && pass || fail "GET $p answered $code: $(head -c 200 "$T/body")"
done
[ "$(get -X POST $U/ipxe/db-0)" = 405 ] && pass || fail "POST answered"
# the installer reports done: the machine then boots its disk
[ "$(get $U/installed/db-0)" = 200 ] && [ "$(get $U/ipxe/db-0)" = 200 ] &&
    grep -q "^kernel $U/boot/kernel initrd=initrd ip=dhcp ds=nocloud-net;s=$U/seed/db-0/ console=ttyS0 root=/dev/sda$" "$T/body" &&
    ! grep -q installer "$T/body" && pass || fail "after /installed: $(cat "$T/body")"
grep -q "GET /ipxe/db-0 200" "$NB/http.log" && grep -q "GET /owner 404" "$NB/http.log" && pass || fail "the HTTP log: $(tail -5 "$NB/http.log")"

# a crash: both processes gone; plan sees it, up restarts them
kill -9 "$DPID" "$HPID"
until_true 10 sh -c "! kill -0 $DPID 2>/dev/null && ! kill -0 $HPID 2>/dev/null"
expect_rc 0 inh "$SANDBOX" plan "$T/bp/metal.yaml" --name $A
expect_out "^\\+ netboot +sbx-$A\\.boot\\.netboot +not running$"
expect_rc 0 inh "$SANDBOX" up "$T/bp/metal.yaml" --name $A --no-wait
D2=$(cat "$NB/dnsmasq.pid" 2>/dev/null) H2=$(cat "$NB/http.pid" 2>/dev/null)
[ "$D2" != "$DPID" ] && kill -0 "$D2" 2>/dev/null && [ "$H2" != "$HPID" ] && kill -0 "$H2" 2>/dev/null && pass ||
    fail "up did not restart the service ($D2, $H2)"
PORT=$(cat "$NB/http.port")
[ "$(get http://$NET.1:$PORT/ipxe/db-0)" = 200 ] && grep -q " root=/dev/sda$" "$T/body" && pass || fail "after the restart: $(cat "$T/body")"
# (the test driver's network is per process: only the service and the machine are unchanged)
expect_rc 0 inh "$SANDBOX" plan "$T/bp/metal.yaml" --name $A
expect_no_out "netboot|machine"

# gc: a service directory of this state whose environment is gone (with a process naming it) is
# an orphan; --delete stops the process and deletes the directory
G="$SANDBOX_NETBOOT_DIR/sbx-ghost$$.boot.netboot"
mkdir -p "$G"
printf 'state_id=%s\nenv_id=ghost\nenv=ghost%s\nprotect=0\n' "$(sqlite3 "$SANDBOX_STATE" "SELECT value FROM meta WHERE key = 'state_id'")" $$ > "$G/owner"
sh -c 'sleep 300; : "$0"' "$G/dnsmasq.conf" &
GPID=$!
expect_rc 0 "$SANDBOX" gc --uri test:///default
expect_out "^netboot +sbx-ghost$$\\.boot\\.netboot .*orphan"
expect_no_out "sbx-$A\\.boot\\.netboot"
expect_rc 0 "$SANDBOX" gc --uri test:///default --delete
until_true 10 sh -c "! kill -0 $GPID 2>/dev/null" && pass || fail "gc --delete left the ghost's process"
[ ! -e "$G" ] && pass || fail "gc --delete left $G"

# down: the service's files are deleted under it first (only the state is left): down still stops it
rm -rf "$NB"
expect_rc 0 inh "$SANDBOX" down $A
expect_out "netboot sbx-$A\\.boot\\.netboot"
none_left() { ! ps -eo pid,args | grep -F -- "$NB" | grep -qv grep; }
until_true 10 none_left && pass || fail "left running: $(ps -eo pid,args | grep -F -- "$NB" | grep -v grep)"
[ ! -e "$NB" ] && pass || fail "$NB is left"
[ "$(cat "$S/power")" = 0 ] && pass || fail "the machine was not powered off"
finish
