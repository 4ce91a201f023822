/*
 * installer: the installer's cpio archive (newc entries for /sbx/busybox, /sbx/dhcp.sh,
 * /sbx/image.sh and /init, then the trailer; 4-byte alignment), the image's extent stream (only
 * the non-zero MiBs, each at its offset, holes skipped, "end" last, the data MiBs in the header;
 * a qcow2 image converted first when qemu-img exists) and its SHA-256, and the installer's stream
 * reader (/sbx/image.sh) run under Debian's busybox with wget and mount replaced: a stream is
 * written whole to a disk file and in RAM mode to a sparse file of the image's size; a stream
 * whose SHA-256 is not sandbox.sha256's (another sum, a byte flipped on the way) is refused, as are
 * a stream cut short and a machine whose RAM cannot hold the image, each saying why.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "installer.h"
#include "util.h"

#define MIB (1024 * 1024)

/* A scratch directory (caller frees and removes). */
static char *scratch(void)
{
	char *d = xstrdup("/tmp/sbx-test-installer.XXXXXX");
	assert_non_null(mkdtemp(d));
	return d;
}

/* The entry named name in a newc archive: its data and length; false when absent. */
static bool cpio_find(const char *a, size_t len, const char *name, const char **data, size_t *dlen)
{
	size_t off = 0;
	while (off + 110 <= len) {
		assert_memory_equal(a + off, "070701", 6);
		assert_int_equal(off % 4, 0);
		char f[9] = {0};
		memcpy(f, a + off + 54, 8);
		size_t fsize = strtoul(f, NULL, 16);
		memcpy(f, a + off + 94, 8);
		size_t nsize = strtoul(f, NULL, 16);
		const char *n = a + off + 110;
		size_t doff = (off + 110 + nsize + 3) & ~(size_t)3;
		if (strcmp(n, "TRAILER!!!") == 0)
			return false;
		if (strcmp(n, name) == 0) {
			*data = a + doff;
			*dlen = fsize;
			return true;
		}
		off = (doff + fsize + 3) & ~(size_t)3;
	}
	fail_msg("no trailer");
	return false;
}

/* The archive holds the busybox given, the DHCP script and an /init that reads the command line. */
static void test_cpio(void **state)
{
	(void)state;
	char *d = scratch(), *bb = xasprintf("%s/busybox", d), *a = NULL;
	const char *data = NULL;
	size_t len = 0, dlen = 0;
	struct sbx_err e = SBX_ERR_INIT;
	assert_int_equal(sbx_write_file(bb, "BUSYBOX", 7, 0755, &e), 0);
	assert_int_equal(installer_cpio(bb, &a, &len, &e), 0);
	assert_int_equal(len % 4, 0);
	assert_true(cpio_find(a, len, "sbx/busybox", &data, &dlen));
	assert_int_equal(dlen, 7);
	assert_memory_equal(data, "BUSYBOX", 7);
	assert_true(cpio_find(a, len, "sbx/dhcp.sh", &data, &dlen));
	assert_true(cpio_find(a, len, "init", &data, &dlen));
	char *init = xstrndup(data, dlen);
	assert_non_null(strstr(init, "#!/sbx/busybox sh\n"));
	assert_non_null(strstr(init, "arg sandbox.image"));
	assert_non_null(strstr(init, "reboot -f\n"));
	free(init);
	free(a);
	/* no busybox: a clear error */
	unlink(bb);
	assert_int_equal(installer_cpio(bb, &a, &len, &e), -1);
	assert_non_null(strstr(sbx_err_first(&e), bb));
	sbx_err_clear(&e);
	rmdir(d);
	free(bb);
	free(d);
}

/* Check the stream of an image whose MiB 0 and 2 hold data (MiB 1 zeros, 3-4 a hole, 5 partial). */
static void check_stream(const char *path)
{
	char *s = NULL;
	size_t len = 0;
	struct sbx_err e = SBX_ERR_INIT;
	assert_int_equal(sbx_read_file(path, &s, &len, &e), 0);
	const char *hdr = "sandbox-image 1 6 3\n0 1\n";
	assert_memory_equal(s, hdr, strlen(hdr));
	size_t off = strlen(hdr);
	assert_int_equal(s[off], 'A');
	off += MIB;
	assert_memory_equal(s + off, "2 1\n", 4);
	off += 4;
	assert_int_equal(s[off + 7], 'B');
	off += MIB;
	assert_memory_equal(s + off, "5 1\n", 4);
	off += 4;
	assert_int_equal(s[off], 'C');
	assert_int_equal(s[off + 1], 0); /* padded to the MiB */
	off += MIB;
	assert_int_equal(len, off + 4);
	assert_string_equal(s + off, "end\n");
	free(s);
}

/* A raw image: only its non-zero MiBs; the same image as qcow2 gives the same stream. */
static void test_stream(void **state)
{
	(void)state;
	char *d = scratch(), *raw = xasprintf("%s/img.raw", d), *out = xasprintf("%s/img.stream", d);
	char *q = xasprintf("%s/img.qcow2", d), *qout = xasprintf("%s/q.stream", d);
	struct sbx_err e = SBX_ERR_INIT;
	char sum[65], qsum[65], want[65];
	FILE *f = fopen(raw, "w");
	assert_non_null(f);
	char *zero = xcalloc(1, MIB);
	fputc('A', f);
	fseek(f, 2L * MIB + 7, SEEK_SET);
	fputc('B', f);
	fseek(f, 2L * MIB + 8, SEEK_SET);
	fwrite(zero, 1, MIB - 8, f); /* MiB 2 written out: data, mostly zeros */
	fseek(f, 5L * MIB, SEEK_SET);
	fputc('C', f);
	fclose(f);
	assert_int_equal(installer_stream(raw, out, sum, &e), 0);
	check_stream(out);
	assert_int_equal(sbx_sha256_file(out, want, &e), 0);
	assert_string_equal(sum, want);
	char *argv[] = {"qemu-img", "convert", "-O", "qcow2", raw, q, NULL};
	if (access("/usr/bin/qemu-img", X_OK) == 0 && sbx_run(argv, 60000, NULL, &e) == 0) {
		assert_int_equal(installer_stream(q, qout, qsum, &e), 0);
		check_stream(qout);
		assert_string_equal(qsum, sum);
		char *left = xasprintf("%s.raw", qout);
		assert_int_equal(access(left, F_OK), -1); /* the raw copy is gone */
		free(left);
	}
	sbx_err_clear(&e);
	/* a missing image: an error, no stream */
	assert_int_equal(installer_stream("/nonexistent/img", qout, qsum, &e), -1);
	sbx_err_clear(&e);
	char *v[] = {raw, out, q, qout};
	for (size_t i = 0; i < 4; i++) {
		unlink(v[i]);
		free(v[i]);
	}
	rmdir(d);
	free(zero);
	free(d);
}

/* The reader's scratch: the installer's image.sh out of its archive, a 3 MiB image with data in
 * MiBs 0 and 2 and its stream. */
struct reader {
	char *dir, *img, *stream, sum[65];
};

/* Make the reader's scratch directory (reader_free removes it). */
static void reader_new(struct reader *r)
{
	char *a = NULL, *lib = NULL;
	const char *data = NULL;
	size_t len = 0, dlen = 0;
	struct sbx_err e = SBX_ERR_INIT;
	r->dir = scratch();
	r->img = xasprintf("%s/img", r->dir);
	r->stream = xasprintf("%s/img.stream", r->dir);
	assert_int_equal(installer_cpio(INSTALLER_BUSYBOX, &a, &len, &e), 0);
	assert_true(cpio_find(a, len, "sbx/image.sh", &data, &dlen));
	lib = xasprintf("%s/image.sh", r->dir);
	assert_int_equal(sbx_write_file(lib, data, dlen, 0644, &e), 0);
	char *mib = xmalloc(3 * MIB);
	memset(mib, 0, 3 * MIB);
	for (size_t i = 0; i < MIB; i++)
		mib[i] = mib[2 * MIB + i] = (char)('a' + i % 26);
	assert_int_equal(sbx_write_file(r->img, mib, 3 * MIB, 0644, &e), 0);
	assert_int_equal(installer_stream(r->img, r->stream, r->sum, &e), 0);
	free(mib);
	free(lib);
	free(a);
}

/* Remove the reader's scratch directory. */
static void reader_free(struct reader *r)
{
	sbx_rm_rf(r->dir);
	free(r->dir);
	free(r->img);
	free(r->stream);
}

/* Run image.sh's fetch under busybox with RAM=ram, sandbox.sha256 sum and a RAM reserve of
 * sys_mib, the stream from path (wget and mount replaced); 0 when it succeeds, else -1 with why
 * it failed in *why (caller frees). The written image is DIR/disk, or DIR/ram/root.img. */
static int reader_run(const struct reader *r, const char *path, int ram, const char *sum, long sys_mib, char **why)
{
	char *sh = xasprintf("wget() { cat \"$4\"; }\nmount() { :; }\nTMP=%s RAM=%d SUM=%s RAM_SYS_MIB=%ld\n"
		"OUT=%s/%s\n. %s/image.sh\nfetch %s\n", r->dir, ram, sum, sys_mib, r->dir, ram ? "ram/root.img" : "disk",
		r->dir, path);
	char *argv[] = {INSTALLER_BUSYBOX, "sh", "-c", sh, NULL}, *whyf = xasprintf("%s/why", r->dir), *text = NULL;
	size_t len = 0;
	struct sbx_err e = SBX_ERR_INIT;
	int rc = sbx_run(argv, 60000, NULL, &e);
	sbx_err_clear(&e);
	if (rc < 0 && sbx_read_file(whyf, &text, &len, &e) < 0)
		text = xstrdup("(no why)");
	sbx_err_clear(&e);
	*why = text;
	free(whyf);
	free(sh);
	return rc;
}

/* Whether the file at path holds the reader's image, its size MiBs long. */
static bool same_image(const struct reader *r, const char *path)
{
	char *a = NULL, *b = NULL;
	size_t alen = 0, blen = 0;
	struct sbx_err e = SBX_ERR_INIT;
	bool same = sbx_read_file(r->img, &a, &alen, &e) == 0 && sbx_read_file(path, &b, &blen, &e) == 0 &&
		alen == blen && memcmp(a, b, alen) == 0;
	sbx_err_clear(&e);
	free(a);
	free(b);
	return same;
}

/* The stream reader: to a disk file, the sum checked; from RAM, a file of the image's size. */
static void test_reader(void **state)
{
	(void)state;
	struct reader r;
	char *why = NULL, *disk, *ramf;
	reader_new(&r);
	disk = xasprintf("%s/disk", r.dir);
	ramf = xasprintf("%s/ram/root.img", r.dir);
	assert_int_equal(reader_run(&r, r.stream, 0, r.sum, 0, &why), 0);
	assert_true(same_image(&r, disk));
	unlink(disk);
	/* no sandbox.sha256 (a script of an older service): written, unchecked */
	assert_int_equal(reader_run(&r, r.stream, 0, "", 0, &why), 0);
	assert_true(same_image(&r, disk));
	/* RAM mode: a sparse file of the image's 3 MiB in the (here not mounted) tmpfs */
	assert_int_equal(reader_run(&r, r.stream, 1, r.sum, 0, &why), 0);
	assert_true(same_image(&r, ramf));
	free(why);
	free(ramf);
	free(disk);
	reader_free(&r);
}

/* What the reader refuses, each with its reason: another sum, a byte flipped on the way, a stream
 * cut short, not a stream, a RAM too small for the image's data. */
static void test_reader_refuses(void **state)
{
	(void)state;
	struct reader r;
	char *why = NULL, *bad, *text = NULL;
	size_t len = 0;
	struct sbx_err e = SBX_ERR_INIT;
	reader_new(&r);
	bad = xasprintf("%s/bad.stream", r.dir);
	char other[65];
	memcpy(other, r.sum, sizeof(other));
	other[0] = other[0] == '0' ? '1' : '0';
	assert_int_equal(reader_run(&r, r.stream, 0, other, 0, &why), -1);
	assert_non_null(strstr(why, "sha256 is "));
	assert_non_null(strstr(why, other));
	free(why);
	/* a byte flipped in the first extent's data */
	assert_int_equal(sbx_read_file(r.stream, &text, &len, &e), 0);
	text[len / 2] ^= 0x20;
	assert_int_equal(sbx_write_file(bad, text, len, 0644, &e), 0);
	assert_int_equal(reader_run(&r, bad, 0, r.sum, 0, &why), -1);
	assert_non_null(strstr(why, "corrupted"));
	free(why);
	/* cut before "end" */
	assert_int_equal(sbx_write_file(bad, text, len - 4, 0644, &e), 0);
	assert_int_equal(reader_run(&r, bad, 0, "", 0, &why), -1);
	assert_string_equal(why, "the image stream ended early\n");
	free(why);
	assert_int_equal(sbx_write_file(bad, "IMAGE\n", 6, 0644, &e), 0);
	assert_int_equal(reader_run(&r, bad, 0, "", 0, &why), -1);
	assert_string_equal(why, "not an image stream\n");
	free(why);
	/* RAM mode on a machine whose RAM cannot hold the image's 2 data MiBs and the reserve */
	assert_int_equal(reader_run(&r, r.stream, 1, r.sum, 1L << 40, &why), -1);
	assert_non_null(strstr(why, "not enough RAM to run the image from it: it needs 1099511627778 MiB (2 of the"));
	free(why);
	free(text);
	free(bad);
	reader_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cpio),
		cmocka_unit_test(test_stream),
		cmocka_unit_test(test_reader),
		cmocka_unit_test(test_reader_refuses),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
