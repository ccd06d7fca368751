/*
 * hex.c - hexadecimal encode/decode (see hex.h).
 *
 * Decoding validates the whole input before writing a single byte, so on any
 * failure the output buffer and *out_len are left untouched.
 */
#include "hex.h"

static bool hex_has_prefix(const char *text, size_t text_len);
static enum hex_result hex_check_digits(const char *digits, size_t digits_len, size_t offset,
                                        struct err *e);
static void hex_write_digits(char *out, const uint8_t *data, size_t data_len);
static void hex_decode_digits(uint8_t *out, const char *digits, size_t digits_len);

static const char hex_lower[16] = {'0', '1', '2', '3', '4', '5', '6', '7',
                                   '8', '9', 'a', 'b', 'c', 'd', 'e', 'f'};

int hex_digit_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

char hex_digit_char(unsigned value)
{
    return hex_lower[value & 0x0fu];
}

bool hex_is_digits(const char *text, size_t text_len)
{
    for (size_t i = 0; i < text_len; i++)
        if (hex_digit_value(text[i]) < 0)
            return false;
    return true;
}

static bool hex_has_prefix(const char *text, size_t text_len)
{
    return text_len >= 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X');
}

/* Checks every digit; `offset` is where `digits` starts inside the caller's text,
 * so the message names the position the caller sees. */
static enum hex_result hex_check_digits(const char *digits, size_t digits_len, size_t offset,
                                        struct err *e)
{
    for (size_t i = 0; i < digits_len; i++) {
        if (hex_digit_value(digits[i]) >= 0)
            continue;
        unsigned char c = (unsigned char)digits[i];
        if (c >= 0x20 && c < 0x7f && c != '\'' && c != '\\')
            return (enum hex_result)err_set(
                e, HEX_ERR_BAD_DIGIT, "invalid hex digit '%c' at offset %zu", (char)c, offset + i);
        return (enum hex_result)err_set(e, HEX_ERR_BAD_DIGIT,
                                        "invalid hex digit '\\x%02x' at offset %zu", c, offset + i);
    }
    return HEX_OK;
}

static void hex_write_digits(char *out, const uint8_t *data, size_t data_len)
{
    for (size_t i = 0; i < data_len; i++) {
        out[2 * i] = hex_lower[data[i] >> 4];
        out[2 * i + 1] = hex_lower[data[i] & 0x0f];
    }
    out[2 * data_len] = '\0';
}

/* Digits must already be validated and even in number. */
static void hex_decode_digits(uint8_t *out, const char *digits, size_t digits_len)
{
    for (size_t i = 0; i < digits_len / 2; i++) {
        int hi = hex_digit_value(digits[2 * i]);
        int lo = hex_digit_value(digits[2 * i + 1]);
        out[i] = (uint8_t)((hi << 4) | lo);
    }
}

int hex_encode(char *out, size_t out_size, const uint8_t *data, size_t data_len)
{
    if (data_len > (SIZE_MAX - 1) / 2 || out_size < 2 * data_len + 1)
        return -1;
    hex_write_digits(out, data, data_len);
    return 0;
}

int hex_encode_0x(char *out, size_t out_size, const uint8_t *data, size_t data_len)
{
    if (data_len > (SIZE_MAX - 3) / 2 || out_size < 2 * data_len + 3)
        return -1;
    out[0] = '0';
    out[1] = 'x';
    hex_write_digits(out + 2, data, data_len);
    return 0;
}

enum hex_result hex_decode(uint8_t *out, size_t out_cap, size_t *out_len, const char *text,
                           size_t text_len, struct err *e)
{
    size_t skip = hex_has_prefix(text, text_len) ? 2 : 0;
    const char *digits = skip ? text + skip : text;
    size_t digits_len = text_len - skip;
    if (digits_len % 2 != 0)
        return (enum hex_result)err_set(e, HEX_ERR_ODD_LENGTH, "odd number of hex digits: %zu",
                                        digits_len);
    size_t bytes = digits_len / 2;
    if (bytes > HEX_DECODE_BYTES_MAX)
        return (enum hex_result)err_set(e, HEX_ERR_TOO_LONG,
                                        "hex input too long: %zu bytes, maximum %zu", bytes,
                                        HEX_DECODE_BYTES_MAX);
    if (bytes > out_cap)
        return (enum hex_result)err_set(e, HEX_ERR_TOO_LONG,
                                        "hex input too long: %zu bytes for a %zu-byte buffer",
                                        bytes, out_cap);
    enum hex_result r = hex_check_digits(digits, digits_len, skip, e);
    if (r != HEX_OK)
        return r;
    hex_decode_digits(out, digits, digits_len);
    *out_len = bytes;
    return HEX_OK;
}

enum hex_result hex_decode_exact(uint8_t *out, size_t out_len, const char *text, size_t text_len,
                                 struct err *e)
{
    if (out_len > HEX_DECODE_BYTES_MAX)
        return (enum hex_result)err_set(e, HEX_ERR_TOO_LONG,
                                        "hex output too long: %zu bytes, maximum %zu", out_len,
                                        HEX_DECODE_BYTES_MAX);
    size_t skip = hex_has_prefix(text, text_len) ? 2 : 0;
    const char *digits = skip ? text + skip : text;
    size_t digits_len = text_len - skip;
    if (digits_len % 2 != 0)
        return (enum hex_result)err_set(e, HEX_ERR_ODD_LENGTH, "odd number of hex digits: %zu",
                                        digits_len);
    if (digits_len / 2 != out_len)
        return (enum hex_result)err_set(e, HEX_ERR_WRONG_LENGTH,
                                        "wrong hex length: %zu bytes, expected %zu", digits_len / 2,
                                        out_len);
    enum hex_result r = hex_check_digits(digits, digits_len, skip, e);
    if (r != HEX_OK)
        return r;
    hex_decode_digits(out, digits, digits_len);
    return HEX_OK;
}
