/* mock_sig — webhook signatures (HMAC-SHA256 of "<ts>.<body>"; Twilio's HMAC-SHA1). */
#include "mock_sig.h"

#include "buf.h"
#include "mock_kv.h"
#include "mock_util.h"
#include "sha256.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Lowercase hex HMAC-SHA256 of data under key. */
static void hmac_sha256_hex(const char *key, const void *data, size_t len, char out[65])
{
	unsigned char md[32];
	unsigned int mdlen = sizeof(md);

	HMAC(EVP_sha256(), key, (int)strlen(key), data, len, md, &mdlen);
	sbx_sha256_digest_hex(md, out);
}

/* Build "t=<ts>,v1=<hex>". */
char *mock_signature(const char *secret, int64_t ts, const char *body, size_t len)
{
	struct sbx_buf b = {0};
	char hex[65];

	sbx_buf_printf(&b, "%lld.", (long long)ts);
	sbx_buf_add(&b, body, len);
	hmac_sha256_hex(secret, b.data, b.len, hex);
	sbx_buf_free(&b);
	return mock_xasprintf("t=%lld,v1=%s", (long long)ts, hex);
}

/* Verify a "t=..,v1=.." header. */
bool mock_signature_verify(const char *secret, const char *header, const char *body, size_t len,
			   int64_t now_s, int64_t tolerance_s)
{
	long long ts;
	char given[65], *want;
	bool ok;

	if (!header || sscanf(header, "t=%lld,v1=%64[0-9a-f]", &ts, given) != 2 || strlen(given) != 64)
		return false;
	if (tolerance_s > 0 && (ts > now_s + tolerance_s || ts < now_s - tolerance_s))
		return false;
	want = mock_signature(secret, ts, body, len);
	ok = mock_mem_equal_ct(strstr(want, ",v1=") + 4, given, 64);
	free(want);
	return ok;
}

/* Order two parameters by name, then value (qsort). */
static int param_cmp(const void *a, const void *b)
{
	const struct mock_kv *x = *(const struct mock_kv *const *)a, *y = *(const struct mock_kv *const *)b;
	int c = strcmp(x->key, y->key);

	return c ? c : strcmp(x->value ? x->value : "", y->value ? y->value : "");
}

/* Build X-Twilio-Signature. */
char *mock_twilio_signature(const char *token, const char *url, const struct mock_kvlist *params)
{
	const struct mock_kv **sorted = mock_xcalloc(params->n + 1, sizeof(*sorted));
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	struct sbx_buf b = {0};
	char *out = mock_xmalloc(4 * ((EVP_MAX_MD_SIZE + 2) / 3) + 1);

	for (size_t i = 0; i < params->n; i++)
		sorted[i] = &params->v[i];
	qsort(sorted, params->n, sizeof(*sorted), param_cmp);
	sbx_buf_puts(&b, url);
	for (size_t i = 0; i < params->n; i++) {
		sbx_buf_puts(&b, sorted[i]->key);
		sbx_buf_puts(&b, sorted[i]->value ? sorted[i]->value : "");
	}
	HMAC(EVP_sha1(), token, (int)strlen(token), (const unsigned char *)b.data, b.len, md, &mdlen);
	EVP_EncodeBlock((unsigned char *)out, md, (int)mdlen);
	sbx_buf_free(&b);
	free(sorted);
	return out;
}
