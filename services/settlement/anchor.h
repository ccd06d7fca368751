/*
 * anchor.h - recording anchors: every recording the gateway ended gets its
 * Merkle root anchored on chain with vault.anchorRecording(streamKey, root,
 * segmentCount) through the transaction manager (txmgr.h), and an evidence
 * package that lets anyone verify it without trusting this service.
 * Tables: recordings and segments (migrations/0002_gateway.sql, written by
 * the gateway), recording_anchors (migrations/0008_anchor.sql);
 * docs/architecture.md "Recording anchors".
 *
 * The recording tree: one leaf per segments row, the values (rendition
 * index in master-playlist order from 0, media sequence, sha256 of the
 * segment's bytes) of types ["uint256","uint256","bytes32"], hashed and
 * built exactly as OpenZeppelin StandardMerkleTree (merkle.h).
 * streamKey = keccak256(bytes(stream id)).
 *
 * anchor_job_tick(), by the service's worker (outside any transaction):
 *   1. submit: each recording with status 'ended', at least one segment and
 *      no recording_anchors row (oldest end first, at most
 *      ANCHOR_JOB_ROWS_MAX) gets a transaction of its own that locks its
 *      recordings row (FOR UPDATE SKIP LOCKED: concurrent workers share the
 *      recordings, and the gateway cannot add a segment meanwhile; 0008's
 *      trigger refuses segments once a recording is not 'recording'),
 *      builds the tree of its segments, inserts the recording_anchors row
 *      (status submitted; ON CONFLICT DO NOTHING: a row that exists means
 *      another worker won) and submits anchorRecording(streamKey, root,
 *      count) with purpose "anchor:<stream id>" (txmgr_submit: signed and
 *      stored, broadcast by txmgr_tick). Both commit or neither. The
 *      primary key and the UNIQUE purpose make it one anchor per recording,
 *      whatever retries, crashes or concurrent processes do; every attempt
 *      of the transaction shares one nonce, so at most one is ever mined.
 *      Before submitting, the vault's recordingRoot(streamKey) is read: a
 *      non-zero root there (anchored outside this service, e.g. with a
 *      stolen operator key) makes the row 'failed' at once, with nothing
 *      sent. A submission the node says would revert otherwise (e.g. the
 *      key lacks OPERATOR_ROLE) is rolled back, logged and tried again at
 *      the next tick.
 *   2. confirm: each 'submitted' row whose transaction the manager reports
 *      CONFIRMED is checked against the chain (the block of the receipt
 *      still has the receipt's hash; recordingRoot(streamKey) is the root)
 *      and then, in one transaction, the row becomes 'anchored' with
 *      tx_hash, block_number, block_hash and block_timestamp, and the
 *      recording gets status 'anchored', merkle_root, anchor_tx_hash and
 *      anchor_block. REVERTED makes the row 'failed' (final; the recording
 *      stays 'ended'; an error is logged). Other states wait.
 * A recording without segments has nothing to anchor (the vault refuses a
 * zero count): it stays 'ended'. One with more than ANCHOR_SEGMENTS_MAX
 * segments is not anchored (an error is logged at each tick).
 *
 * Evidence (anchor_evidence(), GET /v1/recordings/{id}/evidence): served
 * once the anchor is confirmed, rebuilt from the stored segments (and
 * refused as ANCHOR_ERR_CORRUPT when they no longer give the anchored root
 * and count), as one JSON object:
 *   {chain_id, vault (EIP-55), stream_id, stream_key, root, tx_hash,
 *    block_number, block_timestamp (unix seconds), renditions:[names in
 *    master order], leaf_types:["uint256","uint256","bytes32"],
 *    leaves:[[rendition, sequence, "0x<sha256>"]] (numbers; ordered by
 *    rendition, then sequence), segments:[{rendition, sequence, name,
 *    bytes}] (the same order as leaves: the file of leaf i is
 *    <renditions[rendition]>/<name> under the stream's media directory),
 *    tree} where tree is OpenZeppelin's StandardMerkleTree dump
 *    ("standard-v1", values as decimal strings and 0x hex, in the order of
 *    leaves), so that StandardMerkleTree.load(evidence.tree) works as is.
 *
 * Ownership: the caller owns the sessions, the rpc clients, the transaction
 * manager, and every output (a buf is appended to, never reset). `struct
 * anchor_job` is caller-allocated, holds no heap memory, one per worker
 * thread.
 *
 * Limits: ANCHOR_SEGMENTS_MAX leaves per recording (= the column check in
 * 0008), ANCHOR_RENDITIONS_MAX renditions, ANCHOR_JOB_ROWS_MAX recordings
 * per tick and phase, ANCHOR_EVIDENCE_BYTES_MAX bytes of evidence.
 */
#ifndef SETTLEMENT_ANCHOR_H
#define SETTLEMENT_ANCHOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "address.h"
#include "buf.h"
#include "check.h"
#include "err.h"
#include "ids.h"
#include "log.h"
#include "merkle.h"
#include "pg.h"
#include "rpc.h"
#include "txmgr.h"

#define ANCHOR_SEGMENTS_MAX 100000
#define ANCHOR_RENDITIONS_MAX 32 /* = the gateway's STORE_RENDITIONS_MAX */
#define ANCHOR_RENDITION_BYTES_MAX 32
#define ANCHOR_JOB_ROWS_MAX 64
#define ANCHOR_EVIDENCE_BYTES_MAX ((size_t)64 << 20) /* ~460 bytes per leaf at the maximum */
#define ANCHOR_STATUS_BYTES_MAX 16
#define ANCHOR_FAILURE_BYTES_MAX 300
#define ANCHOR_CALL_SIG "anchorRecording(bytes32,bytes32,uint256)"
#define ANCHOR_ROOT_VIEW_SIG "recordingRoot(bytes32)"
#define ANCHOR_PURPOSE_PREFIX "anchor:"
#define ANCHOR_PURPOSE_SIZE (sizeof ANCHOR_PURPOSE_PREFIX - 1 + IDS_UUID_SIZE)

/* Stable result codes; numbers are never reused. */
enum anchor_result {
    ANCHOR_OK = 0,
    ANCHOR_ERR_BAD_INPUT = 1,    /* an argument out of range (e says which) */
    ANCHOR_ERR_DB = 2,           /* a statement failed */
    ANCHOR_ERR_NOT_FOUND = 3,    /* no such stream, or it has no recording */
    ANCHOR_ERR_NOT_ANCHORED = 4, /* evidence: the anchor is not confirmed (yet) */
    ANCHOR_ERR_TOO_MANY = 5,     /* more than ANCHOR_SEGMENTS_MAX segments */
    ANCHOR_ERR_CORRUPT = 6,      /* stored rows do not parse, or no longer give the root */
    ANCHOR_ERR_RPC = 7,          /* the node failed */
    ANCHOR_ERR_TX = 8,           /* the transaction manager failed */
    ANCHOR_ERR_TOO_BIG = 9,      /* the evidence is above ANCHOR_EVIDENCE_BYTES_MAX */
    ANCHOR_ERR_NOMEM = 10
};

/* One leaf of a recording tree. */
struct anchor_leaf {
    uint32_t rendition_index; /* in master-playlist order, < ANCHOR_RENDITIONS_MAX */
    uint64_t media_sequence;
    uint8_t sha256[32];
};

/* GET /v1/recordings/{stream_id}: the recording and its anchor. */
struct anchor_recording {
    char stream_id[IDS_UUID_SIZE];
    uint8_t stream_key[32];
    char status[ANCHOR_STATUS_BYTES_MAX];        /* recording | ended | anchored */
    uint64_t segment_count;                      /* segments recorded so far */
    char anchor_status[ANCHOR_STATUS_BYTES_MAX]; /* "" (none) | submitted | anchored | failed */
    bool has_root;                               /* an anchor row exists (any status) */
    uint8_t merkle_root[MERKLE_HASH_BYTES];
    bool has_tx; /* anchored: the confirmed transaction */
    uint8_t tx_hash[32];
    uint64_t block_number;
};

struct anchor_job_config {
    uint64_t chain_id;        /* CHAIN_ID: recorded with each anchor */
    struct address vault;     /* anchorRecording's target */
    const struct logger *log; /* borrowed; may be NULL */
};

/* Private fields: use the functions. */
struct anchor_job {
    struct anchor_job_config cfg;
    struct txmgr *tm; /* borrowed */
};

struct anchor_job_report {
    uint32_t submitted; /* anchors submitted (rows inserted) */
    uint32_t anchored;  /* anchors confirmed: recordings now 'anchored' */
    uint32_t failed;    /* anchors that became 'failed' */
    uint32_t skipped;   /* recordings or anchors left for the next tick (locked elsewhere, an
                           error) */
};

/* out = keccak256(keccak256(abi.encode(rendition, sequence, sha256))). */
void anchor_leaf_hash(uint8_t out[MERKLE_HASH_BYTES], const struct anchor_leaf *l);

/* Builds the tree of leaves[0..n) into *t (released by the caller with
 * merkle_tree_release()) and its root. ANCHOR_OK, or ANCHOR_ERR_BAD_INPUT
 * (no leaf, two alike, a rendition index out of range), ANCHOR_ERR_TOO_MANY
 * (n > ANCHOR_SEGMENTS_MAX) or ANCHOR_ERR_NOMEM; e says which. */
WUR enum anchor_result anchor_tree_build(struct merkle_tree *t, uint8_t root[MERKLE_HASH_BYTES],
                                         const struct anchor_leaf *leaves, size_t n, struct err *e);

/* The recording of stream `stream_id` (a lowercase UUID). ANCHOR_OK,
 * NOT_FOUND (no stream, or no recording yet), CORRUPT or DB. */
WUR enum anchor_result anchor_recording_get(struct anchor_recording *out, struct pg_session *pc,
                                            const char *stream_id, struct err *e);

/* Appends the evidence package of stream `stream_id` to `out` (see the
 * top; out's maximum should allow ANCHOR_EVIDENCE_BYTES_MAX). ANCHOR_OK,
 * NOT_FOUND (no stream or recording), NOT_ANCHORED (no confirmed anchor:
 * e says the recording's state), CORRUPT (logged by the caller: the stored
 * segments or anchor row no longer match), TOO_BIG, NOMEM or DB. On failure `out`
 * is back at its length on entry. */
WUR enum anchor_result anchor_evidence(struct buf *out, struct pg_session *pc,
                                       const char *stream_id, struct err *e);

/* Prepares the job (no I/O). `tm` (the operator's transaction manager)
 * must outlive it. */
void anchor_job_init(struct anchor_job *j, const struct anchor_job_config *cfg, struct txmgr *tm);

/* One round of the job (see the top); `pc` must not be in a transaction.
 * Errors of one recording are logged and leave it for the next tick
 * (counted as skipped). Returns ANCHOR_OK, or DB when the round could not
 * list its work. */
WUR enum anchor_result anchor_job_tick(struct anchor_job_report *report, struct anchor_job *j,
                                       struct pg_session *pc, struct rpc_client *rpc,
                                       struct err *e);

#endif
