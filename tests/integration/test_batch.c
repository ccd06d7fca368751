/*
 * test_batch.c - settlement batches (services/settlement/batch.c) and their
 * API (api_settlements.c) against the runner's real PostgreSQL (a fresh
 * database st_batch_<pid>, migrated, dropped at the end) and anvil.
 *
 * One story in steps that share state (each step is one RUN), on
 * revenue_fixture.h's world (creator A with a registered pass, a stream and
 * a 35/25/15/10/15 % split over five payees; owner anvil 0) with a vault
 * whose audit window (claimDelay) is CLAIM_DELAY_S and claim window
 * CLAIM_WINDOW_S. The test drives everything itself: txmgr_tick()
 * (operator = anvil 1), the indexer library (indexer_poll) for the vault's
 * logs, and batch_job_tick().
 *   1. nothing to settle (and non-owner, unknown creator) before revenue;
 *   2. tips, a mint and a royalty confirmed;
 *   3. batch B1: leaves = the unsettled balances, moved to settled in the
 *      ledger, root = the tree of those leaves, settle signed (pending);
 *   4. B1 anchored: the vault's settlementRoot/Total/claimableAt = ours;
 *   5. the guardian cancels B1: reversed (one REVERSAL per leaf);
 *   6. B2 holds B1's amounts plus new revenue; anchored, then claimable
 *      once the chain's clock passes claimableAt;
 *   7. three payees claim with batch_proof()'s proofs (exact deltas), a
 *      second claim reverts, the leaves show claimed;
 *   8. the claim window closes: the job submits reclaim, the two unclaimed
 *      leaves are reversed (reclaimed);
 *   9. B3 holds exactly those two amounts;
 *  10. a rogue operator (anvil 7, granted OPERATOR_ROLE) allocates the
 *      creator's new revenue first: B4's settle reverts: failed, reversed;
 *  11. the guardian cancels the rogue batch; B5 settles the same amounts;
 *  12. the HTTP API (an in-process service on the same database, its
 *      indexer on standby behind this test's): GET settlement, proofs
 *      (verified against the root), the list with pages, every bad input
 *      (400, 401, 403, 404, 409, 422) with the state unchanged, and
 *      RACERS concurrent POSTs: one 202, the rest 409.
 * After every step the ledger holds its invariants (lfx_check_invariants).
 * The whole program runs inside one evm_snapshot reverted at the end.
 *
 * Environment: DATABASE_URL, ETH_RPC_URL (anvil 31337), TEST_TMPDIR; run
 * from the repository root.
 */
#include <curl/curl.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "api_client.h"
#include "batch.h"
#include "indexer.h"
#include "ledger.h"
#include "ledger_fixture.h"
#include "revenue_fixture.h"
#include "service.h"
#include "txmgr.h"

#define CONF 2
#define CLAIM_DELAY_S 3600
#define CLAIM_WINDOW_S 7200
#define ACCT_STRANGER 6
#define ACCT_ROGUE 7
#define DOMAIN "localhost:8080"
#define PATH_BYTES 512
#define RACERS 4
#define BATCHES_MAX 8
#define TICKS_MAX 6

static struct api_db fresh;
static struct pg_session ixdb;
static struct rev_world w;
static struct indexer ix;
static struct txmgr tm;
static struct batch_job job;
static struct batch_job_report last_rep;
static char snap[32];

/* The batches in creation order: B1 .. B5, then the HTTP one. */
static struct batch_created made[BATCHES_MAX];
static size_t made_len;
/* Balances just before the last batch was made. */
static struct ledger_payee_balance before[REV_PAYEES];
static size_t before_len;
static uint8_t rogue_key[32];

static struct st_server st;
static struct api_client api = {.siwe_domain = DOMAIN, .chain = &chain};
static FILE *svc_log;
static bool st_up;

/* ---- helpers ---------------------------------------------------------------------- */

static const char *value(const char *sql)
{
    return pg_fixture_query_value(&fresh.session, sql);
}

static void balances(struct ledger_payee_balance *out, size_t *n)
{
    struct err e = {0};
    CHECK_MSG(ledger_payee_balances(out, REV_PAYEES, n, &fresh.session, w.key_a, &e) == LEDGER_OK,
              "balances: %s", e.msg);
}

static void invariants(void)
{
    CHECK(lfx_check_invariants(&fresh.session));
}

static void poll_to_head(void)
{
    CHECK_INT(lfx_poll_to_head(&ix, NULL), INDEXER_OK);
}

/* Mines CONF blocks and indexes them: everything sent so far is confirmed. */
static void confirm(void)
{
    chain_mine(&chain, CONF);
    poll_to_head();
}

/* txmgr ticks (broadcast, receipts, confirmations), the indexer, the job. */
static void drive(void)
{
    struct err e = {0};
    for (int i = 0; i < TICKS_MAX; i++) {
        struct txmgr_tick_report tr;
        CHECK_MSG(txmgr_tick(&tr, &tm, &fresh.session, &chain.rpc, &e) == TXMGR_OK, "tick: %s",
                  e.msg);
        if (i == 1)
            chain_mine(&chain, CONF + 1);
    }
    poll_to_head();
    CHECK_MSG(batch_job_tick(&last_rep, &job, &fresh.session, &chain.rpc, &e) == BATCH_OK,
              "job: %s", e.msg);
}

static enum batch_result create_as(struct batch_created *out, const char *creator, size_t acct)
{
    struct err e = {0};
    struct batch_create_request req = {
        .creator_id = creator, .caller = &chain.addr[acct], .vault = &w.vault};
    CHECK(pg_begin(&fresh.session, PG_READ_COMMITTED, &e) == PG_OK);
    enum batch_result b = batch_create(out, &fresh.session, &chain.rpc, &tm, &req, &e);
    if (b == BATCH_OK)
        CHECK_MSG(pg_commit(&fresh.session, &e) == PG_OK, "commit: %s", e.msg);
    else
        CHECK(pg_rollback(&fresh.session, &e) == PG_OK);
    if (b != BATCH_OK)
        printf("# batch_create: %d %s\n", (int)b, e.msg);
    return b;
}

/* A new batch of A by its owner; checks the leaves are the balances before
 * (unsettled > 0), now settled, and the root is the tree of those leaves. */
static struct batch_created *create_checked(void)
{
    ASSERT(made_len < BATCHES_MAX);
    struct batch_created *c = &made[made_len];
    balances(before, &before_len);
    if (create_as(c, creator_id, ACCT_ADMIN) != BATCH_OK)
        return NULL;
    made_len++;
    struct payout expect[REV_PAYEES];
    size_t n = 0;
    struct u256 total = u256_zero();
    for (size_t i = 0; i < before_len; i++)
        if (!u256_is_zero(&before[i].unsettled_wei)) {
            expect[n++] = (struct payout){before[i].payee, before[i].unsettled_wei};
            total = add_wei(total, before[i].unsettled_wei);
        }
    struct merkle_tree t;
    uint8_t root[32];
    CHECK(n > 0 && tree_build(&t, root, expect, n));
    merkle_tree_release(&t);
    CHECK_MEM(c->merkle_root, root, 32);
    CHECK_INT(c->leaf_count, n);
    CHECK_U256(c->total_wei, total);
    struct batch_leaf leaves[REV_PAYEES];
    size_t got = 0;
    struct err e = {0};
    CHECK_INT(batch_leaves(leaves, REV_PAYEES, &got, &fresh.session, c->id, &e), BATCH_OK);
    CHECK_INT(got, n);
    for (size_t i = 0; i < got && i < n; i++) {
        CHECK(address_eq(&leaves[i].payee, &expect[i].account));
        CHECK_U256(leaves[i].amount_wei, expect[i].amount_wei);
        CHECK(!leaves[i].claimed);
    }
    struct ledger_payee_balance after[REV_PAYEES];
    size_t after_len = 0;
    balances(after, &after_len);
    CHECK_INT(after_len, before_len);
    for (size_t i = 0; i < after_len && i < before_len; i++) {
        CHECK(u256_is_zero(&after[i].unsettled_wei));
        CHECK_U256(after[i].settled_wei, add_wei(before[i].settled_wei, before[i].unsettled_wei));
    }
    return c;
}

static struct batch_info info_of(const struct batch_created *c)
{
    struct batch_info i;
    struct err e = {0};
    memset(&i, 0, sizeof i);
    CHECK_MSG(batch_get(&i, &fresh.session, c->id, &e) == BATCH_OK, "batch_get: %s", e.msg);
    return i;
}

#define CHECK_STATUS(c, s) CHECK_STR(batch_status_name(info_of(c).status), batch_status_name(s))

static long reversals(void)
{
    return api_count_rows(&fresh.session,
                          "SELECT count(*) FROM ledger_entries WHERE kind = 'reversal'");
}

static struct u256 view_key(const char *sig, const uint8_t key[32])
{
    struct abi_value arg = abi_value_bytes32(key);
    return view_u256(&w.vault, sig, &arg, 1);
}

static void mint_pass(void)
{
    struct txsend_outcome o;
    CHECK_INT(send_call(&o, ACCT_FAN, &w.pass, PASS_PRICE_WEI, "mint()", NULL, 0), TXSEND_OK);
    txsend_outcome_release(&o);
}

static void pay_royalty(uint64_t amount_wei)
{
    struct txsend_outcome o;
    struct err e = {0};
    struct u256 v = wei(amount_wei);
    /* A fixed gas limit: an estimate finds the least gas that succeeds, with
     * which receive() keeps the royalty instead of forwarding it. */
    CHECK_MSG(chain_send(&o, &chain, ACCT_FAN, &w.pass, &v, NULL, 0, REV_GAS_ROYALTY, &e) ==
                  TXSEND_OK,
              "royalty: %s", e.msg);
    txsend_outcome_release(&o);
}

static void tip(uint64_t amount_wei)
{
    CHECK(tip_creator(&w.vault, creator_id, stream_id, amount_wei));
}

/* ---- 1..11: the library ------------------------------------------------------------- */

static void test_nothing_to_settle(void)
{
    struct batch_created c;
    CHECK_INT(create_as(&c, creator_id, ACCT_ADMIN), BATCH_ERR_NOTHING);
    CHECK_INT(create_as(&c, creator_id, ACCT_STRANGER), BATCH_ERR_FORBIDDEN);
    CHECK_INT(create_as(&c, rev_creator_b_id, ACCT_ADMIN), BATCH_ERR_NOT_FOUND);
    CHECK_STR(value("SELECT count(*) FROM settlements"), "0");
    CHECK_STR(value("SELECT count(*) FROM ledger_entries"), "0");
}

static void test_revenue_confirmed(void)
{
    tip(ETHER_WEI + 3);
    mint_pass();
    pay_royalty(5 * FINNEY_WEI + 1);
    tip(17);
    confirm();
    struct u256 sum = u256_zero();
    balances(before, &before_len);
    CHECK_INT(before_len, REV_PAYEES);
    for (size_t i = 0; i < before_len; i++)
        sum = add_wei(sum, before[i].unsettled_wei);
    CHECK_U256(sum, wei(ETHER_WEI + 3 + PASS_PRICE_WEI + 5 * FINNEY_WEI + 1 + 17));
    CHECK(lfx_check_received_all(&fresh.session, &chain.rpc, &w.vault, "indexer"));
    invariants();
}

static void test_batch_moves_balances(void)
{
    struct batch_created *c = create_checked();
    if (c == NULL)
        return;
    uint8_t key[32];
    ids_key_of(key, c->id);
    CHECK_MEM(c->batch_key, key, 32);
    CHECK_STATUS(c, BATCH_PENDING);
    char purpose[BATCH_PURPOSE_SIZE];
    snprintf(purpose, sizeof purpose, "settle:%s", c->id);
    struct txmgr_tx tx;
    struct err e = {0};
    CHECK_INT(txmgr_get(&tx, &fresh.session, purpose, &e), TXMGR_OK);
    CHECK_INT(tx.status, TXMGR_SIGNED);
    CHECK_STR(value("SELECT count(*) FROM ledger_entries WHERE kind = 'settlement'"), "5");
    /* Immediately again: nothing left, nothing written. */
    struct batch_created again;
    CHECK_INT(create_as(&again, creator_id, ACCT_ADMIN), BATCH_ERR_NOTHING);
    CHECK_STR(value("SELECT count(*) FROM settlements"), "1");
    invariants();
}

static void test_batch_anchored(void)
{
    const struct batch_created *c = &made[0];
    drive();
    struct batch_info i = info_of(c);
    CHECK_STR(batch_status_name(i.status), "anchored");
    CHECK(i.has_tx_hash && i.has_block && i.has_claimable_at);
    struct abi_value arg = abi_value_bytes32(c->batch_key);
    struct abi_value root =
        view_one(&w.vault, ABI_TYPE_BYTES32, "settlementRoot(bytes32)", &arg, 1);
    CHECK_MEM(root.as.bytes32, c->merkle_root, 32);
    CHECK_U256(view_key("settlementTotal(bytes32)", c->batch_key), c->total_wei);
    CHECK_U256(view_key("claimableAt(bytes32)", c->batch_key), wei(i.claimable_at));
    CHECK_INT(i.claimable_at, chain_block_time(i.block_number) + CLAIM_DELAY_S);
    invariants();
}

static void test_guardian_cancel_reverses(void)
{
    const struct batch_created *c = &made[0];
    struct abi_value arg = abi_value_bytes32(c->batch_key);
    struct txsend_outcome o;
    CHECK_INT(send_call(&o, ACCT_GUARDIAN, &w.vault, 0, "cancelSettlement(bytes32)", &arg, 1),
              TXSEND_OK);
    txsend_outcome_release(&o);
    drive();
    CHECK_STATUS(c, BATCH_CANCELLED);
    CHECK_INT(last_rep.reversals, c->leaf_count);
    CHECK_INT(reversals(), c->leaf_count);
    struct ledger_payee_balance now[REV_PAYEES];
    size_t n = 0;
    balances(now, &n);
    for (size_t i = 0; i < n && i < before_len; i++) {
        CHECK_U256(now[i].unsettled_wei, before[i].unsettled_wei);
        CHECK(u256_is_zero(&now[i].settled_wei));
    }
    CHECK_U256(view_key("unallocatedOf(bytes32)", w.key_a),
               view_key("receivedOf(bytes32)", w.key_a));
    invariants();
}

static void test_next_batch_resettles(void)
{
    const struct u256 b1_total = made[0].total_wei;
    tip(2 * FINNEY_WEI + 9);
    confirm();
    struct batch_created *c = create_checked();
    if (c == NULL)
        return;
    CHECK_U256(c->total_wei, add_wei(b1_total, wei(2 * FINNEY_WEI + 9)));
    drive();
    CHECK_STATUS(c, BATCH_ANCHORED);
    CHECK(chain_advance_time(CLAIM_DELAY_S));
    drive();
    CHECK_STATUS(c, BATCH_CLAIMABLE);
    invariants();
}

static void test_claims(void)
{
    const struct batch_created *c = &made[1];
    struct batch_leaf leaves[REV_PAYEES];
    size_t n = 0;
    struct err e = {0};
    CHECK_INT(batch_leaves(leaves, REV_PAYEES, &n, &fresh.session, c->id, &e), BATCH_OK);
    for (size_t i = 0; i < 3 && i < n; i++) {
        uint8_t proof[MERKLE_PROOF_MAX][32], root[32];
        size_t len = 0;
        struct u256 amount;
        struct batch_info info = info_of(c);
        CHECK_INT(
            batch_proof(&amount, proof, &len, root, &fresh.session, &info, &leaves[i].payee, &e),
            BATCH_OK);
        CHECK_MEM(root, c->merkle_root, 32);
        CHECK_U256(amount, leaves[i].amount_wei);
        struct u256 was = balance(&leaves[i].payee);
        struct txsend_outcome o;
        CHECK_INT(send_claim(&o, ACCT_RELAYER, &w.vault, c->batch_key, &leaves[i].payee, &amount,
                             (const uint8_t(*)[32])proof, len),
                  TXSEND_OK);
        txsend_outcome_release(&o);
        CHECK_U256(balance(&leaves[i].payee), add_wei(was, amount));
        if (i == 0) {
            enum txsend_result r =
                send_claim(&o, ACCT_RELAYER, &w.vault, c->batch_key, &leaves[i].payee, &amount,
                           (const uint8_t(*)[32])proof, len);
            struct abi_value args[2] = {abi_value_bytes32(c->batch_key),
                                        abi_value_address(&leaves[i].payee)};
            CHECK_REVERT(r, &o, "AlreadyClaimed(bytes32,address)", args, 2);
            txsend_outcome_release(&o);
        }
    }
    drive();
    CHECK_INT(last_rep.claims, 3);
    CHECK_INT(batch_leaves(leaves, REV_PAYEES, &n, &fresh.session, c->id, &e), BATCH_OK);
    for (size_t i = 0; i < n; i++)
        CHECK_INT(leaves[i].claimed, i < 3);
    CHECK_STR(value("SELECT count(*) FROM settlement_leaves WHERE claimed"), "3");
    CHECK_STATUS(c, BATCH_CLAIMABLE);
    invariants();
}

static void test_claim_window_reclaims(void)
{
    const struct batch_created *c = &made[1];
    struct batch_leaf leaves[REV_PAYEES];
    size_t n = 0;
    struct err e = {0};
    CHECK_INT(batch_leaves(leaves, REV_PAYEES, &n, &fresh.session, c->id, &e), BATCH_OK);
    long reversed = reversals();
    CHECK(chain_advance_time(CLAIM_WINDOW_S));
    drive(); /* submits reclaim */
    CHECK_INT(last_rep.reclaims, 1);
    char purpose[BATCH_PURPOSE_SIZE];
    snprintf(purpose, sizeof purpose, "reclaim:%s", c->id);
    struct txmgr_tx tx;
    CHECK_INT(txmgr_get(&tx, &fresh.session, purpose, &e), TXMGR_OK);
    drive(); /* broadcast, confirmed, indexed, applied */
    CHECK_STATUS(c, BATCH_RECLAIMED);
    CHECK_INT(reversals(), reversed + 2);
    struct u256 unclaimed = add_wei(leaves[3].amount_wei, leaves[4].amount_wei);
    struct batch_info i = info_of(c);
    CHECK(i.has_reclaimed);
    CHECK_U256(i.reclaimed_wei, unclaimed);
    struct u256 remaining = view_key("settlementRemaining(bytes32)", c->batch_key);
    CHECK(u256_is_zero(&remaining));
    struct ledger_payee_balance now[REV_PAYEES];
    balances(now, &n);
    for (size_t k = 0; k < n; k++) {
        bool claimed = k < 3; /* leaves and balances are both ordered by address */
        CHECK_U256(now[k].unsettled_wei, claimed ? u256_zero() : leaves[k].amount_wei);
        CHECK_U256(now[k].settled_wei, claimed ? leaves[k].amount_wei : u256_zero());
    }
    invariants();
}

static void test_reclaimed_in_next_batch(void)
{
    const struct batch_created *b2 = &made[1];
    struct batch_leaf old[REV_PAYEES], leaves[REV_PAYEES];
    size_t n_old = 0, n = 0;
    struct err e = {0};
    CHECK_INT(batch_leaves(old, REV_PAYEES, &n_old, &fresh.session, b2->id, &e), BATCH_OK);
    struct batch_created *c = create_checked();
    if (c == NULL)
        return;
    CHECK_INT(batch_leaves(leaves, REV_PAYEES, &n, &fresh.session, c->id, &e), BATCH_OK);
    CHECK_INT(n, 2);
    for (size_t i = 0; i < n && n_old == REV_PAYEES; i++) {
        CHECK(address_eq(&leaves[i].payee, &old[3 + i].payee));
        CHECK_U256(leaves[i].amount_wei, old[3 + i].amount_wei);
    }
    drive();
    CHECK_STATUS(c, BATCH_ANCHORED);
    invariants();
}

static void test_failed_settle_reversed(void)
{
    tip(3 * FINNEY_WEI + 1);
    confirm();
    struct batch_created *c = create_checked();
    if (c == NULL)
        return;
    /* A rogue operator allocates the creator's free revenue first. */
    uint8_t role[32];
    operator_role(role);
    struct abi_value grant[2] = {abi_value_bytes32(role),
                                 abi_value_address(&chain.addr[ACCT_ROGUE])};
    struct txsend_outcome o;
    CHECK_INT(send_call(&o, ACCT_ADMIN, &w.vault, 0, "grantRole(bytes32,address)", grant, 2),
              TXSEND_OK);
    txsend_outcome_release(&o);
    struct u256 free_wei = view_key("unallocatedOf(bytes32)", w.key_a);
    CHECK_U256(free_wei, c->total_wei);
    uint8_t root[32];
    chain_key_of(rogue_key, "rogue batch");
    chain_key_of(root, "rogue root");
    CHECK_INT(send_settle_for(&o, ACCT_ROGUE, &w.vault, rogue_key, w.key_a, root, &free_wei),
              TXSEND_OK);
    txsend_outcome_release(&o);
    long reversed = reversals();
    drive();
    CHECK_STATUS(c, BATCH_FAILED);
    CHECK_INT(reversals(), reversed + (long)c->leaf_count);
    struct ledger_payee_balance now[REV_PAYEES];
    size_t n = 0;
    balances(now, &n);
    for (size_t i = 0; i < n && i < before_len; i++)
        CHECK_U256(now[i].unsettled_wei, before[i].unsettled_wei);
    invariants();
}

static void test_rogue_cancelled_then_settled(void)
{
    const struct batch_created *failed = &made[3];
    struct abi_value arg = abi_value_bytes32(rogue_key);
    struct txsend_outcome o;
    CHECK_INT(send_call(&o, ACCT_GUARDIAN, &w.vault, 0, "cancelSettlement(bytes32)", &arg, 1),
              TXSEND_OK);
    txsend_outcome_release(&o);
    confirm();
    struct batch_created *c = create_checked();
    if (c == NULL)
        return;
    CHECK_MEM(c->merkle_root, failed->merkle_root, 32);
    CHECK_U256(c->total_wei, failed->total_wei);
    drive();
    CHECK_STATUS(c, BATCH_ANCHORED);
    CHECK_STATUS(failed, BATCH_FAILED);
    invariants();
}

/* ---- 12: the HTTP API ------------------------------------------------------------------ */

/* The service on the test's database, operator anvil 1; its worker's
 * indexer waits behind this test's (same leader lock). */
static bool start_service(void)
{
    char dir[PATH_BYTES], secret[PATH_BYTES + 16], key[PATH_BYTES + 16], vault[ADDRESS_TEXT_SIZE];
    struct app_config cfg;
    struct err e = {0};
    address_format_checksum(vault, &w.vault);
    if (!api_make_dir(dir, sizeof dir, "st_batch", secret, sizeof secret, "service.log", "service",
                      &svc_log) ||
        !api_load_config(&cfg, fresh.url, vault, secret, dir, DOMAIN, "2"))
        return false;
    snprintf(key, sizeof key, "%s/operator.key", dir);
    if (!chain_write_key_file(key, &chain.key[ACCT_OPERATOR]))
        return false;
    snprintf(cfg.operator_key_file, sizeof cfg.operator_key_file, "%s", key);
    cfg.max_fee_per_gas_wei = CONFIG_MAX_FEE_PER_GAS_WEI_DEFAULT;
    snprintf(cfg.settlement_listen, sizeof cfg.settlement_listen, "127.0.0.1:0");
    st_up = st_open(&st, &cfg, svc_log, &e);
    if (!st_up || (!st.s.operator_ready && !st_operator_open(&st.s, &e)) || !st_start(&st, &e)) {
        printf("# settlement: %s\n", e.msg);
        return false;
    }
    api.port = http_server_port(st.http);
    return api_sign_in(&api, ACCT_ADMIN) && api_sign_in(&api, ACCT_STRANGER);
}

/* False (a failed check) when the service is not up: the HTTP steps then
 * fail once each instead of at every request. */
static bool service_up(void)
{
    CHECK_MSG(api.port != 0, "the service is not running");
    return api.port != 0;
}

/* The last reply is a problem+json of `status`. */
static void check_problem(long status, const char *what)
{
    api_check_problem(&api, status, what);
}

static void hex0x(char out[2 + 64 + 1], const uint8_t *b, size_t len)
{
    ASSERT(hex_encode_0x(out, 2 + 64 + 1, b, len) == 0);
}

static void test_http_settlement_get(void)
{
    if (!start_service()) {
        api.port = 0;
        CHECK_MSG(0, "the service did not start");
        return;
    }
    const struct batch_created *c = &made[1];
    struct batch_info i = info_of(c);
    struct batch_leaf leaves[REV_PAYEES];
    size_t n = 0;
    struct err e = {0};
    CHECK_INT(batch_leaves(leaves, REV_PAYEES, &n, &fresh.session, c->id, &e), BATCH_OK);
    char path[PATH_BYTES], hex[67], dec[U256_DEC_SIZE], addr[ADDRESS_TEXT_SIZE];
    snprintf(path, sizeof path, "/v1/settlements/%s", c->id);
    CHECK_INT(api_request(&api, "GET", path, NULL, NULL, 0), 200); /* public */
    json_t *j = api_reply_json(&api);
    CHECK_STR(api_str_at(j, "id"), c->id);
    CHECK_STR(api_str_at(j, "creator_id"), creator_id);
    CHECK_STR(api_str_at(j, "status"), "reclaimed");
    hex0x(hex, c->batch_key, 32);
    CHECK_STR(api_str_at(j, "batch_key"), hex);
    hex0x(hex, c->merkle_root, 32);
    CHECK_STR(api_str_at(j, "merkle_root"), hex);
    hex0x(hex, i.tx_hash, 32);
    CHECK_STR(api_str_at(j, "tx_hash"), hex);
    u256_to_dec(dec, &c->total_wei);
    CHECK_STR(api_str_at(j, "total_wei"), dec);
    CHECK_INT(json_integer_value(json_object_get(j, "block_number")), i.block_number);
    CHECK_INT(json_integer_value(json_object_get(j, "claimable_at")), i.claimable_at);
    const json_t *list = json_object_get(j, "leaves");
    CHECK_INT(json_array_size(list), n);
    for (size_t k = 0; k < n && k < json_array_size(list); k++) {
        const json_t *l = json_array_get(list, k);
        address_format_checksum(addr, &leaves[k].payee);
        u256_to_dec(dec, &leaves[k].amount_wei);
        CHECK_STR(api_str_at(l, "payee"), addr);
        CHECK_STR(api_str_at(l, "amount_wei"), dec);
        CHECK_INT(json_is_true(json_object_get(l, "claimed")), k < 3);
    }
    json_decref(j);
    snprintf(path, sizeof path, "/v1/settlements/%s", made[3].id);
    CHECK_INT(api_request(&api, "GET", path, NULL, NULL, 0), 200);
    j = api_reply_json(&api);
    CHECK_STR(api_str_at(j, "status"), "failed");
    CHECK(json_is_null(json_object_get(j, "claimable_at")));
    json_decref(j);
    api_request(&api, "GET", "/v1/settlements/not-a-uuid", NULL, NULL, 0);
    check_problem(400, "bad id");
    api_request(&api, "GET", "/v1/settlements/00000000-0000-4000-8000-000000000000", NULL, NULL, 0);
    check_problem(404, "unknown id");
}

static void test_http_proofs(void)
{
    if (!service_up())
        return;
    const struct batch_created *c = &made[4];
    struct batch_leaf leaves[REV_PAYEES];
    size_t n = 0;
    struct err e = {0};
    CHECK_INT(batch_leaves(leaves, REV_PAYEES, &n, &fresh.session, c->id, &e), BATCH_OK);
    char path[PATH_BYTES], addr[ADDRESS_TEXT_SIZE], dec[U256_DEC_SIZE], hex[67];
    for (size_t k = 0; k < n; k++) {
        /* lowercase for even leaves, EIP-55 for odd ones: both are addresses */
        if (k % 2 == 0)
            address_format_lower(addr, &leaves[k].payee);
        else
            address_format_checksum(addr, &leaves[k].payee);
        snprintf(path, sizeof path, "/v1/settlements/%s/proofs/%s", c->id, addr);
        CHECK_INT(api_request(&api, "GET", path, NULL, NULL, 0), 200);
        json_t *j = api_reply_json(&api);
        const json_t *proof = json_object_get(j, "proof");
        uint8_t nodes[MERKLE_PROOF_MAX][32], leaf[32];
        size_t len = json_array_size(proof), got = 0;
        for (size_t p = 0; p < len && p < MERKLE_PROOF_MAX; p++)
            CHECK(chain_json_hex(nodes[p], 32, &got, 32, json_array_get(proof, p)));
        batch_leaf_hash(leaf, &leaves[k]);
        CHECK(len > 0 &&
              merkle_proof_verify(c->merkle_root, leaf, (const uint8_t(*)[32])nodes, len));
        address_format_checksum(addr, &leaves[k].payee);
        u256_to_dec(dec, &leaves[k].amount_wei);
        hex0x(hex, c->merkle_root, 32);
        CHECK_STR(api_str_at(j, "payee"), addr);
        CHECK_STR(api_str_at(j, "amount_wei"), dec);
        CHECK_STR(api_str_at(j, "root"), hex);
        json_decref(j);
    }
    address_format_checksum(addr, &chain.addr[9]);
    snprintf(path, sizeof path, "/v1/settlements/%s/proofs/%s", c->id, addr);
    api_request(&api, "GET", path, NULL, NULL, 0);
    check_problem(404, "payee not in the batch");
    snprintf(path, sizeof path, "/v1/settlements/%s/proofs/0x1234", c->id);
    api_request(&api, "GET", path, NULL, NULL, 0);
    check_problem(400, "bad payee");
    snprintf(path, sizeof path, "/v1/settlements/%.35s/proofs/%s", c->id, addr);
    api_request(&api, "GET", path, NULL, NULL, 0);
    check_problem(400, "bad id");
}

/* The ids of one page of the list into ids[*n..), its next_cursor into cursor. */
static void list_page(const char *query, char (*ids)[IDS_UUID_SIZE], size_t *n, char *cursor,
                      size_t cursor_size)
{
    char path[PATH_BYTES];
    snprintf(path, sizeof path, "/v1/creators/%s/settlements%s", creator_id, query);
    CHECK_INT(api_request(&api, "GET", path, NULL, NULL, 0), 200);
    json_t *j = api_reply_json(&api);
    CHECK_STR(api_str_at(j, "creator_id"), creator_id);
    const json_t *list = json_object_get(j, "settlements");
    for (size_t i = 0; i < json_array_size(list) && *n < BATCHES_MAX; i++)
        snprintf(ids[(*n)++], IDS_UUID_SIZE, "%s",
                 api_str_at(json_array_get(list, i), "id")
                     ? api_str_at(json_array_get(list, i), "id")
                     : "");
    const char *next = api_str_at(j, "next_cursor");
    snprintf(cursor, cursor_size, "%s", next != NULL ? next : "");
    json_decref(j);
}

static void test_http_list(void)
{
    if (!service_up())
        return;
    char ids[BATCHES_MAX][IDS_UUID_SIZE], cursor[32], query[64];
    size_t n = 0;
    list_page("", ids, &n, cursor, sizeof cursor);
    CHECK_INT(n, made_len);
    CHECK_STR(cursor, "");
    for (size_t i = 0; i < n && i < made_len; i++)
        CHECK_STR(ids[i], made[made_len - 1 - i].id); /* newest first */
    n = 0;
    list_page("?limit=2", ids, &n, cursor, sizeof cursor);
    for (int page = 0; cursor[0] != '\0' && page < BATCHES_MAX; page++) {
        snprintf(query, sizeof query, "?limit=2&cursor=%s", cursor);
        list_page(query, ids, &n, cursor, sizeof cursor);
    }
    CHECK_INT(n, made_len);
    for (size_t i = 0; i < n && i < made_len; i++)
        CHECK_STR(ids[i], made[made_len - 1 - i].id);
    char path[PATH_BYTES];
    snprintf(path, sizeof path, "/v1/creators/%s/settlements?limit=0", creator_id);
    api_request(&api, "GET", path, NULL, NULL, 0);
    check_problem(400, "limit 0");
    snprintf(path, sizeof path, "/v1/creators/%s/settlements?cursor=x", creator_id);
    api_request(&api, "GET", path, NULL, NULL, 0);
    check_problem(400, "bad cursor");
    snprintf(path, sizeof path, "/v1/creators/%s/settlements", rev_creator_b_id);
    api_request(&api, "GET", path, NULL, NULL, 0);
    check_problem(404, "unknown creator");
}

static void test_http_post_errors(void)
{
    if (!service_up())
        return;
    char path[PATH_BYTES];
    const char *state = "SELECT (SELECT count(*) FROM settlements) * 1000 + "
                        "(SELECT count(*) FROM ledger_entries)";
    char was[64];
    snprintf(was, sizeof was, "%s", value(state));
    snprintf(path, sizeof path, "/v1/creators/%s/settlements", creator_id);
    api_request(&api, "POST", path, NULL, NULL, 0);
    check_problem(401, "no session");
    api_request(&api, "POST", path, api.tokens[ACCT_STRANGER], NULL, 0);
    check_problem(403, "not the owner");
    api_request(&api, "POST", path, api.tokens[ACCT_ADMIN], "{\"now\":true}", 12);
    check_problem(422, "a body field");
    api_request(&api, "POST", path, api.tokens[ACCT_ADMIN], "{}", 2);
    check_problem(409, "nothing to settle");
    api_request_key(&api, "POST", path, api.tokens[ACCT_ADMIN], "batch-k1", NULL, 0);
    check_problem(409, "nothing to settle, with a key");
    snprintf(path, sizeof path, "/v1/creators/%s/settlements", rev_creator_b_id);
    api_request(&api, "POST", path, api.tokens[ACCT_ADMIN], NULL, 0);
    check_problem(404, "unknown creator");
    CHECK_STR(value(state), was);
}

struct racer {
    pthread_t t;
    const char *path;
    struct api_reply rep;
};

static void *race_main(void *arg)
{
    struct racer *r = arg;
    api_request_into(&r->rep, api.port, "POST", r->path, api.tokens[ACCT_ADMIN], NULL, NULL, 0);
    return NULL;
}

static void test_http_concurrent_posts(void)
{
    if (!service_up())
        return;
    static struct racer racers[RACERS];
    char path[PATH_BYTES];
    tip(4 * FINNEY_WEI + 5);
    confirm();
    long count = api_count_rows(&fresh.session, "SELECT count(*) FROM settlements");
    snprintf(path, sizeof path, "/v1/creators/%s/settlements", creator_id);
    for (size_t i = 0; i < RACERS; i++) {
        racers[i].path = path;
        ASSERT(pthread_create(&racers[i].t, NULL, race_main, &racers[i]) == 0);
    }
    for (size_t i = 0; i < RACERS; i++)
        pthread_join(racers[i].t, NULL);
    size_t accepted = 0, conflicts = 0;
    const struct api_reply *winner = NULL;
    for (size_t i = 0; i < RACERS; i++) {
        accepted += racers[i].rep.status == 202;
        conflicts += racers[i].rep.status == 409;
        if (racers[i].rep.status == 202)
            winner = &racers[i].rep;
    }
    CHECK_INT(accepted, 1);
    CHECK_INT(conflicts, RACERS - 1);
    CHECK_INT(api_count_rows(&fresh.session, "SELECT count(*) FROM settlements"), count + 1);
    json_t *j = winner != NULL ? json_loadb(winner->body, winner->body_len, 0, NULL) : NULL;
    const char *id = api_str_at(j, "id");
    CHECK_STR(api_str_at(j, "status"), "pending");
    if (id != NULL && made_len < BATCHES_MAX) {
        struct batch_created *c = &made[made_len++];
        struct batch_info i;
        struct err e = {0};
        CHECK_INT(batch_get(&i, &fresh.session, id, &e), BATCH_OK);
        CHECK_U256(i.total_wei, wei(4 * FINNEY_WEI + 5));
        CHECK_INT(i.leaf_count, REV_PAYEES);
        char hex[67];
        hex0x(hex, i.batch_key, 32);
        CHECK_STR(api_str_at(j, "batch_key"), hex);
        snprintf(c->id, sizeof c->id, "%s", id);
    }
    json_decref(j);
    invariants();
}

/* ---- main ------------------------------------------------------------------------------ */

static bool setup(void)
{
    struct err e = {0};
    struct txmgr_config tc;
    struct indexer_config ic;
    if (!rev_setup_vault(&w, &fresh.session, harness_seed(), CLAIM_DELAY_S, CLAIM_WINDOW_S))
        return false;
    txmgr_config_default(&tc);
    tc.chain_id = CHAIN_ID_ANVIL;
    tc.key = &chain.key[ACCT_OPERATOR];
    tc.max_fee_per_gas_cap_wei = CONFIG_MAX_FEE_PER_GAS_WEI_DEFAULT;
    tc.confirmations = CONF;
    indexer_config_default(&ic);
    ic.chain_id = CHAIN_ID_ANVIL;
    ic.vault = w.vault;
    ic.start_block = w.deploy_block;
    ic.confirmations = CONF;
    bool ok = txmgr_init(&tm, &tc, &e) == TXMGR_OK &&
              pg_connect(&ixdb, fresh.url, PG_FIXTURE_CONNECT_TIMEOUT_S, &e) == PG_OK &&
              indexer_init(&ix, &ixdb, &chain.rpc, &ic, &e) == INDEXER_OK;
    if (!ok) {
        printf("# setup: %s\n", e.msg);
        return false;
    }
    struct batch_job_config jc = {.chain_id = CHAIN_ID_ANVIL, .vault = w.vault, .log = NULL};
    batch_job_init(&job, &jc, &tm);
    return true;
}

int main(void)
{
    if (!pg_fixture_init("test_batch") || !api_chain_open(&chain))
        return 1;
    json_t *s = chain_call(&chain, "evm_snapshot", NULL);
    snprintf(snap, sizeof snap, "%s", json_string_value(s) != NULL ? json_string_value(s) : "");
    json_decref(s);
    if (api_db_create(&fresh, "st_batch") && setup()) {
        RUN(test_nothing_to_settle);
        RUN(test_revenue_confirmed);
        RUN(test_batch_moves_balances);
        RUN(test_batch_anchored);
        RUN(test_guardian_cancel_reverses);
        RUN(test_next_batch_resettles);
        RUN(test_claims);
        RUN(test_claim_window_reclaims);
        RUN(test_reclaimed_in_next_batch);
        RUN(test_failed_settle_reversed);
        RUN(test_rogue_cancelled_then_settled);
        RUN(test_http_settlement_get);
        RUN(test_http_proofs);
        RUN(test_http_list);
        RUN(test_http_post_errors);
        RUN(test_http_concurrent_posts);
    } else {
        printf("not ok - setup\n");
        harness_failed++;
    }
    if (st_up)
        st_stop(&st);
    if (svc_log != NULL)
        fclose(svc_log);
    indexer_release(&ix);
    pg_release(&ixdb);
    api_db_drop(&fresh);
    json_decref(chain_call(&chain, "evm_revert", json_pack("[s]", snap)));
    chain_close(&chain);
    return harness_finish();
}
