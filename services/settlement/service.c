/* service.c - see service.h. */
#include "service.h"

#include <string.h>

#include "crypto.h"

static bool st_load_keys(struct st *s, struct err *e);
static enum http_health st_health(json_t *checks, void *ctx);
static bool st_register_metrics(struct st *s, struct http_server *h, struct err *e);
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
    {"GET", "/v1/creators/{id}", st_handle_creator_get, 0},
    {"PUT", "/v1/creators/{id}/splits", st_handle_splits_put, ST_SPLITS_BODY_BYTES_MAX},
    {"GET", "/v1/creators/{id}/splits", st_handle_splits_get, 0},
    {"GET", "/v1/creators/{id}/splits/history", st_handle_splits_history, 0},
    {"POST", "/v1/creators/{id}/streams", st_handle_stream_post, ST_STREAM_BODY_BYTES_MAX},
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
    if (cfg->vault_address_set)
        memcpy(s->vault.bytes, cfg->vault_address, ADDRESS_BYTES);
    if (!st_load_keys(s, e) || respool_init(&s->pool, ST_POOL_SLOTS, cfg->database_url,
                                            cfg->eth_rpc_url, ST_RPC_TIMEOUT_MS, e) != RESPOOL_OK) {
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
    if (!pg_ok)
        return HTTP_HEALTH_DOWN;
    return rpc_ok ? HTTP_HEALTH_OK : HTTP_HEALTH_DEGRADED;
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
    return auth_register_metrics(&s->auth, h, e);
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
           st_register_metrics(s, srv->http, e) && http_server_start(srv->http, e) == HTTP_OK;
}

void st_stop(struct st_server *srv)
{
    struct st *s = &srv->s;
    if (srv->http != NULL) {
        http_server_free(srv->http); /* stops first: requests in flight finish */
        srv->http = NULL;
    }
    respool_free(&s->pool);
    token_keys_release(&s->keys);
}
