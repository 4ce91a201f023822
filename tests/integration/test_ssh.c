/* Integration tests of the ssh transport against a real OpenSSH sshd on 127.0.0.1. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ssh.h"

#define SSHD "/usr/sbin/sshd"

struct fix {
	char dir[64];
	char *priv, *pub;       /* the client key */
	char *host_pub;         /* the sshd host key (public line) */
	char *cfg;
	int port;
	pid_t sshd;
	struct ssh_conn *c;
};
static struct fix F;

/* A TCP socket bound to 127.0.0.1 on a port the kernel picks; *port receives it. */
static int loopback_socket(int *port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t l = sizeof(a);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &l), 0);
	*port = ntohs(a.sin_port);
	return fd;
}

/* A TCP port nothing listens on right now (bind 0, read it back, close). */
static int free_port(void)
{
	int port;
	close(loopback_socket(&port));
	return port;
}

/* Write the per-test sshd config for `port`. HOME is an empty dir so the host's ~/.bashrc (run by
 * bash for ssh commands) stays out of the sessions. */
static void write_cfg(int port)
{
	struct sbx_err err = SBX_ERR_INIT;
	char *c = xasprintf("Port %d\nListenAddress 127.0.0.1\nHostKey %s/hostkey\nPidFile %s/sshd.pid\n"
		"AuthorizedKeysFile %s/authorized_keys\nPermitRootLogin prohibit-password\n"
		"PasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\n"
		"LogLevel ERROR\nSetEnv HOME=%s/home\n", port, F.dir, F.dir, F.dir, F.dir);
	free(F.cfg);
	F.cfg = xasprintf("%s/sshd_config", F.dir);
	assert_int_equal(sbx_write_file(F.cfg, c, strlen(c), 0600, &err), 0);
	free(c);
}

/* Start sshd in the foreground (as a child) on the configured port. */
static pid_t sshd_start(void)
{
	pid_t pid = fork();
	if (pid == 0) {
		execl(SSHD, SSHD, "-D", "-e", "-f", F.cfg, (char *)NULL);
		_exit(127);
	}
	return pid;
}

/* Stop a child sshd and reap it. */
static void sshd_stop(pid_t *pid)
{
	if (*pid > 0) {
		kill(*pid, SIGTERM);
		waitpid(*pid, NULL, 0);
	}
	*pid = 0;
}

/* The target for the fixture's sshd. */
static struct ssh_target target(const char *pinned)
{
	struct ssh_target t = {.host = "127.0.0.1", .port = F.port, .user = "root", .priv_pem = F.priv,
		.pinned_key = pinned};
	return t;
}

/* Keys, config, sshd, and one connection shared by the tests. */
static int setup(void **state)
{
	(void)state;
	struct sbx_err err = SBX_ERR_INIT;
	char *hpriv = NULL;
	if (geteuid() != 0 || access(SSHD, X_OK) != 0) {
		fprintf(stderr, "skip: needs root and %s\n", SSHD);
		exit(77);
	}
	snprintf(F.dir, sizeof(F.dir), "/tmp/sbx-ssh-it-XXXXXX");
	assert_non_null(mkdtemp(F.dir));
	mkdir("/run/sshd", 0755);
	char *home = xasprintf("%s/home", F.dir);
	assert_int_equal(mkdir(home, 0755), 0);
	free(home);
	assert_int_equal(ssh_keygen("client", &F.priv, &F.pub, &err), 0);
	assert_int_equal(ssh_keygen("host", &hpriv, &F.host_pub, &err), 0);
	char *p = xasprintf("%s/hostkey", F.dir);
	assert_int_equal(sbx_write_file(p, hpriv, strlen(hpriv), 0600, &err), 0);
	free(p);
	p = xasprintf("%s/authorized_keys", F.dir);
	assert_int_equal(sbx_write_file(p, F.pub, strlen(F.pub), 0600, &err), 0);
	free(p);
	free(hpriv);
	F.port = free_port();
	write_cfg(F.port);
	F.sshd = sshd_start();
	struct ssh_target t = target(NULL);
	char *hk = NULL;
	if (ssh_connect_wait(&t, 10000, &F.c, &hk, &err) != 0) {
		sbx_err_print(&err, stderr);
		fail();
	}
	assert_non_null(hk);
	assert_int_equal(strncmp(hk, F.host_pub, strcspn(F.host_pub + 20, " ") + 20), 0);
	free(hk);
	return 0;
}

/* Stop sshd, remove the directory. */
static int teardown(void **state)
{
	(void)state;
	ssh_close(F.c);
	sshd_stop(&F.sshd);
	sbx_rm_rf(F.dir);
	free(F.priv);
	free(F.pub);
	free(F.host_pub);
	free(F.cfg);
	return 0;
}

/* Exit status, stdout and stderr come back separately. */
static void test_exec_streams(void **state)
{
	(void)state;
	struct ssh_result r = {0};
	struct sbx_err err = SBX_ERR_INIT;
	assert_int_equal(ssh_exec(F.c, "echo out; echo err >&2; exit 3", NULL, &r, &err), 0);
	assert_int_equal(r.status, 3);
	assert_string_equal(r.out, "out\n");
	assert_string_equal(r.err, "err\n");
	ssh_result_clear(&r);
	assert_int_equal(ssh_exec(F.c, "kill -9 $$", NULL, &r, &err), 0);
	assert_int_equal(r.status, -1);
	ssh_result_clear(&r);
}

/* Stdin of 1 MiB reaches the command and a large stdout comes back intact. */
static void test_exec_stdin(void **state)
{
	(void)state;
	size_t n = 1 << 20;
	char *in = xmalloc(n);
	for (size_t i = 0; i < n; i++)
		in[i] = (char)(i * 7 + 3);
	struct ssh_result r = {0};
	struct sbx_err err = SBX_ERR_INIT;
	assert_int_equal(ssh_exec_input(F.c, "cat; echo done >&2", in, n, &r, &err), 0);
	assert_int_equal(r.status, 0);
	assert_int_equal(r.out_len, n);
	assert_memory_equal(r.out, in, n);
	assert_string_equal(r.err, "done\n");
	ssh_result_clear(&r);
	assert_int_equal(ssh_exec(F.c, "wc -c", "hello", &r, &err), 0);
	assert_int_equal(strtol(r.out, NULL, 10), 5);
	ssh_result_clear(&r);
	free(in);
}

/* Upload sets the mode, replaces atomically, leaves no temp file; download reads it back. */
static void test_upload(void **state)
{
	(void)state;
	struct sbx_err err = SBX_ERR_INIT;
	char *path = xasprintf("%s/sub/dir/file.conf", F.dir);
	struct stat st;
	assert_int_equal(ssh_upload(F.c, path, "one\n", 4, 0640, &err), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
	ino_t first = st.st_ino;
	assert_int_equal(ssh_upload(F.c, path, "two\0bin", 7, 0600, &err), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_not_equal(st.st_ino, first); /* replaced by rename, not rewritten in place */
	char *data = NULL;
	size_t len = 0;
	assert_int_equal(ssh_download(F.c, path, &data, &len, &err), 0);
	assert_int_equal(len, 7);
	assert_memory_equal(data, "two\0bin", 7);
	free(data);
	struct ssh_result r = {0};
	char *ls = xasprintf("ls -a %s/sub/dir | grep -c sbx-", F.dir);
	assert_int_equal(ssh_exec(F.c, ls, NULL, &r, &err), 0);
	assert_string_equal(r.out, "0\n");
	ssh_result_clear(&r);
	free(ls);
	free(path);
}

/* A missing file or unwritable path is an error carrying the node's message. */
static void test_upload_errors(void **state)
{
	(void)state;
	struct sbx_err err = SBX_ERR_INIT;
	char *data = NULL;
	size_t len = 0;
	assert_int_equal(ssh_download(F.c, "/nonexistent/x", &data, &len, &err), -1);
	assert_non_null(strstr(sbx_err_first(&err), "No such file"));
	assert_null(data);
	sbx_err_clear(&err);
	assert_int_equal(ssh_upload(F.c, "/proc/sbx-no/x", "a", 1, 0644, &err), -1);
	assert_non_null(strstr(sbx_err_first(&err), "upload to /proc/sbx-no/x failed"));
	sbx_err_clear(&err);
}

/* A pinned key that is not the host's fails with both fingerprints; the right one passes. */
static void test_pinned_mismatch(void **state)
{
	(void)state;
	struct sbx_err err = SBX_ERR_INIT;
	char *opriv, *opub;
	assert_int_equal(ssh_keygen("other", &opriv, &opub, &err), 0);
	struct ssh_target t = target(opub);
	struct ssh_conn *c = NULL;
	int64_t t0 = sbx_mono_ms();
	assert_int_equal(ssh_connect_wait(&t, 60000, &c, NULL, &err), -1);
	assert_true(sbx_mono_ms() - t0 < 30000); /* not retried until the 60 s deadline */
	assert_null(c);
	const char *m = sbx_err_first(&err);
	char *fp1 = ssh_fingerprint(opub), *fp2 = ssh_fingerprint(F.host_pub);
	assert_non_null(strstr(m, "127.0.0.1"));
	assert_non_null(strstr(m, "host key changed"));
	assert_non_null(strstr(m, fp1));
	assert_non_null(strstr(m, fp2));
	sbx_err_clear(&err);
	t = target(F.host_pub);
	assert_int_equal(ssh_connect(&t, 5000, &c, NULL, &err), 0);
	ssh_close(c);
	free(fp1);
	free(fp2);
	free(opriv);
	free(opub);
}

/* Nothing listening: connect_wait retries, then fails at the deadline with the last error. */
static void test_wait_timeout(void **state)
{
	(void)state;
	struct sbx_err err = SBX_ERR_INIT;
	struct ssh_target t = target(NULL);
	t.port = free_port();
	struct ssh_conn *c = NULL;
	int64_t t0 = sbx_mono_ms();
	assert_int_equal(ssh_connect_wait(&t, 1500, &c, NULL, &err), -1);
	int64_t dt = sbx_mono_ms() - t0;
	assert_true(dt >= 1400 && dt < 4000);
	assert_null(c);
	assert_non_null(strstr(sbx_err_first(&err), "refused"));
	assert_non_null(strstr(err.msgs[err.n - 1].text, "not ready after"));
	sbx_err_clear(&err);
}

/* A wrong key is an authentication failure, retried and then reported. */
static void test_wait_auth_failure(void **state)
{
	(void)state;
	struct sbx_err err = SBX_ERR_INIT;
	char *opriv, *opub;
	assert_int_equal(ssh_keygen("x", &opriv, &opub, &err), 0);
	struct ssh_target t = target(NULL);
	t.priv_pem = opriv;
	struct ssh_conn *c = NULL;
	assert_int_equal(ssh_connect_wait(&t, 1200, &c, NULL, &err), -1);
	assert_non_null(strstr(sbx_err_first(&err), "authentication"));
	const char *after = strstr(err.msgs[err.n - 1].text, "after ");
	assert_non_null(after);
	assert_true(strtol(after + 6, NULL, 10) >= 2);
	sbx_err_clear(&err);
	free(opriv);
	free(opub);
}

struct later {
	int port;
	pid_t pid;
};

/* Wait until a first refused attempt is certain, then start a second sshd. */
static void *start_later(void *arg)
{
	struct later *l = arg;
	sbx_sleep_ms(800);
	l->pid = sshd_start();
	return NULL;
}

/* connect_wait keeps retrying while nothing listens and succeeds once sshd appears. */
static void test_wait_until_up(void **state)
{
	(void)state;
	struct sbx_err err = SBX_ERR_INIT;
	struct later l = {.port = free_port()};
	write_cfg(l.port);
	pthread_t th;
	pthread_create(&th, NULL, start_later, &l);
	struct ssh_target t = target(NULL);
	t.port = l.port;
	struct ssh_conn *c = NULL;
	int64_t t0 = sbx_mono_ms();
	int rc = ssh_connect_wait(&t, 15000, &c, NULL, &err);
	pthread_join(th, NULL);
	sbx_err_print(&err, stderr);
	assert_int_equal(rc, 0);
	assert_true(sbx_mono_ms() - t0 >= 700);
	ssh_close(c);
	sshd_stop(&l.pid);
	write_cfg(F.port);
}

/* A TCP relay to the fixture's sshd that holds every connection silent for `hold_ms` first: a guest
 * whose sshd accepts at once but answers slowly (TCG, busy host). */
struct slow_relay {
	int lfd, port, hold_ms, accepts;
	volatile int stop;
};

/* Copy between two sockets until either side closes or the relay stops. */
static void relay_pipe(struct slow_relay *r, int a, int b)
{
	char buf[16384];
	while (!r->stop) {
		struct pollfd p[2] = {{.fd = a, .events = POLLIN}, {.fd = b, .events = POLLIN}};
		if (poll(p, 2, 200) < 0)
			return;
		for (int i = 0; i < 2; i++) {
			if (!(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			ssize_t n = read(p[i].fd, buf, sizeof(buf));
			if (n <= 0 || write(p[1 - i].fd, buf, (size_t)n) != n)
				return;
		}
	}
}

/* Accept, hold, then relay; one connection at a time (the client makes one at a time). */
static void *slow_relay_main(void *arg)
{
	struct slow_relay *r = arg;
	while (!r->stop) {
		struct pollfd p = {.fd = r->lfd, .events = POLLIN};
		if (poll(&p, 1, 200) <= 0)
			continue;
		int a = accept(r->lfd, NULL, NULL);
		if (a < 0)
			continue;
		r->accepts++;
		int64_t until = sbx_mono_ms() + r->hold_ms;
		while (!r->stop && sbx_mono_ms() < until)
			sbx_sleep_ms(50);
		int b = socket(AF_INET, SOCK_STREAM, 0);
		struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)F.port),
			.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
		if (connect(b, (struct sockaddr *)&sa, sizeof(sa)) == 0)
			relay_pipe(r, a, b);
		close(b);
		close(a);
	}
	return NULL;
}

/* A guest that accepts TCP at once but needs longer than the TCP connect budget (10 s) for the
 * handshake gets the time to finish it: one attempt, no restart from scratch. */
static void test_wait_slow_handshake(void **state)
{
	(void)state;
	struct sbx_err err = SBX_ERR_INIT;
	struct slow_relay r = {.hold_ms = 11000};
	r.lfd = loopback_socket(&r.port);
	assert_int_equal(listen(r.lfd, 8), 0);
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, slow_relay_main, &r), 0);
	struct ssh_target t = target(NULL);
	t.port = r.port;
	struct ssh_conn *c = NULL;
	int rc = ssh_connect_wait(&t, 40000, &c, NULL, &err);
	r.stop = 1;
	ssh_close(c);
	pthread_join(th, NULL);
	close(r.lfd);
	sbx_err_print(&err, stderr);
	assert_int_equal(rc, 0);
	assert_int_equal(r.accepts, 1);
	sbx_err_clear(&err);
}

/* A take of an expected connection, on its own thread. */
struct taker {
	struct ssh_pool *p;
	const struct ssh_target *t;
	struct ssh_conn *got;
	int done; /* set once the take returned */
};

/* Take t from the pool (waits while it is expected). */
static void *taker_main(void *arg)
{
	struct taker *k = arg;
	k->got = ssh_pool_take_unproven(k->p, k->t);
	__atomic_store_n(&k->done, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

/* Readiness alongside the roles: a take of an expected connection waits for its put (an
 * unproven connect: authenticated, no command run yet, and the first command works) or its
 * give-up (then NULL, and the pool says so); other targets do not wait. */
static void test_pool_expect(void **state)
{
	(void)state;
	struct sbx_err err = SBX_ERR_INIT;
	struct ssh_target t = target(NULL), other = target(NULL);
	other.user = "nobody";
	struct ssh_pool *p = ssh_pool_new();
	struct ssh_conn *c = NULL;
	struct taker k = {p, &t, NULL, 0};
	pthread_t th;
	ssh_pool_expect(p, &t);
	assert_int_equal(pthread_create(&th, NULL, taker_main, &k), 0);
	assert_null(ssh_pool_take_unproven(p, &other)); /* not expected: no wait */
	assert_int_equal(ssh_connect_wait_unproven(&t, 20000, &c, NULL, &err), 0);
	assert_int_equal(ssh_exec_count(c), 0);
	assert_int_equal(__atomic_load_n(&k.done, __ATOMIC_SEQ_CST), 0); /* still waiting */
	ssh_pool_put(p, c);
	pthread_join(th, NULL);
	assert_ptr_equal(k.got, c);
	struct ssh_result r = {0};
	assert_int_equal(ssh_exec(c, "echo hi", NULL, &r, &err), 0);
	assert_int_equal(r.status, 0);
	ssh_result_clear(&r);
	ssh_close(c);
	assert_false(ssh_pool_gave_up(p, &t));
	/* given up: the waiting take returns NULL */
	k = (struct taker){p, &t, NULL, 0};
	ssh_pool_expect(p, &t);
	assert_int_equal(pthread_create(&th, NULL, taker_main, &k), 0);
	ssh_pool_give_up(p, &t);
	pthread_join(th, NULL);
	assert_null(k.got);
	assert_true(ssh_pool_gave_up(p, &t));
	assert_false(ssh_pool_gave_up(p, &other));
	assert_false(ssh_pool_gave_up(NULL, &t));
	ssh_pool_free(p);
	sbx_err_clear(&err);
}

/* The pool hands a kept connection to the same target once, proves it alive, and drops a dead one. */
static void test_pool(void **state)
{
	(void)state;
	struct sbx_err err = SBX_ERR_INIT;
	struct ssh_target t = target(NULL), other = target(NULL);
	other.user = "nobody";
	struct ssh_conn *c = NULL, *d = NULL;
	struct ssh_pool *p = ssh_pool_new();
	assert_null(ssh_pool_take(p, &t));
	assert_int_equal(ssh_connect(&t, 5000, &c, NULL, &err), 0);
	ssh_pool_put(p, c);
	assert_null(ssh_pool_take(p, &other));
	assert_ptr_equal(ssh_pool_take(p, &t), c);
	assert_null(ssh_pool_take(p, &t));
	/* a connection whose server side is gone is closed, not handed out */
	struct ssh_result r = {0};
	int rc = ssh_exec(c, "kill -TERM $PPID", NULL, &r, &err); /* fails or not: the link is gone */
	(void)rc;
	ssh_result_clear(&r);
	sbx_err_clear(&err);
	ssh_pool_put(p, c);
	assert_null(ssh_pool_take(p, &t));
	/* a second put for a label replaces the first; free closes what is left (ASan: no leak) */
	assert_int_equal(ssh_connect(&t, 5000, &c, NULL, &err), 0);
	assert_int_equal(ssh_connect(&t, 5000, &d, NULL, &err), 0);
	ssh_pool_put(p, c);
	ssh_pool_put(p, d);
	assert_ptr_equal(ssh_pool_take(p, &t), d);
	ssh_pool_put(p, d);
	ssh_pool_free(p);
	ssh_pool_put(NULL, NULL);
	assert_null(ssh_pool_take(NULL, &t));
}

/* An operation on a hung command times out instead of hanging. */
static void test_exec_timeout(void **state)
{
	(void)state;
	struct sbx_err err = SBX_ERR_INIT;
	struct ssh_target t = target(NULL);
	struct ssh_conn *c = NULL;
	struct ssh_result r = {0};
	assert_int_equal(ssh_connect(&t, 5000, &c, NULL, &err), 0);
	ssh_set_timeout(c, 800);
	int64_t t0 = sbx_mono_ms();
	assert_int_equal(ssh_exec(c, "sleep 60", NULL, &r, &err), -1);
	assert_true(sbx_mono_ms() - t0 < 30000); /* the 800 ms timeout, not the command's minute */
	assert_non_null(strstr(sbx_err_first(&err), "timed out"));
	ssh_close(c);
	sbx_err_clear(&err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exec_streams),
		cmocka_unit_test(test_exec_stdin),
		cmocka_unit_test(test_upload),
		cmocka_unit_test(test_upload_errors),
		cmocka_unit_test(test_pinned_mismatch),
		cmocka_unit_test(test_wait_timeout),
		cmocka_unit_test(test_wait_auth_failure),
		cmocka_unit_test(test_wait_until_up),
		cmocka_unit_test(test_wait_slow_handshake),
		cmocka_unit_test(test_pool),
		cmocka_unit_test(test_pool_expect),
		cmocka_unit_test(test_exec_timeout),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
