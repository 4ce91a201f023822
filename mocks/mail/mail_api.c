/* mail_api — the HTTP inspection API of the mail mock. */
#include "mail_api.h"

#include "buf.h"
#include "mail_msg.h"
#include "mock_kv.h"
#include "mock_req.h"
#include "mock_server.h"
#include "mock_store.h"
#include "mock_util.h"

#include <stdlib.h>
#include <string.h>

/*
 * Build the filter of a request from its query, allowing the filter keys plus `extra` keys (not
 * put into the filter). 0, or -1 after a 400 naming the unknown key.
 */
static int filter_build(const struct mock_req *req, const char *const *extra, size_t nextra,
			struct mock_kvlist *f, struct mock_resp *resp)
{
	for (size_t i = 0; i < req->query.n; i++) {
		const char *k = req->query.v[i].key;
		bool skip = false;
		for (size_t j = 0; j < nextra; j++)
			skip = skip || !strcmp(k, extra[j]);
		if (skip)
			continue;
		if (!mail_msg_filter_known(k)) {
			mock_resp_error(resp, 400, "invalid_query",
					"unknown query parameter \"%s\" (filters: to, from, subject)", k);
			return -1;
		}
		mock_kv_add(f, k, req->query.v[i].value ? req->query.v[i].value : "");
	}
	return 0;
}

/* GET /v1/messages. */
static void h_list(const struct mock_req *req, struct mock_resp *resp, void *arg)
{
	static const char *const paging[] = {"limit", "offset"};
	struct mock_kvlist f = {0};
	int64_t limit, offset;
	size_t total, i;
	json_t *items, *out = json_array(), *rec;

	if (filter_build(req, paging, 2, &f, resp) == 0 &&
	    mock_req_query_int(req, "limit", 50, 1000, &limit, resp) == 0 &&
	    mock_req_query_int(req, "offset", 0, INT32_MAX, &offset, resp) == 0) {
		items = mock_store_list(arg, &f, (size_t)offset, (size_t)limit, &total);
		json_array_foreach(items, i, rec)
			json_array_append_new(out, mail_msg_summary(rec));
		json_decref(items);
		mock_resp_json(resp, 200, json_pack("{s:O,s:I,s:I,s:I}", "items", out, "total",
						     (json_int_t)total, "limit", (json_int_t)limit,
						     "offset", (json_int_t)offset));
	}
	json_decref(out);
	mock_kv_free(&f);
}

/* The record named by the {id} capture, or NULL after a 404. Caller decrefs. */
static json_t *record_get(const struct mock_req *req, struct mock_resp *resp, void *arg)
{
	const char *id = mock_req_param(req, "id");
	json_t *rec = mock_store_get(arg, id);

	if (!rec)
		mock_resp_error(resp, 404, "not_found", "no message with id \"%s\"", id);
	return rec;
}

/* GET /v1/messages/{id}. */
static void h_get(const struct mock_req *req, struct mock_resp *resp, void *arg)
{
	json_t *rec = record_get(req, resp, arg);

	if (rec)
		mock_resp_json(resp, 200, mail_msg_detail(rec));
	json_decref(rec);
}

/* GET /v1/messages/{id}/raw. */
static void h_raw(const struct mock_req *req, struct mock_resp *resp, void *arg)
{
	json_t *rec = record_get(req, resp, arg);
	struct sbx_buf b = {0};

	if (rec) {
		mail_msg_raw(rec, &b);
		mock_resp_bytes(resp, 200, &b, "message/rfc822");
	}
	json_decref(rec);
}

/* GET /v1/messages/{id}/attachments/{index}. */
static void h_attachment(const struct mock_req *req, struct mock_resp *resp, void *arg)
{
	json_t *rec = record_get(req, resp, arg);
	struct mime_msg *m = rec ? mail_msg_parse(rec) : NULL;
	const char *idx = mock_req_param(req, "index");
	const struct mime_part *p = NULL;
	struct sbx_buf b = {0};
	int64_t i;

	if (m && mock_parse_int(idx, 0, INT32_MAX, &i) == 0 && (size_t)i < mime_nparts(m))
		p = mime_part_at(m, (size_t)i);
	if (m && (!p || !p->attachment)) {
		mock_resp_error(resp, 404, "not_found", "message has no attachment at index \"%s\"", idx);
	} else if (p) {
		sbx_buf_add(&b, p->body, p->len);
		mock_resp_bytes(resp, 200, &b, p->content_type);
		if (p->filename && !strpbrk(p->filename, "\"\r\n")) {
			char *cd = mock_xasprintf("attachment; filename=\"%s\"", p->filename);
			mock_resp_header(resp, "Content-Disposition", cd);
			free(cd);
		}
	}
	mime_free(m);
	json_decref(rec);
}

/* The answer of a finished long-poll. */
static void wait_done(struct mock_resp *resp, const json_t *rec, int64_t timeout_ms, void *arg)
{
	(void)arg;
	if (rec)
		mock_resp_json(resp, 200, mail_msg_detail(rec));
	else
		mock_resp_error(resp, 408, "timeout", "no matching message within %lldms", (long long)timeout_ms);
}

/* GET /v1/messages/wait: long-poll for a matching message. */
static void h_wait(const struct mock_req *req, struct mock_resp *resp, void *arg)
{
	static const char *const keys[] = {"timeout", "after"};
	const char *t = mock_req_query(req, "timeout"), *after = mock_req_query(req, "after");
	struct mock_kvlist f = {0};
	int64_t ms = 10000;
	uint64_t seq = 0;

	if (filter_build(req, keys, 2, &f, resp) < 0)
		goto out;
	if (t && (mock_parse_duration_ms(t, &ms) < 0 || ms > 300000)) {
		mock_resp_error(resp, 400, "invalid_query", "timeout must be a duration up to 300s (e.g. 10s, 500ms)");
		goto out;
	}
	if (after && !(seq = mock_store_seq(arg, after))) {
		mock_resp_error(resp, 400, "invalid_query", "after: no message with id \"%s\"", after);
		goto out;
	}
	mock_resp_wait(resp, arg, &f, seq, ms, wait_done, NULL);
out:
	mock_kv_free(&f);
}

/* Register the routes. */
void mail_api_register(struct mock_server *srv, struct mock_store *st)
{
	mock_server_route(srv, "GET", "/v1/messages", h_list, st, 0);
	mock_server_route(srv, "GET", "/v1/messages/wait", h_wait, st, 0);
	mock_server_route(srv, "GET", "/v1/messages/{id}", h_get, st, 0);
	mock_server_route(srv, "GET", "/v1/messages/{id}/raw", h_raw, st, 0);
	mock_server_route(srv, "GET", "/v1/messages/{id}/attachments/{index}", h_attachment, st, 0);
	mock_server_inspect(srv, "/v1/messages", st, MOCK_INSPECT_DELETE);
}
