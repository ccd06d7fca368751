/* clock.c - see clock.h. */
#include "clock.h"

#include <errno.h>
#include <time.h>

#include "check.h"

void clock_sleep_ms(uint32_t ms)
{
    ASSERT(ms <= CLOCK_SLEEP_MS_MAX);
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    for (int i = 0; i < CLOCK_SLEEP_RESUMES_MAX && nanosleep(&ts, &ts) != 0 && errno == EINTR; i++)
        ;
}

uint64_t clock_now_ms(void)
{
    struct timespec ts;
    int rc = clock_gettime(CLOCK_MONOTONIC, &ts);
    ASSERT(rc == 0); /* CLOCK_MONOTONIC always exists on Linux */
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}
