/*
 * fuzz_tx.c - tx_decode_signed() and tx_recover_sender() on arbitrary raw bytes.
 *
 * Input: byte 0 picks the mode, the rest is the raw transaction.
 *   - tx_decode_signed() returns TX_OK or a decoder code (never BUF_TOO_BIG,
 *     NOMEM, BAD_FEES or SIGN), with e set on error, the same result when e
 *     is NULL, and NOT_EIP1559 exactly when the type byte is missing or wrong.
 *   - OK: data points into the raw bytes; re-encoding the decoded fields and
 *     signature with rlp.h gives back the raw input exactly (canonical RLP,
 *     minimal integers); tx_signing_hash() is keccak256(0x02 || rlp(the nine
 *     fields)) built here independently, the same on every call, or
 *     TX_ERR_BAD_FEES exactly when the priority fee is above the max fee.
 *   - tx_recover_sender() never crashes: TX_OK, BAD_FEES or BAD_SIGNATURE, in
 *     agreement with sig_recover_address() on the same hash and r || s || v.
 *   - mode bit 0: the decoded fields are signed with a fixed test key;
 *     tx_sign() (which asserts its own decode/recover round trip) must
 *     succeed, and the new raw bytes decode to the same fields and recover
 *     to the key's address.
 */
#include "fuzz.h"
#include "keccak.h"
#include "rlp.h"
#include "tx.h"

#define FUZZ_TX_OUT_MAX (TX_RAW_BYTES_MAX + 64)

/* anvil's first well-known development key: public, test-only */
static const uint8_t tx_test_key[32] = {
    0xac, 0x09, 0x74, 0xbe, 0xc3, 0x9a, 0x17, 0xe3, 0x6b, 0xa4, 0xa6, 0xb4, 0xd2, 0x38, 0xff, 0x94,
    0x4b, 0xac, 0xb4, 0x78, 0xcb, 0xed, 0x5e, 0xfc, 0xae, 0x78, 0x4d, 0x7b, 0xf4, 0xf2, 0xff, 0x80};

static bool tx_is_decoder_code(enum tx_result r);
static void tx_put_fields(struct buf *b, const struct tx_eip1559 *tx);
static void tx_put_be32_int(struct buf *b, const uint8_t be[32]);
static void tx_check_reencode(const struct tx_eip1559 *tx, const struct tx_signature *sig,
                              const uint8_t *raw, size_t raw_len);
static bool tx_check_signing_hash(uint8_t hash[32], const struct tx_eip1559 *tx);
static void tx_check_recover(const struct tx_eip1559 *tx, const struct tx_signature *sig,
                             bool fees_ok, const uint8_t hash[32]);
static void tx_check_resign(const struct tx_eip1559 *tx);

static bool tx_is_decoder_code(enum tx_result r)
{
    return r == TX_ERR_RAW_TOO_BIG || r == TX_ERR_NOT_EIP1559 || r == TX_ERR_RLP ||
           r == TX_ERR_FIELD_COUNT || r == TX_ERR_BAD_FIELD || r == TX_ERR_ACCESS_LIST ||
           r == TX_ERR_BAD_SIGNATURE || r == TX_ERR_DATA_TOO_BIG;
}

/* The nine unsigned fields in order, written with rlp.h only. */
static void tx_put_fields(struct buf *b, const struct tx_eip1559 *tx)
{
    FUZZ_CHECK(rlp_encode_u64(b, tx->chain_id) == RLP_OK);
    FUZZ_CHECK(rlp_encode_u64(b, tx->nonce) == RLP_OK);
    FUZZ_CHECK(rlp_encode_u256(b, &tx->max_priority_fee_per_gas_wei) == RLP_OK);
    FUZZ_CHECK(rlp_encode_u256(b, &tx->max_fee_per_gas_wei) == RLP_OK);
    FUZZ_CHECK(rlp_encode_u64(b, tx->gas_limit) == RLP_OK);
    FUZZ_CHECK(rlp_encode_bytes(b, tx->to.bytes, tx->has_to ? ADDRESS_BYTES : 0) == RLP_OK);
    FUZZ_CHECK(rlp_encode_u256(b, &tx->value_wei) == RLP_OK);
    FUZZ_CHECK(rlp_encode_bytes(b, tx->data, tx->data_len) == RLP_OK);
    FUZZ_CHECK(rlp_encode_list_payload(b, NULL, 0) == RLP_OK);
}

static void tx_put_be32_int(struct buf *b, const uint8_t be[32])
{
    struct u256 v = u256_from_be32(be);
    FUZZ_CHECK(rlp_encode_u256(b, &v) == RLP_OK);
}

static void tx_check_reencode(const struct tx_eip1559 *tx, const struct tx_signature *sig,
                              const uint8_t *raw, size_t raw_len)
{
    struct buf b;
    buf_init(&b, FUZZ_TX_OUT_MAX);
    struct rlp_list list;
    FUZZ_CHECK(buf_append_byte(&b, TX_TYPE_EIP1559) == BUF_OK);
    FUZZ_CHECK(rlp_list_begin(&list, &b) == RLP_OK);
    tx_put_fields(&b, tx);
    FUZZ_CHECK(rlp_encode_u64(&b, sig->y_parity) == RLP_OK);
    tx_put_be32_int(&b, sig->r);
    tx_put_be32_int(&b, sig->s);
    FUZZ_CHECK(rlp_list_end(&list, &b) == RLP_OK);
    FUZZ_CHECK(b.len == raw_len && memcmp(b.data, raw, raw_len) == 0);
    buf_release(&b);
}

/* Returns whether the fees allow a signing hash; fills hash if so. */
static bool tx_check_signing_hash(uint8_t hash[32], const struct tx_eip1559 *tx)
{
    struct buf b;
    buf_init(&b, FUZZ_TX_OUT_MAX);
    struct rlp_list list;
    FUZZ_CHECK(buf_append_byte(&b, TX_TYPE_EIP1559) == BUF_OK);
    FUZZ_CHECK(rlp_list_begin(&list, &b) == RLP_OK);
    tx_put_fields(&b, tx);
    FUZZ_CHECK(rlp_list_end(&list, &b) == RLP_OK);
    uint8_t want[32], got[32], got2[32];
    keccak256(want, b.data, b.len);
    buf_release(&b);

    bool fees_ok = u256_cmp(&tx->max_priority_fee_per_gas_wei, &tx->max_fee_per_gas_wei) <= 0;
    struct err e;
    fuzz_err_prime(&e);
    enum tx_result r = tx_signing_hash(got, tx, &e);
    if (!fees_ok) {
        FUZZ_CHECK(r == TX_ERR_BAD_FEES && fuzz_err_is_set(&e, (int)r));
        return false;
    }
    FUZZ_CHECK(r == TX_OK);
    FUZZ_CHECK(tx_signing_hash(got2, tx, NULL) == TX_OK);
    FUZZ_CHECK(memcmp(got, want, 32) == 0 && memcmp(got2, want, 32) == 0);
    memcpy(hash, want, 32);
    return true;
}

static void tx_check_recover(const struct tx_eip1559 *tx, const struct tx_signature *sig,
                             bool fees_ok, const uint8_t hash[32])
{
    struct address sender, direct;
    struct err e;
    fuzz_err_prime(&e);
    enum tx_result r = tx_recover_sender(&sender, tx, sig, &e);
    FUZZ_CHECK(r == TX_OK || r == TX_ERR_BAD_FEES || r == TX_ERR_BAD_SIGNATURE);
    FUZZ_CHECK(r == TX_OK || fuzz_err_is_set(&e, (int)r));
    if (!fees_ok) {
        FUZZ_CHECK(r == TX_ERR_BAD_FEES);
        return;
    }
    uint8_t full[SIG_BYTES];
    memcpy(full, sig->r, 32);
    memcpy(full + 32, sig->s, 32);
    full[64] = sig->y_parity;
    enum sig_result s = sig_recover_address(&direct, hash, full, NULL);
    FUZZ_CHECK((r == TX_OK) == (s == SIG_OK));
    if (r == TX_OK)
        FUZZ_CHECK(address_eq(&sender, &direct));
}

static void tx_check_resign(const struct tx_eip1559 *tx)
{
    struct sig_private_key key;
    struct address want, got;
    FUZZ_CHECK(sig_private_key_from_bytes(&key, tx_test_key, NULL) == SIG_OK);
    FUZZ_CHECK(sig_private_key_address(&want, &key, NULL) == SIG_OK);
    struct buf b;
    buf_init(&b, FUZZ_TX_OUT_MAX);
    struct err e;
    fuzz_err_prime(&e);
    FUZZ_CHECK(tx_sign(&b, tx, &key, &e) == TX_OK);
    struct tx_eip1559 back;
    struct tx_signature sig;
    FUZZ_CHECK(tx_decode_signed(&back, &sig, b.data, b.len, NULL) == TX_OK);
    FUZZ_CHECK(tx_eip1559_equal(&back, tx));
    FUZZ_CHECK(tx_recover_sender(&got, &back, &sig, NULL) == TX_OK);
    FUZZ_CHECK(address_eq(&got, &want));
    buf_release(&b);
    sig_private_key_wipe(&key);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    uint8_t mode = data[0];
    const uint8_t *raw = data + 1;
    size_t raw_len = size - 1;

    struct tx_eip1559 tx;
    struct tx_signature sig;
    struct err e;
    fuzz_err_prime(&e);
    enum tx_result r = tx_decode_signed(&tx, &sig, raw, raw_len, &e);
    struct tx_eip1559 tx2;
    struct tx_signature sig2;
    FUZZ_CHECK(tx_decode_signed(&tx2, &sig2, raw, raw_len, NULL) == r);
    FUZZ_CHECK((r == TX_ERR_NOT_EIP1559) == (raw_len == 0 || raw[0] != TX_TYPE_EIP1559));
    if (r != TX_OK) {
        FUZZ_CHECK(tx_is_decoder_code(r));
        FUZZ_CHECK(fuzz_err_is_set(&e, (int)r));
        return 0;
    }
    FUZZ_CHECK(fuzz_err_is_untouched(&e));
    FUZZ_CHECK(sig.y_parity <= 1);
    FUZZ_CHECK(tx.data_len <= TX_DATA_BYTES_MAX);
    FUZZ_CHECK(tx.data_len == 0 || (tx.data > raw && tx.data + tx.data_len <= raw + raw_len));
    tx_check_reencode(&tx, &sig, raw, raw_len);

    uint8_t h[TX_HASH_BYTES], want[TX_HASH_BYTES];
    tx_hash(h, raw, raw_len);
    keccak256(want, raw, raw_len);
    FUZZ_CHECK(memcmp(h, want, sizeof h) == 0);

    uint8_t hash[32] = {0};
    bool fees_ok = tx_check_signing_hash(hash, &tx);
    tx_check_recover(&tx, &sig, fees_ok, hash);
    if ((mode & 1) && fees_ok)
        tx_check_resign(&tx);
    return 0;
}
