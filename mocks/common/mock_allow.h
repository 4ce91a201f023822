/*
 * mock_allow — the networks webhooks and callbacks may go to: a list of IPv4 and IPv6 CIDRs
 * (--allow-callback). An address is allowed when an entry contains it. An address that is
 * loopback (127.0.0.0/8, ::1), unspecified (0.0.0.0/8, ::) or link-local (169.254.0.0/16, where
 * cloud metadata services answer, and fe80::/10) is allowed only by an entry that lies inside
 * that range: 127.0.0.1/32 lets 127.0.0.1 through, 0.0.0.0/0 does not. An IPv4-mapped IPv6
 * address (::ffff:a.b.c.d) counts as its IPv4 address. Pure; a built list is read concurrently.
 */
#ifndef SBX_MOCK_ALLOW_H
#define SBX_MOCK_ALLOW_H

#include "mock_util.h"

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

/* One network: an IPv4 one is kept as its IPv4-mapped IPv6 form (prefix + 96). */
struct mock_cidr {
	unsigned char addr[16]; /* network address, host bits zero */
	unsigned prefix;        /* 0..128 */
	char *text;             /* as given ("10.0.1.0/24") */
};

/* A list (zero-initialise it). */
struct mock_allow {
	struct mock_cidr *v;
	size_t n;
};

/*
 * Parse "ADDR/LEN" or a bare address (/32, /128) and append it. Host bits set below the prefix
 * are an error ("10.0.1.5/24": say 10.0.1.0/24 or 10.0.1.5/32). 0, or -1 with a message in e.
 */
int mock_allow_add(struct mock_allow *a, const char *cidr, struct mock_err *e) MOCK_WUR;
/* Whether an AF_INET or AF_INET6 address may be called (other families: never). */
bool mock_allow_has(const struct mock_allow *a, const struct sockaddr *sa);
/* Whether the address is loopback, unspecified or link-local (the ranges allowed only by name). */
bool mock_allow_special(const struct sockaddr *sa);
/* The entries as given, ", "-separated ("" when empty); caller frees. */
char *mock_allow_text(const struct mock_allow *a);
/* Free the entries; the list can be reused. */
void mock_allow_free(struct mock_allow *a);

#endif
