/* test_clock.c - the one sleep and monotonic-clock helper: a sleep lasts at
 * least what was asked, also when signals interrupt it, and the clock never
 * goes backwards. Upper bounds only guard against a hang. */
#include "harness.h"

#include <signal.h>
#include <string.h>
#include <sys/time.h>

#include "clock.h"

static volatile sig_atomic_t alarms;

static void on_alarm(int sig)
{
    (void)sig;
    alarms++;
}

static void test_now_is_monotonic(void)
{
    uint64_t prev = clock_now_ms();
    for (int i = 0; i < 100000; i++) {
        uint64_t now = clock_now_ms();
        CHECK(now >= prev);
        prev = now;
    }
}

static void test_sleep_lasts(void)
{
    uint32_t asked[] = {0, 1, 25, 120};
    for (size_t i = 0; i < sizeof asked / sizeof asked[0]; i++) {
        uint64_t t0 = clock_now_ms();
        clock_sleep_ms(asked[i]);
        uint64_t took = clock_now_ms() - t0;
        CHECK_MSG(took >= asked[i] && took < asked[i] + 5000u, "asked %u ms, took %llu ms",
                  asked[i], (unsigned long long)took);
    }
}

/* A signal every 10 ms (no SA_RESTART) interrupts nanosleep; the helper
 * resumes for what is left. */
static void test_sleep_resumes_after_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sigemptyset(&sa.sa_mask);
    CHECK(sigaction(SIGALRM, &sa, NULL) == 0);
    struct itimerval every_10ms = {{0, 10000}, {0, 10000}}, off = {{0, 0}, {0, 0}};
    alarms = 0;
    CHECK(setitimer(ITIMER_REAL, &every_10ms, NULL) == 0);
    uint64_t t0 = clock_now_ms();
    clock_sleep_ms(150);
    uint64_t took = clock_now_ms() - t0;
    CHECK(setitimer(ITIMER_REAL, &off, NULL) == 0);
    signal(SIGALRM, SIG_DFL);
    CHECK_MSG(alarms >= 3, "only %d signals arrived", (int)alarms);
    CHECK_MSG(took >= 150 && took < 10000, "took %llu ms", (unsigned long long)took);
}

int main(void)
{
    RUN(test_now_is_monotonic);
    RUN(test_sleep_lasts);
    RUN(test_sleep_resumes_after_signals);
    return harness_finish();
}
