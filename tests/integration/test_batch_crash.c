/*
 * test_batch_crash.c - settlement batches survive SIGKILL of the real
 * settlement program (BUILD_DIR/bin/settlement, proc_fixture.h) during
 * batch creation and during broadcast, and a reorg that drops a mined
 * settle transaction; against the runner's PostgreSQL (a fresh migrated
 * schema) and anvil, CONFIRMATIONS = 2, operator anvil 1 (its key in a
 * 0600 OPERATOR_KEY_FILE, chain_write_key_file()), the program on a free
 * port.
 *
 * The world: revenue_fixture.h's vault (claims open at settle, no claim
 * window) and creator A (5-way split, a registered pass, a stream, owner
 * anvil 0), plus creators C (2 payees, one shared with A, owner anvil 4)
 * and D (3 payees, one shared with A, owner anvil 5) made through the API
 * (POST /v1/creators, PUT splits, POST streams). Revenue: A's mix of tips,
 * mints, royalties and unattributed payments (rev_burst) and tips to C and
 * D, confirmed by the program's own indexer before each settlement.
 *
 * 1. Crash runs (KILL_RUNS, TEST_SEED). Each run gives one creator new
 *    confirmed revenue (sometimes another creator too), notes its payees'
 *    balances, then POST /v1/creators/{id}/settlements and a SIGKILL at a
 *    random moment, by the run's kind:
 *      create     the POST is sent from another thread and the program is
 *                 killed within twice the mean POST time (inside the
 *                 request, before or after its transaction commits, or
 *                 just after the answer; a cut POST prints curl's error
 *                 as a comment line);
 *      signed     after the 202, within 1.25 txmgr job periods (mostly
 *                 before the settle transaction is broadcast);
 *      broadcast  with automine off, after the 202, within
 *                 BROADCAST_KILL_MS of the moment the transaction manager
 *                 marked the row pending (between its commit and the
 *                 node's answer, or just after); half the time a block is
 *                 mined while the program is dead;
 *      mined      after the worker saw the transaction mined, within
 *                 MINED_KILL_MS while blocks are mined (before or after
 *                 the confirmations and the anchoring).
 *    Right after the kill (once PostgreSQL ended the dead program's
 *    sessions): the ledger's invariants hold; either no batch of the run
 *    exists (a POST answered 202 must have one), the payees' balances are
 *    unchanged and no settle transaction is stored without its batch, or
 *    one exists whose leaves are exactly the noted unsettled balances, now
 *    settled. Then the program is restarted (a
 *    batch that did not exist is made by a new POST) and blocks are mined
 *    until every batch is anchored and every chain transaction confirmed.
 *    Then, over all batches so far: each is anchored (or claimable) and
 *    its settle row confirmed with exactly one of its signed attempts
 *    mined (receipt status 1, the batch's tx hash and block); exactly one
 *    SettlementAnchored log per batchKey on the chain and none the
 *    database does not know, with the batch's creator key, root and total;
 *    the vault's settlementRoot and settlementTotal are the batch's; the
 *    leaves sum to the total; per creator and payee the ledger's settled
 *    balance equals the sum of that payee's anchored leaves (no money in
 *    two batches), the creator's anchored totals sum to no more than its
 *    receivedOf and the run's creator has nothing left unsettled; the
 *    ledger's invariants hold and its revenue equals receivedOf. Where the
 *    kills landed is printed (timing decides, it is not asserted).
 * 2. Reorg. C's settle transaction is mined (the transaction manager saw
 *    it mined, the indexer holds its SettlementAnchored as pending), then
 *    anvil_reorg replaces that block (depth 1, the clock moved, two of the
 *    fan's payments re-mined in it) before CONFIRMATIONS: the log is
 *    orphaned, the transaction manager re-sends the stored raw
 *    transaction (one attempt, same hash, another block), the batch is
 *    anchored once (one SettlementAnchored log on the canonical chain,
 *    settlementRoot set), no second batch is made, and the checks of 1
 *    hold.
 *
 * Sizes: KILL_RUNS 20 kills (5 of each kind) plus 21 restarts; each run
 * waits for a few of the program's worker rounds (1 s apart: indexer,
 * batches, transaction manager), about 3 to 5 s a run; 90 to 120 s in
 * all on a 2-core machine shared with other work. Every wait is bounded by
 * WAIT_MS_MAX (a hang guard, not a timed assertion).
 *
 * Environment: DATABASE_URL, ETH_RPC_URL, TEST_SEED, TEST_TMPDIR, BUILD_DIR
 * (tests/run.sh), run from the repository root. The program runs inside
 * one evm_snapshot that main() reverts at the end.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_client.h"
#include "batch.h"
#include "indexer.h"
#include "ledger.h"
#include "ledger_fixture.h"
#include "proc_fixture.h"
#include "revenue_fixture.h"
#include "service.h"

#define CONFIRMATIONS 2
#define KILL_RUNS 20
#define CREATORS 3
#define DOMAIN "localhost:8080"
#define ACCT_OWNER_C 4
#define ACCT_OWNER_D 5
#define BURST_A 4 /* A's payments per run (one block) */
#define TIP_WEI_MAX (1ull << 40)
#define BROADCAST_KILL_MS 2u
#define MINED_KILL_MS 2000u
#define STEP_MS 100u       /* between looks while waiting (a block mined before each) */
#define POLL_MS 2u         /* between looks for a mined transaction */
#define WAIT_MS_MAX 60000u /* hang guard */
#define BALANCES_MAX 8
#define BATCHES_MAX 64
#define LOGS_MAX 128
#define ATTEMPTS_MAX 8
#define HASH_HEX_SIZE (2 + 64 + 1)
#define SVC_LOG "service" /* the program's logs: <dir>/service-<n>.log */

enum kill_kind { KILL_SIGNED = 0, KILL_CREATE = 1, KILL_BROADCAST = 2, KILL_MINED = 3, KILL_KINDS };

/* Where a kill landed, from what the database and the node show after it. */
enum landed {
    LANDED_ABSENT = 0,    /* no batch: the POST's transaction did not commit */
    LANDED_SIGNED = 1,    /* batch and signed transaction, never broadcast */
    LANDED_UNSENT = 2,    /* marked pending, the node does not know it */
    LANDED_SENT = 3,      /* pending, the node has it (pool or block) */
    LANDED_MINED = 4,     /* the manager saw it mined */
    LANDED_CONFIRMED = 5, /* confirmed, the batch not yet anchored */
    LANDED_ANCHORED = 6,
    LANDED_COUNT
};

struct creator {
    char id[IDS_UUID_SIZE];
    char stream_id[IDS_UUID_SIZE];
    uint8_t key[32];
    size_t owner; /* anvil account */
};

struct balances {
    struct ledger_payee_balance b[BALANCES_MAX];
    size_t n;
};

/* A SettlementAnchored log of the vault. */
struct anchored_log {
    uint8_t batch_key[32], creator_key[32], root[32], tx_hash[32];
    struct u256 total_wei;
};

/* A POST from another thread (KILL_CREATE). */
struct poster {
    pthread_t thread;
    size_t creator;
    struct api_reply rep;
};

static const char *const landed_names[LANDED_COUNT] = {"absent", "signed",    "unsent",  "sent",
                                                       "mined",  "confirmed", "anchored"};

static struct pg_session db;
static char schema[LFX_SCHEMA_BYTES];
static struct rev_world world;
static struct creator creators[CREATORS];
static struct api_client api = {.siwe_domain = DOMAIN, .chain = &chain};
static struct proc svc;
static int svc_count;
static char dir[PROC_PATH_BYTES], secret[PROC_PATH_BYTES + 32], key_file[PROC_PATH_BYTES + 32];
static uint64_t rng;
static bool ready;
static uint64_t post_ms_sum, post_count;
static unsigned landed_count[LANDED_COUNT];
static struct poster poster;
static struct anchored_log logs[LOGS_MAX];

/* ---- the program ------------------------------------------------------------------------ */

static void svc_child(void *ctx, int n, uint16_t port)
{
    (void)ctx;
    const struct proc_settlement env = {.schema = schema,
                                        .vault = &world.vault,
                                        .confirmations = CONFIRMATIONS,
                                        .secret_file = secret,
                                        .siwe_domain = DOMAIN,
                                        .operator_key_file = key_file,
                                        .dir = dir,
                                        .log_name = SVC_LOG};
    proc_exec_settlement(&env, n, port);
}

/* Starts the program and waits until it listens. */
static bool svc_start(void)
{
    proc_start(&svc, svc_count++, proc_free_port(0), svc_child, NULL);
    api.port = svc.port;
    return svc.pid > 0 && proc_wait_listening(&svc, dir);
}

static void svc_kill(void)
{
    proc_kill(&svc, dir);
}

/* ---- database and chain reads ------------------------------------------------------------ */

static long count_of(const char *sql)
{
    return api_count_rows(&db, sql);
}

static void hex0x(char out[HASH_HEX_SIZE], const uint8_t b[32])
{
    ASSERT(hex_encode_0x(out, HASH_HEX_SIZE, b, 32) == 0);
}

/* The first value of a query with parameters into out ("" when no row). */
static bool query_text(char *out, size_t out_size, const char *sql, const char *const *params,
                       int n)
{
    PGresult *res = NULL;
    bool ok = lfx_exec(&db, &res, sql, params, n);
    snprintf(out, out_size, "%s", ok && PQntuples(res) > 0 ? PQgetvalue(res, 0, 0) : "");
    PQclear(res);
    return ok;
}

static int64_t confirmed_through(void)
{
    return strtoll(
        pg_fixture_query_value(&db, "SELECT coalesce(max(confirmed_through), -1)"
                                    " FROM indexer_cursor WHERE name = '" INDEXER_NAME_DEFAULT "'"),
        NULL, 10);
}

static int64_t last_seq(void)
{
    return strtoll(pg_fixture_query_value(&db, "SELECT coalesce(max(seq), 0) FROM settlements"),
                   NULL, 10);
}

/* The status of batch id's settle transaction and its latest attempt's hash. */
static void settle_tx(char status[16], uint8_t hash[32], const char *id)
{
    char purpose[BATCH_PURPOSE_SIZE], row[16 + HASH_HEX_SIZE];
    snprintf(purpose, sizeof purpose, "settle:%s", id);
    const char *params[1] = {purpose};
    query_text(row, sizeof row,
               "SELECT c.status || ' ' || encode(a.tx_hash, 'hex') FROM chain_txs c"
               " JOIN chain_tx_attempts a ON a.tx_id = c.id WHERE c.purpose = $1"
               " ORDER BY a.attempt DESC LIMIT 1",
               params, 1);
    const char *space = strchr(row, ' ');
    snprintf(status, 16, "%.*s", space != NULL ? (int)(space - row) : 0, row);
    memset(hash, 0, 32);
    if (space != NULL)
        ASSERT(hex_decode_exact(hash, 32, space + 1, strlen(space + 1), NULL) == HEX_OK);
}

/* The node knows transaction `hash` (in its pool or a block). */
static bool node_knows(const uint8_t hash[32])
{
    char h[HASH_HEX_SIZE];
    hex0x(h, hash);
    json_t *tx = chain_call(&chain, "eth_getTransactionByHash", json_pack("[s]", h));
    bool known = tx != NULL && !json_is_null(tx);
    json_decref(tx);
    return known;
}

static bool balances_of(struct balances *out, const struct creator *c)
{
    struct err e = {0};
    bool ok = ledger_payee_balances(out->b, BALANCES_MAX, &out->n, &db, c->key, &e) == LEDGER_OK;
    CHECK_MSG(ok, "balances: %s", e.msg);
    return ok;
}

/* The creator's unsettled balances sum to more than zero. */
static bool has_unsettled(const struct balances *b)
{
    for (size_t i = 0; i < b->n; i++)
        if (!u256_is_zero(&b->b[i].unsettled_wei))
            return true;
    return false;
}

/* ---- waiting ---------------------------------------------------------------------------- */

/* Waits until done(ctx) holds, looking every step_ms (0: without a pause)
 * and, when `mine`, mining a block after each look that found it not yet;
 * while the program lives. False after a failed CHECK (the program died,
 * or the hang guard). */
static bool wait_for(bool (*done)(void *), void *ctx, bool mine, unsigned step_ms, const char *what)
{
    for (uint64_t deadline = proc_now_ms() + WAIT_MS_MAX; proc_now_ms() < deadline;) {
        if (done(ctx))
            return true;
        if (!proc_alive(&svc, dir))
            return false;
        if (mine)
            chain_mine(&chain, 1);
        proc_sleep_ms(step_ms);
    }
    CHECK_MSG(0, "%s: not after %u ms (logs in %s)", what, WAIT_MS_MAX, dir);
    return false;
}

static bool is_confirmed_through(void *ctx)
{
    return confirmed_through() >= *(const int64_t *)ctx;
}

/* No batch still to anchor and no chain transaction still to confirm. */
static bool all_settled(void *ctx)
{
    (void)ctx;
    return count_of("SELECT (SELECT count(*) FROM settlements"
                    " WHERE status NOT IN ('anchored', 'claimable'))"
                    " + (SELECT count(*) FROM chain_txs WHERE status <> 'confirmed')") == 0;
}

/* The program's sessions in PostgreSQL (named by the schema:
 * proc_fixture.h). */
static long sessions(void)
{
    const char *params[1] = {schema};
    char n[24];
    query_text(n, sizeof n, "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1",
               params, 1);
    return strtol(n, NULL, 10);
}

/* PostgreSQL ended every session of the killed program, so that what it
 * was committing is committed or rolled back. */
static bool sessions_gone(void *ctx)
{
    (void)ctx;
    return sessions() == 0;
}

/* The program's worker is connected (its sessions can be told apart). */
static bool sessions_seen(void *ctx)
{
    (void)ctx;
    return sessions() > 0;
}

/* Batch ctx's settle transaction left 'signed' (the manager took it up). */
static bool tx_taken_up(void *ctx)
{
    char status[16];
    uint8_t hash[32];
    settle_tx(status, hash, ctx);
    return status[0] != '\0' && strcmp(status, "signed") != 0;
}

static bool tx_mined(void *ctx)
{
    char status[16];
    uint8_t hash[32];
    settle_tx(status, hash, ctx);
    return strcmp(status, "mined") == 0 || strcmp(status, "confirmed") == 0;
}

/* ---- the world -------------------------------------------------------------------------- */

/* POST (or PUT) `body` to `path` as `acct`; the reply's "id" into id (may be NULL). */
static bool api_write(char id[IDS_UUID_SIZE], const char *method, const char *path, size_t acct,
                      const char *body, long want)
{
    long status = api_request(&api, method, path, api.tokens[acct], body, strlen(body));
    json_t *j = api_reply_json(&api);
    const char *v = api_str_at(j, "id");
    bool ok = status == want && (id == NULL || (v != NULL && strlen(v) < IDS_UUID_SIZE));
    CHECK_MSG(ok, "%s %s: %ld %s", method, path, status, api.rep.body);
    if (ok && id != NULL)
        snprintf(id, IDS_UUID_SIZE, "%s", v);
    json_decref(j);
    return ok;
}

/* A creator owned by `owner` with a split over payees[0..n) (bps each)
 * and a stream, through the API. */
static bool creator_make(struct creator *c, size_t owner, const char *name,
                         const char *const *payees, const unsigned *bps, size_t n)
{
    char path[API_PATH_BYTES], body[API_TEXT_BYTES];
    int len = snprintf(body, sizeof body, "{\"name\":\"%s\"}", name);
    ASSERT(len > 0 && (size_t)len < sizeof body);
    c->owner = owner;
    if (!api_write(c->id, "POST", "/v1/creators", owner, body, 201))
        return false;
    chain_key_of(c->key, c->id);
    len = snprintf(body, sizeof body, "{\"shares\":[");
    for (size_t i = 0; i < n; i++)
        len += snprintf(body + len, sizeof body - (size_t)len,
                        "%s{\"payee\":\"%s\",\"role\":\"artist\",\"bps\":%u}", i > 0 ? "," : "",
                        payees[i], bps[i]);
    len += snprintf(body + len, sizeof body - (size_t)len, "]}");
    ASSERT(len > 0 && (size_t)len < sizeof body);
    snprintf(path, sizeof path, "/v1/creators/%s/splits", c->id);
    if (!api_write(NULL, "PUT", path, owner, body, 201))
        return false;
    snprintf(path, sizeof path, "/v1/creators/%s/streams", c->id);
    return api_write(c->stream_id, "POST", path, owner,
                     "{\"title\":\"Live\",\"access\":{\"tip_min_wei\":null}}", 201);
}

static bool tip(const struct creator *c)
{
    return tip_creator(&world.vault, c->id, c->stream_id, 1 + harness_rand(&rng) % TIP_WEI_MAX);
}

/* New revenue for creator c (A: a burst of the fixture's mix, and a tip)
 * and, half the time, a tip to another creator; mined, confirmed and
 * indexed by the program. */
static bool revenue_for(size_t c)
{
    bool ok = c != 0 || rev_burst(&world, BURST_A, BURST_A);
    ok = ok && tip(&creators[c]);
    if (ok && harness_rand(&rng) % 2 == 0)
        ok = tip(&creators[(c + 1 + harness_rand(&rng) % (CREATORS - 1)) % CREATORS]);
    chain_mine(&chain, CONFIRMATIONS);
    int64_t upto = (int64_t)(chain_head(&chain) - CONFIRMATIONS);
    return ok && wait_for(is_confirmed_through, &upto, false, STEP_MS, "revenue confirmed");
}

/* ---- settling ------------------------------------------------------------------------------ */

/* POST /v1/creators/{id}/settlements as the owner into *rep; the status. */
static long post_settle(struct api_reply *rep, size_t c)
{
    char path[API_PATH_BYTES];
    snprintf(path, sizeof path, "/v1/creators/%s/settlements", creators[c].id);
    uint64_t t0 = proc_now_ms();
    long status =
        api_request_into(rep, svc.port, "POST", path, api.tokens[creators[c].owner], NULL, NULL, 0);
    if (status == 202) {
        post_ms_sum += proc_now_ms() - t0;
        post_count++;
    }
    return status;
}

/* post_settle() that must answer 202 {id, status pending}; the id into id. */
static bool post_accepted(char id[IDS_UUID_SIZE], size_t c)
{
    long status = post_settle(&api.rep, c);
    json_t *j = api_reply_json(&api);
    const char *v = api_str_at(j, "id");
    bool ok = status == 202 && v != NULL && ids_uuid_valid(v, strlen(v)) &&
              strcmp(api_str_at(j, "status") ? api_str_at(j, "status") : "", "pending") == 0;
    CHECK_MSG(ok, "POST settlements: %ld %s", status, api.rep.body);
    snprintf(id, IDS_UUID_SIZE, "%s", ok ? v : "");
    json_decref(j);
    return ok;
}

static void *poster_main(void *arg)
{
    struct poster *p = arg;
    post_settle(&p->rep, p->creator);
    return NULL;
}

/* The batch of creator c made after seq `after` into id ("" when none);
 * false when there is more than one. */
static bool batch_after(char id[IDS_UUID_SIZE], size_t c, int64_t after)
{
    char seq[24], ids[2 * IDS_UUID_SIZE + 2];
    snprintf(seq, sizeof seq, "%" PRId64, after);
    const char *params[2] = {creators[c].id, seq};
    query_text(ids, sizeof ids,
               "SELECT coalesce(string_agg(id::text, ' '), '') FROM settlements"
               " WHERE creator_id = $1::uuid AND seq > $2::bigint",
               params, 2);
    bool one = strlen(ids) <= IDS_UUID_LEN;
    CHECK_MSG(one, "more than one batch for one POST: %s", ids);
    snprintf(id, IDS_UUID_SIZE, "%.*s", IDS_UUID_LEN, one ? ids : "");
    return one;
}

/* The settlement and kill of one run; the run's batch id (or "") into id. */
static void settle_and_kill(char id[IDS_UUID_SIZE], size_t c, enum kill_kind kind)
{
    id[0] = '\0';
    if (kind == KILL_CREATE) {
        uint64_t mean = post_count > 0 ? post_ms_sum / post_count : 50;
        poster.creator = c;
        poster.rep.status = 0;
        bool threaded = pthread_create(&poster.thread, NULL, poster_main, &poster) == 0;
        CHECK(threaded);
        proc_sleep_ms(proc_random_delay_ms(&rng, mean * 8 / 5)); /* below 2 means */
        svc_kill();
        if (threaded)
            pthread_join(poster.thread, NULL);
        json_t *j = json_loadb(poster.rep.body, poster.rep.body_len, 0, NULL);
        if (poster.rep.status == 202 && api_str_at(j, "id") != NULL)
            snprintf(id, IDS_UUID_SIZE, "%s", api_str_at(j, "id"));
        CHECK_MSG(poster.rep.status == 0 || poster.rep.status == 202, "POST: %ld %s",
                  poster.rep.status, poster.rep.body);
        json_decref(j);
        return;
    }
    if (kind == KILL_BROADCAST)
        CHECK(rev_automine(false));
    if (!post_accepted(id, c)) {
        svc_kill();
        CHECK(rev_automine(true));
        return;
    }
    if (kind == KILL_SIGNED) {
        proc_sleep_ms(proc_random_delay_ms(&rng, ST_TXMGR_JOB_MS));
    } else if (kind == KILL_BROADCAST) {
        if (wait_for(tx_taken_up, id, false, 0, "broadcast"))
            proc_sleep_ms((unsigned)(harness_rand(&rng) % BROADCAST_KILL_MS));
    } else if (wait_for(tx_mined, id, false, POLL_MS, "settle mined")) {
        uint64_t until = proc_now_ms() + proc_random_delay_ms(&rng, MINED_KILL_MS);
        while (proc_now_ms() < until) {
            chain_mine(&chain, 1);
            proc_sleep_ms(STEP_MS / 2);
        }
    }
    svc_kill();
    if (kind == KILL_BROADCAST && harness_rand(&rng) % 2 == 0)
        chain_mine(&chain, 1); /* mined while the program is dead */
    CHECK(rev_automine(true));
}

static enum landed landed_of(const char *id)
{
    if (id[0] == '\0')
        return LANDED_ABSENT;
    char status[16];
    uint8_t hash[32];
    const char *params[1] = {id};
    query_text(status, sizeof status, "SELECT status FROM settlements WHERE id = $1::uuid", params,
               1);
    if (strcmp(status, "anchored") == 0 || strcmp(status, "claimable") == 0)
        return LANDED_ANCHORED;
    settle_tx(status, hash, id);
    if (strcmp(status, "signed") == 0)
        return LANDED_SIGNED;
    if (strcmp(status, "pending") == 0)
        return node_knows(hash) ? LANDED_SENT : LANDED_UNSENT;
    return strcmp(status, "mined") == 0 ? LANDED_MINED : LANDED_CONFIRMED;
}

/* ---- checks ----------------------------------------------------------------------------- */

/* The receipt of transaction `hash`: its block, block hash and status;
 * false when there is none. */
static bool receipt_of(uint64_t *block, uint8_t block_hash[32], uint64_t *status,
                       const uint8_t hash[32])
{
    struct rpc_receipt r;
    struct err e = {0};
    enum rpc_result rr = rpc_get_transaction_receipt(&chain.rpc, &r, hash, &e);
    CHECK_MSG(rr == RPC_OK || rr == RPC_ERR_NO_RECEIPT, "receipt: %s", e.msg);
    if (rr != RPC_OK)
        return false;
    *block = r.block_number;
    *status = r.status;
    memcpy(block_hash, r.block_hash, 32);
    rpc_receipt_release(&r);
    return true;
}

/* Prints every batch not anchored and every chain transaction not
 * confirmed, with its attempts and their receipts (after a wait failed). */
static void print_open(void)
{
    PGresult *res = NULL;
    if (!lfx_exec(&db, &res,
                  "SELECT c.purpose, c.status, coalesce(s.status, '-'), a.attempt, a.nonce,"
                  " encode(a.tx_hash, 'hex') FROM chain_txs c"
                  " JOIN chain_tx_attempts a ON a.tx_id = c.id"
                  " LEFT JOIN settlements s ON c.purpose = 'settle:' || s.id::text"
                  " WHERE c.status <> 'confirmed' OR s.status NOT IN ('anchored', 'claimable')"
                  " ORDER BY c.id, a.attempt",
                  NULL, 0))
        return;
    for (int i = 0; i < PQntuples(res); i++) {
        uint8_t hash[32], block_hash[32];
        uint64_t block = 0, status = 0;
        ASSERT(hex_decode_exact(hash, 32, PQgetvalue(res, i, 5), 64, NULL) == HEX_OK);
        bool mined = receipt_of(&block, block_hash, &status, hash);
        fprintf(stdout, "# open: %s tx %s batch %s attempt %s nonce %s: ", PQgetvalue(res, i, 0),
                PQgetvalue(res, i, 1), PQgetvalue(res, i, 2), PQgetvalue(res, i, 3),
                PQgetvalue(res, i, 4));
        if (mined)
            fprintf(stdout, "mined in block %" PRIu64 ", status %" PRIu64 "\n", block, status);
        else
            fprintf(stdout, "no receipt\n");
    }
    PQclear(res);
}

/* Every settle transaction has its batch and every batch its transaction. */
static void check_tx_rows_match(void)
{
    CHECK_INT(count_of("SELECT count(*) FROM chain_txs c WHERE c.purpose LIKE 'settle:%'"
                       " AND NOT EXISTS (SELECT 1 FROM settlements s"
                       "  WHERE c.purpose = 'settle:' || s.id::text)"),
              0);
    CHECK_INT(count_of("SELECT count(*) FROM settlements s WHERE NOT EXISTS"
                       " (SELECT 1 FROM chain_txs c WHERE c.purpose = 'settle:' || s.id::text)"),
              0);
}

/* Batch `id` holds exactly the unsettled balances of `before`, which are
 * now settled (`now`). */
static void check_moved(const char *id, const struct balances *before, const struct balances *now)
{
    struct batch_leaf leaves[BALANCES_MAX];
    struct batch_info info;
    size_t n = 0, k = 0;
    struct err e = {0};
    struct u256 total = u256_zero();
    CHECK_MSG(batch_get(&info, &db, id, &e) == BATCH_OK, "batch %s: %s", id, e.msg);
    CHECK_MSG(batch_leaves(leaves, BALANCES_MAX, &n, &db, id, &e) == BATCH_OK, "leaves: %s", e.msg);
    CHECK_INT(now->n, before->n);
    for (size_t i = 0; i < before->n && i < now->n; i++) {
        const struct ledger_payee_balance *b = &before->b[i];
        CHECK(address_eq(&now->b[i].payee, &b->payee));
        CHECK(u256_is_zero(&now->b[i].unsettled_wei));
        CHECK_U256(now->b[i].settled_wei, add_wei(b->settled_wei, b->unsettled_wei));
        if (u256_is_zero(&b->unsettled_wei))
            continue;
        /* leaves and balances are both ordered by address */
        CHECK_MSG(k < n && address_eq(&leaves[k].payee, &b->payee), "leaf %zu of %s", k, id);
        if (k < n)
            CHECK_U256(leaves[k++].amount_wei, b->unsettled_wei);
        total = add_wei(total, b->unsettled_wei);
    }
    CHECK_INT(k, n);
    CHECK_INT(info.leaf_count, n);
    CHECK_U256(info.total_wei, total);
}

/* Right after the kill, before the restart. */
static void check_killed(const char *id, size_t c, const struct balances *before)
{
    struct balances now;
    CHECK(lfx_check_invariants(&db));
    check_tx_rows_match();
    if (!balances_of(&now, &creators[c]))
        return;
    if (id[0] != '\0') {
        check_moved(id, before, &now);
        return;
    }
    CHECK_INT(now.n, before->n);
    for (size_t i = 0; i < now.n && i < before->n; i++) {
        CHECK_U256(now.b[i].unsettled_wei, before->b[i].unsettled_wei);
        CHECK_U256(now.b[i].settled_wei, before->b[i].settled_wei);
    }
}

/* Every SettlementAnchored log of the vault into logs[0..*n). */
static bool anchored_logs(size_t *n)
{
    uint8_t topic0[32];
    char topic_hex[HASH_HEX_SIZE], vault[ADDRESS_TEXT_SIZE], from[24];
    abi_event_topic(topic0, "SettlementAnchored(bytes32,bytes32,bytes32,uint256,uint64)");
    hex0x(topic_hex, topic0);
    address_format_lower(vault, &world.vault);
    snprintf(from, sizeof from, "0x%" PRIx64, world.deploy_block);
    json_t *list = chain_call(&chain, "eth_getLogs",
                              json_pack("[{s:s, s:s, s:s, s:[s]}]", "fromBlock", from, "toBlock",
                                        "latest", "address", vault, "topics", topic_hex));
    bool ok = json_is_array(list) && json_array_size(list) <= LOGS_MAX;
    *n = ok ? json_array_size(list) : 0;
    for (size_t i = 0; ok && i < *n; i++) {
        const json_t *j = json_array_get(list, i);
        struct chain_log l;
        size_t len = 0;
        ok = chain_log_parse(&l, j) && l.topic_count == 3 && l.data_len == 96 &&
             chain_json_hex(logs[i].tx_hash, 32, &len, 32, json_object_get(j, "transactionHash"));
        if (!ok)
            break;
        memcpy(logs[i].batch_key, l.topic[1], 32);
        memcpy(logs[i].creator_key, l.topic[2], 32);
        memcpy(logs[i].root, l.data, 32);
        logs[i].total_wei = u256_from_be32(l.data + 32);
    }
    json_decref(list);
    CHECK_MSG(ok, "SettlementAnchored logs do not parse (or more than %d)", LOGS_MAX);
    return ok;
}

/* Of the settle row of batch b, exactly one attempt is mined: with status
 * 1, the batch's tx hash and block. */
static void check_one_mined(const struct batch_info *b)
{
    char purpose[BATCH_PURPOSE_SIZE];
    snprintf(purpose, sizeof purpose, "settle:%s", b->id);
    const char *params[1] = {purpose};
    PGresult *res = NULL;
    if (!lfx_exec(&db, &res,
                  "SELECT encode(a.tx_hash, 'hex'), c.status FROM chain_tx_attempts a"
                  " JOIN chain_txs c ON c.id = a.tx_id WHERE c.purpose = $1 ORDER BY a.attempt",
                  params, 1))
        return;
    int rows = PQntuples(res), mined = 0;
    CHECK_MSG(rows >= 1 && rows <= ATTEMPTS_MAX, "%d attempts", rows);
    for (int i = 0; i < rows && i < ATTEMPTS_MAX; i++) {
        uint8_t hash[32], block_hash[32];
        uint64_t block = 0, status = 0;
        CHECK_STR(PQgetvalue(res, i, 1), "confirmed");
        ASSERT(hex_decode_exact(hash, 32, PQgetvalue(res, i, 0), 64, NULL) == HEX_OK);
        if (!receipt_of(&block, block_hash, &status, hash))
            continue;
        mined++;
        CHECK_INT(status, 1);
        CHECK(b->has_tx_hash && memcmp(hash, b->tx_hash, 32) == 0);
        CHECK(b->has_block && block == b->block_number);
    }
    CHECK_MSG(mined == 1, "batch %s: %d of its %d signed attempts mined", b->id, mined, rows);
    PQclear(res);
}

/* Batch b against the chain: its settle row, its one SettlementAnchored
 * log of logs[0..n), the vault's views. */
static void check_batch_chain(const struct batch_info *b, size_t n)
{
    CHECK_MSG(b->status == BATCH_ANCHORED || b->status == BATCH_CLAIMABLE, "batch %s is %s", b->id,
              batch_status_name(b->status));
    check_one_mined(b);
    size_t found = 0;
    for (size_t i = 0; i < n; i++) {
        if (memcmp(logs[i].batch_key, b->batch_key, 32) != 0)
            continue;
        found++;
        CHECK_MEM(logs[i].creator_key, b->creator_key, 32);
        CHECK_MEM(logs[i].root, b->merkle_root, 32);
        CHECK_U256(logs[i].total_wei, b->total_wei);
        CHECK(b->has_tx_hash && memcmp(logs[i].tx_hash, b->tx_hash, 32) == 0);
    }
    CHECK_MSG(found == 1, "batch %s: %zu SettlementAnchored logs", b->id, found);
    struct abi_value arg = abi_value_bytes32(b->batch_key);
    struct abi_value root =
        view_one(&world.vault, ABI_TYPE_BYTES32, "settlementRoot(bytes32)", &arg, 1);
    CHECK_MEM(root.as.bytes32, b->merkle_root, 32);
    CHECK_U256(view_u256(&world.vault, "settlementTotal(bytes32)", &arg, 1), b->total_wei);
}

/* The leaves of batch b: they sum to its total; added to sums (by payee). */
static void check_leaves(const struct batch_info *b, struct balances *sums)
{
    struct batch_leaf leaves[BALANCES_MAX];
    size_t n = 0;
    struct err e = {0};
    struct u256 total = u256_zero();
    CHECK_MSG(batch_leaves(leaves, BALANCES_MAX, &n, &db, b->id, &e) == BATCH_OK, "leaves: %s",
              e.msg);
    CHECK_INT(n, b->leaf_count);
    for (size_t i = 0; i < n; i++) {
        total = add_wei(total, leaves[i].amount_wei);
        size_t k = 0;
        while (k < sums->n && !address_eq(&sums->b[k].payee, &leaves[i].payee))
            k++;
        ASSERT(k < BALANCES_MAX);
        if (k == sums->n) {
            memset(&sums->b[k], 0, sizeof sums->b[k]);
            sums->b[sums->n++].payee = leaves[i].payee;
        }
        sums->b[k].settled_wei = add_wei(sums->b[k].settled_wei, leaves[i].amount_wei);
    }
    CHECK_U256(total, b->total_wei);
}

/* Creator c: its payees' settled balances are the sums of their leaves,
 * its anchored totals (on chain too) sum to no more than receivedOf. */
static void check_creator(const struct creator *c, const struct balances *sums,
                          struct u256 db_total, size_t n_logs)
{
    struct balances now;
    if (!balances_of(&now, c))
        return;
    struct u256 settled = u256_zero(), on_chain = u256_zero();
    for (size_t i = 0; i < now.n; i++) {
        struct u256 want = u256_zero();
        for (size_t k = 0; k < sums->n; k++)
            if (address_eq(&sums->b[k].payee, &now.b[i].payee))
                want = sums->b[k].settled_wei;
        CHECK_U256(now.b[i].settled_wei, want);
        settled = add_wei(settled, now.b[i].settled_wei);
    }
    for (size_t i = 0; i < n_logs; i++)
        if (memcmp(logs[i].creator_key, c->key, 32) == 0)
            on_chain = add_wei(on_chain, logs[i].total_wei);
    CHECK_U256(settled, db_total);
    CHECK_U256(on_chain, db_total);
    struct u256 received;
    if (lfx_received_of(&received, &chain.rpc, &world.vault, c->key, chain_head(&chain)))
        CHECK_MSG(u256_cmp(&db_total, &received) <= 0, "creator %s settled more than received",
                  c->id);
}

/* Everything over all batches (see the top, 1); `run_creator`'s balances
 * are all settled. */
static void check_all(size_t run_creator)
{
    static struct batch_info batches[BATCHES_MAX];
    size_t n_logs = 0, n_batches = 0;
    bool more = false;
    struct err e = {0};
    if (!anchored_logs(&n_logs))
        return;
    for (size_t c = 0; c < CREATORS; c++) {
        struct balances sums = {.n = 0};
        struct u256 total = u256_zero();
        CHECK_INT(batch_list(batches, BATCHES_MAX, &n_batches, &more, &db, creators[c].id, 0, &e),
                  BATCH_OK);
        CHECK(!more);
        for (size_t i = 0; i < n_batches; i++) {
            check_batch_chain(&batches[i], n_logs);
            check_leaves(&batches[i], &sums);
            total = add_wei(total, batches[i].total_wei);
        }
        check_creator(&creators[c], &sums, total, n_logs);
    }
    CHECK_INT(count_of("SELECT count(*) FROM settlements"), n_logs); /* no unknown anchor */
    struct balances now;
    if (balances_of(&now, &creators[run_creator]))
        CHECK_MSG(!has_unsettled(&now), "creator %s still has unsettled revenue",
                  creators[run_creator].id);
    check_tx_rows_match();
    CHECK(lfx_check_invariants(&db));
    CHECK(lfx_check_received_all(&db, &chain.rpc, &world.vault, INDEXER_NAME_DEFAULT));
}

/* ---- tests ------------------------------------------------------------------------------- */

static void test_setup(void)
{
    static const char *const payees_c[2] = {"0x7000000000000000000000000000000000000007",
                                            "0x2000000000000000000000000000000000000002"};
    static const char *const payees_d[3] = {"0x4000000000000000000000000000000000000004",
                                            "0x6000000000000000000000000000000000000006",
                                            "0x1000000000000000000000000000000000000001"};
    static const unsigned bps_c[2] = {6000, 4000}, bps_d[3] = {5000, 3000, 2000};
    rng = harness_seed();
    if (!proc_make_dir(dir, sizeof dir, secret, sizeof secret, "batch_crash", SVC_LOG,
                       "first settlement program"))
        return;
    snprintf(key_file, sizeof key_file, "%s/operator.key", dir);
    if (!chain_write_key_file(key_file, &chain.key[ACCT_OPERATOR]) ||
        !pg_fixture_migrated_schema(&db, schema, sizeof schema) ||
        !rev_setup(&world, &db, harness_rand(&rng)) || !svc_start())
        return;
    creators[0] = (struct creator){.owner = ACCT_ADMIN};
    snprintf(creators[0].id, sizeof creators[0].id, "%s", creator_id);
    snprintf(creators[0].stream_id, sizeof creators[0].stream_id, "%s", stream_id);
    memcpy(creators[0].key, world.key_a, 32);
    ready = wait_for(sessions_seen, NULL, false, STEP_MS, "the program's sessions named") &&
            api_sign_in(&api, ACCT_ADMIN) && api_sign_in(&api, ACCT_OWNER_C) &&
            api_sign_in(&api, ACCT_OWNER_D) &&
            creator_make(&creators[1], ACCT_OWNER_C, "C", payees_c, bps_c, 2) &&
            creator_make(&creators[2], ACCT_OWNER_D, "D", payees_d, bps_d, 3);
}

/* One crash run (see the top, 1). */
static bool crash_run(int run)
{
    size_t c = (size_t)(harness_rand(&rng) % CREATORS);
    enum kill_kind kind = (enum kill_kind)(run % KILL_KINDS);
    struct balances before;
    char id[IDS_UUID_SIZE];
    if (!revenue_for(c) || !balances_of(&before, &creators[c]))
        return false;
    CHECK(has_unsettled(&before));
    int64_t seq = last_seq();
    settle_and_kill(id, c, kind);
    char found[IDS_UUID_SIZE];
    if (!wait_for(sessions_gone, NULL, false, POLL_MS, "the dead program's sessions ended") ||
        !batch_after(found, c, seq))
        return false;
    CHECK_MSG(id[0] == '\0' || strcmp(found, id) == 0, "the POST's batch %s is lost (found '%s')",
              id, found);
    landed_count[landed_of(found)]++;
    check_killed(found, c, &before);
    if (!svc_start())
        return false;
    if (found[0] == '\0') {
        struct balances now;
        if (!post_accepted(found, c) || !balances_of(&now, &creators[c]))
            return false;
        check_moved(found, &before, &now);
    }
    if (!wait_for(all_settled, NULL, true, STEP_MS, "every batch anchored")) {
        print_open();
        return false;
    }
    check_all(c);
    return true;
}

static void test_crash_runs(void)
{
    if (!ready) {
        CHECK_MSG(0, "no setup");
        return;
    }
    bool ok = true;
    for (int run = 0; run < KILL_RUNS && ok; run++)
        ok = crash_run(run);
    fprintf(stdout, "# %d kills (mean POST %" PRIu64 " ms):", KILL_RUNS,
            post_ms_sum / (post_count + !post_count));
    for (size_t i = 0; i < LANDED_COUNT; i++)
        fprintf(stdout, " %u %s", landed_count[i], landed_names[i]);
    fprintf(stdout, "\n");
    ready = ok;
}

/* C's settle transaction mined and its log seen pending: wait condition. */
static bool mined_and_seen(void *ctx)
{
    const uint8_t *key = ctx;
    char key_hex[HASH_HEX_SIZE];
    hex0x(key_hex, key);
    const char *params[1] = {key_hex};
    char n[24];
    query_text(n, sizeof n,
               "SELECT count(*) FROM chain_events WHERE event = 'SettlementAnchored'"
               " AND status = 'pending' AND args->>'batchKey' = $1",
               params, 1);
    return strcmp(n, "1") == 0;
}

static void test_reorg_resends(void)
{
    if (!ready) {
        CHECK_MSG(0, "no setup");
        return;
    }
    const size_t c = 1;
    char id[IDS_UUID_SIZE], found[IDS_UUID_SIZE], status[16];
    uint8_t hash[32], key[32], first_hash[32], block_hash[32], zero[32] = {0};
    uint64_t first_block = 0, block = 0, receipt_status = 0;
    int64_t seq = last_seq();
    if (!revenue_for(c) || !post_accepted(id, c))
        return;
    ids_key_of(key, id);
    if (!wait_for(tx_mined, id, false, POLL_MS, "settle mined") ||
        !wait_for(mined_and_seen, key, false, STEP_MS, "SettlementAnchored seen"))
        return;
    settle_tx(status, hash, id);
    CHECK_STR(status, "mined");
    CHECK(receipt_of(&first_block, first_hash, &receipt_status, hash));
    CHECK_INT(first_block, chain_head(&chain)); /* not confirmed: nothing on top */
    CHECK(rev_reorg(&world, 1, 2));
    CHECK(!receipt_of(&block, block_hash, &receipt_status, hash)); /* dropped */
    struct abi_value arg = abi_value_bytes32(key);
    struct abi_value root =
        view_one(&world.vault, ABI_TYPE_BYTES32, "settlementRoot(bytes32)", &arg, 1);
    CHECK_MEM(root.as.bytes32, zero, 32);
    if (!wait_for(all_settled, NULL, true, STEP_MS, "the batch anchored after the reorg")) {
        print_open();
        return;
    }
    CHECK(receipt_of(&block, block_hash, &receipt_status, hash)); /* the same bytes, again */
    CHECK(memcmp(block_hash, first_hash, 32) != 0);
    char purpose[BATCH_PURPOSE_SIZE], attempts[24];
    snprintf(purpose, sizeof purpose, "settle:%s", id);
    const char *params[1] = {purpose};
    query_text(attempts, sizeof attempts,
               "SELECT count(*) FROM chain_tx_attempts a JOIN chain_txs c ON c.id = a.tx_id"
               " WHERE c.purpose = $1",
               params, 1);
    CHECK_STR(attempts, "1");          /* nothing signed anew */
    CHECK(batch_after(found, c, seq)); /* no second batch */
    CHECK_STR(found, id);
    CHECK_INT(count_of("SELECT count(*) FROM chain_events WHERE event = 'SettlementAnchored'"
                       " AND status = 'orphaned'"),
              1);
    struct batch_info info;
    struct err e = {0};
    CHECK_INT(batch_get(&info, &db, id, &e), BATCH_OK);
    CHECK_MSG(info.has_block && info.block_number == block,
              "the batch names block %" PRIu64 ", its transaction is in block %" PRIu64
              " (the orphaned one: %" PRIu64 ")",
              info.block_number, block, first_block);
    check_all(c);
}

int main(void)
{
    char whole[CHAIN_SNAPSHOT_ID_MAX];
    if (!rev_main_open("test_batch_crash", whole))
        return 1;
    RUN(test_setup);
    RUN(test_crash_runs);
    RUN(test_reorg_resends);
    svc_kill();
    pg_fixture_drop_schema(&db, schema);
    rev_main_close(whole);
    return harness_finish();
}
