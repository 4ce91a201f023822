/* crypto_dl — OpenSSL's libcrypto, loaded on first use (dynlib.h says why): `version`, `list` and a
 * `validate` that hashes nothing need none of it. One line per libcrypto function that sandbox calls;
 * the compiler checks each against OpenSSL's headers. A new call needs a line here. (The mocks link
 * libcrypto: they do not use these wrappers.) */
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <stdarg.h>
#include <string.h>

#include "dynlib.h"

#ifndef SBX_SONAME_CRYPTO
#define SBX_SONAME_CRYPTO "libcrypto.so.3"
#endif

struct dynlib dynlib_crypto = DYNLIB_INIT(SBX_SONAME_CRYPTO, "libssl3", NULL);

DYNLIB_FN(dynlib_crypto, long, BIO_ctrl, (BIO *bp, int cmd, long larg, void *parg), (bp, cmd, larg, parg))
DYNLIB_FN(dynlib_crypto, int, BIO_free, (BIO *a), (a))
DYNLIB_FN(dynlib_crypto, BIO *, BIO_new, (const BIO_METHOD *type), (type))
DYNLIB_FN(dynlib_crypto, const BIO_METHOD *, BIO_s_mem, (void), ())
DYNLIB_FN(dynlib_crypto, int, EVP_CIPHER_CTX_ctrl, (EVP_CIPHER_CTX *ctx, int type, int arg, void *ptr), (ctx, type, arg, ptr))
DYNLIB_VOID(dynlib_crypto, EVP_CIPHER_CTX_free, (EVP_CIPHER_CTX *c), (c))
DYNLIB_FN(dynlib_crypto, EVP_CIPHER_CTX *, EVP_CIPHER_CTX_new, (void), ())
DYNLIB_FN(dynlib_crypto, int, EVP_CipherFinal_ex, (EVP_CIPHER_CTX *ctx, unsigned char *outm, int *outl), (ctx, outm, outl))
DYNLIB_FN(dynlib_crypto, int, EVP_CipherInit_ex, (EVP_CIPHER_CTX *ctx, const EVP_CIPHER *cipher, ENGINE *impl, const unsigned char *key, const unsigned char *iv, int enc), (ctx, cipher, impl, key, iv, enc))
DYNLIB_FN(dynlib_crypto, int, EVP_CipherUpdate, (EVP_CIPHER_CTX *ctx, unsigned char *out, int *outl, const unsigned char *in, int inl), (ctx, out, outl, in, inl))
DYNLIB_FN(dynlib_crypto, int, EVP_DecodeBlock, (unsigned char *t, const unsigned char *f, int n), (t, f, n))
DYNLIB_FN(dynlib_crypto, int, EVP_Digest, (const void *data, size_t count, unsigned char *md, unsigned int *size, const EVP_MD *type, ENGINE *impl), (data, count, md, size, type, impl))
DYNLIB_FN(dynlib_crypto, int, EVP_DigestFinal_ex, (EVP_MD_CTX *ctx, unsigned char *md, unsigned int *s), (ctx, md, s))
DYNLIB_FN(dynlib_crypto, int, EVP_DigestInit_ex, (EVP_MD_CTX *ctx, const EVP_MD *type, ENGINE *impl), (ctx, type, impl))
DYNLIB_FN(dynlib_crypto, int, EVP_DigestUpdate, (EVP_MD_CTX *ctx, const void *d, size_t cnt), (ctx, d, cnt))
DYNLIB_FN(dynlib_crypto, int, EVP_EncodeBlock, (unsigned char *t, const unsigned char *f, int n), (t, f, n))
DYNLIB_VOID(dynlib_crypto, EVP_MD_CTX_free, (EVP_MD_CTX *ctx), (ctx))
DYNLIB_FN(dynlib_crypto, EVP_MD_CTX *, EVP_MD_CTX_new, (void), ())
DYNLIB_VOID(dynlib_crypto, EVP_PKEY_free, (EVP_PKEY *pkey), (pkey))
DYNLIB_FN(dynlib_crypto, int, EVP_PKEY_get_octet_string_param, (const EVP_PKEY *pkey, const char *key_name, unsigned char *buf, size_t max_buf_sz, size_t *out_sz), (pkey, key_name, buf, max_buf_sz, out_sz))
DYNLIB_FN(dynlib_crypto, const EVP_CIPHER *, EVP_aes_256_gcm, (void), ())
DYNLIB_FN(dynlib_crypto, const EVP_MD *, EVP_sha256, (void), ())
DYNLIB_FN(dynlib_crypto, unsigned char *, HMAC, (const EVP_MD *evp_md, const void *key, int key_len, const unsigned char *data, size_t data_len, unsigned char *md, unsigned int *md_len), (evp_md, key, key_len, data, data_len, md, md_len))
DYNLIB_VOID(dynlib_crypto, OPENSSL_cleanse, (void *ptr, size_t len), (ptr, len))
DYNLIB_FN(dynlib_crypto, int, PEM_write_bio_PrivateKey_traditional, (BIO *bp, const EVP_PKEY *x, const EVP_CIPHER *enc, const unsigned char *kstr, int klen, pem_password_cb *cb, void *u), (bp, x, enc, kstr, klen, cb, u))
DYNLIB_FN(dynlib_crypto, int, PKCS5_PBKDF2_HMAC, (const char *pass, int passlen, const unsigned char *salt, int saltlen, int iter, const EVP_MD *digest, int keylen, unsigned char *out), (pass, passlen, salt, saltlen, iter, digest, keylen, out))
DYNLIB_FN(dynlib_crypto, unsigned char *, SHA256, (const unsigned char *d, size_t n, unsigned char *md), (d, n, md))

static __typeof__(&EVP_PKEY_Q_keygen) EVP_PKEY_Q_keygen_dl_;
/* EVP_PKEY_Q_keygen takes one more argument by key type, as OpenSSL reads it: "EC" a curve name,
 * "RSA" a size_t of bits, the others none (EVP_EC_gen is the call sandbox makes). */
EVP_PKEY *EVP_PKEY_Q_keygen(OSSL_LIB_CTX *libctx, const char *propq, const char *type, ...)
{
	va_list ap;
	EVP_PKEY *k;

	DYNLIB_CALL_(dynlib_crypto, EVP_PKEY_Q_keygen, ())
	va_start(ap, type);
	if (strcmp(type, "EC") == 0)
		k = fp_(libctx, propq, type, va_arg(ap, char *));
	else if (strcmp(type, "RSA") == 0)
		k = fp_(libctx, propq, type, va_arg(ap, size_t));
	else
		k = fp_(libctx, propq, type);
	va_end(ap);
	return k;
}
