/* main.c - the streaming gateway program: reads its settings from the
 * environment (config.h; docs/architecture.md "Configuration"), refuses to
 * start on a bad setting or when the node's chain id is not CHAIN_ID, serves
 * until SIGINT or SIGTERM, then drains and exits.
 *
 * Exit codes: 0 after a signal, 1 when serving failed, 2 on a configuration
 * error. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "server.h"

static const char *const gw_config_names[] = {
    "DATABASE_URL",   "ETH_RPC_URL", "CHAIN_ID", "VAULT_ADDRESS", "AUTH_SECRET_FILE", "SIWE_DOMAIN",
    "GATEWAY_LISTEN", "MEDIA_DIR",   "WEB_DIR",  "CONFIRMATIONS", "LOG_LEVEL",        NULL};

static struct gw_server server;

/* The node must be on CHAIN_ID; an unreachable node is only a warning (the
 * gateway serves cached answers and the follower retries). */
static bool gw_check_chain(const struct app_config *cfg, const struct logger *log)
{
    struct rpc_client rpc;
    struct err e = {0};
    uint64_t chain_id = 0;
    if (rpc_client_init(&rpc, cfg->eth_rpc_url, NULL, &e) != RPC_OK) {
        log_write(log, LOG_ERROR, "bad ETH_RPC_URL", LOG_KVS(log_str("error", e.msg)));
        return false;
    }
    enum rpc_result r = rpc_chain_id(&rpc, &chain_id, &e);
    rpc_client_release(&rpc);
    if (r != RPC_OK) {
        log_write(log, LOG_WARN, "chain unreachable at startup: serving degraded",
                  LOG_KVS(log_str("error", e.msg)));
        return true;
    }
    if (chain_id != cfg->chain_id) {
        log_write(log, LOG_ERROR, "chain id mismatch: refusing to start",
                  LOG_KVS(log_u64("node", chain_id), log_u64("CHAIN_ID", cfg->chain_id)));
        return false;
    }
    return true;
}

int main(int argc, char **argv)
{
    struct logger boot;
    log_init(&boot, stderr, "gateway", LOG_INFO);
    if (argc > 1) {
        fprintf(argc == 2 && strcmp(argv[1], "--help") == 0 ? stdout : stderr,
                "usage: gateway   (settings from the environment: DATABASE_URL, ETH_RPC_URL,\n"
                "  CHAIN_ID, VAULT_ADDRESS, AUTH_SECRET_FILE, SIWE_DOMAIN, GATEWAY_LISTEN,\n"
                "  MEDIA_DIR, WEB_DIR, CONFIRMATIONS, LOG_LEVEL; see docs/architecture.md)\n");
        return argc == 2 && strcmp(argv[1], "--help") == 0 ? 0 : 2;
    }
    struct app_config cfg;
    struct config_errors errs;
    struct err e = {0};
    if (config_load_app_names(&cfg, gw_config_names, config_lookup_env, NULL, &errs) != CONFIG_OK) {
        config_errors_log(&errs, &boot);
        return 2;
    }
    log_set_level(&boot, cfg.log_level);
    if (rpc_global_init(&e) != RPC_OK) {
        log_write(&boot, LOG_ERROR, "curl init failed", LOG_KVS(log_str("error", e.msg)));
        return 1;
    }
    if (!gw_check_chain(&cfg, &boot))
        return 2;
    /* Block the stop signals in every thread; main waits for them below. */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    signal(SIGPIPE, SIG_IGN);
    if (!gw_open(&server, &cfg, stderr, &e)) {
        log_write(&boot, LOG_ERROR, "cannot start", LOG_KVS(log_str("error", e.msg)));
        return 2;
    }
    if (!gw_start(&server, &e)) {
        log_write(&boot, LOG_ERROR, "cannot serve", LOG_KVS(log_str("error", e.msg)));
        gw_stop(&server);
        return 1;
    }
    int sig = 0;
    sigwait(&stop, &sig);
    log_write(&server.g.log, LOG_INFO, "stopping", LOG_KVS(log_i64("signal", sig)));
    gw_stop(&server);
    return 0;
}
