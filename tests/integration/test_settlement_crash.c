/*
 * test_settlement_crash.c - the settlement indexer survives SIGKILL at any
 * point, and two settlement processes over one database and chain post no
 * event twice; against the runner's real PostgreSQL and anvil, with
 * CONFIRMATIONS = 6.
 *
 * The processes ("workers", proc_fixture.h) are started by worker_start(): with
 * WORKER_BINARY the real program BUILD_DIR/bin/settlement, whose background
 * worker (jobs.c) runs the indexer (environment: DATABASE_URL with the
 * test's schema as search_path, ETH_RPC_URL, CHAIN_ID, VAULT_ADDRESS,
 * CONFIRMATIONS, AUTH_SECRET_FILE, SIWE_DOMAIN, SETTLEMENT_LISTEN on a
 * free port; output to worker-<n>.log in the test's scratch directory
 * under TEST_TMPDIR); without it, a forked child of this program that runs
 * the same indexer (indexer.h, cursor "indexer", leader lock
 * INDEXER_LOCK_KEY_DEFAULT, at most WORKER_BLOCKS_PER_POLL blocks per poll)
 * in a poll loop. Either way the test only reads the database, the chain
 * and (binary) GET /v1/chain, and stops a worker only with SIGKILL; a
 * worker that dies of anything else fails the test at once. A worker
 * never outlives the test program (PR_SET_PDEATHSIG).
 *
 * The world is revenue_fixture.h's (creator A with a 5-way split, a
 * registered pass and a stream; creator B unknown; tips, mints, royalties,
 * direct deposits). Payments are signed here and sent in JSON-RPC batches
 * with automine off, PER_BLOCK to a block.
 *
 * 1. Crash runs. A first burst is indexed by a worker that runs until it
 *    caught up (confirmed through head - CONFIRMATIONS): a "recovery",
 *    which measures how long a worker takes to get the leader lock and,
 *    from there, to catch up. Then, KILL_RUNS times: a burst of BURST
 *    payments is mined, a worker starts and is SIGKILLed after a random
 *    delay (TEST_SEED): on even runs from its start, within 1.25 times the
 *    mean start-and-catch-up (mostly during start-up); on odd runs from the
 *    moment it holds the lock, within 1.25 times the mean catch-up (mostly
 *    inside a poll's transaction); the counts of where kills landed are
 *    printed. After each kill PostgreSQL must release the dead session's
 *    lock, the ledger invariants hold (ledger_fixture.h), and a recovery
 *    leaves every payee's balance equal to the test's own computation to
 *    the wei (revenue_fixture.h, not split.c). At the end the ledger equals
 *    the one a fresh indexer builds from scratch on the same chain, and per
 *    creator the revenue equals receivedOf at the confirmed block. With
 *    WORKER_BINARY each recovery also reads GET /v1/chain: indexed_block
 *    and head_block are the head.
 * 2. Two processes. Two workers run at once over the same schema and
 *    chain; TWO_RUNS times a burst is mined while they run and one of them,
 *    chosen at random, is SIGKILLed at a random point and restarted. At
 *    most one session ever holds the leader lock, the invariants hold (no
 *    event posted twice), and once caught up exactly one leads and the
 *    comparisons of 1 hold.
 *
 * Sizes: (1 + KILL_RUNS 20 + TWO_RUNS 6) x BURST 100 = 2700 payments (one
 * vault event each) in 135 blocks of PER_BLOCK 20; 26 SIGKILLs at random
 * points plus one per recovery. 20 to 30 s on a 2-core machine shared with
 * other work (the runner's start included), about 70 s with both cores
 * saturated. Every wait is bounded by CATCH_UP_WAIT_MS_MAX (a
 * hang guard, not a timed assertion).
 *
 * Environment: DATABASE_URL, ETH_RPC_URL, TEST_SEED, TEST_TMPDIR, BUILD_DIR
 * (tests/run.sh), run from the repository root. The program runs inside
 * one evm_snapshot that main() reverts at the end.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_client.h"
#include "indexer.h"
#include "ledger_fixture.h"
#include "proc_fixture.h"
#include "revenue_fixture.h"

#define WORKER_BINARY 1 /* 1: exec BUILD_DIR/bin/settlement; 0: fork an indexer loop */
#define CONFIRMATIONS 6
#define CURSOR "indexer"
#define KILL_RUNS 20
#define TWO_RUNS 6
#define BURST 100
#define PER_BLOCK 20
#define CATCH_UP_WAIT_MS_MAX 60000u
#define WAIT_STEP_MS 5u
#define WORKER_POLL_MS 10u
#define WORKER_LEADER_RETRY_MS 50u
#define WORKER_BLOCKS_PER_POLL 2 /* several commits per catch-up */
#define WORKERS_MAX 2
#define PATH_BYTES PROC_PATH_BYTES
#define WORKER_LOG "worker" /* the workers' logs: <dir>/worker-<n>.log */

/* How the kills landed (printed, not asserted: timing decides). */
struct kill_stats {
    unsigned before_commit, behind, caught_up;
};

/* Recoveries: from the start to the leader lock, from the lock to caught up. */
struct timing {
    uint64_t start_ms, poll_ms;
    unsigned n;
};

static struct pg_session db;
static char schema[LFX_SCHEMA_BYTES];
static struct rev_world world;
static struct indexer_config cfg;
static bool ready;
static uint64_t rng;
static char dir[PATH_BYTES], secret[PATH_BYTES + 32];
static int worker_count;       /* started so far: names the log files */
static struct timing timing;   /* measured by test_crash_runs */
static struct api_reply reply; /* large */

/* ---- small helpers --------------------------------------------------------------------- */

/* The cursor's next block and confirmed_through (-1 when none); false when
 * there is no cursor yet. */
static bool cursor_read(uint64_t *next, int64_t *confirmed)
{
    PGresult *res = NULL;
    struct err e = {0};
    const char *params[1] = {CURSOR};
    if (pg_exec(&db, &res,
                "SELECT next_block, coalesce(confirmed_through, -1) FROM indexer_cursor"
                " WHERE name = $1",
                params, 1, &e) != PG_OK) {
        CHECK_MSG(0, "cursor: %s", e.msg);
        return false;
    }
    bool ok = PQntuples(res) == 1;
    if (ok) {
        *next = strtoull(PQgetvalue(res, 0, 0), NULL, 10);
        *confirmed = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
    }
    PQclear(res);
    return ok;
}

static uint64_t next_block_now(void)
{
    uint64_t next = 0;
    int64_t confirmed = -1;
    return cursor_read(&next, &confirmed) ? next : 0;
}

/* How many sessions hold the indexer's leader lock (-1 on error). */
static long lock_holders(void)
{
    char key[24];
    snprintf(key, sizeof key, "%lld", INDEXER_LOCK_KEY_DEFAULT);
    const char *params[1] = {key};
    PGresult *res = NULL;
    struct err e = {0};
    long n = -1;
    if (pg_exec(&db, &res,
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"
                " AND objsubid = 1 AND ((classid::bigint << 32) | objid::bigint) = $1::bigint",
                params, 1, &e) == PG_OK)
        n = strtol(PQgetvalue(res, 0, 0), NULL, 10);
    CHECK_MSG(n >= 0, "pg_locks: %s", e.msg);
    PQclear(res);
    return n;
}

/* ---- workers -------------------------------------------------------------------------- */

/* The forked indexer: polls the chain into the test's schema until killed. */
static void worker_library_main(void) __attribute__((noreturn));
static void worker_library_main(void)
{
    struct pg_session pc;
    struct rpc_client rpc;
    struct indexer ix;
    char url[CONFIG_URL_BYTES_MAX + 1];
    struct err e = {0};
    memset(&pc, 0, sizeof pc);
    if (!chain_load_rpc_url(url, &e) || rpc_client_init(&rpc, url, NULL, &e) != RPC_OK)
        _exit(2);
    while (!pg_fixture_join_schema(&pc, schema)) {
        pg_release(&pc);
        proc_sleep_ms(WORKER_LEADER_RETRY_MS);
    }
    struct indexer_config c = cfg;
    c.blocks_per_poll_max = WORKER_BLOCKS_PER_POLL;
    for (;;) {
        enum indexer_result r = indexer_init(&ix, &pc, &rpc, &c, &e);
        if (r == INDEXER_OK)
            break;
        if (r != INDEXER_ERR_NOT_LEADER && r != INDEXER_ERR_DB)
            _exit(3);
        proc_sleep_ms(WORKER_LEADER_RETRY_MS);
    }
    for (;;) {
        struct indexer_poll_report rep;
        enum indexer_result r = indexer_poll(&ix, &rep, &e);
        if (r != INDEXER_OK && r != INDEXER_ERR_DB && r != INDEXER_ERR_RPC)
            _exit(4);
        if (r != INDEXER_OK || rep.caught_up)
            proc_sleep_ms(WORKER_POLL_MS);
    }
}

/* The child: the real program in the test's schema, or the indexer loop. */
static void worker_child(void *ctx, int n, uint16_t port)
{
    (void)ctx;
    if (WORKER_BINARY) {
        const struct proc_settlement env = {.schema = schema,
                                            .vault = &world.vault,
                                            .confirmations = CONFIRMATIONS,
                                            .secret_file = secret,
                                            .siwe_domain = "localhost",
                                            .dir = dir,
                                            .log_name = WORKER_LOG};
        proc_exec_settlement(&env, n, port);
    }
    worker_library_main();
}

/* Starts worker number worker_count, listening (binary) on a port other
 * than other_port. */
static struct proc worker_start(uint16_t other_port)
{
    struct proc w;
    proc_start(&w, worker_count++, WORKER_BINARY ? proc_free_port(other_port) : 0, worker_child,
               NULL);
    return w;
}

/* False (a CHECK failure) when worker w ended by itself. */
static bool worker_alive(struct proc *w)
{
    return proc_alive(w, dir);
}

/* SIGKILLs w (if it runs) and reaps it: it must die of our SIGKILL. */
static void worker_kill(struct proc *w)
{
    proc_kill(w, dir);
}

/* SIGKILLs w after `delay_ms` from another thread while this one mines a
 * burst (the workers index it as it comes), and reaps it. */
static void burst_and_kill(struct proc *w, unsigned delay_ms)
{
    struct proc_killer k;
    proc_kill_after(&k, w, delay_ms);
    CHECK(rev_burst(&world, BURST, PER_BLOCK));
    proc_killer_join(&k);
    worker_kill(w);
}

/* Waits until a session holds the leader lock (`held`) or none does, while
 * w (may be NULL) lives; bounded by the hang guard. */
static bool wait_lock(bool held, struct proc *w)
{
    for (unsigned waited = 0; waited < CATCH_UP_WAIT_MS_MAX; waited++) {
        long n = lock_holders();
        if (n < 0 || (n > 0) == held)
            return n >= 0;
        if (w != NULL && !worker_alive(w))
            return false;
        proc_sleep_ms(1);
    }
    CHECK_MSG(0, "the leader lock is still %s after %u ms", held ? "free" : "held",
              CATCH_UP_WAIT_MS_MAX);
    return false;
}

/* Waits until the cursor covers the head with everything confirmable
 * confirmed, while one of w[0..n) lives; bounded by the hang guard. */
static bool wait_caught_up(struct proc *w, size_t n)
{
    uint64_t head = chain_head(&chain);
    for (unsigned waited = 0; waited < CATCH_UP_WAIT_MS_MAX; waited += WAIT_STEP_MS) {
        uint64_t next = 0;
        int64_t confirmed = -1;
        if (cursor_read(&next, &confirmed) && next == head + 1 &&
            confirmed == (int64_t)(head - CONFIRMATIONS))
            return true;
        bool alive = false;
        for (size_t i = 0; i < n; i++)
            alive = worker_alive(&w[i]) || alive;
        if (!alive)
            return false;
        proc_sleep_ms(WAIT_STEP_MS);
    }
    CHECK_MSG(0, "no worker caught up with block %" PRIu64 " in %u ms", head, CATCH_UP_WAIT_MS_MAX);
    return false;
}

/* Binary: GET /v1/chain of a caught-up worker names the head as both the
 * head and the indexed block. */
static void check_api_caught_up(const struct proc *w)
{
    if (!WORKER_BINARY)
        return;
    uint64_t head = chain_head(&chain);
    CHECK_INT(api_request_into(&reply, w->port, "GET", "/v1/chain", NULL, NULL, NULL, 0), 200);
    json_t *j = json_loadb(reply.body, reply.body_len, 0, NULL);
    CHECK_MSG(json_integer_value(json_object_get(j, "indexed_block")) == (json_int_t)head &&
                  json_integer_value(json_object_get(j, "head_block")) == (json_int_t)head,
              "GET /v1/chain at head %" PRIu64 ": %s", head, reply.body);
    json_decref(j);
}

/* Where a kill landed: the cursor's next block before the worker started
 * and after it died, against the head. */
static void kill_count(struct kill_stats *stats, uint64_t next_before)
{
    uint64_t next = 0;
    int64_t confirmed = -1;
    if (!cursor_read(&next, &confirmed) || next == next_before)
        stats->before_commit++;
    else if (next <= chain_head(&chain))
        stats->behind++;
    else
        stats->caught_up++;
}

/* Starts a worker, waits until it caught up, kills it and waits until
 * PostgreSQL released its lock; adds the times to *t (may be NULL). */
static bool recover(struct timing *t)
{
    uint64_t t0 = proc_now_ms();
    struct proc w = worker_start(0);
    bool ok = wait_lock(true, &w);
    uint64_t t1 = proc_now_ms();
    ok = ok && wait_caught_up(&w, 1);
    uint64_t t2 = proc_now_ms();
    if (ok)
        check_api_caught_up(&w);
    worker_kill(&w);
    ok = ok && wait_lock(false, NULL);
    if (ok && t != NULL) {
        t->start_ms += t1 - t0;
        t->poll_ms += t2 - t1;
        t->n++;
    }
    return ok;
}

/* Everything compared once the ledger is caught up. */
static void check_final(void)
{
    uint64_t upto = chain_head(&chain) - CONFIRMATIONS;
    CHECK(lfx_check_invariants(&db));
    CHECK(rev_refresh(&world));
    CHECK(rev_check_ledger(&world, &db, upto));
    CHECK(lfx_check_received_all(&db, &chain.rpc, &world.vault, CURSOR));
    CHECK(lfx_check_matches_scratch(&db, schema, CURSOR, &chain.rpc, &cfg));
}

/* ---- tests ------------------------------------------------------------------------------- */

static void test_setup(void)
{
    rng = harness_seed();
    if (!proc_make_dir(dir, sizeof dir, secret, sizeof secret, "settlement_crash", WORKER_LOG,
                       "first settlement worker"))
        return;
    if (!pg_fixture_migrated_schema(&db, schema, sizeof schema)) {
        CHECK_MSG(0, "no migrated schema");
        return;
    }
    if (!rev_setup(&world, &db, harness_rand(&rng)))
        return;
    rev_indexer_config(&cfg, &world, CURSOR, CONFIRMATIONS);
    ready = true;
}

/* SIGKILL at random points while indexing, each time followed by a
 * recovery: the ledger is sound and exact after every one and, at the
 * end, equals the ledger built from scratch. */
static void test_crash_runs(void)
{
    if (!ready) {
        CHECK_MSG(0, "no setup");
        return;
    }
    size_t refreshed = 0;
    struct kill_stats stats = {0, 0, 0};
    bool ok = wait_lock(false, NULL) && rev_burst(&world, BURST, PER_BLOCK) && recover(&timing);
    for (int run = 0; run < KILL_RUNS && ok; run++) {
        uint64_t before = next_block_now(), start_mean = timing.start_ms / timing.n,
                 poll_mean = timing.poll_ms / timing.n;
        ok = rev_burst(&world, BURST, PER_BLOCK);
        struct proc w = worker_start(0);
        if (run % 2 == 1)
            ok = ok && wait_lock(true, &w);
        proc_sleep_ms(
            proc_random_delay_ms(&rng, run % 2 == 1 ? poll_mean : start_mean + poll_mean));
        worker_kill(&w);
        kill_count(&stats, before);
        ok = ok && wait_lock(false, NULL) && lfx_check_invariants(&db) && recover(&timing) &&
             rev_refresh_from(&world, refreshed) &&
             rev_check_ledger(&world, &db, chain_head(&chain) - CONFIRMATIONS);
        refreshed = world.payments_len;
        CHECK(ok);
    }
    fprintf(stdout,
            "# %d kills (mean start %" PRIu64 " ms, catch-up %" PRIu64 " ms): %u before a"
            " commit, %u behind the head, %u caught up\n",
            KILL_RUNS, timing.start_ms / (timing.n + !timing.n),
            timing.poll_ms / (timing.n + !timing.n), stats.before_commit, stats.behind,
            stats.caught_up);
    chain_mine(&chain, CONFIRMATIONS);
    if (ok && recover(NULL))
        check_final();
}

/* Two processes at once: one leads, the other waits; kills move the lead;
 * no event is posted twice and the ledger equals the one from scratch. */
static void test_two_processes(void)
{
    if (!ready || timing.n == 0) {
        CHECK_MSG(0, "no setup");
        return;
    }
    uint64_t mean_ms = (timing.start_ms + timing.poll_ms) / timing.n;
    struct proc w[WORKERS_MAX];
    w[0] = worker_start(0);
    w[1] = worker_start(w[0].port);
    long most = 0;
    for (int run = 0; run < TWO_RUNS; run++) {
        size_t victim = (size_t)(harness_rand(&rng) % WORKERS_MAX);
        burst_and_kill(&w[victim], proc_random_delay_ms(&rng, 2 * mean_ms));
        long n = lock_holders();
        most = n > most ? n : most;
        w[victim] = worker_start(w[1 - victim].port);
        CHECK(lfx_check_invariants(&db));
    }
    CHECK_MSG(most <= 1, "%ld sessions held the leader lock at once", most);
    chain_mine(&chain, CONFIRMATIONS);
    bool caught_up = wait_caught_up(w, WORKERS_MAX);
    CHECK_INT(lock_holders(), 1);
    for (size_t i = 0; i < WORKERS_MAX; i++)
        worker_kill(&w[i]);
    if (caught_up)
        check_final();
}

int main(void)
{
    char whole[CHAIN_SNAPSHOT_ID_MAX];
    if (!rev_main_open("test_settlement_crash", whole))
        return 1;
    RUN(test_setup);
    RUN(test_crash_runs);
    RUN(test_two_processes);
    pg_fixture_drop_schema(&db, schema);
    rev_main_close(whole);
    return harness_finish();
}
