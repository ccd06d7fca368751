/*
 * clock.h - the one place that sleeps and reads the monotonic clock.
 *
 * Every wait in libcommon (rpc backoff and receipt polling, pg retry
 * backoff, the migration lock poll) goes through clock_sleep_ms(), and every
 * elapsed-time measurement through clock_now_ms(), so there is one
 * implementation of each.
 *
 * Limits: one sleep lasts at most CLOCK_SLEEP_MS_MAX ms (a longer request is
 * a bug and asserts); a sleep interrupted by signals resumes for what is
 * left, at most CLOCK_SLEEP_RESUMES_MAX times.
 */
#ifndef COMMON_CLOCK_H
#define COMMON_CLOCK_H

#include <stdint.h>

#define CLOCK_SLEEP_MS_MAX (3600u * 1000u) /* one hour */
#define CLOCK_SLEEP_RESUMES_MAX 1000

/* Sleeps `ms` milliseconds (0..CLOCK_SLEEP_MS_MAX); 0 returns at once. */
void clock_sleep_ms(uint32_t ms);

/* Milliseconds on CLOCK_MONOTONIC since an arbitrary start: only differences
 * mean anything. Never goes backwards. */
uint64_t clock_now_ms(void);

#endif
