/* main.c - rightsctl entry point: subcommand dispatch and config loading. */
#include <stdio.h>
#include <string.h>

#include "rightsctl.h"
#include "rpc.h"

struct rightsctl_command {
    const char *name;
    int (*run)(struct rightsctl *ctl, int argc, char **argv);
    const char *usage;
};

static const struct rightsctl_command commands[] = {
    {"migrate", cmd_migrate,
     "migrate [--dir DIR]          apply pending migrations (DATABASE_URL)"},
    {"deploy", cmd_deploy,
     "deploy --admin ADDR --guardian ADDR [--claim-delay S] [--claim-window S] [--artifact FILE]\n"
     "                             deploy the SettlementVault with our signer (operator =\n"
     "                             OPERATOR_KEY_FILE's address, never the admin or guardian);\n"
     "                             claim delay = audit window, 0..2592000 s (default 0);\n"
     "                             claim window 0 (never expires, default)..315360000 s;\n"
     "                             prints its address (ETH_RPC_URL, CHAIN_ID, OPERATOR_KEY_FILE,\n"
     "                             MAX_FEE_PER_GAS_WEI)"},
    {"keygen", cmd_keygen,
     "keygen --out FILE            new secp256k1 key (mode 0600); prints its address"},
    {"publish", cmd_publish,
     "publish --api URL --stream ID --key KEY [--input FILE|URL|testsrc]\n"
     "        [--ladder 720p,480p,360p] [--duration S] [--hls-time S] [--ffmpeg PATH] [--dry-run]\n"
     "                             run ffmpeg to push an HLS ladder over HTTP PUT to the\n"
     "                             gateway's ingest (URL/ingest/ID/...); rungs 1080p 720p 480p\n"
     "                             360p 240p (at most 5); input a file, an http(s)/rtmp(s)/srt\n"
     "                             URL or testsrc (generated; runs until stopped or for\n"
     "                             --duration S); --hls-time 1..10 s (default 2); --dry-run\n"
     "                             prints the ffmpeg command with the key redacted. KEY is on\n"
     "                             ffmpeg's command line, readable by local users (ps, /proc).\n"
     "                             Exit 0 when ffmpeg succeeds, 130/143 when stopped by\n"
     "                             SIGINT/SIGTERM, 1 when it fails"},
    {"verify-recording", cmd_verify_recording,
     "verify-recording --stream ID (--api URL | --evidence FILE) [--media DIR|URL] [--rpc URL]\n"
     "        [--vault ADDR]\n"
     "                             check a recording's evidence package without trusting the\n"
     "                             service: the leaves give its root, its tree is the\n"
     "                             OpenZeppelin StandardMerkleTree dump of them, every segment\n"
     "                             file (DIR/ID/<rendition>/<name>, or URL/<rendition>/<name>)\n"
     "                             re-hashes to its leaf, and the vault's recordingRoot and the\n"
     "                             anchor transaction on chain (--rpc, else ETH_RPC_URL) hold\n"
     "                             that root; --vault ADDR: the package must name this vault.\n"
     "                             Prints a report naming every mismatching segment; exit 0\n"
     "                             when all holds, 1 on any discrepancy"},
    {"audit", cmd_audit,
     "audit --api URL [--rpc URL] [--creator ID]... [--vault ADDR] [--from-block N]\n"
     "      [--cancel --guardian-key FILE]\n"
     "                             audit the settlement API's batches against the chain\n"
     "                             (--rpc, else ETH_RPC_URL) without trusting the service:\n"
     "                             each root recomputed from the API's leaves and compared\n"
     "                             with SettlementAnchored and the vault's views, leaves sum\n"
     "                             to the total, claims match the leaves, settled <=\n"
     "                             receivedOf per creator, and every on-chain settlement of\n"
     "                             an audited creator is one the API knows. Creators: each\n"
     "                             --creator ID, else every one GET /v1/creators lists;\n"
     "                             vault: --vault, else the API's; logs from --from-block\n"
     "                             (default 0). --cancel: the guardian key vetoes every bad\n"
     "                             batch still inside its audit window (cancelSettlement;\n"
     "                             CHAIN_ID, MAX_FEE_PER_GAS_WEI). One line per discrepancy;\n"
     "                             exit 0 when clean, 1 on any discrepancy"},
};

static void usage(FILE *out)
{
    fprintf(out, "usage: rightsctl COMMAND [OPTIONS]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %s\n", commands[i].usage);
}

bool rightsctl_load_config(struct rightsctl *ctl, const char *const *names)
{
    struct config_errors errs;
    if (config_load_app_names(&ctl->cfg, names, config_lookup_env, NULL, &errs) != CONFIG_OK) {
        config_errors_log(&errs, &ctl->log);
        return false;
    }
    return true;
}

int main(int argc, char **argv)
{
    struct rightsctl ctl;
    memset(&ctl, 0, sizeof ctl);
    log_init(&ctl.log, stderr, "rightsctl", LOG_INFO);
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? RIGHTSCTL_EXIT_USAGE : RIGHTSCTL_EXIT_OK;
    }
    struct err e = {0};
    if (rpc_global_init(&e) != RPC_OK) {
        log_printf(&ctl.log, LOG_ERROR, "%s", e.msg);
        return RIGHTSCTL_EXIT_FAIL;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        if (strcmp(argv[1], commands[i].name) != 0)
            continue;
        for (int a = 2; a < argc; a++)
            if (strcmp(argv[a], "--help") == 0 || strcmp(argv[a], "-h") == 0) {
                printf("usage: rightsctl %s\n", commands[i].usage);
                return RIGHTSCTL_EXIT_OK;
            }
        return commands[i].run(&ctl, argc - 2, argv + 2);
    }
    fprintf(stderr, "rightsctl: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return RIGHTSCTL_EXIT_USAGE;
}
