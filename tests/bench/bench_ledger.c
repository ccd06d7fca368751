/*
 * bench_ledger.c - the settlement benchmark of `make bench` (issue "Settlement
 * service, part 1", Performance): index, split (5 payees) and post revenue
 * events, against a raw COPY of the same number of posting rows into the same
 * PostgreSQL. tests/bench/settlement.sh starts the private cluster and runs
 * this program; tests/bench/run.sh turns its output into docs/benchmarks.md.
 *
 * Three measurements, each in a fresh schema migrated with migrations/ (so
 * every run starts from an empty journal; the schema is dropped afterwards):
 *
 *   indexer  the real indexer (services/settlement/indexer.c, indexer_poll
 *            with indexer_config_default() but for the chain id, the vault,
 *            the cursor name and the lock key) catches up on
 *            BENCH_LEDGER_EVENTS RevenueReceived and Tipped logs of the vault, all attributed to
 *            one creator (the RevenueReceived from its registered pass, the
 *            Tipped with its stream's key) whose split version has 5 payees
 *            (35/25/15/10/15 %, the demo split): every event becomes one entry
 *            of 6 postings (debit vault, credit 5 payees). The logs come from
 *            an in-process JSON-RPC node (tests/http_fixture.h) that answers
 *            eth_blockNumber, eth_getLogs and eth_getBlockByNumber (batches)
 *            from a synthetic chain: BENCH_LOGS_PER_BLOCK logs per block from
 *            block 1, then CONFIRMATIONS empty blocks, each header linked to
 *            its parent's hash; logs are generated per request (nothing is
 *            kept). 5 logs per block and the follower's 1,000-block ranges
 *            give 5,000 logs per eth_getLogs, under FOLLOW_RANGE_LOGS_MAX and
 *            the rpc client's response cap, and two ranges fill one poll's
 *            FOLLOW_LOGS_PER_POLL_DEFAULT exactly, so no range is cut short
 *            and fetched twice. Timed: indexer_init to the poll after which
 *            every event is confirmed.
 *   ledger   the split and post path alone: split_compute() of each event
 *            with the same shares, entries built as the indexer builds them,
 *            ledger_post_batch() of INDEXER_POST_BATCH_MAX entries at a time
 *            (the indexer's batch). Timed: all of it.
 *   copy     the reference: one COPY ... FROM STDIN (text format, libpq
 *            PQputCopyData in 64 KiB chunks) of the same 6 * BENCH_LEDGER_EVENTS
 *            posting rows (same entry ids, lines, creator key, accounts,
 *            sides and amounts) into bench_copy_postings, created LIKE
 *            ledger_postings INCLUDING ALL (its columns, collation, CHECKs,
 *            primary key and balance index; not its foreign key or its
 *            triggers). Timed: the rows' formatting and the COPY.
 *
 * Repetitions alternate (rep 1: copy, ledger, indexer; rep 2 the other way
 * round; ...), so drifting load hits every side. One untimed COPY of all
 * the rows comes first: the first writes into a fresh cluster also create
 * its WAL files, which would burden whichever run came first. Each run is
 * checked before it counts: the entries, postings and confirmed events are exactly what was
 * sent, ledger_check_invariants() holds, and every payee's balance and the
 * vault's debits equal the sums computed here with split_compute() (the copy
 * run: the row count). A fast wrong answer is not a measurement.
 *
 * Where the time goes (the detail of each row): wall time, CPU time of this
 * program's main thread (the indexer or the ledger code, libpq, JSON
 * parsing), of the node thread (generating the answers: bench overhead, not
 * the indexer's), and of the PostgreSQL backend serving the session
 * (/proc/PID/stat of PQbackendPID), plus the rpc requests and polls.
 *
 * Settings (environment, through config.h): DATABASE_URL (required),
 * BENCH_LEDGER_EVENTS (default 1000000), BENCH_LEDGER_REPS (default 1);
 * for development BENCH_LEDGER_ONLY=copy|ledger|indexer runs only that side
 * (and prints no bench row).
 * Output on stdout: logfmt records in bench_crypto's format (info, group,
 * bench); progress on stderr. Not a test: nothing judges time; the exit
 * status is non-zero only when a run fails or its result is wrong.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "abi.h"
#include "address.h"
#include "buf.h"
#include "config.h"
#include "hex.h"
#include "http_fixture.h"
#include "ids.h"
#include "indexer.h"
#include "integration/pg_fixture.h"
#include "ledger.h"
#include "migrate.h"
#include "pg.h"
#include "rpc.h"
#include "split.h"
#include "u256.h"

#define BENCH_EVENTS_DEFAULT "1000000"
#define BENCH_EVENTS_MAX 10000000u
#define BENCH_REPS_MAX 9
#define BENCH_LOGS_PER_BLOCK 5u
#define BENCH_CONFIRMATIONS 6u
#define BENCH_PAYEES 5u
#define BENCH_POSTINGS_PER_EVENT (BENCH_PAYEES + 1u)
#define BENCH_CHAIN_ID 31337u
#define BENCH_LOCK_KEY 7302888001LL
#define BENCH_COPY_CHUNK (64u * 1024u)
#define BENCH_NODE_BODY_MAX ((size_t)16 << 20)
#define BENCH_POLLS_SLACK 1000u
#define BENCH_TARGET 0.50

static const char creator_id[] = "b3c1d2e3-f405-4617-8829-3a4b5c6d7e8f";
static const char stream_id[] = "c4d2e3f4-0516-4728-9930-4b5c6d7e8f90";
static const char vault_hex[] = "5e7710c0ffee00000000000000000000000000a1";
static const char pass_hex[] = "9a55000000000000000000000000000000000b02";
static const char owner_hex[] = "70997970c51812dc3a010c7d01b50e0d17dc79c8";
/* The demo split (services/stack/demo.js): 35/25/15/10/15 %. */
static const uint32_t payee_bps[BENCH_PAYEES] = {3500, 2500, 1500, 1000, 1500};

/* The synthetic chain and what the runs are checked against. */
struct bench_chain {
    uint64_t events;
    uint64_t last_log_block; /* the block of the last event */
    uint64_t head;           /* last_log_block + BENCH_CONFIRMATIONS */
    struct address vault, pass;
    uint8_t creator_key[32], stream_key[32];
    uint8_t rr_topic[32], tp_topic[32];
    struct split_share shares[BENCH_PAYEES]; /* ordered by payee, as the indexer reads them */
    struct u256 *parts;                      /* events * BENCH_PAYEES split parts */
    struct u256 expected[BENCH_PAYEES];      /* per share: the sum of its parts */
    struct u256 total;                       /* the sum of all amounts */
};

/* The node's state; the handler runs on the fixture's thread. */
struct bench_node {
    const struct bench_chain *chain;
    struct buf body;            /* the answer being built (node thread only) */
    atomic_uint_fast64_t calls; /* JSON-RPC calls answered */
    atomic_uint_fast64_t cpu_ns;
    atomic_bool bad; /* a request the node does not serve: the run fails */
};

/* One timed run. */
struct bench_run {
    double seconds;
    double main_cpu_s, node_cpu_s, backend_cpu_s;
    uint64_t postings, rpc_calls, polls;
};

struct bench_samples {
    double rate[BENCH_REPS_MAX];
    struct bench_run runs[BENCH_REPS_MAX];
    int n;
};

static struct http_fixture node_server;
static struct bench_node node;
static struct bench_chain chain;

/* ---- small helpers ---------------------------------------------------------------------- */

static void say_v(const char *fmt, va_list ap)
{
    fprintf(stderr, "bench: ledger: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
}

/* A progress line on stderr. */
__attribute__((format(printf, 1, 2))) static void say(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    say_v(fmt, ap);
    va_end(ap);
}

/* The reason on stderr, then exit status 1: the run failed or was wrong. */
__attribute__((format(printf, 1, 2), noreturn)) static void fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    say_v(fmt, ap);
    va_end(ap);
    exit(1);
}

static double clock_s(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* CPU seconds (user + system) of process `pid` so far, from /proc/PID/stat. */
static double proc_cpu_s(int pid)
{
    char path[64], text[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return 0.0;
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    const char *p = strrchr(text, ')'); /* the command may hold spaces */
    unsigned long utime = 0, stime = 0;
    if (p == NULL ||
        sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &utime, &stime) != 2)
        return 0.0;
    return (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
}

/* splitmix64: the synthetic chain's bytes, a pure function of (seed, n). */
static uint64_t mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

static void fill32(uint8_t out[32], uint64_t seed, uint64_t n)
{
    for (int w = 0; w < 4; w++) {
        uint64_t v = mix(seed ^ mix(n * 4u + (uint64_t)w));
        for (int b = 0; b < 8; b++)
            out[w * 8 + b] = (uint8_t)(v >> (56 - 8 * b));
    }
}

static void block_hash(uint8_t out[32], uint64_t number)
{
    fill32(out, 0xb10cULL, number);
}

static void tx_hash(uint8_t out[32], uint64_t event)
{
    fill32(out, 0x7a5ULL, event);
}

static void payer_of(struct address *out, uint64_t event)
{
    uint8_t b[32];
    fill32(b, 0xfa11ULL, event);
    memcpy(out->bytes, b, ADDRESS_BYTES);
}

/* Wei amounts from 10^4 to about 10^18; every 97th about 2^64 times larger. */
static struct u256 amount_of(uint64_t event)
{
    struct u256 a = u256_from_u64(10000u + mix(event ^ 0xa3u) % 1000000000000000000ULL);
    if (event % 97u == 0) {
        struct u256 scale = u256_from_u64(UINT64_MAX), out;
        ASSERT(u256_mul(&out, &a, &scale) == U256_OK);
        a = out;
    }
    return a;
}

static void hex_bytes(char *out, size_t out_size, const uint8_t *bytes, size_t len)
{
    ASSERT(hex_encode(out, out_size, bytes, len) == 0);
}

/* ---- the synthetic chain ---------------------------------------------------------------- */

static int share_cmp(const void *a, const void *b)
{
    return memcmp(((const struct split_share *)a)->payee.bytes,
                  ((const struct split_share *)b)->payee.bytes, ADDRESS_BYTES);
}

/* Fills the chain of `events` events and the expected split sums. */
static void chain_init(struct bench_chain *c, uint64_t events)
{
    memset(c, 0, sizeof *c);
    c->events = events;
    c->last_log_block = (events + BENCH_LOGS_PER_BLOCK - 1) / BENCH_LOGS_PER_BLOCK;
    c->head = c->last_log_block + BENCH_CONFIRMATIONS;
    ASSERT(hex_decode_exact(c->vault.bytes, ADDRESS_BYTES, vault_hex, 40, NULL) == HEX_OK);
    ASSERT(hex_decode_exact(c->pass.bytes, ADDRESS_BYTES, pass_hex, 40, NULL) == HEX_OK);
    ids_key_of(c->creator_key, creator_id);
    ids_key_of(c->stream_key, stream_id);
    abi_event_topic(c->rr_topic, INDEXER_REVENUE_RECEIVED_SIG);
    abi_event_topic(c->tp_topic, INDEXER_TIPPED_SIG);
    for (size_t i = 0; i < BENCH_PAYEES; i++) {
        uint8_t b[32];
        fill32(b, 0x9a7eeULL, i);
        memcpy(c->shares[i].payee.bytes, b, ADDRESS_BYTES);
        c->shares[i].share_bps = payee_bps[i];
    }
    qsort(c->shares, BENCH_PAYEES, sizeof c->shares[0], share_cmp);
    c->parts = calloc((size_t)events * BENCH_PAYEES, sizeof *c->parts);
    if (c->parts == NULL)
        fail("out of memory for %" PRIu64 " events", events);
    for (uint64_t g = 0; g < events; g++) {
        struct u256 amount = amount_of(g), *parts = c->parts + g * BENCH_PAYEES;
        struct err e = {0};
        if (split_compute(parts, c->shares, BENCH_PAYEES, &amount, &e) != SPLIT_OK)
            fail("split_compute: %s", e.msg);
        ASSERT(u256_add(&c->total, &c->total, &amount) == U256_OK);
        for (size_t i = 0; i < BENCH_PAYEES; i++) {
            ASSERT(!u256_is_zero(&parts[i])); /* amounts >= 10^4 wei: every part > 0 */
            ASSERT(u256_add(&c->expected[i], &c->expected[i], &parts[i]) == U256_OK);
        }
    }
}

/* ---- the JSON-RPC node ---------------------------------------------------------------------- */

static void out_str(const char *s)
{
    if (buf_append_str(&node.body, s) != BUF_OK)
        atomic_store(&node.bad, true);
}

__attribute__((format(printf, 1, 2))) static void out_fmt(const char *fmt, ...)
{
    char text[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    ASSERT(n > 0 && (size_t)n < sizeof text);
    out_str(text);
}

/* "0x" + the bytes in hex, quoted. */
static void out_hex(const uint8_t *bytes, size_t len)
{
    char hex[2 * 96 + 1];
    ASSERT(len <= 96);
    hex_bytes(hex, sizeof hex, bytes, len);
    out_fmt("\"0x%s\"", hex);
}

/* A 32-byte word holding the address (topics and data). */
static void word_of_address(uint8_t out[32], const struct address *a)
{
    memset(out, 0, 12);
    memcpy(out + 12, a->bytes, ADDRESS_BYTES);
}

static void out_header(uint64_t number)
{
    uint8_t hash[32], parent[32] = {0};
    block_hash(hash, number);
    if (number > 0)
        block_hash(parent, number - 1);
    out_fmt("{\"number\":\"0x%" PRIx64 "\",\"hash\":", number);
    out_hex(hash, 32);
    out_str(",\"parentHash\":");
    out_hex(parent, 32);
    out_fmt(",\"timestamp\":\"0x%" PRIx64 "\",\"gasLimit\":\"0x1c9c380\",\"gasUsed\":\"0x0\","
            "\"miner\":\"0x0000000000000000000000000000000000000000\",\"transactions\":[]}",
            1700000000u + 12u * number);
}

/* The log of event g, as anvil writes it. */
static void out_log(uint64_t g)
{
    const struct bench_chain *c = node.chain;
    uint64_t block = 1 + g / BENCH_LOGS_PER_BLOCK, index = g % BENCH_LOGS_PER_BLOCK;
    uint8_t hash[32], words[3][32];
    struct u256 amount = amount_of(g);
    struct address payer;
    payer_of(&payer, g);
    out_str("{\"address\":");
    out_hex(c->vault.bytes, ADDRESS_BYTES);
    out_str(",\"topics\":[");
    size_t data_words;
    if (g % 2 == 0) { /* RevenueReceived(creatorKey, source; kind, payer, amount) */
        word_of_address(words[0], &c->pass);
        out_hex(c->rr_topic, 32);
        out_str(",");
        out_hex(c->creator_key, 32);
        out_str(",");
        out_hex(words[0], 32);
        memset(words[0], 0, 32);
        words[0][31] = (uint8_t)(g % 3);
        word_of_address(words[1], &payer);
        u256_to_be32(words[2], &amount);
        data_words = 3;
    } else { /* Tipped(creatorKey, streamKey, from; amount) */
        word_of_address(words[0], &payer);
        out_hex(c->tp_topic, 32);
        out_str(",");
        out_hex(c->creator_key, 32);
        out_str(",");
        out_hex(c->stream_key, 32);
        out_str(",");
        out_hex(words[0], 32);
        u256_to_be32(words[0], &amount);
        data_words = 1;
    }
    out_str("],\"data\":");
    out_hex(words[0], 32 * data_words);
    block_hash(hash, block);
    out_str(",\"blockHash\":");
    out_hex(hash, 32);
    out_fmt(",\"blockNumber\":\"0x%" PRIx64 "\",\"transactionHash\":", block);
    tx_hash(hash, g);
    out_hex(hash, 32);
    out_fmt(",\"transactionIndex\":\"0x%" PRIx64 "\",\"logIndex\":\"0x%" PRIx64
            "\",\"removed\":false}",
            index, index);
}

static bool quantity(uint64_t *out, const json_t *v)
{
    return rpc_parse_quantity_u64(out, v, NULL) == RPC_OK;
}

/* eth_getLogs: the vault's logs of from..min(to, head); no other contract has any. */
static bool answer_logs(const json_t *params)
{
    const json_t *filter = json_array_get(params, 0), *addr = json_object_get(filter, "address");
    uint64_t from = 0, to = 0;
    char vault_text[ADDRESS_TEXT_SIZE];
    address_format_lower(vault_text, &node.chain->vault);
    const char *one = json_string_value(addr);
    bool vault = one != NULL && strcasecmp(one, vault_text) == 0;
    for (size_t i = 0; !vault && i < json_array_size(addr); i++) { /* with the passes followed */
        one = json_string_value(json_array_get(addr, i));
        vault = one != NULL && strcasecmp(one, vault_text) == 0;
    }
    if (!quantity(&from, json_object_get(filter, "fromBlock")) ||
        !quantity(&to, json_object_get(filter, "toBlock")))
        return false;
    if (!vault) { /* another contract's logs (a pass backfill): it has none */
        out_str("[]");
        return true;
    }
    if (to > node.chain->head)
        to = node.chain->head;
    out_str("[");
    bool any = false;
    for (uint64_t b = from < 1 ? 1 : from; b <= to && b <= node.chain->last_log_block; b++)
        for (uint64_t k = 0; k < BENCH_LOGS_PER_BLOCK; k++) {
            uint64_t g = (b - 1) * BENCH_LOGS_PER_BLOCK + k;
            if (g >= node.chain->events)
                break;
            if (any)
                out_str(",");
            out_log(g);
            any = true;
        }
    out_str("]");
    return true;
}

/* One call's "result" (or false: not served). */
static bool answer_result(const char *method, const json_t *params)
{
    if (strcmp(method, "eth_blockNumber") == 0) {
        out_fmt("\"0x%" PRIx64 "\"", node.chain->head);
        return true;
    }
    if (strcmp(method, "eth_getBlockByNumber") == 0) {
        uint64_t number = 0;
        if (!quantity(&number, json_array_get(params, 0)))
            return false;
        if (number > node.chain->head)
            out_str("null");
        else
            out_header(number);
        return true;
    }
    if (strcmp(method, "eth_getLogs") == 0)
        return answer_logs(params);
    return false;
}

static void answer_call(const json_t *call)
{
    const json_t *id = json_object_get(call, "id");
    const char *method = json_string_value(json_object_get(call, "method"));
    if (!json_is_integer(id) || method == NULL) {
        atomic_store(&node.bad, true);
        out_str("{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32600,"
                "\"message\":\"invalid request\"}}");
        return;
    }
    out_fmt("{\"jsonrpc\":\"2.0\",\"id\":%" JSON_INTEGER_FORMAT ",\"result\":",
            json_integer_value(id));
    size_t mark = node.body.len;
    if (!answer_result(method, json_object_get(call, "params"))) {
        atomic_store(&node.bad, true);
        node.body.len = mark - strlen("\"result\":");
        node.body.data[node.body.len] = '\0';
        out_str("\"error\":{\"code\":-32601,\"message\":\"not served by the bench node\"}}");
        return;
    }
    out_str("}");
    atomic_fetch_add(&node.calls, 1);
}

static void node_handle(struct http_fixture *f, int fd, const char *body, size_t body_len)
{
    (void)f;
    double t0 = clock_s(CLOCK_THREAD_CPUTIME_ID);
    buf_reset(&node.body);
    json_t *req = json_loadb(body, body_len, 0, NULL);
    if (json_is_array(req)) {
        out_str("[");
        for (size_t i = 0; i < json_array_size(req); i++) {
            if (i > 0)
                out_str(",");
            answer_call(json_array_get(req, i));
        }
        out_str("]");
    } else if (json_is_object(req)) {
        answer_call(req);
    } else {
        atomic_store(&node.bad, true);
        out_str("{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32700,"
                "\"message\":\"parse error\"}}");
    }
    json_decref(req);
    char head[HTTP_FIXTURE_HEAD_BYTES_MAX];
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
                     "Connection: close\r\n\r\n",
                     node.body.len);
    ASSERT(n > 0 && (size_t)n < sizeof head);
    http_fixture_send_all(fd, head, (size_t)n);
    http_fixture_send_all(fd, (const char *)node.body.data, node.body.len);
    double t1 = clock_s(CLOCK_THREAD_CPUTIME_ID);
    atomic_fetch_add(&node.cpu_ns, (uint_fast64_t)((t1 - t0) * 1e9));
}

/* ---- database --------------------------------------------------------------------------- */

/* A fresh migrated schema on `pc`, with the statement timeout at its maximum
 * (one COPY or invariant check of millions of rows takes longer than the
 * services' default). */
static void db_fresh(struct pg_session *pc, char *schema, size_t schema_size)
{
    struct err e = {0};
    if (!pg_fixture_fresh_schema(pc, schema, schema_size))
        fail("no fresh schema");
    if (pg_set_statement_timeout(pc, PG_STATEMENT_TIMEOUT_MS_MAX, &e) != PG_OK ||
        migrate_run(pc, "migrations", NULL, &e) != MIGRATE_OK)
        fail("migrations: %s", e.msg);
}

static void db_script(struct pg_session *pc, const char *sql)
{
    struct err e = {0};
    if (pg_exec_script(pc, sql, &e) != PG_OK)
        fail("%s", e.msg);
}

/* The creator, its pass and stream, and its 5-way split from block 0. */
static void db_seed(struct pg_session *pc)
{
    char ck[65], sk[65], sql[4096];
    hex_bytes(ck, sizeof ck, chain.creator_key, 32);
    hex_bytes(sk, sizeof sk, chain.stream_key, 32);
    int n = snprintf(sql, sizeof sql,
                     "BEGIN;"
                     "INSERT INTO creators (id, owner, creator_key, name) VALUES"
                     " ('%s', '\\x%s', '\\x%s', 'bench creator');"
                     "INSERT INTO passes (contract, creator_id, name, symbol, price_wei,"
                     " max_supply, royalty_bps) VALUES ('\\x%s', '%s', 'Bench', 'BNCH', 1, 1000,"
                     " 500);"
                     "INSERT INTO streams (id, creator_id, stream_key, title, ingest_key_hash)"
                     " VALUES ('%s', '%s', '\\x%s', 'bench', '\\x%064d');"
                     "INSERT INTO split_versions (creator_id, version, effective_from_block)"
                     " VALUES ('%s', 1, 0);",
                     creator_id, owner_hex, ck, pass_hex, creator_id, stream_id, creator_id, sk, 0,
                     creator_id);
    ASSERT(n > 0 && (size_t)n < sizeof sql);
    size_t len = (size_t)n;
    for (size_t i = 0; i < BENCH_PAYEES; i++) {
        char payee[41];
        hex_bytes(payee, sizeof payee, chain.shares[i].payee.bytes, ADDRESS_BYTES);
        n = snprintf(sql + len, sizeof sql - len,
                     "INSERT INTO split_shares (creator_id, version, payee, role, bps) VALUES"
                     " ('%s', 1, '\\x%s', 'payee %zu', %u);",
                     creator_id, payee, i, (unsigned)chain.shares[i].share_bps);
        ASSERT(n > 0 && (size_t)n < sizeof sql - len);
        len += (size_t)n;
    }
    ASSERT(len + 8 < sizeof sql);
    memcpy(sql + len, "COMMIT;", 8);
    db_script(pc, sql);
}

static const char *db_value(struct pg_session *pc, const char *sql)
{
    return pg_fixture_query_value(pc, sql);
}

static void expect_value(struct pg_session *pc, const char *sql, const char *want)
{
    const char *got = db_value(pc, sql);
    if (strcmp(got, want) != 0)
        fail("wrong result: %s gave %s, want %s", sql, got, want);
}

static void expect_count(struct pg_session *pc, const char *sql, uint64_t want)
{
    char text[24];
    snprintf(text, sizeof text, "%" PRIu64, want);
    expect_value(pc, sql, text);
}

/* The journal holds exactly the events' entries, split as computed here. */
static void check_journal(struct pg_session *pc)
{
    struct err e = {0};
    struct ledger_check_report rep;
    if (ledger_check_invariants(&rep, pc, &e) != LEDGER_OK)
        fail("ledger invariants: %s", e.msg);
    if (rep.entries != chain.events || rep.postings != chain.events * BENCH_POSTINGS_PER_EVENT)
        fail("journal holds %" PRIu64 " entries and %" PRIu64 " postings, want %" PRIu64
             " and %" PRIu64,
             rep.entries, rep.postings, chain.events, chain.events * BENCH_POSTINGS_PER_EVENT);
    struct ledger_payee_balance bal[BENCH_PAYEES + 1];
    size_t n = 0;
    if (ledger_payee_balances(bal, BENCH_PAYEES + 1, &n, pc, chain.creator_key, &e) != LEDGER_OK ||
        n != BENCH_PAYEES)
        fail("payee balances: %zu payees: %s", n, e.msg);
    for (size_t i = 0; i < BENCH_PAYEES; i++) /* both ordered by address */
        if (!address_eq(&bal[i].payee, &chain.shares[i].payee) ||
            u256_cmp(&bal[i].unsettled_wei, &chain.expected[i]) != 0 ||
            u256_cmp(&bal[i].earned_wei, &chain.expected[i]) != 0 ||
            !u256_is_zero(&bal[i].settled_wei))
            fail("payee %zu's balance differs from the split computed here", i);
    char total[U256_DEC_SIZE];
    u256_to_dec(total, &chain.total);
    expect_value(pc,
                 "SELECT sum(amount_wei) FROM ledger_postings WHERE account = 'vault'"
                 " AND side = 'debit'",
                 total);
}

/* ---- the three runs ------------------------------------------------------------------------- */

struct run_clock {
    double wall, cpu, backend;
    uint_fast64_t node_ns, calls;
    int backend_pid;
};

static void run_start(struct run_clock *c, const struct pg_session *pc)
{
    c->backend_pid = PQbackendPID(pc->conn);
    c->node_ns = atomic_load(&node.cpu_ns);
    c->calls = atomic_load(&node.calls);
    c->backend = proc_cpu_s(c->backend_pid);
    c->cpu = clock_s(CLOCK_THREAD_CPUTIME_ID);
    c->wall = clock_s(CLOCK_MONOTONIC);
}

static void run_stop(struct bench_run *r, const struct run_clock *c)
{
    r->seconds = clock_s(CLOCK_MONOTONIC) - c->wall;
    r->main_cpu_s = clock_s(CLOCK_THREAD_CPUTIME_ID) - c->cpu;
    r->backend_cpu_s = proc_cpu_s(c->backend_pid) - c->backend;
    r->node_cpu_s = (double)(atomic_load(&node.cpu_ns) - c->node_ns) * 1e-9;
    r->rpc_calls = atomic_load(&node.calls) - c->calls;
}

/* The indexer catches up on the node's chain. */
static void run_indexer(struct bench_run *r, const char *node_url)
{
    struct pg_session pc = {0};
    char schema[64];
    struct err e = {0};
    db_fresh(&pc, schema, sizeof schema);
    db_seed(&pc);
    struct rpc_client rpc;
    struct rpc_options opt;
    rpc_options_default(&opt);
    opt.total_timeout_ms = 120000;
    if (rpc_client_init(&rpc, node_url, &opt, &e) != RPC_OK)
        fail("rpc client: %s", e.msg);
    struct indexer_config cfg;
    indexer_config_default(&cfg);
    cfg.name = "bench";
    cfg.chain_id = BENCH_CHAIN_ID;
    cfg.vault = chain.vault;
    cfg.confirmations = BENCH_CONFIRMATIONS;
    cfg.lock_key = BENCH_LOCK_KEY;
    struct indexer ix;
    struct run_clock clk;
    uint64_t confirmed = 0, posted = 0, max_polls = chain.events / 1000u + BENCH_POLLS_SLACK;
    bool done = false;
    atomic_store(&node.bad, false);
    run_start(&clk, &pc);
    if (indexer_init(&ix, &pc, &rpc, &cfg, &e) != INDEXER_OK)
        fail("indexer_init: %s", e.msg);
    r->polls = 0;
    while (!done && r->polls < max_polls) {
        struct indexer_poll_report rep;
        enum indexer_result ir = indexer_poll(&ix, &rep, &e);
        r->polls++;
        if (ir != INDEXER_OK)
            fail("indexer_poll %" PRIu64 ": %d %s", r->polls, (int)ir, e.msg);
        confirmed += rep.events_confirmed;
        posted += rep.entries_posted;
        done = rep.caught_up && confirmed >= chain.events;
        if (r->polls % 20 == 0)
            say("indexer: poll %" PRIu64 ", %" PRIu64 " events confirmed", r->polls, confirmed);
    }
    run_stop(r, &clk);
    indexer_release(&ix);
    rpc_client_release(&rpc);
    if (!done || confirmed != chain.events || posted != chain.events || atomic_load(&node.bad))
        fail("indexer: %" PRIu64 " polls, %" PRIu64 " events confirmed and %" PRIu64
             " entries posted of %" PRIu64 "%s",
             r->polls, confirmed, posted, chain.events,
             atomic_load(&node.bad) ? "; the node got a request it does not serve" : "");
    r->postings = chain.events * BENCH_POSTINGS_PER_EVENT;
    expect_count(&pc,
                 "SELECT count(*) FROM revenue_events WHERE status = 'confirmed'"
                 " AND attribution = 'creator' AND split_version = 1",
                 chain.events);
    check_journal(&pc);
    pg_fixture_drop_schema(&pc, schema);
}

/* The postings of event g as the indexer builds them. */
static void event_entry(struct ledger_entry *en, struct ledger_posting *p, uint64_t g,
                        const struct u256 *parts)
{
    struct u256 amount = amount_of(g);
    p[0] = (struct ledger_posting){{LEDGER_ACCOUNT_VAULT, {{0}}}, LEDGER_DEBIT, amount};
    for (size_t i = 0; i < BENCH_PAYEES; i++)
        p[i + 1] = (struct ledger_posting){
            {LEDGER_ACCOUNT_PAYEE, chain.shares[i].payee}, LEDGER_CREDIT, parts[i]};
    *en = (struct ledger_entry){.kind = LEDGER_KIND_REVENUE,
                                .event = {.chain_id = BENCH_CHAIN_ID,
                                          .log_index = (uint32_t)(g % BENCH_LOGS_PER_BLOCK),
                                          .block_number = 1 + g / BENCH_LOGS_PER_BLOCK},
                                .postings = p,
                                .postings_len = BENCH_POSTINGS_PER_EVENT};
    memcpy(en->creator_key, chain.creator_key, 32);
    tx_hash(en->event.tx_hash, g);
    block_hash(en->event.block_hash, en->event.block_number);
}

/* split_compute + ledger_post_batch, INDEXER_POST_BATCH_MAX events at a time. */
static void run_ledger(struct bench_run *r)
{
    struct pg_session pc = {0};
    char schema[64];
    struct err e = {0};
    db_fresh(&pc, schema, sizeof schema);
    static struct ledger_entry entries[INDEXER_POST_BATCH_MAX];
    static struct ledger_posting postings[INDEXER_POST_BATCH_MAX][BENCH_POSTINGS_PER_EVENT];
    static uint64_t ids[INDEXER_POST_BATCH_MAX];
    struct run_clock clk;
    uint64_t posted = 0, written = 0;
    run_start(&clk, &pc);
    for (uint64_t g0 = 0; g0 < chain.events; g0 += INDEXER_POST_BATCH_MAX) {
        size_t n = (size_t)(chain.events - g0 < INDEXER_POST_BATCH_MAX ? chain.events - g0
                                                                       : INDEXER_POST_BATCH_MAX);
        for (size_t i = 0; i < n; i++) {
            struct u256 amount = amount_of(g0 + i), parts[BENCH_PAYEES];
            if (split_compute(parts, chain.shares, BENCH_PAYEES, &amount, &e) != SPLIT_OK)
                fail("split_compute: %s", e.msg);
            event_entry(&entries[i], postings[i], g0 + i, parts);
        }
        struct ledger_post_report rep;
        if (ledger_post_batch(&rep, ids, &pc, entries, n, &e) != LEDGER_OK)
            fail("ledger_post_batch: %s", e.msg);
        posted += rep.entries_posted;
        written += rep.postings_written;
        if ((g0 / INDEXER_POST_BATCH_MAX + 1) % 200 == 0)
            say("ledger: %" PRIu64 " events posted", posted);
    }
    run_stop(r, &clk);
    r->polls = 0;
    if (posted != chain.events || written != chain.events * BENCH_POSTINGS_PER_EVENT)
        fail("ledger: %" PRIu64 " entries and %" PRIu64 " postings written of %" PRIu64, posted,
             written, chain.events);
    r->postings = written;
    check_journal(&pc);
    pg_fixture_drop_schema(&pc, schema);
}

/* Appends one COPY text row of a posting to b. */
static void copy_row(struct buf *b, uint64_t entry, size_t line, const char *ck,
                     const char *account, const char *side, const struct u256 *amount)
{
    char dec[U256_DEC_SIZE];
    u256_to_dec(dec, amount);
    if (buf_printf(b, "%" PRIu64 "\t%zu\t\\\\x%s\t%s\t%s\t%s\n", entry, line, ck, account, side,
                   dec) != BUF_OK)
        fail("COPY buffer full");
}

static void copy_flush(struct pg_session *pc, struct buf *b)
{
    if (b->len > 0 && PQputCopyData(pc->conn, (const char *)b->data, (int)b->len) != 1)
        fail("PQputCopyData: %s", PQerrorMessage(pc->conn));
    buf_reset(b);
}

/* The reference: one COPY of the same posting rows. */
static void run_copy(struct bench_run *r)
{
    struct pg_session pc = {0};
    char schema[64], ck[65];
    db_fresh(&pc, schema, sizeof schema);
    db_script(&pc, "CREATE TABLE bench_copy_postings (LIKE ledger_postings INCLUDING ALL)");
    hex_bytes(ck, sizeof ck, chain.creator_key, 32);
    char accounts[BENCH_PAYEES][LEDGER_ACCOUNT_SIZE];
    for (size_t i = 0; i < BENCH_PAYEES; i++) {
        struct ledger_account a = {LEDGER_ACCOUNT_PAYEE, chain.shares[i].payee};
        ledger_account_name(accounts[i], &a);
    }
    struct buf b;
    buf_init(&b, 2 * BENCH_COPY_CHUNK);
    struct run_clock clk;
    run_start(&clk, &pc);
    PGresult *res = PQexec(pc.conn, "COPY bench_copy_postings (entry_id, line, creator_key,"
                                    " account, side, amount_wei) FROM STDIN");
    if (PQresultStatus(res) != PGRES_COPY_IN)
        fail("COPY: %s", PQerrorMessage(pc.conn));
    PQclear(res);
    for (uint64_t g = 0; g < chain.events; g++) {
        struct u256 amount = amount_of(g);
        const struct u256 *parts = chain.parts + g * BENCH_PAYEES;
        copy_row(&b, g + 1, 0, ck, "vault", "debit", &amount);
        for (size_t i = 0; i < BENCH_PAYEES; i++)
            copy_row(&b, g + 1, i + 1, ck, accounts[i], "credit", &parts[i]);
        if (b.len >= BENCH_COPY_CHUNK)
            copy_flush(&pc, &b);
    }
    copy_flush(&pc, &b);
    if (PQputCopyEnd(pc.conn, NULL) != 1)
        fail("PQputCopyEnd: %s", PQerrorMessage(pc.conn));
    res = PQgetResult(pc.conn);
    if (PQresultStatus(res) != PGRES_COMMAND_OK)
        fail("COPY: %s", PQerrorMessage(pc.conn));
    PQclear(res);
    while ((res = PQgetResult(pc.conn)) != NULL)
        PQclear(res);
    run_stop(r, &clk);
    buf_release(&b);
    r->polls = 0;
    r->postings = chain.events * BENCH_POSTINGS_PER_EVENT;
    expect_count(&pc, "SELECT count(*) FROM bench_copy_postings", r->postings);
    pg_fixture_drop_schema(&pc, schema);
}

/* ---- report --------------------------------------------------------------------------------- */

static void record(struct bench_samples *s, const struct bench_run *r, const char *what)
{
    s->runs[s->n] = *r;
    s->rate[s->n++] = (double)r->postings / r->seconds;
    say("%s: %" PRIu64 " postings in %.1f s = %.0f postings/s (CPU: this thread %.1f s, node"
        " %.1f s, PostgreSQL backend %.1f s; %" PRIu64 " rpc calls, %" PRIu64 " polls)",
        what, r->postings, r->seconds, (double)r->postings / r->seconds, r->main_cpu_s,
        r->node_cpu_s, r->backend_cpu_s, r->rpc_calls, r->polls);
}

static int dbl_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* best and median (the lower of the middle two) of s->rate. */
static void stats(const struct bench_samples *s, double *best, double *median, size_t *best_i)
{
    double v[BENCH_REPS_MAX];
    memcpy(v, s->rate, (size_t)s->n * sizeof v[0]);
    qsort(v, (size_t)s->n, sizeof v[0], dbl_cmp);
    *best = v[s->n - 1];
    *median = v[(s->n - 1) / 2];
    *best_i = 0;
    for (int i = 0; i < s->n; i++)
        if (s->rate[i] == *best)
            *best_i = (size_t)i;
}

static void print_row(const char *name, const struct bench_samples *ours,
                      const struct bench_samples *ref, bool target, const char *what)
{
    double ob, om, rb, rm;
    size_t oi, ri;
    stats(ours, &ob, &om, &oi);
    stats(ref, &rb, &rm, &ri);
    const struct bench_run *o = &ours->runs[oi], *f = &ref->runs[ri];
    printf("bench group=settlement name=%s unit=postings/s ours=%.1f ref=%.1f ratio=%.3f "
           "ours_median=%.1f ref_median=%.1f ratio_median=%.3f reps=%d target=",
           name, ob, rb, ob / rb, om, rm, om / rm, ours->n);
    if (target)
        printf("%.2f target_text=\"index, split and post vs raw COPY of the posting rows\"",
               BENCH_TARGET);
    else
        printf("none target_text=\"\"");
    printf(" detail=\"%s. Best run: %" PRIu64 " postings in %.1f s (%.0f events/s); CPU seconds:"
           " client thread %.1f, PostgreSQL backend %.1f",
           what, o->postings, o->seconds,
           (double)o->postings / BENCH_POSTINGS_PER_EVENT / o->seconds, o->main_cpu_s,
           o->backend_cpu_s);
    if (o->rpc_calls > 0)
        printf(", bench node (answers generated in process, not the indexer's work) %.1f;"
               " %" PRIu64 " JSON-RPC calls, %" PRIu64 " polls",
               o->node_cpu_s, o->rpc_calls, o->polls);
    printf(". Best COPY run: %.1f s, CPU seconds: client %.1f, backend %.1f. Runs, postings/s"
           " (ours / COPY, in order):",
           f->seconds, f->main_cpu_s, f->backend_cpu_s);
    for (int i = 0; i < ours->n; i++)
        printf("%s %.0f / %.0f", i ? "," : "", ours->rate[i], ref->rate[i]);
    printf(".\"\n");
    fflush(stdout);
}

int main(void)
{
    uint64_t events = 0, reps = 0;
    char only[16] = "";
    struct config_entry t[3] = {{.name = "BENCH_LEDGER_EVENTS",
                                 .type = CONFIG_U64,
                                 .default_text = BENCH_EVENTS_DEFAULT,
                                 .min.u = 1,
                                 .max.u = BENCH_EVENTS_MAX,
                                 .dest = &events,
                                 .dest_size = sizeof events},
                                {.name = "BENCH_LEDGER_REPS",
                                 .type = CONFIG_U64,
                                 .default_text = "1",
                                 .min.u = 1,
                                 .max.u = BENCH_REPS_MAX,
                                 .dest = &reps,
                                 .dest_size = sizeof reps},
                                {.name = "BENCH_LEDGER_ONLY",
                                 .type = CONFIG_STRING,
                                 .min.u = 1,
                                 .max.u = sizeof only - 1,
                                 .dest = only,
                                 .dest_size = sizeof only}};
    struct config_errors errs;
    if (config_load(t, 3, config_lookup_env, NULL, &errs) != CONFIG_OK)
        fail("%s", errs.items[0].e.msg);
    static const char *const run_names[3] = {"copy", "ledger", "indexer"};
    bool run_on[3] = {true, true, true};
    if (only[0] != '\0') {
        for (int i = 0; i < 3; i++)
            run_on[i] = strcmp(only, run_names[i]) == 0;
        if (!run_on[0] && !run_on[1] && !run_on[2])
            fail("BENCH_LEDGER_ONLY must be copy, ledger or indexer, not '%s'", only);
    }
    if (!pg_fixture_init("bench_ledger"))
        fail("DATABASE_URL is not set");
    struct err e = {0};
    if (rpc_global_init(&e) != RPC_OK)
        fail("%s", e.msg);
    say("computing the splits of %" PRIu64 " events", events);
    chain_init(&chain, events);
    node.chain = &chain;
    buf_init(&node.body, BENCH_NODE_BODY_MAX);
    http_fixture_start(&node_server, node_handle, &node);
    char url[64];
    http_fixture_url(url, sizeof url, &node_server);

    printf("info ledger_events=%" PRIu64 " ledger_reps=%" PRIu64 " ledger_logs_per_block=%u "
           "ledger_postings=%" PRIu64 "\n",
           events, reps, BENCH_LOGS_PER_BLOCK, events * BENCH_POSTINGS_PER_EVENT);
    printf("group id=settlement title=\"Settlement: index, split and post vs raw COPY\" "
           "ours=\"the settlement indexer (indexer_poll, default limits: 1,000-block eth_getLogs"
           " ranges, 10,000 logs per poll, %d events per ledger batch, CONFIRMATIONS %u) catching"
           " up on %" PRIu64 " vault events (RevenueReceived from the creator's registered pass"
           " and Tipped to its stream, alternately), each split 5 ways (35/25/15/10/15 %%) and"
           " posted as one journal entry of 6 postings; served by an in-process JSON-RPC node"
           " (%u logs per block, headers linked by parent hash). Context row: split_compute and"
           " ledger_post_batch alone, %d entries per call\" "
           "ref=\"one COPY FROM STDIN (text, libpq PQputCopyData) of the same %" PRIu64
           " posting rows into a table LIKE ledger_postings INCLUDING ALL (columns, CHECKs,"
           " primary key, balance index; no foreign key or triggers) in the same database\" "
           "note=\"Same PostgreSQL, same client process, one session per run, each run in a"
           " fresh migrated schema; an untimed warm-up COPY of all the rows first (a fresh"
           " cluster creates its WAL files on its first writes), then %" PRIu64 " repetition(s)"
           " alternating the order of the COPY, the ledger and the indexer runs. Every run is "
           "checked: entry, posting and event"
           " counts, ledger_check_invariants, every payee balance and the vault total equal the"
           " splits computed in the bench (COPY: the row count). Nothing is pinned: the bench"
           " (indexer thread and node thread) and PostgreSQL share the machine's CPUs. postings/s"
           " = posting rows stored per second of wall time; the indexer also writes the events,"
           " the entries and its cursor, which the COPY does not.\"\n",
           INDEXER_POST_BATCH_MAX, BENCH_CONFIRMATIONS, events, BENCH_LOGS_PER_BLOCK,
           INDEXER_POST_BATCH_MAX, events * BENCH_POSTINGS_PER_EVENT, reps);
    fflush(stdout);

    struct bench_samples copy_s = {0}, ledger_s = {0}, indexer_s = {0};
    if (run_on[0]) { /* the first writes of a fresh cluster create its WAL files: not timed */
        struct bench_run warm = {0};
        say("warm-up: one untimed COPY of all the rows");
        run_copy(&warm);
        say("warm-up: %.1f s", warm.seconds);
    }
    for (uint64_t rep = 1; rep <= reps; rep++) {
        for (int step = 0; step < 3; step++) {
            int which = rep % 2 == 1 ? step : 2 - step;
            struct bench_run r = {0};
            if (!run_on[which])
                continue;
            say("rep %" PRIu64 ": %s", rep, run_names[which]);
            if (which == 0) {
                run_copy(&r);
                record(&copy_s, &r, "COPY");
            } else if (which == 1) {
                run_ledger(&r);
                record(&ledger_s, &r, "ledger");
            } else {
                run_indexer(&r, url);
                record(&indexer_s, &r, "indexer");
            }
        }
    }
    if (only[0] == '\0') { /* a row needs both sides */
        print_row("settlement_index_split_post", &indexer_s, &copy_s, true,
                  "indexer_poll from the first poll until every event is confirmed");
        print_row("settlement_split_post", &ledger_s, &copy_s, false,
                  "split_compute + ledger_post_batch only (no chain, no revenue_events rows)");
    }
    http_fixture_stop(&node_server);
    buf_release(&node.body);
    free(chain.parts);
    return 0;
}
