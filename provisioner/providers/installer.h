/*
 * installer — what a bare-metal machine needs to install the environment's image to its disk over
 * the network boot service: the installer's initrd and the image as an extent stream.
 *
 * The installer initrd is a cpio archive (newc) that iPXE appends to the image's own initrd: it
 * adds /sbx/busybox (Debian's busybox-static), /sbx/dhcp.sh, /sbx/image.sh (the stream's reader)
 * and an /init that replaces the image's. The kernel modules come from the image's initrd (the
 * same kernel, so they load): the installer loads the NIC, disk and loop drivers, takes a DHCP
 * lease and fetches the stream from the command line's sandbox.image= URL, hashing it on the way
 * (sha256, checked against sandbox.sha256= when given). To a disk (sandbox.install=): it writes
 * the stream there (zeroing the disk's first and last MiB first when sandbox.wipe=1), reports
 * sandbox.installed=, and reboots. From RAM (sandbox.ram=1): it refuses when the machine's
 * MemTotal is below the image's data MiBs plus 256 MiB for the system, writes the stream to a
 * sparse file of the image's size in a tmpfs, attaches it to /dev/loop0, mounts it and
 * switch_roots into its /sbin/init (nothing is reported: every boot runs the image afresh). On a
 * failure it says so on the console and reboots after a minute (the next boot tries again).
 *
 * The extent stream: like bmaptool, only the image's non-zero MiBs cross the network and reach
 * the disk (zero regions are left as they are on the disk: the file system does not read them).
 *   "sandbox-image 1 TOTAL_MIB DATA_MIB\n" (DATA_MIB: the MiBs of the extents, padded with spaces
 *   to TOTAL_MIB's width), then per extent "OFFSET_MIB COUNT_MIB\n" + COUNT MiB of data, then
 *   "end\n". A stream without "end" is incomplete; the installer fails on it.
 */
#ifndef SBX_INSTALLER_H
#define SBX_INSTALLER_H

#include <stddef.h>

#include "util.h"

#define INSTALLER_BUSYBOX "/bin/busybox" /* Debian's busybox-static */
#define INSTALLER_LOOP "/dev/loop0"      /* in RAM mode, the root device (the script's root=) */

/* The installer's cpio archive into *out (caller frees), its length in *len, with the busybox at
 * path busybox. Fails when it cannot be read. */
int installer_cpio(const char *busybox, char **out, size_t *len, struct sbx_err *err) SBX_WUR;

/* Write the extent stream of the image at src (raw, or qcow2: converted to raw by qemu-img into
 * dst's directory first, with no backing file followed) to dst, atomically; the stream's SHA-256
 * (lowercase hex) into sha256. */
int installer_stream(const char *src, const char *dst, char sha256[65], struct sbx_err *err) SBX_WUR;

#endif
