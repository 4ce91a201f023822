/* ip4 — IPv4 CIDR parsing and /24 block arithmetic. */
#include "ip4.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* Parse "a.b.c.d/N". */
int ip4_parse_cidr(const char *s, uint32_t *addr, int *bits)
{
	const char *slash = s ? strchr(s, '/') : NULL;
	char ip[INET_ADDRSTRLEN], *end = NULL;
	struct in_addr in;
	if (!slash || (size_t)(slash - s) >= sizeof(ip) || slash[1] < '0' || slash[1] > '9')
		return -1;
	memcpy(ip, s, (size_t)(slash - s));
	ip[slash - s] = '\0';
	long l = strtol(slash + 1, &end, 10);
	if (inet_pton(AF_INET, ip, &in) != 1 || *end || l < 0 || l > 32)
		return -1;
	*addr = ntohl(in.s_addr);
	*bits = (int)l;
	return 0;
}

/* Whether s is a network address with a prefix in range. */
int ip4_is_network(const char *s, int min_bits, int max_bits)
{
	uint32_t a;
	int bits;
	if (ip4_parse_cidr(s, &a, &bits) < 0 || bits < min_bits || bits > max_bits)
		return 0;
	uint32_t host_mask = bits >= 32 ? 0 : UINT32_MAX >> bits;
	return (a & host_mask) == 0;
}

/* Dotted quad of an address. */
char *ip4_fmt(uint32_t a)
{
	return xasprintf("%u.%u.%u.%u", a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255);
}

/* The /24 of a block number. */
char *ip4_block_cidr(uint32_t block)
{
	char *ip = ip4_fmt(block << 8), *s = xasprintf("%s/24", ip);
	free(ip);
	return s;
}

/* Host number `host` inside a /24. */
char *ip4_host(const char *cidr24, int host)
{
	uint32_t a;
	int bits;
	if (ip4_parse_cidr(cidr24, &a, &bits) < 0 || bits != 24 || host < 1 || host > 254)
		return NULL;
	return ip4_fmt((a & 0xffffff00u) | (uint32_t)host);
}
