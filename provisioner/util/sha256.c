/* sha256 — SHA-256 digests as lowercase hex. */
#include "sha256.h"

#include <openssl/evp.h>

/* Write a digest as hex. */
void sbx_sha256_digest_hex(const unsigned char digest[32], char out[65])
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < 32; i++) {
		out[2 * i] = digits[digest[i] >> 4];
		out[2 * i + 1] = digits[digest[i] & 15];
	}
	out[64] = '\0';
}

/* SHA-256 of a buffer, hex. */
void sbx_sha256_hex(const void *data, size_t len, char out[65])
{
	unsigned char d[32];
	unsigned int dl = 0;
	EVP_Digest(data, len, d, &dl, EVP_sha256(), NULL);
	sbx_sha256_digest_hex(d, out);
}
