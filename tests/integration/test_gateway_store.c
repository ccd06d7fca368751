/* test_gateway_store.c - the gateway's PostgreSQL queries (store.c) and its
 * access policy (access.c) against the real PostgreSQL and anvil of the
 * runner. Each run applies the migrations into a fresh schema, deploys a
 * SettlementVault and a RightsPass with our own signer, and lets the fan
 * (anvil account 2) mint a pass.
 *
 * Access: the creator's owner is always allowed without asking the chain;
 * tips count from the tips table; a pass holder is allowed after one
 * balanceOf and then from the cache; a Transfer invalidation (what the chain
 * follower does) takes the access away at the next decision; with the RPC
 * down a cached answer still works, a stale one is used and flagged, and an
 * answer never cached is ACCESS_ERR_CHAIN_DOWN, never "allowed". */
#include <stdio.h>
#include <string.h>

#include "access.h"
#include "clock.h"
#include "crypto.h"
#include "harness.h"
#include "ids.h"
#include "migrate.h"
#include "pg_fixture.h"
#include "store.h"
#include "vault_fixture.h"

#define ACCT_OWNER 5
#define ACCT_BUYER_2 6
#define ACCT_NOBODY 7

static struct pg_session db;
static char schema[64];
static struct address vault, pass;
static char creator[IDS_UUID_SIZE] = "3f2b1c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d";
static char stream[IDS_UUID_SIZE] = "7a8b9c0d-1e2f-4a3b-9c4d-5e6f7a8b9c0d";
static const char ingest_key[] = "ingest-key-for-tests-0123456789";

static bool exec_sql(const char *sql, const char *const *params, int n)
{
    struct err e = {0};
    bool ok = pg_exec(&db, NULL, sql, params, n, &e) == PG_OK;
    CHECK_MSG(ok, "%s", e.msg);
    return ok;
}

/* creators, passes, streams and stream_passes rows for the test's ids. */
static bool seed_rows(void)
{
    uint8_t ckey[32], skey[32], khash[32];
    ids_key_of(ckey, creator);
    ids_key_of(skey, stream);
    ASSERT(crypto_sha256(khash, ingest_key, strlen(ingest_key), NULL) == CRYPTO_OK);
    char owner_hex[PG_BYTEA_TEXT_SIZE], pass_hex[PG_BYTEA_TEXT_SIZE], ck[PG_BYTEA_TEXT_SIZE],
        sk[PG_BYTEA_TEXT_SIZE], kh[PG_BYTEA_TEXT_SIZE];
    pg_bytea_text(owner_hex, chain.addr[ACCT_OWNER].bytes, 20);
    pg_bytea_text(pass_hex, pass.bytes, 20);
    pg_bytea_text(ck, ckey, 32);
    pg_bytea_text(sk, skey, 32);
    pg_bytea_text(kh, khash, 32);
    const char *c[3] = {creator, owner_hex, ck};
    const char *p[2] = {pass_hex, creator};
    const char *s[4] = {stream, creator, sk, kh};
    const char *sp[2] = {stream, pass_hex};
    return exec_sql("INSERT INTO creators (id, owner, creator_key, name) "
                    "VALUES ($1, $2::bytea, $3::bytea, 'Creator')",
                    c, 3) &&
           exec_sql("INSERT INTO passes (contract, creator_id, name, symbol, price_wei, "
                    "max_supply, royalty_bps) VALUES ($1::bytea, $2, 'Pass', 'P', "
                    "25000000000000007, 10, 500)",
                    p, 2) &&
           exec_sql("INSERT INTO streams (id, creator_id, stream_key, title, tip_min_wei, "
                    "ingest_key_hash) VALUES ($1, $2, $3::bytea, 'Live', 1000, $4::bytea)",
                    s, 4) &&
           exec_sql("INSERT INTO stream_passes (stream_id, contract, min_balance) "
                    "VALUES ($1, $2::bytea, 1)",
                    sp, 2);
}

static bool setup(void)
{
    struct err e = {0};
    if (!pg_fixture_fresh_schema(&db, schema, sizeof schema))
        return false;
    if (migrate_run(&db, "migrations", NULL, &e) != MIGRATE_OK) {
        printf("# migrate: %s\n", e.msg);
        return false;
    }
    uint8_t ckey[32];
    ids_key_of(ckey, creator);
    if (!deploy_vault(&vault) || !deploy_pass(&pass, &vault, ckey, 10, 500))
        return false;
    struct txsend_outcome o;
    enum txsend_result r = send_call(&o, ACCT_FAN, &pass, PASS_PRICE_WEI, "mint()", NULL, 0);
    txsend_outcome_release(&o);
    return r == TXSEND_OK && seed_rows();
}

static void test_stream_get(void)
{
    struct store_stream s;
    struct err e = {0};
    CHECK_INT(store_stream_get(&s, &db, stream, &e), STORE_OK);
    CHECK_STR(s.id, stream);
    CHECK_STR(s.creator_id, creator);
    CHECK_STR(s.title, "Live");
    CHECK_STR(s.status, "created");
    CHECK(address_eq(&s.owner, &chain.addr[ACCT_OWNER]));
    CHECK(s.has_tip_min);
    CHECK_U256(s.tip_min_wei, wei(1000));
    CHECK_INT(s.passes_len, 1);
    CHECK(address_eq(&s.passes[0].contract, &pass));
    CHECK_U256(s.passes[0].min_balance, wei(1));
    CHECK_U256(s.passes[0].price_wei, wei(PASS_PRICE_WEI));
    uint8_t skey[32];
    ids_key_of(skey, stream);
    CHECK_MEM(s.stream_key, skey, 32);
    CHECK_INT(store_stream_get(&s, &db, "00000000-0000-4000-8000-000000000000", &e),
              STORE_ERR_NOT_FOUND);
    CHECK_INT(store_stream_get(&s, &db, "../etc/passwd", &e), STORE_ERR_BAD_INPUT);
}

static enum access_result decide(struct access_decision *d, struct owncache *c,
                                 struct rpc_client *rpc, size_t viewer)
{
    struct store_stream s;
    struct err e = {0};
    ASSERT(store_stream_get(&s, &db, stream, &e) == STORE_OK);
    return access_decide(d, c, &db, rpc, CHAIN_ID_ANVIL, &s, &chain.addr[viewer], clock_now_ms(),
                         &e);
}

static void test_owner_pass_and_denied(void)
{
    struct owncache c;
    struct access_decision d;
    CHECK(owncache_init(&c, 64, 60000, NULL));
    CHECK_INT(decide(&d, &c, &chain.rpc, ACCT_OWNER), ACCESS_OK);
    CHECK_INT(d.via, ACCESS_VIA_OWNER);
    CHECK_INT(d.rpc_calls, 0);
    CHECK_INT(decide(&d, &c, &chain.rpc, ACCT_FAN), ACCESS_OK);
    CHECK_INT(d.via, ACCESS_VIA_PASS);
    CHECK_INT(d.rpc_calls, 1);
    CHECK_INT(decide(&d, &c, &chain.rpc, ACCT_FAN), ACCESS_OK); /* from the cache */
    CHECK_INT(d.via, ACCESS_VIA_PASS);
    CHECK_INT(d.rpc_calls, 0);
    CHECK_INT(decide(&d, &c, &chain.rpc, ACCT_NOBODY), ACCESS_OK);
    CHECK_INT(d.via, ACCESS_DENIED);
    CHECK(u256_is_zero(&d.tipped_wei));
    CHECK_STR(access_via_name(d.via), "denied");
    owncache_release(&c);
}

static struct store_tip tip_of(size_t from, uint64_t amount, uint8_t tx_tag, uint64_t block)
{
    struct store_tip t;
    memset(&t, 0, sizeof t);
    t.chain_id = CHAIN_ID_ANVIL;
    memset(t.tx_hash, tx_tag, 32);
    t.log_index = 0;
    t.block_number = block;
    memset(t.block_hash, 0x42, 32);
    ids_key_of(t.creator_key, creator);
    ids_key_of(t.stream_key, stream);
    t.from = chain.addr[from];
    t.amount_wei = wei(amount);
    return t;
}

/* 999 wei of tips is not enough, 1000 is; a replayed log counts once; a
 * reorg forgets the tips of the orphaned blocks. */
static void test_tips_unlock(void)
{
    struct owncache c;
    struct access_decision d;
    struct err e = {0};
    bool inserted = false;
    CHECK(owncache_init(&c, 64, 60000, NULL));
    struct store_tip t1 = tip_of(ACCT_RELAYER, 999, 0x01, 100);
    CHECK_INT(store_tip_insert(&inserted, &db, &t1, &e), STORE_OK);
    CHECK(inserted);
    CHECK_INT(store_tip_insert(&inserted, &db, &t1, &e), STORE_OK);
    CHECK(!inserted);
    CHECK_INT(decide(&d, &c, &chain.rpc, ACCT_RELAYER), ACCESS_OK);
    CHECK_INT(d.via, ACCESS_DENIED);
    CHECK_U256(d.tipped_wei, wei(999));
    struct store_tip t2 = tip_of(ACCT_RELAYER, 1, 0x02, 105);
    t2.from_follower = true;
    CHECK_INT(store_tip_insert(&inserted, &db, &t2, &e), STORE_OK);
    CHECK_INT(decide(&d, &c, &chain.rpc, ACCT_RELAYER), ACCESS_OK);
    CHECK_INT(d.via, ACCESS_VIA_TIP);
    CHECK_INT(d.rpc_calls, 0);
    CHECK_U256(d.tipped_wei, wei(1000));
    CHECK_INT(store_tips_forget_from(&db, CHAIN_ID_ANVIL, 101, &e), STORE_OK);
    CHECK_INT(decide(&d, &c, &chain.rpc, ACCT_RELAYER), ACCESS_OK);
    CHECK_INT(d.via, ACCESS_DENIED);
    CHECK_U256(d.tipped_wei, wei(999));
    owncache_release(&c);
}

/* The fan transfers the pass away: once the follower invalidates the two
 * holders, the next decision denies the fan and allows the buyer. */
static void test_transfer_moves_access(void)
{
    struct owncache c;
    struct access_decision d;
    CHECK(owncache_init(&c, 64, 60000, NULL));
    CHECK_INT(decide(&d, &c, &chain.rpc, ACCT_FAN), ACCESS_OK);
    CHECK_INT(d.via, ACCESS_VIA_PASS);
    struct abi_value args[3] = {abi_value_address(&chain.addr[ACCT_FAN]),
                                abi_value_address(&chain.addr[ACCT_BUYER_2]), abi_value_u64(1)};
    struct txsend_outcome o;
    CHECK_INT(send_call(&o, ACCT_FAN, &pass, 0, "transferFrom(address,address,uint256)", args, 3),
              TXSEND_OK);
    txsend_outcome_release(&o);
    CHECK_INT(decide(&d, &c, &chain.rpc, ACCT_FAN), ACCESS_OK);
    CHECK_INT(d.via, ACCESS_VIA_PASS); /* the cache has not heard of it yet */
    owncache_invalidate(&c, &pass, &chain.addr[ACCT_FAN]);
    owncache_invalidate(&c, &pass, &chain.addr[ACCT_BUYER_2]);
    CHECK_INT(decide(&d, &c, &chain.rpc, ACCT_FAN), ACCESS_OK);
    CHECK_INT(d.via, ACCESS_DENIED);
    CHECK_INT(decide(&d, &c, &chain.rpc, ACCT_BUYER_2), ACCESS_OK);
    CHECK_INT(d.via, ACCESS_VIA_PASS);
    owncache_release(&c);
}

/* An RPC that does not answer: cached answers keep working (a stale one is
 * flagged), an answer never cached is refused with CHAIN_DOWN. */
static void test_chain_down(void)
{
    struct owncache c;
    struct access_decision d;
    struct rpc_client dead;
    struct rpc_options opt;
    struct err e = {0};
    rpc_options_default(&opt);
    opt.retries_max = 0;
    opt.total_timeout_ms = 500;
    CHECK(rpc_client_init(&dead, "http://127.0.0.1:1", &opt, &e) == RPC_OK);
    CHECK(owncache_init(&c, 64, 0, NULL)); /* everything is stale at once */
    CHECK_INT(decide(&d, &c, &chain.rpc, ACCT_BUYER_2), ACCESS_OK);
    CHECK_INT(d.via, ACCESS_VIA_PASS);
    clock_sleep_ms(2);
    CHECK_INT(decide(&d, &c, &dead, ACCT_BUYER_2), ACCESS_OK);
    CHECK_INT(d.via, ACCESS_VIA_PASS);
    CHECK(d.used_stale);
    CHECK_INT(decide(&d, &c, &dead, ACCT_NOBODY), ACCESS_ERR_CHAIN_DOWN);
    CHECK_INT(d.via, ACCESS_DENIED);
    CHECK_INT(decide(&d, &c, NULL, ACCT_NOBODY), ACCESS_ERR_CHAIN_DOWN);
    CHECK_INT(decide(&d, &c, &dead, ACCT_OWNER), ACCESS_OK); /* needs no chain */
    CHECK_INT(d.via, ACCESS_VIA_OWNER);
    rpc_client_release(&dead);
    owncache_release(&c);
}

static void test_ingest_key(void)
{
    uint8_t good[32], bad[32];
    bool matches = true;
    struct err e = {0};
    ASSERT(crypto_sha256(good, ingest_key, strlen(ingest_key), NULL) == CRYPTO_OK);
    memcpy(bad, good, 32);
    bad[31] ^= 1;
    CHECK_INT(store_ingest_key_check(&matches, &db, stream, good, &e), STORE_OK);
    CHECK(matches);
    CHECK_INT(store_ingest_key_check(&matches, &db, stream, bad, &e), STORE_OK);
    CHECK(!matches);
    CHECK_INT(
        store_ingest_key_check(&matches, &db, "00000000-0000-4000-8000-000000000000", good, &e),
        STORE_ERR_NOT_FOUND);
}

static struct store_segment segment_of(uint32_t index, const char *rendition, uint64_t seq,
                                       const char *name, uint8_t hash_tag)
{
    struct store_segment s;
    memset(&s, 0, sizeof s);
    snprintf(s.stream_id, sizeof s.stream_id, "%s", stream);
    s.rendition_index = index;
    snprintf(s.rendition, sizeof s.rendition, "%s", rendition);
    s.media_sequence = seq;
    snprintf(s.name, sizeof s.name, "%s", name);
    memset(s.sha256, hash_tag, 32);
    s.bytes = 1000 + seq;
    s.duration_us = 2000000;
    return s;
}

/* Recording life: open (twice), renditions fixed once, segments recorded
 * once and immutable (also against a superuser UPDATE), end, no reopening. */
static void test_recording_and_segments(void)
{
    struct err e = {0};
    const char *names[2] = {"0", "1"}, *other[2] = {"1", "0"};
    uint32_t index = 99;
    CHECK_INT(store_rendition_index(&index, &db, stream, "0", &e), STORE_ERR_NOT_FOUND);
    CHECK_INT(store_recording_open(&db, stream, &e), STORE_OK);
    CHECK_INT(store_recording_open(&db, stream, &e), STORE_OK);
    CHECK_STR(pg_fixture_query_value(&db, "SELECT status FROM streams"), "live");
    CHECK_INT(store_recording_set_renditions(&db, stream, names, 2, &e), STORE_OK);
    CHECK_INT(store_recording_set_renditions(&db, stream, names, 2, &e), STORE_OK);
    CHECK_INT(store_recording_set_renditions(&db, stream, other, 2, &e), STORE_ERR_CONFLICT);
    const char *evil[1] = {"a,b}"};
    CHECK_INT(store_recording_set_renditions(&db, stream, evil, 1, &e), STORE_ERR_BAD_INPUT);
    CHECK_INT(store_rendition_index(&index, &db, stream, "1", &e), STORE_OK);
    CHECK_INT(index, 1);
    CHECK_INT(store_rendition_index(&index, &db, stream, "2", &e), STORE_ERR_NOT_FOUND);

    struct store_segment s0 = segment_of(0, "0", 0, "index0.ts", 0xa0);
    CHECK_INT(store_segment_record(&db, &s0, &e), STORE_OK);
    CHECK_INT(store_segment_record(&db, &s0, &e), STORE_OK); /* the same upload again */
    struct store_segment changed = s0;
    changed.sha256[0] ^= 1;
    CHECK_INT(store_segment_record(&db, &changed, &e), STORE_ERR_CONFLICT);
    struct store_segment renamed = segment_of(0, "0", 0, "other0.ts", 0xa0);
    CHECK_INT(store_segment_record(&db, &renamed, &e), STORE_ERR_CONFLICT);
    CHECK_STR(pg_fixture_query_value(&db, "SELECT count(*) FROM segments"), "1");
    CHECK(strstr(pg_fixture_query_value(&db, "UPDATE segments SET bytes = 1 RETURNING 1"),
                 "append-only") != NULL);
    CHECK(strstr(pg_fixture_query_value(&db, "DELETE FROM segments RETURNING 1"), "append-only") !=
          NULL);

    CHECK_INT(store_recording_end(&db, stream, &e), STORE_OK);
    CHECK_INT(store_recording_end(&db, stream, &e), STORE_OK);
    CHECK_STR(pg_fixture_query_value(&db, "SELECT status FROM recordings"), "ended");
    CHECK_STR(pg_fixture_query_value(&db, "SELECT status FROM streams"), "ended");
    CHECK_INT(store_recording_open(&db, stream, &e), STORE_ERR_CONFLICT);
}

static void test_cursor_and_contracts(void)
{
    uint64_t block = 0;
    uint8_t hash[32], got[32];
    struct err e = {0};
    memset(hash, 0x5c, 32);
    CHECK_INT(store_cursor_get(&block, got, &db, "gateway", CHAIN_ID_ANVIL, &e),
              STORE_ERR_NOT_FOUND);
    CHECK_INT(store_cursor_set(&db, "gateway", CHAIN_ID_ANVIL, 1234, hash, &e), STORE_OK);
    CHECK_INT(store_cursor_set(&db, "gateway", CHAIN_ID_ANVIL, 1235, hash, &e), STORE_OK);
    CHECK_INT(store_cursor_get(&block, got, &db, "gateway", CHAIN_ID_ANVIL, &e), STORE_OK);
    CHECK_INT(block, 1235);
    CHECK_MEM(got, hash, 32);
    CHECK_INT(store_cursor_get(&block, got, &db, "gateway", 1, &e), STORE_ERR_NOT_FOUND);
    struct address list[4];
    size_t n = 0;
    CHECK_INT(store_pass_contracts(list, 4, &n, &db, &e), STORE_OK);
    CHECK_INT(n, 1);
    CHECK(address_eq(&list[0], &pass));
}

int main(void)
{
    struct err e = {0};
    if (!pg_fixture_init("test_gateway_store"))
        return 1;
    if (!chain_open(&chain, &e)) {
        printf("# %s\nnot ok - environment\n0 passed, 1 failed\n", e.msg);
        return 1;
    }
    if (!setup()) {
        printf("not ok - setup\n0 passed, 1 failed\n");
        pg_fixture_drop_schema(&db, schema);
        chain_close(&chain);
        return 1;
    }
    RUN(test_stream_get);
    RUN(test_owner_pass_and_denied);
    RUN(test_tips_unlock);
    RUN(test_transfer_moves_access);
    RUN(test_chain_down);
    RUN(test_ingest_key);
    RUN(test_recording_and_segments);
    RUN(test_cursor_and_contracts);
    pg_fixture_drop_schema(&db, schema);
    chain_close(&chain);
    return harness_finish();
}
