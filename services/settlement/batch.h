/*
 * batch.h - settlement batches: a creator's confirmed unsettled balances
 * become one batch of Merkle leaves (payee, amount_wei), anchored on chain
 * with vault.settle(batchKey, creatorKey, root, total) through the
 * transaction manager (txmgr.h), and followed to their end by a job.
 * Tables: migrations/0009_batches.sql (settlements, settlement_leaves,
 * settlement_event_cursor); docs/architecture.md "Settlement batches".
 *
 * batch_create(), in the CALLER's open transaction (the API's st_write, so
 * that an Idempotency-Key commits with the batch):
 *   1. locks the creator's row (SELECT ... FOR UPDATE): batches of one
 *      creator are made one at a time; a second request waits and then
 *      finds nothing left to settle;
 *   2. reads every payee's unsettled balance (ledger_payee_balances(): the
 *      ledger holds confirmed revenue only) and keeps those above zero;
 *   3. builds the StandardMerkleTree of the leaves (merkle.h, types
 *      ["address","uint256"]) and its root;
 *   4. submits settle(batchKey, creatorKey, root, total) with purpose
 *      "settle:<id>" (txmgr_submit: signed and stored, not broadcast);
 *      when that fails (the estimate reverts, the node fails) nothing has
 *      been written by this call;
 *   5. inserts the batch (tx_hash: the first attempt's) and its leaves and
 *      posts one SETTLEMENT ledger entry per leaf (debit payee:<addr>,
 *      credit settled:<addr>).
 * Either all of it commits or none. batchKey = keccak256(bytes(id)).
 *
 * batch_job_tick(), by the service's worker (outside any transaction):
 * each open batch (pending, submitted, anchored, claimable; oldest first,
 * at most BATCH_JOB_ROWS_MAX) is advanced in a transaction of its own that
 * holds its row (FOR UPDATE SKIP LOCKED: concurrent workers share the
 * batches), from the transaction manager's row and the vault's CONFIRMED
 * logs in chain_events (the indexer's table):
 *   - Claimed(batchKey, account, amount): the leaf is marked claimed;
 *   - SettlementCancelled: every leaf is reversed (one REVERSAL ledger
 *     entry per leaf's SETTLEMENT entry); status cancelled;
 *   - SettlementReclaimed: the unclaimed leaves are reversed (their sum must
 *     equal the log's amount, else the batch is left as it is and an error
 *     logged); status reclaimed;
 *   - the settle transaction reverted: every leaf reversed; status failed;
 *   - SettlementAnchored (root and total must be the batch's): status
 *     anchored, or claimable when the latest block's time is at or past its
 *     claimableAt; tx_hash, block_number and claimable_at recorded;
 *   - otherwise the transaction manager's state: signed = pending,
 *     broadcast or mined = submitted.
 * Reversed amounts are unsettled again, so the next batch includes them.
 * Then, when the vault has a claim window (claimWindow() > 0, read once and
 * kept), every anchored or claimable batch whose window has closed by the
 * latest block's time gets reclaim(batchKey) submitted with purpose
 * "reclaim:<id>" (a purpose is UNIQUE: submitted once).
 *
 * Ownership: the caller owns the sessions, the rpc clients, the transaction
 * manager and every output array. `struct batch_job` is caller-allocated and
 * holds no heap memory; one per worker thread.
 *
 * Limits: BATCH_LEAVES_MAX leaves per batch (payees of one creator, all
 * split versions together), BATCH_JOB_ROWS_MAX batches per tick.
 */
#ifndef SETTLEMENT_BATCH_H
#define SETTLEMENT_BATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "address.h"
#include "check.h"
#include "err.h"
#include "ids.h"
#include "log.h"
#include "merkle.h"
#include "pg.h"
#include "rpc.h"
#include "txmgr.h"
#include "u256.h"

#define BATCH_LEAVES_MAX 10000 /* = LEDGER_BATCH_ENTRIES_MAX: one entry per leaf */
#define BATCH_JOB_ROWS_MAX 64
#define BATCH_KEY_BYTES 32
#define BATCH_SETTLE_SIG "settle(bytes32,bytes32,bytes32,uint256)"
#define BATCH_RECLAIM_SIG "reclaim(bytes32)"
#define BATCH_PURPOSE_SIZE (8 + IDS_UUID_SIZE) /* "reclaim:" + uuid + NUL */

/* Stable result codes; numbers are never reused. */
enum batch_result {
    BATCH_OK = 0,
    BATCH_ERR_BAD_INPUT = 1,     /* an argument out of range (e says which) */
    BATCH_ERR_DB = 2,            /* a statement failed (e->code: its enum pg_code, except
                                    batch_create: out->pg) */
    BATCH_ERR_NOT_FOUND = 3,     /* no such creator, settlement or leaf */
    BATCH_ERR_FORBIDDEN = 4,     /* the caller does not own the creator */
    BATCH_ERR_NOTHING = 5,       /* no payee has an unsettled balance */
    BATCH_ERR_TOO_MANY = 6,      /* more than BATCH_LEAVES_MAX payees */
    BATCH_ERR_VAULT_REFUSES = 7, /* settle would revert (e.g. unallocated below the total) */
    BATCH_ERR_RPC = 8,           /* the node failed */
    BATCH_ERR_TX = 9,            /* the transaction manager failed otherwise (fee cap, signing) */
    BATCH_ERR_CORRUPT = 10       /* a stored row does not parse */
};

enum batch_status {
    BATCH_PENDING = 0,
    BATCH_SUBMITTED = 1,
    BATCH_ANCHORED = 2,
    BATCH_CLAIMABLE = 3,
    BATCH_CANCELLED = 4,
    BATCH_RECLAIMED = 5,
    BATCH_FAILED = 6
};
#define BATCH_STATUS_COUNT 7

struct batch_leaf {
    struct address payee;
    struct u256 amount_wei; /* > 0 */
    bool claimed;
};

/* One settlements row. */
struct batch_info {
    char id[IDS_UUID_SIZE];
    char creator_id[IDS_UUID_SIZE];
    int64_t seq; /* orders a creator's batches */
    uint8_t creator_key[BATCH_KEY_BYTES];
    uint8_t batch_key[BATCH_KEY_BYTES];
    uint8_t merkle_root[MERKLE_HASH_BYTES];
    struct u256 total_wei;
    size_t leaf_count;
    enum batch_status status;
    bool has_tx_hash;
    uint8_t tx_hash[32];
    bool has_block; /* anchored (and after), failed: the settle transaction's block */
    uint64_t block_number;
    bool has_claimable_at; /* anchored (and after) */
    uint64_t claimable_at; /* unix seconds, the vault's claimableAt(batchKey) */
    bool has_reclaimed;    /* status reclaimed */
    struct u256 reclaimed_wei;
};

struct batch_create_request {
    const char *creator_id;       /* lowercase UUID */
    const struct address *caller; /* must own the creator */
    const struct address *vault;
};

struct batch_created {
    char id[IDS_UUID_SIZE];
    uint8_t batch_key[BATCH_KEY_BYTES];
    uint8_t merkle_root[MERKLE_HASH_BYTES];
    struct u256 total_wei;
    size_t leaf_count;
    enum pg_code pg; /* BATCH_ERR_DB: the failed statement's code (SERIALIZATION: retry) */
};

struct batch_job_config {
    uint64_t chain_id;        /* chain_events rows of this chain only */
    struct address vault;     /* logs of this contract only; reclaim's target */
    const struct logger *log; /* borrowed; may be NULL */
};

/* Private fields: use the functions. */
struct batch_job {
    struct batch_job_config cfg;
    struct txmgr *tm; /* borrowed */
    bool window_known;
    uint64_t claim_window_s;
};

struct batch_job_report {
    uint32_t advanced;  /* batches whose status changed */
    uint32_t claims;    /* leaves newly marked claimed */
    uint32_t reversals; /* REVERSAL entries posted */
    uint32_t reclaims;  /* reclaim transactions submitted */
    uint32_t skipped;   /* batches left for the next tick (locked elsewhere, an error) */
};

/* "pending", "submitted", ... (the API's names). */
const char *batch_status_name(enum batch_status s);

/* Parses a status name; false when unknown. */
bool batch_status_parse(enum batch_status *out, const char *name);

/* out = the settlement leaf hash of (payee, amount) (merkle_leaf_settlement). */
void batch_leaf_hash(uint8_t out[MERKLE_HASH_BYTES], const struct batch_leaf *l);

/* Builds the tree of leaves[0..n) into *t (released by the caller with
 * merkle_tree_release()) and its root. Returns BATCH_OK, or
 * BATCH_ERR_BAD_INPUT (no leaf, too many, or two leaves alike; e says
 * which). */
WUR enum batch_result batch_tree_build(struct merkle_tree *t, uint8_t root[MERKLE_HASH_BYTES],
                                       const struct batch_leaf *leaves, size_t n, struct err *e);

/* Creates a batch as described at the top; `pc` must be inside an open
 * transaction (READ COMMITTED), `rpc` and `tm` serve the settle
 * submission. Fills *out on BATCH_OK. Errors BATCH_ERR_BAD_INPUT,
 * NOT_FOUND (creator), FORBIDDEN, NOTHING, TOO_MANY, VAULT_REFUSES (e has
 * the revert), RPC and TX leave nothing written by this call (the
 * transaction may commit); CORRUPT and DB (out->pg: the failed
 * statement's code, PG_ERR_SERIALIZATION: retry) need a rollback. */
WUR enum batch_result batch_create(struct batch_created *out, struct pg_session *pc,
                                   struct rpc_client *rpc, struct txmgr *tm,
                                   const struct batch_create_request *req, struct err *e);

/* The batch `id` (a lowercase UUID). BATCH_OK, NOT_FOUND, CORRUPT or DB. */
WUR enum batch_result batch_get(struct batch_info *out, struct pg_session *pc, const char *id,
                                struct err *e);

/* The leaves of batch `id`, ordered by payee, into out[0..cap); *len the
 * count. BATCH_OK (0 leaves: no such batch), TOO_MANY (more than cap),
 * CORRUPT or DB. */
WUR enum batch_result batch_leaves(struct batch_leaf *out, size_t cap, size_t *len,
                                   struct pg_session *pc, const char *id, struct err *e);

/* The batches of creator `creator_id`, newest first, with seq below
 * `before_seq` (0: from the newest), at most `cap`; *len the count and
 * *more whether older ones exist. BATCH_OK, CORRUPT or DB. */
WUR enum batch_result batch_list(struct batch_info *out, size_t cap, size_t *len, bool *more,
                                 struct pg_session *pc, const char *creator_id, int64_t before_seq,
                                 struct err *e);

/* The proof of `payee` in `batch` (as batch_get() read it): its amount,
 * the proof (siblings from the leaf up, as OZ getProof) in
 * proof[0..*proof_len) (MERKLE_PROOF_MAX entries suffice) and the root
 * rebuilt from the stored leaves, which equals the stored merkle_root unless
 * the rows were altered (the caller compares). BATCH_OK, NOT_FOUND (no leaf
 * of that payee), TOO_MANY (more leaves than batch->leaf_count), CORRUPT or
 * DB. */
WUR enum batch_result batch_proof(struct u256 *amount_wei, uint8_t (*proof)[MERKLE_HASH_BYTES],
                                  size_t *proof_len, uint8_t root[MERKLE_HASH_BYTES],
                                  struct pg_session *pc, const struct batch_info *batch,
                                  const struct address *payee, struct err *e);

/* Prepares the job (no I/O). `tm` (the operator's transaction manager)
 * must outlive it. */
void batch_job_init(struct batch_job *j, const struct batch_job_config *cfg, struct txmgr *tm);

/* One round of the job (see the top); `pc` must not be in a transaction.
 * Errors of one batch are logged and leave it for the next tick (counted
 * as skipped). Returns BATCH_OK, or DB / RPC when the round could not
 * start (listing the batches, the latest block). */
WUR enum batch_result batch_job_tick(struct batch_job_report *report, struct batch_job *j,
                                     struct pg_session *pc, struct rpc_client *rpc, struct err *e);

#endif
