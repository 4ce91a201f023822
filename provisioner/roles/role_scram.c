/* role_scram — SCRAM-SHA-256 verifiers (RFC 5802, RFC 7677) in PostgreSQL's format, made on the host. */
#include "role_int.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#define KEY_LEN SHA256_DIGEST_LENGTH

/* HMAC-SHA256 of a string under a 32-byte key. */
static void hmac_str(const unsigned char *key, const char *msg, unsigned char out[KEY_LEN])
{
	unsigned int n = KEY_LEN;
	if (HMAC(EVP_sha256(), key, KEY_LEN, (const unsigned char *)msg, strlen(msg), out, &n) == NULL)
		abort();
}

/* True when every byte of s is 7-bit ASCII. */
bool role_scram_ascii(const char *s)
{
	for (; s && *s; s++)
		if ((unsigned char)*s >= 0x80)
			return false;
	return s != NULL;
}

/* The verifier PostgreSQL stores for a password with this salt. */
char *role_scram_verifier(const char *password, const unsigned char *salt, size_t saltlen, int iterations)
{
	unsigned char salted[KEY_LEN], client[KEY_LEN], stored[KEY_LEN], server[KEY_LEN];
	if (!role_scram_ascii(password) || iterations < 1)
		return NULL;
	if (PKCS5_PBKDF2_HMAC(password, (int)strlen(password), salt, (int)saltlen, iterations, EVP_sha256(),
		KEY_LEN, salted) != 1)
		abort();
	hmac_str(salted, "Client Key", client);
	SHA256(client, KEY_LEN, stored);
	hmac_str(salted, "Server Key", server);
	char *s = sbx_base64(salt, saltlen), *k1 = sbx_base64(stored, KEY_LEN), *k2 = sbx_base64(server, KEY_LEN);
	char *v = xasprintf("SCRAM-SHA-256$%d:%s$%s:%s", iterations, s, k1, k2);
	OPENSSL_cleanse(salted, sizeof(salted));
	OPENSSL_cleanse(client, sizeof(client));
	OPENSSL_cleanse(server, sizeof(server));
	free(s);
	free(k1);
	free(k2);
	return v;
}

/* An owner's salt: HMAC-SHA256(seed, "sbx-scram-salt:<env>:<owner>"), truncated. */
void role_scram_salt(const char *seed, const char *env, const char *owner,
	unsigned char salt[ROLE_SCRAM_SALT_LEN])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	char *msg = xasprintf("sbx-scram-salt:%s:%s", env, owner);
	if (HMAC(EVP_sha256(), seed, (int)strlen(seed), (const unsigned char *)msg, strlen(msg), md, &n) == NULL)
		abort();
	memcpy(salt, md, ROLE_SCRAM_SALT_LEN);
	free(msg);
}
