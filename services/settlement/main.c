/* main.c - the settlement service program (service.h) run by svc_main():
 * settings from the environment (docs/architecture.md "Configuration"), no
 * start on a bad setting or another chain (an unreachable node only degrades
 * it), serve the creator REST API and run the background worker (jobs.h:
 * the chain indexer, from VAULT_ADDRESS with CONFIRMATIONS, leading or on
 * standby) until SIGINT or SIGTERM, then stop the worker, drain and exit.
 * Exit codes as svc.h says. */
#include "service.h"
#include "svc.h"

static const char *const st_config_names[] = {
    "DATABASE_URL",      "ETH_RPC_URL",         "CHAIN_ID",    "VAULT_ADDRESS",
    "OPERATOR_KEY_FILE", "AUTH_SECRET_FILE",    "SIWE_DOMAIN", "SETTLEMENT_LISTEN",
    "CONFIRMATIONS",     "MAX_FEE_PER_GAS_WEI", "LOG_LEVEL",   NULL};

static struct st_server server;

static bool st_main_open(void *s, const struct app_config *cfg, FILE *log_out, struct err *e)
{
    return st_open(s, cfg, log_out, e);
}

static bool st_main_start(void *s, struct err *e)
{
    return st_start(s, e);
}

static void st_main_stop(void *s)
{
    st_stop(s);
}

int main(int argc, char **argv)
{
    static const struct svc_program program = {
        .name = "settlement",
        .usage = "usage: settlement   (settings from the environment: DATABASE_URL, ETH_RPC_URL,\n"
                 "  CHAIN_ID, VAULT_ADDRESS, OPERATOR_KEY_FILE, AUTH_SECRET_FILE, SIWE_DOMAIN,\n"
                 "  SETTLEMENT_LISTEN, CONFIRMATIONS, MAX_FEE_PER_GAS_WEI, LOG_LEVEL;\n"
                 "  see docs/architecture.md)\n",
        .config_names = st_config_names,
        .server = &server,
        .open = st_main_open,
        .start = st_main_start,
        .stop = st_main_stop};
    return svc_main(&program, argc, argv);
}
