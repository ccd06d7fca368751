/*
 * bench_gas.c - gas of the settlement contract calls for `make bench` (issue
 * "Settlement service, part 2", Performance), read from the receipts of real
 * transactions on the private anvil that tests/bench/gas.sh starts.
 * tests/bench/run.sh turns the output into docs/benchmarks.md.
 *
 * On one SettlementVault (claimDelay 0, no claim window) deployed and funded
 * with the fixtures of the contract tests (tests/integration/vault_fixture.h:
 * dev-account roles, deploy_vault, fund_vault, send_settle, send_claim,
 * tree_proof's leaf format), every transaction signed by our txsend:
 *
 *   settle   a first batch of one payee (a creator's first batch costs more:
 *            its allocated total goes from zero to non-zero; reported in the
 *            detail), then batches of 10, 1,000 and 100,000 payees, each leaf
 *            (payee, 1 gwei) with payees from a seeded generator and the root
 *            from merkle.h. Reported: each receipt's gasUsed, and the gas the
 *            vault executed (gasUsed less 21,000 and the calldata cost of the
 *            transaction's input as the node returns it: 4 per zero byte, 16
 *            per other), whose spread over the three sizes must be 0: settle
 *            stores a root, never the payees.
 *   claim    two leaves of the 100,000-payee batch with the smallest hashes,
 *            which OZ's layout puts on the deepest level (proof depth 17,
 *            checked): one whose account is made to exist first (1 wei from
 *            the fan), one that has never been used (balance and nonce 0,
 *            checked). Both are submitted by the relayer, so the payee pays
 *            no gas; each must pay exactly its amount and set `claimed`.
 *
 * Nothing is timed: gas is deterministic for a given chain state and anvil
 * version. Output on stdout: logfmt records in bench_gateway's format (info,
 * group, measure); progress and fixture diagnostics ("# " lines) on stdout
 * or stderr. The exit status is non-zero when a transaction fails or a
 * result is wrong (a claim that pays another amount, a proof of another
 * depth). Environment: ETH_RPC_URL (anvil, chain 31337, default mnemonic).
 * Run from the repository root (artifacts are read from contracts-abi/).
 *
 * Usage: bench_gas
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "bench/bench_util.h"
#include "hex.h"
#include "integration/vault_fixture.h"
#include "merkle.h"
#include "u256.h"

#define GAS_TX_BASE 21000u
#define GAS_CALLDATA_ZERO 4u
#define GAS_CALLDATA_NONZERO 16u
#define GAS_SIZES 3
#define GAS_DEEP_PAYEES 100000u
#define GAS_DEEP_DEPTH 17u
#define GAS_LEAF_WEI 1000000000ull     /* 1 gwei to each payee */
#define GAS_FUND_WEI ETHER_WEI         /* revenue tipped to the creator first */
#define GAS_EXIST_WEI 1ull             /* what makes the existing account exist */
#define GAS_SEED 0x6761732062656e63ULL /* payee generator seed */

static const size_t gas_sizes[GAS_SIZES] = {10, 1000, GAS_DEEP_PAYEES};

/* A settled batch: its payees, leaf hashes and tree. */
struct gas_batch {
    size_t n;
    struct address *account;
    uint8_t (*leaf)[MERKLE_HASH_BYTES];
    struct merkle_tree t;
    uint8_t key[32];
    uint8_t root[32];
    struct u256 total;
};

/* What one settle cost. */
struct gas_settle {
    uint64_t used;
    uint64_t intrinsic;
    uint64_t executed;
};

static void gas_checked(const char *what);
static void gas_batch_build(struct gas_batch *b, size_t n, const char *label);
static void gas_batch_release(struct gas_batch *b);
static uint64_t gas_intrinsic_of(const uint8_t tx_hash[32]);
static struct gas_settle gas_settle_batch(const struct address *vault, const struct gas_batch *b);
static size_t gas_payee_of_sorted(const struct gas_batch *b, size_t sorted_index);
static uint64_t gas_claim(size_t *depth_out, const struct address *vault, const struct gas_batch *b,
                          size_t payee_index);
static void gas_make_exist(const struct address *a);

/* ---- helpers --------------------------------------------------------------------------- */

/* The fixtures report through harness.h CHECKs: any failed one ends the bench. */
static void gas_checked(const char *what)
{
    if (harness_cur_failed != 0)
        bench_fail("%s failed (see the '# check failed' line above)", what);
}

/* n generated payees of GAS_LEAF_WEI each; batch key keccak256(label). */
static void gas_batch_build(struct gas_batch *b, size_t n, const char *label)
{
    memset(b, 0, sizeof *b);
    b->n = n;
    b->account = malloc(n * sizeof *b->account);
    b->leaf = malloc(n * sizeof *b->leaf);
    if (b->account == NULL || b->leaf == NULL)
        bench_fail("out of memory for %zu payees", n);
    uint64_t state = GAS_SEED ^ (uint64_t)n;
    uint8_t amount_be[32];
    struct u256 each = wei(GAS_LEAF_WEI);
    u256_to_be32(amount_be, &each);
    for (size_t i = 0; i < n; i++) {
        uint64_t w[3];
        for (size_t k = 0; k < 3; k++) /* in order: an initializer list would not be */
            w[k] = harness_rand(&state);
        memcpy(b->account[i].bytes, w, ADDRESS_BYTES);
        merkle_leaf_settlement(b->leaf[i], b->account[i].bytes, amount_be);
    }
    b->total = wei((uint64_t)n * GAS_LEAF_WEI);
    struct err e = {0};
    if (merkle_tree_build(&b->t, (const uint8_t(*)[MERKLE_HASH_BYTES])b->leaf, n, &e) != MERKLE_OK)
        bench_fail("merkle tree of %zu payees: %s", n, e.msg);
    merkle_tree_root(b->root, &b->t);
    chain_key_of(b->key, label);
}

static void gas_batch_release(struct gas_batch *b)
{
    merkle_tree_release(&b->t);
    free(b->account);
    free(b->leaf);
    memset(b, 0, sizeof *b);
}

/* 21,000 plus the calldata cost of the input the node stored for the transaction. */
static uint64_t gas_intrinsic_of(const uint8_t tx_hash[32])
{
    char hash_hex[2 * 32 + 3];
    ASSERT(hex_encode_0x(hash_hex, sizeof hash_hex, tx_hash, 32) == 0);
    json_t *tx = chain_call(&chain, "eth_getTransactionByHash", json_pack("[s]", hash_hex));
    gas_checked("eth_getTransactionByHash");
    const char *input = json_string_value(json_object_get(tx, "input"));
    static uint8_t data[TX_DATA_BYTES_MAX];
    size_t len = 0;
    struct err e = {0};
    if (input == NULL || hex_decode(data, sizeof data, &len, input, strlen(input), &e) != HEX_OK)
        bench_fail("transaction %s: no input hex (%s)", hash_hex, e.msg);
    json_decref(tx);
    uint64_t gas = GAS_TX_BASE;
    for (size_t i = 0; i < len; i++)
        gas += data[i] == 0 ? GAS_CALLDATA_ZERO : GAS_CALLDATA_NONZERO;
    return gas;
}

static struct gas_settle gas_settle_batch(const struct address *vault, const struct gas_batch *b)
{
    struct txsend_outcome o;
    struct gas_settle s = {0};
    enum txsend_result r = send_settle(&o, ACCT_OPERATOR, vault, b->key, b->root, &b->total);
    if (r != TXSEND_OK)
        bench_fail("settle of %zu payees: txsend result %d", b->n, (int)r);
    s.used = o.receipt.gas_used;
    s.intrinsic = gas_intrinsic_of(o.tx_hash);
    txsend_outcome_release(&o);
    if (s.used <= s.intrinsic)
        bench_fail("settle of %zu payees: gasUsed %" PRIu64 " <= intrinsic %" PRIu64, b->n, s.used,
                   s.intrinsic);
    s.executed = s.used - s.intrinsic;
    gas_checked("settle");
    return s;
}

/* The payee whose leaf is the sorted_index-th smallest. */
static size_t gas_payee_of_sorted(const struct gas_batch *b, size_t sorted_index)
{
    const uint8_t *leaf = merkle_tree_leaf_at(&b->t, sorted_index);
    for (size_t i = 0; i < b->n; i++)
        if (memcmp(b->leaf[i], leaf, MERKLE_HASH_BYTES) == 0)
            return i;
    bench_fail("leaf %zu of the tree is no payee's", sorted_index);
}

/* The fan sends GAS_EXIST_WEI to `a`, so that `a` exists before its claim. */
static void gas_make_exist(const struct address *a)
{
    struct u256 value = wei(GAS_EXIST_WEI);
    struct txsend_outcome o;
    struct err e = {0};
    enum txsend_result r = chain_send(&o, &chain, ACCT_FAN, a, &value, NULL, 0, 0, &e);
    txsend_outcome_release(&o);
    if (r != TXSEND_OK)
        bench_fail("transfer to the existing payee: %s", e.msg);
}

/* The relayer claims payee_index's leaf of `b`; checks the payment and the
 * claimed flag; returns gasUsed and *depth_out the proof's length. */
static uint64_t gas_claim(size_t *depth_out, const struct address *vault, const struct gas_batch *b,
                          size_t payee_index)
{
    const struct address *a = &b->account[payee_index];
    struct payout leaf = {*a, wei(GAS_LEAF_WEI)};
    uint8_t proof[MERKLE_PROOF_MAX][MERKLE_HASH_BYTES];
    size_t proof_len = 0;
    if (!tree_proof(proof, &proof_len, &b->t, &leaf))
        bench_fail("no proof for payee %zu", payee_index);
    struct u256 before = balance(a);
    struct txsend_outcome o;
    enum txsend_result r = send_claim(&o, ACCT_RELAYER, vault, b->key, a, &leaf.amount_wei,
                                      (const uint8_t(*)[32])proof, proof_len);
    uint64_t used = r == TXSEND_OK ? o.receipt.gas_used : 0;
    txsend_outcome_release(&o);
    if (r != TXSEND_OK)
        bench_fail("claim of payee %zu: txsend result %d", payee_index, (int)r);
    struct u256 after = balance(a);
    struct abi_value key_account[2] = {abi_value_bytes32(b->key), abi_value_address(a)};
    bool claimed =
        view_one(vault, ABI_TYPE_BOOL, "claimed(bytes32,address)", key_account, 2).as.boolean;
    CHECK_U256(after, add_wei(before, leaf.amount_wei));
    CHECK(claimed);
    gas_checked("claim");
    *depth_out = proof_len;
    return used;
}

/* ---- main ------------------------------------------------------------------------------ */

int main(void)
{
    struct err e = {0};
    bench_util_name = "bench_gas";
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (!chain_open(&chain, &e))
        bench_fail("%s", e.msg);
    struct address vault;
    if (!deploy_vault(&vault) || !fund_vault(&vault, GAS_FUND_WEI))
        bench_fail("cannot deploy and fund the vault");
    gas_checked("deploy");

    bench_say("first batch (one payee)");
    struct gas_batch first;
    gas_batch_build(&first, 1, "bench gas: first batch");
    struct gas_settle first_cost = gas_settle_batch(&vault, &first);
    gas_batch_release(&first);

    struct gas_batch batch[GAS_SIZES];
    struct gas_settle cost[GAS_SIZES];
    for (size_t i = 0; i < GAS_SIZES; i++) {
        char label[64];
        bench_format(label, sizeof label, "bench gas: %zu payees", gas_sizes[i]);
        bench_say("settle %zu payees", gas_sizes[i]);
        gas_batch_build(&batch[i], gas_sizes[i], label);
        cost[i] = gas_settle_batch(&vault, &batch[i]);
    }
    uint64_t lo = cost[0].executed, hi = cost[0].executed;
    for (size_t i = 1; i < GAS_SIZES; i++) {
        lo = cost[i].executed < lo ? cost[i].executed : lo;
        hi = cost[i].executed > hi ? cost[i].executed : hi;
    }

    struct gas_batch *deep = &batch[GAS_SIZES - 1];
    size_t existing = gas_payee_of_sorted(deep, 0), fresh = gas_payee_of_sorted(deep, 1);
    gas_make_exist(&deep->account[existing]);
    struct u256 fresh_wei = balance(&deep->account[fresh]);
    if (!u256_is_zero(&fresh_wei) || nonce_of(&deep->account[fresh]) != 0)
        bench_fail("the new payee already exists");
    gas_checked("payee state");
    size_t depth_existing = 0, depth_new = 0;
    bench_say("claim at depth %u: existing account, then a new one", GAS_DEEP_DEPTH);
    uint64_t claim_existing = gas_claim(&depth_existing, &vault, deep, existing);
    uint64_t claim_new = gas_claim(&depth_new, &vault, deep, fresh);
    if (depth_existing != GAS_DEEP_DEPTH || depth_new != GAS_DEEP_DEPTH)
        bench_fail("proof depths %zu and %zu, expected %u", depth_existing, depth_new,
                   GAS_DEEP_DEPTH);

    printf(
        "group id=gas title=\"Settlement gas: settle and claim\" "
        "ours=\"contracts-abi/SettlementVault.json deployed on a private anvil; settle(batchKey, "
        "creatorKey, root, total) by the operator, claim(batchKey, account, amount, proof) "
        "submitted by a relayer; gasUsed from each transaction's receipt\" "
        "ref=\"none: the targets are absolute\" "
        "note=\"One vault (no audit delay, no claim window), tipped 1 ETH for one creator, whose "
        "first batch (one payee) comes first: it costs more (gasUsed %" PRIu64 ", executed %" PRIu64
        ") because the creator's allocated total goes from zero to "
        "non-zero. Then batches of 10, 1,000 and 100,000 payees of 1 gwei each (seeded "
        "addresses, roots from merkle.h). Executed gas = gasUsed less 21,000 and the "
        "calldata cost of the transaction's input (4 gas per zero byte, 16 per other): roots "
        "and keys are hashes whose count of zero bytes varies, which moves gasUsed by a few "
        "dozen gas. Claims: the two leaves of the 100,000-payee batch with the smallest "
        "hashes (proof depth %u), one account made to exist first (a 1-wei transfer), one "
        "never used; each must pay exactly 1 gwei and set claimed.\"\n",
        first_cost.used, first_cost.executed, GAS_DEEP_DEPTH);
    for (size_t i = 0; i < GAS_SIZES; i++)
        printf("measure group=gas name=settle_gas_%zu_payees unit=gas value=%" PRIu64
               " target_max=none target_text=\"\" detail=\"gasUsed of settle; executed %" PRIu64
               " (intrinsic %" PRIu64 ")\"\n",
               gas_sizes[i], cost[i].used, cost[i].executed, cost[i].intrinsic);
    printf("measure group=gas name=settle_gas_spread unit=gas value=%" PRIu64
           " target_max=0 target_text=\"settle gas constant in the number of payees\" "
           "detail=\"largest minus smallest executed gas of the 10, 1,000 and 100,000-payee "
           "settles: %" PRIu64 " - %" PRIu64 "\"\n",
           hi - lo, hi, lo);
    printf("measure group=gas name=claim_gas_depth%u_existing unit=gas value=%" PRIu64
           " target_max=80000 target_text=\"claim, existing account, proof depth 17\" "
           "detail=\"gasUsed of claim with a %zu-node proof for an account that exists\"\n",
           GAS_DEEP_DEPTH, claim_existing, depth_existing);
    printf("measure group=gas name=claim_gas_depth%u_new unit=gas value=%" PRIu64
           " target_max=none target_text=\"\" detail=\"gasUsed of claim with a %zu-node proof "
           "for an account never used before: %" PRId64 " more than for the existing one "
           "(the EVM charges 25,000 for creating an account)\"\n",
           GAS_DEEP_DEPTH, claim_new, depth_new, (int64_t)claim_new - (int64_t)claim_existing);
    for (size_t i = 0; i < GAS_SIZES; i++)
        gas_batch_release(&batch[i]);
    chain_close(&chain);
    return 0;
}
