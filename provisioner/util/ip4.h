/*
 * ip4 — IPv4 block arithmetic, the one place that parses and formats "a.b.c.d/N": IPAM pools and
 * blocks, host addresses inside an environment's /24 networks, and VIP addresses.
 * Addresses are in host byte order.
 */
#ifndef SBX_IP4_H
#define SBX_IP4_H

#include <stdint.h>

/* Parse "a.b.c.d/N" (N 0..32). Returns 0, or -1 when malformed (outputs untouched). */
int ip4_parse_cidr(const char *s, uint32_t *addr, int *bits);
/* Whether s is "a.b.c.d/N" with N in [min_bits, max_bits] and no host bits set. */
int ip4_is_network(const char *s, int min_bits, int max_bits);
/* "a.b.c.d" of addr; caller frees. */
char *ip4_fmt(uint32_t addr);
/* "a.b.c.0/24" of the /24 block number `block` (its network address >> 8); caller frees. */
char *ip4_block_cidr(uint32_t block);
/* Address of host number `host` (1..254) in the /24 "a.b.c.0/24"; caller frees; NULL when cidr
 * is not a /24 or host is out of range. */
char *ip4_host(const char *cidr24, int host);

#endif
