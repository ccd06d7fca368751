/*
 * test_indexer.c - the chain indexer (services/settlement/indexer.c) and
 * the service's worker that runs it (jobs.c, service.c) against the
 * runner's real PostgreSQL and anvil.
 *
 * Part 1, the indexer on its own, one scenario in steps that share state
 * (each step is one RUN): a vault (audit window and claim window set) and
 * two passes are deployed; creator A has a registered pass, a stream and two
 * split versions (the second effective from a later block); creator B's pass
 * is not registered. Fans mint both passes, tip A's stream and tip A with a
 * stream key A does not own. The indexer (CONFIRMATIONS 3) then shows the
 * recent events as pending and the older ones confirmed; after 3 more
 * blocks all are confirmed, every payee's balance equals the sum of
 * split_compute() over the events split by the version in force at their
 * block, unattributed revenue is credited to nobody, and per creator the
 * ledger's vault debits equal the vault's receivedOf(creatorKey).
 * chain_events: the decoding table equals the artifacts' ABIs; malformed
 * logs are refused and foreign topics kept raw; the vault's constructor
 * RoleGranted logs, a mint (Transfer + RevenueReceived + PassPurchased),
 * ERC-721 transfer/approvals, a royalty forwarded, a royalty held
 * (RoyaltyHeld) and flushed are decoded with their exact args; B's
 * unregistered pass has no rows. A pass registered after its deployment
 * and a mint is backfilled (its earlier logs, from passes.deploy_block or
 * from the start block) and its still-pending revenue attributed; one
 * registered after its revenue was posted keeps it unattributed (as
 * indexer.h documents). settle / cancelSettlement / claim / reclaim /
 * anchorRecording give SettlementAnchored, SettlementCancelled, Claimed,
 * SettlementReclaimed, RecordingAnchored with exact args, read back with
 * the query indexer.h documents for part 2. A second session cannot lead;
 * a second indexer from scratch over the same chain posts nothing new. A
 * shallow reorg (evm_snapshot, tip, revert, a different tip in a later
 * second) orphans the pending event in both tables; a reorg of confirmed
 * blocks halts the indexer with INDEXER_ERR_DEEP_REORG and leaves the
 * ledger and chain_events as they were. ledger_check_invariants() holds.
 *
 * Part 2, the worker in an in-process service (st_open/st_start, a fresh
 * database ix_svc_<pid>, CONFIRMATIONS 2, short intervals through s.tune):
 * service A leads and indexes a tip into the ledger, GET /v1/chain shows
 * the stored cursor, /healthz and /metrics show the leader; service B on
 * the same database stays on standby (health ok) while A holds the lock and
 * takes over after st_stop(A); a reorg of B's confirmed blocks halts B:
 * the error log line, /healthz degraded naming the halt, and
 * settlement_indexer_halted 1.
 *
 * Environment: DATABASE_URL and ETH_RPC_URL (tests/run.sh), TEST_TMPDIR,
 * run from the repository root. The whole program runs inside one
 * evm_snapshot that main() reverts at the end (anvil account 9 is never
 * touched). Waits for the service are bounded (WAIT_MS_MAX) and poll a
 * condition; nothing asserts a duration.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_client.h"
#include "clock.h"
#include "indexer.h"
#include "jobs.h"
#include "ledger.h"
#include "ledger_fixture.h"
#include "migrate.h"
#include "pg_fixture.h"
#include "service.h"
#include "split.h"
#include "vault_fixture.h"

#define CONFIRMATIONS 3
#define EVENTS_MAX 32
#define LOCK_KEY 7302999001LL
#define CLAIM_DELAY_S 1000
#define CLAIM_WINDOW_S 5000
#define ROYALTY_GAS 200000 /* enough for receive() to forward (FORWARD_GAS_MIN 100000) */
#define SVC_CONFIRMATIONS 2
#define SVC_DOMAIN "localhost:8080"
#define WAIT_MS_MAX 60000u
#define WAIT_STEP_MS 20u
#define VALUE_BYTES 1024

static const char creator_b_id[] = "7e1c2d3f-4a5b-4c6d-8e9f-0a1b2c3d4e5f";
static const char unknown_stream_id[] = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d";
static const char vault_events_in[] = "('SettlementAnchored', 'SettlementCancelled',"
                                      " 'SettlementReclaimed', 'Claimed', 'RecordingAnchored')";

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

static void hex_of(char *out, size_t cap, const uint8_t *data, size_t len)
{
    ASSERT(hex_encode(out, cap, data, len) == 0);
}

/* "0x" + 64 lowercase digits, as chain_events args write bytes32. */
static json_t *json_b32(const uint8_t b[32])
{
    char t[67];
    ASSERT(hex_encode_0x(t, sizeof t, b, 32) == 0);
    return json_string(t);
}

static json_t *json_addr(const struct address *a)
{
    char t[ADDRESS_TEXT_SIZE];
    address_format_lower(t, a);
    return json_string(t);
}

static json_t *json_dec(uint64_t v)
{
    char t[24];
    snprintf(t, sizeof t, "%" PRIu64, v);
    return json_string(t);
}

static bool exec_on(struct pg_session *pc, const char *sql, const char *const *params, int n)
{
    struct err e = {0};
    bool ok = pg_exec(pc, NULL, sql, params, n, &e) == PG_OK;
    CHECK_MSG(ok, "%s", e.msg);
    return ok;
}

static bool db_exec(const char *sql, const char *const *params, int n)
{
    return exec_on(&db, sql, params, n);
}

/* The single value of a query with parameters on `pc` ("<error>" on failure). */
static const char *value_on(struct pg_session *pc, const char *sql, const char *const *params,
                            int n)
{
    static char out[VALUE_BYTES];
    PGresult *res = NULL;
    struct err e = {0};
    snprintf(out, sizeof out, "<error>");
    if (pg_exec(pc, &res, sql, params, n, &e) != PG_OK)
        printf("# %s\n", e.msg);
    else if (PQntuples(res) == 1 && PQnfields(res) == 1)
        snprintf(out, sizeof out, "%s", PQgetisnull(res, 0, 0) ? "<null>" : PQgetvalue(res, 0, 0));
    PQclear(res);
    return out;
}

static const char *value(const char *sql)
{
    return value_on(&db, sql, NULL, 0);
}

/* The single value of `sql` whose $1 is the contract `a` (hex). */
static const char *value_for(const char *sql, const struct address *a)
{
    char hex[41];
    hex_of(hex, sizeof hex, a->bytes, 20);
    const char *params[1] = {hex};
    return value_on(&db, sql, params, 1);
}

static uint64_t count_of(const char *sql)
{
    return strtoull(value(sql), NULL, 10);
}

static void record(bool is_a, bool attributed, uint64_t amount_wei)
{
    ASSERT(sent_len < EVENTS_MAX);
    uint64_t b = chain_head(&chain);
    sent[sent_len++] =
        (struct sent_event){is_a, attributed, b >= v2_block && v2_block ? 2 : 1, amount_wei, b};
}

/* Sends and checks success; the transaction hash into tx (may be NULL). */
static bool send_ok(uint8_t tx[32], size_t from, const struct address *to, uint64_t value_wei,
                    const char *sig, const struct abi_value *args, size_t n)
{
    struct txsend_outcome o;
    enum txsend_result r = send_call(&o, from, to, value_wei, sig, args, n);
    CHECK_MSG(r == TXSEND_OK, "%s: result %d", sig, (int)r);
    if (r == TXSEND_OK && tx != NULL)
        memcpy(tx, o.receipt.transaction_hash, 32);
    txsend_outcome_release(&o);
    return r == TXSEND_OK;
}

static bool mint_tx(uint8_t tx[32], const struct address *pass, bool is_a, bool attributed)
{
    bool ok = send_ok(tx, ACCT_FAN, pass, PASS_PRICE_WEI, "mint()", NULL, 0);
    if (ok)
        record(is_a, attributed, PASS_PRICE_WEI);
    return ok;
}

static void mint(const struct address *pass, bool is_a, bool attributed)
{
    uint8_t tx[32];
    mint_tx(tx, pass, is_a, attributed);
}

static void tip(const char *stream, bool attributed, uint64_t amount_wei)
{
    CHECK(tip_creator(&vault, creator_id, stream, amount_wei));
    record(true, attributed, amount_wei);
}

/* The live chain_events row (tx, event) has exactly the args `want` (STOLEN). */
static void check_args(const uint8_t tx[32], const char *event, json_t *want)
{
    char txh[65];
    hex_of(txh, sizeof txh, tx, 32);
    char *w = json_dumps(want, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(want);
    const char *params[3] = {txh, event, w};
    const char *got =
        value_on(&db,
                 "SELECT count(*) || ':' || coalesce(bool_and(args = $3::jsonb), false)"
                 " || ':' || coalesce(string_agg(args::text, ' '), '') FROM"
                 " chain_events WHERE tx_hash = decode($1, 'hex') AND event = $2"
                 " AND status <> 'orphaned'",
                 params, 3);
    CHECK_MSG(strncmp(got, "1:true:", 7) == 0, "%s of tx %s: %s (want %s)", event, txh, got, w);
    free(w);
}

/* The events of tx in log order, "Event,Event,...". */
static const char *events_of(const uint8_t tx[32])
{
    char txh[65];
    hex_of(txh, sizeof txh, tx, 32);
    const char *params[1] = {txh};
    return value_on(&db,
                    "SELECT string_agg(event, ',' ORDER BY log_index) FROM chain_events"
                    " WHERE tx_hash = decode($1, 'hex') AND status <> 'orphaned'",
                    params, 1);
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

/* Registers `pass` to creator A, with its deploy block when deploy_block > 0. */
static bool register_pass(struct pg_session *pc, const struct address *pass, uint64_t deploy_block)
{
    char pa[41], db_text[24];
    hex_of(pa, sizeof pa, pass->bytes, 20);
    snprintf(db_text, sizeof db_text, "%" PRIu64, deploy_block);
    const char *params[3] = {creator_id, pa, deploy_block > 0 ? db_text : NULL};
    return exec_on(pc,
                   "INSERT INTO passes (contract, creator_id, name, symbol, price_wei, max_supply,"
                   " royalty_bps, deploy_block) VALUES (decode($2, 'hex'), $1, 'Pass', 'P',"
                   " 25000000000000007, 100, 500, $3::bigint)",
                   params, 3);
}

/* Creators A and B, A's pass (pass_a) and stream, A's split version 1
 * (50/30/20 from block 0), on `pc`. */
static bool seed_catalog(struct pg_session *pc)
{
    char ka[65], kb[65], sk[65], owner[41];
    uint8_t skey[32];
    chain_key_of(skey, stream_id);
    hex_of(ka, sizeof ka, key_a, 32);
    hex_of(kb, sizeof kb, key_b, 32);
    hex_of(sk, sizeof sk, skey, 32);
    hex_of(owner, sizeof owner, chain.addr[ACCT_ADMIN].bytes, 20);
    const char *c[5] = {creator_id, owner, ka, creator_b_id, kb};
    const char *s[4] = {stream_id, creator_id, sk, ka};
    char p[3][41];
    for (size_t i = 0; i < 3; i++) {
        struct address a = payee(i);
        hex_of(p[i], sizeof p[i], a.bytes, 20);
    }
    const char *v1[4] = {creator_id, p[0], p[1], p[2]};
    return exec_on(pc,
                   "INSERT INTO creators (id, owner, creator_key, name) VALUES"
                   " ($1, decode($2, 'hex'), decode($3, 'hex'), 'A'),"
                   " ($4, decode($2, 'hex'), decode($5, 'hex'), 'B')",
                   c, 5) &&
           register_pass(pc, &pass_a, 0) &&
           exec_on(pc,
                   "INSERT INTO streams (id, creator_id, stream_key, title, ingest_key_hash)"
                   " VALUES ($1, $2, decode($3, 'hex'), 'Live', decode($4, 'hex'))",
                   s, 4) &&
           exec_on(pc, "BEGIN", NULL, 0) &&
           exec_on(pc,
                   "INSERT INTO split_versions (creator_id, version, effective_from_block)"
                   " VALUES ($1, 1, 0)",
                   v1, 1) &&
           exec_on(pc,
                   "INSERT INTO split_shares (creator_id, version, payee, role, bps) VALUES"
                   " ($1, 1, decode($2, 'hex'), 'composer', 5000),"
                   " ($1, 1, decode($3, 'hex'), 'performer', 3000),"
                   " ($1, 1, decode($4, 'hex'), 'mixer', 2000)",
                   v1, 4) &&
           exec_on(pc, "COMMIT", NULL, 0);
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

/* payee(p)'s part of amount_wei under `version`. */
static struct u256 part_of(size_t p, int version, uint64_t amount_wei)
{
    size_t n = 0;
    const struct split_share *sh = version_shares(version, &n);
    struct u256 parts[3], amount = wei(amount_wei), sum = u256_zero();
    struct address want = payee(p);
    struct err e = {0};
    CHECK_MSG(split_compute(parts, sh, n, &amount, &e) == SPLIT_OK, "%s", e.msg);
    for (size_t j = 0; j < n; j++)
        if (address_eq(&sh[j].payee, &want))
            sum = add_wei(sum, parts[j]);
    return sum;
}

/* Expected unsettled balance of payee(p) in A's books over sent events with
 * block <= upto. */
static struct u256 expected_payee(size_t p, uint64_t upto)
{
    struct u256 sum = u256_zero();
    for (size_t i = 0; i < sent_len; i++)
        if (sent[i].is_a && sent[i].attributed && sent[i].block <= upto)
            sum = add_wei(sum, part_of(p, sent[i].version, sent[i].amount_wei));
    return sum;
}

static struct u256 payee_balance(struct pg_session *pc, const uint8_t key[32], size_t p)
{
    struct ledger_payee_balance b[8];
    size_t n = 0;
    struct err e = {0};
    struct address want = payee(p);
    CHECK_MSG(ledger_payee_balances(b, 8, &n, pc, key, &e) == LEDGER_OK, "%s", e.msg);
    for (size_t i = 0; i < n; i++)
        if (address_eq(&b[i].payee, &want))
            return b[i].unsettled_wei;
    return u256_zero();
}

static void check_balances(uint64_t upto)
{
    for (size_t p = 0; p < 4; p++)
        CHECK_U256(payee_balance(&db, key_a, p), expected_payee(p, upto));
    struct ledger_payee_balance b[8];
    size_t n = 0;
    struct err e = {0};
    CHECK_MSG(ledger_payee_balances(b, 8, &n, &db, key_b, &e) == LEDGER_OK, "%s", e.msg);
    CHECK_INT(n, 0); /* B's revenue is unattributed: no payee of B */
}

static uint64_t unattributed_sent(void)
{
    uint64_t sum = 0;
    for (size_t i = 0; i < sent_len; i++)
        if (!sent[i].attributed)
            sum += sent[i].amount_wei;
    return sum;
}

/* ---- part 1: the indexer ------------------------------------------------------------ */

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
    if (!deploy_vault_with(&vault, CLAIM_DELAY_S, CLAIM_WINDOW_S))
        return;
    if (!deploy_pass(&pass_a, &vault, key_a, 100, 500) ||
        !deploy_pass(&pass_b, &vault, key_b, 100, 500) || !seed_catalog(&db))
        return;
    mint(&pass_a, true, true);          /* A's registered pass */
    tip(stream_id, true, 1000003);      /* A's stream */
    tip(unknown_stream_id, false, 777); /* not A's stream: unattributed */
    mint(&pass_b, false, false);        /* B's pass is not registered: unattributed */
    v2_block = chain_head(&chain) + 1;
    char vb[24], p0[41], p3[41];
    struct address a0 = payee(0), a3 = payee(3);
    hex_of(p0, sizeof p0, a0.bytes, 20);
    hex_of(p3, sizeof p3, a3.bytes, 20);
    snprintf(vb, sizeof vb, "%" PRIu64, v2_block);
    const char *v2[3] = {creator_id, p0, p3};
    const char *v2b[2] = {creator_id, vb};
    bool ok = db_exec("BEGIN", NULL, 0) &&
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
    CHECK_INT(lfx_poll_to_head(&ix, &rep), INDEXER_OK);
    uint64_t h = chain_head(&chain);
    uint64_t confirmed = 0;
    for (size_t i = 0; i < sent_len; i++)
        confirmed += sent[i].block + CONFIRMATIONS <= h;
    CHECK_INT(rep.events_seen, sent_len);
    CHECK_INT(rep.events_confirmed, confirmed);
    CHECK(confirmed > 0 && confirmed < sent_len);
    CHECK_INT(rep.contracts_added, 1); /* pass_a, followed from the start block: no backfill */
    CHECK_INT(rep.backfilled_logs, 0);
    CHECK_INT(count_of("SELECT count(*) FROM revenue_events WHERE status = 'pending'"),
              sent_len - confirmed);
    CHECK_INT(count_of("SELECT count(*) FROM revenue_events WHERE status = 'pending'"
                       " AND ledger_entry_id IS NULL"),
              sent_len - confirmed);
    CHECK_INT(count_of("SELECT count(*) FROM ledger_entries"), confirmed);
    check_balances(h - CONFIRMATIONS);
    /* every revenue event is also a chain event of the vault, in the same state */
    CHECK_STR(value("SELECT count(*) FROM revenue_events r JOIN chain_events c USING"
                    " (chain_id, tx_hash, log_index) WHERE r.status = c.status"
                    " AND c.event = CASE r.event WHEN 'tipped' THEN 'Tipped'"
                    " ELSE 'RevenueReceived' END"),
              value("SELECT count(*) FROM revenue_events"));
    CHECK_STR(value("SELECT count(*) FROM chain_events c JOIN indexer_cursor u ON"
                    " c.block_number <= u.confirmed_through WHERE c.status <> 'confirmed'"),
              "0");
    /* a poll without new blocks changes nothing */
    CHECK_INT(lfx_poll_to_head(&ix, &rep), INDEXER_OK);
    CHECK_INT(rep.events_seen + rep.events_confirmed + rep.chain_events_seen, 0);
    chain_mine(&chain, CONFIRMATIONS);
    CHECK_INT(lfx_poll_to_head(&ix, &rep), INDEXER_OK);
    CHECK_INT(rep.events_confirmed, sent_len - confirmed);
    CHECK_INT(rep.entries_posted, sent_len - confirmed);
    CHECK_STR(value("SELECT count(*) FROM revenue_events WHERE status <> 'confirmed'"), "0");
    CHECK_STR(value("SELECT count(*) FROM chain_events WHERE status <> 'confirmed'"), "0");
    check_balances(chain_head(&chain));
    CHECK(lfx_check_received(&db, &chain.rpc, &vault, key_a, chain_head(&chain)));
    CHECK(lfx_check_received(&db, &chain.rpc, &vault, key_b, chain_head(&chain)));
    char want[32];
    snprintf(want, sizeof want, "%" PRIu64, unattributed_sent());
    CHECK_STR(value("SELECT sum(amount_wei)::text FROM ledger_postings"
                    " WHERE account = 'unattributed' AND side = 'credit'"),
              want);
    CHECK_STR(value("SELECT string_agg(attribution || ':' || coalesce(split_version::text, '-'),"
                    " ',' ORDER BY block_number, log_index) FROM revenue_events"),
              "creator:1,creator:1,unattributed:-,unattributed:-,creator:2,creator:2,creator:2");
}

/* The decoding table lists exactly the events of the two artifacts' ABIs,
 * with the same parameter names, types (signature) and indexed flags. */
static void check_table_against(const char *artifact, enum indexer_contract contract)
{
    json_error_t je;
    json_t *root = json_load_file(artifact, 0, &je);
    json_t *abi = json_object_get(root, "abi");
    CHECK_MSG(json_is_array(abi), "%s: %s", artifact, je.text);
    size_t in_abi = 0, in_table = 0;
    for (size_t i = 0; i < INDEXER_EVENTS_COUNT; i++) {
        struct indexer_event_info info;
        indexer_event_info(&info, i);
        in_table += info.contract == contract;
    }
    for (size_t i = 0; i < json_array_size(abi); i++) {
        json_t *item = json_array_get(abi, i), *inputs = json_object_get(item, "inputs");
        if (strcmp(api_str_at(item, "type") != NULL ? api_str_at(item, "type") : "", "event"))
            continue;
        in_abi++;
        char sig[INDEXER_SIGNATURE_BYTES_MAX + 1];
        size_t n = (size_t)snprintf(sig, sizeof sig, "%s(", api_str_at(item, "name"));
        for (size_t k = 0; k < json_array_size(inputs) && n < sizeof sig; k++)
            n += (size_t)snprintf(sig + n, sizeof sig - n, "%s%s", k ? "," : "",
                                  api_str_at(json_array_get(inputs, k), "type"));
        if (n < sizeof sig - 1)
            snprintf(sig + n, sizeof sig - n, ")");
        bool found = false;
        for (size_t t = 0; t < INDEXER_EVENTS_COUNT && !found; t++) {
            struct indexer_event_info info;
            indexer_event_info(&info, t);
            if (info.contract != contract || strcmp(info.signature, sig) != 0)
                continue;
            found = info.params_len == json_array_size(inputs);
            for (size_t k = 0; found && k < info.params_len; k++) {
                json_t *in = json_array_get(inputs, k);
                found = strcmp(info.param_names[k], api_str_at(in, "name")) == 0 &&
                        info.param_indexed[k] == json_is_true(json_object_get(in, "indexed"));
            }
        }
        CHECK_MSG(found, "%s: event %s not in the indexer's table as in the ABI", artifact, sig);
    }
    CHECK_INT(in_table, in_abi);
    json_decref(root);
}

static void test_event_table_matches_artifacts(void)
{
    check_table_against(VAULT_ARTIFACT, INDEXER_CONTRACT_VAULT);
    check_table_against(PASS_ARTIFACT, INDEXER_CONTRACT_PASS);
}

/* A log of a known event that does not decode exactly is refused; a
 * foreign topic 0 is kept raw as 'Unknown'. */
static void test_decode_rejects_malformed(void)
{
    uint8_t topic[32], data[64];
    struct follow_log log;
    struct indexer_decoded d;
    struct err e = {0};
    memset(&log, 0, sizeof log);
    memset(data, 0, sizeof data);
    abi_event_topic(topic, "RoyaltyHeld(address,uint256)");
    memcpy(log.topics[0], topic, 32);
    log.topics[1][31] = 0x42; /* from = 0x...42 */
    log.topics_len = 2;
    data[31] = 9;
    log.data = data;
    log.data_len = 32;
    CHECK_INT(indexer_decode_log(&d, INDEXER_CONTRACT_PASS, &log, &e), INDEXER_OK);
    char *text = json_dumps(d.args, JSON_COMPACT | JSON_SORT_KEYS);
    CHECK_STR(text, "{\"amount\":\"9\",\"from\":\"0x0000000000000000000000000000000000000042\"}");
    CHECK_STR(d.name, "RoyaltyHeld");
    free(text);
    json_decref(d.args);
    log.topics[1][0] = 1; /* an address word with a non-zero pad */
    CHECK_INT(indexer_decode_log(&d, INDEXER_CONTRACT_PASS, &log, &e), INDEXER_ERR_BAD_LOG);
    CHECK(strstr(e.msg, "undecodable RoyaltyHeld log") != NULL);
    log.topics[1][0] = 0;
    log.data_len = 64; /* one data word too many */
    CHECK_INT(indexer_decode_log(&d, INDEXER_CONTRACT_PASS, &log, &e), INDEXER_ERR_BAD_LOG);
    log.data_len = 32;
    log.topics_len = 3; /* one topic too many */
    CHECK_INT(indexer_decode_log(&d, INDEXER_CONTRACT_PASS, &log, &e), INDEXER_ERR_BAD_LOG);
    log.topics_len = 2;
    /* a pass event emitted by the vault is none of the vault's events */
    CHECK_INT(indexer_decode_log(&d, INDEXER_CONTRACT_VAULT, &log, &e), INDEXER_OK);
    CHECK_STR(d.name, "Unknown");
    CHECK(!d.known);
    CHECK_INT(json_array_size(json_object_get(d.args, "topics")), 2);
    CHECK_STR(api_str_at(d.args, "data"),
              "0x0000000000000000000000000000000000000000000000000000000000000009");
    json_decref(d.args);
    /* bool above 1, uint64 above 2^64 */
    abi_event_topic(topic, "ApprovalForAll(address,address,bool)");
    memcpy(log.topics[0], topic, 32);
    log.topics_len = 3;
    data[31] = 2;
    CHECK_INT(indexer_decode_log(&d, INDEXER_CONTRACT_PASS, &log, &e), INDEXER_ERR_BAD_LOG);
    data[31] = 1;
    CHECK_INT(indexer_decode_log(&d, INDEXER_CONTRACT_PASS, &log, &e), INDEXER_OK);
    CHECK(json_is_true(json_object_get(d.args, "approved")));
    json_decref(d.args);
    abi_event_topic(topic, "SettlementAnchored(bytes32,bytes32,bytes32,uint256,uint64)");
    memcpy(log.topics[0], topic, 32);
    uint8_t words[96];
    memset(words, 0, sizeof words);
    words[64 + 23] = 1; /* claimableAt = 2^64 */
    log.data = words;
    log.data_len = 96;
    CHECK_INT(indexer_decode_log(&d, INDEXER_CONTRACT_VAULT, &log, &e), INDEXER_ERR_BAD_LOG);
    words[64 + 23] = 0;
    words[95] = 7;
    CHECK_INT(indexer_decode_log(&d, INDEXER_CONTRACT_VAULT, &log, &e), INDEXER_OK);
    CHECK_STR(api_str_at(d.args, "claimableAt"), "7");
    json_decref(d.args);
}

/* The vault's constructor roles and B's unregistered pass. */
static void test_vault_roles_and_unregistered_pass(void)
{
    uint8_t op[32], guard[32];
    operator_role(op);
    guardian_role(guard);
    char v[41], ro[67], ra[43];
    hex_of(v, sizeof v, vault.bytes, 20);
    ASSERT(hex_encode_0x(ro, sizeof ro, op, 32) == 0);
    address_format_lower(ra, &chain.addr[ACCT_OPERATOR]);
    const char *params[3] = {v, ro, ra};
    CHECK_STR(value_on(&db,
                       "SELECT count(*) FROM chain_events WHERE contract = decode($1, 'hex')"
                       " AND event = 'RoleGranted' AND status = 'confirmed'",
                       params, 1),
              "3"); /* admin, guardian, operator */
    CHECK_STR(value_on(&db,
                       "SELECT count(*) FROM chain_events WHERE contract = decode($1, 'hex')"
                       " AND event = 'RoleGranted' AND args->>'role' = $2"
                       " AND args->>'account' = $3",
                       params, 3),
              "1");
    CHECK_STR(
        value_for("SELECT count(*) FROM chain_events WHERE contract = decode($1, 'hex')", &pass_b),
        "0");
    CHECK_STR(value_for("SELECT string_agg(event, ',' ORDER BY block_number, log_index)"
                        " FROM chain_events WHERE contract = decode($1, 'hex')",
                        &pass_a),
              "OwnershipTransferred,Transfer,PassPurchased,Transfer,PassPurchased");
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
    char chain_before[PG_FIXTURE_VALUE_BYTES];
    snprintf(chain_before, sizeof chain_before, "%s",
             value("SELECT count(*) || '/' || md5(string_agg(event || args::text, ','"
                   " ORDER BY block_number, log_index)) FROM chain_events"));
    CHECK(db_exec("DELETE FROM revenue_events", NULL, 0) &&
          db_exec("DELETE FROM chain_events", NULL, 0) &&
          db_exec("DELETE FROM indexer_blocks", NULL, 0) &&
          db_exec("DELETE FROM indexer_cursor", NULL, 0)); /* indexer_contracts: cascade */
    CHECK_STR(value("SELECT count(*) FROM indexer_contracts"), "0");
    char saved[PG_FIXTURE_VALUE_BYTES];
    snprintf(saved, sizeof saved, "%s",
             value("SELECT count(*) || '/' || sum(amount_wei) FROM ledger_postings"));
    if (!indexer_start(&ix, &db, LOCK_KEY))
        return;
    ix_live = true;
    struct indexer_poll_report rep;
    CHECK_INT(lfx_poll_to_head(&ix, &rep), INDEXER_OK);
    CHECK_INT(rep.events_seen, sent_len);
    CHECK_INT(rep.entries_posted, 0);
    CHECK_INT(rep.entries_replayed, sent_len);
    CHECK_STR(value("SELECT count(*) || '/' || sum(amount_wei) FROM ledger_postings"), saved);
    CHECK_STR(value("SELECT count(*) || '/' || md5(string_agg(event || args::text, ','"
                    " ORDER BY block_number, log_index)) FROM chain_events"),
              chain_before);
    struct ledger_check_report cr;
    struct err e = {0};
    CHECK_MSG(ledger_check_invariants(&cr, &db, &e) == LEDGER_OK, "%s", e.msg);
    check_balances(chain_head(&chain));
}

/* A pass's own events, decoded with exact args: a mint, ERC-721 transfer
 * and approvals, a royalty forwarded, a royalty held and flushed. */
static void test_pass_events(void)
{
    uint8_t mint_h[32], xfer_h[32], appr_h[32], all_h[32], fwd_h[32], held_h[32], flush_h[32];
    struct address *fan = &chain.addr[ACCT_FAN], *relayer = &chain.addr[ACCT_RELAYER];
    if (!mint_tx(mint_h, &pass_a, true, true))
        return;
    uint64_t token = view_u256_noargs(&pass_a, "totalMinted()").limb[0];
    struct u256 tok = wei(token);
    struct abi_value xfer_args[3] = {abi_value_address(fan), abi_value_address(relayer),
                                     abi_value_uint256(&tok)};
    struct abi_value appr_args[2] = {abi_value_address(fan), abi_value_uint256(&tok)};
    struct abi_value all_args[2] = {abi_value_address(&chain.addr[ACCT_OPERATOR]),
                                    abi_value_bool(true)};
    struct u256 fwd = wei(3 * FINNEY_WEI + 5), held = wei(2 * FINNEY_WEI + 3);
    struct txsend_outcome o;
    struct err e = {0};
    bool ok =
        send_ok(xfer_h, ACCT_FAN, &pass_a, 0, "transferFrom(address,address,uint256)", xfer_args,
                3) &&
        send_ok(appr_h, ACCT_RELAYER, &pass_a, 0, "approve(address,uint256)", appr_args, 2) &&
        send_ok(all_h, ACCT_RELAYER, &pass_a, 0, "setApprovalForAll(address,bool)", all_args, 2);
    CHECK(ok);
    enum txsend_result r = chain_send(&o, &chain, ACCT_RELAYER, &pass_a, &fwd, NULL, 0, ROYALTY_GAS,
                                      &e); /* enough gas: forwarded */
    CHECK_MSG(r == TXSEND_OK, "royalty: %s", e.msg);
    memcpy(fwd_h, o.receipt.transaction_hash, 32);
    txsend_outcome_release(&o);
    record(true, true, fwd.limb[0]);
    r = chain_send(&o, &chain, ACCT_RELAYER, &pass_a, &held, NULL, 0, 0, &e); /* estimated: held */
    CHECK_MSG(r == TXSEND_OK, "royalty: %s", e.msg);
    memcpy(held_h, o.receipt.transaction_hash, 32);
    txsend_outcome_release(&o);
    CHECK(send_ok(flush_h, ACCT_FAN, &pass_a, 0, "flush()", NULL, 0));
    record(true, true, held.limb[0]);
    struct indexer_poll_report rep;
    CHECK_INT(lfx_poll_to_head(&ix, &rep), INDEXER_OK);
    CHECK_INT(rep.chain_events_seen, 3 + 1 + 1 + 1 + 1 + 1 + 1);
    CHECK_INT(rep.events_seen, 3);        /* mint, forwarded royalty, flush */
    uint64_t posted = rep.entries_posted; /* the mint may have 3 blocks on top already */
    CHECK_STR(events_of(mint_h), "Transfer,RevenueReceived,PassPurchased");
    struct address zero = {{0}};
    check_args(mint_h, "Transfer",
               json_pack("{s:o, s:o, s:o}", "from", json_addr(&zero), "to", json_addr(fan),
                         "tokenId", json_dec(token)));
    check_args(mint_h, "PassPurchased",
               json_pack("{s:o, s:o, s:o}", "buyer", json_addr(fan), "tokenId", json_dec(token),
                         "price", json_dec(PASS_PRICE_WEI)));
    check_args(mint_h, "RevenueReceived",
               json_pack("{s:o, s:o, s:s, s:o, s:o}", "creatorKey", json_b32(key_a), "source",
                         json_addr(&pass_a), "kind", "1", "payer", json_addr(fan), "amount",
                         json_dec(PASS_PRICE_WEI)));
    CHECK_STR(events_of(xfer_h), "Transfer");
    check_args(xfer_h, "Transfer",
               json_pack("{s:o, s:o, s:o}", "from", json_addr(fan), "to", json_addr(relayer),
                         "tokenId", json_dec(token)));
    check_args(appr_h, "Approval",
               json_pack("{s:o, s:o, s:o}", "owner", json_addr(relayer), "approved", json_addr(fan),
                         "tokenId", json_dec(token)));
    check_args(all_h, "ApprovalForAll",
               json_pack("{s:o, s:o, s:b}", "owner", json_addr(relayer), "operator",
                         json_addr(&chain.addr[ACCT_OPERATOR]), "approved", 1));
    CHECK_STR(events_of(fwd_h), "RevenueReceived");
    check_args(fwd_h, "RevenueReceived",
               json_pack("{s:o, s:o, s:s, s:o, s:o}", "creatorKey", json_b32(key_a), "source",
                         json_addr(&pass_a), "kind", "2", "payer", json_addr(relayer), "amount",
                         json_dec(fwd.limb[0])));
    CHECK_STR(events_of(held_h), "RoyaltyHeld");
    check_args(
        held_h, "RoyaltyHeld",
        json_pack("{s:o, s:o}", "from", json_addr(relayer), "amount", json_dec(held.limb[0])));
    check_args(flush_h, "RevenueReceived",
               json_pack("{s:o, s:o, s:s, s:o, s:o}", "creatorKey", json_b32(key_a), "source",
                         json_addr(&pass_a), "kind", "2", "payer", json_addr(&pass_a), "amount",
                         json_dec(held.limb[0])));
    chain_mine(&chain, CONFIRMATIONS);
    CHECK_INT(lfx_poll_to_head(&ix, &rep), INDEXER_OK);
    CHECK_INT(posted + rep.entries_posted, 3);
    CHECK_STR(value("SELECT count(*) FROM chain_events WHERE status <> 'confirmed'"), "0");
    CHECK_STR(value("SELECT count(*) FROM revenue_events WHERE attribution = 'creator'"
                    " AND kind = 2 AND status = 'confirmed'"),
              "2");
    check_balances(chain_head(&chain));
    CHECK(lfx_check_received(&db, &chain.rpc, &vault, key_a, chain_head(&chain)));
}

/* A pass registered after its deployment and a mint: its earlier logs are
 * backfilled and its revenue, still pending, counts for the creator. One
 * registered after its revenue was posted is backfilled too, but that
 * revenue stays unattributed (indexer.h: posting is final). */
static void test_late_registration(void)
{
    struct address pass_c, pass_d;
    uint8_t mint_c[32], mint_d[32];
    if (!deploy_pass(&pass_c, &vault, key_a, 100, 500))
        return;
    uint64_t c_block = chain_head(&chain);
    if (!mint_tx(mint_c, &pass_c, true, true))
        return;
    struct indexer_poll_report rep;
    CHECK_INT(lfx_poll_to_head(&ix, &rep), INDEXER_OK);
    CHECK_INT(rep.events_seen, 1);
    CHECK_STR(events_of(mint_c), "RevenueReceived"); /* the vault's log only */
    CHECK_STR(value("SELECT attribution || ':' || status FROM revenue_events"
                    " ORDER BY id DESC LIMIT 1"),
              "unattributed:pending");
    CHECK(register_pass(&db, &pass_c, c_block));
    CHECK_INT(lfx_poll_to_head(&ix, &rep), INDEXER_OK);
    CHECK_INT(rep.contracts_added, 1);
    CHECK_INT(rep.backfilled_logs, 3); /* OwnershipTransferred; Transfer, PassPurchased */
    CHECK_STR(events_of(mint_c), "Transfer,RevenueReceived,PassPurchased");
    CHECK_STR(value_for("SELECT followed_from - backfill_next FROM indexer_contracts"
                        " WHERE contract = decode($1, 'hex')",
                        &pass_c),
              "0");
    chain_mine(&chain, CONFIRMATIONS);
    CHECK_INT(lfx_poll_to_head(&ix, &rep), INDEXER_OK);
    CHECK_INT(rep.events_reattributed, 1);
    CHECK_INT(rep.entries_posted, 1);
    CHECK_STR(value("SELECT attribution || ':' || status || ':' || split_version"
                    " FROM revenue_events ORDER BY id DESC LIMIT 1"),
              "creator:confirmed:2");
    check_balances(chain_head(&chain));

    /* D: registered after its revenue was posted, without a deploy block */
    if (!deploy_pass(&pass_d, &vault, key_a, 100, 500) || !mint_tx(mint_d, &pass_d, true, false))
        return;
    chain_mine(&chain, CONFIRMATIONS);
    CHECK_INT(lfx_poll_to_head(&ix, &rep), INDEXER_OK);
    CHECK_INT(rep.entries_posted, 1);
    CHECK(register_pass(&db, &pass_d, 0));
    CHECK_INT(lfx_poll_to_head(&ix, &rep), INDEXER_OK);
    CHECK_INT(rep.contracts_added, 1);
    CHECK_INT(rep.backfilled_logs, 3); /* from the start block (0) */
    CHECK_INT(rep.events_reattributed + rep.entries_posted, 0);
    CHECK_STR(events_of(mint_d), "Transfer,RevenueReceived,PassPurchased");
    CHECK_STR(value_for("SELECT string_agg(status, ',') FROM chain_events"
                        " WHERE contract = decode($1, 'hex')",
                        &pass_d),
              "confirmed,confirmed,confirmed"); /* below confirmed_through: final at once */
    CHECK_STR(value("SELECT attribution || ':' || status FROM revenue_events"
                    " ORDER BY id DESC LIMIT 1"),
              "unattributed:confirmed");
    check_balances(chain_head(&chain));
    CHECK(lfx_check_received(&db, &chain.rpc, &vault, key_a, chain_head(&chain)));
}

/* A reorg inside the confirmation window orphans the pending event in both
 * tables; the replacement is indexed instead. */
static void test_shallow_reorg(void)
{
    char snap[CHAIN_SNAPSHOT_ID_MAX];
    chain_snapshot(&chain, snap);
    size_t len_before = sent_len;
    uint64_t entries = count_of("SELECT count(*) FROM ledger_entries");
    tip(stream_id, true, 424242);
    struct indexer_poll_report rep;
    CHECK_INT(lfx_poll_to_head(&ix, &rep), INDEXER_OK);
    CHECK_INT(rep.events_seen, 1);
    CHECK_INT(rep.chain_events_seen, 1);
    CHECK_INT(rep.events_confirmed, 0);
    CHECK_STR(value("SELECT amount_wei::text FROM revenue_events WHERE status = 'pending'"),
              "424242");
    chain_revert(&chain, snap);
    sent_len = len_before;
    CHECK(chain_advance_time(7)); /* a different block, not the same one re-mined */
    tip(stream_id, true, 5005);
    CHECK_INT(lfx_poll_to_head(&ix, &rep), INDEXER_OK);
    CHECK_INT(rep.reorgs, 1);
    CHECK_INT(rep.events_orphaned, 1);
    CHECK_INT(rep.chain_events_orphaned, 1);
    CHECK_INT(rep.events_seen, 1);
    CHECK_STR(value("SELECT string_agg(status || ':' || amount_wei, ',' ORDER BY id)"
                    " FROM revenue_events WHERE amount_wei IN (424242, 5005)"),
              "orphaned:424242,pending:5005");
    CHECK_STR(value("SELECT string_agg(status || ':' || (args->>'amount'), ',' ORDER BY id)"
                    " FROM chain_events WHERE event = 'Tipped'"
                    " AND args->>'amount' IN ('424242', '5005')"),
              "orphaned:424242,pending:5005");
    chain_mine(&chain, CONFIRMATIONS);
    CHECK_INT(lfx_poll_to_head(&ix, &rep), INDEXER_OK);
    CHECK_INT(rep.entries_posted, 1);
    CHECK_STR(value("SELECT string_agg(status || ':' || (args->>'amount'), ',' ORDER BY id)"
                    " FROM chain_events WHERE event = 'Tipped'"
                    " AND args->>'amount' IN ('424242', '5005')"),
              "orphaned:424242,confirmed:5005");
    CHECK_INT(count_of("SELECT count(*) FROM ledger_entries"), entries + 1);
    check_balances(chain_head(&chain));
    CHECK(lfx_check_received(&db, &chain.rpc, &vault, key_a, chain_head(&chain)));
    CHECK(lfx_check_received(&db, &chain.rpc, &vault, key_b, chain_head(&chain)));
}

/* settle, cancelSettlement, settle, claim, reclaim, anchorRecording: the
 * part-2 events, read back with the query of indexer.h. */
static void test_vault_settlement_events(void)
{
    struct payout p[2] = {{payee(0), wei(1000)}, {payee(1), wei(2000)}};
    struct merkle_tree t;
    uint8_t root[32], b1[32], b2[32], rec_root[32], skey[32];
    uint8_t h_settle1[32], h_cancel[32], h_settle2[32], h_claim[32], h_reclaim[32], h_anchor[32];
    if (!tree_build(&t, root, p, 2))
        return;
    chain_key_of(b1, "batch-one");
    chain_key_of(b2, "batch-two");
    chain_key_of(rec_root, "recording root");
    chain_key_of(skey, stream_id);
    struct u256 total = payouts_total(p, 2);
    uint64_t from_block = chain_head(&chain);
    struct txsend_outcome o;
    CHECK_INT(send_settle_for(&o, ACCT_OPERATOR, &vault, b1, key_a, root, &total), TXSEND_OK);
    memcpy(h_settle1, o.receipt.transaction_hash, 32);
    txsend_outcome_release(&o);
    uint64_t claimable1 = chain_now() + CLAIM_DELAY_S;
    struct abi_value k1 = abi_value_bytes32(b1), k2 = abi_value_bytes32(b2);
    CHECK(send_ok(h_cancel, ACCT_GUARDIAN, &vault, 0, "cancelSettlement(bytes32)", &k1, 1));
    CHECK_INT(send_settle_for(&o, ACCT_OPERATOR, &vault, b2, key_a, root, &total), TXSEND_OK);
    memcpy(h_settle2, o.receipt.transaction_hash, 32);
    txsend_outcome_release(&o);
    uint64_t claimable2 = chain_now() + CLAIM_DELAY_S;
    CHECK(chain_advance_time(CLAIM_DELAY_S + 1));
    uint8_t proof[MERKLE_PROOF_MAX][MERKLE_HASH_BYTES];
    size_t proof_len = 0;
    CHECK(tree_proof(proof, &proof_len, &t, &p[0]));
    CHECK_INT(send_claim(&o, ACCT_RELAYER, &vault, b2, &p[0].account, &p[0].amount_wei,
                         (const uint8_t(*)[32])proof, proof_len),
              TXSEND_OK);
    memcpy(h_claim, o.receipt.transaction_hash, 32);
    txsend_outcome_release(&o);
    CHECK(chain_advance_time(CLAIM_WINDOW_S + 1));
    CHECK(send_ok(h_reclaim, ACCT_OPERATOR, &vault, 0, "reclaim(bytes32)", &k2, 1));
    struct u256 seven = wei(7);
    struct abi_value anchor_args[3] = {abi_value_bytes32(skey), abi_value_bytes32(rec_root),
                                       abi_value_uint256(&seven)};
    CHECK(send_ok(h_anchor, ACCT_OPERATOR, &vault, 0, "anchorRecording(bytes32,bytes32,uint256)",
                  anchor_args, 3));
    merkle_tree_release(&t);
    struct indexer_poll_report rep;
    CHECK_INT(lfx_poll_to_head(&ix, &rep), INDEXER_OK);
    CHECK_INT(rep.chain_events_seen, 6);
    CHECK_INT(rep.events_seen, 0);
    check_args(h_settle1, "SettlementAnchored",
               json_pack("{s:o, s:o, s:o, s:s, s:o}", "batchKey", json_b32(b1), "creatorKey",
                         json_b32(key_a), "root", json_b32(root), "total", "3000", "claimableAt",
                         json_dec(claimable1)));
    check_args(h_cancel, "SettlementCancelled",
               json_pack("{s:o, s:o, s:s}", "batchKey", json_b32(b1), "creatorKey", json_b32(key_a),
                         "total", "3000"));
    check_args(h_settle2, "SettlementAnchored",
               json_pack("{s:o, s:o, s:o, s:s, s:o}", "batchKey", json_b32(b2), "creatorKey",
                         json_b32(key_a), "root", json_b32(root), "total", "3000", "claimableAt",
                         json_dec(claimable2)));
    check_args(h_claim, "Claimed",
               json_pack("{s:o, s:o, s:s}", "batchKey", json_b32(b2), "account",
                         json_addr(&p[0].account), "amount", "1000"));
    check_args(h_reclaim, "SettlementReclaimed",
               json_pack("{s:o, s:o, s:s}", "batchKey", json_b32(b2), "creatorKey", json_b32(key_a),
                         "amount", "2000"));
    check_args(h_anchor, "RecordingAnchored",
               json_pack("{s:o, s:o, s:s}", "streamKey", json_b32(skey), "root", json_b32(rec_root),
                         "segmentCount", "7"));
    /* part 2's read (indexer.h): what has CONFIRMATIONS blocks on top (the
     * time moves mined a block each), then everything */
    char v[41], fb[24], sql[600];
    hex_of(v, sizeof v, vault.bytes, 20);
    snprintf(fb, sizeof fb, "%" PRIu64, from_block);
    snprintf(sql, sizeof sql,
             "SELECT coalesce(string_agg(event, ',' ORDER BY block_number, log_index), '-')"
             " FROM chain_events WHERE chain_id = 31337 AND contract = decode($1, 'hex')"
             " AND status = 'confirmed' AND event IN %s AND block_number > $2::bigint",
             vault_events_in);
    const char *params[2] = {v, fb};
    CHECK_INT(rep.chain_events_confirmed, 4);
    CHECK_STR(value_on(&db, sql, params, 2),
              "SettlementAnchored,SettlementCancelled,SettlementAnchored,Claimed");
    chain_mine(&chain, CONFIRMATIONS);
    CHECK_INT(lfx_poll_to_head(&ix, &rep), INDEXER_OK);
    CHECK_INT(rep.chain_events_confirmed, 2);
    CHECK_STR(value_on(&db, sql, params, 2),
              "SettlementAnchored,SettlementCancelled,SettlementAnchored,Claimed,"
              "SettlementReclaimed,RecordingAnchored");
    struct indexer_progress pr;
    struct err e = {0};
    CHECK_INT(indexer_read_progress(&pr, &db, INDEXER_NAME_DEFAULT, CHAIN_ID_ANVIL, &vault, &e),
              INDEXER_OK);
    CHECK(pr.has_confirmed && pr.has_indexed && pr.indexed_block == chain_head(&chain));
    CHECK_INT(pr.confirmed_through, chain_head(&chain) - CONFIRMATIONS);
}

/* A reorg that replaces confirmed (posted) blocks halts the indexer. */
static void test_deep_reorg_halts(void)
{
    char snap[CHAIN_SNAPSHOT_ID_MAX];
    chain_snapshot(&chain, snap);
    tip(stream_id, true, 606);
    sent_len--; /* reverted below */
    chain_mine(&chain, CONFIRMATIONS + 1);
    struct indexer_poll_report rep;
    CHECK_INT(lfx_poll_to_head(&ix, &rep), INDEXER_OK);
    CHECK_INT(rep.entries_posted, 1);
    chain_revert(&chain, snap);
    CHECK(chain_advance_time(11));
    chain_mine(&chain, CONFIRMATIONS + 3);
    char saved[PG_FIXTURE_VALUE_BYTES], chain_saved[PG_FIXTURE_VALUE_BYTES];
    snprintf(saved, sizeof saved, "%s",
             value("SELECT count(*) || '/' || sum(amount_wei) FROM ledger_postings"));
    snprintf(chain_saved, sizeof chain_saved, "%s",
             value("SELECT count(*) || '/' || count(*) FILTER (WHERE status = 'confirmed')"
                   " FROM chain_events"));
    struct err e = {0};
    CHECK_INT(indexer_poll(&ix, &rep, &e), INDEXER_ERR_DEEP_REORG);
    CHECK(indexer_halted(&ix));
    CHECK_MSG(strstr(e.msg, "reaches confirmed block") != NULL, "%s", e.msg);
    CHECK_INT(indexer_poll(&ix, &rep, &e), INDEXER_ERR_DEEP_REORG);
    CHECK_STR(value("SELECT count(*) || '/' || sum(amount_wei) FROM ledger_postings"), saved);
    CHECK_STR(value("SELECT count(*) || '/' || count(*) FILTER (WHERE status = 'confirmed')"
                    " FROM chain_events"),
              chain_saved);
}

/* Every entry balances, no event posted twice. */
static void test_invariants(void)
{
    struct ledger_check_report cr;
    struct err e = {0};
    CHECK_MSG(db.conn != NULL && ledger_check_invariants(&cr, &db, &e) == LEDGER_OK, "%s", e.msg);
    CHECK_INT(cr.duplicate_events, 0);
    /* sent_len entries, plus the tip of the halted reorg's replaced blocks */
    CHECK_INT(cr.entries, sent_len + 1);
}

/* ---- part 2: the worker in the service -------------------------------------------- */

static struct api_db svc_db;
static struct address svc_vault; /* the service's own vault: only its tips count */
static uint64_t svc_vault_block;
static struct app_config svc_cfg;
static struct api_client api = {.siwe_domain = SVC_DOMAIN, .chain = &chain};
static struct st_server svc_a, svc_b;
static bool svc_a_live, svc_b_live, svc_ready;
static char svc_dir[API_PATH_BYTES], svc_log_path[API_PATH_BYTES + 32];
static FILE *svc_log;

struct svc_wait {
    struct st_server *srv;
    enum jobs_indexer_state state;
    struct http_metric *metric;
    int64_t at_least;
};

typedef bool wait_fn(const struct svc_wait *w);

/* Polls `fn` every WAIT_STEP_MS, at most WAIT_MS_MAX in all. */
static bool wait_until(wait_fn *fn, const struct svc_wait *w, const char *what)
{
    for (uint32_t waited = 0; waited <= WAIT_MS_MAX; waited += WAIT_STEP_MS) {
        if (fn(w))
            return true;
        clock_sleep_ms(WAIT_STEP_MS);
    }
    CHECK_MSG(0, "no %s after %u ms", what, WAIT_MS_MAX);
    return false;
}

static bool state_is(const struct svc_wait *w)
{
    char detail[JOBS_DETAIL_BYTES];
    return jobs_indexer_status_get(&w->srv->s.indexer_status, detail, sizeof detail) == w->state;
}

static bool metric_reaches(const struct svc_wait *w)
{
    return http_metric_value(w->metric) >= w->at_least;
}

static bool svc_start(struct st_server *srv, bool *live)
{
    struct err e = {0};
    bool ok = st_open(srv, &svc_cfg, svc_log, &e);
    if (ok) {
        srv->s.tune.indexer_poll_ms = 20;
        srv->s.tune.indexer_retry_ms = 50;
        srv->s.tune.indexer_leader_retry_ms = 50;
        srv->s.tune.indexer_start_block = svc_vault_block;
        ok = st_start(srv, &e);
    }
    *live = true; /* st_stop() is safe after a failed open or start */
    CHECK_MSG(ok, "service: %s", e.msg);
    return ok;
}

/* GET path on srv's port: the status; the JSON body into *out (may be NULL). */
static long svc_get(struct st_server *srv, const char *path, json_t **out)
{
    api.port = http_server_port(srv->http);
    long status = api_request(&api, "GET", path, NULL, NULL, 0);
    if (out != NULL)
        *out = api_reply_json(&api);
    return status;
}

/* The tip's ledger effect in the service's database: confirmed revenue. */
static void wait_confirmed(struct st_server *srv, uint64_t block)
{
    struct svc_wait w = {.srv = srv, .metric = srv->s.m.ix_confirmed, .at_least = (int64_t)block};
    wait_until(metric_reaches, &w, "confirmed block");
}

static void test_service_leads_and_indexes(void)
{
    char secret[API_PATH_BYTES + 16], vault_text[ADDRESS_TEXT_SIZE];
    svc_ready = deploy_vault(&svc_vault);
    svc_vault_block = chain_head(&chain);
    address_format_lower(vault_text, &svc_vault);
    svc_ready = svc_ready && api_db_create(&svc_db, "ix_svc") && seed_catalog(&svc_db.session) &&
                api_make_dir(svc_dir, sizeof svc_dir, "ix_svc", secret, sizeof secret,
                             "service.log", "service", &svc_log);
    char conf[8];
    snprintf(conf, sizeof conf, "%d", SVC_CONFIRMATIONS);
    svc_ready = svc_ready && api_load_config(&svc_cfg, svc_db.url, vault_text, secret, svc_dir,
                                             SVC_DOMAIN, conf);
    snprintf(svc_log_path, sizeof svc_log_path, "%s/service.log", svc_dir);
    if (!svc_ready) {
        CHECK_MSG(0, "service set-up failed");
        return;
    }
    snprintf(svc_cfg.settlement_listen, sizeof svc_cfg.settlement_listen, "127.0.0.1:0");
    if (!svc_start(&svc_a, &svc_a_live))
        return;
    struct svc_wait w = {.srv = &svc_a, .state = JOBS_INDEXER_LEADING};
    wait_until(state_is, &w, "leading service A");
    CHECK(tip_creator(&svc_vault, creator_id, stream_id, 777));
    uint64_t tip_block = chain_head(&chain);
    chain_mine(&chain, SVC_CONFIRMATIONS);
    wait_confirmed(&svc_a, tip_block);
    for (size_t p = 0; p < 3; p++)
        CHECK_U256(payee_balance(&svc_db.session, key_a, p), part_of(p, 1, 777));
    CHECK_STR(value_on(&svc_db.session,
                       "SELECT count(*) || ':' || min(status) FROM chain_events"
                       " WHERE event = 'Tipped' AND args->>'amount' = '777'",
                       NULL, 0),
              "1:confirmed");
    json_t *j = NULL;
    CHECK_INT(svc_get(&svc_a, "/v1/chain", &j), 200);
    json_t *indexed = json_object_get(j, "indexed_block");
    CHECK_MSG(json_is_integer(indexed) && (uint64_t)json_integer_value(indexed) >= tip_block,
              "indexed_block %s", api.rep.body);
    json_decref(j);
    CHECK_INT(svc_get(&svc_a, "/healthz", &j), 200);
    CHECK_STR(api_str_at(j, "status"), "ok");
    CHECK_STR(api_str_at(json_object_get(j, "checks"), "indexer"), "ok");
    json_decref(j);
    CHECK_INT(svc_get(&svc_a, "/metrics", NULL), 200);
    CHECK(strstr(api.rep.body, "\nsettlement_indexer_leader 1\n") != NULL);
    CHECK(strstr(api.rep.body, "\nsettlement_indexer_halted 0\n") != NULL);
    CHECK(strstr(api.rep.body, "settlement_indexer_revenue_events_total{status=\"confirmed\"} ") !=
          NULL);
}

/* B on the same database stays on standby while A holds the lock, serves
 * normally, and takes over once A stops. */
static void test_service_standby_then_takeover(void)
{
    if (!svc_ready || !svc_start(&svc_b, &svc_b_live))
        return;
    struct svc_wait w = {.srv = &svc_b, .state = JOBS_INDEXER_STANDBY};
    wait_until(state_is, &w, "standby service B");
    json_t *j = NULL;
    CHECK_INT(svc_get(&svc_b, "/healthz", &j), 200);
    CHECK_STR(api_str_at(j, "status"), "ok");
    CHECK_STR(api_str_at(json_object_get(j, "checks"), "indexer"),
              "standby: another process leads the indexer");
    json_decref(j);
    CHECK_INT(svc_get(&svc_b, "/v1/chain", &j), 200); /* from the stored cursor */
    CHECK(json_is_integer(json_object_get(j, "indexed_block")));
    json_decref(j);
    CHECK_INT(http_metric_value(svc_b.s.m.ix_leader), 0);
    CHECK_INT(http_metric_value(svc_b.s.m.ix_polls), 0);
    st_stop(&svc_a);
    svc_a_live = false;
    w.state = JOBS_INDEXER_LEADING;
    wait_until(state_is, &w, "service B leading after A stopped");
    CHECK(tip_creator(&svc_vault, creator_id, stream_id, 555));
    uint64_t tip_block = chain_head(&chain);
    chain_mine(&chain, SVC_CONFIRMATIONS);
    wait_confirmed(&svc_b, tip_block);
    for (size_t p = 0; p < 3; p++)
        CHECK_U256(payee_balance(&svc_db.session, key_a, p),
                   add_wei(part_of(p, 1, 777), part_of(p, 1, 555)));
    CHECK_INT(http_metric_value(svc_b.s.m.ix_leader), 1);
}

/* A reorg of B's confirmed blocks: halted, loudly. */
static void test_service_deep_reorg_halts(void)
{
    if (!svc_b_live || !svc_ready)
        return;
    char snap[CHAIN_SNAPSHOT_ID_MAX];
    chain_snapshot(&chain, snap);
    CHECK(tip_creator(&svc_vault, creator_id, stream_id, 606));
    uint64_t tip_block = chain_head(&chain);
    chain_mine(&chain, SVC_CONFIRMATIONS + 1);
    wait_confirmed(&svc_b, tip_block);
    const char *before = value_on(
        &svc_db.session, "SELECT count(*) || '/' || sum(amount_wei) FROM ledger_postings", NULL, 0);
    char saved[VALUE_BYTES];
    snprintf(saved, sizeof saved, "%s", before);
    chain_revert(&chain, snap);
    CHECK(chain_advance_time(13)); /* different blocks, not the same ones re-mined */
    chain_mine(&chain, SVC_CONFIRMATIONS + 3);
    struct svc_wait w = {.srv = &svc_b, .state = JOBS_INDEXER_HALTED};
    wait_until(state_is, &w, "halted service B");
    json_t *j = NULL;
    CHECK_INT(svc_get(&svc_b, "/healthz", &j), 200);
    CHECK_STR(api_str_at(j, "status"), "degraded");
    const char *check = api_str_at(json_object_get(j, "checks"), "indexer");
    CHECK_MSG(check != NULL && strncmp(check, "halted: reorg from block ", 25) == 0 &&
                  strstr(check, "reaches confirmed block") != NULL,
              "indexer check: %s", check != NULL ? check : "(none)");
    json_decref(j);
    CHECK_INT(svc_get(&svc_b, "/metrics", NULL), 200);
    CHECK(strstr(api.rep.body, "\nsettlement_indexer_halted 1\n") != NULL);
    CHECK_STR(value_on(&svc_db.session,
                       "SELECT count(*) || '/' || sum(amount_wei) FROM ledger_postings", NULL, 0),
              saved);
    fflush(svc_log);
    FILE *f = fopen(svc_log_path, "r");
    char line[LOG_LINE_BYTES_MAX];
    bool logged = false;
    while (f != NULL && !logged && fgets(line, sizeof line, f) != NULL)
        logged = strstr(line, "level=error") != NULL && strstr(line, "INDEXER HALTED") != NULL;
    if (f != NULL)
        fclose(f);
    CHECK_MSG(logged, "no error line in %s", svc_log_path);
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
    char whole[CHAIN_SNAPSHOT_ID_MAX];
    chain_snapshot(&chain, whole);
    RUN(test_seed_and_pay);
    RUN(test_pending_then_confirmed);
    RUN(test_event_table_matches_artifacts);
    RUN(test_decode_rejects_malformed);
    RUN(test_vault_roles_and_unregistered_pass);
    RUN(test_one_leader);
    RUN(test_from_scratch_posts_nothing);
    RUN(test_pass_events);
    RUN(test_late_registration);
    RUN(test_shallow_reorg);
    RUN(test_vault_settlement_events);
    RUN(test_deep_reorg_halts);
    RUN(test_invariants);
    RUN(test_service_leads_and_indexes);
    RUN(test_service_standby_then_takeover);
    RUN(test_service_deep_reorg_halts);
    if (svc_a_live)
        st_stop(&svc_a);
    if (svc_b_live)
        st_stop(&svc_b);
    if (svc_log != NULL)
        fclose(svc_log);
    api_db_drop(&svc_db);
    if (ix_live)
        indexer_release(&ix);
    pg_fixture_drop_schema(&db, schema);
    chain_revert(&chain, whole);
    chain_close(&chain);
    return harness_finish();
}
