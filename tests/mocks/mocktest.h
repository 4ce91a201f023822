/*
 * mocktest — shared helpers of the mock tests (header-only): start a mock binary on an ephemeral
 * loopback port, verify webhook signatures independently of the mocks' code, poll with backoff.
 */
#ifndef SBX_TEST_MOCKTEST_H
#define SBX_TEST_MOCKTEST_H

#include "http_client.h"
#include "mockproc.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define MT_MAX_ARGS 32

/* Start sbx-mock-NAME --listen 127.0.0.1:0 plus the NULL-terminated extra arguments. */
static inline int mt_start(struct mockproc *p, const char *name, ...)
{
	char bin[512];
	char *argv[MT_MAX_ARGS];
	int n = 0;
	va_list ap;
	const char *a;

	argv[n++] = (char *)mockproc_bin(name, bin, sizeof(bin));
	argv[n++] = (char *)"--listen";
	argv[n++] = (char *)"127.0.0.1:0";
	va_start(ap, name);
	while ((a = va_arg(ap, const char *)) && n < MT_MAX_ARGS - 1)
		argv[n++] = (char *)a;
	va_end(ap);
	argv[n] = NULL;
	return mockproc_start(p, argv, 20000);
}

/* Verify "t=<ts>,v1=<hex>" = HMAC-SHA256(secret, "<ts>.<body>") with OpenSSL directly. */
static inline bool mt_verify_signature(const char *secret, const char *header, const char *body,
				       size_t len)
{
	unsigned char md[32];
	unsigned int mdlen = sizeof(md);
	char hex[65], given[65], *msg;
	long long ts;
	size_t mlen;

	if (!header || sscanf(header, "t=%lld,v1=%64s", &ts, given) != 2)
		return false;
	mlen = (size_t)snprintf(NULL, 0, "%lld.", ts) + len;
	msg = malloc(mlen + 1);
	snprintf(msg, mlen + 1, "%lld.", ts);
	memcpy(msg + strlen(msg), body, len);
	HMAC(EVP_sha256(), secret, (int)strlen(secret), (unsigned char *)msg, mlen, md, &mdlen);
	free(msg);
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	return strlen(given) == 64 && CRYPTO_memcmp(hex, given, 64) == 0;
}

/* Poll GET url (backoff 5..200 ms) until its body contains text; false after timeout_ms. */
static inline bool mt_wait_body(const char *url, const char *text, int timeout_ms)
{
	long long deadline = mockproc_now_ms() + timeout_ms;
	int delay = 5;
	bool hit = false;

	while (!hit && mockproc_now_ms() < deadline) {
		struct http_resp r;
		http_req(&r, "GET", url, NULL, NULL);
		hit = strstr(r.body, text) != NULL;
		http_resp_free(&r);
		if (!hit)
			usleep((useconds_t)delay * 1000);
		delay = delay < 200 ? delay * 2 : 200;
	}
	return hit;
}

#endif
