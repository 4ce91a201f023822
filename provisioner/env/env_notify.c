/* env_notify — an environment's webhook (the blueprint's notify:): its target, signature and POST. */
#include "env_int.h"

#include <string.h>

#include <curl/curl.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

/* Free a target, wiping its secret. */
void env_notify_target_free(struct env_notify_target *t)
{
	if (t == NULL)
		return;
	if (t->secret) {
		OPENSSL_cleanse(t->secret, strlen(t->secret));
		free(t->secret);
	}
	free(t->url);
	free(t);
}

/* Read the signing key that the reference ref ("${secret.NAME}") names for env. */
static int target_secret(struct state *st, const char *env, const char *ref, char **value, struct sbx_err *err)
{
	char *name = bp_secret_ref(ref);
	if (name == NULL)
		return sbx_err_set(err, SBX_EXIT_USAGE, "notify.secret of %s is not a ${secret.NAME} reference", env);
	char *key = xasprintf(BP_SECRET_STORE "%s", name);
	int rc = state_secret_get(st, env, key, value, err);
	if (rc == 0 && *value == NULL) {
		rc = sbx_err_set(err, SBX_EXIT_USAGE, "notify: secret \"%s\" is not set for environment %s", name, env);
		sbx_err_hint(err, "set it with: printf %%s \"$VALUE\" | sandbox secret set %s %s", env, name);
	}
	free(key);
	free(name);
	return rc;
}

/* The webhook of e's blueprint, its signing key read from the state. */
int env_notify_target(struct state *st, const struct state_env *e, struct env_notify_target **out,
	struct sbx_err *err)
{
	json_t *j = e->bp_json ? json_loads(e->bp_json, 0, NULL) : NULL;
	json_t *n = json_object_get(j, "notify");
	const char *url = json_string_value(json_object_get(n, "webhook"));
	const char *ref = json_string_value(json_object_get(n, "secret"));
	char *secret = NULL;
	int rc = 0;
	*out = NULL;
	if (url && ref)
		rc = target_secret(st, e->name, ref, &secret, err);
	if (url && rc == 0) {
		*out = xcalloc(1, sizeof(**out));
		(*out)->url = xstrdup(url);
		(*out)->secret = secret;
	}
	json_decref(j);
	return rc;
}

/* "t=T,v1=HEX": HMAC-SHA256 under key of "T.BODY". */
char *env_notify_sign(const char *key, int64_t t, const char *body)
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int len = 0;
	char *msg = xasprintf("%lld.%s", (long long)t, body), hex[2 * EVP_MAX_MD_SIZE + 1];
	HMAC(EVP_sha256(), key, (int)strlen(key), (const unsigned char *)msg, strlen(msg), mac, &len);
	free(msg);
	for (unsigned int i = 0; i < len; i++)
		snprintf(hex + 2 * i, 3, "%02x", mac[i]);
	hex[2 * len] = '\0';
	OPENSSL_cleanse(mac, sizeof(mac));
	return xasprintf("t=%lld,v1=%s", (long long)t, hex);
}

/* Discard a response body. */
static size_t discard(char *p, size_t size, size_t n, void *ud)
{
	(void)p;
	(void)ud;
	return size * n;
}

/* The request's headers: JSON, the event, the delivery id, the signature when there is a key. */
static struct curl_slist *post_headers(const struct env_notify_target *t, const char *event, const char *id,
	const char *body)
{
	struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
	char *s = xasprintf("Sandbox-Event: %s", event);
	h = curl_slist_append(h, s);
	free(s);
	s = xasprintf("Sandbox-Delivery: %s", id);
	h = curl_slist_append(h, s);
	free(s);
	if (t->secret) {
		char *sig = env_notify_sign(t->secret, sbx_now(), body);
		s = xasprintf("Sandbox-Signature: %s", sig);
		h = curl_slist_append(h, s);
		free(s);
		free(sig);
	}
	return h;
}

/* The URL's host and port ("https://hooks.example.org"), for messages: a path or user part may
 * carry a token. Caller frees. */
char *env_notify_origin(const char *url)
{
	const char *sep = strstr(url, "://");
	const char *host = sep ? sep + 3 : url;
	size_t scheme = (size_t)(host - url), n = strcspn(host, "/?#");
	const char *at = memchr(host, '@', n);
	if (at) {
		n -= (size_t)(at + 1 - host);
		host = at + 1;
	}
	return xasprintf("%.*s%.*s", (int)scheme, url, (int)n, host);
}

/* A failed POST, naming only the URL's origin. */
static int post_error(const struct env_notify_target *t, const char *why, struct sbx_err *err)
{
	char *o = env_notify_origin(t->url);
	sbx_err_set(err, SBX_EXIT_FAILED, "webhook %s: %s", o, why);
	free(o);
	return -1;
}

/* POST body to the target once. */
int env_notify_post(const struct env_notify_target *t, const char *event, const char *id, const char *body,
	long timeout_s, long *status, struct sbx_err *err)
{
	CURL *c = curl_easy_init();
	if (c == NULL)
		return sbx_err_set(err, SBX_EXIT_FAILED, "webhook: cannot start a request");
	struct curl_slist *h = post_headers(t, event, id, body);
	curl_easy_setopt(c, CURLOPT_URL, t->url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
	curl_easy_setopt(c, CURLOPT_TIMEOUT, timeout_s);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "sandbox-daemon");
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
	CURLcode cc = curl_easy_perform(c);
	*status = 0;
	if (cc == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
	char why[32];
	int rc = 0;
	snprintf(why, sizeof(why), "HTTP %ld", *status);
	if (cc != CURLE_OK)
		rc = post_error(t, curl_easy_strerror(cc), err);
	else if (*status < 200 || *status > 299)
		rc = post_error(t, why, err);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	return rc;
}
