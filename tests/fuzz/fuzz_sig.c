/*
 * fuzz_sig.c - sig_recover_address() on arbitrary 65-byte signatures and hashes.
 *
 * Input: byte 0 picks the mode.
 *   even: bytes 1..32 are the hash, 33..97 the signature r || s || v (short
 *         input is zero-filled; byte 0 bit 1 forces v to 27/28/0/1 by bits
 *         2-3, so that r and s get exercised). The result follows the documented
 *         order: SIG_ERR_BAD_V for v outside {27, 28, 0, 1}, then BAD_R for r
 *         zero or >= n, BAD_S for s zero or >= n, HIGH_S for s > n/2, else OK
 *         or SIG_ERR_RECOVER (r not on the curve). e is set on error.
 *         OK: v = 27/28 and v = 0/1 recover the same address, which is also
 *         keccak(pubkey) from sig_recover_pubkey(); the malleable twin
 *         (n - s, other parity) is rejected with SIG_ERR_HIGH_S.
 *   odd:  bytes 1..32 are a private key, 33..64 a hash. The key is valid
 *         exactly when 0 < key < n; then signing gives v in {27, 28} and low
 *         s, the same r || s as sig_sign_recid() and as a second signing, and
 *         recovery gives sig_private_key_address().
 */
#include "fuzz.h"
#include "sig.h"

/* secp256k1 group order n and n/2 (rounded down), big-endian. */
static const uint8_t sig_n[32] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                  0xff, 0xff, 0xff, 0xff, 0xfe, 0xba, 0xae, 0xdc, 0xe6, 0xaf, 0x48,
                                  0xa0, 0x3b, 0xbf, 0xd2, 0x5e, 0x8c, 0xd0, 0x36, 0x41, 0x41};
static const uint8_t sig_half_n[32] = {
    0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0x5d, 0x57, 0x6e, 0x73, 0x57, 0xa4, 0x50, 0x1d, 0xdf, 0xe9, 0x2f, 0x46, 0x68, 0x1b, 0x20, 0xa0};

static bool sig_is_zero(const uint8_t *p);
static void sig_sub_from_n(uint8_t out[32], const uint8_t s[32]);
static enum sig_result sig_model_check(const uint8_t sig[SIG_BYTES]);
static void sig_check_recovered(const uint8_t hash[32], const uint8_t sig[SIG_BYTES],
                                const struct address *a);
static void fuzz_sig_recover(struct fuzz_in *in, uint8_t mode);
static void fuzz_sig_sign(struct fuzz_in *in);

static bool sig_is_zero(const uint8_t *p)
{
    uint8_t acc = 0;
    for (size_t i = 0; i < 32; i++)
        acc |= p[i];
    return acc == 0;
}

/* out = n - s (s <= n), big-endian. */
static void sig_sub_from_n(uint8_t out[32], const uint8_t s[32])
{
    int borrow = 0;
    for (size_t i = 32; i-- > 0;) {
        int d = sig_n[i] - s[i] - borrow;
        borrow = d < 0;
        out[i] = (uint8_t)(d + (borrow ? 256 : 0));
    }
}

static enum sig_result sig_model_check(const uint8_t sig[SIG_BYTES])
{
    uint8_t v = sig[64];
    if (v != 27 && v != 28 && v != 0 && v != 1)
        return SIG_ERR_BAD_V;
    if (sig_is_zero(sig) || memcmp(sig, sig_n, 32) >= 0)
        return SIG_ERR_BAD_R;
    if (sig_is_zero(sig + 32) || memcmp(sig + 32, sig_n, 32) >= 0)
        return SIG_ERR_BAD_S;
    if (memcmp(sig + 32, sig_half_n, 32) > 0)
        return SIG_ERR_HIGH_S;
    return SIG_OK; /* or SIG_ERR_RECOVER */
}

static void sig_check_recovered(const uint8_t hash[32], const uint8_t sig[SIG_BYTES],
                                const struct address *a)
{
    uint8_t other[SIG_BYTES], pub[SIG_PUBKEY_BYTES];
    struct address b;
    memcpy(other, sig, SIG_BYTES);
    other[64] = (uint8_t)(sig[64] >= 27 ? sig[64] - 27 : sig[64] + 27);
    FUZZ_CHECK(sig_recover_address(&b, hash, other, NULL) == SIG_OK);
    FUZZ_CHECK(address_eq(&b, a));
    FUZZ_CHECK(sig_recover_pubkey(pub, hash, sig, NULL) == SIG_OK);
    sig_address_from_pubkey(&b, pub);
    FUZZ_CHECK(address_eq(&b, a));
    /* the high-s twin of a valid signature */
    sig_sub_from_n(other + 32, sig + 32);
    other[64] = (uint8_t)(sig[64] == 27 ? 28 : sig[64] == 28 ? 27 : sig[64] ^ 1);
    struct err e;
    fuzz_err_prime(&e);
    FUZZ_CHECK(sig_recover_address(&b, hash, other, &e) == SIG_ERR_HIGH_S);
    FUZZ_CHECK(fuzz_err_is_set(&e, SIG_ERR_HIGH_S));
}

static void fuzz_sig_recover(struct fuzz_in *in, uint8_t mode)
{
    uint8_t hash[32], sig[SIG_BYTES];
    fuzz_take_bytes(hash, sizeof hash, in);
    fuzz_take_bytes(sig, sizeof sig, in);
    static const uint8_t forced_v[4] = {27, 28, 0, 1};
    if (mode & 2)
        sig[64] = forced_v[(mode >> 2) & 3];
    enum sig_result want = sig_model_check(sig);
    struct address a;
    struct err e;
    fuzz_err_prime(&e);
    enum sig_result r = sig_recover_address(&a, hash, sig, &e);
    if (want == SIG_OK)
        FUZZ_CHECK(r == SIG_OK || r == SIG_ERR_RECOVER || r == SIG_ERR_CONTEXT);
    else
        FUZZ_CHECK(r == want);
    FUZZ_CHECK(r == SIG_OK || fuzz_err_is_set(&e, (int)r));
    struct address again;
    FUZZ_CHECK(sig_recover_address(&again, hash, sig, NULL) == r);
    if (r != SIG_OK)
        return;
    FUZZ_CHECK(fuzz_err_is_untouched(&e));
    FUZZ_CHECK(address_eq(&again, &a));
    sig_check_recovered(hash, sig, &a);
}

static void fuzz_sig_sign(struct fuzz_in *in)
{
    uint8_t key_bytes[32], hash[32];
    fuzz_take_bytes(key_bytes, sizeof key_bytes, in);
    fuzz_take_bytes(hash, sizeof hash, in);
    bool valid = !sig_is_zero(key_bytes) && memcmp(key_bytes, sig_n, 32) < 0;
    struct sig_private_key key;
    struct err e;
    fuzz_err_prime(&e);
    enum sig_result r = sig_private_key_from_bytes(&key, key_bytes, &e);
    FUZZ_CHECK((r == SIG_OK) == valid);
    if (r != SIG_OK) {
        FUZZ_CHECK(r == SIG_ERR_BAD_KEY && fuzz_err_is_set(&e, (int)r));
        return;
    }
    uint8_t sig[SIG_BYTES], sig2[SIG_BYTES], rs[SIG_RS_BYTES];
    uint8_t recid = 9;
    struct address signer, want;
    FUZZ_CHECK(sig_private_key_address(&want, &key, NULL) == SIG_OK);
    r = sig_sign_recoverable(sig, hash, &key, NULL);
    FUZZ_CHECK(r == SIG_OK || r == SIG_ERR_SIGN); /* recid > 1: ~2^-128 */
    if (r != SIG_OK)
        return;
    FUZZ_CHECK(sig[64] == 27 || sig[64] == 28);
    FUZZ_CHECK(memcmp(sig + 32, sig_half_n, 32) <= 0);
    FUZZ_CHECK(sig_sign_recoverable(sig2, hash, &key, NULL) == SIG_OK);
    FUZZ_CHECK(memcmp(sig, sig2, SIG_BYTES) == 0); /* RFC 6979: deterministic */
    FUZZ_CHECK(sig_sign_recid(rs, &recid, hash, &key, NULL) == SIG_OK);
    FUZZ_CHECK(memcmp(rs, sig, SIG_RS_BYTES) == 0 && recid == sig[64] - 27);
    FUZZ_CHECK(sig_recover_address(&signer, hash, sig, NULL) == SIG_OK);
    FUZZ_CHECK(address_eq(&signer, &want));
    sig_check_recovered(hash, sig, &signer);
    sig_private_key_wipe(&key);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_in in = {data, size};
    uint8_t mode = fuzz_take_byte(&in);
    if (mode & 1)
        fuzz_sig_sign(&in);
    else
        fuzz_sig_recover(&in, mode);
    return 0;
}
