/*
 * harness.h - the tiny test harness every test binary uses.
 *
 * A test binary calls CHECK()/CHECK_EQ_*() inside test functions registered
 * with RUN(). Each RUN prints "ok - name" or "not ok - name" with the first
 * failing check's file:line, and harness_finish() prints the closing line
 * "N passed, N failed" and returns the process exit code. The runner
 * (tests/run.sh) sums these lines over all binaries.
 *
 * Randomised tests take their seed from TEST_SEED (or the time) and print it
 * as "# seed=N", so a failure can be replayed. tests/run.sh pins one
 * TEST_SEED for a whole run and fails a program that prints another seed.
 */
#ifndef TESTS_HARNESS_H
#define TESTS_HARNESS_H

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int harness_passed, harness_failed, harness_cur_failed;

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            if (!harness_cur_failed)                                                               \
                fprintf(stdout, "#   check failed at %s:%d: %s\n", __FILE__, __LINE__, #cond);     \
            harness_cur_failed++;                                                                  \
        }                                                                                          \
    } while (0)

#define CHECK_MSG(cond, ...)                                                                       \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            if (!harness_cur_failed) {                                                             \
                fprintf(stdout, "#   check failed at %s:%d: %s: ", __FILE__, __LINE__, #cond);     \
                fprintf(stdout, __VA_ARGS__);                                                      \
                fputc('\n', stdout);                                                               \
            }                                                                                      \
            harness_cur_failed++;                                                                  \
        }                                                                                          \
    } while (0)

#define CHECK_INT(a, b)                                                                            \
    CHECK_MSG((long long)(a) == (long long)(b), "%lld != %lld", (long long)(a), (long long)(b))

#define CHECK_STR(a, b)                                                                            \
    do {                                                                                           \
        const char *hs_a_ = (a), *hs_b_ = (b);                                                     \
        CHECK_MSG(hs_a_ && hs_b_ && strcmp(hs_a_, hs_b_) == 0, "\"%s\" != \"%s\"",                 \
                  hs_a_ ? hs_a_ : "(null)", hs_b_ ? hs_b_ : "(null)");                             \
    } while (0)

#define CHECK_MEM(a, b, n) CHECK_MSG(memcmp((a), (b), (n)) == 0, "%zu bytes differ", (size_t)(n))

#define RUN(fn)                                                                                    \
    do {                                                                                           \
        harness_cur_failed = 0;                                                                    \
        fn();                                                                                      \
        if (harness_cur_failed) {                                                                  \
            harness_failed++;                                                                      \
            fprintf(stdout, "not ok - %s\n", #fn);                                                 \
        } else {                                                                                   \
            harness_passed++;                                                                      \
            fprintf(stdout, "ok - %s\n", #fn);                                                     \
        }                                                                                          \
        fflush(stdout);                                                                            \
    } while (0)

static inline int harness_finish(void)
{
    fprintf(stdout, "%d passed, %d failed\n", harness_passed, harness_failed);
    /* LeakSanitizer ends the process with _exit() after main returns: flush
     * now so that the summary line is not lost with the buffer. */
    fflush(stdout);
    return harness_failed == 0 && harness_passed > 0 ? 0 : 1;
}

/* Reads the environment variable `name` as a decimal number 0..max into
 * *out. Returns true; false when it is unset or empty, and false after
 * printing "# ignoring ..." when it is not such a number (*out untouched). */
static inline bool harness_env_u64(uint64_t *out, const char *name, uint64_t max)
{
    const char *s = getenv(name);
    if (s == NULL || s[0] == '\0')
        return false;
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || s[0] < '0' || s[0] > '9' || v > max) {
        fprintf(stdout, "# ignoring %s='%.40s': want a decimal number up to %llu\n", name, s,
                (unsigned long long)max);
        return false;
    }
    *out = (uint64_t)v;
    return true;
}

/* Seed from TEST_SEED if set (and valid), else the clock; printed for replay. */
static inline uint64_t harness_seed(void)
{
    uint64_t seed = (uint64_t)time(NULL);
    harness_env_u64(&seed, "TEST_SEED", UINT64_MAX);
    fprintf(stdout, "# seed=%" PRIu64 " (replay with TEST_SEED=%" PRIu64 ")\n", seed, seed);
    return seed;
}

/* splitmix64: small deterministic PRNG for tests. */
static inline uint64_t harness_rand(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

#endif
