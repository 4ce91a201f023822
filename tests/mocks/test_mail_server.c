/*
 * The mail mock in-process: libcurl's SMTP client (several threads at once) against the real
 * SMTP listener on an ephemeral loopback port, read back through the HTTP pipeline
 * (mock_server_handle, no socket); the connection limit, the idle timeout, the long-poll wait
 * woken by SMTP, and stopping with a client still connected.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../mocks/mail/mail.h"
#include "clock.h"
#include "mime_fixture.h"
#include "mock_kv.h"
#include "mock_log.h"
#include "mock_opts.h"
#include "mock_req.h"
#include "mock_server.h"
#include "mock_util.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

struct fixture {
	struct mock_opts opts;
	struct mock_server *srv;
	struct mail *mail;
	int port;
};

/* Start a mail mock with these extra options ("name", "value", ..., NULL). */
static struct fixture *start(const char *first, ...)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct mock_err e = {{0}};
	va_list ap;

	mock_opts_defaults(&f->opts);
	f->opts.quiet = true;
	mock_kv_add(&f->opts.extra, "smtp", "127.0.0.1:0");
	va_start(ap, first);
	for (const char *k = first; k; k = va_arg(ap, const char *))
		mock_kv_add(&f->opts.extra, k, va_arg(ap, const char *));
	va_end(ap);
	f->srv = mock_server_new("mail", &f->opts, &e);
	assert_non_null(f->srv);
	f->mail = mail_new(f->srv, &e);
	if (!f->mail)
		fail_msg("mail_new: %s", e.msg);
	f->port = mail_smtp_port(f->mail);
	assert_true(f->port > 0);
	return f;
}

/* A fixture whose common --idle-timeout is ms (no --smtp-idle-timeout). */
static struct fixture *start_idle(int64_t ms)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct mock_err e = {{0}};

	mock_opts_defaults(&f->opts);
	f->opts.quiet = true;
	f->opts.idle_timeout_ms = ms;
	mock_kv_add(&f->opts.extra, "smtp", "127.0.0.1:0");
	f->srv = mock_server_new("mail", &f->opts, &e);
	assert_non_null(f->srv);
	f->mail = mail_new(f->srv, &e);
	if (!f->mail)
		fail_msg("mail_new: %s", e.msg);
	f->port = mail_smtp_port(f->mail);
	return f;
}

/* Stop and free a fixture. */
static void stop(struct fixture *f)
{
	mock_server_stop(f->srv);
	mail_free(f->mail);
	mock_server_free(f->srv);
	mock_opts_free(&f->opts);
	free(f);
}

/* Run an HTTP request through the pipeline; returns the status and the parsed body (or NULL). */
static int http(struct fixture *f, const char *method, const char *path, json_t **doc)
{
	struct mock_req *req = mock_req_new(method, path, NULL, 0);
	struct mock_resp resp = {0};
	int status;

	mock_server_handle(f->srv, req, &resp);
	status = resp.status;
	if (doc)
		*doc = resp.body ? json_loadb(resp.body, resp.body_len, 0, NULL) : NULL;
	mock_resp_clear(&resp);
	mock_req_free(req);
	return status;
}

struct upload {
	const char *data;
	size_t off, len;
};

/* libcurl read callback over a string. */
static size_t upload_read(char *buf, size_t size, size_t n, void *arg)
{
	struct upload *u = arg;
	size_t k = size * n < u->len - u->off ? size * n : u->len - u->off;

	memcpy(buf, u->data + u->off, k);
	u->off += k;
	return k;
}

/* Send one message with libcurl to `to`; returns the CURLcode. */
static CURLcode curl_send(int port, const char *to, const char *msg)
{
	CURL *c = curl_easy_init();
	struct curl_slist *rcpt = curl_slist_append(NULL, to);
	struct upload u = {msg, 0, strlen(msg)};
	char url[64];
	CURLcode rc;

	snprintf(url, sizeof(url), "smtp://127.0.0.1:%d", port);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_MAIL_FROM, "<sender@example.org>");
	curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpt);
	curl_easy_setopt(c, CURLOPT_READFUNCTION, upload_read);
	curl_easy_setopt(c, CURLOPT_READDATA, &u);
	curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
	rc = curl_easy_perform(c);
	curl_slist_free_all(rcpt);
	curl_easy_cleanup(c);
	return rc;
}

struct sender_arg {
	int port;
	int id;
	int failures;
};

/* A thread sending 5 messages to t<id>@example.org. */
static void *sender(void *arg)
{
	struct sender_arg *a = arg;
	char to[64], msg[256];

	for (int i = 0; i < 5; i++) {
		snprintf(to, sizeof(to), "<t%d@example.org>", a->id);
		snprintf(msg, sizeof(msg), "Subject: thread %d message %d\r\n\r\n.dot\r\nbody\r\n", a->id, i);
		a->failures += curl_send(a->port, to, msg) != CURLE_OK;
	}
	return NULL;
}

/* Four libcurl senders at once: every message stored once, filters and paging see them. */
static void test_curl_concurrent(void **state)
{
	struct fixture *f = start(NULL);
	struct sender_arg args[4];
	pthread_t th[4];
	json_t *doc;

	(void)state;
	for (int i = 0; i < 4; i++) {
		args[i] = (struct sender_arg){f->port, i, 0};
		pthread_create(&th[i], NULL, sender, &args[i]);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(args[i].failures, 0);
	}
	assert_int_equal(http(f, "GET", "/v1/messages?limit=3", &doc), 200);
	assert_int_equal(json_integer_value(json_object_get(doc, "total")), 20);
	assert_int_equal(json_array_size(json_object_get(doc, "items")), 3);
	json_decref(doc);
	assert_int_equal(http(f, "GET", "/v1/messages?to=t2@example.org&subject=MESSAGE%204", &doc), 200);
	assert_int_equal(json_integer_value(json_object_get(doc, "total")), 1);
	json_t *item = json_array_get(json_object_get(doc, "items"), 0);
	assert_string_equal(json_string_value(json_object_get(item, "subject")), "thread 2 message 4");
	assert_string_equal(json_string_value(json_object_get(item, "from")), "sender@example.org");
	char path[128];
	snprintf(path, sizeof(path), "/v1/messages/%s", json_string_value(json_object_get(item, "id")));
	json_decref(doc);
	assert_int_equal(http(f, "GET", path, &doc), 200);
	assert_string_equal(json_string_value(json_object_get(doc, "text")), ".dot\r\nbody\r\n");
	json_decref(doc);
	stop(f);
}

/* The JSON API over a MIME message: RFC 2047 subject and sender, alternative inside mixed. */
static void test_mime_views(void **state)
{
	struct fixture *f = start(NULL);
	json_t *doc, *item;
	char path[128];

	(void)state;
	assert_int_equal(curl_send(f->port, "<bob@example.org>", mime_fixture), CURLE_OK);
	assert_int_equal(http(f, "GET", "/v1/messages?subject=r%C3%A9SUM%C3%A9%20DU", &doc), 200);
	assert_int_equal(json_integer_value(json_object_get(doc, "total")), 1);
	item = json_array_get(json_object_get(doc, "items"), 0);
	assert_string_equal(json_string_value(json_object_get(item, "subject")), "R\xc3\xa9sum\xc3\xa9 du mois");
	assert_string_equal(json_string_value(json_object_get(item, "header_from")), "Zo\xc3\xab <zoe@example.org>");
	snprintf(path, sizeof(path), "/v1/messages/%s", json_string_value(json_object_get(item, "id")));
	json_decref(doc);
	assert_int_equal(http(f, "GET", path, &doc), 200);
	assert_string_equal(json_string_value(json_object_get(doc, "text")), "\xc3\xa9t\xc3\xa9");
	assert_string_equal(json_string_value(json_object_get(doc, "html")), "<p>\xc3\xa9t\xc3\xa9</p>");
	assert_int_equal(json_array_size(json_object_get(doc, "parts")), 3);
	item = json_array_get(json_object_get(doc, "attachments"), 0);
	assert_int_equal(json_integer_value(json_object_get(item, "index")), 2);
	assert_string_equal(json_string_value(json_object_get(item, "filename")), "r\xc3\xa9ponse.eml");
	assert_int_equal(json_integer_value(json_object_get(item, "size")), 28);
	json_decref(doc);
	stop(f);
}

/* Connect a raw client and read its first reply line into buf. Returns the socket. */
static int raw_connect(int port, char *buf, size_t len)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	struct timeval tv = {10, 0};
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	ssize_t n;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	n = recv(fd, buf, len - 1, 0);
	buf[n > 0 ? n : 0] = '\0';
	return fd;
}

/* Over --smtp-max-conn: 421; an idle client is dropped after --smtp-idle-timeout with 421. */
static void test_limits(void **state)
{
	struct fixture *f = start("smtp-max-conn", "2", "smtp-idle-timeout", "400ms", NULL);
	char b1[256], b2[256], b3[256];
	int64_t t0 = sbx_mono_ms();
	int a, b, c;

	(void)state;
	a = raw_connect(f->port, b1, sizeof(b1));
	b = raw_connect(f->port, b2, sizeof(b2));
	c = raw_connect(f->port, b3, sizeof(b3));
	assert_memory_equal(b1, "220 ", 4);
	assert_memory_equal(b2, "220 ", 4);
	assert_string_equal(b3, "421 4.7.0 Too many connections, try again later\r\n");
	close(c);
	ssize_t n = recv(a, b1, sizeof(b1) - 1, 0);
	assert_true(n > 0);
	b1[n] = '\0';
	assert_string_equal(b1, "421 4.4.2 Idle timeout, closing connection\r\n");
	assert_true(sbx_mono_ms() - t0 >= 350);
	close(a);
	close(b);
	stop(f);
}

/* Without --smtp-idle-timeout, the common --idle-timeout drops an idle SMTP session. */
static void test_idle_default(void **state)
{
	struct fixture *f;
	char b[256];
	int64_t t0;
	ssize_t n;
	int a;

	(void)state;
	f = start(NULL);
	assert_int_equal(f->opts.idle_timeout_ms, 30000); /* the default */
	stop(f);
	f = start_idle(1000);
	t0 = sbx_mono_ms();
	a = raw_connect(f->port, b, sizeof(b));
	assert_memory_equal(b, "220 ", 4);
	n = recv(a, b, sizeof(b) - 1, 0);
	assert_true(n > 0);
	b[n] = '\0';
	assert_string_equal(b, "421 4.4.2 Idle timeout, closing connection\r\n");
	assert_true(sbx_mono_ms() - t0 >= 900);
	close(a);
	stop(f);
}

struct waiter {
	struct fixture *f;
	int status;
	json_t *doc;
};

/* Long-poll for mail to w@example.org. */
static void *waiter(void *arg)
{
	struct waiter *w = arg;

	w->status = http(w->f, "GET", "/v1/messages/wait?to=w@example.org&timeout=20s", &w->doc);
	return NULL;
}

/* A pending wait returns the message as soon as SMTP delivers it; stop with a client connected. */
static void test_wait_and_stop(void **state)
{
	struct fixture *f = start(NULL);
	struct waiter w = {f, 0, NULL};
	pthread_t th;
	char buf[256];
	int64_t t0 = sbx_mono_ms();
	int fd;

	(void)state;
	pthread_create(&th, NULL, waiter, &w);
	assert_int_equal(curl_send(f->port, "<other@example.org>", "Subject: no\r\n\r\nx\r\n"), CURLE_OK);
	assert_int_equal(curl_send(f->port, "<w@example.org>", "Subject: yes\r\n\r\nx\r\n"), CURLE_OK);
	pthread_join(th, NULL);
	assert_int_equal(w.status, 200);
	assert_string_equal(json_string_value(json_object_get(w.doc, "subject")), "yes");
	assert_true(sbx_mono_ms() - t0 < 15000);
	json_decref(w.doc);

	fd = raw_connect(f->port, buf, sizeof(buf));
	mock_server_stop(f->srv);
	mail_free(f->mail);
	f->mail = NULL;
	ssize_t n = recv(fd, buf, sizeof(buf) - 1, 0);
	assert_true(n > 0);
	buf[n] = '\0';
	assert_string_equal(buf, "421 4.3.2 Service shutting down\r\n");
	close(fd);
	stop(f);
}

/* Bad options are refused with a message. */
static void test_bad_options(void **state)
{
	static const char *const bad[][2] = {
		{"smtp", "nohost"}, {"smtp-max-size", "0"}, {"smtp-max-line", "10"},
		{"smtp-idle-timeout", "soon"}, {"smtp-auth", "nopass"}, {"tls-cert", "/nonexistent.pem"},
		{"tls-key", "/k.pem"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct mock_opts o;
		struct mock_err e = {{0}};
		mock_opts_defaults(&o);
		mock_kv_add(&o.extra, bad[i][0], bad[i][1]);
		struct mock_server *srv = mock_server_new("mail", &o, &e);
		assert_null(mail_new(srv, &e));
		assert_true(strlen(e.msg) > 0);
		mock_server_free(srv);
		mock_opts_free(&o);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_curl_concurrent),
		cmocka_unit_test(test_mime_views),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_idle_default),
		cmocka_unit_test(test_wait_and_stop),
		cmocka_unit_test(test_bad_options),
	};
	int rc;

	signal(SIGPIPE, SIG_IGN);
	mock_log_access_enable(false);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	curl_global_cleanup();
	return rc;
}
