/* stripe_event — Stripe Events to --webhook-url, signed with Stripe-Signature. */
#include "stripe_int.h"

#include "mock_webhook.h"
#include "payment_int.h"

#include <stdlib.h>

#define API_VERSION "2025-01-27.acacia"     /* what events say when the request named none */

/* Send a Stripe Event about obj (and prev, when not NULL; neither stolen) to --webhook-url, signed with
 * Stripe-Signature. */
void stripe_event_send_changed(struct stripe *st, const struct mock_req *req, const char *type, const json_t *obj,
			       const json_t *prev)
{
	struct payment *p = st->p;
	const char *ver = req ? mock_req_header(req, "Stripe-Version") : NULL;
	const char *key = req ? mock_req_header(req, "Idempotency-Key") : NULL;
	char *id, *body;
	json_t *ev;

	if (!p->webhook.url || !type || !obj)
		return;
	id = mock_id_new("evt_", 24);
	ev = json_pack("{s:s,s:s,s:s,s:o,s:{s:O},s:b,s:i,s:{s:n,s:s?},s:s}", "id", id, "object", "event",
		       "api_version", ver && *ver ? ver : API_VERSION, "created", stripe_now(), "data", "object", obj,
		       "livemode", 0, "pending_webhooks", 1, "request", "id", "idempotency_key", key, "type", type);
	if (!ev) /* a key that is not UTF-8 */
		ev = json_pack("{s:s,s:s,s:s,s:o,s:{s:O},s:b,s:i,s:{s:n,s:n},s:s}", "id", id, "object", "event",
			       "api_version", API_VERSION, "created", stripe_now(), "data", "object", obj, "livemode", 0,
			       "pending_webhooks", 1, "request", "id", "idempotency_key", "type", type);
	if (prev)
		json_object_set(json_object_get(ev, "data"), "previous_attributes", (json_t *)prev);
	body = mock_json_dump(ev);
	free(mock_webhook_send_raw(mock_server_webhook(p->srv), &p->webhook, type,
				   &(struct mock_webhook_raw){.content_type = "application/json", .body = body,
							      .logged = ev, .sig_header = "Stripe-Signature",
							      .sig_secret = st->wh_secret}, 0));
	free(body);
	json_decref(ev);
	free(id);
}

/* Send a Stripe Event about obj (not stolen). */
void stripe_event_send(struct stripe *st, const struct mock_req *req, const char *type, const json_t *obj)
{
	stripe_event_send_changed(st, req, type, obj, NULL);
}
