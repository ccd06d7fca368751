/*
 * revenue_fixture.h - the revenue world of the settlement indexer's reorg
 * and crash tests (test_indexer_reorg.c, test_settlement_crash.c), on top of
 * vault_fixture.h and pg_fixture.h, against the runner's anvil and
 * PostgreSQL.
 *
 * The world: a vault; creator A (vault_fixture's creator_id) with a
 * registered RightsPass, one stream (stream_id) and split versions over
 * five payees (version 1: 35/25/15/10/15 %); creator B, unknown to the
 * database. Payments (enum rev_kind) come from the fan (anvil account 2)
 * as transactions this fixture signs itself (tx.h) with explicit nonces and
 * fixed gas limits, so that hundreds can be sent in one JSON-RPC batch and
 * packed into blocks with automine off (rev_burst), or placed into re-mined
 * blocks by anvil_reorg (rev_reorg). Each payment makes exactly one vault
 * event, and each is a distinct transaction (rev_sign_new), also when a
 * reorg reuses nonces.
 *
 * The expected ledger (rev_expect) is computed here, independently of
 * split.c and the indexer, from the payments whose receipts are on the
 * canonical chain (rev_refresh): per payee floor(amount * bps / 10000) in
 * unsigned __int128, the remainder to the largest bps, ties to the lowest
 * address; tips to a stranger stream, deposits by a non-pass and all of
 * B's revenue unattributed.
 *
 * rev_check_ledger() compares a ledger with that model to the wei (and the
 * model with the vault's receivedOf). Also: rev_indexer_config() (an
 * indexer over the world's vault), rev_main_open()/rev_main_close() (a test
 * program's prologue and epilogue: the whole program runs inside one
 * evm_snapshot that is reverted at its end, automine left on).
 *
 * Ownership: `struct rev_world` is large (static storage in the test); it
 * holds no heap memory. Failures are reported through harness.h CHECKs.
 * Limits: REV_PAYMENTS_MAX payments, REV_VERSIONS_MAX split versions,
 * REV_BATCH_TXS transactions per JSON-RPC batch.
 */
#ifndef TESTS_REVENUE_FIXTURE_H
#define TESTS_REVENUE_FIXTURE_H

#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "indexer.h"
#include "ledger.h"
#include "ledger_fixture.h"
#include "pg_fixture.h"
#include "tx.h"
#include "vault_fixture.h"

#define REV_PAYEES 5
#define REV_VERSIONS_MAX 4
#define REV_PAYMENTS_MAX 4096
#define REV_BATCH_TXS 100 /* <= RPC_BATCH_CALLS_MAX */
#define REV_PASS_SUPPLY 100000
#define REV_GAS_VAULT_CALL 100000u
#define REV_GAS_MINT 250000u
#define REV_GAS_ROYALTY 200000u /* leaves receive() above FORWARD_GAS_MIN: forwarded */
#define REV_RAW_HEX_BYTES (2 + 2 * 1024 + 1)
#define REV_U128_DEC_SIZE 40
#define REV_REORG_TIME_SHIFT_S 13
#define REV_DRAWS_MAX 64 /* rev_sign_new: a repeat is a few-percent event */

__extension__ typedef unsigned __int128 rev_u128;

enum rev_kind {
    REV_TIP = 0,          /* vault.tip(A, A's stream): attributed to A */
    REV_MINT = 1,         /* mint() of A's registered pass: RevenueReceived kind 1 */
    REV_ROYALTY = 2,      /* plain ETH to A's pass: RevenueReceived kind 2 */
    REV_TIP_STRANGER = 3, /* vault.tip(A, a stream A does not own): unattributed */
    REV_DEPOSIT = 4,      /* vault.deposit(A, 2, fan) sent by the fan: not a pass, unattributed */
    REV_TIP_OTHER = 5,    /* vault.tip(B, ...): B is unknown here, unattributed in B's books */
    REV_KINDS = 6
};

struct rev_payment {
    enum rev_kind kind;
    uint64_t amount_wei;
    uint8_t tx_hash[32];
    bool mined;     /* a receipt on the canonical chain (rev_refresh) */
    uint64_t block; /* its block, when mined */
};

struct rev_version {
    uint64_t from_block;
    uint32_t bps[REV_PAYEES]; /* of rev_world.payees[i] */
};

struct rev_world {
    struct address vault, pass, payees[REV_PAYEES];
    uint8_t key_a[32], key_b[32], stream_key[32], stranger_stream_key[32];
    uint64_t deploy_block; /* the vault's: where indexers start */
    struct rev_version versions[REV_VERSIONS_MAX];
    size_t versions_len;
    struct rev_payment payments[REV_PAYMENTS_MAX];
    size_t payments_len;
    uint64_t rng;
};

/* What the ledger must hold for the mined payments up to a block. */
struct rev_expect {
    rev_u128 payee_wei[REV_PAYEES]; /* A's payees, unsettled */
    rev_u128 unattributed_wei[2];   /* A, B */
    rev_u128 received_wei[2];       /* A, B: what the vault got */
    uint64_t events;
};

/* Fees every signed payment bids. */
struct rev_fees {
    struct u256 max_fee_wei, priority_fee_wei;
};

static const char rev_stranger_stream_id[] = "3c2b1a09-8f7e-4d6c-9b5a-493827160504";
static const char rev_creator_b_id[] = "e4d3c2b1-a098-4f7e-8d6c-5b4a39281706";
/* Out of address order on purpose, so that "lowest address" is a real rule. */
static const char *const rev_payee_hex[REV_PAYEES] = {
    "0x7000000000000000000000000000000000000007", "0x3000000000000000000000000000000000000003",
    "0xa00000000000000000000000000000000000000a", "0x1000000000000000000000000000000000000001",
    "0x5000000000000000000000000000000000000005"};

/* ---- helpers ------------------------------------------------------------------------------ */

static inline void rev_u128_dec(char out[REV_U128_DEC_SIZE], rev_u128 v)
{
    char tmp[REV_U128_DEC_SIZE];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + (int)(v % 10));
        v /= 10;
    } while (v != 0 && n < sizeof tmp - 1);
    for (size_t i = 0; i < n; i++)
        out[i] = tmp[n - 1 - i];
    out[n] = '\0';
}

static inline void rev_hex(char *out, size_t cap, const uint8_t *data, size_t len)
{
    ASSERT(hex_encode(out, cap, data, len) == 0);
}

/* A's creator key for every kind but REV_TIP_OTHER (B's). */
static inline bool rev_is_b(enum rev_kind k)
{
    return k == REV_TIP_OTHER;
}

static inline bool rev_attributed(enum rev_kind k)
{
    return k == REV_TIP || k == REV_MINT || k == REV_ROYALTY;
}

/* main()'s prologue: DATABASE_URL (pg_fixture_init with `prefix`), the
 * chain (or the TAP environment failure), an evm_snapshot into id. False:
 * main returns 1. */
static inline bool rev_main_open(const char *prefix, char id[CHAIN_SNAPSHOT_ID_MAX])
{
    struct err e = {0};
    if (!pg_fixture_init(prefix))
        return false;
    if (!chain_open(&chain, &e)) {
        fprintf(stdout, "# %s\nnot ok - environment\n0 passed, 1 failed\n", e.msg);
        return false;
    }
    chain_snapshot(&chain, id);
    return true;
}

/* main()'s epilogue: back to the snapshot, the chain closed. */
static inline void rev_main_close(const char *id)
{
    chain_revert(&chain, id);
    chain_close(&chain);
}

/* ---- the world ------------------------------------------------------------------------------ */

/* Adds split version `versions_len + 1` of A effective from `from_block`, in
 * the database and in the model. */
static inline bool rev_add_version(struct rev_world *w, struct pg_session *db, uint64_t from_block,
                                   const uint32_t bps[REV_PAYEES])
{
    ASSERT(w->versions_len < REV_VERSIONS_MAX);
    char version[12], block[24], payee[REV_PAYEES][41], b[REV_PAYEES][12];
    snprintf(version, sizeof version, "%zu", w->versions_len + 1);
    snprintf(block, sizeof block, "%" PRIu64, from_block);
    for (size_t i = 0; i < REV_PAYEES; i++) {
        rev_hex(payee[i], sizeof payee[i], w->payees[i].bytes, 20);
        snprintf(b[i], sizeof b[i], "%u", bps[i]);
    }
    const char *v[3] = {creator_id, version, block};
    const char *s[12] = {creator_id, version, payee[0], b[0], payee[1], b[1],
                         payee[2],   b[2],    payee[3], b[3], payee[4], b[4]};
    bool ok = lfx_exec(db, NULL, "BEGIN", NULL, 0) &&
              lfx_exec(db, NULL,
                       "INSERT INTO split_versions (creator_id, version, effective_from_block)"
                       " VALUES ($1, $2::integer, $3::bigint)",
                       v, 3) &&
              lfx_exec(db, NULL,
                       "INSERT INTO split_shares (creator_id, version, payee, role, bps) VALUES"
                       " ($1, $2::integer, decode($3, 'hex'), 'composer', $4::integer),"
                       " ($1, $2::integer, decode($5, 'hex'), 'performer', $6::integer),"
                       " ($1, $2::integer, decode($7, 'hex'), 'producer', $8::integer),"
                       " ($1, $2::integer, decode($9, 'hex'), 'mixer', $10::integer),"
                       " ($1, $2::integer, decode($11, 'hex'), 'label', $12::integer)",
                       s, 12) &&
              lfx_exec(db, NULL, "COMMIT", NULL, 0);
    if (!ok) {
        if (pg_exec(db, NULL, "ROLLBACK", NULL, 0, NULL) != PG_OK)
            fprintf(stdout, "# rollback failed\n");
        return false;
    }
    w->versions[w->versions_len].from_block = from_block;
    memcpy(w->versions[w->versions_len].bps, bps, sizeof w->versions[0].bps);
    w->versions_len++;
    return true;
}

/* Deploys the vault (claimDelay, claimWindow in seconds) and A's pass and
 * writes A (creator, pass, stream, split version 1 from block 0) into db's
 * migrated schema. */
static inline bool rev_setup_vault(struct rev_world *w, struct pg_session *db, uint64_t seed,
                                   uint64_t claim_delay_s, uint64_t claim_window_s)
{
    static const uint32_t v1[REV_PAYEES] = {3500, 2500, 1500, 1000, 1500};
    memset(w, 0, sizeof *w);
    w->rng = seed;
    chain_key_of(w->key_a, creator_id);
    chain_key_of(w->key_b, rev_creator_b_id);
    chain_key_of(w->stream_key, stream_id);
    chain_key_of(w->stranger_stream_key, rev_stranger_stream_id);
    for (size_t i = 0; i < REV_PAYEES; i++)
        ASSERT(address_parse(&w->payees[i], rev_payee_hex[i], strlen(rev_payee_hex[i]), NULL) ==
               ADDRESS_OK);
    if (!deploy_vault_with(&w->vault, claim_delay_s, claim_window_s))
        return false;
    w->deploy_block = chain_head(&chain);
    if (!deploy_pass(&w->pass, &w->vault, w->key_a, REV_PASS_SUPPLY, 500))
        return false;
    char ka[65], pa[41], sk[65], owner[41];
    rev_hex(ka, sizeof ka, w->key_a, 32);
    rev_hex(pa, sizeof pa, w->pass.bytes, 20);
    rev_hex(sk, sizeof sk, w->stream_key, 32);
    rev_hex(owner, sizeof owner, chain.addr[ACCT_ADMIN].bytes, 20);
    const char *c[3] = {creator_id, owner, ka};
    const char *p[2] = {creator_id, pa};
    const char *s[3] = {stream_id, creator_id, sk};
    return lfx_exec(db, NULL,
                    "INSERT INTO creators (id, owner, creator_key, name)"
                    " VALUES ($1, decode($2, 'hex'), decode($3, 'hex'), 'A')",
                    c, 3) &&
           lfx_exec(db, NULL,
                    "INSERT INTO passes (contract, creator_id, name, symbol, price_wei,"
                    " max_supply, royalty_bps) VALUES (decode($2, 'hex'), $1, 'Pass', 'P',"
                    " 25000000000000007, 100000, 500)",
                    p, 2) &&
           lfx_exec(db, NULL,
                    "INSERT INTO streams (id, creator_id, stream_key, title, ingest_key_hash)"
                    " VALUES ($1, $2, decode($3, 'hex'), 'Live', decode($3, 'hex'))",
                    s, 3) &&
           rev_add_version(w, db, 0, v1);
}

/* rev_setup_vault() with a vault whose claims open at settle and never expire. */
static inline bool rev_setup(struct rev_world *w, struct pg_session *db, uint64_t seed)
{
    return rev_setup_vault(w, db, seed, 0, 0);
}

/* An indexer configuration for the world: cursor `name`, the vault from
 * its deployment block on, `confirmations`; the rest indexer.h's defaults. */
static inline void rev_indexer_config(struct indexer_config *cfg, const struct rev_world *w,
                                      const char *name, uint32_t confirmations)
{
    indexer_config_default(cfg);
    cfg->name = name;
    cfg->chain_id = CHAIN_ID_ANVIL;
    cfg->vault = w->vault;
    cfg->start_block = w->deploy_block;
    cfg->confirmations = confirmations;
}

/* ---- signed payments ------------------------------------------------------------------------ */

/* Generous fees: twice the node's suggestion, so that a burst's later
 * blocks still take them. */
static inline bool rev_fees_now(struct rev_fees *out)
{
    struct rpc_fees f;
    struct err e = {0};
    bool ok = rpc_fee_suggestion(&chain.rpc, &f, &e) == RPC_OK &&
              u256_add(&out->max_fee_wei, &f.max_fee_wei, &f.max_fee_wei) == U256_OK;
    out->priority_fee_wei = f.priority_fee_wei;
    CHECK_MSG(ok, "fees: %s", e.msg);
    return ok;
}

/* A random payment kind and amount (tips mix 1 wei, around 10000 and large). */
static inline void rev_random_payment(struct rev_world *w, enum rev_kind *kind,
                                      uint64_t *amount_wei)
{
    static const enum rev_kind mix[10] = {REV_TIP,     REV_TIP,      REV_TIP,     REV_TIP,
                                          REV_MINT,    REV_ROYALTY,  REV_ROYALTY, REV_TIP_STRANGER,
                                          REV_DEPOSIT, REV_TIP_OTHER};
    *kind = mix[harness_rand(&w->rng) % 10];
    uint64_t r = harness_rand(&w->rng);
    switch (r % 6) {
    case 0:
        *amount_wei = 1;
        break;
    case 1:
        *amount_wei = 9999 + (r >> 8) % 3;
        break;
    case 2:
        *amount_wei = 1 + (r >> 8) % 100000;
        break;
    default:
        *amount_wei = 1 + (r >> 8) % (1ull << 50);
        break;
    }
    if (*kind == REV_MINT)
        *amount_wei = PASS_PRICE_WEI;
}

/* Signs one payment from the fan with `nonce` into raw_hex ("0x..."), its
 * hash into hash. */
static inline bool rev_sign(char raw_hex[REV_RAW_HEX_BYTES], uint8_t hash[32],
                            const struct rev_world *w, enum rev_kind kind, uint64_t amount_wei,
                            uint64_t nonce, const struct rev_fees *fees)
{
    struct abi_value args[3];
    const char *sig = "tip(bytes32,bytes32)";
    size_t argc = 2;
    struct tx_eip1559 tx = {.chain_id = CHAIN_ID_ANVIL,
                            .nonce = nonce,
                            .max_priority_fee_per_gas_wei = fees->priority_fee_wei,
                            .max_fee_per_gas_wei = fees->max_fee_wei,
                            .gas_limit = REV_GAS_VAULT_CALL,
                            .has_to = true,
                            .to = w->vault,
                            .value_wei = u256_from_u64(amount_wei)};
    args[0] = abi_value_bytes32(rev_is_b(kind) ? w->key_b : w->key_a);
    args[1] = abi_value_bytes32(kind == REV_TIP_STRANGER ? w->stranger_stream_key : w->stream_key);
    if (kind == REV_DEPOSIT) {
        sig = "deposit(bytes32,uint8,address)";
        args[1] = abi_value_uint8(2);
        args[2] = abi_value_address(&chain.addr[ACCT_FAN]);
        argc = 3;
    } else if (kind == REV_MINT || kind == REV_ROYALTY) {
        sig = kind == REV_MINT ? "mint()" : NULL;
        argc = 0;
        tx.to = w->pass;
        tx.gas_limit = kind == REV_MINT ? REV_GAS_MINT : REV_GAS_ROYALTY;
    }
    struct buf data, raw;
    struct err e = {0};
    buf_init(&data, 1024);
    buf_init(&raw, 1024);
    bool ok = sig == NULL || abi_encode_call(&data, sig, args, argc, &e) == ABI_OK;
    tx.data = data.data;
    tx.data_len = data.len;
    ok = ok && tx_sign(&raw, &tx, &chain.key[ACCT_FAN], &e) == TX_OK &&
         hex_encode_0x(raw_hex, REV_RAW_HEX_BYTES, raw.data, raw.len) == 0;
    if (ok)
        tx_hash(hash, raw.data, raw.len);
    CHECK_MSG(ok, "signing a payment: %s", e.msg);
    buf_release(&data);
    buf_release(&raw);
    return ok;
}

/* Records a signed payment. */
static inline void rev_record(struct rev_world *w, enum rev_kind kind, uint64_t amount_wei,
                              const uint8_t hash[32])
{
    ASSERT(w->payments_len < REV_PAYMENTS_MAX);
    struct rev_payment *p = &w->payments[w->payments_len++];
    memset(p, 0, sizeof *p);
    p->kind = kind;
    p->amount_wei = amount_wei;
    memcpy(p->tx_hash, hash, 32);
}

/* A payment of the world is the transaction `hash`. */
static inline bool rev_recorded(const struct rev_world *w, const uint8_t hash[32])
{
    for (size_t i = 0; i < w->payments_len; i++)
        if (memcmp(w->payments[i].tx_hash, hash, 32) == 0)
            return true;
    return false;
}

/* Draws a random payment, signs it with `nonce` and records it: a new
 * transaction, never one of the world's earlier payments. Signatures are
 * deterministic (RFC 6979), so the same nonce, kind, amount and fees give
 * the same transaction; nonces repeat after a reorg (rev_reorg's, and the
 * next burst's after one that left payments orphaned) and fees repeat once
 * the node's base fee has fallen to its floor (anvil: after some 150 nearly
 * empty blocks, so on a chain that earlier test programs advanced). Such a
 * draw would put an orphaned payment back on the chain while the world
 * counted it as a second payment; it is drawn again instead. */
static inline bool rev_sign_new(char raw_hex[REV_RAW_HEX_BYTES], uint8_t hash[32],
                                struct rev_world *w, uint64_t nonce, const struct rev_fees *fees)
{
    for (int draw = 0; draw < REV_DRAWS_MAX; draw++) {
        enum rev_kind kind;
        uint64_t amount = 0;
        rev_random_payment(w, &kind, &amount);
        if (!rev_sign(raw_hex, hash, w, kind, amount, nonce, fees))
            return false;
        if (!rev_recorded(w, hash)) {
            rev_record(w, kind, amount, hash);
            return true;
        }
    }
    CHECK_MSG(0, "no new payment at nonce %" PRIu64 " in %d draws", nonce, REV_DRAWS_MAX);
    return false;
}

/* The fan's nonce at block tag `tag`. */
static inline bool rev_nonce_at(uint64_t *out, const char *tag)
{
    struct err e = {0};
    bool ok =
        rpc_get_transaction_count(&chain.rpc, out, chain.addr[ACCT_FAN].bytes, tag, &e) == RPC_OK;
    CHECK_MSG(ok, "nonce at %s: %s", tag, e.msg);
    return ok;
}

/* Sends raw[0..n) (n <= REV_BATCH_TXS) in one batch; each answer must be
 * the hash we computed. */
static inline bool rev_send_batch(char (*raw)[REV_RAW_HEX_BYTES], uint8_t (*hash)[32], size_t n)
{
    struct rpc_batch_item items[REV_BATCH_TXS];
    ASSERT(n <= REV_BATCH_TXS);
    memset(items, 0, sizeof items);
    for (size_t i = 0; i < n; i++) {
        items[i].method = "eth_sendRawTransaction";
        items[i].params = json_pack("[s]", raw[i]);
    }
    struct err e = {0};
    bool ok = n == 0 || rpc_batch(&chain.rpc, items, n, &e) == RPC_OK;
    CHECK_MSG(ok, "eth_sendRawTransaction batch: %s", e.msg);
    for (size_t i = 0; i < n; i++) {
        uint8_t got[32];
        size_t len = 0;
        bool same = ok && chain_json_hex(got, 32, &len, 32, items[i].result) &&
                    memcmp(got, hash[i], 32) == 0;
        CHECK_MSG(!ok || same, "the node's hash of payment %zu is not ours", i);
        ok = ok && same;
        json_decref(items[i].result);
    }
    return ok;
}

static inline bool rev_automine(bool on)
{
    json_t *r = chain_call(&chain, "evm_setAutomine", json_pack("[b]", on ? 1 : 0));
    json_decref(r);
    return r != NULL;
}

/* Sends `count` random payments with automine off, `per_block` to a block
 * (evm_mine after each group), then turns automine back on. */
static inline bool rev_burst(struct rev_world *w, size_t count, size_t per_block)
{
    static char raw[REV_BATCH_TXS][REV_RAW_HEX_BYTES];
    static uint8_t hash[REV_BATCH_TXS][32];
    ASSERT(per_block >= 1 && per_block <= REV_BATCH_TXS);
    ASSERT(w->payments_len + count <= REV_PAYMENTS_MAX);
    struct rev_fees fees;
    uint64_t nonce = 0, pending = 0;
    bool ok =
        rev_fees_now(&fees) && rev_nonce_at(&nonce, "latest") && rev_nonce_at(&pending, "pending");
    CHECK_MSG(!ok || nonce == pending, "the fan has %" PRIu64 " transactions pending",
              pending - nonce);
    ok = ok && nonce == pending && rev_automine(false);
    for (size_t done = 0; ok && done < count;) {
        size_t n = count - done < per_block ? count - done : per_block;
        for (size_t i = 0; ok && i < n; i++)
            ok = rev_sign_new(raw[i], hash[i], w, nonce++, &fees);
        ok = ok && rev_send_batch(raw, hash, n);
        if (ok)
            json_decref(chain_call(&chain, "evm_mine", NULL));
        done += n;
    }
    return rev_automine(true) && ok;
}

/* anvil_reorg: replaces the last `depth` blocks by new ones at a later
 * time, each holding `per_block` new random payments (nonces from the
 * common ancestor's; rev_sign_new: none is a replaced block's payment
 * again). The head's number stays. */
static inline bool rev_reorg(struct rev_world *w, uint64_t depth, size_t per_block)
{
    static char raw[REV_BATCH_TXS][REV_RAW_HEX_BYTES];
    static uint8_t hash[REV_BATCH_TXS][32];
    ASSERT(depth >= 1 && depth * per_block <= REV_BATCH_TXS);
    uint64_t head = chain_head(&chain), nonce = 0;
    char tag[2 + 16 + 1];
    snprintf(tag, sizeof tag, "0x%" PRIx64, head - depth);
    struct rev_fees fees;
    bool ok = rev_fees_now(&fees) && rev_nonce_at(&nonce, tag);
    json_t *pairs = json_array();
    for (uint64_t b = 0; ok && b < depth; b++)
        for (size_t i = 0; ok && i < per_block; i++) {
            size_t k = (size_t)b * per_block + i;
            ok = rev_sign_new(raw[k], hash[k], w, nonce++, &fees);
            if (ok)
                json_array_append_new(pairs, json_pack("[sI]", raw[k], (json_int_t)b));
        }
    json_t *res = NULL;
    struct err e = {0};
    json_t *inc = ok ? chain_call(&chain, "evm_increaseTime",
                                  json_pack("[I]", (json_int_t)REV_REORG_TIME_SHIFT_S))
                     : NULL;
    if (ok && inc != NULL) /* the pairs go with the params */
        ok = rpc_call(&chain.rpc, "anvil_reorg", json_pack("[Io]", (json_int_t)depth, pairs), &res,
                      &e) == RPC_OK;
    else
        json_decref(pairs);
    ok = ok && inc != NULL;
    json_decref(inc);
    json_decref(res);
    CHECK_MSG(ok, "anvil_reorg %" PRIu64 ": %s", depth, e.msg);
    CHECK_INT(chain_head(&chain), head);
    return ok;
}

/* Reads the receipts of payments[from..] (batches of REV_BATCH_TXS): mined
 * and block, or not mined. A mined payment that failed is a CHECK failure. */
static inline bool rev_refresh_from(struct rev_world *w, size_t from)
{
    bool ok = true;
    for (size_t at = from; ok && at < w->payments_len; at += REV_BATCH_TXS) {
        struct rpc_batch_item items[REV_BATCH_TXS];
        size_t n = w->payments_len - at < REV_BATCH_TXS ? w->payments_len - at : REV_BATCH_TXS;
        memset(items, 0, sizeof items);
        for (size_t i = 0; i < n; i++) {
            char h[2 + 64 + 1];
            ASSERT(hex_encode_0x(h, sizeof h, w->payments[at + i].tx_hash, 32) == 0);
            items[i].method = "eth_getTransactionReceipt";
            items[i].params = json_pack("[s]", h);
        }
        struct err e = {0};
        ok = rpc_batch(&chain.rpc, items, n, &e) == RPC_OK;
        CHECK_MSG(ok, "receipts: %s", e.msg);
        for (size_t i = 0; i < n; i++) {
            struct rev_payment *p = &w->payments[at + i];
            struct rpc_receipt r;
            memset(&r, 0, sizeof r);
            p->mined = ok && !json_is_null(items[i].result);
            if (p->mined) {
                ok = rpc_parse_receipt(&r, items[i].result, &e) == RPC_OK;
                CHECK_MSG(ok && r.status == 1, "payment %zu (kind %d): %s status %" PRIu64, at + i,
                          (int)p->kind, e.msg, r.status);
                ok = ok && r.status == 1;
                p->block = r.block_number;
                rpc_receipt_release(&r);
            }
            json_decref(items[i].result);
        }
    }
    return ok;
}

/* Every payment's receipt, as rev_refresh_from(). */
static inline bool rev_refresh(struct rev_world *w)
{
    return rev_refresh_from(w, 0);
}

/* ---- the expected ledger ------------------------------------------------------------------ */

/* A's split version in force at `block` (the last one starting at or before it). */
static inline const struct rev_version *rev_version_at(const struct rev_world *w, uint64_t block)
{
    const struct rev_version *v = NULL;
    for (size_t i = 0; i < w->versions_len; i++)
        if (w->versions[i].from_block <= block)
            v = &w->versions[i];
    ASSERT(v != NULL);
    return v;
}

/* parts[i] = floor(amount * bps_i / 10000), the remainder to the largest
 * bps, ties to the lowest address. */
static inline void rev_split(rev_u128 parts[REV_PAYEES], const struct rev_world *w,
                             const struct rev_version *v, uint64_t amount_wei)
{
    rev_u128 sum = 0;
    size_t top = 0;
    for (size_t i = 0; i < REV_PAYEES; i++) {
        parts[i] = (rev_u128)amount_wei * v->bps[i] / 10000u;
        sum += parts[i];
        if (v->bps[i] > v->bps[top] ||
            (v->bps[i] == v->bps[top] && memcmp(w->payees[i].bytes, w->payees[top].bytes, 20) < 0))
            top = i;
    }
    parts[top] += (rev_u128)amount_wei - sum;
}

/* The expected ledger of the mined payments in blocks <= upto. */
static inline void rev_expect(struct rev_expect *x, const struct rev_world *w, uint64_t upto)
{
    memset(x, 0, sizeof *x);
    for (size_t i = 0; i < w->payments_len; i++) {
        const struct rev_payment *p = &w->payments[i];
        if (!p->mined || p->block > upto)
            continue;
        size_t c = rev_is_b(p->kind) ? 1 : 0;
        x->events++;
        x->received_wei[c] += p->amount_wei;
        if (!rev_attributed(p->kind)) {
            x->unattributed_wei[c] += p->amount_wei;
            continue;
        }
        rev_u128 parts[REV_PAYEES];
        rev_split(parts, w, rev_version_at(w, p->block), p->amount_wei);
        for (size_t j = 0; j < REV_PAYEES; j++)
            x->payee_wei[j] += parts[j];
    }
}

/* The unattributed credits in `key`'s books, as decimal text. */
static inline bool rev_unattributed_of(char out[U256_DEC_SIZE], struct pg_session *db,
                                       const uint8_t key[32])
{
    char ck[PG_BYTEA_TEXT_SIZE];
    pg_bytea_text(ck, key, 32);
    const char *params[1] = {ck};
    PGresult *res = NULL;
    bool ok = lfx_exec(db, &res,
                       "SELECT coalesce(sum(amount_wei), 0)::text FROM ledger_postings"
                       " WHERE creator_key = $1::bytea AND account = 'unattributed'"
                       " AND side = 'credit'",
                       params, 1);
    snprintf(out, U256_DEC_SIZE, "%s", ok ? PQgetvalue(res, 0, 0) : "?");
    PQclear(res);
    return ok;
}

/* The ledger holds exactly the expected ledger of the mined payments in
 * blocks <= upto: every payee's balance to the wei, the unattributed
 * revenue of A and B, the number of revenue entries; and the vault's
 * receivedOf at `upto` equals the model (the model reads the chain right). */
static inline bool rev_check_ledger(const struct rev_world *w, struct pg_session *db, uint64_t upto)
{
    static struct ledger_payee_balance b[REV_PAYEES + 1];
    struct rev_expect x;
    rev_expect(&x, w, upto);
    size_t n = 0, want_n = 0;
    struct err e = {0};
    bool ok = ledger_payee_balances(b, REV_PAYEES + 1, &n, db, w->key_a, &e) == LEDGER_OK;
    CHECK_MSG(ok, "balances: %s", e.msg);
    for (size_t j = 0; ok && j < REV_PAYEES; j++) {
        char want[REV_U128_DEC_SIZE], got[U256_DEC_SIZE] = "0", settled[U256_DEC_SIZE] = "0";
        rev_u128_dec(want, x.payee_wei[j]);
        want_n += x.payee_wei[j] != 0;
        for (size_t i = 0; i < n; i++)
            if (address_eq(&b[i].payee, &w->payees[j])) {
                u256_to_dec(got, &b[i].unsettled_wei);
                u256_to_dec(settled, &b[i].settled_wei);
            }
        CHECK_MSG(strcmp(got, want) == 0 && strcmp(settled, "0") == 0,
                  "payee %s up to block %" PRIu64 ": ledger %s (settled %s), expected %s",
                  rev_payee_hex[j], upto, got, settled, want);
        ok = strcmp(got, want) == 0 && strcmp(settled, "0") == 0;
    }
    CHECK_MSG(!ok || n == want_n, "%zu payees in the ledger, %zu expected", n, want_n);
    ok = ok && n == want_n &&
         ledger_payee_balances(b, REV_PAYEES + 1, &n, db, w->key_b, &e) == LEDGER_OK;
    CHECK_MSG(!ok || n == 0, "B has %zu payees", n);
    for (size_t c = 0; ok && c < 2; c++) {
        char got[U256_DEC_SIZE], want[REV_U128_DEC_SIZE];
        rev_u128_dec(want, x.unattributed_wei[c]);
        ok = rev_unattributed_of(got, db, c == 0 ? w->key_a : w->key_b);
        CHECK_MSG(!ok || strcmp(got, want) == 0, "unattributed of %c: %s, expected %s",
                  c == 0 ? 'A' : 'B', got, want);
        ok = ok && strcmp(got, want) == 0;
        struct u256 onchain;
        char chain_dec[U256_DEC_SIZE], model[REV_U128_DEC_SIZE];
        rev_u128_dec(model, x.received_wei[c]);
        ok = ok &&
             lfx_received_of(&onchain, &chain.rpc, &w->vault, c == 0 ? w->key_a : w->key_b, upto);
        if (ok)
            u256_to_dec(chain_dec, &onchain);
        CHECK_MSG(!ok || strcmp(chain_dec, model) == 0,
                  "receivedOf(%c) at %" PRIu64 " is %s, the test's payments %s", c == 0 ? 'A' : 'B',
                  upto, chain_dec, model);
        ok = ok && strcmp(chain_dec, model) == 0;
    }
    char count[24];
    snprintf(count, sizeof count, "%" PRIu64, x.events);
    const char *v = pg_fixture_query_value(db, "SELECT count(*) FROM ledger_entries"
                                               " WHERE kind = 'revenue'");
    CHECK_MSG(strcmp(v, count) == 0, "%s revenue entries, %s payments mined up to %" PRIu64, v,
              count, upto);
    return ok && strcmp(v, count) == 0;
}

#endif
