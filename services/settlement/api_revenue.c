/* api_revenue.c - the settlement API's money reads: a creator's revenue
 * events and its payees' balances (service.h; docs/architecture.md "The
 * settlement API as built").
 *
 *   GET /v1/creators/{id}/revenue?cursor=&limit=
 *   GET /v1/creators/{id}/balances
 *
 * Who may read: the creator's owner only (a session of the creator's owner
 * address; anyone else signed in 403, no session 401). Revenue and balances
 * are the creator's private business data: who paid what and when, and what
 * each collaborator earns. The chain shows the vault's events to anyone,
 * but not which payee gets which part.
 *
 * Revenue: the rows of revenue_events (0004) of this chain whose creator_key
 * is the creator's, newest first by (block_number, log_index, id): at one
 * place, the live row that replaced an orphaned one comes first.
 *   kind           pass_sale (RevenueReceived kind 1), royalty (kind 2), tip
 *   source         the pass contract (EIP-55) of a pass_sale or royalty; null
 *                  for a tip
 *   payer          RevenueReceived's payer, or the tipper
 *   status         orphaned: its block was replaced by a reorg. Otherwise
 *                  unattributed: not from one of the creator's passes or
 *                  streams (pending or confirmed), or confirmed while the
 *                  creator had no split version at its block; credited to the
 *                  'unattributed' account, never to payees. Otherwise pending
 *                  (fewer than CONFIRMATIONS blocks on top) or confirmed
 *                  (split among the payees of split_version).
 *   split_version  the version it was split by; null unless confirmed.
 * Pages: limit 1..ST_REVENUE_LIMIT_MAX (default ST_REVENUE_LIMIT_DEFAULT).
 * next_cursor is opaque (today 40 hex digits naming the page's last row's
 * place) and null on the last page; the next page holds the rows strictly
 * after that place, so a walk returns every row that existed when it began
 * exactly once, whatever is inserted meanwhile: new events are newer and
 * fall before the cursor, only a reorg's replacements of blocks the walk
 * has not reached yet show up later. A row's status may change between
 * pages; its place never does.
 * An empty value (cursor=, limit=) counts as absent. A limit that is not a
 * decimal 1..ST_REVENUE_LIMIT_MAX or a cursor that does not decode is 400.
 *
 * Balances: ledger_payee_balances() of the creator's creator_key, plus every
 * payee of the current split version that has no posting yet (zeros),
 * ordered by address. role: the payee's role in the newest split version
 * that names it (a payee dropped by a later version keeps its balance and
 * its last role). earned = settled + unsettled (ledger.h). claimed_wei: the
 * sum of the vault's confirmed Claimed logs for the payee (chain_events,
 * 0007) in batches whose confirmed SettlementAnchored names the creator's
 * key; 0 without VAULT_ADDRESS.
 *
 * Limits: ST_REVENUE_LIMIT_MAX rows per page, ST_BALANCES_PAYEES_MAX payees
 * per creator (above it the answer is a 500 naming the limit).
 * Errors: 401, 403, 404 (not a lowercase UUID, or no such creator), 400
 * (cursor, limit), 503 with Retry-After when PostgreSQL fails. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hex.h"
#include "httpjson.h"
#include "ids.h"
#include "ledger.h"
#include "service.h"

#define REV_CURSOR_HEX_LEN 40 /* block (16) + log index (8) + row id (16) */
#define REV_KEY_HEX_SIZE (2 * 32 + 1)
#define REV_NUM_TEXT_SIZE 24

struct rev_cursor {
    bool set;
    uint64_t block_number; /* <= INT64_MAX */
    uint32_t log_index;    /* <= INT32_MAX */
    uint64_t id;           /* <= INT64_MAX */
};

struct rev_role {
    struct address payee;
    char role[ST_ROLE_BYTES_MAX * 4 + 1];
    bool current; /* named by the current split version */
};

struct rev_claim {
    struct address payee;
    struct u256 amount_wei;
};

/* What GET balances reads, each list ordered by address and holding at
 * most ST_BALANCES_PAYEES_MAX items (heap). */
struct rev_books {
    struct ledger_payee_balance *bal; /* ledger_payee_balances() */
    size_t bal_len;
    struct rev_role *roles; /* every payee of any split version */
    size_t roles_len;
    struct rev_claim *claimed; /* confirmed Claimed sums */
    size_t claimed_len;
};

static bool rev_parse_cursor(void *cursor, const char *text);
static void rev_format_cursor(char out[REV_CURSOR_HEX_LEN + 1], const struct rev_cursor *c);
static bool rev_owned_creator(uint8_t key_out[32], struct respool_slot **slot,
                              struct pg_session **pc, struct http_response *resp, struct st *s,
                              const struct address *caller, const char *id);
static void rev_db_failed(struct http_response *resp, struct st *s, struct respool_slot *slot,
                          enum pg_code r, const char *what, const struct err *e);
static json_t *rev_event_json(PGresult *res, int row, struct rev_cursor *place);
static enum pg_code rev_query_events(PGresult **res, struct pg_session *pc, const struct st *s,
                                     const uint8_t key[32], const struct rev_cursor *after,
                                     uint32_t rows, struct err *e);
static enum pg_code rev_query_roles(struct rev_books *b, struct pg_session *pc,
                                    const char *creator_id, struct err *e);
static enum pg_code rev_query_claimed(struct rev_books *b, struct pg_session *pc,
                                      const struct st *s, const uint8_t key[32], struct err *e);
static enum pg_code rev_read_books(struct rev_books *b, struct pg_session *pc, const struct st *s,
                                   const char *creator_id, const uint8_t key[32], struct err *e);
static json_t *rev_balance_json(const struct ledger_payee_balance *bal, const struct rev_role *role,
                                const struct rev_books *b, size_t *k);
static json_t *rev_balances_json(const struct rev_books *b);

/* A next_cursor (st_page_query's parse; `cursor` a struct rev_cursor):
 * REV_CURSOR_HEX_LEN lowercase hex digits: block, log index, id (big-endian). */
static bool rev_parse_cursor(void *cursor, const char *text)
{
    struct rev_cursor *out = cursor;
    uint8_t raw[REV_CURSOR_HEX_LEN / 2];
    if (strlen(text) != REV_CURSOR_HEX_LEN)
        return false;
    for (size_t i = 0; i < REV_CURSOR_HEX_LEN; i++)
        if (!((text[i] >= '0' && text[i] <= '9') || (text[i] >= 'a' && text[i] <= 'f')))
            return false;
    if (hex_decode_exact(raw, sizeof raw, text, REV_CURSOR_HEX_LEN, NULL) != HEX_OK)
        return false;
    uint64_t block = 0, id = 0;
    uint32_t li = 0;
    for (size_t i = 0; i < 8; i++) {
        block = block << 8 | raw[i];
        id = id << 8 | raw[12 + i];
    }
    for (size_t i = 8; i < 12; i++)
        li = li << 8 | raw[i];
    if (block > INT64_MAX || li > INT32_MAX || id == 0 || id > INT64_MAX)
        return false;
    *out = (struct rev_cursor){.set = true, .block_number = block, .log_index = li, .id = id};
    return true;
}

static void rev_format_cursor(char out[REV_CURSOR_HEX_LEN + 1], const struct rev_cursor *c)
{
    uint8_t raw[REV_CURSOR_HEX_LEN / 2];
    for (size_t i = 0; i < 8; i++) {
        raw[i] = (uint8_t)(c->block_number >> (56 - 8 * i));
        raw[12 + i] = (uint8_t)(c->id >> (56 - 8 * i));
    }
    for (size_t i = 0; i < 4; i++)
        raw[8 + i] = (uint8_t)(c->log_index >> (24 - 8 * i));
    ASSERT(hex_encode(out, REV_CURSOR_HEX_LEN + 1, raw, sizeof raw) == 0);
}

static void rev_db_failed(struct http_response *resp, struct st *s, struct respool_slot *slot,
                          enum pg_code r, const char *what, const struct err *e)
{
    respool_pg_failed(slot, r);
    respool_release(&s->pool, slot);
    log_write(&s->log, LOG_ERROR, what, LOG_KVS(log_str("error", e->msg)));
    http_reply_header(resp, "Retry-After", ST_RETRY_AFTER_S);
    http_reply_error(resp, PROBLEM_UNAVAILABLE, "%s; retry", what);
}

/* The creator `id` owned by `caller`: its key, with the slot held; false
 * after answering 404, 403 or 503 (the slot then released). */
static bool rev_owned_creator(uint8_t key_out[32], struct respool_slot **slot,
                              struct pg_session **pc, struct http_response *resp, struct st *s,
                              const struct address *caller, const char *id)
{
    if (!st_slot_pg(slot, pc, resp, s))
        return false;
    PGresult *res = NULL;
    struct err e = {0};
    enum pg_code r = pg_exec(*pc, &res,
                             "SELECT encode(owner, 'hex'), encode(creator_key, 'hex') "
                             "FROM creators WHERE id = $1::uuid",
                             &id, 1, &e);
    if (r != PG_OK) {
        rev_db_failed(resp, s, *slot, r, "could not read the creator", &e);
        return false;
    }
    bool found = PQntuples(res) == 1;
    struct address owner;
    if (found) {
        ASSERT(pg_get_hex(owner.bytes, ADDRESS_BYTES, res, 0, 0) &&
               pg_get_hex(key_out, 32, res, 0, 1));
    }
    PQclear(res);
    if (found && address_eq(&owner, caller))
        return true;
    respool_release(&s->pool, *slot);
    *slot = NULL;
    if (!found)
        http_reply_error(resp, PROBLEM_NOT_FOUND, "no creator '%s'", id);
    else
        http_reply_error(resp, PROBLEM_FORBIDDEN,
                         "only the creator's owner may read its revenue and balances");
    return false;
}

/* ---- GET /v1/creators/{id}/revenue ------------------------------------------------- */

static enum pg_code rev_query_events(PGresult **res, struct pg_session *pc, const struct st *s,
                                     const uint8_t key[32], const struct rev_cursor *after,
                                     uint32_t rows, struct err *e)
{
    char chain[REV_NUM_TEXT_SIZE], key_hex[REV_KEY_HEX_SIZE], block[REV_NUM_TEXT_SIZE],
        li[REV_NUM_TEXT_SIZE], id[REV_NUM_TEXT_SIZE], lim[REV_NUM_TEXT_SIZE];
    snprintf(chain, sizeof chain, "%" PRIu64, s->cfg.chain_id);
    ASSERT(hex_encode(key_hex, sizeof key_hex, key, 32) == 0);
    snprintf(block, sizeof block, "%" PRIu64, after->block_number);
    snprintf(li, sizeof li, "%" PRIu32, after->log_index);
    snprintf(id, sizeof id, "%" PRIu64, after->id);
    snprintf(lim, sizeof lim, "%" PRIu32, rows);
    const char *params[6] = {
        chain, key_hex, after->set ? block : NULL, after->set ? li : NULL, after->set ? id : NULL,
        lim};
    return pg_exec(
        pc, res,
        "SELECT id, encode(tx_hash, 'hex'), log_index, block_number,"
        " CASE WHEN event = 'tipped' THEN 'tip' WHEN kind = 1 THEN 'pass_sale'"
        "  WHEN kind = 2 THEN 'royalty' ELSE '' END,"
        " coalesce(encode(source, 'hex'), ''), encode(payer, 'hex'), amount_wei::text,"
        " CASE WHEN status = 'orphaned' THEN 'orphaned'"
        "  WHEN attribution = 'unattributed' OR (status = 'confirmed' AND split_version IS NULL)"
        "  THEN 'unattributed' ELSE status END,"
        " coalesce(split_version::text, '')"
        " FROM revenue_events WHERE chain_id = $1::bigint AND creator_key = decode($2, 'hex')"
        " AND ($3::bigint IS NULL OR (block_number, log_index, id) <"
        "  ($3::bigint, $4::integer, $5::bigint))"
        " ORDER BY block_number DESC, log_index DESC, id DESC LIMIT $6::integer",
        params, 6, e);
}

/* One event of rev_query_events's result (NULL when a stored value does not
 * parse); *place receives its position. */
static json_t *rev_event_json(PGresult *res, int row, struct rev_cursor *place)
{
    uint8_t tx[32];
    struct address payer, source;
    struct u256 amount;
    uint64_t id = 0, li = 0, block = 0, version = 0;
    const char *kind = PQgetvalue(res, row, 4), *src = PQgetvalue(res, row, 5),
               *ver = PQgetvalue(res, row, 9);
    bool ok = st_text_u64(&id, PQgetvalue(res, row, 0), 1, INT64_MAX) &&
              pg_get_hex(tx, 32, res, row, 1) &&
              st_text_u64(&li, PQgetvalue(res, row, 2), 0, INT32_MAX) &&
              st_text_u64(&block, PQgetvalue(res, row, 3), 0, INT64_MAX) && kind[0] != '\0' &&
              (src[0] == '\0' || pg_get_hex(source.bytes, ADDRESS_BYTES, res, row, 5)) &&
              pg_get_hex(payer.bytes, ADDRESS_BYTES, res, row, 6) &&
              pg_get_u256(&amount, res, row, 7) &&
              (ver[0] == '\0' || st_text_u64(&version, ver, 0, INT32_MAX));
    if (!ok)
        return NULL;
    *place = (struct rev_cursor){
        .set = true, .block_number = block, .log_index = (uint32_t)li, .id = id};
    return json_pack("{s:s, s:o, s:I, s:I, s:o, s:o, s:o, s:s, s:o}", "kind", kind, "tx_hash",
                     httpjson_hex(tx, 32), "log_index", (json_int_t)li, "block_number",
                     (json_int_t)block, "payer", httpjson_address(&payer), "source",
                     src[0] != '\0' ? httpjson_address(&source) : json_null(), "amount_wei",
                     httpjson_wei(&amount), "status", PQgetvalue(res, row, 8), "split_version",
                     ver[0] != '\0' ? json_integer((json_int_t)version) : json_null());
}

void st_handle_revenue_get(struct http_response *resp, const struct http_request *req, void *ctx)
{
    struct st *s = ctx;
    struct address caller;
    const char *id = NULL;
    struct rev_cursor after = {0}, place = {0}; /* after.set false: the first page */
    uint32_t limit = 0;
    if (!st_signed_in_creator(&caller, &id, resp, req, s) ||
        !st_page_query(&limit, &after, rev_parse_cursor, resp, req, ST_REVENUE_LIMIT_DEFAULT,
                       ST_REVENUE_LIMIT_MAX))
        return;
    uint8_t key[32];
    struct respool_slot *slot = NULL;
    struct pg_session *pc = NULL;
    if (!rev_owned_creator(key, &slot, &pc, resp, s, &caller, id))
        return;
    PGresult *res = NULL;
    struct err e = {0};
    enum pg_code r = rev_query_events(&res, pc, s, key, &after, limit + 1, &e);
    if (r != PG_OK) {
        rev_db_failed(resp, s, slot, r, "could not read the revenue", &e);
        return;
    }
    respool_release(&s->pool, slot);
    int rows = PQntuples(res);
    bool more = rows > (int)limit;
    json_t *events = json_array();
    for (int i = 0; events != NULL && i < rows && i < (int)limit; i++) {
        json_t *ev = rev_event_json(res, i, &place);
        if (ev == NULL || json_array_append_new(events, ev) != 0) {
            log_write(&s->log, LOG_ERROR, "revenue row does not parse",
                      LOG_KVS(log_str("creator", id), log_i64("row", i)));
            json_decref(events);
            events = NULL;
        }
    }
    PQclear(res);
    if (events == NULL) {
        http_reply_error(resp, PROBLEM_INTERNAL, "a stored revenue event does not parse");
        return;
    }
    char next[REV_CURSOR_HEX_LEN + 1];
    if (more)
        rev_format_cursor(next, &place);
    http_reply_header(resp, "Cache-Control", "no-store");
    http_reply_json(resp, 200,
                    json_pack("{s:o, s:o}", "events", events, "next_cursor",
                              more ? json_string(next) : json_null()));
}

/* ---- GET /v1/creators/{id}/balances ------------------------------------------------ */

/* Every payee any split version of the creator names, by address, with the
 * role of the newest version naming it. */
static enum pg_code rev_query_roles(struct rev_books *b, struct pg_session *pc,
                                    const char *creator_id, struct err *e)
{
    char lim[REV_NUM_TEXT_SIZE];
    snprintf(lim, sizeof lim, "%d", ST_BALANCES_PAYEES_MAX + 1);
    const char *params[2] = {creator_id, lim};
    PGresult *res = NULL;
    enum pg_code r =
        pg_exec(pc, &res,
                "SELECT DISTINCT ON (payee) encode(payee, 'hex'), role,"
                " version = (SELECT max(version) FROM split_versions WHERE creator_id = $1::uuid)"
                " FROM split_shares WHERE creator_id = $1::uuid ORDER BY payee, version DESC"
                " LIMIT $2::integer",
                params, 2, e);
    if (r != PG_OK)
        return r;
    size_t n = (size_t)PQntuples(res);
    if (n > ST_BALANCES_PAYEES_MAX) {
        PQclear(res);
        return (enum pg_code)err_set(e, PG_ERR_CALLBACK, "more than %d payees",
                                     ST_BALANCES_PAYEES_MAX);
    }
    for (size_t i = 0; i < n; i++) {
        ASSERT(pg_get_hex(b->roles[i].payee.bytes, ADDRESS_BYTES, res, (int)i, 0));
        snprintf(b->roles[i].role, sizeof b->roles[i].role, "%s", PQgetvalue(res, (int)i, 1));
        b->roles[i].current = strcmp(PQgetvalue(res, (int)i, 2), "t") == 0;
    }
    PQclear(res);
    b->roles_len = n;
    return PG_OK;
}

/* Per account, the confirmed Claimed amounts of the vault's batches whose
 * confirmed SettlementAnchored names this creator key (chain_events, 0007),
 * by address. Nothing without VAULT_ADDRESS. */
static enum pg_code rev_query_claimed(struct rev_books *b, struct pg_session *pc,
                                      const struct st *s, const uint8_t key[32], struct err *e)
{
    char chain[REV_NUM_TEXT_SIZE], vault[2 * ADDRESS_BYTES + 1], key_hex[REV_KEY_HEX_SIZE + 2],
        lim[REV_NUM_TEXT_SIZE];
    b->claimed_len = 0;
    if (!s->cfg.vault_address_set)
        return PG_OK;
    snprintf(chain, sizeof chain, "%" PRIu64, s->cfg.chain_id);
    ASSERT(hex_encode(vault, sizeof vault, s->vault.bytes, ADDRESS_BYTES) == 0);
    ASSERT(hex_encode_0x(key_hex, sizeof key_hex, key, 32) == 0);
    snprintf(lim, sizeof lim, "%d", ST_BALANCES_PAYEES_MAX + 1);
    const char *params[4] = {chain, vault, key_hex, lim};
    PGresult *res = NULL;
    enum pg_code r = pg_exec(
        pc, &res,
        "SELECT substr(c.args->>'account', 3) COLLATE \"C\", "
        "sum((c.args->>'amount')::numeric)::text"
        " FROM chain_events c WHERE c.chain_id = $1::bigint AND c.contract = decode($2, 'hex')"
        " AND c.event = 'Claimed' AND c.status = 'confirmed' AND c.args->>'batchKey' IN"
        " (SELECT a.args->>'batchKey' FROM chain_events a WHERE a.chain_id = $1::bigint"
        "  AND a.contract = decode($2, 'hex') AND a.event = 'SettlementAnchored'"
        "  AND a.status = 'confirmed' AND a.args->>'creatorKey' = $3)"
        " GROUP BY 1 ORDER BY 1 LIMIT $4::integer",
        params, 4, e);
    if (r != PG_OK)
        return r;
    size_t n = (size_t)PQntuples(res);
    bool ok = n <= ST_BALANCES_PAYEES_MAX;
    for (size_t i = 0; ok && i < n; i++) {
        ok = pg_get_hex(b->claimed[i].payee.bytes, ADDRESS_BYTES, res, (int)i, 0) &&
             pg_get_u256(&b->claimed[i].amount_wei, res, (int)i, 1);
    }
    PQclear(res);
    if (!ok)
        return (enum pg_code)err_set(e, PG_ERR_CALLBACK, "claims unreadable or above %d payees",
                                     ST_BALANCES_PAYEES_MAX);
    b->claimed_len = n;
    return PG_OK;
}

/* One item; *k advances over b->claimed (ordered by address) to the payee. */
static json_t *rev_balance_json(const struct ledger_payee_balance *bal, const struct rev_role *role,
                                const struct rev_books *b, size_t *k)
{
    static const struct u256 zero;
    const struct u256 *claimed = &zero;
    while (*k < b->claimed_len &&
           memcmp(b->claimed[*k].payee.bytes, bal->payee.bytes, ADDRESS_BYTES) < 0)
        (*k)++;
    if (*k < b->claimed_len && address_eq(&b->claimed[*k].payee, &bal->payee))
        claimed = &b->claimed[*k].amount_wei;
    return json_pack("{s:o, s:o, s:o, s:o, s:o, s:o}", "payee", httpjson_address(&bal->payee),
                     "role", role != NULL ? json_string(role->role) : json_null(), "earned_wei",
                     httpjson_wei(&bal->earned_wei), "settled_wei", httpjson_wei(&bal->settled_wei),
                     "unsettled_wei", httpjson_wei(&bal->unsettled_wei), "claimed_wei",
                     httpjson_wei(claimed));
}

/* The union of the ledger's payees and the current version's, by address
 * (every list of `b` is ordered by address). */
static json_t *rev_balances_json(const struct rev_books *b)
{
    json_t *list = json_array();
    size_t i = 0, j = 0, k = 0;
    while (list != NULL && (i < b->bal_len || j < b->roles_len)) {
        int c = i == b->bal_len ? 1
                : j == b->roles_len
                    ? -1
                    : memcmp(b->bal[i].payee.bytes, b->roles[j].payee.bytes, ADDRESS_BYTES);
        json_t *item = NULL;
        if (c < 0) {
            item = rev_balance_json(&b->bal[i++], NULL, b, &k);
        } else if (c == 0) {
            item = rev_balance_json(&b->bal[i++], &b->roles[j++], b, &k);
        } else if (!b->roles[j].current) {
            j++;
            continue;
        } else {
            struct ledger_payee_balance none = {.payee = b->roles[j].payee};
            item = rev_balance_json(&none, &b->roles[j++], b, &k);
        }
        if (item == NULL || json_array_append_new(list, item) != 0) {
            json_decref(list);
            list = NULL;
        }
    }
    return list;
}

/* Reads the three lists of `b`; the result as rev_query_roles's, with a
 * ledger failure mapped to a pg_code (PG_ERR_CALLBACK: a limit or a value
 * that does not parse; 500). */
static enum pg_code rev_read_books(struct rev_books *b, struct pg_session *pc, const struct st *s,
                                   const char *creator_id, const uint8_t key[32], struct err *e)
{
    enum ledger_result lr =
        ledger_payee_balances(b->bal, ST_BALANCES_PAYEES_MAX, &b->bal_len, pc, key, e);
    if (lr == LEDGER_ERR_TOO_MANY || lr == LEDGER_ERR_CORRUPT)
        return PG_ERR_CALLBACK;
    if (lr != LEDGER_OK)
        return lr == LEDGER_ERR_CONNECTION ? PG_ERR_CONNECTION : PG_ERR_QUERY;
    enum pg_code r = rev_query_roles(b, pc, creator_id, e);
    return r != PG_OK ? r : rev_query_claimed(b, pc, s, key, e);
}

void st_handle_balances_get(struct http_response *resp, const struct http_request *req, void *ctx)
{
    struct st *s = ctx;
    struct address caller;
    const char *id = NULL;
    uint8_t key[32];
    struct respool_slot *slot = NULL;
    struct pg_session *pc = NULL;
    if (!st_signed_in_creator(&caller, &id, resp, req, s) ||
        !rev_owned_creator(key, &slot, &pc, resp, s, &caller, id))
        return;
    struct rev_books b = {.bal = calloc(ST_BALANCES_PAYEES_MAX, sizeof *b.bal),
                          .roles = calloc(ST_BALANCES_PAYEES_MAX, sizeof *b.roles),
                          .claimed = calloc(ST_BALANCES_PAYEES_MAX, sizeof *b.claimed)};
    struct err e = {0};
    enum pg_code r = b.bal != NULL && b.roles != NULL && b.claimed != NULL
                         ? rev_read_books(&b, pc, s, id, key, &e)
                         : (enum pg_code)err_set(&e, PG_ERR_CALLBACK, "out of memory");
    if (r == PG_ERR_CALLBACK) {
        respool_release(&s->pool, slot);
        log_write(&s->log, LOG_ERROR, "balances unavailable",
                  LOG_KVS(log_str("creator", id), log_str("error", e.msg)));
        http_reply_error(resp, PROBLEM_INTERNAL,
                         "the balances cannot be listed (at most %d payees): %s",
                         ST_BALANCES_PAYEES_MAX, e.msg);
    } else if (r != PG_OK) {
        rev_db_failed(resp, s, slot, r, "could not read the balances", &e);
    } else {
        respool_release(&s->pool, slot);
        json_t *list = rev_balances_json(&b);
        http_reply_header(resp, "Cache-Control", "no-store");
        http_reply_json(resp, 200,
                        list != NULL ? json_pack("{s:s, s:o}", "creator_id", id, "balances", list)
                                     : NULL);
    }
    free(b.bal);
    free(b.roles);
    free(b.claimed);
}
