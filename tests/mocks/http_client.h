/*
 * http_client — a header-only HTTP client for the mock tests, on libcurl (tests/mocks only: the
 * unit tests do not link libcurl).
 */
#ifndef SBX_TEST_HTTP_CLIENT_H
#define SBX_TEST_HTTP_CLIENT_H

#include <curl/curl.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct http_resp {
	long status;     /* 0 when the request failed at the transport */
	char *body;      /* NUL-terminated */
	size_t len;
	char *headers;   /* raw response headers */
	size_t hlen;
	json_t *json;    /* the body parsed, or NULL */
	double seconds;  /* total time */
};

struct http__buf {
	char *data;
	size_t len;
};

/* Append to a growing buffer (libcurl write callback). */
static inline size_t http__sink(char *p, size_t size, size_t n, void *arg)
{
	struct http__buf *b = arg;
	size_t add = size * n;

	b->data = realloc(b->data, b->len + add + 1);
	memcpy(b->data + b->len, p, add);
	b->len += add;
	b->data[b->len] = '\0';
	return add;
}

/*
 * Perform METHOD url with body (may be NULL) and extra headers (NULL-terminated array, may be
 * NULL). Fills r (free with http_resp_free). Returns r->status.
 */
static inline long http_req(struct http_resp *r, const char *method, const char *url,
			    const char *body, const char *const *headers)
{
	CURL *c = curl_easy_init();
	struct curl_slist *h = curl_slist_append(NULL, "Expect:");
	struct http__buf bbuf = {NULL, 0}, hbuf = {NULL, 0};

	memset(r, 0, sizeof(*r));
	for (size_t i = 0; headers && headers[i]; i++)
		h = curl_slist_append(h, headers[i]);
	if (body)
		h = curl_slist_append(h, "Content-Type: application/json");
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	if (body) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	}
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, http__sink);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &bbuf);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, http__sink);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &hbuf);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	if (curl_easy_perform(c) == CURLE_OK) {
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
		curl_easy_getinfo(c, CURLINFO_TOTAL_TIME, &r->seconds);
	}
	r->body = bbuf.data ? bbuf.data : strdup("");
	r->len = bbuf.len;
	r->headers = hbuf.data ? hbuf.data : strdup("");
	r->hlen = hbuf.len;
	r->json = json_loads(r->body, 0, NULL);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	return r->status;
}

/* Like http_req with a formatted URL. */
static inline long http_reqf(struct http_resp *r, const char *method, const char *body,
			     const char *const *headers, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
static inline long http_reqf(struct http_resp *r, const char *method, const char *body,
			     const char *const *headers, const char *fmt, ...)
{
	char url[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(url, sizeof(url), fmt, ap);
	va_end(ap);
	return http_req(r, method, url, body, headers);
}

/* A string field of the JSON body (or of its "error" object when key starts with "error."). */
static inline const char *http_str(const struct http_resp *r, const char *key)
{
	const json_t *o = r->json;

	if (strncmp(key, "error.", 6) == 0) {
		o = json_object_get(o, "error");
		key += 6;
	}
	return json_string_value(json_object_get(o, key));
}

/* An integer field of the JSON body (-1 when absent). */
static inline long long http_int(const struct http_resp *r, const char *key)
{
	const json_t *v = json_object_get(r->json, key);

	return json_is_integer(v) ? (long long)json_integer_value(v) : -1;
}

/* Whether the raw response headers contain text (case-sensitive). */
static inline int http_has_header(const struct http_resp *r, const char *text)
{
	return strstr(r->headers, text) != NULL;
}

/* Release a response. */
static inline void http_resp_free(struct http_resp *r)
{
	free(r->body);
	free(r->headers);
	json_decref(r->json);
	memset(r, 0, sizeof(*r));
}

#endif
