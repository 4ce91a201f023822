/*
 * `sandbox daemon`'s webhooks (the blueprint's notify:) against a receiver in this process
 * (tests/lib/mockproc.c hookrecv, 127.0.0.1, an ephemeral port), on a private SQLite state whose
 * environments are rows (site: libvirt's in-process test driver, no node: a teardown deletes rows),
 * the clock moved with SANDBOX_FAKE_NOW between daemon runs:
 *   - the 24 h warning and a reap are POSTed once each: JSON body (type, env, env_id, id, expires,
 *     before_s / duration_ms), Sandbox-Event, Sandbox-Delivery, and a Sandbox-Signature
 *     "t=T,v1=HEX" recomputed here (HMAC-SHA256 of "T.BODY" under the environment's secret);
 *   - a daemon restarted at the same time delivers nothing again; one an hour before the expiry
 *     delivers the 1 h warning, once;
 *   - a teardown that fails: reap.failed POSTed once, not again when a later daemon fails it again;
 *   - a receiver that is down: the delivery is tried 4 times and given up (notify.failed in the
 *     state's event log), while the reaper goes on reaping (an environment that expires meanwhile
 *     is gone before the delivery is given up);
 *   - the secret never reaches the daemon's log;
 *   - a receiver that is down and the daemon killed (SIGKILL) after a failed attempt: the warning
 *     waits in the state's outbox (its secret not in clear in the database files), and a new daemon
 *     delivers it once the receiver is up: the same delivery id, a valid signature, once;
 *   - a daemon stopped (SIGTERM) with a delivery pending leaves it in the outbox and says so;
 *   - a daemon killed right after an environment's deletion committed: its reap.done was queued in
 *     that transaction, and the next daemon delivers it, once;
 *   - a delivery whose signing secret cannot be decrypted (the key file changed): given up at once,
 *     unsent, notify.failed saying so (never the secret), its row deleted.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "mockproc.h"
#include "state_fix.h"

#define SECRET "hook-secret-0123456789"

static struct state_fix *fix;
static struct mockproc live; /* the daemon of the running test, stopped by teardown if a check failed */
static struct hookrecv *recv_ok;
static int dead_port;
static int64_t t0;

/* Record an environment row: expires at exp, its webhook on port (0: none). */
static void add_env(const char *name, int64_t exp, int port)
{
	struct sbx_err err = SBX_ERR_INIT;
	char *bp = port ? xasprintf("{\"site\":{\"uri\":\"test:///default\"},\"notify\":{\"webhook\":"
		"\"http://127.0.0.1:%d/hook/%s\",\"secret\":\"${secret.hook}\"}}", port, name) :
		xstrdup("{\"site\":{\"uri\":\"test:///default\"}}");
	struct state_env e = {.name = (char *)name, .blueprint = "/bp.yaml", .bp_hash = "h", .bp_json = bp,
		.status = "ready", .owner = "me@host", .expires = exp};
	if (state_env_create(fix->st, &e, &err) < 0 ||
		(port && state_secret_put(fix->st, name, "user/hook", SECRET, &err) < 0))
		fail_msg("create %s: %s", name, sbx_err_first(&err));
	free(bp);
}

/* Whether env is gone from the state. */
static bool gone(const char *name)
{
	struct sbx_err err = SBX_ERR_INIT;
	struct state_env *e = NULL;
	assert_int_equal(state_env_get(fix->st, name, &e, &err), 0);
	bool g = e == NULL;
	state_env_free(e);
	return g;
}

/* Wait up to 60 s for env to be gone. */
static void wait_gone(const char *name)
{
	long long end = mockproc_now_ms() + 60000;
	while (!gone(name) && mockproc_now_ms() < end)
		usleep(50000);
	if (!gone(name))
		fail_msg("%s not reaped within 60 s", name);
}

/* Start the daemon with the clock at now, its stderr appended to DIR/daemon.log. */
static void daemon_start(struct mockproc *p, int64_t now)
{
	char bin[512], nowbuf[32], *log = xasprintf("%s/daemon.log", fix->dir);
	const char *top = getenv("SBX_BIN");
	snprintf(bin, sizeof(bin), "%s/sandbox", top && *top ? top : "build/asan");
	snprintf(nowbuf, sizeof(nowbuf), "%lld", (long long)now);
	setenv("SANDBOX_STATE", fix->db, 1);
	setenv("SANDBOX_FAKE_NOW", nowbuf, 1);
	int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600), saved = dup(2);
	assert_true(fd >= 0 && saved >= 0);
	dup2(fd, 2);
	char *argv[] = {bin, "daemon", "--listen", "127.0.0.1:0", "--interval", "1", NULL};
	int rc = mockproc_start(p, argv, 60000);
	dup2(saved, 2);
	close(saved);
	close(fd);
	free(log);
	assert_int_equal(rc, 0);
}

/* SIGTERM: it must exit 0. */
static void daemon_stop(struct mockproc *p)
{
	assert_int_equal(mockproc_stop(p, SIGTERM, 60000), 0);
}

/* Check request i's signature: "t=T,v1=HEX" over "T.BODY" under SECRET. */
static void check_signature(size_t i)
{
	size_t len = 0;
	const char *body = hookrecv_body(recv_ok, i, &len);
	const char *sig = hookrecv_header(recv_ok, i, "Sandbox-Signature");
	long long t = 0;
	char hex[65] = "", want[65];
	unsigned char mac[32];
	unsigned int n = 0;
	assert_non_null(sig);
	assert_int_equal(sscanf(sig, "t=%lld,v1=%64[0-9a-f]", &t, hex), 2);
	char *msg = xasprintf("%lld.%.*s", t, (int)len, body);
	HMAC(EVP_sha256(), SECRET, (int)strlen(SECRET), (const unsigned char *)msg, strlen(msg), mac, &n);
	assert_int_equal(n, 32);
	for (unsigned int k = 0; k < n; k++)
		snprintf(want + 2 * k, 3, "%02x", mac[k]);
	assert_string_equal(hex, want);
	free(msg);
}

/* Find the request whose body has type and env; its index, or fail. */
static size_t find(const char *type, const char *env, json_t **body)
{
	size_t n = hookrecv_wait(recv_ok, 0, 0);
	for (size_t i = 0; i < n; i++) {
		json_t *j = json_loads(hookrecv_body(recv_ok, i, NULL), 0, NULL);
		if (j && strcmp(json_string_value(json_object_get(j, "type")), type) == 0 &&
			strcmp(json_string_value(json_object_get(j, "env")), env) == 0) {
			*body = j;
			return i;
		}
		json_decref(j);
	}
	fail_msg("no %s of %s among %zu requests", type, env, n);
	return 0;
}

/* How many events of kind env has in the state's log. */
static size_t events(const char *env, const char *kind, int64_t *last_id)
{
	struct sbx_err err = SBX_ERR_INIT;
	struct state_event *ev = NULL;
	size_t n = 0, c = 0;
	assert_int_equal(state_event_list(fix->st, env, 0, &ev, &n, &err), 0);
	for (size_t i = 0; i < n; i++)
		if (strcmp(ev[i].kind, kind) == 0) {
			c++;
			if (last_id)
				*last_id = ev[i].id;
		}
	state_event_list_free(ev, n);
	return c;
}

static int setup(void **ctx)
{
	(void)ctx;
	fix = state_fix_new("notify", NULL);
	recv_ok = hookrecv_start();
	struct hookrecv *dead = hookrecv_start();
	if (recv_ok == NULL || dead == NULL)
		return -1;
	dead_port = hookrecv_port(dead);
	hookrecv_stop(dead);
	t0 = (int64_t)time(NULL);
	return 0;
}

static int teardown(void **ctx)
{
	(void)ctx;
	mockproc_stop(&live, SIGKILL, 10000);
	hookrecv_stop(recv_ok);
	state_fix_free(fix);
	return 0;
}

/* The warning and reap bodies, signed; once across a restart. */
static void test_deliveries(void **ctx)
{
	(void)ctx;
	struct mockproc p;
	json_t *j = NULL;
	int port = hookrecv_port(recv_ok);
	int64_t expa = t0 + 86400 - 100;
	add_env("wa", expa, port);
	add_env("rb", t0 - 5, port);
	daemon_start(&p, t0);
	assert_true(hookrecv_wait(recv_ok, 2, 60000) >= 2);
	wait_gone("rb");
	size_t i = find("expiry.warning", "wa", &j);
	assert_string_equal(hookrecv_path(recv_ok, i), "/hook/wa");
	assert_string_equal(hookrecv_header(recv_ok, i, "Sandbox-Event"), "expiry.warning");
	assert_string_equal(hookrecv_header(recv_ok, i, "Content-Type"), "application/json");
	assert_int_equal(json_integer_value(json_object_get(j, "before_s")), 86400);
	assert_int_equal(json_integer_value(json_object_get(j, "expires")), expa);
	assert_int_equal(json_integer_value(json_object_get(j, "seconds_left")), 86300);
	assert_int_equal(json_integer_value(json_object_get(j, "time")), t0);
	const char *id = json_string_value(json_object_get(j, "id"));
	assert_non_null(strstr(id, ".warning.86400."));
	assert_string_equal(hookrecv_header(recv_ok, i, "Sandbox-Delivery"), id);
	check_signature(i);
	json_decref(j);
	i = find("reap.done", "rb", &j);
	assert_int_equal(json_integer_value(json_object_get(j, "expires")), t0 - 5);
	assert_true(json_is_integer(json_object_get(j, "duration_ms")));
	assert_non_null(json_string_value(json_object_get(j, "env_id")));
	check_signature(i);
	json_decref(j);
	daemon_stop(&p);
	assert_int_equal(events("wa", "notify.sent", NULL), 1);
	assert_int_equal(events("rb", "notify.sent", NULL), 1);

	/* the same time again: two full passes (two expired rows reaped in turn), nothing re-sent */
	daemon_start(&p, t0);
	add_env("x1", t0 - 1, 0);
	wait_gone("x1");
	add_env("x2", t0 - 1, 0);
	wait_gone("x2");
	daemon_stop(&p);
	assert_int_equal(hookrecv_wait(recv_ok, 0, 0), 2);

	/* 50 min before the expiry: the 1 h warning, once */
	daemon_start(&p, expa - 3000);
	assert_int_equal(hookrecv_wait(recv_ok, 3, 60000), 3);
	add_env("x3", expa - 3001, 0);
	wait_gone("x3");
	daemon_stop(&p);
	assert_int_equal(hookrecv_wait(recv_ok, 0, 0), 3);
	i = find("expiry.warning", "wa", &j);
	json_decref(j);
	j = json_loads(hookrecv_body(recv_ok, 2, NULL), 0, NULL);
	assert_int_equal(json_integer_value(json_object_get(j, "before_s")), 3600);
	check_signature(2);
	json_decref(j);
	assert_int_equal(events("wa", "notify.sent", NULL), 2);
}

/* A teardown that fails (its site cannot be opened): reap.failed once per expiry, also when a later
 * daemon (the claim stale an hour later) fails it again. */
static void test_reap_failed(void **ctx)
{
	(void)ctx;
	struct sbx_err err = SBX_ERR_INIT;
	struct mockproc p;
	json_t *j = NULL;
	int port = hookrecv_port(recv_ok);
	size_t before = hookrecv_wait(recv_ok, 0, 0);
	char *bp = xasprintf("{\"site\":{\"uri\":\"test:///nonexistent/site.xml\"},\"notify\":{\"webhook\":"
		"\"http://127.0.0.1:%d/hook/bad\",\"secret\":\"${secret.hook}\"}}", port);
	struct state_env e = {.name = "bad", .blueprint = "/bp.yaml", .bp_hash = "h", .bp_json = bp, .status = "ready",
		.owner = "me@host", .expires = t0 - 5};
	struct state_res r = {.env = "bad", .type = "network", .name = "sbx-bad.net", .status = "created"};
	if (state_env_create(fix->st, &e, &err) < 0 || state_res_put(fix->st, &r, &err) < 0 ||
		state_secret_put(fix->st, "bad", "user/hook", SECRET, &err) < 0)
		fail_msg("create bad: %s", sbx_err_first(&err));
	free(bp);
	for (int run = 0; run < 2; run++) {
		daemon_start(&p, t0 + run * 3700);
		long long end = mockproc_now_ms() + 60000;
		while (events("bad", "down.fail", NULL) < (size_t)run + 1 && mockproc_now_ms() < end)
			usleep(50000);
		add_env(run ? "x6" : "x5", t0 - 1, 0); /* a pass after the failure: its notice had time */
		wait_gone(run ? "x6" : "x5");
		daemon_stop(&p);
		assert_int_equal(events("bad", "down.fail", NULL), run + 1);
	}
	assert_int_equal(hookrecv_wait(recv_ok, before + 1, 10000), before + 1);
	size_t i = find("reap.failed", "bad", &j);
	assert_int_equal(i, before);
	assert_int_equal(json_integer_value(json_object_get(j, "expires")), t0 - 5);
	check_signature(i);
	json_decref(j);
	assert_int_equal(events("bad", "notify.sent", NULL), 1);
}

/* A receiver that is down: 4 attempts, given up; reaping goes on meanwhile. */
static void test_receiver_down(void **ctx)
{
	(void)ctx;
	struct mockproc p;
	int64_t failed_id = 0, reaped_id = 0;
	add_env("down", t0 + 3000, dead_port);
	daemon_start(&p, t0);
	add_env("x4", t0 - 1, 0);
	wait_gone("x4");
	long long end = mockproc_now_ms() + 120000;
	while (events("down", "notify.failed", &failed_id) == 0 && mockproc_now_ms() < end)
		usleep(100000);
	daemon_stop(&p);
	assert_int_equal(events("down", "notify.failed", &failed_id), 1);
	assert_int_equal(events("x4", "down.done", &reaped_id) + events("x4", "down.start", &reaped_id) > 0, 1);
	assert_true(reaped_id < failed_id);
	assert_int_equal(events("down", "notify.sent", NULL), 0);
	/* the log: 4 attempts, and never the secret */
	char *log = xasprintf("%s/daemon.log", fix->dir);
	FILE *f = fopen(log, "r");
	assert_non_null(f);
	char line[4096];
	bool gave_up = false;
	while (fgets(line, sizeof(line), f)) {
		assert_null(strstr(line, SECRET));
		gave_up |= strstr(line, "\"notify.failed\"") && strstr(line, "after 4 attempt(s)");
	}
	fclose(f);
	free(log);
	assert_true(gave_up);
}

/* Wait up to 60 s for a line of the daemon's log with both a and b. */
static void wait_log(const char *a, const char *b)
{
	char *log = xasprintf("%s/daemon.log", fix->dir), line[4096];
	long long end = mockproc_now_ms() + 60000;
	bool seen = false;
	while (!seen && mockproc_now_ms() < end) {
		FILE *f = fopen(log, "r");
		while (f && !seen && fgets(line, sizeof(line), f))
			seen = strstr(line, a) && strstr(line, b);
		if (f)
			fclose(f);
		if (!seen)
			usleep(50000);
	}
	if (!seen) {
		char *data = NULL;
		size_t len = 0;
		struct sbx_err err = SBX_ERR_INIT;
		if (sbx_read_file(log, &data, &len, &err) == 0)
			fprintf(stderr, "the daemon's log:\n%s\n", len > 8000 ? data + len - 8000 : data);
		sbx_err_clear(&err);
		free(data);
	}
	free(log);
	if (!seen)
		fail_msg("no %s about %s in the daemon's log within 60 s", a, b);
}

/* The rows waiting in the outbox. */
static int64_t outbox_rows(void)
{
	struct sbx_err err = SBX_ERR_INIT;
	int64_t n = -1;
	assert_int_equal(state_outbox_count(fix->st, &n, &err), 0);
	return n;
}

/* The receiver down, the daemon killed after a failed attempt: a new daemon delivers the warning once
 * the receiver is up, with the same delivery id and a valid signature. */
static void test_crash_redelivery(void **ctx)
{
	(void)ctx;
	struct sbx_err err = SBX_ERR_INIT;
	struct state_env *e = NULL;
	json_t *j = NULL;
	size_t before = hookrecv_wait(recv_ok, 0, 0);
	add_env("crash", t0 + 3000, hookrecv_port(recv_ok));
	assert_int_equal(state_env_get(fix->st, "crash", &e, &err), 0);
	char *id = xasprintf("%s.warning.3600.%lld", e->id, (long long)(t0 + 3000));
	state_env_free(e);
	hookrecv_down(recv_ok, true);
	daemon_start(&live, t0);
	wait_log("\"notify.retry\"", "\"crash\"");
	assert_true(mockproc_stop(&live, SIGKILL, 60000) != 0);
	assert_int_equal(hookrecv_wait(recv_ok, 0, 0), before);
	assert_int_equal(outbox_rows(), 1);
	assert_int_equal(events("crash", "expiry.warning", NULL), 1);
	assert_int_equal(events("crash", "notify.sent", NULL) + events("crash", "notify.failed", NULL), 0);
	/* the signing secret is sealed: in neither database file in clear (the body is). The handle is
	 * closed first: closing another descriptor of its file would drop its POSIX locks. */
	char *wal = xasprintf("%s-wal", fix->db);
	state_close(fix->st);
	fix->st = NULL;
	assert_false(state_fix_file_has(fix->db, SECRET) || state_fix_file_has(wal, SECRET));
	assert_true(state_fix_file_has(fix->db, id) || state_fix_file_has(wal, id));
	free(wal);
	assert_int_equal(state_fix_open(fix->db, &fix->st, &err), 0);

	hookrecv_down(recv_ok, false);
	daemon_start(&live, t0);
	assert_true(hookrecv_wait(recv_ok, before + 1, 60000) >= before + 1);
	long long end = mockproc_now_ms() + 60000;
	while (events("crash", "notify.sent", NULL) == 0 && mockproc_now_ms() < end)
		usleep(50000);
	daemon_stop(&live);
	assert_int_equal(hookrecv_wait(recv_ok, 0, 0), before + 1);
	size_t i = find("expiry.warning", "crash", &j);
	assert_int_equal(i, before);
	assert_string_equal(json_string_value(json_object_get(j, "id")), id);
	assert_string_equal(hookrecv_header(recv_ok, i, "Sandbox-Delivery"), id);
	assert_int_equal(json_integer_value(json_object_get(j, "before_s")), 3600);
	check_signature(i);
	json_decref(j);
	assert_int_equal(events("crash", "notify.sent", NULL), 1);
	assert_int_equal(events("crash", "expiry.warning", NULL), 1);
	assert_int_equal(outbox_rows(), 0);
	free(id);
}

/* The detail of env's last event of kind (owned), or NULL. */
static char *event_detail(const char *env, const char *kind)
{
	struct sbx_err err = SBX_ERR_INIT;
	struct state_event *ev = NULL;
	size_t n = 0;
	char *d = NULL;
	assert_int_equal(state_event_list(fix->st, env, 0, &ev, &n, &err), 0);
	for (size_t i = 0; i < n; i++)
		if (strcmp(ev[i].kind, kind) == 0 && ev[i].detail) {
			free(d);
			d = xstrdup(ev[i].detail);
		}
	state_event_list_free(ev, n);
	return d;
}

/* Write len bytes to path (truncated, mode kept). */
static void write_key(const char *path, const unsigned char *buf, size_t len)
{
	int fd = open(path, O_WRONLY | O_TRUNC);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, buf, len), (ssize_t)len);
	close(fd);
}

/* A delivery whose signing secret cannot be decrypted (the state's key file changed): given up at
 * once, unsent, notify.failed saying why (never the secret), its row deleted. */
static void test_unreadable_secret(void **ctx)
{
	(void)ctx;
	struct sbx_err err = SBX_ERR_INIT;
	enum state_outbox_put res = STATE_OUTBOX_DUPLICATE;
	unsigned char old[32], other[32];
	size_t before = hookrecv_wait(recv_ok, 0, 0);
	char *url = xasprintf("http://127.0.0.1:%d/hook/ghost", hookrecv_port(recv_ok));
	char *key = xasprintf("%s/key", fix->dir);
	struct state_outbox o = {.id = "ghostid.reap.done", .env = "ghost", .env_id = "ghostid", .event = "reap.done",
		.body = "{\"type\":\"reap.done\",\"env\":\"ghost\"}", .url = url, .secret = SECRET, .created = t0};
	assert_int_equal(state_outbox_put(fix->st, &o, &res, &err), 0);
	assert_int_equal(res, STATE_OUTBOX_QUEUED);
	assert_int_equal(outbox_rows(), 1);
	FILE *f = fopen(key, "rb");
	assert_non_null(f);
	assert_int_equal(fread(old, 1, sizeof(old), f), sizeof(old));
	fclose(f);
	for (size_t i = 0; i < sizeof(other); i++)
		other[i] = (unsigned char)(old[i] ^ 0x5a);
	write_key(key, other, sizeof(other));
	daemon_start(&live, t0);
	long long end = mockproc_now_ms() + 60000;
	while (events("ghost", "notify.failed", NULL) == 0 && mockproc_now_ms() < end)
		usleep(50000);
	write_key(key, old, sizeof(old)); /* before any check: the next tests need it */
	wait_log("\"notify.failed\"", "signing secret unreadable: cannot decrypt");
	daemon_stop(&live);
	assert_int_equal(events("ghost", "notify.failed", NULL), 1);
	assert_int_equal(events("ghost", "notify.sent", NULL), 0);
	assert_int_equal(outbox_rows(), 0);
	assert_int_equal(hookrecv_wait(recv_ok, 0, 0), before);
	char *d = event_detail("ghost", "notify.failed");
	assert_non_null(d);
	assert_non_null(strstr(d, "signing secret unreadable: cannot decrypt"));
	assert_null(strstr(d, SECRET));
	free(d);
	char *log = xasprintf("%s/daemon.log", fix->dir), *data = NULL;
	size_t len = 0;
	assert_int_equal(sbx_read_file(log, &data, &len, &err), 0);
	assert_null(strstr(data, SECRET));
	free(data);
	free(log);
	free(key);
	free(url);
}

/* A daemon stopped with a delivery pending: the row stays in the outbox, and the log says so. */
static void test_stop_leaves_pending(void **ctx)
{
	(void)ctx;
	size_t before = hookrecv_wait(recv_ok, 0, 0);
	add_env("later", t0 + 3000, hookrecv_port(recv_ok));
	hookrecv_down(recv_ok, true);
	daemon_start(&live, t0);
	wait_log("\"notify.retry\"", "\"later\"");
	daemon_stop(&live);
	hookrecv_down(recv_ok, false);
	wait_log("\"notify.pending\"", "for the next daemon: 1\"");
	assert_int_equal(outbox_rows(), 1);
	assert_int_equal(hookrecv_wait(recv_ok, 0, 0), before);
	assert_int_equal(events("later", "notify.sent", NULL) + events("later", "notify.failed", NULL), 0);
}

/* A daemon killed right after an environment's deletion committed (the crash point env:deleted):
 * its reap.done was queued in that transaction, and a new daemon delivers it, once. */
static void test_reap_done_after_crash(void **ctx)
{
	(void)ctx;
	json_t *j = NULL;
	size_t before = hookrecv_wait(recv_ok, 0, 0);
	add_env("gap", t0 - 5, hookrecv_port(recv_ok));
	setenv("SANDBOX_TEST_CRASH", "env:deleted", 1);
	daemon_start(&live, t0);
	unsetenv("SANDBOX_TEST_CRASH");
	assert_int_equal(mockproc_stop(&live, 0, 60000), 128 + SIGKILL);
	assert_true(gone("gap"));
	assert_int_equal(events("gap", "down.done", NULL), 0); /* killed before its teardown was logged */
	assert_int_equal(outbox_rows(), 1);
	assert_int_equal(events("gap", "notify.sent", NULL), 0);

	daemon_start(&live, t0);
	assert_true(hookrecv_wait(recv_ok, before + 1, 60000) >= before + 1);
	long long end = mockproc_now_ms() + 60000;
	while (events("gap", "notify.sent", NULL) == 0 && mockproc_now_ms() < end)
		usleep(50000);
	add_env("x7", t0 - 1, 0); /* a full pass after the delivery: nothing more is sent */
	wait_gone("x7");
	daemon_stop(&live);
	assert_int_equal(hookrecv_wait(recv_ok, 0, 0), before + 1);
	size_t i = find("reap.done", "gap", &j);
	assert_int_equal(i, before);
	assert_int_equal(json_integer_value(json_object_get(j, "expires")), t0 - 5);
	assert_true(json_is_integer(json_object_get(j, "duration_ms")));
	assert_string_equal(hookrecv_header(recv_ok, i, "Sandbox-Delivery"), json_string_value(json_object_get(j, "id")));
	check_signature(i);
	json_decref(j);
	assert_int_equal(events("gap", "notify.sent", NULL), 1);
	assert_int_equal(outbox_rows(), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_deliveries),
		cmocka_unit_test(test_reap_failed),
		cmocka_unit_test(test_receiver_down),
		cmocka_unit_test(test_crash_redelivery),
		cmocka_unit_test(test_reap_done_after_crash),
		cmocka_unit_test(test_unreadable_secret),
		cmocka_unit_test(test_stop_leaves_pending),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
