/*
 * test_abuse — the mocks hold up under abuse: a cap on connections per client address (a
 * slowloris from one address is refused while another address still gets answers), idle
 * connections dropped (--idle-timeout 1s; a parked long-poll is not idle), stores bounded in bytes
 * (oldest evicted, counted in /metrics), a slow webhook receiver delaying only its own
 * deliveries, a flood of 5 MB mails leaving the mock answering, and the mail mock's byte bound
 * (the oldest mails evicted, counted, gone from searches).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "mocktest.h"
#include "rawconn.h"

#include <pthread.h>
#include <stdlib.h>

#define NSLOW 100
#define CAP 16

static struct rawconn conns[NSLOW];

/* The curl state every case needs. */
static int setup(void **state)
{
	(void)state;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	return rc_files(4 * NSLOW) ? 0 : -1;
}

/* Undo setup. */
static int teardown(void **state)
{
	(void)state;
	curl_global_cleanup();
	return 0;
}

/* Poll the connections until at least want have been closed by the mock; how many were. */
static size_t wait_closed(struct rawconn *c, size_t n, size_t want, int timeout_ms)
{
	long long deadline = mockproc_now_ms() + timeout_ms;
	size_t done;

	do
		done = rc_read_all(c, n, mockproc_now_ms() + 50, mockproc_now_ms);
	while (done < want && mockproc_now_ms() < deadline);
	return done;
}

/* GET /healthz over a raw connection from address `from`: whether it answered 200. */
static bool healthz_from(const char *from, int port)
{
	struct rawconn c = {.fd = rc_connect_from(from, port)};

	if (c.fd < 0 || rc_send(c.fd, "GET /healthz HTTP/1.1\r\nHost: mock\r\nConnection: close\r\n\r\n") < 0)
		return false;
	fcntl(c.fd, F_SETFL, O_NONBLOCK);
	rc_read_all(&c, 1, mockproc_now_ms() + 10000, mockproc_now_ms);
	rc_close_all(&c, 1);
	return strncmp(c.buf, "HTTP/1.1 200", 12) == 0;
}

/* A metric's value from /metrics (name with its labels), or -1. */
static double metric(const struct mockproc *p, const char *series)
{
	struct http_resp r;
	const char *at;
	double v = -1;

	http_reqf(&r, "GET", NULL, NULL, "%s/metrics", p->url);
	at = strstr(r.body, series);
	if (at && at[strlen(series)] == ' ')
		v = strtod(at + strlen(series) + 1, NULL);
	http_resp_free(&r);
	return v;
}

/* A slowloris from one address: past the cap it is refused; another address is still served. */
static void test_per_address_cap(void **state)
{
	const char *half = "POST /v1/messages HTTP/1.1\r\nHost: mock\r\nContent-Length: 1000\r\n\r\n{\"to\"";
	struct mockproc p;
	char cap[16];
	size_t refused;

	(void)state;
	snprintf(cap, sizeof(cap), "%d", CAP);
	assert_int_equal(mt_start(&p, "sms", "--quiet", "--max-conns-per-ip", cap, (char *)NULL), 0);
	assert_int_equal(rc_open_all(conns, NSLOW, p.port, half), 0);
	refused = wait_closed(conns, NSLOW, NSLOW - CAP, 20000);
	print_message("half-sent requests from one address: %zu of %d closed (cap %d)\n", refused, NSLOW, CAP);
	assert_true(refused >= NSLOW - CAP);
	assert_true(refused < NSLOW); /* the accepted ones wait for their bodies */
	assert_true(healthz_from("127.0.0.2", p.port));
	rc_close_all(conns, NSLOW);
	assert_int_equal(mockproc_stop(&p, SIGTERM, 20000), 0);
}

/* --idle-timeout 1s: silent and half-sent connections are closed; a parked long-poll is not idle. */
static void test_idle_timeout(void **state)
{
	const char *half = "GET /healthz HTTP/1.1\r\nHost: mo";
	const char *poll = "GET /v1/messages/wait?to=%2B15550009999&timeout=2500ms HTTP/1.1\r\n"
			   "Host: mock\r\nConnection: close\r\n\r\n";
	struct mockproc p;
	long long t0;

	(void)state;
	assert_int_equal(mt_start(&p, "sms", "--quiet", "--idle-timeout", "1s", (char *)NULL), 0);
	t0 = mockproc_now_ms();
	assert_int_equal(rc_open_all(conns, 4, p.port, half), 0);
	assert_int_equal(rc_open_all(conns + 4, 4, p.port, NULL), 0);
	assert_int_equal(rc_open_all(conns + 8, 1, p.port, poll), 0);
	assert_int_equal(wait_closed(conns, 8, 8, 20000), 8);
	assert_true(mockproc_now_ms() - t0 >= 900);
	for (size_t i = 0; i < 8; i++)
		assert_int_equal(conns[i].len, 0); /* dropped, not answered */
	assert_int_equal(wait_closed(conns + 8, 1, 1, 20000), 1);
	assert_true(mockproc_now_ms() - t0 >= 2500);
	assert_int_equal(strncmp(conns[8].buf, "HTTP/1.1 408", 12), 0);
	rc_close_all(conns, 9);
	assert_int_equal(mockproc_stop(&p, SIGTERM, 20000), 0);
}

/* POST one message; its id (caller frees) or NULL. */
static char *send_sms(const struct mockproc *p, int i)
{
	struct http_resp r;
	char body[512];
	char *id = NULL;

	snprintf(body, sizeof(body), "{\"to\":\"+1555000%04d\",\"from\":\"Acme\",\"body\":\"message %d "
		 "padded to a few hundred bytes ..........................................\"}", i, i);
	if (http_reqf(&r, "POST", body, NULL, "%s/v1/messages", p->url) == 201 && r.json)
		id = strdup(json_string_value(json_object_get(r.json, "id")));
	http_resp_free(&r);
	return id;
}

/* --max-store-bytes: the oldest records go first, the evictions are counted. */
static void test_store_bytes(void **state)
{
	struct mockproc p;
	char *ids[60];
	double stored, evicted;
	struct http_resp r;

	(void)state;
	assert_int_equal(mt_start(&p, "sms", "--quiet", "--max-store-bytes", "8K", (char *)NULL), 0);
	for (int i = 0; i < 60; i++)
		assert_non_null(ids[i] = send_sms(&p, i));
	stored = metric(&p, "sbx_mock_messages_stored{collection=\"messages\"}");
	evicted = metric(&p, "sbx_mock_store_evictions_total{collection=\"messages\"}");
	print_message("60 messages in 8K: %.0f stored, %.0f evicted\n", stored, evicted);
	assert_true(stored >= 1 && stored < 60);
	assert_true(stored * 300 <= 8192); /* each record is over 300 bytes of JSON */
	assert_true(evicted + stored == 60);
	assert_int_equal(http_reqf(&r, "GET", NULL, NULL, "%s/v1/messages/%s", p.url, ids[59]), 200);
	http_resp_free(&r);
	assert_int_equal(http_reqf(&r, "GET", NULL, NULL, "%s/v1/messages/%s", p.url, ids[0]), 404);
	http_resp_free(&r);
	for (int i = 0; i < 60; i++)
		free(ids[i]);
	assert_int_equal(mockproc_stop(&p, SIGTERM, 20000), 0);
}

/* A receiver that accepts connections (the kernel's backlog) and never answers; its port. */
static int silent_listener(int *port)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 128) < 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &len) < 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	*port = ntohs(a.sin_port);
	return fd;
}

/* POST a message whose status callbacks go to port; the HTTP status. */
static long send_with_callback(const struct mockproc *p, int i, int port)
{
	struct http_resp r;
	char body[512];
	long status;

	snprintf(body, sizeof(body), "{\"to\":\"+1555100%04d\",\"from\":\"Acme\",\"body\":\"hi\","
		 "\"status_callback\":\"http://127.0.0.1:%d/cb\"}", i, port);
	status = http_reqf(&r, "POST", body, NULL, "%s/v1/messages", p->url);
	http_resp_free(&r);
	return status;
}

/* A receiver that never answers delays only its own deliveries; another target gets its own. */
static void test_slow_receiver(void **state)
{
	struct hookrecv *fast = hookrecv_start();
	struct mockproc p;
	int slow_port = 0, slow = silent_listener(&slow_port);
	long long t0;

	(void)state;
	assert_non_null(fast);
	assert_true(slow >= 0);
	assert_int_equal(mt_start(&p, "sms", "--quiet", "--delivery-delay", "5ms", "--webhook-timeout", "60s",
				  "--webhook-attempts", "1", (char *)NULL), 0);
	for (int i = 0; i < 8; i++)
		assert_int_equal(send_with_callback(&p, i, slow_port), 201);
	t0 = mockproc_now_ms();
	for (int i = 0; i < 3; i++)
		assert_int_equal(send_with_callback(&p, 100 + i, hookrecv_port(fast)), 201);
	/* one sender thread would have waited 8 x 60 s for the silent receiver first */
	assert_true(hookrecv_wait(fast, 3, 30000) >= 3);
	print_message("3 callbacks past 8 stuck on a silent receiver: %lld ms\n", mockproc_now_ms() - t0);
	close(slow); /* resets the stuck attempts, so the mock stops at once */
	assert_int_equal(mockproc_stop(&p, SIGTERM, 20000), 0);
	hookrecv_stop(fast);
}

#define FLOOD_THREADS 4
#define FLOOD_EACH 3
#define FLOOD_MB 5

struct flooder {
	int port;
	int accepted; /* 250 after DATA */
};

static int flooders_done; /* __atomic */

/* Read one SMTP reply (the last line of a multi-line one) into buf; its code, or -1. */
static int smtp_reply(int fd, char *buf, size_t len)
{
	size_t n = 0;

	for (;;) {
		ssize_t r = recv(fd, buf + n, len - 1 - n, 0);
		char *last;
		if (r <= 0)
			return -1;
		n += (size_t)r;
		buf[n] = '\0';
		if (n < 2 || strcmp(buf + n - 2, "\r\n") != 0)
			continue;
		buf[n - 2] = '\0';
		last = strrchr(buf, '\n');
		last = last ? last + 1 : buf;
		buf[n - 2] = '\r';
		if (strlen(last) >= 4 && last[3] == ' ')
			return atoi(last);
		if (n >= len - 1)
			return -1;
	}
}

/* Send a command and read the reply code. */
static int smtp_cmd(int fd, const char *cmd)
{
	char buf[4096];

	if (rc_send(fd, cmd) < 0)
		return -1;
	return smtp_reply(fd, buf, sizeof(buf));
}

/* One sender: FLOOD_EACH mails of FLOOD_MB MB each over one SMTP session. */
static void *flood(void *arg)
{
	struct flooder *f = arg;
	char buf[4096], line[80];
	int fd = rc_connect(f->port);

	memset(line, 'a', sizeof(line) - 2);
	memcpy(line + sizeof(line) - 2, "\r\n", 2);
	if (fd < 0 || smtp_reply(fd, buf, sizeof(buf)) != 220 || smtp_cmd(fd, "EHLO flood\r\n") != 250)
		goto out;
	for (int m = 0; m < FLOOD_EACH; m++) {
		if (smtp_cmd(fd, "MAIL FROM:<flood@example.com>\r\n") != 250 ||
		    smtp_cmd(fd, "RCPT TO:<sink@example.com>\r\n") != 250 || smtp_cmd(fd, "DATA\r\n") != 354 ||
		    rc_send(fd, "Subject: flood\r\n\r\n") < 0)
			goto out;
		for (size_t sent = 0; sent < (size_t)FLOOD_MB << 20; sent += sizeof(line))
			if (send(fd, line, sizeof(line), MSG_NOSIGNAL) != (ssize_t)sizeof(line))
				goto out;
		if (smtp_cmd(fd, ".\r\n") == 250)
			f->accepted++;
	}
	smtp_cmd(fd, "QUIT\r\n");
out:
	if (fd >= 0)
		close(fd);
	__atomic_add_fetch(&flooders_done, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

/* A flood of 5 MB mails over SMTP: every one stored (then evicted by bytes), HTTP still answers. */
static void test_mail_flood(void **state)
{
	struct flooder f[FLOOD_THREADS];
	pthread_t t[FLOOD_THREADS];
	struct mockproc p;
	char rest[128];
	double stored, evicted;
	int answered = 0, asked = 0, smtp_port;
	long long worst = 0;

	(void)state;
	assert_int_equal(mt_start(&p, "mail", "--quiet", "--max-store-bytes", "24M", "--smtp", "127.0.0.1:0",
				  (char *)NULL), 0);
	assert_int_equal(mockproc_expect(&p, "listening on smtp://", rest, sizeof(rest), 20000), 0);
	assert_non_null(strrchr(rest, ':'));
	smtp_port = atoi(strrchr(rest, ':') + 1);
	for (int i = 0; i < FLOOD_THREADS; i++) {
		f[i] = (struct flooder){.port = smtp_port};
		assert_int_equal(pthread_create(&t[i], NULL, flood, &f[i]), 0);
	}
	__atomic_store_n(&flooders_done, 0, __ATOMIC_SEQ_CST);
	/* the HTTP API while the flood goes on */
	while (__atomic_load_n(&flooders_done, __ATOMIC_SEQ_CST) < FLOOD_THREADS || asked < 5) {
		struct http_resp r;
		long long t0 = mockproc_now_ms();
		asked++;
		if (http_reqf(&r, "GET", NULL, NULL, "%s/healthz", p.url) == 200)
			answered++;
		worst = mockproc_now_ms() - t0 > worst ? mockproc_now_ms() - t0 : worst;
		http_resp_free(&r);
	}
	for (int i = 0; i < FLOOD_THREADS; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(f[i].accepted, FLOOD_EACH);
	}
	stored = metric(&p, "sbx_mock_messages_stored{collection=\"messages\"}");
	evicted = metric(&p, "sbx_mock_store_evictions_total{collection=\"messages\"}");
	print_message("%d mails of %d MB: %.0f kept in 24M, %.0f evicted; /healthz %d/%d during, slowest %lld ms\n",
		      FLOOD_THREADS * FLOOD_EACH, FLOOD_MB, stored, evicted, answered, asked, worst);
	assert_int_equal(answered, asked);
	assert_true(stored >= 1 && stored <= 24 / FLOOD_MB);
	assert_true(stored + evicted == FLOOD_THREADS * FLOOD_EACH);
	assert_int_equal(mockproc_stop(&p, SIGTERM, 20000), 0);
}

#define BOUND_MAILS 60
#define BOUND_KB 256

/* Send one mail of about 10 KB whose body has the word "markerNNNN" (i); its id into id. 0 / -1. */
static int send_marked(int fd, int i, char *id, size_t idlen)
{
	char buf[4096], line[128];
	const char *q;

	if (smtp_cmd(fd, "MAIL FROM:<bound@example.com>\r\n") != 250 ||
	    smtp_cmd(fd, "RCPT TO:<sink@example.com>\r\n") != 250 || smtp_cmd(fd, "DATA\r\n") != 354)
		return -1;
	snprintf(line, sizeof(line), "Subject: bound %d\r\n\r\nmarker%04d\r\n", i, i);
	if (rc_send(fd, line) < 0)
		return -1;
	memset(line, 'x', 100);
	memcpy(line + 100, "\r\n", 3);
	for (int l = 0; l < 100; l++)
		if (rc_send(fd, line) < 0)
			return -1;
	if (rc_send(fd, ".\r\n") < 0 || smtp_reply(fd, buf, sizeof(buf)) != 250 ||
	    !(q = strstr(buf, "queued as ")))
		return -1;
	snprintf(id, idlen, "%.*s", (int)strcspn(q + 10, "\r\n"), q + 10);
	return 0;
}

/* How many messages a Mailpit search finds. */
static long long search_count(const struct mockproc *p, const char *query)
{
	struct http_resp r;
	long long n = -1;

	if (http_reqf(&r, "GET", NULL, NULL, "%s/api/v1/search?query=%s", p->url, query) == 200 && r.json)
		n = json_integer_value(json_object_get(r.json, "messages_count"));
	http_resp_free(&r);
	return n;
}

/*
 * --max-store-bytes on the mail mock: 60 mails of 10 KB over SMTP into 256K keep the newest that
 * fit; the oldest are gone (by id and by a search for their text), the evictions are counted, and
 * the mock still answers.
 */
static void test_mail_store_bytes(void **state)
{
	char ids[BOUND_MAILS][64], buf[4096], rest[128];
	struct mockproc p;
	struct http_resp r;
	double stored, evicted;
	int fd;

	(void)state;
	assert_int_equal(mt_start(&p, "mail", "--quiet", "--max-store-bytes", "256K", "--smtp", "127.0.0.1:0",
				  (char *)NULL), 0);
	assert_int_equal(mockproc_expect(&p, "listening on smtp://", rest, sizeof(rest), 20000), 0);
	assert_non_null(strrchr(rest, ':'));
	fd = rc_connect(atoi(strrchr(rest, ':') + 1));
	assert_true(fd >= 0);
	assert_int_equal(smtp_reply(fd, buf, sizeof(buf)), 220);
	assert_int_equal(smtp_cmd(fd, "EHLO bound\r\n"), 250);
	for (int i = 0; i < BOUND_MAILS; i++)
		assert_int_equal(send_marked(fd, i, ids[i], sizeof(ids[i])), 0);
	smtp_cmd(fd, "QUIT\r\n");
	close(fd);
	stored = metric(&p, "sbx_mock_messages_stored{collection=\"messages\"}");
	evicted = metric(&p, "sbx_mock_store_evictions_total{collection=\"messages\"}");
	print_message("%d mails of 10 KB in %dK: %.0f stored, %.0f evicted\n", BOUND_MAILS, BOUND_KB,
		      stored, evicted);
	assert_true(stored >= 1 && evicted >= 1);
	assert_true(stored * 10240 <= BOUND_KB * 1024); /* each record holds over 10 KB of text */
	assert_true(stored >= 20); /* and not much more: the body is not kept twice (13 KB each) */
	assert_true(stored + evicted == BOUND_MAILS);
	assert_int_equal(http_reqf(&r, "GET", NULL, NULL, "%s/v1/messages/%s", p.url, ids[0]), 404);
	http_resp_free(&r);
	assert_int_equal(http_reqf(&r, "GET", NULL, NULL, "%s/v1/messages/%s", p.url, ids[BOUND_MAILS - 1]), 200);
	http_resp_free(&r);
	assert_int_equal(search_count(&p, "marker0000"), 0);
	assert_int_equal(search_count(&p, "marker0059"), 1);
	assert_int_equal(http_reqf(&r, "GET", NULL, NULL, "%s/healthz", p.url), 200);
	http_resp_free(&r);
	assert_int_equal(mockproc_stop(&p, SIGTERM, 20000), 0);
}

/* The cases. */
int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_per_address_cap),
		cmocka_unit_test(test_idle_timeout),
		cmocka_unit_test(test_store_bytes),
		cmocka_unit_test(test_slow_receiver),
		cmocka_unit_test(test_mail_flood),
		cmocka_unit_test(test_mail_store_bytes),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
