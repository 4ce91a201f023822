/* sms — the SMS gateway's JSON API and the delivery simulation both of its APIs share. */
#include "sms.h"
#include "sms_int.h"
#include "sms_msg.h"
#include "twilio.h"

#include "clock.h"
#include "mock_faults.h"
#include "mock_opts.h"
#include "mock_req.h"
#include "mock_sched.h"
#include "mock_server.h"
#include "mock_store.h"
#include "mock_target.h"
#include "mock_util.h"
#include "mock_webhook.h"

#include <stdlib.h>
#include <string.h>

const struct mock_optdef sms_options[] = {
	{"callback-url", true, "SBX_MOCK_SMS_CALLBACK_URL", "URL receiving every status callback"},
	{"delivery-delay", true, NULL, "time between status changes (default 20ms)"},
	{"account-sid", true, "SBX_MOCK_TWILIO_ACCOUNT_SID", "Twilio API: the account SID (AC...) required"},
	{"account-sid-file", true, NULL, "read the account SID from FILE (mode 0600)"},
	{"auth-token", true, "SBX_MOCK_TWILIO_AUTH_TOKEN", "Twilio API: the auth token required (and signing)"},
	{"auth-token-file", true, NULL, "read the auth token from FILE (mode 0600)"},
};
const size_t sms_noptions = MOCK_NELEM(sms_options);

/* The plans: what happens after "queued". */
const struct sms_step sms_plan_ok[] = {{"sent", NULL, NULL, 0}, {"delivered", NULL, NULL, 0}, {NULL, NULL, NULL, 0}};
static const struct sms_step plan_unreachable[] = {
	{"failed", "unreachable", "the handset is unreachable", 0}, {NULL, NULL, NULL, 0}};
static const struct sms_step plan_rejected[] = {
	{"sent", NULL, NULL, 0}, {"failed", "carrier_rejected", "the carrier rejected the message", 0},
	{NULL, NULL, NULL, 0}};

/* A pending status change. */
struct transition {
	struct sms *sms;
	struct sms_msg *msg;          /* the message as it is now (its record's fields) */
	const struct sms_step *step;  /* the next one */
	struct mock_target own; /* the message's status_callback, checked when it was sent (url NULL: none) */
	sms_notify_fn notify;   /* how own is called (NULL: JSON) */
	char *key;              /* what notify signs with, or NULL */
	int64_t due;            /* monotonic ms */
	struct transition *next; /* in the queue */
};

/* How many due changes share one acquisition of the store's lock (short enough for requests). */
#define SMS_BATCH 32

/* Whether s is E.164. */
bool sms_valid_e164(const char *s)
{
	size_t n;

	if (!s || s[0] != '+' || s[1] < '1' || s[1] > '9')
		return false;
	n = strspn(s + 1, "0123456789");
	return s[1 + n] == '\0' && n >= 2 && n <= 15;
}

/* Whether s is an alphanumeric sender id: 1-11 of [A-Za-z0-9 ], at least one letter. */
bool sms_valid_sender_id(const char *s)
{
	size_t n = strlen(s);
	bool letter = false;

	if (n == 0 || n > 11 || strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 ") != n)
		return false;
	for (const char *p = s; *p; p++)
		letter |= (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z');
	return letter;
}

/* Count UTF-8 code points. */
size_t sms_utf8_len(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += ((unsigned char)*s & 0xC0) != 0x80;
	return n;
}

/* Send the status callbacks of a message to --callback-url (JSON) and its own (checked) target. */
static void callbacks(struct sms *s, const json_t *msg, const struct transition *t)
{
	json_t *doc = json_pack("{s:s,s:O,s:O,s:O,s:O,s:O,s:O,s:O}", "event", "message.status", "id",
				json_object_get(msg, "id"), "status", json_object_get(msg, "status"),
				"to", json_object_get(msg, "to"), "from", json_object_get(msg, "from"),
				"error_code", json_object_get(msg, "error_code"), "error_message",
				json_object_get(msg, "error_message"), "updated_at",
				json_object_get(msg, "updated_at"));
	const struct mock_target *to[2] = {&s->callback, t->notify ? NULL : &t->own};

	for (size_t i = 0; doc && i < 2; i++) {
		if (to[i] && to[i]->url)
			free(mock_webhook_send(mock_server_webhook(s->srv), to[i], "message.status", doc, 0));
	}
	json_decref(doc);
	if (t->notify && t->own.url)
		t->notify(s, msg, &t->own, t->key);
}

/* Whether a message has somewhere to send callbacks. */
static bool notifies(const struct sms *s, const struct transition *t)
{
	return s->callback.url || t->own.url;
}

/* Free a pending transition. */
static void transition_free(void *arg)
{
	struct transition *t = arg;

	sms_msg_free(t->msg);
	mock_target_clear(&t->own);
	if (t->key)
		mock_wipe_str(t->key);
	free(t->key);
	free(t);
}

static void tick(void *arg);

/* Queue t's next step delay_ms from now; arm the scheduler when nothing is armed (steals t). */
static void transition_queue(struct sms *s, struct transition *t)
{
	struct mock_sched *sched = mock_server_sched(s->srv);
	bool arm;

	if (!sched) {
		transition_free(t);
		return;
	}
	t->next = NULL;
	pthread_mutex_lock(&s->qlock);
	t->due = sbx_mono_ms() + (s->delay_ms > 0 ? s->delay_ms : 0); /* in queue order */
	if (s->qtail)
		s->qtail->next = t;
	else
		s->qhead = t;
	s->qtail = t;
	arm = !s->armed;
	s->armed = true;
	pthread_mutex_unlock(&s->qlock);
	if (arm)
		mock_sched_after(sched, s->delay_ms, tick, NULL, s);
}

/* Take the due transitions off the queue (a list), re-arming for the next one. */
static struct transition *queue_take_due(struct sms *s)
{
	int64_t now = sbx_mono_ms();
	struct transition *due = NULL, **tail = &due;

	pthread_mutex_lock(&s->qlock);
	while (s->qhead && s->qhead->due <= now) {
		*tail = s->qhead;
		tail = &s->qhead->next;
		s->qhead = s->qhead->next;
	}
	*tail = NULL;
	if (!s->qhead)
		s->qtail = NULL;
	s->armed = s->qhead != NULL;
	if (s->armed)
		mock_sched_after(mock_server_sched(s->srv), s->qhead->due - now, tick, NULL, s);
	pthread_mutex_unlock(&s->qlock);
	return due;
}

/* After its store update (rc): send t's callbacks and queue its next step, or free it. */
static void transition_next(struct sms *s, struct transition *t, int rc)
{
	json_t *msg;

	if (rc < 0) {
		transition_free(t); /* deleted meanwhile */
		return;
	}
	msg = notifies(s, t) ? mock_store_get(s->messages, t->msg->id) : NULL;
	if (msg)
		callbacks(s, msg, t);
	json_decref(msg);
	t->step++;
	if (t->step->status)
		transition_queue(s, t);
	else
		transition_free(t);
}

/*
 * Run the first SMS_BATCH due transitions of a list: each message moves to its step and its new
 * text replaces its record, the batch under one store lock; returns the rest.
 */
static struct transition *run_batch(struct sms *s, struct transition *list)
{
	struct transition *t[SMS_BATCH];
	const char *ids[SMS_BATCH] = {NULL};
	char *docs[SMS_BATCH] = {NULL};
	size_t lens[SMS_BATCH] = {0};
	int rcs[SMS_BATCH];
	size_t n = 0;

	while (list && n < SMS_BATCH) {
		t[n] = list;
		sms_msg_step(list->msg, list->step);
		ids[n] = list->msg->id;
		docs[n] = sms_msg_text(list->msg, &lens[n]);
		n++;
		list = list->next;
	}
	mock_store_replace_each(s->messages, n, ids, docs, lens, rcs);
	for (size_t i = 0; i < n; i++)
		transition_next(s, t[i], rcs[i]);
	return list;
}

/* The scheduler job: run every due transition. */
static void tick(void *arg)
{
	struct sms *s = arg;
	struct transition *due = queue_take_due(s);

	while (due)
		due = run_batch(s, due);
}

/* The plan of a recipient. */
static const struct sms_step *plan_for(const char *to)
{
	if (strcmp(to, SMS_MAGIC_UNREACHABLE) == 0)
		return plan_unreachable;
	if (strcmp(to, SMS_MAGIC_REJECTED) == 0)
		return plan_rejected;
	return sms_plan_ok;
}

/* Check the fields of a new message; 0, or -1 after a 400. */
static int check_fields(const char *to, const char *from, const char *body, const char *cb,
			struct mock_resp *resp)
{
	if (!sms_valid_e164(to)) {
		mock_resp_error(resp, 400, "invalid_to",
				"\"to\" must be an E.164 number (\"+\" then 2 to 15 digits), got \"%s\"", to);
		return -1;
	}
	if (!sms_valid_e164(from) && !sms_valid_sender_id(from)) {
		mock_resp_error(resp, 400, "invalid_from",
				"\"from\" must be an E.164 number or an alphanumeric sender id (1-11 characters)");
		return -1;
	}
	if (!*body || sms_utf8_len(body) > 1600) {
		mock_resp_error(resp, 400, "invalid_body", "\"body\" must have 1 to 1600 characters");
		return -1;
	}
	if (cb && !mock_is_http_url(cb)) {
		mock_resp_error(resp, 400, "invalid_status_callback", "\"status_callback\" must be an http(s) URL");
		return -1;
	}
	return 0;
}

/* Refuse magic and fault-injected recipients; 0, or -1 after the answer. */
static int check_recipient(struct sms *s, const char *to, struct mock_resp *resp)
{
	char *msg = NULL;
	int status;

	if (strcmp(to, SMS_MAGIC_INVALID) == 0) {
		mock_resp_error(resp, 400, "invalid_number", "%s is not a valid mobile number", to);
		return -1;
	}
	if (strcmp(to, SMS_MAGIC_BLOCKED) == 0) {
		mock_resp_error(resp, 403, "blocked", "%s has blocked messages from this sender", to);
		return -1;
	}
	if (mock_faults_target(mock_server_faults(s->srv), to, &status, &msg)) {
		mock_resp_error(resp, status, "injected_fault", "%s", msg);
		free(msg);
		return -1;
	}
	return 0;
}

/* Store, announce and schedule a new message (steals m and own). */
void sms_accept(struct sms *s, struct sms_msg *m, const struct sms_step *plan, struct mock_target *own,
		sms_notify_fn notify, const char *key, struct mock_resp *resp)
{
	struct transition *t = mock_xcalloc(1, sizeof(*t));
	json_t *rec;
	size_t len;
	char *text;

	t->sms = s;
	t->msg = m;
	t->step = plan;
	t->own = *own;
	memset(own, 0, sizeof(*own));
	t->notify = notify;
	t->key = mock_xstrdup(key);
	if (notifies(s, t)) {
		rec = sms_msg_json(m);
		callbacks(s, rec, t);
		json_decref(rec);
	}
	text = sms_msg_text(m, &len);
	mock_store_put_text(s->messages, m->id, text, len, resp, 201);
	transition_queue(s, t);
}

/* Check and pin a status callback URL. */
int sms_callback_check(struct sms *s, const char *cb, struct mock_target *own, struct mock_err *e)
{
	if (!cb)
		return 0;
	return mock_webhook_target(mock_server_webhook(s->srv), cb, own, e);
}

/* Check and pin the message's status_callback (none: own->url NULL); 0, or -1 after a 400. */
static int check_callback(struct sms *s, const char *cb, struct mock_target *own, struct mock_resp *resp)
{
	struct mock_err e;

	if (sms_callback_check(s, cb, own, &e) == 0)
		return 0;
	mock_resp_error(resp, 400, "callback_not_allowed", "\"status_callback\": %s", e.msg);
	return -1;
}

/* The fields of POST /v1/messages, in the order they are checked. */
static const char *const send_keys[] = {"to", "from", "body", "status_callback"};
static const bool send_required[] = {true, true, true, false};

/* POST /v1/messages. */
static void h_send(const struct mock_req *req, struct mock_resp *resp, void *arg)
{
	struct sms *s = arg;
	const char *f[4]; /* to, from, body, status_callback */
	struct mock_target own = {.url = NULL};
	struct mock_fields hold;
	struct sms_msg *m;

	if (mock_req_str_fields(req, 4, send_keys, send_required, f, &hold, resp) < 0 ||
	    check_fields(f[0], f[1], f[2], f[3], resp) < 0 || check_recipient(s, f[0], resp) < 0 ||
	    check_callback(s, f[3], &own, resp) < 0)
		goto out;
	m = sms_msg_new(f[0], f[1], f[2], f[3]); /* the body's strings are UTF-8: never NULL */
	if (m)
		sms_accept(s, m, plan_for(f[0]), &own, NULL, NULL, resp);
out:
	mock_target_clear(&own);
	mock_fields_free(&hold);
}

/* Read the SMS options (after the server exists: --callback-url is checked by its sender). */
static int sms_config(struct sms *s, struct mock_err *e)
{
	const struct mock_opts *o = mock_server_opts(s->srv);
	const char *d = mock_opts_get(o, "delivery-delay"), *url = mock_opts_get(o, "callback-url");
	struct mock_err why;

	s->delay_ms = 20;
	if (d && mock_parse_duration_ms(d, &s->delay_ms) < 0)
		return mock_err_set(e, "--delivery-delay: bad duration \"%s\" (e.g. 20ms, 1s)", d);
	if (url && !mock_is_http_url(url))
		return mock_err_set(e, "--callback-url: expected an http(s) URL");
	if (url && mock_webhook_configured(mock_server_webhook(s->srv), url, &s->callback, &why) < 0)
		return mock_err_set(e, "--callback-url: %s", why.msg);
	return 0;
}

/* Create the SMS domain. */
struct sms *sms_new(struct mock_server *srv, struct mock_err *e)
{
	struct sms *s = mock_xcalloc(1, sizeof(*s));
	struct mock_store *log;

	s->srv = srv;
	pthread_mutex_init(&s->qlock, NULL);
	if (sms_config(s, e) < 0)
		goto fail;
	s->messages = mock_server_store(srv, "messages", e);
	log = s->messages ? mock_server_store(srv, "webhook_deliveries", e) : NULL;
	if (!log)
		goto fail;
	mock_server_route(srv, "POST", "/v1/messages", h_send, s, MOCK_ROUTE_FAULTS);
	mock_server_inspect(srv, "/v1/messages", s->messages, MOCK_INSPECT_ALL);
	mock_server_inspect(srv, "/v1/webhook_deliveries", log,
			    MOCK_INSPECT_LIST | MOCK_INSPECT_GET | MOCK_INSPECT_WAIT);
	s->twilio = twilio_new(s, e);
	if (!s->twilio)
		goto fail;
	return s;
fail:
	sms_free(s);
	return NULL;
}

/* Free the domain (the stores belong to the server). */
void sms_free(struct sms *s)
{
	if (!s)
		return;
	while (s->qhead) { /* the scheduler has stopped (mock_server_stop) */
		struct transition *t = s->qhead;
		s->qhead = t->next;
		transition_free(t);
	}
	pthread_mutex_destroy(&s->qlock);
	mock_target_clear(&s->callback);
	twilio_free(s->twilio);
	free(s);
}
