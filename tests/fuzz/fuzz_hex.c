/*
 * fuzz_hex.c - hex_decode() and hex_decode_exact() on arbitrary text.
 *
 * Input: byte 0 picks the function (bit 0) and the output size (bits 1-7);
 * the rest is the text. Properties:
 *   - the result is HEX_OK or one of the function's documented codes, and it
 *     agrees with a model: OK exactly when the digits (after an optional
 *     0x/0X) are even in number, all hex and fit; an error names a condition
 *     that really holds (which one wins when several hold is not documented,
 *     except that HEX_ERR_TOO_LONG comes "before any digit is read");
 *   - on error: e holds the code and a message; the output buffer and
 *     *out_len are untouched (hex.c validates before writing);
 *   - on success: hex_encode() of the bytes is the lowercased digits, and
 *     e == NULL gives the same result.
 */
#include <ctype.h>

#include "fuzz.h"
#include "hex.h"

#define FUZZ_HEX_FILL 0xa5
#define FUZZ_HEX_SLACK 8 /* bytes after the output that must stay untouched */

struct hex_model {
    const char *digits;
    size_t digits_len;
    bool odd;
    bool bad_digit;
};

static void hex_model_init(struct hex_model *m, const char *text, size_t len);
static void hex_check_success(const uint8_t *out, size_t out_len, const struct hex_model *m);
static void fuzz_hex_decode(const char *text, size_t len, uint8_t mode);
static void fuzz_hex_decode_exact(const char *text, size_t len, uint8_t mode);

static void hex_model_init(struct hex_model *m, const char *text, size_t len)
{
    size_t skip = len >= 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X') ? 2 : 0;
    m->digits = text + skip;
    m->digits_len = len - skip;
    m->odd = m->digits_len % 2 != 0;
    m->bad_digit = false;
    for (size_t i = 0; i < m->digits_len; i++)
        m->bad_digit |= !isxdigit((unsigned char)m->digits[i]);
}

static void hex_check_success(const uint8_t *out, size_t out_len, const struct hex_model *m)
{
    FUZZ_CHECK(out_len * 2 == m->digits_len);
    char *enc = malloc(2 * out_len + 1);
    FUZZ_CHECK(enc != NULL);
    FUZZ_CHECK(hex_encode(enc, 2 * out_len + 1, out, out_len) == 0);
    for (size_t i = 0; i < m->digits_len; i++)
        FUZZ_CHECK(enc[i] == (char)tolower((unsigned char)m->digits[i]));
    FUZZ_CHECK(enc[m->digits_len] == '\0');
    free(enc);
}

static void fuzz_hex_decode(const char *text, size_t len, uint8_t mode)
{
    struct hex_model m;
    hex_model_init(&m, text, len);
    /* half the time room for everything, else a small buffer */
    size_t cap = (mode & 2) ? m.digits_len / 2 : (size_t)(mode >> 2);
    uint8_t *out = malloc(cap + FUZZ_HEX_SLACK);
    FUZZ_CHECK(out != NULL);
    memset(out, FUZZ_HEX_FILL, cap + FUZZ_HEX_SLACK);
    size_t out_len = SIZE_MAX;
    struct err e;
    fuzz_err_prime(&e);
    enum hex_result r = hex_decode(out, cap, &out_len, text, len, &e);
    size_t bytes = (m.digits_len + 1) / 2;
    bool too_long = bytes > cap || bytes > HEX_DECODE_BYTES_MAX;
    switch (r) {
    case HEX_OK:
        FUZZ_CHECK(!m.odd && !too_long && !m.bad_digit);
        FUZZ_CHECK(fuzz_err_is_untouched(&e));
        hex_check_success(out, out_len, &m);
        break;
    case HEX_ERR_ODD_LENGTH:
        FUZZ_CHECK(m.odd);
        break;
    case HEX_ERR_TOO_LONG:
        FUZZ_CHECK(too_long);
        break;
    case HEX_ERR_BAD_DIGIT:
        FUZZ_CHECK(m.bad_digit && !too_long);
        break;
    default:
        FUZZ_FAIL("hex_decode returned an undocumented code");
    }
    if (r != HEX_OK) {
        FUZZ_CHECK(fuzz_err_is_set(&e, (int)r));
        FUZZ_CHECK(out_len == SIZE_MAX);
    }
    for (size_t i = (r == HEX_OK ? out_len : 0); i < cap + FUZZ_HEX_SLACK; i++)
        FUZZ_CHECK(out[i] == FUZZ_HEX_FILL);
    size_t out_len2 = 0;
    FUZZ_CHECK(hex_decode(out, cap, &out_len2, text, len, NULL) == r);
    free(out);
}

static void fuzz_hex_decode_exact(const char *text, size_t len, uint8_t mode)
{
    struct hex_model m;
    hex_model_init(&m, text, len);
    /* usually the length the text has, else a length from the mode byte */
    size_t want = (mode & 6) != 0 ? m.digits_len / 2 : (size_t)(mode >> 3);
    uint8_t *out = malloc(want + FUZZ_HEX_SLACK);
    FUZZ_CHECK(out != NULL);
    memset(out, FUZZ_HEX_FILL, want + FUZZ_HEX_SLACK);
    struct err e;
    fuzz_err_prime(&e);
    enum hex_result r = hex_decode_exact(out, want, text, len, &e);
    bool wrong_len = !m.odd && m.digits_len / 2 != want;
    switch (r) {
    case HEX_OK:
        FUZZ_CHECK(!m.odd && !wrong_len && !m.bad_digit);
        FUZZ_CHECK(fuzz_err_is_untouched(&e));
        hex_check_success(out, want, &m);
        break;
    case HEX_ERR_ODD_LENGTH:
        FUZZ_CHECK(m.odd);
        break;
    case HEX_ERR_WRONG_LENGTH:
        FUZZ_CHECK(wrong_len);
        break;
    case HEX_ERR_TOO_LONG:
        FUZZ_CHECK(want > HEX_DECODE_BYTES_MAX);
        break;
    case HEX_ERR_BAD_DIGIT:
        FUZZ_CHECK(m.bad_digit);
        break;
    default:
        FUZZ_FAIL("hex_decode_exact returned an undocumented code");
    }
    if (r != HEX_OK)
        FUZZ_CHECK(fuzz_err_is_set(&e, (int)r));
    for (size_t i = (r == HEX_OK ? want : 0); i < want + FUZZ_HEX_SLACK; i++)
        FUZZ_CHECK(out[i] == FUZZ_HEX_FILL);
    FUZZ_CHECK(hex_decode_exact(out, want, text, len, NULL) == r);
    free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    uint8_t mode = data[0];
    const char *text = (const char *)data + 1;
    if (mode & 1)
        fuzz_hex_decode_exact(text, size - 1, mode);
    else
        fuzz_hex_decode(text, size - 1, mode);
    return 0;
}
