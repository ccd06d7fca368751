/* txsend.c - see txsend.h. */
#include "txsend.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "hex.h"
#include "tx.h"

static json_t *txsend_call_object(const struct address *from, const struct txsend_request *req);
static enum txsend_result txsend_fail(struct err *e, enum txsend_result code, const char *what,
                                      const struct err *cause);
static enum txsend_result txsend_mismatch(struct err *e, const char *what,
                                          const uint8_t node_hash[32], const uint8_t our_hash[32]);
static enum txsend_result txsend_wrong_sender(struct err *e, const uint8_t node_from[20],
                                              const struct address *from);
static enum txsend_result txsend_check_request(const struct txsend_request *req, struct err *e);
static enum txsend_result txsend_fill_tx(struct tx_eip1559 *tx, struct rpc_client *c,
                                         uint64_t chain_id, const struct address *from,
                                         const struct txsend_request *req,
                                         struct txsend_outcome *out, struct err *e);
static void txsend_check_signable(const struct tx_eip1559 *tx, const struct txsend_request *req);
static enum txsend_result txsend_broadcast(struct rpc_client *c, const uint8_t tx_hash[32],
                                           const struct buf *raw, struct err *e);
static enum txsend_result txsend_await_receipt(struct txsend_outcome *out, struct rpc_client *c,
                                               const struct address *from, uint32_t timeout_ms,
                                               struct err *e);

/* {from, to?, value, data} as JSON-RPC call object; NULL on allocation failure. */
static json_t *txsend_call_object(const struct address *from, const struct txsend_request *req)
{
    char addr[ADDRESS_TEXT_SIZE], value[U256_HEX_SIZE];
    json_t *o = json_object();
    if (o == NULL)
        return NULL;
    address_format_lower(addr, from);
    json_object_set_new(o, "from", json_string(addr));
    if (req->has_to) {
        address_format_lower(addr, &req->to);
        json_object_set_new(o, "to", json_string(addr));
    }
    u256_to_hex(value, &req->value_wei);
    json_object_set_new(o, "value", json_string(value));
    size_t hex_size = 2 * req->data_len + 3;
    char *data = malloc(hex_size);
    if (data == NULL || hex_encode_0x(data, hex_size, req->data, req->data_len) != 0) {
        free(data);
        json_decref(o);
        return NULL;
    }
    json_object_set_new(o, "data", json_string(data));
    free(data);
    return o;
}

/* e = {code, "<what>: <cause's message>"}: txsend's own code, with the inner
 * module's error kept as the cause. */
static enum txsend_result txsend_fail(struct err *e, enum txsend_result code, const char *what,
                                      const struct err *cause)
{
    return (enum txsend_result)err_set(e, code, "%s: %s", what, cause->msg);
}

static enum txsend_result txsend_mismatch(struct err *e, const char *what,
                                          const uint8_t node_hash[32], const uint8_t our_hash[32])
{
    char node_hex[2 + 64 + 1], our_hex[2 + 64 + 1];
    int rc = hex_encode_0x(node_hex, sizeof node_hex, node_hash, 32);
    rc |= hex_encode_0x(our_hex, sizeof our_hex, our_hash, 32);
    ASSERT(rc == 0);
    return (enum txsend_result)err_set(
        e, TXSEND_ERR_NODE_MISMATCH, "node's %s %s differs from ours %s", what, node_hex, our_hex);
}

static enum txsend_result txsend_wrong_sender(struct err *e, const uint8_t node_from[20],
                                              const struct address *from)
{
    struct address node_addr;
    char node_text[ADDRESS_TEXT_SIZE], our_text[ADDRESS_TEXT_SIZE];
    memcpy(node_addr.bytes, node_from, ADDRESS_BYTES);
    address_format_checksum(node_text, &node_addr);
    address_format_checksum(our_text, from);
    return (enum txsend_result)err_set(e, TXSEND_ERR_NODE_MISMATCH,
                                       "node's receipt sender %s differs from ours %s", node_text,
                                       our_text);
}

/* Everything that can be checked before talking to the node. */
static enum txsend_result txsend_check_request(const struct txsend_request *req, struct err *e)
{
    if (req->data_len > TX_DATA_BYTES_MAX)
        return (enum txsend_result)err_set(e, TXSEND_ERR_BAD_INPUT,
                                           "transaction data of %zu bytes above maximum %zu",
                                           req->data_len, (size_t)TX_DATA_BYTES_MAX);
    if (req->gas_limit > TXSEND_GAS_LIMIT_MAX)
        return (enum txsend_result)err_set(
            e, TXSEND_ERR_BAD_INPUT, "gas limit %llu above maximum %u",
            (unsigned long long)req->gas_limit, TXSEND_GAS_LIMIT_MAX);
    if (req->timeout_ms > RPC_WAIT_TIMEOUT_MS_MAX)
        return (enum txsend_result)err_set(e, TXSEND_ERR_BAD_INPUT,
                                           "receipt timeout %u ms above maximum %u ms",
                                           req->timeout_ms, RPC_WAIT_TIMEOUT_MS_MAX);
    if (req->max_fee_per_gas_cap_wei == 0)
        return (enum txsend_result)err_set(
            e, TXSEND_ERR_BAD_INPUT, "max fee per gas cap is 0 wei: want MAX_FEE_PER_GAS_WEI > 0");
    return TXSEND_OK;
}

enum txsend_result txsend_cap_fees(struct tx_eip1559 *tx, const struct rpc_fees *fees,
                                   uint64_t cap_wei, struct err *e)
{
    struct u256 cap = u256_from_u64(cap_wei);
    if (u256_cmp(&fees->base_fee_wei, &cap) > 0) {
        char base[U256_DEC_SIZE];
        u256_to_dec(base, &fees->base_fee_wei);
        return (enum txsend_result)err_set(
            e, TXSEND_ERR_FEE_CAP,
            "base fee %s wei above the cap of %llu wei per gas (MAX_FEE_PER_GAS_WEI): not signing",
            base, (unsigned long long)cap_wei);
    }
    tx->max_fee_per_gas_wei = u256_cmp(&fees->max_fee_wei, &cap) > 0 ? cap : fees->max_fee_wei;
    tx->max_priority_fee_per_gas_wei =
        u256_cmp(&fees->priority_fee_wei, &tx->max_fee_per_gas_wei) > 0 ? tx->max_fee_per_gas_wei
                                                                        : fees->priority_fee_wei;
    return TXSEND_OK;
}

uint64_t txsend_gas_with_margin(uint64_t estimate)
{
    ASSERT(estimate <= TXSEND_GAS_LIMIT_MAX);
    uint64_t gas = estimate + estimate * TXSEND_GAS_MARGIN_PCT / 100;
    return gas < TXSEND_GAS_LIMIT_MAX ? gas : TXSEND_GAS_LIMIT_MAX;
}

enum txsend_result txsend_estimate_gas(uint64_t *gas_out, char *revert_hex_out,
                                       struct rpc_client *c, const struct address *from,
                                       const struct txsend_request *req, struct err *e)
{
    json_t *call = txsend_call_object(from, req);
    if (call == NULL)
        return (enum txsend_result)err_set(e, TXSEND_ERR_NOMEM, "out of memory building call");
    struct err why = {0};
    json_t *result = NULL;
    enum rpc_result r = rpc_call(c, "eth_estimateGas", json_pack("[o]", call), &result, &why);
    if (r == RPC_ERR_EXECUTION_REVERTED) {
        if (revert_hex_out != NULL)
            snprintf(revert_hex_out, TXSEND_REVERT_DATA_HEX_MAX + 1, "%s", c->last_remote.data_hex);
        return (enum txsend_result)err_set(e, TXSEND_ERR_ESTIMATE_REVERT,
                                           "transaction would revert: data '%s'",
                                           c->last_remote.data_hex);
    }
    if (r != RPC_OK)
        return txsend_fail(e, TXSEND_ERR_RPC, "cannot estimate gas", &why);
    uint64_t gas = 0;
    r = rpc_parse_quantity_u64(&gas, result, &why);
    json_decref(result);
    if (r != RPC_OK)
        return txsend_fail(e, TXSEND_ERR_RPC, "cannot estimate gas: eth_estimateGas", &why);
    if (gas < TXSEND_GAS_ESTIMATE_MIN || gas > TXSEND_GAS_LIMIT_MAX)
        return (enum txsend_result)err_set(
            e, TXSEND_ERR_BAD_ESTIMATE, "node's gas estimate %llu outside %u..%u",
            (unsigned long long)gas, TXSEND_GAS_ESTIMATE_MIN, TXSEND_GAS_LIMIT_MAX);
    *gas_out = gas;
    return TXSEND_OK;
}

static enum txsend_result txsend_fill_tx(struct tx_eip1559 *tx, struct rpc_client *c,
                                         uint64_t chain_id, const struct address *from,
                                         const struct txsend_request *req,
                                         struct txsend_outcome *out, struct err *e)
{
    struct rpc_fees fees;
    struct err why = {0};
    memset(tx, 0, sizeof *tx);
    tx->chain_id = chain_id;
    if (rpc_get_transaction_count(c, &tx->nonce, from->bytes, "pending", &why) != RPC_OK)
        return txsend_fail(e, TXSEND_ERR_RPC, "cannot fetch the nonce", &why);
    if (rpc_fee_suggestion(c, &fees, &why) != RPC_OK)
        return txsend_fail(e, TXSEND_ERR_RPC, "cannot fetch fees", &why);
    enum txsend_result r = txsend_cap_fees(tx, &fees, req->max_fee_per_gas_cap_wei, e);
    if (r != TXSEND_OK)
        return r;
    tx->gas_limit = req->gas_limit;
    if (tx->gas_limit == 0) {
        uint64_t est = 0;
        r = txsend_estimate_gas(&est, out->revert_data_hex, c, from, req, e);
        if (r != TXSEND_OK)
            return r;
        tx->gas_limit = txsend_gas_with_margin(est);
    }
    tx->has_to = req->has_to;
    tx->to = req->to;
    tx->value_wei = req->value_wei;
    tx->data = req->data;
    tx->data_len = req->data_len;
    return TXSEND_OK;
}

/* The last gate before a signature: whatever the node answered, fees and gas
 * are within our limits here (txsend_fill_tx guarantees it; a failure is a
 * bug in this file). */
static void txsend_check_signable(const struct tx_eip1559 *tx, const struct txsend_request *req)
{
    struct u256 cap = u256_from_u64(req->max_fee_per_gas_cap_wei);
    ASSERT(u256_cmp(&tx->max_fee_per_gas_wei, &cap) <= 0);
    ASSERT(u256_cmp(&tx->max_priority_fee_per_gas_wei, &tx->max_fee_per_gas_wei) <= 0);
    ASSERT(tx->gas_limit <= TXSEND_GAS_LIMIT_MAX);
}

/* eth_sendRawTransaction; the node must answer our own hash. */
static enum txsend_result txsend_broadcast(struct rpc_client *c, const uint8_t tx_hash[32],
                                           const struct buf *raw, struct err *e)
{
    size_t hex_size = 2 * raw->len + 3;
    char *raw_hex = malloc(hex_size);
    if (raw_hex == NULL || hex_encode_0x(raw_hex, hex_size, raw->data, raw->len) != 0) {
        free(raw_hex);
        return (enum txsend_result)err_set(e, TXSEND_ERR_NOMEM,
                                           "out of memory encoding the raw transaction");
    }
    uint8_t node_hash[32];
    struct err why = {0};
    enum rpc_result rr = rpc_send_raw_transaction(c, node_hash, raw_hex, &why);
    free(raw_hex);
    if (rr != RPC_OK)
        return txsend_fail(e, TXSEND_ERR_RPC, "cannot broadcast the transaction", &why);
    if (memcmp(node_hash, tx_hash, 32) != 0)
        return txsend_mismatch(e, "transaction hash", node_hash, tx_hash);
    return TXSEND_OK;
}

/* Waits for the receipt of out->tx_hash and checks it is ours. A receipt
 * that is not is dropped (has_receipt stays false). */
static enum txsend_result txsend_await_receipt(struct txsend_outcome *out, struct rpc_client *c,
                                               const struct address *from, uint32_t timeout_ms,
                                               struct err *e)
{
    ASSERT(timeout_ms >= 1 && timeout_ms <= RPC_WAIT_TIMEOUT_MS_MAX);
    uint32_t poll_ms = timeout_ms < TXSEND_RECEIPT_POLL_MS ? timeout_ms : TXSEND_RECEIPT_POLL_MS;
    struct err why = {0};
    enum rpc_result rr =
        rpc_wait_receipt(c, &out->receipt, out->tx_hash, timeout_ms, poll_ms, &why);
    if (rr == RPC_ERR_RECEIPT_TIMEOUT)
        return txsend_fail(e, TXSEND_ERR_TIMEOUT, "transaction not mined", &why);
    if (rr != RPC_OK)
        return txsend_fail(e, TXSEND_ERR_RPC, "cannot fetch the receipt", &why);
    enum txsend_result r = TXSEND_OK;
    if (memcmp(out->receipt.transaction_hash, out->tx_hash, 32) != 0)
        r = txsend_mismatch(e, "receipt hash", out->receipt.transaction_hash, out->tx_hash);
    else if (memcmp(out->receipt.from, from->bytes, ADDRESS_BYTES) != 0)
        r = txsend_wrong_sender(e, out->receipt.from, from);
    if (r != TXSEND_OK) {
        rpc_receipt_release(&out->receipt);
        return r;
    }
    out->has_receipt = true;
    if (out->receipt.status != 1)
        return (enum txsend_result)err_set(e, TXSEND_ERR_REVERTED,
                                           "transaction reverted in block %llu",
                                           (unsigned long long)out->receipt.block_number);
    return TXSEND_OK;
}

enum txsend_result txsend_send(struct txsend_outcome *out, struct rpc_client *c, uint64_t chain_id,
                               const struct sig_private_key *key, const struct txsend_request *req,
                               struct err *e)
{
    memset(out, 0, sizeof *out);
    enum txsend_result r = txsend_check_request(req, e);
    if (r != TXSEND_OK)
        return r;
    struct address from;
    struct err why = {0};
    if (sig_private_key_address(&from, key, &why) != SIG_OK)
        return txsend_fail(e, TXSEND_ERR_SIGN, "cannot derive the sender", &why);
    struct tx_eip1559 tx;
    r = txsend_fill_tx(&tx, c, chain_id, &from, req, out, e);
    if (r != TXSEND_OK)
        return r;
    txsend_check_signable(&tx, req);

    struct buf raw;
    buf_init(&raw, TX_RAW_BYTES_MAX);
    enum tx_result t = tx_sign(&raw, &tx, key, &why);
    if (t != TX_OK) {
        r = txsend_fail(e, t == TX_ERR_NOMEM ? TXSEND_ERR_NOMEM : TXSEND_ERR_SIGN,
                        "cannot sign the transaction", &why);
    } else {
        tx_hash(out->tx_hash, raw.data, raw.len);
        r = txsend_broadcast(c, out->tx_hash, &raw, e);
    }
    buf_release(&raw);
    if (r != TXSEND_OK)
        return r;
    uint32_t timeout_ms = req->timeout_ms ? req->timeout_ms : TXSEND_TIMEOUT_MS_DEFAULT;
    return txsend_await_receipt(out, c, &from, timeout_ms, e);
}

void txsend_outcome_release(struct txsend_outcome *out)
{
    if (out->has_receipt)
        rpc_receipt_release(&out->receipt);
    out->has_receipt = false;
}
