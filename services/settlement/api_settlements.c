/* api_settlements.c - the settlement API's batches (service.h, batch.h;
 * docs/architecture.md "The settlement API as built"), and the batch job's
 * adapter for the service's worker (jobs.h).
 *
 *   POST /v1/creators/{id}/settlements          (owner) -> 202 {id, batch_key, status}
 *   GET  /v1/settlements/{id}
 *   GET  /v1/settlements/{id}/proofs/{payee}
 *   GET  /v1/creators/{id}/settlements?cursor=&limit=
 *
 * POST turns every payee's confirmed unsettled balance into one batch
 * (batch_create(): one transaction with the Idempotency-Key's row) whose
 * settle transaction the worker broadcasts; the body is empty or {}.
 * Errors: 401 (no session), 404 (creator id not a lowercase UUID, or no
 * such creator), 403 (not the owner), 409 (nothing left to settle; or the
 * vault would refuse the settle call, e.g. while a rogue settlement holds
 * the creator's unallocated revenue: the detail has the revert), 422 (a
 * body other than {}), 503 (no operator key or VAULT_ADDRESS, the node
 * failed, the fee cap is below the base fee, the database failed; nothing
 * is stored). An answer below 500 is stored with its Idempotency-Key.
 *
 * Reads are public, without a session: every batch is published on chain
 * (root and total in SettlementAnchored), its payees and amounts become
 * public anyway as they claim, and DAO members audit every batch against
 * the chain without being the creator (rightsctl audit --api). They show
 * batches only, never revenue or balances (api_revenue.c: owner only).
 *   GET /v1/settlements/{id}: {id, creator_id, batch_key, status,
 *     merkle_root, total_wei, tx_hash, block_number, claimable_at, leaves:
 *     [{payee, amount_wei, claimed}]}; leaves ordered by payee address;
 *     tx_hash: the settle transaction's (its first signed attempt until
 *     another one is broadcast or mined); block_number and claimable_at
 *     (unix seconds, the vault's claimableAt(batchKey)) null until
 *     anchored (a failed batch has the reverted transaction's block);
 *     status as batch.h; claimed: a confirmed Claimed log.
 *   GET .../proofs/{payee}: {payee, amount_wei, proof: ["0x.."], root}:
 *     the OZ StandardMerkleTree proof of the leaf (payee, amount_wei),
 *     ready for vault.claim(batchKey, payee, amount_wei, proof); root is
 *     the batch's merkle_root. 404 for a payee not in the batch.
 *   GET /v1/creators/{id}/settlements: {creator_id, settlements: [the
 *     objects above without leaves, plus leaf_count], next_cursor}, newest
 *     first; limit 1..ST_SETTLEMENTS_LIMIT_MAX (default
 *     ST_SETTLEMENTS_LIMIT_DEFAULT); next_cursor is opaque (a decimal
 *     today) and null on the last page.
 * Errors: 400 (a settlement id that is not a lowercase UUID, a payee that
 * is not an address, a bad cursor or limit), 404 (no such settlement,
 * creator or leaf; a creator id that is not a lowercase UUID, as every
 * creator route), 500 (a stored row does not parse), 503 with Retry-After
 * (PostgreSQL failed). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batch.h"
#include "httpjson.h"
#include "ids.h"
#include "jobs.h"
#include "service.h"

struct settle_req {
    struct st *s;
    struct rpc_client *rpc;
    const char *creator_id;
};

static enum pg_code settle_effect(struct st_answer *out, struct pg_session *pc,
                                  const struct address *caller, void *ctx, struct err *e);
static void settle_db_failed(struct http_response *resp, struct st *s, struct respool_slot *slot,
                             const char *what, const struct err *e);
static bool settle_read_answer(struct http_response *resp, struct st *s, struct respool_slot *slot,
                               enum batch_result b, const char *what, const struct err *e);
static json_t *settle_info_json(const struct batch_info *b);
static json_t *settle_leaves_json(const struct batch_leaf *leaves, size_t n);
static bool settle_parse_cursor(void *cursor, const char *text);
static void settle_job_init(void *state, struct st *s);
static bool settle_job_tick(void *state, struct jobs_env *env, struct err *e);

/* ---- POST /v1/creators/{id}/settlements ------------------------------------------ */

static enum pg_code settle_effect(struct st_answer *out, struct pg_session *pc,
                                  const struct address *caller, void *ctx, struct err *e)
{
    struct settle_req *q = ctx;
    struct batch_created c;
    struct batch_create_request br = {
        .creator_id = q->creator_id, .caller = caller, .vault = &q->s->vault};
    enum batch_result b = batch_create(&c, pc, q->rpc, &q->s->txmgr, &br, e);
    switch (b) {
    case BATCH_OK:
        out->status = 202;
        out->body = json_pack("{s:s, s:o, s:s}", "id", c.id, "batch_key",
                              httpjson_hex(c.batch_key, BATCH_KEY_BYTES), "status",
                              batch_status_name(BATCH_PENDING));
        log_write(&q->s->log, LOG_INFO, "settlement batch created",
                  LOG_KVS(log_str("settlement", c.id), log_str("creator", q->creator_id),
                          log_u64("leaves", c.leaf_count)));
        return out->body != NULL ? PG_OK : PG_ERR_CALLBACK;
    case BATCH_ERR_DB:
        return c.pg != PG_OK ? c.pg : PG_ERR_QUERY;
    case BATCH_ERR_NOT_FOUND:
        st_answer_problem(out, PROBLEM_NOT_FOUND, "no creator '%s'", q->creator_id);
        return PG_OK;
    case BATCH_ERR_FORBIDDEN:
        st_answer_problem(out, PROBLEM_FORBIDDEN, "only the creator's owner may settle");
        return PG_OK;
    case BATCH_ERR_NOTHING:
        st_answer_problem(out, PROBLEM_CONFLICT,
                          "nothing is left to settle: no payee has a confirmed unsettled balance");
        return PG_OK;
    case BATCH_ERR_VAULT_REFUSES:
    case BATCH_ERR_TOO_MANY:
        st_answer_problem(out, PROBLEM_CONFLICT, "the batch cannot be settled now: %s", e->msg);
        return PG_OK;
    case BATCH_ERR_CORRUPT:
        log_write(&q->s->log, LOG_ERROR, "settlement refused: stored data does not parse",
                  LOG_KVS(log_str("creator", q->creator_id), log_str("error", e->msg)));
        st_answer_problem(out, PROBLEM_INTERNAL, "the creator's books do not parse");
        return PG_ERR_CALLBACK;
    default:
        log_write(&q->s->log, LOG_WARN, "settlement not submitted",
                  LOG_KVS(log_str("creator", q->creator_id), log_str("error", e->msg)));
        st_answer_problem(out, PROBLEM_UNAVAILABLE, "the settlement could not be submitted; retry");
        return PG_ERR_CALLBACK;
    }
}

void st_handle_settlement_post(struct http_response *resp, const struct http_request *req,
                               void *ctx)
{
    struct st *s = ctx;
    struct address caller;
    const char *id = NULL;
    if (!st_signed_in_creator(&caller, &id, resp, req, s))
        return;
    json_t *body = NULL;
    if (req->body_len > 0 &&
        !httpjson_read_body(&body, resp, req, NULL, 0, ST_SETTLE_BODY_BYTES_MAX))
        return;
    json_decref(body);
    if (!s->operator_ready || !s->cfg.vault_address_set) {
        http_reply_header(resp, "Retry-After", ST_RETRY_AFTER_S);
        http_reply_error(resp, PROBLEM_UNAVAILABLE,
                         "settlements need the operator key and VAULT_ADDRESS");
        return;
    }
    struct rpc_client rpc;
    struct err e = {0};
    if (rpc_client_init(&rpc, s->cfg.eth_rpc_url, NULL, &e) != RPC_OK) {
        log_write(&s->log, LOG_ERROR, "rpc client", LOG_KVS(log_str("error", e.msg)));
        http_reply_header(resp, "Retry-After", ST_RETRY_AFTER_S);
        http_reply_error(resp, PROBLEM_UNAVAILABLE, "the node is unavailable; retry");
        return;
    }
    struct settle_req q = {.s = s, .rpc = &rpc, .creator_id = id};
    st_write(resp, req, s, &caller, settle_effect, &q);
    rpc_client_release(&rpc);
}

/* ---- reads ----------------------------------------------------------------------- */

/* e->code: the failed statement's enum pg_code (pg.h). */
static void settle_db_failed(struct http_response *resp, struct st *s, struct respool_slot *slot,
                             const char *what, const struct err *e)
{
    respool_pg_failed(slot, (enum pg_code)e->code);
    respool_release(&s->pool, slot);
    log_write(&s->log, LOG_ERROR, what, LOG_KVS(log_str("error", e->msg)));
    http_reply_header(resp, "Retry-After", ST_RETRY_AFTER_S);
    http_reply_error(resp, PROBLEM_UNAVAILABLE, "%s; retry", what);
}

/* True for BATCH_OK; otherwise answers 404, 500 or 503 and releases the slot. */
static bool settle_read_answer(struct http_response *resp, struct st *s, struct respool_slot *slot,
                               enum batch_result b, const char *what, const struct err *e)
{
    if (b == BATCH_OK)
        return true;
    if (b == BATCH_ERR_DB) {
        settle_db_failed(resp, s, slot, what, e);
        return false;
    }
    respool_release(&s->pool, slot);
    if (b == BATCH_ERR_NOT_FOUND) {
        http_reply_error(resp, PROBLEM_NOT_FOUND, "%s", e->msg);
        return false;
    }
    log_write(&s->log, LOG_ERROR, what, LOG_KVS(log_str("error", e->msg)));
    http_reply_error(resp, PROBLEM_INTERNAL, "%s: a stored row does not parse", what);
    return false;
}

/* The batch without its leaves (leaf_count instead). */
static json_t *settle_info_json(const struct batch_info *b)
{
    return json_pack(
        "{s:s, s:s, s:o, s:s, s:o, s:o, s:I, s:o, s:o, s:o}", "id", b->id, "creator_id",
        b->creator_id, "batch_key", httpjson_hex(b->batch_key, BATCH_KEY_BYTES), "status",
        batch_status_name(b->status), "merkle_root",
        httpjson_hex(b->merkle_root, MERKLE_HASH_BYTES), "total_wei", httpjson_wei(&b->total_wei),
        "leaf_count", (json_int_t)b->leaf_count, "tx_hash",
        b->has_tx_hash ? httpjson_hex(b->tx_hash, 32) : json_null(), "block_number",
        b->has_block ? json_integer((json_int_t)b->block_number) : json_null(), "claimable_at",
        b->has_claimable_at ? json_integer((json_int_t)b->claimable_at) : json_null());
}

static json_t *settle_leaves_json(const struct batch_leaf *leaves, size_t n)
{
    json_t *list = json_array();
    for (size_t i = 0; list != NULL && i < n; i++)
        if (json_array_append_new(list, json_pack("{s:o, s:o, s:b}", "payee",
                                                  httpjson_address(&leaves[i].payee), "amount_wei",
                                                  httpjson_wei(&leaves[i].amount_wei), "claimed",
                                                  leaves[i].claimed)) != 0) {
            json_decref(list);
            list = NULL;
        }
    return list;
}

/* The {id} of a /v1/settlements route, or NULL after answering 400. */
static const char *settle_id_param(struct http_response *resp, const struct http_request *req)
{
    const char *id = http_request_param(req, "id");
    if (id != NULL && ids_uuid_valid(id, strlen(id)))
        return id;
    http_reply_error(resp, PROBLEM_BAD_REQUEST, "settlement ids are lowercase UUIDs");
    return NULL;
}

void st_handle_settlement_get(struct http_response *resp, const struct http_request *req, void *ctx)
{
    struct st *s = ctx;
    const char *id = settle_id_param(resp, req);
    struct respool_slot *slot = NULL;
    struct pg_session *pc = NULL;
    if (id == NULL || !st_slot_pg(&slot, &pc, resp, s))
        return;
    struct batch_info info;
    struct err e = {0};
    struct batch_leaf *leaves = NULL;
    size_t n = 0;
    enum batch_result b = batch_get(&info, pc, id, &e);
    if (b == BATCH_OK && (leaves = calloc(info.leaf_count, sizeof *leaves)) == NULL)
        b = (enum batch_result)err_set(&e, BATCH_ERR_CORRUPT, "out of memory for %zu leaves",
                                       info.leaf_count);
    if (b == BATCH_OK)
        b = batch_leaves(leaves, info.leaf_count, &n, pc, id, &e);
    if (b == BATCH_OK && n != info.leaf_count)
        b = (enum batch_result)err_set(&e, BATCH_ERR_CORRUPT,
                                       "settlement '%s' has %zu leaves, not %zu", id, n,
                                       info.leaf_count);
    if (!settle_read_answer(resp, s, slot, b, "could not read the settlement", &e)) {
        free(leaves);
        return;
    }
    respool_release(&s->pool, slot);
    json_t *body = settle_info_json(&info), *list = settle_leaves_json(leaves, n);
    free(leaves);
    if (body != NULL && list != NULL) {
        json_object_del(body, "leaf_count");
        json_object_set_new(body, "leaves", list);
        list = NULL;
    }
    json_decref(list);
    http_reply_header(resp, "Cache-Control", "no-store");
    http_reply_json(resp, 200, body);
}

void st_handle_settlement_proof(struct http_response *resp, const struct http_request *req,
                                void *ctx)
{
    struct st *s = ctx;
    const char *id = settle_id_param(resp, req), *payee_text = http_request_param(req, "payee");
    struct address payee;
    if (id == NULL)
        return;
    if (payee_text == NULL ||
        address_parse(&payee, payee_text, strlen(payee_text), NULL) != ADDRESS_OK) {
        http_reply_error(resp, PROBLEM_BAD_REQUEST, "payee must be a 0x address");
        return;
    }
    struct respool_slot *slot = NULL;
    struct pg_session *pc = NULL;
    if (!st_slot_pg(&slot, &pc, resp, s))
        return;
    struct batch_info info;
    struct err e = {0};
    struct u256 amount;
    uint8_t proof[MERKLE_PROOF_MAX][MERKLE_HASH_BYTES], root[MERKLE_HASH_BYTES];
    size_t proof_len = 0;
    enum batch_result b = batch_get(&info, pc, id, &e);
    if (b == BATCH_OK)
        b = batch_proof(&amount, proof, &proof_len, root, pc, &info, &payee, &e);
    if (!settle_read_answer(resp, s, slot, b, "could not read the settlement", &e))
        return;
    respool_release(&s->pool, slot);
    if (memcmp(root, info.merkle_root, MERKLE_HASH_BYTES) != 0)
        log_write(&s->log, LOG_ERROR, "settlement leaves do not give the stored root",
                  LOG_KVS(log_str("settlement", id)));
    json_t *list = json_array();
    for (size_t i = 0; list != NULL && i < proof_len; i++)
        json_array_append_new(list, httpjson_hex(proof[i], MERKLE_HASH_BYTES));
    http_reply_header(resp, "Cache-Control", "no-store");
    http_reply_json(resp, 200,
                    json_pack("{s:o, s:o, s:o, s:o}", "payee", httpjson_address(&payee),
                              "amount_wei", httpjson_wei(&amount), "proof", list, "root",
                              httpjson_hex(info.merkle_root, MERKLE_HASH_BYTES)));
}

/* A decimal min..max without sign or leading zeros; an absent or empty
 * value leaves *out. */
/* A next_cursor (st_page_query's parse; `cursor` a uint64_t): the decimal
 * seq of the page's last batch, 1..INT64_MAX. */
static bool settle_parse_cursor(void *cursor, const char *text)
{
    return st_text_u64(cursor, text, 1, INT64_MAX);
}

void st_handle_settlements_list(struct http_response *resp, const struct http_request *req,
                                void *ctx)
{
    struct st *s = ctx;
    const char *id = http_request_param(req, "id");
    uint64_t before = 0; /* 0: the first page */
    uint32_t limit = 0;
    if (id == NULL || !ids_uuid_valid(id, strlen(id))) {
        http_reply_error(resp, PROBLEM_NOT_FOUND, "creator ids are lowercase UUIDs");
        return;
    }
    if (!st_page_query(&limit, &before, settle_parse_cursor, resp, req,
                       ST_SETTLEMENTS_LIMIT_DEFAULT, ST_SETTLEMENTS_LIMIT_MAX))
        return;
    struct respool_slot *slot = NULL;
    struct pg_session *pc = NULL;
    if (!st_slot_pg(&slot, &pc, resp, s))
        return;
    struct err e = {0};
    PGresult *res = NULL;
    if (pg_exec(pc, &res, "SELECT 1 FROM creators WHERE id = $1::uuid", &id, 1, &e) != PG_OK) {
        settle_db_failed(resp, s, slot, "could not read the creator", &e);
        return;
    }
    bool found = PQntuples(res) == 1;
    PQclear(res);
    struct batch_info *list = calloc(limit, sizeof *list);
    size_t n = 0;
    bool more = false;
    enum batch_result b =
        !found         ? (enum batch_result)err_set(&e, BATCH_ERR_NOT_FOUND, "no creator '%s'", id)
        : list == NULL ? BATCH_ERR_CORRUPT
                       : batch_list(list, limit, &n, &more, pc, id, (int64_t)before, &e);
    if (!settle_read_answer(resp, s, slot, b, "could not read the settlements", &e)) {
        free(list);
        return;
    }
    respool_release(&s->pool, slot);
    json_t *items = json_array();
    for (size_t i = 0; items != NULL && i < n; i++)
        json_array_append_new(items, settle_info_json(&list[i]));
    char next[24];
    if (more)
        snprintf(next, sizeof next, "%" PRId64, list[n - 1].seq);
    free(list);
    http_reply_header(resp, "Cache-Control", "no-store");
    http_reply_json(resp, 200,
                    json_pack("{s:s, s:o, s:o}", "creator_id", id, "settlements", items,
                              "next_cursor", more ? json_string(next) : json_null()));
}

/* ---- the batch job (jobs.c's table) --------------------------------------------- */

static void settle_job_init(void *state, struct st *s)
{
    struct batch_job_config cfg = {.chain_id = s->cfg.chain_id, .vault = s->vault, .log = &s->log};
    batch_job_init(state, &cfg, &s->txmgr);
}

static bool settle_job_tick(void *state, struct jobs_env *env, struct err *e)
{
    struct batch_job_report rep;
    if (batch_job_tick(&rep, state, env->pc, env->rpc, e) != BATCH_OK)
        return false;
    if (rep.advanced + rep.claims + rep.reversals + rep.reclaims > 0)
        log_write(&env->s->log, LOG_INFO, "settlement batches advanced",
                  LOG_KVS(log_u64("advanced", rep.advanced), log_u64("claims", rep.claims),
                          log_u64("reversals", rep.reversals), log_u64("reclaims", rep.reclaims),
                          log_u64("skipped", rep.skipped)));
    return true;
}

const struct jobs_module st_job_batches = {.round_failed = "settlement job round failed",
                                           .needs_vault = true,
                                           .every_ms = ST_BATCH_JOB_MS,
                                           .off_ms = ST_BATCH_JOB_OFF_MS,
                                           .state_bytes = sizeof(struct batch_job),
                                           .init = settle_job_init,
                                           .tick = settle_job_tick};
