/* mock_target — a webhook target: URL parsed by libcurl, host resolved once, checked, pinned. */
#include "mock_target.h"

#include "mock_allow.h"
#include "mock_util.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

/* The parts of a URL the check needs. */
struct url_parts {
	char *scheme, *host, *port;
};

/* Free the parts. */
static void parts_free(struct url_parts *p)
{
	curl_free(p->scheme);
	curl_free(p->host);
	curl_free(p->port);
}

/* Split url with libcurl's parser; 0, or -1 with e. */
static int url_split(const char *url, struct url_parts *p, struct mock_err *e)
{
	CURLU *u = curl_url();
	int rc = -1;

	if (!u)
		return mock_err_set(e, "out of memory");
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &p->scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &p->host, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PORT, &p->port, CURLU_DEFAULT_PORT) != CURLUE_OK)
		mock_err_set(e, "\"%.200s\" is not a valid URL", url);
	else if (strcasecmp(p->scheme, "http") != 0 && strcasecmp(p->scheme, "https") != 0)
		mock_err_set(e, "\"%.200s\" is not an http(s) URL", url);
	else
		rc = 0;
	curl_url_cleanup(u);
	return rc;
}

/* The text form of an address. */
static void addr_text(const struct sockaddr *sa, char out[INET6_ADDRSTRLEN])
{
	const void *a = sa->sa_family == AF_INET ? (const void *)&((const struct sockaddr_in *)(const void *)sa)->sin_addr
		: (const void *)&((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;

	if (!inet_ntop(sa->sa_family, a, out, INET6_ADDRSTRLEN))
		snprintf(out, INET6_ADDRSTRLEN, "?");
}

/* The refusal of host, whose first address is first: names the rule. Returns -1. */
static int refuse(const char *host, const struct addrinfo *first, const struct mock_allow *allow,
		  struct mock_err *e)
{
	char a[INET6_ADDRSTRLEN], *nets = mock_allow_text(allow), *who;

	addr_text(first->ai_addr, a);
	who = strcmp(a, host) == 0 ? mock_xstrdup(a) : mock_xasprintf("%.200s (%s)", host, a);
	mock_err_set(e, "callbacks go only to the networks allowed with --allow-callback (%s): %s is "
		     "not in them%s", *nets ? nets : "none", who, mock_allow_special(first->ai_addr)
		     ? "; loopback and link-local addresses need an entry inside their range" : "");
	free(who);
	free(nets);
	return -1;
}

/* Resolve host:port and pick the first allowed address into t; 0, or -1 with e. */
static int pick_addr(struct mock_target *t, const char *host, const char *port,
		     const struct mock_allow *allow, bool numeric_only, struct mock_err *e)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
				 .ai_flags = AI_NUMERICSERV | (numeric_only ? AI_NUMERICHOST : 0)};
	struct addrinfo *res = NULL;
	int rc = getaddrinfo(host, port, &hints, &res);

	if (rc != 0)
		return mock_err_set(e, "the callback host %.200s does not resolve (%s)", host, gai_strerror(rc));
	rc = -1;
	for (const struct addrinfo *ai = res; ai && rc < 0; ai = ai->ai_next) {
		if (ai->ai_addrlen > sizeof(t->addr) || !mock_allow_has(allow, ai->ai_addr))
			continue;
		memcpy(&t->addr, ai->ai_addr, ai->ai_addrlen);
		addr_text(ai->ai_addr, t->addr_text);
		rc = 0;
	}
	if (rc < 0)
		refuse(host, res, allow, e);
	freeaddrinfo(res);
	return rc;
}

/* Parse a URL. */
int mock_target_parse(struct mock_target *t, const char *url, struct mock_err *e)
{
	struct url_parts p = {NULL, NULL, NULL};
	size_t hl;
	int rc = url_split(url, &p, e);

	if (rc == 0) {
		hl = strlen(p.host);
		*t = (struct mock_target){.url = mock_xstrdup(url), .port = strtol(p.port, NULL, 10)};
		t->host = hl >= 2 && p.host[0] == '[' ? mock_xstrndup(p.host + 1, hl - 2) : mock_xstrdup(p.host);
	}
	parts_free(&p);
	return rc;
}

/* Resolve and pin. */
int mock_target_check(struct mock_target *t, const struct mock_allow *allow, bool numeric_only,
		      struct mock_err *e)
{
	char port[16];

	snprintf(port, sizeof(port), "%ld", t->port);
	return pick_addr(t, t->host, port, allow, numeric_only, e);
}

/* Parse, resolve and check a URL. */
int mock_target_resolve(struct mock_target *t, const char *url, const struct mock_allow *allow,
			bool numeric_only, struct mock_err *e)
{
	struct mock_target n;

	if (mock_target_parse(&n, url, e) < 0)
		return -1;
	if (mock_target_check(&n, allow, numeric_only, e) < 0) {
		mock_target_clear(&n);
		return -1;
	}
	*t = n;
	return 0;
}

/* Whether the target is pinned. */
bool mock_target_pinned(const struct mock_target *t)
{
	return t->addr.ss_family != 0;
}

/* Whether the host is an IP literal. */
bool mock_target_numeric(const struct mock_target *t)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_flags = AI_NUMERICHOST};
	struct addrinfo *res = NULL;
	bool yes = getaddrinfo(t->host, NULL, &hints, &res) == 0;

	if (res)
		freeaddrinfo(res);
	return yes;
}

/* Copy a target. */
void mock_target_copy(struct mock_target *dst, const struct mock_target *src)
{
	*dst = *src;
	dst->url = mock_xstrdup(src->url);
	dst->host = mock_xstrdup(src->host);
}

/* Free a target's strings. */
void mock_target_clear(struct mock_target *t)
{
	free(t->url);
	free(t->host);
	memset(t, 0, sizeof(*t));
}

/* Whether a is the target's address (and port). */
static bool same_addr(const struct mock_target *t, const struct sockaddr *a)
{
	const struct sockaddr_in *p4 = (const void *)&t->addr, *a4 = (const void *)a;
	const struct sockaddr_in6 *p6 = (const void *)&t->addr, *a6 = (const void *)a;

	if (a->sa_family != t->addr.ss_family)
		return false;
	if (a->sa_family == AF_INET)
		return a4->sin_port == p4->sin_port && a4->sin_addr.s_addr == p4->sin_addr.s_addr;
	return a->sa_family == AF_INET6 && a6->sin6_port == p6->sin6_port &&
	       memcmp(&a6->sin6_addr, &p6->sin6_addr, sizeof(a6->sin6_addr)) == 0;
}

/* libcurl's socket callback: a socket only towards the pinned address. */
static curl_socket_t open_pinned(void *arg, curlsocktype purpose, struct curl_sockaddr *a)
{
	const struct mock_target *t = arg;

	if (purpose != CURLSOCKTYPE_IPCXN || !same_addr(t, &a->addr))
		return CURL_SOCKET_BAD;
	return socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
}

/* Point a handle at the pinned target. */
struct curl_slist *mock_target_pin(const struct mock_target *t, CURL *c)
{
	bool v6 = t->addr.ss_family == AF_INET6;
	char *line = mock_xasprintf("%s:%ld:%s%s%s", t->host, t->port, v6 ? "[" : "", t->addr_text,
				    v6 ? "]" : "");
	struct curl_slist *resolve = NULL;

	if (!strchr(t->host, ':')) /* a name or an IPv4 literal: its only address is the checked one */
		resolve = curl_slist_append(NULL, line);
	free(line);
	curl_easy_setopt(c, CURLOPT_URL, t->url);
	curl_easy_setopt(c, CURLOPT_RESOLVE, resolve);
	curl_easy_setopt(c, CURLOPT_PROXY, "");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_OPENSOCKETFUNCTION, open_pinned);
	curl_easy_setopt(c, CURLOPT_OPENSOCKETDATA, (void *)t);
	return resolve;
}
