/* tx.c - see tx.h. */
#include "tx.h"

#include <string.h>

#include "check.h"
#include "keccak.h"
#include "rlp.h"

/* Field names as in the JSON-RPC form, for messages; index = RLP position. */
static const char *const tx_field_names[TX_FIELDS_SIGNED] = {
    "chainId", "nonce", "maxPriorityFeePerGas", "maxFeePerGas", "gas", "to",
    "value",   "data",  "accessList",           "yParity",      "r",   "s",
};

static enum tx_result tx_from_rlp(enum rlp_result r);
static enum tx_result tx_check(const struct tx_eip1559 *tx, struct err *e);
static enum rlp_result tx_put_fields(struct buf *b, const struct tx_eip1559 *tx);
static enum rlp_result tx_put_signed(struct buf *b, const struct tx_eip1559 *tx,
                                     const struct tx_signature *sig);
static enum rlp_result tx_put_be_int(struct buf *b, const uint8_t be[32]);
static enum rlp_result tx_put_type(struct buf *b);
static enum tx_result tx_field_error(struct err *e, size_t index, const struct err *why);
static enum tx_result tx_get_fields(struct tx_eip1559 *tx, const struct rlp_item *items,
                                    struct err *e);
static enum tx_result tx_get_signature(struct tx_signature *sig, const struct rlp_item *items,
                                       struct err *e);
static void tx_self_check(const uint8_t *raw, size_t raw_len, const struct tx_eip1559 *tx,
                          const struct sig_private_key *key);

static enum tx_result tx_from_rlp(enum rlp_result r)
{
    if (r == RLP_OK)
        return TX_OK;
    if (r == RLP_ERR_NOMEM)
        return TX_ERR_NOMEM;
    ASSERT(r == RLP_ERR_BUF_TOO_BIG); /* encoders fail only on the buffer */
    return TX_ERR_BUF_TOO_BIG;
}

static enum tx_result tx_check(const struct tx_eip1559 *tx, struct err *e)
{
    if (tx->data_len > TX_DATA_BYTES_MAX)
        return err_set(e, TX_ERR_DATA_TOO_BIG, "transaction data too big: %zu bytes, maximum %zu",
                       tx->data_len, TX_DATA_BYTES_MAX);
    ASSERT(tx->data_len == 0 || tx->data != NULL);
    if (u256_cmp(&tx->max_priority_fee_per_gas_wei, &tx->max_fee_per_gas_wei) > 0) {
        char tip[U256_DEC_SIZE], cap[U256_DEC_SIZE];
        u256_to_dec(tip, &tx->max_priority_fee_per_gas_wei);
        u256_to_dec(cap, &tx->max_fee_per_gas_wei);
        return err_set(e, TX_ERR_BAD_FEES, "max priority fee %s wei above max fee %s wei", tip,
                       cap);
    }
    return TX_OK;
}

/* The nine unsigned fields, without the list header. */
static enum rlp_result tx_put_fields(struct buf *b, const struct tx_eip1559 *tx)
{
    enum rlp_result r = rlp_encode_u64(b, tx->chain_id);
    if (r == RLP_OK)
        r = rlp_encode_u64(b, tx->nonce);
    if (r == RLP_OK)
        r = rlp_encode_u256(b, &tx->max_priority_fee_per_gas_wei);
    if (r == RLP_OK)
        r = rlp_encode_u256(b, &tx->max_fee_per_gas_wei);
    if (r == RLP_OK)
        r = rlp_encode_u64(b, tx->gas_limit);
    if (r == RLP_OK)
        r = tx->has_to ? rlp_encode_bytes(b, tx->to.bytes, ADDRESS_BYTES)
                       : rlp_encode_bytes(b, NULL, 0);
    if (r == RLP_OK)
        r = rlp_encode_u256(b, &tx->value_wei);
    if (r == RLP_OK)
        r = rlp_encode_bytes(b, tx->data, tx->data_len);
    if (r == RLP_OK)
        r = rlp_encode_list_payload(b, NULL, 0); /* empty access list */
    return r;
}

static enum rlp_result tx_put_type(struct buf *b)
{
    enum buf_result r = buf_append_byte(b, TX_TYPE_EIP1559);
    if (r == BUF_OK)
        return RLP_OK;
    return r == BUF_ERR_TOO_BIG ? RLP_ERR_BUF_TOO_BIG : RLP_ERR_NOMEM;
}

/* r and s are integers: minimal big-endian. */
static enum rlp_result tx_put_be_int(struct buf *b, const uint8_t be[32])
{
    struct u256 v = u256_from_be32(be);
    return rlp_encode_u256(b, &v);
}

/* 0x02 || rlp([fields..., yParity, r, s]) */
static enum rlp_result tx_put_signed(struct buf *b, const struct tx_eip1559 *tx,
                                     const struct tx_signature *sig)
{
    struct rlp_list list;
    enum rlp_result r = tx_put_type(b);
    if (r == RLP_OK)
        r = rlp_list_begin(&list, b);
    if (r == RLP_OK)
        r = tx_put_fields(b, tx);
    if (r == RLP_OK)
        r = rlp_encode_u64(b, sig->y_parity);
    if (r == RLP_OK)
        r = tx_put_be_int(b, sig->r);
    if (r == RLP_OK)
        r = tx_put_be_int(b, sig->s);
    if (r == RLP_OK)
        r = rlp_list_end(&list, b);
    return r;
}

enum tx_result tx_signing_hash(uint8_t out[TX_HASH_BYTES], const struct tx_eip1559 *tx,
                               struct err *e)
{
    enum tx_result t = tx_check(tx, e);
    if (t != TX_OK)
        return t;
    struct buf b;
    buf_init(&b, TX_RAW_BYTES_MAX);
    struct rlp_list list;
    enum rlp_result r = tx_put_type(&b);
    if (r == RLP_OK)
        r = rlp_list_begin(&list, &b);
    if (r == RLP_OK)
        r = tx_put_fields(&b, tx);
    if (r == RLP_OK)
        r = rlp_list_end(&list, &b);
    if (r == RLP_OK)
        keccak256(out, b.data, b.len);
    buf_release(&b);
    t = tx_from_rlp(r);
    if (t != TX_OK)
        return err_set(e, t, "cannot encode transaction for signing");
    return TX_OK;
}

enum tx_result tx_sign(struct buf *out_raw, const struct tx_eip1559 *tx,
                       const struct sig_private_key *key, struct err *e)
{
    uint8_t hash[TX_HASH_BYTES];
    enum tx_result t = tx_signing_hash(hash, tx, e);
    if (t != TX_OK)
        return t;
    struct tx_signature sig;
    uint8_t rs[SIG_RS_BYTES];
    struct err why;
    err_clear(&why);
    if (sig_sign_recid(rs, &sig.y_parity, hash, key, &why) != SIG_OK)
        return err_set(e, TX_ERR_SIGN, "cannot sign transaction: %s", why.msg);
    memcpy(sig.r, rs, 32);
    memcpy(sig.s, rs + 32, 32);
    size_t start = out_raw->len;
    enum rlp_result r = tx_put_signed(out_raw, tx, &sig);
    if (r != RLP_OK) {
        out_raw->len = start;
        if (out_raw->data != NULL)
            out_raw->data[start] = '\0';
        t = tx_from_rlp(r);
        return err_set(e, t, "signed transaction does not fit in the output buffer (maximum %zu)",
                       out_raw->len_max);
    }
    tx_self_check(out_raw->data + start, out_raw->len - start, tx, key);
    return TX_OK;
}

/* Asserts that freshly written raw bytes decode to `tx` and recover to the
 * signing key's address. */
static void tx_self_check(const uint8_t *raw, size_t raw_len, const struct tx_eip1559 *tx,
                          const struct sig_private_key *key)
{
    struct tx_eip1559 back;
    struct tx_signature sig;
    struct address want, got;
    ASSERT(tx_decode_signed(&back, &sig, raw, raw_len, NULL) == TX_OK);
    ASSERT(tx_eip1559_equal(&back, tx));
    ASSERT(sig_private_key_address(&want, key, NULL) == SIG_OK);
    ASSERT(tx_recover_sender(&got, &back, &sig, NULL) == TX_OK);
    ASSERT(address_eq(&want, &got));
}

void tx_hash(uint8_t out[TX_HASH_BYTES], const uint8_t *raw, size_t raw_len)
{
    keccak256(out, raw, raw_len);
}

/* ---- decoding ------------------------------------------------------------------------ */

static enum tx_result tx_field_error(struct err *e, size_t index, const struct err *why)
{
    ASSERT(index < TX_FIELDS_SIGNED);
    return err_set(e, TX_ERR_BAD_FIELD, "invalid transaction field '%s': %s", tx_field_names[index],
                   why->msg);
}

static enum tx_result tx_get_fields(struct tx_eip1559 *tx, const struct rlp_item *items,
                                    struct err *e)
{
    struct err why;
    err_clear(&why);
    if (rlp_item_to_u64(&tx->chain_id, &items[0], &why) != RLP_OK)
        return tx_field_error(e, 0, &why);
    if (rlp_item_to_u64(&tx->nonce, &items[1], &why) != RLP_OK)
        return tx_field_error(e, 1, &why);
    if (rlp_item_to_u256(&tx->max_priority_fee_per_gas_wei, &items[2], &why) != RLP_OK)
        return tx_field_error(e, 2, &why);
    if (rlp_item_to_u256(&tx->max_fee_per_gas_wei, &items[3], &why) != RLP_OK)
        return tx_field_error(e, 3, &why);
    if (rlp_item_to_u64(&tx->gas_limit, &items[4], &why) != RLP_OK)
        return tx_field_error(e, 4, &why);
    if (rlp_item_to_u256(&tx->value_wei, &items[6], &why) != RLP_OK)
        return tx_field_error(e, 6, &why);
    const struct rlp_item *to = &items[5];
    tx->has_to = !(to->kind == RLP_KIND_STRING && to->payload_len == 0);
    if (tx->has_to && rlp_item_to_fixed(tx->to.bytes, ADDRESS_BYTES, to, &why) != RLP_OK)
        return tx_field_error(e, 5, &why);
    if (!tx->has_to)
        memset(tx->to.bytes, 0, ADDRESS_BYTES);
    const struct rlp_item *data = &items[7];
    if (data->kind != RLP_KIND_STRING) {
        err_set(&why, RLP_ERR_WRONG_KIND, "expected a string, got a list");
        return tx_field_error(e, 7, &why);
    }
    if (data->payload_len > TX_DATA_BYTES_MAX)
        return err_set(e, TX_ERR_DATA_TOO_BIG, "transaction data too big: %zu bytes, maximum %zu",
                       data->payload_len, TX_DATA_BYTES_MAX);
    tx->data = data->payload_len > 0 ? data->payload : NULL;
    tx->data_len = data->payload_len;
    if (items[8].kind != RLP_KIND_LIST) {
        err_set(&why, RLP_ERR_WRONG_KIND, "expected a list, got a string");
        return tx_field_error(e, 8, &why);
    }
    if (items[8].payload_len != 0)
        return err_set(e, TX_ERR_ACCESS_LIST,
                       "transaction access list not supported: %zu bytes of entries",
                       items[8].payload_len);
    return TX_OK;
}

static enum tx_result tx_get_signature(struct tx_signature *sig, const struct rlp_item *items,
                                       struct err *e)
{
    struct err why;
    err_clear(&why);
    uint64_t parity = 0;
    struct u256 r, s;
    if (rlp_item_to_u64(&parity, &items[9], &why) != RLP_OK)
        return tx_field_error(e, 9, &why);
    if (rlp_item_to_u256(&r, &items[10], &why) != RLP_OK)
        return tx_field_error(e, 10, &why);
    if (rlp_item_to_u256(&s, &items[11], &why) != RLP_OK)
        return tx_field_error(e, 11, &why);
    if (parity > 1)
        return err_set(e, TX_ERR_BAD_SIGNATURE, "invalid transaction yParity: %llu",
                       (unsigned long long)parity);
    sig->y_parity = (uint8_t)parity;
    u256_to_be32(sig->r, &r);
    u256_to_be32(sig->s, &s);
    return TX_OK;
}

enum tx_result tx_decode_signed(struct tx_eip1559 *out_tx, struct tx_signature *out_sig,
                                const uint8_t *raw, size_t raw_len, struct err *e)
{
    if (raw_len > TX_RAW_BYTES_MAX)
        return err_set(e, TX_ERR_RAW_TOO_BIG, "raw transaction too big: %zu bytes, maximum %zu",
                       raw_len, TX_RAW_BYTES_MAX);
    if (raw_len == 0 || raw[0] != TX_TYPE_EIP1559)
        return err_set(e, TX_ERR_NOT_EIP1559, "not an eip-1559 transaction: type byte %s",
                       raw_len == 0     ? "missing"
                       : raw[0] >= 0xc0 ? "absent (legacy)"
                                        : "not 0x02");
    struct err why;
    err_clear(&why);
    struct rlp_item root, items[TX_FIELDS_SIGNED + 1];
    size_t count = 0;
    if (rlp_decode(&root, raw + 1, raw_len - 1, &why) != RLP_OK)
        return err_set(e, TX_ERR_RLP, "malformed transaction: %s", why.msg);
    if (root.kind != RLP_KIND_LIST)
        return err_set(e, TX_ERR_FIELD_COUNT, "malformed transaction: not a list");
    if (rlp_list_items(items, TX_FIELDS_SIGNED + 1, &count, &root, &why) != RLP_OK)
        return err_set(e, TX_ERR_FIELD_COUNT,
                       "signed transaction must have %d fields, got more than %d", TX_FIELDS_SIGNED,
                       TX_FIELDS_SIGNED + 1);
    if (count != TX_FIELDS_SIGNED)
        return err_set(e, TX_ERR_FIELD_COUNT, "signed transaction must have %d fields, got %zu",
                       TX_FIELDS_SIGNED, count);
    struct tx_eip1559 tx;
    struct tx_signature sig;
    enum tx_result t = tx_get_fields(&tx, items, e);
    if (t == TX_OK)
        t = tx_get_signature(&sig, items, e);
    if (t != TX_OK)
        return t;
    *out_tx = tx;
    *out_sig = sig;
    return TX_OK;
}

enum tx_result tx_recover_sender(struct address *out, const struct tx_eip1559 *tx,
                                 const struct tx_signature *sig, struct err *e)
{
    if (sig->y_parity > 1)
        return err_set(e, TX_ERR_BAD_SIGNATURE, "invalid transaction yParity: %u", sig->y_parity);
    uint8_t hash[TX_HASH_BYTES];
    enum tx_result t = tx_signing_hash(hash, tx, e);
    if (t != TX_OK)
        return t;
    uint8_t full[SIG_BYTES];
    memcpy(full, sig->r, 32);
    memcpy(full + 32, sig->s, 32);
    full[64] = sig->y_parity;
    struct err why;
    err_clear(&why);
    if (sig_recover_address(out, hash, full, &why) != SIG_OK)
        return err_set(e, TX_ERR_BAD_SIGNATURE, "invalid transaction signature: %s", why.msg);
    return TX_OK;
}

bool tx_eip1559_equal(const struct tx_eip1559 *a, const struct tx_eip1559 *b)
{
    return a->chain_id == b->chain_id && a->nonce == b->nonce && a->gas_limit == b->gas_limit &&
           u256_cmp(&a->max_priority_fee_per_gas_wei, &b->max_priority_fee_per_gas_wei) == 0 &&
           u256_cmp(&a->max_fee_per_gas_wei, &b->max_fee_per_gas_wei) == 0 &&
           u256_cmp(&a->value_wei, &b->value_wei) == 0 && a->has_to == b->has_to &&
           (!a->has_to || address_eq(&a->to, &b->to)) && a->data_len == b->data_len &&
           (a->data_len == 0 || memcmp(a->data, b->data, a->data_len) == 0);
}
