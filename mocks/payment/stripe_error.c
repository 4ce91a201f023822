/* stripe_error — Stripe's error objects, and the 501 naming an operation outside the subset. */
#include "stripe_int.h"

#include "buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Answer Stripe's error body; extra (stolen, may be NULL) adds fields to the error object. */
void MOCK_PRINTF(7, 8) stripe_error(struct mock_resp *resp, int status, const char *type, const char *code,
				       const char *param, json_t *extra, const char *fmt, ...)
{
	va_list ap;
	char *msg, *doc_url = code && strncmp(code, "sbx_", 4) != 0 ? mock_xasprintf(STRIPE_DOCS "%s", code) : NULL;
	json_t *err;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	err = json_pack("{s:s,s:s?,s:s?,s:s?,s:s?}", "type", type, "code", code, "message", msg, "param", param,
			"doc_url", doc_url);
	if (!err) /* a message that is not UTF-8 (a parameter echoed) */
		err = json_pack("{s:s,s:s?,s:s,s:s?}", "type", type, "code", code, "message",
				"The request could not be processed (its text is not UTF-8)", "param", NULL);
	if (extra)
		json_object_update(err, extra);
	json_decref(extra);
	mock_resp_json(resp, status, json_pack("{s:o}", "error", err));
	free(msg);
	free(doc_url);
}

/* Whether a path segment (n bytes) is an object id: "pi_3MtwBw..." (an underscore, and a digit or a capital). */
static bool is_id(const char *seg, size_t n)
{
	bool under = false, mark = false;

	for (size_t i = 0; i < n; i++) {
		under = under || seg[i] == '_';
		mark = mark || (seg[i] >= '0' && seg[i] <= '9') || (seg[i] >= 'A' && seg[i] <= 'Z');
	}
	return under && mark;
}

/* The operation of a request as Stripe's docs name it ("POST /v1/payment_intents/{id}/confirm"). */
static char *op_name(const struct mock_req *req)
{
	struct sbx_buf b = {0};
	const char *p = req->path;

	sbx_buf_printf(&b, "%s ", req->method);
	for (int i = 0; *p; i++) {
		size_t n = strcspn(p + 1, "/") + 1;
		if (i >= 2 && is_id(p + 1, n - 1))
			sbx_buf_puts(&b, "/{id}");
		else
			sbx_buf_add(&b, p, n);
		p += n;
	}
	return sbx_buf_steal(&b);
}

/* Answer 501 naming the operation (what: NULL, or a parameter of it) that the mock does not implement. */
void stripe_unsupported(const struct mock_req *req, const char *what, struct mock_resp *resp)
{
	char *op = op_name(req);

	stripe_error(resp, 501, "api_error", "sbx_unsupported", what, NULL,
		     "sbx-mock-payment does not implement %s%s%s%s: it covers PaymentIntents (create, retrieve, update, "
		     "confirm, capture, cancel, list), Refunds (create, retrieve, list) and Customers (create, retrieve, "
		     "update, delete, list); see mocks/README.md", what ? "the parameter " : "", what ? what : "",
		     what ? " of " : "", op);
	mock_resp_header(resp, "Stripe-Should-Retry", "false");
	free(op);
}
