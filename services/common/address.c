/*
 * address.c - Ethereum addresses and EIP-55 checksums (see address.h).
 *
 * EIP-55: take keccak256 of the 40 lowercase hex digits (as ASCII); the i-th
 * letter is uppercase exactly when the i-th nibble of that hash is >= 8.
 */
#include "address.h"

#include <string.h>

#include "check.h"
#include "hex.h"
#include "keccak.h"

/* How much of a rejected input is quoted in error messages. */
#define ADDRESS_QUOTE_SIZE 48 /* 44 printable characters, "..." and NUL */

static void address_checksum_digits(char digits[40]);
static enum address_result address_check_digits(const char *text, struct err *e);
static enum address_result address_check_case(const char *text, struct err *e);

/* Turns 40 lowercase hex digits into their EIP-55 mixed-case form in place. */
static void address_checksum_digits(char digits[40])
{
    uint8_t hash[KECCAK256_BYTES];
    keccak256(hash, digits, 40);
    for (size_t i = 0; i < 40; i++) {
        unsigned nibble = (i % 2 == 0) ? (unsigned)(hash[i / 2] >> 4) : hash[i / 2] & 0x0fu;
        if (digits[i] >= 'a' && digits[i] <= 'f' && nibble >= 8)
            digits[i] = (char)(digits[i] - 'a' + 'A');
    }
}

/* `text` is ADDRESS_TEXT_LEN characters with a valid prefix. */
static enum address_result address_check_digits(const char *text, struct err *e)
{
    for (size_t i = 2; i < ADDRESS_TEXT_LEN; i++) {
        if (hex_digit_value(text[i]) >= 0)
            continue;
        char quoted[ADDRESS_QUOTE_SIZE], digit[ADDRESS_QUOTE_SIZE];
        err_quote(quoted, sizeof quoted, text, ADDRESS_TEXT_LEN);
        err_quote(digit, sizeof digit, text + i, 1);
        return (enum address_result)err_set(e, ADDRESS_ERR_BAD_DIGIT,
                                            "invalid hex digit '%s' at offset %zu in address '%s'",
                                            digit, i, quoted);
    }
    return ADDRESS_OK;
}

/* `text` is ADDRESS_TEXT_LEN characters of valid prefix and digits. */
static enum address_result address_check_case(const char *text, struct err *e)
{
    bool has_lower = false, has_upper = false;
    char lower[40];
    for (size_t i = 0; i < 40; i++) {
        char c = text[2 + i];
        has_lower |= (c >= 'a' && c <= 'f');
        has_upper |= (c >= 'A' && c <= 'F');
        lower[i] = (c >= 'A' && c <= 'F') ? (char)(c - 'A' + 'a') : c;
    }
    if (!has_lower || !has_upper)
        return ADDRESS_OK;
    address_checksum_digits(lower);
    if (memcmp(lower, text + 2, 40) == 0)
        return ADDRESS_OK;
    return (enum address_result)err_set(e, ADDRESS_ERR_CHECKSUM,
                                        "invalid eip-55 checksum in address '%.42s', expected "
                                        "'0x%.40s'",
                                        text, lower);
}

enum address_result address_parse(struct address *out, const char *text, size_t text_len,
                                  struct err *e)
{
    char quoted[ADDRESS_QUOTE_SIZE];
    if (text_len < 2 || text[0] != '0' || text[1] != 'x') {
        err_quote(quoted, sizeof quoted, text, text_len);
        return (enum address_result)err_set(e, ADDRESS_ERR_PREFIX,
                                            "missing 0x prefix in address '%s'", quoted);
    }
    if (text_len != ADDRESS_TEXT_LEN) {
        err_quote(quoted, sizeof quoted, text, text_len);
        return (enum address_result)err_set(
            e, ADDRESS_ERR_LENGTH, "invalid address length %zu (expected %d) in address '%s'",
            text_len, ADDRESS_TEXT_LEN, quoted);
    }
    enum address_result r = address_check_digits(text, e);
    if (r != ADDRESS_OK)
        return r;
    r = address_check_case(text, e);
    if (r != ADDRESS_OK)
        return r;
    for (size_t i = 0; i < ADDRESS_BYTES; i++) {
        int hi = hex_digit_value(text[2 + 2 * i]);
        int lo = hex_digit_value(text[3 + 2 * i]);
        ASSERT(hi >= 0 && lo >= 0);
        out->bytes[i] = (uint8_t)((hi << 4) | lo);
    }
    return ADDRESS_OK;
}

void address_format_lower(char out[ADDRESS_TEXT_SIZE], const struct address *a)
{
    int rc = hex_encode_0x(out, ADDRESS_TEXT_SIZE, a->bytes, ADDRESS_BYTES);
    ASSERT(rc == 0);
}

void address_format_checksum(char out[ADDRESS_TEXT_SIZE], const struct address *a)
{
    address_format_lower(out, a);
    address_checksum_digits(out + 2);
}

bool address_eq(const struct address *a, const struct address *b)
{
    return memcmp(a->bytes, b->bytes, ADDRESS_BYTES) == 0;
}

bool address_is_zero(const struct address *a)
{
    uint8_t acc = 0;
    for (size_t i = 0; i < ADDRESS_BYTES; i++)
        acc |= a->bytes[i];
    return acc == 0;
}
