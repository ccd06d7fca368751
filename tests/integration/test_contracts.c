/*
 * test_contracts.c - SettlementVault (v2) and RightsPass on a real anvil
 * node, driven only by our own code: every transaction is built and signed
 * by tx.c through txsend, calldata and event data go through abi.c, and the
 * settlement and recording roots anchored on-chain come from merkle.c.
 *
 * Environment: ETH_RPC_URL (required; tests/run.sh starts anvil, chain
 * 31337, default mnemonic). Without it the test fails, it does not skip.
 * Run from the repository root (artifacts are read from contracts-abi/).
 *
 * Each test deploys its own vault and, when needed, its own pass, so the
 * tests are independent. The accounts are vault_fixture.h's: admin = 0,
 * operator = 1, fan (buyer, tipper) = 2, a third party that submits claims
 * (so a payee's balance moves by exactly the claimed amount) = 3, payees
 * that already exist on-chain = 4..7, guardian = 8. Balances of senders are
 * checked exactly too, with the fee taken from the receipt (gasUsed *
 * effectiveGasPrice). Revenue is checked per creator (receivedOf,
 * unallocatedOf) and in total (unallocated()) after every move.
 *
 * Reverts are checked through eth_estimateGas revert data: the first four
 * bytes must be abi_selector() of the custom error's signature (copied from
 * contracts-abi/src/{SettlementVault,RightsPass}.sol or their OpenZeppelin
 * bases) and the whole data must equal the error encoded with the expected
 * arguments. One test forces a mined revert instead (fixed gas limit) and
 * checks that only the fee was spent.
 *
 * Time rules (claimableAt, the claim window) are checked on both sides of
 * each boundary. eth_estimateGas runs against the latest block, so a revert
 * is checked with the latest block mined at the boundary (chain_mine_at),
 * and a transaction meant to land at an exact second is sent with a fixed
 * gas limit after chain_set_next_block_time(). Time only moves forward, by
 * at most a few hours per test.
 *
 * Gas measurements are in test_vault_actors.c.
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

#include "vault_fixture.h"

#define CLAIM_DELAY_S 600u             /* the audit window of the timed tests */
#define CLAIM_WINDOW_S 3600u           /* the claim window of the reclaim test */
#define CLAIM_DELAY_MAX_S 2592000u     /* SettlementVault.CLAIM_DELAY_MAX: 30 days */
#define CLAIM_WINDOW_MAX_S 315360000u  /* SettlementVault.CLAIM_WINDOW_MAX: 10 * 365 days */
#define GAS_FIXED_FOR_TIMED_TX 300000u /* no estimate: the tx lands at a set second */
#define GAS_FIXED_FOR_ROYALTY 300000u  /* leaves receive() over its FORWARD_GAS_MIN */
#define BATCH_CANCELLED 2              /* SettlementVault STATE_CANCELLED */
#define BATCH_RECLAIMED 3              /* SettlementVault STATE_RECLAIMED */
#define FORCE_SEND_ARTIFACT "contracts-abi/test/ForceSend.json"

/* A second creator with revenue of its own, and a third with none. */
static const char creator_b_id[] = "7c9e6679-7425-40de-944b-e07fc1f90ae7";
static const char stream_b_id[] = "1b4e28ba-2fa1-41d2-883f-0016d3cca427";
static const char creator_c_id[] = "16fd2706-8baf-433b-82eb-8c7fada847da";

/* ---- helpers: the vault's per-creator books and batches ---------------------------- */

static struct u256 view_by_key(const struct address *vault, const char *sig, const uint8_t key[32])
{
    struct abi_value arg = abi_value_bytes32(key);
    return view_u256(vault, sig, &arg, 1);
}

/* receivedOf and unallocatedOf of `creator` (a UUID string). */
static void check_books(const struct address *vault, const char *creator, uint64_t received_wei,
                        uint64_t unallocated_wei)
{
    uint8_t key[32];
    chain_key_of(key, creator);
    CHECK_U256(view_by_key(vault, "receivedOf(bytes32)", key), wei(received_wei));
    CHECK_U256(view_by_key(vault, "unallocatedOf(bytes32)", key), wei(unallocated_wei));
}

/* A batch's creator, what it still owes, and when its claims open. */
static void check_batch_state(const struct address *vault, const uint8_t batch_key[32],
                              const uint8_t creator_key[32], uint64_t remaining_wei,
                              uint64_t claimable_at)
{
    struct abi_value key = abi_value_bytes32(batch_key);
    struct abi_value got = view_one(vault, ABI_TYPE_BYTES32, "settlementCreator(bytes32)", &key, 1);
    CHECK_MEM(got.as.bytes32, creator_key, 32);
    CHECK_U256(view_u256(vault, "settlementRemaining(bytes32)", &key, 1), wei(remaining_wei));
    CHECK_U256(view_u256(vault, "claimableAt(bytes32)", &key, 1), wei(claimable_at));
}

static enum txsend_result send_by_key(struct txsend_outcome *o, size_t from,
                                      const struct address *vault, const char *sig,
                                      const uint8_t key[32])
{
    struct abi_value arg = abi_value_bytes32(key);
    return send_call(o, from, vault, 0, sig, &arg, 1);
}

/* `sig`(key) sent by `from` with a fixed gas limit, mined in a block whose
 * timestamp is `ts` exactly. */
static enum txsend_result send_by_key_at(struct txsend_outcome *o, size_t from,
                                         const struct address *vault, const char *sig,
                                         const uint8_t key[32], uint64_t ts)
{
    struct abi_value arg = abi_value_bytes32(key);
    struct err e = {0};
    memset(o, 0, sizeof *o);
    if (!chain_set_next_block_time(ts))
        return TXSEND_ERR_RPC;
    enum txsend_result r =
        chain_send_call(o, &chain, from, vault, NULL, sig, &arg, 1, GAS_FIXED_FOR_TIMED_TX, &e);
    if (r != TXSEND_OK)
        fprintf(stdout, "# %s at %llu: %s\n", sig, (unsigned long long)ts, e.msg);
    if (o->has_receipt)
        CHECK_INT(chain_block_time(o->receipt.block_number), ts);
    return r;
}

/* `sig`(key) sent by `from` reverts with error_signature(want) (compared as
 * ABI words); the vault's balance and unallocated() do not move. */
static void check_by_key_reverts(const struct address *vault, size_t from, const char *sig,
                                 const uint8_t key[32], const char *error_signature,
                                 const struct abi_value *want, size_t want_count)
{
    struct u256 vault_before = balance(vault);
    struct u256 free_before = view_u256_noargs(vault, "unallocated()");
    struct txsend_outcome o;
    enum txsend_result r = send_by_key(&o, from, vault, sig, key);
    CHECK_REVERT_WORDS(r, &o, error_signature, want, want_count);
    txsend_outcome_release(&o);
    CHECK_U256(balance(vault), vault_before);
    CHECK_U256(view_u256_noargs(vault, "unallocated()"), free_before);
}

/* `sig`(key) from each account of from[0..n) reverts
 * AccessControlUnauthorizedAccount(that account, role). */
static void check_by_key_denied(const struct address *vault, const size_t *from, size_t n,
                                const char *sig, const uint8_t key[32], const uint8_t role[32])
{
    for (size_t i = 0; i < n; i++) {
        struct abi_value want[2] = {abi_value_address(&chain.addr[from[i]]),
                                    abi_value_bytes32(role)};
        check_by_key_reverts(vault, from[i], sig, key,
                             "AccessControlUnauthorizedAccount(address,bytes32)", want, 2);
    }
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
    check_books(&vault, creator_id, PASS_PRICE_WEI, PASS_PRICE_WEI);
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
    check_books(&vault, creator_id, 2 * PASS_PRICE_WEI, 2 * PASS_PRICE_WEI);
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

/* The royalty as a plain transfer with gas enough for receive() to forward it
 * in the same transaction: kind 2, the sender as payer, nothing held. */
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
    enum txsend_result r =
        chain_send(&o, &chain, ACCT_RELAYER, &pass, &royalty, NULL, 0, GAS_FIXED_FOR_ROYALTY, &e);
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
    check_books(&vault, creator_id, 150 * FINNEY_WEI, 150 * FINNEY_WEI);
}

/* A zero-value transfer to the pass (a royalty of 0 wei) succeeds, emits
 * nothing and moves nothing but the sender's fee. */
static void test_zero_royalty_changes_nothing(void)
{
    struct address vault, pass;
    uint8_t creator_key[32];
    chain_key_of(creator_key, creator_id);
    if (!deploy_vault(&vault) || !deploy_pass(&pass, &vault, creator_key, 10, 750) ||
        !fund_vault(&vault, 3 * FINNEY_WEI))
        return;
    const struct address *payer = &chain.addr[ACCT_RELAYER];
    struct u256 payer_before = balance(payer);
    for (int gas_fixed = 0; gas_fixed <= 1; gas_fixed++) {
        struct txsend_outcome o;
        struct err e = {0};
        enum txsend_result r = chain_send(&o, &chain, ACCT_RELAYER, &pass, NULL, NULL, 0,
                                          gas_fixed ? GAS_FIXED_FOR_ROYALTY : 0, &e);
        CHECK_MSG(r == TXSEND_OK, "%s", e.msg);
        if (r == TXSEND_OK) {
            CHECK_INT(o.receipt.status, 1);
            CHECK_INT(json_array_size(o.receipt.logs), 0);
            payer_before = sub_wei(payer_before, chain_receipt_fee(&o.receipt));
        }
        txsend_outcome_release(&o);
        CHECK_U256(balance(payer), payer_before);
    }
    CHECK_U256(balance(&pass), wei(0));
    CHECK_U256(balance(&vault), wei(3 * FINNEY_WEI));
    CHECK_U256(view_u256_noargs(&vault, "unallocated()"), wei(3 * FINNEY_WEI));
    check_books(&vault, creator_id, 3 * FINNEY_WEI, 3 * FINNEY_WEI);
}

static void check_royalty_held_log(const struct rpc_receipt *r, const struct address *pass,
                                   const struct address *from, const struct u256 *amount)
{
    struct chain_log l;
    if (!one_log(&l, r, pass, "RoyaltyHeld(address,uint256)"))
        return;
    CHECK_INT(l.topic_count, 2);
    CHECK(topic_is_address(l.topic[1], from));
    struct abi_value d = abi_value_of_type(ABI_TYPE_UINT256);
    CHECK_INT(l.data_len, 32);
    CHECK_INT(abi_decode(&d, 1, l.data, l.data_len, NULL), ABI_OK);
    CHECK_U256(d.as.uint256, *amount);
}

/* What a wallet does: send with the gas eth_estimateGas asks for. That is
 * the least gas with which the transfer succeeds, i.e. receive()'s holding
 * path: the royalty is held (RoyaltyHeld), not forwarded, and not lost;
 * flush() by anyone forwards it as kind 2 with the pass as payer. */
static void test_royalty_with_estimated_gas_is_held(void)
{
    struct address vault, pass;
    uint8_t creator_key[32];
    chain_key_of(creator_key, creator_id);
    if (!deploy_vault(&vault) || !deploy_pass(&pass, &vault, creator_key, 10, 750))
        return;
    const struct address *payer = &chain.addr[ACCT_RELAYER];
    struct u256 royalty = wei(40 * FINNEY_WEI + 9);
    struct txsend_outcome o;
    struct err e = {0};
    enum txsend_result r = chain_send(&o, &chain, ACCT_RELAYER, &pass, &royalty, NULL, 0, 0, &e);
    CHECK_MSG(r == TXSEND_OK, "%s", e.msg);
    if (r == TXSEND_OK) {
        CHECK_INT(json_array_size(o.receipt.logs), 1);
        check_royalty_held_log(&o.receipt, &pass, payer, &royalty);
    }
    txsend_outcome_release(&o);
    CHECK_U256(balance(&pass), royalty);
    CHECK_U256(balance(&vault), wei(0));
    check_books(&vault, creator_id, 0, 0);

    r = send_call(&o, ACCT_FAN, &pass, 0, "flush()", NULL, 0);
    CHECK_INT(r, TXSEND_OK);
    if (r == TXSEND_OK)
        check_revenue_log(&o.receipt, &vault, creator_key, &pass, 2, &pass, &royalty);
    txsend_outcome_release(&o);
    CHECK_U256(balance(&pass), wei(0));
    CHECK_U256(balance(&vault), royalty);
    check_books(&vault, creator_id, 40 * FINNEY_WEI + 9, 40 * FINNEY_WEI + 9);
}

/* ---- tests: SettlementVault revenue ------------------------------------------------- */

static void check_tipped_log(const struct rpc_receipt *r, const struct address *vault,
                             const uint8_t creator_key[32], const uint8_t stream_key[32],
                             const struct address *from, const struct u256 *amount)
{
    struct chain_log l;
    if (!one_log(&l, r, vault, "Tipped(bytes32,bytes32,address,uint256)"))
        return;
    CHECK_INT(l.topic_count, 4);
    CHECK_MEM(l.topic[1], creator_key, 32);
    CHECK_MEM(l.topic[2], stream_key, 32);
    CHECK(topic_is_address(l.topic[3], from));
    struct abi_value d = abi_value_of_type(ABI_TYPE_UINT256);
    CHECK_INT(l.data_len, 32);
    CHECK_INT(abi_decode(&d, 1, l.data, l.data_len, NULL), ABI_OK);
    CHECK_U256(d.as.uint256, *amount);
}

static void test_tip(void)
{
    struct address vault;
    if (!deploy_vault(&vault))
        return;
    uint8_t creator_key[32], stream_key[32];
    chain_key_of(creator_key, creator_id);
    chain_key_of(stream_key, stream_id);
    const struct address *fan = &chain.addr[ACCT_FAN];
    const uint64_t amount_wei = 250 * FINNEY_WEI + 3;
    struct u256 amount = wei(amount_wei), fan_before = balance(fan);
    struct abi_value args[2] = {abi_value_bytes32(creator_key), abi_value_bytes32(stream_key)};
    struct txsend_outcome o;
    enum txsend_result r =
        send_call(&o, ACCT_FAN, &vault, amount_wei, "tip(bytes32,bytes32)", args, 2);
    CHECK_INT(r, TXSEND_OK);
    if (r == TXSEND_OK) {
        CHECK_INT(json_array_size(o.receipt.logs), 1);
        check_tipped_log(&o.receipt, &vault, creator_key, stream_key, fan, &amount);
        CHECK_U256(balance(fan),
                   sub_wei(sub_wei(fan_before, amount), chain_receipt_fee(&o.receipt)));
    }
    txsend_outcome_release(&o);
    CHECK_U256(balance(&vault), amount);
    CHECK_U256(view_u256_noargs(&vault, "unallocated()"), amount);
    check_books(&vault, creator_id, amount_wei, amount_wei);
    check_books(&vault, creator_b_id, 0, 0);

    /* Another creator's tip lands in its own books only. */
    CHECK(tip_creator(&vault, creator_b_id, stream_b_id, 7));
    check_books(&vault, creator_id, amount_wei, amount_wei);
    check_books(&vault, creator_b_id, 7, 7);
    CHECK_U256(view_u256_noargs(&vault, "unallocated()"), wei(amount_wei + 7));

    r = send_call(&o, ACCT_FAN, &vault, 0, "tip(bytes32,bytes32)", args, 2);
    CHECK_REVERT(r, &o, "ZeroValue()", NULL, 0);
    txsend_outcome_release(&o);
    CHECK_U256(balance(&vault), wei(amount_wei + 7));
    check_books(&vault, creator_id, amount_wei, amount_wei);
}

static enum txsend_result send_deposit(struct txsend_outcome *o, size_t from,
                                       const struct address *vault, uint8_t kind,
                                       const struct address *payer, uint64_t value_wei)
{
    uint8_t creator_key[32];
    chain_key_of(creator_key, creator_id);
    struct abi_value args[3] = {abi_value_bytes32(creator_key), abi_value_uint8(kind),
                                abi_value_address(payer)};
    return send_call(o, from, vault, value_wei, "deposit(bytes32,uint8,address)", args, 3);
}

static void check_deposit_reverts(const struct address *vault, uint8_t kind, uint64_t value_wei,
                                  const char *error_signature, const struct abi_value *want,
                                  size_t want_count)
{
    struct txsend_outcome o;
    enum txsend_result r =
        send_deposit(&o, ACCT_FAN, vault, kind, &chain.addr[ACCT_FAN], value_wei);
    CHECK_REVERT(r, &o, error_signature, want, want_count);
    txsend_outcome_release(&o);
}

/* A deposit by an account (anyone may call): RevenueReceived names the
 * caller as source and the payer it gave; the caller pays value + fee. */
static void check_deposit_ok(const struct address *vault, size_t from, uint8_t kind,
                             const struct address *payer, uint64_t value_wei)
{
    uint8_t creator_key[32];
    chain_key_of(creator_key, creator_id);
    struct u256 value = wei(value_wei), from_before = balance(&chain.addr[from]);
    struct txsend_outcome o;
    enum txsend_result r = send_deposit(&o, from, vault, kind, payer, value_wei);
    CHECK_INT(r, TXSEND_OK);
    if (r == TXSEND_OK) {
        CHECK_INT(json_array_size(o.receipt.logs), 1);
        check_revenue_log(&o.receipt, vault, creator_key, &chain.addr[from], kind, payer, &value);
        CHECK_U256(balance(&chain.addr[from]),
                   sub_wei(sub_wei(from_before, value), chain_receipt_fee(&o.receipt)));
    }
    txsend_outcome_release(&o);
}

/* deposit() takes kind 1 (pass sale) and 2 (royalty) only, checked before
 * the value, and never zero value. */
static void test_deposit_rules(void)
{
    struct address vault;
    if (!deploy_vault(&vault))
        return;
    static const uint8_t bad_kinds[3] = {0, 3, 255};
    for (size_t i = 0; i < 3; i++) {
        struct abi_value want = abi_value_uint8(bad_kinds[i]);
        check_deposit_reverts(&vault, bad_kinds[i], FINNEY_WEI, "InvalidKind(uint8)", &want, 1);
    }
    struct abi_value kind0 = abi_value_uint8(0);
    check_deposit_reverts(&vault, 0, 0, "InvalidKind(uint8)", &kind0, 1);
    check_deposit_reverts(&vault, 1, 0, "ZeroValue()", NULL, 0);
    check_deposit_reverts(&vault, 2, 0, "ZeroValue()", NULL, 0);
    CHECK_U256(balance(&vault), wei(0));
    check_books(&vault, creator_id, 0, 0);

    check_deposit_ok(&vault, ACCT_FAN, 1, &chain.addr[ACCT_RELAYER], 3 * FINNEY_WEI + 1);
    check_deposit_ok(&vault, ACCT_RELAYER, 2, &chain.addr[ACCT_FAN], 2 * FINNEY_WEI);
    CHECK_U256(balance(&vault), wei(5 * FINNEY_WEI + 1));
    CHECK_U256(view_u256_noargs(&vault, "unallocated()"), wei(5 * FINNEY_WEI + 1));
    check_books(&vault, creator_id, 5 * FINNEY_WEI + 1, 5 * FINNEY_WEI + 1);
    check_books(&vault, creator_b_id, 0, 0);
}

/* ---- tests: SettlementVault settlement ---------------------------------------------- */

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
                                      const uint8_t batch_key[32], const uint8_t creator_key[32],
                                      const uint8_t root[32], const struct u256 *total,
                                      uint64_t claimable_at)
{
    struct chain_log l;
    if (!one_log(&l, r, vault, "SettlementAnchored(bytes32,bytes32,bytes32,uint256,uint64)"))
        return;
    CHECK_INT(l.topic_count, 3);
    CHECK_MEM(l.topic[1], batch_key, 32);
    CHECK_MEM(l.topic[2], creator_key, 32);
    struct abi_value d[3] = {abi_value_of_type(ABI_TYPE_BYTES32),
                             abi_value_of_type(ABI_TYPE_UINT256),
                             abi_value_of_type(ABI_TYPE_UINT256)}; /* uint64: one word */
    CHECK_INT(l.data_len, 96);
    CHECK_INT(abi_decode(d, 3, l.data, l.data_len, NULL), ABI_OK);
    CHECK_MEM(d[0].as.bytes32, root, 32);
    CHECK_U256(d[1].as.uint256, *total);
    CHECK_U256(d[2].as.uint256, wei(claimable_at));
}

/* The operator settles `total_wei` of `creator`'s revenue as batch
 * `batch_key` with `root`. Checks the one SettlementAnchored log and the
 * batch views against claimableAt = the settle block's time + claim_delay_s,
 * and returns that claimableAt (0 on failure). */
static uint64_t settle_ok(const struct address *vault, const uint8_t batch_key[32],
                          const char *creator, const uint8_t root[32], uint64_t total_wei,
                          uint64_t claim_delay_s)
{
    uint8_t creator_key[32];
    chain_key_of(creator_key, creator);
    struct u256 total = wei(total_wei);
    uint64_t at = 0;
    struct txsend_outcome o;
    enum txsend_result r =
        send_settle_for(&o, ACCT_OPERATOR, vault, batch_key, creator_key, root, &total);
    CHECK_INT(r, TXSEND_OK);
    if (r == TXSEND_OK) {
        at = chain_block_time(o.receipt.block_number) + claim_delay_s;
        CHECK_INT(json_array_size(o.receipt.logs), 1);
        check_settle_anchored_log(&o.receipt, vault, batch_key, creator_key, root, &total, at);
    }
    txsend_outcome_release(&o);
    if (at != 0)
        check_batch_state(vault, batch_key, creator_key, total_wei, at);
    return at;
}

static void check_insufficient(const struct address *vault, const uint8_t batch_key[32],
                               const char *creator, const uint8_t root[32],
                               const struct u256 *total, const struct u256 *free_wei)
{
    uint8_t creator_key[32];
    chain_key_of(creator_key, creator);
    struct abi_value want[3] = {abi_value_bytes32(creator_key), abi_value_uint256(total),
                                abi_value_uint256(free_wei)};
    struct txsend_outcome o;
    enum txsend_result r =
        send_settle_for(&o, ACCT_OPERATOR, vault, batch_key, creator_key, root, total);
    CHECK_REVERT(r, &o, "InsufficientUnallocated(bytes32,uint256,uint256)", want, 3);
    txsend_outcome_release(&o);
}

/* Batch key a is settled; key a again, key b over the rest, a zero root and
 * a zero total are refused, then key b takes exactly the rest. */
static void check_settle_second_batch(const struct address *vault, const uint8_t key_a[32],
                                      const uint8_t key_b[32], const uint8_t root[32],
                                      const struct u256 *total_a, uint64_t left_wei)
{
    uint8_t other_root[32], zero[32] = {0};
    chain_key_of(other_root, "another root");
    struct abi_value used = abi_value_bytes32(key_a);
    struct u256 small = wei(1), zero_wei = wei(0), left_plus = wei(left_wei + 1);
    const struct u256 left_v = wei(left_wei), *left = &left_v;
    struct txsend_outcome o;
    enum txsend_result r = send_settle(&o, ACCT_OPERATOR, vault, key_a, other_root, &small);
    CHECK_REVERT(r, &o, "BatchAlreadyUsed(bytes32)", &used, 1);
    txsend_outcome_release(&o);
    check_batch_views(vault, key_a, root, total_a, left);

    check_insufficient(vault, key_b, creator_id, root, &left_plus, left);
    r = send_settle(&o, ACCT_OPERATOR, vault, key_b, zero, left);
    CHECK_REVERT(r, &o, "ZeroRoot()", NULL, 0);
    txsend_outcome_release(&o);
    r = send_settle(&o, ACCT_OPERATOR, vault, key_b, root, &zero_wei);
    CHECK_REVERT(r, &o, "ZeroTotal()", NULL, 0);
    txsend_outcome_release(&o);
    check_batch_views(vault, key_b, zero, &zero_wei, left);
    CHECK(settle_ok(vault, key_b, creator_id, other_root, left_wei, 0) != 0);
    check_batch_views(vault, key_b, other_root, left, &zero_wei);
    check_batch_views(vault, key_a, root, total_a, &zero_wei);
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
    check_settle_denied(&vault, ACCT_GUARDIAN, key_a, root, &total);
    check_settle_denied(&vault, ACCT_FAN, key_a, root, &total);
    struct u256 too_much = wei(ETHER_WEI + 1);
    check_insufficient(&vault, key_a, creator_id, root, &too_much, &one_eth);
    check_batch_views(&vault, key_a, zero, &zero_wei, &one_eth);

    CHECK(settle_ok(&vault, key_a, creator_id, root, 400 * FINNEY_WEI, 0) != 0);
    struct u256 left = wei(600 * FINNEY_WEI);
    check_batch_views(&vault, key_a, root, &total, &left);
    check_books(&vault, creator_id, ETHER_WEI, 600 * FINNEY_WEI);

    check_settle_second_batch(&vault, key_a, key_b, root, &total, 600 * FINNEY_WEI);
    check_books(&vault, creator_id, ETHER_WEI, 0);
    CHECK_U256(balance(&vault), one_eth); /* settling moves no ETH */
}

/* Creator A's revenue never funds creator B's batch, however much the vault
 * holds in all; each settle moves its own creator's books only. */
static void test_settle_bounded_per_creator(void)
{
    struct address vault;
    if (!deploy_vault(&vault) || !tip_creator(&vault, creator_id, stream_id, 700 * FINNEY_WEI) ||
        !tip_creator(&vault, creator_b_id, stream_b_id, 300 * FINNEY_WEI))
        return;
    check_books(&vault, creator_id, 700 * FINNEY_WEI, 700 * FINNEY_WEI);
    check_books(&vault, creator_b_id, 300 * FINNEY_WEI, 300 * FINNEY_WEI);
    check_books(&vault, creator_c_id, 0, 0);
    CHECK_U256(view_u256_noargs(&vault, "unallocated()"), wei(ETHER_WEI));
    uint8_t key_a[32], key_b1[32], key_b2[32], key_c[32], root[32];
    chain_key_of(key_a, "2f0e4a6c-1b3d-4e5f-8a7b-9c0d1e2f3a4b");
    chain_key_of(key_b1, "3a1b2c3d-4e5f-4a6b-9c8d-7e6f5a4b3c2d");
    chain_key_of(key_b2, "4b2c3d4e-5f6a-4b7c-8d9e-0f1a2b3c4d5e");
    chain_key_of(key_c, "5c3d4e5f-6a7b-4c8d-9e0f-1a2b3c4d5e6f");
    chain_key_of(root, "a root; nothing is claimed in this test");
    struct u256 b_all = wei(300 * FINNEY_WEI), b_plus = add_wei(b_all, wei(1));
    struct u256 one = wei(1), none = wei(0);

    check_insufficient(&vault, key_b1, creator_b_id, root, &b_plus, &b_all);
    check_insufficient(&vault, key_c, creator_c_id, root, &one, &none);
    CHECK(settle_ok(&vault, key_b1, creator_b_id, root, 300 * FINNEY_WEI, 0) != 0);
    check_books(&vault, creator_b_id, 300 * FINNEY_WEI, 0);
    check_books(&vault, creator_id, 700 * FINNEY_WEI, 700 * FINNEY_WEI);
    CHECK_U256(view_u256_noargs(&vault, "unallocated()"), wei(700 * FINNEY_WEI));

    /* B has nothing left, although the vault still holds A's 700 finney. */
    check_insufficient(&vault, key_b2, creator_b_id, root, &one, &none);
    CHECK(settle_ok(&vault, key_a, creator_id, root, 700 * FINNEY_WEI - 1, 0) != 0);
    check_books(&vault, creator_id, 700 * FINNEY_WEI, 1);
    check_books(&vault, creator_b_id, 300 * FINNEY_WEI, 0);
    check_books(&vault, creator_c_id, 0, 0);
    CHECK_U256(view_u256_noargs(&vault, "unallocated()"), wei(1));
    CHECK_U256(balance(&vault), wei(ETHER_WEI));
}

/* ---- tests: claims ------------------------------------------------------------------ */

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
    check_books(&vault, creator_id, 2 * ETHER_WEI + 5, 5);
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

/* p's claim, with a valid proof, reverts with error_signature(want)
 * (compared as ABI words); no ETH moves and claimed() does not change. */
static void check_payout_claim_reverts(const struct address *vault, const uint8_t batch_key[32],
                                       const struct merkle_tree *t, const struct payout *p,
                                       const char *error_signature, const struct abi_value *want,
                                       size_t want_count)
{
    uint8_t proof[MERKLE_PROOF_MAX][32];
    size_t proof_len = 0;
    if (!tree_proof(proof, &proof_len, t, p))
        return;
    bool claimed_before = view_claimed(vault, batch_key, &p->account);
    struct u256 vault_before = balance(vault), payee_before = balance(&p->account);
    struct txsend_outcome o;
    enum txsend_result r = send_claim(&o, ACCT_RELAYER, vault, batch_key, &p->account,
                                      &p->amount_wei, (const uint8_t(*)[32])proof, proof_len);
    CHECK_REVERT_WORDS(r, &o, error_signature, want, want_count);
    txsend_outcome_release(&o);
    CHECK_U256(balance(vault), vault_before);
    CHECK_U256(balance(&p->account), payee_before);
    CHECK(view_claimed(vault, batch_key, &p->account) == claimed_before);
}

/* p's claim sent by the relayer with a fixed gas limit (no estimate), mined
 * in a block whose timestamp is `ts` exactly. Returns the receipt's status
 * (1 paid, 0 reverted, -1 nothing mined), having checked that exactly p's
 * amount moved on 1 and nothing on 0. */
static int claim_mined_at(const struct address *vault, const uint8_t batch_key[32],
                          const struct merkle_tree *t, const struct payout *p, uint64_t ts)
{
    uint8_t proof[MERKLE_PROOF_MAX][32];
    size_t proof_len = 0;
    if (!tree_proof(proof, &proof_len, t, p) || !chain_set_next_block_time(ts))
        return -1;
    struct u256 vault_before = balance(vault), payee_before = balance(&p->account), moved = wei(0);
    struct abi_value args[4] = {abi_value_bytes32(batch_key), abi_value_address(&p->account),
                                abi_value_uint256(&p->amount_wei),
                                abi_value_bytes32_array(proof[0], proof_len)};
    struct txsend_outcome o;
    struct err e = {0};
    enum txsend_result r = chain_send_call(&o, &chain, ACCT_RELAYER, vault, NULL,
                                           "claim(bytes32,address,uint256,bytes32[])", args, 4,
                                           GAS_FIXED_FOR_TIMED_TX, &e);
    int status = o.has_receipt ? (int)o.receipt.status : -1;
    CHECK_MSG(o.has_receipt, "claim at %llu: %s", (unsigned long long)ts, e.msg);
    if (o.has_receipt) {
        CHECK_INT(chain_block_time(o.receipt.block_number), ts);
        CHECK_INT(r, status == 1 ? TXSEND_OK : TXSEND_ERR_REVERTED);
        if (status == 1) {
            check_claimed_log(&o.receipt, vault, batch_key, p);
            moved = p->amount_wei;
        }
    }
    txsend_outcome_release(&o);
    CHECK_U256(balance(&p->account), add_wei(payee_before, moved));
    CHECK_U256(balance(vault), sub_wei(vault_before, moved));
    CHECK(view_claimed(vault, batch_key, &p->account) == (status == 1));
    return status;
}

/* The same root settled under a second batch key is a second allocation:
 * it needs unallocated revenue of its own, so the two batches together never
 * pay out more than the creator received. */
static void test_same_root_two_keys_cannot_overdraw(void)
{
    struct address vault;
    if (!deploy_vault(&vault) || !fund_vault(&vault, 150 * FINNEY_WEI))
        return;
    struct payout p[2] = {{payee(0), wei(60 * FINNEY_WEI)}, {payee(1), wei(40 * FINNEY_WEI)}};
    struct merkle_tree t = {0};
    uint8_t root[32], key1[32], key2[32];
    chain_key_of(key1, "6d4e5f6a-7b8c-4d9e-8f0a-1b2c3d4e5f6a");
    chain_key_of(key2, "7e5f6a7b-8c9d-4e0f-9a1b-2c3d4e5f6a7b");
    if (!tree_build(&t, root, p, 2))
        return;
    struct u256 total = wei(100 * FINNEY_WEI), half = wei(50 * FINNEY_WEI);
    CHECK(settle_ok(&vault, key1, creator_id, root, 100 * FINNEY_WEI, 0) != 0);
    check_insufficient(&vault, key2, creator_id, root, &total, &half);
    CHECK(settle_ok(&vault, key2, creator_id, root, 50 * FINNEY_WEI, 0) != 0);
    check_books(&vault, creator_id, 150 * FINNEY_WEI, 0);

    CHECK(claim_ok(&vault, key1, &t, &p[0]) > 0);
    CHECK(claim_ok(&vault, key1, &t, &p[1]) > 0);
    CHECK(claim_ok(&vault, key2, &t, &p[1]) > 0);
    struct u256 left = wei(10 * FINNEY_WEI);
    struct abi_value want[3] = {abi_value_bytes32(key2), abi_value_uint256(&p[0].amount_wei),
                                abi_value_uint256(&left)};
    check_payout_claim_reverts(&vault, key2, &t, &p[0], "BatchOverdrawn(bytes32,uint256,uint256)",
                               want, 3);
    merkle_tree_release(&t);
    CHECK_U256(view_by_key(&vault, "settlementRemaining(bytes32)", key1), wei(0));
    CHECK_U256(view_by_key(&vault, "settlementRemaining(bytes32)", key2), left);
    CHECK_U256(balance(&vault), left); /* 150 finney in, 140 out */
    check_books(&vault, creator_id, 150 * FINNEY_WEI, 0);
}

/* ---- tests: the audit window and the guardian --------------------------------------- */

/* Claims open at claimableAt = the settle block's time + claimDelay: a claim
 * mined at claimableAt - 1 reverts, one estimated there reverts
 * NotYetClaimable(batchKey, claimableAt), one mined at claimableAt pays. */
static void test_claim_waits_for_audit_window(void)
{
    struct address vault;
    if (!deploy_vault_with(&vault, CLAIM_DELAY_S, 0) || !fund_vault(&vault, ETHER_WEI))
        return;
    CHECK_U256(view_u256_noargs(&vault, "claimDelay()"), wei(CLAIM_DELAY_S));
    CHECK_U256(view_u256_noargs(&vault, "claimWindow()"), wei(0));
    struct payout p[2] = {{payee(2), wei(300 * FINNEY_WEI + 1)},
                          {payee(3), wei(200 * FINNEY_WEI - 1)}};
    struct merkle_tree t = {0};
    uint8_t root[32], key[32];
    chain_key_of(key, "8f6a7b8c-9d0e-4f1a-8b2c-3d4e5f6a7b8c");
    if (!tree_build(&t, root, p, 2))
        return;
    uint64_t at = settle_ok(&vault, key, creator_id, root, 500 * FINNEY_WEI, CLAIM_DELAY_S);
    struct abi_value want[2] = {abi_value_bytes32(key), abi_value_u64(at)};
    if (at != 0) {
        check_payout_claim_reverts(&vault, key, &t, &p[0], "NotYetClaimable(bytes32,uint64)", want,
                                   2);
        /* Mined, not estimated, at the boundary: an estimate may run in a
         * pending block a second later (see chain_set_next_block_time). */
        CHECK_INT(claim_mined_at(&vault, key, &t, &p[0], at - 1), 0);
        CHECK_INT(chain_now(), at - 1);
        CHECK(!view_claimed(&vault, key, &p[0].account));
        CHECK_INT(claim_mined_at(&vault, key, &t, &p[0], at), 1);
        CHECK(claim_ok(&vault, key, &t, &p[1]) > 0);
    }
    merkle_tree_release(&t);
    check_books(&vault, creator_id, ETHER_WEI, 500 * FINNEY_WEI);
    CHECK_U256(balance(&vault), wei(500 * FINNEY_WEI));
}

/* One SettlementCancelled or SettlementReclaimed log, the receipt's only one:
 * (bytes32 indexed batchKey, bytes32 indexed creatorKey, uint256 amount). */
static void check_batch_release_log(const struct rpc_receipt *r, const struct address *vault,
                                    const char *event_signature, const uint8_t batch_key[32],
                                    const uint8_t creator_key[32], uint64_t amount_wei)
{
    struct chain_log l;
    CHECK_INT(json_array_size(r->logs), 1);
    if (!one_log(&l, r, vault, event_signature))
        return;
    CHECK_INT(l.topic_count, 3);
    CHECK_MEM(l.topic[1], batch_key, 32);
    CHECK_MEM(l.topic[2], creator_key, 32);
    struct abi_value d = abi_value_of_type(ABI_TYPE_UINT256);
    CHECK_INT(l.data_len, 32);
    CHECK_INT(abi_decode(&d, 1, l.data, l.data_len, NULL), ABI_OK);
    CHECK_U256(d.as.uint256, wei(amount_wei));
}

/* A cancelled batch: its key cannot be settled again (for any creator), it
 * cannot be cancelled again, and no claim on it pays, before or after its
 * claimableAt. */
static void check_cancelled_batch_is_dead(const struct address *vault, const uint8_t key[32],
                                          const struct merkle_tree *t, const struct payout *p,
                                          uint64_t claimable_at)
{
    uint8_t root[32], creator_b_key[32];
    merkle_tree_root(root, t);
    chain_key_of(creator_b_key, creator_b_id);
    struct abi_value used = abi_value_bytes32(key);
    struct abi_value dead[2] = {abi_value_bytes32(key), abi_value_uint8(BATCH_CANCELLED)};
    struct u256 one = wei(1);
    struct txsend_outcome o;
    enum txsend_result r = send_settle(&o, ACCT_OPERATOR, vault, key, root, &one);
    CHECK_REVERT(r, &o, "BatchAlreadyUsed(bytes32)", &used, 1);
    txsend_outcome_release(&o);
    r = send_settle_for(&o, ACCT_OPERATOR, vault, key, creator_b_key, root, &one);
    CHECK_REVERT(r, &o, "BatchAlreadyUsed(bytes32)", &used, 1);
    txsend_outcome_release(&o);
    check_by_key_reverts(vault, ACCT_GUARDIAN, "cancelSettlement(bytes32)", key,
                         "BatchNotLive(bytes32,uint8)", dead, 2);
    check_payout_claim_reverts(vault, key, t, &p[0], "BatchNotLive(bytes32,uint8)", dead, 2);
    if (chain_mine_at(claimable_at))
        check_payout_claim_reverts(vault, key, t, &p[1], "BatchNotLive(bytes32,uint8)", dead, 2);
}

/* Only the guardian cancels; the batch's total goes back to its creator's
 * unallocated revenue (not to another creator's), and can be settled again
 * under a new key. */
static void test_guardian_cancels_in_audit_window(void)
{
    struct address vault;
    if (!deploy_vault_with(&vault, CLAIM_DELAY_S, 0) || !fund_vault(&vault, 500 * FINNEY_WEI) ||
        !tip_creator(&vault, creator_b_id, stream_b_id, 200 * FINNEY_WEI))
        return;
    struct payout p[2] = {{payee(0), wei(100 * FINNEY_WEI)}, {payee(1), wei(200 * FINNEY_WEI)}};
    struct merkle_tree t = {0};
    uint8_t root[32], key[32], again[32], unknown[32], creator_key[32], role[32];
    chain_key_of(key, "9a7b8c9d-0e1f-4a2b-9c3d-4e5f6a7b8c9d");
    chain_key_of(again, "0b8c9d0e-1f2a-4b3c-8d4e-5f6a7b8c9d0e");
    chain_key_of(unknown, "00000000-0000-4000-8000-000000000000");
    chain_key_of(creator_key, creator_id);
    guardian_role(role);
    if (!tree_build(&t, root, p, 2))
        return;
    uint64_t at = settle_ok(&vault, key, creator_id, root, 300 * FINNEY_WEI, CLAIM_DELAY_S);
    check_books(&vault, creator_id, 500 * FINNEY_WEI, 200 * FINNEY_WEI);
    static const size_t not_guardian[3] = {ACCT_OPERATOR, ACCT_ADMIN, ACCT_FAN};
    check_by_key_denied(&vault, not_guardian, 3, "cancelSettlement(bytes32)", key, role);
    struct abi_value no_batch = abi_value_bytes32(unknown);
    check_by_key_reverts(&vault, ACCT_GUARDIAN, "cancelSettlement(bytes32)", unknown,
                         "UnknownBatch(bytes32)", &no_batch, 1);

    struct txsend_outcome o;
    enum txsend_result r = send_by_key(&o, ACCT_GUARDIAN, &vault, "cancelSettlement(bytes32)", key);
    CHECK_INT(r, TXSEND_OK);
    if (r == TXSEND_OK)
        check_batch_release_log(&o.receipt, &vault, "SettlementCancelled(bytes32,bytes32,uint256)",
                                key, creator_key, 300 * FINNEY_WEI);
    txsend_outcome_release(&o);
    check_books(&vault, creator_id, 500 * FINNEY_WEI, 500 * FINNEY_WEI);
    check_books(&vault, creator_b_id, 200 * FINNEY_WEI, 200 * FINNEY_WEI);
    CHECK_U256(view_u256_noargs(&vault, "unallocated()"), wei(700 * FINNEY_WEI));
    CHECK_U256(balance(&vault), wei(700 * FINNEY_WEI));
    check_batch_state(&vault, key, creator_key, 0, at);
    CHECK_U256(view_by_key(&vault, "settlementTotal(bytes32)", key), wei(300 * FINNEY_WEI));
    if (at != 0)
        check_cancelled_batch_is_dead(&vault, key, &t, p, at);
    merkle_tree_release(&t);
    CHECK(settle_ok(&vault, again, creator_id, root, 500 * FINNEY_WEI, CLAIM_DELAY_S) != 0);
    check_books(&vault, creator_id, 500 * FINNEY_WEI, 0);
    check_books(&vault, creator_b_id, 200 * FINNEY_WEI, 200 * FINNEY_WEI);
}

/* The veto ends when claims open: a cancel mined at claimableAt - 1 succeeds,
 * one estimated at claimableAt reverts AuditWindowClosed, and with
 * claimDelay 0 there is no window at all. */
static void test_cancel_only_inside_audit_window(void)
{
    struct address vault, instant;
    if (!deploy_vault_with(&vault, CLAIM_DELAY_S, 0) || !deploy_vault(&instant) ||
        !fund_vault(&vault, ETHER_WEI) || !fund_vault(&instant, ETHER_WEI))
        return;
    uint8_t root[32], key1[32], key2[32], creator_key[32];
    chain_key_of(root, "a root; nothing is claimed in this test");
    chain_key_of(key1, "1c9d0e1f-2a3b-4c4d-9e5f-6a7b8c9d0e1f");
    chain_key_of(key2, "2d0e1f2a-3b4c-4d5e-8f6a-7b8c9d0e1f2a");
    chain_key_of(creator_key, creator_id);
    uint64_t at1 = settle_ok(&vault, key1, creator_id, root, 100 * FINNEY_WEI, CLAIM_DELAY_S);
    uint64_t at2 = settle_ok(&vault, key2, creator_id, root, 200 * FINNEY_WEI, CLAIM_DELAY_S);
    uint64_t at0 = settle_ok(&instant, key1, creator_id, root, 300 * FINNEY_WEI, 0);
    if (at1 == 0 || at2 == 0 || at0 == 0)
        return;
    struct abi_value closed0[2] = {abi_value_bytes32(key1), abi_value_u64(at0)};
    check_by_key_reverts(&instant, ACCT_GUARDIAN, "cancelSettlement(bytes32)", key1,
                         "AuditWindowClosed(bytes32,uint64)", closed0, 2);

    struct txsend_outcome o;
    enum txsend_result r =
        send_by_key_at(&o, ACCT_GUARDIAN, &vault, "cancelSettlement(bytes32)", key1, at1 - 1);
    CHECK_INT(r, TXSEND_OK);
    if (r == TXSEND_OK)
        check_batch_release_log(&o.receipt, &vault, "SettlementCancelled(bytes32,bytes32,uint256)",
                                key1, creator_key, 100 * FINNEY_WEI);
    txsend_outcome_release(&o);
    struct abi_value closed2[2] = {abi_value_bytes32(key2), abi_value_u64(at2)};
    if (chain_mine_at(at2))
        check_by_key_reverts(&vault, ACCT_GUARDIAN, "cancelSettlement(bytes32)", key2,
                             "AuditWindowClosed(bytes32,uint64)", closed2, 2);
    check_batch_state(&vault, key1, creator_key, 0, at1);
    check_batch_state(&vault, key2, creator_key, 200 * FINNEY_WEI, at2);
    check_batch_state(&instant, key1, creator_key, 300 * FINNEY_WEI, at0);
    check_books(&vault, creator_id, ETHER_WEI, 800 * FINNEY_WEI);
    check_books(&instant, creator_id, ETHER_WEI, 700 * FINNEY_WEI);
}

/* ---- tests: roles ------------------------------------------------------------------- */

static bool view_has_role(const struct address *vault, const uint8_t role[32],
                          const struct address *account)
{
    struct abi_value args[2] = {abi_value_bytes32(role), abi_value_address(account)};
    return view_one(vault, ABI_TYPE_BOOL, "hasRole(bytes32,address)", args, 2).as.boolean;
}

/* Right after deploy each role has exactly its one holder among the dev
 * accounts, the admin is account 0, and the admin role governs the others. */
static void check_roles(const struct address *vault)
{
    uint8_t roles[3][32] = {{0}}; /* DEFAULT_ADMIN_ROLE is bytes32(0) */
    operator_role(roles[1]);
    guardian_role(roles[2]);
    static const size_t holder[3] = {ACCT_ADMIN, ACCT_OPERATOR, ACCT_GUARDIAN};
    for (size_t i = 0; i < 3; i++) {
        for (size_t a = 0; a < CHAIN_DEV_KEYS; a++)
            CHECK_MSG(view_has_role(vault, roles[i], &chain.addr[a]) == (a == holder[i]),
                      "role %zu, account %zu", i, a);
        struct abi_value role = abi_value_bytes32(roles[i]);
        struct abi_value admin_of =
            view_one(vault, ABI_TYPE_BYTES32, "getRoleAdmin(bytes32)", &role, 1);
        CHECK_MEM(admin_of.as.bytes32, roles[0], 32);
    }
    struct abi_value got = view_one(vault, ABI_TYPE_BYTES32, "GUARDIAN_ROLE()", NULL, 0);
    CHECK_MEM(got.as.bytes32, roles[2], 32);
    got = view_one(vault, ABI_TYPE_BYTES32, "DEFAULT_ADMIN_ROLE()", NULL, 0);
    CHECK_MEM(got.as.bytes32, roles[0], 32);
    got = view_one(vault, ABI_TYPE_ADDRESS, "defaultAdmin()", NULL, 0);
    CHECK(address_eq(&got.as.address, &chain.addr[ACCT_ADMIN]));
    got = view_one(vault, ABI_TYPE_ADDRESS, "owner()", NULL, 0);
    CHECK(address_eq(&got.as.address, &chain.addr[ACCT_ADMIN]));
}

static enum txsend_result send_role_call(struct txsend_outcome *o, size_t from,
                                         const struct address *vault, const char *sig,
                                         const uint8_t role[32], size_t account)
{
    struct abi_value args[2] = {abi_value_bytes32(role), abi_value_address(&chain.addr[account])};
    return send_call(o, from, vault, 0, sig, args, 2);
}

/* The admin grants and revokes a role: RoleGranted(role, account, sender). */
static void check_admin_grants(const struct address *vault, const uint8_t role[32], size_t account)
{
    struct txsend_outcome o;
    struct chain_log l;
    enum txsend_result r =
        send_role_call(&o, ACCT_ADMIN, vault, "grantRole(bytes32,address)", role, account);
    CHECK_INT(r, TXSEND_OK);
    if (r == TXSEND_OK && one_log(&l, &o.receipt, vault, "RoleGranted(bytes32,address,address)")) {
        CHECK_INT(l.topic_count, 4);
        CHECK_MEM(l.topic[1], role, 32);
        CHECK(topic_is_address(l.topic[2], &chain.addr[account]));
        CHECK(topic_is_address(l.topic[3], &chain.addr[ACCT_ADMIN]));
        CHECK_INT(l.data_len, 0);
    }
    txsend_outcome_release(&o);
    CHECK(view_has_role(vault, role, &chain.addr[account]));
    r = send_role_call(&o, ACCT_ADMIN, vault, "revokeRole(bytes32,address)", role, account);
    CHECK_INT(r, TXSEND_OK);
    txsend_outcome_release(&o);
    CHECK(!view_has_role(vault, role, &chain.addr[account]));
}

/* Only the admin grants or revokes: the operator cannot grant roles (not
 * even to itself, not the guardian's), nor can the guardian or a fan. */
static void test_roles_after_deploy(void)
{
    struct address vault;
    if (!deploy_vault(&vault))
        return;
    check_roles(&vault);
    uint8_t admin_role[32] = {0}, op[32], guard[32];
    operator_role(op);
    guardian_role(guard);
    static const char grant[] = "grantRole(bytes32,address)",
                      revoke[] = "revokeRole(bytes32,address)";
    const struct {
        size_t from;
        const char *sig;
        const uint8_t *role;
        size_t account;
    } denied[] = {
        {ACCT_OPERATOR, grant, op, ACCT_FAN},          {ACCT_OPERATOR, grant, guard, ACCT_OPERATOR},
        {ACCT_OPERATOR, revoke, guard, ACCT_GUARDIAN}, {ACCT_GUARDIAN, grant, op, ACCT_GUARDIAN},
        {ACCT_GUARDIAN, revoke, op, ACCT_OPERATOR},    {ACCT_FAN, grant, guard, ACCT_FAN}};
    for (size_t i = 0; i < sizeof denied / sizeof denied[0]; i++) {
        struct abi_value want[2] = {abi_value_address(&chain.addr[denied[i].from]),
                                    abi_value_bytes32(admin_role)};
        struct txsend_outcome o;
        enum txsend_result r = send_role_call(&o, denied[i].from, &vault, denied[i].sig,
                                              denied[i].role, denied[i].account);
        CHECK_REVERT(r, &o, "AccessControlUnauthorizedAccount(address,bytes32)", want, 2);
        txsend_outcome_release(&o);
    }
    /* The admin role itself is never granted in one step, by anyone. */
    struct txsend_outcome o;
    enum txsend_result r =
        send_role_call(&o, ACCT_OPERATOR, &vault, grant, admin_role, ACCT_OPERATOR);
    CHECK_REVERT(r, &o, "AccessControlEnforcedDefaultAdminRules()", NULL, 0);
    txsend_outcome_release(&o);
    check_roles(&vault);
    check_admin_grants(&vault, op, ACCT_RELAYER); /* the denied calls were well formed */
    check_roles(&vault);
}

/* The hot key stays apart for the vault's whole life, not only at deploy:
 * the admin cannot make the guardian or itself an operator, nor the operator
 * a guardian, and a scheduled admin handover to the operator cannot be
 * accepted (RoleConflict(account) each time, nothing changes). Once the
 * operator's role is revoked, that account may become the guardian. */
static void test_operator_never_admin_or_guardian(void)
{
    struct address vault;
    if (!deploy_vault(&vault))
        return;
    uint8_t op[32], guard[32];
    operator_role(op);
    guardian_role(guard);
    static const char grant[] = "grantRole(bytes32,address)";
    const struct {
        const uint8_t *role;
        size_t account;
    } conflicts[] = {{op, ACCT_GUARDIAN}, {op, ACCT_ADMIN}, {guard, ACCT_OPERATOR}};
    for (size_t i = 0; i < sizeof conflicts / sizeof conflicts[0]; i++) {
        struct abi_value want = abi_value_address(&chain.addr[conflicts[i].account]);
        struct txsend_outcome o;
        enum txsend_result r =
            send_role_call(&o, ACCT_ADMIN, &vault, grant, conflicts[i].role, conflicts[i].account);
        CHECK_REVERT(r, &o, "RoleConflict(address)", &want, 1);
        txsend_outcome_release(&o);
    }
    check_roles(&vault);

    struct abi_value to_operator = abi_value_address(&chain.addr[ACCT_OPERATOR]);
    struct txsend_outcome o;
    enum txsend_result r =
        send_call(&o, ACCT_ADMIN, &vault, 0, "beginDefaultAdminTransfer(address)", &to_operator, 1);
    CHECK_INT(r, TXSEND_OK);
    txsend_outcome_release(&o);
    CHECK(chain_advance_time(2 * 24 * 3600));
    r = send_call(&o, ACCT_OPERATOR, &vault, 0, "acceptDefaultAdminTransfer()", NULL, 0);
    CHECK_REVERT(r, &o, "RoleConflict(address)", &to_operator, 1);
    txsend_outcome_release(&o);
    check_roles(&vault);

    r = send_role_call(&o, ACCT_ADMIN, &vault, "revokeRole(bytes32,address)", op, ACCT_OPERATOR);
    CHECK_INT(r, TXSEND_OK);
    txsend_outcome_release(&o);
    r = send_role_call(&o, ACCT_ADMIN, &vault, grant, guard, ACCT_OPERATOR);
    CHECK_INT(r, TXSEND_OK);
    txsend_outcome_release(&o);
    CHECK(view_has_role(&vault, guard, &chain.addr[ACCT_OPERATOR]));
    CHECK(!view_has_role(&vault, op, &chain.addr[ACCT_OPERATOR]));
}

/* ---- tests: reclaim ----------------------------------------------------------------- */

/* Without a claim window claims never expire and nothing can be reclaimed;
 * reclaim is the operator's alone (role checked first). */
static void test_reclaim_needs_claim_window(void)
{
    struct address vault;
    if (!deploy_vault(&vault) || !fund_vault(&vault, ETHER_WEI))
        return;
    struct payout p[2] = {{payee(0), wei(150 * FINNEY_WEI)}, {payee(1), wei(250 * FINNEY_WEI)}};
    struct merkle_tree t = {0};
    uint8_t root[32], key[32], role[32];
    chain_key_of(key, "3e1f2a3b-4c5d-4e6f-9a7b-8c9d0e1f2a3b");
    operator_role(role);
    if (!tree_build(&t, root, p, 2))
        return;
    uint64_t at = settle_ok(&vault, key, creator_id, root, 400 * FINNEY_WEI, 0);
    static const size_t not_operator[3] = {ACCT_ADMIN, ACCT_GUARDIAN, ACCT_FAN};
    check_by_key_denied(&vault, not_operator, 3, "reclaim(bytes32)", key, role);
    check_by_key_reverts(&vault, ACCT_OPERATOR, "reclaim(bytes32)", key, "NoClaimWindow()", NULL,
                         0);
    CHECK(claim_ok(&vault, key, &t, &p[0]) > 0);
    if (at != 0 && chain_mine_at(at + 2 * CLAIM_WINDOW_S)) {
        check_by_key_reverts(&vault, ACCT_OPERATOR, "reclaim(bytes32)", key, "NoClaimWindow()",
                             NULL, 0);
        CHECK(claim_ok(&vault, key, &t, &p[1]) > 0);
    }
    merkle_tree_release(&t);
    check_books(&vault, creator_id, ETHER_WEI, 600 * FINNEY_WEI);
    CHECK_U256(balance(&vault), wei(600 * FINNEY_WEI));
}

/* Claims run from claimableAt to closesAt - 1: p[0] claims early, p[1] at
 * the last second; reclaim is refused until closesAt, and p[2]'s claim is
 * refused from closesAt on (mined and estimated). */
static void check_claims_until_window_closes(const struct address *vault, const uint8_t key[32],
                                             const struct merkle_tree *t, const struct payout *p,
                                             uint64_t at, uint64_t closes_at)
{
    struct abi_value open[2] = {abi_value_bytes32(key), abi_value_u64(closes_at)};
    check_by_key_reverts(vault, ACCT_OPERATOR, "reclaim(bytes32)", key,
                         "ClaimWindowOpen(bytes32,uint256)", open, 2);
    if (!chain_mine_at(at))
        return;
    CHECK(claim_ok(vault, key, t, &p[0]) > 0);
    /* Mined at exact times, not estimated: see chain_set_next_block_time. */
    struct txsend_outcome o;
    CHECK_INT(send_by_key_at(&o, ACCT_OPERATOR, vault, "reclaim(bytes32)", key, closes_at - 2),
              TXSEND_ERR_REVERTED);
    txsend_outcome_release(&o);
    CHECK_INT(claim_mined_at(vault, key, t, &p[1], closes_at - 1), 1);
    CHECK_INT(claim_mined_at(vault, key, t, &p[2], closes_at), 0);
    struct abi_value closed[2] = {abi_value_bytes32(key), abi_value_u64(closes_at)};
    check_payout_claim_reverts(vault, key, t, &p[2], "ClaimWindowClosed(bytes32,uint256)", closed,
                               2);
}

/* After reclaim the batch is dead: no claim, no second reclaim, no cancel. */
static void check_reclaimed_batch_is_dead(const struct address *vault, const uint8_t key[32],
                                          const struct merkle_tree *t, const struct payout *p)
{
    struct abi_value dead[2] = {abi_value_bytes32(key), abi_value_uint8(BATCH_RECLAIMED)};
    check_payout_claim_reverts(vault, key, t, &p[2], "BatchNotLive(bytes32,uint8)", dead, 2);
    check_by_key_reverts(vault, ACCT_OPERATOR, "reclaim(bytes32)", key,
                         "BatchNotLive(bytes32,uint8)", dead, 2);
    check_by_key_reverts(vault, ACCT_GUARDIAN, "cancelSettlement(bytes32)", key,
                         "BatchNotLive(bytes32,uint8)", dead, 2);
}

/* Reclaim returns exactly what the batch still owes (p[2]'s unclaimed
 * amount) to its creator's unallocated revenue, moves no ETH, and the money
 * can be settled again. */
static void test_reclaim_after_claim_window(void)
{
    struct address vault;
    if (!deploy_vault_with(&vault, CLAIM_DELAY_S, CLAIM_WINDOW_S) ||
        !fund_vault(&vault, ETHER_WEI) ||
        !tip_creator(&vault, creator_b_id, stream_b_id, 100 * FINNEY_WEI))
        return;
    struct payout p[3] = {{payee(0), wei(100 * FINNEY_WEI + 1)},
                          {payee(1), wei(200 * FINNEY_WEI + 2)},
                          {payee(2), wei(300 * FINNEY_WEI - 3)}};
    const uint64_t owed_wei = 300 * FINNEY_WEI - 3, paid_wei = 300 * FINNEY_WEI + 3;
    struct merkle_tree t = {0};
    uint8_t root[32], key[32], again[32], unknown[32], creator_key[32], role[32];
    chain_key_of(key, "4f2a3b4c-5d6e-4f7a-8b8c-9d0e1f2a3b4c");
    chain_key_of(again, "5a3b4c5d-6e7f-4a8b-9c9d-0e1f2a3b4c5d");
    chain_key_of(unknown, "00000000-0000-4000-8000-000000000000");
    chain_key_of(creator_key, creator_id);
    operator_role(role);
    if (!tree_build(&t, root, p, 3))
        return;
    CHECK_U256(view_u256_noargs(&vault, "claimWindow()"), wei(CLAIM_WINDOW_S));
    uint64_t at = settle_ok(&vault, key, creator_id, root, 600 * FINNEY_WEI, CLAIM_DELAY_S);
    if (at != 0)
        check_claims_until_window_closes(&vault, key, &t, p, at, at + CLAIM_WINDOW_S);
    static const size_t not_operator[3] = {ACCT_ADMIN, ACCT_GUARDIAN, ACCT_FAN};
    check_by_key_denied(&vault, not_operator, 3, "reclaim(bytes32)", key, role);
    struct abi_value no_batch = abi_value_bytes32(unknown);
    check_by_key_reverts(&vault, ACCT_OPERATOR, "reclaim(bytes32)", unknown,
                         "UnknownBatch(bytes32)", &no_batch, 1);

    struct txsend_outcome o;
    enum txsend_result r = send_by_key(&o, ACCT_OPERATOR, &vault, "reclaim(bytes32)", key);
    CHECK_INT(r, TXSEND_OK);
    if (r == TXSEND_OK)
        check_batch_release_log(&o.receipt, &vault, "SettlementReclaimed(bytes32,bytes32,uint256)",
                                key, creator_key, owed_wei);
    txsend_outcome_release(&o);
    CHECK_U256(balance(&vault), wei(ETHER_WEI + 100 * FINNEY_WEI - paid_wei));
    check_books(&vault, creator_id, ETHER_WEI, 400 * FINNEY_WEI + owed_wei);
    check_books(&vault, creator_b_id, 100 * FINNEY_WEI, 100 * FINNEY_WEI);
    CHECK_U256(view_u256_noargs(&vault, "unallocated()"), wei(500 * FINNEY_WEI + owed_wei));
    check_batch_state(&vault, key, creator_key, 0, at);
    check_reclaimed_batch_is_dead(&vault, key, &t, p);
    merkle_tree_release(&t);
    CHECK(settle_ok(&vault, again, creator_id, root, 400 * FINNEY_WEI + owed_wei, CLAIM_DELAY_S) !=
          0);
    check_books(&vault, creator_id, ETHER_WEI, 0);
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

/* ---- tests: constructors ------------------------------------------------------------ */

static void check_vault_ctor_reverts(const struct address *admin, const struct address *op,
                                     const struct address *guardian, uint64_t claim_delay_s,
                                     uint64_t claim_window_s, const char *error_signature,
                                     const struct abi_value *want, size_t want_count)
{
    struct abi_value ctor[5] = {abi_value_address(admin), abi_value_address(op),
                                abi_value_address(guardian), abi_value_u64(claim_delay_s),
                                abi_value_u64(claim_window_s)};
    struct address out;
    struct txsend_outcome o;
    struct err e = {0};
    enum txsend_result r =
        chain_deploy_send(&o, &out, &chain, ACCT_ADMIN, VAULT_ARTIFACT, NULL, ctor, 5, &e);
    CHECK_REVERT_WORDS(r, &o, error_signature, want, want_count);
    txsend_outcome_release(&o);
}

/* The largest delays are accepted, and admin may equal guardian (make run
 * deploys so); the limits are the contract's own constants. */
static void check_vault_ctor_limits(void)
{
    const struct address *admin = &chain.addr[ACCT_ADMIN];
    struct abi_value ctor[5] = {abi_value_address(admin),
                                abi_value_address(&chain.addr[ACCT_OPERATOR]),
                                abi_value_address(admin), abi_value_u64(CLAIM_DELAY_MAX_S),
                                abi_value_u64(CLAIM_WINDOW_MAX_S)};
    struct address vault;
    struct txsend_outcome o;
    struct err e = {0};
    enum txsend_result r =
        chain_deploy_send(&o, &vault, &chain, ACCT_ADMIN, VAULT_ARTIFACT, NULL, ctor, 5, &e);
    CHECK_MSG(r == TXSEND_OK, "deploy vault at the limits: %s", e.msg);
    txsend_outcome_release(&o);
    if (r != TXSEND_OK)
        return;
    uint8_t guard[32];
    guardian_role(guard);
    CHECK(view_has_role(&vault, guard, admin));
    CHECK_U256(view_u256_noargs(&vault, "claimDelay()"), wei(CLAIM_DELAY_MAX_S));
    CHECK_U256(view_u256_noargs(&vault, "claimWindow()"), wei(CLAIM_WINDOW_MAX_S));
    CHECK_U256(view_u256_noargs(&vault, "CLAIM_DELAY_MAX()"), wei(CLAIM_DELAY_MAX_S));
    CHECK_U256(view_u256_noargs(&vault, "CLAIM_WINDOW_MAX()"), wei(CLAIM_WINDOW_MAX_S));
}

static void test_vault_constructor_reverts(void)
{
    const struct address zero = {{0}}, *admin = &chain.addr[ACCT_ADMIN];
    const struct address *op = &chain.addr[ACCT_OPERATOR], *guard = &chain.addr[ACCT_GUARDIAN];
    uint64_t nonce = nonce_of(admin);
    struct abi_value no_admin = abi_value_address(&zero);
    check_vault_ctor_reverts(&zero, op, guard, 0, 0, "AccessControlInvalidDefaultAdmin(address)",
                             &no_admin, 1);
    check_vault_ctor_reverts(admin, &zero, guard, 0, 0, "ZeroAddress()", NULL, 0);
    check_vault_ctor_reverts(admin, op, &zero, 0, 0, "ZeroAddress()", NULL, 0);
    struct abi_value conflict_admin = abi_value_address(admin);
    check_vault_ctor_reverts(admin, admin, guard, 0, 0, "RoleConflict(address)", &conflict_admin,
                             1);
    struct abi_value conflict_guard = abi_value_address(guard);
    check_vault_ctor_reverts(admin, guard, guard, 0, 0, "RoleConflict(address)", &conflict_guard,
                             1);
    struct abi_value delay[2] = {abi_value_u64(CLAIM_DELAY_MAX_S + 1),
                                 abi_value_u64(CLAIM_DELAY_MAX_S)};
    check_vault_ctor_reverts(admin, op, guard, CLAIM_DELAY_MAX_S + 1, 0,
                             "ClaimDelayTooLong(uint64,uint64)", delay, 2);
    struct abi_value window[2] = {abi_value_u64(CLAIM_WINDOW_MAX_S + 1),
                                  abi_value_u64(CLAIM_WINDOW_MAX_S)};
    check_vault_ctor_reverts(admin, op, guard, 0, CLAIM_WINDOW_MAX_S + 1,
                             "ClaimWindowTooLong(uint64,uint64)", window, 2);
    CHECK_INT(nonce_of(admin), nonce); /* nothing was mined */
    check_vault_ctor_limits();
}

struct pass_ctor {
    uint64_t price_wei, max_supply, royalty_bps;
    const struct address *vault, *owner;
};

static enum txsend_result send_deploy_pass(struct txsend_outcome *o, struct address *out,
                                           const struct pass_ctor *a)
{
    static const char name[] = "Backstage Pass", symbol[] = "BKST";
    uint8_t creator_key[32];
    chain_key_of(creator_key, creator_id);
    struct u256 price = wei(a->price_wei);
    struct abi_value ctor[8] = {abi_value_string(name, strlen(name)),
                                abi_value_string(symbol, strlen(symbol)),
                                abi_value_uint256(&price),
                                abi_value_u64(a->max_supply),
                                abi_value_u64(a->royalty_bps), /* uint96: one word */
                                abi_value_address(a->vault),
                                abi_value_bytes32(creator_key),
                                abi_value_address(a->owner)};
    struct err e = {0};
    enum txsend_result r =
        chain_deploy_send(o, out, &chain, ACCT_ADMIN, PASS_ARTIFACT, NULL, ctor, 8, &e);
    if (r != TXSEND_OK && r != TXSEND_ERR_ESTIMATE_REVERT)
        fprintf(stdout, "# deploy pass: %s\n", e.msg);
    return r;
}

static void check_pass_ctor_reverts(const struct pass_ctor *a, const char *error_signature,
                                    const struct abi_value *want, size_t want_count)
{
    struct address out;
    struct txsend_outcome o;
    enum txsend_result r = send_deploy_pass(&o, &out, a);
    CHECK_REVERT(r, &o, error_signature, want, want_count);
    txsend_outcome_release(&o);
}

static void test_pass_constructor_reverts(void)
{
    struct address vault, pass;
    if (!deploy_vault(&vault))
        return;
    const struct address zero = {{0}}, *owner = &chain.addr[ACCT_ADMIN];
    const struct pass_ctor good = {PASS_PRICE_WEI, 10, 10000, &vault, owner};
    struct pass_ctor c = good;
    c.vault = &zero;
    check_pass_ctor_reverts(&c, "ZeroAddress()", NULL, 0);
    c = good;
    c.price_wei = 0;
    check_pass_ctor_reverts(&c, "ZeroPrice()", NULL, 0);
    c = good;
    c.max_supply = 0;
    check_pass_ctor_reverts(&c, "ZeroMaxSupply()", NULL, 0);
    c = good;
    c.royalty_bps = 10001;
    struct abi_value bps[2] = {abi_value_u64(10001), abi_value_u64(10000)};
    check_pass_ctor_reverts(&c, "ERC2981InvalidDefaultRoyalty(uint256,uint256)", bps, 2);
    c = good;
    c.owner = &zero;
    struct abi_value no_owner = abi_value_address(&zero);
    check_pass_ctor_reverts(&c, "OwnableInvalidOwner(address)", &no_owner, 1);

    struct txsend_outcome o;
    enum txsend_result r = send_deploy_pass(&o, &pass, &good); /* 100 % royalty is allowed */
    CHECK_INT(r, TXSEND_OK);
    txsend_outcome_release(&o);
    if (r == TXSEND_OK)
        check_royalty_info(&pass, 1, 1001, 1001);
}

/* ---- tests: ETH forced in ----------------------------------------------------------- */

/* ETH forced in by selfdestruct raises the vault's balance but is nobody's
 * revenue: receivedOf and unallocated stay, and no creator can settle it. */
static void test_forced_eth_is_not_revenue(void)
{
    struct address vault, force;
    if (!deploy_vault(&vault) || !fund_vault(&vault, 100 * FINNEY_WEI))
        return;
    const struct address *sender = &chain.addr[ACCT_RELAYER];
    struct u256 forced = wei(ETHER_WEI + 7), sender_before = balance(sender);
    struct abi_value target = abi_value_address(&vault);
    struct txsend_outcome o;
    struct err e = {0};
    enum txsend_result r = chain_deploy_send(&o, &force, &chain, ACCT_RELAYER, FORCE_SEND_ARTIFACT,
                                             &forced, &target, 1, &e);
    CHECK_MSG(r == TXSEND_OK, "ForceSend: %s", e.msg);
    if (r == TXSEND_OK) {
        CHECK_INT(json_array_size(o.receipt.logs), 0); /* the vault ran no code */
        CHECK_U256(balance(sender),
                   sub_wei(sub_wei(sender_before, forced), chain_receipt_fee(&o.receipt)));
    }
    txsend_outcome_release(&o);
    CHECK_U256(balance(&vault), wei(ETHER_WEI + 7 + 100 * FINNEY_WEI));
    CHECK_U256(view_u256_noargs(&vault, "unallocated()"), wei(100 * FINNEY_WEI));
    check_books(&vault, creator_id, 100 * FINNEY_WEI, 100 * FINNEY_WEI);

    uint8_t root[32], key[32], key2[32];
    chain_key_of(root, "a root; nothing is claimed in this test");
    chain_key_of(key, "6b4c5d6e-7f8a-4b9c-8d0e-1f2a3b4c5d6e");
    chain_key_of(key2, "7c5d6e7f-8a9b-4c0d-9e1f-2a3b4c5d6e7f");
    struct u256 plus = wei(100 * FINNEY_WEI + 1), free_wei = wei(100 * FINNEY_WEI);
    struct u256 one = wei(1), none = wei(0);
    check_insufficient(&vault, key, creator_id, root, &plus, &free_wei);
    check_insufficient(&vault, key, creator_c_id, root, &forced, &none);
    CHECK(settle_ok(&vault, key, creator_id, root, 100 * FINNEY_WEI, 0) != 0);
    check_insufficient(&vault, key2, creator_id, root, &one, &none);
    CHECK_U256(view_u256_noargs(&vault, "unallocated()"), wei(0));
    CHECK_U256(balance(&vault), wei(ETHER_WEI + 7 + 100 * FINNEY_WEI));
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
    RUN(test_zero_royalty_changes_nothing);
    RUN(test_royalty_with_estimated_gas_is_held);
    RUN(test_tip);
    RUN(test_deposit_rules);
    RUN(test_settle_rules);
    RUN(test_settle_bounded_per_creator);
    RUN(test_claim);
    RUN(test_claim_bounded_by_batch_total);
    RUN(test_same_root_two_keys_cannot_overdraw);
    RUN(test_claim_waits_for_audit_window);
    RUN(test_guardian_cancels_in_audit_window);
    RUN(test_cancel_only_inside_audit_window);
    RUN(test_roles_after_deploy);
    RUN(test_operator_never_admin_or_guardian);
    RUN(test_reclaim_needs_claim_window);
    RUN(test_reclaim_after_claim_window);
    RUN(test_vault_constructor_reverts);
    RUN(test_pass_constructor_reverts);
    RUN(test_forced_eth_is_not_revenue);
    RUN(test_anchor_recording);
    chain_close(&chain);
    return harness_finish();
}
