/*
 * test_common — the behaviour every mock shares (through sbx-mock-sms): health, metrics, 404/405,
 * 413, malformed JSON, auth, faults, paging, long-poll, delete, persistence, SIGTERM; plus
 * in-process checks of the shared library (store, signatures, parsers).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "buf.h"
#include "mock_form.h"
#include "mock_kv.h"
#include "mock_req.h"
#include "mock_sig.h"
#include "mock_store.h"
#include "mock_util.h"
#include "mocktest.h"

#include <pthread.h>
#include <stdlib.h>
#include <sys/stat.h>

#define MSG(to) "{\"to\":\"" to "\",\"from\":\"+15550009999\",\"body\":\"hello\"}"

static struct mockproc srv; /* a plain SMS mock shared by the tests that need no options */

/* Start the shared server. */
static int group_setup(void **state)
{
	(void)state;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	return mt_start(&srv, "sms", "--max-body", "1k", "--delivery-delay", "5ms", (char *)NULL);
}

/* Stop it: SIGTERM must exit 0 (under ASan that also means no leaks). */
static int group_teardown(void **state)
{
	(void)state;
	int rc = mockproc_stop(&srv, SIGTERM, 20000);
	curl_global_cleanup();
	return rc == 0 ? 0 : -1;
}

/* POST a message to u; returns its id (caller frees) or NULL. */
static char *post_msg(const char *url, const char *body)
{
	struct http_resp r;
	char *id = NULL;

	if (http_reqf(&r, "POST", body, NULL, "%s/v1/messages", url) == 201)
		id = strdup(http_str(&r, "id"));
	http_resp_free(&r);
	return id;
}

/* /healthz answers ok. */
static void test_healthz(void **state)
{
	struct http_resp r;

	(void)state;
	assert_int_equal(http_reqf(&r, "GET", NULL, NULL, "%s/healthz", srv.url), 200);
	assert_string_equal(http_str(&r, "status"), "ok");
	http_resp_free(&r);
}

/* Unknown routes answer 404, known paths with another method 405, both with a message. */
static void test_not_found(void **state)
{
	struct http_resp r;

	(void)state;
	assert_int_equal(http_reqf(&r, "GET", NULL, NULL, "%s/v2/nothing", srv.url), 404);
	assert_non_null(http_str(&r, "error.message"));
	http_resp_free(&r);
	assert_int_equal(http_reqf(&r, "PATCH", NULL, NULL, "%s/v1/messages", srv.url), 405);
	http_resp_free(&r);
	assert_int_equal(http_reqf(&r, "GET", NULL, NULL, "%s/v1/messages/SMnope", srv.url), 404);
	assert_string_equal(http_str(&r, "error.code"), "not_found");
	http_resp_free(&r);
}

/* Bodies over --max-body answer 413; the server keeps serving. */
static void test_body_too_large(void **state)
{
	struct http_resp r;
	char *big = malloc(4096);

	(void)state;
	memset(big, 'a', 4095);
	big[4095] = '\0';
	assert_int_equal(http_reqf(&r, "POST", big, NULL, "%s/v1/messages", srv.url), 413);
	http_resp_free(&r);
	free(big);
	assert_int_equal(http_reqf(&r, "GET", NULL, NULL, "%s/healthz", srv.url), 200);
	http_resp_free(&r);
}

/* Malformed JSON answers 400 with jansson's message. */
static void test_malformed_json(void **state)
{
	struct http_resp r;

	(void)state;
	assert_int_equal(http_reqf(&r, "POST", "{\"to\": ", NULL, "%s/v1/messages", srv.url), 400);
	assert_string_equal(http_str(&r, "error.code"), "invalid_json");
	assert_non_null(strstr(http_str(&r, "error.message"), "malformed JSON"));
	http_resp_free(&r);
	assert_int_equal(http_reqf(&r, "POST", "[1,2]", NULL, "%s/v1/messages", srv.url), 400);
	assert_non_null(strstr(http_str(&r, "error.message"), "JSON object"));
	http_resp_free(&r);
}

/* /metrics exposes request counters by route and status, and stored records. */
static void test_metrics(void **state)
{
	struct http_resp r;
	char *id = post_msg(srv.url, MSG("+15551110001"));

	(void)state;
	assert_non_null(id);
	free(id);
	assert_int_equal(http_reqf(&r, "GET", NULL, NULL, "%s/metrics", srv.url), 200);
	assert_non_null(strstr(r.body, "# TYPE sbx_mock_http_requests_total counter"));
	assert_non_null(strstr(r.body, "sbx_mock_http_requests_total{route=\"/v1/messages\",method=\"POST\",status=\"201\"} "));
	assert_non_null(strstr(r.body, "status=\"404\"}"));
	assert_non_null(strstr(r.body, "sbx_mock_messages_stored{collection=\"messages\"} "));
	http_resp_free(&r);
}

/* Lists page newest first with a total; filters select. */
static void test_paging(void **state)
{
	struct http_resp r;
	char *ids[5];
	json_t *items;

	(void)state;
	for (int i = 0; i < 5; i++)
		assert_non_null(ids[i] = post_msg(srv.url, MSG("+15551110002")));
	assert_int_equal(http_reqf(&r, "GET", NULL, NULL, "%s/v1/messages?to=%%2B15551110002&limit=2&offset=1", srv.url), 200);
	items = json_object_get(r.json, "items");
	assert_int_equal(json_array_size(items), 2);
	assert_int_equal(http_int(&r, "total"), 5);
	assert_string_equal(json_string_value(json_object_get(json_array_get(items, 0), "id")), ids[3]);
	assert_string_equal(json_string_value(json_object_get(json_array_get(items, 1), "id")), ids[2]);
	http_resp_free(&r);
	assert_int_equal(http_reqf(&r, "GET", NULL, NULL, "%s/v1/messages?to=+15551110002&limit=1000", srv.url), 200);
	assert_int_equal(http_int(&r, "total"), 5);
	http_resp_free(&r);
	assert_int_equal(http_reqf(&r, "GET", NULL, NULL, "%s/v1/messages?limit=abc", srv.url), 400);
	http_resp_free(&r);
	for (int i = 0; i < 5; i++)
		free(ids[i]);
}

struct delayed_post {
	const char *url, *body;
	int delay_ms;
};

/* Post a message after a delay (thread). */
static void *post_later(void *arg)
{
	struct delayed_post *d = arg;

	usleep((useconds_t)d->delay_ms * 1000);
	free(post_msg(d->url, d->body));
	return NULL;
}

/* The long-poll returns as soon as a matching message arrives. */
static void test_wait_returns_early(void **state)
{
	struct http_resp r;
	struct delayed_post d = {srv.url, MSG("+15551110003"), 300};
	pthread_t t;
	long long t0 = mockproc_now_ms(), dt;

	(void)state;
	pthread_create(&t, NULL, post_later, &d);
	assert_int_equal(http_reqf(&r, "GET", NULL, NULL, "%s/v1/messages/wait?to=%%2B15551110003&timeout=20s", srv.url), 200);
	dt = mockproc_now_ms() - t0;
	pthread_join(t, NULL);
	assert_string_equal(http_str(&r, "to"), "+15551110003");
	assert_true(dt >= 250);
	assert_true(dt < 10000);
	http_resp_free(&r);
}

/* Without a match the long-poll times out with 408 after the timeout. */
static void test_wait_times_out(void **state)
{
	struct http_resp r;
	long long t0 = mockproc_now_ms(), dt;

	(void)state;
	assert_int_equal(http_reqf(&r, "GET", NULL, NULL, "%s/v1/messages/wait?to=%%2B15551119999&timeout=400ms", srv.url), 408);
	dt = mockproc_now_ms() - t0;
	assert_true(dt >= 390);
	assert_string_equal(http_str(&r, "error.code"), "timeout");
	http_resp_free(&r);
	assert_int_equal(http_reqf(&r, "GET", NULL, NULL, "%s/v1/messages/wait?timeout=forever", srv.url), 400);
	http_resp_free(&r);
}

/* after=<id> waits for a newer message than the one given. */
static void test_wait_after(void **state)
{
	struct http_resp r;
	char *id = post_msg(srv.url, MSG("+15551110004"));

	(void)state;
	assert_non_null(id);
	assert_int_equal(http_reqf(&r, "GET", NULL, NULL, "%s/v1/messages/wait?to=%%2B15551110004&after=%s&timeout=300ms", srv.url, id), 408);
	http_resp_free(&r);
	assert_int_equal(http_reqf(&r, "GET", NULL, NULL, "%s/v1/messages/wait?to=%%2B15551110004&timeout=300ms", srv.url), 200);
	assert_string_equal(http_str(&r, "id"), id);
	http_resp_free(&r);
	free(id);
}

/* DELETE one, then DELETE all. */
static void test_delete(void **state)
{
	struct http_resp r;
	char *id = post_msg(srv.url, MSG("+15551110005"));

	(void)state;
	assert_int_equal(http_reqf(&r, "DELETE", NULL, NULL, "%s/v1/messages/%s", srv.url, id), 204);
	http_resp_free(&r);
	assert_int_equal(http_reqf(&r, "GET", NULL, NULL, "%s/v1/messages/%s", srv.url, id), 404);
	http_resp_free(&r);
	assert_int_equal(http_reqf(&r, "DELETE", NULL, NULL, "%s/v1/messages/%s", srv.url, id), 404);
	http_resp_free(&r);
	free(id);
	assert_int_equal(http_reqf(&r, "DELETE", NULL, NULL, "%s/v1/messages", srv.url), 200);
	assert_true(http_int(&r, "deleted") >= 1);
	http_resp_free(&r);
	assert_int_equal(http_reqf(&r, "GET", NULL, NULL, "%s/v1/messages", srv.url), 200);
	assert_int_equal(http_int(&r, "total"), 0);
	http_resp_free(&r);
}

/* PUT /admin/faults with error_rate 1 fails the API (not the inspection API); DELETE resets. */
static void test_fault_error_rate(void **state)
{
	struct http_resp r;

	(void)state;
	assert_int_equal(http_reqf(&r, "PUT", "{\"error_rate\": 1, \"error_status\": 503}", NULL, "%s/admin/faults", srv.url), 200);
	http_resp_free(&r);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(http_reqf(&r, "POST", MSG("+15551110006"), NULL, "%s/v1/messages", srv.url), 503);
		assert_string_equal(http_str(&r, "error.code"), "injected_fault");
		http_resp_free(&r);
	}
	assert_int_equal(http_reqf(&r, "GET", NULL, NULL, "%s/v1/messages", srv.url), 200);
	http_resp_free(&r);
	assert_int_equal(http_reqf(&r, "DELETE", NULL, NULL, "%s/admin/faults", srv.url), 200);
	http_resp_free(&r);
	assert_int_equal(http_reqf(&r, "POST", MSG("+15551110006"), NULL, "%s/v1/messages", srv.url), 201);
	http_resp_free(&r);
}

/* Fixed and ranged latency delay the API. */
static void test_fault_latency(void **state)
{
	struct http_resp r;
	long long t0;

	(void)state;
	assert_int_equal(http_reqf(&r, "PUT", "{\"latency_ms\": 300}", NULL, "%s/admin/faults", srv.url), 200);
	http_resp_free(&r);
	t0 = mockproc_now_ms();
	assert_int_equal(http_reqf(&r, "POST", MSG("+15551110007"), NULL, "%s/v1/messages", srv.url), 201);
	assert_true(mockproc_now_ms() - t0 >= 295);
	http_resp_free(&r);
	assert_int_equal(http_reqf(&r, "PUT", "{\"latency_ms\": {\"min\": 100, \"max\": 200}}", NULL, "%s/admin/faults", srv.url), 200);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(r.json, "latency_ms"), "max")), 200);
	http_resp_free(&r);
	t0 = mockproc_now_ms();
	assert_int_equal(http_reqf(&r, "POST", MSG("+15551110007"), NULL, "%s/v1/messages", srv.url), 201);
	assert_true(mockproc_now_ms() - t0 >= 95);
	http_resp_free(&r);
	assert_int_equal(http_reqf(&r, "DELETE", NULL, NULL, "%s/admin/faults", srv.url), 200);
	http_resp_free(&r);
}

/* Bad fault documents answer 400 with a message and change nothing. */
static void test_fault_invalid(void **state)
{
	static const char *const bad[] = {
		"{\"error_rate\": 2}", "{\"error_status\": 200}", "{\"latency_ms\": -1}",
		"{\"latency_ms\": {\"min\": 5, \"max\": 1}}", "{\"nope\": 1}", "{\"targets\": []}",
		"{\"targets\": {\"x\": {\"status\": 99}}}", "[]",
	};
	struct http_resp r;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(http_reqf(&r, "PUT", bad[i], NULL, "%s/admin/faults", srv.url), 400);
		assert_non_null(http_str(&r, "error.message"));
		http_resp_free(&r);
	}
	assert_int_equal(http_reqf(&r, "GET", NULL, NULL, "%s/admin/faults", srv.url), 200);
	assert_true(json_real_value(json_object_get(r.json, "error_rate")) == 0);
	http_resp_free(&r);
}

/* Request METHOD base+path (body and headers may be NULL) and expect status want. */
static void expect_status(const char *base, const char *method, const char *path, const char *body,
			  const char *const *headers, long want)
{
	struct http_resp r;

	assert_int_equal(http_reqf(&r, method, body, headers, "%s%s", base, path), want);
	http_resp_free(&r);
}

/* With --api-key, requests need "Authorization: Bearer KEY" (or X-Api-Key: KEY); /healthz and
 * /metrics do not. */
static void test_auth(void **state)
{
	struct mockproc p;
	struct http_resp r;
	const char *good[] = {"Authorization: Bearer s3cret", NULL};
	const char *wrong[] = {"Authorization: Bearer s3cres", NULL};
	const char *xkey[] = {"X-Api-Key: s3cret", NULL};

	(void)state;
	assert_int_equal(mt_start(&p, "sms", "--api-key", "s3cret", (char *)NULL), 0);
	assert_int_equal(http_reqf(&r, "POST", MSG("+15551110008"), NULL, "%s/v1/messages", p.url), 401);
	assert_true(http_has_header(&r, "WWW-Authenticate: Bearer"));
	http_resp_free(&r);
	expect_status(p.url, "GET", "/v1/messages", NULL, wrong, 401);
	expect_status(p.url, "GET", "/v1/messages", NULL, xkey, 200);
	expect_status(p.url, "PUT", "/admin/faults", "{}", NULL, 401);
	expect_status(p.url, "POST", "/v1/messages", MSG("+15551110008"), good, 201);
	expect_status(p.url, "GET", "/healthz", NULL, NULL, 200);
	expect_status(p.url, "GET", "/metrics", NULL, NULL, 200);
	assert_int_equal(mockproc_stop(&p, SIGTERM, 20000), 0);
}

/* Write the key file DIR/api-key with this mode; its path goes into file. */
static void key_file_write(const char *dir, char *file, size_t len, unsigned mode)
{
	FILE *f;

	snprintf(file, len, "%s/api-key", dir);
	assert_non_null(f = fopen(file, "w"));
	fputs("k3y-from-file\n", f);
	fclose(f);
	assert_int_equal(chmod(file, mode), 0);
}

/* The mail mock's HTTP API wants the key too; /healthz does not. */
static void auth_mail(const char *file, const char *const *xkey)
{
	struct mockproc p;

	assert_int_equal(mt_start(&p, "mail", "--smtp", "127.0.0.1:0", "--api-key-file", file, (char *)NULL), 0);
	expect_status(p.url, "GET", "/v1/messages", NULL, NULL, 401);
	expect_status(p.url, "GET", "/v1/messages", NULL, xkey, 200);
	expect_status(p.url, "GET", "/healthz", NULL, NULL, 200);
	assert_int_equal(mockproc_stop(&p, SIGTERM, 20000), 0);
}

/* The API key from a file only its owner can read (as the mocks role gives it: never in argv),
 * presented as a bearer token or as X-Api-Key, on the SMS and on the mail mock's HTTP API; a key
 * file that others can read stops the start. */
static void test_auth_key_file(void **state)
{
	char dir[] = "/tmp/sbx-mock-key-XXXXXX", file[128];
	const char *bearer[] = {"Authorization: Bearer k3y-from-file", NULL};
	const char *xkey[] = {"X-Api-Key: k3y-from-file", NULL}, *xwrong[] = {"X-Api-Key: k3y-from-fil", NULL};
	struct mockproc p;
	struct http_resp r;

	(void)state;
	assert_non_null(mkdtemp(dir));
	key_file_write(dir, file, sizeof(file), 0644);
	assert_int_equal(mt_start(&p, "sms", "--api-key-file", file, (char *)NULL), -1);
	key_file_write(dir, file, sizeof(file), 0600);
	assert_int_equal(mt_start(&p, "sms", "--api-key-file", file, (char *)NULL), 0);
	expect_status(p.url, "GET", "/v1/messages", NULL, xwrong, 401);
	expect_status(p.url, "POST", "/v1/messages", MSG("+15551110010"), bearer, 201);
	assert_int_equal(http_reqf(&r, "GET", NULL, xkey, "%s/v1/messages", p.url), 200);
	assert_int_equal(http_int(&r, "total"), 1);
	http_resp_free(&r);
	assert_int_equal(mockproc_stop(&p, SIGTERM, 20000), 0);
	auth_mail(file, xkey);
	assert_int_equal(unlink(file), 0);
	assert_int_equal(rmdir(dir), 0);
}

/* With --data, messages survive a restart. */
static void test_persistence(void **state)
{
	char dir[] = "/tmp/sbx-mock-test-XXXXXX", file[128];
	struct mockproc p;
	struct http_resp r;
	char *id;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(file, sizeof(file), "%s/sms.db", dir);
	assert_int_equal(mt_start(&p, "sms", "--data", file, "--delivery-delay", "1ms", (char *)NULL), 0);
	assert_non_null(id = post_msg(p.url, MSG("+15551110009")));
	assert_int_equal(http_reqf(&r, "GET", NULL, NULL, "%s/v1/messages/wait?to=%%2B15551110009&status=delivered&timeout=10s", p.url), 200);
	http_resp_free(&r);
	assert_int_equal(mockproc_stop(&p, SIGTERM, 20000), 0);
	assert_int_equal(mt_start(&p, "sms", "--data", file, (char *)NULL), 0);
	assert_int_equal(http_reqf(&r, "GET", NULL, NULL, "%s/v1/messages/%s", p.url, id), 200);
	assert_string_equal(http_str(&r, "status"), "delivered");
	http_resp_free(&r);
	assert_int_equal(http_reqf(&r, "GET", NULL, NULL, "%s/v1/messages", p.url), 200);
	assert_int_equal(http_int(&r, "total"), 1);
	http_resp_free(&r);
	assert_int_equal(mockproc_stop(&p, SIGTERM, 20000), 0);
	free(id);
	assert_int_equal(unlink(file), 0);
	snprintf(file, sizeof(file), "%s/sms.db-wal", dir);
	unlink(file);
	snprintf(file, sizeof(file), "%s/sms.db-shm", dir);
	unlink(file);
	assert_int_equal(rmdir(dir), 0);
}

/* Block in a long-poll (thread). */
static void *wait_forever(void *arg)
{
	struct http_resp r;

	http_reqf(&r, "GET", NULL, NULL, "%s/v1/messages/wait?to=%%2B15550000000&timeout=300s", (const char *)arg);
	http_resp_free(&r);
	return NULL;
}

/* SIGTERM exits 0 promptly even with a long-poll pending. */
static void test_sigterm_during_wait(void **state)
{
	struct mockproc p;
	pthread_t t;
	long long t0;
	char metrics[160];

	(void)state;
	assert_int_equal(mt_start(&p, "sms", (char *)NULL), 0);
	pthread_create(&t, NULL, wait_forever, p.url);
	snprintf(metrics, sizeof(metrics), "%s/metrics", p.url);
	assert_true(mt_wait_body(metrics, "sbx_mock_waiters{collection=\"messages\"} 1\n", 10000));
	t0 = mockproc_now_ms();
	assert_int_equal(mockproc_stop(&p, SIGTERM, 20000), 0);
	assert_true(mockproc_now_ms() - t0 < 10000);
	pthread_join(t, NULL);
}

/* Bad options exit 2 without listening. */
static void test_bad_options(void **state)
{
	char bin[512];
	char *argv[] = {(char *)mockproc_bin("sms", bin, sizeof(bin)), (char *)"--listen", (char *)"nowhere", NULL};
	struct mockproc p;

	(void)state;
	assert_int_equal(mockproc_start(&p, argv, 20000), -1);
}

/* In process: the store pages newest first, replaces by id, evicts the oldest beyond the cap. */
static void test_store_in_process(void **state)
{
	struct mock_err e;
	struct mock_db *db = mock_db_open(NULL, &e);
	struct mock_store *st = mock_store_new(db, "t", 3, &e);
	struct mock_kvlist f = {0};
	size_t total;
	json_t *items;

	(void)state;
	for (int i = 0; i < 5; i++)
		assert_int_equal(mock_store_put(st, json_pack("{s:s,s:i}", "id", (char[]){(char)('a' + i), 0}, "n", i)), 0);
	assert_int_equal(mock_store_count(st), 3);
	assert_null(mock_store_get(st, "a"));
	assert_int_equal(mock_store_put(st, json_pack("{s:s,s:i}", "id", "c", "n", 42)), 0);
	mock_kv_add(&f, "n", "42");
	items = mock_store_list(st, &f, 0, 10, &total);
	assert_int_equal(total, 1);
	json_decref(items);
	items = mock_store_list(st, NULL, 0, 10, &total);
	assert_int_equal(total, 3);
	assert_string_equal(json_string_value(json_object_get(json_array_get(items, 0), "id")), "e");
	json_decref(items);
	assert_int_equal(mock_store_put(st, json_pack("{s:i}", "n", 1)), -1);
	mock_kv_free(&f);
	mock_store_free(st);
	mock_db_close(db);
}

/* Set "n" to 7 (a mock_store_update callback). */
static int set_seven(json_t *rec, void *arg)
{
	(void)arg;
	return json_object_set_new(rec, "n", json_integer(7));
}

/*
 * In process: records past the newest 1024 are kept as text; reading, filtering, updating,
 * replacing and evicting them behave as for the newest (kept as trees), and the byte bound counts
 * their exact size.
 */
static void test_store_old_records(void **state)
{
	struct mock_err e;
	struct mock_db *db = mock_db_open(NULL, &e);
	struct mock_store *st = mock_store_new(db, "t", 3000, &e);
	struct mock_kvlist f = {0};
	char id[16];
	size_t total;
	json_t *items, *rec;

	(void)state;
	mock_store_set_hot_ms(st, 0); /* only the newest are trees, however recent the others */
	for (int i = 0; i < 3000; i++) {
		snprintf(id, sizeof(id), "r%d", i);
		assert_int_equal(mock_store_put(st, json_pack("{s:s,s:i,s:[s]}", "id", id, "n", i % 10, "tags", "x\"\n")), 0);
	}
	rec = mock_store_get(st, "r5"); /* an old one */
	assert_non_null(rec);
	assert_int_equal(json_integer_value(json_object_get(rec, "n")), 5);
	assert_string_equal(json_string_value(json_array_get(json_object_get(rec, "tags"), 0)), "x\"\n");
	json_decref(rec);
	assert_int_equal(mock_store_update(st, "r5", set_seven, NULL), 0);
	assert_int_equal(mock_store_update(st, "r2990", set_seven, NULL), 0); /* a new one */
	mock_kv_add(&f, "n", "7");
	items = mock_store_list(st, &f, 0, 1000, &total);
	assert_int_equal(total, 302); /* 300 with n=7, r5 and r2990 */
	assert_string_equal(json_string_value(json_object_get(json_array_get(items, 0), "id")), "r2997");
	assert_string_equal(json_string_value(json_object_get(json_array_get(items, 301), "id")), "r5");
	json_decref(items);
	items = mock_store_list(st, NULL, 2990, 5, &total); /* a page of old ones, unfiltered */
	assert_int_equal(total, 3000);
	assert_string_equal(json_string_value(json_object_get(json_array_get(items, 0), "id")), "r9");
	json_decref(items);
	rec = mock_store_wait(st, &f, mock_store_seq(st, "r4"), 0);
	assert_non_null(rec);
	assert_string_equal(json_string_value(json_object_get(rec, "id")), "r2997");
	json_decref(rec);
	/* replacing an old record keeps its place */
	assert_int_equal(mock_store_put(st, json_pack("{s:s,s:i}", "id", "r1", "n", 99)), 0);
	assert_int_equal(mock_store_seq(st, "r1"), 2);
	rec = mock_store_get(st, "r1");
	assert_int_equal(json_integer_value(json_object_get(rec, "n")), 99);
	json_decref(rec);
	/* the byte bound evicts the oldest (each record takes about 35 bytes) */
	mock_store_set_max_bytes(st, 3000 * 20);
	assert_int_equal(mock_store_put(st, json_pack("{s:s}", "id", "new")), 0);
	assert_true(mock_store_evictions(st) > 0);
	assert_null(mock_store_get(st, "r0"));
	assert_int_equal(mock_store_del(st, "r2999"), 0);
	assert_null(mock_store_get(st, "r2999"));
	total = mock_store_count(st);
	assert_int_equal(mock_store_clear(st), total);
	assert_int_equal(mock_store_count(st), 0);
	mock_kv_free(&f);
	mock_store_free(st);
	mock_db_close(db);
}

/* Add delta (an int *) to "n" (a mock_store_update callback). */
static int add_n(json_t *rec, void *arg)
{
	const int *delta = arg;

	return json_object_set_new(rec, "n", json_integer(json_integer_value(json_object_get(rec, "n")) +
							  *delta));
}

/* The record id as compact JSON text from the store (mock_store_get), for comparing. */
static char *stored_text(struct mock_store *st, const char *id)
{
	json_t *rec = mock_store_get(st, id);
	char *text;

	assert_non_null(rec);
	text = mock_json_dump(rec);
	json_decref(rec);
	return text;
}

/*
 * In process: the text a put answered with is what the record reads as once it is old (kept, not
 * redone), unless an update changed the record meanwhile (then the update's); a replace by put
 * drops it too; an update of an unknown id reports it; a record updated while among the newest
 * reads, changes and deletes as any other.
 */
static void test_store_text_kept(void **state)
{
	struct mock_err e;
	struct mock_db *db = mock_db_open(NULL, &e);
	struct mock_store *st = mock_store_new(db, "t", 5000, &e);
	struct mock_resp resp = {0};
	int one = 1, ten = 10;
	char id[16], *text;

	(void)state;
	mock_store_set_hot_ms(st, 0);
	assert_int_equal(mock_store_put_answer(st, json_pack("{s:s,s:i,s:s}", "id", "a", "n", 1, "s", "x\"\n"),
					       &resp, 201), 0);
	assert_int_equal(resp.status, 201);
	assert_string_equal(resp.body, "{\"id\":\"a\",\"n\":1,\"s\":\"x\\\"\\n\"}\n");
	mock_resp_clear(&resp);
	assert_int_equal(mock_store_put_answer(st, json_pack("{s:s,s:i}", "id", "u", "n", 1), &resp, 201), 0);
	mock_resp_clear(&resp);
	assert_int_equal(mock_store_update(st, "u", add_n, &one), 0); /* its answer's text is stale now */
	assert_int_equal(mock_store_put_answer(st, json_pack("{s:s,s:i}", "id", "r", "n", 1), &resp, 201), 0);
	mock_resp_clear(&resp);
	assert_int_equal(mock_store_put(st, json_pack("{s:s,s:i}", "id", "r", "n", 5)), 0); /* replaced */
	assert_int_equal(mock_store_update(st, "u", add_n, &one), 0);
	assert_int_equal(mock_store_update(st, "missing", add_n, &one), -1);
	assert_int_equal(mock_store_update(st, "a", add_n, &ten), 0);
	text = stored_text(st, "a"); /* updated while among the newest */
	assert_string_equal(text, "{\"id\":\"a\",\"n\":11,\"s\":\"x\\\"\\n\"}");
	free(text);
	assert_int_equal(mock_store_update(st, "a", add_n, &one), 0);
	assert_int_equal(mock_store_put(st, json_pack("{s:s,s:i}", "id", "d", "n", 1)), 0);
	assert_int_equal(mock_store_update(st, "d", add_n, &one), 0);
	assert_int_equal(mock_store_del(st, "d"), 0); /* updated, among the newest */
	for (int i = 0; i < 3000; i++) { /* a, u and r become text */
		snprintf(id, sizeof(id), "p%d", i);
		assert_int_equal(mock_store_put(st, json_pack("{s:s,s:i}", "id", id, "n", i)), 0);
	}
	text = stored_text(st, "a");
	assert_string_equal(text, "{\"id\":\"a\",\"n\":12,\"s\":\"x\\\"\\n\"}");
	free(text);
	text = stored_text(st, "u");
	assert_string_equal(text, "{\"id\":\"u\",\"n\":3}"); /* updated twice */
	free(text);
	text = stored_text(st, "r");
	assert_string_equal(text, "{\"id\":\"r\",\"n\":5}");
	free(text);
	/* an old record updated stays right, as text */
	assert_int_equal(mock_store_update(st, "a", add_n, &one), 0);
	text = stored_text(st, "a");
	assert_string_equal(text, "{\"id\":\"a\",\"n\":13,\"s\":\"x\\\"\\n\"}");
	free(text);
	assert_int_equal(mock_store_evictions(st), 0);
	mock_store_free(st);
	mock_db_close(db);
}

/* A watch's wake (test_store_put_text): keep the record. */
static void keep_woken(void *arg, json_t *rec)
{
	*(json_t **)arg = rec;
}

/* A wait's answer (test_store_put_text): never reached, the wait is only watched. */
static void no_answer(struct mock_resp *resp, const json_t *rec, int64_t timeout_ms, void *arg)
{
	(void)resp;
	(void)rec;
	(void)timeout_ms;
	(void)arg;
}

/*
 * In process: records put as text (mock_store_put_text) answer with that text, read, filter,
 * update and list as any other; mock_store_replace_each replaces a text or a tree, reports an
 * unknown id, wakes a watch whose filter the new text matches; the byte bound counts the text.
 */
static void test_store_put_text(void **state)
{
	struct mock_err e;
	struct mock_db *db = mock_db_open(NULL, &e);
	struct mock_store *st = mock_store_new(db, "t", 5000, &e);
	struct mock_resp resp = {0}, wresp = {0};
	struct mock_kvlist f = {0};
	json_t *woken = NULL, *rec = NULL, *items;
	const char *ids[3] = {"a", "missing", "t"};
	char *docs[3] = {mock_xstrdup("{\"id\":\"a\",\"s\":\"done\",\"n\":2}"), mock_xstrdup("{\"id\":\"missing\"}"),
			 mock_xstrdup("{\"id\":\"t\",\"n\":7}")};
	size_t lens[3] = {strlen(docs[0]), strlen(docs[1]), strlen(docs[2])}, total;
	int one = 1, rcs[3];
	char *text;

	(void)state;
	text = mock_xstrdup("{\"id\":\"a\",\"s\":\"q\\\"\",\"n\":1}");
	assert_int_equal(mock_store_put_text(st, "a", text, strlen(text), &resp, 201), 0);
	assert_int_equal(resp.status, 201);
	assert_string_equal(resp.body, "{\"id\":\"a\",\"s\":\"q\\\"\",\"n\":1}\n");
	mock_resp_clear(&resp);
	assert_int_equal(mock_store_put_text(st, "", mock_xstrdup("{}"), 2, NULL, 0), -1);
	assert_int_equal(mock_store_put(st, json_pack("{s:s,s:i}", "id", "t", "n", 1)), 0); /* a tree */
	mock_kv_add(&f, "s", "done");
	mock_resp_wait(&wresp, st, &f, 0, 10000, no_answer, NULL);
	assert_int_equal(mock_wait_watch(wresp.wait, keep_woken, &woken, &rec), 0);
	mock_store_replace_each(st, 3, ids, docs, lens, rcs);
	assert_int_equal(rcs[0], 0);
	assert_int_equal(rcs[1], -1);
	assert_int_equal(rcs[2], 0);
	assert_non_null(woken); /* the watch matched the new text */
	assert_string_equal(json_string_value(json_object_get(woken, "id")), "a");
	json_decref(woken);
	mock_wait_free(wresp.wait);
	wresp.wait = NULL;
	text = stored_text(st, "t");
	assert_string_equal(text, "{\"id\":\"t\",\"n\":7}");
	free(text);
	assert_int_equal(mock_store_update(st, "a", add_n, &one), 0); /* a text record updates */
	text = stored_text(st, "a");
	assert_string_equal(text, "{\"id\":\"a\",\"s\":\"done\",\"n\":3}");
	free(text);
	mock_kv_add(&f, "s", "done");
	items = mock_store_list(st, &f, 0, 10, &total);
	assert_int_equal(total, 1);
	json_decref(items);
	mock_kv_free(&f);
	mock_store_set_max_bytes(st, 60); /* about three records of 20 bytes */
	for (int i = 0; i < 5; i++) {
		char id[16];
		snprintf(id, sizeof(id), "b%d", i);
		text = mock_xasprintf("{\"id\":\"%s\",\"x\":1}", id);
		assert_int_equal(mock_store_put_text(st, id, text, strlen(text), NULL, 0), 0);
	}
	assert_true(mock_store_evictions(st) >= 3);
	assert_true(mock_store_count(st) <= 3);
	mock_store_free(st);
	mock_db_close(db);
}

/*
 * In process: mock_req_str_fields gives what mock_req_json then mock_json_str give (return, status,
 * error body, strings) for bodies its quick path reads (flat ASCII strings and nulls) and for those
 * it leaves to jansson (escapes, UTF-8, numbers, nesting, duplicate keys, malformed, trailing text).
 */
static void test_req_str_fields_in_process(void **state)
{
	static const struct {
		const char *body;
		bool quick; /* read without jansson */
	} cases[] = {
		{"{\"to\":\"+15551234567\",\"from\":\"Acme\",\"body\":\"your code is 123456\"}", true},
		{" \t\r\n{ \"body\" : \"b\" ,\"from\":\"A\", \"to\":\"t\",\"status_callback\":null } \n", true},
		{"{\"to\":\"t\",\"from\":null,\"body\":\"b\"}", true},
		{"{\"to\":\"t\",\"from\":\"f\"}", true},
		{"{}", true},
		{"{\"to\":\"t\",\"from\":\"f\",\"body\":\"\x7f~\",\"\":\"\"}", true},
		{"{\"to\":\"t\",\"from\":\"f\",\"body\":\"q\\\"\"}", false},
		{"{\"to\":\"t\",\"from\":\"f\",\"body\":\"caf\xc3\xa9\"}", false},
		{"{\"to\":\"t\",\"from\":\"f\",\"body\":\"\xff\"}", false},
		{"{\"to\":\"t\",\"from\":\"f\",\"body\":\"a\tb\"}", false},
		{"{\"to\":1,\"from\":\"f\",\"body\":\"b\"}", false},
		{"{\"to\":\"t\",\"from\":\"f\",\"body\":\"b\",\"x\":{\"y\":[]}}", false},
		{"{\"to\":\"t\",\"to\":\"u\",\"from\":\"f\",\"body\":\"b\"}", false},
		{"{\"to\":\"t\",\"from\":\"f\",\"body\":\"b\"} x", false},
		{"{\"to\":\"t\",\"from\":\"f\",\"body\":\"b\",}", false},
		{"{\"to\":\"t\" \"from\":\"f\"}", false},
		{"{\"to\":nul}", false},
		{"{\"to\":\"t", false},
		{"{", false},
		{"", false},
		{"[]", false},
		{"null", false},
		{"{\"a\":\"1\",\"b\":\"2\",\"c\":\"3\",\"d\":\"4\",\"e\":\"5\",\"f\":\"6\",\"g\":\"7\",\"h\":\"8\","
		 "\"i\":\"9\",\"j\":\"10\",\"k\":\"11\",\"l\":\"12\",\"m\":\"13\",\"n\":\"14\",\"o\":\"15\",\"p\":\"16\","
		 "\"to\":\"17\"}", false},
	};
	static const char *const keys[] = {"to", "from", "body", "status_callback"};
	static const bool required[] = {true, true, true, false};

	(void)state;
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		struct mock_req *req = mock_req_new("POST", "/v1/messages", cases[c].body, strlen(cases[c].body));
		struct mock_resp quick = {0}, slow = {0};
		const char *fq[4] = {NULL}, *fs[4] = {NULL};
		struct mock_fields hold;
		json_t *doc = mock_req_json(req, &slow);
		int rq = mock_req_str_fields(req, 4, keys, required, fq, &hold, &quick), rs = doc ? 0 : -1;

		for (size_t i = 0; rs == 0 && i < 4; i++)
			rs = mock_json_str(doc, keys[i], required[i], &fs[i], &slow);
		assert_int_equal(hold.buf != NULL, cases[c].quick);
		assert_int_equal(rq, rs);
		assert_int_equal(quick.status, slow.status);
		assert_string_equal(quick.body ? quick.body : "", slow.body ? slow.body : "");
		for (size_t i = 0; rq == 0 && i < 4; i++) {
			assert_true((fq[i] == NULL) == (fs[i] == NULL));
			if (fq[i])
				assert_string_equal(fq[i], fs[i]);
		}
		mock_fields_free(&hold);
		json_decref(doc);
		mock_resp_clear(&quick);
		mock_resp_clear(&slow);
		mock_req_free(req);
	}
}

/* In process: mock_json_dump writes what json_dumps(JSON_COMPACT | JSON_PRESERVE_ORDER) writes. */
static void test_json_dump_in_process(void **state)
{
	static const char *const docs[] = {
		"{}", "[]", "\"\"", "0", "-9223372036854775807", "true", "false", "null", "1.5", "-0.001",
		"1e300", "{\"b\":1,\"a\":[1,2,{\"z\":null,\"y\":\"\"}],\"c\":{}}",
		"\"q\\\"b\\\\s/\\b\\f\\n\\r\\t\\u0001\\u001f\\u007f\\u0000x\"",
		"{\"k\\n\\\"\":\"caf\\u00e9 \\u2028 \\ud83d\\ude00 \\u00ff\"}",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
		json_t *v = json_loads(docs[i], JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
		char *want, *got;

		assert_non_null(v);
		want = json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
		got = mock_json_dump(v);
		assert_string_equal(got, want);
		free(want);
		free(got);
		json_decref(v);
	}
}

/* In process: signatures verify independently; parsers accept units and refuse junk. */
static void test_util_in_process(void **state)
{
	const char *body = "{\"a\":1}";
	char *sig = mock_signature("key", 1700000000, body, strlen(body));
	int64_t ms;
	size_t sz;

	(void)state;
	assert_true(mt_verify_signature("key", sig, body, strlen(body)));
	assert_false(mt_verify_signature("other", sig, body, strlen(body)));
	assert_true(mock_signature_verify("key", sig, body, strlen(body), 1700000010, 300));
	assert_false(mock_signature_verify("key", sig, body, strlen(body), 1800000000, 300));
	free(sig);
	assert_int_equal(mock_parse_duration_ms("10s", &ms), 0);
	assert_int_equal(ms, 10000);
	assert_int_equal(mock_parse_duration_ms("250ms", &ms), 0);
	assert_int_equal(ms, 250);
	assert_int_equal(mock_parse_duration_ms("3", &ms), 0);
	assert_int_equal(ms, 3000);
	assert_int_equal(mock_parse_duration_ms("-1s", &ms), -1);
	assert_int_equal(mock_parse_duration_ms("5 s", &ms), -1);
	assert_int_equal(mock_parse_size("64k", &sz), 0);
	assert_int_equal(sz, 65536);
	assert_int_equal(mock_parse_size("1x", &sz), -1);
}

/* Form bodies: '+' is a space, %XX a byte, repeated names kept, empty pairs skipped; bad escapes,
 * empty names, NUL bytes, invalid UTF-8 and too many parameters refused; encoding round-trips. */
static void test_form_in_process(void **state)
{
	(void)state;
	struct mock_kvlist l = {0}, r = {0};
	struct mock_err e;
	const char *body = "To=%2B15557770001&Body=Hello+w%C3%B6rld%21&&flag&MediaUrl=a&MediaUrl=b";
	assert_int_equal(mock_form_parse(body, strlen(body), &l, &e), 0);
	assert_int_equal(l.n, 5);
	assert_string_equal(mock_kv_get(&l, "To", false), "+15557770001");
	assert_string_equal(mock_kv_get(&l, "Body", false), "Hello w\xc3\xb6rld!");
	assert_string_equal(mock_kv_get(&l, "flag", false), "");
	assert_string_equal(l.v[3].value, "a");
	assert_string_equal(l.v[4].value, "b");
	char *enc = mock_form_encode(&l);
	assert_string_equal(enc, "To=%2B15557770001&Body=Hello+w%C3%B6rld%21&flag=&MediaUrl=a&MediaUrl=b");
	assert_int_equal(mock_form_parse(enc, strlen(enc), &r, &e), 0);
	assert_int_equal(r.n, l.n);
	free(enc);
	mock_kv_free(&l);
	mock_kv_free(&r);
	const char *bad[] = {"To=%zz", "To=%4", "=x", "To=%00", "Body=%C3%28", "Body=%ED%A0%80", "a=%F4%90%80%80"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(mock_form_parse(bad[i], strlen(bad[i]), &l, &e), -1);
		assert_true(strlen(e.msg) > 0);
		mock_kv_free(&l);
	}
	struct sbx_buf many = {0};
	for (int i = 0; i <= MOCK_FORM_MAX_PARAMS; i++)
		sbx_buf_printf(&many, "p%d=1&", i);
	assert_int_equal(mock_form_parse(many.data, many.len, &l, &e), -1);
	assert_non_null(strstr(e.msg, "too many"));
	mock_kv_free(&l);
	sbx_buf_free(&many);
	char *esc = mock_form_escape("a b+c/~");
	assert_string_equal(esc, "a+b%2Bc%2F~");
	free(esc);
}

/* X-Twilio-Signature: Twilio's documented example (token 12345; the value twilio-node computes). */
static void test_twilio_signature_in_process(void **state)
{
	(void)state;
	struct mock_kvlist p = {0};
	mock_kv_add(&p, "To", "+18005551212");
	mock_kv_add(&p, "CallSid", "CA1234567890ABCDE");
	mock_kv_add(&p, "Digits", "1234");
	mock_kv_add(&p, "From", "+12349013030");
	mock_kv_add(&p, "Caller", "+12349013030");
	char *sig = mock_twilio_signature("12345", "https://mycompany.com/myapp.php?foo=1&bar=2", &p);
	assert_string_equal(sig, "0/KCTR6DLpKmkAf8muzZqo1nDgQ=");
	free(sig);
	sig = mock_twilio_signature("12346", "https://mycompany.com/myapp.php?foo=1&bar=2", &p);
	assert_string_not_equal(sig, "0/KCTR6DLpKmkAf8muzZqo1nDgQ=");
	free(sig);
	mock_kv_free(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_store_in_process),
		cmocka_unit_test(test_store_old_records),
		cmocka_unit_test(test_store_text_kept),
		cmocka_unit_test(test_store_put_text),
		cmocka_unit_test(test_req_str_fields_in_process),
		cmocka_unit_test(test_json_dump_in_process),
		cmocka_unit_test(test_util_in_process),
		cmocka_unit_test(test_form_in_process),
		cmocka_unit_test(test_twilio_signature_in_process),
		cmocka_unit_test(test_healthz),
		cmocka_unit_test(test_not_found),
		cmocka_unit_test(test_body_too_large),
		cmocka_unit_test(test_malformed_json),
		cmocka_unit_test(test_metrics),
		cmocka_unit_test(test_paging),
		cmocka_unit_test(test_wait_returns_early),
		cmocka_unit_test(test_wait_times_out),
		cmocka_unit_test(test_wait_after),
		cmocka_unit_test(test_delete),
		cmocka_unit_test(test_fault_error_rate),
		cmocka_unit_test(test_fault_latency),
		cmocka_unit_test(test_fault_invalid),
		cmocka_unit_test(test_auth),
		cmocka_unit_test(test_auth_key_file),
		cmocka_unit_test(test_persistence),
		cmocka_unit_test(test_sigterm_during_wait),
		cmocka_unit_test(test_bad_options),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
