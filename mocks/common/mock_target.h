/*
 * mock_target — where a webhook goes, decided once. The URL (http or https) is read by
 * libcurl's own URL parser, so the host checked is the host libcurl would connect to; the host
 * is resolved once (an IP literal as it is) and the first of its addresses the allow-list
 * (mock_allow.h) contains is chosen; none: the target is refused. Every later connection to
 * the target goes to that address and nowhere else: libcurl gets it as the host's only address
 * (CURLOPT_RESOLVE), no proxy, no redirects, and a socket is opened only towards it. So a name
 * cannot be re-pointed (DNS rebinding) between the check and a delivery.
 */
#ifndef SBX_MOCK_TARGET_H
#define SBX_MOCK_TARGET_H

#include "mock_allow.h"
#include "mock_util.h"

#include <curl/curl.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <sys/socket.h>

struct mock_target {
	char *url;
	char *host;                    /* the URL's host, without the brackets of an IPv6 literal */
	long port;                     /* the URL's port, or its scheme's */
	struct sockaddr_storage addr;  /* the checked address (port included); family 0: not yet */
	char addr_text[INET6_ADDRSTRLEN];
};

/*
 * Parse url (http or https) into *t, not pinned yet. 0, or -1 with a message in e (t untouched).
 * Free with mock_target_clear.
 */
int mock_target_parse(struct mock_target *t, const char *url, struct mock_err *e) MOCK_WUR;
/*
 * Resolve the target's host (only IP literals when numeric_only: no DNS, for fuzzers) and pin the
 * first address allow contains. 0, or -1 with a message in e that names the rule which refused it
 * (or says that the host does not resolve); t stays unpinned then.
 */
int mock_target_check(struct mock_target *t, const struct mock_allow *allow, bool numeric_only,
		      struct mock_err *e) MOCK_WUR;
/* mock_target_parse, then mock_target_check; on failure t is untouched. */
int mock_target_resolve(struct mock_target *t, const char *url, const struct mock_allow *allow,
			bool numeric_only, struct mock_err *e) MOCK_WUR;
/* Whether the target has its checked address. */
bool mock_target_pinned(const struct mock_target *t);
/* Whether the target's host is an IP literal (resolving it needs no DNS). */
bool mock_target_numeric(const struct mock_target *t);
/* A deep copy of src into dst. */
void mock_target_copy(struct mock_target *dst, const struct mock_target *src);
/* Free what the target holds; it can be reused. */
void mock_target_clear(struct mock_target *t);
/*
 * Point a libcurl handle at a pinned target: its URL, its pinned address, no proxy, no redirects, and
 * a socket callback that refuses any other address. t must outlive the transfer. Returns the
 * list to free (curl_slist_free_all) after the transfer (may be NULL).
 */
struct curl_slist *mock_target_pin(const struct mock_target *t, CURL *c);

#endif
