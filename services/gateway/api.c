/* api.c - the gateway's JSON API: stream info, the access decision and
 * tip crediting (see gateway.h and docs/architecture.md "Gateway"). */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "abi.h"
#include "access.h"
#include "clock.h"
#include "follow.h"
#include "gateway.h"
#include "hex.h"
#include "httpjson.h"
#include "ids.h"
#include "json.h"
#include "store.h"

#define API_TIME_TEXT_BYTES 32

static json_t *api_passes(const struct store_stream *s);
static bool api_time_text(char out[API_TIME_TEXT_BYTES], int64_t unix_s);
static void api_reply_denied(struct http_response *resp, struct gw *g, const struct store_stream *s,
                             const struct access_decision *d);
static void api_reply_allowed(struct http_response *resp, struct gw *g,
                              const struct store_stream *s, const struct address *viewer,
                              const struct access_decision *d);
static int api_credit_receipt(struct u256 *credited, struct pg_session *pc, struct gw *g,
                              const struct rpc_receipt *rc, const struct store_stream *s,
                              const struct address *viewer, struct err *e);
static bool api_tip_receipt(struct rpc_receipt *rc, struct http_response *resp, struct gw *g,
                            struct respool_slot *slot, const uint8_t tx_hash[32]);
static void api_tip_answer(struct http_response *resp, struct gw *g, struct respool_slot *slot,
                           struct pg_session *pc, const struct rpc_receipt *rc,
                           const struct store_stream *s, const struct address *viewer);

static const struct json_body_field api_tip_fields[] = {
    {.name = "tx_hash", .type = JSON_BODY_HEX, .required = true, .len_min = 32, .len_max = 32},
};

static bool api_time_text(char out[API_TIME_TEXT_BYTES], int64_t unix_s)
{
    time_t t = (time_t)unix_s;
    struct tm tm;
    return gmtime_r(&t, &tm) != NULL &&
           strftime(out, API_TIME_TEXT_BYTES, "%Y-%m-%dT%H:%M:%SZ", &tm) == 20;
}

/* [{contract, min_balance, price_wei}] */
static json_t *api_passes(const struct store_stream *s)
{
    json_t *list = json_array();
    for (size_t i = 0; list != NULL && i < s->passes_len; i++) {
        const struct store_pass_rule *r = &s->passes[i];
        json_array_append_new(list, json_pack("{s:o, s:o, s:o}", "contract",
                                              httpjson_address(&r->contract), "min_balance",
                                              httpjson_wei(&r->min_balance), "price_wei",
                                              httpjson_wei(&r->price_wei)));
    }
    return list;
}

bool gw_slot_pg(struct respool_slot **slot_out, struct pg_session **pc_out,
                struct http_response *resp, struct gw *g)
{
    struct err e = {0};
    *slot_out = NULL;
    if (respool_acquire(slot_out, &g->pool, GW_POOL_WAIT_MS, &e) == RESPOOL_OK) {
        if (respool_pg(pc_out, *slot_out, &g->pool, &e) == RESPOOL_OK)
            return true;
        respool_release(&g->pool, *slot_out);
        *slot_out = NULL;
        log_write(&g->log, LOG_ERROR, "database unavailable", LOG_KVS(log_str("error", e.msg)));
    }
    http_reply_header(resp, "Retry-After", GW_RETRY_AFTER_S);
    http_reply_error(resp, PROBLEM_UNAVAILABLE, "the database is unavailable; retry");
    return false;
}

bool gw_load_stream(struct store_stream *out, struct http_response *resp,
                    const struct http_request *req, struct pg_session *pc,
                    struct respool_slot *slot, struct gw *g)
{
    const char *id = http_request_param(req, "id");
    struct err e = {0};
    if (id == NULL || !ids_uuid_valid(id, strlen(id))) {
        http_reply_error(resp, PROBLEM_NOT_FOUND, "stream ids are lowercase UUIDs");
        return false;
    }
    enum store_result r = store_stream_get(out, pc, id, &e);
    if (r == STORE_OK)
        return true;
    if (r == STORE_ERR_NOT_FOUND) {
        http_reply_error(resp, PROBLEM_NOT_FOUND, "no stream '%s'", id);
        return false;
    }
    log_write(&g->log, LOG_ERROR, "stream lookup failed", LOG_KVS(log_str("error", e.msg)));
    if (r == STORE_ERR_CORRUPT) {
        http_reply_error(resp, PROBLEM_INTERNAL, "the stream's stored data is invalid");
        return false;
    }
    respool_pg_failed(slot, PG_ERR_CONNECTION);
    http_reply_header(resp, "Retry-After", GW_RETRY_AFTER_S);
    http_reply_error(resp, PROBLEM_UNAVAILABLE, "could not read the stream; retry");
    return false;
}

bool gw_playback_token(char out[TOKEN_TEXT_SIZE], int64_t *expires_s_out, const struct gw *g,
                       const char *stream_id, const struct address *viewer, int64_t now_s)
{
    return token_playback_issue(out, expires_s_out, &g->keys, stream_id, viewer, now_s,
                                GW_PLAYBACK_TOKEN_S, NULL) == TOKEN_OK;
}

void gw_count_access(struct gw *g, int via, bool unavailable)
{
    struct http_metric *m = unavailable               ? g->m.access_unavailable
                            : via == ACCESS_VIA_PASS  ? g->m.access_pass
                            : via == ACCESS_VIA_TIP   ? g->m.access_tip
                            : via == ACCESS_VIA_OWNER ? g->m.access_owner
                                                      : g->m.access_denied;
    if (m != NULL)
        http_metric_add(m, 1);
}

void gw_handle_stream(struct http_response *resp, const struct http_request *req, void *ctx)
{
    struct gw *g = ctx;
    struct respool_slot *slot = NULL;
    struct pg_session *pc = NULL;
    static struct store_stream s_zero;
    struct store_stream s = s_zero;
    if (!gw_slot_stream(&slot, &pc, &s, resp, req, g))
        return;
    respool_release(&g->pool, slot);
    json_t *access = json_pack("{s:o, s:o, s:o}", "passes", api_passes(&s), "tip_min_wei",
                               s.has_tip_min ? httpjson_wei(&s.tip_min_wei) : json_null(), "vault",
                               httpjson_address(&g->vault));
    http_reply_header(resp, "Cache-Control", "no-cache");
    http_reply_json(resp, 200,
                    json_pack("{s:s, s:s, s:s, s:o, s:s, s:o, s:o}", "id", s.id, "title", s.title,
                              "creator_id", s.creator_id, "creator_key",
                              httpjson_hex(s.creator_key, 32), "status", s.status, "stream_key",
                              httpjson_hex(s.stream_key, 32), "access", access));
}

/* 402 problem+json {allowed:false, requirements:{...}}: what would unlock it. */
static void api_reply_denied(struct http_response *resp, struct gw *g, const struct store_stream *s,
                             const struct access_decision *d)
{
    struct problem p;
    problem_init_kind(&p, PROBLEM_PAYMENT_REQUIRED,
                      "hold a pass of this stream, or tip it at least tip_min_wei");
    json_t *req =
        json_pack("{s:o, s:o, s:o, s:o, s:o, s:o}", "passes", api_passes(s), "tip_min_wei",
                  s->has_tip_min ? httpjson_wei(&s->tip_min_wei) : json_null(), "tipped_wei",
                  httpjson_wei(&d->tipped_wei), "vault", httpjson_address(&g->vault), "creator_key",
                  httpjson_hex(s->creator_key, 32), "stream_key", httpjson_hex(s->stream_key, 32));
    if (problem_set_member(&p, "allowed", json_false(), NULL) != PROBLEM_OK ||
        problem_set_member(&p, "requirements", req, NULL) != PROBLEM_OK) {
        problem_release(&p);
        http_reply_error(resp, PROBLEM_INTERNAL, "could not describe the requirements");
        return;
    }
    http_reply_header(resp, "Cache-Control", "no-store");
    http_reply_problem(resp, &p);
}

static void api_reply_allowed(struct http_response *resp, struct gw *g,
                              const struct store_stream *s, const struct address *viewer,
                              const struct access_decision *d)
{
    char token[TOKEN_TEXT_SIZE], url[64 + TOKEN_TEXT_SIZE], expires[API_TIME_TEXT_BYTES];
    int64_t expires_s = 0;
    if (!gw_playback_token(token, &expires_s, g, s->id, viewer, (int64_t)time(NULL)) ||
        !api_time_text(expires, expires_s)) {
        http_reply_error(resp, PROBLEM_INTERNAL, "could not issue a playback token");
        return;
    }
    int n = snprintf(url, sizeof url, "/hls/%s/master.m3u8?token=%s", s->id, token);
    ASSERT(n > 0 && (size_t)n < sizeof url);
    http_reply_header(resp, "Cache-Control", "no-store");
    http_reply_json(resp, 200,
                    json_pack("{s:b, s:s, s:s, s:s, s:o}", "allowed", 1, "via",
                              access_via_name(d->via), "playback_url", url, "expires_at", expires,
                              "tipped_wei", httpjson_wei(&d->tipped_wei)));
}

int gw_decide(struct access_decision *d, struct gw *g, struct respool_slot *slot,
              struct pg_session *pc, const struct store_stream *s, const struct address *viewer,
              const char *request_id)
{
    struct rpc_client *rpc = NULL;
    struct err e = {0};
    if (respool_rpc(&rpc, slot, &g->pool, &e) != RESPOOL_OK)
        rpc = NULL; /* cached balances can still decide */
    enum access_result r =
        access_decide(d, &g->owners, pc, rpc, g->cfg.chain_id, s, viewer, clock_now_ms(), &e);
    if (r == ACCESS_ERR_DB)
        respool_pg_failed(slot, PG_ERR_CONNECTION);
    if (r != ACCESS_OK)
        log_write(&g->log, LOG_WARN, "access undecided",
                  LOG_KVS(log_str("req", request_id), log_str("error", e.msg)));
    gw_count_access(g, (int)d->via, r != ACCESS_OK);
    if (r == ACCESS_OK && g->m.cache_hits != NULL)
        http_metric_add(d->rpc_calls == 0 ? g->m.cache_hits : g->m.cache_misses, 1);
    return (int)r;
}

bool gw_slot_stream(struct respool_slot **slot_out, struct pg_session **pc_out,
                    struct store_stream *out, struct http_response *resp,
                    const struct http_request *req, struct gw *g)
{
    if (!gw_slot_pg(slot_out, pc_out, resp, g))
        return false;
    if (gw_load_stream(out, resp, req, *pc_out, *slot_out, g))
        return true;
    respool_release(&g->pool, *slot_out);
    *slot_out = NULL;
    return false;
}

void gw_handle_access(struct http_response *resp, const struct http_request *req, void *ctx)
{
    struct gw *g = ctx;
    struct address viewer;
    if (!auth_require_session(&viewer, resp, req, &g->keys, (int64_t)time(NULL)))
        return;
    struct respool_slot *slot = NULL;
    struct pg_session *pc = NULL;
    static struct store_stream s_zero;
    struct store_stream s = s_zero;
    if (!gw_slot_stream(&slot, &pc, &s, resp, req, g))
        return;
    struct access_decision d;
    enum access_result r =
        (enum access_result)gw_decide(&d, g, slot, pc, &s, &viewer, req->request_id);
    respool_release(&g->pool, slot);
    if (r != ACCESS_OK) {
        http_reply_header(resp, "Retry-After", GW_RETRY_AFTER_S);
        http_reply_error(resp, PROBLEM_UNAVAILABLE,
                         "cannot check pass ownership right now (chain unavailable); retry");
    } else if (d.via == ACCESS_DENIED) {
        api_reply_denied(resp, g, &s, &d);
    } else {
        api_reply_allowed(resp, g, &s, &viewer, &d);
    }
}

/* Inserts every Tipped log of the vault in `rc` for this stream from the
 * viewer; *credited = their sum (logs already known are not counted
 * again). Returns the number of matching logs, or -1 on a database error. */
static int api_credit_receipt(struct u256 *credited, struct pg_session *pc, struct gw *g,
                              const struct rpc_receipt *rc, const struct store_stream *s,
                              const struct address *viewer, struct err *e)
{
    uint8_t topic0[32];
    abi_event_topic(topic0, "Tipped(bytes32,bytes32,address,uint256)");
    *credited = u256_zero();
    int matched = 0;
    size_t n = json_is_array(rc->logs) ? json_array_size(rc->logs) : 0;
    for (size_t i = 0; i < n && i < FOLLOW_RANGE_LOGS_MAX; i++) {
        struct follow_log log;
        uint8_t data[FOLLOW_LOG_DATA_BYTES_MAX];
        if (!follow_log_from_json(&log, data, sizeof data, json_array_get(rc->logs, i)) ||
            !address_eq(&log.address, &g->vault) || log.topics_len != 4 ||
            memcmp(log.topics[0], topic0, 32) != 0 || memcmp(log.topics[1], s->creator_key, 32) ||
            memcmp(log.topics[2], s->stream_key, 32) != 0 ||
            memcmp(log.topics[3] + 12, viewer->bytes, ADDRESS_BYTES) != 0 || log.data_len != 32)
            continue;
        struct store_tip t = {.chain_id = g->cfg.chain_id,
                              .log_index = (uint32_t)log.log_index,
                              .block_number = rc->block_number,
                              .from = *viewer,
                              .amount_wei = u256_from_be32(log.data),
                              .from_follower = false};
        memcpy(t.tx_hash, rc->transaction_hash, 32);
        memcpy(t.block_hash, rc->block_hash, 32);
        memcpy(t.creator_key, s->creator_key, 32);
        memcpy(t.stream_key, s->stream_key, 32);
        bool inserted = false;
        if (store_tip_insert(&inserted, pc, &t, e) != STORE_OK)
            return -1;
        matched++;
        if (inserted && u256_add(credited, credited, &t.amount_wei) != U256_OK)
            return -1; /* beyond all ether in existence: a corrupt receipt */
        if (inserted && g->m.tips_credited != NULL)
            http_metric_add(g->m.tips_credited, 1);
    }
    return matched;
}

/* Fetches the receipt of tx_hash; false after answering (409 not mined yet,
 * 422 reverted, 503 chain down). */
static bool api_tip_receipt(struct rpc_receipt *rc, struct http_response *resp, struct gw *g,
                            struct respool_slot *slot, const uint8_t tx_hash[32])
{
    struct rpc_client *rpc = NULL;
    struct err e = {0};
    enum rpc_result r = RPC_ERR_BAD_INPUT;
    if (respool_rpc(&rpc, slot, &g->pool, &e) == RESPOOL_OK)
        r = rpc_get_transaction_receipt(rpc, rc, tx_hash, &e);
    if (r == RPC_ERR_NO_RECEIPT) {
        http_reply_header(resp, "Retry-After", GW_RETRY_AFTER_S);
        http_reply_error(resp, PROBLEM_CONFLICT, "the transaction is not mined yet; retry");
        return false;
    }
    if (r != RPC_OK) {
        log_write(&g->log, LOG_WARN, "receipt unavailable", LOG_KVS(log_str("error", e.msg)));
        http_reply_header(resp, "Retry-After", GW_RETRY_AFTER_S);
        http_reply_error(resp, PROBLEM_UNAVAILABLE, "cannot read the receipt right now; retry");
        return false;
    }
    if (rc->status != 1) {
        rpc_receipt_release(rc);
        http_reply_error(resp, PROBLEM_UNPROCESSABLE, "the transaction reverted: no tip");
        return false;
    }
    return true;
}

/* Credits the receipt's tips and answers {credited_wei, total_wei, allowed}. */
static void api_tip_answer(struct http_response *resp, struct gw *g, struct respool_slot *slot,
                           struct pg_session *pc, const struct rpc_receipt *rc,
                           const struct store_stream *s, const struct address *viewer)
{
    struct u256 credited;
    struct err e = {0};
    int matched = api_credit_receipt(&credited, pc, g, rc, s, viewer, &e);
    if (matched < 0) {
        respool_pg_failed(slot, PG_ERR_CONNECTION);
        http_reply_header(resp, "Retry-After", GW_RETRY_AFTER_S);
        http_reply_error(resp, PROBLEM_UNAVAILABLE, "could not record the tip; retry");
        return;
    }
    if (matched == 0) {
        char addr[ADDRESS_TEXT_SIZE];
        address_format_checksum(addr, viewer);
        http_reply_error(resp, PROBLEM_UNPROCESSABLE,
                         "the transaction has no Tipped log of vault.tip(creator_key, "
                         "stream_key) for this stream from %s",
                         addr);
        return;
    }
    struct access_decision d;
    enum access_result r = (enum access_result)gw_decide(&d, g, slot, pc, s, viewer, "tip");
    if (r != ACCESS_OK) {
        http_reply_header(resp, "Retry-After", GW_RETRY_AFTER_S);
        http_reply_error(resp, PROBLEM_UNAVAILABLE, "tip recorded; access undecided: retry");
        return;
    }
    http_reply_json(resp, 200,
                    json_pack("{s:o, s:o, s:b}", "credited_wei", httpjson_wei(&credited),
                              "total_wei", httpjson_wei(&d.tipped_wei), "allowed",
                              d.via != ACCESS_DENIED));
}

void gw_handle_tip(struct http_response *resp, const struct http_request *req, void *ctx)
{
    struct gw *g = ctx;
    struct address viewer;
    if (!auth_require_session(&viewer, resp, req, &g->keys, (int64_t)time(NULL)))
        return;
    json_t *body = NULL;
    uint8_t tx_hash[32];
    size_t tx_len = 0;
    if (!httpjson_read_body(&body, resp, req, api_tip_fields,
                            sizeof api_tip_fields / sizeof api_tip_fields[0], 0))
        return;
    ASSERT(json_body_get_hex(tx_hash, sizeof tx_hash, &tx_len, body, "tx_hash") && tx_len == 32);
    json_decref(body);
    struct respool_slot *slot = NULL;
    struct pg_session *pc = NULL;
    static struct store_stream s_zero;
    struct store_stream s = s_zero;
    if (!gw_slot_stream(&slot, &pc, &s, resp, req, g))
        return;
    struct rpc_receipt rc;
    if (api_tip_receipt(&rc, resp, g, slot, tx_hash)) {
        api_tip_answer(resp, g, slot, pc, &rc, &s, &viewer);
        rpc_receipt_release(&rc);
    }
    respool_release(&g->pool, slot);
}
