/*
 * indexer.h - the settlement service's chain indexer: follows every log of
 * the SettlementVault and of every registered RightsPass (table passes)
 * with follow.h, records each one decoded in chain_events, records the
 * vault's RevenueReceived and Tipped as revenue events, and posts revenue
 * to the double-entry ledger (ledger.h) once it has CONFIRMATIONS blocks
 * on top, split by the creator's split version in force at the event's
 * block (split.h). Tables: migrations/0004_indexer.sql (revenue_events,
 * indexer_cursor, indexer_blocks), 0007_chain_events.sql (chain_events,
 * indexer_contracts, passes.deploy_block); docs/architecture.md,
 * "Invariants": Reorgs, Ledger, Splits.
 *
 * Events. Every event of both contracts' ABIs (the artifacts in contracts-abi/) is
 * decoded by one table (indexer_event_info() lists it; the test compares it
 * with the artifacts): the vault's Tipped, RevenueReceived,
 * SettlementAnchored, SettlementCancelled, SettlementReclaimed, Claimed,
 * RecordingAnchored and the role/admin events of AccessControl
 * (RoleGranted, RoleRevoked, RoleAdminChanged, DefaultAdmin*); a pass's
 * Transfer, Approval, ApprovalForAll, OwnershipTransferred, PassPurchased,
 * RoyaltyHeld. A log whose topic 0 is one of its contract's events but
 * that does not decode exactly (topic count, data length, a non-zero pad
 * of an address/uint8/uint48/uint64/bool word, a zero Tipped/RevenueReceived
 * amount) is a bad answer: the poll fails with INDEXER_ERR_BAD_LOG and
 * nothing of it is stored (our contracts never emit one). A log whose
 * topic 0 is none of its contract's events is kept as event 'Unknown' with
 * its raw topics and data.
 *
 * chain_events rows (what part 2 reads): (chain_id, tx_hash, log_index,
 * block_number, block_hash, contract, event, args, status). args holds the
 * ABI parameters by their ABI names: addresses "0x" + 40 lowercase hex
 * digits, unsigned integers (uint8 included) decimal strings, bytes32 "0x" +
 * 64 lowercase hex digits, bool true/false. E.g. SettlementAnchored:
 *   {"batchKey":"0x..","creatorKey":"0x..","root":"0x..","total":"123",
 *    "claimableAt":"1700000000"}
 * status 'pending' -> 'confirmed' (final) or 'orphaned' (a reorg replaced
 * its block before it was confirmed); nothing else ever changes a row.
 *
 * Reading confirmed events (part 2: batches, anchors, audit). A row with
 * status 'confirmed' is final. Every vault log of a block at or below
 * indexer_cursor.confirmed_through (indexer_read_progress()) is confirmed
 * in the same transaction that raises confirmed_through, so a consumer that
 * remembers the last block it processed reads, in block order:
 *   SELECT tx_hash, log_index, block_number, args FROM chain_events
 *    WHERE chain_id = $1 AND contract = $vault AND status = 'confirmed'
 *      AND event IN ('SettlementAnchored', 'SettlementCancelled',
 *                    'SettlementReclaimed', 'Claimed', 'RecordingAnchored')
 *      AND block_number > $last_processed
 *    ORDER BY block_number, log_index;
 * (e.g. args->>'batchKey', (args->>'total')::numeric). Never read pending
 * rows as facts. Pass logs can appear later at old blocks (a pass
 * registered after its deployment is backfilled, below); vault logs never.
 *
 * Attribution: a RevenueReceived counts for the creator only when `source`
 * is a pass contract registered to that creator (passes.creator_id); a
 * Tipped only when its streamKey is one of that creator's streams. It is
 * decided when the event is first seen and checked again, for pending
 * events still 'unattributed', just before they are posted: a pass or
 * stream registered before the event is confirmed counts. Once posted it is
 * final (the journal is append-only and keyed by the event). Anything else
 * is 'unattributed': posted as debit vault, credit unattributed, never to a
 * payee. An attributed event whose creator has no split version effective
 * at its block is posted as unattributed too (split_version NULL, a
 * warning logged).
 *
 * Pass contracts. Each poll first adds the passes rows not yet followed
 * (indexer_contracts, at most FOLLOW_ADDRESSES_MAX - 1 contracts) to the
 * follower (follow_add_address): their logs come with the vault's from the
 * follower's next block on (followed_from). The logs of earlier blocks,
 * from passes.deploy_block (or the indexer's start block when NULL) to
 * followed_from - 1, are fetched separately after the follower's walk
 * ("backfill": eth_getLogs for that address, at most
 * INDEXER_BACKFILL_BLOCKS_PER_POLL blocks per poll, progress in
 * indexer_contracts.backfill_next) and recorded like any other log. A
 * backfilled log of a block the follower remembers must carry that block's
 * hash, else the backfill stops for this poll (the node's view moved; the
 * next poll resumes). Revenue is never backfilled: a pass sends every wei
 * to the vault, whose RevenueReceived the follower always sees.
 *
 * One indexer_poll(), all in one transaction:
 *   BEGIN; new passes followed (above); follow_poll() with confirmations 0
 *   (to the head): each log is decoded and buffered, then inserted in
 *   multi-row statements (INDEXER_INSERT_BATCH_MAX rows): chain_events,
 *   and for RevenueReceived/Tipped revenue_events, as pending (idempotent:
 *   one live row per (chain_id, tx_hash, log_index)); a reorg marks the
 *   pending rows of the orphaned blocks 'orphaned' in both tables. Then the
 *   backfill; then every pending revenue event with block <=
 *   min(cursor, head - CONFIRMATIONS) is posted: one ledger entry per
 *   event, debit 'vault' the amount, credit 'payee:<addr>' each non-zero
 *   split_compute() part (or 'unattributed'), keyed by the event so that a
 *   replay writes nothing, and marked confirmed; the pending chain_events
 *   up to the same block are marked confirmed. The cursor (the next block,
 *   confirmed_through, the follower's recent blocks) is written last;
 *   COMMIT. Any failure rolls the whole transaction back and the follower
 *   is resumed from the stored cursor (and indexer_contracts), so the next
 *   poll redoes the same work: the database never holds half a poll.
 *
 * Reorgs: within the window (blocks above confirmed_through) the pending
 * rows are rolled back as above. A reorg that reaches a block at or below
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
 * INDEXER_INSERT_BATCH_MAX rows per insert, FOLLOW_ADDRESSES_MAX - 1 pass
 * contracts (more are logged and not followed),
 * INDEXER_BACKFILL_BLOCKS_PER_POLL backfilled blocks per poll,
 * blocks_per_poll_max/logs_per_poll_max as follow.h.
 */
#ifndef SETTLEMENT_INDEXER_H
#define SETTLEMENT_INDEXER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "address.h"
#include "check.h"
#include "err.h"
#include "follow.h"
#include "log.h"
#include "pg.h"
#include "rpc.h"

#define INDEXER_CONFIRMATIONS_MAX 100 /* < FOLLOW_WINDOW_MAX */
#define INDEXER_POST_BATCH_MAX 500
#define INDEXER_INSERT_BATCH_MAX 500
#define INDEXER_BACKFILL_BLOCKS_PER_POLL 20000
#define INDEXER_LOCK_KEY_DEFAULT 7302000001LL
#define INDEXER_NAME_BYTES_MAX 32
#define INDEXER_NAME_DEFAULT "indexer" /* the service's cursor name */
#define INDEXER_EVENTS_COUNT 20
#define INDEXER_EVENT_PARAMS_MAX 5
#define INDEXER_SIGNATURE_BYTES_MAX 96
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
    INDEXER_ERR_BAD_LOG = 6,    /* a log of a known event that does not decode (rolled back) */
    INDEXER_ERR_CORRUPT = 7     /* a stored row does not parse */
};

enum indexer_contract { INDEXER_CONTRACT_VAULT = 0, INDEXER_CONTRACT_PASS = 1 };

struct indexer_config {
    const char *name;       /* cursor name, ^[a-z_]{1,32}$ */
    uint64_t chain_id;      /* 1..INT64_MAX */
    struct address vault;   /* the SettlementVault */
    uint64_t start_block;   /* first block when no cursor is stored; backfill floor */
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
    uint64_t events_seen;            /* revenue logs recorded as pending (new rows) */
    uint64_t events_confirmed;       /* pending revenue rows posted and marked confirmed */
    uint64_t entries_posted;         /* ledger entries written */
    uint64_t entries_replayed;       /* already in the ledger: nothing written */
    uint64_t events_orphaned;        /* pending revenue rows marked orphaned by reorgs */
    uint64_t chain_events_seen;      /* chain_events rows inserted (backfill included) */
    uint64_t chain_events_confirmed; /* chain_events rows marked confirmed */
    uint64_t chain_events_orphaned;  /* chain_events rows marked orphaned */
    uint64_t events_reattributed;    /* pending revenue turned 'creator' before posting */
    uint32_t contracts_added;        /* pass contracts followed from this poll on */
    uint64_t backfilled_logs;        /* logs fetched by the backfill */
    uint32_t reorgs;
    bool caught_up; /* the follower reached the head (and the backfill is done) */
};

/* Where an indexer stands (indexer_progress, indexer_read_progress). */
struct indexer_progress {
    bool has_indexed;
    uint64_t indexed_block; /* the last block delivered (all its logs recorded) */
    bool has_confirmed;
    uint64_t confirmed_through; /* the highest block whose events are final */
};

/* One event of the decoding table (indexer_event_info). */
struct indexer_event_info {
    enum indexer_contract contract;
    const char *name;                                /* "SettlementAnchored" */
    char signature[INDEXER_SIGNATURE_BYTES_MAX + 1]; /* "SettlementAnchored(bytes32,...)" */
    size_t params_len;
    const char *param_names[INDEXER_EVENT_PARAMS_MAX];
    bool param_indexed[INDEXER_EVENT_PARAMS_MAX];
};

/* A decoded log (indexer_decode_log). */
struct indexer_decoded {
    const char *name; /* static: the event's name, or "Unknown" */
    bool known;
    json_t *args; /* owned: json_decref() */
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
    uint8_t topics[INDEXER_EVENTS_COUNT][32];
    size_t contracts_len;       /* pass contracts followed */
    bool contracts_full_logged; /* the "too many passes" error was logged */
    /* per poll, for the callbacks */
    struct indexer_poll_report *rep;
    json_t *rows_chain, *rows_revenue; /* buffered inserts, NULL between polls */
    enum indexer_result cb_result;
    struct err cb_err;
};

/* Defaults: confirmations 6, range FOLLOW_RANGE_DEFAULT, the follower's
 * per-poll defaults, lock key INDEXER_LOCK_KEY_DEFAULT, name
 * INDEXER_NAME_DEFAULT,
 * no logger. The caller sets chain_id and vault. */
void indexer_config_default(struct indexer_config *cfg);

/* Checks cfg, takes the leader lock on pc, creates or loads the cursor
 * (a stored cursor for another chain or vault is INDEXER_ERR_BAD_INPUT) and
 * resumes the follower from it with the vault and the followed passes.
 * Returns INDEXER_OK, INDEXER_ERR_BAD_INPUT, INDEXER_ERR_NOT_LEADER (lock
 * held elsewhere; nothing changed), INDEXER_ERR_DB or INDEXER_ERR_CORRUPT.
 * On failure the lock is not held and nothing needs releasing. */
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

/* What this indexer has committed (its last successful poll or init). */
void indexer_progress(struct indexer_progress *out, const struct indexer *ix);

/* The stored progress of the indexer `name` for `chain_id` and `vault`
 * (any session, e.g. GET /v1/chain of a process that does not lead). No
 * cursor (or one of another chain or vault): INDEXER_OK with nothing set.
 * INDEXER_ERR_DB or INDEXER_ERR_CORRUPT otherwise. */
WUR enum indexer_result indexer_read_progress(struct indexer_progress *out, struct pg_session *pc,
                                              const char *name, uint64_t chain_id,
                                              const struct address *vault, struct err *e);

/* The decoding table: i in 0..INDEXER_EVENTS_COUNT-1 fills *out. */
void indexer_event_info(struct indexer_event_info *out, size_t i);

/* Pure: decodes `log` as an event of a `contract` kind (see "Events").
 * INDEXER_OK with out->args set (Unknown for a foreign topic 0), or
 * INDEXER_ERR_BAD_LOG (nothing to free). */
WUR enum indexer_result indexer_decode_log(struct indexer_decoded *out,
                                           enum indexer_contract contract,
                                           const struct follow_log *log, struct err *e);

#endif
