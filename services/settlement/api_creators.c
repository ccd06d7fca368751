/* api_creators.c - the settlement API's creator endpoints: creators,
 * split versions, streams and the chain summary (service.h; docs/architecture.md
 * "The settlement API as built"). Writes go through st_write (api_idem.c).
 * Also the query of every paginated list (st_page_query, st_text_u64).
 *
 *   GET /v1/creators?cursor=&limit=   (public)
 *     {creators: [{id, name, owner, creator_key, created_at}], next_cursor}:
 *     every creator, by id (the UUID's text order, which is its byte
 *     order); limit 1..ST_CREATORS_LIMIT_MAX (default
 *     ST_CREATORS_LIMIT_DEFAULT); next_cursor is opaque (today the page's
 *     last id) and null on the last page; the next page holds the creators
 *     whose id is after it, so a walk returns every creator that existed
 *     when it began exactly once (a creator made meanwhile may appear or
 *     not, once). created_at: RFC 3339 UTC, whole seconds. Public like the
 *     settlement reads: auditors list every creator to match the vault's
 *     batches to the API (rightsctl audit without --creator); a creator's
 *     id, name, owner and key are public anyway (GET /v1/creators/{id}).
 *     Errors: 400 (limit, cursor), 503 with Retry-After (PostgreSQL). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto.h"
#include "hex.h"
#include "httpjson.h"
#include "ids.h"
#include "json.h"
#include "service.h"
#include "split.h"

struct api_creator {
    char id[IDS_UUID_SIZE];
    struct address owner;
    uint8_t creator_key[32];
    char name[ST_NAME_BYTES_MAX * 4 + 1];
};

struct api_splits_req {
    const char *creator_id;
    struct split_share shares[SPLIT_PAYEES_MAX];
    const char *roles[SPLIT_PAYEES_MAX];
    size_t shares_len;
    uint64_t head_block;
};

struct api_stream_req {
    const char *creator_id;
    const char *title;
    struct address contracts[ST_STREAM_PASSES_MAX];
    struct u256 min_balances[ST_STREAM_PASSES_MAX];
    size_t passes_len;
    bool has_tip_min;
    struct u256 tip_min_wei;
};

static bool api_creators_cursor(void *cursor, const char *text);
static json_t *api_creator_row_json(PGresult *res, int row);
static enum pg_code api_creator_load(bool *found, struct api_creator *out, struct pg_session *pc,
                                     const char *id, bool for_update, struct err *e);
static enum pg_code api_creator_create(struct st_answer *out, struct pg_session *pc,
                                       const struct address *caller, void *ctx, struct err *e);
static enum pg_code api_splits_write(struct st_answer *out, struct pg_session *pc,
                                     const struct address *caller, void *ctx, struct err *e);
static enum pg_code api_stream_create(struct st_answer *out, struct pg_session *pc,
                                      const struct address *caller, void *ctx, struct err *e);
static enum pg_code api_versions(json_t **out, struct pg_session *pc, const char *creator_id,
                                 bool latest_only, struct err *e);
static bool api_head_block(uint64_t *out, struct st *s, struct respool_slot *slot);
static bool api_read_creator(struct api_creator *out, struct http_response *resp,
                             const struct http_request *req, struct st *s,
                             struct respool_slot **slot, struct pg_session **pc);

static const struct json_body_field api_creator_fields[] = {
    {.name = "name",
     .type = JSON_BODY_STRING,
     .required = true,
     .len_min = 1,
     .len_max = ST_NAME_BYTES_MAX},
};

static const struct json_body_field api_share_fields[] = {
    {.name = "payee", .type = JSON_BODY_ADDRESS, .required = true},
    {.name = "role", .type = JSON_BODY_STRING, .required = true, .len_max = ST_ROLE_BYTES_MAX},
    {.name = "bps", .type = JSON_BODY_INTEGER, .required = true, .int_min = 0, .int_max = 1000000},
};

static const struct json_body_field api_splits_fields[] = {
    {.name = "shares",
     .type = JSON_BODY_ARRAY,
     .required = true,
     .len_max = SPLIT_PAYEES_MAX + 1,
     .item_type = JSON_BODY_OBJECT,
     .fields = api_share_fields,
     .fields_len = 3},
};

static const struct json_body_field api_pass_rule_fields[] = {
    {.name = "contract", .type = JSON_BODY_ADDRESS, .required = true},
    {.name = "min_balance", .type = JSON_BODY_DECIMAL, .required = true},
};

static const struct json_body_field api_access_fields[] = {
    {.name = "passes",
     .type = JSON_BODY_ARRAY,
     .len_max = ST_STREAM_PASSES_MAX,
     .item_type = JSON_BODY_OBJECT,
     .fields = api_pass_rule_fields,
     .fields_len = 2},
    {.name = "tip_min_wei", .type = JSON_BODY_DECIMAL, .nullable = true},
};

static const struct json_body_field api_stream_fields[] = {
    {.name = "title",
     .type = JSON_BODY_STRING,
     .required = true,
     .len_min = 1,
     .len_max = ST_TITLE_BYTES_MAX},
    {.name = "access",
     .type = JSON_BODY_OBJECT,
     .required = true,
     .fields = api_access_fields,
     .fields_len = 2},
};

static enum pg_code api_creator_load(bool *found, struct api_creator *out, struct pg_session *pc,
                                     const char *id, bool for_update, struct err *e)
{
    PGresult *res = NULL;
    *found = false;
    enum pg_code r = pg_exec(pc, &res,
                             for_update ? "SELECT owner, creator_key, name FROM creators "
                                          "WHERE id = $1::uuid FOR UPDATE"
                                        : "SELECT owner, creator_key, name FROM creators "
                                          "WHERE id = $1::uuid",
                             &id, 1, e);
    if (r != PG_OK)
        return r;
    if (PQntuples(res) == 1) {
        *found = true;
        snprintf(out->id, sizeof out->id, "%s", id);
        ASSERT(pg_get_bytea(out->owner.bytes, ADDRESS_BYTES, res, 0, 0));
        ASSERT(pg_get_bytea(out->creator_key, 32, res, 0, 1));
        snprintf(out->name, sizeof out->name, "%s", PQgetvalue(res, 0, 2));
    }
    PQclear(res);
    return PG_OK;
}

enum pg_code st_owned_creator(struct st_answer *out, bool *ok, struct pg_session *pc,
                              const char *id, const struct address *caller, struct err *e)
{
    struct api_creator c;
    bool found = false;
    *ok = false;
    enum pg_code r = api_creator_load(&found, &c, pc, id, true, e);
    if (r != PG_OK)
        return r;
    if (!found)
        st_answer_problem(out, PROBLEM_NOT_FOUND, "no creator '%s'", id);
    else if (!address_eq(&c.owner, caller))
        st_answer_problem(out, PROBLEM_FORBIDDEN, "only the creator's owner may change it");
    else
        *ok = true;
    return PG_OK;
}

/* ---- the query of every list (service.h) ----------------------------------------- */

bool st_text_u64(uint64_t *out, const char *text, uint64_t min, uint64_t max)
{
    struct u256 v;
    uint64_t n = 0;
    size_t len = strnlen(text, U256_DEC_SIZE);
    if (len == U256_DEC_SIZE || u256_from_dec(&v, text, len, NULL) != U256_OK ||
        !u256_to_u64(&n, &v) || n < min || n > max)
        return false;
    *out = n;
    return true;
}

bool st_page_query(uint32_t *limit, void *cursor, st_cursor_parse_fn parse,
                   struct http_response *resp, const struct http_request *req,
                   uint32_t limit_default, uint32_t limit_max)
{
    const char *l = http_request_query(req, "limit"), *c = http_request_query(req, "cursor");
    uint64_t v = limit_default;
    ASSERT(limit_default >= 1 && limit_default <= limit_max);
    if (l != NULL && l[0] != '\0' && !st_text_u64(&v, l, 1, limit_max)) {
        http_reply_error(resp, PROBLEM_BAD_REQUEST, "limit must be a whole number from 1 to %u",
                         (unsigned)limit_max);
        return false;
    }
    *limit = (uint32_t)v;
    if (c != NULL && c[0] != '\0' && !parse(cursor, c)) {
        http_reply_error(resp, PROBLEM_BAD_REQUEST, "cursor is not a next_cursor of this endpoint");
        return false;
    }
    return true;
}

/* ---- POST /v1/creators ---------------------------------------------------------- */

static enum pg_code api_creator_create(struct st_answer *out, struct pg_session *pc,
                                       const struct address *caller, void *ctx, struct err *e)
{
    const char *name = ctx;
    char id[IDS_UUID_SIZE], owner[PG_BYTEA_TEXT_SIZE], key[PG_BYTEA_TEXT_SIZE];
    uint8_t creator_key[32];
    if (!ids_uuid_new(id, e))
        return PG_ERR_CALLBACK;
    ids_key_of(creator_key, id);
    pg_bytea_text(owner, caller->bytes, ADDRESS_BYTES);
    pg_bytea_text(key, creator_key, 32);
    const char *params[4] = {id, owner, key, name};
    enum pg_code r = pg_exec(pc, NULL,
                             "INSERT INTO creators (id, owner, creator_key, name) "
                             "VALUES ($1::uuid, $2::bytea, $3::bytea, $4)",
                             params, 4, e);
    if (r != PG_OK)
        return r;
    out->status = 201;
    out->body = json_pack("{s:s, s:o, s:o, s:s}", "id", id, "owner", httpjson_address(caller),
                          "creator_key", httpjson_hex(creator_key, 32), "name", name);
    return out->body != NULL ? PG_OK : PG_ERR_CALLBACK;
}

void st_handle_creator_post(struct http_response *resp, const struct http_request *req, void *ctx)
{
    struct st *s = ctx;
    struct address caller;
    json_t *body = NULL;
    const char *name = NULL;
    if (!auth_require_session(&caller, resp, req, &s->keys, (int64_t)time(NULL)) ||
        !httpjson_read_body(&body, resp, req, api_creator_fields, 1, ST_CREATOR_BODY_BYTES_MAX))
        return;
    ASSERT(json_body_get_string(&name, NULL, body, "name"));
    st_write(resp, req, s, &caller, api_creator_create, (void *)name);
    json_decref(body);
}

/* ---- GET /v1/creators/{id} -------------------------------------------------------- */

/* The creator of route parameter {id}; false after answering 404 or 503.
 * On true the slot is still held (the caller releases it). */
static bool api_read_creator(struct api_creator *out, struct http_response *resp,
                             const struct http_request *req, struct st *s,
                             struct respool_slot **slot, struct pg_session **pc)
{
    const char *id = http_request_param(req, "id");
    if (id == NULL || !ids_uuid_valid(id, strlen(id))) {
        http_reply_error(resp, PROBLEM_NOT_FOUND, "creator ids are lowercase UUIDs");
        return false;
    }
    if (!st_slot_pg(slot, pc, resp, s))
        return false;
    bool found = false;
    struct err e = {0};
    enum pg_code r = api_creator_load(&found, out, *pc, id, false, &e);
    if (r == PG_OK && found)
        return true;
    if (r != PG_OK) {
        respool_pg_failed(*slot, r);
        log_write(&s->log, LOG_ERROR, "creator lookup failed", LOG_KVS(log_str("error", e.msg)));
        http_reply_header(resp, "Retry-After", ST_RETRY_AFTER_S);
        http_reply_error(resp, PROBLEM_UNAVAILABLE, "could not read the creator; retry");
    } else {
        http_reply_error(resp, PROBLEM_NOT_FOUND, "no creator '%s'", id);
    }
    respool_release(&s->pool, *slot);
    *slot = NULL;
    return false;
}

void st_handle_creator_get(struct http_response *resp, const struct http_request *req, void *ctx)
{
    struct st *s = ctx;
    struct respool_slot *slot = NULL;
    struct pg_session *pc = NULL;
    struct api_creator c;
    if (!api_read_creator(&c, resp, req, s, &slot, &pc))
        return;
    respool_release(&s->pool, slot);
    http_reply_json(resp, 200,
                    json_pack("{s:s, s:o, s:o, s:s}", "id", c.id, "owner",
                              httpjson_address(&c.owner), "creator_key",
                              httpjson_hex(c.creator_key, 32), "name", c.name));
}

/* ---- GET /v1/creators ------------------------------------------------------------- */

/* The cursor of GET /v1/creators: the last id of the page before. */
static bool api_creators_cursor(void *cursor, const char *text)
{
    size_t len = strnlen(text, IDS_UUID_SIZE);
    if (!ids_uuid_valid(text, len))
        return false;
    memcpy(cursor, text, len + 1);
    return true;
}

/* Row `row` of the list query (id, owner, creator_key, name, created_at). */
static json_t *api_creator_row_json(PGresult *res, int row)
{
    struct address owner;
    uint8_t key[32];
    const char *id = PQgetvalue(res, row, 0);
    ASSERT(ids_uuid_valid(id, strlen(id)) &&
           pg_get_bytea(owner.bytes, ADDRESS_BYTES, res, row, 1) &&
           pg_get_bytea(key, 32, res, row, 2));
    return json_pack("{s:s, s:s, s:o, s:o, s:s}", "id", id, "name", PQgetvalue(res, row, 3),
                     "owner", httpjson_address(&owner), "creator_key", httpjson_hex(key, 32),
                     "created_at", PQgetvalue(res, row, 4));
}

void st_handle_creators_list(struct http_response *resp, const struct http_request *req, void *ctx)
{
    struct st *s = ctx;
    char after[IDS_UUID_SIZE] = "";
    uint32_t limit = 0;
    if (!st_page_query(&limit, after, api_creators_cursor, resp, req, ST_CREATORS_LIMIT_DEFAULT,
                       ST_CREATORS_LIMIT_MAX))
        return;
    struct respool_slot *slot = NULL;
    struct pg_session *pc = NULL;
    if (!st_slot_pg(&slot, &pc, resp, s))
        return;
    char rows_text[16];
    snprintf(rows_text, sizeof rows_text, "%u", limit + 1);
    const char *params[2] = {after[0] != '\0' ? after : NULL, rows_text};
    PGresult *res = NULL;
    struct err e = {0};
    enum pg_code r =
        pg_exec(pc, &res,
                "SELECT id::text, owner, creator_key, name, to_char(created_at AT "
                "TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') FROM creators "
                "WHERE $1::uuid IS NULL OR id > $1::uuid ORDER BY id LIMIT $2::integer",
                params, 2, &e);
    if (r != PG_OK) {
        respool_pg_failed(slot, r);
        respool_release(&s->pool, slot);
        log_write(&s->log, LOG_ERROR, "creator list failed", LOG_KVS(log_str("error", e.msg)));
        http_reply_header(resp, "Retry-After", ST_RETRY_AFTER_S);
        http_reply_error(resp, PROBLEM_UNAVAILABLE, "could not read the creators; retry");
        return;
    }
    respool_release(&s->pool, slot);
    int rows = PQntuples(res);
    bool more = rows > (int)limit;
    json_t *items = json_array();
    for (int i = 0; items != NULL && i < rows && i < (int)limit; i++)
        if (json_array_append_new(items, api_creator_row_json(res, i)) != 0) {
            json_decref(items);
            items = NULL;
        }
    json_t *next = more ? json_string(PQgetvalue(res, (int)limit - 1, 0)) : json_null();
    PQclear(res);
    http_reply_header(resp, "Cache-Control", "no-store");
    http_reply_json(resp, 200, json_pack("{s:o, s:o}", "creators", items, "next_cursor", next));
}

/* ---- splits ------------------------------------------------------------------------ */

/* [{version, effective_from_block, shares:[{payee, role, bps}]}] of the
 * creator, oldest first (latest_only: the newest alone). */
static enum pg_code api_versions(json_t **out, struct pg_session *pc, const char *creator_id,
                                 bool latest_only, struct err *e)
{
    PGresult *res = NULL;
    enum pg_code r = pg_exec(
        pc, &res,
        latest_only
            ? "SELECT v.version, v.effective_from_block, s.payee, s.role, s.bps "
              "FROM split_versions v JOIN split_shares s USING (creator_id, version) "
              "WHERE v.creator_id = $1::uuid AND v.version = (SELECT max(version) FROM "
              "split_versions WHERE creator_id = $1::uuid) ORDER BY v.version, s.bps DESC, s.payee"
            : "SELECT v.version, v.effective_from_block, s.payee, s.role, s.bps "
              "FROM split_versions v JOIN split_shares s USING (creator_id, version) "
              "WHERE v.creator_id = $1::uuid ORDER BY v.version, s.bps DESC, s.payee",
        &creator_id, 1, e);
    if (r != PG_OK)
        return r;
    json_t *list = json_array(), *shares = NULL;
    long last = -1;
    for (int i = 0; list != NULL && i < PQntuples(res); i++) {
        long version = strtol(PQgetvalue(res, i, 0), NULL, 10);
        if (version != last) {
            shares = json_array();
            json_array_append_new(list,
                                  json_pack("{s:i, s:o, s:o}", "version", (json_int_t)version,
                                            "effective_from_block",
                                            json_integer(strtoll(PQgetvalue(res, i, 1), NULL, 10)),
                                            "shares", json_incref(shares)));
            json_decref(shares);
            last = version;
        }
        struct address payee;
        ASSERT(pg_get_bytea(payee.bytes, ADDRESS_BYTES, res, i, 2));
        json_array_append_new(shares,
                              json_pack("{s:o, s:s, s:i}", "payee", httpjson_address(&payee),
                                        "role", PQgetvalue(res, i, 3), "bps",
                                        (json_int_t)strtol(PQgetvalue(res, i, 4), NULL, 10)));
    }
    PQclear(res);
    *out = list;
    return list != NULL ? PG_OK : PG_ERR_CALLBACK;
}

static enum pg_code api_splits_write(struct st_answer *out, struct pg_session *pc,
                                     const struct address *caller, void *ctx, struct err *e)
{
    struct api_splits_req *q = ctx;
    bool ok = false;
    enum pg_code r = st_owned_creator(out, &ok, pc, q->creator_id, caller, e);
    if (r != PG_OK || !ok)
        return r;
    PGresult *res = NULL;
    r = pg_exec(pc, &res,
                "SELECT coalesce(max(version), 0) + 1, coalesce(max(effective_from_block) + 1, 0) "
                "FROM split_versions WHERE creator_id = $1::uuid",
                &q->creator_id, 1, e);
    if (r != PG_OK)
        return r;
    long version = strtol(PQgetvalue(res, 0, 0), NULL, 10);
    unsigned long long after_last = strtoull(PQgetvalue(res, 0, 1), NULL, 10);
    PQclear(res);
    /* head + 1, but always after the previous version's start (several
     * versions written within one block start one block apart). */
    uint64_t from_block = q->head_block + 1 > after_last ? q->head_block + 1 : after_last;
    char version_text[24], block_text[24];
    snprintf(version_text, sizeof version_text, "%ld", version);
    snprintf(block_text, sizeof block_text, "%llu", (unsigned long long)from_block);
    const char *vp[3] = {q->creator_id, version_text, block_text};
    r = pg_exec(pc, NULL,
                "INSERT INTO split_versions (creator_id, version, effective_from_block) "
                "VALUES ($1::uuid, $2::integer, $3::bigint)",
                vp, 3, e);
    for (size_t i = 0; r == PG_OK && i < q->shares_len; i++) {
        char payee[PG_BYTEA_TEXT_SIZE], bps[16];
        pg_bytea_text(payee, q->shares[i].payee.bytes, ADDRESS_BYTES);
        snprintf(bps, sizeof bps, "%u", q->shares[i].share_bps);
        const char *sp[5] = {q->creator_id, version_text, payee, q->roles[i], bps};
        r = pg_exec(pc, NULL,
                    "INSERT INTO split_shares (creator_id, version, payee, role, bps) "
                    "VALUES ($1::uuid, $2::integer, $3::bytea, $4, $5::integer)",
                    sp, 5, e);
    }
    if (r != PG_OK)
        return r;
    json_t *versions = NULL;
    if ((r = api_versions(&versions, pc, q->creator_id, true, e)) != PG_OK)
        return r;
    ASSERT(json_array_size(versions) == 1);
    out->status = 201;
    out->body = json_incref(json_array_get(versions, 0));
    json_decref(versions);
    return PG_OK;
}

/* The chain's head block through the slot's RPC client. */
static bool api_head_block(uint64_t *out, struct st *s, struct respool_slot *slot)
{
    struct rpc_client *rpc = NULL;
    struct err e = {0};
    if (respool_rpc(&rpc, slot, &s->pool, &e) == RESPOOL_OK &&
        rpc_block_number(rpc, out, &e) == RPC_OK)
        return true;
    log_write(&s->log, LOG_WARN, "head block unavailable", LOG_KVS(log_str("error", e.msg)));
    return false;
}

bool st_signed_in_creator(struct address *caller, const char **creator_id,
                          struct http_response *resp, const struct http_request *req,
                          const struct st *s)
{
    *creator_id = http_request_param(req, "id");
    if (!auth_require_session(caller, resp, req, &s->keys, (int64_t)time(NULL)))
        return false;
    if (*creator_id == NULL || !ids_uuid_valid(*creator_id, strlen(*creator_id))) {
        http_reply_error(resp, PROBLEM_NOT_FOUND, "creator ids are lowercase UUIDs");
        return false;
    }
    return true;
}

void st_handle_splits_put(struct http_response *resp, const struct http_request *req, void *ctx)
{
    struct st *s = ctx;
    struct address caller;
    json_t *body = NULL;
    static struct api_splits_req q_zero;
    struct api_splits_req q = q_zero;
    if (!st_signed_in_creator(&caller, &q.creator_id, resp, req, s))
        return;
    if (!httpjson_read_body(&body, resp, req, api_splits_fields, 1, ST_SPLITS_BODY_BYTES_MAX))
        return;
    const json_t *shares = json_body_get_array(body, "shares");
    q.shares_len = json_array_size(shares);
    struct err e = {0};
    size_t bad = 0;
    if (q.shares_len > SPLIT_PAYEES_MAX) {
        http_reply_error(resp, PROBLEM_UNPROCESSABLE, "a split has at most %d payees, not %zu",
                         SPLIT_PAYEES_MAX, q.shares_len);
        json_decref(body);
        return;
    }
    for (size_t i = 0; i < q.shares_len; i++) {
        const json_t *sh = json_array_get(shares, i);
        int64_t bps = 0;
        ASSERT(json_body_get_address(&q.shares[i].payee, sh, "payee") &&
               json_body_get_string(&q.roles[i], NULL, sh, "role") &&
               json_body_get_int(&bps, sh, "bps") && bps >= 0 && bps <= 1000000);
        q.shares[i].share_bps = (uint32_t)bps;
    }
    if (split_validate(&bad, q.shares, q.shares_len, &e) != SPLIT_OK) {
        http_reply_error(resp, PROBLEM_UNPROCESSABLE, "%s", e.msg);
        json_decref(body);
        return;
    }
    struct respool_slot *slot = NULL;
    bool head_ok = respool_acquire(&slot, &s->pool, ST_POOL_WAIT_MS, NULL) == RESPOOL_OK &&
                   api_head_block(&q.head_block, s, slot);
    if (slot != NULL)
        respool_release(&s->pool, slot);
    if (!head_ok) {
        http_reply_header(resp, "Retry-After", ST_RETRY_AFTER_S);
        http_reply_error(resp, PROBLEM_UNAVAILABLE, "cannot read the chain's head block; retry");
    } else {
        st_write(resp, req, s, &caller, api_splits_write, &q);
    }
    json_decref(body);
}

static void api_splits_read(struct http_response *resp, const struct http_request *req,
                            struct st *s, bool latest_only)
{
    struct respool_slot *slot = NULL;
    struct pg_session *pc = NULL;
    struct api_creator c;
    if (!api_read_creator(&c, resp, req, s, &slot, &pc))
        return;
    json_t *versions = NULL;
    struct err e = {0};
    enum pg_code r = api_versions(&versions, pc, c.id, latest_only, &e);
    if (r != PG_OK)
        respool_pg_failed(slot, r);
    respool_release(&s->pool, slot);
    if (r != PG_OK) {
        http_reply_header(resp, "Retry-After", ST_RETRY_AFTER_S);
        http_reply_error(resp, PROBLEM_UNAVAILABLE, "could not read the splits; retry");
    } else if (!latest_only) {
        http_reply_json(resp, 200,
                        json_pack("{s:s, s:o}", "creator_id", c.id, "versions", versions));
        return;
    } else if (json_array_size(versions) == 0) {
        http_reply_error(resp, PROBLEM_NOT_FOUND, "creator '%s' has no split yet", c.id);
    } else {
        http_reply_json(resp, 200, json_incref(json_array_get(versions, 0)));
    }
    json_decref(versions);
}

void st_handle_splits_get(struct http_response *resp, const struct http_request *req, void *ctx)
{
    api_splits_read(resp, req, ctx, true);
}

void st_handle_splits_history(struct http_response *resp, const struct http_request *req, void *ctx)
{
    api_splits_read(resp, req, ctx, false);
}

/* ---- POST /v1/creators/{id}/streams ------------------------------------------------ */

static enum pg_code api_stream_create(struct st_answer *out, struct pg_session *pc,
                                      const struct address *caller, void *ctx, struct err *e)
{
    struct api_stream_req *q = ctx;
    bool ok = false;
    enum pg_code r = st_owned_creator(out, &ok, pc, q->creator_id, caller, e);
    if (r != PG_OK || !ok)
        return r;
    for (size_t i = 0; i < q->passes_len; i++) {
        char contract[PG_BYTEA_TEXT_SIZE];
        pg_bytea_text(contract, q->contracts[i].bytes, ADDRESS_BYTES);
        const char *pp[2] = {contract, q->creator_id};
        PGresult *res = NULL;
        r = pg_exec(pc, &res,
                    "SELECT 1 FROM passes WHERE contract = $1::bytea AND creator_id = $2::uuid", pp,
                    2, e);
        if (r != PG_OK)
            return r;
        bool registered = PQntuples(res) == 1;
        PQclear(res);
        if (!registered) {
            char a[ADDRESS_TEXT_SIZE];
            address_format_checksum(a, &q->contracts[i]);
            st_answer_problem(out, PROBLEM_UNPROCESSABLE,
                              "pass '%s' is not registered to creator '%s'", a, q->creator_id);
            return PG_OK;
        }
    }
    char id[IDS_UUID_SIZE], key_text[2 * ST_INGEST_KEY_BYTES + 1];
    uint8_t stream_key[32], ingest_key[ST_INGEST_KEY_BYTES], ingest_hash[32];
    if (!ids_uuid_new(id, e) || crypto_random_bytes(ingest_key, sizeof ingest_key, e) != CRYPTO_OK)
        return PG_ERR_CALLBACK;
    ASSERT(hex_encode(key_text, sizeof key_text, ingest_key, sizeof ingest_key) == 0);
    crypto_wipe(ingest_key, sizeof ingest_key);
    /* The gateway hashes the Bearer text it receives: sha256 of the hex. */
    if (crypto_sha256(ingest_hash, key_text, strlen(key_text), e) != CRYPTO_OK)
        return PG_ERR_CALLBACK;
    ids_key_of(stream_key, id);
    char sk[PG_BYTEA_TEXT_SIZE], kh[PG_BYTEA_TEXT_SIZE], tip[U256_DEC_SIZE];
    pg_bytea_text(sk, stream_key, 32);
    pg_bytea_text(kh, ingest_hash, 32);
    if (q->has_tip_min)
        u256_to_dec(tip, &q->tip_min_wei);
    const char *params[6] = {id, q->creator_id, sk, q->title, q->has_tip_min ? tip : NULL, kh};
    r = pg_exec(pc, NULL,
                "INSERT INTO streams (id, creator_id, stream_key, title, tip_min_wei, "
                "ingest_key_hash) VALUES ($1::uuid, $2::uuid, $3::bytea, $4, $5::numeric, "
                "$6::bytea)",
                params, 6, e);
    for (size_t i = 0; r == PG_OK && i < q->passes_len; i++) {
        char contract[PG_BYTEA_TEXT_SIZE], min[U256_DEC_SIZE];
        pg_bytea_text(contract, q->contracts[i].bytes, ADDRESS_BYTES);
        u256_to_dec(min, &q->min_balances[i]);
        const char *pp[3] = {id, contract, min};
        r = pg_exec(pc, NULL,
                    "INSERT INTO stream_passes (stream_id, contract, min_balance) "
                    "VALUES ($1::uuid, $2::bytea, $3::numeric)",
                    pp, 3, e);
    }
    if (r != PG_OK)
        return r;
    out->status = 201;
    out->body = json_pack("{s:s, s:s, s:o, s:s}", "id", id, "creator_id", q->creator_id,
                          "stream_key", httpjson_hex(stream_key, 32), "ingest_key", key_text);
    crypto_wipe(key_text, sizeof key_text);
    return out->body != NULL ? PG_OK : PG_ERR_CALLBACK;
}

/* Fills the access rules of `q` from the validated body; false after
 * answering 422. */
static bool api_stream_rules(struct api_stream_req *q, struct http_response *resp,
                             const json_t *body)
{
    const json_t *access = json_body_get_object(body, "access");
    const json_t *passes = json_body_get_array(access, "passes");
    q->passes_len = json_array_size(passes);
    ASSERT(q->passes_len <= ST_STREAM_PASSES_MAX);
    for (size_t i = 0; i < q->passes_len; i++) {
        const json_t *p = json_array_get(passes, i);
        ASSERT(json_body_get_address(&q->contracts[i], p, "contract") &&
               json_body_get_u256(&q->min_balances[i], p, "min_balance"));
        if (u256_is_zero(&q->min_balances[i])) {
            http_reply_error(resp, PROBLEM_UNPROCESSABLE,
                             "field 'access.passes[%zu].min_balance' must be at least 1", i);
            return false;
        }
        for (size_t j = 0; j < i; j++)
            if (address_eq(&q->contracts[j], &q->contracts[i])) {
                http_reply_error(resp, PROBLEM_UNPROCESSABLE,
                                 "field 'access.passes[%zu].contract' repeats a pass", i);
                return false;
            }
    }
    q->has_tip_min = json_body_get_u256(&q->tip_min_wei, access, "tip_min_wei");
    if (q->has_tip_min && u256_is_zero(&q->tip_min_wei)) {
        http_reply_error(resp, PROBLEM_UNPROCESSABLE,
                         "field 'access.tip_min_wei' must be above 0, or null for no tip rule");
        return false;
    }
    return true;
}

void st_handle_stream_post(struct http_response *resp, const struct http_request *req, void *ctx)
{
    struct st *s = ctx;
    struct address caller;
    json_t *body = NULL;
    static struct api_stream_req q_zero;
    struct api_stream_req q = q_zero;
    if (!st_signed_in_creator(&caller, &q.creator_id, resp, req, s))
        return;
    if (!httpjson_read_body(&body, resp, req, api_stream_fields, 2, ST_STREAM_BODY_BYTES_MAX))
        return;
    ASSERT(json_body_get_string(&q.title, NULL, body, "title"));
    if (api_stream_rules(&q, resp, body))
        st_write(resp, req, s, &caller, api_stream_create, &q);
    json_decref(body);
}

/* ---- GET /v1/chain ------------------------------------------------------------------ */

void st_handle_chain(struct http_response *resp, const struct http_request *req, void *ctx)
{
    struct st *s = ctx;
    (void)req;
    struct respool_slot *slot = NULL;
    uint64_t head = 0, indexed = 0;
    bool head_ok = respool_acquire(&slot, &s->pool, ST_POOL_WAIT_MS, NULL) == RESPOOL_OK &&
                   api_head_block(&head, s, slot);
    bool indexed_ok = slot != NULL && st_indexed_block(&indexed, s, slot);
    if (slot != NULL)
        respool_release(&s->pool, slot);
    /* operator: null without an operator key (api_passes.c); indexed_block:
     * the indexer's stored cursor, null until it has run (service.c). */
    http_reply_header(resp, "Cache-Control", "no-store");
    http_reply_json(
        resp, 200,
        json_pack("{s:I, s:o, s:o, s:I, s:o, s:o}", "chain_id", (json_int_t)s->cfg.chain_id,
                  "vault", s->cfg.vault_address_set ? httpjson_address(&s->vault) : json_null(),
                  "operator", s->operator_ready ? httpjson_address(&s->txmgr.from) : json_null(),
                  "confirmations", (json_int_t)s->cfg.confirmations, "head_block",
                  head_ok ? json_integer((json_int_t)head) : json_null(), "indexed_block",
                  indexed_ok ? json_integer((json_int_t)indexed) : json_null()));
}
