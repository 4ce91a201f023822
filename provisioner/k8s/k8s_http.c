/* k8s_http — requests to the API server through a pool of libcurl handles. */
#include "k8s_http.h"
#include "k8s_int.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#define K8S_BODY_MAX ((size_t)256 << 20)
#define K8S_TIMEOUT_MS 30000
#define K8S_CONNECT_MS 10000

/* What the write callback fills. */
struct wctx {
	CURL *h;
	const struct k8s_req *r;
	struct sbx_buf buf;
	struct sbx_err *err;
	bool failed, stopped, too_big;
};

/* Open a connection. */
int k8s_open(const struct k8s_config *cfg, struct k8s **out, struct sbx_err *err)
{
	if (cfg == NULL || cfg->server == NULL)
		return sbx_err_set(err, SBX_EXIT_USAGE, "no API server to connect to");
	struct k8s *k = xcalloc(1, sizeof(*k));
	k->cfg = k8s_config_dup(cfg);
	if (k->cfg->token) {
		char *h = xasprintf("Authorization: Bearer %s", k->cfg->token);
		k->auth = curl_slist_append(NULL, h);
		k8s_secret_free(h, strlen(h));
	}
	pthread_mutex_init(&k->mu, NULL);
	k->disc = k8s_disc_new();
	*out = k;
	return 0;
}

/* Close a connection. */
void k8s_close(struct k8s *k)
{
	if (k == NULL)
		return;
	for (size_t i = 0; i < k->nidle; i++)
		curl_easy_cleanup(k->idle[i]);
	if (k->auth) {
		OPENSSL_cleanse(k->auth->data, strlen(k->auth->data));
		curl_slist_free_all(k->auth);
	}
	k8s_disc_free(k->disc);
	pthread_mutex_destroy(&k->mu);
	k8s_config_free(k->cfg);
	free(k);
}

/* The context's namespace. */
const char *k8s_namespace(const struct k8s *k)
{
	return k->cfg->namespace ? k->cfg->namespace : "default";
}

/* Take an idle handle, or make one. */
static CURL *pool_get(struct k8s *k)
{
	CURL *h = NULL;
	pthread_mutex_lock(&k->mu);
	if (k->nidle > 0)
		h = k->idle[--k->nidle];
	pthread_mutex_unlock(&k->mu);
	if (h == NULL && (h = curl_easy_init()) == NULL) {
		fprintf(stderr, "sandbox: out of memory (curl_easy_init)\n");
		abort();
	}
	curl_easy_reset(h);
	return h;
}

/* Give a handle back (its connection stays open for the next request). */
static void pool_put(struct k8s *k, CURL *h)
{
	pthread_mutex_lock(&k->mu);
	if (k->nidle < K8S_POOL_MAX) {
		k->idle[k->nidle++] = h;
		h = NULL;
	}
	pthread_mutex_unlock(&k->mu);
	curl_easy_cleanup(h);
}

/* Hand a PEM blob to libcurl without a copy (it stays ours, wiped on close). */
static void set_blob(CURL *h, CURLoption opt, const struct k8s_blob *b)
{
	if (b->len == 0)
		return;
	struct curl_blob cb = {b->data, b->len, CURL_BLOB_NOCOPY};
	curl_easy_setopt(h, opt, &cb);
}

/* The options every request of this connection shares: TLS, timeouts, identity. */
static void handle_common(const struct k8s *k, CURL *h, int64_t timeout_ms)
{
	const struct k8s_config *c = k->cfg;
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_USERAGENT, "sandbox");
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)K8S_CONNECT_MS);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)(timeout_ms > 0 ? timeout_ms :
		c->timeout_ms > 0 ? c->timeout_ms : K8S_TIMEOUT_MS));
	curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
	if (c->ca.len) {
		set_blob(h, CURLOPT_CAINFO_BLOB, &c->ca);
		curl_easy_setopt(h, CURLOPT_CAPATH, NULL); /* only the cluster's CA */
	}
	set_blob(h, CURLOPT_SSLCERT_BLOB, &c->cert);
	set_blob(h, CURLOPT_SSLKEY_BLOB, &c->key);
	if (c->cert.len) {
		curl_easy_setopt(h, CURLOPT_SSLCERTTYPE, "PEM");
		curl_easy_setopt(h, CURLOPT_SSLKEYTYPE, "PEM");
	}
	if (c->insecure) {
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
	}
}

/* Hand the complete lines of the buffer to the line callback. */
static bool wctx_lines(struct wctx *w)
{
	char *p = w->buf.data, *end = w->buf.data + w->buf.len, *nl;
	while ((nl = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		*nl = '\0';
		int rc = nl > p ? w->r->line(p, (size_t)(nl - p), w->r->ud, w->err) : 0;
		p = nl + 1;
		if (rc != 0) {
			w->stopped = rc > 0;
			w->failed = rc < 0;
			return false;
		}
	}
	size_t rest = (size_t)(end - p);
	memmove(w->buf.data, p, rest);
	w->buf.len = rest;
	w->buf.data[rest] = '\0';
	return true;
}

/* libcurl's write callback: collect the body, or stream its lines. */
static size_t on_write(char *data, size_t size, size_t n, void *ud)
{
	struct wctx *w = ud;
	long code = 0;
	size_t len = size * n;
	if (w->buf.len + len > K8S_BODY_MAX) {
		w->too_big = true;
		return 0;
	}
	sbx_buf_add(&w->buf, data, len);
	curl_easy_getinfo(w->h, CURLINFO_RESPONSE_CODE, &code);
	if (w->r->line && code / 100 == 2 && !wctx_lines(w))
		return 0;
	return len;
}

/* The request's headers: Accept, Content-Type, then the shared auth header (linked, not copied). */
static struct curl_slist *req_headers(const struct k8s *k, const struct k8s_req *r)
{
	char a[256], c[128];
	snprintf(a, sizeof(a), "Accept: %s", r->accept ? r->accept : "application/json");
	snprintf(c, sizeof(c), "Content-Type: %s", r->ctype ? r->ctype : "application/json");
	struct curl_slist *l = curl_slist_append(NULL, a);
	if (r->body) {
		l = curl_slist_append(l, c);
		l = curl_slist_append(l, "Expect:"); /* no 100-continue round trip for large objects */
	}
	struct curl_slist *last = l;
	while (last->next)
		last = last->next;
	last->next = k->auth;
	return l;
}

/* Free the request's own headers (not the shared auth header). */
static void req_headers_free(const struct k8s *k, struct curl_slist *l)
{
	for (struct curl_slist *p = l; p; p = p->next)
		if (p->next == k->auth) {
			p->next = NULL;
			break;
		}
	curl_slist_free_all(l);
}

/* Word a transport failure. */
static int http_fail(const struct k8s_req *r, const struct wctx *w, CURLcode rc, const char *ebuf,
	struct sbx_err *err)
{
	const char *q = strchr(r->path, '?');
	int plen = q ? (int)(q - r->path) : (int)strlen(r->path);
	if (w->too_big)
		return sbx_err_set(err, SBX_EXIT_FAILED, "%s %.*s: answer larger than %zu bytes", r->method,
			plen, r->path, K8S_BODY_MAX);
	return sbx_err_set(err, SBX_EXIT_FAILED, "%s %.*s: %s", r->method, plen, r->path,
		*ebuf ? ebuf : curl_easy_strerror(rc));
}

/* Run one request on a handle. */
static int http_perform(struct k8s *k, CURL *h, const struct k8s_req *r, struct k8s_resp *resp,
	struct sbx_err *err)
{
	char ebuf[CURL_ERROR_SIZE] = "";
	struct wctx w = {.h = h, .r = r, .err = err};
	char *url = xasprintf("%s%s", k->cfg->server, r->path);
	char *body = r->body ? json_dumps(r->body, JSON_COMPACT) : NULL;
	struct curl_slist *hdr = req_headers(k, r);
	handle_common(k, h, r->timeout_ms);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, r->method);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, ebuf);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &w);
	if (body) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
	}
	CURLcode rc = curl_easy_perform(h);
	int ret = 0;
	if (w.failed || (rc != CURLE_OK && !(rc == CURLE_WRITE_ERROR && w.stopped)))
		ret = w.failed ? -1 : http_fail(r, &w, rc, ebuf, err);
	if (ret == 0) {
		char *ct = NULL;
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp->code);
		curl_easy_getinfo(h, CURLINFO_CONTENT_TYPE, &ct);
		resp->ctype = xstrdup(ct);
		resp->stopped = w.stopped;
		if (w.buf.len && !(r->line && resp->code / 100 == 2))
			resp->body = json_loadb(w.buf.data, w.buf.len, 0, NULL);
	}
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
	req_headers_free(k, hdr);
	sbx_buf_free(&w.buf);
	free(body);
	free(url);
	return ret;
}

/* Send a request. */
int k8s_http(struct k8s *k, const struct k8s_req *r, struct k8s_resp *resp, struct sbx_err *err)
{
	*resp = (struct k8s_resp){0};
	CURL *h = pool_get(k);
	int rc = http_perform(k, h, r, resp, err);
	pool_put(k, h);
	return rc;
}

/* Free a response. */
void k8s_resp_clear(struct k8s_resp *resp)
{
	json_decref(resp->body);
	free(resp->ctype);
	*resp = (struct k8s_resp){0};
}

/* Word a request's HTTP error. */
int k8s_req_err(const struct k8s_req *r, const struct k8s_status *st, struct sbx_err *err)
{
	const char *q = strchr(r->path, '?');
	char *what = xasprintf("%s %.*s", r->method, q ? (int)(q - r->path) : (int)strlen(r->path), r->path);
	k8s_status_err(st, what, err);
	free(what);
	return -1;
}

/* Send a request that should succeed. */
int k8s_call(struct k8s *k, const struct k8s_req *r, json_t **out, struct k8s_status *st,
	struct sbx_err *err)
{
	struct k8s_resp resp;
	struct k8s_status local = {0};
	struct k8s_status *s = st ? st : &local;
	k8s_status_clear(s);
	if (k8s_http(k, r, &resp, err) < 0)
		return -1;
	int rc = 0;
	if (resp.code / 100 == 2) {
		if (out)
			*out = json_incref(resp.body);
	} else {
		k8s_status_parse(resp.body, resp.code, s);
		rc = st ? -1 : k8s_req_err(r, s, err);
	}
	k8s_status_clear(&local);
	k8s_resp_clear(&resp);
	return rc;
}

/* Escape a path segment or query value. */
char *k8s_escape(const char *s)
{
	char *e = curl_easy_escape(NULL, s, 0);
	char *r = xstrdup(e);
	curl_free(e);
	return r;
}
