/* mailpit_api — Mailpit's message inspection API (/api/v1) over the mail mock's store. */
#include "mailpit_api.h"

#include "buf.h"
#include "mail_msg.h"
#include "mailpit_msg.h"
#include "mailpit_query.h"
#include "mock_kv.h"
#include "mock_req.h"
#include "mock_server.h"
#include "mock_store.h"
#include "mock_util.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define COVERED "GET|DELETE /api/v1/messages, GET|DELETE /api/v1/search, " \
		"GET /api/v1/message/{ID}[/raw|/headers|/part/{PartID}]"

/*
 * The query of a request read as Mailpit's Go server reads it ('+' is a space: what
 * URLSearchParams sends) into q, and 0; or -1 after a 400 when a key is not one of `known`
 * (NULL-terminated). Free q either way.
 */
static int form_read(const struct mock_req *req, const char *const *known, struct mock_kvlist *q,
		     struct mock_resp *resp)
{
	mock_req_parse_form(q, req->raw_query);
	for (size_t i = 0; i < q->n; i++) {
		size_t j = 0;
		while (known[j] && strcmp(known[j], q->v[i].key) != 0)
			j++;
		if (!known[j]) {
			mock_resp_error(resp, 400, "invalid_query", "unknown query parameter \"%s\"",
					q->v[i].key);
			return -1;
		}
	}
	return 0;
}

/* A query value (NULL when absent). */
static const char *qget(const struct mock_kvlist *q, const char *key)
{
	return mock_kv_get(q, key, false);
}

/* Read start and limit (Mailpit's paging: limit 0 = all, default 50). 0 / -1 after a 400. */
static int paging(const struct mock_kvlist *q, size_t *start, size_t *limit, struct mock_resp *resp)
{
	const char *s = qget(q, "start"), *l = qget(q, "limit");
	int64_t v = 0;

	*start = 0;
	*limit = 50;
	if (s && mock_parse_int(s, 0, INT32_MAX, &v) < 0) {
		mock_resp_error(resp, 400, "invalid_query", "start must be an integer between 0 and %d", INT32_MAX);
		return -1;
	}
	*start = (size_t)v;
	if (l && mock_parse_int(l, 0, INT32_MAX, &v) < 0) {
		mock_resp_error(resp, 400, "invalid_query", "limit must be an integer between 0 and %d", INT32_MAX);
		return -1;
	}
	if (l)
		*limit = v ? (size_t)v : SIZE_MAX;
	return 0;
}

/* Check ?query= (400 when malformed, 501 when a term is not supported). 0 / -1. */
static int query_check(const char *query, struct mock_resp *resp)
{
	struct mailpit_query *q = NULL;
	struct mock_err e = {{0}};
	enum mailpit_query_rc rc = mailpit_query_parse(query, &q, &e);

	mailpit_query_free(q);
	if (rc == MAILPIT_QUERY_UNSUPPORTED)
		mock_resp_error(resp, 501, "not_implemented", "%s", e.msg);
	else if (rc != MAILPIT_QUERY_OK)
		mock_resp_error(resp, 400, "invalid_query", "%s", e.msg);
	return rc == MAILPIT_QUERY_OK ? 0 : -1;
}

/*
 * Respond with Mailpit's MessagesSummary of the records matching f: the page and its counts
 * come from one pass (parsing every record only when f has a filter), the counts of all messages
 * from the records' tags (the same pass without a filter; no record parsed).
 */
static void summary_respond(struct mock_store *st, const struct mock_kvlist *f, size_t start,
			    size_t limit, struct mock_resp *resp)
{
	size_t total, unread, matched, munread, i;
	json_t *items, *msgs = json_array(), *rec;

	items = mock_store_list_tagged(st, f, start, limit, MAILPIT_TAG_UNREAD, &matched, &munread);
	total = matched;
	unread = munread;
	if (f->n > 0)
		json_decref(mock_store_list_tagged(st, NULL, 0, 0, MAILPIT_TAG_UNREAD, &total, &unread));
	json_array_foreach(items, i, rec)
		json_array_append_new(msgs, mailpit_msg_summary(rec));
	json_decref(items);
	mock_resp_json(resp, 200, json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:[],s:o}",
		"total", (json_int_t)total, "unread", (json_int_t)unread,
		"count", (json_int_t)json_array_size(msgs), "messages_count", (json_int_t)matched,
		"messages_unread", (json_int_t)munread, "start", (json_int_t)start,
		"tags", "messages", msgs));
}

/* GET /api/v1/messages. */
static void h_list(const struct mock_req *req, struct mock_resp *resp, void *arg)
{
	static const char *const known[] = {"start", "limit", "tz", NULL};
	struct mock_kvlist f = {0}, q = {0};
	size_t start, limit;

	if (form_read(req, known, &q, resp) == 0 && paging(&q, &start, &limit, resp) == 0)
		summary_respond(arg, &f, start, limit, resp);
	mock_kv_free(&q);
}

/* GET /api/v1/search. */
static void h_search(const struct mock_req *req, struct mock_resp *resp, void *arg)
{
	static const char *const known[] = {"query", "start", "limit", "tz", NULL};
	struct mock_kvlist f = {0}, q = {0};
	size_t start, limit;

	if (form_read(req, known, &q, resp) == 0 && paging(&q, &start, &limit, resp) == 0 &&
	    query_check(qget(&q, "query"), resp) == 0) {
		mock_kv_add(&f, MAILPIT_FILTER_QUERY, qget(&q, "query"));
		summary_respond(arg, &f, start, limit, resp);
	}
	mock_kv_free(&f);
	mock_kv_free(&q);
}

/* Delete the records matching f; returns how many. */
static size_t delete_matching(struct mock_store *st, const struct mock_kvlist *f)
{
	size_t total, i, n = 0;
	json_t *items = mock_store_list(st, f, 0, SIZE_MAX, &total), *rec;

	json_array_foreach(items, i, rec)
		n += mock_store_del(st, json_string_value(json_object_get(rec, "id"))) == 0;
	json_decref(items);
	return n;
}

/* DELETE /api/v1/search. */
static void h_search_delete(const struct mock_req *req, struct mock_resp *resp, void *arg)
{
	static const char *const known[] = {"query", "tz", NULL};
	struct mock_kvlist f = {0}, q = {0};

	if (form_read(req, known, &q, resp) == 0 && query_check(qget(&q, "query"), resp) == 0) {
		mock_kv_add(&f, MAILPIT_FILTER_QUERY, qget(&q, "query"));
		delete_matching(arg, &f);
		mock_resp_text(resp, 200, "text/plain", "ok");
	}
	mock_kv_free(&f);
	mock_kv_free(&q);
}

/* The IDs array of a DELETE body: NULL (and 0) for all messages, or -1 after a 400. */
static int ids_read(const struct mock_req *req, json_t **doc, json_t **ids, struct mock_resp *resp)
{
	const char *key;
	json_t *v, *e;
	size_t i;

	*doc = *ids = NULL;
	if (req->body_len == 0 || !req->body[strspn(req->body, " \t\r\n")])
		return 0;
	*doc = mock_req_json(req, resp);
	if (!*doc)
		return -1;
	json_object_foreach(*doc, key, v) {
		if (strcasecmp(key, "IDs") != 0)
			continue; /* Go's decoder matches field names without case */
		if (!json_is_array(v) && !json_is_null(v)) {
			mock_resp_error(resp, 400, "invalid_body", "IDs must be an array of message IDs");
			return -1;
		}
		json_array_foreach(v, i, e)
			if (!json_is_string(e)) {
				mock_resp_error(resp, 400, "invalid_body", "IDs[%zu] must be a string", i);
				return -1;
			}
		*ids = v;
	}
	return 0;
}

/* DELETE /api/v1/messages. */
static void h_delete(const struct mock_req *req, struct mock_resp *resp, void *arg)
{
	json_t *doc = NULL, *ids = NULL, *id;
	struct mock_kvlist q = {0};
	size_t i;

	if (form_read(req, (const char *const[]){NULL}, &q, resp) < 0 || ids_read(req, &doc, &ids, resp) < 0)
		goto out;
	if (json_array_size(ids) == 0)
		mock_store_clear(arg);
	json_array_foreach(ids, i, id)
		(void)mock_store_del(arg, json_string_value(id)); /* unknown IDs are ignored, as in Mailpit */
	mock_resp_text(resp, 200, "text/plain", "ok");
out:
	mock_kv_free(&q);
	json_decref(doc);
}

/* The record of {id} ("latest": the newest, or the newest match of ?query=), or NULL after a 4xx. */
static json_t *record_get(const struct mock_req *req, struct mock_resp *resp, struct mock_store *st)
{
	static const char *const known[] = {"query", "tz", "dl", NULL};
	const char *id = mock_req_param(req, "id"), *query;
	struct mock_kvlist f = {0}, q = {0};
	size_t total;
	json_t *rec = NULL, *items;

	if (form_read(req, known, &q, resp) < 0)
		goto out;
	query = qget(&q, "query");
	if (strcmp(id, "latest") != 0) {
		rec = mock_store_get(st, id);
	} else if (!query || query_check(query, resp) == 0) {
		if (query)
			mock_kv_add(&f, MAILPIT_FILTER_QUERY, query);
		items = mock_store_list(st, &f, 0, 1, &total);
		rec = json_incref(json_array_get(items, 0));
		json_decref(items);
	} else {
		goto out;
	}
	if (!rec)
		mock_resp_error(resp, 404, "not_found", "no message with ID \"%s\"", id);
out:
	mock_kv_free(&f);
	mock_kv_free(&q);
	return rec;
}

/* Set the read flag of a record (store update callback). */
static int mark_read(json_t *rec, void *arg)
{
	(void)arg;
	if (json_is_true(json_object_get(rec, "read")))
		return -1; /* unchanged */
	json_object_set_new(rec, "read", json_true());
	return 0;
}

/* GET /api/v1/message/{id}. */
static void h_message(const struct mock_req *req, struct mock_resp *resp, void *arg)
{
	json_t *rec = record_get(req, resp, arg);

	if (!rec)
		return;
	mock_resp_json(resp, 200, mailpit_msg_full(rec));
	(void)mock_store_update(arg, json_string_value(json_object_get(rec, "id")), mark_read, NULL);
	json_decref(rec);
}

/* GET /api/v1/message/{id}/raw. */
static void h_raw(const struct mock_req *req, struct mock_resp *resp, void *arg)
{
	json_t *rec = record_get(req, resp, arg);
	struct sbx_buf b = {0};

	if (!rec)
		return;
	mail_msg_raw(rec, &b);
	mock_resp_bytes(resp, 200, &b, "text/plain; charset=utf-8");
	json_decref(rec);
}

/* GET /api/v1/message/{id}/headers. */
static void h_headers(const struct mock_req *req, struct mock_resp *resp, void *arg)
{
	json_t *rec = record_get(req, resp, arg);

	if (!rec)
		return;
	mock_resp_json(resp, 200, mailpit_msg_headers(rec));
	json_decref(rec);
}

/* GET /api/v1/message/{id}/part/{part}. */
static void h_part(const struct mock_req *req, struct mock_resp *resp, void *arg)
{
	json_t *rec = record_get(req, resp, arg);
	struct mime_msg *m = rec ? mail_msg_parse(rec) : NULL;
	const struct mime_part *p = m ? mailpit_msg_part(m, mock_req_param(req, "part")) : NULL;
	struct sbx_buf b = {0};

	if (m && !p) {
		mock_resp_error(resp, 404, "not_found", "message has no attachment with PartID \"%s\"",
				mock_req_param(req, "part"));
	} else if (p) {
		sbx_buf_add(&b, p->body, p->len);
		mock_resp_bytes(resp, 200, &b, p->content_type);
	}
	mime_free(m);
	json_decref(rec);
}

/* Any other /api/v1/ request: 501 naming it. */
static void h_other(const struct mock_req *req, struct mock_resp *resp, void *arg)
{
	(void)arg;
	mock_resp_error(resp, 501, "not_implemented",
			"%s %s is not implemented by the mail mock (its Mailpit API: " COVERED ")",
			req->method, req->path);
}

/* Register the routes. */
void mailpit_api_register(struct mock_server *srv, struct mock_store *st)
{
	mock_server_route(srv, "GET", "/api/v1/messages", h_list, st, 0);
	mock_server_route(srv, "DELETE", "/api/v1/messages", h_delete, st, 0);
	mock_server_route(srv, "GET", "/api/v1/search", h_search, st, 0);
	mock_server_route(srv, "DELETE", "/api/v1/search", h_search_delete, st, 0);
	mock_server_route(srv, "GET", "/api/v1/message/{id}", h_message, st, 0);
	mock_server_route(srv, "GET", "/api/v1/message/{id}/raw", h_raw, st, 0);
	mock_server_route(srv, "GET", "/api/v1/message/{id}/headers", h_headers, st, 0);
	mock_server_route(srv, "GET", "/api/v1/message/{id}/part/{part}", h_part, st, 0);
	mock_server_route(srv, "*", "/api/v1/*", h_other, NULL, 0);
}
