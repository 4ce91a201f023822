/* Unit tests of the ssh module's pure parts: key generation format, quoting, fingerprints. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "ssh.h"

/* Decode base64 (test helper). */
static unsigned char *unb64(const char *s, size_t slen, size_t *n)
{
	unsigned char *d = malloc(slen);
	int k = EVP_DecodeBlock(d, (const unsigned char *)s, (int)slen);
	assert_true(k > 0);
	for (size_t i = slen; i > 0 && s[i - 1] == '='; i--)
		k--;
	*n = (size_t)k;
	return d;
}

/* Read one SSH wire string at *off. */
static size_t wire_str(const unsigned char *b, size_t n, size_t *off, const unsigned char **s)
{
	assert_true(*off + 4 <= n);
	size_t l = (size_t)b[*off] << 24 | (size_t)b[*off + 1] << 16 | (size_t)b[*off + 2] << 8 | b[*off + 3];
	assert_true(*off + 4 + l <= n);
	*s = b + *off + 4;
	*off += 4 + l;
	return l;
}

/* The public line is "ecdsa-sha2-nistp256 BASE64 comment" with the OpenSSH wire layout. */
static void test_keygen_format(void **state)
{
	(void)state;
	char *priv = NULL, *pub = NULL;
	struct sbx_err err = SBX_ERR_INIT;
	assert_int_equal(ssh_keygen("sbx-test", &priv, &pub, &err), 0);
	assert_true(sbx_has_prefix(priv, "-----BEGIN EC PRIVATE KEY-----\n"));
	assert_non_null(strstr(priv, "-----END EC PRIVATE KEY-----"));
	assert_true(sbx_has_prefix(pub, "ecdsa-sha2-nistp256 AAAA"));
	const char *b64 = pub + strlen("ecdsa-sha2-nistp256 ");
	size_t blen = strcspn(b64, " ");
	assert_string_equal(b64 + blen, " sbx-test");
	size_t n = 0, off = 0;
	unsigned char *blob = unb64(b64, blen, &n);
	const unsigned char *s;
	assert_int_equal(wire_str(blob, n, &off, &s), 19);
	assert_memory_equal(s, "ecdsa-sha2-nistp256", 19);
	assert_int_equal(wire_str(blob, n, &off, &s), 8);
	assert_memory_equal(s, "nistp256", 8);
	assert_int_equal(wire_str(blob, n, &off, &s), 65);
	assert_int_equal(s[0], 0x04); /* uncompressed point */
	assert_int_equal(off, n);
	free(blob);
	free(priv);
	free(pub);
}

/* Two generated keys differ. */
static void test_keygen_unique(void **state)
{
	(void)state;
	char *p1, *q1, *p2, *q2;
	struct sbx_err err = SBX_ERR_INIT;
	assert_int_equal(ssh_keygen(NULL, &p1, &q1, &err), 0);
	assert_int_equal(ssh_keygen("", &p2, &q2, &err), 0);
	assert_string_not_equal(q1, q2);
	assert_null(strchr(q1 + 20, ' ')); /* no comment, no trailing space */
	free(p1);
	free(q1);
	free(p2);
	free(q2);
}

/* Run argv, feeding nothing; return the exit status and the first line of stdout. */
static int run_capture(char *const argv[], char *line, size_t len)
{
	int fds[2];
	assert_int_equal(pipe(fds), 0);
	pid_t pid = fork();
	if (pid == 0) {
		dup2(fds[1], 1);
		close(fds[0]);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(fds[1]);
	ssize_t n = read(fds[0], line, len - 1);
	line[n > 0 ? n : 0] = '\0';
	close(fds[0]);
	int st = 0;
	waitpid(pid, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* OpenSSH's ssh-keygen reads both halves and agrees on the fingerprint. */
static void test_keygen_openssh_accepts(void **state)
{
	(void)state;
	if (access("/usr/bin/ssh-keygen", X_OK) != 0)
		skip();
	char *priv, *pub, dir[] = "/tmp/sbx-ssh-unit-XXXXXX", line[512];
	struct sbx_err err = SBX_ERR_INIT;
	assert_int_equal(ssh_keygen("c", &priv, &pub, &err), 0);
	assert_non_null(mkdtemp(dir));
	char *kf = xasprintf("%s/id", dir), *pf = xasprintf("%s/id.pub", dir);
	assert_int_equal(sbx_write_file(kf, priv, strlen(priv), 0600, &err), 0);
	assert_int_equal(sbx_write_file(pf, pub, strlen(pub), 0644, &err), 0);
	char *fp = ssh_fingerprint(pub);
	char *a1[] = {"ssh-keygen", "-l", "-f", pf, NULL};
	assert_int_equal(run_capture(a1, line, sizeof(line)), 0);
	assert_non_null(strstr(line, fp));
	char *a2[] = {"ssh-keygen", "-y", "-f", kf, NULL}; /* derive public from our private PEM */
	assert_int_equal(run_capture(a2, line, sizeof(line)), 0);
	assert_int_equal(strncmp(line, pub, strcspn(pub + 20, " ") + 20), 0);
	sbx_rm_rf(dir);
	free(fp);
	free(kf);
	free(pf);
	free(priv);
	free(pub);
}

/* Quoting survives single quotes. */
static void test_quote(void **state)
{
	(void)state;
	char *q = sbx_shell_quote("it's $HOME");
	assert_string_equal(q, "'it'\\''s $HOME'");
	free(q);
	q = sbx_shell_quote("");
	assert_string_equal(q, "''");
	free(q);
}

/* Fingerprints are SHA256 without padding; garbage is reported, not crashed on. */
static void test_fingerprint(void **state)
{
	(void)state;
	/* blob "abc" = YWJj; sha256("abc") base64 = ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0= */
	char *fp = ssh_fingerprint("ssh-test YWJj comment");
	assert_string_equal(fp, "SHA256:ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0");
	free(fp);
	fp = ssh_fingerprint("nospace");
	assert_string_equal(fp, "(unparsable key)");
	free(fp);
}

/* The console vouches for a host key by its key line or its fingerprint; a block listing only
 * other keys refuses; no (complete) block yet is "wait". */
static void test_hostkey_on_console(void **state)
{
	(void)state;
	const char *key = "ssh-test YWJj", *other = "ssh-test eHl6";
	const char *fps = "[   12.3] cloud-init[501]: ec2: -----BEGIN SSH HOST KEY FINGERPRINTS-----\r\n"
		"ec2: 256 SHA256:ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0 root@web-0 (TEST)\r\n"
		"ec2: -----END SSH HOST KEY FINGERPRINTS-----\r\n";
	const char *keys = "-----BEGIN SSH HOST KEY KEYS-----\r\nssh-test YWJj root@web-0\r\n"
		"-----END SSH HOST KEY KEYS-----\r\n";
	assert_int_equal(ssh_hostkey_on_console("", key), 0);
	assert_int_equal(ssh_hostkey_on_console("booting...\n-----BEGIN SSH HOST KEY KEYS-----\nssh-test YWJj", key), 0);
	assert_int_equal(ssh_hostkey_on_console(fps, key), 1);
	assert_int_equal(ssh_hostkey_on_console(keys, key), 1);
	assert_int_equal(ssh_hostkey_on_console(fps, other), -1);
	assert_int_equal(ssh_hostkey_on_console(keys, other), -1);
	char *both = xasprintf("%s%s", fps, keys);
	assert_int_equal(ssh_hostkey_on_console(both, key), 1);
	free(both);
	/* a key outside the blocks (printed by anyone) does not count */
	assert_int_equal(ssh_hostkey_on_console("ssh-test YWJj\n-----BEGIN SSH HOST KEY KEYS-----\n"
		"ssh-test eHl6\n-----END SSH HOST KEY KEYS-----\n", key), -1);
	assert_int_equal(ssh_hostkey_on_console(NULL, key), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keygen_format),
		cmocka_unit_test(test_keygen_unique),
		cmocka_unit_test(test_keygen_openssh_accepts),
		cmocka_unit_test(test_quote),
		cmocka_unit_test(test_fingerprint),
		cmocka_unit_test(test_hostkey_on_console),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
