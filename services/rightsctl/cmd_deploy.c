/* cmd_deploy.c - `rightsctl deploy --admin ADDR --guardian ADDR
 * [--claim-delay S] [--claim-window S] [--artifact FILE]`: deploys
 * SettlementVault(admin, operator, guardian, claimDelay, claimWindow), the
 * operator being OPERATOR_KEY_FILE's address, with a transaction built and
 * signed by our own signer (txsend). Before sending it refuses an operator
 * that is also the admin or the guardian (the contract would revert with
 * RoleConflict); after mining it reads the roles and windows back from the
 * chain and fails unless they are exactly what was asked. Prints the EIP-55
 * address on stdout. */
#include <stdio.h>
#include <string.h>

#include "abi.h"
#include "artifact.h"
#include "buf.h"
#include "crypto.h"
#include "keccak.h"
#include "rightsctl.h"
#include "rpc.h"
#include "sig.h"
#include "txsend.h"
#include "u256.h"

/* The contract's CLAIM_DELAY_MAX and CLAIM_WINDOW_MAX (SettlementVault.sol):
 * checked here too, so a bad flag costs no transaction. */
#define DEPLOY_CLAIM_DELAY_S_MAX (30ull * 24 * 3600)
#define DEPLOY_CLAIM_WINDOW_S_MAX (10ull * 365 * 24 * 3600)

struct deploy_args {
    const char *artifact_path;
    struct address admin, guardian;
    bool has_admin, has_guardian;
    uint64_t claim_delay_s, claim_window_s;
};

static bool deploy_parse_args(struct deploy_args *a, int argc, char **argv, struct err *e);
static bool deploy_parse_seconds(uint64_t *out, const char *flag, const char *text, uint64_t max,
                                 struct err *e);
static bool deploy_verify(struct rpc_client *c, const struct address *vault,
                          const struct address *operator_addr, const struct deploy_args *a,
                          struct err *e);
static bool deploy_load_key(struct sig_private_key *key, const char *path, struct err *e);
static bool deploy_vault(struct address *vault_out, struct txsend_outcome *outcome,
                         struct rpc_client *rpc, uint64_t chain_id, uint64_t max_fee_per_gas_wei,
                         const struct sig_private_key *key, const struct address *operator_addr,
                         const struct deploy_args *a, const struct artifact *art, struct err *e);
static void deploy_report(const struct rightsctl *ctl, const struct address *vault,
                          const struct address *operator_addr, const struct deploy_args *a,
                          const struct txsend_outcome *outcome);

static const char *const deploy_config_names[] = {
    "ETH_RPC_URL", "CHAIN_ID", "OPERATOR_KEY_FILE", "LOG_LEVEL", "MAX_FEE_PER_GAS_WEI", NULL};

/* A decimal number of seconds in [0, max]. */
static bool deploy_parse_seconds(uint64_t *out, const char *flag, const char *text, uint64_t max,
                                 struct err *e)
{
    struct u256 v;
    size_t len = strnlen(text, U256_DEC_SIZE);
    if (len == 0 || len >= U256_DEC_SIZE || u256_from_dec(&v, text, len, NULL) != U256_OK ||
        !u256_to_u64(out, &v) || *out > max)
        return !err_set(e, 1, "%s: '%.24s' is not a number of seconds from 0 to %llu", flag, text,
                        (unsigned long long)max);
    return true;
}

static bool deploy_parse_args(struct deploy_args *a, int argc, char **argv, struct err *e)
{
    static const char *const flags[] = {"--artifact", "--admin", "--guardian", "--claim-delay",
                                        "--claim-window"};
    memset(a, 0, sizeof *a);
    a->artifact_path = "contracts-abi/SettlementVault.json";
    for (int i = 0; i < argc; i += 2) {
        size_t f = 0;
        while (f < sizeof flags / sizeof flags[0] && strcmp(argv[i], flags[f]) != 0)
            f++;
        if (f == sizeof flags / sizeof flags[0])
            return !err_set(e, 1, "unknown argument '%.64s'", argv[i]);
        if (i + 1 >= argc)
            return !err_set(e, 1, "%s needs a value", flags[f]);
        const char *val = argv[i + 1];
        struct address *addr = f == 1 ? &a->admin : &a->guardian;
        bool ok = true;
        if (f == 0)
            a->artifact_path = val;
        else if (f <= 2) {
            if (address_parse(addr, val, strlen(val), e) != ADDRESS_OK)
                return !err_set(e, 1, "%s: '%.64s' is not an address", flags[f], val);
            *(f == 1 ? &a->has_admin : &a->has_guardian) = true;
        } else if (f == 3)
            ok = deploy_parse_seconds(&a->claim_delay_s, flags[f], val, DEPLOY_CLAIM_DELAY_S_MAX, e);
        else
            ok = deploy_parse_seconds(&a->claim_window_s, flags[f], val, DEPLOY_CLAIM_WINDOW_S_MAX,
                                      e);
        if (!ok)
            return false;
    }
    if (!a->has_admin || !a->has_guardian)
        return !err_set(e, 1, "--admin ADDR and --guardian ADDR are required");
    return true;
}

/* The deployed vault's roles and windows are exactly what was asked. */
static bool deploy_verify(struct rpc_client *c, const struct address *vault,
                          const struct address *operator_addr, const struct deploy_args *a,
                          struct err *e)
{
    uint8_t op_role[32], guard_role[32], word[32], want[4][32] = {{0}};
    keccak256(op_role, "OPERATOR_ROLE", strlen("OPERATOR_ROLE"));
    keccak256(guard_role, "GUARDIAN_ROLE", strlen("GUARDIAN_ROLE"));
    struct abi_value has_op[2] = {abi_value_bytes32(op_role), abi_value_address(operator_addr)};
    struct abi_value has_guard[2] = {abi_value_bytes32(guard_role),
                                     abi_value_address(&a->guardian)};
    struct u256 delay = u256_from_u64(a->claim_delay_s), window = u256_from_u64(a->claim_window_s);
    want[0][31] = 1;
    memcpy(want[1] + 12, a->admin.bytes, ADDRESS_BYTES);
    u256_to_be32(want[2], &delay);
    u256_to_be32(want[3], &window);
    const struct {
        const char *sig;
        const struct abi_value *args;
        size_t args_count;
        const uint8_t *want;
    } checks[] = {{"hasRole(bytes32,address)", has_op, 2, want[0]},
                  {"hasRole(bytes32,address)", has_guard, 2, want[0]},
                  {"defaultAdmin()", NULL, 0, want[1]},
                  {"claimDelay()", NULL, 0, want[2]},
                  {"claimWindow()", NULL, 0, want[3]}};
    for (size_t i = 0; i < sizeof checks / sizeof checks[0]; i++) {
        if (rpc_view_word(c, word, vault->bytes, checks[i].sig, checks[i].args,
                          checks[i].args_count, "latest", e) != RPC_OK)
            return false;
        if (memcmp(word, checks[i].want, 32) != 0)
            return !err_set(e, 1, "deployed vault: check %zu (%s) does not hold", i,
                            checks[i].sig);
    }
    return true;
}

/* Reads OPERATOR_KEY_FILE into *key; the raw bytes are wiped either way. */
static bool deploy_load_key(struct sig_private_key *key, const char *path, struct err *e)
{
    uint8_t raw[32];
    size_t raw_len = 0;
    bool ok = config_read_key_file(raw, &raw_len, 32, 32, path, e) == CONFIG_OK &&
              sig_private_key_from_bytes(key, raw, e) == SIG_OK;
    crypto_wipe(raw, sizeof raw);
    return ok;
}

/* Sends the creation transaction bytecode || abi.encode(admin, operator,
 * guardian, claimDelay, claimWindow) and returns the new contract's address. */
static bool deploy_vault(struct address *vault_out, struct txsend_outcome *outcome,
                         struct rpc_client *rpc, uint64_t chain_id, uint64_t max_fee_per_gas_wei,
                         const struct sig_private_key *key, const struct address *operator_addr,
                         const struct deploy_args *a, const struct artifact *art, struct err *e)
{
    struct buf code;
    buf_init(&code, ARTIFACT_BYTECODE_BYTES_MAX + 5 * 32);
    struct abi_value ctor[5] = {abi_value_address(&a->admin), abi_value_address(operator_addr),
                                abi_value_address(&a->guardian), abi_value_u64(a->claim_delay_s),
                                abi_value_u64(a->claim_window_s)};
    bool ok = buf_append(&code, art->bytecode, art->bytecode_len) == BUF_OK &&
              abi_encode(&code, ctor, 5, e) == ABI_OK;
    if (ok) {
        struct txsend_request req = {.has_to = false,
                                     .data = code.data,
                                     .data_len = code.len,
                                     .max_fee_per_gas_cap_wei = max_fee_per_gas_wei};
        ok = txsend_send(outcome, rpc, chain_id, key, &req, e) == TXSEND_OK &&
             outcome->receipt.has_contract_address;
    }
    if (ok)
        memcpy(vault_out->bytes, outcome->receipt.contract_address, 20);
    buf_release(&code);
    return ok;
}

static void deploy_report(const struct rightsctl *ctl, const struct address *vault,
                          const struct address *operator_addr, const struct deploy_args *a,
                          const struct txsend_outcome *outcome)
{
    char vault_text[ADDRESS_TEXT_SIZE], op_text[ADDRESS_TEXT_SIZE];
    char admin_text[ADDRESS_TEXT_SIZE], guard_text[ADDRESS_TEXT_SIZE];
    address_format_checksum(vault_text, vault);
    address_format_checksum(op_text, operator_addr);
    address_format_checksum(admin_text, &a->admin);
    address_format_checksum(guard_text, &a->guardian);
    log_write(&ctl->log, LOG_INFO, "vault deployed",
              LOG_KVS(log_str("address", vault_text), log_str("operator", op_text),
                      log_str("admin", admin_text), log_str("guardian", guard_text),
                      log_u64("claim_delay_s", a->claim_delay_s),
                      log_u64("claim_window_s", a->claim_window_s),
                      log_u64("block", outcome->receipt.block_number),
                      log_u64("gas_used", outcome->receipt.gas_used)));
    printf("%s\n", vault_text);
}

int cmd_deploy(struct rightsctl *ctl, int argc, char **argv)
{
    struct deploy_args args;
    struct err e = {0};
    if (!deploy_parse_args(&args, argc, argv, &e)) {
        log_printf(&ctl->log, LOG_ERROR, "deploy: %s", e.msg);
        return RIGHTSCTL_EXIT_USAGE;
    }
    if (!rightsctl_load_config(ctl, deploy_config_names))
        return RIGHTSCTL_EXIT_USAGE;
    log_set_level(&ctl->log, ctl->cfg.log_level);

    struct sig_private_key key;
    if (!deploy_load_key(&key, ctl->cfg.operator_key_file, &e)) {
        log_write(&ctl->log, LOG_ERROR, "cannot load operator key",
                  LOG_KVS(log_str("error", e.msg)));
        return RIGHTSCTL_EXIT_USAGE;
    }
    int rc = RIGHTSCTL_EXIT_FAIL;
    struct artifact art = {0};
    struct rpc_client rpc = {0};
    struct txsend_outcome outcome = {0};
    struct address operator_addr, vault;
    uint64_t chain_id = 0;
    if (sig_private_key_address(&operator_addr, &key, &e) != SIG_OK ||
        artifact_load(&art, args.artifact_path, &e) != ARTIFACT_OK ||
        rpc_client_init(&rpc, ctl->cfg.eth_rpc_url, NULL, &e) != RPC_OK ||
        rpc_chain_id(&rpc, &chain_id, &e) != RPC_OK)
        goto out;
    if (address_eq(&operator_addr, &args.admin) || address_eq(&operator_addr, &args.guardian)) {
        err_set(&e, 1, "the operator key must be neither the admin nor the guardian");
        rc = RIGHTSCTL_EXIT_USAGE;
        goto out;
    }
    if (chain_id != ctl->cfg.chain_id) {
        err_set(&e, 1, "chain id mismatch: node says %llu, CHAIN_ID is %llu",
                (unsigned long long)chain_id, (unsigned long long)ctl->cfg.chain_id);
        goto out;
    }
    if (!deploy_vault(&vault, &outcome, &rpc, chain_id, ctl->cfg.max_fee_per_gas_wei, &key,
                      &operator_addr, &args, &art, &e) ||
        !deploy_verify(&rpc, &vault, &operator_addr, &args, &e))
        goto out;
    deploy_report(ctl, &vault, &operator_addr, &args, &outcome);
    rc = RIGHTSCTL_EXIT_OK;
out:
    if (rc != RIGHTSCTL_EXIT_OK)
        log_write(&ctl->log, LOG_ERROR, "deploy failed", LOG_KVS(log_str("error", e.msg)));
    txsend_outcome_release(&outcome);
    rpc_client_release(&rpc);
    artifact_release(&art);
    sig_private_key_wipe(&key);
    return rc;
}
