/* test_ledger.c - the double-entry journal (services/settlement/ledger.c)
 * and the split-version tables of migrations/0003_ledger.sql against the
 * runner's real PostgreSQL.
 *
 * Every test gets a fresh schema with all migrations applied and ends with
 * ledger_check_invariants() (every entry balances, no event posted twice).
 * The database side is tested with raw SQL that bypasses ledger.c: an
 * unbalanced entry, an entry without postings, a posting added to a
 * committed entry, and a posting added after SET CONSTRAINTS IMMEDIATE are
 * all refused at COMMIT with nothing stored; UPDATE, DELETE and TRUNCATE are
 * refused. Split amounts are computed here by hand (floor(amount * bps /
 * 10000), remainder to the largest bps), not by the split engine.
 *
 * Environment: DATABASE_URL (required, from tests/run.sh). Run from the
 * repository root (migrations/ is read from there). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness.h"
#include "ledger.h"
#include "migrate.h"
#include "pg_fixture.h"

#define CHAIN_ID 31337
#define BIG_BATCH_ENTRIES 10000
#define SPLIT_WAYS 5

static struct pg_session db;
static char schema[64];
static uint8_t creator[32]; /* the creator_key most tests book under */

/* ---- fixture ----------------------------------------------------------------------- */

static void key_of(uint8_t out[32], uint8_t tag, uint32_t n);

static bool setup(void)
{
    struct err e = {0};
    key_of(creator, 0xc1, 1);
    if (!pg_fixture_fresh_schema(&db, schema, sizeof schema)) {
        CHECK_MSG(0, "no fresh schema");
        return false;
    }
    bool ok = migrate_run(&db, "migrations", NULL, &e) == MIGRATE_OK;
    CHECK_MSG(ok, "%s", e.msg);
    return ok;
}

/* The ledger's invariants hold after every test; then the schema goes. */
static void teardown(void)
{
    struct ledger_check_report rep;
    struct err e = {0};
    if (db.conn != NULL)
        CHECK_MSG(ledger_check_invariants(&rep, &db, &e) == LEDGER_OK, "%s", e.msg);
    pg_fixture_drop_schema(&db, schema);
}

static const char *value(const char *sql)
{
    return pg_fixture_query_value(&db, sql);
}

/* Runs a trusted script that must fail with `sqlstate`, then rolls back. */
static void expect_refused(const char *script, const char *sqlstate)
{
    struct err e = {0};
    enum pg_code r = pg_exec_script(&db, script, &e);
    CHECK_MSG(r != PG_OK && strcmp(db.sqlstate, sqlstate) == 0, "want %s, got %d %s: %s", sqlstate,
              (int)r, db.sqlstate, e.msg);
    if (pg_exec_script(&db, "ROLLBACK", NULL) != PG_OK) /* no transaction was open */
        err_clear(&e);
}

/* ---- building entries ----------------------------------------------------------------- */

static void key_of(uint8_t out[32], uint8_t tag, uint32_t n)
{
    memset(out, tag, 32);
    memcpy(out, &n, sizeof n);
}

static struct address addr_of(uint8_t tag)
{
    struct address a;
    memset(a.bytes, 0, sizeof a.bytes);
    a.bytes[0] = 0xa0;
    a.bytes[19] = tag;
    return a;
}

static struct ledger_posting posting(enum ledger_account_kind kind, uint8_t owner,
                                     enum ledger_side side, uint64_t amount)
{
    struct ledger_posting p = {{kind, addr_of(owner)}, side, u256_from_u64(amount)};
    return p;
}

static struct ledger_entry revenue(const uint8_t creator_key[32], uint32_t event,
                                   const struct ledger_posting *postings, size_t n)
{
    struct ledger_entry en = {0};
    en.kind = LEDGER_KIND_REVENUE;
    memcpy(en.creator_key, creator_key, 32);
    en.event.chain_id = CHAIN_ID;
    key_of(en.event.tx_hash, 0x7a, event / 4);
    en.event.log_index = event % 4;
    en.event.block_number = 100 + event;
    key_of(en.event.block_hash, 0xb1, event);
    en.postings = postings;
    en.postings_len = n;
    return en;
}

static void check_balance(const struct ledger_payee_balance *b, uint8_t payee, uint64_t earned,
                          uint64_t settled, uint64_t unsettled)
{
    struct address want = addr_of(payee);
    struct u256 e = u256_from_u64(earned), s = u256_from_u64(settled), u = u256_from_u64(unsettled);
    CHECK(address_eq(&b->payee, &want));
    CHECK(u256_cmp(&b->earned_wei, &e) == 0);
    CHECK(u256_cmp(&b->settled_wei, &s) == 0);
    CHECK(u256_cmp(&b->unsettled_wei, &u) == 0);
}

/* ---- tests ---------------------------------------------------------------------------- */

/* Revenue split two ways, revenue nobody can claim, a settlement of part of
 * one payee's earnings; another creator's books stay apart. */
static void test_post_and_balances(void)
{
    if (!setup())
        goto out;
    uint8_t other[32];
    key_of(other, 0xc2, 2);
    struct ledger_posting rev[] = {posting(LEDGER_ACCOUNT_VAULT, 0, LEDGER_DEBIT, 1000),
                                   posting(LEDGER_ACCOUNT_PAYEE, 1, LEDGER_CREDIT, 600),
                                   posting(LEDGER_ACCOUNT_PAYEE, 2, LEDGER_CREDIT, 400)};
    struct ledger_posting lost[] = {posting(LEDGER_ACCOUNT_VAULT, 0, LEDGER_DEBIT, 10),
                                    posting(LEDGER_ACCOUNT_UNATTRIBUTED, 0, LEDGER_CREDIT, 10)};
    struct ledger_posting settle[] = {posting(LEDGER_ACCOUNT_PAYEE, 1, LEDGER_DEBIT, 250),
                                      posting(LEDGER_ACCOUNT_SETTLED, 1, LEDGER_CREDIT, 250)};
    struct ledger_posting elsewhere[] = {posting(LEDGER_ACCOUNT_VAULT, 0, LEDGER_DEBIT, 7),
                                         posting(LEDGER_ACCOUNT_PAYEE, 1, LEDGER_CREDIT, 7)};
    struct ledger_entry entries[4] = {revenue(creator, 1, rev, 3),
                                      revenue(creator, 2, lost, 2),
                                      {0},
                                      revenue(other, 3, elsewhere, 2)};
    entries[2].kind = LEDGER_KIND_SETTLEMENT;
    memcpy(entries[2].creator_key, creator, 32);
    entries[2].postings = settle;
    entries[2].postings_len = 2;
    uint64_t ids[4];
    struct ledger_post_report rep;
    struct err e = {0};
    CHECK_MSG(ledger_post_batch(&rep, ids, &db, entries, 4, &e) == LEDGER_OK, "%s", e.msg);
    CHECK_INT(rep.entries_posted, 4);
    CHECK_INT(rep.entries_replayed, 0);
    CHECK_INT(rep.postings_written, 9);
    CHECK(ids[0] > 0 && ids[1] > ids[0] && ids[2] > ids[1] && ids[3] > ids[2]);
    CHECK_STR(value("SELECT count(*) FROM ledger_postings"), "9");
    CHECK_STR(value("SELECT string_agg(account || ' ' || side || ' ' || amount_wei, ','"
                    " ORDER BY line) FROM ledger_postings WHERE entry_id ="
                    " (SELECT min(id) FROM ledger_entries)"),
              "vault debit 1000,payee:0xa000000000000000000000000000000000000001 credit 600,"
              "payee:0xa000000000000000000000000000000000000002 credit 400");
    CHECK_STR(value("SELECT kind || ' ' || chain_id || ' ' || log_index || ' ' || block_number"
                    " FROM ledger_entries ORDER BY id LIMIT 1"),
              "revenue 31337 1 101");
    struct ledger_payee_balance b[4];
    size_t n = 0;
    CHECK_MSG(ledger_payee_balances(b, 4, &n, &db, creator, &e) == LEDGER_OK, "%s", e.msg);
    CHECK_INT(n, 2);
    check_balance(&b[0], 1, 600, 250, 350);
    check_balance(&b[1], 2, 400, 0, 400);
    CHECK_INT(ledger_payee_balances(b, 1, &n, &db, creator, &e), LEDGER_ERR_TOO_MANY);
    CHECK_INT(n, 0);
    CHECK_MSG(ledger_payee_balances(b, 4, &n, &db, other, &e) == LEDGER_OK, "%s", e.msg);
    CHECK_INT(n, 1);
    check_balance(&b[0], 1, 7, 0, 7);
out:
    teardown();
}

/* The database refuses what ledger.c would never send, at COMMIT, and keeps
 * nothing of the transaction. */
static void test_unbalanced_refused_by_database(void)
{
    if (!setup())
        goto out;
#define ENTRY(id)                                                                                  \
    "INSERT INTO ledger_entries (id, kind, creator_key) VALUES (" id ", 'settlement',"             \
    " decode(repeat('c1', 32), 'hex'));"
#define POST(id, line, side, amount)                                                               \
    "INSERT INTO ledger_postings VALUES (" id ", " line ", decode(repeat('c1', 32), 'hex'),"       \
    " 'payee:0xa000000000000000000000000000000000000001', '" side "', " amount ");"
    expect_refused("BEGIN;" ENTRY("1") POST("1", "0", "debit", "5")
                       POST("1", "1", "credit", "4") "COMMIT;",
                   "23514");
    expect_refused("BEGIN;" ENTRY("1") POST("1", "0", "debit", "5") "COMMIT;", "23514");
    expect_refused("BEGIN;" ENTRY("1") "COMMIT;", "23514");
    CHECK_STR(value("SELECT count(*) FROM ledger_entries"), "0");
    CHECK_STR(value("SELECT count(*) FROM ledger_postings"), "0");
    struct err e = {0};
    CHECK_MSG(pg_exec_script(&db,
                             "BEGIN;" ENTRY("1") POST("1", "0", "debit", "5")
                                 POST("1", "1", "credit", "5") "COMMIT;",
                             &e) == PG_OK,
              "%s", e.msg);
    /* a posting added to a committed entry unbalances it */
    expect_refused("BEGIN;" POST("1", "2", "credit", "1") "COMMIT;", "23514");
    /* checked early, then changed: checked again at COMMIT */
    expect_refused(
        "BEGIN;" ENTRY("2") POST("2", "0", "debit", "5") POST(
            "2", "1", "credit",
            "5") "SET CONSTRAINTS ALL IMMEDIATE; SET CONSTRAINTS ALL DEFERRED;" POST("2", "2",
                                                                                     "debit",
                                                                                     "3") "COMMIT;",
        "23514");
    expect_refused("BEGIN;" ENTRY("3") POST("3", "0", "debit", "0")
                       POST("3", "1", "credit", "0") "COMMIT;",
                   "23514");
    CHECK_STR(value("SELECT count(*) || ' ' || sum(amount_wei) FROM ledger_postings"), "2 10");
    CHECK_STR(value("SELECT string_agg(id::text, ',') FROM ledger_entries"), "1");
#undef ENTRY
#undef POST
out:
    teardown();
}

static void test_append_only(void)
{
    if (!setup())
        goto out;
    struct ledger_posting rev[] = {posting(LEDGER_ACCOUNT_VAULT, 0, LEDGER_DEBIT, 9),
                                   posting(LEDGER_ACCOUNT_PAYEE, 1, LEDGER_CREDIT, 9)};
    struct ledger_entry en = revenue(creator, 1, rev, 2);
    uint64_t id = 0;
    struct err e = {0};
    CHECK_MSG(ledger_post_batch(NULL, &id, &db, &en, 1, &e) == LEDGER_OK, "%s", e.msg);
    expect_refused("UPDATE ledger_postings SET amount_wei = amount_wei + 1", "42501");
    expect_refused("UPDATE ledger_entries SET block_number = 7", "42501");
    expect_refused("DELETE FROM ledger_postings", "42501");
    expect_refused("DELETE FROM ledger_entries", "42501");
    /* Settlement batches (0009) reference the journal, so a plain TRUNCATE is
     * refused for that first; with CASCADE the journal's own guard answers. */
    expect_refused("TRUNCATE ledger_postings, ledger_entries", "0A000");
    expect_refused("TRUNCATE ledger_postings, ledger_entries CASCADE", "42501");
    CHECK_STR(value("SELECT count(*) || ' ' || sum(amount_wei) FROM ledger_postings"), "2 18");
    CHECK_STR(value("SELECT block_number FROM ledger_entries"), "101");
    /* a correction is a reversing entry; an entry is reversed at most once */
    struct ledger_posting back[] = {posting(LEDGER_ACCOUNT_VAULT, 0, LEDGER_CREDIT, 9),
                                    posting(LEDGER_ACCOUNT_PAYEE, 1, LEDGER_DEBIT, 9)};
    struct ledger_entry rv = {
        .kind = LEDGER_KIND_REVERSAL, .reverses_entry_id = id, .postings = back, .postings_len = 2};
    memcpy(rv.creator_key, creator, 32);
    uint64_t rid = 0;
    CHECK_MSG(ledger_post_batch(NULL, &rid, &db, &rv, 1, &e) == LEDGER_OK, "%s", e.msg);
    CHECK(rid > id);
    CHECK_INT(ledger_post_batch(NULL, &rid, &db, &rv, 1, &e), LEDGER_ERR_CONFLICT);
    CHECK_INT(e.code, LEDGER_ERR_CONFLICT);
    struct ledger_payee_balance b[2];
    size_t n = 0;
    CHECK_MSG(ledger_payee_balances(b, 2, &n, &db, creator, &e) == LEDGER_OK, "%s", e.msg);
    CHECK_INT(n, 1);
    check_balance(&b[0], 1, 0, 0, 0);
out:
    teardown();
}

/* A replayed event posts nothing and is reported; the new one is posted. */
static void test_replay_posts_nothing(void)
{
    if (!setup())
        goto out;
    struct ledger_posting rev[] = {posting(LEDGER_ACCOUNT_VAULT, 0, LEDGER_DEBIT, 5),
                                   posting(LEDGER_ACCOUNT_PAYEE, 1, LEDGER_CREDIT, 5)};
    struct ledger_entry entries[4];
    for (uint32_t i = 0; i < 4; i++)
        entries[i] = revenue(creator, i, rev, 2);
    uint64_t ids[4];
    struct ledger_post_report rep;
    struct err e = {0};
    CHECK_MSG(ledger_post_batch(&rep, ids, &db, entries, 3, &e) == LEDGER_OK, "%s", e.msg);
    CHECK_INT(rep.entries_posted, 3);
    CHECK_MSG(ledger_post_batch(&rep, ids, &db, entries, 4, &e) == LEDGER_OK, "%s", e.msg);
    CHECK_INT(rep.entries_posted, 1);
    CHECK_INT(rep.entries_replayed, 3);
    CHECK_INT(rep.postings_written, 2);
    CHECK(ids[0] == 0 && ids[1] == 0 && ids[2] == 0 && ids[3] > 0);
    /* the same event twice in one batch: once */
    struct ledger_entry twice[2] = {revenue(creator, 9, rev, 2), revenue(creator, 9, rev, 2)};
    CHECK_MSG(ledger_post_batch(&rep, ids, &db, twice, 2, &e) == LEDGER_OK, "%s", e.msg);
    CHECK_INT(rep.entries_posted, 1);
    CHECK_INT(rep.entries_replayed, 1);
    CHECK(ids[0] > 0 && ids[1] == 0);
    CHECK_STR(value("SELECT count(*) || ' ' || sum(amount_wei) FROM ledger_postings"
                    " WHERE account = 'vault'"),
              "5 25");
    /* another chain's event with the same hash and index is another event */
    entries[0].event.chain_id = 1;
    CHECK_MSG(ledger_post_batch(&rep, ids, &db, entries, 1, &e) == LEDGER_OK, "%s", e.msg);
    CHECK_INT(rep.entries_posted, 1);
out:
    teardown();
}

/* 1 ETH + 7 wei split 35/25/15/10/15 %: floor parts 350000000000000002,
 * 250000000000000001, 150000000000000001, 100000000000000000,
 * 150000000000000001 (sum 1000000000000000005); the 2 wei left go to the
 * 35 % payee. */
static void test_five_way_split(void)
{
    if (!setup())
        goto out;
    const uint64_t parts[SPLIT_WAYS] = {350000000000000004u, 250000000000000001u,
                                        150000000000000001u, 100000000000000000u,
                                        150000000000000001u};
    struct ledger_posting p[SPLIT_WAYS + 1];
    p[0] = posting(LEDGER_ACCOUNT_VAULT, 0, LEDGER_DEBIT, 1000000000000000007u);
    for (uint8_t i = 0; i < SPLIT_WAYS; i++)
        p[i + 1] = posting(LEDGER_ACCOUNT_PAYEE, (uint8_t)(i + 1), LEDGER_CREDIT, parts[i]);
    struct ledger_entry en = revenue(creator, 1, p, SPLIT_WAYS + 1);
    uint64_t id;
    struct err e = {0};
    CHECK_MSG(ledger_post_batch(NULL, &id, &db, &en, 1, &e) == LEDGER_OK, "%s", e.msg);
    struct ledger_payee_balance b[SPLIT_WAYS];
    size_t n = 0;
    CHECK_MSG(ledger_payee_balances(b, SPLIT_WAYS, &n, &db, creator, &e) == LEDGER_OK, "%s", e.msg);
    CHECK_INT(n, SPLIT_WAYS);
    for (uint8_t i = 0; i < SPLIT_WAYS && i < n; i++)
        check_balance(&b[i], (uint8_t)(i + 1), parts[i], 0, parts[i]);
    CHECK_STR(value("SELECT sum(amount_wei) FROM ledger_postings WHERE side = 'credit'"),
              "1000000000000000007");
    CHECK_STR(value("SELECT count(*) FROM ledger_postings"), "6");
out:
    teardown();
}

static double elapsed_ms(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) * 1e3 + (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

/* 10,000 revenue events, each split five ways (60,000 postings), in one
 * batch; the time is printed. */
static void test_batch_of_10000(void)
{
    if (!setup())
        goto out;
    const uint64_t bps[SPLIT_WAYS] = {3500, 2500, 1500, 1000, 1500};
    struct ledger_posting *p = calloc(BIG_BATCH_ENTRIES * (SPLIT_WAYS + 1), sizeof *p);
    struct ledger_entry *en = calloc(BIG_BATCH_ENTRIES, sizeof *en);
    uint64_t *ids = calloc(BIG_BATCH_ENTRIES, sizeof *ids);
    ASSERT(p != NULL && en != NULL && ids != NULL);
    uint64_t total = 0;
    for (uint32_t i = 0; i < BIG_BATCH_ENTRIES; i++) {
        struct ledger_posting *q = &p[i * (SPLIT_WAYS + 1)];
        uint64_t amount = 10000 + i, rest = amount;
        for (uint8_t k = 0; k < SPLIT_WAYS; k++) {
            uint64_t part = amount * bps[k] / 10000;
            q[k + 1] = posting(LEDGER_ACCOUNT_PAYEE, (uint8_t)(k + 1), LEDGER_CREDIT, part);
            rest -= part;
        }
        q[1].amount_wei = u256_from_u64(amount * bps[0] / 10000 + rest);
        q[0] = posting(LEDGER_ACCOUNT_VAULT, 0, LEDGER_DEBIT, amount);
        en[i] = revenue(creator, i, q, SPLIT_WAYS + 1);
        total += amount;
    }
    struct ledger_post_report rep;
    struct err e = {0};
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    enum ledger_result r = ledger_post_batch(&rep, ids, &db, en, BIG_BATCH_ENTRIES, &e);
    double ms = elapsed_ms(&t0);
    CHECK_MSG(r == LEDGER_OK, "%s", e.msg);
    fprintf(stdout, "# posted %zu entries (%zu postings) in one batch in %.0f ms\n",
            rep.entries_posted, rep.postings_written, ms);
    CHECK_INT(rep.entries_posted, BIG_BATCH_ENTRIES);
    CHECK_INT(rep.postings_written, BIG_BATCH_ENTRIES * (SPLIT_WAYS + 1));
    char want[32];
    snprintf(want, sizeof want, "%" PRIu64, total);
    CHECK_STR(value("SELECT sum(amount_wei) FROM ledger_postings WHERE account = 'vault'"), want);
    CHECK_STR(value("SELECT count(*) FROM ledger_entries"), "10000");
    struct ledger_check_report check;
    CHECK_MSG(ledger_check_invariants(&check, &db, &e) == LEDGER_OK, "%s", e.msg);
    CHECK_INT(check.postings, BIG_BATCH_ENTRIES * (SPLIT_WAYS + 1));
    clock_gettime(CLOCK_MONOTONIC, &t0);
    CHECK(ledger_post_batch(&rep, ids, &db, en, BIG_BATCH_ENTRIES, &e) == LEDGER_OK);
    fprintf(stdout, "# replayed the batch in %.0f ms\n", elapsed_ms(&t0));
    CHECK_INT(rep.entries_replayed, BIG_BATCH_ENTRIES);
    free(p);
    free(en);
    free(ids);
out:
    teardown();
}

/* Refused before anything is written: the input, not a bug. */
static void test_bad_input(void)
{
    if (!setup())
        goto out;
    struct ledger_posting zero[] = {posting(LEDGER_ACCOUNT_VAULT, 0, LEDGER_DEBIT, 0),
                                    posting(LEDGER_ACCOUNT_PAYEE, 1, LEDGER_CREDIT, 0)};
    struct ledger_posting one[] = {posting(LEDGER_ACCOUNT_VAULT, 0, LEDGER_DEBIT, 3)};
    struct ledger_entry en = revenue(creator, 1, zero, 2);
    uint64_t id;
    struct err e = {0};
    CHECK_INT(ledger_post_batch(NULL, &id, &db, &en, 1, &e), LEDGER_ERR_BAD_INPUT);
    CHECK_STR(e.msg, "invalid posting 0 of entry 0: zero amount, side or account kind");
    en = revenue(creator, 1, one, 1);
    CHECK_INT(ledger_post_batch(NULL, &id, &db, &en, 1, &e), LEDGER_ERR_BAD_INPUT);
    CHECK_STR(e.msg, "invalid posting count for entry 0: 1 (2..128)");
    CHECK_INT(ledger_post_batch(NULL, &id, &db, &en, 0, &e), LEDGER_ERR_BAD_INPUT);
    CHECK_INT(e.code, LEDGER_ERR_BAD_INPUT);
    en = revenue(creator, 1, zero, 2);
    en.event.chain_id = 0;
    CHECK_INT(ledger_post_batch(NULL, &id, &db, &en, 1, &e), LEDGER_ERR_BAD_INPUT);
    CHECK_STR(value("SELECT count(*) FROM ledger_entries"), "0");
out:
    teardown();
}

/* ---- split versions ----------------------------------------------------------------------- */

#define CREATOR_ID "3f2b1c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d"
#define VERSION(v, block)                                                                          \
    "INSERT INTO split_versions (creator_id, version, effective_from_block) VALUES ('" CREATOR_ID  \
    "', " v ", " block ");"
#define SHARE(v, payee, bps)                                                                       \
    "INSERT INTO split_shares VALUES ('" CREATOR_ID "', " v ", decode(repeat('" payee              \
    "', 20), 'hex'), 'role', " bps ");"

static void test_split_versions(void)
{
    if (!setup())
        goto out;
    struct err e = {0};
    const char *seed =
        "INSERT INTO creators (id, owner, creator_key, name) VALUES ('" CREATOR_ID
        "', decode(repeat('01', 20), 'hex'), decode(repeat('02', 32), 'hex'), 'c');"
        "BEGIN;" VERSION("1", "10") SHARE("1", "a1", "3500") SHARE("1", "a2", "2500")
            SHARE("1", "a3", "1500") SHARE("1", "a4", "1000") SHARE("1", "a5", "1500") "COMMIT;";
    CHECK_MSG(pg_exec_script(&db, seed, &e) == PG_OK, "%s", e.msg);
    /* sums other than 10000, no shares, a share added to a committed version */
    expect_refused("BEGIN;" VERSION("2", "20") SHARE("2", "a1", "9999") "COMMIT;", "23514");
    expect_refused("BEGIN;" VERSION("2", "20") SHARE("2", "a1", "5000")
                       SHARE("2", "a2", "5001") "COMMIT;",
                   "23514");
    expect_refused("BEGIN;" VERSION("2", "20") "COMMIT;", "23514");
    expect_refused("BEGIN;" SHARE("1", "a6", "1") "COMMIT;", "23514");
    /* numbering and start blocks */
    expect_refused("BEGIN;" VERSION("3", "20") SHARE("3", "a1", "10000") "COMMIT;", "23514");
    expect_refused("BEGIN;" VERSION("2", "10") SHARE("2", "a1", "10000") "COMMIT;", "23514");
    expect_refused("BEGIN;" SHARE("1", "a6", "0") "COMMIT;", "23514");
    /* immutable */
    expect_refused("UPDATE split_shares SET bps = bps", "42501");
    expect_refused("UPDATE split_versions SET effective_from_block = 11", "42501");
    expect_refused("DELETE FROM split_shares", "42501");
    expect_refused("DELETE FROM split_versions", "42501");
    CHECK_STR(value("SELECT count(*) || ' ' || sum(bps) FROM split_shares"), "5 10000");
    CHECK_STR(value("SELECT count(*) FROM split_versions"), "1");
    CHECK_MSG(pg_exec_script(&db, "BEGIN;" VERSION("2", "20") SHARE("2", "a1", "10000") "COMMIT;",
                             &e) == PG_OK,
              "%s", e.msg);
    CHECK_STR(value("SELECT version FROM split_versions WHERE creator_id = '" CREATOR_ID
                    "' AND effective_from_block <= 19 ORDER BY effective_from_block DESC"
                    " LIMIT 1"),
              "1");
out:
    teardown();
}

int main(void)
{
    if (!pg_fixture_init("test_ledger"))
        return 1;
    RUN(test_post_and_balances);
    RUN(test_unbalanced_refused_by_database);
    RUN(test_append_only);
    RUN(test_replay_posts_nothing);
    RUN(test_five_way_split);
    RUN(test_batch_of_10000);
    RUN(test_bad_input);
    RUN(test_split_versions);
    return harness_finish();
}
