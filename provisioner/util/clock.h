/*
 * clock — the monotonic clock in milliseconds, a sleep that survives signals and condition
 * variables that wait on that clock. Shared by the
 * provisioner and the mocks: depends on nothing else in the tree. Thread-safe.
 */
#ifndef SBX_CLOCK_H
#define SBX_CLOCK_H

#include <pthread.h>
#include <stdint.h>

/* Monotonic milliseconds (for timeouts and durations, never for dates). */
int64_t sbx_mono_ms(void);
/* Sleep ms milliseconds (<= 0: return at once), resuming after a signal interrupts the sleep. */
void sbx_sleep_ms(int64_t ms);
/* Initialise a condition variable whose timed waits read the monotonic clock (sbx_mono_ms). */
void sbx_cond_init_mono(pthread_cond_t *c);

#endif
