/*
 * random — cryptographic random bytes (the kernel's getrandom). Shared by the provisioner and the
 * mocks: depends on nothing else in the tree (nor on libcrypto). Thread-safe.
 */
#ifndef SBX_RANDOM_H
#define SBX_RANDOM_H

#include <stddef.h>

/* Fill buf with len random bytes; aborts the process when the generator fails. */
void sbx_random(void *buf, size_t len);

#endif
