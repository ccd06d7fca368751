/* svc.c - see svc.h. */
#include "svc.h"

#include <pthread.h>
#include <signal.h>
#include <string.h>

#include "rpc.h"

bool svc_check_chain(const struct app_config *cfg, const struct logger *log)
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

int svc_main(const struct svc_program *p, int argc, char **argv)
{
    struct logger boot;
    log_init(&boot, stderr, p->name, LOG_INFO);
    if (argc > 1) {
        bool help = argc == 2 && strcmp(argv[1], "--help") == 0;
        fputs(p->usage, help ? stdout : stderr);
        return help ? 0 : 2;
    }
    struct app_config cfg;
    struct config_errors errs;
    struct err e = {0};
    if (config_load_app_names(&cfg, p->config_names, config_lookup_env, NULL, &errs) != CONFIG_OK) {
        config_errors_log(&errs, &boot);
        return 2;
    }
    log_set_level(&boot, cfg.log_level);
    if (rpc_global_init(&e) != RPC_OK) {
        log_write(&boot, LOG_ERROR, "curl init failed", LOG_KVS(log_str("error", e.msg)));
        return 1;
    }
    if (!svc_check_chain(&cfg, &boot))
        return 2;
    /* Blocked in every thread the server starts; main waits for them below. */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    signal(SIGPIPE, SIG_IGN);
    if (!p->open(p->server, &cfg, stderr, &e)) {
        log_write(&boot, LOG_ERROR, "cannot start", LOG_KVS(log_str("error", e.msg)));
        return 2;
    }
    if (!p->start(p->server, &e)) {
        log_write(&boot, LOG_ERROR, "cannot serve", LOG_KVS(log_str("error", e.msg)));
        p->stop(p->server);
        return 1;
    }
    int sig = 0;
    sigwait(&stop, &sig);
    log_write(&boot, LOG_INFO, "stopping", LOG_KVS(log_i64("signal", sig)));
    p->stop(p->server);
    return 0;
}
