/*
 * test_indexer.c - the revenue indexer (services/settlement/indexer.c)
 * against the runner's real PostgreSQL and anvil.
 *
 * One scenario, in steps that share state (each step is one RUN): a vault
 * and two passes are deployed; creator A has a registered pass, a stream
 * and two split versions (the second effective from a later block);
 * creator B's pass is not registered. Fans mint both passes, tip A's stream
 * and tip A with a stream key A does not own. The indexer (CONFIRMATIONS
 * 3) then shows the recent events as pending and the older ones confirmed;
 * after 3 more blocks all are confirmed, every payee's balance equals the
 * sum of split_compute() over the events split by the version in force at
 * their block, unattributed revenue is credited to nobody, and per creator
 * the ledger's vault debits equal the vault's receivedOf(creatorKey).
 * A second session cannot lead; a second indexer from scratch over the
 * same chain posts nothing new. A shallow reorg (evm_snapshot, tip, revert,
 * a different tip in a later second) orphans the pending event; a reorg of
 * confirmed blocks halts the indexer with INDEXER_ERR_DEEP_REORG and leaves
 * the ledger as it was. ledger_check_invariants() holds at the end.
 *
 * Environment: DATABASE_URL and ETH_RPC_URL (tests/run.sh), run from the
 * repository root. The whole program runs inside one evm_snapshot that
 * main() reverts at the end (anvil account 9 is never touched).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "indexer.h"
#include "ledger.h"
#include "migrate.h"
#include "pg_fixture.h"
#include "split.h"
#include "vault_fixture.h"

#define CONFIRMATIONS 3
#define EVENTS_MAX 32
#define SNAPSHOT_ID_MAX 32
#define POLLS_MAX 20
#define LOCK_KEY 7302999001LL

static const char creator_b_id[] = "7e1c2d3f-4a5b-4c6d-8e9f-0a1b2c3d4e5f";
static const char unknown_stream_id[] = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d";

/* What the test sent, to compute the expected ledger independently. */
struct sent_event {
    bool is_a;       /* creator A (else B) */
    bool attributed; /* A's pass or A's stream */
    int version;     /* A's split version in force at its block (attributed only) */
    uint64_t amount_wei;
    uint64_t block;
};

static struct pg_session db;
static char schema[64];
static struct address vault, pass_a, pass_b;
static uint8_t key_a[32], key_b[32];
static struct sent_event sent[EVENTS_MAX];
static size_t sent_len;
static uint64_t v2_block;
static struct indexer ix;
static bool ix_live;

static const struct split_share *version_shares(int version, size_t *n);

/* ---- helpers ------------------------------------------------------------------------ */

static void snapshot(char id[SNAPSHOT_ID_MAX])
{
    json_t *res = chain_call(&chain, "evm_snapshot", NULL);
    const char *s = json_string_value(res);
    CHECK(s != NULL && strlen(s) < SNAPSHOT_ID_MAX);
    snprintf(id, SNAPSHOT_ID_MAX, "%s", s != NULL ? s : "");
    json_decref(res);
}

static void revert_to(const char *id)
{
    json_t *res = chain_call(&chain, "evm_revert", json_pack("[s]", id));
    CHECK_MSG(json_is_true(res), "evm_revert %s did not answer true", id);
    json_decref(res);
}

static const char *value(const char *sql)
{
    return pg_fixture_query_value(&db, sql);
}

static void hex_of(char *out, size_t cap, const uint8_t *data, size_t len)
{
    ASSERT(hex_encode(out, cap, data, len) == 0);
}

static bool db_exec(const char *sql, const char *const *params, int n)
{
    struct err e = {0};
    bool ok = pg_exec(&db, NULL, sql, params, n, &e) == PG_OK;
    CHECK_MSG(ok, "%s", e.msg);
    return ok;
}

static void record(bool is_a, bool attributed, uint64_t amount_wei)
{
    ASSERT(sent_len < EVENTS_MAX);
    uint64_t b = chain_head(&chain);
    sent[sent_len++] =
        (struct sent_event){is_a, attributed, b >= v2_block && v2_block ? 2 : 1, amount_wei, b};
}

static void mint(const struct address *pass, bool is_a, bool attributed)
{
    struct txsend_outcome o;
    enum txsend_result r = send_call(&o, ACCT_FAN, pass, PASS_PRICE_WEI, "mint()", NULL, 0);
    CHECK_INT(r, TXSEND_OK);
    txsend_outcome_release(&o);
    record(is_a, attributed, PASS_PRICE_WEI);
}

static void tip(const char *stream, bool attributed, uint64_t amount_wei)
{
    CHECK(tip_creator(&vault, creator_id, stream, amount_wei));
    record(true, attributed, amount_wei);
}

/* Polls until the indexer reports it caught up; returns the summed report. */
static enum indexer_result poll_all(struct indexer *x, struct indexer_poll_report *sum)
{
    memset(sum, 0, sizeof *sum);
    for (int i = 0; i < POLLS_MAX; i++) {
        struct indexer_poll_report rep;
        struct err e = {0};
        enum indexer_result r = indexer_poll(x, &rep, &e);
        if (r != INDEXER_OK) {
            fprintf(stdout, "# poll: %s\n", e.msg);
            return r;
        }
        sum->events_seen += rep.events_seen;
        sum->events_confirmed += rep.events_confirmed;
        sum->entries_posted += rep.entries_posted;
        sum->entries_replayed += rep.entries_replayed;
        sum->events_orphaned += rep.events_orphaned;
        sum->reorgs += rep.reorgs;
        sum->head = rep.head;
        if (rep.caught_up)
            return INDEXER_OK;
    }
    CHECK_MSG(0, "indexer did not catch up in %d polls", POLLS_MAX);
    return INDEXER_OK;
}

static bool indexer_start(struct indexer *x, struct pg_session *pc, long long lock_key)
{
    struct indexer_config cfg;
    indexer_config_default(&cfg);
    cfg.chain_id = CHAIN_ID_ANVIL;
    cfg.vault = vault;
    cfg.confirmations = CONFIRMATIONS;
    cfg.lock_key = lock_key;
    struct err e = {0};
    enum indexer_result r = indexer_init(x, pc, &chain.rpc, &cfg, &e);
    CHECK_MSG(r == INDEXER_OK, "indexer_init: %d %s", (int)r, e.msg);
    return r == INDEXER_OK;
}

/* ---- expected ledger ------------------------------------------------------------------ */

static const struct split_share *version_shares(int version, size_t *n)
{
    static struct split_share v1[3], v2[2];
    v1[0] = (struct split_share){payee(0), 5000};
    v1[1] = (struct split_share){payee(1), 3000};
    v1[2] = (struct split_share){payee(2), 2000};
    v2[0] = (struct split_share){payee(0), 6000};
    v2[1] = (struct split_share){payee(3), 4000};
    *n = version == 1 ? 3 : 2;
    return version == 1 ? v1 : v2;
}

/* Expected unsettled balance of payee(p) in A's books over sent events with
 * block <= upto. */
static struct u256 expected_payee(size_t p, uint64_t upto)
{
    struct u256 sum = u256_zero();
    struct address want = payee(p);
    for (size_t i = 0; i < sent_len; i++) {
        if (!sent[i].is_a || !sent[i].attributed || sent[i].block > upto)
            continue;
        size_t n = 0;
        const struct split_share *sh = version_shares(sent[i].version, &n);
        struct u256 parts[3], amount = wei(sent[i].amount_wei);
        struct err e = {0};
        CHECK_MSG(split_compute(parts, sh, n, &amount, &e) == SPLIT_OK, "%s", e.msg);
        for (size_t j = 0; j < n; j++)
            if (address_eq(&sh[j].payee, &want))
                sum = add_wei(sum, parts[j]);
    }
    return sum;
}

static void check_balances(uint64_t upto)
{
    struct ledger_payee_balance b[8];
    size_t n = 0;
    struct err e = {0};
    CHECK_MSG(ledger_payee_balances(b, 8, &n, &db, key_a, &e) == LEDGER_OK, "%s", e.msg);
    for (size_t p = 0; p < 4; p++) {
        struct address want = payee(p);
        struct u256 got = u256_zero();
        for (size_t i = 0; i < n; i++)
            if (address_eq(&b[i].payee, &want))
                got = b[i].unsettled_wei;
        CHECK_U256(got, expected_payee(p, upto));
    }
    CHECK_MSG(ledger_payee_balances(b, 8, &n, &db, key_b, &e) == LEDGER_OK, "%s", e.msg);
    CHECK_INT(n, 0); /* B's revenue is unattributed: no payee of B */
}

/* Per creator: the ledger's vault debits equal receivedOf(creatorKey). */
static void check_received(const uint8_t key[32])
{
    struct abi_value arg = abi_value_bytes32(key);
    struct u256 onchain = view_u256(&vault, "receivedOf(bytes32)", &arg, 1);
    char hex[65], sql[400];
    hex_of(hex, sizeof hex, key, 32);
    snprintf(sql, sizeof sql,
             "SELECT coalesce(sum(amount_wei), 0)::text FROM ledger_postings WHERE account ="
             " 'vault' AND side = 'debit' AND creator_key = decode('%s', 'hex')",
             hex);
    char dec[U256_DEC_SIZE];
    u256_to_dec(dec, &onchain);
    CHECK_STR(value(sql), dec);
}

static uint64_t unattributed_sent(void)
{
    uint64_t sum = 0;
    for (size_t i = 0; i < sent_len; i++)
        if (!sent[i].attributed)
            sum += sent[i].amount_wei;
    return sum;
}

/* ---- steps ------------------------------------------------------------------------------ */

static void test_seed_and_pay(void)
{
    struct err e = {0};
    chain_key_of(key_a, creator_id);
    chain_key_of(key_b, creator_b_id);
    if (!pg_fixture_fresh_schema(&db, schema, sizeof schema) ||
        migrate_run(&db, "migrations", NULL, &e) != MIGRATE_OK) {
        CHECK_MSG(0, "schema: %s", e.msg);
        return;
    }
    if (!deploy_vault(&vault) || !deploy_pass(&pass_a, &vault, key_a, 100, 500) ||
        !deploy_pass(&pass_b, &vault, key_b, 100, 500))
        return;
    char ka[65], kb[65], pa[41], sk[65], owner[41];
    uint8_t skey[32];
    chain_key_of(skey, stream_id);
    hex_of(ka, sizeof ka, key_a, 32);
    hex_of(kb, sizeof kb, key_b, 32);
    hex_of(pa, sizeof pa, pass_a.bytes, 20);
    hex_of(sk, sizeof sk, skey, 32);
    hex_of(owner, sizeof owner, chain.addr[ACCT_ADMIN].bytes, 20);
    const char *c[6] = {creator_id, owner, ka, creator_b_id, kb, pa};
    const char *s[4] = {stream_id, creator_id, sk, ka};
    const char *pass_params[2] = {creator_id, pa};
    bool ok = db_exec("INSERT INTO creators (id, owner, creator_key, name) VALUES"
                      " ($1, decode($2, 'hex'), decode($3, 'hex'), 'A'),"
                      " ($4, decode($2, 'hex'), decode($5, 'hex'), 'B')",
                      c, 5) &&
              db_exec("INSERT INTO passes (contract, creator_id, name, symbol, price_wei,"
                      " max_supply, royalty_bps) VALUES (decode($2, 'hex'), $1, 'Pass', 'P',"
                      " 25000000000000007, 100, 500)",
                      pass_params, 2) &&
              db_exec("INSERT INTO streams (id, creator_id, stream_key, title, ingest_key_hash)"
                      " VALUES ($1, $2, decode($3, 'hex'), 'Live', decode($4, 'hex'))",
                      s, 4);
    char p[4][41];
    for (size_t i = 0; i < 4; i++) {
        struct address a = payee(i);
        hex_of(p[i], sizeof p[i], a.bytes, 20);
    }
    const char *v1[4] = {creator_id, p[0], p[1], p[2]};
    ok = ok && db_exec("BEGIN", NULL, 0) &&
         db_exec("INSERT INTO split_versions (creator_id, version, effective_from_block)"
                 " VALUES ($1, 1, 0)",
                 v1, 1) &&
         db_exec("INSERT INTO split_shares (creator_id, version, payee, role, bps) VALUES"
                 " ($1, 1, decode($2, 'hex'), 'composer', 5000),"
                 " ($1, 1, decode($3, 'hex'), 'performer', 3000),"
                 " ($1, 1, decode($4, 'hex'), 'mixer', 2000)",
                 v1, 4) &&
         db_exec("COMMIT", NULL, 0);
    if (!ok)
        return;
    mint(&pass_a, true, true);          /* A's registered pass */
    tip(stream_id, true, 1000003);      /* A's stream */
    tip(unknown_stream_id, false, 777); /* not A's stream: unattributed */
    mint(&pass_b, false, false);        /* B's pass is not registered: unattributed */
    v2_block = chain_head(&chain) + 1;
    char vb[24];
    snprintf(vb, sizeof vb, "%" PRIu64, v2_block);
    const char *v2[3] = {creator_id, p[0], p[3]};
    const char *v2b[2] = {creator_id, vb};
    ok = db_exec("BEGIN", NULL, 0) &&
         db_exec("INSERT INTO split_versions (creator_id, version, effective_from_block)"
                 " VALUES ($1, 2, $2::bigint)",
                 v2b, 2) &&
         db_exec("INSERT INTO split_shares (creator_id, version, payee, role, bps) VALUES"
                 " ($1, 2, decode($2, 'hex'), 'composer', 6000),"
                 " ($1, 2, decode($3, 'hex'), 'fund', 4000)",
                 v2, 3) &&
         db_exec("COMMIT", NULL, 0);
    CHECK(ok);
    tip(stream_id, true, 9999999); /* split by version 2 */
    mint(&pass_a, true, true);
    tip(stream_id, true, 31);
}

/* Pending before CONFIRMATIONS blocks, confirmed and split exactly after. */
static void test_pending_then_confirmed(void)
{
    if (!indexer_start(&ix, &db, LOCK_KEY))
        return;
    ix_live = true;
    struct indexer_poll_report rep;
    CHECK_INT(poll_all(&ix, &rep), INDEXER_OK);
    uint64_t h = chain_head(&chain);
    uint64_t confirmed = 0;
    for (size_t i = 0; i < sent_len; i++)
        confirmed += sent[i].block + CONFIRMATIONS <= h;
    CHECK_INT(rep.events_seen, sent_len);
    CHECK_INT(rep.events_confirmed, confirmed);
    CHECK(confirmed > 0 && confirmed < sent_len);
    char want[32];
    snprintf(want, sizeof want, "%" PRIu64, (uint64_t)sent_len - confirmed);
    CHECK_STR(value("SELECT count(*) FROM revenue_events WHERE status = 'pending'"), want);
    CHECK_STR(value("SELECT count(*) FROM revenue_events WHERE status = 'pending'"
                    " AND ledger_entry_id IS NULL"),
              want);
    snprintf(want, sizeof want, "%" PRIu64, confirmed);
    CHECK_STR(value("SELECT count(*) FROM ledger_entries"), want);
    check_balances(h - CONFIRMATIONS);
    /* a poll without new blocks changes nothing */
    CHECK_INT(poll_all(&ix, &rep), INDEXER_OK);
    CHECK_INT(rep.events_seen + rep.events_confirmed, 0);
    chain_mine(&chain, CONFIRMATIONS);
    CHECK_INT(poll_all(&ix, &rep), INDEXER_OK);
    CHECK_INT(rep.events_confirmed, sent_len - confirmed);
    CHECK_INT(rep.entries_posted, sent_len - confirmed);
    CHECK_STR(value("SELECT count(*) FROM revenue_events WHERE status <> 'confirmed'"), "0");
    check_balances(chain_head(&chain));
    check_received(key_a);
    check_received(key_b);
    snprintf(want, sizeof want, "%" PRIu64, unattributed_sent());
    CHECK_STR(value("SELECT sum(amount_wei)::text FROM ledger_postings"
                    " WHERE account = 'unattributed' AND side = 'credit'"),
              want);
    CHECK_STR(value("SELECT string_agg(attribution || ':' || coalesce(split_version::text, '-'),"
                    " ',' ORDER BY block_number, log_index) FROM revenue_events"),
              "creator:1,creator:1,unattributed:-,unattributed:-,creator:2,creator:2,creator:2");
}

/* One leader: another session cannot start an indexer on the same key. */
static void test_one_leader(void)
{
    struct pg_session other;
    memset(&other, 0, sizeof other);
    CHECK(pg_fixture_join_schema(&other, schema));
    struct indexer x2;
    struct indexer_config cfg;
    indexer_config_default(&cfg);
    cfg.chain_id = CHAIN_ID_ANVIL;
    cfg.vault = vault;
    cfg.lock_key = LOCK_KEY;
    struct err e = {0};
    CHECK_INT(indexer_init(&x2, &other, &chain.rpc, &cfg, &e), INDEXER_ERR_NOT_LEADER);
    pg_release(&other);
}

/* A second indexer from scratch (derived state wiped, ledger kept) over the
 * same chain replays every event and posts nothing new. */
static void test_from_scratch_posts_nothing(void)
{
    indexer_release(&ix);
    ix_live = false;
    CHECK(db_exec("DELETE FROM revenue_events", NULL, 0) &&
          db_exec("DELETE FROM indexer_blocks", NULL, 0) &&
          db_exec("DELETE FROM indexer_cursor", NULL, 0));
    const char *before = value("SELECT count(*) || '/' || sum(amount_wei) FROM ledger_postings");
    char saved[PG_FIXTURE_VALUE_BYTES];
    snprintf(saved, sizeof saved, "%s", before != NULL ? before : "");
    if (!indexer_start(&ix, &db, LOCK_KEY))
        return;
    ix_live = true;
    struct indexer_poll_report rep;
    CHECK_INT(poll_all(&ix, &rep), INDEXER_OK);
    CHECK_INT(rep.events_seen, sent_len);
    CHECK_INT(rep.entries_posted, 0);
    CHECK_INT(rep.entries_replayed, sent_len);
    CHECK_STR(value("SELECT count(*) || '/' || sum(amount_wei) FROM ledger_postings"), saved);
    struct ledger_check_report cr;
    struct err e = {0};
    CHECK_MSG(ledger_check_invariants(&cr, &db, &e) == LEDGER_OK, "%s", e.msg);
    check_balances(chain_head(&chain));
}

/* A reorg inside the confirmation window orphans the pending event; the
 * replacement is indexed instead. */
static void test_shallow_reorg(void)
{
    char snap[SNAPSHOT_ID_MAX];
    snapshot(snap);
    size_t len_before = sent_len;
    tip(stream_id, true, 424242);
    struct indexer_poll_report rep;
    CHECK_INT(poll_all(&ix, &rep), INDEXER_OK);
    CHECK_INT(rep.events_seen, 1);
    CHECK_INT(rep.events_confirmed, 0);
    CHECK_STR(value("SELECT amount_wei::text FROM revenue_events WHERE status = 'pending'"),
              "424242");
    revert_to(snap);
    sent_len = len_before;
    CHECK(chain_advance_time(7)); /* a different block, not the same one re-mined */
    tip(stream_id, true, 5005);
    CHECK_INT(poll_all(&ix, &rep), INDEXER_OK);
    CHECK_INT(rep.reorgs, 1);
    CHECK_INT(rep.events_orphaned, 1);
    CHECK_INT(rep.events_seen, 1);
    CHECK_STR(value("SELECT string_agg(status || ':' || amount_wei, ',' ORDER BY id)"
                    " FROM revenue_events WHERE amount_wei IN (424242, 5005)"),
              "orphaned:424242,pending:5005");
    chain_mine(&chain, CONFIRMATIONS);
    CHECK_INT(poll_all(&ix, &rep), INDEXER_OK);
    CHECK_INT(rep.entries_posted, 1);
    CHECK_STR(value("SELECT count(*) FROM ledger_entries"), "8");
    check_balances(chain_head(&chain));
    check_received(key_a);
    check_received(key_b);
}

/* A reorg that replaces confirmed (posted) blocks halts the indexer. */
static void test_deep_reorg_halts(void)
{
    char snap[SNAPSHOT_ID_MAX];
    snapshot(snap);
    tip(stream_id, true, 606);
    sent_len--; /* reverted below */
    chain_mine(&chain, CONFIRMATIONS + 1);
    struct indexer_poll_report rep;
    CHECK_INT(poll_all(&ix, &rep), INDEXER_OK);
    CHECK_INT(rep.entries_posted, 1);
    revert_to(snap);
    CHECK(chain_advance_time(11));
    chain_mine(&chain, CONFIRMATIONS + 3);
    const char *before = value("SELECT count(*) || '/' || sum(amount_wei) FROM ledger_postings");
    char saved[PG_FIXTURE_VALUE_BYTES];
    snprintf(saved, sizeof saved, "%s", before != NULL ? before : "");
    struct err e = {0};
    CHECK_INT(indexer_poll(&ix, &rep, &e), INDEXER_ERR_DEEP_REORG);
    CHECK(indexer_halted(&ix));
    CHECK_MSG(strstr(e.msg, "reaches confirmed block") != NULL, "%s", e.msg);
    CHECK_INT(indexer_poll(&ix, &rep, &e), INDEXER_ERR_DEEP_REORG);
    CHECK_STR(value("SELECT count(*) || '/' || sum(amount_wei) FROM ledger_postings"), saved);
}

/* Every entry balances, no event posted twice. */
static void test_invariants(void)
{
    struct ledger_check_report cr;
    struct err e = {0};
    CHECK_MSG(db.conn != NULL && ledger_check_invariants(&cr, &db, &e) == LEDGER_OK, "%s", e.msg);
    CHECK_INT(cr.duplicate_events, 0);
    CHECK_INT(cr.entries, 9); /* 8, plus the tip of the halted reorg's replaced blocks */
}

int main(void)
{
    struct err e = {0};
    if (!pg_fixture_init("test_indexer"))
        return 1;
    if (!chain_open(&chain, &e)) {
        fprintf(stdout, "# %s\nnot ok - environment\n0 passed, 1 failed\n", e.msg);
        return 1;
    }
    char whole[SNAPSHOT_ID_MAX];
    snapshot(whole);
    RUN(test_seed_and_pay);
    RUN(test_pending_then_confirmed);
    RUN(test_one_leader);
    RUN(test_from_scratch_posts_nothing);
    RUN(test_shallow_reorg);
    RUN(test_deep_reorg_halts);
    RUN(test_invariants);
    if (ix_live)
        indexer_release(&ix);
    pg_fixture_drop_schema(&db, schema);
    revert_to(whole);
    chain_close(&chain);
    return harness_finish();
}
