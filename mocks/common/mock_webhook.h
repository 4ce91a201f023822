/*
 * mock_webhook — signed webhook deliveries with exponential backoff and a delivery log.
 *
 * Deliveries POST a JSON body with headers Content-Type: application/json, Signature: t=..,v1=..
 * (when a secret is set; see mock_sig.h), Sbx-Delivery: <id>, Sbx-Event: <event>.
 * A 2xx answer is a success; anything else is retried after backoff, backoff*2, ... up to
 * `attempts` attempts. Every delivery is a record in the store given to mock_webhook_new:
 *   {"id": "whd_..", "url", "event", "status": "pending"|"succeeded"|"failed", "attempts": n,
 *    "response_status": code, "error": "...", "created_at", "updated_at", "body": <doc>,
 *    "history": [{"at", "status", "error", "duration_ms"}]}
 * Counters: sbx_mock_webhook_deliveries_total{result="succeeded"|"failed"} (per attempt) and
 * sbx_mock_webhook_failures_total (deliveries given up).
 */
#ifndef SBX_MOCK_WEBHOOK_H
#define SBX_MOCK_WEBHOOK_H

#include <jansson.h>
#include <stdint.h>

struct mock_metrics;
struct mock_opts;
struct mock_store;

struct mock_webhook;
/* A sender on these options (borrowed), logging into `log`, counting into m. */
struct mock_webhook *mock_webhook_new(const struct mock_opts *o, struct mock_store *log,
				      struct mock_metrics *m);
/* Stop the sender (pending retries are dropped). NULL is a no-op. */
void mock_webhook_free(struct mock_webhook *w);
/* Queue a delivery of doc (not stolen) to url after delay_ms. Returns the delivery id; caller frees. */
char *mock_webhook_send(struct mock_webhook *w, const char *url, const char *event,
			const json_t *doc, int64_t delay_ms);

#endif
