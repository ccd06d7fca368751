/*
 * chain_fixture.h - shared helpers for integration tests against a real
 * anvil node: read ETH_RPC_URL, connect the RPC client, load anvil's default
 * dev keys, deploy an artifact with constructor arguments, send a signed call
 * (always through txsend, i.e. our own EIP-1559 signer), eth_call a view and
 * find the logs of an event in a receipt; write a dev key as the 0600 hex
 * file OPERATOR_KEY_FILE wants. Used only by tests/integration/test_*.c.
 *
 * Environment: ETH_RPC_URL (required, read through config.h, the project's
 * only getenv). The node must be anvil's default chain 31337 with the default
 * mnemonic accounts; chain_open() checks both and fails loudly otherwise.
 *
 * Ownership: `struct chain` is caller-allocated; chain_open() fills it (rpc
 * client + dev keys), chain_close() releases the client and wipes the keys.
 * A `struct txsend_outcome` filled by chain_send*() is released by the caller
 * with txsend_outcome_release() whatever the result (it is always zeroed
 * first, so that is safe). Decoded view results must be static ABI types:
 * they are decoded from a stack buffer that does not outlive the call.
 *
 * Limits: CHAIN_DEV_KEYS keys, calldata TX_DATA_BYTES_MAX, view results
 * CHAIN_VIEW_BYTES_MAX, CHAIN_LOG_TOPICS_MAX topics and
 * CHAIN_LOG_DATA_BYTES_MAX data bytes per log, CHAIN_RECEIPT_LOGS_MAX logs
 * per receipt.
 */
#ifndef TESTS_CHAIN_FIXTURE_H
#define TESTS_CHAIN_FIXTURE_H

#include <fcntl.h>
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "abi.h"
#include "address.h"
#include "artifact.h"
#include "buf.h"
#include "config.h"
#include "err.h"
#include "harness.h"
#include "hex.h"
#include "keccak.h"
#include "rpc.h"
#include "sig.h"
#include "tx.h"
#include "txsend.h"
#include "u256.h"

#define CHAIN_ID_ANVIL 31337u
#define CHAIN_DEV_KEYS 10
#define CHAIN_VIEW_BYTES_MAX 1024
#define CHAIN_LOG_TOPICS_MAX 4
#define CHAIN_LOG_DATA_BYTES_MAX 1024
#define CHAIN_RECEIPT_LOGS_MAX 64
#define CHAIN_REVERT_BYTES_MAX (RPC_ERROR_DATA_HEX_MAX / 2)

struct chain {
    struct rpc_client rpc;
    uint64_t chain_id;
    struct sig_private_key key[CHAIN_DEV_KEYS]; /* anvil accounts 0..9 */
    struct address addr[CHAIN_DEV_KEYS];
};

struct chain_log {
    struct address emitter;
    uint8_t topic[CHAIN_LOG_TOPICS_MAX][32];
    size_t topic_count;
    uint8_t data[CHAIN_LOG_DATA_BYTES_MAX];
    size_t data_len;
};

/* Reads ETH_RPC_URL (an http or https URL of at most CONFIG_URL_BYTES_MAX
 * bytes) into url. Returns true, or false with `e` saying what is wrong. */
static inline bool chain_load_rpc_url(char url[CONFIG_URL_BYTES_MAX + 1], struct err *e)
{
    static const char *const schemes[] = {"http", "https"};
    struct config_entry t[1] = {{.name = "ETH_RPC_URL",
                                 .type = CONFIG_URL,
                                 .required = true,
                                 .min.u = 1,
                                 .max.u = CONFIG_URL_BYTES_MAX,
                                 .schemes = schemes,
                                 .schemes_len = 2,
                                 .dest = url,
                                 .dest_size = CONFIG_URL_BYTES_MAX + 1}};
    struct config_errors errs;
    if (config_load(t, 1, config_lookup_env, NULL, &errs) != CONFIG_OK) {
        err_set(e, 1, "%s (integration tests need anvil at ETH_RPC_URL)", errs.items[0].e.msg);
        return false;
    }
    return true;
}

/* Reads ETH_RPC_URL, connects, checks chain id 31337 and loads anvil dev
 * accounts 0..9 (checking each key against its well-known address).
 * Returns true or false with `e` saying what failed; on failure `ch` is
 * released. */
static inline bool chain_open(struct chain *ch, struct err *e)
{
    static const char *const key_hex[CHAIN_DEV_KEYS] = {
        "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
        "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
        "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
        "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
        "0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a",
        "0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba",
        "0x92db14e403b83dfe3df233f83dfa3a0d7096f21ca9b0d6d6b8d88b2b4ec1564e",
        "0x4bbbf85ce3377467afe5d46f804f221813b2bb87f24d81f60f1fcdbf7cbf4356",
        "0xdbda1821b80551c9d65939329250298aa3472ba22feea921c0cf5d620ea67b97",
        "0x2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6"};
    static const char *const addr_hex[CHAIN_DEV_KEYS] = {
        "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266", "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
        "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC", "0x90F79bf6EB2c4f870365E785982E1f101E93b906",
        "0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65", "0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc",
        "0x976EA74026E726554dB657fA54763abd0C3a0aa9", "0x14dC79964da2C08b23698B3D3cc7Ca32193d9955",
        "0x23618e81E3f5cdF7f54C3d65f7FBc0aBf5B21E8f", "0xa0Ee7A142d267C1f36714E4a8F75612F20a79720"};
    char url[CONFIG_URL_BYTES_MAX + 1];
    memset(ch, 0, sizeof *ch);
    if (!chain_load_rpc_url(url, e))
        return false;
    if (rpc_global_init(e) != RPC_OK || rpc_client_init(&ch->rpc, url, NULL, e) != RPC_OK)
        return false;
    bool ok = rpc_chain_id(&ch->rpc, &ch->chain_id, e) == RPC_OK;
    if (ok && ch->chain_id != CHAIN_ID_ANVIL)
        ok = !err_set(e, 1, "chain id %llu is not anvil's %u", (unsigned long long)ch->chain_id,
                      CHAIN_ID_ANVIL);
    for (size_t i = 0; ok && i < CHAIN_DEV_KEYS; i++) {
        struct address want;
        ok = sig_private_key_from_hex(&ch->key[i], key_hex[i], strlen(key_hex[i]), e) == SIG_OK &&
             sig_private_key_address(&ch->addr[i], &ch->key[i], e) == SIG_OK &&
             address_parse(&want, addr_hex[i], strlen(addr_hex[i]), e) == ADDRESS_OK;
        if (ok && !address_eq(&want, &ch->addr[i]))
            ok = !err_set(e, 1, "dev key %zu does not give address '%s'", i, addr_hex[i]);
    }
    if (!ok) {
        for (size_t i = 0; i < CHAIN_DEV_KEYS; i++)
            sig_private_key_wipe(&ch->key[i]);
        rpc_client_release(&ch->rpc);
    }
    return ok;
}

static inline void chain_close(struct chain *ch)
{
    for (size_t i = 0; i < CHAIN_DEV_KEYS; i++)
        sig_private_key_wipe(&ch->key[i]);
    rpc_client_release(&ch->rpc);
}

/* Sends `data` with `value_wei` from dev account `from` to `to` (NULL: contract
 * creation), signed by our code. gas_limit 0 estimates (a revert then is
 * TXSEND_ERR_ESTIMATE_REVERT with out->revert_data_hex); a fixed gas_limit
 * skips estimation, so a revert is mined (TXSEND_ERR_REVERTED). */
static inline enum txsend_result chain_send(struct txsend_outcome *out, struct chain *ch,
                                            size_t from, const struct address *to,
                                            const struct u256 *value_wei, const uint8_t *data,
                                            size_t data_len, uint64_t gas_limit, struct err *e)
{
    ASSERT(from < CHAIN_DEV_KEYS);
    memset(out, 0, sizeof *out);
    struct txsend_request req = {.has_to = to != NULL,
                                 .value_wei = value_wei ? *value_wei : u256_zero(),
                                 .data = data,
                                 .data_len = data_len,
                                 .gas_limit = gas_limit,
                                 .max_fee_per_gas_cap_wei = CONFIG_MAX_FEE_PER_GAS_WEI_DEFAULT};
    if (to != NULL)
        req.to = *to;
    return txsend_send(out, &ch->rpc, ch->chain_id, &ch->key[from], &req, e);
}

/* Like chain_send() with calldata = selector(signature) || abi.encode(args). */
static inline enum txsend_result
chain_send_call(struct txsend_outcome *out, struct chain *ch, size_t from, const struct address *to,
                const struct u256 *value_wei, const char *signature, const struct abi_value *args,
                size_t args_count, uint64_t gas_limit, struct err *e)
{
    memset(out, 0, sizeof *out);
    struct buf data;
    buf_init(&data, TX_DATA_BYTES_MAX);
    enum txsend_result r = TXSEND_ERR_BAD_INPUT;
    if (abi_encode_call(&data, signature, args, args_count, e) == ABI_OK)
        r = chain_send(out, ch, from, to, value_wei, data.data, data.len, gas_limit, e);
    buf_release(&data);
    return r;
}

/* Deploys the artifact at `artifact_path` from dev account `from` with
 * abi.encode(args) appended to the creation code; *out = the new address.
 * The receipt is dropped; *gas_used_out (may be NULL) gets its gasUsed. */
static inline bool chain_deploy(struct address *out, uint64_t *gas_used_out, struct chain *ch,
                                size_t from, const char *artifact_path,
                                const struct abi_value *args, size_t args_count, struct err *e)
{
    struct artifact art = {0};
    struct txsend_outcome o;
    struct buf code;
    memset(&o, 0, sizeof o);
    buf_init(&code, TX_DATA_BYTES_MAX);
    bool ok = artifact_load(&art, artifact_path, e) == ARTIFACT_OK &&
              buf_append(&code, art.bytecode, art.bytecode_len) == BUF_OK &&
              abi_encode(&code, args, args_count, e) == ABI_OK &&
              chain_send(&o, ch, from, NULL, NULL, code.data, code.len, 0, e) == TXSEND_OK;
    if (ok && !o.receipt.has_contract_address)
        ok = !err_set(e, 1, "deploy of '%s': receipt has no contract address", artifact_path);
    if (ok) {
        memcpy(out->bytes, o.receipt.contract_address, ADDRESS_BYTES);
        if (gas_used_out != NULL)
            *gas_used_out = o.receipt.gas_used;
    }
    txsend_outcome_release(&o);
    buf_release(&code);
    artifact_release(&art);
    return ok;
}

/* Like chain_deploy(), but hands back the send's result and outcome so that a
 * constructor revert can be checked (TXSEND_ERR_ESTIMATE_REVERT with
 * out->revert_data_hex). `value_wei` (NULL: none) goes to a payable
 * constructor. On TXSEND_OK *addr_out is the new contract's address. An
 * artifact or encoding failure is TXSEND_ERR_BAD_INPUT and a receipt without
 * a contract address TXSEND_ERR_RPC, both with `e` set. The caller releases
 * *out with txsend_outcome_release() whatever the result. */
static inline enum txsend_result
chain_deploy_send(struct txsend_outcome *out, struct address *addr_out, struct chain *ch,
                  size_t from, const char *artifact_path, const struct u256 *value_wei,
                  const struct abi_value *args, size_t args_count, struct err *e)
{
    struct artifact art = {0};
    struct buf code;
    memset(out, 0, sizeof *out);
    buf_init(&code, TX_DATA_BYTES_MAX);
    enum txsend_result r = TXSEND_ERR_BAD_INPUT;
    if (artifact_load(&art, artifact_path, e) == ARTIFACT_OK &&
        buf_append(&code, art.bytecode, art.bytecode_len) == BUF_OK &&
        abi_encode(&code, args, args_count, e) == ABI_OK)
        r = chain_send(out, ch, from, NULL, value_wei, code.data, code.len, 0, e);
    if (r == TXSEND_OK && !out->receipt.has_contract_address) {
        err_set(e, 1, "deploy of '%s': receipt has no contract address", artifact_path);
        r = TXSEND_ERR_RPC;
    }
    if (r == TXSEND_OK)
        memcpy(addr_out->bytes, out->receipt.contract_address, ADDRESS_BYTES);
    buf_release(&code);
    artifact_release(&art);
    return r;
}

/* eth_call of `signature` with `args` on `to` at "latest"; decodes the return
 * data into results[0..results_count), whose types the caller preset (static
 * types only, see top). */
static inline bool chain_view(struct abi_value *results, size_t results_count, struct chain *ch,
                              const struct address *to, const char *signature,
                              const struct abi_value *args, size_t args_count, struct err *e)
{
    uint8_t ret[CHAIN_VIEW_BYTES_MAX];
    size_t ret_len = 0;
    bool ok = rpc_view(&ch->rpc, ret, sizeof ret, &ret_len, to->bytes, signature, args, args_count,
                       "latest", e) == RPC_OK &&
              abi_decode(results, results_count, ret, ret_len, e) == ABI_OK;
    for (size_t i = 0; ok && i < results_count; i++)
        ASSERT(results[i].type != ABI_TYPE_BYTES && results[i].type != ABI_TYPE_STRING &&
               results[i].type != ABI_TYPE_BYTES32_ARRAY);
    return ok;
}

static inline bool chain_balance(struct u256 *out_wei, struct chain *ch, const struct address *a,
                                 struct err *e)
{
    return rpc_get_balance(&ch->rpc, out_wei, a->bytes, "latest", e) == RPC_OK;
}

/* out = gasUsed * effectiveGasPrice of a receipt: what the sender paid. */
static inline struct u256 chain_receipt_fee(const struct rpc_receipt *r)
{
    struct u256 gas = u256_from_u64(r->gas_used), fee;
    ASSERT(u256_mul(&fee, &gas, &r->effective_gas_price_wei) == U256_OK);
    return fee;
}

/* Decodes the revert data of an estimate revert into out[0..*out_len). */
static inline bool chain_revert_data(uint8_t out[CHAIN_REVERT_BYTES_MAX], size_t *out_len,
                                     const struct txsend_outcome *o)
{
    const char *h = o->revert_data_hex;
    return hex_decode(out, CHAIN_REVERT_BYTES_MAX, out_len, h, strlen(h), NULL) == HEX_OK;
}

/* Hex text of a JSON string into exactly `want_len` bytes, or up to `cap`
 * bytes when want_len is 0. */
static inline bool chain_json_hex(uint8_t *out, size_t cap, size_t *out_len, size_t want_len,
                                  const json_t *v)
{
    const char *s = json_string_value(v);
    if (s == NULL)
        return false;
    if (want_len != 0) {
        *out_len = want_len;
        return want_len <= cap && hex_decode_exact(out, want_len, s, strlen(s), NULL) == HEX_OK;
    }
    return hex_decode(out, cap, out_len, s, strlen(s), NULL) == HEX_OK;
}

/* Parses one receipt log object into *out. */
static inline bool chain_log_parse(struct chain_log *out, const json_t *log)
{
    size_t n = 0;
    const json_t *topics = json_object_get(log, "topics");
    if (!chain_json_hex(out->emitter.bytes, ADDRESS_BYTES, &n, ADDRESS_BYTES,
                        json_object_get(log, "address")) ||
        !json_is_array(topics) || json_array_size(topics) > CHAIN_LOG_TOPICS_MAX ||
        !chain_json_hex(out->data, sizeof out->data, &out->data_len, 0,
                        json_object_get(log, "data")))
        return false;
    out->topic_count = json_array_size(topics);
    for (size_t i = 0; i < out->topic_count; i++)
        if (!chain_json_hex(out->topic[i], 32, &n, 32, json_array_get(topics, i)))
            return false;
    return true;
}

/* Counts the logs of receipt `r` emitted by `emitter` with topic 0 =
 * keccak256(event_signature) into *count_out and fills *out with the first
 * of them. Returns false when a log is malformed or there are more than
 * CHAIN_RECEIPT_LOGS_MAX. */
static inline bool chain_log_find(struct chain_log *out, size_t *count_out,
                                  const struct rpc_receipt *r, const struct address *emitter,
                                  const char *event_signature)
{
    uint8_t topic0[32];
    abi_event_topic(topic0, event_signature);
    *count_out = 0;
    if (!json_is_array(r->logs) || json_array_size(r->logs) > CHAIN_RECEIPT_LOGS_MAX)
        return false;
    for (size_t i = 0; i < json_array_size(r->logs); i++) {
        struct chain_log l;
        if (!chain_log_parse(&l, json_array_get(r->logs, i)))
            return false;
        if (!address_eq(&l.emitter, emitter) || l.topic_count == 0 ||
            memcmp(l.topic[0], topic0, 32) != 0)
            continue;
        if ((*count_out)++ == 0)
            *out = l;
    }
    return true;
}

/* keccak256(bytes(text)): the on-chain key of a UUID string (docs/architecture.md,
 * "Identifiers and value formats"). */
static inline void chain_key_of(uint8_t out[32], const char *text)
{
    keccak256(out, text, strlen(text));
}

/* ---- node control for tests (CHECK on failure) ----------------------------------- */

/* Calls `method` (params STOLEN; NULL = []) on the fixture's node; the result
 * (a new reference the caller releases) or NULL after a failed CHECK. */
static inline json_t *chain_call(struct chain *ch, const char *method, json_t *params)
{
    json_t *res = NULL;
    struct err e = {0};
    enum rpc_result r =
        rpc_call(&ch->rpc, method, params != NULL ? params : json_array(), &res, &e);
    CHECK_MSG(r == RPC_OK, "%s: %s", method, e.msg);
    return res;
}

/* The latest block number (0 after a failed CHECK). */
static inline uint64_t chain_head(struct chain *ch)
{
    uint64_t n = 0;
    struct err e = {0};
    CHECK_MSG(rpc_block_number(&ch->rpc, &n, &e) == RPC_OK, "head: %s", e.msg);
    return n;
}

#define CHAIN_SNAPSHOT_ID_MAX 32

/* evm_snapshot: the snapshot's id into id[0..CHAIN_SNAPSHOT_ID_MAX) ("" after
 * a failed CHECK). */
static inline void chain_snapshot(struct chain *ch, char id[CHAIN_SNAPSHOT_ID_MAX])
{
    json_t *res = chain_call(ch, "evm_snapshot", NULL);
    const char *s = json_string_value(res);
    CHECK_MSG(s != NULL && strlen(s) < CHAIN_SNAPSHOT_ID_MAX, "evm_snapshot: no id");
    snprintf(id, CHAIN_SNAPSHOT_ID_MAX, "%s", s != NULL ? s : "");
    json_decref(res);
}

/* evm_revert to a snapshot taken with chain_snapshot() (CHECKs it worked). */
static inline void chain_revert(struct chain *ch, const char *id)
{
    json_t *res = chain_call(ch, "evm_revert", json_pack("[s]", id));
    CHECK_MSG(json_is_true(res), "evm_revert %s did not answer true", id);
    json_decref(res);
}

/* Mines `blocks` empty blocks, one evm_mine each. */
static inline void chain_mine(struct chain *ch, int blocks)
{
    for (int i = 0; i < blocks; i++)
        json_decref(chain_call(ch, "evm_mine", NULL));
}

/* Writes `k`'s 64 hex digits to a new file `path` of mode 0600 (an
 * OPERATOR_KEY_FILE); false, after a failed CHECK, when it cannot. */
static inline bool chain_write_key_file(const char *path, const struct sig_private_key *k)
{
    char hex[2 * SIG_PRIVATE_KEY_BYTES + 1];
    ASSERT(hex_encode(hex, sizeof hex, k->bytes, SIG_PRIVATE_KEY_BYTES) == 0);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    bool ok = fd >= 0 && write(fd, hex, strlen(hex)) == (ssize_t)strlen(hex);
    if (fd >= 0)
        close(fd);
    explicit_bzero(hex, sizeof hex);
    CHECK_MSG(ok, "cannot write key file %s", path);
    return ok;
}

#endif
