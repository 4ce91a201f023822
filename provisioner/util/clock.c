/* clock — monotonic milliseconds and sleeping. */
#include "clock.h"

#include <errno.h>
#include <time.h>

/* Monotonic milliseconds. */
int64_t sbx_mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Sleep, resuming after signals. */
void sbx_sleep_ms(int64_t ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
	while (ms > 0 && nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}
