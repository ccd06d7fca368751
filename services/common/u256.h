/*
 * u256.h - unsigned 256-bit integers for wei amounts, exact and integer-only.
 *
 * Representation: four uint64 limbs, little-endian limb order (limb[0] is the
 * least significant). Values are plain structs passed by pointer; nothing
 * allocates. Every arithmetic operation reports overflow/underflow/division by
 * zero through its return value and never wraps silently: on failure the
 * output is left unchanged. Outputs may alias inputs.
 *
 * Decimal text: at most U256_DEC_DIGITS_MAX (78) digits, no sign, no leading
 * '+', no whitespace, no leading zeros except "0" itself.
 */
#ifndef COMMON_U256_H
#define COMMON_U256_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define U256_DEC_DIGITS_MAX 78
#define U256_DEC_SIZE (U256_DEC_DIGITS_MAX + 1) /* buffer for u256_to_dec incl. NUL */
#define U256_HEX_SIZE (2 + 64 + 1)              /* "0x" + 64 digits + NUL */

struct u256 {
    uint64_t limb[4];
};

enum u256_result {
    U256_OK = 0,
    U256_ERR_OVERFLOW = 1,   /* result >= 2^256 */
    U256_ERR_UNDERFLOW = 2,  /* subtraction below zero */
    U256_ERR_DIV_ZERO = 3,   /* divisor is zero */
    U256_ERR_EMPTY = 4,      /* empty decimal/hex text */
    U256_ERR_BAD_DIGIT = 5,  /* a non-digit character */
    U256_ERR_TOO_LONG = 6,   /* more than 78 decimal / 64 hex digits */
    U256_ERR_LEADING_ZERO = 7 /* "007" */
};

static inline struct u256 u256_zero(void)
{
    struct u256 z = {{0, 0, 0, 0}};
    return z;
}
struct u256 u256_from_u64(uint64_t v);
bool u256_is_zero(const struct u256 *a);
/* Returns -1, 0 or 1 as a <, ==, > b. */
int u256_cmp(const struct u256 *a, const struct u256 *b);
/* True when a fits in uint64 (then *out = a). */
bool u256_to_u64(uint64_t *out, const struct u256 *a);

enum u256_result u256_add(struct u256 *out, const struct u256 *a, const struct u256 *b)
    __attribute__((warn_unused_result));
enum u256_result u256_sub(struct u256 *out, const struct u256 *a, const struct u256 *b)
    __attribute__((warn_unused_result));
enum u256_result u256_mul(struct u256 *out, const struct u256 *a, const struct u256 *b)
    __attribute__((warn_unused_result));
/* quot = a / b, rem = a % b; either output may be NULL. */
enum u256_result u256_divmod(struct u256 *quot, struct u256 *rem, const struct u256 *a,
                             const struct u256 *b) __attribute__((warn_unused_result));
/* out = floor(a * b / d) computed with a 512-bit intermediate, so it succeeds
 * whenever the final quotient fits in 256 bits (a*b itself may exceed 2^256). */
enum u256_result u256_mul_div_floor(struct u256 *out, const struct u256 *a, const struct u256 *b,
                                    const struct u256 *d) __attribute__((warn_unused_result));

/* Parses canonical decimal text of length text_len (see rules above). */
enum u256_result u256_from_dec(struct u256 *out, const char *text, size_t text_len,
                               struct err *e) __attribute__((warn_unused_result));
/* Writes canonical decimal plus NUL into out[U256_DEC_SIZE]. */
void u256_to_dec(char out[U256_DEC_SIZE], const struct u256 *a);

/* Big-endian 32-byte form (ABI words, RLP, keccak input). */
void u256_to_be32(uint8_t out[32], const struct u256 *a);
struct u256 u256_from_be32(const uint8_t in[32]);
/* Minimal big-endian bytes without leading zeros (RLP integers); returns the
 * length written to out[32] (0 for zero). */
size_t u256_to_be_min(uint8_t out[32], const struct u256 *a);
/* Parses "0x"-prefixed hex quantity (JSON-RPC style, 1..64 digits). */
enum u256_result u256_from_hex(struct u256 *out, const char *text, size_t text_len,
                               struct err *e) __attribute__((warn_unused_result));
/* Writes a JSON-RPC quantity ("0x0", "0x1a", no leading zeros) into out[U256_HEX_SIZE]. */
void u256_to_hex(char out[U256_HEX_SIZE], const struct u256 *a);

#endif
