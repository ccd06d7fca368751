/*
 * indexer.h - the settlement service's revenue indexer: follows the vault's
 * RevenueReceived and Tipped logs (follow.h), records every event as
 * pending, and posts it to the double-entry ledger (ledger.h) once it has
 * CONFIRMATIONS blocks on top, split by the creator's split version in
 * force at the event's block (split.h). Tables: migrations/0004_indexer.sql
 * (revenue_events, indexer_cursor, indexer_blocks); docs/architecture.md,
 * "Invariants": Reorgs, Ledger, Splits.
 *
 * Events (topic 0 of each, docs/architecture.md "Contracts"):
 *   RevenueReceived(bytes32 indexed creatorKey, address indexed source,
 *                   uint8 kind, address payer, uint256 amount)
 *   Tipped(bytes32 indexed creatorKey, bytes32 indexed streamKey,
 *          address indexed from, uint256 amount)
 * A log of the vault with either topic 0 that does not decode exactly
 * (topic count, data length, a non-zero pad, a zero amount) is a bad
 * answer: the poll fails with INDEXER_ERR_BAD_LOG and nothing of it is
 * stored (the vault never emits one).
 *
 * Attribution (decided when the event is first seen, from the tables of
 * 0002): a RevenueReceived counts for the creator only when `source` is a
 * pass contract registered to that creator (passes.creator_id); a Tipped
 * only when its streamKey is one of that creator's streams. Anything else
 * is 'unattributed': posted as debit vault, credit unattributed, never to a
 * payee. An attributed event whose creator has no split version effective
 * at its block (split_versions.effective_from_block <= block, the highest)
 * is posted as unattributed too (split_version NULL, a warning logged).
 *
 * One indexer_poll():
 *   BEGIN; follow_poll() with confirmations 0 (to the head): each log is
 *   inserted as a pending revenue_events row (idempotent: one live row per
 *   (chain_id, tx_hash, log_index)); a reorg marks the pending rows of the
 *   orphaned blocks 'orphaned'. Then every pending event with
 *   block <= min(cursor, head - CONFIRMATIONS) is posted: one ledger entry
 *   per event, debit 'vault' the amount, credit 'payee:<addr>' each
 *   non-zero split_compute() part (or 'unattributed'), keyed by the event
 *   so that a replay writes nothing, and marked confirmed. The cursor (the
 *   next block, confirmed_through, the follower's recent blocks) is written
 *   last; COMMIT. Any failure rolls the whole transaction back and the
 *   follower is resumed from the stored cursor, so the next poll redoes the
 *   same work: the database never holds half a poll.
 *
 * Reorgs: within the window (blocks above confirmed_through) the pending
 * events are rolled back as above. A reorg that reaches a block at or below
 * confirmed_through (whose events may be posted), or one deeper than the
 * follower's window, halts the indexer: INDEXER_ERR_DEEP_REORG, an error
 * log line, indexer_halted() true, and every later poll answers the same
 * without touching the chain or the database. Never a silent divergence.
 *
 * Leadership: indexer_init() takes pg_try_advisory_lock(cfg.lock_key) on
 * the session; when another session holds it the answer is
 * INDEXER_ERR_NOT_LEADER and nothing else happens. The lock lives as long
 * as the session (indexer_release() unlocks it).
 *
 * Ownership: `struct indexer` is caller-allocated; it borrows the
 * PostgreSQL session (used by nobody else while the indexer lives, and in
 * no transaction between calls) and the rpc client, which must outlive it.
 * It holds no heap memory between calls. Not thread-safe: one thread.
 *
 * Limits: confirmations 0..INDEXER_CONFIRMATIONS_MAX (below the
 * follower's window, so every confirmable block is still remembered),
 * INDEXER_POST_BATCH_MAX events posted per statement batch,
 * blocks_per_poll_max/logs_per_poll_max as follow.h.
 */
#ifndef SETTLEMENT_INDEXER_H
#define SETTLEMENT_INDEXER_H

#include <stdbool.h>
#include <stdint.h>

#include "address.h"
#include "check.h"
#include "err.h"
#include "follow.h"
#include "log.h"
#include "pg.h"
#include "rpc.h"

#define INDEXER_CONFIRMATIONS_MAX 100 /* < FOLLOW_WINDOW_MAX */
#define INDEXER_POST_BATCH_MAX 500
#define INDEXER_LOCK_KEY_DEFAULT 7302000001LL
#define INDEXER_NAME_BYTES_MAX 32
#define INDEXER_REVENUE_RECEIVED_SIG "RevenueReceived(bytes32,address,uint8,address,uint256)"
#define INDEXER_TIPPED_SIG "Tipped(bytes32,bytes32,address,uint256)"

/* Stable result codes; numbers are never reused. */
enum indexer_result {
    INDEXER_OK = 0,
    INDEXER_ERR_BAD_INPUT = 1,  /* config out of range, or the stored cursor is another chain */
    INDEXER_ERR_DB = 2,         /* a statement or COMMIT failed (rolled back; retry the poll) */
    INDEXER_ERR_RPC = 3,        /* the node failed (rolled back; retry the poll) */
    INDEXER_ERR_NOT_LEADER = 4, /* another session holds the advisory lock */
    INDEXER_ERR_DEEP_REORG = 5, /* halted: a reorg reached posted blocks or beyond the window */
    INDEXER_ERR_BAD_LOG = 6,    /* a vault log that does not decode (rolled back) */
    INDEXER_ERR_CORRUPT = 7     /* a stored row does not parse */
};

struct indexer_config {
    const char *name;       /* cursor name, ^[a-z_]{1,32}$ */
    uint64_t chain_id;      /* 1..INT64_MAX */
    struct address vault;   /* the SettlementVault */
    uint64_t start_block;   /* first block when no cursor is stored */
    uint32_t confirmations; /* CONFIRMATIONS, 0..INDEXER_CONFIRMATIONS_MAX */
    uint32_t range_max;     /* blocks per eth_getLogs, 1..FOLLOW_RANGE_MAX */
    uint32_t blocks_per_poll_max;
    uint32_t logs_per_poll_max;
    long long lock_key;       /* pg_try_advisory_lock key */
    const struct logger *log; /* borrowed; may be NULL (no logging) */
};

/* What one poll did. */
struct indexer_poll_report {
    uint64_t head;
    uint64_t events_seen;      /* logs recorded as pending (new rows) */
    uint64_t events_confirmed; /* pending rows posted and marked confirmed */
    uint64_t entries_posted;   /* ledger entries written */
    uint64_t entries_replayed; /* already in the ledger: nothing written */
    uint64_t events_orphaned;  /* pending rows marked orphaned by reorgs */
    uint32_t reorgs;
    bool caught_up; /* the follower reached the head */
};

/* Private fields: use the functions. */
struct indexer {
    struct indexer_config cfg;
    char name[INDEXER_NAME_BYTES_MAX + 1];
    struct pg_session *pc;  /* borrowed */
    struct rpc_client *rpc; /* borrowed */
    struct follow follow;
    bool locked;
    bool halted;
    struct err halt_err;
    bool has_confirmed;
    uint64_t confirmed_through;
    /* per poll, for the callbacks */
    struct indexer_poll_report *rep;
    enum indexer_result cb_result;
    struct err cb_err;
};

/* Defaults: confirmations 6, range FOLLOW_RANGE_DEFAULT, the follower's
 * per-poll defaults, lock key INDEXER_LOCK_KEY_DEFAULT, name "indexer",
 * no logger. The caller sets chain_id and vault. */
void indexer_config_default(struct indexer_config *cfg);

/* Checks cfg, takes the leader lock on pc, creates or loads the cursor
 * (a stored cursor for another chain or vault is INDEXER_ERR_BAD_INPUT) and
 * resumes the follower from it. Returns INDEXER_OK, INDEXER_ERR_BAD_INPUT,
 * INDEXER_ERR_NOT_LEADER (lock held elsewhere; nothing changed),
 * INDEXER_ERR_DB or INDEXER_ERR_CORRUPT. On failure the lock is not held
 * and nothing needs releasing. */
WUR enum indexer_result indexer_init(struct indexer *ix, struct pg_session *pc,
                                     struct rpc_client *rpc, const struct indexer_config *cfg,
                                     struct err *e);

/* Releases the leader lock (when the session is still up). Idempotent. */
void indexer_release(struct indexer *ix);

/* One poll as described at the top. *report (may be NULL) is filled on
 * INDEXER_OK; on an error nothing of the poll is stored. */
WUR enum indexer_result indexer_poll(struct indexer *ix, struct indexer_poll_report *report,
                                     struct err *e);

/* True after a deep reorg; every later poll answers INDEXER_ERR_DEEP_REORG. */
bool indexer_halted(const struct indexer *ix);

#endif
