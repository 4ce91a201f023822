#!/bin/sh
# The project's base image: Debian 12 (bookworm) for direct kernel boot under QEMU.
#
#   sh examples/image/debian-12.sh OUTDIR
#
# Writes into OUTDIR (which must exist and be empty):
#   disk.qcow2   the root file system (ext4 on the whole disk, /dev/vda)
#   vmlinuz      the kernel (linux-image-cloud-amd64)
#   initrd.img   its initramfs
#   manifest     key=value lines: disk, format, kernel, initrd, cmdline
# Env: MIRROR (default: the Debian mirror apt uses on this machine), SIZE (default 4G),
#      DEBOOTSTRAP_CACHE (a package cache directory kept between builds; optional).
# Needs root, debootstrap, e2fsprogs (mkfs.ext4 -d), qemu-img. Services that roles start
# (haproxy, bird, postgresql, pgbouncer) are installed but masked: a role unmasks and starts them.
set -eu
out=${1:?usage: debian-12.sh OUTDIR}
SIZE=${SIZE:-4G}
SUITE=bookworm
CMDLINE="root=/dev/vda console=ttyS0 net.ifnames=0 quiet"
BASE_PKGS=systemd-sysv,dbus,openssh-server,linux-image-cloud-amd64,iproute2,ifupdown,isc-dhcp-client,cloud-init,sudo,python3,python3-cffi-backend,ca-certificates,curl
ROLE_PKGS="haproxy bird2 postgresql-15 pgbouncer libmicrohttpd12 libjansson4 libsqlite3-0 libcurl4 libssl3 libgmime-3.0-0"
MASK="haproxy.service bird.service postgresql.service postgresql@.service pgbouncer.service
 apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer e2scrub_reap.service fstrim.timer man-db.timer
 systemd-binfmt.service proc-sys-fs-binfmt_misc.automount sys-kernel-debug.mount sys-kernel-tracing.mount
 dev-hugepages.mount"

# The first Debian (not -security) mirror apt is configured with.
detect_mirror() {
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
        [ -f "$f" ] || continue
        sed -n -e 's/^deb \(\[[^]]*\] \)\{0,1\}\(https\{0,1\}:[^ ]*\) .*/\2/p' \
            -e 's/^URIs: *\(https\{0,1\}:[^ ]*\).*/\1/p' "$f"
    done | grep -v -e security -e '^$' | head -n 1
}
MIRROR=${MIRROR:-$(detect_mirror)}
MIRROR=${MIRROR:-http://deb.debian.org/debian}

work=$(mktemp -d "${TMPDIR:-/var/tmp}/sbx-image.XXXXXX")
root="$work/rootfs"

# Unmount whatever is still mounted below the rootfs (deepest first), then remove the work dir.
cleanup() {
    grep -o " $root[^ ]*" /proc/mounts 2>/dev/null | sort -r | while read -r m; do
        umount -l "$m" 2>/dev/null || true
    done
    rm -rf --one-file-system "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { echo "debian-12: $*" >&2; }

t0=$(date +%s)
log "debootstrap $SUITE from $MIRROR"
cache_opt=""
if [ -n "${DEBOOTSTRAP_CACHE:-}" ]; then
    mkdir -p "$DEBOOTSTRAP_CACHE"
    cache_opt="--cache-dir=$DEBOOTSTRAP_CACHE"
fi
# shellcheck disable=SC2086
debootstrap --variant=minbase --include="$BASE_PKGS" $cache_opt "$SUITE" "$root" "$MIRROR" >&2
log "base done in $(( $(date +%s) - t0 )) s"

# Role packages: installed in the chroot with service starts forbidden.
printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
chmod 0755 "$root/usr/sbin/policy-rc.d"
cp /etc/resolv.conf "$root/etc/resolv.conf"
mount -t proc proc "$root/proc"
# shellcheck disable=SC2086
DEBIAN_FRONTEND=noninteractive chroot "$root" apt-get install -y -q --no-install-recommends $ROLE_PKGS >&2
umount "$root/proc"
rm -f "$root/usr/sbin/policy-rc.d"
log "role packages done in $(( $(date +%s) - t0 )) s"

# Configuration.
for u in $MASK; do
    ln -sf /dev/null "$root/etc/systemd/system/$u"
done
echo "/dev/vda / ext4 defaults,noatime 0 1" >"$root/etc/fstab"
mkdir -p "$root/etc/network/interfaces.d"
printf 'source /etc/network/interfaces.d/*\n\nauto lo\niface lo inet loopback\n' >"$root/etc/network/interfaces"
# Only the modules a sandbox node needs: under TCG every cloud-init module costs boot time, and
# whatever runs next to sshd on the single vCPU delays SSH. No RSA host key (slow to generate).
# keys_to_console runs right after the keys are made, in the init stage (before sshd starts):
# `up` trusts a node's host key once its console lists it, and in the final stage that came
# 25-65 s after SSH answered when 3 VMs shared 2 cores (two more cloud-init processes first).
cat >"$root/etc/cloud/cloud.cfg.d/90-sandbox.cfg" <<'CFG'
datasource_list: [ NoCloud, None ]
ssh_deletekeys: true
ssh_genkeytypes: [ ed25519, ecdsa ]
cloud_init_modules: [ seed_random, bootcmd, write_files, resizefs, set_hostname, update_hostname,
  update_etc_hosts, users_groups, ssh, keys_to_console ]
cloud_config_modules: [ set_passwords, runcmd ]
cloud_final_modules: [ write_files_deferred, scripts_per_once, scripts_per_boot, scripts_per_instance,
  scripts_user, final_message ]
CFG
# The seed's `ssh_pwauth: false`, already in place: set_passwords (config stage, which now runs
# after `up` may have connected) finds nothing to change and does not restart sshd.
printf 'PasswordAuthentication no\n' >"$root/etc/ssh/sshd_config.d/50-cloud-init.conf"
chmod 0600 "$root/etc/ssh/sshd_config.d/50-cloud-init.conf"
echo sandbox >"$root/etc/hostname"
# Per-machine identity is created on first boot: no shared host keys, machine-id or resolv.conf.
rm -f "$root"/etc/ssh/ssh_host_* "$root/etc/resolv.conf"
: >"$root/etc/machine-id"
rm -f "$root/var/lib/dbus/machine-id"
# Keep it small: no package lists, caches, docs or man pages.
chroot "$root" apt-get clean
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/usr/share/doc/* \
    "$root"/usr/share/man/* "$root"/var/log/*.log "$root"/tmp/*

# Kernel and initrd out, the root file system into an ext4 disk, then qcow2.
cp "$(ls "$root"/boot/vmlinuz-* | tail -n 1)" "$work/vmlinuz"
cp "$(ls "$root"/boot/initrd.img-* | tail -n 1)" "$work/initrd.img"
mkfs.ext4 -q -F -L root -d "$root" "$work/root.img" "$SIZE" >&2
# Compressed: 270 MB instead of 720 MB for 20 s more build time; boot time measured the same.
qemu-img convert -c -O qcow2 "$work/root.img" "$work/disk.qcow2"
install -m 0644 "$work/vmlinuz" "$work/initrd.img" "$work/disk.qcow2" "$out/"
cat >"$out/manifest" <<MAN
disk=disk.qcow2
format=qcow2
kernel=vmlinuz
initrd=initrd.img
cmdline=$CMDLINE
MAN
chmod 0755 "$out"
log "image done in $(( $(date +%s) - t0 )) s: $(du -sh "$out/disk.qcow2" | cut -f1)"
