/*
 * test_hex.c - hex encode/decode: known values, every error code with the
 * exact state afterwards (outputs untouched), the HEX_DECODE_BYTES_MAX limit,
 * and a seeded random round trip against a test-side reference.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>

#include "harness.h"
#include "hex.h"

#define ROUND_TRIPS 20000
#define ROUND_TRIP_BYTES_MAX 100

static uint64_t rng;

/* The message is lowercase, non-empty and contains `needle`. */
static void check_msg(const struct err *e, const char *needle)
{
    CHECK_MSG(e->msg[0] != '\0' && !isupper((unsigned char)e->msg[0]), "msg \"%s\"", e->msg);
    CHECK_MSG(strstr(e->msg, needle) != NULL, "\"%s\" lacks \"%s\"", e->msg, needle);
}

/* The digit tables against the obvious model, over every byte value. */
static void test_digit_tables(void)
{
    static const char lower[] = "0123456789abcdef", upper[] = "0123456789ABCDEF";
    for (int c = 0; c < 256; c++) {
        int want = -1;
        for (int v = 0; v < 16; v++)
            if (c == lower[v] || c == upper[v])
                want = v;
        char ch = (char)c;
        CHECK_MSG(hex_digit_value(ch) == want, "byte %d", c);
        CHECK_MSG(hex_is_digits(&ch, 1) == (want >= 0), "byte %d", c);
    }
    for (unsigned v = 0; v < 64; v++)
        CHECK_MSG(hex_digit_char(v) == lower[v & 15], "value %u", v);
    CHECK(hex_is_digits("", 0));
    CHECK(hex_is_digits("09afAF", 6));
    CHECK(!hex_is_digits("09afAFg", 7));
    CHECK(!hex_is_digits("0x12", 4));
    CHECK(hex_is_digits("12\0", 2)); /* only the given length counts */
}

static void test_encode(void)
{
    const uint8_t data[] = {0x00, 0x01, 0x7f, 0x80, 0xab, 0xff};
    char out[20];
    CHECK_INT(hex_encode(out, sizeof out, data, sizeof data), 0);
    CHECK_STR(out, "00017f80abff");
    CHECK_INT(hex_encode_0x(out, sizeof out, data, sizeof data), 0);
    CHECK_STR(out, "0x00017f80abff");
    CHECK_INT(hex_encode(out, 1, data, 0), 0);
    CHECK_STR(out, "");
    CHECK_INT(hex_encode_0x(out, 3, data, 0), 0);
    CHECK_STR(out, "0x");
}

/* Exact sizes pass; one byte less fails and writes nothing. */
static void test_encode_buffer_too_small(void)
{
    const uint8_t data[] = {0xde, 0xad, 0xbe, 0xef};
    char out[16];
    memset(out, '#', sizeof out);
    CHECK_INT(hex_encode(out, 8, data, 4), -1);
    CHECK_INT(hex_encode_0x(out, 10, data, 4), -1);
    CHECK_INT(hex_encode(out, 0, data, 0), -1);
    CHECK_INT(hex_encode_0x(out, 2, data, 0), -1);
    for (size_t i = 0; i < sizeof out; i++)
        CHECK_INT(out[i], '#');
    CHECK_INT(hex_encode(out, 9, data, 4), 0);
    CHECK_STR(out, "deadbeef");
    CHECK_INT(hex_encode_0x(out, 11, data, 4), 0);
    CHECK_STR(out, "0xdeadbeef");
    /* 2*len+1 would overflow size_t: rejected, not wrapped. */
    CHECK_INT(hex_encode(out, sizeof out, data, SIZE_MAX / 2 + 1), -1);
    CHECK_INT(hex_encode_0x(out, sizeof out, data, SIZE_MAX / 2), -1);
}

static void test_decode(void)
{
    uint8_t out[8];
    size_t n = 99;
    struct err e;
    err_clear(&e);
    CHECK_INT(hex_decode(out, sizeof out, &n, "00017F80aBfF", 12, &e), HEX_OK);
    CHECK_INT(n, 6);
    CHECK_MEM(out, "\x00\x01\x7f\x80\xab\xff", 6);
    CHECK_INT(e.code, 0);
    CHECK_INT(hex_decode(out, sizeof out, &n, "0xdead", 6, &e), HEX_OK);
    CHECK_INT(n, 2);
    CHECK_MEM(out, "\xde\xad", 2);
    CHECK_INT(hex_decode(out, sizeof out, &n, "0XBEEF", 6, &e), HEX_OK);
    CHECK_INT(n, 2);
    CHECK_MEM(out, "\xbe\xef", 2);
    CHECK_INT(hex_decode(out, sizeof out, &n, "0x", 2, &e), HEX_OK);
    CHECK_INT(n, 0);
    CHECK_INT(hex_decode(out, sizeof out, &n, "", 0, NULL), HEX_OK);
    CHECK_INT(n, 0);
    /* Exactly out_cap bytes fits; text_len is honoured (no NUL needed). */
    CHECK_INT(hex_decode(out, 2, &n, "abcdZZ", 4, &e), HEX_OK);
    CHECK_INT(n, 2);
    CHECK_MEM(out, "\xab\xcd", 2);
    /* Only "0x" at the very start is a prefix. */
    CHECK_INT(hex_decode(out, sizeof out, &n, "000x", 4, &e), HEX_ERR_BAD_DIGIT);
}

static void test_decode_errors(void)
{
    uint8_t out[4];
    size_t n = 77;
    struct err e;
    memset(out, 0x5a, sizeof out);
    CHECK_INT(hex_decode(out, sizeof out, &n, "abc", 3, &e), HEX_ERR_ODD_LENGTH);
    CHECK_INT(e.code, HEX_ERR_ODD_LENGTH);
    check_msg(&e, "odd number of hex digits: 3");
    CHECK_INT(hex_decode(out, sizeof out, &n, "0x1", 3, &e), HEX_ERR_ODD_LENGTH);
    CHECK_INT(hex_decode(out, sizeof out, &n, "0x12g4", 6, &e), HEX_ERR_BAD_DIGIT);
    CHECK_INT(e.code, HEX_ERR_BAD_DIGIT);
    check_msg(&e, "invalid hex digit 'g' at offset 4");
    CHECK_INT(hex_decode(out, sizeof out, &n, "12 4", 4, &e), HEX_ERR_BAD_DIGIT);
    check_msg(&e, "' ' at offset 2");
    CHECK_INT(hex_decode(out, sizeof out, &n, "1\n", 2, &e), HEX_ERR_BAD_DIGIT);
    check_msg(&e, "'\\x0a' at offset 1");
    CHECK_INT(hex_decode(out, sizeof out, &n, "\xc3\xa9", 2, &e), HEX_ERR_BAD_DIGIT);
    check_msg(&e, "'\\xc3' at offset 0");
    static const char neighbours[] = {'/', ':', '@', 'G', '`', 'g'}; /* around the ranges */
    for (size_t i = 0; i < sizeof neighbours; i++) {
        char text[4] = {'a', 'b', neighbours[i], '0'};
        char needle[32];
        snprintf(needle, sizeof needle, "'%c' at offset 2", neighbours[i]);
        CHECK_INT(hex_decode(out, sizeof out, &n, text, 4, &e), HEX_ERR_BAD_DIGIT);
        check_msg(&e, needle);
    }
    CHECK_INT(hex_decode(out, sizeof out, &n, "0x0x", 4, &e), HEX_ERR_BAD_DIGIT);
    check_msg(&e, "'x' at offset 3");
    CHECK_INT(hex_decode(out, sizeof out, &n, "0x0102030405", 12, &e), HEX_ERR_TOO_LONG);
    CHECK_INT(e.code, HEX_ERR_TOO_LONG);
    check_msg(&e, "5 bytes for a 4-byte buffer");
    /* Too long is reported before any digit is looked at. */
    CHECK_INT(hex_decode(out, sizeof out, &n, "zzzzzzzzzz", 10, &e), HEX_ERR_TOO_LONG);
    /* A failed decode never touches the outputs, even after some good digits. */
    CHECK_INT(hex_decode(out, sizeof out, &n, "aabbccgg", 8, NULL), HEX_ERR_BAD_DIGIT);
    CHECK_INT(n, 77);
    for (size_t i = 0; i < sizeof out; i++)
        CHECK_INT(out[i], 0x5a);
}

static void test_decode_exact(void)
{
    uint8_t out[4];
    struct err e;
    memset(out, 0x5a, sizeof out);
    CHECK_INT(hex_decode_exact(out, 4, "0x01020304", 10, &e), HEX_OK);
    CHECK_MEM(out, "\x01\x02\x03\x04", 4);
    CHECK_INT(hex_decode_exact(out, 4, "A1B2C3D4", 8, &e), HEX_OK);
    CHECK_MEM(out, "\xa1\xb2\xc3\xd4", 4);
    CHECK_INT(hex_decode_exact(out, 0, "0x", 2, &e), HEX_OK);
    memset(out, 0x5a, sizeof out);
    CHECK_INT(hex_decode_exact(out, 4, "0x010203", 8, &e), HEX_ERR_WRONG_LENGTH);
    CHECK_INT(e.code, HEX_ERR_WRONG_LENGTH);
    check_msg(&e, "3 bytes, expected 4");
    CHECK_INT(hex_decode_exact(out, 4, "0x0102030405", 12, &e), HEX_ERR_WRONG_LENGTH);
    check_msg(&e, "5 bytes, expected 4");
    CHECK_INT(hex_decode_exact(out, 4, "0x0102030", 9, &e), HEX_ERR_ODD_LENGTH);
    CHECK_INT(e.code, HEX_ERR_ODD_LENGTH);
    CHECK_INT(hex_decode_exact(out, 4, "0x010203x4", 10, &e), HEX_ERR_BAD_DIGIT);
    CHECK_INT(e.code, HEX_ERR_BAD_DIGIT);
    check_msg(&e, "'x' at offset 8");
    CHECK_INT(hex_decode_exact(out, HEX_DECODE_BYTES_MAX + 1, "00", 2, &e), HEX_ERR_TOO_LONG);
    CHECK_INT(e.code, HEX_ERR_TOO_LONG);
    for (size_t i = 0; i < sizeof out; i++)
        CHECK_INT(out[i], 0x5a);
}

/* HEX_DECODE_BYTES_MAX bytes decode; one more byte is HEX_ERR_TOO_LONG even
 * with a big enough buffer. */
static void test_decode_limit(void)
{
    size_t max = HEX_DECODE_BYTES_MAX, text_len = 2 + 2 * (max + 1);
    char *text = malloc(text_len);
    uint8_t *out = malloc(max + 1);
    CHECK(text != NULL && out != NULL);
    if (text == NULL || out == NULL)
        goto out;
    memcpy(text, "0x", 2);
    memset(text + 2, 'f', text_len - 2);
    size_t n = 0;
    struct err e;
    CHECK_INT(hex_decode(out, max + 1, &n, text, text_len - 2, &e), HEX_OK);
    CHECK_INT(n, max);
    CHECK(out[0] == 0xff && out[max - 1] == 0xff);
    out[max] = 0x11;
    n = 5;
    CHECK_INT(hex_decode(out, max + 1, &n, text, text_len, &e), HEX_ERR_TOO_LONG);
    CHECK_INT(e.code, HEX_ERR_TOO_LONG);
    check_msg(&e, "maximum 1048576");
    CHECK_INT(n, 5);
    CHECK_INT(out[max], 0x11);
    CHECK_INT(hex_decode_exact(out, max, text, text_len - 2, &e), HEX_OK);
out:
    free(text);
    free(out);
}

/* Encode random bytes, decode them back (with and without prefix, with
 * randomly uppercased digits) and compare with a test-side encoder. */
static void test_random_round_trip(void)
{
    static const char digits[] = "0123456789abcdef";
    for (int t = 0; t < ROUND_TRIPS; t++) {
        uint8_t data[ROUND_TRIP_BYTES_MAX], back[ROUND_TRIP_BYTES_MAX];
        char enc[2 * ROUND_TRIP_BYTES_MAX + 3], ref[2 * ROUND_TRIP_BYTES_MAX + 3];
        size_t len = (size_t)(harness_rand(&rng) % (ROUND_TRIP_BYTES_MAX + 1)), n = 0;
        for (size_t i = 0; i < len; i++) {
            data[i] = (uint8_t)harness_rand(&rng);
            ref[2 * i] = digits[data[i] >> 4];
            ref[2 * i + 1] = digits[data[i] & 15];
        }
        ref[2 * len] = '\0';
        CHECK_INT(hex_encode(enc, 2 * len + 1, data, len), 0);
        CHECK_STR(enc, ref);
        CHECK_INT(hex_encode_0x(enc, sizeof enc, data, len), 0);
        CHECK(enc[0] == '0' && enc[1] == 'x' && strcmp(enc + 2, ref) == 0);
        for (size_t i = 2; i < 2 * len + 2; i++)
            if (harness_rand(&rng) & 1)
                enc[i] = (char)toupper((unsigned char)enc[i]);
        size_t skip = (harness_rand(&rng) & 1) ? 0 : 2;
        CHECK_INT(hex_decode(back, len, &n, enc + skip, 2 * len + 2 - skip, NULL), HEX_OK);
        CHECK_INT(n, len);
        CHECK_MEM(back, data, len);
        CHECK_INT(hex_decode_exact(back, len, enc + skip, 2 * len + 2 - skip, NULL), HEX_OK);
        CHECK_MEM(back, data, len);
    }
}

int main(void)
{
    rng = harness_seed();
    RUN(test_digit_tables);
    RUN(test_encode);
    RUN(test_encode_buffer_too_small);
    RUN(test_decode);
    RUN(test_decode_errors);
    RUN(test_decode_exact);
    RUN(test_decode_limit);
    RUN(test_random_round_trip);
    return harness_finish();
}
