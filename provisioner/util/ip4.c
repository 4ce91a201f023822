/* ip4 — IPv4 CIDR parsing and /24 block arithmetic. */
#include "ip4.h"

#include <arpa/inet.h>
#include <stdio.h>
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
int64_t ip4_addr_block(const char *addr)
{
	uint32_t a;
	int bits;
	char *c = addr ? xasprintf("%s/32", addr) : NULL;
	int rc = c ? ip4_parse_cidr(c, &a, &bits) : -1;
	free(c);
	return rc == 0 ? (int64_t)(a >> 8) : -1;
}

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

/* The routes of a /proc/net/route text. */
size_t ip4_routes_parse(const char *text, struct ip4_route **out)
{
	size_t n = 0, cap = 0;
	*out = NULL;
	for (const char *l = text; l && *l;) {
		const char *nl = strchr(l, '\n');
		char line[256], iface[16];
		unsigned long dst, gw, mask;
		unsigned flags;
		size_t len = nl ? (size_t)(nl - l) : strlen(l);
		if (len < sizeof(line)) {
			memcpy(line, l, len);
			line[len] = '\0';
			if (sscanf(line, "%15s %lx %lx %x %*d %*d %*d %lx", iface, &dst, &gw, &flags, &mask) == 5) {
				uint32_t m = ntohl((uint32_t)mask);
				int bits = 0;
				while (bits < 32 && (m & (UINT32_C(1) << (31 - bits))))
					bits++;
				xgrow(out, &cap, n + 1, sizeof(**out));
				struct ip4_route *r = &(*out)[n++];
				memcpy(r->iface, iface, sizeof(r->iface));
				r->dst = ntohl((uint32_t)dst) & m;
				r->bits = bits;
			}
		}
		l = nl ? nl + 1 : NULL;
	}
	return n;
}

/* The /24 blocks routes of /16 to /32 cover, each once. */
size_t ip4_route_blocks(const struct ip4_route *r, size_t n, char ***out)
{
	size_t m = 0, cap = 0;
	*out = NULL;
	for (size_t i = 0; i < n; i++) {
		if (r[i].bits < 16)
			continue;
		uint32_t first = r[i].dst >> 8, count = r[i].bits >= 24 ? 1 : UINT32_C(1) << (24 - r[i].bits);
		for (uint32_t b = first; b < first + count; b++) {
			char *c = ip4_block_cidr(b);
			bool seen = false;
			for (size_t k = 0; k < m && !seen; k++)
				seen = strcmp((*out)[k], c) == 0;
			if (seen) {
				free(c);
				continue;
			}
			xgrow(out, &cap, m + 2, sizeof(**out));
			(*out)[m++] = c;
			(*out)[m] = NULL;
		}
	}
	return m;
}

/* The routes of this machine's main table. */
size_t ip4_host_routes(struct ip4_route **out)
{
	struct sbx_err e = SBX_ERR_INIT;
	char *text = NULL;
	size_t len = 0, n = 0;
	*out = NULL;
	if (sbx_read_file("/proc/net/route", &text, &len, &e) == 0)
		n = ip4_routes_parse(text, out);
	sbx_err_clear(&e);
	free(text);
	return n;
}
