/* Unit tests of the IPv4 block arithmetic. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdint.h>
#include <stdlib.h>

#include <arpa/inet.h>

#include "ip4.h"
#include "util.h"

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
	assert_int_equal(ip4_addr_block("10.211.3.77"), 0x0ad303);
	assert_int_equal(ip4_addr_block("10.211.3.0/24"), -1);
	assert_int_equal(ip4_addr_block("10.211.3"), -1);
	assert_int_equal(ip4_addr_block(NULL), -1);
}

/* A /proc/net/route line: the kernel prints each address as the raw network-order word. */
static void route_line(struct sbx_buf *b, const char *iface, uint32_t dst, uint32_t mask)
{
	sbx_buf_printf(b, "%s\t%08X\t00000000\t0001\t0\t0\t0\t%08X\t0\t0\t0\n", iface, htonl(dst), htonl(mask));
}

/* The host's routes: parsed with their prefix and interface; the /24 blocks those of /16 to /32
 * cover, each once (the default route and a /8 left out). */
static void test_routes(void **state)
{
	(void)state;
	struct sbx_buf b = {0};
	struct ip4_route *r = NULL;
	char **blocks = NULL;
	sbx_buf_puts(&b, "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n");
	route_line(&b, "eth0", 0, 0);
	route_line(&b, "sbx1234", 0x0ad30000u, 0xffffff00u);
	route_line(&b, "sbx5678", 0x0a090000u, 0xfffffe00u);
	route_line(&b, "eth0", 0x0a000000u, 0xff000000u);
	route_line(&b, "sbx1234", 0x0ad30507u, 0xffffffffu);
	route_line(&b, "vethx", 0x0ad30500u, 0xffffff00u);
	sbx_buf_puts(&b, "garbage line\n");
	size_t n = ip4_routes_parse(b.data, &r);
	assert_int_equal(n, 6);
	assert_string_equal(r[1].iface, "sbx1234");
	assert_int_equal(r[1].dst, 0x0ad30000u);
	assert_int_equal(r[1].bits, 24);
	assert_int_equal(r[2].bits, 23);
	assert_int_equal(r[3].bits, 8);
	assert_int_equal(r[4].bits, 32);
	size_t m = ip4_route_blocks(r, n, &blocks);
	const char *want[] = {"10.211.0.0/24", "10.9.0.0/24", "10.9.1.0/24", "10.211.5.0/24"};
	assert_int_equal(m, 4);
	for (size_t i = 0; i < m; i++) {
		assert_string_equal(blocks[i], want[i]);
		free(blocks[i]);
	}
	free(blocks);
	free(r);
	sbx_buf_free(&b);
	assert_int_equal(ip4_routes_parse("", &r), 0);
	assert_int_equal(ip4_route_blocks(NULL, 0, &blocks), 0);
	free(r);
	free(blocks);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_is_network),
		cmocka_unit_test(test_hosts_and_blocks),
		cmocka_unit_test(test_routes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
