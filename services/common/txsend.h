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
 * Ownership: the caller owns the rpc client and the key; a receipt returned
 * on TXSEND_OK or TXSEND_ERR_REVERTED owns its logs (rpc_receipt_release).
 * Limits: data is at most TX_DATA_BYTES_MAX; receipt wait at most
 * timeout_ms (<= RPC_WAIT_TIMEOUT_MS_MAX).
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
#include "u256.h"

#define TXSEND_GAS_LIMIT_MAX 30000000u
#define TXSEND_GAS_MARGIN_PCT 25u /* added to eth_estimateGas */
#define TXSEND_TIMEOUT_MS_DEFAULT 30000u
#define TXSEND_REVERT_DATA_HEX_MAX RPC_ERROR_DATA_HEX_MAX

enum txsend_result {
    TXSEND_OK = 0,
    TXSEND_ERR_RPC = 1,             /* transport/remote failure (message says which) */
    TXSEND_ERR_ESTIMATE_REVERT = 2, /* eth_estimateGas reverted: revert data in result */
    TXSEND_ERR_REVERTED = 3,        /* mined with status 0 */
    TXSEND_ERR_SIGN = 4,
    TXSEND_ERR_BAD_INPUT = 5, /* data too large, gas above TXSEND_GAS_LIMIT_MAX */
    TXSEND_ERR_TIMEOUT = 6,   /* no receipt within timeout_ms */
    TXSEND_ERR_NOMEM = 7
};

struct txsend_request {
    bool has_to; /* false: contract creation */
    struct address to;
    struct u256 value_wei;
    const uint8_t *data; /* borrowed; may be NULL when data_len is 0 */
    size_t data_len;
    uint64_t gas_limit;  /* 0: eth_estimateGas + TXSEND_GAS_MARGIN_PCT */
    uint32_t timeout_ms; /* 0: TXSEND_TIMEOUT_MS_DEFAULT */
};

struct txsend_outcome {
    uint8_t tx_hash[32];        /* set once the tx was signed */
    struct rpc_receipt receipt; /* valid on TXSEND_OK / TXSEND_ERR_REVERTED */
    bool has_receipt;
    char revert_data_hex[TXSEND_REVERT_DATA_HEX_MAX + 1]; /* on TXSEND_ERR_ESTIMATE_REVERT */
};

/* Signs and sends `req` from the key's address on `chain_id` and waits for
 * the receipt. Returns TXSEND_OK only for a mined, successful transaction.
 * Release `out` with txsend_outcome_release() whatever the result. */
WUR enum txsend_result txsend_send(struct txsend_outcome *out, struct rpc_client *c,
                                   uint64_t chain_id, const struct sig_private_key *key,
                                   const struct txsend_request *req, struct err *e);

void txsend_outcome_release(struct txsend_outcome *out);

/* eth_estimateGas for {from, to?, value, data}. TXSEND_ERR_ESTIMATE_REVERT
 * with the revert data hex in revert_hex_out (size TXSEND_REVERT_DATA_HEX_MAX+1)
 * when the call would revert. */
WUR enum txsend_result txsend_estimate_gas(uint64_t *gas_out, char *revert_hex_out,
                                           struct rpc_client *c, const struct address *from,
                                           const struct txsend_request *req, struct err *e);

#endif
