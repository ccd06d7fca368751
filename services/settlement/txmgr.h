/*
 * txmgr.h - the settlement service's transaction manager: every chain write
 * of the service (settle, reclaim, anchorRecording, RightsPass deployment)
 * goes through it. Tables: migrations/0006_txmgr.sql (tx_senders,
 * chain_txs, chain_tx_attempts); docs/architecture.md "Invariants": Chain
 * writes.
 *
 * Life of a transaction (one chain_txs row, keyed by a caller-chosen
 * `purpose`, e.g. "settle:<settlement uuid>", UNIQUE: one intent = one
 * effective transaction, ever):
 *
 *   txmgr_submit()   inside the CALLER's open transaction (so that, e.g.,
 *                    a settlement batch and its transaction commit or roll
 *                    back together): estimates gas (unless given), takes the
 *                    node's fees capped by max_fee_per_gas_cap_wei, locks the
 *                    sender's tx_senders row (FOR UPDATE: nonces are
 *                    allocated in PostgreSQL, never taken from the node
 *                    alone; the stored next nonce is raised to the node's
 *                    pending count when that is higher, e.g. after a
 *                    transaction sent outside the service), signs, and
 *                    stores the intent and its first signed attempt (raw
 *                    bytes, hash, fees). Nothing is broadcast: the raw
 *                    transaction exists in PostgreSQL before any node sees
 *                    it. status 'signed'.
 *   txmgr_tick()     outside any transaction, by one driver at a time per
 *                    sender (pg_try_advisory_lock on the sender; another
 *                    process's tick is a no-op), for each unfinished row of
 *                    the sender in nonce order:
 *     signed/pending broadcast the latest attempt's stored raw bytes
 *                    (status 'pending'). An answer of "already known",
 *                    "nonce too low", a replacement error or a lost response
 *                    (timeout, 5xx) is resolved by looking the stored hashes
 *                    up (eth_getTransactionReceipt of every attempt), never
 *                    by signing a new payload.
 *                    A receipt for one attempt: 'mined' (block, hash,
 *                    status recorded).
 *                    Not mined resend_after_ms after the latest attempt
 *                    was first broadcast (chain_tx_attempts.broadcast_at): a
 *                    replacement with the same nonce, max fee AND tip each
 *                    raised by at least bump_pct (>= 10, geth's replacement
 *                    rule) over the latest attempt and at least the node's
 *                    current suggestion, is signed, stored, then broadcast.
 *                    A bump that would exceed the cap is not signed (logged;
 *                    the stored attempt keeps being re-broadcast).
 *                    The sender's nonce at (head - confirmations) already
 *                    above ours with none of our hashes mined: the nonce was
 *                    used outside the service; the row is re-signed with a
 *                    fresh nonce (a new payload is safe only then: none of
 *                    the old ones can ever be mined).
 *     mined          the receipt is looked up again each tick: gone or in
 *                    another block (a reorg dropped it): back to 'pending',
 *                    the stored raw bytes are re-broadcast. With
 *                    `confirmations` blocks on top: 'confirmed' (receipt
 *                    status 1) or 'reverted' (status 0). Both are final.
 *
 * Exactly once: every attempt of a row shares one nonce, so at most one of
 * them is ever mined; a purpose is UNIQUE, so a caller that submits the
 * same purpose again (a retry, a second process) gets the existing row back
 * (TXMGR_ERR_EXISTS with *out filled) and nothing is signed.
 *
 * Callers follow their transaction with txmgr_get() (by purpose) and act on
 * the final status; the receipt's block, hash and, for a creation, the
 * contract address (CREATE(sender, nonce), known from the nonce on) are in
 * `struct txmgr_tx`.
 *
 * The node is not trusted: fees and estimates are range-checked as in
 * txsend.h; no transaction with a max fee above the cap is ever signed
 * (asserted before signing); a receipt for another hash than asked is an
 * error, not a state change.
 *
 * Ownership: `struct txmgr` is caller-allocated; it borrows the key and the
 * logger, which must outlive it. Sessions and rpc clients are passed per
 * call; during txmgr_submit() and txmgr_tick() the client's per-attempt
 * timeout is cfg.rpc_timeout_ms (restored before they return). Thread-safe
 * in the sense that separate threads and processes may call it with their
 * own sessions: PostgreSQL serializes them.
 *
 * Limits: data at most TX_DATA_BYTES_MAX, purpose 1..TXMGR_PURPOSE_BYTES_MAX
 * bytes of [a-z0-9_:.-], attempts per row at most TXMGR_ATTEMPTS_MAX (then
 * the row stays 'pending' with its last attempt re-broadcast), rows driven
 * per tick at most TXMGR_TICK_ROWS_MAX.
 */
#ifndef SETTLEMENT_TXMGR_H
#define SETTLEMENT_TXMGR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "address.h"
#include "check.h"
#include "err.h"
#include "log.h"
#include "pg.h"
#include "rpc.h"
#include "sig.h"
#include "u256.h"

#define TXMGR_PURPOSE_BYTES_MAX 96
#define TXMGR_ATTEMPTS_MAX 32
#define TXMGR_TICK_ROWS_MAX 256
#define TXMGR_BUMP_PCT_MIN 10
#define TXMGR_BUMP_PCT_MAX 1000
#define TXMGR_CONFIRMATIONS_MAX 1000 /* CONFIG_CONFIRMATIONS_MAX */
#define TXMGR_RESEND_AFTER_MS_DEFAULT 30000u
#define TXMGR_LOCK_KEY_BASE 7302000100LL /* + the sender's low 32 bits */

/* Stable result codes; numbers are never reused. */
enum txmgr_result {
    TXMGR_OK = 0,
    TXMGR_ERR_BAD_INPUT = 1,       /* config or request out of range (e says which) */
    TXMGR_ERR_DB = 2,              /* a statement failed */
    TXMGR_ERR_RPC = 3,             /* the node failed (nothing stored for submit) */
    TXMGR_ERR_ESTIMATE_REVERT = 4, /* the call would revert: revert data in e's message */
    TXMGR_ERR_FEE_CAP = 5,         /* the base fee is above the cap: nothing signed */
    TXMGR_ERR_EXISTS = 6,          /* the purpose is already submitted: *out is that row */
    TXMGR_ERR_NOT_FOUND = 7,       /* txmgr_get: no such purpose */
    TXMGR_ERR_CORRUPT = 8,         /* a stored row does not parse */
    TXMGR_ERR_SIGN = 9,
    TXMGR_ERR_BAD_ESTIMATE = 10 /* the node's gas estimate is out of range */
};

enum txmgr_status {
    TXMGR_SIGNED = 0,    /* stored, never broadcast */
    TXMGR_PENDING = 1,   /* broadcast, not (or no longer) mined */
    TXMGR_MINED = 2,     /* in a block, fewer than `confirmations` on top */
    TXMGR_CONFIRMED = 3, /* final: succeeded */
    TXMGR_REVERTED = 4   /* final: mined with status 0 */
};

struct txmgr_config {
    uint64_t chain_id;                   /* CHAIN_ID */
    const struct sig_private_key *key;   /* borrowed: the operator key */
    uint64_t max_fee_per_gas_cap_wei;    /* MAX_FEE_PER_GAS_WEI, > 0 */
    uint32_t confirmations;              /* CONFIRMATIONS, 0..TXMGR_CONFIRMATIONS_MAX */
    uint32_t resend_after_ms;            /* not mined this long after an attempt: bump */
    uint32_t bump_pct;                   /* TXMGR_BUMP_PCT_MIN..TXMGR_BUMP_PCT_MAX */
    uint32_t rpc_timeout_ms;             /* per broadcast/lookup */
    const struct logger *log;            /* borrowed; may be NULL */
};

struct txmgr_request {
    const char *purpose; /* UNIQUE key of the intent */
    bool has_to;         /* false: contract creation */
    struct address to;
    struct u256 value_wei;
    const uint8_t *data; /* borrowed */
    size_t data_len;
    uint64_t gas_limit; /* 0: eth_estimateGas + TXSEND_GAS_MARGIN_PCT */
};

struct txmgr_tx {
    int64_t id;
    char purpose[TXMGR_PURPOSE_BYTES_MAX + 1];
    enum txmgr_status status;
    struct address from;
    uint64_t nonce;
    uint32_t attempts;
    uint8_t tx_hash[32];  /* the mined attempt's, else the latest attempt's */
    uint64_t max_fee_per_gas_wei, max_priority_fee_per_gas_wei; /* of that attempt */
    bool has_block;       /* MINED, CONFIRMED, REVERTED */
    uint64_t block_number;
    uint8_t block_hash[32];
    bool is_creation;
    struct address contract; /* creations: CREATE(from, nonce) */
};

struct txmgr_tick_report {
    uint32_t broadcast;  /* raw transactions (re-)sent */
    uint32_t bumped;     /* replacements signed */
    uint32_t mined;      /* rows that became MINED */
    uint32_t unmined;    /* MINED rows returned to PENDING by a reorg */
    uint32_t confirmed;  /* rows that became CONFIRMED or REVERTED */
    uint32_t renonced;   /* rows re-signed after their nonce was used elsewhere */
    bool not_leader;     /* another session drives this sender: nothing done */
};

struct txmgr {
    struct txmgr_config cfg;
    struct address from;
};

/* Defaults: resend after TXMGR_RESEND_AFTER_MS_DEFAULT, bump 12 %, rpc
 * timeout 5 s, confirmations 2. The caller sets chain_id, key and the cap. */
void txmgr_config_default(struct txmgr_config *cfg);

/* Checks cfg and derives the sender's address. Touches nothing else. */
WUR enum txmgr_result txmgr_init(struct txmgr *m, const struct txmgr_config *cfg, struct err *e);

/* See the top. `pc` must be inside an open transaction of the caller.
 * TXMGR_OK: *out is the new row (SIGNED). TXMGR_ERR_EXISTS: *out is the
 * existing row of that purpose (nothing signed; the payload is not
 * compared). Any other error: nothing was stored by this call (the
 * caller's transaction may be aborted after TXMGR_ERR_DB: roll it back;
 * pc->sqlstate 40001 under REPEATABLE READ or SERIALIZABLE means retry the
 * whole transaction). The node is asked for the estimate, the fees and the
 * pending nonce before the sender's row is locked; the lock is held until
 * the caller's transaction ends, so concurrent submits of one sender are
 * serialized and a purpose submitted meanwhile is seen (TXMGR_ERR_EXISTS,
 * nothing signed). */
WUR enum txmgr_result txmgr_submit(struct txmgr_tx *out, struct txmgr *m, struct pg_session *pc,
                                   struct rpc_client *rpc, const struct txmgr_request *req,
                                   struct err *e);

/* One round of the driver (see the top). `pc` must not be in a
 * transaction. Errors of one row are logged and leave it for the next
 * tick; the result is TXMGR_OK unless the database or the lock failed. */
WUR enum txmgr_result txmgr_tick(struct txmgr_tick_report *report, struct txmgr *m,
                                 struct pg_session *pc, struct rpc_client *rpc, struct err *e);

/* The row of `purpose`, or TXMGR_ERR_NOT_FOUND (TXMGR_ERR_BAD_INPUT for a
 * purpose that could not be one, TXMGR_ERR_CORRUPT for a stored row that
 * does not parse). Works inside or outside a transaction. */
WUR enum txmgr_result txmgr_get(struct txmgr_tx *out, struct pg_session *pc, const char *purpose,
                                struct err *e);

const char *txmgr_status_name(enum txmgr_status s);

#endif
