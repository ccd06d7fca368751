/*
 * test_vault_actors.c - SettlementVault and RightsPass against unusual
 * counterparties, the two-step admin handover, and the gas targets, on a
 * real anvil node; every transaction is signed by our own code (txsend).
 *
 * Counterparties are the test actors of contracts-abi/src/test/TestActors.sol
 * (artifacts in contracts-abi/test/): payees that revert, re-enter claim()
 * or answer with 200 KB of return data, a plain payee as the baseline, and a
 * marketplace that pays royalties with the 2300-gas stipend of `transfer`
 * and `send`.
 *
 * Environment: ETH_RPC_URL (required; anvil, chain 31337, default mnemonic).
 * Run from the repository root (artifacts are read from contracts-abi/).
 * Accounts as in vault_fixture.h (admin 0, operator 1, fan 2, relayer 3,
 * existing payees 4..7, guardian 8); anvil account 9 is the admin-to-be of
 * the handover test. Each test deploys its own vault, so tests are
 * independent; the handover test moves the chain's clock forward a day.
 *
 * Gas: a transaction's gasUsed minus its intrinsic cost (21000, plus 4 per
 * zero and 16 per other calldata byte) is what the contracts executed. Keys,
 * roots and proofs are hash output whose count of zero bytes varies, so gas
 * comparisons leave the calldata cost out. Measured numbers are printed as
 * "# " lines for docs/contracts.md. The depth-20 tree has 2^20 leaves: 64 MiB
 * of nodes plus 32 MiB of leaf hashes while it is built, a few seconds.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "abi.h"
#include "address.h"
#include "buf.h"
#include "chain_fixture.h"
#include "harness.h"
#include "keccak.h"
#include "merkle.h"
#include "txsend.h"
#include "u256.h"
#include "vault_fixture.h"

#define ACTOR_PLAIN "contracts-abi/test/PlainPayee.json"
#define ACTOR_REVERTING "contracts-abi/test/RevertingPayee.json"
#define ACTOR_RETURN_BOMB "contracts-abi/test/ReturnBombPayee.json"
#define ACTOR_REENTRANT "contracts-abi/test/ReentrantPayee.json"
#define ACTOR_STIPEND_PAYER "contracts-abi/test/StipendRoyaltyPayer.json"

#define CLAIM_SIG "claim(bytes32,address,uint256,bytes32[])"
#define SETTLE_SIG "settle(bytes32,bytes32,bytes32,uint256)"
#define ACCT_NEW_ADMIN 9
#define ADMIN_TRANSFER_DELAY_S 86400u /* SettlementVault.ADMIN_TRANSFER_DELAY */
#define TX_BASE_GAS 21000u
#define RETURN_BOMB_BYTES 204800u
#define RETURN_BOMB_WORDS (RETURN_BOMB_BYTES / 32u)
/* What expanding memory to RETURN_BOMB_BYTES costs (3 per word + words^2/512):
 * paid by the bomb itself on every payment, and paid again by the caller if
 * the caller copied the return data. */
#define RETURN_BOMB_MEMORY_GAS                                                                     \
    (3u * RETURN_BOMB_WORDS + RETURN_BOMB_WORDS * RETURN_BOMB_WORDS / 512u)
/* Allowed difference between the vault's overhead for two payees: see
 * test_return_bomb_costs_no_more(). */
#define VAULT_OVERHEAD_TOLERANCE_GAS 64u
#define DEPTH17_PAYEES 100000u
#define DEPTH20_PAYEES ((size_t)1 << 20)
#define BIG_TREE_AMOUNT_WEI 1000000000ull /* 1 gwei to each generated payee */
#define LEAF_SEARCH_MAX 65536u

static const uint8_t default_admin_role[32]; /* DEFAULT_ADMIN_ROLE = 0x00 */

/* ---- helpers ------------------------------------------------------------------------ */

static bool deploy_actor(struct address *out, const char *artifact, const struct abi_value *args,
                         size_t args_count)
{
    struct err e = {0};
    bool ok = chain_deploy(out, NULL, &chain, ACCT_ADMIN, artifact, args, args_count, &e);
    CHECK_MSG(ok, "deploy %s: %s", artifact, e.msg);
    return ok;
}

/* The intrinsic gas of calldata selector(sig) || abi.encode(args): 16 per
 * byte, of which 12 come back for each zero byte. */
static uint64_t calldata_gas(const char *sig, const struct abi_value *args, size_t args_count)
{
    struct buf data;
    size_t zero_bytes = 0;
    buf_init(&data, TX_DATA_BYTES_MAX);
    ASSERT(abi_encode_call(&data, sig, args, args_count, NULL) == ABI_OK);
    for (size_t i = 0; i < data.len; i++)
        zero_bytes += data.data[i] == 0;
    uint64_t gas = 16u * (uint64_t)data.len - 12u * (uint64_t)zero_bytes;
    buf_release(&data);
    return gas;
}

static void word_of_address(uint8_t out[32], const struct address *a)
{
    memset(out, 0, 12);
    memcpy(out + 12, a->bytes, ADDRESS_BYTES);
}

static size_t log_count(const struct rpc_receipt *r)
{
    return json_array_size(r->logs);
}

/* Receipt `r` holds exactly one `event_sig` log of `emitter`, whose indexed
 * topics after topic 0 are topics[0..topic_count) and whose data is
 * abi.encode(data[0..data_count)). */
static void check_event(const struct rpc_receipt *r, const struct address *emitter,
                        const char *event_sig, const uint8_t (*topics)[32], size_t topic_count,
                        const struct abi_value *data, size_t data_count)
{
    struct chain_log l;
    if (!one_log(&l, r, emitter, event_sig))
        return;
    CHECK_INT(l.topic_count, topic_count + 1);
    for (size_t i = 0; i < topic_count && i + 1 < l.topic_count; i++)
        CHECK_MEM(l.topic[i + 1], topics[i], 32);
    struct buf want;
    buf_init(&want, CHAIN_LOG_DATA_BYTES_MAX);
    ASSERT(abi_encode(&want, data, data_count, NULL) == ABI_OK);
    CHECK_MSG(want.len == l.data_len && memcmp(want.data, l.data, want.len) == 0,
              "%s: data of %zu bytes differs from the expected %zu", event_sig, l.data_len,
              want.len);
    buf_release(&want);
}

static bool view_bool(const struct address *to, const char *sig, const struct abi_value *args,
                      size_t args_count)
{
    return view_one(to, ABI_TYPE_BOOL, sig, args, args_count).as.boolean;
}

static struct address view_address(const struct address *to, const char *sig)
{
    return view_one(to, ABI_TYPE_ADDRESS, sig, NULL, 0).as.address;
}

/* ---- claims ------------------------------------------------------------------------- */

/* One claim: a leaf of a settled batch and its proof. */
struct claim {
    uint8_t batch_key[32];
    struct payout leaf;
    uint8_t proof[MERKLE_PROOF_MAX][32];
    size_t proof_len;
};

/* What a claim changes: the payee's and the vault's balances, what the
 * batch still owes, and the payee's claimed flag. */
struct claim_state {
    struct u256 payee_wei, vault_wei, remaining_wei;
    bool claimed;
};

static bool claim_of(struct claim *c, const uint8_t batch_key[32], const struct merkle_tree *t,
                     const struct payout *leaf)
{
    memcpy(c->batch_key, batch_key, 32);
    c->leaf = *leaf;
    return tree_proof(c->proof, &c->proof_len, t, leaf);
}

static void claim_args(struct abi_value args[4], const struct claim *c)
{
    args[0] = abi_value_bytes32(c->batch_key);
    args[1] = abi_value_address(&c->leaf.account);
    args[2] = abi_value_uint256(&c->leaf.amount_wei);
    args[3] = abi_value_bytes32_array(c->proof[0], c->proof_len);
}

static uint64_t claim_calldata_gas(const struct claim *c)
{
    struct abi_value args[4];
    claim_args(args, c);
    return calldata_gas(CLAIM_SIG, args, 4);
}

/* The relayer submits `c`; gas_limit 0 estimates (a revert is then an
 * estimate revert), otherwise a revert is mined. */
static enum txsend_result claim_submit(struct txsend_outcome *o, const struct address *vault,
                                       const struct claim *c, uint64_t gas_limit)
{
    struct abi_value args[4];
    struct err e = {0};
    claim_args(args, c);
    enum txsend_result r =
        chain_send_call(o, &chain, ACCT_RELAYER, vault, NULL, CLAIM_SIG, args, 4, gas_limit, &e);
    if (r != TXSEND_OK && r != TXSEND_ERR_ESTIMATE_REVERT && r != TXSEND_ERR_REVERTED)
        fprintf(stdout, "# claim: %s\n", e.msg);
    return r;
}

static struct claim_state claim_state_of(const struct address *vault, const struct claim *c)
{
    struct abi_value key = abi_value_bytes32(c->batch_key);
    struct abi_value key_account[2] = {key, abi_value_address(&c->leaf.account)};
    struct claim_state s = {
        .payee_wei = balance(&c->leaf.account),
        .vault_wei = balance(vault),
        .remaining_wei = view_u256(vault, "settlementRemaining(bytes32)", &key, 1),
        .claimed = view_bool(vault, "claimed(bytes32,address)", key_account, 2)};
    return s;
}

static void check_claim_state(const struct claim_state *got, const struct claim_state *want)
{
    CHECK_U256(got->payee_wei, want->payee_wei);
    CHECK_U256(got->vault_wei, want->vault_wei);
    CHECK_U256(got->remaining_wei, want->remaining_wei);
    CHECK_INT(got->claimed, want->claimed);
}

/* Submits `c`, which must pay: one Claimed log, the payee gains exactly the
 * amount, the vault and the batch lose exactly it, the leaf is claimed.
 * Returns the receipt's gasUsed, 0 on failure. */
static uint64_t claim_pays(const struct address *vault, const struct claim *c)
{
    struct claim_state before = claim_state_of(vault, c), want = before;
    const struct u256 *amount = &c->leaf.amount_wei;
    CHECK(!before.claimed);
    bool covered = u256_sub(&want.vault_wei, &before.vault_wei, amount) == U256_OK &&
                   u256_sub(&want.remaining_wei, &before.remaining_wei, amount) == U256_OK;
    CHECK_MSG(covered, "the vault or the batch holds less than the claim");
    if (!covered)
        return 0;
    want.payee_wei = add_wei(before.payee_wei, *amount);
    want.claimed = true;
    struct txsend_outcome o;
    uint64_t gas = 0;
    enum txsend_result r = claim_submit(&o, vault, c, 0);
    CHECK_INT(r, TXSEND_OK);
    if (r == TXSEND_OK) {
        uint8_t topics[2][32];
        memcpy(topics[0], c->batch_key, 32);
        word_of_address(topics[1], &c->leaf.account);
        struct abi_value data = abi_value_uint256(amount);
        check_event(&o.receipt, vault, "Claimed(bytes32,address,uint256)",
                    (const uint8_t(*)[32])topics, 2, &data, 1);
        gas = o.receipt.gas_used;
    }
    txsend_outcome_release(&o);
    struct claim_state after = claim_state_of(vault, c);
    check_claim_state(&after, &want);
    return gas;
}

/* The operator settles batch keccak(label) of the default creator with
 * `root` and `total` (claimable at once on a deploy_vault() vault);
 * *gas_used_out (may be NULL) gets the receipt's gasUsed. */
static bool settle_tree(const struct address *vault, uint8_t batch_key[32], const char *label,
                        const uint8_t root[32], const struct u256 *total, uint64_t *gas_used_out)
{
    struct txsend_outcome o;
    chain_key_of(batch_key, label);
    enum txsend_result r = send_settle(&o, ACCT_OPERATOR, vault, batch_key, root, total);
    CHECK_INT(r, TXSEND_OK);
    if (r == TXSEND_OK && gas_used_out != NULL)
        *gas_used_out = o.receipt.gas_used;
    txsend_outcome_release(&o);
    return r == TXSEND_OK;
}

/* ---- tests: payees ------------------------------------------------------------------ */

/* A funded vault with one live batch `label` of three leaves: the actor
 * deployed from `artifact` with amounts_wei[0], then payee(0) and payee(1);
 * c[i] are their claims. */
static bool actor_batch(struct address *vault, struct address *actor, struct claim c[3],
                        const char *artifact, const char *label, const uint64_t amounts_wei[3])
{
    if (!deploy_vault(vault) || !fund_vault(vault, ETHER_WEI) ||
        !deploy_actor(actor, artifact, NULL, 0))
        return false;
    struct payout p[3] = {{*actor, wei(amounts_wei[0])},
                          {payee(0), wei(amounts_wei[1])},
                          {payee(1), wei(amounts_wei[2])}};
    struct merkle_tree t = {0};
    struct u256 total = payouts_total(p, 3);
    uint8_t root[32], key[32];
    bool ok = tree_build(&t, root, p, 3) && settle_tree(vault, key, label, root, &total, NULL);
    for (size_t i = 0; ok && i < 3; i++)
        ok = claim_of(&c[i], key, &t, &p[i]);
    merkle_tree_release(&t);
    return ok;
}

/* A payee that cannot receive ETH makes only its own claim fail: the claim
 * reverts with TransferFailed (estimated, and mined with a fixed gas limit),
 * nothing changes, and the batch's other payees claim. */
static void test_reverting_payee_fails_alone(void)
{
    static const uint64_t amounts_wei[3] = {100 * FINNEY_WEI + 3, 200 * FINNEY_WEI + 5,
                                            300 * FINNEY_WEI + 7};
    struct address vault, reverter;
    static struct claim c[3];
    if (!actor_batch(&vault, &reverter, c, ACTOR_REVERTING, "reverting payee", amounts_wei))
        return;
    struct claim_state before = claim_state_of(&vault, &c[0]);
    struct u256 owed = c[0].leaf.amount_wei;
    CHECK_U256(before.remaining_wei,
               add_wei(owed, add_wei(c[1].leaf.amount_wei, c[2].leaf.amount_wei)));
    struct abi_value failed[2] = {abi_value_address(&reverter), abi_value_uint256(&owed)};
    struct txsend_outcome o;
    enum txsend_result r = claim_submit(&o, &vault, &c[0], 0);
    CHECK_REVERT(r, &o, "TransferFailed(address,uint256)", failed, 2);
    txsend_outcome_release(&o);
    r = claim_submit(&o, &vault, &c[0], GAS_FIXED_FOR_MINED_REVERT);
    CHECK_INT(r, TXSEND_ERR_REVERTED);
    CHECK(o.has_receipt && o.receipt.status == 0 && log_count(&o.receipt) == 0);
    txsend_outcome_release(&o);
    struct claim_state after = claim_state_of(&vault, &c[0]);
    check_claim_state(&after, &before);

    CHECK(claim_pays(&vault, &c[1]) > 0);
    CHECK(claim_pays(&vault, &c[2]) > 0);
    after = claim_state_of(&vault, &c[0]);
    CHECK_U256(after.remaining_wei, owed); /* still owed to the reverter */
    CHECK(!after.claimed);
    r = claim_submit(&o, &vault, &c[0], 0); /* still TransferFailed, not AlreadyClaimed */
    CHECK_REVERT(r, &o, "TransferFailed(address,uint256)", failed, 2);
    txsend_outcome_release(&o);
}

/* A payee whose receive() calls claim() again for its own leaf is paid once:
 * the inner call reverts (the actor records it), the outer claim succeeds
 * with one Claimed log, and the batch owes the amount less exactly once. */
static void test_reentrant_payee_paid_once(void)
{
    static const uint64_t amounts_wei[3] = {150 * FINNEY_WEI + 1, 250 * FINNEY_WEI + 2,
                                            350 * FINNEY_WEI + 4};
    struct address vault, reentrant;
    static struct claim c[3];
    if (!actor_batch(&vault, &reentrant, c, ACTOR_REENTRANT, "reentrant payee", amounts_wei))
        return;
    const uint8_t *key = c[0].batch_key;
    struct abi_value k = abi_value_bytes32(key);
    struct u256 amount = c[0].leaf.amount_wei,
                before = view_u256(&vault, "settlementRemaining(bytes32)", &k, 1);
    struct abi_value arm[4] = {abi_value_address(&vault), abi_value_bytes32(key),
                               abi_value_uint256(&amount),
                               abi_value_bytes32_array(c[0].proof[0], c[0].proof_len)};
    struct txsend_outcome o;
    enum txsend_result r =
        send_call(&o, ACCT_ADMIN, &reentrant, 0, "arm(address,bytes32,uint256,bytes32[])", arm, 4);
    CHECK_INT(r, TXSEND_OK);
    txsend_outcome_release(&o);
    CHECK(!view_bool(&reentrant, "reentryReverted()", NULL, 0));

    CHECK(claim_pays(&vault, &c[0]) > 0); /* one Claimed, paid exactly once */
    CHECK_U256(view_u256_noargs(&reentrant, "payments()"), wei(1));
    CHECK(view_bool(&reentrant, "reentryReverted()", NULL, 0));
    CHECK_U256(view_u256(&vault, "settlementRemaining(bytes32)", &k, 1), sub_wei(before, amount));
    CHECK_U256(balance(&reentrant), amount);

    struct abi_value again[2] = {abi_value_bytes32(key), abi_value_address(&reentrant)};
    r = claim_submit(&o, &vault, &c[0], 0);
    CHECK_REVERT(r, &o, "AlreadyClaimed(bytes32,address)", again, 2);
    txsend_outcome_release(&o);
}

/* Sends `value_wei` from the fan to `to` with no calldata; returns gasUsed. */
static uint64_t plain_transfer_gas(const struct address *to, uint64_t value_wei)
{
    struct u256 value = wei(value_wei);
    struct txsend_outcome o;
    struct err e = {0};
    uint64_t gas = 0;
    enum txsend_result r = chain_send(&o, &chain, ACCT_FAN, to, &value, NULL, 0, 0, &e);
    CHECK_MSG(r == TXSEND_OK, "transfer: %s", e.msg);
    if (r == TXSEND_OK)
        gas = o.receipt.gas_used;
    txsend_outcome_release(&o);
    return gas;
}

/*
 * A payee answering with 200 KB of return data does not make the vault's
 * part of the claim cost more. The payee's own execution is part of the
 * transaction (the bomb expands its memory to 200 KB, RETURN_BOMB_MEMORY_GAS
 * = 99,200 gas), so what is compared is the vault's overhead:
 *   claim gasUsed - claim calldata gas - gasUsed of a plain transfer to the payee
 * for the bomb and for a PlainPayee. Both are contracts that already exist
 * and hold a balance, both leaves have the same amount and proof depth, and
 * both are claimed while the batch still owes more, so the vault runs the
 * same code with the same storage transitions (fresh `claimed` slot,
 * non-zero to non-zero `remaining`), the same cold payee account and the
 * same value-call stipend. The payee's receive() runs the same in the claim
 * and in the plain transfer, so it cancels out. What remains that depends on
 * the proof is MerkleProof's commutative hash, which orders each pair with a
 * branch: a few gas per level, two levels here. VAULT_OVERHEAD_TOLERANCE_GAS
 * (64) covers that and is over a thousand times smaller than what copying
 * would add.
 *
 * With Solidity's `(bool ok, ) = account.call{value: amount}("")` the vault
 * would fail this: the compiler copies all return data into the caller's
 * memory even when it is discarded (RETURNDATASIZE, allocate, RETURNDATACOPY),
 * so the vault itself would pay the expansion to 200 KB (99,200 gas) plus
 * 3 gas per copied word (19,200), about 118,400 gas more than for a plain
 * payee, and a payee could raise that at will. The vault's assembly call
 * passes a zero-length output area and never touches the return data.
 */
static void test_return_bomb_costs_no_more(void)
{
    struct address vault, plain, bomb;
    struct abi_value bomb_size = abi_value_u64(RETURN_BOMB_BYTES);
    if (!deploy_vault(&vault) || !fund_vault(&vault, ETHER_WEI) ||
        !deploy_actor(&plain, ACTOR_PLAIN, NULL, 0) ||
        !deploy_actor(&bomb, ACTOR_RETURN_BOMB, &bomb_size, 1))
        return;
    CHECK_U256(view_u256_noargs(&bomb, "size()"), wei(RETURN_BOMB_BYTES));
    uint64_t transfer_plain = plain_transfer_gas(&plain, FINNEY_WEI);
    uint64_t transfer_bomb = plain_transfer_gas(&bomb, FINNEY_WEI);
    CHECK(transfer_plain > TX_BASE_GAS);
    CHECK(transfer_bomb >= TX_BASE_GAS + RETURN_BOMB_MEMORY_GAS); /* the bomb goes off */

    struct payout p[4] = {{plain, wei(100 * FINNEY_WEI)},
                          {bomb, wei(100 * FINNEY_WEI)},
                          {payee(0), wei(200 * FINNEY_WEI)},
                          {payee(1), wei(300 * FINNEY_WEI)}};
    struct merkle_tree t = {0};
    struct u256 total = payouts_total(p, 4);
    uint8_t root[32], key[32];
    static struct claim c_plain, c_bomb;
    bool ok = tree_build(&t, root, p, 4) &&
              settle_tree(&vault, key, "return bomb", root, &total, NULL) &&
              claim_of(&c_plain, key, &t, &p[0]) && claim_of(&c_bomb, key, &t, &p[1]);
    merkle_tree_release(&t);
    if (!ok)
        return;
    CHECK_INT(c_plain.proof_len, 2);
    CHECK_INT(c_bomb.proof_len, 2);
    uint64_t claim_plain = claim_pays(&vault, &c_plain);
    uint64_t claim_bomb = claim_pays(&vault, &c_bomb);
    if (claim_plain == 0 || claim_bomb == 0)
        return;
    int64_t overhead_plain =
        (int64_t)claim_plain - (int64_t)claim_calldata_gas(&c_plain) - (int64_t)transfer_plain;
    int64_t overhead_bomb =
        (int64_t)claim_bomb - (int64_t)claim_calldata_gas(&c_bomb) - (int64_t)transfer_bomb;
    fprintf(stdout,
            "# return bomb (%u bytes): plain transfer %" PRIu64 " gas, claim %" PRIu64
            "; PlainPayee: plain transfer %" PRIu64 ", claim %" PRIu64
            "; vault overhead bomb %" PRId64 ", plain %" PRId64 "\n",
            RETURN_BOMB_BYTES, transfer_bomb, claim_bomb, transfer_plain, claim_plain,
            overhead_bomb, overhead_plain);
    int64_t diff = overhead_bomb - overhead_plain;
    CHECK_MSG(diff <= (int64_t)VAULT_OVERHEAD_TOLERANCE_GAS &&
                  -diff <= (int64_t)VAULT_OVERHEAD_TOLERANCE_GAS,
              "vault overhead differs by %" PRId64 " gas", diff);
}

/* ---- tests: royalties with the 2300-gas stipend ------------------------------------- */

/* What a royalty can change: the fan's, the payer's, the pass's and the
 * vault's balances, and the creator's revenue in the vault. */
struct royalty_state {
    struct u256 fan_wei, payer_wei, pass_wei, vault_wei, received_wei;
};

static struct royalty_state royalty_state_of(const struct address *vault,
                                             const struct address *pass,
                                             const struct address *payer,
                                             const uint8_t creator_key[32])
{
    struct abi_value ck = abi_value_bytes32(creator_key);
    struct royalty_state s = {.fan_wei = balance(&chain.addr[ACCT_FAN]),
                              .payer_wei = balance(payer),
                              .pass_wei = balance(pass),
                              .vault_wei = balance(vault),
                              .received_wei = view_u256(vault, "receivedOf(bytes32)", &ck, 1)};
    return s;
}

static void check_royalty_state(const struct royalty_state *got, const struct royalty_state *want)
{
    CHECK_U256(got->fan_wei, want->fan_wei);
    CHECK_U256(got->payer_wei, want->payer_wei);
    CHECK_U256(got->pass_wei, want->pass_wei);
    CHECK_U256(got->vault_wei, want->vault_wei);
    CHECK_U256(got->received_wei, want->received_wei);
}

/* The fan pays a royalty of `value_wei` to the pass: through the payer's
 * `how` (payWithTransfer or payWithSend, which forward it with the 2300-gas
 * stipend), or directly when `how` is NULL. Checks success and the receipt's
 * log count; on success *receipt_out holds the receipt, which the caller
 * releases with rpc_receipt_release(). */
static bool pay_royalty(struct rpc_receipt *receipt_out, const struct address *payer,
                        const struct address *pass, const char *how, uint64_t value_wei,
                        size_t logs_expected)
{
    struct abi_value to = abi_value_address(pass);
    struct u256 value = wei(value_wei);
    struct txsend_outcome o;
    struct err e = {0};
    enum txsend_result r =
        how != NULL ? chain_send_call(&o, &chain, ACCT_FAN, payer, &value, how, &to, 1, 0, &e)
                    : chain_send(&o, &chain, ACCT_FAN, pass, &value, NULL, 0, 0, &e);
    CHECK_MSG(r == TXSEND_OK, "royalty via %s: result %d: %s", how ? how : "plain transfer", (int)r,
              e.msg);
    memset(receipt_out, 0, sizeof *receipt_out);
    if (r == TXSEND_OK) {
        CHECK_INT(log_count(&o.receipt), logs_expected);
        *receipt_out = o.receipt; /* the logs move to the caller */
        o.receipt.logs = NULL;
    }
    txsend_outcome_release(&o);
    return r == TXSEND_OK;
}

/* A royalty through payWithTransfer and one through payWithSend (2300 gas
 * each) both succeed and are held by the pass (RoyaltyHeld, from = the payer
 * contract): the pass's balance grows, the vault's balance and receivedOf do
 * not. *held_out = their sum. */
static void check_royalties_held(const struct address *vault, const struct address *pass,
                                 const struct address *payer, const uint8_t creator_key[32],
                                 struct u256 *held_out)
{
    static const char *const how[2] = {"payWithTransfer(address)", "payWithSend(address)"};
    static const uint64_t amount_wei[2] = {30 * FINNEY_WEI + 11, 45 * FINNEY_WEI + 13};
    *held_out = u256_zero();
    for (size_t i = 0; i < 2; i++) {
        struct royalty_state want = royalty_state_of(vault, pass, payer, creator_key);
        struct rpc_receipt rc;
        if (!pay_royalty(&rc, payer, pass, how[i], amount_wei[i], 1))
            continue;
        uint8_t from[1][32];
        word_of_address(from[0], payer);
        struct u256 amount = wei(amount_wei[i]);
        struct abi_value data = abi_value_uint256(&amount);
        check_event(&rc, pass, "RoyaltyHeld(address,uint256)", (const uint8_t(*)[32])from, 1, &data,
                    1);
        want.fan_wei = sub_wei(sub_wei(want.fan_wei, amount), chain_receipt_fee(&rc));
        rpc_receipt_release(&rc);
        want.pass_wei = add_wei(want.pass_wei, amount);
        *held_out = add_wei(*held_out, amount);
        struct royalty_state got = royalty_state_of(vault, pass, payer, creator_key);
        check_royalty_state(&got, &want);
    }
}

/* flush() by the fan forwards the `held` wei as one kind-2 RevenueReceived
 * whose source and payer are the pass (returning that amount); with nothing
 * held it emits nothing and moves nothing but the fan's fee. */
static void check_flush(const struct address *vault, const struct address *pass,
                        const struct address *payer, const uint8_t creator_key[32],
                        const struct u256 *held)
{
    struct royalty_state want = royalty_state_of(vault, pass, payer, creator_key);
    bool holds = u256_sub(&want.pass_wei, &want.pass_wei, held) == U256_OK;
    CHECK_MSG(holds, "the pass holds less than the royalties paid to it");
    if (!holds)
        return;
    struct abi_value preview = abi_value_of_type(ABI_TYPE_UINT256);
    struct err e = {0};
    CHECK_MSG(chain_view(&preview, 1, &chain, pass, "flush()", NULL, 0, &e), "%s", e.msg);
    CHECK_U256(preview.as.uint256, *held); /* flush() returns what it forwards */
    struct txsend_outcome o;
    enum txsend_result r = send_call(&o, ACCT_FAN, pass, 0, "flush()", NULL, 0);
    CHECK_INT(r, TXSEND_OK);
    if (r == TXSEND_OK) {
        CHECK_INT(log_count(&o.receipt), u256_is_zero(held) ? 0 : 1);
        uint8_t topics[2][32];
        memcpy(topics[0], creator_key, 32);
        word_of_address(topics[1], pass);
        struct abi_value data[3] = {abi_value_uint8(2), abi_value_address(pass),
                                    abi_value_uint256(held)};
        if (!u256_is_zero(held))
            check_event(&o.receipt, vault, "RevenueReceived(bytes32,address,uint8,address,uint256)",
                        (const uint8_t(*)[32])topics, 2, data, 3);
        want.fan_wei = sub_wei(want.fan_wei, chain_receipt_fee(&o.receipt));
    }
    txsend_outcome_release(&o);
    want.vault_wei = add_wei(want.vault_wei, *held);
    want.received_wei = add_wei(want.received_wei, *held);
    struct royalty_state got = royalty_state_of(vault, pass, payer, creator_key);
    check_royalty_state(&got, &want);
}

static void test_stipend_royalties_held_then_flushed(void)
{
    struct address vault, pass, payer;
    uint8_t creator_key[32];
    chain_key_of(creator_key, creator_id);
    if (!deploy_vault(&vault) || !deploy_pass(&pass, &vault, creator_key, 10, 750) ||
        !deploy_actor(&payer, ACTOR_STIPEND_PAYER, NULL, 0))
        return;
    struct u256 held = u256_zero(), zero = u256_zero();
    check_royalties_held(&vault, &pass, &payer, creator_key, &held);
    CHECK_U256(balance(&pass), held);
    CHECK_U256(balance(&vault), zero);
    check_flush(&vault, &pass, &payer, creator_key, &held);
    CHECK_U256(balance(&pass), zero);
    CHECK_U256(view_u256_noargs(&vault, "unallocated()"), held);
    check_flush(&vault, &pass, &payer, creator_key, &zero); /* nothing held: no log, no change */
}

/* A zero-value royalty, sent with the stipend through either path or
 * directly, succeeds with no log and changes nothing but the fan's fee. */
static void test_zero_royalty_changes_nothing(void)
{
    static const char *const how[2] = {"payWithTransfer(address)", "payWithSend(address)"};
    struct address vault, pass, payer;
    uint8_t creator_key[32];
    chain_key_of(creator_key, creator_id);
    if (!deploy_vault(&vault) || !deploy_pass(&pass, &vault, creator_key, 10, 750) ||
        !deploy_actor(&payer, ACTOR_STIPEND_PAYER, NULL, 0) || !fund_vault(&vault, FINNEY_WEI))
        return;
    for (size_t i = 0; i < 3; i++) {
        struct royalty_state want = royalty_state_of(&vault, &pass, &payer, creator_key);
        struct rpc_receipt rc;
        if (pay_royalty(&rc, &payer, &pass, i < 2 ? how[i] : NULL, 0, 0)) {
            want.fan_wei = sub_wei(want.fan_wei, chain_receipt_fee(&rc));
            rpc_receipt_release(&rc);
        }
        struct royalty_state got = royalty_state_of(&vault, &pass, &payer, creator_key);
        check_royalty_state(&got, &want);
    }
    CHECK_U256(balance(&vault), wei(FINNEY_WEI));
}

/* ---- tests: admin handover ---------------------------------------------------------- */

static bool has_admin_role(const struct address *vault, const struct address *account)
{
    struct abi_value args[2] = {abi_value_bytes32(default_admin_role), abi_value_address(account)};
    return view_bool(vault, "hasRole(bytes32,address)", args, 2);
}

/* pendingDefaultAdmin() = (newAdmin, schedule); schedule is a uint48 word. */
static void check_pending_admin(const struct address *vault, const struct address *want_admin,
                                uint64_t want_schedule)
{
    struct abi_value got[2] = {abi_value_of_type(ABI_TYPE_ADDRESS),
                               abi_value_of_type(ABI_TYPE_UINT256)};
    struct err e = {0};
    bool ok = chain_view(got, 2, &chain, vault, "pendingDefaultAdmin()", NULL, 0, &e);
    CHECK_MSG(ok, "pendingDefaultAdmin: %s", e.msg);
    if (!ok)
        return;
    CHECK(address_eq(&got[0].as.address, want_admin));
    CHECK_U256(got[1].as.uint256, wei(want_schedule));
}

/* `from` calls acceptDefaultAdminTransfer(); gas_limit 0 estimates, else
 * the call is mined whatever it does. */
static enum txsend_result accept_admin(struct txsend_outcome *o, const struct address *vault,
                                       size_t from, uint64_t gas_limit)
{
    struct err e = {0};
    enum txsend_result r = chain_send_call(o, &chain, from, vault, NULL,
                                           "acceptDefaultAdminTransfer()", NULL, 0, gas_limit, &e);
    if (r != TXSEND_OK && r != TXSEND_ERR_ESTIMATE_REVERT && r != TXSEND_ERR_REVERTED)
        fprintf(stdout, "# acceptDefaultAdminTransfer: %s\n", e.msg);
    return r;
}

/* The new admin's acceptance mined in a block with timestamp `ts` (fixed
 * gas limit: an estimate would run at another time); returns the result. */
static enum txsend_result accept_admin_at(const struct address *vault, uint64_t ts)
{
    struct txsend_outcome o;
    enum txsend_result r = TXSEND_ERR_RPC;
    if (chain_set_next_block_time(ts)) {
        r = accept_admin(&o, vault, ACCT_NEW_ADMIN, GAS_FIXED_FOR_MINED_REVERT);
        CHECK(o.has_receipt && chain_block_time(o.receipt.block_number) == ts);
        txsend_outcome_release(&o);
    }
    return r;
}

/* Begins the handover to account 9 as the admin (the operator may not);
 * returns the accept schedule = the begin block's time + 1 day, 0 on failure. */
static uint64_t begin_handover(const struct address *vault)
{
    const struct address *next = &chain.addr[ACCT_NEW_ADMIN];
    struct abi_value arg = abi_value_address(next);
    struct abi_value denied[2] = {abi_value_address(&chain.addr[ACCT_OPERATOR]),
                                  abi_value_bytes32(default_admin_role)};
    struct txsend_outcome o;
    enum txsend_result r =
        send_call(&o, ACCT_OPERATOR, vault, 0, "beginDefaultAdminTransfer(address)", &arg, 1);
    CHECK_REVERT(r, &o, "AccessControlUnauthorizedAccount(address,bytes32)", denied, 2);
    txsend_outcome_release(&o);
    check_pending_admin(vault, &(struct address){{0}}, 0);

    uint64_t schedule = 0;
    r = send_call(&o, ACCT_ADMIN, vault, 0, "beginDefaultAdminTransfer(address)", &arg, 1);
    CHECK_INT(r, TXSEND_OK);
    if (r == TXSEND_OK) {
        schedule = chain_block_time(o.receipt.block_number) + ADMIN_TRANSFER_DELAY_S;
        uint8_t topic[1][32];
        word_of_address(topic[0], next);
        struct abi_value data = abi_value_u64(schedule); /* uint48: one word */
        check_event(&o.receipt, vault, "DefaultAdminTransferScheduled(address,uint48)",
                    (const uint8_t(*)[32])topic, 1, &data, 1);
    }
    txsend_outcome_release(&o);
    check_pending_admin(vault, next, schedule);
    return schedule;
}

/* Admin handover takes two steps and a day: the new admin cannot accept
 * before or at the schedule but can one second later, nobody else can
 * accept, and afterwards the role has moved and the old admin can no
 * longer grant. */
static void test_admin_handover_two_steps(void)
{
    struct address vault;
    if (!deploy_vault(&vault))
        return;
    const struct address *old = &chain.addr[ACCT_ADMIN], *next = &chain.addr[ACCT_NEW_ADMIN];
    uint64_t schedule = begin_handover(&vault);
    if (schedule == 0)
        return;
    struct abi_value when = abi_value_u64(schedule), fan = abi_value_address(&chain.addr[ACCT_FAN]);
    struct txsend_outcome o;
    enum txsend_result r = accept_admin(&o, &vault, ACCT_NEW_ADMIN, 0);
    CHECK_REVERT_WORDS(r, &o, "AccessControlEnforcedDefaultAdminDelay(uint48)", &when, 1);
    txsend_outcome_release(&o);
    /* Mined at the schedule itself it is still too early (OZ: schedule <
     * block.timestamp), and nothing changes. */
    CHECK_INT(accept_admin_at(&vault, schedule), TXSEND_ERR_REVERTED);
    check_pending_admin(&vault, next, schedule);
    r = accept_admin(&o, &vault, ACCT_FAN, 0);
    CHECK_REVERT(r, &o, "AccessControlInvalidDefaultAdmin(address)", &fan, 1);
    txsend_outcome_release(&o);
    CHECK(has_admin_role(&vault, old) && !has_admin_role(&vault, next));

    CHECK_INT(accept_admin_at(&vault, schedule + 1), TXSEND_OK); /* the first second it may */
    CHECK(has_admin_role(&vault, next));
    CHECK(!has_admin_role(&vault, old));
    struct address now_admin = view_address(&vault, "defaultAdmin()");
    CHECK(address_eq(&now_admin, next));
    check_pending_admin(&vault, &(struct address){{0}}, 0);

    uint8_t guardian[32];
    guardian_role(guardian);
    struct abi_value grant[2] = {abi_value_bytes32(guardian), fan};
    struct abi_value denied[2] = {abi_value_address(old), abi_value_bytes32(default_admin_role)};
    r = send_call(&o, ACCT_ADMIN, &vault, 0, "grantRole(bytes32,address)", grant, 2);
    CHECK_REVERT(r, &o, "AccessControlUnauthorizedAccount(address,bytes32)", denied, 2);
    txsend_outcome_release(&o);
}

/* The admin cannot leave the vault without an admin in one step, nor add a
 * second admin: renounceRole reverts with delay schedule 0 (nothing
 * scheduled) and grantRole(DEFAULT_ADMIN_ROLE) is refused. */
static void test_admin_cannot_be_stranded(void)
{
    struct address vault;
    if (!deploy_vault(&vault))
        return;
    const struct address *admin = &chain.addr[ACCT_ADMIN];
    struct abi_value renounce[2] = {abi_value_bytes32(default_admin_role),
                                    abi_value_address(admin)};
    struct abi_value no_schedule = abi_value_u64(0);
    struct txsend_outcome o;
    enum txsend_result r =
        send_call(&o, ACCT_ADMIN, &vault, 0, "renounceRole(bytes32,address)", renounce, 2);
    CHECK_REVERT_WORDS(r, &o, "AccessControlEnforcedDefaultAdminDelay(uint48)", &no_schedule, 1);
    txsend_outcome_release(&o);
    CHECK(has_admin_role(&vault, admin));
    struct address now_admin = view_address(&vault, "defaultAdmin()");
    CHECK(address_eq(&now_admin, admin));

    struct abi_value second[2] = {abi_value_bytes32(default_admin_role),
                                  abi_value_address(&chain.addr[ACCT_NEW_ADMIN])};
    r = send_call(&o, ACCT_ADMIN, &vault, 0, "grantRole(bytes32,address)", second, 2);
    CHECK_REVERT(r, &o, "AccessControlEnforcedDefaultAdminRules()", NULL, 0);
    txsend_outcome_release(&o);
    CHECK(!has_admin_role(&vault, &chain.addr[ACCT_NEW_ADMIN]));
}

/* ---- tests: gas ----------------------------------------------------------------------- */

/* Settles batch `label` with `root` and `total`; returns the gas the vault
 * executed (gasUsed less 21000 and the calldata cost), 0 on failure, and
 * *gas_used_out the whole gasUsed. */
static uint64_t settle_exec_gas(uint64_t *gas_used_out, const struct address *vault,
                                const char *label, const uint8_t root[32], const struct u256 *total)
{
    uint8_t key[32], creator_key[32];
    *gas_used_out = 0;
    if (!settle_tree(vault, key, label, root, total, gas_used_out))
        return 0;
    chain_key_of(creator_key, creator_id);
    struct abi_value args[4] = {abi_value_bytes32(key), abi_value_bytes32(creator_key),
                                abi_value_bytes32(root), abi_value_uint256(total)};
    uint64_t intrinsic = TX_BASE_GAS + calldata_gas(SETTLE_SIG, args, 4);
    return *gas_used_out > intrinsic ? *gas_used_out - intrinsic : 0;
}

/* Payee `index` (>= 1) of a generated tree: 12 bytes of `prefix`, then the
 * index big-endian. The prefix is hashed from the vault's address, so these
 * accounts are new on every run and distinct from every dev account. */
static struct address generated_payee(const uint8_t prefix[12], uint64_t index)
{
    struct address a;
    memcpy(a.bytes, prefix, 12);
    for (size_t i = 0; i < 8; i++)
        a.bytes[12 + i] = (uint8_t)(index >> (56 - 8 * i));
    return a;
}

static void generated_prefix(uint8_t out[12], const struct address *vault, const char *label)
{
    uint8_t seed[ADDRESS_BYTES + 64], h[32];
    size_t label_len = strlen(label);
    ASSERT(label_len <= 64);
    memcpy(seed, vault->bytes, ADDRESS_BYTES);
    memcpy(seed + ADDRESS_BYTES, label, label_len);
    keccak256(h, seed, ADDRESS_BYTES + label_len);
    memcpy(out, h, 12);
}

/* A settlement tree bigger than tree_build() takes: `first` and count - 1
 * generated payees of BIG_TREE_AMOUNT_WEI each. */
struct big_tree {
    struct merkle_tree t;
    uint8_t root[32];
    uint8_t prefix[12];
    struct u256 total;
};

static bool big_tree_build(struct big_tree *bt, const struct address *vault, const char *label,
                           const struct payout *first, size_t count)
{
    ASSERT(count >= 2 && count <= MERKLE_LEAVES_MAX);
    uint8_t(*leaves)[MERKLE_HASH_BYTES] = malloc(count * sizeof *leaves);
    ASSERT(leaves != NULL);
    uint8_t amount_be[32];
    struct u256 each = wei(BIG_TREE_AMOUNT_WEI);
    generated_prefix(bt->prefix, vault, label);
    u256_to_be32(amount_be, &first->amount_wei);
    merkle_leaf_settlement(leaves[0], first->account.bytes, amount_be);
    u256_to_be32(amount_be, &each);
    for (size_t i = 1; i < count; i++) {
        struct address a = generated_payee(bt->prefix, i);
        merkle_leaf_settlement(leaves[i], a.bytes, amount_be);
    }
    bt->total = add_wei(first->amount_wei, wei((uint64_t)(count - 1) * BIG_TREE_AMOUNT_WEI));
    struct err e = {0};
    bool ok = merkle_tree_build(&bt->t, (const uint8_t(*)[MERKLE_HASH_BYTES])leaves, count, &e) ==
              MERKLE_OK;
    CHECK_MSG(ok, "merkle tree of %zu leaves: %s", count, e.msg);
    if (ok)
        merkle_tree_root(bt->root, &bt->t);
    free(leaves);
    return ok;
}

/* True when the leaf of `p` starts with a zero byte: it then sorts among the
 * smallest 1/256 of a tree's leaves, which OZ's layout puts on the deepest
 * level (of 100,000 leaves, nodes 99,999..199,998, the 68,928 smallest sit at
 * nodes >= 2^17 - 1: depth 17). */
static bool leaf_sorts_deepest(const struct payout *p)
{
    uint8_t amount_be[32], leaf[32];
    u256_to_be32(amount_be, &p->amount_wei);
    merkle_leaf_settlement(leaf, p->account.bytes, amount_be);
    return leaf[0] == 0;
}

/* `account` with base_wei or a little more, such that its leaf sorts deepest. */
static struct payout deepest_leaf(const struct address *account, uint64_t base_wei)
{
    for (uint64_t add = 0; add < LEAF_SEARCH_MAX; add++) {
        struct payout p = {*account, wei(base_wei + add)};
        if (leaf_sorts_deepest(&p))
            return p;
    }
    ASSERT(!"no leaf with a leading zero byte in LEAF_SEARCH_MAX amounts");
    return (struct payout){0};
}

/* The first generated payee (new account) of a big tree whose leaf sorts deepest. */
static struct payout deepest_generated_payee(const struct big_tree *bt, size_t count)
{
    for (size_t i = 1; i < count && i < LEAF_SEARCH_MAX; i++) {
        struct payout p = {generated_payee(bt->prefix, i), wei(BIG_TREE_AMOUNT_WEI)};
        if (leaf_sorts_deepest(&p))
            return p;
    }
    ASSERT(!"no generated leaf with a leading zero byte in LEAF_SEARCH_MAX payees");
    return (struct payout){0};
}

/* The settle part: gas executed for 2, 100, 100,000 and 2^20 payees must be
 * identical (after a first settle that turns the creator's allocated
 * counter from zero to non-zero). */
static void measure_settle(const struct address *vault, const uint8_t root2[32],
                           const struct u256 *total2, const uint8_t root100[32],
                           const struct u256 *total100, const struct big_tree *b17,
                           const struct big_tree *b20)
{
    struct payout warm[1] = {{payee(1), wei(ETHER_WEI / 2)}};
    struct merkle_tree t = {0};
    uint8_t root1[32];
    uint64_t used[5] = {0}, exec[5] = {0};
    struct u256 total1 = payouts_total(warm, 1);
    if (tree_build(&t, root1, warm, 1))
        exec[0] = settle_exec_gas(&used[0], vault, "gas: first", root1, &total1);
    merkle_tree_release(&t);
    exec[1] = settle_exec_gas(&used[1], vault, "gas: 2 payees", root2, total2);
    exec[2] = settle_exec_gas(&used[2], vault, "gas: 100 payees", root100, total100);
    exec[3] = settle_exec_gas(&used[3], vault, "gas: 100000 payees", b17->root, &b17->total);
    exec[4] = settle_exec_gas(&used[4], vault, "gas: 2^20 payees", b20->root, &b20->total);
    fprintf(stdout,
            "# settle gas executed (gasUsed less 21000 and calldata): first batch %" PRIu64
            ", 2 payees %" PRIu64 ", 100 payees %" PRIu64 ", 100,000 payees %" PRIu64
            ", 1,048,576 payees %" PRIu64 "\n",
            exec[0], exec[1], exec[2], exec[3], exec[4]);
    fprintf(stdout,
            "# settle gasUsed: first batch %" PRIu64 ", 2 payees %" PRIu64 ", 100 payees %" PRIu64
            ", 100,000 payees %" PRIu64 ", 1,048,576 payees %" PRIu64 "\n",
            used[0], used[1], used[2], used[3], used[4]);
    CHECK(exec[0] > 0 && exec[1] > 0);
    CHECK_INT(exec[2], exec[1]);
    CHECK_INT(exec[3], exec[1]);
    CHECK_INT(exec[4], exec[1]);
}

/* Claims `leaf` of batch `label` (tree t); *depth_out = its proof's length.
 * Returns gasUsed, 0 on failure. */
static uint64_t claim_measured(size_t *depth_out, const struct address *vault, const char *label,
                               const struct merkle_tree *t, const struct payout *leaf)
{
    uint8_t key[32];
    static struct claim c;
    chain_key_of(key, label);
    *depth_out = 0;
    if (!claim_of(&c, key, t, leaf))
        return 0;
    *depth_out = c.proof_len;
    return claim_pays(vault, &c);
}

/* Claims of an existing account at depths 1, 6 or 7 (wherever its leaf
 * sorts), 17 and 20, and of a new account at depth 17. */
static void measure_claims(const struct address *vault, const struct merkle_tree *t2,
                           const struct payout *two, const struct merkle_tree *t100,
                           const struct payout *hundred, const struct big_tree *b17,
                           const struct payout *deep17, const struct big_tree *b20,
                           const struct payout *deep20)
{
    size_t d[5] = {0};
    uint64_t c2 = claim_measured(&d[0], vault, "gas: 2 payees", t2, &two[0]);
    uint64_t c100 = claim_measured(&d[1], vault, "gas: 100 payees", t100, &hundred[0]);
    uint64_t c17 = claim_measured(&d[2], vault, "gas: 100000 payees", &b17->t, deep17);
    uint64_t c20 = claim_measured(&d[3], vault, "gas: 2^20 payees", &b20->t, deep20);
    struct payout fresh = deepest_generated_payee(b17, DEPTH17_PAYEES);
    struct u256 fresh_before = balance(&fresh.account);
    CHECK(u256_is_zero(&fresh_before) && nonce_of(&fresh.account) == 0); /* does not exist */
    uint64_t c_new = claim_measured(&d[4], vault, "gas: 100000 payees", &b17->t, &fresh);
    fprintf(stdout,
            "# claim gasUsed, existing account: depth %zu (2 payees) %" PRIu64
            ", depth %zu (100 payees) %" PRIu64 ", depth %zu (100,000 payees) %" PRIu64
            ", depth %zu (1,048,576 payees) %" PRIu64 "\n",
            d[0], c2, d[1], c100, d[2], c17, d[3], c20);
    fprintf(stdout, "# claim gasUsed, new account, depth %zu (100,000 payees): %" PRIu64 "\n", d[4],
            c_new);
    CHECK_INT(d[0], 1);
    CHECK_INT(d[2], 17);
    CHECK_INT(d[3], 20);
    CHECK_INT(d[4], 17);
    CHECK(c2 > 0 && c100 > c2 && c17 > c100);
    CHECK_MSG(c17 <= CLAIM_GAS_MAX, "claim at depth 17 costs %" PRIu64 " > %u", c17, CLAIM_GAS_MAX);
    CHECK(c20 > c17);
    CHECK(c_new > c17); /* paying a new account creates it */
}

/* 100 payees: payee(0) and 99 generated accounts, 10 finney each. */
static void hundred_of(struct payout p[100], const struct address *vault)
{
    uint8_t prefix[12];
    generated_prefix(prefix, vault, "100 payees");
    p[0] = (struct payout){payee(0), wei(10 * FINNEY_WEI)};
    for (size_t i = 1; i < 100; i++)
        p[i] = (struct payout){generated_payee(prefix, i), wei(10 * FINNEY_WEI)};
}

static void test_gas(void)
{
    struct address vault;
    if (!deploy_vault(&vault) || !fund_vault(&vault, 5 * ETHER_WEI))
        return;
    struct address existing = payee(0);
    struct u256 existing_wei = balance(&existing);
    CHECK(!u256_is_zero(&existing_wei)); /* a funded dev account */
    struct payout two[2] = {{payee(0), wei(400 * FINNEY_WEI)}, {payee(2), wei(600 * FINNEY_WEI)}};
    static struct payout hundred[100];
    hundred_of(hundred, &vault);
    struct payout deep17 = deepest_leaf(&existing, 10 * FINNEY_WEI);
    struct payout deep20 = {existing, wei(20 * FINNEY_WEI)}; /* 2^20 leaves: all at depth 20 */
    struct merkle_tree t2 = {0}, t100 = {0};
    static struct big_tree b17, b20;
    uint8_t root2[32], root100[32];
    struct u256 total2 = payouts_total(two, 2), total100 = payouts_total(hundred, 100);
    if (tree_build(&t2, root2, two, 2) && tree_build(&t100, root100, hundred, 100) &&
        big_tree_build(&b17, &vault, "100000 payees", &deep17, DEPTH17_PAYEES) &&
        big_tree_build(&b20, &vault, "2^20 payees", &deep20, DEPTH20_PAYEES)) {
        measure_settle(&vault, root2, &total2, root100, &total100, &b17, &b20);
        measure_claims(&vault, &t2, two, &t100, hundred, &b17, &deep17, &b20, &deep20);
    }
    merkle_tree_release(&t2);
    merkle_tree_release(&t100);
    merkle_tree_release(&b17.t);
    merkle_tree_release(&b20.t);
}

int main(void)
{
    struct err e = {0};
    if (!chain_open(&chain, &e)) {
        fprintf(stdout, "# %s\nnot ok - environment\n0 passed, 1 failed\n", e.msg);
        return 1;
    }
    RUN(test_reverting_payee_fails_alone);
    RUN(test_reentrant_payee_paid_once);
    RUN(test_return_bomb_costs_no_more);
    RUN(test_stipend_royalties_held_then_flushed);
    RUN(test_zero_royalty_changes_nothing);
    RUN(test_admin_handover_two_steps);
    RUN(test_admin_cannot_be_stranded);
    RUN(test_gas);
    chain_close(&chain);
    return harness_finish();
}
