/*
 * clock — the monotonic clock in milliseconds and a sleep that survives signals. Shared by the
 * provisioner and the mocks: depends on nothing else in the tree. Thread-safe.
 */
#ifndef SBX_CLOCK_H
#define SBX_CLOCK_H

#include <stdint.h>

/* Monotonic milliseconds (for timeouts and durations, never for dates). */
int64_t sbx_mono_ms(void);
/* Sleep ms milliseconds (<= 0: return at once), resuming after a signal interrupts the sleep. */
void sbx_sleep_ms(int64_t ms);

#endif
