/* test_crypto.c - SHA-256 against NIST FIPS 180-2 examples, HMAC-SHA256
 * against RFC 4231 test cases 1-4, 6 and 7, plus the helpers' limits. */
#include "crypto.h"
#include "harness.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

static size_t test_unhex(uint8_t *out, size_t out_cap, const char *hex);
static void test_fill(uint8_t *out, size_t len, uint8_t value);

static size_t test_unhex(uint8_t *out, size_t out_cap, const char *hex)
{
    size_t n = strlen(hex) / 2;
    if (n > out_cap)
        abort();
    for (size_t i = 0; i < n; i++) {
        unsigned v = 0;
        for (size_t j = 0; j < 2; j++) {
            char c = hex[2 * i + j];
            unsigned d = c >= '0' && c <= '9' ? (unsigned)(c - '0') : (unsigned)(c - 'a' + 10);
            v = v * 16 + d;
        }
        out[i] = (uint8_t)v;
    }
    return n;
}

static void test_fill(uint8_t *out, size_t len, uint8_t value)
{
    memset(out, value, len);
}

static void check_sha256(const char *msg, const char *want_hex)
{
    uint8_t want[32], got[32];
    test_unhex(want, sizeof want, want_hex);
    struct err e = {0};
    CHECK_INT(crypto_sha256(got, msg, strlen(msg), &e), CRYPTO_OK);
    CHECK_MEM(got, want, 32);
}

static void test_sha256_nist_vectors(void)
{
    check_sha256("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    check_sha256("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    check_sha256("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
                 "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    check_sha256("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopq"
                 "klmnopqrlmnopqrsmnopqrstnopqrstu",
                 "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
    /* NULL with length 0 is the empty message. */
    uint8_t got[32], want[32];
    test_unhex(want, sizeof want,
               "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    CHECK_INT(crypto_sha256(got, NULL, 0, NULL), CRYPTO_OK);
    CHECK_MEM(got, want, 32);
}

static void test_sha256_million_a_streaming(void)
{
    uint8_t chunk[1000], got[32], want[32];
    test_fill(chunk, sizeof chunk, 'a');
    test_unhex(want, sizeof want,
               "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    struct crypto_sha256 s = {0};
    struct err e = {0};
    CHECK_INT(crypto_sha256_init(&s, &e), CRYPTO_OK);
    for (int i = 0; i < 1000; i++)
        CHECK_INT(crypto_sha256_update(&s, chunk, sizeof chunk, &e), CRYPTO_OK);
    CHECK_INT(crypto_sha256_final(&s, got, &e), CRYPTO_OK);
    CHECK_MEM(got, want, 32);
    CHECK(s.md_ctx == NULL); /* final releases */
    crypto_sha256_release(&s);
}

/* Streaming over random split points equals the one-shot digest. */
static void test_sha256_streaming_matches_oneshot(void)
{
    uint64_t st = harness_seed();
    uint8_t msg[3000];
    for (size_t i = 0; i < sizeof msg; i++)
        msg[i] = (uint8_t)harness_rand(&st);
    for (int round = 0; round < 200; round++) {
        size_t len = (size_t)(harness_rand(&st) % (sizeof msg + 1));
        uint8_t one[32], streamed[32];
        CHECK_INT(crypto_sha256(one, msg, len, NULL), CRYPTO_OK);
        struct crypto_sha256 s = {0};
        CHECK_INT(crypto_sha256_init(&s, NULL), CRYPTO_OK);
        size_t off = 0;
        for (int k = 0; k < 64 && off < len; k++) {
            size_t step = (size_t)(harness_rand(&st) % 200);
            if (step > len - off)
                step = len - off;
            CHECK_INT(crypto_sha256_update(&s, msg + off, step, NULL), CRYPTO_OK);
            off += step;
        }
        CHECK_INT(crypto_sha256_update(&s, msg + off, len - off, NULL), CRYPTO_OK);
        CHECK_INT(crypto_sha256_final(&s, streamed, NULL), CRYPTO_OK);
        CHECK_MEM(one, streamed, 32);
    }
}

static void test_sha256_state_errors(void)
{
    struct crypto_sha256 s = {0};
    uint8_t out[32];
    struct err e = {0};
    CHECK_INT(crypto_sha256_update(&s, "x", 1, &e), CRYPTO_ERR_STATE);
    CHECK_INT(e.code, CRYPTO_ERR_STATE);
    CHECK_STR(e.msg, "sha256 update failed: context not initialised");
    CHECK_INT(crypto_sha256_final(&s, out, &e), CRYPTO_ERR_STATE);
    CHECK_INT(crypto_sha256_init(&s, &e), CRYPTO_OK);
    CHECK_INT(crypto_sha256_final(&s, out, &e), CRYPTO_OK);
    /* Using a finalised context again is reported, not undefined. */
    CHECK_INT(crypto_sha256_final(&s, out, &e), CRYPTO_ERR_STATE);
    crypto_sha256_release(&s);
    crypto_sha256_release(&s);
}

static void check_hmac(const uint8_t *key, size_t key_len, const uint8_t *data, size_t data_len,
                       const char *want_hex)
{
    uint8_t want[32], got[32];
    test_unhex(want, sizeof want, want_hex);
    struct err e = {0};
    CHECK_INT(crypto_hmac_sha256(got, key, key_len, data, data_len, &e), CRYPTO_OK);
    CHECK_MEM(got, want, 32);
}

static void test_hmac_rfc4231(void)
{
    uint8_t key[131], data[200];
    /* Test case 1 */
    test_fill(key, 20, 0x0b);
    check_hmac(key, 20, (const uint8_t *)"Hi There", 8,
               "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
    /* Test case 2 */
    const char *d2 = "what do ya want for nothing?";
    check_hmac((const uint8_t *)"Jefe", 4, (const uint8_t *)d2, strlen(d2),
               "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    /* Test case 3 */
    test_fill(key, 20, 0xaa);
    test_fill(data, 50, 0xdd);
    check_hmac(key, 20, data, 50,
               "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe");
    /* Test case 4 */
    size_t k4 = test_unhex(key, sizeof key, "0102030405060708090a0b0c0d0e0f10111213141516171819");
    CHECK_INT(k4, 25);
    test_fill(data, 50, 0xcd);
    check_hmac(key, k4, data, 50,
               "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b");
    /* Test case 6 */
    test_fill(key, 131, 0xaa);
    const char *d6 = "Test Using Larger Than Block-Size Key - Hash Key First";
    check_hmac(key, 131, (const uint8_t *)d6, strlen(d6),
               "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
    /* Test case 7 */
    const char *d7 = "This is a test using a larger than block-size key and a larger than "
                     "block-size data. The key needs to be hashed before being used by the HMAC "
                     "algorithm.";
    check_hmac(key, 131, (const uint8_t *)d7, strlen(d7),
               "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2");
}

static void test_hmac_limits(void)
{
    static uint8_t key[CRYPTO_HMAC_KEY_BYTES_MAX + 1];
    uint8_t out[32];
    struct err e = {0};
    CHECK_INT(crypto_hmac_sha256(out, key, CRYPTO_HMAC_KEY_BYTES_MAX, "x", 1, &e), CRYPTO_OK);
    CHECK_INT(crypto_hmac_sha256(out, key, CRYPTO_HMAC_KEY_BYTES_MAX + 1, "x", 1, &e),
              CRYPTO_ERR_TOO_LONG);
    CHECK_INT(e.code, CRYPTO_ERR_TOO_LONG);
    CHECK_STR(e.msg, "hmac key too long: 4097 bytes (max 4096)");
    /* Empty key and empty data are valid HMAC inputs (known value from Python hmac). */
    uint8_t want[32];
    test_unhex(want, sizeof want,
               "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
    CHECK_INT(crypto_hmac_sha256(out, NULL, 0, NULL, 0, &e), CRYPTO_OK);
    CHECK_MEM(out, want, 32);
}

static void test_equal_ct(void)
{
    uint8_t a[32], b[32];
    test_fill(a, 32, 7);
    test_fill(b, 32, 7);
    CHECK(crypto_equal_ct(a, b, 32));
    for (size_t i = 0; i < 32; i++) {
        b[i] ^= 1;
        CHECK(!crypto_equal_ct(a, b, 32));
        b[i] ^= 1;
    }
    b[31] = 0;
    CHECK(crypto_equal_ct(a, b, 31));
    CHECK(crypto_equal_ct(NULL, NULL, 0));
}

static void test_random_bytes(void)
{
    uint8_t a[64], b[64], zero[64];
    memset(zero, 0, sizeof zero);
    struct err e = {0};
    CHECK_INT(crypto_random_bytes(a, sizeof a, &e), CRYPTO_OK);
    CHECK_INT(crypto_random_bytes(b, sizeof b, &e), CRYPTO_OK);
    CHECK(memcmp(a, b, sizeof a) != 0);
    CHECK(memcmp(a, zero, sizeof a) != 0);
    CHECK_INT(crypto_random_bytes(NULL, 0, &e), CRYPTO_OK);
    static uint8_t big[CRYPTO_RANDOM_BYTES_MAX + 1];
    CHECK_INT(crypto_random_bytes(big, sizeof big, &e), CRYPTO_ERR_TOO_LONG);
    CHECK_STR(e.msg, "random request too long: 65537 bytes (max 65536)");
    CHECK_INT(crypto_random_bytes(big, CRYPTO_RANDOM_BYTES_MAX, &e), CRYPTO_OK);
}

static void test_wipe(void)
{
    uint8_t key[40], zero[40];
    test_fill(key, sizeof key, 0x5a);
    memset(zero, 0, sizeof zero);
    crypto_wipe(key, sizeof key);
    CHECK_MEM(key, zero, sizeof key);
    crypto_wipe(NULL, 0);
}

int main(void)
{
    RUN(test_sha256_nist_vectors);
    RUN(test_sha256_million_a_streaming);
    RUN(test_sha256_streaming_matches_oneshot);
    RUN(test_sha256_state_errors);
    RUN(test_hmac_rfc4231);
    RUN(test_hmac_limits);
    RUN(test_equal_ct);
    RUN(test_random_bytes);
    RUN(test_wipe);
    return harness_finish();
}
