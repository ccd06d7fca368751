/*
 * indexer.c - the revenue indexer (see indexer.h). Owns nothing but its
 * struct: the session and the rpc client are the caller's. Every write of a
 * poll happens inside the one transaction indexer_poll() opens.
 */
#include "indexer.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "abi.h"
#include "hex.h"
#include "ledger.h"
#include "split.h"
#include "u256.h"

#define BYTEA_TEXT_SIZE (2 + 2 * 32 + 1) /* "\x" + 64 digits + NUL */
#define U64_TEXT_SIZE 21
#define BLOCKS_TEXT_SIZE (FOLLOW_WINDOW_MAX * (U64_TEXT_SIZE + 1) + 3)
#define HASHES_TEXT_SIZE (FOLLOW_WINDOW_MAX * (64 + 1) + 3)
#define CONFIRM_ROUNDS_MAX 10000

enum event_type { EVENT_REVENUE_RECEIVED = 0, EVENT_TIPPED = 1 };

/* One decoded vault log. */
struct decoded_event {
    enum event_type type;
    uint8_t creator_key[32];
    struct address source;  /* RevenueReceived */
    uint8_t kind;           /* RevenueReceived */
    uint8_t stream_key[32]; /* Tipped */
    struct address payer;   /* RevenueReceived payer, Tipped from */
    struct u256 amount_wei;
};

/* A pending event read back for posting. */
struct pending_event {
    int64_t id;
    struct ledger_event_key key;
    uint8_t creator_key[32];
    struct u256 amount_wei;
    bool attributed;
};

static void bytea_text(char out[BYTEA_TEXT_SIZE], const uint8_t *data, size_t len);
static bool hex_field(uint8_t *out, size_t len, const PGresult *res, int row, int col);
static bool u64_field(uint64_t *out, const PGresult *res, int row, int col);
static bool word_is_small(const uint8_t word[32], size_t low_bytes);
static bool event_decode(struct decoded_event *out, const struct follow_log *log);
static bool on_log(void *ctx, const struct follow_log *log);
static bool on_reorg(void *ctx, uint64_t first_orphaned_block);
static enum indexer_result db_fail(struct indexer *ix, struct err *e, const char *what);
static enum indexer_result cursor_load(struct indexer *ix, struct err *e);
static enum indexer_result cursor_save(struct indexer *ix, struct err *e);
static enum indexer_result confirm_upto(struct indexer *ix, uint64_t target, struct err *e);
static enum indexer_result confirm_batch(struct indexer *ix, uint64_t target, size_t *done,
                                         struct err *e);
static enum indexer_result event_postings(struct indexer *ix, struct ledger_posting *postings,
                                          size_t *postings_len, int *version_out,
                                          const struct pending_event *ev, struct err *e);
static enum indexer_result poll_in_tx(struct indexer *ix, struct err *e);
static void halt(struct indexer *ix, const struct err *why);
static void ix_log(const struct indexer *ix, enum log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- small helpers --------------------------------------------------------------------- */

static void ix_log(const struct indexer *ix, enum log_level level, const char *fmt, ...)
{
    if (ix->cfg.log == NULL || !log_enabled(ix->cfg.log, level))
        return;
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    log_write(ix->cfg.log, level, msg, NULL, 0);
}

static void bytea_text(char out[BYTEA_TEXT_SIZE], const uint8_t *data, size_t len)
{
    ASSERT(len <= 32);
    out[0] = '\\';
    out[1] = 'x';
    ASSERT(hex_encode(out + 2, BYTEA_TEXT_SIZE - 2, data, len) == 0);
}

/* A column selected as encode(x, 'hex') of exactly len bytes. */
static bool hex_field(uint8_t *out, size_t len, const PGresult *res, int row, int col)
{
    const char *t = PQgetvalue(res, row, col);
    return hex_decode_exact(out, len, t, strlen(t), NULL) == HEX_OK;
}

static bool u64_field(uint64_t *out, const PGresult *res, int row, int col)
{
    const char *t = PQgetvalue(res, row, col);
    size_t n = strlen(t);
    if (n == 0 || n > 19)
        return false;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (t[i] < '0' || t[i] > '9')
            return false;
        v = v * 10 + (uint64_t)(t[i] - '0');
    }
    *out = v;
    return true;
}

/* True when all but the last low_bytes bytes of the ABI word are zero. */
static bool word_is_small(const uint8_t word[32], size_t low_bytes)
{
    for (size_t i = 0; i + low_bytes < 32; i++)
        if (word[i] != 0)
            return false;
    return true;
}

static enum indexer_result db_fail(struct indexer *ix, struct err *e, const char *what)
{
    (void)ix;
    char cause[sizeof e->msg];
    snprintf(cause, sizeof cause, "%s", e->msg);
    err_set(e, INDEXER_ERR_DB, "indexer %s failed: %s", what, cause);
    return INDEXER_ERR_DB;
}

static void halt(struct indexer *ix, const struct err *why)
{
    ix->halted = true;
    ix->halt_err = *why;
    ix->halt_err.code = INDEXER_ERR_DEEP_REORG;
    ix_log(ix, LOG_ERROR, "indexer halted: %s", why->msg);
}

/* ---- decoding -------------------------------------------------------------------------- */

static bool event_decode(struct decoded_event *out, const struct follow_log *log)
{
    uint8_t rr[32], tp[32];
    abi_event_topic(rr, INDEXER_REVENUE_RECEIVED_SIG);
    abi_event_topic(tp, INDEXER_TIPPED_SIG);
    memset(out, 0, sizeof *out);
    if (log->topics_len == 3 && memcmp(log->topics[0], rr, 32) == 0) {
        if (log->data_len != 96 || !word_is_small(log->topics[2], 20) ||
            !word_is_small(log->data, 1) || !word_is_small(log->data + 32, 20))
            return false;
        out->type = EVENT_REVENUE_RECEIVED;
        memcpy(out->creator_key, log->topics[1], 32);
        memcpy(out->source.bytes, log->topics[2] + 12, 20);
        out->kind = log->data[31];
        memcpy(out->payer.bytes, log->data + 44, 20);
        out->amount_wei = u256_from_be32(log->data + 64);
    } else if (log->topics_len == 4 && memcmp(log->topics[0], tp, 32) == 0) {
        if (log->data_len != 32 || !word_is_small(log->topics[3], 20))
            return false;
        out->type = EVENT_TIPPED;
        memcpy(out->creator_key, log->topics[1], 32);
        memcpy(out->stream_key, log->topics[2], 32);
        memcpy(out->payer.bytes, log->topics[3] + 12, 20);
        out->amount_wei = u256_from_be32(log->data);
    } else {
        return false;
    }
    return !u256_is_zero(&out->amount_wei);
}

/* ---- follower callbacks (inside the poll's transaction) ------------------------------- */

static bool on_log(void *ctx, const struct follow_log *log)
{
    struct indexer *ix = ctx;
    struct decoded_event ev;
    if (!event_decode(&ev, log) || log->log_index > INT32_MAX || log->block_number > INT64_MAX) {
        ix->cb_result = INDEXER_ERR_BAD_LOG;
        err_set(&ix->cb_err, INDEXER_ERR_BAD_LOG,
                "undecodable vault log in block %" PRIu64 " at index %" PRIu64, log->block_number,
                log->log_index);
        return false;
    }
    char chain[U64_TEXT_SIZE], li[U64_TEXT_SIZE], bn[U64_TEXT_SIZE], kind[4];
    char tx[BYTEA_TEXT_SIZE], bh[BYTEA_TEXT_SIZE], ck[BYTEA_TEXT_SIZE], src[BYTEA_TEXT_SIZE];
    char sk[BYTEA_TEXT_SIZE], payer[BYTEA_TEXT_SIZE], amount[U256_DEC_SIZE];
    snprintf(chain, sizeof chain, "%" PRIu64, ix->cfg.chain_id);
    snprintf(li, sizeof li, "%" PRIu64, log->log_index);
    snprintf(bn, sizeof bn, "%" PRIu64, log->block_number);
    snprintf(kind, sizeof kind, "%u", (unsigned)ev.kind);
    bytea_text(tx, log->tx_hash, 32);
    bytea_text(bh, log->block_hash, 32);
    bytea_text(ck, ev.creator_key, 32);
    bytea_text(src, ev.source.bytes, 20);
    bytea_text(sk, ev.stream_key, 32);
    bytea_text(payer, ev.payer.bytes, 20);
    u256_to_dec(amount, &ev.amount_wei);
    bool rr = ev.type == EVENT_REVENUE_RECEIVED;
    const char *params[12] = {chain,
                              tx,
                              li,
                              bn,
                              bh,
                              rr ? "revenue_received" : "tipped",
                              ck,
                              rr ? src : NULL,
                              rr ? kind : NULL,
                              rr ? NULL : sk,
                              payer,
                              amount};
    PGresult *res = NULL;
    struct err e = {0};
    enum pg_code r = pg_exec(
        ix->pc, &res,
        "INSERT INTO revenue_events (chain_id, tx_hash, log_index, block_number, block_hash,"
        " event, creator_key, source, kind, stream_key, payer, amount_wei, attribution)"
        " SELECT $1::bigint, $2::bytea, $3::integer, $4::bigint, $5::bytea, $6::text,"
        " $7::bytea, $8::bytea, $9::smallint, $10::bytea, $11::bytea, $12::numeric,"
        " CASE WHEN (CASE WHEN $6::text = 'revenue_received' THEN EXISTS (SELECT 1 FROM passes p"
        "   JOIN creators c ON c.id = p.creator_id"
        "   WHERE c.creator_key = $7::bytea AND p.contract = $8::bytea)"
        "  ELSE EXISTS (SELECT 1 FROM streams s JOIN creators c ON c.id = s.creator_id"
        "   WHERE c.creator_key = $7::bytea AND s.stream_key = $10::bytea) END)"
        "  THEN 'creator' ELSE 'unattributed' END"
        " ON CONFLICT (chain_id, tx_hash, log_index) WHERE status <> 'orphaned' DO NOTHING",
        params, 12, &e);
    if (r != PG_OK) {
        ix->cb_result = db_fail(ix, &e, "recording an event");
        ix->cb_err = e;
        return false;
    }
    if (strcmp(PQcmdTuples(res), "1") == 0)
        ix->rep->events_seen++;
    PQclear(res);
    return true;
}

static bool on_reorg(void *ctx, uint64_t first_orphaned_block)
{
    struct indexer *ix = ctx;
    if (ix->has_confirmed && first_orphaned_block <= ix->confirmed_through) {
        ix->cb_result = INDEXER_ERR_DEEP_REORG;
        err_set(&ix->cb_err, INDEXER_ERR_DEEP_REORG,
                "reorg from block %" PRIu64 " reaches confirmed block %" PRIu64
                " (deeper than %u confirmations)",
                first_orphaned_block, ix->confirmed_through, ix->cfg.confirmations);
        return false;
    }
    char chain[U64_TEXT_SIZE], bn[U64_TEXT_SIZE];
    snprintf(chain, sizeof chain, "%" PRIu64, ix->cfg.chain_id);
    snprintf(bn, sizeof bn, "%" PRIu64, first_orphaned_block);
    const char *params[2] = {chain, bn};
    PGresult *res = NULL;
    struct err e = {0};
    if (pg_exec(ix->pc, &res,
                "UPDATE revenue_events SET status = 'orphaned' WHERE chain_id = $1::bigint"
                " AND status = 'pending' AND block_number >= $2::bigint",
                params, 2, &e) != PG_OK) {
        ix->cb_result = db_fail(ix, &e, "rolling back a reorg");
        ix->cb_err = e;
        return false;
    }
    uint64_t n = strtoull(PQcmdTuples(res), NULL, 10); /* the server's own count */
    ix->rep->events_orphaned += n;
    ix->rep->reorgs++;
    PQclear(res);
    ix_log(ix, LOG_WARN, "reorg from block %" PRIu64 ": %" PRIu64 " pending events orphaned",
           first_orphaned_block, n);
    return true;
}

/* ---- posting confirmed events ------------------------------------------------------------ */

/* The postings of one event: debit vault, credit each non-zero part of the
 * creator's split effective at the block, or unattributed. *version_out is
 * the split version, or 0 when posted as unattributed. */
static enum indexer_result event_postings(struct indexer *ix, struct ledger_posting *postings,
                                          size_t *postings_len, int *version_out,
                                          const struct pending_event *ev, struct err *e)
{
    struct split_share shares[SPLIT_PAYEES_MAX];
    size_t shares_len = 0;
    *version_out = 0;
    if (ev->attributed) {
        char ck[BYTEA_TEXT_SIZE], bn[U64_TEXT_SIZE];
        bytea_text(ck, ev->creator_key, 32);
        snprintf(bn, sizeof bn, "%" PRIu64, ev->key.block_number);
        const char *params[2] = {ck, bn};
        PGresult *res = NULL;
        if (pg_exec(ix->pc, &res,
                    "SELECT s.version, encode(s.payee, 'hex'), s.bps FROM creators c"
                    " JOIN split_shares s ON s.creator_id = c.id"
                    " WHERE c.creator_key = $1::bytea AND s.version = (SELECT max(v.version)"
                    "  FROM split_versions v WHERE v.creator_id = c.id"
                    "  AND v.effective_from_block <= $2::bigint)"
                    " ORDER BY s.payee",
                    params, 2, e) != PG_OK)
            return db_fail(ix, e, "reading a split version");
        int rows = PQntuples(res);
        bool ok = rows <= SPLIT_PAYEES_MAX;
        for (int i = 0; ok && i < rows; i++) {
            uint64_t bps = 0, version = 0;
            ok = hex_field(shares[i].payee.bytes, 20, res, i, 1) && u64_field(&bps, res, i, 2) &&
                 u64_field(&version, res, i, 0) && bps <= SPLIT_BPS_TOTAL && version <= INT32_MAX;
            shares[i].share_bps = (uint32_t)bps;
            *version_out = (int)version;
        }
        PQclear(res);
        if (!ok)
            return (enum indexer_result)err_set(e, INDEXER_ERR_CORRUPT,
                                                "split shares unreadable at block %" PRIu64,
                                                ev->key.block_number);
        shares_len = (size_t)rows;
        if (shares_len == 0)
            ix_log(ix, LOG_WARN, "no split version at block %" PRIu64 ": posted as unattributed",
                   ev->key.block_number);
    }
    postings[0] =
        (struct ledger_posting){{LEDGER_ACCOUNT_VAULT, {{0}}}, LEDGER_DEBIT, ev->amount_wei};
    *postings_len = 1;
    if (shares_len == 0) {
        postings[(*postings_len)++] = (struct ledger_posting){
            {LEDGER_ACCOUNT_UNATTRIBUTED, {{0}}}, LEDGER_CREDIT, ev->amount_wei};
        return INDEXER_OK;
    }
    struct u256 parts[SPLIT_PAYEES_MAX];
    if (split_compute(parts, shares, shares_len, &ev->amount_wei, e) != SPLIT_OK)
        return (enum indexer_result)err_set(e, INDEXER_ERR_CORRUPT,
                                            "stored split version %d is invalid", *version_out);
    for (size_t i = 0; i < shares_len; i++)
        if (!u256_is_zero(&parts[i]))
            postings[(*postings_len)++] = (struct ledger_posting){
                {LEDGER_ACCOUNT_PAYEE, shares[i].payee}, LEDGER_CREDIT, parts[i]};
    ASSERT(*postings_len >= 2);
    return INDEXER_OK;
}

/* Posts up to INDEXER_POST_BATCH_MAX pending events with block <= target;
 * *done receives how many. */
static enum indexer_result confirm_batch(struct indexer *ix, uint64_t target, size_t *done,
                                         struct err *e)
{
    char chain[U64_TEXT_SIZE], tb[U64_TEXT_SIZE], lim[U64_TEXT_SIZE];
    snprintf(chain, sizeof chain, "%" PRIu64, ix->cfg.chain_id);
    snprintf(tb, sizeof tb, "%" PRIu64, target);
    snprintf(lim, sizeof lim, "%d", INDEXER_POST_BATCH_MAX);
    const char *params[3] = {chain, tb, lim};
    PGresult *res = NULL;
    *done = 0;
    if (pg_exec(ix->pc, &res,
                "SELECT id, encode(tx_hash, 'hex'), log_index, block_number,"
                " encode(block_hash, 'hex'), encode(creator_key, 'hex'), amount_wei::text,"
                " attribution = 'creator' FROM revenue_events WHERE chain_id = $1::bigint"
                " AND status = 'pending' AND block_number <= $2::bigint"
                " ORDER BY block_number, log_index LIMIT $3::integer",
                params, 3, e) != PG_OK)
        return db_fail(ix, e, "reading pending events");
    size_t n = (size_t)PQntuples(res);
    enum indexer_result r = INDEXER_OK;
    struct pending_event *evs = calloc(n + 1, sizeof *evs);
    struct ledger_entry *entries = calloc(n + 1, sizeof *entries);
    struct ledger_posting *postings = calloc((n + 1) * (SPLIT_PAYEES_MAX + 1), sizeof *postings);
    int *versions = calloc(n + 1, sizeof *versions);
    uint64_t *ids = calloc(n + 1, sizeof *ids);
    if (evs == NULL || entries == NULL || postings == NULL || versions == NULL || ids == NULL) {
        r = (enum indexer_result)err_set(e, INDEXER_ERR_DB, "indexer out of memory");
        goto out;
    }
    for (size_t i = 0; i < n && r == INDEXER_OK; i++) {
        struct pending_event *ev = &evs[i];
        uint64_t id = 0, li = 0;
        const char *amount = PQgetvalue(res, (int)i, 6);
        ev->key.chain_id = ix->cfg.chain_id;
        bool ok = u64_field(&id, res, (int)i, 0) &&
                  hex_field(ev->key.tx_hash, 32, res, (int)i, 1) &&
                  u64_field(&li, res, (int)i, 2) && li <= INT32_MAX &&
                  u64_field(&ev->key.block_number, res, (int)i, 3) &&
                  hex_field(ev->key.block_hash, 32, res, (int)i, 4) &&
                  hex_field(ev->creator_key, 32, res, (int)i, 5) &&
                  u256_from_dec(&ev->amount_wei, amount, strlen(amount), NULL) == U256_OK;
        if (!ok) {
            r = (enum indexer_result)err_set(e, INDEXER_ERR_CORRUPT,
                                             "revenue event row %zu"
                                             " does not parse",
                                             i);
            break;
        }
        ev->id = (int64_t)id;
        ev->key.log_index = (uint32_t)li;
        ev->attributed = strcmp(PQgetvalue(res, (int)i, 7), "t") == 0;
        struct ledger_posting *p = postings + i * (SPLIT_PAYEES_MAX + 1);
        size_t plen = 0;
        r = event_postings(ix, p, &plen, &versions[i], ev, e);
        entries[i] = (struct ledger_entry){
            .kind = LEDGER_KIND_REVENUE, .event = ev->key, .postings = p, .postings_len = plen};
        memcpy(entries[i].creator_key, ev->creator_key, 32);
    }
    if (r != INDEXER_OK || n == 0)
        goto out;
    struct ledger_post_report lrep;
    if (ledger_post_entries(&lrep, ids, ix->pc, entries, n, e) != LEDGER_OK) {
        r = db_fail(ix, e, "posting to the ledger");
        goto out;
    }
    ix->rep->entries_posted += lrep.entries_posted;
    ix->rep->entries_replayed += lrep.entries_replayed;
    for (size_t i = 0; i < n && r == INDEXER_OK; i++) {
        char id[U64_TEXT_SIZE], ver[U64_TEXT_SIZE], entry[U64_TEXT_SIZE];
        snprintf(id, sizeof id, "%" PRId64, evs[i].id);
        snprintf(ver, sizeof ver, "%d", versions[i]);
        snprintf(entry, sizeof entry, "%" PRIu64, ids[i]);
        const char *up[3] = {id, versions[i] > 0 ? ver : NULL, ids[i] > 0 ? entry : NULL};
        if (pg_exec(ix->pc, NULL,
                    "UPDATE revenue_events SET status = 'confirmed', split_version = $2::integer,"
                    " ledger_entry_id = $3::bigint WHERE id = $1::bigint AND status = 'pending'",
                    up, 3, e) != PG_OK)
            r = db_fail(ix, e, "marking an event confirmed");
        if (!ix->has_confirmed || evs[i].key.block_number > ix->confirmed_through)
            ix->confirmed_through = evs[i].key.block_number;
        ix->has_confirmed = true;
    }
    ix->rep->events_confirmed += n;
    *done = n;
out:
    PQclear(res);
    free(evs);
    free(entries);
    free(postings);
    free(versions);
    free(ids);
    return r;
}

static enum indexer_result confirm_upto(struct indexer *ix, uint64_t target, struct err *e)
{
    for (int round = 0; round < CONFIRM_ROUNDS_MAX; round++) {
        size_t done = 0;
        enum indexer_result r = confirm_batch(ix, target, &done, e);
        if (r != INDEXER_OK)
            return r;
        if (done < INDEXER_POST_BATCH_MAX) {
            if (!ix->has_confirmed || target > ix->confirmed_through)
                ix->confirmed_through = target;
            ix->has_confirmed = true;
            return INDEXER_OK;
        }
    }
    return INDEXER_OK; /* the rest next poll; confirmed_through covers what was posted */
}

/* ---- cursor ---------------------------------------------------------------------------- */

static enum indexer_result cursor_save(struct indexer *ix, struct err *e)
{
    struct follow_block blocks[FOLLOW_WINDOW_MAX];
    size_t n = follow_recent(&ix->follow, blocks, FOLLOW_WINDOW_MAX);
    ASSERT(n <= FOLLOW_WINDOW_MAX);
    char numbers[BLOCKS_TEXT_SIZE], hashes[HASHES_TEXT_SIZE];
    size_t nl = 0, hl = 0;
    numbers[nl++] = '{';
    hashes[hl++] = '{';
    for (size_t i = 0; i < n; i++) {
        int w = snprintf(numbers + nl, sizeof numbers - nl, "%s%" PRIu64, i ? "," : "",
                         blocks[i].number);
        ASSERT(w > 0 && (size_t)w < sizeof numbers - nl);
        nl += (size_t)w;
        if (i)
            hashes[hl++] = ',';
        ASSERT(hex_encode(hashes + hl, sizeof hashes - hl, blocks[i].hash, 32) == 0);
        hl += 64;
    }
    ASSERT(nl + 2 <= sizeof numbers && hl + 2 <= sizeof hashes);
    numbers[nl++] = '}';
    numbers[nl] = '\0';
    hashes[hl++] = '}';
    hashes[hl] = '\0';
    char next[U64_TEXT_SIZE], conf[U64_TEXT_SIZE];
    snprintf(next, sizeof next, "%" PRIu64, follow_next_block(&ix->follow));
    snprintf(conf, sizeof conf, "%" PRIu64, ix->confirmed_through);
    const char *p1[3] = {ix->name, next, ix->has_confirmed ? conf : NULL};
    const char *p2[3] = {ix->name, numbers, hashes};
    if (pg_exec(ix->pc, NULL,
                "UPDATE indexer_cursor SET next_block = $2::bigint,"
                " confirmed_through = $3::bigint WHERE name = $1",
                p1, 3, e) != PG_OK ||
        pg_exec(ix->pc, NULL, "DELETE FROM indexer_blocks WHERE name = $1", p1, 1, e) != PG_OK ||
        pg_exec(ix->pc, NULL,
                "INSERT INTO indexer_blocks (name, number, hash) SELECT $1, u.n, decode(u.h, 'hex')"
                " FROM unnest($2::bigint[], $3::text[]) AS u(n, h)",
                p2, 3, e) != PG_OK)
        return db_fail(ix, e, "saving the cursor");
    return INDEXER_OK;
}

/* Creates the cursor row if missing and resumes the follower from it. */
static enum indexer_result cursor_load(struct indexer *ix, struct err *e)
{
    char chain[U64_TEXT_SIZE], start[U64_TEXT_SIZE], vault[BYTEA_TEXT_SIZE];
    snprintf(chain, sizeof chain, "%" PRIu64, ix->cfg.chain_id);
    snprintf(start, sizeof start, "%" PRIu64, ix->cfg.start_block);
    bytea_text(vault, ix->cfg.vault.bytes, 20);
    const char *params[4] = {ix->name, chain, vault, start};
    PGresult *res = NULL;
    if (pg_exec(ix->pc, NULL,
                "INSERT INTO indexer_cursor (name, chain_id, vault, next_block)"
                " VALUES ($1, $2::bigint, $3::bytea, $4::bigint) ON CONFLICT (name) DO NOTHING",
                params, 4, e) != PG_OK ||
        pg_exec(ix->pc, &res,
                "SELECT next_block, coalesce(confirmed_through, -1),"
                " chain_id = $2::bigint AND vault = $3::bytea FROM indexer_cursor WHERE name = $1",
                params, 3, e) != PG_OK)
        return db_fail(ix, e, "loading the cursor");
    uint64_t next = 0, conf = 0;
    bool ok = PQntuples(res) == 1;
    bool same = ok && strcmp(PQgetvalue(res, 0, 2), "t") == 0;
    ix->has_confirmed = ok && strcmp(PQgetvalue(res, 0, 1), "-1") != 0;
    ok = ok && u64_field(&next, res, 0, 0) && (!ix->has_confirmed || u64_field(&conf, res, 0, 1));
    PQclear(res);
    if (!ok)
        return (enum indexer_result)err_set(e, INDEXER_ERR_CORRUPT, "cursor '%s' unreadable",
                                            ix->name);
    if (!same)
        return (enum indexer_result)err_set(
            e, INDEXER_ERR_BAD_INPUT, "cursor '%s' belongs to another chain or vault", ix->name);
    ix->confirmed_through = conf;
    struct follow_config fc;
    follow_config_default(&fc);
    fc.addresses = &ix->cfg.vault;
    fc.addresses_len = 1;
    uint8_t topics[2][32];
    abi_event_topic(topics[0], INDEXER_REVENUE_RECEIVED_SIG);
    abi_event_topic(topics[1], INDEXER_TIPPED_SIG);
    fc.topic0 = (const uint8_t(*)[32])topics;
    fc.topic0_len = 2;
    fc.start_block = next;
    fc.confirmations = 0;
    fc.range_max = ix->cfg.range_max;
    fc.blocks_per_poll_max = ix->cfg.blocks_per_poll_max;
    fc.logs_per_poll_max = ix->cfg.logs_per_poll_max;
    fc.on_log = on_log;
    fc.on_reorg = on_reorg;
    fc.ctx = ix;
    struct err fe = {0};
    if (follow_init(&ix->follow, ix->rpc, &fc, &fe) != FOLLOW_OK)
        return (enum indexer_result)err_set(e, INDEXER_ERR_BAD_INPUT, "indexer follower: %s",
                                            fe.msg);
    if (pg_exec(ix->pc, &res,
                "SELECT number, encode(hash, 'hex') FROM indexer_blocks WHERE name = $1"
                " ORDER BY number",
                params, 1, e) != PG_OK)
        return db_fail(ix, e, "loading recent blocks");
    struct follow_block blocks[FOLLOW_WINDOW_MAX];
    size_t n = (size_t)PQntuples(res);
    ok = n <= FOLLOW_WINDOW_MAX;
    for (size_t i = 0; ok && i < n; i++)
        ok = u64_field(&blocks[i].number, res, (int)i, 0) &&
             hex_field(blocks[i].hash, 32, res, (int)i, 1);
    PQclear(res);
    if (!ok || (n > 0 && blocks[n - 1].number + 1 != next))
        return (enum indexer_result)err_set(e, INDEXER_ERR_CORRUPT,
                                            "recent blocks of cursor '%s' unreadable", ix->name);
    if (n > 0 && follow_resume(&ix->follow, blocks, n, &fe) != FOLLOW_OK)
        return (enum indexer_result)err_set(e, INDEXER_ERR_CORRUPT, "cursor '%s': %s", ix->name,
                                            fe.msg);
    return INDEXER_OK;
}

/* ---- lifecycle and polling --------------------------------------------------------------- */

void indexer_config_default(struct indexer_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->name = "indexer";
    cfg->confirmations = 6;
    cfg->range_max = FOLLOW_RANGE_DEFAULT;
    cfg->blocks_per_poll_max = FOLLOW_BLOCKS_PER_POLL_DEFAULT;
    cfg->logs_per_poll_max = FOLLOW_LOGS_PER_POLL_DEFAULT;
    cfg->lock_key = INDEXER_LOCK_KEY_DEFAULT;
}

static bool name_ok(const char *name)
{
    size_t n = name == NULL ? 0 : strlen(name);
    if (n == 0 || n > INDEXER_NAME_BYTES_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((name[i] >= 'a' && name[i] <= 'z') || name[i] == '_'))
            return false;
    return true;
}

enum indexer_result indexer_init(struct indexer *ix, struct pg_session *pc, struct rpc_client *rpc,
                                 const struct indexer_config *cfg, struct err *e)
{
    memset(ix, 0, sizeof *ix);
    if (!name_ok(cfg->name) || cfg->chain_id == 0 || cfg->chain_id > INT64_MAX ||
        cfg->confirmations > INDEXER_CONFIRMATIONS_MAX || cfg->start_block > INT64_MAX ||
        address_is_zero(&cfg->vault))
        return (enum indexer_result)err_set(e, INDEXER_ERR_BAD_INPUT,
                                            "indexer config invalid (name, chain id, vault,"
                                            " start block or confirmations above %d)",
                                            INDEXER_CONFIRMATIONS_MAX);
    ix->cfg = *cfg;
    snprintf(ix->name, sizeof ix->name, "%s", cfg->name);
    ix->cfg.name = ix->name;
    ix->pc = pc;
    ix->rpc = rpc;
    char key[U64_TEXT_SIZE];
    snprintf(key, sizeof key, "%lld", cfg->lock_key);
    const char *params[1] = {key};
    PGresult *res = NULL;
    if (pg_exec(pc, &res, "SELECT pg_try_advisory_lock($1::bigint)", params, 1, e) != PG_OK)
        return db_fail(ix, e, "taking the leader lock");
    bool leader = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    PQclear(res);
    if (!leader)
        return (enum indexer_result)err_set(
            e, INDEXER_ERR_NOT_LEADER, "another indexer holds the leader lock %lld", cfg->lock_key);
    ix->locked = true;
    enum indexer_result r = cursor_load(ix, e);
    if (r != INDEXER_OK)
        indexer_release(ix);
    return r;
}

void indexer_release(struct indexer *ix)
{
    if (!ix->locked)
        return;
    ix->locked = false;
    if (ix->pc == NULL || ix->pc->conn == NULL || PQstatus(ix->pc->conn) != CONNECTION_OK)
        return;
    char key[U64_TEXT_SIZE];
    snprintf(key, sizeof key, "%lld", ix->cfg.lock_key);
    const char *params[1] = {key};
    if (pg_exec(ix->pc, NULL, "SELECT pg_advisory_unlock($1::bigint)", params, 1, NULL) != PG_OK)
        ix_log(ix, LOG_WARN, "could not release the leader lock");
}

bool indexer_halted(const struct indexer *ix)
{
    return ix->halted;
}

/* The poll's work inside its open transaction. */
static enum indexer_result poll_in_tx(struct indexer *ix, struct err *e)
{
    struct follow_poll_report frep;
    struct err fe = {0};
    ix->cb_result = INDEXER_OK;
    err_clear(&ix->cb_err);
    enum follow_result fr = follow_poll(&ix->follow, &frep, &fe);
    ix->rep->head = frep.head;
    ix->rep->caught_up = frep.caught_up;
    if (fr == FOLLOW_ERR_CALLBACK && ix->cb_result != INDEXER_OK) {
        *e = ix->cb_err;
        return ix->cb_result;
    }
    if (fr == FOLLOW_ERR_DEEP_REORG) {
        err_set(e, INDEXER_ERR_DEEP_REORG, "reorg deeper than the follower's window: %s", fe.msg);
        return INDEXER_ERR_DEEP_REORG;
    }
    if (fr != FOLLOW_OK) {
        err_set(e, INDEXER_ERR_RPC, "indexer follow failed: %s", fe.msg);
        return INDEXER_ERR_RPC;
    }
    struct follow_block cursor;
    if (follow_cursor(&ix->follow, &cursor) && frep.head >= ix->cfg.confirmations) {
        uint64_t target = frep.head - ix->cfg.confirmations;
        if (cursor.number < target)
            target = cursor.number;
        enum indexer_result r = confirm_upto(ix, target, e);
        if (r != INDEXER_OK)
            return r;
    }
    return cursor_save(ix, e);
}

enum indexer_result indexer_poll(struct indexer *ix, struct indexer_poll_report *report,
                                 struct err *e)
{
    ASSERT(ix->locked);
    if (ix->halted) {
        *e = ix->halt_err;
        return INDEXER_ERR_DEEP_REORG;
    }
    struct indexer_poll_report rep;
    memset(&rep, 0, sizeof rep);
    ix->rep = &rep;
    uint64_t confirmed_before = ix->confirmed_through;
    bool has_confirmed_before = ix->has_confirmed;
    if (pg_begin(ix->pc, PG_READ_COMMITTED, e) != PG_OK)
        return db_fail(ix, e, "BEGIN");
    enum indexer_result r = poll_in_tx(ix, e);
    if (r == INDEXER_OK && pg_commit(ix->pc, e) != PG_OK)
        r = db_fail(ix, e, "COMMIT");
    ix->rep = NULL;
    if (r == INDEXER_OK) {
        if (report != NULL)
            *report = rep;
        return INDEXER_OK;
    }
    struct err ignored = {0};
    if (pg_rollback(ix->pc, &ignored) != PG_OK)
        err_clear(&ignored); /* COMMIT may have ended it already */
    ix->confirmed_through = confirmed_before;
    ix->has_confirmed = has_confirmed_before;
    if (r == INDEXER_ERR_DEEP_REORG) {
        halt(ix, e);
        return r;
    }
    /* Back to what the database holds, so the next poll redoes this one. */
    struct err re = {0};
    if (cursor_load(ix, &re) != INDEXER_OK)
        ix_log(ix, LOG_ERROR, "indexer could not reload its cursor: %s", re.msg);
    return r;
}
