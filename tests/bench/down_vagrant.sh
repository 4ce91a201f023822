#!/bin/sh
# `sandbox down` of 3 running VMs next to `vagrant destroy` of the same 3 VMs (vagrant-libvirt, same
# image, same size: 1 vCPU, 1 GiB, the image's kernel booted directly), in one run. Target (#14):
# down <= half of vagrant destroy. Vagrant and vagrant-libvirt are installed from Debian by this
# benchmark when they are missing (apt-get; skipped when that fails). Vagrant is not waited for:
# its `up` is given a short boot timeout (the image has no vagrant user), so both tools destroy
# VMs that run and are still booting or booted; destroying a QEMU process does not depend on how
# far its guest got. Prints figures, asserts nothing, leaves nothing in libvirt.
#   sh tests/bench/down_vagrant.sh       (root, libvirtd; BENCH_ROUNDS, default 3)
set -u
top=${SBX_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
bin=${SBX_BIN_PLAIN:-$top/build}/sandbox
rounds=${BENCH_ROUNDS:-3}
[ "$(id -u)" -eq 0 ] || { echo "down_vagrant: needs root, skipped"; exit 0; }
sh "$top/tests/libvirt-up.sh" >/dev/null || { echo "down_vagrant: libvirtd not running, skipped"; exit 0; }
img=$(sh "$top/tests/image/build.sh" debian-12) || { echo "down_vagrant: no image, skipped"; exit 0; }
if ! command -v vagrant >/dev/null || ! vagrant plugin list 2>/dev/null | grep -q vagrant-libvirt; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends vagrant vagrant-libvirt \
        >/dev/null 2>&1 || { echo "down_vagrant: vagrant-libvirt not installable, skipped"; exit 0; }
fi
T=$(mktemp -d /tmp/sbx-down-vagrant.XXXXXX); E=bdv$$
pool=sbxbench-vg$$; mnet=sbxbench-vg$$
export SANDBOX_STATE="$T/st/state.db" VAGRANT_HOME="$T/vagrant.d" VAGRANT_CHECKPOINT_DISABLE=1
cleanup() {
    "$bin" down $E >/dev/null 2>&1
    (cd "$T/vg" 2>/dev/null && vagrant destroy -f >/dev/null 2>&1)
    for d in $(virsh -q list --all --name | grep "^vg${E}"); do
        virsh destroy "$d" >/dev/null 2>&1; virsh undefine "$d" >/dev/null 2>&1
    done
    virsh net-destroy "$mnet" >/dev/null 2>&1; virsh net-undefine "$mnet" >/dev/null 2>&1
    for v in $(virsh -q vol-list "$pool" 2>/dev/null | awk '{print $1}'); do
        virsh vol-delete --pool "$pool" "$v" >/dev/null 2>&1
    done
    virsh pool-destroy "$pool" >/dev/null 2>&1; virsh pool-undefine "$pool" >/dev/null 2>&1
    rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
. "$top/tests/bench/lib.sh"
val() { sed -n "s/^$1=//p" "$img/manifest"; }

# --- the box: the cached image as a vagrant-libvirt box, in a pool of its own ---
mkdir -p "$T/box" "$T/vg" "$T/pool" "$T/st"; chmod 0700 "$T/st"; chmod 0755 "$T" "$T/pool"   # qemu runs as libvirt-qemu
cp "$img/$(val disk)" "$T/box/box.img"
cp "$img/$(val kernel)" "$T/vmlinuz"; cp "$img/$(val initrd)" "$T/initrd"
vsize=$(qemu-img info --output=json "$T/box/box.img" | awk -F'[:,]' '/"virtual-size"/ {print int($2 / 1073741824 + 0.999); exit}')
printf '{"provider":"libvirt","format":"qcow2","virtual_size":%s}\n' "$vsize" > "$T/box/metadata.json"
(cd "$T/box" && tar cf "$T/sbx.box" metadata.json box.img) && rm -f "$T/box/box.img"
vagrant box add --name "sbx-bench-$$" "$T/sbx.box" >"$T/box.log" 2>&1 || { echo "down_vagrant: box add failed: $(tail -n 2 "$T/box.log")"; exit 0; }
rm -f "$T/sbx.box"
virsh pool-define-as "$pool" dir --target "$T/pool" >/dev/null && virsh pool-start "$pool" >/dev/null \
    || { echo "down_vagrant: no pool"; exit 0; }
cat > "$T/vg/Vagrantfile" <<RUBY
Vagrant.configure("2") do |config|
  config.vm.box = "sbx-bench-$$"
  config.vm.boot_timeout = 10
  config.vm.synced_folder ".", "/vagrant", disabled: true
  (1..3).each do |i|
    config.vm.define "vm#{i}" do |m|
      m.vm.provider :libvirt do |lv|
        lv.uri = "qemu:///system"
        lv.driver = "qemu"
        lv.memory = 1024
        lv.cpus = 1
        lv.storage_pool_name = "$pool"
        lv.default_prefix = "vg$E"
        lv.management_network_name = "$mnet"
        lv.management_network_address = "192.168.$((200 + $$ % 50)).0/24"
        lv.kernel = "$T/vmlinuz"
        lv.initrd = "$T/initrd"
        lv.cmd_line = "$(val cmdline)"
      end
    end
  end
end
RUBY
cat > "$T/three.yaml" <<YAML
apiVersion: sandbox/v1
name: bench
site: { uri: qemu:///system, image: { recipe: debian-12 } }
networks: [ { name: lan } ]
nodes: [ { name: vm, count: 3, memory: 1Gi, cpus: 1, networks: [lan] } ]
YAML

running() { virsh -q list --name | grep -c "^$1"; }
r=1
while [ $r -le "$rounds" ]; do
    # vagrant: up (not waited for beyond its boot timeout), then destroy, timed
    (cd "$T/vg" && vagrant up --no-provision --no-destroy-on-error >"$T/vup.log" 2>&1)
    n=$(running "vg${E}")
    [ "$n" -eq 3 ] || { echo "down_vagrant: vagrant up left $n running VMs, not 3: $(tail -n 3 "$T/vup.log")"; exit 0; }
    t0=$(now); (cd "$T/vg" && vagrant destroy -f >"$T/vd.log" 2>&1); rc=$?; t1=$(now)
    vd=$(ms $t0 $t1); left=$(virsh -q list --all --name | grep -c "^vg${E}")
    (cd "$T/vg" && vagrant up --no-provision --no-destroy-on-error >"$T/vup.log" 2>&1)
    t0=$(now); (cd "$T/vg" && vagrant destroy -f --parallel >"$T/vd.log" 2>&1); rcp=$?; t1=$(now)
    vdp=$(ms $t0 $t1)
    # sandbox: up to SSH-ready, then down, timed
    "$bin" up "$T/three.yaml" --name $E >"$T/up.log" 2>&1 || { echo "down_vagrant: up failed: $(tail -n 3 "$T/up.log")"; exit 0; }
    t0=$(now); "$bin" down $E >"$T/down.log" 2>&1; rcs=$?; t1=$(now)
    sd=$(ms $t0 $t1)
    echo "round $r: sandbox down ${sd} ms (exit $rcs) | vagrant destroy ${vd} ms (exit $rc, $left VMs left), --parallel ${vdp} ms (exit $rcp) | ratio down/destroy $(awk -v a=$sd -v b=$vd 'BEGIN{printf "%.2f", a/b}'), down/destroy --parallel $(awk -v a=$sd -v b=$vdp 'BEGIN{printf "%.2f", a/b}')"
    r=$((r + 1))
done
echo "anchor: vagrant $(vagrant --version | awk '{print $2}'), vagrant-libvirt $(vagrant plugin list 2>/dev/null | sed -n 's/.*vagrant-libvirt (\([^,)]*\).*/\1/p')"
