/*
 * audit.h - what `rightsctl audit` learns from the chain alone (audit_chain.c);
 * the command itself, its flags, the settlement API side, the checks and the
 * report are cmd_audit.c. Internal to rightsctl.
 *
 * A snapshot of the vault at one block B:
 *   1. audit_chain_scan(): every SettlementAnchored, SettlementCancelled,
 *      SettlementReclaimed and Claimed log of the vault from `from_block` to
 *      the head (follow.h: bounded eth_getLogs ranges, halved when the node
 *      refuses a range, reorgs during the scan rolled back), B = the last
 *      block scanned, and B's timestamp. The logs are then folded into one
 *      `struct audit_batch` per batch key (sorted by key) and the Claimed
 *      logs into `claims` (sorted by batch key, then account);
 *   2. audit_chain_read_views(): at block B, for every batch the views
 *      settlementRoot, settlementTotal, settlementCreator, claimableAt and
 *      settlementRemaining, and for every creator key (those of the logs
 *      plus the caller's) receivedOf and unallocatedOf, with what the logs
 *      allocate to it (sum of anchored totals minus cancelled totals minus
 *      reclaimed amounts);
 *   3. audit_chain_claimed(): claimed(batchKey, account) at block B for a
 *      list of accounts.
 * Views are eth_calls at B ("0x<B>"), batched RPC_BATCH_CALLS_MAX to a
 * request, so that logs and views describe the same block. The node is not
 * trusted to be well-formed: a malformed log is counted (malformed_logs),
 * never delivered; a view that does not answer one word fails the call.
 *
 * audit_chain_cancel(): cancelSettlement(batchKey) signed with the guardian's
 * key (txsend.h: nonce and fees from the node, fee capped by the caller's
 * MAX_FEE_PER_GAS_WEI, receipt awaited).
 *
 * Ownership: `struct audit_chain` is caller-allocated, zeroed before the
 * scan; its arrays are owned and freed by audit_chain_release(). The rpc
 * client is borrowed.
 *
 * Limits: AUDIT_EVENTS_MAX logs in all, AUDIT_CREATOR_KEYS_MAX creator keys,
 * AUDIT_SCAN_POLLS_MAX follow polls (each up to FOLLOW_BLOCKS_PER_POLL_DEFAULT
 * blocks) per scan, of which AUDIT_SCAN_IDLE_POLLS_MAX in a row may deliver
 * no block (a node behind its own head: the scan pauses AUDIT_SCAN_IDLE_MS
 * after each, then gives up).
 */
#ifndef RIGHTSCTL_AUDIT_H
#define RIGHTSCTL_AUDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "address.h"
#include "check.h"
#include "err.h"
#include "rpc.h"
#include "sig.h"
#include "txsend.h"
#include "u256.h"

#define AUDIT_EVENTS_MAX ((size_t)1000000)
#define AUDIT_CREATOR_KEYS_MAX ((size_t)100000)
#define AUDIT_SCAN_POLLS_MAX 100000
#define AUDIT_SCAN_IDLE_POLLS_MAX 150 /* polls without a block (a node behind), ... */
#define AUDIT_SCAN_IDLE_MS 200        /* ... each after a pause */
#define AUDIT_KEY_BYTES 32
#define AUDIT_ID_SIZE 37 /* a UUID and its NUL (ids.h IDS_UUID_SIZE) */

#define AUDIT_SIG_ANCHORED "SettlementAnchored(bytes32,bytes32,bytes32,uint256,uint64)"
#define AUDIT_SIG_CANCELLED "SettlementCancelled(bytes32,bytes32,uint256)"
#define AUDIT_SIG_RECLAIMED "SettlementReclaimed(bytes32,bytes32,uint256)"
#define AUDIT_SIG_CLAIMED "Claimed(bytes32,address,uint256)"
#define AUDIT_SIG_CANCEL "cancelSettlement(bytes32)"

enum audit_event_kind {
    AUDIT_EV_ANCHORED = 0,
    AUDIT_EV_CANCELLED = 1,
    AUDIT_EV_RECLAIMED = 2,
    AUDIT_EV_CLAIMED = 3
};

/* One decoded log, in chain order. */
struct audit_event {
    enum audit_event_kind kind;
    uint64_t block_number;
    uint8_t tx_hash[32];
    uint8_t batch_key[AUDIT_KEY_BYTES];
    uint8_t creator_key[AUDIT_KEY_BYTES]; /* anchored, cancelled, reclaimed */
    struct address account;               /* claimed */
    uint8_t root[32];                     /* anchored */
    struct u256 amount_wei;               /* total (anchored, cancelled) or amount */
    uint64_t claimable_at;                /* anchored */
};

/* One Claimed log. */
struct audit_claim {
    uint8_t batch_key[AUDIT_KEY_BYTES];
    struct address account;
    struct u256 amount_wei;
    uint64_t block_number;
    uint8_t tx_hash[32];
};

/* How a batch ended on chain (cancelled or reclaimed). */
struct audit_batch_end {
    bool seen;
    uint64_t block_number;
    struct u256 amount_wei;
};

/* One batch key as the chain tells it. */
struct audit_batch {
    uint8_t batch_key[AUDIT_KEY_BYTES];
    /* the SettlementAnchored log (anchored_logs == 1; 0 when the key has
     * other logs only, which the vault never emits) */
    unsigned anchored_logs;
    uint8_t creator_key[AUDIT_KEY_BYTES];
    uint8_t root[32];
    struct u256 total_wei;
    uint64_t claimable_at;
    uint64_t block_number;
    uint8_t tx_hash[32];
    struct audit_batch_end cancelled; /* SettlementCancelled: its total */
    struct audit_batch_end reclaimed; /* SettlementReclaimed: what it still owed */
    unsigned end_logs;                /* cancelled + reclaimed logs; more than 1 is wrong */
    struct u256 claimed_wei;          /* sum of its Claimed logs (claimed_overflow: above 2^256) */
    bool claimed_overflow;
    size_t claims_first, claims_len; /* its Claimed logs: claims[first..first+len) */
    bool duplicate_claim;            /* two Claimed logs for one account */
    /* the views at block B (audit_chain_read_views) */
    uint8_t view_root[32], view_creator[32];
    struct u256 view_total_wei, view_remaining_wei;
    uint64_t view_claimable_at;
    bool view_claimable_at_ok; /* the word fits 64 bits */
    /* set by cmd_audit.c */
    bool known;                        /* an API settlement has this key */
    char settlement_id[AUDIT_ID_SIZE]; /* that settlement's id, when known */
    bool bad; /* a discrepancy: --cancel vetoes it while its window is open */
};

/* A creator key's revenue at block B. */
struct audit_funds {
    uint8_t creator_key[AUDIT_KEY_BYTES];
    struct u256 received_wei;    /* receivedOf */
    struct u256 unallocated_wei; /* unallocatedOf */
    struct u256 allocated_wei;   /* by the logs: anchored - cancelled - reclaimed */
    bool allocated_bad;          /* that sum under- or overflowed */
};

struct audit_chain {
    struct address vault;
    uint64_t from_block;
    uint64_t block;           /* B: the last block scanned (the head when below from_block) */
    uint64_t block_timestamp; /* B's */
    size_t malformed_logs;    /* logs of the vault with these topics that do not decode */
    struct audit_event *events;
    size_t events_len, events_cap;
    struct audit_batch *batches; /* sorted by batch_key */
    size_t batches_len;
    struct audit_claim *claims; /* sorted by (batch_key, account) */
    size_t claims_len;
    struct audit_funds *funds; /* sorted by creator_key */
    size_t funds_len;
    bool progress; /* stderr is a terminal: show progress there */
};

/* Scans the vault's logs from from_block to the head (see the top) and folds
 * them. False with `e` when the node fails, a limit is passed or memory runs
 * out; the chain may then hold part of the logs (release it). */
WUR bool audit_chain_scan(struct audit_chain *c, struct rpc_client *rpc,
                          const struct address *vault, uint64_t from_block, struct err *e);

/* Reads the batch views and, for the creator keys of the logs plus
 * extra_keys[0..extra_len) (e.g. the audited creators'), receivedOf and
 * unallocatedOf at block B, filling `funds`. False with `e` when the node
 * fails or answers something other than one word. */
WUR bool audit_chain_read_views(struct audit_chain *c, struct rpc_client *rpc,
                                const uint8_t (*extra_keys)[AUDIT_KEY_BYTES], size_t extra_len,
                                struct err *e);

/* claimed(batchKey, accounts[i]) at block B into out[i], i < n. */
WUR bool audit_chain_claimed(bool *out, struct rpc_client *rpc, const struct audit_chain *c,
                             const uint8_t batch_key[AUDIT_KEY_BYTES],
                             const struct address *accounts, size_t n, struct err *e);

/* The batch with this key, or NULL. */
struct audit_batch *audit_chain_batch(const struct audit_chain *c,
                                      const uint8_t batch_key[AUDIT_KEY_BYTES]);

/* The funds of this creator key, or NULL (not read). */
const struct audit_funds *audit_chain_funds(const struct audit_chain *c,
                                            const uint8_t creator_key[AUDIT_KEY_BYTES]);

/* The claim of `account` in batch b, or NULL. */
const struct audit_claim *audit_chain_claim_of(const struct audit_chain *c,
                                               const struct audit_batch *b,
                                               const struct address *account);

/* The latest block's number and timestamp. */
WUR bool audit_chain_latest(uint64_t *number, uint64_t *timestamp, struct rpc_client *rpc,
                            struct err *e);

/* Sends vault.cancelSettlement(batchKey) signed by `key` (txsend_send; the
 * caller releases `out`). */
WUR enum txsend_result audit_chain_cancel(struct txsend_outcome *out, struct rpc_client *rpc,
                                          uint64_t chain_id, const struct sig_private_key *key,
                                          uint64_t max_fee_per_gas_wei, const struct address *vault,
                                          const uint8_t batch_key[AUDIT_KEY_BYTES], struct err *e);

void audit_chain_release(struct audit_chain *c);

#endif
