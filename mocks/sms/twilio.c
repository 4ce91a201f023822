/* twilio — the SMS mock's Twilio Messages API (2010-04-01): routes, resources, errors, callbacks. */
#include "twilio.h"

#include "clock.h"
#include "mock_faults.h"
#include "mock_form.h"
#include "mock_kv.h"
#include "mock_opts.h"
#include "mock_req.h"
#include "mock_server.h"
#include "mock_sig.h"
#include "mock_store.h"
#include "mock_target.h"
#include "mock_util.h"
#include "mock_webhook.h"
#include "random.h"
#include "sms.h"
#include "sms_int.h"
#include "sms_msg.h"

#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/types.h>
#include <time.h>

#define API "/2010-04-01"
#define ACCOUNT API "/Accounts/{AccountSid}"
#define MESSAGES_OP "POST " API "/Accounts/{AccountSid}/Messages.json"

struct twilio {
	struct sms *sms;
	char *account_sid; /* required as the user and in paths; NULL: any */
	char *auth_token;  /* required as the password, and what callbacks are signed with; NULL: any */
};

/* What a new message asks for (borrowed from the parsed form). */
struct msg_in {
	const char *to, *from, *mss, *body, *cb;
};

/* A Twilio error that depends on a magic number: the message is pre + number + post. */
struct magic {
	const char *number;
	bool from;
	int code;
	const char *pre, *post;
};

static const struct magic magics[] = {
	{TWILIO_MAGIC_INVALID, false, 21211, "The 'To' number ", " is not a valid phone number."},
	{TWILIO_MAGIC_UNROUTABLE, false, 21612, "The 'To' phone number: ",
	 ", is not currently reachable using the 'From' phone number via SMS."},
	{TWILIO_MAGIC_NO_INTL, false, 21408,
	 "Permission to send an SMS has not been enabled for the region indicated by the 'To' number: ", "."},
	{TWILIO_MAGIC_BLOCKED, false, 21610, "Attempt to send to unsubscribed recipient ", "."},
	{TWILIO_MAGIC_NOT_MOBILE, false, 21614, "'To' number ", " is not a valid mobile number."},
	{TWILIO_MAGIC_INVALID, true, 21212, "The 'From' number ",
	 " is not a valid phone number, shortcode, or alphanumeric sender ID."},
	{TWILIO_MAGIC_NOT_OWNED, true, 21606, "The 'From' phone number provided (",
	 ") is not a valid message-capable Twilio phone number for this destination."},
	{TWILIO_MAGIC_QUEUE_FULL, true, 21611, "This 'From' number ",
	 " has exceeded the maximum number of queued messages."},
};

/* Create parameters the mock does not implement: a 501 rather than a silent wrong answer. */
static const char *const unsupported_params[] = {"MediaUrl", "ContentSid", "SendAt", "ScheduleType"};
/* List filters the mock does not implement. */
static const char *const unsupported_filters[] = {"DateSent", "DateSent<", "DateSent>"};

/* The plans of the mock's own failing numbers (after "queued"). */
static const struct sms_step plan_undelivered[] = {
	{"sent", NULL, NULL, 0}, {"undelivered", NULL, "Unreachable destination handset", 30003},
	{NULL, NULL, NULL, 0}};
static const struct sms_step plan_failed[] = {{"failed", NULL, "Unknown error", 30008}, {NULL, NULL, NULL, 0}};

/* Wipe and free a secret. */
static void secret_free(char *s)
{
	if (s)
		mock_wipe_str(s);
	free(s);
}

/* Answer Twilio's error body {code, message, more_info, status} (code 0: null, no more_info). */
static void MOCK_PRINTF(4, 5) tw_error(struct mock_resp *resp, int status, int code, const char *fmt, ...)
{
	va_list ap;
	char *msg, *info = code ? mock_xasprintf("https://www.twilio.com/docs/errors/%d", code) : NULL;
	json_t *doc;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	if (!msg || !mock_utf8_valid(msg, strlen(msg))) {
		free(msg);
		msg = mock_xstrdup("The request could not be processed (its text is not UTF-8)");
	}
	doc = json_pack("{s:o,s:s,s:s?,s:i}", "code", code ? json_integer(code) : json_null(), "message", msg,
			"more_info", info, "status", status);
	mock_resp_json(resp, status, doc);
	free(msg);
	free(info);
}

/* Whether the credentials are the configured ones (or, with none configured, the API key if any). */
static bool creds_ok(const struct twilio *tw, const char *user, const char *pass)
{
	const char *api_key = mock_server_opts(tw->sms->srv)->api_key;

	if (tw->account_sid || tw->auth_token)
		return user && (!tw->account_sid || mock_secret_equal(user, tw->account_sid)) &&
		       (!tw->auth_token || mock_secret_equal(pass, tw->auth_token));
	return !api_key || (user && mock_secret_equal(pass, api_key));
}

/* Authenticate: 0 and *key (what callbacks are signed with; NULL: none; caller frees), or -1 after a 401. */
static int tw_auth(const struct twilio *tw, const struct mock_req *req, char **key, struct mock_resp *resp)
{
	const char *pass = NULL;
	char *user = mock_req_basic(req, &pass);
	bool ok = creds_ok(tw, user, pass);

	if (ok)
		*key = mock_xstrdup(tw->auth_token ? tw->auth_token : pass);
	secret_free(user);
	if (ok)
		return 0;
	tw_error(resp, 401, 20003, "Authenticate");
	mock_resp_header(resp, "WWW-Authenticate", "Basic realm=\"Twilio API\"");
	return -1;
}

/* Answer Twilio's 404 for the request's path. */
static void tw_not_found(const struct mock_req *req, struct mock_resp *resp)
{
	tw_error(resp, 404, 20404, "The requested resource %s was not found", req->path);
}

/* Authenticate and check the path's account: 0 (*key set when key is not NULL), or -1 after the answer. */
static int tw_begin(const struct twilio *tw, const struct mock_req *req, char **key, struct mock_resp *resp)
{
	const char *sid = mock_req_param(req, "AccountSid");
	char *k = NULL;

	if (tw_auth(tw, req, &k, resp) < 0)
		return -1;
	if (strncmp(sid, "AC", 2) != 0 || (tw->account_sid && strcmp(sid, tw->account_sid) != 0)) {
		secret_free(k);
		tw_not_found(req, resp);
		return -1;
	}
	if (key)
		*key = k;
	else
		secret_free(k);
	return 0;
}

/* The path of a request with the account SID written as {AccountSid}; caller frees. */
static char *generic_path(const char *path)
{
	const char *acc = strstr(path, "/Accounts/");
	size_t skip;

	if (!acc)
		return mock_xstrdup(path);
	acc += strlen("/Accounts/");
	skip = strcspn(acc, "/.");
	return mock_xasprintf("%.*s{AccountSid}%s", (int)(acc - path), path, acc + skip);
}

/* Answer 501 naming what is not implemented (what: NULL, or a parameter or filter of the route). */
static void tw_unsupported(const struct mock_req *req, const char *what, struct mock_resp *resp)
{
	char *p = generic_path(req->path);

	tw_error(resp, 501, 0,
		 "sbx-mock-sms does not implement %s%s%s%s %s: it covers the Messages API (create, fetch, list and "
		 "delete a Message); see mocks/README.md", what ? "the parameter " : "", what ? what : "",
		 what ? " of " : "", req->method, p);
	free(p);
}

/* The Twilio error code of an injected fault's status. */
static int fault_code(int status)
{
	return status == 429 ? 20429 : status == 503 ? 20503 : 20500;
}

/* The injected latency and error rate of /admin/faults: 0, or -1 after a Twilio-shaped error. */
static int tw_faults(const struct twilio *tw, struct mock_resp *resp)
{
	struct mock_faults *f = mock_server_faults(tw->sms->srv);
	int status;

	mock_resp_delay(resp, mock_faults_latency(f));
	status = mock_faults_roll(f);
	if (!status)
		return 0;
	tw_error(resp, status, fault_code(status), "fault injected by /admin/faults");
	return -1;
}

/* Parse the form body: 0, or -1 after a 400. */
static int tw_form(const struct mock_req *req, struct mock_kvlist *form, struct mock_resp *resp)
{
	struct mock_err e;

	if (mock_form_parse(req->body, req->body_len, form, &e) == 0)
		return 0;
	tw_error(resp, 400, 0, "The request body is not a valid form (application/x-www-form-urlencoded): %s", e.msg);
	return -1;
}

/* A parameter's value, NULL when absent or empty. */
static const char *form_get(const struct mock_kvlist *form, const char *name)
{
	const char *v = mock_kv_get(form, name, false);

	return v && *v ? v : NULL;
}

/* Check the presence and form of the parameters: 0, or -1 after the answer. */
static int check_params(const struct mock_req *req, const struct mock_kvlist *form, const struct msg_in *in,
			struct mock_resp *resp)
{
	for (size_t i = 0; i < MOCK_NELEM(unsupported_params); i++) {
		if (mock_kv_get(form, unsupported_params[i], false)) {
			tw_unsupported(req, unsupported_params[i], resp);
			return -1;
		}
	}
	if (!in->to)
		tw_error(resp, 400, 21604, "A 'To' phone number is required.");
	else if (!in->from && !in->mss)
		tw_error(resp, 400, 21603, "A 'From' phone number is required.");
	else if (!in->body)
		tw_error(resp, 400, 21602, "Message body is required.");
	else if (!sms_valid_e164(in->to))
		tw_error(resp, 400, 21211, "The 'To' number %s is not a valid phone number.", in->to);
	else if (in->from && !sms_valid_e164(in->from) && !sms_valid_sender_id(in->from))
		tw_error(resp, 400, 21212,
			 "The 'From' number %s is not a valid phone number, shortcode, or alphanumeric sender ID.", in->from);
	else if (in->mss && (strncmp(in->mss, "MG", 2) != 0 || strlen(in->mss) != 34))
		tw_error(resp, 400, 21701, "The Messaging Service Sid %s is invalid.", in->mss);
	else if (sms_utf8_len(in->body) > 1600)
		tw_error(resp, 400, 21617, "The concatenated message body exceeds the 1600 character limit.");
	else if (in->cb && !mock_is_http_url(in->cb))
		tw_error(resp, 400, 21609, "The StatusCallback URL %s is not a valid URL.", in->cb);
	else
		return 0;
	return -1;
}

/* Refuse magic numbers and fault-injected recipients: 0, or -1 after the answer. */
static int check_numbers(const struct twilio *tw, const struct msg_in *in, struct mock_resp *resp)
{
	char *msg = NULL;
	int status;

	for (size_t i = 0; i < MOCK_NELEM(magics); i++) {
		const char *n = magics[i].from ? in->from : in->to;
		if (n && strcmp(n, magics[i].number) == 0) {
			tw_error(resp, 400, magics[i].code, "%s%s%s", magics[i].pre, n, magics[i].post);
			return -1;
		}
	}
	if (mock_faults_target(mock_server_faults(tw->sms->srv), in->to, &status, &msg)) {
		tw_error(resp, status, fault_code(status), "%s", msg);
		free(msg);
		return -1;
	}
	return 0;
}

/* Check and pin the StatusCallback: 0, or -1 after a 400 naming the rule. */
static int check_callback(const struct twilio *tw, const char *cb, struct mock_target *own, struct mock_resp *resp)
{
	struct mock_err e;

	if (sms_callback_check(tw->sms, cb, own, &e) == 0)
		return 0;
	tw_error(resp, 400, 21609, "StatusCallback %s is not allowed: %s", cb, e.msg);
	return -1;
}

/* The plan of a recipient. */
static const struct sms_step *plan_for(const char *to)
{
	if (strcmp(to, TWILIO_MOCK_UNDELIVERED) == 0)
		return plan_undelivered;
	if (strcmp(to, TWILIO_MOCK_FAILED) == 0)
		return plan_failed;
	return sms_plan_ok;
}

/* Twilio's RFC 2822 date of an RFC 3339 UTC time. */
bool twilio_date(const char *rfc3339, char out[40])
{
	static const char *const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
	static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
					     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	struct tm tm = {0};
	time_t t;

	if (!rfc3339 || sscanf(rfc3339, "%4d-%2d-%2dT%2d:%2d:%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
			       &tm.tm_hour, &tm.tm_min, &tm.tm_sec) != 6 || tm.tm_mon < 1 || tm.tm_mon > 12)
		return false;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	t = timegm(&tm);
	if (t == (time_t)-1 || !gmtime_r(&t, &tm))
		return false;
	snprintf(out, 40, "%s, %02d %s %04d %02d:%02d:%02d +0000", days[tm.tm_wday], tm.tm_mday,
		 months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
	return true;
}

/* A string field of a record ("" when absent). */
static const char *field(const json_t *rec, const char *key)
{
	const char *v = json_string_value(json_object_get(rec, key));

	return v ? v : "";
}

/* The RFC 3339 time a message reached status "sent", or NULL. */
static const char *sent_at(const json_t *rec)
{
	size_t i;
	json_t *h;

	json_array_foreach(json_object_get(rec, "history"), i, h) {
		if (strcmp(field(h, "status"), "sent") == 0)
			return json_string_value(json_object_get(h, "at"));
	}
	return NULL;
}

/* The Twilio Message resource of a stored record (a new reference). */
static json_t *tw_message(const json_t *rec)
{
	const char *acct = field(rec, "account_sid"), *sid = field(rec, "id");
	char created[40], updated[40], sent[40], segs[24];
	bool c = twilio_date(field(rec, "created_at"), created), u = twilio_date(field(rec, "updated_at"), updated);
	bool s = twilio_date(sent_at(rec), sent);
	char *uri = mock_xasprintf(API "/Accounts/%s/Messages/%s.json", acct, sid);
	char *media = mock_xasprintf(API "/Accounts/%s/Messages/%s/Media.json", acct, sid);
	char *fb = mock_xasprintf(API "/Accounts/%s/Messages/%s/Feedback.json", acct, sid);
	json_t *m;

	snprintf(segs, sizeof(segs), "%lld", (long long)json_integer_value(json_object_get(rec, "segments")));
	m = json_pack("{s:s,s:s,s:O?,s:s?,s:s?,s:s?,s:s,s:O?,s:O?,s:O?,s:O?,s:s,s:s,s:n,s:s,s:s,s:O?,"
		      "s:{s:s,s:s},s:O?,s:s}",
		      "account_sid", acct, "api_version", "2010-04-01", "body", json_object_get(rec, "body"),
		      "date_created", c ? created : NULL, "date_sent", s ? sent : NULL, "date_updated",
		      u ? updated : NULL, "direction", "outbound-api", "error_code",
		      json_object_get(rec, "error_code"), "error_message", json_object_get(rec, "error_message"),
		      "from", json_object_get(rec, "from"), "messaging_service_sid",
		      json_object_get(rec, "messaging_service_sid"), "num_media", "0", "num_segments", segs,
		      "price", "price_unit", "USD", "sid", sid, "status", json_object_get(rec, "status"),
		      "subresource_uris", "media", media, "feedback", fb, "to", json_object_get(rec, "to"),
		      "uri", uri);
	free(uri);
	free(media);
	free(fb);
	return m ? m : json_object();
}

/* Add a callback parameter from a record's string or integer field, when it has one. */
static void param_from(struct mock_kvlist *p, const char *name, const json_t *rec, const char *key)
{
	const json_t *v = json_object_get(rec, key);
	char num[24];

	if (json_is_string(v)) {
		mock_kv_add(p, name, json_string_value(v));
	} else if (json_is_integer(v)) {
		snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(v));
		mock_kv_add(p, name, num);
	}
}

/* POST a message's status to its StatusCallback as Twilio does: form-encoded, signed with key. */
static void tw_notify(struct sms *s, const json_t *msg, const struct mock_target *own, const char *key)
{
	struct mock_kvlist p = {0}, h = {0};
	json_t *logged = json_object();
	char *body, *sig;

	param_from(&p, "AccountSid", msg, "account_sid");
	mock_kv_add(&p, "ApiVersion", "2010-04-01");
	param_from(&p, "ErrorCode", msg, "error_code");
	param_from(&p, "From", msg, "from");
	param_from(&p, "MessageSid", msg, "id");
	param_from(&p, "MessageStatus", msg, "status");
	param_from(&p, "MessagingServiceSid", msg, "messaging_service_sid");
	param_from(&p, "SmsSid", msg, "id");
	param_from(&p, "SmsStatus", msg, "status");
	param_from(&p, "To", msg, "to");
	for (size_t i = 0; i < p.n; i++)
		json_object_set_new(logged, p.v[i].key, json_string(p.v[i].value));
	body = mock_form_encode(&p);
	if (key) {
		sig = mock_twilio_signature(key, own->url, &p);
		mock_kv_add(&h, "X-Twilio-Signature", sig);
		free(sig);
	}
	free(mock_webhook_send_raw(mock_server_webhook(s->srv), own, "message.status",
				   &(struct mock_webhook_raw){.content_type = "application/x-www-form-urlencoded",
							      .body = body, .headers = &h, .logged = logged}, 0));
	free(body);
	json_decref(logged);
	mock_kv_free(&p);
	mock_kv_free(&h);
}

/* A fresh message SID: "SM" and 32 lowercase hex digits; caller frees. */
static char *message_sid(void)
{
	unsigned char r[16];
	char *sid = mock_xmalloc(35);

	sbx_random(r, sizeof(r));
	memcpy(sid, "SM", 2);
	for (size_t i = 0; i < sizeof(r); i++)
		snprintf(sid + 2 + 2 * i, 3, "%02x", r[i]);
	return sid;
}

/* A new Twilio message (NULL when a field is not UTF-8: the form decoder refuses those first). */
static struct sms_msg *tw_record(const struct mock_req *req, const struct msg_in *in)
{
	struct sms_msg *m = sms_msg_new(in->to, in->from, in->body, in->cb);

	if (m)
		sms_msg_set_twilio(m, message_sid(), mock_req_param(req, "AccountSid"), in->mss);
	return m;
}

/* POST /2010-04-01/Accounts/{AccountSid}/Messages.json. */
static void h_create(const struct mock_req *req, struct mock_resp *resp, void *arg)
{
	struct twilio *tw = arg;
	struct mock_kvlist form = {0};
	struct mock_target own = {.url = NULL};
	struct msg_in in;
	char *key = NULL;
	struct sms_msg *m;
	json_t *rec;

	if (tw_begin(tw, req, &key, resp) < 0 || tw_faults(tw, resp) < 0 || tw_form(req, &form, resp) < 0)
		goto out;
	in = (struct msg_in){form_get(&form, "To"), form_get(&form, "From"), form_get(&form, "MessagingServiceSid"),
			     form_get(&form, "Body"), form_get(&form, "StatusCallback")};
	if (check_params(req, &form, &in, resp) < 0 || check_numbers(tw, &in, resp) < 0 ||
	    check_callback(tw, in.cb, &own, resp) < 0)
		goto out;
	m = tw_record(req, &in);
	rec = m ? sms_msg_json(m) : NULL;
	if (!rec) {
		sms_msg_free(m);
		tw_error(resp, 400, 0, "The request could not be processed (its text is not UTF-8)");
		goto out;
	}
	mock_resp_json(resp, 201, tw_message(rec));
	json_decref(rec);
	sms_accept(tw->sms, m, plan_for(in.to), &own, tw_notify, key, NULL);
out:
	mock_target_clear(&own);
	mock_kv_free(&form);
	secret_free(key);
}

/* Read a paging number from the query (default when absent): 0, or -1 after a 400. */
static int page_arg(const struct mock_req *req, const char *key, int64_t min, int64_t max, int64_t *out,
		    struct mock_resp *resp)
{
	const char *v = mock_req_query(req, key);

	if (!v || mock_parse_int(v, min, max, out) == 0)
		return 0;
	tw_error(resp, 400, 0, "%s must be an integer between %lld and %lld", key, (long long)min,
		 (long long)max);
	return -1;
}

/* The URI of one page of a list (the filters, then PageSize, Page and PageToken when not NULL), or NULL
 * (page < 0); caller frees. */
static char *page_uri(const char *acct, const struct mock_kvlist *filters, int64_t size, int64_t page,
		      const char *token)
{
	char *q = mock_form_encode(filters), *uri;

	uri = page < 0 ? NULL : mock_xasprintf(API "/Accounts/%s/Messages.json?%s%sPageSize=%lld&Page=%lld%s%s", acct,
					      q, *q ? "&" : "", (long long)size, (long long)page,
					      token ? "&PageToken=" : "", token ? token : "");
	free(q);
	return uri;
}

/* One page of a list: where it starts in the matches, its number and the token it was asked with. */
struct page {
	int64_t size, number;
	size_t start, end; /* the page's items are matches [start, end), at most size of them */
	const char *token; /* the request's PageToken, or NULL */
};

/* The position of the message sid in a list of records, or -1. */
static ssize_t position(const json_t *recs, const char *sid)
{
	size_t i;
	json_t *rec;

	json_array_foreach(recs, i, rec) {
		if (strcmp(field(rec, "id"), sid) == 0)
			return (ssize_t)i;
	}
	return -1;
}

/*
 * Place a page in the matches (newest first). A PageToken anchors it on a message, as Twilio's do,
 * so that messages created between two pages shift nothing: "PA" + sid, the page after that message
 * (next_page_uri); "PB" + sid, the page before it (previous_page_uri). Without a token, or when its
 * message is gone (deleted or evicted), Page * PageSize. -1 after a 400 for a malformed token.
 */
static int page_place(const struct mock_req *req, const json_t *recs, struct page *pg, struct mock_resp *resp)
{
	const char *t = pg->token = mock_req_query(req, "PageToken");
	size_t total = json_array_size(recs);
	ssize_t at = -1;

	if (t && ((strncmp(t, "PA", 2) != 0 && strncmp(t, "PB", 2) != 0) || strlen(t) > 64)) {
		tw_error(resp, 400, 0, "PageToken must be one that a next_page_uri or previous_page_uri gave");
		return -1;
	}
	if (t)
		at = position(recs, t + 2);
	if (at >= 0 && t[1] == 'A') {
		pg->start = (size_t)at + 1;
		pg->end = total;
	} else if (at >= 0) {
		pg->end = (size_t)at;
		pg->start = pg->end > (size_t)pg->size ? pg->end - (size_t)pg->size : 0;
	} else {
		pg->start = (size_t)(pg->size * pg->number) < total ? (size_t)(pg->size * pg->number) : total;
		pg->end = total;
	}
	if (pg->end - pg->start > (size_t)pg->size)
		pg->end = pg->start + (size_t)pg->size;
	return 0;
}

/* The list answer around a page's items (stolen): next and previous pages anchored on its last and first. */
static json_t *list_doc(const char *acct, const struct mock_kvlist *filters, const struct page *pg, size_t total,
			json_t *items)
{
	size_t n = json_array_size(items), start = (size_t)(pg->size * pg->number);
	const char *first_sid = field(json_array_get(items, 0), "sid"), *last_sid = field(json_array_get(items, n - 1), "sid");
	char *after = mock_xasprintf("PA%s", last_sid), *before = mock_xasprintf("PB%s", first_sid);
	char *first = page_uri(acct, filters, pg->size, 0, NULL), *cur = page_uri(acct, filters, pg->size, pg->number, pg->token);
	char *next = page_uri(acct, filters, pg->size, n && pg->start + n < total ? pg->number + 1 : -1, after);
	char *prev = page_uri(acct, filters, pg->size, n && pg->start > 0 ? (pg->number > 0 ? pg->number - 1 : 0) : -1,
			      before);
	json_t *doc = json_pack("{s:I,s:s,s:s?,s:I,s:I,s:s?,s:o,s:I,s:s}", "end",
				(json_int_t)(n ? start + n - 1 : start), "first_page_uri", first, "next_page_uri",
				next, "page", (json_int_t)pg->number, "page_size", (json_int_t)pg->size,
				"previous_page_uri", prev, "messages", items, "start", (json_int_t)start, "uri", cur);

	free(after);
	free(before);
	free(first);
	free(cur);
	free(next);
	free(prev);
	return doc ? doc : json_object();
}

/* GET /2010-04-01/Accounts/{AccountSid}/Messages.json: newest first, Twilio's paging (PageToken anchored). */
static void h_list(const struct mock_req *req, struct mock_resp *resp, void *arg)
{
	struct twilio *tw = arg;
	const char *acct = mock_req_param(req, "AccountSid");
	struct mock_kvlist filters = {0}, match = {0};
	struct page pg = {.size = 50};
	size_t total, i;
	json_t *recs, *items;

	if (tw_begin(tw, req, NULL, resp) < 0)
		return;
	for (i = 0; i < MOCK_NELEM(unsupported_filters); i++) {
		if (mock_req_query(req, unsupported_filters[i])) {
			tw_unsupported(req, unsupported_filters[i], resp);
			return;
		}
	}
	if (page_arg(req, "PageSize", 1, 1000, &pg.size, resp) < 0 ||
	    page_arg(req, "Page", 0, 1000000, &pg.number, resp) < 0)
		return;
	mock_kv_add(&match, "account_sid", acct);
	for (i = 0; i < 2; i++) {
		const char *name = i ? "From" : "To", *v = mock_req_query(req, name);
		if (v) {
			mock_kv_add(&filters, name, v);
			mock_kv_add(&match, i ? "from" : "to", v);
		}
	}
	recs = mock_store_list(tw->sms->messages, &match, 0, SIZE_MAX, &total);
	if (page_place(req, recs, &pg, resp) == 0) {
		items = json_array();
		for (i = pg.start; i < pg.end; i++)
			json_array_append_new(items, tw_message(json_array_get(recs, i)));
		mock_resp_json(resp, 200, list_doc(acct, &filters, &pg, json_array_size(recs), items));
	}
	json_decref(recs);
	mock_kv_free(&filters);
	mock_kv_free(&match);
}

/* The record a Messages/{File} path names in its account, or NULL after a 404. */
static json_t *tw_lookup(const struct twilio *tw, const struct mock_req *req, struct mock_resp *resp)
{
	const char *file = mock_req_param(req, "File");
	size_t n = strlen(file);
	char *sid = n > 5 && strcmp(file + n - 5, ".json") == 0 ? mock_xstrndup(file, n - 5) : NULL;
	json_t *rec = sid ? mock_store_get(tw->sms->messages, sid) : NULL;

	free(sid);
	if (rec && strcmp(field(rec, "account_sid"), mock_req_param(req, "AccountSid")) == 0)
		return rec;
	json_decref(rec);
	tw_not_found(req, resp);
	return NULL;
}

/* GET /2010-04-01/Accounts/{AccountSid}/Messages/{Sid}.json. */
static void h_fetch(const struct mock_req *req, struct mock_resp *resp, void *arg)
{
	struct twilio *tw = arg;
	json_t *rec;

	if (tw_begin(tw, req, NULL, resp) < 0 || !(rec = tw_lookup(tw, req, resp)))
		return;
	mock_resp_json(resp, 200, tw_message(rec));
	json_decref(rec);
}

/* DELETE /2010-04-01/Accounts/{AccountSid}/Messages/{Sid}.json. */
static void h_delete(const struct mock_req *req, struct mock_resp *resp, void *arg)
{
	struct twilio *tw = arg;
	json_t *rec;

	if (tw_begin(tw, req, NULL, resp) < 0 || !(rec = tw_lookup(tw, req, resp)))
		return;
	if (mock_store_del(tw->sms->messages, field(rec, "id")) < 0)
		tw_not_found(req, resp); /* deleted meanwhile */
	else
		mock_resp_text(resp, 204, "application/json", "");
	json_decref(rec);
}

/* Anything else under /2010-04-01/: 501 naming the operation. */
static void h_unsupported(const struct mock_req *req, struct mock_resp *resp, void *arg)
{
	(void)arg;
	tw_unsupported(req, NULL, resp);
}

/* Read an option given as a value or as a -file (the file wins); 0, or -1 with e. */
static int tw_option(const struct mock_opts *o, const char *name, char **out, struct mock_err *e)
{
	char *file_opt = mock_xasprintf("%s-file", name);
	const char *v = mock_opts_get(o, name), *path = mock_opts_get(o, file_opt);
	int rc = 0;

	if (path)
		rc = mock_opts_secret_file(file_opt, out, path, e);
	else if (v && *v)
		*out = mock_xstrdup(v);
	free(file_opt);
	return rc;
}

/* Read the options: 0, or -1 with e. */
static int tw_config(struct twilio *tw, struct mock_err *e)
{
	const struct mock_opts *o = mock_server_opts(tw->sms->srv);
	const char *sid;

	if (tw_option(o, "account-sid", &tw->account_sid, e) < 0 || tw_option(o, "auth-token", &tw->auth_token, e) < 0)
		return -1;
	sid = tw->account_sid;
	if (sid && (strncmp(sid, "AC", 2) != 0 || strlen(sid) < 3 || strlen(sid) > 64 ||
		    strspn(sid, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789") != strlen(sid)))
		return mock_err_set(e, "--account-sid: expected \"AC\" followed by letters and digits (at most 64)");
	return 0;
}

/* Create the Twilio API and register its routes. */
struct twilio *twilio_new(struct sms *s, struct mock_err *e)
{
	struct twilio *tw = mock_xcalloc(1, sizeof(*tw));
	struct mock_server *srv = s->srv;

	tw->sms = s;
	if (tw_config(tw, e) < 0) {
		twilio_free(tw);
		return NULL;
	}
	mock_server_route(srv, "POST", ACCOUNT "/Messages.json", h_create, tw, MOCK_ROUTE_SELF_AUTH);
	mock_server_route(srv, "GET", ACCOUNT "/Messages.json", h_list, tw, MOCK_ROUTE_SELF_AUTH);
	mock_server_route(srv, "GET", ACCOUNT "/Messages/{File}", h_fetch, tw, MOCK_ROUTE_SELF_AUTH);
	mock_server_route(srv, "DELETE", ACCOUNT "/Messages/{File}", h_delete, tw, MOCK_ROUTE_SELF_AUTH);
	mock_server_route(srv, "*", API "/*", h_unsupported, tw, MOCK_ROUTE_SELF_AUTH);
	return tw;
}

/* Free the API. */
void twilio_free(struct twilio *tw)
{
	if (!tw)
		return;
	free(tw->account_sid);
	secret_free(tw->auth_token);
	free(tw);
}
