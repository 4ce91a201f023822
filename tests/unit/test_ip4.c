/* Unit tests of the IPv4 block arithmetic. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdint.h>
#include <stdlib.h>

#include "ip4.h"

/* Parsing accepts a.b.c.d/N only. */
static void test_parse(void **state)
{
	(void)state;
	uint32_t a = 0;
	int bits = 0;
	assert_int_equal(ip4_parse_cidr("10.211.0.0/16", &a, &bits), 0);
	assert_int_equal(a, 0x0ad30000u);
	assert_int_equal(bits, 16);
	const char *bad[] = {"10.0.0.0", "10.0.0.0/", "10.0.0.0/33", "10.0.0.0/x", "10.0.0/24", "a/8", "/8",
		"10.0.0.0/24 ", "10.0.0.0/-1", ""};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(ip4_parse_cidr(bad[i], &a, &bits), -1);
	assert_int_equal(ip4_parse_cidr(NULL, &a, &bits), -1);
}

/* Network checks: prefix range and no host bits. */
static void test_is_network(void **state)
{
	(void)state;
	assert_true(ip4_is_network("10.20.0.0/24", 8, 30));
	assert_false(ip4_is_network("10.20.0.1/24", 8, 30));
	assert_false(ip4_is_network("10.20.0.0/31", 8, 30));
	assert_true(ip4_is_network("10.0.0.0/8", 8, 30));
	assert_true(ip4_is_network("10.0.0.7/32", 0, 32));
	assert_true(ip4_is_network("0.0.0.0/0", 0, 32));
}

/* Hosts of a /24 and /24 blocks. */
static void test_hosts_and_blocks(void **state)
{
	(void)state;
	char *s = ip4_host("10.211.3.0/24", 10);
	assert_string_equal(s, "10.211.3.10");
	free(s);
	assert_null(ip4_host("10.211.3.0/24", 0));
	assert_null(ip4_host("10.211.3.0/24", 255));
	assert_null(ip4_host("10.211.0.0/23", 1));
	s = ip4_block_cidr(0x0ad303u);
	assert_string_equal(s, "10.211.3.0/24");
	free(s);
	s = ip4_fmt(0xffffffffu);
	assert_string_equal(s, "255.255.255.255");
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_is_network),
		cmocka_unit_test(test_hosts_and_blocks),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
