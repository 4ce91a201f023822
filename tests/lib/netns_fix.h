/*
 * netns_fix — nodes as network namespaces for C integration tests, over tests/lib/netns.sh: one
 * netns per name, each with a real sshd that lets root in with a key generated here, a per-node
 * root prefix and pinned host key. A guardian child tears everything down when the test process
 * ends, however it ends. Needs root and /usr/sbin/sshd: netns_fix_up exits 77 (skip) without.
 */
#ifndef SBX_NETNS_FIX_H
#define SBX_NETNS_FIX_H

#include <stddef.h>
#include <sys/types.h>

struct netns_node {
	char *name;    /* as given ("srv-0") */
	char *ns;      /* the netns */
	char *addr;    /* its eth0 address */
	char *root;    /* its root prefix directory */
	char *hostkey; /* "ssh-ed25519 AAAA..." */
};

struct netns_fix {
	char dir[64];           /* /tmp/sbx-TAG-XXXXXX: everything of the fixture */
	char *priv, *pub;       /* the key sshd accepts (PEM, authorized_keys line) */
	char *subnet;           /* a.b.c.0/24 of the bridge */
	struct netns_node *nodes;
	size_t n;
	int guard_fd;
	pid_t guard_pid;
};

/* Bring up n nodes (names [a-z0-9-]); fails the running test on error. */
struct netns_fix *netns_fix_up(const char *tag, const char *const *names, size_t n);
/* Tear down and free; returns 0 when the teardown worked. NULL is a no-op. */
int netns_fix_down(struct netns_fix *f);
/* Run argv (60 s at most), stdout into *out (may be NULL); 0 when it exits 0 (else the error is
 * printed). */
int netns_fix_run(char *const argv[], char **out);

#endif
