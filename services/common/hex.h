/*
 * hex.h - hexadecimal encode/decode with explicit limits.
 *
 * Ownership: the caller allocates every output buffer; functions never
 * allocate. Decoders accept an optional "0x"/"0X" prefix only where stated.
 * Limits: HEX_DECODE_BYTES_MAX bytes of output per call (1 MiB); anything
 * longer is rejected with HEX_ERR_TOO_LONG before any digit is read.
 */
#ifndef COMMON_HEX_H
#define COMMON_HEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define HEX_DECODE_BYTES_MAX ((size_t)1 << 20)

enum hex_result {
    HEX_OK = 0,
    HEX_ERR_ODD_LENGTH = 1,  /* odd number of digits */
    HEX_ERR_BAD_DIGIT = 2,   /* a character outside [0-9a-fA-F] */
    HEX_ERR_TOO_LONG = 3,    /* input longer than the output buffer or HEX_DECODE_BYTES_MAX */
    HEX_ERR_WRONG_LENGTH = 4 /* exact-length decode got a different length */
};

/* Value 0..15 of a hex digit [0-9a-fA-F], or -1 for any other character.
 * This and hex_digit_char() are the project's only hex-digit tables. */
int hex_digit_value(char c);

/* The lowercase digit '0'..'9', 'a'..'f' for value & 0x0f. */
char hex_digit_char(unsigned value);

/* True when every one of text[0..text_len) is a hex digit (true for 0). */
bool hex_is_digits(const char *text, size_t text_len);

/* Writes 2*data_len lowercase digits plus NUL to `out` (no prefix).
 * `out_size` must be >= 2*data_len+1; returns 0 on success, -1 if too small. */
int hex_encode(char *out, size_t out_size, const uint8_t *data, size_t data_len)
    __attribute__((warn_unused_result));

/* Same, with a "0x" prefix; `out_size` >= 2*data_len+3. */
int hex_encode_0x(char *out, size_t out_size, const uint8_t *data, size_t data_len)
    __attribute__((warn_unused_result));

/* Decodes `text` (length `text_len`, optional 0x prefix) into `out`, which has
 * room for `out_cap` bytes; on success *out_len holds the byte count. */
enum hex_result hex_decode(uint8_t *out, size_t out_cap, size_t *out_len, const char *text,
                           size_t text_len, struct err *e) __attribute__((warn_unused_result));

/* Decodes exactly `out_len` bytes (optional 0x prefix), else HEX_ERR_WRONG_LENGTH. */
enum hex_result hex_decode_exact(uint8_t *out, size_t out_len, const char *text, size_t text_len,
                                 struct err *e) __attribute__((warn_unused_result));

#endif
