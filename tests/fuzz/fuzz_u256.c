/*
 * fuzz_u256.c - u256_from_dec() and u256_from_hex() on arbitrary text.
 *
 * Input: byte 0 bit 0 picks decimal (0) or hex (1); the rest is the text.
 * Properties:
 *   - the result is U256_OK or one of the parser's codes (dec: EMPTY,
 *     TOO_LONG, BAD_DIGIT, LEADING_ZERO, OVERFLOW; hex: EMPTY, BAD_DIGIT,
 *     TOO_LONG) and agrees with a model of the documented rules: OK exactly
 *     when the text is canonical decimal below 2^256 / "0x" + 1..64 hex
 *     digits, and an error names a condition that really holds;
 *   - on error *out is unchanged and e holds the code and a message;
 *   - decimal OK: u256_to_dec() gives back exactly the text (canonical);
 *   - hex OK: the value equals the digits read by a nibble model, and
 *     u256_to_hex() is the lowercased digits without leading zeros;
 *   - both: the big-endian and hex/decimal forms round-trip.
 */
#include <ctype.h>

#include "fuzz.h"
#include "u256.h"

/* 2^256 - 1: the largest value, 78 digits. */
static const char u256_max_dec[] =
    "115792089237316195423570985008687907853269984665640564039457584007913129639935";

static void u256_check_forms(const struct u256 *v);
static void fuzz_u256_dec(const char *text, size_t len);
static void fuzz_u256_hex(const char *text, size_t len);

static void u256_check_forms(const struct u256 *v)
{
    uint8_t be[32];
    u256_to_be32(be, v);
    struct u256 back = u256_from_be32(be);
    FUZZ_CHECK(u256_cmp(&back, v) == 0);
    char dec[U256_DEC_SIZE], hex[U256_HEX_SIZE];
    u256_to_dec(dec, v);
    FUZZ_CHECK(u256_from_dec(&back, dec, strlen(dec), NULL) == U256_OK);
    FUZZ_CHECK(u256_cmp(&back, v) == 0);
    u256_to_hex(hex, v);
    FUZZ_CHECK(u256_from_hex(&back, hex, strlen(hex), NULL) == U256_OK);
    FUZZ_CHECK(u256_cmp(&back, v) == 0);
}

static void fuzz_u256_dec(const char *text, size_t len)
{
    bool digits = true;
    for (size_t i = 0; i < len; i++)
        digits &= isdigit((unsigned char)text[i]) != 0;
    bool lead_zero = len > 1 && text[0] == '0';
    bool overflow = len == U256_DEC_DIGITS_MAX && memcmp(text, u256_max_dec, len) > 0;

    struct u256 v = u256_from_u64(0x5c5c5c5c5c5c5c5cULL);
    const struct u256 before = v;
    struct err e;
    fuzz_err_prime(&e);
    enum u256_result r = u256_from_dec(&v, text, len, &e);
    switch (r) {
    case U256_OK: {
        FUZZ_CHECK(len > 0 && len <= U256_DEC_DIGITS_MAX && digits && !lead_zero && !overflow);
        char back[U256_DEC_SIZE];
        u256_to_dec(back, &v);
        FUZZ_CHECK(strlen(back) == len && memcmp(back, text, len) == 0);
        u256_check_forms(&v);
        break;
    }
    case U256_ERR_EMPTY:
        FUZZ_CHECK(len == 0);
        break;
    case U256_ERR_TOO_LONG:
        FUZZ_CHECK(len > U256_DEC_DIGITS_MAX);
        break;
    case U256_ERR_BAD_DIGIT:
        FUZZ_CHECK(!digits);
        break;
    case U256_ERR_LEADING_ZERO:
        FUZZ_CHECK(lead_zero);
        break;
    case U256_ERR_OVERFLOW:
        FUZZ_CHECK(overflow && digits && !lead_zero);
        break;
    default:
        FUZZ_FAIL("u256_from_dec returned an undocumented code");
    }
    if (r != U256_OK) {
        FUZZ_CHECK(fuzz_err_is_set(&e, (int)r));
        FUZZ_CHECK(u256_cmp(&v, &before) == 0);
    }
    struct u256 again;
    FUZZ_CHECK(u256_from_dec(&again, text, len, NULL) == r);
}

static void fuzz_u256_hex(const char *text, size_t len)
{
    bool prefix = len >= 2 && text[0] == '0' && text[1] == 'x';
    size_t ndigits = len >= 2 ? len - 2 : 0;
    bool digits = prefix;
    uint8_t model[32] = {0}; /* big-endian value of the last 64 nibbles */
    for (size_t i = 2; prefix && i < len; i++) {
        unsigned char c = (unsigned char)text[i];
        digits &= isxdigit(c) != 0;
        if (!digits || ndigits > 64)
            continue;
        size_t nib = 63 - (len - 1 - i); /* nibble index from the most significant */
        unsigned v = isdigit(c) ? (unsigned)(c - '0') : (unsigned)(tolower(c) - 'a' + 10);
        model[nib / 2] |= (uint8_t)(nib % 2 == 0 ? v << 4 : v);
    }

    struct u256 v = u256_from_u64(0x5c5c5c5c5c5c5c5cULL);
    const struct u256 before = v;
    struct err e;
    fuzz_err_prime(&e);
    enum u256_result r = u256_from_hex(&v, text, len, &e);
    switch (r) {
    case U256_OK: {
        FUZZ_CHECK(prefix && ndigits >= 1 && ndigits <= 64 && digits);
        struct u256 want = u256_from_be32(model);
        FUZZ_CHECK(u256_cmp(&v, &want) == 0);
        char back[U256_HEX_SIZE];
        u256_to_hex(back, &v);
        size_t skip = 2;
        while (skip + 1 < len && text[skip] == '0')
            skip++; /* leading zeros go, "0x0" stays */
        FUZZ_CHECK(strlen(back) == 2 + len - skip && memcmp(back, "0x", 2) == 0);
        for (size_t i = skip; i < len; i++)
            FUZZ_CHECK(back[2 + i - skip] == (char)tolower((unsigned char)text[i]));
        u256_check_forms(&v);
        break;
    }
    case U256_ERR_EMPTY:
        FUZZ_CHECK(len == 0 || (prefix && ndigits == 0));
        break;
    case U256_ERR_BAD_DIGIT:
        FUZZ_CHECK(!prefix || !digits);
        break;
    case U256_ERR_TOO_LONG:
        FUZZ_CHECK(prefix && ndigits > 64);
        break;
    default:
        FUZZ_FAIL("u256_from_hex returned an undocumented code");
    }
    if (r != U256_OK) {
        FUZZ_CHECK(fuzz_err_is_set(&e, (int)r));
        FUZZ_CHECK(u256_cmp(&v, &before) == 0);
    }
    struct u256 again;
    FUZZ_CHECK(u256_from_hex(&again, text, len, NULL) == r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    const char *text = (const char *)data + 1;
    if (data[0] & 1)
        fuzz_u256_hex(text, size - 1);
    else
        fuzz_u256_dec(text, size - 1);
    return 0;
}
