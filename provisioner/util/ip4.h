/*
 * ip4 — IPv4 block arithmetic, the one place that parses and formats "a.b.c.d/N": IPAM pools and
 * blocks, host addresses inside an environment's /24 networks, and VIP addresses.
 * Addresses are in host byte order.
 */
#ifndef SBX_IP4_H
#define SBX_IP4_H

#include <stddef.h>
#include <stdint.h>

/* Parse "a.b.c.d/N" (N 0..32). Returns 0, or -1 when malformed (outputs untouched). */
int ip4_parse_cidr(const char *s, uint32_t *addr, int *bits);
/* Whether s is "a.b.c.d/N" with N in [min_bits, max_bits] and no host bits set. */
int ip4_is_network(const char *s, int min_bits, int max_bits);
/* "a.b.c.d" of addr; caller frees. */
char *ip4_fmt(uint32_t addr);
/* The /24 block number of the address "a.b.c.d" (its address >> 8), or -1 when addr is NULL or
 * not an address. */
int64_t ip4_addr_block(const char *addr);
/* "a.b.c.0/24" of the /24 block number `block` (its network address >> 8); caller frees. */
char *ip4_block_cidr(uint32_t block);
/* Address of host number `host` (1..254) in the /24 "a.b.c.0/24"; caller frees; NULL when cidr
 * is not a /24 or host is out of range. */
char *ip4_host(const char *cidr24, int host);

/* An IPv4 route of the host's main table (/proc/net/route). */
struct ip4_route {
	char iface[16];
	uint32_t dst; /* host byte order */
	int bits;     /* its prefix length */
};
/* The routes of a /proc/net/route text (its header line and malformed lines skipped); *out: caller
 * frees. Returns how many. */
size_t ip4_routes_parse(const char *text, struct ip4_route **out);
/* The routes of this machine's main table, read from /proc/net/route (none when it cannot be
 * read); *out: caller frees. Returns how many. */
size_t ip4_host_routes(struct ip4_route **out);
/* The /24 blocks ("a.b.c.0/24", caller frees each and the array) that routes of prefix /16 to /32
 * cover (a /16 is 256 blocks; shorter prefixes, the default route among them, are left out), each
 * once. Returns how many. */
size_t ip4_route_blocks(const struct ip4_route *r, size_t n, char ***out);

#endif
