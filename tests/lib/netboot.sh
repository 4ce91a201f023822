# netboot.sh — the setup the network boot service's tests share (source it after harness.sh):
# two network namespaces ($H: the environment's bridge $BR at $NET.1/24, where `sandbox` runs with
# the libvirt test driver; $M: the machine's side), an ipmi_sim BMC on $H's loopback whose chassis
# keeps the power in $S/power and runs $S/on / $S/off (when present) on power on / off, and a
# blueprint $T/bp/metal.yaml with one network `boot` and one bare-metal node `db` (MAC $MAC, disk
# $NB_DEV or /dev/sda, wiped; with NB_RAM=1 no disk: it runs the image from RAM; the image's kernel, initrd and disk from $NB_KERNEL, $NB_INITRD,
# $NB_DISK when set, else small text files; its command line $NB_CMDLINE or console=ttyS0). Sets A
# (the environment), NB (the service's directory), inh/inm.
# Cleanups are registered with on_exit.
A=nb$$ H=sbxnbh$$ M=sbxnbm$$
MAC=52:54:00:ab:cd:01 OTHER=52:54:00:ab:cd:99
NET=10.$((150 + $$ % 100)).$(($$ % 200))
export SANDBOX_IPAM_POOL="$NET.0/24" SANDBOX_NETBOOT_DIR="$T/netboot" SANDBOX_BMC_TIMEOUT=10s
chmod 0755 "$T"
BR=sbx$(printf %s "sbx-$A.boot" | sha256sum | cut -c1-8)
NB="$SANDBOX_NETBOOT_DIR/sbx-$A.boot.netboot"
inh() { ip netns exec $H "$@"; }
inm() { ip netns exec $M "$@"; }

ip netns add $H && ip netns add $M || skip "cannot create network namespaces"
on_exit "ip netns del $H; ip netns del $M"
on_exit "ip netns pids $H | xargs -r kill -9; ip netns pids $M | xargs -r kill -9"
ip -n $H link set lo up && ip -n $M link set lo up
ip -n $H link add $BR type bridge && ip -n $H addr add $NET.1/24 dev $BR && ip -n $H link set $BR up
ip -n $H link add nbh0 type veth peer name eth0 netns $M
ip -n $H link set nbh0 master $BR && ip -n $H link set nbh0 up
ip -n $M link set eth0 address $MAC && ip -n $M link set eth0 up

# the machine's BMC: ipmi_sim on the host namespace's loopback, power kept in a file
BMC_NS=$H
. "$SBX_TOP/tests/lib/bmc_sim.sh"
S=$T/sim
bmc_sim "$S"
BMC=$(cat "$S/port")

mkdir -p "$T/bp"
if [ -n "${NB_KERNEL:-}" ]; then cp "$NB_KERNEL" "$T/bp/vmlinuz"; else printf 'KERNEL-%s\n' $$ > "$T/bp/vmlinuz"; fi
if [ -n "${NB_INITRD:-}" ]; then cp "$NB_INITRD" "$T/bp/initrd.img"; else printf 'INITRD\n' > "$T/bp/initrd.img"; fi
if [ -n "${NB_DISK:-}" ]; then ln -s "$NB_DISK" "$T/bp/disk.img"; else printf 'IMAGE\n' > "$T/bp/disk.img"; fi
nb_disk="disk: ${NB_DEV:-/dev/sda}, wipe: true,"
[ "${NB_RAM:-0}" != 1 ] || nb_disk=
cat > "$T/bp/metal.yaml" <<YAML
apiVersion: sandbox/v1
name: x
site: { uri: test:///default, image: { path: disk.img, kernel: vmlinuz, initrd: initrd.img, cmdline: "${NB_CMDLINE:-console=ttyS0}" } }
networks: [ { name: boot } ]
nodes:
  - { name: db, provider: ipmi, networks: [boot], mac: "$MAC", $nb_disk
      bmc: { address: 127.0.0.1, port: $BMC, user: admin, password: "\${secret.bmc}" } }
YAML
