/*
 * test_contracts.c - SettlementVault and RightsPass on a real anvil node,
 * driven only by our own code: every transaction is built and signed by
 * tx.c through txsend, calldata and event data go through abi.c, and the
 * settlement and recording roots anchored on-chain come from merkle.c.
 *
 * Environment: ETH_RPC_URL (required; tests/run.sh starts anvil, chain
 * 31337, default mnemonic). Without it the test fails, it does not skip.
 * Run from the repository root (artifacts are read from contracts-abi/).
 *
 * Each test deploys its own vault (admin = account 0, operator = account 1)
 * and, when needed, its own pass, so the tests are independent. Account 2 is
 * the fan (buyer, tipper), account 3 a third party that submits claims, so a
 * payee's balance moves by exactly the claimed amount. Anvil accounts 4..7
 * are payees that already exist on-chain. Accounts 8 and 9 are left to
 * test_rpc_anvil.c. Balances of senders are checked exactly too, with the fee
 * taken from the receipt (gasUsed * effectiveGasPrice).
 *
 * Reverts are checked through eth_estimateGas revert data: the first four
 * bytes must be abi_selector() of the custom error's signature (copied from
 * contracts-abi/src/{SettlementVault,RightsPass}.sol) and the whole data
 * must equal the error encoded with the expected arguments. One test forces
 * a mined revert instead (fixed gas limit) and checks that only the fee was
 * spent.
 *
 * Gas: settle must cost the same for 2 and 100 payees. The comparison leaves
 * out the calldata cost (4 gas per zero byte, 16 per other byte), because
 * the root and key bytes are hash output and their count of zero bytes
 * varies; everything the contract executes is compared exactly.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "abi.h"
#include "address.h"
#include "chain_fixture.h"
#include "crypto.h"
#include "harness.h"
#include "hex.h"
#include "keccak.h"
#include "merkle.h"
#include "rpc.h"
#include "tx.h"
#include "txsend.h"
#include "u256.h"

#define VAULT_ARTIFACT "contracts-abi/SettlementVault.json"
#define PASS_ARTIFACT "contracts-abi/RightsPass.json"

#define ACCT_ADMIN 0
#define ACCT_OPERATOR 1
#define ACCT_FAN 2
#define ACCT_RELAYER 3

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

static struct u256 wei(uint64_t v)
{
    return u256_from_u64(v);
}

static struct u256 add_wei(struct u256 a, struct u256 b)
{
    struct u256 out;
    ASSERT(u256_add(&out, &a, &b) == U256_OK);
    return out;
}

static struct u256 sub_wei(struct u256 a, struct u256 b)
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

static struct address payee(size_t i)
{
    struct address a;
    ASSERT(i < 4 && address_parse(&a, payee_hex[i], strlen(payee_hex[i]), NULL) == ADDRESS_OK);
    return a;
}

static bool topic_is_address(const uint8_t topic[32], const struct address *a)
{
    static const uint8_t zero[12];
    return memcmp(topic, zero, sizeof zero) == 0 && memcmp(topic + 12, a->bytes, 20) == 0;
}

static bool topic_is_u256(const uint8_t topic[32], const struct u256 *v)
{
    uint8_t be[32];
    u256_to_be32(be, v);
    return memcmp(topic, be, 32) == 0;
}

/* Test diagnostics only: truncation of the message is harmless. */
static void why_set(char *why, size_t why_size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void why_set(char *why, size_t why_size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(why, why_size, fmt, ap);
    va_end(ap);
    ASSERT(n >= 0);
}

/* ---- chain access with checks ------------------------------------------------------ */

static struct u256 balance(const struct address *a)
{
    struct u256 v = u256_zero();
    struct err e = {0};
    bool ok = chain_balance(&v, &chain, a, &e);
    CHECK_MSG(ok, "balance: %s", e.msg);
    return v;
}

static uint64_t nonce_of(const struct address *a)
{
    uint64_t n = 0;
    struct err e = {0};
    enum rpc_result r = rpc_get_transaction_count(&chain.rpc, &n, a->bytes, "latest", &e);
    CHECK_MSG(r == RPC_OK, "nonce: %s", e.msg);
    return n;
}

static struct abi_value view_one(const struct address *to, enum abi_type type, const char *sig,
                                 const struct abi_value *args, size_t args_count)
{
    struct abi_value v = abi_value_of_type(type);
    struct err e = {0};
    bool ok = chain_view(&v, 1, &chain, to, sig, args, args_count, &e);
    CHECK_MSG(ok, "view %s: %s", sig, e.msg);
    if (!ok)
        memset(&v.as, 0xee, sizeof v.as); /* matches no expected value */
    return v;
}

static struct u256 view_u256(const struct address *to, const char *sig,
                             const struct abi_value *args, size_t args_count)
{
    return view_one(to, ABI_TYPE_UINT256, sig, args, args_count).as.uint256;
}

static struct u256 view_u256_noargs(const struct address *to, const char *sig)
{
    return view_u256(to, sig, NULL, 0);
}

/* Sends a call from dev account `from`; prints the error unless it is a
 * success or an estimate revert (which the caller checks). */
static enum txsend_result send_call(struct txsend_outcome *o, size_t from, const struct address *to,
                                    uint64_t value_wei, const char *sig,
                                    const struct abi_value *args, size_t args_count)
{
    struct err e = {0};
    struct u256 value = wei(value_wei);
    enum txsend_result r =
        chain_send_call(o, &chain, from, to, &value, sig, args, args_count, 0, &e);
    if (r != TXSEND_OK && r != TXSEND_ERR_ESTIMATE_REVERT)
        fprintf(stdout, "# %s: %s\n", sig, e.msg);
    return r;
}

/* True when `r`/`o` is an estimate revert whose data starts with
 * abi_selector(error_signature) and equals the error with `args`. */
static bool revert_is(char *why, size_t why_size, enum txsend_result r,
                      const struct txsend_outcome *o, const char *error_signature,
                      const struct abi_value *args, size_t args_count)
{
    uint8_t got[CHAIN_REVERT_BYTES_MAX], sel[ABI_SELECTOR_BYTES];
    size_t got_len = 0;
    if (r != TXSEND_ERR_ESTIMATE_REVERT) {
        why_set(why, why_size, "result %d, expected a revert with %s", (int)r, error_signature);
        return false;
    }
    if (!chain_revert_data(got, &got_len, o) || got_len < ABI_SELECTOR_BYTES) {
        why_set(why, why_size, "revert data '%s' is no custom error", o->revert_data_hex);
        return false;
    }
    abi_selector(sel, error_signature);
    if (memcmp(got, sel, sizeof sel) != 0) {
        why_set(why, why_size, "revert data '%s' is not %s", o->revert_data_hex, error_signature);
        return false;
    }
    struct buf want;
    buf_init(&want, CHAIN_REVERT_BYTES_MAX);
    bool same = abi_encode_call(&want, error_signature, args, args_count, NULL) == ABI_OK &&
                want.len == got_len && memcmp(want.data, got, got_len) == 0;
    buf_release(&want);
    if (!same)
        why_set(why, why_size, "%s with other arguments: '%s'", error_signature,
                o->revert_data_hex);
    return same;
}

#define CHECK_REVERT(r, o, sig, args, n)                                                           \
    do {                                                                                           \
        char cr_why_[WHY_BYTES] = "";                                                              \
        CHECK_MSG(revert_is(cr_why_, sizeof cr_why_, (r), (o), (sig), (args), (n)), "%s",          \
                  cr_why_);                                                                        \
    } while (0)

/* Finds exactly one `event_signature` log of `emitter` in `r`. */
static bool one_log(struct chain_log *out, const struct rpc_receipt *r,
                    const struct address *emitter, const char *event_signature)
{
    size_t n = 0;
    bool parsed = chain_log_find(out, &n, r, emitter, event_signature);
    CHECK_MSG(parsed && n == 1, "%zu logs '%s' (logs %s)", n, event_signature,
              parsed ? "parsed" : "malformed");
    return parsed && n == 1;
}

/* ---- deployments -------------------------------------------------------------------- */

static bool deploy_vault(struct address *out)
{
    struct abi_value ctor[2] = {abi_value_address(&chain.addr[ACCT_ADMIN]),
                                abi_value_address(&chain.addr[ACCT_OPERATOR])};
    struct err e = {0};
    bool ok = chain_deploy(out, NULL, &chain, ACCT_ADMIN, VAULT_ARTIFACT, ctor, 2, &e);
    CHECK_MSG(ok, "deploy vault: %s", e.msg);
    return ok;
}

/* RightsPass(name, symbol, price, maxSupply, royaltyBps (uint96: one ABI
 * word like uint256), vault, creatorKey, owner). */
static bool deploy_pass(struct address *out, const struct address *vault,
                        const uint8_t creator_key[32], uint64_t max_supply, uint64_t royalty_bps)
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

static bool tree_build(struct merkle_tree *t, uint8_t root[32], const struct payout *p, size_t n)
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

static bool tree_proof(uint8_t (*proof)[MERKLE_HASH_BYTES], size_t *proof_len,
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

static struct u256 payouts_total(const struct payout *p, size_t n)
{
    struct u256 sum = u256_zero();
    for (size_t i = 0; i < n; i++)
        sum = add_wei(sum, p[i].amount_wei);
    return sum;
}

static enum txsend_result send_settle(struct txsend_outcome *o, size_t from,
                                      const struct address *vault, const uint8_t batch_key[32],
                                      const uint8_t root[32], const struct u256 *total)
{
    struct abi_value args[3] = {abi_value_bytes32(batch_key), abi_value_bytes32(root),
                                abi_value_uint256(total)};
    return send_call(o, from, vault, 0, "settle(bytes32,bytes32,uint256)", args, 3);
}

/* claim(batchKey, account, amount, proof), submitted by `from`. */
static enum txsend_result send_claim(struct txsend_outcome *o, size_t from,
                                     const struct address *vault, const uint8_t batch_key[32],
                                     const struct address *account, const struct u256 *amount,
                                     const uint8_t (*proof)[32], size_t proof_len)
{
    struct abi_value args[4] = {abi_value_bytes32(batch_key), abi_value_address(account),
                                abi_value_uint256(amount),
                                abi_value_bytes32_array(proof[0], proof_len)};
    return send_call(o, from, vault, 0, "claim(bytes32,address,uint256,bytes32[])", args, 4);
}

/* Tips `value_wei` into a vault from the fan, checking success. */
static bool fund_vault(const struct address *vault, uint64_t value_wei)
{
    uint8_t stream_key[32];
    chain_key_of(stream_key, stream_id);
    struct abi_value arg = abi_value_bytes32(stream_key);
    struct txsend_outcome o;
    enum txsend_result r = send_call(&o, ACCT_FAN, vault, value_wei, "tip(bytes32)", &arg, 1);
    CHECK_INT(r, TXSEND_OK);
    txsend_outcome_release(&o);
    return r == TXSEND_OK;
}

static void operator_role(uint8_t out[32])
{
    chain_key_of(out, "OPERATOR_ROLE");
}

/* ---- tests: our signed transactions ------------------------------------------------- */

/* The raw bytes anvil stored for o->tx_hash: their keccak is our hash, they
 * decode to what we sent, recover to `from`, and re-signing the decoded
 * fields with our key gives the same bytes (RFC 6979 is deterministic). */
static void check_raw_as_stored(const struct txsend_outcome *o, size_t from,
                                const struct address *to, const struct u256 *value, uint64_t nonce)
{
    char hash_hex[2 + 64 + 1];
    uint8_t raw[RAW_TX_TEST_BYTES_MAX], h[32];
    size_t raw_len = 0;
    json_t *res = NULL;
    struct err e = {0};
    ASSERT(hex_encode_0x(hash_hex, sizeof hash_hex, o->tx_hash, 32) == 0);
    enum rpc_result rr =
        rpc_call(&chain.rpc, "eth_getRawTransactionByHash", json_pack("[s]", hash_hex), &res, &e);
    CHECK_MSG(rr == RPC_OK, "eth_getRawTransactionByHash: %s", e.msg);
    bool ok = rr == RPC_OK && chain_json_hex(raw, sizeof raw, &raw_len, 0, res);
    json_decref(res);
    CHECK(ok);
    if (!ok)
        return;
    keccak256(h, raw, raw_len);
    CHECK_MEM(h, o->tx_hash, 32);
    CHECK_MEM(h, o->receipt.transaction_hash, 32);
    struct tx_eip1559 tx;
    struct tx_signature sig;
    struct address sender;
    CHECK_INT(tx_decode_signed(&tx, &sig, raw, raw_len, &e), TX_OK);
    CHECK_INT(tx_recover_sender(&sender, &tx, &sig, &e), TX_OK);
    CHECK(address_eq(&sender, &chain.addr[from]));
    CHECK_INT(tx.chain_id, CHAIN_ID_ANVIL);
    CHECK_INT(tx.nonce, nonce);
    CHECK(tx.has_to && address_eq(&tx.to, to));
    CHECK_U256(tx.value_wei, *value);
    CHECK_INT(tx.data_len, 0);
    struct buf again;
    buf_init(&again, TX_RAW_BYTES_MAX);
    CHECK_INT(tx_sign(&again, &tx, &chain.key[from], &e), TX_OK);
    CHECK(again.len == raw_len && memcmp(again.data, raw, raw_len) == 0);
    buf_release(&again);
}

static void test_value_transfer_signed_by_us(void)
{
    const struct address *from = &chain.addr[ACCT_FAN], *to = &chain.addr[ACCT_RELAYER];
    struct u256 value = wei(123456789012345679ull);
    struct u256 from_before = balance(from), to_before = balance(to);
    uint64_t nonce = nonce_of(from);
    struct txsend_outcome o;
    struct err e = {0};
    enum txsend_result r = chain_send(&o, &chain, ACCT_FAN, to, &value, NULL, 0, 0, &e);
    CHECK_MSG(r == TXSEND_OK, "%s", e.msg);
    if (r == TXSEND_OK) {
        CHECK_INT(o.receipt.status, 1);
        CHECK_INT(o.receipt.gas_used, 21000);
        CHECK_MEM(o.receipt.transaction_hash, o.tx_hash, 32);
        CHECK_MEM(o.receipt.from, from->bytes, 20);
        CHECK(o.receipt.has_to && memcmp(o.receipt.to, to->bytes, 20) == 0);
        CHECK(!u256_is_zero(&o.receipt.effective_gas_price_wei));
        CHECK_U256(balance(to), add_wei(to_before, value));
        CHECK_U256(balance(from),
                   sub_wei(sub_wei(from_before, value), chain_receipt_fee(&o.receipt)));
        CHECK_INT(nonce_of(from), nonce + 1);
        check_raw_as_stored(&o, ACCT_FAN, to, &value, nonce);
    }
    txsend_outcome_release(&o);
}

/* ---- tests: RightsPass -------------------------------------------------------------- */

static void check_revenue_log(const struct rpc_receipt *r, const struct address *vault,
                              const uint8_t creator_key[32], const struct address *source,
                              uint8_t kind, const struct address *payer, const struct u256 *amount)
{
    struct chain_log l;
    if (!one_log(&l, r, vault, "RevenueReceived(bytes32,address,uint8,address,uint256)"))
        return;
    CHECK_INT(l.topic_count, 3);
    CHECK_MEM(l.topic[1], creator_key, 32);
    CHECK(topic_is_address(l.topic[2], source));
    struct abi_value d[3] = {abi_value_of_type(ABI_TYPE_UINT8), abi_value_of_type(ABI_TYPE_ADDRESS),
                             abi_value_of_type(ABI_TYPE_UINT256)};
    CHECK_INT(l.data_len, 96);
    CHECK_INT(abi_decode(d, 3, l.data, l.data_len, NULL), ABI_OK);
    CHECK_INT(d[0].as.uint8, kind);
    CHECK(address_eq(&d[1].as.address, payer));
    CHECK_U256(d[2].as.uint256, *amount);
}

static void check_pass_purchased_log(const struct rpc_receipt *r, const struct address *pass,
                                     const struct address *buyer, uint64_t token_id)
{
    struct chain_log l;
    struct u256 id = wei(token_id), price = wei(PASS_PRICE_WEI);
    if (!one_log(&l, r, pass, "PassPurchased(address,uint256,uint256)"))
        return;
    CHECK_INT(l.topic_count, 3);
    CHECK(topic_is_address(l.topic[1], buyer));
    CHECK(topic_is_u256(l.topic[2], &id));
    struct abi_value d = abi_value_of_type(ABI_TYPE_UINT256);
    CHECK_INT(l.data_len, 32);
    CHECK_INT(abi_decode(&d, 1, l.data, l.data_len, NULL), ABI_OK);
    CHECK_U256(d.as.uint256, price);
}

static void test_mint_at_price(void)
{
    struct address vault, pass;
    uint8_t creator_key[32];
    chain_key_of(creator_key, creator_id);
    if (!deploy_vault(&vault) || !deploy_pass(&pass, &vault, creator_key, 3, 500))
        return;
    const struct address *buyer = &chain.addr[ACCT_FAN];
    struct u256 price = wei(PASS_PRICE_WEI), buyer_before = balance(buyer);
    CHECK_U256(view_u256_noargs(&pass, "price()"), price);
    CHECK_U256(view_u256_noargs(&pass, "maxSupply()"), wei(3));
    CHECK_U256(view_u256_noargs(&pass, "totalMinted()"), wei(0));
    struct txsend_outcome o;
    enum txsend_result r = send_call(&o, ACCT_FAN, &pass, PASS_PRICE_WEI, "mint()", NULL, 0);
    CHECK_INT(r, TXSEND_OK);
    if (r == TXSEND_OK) {
        check_pass_purchased_log(&o.receipt, &pass, buyer, 1);
        check_revenue_log(&o.receipt, &vault, creator_key, &pass, 1, buyer, &price);
        CHECK_U256(balance(buyer),
                   sub_wei(sub_wei(buyer_before, price), chain_receipt_fee(&o.receipt)));
    }
    txsend_outcome_release(&o);
    struct abi_value one = abi_value_u64(1), who = abi_value_address(buyer);
    struct abi_value owner = view_one(&pass, ABI_TYPE_ADDRESS, "ownerOf(uint256)", &one, 1);
    CHECK(address_eq(&owner.as.address, buyer));
    CHECK_U256(view_u256(&pass, "balanceOf(address)", &who, 1), wei(1));
    CHECK_U256(view_u256_noargs(&pass, "totalMinted()"), wei(1));
    CHECK_U256(balance(&vault), price);
    CHECK_U256(balance(&pass), wei(0));
    CHECK_U256(view_u256_noargs(&vault, "unallocated()"), price);
}

static void check_mint_reverts_wrong_payment(const struct address *pass, uint64_t sent_wei)
{
    struct u256 sent = wei(sent_wei), price = wei(PASS_PRICE_WEI);
    struct abi_value want[2] = {abi_value_uint256(&sent), abi_value_uint256(&price)};
    struct txsend_outcome o;
    enum txsend_result r = send_call(&o, ACCT_FAN, pass, sent_wei, "mint()", NULL, 0);
    CHECK_REVERT(r, &o, "WrongPayment(uint256,uint256)", want, 2);
    txsend_outcome_release(&o);
}

/* A wrong payment sent with a fixed gas limit is mined and reverts: the
 * buyer pays only the fee, nothing is minted, the vault gets nothing. */
static void check_mint_mined_revert(const struct address *pass, const struct address *vault)
{
    const struct address *buyer = &chain.addr[ACCT_FAN];
    struct u256 sent = wei(PASS_PRICE_WEI + 1), buyer_before = balance(buyer);
    struct buf data;
    struct txsend_outcome o;
    struct err e = {0};
    buf_init(&data, 64);
    CHECK_INT(abi_encode_call(&data, "mint()", NULL, 0, &e), ABI_OK);
    enum txsend_result r = chain_send(&o, &chain, ACCT_FAN, pass, &sent, data.data, data.len,
                                      GAS_FIXED_FOR_MINED_REVERT, &e);
    CHECK_INT(r, TXSEND_ERR_REVERTED);
    CHECK(o.has_receipt);
    if (o.has_receipt) {
        CHECK_INT(o.receipt.status, 0);
        CHECK_INT(json_array_size(o.receipt.logs), 0);
        CHECK(o.receipt.gas_used < GAS_FIXED_FOR_MINED_REVERT);
        CHECK_U256(balance(buyer), sub_wei(buyer_before, chain_receipt_fee(&o.receipt)));
    }
    txsend_outcome_release(&o);
    buf_release(&data);
    CHECK_U256(view_u256_noargs(pass, "totalMinted()"), wei(0));
    CHECK_U256(balance(vault), wei(0));
}

static void test_mint_wrong_price_and_sold_out(void)
{
    struct address vault, pass;
    uint8_t creator_key[32];
    chain_key_of(creator_key, creator_id);
    if (!deploy_vault(&vault) || !deploy_pass(&pass, &vault, creator_key, 2, 500))
        return;
    check_mint_reverts_wrong_payment(&pass, PASS_PRICE_WEI - 1);
    check_mint_reverts_wrong_payment(&pass, PASS_PRICE_WEI + 1);
    check_mint_reverts_wrong_payment(&pass, 0);
    check_mint_mined_revert(&pass, &vault);
    CHECK_U256(view_u256_noargs(&pass, "totalMinted()"), wei(0));
    CHECK_U256(balance(&vault), wei(0));

    for (uint64_t id = 1; id <= 2; id++) {
        struct txsend_outcome o;
        enum txsend_result r = send_call(&o, ACCT_FAN, &pass, PASS_PRICE_WEI, "mint()", NULL, 0);
        CHECK_INT(r, TXSEND_OK);
        if (r == TXSEND_OK)
            check_pass_purchased_log(&o.receipt, &pass, &chain.addr[ACCT_FAN], id);
        txsend_outcome_release(&o);
    }
    struct abi_value max = abi_value_u64(2);
    struct txsend_outcome o;
    enum txsend_result r = send_call(&o, ACCT_FAN, &pass, PASS_PRICE_WEI, "mint()", NULL, 0);
    CHECK_REVERT(r, &o, "SoldOut(uint256)", &max, 1);
    txsend_outcome_release(&o);
    CHECK_U256(view_u256_noargs(&pass, "totalMinted()"), wei(2));
    CHECK_U256(balance(&vault), wei(2 * PASS_PRICE_WEI));
    CHECK_U256(view_u256_noargs(&vault, "unallocated()"), wei(2 * PASS_PRICE_WEI));
    CHECK_U256(balance(&pass), wei(0));
}

static void check_royalty_info(const struct address *pass, uint64_t token_id, uint64_t sale_wei,
                               uint64_t want_wei)
{
    struct abi_value args[2] = {abi_value_u64(token_id), abi_value_u64(sale_wei)};
    struct abi_value res[2] = {abi_value_of_type(ABI_TYPE_ADDRESS),
                               abi_value_of_type(ABI_TYPE_UINT256)};
    struct err e = {0};
    bool ok = chain_view(res, 2, &chain, pass, "royaltyInfo(uint256,uint256)", args, 2, &e);
    CHECK_MSG(ok, "royaltyInfo: %s", e.msg);
    if (!ok)
        return;
    CHECK(address_eq(&res[0].as.address, pass));
    CHECK_U256(res[1].as.uint256, wei(want_wei));
}

static void test_royalty_forwarded_to_vault(void)
{
    struct address vault, pass;
    uint8_t creator_key[32];
    chain_key_of(creator_key, creator_id);
    if (!deploy_vault(&vault) || !deploy_pass(&pass, &vault, creator_key, 10, 750))
        return;
    check_royalty_info(&pass, 1, 2 * ETHER_WEI, 150 * FINNEY_WEI); /* 7.5 % */
    check_royalty_info(&pass, 7, 1001, 75);                        /* rounds down */

    const struct address *payer = &chain.addr[ACCT_RELAYER];
    struct u256 royalty = wei(150 * FINNEY_WEI), payer_before = balance(payer);
    struct txsend_outcome o;
    struct err e = {0};
    enum txsend_result r = chain_send(&o, &chain, ACCT_RELAYER, &pass, &royalty, NULL, 0, 0, &e);
    CHECK_MSG(r == TXSEND_OK, "%s", e.msg);
    if (r == TXSEND_OK) {
        check_revenue_log(&o.receipt, &vault, creator_key, &pass, 2, payer, &royalty);
        CHECK_INT(json_array_size(o.receipt.logs), 1);
        CHECK_U256(balance(payer),
                   sub_wei(sub_wei(payer_before, royalty), chain_receipt_fee(&o.receipt)));
    }
    txsend_outcome_release(&o);
    CHECK_U256(balance(&vault), royalty);
    CHECK_U256(balance(&pass), wei(0));
    CHECK_U256(view_u256_noargs(&vault, "unallocated()"), royalty);

    /* A zero-value transfer reaches the vault's deposit, which rejects it. */
    r = chain_send(&o, &chain, ACCT_RELAYER, &pass, NULL, NULL, 0, 0, &e);
    CHECK_REVERT(r, &o, "ZeroValue()", NULL, 0);
    txsend_outcome_release(&o);
    CHECK_U256(balance(&vault), royalty);
}

/* ---- tests: SettlementVault --------------------------------------------------------- */

static void test_tip(void)
{
    struct address vault;
    if (!deploy_vault(&vault))
        return;
    uint8_t stream_key[32];
    chain_key_of(stream_key, stream_id);
    const struct address *fan = &chain.addr[ACCT_FAN];
    struct u256 amount = wei(250 * FINNEY_WEI + 3), fan_before = balance(fan);
    struct abi_value arg = abi_value_bytes32(stream_key);
    struct txsend_outcome o;
    enum txsend_result r =
        send_call(&o, ACCT_FAN, &vault, 250 * FINNEY_WEI + 3, "tip(bytes32)", &arg, 1);
    CHECK_INT(r, TXSEND_OK);
    struct chain_log l;
    if (r == TXSEND_OK && one_log(&l, &o.receipt, &vault, "Tipped(bytes32,address,uint256)")) {
        CHECK_INT(json_array_size(o.receipt.logs), 1);
        CHECK_INT(l.topic_count, 3);
        CHECK_MEM(l.topic[1], stream_key, 32);
        CHECK(topic_is_address(l.topic[2], fan));
        struct abi_value d = abi_value_of_type(ABI_TYPE_UINT256);
        CHECK_INT(abi_decode(&d, 1, l.data, l.data_len, NULL), ABI_OK);
        CHECK_INT(l.data_len, 32);
        CHECK_U256(d.as.uint256, amount);
        CHECK_U256(balance(fan),
                   sub_wei(sub_wei(fan_before, amount), chain_receipt_fee(&o.receipt)));
    }
    txsend_outcome_release(&o);
    CHECK_U256(balance(&vault), amount);
    CHECK_U256(view_u256_noargs(&vault, "unallocated()"), amount);

    r = send_call(&o, ACCT_FAN, &vault, 0, "tip(bytes32)", &arg, 1);
    CHECK_REVERT(r, &o, "ZeroValue()", NULL, 0);
    txsend_outcome_release(&o);
    CHECK_U256(balance(&vault), amount);
    CHECK_U256(view_u256_noargs(&vault, "unallocated()"), amount);
}

/* Views after a settle: root, total, and the vault's unallocated balance. */
static void check_batch_views(const struct address *vault, const uint8_t batch_key[32],
                              const uint8_t root[32], const struct u256 *total,
                              const struct u256 *unallocated)
{
    struct abi_value key = abi_value_bytes32(batch_key);
    struct abi_value got = view_one(vault, ABI_TYPE_BYTES32, "settlementRoot(bytes32)", &key, 1);
    CHECK_MEM(got.as.bytes32, root, 32);
    CHECK_U256(view_u256(vault, "settlementTotal(bytes32)", &key, 1), *total);
    CHECK_U256(view_u256_noargs(vault, "unallocated()"), *unallocated);
}

static void check_settle_denied(const struct address *vault, size_t from,
                                const uint8_t batch_key[32], const uint8_t root[32],
                                const struct u256 *total)
{
    uint8_t role[32];
    operator_role(role);
    struct abi_value want[2] = {abi_value_address(&chain.addr[from]), abi_value_bytes32(role)};
    struct txsend_outcome o;
    enum txsend_result r = send_settle(&o, from, vault, batch_key, root, total);
    CHECK_REVERT(r, &o, "AccessControlUnauthorizedAccount(address,bytes32)", want, 2);
    txsend_outcome_release(&o);
}

static void check_settle_anchored_log(const struct rpc_receipt *r, const struct address *vault,
                                      const uint8_t batch_key[32], const uint8_t root[32],
                                      const struct u256 *total)
{
    struct chain_log l;
    if (!one_log(&l, r, vault, "SettlementAnchored(bytes32,bytes32,uint256)"))
        return;
    CHECK_INT(l.topic_count, 2);
    CHECK_MEM(l.topic[1], batch_key, 32);
    struct abi_value d[2] = {abi_value_of_type(ABI_TYPE_BYTES32),
                             abi_value_of_type(ABI_TYPE_UINT256)};
    CHECK_INT(l.data_len, 64);
    CHECK_INT(abi_decode(d, 2, l.data, l.data_len, NULL), ABI_OK);
    CHECK_MEM(d[0].as.bytes32, root, 32);
    CHECK_U256(d[1].as.uint256, *total);
}

static void check_insufficient(const struct address *vault, const uint8_t batch_key[32],
                               const uint8_t root[32], const struct u256 *total,
                               const struct u256 *free_wei)
{
    struct abi_value want[2] = {abi_value_uint256(total), abi_value_uint256(free_wei)};
    struct txsend_outcome o;
    enum txsend_result r = send_settle(&o, ACCT_OPERATOR, vault, batch_key, root, total);
    CHECK_REVERT(r, &o, "InsufficientUnallocated(uint256,uint256)", want, 2);
    txsend_outcome_release(&o);
}

static void test_settle_rules(void)
{
    struct address vault;
    if (!deploy_vault(&vault) || !fund_vault(&vault, ETHER_WEI))
        return;
    struct payout p[3] = {{payee(0), wei(100 * FINNEY_WEI + 1)},
                          {payee(1), wei(200 * FINNEY_WEI + 2)},
                          {payee(2), wei(100 * FINNEY_WEI - 3)}};
    struct merkle_tree t = {0};
    uint8_t root[32], key_a[32], key_b[32], zero[32] = {0};
    if (!tree_build(&t, root, p, 3))
        return;
    merkle_tree_release(&t);
    chain_key_of(key_a, "9a4c1d7e-0b6f-4e2a-8c3d-5f1e2a3b4c5d");
    chain_key_of(key_b, "c3e8f2a1-7d4b-4a9e-b6c5-0e1f2d3c4b5a");
    struct u256 total = payouts_total(p, 3), one_eth = wei(ETHER_WEI), zero_wei = wei(0);
    CHECK_U256(total, wei(400 * FINNEY_WEI));

    check_settle_denied(&vault, ACCT_ADMIN, key_a, root, &total); /* admin is not operator */
    check_settle_denied(&vault, ACCT_FAN, key_a, root, &total);
    struct u256 too_much = wei(ETHER_WEI + 1);
    check_insufficient(&vault, key_a, root, &too_much, &one_eth);
    check_batch_views(&vault, key_a, zero, &zero_wei, &one_eth);

    struct txsend_outcome o;
    enum txsend_result r = send_settle(&o, ACCT_OPERATOR, &vault, key_a, root, &total);
    CHECK_INT(r, TXSEND_OK);
    if (r == TXSEND_OK)
        check_settle_anchored_log(&o.receipt, &vault, key_a, root, &total);
    txsend_outcome_release(&o);
    struct u256 left = wei(600 * FINNEY_WEI);
    check_batch_views(&vault, key_a, root, &total, &left);

    struct abi_value used = abi_value_bytes32(key_a);
    uint8_t other_root[32];
    chain_key_of(other_root, "another root");
    struct u256 small = wei(1);
    r = send_settle(&o, ACCT_OPERATOR, &vault, key_a, other_root, &small);
    CHECK_REVERT(r, &o, "BatchAlreadyUsed(bytes32)", &used, 1);
    txsend_outcome_release(&o);
    check_batch_views(&vault, key_a, root, &total, &left);

    struct u256 left_plus = add_wei(left, wei(1));
    check_insufficient(&vault, key_b, root, &left_plus, &left);
    r = send_settle(&o, ACCT_OPERATOR, &vault, key_b, zero, &left);
    CHECK_REVERT(r, &o, "ZeroRoot()", NULL, 0);
    txsend_outcome_release(&o);
    r = send_settle(&o, ACCT_OPERATOR, &vault, key_b, root, &zero_wei);
    CHECK_REVERT(r, &o, "ZeroTotal()", NULL, 0);
    txsend_outcome_release(&o);
    r = send_settle(&o, ACCT_OPERATOR, &vault, key_b, other_root, &left);
    CHECK_INT(r, TXSEND_OK);
    txsend_outcome_release(&o);
    check_batch_views(&vault, key_b, other_root, &left, &zero_wei);
    check_batch_views(&vault, key_a, root, &total, &zero_wei);
    CHECK_U256(balance(&vault), one_eth); /* settling moves no ETH */
}

static void check_claimed_log(const struct rpc_receipt *r, const struct address *vault,
                              const uint8_t batch_key[32], const struct payout *p)
{
    struct chain_log l;
    if (!one_log(&l, r, vault, "Claimed(bytes32,address,uint256)"))
        return;
    CHECK_INT(l.topic_count, 3);
    CHECK_MEM(l.topic[1], batch_key, 32);
    CHECK(topic_is_address(l.topic[2], &p->account));
    struct abi_value d = abi_value_of_type(ABI_TYPE_UINT256);
    CHECK_INT(l.data_len, 32);
    CHECK_INT(abi_decode(&d, 1, l.data, l.data_len, NULL), ABI_OK);
    CHECK_U256(d.as.uint256, p->amount_wei);
}

static bool view_claimed(const struct address *vault, const uint8_t batch_key[32],
                         const struct address *account)
{
    struct abi_value args[2] = {abi_value_bytes32(batch_key), abi_value_address(account)};
    return view_one(vault, ABI_TYPE_BOOL, "claimed(bytes32,address)", args, 2).as.boolean;
}

/* Relayer claims p from the batch: the payee gets exactly the amount, the
 * vault loses exactly it. Returns the claim's gasUsed (0 on failure). */
static uint64_t claim_ok(const struct address *vault, const uint8_t batch_key[32],
                         const struct merkle_tree *t, const struct payout *p)
{
    uint8_t proof[MERKLE_PROOF_MAX][32];
    size_t proof_len = 0;
    uint64_t gas = 0;
    if (!tree_proof(proof, &proof_len, t, p))
        return 0;
    struct u256 payee_before = balance(&p->account), vault_before = balance(vault);
    CHECK(!view_claimed(vault, batch_key, &p->account));
    struct txsend_outcome o;
    enum txsend_result r = send_claim(&o, ACCT_RELAYER, vault, batch_key, &p->account,
                                      &p->amount_wei, (const uint8_t(*)[32])proof, proof_len);
    CHECK_INT(r, TXSEND_OK);
    if (r == TXSEND_OK) {
        check_claimed_log(&o.receipt, vault, batch_key, p);
        gas = o.receipt.gas_used;
    }
    txsend_outcome_release(&o);
    CHECK_U256(balance(&p->account), add_wei(payee_before, p->amount_wei));
    CHECK_U256(balance(vault), sub_wei(vault_before, p->amount_wei));
    CHECK(view_claimed(vault, batch_key, &p->account));
    return gas;
}

static void check_claim_reverts(const struct address *vault, const uint8_t batch_key[32],
                                const struct address *account, const struct u256 *amount,
                                const uint8_t (*proof)[32], size_t proof_len,
                                const char *error_signature, const struct abi_value *want,
                                size_t want_count)
{
    struct u256 vault_before = balance(vault);
    struct txsend_outcome o;
    enum txsend_result r =
        send_claim(&o, ACCT_RELAYER, vault, batch_key, account, amount, proof, proof_len);
    CHECK_REVERT(r, &o, error_signature, want, want_count);
    txsend_outcome_release(&o);
    CHECK_U256(balance(vault), vault_before);
}

/* Every way to claim wrongly, against a settled batch in which p[0] has
 * already claimed: again, wrong amount, someone else's proof, no proof,
 * another batch. */
static void check_bad_claims(const struct address *vault, const uint8_t batch_key[32],
                             const struct merkle_tree *t, const struct payout *p)
{
    uint8_t proof0[MERKLE_PROOF_MAX][32], proof1[MERKLE_PROOF_MAX][32], unknown[32];
    size_t len0 = 0, len1 = 0;
    if (!tree_proof(proof0, &len0, t, &p[0]) || !tree_proof(proof1, &len1, t, &p[1]))
        return;
    struct abi_value again[2] = {abi_value_bytes32(batch_key), abi_value_address(&p[0].account)};
    check_claim_reverts(vault, batch_key, &p[0].account, &p[0].amount_wei,
                        (const uint8_t(*)[32])proof0, len0, "AlreadyClaimed(bytes32,address)",
                        again, 2);
    struct u256 more = add_wei(p[1].amount_wei, wei(1)), less = sub_wei(p[1].amount_wei, wei(1));
    check_claim_reverts(vault, batch_key, &p[1].account, &more, (const uint8_t(*)[32])proof1, len1,
                        "InvalidProof()", NULL, 0);
    check_claim_reverts(vault, batch_key, &p[1].account, &less, (const uint8_t(*)[32])proof1, len1,
                        "InvalidProof()", NULL, 0);
    check_claim_reverts(vault, batch_key, &p[1].account, &p[1].amount_wei,
                        (const uint8_t(*)[32])proof0, len0, "InvalidProof()", NULL, 0);
    check_claim_reverts(vault, batch_key, &p[1].account, &p[1].amount_wei,
                        (const uint8_t(*)[32])proof1, 0, "InvalidProof()", NULL, 0);
    /* p[0]'s leaf and proof, paid to someone else. */
    check_claim_reverts(vault, batch_key, &chain.addr[ACCT_RELAYER], &p[0].amount_wei,
                        (const uint8_t(*)[32])proof0, len0, "InvalidProof()", NULL, 0);
    chain_key_of(unknown, "00000000-0000-4000-8000-000000000000");
    struct abi_value no_batch = abi_value_bytes32(unknown);
    check_claim_reverts(vault, unknown, &p[1].account, &p[1].amount_wei,
                        (const uint8_t(*)[32])proof1, len1, "UnknownBatch(bytes32)", &no_batch, 1);
    CHECK(!view_claimed(vault, batch_key, &p[1].account));
}

static void test_claim(void)
{
    struct address vault;
    if (!deploy_vault(&vault) || !fund_vault(&vault, 2 * ETHER_WEI + 5))
        return;
    struct payout p[4] = {{payee(0), wei(500 * FINNEY_WEI + 11)},
                          {payee(1), wei(700 * FINNEY_WEI + 13)},
                          {payee(2), wei(300 * FINNEY_WEI + 17)},
                          {payee(3), wei(500 * FINNEY_WEI - 41)}};
    struct u256 total = payouts_total(p, 4);
    CHECK_U256(total, wei(2 * ETHER_WEI));
    struct merkle_tree t = {0};
    uint8_t root[32], batch_key[32];
    chain_key_of(batch_key, "e7b1c2d3-4f5a-4b6c-8d7e-9f0a1b2c3d4e");
    if (!tree_build(&t, root, p, 4))
        return;
    struct txsend_outcome o;
    enum txsend_result r = send_settle(&o, ACCT_OPERATOR, &vault, batch_key, root, &total);
    CHECK_INT(r, TXSEND_OK);
    txsend_outcome_release(&o);
    struct abi_value key = abi_value_bytes32(batch_key);
    struct abi_value on_chain =
        view_one(&vault, ABI_TYPE_BYTES32, "settlementRoot(bytes32)", &key, 1);
    CHECK_MEM(on_chain.as.bytes32, root, 32); /* the root our merkle.c computed */

    CHECK(claim_ok(&vault, batch_key, &t, &p[0]) > 0);
    check_bad_claims(&vault, batch_key, &t, p);
    for (size_t i = 1; i < 4; i++)
        CHECK(claim_ok(&vault, batch_key, &t, &p[i]) > 0);
    merkle_tree_release(&t);
    CHECK_U256(balance(&vault), wei(5));
    CHECK_U256(view_u256_noargs(&vault, "unallocated()"), wei(5));
    CHECK_U256(view_u256(&vault, "settlementTotal(bytes32)", &key, 1), total);
}

/* A batch settled for less than its tree pays out at most its total. */
static void test_claim_bounded_by_batch_total(void)
{
    struct address vault;
    if (!deploy_vault(&vault) || !fund_vault(&vault, ETHER_WEI))
        return;
    struct payout p[3] = {{payee(0), wei(10 * FINNEY_WEI)},
                          {payee(1), wei(20 * FINNEY_WEI)},
                          {payee(2), wei(30 * FINNEY_WEI)}};
    struct merkle_tree t = {0};
    uint8_t root[32], batch_key[32], proof[MERKLE_PROOF_MAX][32];
    size_t proof_len = 0;
    chain_key_of(batch_key, "1f2e3d4c-5b6a-4798-a6b5-c4d3e2f1a0b9");
    struct u256 total = wei(45 * FINNEY_WEI);
    struct txsend_outcome o;
    if (!tree_build(&t, root, p, 3))
        return;
    enum txsend_result r = send_settle(&o, ACCT_OPERATOR, &vault, batch_key, root, &total);
    CHECK_INT(r, TXSEND_OK);
    txsend_outcome_release(&o);
    CHECK(claim_ok(&vault, batch_key, &t, &p[2]) > 0);
    if (tree_proof(proof, &proof_len, &t, &p[1])) {
        struct u256 remaining = wei(15 * FINNEY_WEI);
        struct abi_value want[3] = {abi_value_bytes32(batch_key),
                                    abi_value_uint256(&p[1].amount_wei),
                                    abi_value_uint256(&remaining)};
        check_claim_reverts(&vault, batch_key, &p[1].account, &p[1].amount_wei,
                            (const uint8_t(*)[32])proof, proof_len,
                            "BatchOverdrawn(bytes32,uint256,uint256)", want, 3);
    }
    CHECK(claim_ok(&vault, batch_key, &t, &p[0]) > 0);
    merkle_tree_release(&t);
    CHECK_U256(balance(&vault), wei(ETHER_WEI - 40 * FINNEY_WEI));
}

/* ---- tests: recordings -------------------------------------------------------------- */

/* Root of 2 renditions x 3 segments (media sequence 40..42) of synthetic bytes. */
static bool recording_root(uint8_t root[32], uint64_t segment_count_expected)
{
    uint8_t leaves[6][32];
    size_t n = 0;
    struct err e = {0};
    for (uint64_t rendition = 0; rendition < 2; rendition++) {
        for (uint64_t seq = 40; seq < 43; seq++) {
            char segment[64];
            int len = snprintf(segment, sizeof segment, "rendition %llu segment %llu",
                               (unsigned long long)rendition, (unsigned long long)seq);
            uint8_t sha[CRYPTO_SHA256_BYTES];
            ASSERT(len > 0 && (size_t)len < sizeof segment);
            if (crypto_sha256(sha, segment, (size_t)len, &e) != CRYPTO_OK)
                return false;
            merkle_leaf_recording_u64(leaves[n++], rendition, seq, sha);
        }
    }
    ASSERT(n == segment_count_expected);
    struct merkle_tree t = {0};
    if (merkle_tree_build(&t, (const uint8_t(*)[32])leaves, n, &e) != MERKLE_OK)
        return false;
    merkle_tree_root(root, &t);
    merkle_tree_release(&t);
    return true;
}

static enum txsend_result send_anchor(struct txsend_outcome *o, size_t from,
                                      const struct address *vault, const uint8_t stream_key[32],
                                      const uint8_t root[32], uint64_t segments)
{
    struct abi_value args[3] = {abi_value_bytes32(stream_key), abi_value_bytes32(root),
                                abi_value_u64(segments)};
    return send_call(o, from, vault, 0, "anchorRecording(bytes32,bytes32,uint256)", args, 3);
}

static void check_recording_root(const struct address *vault, const uint8_t stream_key[32],
                                 const uint8_t want[32])
{
    struct abi_value key = abi_value_bytes32(stream_key);
    struct abi_value got = view_one(vault, ABI_TYPE_BYTES32, "recordingRoot(bytes32)", &key, 1);
    CHECK_MEM(got.as.bytes32, want, 32);
}

static void check_recording_anchored_log(const struct rpc_receipt *r, const struct address *vault,
                                         const uint8_t stream_key[32], const uint8_t root[32],
                                         uint64_t segments)
{
    struct chain_log l;
    if (!one_log(&l, r, vault, "RecordingAnchored(bytes32,bytes32,uint256)"))
        return;
    CHECK_INT(l.topic_count, 2);
    CHECK_MEM(l.topic[1], stream_key, 32);
    struct abi_value d[2] = {abi_value_of_type(ABI_TYPE_BYTES32),
                             abi_value_of_type(ABI_TYPE_UINT256)};
    CHECK_INT(l.data_len, 64);
    CHECK_INT(abi_decode(d, 2, l.data, l.data_len, NULL), ABI_OK);
    CHECK_MEM(d[0].as.bytes32, root, 32);
    CHECK_U256(d[1].as.uint256, wei(segments));
}

static void test_anchor_recording(void)
{
    struct address vault;
    uint8_t stream_key[32], root[32], other_root[32], role[32], zero[32] = {0};
    if (!deploy_vault(&vault))
        return;
    CHECK(recording_root(root, 6));
    chain_key_of(stream_key, stream_id);
    chain_key_of(other_root, "not the recording");
    operator_role(role);
    struct abi_value role_view = view_one(&vault, ABI_TYPE_BYTES32, "OPERATOR_ROLE()", NULL, 0);
    CHECK_MEM(role_view.as.bytes32, role, 32);

    struct abi_value denied[2] = {abi_value_address(&chain.addr[ACCT_ADMIN]),
                                  abi_value_bytes32(role)};
    struct txsend_outcome o;
    enum txsend_result r = send_anchor(&o, ACCT_ADMIN, &vault, stream_key, root, 6);
    CHECK_REVERT(r, &o, "AccessControlUnauthorizedAccount(address,bytes32)", denied, 2);
    txsend_outcome_release(&o);
    r = send_anchor(&o, ACCT_OPERATOR, &vault, stream_key, root, 0);
    CHECK_REVERT(r, &o, "ZeroSegments()", NULL, 0);
    txsend_outcome_release(&o);
    r = send_anchor(&o, ACCT_OPERATOR, &vault, stream_key, zero, 6);
    CHECK_REVERT(r, &o, "ZeroRoot()", NULL, 0);
    txsend_outcome_release(&o);
    check_recording_root(&vault, stream_key, zero);

    r = send_anchor(&o, ACCT_OPERATOR, &vault, stream_key, root, 6);
    CHECK_INT(r, TXSEND_OK);
    if (r == TXSEND_OK)
        check_recording_anchored_log(&o.receipt, &vault, stream_key, root, 6);
    txsend_outcome_release(&o);
    check_recording_root(&vault, stream_key, root);

    struct abi_value again = abi_value_bytes32(stream_key);
    r = send_anchor(&o, ACCT_OPERATOR, &vault, stream_key, other_root, 7);
    CHECK_REVERT(r, &o, "RecordingAlreadyAnchored(bytes32)", &again, 1);
    txsend_outcome_release(&o);
    check_recording_root(&vault, stream_key, root);
    check_recording_root(&vault, other_root, zero); /* another stream: untouched */
}

/* ---- tests: gas ----------------------------------------------------------------------- */

/* 21000 + 4 per zero byte + 16 per other byte of the settle calldata. */
static uint64_t settle_intrinsic_gas(const uint8_t batch_key[32], const uint8_t root[32],
                                     const struct u256 *total)
{
    struct abi_value args[3] = {abi_value_bytes32(batch_key), abi_value_bytes32(root),
                                abi_value_uint256(total)};
    struct buf data;
    uint64_t gas = 21000;
    buf_init(&data, 256);
    ASSERT(abi_encode_call(&data, "settle(bytes32,bytes32,uint256)", args, 3, NULL) == ABI_OK);
    for (size_t i = 0; i < data.len; i++)
        gas += data.data[i] == 0 ? 4u : 16u;
    buf_release(&data);
    return gas;
}

static uint64_t settle_gas(const struct address *vault, const char *settlement_id,
                           const uint8_t root[32], const struct u256 *total, uint64_t *exec_out)
{
    uint8_t key[32];
    chain_key_of(key, settlement_id);
    struct txsend_outcome o;
    uint64_t gas = 0;
    enum txsend_result r = send_settle(&o, ACCT_OPERATOR, vault, key, root, total);
    CHECK_INT(r, TXSEND_OK);
    if (r == TXSEND_OK)
        gas = o.receipt.gas_used;
    txsend_outcome_release(&o);
    uint64_t intrinsic = settle_intrinsic_gas(key, root, total);
    *exec_out = gas > intrinsic ? gas - intrinsic : 0;
    return gas;
}

/* 100 payees of 10 finney: anvil account 4 and 99 addresses derived from the
 * vault's address, so they are new accounts on every run. */
static void hundred_payees(struct payout *p, const struct address *vault)
{
    char vault_hex[ADDRESS_TEXT_SIZE];
    address_format_lower(vault_hex, vault);
    for (size_t i = 0; i < 100; i++) {
        char label[96];
        uint8_t h[32];
        int n = snprintf(label, sizeof label, "%s payee %zu", vault_hex, i);
        ASSERT(n > 0 && (size_t)n < sizeof label);
        keccak256(h, label, (size_t)n);
        memcpy(p[i].account.bytes, h + 12, 20);
        p[i].amount_wei = wei(10 * FINNEY_WEI);
    }
    p[0].account = payee(0);
}

/* Settles a 1-payee warm-up batch, then a 2-payee and a 100-payee batch of
 * the same total, and compares their gas; then claims from both. */
static void measure_gas(const struct address *vault, const struct merkle_tree *t2,
                        const struct payout *two, const struct merkle_tree *t100,
                        const struct payout *hundred, const uint8_t r1[32],
                        const struct u256 *total1, const uint8_t r2[32], const uint8_t r100[32])
{
    struct u256 total = payouts_total(two, 2);
    uint64_t exec1 = 0, exec2 = 0, exec100 = 0;
    uint8_t k2[32], k100[32];
    /* The first settle turns the allocated counter from zero to non-zero; the
     * two measured ones both find it non-zero and write fresh batch slots. */
    uint64_t g1 = settle_gas(vault, "settle-warmup", r1, total1, &exec1);
    uint64_t g2 = settle_gas(vault, "settle-two", r2, &total, &exec2);
    uint64_t g100 = settle_gas(vault, "settle-hundred", r100, &total, &exec100);
    fprintf(stdout,
            "# settle gasUsed: first %llu, 2 payees %llu, 100 payees %llu "
            "(without calldata: %llu / %llu / %llu)\n",
            (unsigned long long)g1, (unsigned long long)g2, (unsigned long long)g100,
            (unsigned long long)exec1, (unsigned long long)exec2, (unsigned long long)exec100);
    CHECK(g2 > 0 && g100 > 0);
    CHECK_INT(exec2, exec100);

    chain_key_of(k2, "settle-two");
    chain_key_of(k100, "settle-hundred");
    struct u256 existing = balance(&two[0].account);
    CHECK(!u256_is_zero(&existing)); /* the measured payee is a funded account */
    uint64_t c2 = claim_ok(vault, k2, t2, &two[0]);
    uint64_t c100 = claim_ok(vault, k100, t100, &hundred[0]);
    uint64_t c_new = claim_ok(vault, k100, t100, &hundred[57]);
    fprintf(stdout,
            "# claim gasUsed, existing payee: 2-payee batch %llu, 100-payee batch %llu; "
            "new account in the 100-payee batch %llu\n",
            (unsigned long long)c2, (unsigned long long)c100, (unsigned long long)c_new);
    CHECK(c2 > 0 && c2 <= CLAIM_GAS_MAX);
    CHECK(c100 > 0 && c100 <= CLAIM_GAS_MAX);
    CHECK(c_new > c100); /* paying a new account costs more (account creation) */
}

static void test_gas(void)
{
    struct address vault;
    if (!deploy_vault(&vault) || !fund_vault(&vault, 5 * ETHER_WEI))
        return;
    static struct payout hundred[100];
    struct payout first[1] = {{payee(1), wei(ETHER_WEI / 2)}};
    struct payout two[2] = {{payee(0), wei(400 * FINNEY_WEI)}, {payee(2), wei(600 * FINNEY_WEI)}};
    hundred_payees(hundred, &vault);
    CHECK_U256(payouts_total(hundred, 100), payouts_total(two, 2));
    struct merkle_tree t1 = {0}, t2 = {0}, t100 = {0};
    uint8_t r1[32], r2[32], r100[32];
    struct u256 total1 = payouts_total(first, 1);
    if (tree_build(&t1, r1, first, 1) && tree_build(&t2, r2, two, 2) &&
        tree_build(&t100, r100, hundred, 100))
        measure_gas(&vault, &t2, two, &t100, hundred, r1, &total1, r2, r100);
    merkle_tree_release(&t1);
    merkle_tree_release(&t2);
    merkle_tree_release(&t100);
}

int main(void)
{
    struct err e = {0};
    if (!chain_open(&chain, &e)) {
        fprintf(stdout, "# %s\nnot ok - environment\n0 passed, 1 failed\n", e.msg);
        return 1;
    }
    RUN(test_value_transfer_signed_by_us);
    RUN(test_mint_at_price);
    RUN(test_mint_wrong_price_and_sold_out);
    RUN(test_royalty_forwarded_to_vault);
    RUN(test_tip);
    RUN(test_settle_rules);
    RUN(test_claim);
    RUN(test_claim_bounded_by_batch_total);
    RUN(test_anchor_recording);
    RUN(test_gas);
    chain_close(&chain);
    return harness_finish();
}
