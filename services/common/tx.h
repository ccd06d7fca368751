/*
 * tx.h - EIP-1559 (type 0x02) Ethereum transactions: signing hash, signing
 * into raw bytes ready for eth_sendRawTransaction, transaction hash, and a
 * strict decoder for signed raw transactions (to re-check what is stored
 * before it is broadcast, and to recover its sender).
 *
 *   signing hash = keccak256(0x02 || rlp([chainId, nonce, maxPriorityFeePerGas,
 *                  maxFeePerGas, gas, to, value, data, accessList]))
 *   raw          = 0x02 || rlp([... same 9 fields ..., yParity, r, s])
 *   tx hash      = keccak256(raw)
 * The access list is always empty. `to` absent (has_to == false) is a
 * contract creation and encodes as the empty string; `data` is then the init
 * code. Integers are minimal big-endian, so raw bytes are byte-identical to
 * other implementations (`cast mktx`, ethers) for the same key and fields.
 *
 * Ownership: `struct tx_eip1559` is a caller-owned value; `data` is borrowed
 * (the caller keeps it alive; after tx_decode_signed() it points into the
 * raw input). Raw output is appended to a caller-owned `struct buf`; on
 * failure the buf is left as it was.
 *
 * Limits: data at most TX_DATA_BYTES_MAX (128 KiB, the default tx size limit
 * of geth's pool); a raw transaction at most TX_RAW_BYTES_MAX. The priority
 * fee may not exceed the max fee (nodes reject such transactions).
 *
 * Result numbers are stable and never reused.
 */
#ifndef COMMON_TX_H
#define COMMON_TX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "address.h"
#include "buf.h"
#include "err.h"
#include "sig.h"
#include "u256.h"

#define TX_TYPE_EIP1559 0x02
#define TX_HASH_BYTES 32
#define TX_DATA_BYTES_MAX ((size_t)128 << 10)
#define TX_RAW_BYTES_MAX (TX_DATA_BYTES_MAX + 1024) /* data plus every other field */
#define TX_FIELDS_SIGNED 12

enum tx_result {
    TX_OK = 0,
    TX_ERR_BUF_TOO_BIG = 1,   /* output buf maximum reached */
    TX_ERR_NOMEM = 2,         /* allocation failed */
    TX_ERR_DATA_TOO_BIG = 3,  /* data above TX_DATA_BYTES_MAX */
    TX_ERR_BAD_FEES = 4,      /* max priority fee above max fee */
    TX_ERR_SIGN = 5,          /* signing failed (bad key; message from sig) */
    TX_ERR_RAW_TOO_BIG = 6,   /* raw input above TX_RAW_BYTES_MAX */
    TX_ERR_NOT_EIP1559 = 7,   /* empty, or the type byte is not 0x02 */
    TX_ERR_RLP = 8,           /* malformed or non-canonical RLP (message from rlp) */
    TX_ERR_FIELD_COUNT = 9,   /* the list does not hold exactly 12 fields */
    TX_ERR_BAD_FIELD = 10,    /* a field of the wrong kind, size or form */
    TX_ERR_ACCESS_LIST = 11,  /* non-empty access list (not supported) */
    TX_ERR_BAD_SIGNATURE = 12 /* yParity not 0/1, bad r/s, high s, or no sender */
};

struct tx_eip1559 {
    uint64_t chain_id;
    uint64_t nonce;
    struct u256 max_priority_fee_per_gas_wei;
    struct u256 max_fee_per_gas_wei;
    uint64_t gas_limit;
    bool has_to; /* false: contract creation */
    struct address to;
    struct u256 value_wei;
    const uint8_t *data; /* borrowed; may be NULL when data_len is 0 */
    size_t data_len;
};

struct tx_signature {
    uint8_t y_parity; /* 0 or 1 */
    uint8_t r[32];    /* big-endian */
    uint8_t s[32];
};

/* out = the hash the sender signs (see above). */
enum tx_result tx_signing_hash(uint8_t out[TX_HASH_BYTES], const struct tx_eip1559 *tx,
                               struct err *e) __attribute__((warn_unused_result));

/* Signs `tx` with `key` and appends the raw signed transaction to `out_raw`.
 * Before returning it decodes the bytes it wrote and checks that they recover
 * to the key's address (an ASSERT: a mismatch is a bug). */
enum tx_result tx_sign(struct buf *out_raw, const struct tx_eip1559 *tx,
                       const struct sig_private_key *key, struct err *e)
    __attribute__((warn_unused_result));

/* out = keccak256(raw): the transaction hash nodes and explorers use. */
void tx_hash(uint8_t out[TX_HASH_BYTES], const uint8_t *raw, size_t raw_len);

/* Decodes a signed raw type-0x02 transaction. tx->data points into `raw`.
 * Checks: size, type byte, canonical RLP with nothing trailing, 12 fields,
 * integer widths (chainId, nonce, gas: 64 bits; fees, value, r, s: 256 bits),
 * `to` empty or 20 bytes, empty access list, yParity 0/1. r and s are range-
 * checked only by tx_recover_sender(). */
enum tx_result tx_decode_signed(struct tx_eip1559 *out_tx, struct tx_signature *out_sig,
                                const uint8_t *raw, size_t raw_len, struct err *e)
    __attribute__((warn_unused_result));

/* True when a and b have the same fields (chain id, nonce, fees, gas, to,
 * value and data bytes; data compared by content, not pointer). Pure. */
bool tx_eip1559_equal(const struct tx_eip1559 *a, const struct tx_eip1559 *b);

/* Recovers the sender of a decoded transaction (rejects high s, r/s out of
 * range, as sig_recover_address does). A decoded transaction whose priority
 * fee exceeds its max fee is TX_ERR_BAD_FEES here (tx_decode_signed accepts
 * it, as it only checks the encoding; such a transaction is invalid). */
enum tx_result tx_recover_sender(struct address *out, const struct tx_eip1559 *tx,
                                 const struct tx_signature *sig, struct err *e)
    __attribute__((warn_unused_result));

#endif
