/* stripe — the payment mock's Stripe API (/v1/): which requests are its, auth, faults, a call's run, routes. */
#include "stripe.h"
#include "stripe_int.h"

#include "clock.h"
#include "mock_faults.h"
#include "mock_opts.h"
#include "mock_req.h"
#include "mock_server.h"
#include "mock_util.h"
#include "payment_int.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/*
 * Whether a request on a shared path is the Stripe API's: a Stripe-Version header (every Stripe
 * SDK sends one), or a form-encoded body that is not a JSON object (curl labels a JSON body
 * --data sends as a form: the JSON API's clients keep working unchanged).
 */
bool stripe_request(const struct mock_req *req)
{
	const char *ct = mock_req_header(req, "Content-Type");
	size_t i = 0;

	if (mock_req_header(req, "Stripe-Version"))
		return true;
	if (!ct || strncasecmp(ct, "application/x-www-form-urlencoded", 33) != 0)
		return false;
	while (i < req->body_len && strchr(" \t\r\n", req->body[i]))
		i++;
	return i < req->body_len && req->body[i] != '{';
}

/* The key a request presents: Bearer KEY, or Basic with KEY as the user; NULL: none. Caller frees. */
static char *presented_key(const struct mock_req *req)
{
	const char *h = mock_req_header(req, "Authorization"), *pass;

	if (h && strncasecmp(h, "Bearer ", 7) == 0)
		return mock_xstrdup(h + 7);
	return mock_req_basic(req, &pass);
}

/* A key as Stripe shows it in errors: its sk_test_-like prefix, stars, its last 4 characters. */
static char *mask_key(const char *k)
{
	size_t n = strlen(k), pre = 0, stars;
	static const char *const prefixes[] = {"sk_test_", "sk_live_", "rk_test_", "rk_live_", "pk_test_", "pk_live_"};

	for (size_t i = 0; i < MOCK_NELEM(prefixes); i++) {
		if (strncmp(k, prefixes[i], 8) == 0)
			pre = 8;
	}
	if (n < pre + 12)
		return mock_xasprintf("%.*s%s", (int)pre, k, "********");
	stars = n - pre - 4 > 32 ? 32 : n - pre - 4;
	return mock_xasprintf("%.*s%.*s%s", (int)pre, k, (int)stars, "********************************",
			      k + n - 4);
}

/* Authenticate a request: 0, or -1 after Stripe's 401. With no --api-key, any key (or none) passes. */
static int st_auth(const struct stripe *st, const struct mock_req *req, struct mock_resp *resp)
{
	const char *want = st->api_key;
	char *key = want ? presented_key(req) : NULL, *shown;
	bool ok = !want || (key && mock_secret_equal(key, want));

	if (ok) {
		free(key);
		return 0;
	}
	if (!key || !*key) {
		stripe_error(resp, 401, "invalid_request_error", NULL, NULL, NULL,
			     "You did not provide an API key. You need to provide your API key in the Authorization "
			     "header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY').");
	} else {
		shown = mask_key(key);
		stripe_error(resp, 401, "invalid_request_error", NULL, NULL, NULL, "Invalid API Key provided: %s", shown);
		free(shown);
	}
	mock_resp_header(resp, "WWW-Authenticate", "Bearer realm=\"Stripe\"");
	if (key)
		mock_wipe_str(key);
	free(key);
	return -1;
}

/* The injected latency and error rate of /admin/faults: 0, or -1 after a Stripe-shaped error. */
static int st_faults(const struct stripe *st, struct mock_resp *resp)
{
	struct mock_faults *f = mock_server_faults(st->p->srv);
	int status;

	mock_resp_delay(resp, mock_faults_latency(f));
	status = mock_faults_roll(f);
	if (!status)
		return 0;
	if (status == 429)
		stripe_error(resp, 429, "invalid_request_error", "rate_limit", NULL, NULL,
			     "Too many requests hit the API too quickly (fault injected by /admin/faults).");
	else
		stripe_error(resp, status, "api_error", NULL, NULL, NULL, "fault injected by /admin/faults");
	return -1;
}

/* Run one Stripe route: Request-Id, auth and faults (api: not for the mock's own 3-D Secure page),
 * parameters, idempotency, the operation. */
void stripe_run(const struct mock_req *req, struct mock_resp *resp, struct stripe *st, stripe_call_fn fn, bool api)
{
	struct stripe_call c = {st, req, NULL, resp, NULL, NULL};
	char *rid = mock_id_new("req_", 14);

	mock_resp_header(resp, "Request-Id", rid);
	if ((api && (st_auth(st, req, resp) < 0 || st_faults(st, resp) < 0)) || !(c.params = stripe_params_parse(req, resp)))
		goto out;
	stripe_idem_run(&c, fn, rid);
out:
	json_decref(c.error);
	json_decref(c.params);
	free(rid);
}

/* Anything else of the Stripe API: 401 without the key, else 501 naming the operation (a Request-Id either way). */
static void h_unsupported(const struct mock_req *req, struct mock_resp *resp, void *arg)
{
	char *rid = mock_id_new("req_", 14);

	mock_resp_header(resp, "Request-Id", rid);
	if (st_auth(arg, req, resp) == 0)
		stripe_unsupported(req, NULL, resp);
	free(rid);
}

/* Register the routes: each noun's, then 501 for the rest (the shared paths guarded by stripe_request). */
static void stripe_routes(struct stripe *st, struct mock_server *srv)
{
	const unsigned f = MOCK_ROUTE_SELF_AUTH;

	/* search would otherwise be read as an id */
	mock_server_route(srv, "GET", "/v1/customers/search", h_unsupported, st, f);
	mock_server_route_when(srv, "GET", "/v1/payment_intents/search", h_unsupported, st, f, stripe_request);
	stripe_intent_routes(st, srv);
	stripe_refund_routes(st, srv);
	stripe_customer_routes(st, srv);
	mock_server_route(srv, "*", "/v1/refunds/*", h_unsupported, st, f);
	mock_server_route(srv, "*", "/v1/customers/*", h_unsupported, st, f);
	mock_server_route_when(srv, "*", "/v1/*", h_unsupported, st, f, stripe_request);
}

/* Create the Stripe API and register its routes. */
struct stripe *stripe_new(struct payment *p, struct mock_err *e)
{
	struct stripe *st = mock_xcalloc(1, sizeof(*st));
	const struct mock_opts *o = mock_server_opts(p->srv);
	const char *sec = mock_opts_get(o, "stripe-webhook-secret"), *key = mock_opts_get(o, "stripe-api-key");

	st->p = p;
	st->api_key = mock_xstrdup(key && *key ? key : o->api_key);
	st->wh_secret = mock_xstrdup(sec && *sec ? sec : o->webhook_secret);
	st->customers = mock_server_store(p->srv, "customers", e);
	st->refunds = st->customers ? mock_server_store(p->srv, "refunds", e) : NULL;
	if (!st->refunds) {
		stripe_free(st);
		return NULL;
	}
	stripe_routes(st, p->srv);
	return st;
}

/* Free the API. */
void stripe_free(struct stripe *st)
{
	if (!st)
		return;
	if (st->wh_secret)
		mock_wipe_str(st->wh_secret);
	free(st->wh_secret);
	if (st->api_key)
		mock_wipe_str(st->api_key);
	free(st->api_key);
	free(st);
}
