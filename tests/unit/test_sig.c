/*
 * test_sig.c - secp256k1 signing/recovery and EIP-191 hashing against vectors
 * made by foundry's cast (tests/vectors/sig_cast.txt, gen_sig_cast.sh).
 *
 * For every cast signature: the key's address, the EIP-191 hash, recovery to
 * the right address with v in {27,28} and {0,1}, and our own RFC 6979
 * signature being byte-identical to cast's. Then every rejection path (bad v,
 * zero/overflowing r and s, high s) with its exact code, a seeded random
 * sign/recover model test, and concurrent use of the shared context.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "address.h"
#include "harness.h"
#include "hex.h"
#include "keccak.h"
#include "sig.h"
#include "vectors.h"

#define VEC_PATH "tests/vectors/sig_cast.txt"

/* ---- vector file ---------------------------------------------------------------- */

static struct vec_file vecs; /* VEC_PATH, loaded by main() */

/* ---- helpers ------------------------------------------------------------------------ */

static const uint8_t curve_n[32] = {
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe,
    0xba, 0xae, 0xdc, 0xe6, 0xaf, 0x48, 0xa0, 0x3b, 0xbf, 0xd2, 0x5e, 0x8c, 0xd0, 0x36, 0x41, 0x41,
};

/* out = a - b for 32-byte big-endian numbers with a >= b. */
static void sub_be32(uint8_t out[32], const uint8_t a[32], const uint8_t b[32])
{
    int borrow = 0;
    for (int i = 31; i >= 0; i--) {
        int d = (int)a[i] - (int)b[i] - borrow;
        borrow = d < 0;
        out[i] = (uint8_t)(d < 0 ? d + 256 : d);
    }
}

/* The malleable twin: s' = n - s, v flipped between 27 and 28. */
static void high_s_twin(uint8_t out[65], const uint8_t sig[65])
{
    memcpy(out, sig, 65);
    sub_be32(out + 32, curve_n, sig + 32);
    out[64] = sig[64] == 27 ? 28 : 27;
}

static enum sig_result recover_code(const uint8_t hash[32], const uint8_t sig[65])
{
    struct address a;
    struct err e;
    err_clear(&e);
    enum sig_result r = sig_recover_address(&a, hash, sig, &e);
    if (r != SIG_OK && (e.code != (int)r || e.msg[0] == '\0'))
        return (enum sig_result) - 1;
    return r;
}

/* ---- against cast ------------------------------------------------------------------- */

struct cast_sig {
    struct sig_private_key key;
    struct address addr;
    uint8_t hash[32];
    uint8_t sig[65];
};

/* Checks one recorded signature of `hash`; counts v values seen. */
static void check_cast_signature(const struct cast_sig *c, const char *label, int v_seen[2])
{
    struct address got;
    struct err e;
    err_clear(&e);
    CHECK_MSG(sig_private_key_address(&got, &c->key, &e) == SIG_OK && address_eq(&got, &c->addr),
              "%s: key address", label);
    CHECK_MSG(sig_recover_address(&got, c->hash, c->sig, &e) == SIG_OK, "%s: %s", label, e.msg);
    CHECK_MSG(address_eq(&got, &c->addr), "%s: recovered the wrong address", label);
    CHECK(c->sig[64] == 27 || c->sig[64] == 28);
    if (c->sig[64] == 27 || c->sig[64] == 28)
        v_seen[c->sig[64] - 27]++;

    /* RFC 6979: our signature is byte-identical to cast's */
    uint8_t ours[65];
    CHECK_INT(sig_sign_recoverable(ours, c->hash, &c->key, &e), SIG_OK);
    CHECK_MSG(memcmp(ours, c->sig, 65) == 0, "%s: our signature differs from cast's", label);
    uint8_t rs[64], recid = 9;
    CHECK_INT(sig_sign_recid(rs, &recid, c->hash, &c->key, NULL), SIG_OK);
    CHECK(memcmp(rs, c->sig, 64) == 0 && recid == c->sig[64] - 27);

    /* v as 0/1 works too */
    uint8_t alt[65];
    memcpy(alt, c->sig, 65);
    alt[64] = (uint8_t)(c->sig[64] - 27);
    CHECK_MSG(sig_recover_address(&got, c->hash, alt, NULL) == SIG_OK && address_eq(&got, &c->addr),
              "%s: v=%u", label, alt[64]);

    /* the high-s twin is valid ECDSA for the same key, and rejected */
    high_s_twin(alt, c->sig);
    CHECK_MSG(recover_code(c->hash, alt) == SIG_ERR_HIGH_S, "%s: high-s accepted", label);
    alt[64] = (uint8_t)(alt[64] - 27);
    CHECK_INT(recover_code(c->hash, alt), SIG_ERR_HIGH_S);

    /* a different hash recovers someone else (or nobody) */
    uint8_t other[32];
    memcpy(other, c->hash, 32);
    other[31] ^= 1;
    enum sig_result r = sig_recover_address(&got, other, c->sig, NULL);
    CHECK_MSG(r == SIG_ERR_RECOVER || (r == SIG_OK && !address_eq(&got, &c->addr)),
              "%s: wrong hash recovered the signer", label);
}

static void test_cast_personal(void)
{
    size_t count = 0;
    int v_seen[2] = {0, 0};
    for (size_t i = 0; i < vecs.line_count; i++) {
        struct vec_line *v = &vecs.line[i];
        if (strcmp(v->field[0], "personal") != 0)
            continue;
        CHECK_INT(v->field_count, 6);
        if (v->field_count != 6)
            continue;
        count++;
        struct cast_sig c;
        struct err e;
        CHECK(sig_private_key_from_hex(&c.key, v->field[1], strlen(v->field[1]), &e) == SIG_OK);
        CHECK(address_parse(&c.addr, v->field[2], strlen(v->field[2]), NULL) == ADDRESS_OK);
        size_t msg_len = 0, msg_cap = strlen(v->field[3]) / 2 + 1;
        uint8_t *msg = malloc(msg_cap);
        CHECK(hex_decode(msg, msg_cap, &msg_len, v->field[3], strlen(v->field[3]), NULL) == HEX_OK);
        uint8_t want_hash[32];
        CHECK(vec_hex_exact(want_hash, 32, v->field[4]));
        CHECK(vec_hex_exact(c.sig, 65, v->field[5]));
        CHECK_INT(sig_hash_personal_message(c.hash, msg, msg_len, &e), SIG_OK);
        CHECK_MSG(memcmp(c.hash, want_hash, 32) == 0, "line %zu: eip-191 hash of %zu bytes", i,
                  msg_len);
        char label[64];
        snprintf(label, sizeof label, "personal vector %zu (%zu bytes)", count, msg_len);
        check_cast_signature(&c, label, v_seen);

        /* one more byte in the message: a different signer */
        uint8_t h2[32];
        msg[msg_len] = '!';
        CHECK_INT(sig_hash_personal_message(h2, msg, msg_len + 1, NULL), SIG_OK);
        struct address got;
        enum sig_result r = sig_recover_address(&got, h2, c.sig, NULL);
        CHECK(r == SIG_ERR_RECOVER || (r == SIG_OK && !address_eq(&got, &c.addr)));
        sig_private_key_wipe(&c.key);
        free(msg);
    }
    CHECK_INT(count, 13);
    CHECK_MSG(v_seen[0] > 0 && v_seen[1] > 0, "vectors cover v=27 (%d) and v=28 (%d)", v_seen[0],
              v_seen[1]);
}

static void test_cast_raw_hash(void)
{
    size_t count = 0;
    int v_seen[2] = {0, 0};
    for (size_t i = 0; i < vecs.line_count; i++) {
        struct vec_line *v = &vecs.line[i];
        if (strcmp(v->field[0], "raw") != 0)
            continue;
        CHECK_INT(v->field_count, 5);
        if (v->field_count != 5)
            continue;
        count++;
        struct cast_sig c;
        CHECK(sig_private_key_from_hex(&c.key, v->field[1], strlen(v->field[1]), NULL) == SIG_OK);
        CHECK(address_parse(&c.addr, v->field[2], strlen(v->field[2]), NULL) == ADDRESS_OK);
        CHECK(vec_hex_exact(c.hash, 32, v->field[3]));
        CHECK(vec_hex_exact(c.sig, 65, v->field[4]));
        char label[32];
        snprintf(label, sizeof label, "raw vector %zu", count);
        check_cast_signature(&c, label, v_seen);
        sig_private_key_wipe(&c.key);
    }
    CHECK_INT(count, 4);
}

/* The well-known first anvil account, independently of the vector file. */
static void test_anvil_account0(void)
{
    struct sig_private_key key;
    const char *hex = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
    CHECK_INT(sig_private_key_from_hex(&key, hex, strlen(hex), NULL), SIG_OK);
    struct address got;
    CHECK_INT(sig_private_key_address(&got, &key, NULL), SIG_OK);
    char text[ADDRESS_TEXT_SIZE];
    address_format_checksum(text, &got);
    CHECK_STR(text, "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266");
    /* EIP-191 hash of "hello" as printed by `cast hash-message hello` */
    uint8_t h[32], want[32];
    CHECK_INT(sig_hash_personal_message(h, (const uint8_t *)"hello", 5, NULL), SIG_OK);
    CHECK(vec_hex_exact(want, 32,
                        "0x50b2c43fd39106bafbba0da34fc430e1f91e3c96ea2acee2bc34119f92b37750"));
    CHECK_MEM(h, want, 32);
    sig_private_key_wipe(&key);
    uint8_t zeros[32] = {0};
    CHECK_MEM(key.bytes, zeros, 32);
}

/* ---- rejection paths --------------------------------------------------------------------- */

static bool first_cast_vector(struct cast_sig *c)
{
    for (size_t i = 0; i < vecs.line_count; i++) {
        struct vec_line *v = &vecs.line[i];
        if (strcmp(v->field[0], "raw") != 0 || v->field_count != 5)
            continue;
        return sig_private_key_from_hex(&c->key, v->field[1], strlen(v->field[1]), NULL) ==
                   SIG_OK &&
               address_parse(&c->addr, v->field[2], strlen(v->field[2]), NULL) == ADDRESS_OK &&
               vec_hex_exact(c->hash, 32, v->field[3]) && vec_hex_exact(c->sig, 65, v->field[4]);
    }
    return false;
}

static void test_reject_bad_v(void)
{
    struct cast_sig c;
    CHECK(first_cast_vector(&c));
    static const uint8_t bad[] = {2, 3, 4, 26, 29, 30, 35, 36, 127, 128, 255};
    uint8_t s[65];
    for (size_t i = 0; i < sizeof bad; i++) {
        memcpy(s, c.sig, 65);
        s[64] = bad[i];
        CHECK_MSG(recover_code(c.hash, s) == SIG_ERR_BAD_V, "v=%u", bad[i]);
    }
    struct err e;
    struct address a;
    s[64] = 29;
    CHECK_INT(sig_recover_address(&a, c.hash, s, &e), SIG_ERR_BAD_V);
    CHECK_MSG(strstr(e.msg, "invalid signature v: 29") != NULL, "message: %s", e.msg);
    /* v is checked before r */
    memset(s, 0, 64);
    s[64] = 2;
    CHECK_INT(recover_code(c.hash, s), SIG_ERR_BAD_V);
    for (unsigned v = 0; v < 256; v++) {
        memcpy(s, c.sig, 65);
        s[64] = (uint8_t)v;
        enum sig_result r = recover_code(c.hash, s);
        bool accepted = v == 0 || v == 1 || v == 27 || v == 28;
        CHECK_MSG(accepted ? r == SIG_OK : r == SIG_ERR_BAD_V, "v=%u gave %d", v, (int)r);
    }
}

static void test_reject_bad_r_s(void)
{
    struct cast_sig c;
    CHECK(first_cast_vector(&c));
    uint8_t s[65];
    memcpy(s, c.sig, 65);
    memset(s, 0, 32);
    CHECK_INT(recover_code(c.hash, s), SIG_ERR_BAD_R);
    memcpy(s, c.sig, 65);
    memset(s + 32, 0, 32);
    CHECK_INT(recover_code(c.hash, s), SIG_ERR_BAD_S);
    memcpy(s, c.sig, 65);
    memcpy(s, curve_n, 32);
    CHECK_INT(recover_code(c.hash, s), SIG_ERR_BAD_R);
    memset(s, 0xff, 32);
    CHECK_INT(recover_code(c.hash, s), SIG_ERR_BAD_R);
    memcpy(s, c.sig, 65);
    memcpy(s + 32, curve_n, 32);
    CHECK_INT(recover_code(c.hash, s), SIG_ERR_BAD_S);
    memset(s + 32, 0xff, 32);
    CHECK_INT(recover_code(c.hash, s), SIG_ERR_BAD_S);

    /* s = floor(n/2) is the largest low s; one more is high */
    static const uint8_t half_n[32] = {
        0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0xff, 0xff, 0xff, 0xff, 0x5d, 0x57, 0x6e, 0x73, 0x57, 0xa4,
        0x50, 0x1d, 0xdf, 0xe9, 0x2f, 0x46, 0x68, 0x1b, 0x20, 0xa0,
    };
    memcpy(s, c.sig, 65);
    memcpy(s + 32, half_n, 32);
    enum sig_result r = recover_code(c.hash, s);
    CHECK_MSG(r == SIG_OK || r == SIG_ERR_RECOVER, "s = n/2 gave %d", (int)r);
    s[63] = 0xa1;
    CHECK_INT(recover_code(c.hash, s), SIG_ERR_HIGH_S);
    struct err e;
    struct address a;
    CHECK_INT(sig_recover_address(&a, c.hash, s, &e), SIG_ERR_HIGH_S);
    CHECK_MSG(strstr(e.msg, "high-s") != NULL, "message: %s", e.msg);
    /* s = n - 1 (high) */
    memcpy(s + 32, curve_n, 32);
    s[63] = 0x40;
    CHECK_INT(recover_code(c.hash, s), SIG_ERR_HIGH_S);
}

/* r values that are not the x coordinate of a curve point recover nothing. */
static void test_recover_no_point(void)
{
    struct cast_sig c;
    CHECK(first_cast_vector(&c));
    uint8_t s[65];
    int ok = 0, none = 0, other = 0;
    for (uint8_t x = 1; x <= 40; x++) {
        memcpy(s, c.sig, 65);
        memset(s, 0, 32);
        s[31] = x;
        enum sig_result r = recover_code(c.hash, s);
        if (r == SIG_OK)
            ok++;
        else if (r == SIG_ERR_RECOVER)
            none++;
        else
            other++;
    }
    CHECK_INT(other, 0);
    CHECK_MSG(ok > 0 && none > 0, "ok=%d none=%d", ok, none);
}

static void test_private_keys(void)
{
    struct sig_private_key k;
    struct err e;
    const char *zero = "0x0000000000000000000000000000000000000000000000000000000000000000";
    CHECK_INT(sig_private_key_from_hex(&k, zero, strlen(zero), &e), SIG_ERR_BAD_KEY);
    const char *n = "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141";
    CHECK_INT(sig_private_key_from_hex(&k, n, strlen(n), &e), SIG_ERR_BAD_KEY);
    const char *n1 = "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364140";
    CHECK_INT(sig_private_key_from_hex(&k, n1, strlen(n1), &e), SIG_OK);
    const char *bad = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ffzz";
    CHECK_INT(sig_private_key_from_hex(&k, bad, strlen(bad), &e), SIG_ERR_BAD_KEY);
    CHECK_MSG(strstr(e.msg, "ac09") == NULL && strstr(e.msg, "zz") == NULL &&
                  strstr(e.msg, "'z'") == NULL,
              "message leaks key text: %s", e.msg);
    const char *short_key = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff";
    CHECK_INT(sig_private_key_from_hex(&k, short_key, strlen(short_key), &e), SIG_ERR_BAD_KEY);
    const char *nl = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80\n";
    CHECK_INT(sig_private_key_from_hex(&k, nl, strlen(nl), &e), SIG_ERR_BAD_KEY);
    char longer[200];
    memset(longer, 'a', sizeof longer);
    CHECK_INT(sig_private_key_from_hex(&k, longer, sizeof longer, &e), SIG_ERR_BAD_KEY);
    uint8_t raw[32] = {0};
    CHECK_INT(sig_private_key_from_bytes(&k, raw, &e), SIG_ERR_BAD_KEY);
    raw[31] = 1;
    CHECK_INT(sig_private_key_from_bytes(&k, raw, &e), SIG_OK);
    struct address a;
    CHECK_INT(sig_private_key_address(&a, &k, NULL), SIG_OK);
    char text[ADDRESS_TEXT_SIZE];
    address_format_checksum(text, &a);
    CHECK_STR(text, "0x7E5F4552091A69125d5DfCb7b8C2659029395Bdf");
    /* signing with a key struct that holds an invalid key is refused */
    memset(k.bytes, 0, sizeof k.bytes);
    uint8_t out[65], hash[32] = {1};
    CHECK_INT(sig_sign_recoverable(out, hash, &k, &e), SIG_ERR_BAD_KEY);
    CHECK_INT(sig_context_init(NULL), SIG_OK);
}

static void test_personal_limits(void)
{
    uint8_t h[32];
    struct err e;
    uint8_t *big = calloc(SIG_MESSAGE_BYTES_MAX + 1, 1);
    CHECK(big != NULL);
    CHECK_INT(sig_hash_personal_message(h, big, SIG_MESSAGE_BYTES_MAX + 1, &e),
              SIG_ERR_MESSAGE_TOO_BIG);
    CHECK_MSG(strstr(e.msg, "1048577") != NULL, "message: %s", e.msg);
    CHECK_INT(sig_hash_personal_message(h, big, SIG_MESSAGE_BYTES_MAX, &e), SIG_OK);
    /* model: keccak of the spelled-out prefix */
    const char *want_pre = "\x19"
                           "Ethereum Signed Message:\n1048576";
    struct keccak k;
    uint8_t want[32];
    keccak_init(&k);
    keccak_update(&k, want_pre, strlen(want_pre));
    keccak_update(&k, big, SIG_MESSAGE_BYTES_MAX);
    keccak_final(&k, want);
    CHECK_MEM(h, want, 32);
    free(big);
    CHECK_INT(sig_hash_personal_message(h, NULL, 0, &e), SIG_OK);
    keccak256(want,
              "\x19"
              "Ethereum Signed Message:\n0",
              27);
    CHECK_MEM(h, want, 32);
}

/* ---- model test and threads ---------------------------------------------------------------- */

static void random_key(struct sig_private_key *k, uint64_t *rng)
{
    uint8_t raw[32];
    do {
        for (int i = 0; i < 32; i++)
            raw[i] = (uint8_t)harness_rand(rng);
    } while (sig_private_key_from_bytes(k, raw, NULL) != SIG_OK);
}

static void test_random_sign_recover(void)
{
    uint64_t rng = harness_seed();
    int v_seen[2] = {0, 0};
    for (int iter = 0; iter < 300; iter++) {
        struct sig_private_key k;
        random_key(&k, &rng);
        uint8_t hash[32], s[65], again[65];
        for (int i = 0; i < 32; i++)
            hash[i] = (uint8_t)harness_rand(&rng);
        struct address want, got;
        CHECK_INT(sig_private_key_address(&want, &k, NULL), SIG_OK);
        CHECK_INT(sig_sign_recoverable(s, hash, &k, NULL), SIG_OK);
        CHECK(s[64] == 27 || s[64] == 28);
        v_seen[s[64] - 27]++;
        CHECK_MSG(recover_code(hash, s) == SIG_OK, "iteration %d", iter);
        CHECK(sig_recover_address(&got, hash, s, NULL) == SIG_OK && address_eq(&got, &want));
        CHECK_INT(sig_sign_recoverable(again, hash, &k, NULL), SIG_OK);
        CHECK_MEM(again, s, 65); /* deterministic */
        high_s_twin(again, s);
        CHECK_INT(recover_code(hash, again), SIG_ERR_HIGH_S);
        /* the public key recovered matches the address */
        uint8_t pub[64];
        CHECK_INT(sig_recover_pubkey(pub, hash, s, NULL), SIG_OK);
        sig_address_from_pubkey(&got, pub);
        CHECK(address_eq(&got, &want));
        sig_private_key_wipe(&k);
    }
    CHECK(v_seen[0] > 50 && v_seen[1] > 50);
}

struct thread_job {
    uint64_t seed;
    int failures;
};

static void *thread_main(void *arg)
{
    struct thread_job *job = arg;
    uint64_t rng = job->seed;
    for (int iter = 0; iter < 100; iter++) {
        struct sig_private_key k;
        random_key(&k, &rng);
        uint8_t hash[32], s[65];
        for (int i = 0; i < 32; i++)
            hash[i] = (uint8_t)harness_rand(&rng);
        struct address want, got;
        if (sig_private_key_address(&want, &k, NULL) != SIG_OK ||
            sig_sign_recoverable(s, hash, &k, NULL) != SIG_OK ||
            sig_recover_address(&got, hash, s, NULL) != SIG_OK || !address_eq(&got, &want))
            job->failures++;
        sig_private_key_wipe(&k);
    }
    return NULL;
}

static void test_threads(void)
{
    pthread_t threads[4];
    struct thread_job jobs[4];
    for (int i = 0; i < 4; i++) {
        jobs[i].seed = 1000 + (uint64_t)i;
        jobs[i].failures = 0;
        CHECK_INT(pthread_create(&threads[i], NULL, thread_main, &jobs[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        CHECK_INT(pthread_join(threads[i], NULL), 0);
        CHECK_INT(jobs[i].failures, 0);
    }
}

int main(void)
{
    if (!vec_file_require(&vecs, VEC_PATH))
        return harness_finish();
    RUN(test_cast_personal);
    RUN(test_cast_raw_hash);
    RUN(test_anvil_account0);
    RUN(test_reject_bad_v);
    RUN(test_reject_bad_r_s);
    RUN(test_recover_no_point);
    RUN(test_private_keys);
    RUN(test_personal_limits);
    RUN(test_random_sign_recover);
    RUN(test_threads);
    vec_file_release(&vecs);
    return harness_finish();
}
