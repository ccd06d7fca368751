/*
 * ledger.c - the double-entry journal in PostgreSQL (see ledger.h).
 *
 * A batch travels as fourteen text arrays ("{...}" literals built in struct
 * batch_text): nine entry columns and five posting columns, unnested by one
 * INSERT ... ON CONFLICT statement (LEDGER_SQL_POST). Hashes and keys go as
 * hex text and are decode()d by the server; wei goes as decimal text.
 */
#include "ledger.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "hex.h"

/* Columns of a batch, in the order of LEDGER_SQL_POST's parameters. */
enum batch_col {
    COL_ID,
    COL_KIND,
    COL_CREATOR,
    COL_CHAIN,
    COL_TX,
    COL_LOG,
    COL_BLOCK,
    COL_BLOCK_HASH,
    COL_REVERSES,
    COL_P_ENTRY,
    COL_P_LINE,
    COL_P_ACCOUNT,
    COL_P_SIDE,
    COL_P_AMOUNT,
    COL_COUNT
};

/* Widest element of any column plus its comma: a 78-digit amount. */
#define BATCH_ELEMENT_BYTES_MAX 80

struct batch_text {
    struct buf col[COL_COUNT];
    bool ok; /* false once an append failed */
};

/* State of one ledger_post_batch() call, handed to pg_run_tx. */
struct post_ctx {
    struct ledger_post_report *report;
    uint64_t *ids_out;
    const struct ledger_entry *entries;
    size_t entries_len;
    enum ledger_result result; /* when the callback returns PG_ERR_CALLBACK */
};

static const char LEDGER_SQL_POST[] =
    "WITH ins AS ("
    " INSERT INTO ledger_entries (id, kind, creator_key, chain_id, tx_hash, log_index,"
    "  block_number, block_hash, reverses_entry_id)"
    " SELECT u.id, u.kind, decode(u.ck, 'hex'), u.chain, decode(u.tx, 'hex'), u.li, u.bn,"
    "  decode(u.bh, 'hex'), u.rev"
    " FROM unnest($1::bigint[], $2::text[], $3::text[], $4::bigint[], $5::text[],"
    "  $6::integer[], $7::bigint[], $8::text[], $9::bigint[])"
    "  AS u(id, kind, ck, chain, tx, li, bn, bh, rev)"
    " ON CONFLICT (chain_id, tx_hash, log_index) DO NOTHING"
    " RETURNING id, creator_key),"
    " pst AS ("
    " INSERT INTO ledger_postings (entry_id, line, creator_key, account, side, amount_wei)"
    " SELECT p.eid, p.line, ins.creator_key, p.account, p.side, p.amount"
    " FROM unnest($10::bigint[], $11::smallint[], $12::text[], $13::text[], $14::numeric[])"
    "  AS p(eid, line, account, side, amount)"
    " JOIN ins ON ins.id = p.eid"
    " RETURNING entry_id, side, amount_wei)"
    " SELECT entry_id, count(*),"
    "  coalesce(sum(amount_wei) FILTER (WHERE side = 'debit'), 0),"
    "  coalesce(sum(amount_wei) FILTER (WHERE side = 'credit'), 0)"
    " FROM pst GROUP BY entry_id ORDER BY entry_id";

static enum ledger_result ledger_fail_pg(enum pg_code r, const struct pg_session *pc,
                                         struct err *e);
static enum ledger_result ledger_validate_entry(const struct ledger_entry *en, size_t index,
                                                struct err *e);
static bool ledger_entry_sums(struct u256 *debits, struct u256 *credits,
                              const struct ledger_entry *en);
static enum pg_code ledger_alloc_ids(uint64_t *ids_out, struct pg_session *pc, size_t n,
                                     struct err *e);
static void batch_init(struct batch_text *t, size_t entries_len, size_t postings_len);
static void batch_release(struct batch_text *t);
static void batch_add(struct batch_text *t, enum batch_col col, const char *text);
static void batch_add_hex(struct batch_text *t, enum batch_col col, const uint8_t *bytes,
                          size_t len);
static void batch_add_u64(struct batch_text *t, enum batch_col col, uint64_t v);
static void batch_add_entry(struct batch_text *t, const struct ledger_entry *en, uint64_t id);
static void batch_close(struct batch_text *t);
static void ledger_check_readback(struct ledger_post_report *report, uint64_t *ids_out,
                                  const PGresult *res, const struct ledger_entry *entries,
                                  size_t entries_len);
static bool ledger_get_u64(uint64_t *out, const PGresult *res, int row, int col);
static bool ledger_get_u256(struct u256 *out, const PGresult *res, int row, int col);
static enum pg_code ledger_post_in_tx(struct pg_session *pc, void *ctx, struct err *e);
static enum ledger_result ledger_post(struct ledger_post_report *report, uint64_t *ids_out,
                                      struct pg_session *pc, const struct ledger_entry *entries,
                                      size_t entries_len, bool own_tx, struct err *e);

static const char *const LEDGER_KIND_NAMES[] = {"revenue", "settlement", "reversal"};
static const char *const LEDGER_SIDE_NAMES[] = {"debit", "credit"};

void ledger_account_name(char out[LEDGER_ACCOUNT_SIZE], const struct ledger_account *a)
{
    char hex[ADDRESS_TEXT_SIZE];
    switch (a->kind) {
    case LEDGER_ACCOUNT_VAULT:
        snprintf(out, LEDGER_ACCOUNT_SIZE, "vault");
        return;
    case LEDGER_ACCOUNT_UNATTRIBUTED:
        snprintf(out, LEDGER_ACCOUNT_SIZE, "unattributed");
        return;
    case LEDGER_ACCOUNT_PAYEE:
    case LEDGER_ACCOUNT_SETTLED:
        address_format_lower(hex, &a->owner);
        snprintf(out, LEDGER_ACCOUNT_SIZE, "%s:%s",
                 a->kind == LEDGER_ACCOUNT_PAYEE ? "payee" : "settled", hex);
        return;
    }
    ASSERT(0 && "unknown account kind");
}

/* Sets e->code to the ledger code for a failed pg call; the message stays. */
static enum ledger_result ledger_fail_pg(enum pg_code r, const struct pg_session *pc, struct err *e)
{
    enum ledger_result code = LEDGER_ERR_DB;
    const char *state = pc->sqlstate;
    if (r == PG_ERR_UNIQUE)
        code = LEDGER_ERR_CONFLICT;
    else if (r == PG_ERR_CONNECTION || r == PG_ERR_CONNECT)
        code = LEDGER_ERR_CONNECTION;
    else if (r == PG_ERR_SERIALIZATION || r == PG_ERR_RETRIES_EXHAUSTED)
        code = LEDGER_ERR_BUSY;
    else if (r == PG_ERR_BAD_INPUT)
        code = LEDGER_ERR_BAD_INPUT;
    else if (strncmp(state, "23", 2) == 0 || strcmp(state, "42501") == 0 ||
             strcmp(state, "22003") == 0)
        code = LEDGER_ERR_REFUSED; /* integrity, append-only, numeric range */
    if (e != NULL)
        e->code = (int)code;
    return code;
}

/* Input checks of one entry (index for the message); ASSERTs the balance. */
static enum ledger_result ledger_validate_entry(const struct ledger_entry *en, size_t index,
                                                struct err *e)
{
    if (en->postings_len < 2 || en->postings_len > LEDGER_ENTRY_POSTINGS_MAX)
        return (enum ledger_result)err_set(e, LEDGER_ERR_BAD_INPUT,
                                           "invalid posting count for entry %zu: %zu (2..%d)",
                                           index, en->postings_len, LEDGER_ENTRY_POSTINGS_MAX);
    if ((unsigned)en->kind > LEDGER_KIND_REVERSAL)
        return (enum ledger_result)err_set(e, LEDGER_ERR_BAD_INPUT,
                                           "invalid kind for entry %zu: %d", index, (int)en->kind);
    const struct ledger_event_key *k = &en->event;
    if (en->kind == LEDGER_KIND_REVENUE &&
        (k->chain_id < 1 || k->chain_id > INT64_MAX || k->log_index > INT32_MAX ||
         k->block_number > INT64_MAX))
        return (enum ledger_result)err_set(e, LEDGER_ERR_BAD_INPUT,
                                           "invalid event key for entry %zu: chain %" PRIu64
                                           " log %" PRIu32 " block %" PRIu64,
                                           index, k->chain_id, k->log_index, k->block_number);
    if (en->kind == LEDGER_KIND_REVERSAL &&
        (en->reverses_entry_id < 1 || en->reverses_entry_id > INT64_MAX))
        return (enum ledger_result)err_set(e, LEDGER_ERR_BAD_INPUT,
                                           "invalid reversed entry id for entry %zu: %" PRIu64,
                                           index, en->reverses_entry_id);
    for (size_t i = 0; i < en->postings_len; i++) {
        const struct ledger_posting *p = &en->postings[i];
        if (u256_is_zero(&p->amount_wei) || (unsigned)p->side > LEDGER_CREDIT ||
            (unsigned)p->account.kind > LEDGER_ACCOUNT_SETTLED)
            return (enum ledger_result)err_set(e, LEDGER_ERR_BAD_INPUT,
                                               "invalid posting %zu of entry %zu: zero amount, "
                                               "side or account kind",
                                               i, index);
    }
    struct u256 debits, credits;
    if (!ledger_entry_sums(&debits, &credits, en))
        return (enum ledger_result)err_set(
            e, LEDGER_ERR_BAD_INPUT, "invalid amounts for entry %zu: sum above 2^256-1", index);
    ASSERT(u256_cmp(&debits, &credits) == 0); /* debits equal credits */
    return LEDGER_OK;
}

/* Sums of the entry's debit and credit amounts; false on u256 overflow. */
static bool ledger_entry_sums(struct u256 *debits, struct u256 *credits,
                              const struct ledger_entry *en)
{
    *debits = u256_zero();
    *credits = u256_zero();
    for (size_t i = 0; i < en->postings_len; i++) {
        const struct ledger_posting *p = &en->postings[i];
        struct u256 *sum = p->side == LEDGER_DEBIT ? debits : credits;
        if (u256_add(sum, sum, &p->amount_wei) != U256_OK)
            return false;
    }
    return true;
}

/* n fresh entry ids from the sequence, ascending, in one round trip. */
static enum pg_code ledger_alloc_ids(uint64_t *ids_out, struct pg_session *pc, size_t n,
                                     struct err *e)
{
    char count[24];
    snprintf(count, sizeof count, "%zu", n);
    const char *params[1] = {count};
    PGresult *res = NULL;
    enum pg_code r = pg_exec(pc, &res,
                             "SELECT nextval('ledger_entry_ids') AS id"
                             " FROM generate_series(1, $1::integer) ORDER BY id",
                             params, 1, e);
    if (r != PG_OK)
        return r;
    ASSERT((size_t)PQntuples(res) == n);
    for (size_t i = 0; i < n; i++) {
        ASSERT(ledger_get_u64(&ids_out[i], res, (int)i, 0));
        ASSERT(ids_out[i] > 0 && (i == 0 || ids_out[i] > ids_out[i - 1]));
    }
    PQclear(res);
    return PG_OK;
}

static void batch_init(struct batch_text *t, size_t entries_len, size_t postings_len)
{
    for (int c = 0; c < COL_COUNT; c++) {
        size_t n = c < COL_P_ENTRY ? entries_len : postings_len;
        buf_init(&t->col[c], n * BATCH_ELEMENT_BYTES_MAX + 2);
    }
    t->ok = true;
}

static void batch_release(struct batch_text *t)
{
    for (int c = 0; c < COL_COUNT; c++)
        buf_release(&t->col[c]);
}

/* Appends one element (text needing no quoting) to column col. */
static void batch_add(struct batch_text *t, enum batch_col col, const char *text)
{
    struct buf *b = &t->col[col];
    if (buf_append_byte(b, b->len == 0 ? '{' : ',') != BUF_OK || buf_append_str(b, text) != BUF_OK)
        t->ok = false;
}

static void batch_add_hex(struct batch_text *t, enum batch_col col, const uint8_t *bytes,
                          size_t len)
{
    char hex[2 * LEDGER_KEY_BYTES + 1];
    ASSERT(len <= LEDGER_KEY_BYTES && hex_encode(hex, sizeof hex, bytes, len) == 0);
    batch_add(t, col, hex);
}

static void batch_add_u64(struct batch_text *t, enum batch_col col, uint64_t v)
{
    char text[24];
    snprintf(text, sizeof text, "%" PRIu64, v);
    batch_add(t, col, text);
}

/* The entry's row and its postings' rows. */
static void batch_add_entry(struct batch_text *t, const struct ledger_entry *en, uint64_t id)
{
    batch_add_u64(t, COL_ID, id);
    batch_add(t, COL_KIND, LEDGER_KIND_NAMES[en->kind]);
    batch_add_hex(t, COL_CREATOR, en->creator_key, LEDGER_KEY_BYTES);
    if (en->kind == LEDGER_KIND_REVENUE) {
        batch_add_u64(t, COL_CHAIN, en->event.chain_id);
        batch_add_hex(t, COL_TX, en->event.tx_hash, sizeof en->event.tx_hash);
        batch_add_u64(t, COL_LOG, en->event.log_index);
        batch_add_u64(t, COL_BLOCK, en->event.block_number);
        batch_add_hex(t, COL_BLOCK_HASH, en->event.block_hash, sizeof en->event.block_hash);
    } else {
        const enum batch_col none[] = {COL_CHAIN, COL_TX, COL_LOG, COL_BLOCK, COL_BLOCK_HASH};
        for (size_t c = 0; c < sizeof none / sizeof none[0]; c++)
            batch_add(t, none[c], "NULL");
    }
    if (en->kind == LEDGER_KIND_REVERSAL)
        batch_add_u64(t, COL_REVERSES, en->reverses_entry_id);
    else
        batch_add(t, COL_REVERSES, "NULL");
    for (size_t i = 0; i < en->postings_len; i++) {
        const struct ledger_posting *p = &en->postings[i];
        char account[LEDGER_ACCOUNT_SIZE], amount[U256_DEC_SIZE];
        ledger_account_name(account, &p->account);
        u256_to_dec(amount, &p->amount_wei);
        batch_add_u64(t, COL_P_ENTRY, id);
        batch_add_u64(t, COL_P_LINE, i);
        batch_add(t, COL_P_ACCOUNT, account);
        batch_add(t, COL_P_SIDE, LEDGER_SIDE_NAMES[p->side]);
        batch_add(t, COL_P_AMOUNT, amount);
    }
}

static void batch_close(struct batch_text *t)
{
    for (int c = 0; c < COL_COUNT; c++)
        if (buf_append_byte(&t->col[c], '}') != BUF_OK)
            t->ok = false;
}

/* Matches the stored entries (rows ordered by id) with the batch: an entry
 * not returned was a replay; a returned one must hold exactly what was sent. */
static void ledger_check_readback(struct ledger_post_report *report, uint64_t *ids_out,
                                  const PGresult *res, const struct ledger_entry *entries,
                                  size_t entries_len)
{
    size_t rows = (size_t)PQntuples(res), row = 0;
    ASSERT(PQnfields(res) == 4 && rows <= entries_len);
    for (size_t i = 0; i < entries_len; i++) {
        uint64_t id = 0, count = 0;
        if (row < rows)
            ASSERT(ledger_get_u64(&id, res, (int)row, 0));
        if (row >= rows || id != ids_out[i]) {
            ASSERT(entries[i].kind == LEDGER_KIND_REVENUE); /* only an event key collides */
            ids_out[i] = 0;
            report->entries_replayed++;
            continue;
        }
        struct u256 sent_debits, sent_credits, debits, credits;
        ASSERT(ledger_entry_sums(&sent_debits, &sent_credits, &entries[i]));
        ASSERT(ledger_get_u64(&count, res, (int)row, 1) && count == entries[i].postings_len);
        ASSERT(ledger_get_u256(&debits, res, (int)row, 2) &&
               ledger_get_u256(&credits, res, (int)row, 3));
        ASSERT(u256_cmp(&debits, &sent_debits) == 0 && u256_cmp(&credits, &sent_credits) == 0);
        ASSERT(u256_cmp(&debits, &credits) == 0);
        report->entries_posted++;
        report->postings_written += entries[i].postings_len;
        row++;
    }
    ASSERT(row == rows);
}

static bool ledger_get_u64(uint64_t *out, const PGresult *res, int row, int col)
{
    struct u256 v;
    return ledger_get_u256(&v, res, row, col) && u256_to_u64(out, &v);
}

static bool ledger_get_u256(struct u256 *out, const PGresult *res, int row, int col)
{
    if (PQgetisnull(res, row, col))
        return false;
    const char *text = PQgetvalue(res, row, col);
    return u256_from_dec(out, text, strlen(text), NULL) == U256_OK;
}

/* pg_run_tx callback and the body of ledger_post_entries(). */
static enum pg_code ledger_post_in_tx(struct pg_session *pc, void *ctx, struct err *e)
{
    struct post_ctx *c = ctx;
    memset(c->report, 0, sizeof *c->report);
    size_t postings_len = 0;
    c->result = LEDGER_ERR_BAD_INPUT;
    if (c->entries_len < 1 || c->entries_len > LEDGER_BATCH_ENTRIES_MAX)
        return err_set(e, PG_ERR_CALLBACK, "invalid batch size: %zu entries (1..%d)",
                       c->entries_len, LEDGER_BATCH_ENTRIES_MAX);
    for (size_t i = 0; i < c->entries_len; i++) {
        if (ledger_validate_entry(&c->entries[i], i, e) != LEDGER_OK)
            return PG_ERR_CALLBACK;
        postings_len += c->entries[i].postings_len;
    }
    if (postings_len > LEDGER_BATCH_POSTINGS_MAX)
        return err_set(e, PG_ERR_CALLBACK, "invalid batch size: %zu postings (at most %d)",
                       postings_len, LEDGER_BATCH_POSTINGS_MAX);
    enum pg_code r = ledger_alloc_ids(c->ids_out, pc, c->entries_len, e);
    if (r != PG_OK)
        return r;
    struct batch_text t;
    batch_init(&t, c->entries_len, postings_len);
    for (size_t i = 0; i < c->entries_len; i++)
        batch_add_entry(&t, &c->entries[i], c->ids_out[i]);
    batch_close(&t);
    ASSERT(t.ok); /* the buffers are sized for the widest elements */
    const char *params[COL_COUNT];
    for (int col = 0; col < COL_COUNT; col++)
        params[col] = (const char *)t.col[col].data;
    PGresult *res = NULL;
    r = pg_exec(pc, &res, LEDGER_SQL_POST, params, COL_COUNT, e);
    batch_release(&t);
    if (r != PG_OK)
        return r;
    ledger_check_readback(c->report, c->ids_out, res, c->entries, c->entries_len);
    PQclear(res);
    c->result = LEDGER_OK;
    return PG_OK;
}

/* Posts in the caller's transaction, or in one of its own when own_tx. */
static enum ledger_result ledger_post(struct ledger_post_report *report, uint64_t *ids_out,
                                      struct pg_session *pc, const struct ledger_entry *entries,
                                      size_t entries_len, bool own_tx, struct err *e)
{
    struct ledger_post_report scratch;
    struct post_ctx c = {report != NULL ? report : &scratch, ids_out, entries, entries_len,
                         LEDGER_OK};
    enum pg_code r = own_tx ? pg_run_tx(pc, PG_READ_COMMITTED, LEDGER_TX_ATTEMPTS,
                                        ledger_post_in_tx, &c, NULL, e)
                            : ledger_post_in_tx(pc, &c, e);
    if (r == PG_ERR_CALLBACK) {
        if (e != NULL)
            e->code = (int)c.result;
        return c.result;
    }
    return r == PG_OK ? LEDGER_OK : ledger_fail_pg(r, pc, e);
}

enum ledger_result ledger_post_entries(struct ledger_post_report *report, uint64_t *ids_out,
                                       struct pg_session *pc, const struct ledger_entry *entries,
                                       size_t entries_len, struct err *e)
{
    return ledger_post(report, ids_out, pc, entries, entries_len, false, e);
}

enum ledger_result ledger_post_batch(struct ledger_post_report *report, uint64_t *ids_out,
                                     struct pg_session *pc, const struct ledger_entry *entries,
                                     size_t entries_len, struct err *e)
{
    return ledger_post(report, ids_out, pc, entries, entries_len, true, e);
}

enum ledger_result ledger_payee_balances(struct ledger_payee_balance *out, size_t out_cap,
                                         size_t *out_len, struct pg_session *pc,
                                         const uint8_t creator_key[LEDGER_KEY_BYTES], struct err *e)
{
    *out_len = 0;
    if (out_cap < 1 || out_cap > INT32_MAX)
        return (enum ledger_result)err_set(e, LEDGER_ERR_BAD_INPUT,
                                           "invalid balance array size: %zu", out_cap);
    char limit[24];
    snprintf(limit, sizeof limit, "%zu", out_cap + 1);
    const char *params[2] = {(const char *)creator_key, limit};
    const int lengths[2] = {LEDGER_KEY_BYTES, 0}, formats[2] = {1, 0};
    PGresult *res = NULL;
    enum pg_code r = pg_exec_params(
        pc, &res,
        "SELECT substr(account, strpos(account, ':') + 1) AS payee,"
        " coalesce(sum(CASE side WHEN 'credit' THEN amount_wei ELSE -amount_wei END)"
        "  FILTER (WHERE account LIKE 'payee:%'), 0),"
        " coalesce(sum(CASE side WHEN 'credit' THEN amount_wei ELSE -amount_wei END)"
        "  FILTER (WHERE account LIKE 'settled:%'), 0)"
        " FROM ledger_postings"
        " WHERE creator_key = $1 AND (account LIKE 'payee:%' OR account LIKE 'settled:%')"
        " GROUP BY 1 ORDER BY 1 LIMIT $2::integer",
        params, lengths, formats, 2, e);
    if (r != PG_OK)
        return ledger_fail_pg(r, pc, e);
    size_t rows = (size_t)PQntuples(res);
    enum ledger_result code = LEDGER_OK;
    if (rows > out_cap) {
        code = (enum ledger_result)err_set(e, LEDGER_ERR_TOO_MANY, "too many payees: more than %zu",
                                           out_cap);
        goto out;
    }
    for (size_t i = 0; i < rows && code == LEDGER_OK; i++) {
        struct ledger_payee_balance *b = &out[i];
        const char *payee = PQgetvalue(res, (int)i, 0);
        if (address_parse(&b->payee, payee, strlen(payee), NULL) != ADDRESS_OK ||
            !ledger_get_u256(&b->unsettled_wei, res, (int)i, 1) ||
            !ledger_get_u256(&b->settled_wei, res, (int)i, 2) ||
            u256_add(&b->earned_wei, &b->unsettled_wei, &b->settled_wei) != U256_OK)
            code = (enum ledger_result)err_set(e, LEDGER_ERR_CORRUPT,
                                               "invalid balance of payee '%.42s'", payee);
    }
    if (code == LEDGER_OK)
        *out_len = rows;
out:
    PQclear(res);
    return code;
}

enum ledger_result ledger_check_invariants(struct ledger_check_report *out, struct pg_session *pc,
                                           struct err *e)
{
    memset(out, 0, sizeof *out);
    PGresult *res = NULL;
    enum pg_code r =
        pg_exec(pc, &res,
                "SELECT (SELECT count(*) FROM ledger_entries),"
                " (SELECT count(*) FROM ledger_postings),"
                " count(*), coalesce(min(id), 0),"
                " (SELECT count(*) FROM (SELECT 1 FROM ledger_entries WHERE tx_hash IS NOT NULL"
                "   GROUP BY chain_id, tx_hash, log_index HAVING count(*) > 1) AS d)"
                " FROM (SELECT e.id FROM ledger_entries e"
                "  LEFT JOIN ledger_postings p ON p.entry_id = e.id GROUP BY e.id"
                "  HAVING count(p.entry_id) < 2"
                "   OR coalesce(sum(p.amount_wei) FILTER (WHERE p.side = 'debit'), 0)"
                "   <> coalesce(sum(p.amount_wei) FILTER (WHERE p.side = 'credit'), 0)) AS bad",
                NULL, 0, e);
    if (r != PG_OK)
        return ledger_fail_pg(r, pc, e);
    uint64_t first_bad = 0;
    bool ok =
        ledger_get_u64(&out->entries, res, 0, 0) && ledger_get_u64(&out->postings, res, 0, 1) &&
        ledger_get_u64(&out->unbalanced_entries, res, 0, 2) &&
        ledger_get_u64(&first_bad, res, 0, 3) && ledger_get_u64(&out->duplicate_events, res, 0, 4);
    PQclear(res);
    if (!ok)
        return (enum ledger_result)err_set(e, LEDGER_ERR_CORRUPT, "invalid invariant counts");
    if (out->unbalanced_entries > 0)
        return (enum ledger_result)err_set(e, LEDGER_ERR_INVARIANT,
                                           "ledger entry %" PRIu64 " does not balance (%" PRIu64
                                           " such entries)",
                                           first_bad, out->unbalanced_entries);
    if (out->duplicate_events > 0)
        return (enum ledger_result)err_set(e, LEDGER_ERR_INVARIANT,
                                           "events posted more than once: %" PRIu64,
                                           out->duplicate_events);
    return LEDGER_OK;
}
