/*
 * test_txmgr.c - the transaction manager (services/settlement/txmgr.c)
 * against the runner's real PostgreSQL and anvil.
 *
 * Every chain write goes through txmgr with anvil account 7 as the
 * operator (a fresh schema, migrations applied). Automine is off: blocks
 * are mined by the test (evm_mine, which returns once the block exists), so
 * what a tick sees never depends on timing. The steps share the chain and
 * the database, each ending with its rows final, so that the next one
 * starts from a known sender nonce:
 *   - submit stores the signed raw transaction inside the caller's
 *     transaction and the node does not know its hash until a tick
 *     broadcasts it; once in a block a tick records it mined, and
 *     `confirmations` blocks later confirmed;
 *   - a purpose submitted twice is TXMGR_ERR_EXISTS and signs nothing; bad
 *     requests and configurations (a 9 % bump) are refused; a rolled-back
 *     submit gives its nonce back;
 *   - two threads with their own sessions submit at once: distinct
 *     consecutive nonces from PostgreSQL; the same purpose from both: one
 *     row;
 *   - "already known": re-broadcasts of a pending transaction sign nothing;
 *   - stuck (automine off, an odd base fee, then a fee spike): every
 *     replacement raises max fee and tip by exactly ceil(110 %) or to the
 *     node's suggestion, no stored attempt is ever less than 10 % above the
 *     previous one, exactly one attempt is mined;
 *   - the cap: a base fee above it signs nothing (TXMGR_ERR_FEE_CAP); a bump
 *     above it is not signed and the stored attempt still lands;
 *   - lost responses (an in-test proxy in front of anvil forwards
 *     eth_sendRawTransaction, then answers 500 or closes the connection,
 *     so the client retries and anvil answers "already imported"): nothing
 *     is signed again, the receipt resolves it, exactly one transaction
 *     lands;
 *   - a reorg (anvil_reorg) drops the mined block: the row returns to
 *     pending, its stored raw bytes are re-sent, it confirms once;
 *   - the operator's nonce used outside the manager (txsend with the same
 *     key): "nonce too low" changes nothing until the outside transaction
 *     is `confirmations` deep, then the row is re-signed with a fresh nonce
 *     and lands exactly once;
 *   - a contract creation's address is CREATE(sender, nonce);
 *   - a second driver of the sender is not the leader.
 *
 * Environment: DATABASE_URL and ETH_RPC_URL (tests/run.sh), run from the
 * repository root. The whole program runs inside one evm_snapshot that
 * main() reverts at the end (after turning automine back on).
 */
#include <curl/curl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "chain_fixture.h"
#include "clock.h"
#include "http_fixture.h"
#include "pg_fixture.h"
#include "txmgr.h"

#define ACCT_TM 7 /* the manager's sender */
#define ACCT_TO 1 /* receives the transfers */
#define CONFIRMATIONS 2
#define TRANSFER_WEI 1000003u
#define GWEI 1000000000ull
#define CONC_PER_THREAD 5
#define PROXY_RESPONSE_BYTES_MAX ((size_t)1 << 20)
#define PROXY_ANSWERS_BYTES 1024
#define SQL_BYTES 512

static struct chain chain;
static struct logger tm_logger; /* the manager's log lines, on stderr */
static struct pg_session db;
static char schema[64];
static char rpc_url[CONFIG_URL_BYTES_MAX + 1];

/* ---- helpers ------------------------------------------------------------------------ */

static const char *value(const char *sql)
{
    return pg_fixture_query_value(&db, sql);
}

/* value() of a query with one %s, filled with `purpose` (test constants only). */
static const char *value_of(const char *fmt, const char *purpose)
{
    char sql[SQL_BYTES];
    snprintf(sql, sizeof sql, fmt, purpose);
    return value(sql);
}

static void node_call(const char *method, json_t *params)
{
    json_decref(chain_call(&chain, method, params));
}

static void automine(bool on)
{
    node_call("evm_setAutomine", json_pack("[b]", on));
}

/* The next block's base fee, then that block mined (empty unless the pool
 * holds transactions that pay it). */
static void mine_with_base_fee(uint64_t base_fee_wei)
{
    char hex[U256_HEX_SIZE];
    struct u256 v = u256_from_u64(base_fee_wei);
    u256_to_hex(hex, &v);
    node_call("anvil_setNextBlockBaseFeePerGas", json_pack("[s]", hex));
    chain_mine(&chain, 1);
}

static uint64_t account_nonce(const char *tag)
{
    uint64_t n = 0;
    struct err e = {0};
    CHECK_MSG(rpc_get_transaction_count(&chain.rpc, &n, chain.addr[ACCT_TM].bytes, tag, &e) ==
                  RPC_OK,
              "%s", e.msg);
    return n;
}

/* True when the node knows the transaction (pool or chain). */
static bool node_knows(const uint8_t hash[32])
{
    char h[2 + 64 + 1];
    ASSERT(hex_encode_0x(h, sizeof h, hash, 32) == 0);
    json_t *res = chain_call(&chain, "eth_getTransactionByHash", json_pack("[s]", h));
    bool known = res != NULL && !json_is_null(res);
    json_decref(res);
    return known;
}

static bool has_receipt(const uint8_t hash[32], struct rpc_receipt *out)
{
    struct rpc_receipt rc;
    struct err e = {0};
    enum rpc_result r = rpc_get_transaction_receipt(&chain.rpc, &rc, hash, &e);
    CHECK_MSG(r == RPC_OK || r == RPC_ERR_NO_RECEIPT, "%s", e.msg);
    if (r != RPC_OK)
        return false;
    if (out != NULL)
        *out = rc;
    else
        rpc_receipt_release(&rc);
    return true;
}

static bool tm_make(struct txmgr *m, uint64_t cap_wei, uint32_t resend_after_ms, uint32_t bump_pct)
{
    struct txmgr_config cfg;
    struct err e = {0};
    txmgr_config_default(&cfg);
    cfg.chain_id = CHAIN_ID_ANVIL;
    cfg.key = &chain.key[ACCT_TM];
    cfg.max_fee_per_gas_cap_wei = cap_wei;
    cfg.confirmations = CONFIRMATIONS;
    cfg.resend_after_ms = resend_after_ms;
    cfg.bump_pct = bump_pct;
    cfg.log = &tm_logger;
    bool ok = txmgr_init(m, &cfg, &e) == TXMGR_OK;
    CHECK_MSG(ok, "%s", e.msg);
    return ok;
}

/* A plain transfer request of TRANSFER_WEI to ACCT_TO (gas estimated). */
static struct txmgr_request transfer(const char *purpose)
{
    struct txmgr_request req = {.purpose = purpose,
                                .has_to = true,
                                .to = chain.addr[ACCT_TO],
                                .value_wei = u256_from_u64(TRANSFER_WEI)};
    return req;
}

/* BEGIN; submit; COMMIT (ROLLBACK after a failure). */
static enum txmgr_result submit_in(struct pg_session *pc, struct rpc_client *rpc, struct txmgr *m,
                                   const struct txmgr_request *req, struct txmgr_tx *out,
                                   struct err *e)
{
    if (pg_begin(pc, PG_READ_COMMITTED, e) != PG_OK)
        return TXMGR_ERR_DB;
    enum txmgr_result r = txmgr_submit(out, m, pc, rpc, req, e);
    if (r == TXMGR_OK && pg_commit(pc, e) != PG_OK)
        return TXMGR_ERR_DB;
    if (r != TXMGR_OK && pg_rollback(pc, NULL) != PG_OK)
        return TXMGR_ERR_DB;
    return r;
}

static enum txmgr_result submit(struct txmgr *m, const struct txmgr_request *req,
                                struct txmgr_tx *out)
{
    struct err e = {0};
    enum txmgr_result r = submit_in(&db, &chain.rpc, m, req, out, &e);
    if (r != TXMGR_OK)
        fprintf(stdout, "# submit '%s': %s\n", req->purpose, e.msg);
    return r;
}

static struct txmgr_tick_report tick_via(struct txmgr *m, struct rpc_client *rpc)
{
    struct txmgr_tick_report rep;
    struct err e = {0};
    CHECK_MSG(txmgr_tick(&rep, m, &db, rpc, &e) == TXMGR_OK, "tick: %s", e.msg);
    return rep;
}

static struct txmgr_tick_report tick(struct txmgr *m)
{
    return tick_via(m, &chain.rpc);
}

static enum txmgr_status status_of(const char *purpose, struct txmgr_tx *out)
{
    struct err e = {0};
    struct txmgr_tx tx;
    if (out == NULL)
        out = &tx;
    CHECK_MSG(txmgr_get(out, &db, purpose, &e) == TXMGR_OK, "get '%s': %s", purpose, e.msg);
    return out->status;
}

/* Mines one block holding what was broadcast; a tick records the row of
 * purpose mined (found by its receipt, nothing re-sent). */
static void land(struct txmgr *m, const char *purpose)
{
    chain_mine(&chain, 1);
    struct txmgr_tick_report rep = tick(m);
    CHECK_INT(rep.mined, 1);
    CHECK_INT(rep.broadcast + rep.bumped + rep.renonced, 0);
    CHECK_STR(txmgr_status_name(status_of(purpose, NULL)), "mined");
}

/* Mines `confirmations` blocks and ticks: the row of purpose is final. */
static void confirm(struct txmgr *m, const char *purpose)
{
    chain_mine(&chain, CONFIRMATIONS);
    struct txmgr_tick_report rep = tick(m);
    CHECK_INT(rep.confirmed, 1);
    CHECK_STR(txmgr_status_name(status_of(purpose, NULL)), "confirmed");
}

/* The stored attempts of purpose: hashes into out (at most max); returns
 * how many. */
static size_t attempt_hashes(uint8_t (*out)[32], size_t max, const char *purpose)
{
    const char *params[1] = {purpose};
    PGresult *res = NULL;
    struct err e = {0};
    size_t n = 0;
    CHECK_MSG(pg_exec(&db, &res,
                      "SELECT encode(a.tx_hash, 'hex') FROM chain_tx_attempts a"
                      " JOIN chain_txs t ON t.id = a.tx_id WHERE t.purpose = $1 ORDER BY attempt",
                      params, 1, &e) == PG_OK,
              "%s", e.msg);
    for (int i = 0; res != NULL && i < PQntuples(res) && n < max; i++, n++) {
        const char *h = PQgetvalue(res, i, 0);
        CHECK(hex_decode_exact(out[n], 32, h, strlen(h), NULL) == HEX_OK);
    }
    PQclear(res);
    return n;
}

/* How many of purpose's attempts the node has a receipt for. */
static size_t attempts_mined(const char *purpose)
{
    uint8_t hashes[TXMGR_ATTEMPTS_MAX][32];
    size_t n = attempt_hashes(hashes, TXMGR_ATTEMPTS_MAX, purpose), mined = 0;
    for (size_t i = 0; i < n; i++)
        mined += has_receipt(hashes[i], NULL);
    return mined;
}

/* The node's fee suggestion within cap, as submit and bumps take it. */
static void suggestion(uint64_t *max_fee, uint64_t *tip, uint64_t cap)
{
    struct rpc_fees f;
    struct err e = {0};
    CHECK_MSG(rpc_fee_suggestion(&chain.rpc, &f, &e) == RPC_OK, "%s", e.msg);
    uint64_t m = 0, t = 0;
    CHECK(u256_to_u64(&m, &f.max_fee_wei) && u256_to_u64(&t, &f.priority_fee_wei));
    *max_fee = m < cap ? m : cap;
    *tip = t < *max_fee ? t : *max_fee;
}

static uint64_t base_fee(void)
{
    struct rpc_fees f;
    struct err e = {0};
    uint64_t b = 0;
    CHECK_MSG(rpc_fee_suggestion(&chain.rpc, &f, &e) == RPC_OK, "%s", e.msg);
    CHECK(u256_to_u64(&b, &f.base_fee_wei));
    return b;
}

/* ceil(v * 110 / 100): the least 10 % bump, computed here on its own. */
static uint64_t plus10(uint64_t v)
{
    return (v * 110 + 99) / 100;
}

static uint64_t max_u64(uint64_t a, uint64_t b)
{
    return a > b ? a : b;
}

/* ---- an in-test proxy in front of anvil that can lose answers ----------------------- */

enum proxy_mode { PROXY_PASS = 0, PROXY_LOSE_500 = 1, PROXY_LOSE_CLOSE = 2 };

struct proxy {
    struct http_fixture http;
    enum proxy_mode mode;                   /* guarded by http.mu */
    int sends;                              /* eth_sendRawTransaction forwarded to anvil */
    char send_answers[PROXY_ANSWERS_BYTES]; /* anvil's answers to them, concatenated */
};

static struct proxy proxy;

static size_t proxy_sink(char *p, size_t size, size_t n, void *ud)
{
    return buf_append(ud, p, size * n) == BUF_OK ? size * n : 0;
}

/* POSTs body to anvil; resp = its answer. */
static bool proxy_forward(struct buf *resp, const char *body, size_t body_len)
{
    CURL *h = curl_easy_init();
    struct curl_slist *hdr = curl_slist_append(NULL, "Content-Type: application/json");
    long status = 0;
    bool ok = h != NULL && hdr != NULL && curl_easy_setopt(h, CURLOPT_URL, rpc_url) == CURLE_OK &&
              curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr) == CURLE_OK &&
              curl_easy_setopt(h, CURLOPT_POSTFIELDS, body) == CURLE_OK &&
              curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)body_len) == CURLE_OK &&
              curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, proxy_sink) == CURLE_OK &&
              curl_easy_setopt(h, CURLOPT_WRITEDATA, resp) == CURLE_OK &&
              curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 10000L) == CURLE_OK &&
              curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L) == CURLE_OK &&
              curl_easy_perform(h) == CURLE_OK &&
              curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status) == CURLE_OK && status == 200;
    curl_slist_free_all(hdr);
    if (h != NULL)
        curl_easy_cleanup(h);
    return ok;
}

/* Forwards every request; the answer to a send is lost as the mode says. */
static void proxy_handle(struct http_fixture *f, int fd, const char *body, size_t body_len)
{
    struct proxy *p = f->ctx;
    bool send = strstr(body, "\"eth_sendRawTransaction\"") != NULL;
    struct buf resp;
    buf_init(&resp, PROXY_RESPONSE_BYTES_MAX);
    bool ok = proxy_forward(&resp, body, body_len);
    pthread_mutex_lock(&f->mu);
    enum proxy_mode mode = p->mode;
    if (send) {
        p->sends++;
        size_t used = strlen(p->send_answers);
        snprintf(p->send_answers + used, sizeof p->send_answers - used, "%s;",
                 ok ? (const char *)resp.data : "(anvil failed)");
    }
    pthread_mutex_unlock(&f->mu);
    if (!ok)
        http_fixture_reply(fd, 502, "{}");
    else if (send && mode == PROXY_LOSE_500)
        http_fixture_reply(fd, 500, "{\"error\":\"lost\"}");
    else if (!(send && mode == PROXY_LOSE_CLOSE)) /* close: the fixture hangs up */
        http_fixture_reply(fd, 200, (const char *)resp.data);
    buf_release(&resp);
}

/* Sets the mode; `reset` also clears what was recorded. */
static void proxy_set(enum proxy_mode mode, bool reset)
{
    pthread_mutex_lock(&proxy.http.mu);
    proxy.mode = mode;
    if (reset) {
        proxy.sends = 0;
        proxy.send_answers[0] = '\0';
    }
    pthread_mutex_unlock(&proxy.http.mu);
}

/* What the proxy recorded: sends forwarded, and whether anvil's answers to
 * them contain `text`. */
static int proxy_sends(const char *text, bool *contains)
{
    pthread_mutex_lock(&proxy.http.mu);
    int n = proxy.sends;
    *contains = strstr(proxy.send_answers, text) != NULL;
    pthread_mutex_unlock(&proxy.http.mu);
    return n;
}

/* ---- steps ---------------------------------------------------------------------------- */

static struct txmgr tm; /* cap 500 gwei, resend after 60 s, bump 10 % */
static uint64_t nonce0; /* the sender's nonce before the first submit */

static void test_setup(void)
{
    if (!pg_fixture_migrated_schema(&db, schema, sizeof schema)) {
        CHECK_MSG(0, "no schema");
        return;
    }
    CHECK(tm_make(&tm, CONFIG_MAX_FEE_PER_GAS_WEI_DEFAULT, 60000, 10));
    nonce0 = account_nonce("pending");
    CHECK_INT(nonce0, account_nonce("latest"));
    automine(false);
}

static void test_bad_config_and_requests(void)
{
    struct txmgr bad;
    struct txmgr_config cfg;
    struct err e = {0};
    txmgr_config_default(&cfg);
    CHECK_INT(cfg.bump_pct, 12);
    cfg.chain_id = CHAIN_ID_ANVIL;
    cfg.key = &chain.key[ACCT_TM];
    cfg.max_fee_per_gas_cap_wei = CONFIG_MAX_FEE_PER_GAS_WEI_DEFAULT;
    cfg.bump_pct = 9; /* below geth's replacement rule: never configured */
    CHECK_INT(txmgr_init(&bad, &cfg, &e), TXMGR_ERR_BAD_INPUT);
    cfg.bump_pct = 10;
    cfg.max_fee_per_gas_cap_wei = 0;
    CHECK_INT(txmgr_init(&bad, &cfg, &e), TXMGR_ERR_BAD_INPUT);
    cfg.max_fee_per_gas_cap_wei = 1;
    cfg.confirmations = TXMGR_CONFIRMATIONS_MAX + 1;
    CHECK_INT(txmgr_init(&bad, &cfg, &e), TXMGR_ERR_BAD_INPUT);

    struct txmgr_tx out;
    struct txmgr_request req = transfer("Upper:case");
    CHECK_INT(submit_in(&db, &chain.rpc, &tm, &req, &out, &e), TXMGR_ERR_BAD_INPUT);
    char long_purpose[TXMGR_PURPOSE_BYTES_MAX + 2];
    memset(long_purpose, 'a', sizeof long_purpose - 1);
    long_purpose[sizeof long_purpose - 1] = '\0';
    req = transfer(long_purpose);
    CHECK_INT(submit_in(&db, &chain.rpc, &tm, &req, &out, &e), TXMGR_ERR_BAD_INPUT);
    long_purpose[TXMGR_PURPOSE_BYTES_MAX] = '\0'; /* exactly the maximum: fine, but no gas */
    req = transfer(long_purpose);
    req.gas_limit = TXSEND_GAS_ESTIMATE_MIN - 1;
    CHECK_INT(submit_in(&db, &chain.rpc, &tm, &req, &out, &e), TXMGR_ERR_BAD_INPUT);
    req.gas_limit = TXSEND_GAS_LIMIT_MAX + 1;
    CHECK_INT(submit_in(&db, &chain.rpc, &tm, &req, &out, &e), TXMGR_ERR_BAD_INPUT);
    req.gas_limit = 0;
    req.data_len = TX_DATA_BYTES_MAX + 1;
    static const uint8_t one[1] = {0};
    req.data = one;
    CHECK_INT(submit_in(&db, &chain.rpc, &tm, &req, &out, &e), TXMGR_ERR_BAD_INPUT);
    CHECK_INT(txmgr_get(&out, &db, "t:none", &e), TXMGR_ERR_NOT_FOUND);
    CHECK_STR(value("SELECT count(*) FROM chain_txs"), "0");
    CHECK_STR(value("SELECT count(*) FROM tx_senders"), "0");
}

/* Submitted inside the caller's transaction; stored, signed, not sent. */
static void test_submit_stores_before_broadcast(void)
{
    struct pg_session other = {0};
    struct txmgr_tx out, seen;
    struct err e = {0};
    struct txmgr_request req = transfer("t:normal");
    CHECK(pg_fixture_join_schema(&other, schema));
    CHECK(pg_begin(&db, PG_READ_COMMITTED, &e) == PG_OK);
    CHECK_INT(txmgr_submit(&out, &tm, &db, &chain.rpc, &req, &e), TXMGR_OK);
    CHECK_INT(out.status, TXMGR_SIGNED);
    CHECK_INT(out.nonce, nonce0);
    CHECK_INT(out.attempts, 1);
    CHECK(address_eq(&out.from, &chain.addr[ACCT_TM]));
    CHECK_INT(txmgr_get(&seen, &other, "t:normal", &e), TXMGR_ERR_NOT_FOUND); /* uncommitted */
    CHECK(pg_commit(&db, &e) == PG_OK);
    CHECK_INT(txmgr_get(&seen, &other, "t:normal", &e), TXMGR_OK);
    CHECK(memcmp(seen.tx_hash, out.tx_hash, 32) == 0);
    pg_release(&other);

    /* The stored raw bytes: our hash, our fields, our signature. */
    const char *raw_hex = value("SELECT encode(raw, 'hex') FROM chain_tx_attempts");
    uint8_t raw[512], h[32];
    size_t raw_len = 0;
    CHECK(hex_decode(raw, sizeof raw, &raw_len, raw_hex, strlen(raw_hex), NULL) == HEX_OK);
    tx_hash(h, raw, raw_len);
    CHECK(memcmp(h, out.tx_hash, 32) == 0);
    struct tx_eip1559 tx;
    struct tx_signature sig;
    struct address signer;
    CHECK(tx_decode_signed(&tx, &sig, raw, raw_len, &e) == TX_OK);
    CHECK(tx_recover_sender(&signer, &tx, &sig, &e) == TX_OK);
    CHECK(address_eq(&signer, &chain.addr[ACCT_TM]));
    CHECK_INT(tx.chain_id, CHAIN_ID_ANVIL);
    CHECK_INT(tx.nonce, nonce0);
    CHECK(tx.has_to && address_eq(&tx.to, &chain.addr[ACCT_TO]));
    struct u256 v = u256_from_u64(TRANSFER_WEI), fee = u256_from_u64(out.max_fee_per_gas_wei);
    CHECK(u256_cmp(&tx.value_wei, &v) == 0 && u256_cmp(&tx.max_fee_per_gas_wei, &fee) == 0);
    CHECK_INT(tx.gas_limit, 21000 + 21000 * TXSEND_GAS_MARGIN_PCT / 100);
    CHECK_INT(tx.data_len, 0);

    /* Nothing reached the node. */
    CHECK(!node_knows(out.tx_hash));
    CHECK_INT(account_nonce("pending"), nonce0);
    char want[32];
    snprintf(want, sizeof want, "%" PRIu64, nonce0 + 1);
    CHECK_STR(value("SELECT next_nonce FROM tx_senders"), want);
    CHECK_STR(value("SELECT broadcast_at IS NULL FROM chain_tx_attempts"), "t");
}

static void test_tick_mines_and_confirms(void)
{
    struct u256 before, after;
    struct err e = {0};
    CHECK(chain_balance(&before, &chain, &chain.addr[ACCT_TO], &e));
    struct txmgr_tick_report rep = tick(&tm);
    CHECK_INT(rep.broadcast, 1);
    CHECK_INT(rep.mined + rep.confirmed + rep.bumped + rep.renonced + rep.unmined, 0);
    struct txmgr_tx out;
    CHECK_STR(txmgr_status_name(status_of("t:normal", &out)), "pending");
    CHECK(node_knows(out.tx_hash));
    CHECK_INT(account_nonce("pending"), nonce0 + 1);
    CHECK_INT(account_nonce("latest"), nonce0);
    land(&tm, "t:normal");
    CHECK_INT(status_of("t:normal", &out), TXMGR_MINED);
    struct rpc_receipt rc;
    CHECK(has_receipt(out.tx_hash, &rc));
    CHECK(out.has_block && out.block_number == rc.block_number &&
          memcmp(out.block_hash, rc.block_hash, 32) == 0);
    rpc_receipt_release(&rc);
    rep = tick(&tm); /* 0 blocks on top: still mined, nothing re-sent */
    CHECK_INT(rep.broadcast + rep.mined + rep.confirmed, 0);
    CHECK_INT(status_of("t:normal", NULL), TXMGR_MINED);
    chain_mine(&chain, CONFIRMATIONS - 1);
    rep = tick(&tm);
    CHECK_INT(rep.confirmed, 0);
    CHECK_INT(status_of("t:normal", NULL), TXMGR_MINED);
    chain_mine(&chain, 1); /* now `confirmations` blocks on top */
    rep = tick(&tm);
    CHECK_INT(rep.confirmed, 1);
    CHECK_INT(rep.broadcast + rep.mined + rep.unmined, 0);
    CHECK_STR(txmgr_status_name(status_of("t:normal", &out)), "confirmed");
    CHECK(out.has_block && out.block_number + CONFIRMATIONS == chain_head(&chain));
    rep = tick(&tm); /* final rows are not looked at again */
    CHECK_INT(rep.broadcast + rep.mined + rep.confirmed + rep.unmined, 0);
    CHECK(chain_balance(&after, &chain, &chain.addr[ACCT_TO], &e));
    struct u256 diff, v = u256_from_u64(TRANSFER_WEI);
    CHECK(u256_sub(&diff, &after, &before) == U256_OK && u256_cmp(&diff, &v) == 0);
    CHECK_INT(account_nonce("latest"), nonce0 + 1);
}

static void test_exists_signs_nothing(void)
{
    struct txmgr_tx out, first;
    struct err e = {0};
    CHECK_INT(txmgr_get(&first, &db, "t:normal", &e), TXMGR_OK);
    struct txmgr_request req = transfer("t:normal");
    req.value_wei = u256_from_u64(1); /* another payload: not compared, not signed */
    CHECK_INT(submit_in(&db, &chain.rpc, &tm, &req, &out, &e), TXMGR_ERR_EXISTS);
    CHECK_INT(out.id, first.id);
    CHECK(memcmp(out.tx_hash, first.tx_hash, 32) == 0);
    CHECK_INT(out.status, TXMGR_CONFIRMED);
    CHECK_STR(value("SELECT count(*) FROM chain_tx_attempts"), "1");
    char want[32];
    snprintf(want, sizeof want, "%" PRIu64, nonce0 + 1);
    CHECK_STR(value("SELECT next_nonce FROM tx_senders"), want);

    /* A rolled-back submit leaves nothing and gives its nonce back. */
    req = transfer("t:rolled-back");
    CHECK(pg_begin(&db, PG_READ_COMMITTED, &e) == PG_OK);
    CHECK_INT(txmgr_submit(&out, &tm, &db, &chain.rpc, &req, &e), TXMGR_OK);
    CHECK_INT(out.nonce, nonce0 + 1);
    CHECK(pg_rollback(&db, &e) == PG_OK);
    CHECK_STR(value("SELECT count(*) FROM chain_txs"), "1");
    CHECK_STR(value("SELECT next_nonce FROM tx_senders"), want);
}

/* ---- concurrent submitters -------------------------------------------------------------- */

struct submitter {
    int index;
    pthread_barrier_t *start;
    enum txmgr_result r[CONC_PER_THREAD];
    enum txmgr_result same;
    struct txmgr_tx same_tx;
    bool setup_ok;
};

static void *submitter_main(void *arg)
{
    struct submitter *s = arg;
    struct pg_session pc = {0};
    struct rpc_client rpc;
    struct err e = {0};
    s->setup_ok =
        pg_fixture_join_schema(&pc, schema) && rpc_client_init(&rpc, rpc_url, NULL, &e) == RPC_OK;
    pthread_barrier_wait(s->start);
    for (int i = 0; s->setup_ok && i < CONC_PER_THREAD; i++) {
        char purpose[40];
        struct txmgr_tx out;
        snprintf(purpose, sizeof purpose, "t:conc:%d:%d", s->index, i);
        struct txmgr_request req = transfer(purpose);
        s->r[i] = submit_in(&pc, &rpc, &tm, &req, &out, &e);
    }
    /* The same purpose from both: each holds its transaction open a while. */
    pthread_barrier_wait(s->start);
    struct txmgr_request req = transfer("t:conc:same");
    s->same = TXMGR_ERR_DB;
    if (s->setup_ok && pg_begin(&pc, PG_READ_COMMITTED, &e) == PG_OK) {
        s->same = txmgr_submit(&s->same_tx, &tm, &pc, &rpc, &req, &e);
        clock_sleep_ms(100);
        if ((s->same == TXMGR_OK ? pg_commit(&pc, &e) : pg_rollback(&pc, &e)) != PG_OK)
            s->same = TXMGR_ERR_DB;
    }
    rpc_client_release(&rpc);
    pg_release(&pc);
    return NULL;
}

static void test_concurrent_nonces(void)
{
    pthread_barrier_t start;
    pthread_t th[2];
    struct submitter s[2];
    memset(s, 0, sizeof s);
    CHECK(pthread_barrier_init(&start, NULL, 2) == 0);
    for (int i = 0; i < 2; i++) {
        s[i].index = i;
        s[i].start = &start;
        CHECK(pthread_create(&th[i], NULL, submitter_main, &s[i]) == 0);
    }
    for (int i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    pthread_barrier_destroy(&start);
    for (int i = 0; i < 2; i++) {
        CHECK(s[i].setup_ok);
        for (int j = 0; j < CONC_PER_THREAD; j++)
            CHECK_INT(s[i].r[j], TXMGR_OK);
    }
    /* Exactly one of the two got the row; the other waited and saw it. */
    CHECK((s[0].same == TXMGR_OK && s[1].same == TXMGR_ERR_EXISTS) ||
          (s[1].same == TXMGR_OK && s[0].same == TXMGR_ERR_EXISTS));
    CHECK_INT(s[0].same_tx.id, s[1].same_tx.id);
    CHECK_STR(value("SELECT count(*) FROM chain_tx_attempts a JOIN chain_txs t ON t.id = a.tx_id"
                    " WHERE t.purpose = 't:conc:same'"),
              "1");
    /* 2 * 5 + 1 distinct consecutive nonces right after t:normal's. */
    char want[96];
    uint64_t n = 2 * CONC_PER_THREAD + 1;
    snprintf(want, sizeof want, "%" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64, n, n, nonce0 + 1,
             nonce0 + n);
    CHECK_STR(value("SELECT count(*) || ' ' || count(DISTINCT nonce) || ' ' || min(nonce) || ' '"
                    " || max(nonce) FROM chain_txs WHERE purpose LIKE 't:conc:%'"),
              want);
    snprintf(want, sizeof want, "%" PRIu64, nonce0 + 1 + n);
    CHECK_STR(value("SELECT next_nonce FROM tx_senders"), want);
    CHECK_INT(account_nonce("pending"), nonce0 + 1); /* none broadcast yet */

    struct txmgr_tick_report rep = tick(&tm);
    CHECK_INT(rep.broadcast, n);
    CHECK_INT(rep.mined, 0);
    chain_mine(&chain, 1);
    rep = tick(&tm);
    CHECK_INT(rep.mined, n);
    CHECK_INT(rep.broadcast, 0);
    chain_mine(&chain, CONFIRMATIONS);
    rep = tick(&tm);
    CHECK_INT(rep.confirmed, n);
    CHECK_STR(value("SELECT count(*) FROM chain_txs WHERE status <> 'confirmed'"), "0");
    CHECK_INT(account_nonce("latest"), nonce0 + 1 + n);
}

/* ---- the node's answers ----------------------------------------------------------------- */

/* Re-broadcasts of a pending transaction: "already known", nothing signed. */
static void test_already_known(void)
{
    struct txmgr_tx out;
    struct txmgr_request req = transfer("t:known");
    CHECK_INT(submit(&tm, &req, &out), TXMGR_OK);
    struct txmgr_tick_report rep = tick(&tm);
    CHECK_INT(rep.broadcast, 1);
    CHECK_INT(rep.mined, 0);
    CHECK(node_knows(out.tx_hash));
    CHECK_STR(txmgr_status_name(status_of("t:known", NULL)), "pending");
    for (int i = 0; i < 3; i++) {
        rep = tick(&tm);
        CHECK_INT(rep.broadcast, 1);
        CHECK_INT(rep.bumped + rep.mined + rep.renonced, 0);
    }
    CHECK_STR(value_of("SELECT count(*) FROM chain_tx_attempts a JOIN chain_txs t ON"
                       " t.id = a.tx_id WHERE t.purpose = '%s'",
                       "t:known"),
              "1");
    land(&tm, "t:known");
    confirm(&tm, "t:known");
}

/* Automine off, an odd base fee, replacements, then a fee spike. */
static void test_stuck_bumps(void)
{
    struct txmgr m;
    if (!tm_make(&m, CONFIG_MAX_FEE_PER_GAS_WEI_DEFAULT, 1, 10))
        return;
    uint64_t start = account_nonce("latest");
    mine_with_base_fee(1000000007); /* 2 * base + tip ends in ...014: rounding shows */
    uint64_t fee[6], tip[6], sfee = 0, stip = 0;
    suggestion(&fee[0], &tip[0], CONFIG_MAX_FEE_PER_GAS_WEI_DEFAULT);
    struct txmgr_tx out;
    struct txmgr_request req = transfer("t:stuck");
    CHECK_INT(submit(&m, &req, &out), TXMGR_OK);
    CHECK_INT(out.max_fee_per_gas_wei, fee[0]);
    CHECK_INT(out.max_priority_fee_per_gas_wei, tip[0]);
    struct txmgr_tick_report rep = tick(&m); /* first broadcast: never a bump */
    CHECK_INT(rep.broadcast, 1);
    CHECK_INT(rep.bumped, 0);
    for (int i = 1; i <= 3; i++) {
        if (i == 3) { /* the spike: a block the pending attempt cannot pay for */
            mine_with_base_fee(10 * GWEI);
            CHECK(!has_receipt(out.tx_hash, NULL));
        }
        clock_sleep_ms(5); /* resend_after_ms = 1 */
        suggestion(&sfee, &stip, CONFIG_MAX_FEE_PER_GAS_WEI_DEFAULT);
        fee[i] = max_u64(plus10(fee[i - 1]), sfee);
        tip[i] = max_u64(plus10(tip[i - 1]), stip);
        rep = tick(&m);
        CHECK_INT(rep.bumped, 1);
        CHECK_INT(rep.broadcast, 1);
        CHECK_INT(status_of("t:stuck", &out), TXMGR_PENDING);
        CHECK_INT(out.attempts, i + 1);
        CHECK_INT(out.max_fee_per_gas_wei, fee[i]);
        CHECK_INT(out.max_priority_fee_per_gas_wei, tip[i]);
        CHECK(node_knows(out.tx_hash));
    }
    CHECK_INT(fee[1], 3300000016u);            /* ceil(3000000014 * 1.1): rounded up, not down */
    CHECK_INT(fee[3], 2 * 10 * GWEI + tip[0]); /* the spike: the node's suggestion wins */
    /* No stored replacement is less than 10 % above its predecessor, on either fee. */
    CHECK_STR(value("SELECT count(*) FROM chain_tx_attempts a JOIN chain_tx_attempts b"
                    " ON b.tx_id = a.tx_id AND b.attempt = a.attempt + 1 AND b.nonce = a.nonce"
                    " WHERE b.max_fee_per_gas_wei * 100 < a.max_fee_per_gas_wei * 110"
                    " OR b.max_priority_fee_per_gas_wei * 100 < a.max_priority_fee_per_gas_wei"
                    " * 110"),
              "0");
    land(&m, "t:stuck");
    CHECK_INT(attempts_mined("t:stuck"), 1);
    CHECK_STR(value("SELECT mined_attempt FROM chain_txs WHERE purpose = 't:stuck'"), "4");
    confirm(&m, "t:stuck");
    CHECK_INT(account_nonce("latest"), start + 1);
}

/* The cap: above the base fee nothing is signed; a bump above it neither. */
static void test_fee_cap(void)
{
    struct txmgr low, m;
    struct txmgr_tx out;
    uint64_t base = base_fee();
    char before[64];
    snprintf(before, sizeof before, "%s", value("SELECT count(*) FROM chain_tx_attempts"));
    if (!tm_make(&low, base - 1, 60000, 10))
        return;
    struct txmgr_request req = transfer("t:cap-low");
    struct err e = {0};
    CHECK_INT(submit_in(&db, &chain.rpc, &low, &req, &out, &e), TXMGR_ERR_FEE_CAP);
    CHECK_INT(txmgr_get(&out, &db, "t:cap-low", &e), TXMGR_ERR_NOT_FOUND);
    CHECK_STR(value("SELECT count(*) FROM chain_tx_attempts"), before);

    /* A cap 5 % above the suggestion: the first attempt fits, no 10 % bump does. */
    uint64_t sfee = 0, stip = 0;
    suggestion(&sfee, &stip, UINT64_MAX);
    uint64_t cap = sfee + sfee / 20;
    if (!tm_make(&m, cap, 1, 10))
        return;
    uint64_t start = account_nonce("latest");
    req = transfer("t:cap-bump");
    CHECK_INT(submit(&m, &req, &out), TXMGR_OK);
    CHECK_INT(out.max_fee_per_gas_wei, sfee);
    struct txmgr_tick_report rep = tick(&m);
    CHECK_INT(rep.broadcast, 1);
    for (int i = 0; i < 2; i++) {
        clock_sleep_ms(5);
        rep = tick(&m);
        CHECK_INT(rep.bumped, 0);
        CHECK_INT(rep.broadcast, 1); /* the stored attempt, again */
    }
    char want[64];
    snprintf(want, sizeof want, "1 %" PRIu64, sfee);
    CHECK_STR(value("SELECT count(*) || ' ' || max(a.max_fee_per_gas_wei) FROM chain_tx_attempts a"
                    " JOIN chain_txs t ON t.id = a.tx_id WHERE t.purpose = 't:cap-bump'"),
              want);
    land(&m, "t:cap-bump");
    confirm(&m, "t:cap-bump");
    CHECK_INT(account_nonce("latest"), start + 1);
}

/* A broadcast that reaches anvil but whose answer is lost; *sends_out =
 * the sends the proxy forwarded during the tick. */
static void lost_response(enum proxy_mode mode, const char *purpose, int *sends_out,
                          const char *answer, bool *answered)
{
    struct rpc_client via;
    struct err e = {0};
    char url[64];
    http_fixture_url(url, sizeof url, &proxy.http);
    struct rpc_options opt;
    rpc_options_default(&opt);
    opt.backoff_initial_ms = 10;
    opt.backoff_max_ms = 20;
    if (rpc_client_init(&via, url, &opt, &e) != RPC_OK) {
        CHECK_MSG(0, "%s", e.msg);
        return;
    }
    uint64_t start = account_nonce("latest");
    struct txmgr_tx out;
    struct txmgr_request req = transfer(purpose);
    CHECK_INT(submit_in(&db, &via, &tm, &req, &out, &e), TXMGR_OK);
    proxy_set(mode, true);
    struct txmgr_tick_report rep = tick_via(&tm, &via);
    proxy_set(PROXY_PASS, false);
    *sends_out = proxy_sends(answer, answered);
    CHECK_INT(rep.broadcast, 1);
    CHECK_INT(rep.mined + rep.bumped + rep.renonced, 0);
    CHECK_INT(account_nonce("pending"), start + 1); /* anvil has it */
    CHECK_INT(status_of(purpose, &out), TXMGR_PENDING);
    rep = tick_via(&tm, &via); /* "already imported": nothing signed */
    CHECK_INT(rep.broadcast, 1);
    CHECK_INT(rep.mined + rep.bumped + rep.renonced, 0);
    chain_mine(&chain, 1);
    rep = tick_via(&tm, &via); /* resolved by the receipt of the stored hash */
    CHECK_INT(rep.mined, 1);
    CHECK_INT(rep.broadcast, 0);
    CHECK_INT(status_of(purpose, &out), TXMGR_MINED);
    CHECK_INT(out.attempts, 1);
    CHECK_INT(account_nonce("latest"), start + 1);
    chain_mine(&chain, CONFIRMATIONS);
    rep = tick_via(&tm, &via);
    CHECK_INT(rep.confirmed, 1);
    CHECK_INT(account_nonce("latest"), start + 1);
    CHECK_INT(attempts_mined(purpose), 1);
    rpc_client_release(&via);
}

/* anvil took the transaction (its answer: the hash); we got a 500, which
 * the client does not retry. */
static void test_lost_response_500(void)
{
    int sends = 0;
    bool answered = false;
    lost_response(PROXY_LOSE_500, "t:lost-500", &sends, "\"result\":\"0x", &answered);
    CHECK_INT(sends, 1);
    CHECK(answered);
}

/* The connection closes after anvil took the transaction: the client
 * retries (RPC_RETRIES_DEFAULT), anvil answers "transaction already
 * imported" to each retry, the receipt resolves it once mined. */
static void test_lost_response_closed(void)
{
    int sends = 0;
    bool answered = false;
    lost_response(PROXY_LOSE_CLOSE, "t:lost-closed", &sends, "already imported", &answered);
    CHECK_INT(sends, 1 + RPC_RETRIES_DEFAULT);
    CHECK(answered);
}

/* anvil_reorg drops the block: pending again, the same bytes re-sent. */
static void test_reorg(void)
{
    uint64_t start = account_nonce("latest");
    struct txmgr_tx out, first;
    struct txmgr_request req = transfer("t:reorg");
    CHECK_INT(submit(&tm, &req, &out), TXMGR_OK);
    struct txmgr_tick_report rep = tick(&tm);
    CHECK_INT(rep.broadcast, 1);
    land(&tm, "t:reorg");
    CHECK_INT(status_of("t:reorg", &first), TXMGR_MINED);
    CHECK(first.has_block);
    node_call("anvil_reorg", json_pack("[i[]]", 1));
    CHECK(!has_receipt(first.tx_hash, NULL));
    CHECK_INT(account_nonce("latest"), start);
    rep = tick(&tm);
    CHECK_INT(rep.unmined, 1);
    CHECK_INT(rep.broadcast, 1); /* the stored bytes, again */
    CHECK_INT(rep.mined + rep.bumped + rep.renonced, 0);
    CHECK_INT(status_of("t:reorg", NULL), TXMGR_PENDING);
    land(&tm, "t:reorg");
    CHECK_INT(status_of("t:reorg", &out), TXMGR_MINED);
    CHECK_INT(out.attempts, 1);
    CHECK(memcmp(out.tx_hash, first.tx_hash, 32) == 0);
    CHECK(memcmp(out.block_hash, first.block_hash, 32) != 0);
    confirm(&tm, "t:reorg");
    CHECK_INT(account_nonce("latest"), start + 1);
}

/* The operator's key sends outside the manager, taking the row's nonce. */
static void test_external_nonce(void)
{
    uint64_t start = account_nonce("latest");
    struct txmgr_tx out, later;
    struct txmgr_request req = transfer("t:external");
    CHECK_INT(submit(&tm, &req, &out), TXMGR_OK);
    CHECK_INT(out.nonce, start);
    struct txsend_outcome o;
    struct err e = {0};
    struct u256 one = u256_from_u64(1);
    automine(true); /* txsend waits for its receipt */
    CHECK_INT(chain_send(&o, &chain, ACCT_TM, &chain.addr[ACCT_TO], &one, NULL, 0, 0, &e),
              TXSEND_OK);
    automine(false);
    txsend_outcome_release(&o);
    CHECK_INT(account_nonce("latest"), start + 1);
    /* "nonce too low", and the outside transaction is not yet deep: wait. */
    struct txmgr_tick_report rep = tick(&tm);
    CHECK_INT(rep.broadcast, 1);
    CHECK_INT(rep.renonced + rep.mined + rep.bumped, 0);
    CHECK_INT(status_of("t:external", NULL), TXMGR_PENDING);
    chain_mine(&chain, CONFIRMATIONS);
    rep = tick(&tm);
    CHECK_INT(rep.renonced, 1);
    CHECK_INT(rep.broadcast, 1);
    CHECK_INT(rep.mined, 0);
    land(&tm, "t:external");
    CHECK_INT(status_of("t:external", &later), TXMGR_MINED);
    CHECK_INT(later.nonce, start + 1);
    CHECK_INT(later.attempts, 2);
    CHECK(!has_receipt(out.tx_hash, NULL));
    CHECK_INT(attempts_mined("t:external"), 1);
    confirm(&tm, "t:external");
    CHECK_INT(account_nonce("latest"), start + 2);
    char want[32];
    snprintf(want, sizeof want, "%" PRIu64, start + 2);
    CHECK_STR(value("SELECT next_nonce FROM tx_senders"), want);
}

/* A creation: the reported address is the receipt's. Init code returning
 * the 10-byte runtime 602a60005260206000f3 (returns 42). */
static void test_creation(void)
{
    static const uint8_t init[] = {0x69, 0x60, 0x2a, 0x60, 0x00, 0x52, 0x60, 0x20, 0x60, 0x00,
                                   0xf3, 0x60, 0x00, 0x52, 0x60, 0x0a, 0x60, 0x16, 0xf3};
    struct txmgr_tx out;
    struct txmgr_request req = {
        .purpose = "t:create", .has_to = false, .data = init, .data_len = sizeof init};
    CHECK_INT(submit(&tm, &req, &out), TXMGR_OK);
    CHECK(out.is_creation);
    struct txmgr_tick_report rep = tick(&tm);
    CHECK_INT(rep.broadcast, 1);
    land(&tm, "t:create");
    struct rpc_receipt rc;
    CHECK(has_receipt(out.tx_hash, &rc));
    CHECK(rc.has_contract_address && memcmp(rc.contract_address, out.contract.bytes, 20) == 0);
    CHECK_INT(rc.status, 1);
    rpc_receipt_release(&rc);
    confirm(&tm, "t:create");
    struct txmgr_tx got;
    CHECK_INT(status_of("t:create", &got), TXMGR_CONFIRMED);
    CHECK(address_eq(&got.contract, &out.contract));
}

/* A second driver of the sender does nothing while the first holds the lock. */
static void test_one_driver(void)
{
    struct pg_session other = {0};
    char lock[128], unlock[128];
    const uint8_t *a = chain.addr[ACCT_TM].bytes;
    uint32_t low = (uint32_t)a[16] << 24 | (uint32_t)a[17] << 16 | (uint32_t)a[18] << 8 | a[19];
    long long key = TXMGR_LOCK_KEY_BASE + (long long)low;
    snprintf(lock, sizeof lock, "SELECT pg_advisory_lock(%lld)", key);
    snprintf(unlock, sizeof unlock, "SELECT pg_advisory_unlock(%lld)", key);
    CHECK(pg_fixture_join_schema(&other, schema));
    CHECK_STR(pg_fixture_query_value(&other, lock), "");
    struct txmgr_tx out;
    struct txmgr_request req = transfer("t:leader");
    CHECK_INT(submit(&tm, &req, &out), TXMGR_OK); /* submit needs no lock */
    struct txmgr_tick_report rep = tick(&tm);
    CHECK(rep.not_leader);
    CHECK_INT(rep.broadcast, 0);
    CHECK_INT(status_of("t:leader", NULL), TXMGR_SIGNED);
    CHECK_STR(pg_fixture_query_value(&other, unlock), "t");
    pg_release(&other);
    rep = tick(&tm);
    CHECK(!rep.not_leader);
    CHECK_INT(rep.broadcast, 1);
    land(&tm, "t:leader");
    confirm(&tm, "t:leader");
}

/* Every row final, every stored fee within what was allowed. */
static void test_end_state(void)
{
    CHECK_STR(value("SELECT count(*) FROM chain_txs WHERE status <> 'confirmed'"), "0");
    CHECK_STR(value("SELECT count(*) FROM chain_tx_attempts"
                    " WHERE max_priority_fee_per_gas_wei > max_fee_per_gas_wei"
                    " OR max_fee_per_gas_wei > 500000000000"),
              "0");
    char want[32];
    snprintf(want, sizeof want, "%" PRIu64, account_nonce("latest"));
    CHECK_STR(value("SELECT next_nonce FROM tx_senders"), want);
    /* Attempts are history: what was signed or sent cannot be changed or dropped. */
    static const char *const refused[] = {
        "UPDATE chain_tx_attempts SET raw = '\\x02' WHERE attempt = 1",
        "UPDATE chain_tx_attempts SET broadcast_at = now() WHERE attempt = 1",
        "DELETE FROM chain_tx_attempts WHERE attempt = 1"};
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        struct err e = {0};
        CHECK_INT(pg_exec(&db, NULL, refused[i], NULL, 0, &e), PG_ERR_QUERY);
        CHECK_STR(db.sqlstate, "42501");
    }
}

int main(void)
{
    struct err e = {0};
    if (!pg_fixture_init("test_txmgr"))
        return 1;
    if (!chain_open(&chain, &e) || !chain_load_rpc_url(rpc_url, &e)) {
        fprintf(stdout, "# %s\nnot ok - environment\n0 passed, 1 failed\n", e.msg);
        return 1;
    }
    log_init(&tm_logger, stderr, "test_txmgr", LOG_WARN);
    http_fixture_start(&proxy.http, proxy_handle, &proxy);
    char whole[CHAIN_SNAPSHOT_ID_MAX];
    chain_snapshot(&chain, whole);
    RUN(test_setup);
    RUN(test_bad_config_and_requests);
    RUN(test_submit_stores_before_broadcast);
    RUN(test_tick_mines_and_confirms);
    RUN(test_exists_signs_nothing);
    RUN(test_concurrent_nonces);
    RUN(test_already_known);
    RUN(test_stuck_bumps);
    RUN(test_fee_cap);
    RUN(test_lost_response_500);
    RUN(test_lost_response_closed);
    RUN(test_reorg);
    RUN(test_external_nonce);
    RUN(test_creation);
    RUN(test_one_driver);
    RUN(test_end_state);
    automine(true);
    chain_revert(&chain, whole);
    http_fixture_stop(&proxy.http);
    pg_fixture_drop_schema(&db, schema);
    chain_close(&chain);
    return harness_finish();
}
