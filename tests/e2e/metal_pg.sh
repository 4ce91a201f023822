#!/bin/sh
# A VM and a bare-metal machine on one libvirt network (qemu:///system): the machine (ipmi_sim in
# front of a QEMU TCG machine, iPXE as -kernel on a virtio NIC, an empty disk; tests/lib/bmc_sim.sh)
# has its NIC in the network's bridge, through a tap its QEMU makes when the BMC powers it on, as a
# real server on the VMs' L2 would. The first `up` has the VM alone: its network has libvirt's DHCP
# range. The second adds the machine: the network loses the range, live and persistent, the VM
# running on (same domain); libvirt's dnsmasq serves no DHCP there any more, sandbox's network boot
# service is its one DHCP server and answers the machine's MAC only. That `up` powers the machine
# on; it gets its planned address from that service (DHCPACK in its log), installs the image,
# boots its disk, becomes SSH-ready and takes the postgres role; the VM (role plain) runs psql
# through pgbouncer on the machine with DATABASE_URL. `down` powers the machine off (QEMU gone, the
# BMC says off), releases the lease, stops the service, and leaves no libvirt object, bridge or tap.
# The blueprint names the image as a user would, `recipe: debian-12`: the VM's disk and the
# machine's kernel, initrd, command line and installed image all come from the recipe's build.
# Deadlines are generous (TCG on a shared machine).
. "$SBX_TOP/tests/lib/harness.sh"
URI=qemu:///system
V="virsh -c $URI"
[ "$(id -u)" -eq 0 ] || skip "needs root (libvirt qemu:///system, a tap device, the image build)"
for b in /usr/bin/ipmi_sim /usr/bin/ipmitool /usr/sbin/dnsmasq /usr/bin/python3 /usr/bin/sqlite3 \
         /usr/bin/qemu-system-x86_64 /usr/bin/qemu-img /usr/lib/ipxe/ipxe.lkrn /bin/busybox; do
    [ -e "$b" ] || skip "needs $b (Debian: openipmi, ipmitool, dnsmasq-base, qemu-system-x86, qemu-utils, ipxe, busybox-static)"
done
$V version >/dev/null 2>&1 || sh "$SBX_TOP/tests/libvirt-up.sh" >/dev/null 2>&1 || skip "libvirtd is not running"
IMG=$(sh "$SBX_TOP/tests/image/build.sh" debian-12) || skip "cannot build the test image"
A=mpg$$ TAP=sbxmt$$
MAC=52:54:00:ab:ce:$(printf %02x $(($$ % 256)))
NET=10.$((150 + $$ % 100)).$(($$ % 100 * 2)) NET2=10.$((150 + $$ % 100)).$(($$ % 100 * 2 + 1))
export SANDBOX_IPAM_POOL="$NET.0/23" SANDBOX_NETBOOT_DIR="$T/netboot" SANDBOX_BMC_TIMEOUT=10s
export SANDBOX_READY_TIMEOUT=${SBX_METAL_READY_TIMEOUT:-1800}
chmod 0755 "$T"
BR=sbx$(printf %s "sbx-$A.lan" | sha256sum | cut -c1-8)
NB="$SANDBOX_NETBOOT_DIR/sbx-$A.lan.netboot"
. "$SBX_TOP/tests/lib/bmc_sim.sh"
S=$T/sim
bmc_sim "$S"
BMC=$(cat "$S/port")

# the machine: powered on by the BMC; its NIC a tap QEMU makes and puts in the network's bridge
qemu-img create -q -f qcow2 "$T/machine.qcow2" "$(qemu-img info --output=json "$IMG/disk.qcow2" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["virtual-size"])')" || fail "cannot create the machine's disk"
printf '#!/bin/sh\nip link set "$1" master %s && ip link set "$1" up\n' "$BR" > "$S/ifup"
cat > "$S/on" <<ON
#!/bin/sh
qemu-system-x86_64 -machine pc,accel=tcg -m 1024 -display none -serial file:$T/console.log \
    -kernel /usr/lib/ipxe/ipxe.lkrn \
    -netdev tap,id=n0,ifname=$TAP,script=$S/ifup,downscript=no -device virtio-net-pci,netdev=n0,mac=$MAC,romfile= \
    -drive file=$T/machine.qcow2,if=virtio,format=qcow2 \
    -pidfile $T/qemu.pid -daemonize > $T/qemu.log 2>&1
ON
printf '#!/bin/sh\n[ -f %s ] && kill "$(cat %s)"\n' "$T/qemu.pid" "$T/qemu.pid" > "$S/off"
chmod +x "$S/on" "$S/off" "$S/ifup"
on_exit "ip link del $TAP"
on_exit '[ -f "$T/qemu.pid" ] && kill -9 "$(cat "$T/qemu.pid")"'

mkdir -p "$T/bp"
# vm.yaml: the VM alone; metal-pg.yaml: the same and the machine with the postgres role
cat > "$T/bp/vm.yaml" <<YAML
apiVersion: sandbox/v1
name: metal-pg
lifetime: { ttl: 2h }
site: { uri: $URI, image: { recipe: debian-12 } }
networks: [ { name: lan, mode: isolated, cidr: $NET.0/24 } ]
nodes:
  - { name: app, cpus: 1, memory: 1Gi, roles: [plain], networks: [lan] }
YAML
{ cat "$T/bp/vm.yaml"; cat <<YAML; } > "$T/bp/metal-pg.yaml"
  - { name: db, provider: ipmi, roles: [postgres], networks: [lan], mac: "$MAC", disk: /dev/vda, wipe: true,
      bmc: { address: 127.0.0.1, port: $BMC, user: admin, password: "\${secret.bmc}" } }
database:
  databases: [ { name: app, owner: app } ]
  pooler: { mode: transaction, default_pool_size: 20 }
YAML
sed "s#cidr: $NET.0/24#cidr: $NET2.0/24#" "$T/bp/metal-pg.yaml" > "$T/bp/moved.yaml"
printf %s 'Bmc-pw-0451' | "$SANDBOX" secret set $A bmc >/dev/null || fail "secret set"
on_exit "$SANDBOX down $A"

# 1. the VM alone: libvirt's DHCP range on its network
expect_rc 0 "$SANDBOX" up "$T/bp/vm.yaml" --name $A
$V net-dumpxml sbx-$A.lan 2>/dev/null | grep -q "<range start='$NET.100' end='$NET.199'" && pass ||
    fail "no DHCP range on the VMs' network: $($V net-dumpxml sbx-$A.lan 2>&1)"
VMID=$($V domuuid sbx-$A.app-0 2>/dev/null)

# 2. the machine joins the network
t0=$(date +%s)
expect_rc 0 "$SANDBOX" up "$T/bp/metal-pg.yaml" --name $A
echo "up: $(( $(date +%s) - t0 )) s" >&2
[ "$rc" -eq 0 ] || { printf '%s\n' "$OUT" | tail -20 >&2; tail -30 "$T/console.log" >&2; tail -20 "$NB/dnsmasq.log" >&2; }
QPID=$(cat "$T/qemu.pid" 2>/dev/null)
# one DHCP server on the network: libvirt's has no range there, the service answered the machine
$V net-dumpxml sbx-$A.lan 2>/dev/null | grep -q "<ip address='$NET.1'" && pass || fail "no network sbx-$A.lan at $NET.1"
$V net-dumpxml sbx-$A.lan 2>/dev/null | grep -q "<range" && fail "libvirt's DHCP has a range on the machine's network" || pass
$V net-dumpxml --inactive sbx-$A.lan 2>/dev/null | grep -q "<range" && fail "the network's persistent XML has a range" || pass
[ -n "$VMID" ] && [ "$($V domuuid sbx-$A.app-0 2>/dev/null)" = "$VMID" ] && [ "$($V domstate sbx-$A.app-0 2>/dev/null)" = running ] &&
    pass || fail "the VM was not kept running across the second up"
VNET=$($V domiflist sbx-$A.app-0 2>/dev/null | awk '$2 == "network" { print $1 }')
[ -n "$VNET" ] && ip -o link show master "$BR" 2>/dev/null | grep -q " $VNET:" && pass ||
    fail "the VM's NIC '$VNET' is not in $BR any more (the network was replaced, not updated)"
grep -q "DHCPACK($BR) $NET.249 $MAC db-0" "$NB/dnsmasq.log" 2>/dev/null && pass ||
    fail "the service did not lease $NET.249 to the machine: $(grep DHCP "$NB/dnsmasq.log" 2>/dev/null | tail -5)"
grep -qi "$MAC" "/var/lib/libvirt/dnsmasq/$BR.status" 2>/dev/null && fail "libvirt's dnsmasq leased to the machine" || pass
[ "$(ip -o link show master "$BR" 2>/dev/null | grep -c "$TAP")" = 1 ] && pass || fail "the machine's tap is not in $BR"
grep -q "^GET /installed/db-0 200$" "$NB/http.log" 2>/dev/null && pass || fail "the install was not reported"
# the recipe's build is what the service serves: its kernel and initrd, the stream of its disk, its
# command line on the script's kernel line
grep -qx "kernel $IMG/vmlinuz" "$NB/files" && grep -qx "initrd $IMG/initrd.img" "$NB/files" && pass ||
    fail "the service does not serve the recipe's kernel and initrd: $(cat "$NB/files")"
grep -q "^kernel .* root=/dev/vda console=ttyS0 net.ifnames=0 quiet .*root=/dev/vda$" "$NB/www/ipxe/db-0.installed" && pass ||
    fail "the installed script lacks the recipe's command line: $(cat "$NB/www/ipxe/db-0.installed")"
# the machine is a node with the postgres role; the VM reaches it through pgbouncer
[ "$("$SANDBOX" ssh $A db-0 -- uname -n 2>"$T/ssh.err")" = db-0 ] && pass || fail "ssh db-0: $(cat "$T/ssh.err")"
expect_rc 0 "$SANDBOX" ssh $A db-0 -- sh -c 'pgrep -x pgbouncer >/dev/null && pgrep -x postgres >/dev/null && echo both'
expect_out '^both$'
DBURL=$("$SANDBOX" outputs $A --format env 2>/dev/null | sed -n 's/^DATABASE_URL=//p')
case $DBURL in postgresql://app:*@$NET.249:6432/app) pass ;; *) fail "DATABASE_URL is '$DBURL'" ;; esac
expect_rc 0 "$SANDBOX" ssh $A app-0 -- psql "$DBURL" -tAc "select current_user || '@' || current_database()"
expect_out '^app@app$'
expect_rc 0 "$SANDBOX" ssh $A app-0 -- ip -4 -o addr show eth0
expect_out "inet $NET.10/24"
[ "$(sqlite3 "$SANDBOX_STATE" "SELECT count(*) FROM lease")" = 1 ] && pass || fail "no lease while up"

# 3. the network moves to another block: the machine is powered off before its network is
# replaced, its service moves to the new block (the HTTP side on the new address), and the machine,
# on again, boots its kept disk with the new seed (a new instance to cloud-init: the new address);
# the VM is replaced as on any network change; pgbouncer answers the VM at the new address
expect_rc 0 "$SANDBOX" plan "$T/bp/moved.yaml" --name $A
expect_out "^± machine +sbx-$A\\.db-0 +replaced: network lan cidr $NET\\.0/24 → $NET2\\.0/24: power off, then on"
expect_out "^~ netboot +sbx-$A\\.lan\\.netboot +changed"
t0=$(date +%s)
expect_rc 0 "$SANDBOX" up "$T/bp/moved.yaml" --name $A
echo "up (moved): $(( $(date +%s) - t0 )) s" >&2
[ "$rc" -eq 0 ] || { printf '%s\n' "$OUT" | tail -20 >&2; tail -30 "$T/console.log" >&2; }
[ "$(cat "$NB/http.addr" 2>/dev/null)" = "$NET2.1" ] && pass || fail "the HTTP side is not on $NET2.1"
grep -q "DHCPACK($BR) $NET2.249 $MAC db-0" "$NB/dnsmasq.log" 2>/dev/null && pass ||
    fail "the service did not lease $NET2.249 to the machine: $(grep DHCP "$NB/dnsmasq.log" 2>/dev/null | tail -5)"
[ "$(grep -c "^GET /installed/db-0 200$" "$NB/http.log" 2>/dev/null)" = 1 ] && pass || fail "the machine installed again"
expect_rc 0 "$SANDBOX" ssh $A db-0 -- ip -4 -o addr show eth0
expect_out "inet $NET2.249/24"
DBURL=$("$SANDBOX" outputs $A --format env 2>/dev/null | sed -n 's/^DATABASE_URL=//p')
case $DBURL in postgresql://app:*@$NET2.249:6432/app) pass ;; *) fail "DATABASE_URL is '$DBURL' after the move" ;; esac
expect_rc 0 "$SANDBOX" ssh $A app-0 -- psql "$DBURL" -tAc "select current_user || '@' || current_database()"
expect_out '^app@app$'
QPID=$(cat "$T/qemu.pid" 2>/dev/null)

expect_rc 0 "$SANDBOX" down $A
until_true 30 sh -c "! kill -0 $QPID 2>/dev/null" && pass || fail "down did not power the machine off (QEMU $QPID runs)"
expect_rc 0 env IPMI_PASSWORD=Bmc-pw-0451 ipmitool -I lanplus -H 127.0.0.1 -p $BMC -U admin -E chassis power status
expect_out "Chassis Power is off"
[ "$(sqlite3 "$SANDBOX_STATE" "SELECT count(*) FROM lease")" = 0 ] && pass || fail "down kept the lease"
none_left() { ! ps -eo pid,args | grep -F -- "$NB" | grep -qv grep; }
until_true 10 none_left && pass || fail "left running: $(ps -eo pid,args | grep -F -- "$NB" | grep -v grep)"
[ ! -e "$NB" ] && pass || fail "$NB is left"
[ "$(leftovers $A)" = 0 ] && pass || fail "libvirt objects of $A are left"
ip link show "$BR" >/dev/null 2>&1 && fail "the bridge $BR is left" || pass
until_true 10 sh -c "! ip link show $TAP >/dev/null 2>&1" && pass || fail "the tap $TAP is left"
finish
