/* service.c - see service.h. */
#include "service.h"

#include <string.h>

#include "crypto.h"
#include "indexer.h"

static bool st_load_keys(struct st *s, struct err *e);
static enum http_health st_health(json_t *checks, void *ctx);
static bool st_register_metrics(struct st *s, struct http_server *h, struct err *e);
static bool st_register_indexer_metrics(struct st *s, struct http_server *h, struct err *e);
static enum http_health st_indexer_health(json_t *checks, struct st *s);
static void st_nonce(struct http_response *resp, const struct http_request *req, void *ctx);
static void st_siwe(struct http_response *resp, const struct http_request *req, void *ctx);

static void st_nonce(struct http_response *resp, const struct http_request *req, void *ctx)
{
    auth_handle_nonce(resp, req, &((struct st *)ctx)->auth);
}

static void st_siwe(struct http_response *resp, const struct http_request *req, void *ctx)
{
    auth_handle_siwe(resp, req, &((struct st *)ctx)->auth);
}

static const struct http_route st_routes[] = {
    {"GET", "/v1/auth/nonce", st_nonce, 0},
    {"POST", "/v1/auth/siwe", st_siwe, AUTH_BODY_BYTES_MAX},
    {"GET", "/v1/chain", st_handle_chain, 0},
    {"POST", "/v1/creators", st_handle_creator_post, ST_CREATOR_BODY_BYTES_MAX},
    {"GET", "/v1/creators", st_handle_creators_list, 0},
    {"GET", "/v1/creators/{id}", st_handle_creator_get, 0},
    {"PUT", "/v1/creators/{id}/splits", st_handle_splits_put, ST_SPLITS_BODY_BYTES_MAX},
    {"GET", "/v1/creators/{id}/splits", st_handle_splits_get, 0},
    {"GET", "/v1/creators/{id}/splits/history", st_handle_splits_history, 0},
    {"POST", "/v1/creators/{id}/streams", st_handle_stream_post, ST_STREAM_BODY_BYTES_MAX},
    {"GET", "/v1/creators/{id}/revenue", st_handle_revenue_get, 0},
    {"GET", "/v1/creators/{id}/balances", st_handle_balances_get, 0},
    {"POST", "/v1/creators/{id}/passes", st_handle_pass_post, ST_PASS_BODY_BYTES_MAX},
    {"GET", "/v1/recordings/{stream_id}", st_handle_recording_get, 0},
    {"GET", "/v1/recordings/{stream_id}/evidence", st_handle_recording_evidence, 0},
    {"POST", "/v1/creators/{id}/settlements", st_handle_settlement_post, ST_SETTLE_BODY_BYTES_MAX},
    {"GET", "/v1/creators/{id}/settlements", st_handle_settlements_list, 0},
    {"GET", "/v1/settlements/{id}", st_handle_settlement_get, 0},
    {"GET", "/v1/settlements/{id}/proofs/{payee}", st_handle_settlement_proof, 0},
};

/* AUTH_SECRET_FILE (32..64 bytes of hex, mode 0600) -> token keys. */
static bool st_load_keys(struct st *s, struct err *e)
{
    uint8_t secret[TOKEN_SECRET_BYTES_MAX];
    size_t len = 0;
    bool ok = config_read_key_file(secret, &len, TOKEN_SECRET_BYTES_MIN, sizeof secret,
                                   s->cfg.auth_secret_file, e) == CONFIG_OK &&
              token_keys_init(&s->keys, secret, len, e) == TOKEN_OK;
    crypto_wipe(secret, sizeof secret);
    return ok;
}

bool st_open(struct st_server *srv, const struct app_config *cfg, FILE *log_out, struct err *e)
{
    memset(srv, 0, sizeof *srv);
    struct st *s = &srv->s;
    s->cfg = *cfg;
    log_init(&s->log, log_out, "settlement", cfg->log_level);
    jobs_tuning_default(&s->tune);
    jobs_indexer_status_init(&s->indexer_status);
    if (cfg->vault_address_set)
        memcpy(s->vault.bytes, cfg->vault_address, ADDRESS_BYTES);
    if (!st_load_keys(s, e) ||
        respool_init(&s->pool, ST_POOL_SLOTS, cfg->database_url, cfg->eth_rpc_url,
                     ST_RPC_TIMEOUT_MS, e) != RESPOOL_OK ||
        !st_operator_open(s, e)) {
        st_stop(srv);
        return false;
    }
    s->auth = (struct auth){.keys = &s->keys,
                            .pool = &s->pool,
                            .log = &s->log,
                            .siwe_domain = s->cfg.siwe_domain,
                            .siwe_scheme = auth_scheme_for_domain(s->cfg.siwe_domain),
                            .chain_id = s->cfg.chain_id,
                            .rpc_url = s->cfg.eth_rpc_url,
                            .eip1271_timeout_ms = ST_EIP1271_TIMEOUT_MS};
    return true;
}

/* postgres: a slot and SELECT 1 (down when it fails); rpc: eth_blockNumber
 * (degraded when it fails). */
static enum http_health st_health(json_t *checks, void *ctx)
{
    struct st *s = ctx;
    struct respool_slot *slot = NULL;
    struct pg_session *pc = NULL;
    struct rpc_client *rpc = NULL;
    uint64_t head = 0;
    bool got = respool_acquire(&slot, &s->pool, 500, NULL) == RESPOOL_OK;
    bool pg_ok = got && respool_pg(&pc, slot, &s->pool, NULL) == RESPOOL_OK &&
                 pg_exec(pc, NULL, "SELECT 1", NULL, 0, NULL) == PG_OK;
    bool rpc_ok = got && respool_rpc(&rpc, slot, &s->pool, NULL) == RESPOOL_OK &&
                  rpc_block_number(rpc, &head, NULL) == RPC_OK;
    if (slot != NULL) {
        if (!pg_ok)
            respool_pg_failed(slot, PG_ERR_CONNECTION);
        respool_release(&s->pool, slot);
    }
    json_object_set_new(checks, "postgres", json_string(pg_ok ? "ok" : "down"));
    json_object_set_new(checks, "rpc", json_string(rpc_ok ? "ok" : "down"));
    enum http_health indexer = st_indexer_health(checks, s);
    if (!pg_ok)
        return HTTP_HEALTH_DOWN;
    return rpc_ok && indexer == HTTP_HEALTH_OK ? HTTP_HEALTH_OK : HTTP_HEALTH_DEGRADED;
}

/* indexer: the worker's indexer state (jobs.h), e.g. "halted: reorg from
 * block 9 reaches confirmed block 12 (deeper than 2 confirmations)". */
static enum http_health st_indexer_health(json_t *checks, struct st *s)
{
    char detail[JOBS_DETAIL_BYTES], text[JOBS_DETAIL_BYTES + 16];
    enum jobs_indexer_state state =
        jobs_indexer_status_get(&s->indexer_status, detail, sizeof detail);
    bool ok = state == JOBS_INDEXER_STARTING || state == JOBS_INDEXER_STANDBY ||
              state == JOBS_INDEXER_LEADING;
    if (state == JOBS_INDEXER_LEADING)
        snprintf(text, sizeof text, "ok");
    else
        snprintf(text, sizeof text, "%s: %s", jobs_indexer_state_name(state), detail);
    json_object_set_new(checks, "indexer", json_string(text));
    return ok ? HTTP_HEALTH_OK : HTTP_HEALTH_DEGRADED;
}

bool st_indexed_block(uint64_t *out, struct st *s, struct respool_slot *slot)
{
    struct pg_session *pc = NULL;
    struct indexer_progress p;
    struct err e = {0};
    if (!s->cfg.vault_address_set)
        return false;
    if (respool_pg(&pc, slot, &s->pool, &e) != RESPOOL_OK ||
        indexer_read_progress(&p, pc, INDEXER_NAME_DEFAULT, s->cfg.chain_id, &s->vault, &e) !=
            INDEXER_OK) {
        if (pc != NULL && PQstatus(pc->conn) != CONNECTION_OK)
            respool_pg_failed(slot, PG_ERR_CONNECTION);
        log_write(&s->log, LOG_WARN, "indexed block unavailable", LOG_KVS(log_str("error", e.msg)));
        return false;
    }
    *out = p.indexed_block;
    return p.has_indexed;
}

static bool st_register_metrics(struct st *s, struct http_server *h, struct err *e)
{
    const struct {
        struct http_metric **m;
        const char *name, *help;
    } list[] = {
        {&s->m.idem_replays, "settlement_idempotent_replays_total",
         "writes answered from a stored Idempotency-Key"},
        {&s->m.idem_mismatches, "settlement_idempotency_mismatches_total",
         "Idempotency-Key reused with another request (422)"},
    };
    for (size_t i = 0; i < sizeof list / sizeof list[0]; i++)
        if (http_metric_register(list[i].m, h, HTTP_METRIC_COUNTER, list[i].name, "",
                                 list[i].help, e) != HTTP_OK)
            return false;
    return st_register_indexer_metrics(s, h, e) && auth_register_metrics(&s->auth, h, e);
}

static bool st_register_indexer_metrics(struct st *s, struct http_server *h, struct err *e)
{
    static const char revenue[] = "revenue events (RevenueReceived, Tipped) by what happened";
    static const char chain[] = "decoded vault and pass logs (chain_events) by what happened";
    const struct {
        struct http_metric **m;
        enum http_metric_type type;
        const char *name, *labels, *help;
    } list[] = {
        {&s->m.ix_halted, HTTP_METRIC_GAUGE, "settlement_indexer_halted", "",
         "1 after a reorg deeper than CONFIRMATIONS stopped the indexer"},
        {&s->m.ix_leader, HTTP_METRIC_GAUGE, "settlement_indexer_leader", "",
         "1 while this process leads the indexer"},
        {&s->m.ix_head, HTTP_METRIC_GAUGE, "settlement_indexer_head_block", "",
         "chain head at the last poll"},
        {&s->m.ix_indexed, HTTP_METRIC_GAUGE, "settlement_indexer_indexed_block", "",
         "last block whose logs are recorded"},
        {&s->m.ix_confirmed, HTTP_METRIC_GAUGE, "settlement_indexer_confirmed_block", "",
         "last block whose events are confirmed and posted"},
        {&s->m.ix_polls, HTTP_METRIC_COUNTER, "settlement_indexer_polls_total", "",
         "indexer polls"},
        {&s->m.ix_errors, HTTP_METRIC_COUNTER, "settlement_indexer_errors_total", "",
         "failed indexer rounds (set-up or poll)"},
        {&s->m.ix_reorgs, HTTP_METRIC_COUNTER, "settlement_indexer_reorgs_total", "",
         "reorgs rolled back"},
        {&s->m.ix_revenue_seen, HTTP_METRIC_COUNTER, "settlement_indexer_revenue_events_total",
         "status=\"seen\"", revenue},
        {&s->m.ix_revenue_confirmed, HTTP_METRIC_COUNTER, "settlement_indexer_revenue_events_total",
         "status=\"confirmed\"", revenue},
        {&s->m.ix_revenue_orphaned, HTTP_METRIC_COUNTER, "settlement_indexer_revenue_events_total",
         "status=\"orphaned\"", revenue},
        {&s->m.ix_chain_seen, HTTP_METRIC_COUNTER, "settlement_indexer_chain_events_total",
         "status=\"seen\"", chain},
        {&s->m.ix_chain_confirmed, HTTP_METRIC_COUNTER, "settlement_indexer_chain_events_total",
         "status=\"confirmed\"", chain},
        {&s->m.ix_chain_orphaned, HTTP_METRIC_COUNTER, "settlement_indexer_chain_events_total",
         "status=\"orphaned\"", chain},
    };
    for (size_t i = 0; i < sizeof list / sizeof list[0]; i++)
        if (http_metric_register(list[i].m, h, list[i].type, list[i].name, list[i].labels,
                                 list[i].help, e) != HTTP_OK)
            return false;
    return true;
}

bool st_start(struct st_server *srv, struct err *e)
{
    struct st *s = &srv->s;
    struct http_config hc;
    http_config_default(&hc);
    snprintf(hc.listen, sizeof hc.listen, "%s", s->cfg.settlement_listen);
    hc.threads = ST_HTTP_THREADS;
    hc.connections_max = ST_CONNECTIONS_MAX;
    hc.connections_per_ip_max = ST_CONNECTIONS_PER_IP_MAX;
    struct http_app app = {.routes = st_routes,
                           .routes_len = sizeof st_routes / sizeof st_routes[0],
                           .ctx = s,
                           .health = st_health,
                           .log = &s->log};
    return http_server_new(&srv->http, &hc, &app, e) == HTTP_OK &&
           st_register_metrics(s, srv->http, e) && http_server_start(srv->http, e) == HTTP_OK &&
           jobs_start(&srv->jobs, s, e);
}

void st_stop(struct st_server *srv)
{
    struct st *s = &srv->s;
    jobs_stop(&srv->jobs); /* before the server: the worker updates its metrics */
    if (srv->http != NULL) {
        http_server_free(srv->http); /* stops first: requests in flight finish */
        srv->http = NULL;
    }
    respool_free(&s->pool);
    token_keys_release(&s->keys);
    st_operator_close(s);
    jobs_indexer_status_release(&s->indexer_status);
}
