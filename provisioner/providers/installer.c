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

/* The installer's /init: runs as PID 1 from the image's initrd with busybox's applets. */
static const char init_sh[] =
	"#!/sbx/busybox sh\n"
	"# sandbox installer: write the environment's image to this machine's disk, report, reboot.\n"
	"/sbx/busybox mkdir -p /sbx/bin /proc /sys /dev /tmp\n"
	"/sbx/busybox --install -s /sbx/bin\n"
	"export PATH=/sbx/bin\n"
	"mount -t proc proc /proc; mount -t sysfs sysfs /sys; mount -t devtmpfs devtmpfs /dev\n"
	"exec </dev/console >/dev/console 2>&1\n"
	"say() { echo \"sandbox-installer: $*\"; }\n"
	"fail() { say \"FAILED: $*; rebooting in 60 s\"; sleep 60; reboot -f; }\n"
	"arg() { for w in $(cat /proc/cmdline); do case $w in \"$1\"=*) echo \"${w#*=}\" ;; esac; done; }\n"
	"IMG=$(arg sandbox.image) DISK=$(arg sandbox.install) WIPE=$(arg sandbox.wipe) DONE=$(arg sandbox.installed)\n"
	"[ -n \"$IMG\" ] && [ -n \"$DISK\" ] && [ -n \"$DONE\" ] || fail \"no sandbox.image, sandbox.install or sandbox.installed\"\n"
	"MP=modprobe; [ -x /sbin/modprobe ] && MP=/sbin/modprobe; [ -x /usr/sbin/modprobe ] && MP=/usr/sbin/modprobe\n"
	"for m in e1000 e1000e virtio_pci virtio_net virtio_blk virtio_scsi ahci ata_piix sd_mod; do $MP $m 2>/dev/null; done\n"
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
	"for i in $(seq 1 100); do [ -b \"$DISK\" ] && break; sleep 0.2; done\n"
	"[ -b \"$DISK\" ] || fail \"no disk $DISK\"\n"
	"if [ \"$WIPE\" = 1 ]; then\n"
	"  say \"wiping $DISK (its first and last MiB)\"\n"
	"  mib=$(( $(blockdev --getsize64 \"$DISK\") / 1048576 ))\n"
	"  dd if=/dev/zero of=\"$DISK\" bs=1048576 count=1 2>/dev/null &&\n"
	"    dd if=/dev/zero of=\"$DISK\" bs=1048576 seek=$((mib - 1)) count=1 2>/dev/null || fail \"cannot wipe $DISK\"\n"
	"fi\n"
	"say \"writing $IMG to $DISK\"\n"
	"wget -q -O - \"$IMG\" | {\n"
	"  read magic ver total && [ \"$magic\" = sandbox-image ] && [ \"$ver\" = 1 ] || exit 1\n"
	"  while read off cnt; do\n"
	"    [ \"$off\" = end ] && exit 0\n"
	"    dd of=\"$DISK\" bs=1048576 seek=\"$off\" count=\"$cnt\" iflag=fullblock conv=notrunc 2>/dev/null || exit 1\n"
	"  done\n"
	"  exit 1\n"
	"} || fail \"the image did not arrive whole or could not be written\"\n"
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
	cpio_entry(&b, 4, S_IFREG | 0755, "init", init_sh, strlen(init_sh));
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

/* Write the stream of the raw image at fd to out: header, extents of non-zero MiBs, "end". */
static int write_stream(int fd, FILE *out, struct sbx_err *err)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return sbx_err_set(err, SBX_EXIT_FAILED, "fstat: %s", strerror(errno));
	off_t total = (st.st_size + MIB - 1) / MIB;
	char *run = xmalloc((size_t)EXTENT_MAX_MIB * MIB);
	int rc = fprintf(out, "sandbox-image 1 %lld\n", (long long)total) < 0 ? -1 : 0;
	for (off_t m = 0; m < total && rc == 0;) {
		off_t data = lseek(fd, m * MIB, SEEK_DATA); /* skip holes without reading them */
		if (data < 0)
			break;
		m = data / MIB;
		int n = 0;
		while (m + n < total && n < EXTENT_MAX_MIB && (rc = read_mib(fd, m + n, run + (size_t)n * MIB)) == 0 &&
			!all_zero(run + (size_t)n * MIB, MIB))
			n++;
		if (n > 0 && (fprintf(out, "%lld %d\n", (long long)m, n) < 0 ||
				fwrite(run, MIB, (size_t)n, out) != (size_t)n))
			rc = -1;
		m += n + (n < EXTENT_MAX_MIB ? 1 : 0);
	}
	if (rc == 0 && fputs("end\n", out) < 0)
		rc = -1;
	free(run);
	return rc < 0 ? sbx_err_set(err, SBX_EXIT_FAILED, "writing the image stream: %s", strerror(errno)) : 0;
}

/* Write the stream of the image at src to dst (through dst.tmp, renamed when complete). */
int installer_stream(const char *src, const char *dst, struct sbx_err *err)
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
