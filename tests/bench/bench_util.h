/*
 * bench_util.h - what the settlement benchmarks bench_merkle.c and
 * bench_gas.c share: progress and fatal messages on stderr prefixed with the
 * program's name, and snprintf that fails instead of cutting.
 *
 * A benchmark sets bench_util_name once at the start of main(). bench_fail()
 * ends the process with status 1: a benchmark that cannot run, or whose
 * result is wrong, has nothing to report. Nothing here allocates.
 */
#ifndef TESTS_BENCH_BENCH_UTIL_H
#define TESTS_BENCH_BENCH_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

static const char *bench_util_name = "bench";

static inline void bench_vsay(const char *fmt, va_list ap)
{
    fprintf(stderr, "%s: ", bench_util_name);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

/* "NAME: message" on stderr. */
static inline void bench_say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline void bench_say(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    bench_vsay(fmt, ap);
    va_end(ap);
}

/* "NAME: message" on stderr, then exit(1). */
static inline void bench_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static inline void bench_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    bench_vsay(fmt, ap);
    va_end(ap);
    exit(1);
}

/* snprintf that must fit: a cut string would be a wrong label or argument. */
static inline void bench_format(char *out, size_t out_size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static inline void bench_format(char *out, size_t out_size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(out, out_size, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= out_size)
        bench_fail("formatting '%s' needs more than %zu bytes", fmt, out_size);
}

#endif
