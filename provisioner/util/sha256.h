/*
 * sha256 — SHA-256 digests as lowercase hex (OpenSSL). Shared by the provisioner and the mocks:
 * depends on nothing else in the tree. Pure functions, thread-safe.
 */
#ifndef SBX_SHA256_H
#define SBX_SHA256_H

#include <stddef.h>

/* Lowercase hex SHA-256 of len bytes at data; out has 65 bytes (64 digits and a NUL). */
void sbx_sha256_hex(const void *data, size_t len, char out[65]);
/* Write a 32-byte digest (SHA-256, HMAC-SHA256) as 64 lowercase hex digits and a NUL. */
void sbx_sha256_digest_hex(const unsigned char digest[32], char out[65]);

#endif
