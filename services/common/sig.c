/* sig.c - see sig.h. */
#include "sig.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <secp256k1.h>
#include <secp256k1_recovery.h>

#include "check.h"
#include "crypto.h"
#include "hex.h"
#include "keccak.h"

/* The shared context: written once inside sig_context_create() (run by
 * pthread_once), read-only afterwards. */
static pthread_once_t sig_ctx_once = PTHREAD_ONCE_INIT;
static secp256k1_context *sig_ctx;

/* n, the order of the secp256k1 group, and floor(n / 2), big-endian. */
static const uint8_t sig_curve_n[32] = {
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe,
    0xba, 0xae, 0xdc, 0xe6, 0xaf, 0x48, 0xa0, 0x3b, 0xbf, 0xd2, 0x5e, 0x8c, 0xd0, 0x36, 0x41, 0x41,
};
static const uint8_t sig_curve_half_n[32] = {
    0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0x5d, 0x57, 0x6e, 0x73, 0x57, 0xa4, 0x50, 0x1d, 0xdf, 0xe9, 0x2f, 0x46, 0x68, 0x1b, 0x20, 0xa0,
};

static void sig_illegal_callback(const char *message, void *data);
static void sig_context_create(void);
static enum sig_result sig_context_get(const secp256k1_context **out, struct err *e);
static bool sig_is_zero32(const uint8_t *p);
static enum sig_result sig_check_signature(int *recid, const uint8_t sig[SIG_BYTES], struct err *e);
static void sig_pubkey_bytes(uint8_t out[SIG_PUBKEY_BYTES], const secp256k1_context *ctx,
                             const secp256k1_pubkey *pk);

/* ---- context ------------------------------------------------------------------------ */

/* libsecp256k1 calls this on API misuse (a bug on our side, never input). */
static void sig_illegal_callback(const char *message, void *data)
{
    (void)data;
    check_fail(__FILE__, __LINE__, message);
}

static void sig_context_create(void)
{
    secp256k1_context *ctx = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
    if (ctx == NULL)
        return;
    secp256k1_context_set_illegal_callback(ctx, sig_illegal_callback, NULL);
    uint8_t seed[32];
    bool ok = crypto_random_bytes(seed, sizeof seed, NULL) == CRYPTO_OK &&
              secp256k1_context_randomize(ctx, seed) == 1;
    crypto_wipe(seed, sizeof seed);
    if (!ok) {
        secp256k1_context_destroy(ctx);
        return;
    }
    sig_ctx = ctx;
}

static enum sig_result sig_context_get(const secp256k1_context **out, struct err *e)
{
    int rc = pthread_once(&sig_ctx_once, sig_context_create);
    if (rc != 0 || sig_ctx == NULL)
        return err_set(e, SIG_ERR_CONTEXT,
                       "cannot create the secp256k1 context (allocation or randomness failed)");
    *out = sig_ctx;
    return SIG_OK;
}

enum sig_result sig_context_init(struct err *e)
{
    const secp256k1_context *ctx = NULL;
    return sig_context_get(&ctx, e);
}

/* ---- keys ---------------------------------------------------------------------------- */

enum sig_result sig_private_key_from_bytes(struct sig_private_key *out,
                                           const uint8_t in[SIG_PRIVATE_KEY_BYTES], struct err *e)
{
    const secp256k1_context *ctx = NULL;
    enum sig_result r = sig_context_get(&ctx, e);
    if (r != SIG_OK)
        return r;
    if (secp256k1_ec_seckey_verify(ctx, in) != 1)
        return err_set(e, SIG_ERR_BAD_KEY,
                       "invalid private key: zero or not below the curve order");
    memcpy(out->bytes, in, SIG_PRIVATE_KEY_BYTES);
    return SIG_OK;
}

enum sig_result sig_private_key_from_hex(struct sig_private_key *out, const char *text,
                                         size_t text_len, struct err *e)
{
    if (text_len > SIG_PRIVATE_KEY_HEX_MAX)
        return err_set(e, SIG_ERR_BAD_KEY, "invalid private key: %zu characters, maximum %d",
                       text_len, SIG_PRIVATE_KEY_HEX_MAX);
    uint8_t raw[SIG_PRIVATE_KEY_BYTES];
    /* hex's own message could quote key digits, so it is not passed on */
    if (hex_decode_exact(raw, sizeof raw, text, text_len, NULL) != HEX_OK) {
        crypto_wipe(raw, sizeof raw);
        return err_set(e, SIG_ERR_BAD_KEY,
                       "invalid private key: expected 64 hex digits with optional 0x");
    }
    enum sig_result r = sig_private_key_from_bytes(out, raw, e);
    crypto_wipe(raw, sizeof raw);
    return r;
}

void sig_private_key_wipe(struct sig_private_key *key)
{
    explicit_bzero(key->bytes, sizeof key->bytes);
}

static void sig_pubkey_bytes(uint8_t out[SIG_PUBKEY_BYTES], const secp256k1_context *ctx,
                             const secp256k1_pubkey *pk)
{
    uint8_t ser[SIG_PUBKEY_BYTES + 1];
    size_t ser_len = sizeof ser;
    int ok = secp256k1_ec_pubkey_serialize(ctx, ser, &ser_len, pk, SECP256K1_EC_UNCOMPRESSED);
    ASSERT(ok == 1 && ser_len == sizeof ser && ser[0] == 0x04);
    memcpy(out, ser + 1, SIG_PUBKEY_BYTES);
}

void sig_address_from_pubkey(struct address *out, const uint8_t pubkey[SIG_PUBKEY_BYTES])
{
    uint8_t h[KECCAK256_BYTES];
    keccak256(h, pubkey, SIG_PUBKEY_BYTES);
    memcpy(out->bytes, h + KECCAK256_BYTES - ADDRESS_BYTES, ADDRESS_BYTES);
}

enum sig_result sig_private_key_address(struct address *out, const struct sig_private_key *key,
                                        struct err *e)
{
    const secp256k1_context *ctx = NULL;
    enum sig_result r = sig_context_get(&ctx, e);
    if (r != SIG_OK)
        return r;
    secp256k1_pubkey pk;
    if (secp256k1_ec_pubkey_create(ctx, &pk, key->bytes) != 1)
        return err_set(e, SIG_ERR_BAD_KEY,
                       "invalid private key: zero or not below the curve order");
    uint8_t pub[SIG_PUBKEY_BYTES];
    sig_pubkey_bytes(pub, ctx, &pk);
    sig_address_from_pubkey(out, pub);
    return SIG_OK;
}

/* ---- signing -------------------------------------------------------------------------- */

enum sig_result sig_sign_recid(uint8_t out_rs[SIG_RS_BYTES], uint8_t *recid,
                               const uint8_t hash[SIG_HASH_BYTES],
                               const struct sig_private_key *key, struct err *e)
{
    const secp256k1_context *ctx = NULL;
    enum sig_result r = sig_context_get(&ctx, e);
    if (r != SIG_OK)
        return r;
    if (secp256k1_ec_seckey_verify(ctx, key->bytes) != 1)
        return err_set(e, SIG_ERR_BAD_KEY,
                       "invalid private key: zero or not below the curve order");
    secp256k1_ecdsa_recoverable_signature rsig;
    /* NULL nonce function: RFC 6979 with HMAC-SHA256, no extra entropy */
    if (secp256k1_ecdsa_sign_recoverable(ctx, &rsig, hash, key->bytes, NULL, NULL) != 1)
        return err_set(e, SIG_ERR_SIGN, "secp256k1 signing failed");
    int id = -1;
    uint8_t rs[SIG_RS_BYTES];
    int ok = secp256k1_ecdsa_recoverable_signature_serialize_compact(ctx, rs, &id, &rsig);
    ASSERT(ok == 1 && id >= 0 && id <= 3);
    ASSERT(memcmp(rs + 32, sig_curve_half_n, 32) <= 0); /* libsecp256k1 signs low-s */
    if (id > 1) /* r overflowed n: probability ~2^-128, not representable in v */
        return err_set(e, SIG_ERR_SIGN, "secp256k1 signature has recovery id %d", id);
    memcpy(out_rs, rs, SIG_RS_BYTES);
    *recid = (uint8_t)id;
    return SIG_OK;
}

enum sig_result sig_sign_recoverable(uint8_t out[SIG_BYTES], const uint8_t hash[SIG_HASH_BYTES],
                                     const struct sig_private_key *key, struct err *e)
{
    uint8_t recid = 0;
    enum sig_result r = sig_sign_recid(out, &recid, hash, key, e);
    if (r != SIG_OK)
        return r;
    out[64] = (uint8_t)(27 + recid);
    return SIG_OK;
}

/* ---- recovery -------------------------------------------------------------------------- */

static bool sig_is_zero32(const uint8_t *p)
{
    uint8_t acc = 0;
    for (size_t i = 0; i < 32; i++)
        acc |= p[i];
    return acc == 0;
}

/* Validates v, r and s of r || s || v; the order of checks is part of the
 * contract (v first, so a bad recid never reaches libsecp256k1). */
static enum sig_result sig_check_signature(int *recid, const uint8_t sig[SIG_BYTES], struct err *e)
{
    uint8_t v = sig[64];
    if (v == 27 || v == 28)
        *recid = v - 27;
    else if (v == 0 || v == 1)
        *recid = v;
    else
        return err_set(e, SIG_ERR_BAD_V, "invalid signature v: %u (expected 27, 28, 0 or 1)", v);
    const uint8_t *r = sig, *s = sig + 32;
    if (sig_is_zero32(r) || memcmp(r, sig_curve_n, 32) >= 0)
        return err_set(e, SIG_ERR_BAD_R, "invalid signature r: zero or not below the curve order");
    if (sig_is_zero32(s) || memcmp(s, sig_curve_n, 32) >= 0)
        return err_set(e, SIG_ERR_BAD_S, "invalid signature s: zero or not below the curve order");
    if (memcmp(s, sig_curve_half_n, 32) > 0)
        return err_set(e, SIG_ERR_HIGH_S,
                       "invalid signature s: above n/2 (high-s, malleable signature)");
    return SIG_OK;
}

enum sig_result sig_recover_pubkey(uint8_t out[SIG_PUBKEY_BYTES],
                                   const uint8_t hash[SIG_HASH_BYTES], const uint8_t sig[SIG_BYTES],
                                   struct err *e)
{
    int recid = -1;
    enum sig_result r = sig_check_signature(&recid, sig, e);
    if (r != SIG_OK)
        return r;
    ASSERT(recid == 0 || recid == 1);
    const secp256k1_context *ctx = NULL;
    r = sig_context_get(&ctx, e);
    if (r != SIG_OK)
        return r;
    secp256k1_ecdsa_recoverable_signature rsig;
    if (secp256k1_ecdsa_recoverable_signature_parse_compact(ctx, &rsig, sig, recid) != 1)
        return err_set(e, SIG_ERR_RECOVER, "cannot parse signature r and s");
    secp256k1_pubkey pk;
    if (secp256k1_ecdsa_recover(ctx, &pk, &rsig, hash) != 1)
        return err_set(e, SIG_ERR_RECOVER, "no public key recovers from signature (recid %d)",
                       recid);
    sig_pubkey_bytes(out, ctx, &pk);
    return SIG_OK;
}

enum sig_result sig_recover_address(struct address *out, const uint8_t hash[SIG_HASH_BYTES],
                                    const uint8_t sig[SIG_BYTES], struct err *e)
{
    uint8_t pub[SIG_PUBKEY_BYTES];
    enum sig_result r = sig_recover_pubkey(pub, hash, sig, e);
    if (r != SIG_OK)
        return r;
    sig_address_from_pubkey(out, pub);
    return SIG_OK;
}

/* ---- EIP-191 ------------------------------------------------------------------------------ */

enum sig_result sig_hash_personal_message(uint8_t out[SIG_HASH_BYTES], const uint8_t *message,
                                          size_t message_len, struct err *e)
{
    if (message_len > SIG_MESSAGE_BYTES_MAX)
        return err_set(e, SIG_ERR_MESSAGE_TOO_BIG,
                       "personal message too big: %zu bytes, maximum %zu", message_len,
                       SIG_MESSAGE_BYTES_MAX);
    static const char prefix[] = "\x19"
                                 "Ethereum Signed Message:\n";
    char len_text[24];
    int n = snprintf(len_text, sizeof len_text, "%zu", message_len);
    ASSERT(n > 0 && (size_t)n < sizeof len_text);
    struct keccak k;
    keccak_init(&k);
    keccak_update(&k, prefix, sizeof prefix - 1);
    keccak_update(&k, len_text, (size_t)n);
    if (message_len > 0)
        keccak_update(&k, message, message_len);
    keccak_final(&k, out);
    return SIG_OK;
}
