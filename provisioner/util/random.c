/* random — cryptographic random bytes. */
#include "random.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/random.h>

/* Cryptographic random bytes: the kernel's generator (getrandom), read until len bytes came. */
void sbx_random(void *buf, size_t len)
{
	unsigned char *p = buf;

	while (len > 0) {
		ssize_t n = getrandom(p, len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			fprintf(stderr, "the random number generator failed\n");
			abort();
		}
		p += n;
		len -= (size_t)n;
	}
}
