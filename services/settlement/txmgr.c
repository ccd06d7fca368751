/*
 * txmgr.c - the transaction manager (see txmgr.h). Owns nothing but its
 * struct: sessions and rpc clients are the caller's, per call. Fees and gas
 * are computed by txsend.h's helpers (txsend_cap_fees,
 * txsend_estimate_gas, txsend_gas_with_margin), so the one-shot sender and
 * the manager price a transaction the same way.
 *
 * Writes: txmgr_submit() only inside the caller's transaction; txmgr_tick()
 * in autocommit statements guarded by the row's expected status, except a
 * re-nonce (sender lock, new nonce, new attempt: one transaction). An
 * attempt is always committed before its raw bytes go to a node.
 */
#include "txmgr.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "hex.h"
#include "keccak.h"
#include "rlp.h"
#include "tx.h"
#include "txsend.h"

/* log_printf() to the manager's logger, if it has one. */
#define tm_log(m, level, ...)                                                                      \
    do {                                                                                           \
        if ((m)->cfg.log != NULL)                                                                  \
            log_printf((m)->cfg.log, (level), __VA_ARGS__);                                        \
    } while (0)

/* One stored attempt (without its raw bytes). */
struct tm_attempt {
    uint32_t attempt; /* 1.. */
    uint64_t nonce;
    uint64_t max_fee_wei, tip_wei;
    uint8_t hash[32];
    bool broadcast; /* broadcast_at set */
    bool due;       /* first broadcast at least resend_after_ms ago */
};

/* One chain_txs row with its attempts, in attempt order. */
struct tm_row {
    int64_t id;
    char purpose[TXMGR_PURPOSE_BYTES_MAX + 1];
    enum txmgr_status status;
    struct address sender;
    uint64_t nonce;
    bool is_creation;
    struct address to;
    struct u256 value_wei;
    uint64_t gas_limit;
    uint32_t mined_attempt; /* 0: none */
    uint64_t block_number;
    uint8_t block_hash[32];
    uint32_t n_att;
    struct tm_attempt att[TXMGR_ATTEMPTS_MAX];
};

/* What a transaction signs besides nonce and fees. */
struct tm_payload {
    bool has_to;
    struct address to;
    struct u256 value_wei;
    const uint8_t *data; /* = owned, or the caller's (submit) */
    size_t data_len;
    uint8_t *owned; /* payload_load()'s copy; payload_release() */
    uint64_t gas_limit;
};

/* The receipt of one of a row's attempts. */
struct tm_found {
    bool found;
    uint32_t index; /* into row.att */
    uint64_t block_number;
    uint8_t block_hash[32];
    uint64_t status;
};

/* One tick's state. */
struct tm_tick {
    struct txmgr *m;
    struct pg_session *pc;
    struct rpc_client *rpc;
    struct txmgr_tick_report *rep;
    uint64_t head;
    bool settled_known; /* settled_nonce fetched (or not available: settled_ok false) */
    bool settled_ok;
    uint64_t settled_nonce; /* the sender's nonce at block head - confirmations */
};

/* The rpc client's timeout for the duration of one call of ours. */
struct tm_timeout {
    struct rpc_client *rpc;
    uint32_t saved_ms;
    bool set;
};

static char *hex_alloc(const uint8_t *data, size_t len);
static enum txmgr_result db_fail(struct err *e, const char *what);
static enum txmgr_result rpc_fail(struct err *e, enum txmgr_result code, const char *what);
static bool purpose_ok(const char *purpose);
static void contract_address(struct address *out, const struct address *from, uint64_t nonce);
static bool status_parse(enum txmgr_status *out, const char *text);
static bool bump_fee(uint64_t *out, uint64_t fee_wei, uint32_t pct);
static void timeout_begin(struct tm_timeout *to, const struct txmgr *m, struct rpc_client *rpc);
static void timeout_end(struct tm_timeout *to);
static enum txmgr_result request_check(const struct txmgr_request *req, struct err *e);
static enum txmgr_result purpose_free(struct txmgr_tx *out, struct pg_session *pc,
                                      const char *purpose, struct err *e);
static enum txmgr_result row_parse(struct tm_row *r, const PGresult *res, struct err *e);
static enum txmgr_result attempts_load(struct tm_row *r, struct pg_session *pc,
                                       uint32_t resend_after_ms, struct err *e);
static enum txmgr_result row_load(struct tm_row *r, struct pg_session *pc, const char *key,
                                  bool by_id, uint32_t resend_after_ms, struct err *e);
static void row_to_tx(struct txmgr_tx *out, const struct tm_row *r);
static enum txmgr_result payload_load(struct tm_payload *p, struct pg_session *pc,
                                      const struct tm_row *r, struct err *e);
static void payload_release(struct tm_payload *p);
static enum txmgr_result fees_quote(uint64_t *max_fee_out, uint64_t *tip_out, const struct txmgr *m,
                                    struct rpc_client *rpc, struct err *e);
static enum txmgr_result node_pending_nonce(uint64_t *out, const struct txmgr *m,
                                            struct rpc_client *rpc, struct err *e);
static enum txmgr_result nonce_take(uint64_t *nonce_out, const struct txmgr *m,
                                    struct pg_session *pc, uint64_t node_pending, struct err *e);
static enum txmgr_result nonce_store(const struct txmgr *m, struct pg_session *pc,
                                     uint64_t next_nonce, struct err *e);
static enum txmgr_result attempt_sign(struct buf *raw, uint8_t hash[32], const struct txmgr *m,
                                      const struct tm_payload *p, uint64_t nonce,
                                      uint64_t max_fee_wei, uint64_t tip_wei, struct err *e);
static enum txmgr_result attempt_insert(struct pg_session *pc, int64_t tx_id, uint32_t attempt,
                                        uint64_t nonce, uint64_t max_fee_wei, uint64_t tip_wei,
                                        const struct buf *raw, const uint8_t hash[32],
                                        struct err *e);
static enum txmgr_result submit_quote(struct tm_payload *p, uint64_t *max_fee_out,
                                      uint64_t *tip_out, uint64_t *pending_out, struct txmgr *m,
                                      struct rpc_client *rpc, const struct txmgr_request *req,
                                      struct err *e);
static enum txmgr_result submit_store(struct txmgr_tx *out, struct txmgr *m, struct pg_session *pc,
                                      const struct txmgr_request *req, const struct tm_payload *p,
                                      uint64_t max_fee_wei, uint64_t tip_wei, uint64_t node_pending,
                                      struct err *e);
static enum txmgr_result row_exec(struct tm_tick *t, const struct tm_row *r, const char *what,
                                  const char *sql, const char *const *params, int n, struct err *e);
static enum txmgr_result receipts_lookup(struct tm_found *f, struct tm_tick *t,
                                         const struct tm_row *r, struct err *e);
static enum txmgr_result row_mined(struct tm_tick *t, struct tm_row *r, const struct tm_found *f,
                                   struct err *e);
static enum txmgr_result row_finalize(struct tm_tick *t, struct tm_row *r, struct err *e);
static enum txmgr_result row_unmine(struct tm_tick *t, struct tm_row *r, struct err *e);
static enum txmgr_result attempt_broadcast(struct tm_tick *t, struct tm_row *r, uint32_t index,
                                           struct err *e);
static bool settled_nonce(uint64_t *out, struct tm_tick *t);
static enum txmgr_result row_renonce(struct tm_tick *t, struct tm_row *r, bool *signed_out,
                                     struct err *e);
static enum txmgr_result renonce_store(struct tm_tick *t, struct tm_row *r, uint64_t max_fee_wei,
                                       uint64_t tip_wei, uint64_t node_pending, struct err *e);
static enum txmgr_result row_bump(struct tm_tick *t, struct tm_row *r, bool *signed_out,
                                  struct err *e);
static enum txmgr_result row_advance(struct tm_tick *t, struct tm_row *r, struct err *e);
static enum txmgr_result row_drive(struct tm_tick *t, int64_t id, struct err *e);
static enum txmgr_result tick_rows(struct tm_tick *t, struct err *e);

/* ---- small helpers --------------------------------------------------------------------- */

/* Heap hex text of data[0..len) (no 0x), for decode($n, 'hex'); NULL when
 * out of memory. */
static char *hex_alloc(const uint8_t *data, size_t len)
{
    char *s = malloc(2 * len + 1);
    if (s != NULL && hex_encode(s, 2 * len + 1, data, len) != 0) {
        free(s);
        s = NULL;
    }
    return s;
}

/* e = "txmgr <what> failed: <e's message>" with TXMGR_ERR_DB. */
static enum txmgr_result db_fail(struct err *e, const char *what)
{
    if (e == NULL)
        return TXMGR_ERR_DB;
    char cause[sizeof e->msg];
    snprintf(cause, sizeof cause, "%s", e->msg);
    return (enum txmgr_result)err_set(e, TXMGR_ERR_DB, "txmgr %s failed: %s", what, cause);
}

static enum txmgr_result rpc_fail(struct err *e, enum txmgr_result code, const char *what)
{
    if (e == NULL)
        return code;
    char cause[sizeof e->msg];
    snprintf(cause, sizeof cause, "%s", e->msg);
    return (enum txmgr_result)err_set(e, code, "%s: %s", what, cause);
}

static bool purpose_ok(const char *purpose)
{
    if (purpose == NULL)
        return false;
    size_t n = strnlen(purpose, TXMGR_PURPOSE_BYTES_MAX + 1);
    if (n == 0 || n > TXMGR_PURPOSE_BYTES_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = purpose[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == ':' ||
                  c == '.' || c == '-';
        if (!ok)
            return false;
    }
    return true;
}

/* CREATE: keccak256(rlp([from, nonce]))[12..32). */
static void contract_address(struct address *out, const struct address *from, uint64_t nonce)
{
    struct buf b;
    struct rlp_list l;
    uint8_t h[32];
    buf_init(&b, 64);
    bool ok = rlp_list_begin(&l, &b) == RLP_OK &&
              rlp_encode_bytes(&b, from->bytes, ADDRESS_BYTES) == RLP_OK &&
              rlp_encode_u64(&b, nonce) == RLP_OK && rlp_list_end(&l, &b) == RLP_OK;
    ASSERT(ok); /* at most 1 + 21 + 9 bytes */
    keccak256(h, b.data, b.len);
    memcpy(out->bytes, h + 12, ADDRESS_BYTES);
    buf_release(&b);
}

static const char *const status_names[] = {"signed", "pending", "mined", "confirmed", "reverted"};

static bool status_parse(enum txmgr_status *out, const char *text)
{
    for (size_t i = 0; i < sizeof status_names / sizeof status_names[0]; i++)
        if (strcmp(text, status_names[i]) == 0) {
            *out = (enum txmgr_status)i;
            return true;
        }
    return false;
}

/* out = ceil(fee * (100 + pct) / 100): the smallest fee at least pct percent
 * above `fee`. False when that does not fit in 64 bits. */
static bool bump_fee(uint64_t *out, uint64_t fee_wei, uint32_t pct)
{
    struct u256 f = u256_from_u64(fee_wei), k = u256_from_u64(100u + (uint64_t)pct);
    struct u256 hundred = u256_from_u64(100), ninety_nine = u256_from_u64(99), x, q;
    ASSERT(u256_mul(&x, &f, &k) == U256_OK); /* < 2^64 * 2^11 */
    ASSERT(u256_add(&x, &x, &ninety_nine) == U256_OK);
    ASSERT(u256_divmod(&q, NULL, &x, &hundred) == U256_OK);
    return u256_to_u64(out, &q);
}

static void timeout_begin(struct tm_timeout *to, const struct txmgr *m, struct rpc_client *rpc)
{
    to->rpc = rpc;
    to->saved_ms = rpc->opt.total_timeout_ms;
    to->set = rpc_client_set_timeout_ms(rpc, m->cfg.rpc_timeout_ms, NULL) == RPC_OK;
}

static void timeout_end(struct tm_timeout *to)
{
    if (to->set && rpc_client_set_timeout_ms(to->rpc, to->saved_ms, NULL) != RPC_OK)
        ASSERT(!"an rpc timeout that was valid is refused");
    to->set = false;
}

/* ---- configuration ---------------------------------------------------------------------- */

void txmgr_config_default(struct txmgr_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->confirmations = 2;
    cfg->resend_after_ms = TXMGR_RESEND_AFTER_MS_DEFAULT;
    cfg->bump_pct = 12;
    cfg->rpc_timeout_ms = 5000;
}

enum txmgr_result txmgr_init(struct txmgr *m, const struct txmgr_config *cfg, struct err *e)
{
    memset(m, 0, sizeof *m);
    if (cfg->chain_id == 0 || cfg->chain_id > INT64_MAX)
        return (enum txmgr_result)err_set(
            e, TXMGR_ERR_BAD_INPUT, "txmgr chain id %" PRIu64 " outside 1..2^63-1", cfg->chain_id);
    if (cfg->key == NULL || cfg->max_fee_per_gas_cap_wei == 0)
        return (enum txmgr_result)err_set(e, TXMGR_ERR_BAD_INPUT,
                                          "txmgr needs the operator key and a fee cap > 0 wei");
    if (cfg->confirmations > TXMGR_CONFIRMATIONS_MAX || cfg->resend_after_ms == 0 ||
        cfg->rpc_timeout_ms == 0 || cfg->rpc_timeout_ms > RPC_TIMEOUT_MS_MAX)
        return (enum txmgr_result)err_set(
            e, TXMGR_ERR_BAD_INPUT,
            "txmgr confirmations %u (max %d), resend after %u ms (min 1), rpc timeout %u ms "
            "(1..%d) out of range",
            cfg->confirmations, TXMGR_CONFIRMATIONS_MAX, cfg->resend_after_ms, cfg->rpc_timeout_ms,
            RPC_TIMEOUT_MS_MAX);
    if (cfg->bump_pct < TXMGR_BUMP_PCT_MIN || cfg->bump_pct > TXMGR_BUMP_PCT_MAX)
        return (enum txmgr_result)err_set(e, TXMGR_ERR_BAD_INPUT,
                                          "txmgr bump of %u %% outside %d..%d %%", cfg->bump_pct,
                                          TXMGR_BUMP_PCT_MIN, TXMGR_BUMP_PCT_MAX);
    struct err why = {0};
    if (sig_private_key_address(&m->from, cfg->key, &why) != SIG_OK)
        return (enum txmgr_result)err_set(e, TXMGR_ERR_SIGN, "txmgr cannot derive the sender: %s",
                                          why.msg);
    m->cfg = *cfg;
    return TXMGR_OK;
}

const char *txmgr_status_name(enum txmgr_status s)
{
    if ((size_t)s < sizeof status_names / sizeof status_names[0])
        return status_names[s];
    return "unknown";
}

/* ---- rows ------------------------------------------------------------------------------- */

static const char sql_row_cols[] =
    "SELECT id, purpose, status, encode(sender, 'hex'), nonce, is_creation,"
    " encode(to_address, 'hex'), value_wei, gas_limit, mined_attempt, block_number,"
    " encode(block_hash, 'hex') FROM chain_txs ";

static enum txmgr_result row_parse(struct tm_row *r, const PGresult *res, struct err *e)
{
    uint64_t id = 0, mined = 0;
    memset(r, 0, sizeof *r);
    const char *purpose = PQgetvalue(res, 0, 1);
    const char *value = PQgetvalue(res, 0, 7);
    bool ok = pg_get_u64(&id, res, 0, 0) && id <= INT64_MAX && purpose_ok(purpose) &&
              status_parse(&r->status, PQgetvalue(res, 0, 2)) &&
              pg_get_hex(r->sender.bytes, ADDRESS_BYTES, res, 0, 3) &&
              pg_get_u64(&r->nonce, res, 0, 4) &&
              u256_from_dec(&r->value_wei, value, strlen(value), NULL) == U256_OK &&
              pg_get_u64(&r->gas_limit, res, 0, 8);
    r->id = (int64_t)id;
    r->is_creation = strcmp(PQgetvalue(res, 0, 5), "t") == 0;
    if (ok && !r->is_creation)
        ok = pg_get_hex(r->to.bytes, ADDRESS_BYTES, res, 0, 6);
    bool has_block =
        r->status == TXMGR_MINED || r->status == TXMGR_CONFIRMED || r->status == TXMGR_REVERTED;
    if (ok && has_block)
        ok = pg_get_u64(&mined, res, 0, 9) && mined >= 1 && mined <= TXMGR_ATTEMPTS_MAX &&
             pg_get_u64(&r->block_number, res, 0, 10) && pg_get_hex(r->block_hash, 32, res, 0, 11);
    r->mined_attempt = (uint32_t)mined;
    if (ok)
        snprintf(r->purpose, sizeof r->purpose, "%s", purpose);
    else
        return (enum txmgr_result)err_set(e, TXMGR_ERR_CORRUPT,
                                          "txmgr row %" PRIu64 " does not parse", id);
    return TXMGR_OK;
}

static enum txmgr_result attempts_load(struct tm_row *r, struct pg_session *pc,
                                       uint32_t resend_after_ms, struct err *e)
{
    char id[PG_U64_TEXT_SIZE], after[PG_U64_TEXT_SIZE];
    pg_u64_text(id, (uint64_t)r->id);
    pg_u64_text(after, resend_after_ms);
    const char *params[2] = {id, after};
    PGresult *res = NULL;
    if (pg_exec(pc, &res,
                "SELECT attempt, nonce, max_fee_per_gas_wei, max_priority_fee_per_gas_wei,"
                " encode(tx_hash, 'hex'), broadcast_at IS NOT NULL,"
                " coalesce(clock_timestamp() - broadcast_at >= $2::bigint * interval '1 ms',"
                " false) FROM chain_tx_attempts WHERE tx_id = $1 ORDER BY attempt",
                params, 2, e) != PG_OK)
        return db_fail(e, "reading attempts");
    int n = PQntuples(res);
    bool ok = n >= 1 && n <= TXMGR_ATTEMPTS_MAX;
    for (int i = 0; ok && i < n; i++) {
        struct tm_attempt *a = &r->att[i];
        uint64_t no = 0;
        ok = pg_get_u64(&no, res, i, 0) && no == (uint64_t)i + 1 &&
             pg_get_u64(&a->nonce, res, i, 1) && pg_get_u64(&a->max_fee_wei, res, i, 2) &&
             pg_get_u64(&a->tip_wei, res, i, 3) && pg_get_hex(a->hash, 32, res, i, 4) &&
             a->tip_wei <= a->max_fee_wei;
        a->attempt = (uint32_t)no;
        a->broadcast = strcmp(PQgetvalue(res, i, 5), "t") == 0;
        a->due = strcmp(PQgetvalue(res, i, 6), "t") == 0;
    }
    PQclear(res);
    if (!ok)
        return (enum txmgr_result)err_set(e, TXMGR_ERR_CORRUPT,
                                          "txmgr attempts of row %" PRId64 " do not parse", r->id);
    r->n_att = (uint32_t)n;
    /* The latest attempt carries the row's nonce (older ones may predate a re-nonce). */
    if (r->att[r->n_att - 1].nonce != r->nonce)
        return (enum txmgr_result)err_set(e, TXMGR_ERR_CORRUPT,
                                          "txmgr row %" PRId64 ": latest attempt's nonce is not "
                                          "the row's",
                                          r->id);
    return TXMGR_OK;
}

/* The row whose purpose (by_id false) or id (true) is `key`, with its
 * attempts. TXMGR_ERR_NOT_FOUND when there is none. */
static enum txmgr_result row_load(struct tm_row *r, struct pg_session *pc, const char *key,
                                  bool by_id, uint32_t resend_after_ms, struct err *e)
{
    char sql[sizeof sql_row_cols + 32];
    snprintf(sql, sizeof sql, "%s%s", sql_row_cols, by_id ? "WHERE id = $1" : "WHERE purpose = $1");
    const char *params[1] = {key};
    PGresult *res = NULL;
    if (pg_exec(pc, &res, sql, params, 1, e) != PG_OK)
        return db_fail(e, "reading a transaction");
    enum txmgr_result r2 = TXMGR_OK;
    if (PQntuples(res) != 1)
        r2 = (enum txmgr_result)err_set(e, TXMGR_ERR_NOT_FOUND, "no transaction for %s '%s'",
                                        by_id ? "id" : "purpose", key);
    else
        r2 = row_parse(r, res, e);
    PQclear(res);
    if (r2 == TXMGR_OK)
        r2 = attempts_load(r, pc, resend_after_ms, e);
    return r2;
}

static void row_to_tx(struct txmgr_tx *out, const struct tm_row *r)
{
    memset(out, 0, sizeof *out);
    out->id = r->id;
    snprintf(out->purpose, sizeof out->purpose, "%s", r->purpose);
    out->status = r->status;
    out->from = r->sender;
    out->nonce = r->nonce;
    out->attempts = r->n_att;
    const struct tm_attempt *a = &r->att[r->n_att - 1];
    if (r->mined_attempt != 0) {
        ASSERT(r->mined_attempt <= r->n_att);
        a = &r->att[r->mined_attempt - 1];
        out->has_block = true;
        out->block_number = r->block_number;
        memcpy(out->block_hash, r->block_hash, 32);
    }
    memcpy(out->tx_hash, a->hash, 32);
    out->max_fee_per_gas_wei = a->max_fee_wei;
    out->max_priority_fee_per_gas_wei = a->tip_wei;
    out->is_creation = r->is_creation;
    if (r->is_creation)
        contract_address(&out->contract, &r->sender, a->nonce);
}

enum txmgr_result txmgr_get(struct txmgr_tx *out, struct pg_session *pc, const char *purpose,
                            struct err *e)
{
    if (!purpose_ok(purpose))
        return (enum txmgr_result)err_set(e, TXMGR_ERR_BAD_INPUT,
                                          "purpose must be 1..%d bytes of [a-z0-9_:.-]",
                                          TXMGR_PURPOSE_BYTES_MAX);
    struct tm_row r;
    enum txmgr_result res = row_load(&r, pc, purpose, false, 0, e);
    if (res == TXMGR_OK)
        row_to_tx(out, &r);
    return res;
}

static enum txmgr_result payload_load(struct tm_payload *p, struct pg_session *pc,
                                      const struct tm_row *r, struct err *e)
{
    memset(p, 0, sizeof *p);
    char id[PG_U64_TEXT_SIZE];
    pg_u64_text(id, (uint64_t)r->id);
    const char *params[1] = {id};
    PGresult *res = NULL;
    if (pg_exec(pc, &res, "SELECT encode(data, 'hex') FROM chain_txs WHERE id = $1", params, 1,
                e) != PG_OK)
        return db_fail(e, "reading a payload");
    enum txmgr_result rr = TXMGR_OK;
    const char *hex = PQntuples(res) == 1 ? PQgetvalue(res, 0, 0) : "";
    size_t hex_len = strlen(hex);
    p->owned = malloc(hex_len / 2 + 1);
    p->data = p->owned;
    if (p->owned == NULL || hex_len / 2 > TX_DATA_BYTES_MAX || PQntuples(res) != 1 ||
        hex_decode(p->owned, hex_len / 2 + 1, &p->data_len, hex, hex_len, NULL) != HEX_OK)
        rr = (enum txmgr_result)err_set(e, TXMGR_ERR_CORRUPT,
                                        "txmgr payload of row %" PRId64 " does not parse", r->id);
    PQclear(res);
    if (rr != TXMGR_OK) {
        payload_release(p);
        return rr;
    }
    p->has_to = !r->is_creation;
    p->to = r->to;
    p->value_wei = r->value_wei;
    p->gas_limit = r->gas_limit;
    return TXMGR_OK;
}

static void payload_release(struct tm_payload *p)
{
    free(p->owned);
    p->owned = NULL;
    p->data = NULL;
}

/* ---- nonces, fees, signatures ------------------------------------------------------------ */

/* The node's fees within the cap (txsend_cap_fees). */
static enum txmgr_result fees_quote(uint64_t *max_fee_out, uint64_t *tip_out, const struct txmgr *m,
                                    struct rpc_client *rpc, struct err *e)
{
    struct rpc_fees fees;
    if (rpc_fee_suggestion(rpc, &fees, e) != RPC_OK)
        return rpc_fail(e, TXMGR_ERR_RPC, "cannot fetch fees");
    struct tx_eip1559 tx;
    memset(&tx, 0, sizeof tx);
    if (txsend_cap_fees(&tx, &fees, m->cfg.max_fee_per_gas_cap_wei, e) != TXSEND_OK)
        return rpc_fail(e, TXMGR_ERR_FEE_CAP, "not signing");
    bool ok = u256_to_u64(max_fee_out, &tx.max_fee_per_gas_wei) &&
              u256_to_u64(tip_out, &tx.max_priority_fee_per_gas_wei);
    ASSERT(ok && *tip_out <= *max_fee_out && *max_fee_out <= m->cfg.max_fee_per_gas_cap_wei);
    if (*max_fee_out == 0)
        return (enum txmgr_result)err_set(e, TXMGR_ERR_RPC,
                                          "node suggests a max fee of 0 wei: not signing");
    return TXMGR_OK;
}

static enum txmgr_result node_pending_nonce(uint64_t *out, const struct txmgr *m,
                                            struct rpc_client *rpc, struct err *e)
{
    if (rpc_get_transaction_count(rpc, out, m->from.bytes, "pending", e) != RPC_OK)
        return rpc_fail(e, TXMGR_ERR_RPC, "cannot fetch the pending nonce");
    if (*out >= INT64_MAX)
        return (enum txmgr_result)err_set(e, TXMGR_ERR_RPC,
                                          "node's pending nonce %" PRIu64 " out of range", *out);
    return TXMGR_OK;
}

/* Inside a transaction: locks the sender's row (creating it first) and
 * returns the nonce to use: max(next_nonce, node_pending). */
static enum txmgr_result nonce_take(uint64_t *nonce_out, const struct txmgr *m,
                                    struct pg_session *pc, uint64_t node_pending, struct err *e)
{
    char chain[PG_U64_TEXT_SIZE], addr[PG_HEX_TEXT_SIZE];
    pg_u64_text(chain, m->cfg.chain_id);
    pg_hex_text(addr, m->from.bytes, ADDRESS_BYTES);
    const char *params[2] = {chain, addr};
    PGresult *res = NULL;
    if (pg_exec(pc, NULL,
                "INSERT INTO tx_senders (chain_id, address, next_nonce)"
                " VALUES ($1, decode($2, 'hex'), 0) ON CONFLICT DO NOTHING",
                params, 2, e) != PG_OK ||
        pg_exec(pc, &res,
                "SELECT next_nonce FROM tx_senders"
                " WHERE chain_id = $1 AND address = decode($2, 'hex') FOR UPDATE",
                params, 2, e) != PG_OK)
        return db_fail(e, "locking the sender");
    uint64_t next = 0;
    bool ok = PQntuples(res) == 1 && pg_get_u64(&next, res, 0, 0);
    PQclear(res);
    if (!ok)
        return (enum txmgr_result)err_set(e, TXMGR_ERR_CORRUPT, "txmgr sender row does not parse");
    *nonce_out = next > node_pending ? next : node_pending;
    if (*nonce_out >= INT64_MAX)
        return (enum txmgr_result)err_set(e, TXMGR_ERR_CORRUPT, "txmgr nonce out of range");
    return TXMGR_OK;
}

static enum txmgr_result nonce_store(const struct txmgr *m, struct pg_session *pc,
                                     uint64_t next_nonce, struct err *e)
{
    char chain[PG_U64_TEXT_SIZE], addr[PG_HEX_TEXT_SIZE], next[PG_U64_TEXT_SIZE];
    pg_u64_text(chain, m->cfg.chain_id);
    pg_u64_text(next, next_nonce);
    pg_hex_text(addr, m->from.bytes, ADDRESS_BYTES);
    const char *params[3] = {chain, addr, next};
    if (pg_exec(pc, NULL,
                "UPDATE tx_senders SET next_nonce = $3"
                " WHERE chain_id = $1 AND address = decode($2, 'hex') AND next_nonce <= $3",
                params, 3, e) != PG_OK)
        return db_fail(e, "storing the next nonce");
    return TXMGR_OK;
}

/* Signs the payload with nonce and fees into raw (hash = its keccak). The
 * last gate before a signature: nothing above the cap, ever. */
static enum txmgr_result attempt_sign(struct buf *raw, uint8_t hash[32], const struct txmgr *m,
                                      const struct tm_payload *p, uint64_t nonce,
                                      uint64_t max_fee_wei, uint64_t tip_wei, struct err *e)
{
    ASSERT(max_fee_wei <= m->cfg.max_fee_per_gas_cap_wei);
    ASSERT(tip_wei <= max_fee_wei);
    ASSERT(p->gas_limit >= TXSEND_GAS_ESTIMATE_MIN && p->gas_limit <= TXSEND_GAS_LIMIT_MAX);
    ASSERT(p->data_len <= TX_DATA_BYTES_MAX);
    struct tx_eip1559 tx = {.chain_id = m->cfg.chain_id,
                            .nonce = nonce,
                            .max_priority_fee_per_gas_wei = u256_from_u64(tip_wei),
                            .max_fee_per_gas_wei = u256_from_u64(max_fee_wei),
                            .gas_limit = p->gas_limit,
                            .has_to = p->has_to,
                            .to = p->to,
                            .value_wei = p->value_wei,
                            .data = p->data,
                            .data_len = p->data_len};
    struct err why = {0};
    if (tx_sign(raw, &tx, m->cfg.key, &why) != TX_OK)
        return (enum txmgr_result)err_set(e, TXMGR_ERR_SIGN, "cannot sign: %s", why.msg);
    tx_hash(hash, raw->data, raw->len);
    return TXMGR_OK;
}

static enum txmgr_result attempt_insert(struct pg_session *pc, int64_t tx_id, uint32_t attempt,
                                        uint64_t nonce, uint64_t max_fee_wei, uint64_t tip_wei,
                                        const struct buf *raw, const uint8_t hash[32],
                                        struct err *e)
{
    ASSERT(attempt >= 1 && attempt <= TXMGR_ATTEMPTS_MAX);
    char id[PG_U64_TEXT_SIZE], no[PG_U64_TEXT_SIZE], n[PG_U64_TEXT_SIZE], fee[PG_U64_TEXT_SIZE],
        tip[PG_U64_TEXT_SIZE], h[PG_HEX_TEXT_SIZE];
    pg_u64_text(id, (uint64_t)tx_id);
    pg_u64_text(no, attempt);
    pg_u64_text(n, nonce);
    pg_u64_text(fee, max_fee_wei);
    pg_u64_text(tip, tip_wei);
    pg_hex_text(h, hash, 32);
    char *raw_hex = hex_alloc(raw->data, raw->len);
    if (raw_hex == NULL)
        return (enum txmgr_result)err_set(e, TXMGR_ERR_DB, "txmgr out of memory");
    const char *params[7] = {id, no, n, fee, tip, raw_hex, h};
    enum pg_code r = pg_exec(pc, NULL,
                             "INSERT INTO chain_tx_attempts (tx_id, attempt, nonce,"
                             " max_fee_per_gas_wei, max_priority_fee_per_gas_wei, raw, tx_hash)"
                             " VALUES ($1, $2, $3, $4, $5, decode($6, 'hex'), decode($7, 'hex'))",
                             params, 7, e);
    free(raw_hex);
    return r == PG_OK ? TXMGR_OK : db_fail(e, "storing an attempt");
}

/* ---- submit ------------------------------------------------------------------------------ */

static enum txmgr_result request_check(const struct txmgr_request *req, struct err *e)
{
    if (!purpose_ok(req->purpose))
        return (enum txmgr_result)err_set(e, TXMGR_ERR_BAD_INPUT,
                                          "purpose must be 1..%d bytes of [a-z0-9_:.-]",
                                          TXMGR_PURPOSE_BYTES_MAX);
    if (req->data_len > TX_DATA_BYTES_MAX || (req->data == NULL && req->data_len != 0))
        return (enum txmgr_result)err_set(e, TXMGR_ERR_BAD_INPUT,
                                          "transaction data of %zu bytes above maximum %zu",
                                          req->data_len, (size_t)TX_DATA_BYTES_MAX);
    if (req->gas_limit != 0 &&
        (req->gas_limit < TXSEND_GAS_ESTIMATE_MIN || req->gas_limit > TXSEND_GAS_LIMIT_MAX))
        return (enum txmgr_result)err_set(e, TXMGR_ERR_BAD_INPUT,
                                          "gas limit %" PRIu64 " outside %u..%u", req->gas_limit,
                                          TXSEND_GAS_ESTIMATE_MIN, TXSEND_GAS_LIMIT_MAX);
    return TXMGR_OK;
}

/* TXMGR_OK when no row has `purpose`; TXMGR_ERR_EXISTS with *out = that
 * row; or the lookup's error. */
static enum txmgr_result purpose_free(struct txmgr_tx *out, struct pg_session *pc,
                                      const char *purpose, struct err *e)
{
    enum txmgr_result r = txmgr_get(out, pc, purpose, e);
    if (r == TXMGR_OK)
        return (enum txmgr_result)err_set(e, TXMGR_ERR_EXISTS, "purpose '%s' already submitted",
                                          purpose);
    return r == TXMGR_ERR_NOT_FOUND ? TXMGR_OK : r;
}

/* Everything submit asks the node, before any lock is taken. */
static enum txmgr_result submit_quote(struct tm_payload *p, uint64_t *max_fee_out,
                                      uint64_t *tip_out, uint64_t *pending_out, struct txmgr *m,
                                      struct rpc_client *rpc, const struct txmgr_request *req,
                                      struct err *e)
{
    *p = (struct tm_payload){.has_to = req->has_to,
                             .to = req->to,
                             .value_wei = req->value_wei,
                             .data = req->data,
                             .data_len = req->data_len,
                             .gas_limit = req->gas_limit};
    if (p->gas_limit == 0) {
        struct txsend_request tr = {.has_to = req->has_to,
                                    .to = req->to,
                                    .value_wei = req->value_wei,
                                    .data = req->data,
                                    .data_len = req->data_len};
        uint64_t est = 0;
        switch (txsend_estimate_gas(&est, NULL, rpc, &m->from, &tr, e)) {
        case TXSEND_OK:
            break;
        case TXSEND_ERR_ESTIMATE_REVERT:
            return TXMGR_ERR_ESTIMATE_REVERT;
        case TXSEND_ERR_BAD_ESTIMATE:
            return TXMGR_ERR_BAD_ESTIMATE;
        default:
            return rpc_fail(e, TXMGR_ERR_RPC, "txmgr submit");
        }
        p->gas_limit = txsend_gas_with_margin(est);
    }
    enum txmgr_result r = fees_quote(max_fee_out, tip_out, m, rpc, e);
    if (r == TXMGR_OK)
        r = node_pending_nonce(pending_out, m, rpc, e);
    return r;
}

/* Under the sender's lock: re-checks the purpose, signs, stores. */
static enum txmgr_result submit_store(struct txmgr_tx *out, struct txmgr *m, struct pg_session *pc,
                                      const struct txmgr_request *req, const struct tm_payload *p,
                                      uint64_t max_fee_wei, uint64_t tip_wei, uint64_t node_pending,
                                      struct err *e)
{
    uint64_t nonce = 0;
    enum txmgr_result r = nonce_take(&nonce, m, pc, node_pending, e);
    if (r != TXMGR_OK)
        return r;
    r = purpose_free(out, pc, req->purpose, e); /* a submit of it that we waited for */
    if (r != TXMGR_OK)
        return r;
    struct buf raw;
    uint8_t hash[32];
    buf_init(&raw, TX_RAW_BYTES_MAX);
    r = attempt_sign(&raw, hash, m, p, nonce, max_fee_wei, tip_wei, e);
    char chain[PG_U64_TEXT_SIZE], addr[PG_HEX_TEXT_SIZE], n[PG_U64_TEXT_SIZE], to[PG_HEX_TEXT_SIZE],
        value[U256_DEC_SIZE], gas[PG_U64_TEXT_SIZE];
    pg_u64_text(chain, m->cfg.chain_id);
    pg_u64_text(n, nonce);
    pg_u64_text(gas, p->gas_limit);
    u256_to_dec(value, &p->value_wei);
    pg_hex_text(addr, m->from.bytes, ADDRESS_BYTES);
    pg_hex_text(to, p->to.bytes, ADDRESS_BYTES);
    char *data_hex = r == TXMGR_OK ? hex_alloc(p->data, p->data_len) : NULL;
    if (r == TXMGR_OK && data_hex == NULL)
        r = (enum txmgr_result)err_set(e, TXMGR_ERR_DB, "txmgr out of memory");
    const char *params[9] = {req->purpose,          chain, addr,     n,  p->has_to ? "f" : "t",
                             p->has_to ? to : NULL, value, data_hex, gas};
    PGresult *res = NULL;
    if (r == TXMGR_OK &&
        pg_exec(pc, &res,
                "INSERT INTO chain_txs (purpose, chain_id, sender, nonce, is_creation, to_address,"
                " value_wei, data, gas_limit) VALUES ($1, $2, decode($3, 'hex'), $4, $5,"
                " decode($6, 'hex'), $7, decode($8, 'hex'), $9) RETURNING id",
                params, 9, e) != PG_OK)
        r = db_fail(e, "storing a transaction");
    free(data_hex);
    uint64_t id = 0;
    if (r == TXMGR_OK && (!pg_get_u64(&id, res, 0, 0) || id > INT64_MAX))
        r = (enum txmgr_result)err_set(e, TXMGR_ERR_CORRUPT, "txmgr insert returned no id");
    PQclear(res);
    if (r == TXMGR_OK)
        r = attempt_insert(pc, (int64_t)id, 1, nonce, max_fee_wei, tip_wei, &raw, hash, e);
    buf_release(&raw);
    if (r == TXMGR_OK)
        r = nonce_store(m, pc, nonce + 1, e);
    if (r == TXMGR_OK)
        r = txmgr_get(out, pc, req->purpose, e); /* read back what was stored */
    if (r == TXMGR_OK)
        ASSERT(out->nonce == nonce && out->attempts == 1 && memcmp(out->tx_hash, hash, 32) == 0 &&
               out->status == TXMGR_SIGNED && out->max_fee_per_gas_wei == max_fee_wei);
    return r;
}

enum txmgr_result txmgr_submit(struct txmgr_tx *out, struct txmgr *m, struct pg_session *pc,
                               struct rpc_client *rpc, const struct txmgr_request *req,
                               struct err *e)
{
    memset(out, 0, sizeof *out);
    enum txmgr_result r = request_check(req, e);
    if (r != TXMGR_OK)
        return r;
    r = purpose_free(out, pc, req->purpose, e);
    if (r != TXMGR_OK)
        return r;
    struct tm_payload p;
    uint64_t max_fee = 0, tip = 0, pending = 0;
    struct tm_timeout to;
    timeout_begin(&to, m, rpc);
    r = submit_quote(&p, &max_fee, &tip, &pending, m, rpc, req, e);
    timeout_end(&to);
    if (r == TXMGR_OK)
        r = submit_store(out, m, pc, req, &p, max_fee, tip, pending, e);
    if (r != TXMGR_OK && r != TXMGR_ERR_EXISTS)
        memset(out, 0, sizeof *out);
    if (r == TXMGR_OK)
        tm_log(m, LOG_INFO,
               "txmgr signed purpose=%s nonce=%" PRIu64 " max_fee_wei=%" PRIu64 " tip_wei=%" PRIu64,
               req->purpose, out->nonce, max_fee, tip);
    return r;
}

/* ---- tick: row state changes ------------------------------------------------------------- */

/* Runs one guarded UPDATE of row r ($1 = its id); a row that was not in the
 * expected state is logged (only this driver changes rows: a bug or a
 * second driver without the lock). */
static enum txmgr_result row_exec(struct tm_tick *t, const struct tm_row *r, const char *what,
                                  const char *sql, const char *const *params, int n, struct err *e)
{
    PGresult *res = NULL;
    if (pg_exec(t->pc, &res, sql, params, n, e) != PG_OK)
        return db_fail(e, what);
    bool changed = strcmp(PQcmdTuples(res), "1") == 0;
    PQclear(res);
    if (!changed)
        tm_log(t->m, LOG_WARN, "txmgr %s: row %" PRId64 " purpose=%s was not in the expected state",
               what, r->id, r->purpose);
    return TXMGR_OK;
}

/* The receipts of all of r's attempts: at most one may exist (they share a
 * nonce, or an older nonce was used elsewhere). A receipt for another hash or
 * sender than asked is an error, not a finding. */
static enum txmgr_result receipts_lookup(struct tm_found *f, struct tm_tick *t,
                                         const struct tm_row *r, struct err *e)
{
    memset(f, 0, sizeof *f);
    for (uint32_t i = 0; i < r->n_att; i++) {
        struct rpc_receipt rc;
        enum rpc_result rr = rpc_get_transaction_receipt(t->rpc, &rc, r->att[i].hash, e);
        if (rr == RPC_ERR_NO_RECEIPT)
            continue;
        if (rr != RPC_OK)
            return rpc_fail(e, TXMGR_ERR_RPC, "cannot look up a receipt");
        bool ours = memcmp(rc.transaction_hash, r->att[i].hash, 32) == 0 &&
                    memcmp(rc.from, r->sender.bytes, ADDRESS_BYTES) == 0;
        uint64_t block = rc.block_number, status = rc.status;
        uint8_t block_hash[32];
        memcpy(block_hash, rc.block_hash, 32);
        rpc_receipt_release(&rc);
        if (!ours)
            return (enum txmgr_result)err_set(e, TXMGR_ERR_RPC,
                                              "node's receipt is not for attempt %u of '%s'", i + 1,
                                              r->purpose);
        if (f->found || status > 1 || block > INT64_MAX)
            return (enum txmgr_result)err_set(
                e, TXMGR_ERR_RPC, "node reports an impossible receipt for attempt %u of '%s'",
                i + 1, r->purpose);
        *f = (struct tm_found){.found = true, .index = i, .block_number = block, .status = status};
        memcpy(f->block_hash, block_hash, 32);
    }
    return TXMGR_OK;
}

static enum txmgr_result row_mined(struct tm_tick *t, struct tm_row *r, const struct tm_found *f,
                                   struct err *e)
{
    char id[PG_U64_TEXT_SIZE], att[PG_U64_TEXT_SIZE], block[PG_U64_TEXT_SIZE],
        hash[PG_HEX_TEXT_SIZE];
    pg_u64_text(id, (uint64_t)r->id);
    pg_u64_text(att, f->index + 1);
    pg_u64_text(block, f->block_number);
    pg_hex_text(hash, f->block_hash, 32);
    const char *params[5] = {id, att, block, hash, f->status == 1 ? "1" : "0"};
    enum txmgr_result res =
        row_exec(t, r, "recording a receipt",
                 "UPDATE chain_txs SET status = 'mined', mined_attempt = $2, block_number = $3,"
                 " block_hash = decode($4, 'hex'), receipt_status = $5, updated_at = now()"
                 " WHERE id = $1 AND status IN ('signed', 'pending')",
                 params, 5, e);
    if (res != TXMGR_OK)
        return res;
    r->status = TXMGR_MINED;
    r->mined_attempt = f->index + 1;
    r->block_number = f->block_number;
    memcpy(r->block_hash, f->block_hash, 32);
    t->rep->mined++;
    tm_log(t->m, LOG_INFO, "txmgr mined purpose=%s attempt=%u block=%" PRIu64 " status=%" PRIu64,
           r->purpose, f->index + 1, f->block_number, f->status);
    return row_finalize(t, r, e);
}

/* A mined row `confirmations` deep becomes confirmed or reverted. */
static enum txmgr_result row_finalize(struct tm_tick *t, struct tm_row *r, struct err *e)
{
    uint64_t head = t->head > r->block_number ? t->head : r->block_number;
    if (head - r->block_number < t->m->cfg.confirmations)
        return TXMGR_OK;
    char id[PG_U64_TEXT_SIZE], hash[PG_HEX_TEXT_SIZE];
    pg_u64_text(id, (uint64_t)r->id);
    pg_hex_text(hash, r->block_hash, 32);
    const char *params[2] = {id, hash};
    enum txmgr_result res =
        row_exec(t, r, "finalizing",
                 "UPDATE chain_txs SET status = CASE receipt_status WHEN 1 THEN 'confirmed'"
                 " ELSE 'reverted' END, updated_at = now()"
                 " WHERE id = $1 AND status = 'mined' AND block_hash = decode($2, 'hex')",
                 params, 2, e);
    if (res == TXMGR_OK) {
        t->rep->confirmed++;
        tm_log(t->m, LOG_INFO, "txmgr final purpose=%s block=%" PRIu64, r->purpose,
               r->block_number);
    }
    return res;
}

/* A reorg dropped or moved the mined attempt: back to pending. */
static enum txmgr_result row_unmine(struct tm_tick *t, struct tm_row *r, struct err *e)
{
    char id[PG_U64_TEXT_SIZE];
    pg_u64_text(id, (uint64_t)r->id);
    const char *params[1] = {id};
    enum txmgr_result res = row_exec(
        t, r, "returning a row to pending",
        "UPDATE chain_txs SET status = 'pending', mined_attempt = NULL, block_number = NULL,"
        " block_hash = NULL, receipt_status = NULL, updated_at = now()"
        " WHERE id = $1 AND status = 'mined'",
        params, 1, e);
    if (res != TXMGR_OK)
        return res;
    tm_log(t->m, LOG_WARN, "txmgr reorg purpose=%s: block %" PRIu64 " no longer holds it",
           r->purpose, r->block_number);
    r->status = TXMGR_PENDING;
    r->mined_attempt = 0;
    t->rep->unmined++;
    return TXMGR_OK;
}

/* Sends attempt `index`'s stored raw bytes, checked against its hash first.
 * The row is 'pending' and the attempt's broadcast_at set before the bytes
 * leave (a crash after the send must not look like "never broadcast"). Any
 * answer but the hash is only logged: the receipts decide. A DB failure is
 * the only error returned as such; a corrupt attempt is TXMGR_ERR_CORRUPT. */
static enum txmgr_result attempt_broadcast(struct tm_tick *t, struct tm_row *r, uint32_t index,
                                           struct err *e)
{
    const struct tm_attempt *a = &r->att[index];
    char id[PG_U64_TEXT_SIZE], no[PG_U64_TEXT_SIZE];
    pg_u64_text(id, (uint64_t)r->id);
    pg_u64_text(no, a->attempt);
    const char *params[2] = {id, no};
    PGresult *res = NULL;
    if (pg_exec(t->pc, &res,
                "SELECT '0x' || encode(raw, 'hex') FROM chain_tx_attempts"
                " WHERE tx_id = $1 AND attempt = $2",
                params, 2, e) != PG_OK)
        return db_fail(e, "reading a raw transaction");
    const char *raw_hex = PQntuples(res) == 1 ? PQgetvalue(res, 0, 0) : "0x";
    size_t raw_len = (strlen(raw_hex) - 2) / 2;
    uint8_t *raw = malloc(raw_len + 1), h[32];
    struct tx_eip1559 tx;
    struct tx_signature sig;
    bool ok = raw != NULL && raw_len <= TX_RAW_BYTES_MAX &&
              hex_decode_exact(raw, raw_len, raw_hex + 2, 2 * raw_len, NULL) == HEX_OK &&
              tx_decode_signed(&tx, &sig, raw, raw_len, NULL) == TX_OK;
    if (ok) {
        tx_hash(h, raw, raw_len);
        ok = memcmp(h, a->hash, 32) == 0 && tx.nonce == a->nonce &&
             tx.chain_id == t->m->cfg.chain_id;
    }
    free(raw);
    enum txmgr_result rr = TXMGR_OK;
    if (!ok)
        rr = (enum txmgr_result)err_set(e, TXMGR_ERR_CORRUPT,
                                        "attempt %u of '%s': stored raw bytes do not match",
                                        a->attempt, r->purpose);
    if (rr == TXMGR_OK && r->status == TXMGR_SIGNED) {
        rr = row_exec(t, r, "marking pending",
                      "UPDATE chain_txs SET status = 'pending', updated_at = now()"
                      " WHERE id = $1 AND status = 'signed'",
                      params, 1, e);
        r->status = TXMGR_PENDING;
    }
    if (rr == TXMGR_OK && !a->broadcast &&
        pg_exec(t->pc, NULL,
                "UPDATE chain_tx_attempts SET broadcast_at = clock_timestamp()"
                " WHERE tx_id = $1 AND attempt = $2 AND broadcast_at IS NULL",
                params, 2, e) != PG_OK)
        rr = db_fail(e, "marking a broadcast");
    if (rr == TXMGR_OK) {
        uint8_t node_hash[32];
        struct err why = {0};
        enum rpc_result sr = rpc_send_raw_transaction(t->rpc, node_hash, raw_hex, &why);
        t->rep->broadcast++;
        if (sr == RPC_OK && memcmp(node_hash, a->hash, 32) != 0)
            tm_log(t->m, LOG_ERROR,
                   "txmgr broadcast purpose=%s attempt=%u: node answered "
                   "another hash",
                   r->purpose, a->attempt);
        else if (sr != RPC_OK)
            tm_log(t->m, LOG_INFO,
                   "txmgr broadcast purpose=%s attempt=%u: %s (resolved by "
                   "receipts)",
                   r->purpose, a->attempt, why.msg);
    }
    PQclear(res);
    return rr;
}

/* ---- tick: re-nonce and bump ------------------------------------------------------------ */

/* The sender's nonce at block head - confirmations (once per tick); false
 * when the chain is shorter or the node does not answer. */
static bool settled_nonce(uint64_t *out, struct tm_tick *t)
{
    if (!t->settled_known) {
        t->settled_known = true;
        if (t->head >= t->m->cfg.confirmations) {
            char tag[2 + 16 + 1];
            snprintf(tag, sizeof tag, "0x%" PRIx64, t->head - t->m->cfg.confirmations);
            struct err why = {0};
            t->settled_ok = rpc_get_transaction_count(t->rpc, &t->settled_nonce, t->m->from.bytes,
                                                      tag, &why) == RPC_OK;
            if (!t->settled_ok)
                tm_log(t->m, LOG_WARN, "txmgr cannot fetch the settled nonce: %s", why.msg);
        }
    }
    *out = t->settled_nonce;
    return t->settled_ok;
}

/* The row's nonce was used by a transaction that is not ours (none of our
 * hashes is mined and the account is past it `confirmations` deep): re-sign
 * the same payload with a fresh nonce. *signed_out tells whether it did. */
static enum txmgr_result row_renonce(struct tm_tick *t, struct tm_row *r, bool *signed_out,
                                     struct err *e)
{
    *signed_out = false;
    if (r->n_att >= TXMGR_ATTEMPTS_MAX) {
        tm_log(t->m, LOG_ERROR,
               "txmgr purpose=%s: nonce %" PRIu64 " used elsewhere, attempts "
               "exhausted",
               r->purpose, r->nonce);
        return TXMGR_OK;
    }
    uint64_t max_fee = 0, tip = 0, pending = 0;
    struct err why = {0};
    if (fees_quote(&max_fee, &tip, t->m, t->rpc, &why) != TXMGR_OK ||
        node_pending_nonce(&pending, t->m, t->rpc, &why) != TXMGR_OK) {
        tm_log(t->m, LOG_WARN, "txmgr re-nonce of purpose=%s postponed: %s", r->purpose, why.msg);
        return TXMGR_OK;
    }
    if (pg_begin(t->pc, PG_READ_COMMITTED, e) != PG_OK)
        return db_fail(e, "beginning a re-nonce");
    enum txmgr_result res = renonce_store(t, r, max_fee, tip, pending, e);
    if (res == TXMGR_OK && pg_commit(t->pc, e) != PG_OK)
        res = db_fail(e, "committing a re-nonce");
    if (res != TXMGR_OK) {
        struct err ignored = {0};
        if (pg_rollback(t->pc, &ignored) != PG_OK)
            tm_log(t->m, LOG_WARN, "txmgr rollback failed: %s", ignored.msg);
        return res;
    }
    *signed_out = true;
    t->rep->renonced++;
    tm_log(t->m, LOG_WARN,
           "txmgr re-nonce purpose=%s: nonce %" PRIu64 " (the old one was used "
           "outside the manager)",
           r->purpose, r->nonce);
    return TXMGR_OK;
}

/* Inside the re-nonce's transaction; on success r holds the new attempt. */
static enum txmgr_result renonce_store(struct tm_tick *t, struct tm_row *r, uint64_t max_fee_wei,
                                       uint64_t tip_wei, uint64_t node_pending, struct err *e)
{
    uint64_t nonce = 0;
    enum txmgr_result res = nonce_take(&nonce, t->m, t->pc, node_pending, e);
    if (res != TXMGR_OK)
        return res;
    if (nonce <= r->nonce) /* the stored next nonce is past every row's */
        return (enum txmgr_result)err_set(
            e, TXMGR_ERR_CORRUPT, "txmgr next nonce %" PRIu64 " is not past row '%s''s %" PRIu64,
            nonce, r->purpose, r->nonce);
    struct tm_payload p;
    res = payload_load(&p, t->pc, r, e);
    if (res != TXMGR_OK)
        return res;
    struct buf raw;
    uint8_t hash[32];
    buf_init(&raw, TX_RAW_BYTES_MAX);
    res = attempt_sign(&raw, hash, t->m, &p, nonce, max_fee_wei, tip_wei, e);
    payload_release(&p);
    char id[PG_U64_TEXT_SIZE], n_new[PG_U64_TEXT_SIZE], n_old[PG_U64_TEXT_SIZE];
    pg_u64_text(id, (uint64_t)r->id);
    pg_u64_text(n_new, nonce);
    pg_u64_text(n_old, r->nonce);
    const char *params[3] = {id, n_new, n_old};
    PGresult *upd = NULL;
    if (res == TXMGR_OK &&
        pg_exec(t->pc, &upd,
                "UPDATE chain_txs SET nonce = $2, status = 'signed', updated_at = now()"
                " WHERE id = $1 AND nonce = $3 AND status IN ('signed', 'pending')",
                params, 3, e) != PG_OK)
        res = db_fail(e, "re-noncing a row");
    if (res == TXMGR_OK && strcmp(PQcmdTuples(upd), "1") != 0)
        res = (enum txmgr_result)err_set(e, TXMGR_ERR_DB, "row '%s' changed under the re-nonce",
                                         r->purpose);
    PQclear(upd);
    if (res == TXMGR_OK)
        res =
            attempt_insert(t->pc, r->id, r->n_att + 1, nonce, max_fee_wei, tip_wei, &raw, hash, e);
    buf_release(&raw);
    if (res == TXMGR_OK)
        res = nonce_store(t->m, t->pc, nonce + 1, e);
    if (res == TXMGR_OK) {
        r->att[r->n_att] = (struct tm_attempt){.attempt = r->n_att + 1,
                                               .nonce = nonce,
                                               .max_fee_wei = max_fee_wei,
                                               .tip_wei = tip_wei};
        memcpy(r->att[r->n_att].hash, hash, 32);
        r->n_att++;
        r->nonce = nonce;
        r->status = TXMGR_SIGNED;
    }
    return res;
}

/* The latest attempt is due: a replacement with the same nonce and payload,
 * max fee and tip each >= bump_pct above it and >= the node's suggestion,
 * never above the cap. *signed_out tells whether one was signed. */
static enum txmgr_result row_bump(struct tm_tick *t, struct tm_row *r, bool *signed_out,
                                  struct err *e)
{
    *signed_out = false;
    const struct tm_attempt *last = &r->att[r->n_att - 1];
    uint64_t cap = t->m->cfg.max_fee_per_gas_cap_wei, sug_fee = 0, sug_tip = 0;
    uint64_t fee = 0, tip = 0;
    struct err why = {0};
    if (fees_quote(&sug_fee, &sug_tip, t->m, t->rpc, &why) != TXMGR_OK) {
        tm_log(t->m, LOG_WARN, "txmgr bump of purpose=%s not signed: %s", r->purpose, why.msg);
        return TXMGR_OK;
    }
    if (!bump_fee(&fee, last->max_fee_wei, t->m->cfg.bump_pct) ||
        !bump_fee(&tip, last->tip_wei, t->m->cfg.bump_pct) || fee > cap) {
        tm_log(t->m, LOG_WARN,
               "txmgr bump of purpose=%s not signed: %u %% over max fee %" PRIu64
               " wei is above the cap of %" PRIu64 " wei",
               r->purpose, t->m->cfg.bump_pct, last->max_fee_wei, cap);
        return TXMGR_OK;
    }
    fee = fee > sug_fee ? fee : sug_fee;
    tip = tip > sug_tip ? tip : sug_tip;
    ASSERT(fee <= cap && tip <= fee);
    struct tm_payload p;
    enum txmgr_result res = payload_load(&p, t->pc, r, e);
    if (res != TXMGR_OK)
        return res;
    struct buf raw;
    uint8_t hash[32];
    buf_init(&raw, TX_RAW_BYTES_MAX);
    res = attempt_sign(&raw, hash, t->m, &p, r->nonce, fee, tip, e);
    payload_release(&p);
    if (res == TXMGR_OK)
        res = attempt_insert(t->pc, r->id, r->n_att + 1, r->nonce, fee, tip, &raw, hash, e);
    buf_release(&raw);
    if (res != TXMGR_OK)
        return res;
    r->att[r->n_att] = (struct tm_attempt){
        .attempt = r->n_att + 1, .nonce = r->nonce, .max_fee_wei = fee, .tip_wei = tip};
    memcpy(r->att[r->n_att].hash, hash, 32);
    r->n_att++;
    *signed_out = true;
    t->rep->bumped++;
    tm_log(t->m, LOG_INFO,
           "txmgr bump purpose=%s attempt=%u max_fee_wei=%" PRIu64 " tip_wei=%" PRIu64, r->purpose,
           r->n_att, fee, tip);
    return TXMGR_OK;
}

/* ---- tick: one row ----------------------------------------------------------------------- */

/* A row none of whose attempts is mined: re-nonce, bump or re-broadcast,
 * then look the hashes up again (the node may have mined it, or a lost
 * response may hide that it has). */
static enum txmgr_result row_advance(struct tm_tick *t, struct tm_row *r, struct err *e)
{
    uint64_t settled = 0;
    bool did = false;
    enum txmgr_result res = TXMGR_OK;
    if (settled_nonce(&settled, t) && settled > r->nonce)
        res = row_renonce(t, r, &did, e);
    else if (r->status == TXMGR_PENDING && r->att[r->n_att - 1].due &&
             r->n_att < TXMGR_ATTEMPTS_MAX)
        res = row_bump(t, r, &did, e);
    if (res != TXMGR_OK)
        return res;
    res = attempt_broadcast(t, r, r->n_att - 1, e);
    if (res != TXMGR_OK)
        return res;
    struct tm_found f;
    struct err why = {0};
    if (receipts_lookup(&f, t, r, &why) != TXMGR_OK) {
        tm_log(t->m, LOG_WARN, "txmgr purpose=%s: %s", r->purpose, why.msg);
        return TXMGR_OK;
    }
    return f.found ? row_mined(t, r, &f, e) : TXMGR_OK;
}

static enum txmgr_result row_drive(struct tm_tick *t, int64_t id, struct err *e)
{
    struct tm_row r;
    char key[PG_U64_TEXT_SIZE];
    pg_u64_text(key, (uint64_t)id);
    enum txmgr_result res = row_load(&r, t->pc, key, true, t->m->cfg.resend_after_ms, e);
    if (res != TXMGR_OK)
        return res;
    struct tm_found f;
    res = receipts_lookup(&f, t, &r, e);
    if (res != TXMGR_OK)
        return res;
    if (r.status == TXMGR_MINED) {
        if (f.found && f.index + 1 == r.mined_attempt &&
            memcmp(f.block_hash, r.block_hash, 32) == 0)
            return row_finalize(t, &r, e);
        res = row_unmine(t, &r, e);
        if (res != TXMGR_OK)
            return res;
    }
    if (f.found)
        return row_mined(t, &r, &f, e);
    return row_advance(t, &r, e);
}

static enum txmgr_result tick_rows(struct tm_tick *t, struct err *e)
{
    struct err why = {0};
    if (rpc_block_number(t->rpc, &t->head, &why) != RPC_OK) {
        tm_log(t->m, LOG_WARN, "txmgr tick skipped: %s", why.msg);
        return TXMGR_OK;
    }
    char chain[PG_U64_TEXT_SIZE], addr[PG_HEX_TEXT_SIZE], limit[PG_U64_TEXT_SIZE];
    pg_u64_text(chain, t->m->cfg.chain_id);
    pg_u64_text(limit, TXMGR_TICK_ROWS_MAX);
    pg_hex_text(addr, t->m->from.bytes, ADDRESS_BYTES);
    const char *params[3] = {chain, addr, limit};
    PGresult *res = NULL;
    if (pg_exec(t->pc, &res,
                "SELECT id FROM chain_txs WHERE chain_id = $1 AND sender = decode($2, 'hex')"
                " AND status IN ('signed', 'pending', 'mined') ORDER BY nonce, id LIMIT $3",
                params, 3, e) != PG_OK)
        return db_fail(e, "listing open transactions");
    enum txmgr_result r = TXMGR_OK;
    for (int i = 0; r == TXMGR_OK && i < PQntuples(res); i++) {
        uint64_t id = 0;
        if (!pg_get_u64(&id, res, i, 0) || id > INT64_MAX) {
            r = (enum txmgr_result)err_set(e, TXMGR_ERR_CORRUPT, "txmgr row id does not parse");
            break;
        }
        struct err row_err = {0};
        enum txmgr_result rr = row_drive(t, (int64_t)id, &row_err);
        if (rr == TXMGR_ERR_DB) {
            r = rr;
            if (e != NULL)
                *e = row_err;
        } else if (rr != TXMGR_OK) {
            tm_log(t->m, rr == TXMGR_ERR_CORRUPT ? LOG_ERROR : LOG_WARN,
                   "txmgr row %" PRIu64 " left for the next tick: %s", id, row_err.msg);
        }
    }
    PQclear(res);
    return r;
}

enum txmgr_result txmgr_tick(struct txmgr_tick_report *report, struct txmgr *m,
                             struct pg_session *pc, struct rpc_client *rpc, struct err *e)
{
    memset(report, 0, sizeof *report);
    uint32_t low = (uint32_t)m->from.bytes[16] << 24 | (uint32_t)m->from.bytes[17] << 16 |
                   (uint32_t)m->from.bytes[18] << 8 | (uint32_t)m->from.bytes[19];
    char key[PG_U64_TEXT_SIZE];
    pg_u64_text(key, (uint64_t)TXMGR_LOCK_KEY_BASE + low);
    const char *params[1] = {key};
    PGresult *res = NULL;
    if (pg_exec(pc, &res, "SELECT pg_try_advisory_lock($1::bigint)", params, 1, e) != PG_OK)
        return db_fail(e, "taking the sender's lock");
    bool leader = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    PQclear(res);
    if (!leader) {
        report->not_leader = true;
        return TXMGR_OK;
    }
    struct tm_tick t = {.m = m, .pc = pc, .rpc = rpc, .rep = report};
    struct tm_timeout to;
    timeout_begin(&to, m, rpc);
    enum txmgr_result r = tick_rows(&t, e);
    timeout_end(&to);
    struct err why = {0};
    if (pg_exec(pc, NULL, "SELECT pg_advisory_unlock($1::bigint)", params, 1, &why) != PG_OK &&
        r == TXMGR_OK) {
        r = (enum txmgr_result)err_set(e, TXMGR_ERR_DB,
                                       "txmgr releasing the sender's lock "
                                       "failed: %s",
                                       why.msg);
    }
    return r;
}
