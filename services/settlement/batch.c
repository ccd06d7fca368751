/*
 * batch.c - settlement batches (see batch.h).
 *
 * Rows travel as text: keys and addresses as hex (encode()/decode() in the
 * SQL), wei as decimal text of numeric(78,0). A batch's leaves and the
 * reversal ids are written with one statement each, from "{...}" array
 * literals (struct batch_array).
 */
#include "batch.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "abi.h"
#include "buf.h"
#include "hex.h"
#include "ledger.h"

#define BATCH_TX_ATTEMPTS 5
#define BATCH_EVENTS_PAGE 256
#define BATCH_EVENT_PAGES_MAX 16   /* per round */
#define BATCH_ARRAY_ELEMENT_MAX 80 /* a 78-digit amount and its comma */
#define BATCH_CALLDATA_BYTES_MAX (ABI_SELECTOR_BYTES + 4 * ABI_WORD_BYTES)
#define BATCH_OPEN_SQL "('pending', 'submitted', 'anchored', 'claimable')"

/* A "{a,b,...}" literal of a PostgreSQL array parameter, at most `n`
 * elements of BATCH_ARRAY_ELEMENT_MAX bytes. */
struct batch_array {
    struct buf b;
    size_t count;
    bool ok;
};

/* A leaf to reverse: its settlement entry and what that entry moved. */
struct batch_reversible {
    struct address payee;
    struct u256 amount_wei;
    uint64_t entry_id;
};

/* The batch row an event applies to (locked). */
struct batch_target {
    char id[IDS_UUID_SIZE];
    enum batch_status status;
    uint8_t creator_key[BATCH_KEY_BYTES];
    uint8_t merkle_root[MERKLE_HASH_BYTES];
    struct u256 total_wei;
};

/* A confirmed vault log of chain_events, decoded from its args. */
struct batch_event {
    uint64_t block_number;
    int64_t log_index;
    char name[32];
    uint8_t tx_hash[32];
    uint8_t batch_key[BATCH_KEY_BYTES];
    uint8_t root[MERKLE_HASH_BYTES]; /* SettlementAnchored */
    struct u256 amount_wei;          /* total (Anchored, Cancelled), amount (Reclaimed, Claimed) */
    uint64_t claimable_at;           /* SettlementAnchored */
    struct address account;          /* Claimed */
};

/* State of one job round handed to the pg_run_tx callbacks. */
struct batch_round {
    struct batch_job *j;
    struct batch_job_report *rep;
    struct batch_job_report saved; /* *rep before the running transaction */
    bool has_now;
    uint64_t now; /* the latest block's time */
    const char *id;
    size_t events;
};

struct batch_create_ctx {
    struct batch_created *out;
    struct address owner;
    uint8_t creator_key[BATCH_KEY_BYTES];
    struct batch_leaf *leaves;
    size_t n;
    uint8_t tx_hash[32]; /* the settle transaction's first attempt */
};

struct batch_update;
struct batch_reclaim_ctx;

static void batch_array_init(struct batch_array *a, size_t n);
static void batch_array_add(struct batch_array *a, const char *text);
static const char *batch_array_close(struct batch_array *a);
static enum pg_code batch_pg_of_ledger(enum ledger_result r);
static enum pg_code batch_pg_of_session(const struct pg_session *pc);
static void batch_log(const struct batch_job *j, enum log_level level, const char *msg,
                      const char *id, const struct err *e);
static void batch_purpose(char out[BATCH_PURPOSE_SIZE], const char *verb, const char *id);
static enum batch_result batch_result_of_txmgr(enum txmgr_result r);
static enum batch_result batch_lock_creator(struct batch_create_ctx *c, struct pg_session *pc,
                                            const struct batch_create_request *req, struct err *e);
static enum batch_result batch_collect(struct batch_create_ctx *c, struct pg_session *pc,
                                       struct err *e);
static enum pg_code batch_insert_leaves(struct pg_session *pc, const char *id,
                                        const struct batch_leaf *leaves, const uint64_t *entry_ids,
                                        size_t n, struct err *e);
static enum batch_result batch_store(struct batch_create_ctx *c, struct pg_session *pc,
                                     const char *creator_id, struct err *e);
static enum batch_result batch_submit(struct batch_create_ctx *c, struct pg_session *pc,
                                      struct rpc_client *rpc, struct txmgr *tm,
                                      const struct batch_create_request *req, struct err *e);
static bool batch_row_parse(struct batch_info *o, const PGresult *res, int row);
static enum pg_code batch_update_row(struct pg_session *pc, const char *id,
                                     const struct batch_update *u, struct err *e);
static enum pg_code batch_reversible(struct batch_reversible **out, size_t *n,
                                     struct pg_session *pc, const struct batch_target *t,
                                     struct err *e);
static enum pg_code batch_reverse(uint32_t *count, struct u256 *sum, struct pg_session *pc,
                                  const struct batch_target *t, struct err *e);
static enum pg_code batch_round_tx(struct batch_round *r, struct pg_session *pc,
                                   enum pg_code (*fn)(struct pg_session *, void *, struct err *),
                                   void *ctx, struct err *e);
static enum pg_code batch_tx_state_one(struct pg_session *pc, void *ctx, struct err *e);
static enum batch_result batch_pass_txs(struct batch_round *r, struct pg_session *pc,
                                        struct err *e);
static bool batch_event_parse(struct batch_event *ev, const PGresult *res, int row);
static enum pg_code batch_lock_target(bool *found, struct batch_target *t, struct pg_session *pc,
                                      const uint8_t batch_key[BATCH_KEY_BYTES], struct err *e);
static bool batch_is_open(enum batch_status s);
static enum pg_code batch_apply_anchored(struct batch_round *r, struct pg_session *pc,
                                         const struct batch_target *t, const struct batch_event *ev,
                                         struct err *e);
static enum pg_code batch_apply_claimed(struct batch_round *r, struct pg_session *pc,
                                        const struct batch_target *t, const struct batch_event *ev,
                                        struct err *e);
static enum pg_code batch_apply_ended(struct batch_round *r, struct pg_session *pc,
                                      const struct batch_target *t, const struct batch_event *ev,
                                      struct err *e);
static enum pg_code batch_apply_event(struct batch_round *r, struct pg_session *pc,
                                      const struct batch_event *ev, struct err *e);
static enum pg_code batch_events_page(struct pg_session *pc, void *ctx, struct err *e);
static bool batch_head_time(uint64_t *out, struct rpc_client *rpc, struct err *e);
static bool batch_claim_window(struct batch_job *j, struct rpc_client *rpc, struct err *e);
static enum batch_result batch_pass_time(struct batch_round *r, struct pg_session *pc,
                                         struct err *e);
static enum pg_code batch_reclaim_one(struct pg_session *pc, void *ctx, struct err *e);
static enum batch_result batch_pass_reclaims(struct batch_round *r, struct pg_session *pc,
                                             struct rpc_client *rpc, struct err *e);

static const char *const BATCH_STATUS_NAMES[BATCH_STATUS_COUNT] = {
    "pending", "submitted", "anchored", "claimable", "cancelled", "reclaimed", "failed"};

/* ---- small helpers ------------------------------------------------------------------ */

const char *batch_status_name(enum batch_status s)
{
    ASSERT((unsigned)s < BATCH_STATUS_COUNT);
    return BATCH_STATUS_NAMES[s];
}

bool batch_status_parse(enum batch_status *out, const char *name)
{
    for (unsigned i = 0; i < BATCH_STATUS_COUNT; i++)
        if (strcmp(name, BATCH_STATUS_NAMES[i]) == 0) {
            *out = (enum batch_status)i;
            return true;
        }
    return false;
}

static void batch_array_init(struct batch_array *a, size_t n)
{
    buf_init(&a->b, n * BATCH_ARRAY_ELEMENT_MAX + 3);
    a->count = 0;
    a->ok = buf_append_byte(&a->b, '{') == BUF_OK;
}

static void batch_array_add(struct batch_array *a, const char *text)
{
    ASSERT(strlen(text) < BATCH_ARRAY_ELEMENT_MAX);
    a->ok = a->ok && (a->count == 0 || buf_append_byte(&a->b, ',') == BUF_OK) &&
            buf_append_str(&a->b, text) == BUF_OK;
    a->count++;
}

/* The NUL-terminated literal; NULL when an append failed (out of memory). */
static const char *batch_array_close(struct batch_array *a)
{
    a->ok = a->ok && buf_append(&a->b, "}", 2) == BUF_OK;
    return a->ok ? (const char *)a->b.data : NULL;
}

static enum pg_code batch_pg_of_ledger(enum ledger_result r)
{
    if (r == LEDGER_ERR_BUSY)
        return PG_ERR_SERIALIZATION;
    return r == LEDGER_ERR_CONNECTION ? PG_ERR_CONNECTION : PG_ERR_QUERY;
}

/* The code of the session's last failure (a callee that reports its own
 * result codes). */
static enum pg_code batch_pg_of_session(const struct pg_session *pc)
{
    if (pc->conn == NULL || PQstatus(pc->conn) != CONNECTION_OK)
        return PG_ERR_CONNECTION;
    return pc->sqlstate[0] != '\0' ? pg_classify_sqlstate(pc->sqlstate) : PG_ERR_QUERY;
}

static void batch_log(const struct batch_job *j, enum log_level level, const char *msg,
                      const char *id, const struct err *e)
{
    if (log_enabled(j->cfg.log, level))
        log_write(j->cfg.log, level, msg,
                  LOG_KVS(log_str("settlement", id != NULL ? id : ""),
                          log_str("error", e != NULL ? e->msg : "")));
}

void batch_leaf_hash(uint8_t out[MERKLE_HASH_BYTES], const struct batch_leaf *l)
{
    uint8_t amount_be[32];
    u256_to_be32(amount_be, &l->amount_wei);
    merkle_leaf_settlement(out, l->payee.bytes, amount_be);
}

enum batch_result batch_tree_build(struct merkle_tree *t, uint8_t root[MERKLE_HASH_BYTES],
                                   const struct batch_leaf *leaves, size_t n, struct err *e)
{
    memset(t, 0, sizeof *t);
    if (n == 0 || n > BATCH_LEAVES_MAX)
        return (enum batch_result)err_set(e, BATCH_ERR_BAD_INPUT, "invalid leaf count: %zu (1..%d)",
                                          n, BATCH_LEAVES_MAX);
    uint8_t(*hashes)[MERKLE_HASH_BYTES] = calloc(n, MERKLE_HASH_BYTES);
    if (hashes == NULL)
        return (enum batch_result)err_set(e, BATCH_ERR_BAD_INPUT, "out of memory for %zu leaves",
                                          n);
    for (size_t i = 0; i < n; i++)
        batch_leaf_hash(hashes[i], &leaves[i]);
    enum merkle_result m = merkle_tree_build(t, (const uint8_t(*)[MERKLE_HASH_BYTES])hashes, n, e);
    free(hashes);
    if (m != MERKLE_OK) {
        if (e != NULL)
            e->code = BATCH_ERR_BAD_INPUT;
        return BATCH_ERR_BAD_INPUT;
    }
    merkle_tree_root(root, t);
    return BATCH_OK;
}

static void batch_purpose(char out[BATCH_PURPOSE_SIZE], const char *verb, const char *id)
{
    int n = snprintf(out, BATCH_PURPOSE_SIZE, "%s:%s", verb, id);
    ASSERT(n > 0 && n < BATCH_PURPOSE_SIZE);
}

static enum batch_result batch_result_of_txmgr(enum txmgr_result r)
{
    switch (r) {
    case TXMGR_OK:
        return BATCH_OK;
    case TXMGR_ERR_DB:
        return BATCH_ERR_DB;
    case TXMGR_ERR_ESTIMATE_REVERT:
        return BATCH_ERR_VAULT_REFUSES;
    case TXMGR_ERR_RPC:
    case TXMGR_ERR_BAD_ESTIMATE:
        return BATCH_ERR_RPC;
    case TXMGR_ERR_CORRUPT:
        return BATCH_ERR_CORRUPT;
    default:
        return BATCH_ERR_TX;
    }
}

/* ---- creating a batch ------------------------------------------------------------- */

/* Locks the creator's row and checks the caller owns it. */
static enum batch_result batch_lock_creator(struct batch_create_ctx *c, struct pg_session *pc,
                                            const struct batch_create_request *req, struct err *e)
{
    PGresult *res = NULL;
    enum pg_code r = pg_exec(pc, &res,
                             "SELECT encode(owner, 'hex'), encode(creator_key, 'hex') "
                             "FROM creators WHERE id = $1::uuid FOR UPDATE",
                             &req->creator_id, 1, e);
    if (r != PG_OK) {
        c->out->pg = r;
        return BATCH_ERR_DB;
    }
    enum batch_result b = BATCH_OK;
    if (PQntuples(res) != 1)
        b = (enum batch_result)err_set(e, BATCH_ERR_NOT_FOUND, "no creator '%s'", req->creator_id);
    else if (!pg_get_hex(c->owner.bytes, ADDRESS_BYTES, res, 0, 0) ||
             !pg_get_hex(c->creator_key, BATCH_KEY_BYTES, res, 0, 1))
        b = (enum batch_result)err_set(e, BATCH_ERR_CORRUPT, "creator '%s' does not parse",
                                       req->creator_id);
    else if (!address_eq(&c->owner, req->caller))
        b = (enum batch_result)err_set(e, BATCH_ERR_FORBIDDEN,
                                       "only the creator's owner may settle its balances");
    PQclear(res);
    return b;
}

/* The payees with an unsettled balance above zero, ordered by address,
 * into c->leaves[0..c->n) and their sum into out->total_wei. */
static enum batch_result batch_collect(struct batch_create_ctx *c, struct pg_session *pc,
                                       struct err *e)
{
    struct ledger_payee_balance *bal = calloc(BATCH_LEAVES_MAX, sizeof *bal);
    if (bal == NULL)
        return (enum batch_result)err_set(e, BATCH_ERR_TX, "out of memory for the balances");
    size_t n = 0;
    enum batch_result b = BATCH_OK;
    enum ledger_result lr = ledger_payee_balances(bal, BATCH_LEAVES_MAX, &n, pc, c->creator_key, e);
    if (lr == LEDGER_ERR_TOO_MANY)
        b = (enum batch_result)err_set(e, BATCH_ERR_TOO_MANY, "more than %d payees",
                                       BATCH_LEAVES_MAX);
    else if (lr == LEDGER_ERR_CORRUPT)
        b = BATCH_ERR_CORRUPT;
    else if (lr != LEDGER_OK) {
        c->out->pg = batch_pg_of_ledger(lr);
        b = BATCH_ERR_DB;
    }
    c->n = 0;
    c->out->total_wei = u256_zero();
    for (size_t i = 0; b == BATCH_OK && i < n; i++) {
        if (u256_is_zero(&bal[i].unsettled_wei))
            continue;
        c->leaves[c->n++] =
            (struct batch_leaf){.payee = bal[i].payee, .amount_wei = bal[i].unsettled_wei};
        if (u256_add(&c->out->total_wei, &c->out->total_wei, &bal[i].unsettled_wei) != U256_OK)
            b = (enum batch_result)err_set(e, BATCH_ERR_CORRUPT, "unsettled balances overflow");
    }
    free(bal);
    if (b == BATCH_OK && c->n == 0)
        b = (enum batch_result)err_set(e, BATCH_ERR_NOTHING, "nothing is left to settle");
    return b;
}

static enum pg_code batch_insert_leaves(struct pg_session *pc, const char *id,
                                        const struct batch_leaf *leaves, const uint64_t *entry_ids,
                                        size_t n, struct err *e)
{
    struct batch_array payees, amounts, ids;
    batch_array_init(&payees, n);
    batch_array_init(&amounts, n);
    batch_array_init(&ids, n);
    for (size_t i = 0; i < n; i++) {
        char hex[PG_HEX_TEXT_SIZE], dec[U256_DEC_SIZE], eid[24];
        ASSERT(hex_encode(hex, sizeof hex, leaves[i].payee.bytes, ADDRESS_BYTES) == 0);
        u256_to_dec(dec, &leaves[i].amount_wei);
        snprintf(eid, sizeof eid, "%" PRIu64, entry_ids[i]);
        batch_array_add(&payees, hex);
        batch_array_add(&amounts, dec);
        batch_array_add(&ids, eid);
    }
    const char *params[4] = {id, batch_array_close(&payees), batch_array_close(&amounts),
                             batch_array_close(&ids)};
    enum pg_code r = PG_ERR_CALLBACK;
    if (params[1] == NULL || params[2] == NULL || params[3] == NULL)
        err_set(e, PG_ERR_CALLBACK, "out of memory for %zu leaves", n);
    else
        r = pg_exec(pc, NULL,
                    "INSERT INTO settlement_leaves (settlement_id, payee, amount_wei, "
                    "ledger_entry_id) SELECT $1::uuid, decode(u.p, 'hex'), u.a, u.eid "
                    "FROM unnest($2::text[], $3::numeric[], $4::bigint[]) AS u(p, a, eid)",
                    params, 4, e);
    buf_release(&payees.b);
    buf_release(&amounts.b);
    buf_release(&ids.b);
    return r;
}

/* Inserts the batch row, posts one SETTLEMENT entry per leaf and inserts
 * the leaves with their entry ids. */
static enum batch_result batch_store(struct batch_create_ctx *c, struct pg_session *pc,
                                     const char *creator_id, struct err *e)
{
    struct batch_created *o = c->out;
    char key[PG_HEX_TEXT_SIZE], bkey[PG_HEX_TEXT_SIZE], root[PG_HEX_TEXT_SIZE];
    char total[U256_DEC_SIZE], count[24], tx[PG_HEX_TEXT_SIZE];
    pg_hex_text(key, c->creator_key, BATCH_KEY_BYTES);
    pg_hex_text(bkey, o->batch_key, BATCH_KEY_BYTES);
    pg_hex_text(root, o->merkle_root, MERKLE_HASH_BYTES);
    pg_hex_text(tx, c->tx_hash, 32);
    u256_to_dec(total, &o->total_wei);
    snprintf(count, sizeof count, "%zu", c->n);
    const char *params[8] = {o->id, creator_id, key, bkey, root, total, count, tx};
    o->pg = pg_exec(
        pc, NULL,
        "INSERT INTO settlements (id, creator_id, creator_key, batch_key, merkle_root, "
        "total_wei, leaf_count, tx_hash) VALUES ($1::uuid, $2::uuid, decode($3, 'hex'), "
        "decode($4, 'hex'), decode($5, 'hex'), $6::numeric, $7::integer, decode($8, 'hex'))",
        params, 8, e);
    if (o->pg != PG_OK)
        return BATCH_ERR_DB;
    struct ledger_entry *entries = calloc(c->n, sizeof *entries);
    struct ledger_posting *postings = calloc(2 * c->n, sizeof *postings);
    uint64_t *ids = calloc(c->n, sizeof *ids);
    enum batch_result b = BATCH_OK;
    if (entries == NULL || postings == NULL || ids == NULL) {
        b = (enum batch_result)err_set(e, BATCH_ERR_TX, "out of memory for %zu entries", c->n);
        goto out;
    }
    for (size_t i = 0; i < c->n; i++) {
        const struct batch_leaf *l = &c->leaves[i];
        postings[2 * i] = (struct ledger_posting){.account = {LEDGER_ACCOUNT_PAYEE, l->payee},
                                                  .side = LEDGER_DEBIT,
                                                  .amount_wei = l->amount_wei};
        postings[2 * i + 1] = (struct ledger_posting){.account = {LEDGER_ACCOUNT_SETTLED, l->payee},
                                                      .side = LEDGER_CREDIT,
                                                      .amount_wei = l->amount_wei};
        entries[i] = (struct ledger_entry){
            .kind = LEDGER_KIND_SETTLEMENT, .postings = &postings[2 * i], .postings_len = 2};
        memcpy(entries[i].creator_key, c->creator_key, BATCH_KEY_BYTES);
    }
    struct ledger_post_report rep;
    enum ledger_result lr = ledger_post_entries(&rep, ids, pc, entries, c->n, e);
    if (lr != LEDGER_OK) {
        o->pg = batch_pg_of_ledger(lr);
        b = BATCH_ERR_DB;
        goto out;
    }
    ASSERT(rep.entries_posted == c->n);
    o->pg = batch_insert_leaves(pc, o->id, c->leaves, ids, c->n, e);
    if (o->pg != PG_OK)
        b = BATCH_ERR_DB;
out:
    free(entries);
    free(postings);
    free(ids);
    return b;
}

/* txmgr_submit(settle(batchKey, creatorKey, root, total)), purpose "settle:<id>". */
static enum batch_result batch_submit(struct batch_create_ctx *c, struct pg_session *pc,
                                      struct rpc_client *rpc, struct txmgr *tm,
                                      const struct batch_create_request *req, struct err *e)
{
    struct batch_created *o = c->out;
    struct abi_value args[4] = {abi_value_bytes32(o->batch_key), abi_value_bytes32(c->creator_key),
                                abi_value_bytes32(o->merkle_root),
                                abi_value_uint256(&o->total_wei)};
    struct buf data;
    buf_init(&data, BATCH_CALLDATA_BYTES_MAX);
    ASSERT(abi_encode_call(&data, BATCH_SETTLE_SIG, args, 4, NULL) == ABI_OK);
    char purpose[BATCH_PURPOSE_SIZE];
    batch_purpose(purpose, "settle", o->id);
    struct txmgr_request tr = {.purpose = purpose,
                               .has_to = true,
                               .to = *req->vault,
                               .value_wei = u256_zero(),
                               .data = data.data,
                               .data_len = data.len};
    struct txmgr_tx tx;
    enum txmgr_result t = txmgr_submit(&tx, tm, pc, rpc, &tr, e);
    buf_release(&data);
    if (t == TXMGR_OK)
        memcpy(c->tx_hash, tx.tx_hash, 32);
    enum batch_result b = batch_result_of_txmgr(t);
    if (b == BATCH_ERR_DB)
        o->pg = batch_pg_of_session(pc);
    if (t == TXMGR_ERR_EXISTS)
        err_set(e, BATCH_ERR_TX, "transaction '%s' exists already", purpose);
    else if (b != BATCH_OK && e != NULL)
        e->code = (int)b;
    return b;
}

enum batch_result batch_create(struct batch_created *out, struct pg_session *pc,
                               struct rpc_client *rpc, struct txmgr *tm,
                               const struct batch_create_request *req, struct err *e)
{
    memset(out, 0, sizeof *out);
    out->pg = PG_OK;
    if (req->creator_id == NULL || !ids_uuid_valid(req->creator_id, strlen(req->creator_id)) ||
        req->caller == NULL || req->vault == NULL)
        return (enum batch_result)err_set(e, BATCH_ERR_BAD_INPUT,
                                          "invalid request: creator id, caller or vault");
    struct batch_create_ctx c = {.out = out,
                                 .leaves = calloc(BATCH_LEAVES_MAX, sizeof(struct batch_leaf))};
    if (c.leaves == NULL)
        return (enum batch_result)err_set(e, BATCH_ERR_TX, "out of memory for the leaves");
    enum batch_result b = batch_lock_creator(&c, pc, req, e);
    if (b == BATCH_OK)
        b = batch_collect(&c, pc, e);
    if (b == BATCH_OK) {
        struct merkle_tree t;
        if (batch_tree_build(&t, out->merkle_root, c.leaves, c.n, e) != BATCH_OK)
            b = BATCH_ERR_CORRUPT; /* distinct payees, amounts > 0: a broken ledger read */
        merkle_tree_release(&t);
    }
    if (b == BATCH_OK && !ids_uuid_new(out->id, e))
        b = BATCH_ERR_TX;
    if (b == BATCH_OK) {
        ids_key_of(out->batch_key, out->id);
        out->leaf_count = c.n;
        /* First: a refusal (the estimate reverts, the node fails) then
         * leaves nothing written, so a 4xx answer may commit. */
        b = batch_submit(&c, pc, rpc, tm, req, e);
    }
    if (b == BATCH_OK)
        b = batch_store(&c, pc, req->creator_id, e);
    free(c.leaves);
    return b;
}

/* ---- reading ---------------------------------------------------------------------- */

#define BATCH_COLUMNS                                                                              \
    "id::text, creator_id::text, seq, encode(creator_key, 'hex'), encode(batch_key, 'hex'), "      \
    "encode(merkle_root, 'hex'), total_wei, leaf_count, status, encode(tx_hash, 'hex'), "          \
    "block_number, claimable_at, reclaimed_wei"

static bool batch_row_parse(struct batch_info *o, const PGresult *res, int row)
{
    memset(o, 0, sizeof *o);
    const char *id = PQgetvalue(res, row, 0), *cid = PQgetvalue(res, row, 1);
    uint64_t seq = 0, count = 0;
    bool ok = ids_uuid_valid(id, strlen(id)) && ids_uuid_valid(cid, strlen(cid)) &&
              pg_get_u64(&seq, res, row, 2) && seq <= INT64_MAX &&
              pg_get_hex(o->creator_key, BATCH_KEY_BYTES, res, row, 3) &&
              pg_get_hex(o->batch_key, BATCH_KEY_BYTES, res, row, 4) &&
              pg_get_hex(o->merkle_root, MERKLE_HASH_BYTES, res, row, 5) &&
              pg_get_u256(&o->total_wei, res, row, 6) && pg_get_u64(&count, res, row, 7) &&
              count >= 1 && count <= BATCH_LEAVES_MAX &&
              batch_status_parse(&o->status, PQgetvalue(res, row, 8));
    if (!ok)
        return false;
    snprintf(o->id, sizeof o->id, "%s", id);
    snprintf(o->creator_id, sizeof o->creator_id, "%s", cid);
    o->seq = (int64_t)seq;
    o->leaf_count = (size_t)count;
    o->has_tx_hash = !PQgetisnull(res, row, 9);
    o->has_block = !PQgetisnull(res, row, 10);
    o->has_claimable_at = !PQgetisnull(res, row, 11);
    o->has_reclaimed = !PQgetisnull(res, row, 12);
    return (!o->has_tx_hash || pg_get_hex(o->tx_hash, 32, res, row, 9)) &&
           (!o->has_block || pg_get_u64(&o->block_number, res, row, 10)) &&
           (!o->has_claimable_at || pg_get_u64(&o->claimable_at, res, row, 11)) &&
           (!o->has_reclaimed || pg_get_u256(&o->reclaimed_wei, res, row, 12));
}

enum batch_result batch_get(struct batch_info *out, struct pg_session *pc, const char *id,
                            struct err *e)
{
    if (!ids_uuid_valid(id, strlen(id)))
        return (enum batch_result)err_set(e, BATCH_ERR_BAD_INPUT, "invalid settlement id");
    PGresult *res = NULL;
    if (pg_exec(pc, &res, "SELECT " BATCH_COLUMNS " FROM settlements WHERE id = $1::uuid", &id, 1,
                e) != PG_OK)
        return BATCH_ERR_DB;
    enum batch_result b = BATCH_OK;
    if (PQntuples(res) != 1)
        b = (enum batch_result)err_set(e, BATCH_ERR_NOT_FOUND, "no settlement '%s'", id);
    else if (!batch_row_parse(out, res, 0))
        b = (enum batch_result)err_set(e, BATCH_ERR_CORRUPT, "settlement '%s' does not parse", id);
    PQclear(res);
    return b;
}

enum batch_result batch_leaves(struct batch_leaf *out, size_t cap, size_t *len,
                               struct pg_session *pc, const char *id, struct err *e)
{
    *len = 0;
    if (!ids_uuid_valid(id, strlen(id)) || cap < 1 || cap > BATCH_LEAVES_MAX)
        return (enum batch_result)err_set(e, BATCH_ERR_BAD_INPUT, "invalid settlement id or cap");
    char limit[24];
    snprintf(limit, sizeof limit, "%zu", cap + 1);
    const char *params[2] = {id, limit};
    PGresult *res = NULL;
    if (pg_exec(pc, &res,
                "SELECT encode(payee, 'hex'), amount_wei, claimed FROM settlement_leaves "
                "WHERE settlement_id = $1::uuid ORDER BY payee LIMIT $2::integer",
                params, 2, e) != PG_OK)
        return BATCH_ERR_DB;
    size_t rows = (size_t)PQntuples(res);
    enum batch_result b = BATCH_OK;
    if (rows > cap)
        b = (enum batch_result)err_set(e, BATCH_ERR_TOO_MANY, "more than %zu leaves", cap);
    for (size_t i = 0; b == BATCH_OK && i < rows; i++) {
        struct batch_leaf *l = &out[i];
        if (!pg_get_hex(l->payee.bytes, ADDRESS_BYTES, res, (int)i, 0) ||
            !pg_get_u256(&l->amount_wei, res, (int)i, 1) || u256_is_zero(&l->amount_wei))
            b = (enum batch_result)err_set(e, BATCH_ERR_CORRUPT, "a leaf of '%s' does not parse",
                                           id);
        l->claimed = strcmp(PQgetvalue(res, (int)i, 2), "t") == 0;
    }
    if (b == BATCH_OK)
        *len = rows;
    PQclear(res);
    return b;
}

enum batch_result batch_list(struct batch_info *out, size_t cap, size_t *len, bool *more,
                             struct pg_session *pc, const char *creator_id, int64_t before_seq,
                             struct err *e)
{
    *len = 0;
    *more = false;
    if (!ids_uuid_valid(creator_id, strlen(creator_id)) || cap < 1 || cap > INT32_MAX - 1 ||
        before_seq < 0)
        return (enum batch_result)err_set(e, BATCH_ERR_BAD_INPUT, "invalid creator id or page");
    char before[24], limit[24];
    snprintf(before, sizeof before, "%" PRId64, before_seq);
    snprintf(limit, sizeof limit, "%zu", cap + 1);
    const char *params[3] = {creator_id, before, limit};
    PGresult *res = NULL;
    if (pg_exec(pc, &res,
                "SELECT " BATCH_COLUMNS " FROM settlements WHERE creator_id = $1::uuid "
                "AND ($2::bigint = 0 OR seq < $2::bigint) ORDER BY seq DESC LIMIT $3::integer",
                params, 3, e) != PG_OK)
        return BATCH_ERR_DB;
    size_t rows = (size_t)PQntuples(res);
    *more = rows > cap;
    rows = rows > cap ? cap : rows;
    enum batch_result b = BATCH_OK;
    for (size_t i = 0; b == BATCH_OK && i < rows; i++)
        if (!batch_row_parse(&out[i], res, (int)i))
            b = (enum batch_result)err_set(e, BATCH_ERR_CORRUPT, "a settlement does not parse");
    if (b == BATCH_OK)
        *len = rows;
    PQclear(res);
    return b;
}

enum batch_result batch_proof(struct u256 *amount_wei, uint8_t (*proof)[MERKLE_HASH_BYTES],
                              size_t *proof_len, uint8_t root[MERKLE_HASH_BYTES],
                              struct pg_session *pc, const struct batch_info *batch,
                              const struct address *payee, struct err *e)
{
    *proof_len = 0;
    const char *id = batch->id;
    ASSERT(batch->leaf_count >= 1 && batch->leaf_count <= BATCH_LEAVES_MAX);
    struct batch_leaf *leaves = calloc(batch->leaf_count, sizeof *leaves);
    if (leaves == NULL)
        return (enum batch_result)err_set(e, BATCH_ERR_TX, "out of memory for the leaves");
    size_t n = 0, at = 0;
    enum batch_result b = batch_leaves(leaves, batch->leaf_count, &n, pc, id, e);
    while (b == BATCH_OK && at < n && !address_eq(&leaves[at].payee, payee))
        at++;
    if (b == BATCH_OK && at == n)
        b = (enum batch_result)err_set(e, BATCH_ERR_NOT_FOUND, "no leaf of this payee in '%s'", id);
    struct merkle_tree t;
    memset(&t, 0, sizeof t);
    if (b == BATCH_OK && batch_tree_build(&t, root, leaves, n, e) != BATCH_OK)
        b = BATCH_ERR_CORRUPT;
    if (b == BATCH_OK) {
        uint8_t leaf[MERKLE_HASH_BYTES];
        batch_leaf_hash(leaf, &leaves[at]);
        *amount_wei = leaves[at].amount_wei;
        ASSERT(merkle_tree_proof(proof, MERKLE_PROOF_MAX, proof_len, &t, leaf, NULL) == MERKLE_OK);
    }
    merkle_tree_release(&t);
    free(leaves);
    return b;
}

/* ---- the job: updates and reversals ------------------------------------------------ */

/* The fields of a status change; NULL/false leave a column as it is. */
struct batch_update {
    enum batch_status status;
    const uint8_t *tx_hash;
    bool has_block;
    uint64_t block_number;
    bool has_claimable_at;
    uint64_t claimable_at;
    const struct u256 *reclaimed_wei;
};

static enum pg_code batch_update_row(struct pg_session *pc, const char *id,
                                     const struct batch_update *u, struct err *e)
{
    char tx[PG_HEX_TEXT_SIZE], block[24], at[24], reclaimed[U256_DEC_SIZE];
    if (u->tx_hash != NULL)
        pg_hex_text(tx, u->tx_hash, 32);
    snprintf(block, sizeof block, "%" PRIu64, u->block_number);
    snprintf(at, sizeof at, "%" PRIu64, u->claimable_at);
    if (u->reclaimed_wei != NULL)
        u256_to_dec(reclaimed, u->reclaimed_wei);
    const char *params[6] = {id,
                             batch_status_name(u->status),
                             u->tx_hash != NULL ? tx : NULL,
                             u->has_block ? block : NULL,
                             u->has_claimable_at ? at : NULL,
                             u->reclaimed_wei != NULL ? reclaimed : NULL};
    return pg_exec(
        pc, NULL,
        "UPDATE settlements SET status = $2, tx_hash = coalesce(decode($3, 'hex'), tx_hash), "
        "block_number = coalesce($4::bigint, block_number), "
        "claimable_at = coalesce($5::bigint, claimable_at), "
        "reclaimed_wei = coalesce($6::numeric, reclaimed_wei), updated_at = now() "
        "WHERE id = $1::uuid",
        params, 6, e);
}

/* Reads the leaves of t still to reverse (not reversed, not claimed). */
static enum pg_code batch_reversible(struct batch_reversible **out, size_t *n,
                                     struct pg_session *pc, const struct batch_target *t,
                                     struct err *e)
{
    PGresult *res = NULL;
    const char *id = t->id;
    *out = NULL;
    *n = 0;
    enum pg_code r = pg_exec(pc, &res,
                             "SELECT encode(payee, 'hex'), amount_wei, ledger_entry_id "
                             "FROM settlement_leaves WHERE settlement_id = $1::uuid "
                             "AND reversal_entry_id IS NULL AND NOT claimed ORDER BY payee",
                             &id, 1, e);
    if (r != PG_OK)
        return r;
    size_t rows = (size_t)PQntuples(res);
    struct batch_reversible *items = rows > 0 ? calloc(rows, sizeof *items) : NULL;
    if (rows > 0 && items == NULL)
        r = (enum pg_code)err_set(e, PG_ERR_CALLBACK, "out of memory for %zu leaves", rows);
    for (size_t i = 0; r == PG_OK && i < rows; i++)
        if (!pg_get_hex(items[i].payee.bytes, ADDRESS_BYTES, res, (int)i, 0) ||
            !pg_get_u256(&items[i].amount_wei, res, (int)i, 1) ||
            !pg_get_u64(&items[i].entry_id, res, (int)i, 2) || u256_is_zero(&items[i].amount_wei))
            r = (enum pg_code)err_set(e, PG_ERR_CALLBACK, "a leaf of '%s' does not parse", t->id);
    PQclear(res);
    if (r != PG_OK) {
        free(items);
        return r;
    }
    *out = items;
    *n = rows;
    return PG_OK;
}

/* Posts one REVERSAL entry for each leaf of t not yet reversed nor claimed
 * (debit settled:<addr>, credit payee:<addr>: the amount is unsettled
 * again) and records it on the leaf. *count and *sum: what was reversed. */
static enum pg_code batch_reverse(uint32_t *count, struct u256 *sum, struct pg_session *pc,
                                  const struct batch_target *t, struct err *e)
{
    *count = 0;
    *sum = u256_zero();
    struct batch_reversible *items = NULL;
    size_t n = 0;
    enum pg_code r = batch_reversible(&items, &n, pc, t, e);
    if (r != PG_OK || n == 0)
        return r;
    struct ledger_entry *entries = calloc(n, sizeof *entries);
    struct ledger_posting *postings = calloc(2 * n, sizeof *postings);
    uint64_t *ids = calloc(n, sizeof *ids);
    struct batch_array from, to;
    batch_array_init(&from, n);
    batch_array_init(&to, n);
    if (entries == NULL || postings == NULL || ids == NULL) {
        r = (enum pg_code)err_set(e, PG_ERR_CALLBACK, "out of memory for %zu reversals", n);
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        postings[2 * i] =
            (struct ledger_posting){.account = {LEDGER_ACCOUNT_SETTLED, items[i].payee},
                                    .side = LEDGER_DEBIT,
                                    .amount_wei = items[i].amount_wei};
        postings[2 * i + 1] =
            (struct ledger_posting){.account = {LEDGER_ACCOUNT_PAYEE, items[i].payee},
                                    .side = LEDGER_CREDIT,
                                    .amount_wei = items[i].amount_wei};
        entries[i] = (struct ledger_entry){.kind = LEDGER_KIND_REVERSAL,
                                           .reverses_entry_id = items[i].entry_id,
                                           .postings = &postings[2 * i],
                                           .postings_len = 2};
        memcpy(entries[i].creator_key, t->creator_key, BATCH_KEY_BYTES);
        ASSERT(u256_add(sum, sum, &items[i].amount_wei) == U256_OK); /* <= the batch total */
    }
    struct ledger_post_report rep;
    enum ledger_result lr = ledger_post_entries(&rep, ids, pc, entries, n, e);
    if (lr != LEDGER_OK) {
        r = lr == LEDGER_ERR_BAD_INPUT ? PG_ERR_CALLBACK : batch_pg_of_ledger(lr);
        goto out;
    }
    ASSERT(rep.entries_posted == n);
    for (size_t i = 0; i < n; i++) {
        char a[24], b[24];
        snprintf(a, sizeof a, "%" PRIu64, items[i].entry_id);
        snprintf(b, sizeof b, "%" PRIu64, ids[i]);
        batch_array_add(&from, a);
        batch_array_add(&to, b);
    }
    const char *params[3] = {t->id, batch_array_close(&from), batch_array_close(&to)};
    if (params[1] == NULL || params[2] == NULL) {
        r = (enum pg_code)err_set(e, PG_ERR_CALLBACK, "out of memory for %zu reversals", n);
        goto out;
    }
    r = pg_exec(pc, NULL,
                "UPDATE settlement_leaves l SET reversal_entry_id = u.rid "
                "FROM unnest($2::bigint[], $3::bigint[]) AS u(eid, rid) "
                "WHERE l.settlement_id = $1::uuid AND l.ledger_entry_id = u.eid",
                params, 3, e);
    if (r == PG_OK)
        *count = (uint32_t)n;
out:
    buf_release(&from.b);
    buf_release(&to.b);
    free(entries);
    free(postings);
    free(ids);
    free(items);
    return r;
}

/* ---- the job: transactions ------------------------------------------------------------ */

/* pg_run_tx(fn) whose counts in r->rep are kept only when it commits:
 * fn starts each attempt with *r->rep = r->saved. */
static enum pg_code batch_round_tx(struct batch_round *r, struct pg_session *pc,
                                   enum pg_code (*fn)(struct pg_session *, void *, struct err *),
                                   void *ctx, struct err *e)
{
    r->saved = *r->rep;
    enum pg_code c = pg_run_tx(pc, PG_READ_COMMITTED, BATCH_TX_ATTEMPTS, fn, ctx, NULL, e);
    if (c != PG_OK)
        *r->rep = r->saved;
    return c;
}

/* Locks batch r->id when it is pending or submitted (SKIP LOCKED) and
 * follows its settle transaction. */
static enum pg_code batch_tx_state_one(struct pg_session *pc, void *ctx, struct err *e)
{
    struct batch_round *r = ctx;
    *r->rep = r->saved;
    PGresult *res = NULL;
    enum pg_code c = pg_exec(pc, &res,
                             "SELECT status, encode(creator_key, 'hex'), encode(tx_hash, 'hex') "
                             "FROM settlements WHERE id = $1::uuid "
                             "AND status IN ('pending', 'submitted') FOR UPDATE SKIP LOCKED",
                             &r->id, 1, e);
    if (c != PG_OK)
        return c;
    struct batch_target t = {0};
    uint8_t stored_tx[32] = {0};
    bool found = PQntuples(res) == 1, has_tx = found && !PQgetisnull(res, 0, 2);
    snprintf(t.id, sizeof t.id, "%s", r->id);
    if (found && (!batch_status_parse(&t.status, PQgetvalue(res, 0, 0)) ||
                  !pg_get_hex(t.creator_key, BATCH_KEY_BYTES, res, 0, 1) ||
                  (has_tx && !pg_get_hex(stored_tx, 32, res, 0, 2))))
        c = (enum pg_code)err_set(e, PG_ERR_CALLBACK, "settlement '%s' does not parse", r->id);
    PQclear(res);
    if (c != PG_OK || !found)
        return c;
    char purpose[BATCH_PURPOSE_SIZE];
    batch_purpose(purpose, "settle", r->id);
    struct txmgr_tx tx;
    enum txmgr_result tr = txmgr_get(&tx, pc, purpose, e);
    if (tr != TXMGR_OK)
        return tr == TXMGR_ERR_DB ? batch_pg_of_session(pc) : PG_ERR_CALLBACK;
    struct batch_update u = {.status = BATCH_SUBMITTED, .tx_hash = tx.tx_hash};
    if (tx.status == TXMGR_SIGNED)
        return PG_OK;
    if (tx.status == TXMGR_REVERTED) {
        uint32_t n = 0;
        struct u256 sum;
        if ((c = batch_reverse(&n, &sum, pc, &t, e)) != PG_OK)
            return c;
        r->rep->reversals += n;
        u.status = BATCH_FAILED;
        u.has_block = tx.has_block;
        u.block_number = tx.block_number;
        batch_log(r->j, LOG_WARN, "settle transaction reverted: batch reversed", r->id, NULL);
    } else if (t.status == BATCH_SUBMITTED && has_tx && memcmp(stored_tx, tx.tx_hash, 32) == 0) {
        return PG_OK; /* nothing new */
    }
    if (u.status != t.status)
        r->rep->advanced++;
    return batch_update_row(pc, r->id, &u, e);
}

static enum batch_result batch_pass_txs(struct batch_round *r, struct pg_session *pc, struct err *e)
{
    PGresult *res = NULL;
    if (pg_exec(pc, &res,
                "SELECT id::text FROM settlements WHERE status IN ('pending', 'submitted') "
                "ORDER BY seq LIMIT " MACRO_TEXT(BATCH_JOB_ROWS_MAX),
                NULL, 0, e) != PG_OK)
        return BATCH_ERR_DB;
    for (int i = 0; i < PQntuples(res); i++) {
        struct err one = {0};
        r->id = PQgetvalue(res, i, 0);
        if (batch_round_tx(r, pc, batch_tx_state_one, r, &one) != PG_OK) {
            r->rep->skipped++;
            batch_log(r->j, LOG_WARN, "settlement left for the next round", r->id, &one);
        }
    }
    r->id = NULL;
    PQclear(res);
    return BATCH_OK;
}

/* ---- the job: vault logs ------------------------------------------------------------------ */

/* Row of the page query: block, log index, event, tx, batchKey, root,
 * total|amount, claimableAt, account. */
static bool batch_event_parse(struct batch_event *ev, const PGresult *res, int row)
{
    memset(ev, 0, sizeof *ev);
    uint64_t log_index = 0;
    const char *name = PQgetvalue(res, row, 2);
    if (!pg_get_u64(&ev->block_number, res, row, 0) || ev->block_number > INT64_MAX ||
        !pg_get_u64(&log_index, res, row, 1) || log_index > INT32_MAX ||
        strlen(name) >= sizeof ev->name || !pg_get_hex(ev->tx_hash, 32, res, row, 3) ||
        !pg_get_hex(ev->batch_key, BATCH_KEY_BYTES, res, row, 4) ||
        !pg_get_u256(&ev->amount_wei, res, row, 6))
        return false;
    ev->log_index = (int64_t)log_index;
    snprintf(ev->name, sizeof ev->name, "%s", name);
    if (strcmp(name, "SettlementAnchored") == 0)
        return pg_get_hex(ev->root, MERKLE_HASH_BYTES, res, row, 5) &&
               pg_get_u64(&ev->claimable_at, res, row, 7) && ev->claimable_at <= INT64_MAX;
    if (strcmp(name, "Claimed") == 0)
        return pg_get_hex(ev->account.bytes, ADDRESS_BYTES, res, row, 8);
    return true;
}

/* Locks the batch of `batch_key`; *found false when it is not ours. */
static enum pg_code batch_lock_target(bool *found, struct batch_target *t, struct pg_session *pc,
                                      const uint8_t batch_key[BATCH_KEY_BYTES], struct err *e)
{
    char key[PG_HEX_TEXT_SIZE];
    pg_hex_text(key, batch_key, BATCH_KEY_BYTES);
    const char *params[1] = {key};
    PGresult *res = NULL;
    enum pg_code r = pg_exec(pc, &res,
                             "SELECT id::text, status, encode(creator_key, 'hex'), "
                             "encode(merkle_root, 'hex'), total_wei FROM settlements "
                             "WHERE batch_key = decode($1, 'hex') FOR UPDATE",
                             params, 1, e);
    if (r != PG_OK)
        return r;
    memset(t, 0, sizeof *t);
    *found = PQntuples(res) == 1;
    const char *id = *found ? PQgetvalue(res, 0, 0) : "";
    if (*found && (!ids_uuid_valid(id, strlen(id)) ||
                   !batch_status_parse(&t->status, PQgetvalue(res, 0, 1)) ||
                   !pg_get_hex(t->creator_key, BATCH_KEY_BYTES, res, 0, 2) ||
                   !pg_get_hex(t->merkle_root, MERKLE_HASH_BYTES, res, 0, 3) ||
                   !pg_get_u256(&t->total_wei, res, 0, 4)))
        r = (enum pg_code)err_set(e, PG_ERR_CALLBACK, "settlement '%s' does not parse", id);
    snprintf(t->id, sizeof t->id, "%s", id);
    PQclear(res);
    return r;
}

static bool batch_is_open(enum batch_status s)
{
    return s == BATCH_PENDING || s == BATCH_SUBMITTED || s == BATCH_ANCHORED ||
           s == BATCH_CLAIMABLE;
}

static enum pg_code batch_apply_anchored(struct batch_round *r, struct pg_session *pc,
                                         const struct batch_target *t, const struct batch_event *ev,
                                         struct err *e)
{
    if (t->status != BATCH_PENDING && t->status != BATCH_SUBMITTED)
        return PG_OK;
    if (memcmp(ev->root, t->merkle_root, MERKLE_HASH_BYTES) != 0 ||
        u256_cmp(&ev->amount_wei, &t->total_wei) != 0) {
        batch_log(r->j, LOG_ERROR, "SettlementAnchored with another root or total: ignored", t->id,
                  NULL);
        return PG_OK;
    }
    bool open = r->has_now && r->now >= ev->claimable_at;
    struct batch_update u = {.status = open ? BATCH_CLAIMABLE : BATCH_ANCHORED,
                             .tx_hash = ev->tx_hash,
                             .has_block = true,
                             .block_number = ev->block_number,
                             .has_claimable_at = true,
                             .claimable_at = ev->claimable_at};
    r->rep->advanced++;
    return batch_update_row(pc, t->id, &u, e);
}

static enum pg_code batch_apply_claimed(struct batch_round *r, struct pg_session *pc,
                                        const struct batch_target *t, const struct batch_event *ev,
                                        struct err *e)
{
    char payee[PG_HEX_TEXT_SIZE], tx[PG_HEX_TEXT_SIZE], block[24];
    pg_hex_text(payee, ev->account.bytes, ADDRESS_BYTES);
    pg_hex_text(tx, ev->tx_hash, 32);
    snprintf(block, sizeof block, "%" PRIu64, ev->block_number);
    const char *params[4] = {t->id, payee, tx, block};
    PGresult *res = NULL;
    enum pg_code c =
        pg_exec(pc, &res,
                "UPDATE settlement_leaves SET claimed = true, claimed_tx_hash = "
                "decode($3, 'hex'), claimed_block = $4::bigint WHERE settlement_id = $1::uuid "
                "AND payee = decode($2, 'hex') AND NOT claimed AND reversal_entry_id IS NULL "
                "RETURNING amount_wei",
                params, 4, e);
    if (c != PG_OK)
        return c;
    struct u256 amount = u256_zero();
    bool one = PQntuples(res) == 1 && pg_get_u256(&amount, res, 0, 0);
    PQclear(res);
    if (!one)
        batch_log(r->j, LOG_ERROR, "Claimed for no unclaimed leaf of the batch", t->id, NULL);
    else if (u256_cmp(&amount, &ev->amount_wei) != 0)
        batch_log(r->j, LOG_ERROR, "Claimed amount differs from the leaf", t->id, NULL);
    if (one)
        r->rep->claims++;
    return PG_OK;
}

/* SettlementCancelled (any open batch) or SettlementReclaimed (an anchored
 * or claimable one): the leaves still owed are reversed. */
static enum pg_code batch_apply_ended(struct batch_round *r, struct pg_session *pc,
                                      const struct batch_target *t, const struct batch_event *ev,
                                      struct err *e)
{
    bool cancel = strcmp(ev->name, "SettlementCancelled") == 0;
    if (!batch_is_open(t->status))
        return PG_OK;
    if (!cancel && t->status != BATCH_ANCHORED && t->status != BATCH_CLAIMABLE) {
        batch_log(r->j, LOG_ERROR, "SettlementReclaimed of a batch never anchored: ignored", t->id,
                  NULL);
        return PG_OK;
    }
    uint32_t n = 0;
    struct u256 sum;
    enum pg_code c = batch_reverse(&n, &sum, pc, t, e);
    if (c != PG_OK)
        return c;
    if (u256_cmp(&sum, &ev->amount_wei) != 0)
        batch_log(r->j, LOG_ERROR,
                  cancel ? "SettlementCancelled total differs from the leaves reversed"
                         : "SettlementReclaimed amount differs from the unclaimed leaves",
                  t->id, NULL);
    r->rep->reversals += n;
    r->rep->advanced++;
    struct batch_update u = {.status = cancel ? BATCH_CANCELLED : BATCH_RECLAIMED,
                             .reclaimed_wei = cancel ? NULL : &sum};
    return batch_update_row(pc, t->id, &u, e);
}

static enum pg_code batch_apply_event(struct batch_round *r, struct pg_session *pc,
                                      const struct batch_event *ev, struct err *e)
{
    bool found = false;
    struct batch_target t;
    enum pg_code c = batch_lock_target(&found, &t, pc, ev->batch_key, e);
    if (c != PG_OK || !found)
        return c; /* not a batch of this service: the audit's business */
    if (strcmp(ev->name, "SettlementAnchored") == 0)
        return batch_apply_anchored(r, pc, &t, ev, e);
    if (strcmp(ev->name, "Claimed") == 0)
        return batch_apply_claimed(r, pc, &t, ev, e);
    return batch_apply_ended(r, pc, &t, ev, e);
}

/* One page of confirmed logs after the cursor, applied in order; the
 * cursor moves past them in the same transaction. r->events: the page's
 * size (0 when another session holds the cursor). */
static enum pg_code batch_events_page(struct pg_session *pc, void *ctx, struct err *e)
{
    struct batch_round *r = ctx;
    *r->rep = r->saved;
    char chain[24], vault[PG_HEX_TEXT_SIZE];
    snprintf(chain, sizeof chain, "%" PRIu64, r->j->cfg.chain_id);
    pg_hex_text(vault, r->j->cfg.vault.bytes, ADDRESS_BYTES);
    const char *cp[2] = {chain, vault};
    PGresult *res = NULL;
    r->events = 0;
    enum pg_code c =
        pg_exec(pc, NULL,
                "INSERT INTO settlement_event_cursor (chain_id, vault, block_number, "
                "log_index) VALUES ($1::bigint, decode($2, 'hex'), 0, -1) ON CONFLICT DO "
                "NOTHING",
                cp, 2, e);
    if (c == PG_OK)
        c = pg_exec(pc, &res,
                    "SELECT block_number, log_index FROM settlement_event_cursor WHERE chain_id "
                    "= $1::bigint AND vault = decode($2, 'hex') FOR UPDATE SKIP LOCKED",
                    cp, 2, e);
    if (c != PG_OK || PQntuples(res) != 1) {
        PQclear(res);
        return c;
    }
    const char *pp[4] = {chain, vault, NULL, NULL};
    char block[24], index[24];
    snprintf(block, sizeof block, "%s", PQgetvalue(res, 0, 0));
    snprintf(index, sizeof index, "%s", PQgetvalue(res, 0, 1));
    PQclear(res);
    pp[2] = block;
    pp[3] = index;
    c = pg_exec(
        pc, &res,
        "SELECT block_number, log_index, event, encode(tx_hash, 'hex'), "
        "args->>'batchKey', args->>'root', coalesce(args->>'total', args->>'amount'), "
        "args->>'claimableAt', args->>'account' FROM chain_events "
        "WHERE chain_id = $1::bigint AND contract = decode($2, 'hex') AND status = 'confirmed' "
        "AND event IN ('SettlementAnchored', 'SettlementCancelled', "
        "'SettlementReclaimed', 'Claimed') "
        "AND (block_number, log_index) > ($3::bigint, $4::integer) "
        "ORDER BY block_number, log_index LIMIT " MACRO_TEXT(BATCH_EVENTS_PAGE),
        pp, 4, e);
    if (c != PG_OK)
        return c;
    int rows = PQntuples(res);
    for (int i = 0; c == PG_OK && i < rows; i++) {
        struct batch_event ev;
        if (batch_event_parse(&ev, res, i))
            c = batch_apply_event(r, pc, &ev, e);
        else
            batch_log(r->j, LOG_ERROR, "a vault log in chain_events does not parse: skipped", NULL,
                      NULL);
    }
    if (c == PG_OK && rows > 0) {
        snprintf(block, sizeof block, "%s", PQgetvalue(res, rows - 1, 0));
        snprintf(index, sizeof index, "%s", PQgetvalue(res, rows - 1, 1));
        c = pg_exec(pc, NULL,
                    "UPDATE settlement_event_cursor SET block_number = $3::bigint, log_index = "
                    "$4::integer WHERE chain_id = $1::bigint AND vault = decode($2, 'hex')",
                    pp, 4, e);
    }
    PQclear(res);
    r->events = (size_t)rows;
    return c;
}

/* ---- the job: time, reclaims, the round --------------------------------------------- */

/* The latest block's timestamp. */
static bool batch_head_time(uint64_t *out, struct rpc_client *rpc, struct err *e)
{
    json_t *res = NULL;
    bool ok =
        rpc_call(rpc, "eth_getBlockByNumber", json_pack("[sb]", "latest", 0), &res, e) == RPC_OK &&
        json_is_object(res) &&
        rpc_parse_quantity_u64(out, json_object_get(res, "timestamp"), e) == RPC_OK;
    if (!ok && json_is_null(res))
        err_set(e, BATCH_ERR_RPC, "the node has no latest block");
    json_decref(res);
    return ok;
}

/* vault.claimWindow(), read once (it is immutable). */
static bool batch_claim_window(struct batch_job *j, struct rpc_client *rpc, struct err *e)
{
    if (j->window_known)
        return true;
    uint8_t word[32];
    bool ok = rpc_view_word(rpc, word, j->cfg.vault.bytes, "claimWindow()", NULL, 0, "latest", e) ==
              RPC_OK;
    struct u256 v = ok ? u256_from_be32(word) : u256_zero();
    ok = ok && u256_to_u64(&j->claim_window_s, &v);
    j->window_known = ok;
    return ok;
}

static enum batch_result batch_pass_time(struct batch_round *r, struct pg_session *pc,
                                         struct err *e)
{
    if (!r->has_now)
        return BATCH_OK;
    char now[24];
    snprintf(now, sizeof now, "%" PRIu64, r->now);
    const char *params[1] = {now};
    PGresult *res = NULL;
    if (pg_exec(pc, &res,
                "UPDATE settlements SET status = 'claimable', updated_at = now() "
                "WHERE status = 'anchored' AND claimable_at <= $1::bigint RETURNING 1",
                params, 1, e) != PG_OK)
        return BATCH_ERR_DB;
    r->rep->advanced += (uint32_t)PQntuples(res);
    PQclear(res);
    return BATCH_OK;
}

/* reclaim(batchKey) of batch r->id, purpose "reclaim:<id>", unless submitted. */
struct batch_reclaim_ctx {
    struct batch_round *r;
    struct rpc_client *rpc;
    const char *id;
    uint8_t batch_key[BATCH_KEY_BYTES];
};

static enum pg_code batch_reclaim_one(struct pg_session *pc, void *ctx, struct err *e)
{
    struct batch_reclaim_ctx *q = ctx;
    *q->r->rep = q->r->saved;
    char purpose[BATCH_PURPOSE_SIZE];
    batch_purpose(purpose, "reclaim", q->id);
    struct txmgr_tx tx;
    enum txmgr_result t = txmgr_get(&tx, pc, purpose, e);
    if (t == TXMGR_OK)
        return PG_OK;
    if (t != TXMGR_ERR_NOT_FOUND)
        return t == TXMGR_ERR_DB ? batch_pg_of_session(pc) : PG_ERR_CALLBACK;
    struct abi_value arg = abi_value_bytes32(q->batch_key);
    struct buf data;
    buf_init(&data, BATCH_CALLDATA_BYTES_MAX);
    ASSERT(abi_encode_call(&data, BATCH_RECLAIM_SIG, &arg, 1, NULL) == ABI_OK);
    struct txmgr_request req = {.purpose = purpose,
                                .has_to = true,
                                .to = q->r->j->cfg.vault,
                                .value_wei = u256_zero(),
                                .data = data.data,
                                .data_len = data.len};
    t = txmgr_submit(&tx, q->r->j->tm, pc, q->rpc, &req, e);
    buf_release(&data);
    if (t == TXMGR_OK)
        q->r->rep->reclaims++;
    if (t == TXMGR_OK || t == TXMGR_ERR_EXISTS)
        return PG_OK;
    return t == TXMGR_ERR_DB ? batch_pg_of_session(pc) : PG_ERR_CALLBACK;
}

static enum batch_result batch_pass_reclaims(struct batch_round *r, struct pg_session *pc,
                                             struct rpc_client *rpc, struct err *e)
{
    struct err we = {0};
    if (!r->has_now)
        return BATCH_OK;
    if (!batch_claim_window(r->j, rpc, &we)) {
        batch_log(r->j, LOG_WARN, "vault claimWindow() unavailable: no reclaims", NULL, &we);
        return BATCH_OK;
    }
    if (r->j->claim_window_s == 0)
        return BATCH_OK;
    char window[24], now[24];
    snprintf(window, sizeof window, "%" PRIu64, r->j->claim_window_s);
    snprintf(now, sizeof now, "%" PRIu64, r->now);
    const char *params[2] = {window, now};
    PGresult *res = NULL;
    if (pg_exec(pc, &res,
                "SELECT id::text, encode(batch_key, 'hex') FROM settlements "
                "WHERE status IN ('anchored', 'claimable') "
                "AND claimable_at + $1::bigint <= $2::bigint ORDER BY seq "
                "LIMIT " MACRO_TEXT(BATCH_JOB_ROWS_MAX),
                params, 2, e) != PG_OK)
        return BATCH_ERR_DB;
    for (int i = 0; i < PQntuples(res); i++) {
        struct batch_reclaim_ctx q = {.r = r, .rpc = rpc, .id = PQgetvalue(res, i, 0)};
        struct err one = {0};
        if (!pg_get_hex(q.batch_key, BATCH_KEY_BYTES, res, i, 1) ||
            batch_round_tx(r, pc, batch_reclaim_one, &q, &one) != PG_OK) {
            r->rep->skipped++;
            batch_log(r->j, LOG_WARN, "reclaim not submitted; next round", q.id, &one);
        }
    }
    PQclear(res);
    return BATCH_OK;
}

void batch_job_init(struct batch_job *j, const struct batch_job_config *cfg, struct txmgr *tm)
{
    memset(j, 0, sizeof *j);
    j->cfg = *cfg;
    j->tm = tm;
}

enum batch_result batch_job_tick(struct batch_job_report *report, struct batch_job *j,
                                 struct pg_session *pc, struct rpc_client *rpc, struct err *e)
{
    memset(report, 0, sizeof *report);
    struct batch_round r = {.j = j, .rep = report};
    struct err te = {0};
    r.has_now = batch_head_time(&r.now, rpc, &te);
    if (!r.has_now)
        batch_log(j, LOG_WARN, "latest block unavailable: no time-based step", NULL, &te);
    enum batch_result b = batch_pass_txs(&r, pc, e);
    for (int page = 0; b == BATCH_OK && page < BATCH_EVENT_PAGES_MAX; page++) {
        if (batch_round_tx(&r, pc, batch_events_page, &r, e) != PG_OK)
            b = BATCH_ERR_DB;
        else if (r.events < BATCH_EVENTS_PAGE) {
            break;
        }
    }
    if (b == BATCH_OK)
        b = batch_pass_time(&r, pc, e);
    if (b == BATCH_OK)
        b = batch_pass_reclaims(&r, pc, rpc, e);
    if (b != BATCH_OK && e != NULL)
        e->code = (int)b;
    return b;
}
