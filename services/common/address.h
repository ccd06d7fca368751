/*
 * address.h - 20-byte Ethereum addresses and their EIP-55 text form.
 *
 * Ownership: `struct address` is a plain value; nothing allocates. Text
 * outputs go into caller buffers of ADDRESS_TEXT_SIZE bytes.
 *
 * Text form accepted by address_parse(): exactly ADDRESS_TEXT_LEN (42)
 * characters, "0x" (lowercase x) followed by 40 hex digits. If the letters are
 * all lowercase or all uppercase the text is accepted as is; if they are
 * mixed-case they must be the exact EIP-55 checksum of the address, so a typo
 * in a checksummed address is caught. ADDRESS_TEXT_LEN is also the decoder's
 * maximum: longer input is rejected with ADDRESS_ERR_LENGTH.
 */
#ifndef COMMON_ADDRESS_H
#define COMMON_ADDRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define ADDRESS_BYTES 20
#define ADDRESS_TEXT_LEN 42                      /* "0x" + 40 hex digits */
#define ADDRESS_TEXT_SIZE (ADDRESS_TEXT_LEN + 1) /* plus NUL */

struct address {
    uint8_t bytes[ADDRESS_BYTES];
};

/* Stable result codes; numbers are never reused. */
enum address_result {
    ADDRESS_OK = 0,
    ADDRESS_ERR_LENGTH = 1,    /* not exactly 42 characters (after a valid "0x") */
    ADDRESS_ERR_PREFIX = 2,    /* does not start with "0x" */
    ADDRESS_ERR_BAD_DIGIT = 3, /* a character outside [0-9a-fA-F] after "0x" */
    ADDRESS_ERR_CHECKSUM = 4   /* mixed case that is not the EIP-55 checksum */
};

/* Parses `text` (length `text_len`, need not be NUL-terminated) into *out.
 * Checks, in this order: prefix, length, digits, checksum. Returns ADDRESS_OK
 * or the first failing check's code with a message in `e` (may be NULL)
 * quoting the input; on failure *out is left unchanged. */
enum address_result address_parse(struct address *out, const char *text, size_t text_len,
                                  struct err *e) __attribute__((warn_unused_result));

/* Writes the EIP-55 checksummed form ("0x5aAeb6...") plus NUL into `out`. */
void address_format_checksum(char out[ADDRESS_TEXT_SIZE], const struct address *a);

/* Writes the all-lowercase form ("0x5aaeb6...") plus NUL into `out`. */
void address_format_lower(char out[ADDRESS_TEXT_SIZE], const struct address *a);

/* True when both addresses hold the same 20 bytes. */
bool address_eq(const struct address *a, const struct address *b);

/* True for 0x0000000000000000000000000000000000000000. */
bool address_is_zero(const struct address *a);

#endif
