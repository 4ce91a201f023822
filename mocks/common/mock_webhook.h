/*
 * mock_webhook — signed webhook deliveries with exponential backoff and a delivery log.
 *
 * Deliveries POST a JSON body with headers Content-Type: application/json, Signature: t=..,v1=..
 * (when a secret is set; see mock_sig.h), Sbx-Delivery: <id>, Sbx-Event: <event>; or a body the
 * caller encoded, with its content type and extra headers (mock_webhook_send_raw).
 * A 2xx answer is a success; anything else is retried after backoff, backoff*2, ... up to
 * `attempts` attempts. Redirects are not followed (a 3xx is a failed attempt).
 *
 * Attempts run on a pool of --webhook-workers threads (started on demand), one attempt at a time
 * per target (host:port), oldest due first: a slow receiver holds one worker and delays only its
 * own deliveries. At most --webhook-queue deliveries are pending; past that a delivery is logged
 * "failed" ("queue full") without an attempt and counted in sbx_mock_webhook_failures_total.
 *
 * A delivery goes only to an address the options' allow-list (--allow-callback, mock_allow.h)
 * contains, resolved once and pinned for all its attempts (mock_target.h). A URL from a request is
 * checked when it is submitted (mock_webhook_target: refused, it never reaches the sender); a URL
 * from the command line is checked at start when its host is an IP literal, and a name is
 * resolved and checked at the first attempt of each delivery: refused, the delivery is logged
 * "refused" with the reason and never attempted. So the delivery log cannot tell whether a port
 * on a host outside the list is open.
 *
 * Every delivery is a record in the store given to mock_webhook_new:
 *   {"id": "whd_..", "url", "address" (the pinned one, null until known), "event",
 *    "status": "pending"|"succeeded"|"failed"|"refused", "attempts": n, "response_status": code,
 *    "error": "...", "created_at", "updated_at", "body": <doc>,
 *    "history": [{"at", "status", "error", "duration_ms"}]}
 * Counters: sbx_mock_webhook_deliveries_total{result="succeeded"|"failed"|"refused"} (per attempt;
 * a refused delivery counts once) and sbx_mock_webhook_failures_total (deliveries given up).
 */
#ifndef SBX_MOCK_WEBHOOK_H
#define SBX_MOCK_WEBHOOK_H

#include <jansson.h>
#include <stdint.h>

#include "mock_kv.h"

struct mock_err;
struct mock_metrics;
struct mock_opts;
struct mock_store;
struct mock_target;

struct mock_webhook;
/* A sender on these options (borrowed: secret, allow-list), logging into `log`, counting into m. */
struct mock_webhook *mock_webhook_new(const struct mock_opts *o, struct mock_store *log,
				      struct mock_metrics *m);
/* Stop the sender (pending retries are dropped). NULL is a no-op. */
void mock_webhook_free(struct mock_webhook *w);
/*
 * Check a URL from a request against the options' --allow-callback networks and resolve it now
 * (may block on DNS): 0 and *t pinned (free with mock_target_clear), or -1 with a message in e
 * naming the rule. Thread-safe.
 */
int mock_webhook_target(const struct mock_webhook *w, const char *url, struct mock_target *t,
			struct mock_err *e) __attribute__((warn_unused_result));
/*
 * Check a URL from the command line: an IP literal host now (0 and *t pinned, or -1 with e), a
 * name at each delivery's first attempt (0 and *t unpinned). Free *t with mock_target_clear.
 */
int mock_webhook_configured(const struct mock_webhook *w, const char *url, struct mock_target *t,
			    struct mock_err *e) __attribute__((warn_unused_result));
/*
 * Queue a delivery of doc (not stolen) to t (copied; pinned, or checked at the first attempt)
 * after delay_ms. Returns the delivery id; caller frees.
 */
char *mock_webhook_send(struct mock_webhook *w, const struct mock_target *t, const char *event,
			const json_t *doc, int64_t delay_ms);

/* A delivery whose body the caller encoded (Twilio's form-encoded status callbacks). */
struct mock_webhook_raw {
	const char *content_type;          /* "application/x-www-form-urlencoded" */
	const char *body;                  /* sent as it is */
	const struct mock_kvlist *headers; /* extra headers ("X-Twilio-Signature"), or NULL */
	const json_t *logged;              /* what the delivery log shows as "body" */
	const char *sig_header;            /* another signature header ("Stripe-Signature"), or NULL */
	const char *sig_secret;            /* its key: the same t=..,v1=.. computed at each attempt */
};
/*
 * Queue a delivery of m (copied) to t, with the same headers, signature, retries and log as
 * mock_webhook_send. Returns the delivery id; caller frees.
 */
char *mock_webhook_send_raw(struct mock_webhook *w, const struct mock_target *t, const char *event,
			    const struct mock_webhook_raw *m, int64_t delay_ms);

#endif
