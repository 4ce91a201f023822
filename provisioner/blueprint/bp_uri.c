/*
 * bp_uri — the libvirt URIs a blueprint may name (site.uri). libvirt runs what a URI says: the ext
 * transport (and qemu+ext) executes an arbitrary command, qemu+unix and the socket=, netcat=,
 * command=, keyfile=, proxy=, known_hosts= and pkipath= parameters point it at sockets, programs
 * and files of their choosing, all as the user running sandbox (root, for qemu:///system). So only
 * the local system and session daemons, SSH and TLS to another host's daemon, and the test driver
 * are accepted, and a remote URI carries only parameters that name no program, socket or file.
 */
#include "bp_int.h"

#include <string.h>

#define BP_URI_EXPECTED "qemu:///system, qemu:///session, qemu+ssh://[USER@]HOST[:PORT]/system, " \
	"qemu+tls://HOST[:PORT]/system (or /session on that host) or test:///default"

static const char *const exact[] = {"qemu:///system", "qemu:///session", "test:///default"};
static const char *const remote[] = {"qemu+ssh://", "qemu+tls://"};
static const char *const paths[] = {"/system", "/session"};
static const char *const params[] = {"mode", "no_tty", "sshauth", "tls_priority"};

/* Whether s is one of the n words of set. */
static bool one_of(const char *s, size_t len, const char *const *set, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strlen(set[i]) == len && strncmp(s, set[i], len) == 0)
			return true;
	return false;
}

/* Whether [USER@]HOST[:PORT] is plain: no option-like or shell-like host, at most one '@'. */
static bool authority_ok(const char *s, size_t n)
{
	const char *at = memchr(s, '@', n), *host = at ? at + 1 : s;
	size_t i = 0;
	while (i < n && strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-@:[]", s[i]))
		i++;
	if (i < n || host >= s + n || (at && memchr(host, '@', (size_t)(s + n - host))))
		return false;
	return strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789[", *host) != NULL;
}

/* The first parameter of a query that is not allowed (or is malformed), as a new message; NULL
 * when every one is allowed. */
static char *query_problem(const char *q)
{
	for (const char *p = q; *p;) {
		size_t n = strcspn(p, "&"), k = strcspn(p, "=&");
		size_t vn = n > k ? n - k - 1 : 0;
		if (!one_of(p, k, params, SBX_NELEM(params)))
			return xasprintf("parameter \"%.*s\" is not allowed (libvirt would run a command or use a "
				"socket or file it names); allowed: mode, no_tty, sshauth, tls_priority",
				(int)(k > BP_QUOTE_MAX ? BP_QUOTE_MAX : k), p);
		if (vn > 0 && strspn(p + k + 1, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789,.:+-_") < vn)
			return xasprintf("parameter \"%.*s\": expected letters, digits and , . : + - _", (int)k, p);
		p += n + (p[n] == '&');
	}
	return NULL;
}

/* The problem of a qemu+ssh:// or qemu+tls:// URI (rest: what follows "://"), or NULL. */
static char *remote_problem(const char *uri, const char *rest)
{
	size_t a = strcspn(rest, "/?"), p = strcspn(rest + a, "?");
	if (!authority_ok(rest, a) || !one_of(rest + a, p, paths, SBX_NELEM(paths)))
		return xasprintf("expected " BP_URI_EXPECTED ", got \"%.*s\"", BP_QUOTE_MAX, uri);
	return rest[a + p] == '?' ? query_problem(rest + a + p + 1) : NULL;
}

/* What is wrong with a libvirt URI, or NULL when a blueprint may use it. */
char *bp_uri_problem(const char *uri)
{
	if (one_of(uri, strlen(uri), exact, SBX_NELEM(exact)))
		return NULL;
	for (size_t i = 0; i < SBX_NELEM(remote); i++)
		if (sbx_has_prefix(uri, remote[i]))
			return remote_problem(uri, uri + strlen(remote[i]));
	return xasprintf("expected " BP_URI_EXPECTED ", got \"%.*s\"", BP_QUOTE_MAX, uri);
}
