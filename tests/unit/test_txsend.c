/* test_txsend.c - the one-shot sender against an in-test HTTP server posing
 * as a hostile node (http_fixture.h): whatever the node answers, txsend
 * returns a txsend code (the inner rpc error kept as the cause in the
 * message), never signs a max fee above the cap or a gas limit above
 * TXSEND_GAS_LIMIT_MAX, and broadcasts nothing when it refuses. The raw
 * transaction the node receives is compared byte for byte with the one we
 * expect (tx_sign is deterministic, RFC 6979, and checked against cast mktx
 * by test_tx). */
#include "harness.h"
#include "http_fixture.h"

#include <jansson.h>
#include <string.h>

#include "hex.h"
#include "keccak.h"
#include "rpc.h"
#include "sig.h"
#include "tx.h"
#include "txsend.h"
#include "u256.h"

#define GWEI 1000000000ull
#define CAP_WEI (500 * GWEI)
#define TEST_CHAIN_ID 31337u
#define TEST_NONCE 5u
#define TEST_VALUE_WEI 1000u
#define ANSWER_BYTES_MAX 512

/* anvil account 0 signs; anvil account 1 receives. */
static const char key_hex[] = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
static const char from_hex[] = "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266";
static const char to_hex[] = "0x70997970c51812dc3a010c7d01b50e0d17dc79c8";
static const uint8_t call_data[2] = {0x01, 0x02};

/* ---- the hostile node ------------------------------------------------------------ */

enum node_method {
    M_NONCE = 0,
    M_BLOCK = 1,
    M_PRIORITY = 2,
    M_ESTIMATE = 3,
    M_SEND = 4,
    M_RECEIPT = 5,
    M_OTHER = 6,
    M_COUNT = 7
};

static const char *const node_method_names[M_OTHER] = {
    "eth_getTransactionCount", "eth_getBlockByNumber",   "eth_maxPriorityFeePerGas",
    "eth_estimateGas",         "eth_sendRawTransaction", "eth_getTransactionReceipt"};

/* Everything below `http` is guarded by http.mu. */
struct node {
    struct http_fixture http;
    /* set by the test */
    int status[M_COUNT];                    /* HTTP status of a request with this call; 0 = 200 */
    char result[M_COUNT][ANSWER_BYTES_MAX]; /* JSON result; "" = computed (send, receipt) */
    char error[M_COUNT][ANSWER_BYTES_MAX];  /* JSON error object; overrides result */
    char receipt_hash[2 + 64 + 1];          /* "" = the hash asked for */
    char receipt_from[ADDRESS_TEXT_SIZE];   /* "" = from_hex */
    char receipt_status[8];                 /* "0x1" */
    /* written by the handler */
    int calls[M_COUNT];
    uint8_t raw[TX_RAW_BYTES_MAX]; /* the last raw transaction received */
    size_t raw_len;
};

static struct node node;

static enum node_method node_method_of(const char *name)
{
    for (size_t m = 0; name != NULL && m < M_OTHER; m++)
        if (strcmp(name, node_method_names[m]) == 0)
            return (enum node_method)m;
    return M_OTHER;
}

/* eth_sendRawTransaction: keeps the raw bytes, whatever the answer will be. */
static void node_keep_raw(const json_t *params)
{
    const char *hex = json_string_value(json_array_get(params, 0));
    node.raw_len = 0;
    if (hex == NULL ||
        hex_decode(node.raw, sizeof node.raw, &node.raw_len, hex, strlen(hex), NULL) != HEX_OK)
        node.raw_len = 0;
}

/* The honest answer to eth_sendRawTransaction: the hash of the raw bytes. */
static json_t *node_send_result(void)
{
    if (node.raw_len == 0)
        return json_null();
    uint8_t h[32];
    char h_hex[2 + 64 + 1];
    tx_hash(h, node.raw, node.raw_len);
    if (hex_encode_0x(h_hex, sizeof h_hex, h, 32) != 0)
        abort();
    return json_string(h_hex);
}

static json_t *node_receipt_result(const json_t *params)
{
    const char *asked = json_string_value(json_array_get(params, 0));
    return json_pack(
        "{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:n, s:[], s:s, s:s}", "transactionHash",
        node.receipt_hash[0] ? node.receipt_hash : (asked ? asked : ""), "transactionIndex", "0x0",
        "blockHash", "0x2222222222222222222222222222222222222222222222222222222222222222",
        "blockNumber", "0x10", "from", node.receipt_from[0] ? node.receipt_from : from_hex, "to",
        to_hex, "gasUsed", "0x5208", "contractAddress", "logs", "status", node.receipt_status,
        "effectiveGasPrice", "0x3b9aca00");
}

/* The answer to one call; raises *status when the test wants an HTTP error. */
static json_t *node_answer(const json_t *call, int *status)
{
    enum node_method m = node_method_of(json_string_value(json_object_get(call, "method")));
    const json_t *params = json_object_get(call, "params");
    node.calls[m]++;
    if (m == M_SEND)
        node_keep_raw(params);
    if (node.status[m] != 0)
        *status = node.status[m];
    json_t *out = json_pack("{s:s, s:O}", "jsonrpc", "2.0", "id", json_object_get(call, "id"));
    json_t *v;
    if (node.error[m][0] != '\0') {
        v = json_loads(node.error[m], 0, NULL);
        json_object_set_new(out, "error", v);
        return out;
    }
    if (m == M_SEND && node.result[m][0] == '\0')
        v = node_send_result();
    else if (m == M_RECEIPT && node.result[m][0] == '\0')
        v = node_receipt_result(params);
    else
        v = json_loads(node.result[m], JSON_DECODE_ANY, NULL);
    json_object_set_new(out, "result", v != NULL ? v : json_null());
    return out;
}

static void node_handle(struct http_fixture *f, int fd, const char *body, size_t body_len)
{
    json_t *req = json_loadb(body, body_len, 0, NULL);
    json_t *answer = NULL;
    int status = 200;
    pthread_mutex_lock(&f->mu);
    if (json_is_array(req)) {
        answer = json_array();
        for (size_t i = 0; i < json_array_size(req); i++)
            json_array_append_new(answer, node_answer(json_array_get(req, i), &status));
    } else if (json_is_object(req)) {
        answer = node_answer(req, &status);
    }
    pthread_mutex_unlock(&f->mu);
    char *text = answer != NULL ? json_dumps(answer, JSON_COMPACT) : NULL;
    http_fixture_reply(fd, status, status == 200 && text != NULL ? text : "{\"busy\":true}");
    free(text);
    json_decref(answer);
    json_decref(req);
}

/* An honest node: nonce 5, base fee 1 gwei, priority fee 1 gwei, estimate
 * 21000, the right hash, a successful receipt for whatever is asked. */
static void node_reset(void)
{
    pthread_mutex_lock(&node.http.mu);
    memset(node.status, 0, sizeof node.status);
    memset(node.result, 0, sizeof node.result);
    memset(node.error, 0, sizeof node.error);
    memset(node.calls, 0, sizeof node.calls);
    node.raw_len = 0;
    snprintf(node.result[M_NONCE], ANSWER_BYTES_MAX, "\"0x5\"");
    snprintf(node.result[M_BLOCK], ANSWER_BYTES_MAX,
             "{\"number\":\"0x10\",\"baseFeePerGas\":\"0x3b9aca00\"}");
    snprintf(node.result[M_PRIORITY], ANSWER_BYTES_MAX, "\"0x3b9aca00\"");
    snprintf(node.result[M_ESTIMATE], ANSWER_BYTES_MAX, "\"0x5208\"");
    snprintf(node.result[M_OTHER], ANSWER_BYTES_MAX, "null");
    node.receipt_hash[0] = '\0';
    node.receipt_from[0] = '\0';
    snprintf(node.receipt_status, sizeof node.receipt_status, "0x1");
    pthread_mutex_unlock(&node.http.mu);
}

/* Sets the answer text of `m` ("result" JSON, or an error object if is_error). */
static void node_set(enum node_method m, bool is_error, const char *json)
{
    pthread_mutex_lock(&node.http.mu);
    snprintf(is_error ? node.error[m] : node.result[m], ANSWER_BYTES_MAX, "%s", json);
    pthread_mutex_unlock(&node.http.mu);
}

static void node_set_block_fees(const char *base_fee_hex, const char *priority_fee_hex)
{
    char block[ANSWER_BYTES_MAX], prio[ANSWER_BYTES_MAX];
    snprintf(block, sizeof block, "{\"number\":\"0x10\",\"baseFeePerGas\":\"%s\"}", base_fee_hex);
    snprintf(prio, sizeof prio, "\"%s\"", priority_fee_hex);
    node_set(M_BLOCK, false, block);
    node_set(M_PRIORITY, false, prio);
}

static int node_calls(enum node_method m)
{
    pthread_mutex_lock(&node.http.mu);
    int n = node.calls[m];
    pthread_mutex_unlock(&node.http.mu);
    return n;
}

/* ---- helpers ---------------------------------------------------------------------- */

static struct rpc_client client;
static struct sig_private_key key;

static void client_open(void)
{
    struct rpc_options opt;
    rpc_options_default(&opt);
    opt.connect_timeout_ms = 1000;
    opt.total_timeout_ms = 2000;
    opt.retries_max = 0;
    char url[64];
    http_fixture_url(url, sizeof url, &node.http);
    struct err e = {0};
    if (rpc_client_init(&client, url, &opt, &e) != RPC_OK ||
        sig_private_key_from_hex(&key, key_hex, strlen(key_hex), &e) != SIG_OK) {
        fprintf(stdout, "# %s\n", e.msg);
        abort();
    }
}

static struct txsend_request request(uint64_t cap_wei, uint64_t gas_limit)
{
    struct txsend_request req = {.has_to = true,
                                 .value_wei = u256_from_u64(TEST_VALUE_WEI),
                                 .data = call_data,
                                 .data_len = sizeof call_data,
                                 .gas_limit = gas_limit,
                                 .timeout_ms = 1000,
                                 .max_fee_per_gas_cap_wei = cap_wei};
    if (address_parse(&req.to, to_hex, strlen(to_hex), NULL) != ADDRESS_OK)
        abort();
    return req;
}

/* txsend_send with e->code poisoned first, so a test sees what it set. */
static enum txsend_result send_tx(struct txsend_outcome *o, const struct txsend_request *req,
                                  struct err *e)
{
    err_set(e, -1, "untouched");
    return txsend_send(o, &client, TEST_CHAIN_ID, &key, req, e);
}

/* The signed bytes we expect for the test request with these fees and gas. */
static void expected_raw(struct buf *out, uint64_t max_fee_wei, uint64_t priority_fee_wei,
                         uint64_t gas_limit)
{
    struct txsend_request req = request(CAP_WEI, 0);
    struct tx_eip1559 tx = {.chain_id = TEST_CHAIN_ID,
                            .nonce = TEST_NONCE,
                            .max_priority_fee_per_gas_wei = u256_from_u64(priority_fee_wei),
                            .max_fee_per_gas_wei = u256_from_u64(max_fee_wei),
                            .gas_limit = gas_limit,
                            .has_to = true,
                            .to = req.to,
                            .value_wei = req.value_wei,
                            .data = call_data,
                            .data_len = sizeof call_data};
    buf_init(out, TX_RAW_BYTES_MAX);
    if (tx_sign(out, &tx, &key, NULL) != TX_OK)
        abort();
}

/* The node received exactly the transaction we expect (and o->tx_hash is its hash). */
static void check_sent(const struct txsend_outcome *o, uint64_t max_fee_wei,
                       uint64_t priority_fee_wei, uint64_t gas_limit)
{
    struct buf want;
    expected_raw(&want, max_fee_wei, priority_fee_wei, gas_limit);
    pthread_mutex_lock(&node.http.mu);
    CHECK_MSG(node.raw_len == want.len && memcmp(node.raw, want.data, want.len) == 0,
              "raw transaction differs (%zu vs %zu bytes)", node.raw_len, want.len);
    struct tx_eip1559 tx;
    struct tx_signature sig;
    struct err e = {0};
    CHECK_INT(tx_decode_signed(&tx, &sig, node.raw, node.raw_len, &e), TX_OK);
    uint64_t max_fee = 0, prio = 0;
    CHECK(u256_to_u64(&max_fee, &tx.max_fee_per_gas_wei) && max_fee == max_fee_wei);
    CHECK(u256_to_u64(&prio, &tx.max_priority_fee_per_gas_wei) && prio == priority_fee_wei);
    CHECK_INT(tx.gas_limit, gas_limit);
    uint8_t h[32];
    tx_hash(h, node.raw, node.raw_len);
    CHECK_MEM(o->tx_hash, h, 32);
    pthread_mutex_unlock(&node.http.mu);
    buf_release(&want);
}

static bool all_zero(const uint8_t *p, size_t n)
{
    uint8_t acc = 0;
    for (size_t i = 0; i < n; i++)
        acc |= p[i];
    return acc == 0;
}

/* Nothing was signed or broadcast, and the outcome holds nothing. */
static void check_nothing_sent(const struct txsend_outcome *o)
{
    CHECK_INT(node_calls(M_SEND), 0);
    CHECK_INT(node_calls(M_RECEIPT), 0);
    CHECK(all_zero(o->tx_hash, sizeof o->tx_hash));
    CHECK(!o->has_receipt);
}

/* txsend_send fails with exactly `code` (in e->code too) and `msg`, before
 * anything is signed or sent. */
static void check_refused(const struct txsend_request *req, int code, const char *msg)
{
    struct txsend_outcome o;
    struct err e;
    enum txsend_result r = send_tx(&o, req, &e);
    CHECK_MSG((int)r == code && e.code == code, "got %d, e.code %d: %s", r, e.code, e.msg);
    CHECK_STR(e.msg, msg);
    check_nothing_sent(&o);
    txsend_outcome_release(&o);
}

/* ---- tests -------------------------------------------------------------------------- */

static void test_honest_node(void)
{
    node_reset();
    struct txsend_request req = request(CAP_WEI, 0);
    struct txsend_outcome o;
    struct err e = {0};
    err_clear(&e);
    CHECK_INT(txsend_send(&o, &client, TEST_CHAIN_ID, &key, &req, &e), TXSEND_OK);
    CHECK_INT(e.code, 0);
    CHECK(o.has_receipt);
    CHECK_INT(o.receipt.status, 1);
    CHECK_MEM(o.receipt.transaction_hash, o.tx_hash, 32);
    /* fees: max = 2 * base + priority = 3 gwei; gas = 21000 + 25 % */
    check_sent(&o, 3 * GWEI, GWEI, 26250);
    CHECK_INT(node_calls(M_NONCE), 1);
    CHECK_INT(node_calls(M_BLOCK), 1);
    CHECK_INT(node_calls(M_PRIORITY), 1);
    CHECK_INT(node_calls(M_ESTIMATE), 1);
    CHECK_INT(node_calls(M_SEND), 1);
    CHECK_INT(node_calls(M_RECEIPT), 1);
    CHECK_INT(node_calls(M_OTHER), 0);
    txsend_outcome_release(&o);
    CHECK(!o.has_receipt);
    /* A fixed gas limit skips the estimate. */
    node_reset();
    req = request(CAP_WEI, 100000);
    CHECK_INT(send_tx(&o, &req, &e), TXSEND_OK);
    CHECK_INT(node_calls(M_ESTIMATE), 0);
    check_sent(&o, 3 * GWEI, GWEI, 100000);
    txsend_outcome_release(&o);
}

/* The node answers another transaction hash: an error, not an abort. */
static void test_node_hash_mismatch(void)
{
    node_reset();
    const char *other = "0x1111111111111111111111111111111111111111111111111111111111111111";
    char quoted[80];
    snprintf(quoted, sizeof quoted, "\"%s\"", other);
    node_set(M_SEND, false, quoted);
    struct txsend_request req = request(CAP_WEI, 0);
    struct txsend_outcome o;
    struct err e;
    CHECK_INT(send_tx(&o, &req, &e), TXSEND_ERR_NODE_MISMATCH);
    CHECK_INT(e.code, TXSEND_ERR_NODE_MISMATCH);
    char ours[2 + 64 + 1], want[ERR_MSG_MAX];
    CHECK(hex_encode_0x(ours, sizeof ours, o.tx_hash, 32) == 0);
    snprintf(want, sizeof want, "node's transaction hash %s differs from ours %s", other, ours);
    CHECK_STR(e.msg, want);
    check_sent(&o, 3 * GWEI, GWEI, 26250); /* o.tx_hash is ours, not the node's */
    CHECK_INT(node_calls(M_RECEIPT), 0);
    CHECK(!o.has_receipt);
    txsend_outcome_release(&o);
}

/* A receipt for another transaction, or from another sender, is not ours. */
static void test_node_receipt_mismatch(void)
{
    node_reset();
    const char *other = "0x3333333333333333333333333333333333333333333333333333333333333333";
    pthread_mutex_lock(&node.http.mu);
    snprintf(node.receipt_hash, sizeof node.receipt_hash, "%s", other);
    pthread_mutex_unlock(&node.http.mu);
    struct txsend_request req = request(CAP_WEI, 0);
    struct txsend_outcome o;
    struct err e;
    CHECK_INT(send_tx(&o, &req, &e), TXSEND_ERR_NODE_MISMATCH);
    CHECK_INT(e.code, TXSEND_ERR_NODE_MISMATCH);
    char ours[2 + 64 + 1], want[ERR_MSG_MAX];
    CHECK(hex_encode_0x(ours, sizeof ours, o.tx_hash, 32) == 0);
    snprintf(want, sizeof want, "node's receipt hash %s differs from ours %s", other, ours);
    CHECK_STR(e.msg, want);
    CHECK(!o.has_receipt);
    CHECK(o.receipt.logs == NULL); /* dropped */
    txsend_outcome_release(&o);

    node_reset();
    pthread_mutex_lock(&node.http.mu);
    snprintf(node.receipt_from, sizeof node.receipt_from, "%s", to_hex);
    pthread_mutex_unlock(&node.http.mu);
    CHECK_INT(send_tx(&o, &req, &e), TXSEND_ERR_NODE_MISMATCH);
    CHECK_INT(e.code, TXSEND_ERR_NODE_MISMATCH);
    CHECK_STR(e.msg, "node's receipt sender 0x70997970C51812dc3A010C7d01b50e0d17dc79C8 differs "
                     "from ours 0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266");
    CHECK(!o.has_receipt);
    txsend_outcome_release(&o);
}

/* Estimates outside [21000, TXSEND_GAS_LIMIT_MAX] are refused before any
 * arithmetic; nothing is signed or sent. */
static void test_hostile_estimate(void)
{
    struct {
        const char *estimate;
        const char *msg;
    } cases[] = {
        {"\"0xffffffffffffffff\"",
         "node's gas estimate 18446744073709551615 outside 21000..30000000"},
        {"\"0x8000000000000000\"",
         "node's gas estimate 9223372036854775808 outside 21000..30000000"},
        {"\"0x1c9c381\"", "node's gas estimate 30000001 outside 21000..30000000"},
        {"\"0x0\"", "node's gas estimate 0 outside 21000..30000000"},
        {"\"0x5207\"", "node's gas estimate 20999 outside 21000..30000000"},
    };
    struct txsend_request req = request(CAP_WEI, 0);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        node_reset();
        node_set(M_ESTIMATE, false, cases[i].estimate);
        check_refused(&req, TXSEND_ERR_BAD_ESTIMATE, cases[i].msg);
        CHECK_INT(node_calls(M_ESTIMATE), 1);
        /* txsend_estimate_gas alone refuses it too and leaves *gas_out alone. */
        struct address from;
        CHECK(address_parse(&from, from_hex, strlen(from_hex), NULL) == ADDRESS_OK);
        uint64_t gas = 7;
        struct err e;
        err_set(&e, -1, "untouched");
        CHECK_INT(txsend_estimate_gas(&gas, NULL, &client, &from, &req, &e),
                  TXSEND_ERR_BAD_ESTIMATE);
        CHECK_INT(e.code, TXSEND_ERR_BAD_ESTIMATE);
        CHECK_INT(gas, 7);
    }
}

/* The margin never overflows and never lifts the limit above the maximum. */
static void test_estimate_margin_bounds(void)
{
    struct {
        const char *estimate;
        uint64_t gas_limit;
    } cases[] = {
        {"\"0x5208\"", 26250},       /* 21000 */
        {"\"0x16e35fc\"", 29999995}, /* 23999996 */
        {"\"0x16e3600\"", 30000000}, /* 24000000: exactly the maximum */
        {"\"0x16e3604\"", 30000000}, /* 24000004: clamped */
        {"\"0x1c9c380\"", 30000000}, /* 30000000: clamped */
    };
    struct txsend_request req = request(CAP_WEI, 0);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        node_reset();
        node_set(M_ESTIMATE, false, cases[i].estimate);
        struct txsend_outcome o;
        struct err e;
        CHECK_MSG(send_tx(&o, &req, &e) == TXSEND_OK, "case %s: %s", cases[i].estimate, e.msg);
        check_sent(&o, 3 * GWEI, GWEI, cases[i].gas_limit);
        txsend_outcome_release(&o);
    }
}

/* A base fee above the cap: the transaction could never be mined within it,
 * so nothing is signed. */
static void test_base_fee_above_cap(void)
{
    struct {
        const char *base_fee_hex;
        const char *msg;
    } cases[] = {
        {"0x746a528801", "base fee 500000000001 wei above the cap of 500000000000 wei per gas "
                         "(MAX_FEE_PER_GAS_WEI): not signing"},
        {"0x10000000000000000000000000000000000000000000000000000",
         "base fee 411376139330301510538742295639337626245683966408394965837152256 wei above the "
         "cap of 500000000000 wei per gas (MAX_FEE_PER_GAS_WEI): not signing"},
    };
    struct txsend_request req = request(CAP_WEI, 0);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        node_reset();
        node_set_block_fees(cases[i].base_fee_hex, "0x1");
        check_refused(&req, TXSEND_ERR_FEE_CAP, cases[i].msg);
        CHECK_INT(node_calls(M_ESTIMATE), 0);
    }
}

/* The node's suggestion above the cap is clamped: max fee to the cap,
 * priority fee to the max fee. */
static void test_fees_clamped_to_cap(void)
{
    struct {
        const char *base_fee_hex, *priority_fee_hex;
        uint64_t cap_wei, max_fee_wei, priority_fee_wei;
    } cases[] = {
        /* 2 * 200 + 150 = 550 gwei suggested */
        {"0x2e90edd000", "0x22ecb25c00", CAP_WEI, CAP_WEI, 150 * GWEI},
        /* priority 600 gwei alone is above the cap */
        {"0x3b9aca00", "0x8bb2c97000", CAP_WEI, CAP_WEI, CAP_WEI},
        /* base exactly at the cap */
        {"0x746a528800", "0x3b9aca00", CAP_WEI, CAP_WEI, GWEI},
        /* a 1-wei cap with a 1-wei base fee */
        {"0x1", "0x3b9aca00", 1, 1, 1},
        /* below the cap nothing changes: 2 * 100 + 2 gwei */
        {"0x174876e800", "0x77359400", CAP_WEI, 202 * GWEI, 2 * GWEI},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        node_reset();
        node_set_block_fees(cases[i].base_fee_hex, cases[i].priority_fee_hex);
        struct txsend_request req = request(cases[i].cap_wei, 0);
        struct txsend_outcome o;
        struct err e;
        CHECK_MSG(send_tx(&o, &req, &e) == TXSEND_OK, "case %zu: %s", i, e.msg);
        check_sent(&o, cases[i].max_fee_wei, cases[i].priority_fee_wei, 26250);
        txsend_outcome_release(&o);
    }
}

/* Bad requests are refused before the node hears anything. */
static void test_bad_request(void)
{
    static uint8_t big[TX_DATA_BYTES_MAX + 1];
    struct {
        struct txsend_request req;
        const char *msg;
    } cases[] = {
        {request(0, 0), "max fee per gas cap is 0 wei: want MAX_FEE_PER_GAS_WEI > 0"},
        {request(CAP_WEI, TXSEND_GAS_LIMIT_MAX + 1), "gas limit 30000001 above maximum 30000000"},
        {request(CAP_WEI, 0), "receipt timeout 3600001 ms above maximum 3600000 ms"},
        {request(CAP_WEI, 0), "transaction data of 131073 bytes above maximum 131072"},
    };
    cases[2].req.timeout_ms = RPC_WAIT_TIMEOUT_MS_MAX + 1;
    cases[3].req.data = big;
    cases[3].req.data_len = sizeof big;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        node_reset();
        atomic_store(&node.http.requests, 0);
        check_refused(&cases[i].req, TXSEND_ERR_BAD_INPUT, cases[i].msg);
        CHECK_INT(atomic_load(&node.http.requests), 0);
    }
}

/* Every rpc failure is a txsend code with the rpc error kept as the cause;
 * e->code never holds an rpc code. */
static void test_rpc_failures_map_to_txsend_codes(void)
{
    struct {
        enum node_method method;
        int http_status;
        bool is_error;
        const char *answer;
        int code;
        const char *msg;
        bool signed_tx; /* the failure comes after signing */
    } cases[] = {
        {M_NONCE, 500, false, "\"0x5\"", TXSEND_ERR_RPC,
         "cannot fetch the nonce: rpc eth_getTransactionCount failed: http status 500", false},
        {M_NONCE, 0, false, "\"5\"", TXSEND_ERR_RPC,
         "cannot fetch the nonce: rpc eth_getTransactionCount: invalid quantity '5': want 0x and "
         "1..16 hex digits",
         false},
        {M_BLOCK, 0, true, "{\"code\":-32000,\"message\":\"boom\"}", TXSEND_ERR_RPC,
         "cannot fetch fees: rpc batch failed: batch call 0 eth_getBlockByNumber: remote error "
         "-32000: 'boom'",
         false},
        {M_BLOCK, 0, false, "{\"number\":\"0x10\"}", TXSEND_ERR_RPC,
         "cannot fetch fees: latest block baseFeePerGas is not a 256-bit quantity", false},
        {M_BLOCK, 0, false,
         "{\"number\":\"0x10\",\"baseFeePerGas\":"
         "\"0x8000000000000000000000000000000000000000000000000000000000000000\"}",
         TXSEND_ERR_RPC, "cannot fetch fees: rpc fee suggestion: max fee overflows 256 bits",
         false},
        {M_ESTIMATE, 0, true, "{\"code\":-32000,\"message\":\"insufficient funds\"}",
         TXSEND_ERR_RPC,
         "cannot estimate gas: rpc eth_estimateGas failed: remote error -32000: 'insufficient "
         "funds'",
         false},
        {M_ESTIMATE, 0, false, "12", TXSEND_ERR_RPC,
         "cannot estimate gas: eth_estimateGas: invalid quantity '(not a string)': want 0x and "
         "1..16 hex digits",
         false},
        {M_ESTIMATE, 0, true,
         "{\"code\":3,\"message\":\"execution reverted\",\"data\":\"0xdeadbeef\"}",
         TXSEND_ERR_ESTIMATE_REVERT, "transaction would revert: data '0xdeadbeef'", false},
        {M_SEND, 0, true, "{\"code\":-32000,\"message\":\"nonce too low\"}", TXSEND_ERR_RPC,
         "cannot broadcast the transaction: rpc eth_sendRawTransaction failed: remote error "
         "-32000: 'nonce too low'",
         true},
        {M_SEND, 503, false, "\"0x12\"", TXSEND_ERR_RPC,
         "cannot broadcast the transaction: rpc eth_sendRawTransaction failed: http status 503",
         true},
        {M_SEND, 0, false, "\"0x12\"", TXSEND_ERR_RPC,
         "cannot broadcast the transaction: rpc eth_sendRawTransaction: result is not a hash",
         true},
        {M_RECEIPT, 0, false, "{\"status\":\"0x1\"}", TXSEND_ERR_RPC,
         "cannot fetch the receipt: receipt field 'transactionHash' is not 32 hex bytes", true},
        {M_RECEIPT, 0, false, "null", TXSEND_ERR_TIMEOUT,
         "transaction not mined: no receipt after 200 ms", true},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        node_reset();
        node_set(cases[i].method, cases[i].is_error, cases[i].answer);
        pthread_mutex_lock(&node.http.mu);
        node.status[cases[i].method] = cases[i].http_status;
        pthread_mutex_unlock(&node.http.mu);
        struct txsend_request req = request(CAP_WEI, 0);
        req.timeout_ms = 200;
        struct txsend_outcome o;
        struct err e;
        enum txsend_result r = send_tx(&o, &req, &e);
        CHECK_MSG((int)r == cases[i].code, "case %zu: %d (%s)", i, r, e.msg);
        CHECK_MSG(e.code == cases[i].code, "case %zu: e.code %d", i, e.code);
        CHECK_MSG(strcmp(e.msg, cases[i].msg) == 0, "case %zu: '%s'", i, e.msg);
        CHECK(!o.has_receipt);
        if (cases[i].signed_tx) {
            CHECK_INT(node_calls(M_SEND), 1);
            check_sent(&o, 3 * GWEI, GWEI, 26250);
        } else {
            check_nothing_sent(&o);
        }
        if (cases[i].code == TXSEND_ERR_ESTIMATE_REVERT)
            CHECK_STR(o.revert_data_hex, "0xdeadbeef");
        txsend_outcome_release(&o);
    }
}

/* Mined with status 0: the receipt is kept for the caller. */
static void test_reverted(void)
{
    node_reset();
    pthread_mutex_lock(&node.http.mu);
    snprintf(node.receipt_status, sizeof node.receipt_status, "0x0");
    pthread_mutex_unlock(&node.http.mu);
    struct txsend_request req = request(CAP_WEI, 0);
    struct txsend_outcome o;
    struct err e;
    CHECK_INT(send_tx(&o, &req, &e), TXSEND_ERR_REVERTED);
    CHECK_INT(e.code, TXSEND_ERR_REVERTED);
    CHECK_STR(e.msg, "transaction reverted in block 16");
    CHECK(o.has_receipt);
    CHECK_INT(o.receipt.status, 0);
    check_sent(&o, 3 * GWEI, GWEI, 26250);
    txsend_outcome_release(&o);
    CHECK(!o.has_receipt);
}

int main(void)
{
    struct err e = {0};
    if (rpc_global_init(&e) != RPC_OK)
        return 1;
    http_fixture_start(&node.http, node_handle, NULL);
    client_open();
    RUN(test_honest_node);
    RUN(test_node_hash_mismatch);
    RUN(test_node_receipt_mismatch);
    RUN(test_hostile_estimate);
    RUN(test_estimate_margin_bounds);
    RUN(test_base_fee_above_cap);
    RUN(test_fees_clamped_to_cap);
    RUN(test_bad_request);
    RUN(test_rpc_failures_map_to_txsend_codes);
    RUN(test_reverted);
    rpc_client_release(&client);
    sig_private_key_wipe(&key);
    http_fixture_stop(&node.http);
    return harness_finish();
}
