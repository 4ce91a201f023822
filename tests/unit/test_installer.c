/*
 * installer: the installer's cpio archive (newc entries for /sbx/busybox, /sbx/dhcp.sh and /init,
 * then the trailer; 4-byte alignment) and the image's extent stream (only the non-zero MiBs, each
 * at its offset, holes skipped, "end" last; a qcow2 image converted first when qemu-img exists).
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
	const char *hdr = "sandbox-image 1 6\n0 1\n";
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
	assert_int_equal(installer_stream(raw, out, &e), 0);
	check_stream(out);
	char *argv[] = {"qemu-img", "convert", "-O", "qcow2", raw, q, NULL};
	if (access("/usr/bin/qemu-img", X_OK) == 0 && sbx_run(argv, 60000, NULL, &e) == 0) {
		assert_int_equal(installer_stream(q, qout, &e), 0);
		check_stream(qout);
		char *left = xasprintf("%s.raw", qout);
		assert_int_equal(access(left, F_OK), -1); /* the raw copy is gone */
		free(left);
	}
	sbx_err_clear(&e);
	/* a missing image: an error, no stream */
	assert_int_equal(installer_stream("/nonexistent/img", qout, &e), -1);
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cpio),
		cmocka_unit_test(test_stream),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
