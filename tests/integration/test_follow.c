/*
 * test_follow.c - the chain log follower (follow.h) against a real anvil:
 * Tipped logs of deployed SettlementVaults across polls and range splits,
 * address and topic filters, an address added at runtime, several logs in
 * one block (a pass mint), range halving when the node refuses a range (a
 * pass-through proxy in front of anvil that refuses wide eth_getLogs, as
 * hosted nodes do), reorgs made with evm_snapshot/evm_revert (longer and
 * shorter replacement chains, a refused on_reorg), a reorg deeper than the
 * window, refused logs retried, confirmations, and resuming from a cursor.
 * Plus the pure parts: config and input checks, follow_is_range_error().
 *
 * Environment: ETH_RPC_URL (anvil, chain 31337, default mnemonic), run from
 * the repository root (artifacts from contracts-abi/). Transactions are
 * signed by our own code (txsend) from the fixture's admin (deploys) and fan
 * (tips, mint) accounts. The whole program runs inside one evm_snapshot
 * that main() reverts at the end, and each reorg test reverts its own inner
 * snapshot, so the chain's accounts and balances are as before for the
 * tests that run after this one (test_rpc_anvil checks account 9 exactly).
 */
#include <curl/curl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "follow.h"
#include "http_fixture.h"
#include "vault_fixture.h"

#define TIPPED_SIG "Tipped(bytes32,bytes32,address,uint256)"
#define HASH64 "abababababababababababababababababababababababababababababababab"
#define SINK_LOGS_MAX 64
#define SINK_DATA_MAX 128
#define SINK_REORGS_MAX 8
#define SNAPSHOT_ID_MAX 32
#define PROXY_BODY_MAX ((size_t)8 << 20) /* the proxy's answers, like RPC_RESPONSE_BYTES_MAX */

/* A log as the consumer stored it. */
struct seen_log {
    uint64_t block;
    uint8_t block_hash[32];
    uint8_t tx_hash[32];
    uint64_t log_index;
    struct address address;
    uint8_t topics[FOLLOW_LOG_TOPICS_MAX][32];
    size_t topics_len;
    uint8_t data[SINK_DATA_MAX];
    size_t data_len;
};

/* The consumer: idempotent by (block hash, log index), rolls back on reorg. */
struct sink {
    struct seen_log logs[SINK_LOGS_MAX];
    size_t n;
    uint64_t reorg_first[SINK_REORGS_MAX];
    size_t reorgs;
    size_t calls;       /* on_log calls */
    size_t redelivered; /* calls for a log it already had */
    size_t refuse_call; /* refuse the on_log call with this number (1-based); 0 none */
    bool refuse_reorg;  /* refuse the next on_reorg, once */
    bool overflow;
};

/* A tip as sent: what its log must say. */
struct sent {
    uint8_t tx_hash[32];
    uint64_t block;
    uint8_t block_hash[32];
    uint64_t amount_wei;
};

struct proxy {
    char upstream[CONFIG_URL_BYTES_MAX + 1];
    uint64_t range_limit; /* eth_getLogs over more blocks is refused; 0 refuses all */
    int refusals;
    char revert_id[SNAPSHOT_ID_MAX]; /* set: revert to it before the next eth_getLogs */
    int mine_after_revert;           /* and mine this many blocks */
};

static struct http_fixture proxy_srv;
static struct proxy proxy;

/* ---- the consumer ------------------------------------------------------------------- */

static bool sink_on_log(void *ctx, const struct follow_log *l)
{
    struct sink *s = ctx;
    s->calls++;
    if (s->refuse_call != 0 && s->calls == s->refuse_call)
        return false;
    for (size_t i = 0; i < s->n; i++)
        if (s->logs[i].log_index == l->log_index &&
            memcmp(s->logs[i].block_hash, l->block_hash, 32) == 0) {
            s->redelivered++;
            return true;
        }
    if (s->n == SINK_LOGS_MAX || l->data_len > SINK_DATA_MAX) {
        s->overflow = true;
        return false;
    }
    struct seen_log *d = &s->logs[s->n++];
    d->block = l->block_number;
    memcpy(d->block_hash, l->block_hash, 32);
    memcpy(d->tx_hash, l->tx_hash, 32);
    d->log_index = l->log_index;
    d->address = l->address;
    memcpy(d->topics, l->topics, sizeof d->topics);
    d->topics_len = l->topics_len;
    if (l->data_len > 0)
        memcpy(d->data, l->data, l->data_len);
    d->data_len = l->data_len;
    return true;
}

static bool sink_on_reorg(void *ctx, uint64_t first_orphaned_block)
{
    struct sink *s = ctx;
    if (s->refuse_reorg) {
        s->refuse_reorg = false;
        return false;
    }
    if (s->reorgs < SINK_REORGS_MAX)
        s->reorg_first[s->reorgs] = first_orphaned_block;
    s->reorgs++;
    size_t kept = 0;
    for (size_t i = 0; i < s->n; i++)
        if (s->logs[i].block < first_orphaned_block)
            s->logs[kept++] = s->logs[i];
    s->n = kept;
    return true;
}

/* ---- chain helpers ---------------------------------------------------------------------- */

static json_t *call(const char *method, json_t *params)
{
    return chain_call(&chain, method, params);
}

static uint64_t head(void)
{
    return chain_head(&chain);
}

static void mine(int blocks)
{
    chain_mine(&chain, blocks);
}

/* The hash of block `number` on the node now. */
static void block_hash(uint8_t out[32], uint64_t number)
{
    char q[24];
    snprintf(q, sizeof q, "0x%" PRIx64, number);
    json_t *b = call("eth_getBlockByNumber", json_pack("[sb]", q, 0));
    size_t n = 0;
    memset(out, 0, 32);
    CHECK(chain_json_hex(out, 32, &n, 32, json_object_get(b, "hash")));
    json_decref(b);
}

static void snapshot(char id[SNAPSHOT_ID_MAX])
{
    json_t *res = call("evm_snapshot", NULL);
    const char *s = json_string_value(res);
    CHECK(s != NULL && strlen(s) < SNAPSHOT_ID_MAX);
    snprintf(id, SNAPSHOT_ID_MAX, "%s", s != NULL ? s : "");
    json_decref(res);
}

static void revert_to(const char *id)
{
    json_t *res = call("evm_revert", json_pack("[s]", id));
    CHECK_MSG(json_is_true(res), "evm_revert %s did not answer true", id);
    json_decref(res);
}

/* The fan tips `amount_wei` to the fixture's stream on `vault` (one block
 * of its own: anvil mines each transaction at once). */
static void tip(struct sent *out, const struct address *vault, uint64_t amount_wei)
{
    memset(out, 0, sizeof *out);
    out->amount_wei = amount_wei;
    if (!tip_creator(vault, creator_id, stream_id, amount_wei))
        return;
    json_t *b = call("eth_getBlockByNumber", json_pack("[sb]", "latest", 0));
    const json_t *txs = json_object_get(b, "transactions");
    size_t n = 0;
    CHECK(json_array_size(txs) == 1 &&
          chain_json_hex(out->tx_hash, 32, &n, 32, json_array_get(txs, 0)) &&
          chain_json_hex(out->block_hash, 32, &n, 32, json_object_get(b, "hash")) &&
          rpc_parse_quantity_u64(&out->block, json_object_get(b, "number"), NULL) == RPC_OK);
    json_decref(b);
}

/* The stored log is the Tipped log of tip `t` on `vault`. */
static void check_tip_log(const struct seen_log *l, const struct sent *t,
                          const struct address *vault)
{
    uint8_t topic0[32], creator_key[32], stream_key[32], amount[32];
    abi_event_topic(topic0, TIPPED_SIG);
    chain_key_of(creator_key, creator_id);
    chain_key_of(stream_key, stream_id);
    struct u256 v = wei(t->amount_wei);
    u256_to_be32(amount, &v);
    CHECK_INT(l->block, t->block);
    CHECK_MEM(l->block_hash, t->block_hash, 32);
    CHECK_MEM(l->tx_hash, t->tx_hash, 32);
    CHECK(address_eq(&l->address, vault));
    CHECK_INT(l->topics_len, 4);
    CHECK_MEM(l->topics[0], topic0, 32);
    CHECK_MEM(l->topics[1], creator_key, 32);
    CHECK_MEM(l->topics[2], stream_key, 32);
    CHECK(topic_is_address(l->topics[3], &chain.addr[ACCT_FAN]));
    CHECK_INT(l->data_len, 32);
    CHECK_MEM(l->data, amount, 32);
}

/* A config to follow `addresses` (Tipped only when `tipped_only`) from
 * `start` into the (emptied) sink `s`. */
static void config_for(struct follow_config *cfg, struct sink *s, const struct address *addresses,
                       size_t n, bool tipped_only, uint64_t start, uint32_t range_max,
                       uint32_t window)
{
    static uint8_t topic0[1][32];
    abi_event_topic(topic0[0], TIPPED_SIG);
    memset(s, 0, sizeof *s);
    *cfg = (struct follow_config){.addresses = addresses,
                                  .addresses_len = n,
                                  .topic0 = tipped_only ? (const uint8_t(*)[32])topic0 : NULL,
                                  .topic0_len = tipped_only ? 1 : 0,
                                  .start_block = start,
                                  .range_max = range_max,
                                  .window = window,
                                  .blocks_per_poll_max = FOLLOW_BLOCKS_PER_POLL_DEFAULT,
                                  .logs_per_poll_max = FOLLOW_LOGS_PER_POLL_DEFAULT,
                                  .on_log = sink_on_log,
                                  .on_reorg = sink_on_reorg,
                                  .ctx = s};
}

static bool init_ok(struct follow *f, struct rpc_client *rpc, const struct follow_config *cfg)
{
    struct err e = {0};
    bool ok = follow_init(f, rpc, cfg, &e) == FOLLOW_OK;
    CHECK_MSG(ok, "follow_init: %s", e.msg);
    return ok;
}

static bool setup(struct follow *f, struct sink *s, struct rpc_client *rpc,
                  const struct address *addresses, size_t n, bool tipped_only, uint64_t start,
                  uint32_t range_max, uint32_t window)
{
    struct follow_config cfg;
    config_for(&cfg, s, addresses, n, tipped_only, start, range_max, window);
    return init_ok(f, rpc, &cfg);
}

/* One poll that must succeed. */
static struct follow_poll_report poll_ok(struct follow *f)
{
    struct follow_poll_report rep;
    struct err e = {0};
    enum follow_result r = follow_poll(f, &rep, &e);
    CHECK_MSG(r == FOLLOW_OK, "follow_poll: %d %s", (int)r, e.msg);
    return rep;
}

/* The cursor is block `number` with hash `hash` (NULL: the node's current
 * hash for that block). */
static void check_cursor_at_hash(const struct follow *f, uint64_t number, const uint8_t *hash)
{
    struct follow_block c;
    uint8_t want[32];
    CHECK(follow_cursor(f, &c));
    CHECK_INT(c.number, number);
    if (hash == NULL)
        block_hash(want, number);
    else
        memcpy(want, hash, 32);
    CHECK_MEM(c.hash, want, 32);
    CHECK_INT(follow_next_block(f), number + 1);
}

static void check_cursor_at(const struct follow *f, uint64_t number)
{
    check_cursor_at_hash(f, number, NULL);
}

/* ---- the pass-through proxy ------------------------------------------------------------- */

/* The eth_getLogs block range of a request; false for any other request. */
static bool proxy_logs_range(const json_t *req, uint64_t *from, uint64_t *to)
{
    const char *method = json_string_value(json_object_get(req, "method"));
    if (method == NULL || strcmp(method, "eth_getLogs") != 0)
        return false;
    const json_t *filter = json_array_get(json_object_get(req, "params"), 0);
    *from = 1;
    *to = UINT64_MAX; /* unreadable: as wide as can be */
    if (rpc_parse_quantity_u64(from, json_object_get(filter, "fromBlock"), NULL) != RPC_OK ||
        rpc_parse_quantity_u64(to, json_object_get(filter, "toBlock"), NULL) != RPC_OK)
        *from = 0;
    return true;
}

/* POSTs body[0..len) to anvil; the answer into *answer_out (NUL-terminated,
 * the caller frees it; also on failure). */
static bool proxy_forward(const struct proxy *p, char **answer_out, const char *body, size_t len)
{
    size_t answer_len = 0;
    *answer_out = NULL;
    FILE *mem = open_memstream(answer_out, &answer_len);
    CURL *c = curl_easy_init();
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    bool ok = mem != NULL && c != NULL && h != NULL &&
              curl_easy_setopt(c, CURLOPT_URL, p->upstream) == CURLE_OK &&
              curl_easy_setopt(c, CURLOPT_HTTPHEADER, h) == CURLE_OK &&
              curl_easy_setopt(c, CURLOPT_POSTFIELDS, body) == CURLE_OK &&
              curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)len) == CURLE_OK &&
              curl_easy_setopt(c, CURLOPT_WRITEDATA, mem) == CURLE_OK &&
              curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L) == CURLE_OK &&
              curl_easy_perform(c) == CURLE_OK;
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    if (mem != NULL)
        fclose(mem); /* writes *answer_out */
    return ok && answer_len > 0 && answer_len < PROXY_BODY_MAX;
}

/* The reorg the test asked for: evm_revert to p->revert_id, then mine. */
static void proxy_reorg_now(const struct proxy *p)
{
    char body[160];
    snprintf(body, sizeof body,
             "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"evm_revert\","
             "\"params\":[\"%s\"]}",
             p->revert_id);
    for (int i = 0; i <= p->mine_after_revert; i++) {
        char *answer = NULL;
        if (!proxy_forward(p, &answer, body, strlen(body)))
            fprintf(stdout, "# proxy: '%s' failed\n", body);
        free(answer);
        snprintf(body, sizeof body, "%s", "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"evm_mine\"}");
    }
}

/* Refuses eth_getLogs wider than range_limit like a hosted node (and first
 * makes the requested reorg happen); forwards everything else. */
static void proxy_handle(struct http_fixture *fx, int fd, const char *body, size_t body_len)
{
    struct proxy *p = fx->ctx;
    json_t *req = json_loadb(body, body_len, 0, NULL);
    uint64_t from = 0, to = 0;
    pthread_mutex_lock(&fx->mu);
    bool logs = json_is_object(req) && proxy_logs_range(req, &from, &to);
    bool refuse = logs && (from == 0 || to - from + 1 > p->range_limit);
    bool reorg = logs && p->revert_id[0] != '\0';
    p->refusals += refuse;
    if (reorg) {
        proxy_reorg_now(p);
        p->revert_id[0] = '\0';
    }
    pthread_mutex_unlock(&fx->mu);
    char *answer = NULL;
    bool ok = true;
    if (refuse) {
        json_t *a =
            json_pack("{s:s,s:O,s:{s:i,s:s}}", "jsonrpc", "2.0", "id", json_object_get(req, "id"),
                      "error", "code", -32602, "message", "exceed maximum block range: 2");
        answer = json_dumps(a, JSON_COMPACT);
        json_decref(a);
    } else {
        ok = proxy_forward(p, &answer, body, body_len);
    }
    http_fixture_reply(fd, ok ? 200 : 502, ok && answer != NULL ? answer : "{}");
    free(answer);
    json_decref(req);
}

/* An rpc client that talks to anvil through the proxy. */
static bool proxy_client(struct rpc_client *via)
{
    char url[64];
    struct err e = {0};
    http_fixture_url(url, sizeof url, &proxy_srv);
    bool ok = rpc_client_init(via, url, NULL, &e) == RPC_OK;
    CHECK_MSG(ok, "proxy client: %s", e.msg);
    return ok;
}

/* The start of a reorg test: a new vault followed through `rpc` from a
 * delivered block *base_out, a snapshot `snap` there, and two tips (amounts
 * amount, amount + 1) on top, delivered too. */
static bool reorg_prologue(struct address *a, struct follow *f, struct sink *s,
                           struct rpc_client *rpc, uint32_t range_max, char snap[SNAPSHOT_ID_MAX],
                           uint64_t *base_out, struct sent old[2], uint64_t amount)
{
    if (!deploy_vault(a) || !setup(f, s, rpc, a, 1, true, head() + 1, range_max, 16))
        return false;
    mine(1);
    poll_ok(f);
    snapshot(snap);
    *base_out = head();
    tip(&old[0], a, amount);
    tip(&old[1], a, amount + 1);
    struct follow_poll_report rep = poll_ok(f);
    CHECK(rep.logs == 2 && s->n == 2);
    return s->n == 2;
}

/* ---- pure parts ------------------------------------------------------------------------- */

static void test_config_checked(void)
{
    struct follow f;
    struct sink s;
    struct follow_config cfg;
    struct err e = {0};
    follow_config_default(&cfg);
    CHECK_INT(follow_init(&f, &chain.rpc, &cfg, &e), FOLLOW_ERR_BAD_INPUT);
    CHECK_STR(e.msg, "follow config: on_log and on_reorg are required");
    cfg.on_log = sink_on_log;
    cfg.on_reorg = sink_on_reorg;
    cfg.ctx = &s;
    CHECK_INT(follow_init(&f, &chain.rpc, &cfg, &e), FOLLOW_OK);
    struct {
        uint32_t range, window, confirmations;
        const char *msg;
    } bad[] = {{0, 128, 0, "follow config: range_max 0 not in 1..1000"},
               {1001, 128, 0, "follow config: range_max 1001 not in 1..1000"},
               {1000, 0, 0, "follow config: window 0 not in 1..128"},
               {1000, 129, 0, "follow config: window 129 not in 1..128"},
               {1000, 128, 1001, "follow config: confirmations above 1000"}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct follow_config c = cfg;
        c.range_max = bad[i].range;
        c.window = bad[i].window;
        c.confirmations = bad[i].confirmations;
        CHECK_INT(follow_init(&f, &chain.rpc, &c, &e), FOLLOW_ERR_BAD_INPUT);
        CHECK_STR(e.msg, bad[i].msg);
    }
    static uint8_t topics[FOLLOW_TOPIC0_MAX + 1][32];
    cfg.topic0 = (const uint8_t(*)[32])topics;
    cfg.topic0_len = FOLLOW_TOPIC0_MAX + 1;
    CHECK_INT(follow_init(&f, &chain.rpc, &cfg, &e), FOLLOW_ERR_BAD_INPUT);
    CHECK_STR(e.msg, "follow config: more than 16 topic0 values");
}

static void test_addresses_and_resume_checked(void)
{
    struct follow f;
    struct sink s;
    struct err e = {0};
    if (!setup(&f, &s, &chain.rpc, NULL, 0, false, 0, 10, 4))
        return;
    struct address two[2] = {chain.addr[0], chain.addr[0]};
    CHECK_INT(follow_set_addresses(&f, two, 2, &e), FOLLOW_ERR_BAD_INPUT);
    CHECK_STR(e.msg, "address '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266' listed twice");
    CHECK_INT(follow_add_address(&f, &chain.addr[1], &e), FOLLOW_OK);
    CHECK_INT(follow_add_address(&f, &chain.addr[1], &e), FOLLOW_OK); /* no change */
    for (size_t i = 1; i < FOLLOW_ADDRESSES_MAX; i++) {               /* so 255 more fit */
        struct address a = {{0}};
        memcpy(a.bytes, &i, sizeof i);
        CHECK_INT(follow_add_address(&f, &a, &e), FOLLOW_OK);
    }
    CHECK_INT(follow_add_address(&f, &chain.addr[2], &e), FOLLOW_ERR_BAD_INPUT);
    CHECK_STR(e.msg, "more than 256 addresses to follow");
    struct follow_block c, blocks[5] = {{10, {1}}, {11, {2}}, {13, {3}}, {14, {4}}, {15, {5}}};
    CHECK(!follow_cursor(&f, &c));
    CHECK_INT(follow_next_block(&f), 0);
    CHECK_INT(follow_resume(&f, blocks, 3, &e), FOLLOW_ERR_BAD_INPUT);
    CHECK_STR(e.msg, "resume: block 13 does not follow block 11");
    CHECK_INT(follow_resume(&f, blocks + 2, 3, &e), FOLLOW_OK);
    CHECK(follow_cursor(&f, &c) && c.number == 15 && c.hash[0] == 5);
    CHECK_INT(follow_next_block(&f), 16);
    CHECK_INT(follow_resume(&f, blocks, 5, &e), FOLLOW_ERR_BAD_INPUT); /* window 4 */
    CHECK_STR(e.msg, "resume: 5 blocks, want 1..4");
    struct follow_block out[4];
    CHECK_INT(follow_recent(&f, out, 4), 3);
    CHECK(out[0].number == 13 && out[2].number == 15);
}

static void test_range_error_classified(void)
{
    struct rpc_remote_error re = {.code = -32000};
    CHECK(follow_is_range_error(RPC_ERR_TOO_LARGE, NULL));
    CHECK(!follow_is_range_error(RPC_ERR_TIMEOUT, &re));
    CHECK(!follow_is_range_error(RPC_ERR_TRANSPORT, &re));
    static const char *const yes[] = {"query returned more than 10000 results",
                                      "exceed maximum block range: 2000",
                                      "Log response size exceeded.", "block range is too wide",
                                      "eth_getLogs is limited to a 10,000 range"};
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
        snprintf(re.message, sizeof re.message, "%s", yes[i]);
        CHECK_MSG(follow_is_range_error(RPC_ERR_REMOTE, &re), "%s", yes[i]);
    }
    snprintf(re.message, sizeof re.message, "%s", "header not found");
    CHECK(!follow_is_range_error(RPC_ERR_REMOTE, &re));
    re.code = -32005;
    CHECK(follow_is_range_error(RPC_ERR_REMOTE, &re));
    /* A busy node is no range problem, whatever the code. */
    static const char *const no[] = {"daily request count exceeded, request rate limited",
                                     "Your app has exceeded its compute units per second capacity",
                                     "Too Many Requests"};
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++) {
        snprintf(re.message, sizeof re.message, "%s", no[i]);
        CHECK_MSG(!follow_is_range_error(RPC_ERR_REMOTE, &re), "%s", no[i]);
    }
}

static void test_log_from_json(void)
{
    static const char *const head =
        "{\"blockNumber\":\"0x10\",\"logIndex\":\"0x2\",\"transactionIndex\":\"0x1\","
        "\"blockHash\":\"0x" HASH64 "\",\"transactionHash\":\"0x" HASH64 "\","
        "\"address\":\"0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed\",";
    struct {
        const char *tail;
        bool ok;
    } cases[] = {
        {"\"topics\":[\"0x" HASH64 "\"],\"data\":\"0x0102\"}", true},
        {"\"topics\":[],\"data\":\"0x\",\"removed\":false}", true},
        {"\"topics\":[],\"data\":\"0x\",\"removed\":true}", false},
        {"\"topics\":[\"0x" HASH64 "00\"],\"data\":\"0x\"}", false},
        {"\"topics\":[\"0x1\",\"0x2\",\"0x3\",\"0x4\",\"0x5\"],\"data\":\"0x\"}", false},
        {"\"topics\":[],\"data\":\"0x010\"}", false},
        {"\"topics\":[],\"data\":\"010203\"}", false},
        {"\"topics\":[],\"data\":\"0x01020304\"}", false}, /* above the caller's 3 bytes */
        {"\"topics\":[]}", false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[1024];
        snprintf(text, sizeof text, "%s%s", head, cases[i].tail);
        json_t *j = json_loads(text, 0, NULL);
        struct follow_log l;
        uint8_t data[3];
        CHECK(j != NULL);
        bool ok = follow_log_from_json(&l, data, sizeof data, j);
        CHECK_MSG(ok == cases[i].ok, "case %zu", i);
        if (ok && i == 0)
            CHECK(l.block_number == 16 && l.log_index == 2 && l.tx_index == 1 &&
                  l.topics_len == 1 && l.data_len == 2 && l.data == data && data[1] == 2);
        if (ok && i == 1)
            CHECK(l.data_len == 0 && l.data == NULL);
        json_decref(j);
    }
}

/* ---- delivery --------------------------------------------------------------------------- */

static void test_delivers_in_order_across_ranges(void)
{
    struct address a, b;
    struct follow f;
    struct sink s;
    struct sent t[6];
    if (!deploy_vault(&a) || !deploy_vault(&b))
        return;
    uint64_t start = head() + 1;
    if (!setup(&f, &s, &chain.rpc, &a, 1, true, start, 2, FOLLOW_WINDOW_MAX))
        return;
    tip(&t[0], &a, 1001);
    tip(&t[1], &a, 1002);
    tip(&t[2], &b, 1003); /* another contract: not delivered */
    tip(&t[3], &a, 1004);
    mine(3);
    uint64_t h = head(), attempts = chain.rpc.attempts_total;
    struct follow_poll_report rep = poll_ok(&f);
    CHECK_INT(rep.head, h);
    CHECK(rep.caught_up && rep.reorgs == 0 && rep.range_halvings == 0);
    CHECK_INT(rep.blocks, h - start + 1);
    CHECK_INT(rep.logs, 3);
    /* Ranges of 2 blocks: one head batch, then eth_getLogs + a header batch per range. */
    CHECK_INT(chain.rpc.attempts_total - attempts, 1 + 2 * ((h - start + 2) / 2));
    CHECK_INT(s.n, 3);
    check_tip_log(&s.logs[0], &t[0], &a);
    check_tip_log(&s.logs[1], &t[1], &a);
    check_tip_log(&s.logs[2], &t[3], &a);
    check_cursor_at(&f, h);
    rep = poll_ok(&f); /* nothing new */
    CHECK(rep.blocks == 0 && rep.logs == 0 && rep.caught_up);
    tip(&t[4], &a, 1005);
    tip(&t[5], &a, 1006);
    rep = poll_ok(&f);
    CHECK_INT(rep.logs, 2);
    CHECK_INT(s.n, 5);
    check_tip_log(&s.logs[3], &t[4], &a);
    check_tip_log(&s.logs[4], &t[5], &a);
    CHECK(s.redelivered == 0 && s.calls == 5);
    check_cursor_at(&f, head());
}

static void test_poll_bounds_and_confirmations(void)
{
    struct address a;
    struct follow f, g;
    struct follow_config cfg;
    struct sink s, sg;
    struct sent t;
    if (!deploy_vault(&a))
        return;
    config_for(&cfg, &s, &a, 1, true, head() + 1, 4, 8);
    cfg.blocks_per_poll_max = 3;
    if (!init_ok(&f, &chain.rpc, &cfg))
        return;
    mine(5);
    struct follow_poll_report rep = poll_ok(&f);
    CHECK(rep.blocks == 3 && !rep.caught_up);
    rep = poll_ok(&f);
    CHECK(rep.blocks == 2 && rep.caught_up);
    /* Two confirmations: a block is delivered once two more are on top. */
    config_for(&cfg, &sg, &a, 1, true, head() + 1, 4, 8);
    cfg.confirmations = 2;
    if (!init_ok(&g, &chain.rpc, &cfg))
        return;
    tip(&t, &a, 77);
    rep = poll_ok(&g);
    CHECK(rep.target == t.block - 2 && rep.logs == 0 && sg.n == 0);
    mine(1);
    rep = poll_ok(&g);
    CHECK(rep.logs == 0 && follow_next_block(&g) == t.block);
    mine(1);
    rep = poll_ok(&g);
    CHECK(rep.logs == 1 && sg.n == 1);
    check_tip_log(&sg.logs[0], &t, &a);
    check_cursor_at(&g, t.block);
}

static void test_address_added_at_runtime(void)
{
    struct address a, b;
    struct follow f;
    struct sink s;
    struct sent t[3];
    struct err e = {0};
    if (!deploy_vault(&a) || !deploy_vault(&b) ||
        !setup(&f, &s, &chain.rpc, &a, 1, false, head() + 1, 10, 16))
        return;
    tip(&t[0], &b, 5);
    struct follow_poll_report rep = poll_ok(&f);
    CHECK(rep.blocks >= 1 && rep.logs == 0 && s.n == 0);
    CHECK_INT(follow_add_address(&f, &b, &e), FOLLOW_OK);
    tip(&t[1], &b, 6);
    rep = poll_ok(&f);
    CHECK_INT(rep.logs, 1);
    CHECK_INT(s.n, 1);
    check_tip_log(&s.logs[0], &t[1], &b); /* t[0] was in a block already delivered */
    /* No addresses: no logs, but blocks are still followed. */
    CHECK_INT(follow_set_addresses(&f, NULL, 0, &e), FOLLOW_OK);
    tip(&t[2], &a, 7);
    rep = poll_ok(&f);
    CHECK(rep.blocks == 1 && rep.logs == 0 && s.n == 1);
    check_cursor_at(&f, t[2].block);
}

/* follow_log_from_json() of a receipt's log gives what the follower delivered. */
static void check_same_as_receipt_log(const struct seen_log *l, const json_t *receipt_log)
{
    struct follow_log r;
    uint8_t data[FOLLOW_LOG_DATA_BYTES_MAX];
    CHECK(follow_log_from_json(&r, data, sizeof data, receipt_log));
    CHECK(r.block_number == l->block && r.log_index == l->log_index);
    CHECK(address_eq(&r.address, &l->address) && r.topics_len == l->topics_len);
    CHECK_MEM(r.block_hash, l->block_hash, 32);
    CHECK_MEM(r.tx_hash, l->tx_hash, 32);
    CHECK_MEM(r.topics, l->topics, 32 * l->topics_len);
    CHECK(r.data_len == l->data_len && (r.data_len == 0 || r.data == data));
    CHECK_MEM(data, l->data, l->data_len);
}

/* A pass mint: Transfer (pass), RevenueReceived (vault), PassPurchased (pass). */
static void test_several_logs_in_one_block(void)
{
    struct address vault, pass;
    struct follow f;
    struct sink s;
    uint8_t creator_key[32], topic[3][32];
    chain_key_of(creator_key, creator_id);
    if (!deploy_vault(&vault) || !deploy_pass(&pass, &vault, creator_key, 10, 500))
        return;
    struct address both[2] = {vault, pass};
    if (!setup(&f, &s, &chain.rpc, both, 2, false, head() + 1, 10, 16))
        return;
    struct txsend_outcome o;
    CHECK_INT(send_call(&o, ACCT_FAN, &pass, PASS_PRICE_WEI, "mint()", NULL, 0), TXSEND_OK);
    uint64_t mint_block = o.receipt.block_number;
    json_t *receipt_logs = json_incref(o.receipt.logs);
    txsend_outcome_release(&o);
    s.refuse_call = 2; /* the second log of the block is refused once */
    struct follow_poll_report rep;
    struct err e = {0};
    CHECK_INT(follow_poll(&f, &rep, &e), FOLLOW_ERR_CALLBACK);
    char want[80];
    snprintf(want, sizeof want, "block %" PRIu64 " log 1: on_log refused it", mint_block);
    CHECK_STR(e.msg, want);
    CHECK(rep.logs == 1 && follow_next_block(&f) == mint_block);
    rep = poll_ok(&f); /* the whole block again */
    CHECK(rep.logs == 3 && s.n == 3 && s.redelivered == 1);
    abi_event_topic(topic[0], "Transfer(address,address,uint256)");
    abi_event_topic(topic[1], "RevenueReceived(bytes32,address,uint8,address,uint256)");
    abi_event_topic(topic[2], "PassPurchased(address,uint256,uint256)");
    const struct address *emitter[3] = {&pass, &vault, &pass};
    for (size_t i = 0; i < 3 && s.n == 3; i++) {
        CHECK_INT(s.logs[i].block, mint_block);
        CHECK_INT(s.logs[i].log_index, i);
        CHECK(address_eq(&s.logs[i].address, emitter[i]));
        CHECK_MEM(s.logs[i].topics[0], topic[i], 32);
        check_same_as_receipt_log(&s.logs[i], json_array_get(receipt_logs, i));
    }
    CHECK_INT(json_array_size(receipt_logs), 3);
    json_decref(receipt_logs);
    check_cursor_at(&f, mint_block);
}

static void test_refused_log_retried(void)
{
    struct address a;
    struct follow f;
    struct sink s;
    struct sent t[3];
    struct err e = {0};
    if (!deploy_vault(&a) || !setup(&f, &s, &chain.rpc, &a, 1, true, head() + 1, 10, 16))
        return;
    for (int i = 0; i < 3; i++)
        tip(&t[i], &a, 300 + (uint64_t)i);
    s.refuse_call = 2;
    struct follow_poll_report rep;
    CHECK_INT(follow_poll(&f, &rep, &e), FOLLOW_ERR_CALLBACK);
    char want[80];
    snprintf(want, sizeof want, "block %" PRIu64 " log 0: on_log refused it", t[1].block);
    CHECK_STR(e.msg, want);
    CHECK(rep.logs == 1 && s.n == 1);
    check_cursor_at(&f, t[1].block - 1); /* the refused block is not delivered */
    rep = poll_ok(&f);
    CHECK(rep.logs == 2 && s.n == 3 && s.calls == 4 && s.redelivered == 0);
    for (int i = 0; i < 3; i++)
        check_tip_log(&s.logs[i], &t[i], &a);
}

/* The node refuses eth_getLogs over more than 2 blocks: 8 -> 4 -> 2. */
static void test_range_halved_when_node_refuses(void)
{
    struct address a;
    struct follow f;
    struct sink s;
    struct sent t[4];
    struct rpc_client via = {0};
    struct err e = {0};
    if (!proxy_client(&via))
        return;
    if (!deploy_vault(&a) || !setup(&f, &s, &via, &a, 1, true, head() + 1, 8, 16)) {
        rpc_client_release(&via);
        return;
    }
    for (int i = 0; i < 4; i++) {
        tip(&t[i], &a, 400 + (uint64_t)i);
        mine(1);
    }
    pthread_mutex_lock(&proxy_srv.mu);
    proxy.range_limit = 2;
    proxy.refusals = 0;
    pthread_mutex_unlock(&proxy_srv.mu);
    struct follow_poll_report rep = poll_ok(&f);
    CHECK(rep.caught_up && rep.logs == 4 && s.n == 4);
    CHECK_INT(rep.range_halvings, 2);
    CHECK_INT(follow_range_now(&f), 2);
    pthread_mutex_lock(&proxy_srv.mu);
    CHECK_INT(proxy.refusals, 2);
    pthread_mutex_unlock(&proxy_srv.mu);
    for (int i = 0; i < 4 && s.n == 4; i++)
        check_tip_log(&s.logs[i], &t[i], &a);
    /* One block refused as well: an error, and the cursor stays. */
    mine(2);
    pthread_mutex_lock(&proxy_srv.mu);
    proxy.range_limit = 0;
    pthread_mutex_unlock(&proxy_srv.mu);
    struct follow_block before, after;
    CHECK(follow_cursor(&f, &before));
    CHECK_INT(follow_poll(&f, &rep, &e), FOLLOW_ERR_RPC);
    CHECK(strstr(e.msg, "exceed maximum block range") != NULL);
    CHECK_INT(follow_range_now(&f), 1);
    CHECK(follow_cursor(&f, &after) && after.number == before.number);
    /* The node takes wide ranges again: after 32 good ones the range doubles. */
    pthread_mutex_lock(&proxy_srv.mu);
    proxy.range_limit = 1000;
    pthread_mutex_unlock(&proxy_srv.mu);
    mine(FOLLOW_RANGE_REGROW_AFTER + 6); /* with the 2 above: 32 ranges of 1, 4 of 2 */
    rep = poll_ok(&f);
    CHECK(rep.caught_up && rep.blocks == FOLLOW_RANGE_REGROW_AFTER + 8);
    CHECK_INT(follow_range_now(&f), 2);
    rpc_client_release(&via);
}

/* ---- reorgs ----------------------------------------------------------------------------- */

/* Replaced by a longer chain; the first on_reorg is refused and retried. */
static void test_reorg_to_longer_chain(void)
{
    struct address a;
    struct follow f;
    struct sink s;
    struct sent old[2], neu[3];
    struct follow_poll_report rep;
    char snap[SNAPSHOT_ID_MAX];
    uint64_t base = 0;
    if (!reorg_prologue(&a, &f, &s, &chain.rpc, 3, snap, &base, old, 501))
        return;
    revert_to(snap);
    CHECK_INT(head(), base);
    mine(1);
    for (int i = 0; i < 3; i++)
        tip(&neu[i], &a, 601 + (uint64_t)i);
    s.refuse_reorg = true;
    struct err e = {0};
    char want[64];
    snprintf(want, sizeof want, "reorg from block %" PRIu64 ": on_reorg refused it", base + 1);
    CHECK_INT(follow_poll(&f, &rep, &e), FOLLOW_ERR_CALLBACK);
    CHECK_STR(e.msg, want);
    CHECK(s.reorgs == 0 && s.n == 2 && follow_next_block(&f) == base + 3);
    rep = poll_ok(&f);
    CHECK_INT(rep.reorgs, 1);
    CHECK_INT(rep.first_orphaned, base + 1);
    CHECK(s.reorgs == 1 && s.reorg_first[0] == base + 1);
    CHECK_INT(rep.logs, 3);
    CHECK_INT(s.n, 3);
    for (int i = 0; i < 3 && s.n == 3; i++)
        check_tip_log(&s.logs[i], &neu[i], &a);
    for (size_t i = 0; i < s.n; i++) /* nothing from the orphaned blocks */
        CHECK(memcmp(s.logs[i].tx_hash, old[0].tx_hash, 32) != 0 &&
              memcmp(s.logs[i].tx_hash, old[1].tx_hash, 32) != 0);
    CHECK_INT(s.redelivered, 0);
    check_cursor_at(&f, base + 4);
}

/* Replaced by a shorter chain: the cursor block no longer exists. */
static void test_reorg_to_shorter_chain(void)
{
    struct address a;
    struct follow f;
    struct sink s;
    struct sent t[4];
    char snap[SNAPSHOT_ID_MAX];
    if (!deploy_vault(&a) || !setup(&f, &s, &chain.rpc, &a, 1, true, head() + 1, 10, 16))
        return;
    tip(&t[0], &a, 700);
    poll_ok(&f);
    snapshot(snap);
    uint64_t base = head();
    tip(&t[1], &a, 701);
    tip(&t[2], &a, 702);
    mine(2);
    struct follow_poll_report rep = poll_ok(&f);
    CHECK(rep.logs == 2 && s.n == 3);
    revert_to(snap);
    tip(&t[3], &a, 703); /* the only block of the new branch */
    rep = poll_ok(&f);
    CHECK(rep.reorgs == 1 && rep.first_orphaned == base + 1 && s.reorg_first[0] == base + 1);
    CHECK(rep.logs == 1 && s.n == 2);
    if (s.n == 2) {
        check_tip_log(&s.logs[0], &t[0], &a);
        check_tip_log(&s.logs[1], &t[3], &a);
    }
    check_cursor_at(&f, base + 1);
}

/* The chain is replaced between the head check and the range: the first new
 * header's parentHash no longer matches the stored cursor. */
static void test_reorg_between_calls(void)
{
    struct address a;
    struct follow f;
    struct sink s;
    struct sent t[2];
    struct rpc_client via = {0};
    char snap[SNAPSHOT_ID_MAX];
    uint64_t base = 0;
    if (!proxy_client(&via))
        return;
    if (!reorg_prologue(&a, &f, &s, &via, 10, snap, &base, t, 1101)) {
        rpc_client_release(&via);
        return;
    }
    mine(2); /* base+3, base+4 on the old branch: the next poll walks them */
    pthread_mutex_lock(&proxy_srv.mu);
    snprintf(proxy.revert_id, sizeof proxy.revert_id, "%s", snap);
    proxy.mine_after_revert = 5; /* a new branch base+1..base+5 without tips */
    pthread_mutex_unlock(&proxy_srv.mu);
    struct follow_poll_report rep = poll_ok(&f);
    CHECK_INT(rep.head, base + 4); /* read before the reorg */
    CHECK(rep.reorgs == 1 && rep.first_orphaned == base + 1 && s.reorg_first[0] == base + 1);
    CHECK(s.n == 0 && rep.logs == 0);
    check_cursor_at(&f, base + 4);
    rep = poll_ok(&f);
    CHECK(rep.blocks == 1 && rep.reorgs == 0);
    check_cursor_at(&f, base + 5);
    rpc_client_release(&via);
}

/* The node goes back to an earlier block of the same chain (like a lagging
 * replica): no reorg, the poll waits; once different blocks fill those
 * heights, that is the reorg. */
static void test_node_behind_is_no_reorg(void)
{
    struct address a;
    struct follow f;
    struct sink s;
    struct sent old[2], neu;
    char snap[SNAPSHOT_ID_MAX];
    uint64_t base = 0;
    if (!reorg_prologue(&a, &f, &s, &chain.rpc, 10, snap, &base, old, 1201))
        return;
    mine(2);
    poll_ok(&f);
    struct follow_block before;
    CHECK(follow_cursor(&f, &before) && before.number == base + 4);
    revert_to(snap); /* blocks base+1.. gone, nothing else changed */
    struct follow_poll_report rep = poll_ok(&f);
    CHECK(rep.reorgs == 0 && rep.blocks == 0 && !rep.caught_up && rep.head == base);
    CHECK(s.reorgs == 0 && s.n == 2);
    check_cursor_at_hash(&f, base + 4, before.hash);
    tip(&neu, &a, 1301);
    mine(4);
    rep = poll_ok(&f);
    CHECK(rep.reorgs == 1 && rep.first_orphaned == base + 1 && rep.caught_up);
    CHECK(s.n == 1 && rep.logs == 1);
    if (s.n == 1)
        check_tip_log(&s.logs[0], &neu, &a);
    check_cursor_at(&f, base + 5);
}

/* Every remembered block replaced: a loud stop, no advance, until resumed. */
static void test_deep_reorg_stops(void)
{
    struct address a;
    struct follow f;
    struct sink s;
    struct sent t;
    char snap[SNAPSHOT_ID_MAX];
    if (!deploy_vault(&a) || !setup(&f, &s, &chain.rpc, &a, 1, true, head() + 1, 10, 3))
        return;
    poll_ok(&f);
    snapshot(snap);
    tip(&t, &a, 801);
    mine(4);
    poll_ok(&f);
    struct follow_block before, after, recent[3];
    CHECK(follow_cursor(&f, &before));
    CHECK_INT(follow_recent(&f, recent, 3), 3);
    revert_to(snap);
    tip(&t, &a, 802);
    mine(6);
    struct follow_poll_report rep;
    struct err e = {0};
    char want[160];
    snprintf(want, sizeof want,
             "deep reorg: none of the 3 remembered blocks %" PRIu64 "..%" PRIu64
             " is canonical any more; following stopped at block %" PRIu64,
             recent[0].number, recent[2].number, before.number);
    CHECK_INT(follow_poll(&f, &rep, &e), FOLLOW_ERR_DEEP_REORG);
    CHECK_STR(e.msg, want);
    CHECK(s.reorgs == 0 && s.n == 1 && rep.blocks == 0);
    uint64_t attempts = chain.rpc.attempts_total;
    CHECK_INT(follow_poll(&f, &rep, &e), FOLLOW_ERR_DEEP_REORG); /* stays stopped */
    CHECK_STR(e.msg, want);
    CHECK_INT(chain.rpc.attempts_total, attempts); /* without asking the node */
    CHECK(follow_cursor(&f, &after) && after.number == before.number &&
          memcmp(after.hash, before.hash, 32) == 0);
    /* The operator resumes from a canonical block. */
    struct follow_block canon = {.number = t.block};
    memcpy(canon.hash, t.block_hash, 32);
    CHECK_INT(follow_resume(&f, &canon, 1, &e), FOLLOW_OK);
    rep = poll_ok(&f);
    CHECK(rep.blocks == 6 && rep.logs == 0);
    check_cursor_at(&f, t.block + 6);
}

/* ---- resume ------------------------------------------------------------------------------ */

static void test_resume_from_cursor(void)
{
    struct address a;
    struct follow f1, f2;
    struct sink s1, s2;
    struct sent t[3];
    struct err e = {0};
    if (!deploy_vault(&a) || !setup(&f1, &s1, &chain.rpc, &a, 1, true, head() + 1, 10, 16))
        return;
    tip(&t[0], &a, 901);
    tip(&t[1], &a, 902);
    poll_ok(&f1);
    CHECK_INT(s1.n, 2);
    struct follow_block recent[16];
    size_t n = follow_recent(&f1, recent, 16);
    CHECK(n >= 2 && n <= 16);
    /* A new follower (e.g. after a restart) whose start block is long past. */
    if (!setup(&f2, &s2, &chain.rpc, &a, 1, true, 0, 10, 16))
        return;
    CHECK_INT(follow_resume(&f2, recent, n, &e), FOLLOW_OK);
    tip(&t[2], &a, 903);
    struct follow_poll_report rep = poll_ok(&f2);
    CHECK(rep.blocks == 1 && rep.logs == 1 && s2.n == 1);
    check_tip_log(&s2.logs[0], &t[2], &a);
    check_cursor_at(&f2, t[2].block);
}

int main(void)
{
    struct err e = {0};
    if (!chain_open(&chain, &e)) {
        fprintf(stdout, "# %s\nnot ok - environment\n0 passed, 1 failed\n", e.msg);
        return 1;
    }
    char whole[SNAPSHOT_ID_MAX];
    snapshot(whole);
    CHECK(chain_load_rpc_url(proxy.upstream, &e));
    proxy.range_limit = 1000;
    http_fixture_start(&proxy_srv, proxy_handle, &proxy);
    RUN(test_config_checked);
    RUN(test_addresses_and_resume_checked);
    RUN(test_range_error_classified);
    RUN(test_log_from_json);
    RUN(test_delivers_in_order_across_ranges);
    RUN(test_poll_bounds_and_confirmations);
    RUN(test_address_added_at_runtime);
    RUN(test_several_logs_in_one_block);
    RUN(test_refused_log_retried);
    RUN(test_range_halved_when_node_refuses);
    RUN(test_reorg_to_longer_chain);
    RUN(test_reorg_to_shorter_chain);
    RUN(test_reorg_between_calls);
    RUN(test_node_behind_is_no_reorg);
    RUN(test_deep_reorg_stops);
    RUN(test_resume_from_cursor);
    http_fixture_stop(&proxy_srv);
    revert_to(whole);
    chain_close(&chain);
    return harness_finish();
}
