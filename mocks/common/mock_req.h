/*
 * mock_req — plain HTTP request/response objects, independent of libmicrohttpd (so that tests and
 * fuzzers build them by hand), and the JSON helpers of route handlers (jansson).
 */
#ifndef SBX_MOCK_REQ_H
#define SBX_MOCK_REQ_H

#include "buf.h"
#include "mock_kv.h"
#include "mock_util.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MOCK_MAX_PARAMS 4

struct mock_req {
	char *method;            /* "GET" */
	char *path;              /* "/v1/messages/SM1" (decoded, without the query) */
	struct mock_kvlist query;   /* decoded query arguments ('+' kept: "?to=+1555...") */
	char *raw_query;         /* the query string as sent (without the '?'), or NULL */
	struct mock_kvlist headers; /* request headers */
	char *body;              /* NUL-terminated (also when body_len == 0) */
	size_t body_len;
	char *remote;            /* client address, or NULL */
	/* Set by the router: {name} captures of the matched pattern. */
	const char *param_names[MOCK_MAX_PARAMS];
	char *param_values[MOCK_MAX_PARAMS];
	size_t nparams;
	const char *route;       /* the matched pattern ("/v1/messages/{id}") or NULL */
	/* The pipeline's progress (mock_server_step); zero in a new request. */
	int stage;
	int64_t t0_ms;           /* monotonic start, 0 = when the pipeline starts */
	size_t route_ix;
};

/* A request built by hand (tests, fuzzers): path may carry "?a=b&c=d" (percent-decoded here). */
struct mock_req *mock_req_new(const char *method, const char *path, const void *body, size_t len);
/* Add a request header. */
void mock_req_add_header(struct mock_req *r, const char *name, const char *value);
/* Free a request. NULL is a no-op. */
void mock_req_free(struct mock_req *r);
/* Query argument, header (case-insensitive) or path capture by name; NULL when absent. */
const char *mock_req_query(const struct mock_req *r, const char *key);
const char *mock_req_header(const struct mock_req *r, const char *name);
const char *mock_req_param(const struct mock_req *r, const char *name);
/* Parse a query string "a=b&c=d" (percent-decoded, '+' kept) into l (what the listener calls). */
void mock_req_parse_query(struct mock_kvlist *l, const char *q);
/*
 * Parse a query string as an HTML form encodes it ('+' is a space, as URLSearchParams and Go's
 * url.Query read it) into l; q may be NULL (nothing added).
 */
void mock_req_parse_form(struct mock_kvlist *l, const char *q);

struct mock_wait;
struct mock_resp {
	int status;              /* 0 until set: the pipeline turns it into 500 */
	char *body;
	size_t body_len;
	const char *content_type; /* static string */
	struct mock_kvlist headers;
	int64_t delay_ms;         /* hold the answer back this long (mock_resp_delay) */
	struct mock_wait *wait;   /* a long-poll to finish first (mock_resp_wait in mock_store.h) */
};
/* Release what the response holds (not the struct itself); it can be reused. */
void mock_resp_clear(struct mock_resp *r);
/*
 * Send the answer ms milliseconds later (injected latency). The HTTP layer parks the connection
 * meanwhile (no thread waits); mock_server_handle sleeps.
 */
void mock_resp_delay(struct mock_resp *r, int64_t ms);
/* Respond with a JSON document (steals `doc`; compact, followed by "\n"). */
void mock_resp_json(struct mock_resp *r, int status, json_t *doc);
/* Respond with text (copied). */
void mock_resp_text(struct mock_resp *r, int status, const char *content_type, const char *text);
/* Respond {"error": {"code": code, "message": message}}. */
void mock_resp_error(struct mock_resp *r, int status, const char *code, const char *fmt, ...)
	MOCK_PRINTF(4, 5);
/*
 * Read the integer query argument key into *out (def when absent). 0, or -1 after answering 400
 * "invalid_query" on r when it is not an integer in [0, max].
 */
int mock_req_query_int(const struct mock_req *req, const char *key, int64_t def, int64_t max,
		       int64_t *out, struct mock_resp *r) MOCK_WUR;
/* Respond with body (malloc'd, len bytes; taken over) and a static Content-Type string. */
void mock_resp_take(struct mock_resp *r, int status, const char *content_type, char *body, size_t len);
/* Respond with the bytes of b (taken over: b is left empty) and a Content-Type (copied). */
void mock_resp_bytes(struct mock_resp *r, int status, struct sbx_buf *b, const char *content_type);
/* The HTTP Basic credentials of a request, decoded: "user\0password" (caller frees; cleanse it),
 * *pass pointing into it ("" when the decoded text has no colon); NULL when there are none or
 * they are malformed (not base64, NUL inside, over 4 KiB). */
char *mock_req_basic(const struct mock_req *r, const char **pass);
/* Add a response header (copied). */
void mock_resp_header(struct mock_resp *r, const char *name, const char *value);

/*
 * Parse the body as a JSON object. On failure respond 400 (malformed JSON with jansson's
 * message and position, or "body must be a JSON object") and return NULL. Caller decrefs.
 */
json_t *mock_req_json(const struct mock_req *r, struct mock_resp *resp);
/*
 * Read obj[key] as a string. Returns 0 (and *out, borrowed from obj, or NULL when absent and not
 * required), or -1 after a 400 response naming the field.
 */
int mock_json_str(json_t *obj, const char *key, bool required, const char **out,
		  struct mock_resp *resp) MOCK_WUR;
/* What the strings mock_req_str_fields hands back point into (free with mock_fields_free). */
struct mock_fields {
	char *buf;   /* a copy of the body (the quick path) */
	json_t *doc; /* the body parsed by jansson */
};
/*
 * Read the string fields keys[0..n) of a JSON object body into out (NULL when absent or null and
 * not required), in order, with exactly the answers of mock_req_json then mock_json_str for each
 * key (a 400 on the first failure: -1). A body that is an object of at most 16 members, each a
 * string of printable ASCII without escapes or null, with distinct keys, is read without jansson;
 * any other goes through mock_req_json. The strings live until mock_fields_free(hold), which
 * is needed on both returns.
 */
int mock_req_str_fields(const struct mock_req *r, size_t n, const char *const *keys,
			const bool *required, const char **out, struct mock_fields *hold,
			struct mock_resp *resp) MOCK_WUR;
/* Free what mock_req_str_fields' strings point into. */
void mock_fields_free(struct mock_fields *hold);
/* Read obj[key] as an integer in [min, max]; same contract (absent and optional: *out untouched). */
int mock_json_int(json_t *obj, const char *key, bool required, int64_t min, int64_t max,
		  int64_t *out, struct mock_resp *resp) MOCK_WUR;
/* Compact JSON text of doc, in an allocation of about its length; caller frees. */
char *mock_json_dump(const json_t *doc);
/*
 * Append s (len bytes, UTF-8) to b as a JSON string, escaped as json_dumps escapes it: '"', '\\'
 * and control characters only (the text mock_json_dump writes for a string).
 */
void mock_json_put_str(struct sbx_buf *b, const char *s, size_t len);
/* The most bytes mock_json_esc writes for len bytes: every byte as \u00XX, and the quotes. */
#define MOCK_JSON_STR_MAX(len) (6 * (size_t)(len) + 2)
/*
 * Write s (len bytes, UTF-8) as a JSON string (quotes included, escaped as mock_json_put_str; no
 * NUL) at out, which has room for MOCK_JSON_STR_MAX(len) bytes. Returns the bytes written.
 */
size_t mock_json_esc(char *out, const char *s, size_t len);
/* The bytes mock_json_esc writes for s (len bytes). */
size_t mock_json_esc_len(const char *s, size_t len);

#endif
