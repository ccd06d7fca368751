/* main.c - the streaming gateway program (server.h) run by svc_main():
 * settings from the environment (docs/architecture.md "Configuration"), no
 * start on a bad setting or another chain, serve until SIGINT or SIGTERM,
 * then drain and exit. Exit codes as svc.h says. */
#include "server.h"
#include "svc.h"

static const char *const gw_config_names[] = {
    "DATABASE_URL",   "ETH_RPC_URL", "CHAIN_ID", "VAULT_ADDRESS", "AUTH_SECRET_FILE", "SIWE_DOMAIN",
    "GATEWAY_LISTEN", "MEDIA_DIR",   "WEB_DIR",  "CONFIRMATIONS", "LOG_LEVEL",        NULL};

static struct gw_server server;

static bool gw_main_open(void *s, const struct app_config *cfg, FILE *log_out, struct err *e)
{
    return gw_open(s, cfg, log_out, e);
}

static bool gw_main_start(void *s, struct err *e)
{
    return gw_start(s, e);
}

static void gw_main_stop(void *s)
{
    gw_stop(s);
}

int main(int argc, char **argv)
{
    static const struct svc_program program = {
        .name = "gateway",
        .usage = "usage: gateway   (settings from the environment: DATABASE_URL, ETH_RPC_URL,\n"
                 "  CHAIN_ID, VAULT_ADDRESS, AUTH_SECRET_FILE, SIWE_DOMAIN, GATEWAY_LISTEN,\n"
                 "  MEDIA_DIR, WEB_DIR, CONFIRMATIONS, LOG_LEVEL; see docs/architecture.md)\n",
        .config_names = gw_config_names,
        .server = &server,
        .open = gw_main_open,
        .start = gw_main_start,
        .stop = gw_main_stop};
    return svc_main(&program, argc, argv);
}
