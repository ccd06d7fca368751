/*
 * vault_fixture.h - helpers shared by the contract tests (test_contracts*.c)
 * on top of chain_fixture.h: the dev-account roles, deployments of the v2
 * SettlementVault and RightsPass, checked views and sends, custom-error
 * revert matching, settlement trees built with merkle.c, and time travel.
 *
 * Accounts: admin = anvil 0, operator = anvil 1, fan (buyer, tipper) = 2,
 * relayer (submits claims for others) = 3, payees that already exist = 4..7,
 * guardian = 8. Each test deploys its own vault, so tests are independent.
 *
 * Ownership: one `static struct chain chain` per test program, opened by its
 * main() with chain_open(). Every txsend_outcome filled here is released by
 * the caller. Failures are reported through harness.h CHECKs at the call.
 */
#ifndef TESTS_VAULT_FIXTURE_H
#define TESTS_VAULT_FIXTURE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "abi.h"
#include "address.h"
#include "chain_fixture.h"
#include "harness.h"
#include "hex.h"
#include "keccak.h"
#include "merkle.h"
#include "rpc.h"
#include "txsend.h"
#include "u256.h"

#define VAULT_ARTIFACT "contracts-abi/SettlementVault.json"
#define PASS_ARTIFACT "contracts-abi/RightsPass.json"

#define ACCT_ADMIN 0
#define ACCT_OPERATOR 1
#define ACCT_FAN 2
#define ACCT_RELAYER 3
#define ACCT_GUARDIAN 8

#define ETHER_WEI 1000000000000000000ull
#define FINNEY_WEI 1000000000000000ull
#define PASS_PRICE_WEI (25 * FINNEY_WEI + 7) /* odd on purpose: off-by-one shows */
#define GAS_FIXED_FOR_MINED_REVERT 300000u
#define CLAIM_GAS_MAX 80000u
#define PAYEES_MAX 128
#define RAW_TX_TEST_BYTES_MAX 2048
#define WHY_BYTES 320

/* Anvil accounts 4..7: pre-funded, so they exist before they are paid. */
static const char *const payee_hex[4] = {
    "0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65", "0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc",
    "0x976EA74026E726554dB657fA54763abd0C3a0aa9", "0x14dC79964da2C08b23698B3D3cc7Ca32193d9955"};

static const char creator_id[] = "0d6b7a52-3f1e-4c4b-9a8e-2b7f5c1d9e30";
static const char stream_id[] = "5b0f3c1e-8a2d-4f6b-9c7e-1d2a3b4c5d6e";

static struct chain chain;

struct payout {
    struct address account;
    struct u256 amount_wei;
};

/* ---- small helpers ------------------------------------------------------------------ */

static inline struct u256 wei(uint64_t v)
{
    return u256_from_u64(v);
}

static inline struct u256 add_wei(struct u256 a, struct u256 b)
{
    struct u256 out;
    ASSERT(u256_add(&out, &a, &b) == U256_OK);
    return out;
}

static inline struct u256 sub_wei(struct u256 a, struct u256 b)
{
    struct u256 out;
    ASSERT(u256_sub(&out, &a, &b) == U256_OK);
    return out;
}

#define CHECK_U256(a, b)                                                                           \
    do {                                                                                           \
        struct u256 cu_a_ = (a), cu_b_ = (b);                                                      \
        char cu_da_[U256_DEC_SIZE], cu_db_[U256_DEC_SIZE];                                         \
        u256_to_dec(cu_da_, &cu_a_);                                                               \
        u256_to_dec(cu_db_, &cu_b_);                                                               \
        CHECK_MSG(u256_cmp(&cu_a_, &cu_b_) == 0, "%s != %s", cu_da_, cu_db_);                      \
    } while (0)

static inline struct address payee(size_t i)
{
    struct address a;
    ASSERT(i < 4 && address_parse(&a, payee_hex[i], strlen(payee_hex[i]), NULL) == ADDRESS_OK);
    return a;
}

static inline bool topic_is_address(const uint8_t topic[32], const struct address *a)
{
    static const uint8_t zero[12];
    return memcmp(topic, zero, sizeof zero) == 0 && memcmp(topic + 12, a->bytes, 20) == 0;
}

static inline bool topic_is_u256(const uint8_t topic[32], const struct u256 *v)
{
    uint8_t be[32];
    u256_to_be32(be, v);
    return memcmp(topic, be, 32) == 0;
}

/* Test diagnostics only: truncation of the message is harmless. */
static inline void why_set(char *why, size_t why_size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static inline void why_set(char *why, size_t why_size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(why, why_size, fmt, ap);
    va_end(ap);
    ASSERT(n >= 0);
}

/* ---- chain access with checks ------------------------------------------------------ */

static inline struct u256 balance(const struct address *a)
{
    struct u256 v = u256_zero();
    struct err e = {0};
    bool ok = chain_balance(&v, &chain, a, &e);
    CHECK_MSG(ok, "balance: %s", e.msg);
    return v;
}

static inline uint64_t nonce_of(const struct address *a)
{
    uint64_t n = 0;
    struct err e = {0};
    enum rpc_result r = rpc_get_transaction_count(&chain.rpc, &n, a->bytes, "latest", &e);
    CHECK_MSG(r == RPC_OK, "nonce: %s", e.msg);
    return n;
}

static inline struct abi_value view_one(const struct address *to, enum abi_type type,
                                        const char *sig, const struct abi_value *args,
                                        size_t args_count)
{
    struct abi_value v = abi_value_of_type(type);
    struct err e = {0};
    bool ok = chain_view(&v, 1, &chain, to, sig, args, args_count, &e);
    CHECK_MSG(ok, "view %s: %s", sig, e.msg);
    if (!ok)
        memset(&v.as, 0xee, sizeof v.as); /* matches no expected value */
    return v;
}

static inline struct u256 view_u256(const struct address *to, const char *sig,
                                    const struct abi_value *args, size_t args_count)
{
    return view_one(to, ABI_TYPE_UINT256, sig, args, args_count).as.uint256;
}

static inline struct u256 view_u256_noargs(const struct address *to, const char *sig)
{
    return view_u256(to, sig, NULL, 0);
}

/* Sends a call from dev account `from`; prints the error unless it is a
 * success or an estimate revert (which the caller checks). */
static inline enum txsend_result send_call(struct txsend_outcome *o, size_t from,
                                           const struct address *to, uint64_t value_wei,
                                           const char *sig, const struct abi_value *args,
                                           size_t args_count)
{
    struct err e = {0};
    struct u256 value = wei(value_wei);
    enum txsend_result r =
        chain_send_call(o, &chain, from, to, &value, sig, args, args_count, 0, &e);
    if (r != TXSEND_OK && r != TXSEND_ERR_ESTIMATE_REVERT)
        fprintf(stdout, "# %s: %s\n", sig, e.msg);
    return r;
}

/* The revert data of `r`/`o` into got[0..*got_len) when `r` is an estimate
 * revert whose data starts with abi_selector(error_signature). */
static inline bool revert_data_of(uint8_t got[CHAIN_REVERT_BYTES_MAX], size_t *got_len, char *why,
                                  size_t why_size, enum txsend_result r,
                                  const struct txsend_outcome *o, const char *error_signature)
{
    uint8_t sel[ABI_SELECTOR_BYTES];
    if (r != TXSEND_ERR_ESTIMATE_REVERT) {
        why_set(why, why_size, "result %d, expected a revert with %s", (int)r, error_signature);
        return false;
    }
    if (!chain_revert_data(got, got_len, o) || *got_len < ABI_SELECTOR_BYTES) {
        why_set(why, why_size, "revert data '%s' is no custom error", o->revert_data_hex);
        return false;
    }
    abi_selector(sel, error_signature);
    if (memcmp(got, sel, sizeof sel) != 0) {
        why_set(why, why_size, "revert data '%s' is not %s", o->revert_data_hex, error_signature);
        return false;
    }
    return true;
}

/* True when `r`/`o` is an estimate revert whose data starts with
 * abi_selector(error_signature) and equals the error with `args`. With
 * `typed`, `args` are encoded against the signature's parameter types
 * (abi_encode_call); without, as plain ABI words after the selector
 * (abi_encode): for custom errors with narrow integer parameters (uint64,
 * uint48, uint96) that abi.h only builds as uint256 words (abi_value_u64),
 * which encode to the same 32 bytes. */
static inline bool revert_matches(char *why, size_t why_size, enum txsend_result r,
                                  const struct txsend_outcome *o, const char *error_signature,
                                  const struct abi_value *args, size_t args_count, bool typed)
{
    uint8_t got[CHAIN_REVERT_BYTES_MAX];
    size_t got_len = 0;
    if (!revert_data_of(got, &got_len, why, why_size, r, o, error_signature))
        return false;
    struct buf want;
    buf_init(&want, CHAIN_REVERT_BYTES_MAX);
    bool encoded = typed ? abi_encode_call(&want, error_signature, args, args_count, NULL) == ABI_OK
                         : buf_append(&want, got, ABI_SELECTOR_BYTES) == BUF_OK &&
                               abi_encode(&want, args, args_count, NULL) == ABI_OK;
    bool same = encoded && want.len == got_len && memcmp(want.data, got, got_len) == 0;
    buf_release(&want);
    if (!same)
        why_set(why, why_size, "revert data '%s' is not %s with the expected arguments",
                o->revert_data_hex, error_signature);
    return same;
}

static inline bool revert_is(char *why, size_t why_size, enum txsend_result r,
                             const struct txsend_outcome *o, const char *error_signature,
                             const struct abi_value *args, size_t args_count)
{
    return revert_matches(why, why_size, r, o, error_signature, args, args_count, true);
}

static inline bool revert_is_words(char *why, size_t why_size, enum txsend_result r,
                                   const struct txsend_outcome *o, const char *error_signature,
                                   const struct abi_value *args, size_t args_count)
{
    return revert_matches(why, why_size, r, o, error_signature, args, args_count, false);
}

#define CHECK_REVERT(r, o, sig, args, n)                                                           \
    do {                                                                                           \
        char cr_why_[WHY_BYTES] = "";                                                              \
        CHECK_MSG(revert_is(cr_why_, sizeof cr_why_, (r), (o), (sig), (args), (n)), "%s",          \
                  cr_why_);                                                                        \
    } while (0)

#define CHECK_REVERT_WORDS(r, o, sig, args, n)                                                     \
    do {                                                                                           \
        char crw_why_[WHY_BYTES] = "";                                                             \
        CHECK_MSG(revert_is_words(crw_why_, sizeof crw_why_, (r), (o), (sig), (args), (n)), "%s",  \
                  crw_why_);                                                                       \
    } while (0)

/* Finds exactly one `event_signature` log of `emitter` in `r`. */
static inline bool one_log(struct chain_log *out, const struct rpc_receipt *r,
                           const struct address *emitter, const char *event_signature)
{
    size_t n = 0;
    bool parsed = chain_log_find(out, &n, r, emitter, event_signature);
    CHECK_MSG(parsed && n == 1, "%zu logs '%s' (logs %s)", n, event_signature,
              parsed ? "parsed" : "malformed");
    return parsed && n == 1;
}

/* ---- deployments -------------------------------------------------------------------- */

/* SettlementVault(admin, operator, guardian, claimDelay, claimWindow) with
 * the fixture's roles; delays in seconds. */
static inline bool deploy_vault_with(struct address *out, uint64_t claim_delay_s,
                                     uint64_t claim_window_s)
{
    struct abi_value ctor[5] = {abi_value_address(&chain.addr[ACCT_ADMIN]),
                                abi_value_address(&chain.addr[ACCT_OPERATOR]),
                                abi_value_address(&chain.addr[ACCT_GUARDIAN]),
                                abi_value_u64(claim_delay_s), abi_value_u64(claim_window_s)};
    struct err e = {0};
    bool ok = chain_deploy(out, NULL, &chain, ACCT_ADMIN, VAULT_ARTIFACT, ctor, 5, &e);
    CHECK_MSG(ok, "deploy vault: %s", e.msg);
    return ok;
}

/* A vault without audit window or claim expiry: claims open at settle. */
static inline bool deploy_vault(struct address *out)
{
    return deploy_vault_with(out, 0, 0);
}

/* RightsPass(name, symbol, price, maxSupply, royaltyBps (uint96: one ABI
 * word like uint256), vault, creatorKey, owner). */
static inline bool deploy_pass(struct address *out, const struct address *vault,
                               const uint8_t creator_key[32], uint64_t max_supply,
                               uint64_t royalty_bps)
{
    static const char name[] = "Backstage Pass", symbol[] = "BKST";
    struct u256 price = wei(PASS_PRICE_WEI);
    struct abi_value ctor[8] = {abi_value_string(name, strlen(name)),
                                abi_value_string(symbol, strlen(symbol)),
                                abi_value_uint256(&price),
                                abi_value_u64(max_supply),
                                abi_value_u64(royalty_bps),
                                abi_value_address(vault),
                                abi_value_bytes32(creator_key),
                                abi_value_address(&chain.addr[ACCT_ADMIN])};
    struct err e = {0};
    bool ok = chain_deploy(out, NULL, &chain, ACCT_ADMIN, PASS_ARTIFACT, ctor, 8, &e);
    CHECK_MSG(ok, "deploy pass: %s", e.msg);
    return ok;
}

/* ---- settlement trees (merkle.c) ---------------------------------------------------- */

static inline bool tree_build(struct merkle_tree *t, uint8_t root[32], const struct payout *p,
                              size_t n)
{
    static uint8_t leaves[PAYEES_MAX][MERKLE_HASH_BYTES];
    ASSERT(n <= PAYEES_MAX);
    for (size_t i = 0; i < n; i++) {
        uint8_t amount_be[32];
        u256_to_be32(amount_be, &p[i].amount_wei);
        merkle_leaf_settlement(leaves[i], p[i].account.bytes, amount_be);
    }
    struct err e = {0};
    bool ok = merkle_tree_build(t, (const uint8_t(*)[MERKLE_HASH_BYTES])leaves, n, &e) == MERKLE_OK;
    CHECK_MSG(ok, "merkle: %s", e.msg);
    if (ok)
        merkle_tree_root(root, t);
    return ok;
}

static inline bool tree_proof(uint8_t (*proof)[MERKLE_HASH_BYTES], size_t *proof_len,
                              const struct merkle_tree *t, const struct payout *p)
{
    uint8_t leaf[32], amount_be[32];
    u256_to_be32(amount_be, &p->amount_wei);
    merkle_leaf_settlement(leaf, p->account.bytes, amount_be);
    struct err e = {0};
    bool ok = merkle_tree_proof(proof, MERKLE_PROOF_MAX, proof_len, t, leaf, &e) == MERKLE_OK;
    CHECK_MSG(ok, "proof: %s", e.msg);
    return ok;
}

static inline struct u256 payouts_total(const struct payout *p, size_t n)
{
    struct u256 sum = u256_zero();
    for (size_t i = 0; i < n; i++)
        sum = add_wei(sum, p[i].amount_wei);
    return sum;
}

/* settle(batchKey, creatorKey, root, total), sent by `from`. */
static inline enum txsend_result send_settle_for(struct txsend_outcome *o, size_t from,
                                                 const struct address *vault,
                                                 const uint8_t batch_key[32],
                                                 const uint8_t creator_key[32],
                                                 const uint8_t root[32], const struct u256 *total)
{
    struct abi_value args[4] = {abi_value_bytes32(batch_key), abi_value_bytes32(creator_key),
                                abi_value_bytes32(root), abi_value_uint256(total)};
    return send_call(o, from, vault, 0, "settle(bytes32,bytes32,bytes32,uint256)", args, 4);
}

/* settle() for the fixture's default creator (creator_id). */
static inline enum txsend_result send_settle(struct txsend_outcome *o, size_t from,
                                             const struct address *vault,
                                             const uint8_t batch_key[32], const uint8_t root[32],
                                             const struct u256 *total)
{
    uint8_t creator_key[32];
    chain_key_of(creator_key, creator_id);
    return send_settle_for(o, from, vault, batch_key, creator_key, root, total);
}

/* claim(batchKey, account, amount, proof), submitted by `from`. */
static inline enum txsend_result
send_claim(struct txsend_outcome *o, size_t from, const struct address *vault,
           const uint8_t batch_key[32], const struct address *account, const struct u256 *amount,
           const uint8_t (*proof)[32], size_t proof_len)
{
    struct abi_value args[4] = {abi_value_bytes32(batch_key), abi_value_address(account),
                                abi_value_uint256(amount),
                                abi_value_bytes32_array(proof[0], proof_len)};
    return send_call(o, from, vault, 0, "claim(bytes32,address,uint256,bytes32[])", args, 4);
}

/* Tips `value_wei` from the fan to stream `stream` of creator `creator`
 * (UUID strings), checking success. */
static inline bool tip_creator(const struct address *vault, const char *creator, const char *stream,
                               uint64_t value_wei)
{
    uint8_t creator_key[32], stream_key[32];
    chain_key_of(creator_key, creator);
    chain_key_of(stream_key, stream);
    struct abi_value args[2] = {abi_value_bytes32(creator_key), abi_value_bytes32(stream_key)};
    struct txsend_outcome o;
    enum txsend_result r =
        send_call(&o, ACCT_FAN, vault, value_wei, "tip(bytes32,bytes32)", args, 2);
    CHECK_INT(r, TXSEND_OK);
    txsend_outcome_release(&o);
    return r == TXSEND_OK;
}

/* Tips `value_wei` to the fixture's default creator and stream. */
static inline bool fund_vault(const struct address *vault, uint64_t value_wei)
{
    return tip_creator(vault, creator_id, stream_id, value_wei);
}

static inline void operator_role(uint8_t out[32])
{
    chain_key_of(out, "OPERATOR_ROLE");
}

static inline void guardian_role(uint8_t out[32])
{
    chain_key_of(out, "GUARDIAN_ROLE");
}

/* Moves the chain's clock `seconds` forward and mines a block with it. */
static inline bool chain_advance_time(uint64_t seconds)
{
    json_t *res = NULL;
    struct err e = {0};
    bool ok = rpc_call(&chain.rpc, "evm_increaseTime", json_pack("[I]", (json_int_t)seconds), &res,
                       &e) == RPC_OK;
    json_decref(res);
    res = NULL;
    ok = ok && rpc_call(&chain.rpc, "evm_mine", json_array(), &res, &e) == RPC_OK;
    json_decref(res);
    CHECK_MSG(ok, "advance time: %s", e.msg);
    return ok;
}

/* The timestamp of block `tag` ("latest" or a hex block number). */
static inline uint64_t chain_block_time_of(const char *tag)
{
    json_t *res = NULL;
    struct err e = {0};
    uint64_t ts = 0;
    bool ok = rpc_call(&chain.rpc, "eth_getBlockByNumber", json_pack("[sb]", tag, 0), &res, &e) ==
                  RPC_OK &&
              rpc_parse_quantity_u64(&ts, json_object_get(res, "timestamp"), &e) == RPC_OK;
    json_decref(res);
    CHECK_MSG(ok, "time of block '%s': %s", tag, e.msg);
    return ts;
}

/* The timestamp of the latest block. */
static inline uint64_t chain_now(void)
{
    return chain_block_time_of("latest");
}

/* The timestamp of block `block_number` (e.g. a receipt's block). */
static inline uint64_t chain_block_time(uint64_t block_number)
{
    char number_hex[2 + 16 + 1];
    int n = snprintf(number_hex, sizeof number_hex, "0x%llx", (unsigned long long)block_number);
    ASSERT(n > 0 && (size_t)n < sizeof number_hex);
    return chain_block_time_of(number_hex);
}

/* The next block mined (by the next transaction, or chain_mine_at()) gets
 * timestamp `ts` exactly (anvil's evm_setNextBlockTimestamp; `ts` must be
 * later than the latest block's). eth_estimateGas runs against a pending
 * block whose timestamp can be later than the latest block's, so a
 * transaction meant to land at `ts` exactly must be sent with a fixed gas
 * limit, and a boundary checked through an estimate is checked one second
 * inside it. */
static inline bool chain_set_next_block_time(uint64_t ts)
{
    json_t *res = NULL;
    struct err e = {0};
    bool ok = rpc_call(&chain.rpc, "evm_setNextBlockTimestamp", json_pack("[I]", (json_int_t)ts),
                       &res, &e) == RPC_OK;
    json_decref(res);
    CHECK_MSG(ok, "set next block time %llu: %s", (unsigned long long)ts, e.msg);
    return ok;
}

/* Mines an empty block with timestamp `ts`: afterwards chain_now() == ts
 * (estimates may still run at a later time: see above). */
static inline bool chain_mine_at(uint64_t ts)
{
    json_t *res = NULL;
    struct err e = {0};
    bool ok = chain_set_next_block_time(ts) &&
              rpc_call(&chain.rpc, "evm_mine", json_array(), &res, &e) == RPC_OK;
    json_decref(res);
    CHECK_MSG(ok, "mine at %llu: %s", (unsigned long long)ts, e.msg);
    ok = ok && chain_now() == ts;
    CHECK_MSG(ok, "latest block is not at %llu", (unsigned long long)ts);
    return ok;
}

#endif
