/* netns_fix — network-namespace nodes with sshd for C integration tests (tests/lib/netns.sh). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "netns_fix.h"
#include "ssh.h"

/* The netns helper script of the tree. */
static char *netns_sh(void)
{
	const char *top = getenv("SBX_TOP");
	return xasprintf("%s/tests/lib/netns.sh", top ? top : ".");
}

/* Run argv, capturing stdout. */
int netns_fix_run(char *const argv[], char **out)
{
	struct sbx_err err = SBX_ERR_INIT;
	int rc = sbx_run(argv, 60000, out, &err);
	if (rc < 0)
		sbx_err_print(&err, stderr);
	sbx_err_clear(&err);
	return rc;
}

/* A child that runs `netns.sh down DIR` once this process ends (its pipe closes). */
static void guardian(struct netns_fix *f)
{
	int p[2];
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	f->guard_pid = fork();
	assert_true(f->guard_pid >= 0);
	if (f->guard_pid == 0) {
		char c, *sh = netns_sh();
		close(p[1]);
		while (read(p[0], &c, 1) > 0)
			;
		execlp("sh", "sh", sh, "down", f->dir, (char *)NULL);
		_exit(1);
	}
	close(p[0]);
	f->guard_fd = p[1];
}

/* The value of KEY in the sourceable DIR/env text (quotes stripped); caller frees. */
static char *env_value(const char *env, const char *key)
{
	char *pat = xasprintf("\n%s=", key), *hit = strstr(env, pat), *v;
	assert_non_null(hit);
	hit += strlen(pat);
	size_t n = strcspn(hit, "\n");
	v = n >= 2 && hit[0] == '"' ? xstrndup(hit + 1, n - 2) : xstrndup(hit, n);
	free(pat);
	return v;
}

/* Fill node i from DIR/env. */
static void node_read(struct netns_node *nd, const char *env, const char *name)
{
	char *var = xstrdup(name), *k;
	for (char *p = var; *p; p++)
		*p = *p == '-' ? '_' : *p;
	nd->name = xstrdup(name);
	nd->ns = env_value(env, k = xasprintf("NODE_%s_NS", var)), free(k);
	nd->addr = env_value(env, k = xasprintf("NODE_%s_ADDR", var)), free(k);
	nd->root = env_value(env, k = xasprintf("NODE_%s_ROOT", var)), free(k);
	nd->hostkey = env_value(env, k = xasprintf("NODE_%s_HOSTKEY", var)), free(k);
	free(var);
}

/* Bring up the nodes. */
struct netns_fix *netns_fix_up(const char *tag, const char *const *names, size_t n)
{
	struct netns_fix *f = xcalloc(1, sizeof(*f));
	struct sbx_err err = SBX_ERR_INIT;
	char **argv = xcalloc(n + 5, sizeof(char *)), *data = NULL, *path;
	size_t len;
	if (geteuid() != 0 || access("/usr/sbin/sshd", X_OK) != 0) {
		fprintf(stderr, "skip: needs root and sshd\n");
		exit(77);
	}
	snprintf(f->dir, sizeof(f->dir), "/tmp/sbx-%s-XXXXXX", tag);
	assert_non_null(mkdtemp(f->dir));
	guardian(f);
	assert_int_equal(ssh_keygen("test", &f->priv, &f->pub, &err), 0);
	path = xasprintf("%s/authorized_keys", f->dir);
	assert_int_equal(sbx_write_file(path, f->pub, strlen(f->pub), 0600, &err), 0);
	free(path);
	argv[0] = "sh", argv[1] = netns_sh(), argv[2] = "up", argv[3] = f->dir;
	for (size_t i = 0; i < n; i++)
		argv[4 + i] = (char *)names[i];
	assert_int_equal(netns_fix_run(argv, NULL), 0);
	path = xasprintf("%s/env", f->dir);
	assert_int_equal(sbx_read_file(path, &data, &len, &err), 0);
	char *env = xasprintf("\n%s", data);
	f->subnet = env_value(env, "SUBNET");
	f->nodes = xcalloc(n, sizeof(*f->nodes));
	for (f->n = 0; f->n < n; f->n++)
		node_read(&f->nodes[f->n], env, names[f->n]);
	free(env), free(data), free(path), free(argv[1]), free(argv);
	return f;
}

/* Tear down and free. */
int netns_fix_down(struct netns_fix *f)
{
	if (f == NULL)
		return 0;
	char *sh = netns_sh(), *argv[] = {"sh", sh, "down", f->dir, NULL};
	int rc = netns_fix_run(argv, NULL);
	close(f->guard_fd);
	waitpid(f->guard_pid, NULL, 0);
	for (size_t i = 0; i < f->n; i++) {
		struct netns_node *nd = &f->nodes[i];
		free(nd->name), free(nd->ns), free(nd->addr), free(nd->root), free(nd->hostkey);
	}
	free(f->nodes), free(f->subnet), free(f->priv), free(f->pub), free(sh), free(f);
	return rc;
}
