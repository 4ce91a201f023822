/* Unit tests of the helpers the provisioner shares with the mocks: sha256 and buf. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "sha256.h"

/* FIPS 180-2 vectors, and the hex form of a raw digest. */
static void test_sha256(void **state)
{
	unsigned char d[32];
	char hex[65];

	(void)state;
	sbx_sha256_hex("", 0, hex);
	assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	sbx_sha256_hex("abc", 3, hex);
	assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	for (int i = 0; i < 32; i++)
		d[i] = (unsigned char)(i * 8 + 7);
	sbx_sha256_digest_hex(d, hex);
	assert_string_equal(hex, "070f171f272f373f474f575f676f777f878f979fa7afb7bfc7cfd7dfe7eff7ff");
}

/* Bytes with NULs, growth past several doublings, formatted text, steal and reuse. */
static void test_buf(void **state)
{
	struct sbx_buf b = {0};
	char *s;

	(void)state;
	s = sbx_buf_steal(&b);
	assert_string_equal(s, "");
	free(s);
	sbx_buf_add(&b, "a\0b", 3);
	assert_int_equal(b.len, 3);
	assert_memory_equal(b.data, "a\0b", 4);
	for (int i = 0; i < 1000; i++)
		sbx_buf_printf(&b, "%d,", i % 10);
	assert_int_equal(b.len, 3 + 2000);
	assert_string_equal(b.data + b.len - 4, "8,9,");
	sbx_buf_printf(&b, "%s", "");
	sbx_buf_puts(&b, "end");
	s = sbx_buf_steal(&b);
	assert_null(b.data);
	assert_int_equal(strlen(s + 4), 2002);
	free(s);
	sbx_buf_puts(&b, "again");
	assert_string_equal(b.data, "again");
	sbx_buf_free(&b);
	sbx_buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sha256),
		cmocka_unit_test(test_buf),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
