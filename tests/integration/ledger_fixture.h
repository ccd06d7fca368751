/*
 * ledger_fixture.h - checks of the settlement ledger (migrations/0003,
 * 0004; services/settlement/ledger.h, indexer.h) that an integration test
 * runs after it has driven the indexer, against the runner's real
 * PostgreSQL and anvil. Used only by tests/integration/test_*.c.
 *
 * lfx_check_invariants()   every entry balances, no event is posted twice
 *                          (ledger_check_invariants), every payee's
 *                          balances equal the sums of its postings, and
 *                          every revenue entry books exactly one confirmed
 *                          revenue_events row (same key, block, creator,
 *                          amount) and every confirmed row has its entry.
 * lfx_check_received_all() per creator key (in the ledger or the creators
 *                          table), the ledger's confirmed revenue (vault
 *                          debits = payee credits + unattributed credits)
 *                          equals the vault's receivedOf(creatorKey) read
 *                          by eth_call at the cursor's confirmed_through
 *                          block.
 * lfx_check_matches_scratch() builds a ledger from scratch: a fresh schema
 *                          (pg_fixture), all migrations, the indexer's
 *                          inputs (creators, passes, streams, stream_passes,
 *                          split versions) copied from the schema under
 *                          test, and a fresh indexer (cursor LFX_SCRATCH_NAME,
 *                          lock LFX_SCRATCH_LOCK_KEY) run to the head of the
 *                          same chain; then compares the two: the sets of
 *                          revenue postings (chain, tx hash, log index,
 *                          block number and hash, creator key, account,
 *                          side, amount), every creator's per-payee
 *                          balances, the cursors' confirmed_through and,
 *                          where the schema has chain_events (0007), the
 *                          confirmed chain events up to that block.
 *                          The caller indexes the ledger under test to the
 *                          head first and mines nothing until this returns.
 *                          Only revenue entries are compared: settlement
 *                          entries have no on-chain event to rebuild from.
 *
 * Every check reports through harness.h (CHECK_MSG names the first
 * difference) and returns true when all held. lfx_check_invariants() and
 * lfx_check_received_all() read in one REPEATABLE READ snapshot, so they
 * hold while an indexer keeps committing. Smaller pieces for tests:
 * lfx_poll_to_head() (poll until the follower reached the head, reports
 * summed), lfx_received_of() (receivedOf at a block), lfx_confirmed_through(),
 * lfx_exec() (a trusted query, CHECKed).
 *
 * Ownership: sessions and the rpc client are the caller's; each session is
 * in no transaction between calls. The scratch schema lives only inside
 * lfx_check_matches_scratch() (dropped before it returns).
 *
 * Limits: LFX_PAYEES_MAX payees per creator, LFX_CREATORS_MAX creator keys,
 * LFX_POLLS_MAX polls to catch up.
 */
#ifndef TESTS_LEDGER_FIXTURE_H
#define TESTS_LEDGER_FIXTURE_H

#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "abi.h"
#include "buf.h"
#include "harness.h"
#include "hex.h"
#include "indexer.h"
#include "ledger.h"
#include "pg.h"
#include "pg_fixture.h"
#include "rpc.h"
#include "u256.h"

#define LFX_PAYEES_MAX 128
#define LFX_CREATORS_MAX 64
#define LFX_POLLS_MAX 1000
#define LFX_SCRATCH_NAME "scratch"
#define LFX_SCRATCH_LOCK_KEY 7302999901LL
#define LFX_SCHEMA_BYTES 64
#define LFX_HEX32_SIZE (2 * 32 + 1)

/* ---- small helpers ------------------------------------------------------------------------- */

/* Runs a query the fixture trusts; false after a failed CHECK. */
static inline bool lfx_exec(struct pg_session *pc, PGresult **res, const char *sql,
                            const char *const *params, int n)
{
    struct err e = {0};
    bool ok = pg_exec(pc, res, sql, params, n, &e) == PG_OK;
    CHECK_MSG(ok, "%s", e.msg);
    return ok;
}

/* The cursor `name`'s confirmed_through into *out; false when it has none. */
static inline bool lfx_confirmed_through(uint64_t *out, struct pg_session *pc, const char *name)
{
    const char *params[1] = {name};
    PGresult *res = NULL;
    if (!lfx_exec(pc, &res,
                  "SELECT confirmed_through FROM indexer_cursor WHERE name = $1"
                  " AND confirmed_through IS NOT NULL",
                  params, 1))
        return false;
    bool ok = PQntuples(res) == 1;
    if (ok)
        *out = strtoull(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    CHECK_MSG(ok, "cursor '%s' has no confirmed block", name);
    return ok;
}

/* Polls until the follower reports it reached the head; *sum (may be NULL)
 * receives the summed reports. Returns the first failing poll's result (its
 * message printed) or INDEXER_OK. */
static inline enum indexer_result lfx_poll_to_head(struct indexer *ix,
                                                   struct indexer_poll_report *sum)
{
    struct indexer_poll_report total;
    memset(&total, 0, sizeof total);
    for (int i = 0; i < LFX_POLLS_MAX; i++) {
        struct indexer_poll_report rep;
        struct err e = {0};
        enum indexer_result r = indexer_poll(ix, &rep, &e);
        if (r != INDEXER_OK) {
            fprintf(stdout, "# poll: %s\n", e.msg);
            if (sum != NULL)
                *sum = total;
            return r;
        }
        total.events_seen += rep.events_seen;
        total.events_confirmed += rep.events_confirmed;
        total.entries_posted += rep.entries_posted;
        total.entries_replayed += rep.entries_replayed;
        total.events_orphaned += rep.events_orphaned;
        total.chain_events_seen += rep.chain_events_seen;
        total.chain_events_confirmed += rep.chain_events_confirmed;
        total.chain_events_orphaned += rep.chain_events_orphaned;
        total.events_reattributed += rep.events_reattributed;
        total.contracts_added += rep.contracts_added;
        total.backfilled_logs += rep.backfilled_logs;
        total.reorgs += rep.reorgs;
        total.head = rep.head;
        total.caught_up = rep.caught_up;
        if (rep.caught_up)
            break;
    }
    CHECK_MSG(total.caught_up, "indexer did not reach the head in %d polls", LFX_POLLS_MAX);
    if (sum != NULL)
        *sum = total;
    return INDEXER_OK;
}

/* ---- invariants ---------------------------------------------------------------------------- */

/* The creator keys of the ledger and of the creators table, sorted. */
static inline bool lfx_creator_keys(uint8_t (*keys)[32], size_t cap, size_t *len,
                                    struct pg_session *pc)
{
    PGresult *res = NULL;
    *len = 0;
    if (!lfx_exec(pc, &res,
                  "SELECT encode(k, 'hex') FROM (SELECT creator_key FROM ledger_entries"
                  " UNION SELECT creator_key FROM creators) AS u(k) ORDER BY 1",
                  NULL, 0))
        return false;
    size_t n = (size_t)PQntuples(res);
    bool ok = n <= cap;
    for (size_t i = 0; ok && i < n; i++) {
        const char *t = PQgetvalue(res, (int)i, 0);
        ok = hex_decode_exact(keys[i], 32, t, strlen(t), NULL) == HEX_OK;
    }
    PQclear(res);
    CHECK_MSG(ok, "%zu creator keys (at most %d) or one unreadable", n, LFX_CREATORS_MAX);
    if (ok)
        *len = n;
    return ok;
}

/* One creator: ledger_payee_balances() equals the sums of the postings of
 * payee:X (unsettled) and settled:X (settled), earned = both. */
static inline bool lfx_check_payee_sums(struct pg_session *pc, const uint8_t key[32])
{
    static struct ledger_payee_balance b[LFX_PAYEES_MAX];
    size_t n = 0;
    struct err e = {0};
    enum ledger_result lr = ledger_payee_balances(b, LFX_PAYEES_MAX, &n, pc, key, &e);
    CHECK_MSG(lr == LEDGER_OK, "ledger_payee_balances: %s", e.msg);
    char ck[PG_BYTEA_TEXT_SIZE];
    pg_bytea_text(ck, key, 32);
    const char *params[1] = {ck};
    PGresult *res = NULL;
    if (lr != LEDGER_OK ||
        !lfx_exec(pc, &res,
                  "SELECT substr(account, strpos(account, ':') + 1) COLLATE \"C\","
                  " coalesce(sum(CASE WHEN side = 'credit' THEN amount_wei ELSE -amount_wei END)"
                  "  FILTER (WHERE account LIKE 'payee:%'), 0)::text,"
                  " coalesce(sum(CASE WHEN side = 'credit' THEN amount_wei ELSE -amount_wei END)"
                  "  FILTER (WHERE account LIKE 'settled:%'), 0)::text"
                  " FROM ledger_postings WHERE creator_key = $1::bytea"
                  " AND (account LIKE 'payee:%' OR account LIKE 'settled:%')"
                  " GROUP BY 1 ORDER BY 1",
                  params, 1))
        return false;
    bool ok = (size_t)PQntuples(res) == n;
    CHECK_MSG(ok, "%zu payees in balances, %d in postings", n, PQntuples(res));
    for (size_t i = 0; ok && i < n; i++) {
        char hex[2 + 40 + 1], unsettled[U256_DEC_SIZE], settled[U256_DEC_SIZE];
        struct u256 earned;
        ASSERT(hex_encode_0x(hex, sizeof hex, b[i].payee.bytes, 20) == 0);
        u256_to_dec(unsettled, &b[i].unsettled_wei);
        u256_to_dec(settled, &b[i].settled_wei);
        ok = strcmp(PQgetvalue(res, (int)i, 0), hex) == 0 &&
             strcmp(PQgetvalue(res, (int)i, 1), unsettled) == 0 &&
             strcmp(PQgetvalue(res, (int)i, 2), settled) == 0 &&
             u256_add(&earned, &b[i].unsettled_wei, &b[i].settled_wei) == U256_OK &&
             u256_cmp(&earned, &b[i].earned_wei) == 0;
        CHECK_MSG(ok, "payee %s: balances %s/%s, postings %s %s/%s", hex, unsettled, settled,
                  PQgetvalue(res, (int)i, 0), PQgetvalue(res, (int)i, 1),
                  PQgetvalue(res, (int)i, 2));
    }
    PQclear(res);
    return ok;
}

/* Every revenue entry books one confirmed revenue_events row with the same
 * key, block, creator and amount; every confirmed row has its entry. */
static inline bool lfx_check_entries_match_events(struct pg_session *pc)
{
    const char *v = pg_fixture_query_value(
        pc, "SELECT count(*) FROM ledger_entries e FULL JOIN"
            " (SELECT * FROM revenue_events WHERE status = 'confirmed') r"
            " ON r.chain_id = e.chain_id AND r.tx_hash = e.tx_hash AND r.log_index = e.log_index"
            " WHERE (e.id IS NULL OR e.kind = 'revenue') AND (e.id IS NULL OR r.id IS NULL"
            "  OR r.block_number <> e.block_number OR r.block_hash <> e.block_hash"
            "  OR r.creator_key <> e.creator_key OR r.amount_wei <> (SELECT sum(p.amount_wei)"
            "   FROM ledger_postings p WHERE p.entry_id = e.id AND p.account = 'vault'"
            "   AND p.side = 'debit'))");
    CHECK_MSG(strcmp(v, "0") == 0, "%s revenue entries and confirmed events do not pair up", v);
    return strcmp(v, "0") == 0;
}

/* One snapshot for a check's reads (REPEATABLE READ, rolled back): an
 * indexer may keep committing meanwhile. */
static inline bool lfx_snapshot_begin(struct pg_session *pc)
{
    struct err e = {0};
    bool ok = pg_begin(pc, PG_REPEATABLE_READ, &e) == PG_OK;
    CHECK_MSG(ok, "BEGIN: %s", e.msg);
    return ok;
}

static inline void lfx_snapshot_end(struct pg_session *pc)
{
    struct err e = {0};
    CHECK_MSG(pg_rollback(pc, &e) == PG_OK, "ROLLBACK: %s", e.msg);
}

static inline bool lfx_check_invariants_now(struct pg_session *pc)
{
    struct ledger_check_report rep;
    struct err e = {0};
    enum ledger_result lr = ledger_check_invariants(&rep, pc, &e);
    CHECK_MSG(lr == LEDGER_OK, "ledger_check_invariants: %s", e.msg);
    bool ok = lr == LEDGER_OK && rep.unbalanced_entries == 0 && rep.duplicate_events == 0;
    CHECK_MSG(ok, "%" PRIu64 " unbalanced entries, %" PRIu64 " events posted twice",
              rep.unbalanced_entries, rep.duplicate_events);
    uint8_t keys[LFX_CREATORS_MAX][32];
    size_t n = 0;
    ok = lfx_creator_keys(keys, LFX_CREATORS_MAX, &n, pc) && ok;
    for (size_t i = 0; i < n; i++)
        ok = lfx_check_payee_sums(pc, keys[i]) && ok;
    return lfx_check_entries_match_events(pc) && ok;
}

static inline bool lfx_check_invariants(struct pg_session *pc)
{
    if (!lfx_snapshot_begin(pc))
        return false;
    bool ok = lfx_check_invariants_now(pc);
    lfx_snapshot_end(pc);
    return ok;
}

/* ---- the vault's receivedOf ---------------------------------------------------------------- */

/* vault.receivedOf(key) by eth_call at `block`. */
static inline bool lfx_received_of(struct u256 *out, struct rpc_client *rpc,
                                   const struct address *vault, const uint8_t key[32],
                                   uint64_t block)
{
    char tag[2 + 16 + 1];
    snprintf(tag, sizeof tag, "0x%" PRIx64, block);
    struct abi_value arg = abi_value_bytes32(key);
    uint8_t word[32];
    struct err e = {0};
    bool ok =
        rpc_view_word(rpc, word, vault->bytes, "receivedOf(bytes32)", &arg, 1, tag, &e) == RPC_OK;
    CHECK_MSG(ok, "receivedOf at block %" PRIu64 ": %s", block, e.msg);
    if (ok)
        *out = u256_from_be32(word);
    return ok;
}

/* One creator: vault debits = payee + unattributed credits = receivedOf at `block`. */
static inline bool lfx_check_received(struct pg_session *pc, struct rpc_client *rpc,
                                      const struct address *vault, const uint8_t key[32],
                                      uint64_t block)
{
    struct u256 onchain;
    if (!lfx_received_of(&onchain, rpc, vault, key, block))
        return false;
    char ck[PG_BYTEA_TEXT_SIZE], want[U256_DEC_SIZE], hex[LFX_HEX32_SIZE];
    pg_bytea_text(ck, key, 32);
    u256_to_dec(want, &onchain);
    ASSERT(hex_encode(hex, sizeof hex, key, 32) == 0);
    const char *params[1] = {ck};
    PGresult *res = NULL;
    if (!lfx_exec(pc, &res,
                  "SELECT coalesce(sum(p.amount_wei) FILTER (WHERE p.account = 'vault'"
                  "  AND p.side = 'debit'), 0)::text,"
                  " coalesce(sum(p.amount_wei) FILTER (WHERE p.side = 'credit' AND"
                  "  (p.account = 'unattributed' OR p.account LIKE 'payee:%')), 0)::text"
                  " FROM ledger_postings p JOIN ledger_entries e ON e.id = p.entry_id"
                  " WHERE e.kind = 'revenue' AND e.creator_key = $1::bytea",
                  params, 1))
        return false;
    bool ok = strcmp(PQgetvalue(res, 0, 0), want) == 0 && strcmp(PQgetvalue(res, 0, 1), want) == 0;
    CHECK_MSG(ok, "creator %.12s…: ledger vault %s, credited %s, receivedOf at %" PRIu64 " %s", hex,
              PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1), block, want);
    PQclear(res);
    return ok;
}

/* Every creator key of the ledger or the creators table, at the cursor
 * `cursor_name`'s confirmed_through. */
static inline bool lfx_check_received_all(struct pg_session *pc, struct rpc_client *rpc,
                                          const struct address *vault, const char *cursor_name)
{
    uint64_t block = 0;
    uint8_t keys[LFX_CREATORS_MAX][32];
    size_t n = 0;
    if (!lfx_snapshot_begin(pc))
        return false;
    bool ok = lfx_confirmed_through(&block, pc, cursor_name) &&
              lfx_creator_keys(keys, LFX_CREATORS_MAX, &n, pc);
    for (size_t i = 0; ok && i < n; i++)
        ok = lfx_check_received(pc, rpc, vault, keys[i], block) && ok;
    lfx_snapshot_end(pc);
    return ok;
}

/* ---- from scratch ---------------------------------------------------------------------------- */

/* Copies the indexer's inputs from `source_schema` into pc's (fresh) schema. */
static inline bool lfx_copy_inputs(struct pg_session *pc, const char *source_schema)
{
    const char *params[1] = {source_schema};
    PGresult *res = NULL;
    if (!lfx_exec(pc, &res,
                  "SELECT format('BEGIN;"
                  " INSERT INTO creators SELECT * FROM %1$I.creators;"
                  " INSERT INTO passes SELECT * FROM %1$I.passes;"
                  " INSERT INTO streams SELECT * FROM %1$I.streams;"
                  " INSERT INTO stream_passes SELECT * FROM %1$I.stream_passes;"
                  " INSERT INTO split_versions SELECT * FROM %1$I.split_versions"
                  "  ORDER BY creator_id, version;"
                  " INSERT INTO split_shares SELECT * FROM %1$I.split_shares;"
                  " COMMIT', $1::text)",
                  params, 1))
        return false;
    struct err e = {0};
    bool ok = pg_exec_script(pc, PQgetvalue(res, 0, 0), &e) == PG_OK;
    PQclear(res);
    CHECK_MSG(ok, "copying the indexer's inputs from %s: %s", source_schema, e.msg);
    if (!ok && pg_exec_script(pc, "ROLLBACK", NULL) != PG_OK)
        err_clear(&e);
    return ok;
}

/* A fresh schema in *scratch (name in schema[]) holding a ledger indexed
 * from scratch as described at the top. */
static inline bool lfx_build_scratch(struct pg_session *scratch, char schema[LFX_SCHEMA_BYTES],
                                     const char *source_schema, struct rpc_client *rpc,
                                     const struct indexer_config *cfg)
{
    struct err e = {0};
    if (!pg_fixture_migrated_schema(scratch, schema, LFX_SCHEMA_BYTES)) {
        CHECK_MSG(0, "no scratch schema");
        return false;
    }
    if (!lfx_copy_inputs(scratch, source_schema))
        return false;
    struct indexer_config c = *cfg;
    c.name = LFX_SCRATCH_NAME;
    c.lock_key = LFX_SCRATCH_LOCK_KEY;
    c.log = NULL;
    struct indexer ix;
    enum indexer_result r = indexer_init(&ix, scratch, rpc, &c, &e);
    CHECK_MSG(r == INDEXER_OK, "scratch indexer_init: %d %s", (int)r, e.msg);
    if (r != INDEXER_OK)
        return false;
    r = lfx_poll_to_head(&ix, NULL);
    indexer_release(&ix);
    CHECK_MSG(r == INDEXER_OK, "scratch indexer: %d", (int)r);
    return r == INDEXER_OK;
}

/* The revenue postings of a ledger, one text row each, sorted. */
static inline bool lfx_postings(PGresult **res, struct pg_session *pc)
{
    return lfx_exec(pc, res,
                    "SELECT (e.chain_id || ' ' || encode(e.tx_hash, 'hex') || ' ' || e.log_index"
                    " || ' ' || e.block_number || ' ' || encode(e.block_hash, 'hex') || ' '"
                    " || encode(e.creator_key, 'hex') || ' ' || p.account || ' ' || p.side"
                    " || ' ' || p.amount_wei) COLLATE \"C\" FROM ledger_entries e"
                    " JOIN ledger_postings p ON p.entry_id = e.id WHERE e.kind = 'revenue'"
                    " ORDER BY 1",
                    NULL, 0);
}

/* Two sorted one-column results hold the same rows; CHECK names the first
 * difference. Clears both. */
static inline bool lfx_same_rows(PGresult *a, PGresult *b, const char *what)
{
    int na = PQntuples(a), nb = PQntuples(b), i = 0;
    while (i < na && i < nb && strcmp(PQgetvalue(a, i, 0), PQgetvalue(b, i, 0)) == 0)
        i++;
    bool ok = i == na && i == nb;
    CHECK_MSG(ok, "%s differ from scratch (%d vs %d rows) at row %d: '%s' vs '%s'", what, na, nb, i,
              i < na ? PQgetvalue(a, i, 0) : "(end)", i < nb ? PQgetvalue(b, i, 0) : "(end)");
    PQclear(a);
    PQclear(b);
    return ok;
}

/* Both ledgers hold the same revenue postings (multisets). */
static inline bool lfx_check_same_postings(struct pg_session *pc, struct pg_session *scratch)
{
    PGresult *a = NULL, *b = NULL;
    if (lfx_postings(&a, pc) && lfx_postings(&b, scratch))
        return lfx_same_rows(a, b, "postings");
    PQclear(a);
    return false;
}

/* The confirmed chain_events (migrations/0007) up to `upto`, one text row
 * each, sorted; *absent when the schema has no such table. */
static inline bool lfx_chain_events(PGresult **res, bool *absent, struct pg_session *pc,
                                    uint64_t upto)
{
    *absent =
        strcmp(pg_fixture_query_value(pc, "SELECT to_regclass('chain_events') IS NULL"), "t") == 0;
    if (*absent)
        return true;
    char b[24];
    snprintf(b, sizeof b, "%" PRIu64, upto);
    const char *params[1] = {b};
    return lfx_exec(pc, res,
                    "SELECT (chain_id || ' ' || encode(tx_hash, 'hex') || ' ' || log_index || ' '"
                    " || block_number || ' ' || encode(block_hash, 'hex') || ' '"
                    " || encode(contract, 'hex') || ' ' || event || ' ' || args::text)"
                    " COLLATE \"C\" FROM chain_events WHERE status = 'confirmed'"
                    " AND block_number <= $1::bigint ORDER BY 1",
                    params, 1);
}

/* Both hold the same confirmed chain events up to `upto` (when both have
 * the table). */
static inline bool lfx_check_same_chain_events(struct pg_session *pc, struct pg_session *scratch,
                                               uint64_t upto)
{
    PGresult *a = NULL, *b = NULL;
    bool absent_a = true, absent_b = true;
    if (!lfx_chain_events(&a, &absent_a, pc, upto) ||
        !lfx_chain_events(&b, &absent_b, scratch, upto)) {
        PQclear(a);
        return false;
    }
    if (!absent_a && !absent_b)
        return lfx_same_rows(a, b, "chain events");
    PQclear(a);
    PQclear(b);
    return true;
}

/* Both ledgers give every creator the same per-payee balances. */
static inline bool lfx_check_same_balances(struct pg_session *pc, struct pg_session *scratch)
{
    static struct ledger_payee_balance x[LFX_PAYEES_MAX], y[LFX_PAYEES_MAX];
    uint8_t keys[LFX_CREATORS_MAX][32];
    size_t n = 0;
    bool ok = lfx_creator_keys(keys, LFX_CREATORS_MAX, &n, pc);
    for (size_t k = 0; ok && k < n; k++) {
        size_t nx = 0, ny = 0;
        struct err e = {0};
        ok = ledger_payee_balances(x, LFX_PAYEES_MAX, &nx, pc, keys[k], &e) == LEDGER_OK &&
             ledger_payee_balances(y, LFX_PAYEES_MAX, &ny, scratch, keys[k], &e) == LEDGER_OK;
        CHECK_MSG(ok, "ledger_payee_balances: %s", e.msg);
        ok = ok && nx == ny;
        CHECK_MSG(ok, "%zu payees, %zu from scratch", nx, ny);
        for (size_t i = 0; ok && i < nx; i++) {
            ok = address_eq(&x[i].payee, &y[i].payee) &&
                 u256_cmp(&x[i].earned_wei, &y[i].earned_wei) == 0 &&
                 u256_cmp(&x[i].settled_wei, &y[i].settled_wei) == 0 &&
                 u256_cmp(&x[i].unsettled_wei, &y[i].unsettled_wei) == 0;
            char got[U256_DEC_SIZE], want[U256_DEC_SIZE];
            u256_to_dec(got, &x[i].earned_wei);
            u256_to_dec(want, &y[i].earned_wei);
            CHECK_MSG(ok, "payee %zu of creator %zu: earned %s, from scratch %s", i, k, got, want);
        }
    }
    return ok;
}

/* The ledger of pc (schema `schema`, cursor `cursor_name`) equals one built
 * from scratch by a fresh indexer with `cfg` (name and lock key replaced)
 * on the same chain. */
static inline bool lfx_check_matches_scratch(struct pg_session *pc, const char *schema,
                                             const char *cursor_name, struct rpc_client *rpc,
                                             const struct indexer_config *cfg)
{
    struct pg_session scratch;
    char scratch_schema[LFX_SCHEMA_BYTES] = "";
    memset(&scratch, 0, sizeof scratch);
    bool ok = lfx_build_scratch(&scratch, scratch_schema, schema, rpc, cfg);
    uint64_t mine = 0, theirs = 0;
    ok = ok && lfx_confirmed_through(&mine, pc, cursor_name) &&
         lfx_confirmed_through(&theirs, &scratch, LFX_SCRATCH_NAME);
    CHECK_MSG(!ok || mine == theirs, "confirmed through %" PRIu64 ", from scratch %" PRIu64, mine,
              theirs);
    ok = ok && mine == theirs;
    ok = ok && lfx_check_same_postings(pc, &scratch);
    ok = ok && lfx_check_same_balances(pc, &scratch);
    ok = ok && lfx_check_same_chain_events(pc, &scratch, mine);
    if (scratch_schema[0] != '\0')
        pg_fixture_drop_schema(&scratch, scratch_schema);
    else
        pg_release(&scratch);
    return ok;
}

#endif
