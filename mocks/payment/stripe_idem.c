/* stripe_idem — Idempotency-Key as Stripe documents it: the same key and parameters replay the first answer. */
#include "stripe_int.h"

#include "buf.h"
#include "payment_int.h"
#include "sha256.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define IDEM_MAX_AGE_MS (24LL * 3600 * 1000) /* Stripe keeps keys for at least 24 hours */

/* The fingerprint of a request: method, path and its parameters in a canonical order. */
static void fingerprint(const struct mock_req *req, const json_t *params, char out[65])
{
	char *canon = json_dumps(params, JSON_COMPACT | JSON_SORT_KEYS);
	struct sbx_buf b = {0};

	sbx_buf_printf(&b, "%s %s\n%s", req->method, req->path, canon ? canon : "");
	sbx_sha256_hex(b.data, b.len, out);
	sbx_buf_free(&b);
	free(canon);
}

/* Replay a saved answer, or 400 idempotency_error when the key came with other parameters. */
static void replay(const json_t *saved, const char *fp, const char *key, struct mock_resp *resp)
{
	if (strcmp(stripe_field(saved, "fingerprint"), fp) != 0) {
		stripe_error(resp, 400, "idempotency_error", NULL, NULL, NULL,
			     "Keys for idempotent requests can only be used with the same parameters they were first used "
			     "with. Try using a key other than '%s' if you meant to execute a different request.", key);
		return;
	}
	mock_resp_text(resp, (int)payment_int_of(saved, "status"), "application/json", stripe_field(saved, "body"));
	mock_resp_header(resp, "Idempotent-Replayed", "true");
	mock_resp_header(resp, "Original-Request", stripe_field(saved, "request_id"));
}

/* Run a POST operation under Idempotency-Key (keys kept 24 hours, at most --max-records, oldest evicted). */
void stripe_idem_run(struct stripe_call *c, stripe_call_fn fn, const char *request_id)
{
	struct payment *p = c->st->p;
	const char *key = mock_req_header(c->req, "Idempotency-Key");
	char fp[65], *sid;
	json_t *saved;

	if (!key || strcmp(c->req->method, "POST") != 0) {
		fn(c);
		return;
	}
	if (!*key || strlen(key) > 255) {
		stripe_error(c->resp, 400, "invalid_request_error", NULL, "Idempotency-Key", NULL,
			     "Idempotency-Key must have 1 to 255 characters");
		return;
	}
	fingerprint(c->req, c->params, fp);
	sid = mock_xasprintf("stripe:%s", key);
	pthread_mutex_lock(&p->idem_lock);
	saved = mock_store_get(p->idem, sid);
	if (saved && mock_now_ms() - payment_int_of(saved, "created_ms") > IDEM_MAX_AGE_MS) {
		mock_store_del(p->idem, sid);
		json_decref(saved);
		saved = NULL;
	}
	if (saved) {
		replay(saved, fp, key, c->resp);
	} else {
		fn(c);
		if (c->resp->status < 500)
			mock_store_put(p->idem, json_pack("{s:s,s:s,s:i,s:s%,s:I,s:s}", "id", sid, "fingerprint", fp,
							   "status", c->resp->status, "body",
							   c->resp->body ? c->resp->body : "", c->resp->body_len,
							   "created_ms", (json_int_t)mock_now_ms(), "request_id", request_id));
	}
	pthread_mutex_unlock(&p->idem_lock);
	json_decref(saved);
	free(sid);
}
