/*
 * test_address.c - Ethereum addresses: the EIP-55 spec's own vectors, vectors
 * checksummed by Foundry's `cast to-check-sum-address`
 * (tests/vectors/eip55_cast.txt, made by tests/vectors/gen_eip55_cast.sh),
 * every error path with its exact code, and seeded random round trips.
 *
 * Usage: test_address [path/to/eip55_cast.txt]   (run from the repo root)
 */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <strings.h>

#include "address.h"
#include "harness.h"

#define CAST_VECTORS_DEFAULT "tests/vectors/eip55_cast.txt"
#define CAST_LINE_MAX 256
#define CAST_VECTORS_MIN 60
#define RANDOM_CASES 5000

static const char *cast_path = CAST_VECTORS_DEFAULT;
static uint64_t rng;

/* From EIP-55 itself: all-caps, all-lower and mixed-case checksums. */
static const char *const eip55_spec[] = {
    "0x52908400098527886E0F7030069857D2E4169EE7", "0x8617E340B3D01FA5F11F306F4090FD50E238070D",
    "0xde709f2102306220921060314715629080e2fb77", "0x27b1fdb04752bbc536007a920d24acb045561c26",
    "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
    "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB", "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb",
};

static const char *const good = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed";

/* Returns a sentinel address that a failed parse must leave untouched. */
static struct address sentinel(void)
{
    struct address a;
    memset(a.bytes, 0xa5, sizeof a.bytes);
    return a;
}

static void lower_str(char *s)
{
    for (; *s; s++)
        *s = (char)tolower((unsigned char)*s);
}

/* Uppercases the 40 digits, keeps the lowercase "0x". */
static void upper_digits(char *s)
{
    for (s += 2; *s; s++)
        *s = (char)toupper((unsigned char)*s);
}

/* Parses `text` expecting `want`; checks code, e.code, a lowercase message
 * containing `needle`, and that *out stayed the sentinel. */
static void expect_fail(const char *text, size_t len, enum address_result want, const char *needle)
{
    struct address a = sentinel(), s = sentinel();
    struct err e;
    err_clear(&e);
    enum address_result r = address_parse(&a, text, len, &e);
    CHECK_MSG(r == want, "'%.*s': got %d, want %d", (int)(len < 60 ? len : 60), text, (int)r,
              (int)want);
    CHECK_INT(e.code, want);
    CHECK_MSG(e.msg[0] != '\0' && !isupper((unsigned char)e.msg[0]), "msg \"%s\"", e.msg);
    CHECK_MSG(strstr(e.msg, needle) != NULL, "\"%s\" lacks \"%s\"", e.msg, needle);
    CHECK(address_eq(&a, &s));
    CHECK_INT(address_parse(&a, text, len, NULL), want);
}

static void expect_ok(struct address *out, const char *text)
{
    struct err e;
    err_clear(&e);
    enum address_result r = address_parse(out, text, strlen(text), &e);
    CHECK_MSG(r == ADDRESS_OK, "'%s': %d %s", text, (int)r, e.msg);
}

static void test_eip55_spec_vectors(void)
{
    for (size_t i = 0; i < sizeof eip55_spec / sizeof eip55_spec[0]; i++) {
        struct address a = sentinel();
        char sum[ADDRESS_TEXT_SIZE], low[ADDRESS_TEXT_SIZE], want_low[ADDRESS_TEXT_SIZE];
        expect_ok(&a, eip55_spec[i]);
        address_format_checksum(sum, &a);
        CHECK_STR(sum, eip55_spec[i]);
        memcpy(want_low, eip55_spec[i], ADDRESS_TEXT_SIZE);
        lower_str(want_low);
        address_format_lower(low, &a);
        CHECK_STR(low, want_low);
    }
    struct address a;
    expect_ok(&a, good);
    static const uint8_t want[20] = {0x5a, 0xae, 0xb6, 0x05, 0x3f, 0x3e, 0x94, 0xc9, 0xb9, 0xa0,
                                     0x9f, 0x33, 0x66, 0x94, 0x35, 0xe7, 0xef, 0x1b, 0xea, 0xed};
    CHECK_MEM(a.bytes, want, 20);
}

static void check_cast_pair(const char *lower, const char *sum)
{
    struct address a = sentinel(), b = sentinel(), c = sentinel();
    char out[ADDRESS_TEXT_SIZE], upper[ADDRESS_TEXT_SIZE];
    expect_ok(&a, lower);
    address_format_checksum(out, &a);
    CHECK_STR(out, sum);
    address_format_lower(out, &a);
    CHECK_STR(out, lower);
    expect_ok(&b, sum);
    CHECK(address_eq(&a, &b));
    memcpy(upper, lower, ADDRESS_TEXT_SIZE);
    upper_digits(upper);
    expect_ok(&c, upper);
    CHECK(address_eq(&a, &c));
}

static void test_cast_vectors(void)
{
    FILE *f = fopen(cast_path, "r");
    CHECK_MSG(f != NULL, "cannot open %s", cast_path);
    if (f == NULL)
        return;
    char line[CAST_LINE_MAX];
    size_t count = 0, mixed = 0;
    while (fgets(line, sizeof line, f) != NULL) {
        if (line[0] == '#')
            continue;
        char lower[ADDRESS_TEXT_SIZE], sum[ADDRESS_TEXT_SIZE];
        int ok = strlen(line) >= 2 * ADDRESS_TEXT_LEN + 1 && line[ADDRESS_TEXT_LEN] == ' ';
        CHECK_MSG(ok, "bad vector line: %.60s", line);
        if (!ok)
            continue;
        memcpy(lower, line, ADDRESS_TEXT_LEN);
        lower[ADDRESS_TEXT_LEN] = '\0';
        memcpy(sum, line + ADDRESS_TEXT_LEN + 1, ADDRESS_TEXT_LEN);
        sum[ADDRESS_TEXT_LEN] = '\0';
        check_cast_pair(lower, sum);
        mixed += strcmp(lower, sum) != 0;
        count++;
    }
    fclose(f);
    fprintf(stdout, "# %zu cast vectors (%zu mixed-case) from %s\n", count, mixed, cast_path);
    CHECK_MSG(count >= CAST_VECTORS_MIN, "only %zu vectors", count);
    CHECK(mixed >= CAST_VECTORS_MIN - 10);
}

static void test_error_prefix(void)
{
    expect_fail("", 0, ADDRESS_ERR_PREFIX, "missing 0x prefix in address ''");
    expect_fail("0", 1, ADDRESS_ERR_PREFIX, "'0'");
    expect_fail(good + 2, 40, ADDRESS_ERR_PREFIX, "'5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed'");
    expect_fail("0X5AAEB6053F3E94C9B9A09F33669435E7EF1BEAED", 42, ADDRESS_ERR_PREFIX, "'0X5AAE");
    expect_fail("x05aaeb6053f3e94c9b9a09f33669435e7ef1beaed", 42, ADDRESS_ERR_PREFIX, "'x05a");
    expect_fail(" 0x5aaeb6053f3e94c9b9a09f33669435e7ef1beae", 42, ADDRESS_ERR_PREFIX, "' 0x5a");
}

static void test_error_length(void)
{
    char text[1000];
    expect_fail("0x", 2, ADDRESS_ERR_LENGTH, "invalid address length 2 (expected 42)");
    expect_fail(good, 41, ADDRESS_ERR_LENGTH, "length 41");
    memcpy(text, good, 42);
    text[42] = '0';
    expect_fail(text, 43, ADDRESS_ERR_LENGTH, "length 43");
    /* A 32-byte word is not an address. */
    expect_fail("0x0000000000000000000000005aaeb6053f3e94c9b9a09f33669435e7ef1beaed", 66,
                ADDRESS_ERR_LENGTH, "length 66");
    /* Huge input: rejected on length, message quotes a truncated subject. */
    memcpy(text, "0x", 2);
    memset(text + 2, 'a', sizeof text - 2);
    expect_fail(text, sizeof text, ADDRESS_ERR_LENGTH, "aaaa...'");
    struct err e;
    struct address a;
    CHECK_INT(address_parse(&a, text, sizeof text, &e), ADDRESS_ERR_LENGTH);
    CHECK(strlen(e.msg) < 120);
}

static void test_error_bad_digit(void)
{
    char text[ADDRESS_TEXT_SIZE];
    static const struct {
        size_t pos;
        char c;
        const char *needle;
    } cases[] = {
        {2, 'g', "invalid hex digit 'g' at offset 2 in address '0xgaAeb"},
        {41, 'G', "'G' at offset 41"},
        {20, ' ', "' ' at offset 20"},
        {10, '\0', "'\\x00' at offset 10"},
        {11, '\'', "'\\x27' at offset 11"},
        {12, (char)0xc3, "'\\xc3' at offset 12"},
        {2, 'x', "'x' at offset 2"},
        {3, '/', "'/' at offset 3"},
        {4, ':', "':' at offset 4"},
        {5, '@', "'@' at offset 5"},
        {6, '`', "'`' at offset 6"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        memcpy(text, good, ADDRESS_TEXT_SIZE);
        text[cases[i].pos] = cases[i].c;
        expect_fail(text, ADDRESS_TEXT_LEN, ADDRESS_ERR_BAD_DIGIT, cases[i].needle);
    }
}

/* Flipping the case of any single letter of a checksummed address must be
 * caught, unless it leaves a text that is all-lower or all-upper. */
static void test_error_checksum(void)
{
    char text[ADDRESS_TEXT_SIZE];
    size_t flipped = 0;
    for (size_t pos = 2; pos < ADDRESS_TEXT_LEN; pos++) {
        memcpy(text, good, ADDRESS_TEXT_SIZE);
        if (!isalpha((unsigned char)text[pos]))
            continue;
        text[pos] = (char)(isupper((unsigned char)text[pos]) ? tolower((unsigned char)text[pos])
                                                             : toupper((unsigned char)text[pos]));
        expect_fail(text, ADDRESS_TEXT_LEN, ADDRESS_ERR_CHECKSUM,
                    "invalid eip-55 checksum in address '0x");
        flipped++;
    }
    CHECK_INT(flipped, 18);
    memcpy(text, good, ADDRESS_TEXT_SIZE);
    text[2] = '5';
    text[3] = 'A';
    expect_fail(text, ADDRESS_TEXT_LEN, ADDRESS_ERR_CHECKSUM,
                "expected '0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed'");
    /* Mixed case across spec vectors of other addresses. */
    expect_fail("0xfb6916095ca1df60bB79Ce92cE3Ea74c37c5d359", 42, ADDRESS_ERR_CHECKSUM, "'0xfb69");
    expect_fail("0x52908400098527886E0F7030069857D2E4169Ee7", 42, ADDRESS_ERR_CHECKSUM, "'0x5290");
}

static void test_case_variants_accepted(void)
{
    struct address a, b, c;
    expect_ok(&a, "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed");
    expect_ok(&b, "0x5AAEB6053F3E94C9B9A09F33669435E7EF1BEAED");
    expect_ok(&c, good);
    CHECK(address_eq(&a, &b));
    CHECK(address_eq(&a, &c));
    /* Only digits: no letters, both "all lower" and "all upper". */
    expect_ok(&a, "0x1234567890123456789012345678901234567890");
    char out[ADDRESS_TEXT_SIZE];
    address_format_checksum(out, &a);
    CHECK_STR(out, "0x1234567890123456789012345678901234567890");
}

static void test_eq_and_zero(void)
{
    struct address z, one, a, b;
    expect_ok(&z, "0x0000000000000000000000000000000000000000");
    expect_ok(&one, "0x0000000000000000000000000000000000000001");
    expect_ok(&a, "0x8000000000000000000000000000000000000000");
    CHECK(address_is_zero(&z));
    CHECK(!address_is_zero(&one));
    CHECK(!address_is_zero(&a));
    CHECK(!address_eq(&z, &one));
    CHECK(!address_eq(&one, &a));
    CHECK(address_eq(&z, &z));
    for (size_t i = 0; i < ADDRESS_BYTES; i++) {
        memset(b.bytes, 0, sizeof b.bytes);
        b.bytes[i] = 1;
        CHECK(!address_is_zero(&b));
        CHECK(!address_eq(&b, &z));
    }
    char out[ADDRESS_TEXT_SIZE];
    address_format_checksum(out, &z);
    CHECK_STR(out, "0x0000000000000000000000000000000000000000");
}

/* Random addresses: checksum -> parse -> same bytes; lower and upper parse;
 * every single-letter case flip is rejected unless it is no longer mixed. */
static void test_random_round_trip(void)
{
    for (int t = 0; t < RANDOM_CASES; t++) {
        struct address a, b;
        for (size_t i = 0; i < ADDRESS_BYTES; i++)
            a.bytes[i] = (uint8_t)harness_rand(&rng);
        char sum[ADDRESS_TEXT_SIZE], low[ADDRESS_TEXT_SIZE];
        address_format_checksum(sum, &a);
        address_format_lower(low, &a);
        CHECK(strlen(sum) == ADDRESS_TEXT_LEN && strlen(low) == ADDRESS_TEXT_LEN);
        CHECK(strncasecmp(sum, low, ADDRESS_TEXT_LEN) == 0);
        expect_ok(&b, sum);
        CHECK(address_eq(&a, &b));
        expect_ok(&b, low);
        CHECK(address_eq(&a, &b));
        size_t pos = 2 + (size_t)(harness_rand(&rng) % 40);
        if (!isalpha((unsigned char)sum[pos]))
            continue;
        sum[pos] ^= 0x20; /* flip case */
        int upper = 0, lower = 0;
        for (size_t i = 2; i < ADDRESS_TEXT_LEN; i++) {
            upper |= isupper((unsigned char)sum[i]) != 0;
            lower |= islower((unsigned char)sum[i]) != 0;
        }
        enum address_result want = upper && lower ? ADDRESS_ERR_CHECKSUM : ADDRESS_OK;
        CHECK_INT(address_parse(&b, sum, ADDRESS_TEXT_LEN, NULL), want);
    }
}

int main(int argc, char **argv)
{
    if (argc > 1)
        cast_path = argv[1];
    rng = harness_seed();
    RUN(test_eip55_spec_vectors);
    RUN(test_cast_vectors);
    RUN(test_error_prefix);
    RUN(test_error_length);
    RUN(test_error_bad_digit);
    RUN(test_error_checksum);
    RUN(test_case_variants_accepted);
    RUN(test_eq_and_zero);
    RUN(test_random_round_trip);
    return harness_finish();
}
