/*
 * indexer.c - the chain indexer (see indexer.h). Owns nothing but its
 * struct and, during a poll, its insert buffers: the session and the rpc
 * client are the caller's. Every write of a poll happens inside the one
 * transaction indexer_poll() opens. Layers: the event table and the pure
 * decoder -> buffered multi-row inserts -> follower callbacks -> pass
 * contracts (followed, backfilled) -> posting -> cursor -> polling.
 */
#include "indexer.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "abi.h"
#include "buf.h"
#include "hex.h"
#include "ledger.h"
#include "split.h"
#include "u256.h"

#define HEX0X_TEXT_SIZE (2 + 2 * 32 + 1) /* "0x" + 64 digits + NUL */
#define BLOCKS_TEXT_SIZE (FOLLOW_WINDOW_MAX * (PG_U64_TEXT_SIZE + 1) + 3)
#define HASHES_TEXT_SIZE (FOLLOW_WINDOW_MAX * (64 + 1) + 3)
#define CONFIRM_ROUNDS_MAX 10000
#define CONTRACTS_MAX (FOLLOW_ADDRESSES_MAX - 1) /* the vault takes one address */
#define BACKFILL_CONTRACTS_PER_POLL 64
#define BACKFILL_RANGES_MAX 10000 /* per contract and poll, halvings included */
#define IX_EVENT_TIPPED 0         /* positions in ix_events */
#define IX_EVENT_REVENUE_RECEIVED 1

enum event_type { EVENT_REVENUE_RECEIVED = 0, EVENT_TIPPED = 1 };

/* ABI types of event parameters (all one static word). */
enum ix_type {
    IX_ADDRESS = 0,
    IX_UINT256 = 1,
    IX_UINT8 = 2,
    IX_UINT48 = 3,
    IX_UINT64 = 4,
    IX_BYTES32 = 5,
    IX_BOOL = 6
};

struct ix_param {
    const char *name;
    enum ix_type type;
    bool indexed;
};

struct ix_event {
    enum indexer_contract contract;
    const char *name;
    size_t params_len;
    struct ix_param params[INDEXER_EVENT_PARAMS_MAX];
};

/* One decoded revenue log of the vault. */
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

/* The events of contracts-abi/SettlementVault.json and RightsPass.json. */
#define V INDEXER_CONTRACT_VAULT
#define P INDEXER_CONTRACT_PASS
static const struct ix_event ix_events[INDEXER_EVENTS_COUNT] = {
    {V,
     "Tipped",
     4,
     {{"creatorKey", IX_BYTES32, true},
      {"streamKey", IX_BYTES32, true},
      {"from", IX_ADDRESS, true},
      {"amount", IX_UINT256, false}}},
    {V,
     "RevenueReceived",
     5,
     {{"creatorKey", IX_BYTES32, true},
      {"source", IX_ADDRESS, true},
      {"kind", IX_UINT8, false},
      {"payer", IX_ADDRESS, false},
      {"amount", IX_UINT256, false}}},
    {V,
     "SettlementAnchored",
     5,
     {{"batchKey", IX_BYTES32, true},
      {"creatorKey", IX_BYTES32, true},
      {"root", IX_BYTES32, false},
      {"total", IX_UINT256, false},
      {"claimableAt", IX_UINT64, false}}},
    {V,
     "SettlementCancelled",
     3,
     {{"batchKey", IX_BYTES32, true},
      {"creatorKey", IX_BYTES32, true},
      {"total", IX_UINT256, false}}},
    {V,
     "SettlementReclaimed",
     3,
     {{"batchKey", IX_BYTES32, true},
      {"creatorKey", IX_BYTES32, true},
      {"amount", IX_UINT256, false}}},
    {V,
     "Claimed",
     3,
     {{"batchKey", IX_BYTES32, true},
      {"account", IX_ADDRESS, true},
      {"amount", IX_UINT256, false}}},
    {V,
     "RecordingAnchored",
     3,
     {{"streamKey", IX_BYTES32, true},
      {"root", IX_BYTES32, false},
      {"segmentCount", IX_UINT256, false}}},
    {V,
     "RoleGranted",
     3,
     {{"role", IX_BYTES32, true}, {"account", IX_ADDRESS, true}, {"sender", IX_ADDRESS, true}}},
    {V,
     "RoleRevoked",
     3,
     {{"role", IX_BYTES32, true}, {"account", IX_ADDRESS, true}, {"sender", IX_ADDRESS, true}}},
    {V,
     "RoleAdminChanged",
     3,
     {{"role", IX_BYTES32, true},
      {"previousAdminRole", IX_BYTES32, true},
      {"newAdminRole", IX_BYTES32, true}}},
    {V,
     "DefaultAdminTransferScheduled",
     2,
     {{"newAdmin", IX_ADDRESS, true}, {"acceptSchedule", IX_UINT48, false}}},
    {V, "DefaultAdminTransferCanceled", 0, {{NULL, IX_ADDRESS, false}}},
    {V,
     "DefaultAdminDelayChangeScheduled",
     2,
     {{"newDelay", IX_UINT48, false}, {"effectSchedule", IX_UINT48, false}}},
    {V, "DefaultAdminDelayChangeCanceled", 0, {{NULL, IX_ADDRESS, false}}},
    {P,
     "Transfer",
     3,
     {{"from", IX_ADDRESS, true}, {"to", IX_ADDRESS, true}, {"tokenId", IX_UINT256, true}}},
    {P,
     "Approval",
     3,
     {{"owner", IX_ADDRESS, true}, {"approved", IX_ADDRESS, true}, {"tokenId", IX_UINT256, true}}},
    {P,
     "ApprovalForAll",
     3,
     {{"owner", IX_ADDRESS, true}, {"operator", IX_ADDRESS, true}, {"approved", IX_BOOL, false}}},
    {P,
     "OwnershipTransferred",
     2,
     {{"previousOwner", IX_ADDRESS, true}, {"newOwner", IX_ADDRESS, true}}},
    {P,
     "PassPurchased",
     3,
     {{"buyer", IX_ADDRESS, true}, {"tokenId", IX_UINT256, true}, {"price", IX_UINT256, false}}},
    {P, "RoyaltyHeld", 2, {{"from", IX_ADDRESS, true}, {"amount", IX_UINT256, false}}},
};
#undef V
#undef P

static const char *const ix_type_names[] = {"address", "uint256", "uint8", "uint48",
                                            "uint64",  "bytes32", "bool"};
/* How many low bytes of the word may be non-zero. */
static const size_t ix_type_low_bytes[] = {20, 32, 1, 6, 8, 32, 1};

/* topic 0 of every event, computed once (pthread_once) from the table. */
static uint8_t ix_topics[INDEXER_EVENTS_COUNT][32];
static pthread_once_t ix_topics_once = PTHREAD_ONCE_INIT;

/* INSERTs of buffered rows: a JSON array of row objects in $2. */
static const char sql_insert_chain[] =
    "INSERT INTO chain_events (chain_id, tx_hash, log_index, block_number, block_hash, contract,"
    " event, args)"
    " SELECT $1::bigint, decode(x.r->>'tx', 'hex'), (x.r->>'li')::integer, (x.r->>'bn')::bigint,"
    " decode(x.r->>'bh', 'hex'), decode(x.r->>'c', 'hex'), x.r->>'ev', x.r->'args'"
    " FROM jsonb_array_elements($2::jsonb) WITH ORDINALITY AS x(r, i) ORDER BY x.i"
    " ON CONFLICT (chain_id, tx_hash, log_index) WHERE status <> 'orphaned' DO NOTHING";
static const char sql_insert_revenue[] =
    "INSERT INTO revenue_events (chain_id, tx_hash, log_index, block_number, block_hash,"
    " event, creator_key, source, kind, stream_key, payer, amount_wei, attribution)"
    " SELECT $1::bigint, decode(x.r->>'tx', 'hex'), (x.r->>'li')::integer,"
    " (x.r->>'bn')::bigint, decode(x.r->>'bh', 'hex'), x.r->>'ev', decode(x.r->>'ck', 'hex'),"
    " decode(x.r->>'src', 'hex'), (x.r->>'kind')::smallint, decode(x.r->>'sk', 'hex'),"
    " decode(x.r->>'payer', 'hex'), (x.r->>'amount')::numeric,"
    " CASE WHEN revenue_is_attributed(decode(x.r->>'ck', 'hex'), x.r->>'ev',"
    "  decode(x.r->>'src', 'hex'), decode(x.r->>'sk', 'hex')) THEN 'creator'"
    "  ELSE 'unattributed' END"
    " FROM jsonb_array_elements($2::jsonb) WITH ORDINALITY AS x(r, i) ORDER BY x.i"
    " ON CONFLICT (chain_id, tx_hash, log_index) WHERE status <> 'orphaned' DO NOTHING";

static void topics_init(void);
static void event_signature(char out[INDEXER_SIGNATURE_BYTES_MAX + 1], const struct ix_event *ev);
static bool word_is_small(const uint8_t word[32], size_t low_bytes);
static json_t *word_json(enum ix_type type, const uint8_t word[32]);
static json_t *decode_known(const struct ix_event *ev, const struct follow_log *log);
static json_t *decode_unknown(const struct follow_log *log);
static bool event_decode(struct decoded_event *out, const struct follow_log *log);
static bool rows_add_chain(struct indexer *ix, const struct follow_log *log,
                           const struct indexer_decoded *d);
static bool rows_add_revenue(struct indexer *ix, const struct follow_log *log,
                             const struct decoded_event *ev);
static enum indexer_result rows_insert(struct indexer *ix, json_t *rows, const char *sql,
                                       uint64_t *inserted, struct err *e);
static enum indexer_result rows_flush(struct indexer *ix, struct err *e);
static enum indexer_result log_record(struct indexer *ix, const struct follow_log *log,
                                      enum indexer_contract contract, struct err *e);
static bool on_log(void *ctx, const struct follow_log *log);
static bool on_reorg(void *ctx, uint64_t first_orphaned_block);
static enum indexer_result orphan_from(struct indexer *ix, uint64_t first_orphaned_block,
                                       struct err *e);
static enum indexer_result contracts_load(struct indexer *ix, struct address *out, size_t *n,
                                          struct err *e);
static enum indexer_result contracts_sync(struct indexer *ix, struct err *e);
static enum indexer_result backfill(struct indexer *ix, bool *done, struct err *e);
static enum indexer_result backfill_fetch(struct indexer *ix, json_t **logs_out,
                                          const struct address *contract, uint64_t from,
                                          uint64_t to, enum rpc_result *rr, struct err *e);
static enum indexer_result backfill_range(struct indexer *ix, const struct address *contract,
                                          const json_t *logs, uint64_t from, uint64_t to,
                                          bool *consistent, struct err *e);
static enum indexer_result backfill_contract(struct indexer *ix, const struct address *contract,
                                             uint64_t from, uint64_t end, uint64_t *next,
                                             struct err *e);
static enum indexer_result db_fail(struct indexer *ix, struct err *e, const char *what);
static enum indexer_result cursor_load(struct indexer *ix, struct err *e);
static enum indexer_result cursor_save(struct indexer *ix, struct err *e);
static enum indexer_result reattribute(struct indexer *ix, uint64_t target, struct err *e);
static enum indexer_result confirm_upto(struct indexer *ix, uint64_t target, struct err *e);
static enum indexer_result confirm_batch(struct indexer *ix, uint64_t target, size_t *done,
                                         struct err *e);
static enum indexer_result confirm_chain_events(struct indexer *ix, struct err *e);
struct split_memo;
static enum indexer_result event_postings(struct indexer *ix, struct ledger_posting *postings,
                                          size_t *postings_len, int *version_out,
                                          struct split_memo *memo, const struct pending_event *ev,
                                          struct err *e);
static enum indexer_result follow_outcome(struct indexer *ix, enum follow_result fr,
                                          const struct err *fe, struct err *e);
static enum indexer_result poll_in_tx(struct indexer *ix, struct err *e);
static bool name_ok(const char *name);
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

/* ---- the event table and the pure decoder ----------------------------------------------- */

static void event_signature(char out[INDEXER_SIGNATURE_BYTES_MAX + 1], const struct ix_event *ev)
{
    const size_t size = INDEXER_SIGNATURE_BYTES_MAX + 1;
    int w = snprintf(out, size, "%s(", ev->name);
    ASSERT(w > 0 && (size_t)w < size);
    size_t n = (size_t)w;
    for (size_t i = 0; i < ev->params_len; i++) {
        w = snprintf(out + n, size - n, "%s%s", i ? "," : "", ix_type_names[ev->params[i].type]);
        ASSERT(w > 0 && (size_t)w < size - n);
        n += (size_t)w;
    }
    ASSERT(n + 1 < size);
    out[n++] = ')';
    out[n] = '\0';
}

static void topics_init(void)
{
    for (size_t i = 0; i < INDEXER_EVENTS_COUNT; i++) {
        char sig[INDEXER_SIGNATURE_BYTES_MAX + 1];
        event_signature(sig, &ix_events[i]);
        abi_event_topic(ix_topics[i], sig);
    }
    char sig[INDEXER_SIGNATURE_BYTES_MAX + 1];
    event_signature(sig, &ix_events[IX_EVENT_TIPPED]);
    ASSERT(strcmp(sig, INDEXER_TIPPED_SIG) == 0);
    event_signature(sig, &ix_events[IX_EVENT_REVENUE_RECEIVED]);
    ASSERT(strcmp(sig, INDEXER_REVENUE_RECEIVED_SIG) == 0);
}

void indexer_event_info(struct indexer_event_info *out, size_t i)
{
    ASSERT(i < INDEXER_EVENTS_COUNT);
    const struct ix_event *ev = &ix_events[i];
    memset(out, 0, sizeof *out);
    out->contract = ev->contract;
    out->name = ev->name;
    event_signature(out->signature, ev);
    out->params_len = ev->params_len;
    for (size_t k = 0; k < ev->params_len; k++) {
        out->param_names[k] = ev->params[k].name;
        out->param_indexed[k] = ev->params[k].indexed;
    }
}

/* One ABI word as its JSON value (indexer.h "chain_events rows"); NULL
 * when the word is not a valid value of the type. */
static json_t *word_json(enum ix_type type, const uint8_t word[32])
{
    char text[U256_DEC_SIZE > HEX0X_TEXT_SIZE ? U256_DEC_SIZE : HEX0X_TEXT_SIZE];
    if (!word_is_small(word, ix_type_low_bytes[type]))
        return NULL;
    switch (type) {
    case IX_ADDRESS:
        ASSERT(hex_encode_0x(text, sizeof text, word + 12, 20) == 0);
        return json_string(text);
    case IX_BYTES32:
        ASSERT(hex_encode_0x(text, sizeof text, word, 32) == 0);
        return json_string(text);
    case IX_BOOL:
        return word[31] <= 1 ? json_boolean(word[31] == 1) : NULL;
    case IX_UINT256:
    case IX_UINT8:
    case IX_UINT48:
    case IX_UINT64: {
        struct u256 v = u256_from_be32(word);
        u256_to_dec(text, &v);
        return json_string(text);
    }
    }
    return NULL;
}

static json_t *decode_known(const struct ix_event *ev, const struct follow_log *log)
{
    size_t indexed = 0;
    for (size_t i = 0; i < ev->params_len; i++)
        indexed += ev->params[i].indexed;
    size_t words = ev->params_len - indexed;
    if (log->topics_len != 1 + indexed || log->data_len != 32 * words)
        return NULL;
    json_t *args = json_object();
    size_t ti = 1, di = 0;
    for (size_t i = 0; args != NULL && i < ev->params_len; i++) {
        const struct ix_param *p = &ev->params[i];
        const uint8_t *word = p->indexed ? log->topics[ti++] : log->data + 32 * di++;
        json_t *v = word_json(p->type, word);
        if (v == NULL || json_object_set_new(args, p->name, v) != 0) {
            json_decref(args);
            args = NULL;
        }
    }
    return args;
}

/* {"topics": ["0x.."...], "data": "0x.."} */
static json_t *decode_unknown(const struct follow_log *log)
{
    json_t *topics = json_array();
    for (size_t i = 0; topics != NULL && i < log->topics_len; i++) {
        char t[HEX0X_TEXT_SIZE];
        ASSERT(hex_encode_0x(t, sizeof t, log->topics[i], 32) == 0);
        if (json_array_append_new(topics, json_string(t)) != 0) {
            json_decref(topics);
            topics = NULL;
        }
    }
    static const uint8_t none[1];
    size_t cap = 2 + 2 * log->data_len + 1;
    char *data = malloc(cap);
    if (data != NULL)
        ASSERT(hex_encode_0x(data, cap, log->data_len > 0 ? log->data : none, log->data_len) == 0);
    json_t *args = topics != NULL && data != NULL
                       ? json_pack("{s:o, s:s}", "topics", topics, "data", data)
                       : NULL;
    if (args == NULL && topics != NULL && data == NULL)
        json_decref(topics);
    free(data);
    return args;
}

enum indexer_result indexer_decode_log(struct indexer_decoded *out, enum indexer_contract contract,
                                       const struct follow_log *log, struct err *e)
{
    pthread_once(&ix_topics_once, topics_init);
    memset(out, 0, sizeof *out);
    for (size_t i = 0; log->topics_len > 0 && i < INDEXER_EVENTS_COUNT; i++) {
        if (ix_events[i].contract != contract || memcmp(log->topics[0], ix_topics[i], 32) != 0)
            continue;
        out->name = ix_events[i].name;
        out->known = true;
        out->args = decode_known(&ix_events[i], log);
        if (out->args == NULL)
            return (enum indexer_result)err_set(
                e, INDEXER_ERR_BAD_LOG, "undecodable %s log in block %" PRIu64 " at index %" PRIu64,
                ix_events[i].name, log->block_number, log->log_index);
        return INDEXER_OK;
    }
    out->name = "Unknown";
    out->args = decode_unknown(log);
    if (out->args == NULL)
        return (enum indexer_result)err_set(
            e, INDEXER_ERR_BAD_LOG, "out of memory for a log in block %" PRIu64, log->block_number);
    return INDEXER_OK;
}

/* The revenue view of a vault RevenueReceived/Tipped log (exact shape, amount > 0). */
static bool event_decode(struct decoded_event *out, const struct follow_log *log)
{
    pthread_once(&ix_topics_once, topics_init);
    const uint8_t *tp = ix_topics[IX_EVENT_TIPPED], *rr = ix_topics[IX_EVENT_REVENUE_RECEIVED];
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

/* ---- buffered inserts (inside the poll's transaction) ------------------------------------ */

static bool rows_add_chain(struct indexer *ix, const struct follow_log *log,
                           const struct indexer_decoded *d)
{
    char tx[PG_HEX_TEXT_SIZE], bh[PG_HEX_TEXT_SIZE], c[PG_HEX_TEXT_SIZE];
    pg_hex_text(tx, log->tx_hash, 32);
    pg_hex_text(bh, log->block_hash, 32);
    pg_hex_text(c, log->address.bytes, 20);
    json_t *row = json_pack("{s:s, s:I, s:I, s:s, s:s, s:s, s:O}", "tx", tx, "li",
                            (json_int_t)log->log_index, "bn", (json_int_t)log->block_number, "bh",
                            bh, "c", c, "ev", d->name, "args", d->args);
    return row != NULL && json_array_append_new(ix->rows_chain, row) == 0;
}

static bool rows_add_revenue(struct indexer *ix, const struct follow_log *log,
                             const struct decoded_event *ev)
{
    char tx[PG_HEX_TEXT_SIZE], bh[PG_HEX_TEXT_SIZE], ck[PG_HEX_TEXT_SIZE], payer[PG_HEX_TEXT_SIZE];
    char extra[PG_HEX_TEXT_SIZE], amount[U256_DEC_SIZE];
    bool rr = ev->type == EVENT_REVENUE_RECEIVED;
    pg_hex_text(tx, log->tx_hash, 32);
    pg_hex_text(bh, log->block_hash, 32);
    pg_hex_text(ck, ev->creator_key, 32);
    pg_hex_text(payer, ev->payer.bytes, 20);
    if (rr)
        pg_hex_text(extra, ev->source.bytes, 20);
    else
        pg_hex_text(extra, ev->stream_key, 32);
    u256_to_dec(amount, &ev->amount_wei);
    json_t *row = json_pack("{s:s, s:I, s:I, s:s, s:s, s:s, s:s, s:s, s:s}", "tx", tx, "li",
                            (json_int_t)log->log_index, "bn", (json_int_t)log->block_number, "bh",
                            bh, "ev", rr ? "revenue_received" : "tipped", "ck", ck, "payer", payer,
                            "amount", amount, rr ? "src" : "sk", extra);
    if (row != NULL && rr && json_object_set_new(row, "kind", json_integer(ev->kind)) != 0) {
        json_decref(row);
        row = NULL;
    }
    return row != NULL && json_array_append_new(ix->rows_revenue, row) == 0;
}

static enum indexer_result rows_insert(struct indexer *ix, json_t *rows, const char *sql,
                                       uint64_t *inserted, struct err *e)
{
    if (json_array_size(rows) == 0)
        return INDEXER_OK;
    char chain[PG_U64_TEXT_SIZE];
    pg_u64_text(chain, ix->cfg.chain_id);
    char *text = json_dumps(rows, JSON_COMPACT);
    if (text == NULL)
        return (enum indexer_result)err_set(e, INDEXER_ERR_DB, "indexer out of memory");
    const char *params[2] = {chain, text};
    PGresult *res = NULL;
    enum pg_code r = pg_exec(ix->pc, &res, sql, params, 2, e);
    free(text);
    json_array_clear(rows);
    if (r != PG_OK)
        return db_fail(ix, e, "recording events");
    *inserted += strtoull(PQcmdTuples(res), NULL, 10); /* the server's own count */
    PQclear(res);
    return INDEXER_OK;
}

/* Writes the buffered rows: chain_events first, then revenue_events. */
static enum indexer_result rows_flush(struct indexer *ix, struct err *e)
{
    enum indexer_result r =
        rows_insert(ix, ix->rows_chain, sql_insert_chain, &ix->rep->chain_events_seen, e);
    if (r == INDEXER_OK)
        r = rows_insert(ix, ix->rows_revenue, sql_insert_revenue, &ix->rep->events_seen, e);
    return r;
}

/* Decodes one log of `contract` into the buffers (flushed when full). */
static enum indexer_result log_record(struct indexer *ix, const struct follow_log *log,
                                      enum indexer_contract contract, struct err *e)
{
    if (log->log_index > INT32_MAX || log->block_number > INT64_MAX)
        return (enum indexer_result)err_set(
            e, INDEXER_ERR_BAD_LOG, "log index %" PRIu64 " or block %" PRIu64 " out of range",
            log->log_index, log->block_number);
    struct indexer_decoded d;
    enum indexer_result r = indexer_decode_log(&d, contract, log, e);
    if (r != INDEXER_OK)
        return r;
    bool ok = rows_add_chain(ix, log, &d);
    bool revenue = contract == INDEXER_CONTRACT_VAULT && d.known &&
                   (strcmp(d.name, "RevenueReceived") == 0 || strcmp(d.name, "Tipped") == 0);
    json_decref(d.args);
    if (ok && revenue) {
        struct decoded_event ev;
        if (!event_decode(&ev, log))
            return (enum indexer_result)err_set(e, INDEXER_ERR_BAD_LOG,
                                                "zero-amount revenue log in block %" PRIu64
                                                " at index %" PRIu64,
                                                log->block_number, log->log_index);
        ok = rows_add_revenue(ix, log, &ev);
    }
    if (!ok)
        return (enum indexer_result)err_set(e, INDEXER_ERR_DB, "indexer out of memory");
    if (json_array_size(ix->rows_chain) >= INDEXER_INSERT_BATCH_MAX ||
        json_array_size(ix->rows_revenue) >= INDEXER_INSERT_BATCH_MAX)
        return rows_flush(ix, e);
    return INDEXER_OK;
}

/* ---- follower callbacks (inside the poll's transaction) ------------------------------- */

static bool on_log(void *ctx, const struct follow_log *log)
{
    struct indexer *ix = ctx;
    enum indexer_contract c =
        address_eq(&log->address, &ix->cfg.vault) ? INDEXER_CONTRACT_VAULT : INDEXER_CONTRACT_PASS;
    enum indexer_result r = log_record(ix, log, c, &ix->cb_err);
    if (r == INDEXER_OK)
        return true;
    ix->cb_result = r;
    return false;
}

/* Pending rows of blocks >= first are orphaned; the passes' followed_from
 * comes back to the fork so the follower fetches their new logs itself. */
static enum indexer_result orphan_from(struct indexer *ix, uint64_t first_orphaned_block,
                                       struct err *e)
{
    char chain[PG_U64_TEXT_SIZE], bn[PG_U64_TEXT_SIZE];
    pg_u64_text(chain, ix->cfg.chain_id);
    pg_u64_text(bn, first_orphaned_block);
    const char *params[3] = {chain, bn, ix->name};
    PGresult *rev = NULL, *chn = NULL;
    enum indexer_result r = rows_flush(ix, e);
    if (r != INDEXER_OK)
        return r;
    if (pg_exec(ix->pc, &rev,
                "UPDATE revenue_events SET status = 'orphaned' WHERE chain_id = $1::bigint"
                " AND status = 'pending' AND block_number >= $2::bigint",
                params, 2, e) != PG_OK ||
        pg_exec(ix->pc, &chn,
                "UPDATE chain_events SET status = 'orphaned' WHERE chain_id = $1::bigint"
                " AND status = 'pending' AND block_number >= $2::bigint",
                params, 2, e) != PG_OK ||
        pg_exec(ix->pc, NULL,
                "UPDATE indexer_contracts SET followed_from = least(followed_from, $1::bigint),"
                " backfill_next = least(backfill_next, $1::bigint) WHERE name = $2",
                params + 1, 2, e) != PG_OK) {
        PQclear(rev);
        PQclear(chn);
        return db_fail(ix, e, "rolling back a reorg");
    }
    uint64_t n = strtoull(PQcmdTuples(rev), NULL, 10), c = strtoull(PQcmdTuples(chn), NULL, 10);
    PQclear(rev);
    PQclear(chn);
    ix->rep->events_orphaned += n;
    ix->rep->chain_events_orphaned += c;
    ix->rep->reorgs++;
    ix_log(ix, LOG_WARN,
           "reorg from block %" PRIu64 ": %" PRIu64 " pending revenue events and %" PRIu64
           " chain events orphaned",
           first_orphaned_block, n, c);
    return INDEXER_OK;
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
    enum indexer_result r = orphan_from(ix, first_orphaned_block, &ix->cb_err);
    if (r == INDEXER_OK)
        return true;
    ix->cb_result = r;
    return false;
}

/* ---- pass contracts --------------------------------------------------------------------- */

/* The followed passes of this indexer, oldest first, into out[0..*n). */
static enum indexer_result contracts_load(struct indexer *ix, struct address *out, size_t *n,
                                          struct err *e)
{
    char lim[PG_U64_TEXT_SIZE];
    pg_u64_text(lim, CONTRACTS_MAX);
    const char *params[2] = {ix->name, lim};
    PGresult *res = NULL;
    if (pg_exec(ix->pc, &res,
                "SELECT encode(contract, 'hex') FROM indexer_contracts WHERE name = $1"
                " ORDER BY added_at, contract LIMIT $2::integer",
                params, 2, e) != PG_OK)
        return db_fail(ix, e, "loading the followed passes");
    *n = (size_t)PQntuples(res);
    bool ok = *n <= CONTRACTS_MAX;
    for (size_t i = 0; ok && i < *n; i++)
        ok = pg_get_hex(out[i].bytes, 20, res, (int)i, 0) && !address_eq(&out[i], &ix->cfg.vault);
    PQclear(res);
    if (!ok)
        return (enum indexer_result)err_set(e, INDEXER_ERR_CORRUPT,
                                            "followed passes of '%s' unreadable", ix->name);
    return INDEXER_OK;
}

/* Follows the passes registered since the last poll (see indexer.h). */
static enum indexer_result contracts_sync(struct indexer *ix, struct err *e)
{
    ASSERT(ix->contracts_len <= CONTRACTS_MAX);
    if (ix->contracts_len == CONTRACTS_MAX) {
        if (!ix->contracts_full_logged)
            ix_log(ix, LOG_ERROR, "%d pass contracts followed: passes registered later are not",
                   CONTRACTS_MAX);
        ix->contracts_full_logged = true;
        return INDEXER_OK;
    }
    char next[PG_U64_TEXT_SIZE], start[PG_U64_TEXT_SIZE], vault[PG_BYTEA_TEXT_SIZE],
        room[PG_U64_TEXT_SIZE];
    pg_u64_text(next, follow_next_block(&ix->follow));
    pg_u64_text(start, ix->cfg.start_block);
    pg_bytea_text(vault, ix->cfg.vault.bytes, 20);
    pg_u64_text(room, CONTRACTS_MAX - ix->contracts_len);
    const char *params[5] = {ix->name, next, start, vault, room};
    PGresult *res = NULL;
    if (pg_exec(ix->pc, &res,
                "INSERT INTO indexer_contracts (name, contract, followed_from, backfill_next)"
                " SELECT $1, p.contract, $2::bigint, least($2::bigint, coalesce(p.deploy_block,"
                " $3::bigint)) FROM passes p WHERE p.contract <> $4::bytea AND NOT EXISTS"
                " (SELECT 1 FROM indexer_contracts c WHERE c.name = $1 AND c.contract = p.contract)"
                " ORDER BY p.created_at, p.contract LIMIT $5::integer"
                " RETURNING encode(contract, 'hex'), backfill_next",
                params, 5, e) != PG_OK)
        return db_fail(ix, e, "following new passes");
    size_t n = (size_t)PQntuples(res);
    enum indexer_result r = INDEXER_OK;
    ASSERT(n <= CONTRACTS_MAX - ix->contracts_len);
    for (size_t i = 0; r == INDEXER_OK && i < n; i++) {
        struct address a;
        uint64_t from = 0;
        struct err fe = {0};
        if (!pg_get_hex(a.bytes, 20, res, (int)i, 0) || !pg_get_u64(&from, res, (int)i, 1))
            r = (enum indexer_result)err_set(e, INDEXER_ERR_CORRUPT, "a pass contract row");
        else if (follow_add_address(&ix->follow, &a, &fe) != FOLLOW_OK)
            r = (enum indexer_result)err_set(e, INDEXER_ERR_BAD_INPUT, "%s", fe.msg);
        if (r != INDEXER_OK)
            break;
        ix->contracts_len++;
        ix->rep->contracts_added++;
        if (from < follow_next_block(&ix->follow))
            ix_log(ix, LOG_INFO, "following pass 0x%s from block %s, backfilling from %" PRIu64,
                   PQgetvalue(res, (int)i, 0), next, from);
        else
            ix_log(ix, LOG_INFO, "following pass 0x%s from block %s", PQgetvalue(res, (int)i, 0),
                   next);
    }
    PQclear(res);
    return r;
}

/* ---- backfill: logs of a pass in blocks delivered before it was followed ------------------ */

static enum indexer_result backfill_fetch(struct indexer *ix, json_t **logs_out,
                                          const struct address *contract, uint64_t from,
                                          uint64_t to, enum rpc_result *rr, struct err *e)
{
    char qf[PG_U64_TEXT_SIZE], qt[PG_U64_TEXT_SIZE], addr[ADDRESS_TEXT_SIZE];
    snprintf(qf, sizeof qf, "0x%" PRIx64, from);
    snprintf(qt, sizeof qt, "0x%" PRIx64, to);
    address_format_lower(addr, contract);
    json_t *params =
        json_pack("[{s:s, s:s, s:s}]", "fromBlock", qf, "toBlock", qt, "address", addr);
    *logs_out = NULL;
    if (params == NULL)
        return (enum indexer_result)err_set(e, INDEXER_ERR_DB, "indexer out of memory");
    *rr = rpc_call(ix->rpc, "eth_getLogs", params, logs_out, e);
    if (*rr == RPC_OK && !json_is_array(*logs_out)) {
        json_decref(*logs_out);
        *logs_out = NULL;
        *rr = RPC_ERR_BAD_RESPONSE;
        err_set(e, INDEXER_ERR_RPC, "eth_getLogs answered no array");
    }
    return *rr == RPC_OK ? INDEXER_OK : INDEXER_ERR_RPC;
}

/* Records the logs of one eth_getLogs answer for from..to, after checking
 * all of them: each of `contract`, in the range, and carrying the hash the
 * follower remembers for its block (else *consistent = false and nothing is
 * recorded: the node's view moved). */
static enum indexer_result backfill_range(struct indexer *ix, const struct address *contract,
                                          const json_t *logs, uint64_t from, uint64_t to,
                                          bool *consistent, struct err *e)
{
    struct follow_block recent[FOLLOW_WINDOW_MAX];
    size_t n = follow_recent(&ix->follow, recent, FOLLOW_WINDOW_MAX);
    uint8_t data[FOLLOW_LOG_DATA_BYTES_MAX];
    *consistent = true;
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < json_array_size(logs); i++) {
            struct follow_log log;
            if (!follow_log_from_json(&log, data, sizeof data, json_array_get(logs, i)) ||
                !address_eq(&log.address, contract) || log.block_number < from ||
                log.block_number > to)
                return (enum indexer_result)err_set(e, INDEXER_ERR_RPC,
                                                    "backfill: a malformed or foreign log in"
                                                    " blocks %" PRIu64 "..%" PRIu64,
                                                    from, to);
            bool remembered = n > 0 && log.block_number >= recent[0].number &&
                              log.block_number <= recent[n - 1].number;
            if (remembered &&
                memcmp(recent[log.block_number - recent[0].number].hash, log.block_hash, 32) != 0) {
                *consistent = false;
                ix_log(ix, LOG_INFO, "backfill: block %" PRIu64 " changed; retried next poll",
                       log.block_number);
                return INDEXER_OK;
            }
            if (pass == 0)
                continue;
            enum indexer_result r = log_record(ix, &log, INDEXER_CONTRACT_PASS, e);
            if (r != INDEXER_OK)
                return r;
            ix->rep->backfilled_logs++;
        }
    }
    return INDEXER_OK;
}

/* Backfills from..end of one contract in ranges (halved when the node
 * objects, as follow.h); *next: the first block not done. */
static enum indexer_result backfill_contract(struct indexer *ix, const struct address *contract,
                                             uint64_t from, uint64_t end, uint64_t *next,
                                             struct err *e)
{
    uint64_t range = ix->cfg.range_max;
    *next = from;
    for (int round = 0; round < BACKFILL_RANGES_MAX && *next <= end; round++) {
        uint64_t to = end - *next + 1 > range ? *next + range - 1 : end;
        json_t *logs = NULL;
        enum rpc_result rr = RPC_OK;
        enum indexer_result r = backfill_fetch(ix, &logs, contract, *next, to, &rr, e);
        bool too_many = r == INDEXER_OK && json_array_size(logs) > FOLLOW_RANGE_LOGS_MAX;
        bool range_error = too_many || (r != INDEXER_OK && rr != RPC_ERR_BAD_RESPONSE &&
                                        follow_is_range_error(rr, &ix->rpc->last_remote));
        if (range_error && range > 1) {
            json_decref(logs);
            range /= 2;
            continue;
        }
        bool consistent = true;
        if (r == INDEXER_OK && too_many)
            r = (enum indexer_result)err_set(e, INDEXER_ERR_RPC,
                                             "more than %d logs in block %" PRIu64,
                                             FOLLOW_RANGE_LOGS_MAX, *next);
        if (r == INDEXER_OK)
            r = backfill_range(ix, contract, logs, *next, to, &consistent, e);
        json_decref(logs);
        if (r != INDEXER_OK || !consistent)
            return r;
        *next = to + 1;
    }
    return INDEXER_OK;
}

/* At most INDEXER_BACKFILL_BLOCKS_PER_POLL blocks of the passes still to
 * backfill; *done false when some remain. A node failure stops the
 * backfill for this poll (logged) without failing the poll. */
static enum indexer_result backfill(struct indexer *ix, bool *done, struct err *e)
{
    char lim[PG_U64_TEXT_SIZE];
    pg_u64_text(lim, BACKFILL_CONTRACTS_PER_POLL);
    const char *params[2] = {ix->name, lim};
    PGresult *res = NULL;
    *done = true;
    if (pg_exec(ix->pc, &res,
                "SELECT encode(contract, 'hex'), backfill_next, followed_from FROM"
                " indexer_contracts WHERE name = $1 AND backfill_next < followed_from"
                " ORDER BY added_at, contract LIMIT $2::integer",
                params, 2, e) != PG_OK)
        return db_fail(ix, e, "reading the passes to backfill");
    size_t n = (size_t)PQntuples(res);
    uint64_t budget = INDEXER_BACKFILL_BLOCKS_PER_POLL;
    enum indexer_result r = INDEXER_OK;
    *done = n < BACKFILL_CONTRACTS_PER_POLL;
    size_t i = 0;
    for (; r == INDEXER_OK && i < n && budget > 0; i++) {
        struct address a;
        uint64_t from = 0, followed = 0, next = 0;
        if (!pg_get_hex(a.bytes, 20, res, (int)i, 0) || !pg_get_u64(&from, res, (int)i, 1) ||
            !pg_get_u64(&followed, res, (int)i, 2) || from >= followed) {
            r = (enum indexer_result)err_set(e, INDEXER_ERR_CORRUPT, "a pass to backfill");
            break;
        }
        uint64_t end = followed - from > budget ? from + budget - 1 : followed - 1;
        r = backfill_contract(ix, &a, from, end, &next, e);
        budget -= next - from;
        *done = *done && next == followed;
        char c[PG_BYTEA_TEXT_SIZE], nb[PG_U64_TEXT_SIZE];
        pg_bytea_text(c, a.bytes, 20);
        pg_u64_text(nb, next);
        const char *up[3] = {ix->name, c, nb};
        struct err ue = {0};
        if ((r == INDEXER_OK || r == INDEXER_ERR_RPC) && next > from &&
            pg_exec(ix->pc, NULL,
                    "UPDATE indexer_contracts SET backfill_next = $3::bigint"
                    " WHERE name = $1 AND contract = $2::bytea",
                    up, 3, &ue) != PG_OK) {
            *e = ue;
            r = db_fail(ix, e, "saving the backfill");
        }
        if (r == INDEXER_ERR_RPC) {
            ix_log(ix, LOG_WARN, "backfill of pass %s stopped at block %" PRIu64 ": %s", c + 2,
                   next, e->msg);
            err_clear(e);
            r = INDEXER_OK;
            i++;
            break;
        }
        if (next <= end) {
            i++;
            break; /* the node's view moved: the next poll goes on */
        }
    }
    *done = *done && i == n;
    PQclear(res);
    return r;
}

/* ---- posting confirmed events ------------------------------------------------------------ */

/* The postings of one event: debit vault, credit each non-zero part of the
 * creator's split effective at the block, or unattributed. *version_out is
 * the split version, or 0 when posted as unattributed. */
/* The split version in force for one creator over a range of blocks: the
 * version found for block `from`, which stays in force below `until` (the
 * next version's first block; UINT64_MAX when there is none). Versions are
 * immutable and a new one starts after the chain's head, so within one
 * confirmation batch (events in ascending block order) a lookup serves
 * every later event of that creator below `until`. */
/* Each array literal of one confirmation batch: INDEXER_POST_BATCH_MAX
 * numbers of at most 20 digits and a separator, with room. */
#define IX_CONFIRM_ARRAY_BYTES_MAX (INDEXER_POST_BATCH_MAX * 24 + 16)

struct split_memo {
    bool valid;
    uint8_t creator_key[32];
    uint64_t from, until;
    int version;
    struct split_share shares[SPLIT_PAYEES_MAX];
    size_t shares_len;
};

/* Fills memo with the split version of ev's creator at ev's block (one
 * query). shares_len 0: no version in force (memo not valid). */
static enum indexer_result split_lookup(struct indexer *ix, struct split_memo *memo,
                                        const struct pending_event *ev, struct err *e)
{
    char ck[PG_BYTEA_TEXT_SIZE], bn[PG_U64_TEXT_SIZE];
    pg_bytea_text(ck, ev->creator_key, 32);
    snprintf(bn, sizeof bn, "%" PRIu64, ev->key.block_number);
    const char *params[2] = {ck, bn};
    PGresult *res = NULL;
    if (pg_exec(ix->pc, &res,
                "SELECT s.version, encode(s.payee, 'hex'), s.bps,"
                " (SELECT min(n.effective_from_block) FROM split_versions n"
                "   WHERE n.creator_id = c.id AND n.effective_from_block > $2::bigint)"
                " FROM creators c JOIN split_shares s ON s.creator_id = c.id"
                " WHERE c.creator_key = $1::bytea AND s.version = (SELECT max(v.version)"
                "  FROM split_versions v WHERE v.creator_id = c.id"
                "  AND v.effective_from_block <= $2::bigint)"
                " ORDER BY s.payee",
                params, 2, e) != PG_OK)
        return db_fail(ix, e, "reading a split version");
    int rows = PQntuples(res);
    bool ok = rows <= SPLIT_PAYEES_MAX;
    memo->valid = false;
    memo->version = 0;
    memo->until = UINT64_MAX;
    for (int i = 0; ok && i < rows; i++) {
        uint64_t bps = 0, version = 0;
        ok = pg_get_hex(memo->shares[i].payee.bytes, 20, res, i, 1) &&
             pg_get_u64(&bps, res, i, 2) && pg_get_u64(&version, res, i, 0) &&
             bps <= SPLIT_BPS_TOTAL && version <= INT32_MAX &&
             (PQgetisnull(res, i, 3) || pg_get_u64(&memo->until, res, i, 3));
        memo->shares[i].share_bps = (uint32_t)bps;
        memo->version = (int)version;
    }
    PQclear(res);
    if (!ok)
        return (enum indexer_result)err_set(e, INDEXER_ERR_CORRUPT,
                                            "split shares unreadable at block %" PRIu64,
                                            ev->key.block_number);
    memo->shares_len = (size_t)rows;
    if (rows > 0) {
        memo->valid = true;
        memcpy(memo->creator_key, ev->creator_key, 32);
        memo->from = ev->key.block_number;
    }
    return INDEXER_OK;
}

static enum indexer_result event_postings(struct indexer *ix, struct ledger_posting *postings,
                                          size_t *postings_len, int *version_out,
                                          struct split_memo *memo, const struct pending_event *ev,
                                          struct err *e)
{
    const struct split_share *shares = memo->shares;
    size_t shares_len = 0;
    *version_out = 0;
    if (ev->attributed) {
        bool hit = memo->valid && memcmp(memo->creator_key, ev->creator_key, 32) == 0 &&
                   ev->key.block_number >= memo->from && ev->key.block_number < memo->until;
        if (!hit) {
            enum indexer_result r = split_lookup(ix, memo, ev, e);
            if (r != INDEXER_OK)
                return r;
        }
        shares_len = memo->shares_len;
        *version_out = memo->version;
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
    char chain[PG_U64_TEXT_SIZE], tb[PG_U64_TEXT_SIZE], lim[PG_U64_TEXT_SIZE];
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
    struct split_memo *memo = calloc(1, sizeof *memo);
    if (evs == NULL || entries == NULL || postings == NULL || versions == NULL || ids == NULL ||
        memo == NULL) {
        r = (enum indexer_result)err_set(e, INDEXER_ERR_DB, "indexer out of memory");
        goto out;
    }
    for (size_t i = 0; i < n && r == INDEXER_OK; i++) {
        struct pending_event *ev = &evs[i];
        uint64_t id = 0, li = 0;
        const char *amount = PQgetvalue(res, (int)i, 6);
        ev->key.chain_id = ix->cfg.chain_id;
        bool ok = pg_get_u64(&id, res, (int)i, 0) &&
                  pg_get_hex(ev->key.tx_hash, 32, res, (int)i, 1) &&
                  pg_get_u64(&li, res, (int)i, 2) && li <= INT32_MAX &&
                  pg_get_u64(&ev->key.block_number, res, (int)i, 3) &&
                  pg_get_hex(ev->key.block_hash, 32, res, (int)i, 4) &&
                  pg_get_hex(ev->creator_key, 32, res, (int)i, 5) &&
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
        r = event_postings(ix, p, &plen, &versions[i], memo, ev, e);
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
    /* One statement marks the whole batch confirmed: three parallel arrays
     * (id, split version or NULL, ledger entry or NULL) as array literals. */
    struct buf a_id, a_ver, a_entry;
    buf_init(&a_id, IX_CONFIRM_ARRAY_BYTES_MAX);
    buf_init(&a_ver, IX_CONFIRM_ARRAY_BYTES_MAX);
    buf_init(&a_entry, IX_CONFIRM_ARRAY_BYTES_MAX);
    bool built = true;
    for (size_t i = 0; built && i < n; i++) {
        const char *sep = i == 0 ? "{" : ",";
        char ver[16] = "NULL", entry[PG_U64_TEXT_SIZE] = "NULL";
        if (versions[i] > 0)
            snprintf(ver, sizeof ver, "%d", versions[i]);
        if (ids[i] > 0)
            snprintf(entry, sizeof entry, "%" PRIu64, ids[i]);
        built = buf_printf(&a_id, "%s%" PRId64, sep, evs[i].id) == BUF_OK &&
                buf_printf(&a_ver, "%s%s", sep, ver) == BUF_OK &&
                buf_printf(&a_entry, "%s%s", sep, entry) == BUF_OK;
        if (!ix->has_confirmed || evs[i].key.block_number > ix->confirmed_through)
            ix->confirmed_through = evs[i].key.block_number;
        ix->has_confirmed = true;
    }
    built = built && buf_append_str(&a_id, "}") == BUF_OK &&
            buf_append_str(&a_ver, "}") == BUF_OK && buf_append_str(&a_entry, "}") == BUF_OK;
    if (!built) {
        r = (enum indexer_result)err_set(e, INDEXER_ERR_DB, "indexer out of memory");
    } else {
        const char *up[3] = {(const char *)a_id.data, (const char *)a_ver.data,
                             (const char *)a_entry.data};
        if (pg_exec(ix->pc, NULL,
                    "UPDATE revenue_events r SET status = 'confirmed', split_version = u.version,"
                    " ledger_entry_id = u.entry"
                    " FROM unnest($1::bigint[], $2::integer[], $3::bigint[]) AS u(id, version, entry)"
                    " WHERE r.id = u.id AND r.status = 'pending'",
                    up, 3, e) != PG_OK)
            r = db_fail(ix, e, "marking events confirmed");
    }
    buf_release(&a_id);
    buf_release(&a_ver);
    buf_release(&a_entry);
    ix->rep->events_confirmed += n;
    *done = n;
out:
    PQclear(res);
    free(evs);
    free(entries);
    free(postings);
    free(versions);
    free(ids);
    free(memo);
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

/* Pending unattributed revenue up to `target` whose pass or stream has been
 * registered since it was seen counts for the creator (indexer.h). */
static enum indexer_result reattribute(struct indexer *ix, uint64_t target, struct err *e)
{
    char chain[PG_U64_TEXT_SIZE], tb[PG_U64_TEXT_SIZE];
    pg_u64_text(chain, ix->cfg.chain_id);
    pg_u64_text(tb, target);
    const char *params[2] = {chain, tb};
    PGresult *res = NULL;
    if (pg_exec(ix->pc, &res,
                "UPDATE revenue_events SET attribution = 'creator' WHERE chain_id = $1::bigint"
                " AND status = 'pending' AND attribution = 'unattributed'"
                " AND block_number <= $2::bigint"
                " AND revenue_is_attributed(creator_key, event, source, stream_key)",
                params, 2, e) != PG_OK)
        return db_fail(ix, e, "attributing pending events");
    ix->rep->events_reattributed += strtoull(PQcmdTuples(res), NULL, 10);
    PQclear(res);
    return INDEXER_OK;
}

/* Pending chain_events up to confirmed_through are final. */
static enum indexer_result confirm_chain_events(struct indexer *ix, struct err *e)
{
    if (!ix->has_confirmed)
        return INDEXER_OK;
    char chain[PG_U64_TEXT_SIZE], tb[PG_U64_TEXT_SIZE];
    pg_u64_text(chain, ix->cfg.chain_id);
    pg_u64_text(tb, ix->confirmed_through);
    const char *params[2] = {chain, tb};
    PGresult *res = NULL;
    if (pg_exec(ix->pc, &res,
                "UPDATE chain_events SET status = 'confirmed' WHERE chain_id = $1::bigint"
                " AND status = 'pending' AND block_number <= $2::bigint",
                params, 2, e) != PG_OK)
        return db_fail(ix, e, "confirming chain events");
    ix->rep->chain_events_confirmed += strtoull(PQcmdTuples(res), NULL, 10);
    PQclear(res);
    return INDEXER_OK;
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
    char next[PG_U64_TEXT_SIZE], conf[PG_U64_TEXT_SIZE];
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
    char chain[PG_U64_TEXT_SIZE], start[PG_U64_TEXT_SIZE], vault[PG_BYTEA_TEXT_SIZE];
    snprintf(chain, sizeof chain, "%" PRIu64, ix->cfg.chain_id);
    snprintf(start, sizeof start, "%" PRIu64, ix->cfg.start_block);
    pg_bytea_text(vault, ix->cfg.vault.bytes, 20);
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
    ok = ok && pg_get_u64(&next, res, 0, 0) && (!ix->has_confirmed || pg_get_u64(&conf, res, 0, 1));
    PQclear(res);
    if (!ok)
        return (enum indexer_result)err_set(e, INDEXER_ERR_CORRUPT, "cursor '%s' unreadable",
                                            ix->name);
    if (!same)
        return (enum indexer_result)err_set(
            e, INDEXER_ERR_BAD_INPUT, "cursor '%s' belongs to another chain or vault", ix->name);
    ix->confirmed_through = conf;
    struct address addresses[FOLLOW_ADDRESSES_MAX];
    size_t passes = 0;
    addresses[0] = ix->cfg.vault;
    enum indexer_result r = contracts_load(ix, addresses + 1, &passes, e);
    if (r != INDEXER_OK)
        return r;
    ix->contracts_len = passes;
    struct follow_config fc;
    follow_config_default(&fc);
    fc.addresses = addresses;
    fc.addresses_len = 1 + passes;
    fc.topic0_len = 0; /* every event of these contracts */
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
        ok = pg_get_u64(&blocks[i].number, res, (int)i, 0) &&
             pg_get_hex(blocks[i].hash, 32, res, (int)i, 1);
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
    cfg->name = INDEXER_NAME_DEFAULT;
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
    char key[PG_U64_TEXT_SIZE];
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
    char key[PG_U64_TEXT_SIZE];
    snprintf(key, sizeof key, "%lld", ix->cfg.lock_key);
    const char *params[1] = {key};
    if (pg_exec(ix->pc, NULL, "SELECT pg_advisory_unlock($1::bigint)", params, 1, NULL) != PG_OK)
        ix_log(ix, LOG_WARN, "could not release the leader lock");
}

bool indexer_halted(const struct indexer *ix)
{
    return ix->halted;
}

void indexer_progress(struct indexer_progress *out, const struct indexer *ix)
{
    struct follow_block cursor;
    memset(out, 0, sizeof *out);
    out->has_indexed = follow_cursor(&ix->follow, &cursor);
    out->indexed_block = out->has_indexed ? cursor.number : 0;
    out->has_confirmed = ix->has_confirmed;
    out->confirmed_through = ix->has_confirmed ? ix->confirmed_through : 0;
}

enum indexer_result indexer_read_progress(struct indexer_progress *out, struct pg_session *pc,
                                          const char *name, uint64_t chain_id,
                                          const struct address *vault, struct err *e)
{
    char chain[PG_U64_TEXT_SIZE], v[PG_BYTEA_TEXT_SIZE];
    pg_u64_text(chain, chain_id);
    pg_bytea_text(v, vault->bytes, 20);
    const char *params[3] = {name, chain, v};
    PGresult *res = NULL;
    memset(out, 0, sizeof *out);
    if (pg_exec(pc, &res,
                "SELECT next_block, coalesce(confirmed_through, -1) FROM indexer_cursor"
                " WHERE name = $1 AND chain_id = $2::bigint AND vault = $3::bytea",
                params, 3, e) != PG_OK) {
        char cause[sizeof e->msg];
        snprintf(cause, sizeof cause, "%s", e->msg);
        return (enum indexer_result)err_set(e, INDEXER_ERR_DB, "reading the indexer cursor: %s",
                                            cause);
    }
    uint64_t next = 0;
    bool ok = PQntuples(res) <= 1;
    if (ok && PQntuples(res) == 1) {
        out->has_confirmed = strcmp(PQgetvalue(res, 0, 1), "-1") != 0;
        ok = pg_get_u64(&next, res, 0, 0) &&
             (!out->has_confirmed || pg_get_u64(&out->confirmed_through, res, 0, 1));
        out->has_indexed = ok && next > 0;
        out->indexed_block = out->has_indexed ? next - 1 : 0;
    }
    PQclear(res);
    if (!ok)
        return (enum indexer_result)err_set(e, INDEXER_ERR_CORRUPT, "cursor '%s' unreadable", name);
    return INDEXER_OK;
}

/* The follower's answer as a result; a refused callback keeps its own. */
static enum indexer_result follow_outcome(struct indexer *ix, enum follow_result fr,
                                          const struct err *fe, struct err *e)
{
    if (fr == FOLLOW_ERR_CALLBACK && ix->cb_result != INDEXER_OK) {
        *e = ix->cb_err;
        return ix->cb_result;
    }
    if (fr == FOLLOW_ERR_DEEP_REORG)
        return (enum indexer_result)err_set(e, INDEXER_ERR_DEEP_REORG,
                                            "reorg deeper than the follower's window: %s", fe->msg);
    if (fr != FOLLOW_OK)
        return (enum indexer_result)err_set(e, INDEXER_ERR_RPC, "indexer follow failed: %s",
                                            fe->msg);
    return INDEXER_OK;
}

/* The poll's work inside its open transaction. */
static enum indexer_result poll_in_tx(struct indexer *ix, struct err *e)
{
    struct follow_poll_report frep;
    struct err fe = {0};
    ix->cb_result = INDEXER_OK;
    err_clear(&ix->cb_err);
    enum indexer_result r = contracts_sync(ix, e);
    if (r != INDEXER_OK)
        return r;
    enum follow_result fr = follow_poll(&ix->follow, &frep, &fe);
    ix->rep->head = frep.head;
    r = follow_outcome(ix, fr, &fe, e);
    bool backfilled = true;
    if (r == INDEXER_OK)
        r = rows_flush(ix, e);
    if (r == INDEXER_OK)
        r = backfill(ix, &backfilled, e);
    if (r == INDEXER_OK)
        r = rows_flush(ix, e);
    if (r != INDEXER_OK)
        return r;
    ix->rep->caught_up = frep.caught_up && backfilled;
    struct follow_block cursor;
    if (follow_cursor(&ix->follow, &cursor) && frep.head >= ix->cfg.confirmations) {
        uint64_t target = frep.head - ix->cfg.confirmations;
        if (cursor.number < target)
            target = cursor.number;
        r = reattribute(ix, target, e);
        if (r == INDEXER_OK)
            r = confirm_upto(ix, target, e);
        if (r == INDEXER_OK)
            r = confirm_chain_events(ix, e);
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
    uint64_t confirmed_before = ix->confirmed_through;
    bool has_confirmed_before = ix->has_confirmed;
    size_t contracts_before = ix->contracts_len;
    if (pg_begin(ix->pc, PG_READ_COMMITTED, e) != PG_OK)
        return db_fail(ix, e, "BEGIN");
    ix->rep = &rep;
    ix->rows_chain = json_array();
    ix->rows_revenue = json_array();
    enum indexer_result r = INDEXER_OK;
    if (ix->rows_chain == NULL || ix->rows_revenue == NULL)
        r = (enum indexer_result)err_set(e, INDEXER_ERR_DB, "indexer out of memory");
    if (r == INDEXER_OK)
        r = poll_in_tx(ix, e);
    if (r == INDEXER_OK && pg_commit(ix->pc, e) != PG_OK)
        r = db_fail(ix, e, "COMMIT");
    json_decref(ix->rows_chain);
    json_decref(ix->rows_revenue);
    ix->rows_chain = ix->rows_revenue = NULL;
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
    ix->contracts_len = contracts_before;
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
