/*
 * test_callback — where webhooks and callbacks may go (SSRF): a status_callback outside the
 * --allow-callback networks (loopback and link-local unless named, IPv4 in any spelling) is
 * refused when the message is submitted and never attempted; one inside is delivered, signed with
 * the secret of --webhook-secret-file (verified here with OpenSSL); a redirect is not followed to
 * another host; a name is resolved once and the connection goes to the checked address; URLs
 * from the command line are checked too, and may come from a 0600 file (--callback-url-file,
 * --webhook-url-file: a URL holding a token stays off the command line). Receivers listen on
 * 127.0.0.1 and 127.0.0.2.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "mock_allow.h"
#include "mock_target.h"
#include "mocktest.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#define SECRET "whsec_per_environment"
#define KEY "key_per_environment"

static struct hookrecv *a, *b; /* 127.0.0.1 and 127.0.0.2 */
static char dir[] = "/tmp/sbx-mock-cb-XXXXXX";
static char secret_file[128], key_file[128];
static const char *auth[] = {"Authorization: Bearer " KEY, NULL};

/* Write a 0600 file. */
static void write_private(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	assert_int_equal(chmod(path, 0600), 0);
}

/* Two receivers and the secret files. */
static int group_setup(void **state)
{
	(void)state;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	a = hookrecv_start_at("127.0.0.1");
	b = hookrecv_start_at("127.0.0.2");
	if (!a || !b || !mkdtemp(dir))
		return -1;
	snprintf(secret_file, sizeof(secret_file), "%s/webhook-secret", dir);
	snprintf(key_file, sizeof(key_file), "%s/api-key", dir);
	write_private(secret_file, SECRET "\n");
	write_private(key_file, KEY "\n");
	return 0;
}

/* Stop the receivers, remove the files. */
static int group_teardown(void **state)
{
	(void)state;
	hookrecv_stop(a);
	hookrecv_stop(b);
	unlink(secret_file);
	unlink(key_file);
	rmdir(dir);
	curl_global_cleanup();
	return 0;
}

/* POST a message with this status_callback (printf format) to the mock; fills r. */
static long send_with_callback(struct mockproc *p, struct http_resp *r, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static long send_with_callback(struct mockproc *p, struct http_resp *r, const char *fmt, ...)
{
	char cb[256], body[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cb, sizeof(cb), fmt, ap);
	va_end(ap);
	snprintf(body, sizeof(body), "{\"to\":\"+15557771000\",\"from\":\"Acme\",\"body\":\"x\","
		 "\"status_callback\":\"%s\"}", cb);
	return http_reqf(r, "POST", body, auth, "%s/v1/messages", p->url);
}

/* The number of records in the delivery log. */
static long long deliveries(struct mockproc *p)
{
	struct http_resp r;
	long long n;

	assert_int_equal(http_reqf(&r, "GET", NULL, auth, "%s/v1/webhook_deliveries", p->url), 200);
	n = http_int(&r, "total");
	http_resp_free(&r);
	return n;
}

/* Callbacks to this machine, to cloud metadata and to other networks are refused at submit time
 * with a 400 naming the rule, even when 0.0.0.0/0 is allowed; nothing is attempted or logged. */
static void test_refused_at_submit(void **state)
{
	static const char *const refused[] = {
		"http://127.0.0.1:%d/x", "http://localhost:%d/x", "http://2130706433:%d/x",
		"http://0x7f.1:%d/x", "http://[::ffff:127.0.0.1]:%d/x", "http://[::1]:%d/x",
		"http://0.0.0.0:%d/x", "http://169.254.169.254:%d/latest/meta-data/",
	};
	struct mockproc p;
	struct http_resp r;

	(void)state;
	assert_int_equal(mt_start(&p, "sms", "--api-key-file", key_file, "--allow-callback", "0.0.0.0/0",
				  "--allow-callback", "::/0", "--delivery-delay", "5ms", (char *)NULL), 0);
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		assert_int_equal(send_with_callback(&p, &r, refused[i], hookrecv_port(a)), 400);
		assert_string_equal(http_str(&r, "error.code"), "callback_not_allowed");
		assert_non_null(strstr(http_str(&r, "error.message"), "--allow-callback (0.0.0.0/0, ::/0)"));
		assert_non_null(strstr(http_str(&r, "error.message"), "loopback and link-local"));
		http_resp_free(&r);
	}
	assert_int_equal(send_with_callback(&p, &r, "http://no-such-host.invalid:%d/x", 80), 400);
	assert_non_null(strstr(http_str(&r, "error.message"), "does not resolve"));
	http_resp_free(&r);
	usleep(200 * 1000);
	assert_int_equal(deliveries(&p), 0);
	assert_int_equal(hookrecv_wait(a, 0, 0), 0);
	assert_int_equal(mockproc_stop(&p, SIGTERM, 20000), 0);
}

/* Collect the receiver's requests at path, checking each signature with the secret. */
static size_t signed_requests(struct hookrecv *r, const char *path)
{
	size_t n = 0, total = hookrecv_wait(r, 0, 0);

	for (size_t i = 0; i < total; i++) {
		size_t len;
		const char *body = hookrecv_body(r, i, &len);
		if (strcmp(hookrecv_path(r, i), path) != 0)
			continue;
		assert_true(mt_verify_signature(SECRET, hookrecv_header(r, i, "Signature"), body, len));
		assert_false(mt_verify_signature("whsec_other", hookrecv_header(r, i, "Signature"), body, len));
		n++;
	}
	return n;
}

/* Wait until the receiver has n requests at path. */
static size_t wait_requests(struct hookrecv *r, const char *path, size_t n)
{
	long long deadline = mockproc_now_ms() + 10000;
	size_t have = 0;

	while ((have = signed_requests(r, path)) < n && mockproc_now_ms() < deadline)
		hookrecv_wait(r, hookrecv_wait(r, 0, 0) + 1, 200);
	return have;
}

/* A callback inside an allowed network (here one named loopback address, as a literal and by
 * name) is delivered, signed with the per-environment secret, from the pinned address. */
static void test_allowed_delivered_signed(void **state)
{
	struct mockproc p;
	struct http_resp r;

	(void)state;
	assert_int_equal(mt_start(&p, "sms", "--api-key-file", key_file, "--webhook-secret-file", secret_file,
				  "--allow-callback", "127.0.0.1/32", "--delivery-delay", "5ms", (char *)NULL), 0);
	assert_int_equal(send_with_callback(&p, &r, "http://127.0.0.1:%d/allowed", hookrecv_port(a)), 201);
	http_resp_free(&r);
	assert_int_equal(send_with_callback(&p, &r, "http://localhost:%d/named", hookrecv_port(a)), 201);
	http_resp_free(&r);
	assert_int_equal(wait_requests(a, "/allowed", 3), 3); /* queued, sent, delivered */
	assert_int_equal(wait_requests(a, "/named", 3), 3);
	/* the receiver has them before the mock records the answers: poll the log against a deadline */
	for (long long deadline = mockproc_now_ms() + 10000;; ) {
		assert_int_equal(http_reqf(&r, "GET", NULL, auth, "%s/v1/webhook_deliveries?status=succeeded", p.url),
				 200);
		if (http_int(&r, "total") >= 6 || mockproc_now_ms() >= deadline)
			break;
		http_resp_free(&r);
		usleep(50 * 1000); /* poll interval */
	}
	assert_int_equal(http_int(&r, "total"), 6);
	assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(r.json, "items"), 0),
							      "address")), "127.0.0.1");
	http_resp_free(&r);
	assert_int_equal(send_with_callback(&p, &r, "http://127.0.0.2:%d/x", hookrecv_port(b)), 400);
	http_resp_free(&r);
	assert_int_equal(mockproc_stop(&p, SIGTERM, 20000), 0);
}

/* A receiver answering 307 to another host (allowed too) is not followed: the attempt fails
 * with 307 and the other host hears nothing. */
static void test_redirect_not_followed(void **state)
{
	struct mockproc p;
	struct http_resp r;
	char loc[128];

	(void)state;
	snprintf(loc, sizeof(loc), "http://127.0.0.2:%d/stolen", hookrecv_port(b));
	hookrecv_redirect_next(a, 1, 307, loc);
	assert_int_equal(mt_start(&p, "sms", "--api-key-file", key_file, "--allow-callback", "127.0.0.0/8",
				  "--delivery-delay", "10m", "--webhook-attempts", "1", (char *)NULL), 0);
	assert_int_equal(send_with_callback(&p, &r, "http://127.0.0.1:%d/redirect", hookrecv_port(a)), 201);
	http_resp_free(&r);
	assert_int_equal(http_reqf(&r, "GET", NULL, auth, "%s/v1/webhook_deliveries/wait?status=failed&timeout=10s",
				   p.url), 200);
	assert_int_equal(http_int(&r, "response_status"), 307);
	http_resp_free(&r);
	usleep(200 * 1000);
	for (size_t i = 0; i < hookrecv_wait(b, 0, 0); i++)
		assert_string_not_equal(hookrecv_path(b, i), "/stolen");
	hookrecv_fail_next(a, 0, 200);
	assert_int_equal(mockproc_stop(&p, SIGTERM, 20000), 0);
}

/* Command-line URLs: a literal outside the list stops the start; a name is checked per delivery,
 * which is logged "refused" and never attempted. */
static void test_configured_urls(void **state)
{
	struct mockproc p;
	struct http_resp r;
	char url[128];
	size_t before = hookrecv_wait(a, 0, 0);

	(void)state;
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/configured", hookrecv_port(a));
	assert_int_equal(mt_start(&p, "sms", "--allow-callback", "10.0.0.0/8", "--callback-url", url, (char *)NULL), -1);
	assert_int_equal(mt_start(&p, "payment", "--allow-callback", "0.0.0.0/0", "--webhook-url",
				  "http://169.254.169.254/latest", (char *)NULL), -1);
	snprintf(url, sizeof(url), "http://localhost:%d/configured", hookrecv_port(a));
	assert_int_equal(mt_start(&p, "sms", "--api-key-file", key_file, "--allow-callback", "10.0.0.0/8",
				  "--callback-url", url, "--delivery-delay", "10m", (char *)NULL), 0);
	assert_int_equal(http_reqf(&r, "POST", "{\"to\":\"+15557771001\",\"from\":\"Acme\",\"body\":\"x\"}", auth,
				   "%s/v1/messages", p.url), 201);
	http_resp_free(&r);
	assert_int_equal(http_reqf(&r, "GET", NULL, auth, "%s/v1/webhook_deliveries/wait?status=refused&timeout=10s",
				   p.url), 200);
	assert_int_equal(http_int(&r, "attempts"), 0);
	assert_non_null(strstr(http_str(&r, "error"), "--allow-callback (10.0.0.0/8)"));
	http_resp_free(&r);
	assert_int_equal(hookrecv_wait(a, 0, 0), before);
	assert_int_equal(mockproc_stop(&p, SIGTERM, 20000), 0);
}

/* --callback-url-file / --webhook-url-file: the URL (with its token) read from a file only its
 * owner can access, used as --callback-url would be; a readable-by-others file or an unknown
 * NAME-file option is refused at start. */
static void test_url_from_file(void **state)
{
	struct mockproc p;
	struct http_resp r;
	char url[160], file[160];
	size_t before = hookrecv_wait(a, 0, 0);

	(void)state;
	snprintf(file, sizeof(file), "%s/callback-url", dir);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/hook/tok-s3cr3t?sig=1\n", hookrecv_port(a));
	write_private(file, url);
	assert_int_equal(mt_start(&p, "sms", "--api-key-file", key_file, "--allow-callback", "127.0.0.1/32",
				  "--callback-url-file", file, "--delivery-delay", "5ms", (char *)NULL), 0);
	assert_int_equal(http_reqf(&r, "POST", "{\"to\":\"+15557771002\",\"from\":\"Acme\",\"body\":\"x\"}", auth,
				   "%s/v1/messages", p.url), 201);
	http_resp_free(&r);
	assert_true(hookrecv_wait(a, before + 1, 10000) >= before + 1);
	assert_string_equal(hookrecv_path(a, before), "/hook/tok-s3cr3t?sig=1");
	assert_int_equal(mockproc_stop(&p, SIGTERM, 20000), 0);
	assert_int_equal(mt_start(&p, "payment", "--allow-callback", "127.0.0.1/32", "--webhook-url-file", file,
				  (char *)NULL), 0);
	assert_int_equal(mockproc_stop(&p, SIGTERM, 20000), 0);
	assert_int_equal(chmod(file, 0644), 0);
	assert_int_equal(mt_start(&p, "sms", "--callback-url-file", file, (char *)NULL), -1);
	assert_int_equal(mt_start(&p, "sms", "--listen-file", file, (char *)NULL), -1);
	assert_int_equal(mt_start(&p, "sms", "--quiet-file", file, (char *)NULL), -1);
	unlink(file);
}

/* An allow-list from CIDRs (each line "CIDR..." then the addresses and whether they pass). */
static void test_allow_list(void **state)
{
	static const struct {
		const char *cidrs[3], *addr;
		bool ok;
	} cases[] = {
		{{"10.0.0.0/8"}, "10.1.2.3", true}, {{"10.0.0.0/8"}, "11.0.0.1", false},
		{{"0.0.0.0/0"}, "8.8.8.8", true}, {{"0.0.0.0/0"}, "127.0.0.1", false},
		{{"0.0.0.0/0"}, "169.254.169.254", false}, {{"0.0.0.0/0"}, "0.0.0.0", false},
		{{"127.0.0.1/32"}, "127.0.0.1", true}, {{"127.0.0.1/32"}, "127.0.0.2", false},
		{{"169.254.169.254/32"}, "169.254.169.254", true}, {{"::/0"}, "::1", false},
		{{"::/0"}, "fe80::1", false}, {{"::/0"}, "2001:db8::1", true}, {{"fe80::/10"}, "fe80::1", true},
		{{"0.0.0.0/0", "::/0"}, "::ffff:127.0.0.1", false}, {{"10.0.0.0/8"}, "::ffff:10.0.0.1", true},
		{{"192.168.1.0/24", "10.0.0.0/24"}, "10.0.0.255", true}, {{"192.168.1.7"}, "192.168.1.7", true},
	};
	static const char *const bad[] = {"10.0.0.1/24", "x", "10.0.0.0/33", "10.0.0.0/-1", "10.0.0.0/", "::1/129", ""};
	struct mock_err e;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct mock_allow al = {0};
		struct sockaddr_storage ss = {0};
		struct sockaddr_in *s4 = (void *)&ss;
		struct sockaddr_in6 *s6 = (void *)&ss;
		for (size_t k = 0; k < 3 && cases[i].cidrs[k]; k++)
			assert_int_equal(mock_allow_add(&al, cases[i].cidrs[k], &e), 0);
		if (inet_pton(AF_INET, cases[i].addr, &s4->sin_addr) == 1)
			ss.ss_family = AF_INET;
		else if (inet_pton(AF_INET6, cases[i].addr, &s6->sin6_addr) == 1)
			ss.ss_family = AF_INET6;
		if (mock_allow_has(&al, (struct sockaddr *)&ss) != cases[i].ok)
			fail_msg("%s in %s: expected %d", cases[i].addr, cases[i].cidrs[0], cases[i].ok);
		mock_allow_free(&al);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct mock_allow al = {0};
		assert_int_equal(mock_allow_add(&al, bad[i], &e), -1);
		assert_non_null(strstr(e.msg, "--allow-callback"));
		mock_allow_free(&al);
	}
}

/* POST once through libcurl to a target as the sender does; the curl result. */
static CURLcode post_pinned(const struct mock_target *t)
{
	CURL *c = curl_easy_init();
	struct curl_slist *pin = mock_target_pin(t, c);
	CURLcode rc;

	curl_easy_setopt(c, CURLOPT_POSTFIELDS, "{}");
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
	rc = curl_easy_perform(c);
	curl_easy_cleanup(c);
	curl_slist_free_all(pin);
	return rc;
}

/* In process: the connection goes to the checked address, never to what the name resolves to
 * later (here "localhost", pinned by hand to 127.0.0.2 as a rebinding would not be), and a socket
 * towards any other address is refused. */
static void test_pinned_address(void **state)
{
	struct mock_allow al = {0};
	struct mock_target t;
	struct mock_err e;
	char url[128];
	size_t na = hookrecv_wait(a, 0, 0), nb = hookrecv_wait(b, 0, 0);
	struct sockaddr_in *s4;

	(void)state;
	assert_int_equal(mock_allow_add(&al, "127.0.0.0/8", &e), 0);
	snprintf(url, sizeof(url), "http://localhost:%d/pinned", hookrecv_port(b));
	assert_int_equal(mock_target_resolve(&t, url, &al, false, &e), 0);
	assert_string_equal(t.addr_text, "127.0.0.1");
	s4 = (void *)&t.addr;
	assert_int_equal(inet_pton(AF_INET, "127.0.0.2", &s4->sin_addr), 1);
	snprintf(t.addr_text, sizeof(t.addr_text), "127.0.0.2");
	assert_int_equal(post_pinned(&t), CURLE_OK);
	assert_int_equal(hookrecv_wait(b, nb + 1, 5000), nb + 1);
	assert_string_equal(hookrecv_path(b, nb), "/pinned");
	mock_target_clear(&t);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/elsewhere", hookrecv_port(a));
	assert_int_equal(mock_target_resolve(&t, url, &al, true, &e), 0);
	assert_int_equal(inet_pton(AF_INET, "127.0.0.3", &s4->sin_addr), 1);
	assert_int_not_equal(post_pinned(&t), CURLE_OK);
	assert_int_equal(hookrecv_wait(a, 0, 0), na);
	mock_target_clear(&t);
	assert_int_equal(mock_target_resolve(&t, "ftp://127.0.0.1/", &al, true, &e), -1);
	assert_int_equal(mock_target_resolve(&t, "http://localhost/", &al, true, &e), -1); /* no DNS */
	mock_allow_free(&al);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_allow_list),
		cmocka_unit_test(test_pinned_address),
		cmocka_unit_test(test_refused_at_submit),
		cmocka_unit_test(test_allowed_delivered_signed),
		cmocka_unit_test(test_redirect_not_followed),
		cmocka_unit_test(test_configured_urls),
		cmocka_unit_test(test_url_from_file),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
