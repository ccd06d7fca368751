/*
 * test_indexer_reorg.c - the revenue indexer (services/settlement/indexer.c)
 * through chain reorganisations made by anvil_reorg, against the runner's
 * real PostgreSQL and anvil, with CONFIRMATIONS = 6.
 *
 * The world is revenue_fixture.h's: creator A with a registered pass, a
 * stream and a 5-way split (35/25/15/10/15 %), later a second version with
 * a tie (30/30/20/10/10 %: the remainder goes to the lower address of the
 * two 30 % payees); creator B unknown. Mints, royalty payments, tips (A's
 * stream, a stranger stream, B) and direct deposits are sent as bursts of
 * signed transactions, several to a block.
 *
 * Then, for every depth 1..6 (6 = CONFIRMATIONS, the deepest a reorg may
 * be): six new blocks of payments are indexed (pending), anvil_reorg
 * replaces the last `depth` blocks by blocks at a later time holding other
 * payments, and the next polls must report exactly that reorg (the pending
 * events of the replaced blocks orphaned, the new ones seen). After the
 * reorg and again once everything is confirmed: every payee's balance
 * equals, to the wei, the test's own computation from the payments whose
 * receipts are on the canonical chain (floor(amount * bps / 10000),
 * remainder to the largest bps, ties to the lowest address; not split.c);
 * the ledger equals one built from scratch by a fresh indexer on the same
 * chain; per creator the ledger's revenue equals receivedOf at the
 * confirmed block; ledger invariants hold.
 *
 * Last, a reorg of CONFIRMATIONS + 1 blocks replaces a block whose events
 * are posted: the indexer halts (INDEXER_ERR_DEEP_REORG), a restarted
 * indexer on the same cursor halts too, and nothing is posted or changed.
 *
 * Sizes: about 200 payments in about 110 blocks; about 5 s. Environment:
 * DATABASE_URL, ETH_RPC_URL, TEST_SEED (tests/run.sh), run from the
 * repository root. The program runs inside one evm_snapshot that main()
 * reverts at the end.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "indexer.h"
#include "ledger_fixture.h"
#include "revenue_fixture.h"

#define CONFIRMATIONS 6
#define LOCK_KEY 7302999101LL
#define CURSOR "indexer"
#define ROUND_BLOCKS 6
#define ROUND_PER_BLOCK 3
#define REORG_PER_BLOCK 2

static struct pg_session db;
static char schema[LFX_SCHEMA_BYTES];
static struct rev_world world;
static struct indexer_config cfg;
static struct indexer ix;
static bool ix_live;
static uint64_t orphaned_total;
static bool ready; /* test_setup succeeded */

/* ---- helpers ------------------------------------------------------------------------------ */

static bool indexer_start(void)
{
    struct err e = {0};
    enum indexer_result r = indexer_init(&ix, &db, &chain.rpc, &cfg, &e);
    CHECK_MSG(r == INDEXER_OK, "indexer_init: %d %s", (int)r, e.msg);
    ix_live = r == INDEXER_OK;
    return ix_live;
}

static uint64_t confirmed_block(void)
{
    return chain_head(&chain) - CONFIRMATIONS;
}

/* Everything the tests compare after the indexer ran to the head. */
static void check_all(void)
{
    uint64_t upto = confirmed_block();
    CHECK(rev_refresh(&world));
    CHECK(rev_check_ledger(&world, &db, upto));
    CHECK(lfx_check_invariants(&db));
    CHECK(lfx_check_received_all(&db, &chain.rpc, &world.vault, CURSOR));
    CHECK(lfx_check_matches_scratch(&db, schema, CURSOR, &chain.rpc, &cfg));
}

/* Mined payments in blocks above `after`. */
static size_t mined_above(uint64_t after)
{
    size_t n = 0;
    for (size_t i = 0; i < world.payments_len; i++)
        n += world.payments[i].mined && world.payments[i].block > after;
    return n;
}

/* A fingerprint of everything the indexer writes. */
static void fingerprint(char out[PG_FIXTURE_VALUE_BYTES])
{
    const char *v = pg_fixture_query_value(
        &db, "SELECT (SELECT count(*) || '/' || md5(coalesce(string_agg(entry_id || ':' || line"
             " || ':' || account || ':' || side || ':' || amount_wei, ',' ORDER BY entry_id, line),"
             " '')) FROM ledger_postings) || '/' || (SELECT md5(coalesce(string_agg(id || ':'"
             " || status, ',' ORDER BY id), '')) FROM revenue_events) || '/' || (SELECT"
             " next_block || ':' || confirmed_through FROM indexer_cursor WHERE name = 'indexer')");
    snprintf(out, PG_FIXTURE_VALUE_BYTES, "%s", v);
}

/* ---- tests ---------------------------------------------------------------------------------- */

static void test_setup(void)
{
    if (!pg_fixture_migrated_schema(&db, schema, sizeof schema)) {
        CHECK_MSG(0, "no migrated schema");
        return;
    }
    if (!rev_setup(&world, &db, harness_seed()))
        return;
    rev_indexer_config(&cfg, &world, CURSOR, CONFIRMATIONS);
    cfg.lock_key = LOCK_KEY;
    ready = indexer_start();
}

/* Payments under split version 1, then version 2 (a tie) from the next
 * block on; all indexed, the older ones confirmed and split exactly. */
static void test_payments_split_exactly(void)
{
    if (!ready) {
        CHECK_MSG(0, "no setup");
        return;
    }
    static const uint32_t v2[REV_PAYEES] = {2000, 1000, 3000, 1000, 3000};
    CHECK(rev_burst(&world, ROUND_BLOCKS * ROUND_PER_BLOCK, ROUND_PER_BLOCK));
    CHECK(rev_add_version(&world, &db, chain_head(&chain) + 1, v2));
    CHECK(rev_burst(&world, ROUND_BLOCKS * ROUND_PER_BLOCK, ROUND_PER_BLOCK));
    chain_mine(&chain, 2); /* some of version 2's payments get confirmed */
    struct indexer_poll_report rep;
    CHECK_INT(lfx_poll_to_head(&ix, &rep), INDEXER_OK);
    CHECK_INT(rep.events_seen, world.payments_len);
    CHECK(rev_refresh(&world));
    CHECK_INT(rep.events_confirmed, world.payments_len - mined_above(confirmed_block()));
    CHECK(mined_above(world.versions[1].from_block - 1) > mined_above(confirmed_block()));
    check_all();
}

/* New payments, a reorg of `depth` blocks with other payments, the
 * indexer's view of it, and the ledger checked after it and once all is
 * confirmed. */
static void reorg_at_depth(uint64_t depth)
{
    if (!ready) {
        CHECK_MSG(0, "no setup");
        return;
    }
    CHECK(rev_burst(&world, ROUND_BLOCKS * ROUND_PER_BLOCK, ROUND_PER_BLOCK));
    struct indexer_poll_report rep;
    CHECK_INT(lfx_poll_to_head(&ix, &rep), INDEXER_OK);
    CHECK_INT(rep.events_seen, ROUND_BLOCKS * ROUND_PER_BLOCK);
    uint64_t head = chain_head(&chain);
    CHECK(rev_refresh(&world));
    size_t replaced = mined_above(head - depth), mined_before = 0, mined_after = 0;
    CHECK_INT(replaced, depth * ROUND_PER_BLOCK);
    for (size_t i = 0; i < world.payments_len; i++)
        mined_before += world.payments[i].mined;
    if (!rev_reorg(&world, depth, REORG_PER_BLOCK))
        return;
    CHECK(rev_refresh(&world));
    for (size_t i = 0; i < world.payments_len; i++)
        mined_after += world.payments[i].mined;
    /* the replaced blocks' payments are gone, the new ones are in */
    CHECK_INT(mined_after, mined_before - replaced + depth * REORG_PER_BLOCK);
    CHECK_INT(mined_above(head - depth), depth * REORG_PER_BLOCK);
    CHECK_INT(lfx_poll_to_head(&ix, &rep), INDEXER_OK);
    CHECK_INT(rep.reorgs, 1);
    CHECK_INT(rep.events_orphaned, replaced);
    CHECK_INT(rep.events_seen, depth * REORG_PER_BLOCK);
    CHECK_INT(rep.entries_posted, rep.events_confirmed);
    orphaned_total += replaced;
    char want[24];
    snprintf(want, sizeof want, "%" PRIu64, orphaned_total);
    CHECK_STR(pg_fixture_query_value(&db, "SELECT count(*) FROM revenue_events"
                                          " WHERE status = 'orphaned'"),
              want);
    check_all();
    chain_mine(&chain, CONFIRMATIONS);
    CHECK_INT(lfx_poll_to_head(&ix, &rep), INDEXER_OK);
    CHECK_INT(rep.reorgs, 0);
    CHECK_STR(pg_fixture_query_value(&db, "SELECT count(*) FROM revenue_events"
                                          " WHERE status = 'pending'"),
              "0");
    check_all();
}

static void test_reorg_depth_1(void)
{
    reorg_at_depth(1);
}

static void test_reorg_depth_2(void)
{
    reorg_at_depth(2);
}

static void test_reorg_depth_3(void)
{
    reorg_at_depth(3);
}

static void test_reorg_depth_4(void)
{
    reorg_at_depth(4);
}

static void test_reorg_depth_5(void)
{
    reorg_at_depth(5);
}

/* CONFIRMATIONS blocks deep: the oldest replaced block is the first one
 * above the confirmed block, still inside the window. */
static void test_reorg_depth_confirmations(void)
{
    reorg_at_depth(CONFIRMATIONS);
}

/* A reorg one block deeper than CONFIRMATIONS replaces a block whose events
 * are posted: the indexer halts, stays halted across a restart, and writes
 * nothing. */
static void test_deeper_than_confirmations_halts(void)
{
    if (!ready) {
        CHECK_MSG(0, "no setup");
        return;
    }
    CHECK(rev_burst(&world, 4 * ROUND_PER_BLOCK, ROUND_PER_BLOCK));
    chain_mine(&chain, CONFIRMATIONS);
    struct indexer_poll_report rep;
    CHECK_INT(lfx_poll_to_head(&ix, &rep), INDEXER_OK);
    check_all();
    char before[PG_FIXTURE_VALUE_BYTES], after[PG_FIXTURE_VALUE_BYTES];
    fingerprint(before);
    uint64_t posted_through = confirmed_block();
    if (!rev_reorg(&world, CONFIRMATIONS + 1, 1))
        return;
    CHECK(rev_refresh(&world));
    CHECK_INT(mined_above(posted_through - 1), CONFIRMATIONS + 1);
    struct err e = {0};
    CHECK_INT(indexer_poll(&ix, &rep, &e), INDEXER_ERR_DEEP_REORG);
    CHECK(indexer_halted(&ix));
    CHECK_MSG(strstr(e.msg, "reaches confirmed block") != NULL, "%s", e.msg);
    chain_mine(&chain, CONFIRMATIONS + 2);
    CHECK_INT(indexer_poll(&ix, &rep, &e), INDEXER_ERR_DEEP_REORG);
    fingerprint(after);
    CHECK_STR(after, before);
    /* a restart on the same cursor halts as well */
    indexer_release(&ix);
    ix_live = false;
    if (!indexer_start())
        return;
    CHECK_INT(indexer_poll(&ix, &rep, &e), INDEXER_ERR_DEEP_REORG);
    CHECK(indexer_halted(&ix));
    fingerprint(after);
    CHECK_STR(after, before);
    CHECK(lfx_check_invariants(&db));
}

int main(void)
{
    char whole[CHAIN_SNAPSHOT_ID_MAX];
    if (!rev_main_open("test_indexer_reorg", whole))
        return 1;
    RUN(test_setup);
    RUN(test_payments_split_exactly);
    RUN(test_reorg_depth_1);
    RUN(test_reorg_depth_2);
    RUN(test_reorg_depth_3);
    RUN(test_reorg_depth_4);
    RUN(test_reorg_depth_5);
    RUN(test_reorg_depth_confirmations);
    RUN(test_deeper_than_confirmations_halts);
    if (ix_live)
        indexer_release(&ix);
    pg_fixture_drop_schema(&db, schema);
    rev_main_close(whole);
    return harness_finish();
}
