/* random — cryptographic random bytes. */
#include "random.h"

#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>

/* Cryptographic random bytes. */
void sbx_random(void *buf, size_t len)
{
	if (RAND_bytes(buf, (int)len) != 1) {
		fprintf(stderr, "the random number generator failed\n");
		abort();
	}
}
