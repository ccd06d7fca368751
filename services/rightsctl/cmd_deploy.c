/* cmd_deploy.c - `rightsctl deploy`: deploys SettlementVault(admin, operator)
 * with a transaction built and signed by our own signer (tx.h), checks that
 * code landed and the operator holds OPERATOR_ROLE, and prints the EIP-55
 * address on stdout. */
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

static bool deploy_check_role(struct rpc_client *c, const struct address *vault,
                              const struct address *operator_addr, struct err *e);
static bool deploy_load_key(struct sig_private_key *key, const char *path, struct err *e);
static bool deploy_vault(struct address *vault_out, struct txsend_outcome *outcome,
                         struct rpc_client *rpc, uint64_t chain_id, uint64_t max_fee_per_gas_wei,
                         const struct sig_private_key *key, const struct address *operator_addr,
                         const struct artifact *art, struct err *e);
static void deploy_report(const struct rightsctl *ctl, const struct address *vault,
                          const struct address *operator_addr,
                          const struct txsend_outcome *outcome);

static const char *const deploy_config_names[] = {
    "ETH_RPC_URL", "CHAIN_ID", "OPERATOR_KEY_FILE", "LOG_LEVEL", "MAX_FEE_PER_GAS_WEI", NULL};

/* hasRole(OPERATOR_ROLE, operator) through eth_call. */
static bool deploy_check_role(struct rpc_client *c, const struct address *vault,
                              const struct address *operator_addr, struct err *e)
{
    uint8_t role[32];
    keccak256(role, "OPERATOR_ROLE", strlen("OPERATOR_ROLE"));
    struct abi_value args[2] = {abi_value_bytes32(role), abi_value_address(operator_addr)};
    struct buf call;
    buf_init(&call, 4 + 64);
    bool ok = false;
    uint8_t out[32];
    size_t out_len = 0;
    if (abi_encode_call(&call, "hasRole(bytes32,address)", args, 2, e) == ABI_OK &&
        rpc_eth_call(c, out, sizeof out, &out_len, NULL, vault->bytes, call.data, call.len,
                     "latest", e) == RPC_OK)
        ok = out_len == 32 && out[31] == 1;
    buf_release(&call);
    return ok;
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

/* Sends the creation transaction bytecode || abi.encode(admin, operator),
 * both the operator, and returns the new contract's address. */
static bool deploy_vault(struct address *vault_out, struct txsend_outcome *outcome,
                         struct rpc_client *rpc, uint64_t chain_id, uint64_t max_fee_per_gas_wei,
                         const struct sig_private_key *key, const struct address *operator_addr,
                         const struct artifact *art, struct err *e)
{
    struct buf code;
    buf_init(&code, ARTIFACT_BYTECODE_BYTES_MAX + 64);
    struct abi_value ctor[2] = {abi_value_address(operator_addr), abi_value_address(operator_addr)};
    bool ok = buf_append(&code, art->bytecode, art->bytecode_len) == BUF_OK &&
              abi_encode(&code, ctor, 2, e) == ABI_OK;
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
                          const struct address *operator_addr, const struct txsend_outcome *outcome)
{
    char vault_text[ADDRESS_TEXT_SIZE], op_text[ADDRESS_TEXT_SIZE];
    address_format_checksum(vault_text, vault);
    address_format_checksum(op_text, operator_addr);
    log_write(&ctl->log, LOG_INFO, "vault deployed",
              LOG_KVS(log_str("address", vault_text), log_str("operator", op_text),
                      log_u64("block", outcome->receipt.block_number),
                      log_u64("gas_used", outcome->receipt.gas_used)));
    printf("%s\n", vault_text);
}

int cmd_deploy(struct rightsctl *ctl, int argc, char **argv)
{
    const char *artifact_path = "contracts-abi/SettlementVault.json";
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--artifact") == 0 && i + 1 < argc) {
            artifact_path = argv[++i];
        } else {
            log_printf(&ctl->log, LOG_ERROR, "deploy: unknown argument '%s'", argv[i]);
            return RIGHTSCTL_EXIT_USAGE;
        }
    }
    if (!rightsctl_load_config(ctl, deploy_config_names))
        return RIGHTSCTL_EXIT_USAGE;
    log_set_level(&ctl->log, ctl->cfg.log_level);

    struct err e = {0};
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
        artifact_load(&art, artifact_path, &e) != ARTIFACT_OK ||
        rpc_client_init(&rpc, ctl->cfg.eth_rpc_url, NULL, &e) != RPC_OK ||
        rpc_chain_id(&rpc, &chain_id, &e) != RPC_OK)
        goto out;
    if (chain_id != ctl->cfg.chain_id) {
        err_set(&e, 1, "chain id mismatch: node says %llu, CHAIN_ID is %llu",
                (unsigned long long)chain_id, (unsigned long long)ctl->cfg.chain_id);
        goto out;
    }
    if (!deploy_vault(&vault, &outcome, &rpc, chain_id, ctl->cfg.max_fee_per_gas_wei, &key, &operator_addr, &art, &e))
        goto out;
    if (!deploy_check_role(&rpc, &vault, &operator_addr, &e)) {
        if (e.msg[0] == '\0')
            err_set(&e, 1, "deployed vault does not grant OPERATOR_ROLE to the operator");
        goto out;
    }
    deploy_report(ctl, &vault, &operator_addr, &outcome);
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
