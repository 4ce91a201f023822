/* mock_allow — the CIDR allow-list of webhook and callback targets. */
#include "mock_allow.h"

#include "buf.h"
#include "mock_util.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

/* The ranges an entry must name to let their addresses through (IPv4 ones IPv4-mapped). */
static const struct {
	unsigned char addr[16];
	unsigned prefix;
} special[] = {
	{{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 0, 0}, 104},       /* 0.0.0.0/8 */
	{{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 0, 0, 0}, 104},     /* 127.0.0.0/8 */
	{{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 169, 254, 0, 0}, 112},   /* 169.254.0.0/16 */
	{{0}, 127},                                                          /* :: and ::1 */
	{{0xfe, 0x80}, 10},                                                  /* fe80::/10 */
};

/* Whether the first `prefix` bits of a and b agree. */
static bool bits_match(const unsigned char *a, const unsigned char *b, unsigned prefix)
{
	unsigned whole = prefix / 8, rest = prefix % 8;
	unsigned char mask = (unsigned char)(0xff00u >> rest);

	return memcmp(a, b, whole) == 0 && (rest == 0 || ((a[whole] ^ b[whole]) & mask) == 0);
}

/* Whether every bit of a after the first `prefix` is zero. */
static bool host_bits_zero(const unsigned char *a, unsigned prefix)
{
	unsigned char masked[16];

	memcpy(masked, a, sizeof(masked));
	for (unsigned i = prefix; i < 128; i++)
		masked[i / 8] &= (unsigned char)~(0x80u >> (i % 8));
	return memcmp(masked, a, 16) == 0;
}

/* An address as 16 bytes (IPv4 mapped); false for other families. */
static bool sa_bytes(const struct sockaddr *sa, unsigned char out[16])
{
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)sa;
		memset(out, 0, 10);
		out[10] = out[11] = 0xff;
		memcpy(out + 12, &in->sin_addr, 4);
		return true;
	}
	if (sa->sa_family == AF_INET6) {
		memcpy(out, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, 16);
		return true;
	}
	return false;
}

/* Parse an address into 16 bytes; its prefix length limit (32 or 128), or 0 when invalid. */
static unsigned parse_addr(const char *s, unsigned char out[16])
{
	struct in_addr v4;

	if (inet_pton(AF_INET, s, &v4) == 1) {
		memset(out, 0, 10);
		out[10] = out[11] = 0xff;
		memcpy(out + 12, &v4, 4);
		return 32;
	}
	return inet_pton(AF_INET6, s, out) == 1 ? 128 : 0;
}

/* Append a CIDR. */
int mock_allow_add(struct mock_allow *a, const char *cidr, struct mock_err *e)
{
	const char *slash = strchr(cidr, '/');
	char *addr = slash ? mock_xstrndup(cidr, (size_t)(slash - cidr)) : mock_xstrdup(cidr);
	struct mock_cidr c = {.text = NULL};
	unsigned max = parse_addr(addr, c.addr);
	int64_t len = max;
	int rc = -1;

	if (max == 0 || (slash && mock_parse_int(slash + 1, 0, max, &len) < 0)) {
		mock_err_set(e, "--allow-callback: expected an IPv4 or IPv6 network ADDR/LEN, got \"%s\"", cidr);
		goto out;
	}
	c.prefix = (unsigned)len + (max == 32 ? 96 : 0);
	if (!host_bits_zero(c.addr, c.prefix)) {
		mock_err_set(e, "--allow-callback: \"%s\" has host bits set (a network is ADDR/LEN with "
			     "the bits after LEN zero; one address is ADDR/%u)", cidr, max);
		goto out;
	}
	c.text = mock_xstrdup(cidr);
	a->v = mock_xrealloc(a->v, (a->n + 1) * sizeof(*a->v));
	a->v[a->n++] = c;
	rc = 0;
out:
	free(addr);
	return rc;
}

/* The special range holding addr, or -1. */
static int special_of(const unsigned char addr[16])
{
	for (size_t i = 0; i < MOCK_NELEM(special); i++) {
		if (bits_match(addr, special[i].addr, special[i].prefix))
			return (int)i;
	}
	return -1;
}

/* Whether the address is in a range that must be named. */
bool mock_allow_special(const struct sockaddr *sa)
{
	unsigned char b[16];

	return sa_bytes(sa, b) && special_of(b) >= 0;
}

/* Whether an address may be called. */
bool mock_allow_has(const struct mock_allow *a, const struct sockaddr *sa)
{
	unsigned char b[16];
	int sp;

	if (!sa_bytes(sa, b))
		return false;
	sp = special_of(b);
	for (size_t i = 0; i < a->n; i++) {
		const struct mock_cidr *c = &a->v[i];
		if (!bits_match(b, c->addr, c->prefix))
			continue;
		if (sp < 0 || (c->prefix >= special[sp].prefix &&
			       bits_match(c->addr, special[sp].addr, special[sp].prefix)))
			return true;
	}
	return false;
}

/* The entries as text. */
char *mock_allow_text(const struct mock_allow *a)
{
	struct sbx_buf b = {0};

	for (size_t i = 0; i < a->n; i++)
		sbx_buf_printf(&b, "%s%s", i ? ", " : "", a->v[i].text);
	return sbx_buf_steal(&b);
}

/* Free the entries. */
void mock_allow_free(struct mock_allow *a)
{
	for (size_t i = 0; i < a->n; i++)
		free(a->v[i].text);
	free(a->v);
	a->v = NULL;
	a->n = 0;
}
