/*
 * test_parking — the mocks' HTTP core holds waiting requests without a thread each: 1,000 parked
 * long-polls (GET /v1/messages/wait) cost no threads, are counted by /metrics sbx_mock_waiters
 * and are all answered when a matching record is stored; requests delayed by injected latency
 * are parked the same way; shutdown answers every parked long-poll (408). The thread bound is the online
 * cores + 8 (the pool, the timers, the webhook senders, main).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "mocktest.h"
#include "rawconn.h"

#include <stdlib.h>

#define NWAIT 1000
#define NDELAY 64

static struct mockproc srv;
static struct rawconn conns[NWAIT];

/* The bound on the mock's threads. */
static int thread_bound(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return (int)(n < 1 ? 1 : n) + 8;
}

/* Start the SMS mock (the open file limit raised first: the mock inherits it). */
static int setup(void **state)
{
	(void)state;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (!rc_files(3 * NWAIT)) {
		fprintf(stderr, "cannot raise the open file limit to %d\n", 3 * NWAIT);
		return -1;
	}
	return mt_start(&srv, "sms", "--quiet", "--max-conns-per-ip", "2000", (char *)NULL);
}

/* Stop the mock; SIGTERM must exit 0. */
static int teardown(void **state)
{
	int rc;

	(void)state;
	rc = mockproc_stop(&srv, SIGTERM, 20000);
	curl_global_cleanup();
	return rc == 0 ? 0 : -1;
}

/* sbx_mock_waiters{collection="messages"} from /metrics, or -1. */
static long waiters(void)
{
	struct http_resp r;
	const char *key = "sbx_mock_waiters{collection=\"messages\"} ";
	const char *p;
	long n = -1;

	http_reqf(&r, "GET", NULL, NULL, "%s/metrics", srv.url);
	p = strstr(r.body, key);
	if (p)
		n = strtol(p + strlen(key), NULL, 10);
	http_resp_free(&r);
	return n;
}

/* Poll /metrics (backoff) until it counts want waiters; the last count seen. */
static long wait_waiters(long want, int timeout_ms)
{
	long long deadline = mockproc_now_ms() + timeout_ms;
	int delay = 5;
	long n;

	while ((n = waiters()) != want && mockproc_now_ms() < deadline) {
		usleep((useconds_t)delay * 1000);
		delay = delay < 200 ? delay * 2 : 200;
	}
	return n;
}

/* POST one message to `to`; its id (caller frees) or NULL. */
static char *send_sms(const char *to)
{
	struct http_resp r;
	char body[256];
	char *id = NULL;

	snprintf(body, sizeof(body), "{\"to\":\"%s\",\"from\":\"Acme\",\"body\":\"code 1234\"}", to);
	if (http_reqf(&r, "POST", body, NULL, "%s/v1/messages", srv.url) / 100 == 2 && r.json)
		id = strdup(json_string_value(json_object_get(r.json, "id")));
	http_resp_free(&r);
	return id;
}

/* How many connections got an answer starting with status and containing text (may be NULL). */
static size_t count_answers(struct rawconn *c, size_t n, const char *status, const char *text)
{
	size_t ok = 0;

	for (size_t i = 0; i < n; i++)
		if (strncmp(c[i].buf, status, strlen(status)) == 0 && (!text || strstr(c[i].buf, text)))
			ok++;
	return ok;
}

/* 1,000 parked long-polls: counted, no thread each, all answered by one record. */
static void test_thousand_longpolls(void **state)
{
	const char *req = "GET /v1/messages/wait?timeout=120s&to=%2B15550001000 HTTP/1.1\r\n"
			  "Host: mock\r\nConnection: close\r\n\r\n";
	int threads;
	char *id;

	(void)state;
	assert_int_equal(rc_open_all(conns, NWAIT, srv.port, req), 0);
	assert_int_equal(wait_waiters(NWAIT, 60000), NWAIT);
	threads = rc_threads(srv.pid);
	print_message("threads with %d parked long-polls: %d (bound %d)\n", NWAIT, threads, thread_bound());
	assert_true(threads > 0);
	assert_true(threads < thread_bound());
	id = send_sms("+15550001000");
	assert_non_null(id);
	assert_int_equal(rc_read_all(conns, NWAIT, mockproc_now_ms() + 60000, mockproc_now_ms), NWAIT);
	assert_int_equal(count_answers(conns, NWAIT, "HTTP/1.1 200", id), NWAIT);
	rc_close_all(conns, NWAIT);
	assert_int_equal(wait_waiters(0, 10000), 0);
	free(id);
}

/* A long-poll for another recipient stays parked when a record arrives; it ends at its deadline. */
static void test_longpoll_filter_and_deadline(void **state)
{
	const char *req = "GET /v1/messages/wait?timeout=300ms&to=%2B15550002000 HTTP/1.1\r\n"
			  "Host: mock\r\nConnection: close\r\n\r\n";
	char *id;

	(void)state;
	assert_int_equal(rc_open_all(conns, 10, srv.port, req), 0);
	id = send_sms("+15550002999"); /* not theirs */
	assert_non_null(id);
	assert_int_equal(rc_read_all(conns, 10, mockproc_now_ms() + 30000, mockproc_now_ms), 10);
	assert_int_equal(count_answers(conns, 10, "HTTP/1.1 408", NULL), 10);
	rc_close_all(conns, 10);
	free(id);
}

/* A raw POST of body (its content type ctype, extra headers or ""). */
static void raw_post(char *out, size_t len, const char *path, const char *ctype, const char *extra,
		     const char *body)
{
	snprintf(out, len, "POST %s HTTP/1.1\r\nHost: mock\r\nConnection: close\r\n%s"
		 "Content-Type: %s\r\nContent-Length: %zu\r\n\r\n%s", path, extra, ctype, strlen(body), body);
}

/*
 * Requests held by injected latency are parked (no thread each) and all answered after the delay:
 * the JSON API (the pipeline's latency) and Twilio's API (its handler asks for the latency itself).
 */
static void test_latency_parked(void **state)
{
	char json_req[512], tw_req[512];
	struct http_resp r;
	int max_threads = 0;
	long long t0;
	size_t done;

	(void)state;
	raw_post(json_req, sizeof(json_req), "/v1/messages", "application/json", "",
		 "{\"to\":\"+15550003000\",\"from\":\"Acme\",\"body\":\"hi\"}");
	raw_post(tw_req, sizeof(tw_req), "/2010-04-01/Accounts/ACabc/Messages.json",
		 "application/x-www-form-urlencoded", "Authorization: Basic QUNhYmM6dG9r\r\n",
		 "To=%2B15550003001&From=%2B15550001111&Body=hi");
	assert_int_equal(http_reqf(&r, "PUT", "{\"latency_ms\": 1500}", NULL, "%s/admin/faults", srv.url), 200);
	http_resp_free(&r);
	t0 = mockproc_now_ms();
	assert_int_equal(rc_open_all(conns, NDELAY / 2, srv.port, json_req), 0);
	assert_int_equal(rc_open_all(conns + NDELAY / 2, NDELAY / 2, srv.port, tw_req), 0);
	do { /* sample the thread count while they are held */
		int t = rc_threads(srv.pid);
		max_threads = t > max_threads ? t : max_threads;
		done = rc_read_all(conns, NDELAY, mockproc_now_ms() + 20, mockproc_now_ms);
	} while (done < NDELAY && mockproc_now_ms() < t0 + 60000);
	print_message("threads with %d delayed requests: at most %d (bound %d)\n", NDELAY, max_threads, thread_bound());
	assert_int_equal(done, NDELAY);
	assert_true(mockproc_now_ms() - t0 >= 1500);
	/* delays that held a pool thread each would add up: 32 x 1.5 s over the pool, not 1.5 s */
	assert_true(mockproc_now_ms() - t0 < 1500 + 12000);
	assert_int_equal(count_answers(conns, NDELAY, "HTTP/1.1 201", NULL), NDELAY);
	assert_true(max_threads > 0 && max_threads < thread_bound());
	rc_close_all(conns, NDELAY);
	assert_int_equal(http_reqf(&r, "DELETE", NULL, NULL, "%s/admin/faults", srv.url), 200);
	http_resp_free(&r);
}

/* SIGTERM answers every parked long-poll with a 408 and the mock exits 0 (in its own mock). */
static void test_shutdown_wakes(void **state)
{
	const char *req = "GET /v1/messages/wait?timeout=300s HTTP/1.1\r\nHost: mock\r\nConnection: close\r\n\r\n";
	struct mockproc own;
	struct mockproc saved = srv;

	(void)state;
	assert_int_equal(mt_start(&own, "sms", "--quiet", "--max-conns-per-ip", "2000", (char *)NULL), 0);
	srv = own; /* waiters() reads srv */
	assert_int_equal(rc_open_all(conns, 200, own.port, req), 0);
	assert_int_equal(wait_waiters(200, 30000), 200);
	srv = saved;
	assert_int_equal(mockproc_stop(&own, SIGTERM, 20000), 0);
	assert_int_equal(rc_read_all(conns, 200, mockproc_now_ms() + 10000, mockproc_now_ms), 200);
	assert_int_equal(count_answers(conns, 200, "HTTP/1.1 408", NULL), 200);
	rc_close_all(conns, 200);
}

/* The cases. */
int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_thousand_longpolls),
		cmocka_unit_test(test_longpoll_filter_and_deadline),
		cmocka_unit_test(test_latency_parked),
		cmocka_unit_test(test_shutdown_wakes),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
