/* mock_sig — webhook signatures (HMAC-SHA256 of "<ts>.<body>"). */
#include "mock_sig.h"

#include "buf.h"
#include "mock_util.h"
#include "sha256.h"

#include <openssl/crypto.h>
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
	ok = CRYPTO_memcmp(strstr(want, ",v1=") + 4, given, 64) == 0;
	free(want);
	return ok;
}
