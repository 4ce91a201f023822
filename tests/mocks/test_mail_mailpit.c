/*
 * The mail mock's Mailpit API (/api/v1, mailpit_api.c): real mails sent over SMTP with libcurl to
 * the mock's listener on an ephemeral loopback port, read back through the HTTP pipeline
 * (mock_server_handle, no socket) in Mailpit's shapes: list order, counts and paging, the full
 * message, raw source, headers and parts, search by each supported term, deletes, the read flag,
 * 404 / 400 / 501 answers and the API key; and the search query reader on its own.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../mocks/mail/mail.h"
#include "../../mocks/mail/mailpit_msg.h"
#include "../../mocks/mail/mailpit_query.h"
#include "mock_store.h"
#include "mime_fixture.h"
#include "mock_kv.h"
#include "mock_log.h"
#include "mock_opts.h"
#include "mock_req.h"
#include "mock_server.h"
#include "mock_util.h"

#include <curl/curl.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct fixture {
	struct mock_opts opts;
	struct mock_server *srv;
	struct mail *mail;
	int port;
};

/* Start a mail mock (api_key: NULL for none) keeping at most max_records (0: the default). */
static struct fixture *start_max(const char *api_key, size_t max_records)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct mock_err e = {{0}};

	mock_opts_defaults(&f->opts);
	f->opts.quiet = true;
	free(f->opts.api_key);
	f->opts.api_key = api_key ? strdup(api_key) : NULL;
	mock_kv_add(&f->opts.extra, "smtp", "127.0.0.1:0");
	if (max_records)
		f->opts.max_records = max_records;
	f->srv = mock_server_new("mail", &f->opts, &e);
	assert_non_null(f->srv);
	f->mail = mail_new(f->srv, &e);
	if (!f->mail)
		fail_msg("mail_new: %s", e.msg);
	f->port = mail_smtp_port(f->mail);
	assert_true(f->port > 0);
	return f;
}

/* Start a mail mock (api_key: NULL for none). */
static struct fixture *start(const char *api_key)
{
	return start_max(api_key, 0);
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

struct reply {
	int status;
	char *body; /* NUL-terminated */
	size_t len;
	json_t *doc; /* parsed when JSON, else NULL */
};

/* Run a request (body may be NULL, header "Name: value" may be NULL) through the pipeline. */
static struct reply req(struct fixture *f, const char *method, const char *path, const char *body,
			const char *header)
{
	struct mock_req *r = mock_req_new(method, path, body, body ? strlen(body) : 0);
	struct mock_resp resp = {0};
	struct reply out = {0};

	if (header) {
		char *name = strndup(header, strcspn(header, ":"));
		mock_req_add_header(r, name, header + strlen(name) + 2);
		free(name);
	}
	mock_server_handle(f->srv, r, &resp);
	out.status = resp.status;
	out.len = resp.body_len;
	out.body = calloc(1, resp.body_len + 1);
	memcpy(out.body, resp.body ? resp.body : "", resp.body_len);
	out.doc = json_loadb(out.body, out.len, 0, NULL);
	mock_resp_clear(&resp);
	mock_req_free(r);
	return out;
}

/* GET path; returns the status and *doc (caller decrefs). */
static int get(struct fixture *f, const char *path, json_t **doc)
{
	struct reply r = req(f, "GET", path, NULL, NULL);

	*doc = r.doc;
	free(r.body);
	return r.status;
}

/* Run a request and return its status only. */
static int status_of(struct fixture *f, const char *method, const char *path, const char *body)
{
	struct reply r = req(f, method, path, body, NULL);

	json_decref(r.doc);
	free(r.body);
	return r.status;
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

/* Send one message over SMTP to the envelope recipient `to`; asserts it was accepted. */
static void send_mail(struct fixture *f, const char *to, const char *msg)
{
	CURL *c = curl_easy_init();
	struct curl_slist *rcpt = curl_slist_append(NULL, to);
	struct upload u = {msg, 0, strlen(msg)};
	char url[64];

	snprintf(url, sizeof(url), "smtp://127.0.0.1:%d", f->port);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_MAIL_FROM, "<envelope@example.org>");
	curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpt);
	curl_easy_setopt(c, CURLOPT_READFUNCTION, upload_read);
	curl_easy_setopt(c, CURLOPT_READDATA, &u);
	curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
	assert_int_equal(curl_easy_perform(c), CURLE_OK);
	curl_slist_free_all(rcpt);
	curl_easy_cleanup(c);
}

/* Send a simple text message with these From, To and Subject headers and body. */
static void send_simple(struct fixture *f, const char *from, const char *to, const char *subject,
			const char *body)
{
	char *msg = mock_xasprintf("From: %s\r\nTo: %s\r\nSubject: %s\r\nMessage-ID: <%s@test>\r\n\r\n%s\r\n",
				   from, to, subject, subject, body);

	send_mail(f, "<rcpt@example.org>", msg);
	free(msg);
}

/* A string member (path "a.b" one level deep) of a JSON object. */
static const char *str_at(const json_t *o, const char *key)
{
	const char *dot = strchr(key, '.');

	if (dot) {
		char *head = strndup(key, (size_t)(dot - key));
		const json_t *inner = json_object_get(o, head);
		free(head);
		return str_at(inner, dot + 1);
	}
	return json_string_value(json_object_get(o, key));
}

/* An integer member of a JSON object (-1 when absent). */
static long long int_at(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);

	return json_is_integer(v) ? (long long)json_integer_value(v) : -1;
}

/* The subject of the i-th summary of a MessagesSummary. */
static const char *subject_at(const json_t *doc, size_t i)
{
	return str_at(json_array_get(json_object_get(doc, "messages"), i), "Subject");
}

/* Assert that a search returns exactly the subjects listed (newest first), NULL-terminated. */
static void expect_search(struct fixture *f, const char *query_path, ...)
{
	json_t *doc;
	va_list ap;
	size_t n = 0;
	char path[512];

	snprintf(path, sizeof(path), "/api/v1/search?query=%s", query_path);
	assert_int_equal(get(f, path, &doc), 200);
	va_start(ap, query_path);
	for (const char *s = va_arg(ap, const char *); s; s = va_arg(ap, const char *), n++) {
		if (!subject_at(doc, n) || strcmp(subject_at(doc, n), s) != 0)
			fail_msg("query %s: result %zu is %s, expected %s", query_path, n,
				 subject_at(doc, n) ? subject_at(doc, n) : "(none)", s);
	}
	va_end(ap);
	if (json_array_size(json_object_get(doc, "messages")) != n)
		fail_msg("query %s: %zu results, expected %zu", query_path,
			 json_array_size(json_object_get(doc, "messages")), n);
	assert_int_equal(int_at(doc, "messages_count"), (long long)n);
	json_decref(doc);
}

/* The list: newest first, counts, paging, and the ids of today's API. */
static void test_list_paging(void **state)
{
	struct fixture *f = start(NULL);
	json_t *doc, *old, *m;
	const char *created;

	(void)state;
	send_simple(f, "a@example.org", "x@example.org", "one", "first");
	send_simple(f, "a@example.org", "x@example.org", "two", "second");
	send_simple(f, "a@example.org", "x@example.org", "three", "third");
	assert_int_equal(get(f, "/api/v1/messages", &doc), 200);
	assert_int_equal(int_at(doc, "total"), 3);
	assert_int_equal(int_at(doc, "unread"), 3);
	assert_int_equal(int_at(doc, "count"), 3);
	assert_int_equal(int_at(doc, "messages_count"), 3);
	assert_int_equal(int_at(doc, "start"), 0);
	assert_true(json_is_array(json_object_get(doc, "tags")));
	assert_string_equal(subject_at(doc, 0), "three");
	assert_string_equal(subject_at(doc, 2), "one");
	m = json_array_get(json_object_get(doc, "messages"), 0);
	assert_string_equal(str_at(m, "MessageID"), "three@test");
	assert_string_equal(str_at(m, "From.Address"), "a@example.org");
	assert_string_equal(str_at(json_array_get(json_object_get(m, "To"), 0), "Address"), "x@example.org");
	assert_false(json_is_true(json_object_get(m, "Read")));
	assert_string_equal(str_at(m, "Snippet"), "third");
	assert_int_equal(int_at(m, "Attachments"), 0);
	assert_true(int_at(m, "Size") > 0);
	created = str_at(m, "Created");
	assert_non_null(created);
	assert_int_equal(strlen(created), 24); /* 2026-12-02T12:24:55.806Z */
	assert_true(created[10] == 'T' && created[23] == 'Z');
	/* the same ids as today's API */
	assert_int_equal(get(f, "/v1/messages", &old), 200);
	assert_string_equal(str_at(m, "ID"), str_at(json_array_get(json_object_get(old, "items"), 0), "id"));
	assert_null(json_object_get(json_array_get(json_object_get(old, "items"), 0), "mailpit"));
	json_decref(old);
	json_decref(doc);

	assert_int_equal(get(f, "/api/v1/messages?start=1&limit=1", &doc), 200);
	assert_int_equal(int_at(doc, "count"), 1);
	assert_int_equal(int_at(doc, "start"), 1);
	assert_int_equal(int_at(doc, "total"), 3);
	assert_string_equal(subject_at(doc, 0), "two");
	json_decref(doc);
	assert_int_equal(get(f, "/api/v1/messages?start=3", &doc), 200);
	assert_int_equal(int_at(doc, "count"), 0);
	json_decref(doc);
	assert_int_equal(get(f, "/api/v1/messages?limit=0", &doc), 200);
	assert_int_equal(int_at(doc, "count"), 3);
	json_decref(doc);
	assert_int_equal(status_of(f, "GET", "/api/v1/messages?start=-1", NULL), 400);
	assert_int_equal(status_of(f, "GET", "/api/v1/messages?limit=ten", NULL), 400);
	assert_int_equal(status_of(f, "GET", "/api/v1/messages?page=2", NULL), 400);
	stop(f);
}

/* Assert a MessagesSummary's counts: total, unread, messages_count, messages_unread, count. */
static void expect_counts(struct fixture *f, const char *path, long long total, long long unread,
			  long long matched, long long munread, long long count)
{
	json_t *doc;

	assert_int_equal(get(f, path, &doc), 200);
	if (int_at(doc, "total") != total || int_at(doc, "unread") != unread ||
	    int_at(doc, "messages_count") != matched || int_at(doc, "messages_unread") != munread ||
	    int_at(doc, "count") != count)
		fail_msg("%s: total %lld unread %lld messages_count %lld messages_unread %lld count %lld, "
			 "expected %lld %lld %lld %lld %lld", path, int_at(doc, "total"),
			 int_at(doc, "unread"), int_at(doc, "messages_count"),
			 int_at(doc, "messages_unread"), int_at(doc, "count"), total, unread, matched,
			 munread, count);
	json_decref(doc);
}

/* The ID of the i-th newest message. */
static char *id_at(struct fixture *f, size_t i)
{
	json_t *doc;
	char *id;

	assert_int_equal(get(f, "/api/v1/messages?limit=0", &doc), 200);
	id = strdup(str_at(json_array_get(json_object_get(doc, "messages"), i), "ID"));
	json_decref(doc);
	return id;
}

/* Counts and pages stay right as messages are read, deleted and evicted (--max-records 5). */
static void test_counts(void **state)
{
	struct fixture *f;
	char path[128], body[128], subj[32], *id;
	json_t *doc;

	(void)state;
	f = start_max(NULL, 5);
	for (int i = 0; i < 4; i++) {
		snprintf(subj, sizeof(subj), "m%d%s", i, i % 2 ? " odd" : "");
		send_simple(f, "a@example.org", "x@example.org", subj, "x");
	}
	expect_counts(f, "/api/v1/messages", 4, 4, 4, 4, 4);
	expect_counts(f, "/api/v1/messages?limit=1", 4, 4, 4, 4, 1);
	expect_counts(f, "/api/v1/search?query=odd", 4, 4, 2, 2, 2);
	/* read m3 (newest) and m0 (oldest) */
	for (size_t i = 0; i < 4; i += 3) {
		id = id_at(f, i);
		snprintf(path, sizeof(path), "/api/v1/message/%s", id);
		assert_int_equal(status_of(f, "GET", path, NULL), 200);
		free(id);
	}
	expect_counts(f, "/api/v1/messages", 4, 2, 4, 2, 4);
	expect_counts(f, "/api/v1/messages?start=3", 4, 2, 4, 2, 1);
	expect_counts(f, "/api/v1/search?query=odd", 4, 2, 2, 1, 2);
	expect_counts(f, "/api/v1/search?query=is:unread", 4, 2, 2, 2, 2);
	expect_search(f, "is:read", "m3 odd", "m0", NULL);
	/* delete m2 (unread) */
	id = id_at(f, 1);
	snprintf(body, sizeof(body), "{\"IDs\": [\"%s\"]}", id);
	free(id);
	assert_int_equal(status_of(f, "DELETE", "/api/v1/messages", body), 200);
	expect_counts(f, "/api/v1/messages", 3, 1, 3, 1, 3);
	expect_search(f, "is:unread", "m1 odd", NULL);
	/* m4, m5, then m6 evicts m0 (read) and m7 evicts m1 (unread) */
	send_simple(f, "a@example.org", "x@example.org", "m4", "x");
	send_simple(f, "a@example.org", "x@example.org", "m5", "x");
	expect_counts(f, "/api/v1/messages", 5, 3, 5, 3, 5);
	send_simple(f, "a@example.org", "x@example.org", "m6", "x");
	expect_counts(f, "/api/v1/messages", 5, 4, 5, 4, 5);
	expect_search(f, "is:read", "m3 odd", NULL);
	send_simple(f, "a@example.org", "x@example.org", "m7", "x");
	expect_counts(f, "/api/v1/messages", 5, 4, 5, 4, 5);
	expect_counts(f, "/api/v1/messages?start=1&limit=2", 5, 4, 5, 4, 2);
	expect_counts(f, "/api/v1/search?query=odd", 5, 4, 1, 0, 1);
	expect_search(f, "is:unread", "m7", "m6", "m5", "m4", NULL);
	assert_int_equal(get(f, "/api/v1/messages?start=4", &doc), 200);
	assert_string_equal(subject_at(doc, 0), "m3 odd");
	json_decref(doc);
	/* today's API: the same total, newest first, paged */
	assert_int_equal(get(f, "/v1/messages?limit=2&offset=1", &doc), 200);
	assert_int_equal(int_at(doc, "total"), 5);
	assert_int_equal(json_array_size(json_object_get(doc, "items")), 2);
	assert_string_equal(str_at(json_array_get(json_object_get(doc, "items"), 0), "subject"), "m6");
	json_decref(doc);
	stop(f);
}

static const char full_msg[] =
	"From: \"Alice A\" <alice@example.org>\r\n"
	"To: \"Bob B\" <bob@example.org>, carol@example.org\r\n"
	"Cc: dave@example.org\r\n"
	"Reply-To: replies@example.org\r\n"
	"Subject: Invoice 42\r\n"
	"Date: Wed, 02 Dec 2026 13:04:05 +0100\r\n"
	"Message-ID: <inv42@example.org>\r\n"
	"List-Unsubscribe: <mailto:unsub@example.org>, <https://example.org/u>\r\n"
	"Content-Type: multipart/mixed; boundary=mix\r\n\r\n"
	"--mix\r\nContent-Type: multipart/related; boundary=rel\r\n\r\n"
	"--rel\r\nContent-Type: multipart/alternative; boundary=alt\r\n\r\n"
	"--alt\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nYour invoice is attached.\r\n"
	"--alt\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
	"<html><style>p{}</style><p>Your <b>invoice</b> is attached.</p><img src=\"cid:logo\"></html>\r\n"
	"--alt--\r\n"
	"--rel\r\nContent-Type: image/png\r\nContent-ID: <logo>\r\nContent-Transfer-Encoding: base64\r\n\r\n"
	"iVBORw0KGgo=\r\n"
	"--rel--\r\n"
	"--mix\r\nContent-Type: application/pdf\r\n"
	"Content-Disposition: attachment; filename=\"invoice-42.pdf\"\r\n"
	"Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n"
	"--mix--\r\n";

/* The full message, latest, raw, headers and parts; read flags; 404s. */
static void test_message(void **state)
{
	struct fixture *f = start(NULL);
	json_t *doc, *att, *inl;
	char path[160], id[64];
	struct reply r;

	(void)state;
	send_mail(f, "<bob@example.org>", full_msg);
	send_mail(f, "<bob@example.org>", mime_fixture);
	assert_int_equal(get(f, "/api/v1/search?query=subject:invoice", &doc), 200);
	snprintf(id, sizeof(id), "%s", str_at(json_array_get(json_object_get(doc, "messages"), 0), "ID"));
	assert_int_equal(int_at(json_array_get(json_object_get(doc, "messages"), 0), "Attachments"), 1);
	assert_string_equal(str_at(json_array_get(json_object_get(doc, "messages"), 0), "Snippet"),
			    "Your invoice is attached.");
	json_decref(doc);

	snprintf(path, sizeof(path), "/api/v1/message/%s", id);
	assert_int_equal(get(f, path, &doc), 200);
	assert_string_equal(str_at(doc, "ID"), id);
	assert_string_equal(str_at(doc, "MessageID"), "inv42@example.org");
	assert_string_equal(str_at(doc, "From.Name"), "Alice A");
	assert_string_equal(str_at(doc, "From.Address"), "alice@example.org");
	assert_int_equal(json_array_size(json_object_get(doc, "To")), 2);
	assert_string_equal(str_at(json_array_get(json_object_get(doc, "To"), 0), "Name"), "Bob B");
	assert_string_equal(str_at(json_array_get(json_object_get(doc, "To"), 1), "Address"), "carol@example.org");
	assert_string_equal(str_at(json_array_get(json_object_get(doc, "Cc"), 0), "Address"), "dave@example.org");
	assert_int_equal(json_array_size(json_object_get(doc, "Bcc")), 0);
	assert_string_equal(str_at(json_array_get(json_object_get(doc, "ReplyTo"), 0), "Address"), "replies@example.org");
	assert_string_equal(str_at(doc, "ReturnPath"), "envelope@example.org");
	assert_string_equal(str_at(doc, "Subject"), "Invoice 42");
	assert_string_equal(str_at(doc, "Date"), "2026-12-02T13:04:05+01:00");
	assert_string_equal(str_at(doc, "Text"), "Your invoice is attached.");
	assert_non_null(strstr(str_at(doc, "HTML"), "<p>Your <b>invoice</b> is attached.</p>"));
	assert_string_equal(str_at(doc, "ListUnsubscribe.Header"), "<mailto:unsub@example.org>, <https://example.org/u>");
	assert_string_equal(json_string_value(json_array_get(json_object_get(json_object_get(doc, "ListUnsubscribe"), "Links"), 1)),
			    "https://example.org/u");
	att = json_object_get(doc, "Attachments");
	assert_int_equal(json_array_size(att), 1);
	assert_string_equal(str_at(json_array_get(att, 0), "FileName"), "invoice-42.pdf");
	assert_string_equal(str_at(json_array_get(att, 0), "ContentType"), "application/pdf");
	assert_int_equal(int_at(json_array_get(att, 0), "Size"), 9); /* "%PDF-1.4\n" */
	assert_string_equal(str_at(json_array_get(att, 0), "Checksums.SHA256"),
			    "e5c62df5dab5c87b6a015ef3d43597074d1eec433b15f51aec63b8582d0e4ab4");
	inl = json_object_get(doc, "Inline");
	assert_int_equal(json_array_size(inl), 1);
	assert_string_equal(str_at(json_array_get(inl, 0), "ContentID"), "logo");
	assert_string_equal(str_at(json_array_get(inl, 0), "FileName"), "logo");
	assert_string_equal(str_at(json_array_get(inl, 0), "ContentType"), "image/png");
	snprintf(path, sizeof(path), "/api/v1/message/%s/part/%s", id, str_at(json_array_get(att, 0), "PartID"));
	json_decref(doc);
	r = req(f, "GET", path, NULL, NULL);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.len, 9);
	assert_memory_equal(r.body, "%PDF-1.4\n", 9);
	json_decref(r.doc);
	free(r.body);
	snprintf(path, sizeof(path), "/api/v1/message/%s/part/0", id); /* the text, not an attachment */
	assert_int_equal(status_of(f, "GET", path, NULL), 404);
	snprintf(path, sizeof(path), "/api/v1/message/%s/part/x", id);
	assert_int_equal(status_of(f, "GET", path, NULL), 404);

	/* reading it marked it read */
	assert_int_equal(get(f, "/api/v1/messages", &doc), 200);
	assert_int_equal(int_at(doc, "unread"), 1);
	assert_true(json_is_true(json_object_get(json_array_get(json_object_get(doc, "messages"), 1), "Read")));
	assert_false(json_is_true(json_object_get(json_array_get(json_object_get(doc, "messages"), 0), "Read")));
	json_decref(doc);
	expect_search(f, "is:read", "Invoice 42", NULL);
	expect_search(f, "is:unread", "R\xc3\xa9sum\xc3\xa9 du mois", NULL);

	/* raw: the bytes sent */
	snprintf(path, sizeof(path), "/api/v1/message/%s/raw", id);
	r = req(f, "GET", path, NULL, NULL);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.len, strlen(full_msg));
	assert_memory_equal(r.body, full_msg, r.len);
	json_decref(r.doc);
	free(r.body);

	/* headers: canonical names in order, values as written */
	snprintf(path, sizeof(path), "/api/v1/message/%s/headers", id);
	assert_int_equal(get(f, path, &doc), 200);
	assert_string_equal(json_string_value(json_array_get(json_object_get(doc, "Message-Id"), 0)), "<inv42@example.org>");
	assert_string_equal(json_string_value(json_array_get(json_object_get(doc, "Reply-To"), 0)), "replies@example.org");
	assert_string_equal(json_object_iter_key(json_object_iter(doc)), "Cc");
	json_decref(doc);

	/* latest: the newest (the RFC 2047 fixture), with decoded names */
	assert_int_equal(get(f, "/api/v1/message/latest", &doc), 200);
	assert_string_equal(str_at(doc, "Subject"), "R\xc3\xa9sum\xc3\xa9 du mois");
	assert_string_equal(str_at(doc, "From.Name"), "Zo\xc3\xab");
	assert_string_equal(str_at(doc, "Text"), "\xc3\xa9t\xc3\xa9");
	assert_string_equal(str_at(json_array_get(json_object_get(doc, "Attachments"), 0), "FileName"), "r\xc3\xa9ponse.eml");
	json_decref(doc);
	assert_int_equal(get(f, "/api/v1/message/latest?query=invoice", &doc), 200);
	assert_string_equal(str_at(doc, "ID"), id);
	json_decref(doc);
	assert_int_equal(get(f, "/api/v1/message/latest/raw", &doc), 200);
	json_decref(doc);

	assert_int_equal(status_of(f, "GET", "/api/v1/message/msg_nope", NULL), 404);
	assert_int_equal(status_of(f, "GET", "/api/v1/message/msg_nope/raw", NULL), 404);
	assert_int_equal(status_of(f, "GET", "/api/v1/message/msg_nope/headers", NULL), 404);
	assert_int_equal(status_of(f, "GET", "/api/v1/message/latest?query=nomatchanywhere", NULL), 404);
	assert_int_equal(status_of(f, "GET", "/api/v1/message/latest?query=%22open", NULL), 400);
	assert_int_equal(status_of(f, "DELETE", "/api/v1/messages", NULL), 200);
	assert_int_equal(status_of(f, "GET", "/api/v1/message/latest", NULL), 404);
	stop(f);
}

/* Search: each supported term, phrases, negation, paging; malformed and unsupported queries. */
static void test_search(void **state)
{
	struct fixture *f = start(NULL);
	json_t *doc;

	(void)state;
	send_simple(f, "\"Ann Smith\" <ann@shop.example>", "bob@example.org", "Order shipped",
		    "Your parcel left the warehouse today.");
	send_simple(f, "noreply@bank.example", "carol@example.org", "Statement ready",
		    "The warehouse parcel count is 3.");
	send_simple(f, "ann@shop.example", "carol@example.org", "Password reset",
		    "Click to reset your password.");
	send_mail(f, "<dave@example.org>", full_msg);

	expect_search(f, "warehouse", "Statement ready", "Order shipped", NULL);
	expect_search(f, "WAREHOUSE%20parcel", "Statement ready", "Order shipped", NULL);
	expect_search(f, "%22parcel%20left%22", "Order shipped", NULL);       /* quoted phrase */
	expect_search(f, "%22left%20parcel%22", NULL);
	expect_search(f, "shipped", "Order shipped", NULL);                   /* a subject word */
	expect_search(f, "ann@shop", "Password reset", "Order shipped", NULL); /* an address */
	expect_search(f, "smith", "Order shipped", NULL);                     /* a name */
	expect_search(f, "to:carol", "Invoice 42", "Password reset", "Statement ready", NULL);
	expect_search(f, "to:%22Bob%20B%22", "Invoice 42", NULL);
	expect_search(f, "from:ann@shop.example", "Password reset", "Order shipped", NULL);
	expect_search(f, "FROM:bank", "Statement ready", NULL);
	expect_search(f, "subject:reset", "Password reset", NULL);
	expect_search(f, "subject:%22order%20shipped%22", "Order shipped", NULL);
	expect_search(f, "cc:dave", "Invoice 42", NULL);
	expect_search(f, "reply-to:replies", "Invoice 42", NULL);
	expect_search(f, "addressed:dave", "Invoice 42", NULL);
	expect_search(f, "message-id:inv42", "Invoice 42", NULL);
	expect_search(f, "invoice-42.pdf", "Invoice 42", NULL);               /* a file name */
	expect_search(f, "has:attachment", "Invoice 42", NULL);
	expect_search(f, "has:inline", "Invoice 42", NULL);
	expect_search(f, "larger:600", "Invoice 42", NULL);
	expect_search(f, "-has:attachment%20smaller:0.5kb%20to:carol", "Password reset", "Statement ready", NULL);
	expect_search(f, "from:ann%20-subject:reset", "Order shipped", NULL);
	expect_search(f, "from:ann+-subject:reset", "Order shipped", NULL);   /* '+' is a space */
	expect_search(f, "%22parcel+left%22", "Order shipped", NULL);
	expect_search(f, "!warehouse%20!invoice", "Password reset", NULL);
	expect_search(f, "to:", "Invoice 42", "Password reset", "Statement ready", "Order shipped", NULL);
	expect_search(f, "nothing-like-this", NULL);

	assert_int_equal(get(f, "/api/v1/search?query=to:carol&start=1&limit=1", &doc), 200);
	assert_int_equal(int_at(doc, "messages_count"), 3);
	assert_int_equal(int_at(doc, "count"), 1);
	assert_int_equal(int_at(doc, "start"), 1);
	assert_int_equal(int_at(doc, "total"), 4);
	assert_int_equal(int_at(doc, "messages_unread"), 3);
	assert_string_equal(subject_at(doc, 0), "Password reset");
	json_decref(doc);

	assert_int_equal(status_of(f, "GET", "/api/v1/search", NULL), 400);
	assert_int_equal(status_of(f, "GET", "/api/v1/search?query=", NULL), 400);
	assert_int_equal(status_of(f, "GET", "/api/v1/search?query=%20%20", NULL), 400);
	assert_int_equal(status_of(f, "GET", "/api/v1/search?query=subject:%22open", NULL), 400);
	assert_int_equal(status_of(f, "GET", "/api/v1/search?query=x&limit=-2", NULL), 400);
	assert_int_equal(status_of(f, "GET", "/api/v1/search?query=x&sort=asc", NULL), 400);
	assert_int_equal(status_of(f, "GET", "/api/v1/search?query=tag:urgent", NULL), 501);
	assert_int_equal(status_of(f, "GET", "/api/v1/search?query=before:2026-01-01", NULL), 501);
	assert_int_equal(status_of(f, "GET", "/api/v1/search?query=is:tagged", NULL), 501);
	stop(f);
}

/* q with every byte but letters and digits as %XX (a query string value). */
static char *url_encode(const char *q)
{
	char *out = calloc(1, 3 * strlen(q) + 1), *p = out;

	for (; *q; q++) {
		if (isalnum((unsigned char)*q))
			*p++ = *q;
		else
			p += snprintf(p, 4, "%%%02X", (unsigned char)*q);
	}
	return out;
}

/* How many commas s has (the ids of a list). */
static long long commas(const char *s)
{
	long long n = 0;

	for (; *s; s++)
		n += *s == ',';
	return n;
}

/*
 * The ids of the records matching query, newest first, as the store's match function finds them
 * parsing each record (what every search did before the store's index), "," after each.
 */
static char *reference_ids(struct fixture *f, const char *query)
{
	struct mock_err e = {{0}};
	struct mock_store *st = mock_server_store(f->srv, "messages", &e);
	struct mock_kvlist filter = {0};
	size_t total, i;
	json_t *all = mock_store_list(st, NULL, 0, SIZE_MAX, &total), *rec;
	char *ids = strdup(""), *next;

	mock_kv_add(&filter, MAILPIT_FILTER_QUERY, query);
	json_array_foreach(all, i, rec) {
		if (!mailpit_msg_match(rec, &filter, NULL))
			continue;
		next = mock_xasprintf("%s%s,", ids, str_at(rec, "id"));
		free(ids);
		ids = next;
	}
	mock_kv_free(&filter);
	json_decref(all);
	return ids;
}

/* The ids /api/v1/search answers for query (all of them), "," after each; *count: messages_count. */
static char *search_ids(struct fixture *f, const char *query, long long *count)
{
	char *enc = url_encode(query), *path = mock_xasprintf("/api/v1/search?query=%s&limit=0", enc);
	char *ids = strdup(""), *next;
	json_t *doc, *m;
	size_t i;

	assert_int_equal(get(f, path, &doc), 200);
	json_array_foreach(json_object_get(doc, "messages"), i, m) {
		next = mock_xasprintf("%s%s,", ids, str_at(m, "ID"));
		free(ids);
		ids = next;
	}
	*count = int_at(doc, "messages_count");
	json_decref(doc);
	free(path);
	free(enc);
	return ids;
}

/*
 * A search over many mails answers what parsing every record answered: the index decides the
 * header terms, plain words found in the subject, names or addresses, sizes and flags; a word not
 * there (perhaps in the body) falls back to the record.
 */
static void test_search_index(void **state)
{
	static const char *const froms[] = {"\"Ann Smith\" <ann@shop.example>", "noreply@bank.example",
					    "\"Carol Parcel\" <carol@post.example>", "dave@example.org"};
	static const char *const tos[] = {"bob@example.org", "carol@example.org",
					  "\"Bob B\" <bob@b.example>, eve@example.org"};
	static const char *const bodies[] = {"Your parcel left the warehouse.", "Nothing to see.",
					     "carol said hello to ann", "Statement 12 is ready."};
	static const char *const queries[] = {
		"to:carol", "from:ann", "FROM:bank", "subject:statement", "subject:\"order 1\"",
		"carol", "ann", "warehouse", "parcel", "-carol", "!warehouse", "from:bank -warehouse",
		"\"ann smith\"", "\"parcel left\"", "hello carol", "statement 12", "-parcel -bank",
		"is:read", "is:unread", "is:read carol", "has:attachment", "-has:attachment to:bob",
		"larger:600", "smaller:0.3kb", "addressed:eve", "cc:dave", "reply-to:replies",
		"message-id:inv42", "message-id:order", "invoice-42.pdf", "nothing-like-this", "to:",
		"subject:reset -to:carol ann", "eve@example.org", "b.example",
	};
	struct fixture *f = start(NULL);
	long long count;
	char subject[64], *ids, *want, path[128];
	int n = 0;

	(void)state;
	for (int i = 0; i < 120; i++, n++) {
		if (i % 15 == 7) {
			send_mail(f, "<dave@example.org>", full_msg);
			continue;
		}
		snprintf(subject, sizeof(subject), "%s %d", i % 3 ? (i % 3 == 1 ? "Order" : "Statement") : "Reset", i);
		send_simple(f, froms[i % 4], tos[i % 3], subject, bodies[(i / 2) % 4]);
	}
	for (int i = 0; i < n; i += 7) { /* read some */
		char *id = id_at(f, (size_t)i);
		snprintf(path, sizeof(path), "/api/v1/message/%s", id);
		assert_int_equal(status_of(f, "GET", path, NULL), 200);
		free(id);
	}
	for (size_t i = 0; i < MOCK_NELEM(queries); i++) {
		want = reference_ids(f, queries[i]);
		ids = search_ids(f, queries[i], &count);
		if (strcmp(ids, want) != 0)
			fail_msg("query %s: the search answered %s, parsing every record %s", queries[i], ids, want);
		assert_int_equal(count, commas(ids));
		free(ids);
		free(want);
	}
	stop(f);
}

/* Deletes: by IDs, by search, all; malformed bodies change nothing. */
static void test_delete(void **state)
{
	struct fixture *f = start(NULL);
	json_t *doc;
	char body[256];

	(void)state;
	send_simple(f, "a@example.org", "b@example.org", "keep me", "x");
	send_simple(f, "a@example.org", "b@example.org", "drop me", "x");
	send_simple(f, "a@example.org", "b@example.org", "search drop", "x");
	send_simple(f, "a@example.org", "b@example.org", "search drop too", "x");
	assert_int_equal(get(f, "/api/v1/search?query=subject:%22drop%20me%22", &doc), 200);
	snprintf(body, sizeof(body), "{\"IDs\": [\"%s\", \"msg_unknown\"]}",
		 str_at(json_array_get(json_object_get(doc, "messages"), 0), "ID"));
	json_decref(doc);

	assert_int_equal(status_of(f, "DELETE", "/api/v1/messages", "{\"IDs\": [1]}"), 400);
	assert_int_equal(status_of(f, "DELETE", "/api/v1/messages", "{\"IDs\": \"all\"}"), 400);
	assert_int_equal(status_of(f, "DELETE", "/api/v1/messages", "{\"IDs\": ["), 400);
	assert_int_equal(status_of(f, "DELETE", "/api/v1/messages", "[]"), 400);
	assert_int_equal(status_of(f, "DELETE", "/api/v1/messages?all=1", NULL), 400);
	assert_int_equal(status_of(f, "DELETE", "/api/v1/search", NULL), 400);
	assert_int_equal(status_of(f, "DELETE", "/api/v1/search?query=tag:x", NULL), 501);
	expect_search(f, "subject:me", "drop me", "keep me", NULL);
	assert_int_equal(get(f, "/api/v1/messages", &doc), 200);
	assert_int_equal(int_at(doc, "total"), 4);
	json_decref(doc);

	assert_int_equal(status_of(f, "DELETE", "/api/v1/messages", body), 200);
	expect_search(f, "subject:me", "keep me", NULL);
	assert_int_equal(status_of(f, "DELETE", "/api/v1/search?query=subject:search", NULL), 200);
	assert_int_equal(get(f, "/api/v1/messages", &doc), 200);
	assert_int_equal(int_at(doc, "total"), 1);
	assert_string_equal(subject_at(doc, 0), "keep me");
	json_decref(doc);
	assert_int_equal(status_of(f, "DELETE", "/api/v1/messages", "{\"IDs\": []}"), 200);
	assert_int_equal(get(f, "/api/v1/messages", &doc), 200);
	assert_int_equal(int_at(doc, "total"), 0);
	assert_int_equal(json_array_size(json_object_get(doc, "messages")), 0);
	json_decref(doc);
	stop(f);
}

/* Other /api/v1/ routes answer 501 naming them; the API key guards the new routes too. */
static void test_unsupported_and_auth(void **state)
{
	struct fixture *f = start("k3y");
	struct reply r;

	(void)state;
	r = req(f, "GET", "/api/v1/info", NULL, "X-Api-Key: k3y");
	assert_int_equal(r.status, 501);
	assert_string_equal(str_at(r.doc, "error.code"), "not_implemented");
	assert_non_null(strstr(str_at(r.doc, "error.message"), "GET /api/v1/info"));
	json_decref(r.doc);
	free(r.body);
	r = req(f, "PUT", "/api/v1/messages", "{\"Read\": true}", "X-Api-Key: k3y");
	assert_int_equal(r.status, 501);
	assert_non_null(strstr(str_at(r.doc, "error.message"), "PUT /api/v1/messages"));
	json_decref(r.doc);
	free(r.body);
	r = req(f, "POST", "/api/v1/send", "{}", "Authorization: Bearer k3y");
	assert_int_equal(r.status, 501);
	json_decref(r.doc);
	free(r.body);
	r = req(f, "GET", "/api/v1/message/latest/html-check", NULL, "X-Api-Key: k3y");
	assert_int_equal(r.status, 501);
	json_decref(r.doc);
	free(r.body);

	assert_int_equal(status_of(f, "GET", "/api/v1/messages", NULL), 401);
	assert_int_equal(status_of(f, "GET", "/api/v1/info", NULL), 401);
	r = req(f, "GET", "/api/v1/messages", NULL, "X-Api-Key: wrong");
	assert_int_equal(r.status, 401);
	json_decref(r.doc);
	free(r.body);
	r = req(f, "GET", "/api/v1/messages", NULL, "Authorization: Bearer k3y");
	assert_int_equal(r.status, 200);
	assert_int_equal(int_at(r.doc, "total"), 0);
	json_decref(r.doc);
	free(r.body);
	stop(f);
}

/* The query reader on its own: terms, sizes, ignored terms, errors. */
static void test_query_reader(void **state)
{
	json_t *ix = json_pack("{s:s,s:{s:s,s:s},s:[{s:s,s:s}],s:[],s:[],s:[],s:s,s:s,s:i,s:i}",
			       "Subject", "Hello World", "From", "Name", "Ann", "Address", "ann@x.org",
			       "To", "Name", "", "Address", "bob+tag@y.org", "Cc", "Bcc", "ReplyTo",
			       "MessageID", "id1@x", "search", "hello world ann bob the body", "Attachments", 0,
			       "Inline", 0);
	static const struct {
		const char *q;
		json_int_t size;
		bool read, match;
	} cases[] = {
		{"hello", 10, false, true}, {"HELLO   world", 10, false, true},
		{"\"world hello\"", 10, false, false}, {"to:bob+tag", 10, false, true},
		{"to:ann", 10, false, false}, {"from:ANN", 10, false, true},
		{"larger:2k", 3000, false, true}, {"larger:2k", 2048, false, false},
		{"smaller:1.5k", 1535, false, true}, {"larger:2x", 3000, false, false}, /* text "larger:2x" */
		{"is:read", 1, true, true}, {"-is:read", 1, true, false}, {"!is:unread", 1, true, true},
		{"--", 1, false, true}, {"\"\"", 1, false, true}, {"subject:", 1, false, true},
		{"message-id:ID1", 1, false, true}, {"has:attachments", 1, false, false},
		{"foo:bar", 1, false, false}, {"-", 1, false, true},
	};
	struct mailpit_query *q;
	struct mock_err e = {{0}};
	char many[1024] = "";

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		q = NULL;
		if (mailpit_query_parse(cases[i].q, &q, &e) != MAILPIT_QUERY_OK)
			fail_msg("%s: %s", cases[i].q, e.msg);
		if (mailpit_query_match(q, ix, cases[i].size, cases[i].read) != cases[i].match)
			fail_msg("%s: expected %s", cases[i].q, cases[i].match ? "a match" : "no match");
		mailpit_query_free(q);
	}
	q = NULL;
	assert_int_equal(mailpit_query_parse("", &q, &e), MAILPIT_QUERY_BAD);
	assert_int_equal(mailpit_query_parse(NULL, &q, &e), MAILPIT_QUERY_BAD);
	assert_int_equal(mailpit_query_parse("a \"b", &q, &e), MAILPIT_QUERY_BAD);
	assert_non_null(strstr(e.msg, "quote"));
	assert_int_equal(mailpit_query_parse("a after:2026-01-01", &q, &e), MAILPIT_QUERY_UNSUPPORTED);
	assert_non_null(strstr(e.msg, "after:2026-01-01"));
	for (int i = 0; i <= MAILPIT_QUERY_MAX_TERMS; i++)
		strcat(many, "w ");
	assert_int_equal(mailpit_query_parse(many, &q, &e), MAILPIT_QUERY_BAD);
	assert_null(q);
	json_decref(ix);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_list_paging),
		cmocka_unit_test(test_counts),
		cmocka_unit_test(test_message),
		cmocka_unit_test(test_search),
		cmocka_unit_test(test_search_index),
		cmocka_unit_test(test_delete),
		cmocka_unit_test(test_unsupported_and_auth),
		cmocka_unit_test(test_query_reader),
	};

	mock_log_access_enable(false);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	curl_global_cleanup();
	return rc;
}
