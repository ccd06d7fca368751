/*
 * store.h - the gateway's PostgreSQL queries (tables of
 * migrations/0002_gateway.sql): streams with their access rules, tips,
 * ingest keys, recordings and segments, and the chain follower's cursor.
 *
 * Every query is parameterised (pg_exec_params); bytea goes in binary and
 * comes back as "\x" hex text, wei as numeric text, and both are parsed and
 * checked here, so callers only see fixed-size C values. A row that does not
 * parse is STORE_ERR_CORRUPT (a bug or a tampered database), never a crash.
 *
 * Ownership: the caller owns the session and every output struct. Nothing
 * here begins or ends a transaction unless it says so.
 *
 * Limits: STORE_STREAM_PASSES_MAX access rules per stream,
 * STORE_RENDITIONS_MAX renditions per recording, STORE_TITLE_BYTES_MAX.
 */
#ifndef GATEWAY_STORE_H
#define GATEWAY_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "address.h"
#include "check.h"
#include "err.h"
#include "ids.h"
#include "pg.h"
#include "u256.h"

#define STORE_STREAM_PASSES_MAX 16
#define STORE_RENDITIONS_MAX 32
#define STORE_TITLE_BYTES_MAX 800 /* 200 characters of up to 4 UTF-8 bytes */
#define STORE_RENDITION_BYTES_MAX 32
#define STORE_SEGMENT_NAME_BYTES_MAX 69
#define STORE_STATUS_BYTES_MAX 16

/* Stable result codes; numbers are never reused. */
enum store_result {
    STORE_OK = 0,
    STORE_ERR_NOT_FOUND = 1, /* no such stream / recording / rendition */
    STORE_ERR_DB = 2,        /* the query failed: e has pg's message, e->code its pg_code */
    STORE_ERR_CONFLICT = 3,  /* the row exists with other content, or the state forbids it */
    STORE_ERR_CORRUPT = 4,   /* a stored value does not parse */
    STORE_ERR_BAD_INPUT = 5  /* an argument above a limit */
};

struct store_pass_rule {
    struct address contract;
    struct u256 min_balance;
    struct u256 price_wei;
};

struct store_stream {
    char id[IDS_UUID_SIZE];
    char creator_id[IDS_UUID_SIZE];
    char title[STORE_TITLE_BYTES_MAX + 1];
    char status[STORE_STATUS_BYTES_MAX]; /* created | live | ended */
    uint8_t creator_key[32];
    uint8_t stream_key[32];
    struct address owner; /* the creator's owner: always allowed */
    bool has_tip_min;     /* false: tips never unlock the stream */
    struct u256 tip_min_wei;
    size_t passes_len;
    struct store_pass_rule passes[STORE_STREAM_PASSES_MAX];
};

struct store_tip {
    uint64_t chain_id;
    uint8_t tx_hash[32];
    uint32_t log_index;
    uint64_t block_number;
    uint8_t block_hash[32];
    uint8_t creator_key[32];
    uint8_t stream_key[32];
    struct address from;
    struct u256 amount_wei;
    bool from_follower; /* source 'follow' (else 'receipt') */
};

struct store_segment {
    char stream_id[IDS_UUID_SIZE];
    uint32_t rendition_index;
    char rendition[STORE_RENDITION_BYTES_MAX + 1];
    uint64_t media_sequence;
    char name[STORE_SEGMENT_NAME_BYTES_MAX + 1];
    uint8_t sha256[32];
    uint64_t bytes;
    uint64_t duration_us;
};

/* The stream, its creator's key and owner, and its access rules. */
WUR enum store_result store_stream_get(struct store_stream *out, struct pg_session *pc,
                                       const char *stream_id, struct err *e);

/* Sum of the tips `from` sent to stream_key on chain `chain_id` (0 when none). */
WUR enum store_result store_tips_total(struct u256 *out_wei, struct pg_session *pc,
                                       uint64_t chain_id, const uint8_t stream_key[32],
                                       const struct address *from, struct err *e);

/* Inserts the tip unless its (chain_id, tx_hash, log_index) is known;
 * *inserted says which. A known log reported in another block (the
 * transaction was re-mined after a reorg) moves to that block, so a later
 * rollback of that block forgets it. */
WUR enum store_result store_tip_insert(bool *inserted, struct pg_session *pc,
                                       const struct store_tip *t, struct err *e);

/* Forgets tips in blocks >= block_number (a reorg orphaned them). */
WUR enum store_result store_tips_forget_from(struct pg_session *pc, uint64_t chain_id,
                                             uint64_t block_number, struct err *e);

/* *matches = whether sha256(ingest key) equals the stream's stored hash
 * (compared in constant time). STORE_ERR_NOT_FOUND for an unknown stream. */
WUR enum store_result store_ingest_key_check(bool *matches, struct pg_session *pc,
                                             const char *stream_id, const uint8_t key_sha256[32],
                                             struct err *e);

/* Creates the stream's recording (status recording) unless it exists and
 * marks the stream live. STORE_ERR_CONFLICT when the recording has ended. */
WUR enum store_result store_recording_open(struct pg_session *pc, const char *stream_id,
                                           struct err *e);

/* Records the rendition names in master-playlist order. Once set they never
 * change: a different list is STORE_ERR_CONFLICT, the same list is STORE_OK. */
WUR enum store_result store_recording_set_renditions(struct pg_session *pc, const char *stream_id,
                                                     const char *const *names, size_t names_len,
                                                     struct err *e);

/* The index of `rendition` in the recording's master order. */
WUR enum store_result store_rendition_index(uint32_t *index_out, struct pg_session *pc,
                                            const char *stream_id, const char *rendition,
                                            struct err *e);

/* Records an accepted segment while the recording is open. The same segment
 * again (same sequence, name, hash and size) is STORE_OK, even after the
 * end; anything else already recorded at that (stream, rendition index,
 * sequence) or name, or a new segment after the end, is STORE_ERR_CONFLICT:
 * recorded segments are evidence and never change. */
WUR enum store_result store_segment_record(struct pg_session *pc, const struct store_segment *s,
                                           struct err *e);

/* Ends the recording (status ended) and the stream; STORE_OK if it already
 * ended. */
WUR enum store_result store_recording_end(struct pg_session *pc, const char *stream_id,
                                          struct err *e);

/* Every registered pass contract (for the chain follower's address filter),
 * at most cap. */
WUR enum store_result store_pass_contracts(struct address *out, size_t cap, size_t *len_out,
                                           struct pg_session *pc, struct err *e);

/* The named follower's cursor; STORE_ERR_NOT_FOUND when it never ran. */
WUR enum store_result store_cursor_get(uint64_t *block_out, uint8_t hash_out[32],
                                       struct pg_session *pc, const char *name, uint64_t chain_id,
                                       struct err *e);

WUR enum store_result store_cursor_set(struct pg_session *pc, const char *name, uint64_t chain_id,
                                       uint64_t block, const uint8_t hash[32], struct err *e);

#endif
