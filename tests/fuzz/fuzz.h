/*
 * fuzz.h - shared helpers for the fuzz targets in tests/fuzz/fuzz_*.c.
 *
 * Each target defines LLVMFuzzerTestOneInput() and is linked either with
 * libFuzzer (`make fuzz`, clang) or with tests/fuzz/driver.c (the ASan replay
 * that `make test` runs). A target never returns an error: a broken property
 * is a FUZZ_CHECK() (or FUZZ_FAIL()) failure, which prints file, line and
 * condition to stderr and abort()s, so both libFuzzer and the driver see a
 * crash and keep the input.
 *
 * Error reports: fuzz_err_prime() fills a `struct err` with a code no module
 * uses and a message of FUZZ_ERR_FILL bytes without a NUL; fuzz_err_is_set()
 * then proves that the callee wrote the code it returned and a non-empty,
 * NUL-terminated message.
 */
#ifndef TESTS_FUZZ_H
#define TESTS_FUZZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

#define FUZZ_CHECK(cond)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz check failed at %s:%d: %s\n", __FILE__, __LINE__, #cond);        \
            fflush(stderr);                                                                        \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* An impossible branch was reached, e.g. an undocumented result code. */
#define FUZZ_FAIL(what)                                                                            \
    do {                                                                                           \
        fprintf(stderr, "fuzz check failed at %s:%d: %s\n", __FILE__, __LINE__, (what));           \
        fflush(stderr);                                                                            \
        abort();                                                                                   \
    } while (0)

#define FUZZ_ERR_CODE_UNSET (-12345)
#define FUZZ_ERR_FILL 0x7f /* DEL: never the first byte of a message */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static inline void fuzz_err_prime(struct err *e)
{
    e->code = FUZZ_ERR_CODE_UNSET;
    memset(e->msg, FUZZ_ERR_FILL, sizeof e->msg);
}

/* True when `e` holds `code` and a non-empty NUL-terminated message. */
static inline bool fuzz_err_is_set(const struct err *e, int code)
{
    return e->code == code && memchr(e->msg, '\0', sizeof e->msg) != NULL && e->msg[0] != '\0' &&
           (unsigned char)e->msg[0] != FUZZ_ERR_FILL;
}

/* True when `e` was not touched since fuzz_err_prime(). */
static inline bool fuzz_err_is_untouched(const struct err *e)
{
    if (e->code != FUZZ_ERR_CODE_UNSET)
        return false;
    for (size_t i = 0; i < sizeof e->msg; i++)
        if ((unsigned char)e->msg[i] != FUZZ_ERR_FILL)
            return false;
    return true;
}

/* memcmp() that allows NULL pointers when n is 0 (an empty struct buf has data NULL). */
static inline bool fuzz_mem_eq(const void *a, const void *b, size_t n)
{
    return n == 0 || memcmp(a, b, n) == 0;
}

/* A cursor over the input: bytes are taken from the front, 0 once exhausted. */
struct fuzz_in {
    const uint8_t *p;
    size_t len;
};

static inline uint8_t fuzz_take_byte(struct fuzz_in *in)
{
    if (in->len == 0)
        return 0;
    in->len--;
    return *in->p++;
}

/* Copies n bytes into out, zero-filling what the input no longer has. */
static inline void fuzz_take_bytes(uint8_t *out, size_t n, struct fuzz_in *in)
{
    size_t k = n < in->len ? n : in->len;
    if (k > 0)
        memcpy(out, in->p, k);
    memset(out + k, 0, n - k);
    in->p += k;
    in->len -= k;
}

#endif
