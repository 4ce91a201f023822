/* installer — the installer's initrd (a cpio archive) and the image's extent stream. */
#include "installer.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"

#define MIB (1024 * 1024)
#define EXTENT_MAX_MIB 64         /* one dd in the installer per extent: few, not too large */
#define CONVERT_MS (20 * 60 * 1000) /* qemu-img convert of a few GiB on a busy host */

/* The installer's functions over the image stream, sourced by /init (the unit tests run them
 * under busybox with wget and mount replaced): fetch URL takes the stream through put and checks
 * its sha256 against $SUM (when set) on the way, a fifo to sha256sum; put writes it to $OUT (a
 * disk, or in RAM mode a sparse file that ram_file makes in a tmpfs once the header gave the
 * sizes). A function that fails says why on stderr and in $TMP/why and returns 1. */
static const char image_sh[] =
	"# sandbox installer: the image stream's reader (sourced by /init)\n"
	"why() { echo \"sandbox-installer: $*\" >&2; echo \"$*\" > \"$TMP/why\"; }\n"
	"# ram_file TOTAL DATA: $OUT a sparse file of TOTAL MiB in a tmpfs of that size, when the RAM\n"
	"# holds the image's DATA MiB and RAM_SYS_MIB for the system\n"
	"ram_file() {\n"
	"  have=$(( $(awk '/^MemTotal:/ { print $2 }' /proc/meminfo) / 1024 )) need=$(( $2 + RAM_SYS_MIB ))\n"
	"  [ \"$have\" -ge \"$need\" ] || { why \"not enough RAM to run the image from it: it needs $need MiB ($2 of the\" \\\n"
	"    \"image's data, $RAM_SYS_MIB for the system), this machine has $have MiB\"; return 1; }\n"
	"  mkdir -p \"${OUT%/*}\" && mount -t tmpfs -o \"size=$1m,mode=0700\" sandbox-ram \"${OUT%/*}\" &&\n"
	"    truncate -s $(( $1 * 1048576 )) \"$OUT\" || { why \"cannot make a $1 MiB file in a tmpfs\"; return 1; }\n"
	"}\n"
	"# put: the stream on stdin to $OUT\n"
	"put() {\n"
	"  read magic ver total data && [ \"$magic\" = sandbox-image ] && [ \"$ver\" = 1 ] ||\n"
	"    { why \"not an image stream\"; return 1; }\n"
	"  [ \"$RAM\" != 1 ] || ram_file \"$total\" \"${data:-$total}\" || return 1\n"
	"  while read off cnt; do\n"
	"    [ \"$off\" = end ] && return 0\n"
	"    dd of=\"$OUT\" bs=1048576 seek=\"$off\" count=\"$cnt\" iflag=fullblock conv=notrunc 2>/dev/null ||\n"
	"      { why \"cannot write $cnt MiB at MiB $off of $OUT\"; return 1; }\n"
	"  done\n"
	"  why \"the image stream ended early\"; return 1\n"
	"}\n"
	"# fetch URL: the stream through put, its sha256 compared with $SUM\n"
	"fetch() {\n"
	"  rm -f \"$TMP/why\" \"$TMP/sum\" \"$TMP/sum.in\" && mkfifo \"$TMP/sum.in\" || { why \"cannot make a fifo in $TMP\"; return 1; }\n"
	"  sha256sum < \"$TMP/sum.in\" > \"$TMP/sum\" &\n"
	"  hasher=$!\n"
	"  wget -q -O - \"$1\" | tee \"$TMP/sum.in\" | put\n"
	"  rc=$?\n"
	"  wait $hasher\n"
	"  [ $rc = 0 ] || return 1\n"
	"  read got rest < \"$TMP/sum\"\n"
	"  [ -z \"$SUM\" ] || [ \"$got\" = \"$SUM\" ] ||\n"
	"    { why \"the image stream's sha256 is $got, expected $SUM: it was corrupted on the way\"; return 1; }\n"
	"}\n";

/* The installer's /init: runs as PID 1 from the image's initrd with busybox's applets. In RAM mode
 * the image goes to a file in a tmpfs, attached to /dev/loop0 (the root= the script appends) and
 * mounted at /newroot, where switch_root starts its /sbin/init with /dev, /proc and /sys moved in
 * and the NIC left unconfigured (the image's own network configuration takes it). */
static const char init_sh[] =
	"#!/sbx/busybox sh\n"
	"# sandbox installer: write the environment's image to this machine's disk, report, reboot;\n"
	"# or (sandbox.ram=1) load it into RAM and run it from there.\n"
	"/sbx/busybox mkdir -p /sbx/bin /proc /sys /dev /tmp\n"
	"/sbx/busybox --install -s /sbx/bin\n"
	"export PATH=/sbx/bin\n"
	"mount -t proc proc /proc; mount -t sysfs sysfs /sys; mount -t devtmpfs devtmpfs /dev\n"
	"exec </dev/console >/dev/console 2>&1\n"
	"say() { echo \"sandbox-installer: $*\"; }\n"
	"fail() { say \"FAILED: $*; rebooting in 60 s\"; sleep 60; reboot -f; }\n"
	"arg() { for w in $(cat /proc/cmdline); do case $w in \"$1\"=*) echo \"${w#*=}\" ;; esac; done; }\n"
	"IMG=$(arg sandbox.image) DISK=$(arg sandbox.install) WIPE=$(arg sandbox.wipe) DONE=$(arg sandbox.installed)\n"
	"RAM=$(arg sandbox.ram) SUM=$(arg sandbox.sha256) TMP=/tmp RAM_SYS_MIB=256 LOOP=" INSTALLER_LOOP "\n"
	". /sbx/image.sh\n"
	"if [ \"$RAM\" = 1 ]; then\n"
	"  OUT=/ram/root.img\n"
	"  [ -n \"$IMG\" ] || fail \"no sandbox.image\"\n"
	"else\n"
	"  OUT=$DISK\n"
	"  [ -n \"$IMG\" ] && [ -n \"$DISK\" ] && [ -n \"$DONE\" ] || fail \"no sandbox.image, sandbox.install or sandbox.installed\"\n"
	"fi\n"
	"MP=modprobe; [ -x /sbin/modprobe ] && MP=/sbin/modprobe; [ -x /usr/sbin/modprobe ] && MP=/usr/sbin/modprobe\n"
	"for m in e1000 e1000e virtio_pci virtio_net virtio_blk virtio_scsi ahci ata_piix sd_mod loop; do $MP $m 2>/dev/null; done\n"
	"ip link set lo up\n"
	"up=\n"
	"for i in $(seq 1 50); do\n"
	"  for n in $(ls /sys/class/net); do\n"
	"    [ \"$n\" = lo ] && continue\n"
	"    ip link set \"$n\" up; udhcpc -i \"$n\" -n -q -t 5 -s /sbx/dhcp.sh && { up=$n; break 2; }\n"
	"  done\n"
	"  sleep 1\n"
	"done\n"
	"[ -n \"$up\" ] || fail \"no DHCP lease on any interface\"\n"
	"if [ \"$RAM\" = 1 ]; then\n"
	"  say \"loading $IMG into RAM\"\n"
	"  fetch \"$IMG\" || fail \"$(cat $TMP/why)\"\n"
	"  for i in $(seq 1 50); do [ -b $LOOP ] && break; sleep 0.2; done\n"
	"  losetup $LOOP \"$OUT\" || fail \"cannot attach $OUT to $LOOP\"\n"
	"  mkdir -p /newroot && mount -t ext4 -o noatime $LOOP /newroot || fail \"cannot mount the image ($LOOP)\"\n"
	"  [ -L /newroot/sbin/init ] || [ -e /newroot/sbin/init ] || fail \"the image has no /sbin/init\"\n"
	"  ip addr flush dev \"$up\"; ip link set \"$up\" down\n"
	"  for d in dev proc sys; do mount -o move /$d /newroot/$d || fail \"cannot move /$d to the image\"; done\n"
	"  say \"running the image from RAM ($LOOP)\"\n"
	"  exec switch_root /newroot /sbin/init\n"
	"fi\n"
	"for i in $(seq 1 100); do [ -b \"$DISK\" ] && break; sleep 0.2; done\n"
	"[ -b \"$DISK\" ] || fail \"no disk $DISK\"\n"
	"if [ \"$WIPE\" = 1 ]; then\n"
	"  say \"wiping $DISK (its first and last MiB)\"\n"
	"  mib=$(( $(blockdev --getsize64 \"$DISK\") / 1048576 ))\n"
	"  dd if=/dev/zero of=\"$DISK\" bs=1048576 count=1 2>/dev/null &&\n"
	"    dd if=/dev/zero of=\"$DISK\" bs=1048576 seek=$((mib - 1)) count=1 2>/dev/null || fail \"cannot wipe $DISK\"\n"
	"fi\n"
	"say \"writing $IMG to $DISK\"\n"
	"fetch \"$IMG\" || fail \"$(cat $TMP/why)\"\n"
	"sync\n"
	"wget -q -O /dev/null \"$DONE\" || fail \"cannot report the install done\"\n"
	"say \"installed to $DISK; rebooting\"\n"
	"reboot -f\n";

/* udhcpc's script: the address and the default route of the lease. */
static const char dhcp_sh[] =
	"#!/sbx/busybox sh\n"
	"case $1 in\n"
	"bound|renew)\n"
	"  ifconfig \"$interface\" \"$ip\" netmask \"${subnet:-255.255.255.0}\" up\n"
	"  for r in $router; do route add default gw \"$r\" dev \"$interface\"; break; done ;;\n"
	"esac\n"
	"exit 0\n";

/* Append one newc cpio entry (header, name, data, each padded to 4 bytes). */
static void cpio_entry(struct sbx_buf *b, unsigned ino, unsigned mode, const char *name, const void *data,
	size_t len)
{
	static const char zeros[4];
	size_t nlen = strlen(name) + 1;
	sbx_buf_printf(b, "070701%08X%08X%08X%08X%08X%08X%08zX%08X%08X%08X%08X%08zX%08X", ino, mode, 0u, 0u,
		(mode & S_IFDIR) ? 2u : 1u, 0u, len, 0u, 0u, 0u, 0u, nlen, 0u);
	sbx_buf_add(b, name, nlen);
	sbx_buf_add(b, zeros, (4 - (110 + nlen) % 4) % 4);
	if (len)
		sbx_buf_add(b, data, len);
	sbx_buf_add(b, zeros, (4 - len % 4) % 4);
}

/* Build the installer's archive. */
int installer_cpio(const char *busybox, char **out, size_t *len, struct sbx_err *err)
{
	char *bb = NULL;
	size_t bblen = 0;
	struct sbx_buf b = {0};
	if (sbx_read_file(busybox, &bb, &bblen, err) < 0) {
		sbx_err_hint(err, "the installer needs a static busybox (Debian: busybox-static)");
		return -1;
	}
	cpio_entry(&b, 1, S_IFDIR | 0755, "sbx", NULL, 0);
	cpio_entry(&b, 2, S_IFREG | 0755, "sbx/busybox", bb, bblen);
	cpio_entry(&b, 3, S_IFREG | 0755, "sbx/dhcp.sh", dhcp_sh, strlen(dhcp_sh));
	cpio_entry(&b, 4, S_IFREG | 0644, "sbx/image.sh", image_sh, strlen(image_sh));
	cpio_entry(&b, 5, S_IFREG | 0755, "init", init_sh, strlen(init_sh));
	cpio_entry(&b, 0, 0, "TRAILER!!!", NULL, 0);
	free(bb);
	*len = b.len;
	*out = sbx_buf_steal(&b);
	return 0;
}

/* Whether the file at fd starts with qcow2's magic. */
static bool is_qcow2(int fd)
{
	unsigned char m[4];
	return pread(fd, m, 4, 0) == 4 && memcmp(m, "QFI\xfb", 4) == 0;
}

/* Convert a qcow2 image to raw at dst: no backing file is opened (a qcow2 naming one would
 * otherwise make qemu-img read a file outside the image's tree). */
static int qcow2_to_raw(const char *src, const char *dst, struct sbx_err *err)
{
	if (strpbrk(src, "\"\\"))
		return sbx_err_set(err, SBX_EXIT_USAGE, "%s: a path with a quote or backslash cannot be converted", src);
	char *spec = xasprintf("json:{\"driver\":\"qcow2\",\"backing\":null,\"file\":{\"driver\":\"file\",\"filename\":\"%s\"}}",
		src);
	char *argv[] = {"qemu-img", "convert", "-O", "raw", spec, (char *)dst, NULL};
	int rc = sbx_run(argv, CONVERT_MS, NULL, err);
	if (rc < 0)
		sbx_err_prefix(err, "converting %s to raw", src);
	free(spec);
	return rc;
}

/* Whether n bytes are all zero. */
static bool all_zero(const char *p, size_t n)
{
	return n == 0 || (p[0] == 0 && memcmp(p, p + 1, n - 1) == 0);
}

/* Read MiB number `mib` of fd into chunk (zero-padded past the end); -1 on a read error. */
static int read_mib(int fd, off_t mib, char *chunk)
{
	ssize_t got = pread(fd, chunk, MIB, mib * MIB);
	if (got < 0)
		return -1;
	memset(chunk + got, 0, MIB - (size_t)got);
	return 0;
}

/* Write the stream's header: its data MiBs, not known before the end, padded to the width of its
 * total (a count never wider), so that the header is written again in place. */
static int stream_header(FILE *out, long long total, long long data)
{
	int width = snprintf(NULL, 0, "%lld", total);
	if (data < 0)
		return fprintf(out, "sandbox-image 1 %lld %*s\n", total, width, "") < 0 ? -1 : 0;
	return fseeko(out, 0, SEEK_SET) < 0 || fprintf(out, "sandbox-image 1 %lld %-*lld\n", total, width, data) < 0 ? -1 : 0;
}

/* Write the stream of the raw image at fd to out: header, extents of non-zero MiBs, "end". */
static int write_stream(int fd, FILE *out, struct sbx_err *err)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return sbx_err_set(err, SBX_EXIT_FAILED, "fstat: %s", strerror(errno));
	off_t total = (st.st_size + MIB - 1) / MIB;
	long long data = 0;
	char *run = xmalloc((size_t)EXTENT_MAX_MIB * MIB);
	int rc = stream_header(out, (long long)total, -1);
	for (off_t m = 0; m < total && rc == 0;) {
		off_t at = lseek(fd, m * MIB, SEEK_DATA); /* skip holes without reading them */
		if (at < 0)
			break;
		m = at / MIB;
		int n = 0;
		while (m + n < total && n < EXTENT_MAX_MIB && (rc = read_mib(fd, m + n, run + (size_t)n * MIB)) == 0 &&
			!all_zero(run + (size_t)n * MIB, MIB))
			n++;
		if (n > 0 && (fprintf(out, "%lld %d\n", (long long)m, n) < 0 ||
				fwrite(run, MIB, (size_t)n, out) != (size_t)n))
			rc = -1;
		data += n;
		m += n + (n < EXTENT_MAX_MIB ? 1 : 0);
	}
	if (rc == 0 && (fputs("end\n", out) < 0 || stream_header(out, (long long)total, data) < 0))
		rc = -1;
	free(run);
	return rc < 0 ? sbx_err_set(err, SBX_EXIT_FAILED, "writing the image stream: %s", strerror(errno)) : 0;
}

/* Write the stream of the image at src to dst (through dst.tmp, hashed and renamed when complete). */
int installer_stream(const char *src, const char *dst, char sha256[65], struct sbx_err *err)
{
	char *raw = xasprintf("%s.raw", dst), *tmp = xasprintf("%s.tmp", dst);
	int fd = open(src, O_RDONLY | O_CLOEXEC), rc = -1;
	FILE *out = NULL;
	if (fd < 0) {
		sbx_err_set(err, SBX_EXIT_FAILED, "%s: %s", src, strerror(errno));
		goto out;
	}
	if (is_qcow2(fd)) {
		close(fd);
		fd = -1;
		if (qcow2_to_raw(src, raw, err) < 0)
			goto out;
		if ((fd = open(raw, O_RDONLY | O_CLOEXEC)) < 0) {
			sbx_err_set(err, SBX_EXIT_FAILED, "%s: %s", raw, strerror(errno));
			goto out;
		}
	}
	if ((out = fopen(tmp, "we")) == NULL) {
		sbx_err_set(err, SBX_EXIT_FAILED, "%s: %s", tmp, strerror(errno));
		goto out;
	}
	rc = write_stream(fd, out, err);
	if (fclose(out) != 0 && rc == 0)
		rc = sbx_err_set(err, SBX_EXIT_FAILED, "%s: %s", tmp, strerror(errno));
	if (rc == 0)
		rc = sbx_sha256_file(tmp, sha256, err);
	if (rc == 0 && rename(tmp, dst) < 0)
		rc = sbx_err_set(err, SBX_EXIT_FAILED, "%s: %s", dst, strerror(errno));
out:
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	unlink(raw);
	free(tmp);
	free(raw);
	return rc;
}
