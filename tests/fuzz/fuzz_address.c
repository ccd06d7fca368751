/*
 * fuzz_address.c - address_parse() and the EIP-55 checksum.
 *
 * Input: byte 0 picks the mode.
 *   even: the rest is address text. The result must be the first failing
 *         check in the documented order (prefix, length, digits, checksum),
 *         computed by a model: mixed case is accepted exactly when it equals
 *         address_format_checksum() of the digits. On error *out is unchanged
 *         and e holds the code and a message; on success the checksummed and
 *         the lowercase forms parse back to the same bytes.
 *   odd:  bytes 1..20 are an address and byte 21 a position. Its checksummed
 *         form must parse; with the case of one letter flipped it must fail
 *         with ADDRESS_ERR_CHECKSUM unless the text became all-lowercase or
 *         all-uppercase (then it is accepted as is, same bytes).
 */
#include <ctype.h>

#include "address.h"
#include "fuzz.h"

static enum address_result address_model(struct address *bytes, const char *text, size_t len);
static void address_check_roundtrip(const struct address *a);
static void fuzz_address_text(const char *text, size_t len);
static void fuzz_address_flip(struct fuzz_in *in);

/* Expected result by the documented rules, written independently of address.c. */
static enum address_result address_model(struct address *bytes, const char *text, size_t len)
{
    if (len < 2 || text[0] != '0' || text[1] != 'x')
        return ADDRESS_ERR_PREFIX;
    if (len != ADDRESS_TEXT_LEN)
        return ADDRESS_ERR_LENGTH;
    bool lower = false, upper = false;
    for (size_t i = 2; i < len; i++) {
        unsigned char c = (unsigned char)text[i];
        if (!isxdigit(c))
            return ADDRESS_ERR_BAD_DIGIT;
        lower |= c >= 'a' && c <= 'f';
        upper |= c >= 'A' && c <= 'F';
    }
    for (size_t i = 0; i < ADDRESS_BYTES; i++) {
        char pair[3] = {text[2 + 2 * i], text[3 + 2 * i], '\0'};
        bytes->bytes[i] = (uint8_t)strtoul(pair, NULL, 16);
    }
    if (!(lower && upper))
        return ADDRESS_OK;
    char sum[ADDRESS_TEXT_SIZE];
    address_format_checksum(sum, bytes);
    return memcmp(sum, text, ADDRESS_TEXT_LEN) == 0 ? ADDRESS_OK : ADDRESS_ERR_CHECKSUM;
}

static void address_check_roundtrip(const struct address *a)
{
    char text[ADDRESS_TEXT_SIZE];
    struct address back;
    address_format_checksum(text, a);
    FUZZ_CHECK(strlen(text) == ADDRESS_TEXT_LEN);
    FUZZ_CHECK(address_parse(&back, text, ADDRESS_TEXT_LEN, NULL) == ADDRESS_OK);
    FUZZ_CHECK(address_eq(&back, a));
    address_format_lower(text, a);
    FUZZ_CHECK(strlen(text) == ADDRESS_TEXT_LEN);
    for (size_t i = 2; i < ADDRESS_TEXT_LEN; i++)
        FUZZ_CHECK(!isupper((unsigned char)text[i]));
    FUZZ_CHECK(address_parse(&back, text, ADDRESS_TEXT_LEN, NULL) == ADDRESS_OK);
    FUZZ_CHECK(address_eq(&back, a));
    bool zero = true;
    for (size_t i = 0; i < ADDRESS_BYTES; i++)
        zero &= a->bytes[i] == 0;
    FUZZ_CHECK(address_is_zero(a) == zero);
}

static void fuzz_address_text(const char *text, size_t len)
{
    struct address want, got;
    memset(&want, 0, sizeof want);
    memset(&got, 0x5c, sizeof got);
    struct err e;
    fuzz_err_prime(&e);
    enum address_result r = address_parse(&got, text, len, &e);
    FUZZ_CHECK(r == address_model(&want, text, len));
    struct address again;
    FUZZ_CHECK(address_parse(&again, text, len, NULL) == r);
    if (r != ADDRESS_OK) {
        FUZZ_CHECK(fuzz_err_is_set(&e, (int)r));
        for (size_t i = 0; i < ADDRESS_BYTES; i++)
            FUZZ_CHECK(got.bytes[i] == 0x5c);
        return;
    }
    FUZZ_CHECK(fuzz_err_is_untouched(&e));
    FUZZ_CHECK(address_eq(&got, &want));
    address_check_roundtrip(&got);
}

static void fuzz_address_flip(struct fuzz_in *in)
{
    struct address a, back;
    fuzz_take_bytes(a.bytes, ADDRESS_BYTES, in);
    size_t pos = 2 + fuzz_take_byte(in) % 40;
    char text[ADDRESS_TEXT_SIZE];
    address_format_checksum(text, &a);
    FUZZ_CHECK(address_parse(&back, text, ADDRESS_TEXT_LEN, NULL) == ADDRESS_OK);
    FUZZ_CHECK(address_eq(&back, &a));
    if (!isalpha((unsigned char)text[pos]))
        return;
    text[pos] = (char)(isupper((unsigned char)text[pos]) ? tolower((unsigned char)text[pos])
                                                         : toupper((unsigned char)text[pos]));
    bool lower = false, upper = false;
    for (size_t i = 2; i < ADDRESS_TEXT_LEN; i++) {
        lower |= islower((unsigned char)text[i]) != 0;
        upper |= isupper((unsigned char)text[i]) != 0;
    }
    struct err e;
    fuzz_err_prime(&e);
    memset(&back, 0x5c, sizeof back);
    enum address_result r = address_parse(&back, text, ADDRESS_TEXT_LEN, &e);
    if (lower && upper) {
        FUZZ_CHECK(r == ADDRESS_ERR_CHECKSUM);
        FUZZ_CHECK(fuzz_err_is_set(&e, (int)r));
        for (size_t i = 0; i < ADDRESS_BYTES; i++)
            FUZZ_CHECK(back.bytes[i] == 0x5c);
    } else {
        FUZZ_CHECK(r == ADDRESS_OK);
        FUZZ_CHECK(address_eq(&back, &a));
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_in in = {data, size};
    uint8_t mode = fuzz_take_byte(&in);
    if (mode & 1)
        fuzz_address_flip(&in);
    else
        fuzz_address_text((const char *)in.p, in.len);
    return 0;
}
