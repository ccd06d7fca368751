/* server.c - see server.h. */
#include "server.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto.h"

static int gw_open_dir(int at_fd, const char *path);
static bool gw_open_dirs(struct gw *g, struct err *e);
static bool gw_load_keys(struct gw *g, struct err *e);
static enum http_health gw_health(json_t *checks, void *ctx);
static bool gw_register_metrics(struct gw *g, struct http_server *h, struct err *e);
static void gw_nonce(struct http_response *resp, const struct http_request *req, void *ctx);
static void gw_siwe(struct http_response *resp, const struct http_request *req, void *ctx);

static void gw_nonce(struct http_response *resp, const struct http_request *req, void *ctx)
{
    auth_handle_nonce(resp, req, &((struct gw *)ctx)->auth);
}

static void gw_siwe(struct http_response *resp, const struct http_request *req, void *ctx)
{
    auth_handle_siwe(resp, req, &((struct gw *)ctx)->auth);
}

static const struct http_route gw_routes[] = {
    {"GET", "/v1/auth/nonce", gw_nonce, 0},
    {"POST", "/v1/auth/siwe", gw_siwe, AUTH_BODY_BYTES_MAX},
    {"GET", "/v1/streams/{id}", gw_handle_stream, 0},
    {"GET", "/v1/streams/{id}/access", gw_handle_access, 0},
    {"POST", "/v1/streams/{id}/tips", gw_handle_tip, GW_TIP_BODY_BYTES_MAX},
    {"GET", "/hls/{id}/{path*}", gw_handle_hls, 0},
    {"PUT", "/ingest/{id}/{path*}", gw_handle_ingest, GW_INGEST_BODY_BYTES_MAX},
    {"GET", "/ingest/{id}", gw_handle_ingest_check, 0},
    {"GET", "/", gw_handle_index, 0},
    {"GET", "/watch/{id}", gw_handle_watch, 0},
    {"GET", "/static/{path*}", gw_handle_static, 0},
};

/* A directory fd (O_DIRECTORY|O_CLOEXEC), or -1 with errno. */
static int gw_open_dir(int at_fd, const char *path)
{
    return openat(at_fd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

/* MEDIA_DIR (created if missing) and WEB_DIR with its static and vendor
 * subdirectories. The web files are optional: a missing one is a 404 later. */
static bool gw_open_dirs(struct gw *g, struct err *e)
{
    if (mkdir(g->cfg.media_dir, 0755) != 0 && errno != EEXIST)
        return !err_set(e, 1, "cannot create MEDIA_DIR '%s': %s", g->cfg.media_dir,
                        strerror(errno));
    g->media_dir_fd = gw_open_dir(AT_FDCWD, g->cfg.media_dir);
    if (g->media_dir_fd < 0)
        return !err_set(e, 1, "cannot open MEDIA_DIR '%s': %s", g->cfg.media_dir, strerror(errno));
    g->web_dir_fd = gw_open_dir(AT_FDCWD, g->cfg.web_dir);
    g->web_static_fd = g->web_dir_fd < 0 ? -1 : gw_open_dir(g->web_dir_fd, "static");
    g->web_vendor_fd =
        g->web_dir_fd < 0 ? -1 : gw_open_dir(g->web_dir_fd, "node_modules/hls.js/dist");
    if (g->web_dir_fd < 0 || g->web_vendor_fd < 0)
        log_write(&g->log, LOG_WARN, "fan page files missing (run make setup)",
                  LOG_KVS(log_str("web_dir", g->cfg.web_dir)));
    return true;
}

/* AUTH_SECRET_FILE (32..64 bytes of hex, mode 0600) -> token keys. */
static bool gw_load_keys(struct gw *g, struct err *e)
{
    uint8_t secret[TOKEN_SECRET_BYTES_MAX];
    size_t len = 0;
    bool ok = config_read_key_file(secret, &len, TOKEN_SECRET_BYTES_MIN, sizeof secret,
                                   g->cfg.auth_secret_file, e) == CONFIG_OK &&
              token_keys_init(&g->keys, secret, len, e) == TOKEN_OK;
    crypto_wipe(secret, sizeof secret);
    return ok;
}

bool gw_open(struct gw_server *s, const struct app_config *cfg, FILE *log_out, struct err *e)
{
    memset(s, 0, sizeof *s);
    struct gw *g = &s->g;
    g->cfg = *cfg;
    g->media_dir_fd = g->web_dir_fd = g->web_static_fd = g->web_vendor_fd = -1;
    log_init(&g->log, log_out, "gateway", cfg->log_level);
    if (!cfg->vault_address_set)
        return !err_set(e, 1, "VAULT_ADDRESS is required by the gateway");
    memcpy(g->vault.bytes, cfg->vault_address, ADDRESS_BYTES);
    if (!gw_load_keys(g, e) || !gw_open_dirs(g, e) ||
        respool_init(&g->pool, GW_POOL_SLOTS, cfg->database_url, cfg->eth_rpc_url,
                     GW_RPC_TIMEOUT_MS, e) != RESPOOL_OK ||
        !owncache_init(&g->owners, GW_OWNCACHE_ENTRIES, GW_OWNCACHE_TTL_MS, e)) {
        gw_stop(s);
        return false;
    }
    g->auth = (struct auth){.keys = &g->keys,
                            .pool = &g->pool,
                            .log = &g->log,
                            .siwe_domain = g->cfg.siwe_domain,
                            .siwe_scheme = auth_scheme_for_domain(g->cfg.siwe_domain),
                            .chain_id = g->cfg.chain_id,
                            .rpc_url = g->cfg.eth_rpc_url,
                            .eip1271_timeout_ms = GW_EIP1271_TIMEOUT_MS};
    return true;
}

/* postgres: a slot and SELECT 1 (down when it fails); rpc: the follower's
 * last cycle (degraded when it failed or halted on a deep reorg). Until
 * its first cycle has ended, the node itself is asked (eth_chainId on the
 * slot): "starting" (ok) when it answers on CHAIN_ID, else "down". A
 * gateway is not degraded just because it started a moment ago. */
static enum http_health gw_health(json_t *checks, void *ctx)
{
    struct gw *g = ctx;
    struct respool_slot *slot = NULL;
    struct pg_session *pc = NULL;
    struct rpc_client *rpc = NULL;
    bool got = respool_acquire(&slot, &g->pool, 500, NULL) == RESPOOL_OK;
    bool pg_ok = got && respool_pg(&pc, slot, &g->pool, NULL) == RESPOOL_OK &&
                 pg_exec(pc, NULL, "SELECT 1", NULL, 0, NULL) == PG_OK;
    bool halted = __atomic_load_n(&g->chain_halted, __ATOMIC_ACQUIRE) != 0;
    bool polled = __atomic_load_n(&g->chain_polled, __ATOMIC_ACQUIRE) != 0;
    bool chain_ok = __atomic_load_n(&g->chain_ok, __ATOMIC_ACQUIRE) != 0;
    uint64_t chain_id = 0;
    bool starting = !halted && !polled && !chain_ok && got &&
                    respool_rpc(&rpc, slot, &g->pool, NULL) == RESPOOL_OK &&
                    rpc_chain_id(rpc, &chain_id, NULL) == RPC_OK && chain_id == g->cfg.chain_id;
    if (slot != NULL) {
        if (!pg_ok)
            respool_pg_failed(slot, PG_ERR_CONNECTION);
        respool_release(&g->pool, slot);
    }
    json_object_set_new(checks, "postgres", json_string(pg_ok ? "ok" : "down"));
    json_object_set_new(checks, "rpc",
                        json_string(halted     ? "halted: reorg deeper than the follower window"
                                    : chain_ok ? "ok"
                                    : starting ? "starting"
                                               : "down"));
    if (!pg_ok)
        return HTTP_HEALTH_DOWN;
    return (chain_ok || starting) && !halted ? HTTP_HEALTH_OK : HTTP_HEALTH_DEGRADED;
}

static bool gw_register_metrics(struct gw *g, struct http_server *h, struct err *e)
{
    static const char access_help[] = "access decisions by outcome";
    const struct {
        struct http_metric **m;
        enum http_metric_type type;
        const char *name, *labels, *help;
    } list[] = {
        {&g->m.access_pass, HTTP_METRIC_COUNTER, "gateway_access_total", "via=\"pass\"",
         access_help},
        {&g->m.access_tip, HTTP_METRIC_COUNTER, "gateway_access_total", "via=\"tip\"", access_help},
        {&g->m.access_owner, HTTP_METRIC_COUNTER, "gateway_access_total", "via=\"owner\"",
         access_help},
        {&g->m.access_denied, HTTP_METRIC_COUNTER, "gateway_access_total", "via=\"denied\"",
         access_help},
        {&g->m.access_unavailable, HTTP_METRIC_COUNTER, "gateway_access_total",
         "via=\"unavailable\"", access_help},
        {&g->m.cache_hits, HTTP_METRIC_COUNTER, "gateway_ownership_cache_total", "result=\"hit\"",
         "access decisions answered without the chain"},
        {&g->m.cache_misses, HTTP_METRIC_COUNTER, "gateway_ownership_cache_total",
         "result=\"miss\"", "access decisions answered without the chain"},
        {&g->m.ingest_bytes, HTTP_METRIC_COUNTER, "gateway_ingest_bytes_total", "",
         "bytes of accepted ingest uploads"},
        {&g->m.ingest_segments, HTTP_METRIC_COUNTER, "gateway_ingest_segments_total", "",
         "segments accepted and recorded"},
        {&g->m.ingest_rejected, HTTP_METRIC_COUNTER, "gateway_ingest_rejected_total", "",
         "ingest uploads refused"},
        {&g->m.tips_credited, HTTP_METRIC_COUNTER, "gateway_tips_credited_total", "",
         "tip logs recorded"},
        {&g->m.chain_head, HTTP_METRIC_GAUGE, "gateway_chain_head_block", "", "chain head seen"},
        {&g->m.chain_block, HTTP_METRIC_GAUGE, "gateway_chain_followed_block", "",
         "last block the follower processed"},
        {&g->m.chain_reorgs, HTTP_METRIC_COUNTER, "gateway_chain_reorgs_total", "",
         "reorgs rolled back"},
        {&g->m.chain_errors, HTTP_METRIC_COUNTER, "gateway_chain_errors_total", "",
         "failed follower polls"},
    };
    for (size_t i = 0; i < sizeof list / sizeof list[0]; i++)
        if (http_metric_register(list[i].m, h, list[i].type, list[i].name, list[i].labels,
                                 list[i].help, e) != HTTP_OK)
            return false;
    return auth_register_metrics(&g->auth, h, e);
}

bool gw_start(struct gw_server *s, struct err *e)
{
    struct gw *g = &s->g;
    struct http_config hc;
    http_config_default(&hc);
    snprintf(hc.listen, sizeof hc.listen, "%s", g->cfg.gateway_listen);
    hc.threads = GW_HTTP_THREADS;
    hc.connections_max = GW_CONNECTIONS_MAX;
    hc.connections_per_ip_max = GW_CONNECTIONS_PER_IP_MAX;
    struct http_app app = {.routes = gw_routes,
                           .routes_len = sizeof gw_routes / sizeof gw_routes[0],
                           .ctx = g,
                           .health = gw_health,
                           .log = &g->log};
    if (http_server_new(&s->http, &hc, &app, e) != HTTP_OK || !gw_register_metrics(g, s->http, e) ||
        http_server_start(s->http, e) != HTTP_OK)
        return false;
    if (pthread_create(&s->follower, NULL, gw_chainwatch_main, s) != 0)
        return !err_set(e, 1, "cannot start the chain follower thread");
    s->follower_running = true;
    return true;
}

void gw_stop(struct gw_server *s)
{
    struct gw *g = &s->g;
    if (s->follower_running) {
        __atomic_store_n(&s->follower_stop, 1, __ATOMIC_RELEASE);
        pthread_join(s->follower, NULL);
        s->follower_running = false;
    }
    if (s->http != NULL) {
        http_server_free(s->http); /* stops first: requests in flight finish */
        s->http = NULL;
    }
    int *fds[4] = {&g->media_dir_fd, &g->web_dir_fd, &g->web_static_fd, &g->web_vendor_fd};
    for (size_t i = 0; i < 4; i++) {
        if (*fds[i] >= 0)
            close(*fds[i]);
        *fds[i] = -1;
    }
    respool_free(&g->pool);
    owncache_release(&g->owners);
    token_keys_release(&g->keys);
}
