/*
 * txsend.h - one-shot signed transactions for CLIs and tests: fetch the
 * nonce and EIP-1559 fees, estimate gas, sign with our own signer (tx.h),
 * broadcast, wait for the receipt.
 *
 * Scope: this is the simple sender used by `rightsctl deploy` and the
 * integration tests. It takes the nonce from the node ("pending"), so it must
 * not be used by two writers of the same account at once. The settlement
 * service's transaction manager (nonces in PostgreSQL, raw tx stored before
 * broadcast, fee bumping) is a separate module.
 *
 * The node is not trusted: nothing it answers can crash the sender or make
 * it sign what it would not otherwise sign.
 * - Fees come from the node (rpc_fee_suggestion) but are capped by the
 *   request's max_fee_per_gas_cap_wei (MAX_FEE_PER_GAS_WEI): the max fee is
 *   clamped to the cap and the priority fee to the max fee. A base fee above
 *   the cap (the transaction could not be mined within it) is
 *   TXSEND_ERR_FEE_CAP and nothing is signed. No transaction with a max fee
 *   above the cap is ever signed (asserted just before signing).
 * - A gas estimate outside [TXSEND_GAS_ESTIMATE_MIN, TXSEND_GAS_LIMIT_MAX] is
 *   TXSEND_ERR_BAD_ESTIMATE; the margin is added without overflow and the
 *   result clamped to TXSEND_GAS_LIMIT_MAX.
 * - A transaction hash from eth_sendRawTransaction, or a receipt, for another
 *   transaction than the one signed is TXSEND_ERR_NODE_MISMATCH.
 *
 * Errors: `e->code` is always an enum txsend_result. When the failure comes
 * from another module (rpc, sig, tx), its message is kept as the cause after
 * txsend's own: "cannot fetch the nonce: rpc eth_getTransactionCount failed:
 * http status 500".
 *
 * Ownership: the caller owns the rpc client and the key; a receipt returned
 * on TXSEND_OK or TXSEND_ERR_REVERTED owns its logs (rpc_receipt_release).
 * Limits: data is at most TX_DATA_BYTES_MAX; gas at most TXSEND_GAS_LIMIT_MAX;
 * receipt wait at most timeout_ms (<= RPC_WAIT_TIMEOUT_MS_MAX).
 */
#ifndef COMMON_TXSEND_H
#define COMMON_TXSEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "address.h"
#include "check.h"
#include "err.h"
#include "rpc.h"
#include "sig.h"
#include "tx.h"
#include "u256.h"

#define TXSEND_GAS_LIMIT_MAX 30000000u
#define TXSEND_GAS_ESTIMATE_MIN 21000u /* intrinsic gas of any transaction */
#define TXSEND_GAS_MARGIN_PCT 25u      /* added to eth_estimateGas */
#define TXSEND_TIMEOUT_MS_DEFAULT 30000u
#define TXSEND_RECEIPT_POLL_MS 50u
#define TXSEND_REVERT_DATA_HEX_MAX RPC_ERROR_DATA_HEX_MAX

enum txsend_result {
    TXSEND_OK = 0,
    TXSEND_ERR_RPC = 1,             /* transport/remote failure (message says which) */
    TXSEND_ERR_ESTIMATE_REVERT = 2, /* eth_estimateGas reverted: revert data in result */
    TXSEND_ERR_REVERTED = 3,        /* mined with status 0 */
    TXSEND_ERR_SIGN = 4,
    TXSEND_ERR_BAD_INPUT = 5, /* data too large, gas above TXSEND_GAS_LIMIT_MAX, zero fee cap */
    TXSEND_ERR_TIMEOUT = 6,   /* no receipt within timeout_ms */
    TXSEND_ERR_NOMEM = 7,
    TXSEND_ERR_NODE_MISMATCH = 8, /* node's tx hash or receipt is not for the tx we signed */
    TXSEND_ERR_FEE_CAP = 9,       /* node's base fee above the cap: nothing signed */
    TXSEND_ERR_BAD_ESTIMATE = 10  /* gas estimate outside [ESTIMATE_MIN, GAS_LIMIT_MAX] */
};

struct txsend_request {
    bool has_to; /* false: contract creation */
    struct address to;
    struct u256 value_wei;
    const uint8_t *data; /* borrowed; may be NULL when data_len is 0 */
    size_t data_len;
    uint64_t gas_limit;  /* 0: eth_estimateGas + TXSEND_GAS_MARGIN_PCT */
    uint32_t timeout_ms; /* 0: TXSEND_TIMEOUT_MS_DEFAULT */
    /* Required, > 0: the most ever bid per gas (MAX_FEE_PER_GAS_WEI, see
     * config.h; CONFIG_MAX_FEE_PER_GAS_WEI_DEFAULT is 500 gwei). */
    uint64_t max_fee_per_gas_cap_wei;
};

struct txsend_outcome {
    uint8_t tx_hash[32];        /* set once the tx was signed (ours, not the node's) */
    struct rpc_receipt receipt; /* valid on TXSEND_OK / TXSEND_ERR_REVERTED */
    bool has_receipt;
    char revert_data_hex[TXSEND_REVERT_DATA_HEX_MAX + 1]; /* on TXSEND_ERR_ESTIMATE_REVERT */
};

/* Signs and sends `req` from the key's address on `chain_id` and waits for
 * the receipt. Returns TXSEND_OK only for a mined, successful transaction.
 * Fails before anything is signed with TXSEND_ERR_BAD_INPUT, _RPC,
 * _ESTIMATE_REVERT, _BAD_ESTIMATE, _FEE_CAP, _SIGN or _NOMEM (out->tx_hash
 * stays zero); after signing with _RPC (broadcast or receipt lookup failed),
 * _NODE_MISMATCH, _TIMEOUT or _REVERTED. Release `out` with
 * txsend_outcome_release() whatever the result. */
WUR enum txsend_result txsend_send(struct txsend_outcome *out, struct rpc_client *c,
                                   uint64_t chain_id, const struct sig_private_key *key,
                                   const struct txsend_request *req, struct err *e);

void txsend_outcome_release(struct txsend_outcome *out);

/* eth_estimateGas for {from, to?, value, data}. TXSEND_ERR_ESTIMATE_REVERT
 * with the revert data hex in revert_hex_out (size TXSEND_REVERT_DATA_HEX_MAX+1,
 * may be NULL) when the call would revert; TXSEND_ERR_BAD_ESTIMATE when the
 * node answers outside [TXSEND_GAS_ESTIMATE_MIN, TXSEND_GAS_LIMIT_MAX];
 * TXSEND_ERR_RPC for any other rpc failure. *gas_out is set only on TXSEND_OK. */
WUR enum txsend_result txsend_estimate_gas(uint64_t *gas_out, char *revert_hex_out,
                                           struct rpc_client *c, const struct address *from,
                                           const struct txsend_request *req, struct err *e);

/* Building blocks of txsend_send(), shared with the settlement service's
 * transaction manager (services/settlement/txmgr.c) so that both price and
 * size a transaction the same way. */

/* Sets tx's fees from the node's within cap_wei: max fee = min(suggested,
 * cap), priority fee = min(suggested, max fee). A base fee above the cap
 * could never be mined within it: TXSEND_ERR_FEE_CAP (tx untouched). */
WUR enum txsend_result txsend_cap_fees(struct tx_eip1559 *tx, const struct rpc_fees *fees,
                                       uint64_t cap_wei, struct err *e);

/* estimate + TXSEND_GAS_MARGIN_PCT %, at most TXSEND_GAS_LIMIT_MAX. The
 * estimate must be range-checked (<= TXSEND_GAS_LIMIT_MAX, asserted), as
 * txsend_estimate_gas() does, so nothing here can overflow. */
uint64_t txsend_gas_with_margin(uint64_t estimate);

#endif
