/* txsend.c - see txsend.h. */
#include "txsend.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "hex.h"
#include "tx.h"

static json_t *txsend_call_object(const struct address *from, const struct txsend_request *req);
static enum txsend_result txsend_fill_tx(struct tx_eip1559 *tx, struct rpc_client *c,
                                         uint64_t chain_id, const struct address *from,
                                         const struct txsend_request *req,
                                         struct txsend_outcome *out, struct err *e);

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

enum txsend_result txsend_estimate_gas(uint64_t *gas_out, char *revert_hex_out,
                                       struct rpc_client *c, const struct address *from,
                                       const struct txsend_request *req, struct err *e)
{
    json_t *call = txsend_call_object(from, req);
    if (call == NULL)
        return (enum txsend_result)err_set(e, TXSEND_ERR_NOMEM, "out of memory building call");
    json_t *result = NULL;
    enum rpc_result r = rpc_call(c, "eth_estimateGas", json_pack("[o]", call), &result, e);
    if (r == RPC_ERR_EXECUTION_REVERTED) {
        if (revert_hex_out != NULL)
            snprintf(revert_hex_out, TXSEND_REVERT_DATA_HEX_MAX + 1, "%s", c->last_remote.data_hex);
        return (enum txsend_result)err_set(e, TXSEND_ERR_ESTIMATE_REVERT,
                                           "transaction would revert: data '%s'",
                                           c->last_remote.data_hex);
    }
    if (r != RPC_OK)
        return TXSEND_ERR_RPC;
    uint64_t gas = 0;
    r = rpc_parse_quantity_u64(&gas, result, e);
    json_decref(result);
    if (r != RPC_OK)
        return TXSEND_ERR_RPC;
    *gas_out = gas;
    return TXSEND_OK;
}

static enum txsend_result txsend_fill_tx(struct tx_eip1559 *tx, struct rpc_client *c,
                                         uint64_t chain_id, const struct address *from,
                                         const struct txsend_request *req,
                                         struct txsend_outcome *out, struct err *e)
{
    struct rpc_fees fees;
    memset(tx, 0, sizeof *tx);
    tx->chain_id = chain_id;
    if (rpc_get_transaction_count(c, &tx->nonce, from->bytes, "pending", e) != RPC_OK)
        return TXSEND_ERR_RPC;
    if (rpc_fee_suggestion(c, &fees, e) != RPC_OK)
        return TXSEND_ERR_RPC;
    tx->max_priority_fee_per_gas_wei = fees.priority_fee_wei;
    tx->max_fee_per_gas_wei = fees.max_fee_wei;
    tx->gas_limit = req->gas_limit;
    if (tx->gas_limit == 0) {
        uint64_t est = 0;
        enum txsend_result r = txsend_estimate_gas(&est, out->revert_data_hex, c, from, req, e);
        if (r != TXSEND_OK)
            return r;
        tx->gas_limit = est + est * TXSEND_GAS_MARGIN_PCT / 100;
    }
    if (tx->gas_limit > TXSEND_GAS_LIMIT_MAX)
        return (enum txsend_result)err_set(e, TXSEND_ERR_BAD_INPUT,
                                           "gas limit %llu above maximum %u",
                                           (unsigned long long)tx->gas_limit, TXSEND_GAS_LIMIT_MAX);
    tx->has_to = req->has_to;
    tx->to = req->to;
    tx->value_wei = req->value_wei;
    tx->data = req->data;
    tx->data_len = req->data_len;
    return TXSEND_OK;
}

enum txsend_result txsend_send(struct txsend_outcome *out, struct rpc_client *c, uint64_t chain_id,
                               const struct sig_private_key *key, const struct txsend_request *req,
                               struct err *e)
{
    memset(out, 0, sizeof *out);
    if (req->data_len > TX_DATA_BYTES_MAX)
        return (enum txsend_result)err_set(e, TXSEND_ERR_BAD_INPUT,
                                           "transaction data of %zu bytes above maximum %zu",
                                           req->data_len, (size_t)TX_DATA_BYTES_MAX);
    struct address from;
    if (sig_private_key_address(&from, key, e) != SIG_OK)
        return TXSEND_ERR_SIGN;
    struct tx_eip1559 tx;
    enum txsend_result r = txsend_fill_tx(&tx, c, chain_id, &from, req, out, e);
    if (r != TXSEND_OK)
        return r;

    struct buf raw;
    buf_init(&raw, TX_RAW_BYTES_MAX);
    enum txsend_result result = TXSEND_OK;
    char *raw_hex = NULL;
    if (tx_sign(&raw, &tx, key, e) != TX_OK) {
        result = TXSEND_ERR_SIGN;
        goto out;
    }
    tx_hash(out->tx_hash, raw.data, raw.len);
    size_t hex_size = 2 * raw.len + 3;
    raw_hex = malloc(hex_size);
    if (raw_hex == NULL || hex_encode_0x(raw_hex, hex_size, raw.data, raw.len) != 0) {
        result = (enum txsend_result)err_set(e, TXSEND_ERR_NOMEM, "out of memory");
        goto out;
    }
    uint8_t node_hash[32];
    if (rpc_send_raw_transaction(c, node_hash, raw_hex, e) != RPC_OK) {
        result = TXSEND_ERR_RPC;
        goto out;
    }
    ASSERT(memcmp(node_hash, out->tx_hash, 32) == 0);
    uint32_t timeout_ms = req->timeout_ms ? req->timeout_ms : TXSEND_TIMEOUT_MS_DEFAULT;
    enum rpc_result rr = rpc_wait_receipt(c, &out->receipt, out->tx_hash, timeout_ms, 50, e);
    if (rr == RPC_ERR_RECEIPT_TIMEOUT) {
        result = TXSEND_ERR_TIMEOUT;
        goto out;
    }
    if (rr != RPC_OK) {
        result = TXSEND_ERR_RPC;
        goto out;
    }
    out->has_receipt = true;
    if (out->receipt.status != 1)
        result = (enum txsend_result)err_set(e, TXSEND_ERR_REVERTED,
                                             "transaction reverted in block %llu",
                                             (unsigned long long)out->receipt.block_number);
out:
    free(raw_hex);
    buf_release(&raw);
    return result;
}

void txsend_outcome_release(struct txsend_outcome *out)
{
    if (out->has_receipt)
        rpc_receipt_release(&out->receipt);
    out->has_receipt = false;
}
