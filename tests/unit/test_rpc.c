/* test_rpc.c - the JSON-RPC client: the pure parsers on fixture bodies (every
 * error path with its exact code) and the transport against an in-test HTTP
 * server on 127.0.0.1 (size cap, timeout, retries, no retry on remote errors). */
#include "clock.h"
#include "harness.h"
#include "hex.h"
#include "http_fixture.h"
#include "keccak.h"
#include "rpc.h"

#include <string.h>

/* ---- fixtures for the pure parsers ------------------------------------------------- */

static enum rpc_result parse(const char *body, uint64_t id, json_t **res,
                             struct rpc_remote_error *re, struct err *e)
{
    return rpc_parse_response(res, re, body, strlen(body), id, e);
}

static void test_parse_ok(void)
{
    json_t *res = NULL;
    struct err e = {0};
    CHECK_INT(parse("{\"jsonrpc\":\"2.0\",\"id\":7,\"result\":\"0x7a69\"}", 7, &res, NULL, &e),
              RPC_OK);
    CHECK_STR(json_string_value(res), "0x7a69");
    uint64_t v = 0;
    CHECK_INT(rpc_parse_quantity_u64(&v, res, &e), RPC_OK);
    CHECK_INT(v, 31337);
    json_decref(res);
    /* A null result is a valid answer (receipt not found). */
    CHECK_INT(parse("{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":null}", 1, &res, NULL, &e), RPC_OK);
    CHECK(json_is_null(res));
    json_decref(res);
}

static void test_parse_errors(void)
{
    struct {
        const char *body;
        int code;
        const char *msg;
    } cases[] = {
        {"{\"jsonrpc\":\"2.0\",", RPC_ERR_BAD_RESPONSE, NULL},
        {"", RPC_ERR_BAD_RESPONSE, NULL},
        {"[1,2]", RPC_ERR_BAD_RESPONSE, "response is not a json object"},
        {"\"0x1\"", RPC_ERR_BAD_RESPONSE, NULL}, /* jansson rejects a bare string by default */
        {"{\"jsonrpc\":\"1.0\",\"id\":1,\"result\":1}", RPC_ERR_BAD_RESPONSE,
         "response jsonrpc version is not '2.0'"},
        {"{\"id\":1,\"result\":1}", RPC_ERR_BAD_RESPONSE, "response jsonrpc version is not '2.0'"},
        {"{\"jsonrpc\":2.0,\"id\":1,\"result\":1}", RPC_ERR_BAD_RESPONSE,
         "response jsonrpc version is not '2.0'"},
        {"{\"jsonrpc\":\"2.0\\u0000x\",\"id\":1,\"result\":1}", RPC_ERR_BAD_RESPONSE,
         "response jsonrpc version is not '2.0'"}, /* NUL inside: not "2.0" */
        {"{\"jsonrpc\":\"2.0\",\"id\":2,\"result\":1}", RPC_ERR_BAD_RESPONSE,
         "response id 2 does not match request id 1"},
        {"{\"jsonrpc\":\"2.0\",\"id\":\"1\",\"result\":1}", RPC_ERR_BAD_RESPONSE,
         "response id is not an integer"},
        {"{\"jsonrpc\":\"2.0\",\"result\":1}", RPC_ERR_BAD_RESPONSE, "response has no id"},
        {"{\"jsonrpc\":\"2.0\",\"id\":null,\"result\":1}", RPC_ERR_BAD_RESPONSE,
         "response id is null"},
        {"{\"jsonrpc\":\"2.0\",\"id\":1}", RPC_ERR_BAD_RESPONSE, "response has no result"},
        {"{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":1,\"error\":{\"code\":1,\"message\":\"x\"}}",
         RPC_ERR_BAD_RESPONSE, "response has both result and error"},
        {"{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":\"boom\"}", RPC_ERR_BAD_RESPONSE,
         "error member needs an integer code and a string message"},
        {"{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":\"x\",\"message\":\"m\"}}",
         RPC_ERR_BAD_RESPONSE, "error member needs an integer code and a string message"},
        {"{\"jsonrpc\":\"2.0\",\"id\":1,\"id\":1,\"result\":1}", RPC_ERR_BAD_RESPONSE, NULL},
        {"{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":-32601,\"message\":\"the method "
         "foo does not exist/is not available\"}}",
         RPC_ERR_REMOTE, "remote error -32601: 'the method foo does not exist/is not available'"},
        /* An error for an unparseable request carries id null and is still the node's answer. */
        {"{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32700,\"message\":\"parse "
         "error\"}}",
         RPC_ERR_REMOTE, "remote error -32700: 'parse error'"},
        /* An error answering another request id is a mismatch, not a remote error. */
        {"{\"jsonrpc\":\"2.0\",\"id\":9,\"error\":{\"code\":-32000,\"message\":\"x\"}}",
         RPC_ERR_BAD_RESPONSE, "response id 9 does not match request id 1"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *res = (json_t *)1;
        struct err e = {0};
        struct rpc_remote_error re;
        enum rpc_result r = parse(cases[i].body, 1, &res, &re, &e);
        CHECK_MSG((int)r == cases[i].code, "case %zu (%s): got %d", i, cases[i].body, r);
        CHECK_INT(e.code, cases[i].code);
        CHECK(res == NULL);
        if (cases[i].msg != NULL)
            CHECK_STR(e.msg, cases[i].msg);
    }
    struct err e = {0};
    json_t *res = NULL;
    CHECK_INT(parse("{\"jsonrpc\":\"2.0\",", 1, &res, NULL, &e), RPC_ERR_BAD_RESPONSE);
    CHECK(strncmp(e.msg, "malformed json at line 1", 24) == 0);
}

static void test_parse_remote_details(void)
{
    json_t *res = NULL;
    struct err e = {0};
    struct rpc_remote_error re;
    const char *body = "{\"jsonrpc\":\"2.0\",\"id\":3,\"error\":{\"code\":-32601,\"message\":"
                       "\"Method not found\"}}";
    CHECK_INT(parse(body, 3, &res, &re, &e), RPC_ERR_REMOTE);
    CHECK_INT(re.code, -32601);
    CHECK_STR(re.message, "Method not found");
    CHECK_STR(re.data_hex, "");
}

static void test_parse_execution_reverted(void)
{
    json_t *res = NULL;
    struct err e = {0};
    struct rpc_remote_error re;
    /* geth/anvil: code 3 with Error(string) data. */
    const char *body =
        "{\"jsonrpc\":\"2.0\",\"id\":5,\"error\":{\"code\":3,\"message\":\"execution reverted: "
        "nope\",\"data\":\"0x08c379a0000000000000000000000000000000000000000000000000000000000000"
        "0020000000000000000000000000000000000000000000000000000000000000000"
        "46e6f706500000000000000000000000000000000000000000000000000000000\"}}";
    CHECK_INT(parse(body, 5, &res, &re, &e), RPC_ERR_EXECUTION_REVERTED);
    CHECK_INT(e.code, RPC_ERR_EXECUTION_REVERTED);
    CHECK_STR(e.msg, "execution reverted (code 3): 'execution reverted: nope'");
    CHECK_INT(re.code, 3);
    CHECK(strncmp(re.data_hex, "0x08c379a0", 10) == 0);
    CHECK_INT(strlen(re.data_hex), 2 + 2 * (4 + 32 * 3));
    CHECK(!re.data_truncated);
    /* Message-only revert (older geth: -32000 without data). */
    body = "{\"jsonrpc\":\"2.0\",\"id\":5,\"error\":{\"code\":-32000,\"message\":\"execution "
           "reverted\"}}";
    CHECK_INT(parse(body, 5, &res, &re, &e), RPC_ERR_EXECUTION_REVERTED);
    CHECK_STR(re.data_hex, "");
    /* Nested data object (some nodes) and a custom error selector. */
    body = "{\"jsonrpc\":\"2.0\",\"id\":5,\"error\":{\"code\":3,\"message\":\"execution "
           "reverted\",\"data\":{\"data\":\"0xdeadbeef\"}}}";
    CHECK_INT(parse(body, 5, &res, &re, &e), RPC_ERR_EXECUTION_REVERTED);
    CHECK_STR(re.data_hex, "0xdeadbeef");
    /* Non-hex data is dropped rather than kept half-valid. */
    body = "{\"jsonrpc\":\"2.0\",\"id\":5,\"error\":{\"code\":3,\"message\":\"execution "
           "reverted\",\"data\":\"0xzz\"}}";
    CHECK_INT(parse(body, 5, &res, &re, &e), RPC_ERR_EXECUTION_REVERTED);
    CHECK_STR(re.data_hex, "");
    CHECK(res == NULL);
}

/* anvil copies revert data that happens to be valid UTF-8 into the message as
 * text, so SoldOut(2) arrives with "\u0000" escapes: still a revert with data. */
static void test_parse_reverted_message_with_nul(void)
{
    json_t *res = NULL;
    struct err e = {0};
    struct rpc_remote_error re;
    const char *body =
        "{\"jsonrpc\":\"2.0\",\"id\":7,\"error\":{\"code\":3,\"message\":\"execution reverted: "
        "~\\u001fZw\\u0000\\u0002\",\"data\":\"0x7e1f5a77000000000000000000000000000000000000000000"
        "0000000000000000000002\"}}";
    CHECK_INT(parse(body, 7, &res, &re, &e), RPC_ERR_EXECUTION_REVERTED);
    CHECK_STR(re.data_hex, "0x7e1f5a770000000000000000000000000000000000000000000000000000000000000002");
    CHECK_INT(re.code, 3);
    CHECK(res == NULL);
}

static void test_parse_limits(void)
{
    json_t *res = NULL;
    struct err e = {0};
    /* Nesting above RPC_JSON_DEPTH_MAX. */
    char deep[300];
    size_t n = 0;
    n += (size_t)snprintf(deep, sizeof deep, "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":");
    for (int i = 0; i < RPC_JSON_DEPTH_MAX; i++)
        deep[n++] = '[';
    for (int i = 0; i < RPC_JSON_DEPTH_MAX; i++)
        deep[n++] = ']';
    deep[n++] = '}';
    deep[n] = '\0';
    CHECK_INT(parse(deep, 1, &res, NULL, &e), RPC_ERR_BAD_RESPONSE);
    CHECK_STR(e.msg, "response json nested deeper than 64");
    /* One level less is accepted; brackets inside strings do not count. */
    memmove(deep + 33, deep + 34, strlen(deep + 34) + 1);
    memmove(deep + 33 + RPC_JSON_DEPTH_MAX - 1, deep + 33 + RPC_JSON_DEPTH_MAX,
            strlen(deep + 33 + RPC_JSON_DEPTH_MAX) + 1);
    CHECK_INT(parse(deep, 1, &res, NULL, &e), RPC_OK);
    json_decref(res);
    CHECK_INT(
        parse("{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":\"[[[[\\\"[[[[\"}", 1, &res, NULL, &e),
        RPC_OK);
    json_decref(res);
    /* A body above RPC_RESPONSE_BYTES_MAX is refused before parsing. */
    CHECK_INT(rpc_parse_response(&res, NULL, "{}", RPC_RESPONSE_BYTES_MAX + 1, 1, &e),
              RPC_ERR_TOO_LARGE);
}

static void test_parse_quantity(void)
{
    struct {
        const char *json;
        int code;
        uint64_t v;
    } cases[] = {
        {"\"0x0\"", RPC_OK, 0},
        {"\"0x1a\"", RPC_OK, 26},
        {"\"0xFFFFFFFFFFFFFFFF\"", RPC_OK, UINT64_MAX},
        {"\"0x00ff\"", RPC_OK, 255},
        {"\"0x\"", RPC_ERR_BAD_RESPONSE, 0},
        {"\"0x10000000000000000\"", RPC_ERR_BAD_RESPONSE, 0},
        {"\"12\"", RPC_ERR_BAD_RESPONSE, 0},
        {"\"0xg\"", RPC_ERR_BAD_RESPONSE, 0},
        {"12", RPC_ERR_BAD_RESPONSE, 0},
        {"null", RPC_ERR_BAD_RESPONSE, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *j = json_loads(cases[i].json, JSON_DECODE_ANY, NULL);
        uint64_t v = 12345;
        struct err e = {0};
        CHECK_MSG((int)rpc_parse_quantity_u64(&v, j, &e) == cases[i].code, "case %s",
                  cases[i].json);
        CHECK_INT(v, cases[i].code == RPC_OK ? cases[i].v : 12345);
        json_decref(j);
    }
}

static struct rpc_batch_item *batch_items(size_t n)
{
    struct rpc_batch_item *items = calloc(n, sizeof *items);
    if (items == NULL)
        abort();
    return items;
}

static void batch_free(struct rpc_batch_item *items, size_t n)
{
    for (size_t i = 0; i < n; i++)
        json_decref(items[i].result);
    free(items);
}

static enum rpc_result parse_batch(struct rpc_batch_item *items, size_t n, const char *body,
                                   struct err *e)
{
    return rpc_parse_batch_response(items, n, body, strlen(body), 10, e);
}

static void test_parse_batch(void)
{
    struct rpc_batch_item *items = batch_items(3);
    struct err e = {0};
    /* Out of order answers are matched by id. */
    const char *ok = "[{\"jsonrpc\":\"2.0\",\"id\":12,\"result\":\"c\"},"
                     "{\"jsonrpc\":\"2.0\",\"id\":10,\"result\":\"a\"},"
                     "{\"jsonrpc\":\"2.0\",\"id\":11,\"result\":\"b\"}]";
    CHECK_INT(parse_batch(items, 3, ok, &e), RPC_OK);
    CHECK_STR(json_string_value(items[0].result), "a");
    CHECK_STR(json_string_value(items[1].result), "b");
    CHECK_STR(json_string_value(items[2].result), "c");
    for (size_t i = 0; i < 3; i++)
        CHECK_INT(items[i].code, RPC_OK);
    batch_free(items, 3);

    /* One item's remote error: the others keep their results. */
    items = batch_items(3);
    items[1].method = "eth_call";
    const char *mixed = "[{\"jsonrpc\":\"2.0\",\"id\":10,\"result\":\"a\"},"
                        "{\"jsonrpc\":\"2.0\",\"id\":11,\"error\":{\"code\":3,\"message\":"
                        "\"execution reverted\",\"data\":\"0x01\"}},"
                        "{\"jsonrpc\":\"2.0\",\"id\":12,\"result\":\"c\"}]";
    CHECK_INT(parse_batch(items, 3, mixed, &e), RPC_ERR_EXECUTION_REVERTED);
    CHECK_STR(e.msg, "batch call 1 eth_call: remote error 3: 'execution reverted'");
    CHECK_INT(items[0].code, RPC_OK);
    CHECK_INT(items[1].code, RPC_ERR_EXECUTION_REVERTED);
    CHECK_INT(items[1].remote.code, 3);
    CHECK_STR(items[1].remote.data_hex, "0x01");
    CHECK(items[1].result == NULL);
    CHECK_STR(json_string_value(items[2].result), "c");
    batch_free(items, 3);

    struct {
        const char *body;
        int code;
        const char *msg;
    } cases[] = {
        {"[{\"jsonrpc\":\"2.0\",\"id\":10,\"result\":\"a\"},"
         "{\"jsonrpc\":\"2.0\",\"id\":12,\"result\":\"c\"}]",
         RPC_ERR_BAD_RESPONSE, "batch response is missing id 11"},
        {"[{\"jsonrpc\":\"2.0\",\"id\":10,\"result\":\"a\"},"
         "{\"jsonrpc\":\"2.0\",\"id\":10,\"result\":\"a\"},"
         "{\"jsonrpc\":\"2.0\",\"id\":12,\"result\":\"c\"}]",
         RPC_ERR_BAD_RESPONSE, "duplicate id 10 in batch response"},
        {"[{\"jsonrpc\":\"2.0\",\"id\":10,\"result\":\"a\"},"
         "{\"jsonrpc\":\"2.0\",\"id\":13,\"result\":\"a\"},"
         "{\"jsonrpc\":\"2.0\",\"id\":12,\"result\":\"c\"}]",
         RPC_ERR_BAD_RESPONSE, "unknown id 13 in batch response"},
        {"[{\"jsonrpc\":\"2.0\",\"id\":10,\"result\":1},{\"jsonrpc\":\"2.0\",\"id\":11,"
         "\"result\":1},{\"jsonrpc\":\"2.0\",\"id\":12,\"result\":1},{\"jsonrpc\":\"2.0\","
         "\"id\":12,\"result\":1}]",
         RPC_ERR_BAD_RESPONSE, "batch response has 4 answers for 3 calls"},
        {"[{\"jsonrpc\":\"2.0\",\"id\":10,\"result\":1},{\"jsonrpc\":\"1.0\",\"id\":11,"
         "\"result\":1},{\"jsonrpc\":\"2.0\",\"id\":12,\"result\":1}]",
         RPC_ERR_BAD_RESPONSE, "batch answer 1: response jsonrpc version is not '2.0'"},
        {"[]", RPC_ERR_BAD_RESPONSE, "batch response is missing id 10"},
        {"{\"jsonrpc\":\"2.0\",\"id\":10,\"result\":1}", RPC_ERR_BAD_RESPONSE,
         "batch response is not an array"},
        {"7", RPC_ERR_BAD_RESPONSE, NULL},
        {"{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32600,\"message\":\"batch too "
         "large\"}}",
         RPC_ERR_REMOTE, "remote error -32600: 'batch too large'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        items = batch_items(3);
        enum rpc_result r = parse_batch(items, 3, cases[i].body, &e);
        CHECK_MSG((int)r == cases[i].code, "case %zu: got %d", i, r);
        if (cases[i].msg != NULL)
            CHECK_STR(e.msg, cases[i].msg);
        for (size_t k = 0; k < 3; k++)
            CHECK(items[k].result == NULL); /* no partial results on a bad batch */
        batch_free(items, 3);
    }
}

static const char receipt_fixture[] =
    "{\"transactionHash\":\"0x1111111111111111111111111111111111111111111111111111111111111111\","
    "\"transactionIndex\":\"0x0\","
    "\"blockHash\":\"0x2222222222222222222222222222222222222222222222222222222222222222\","
    "\"blockNumber\":\"0x1b\",\"from\":\"0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266\","
    "\"to\":null,\"cumulativeGasUsed\":\"0x5208\",\"gasUsed\":\"0x1d4c0\","
    "\"contractAddress\":\"0x5fbdb2315678afecb367f032d93f642f64180aa3\","
    "\"logs\":[{\"address\":\"0x5fbdb2315678afecb367f032d93f642f64180aa3\",\"topics\":[],"
    "\"data\":\"0x\"}],\"status\":\"0x1\",\"effectiveGasPrice\":\"0x3b9aca00\",\"type\":\"0x2\"}";

static void test_parse_receipt(void)
{
    json_t *j = json_loads(receipt_fixture, 0, NULL);
    CHECK(j != NULL);
    struct rpc_receipt r;
    struct err e = {0};
    CHECK_INT(rpc_parse_receipt(&r, j, &e), RPC_OK);
    CHECK_INT(r.block_number, 27);
    CHECK_INT(r.status, 1);
    CHECK_INT(r.gas_used, 120000);
    CHECK_INT(r.transaction_index, 0);
    CHECK_INT(r.transaction_hash[31], 0x11);
    CHECK_INT(r.block_hash[0], 0x22);
    CHECK(!r.has_to);
    CHECK(r.has_contract_address);
    CHECK_INT(r.contract_address[0], 0x5f);
    CHECK_INT(r.contract_address[19], 0xa3);
    CHECK_INT(r.from[0], 0xf3);
    uint64_t price = 0;
    CHECK(u256_to_u64(&price, &r.effective_gas_price_wei));
    CHECK_INT(price, 1000000000);
    CHECK_INT(json_array_size(r.logs), 1);
    rpc_receipt_release(&r);
    rpc_receipt_release(&r);
    CHECK_INT(rpc_parse_receipt(&r, json_null(), &e), RPC_ERR_NO_RECEIPT);
    /* A broken field is named. */
    json_object_set_new(j, "gasUsed", json_string("12"));
    CHECK_INT(rpc_parse_receipt(&r, j, &e), RPC_ERR_BAD_RESPONSE);
    CHECK_STR(e.msg, "receipt field 'gasUsed' is not a quantity");
    json_object_set_new(j, "gasUsed", json_string("0x1"));
    json_object_set_new(j, "blockHash", json_string("0x22"));
    CHECK_INT(rpc_parse_receipt(&r, j, &e), RPC_ERR_BAD_RESPONSE);
    CHECK_STR(e.msg, "receipt field 'blockHash' is not 32 hex bytes");
    json_decref(j);
}

/* ---- the in-test HTTP server (http_fixture.h) in the modes these tests need ---------------- */

enum srv_mode {
    SRV_BODY = 0,         /* 200 with body_fmt (one %llu = request id, or verbatim) */
    SRV_BIG_CLOSE = 1,    /* 200, no Content-Length, 4 MiB streamed */
    SRV_BIG_LENGTH = 2,   /* 200, Content-Length 4 MiB */
    SRV_HANG = 3,         /* read the request, never answer */
    SRV_FAIL_THEN_OK = 4, /* fail_left times `status`, then SRV_BODY */
    SRV_STATUS = 5        /* always `status` */
};

/* The mode fields and last_request are guarded by http.mu. */
struct srv {
    struct http_fixture http;
    enum srv_mode mode;
    int fail_left;
    int status;
    char body_fmt[2048];
    char last_request[4096];
};

static struct srv srv;

static void srv_big(int fd, bool with_length)
{
    size_t total = (size_t)4 << 20;
    char head[256];
    int n = with_length
                ? snprintf(head, sizeof head,
                           "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n"
                           "Connection: close\r\n\r\n",
                           total)
                : snprintf(head, sizeof head, "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n");
    http_fixture_send_all(fd, head, (size_t)n);
    static char chunk[16384];
    memset(chunk, ' ', sizeof chunk);
    for (size_t sent = 0; sent < total; sent += sizeof chunk) {
        ssize_t w = send(fd, chunk, sizeof chunk, MSG_NOSIGNAL);
        if (w <= 0)
            return; /* the client aborted, as it should */
    }
}

static void srv_hang(int fd)
{
    for (int i = 0; i < 300 && !atomic_load(&srv.http.stop); i++) {
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, 100) > 0) {
            char b[256];
            if (recv(fd, b, sizeof b, 0) <= 0)
                return; /* the client gave up */
        }
    }
}

static void srv_handle(struct http_fixture *f, int fd, const char *body, size_t body_len)
{
    (void)body_len;
    pthread_mutex_lock(&f->mu);
    snprintf(srv.last_request, sizeof srv.last_request, "%s", body);
    enum srv_mode mode = srv.mode;
    int status = srv.status;
    bool fail = mode == SRV_STATUS || (mode == SRV_FAIL_THEN_OK && srv.fail_left > 0);
    if (mode == SRV_FAIL_THEN_OK && srv.fail_left > 0)
        srv.fail_left--;
    char reply[4096];
    const char *idp = strstr(body, "\"id\":");
    unsigned long long id = idp != NULL ? strtoull(idp + 5, NULL, 10) : 0;
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
    snprintf(reply, sizeof reply, srv.body_fmt, id);
#pragma GCC diagnostic pop
    pthread_mutex_unlock(&f->mu);
    if (mode == SRV_BIG_CLOSE || mode == SRV_BIG_LENGTH)
        srv_big(fd, mode == SRV_BIG_LENGTH);
    else if (mode == SRV_HANG)
        srv_hang(fd);
    else if (fail)
        http_fixture_reply(fd, status, "{\"busy\":true}");
    else
        http_fixture_reply(fd, 200, reply);
}

static void srv_set(enum srv_mode mode, int status, int fail_left, const char *body_fmt)
{
    pthread_mutex_lock(&srv.http.mu);
    srv.mode = mode;
    srv.status = status;
    srv.fail_left = fail_left;
    snprintf(srv.body_fmt, sizeof srv.body_fmt, "%s", body_fmt != NULL ? body_fmt : "");
    srv.last_request[0] = '\0';
    pthread_mutex_unlock(&srv.http.mu);
    atomic_store(&srv.http.requests, 0);
}

static void client_init(struct rpc_client *c, uint32_t retries, uint32_t total_timeout_ms)
{
    struct rpc_options opt;
    rpc_options_default(&opt);
    opt.connect_timeout_ms = 1000;
    opt.total_timeout_ms = total_timeout_ms;
    opt.response_bytes_max = 64 * 1024;
    opt.retries_max = retries;
    opt.backoff_initial_ms = 5;
    opt.backoff_max_ms = 20;
    char url[64];
    http_fixture_url(url, sizeof url, &srv.http);
    struct err e = {0};
    if (rpc_client_init(c, url, &opt, &e) != RPC_OK) {
        fprintf(stdout, "# %s\n", e.msg);
        abort();
    }
}

#define OK_FMT "{\"jsonrpc\":\"2.0\",\"id\":%llu,\"result\":\"0x7a69\"}"

static void test_transport_ok(void)
{
    struct rpc_client c;
    client_init(&c, 2, 2000);
    srv_set(SRV_BODY, 200, 0, OK_FMT);
    uint64_t chain_id = 0;
    struct err e = {0};
    CHECK_INT(rpc_chain_id(&c, &chain_id, &e), RPC_OK);
    CHECK_INT(chain_id, 31337);
    CHECK_INT(c.last_attempts, 1);
    CHECK_INT(atomic_load(&srv.http.requests), 1);
    /* The request is a well-formed JSON-RPC 2.0 call. */
    json_t *req = json_loads(srv.last_request, 0, NULL);
    CHECK(req != NULL);
    CHECK_STR(json_string_value(json_object_get(req, "jsonrpc")), "2.0");
    CHECK_STR(json_string_value(json_object_get(req, "method")), "eth_chainId");
    CHECK(json_is_array(json_object_get(req, "params")));
    CHECK_INT(json_array_size(json_object_get(req, "params")), 0);
    CHECK_INT(json_integer_value(json_object_get(req, "id")), 1);
    json_decref(req);
    /* Wrapper parameters: lowercase hex address and the block tag. */
    srv_set(SRV_BODY, 200, 0,
            "{\"jsonrpc\":\"2.0\",\"id\":%llu,\"result\":\"0x21e19e0c9bab2400000\"}");
    uint8_t addr[20];
    memset(addr, 0xab, sizeof addr);
    struct u256 bal;
    CHECK_INT(rpc_get_balance(&c, &bal, addr, "latest", &e), RPC_OK);
    char dec[U256_DEC_SIZE];
    u256_to_dec(dec, &bal);
    CHECK_STR(dec, "10000000000000000000000");
    req = json_loads(srv.last_request, 0, NULL);
    CHECK_STR(json_string_value(json_array_get(json_object_get(req, "params"), 0)),
              "0xabababababababababababababababababababab");
    CHECK_STR(json_string_value(json_array_get(json_object_get(req, "params"), 1)), "latest");
    CHECK_INT(json_integer_value(json_object_get(req, "id")), 2);
    json_decref(req);
    CHECK_INT(rpc_get_balance(&c, &bal, addr, "newest", &e), RPC_ERR_BAD_INPUT);
    CHECK_STR(e.msg, "invalid block tag 'newest'");
    CHECK_INT(atomic_load(&srv.http.requests), 1);
    rpc_client_release(&c);
}

static void test_transport_too_large(void)
{
    struct rpc_client c;
    client_init(&c, 3, 5000);
    struct err e = {0};
    json_t *res = NULL;
    srv_set(SRV_BIG_CLOSE, 200, 0, NULL);
    CHECK_INT(rpc_call(&c, "eth_getLogs", NULL, &res, &e), RPC_ERR_TOO_LARGE);
    CHECK_STR(e.msg, "rpc eth_getLogs failed: response larger than 65536 bytes");
    CHECK_INT(c.last_attempts, 1); /* not transient */
    CHECK(res == NULL);
    srv_set(SRV_BIG_LENGTH, 200, 0, NULL);
    CHECK_INT(rpc_call(&c, "eth_getLogs", NULL, &res, &e), RPC_ERR_TOO_LARGE);
    CHECK_INT(c.last_attempts, 1);
    CHECK_INT(atomic_load(&srv.http.requests), 1);
    rpc_client_release(&c);
}

static void test_transport_timeout(void)
{
    struct rpc_client c;
    client_init(&c, 1, 300);
    struct err e = {0};
    json_t *res = NULL;
    srv_set(SRV_HANG, 200, 0, NULL);
    uint64_t t0 = clock_now_ms();
    CHECK_INT(rpc_call(&c, "eth_blockNumber", NULL, &res, &e), RPC_ERR_TIMEOUT);
    uint64_t took = clock_now_ms() - t0;
    CHECK_INT(c.last_attempts, 2); /* a timeout is transient: retried once */
    /* lower bound: the timeout was honoured; the upper one only guards against a hang */
    CHECK_MSG(took >= 550 && took < 30000, "took %llu ms", (unsigned long long)took);
    CHECK(strncmp(e.msg, "rpc eth_blockNumber failed after 2 attempts: timed out", 54) == 0);
    rpc_client_release(&c);
    /* Let the server notice the closed connection before the next test. */
    for (int i = 0; i < 50 && atomic_load(&srv.http.requests) < 2; i++)
        usleep(10000);
    CHECK_INT(atomic_load(&srv.http.requests), 2);
}

/* rpc_client_set_timeout_ms() applies to the next call (txmgr bounds its
 * broadcasts and lookups with it): a client made with 20 s gives up after
 * about 300 ms. Bounds as above. */
static void test_transport_timeout_changed(void)
{
    struct rpc_client c;
    client_init(&c, 0, 20000);
    struct err e = {0};
    json_t *res = NULL;
    CHECK_INT(rpc_client_set_timeout_ms(&c, 300, &e), RPC_OK);
    srv_set(SRV_HANG, 200, 0, NULL);
    uint64_t t0 = clock_now_ms();
    CHECK_INT(rpc_call(&c, "eth_blockNumber", NULL, &res, &e), RPC_ERR_TIMEOUT);
    uint64_t took = clock_now_ms() - t0;
    CHECK_MSG(took >= 250 && took < 15000, "took %llu ms", (unsigned long long)took);
    rpc_client_release(&c);
    for (int i = 0; i < 50 && atomic_load(&srv.http.requests) < 1; i++)
        usleep(10000);
    CHECK_INT(atomic_load(&srv.http.requests), 1);
}

static void test_transport_retry_then_ok(void)
{
    struct rpc_client c;
    client_init(&c, 3, 2000);
    struct err e = {0};
    srv_set(SRV_FAIL_THEN_OK, 503, 3, OK_FMT);
    uint64_t v = 0;
    CHECK_INT(rpc_chain_id(&c, &v, &e), RPC_OK);
    CHECK_INT(v, 31337);
    CHECK_INT(c.last_attempts, 4);
    CHECK_INT(atomic_load(&srv.http.requests), 4);
    /* 429, 502 and 504 are transient too. */
    int statuses[] = {429, 502, 504};
    for (size_t i = 0; i < 3; i++) {
        srv_set(SRV_FAIL_THEN_OK, statuses[i], 1, OK_FMT);
        CHECK_INT(rpc_chain_id(&c, &v, &e), RPC_OK);
        CHECK_INT(c.last_attempts, 2);
    }
    /* More failures than retries: the last status is reported. */
    srv_set(SRV_FAIL_THEN_OK, 503, 10, OK_FMT);
    CHECK_INT(rpc_chain_id(&c, &v, &e), RPC_ERR_HTTP_STATUS);
    CHECK_STR(e.msg, "rpc eth_chainId failed after 4 attempts: http status 503");
    CHECK_INT(c.last_attempts, 4);
    CHECK_INT(c.last_http_status, 503);
    CHECK_INT(atomic_load(&srv.http.requests), 4);
    /* 500 is not transient. */
    srv_set(SRV_STATUS, 500, 0, NULL);
    CHECK_INT(rpc_chain_id(&c, &v, &e), RPC_ERR_HTTP_STATUS);
    CHECK_INT(c.last_attempts, 1);
    CHECK_INT(atomic_load(&srv.http.requests), 1);
    rpc_client_release(&c);
}

static void test_transport_remote_error_not_retried(void)
{
    struct rpc_client c;
    client_init(&c, 5, 2000);
    struct err e = {0};
    srv_set(SRV_BODY, 200, 0,
            "{\"jsonrpc\":\"2.0\",\"id\":%llu,\"error\":{\"code\":-32000,\"message\":\"nonce too "
            "low\"}}");
    uint8_t hash[32];
    CHECK_INT(rpc_send_raw_transaction(&c, hash, "0x02f8", &e), RPC_ERR_REMOTE);
    CHECK_STR(e.msg, "rpc eth_sendRawTransaction failed: remote error -32000: 'nonce too low'");
    CHECK_INT(c.last_attempts, 1);
    CHECK_INT(atomic_load(&srv.http.requests), 1);
    CHECK_INT(c.last_remote.code, -32000);
    CHECK_STR(c.last_remote.message, "nonce too low");
    /* Revert data surfaces through eth_call. */
    srv_set(SRV_BODY, 200, 0,
            "{\"jsonrpc\":\"2.0\",\"id\":%llu,\"error\":{\"code\":3,\"message\":\"execution "
            "reverted\",\"data\":\"0xdeadbeef\"}}");
    uint8_t to[20] = {1}, out[32];
    size_t out_len = 0;
    CHECK_INT(rpc_eth_call(&c, out, sizeof out, &out_len, NULL, to, (const uint8_t *)"\x01\x02", 2,
                           "latest", &e),
              RPC_ERR_EXECUTION_REVERTED);
    CHECK_STR(c.last_remote.data_hex, "0xdeadbeef");
    CHECK_INT(c.last_attempts, 1);
    json_t *req = json_loads(srv.last_request, 0, NULL);
    json_t *call = json_array_get(json_object_get(req, "params"), 0);
    CHECK_STR(json_string_value(json_object_get(call, "data")), "0x0102");
    CHECK_STR(json_string_value(json_object_get(call, "to")),
              "0x0100000000000000000000000000000000000000");
    json_decref(req);
    /* Malformed answers are not retried either. */
    srv_set(SRV_BODY, 200, 0, "<html>oops</html>");
    json_t *res = NULL;
    CHECK_INT(rpc_call(&c, "eth_chainId", NULL, &res, &e), RPC_ERR_BAD_RESPONSE);
    CHECK_INT(c.last_attempts, 1);
    /* Bad raw transactions never reach the wire. */
    srv_set(SRV_BODY, 200, 0, OK_FMT);
    CHECK_INT(rpc_send_raw_transaction(&c, hash, "02f8", &e), RPC_ERR_BAD_INPUT);
    CHECK_INT(rpc_send_raw_transaction(&c, hash, "0x2f8", &e), RPC_ERR_BAD_INPUT);
    CHECK_INT(rpc_call(&c, "eth_chain Id", NULL, &res, &e), RPC_ERR_BAD_INPUT);
    CHECK_INT(rpc_call(&c, "eth_chainId", json_string("x"), &res, &e), RPC_ERR_BAD_INPUT);
    CHECK_INT(atomic_load(&srv.http.requests), 0);
    rpc_client_release(&c);
}

/* rpc_view_word: the call data is selector || args, one word comes back;
 * any other length or a signature that does not match its args fails. */
static void test_transport_view_word(void)
{
    struct rpc_client c;
    client_init(&c, 2, 2000);
    struct err e = {0};
    uint8_t to[20], key[32], word[32];
    memset(to, 0x11, sizeof to);
    memset(key, 0xab, sizeof key);
    struct abi_value arg = abi_value_bytes32(key);
    srv_set(SRV_BODY, 200, 0,
            "{\"jsonrpc\":\"2.0\",\"id\":%llu,\"result\":\"0x"
            "00000000000000000000000000000000000000000000000000000000000004d2\"}");
    CHECK_INT(rpc_view_word(&c, word, to, "receivedOf(bytes32)", &arg, 1, "0x10", &e), RPC_OK);
    struct u256 v = u256_from_be32(word), want = u256_from_u64(1234);
    CHECK(u256_cmp(&v, &want) == 0);
    json_t *req = json_loads(srv.last_request, 0, NULL);
    json_t *params = json_object_get(req, "params");
    uint8_t sel[32];
    keccak256(sel, "receivedOf(bytes32)", strlen("receivedOf(bytes32)"));
    char data[2 + 2 * 36 + 1], sel_hex[9];
    ASSERT(hex_encode(sel_hex, sizeof sel_hex, sel, 4) == 0);
    snprintf(data, sizeof data, "0x%s%s", sel_hex,
             "abababababababababababababababababababababababababababababababab");
    CHECK_STR(json_string_value(json_object_get(json_array_get(params, 0), "data")), data);
    CHECK(json_object_get(json_array_get(params, 0), "from") == NULL);
    CHECK_STR(json_string_value(json_array_get(params, 1)), "0x10");
    json_decref(req);
    srv_set(SRV_BODY, 200, 0, "{\"jsonrpc\":\"2.0\",\"id\":%llu,\"result\":\"0x\"}");
    CHECK_INT(rpc_view_word(&c, word, to, "claimWindow()", NULL, 0, "latest", &e),
              RPC_ERR_BAD_RESPONSE);
    CHECK_STR(e.msg, "claimWindow() answered 0 bytes, not one word");
    srv_set(SRV_BODY, 200, 0,
            "{\"jsonrpc\":\"2.0\",\"id\":%llu,\"result\":\"0x"
            "0000000000000000000000000000000000000000000000000000000000000001"
            "0000000000000000000000000000000000000000000000000000000000000002\"}");
    CHECK_INT(rpc_view_word(&c, word, to, "claimWindow()", NULL, 0, "latest", &e),
              RPC_ERR_TOO_LARGE);
    CHECK_INT(atomic_load(&srv.http.requests), 1);
    srv_set(SRV_BODY, 200, 0, OK_FMT);
    CHECK_INT(rpc_view_word(&c, word, to, "receivedOf(address)", &arg, 1, "latest", &e),
              RPC_ERR_BAD_INPUT);
    CHECK_INT(e.code, RPC_ERR_BAD_INPUT);
    CHECK_INT(atomic_load(&srv.http.requests), 0);
    rpc_client_release(&c);
}

static void test_transport_connect_refused(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd, (struct sockaddr *)&a, sizeof a);
    socklen_t alen = sizeof a;
    getsockname(fd, (struct sockaddr *)&a, &alen);
    close(fd); /* nothing listens on this port now */
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/", (unsigned)ntohs(a.sin_port));
    struct rpc_options opt;
    rpc_options_default(&opt);
    opt.retries_max = 2;
    opt.backoff_initial_ms = 1;
    opt.backoff_max_ms = 2;
    struct rpc_client c;
    struct err e = {0};
    CHECK_INT(rpc_client_init(&c, url, &opt, &e), RPC_OK);
    uint64_t v = 0;
    CHECK_INT(rpc_block_number(&c, &v, &e), RPC_ERR_TRANSPORT);
    CHECK_INT(c.last_attempts, 3);
    CHECK(strstr(e.msg, "rpc eth_blockNumber failed after 3 attempts: transport error") == e.msg);
    CHECK(strstr(e.msg, "/") == NULL || strstr(e.msg, url) == NULL);
    rpc_client_release(&c);
}

static void test_transport_batch(void)
{
    struct rpc_client c;
    client_init(&c, 0, 2000);
    struct err e = {0};
    unsigned long long id = c.next_id;
    char body[1024];
    snprintf(body, sizeof body,
             "[{\"jsonrpc\":\"2.0\",\"id\":%llu,\"result\":\"0x2\"},"
             "{\"jsonrpc\":\"2.0\",\"id\":%llu,\"result\":\"0x1\"}]",
             id + 1, id);
    srv_set(SRV_BODY, 200, 0, body);
    struct rpc_batch_item *items = batch_items(2);
    items[0].method = "eth_blockNumber";
    items[1].method = "eth_getBalance";
    items[1].params = json_pack("[ss]", "0x0000000000000000000000000000000000000000", "latest");
    CHECK_INT(rpc_batch(&c, items, 2, &e), RPC_OK);
    CHECK(items[1].params == NULL); /* stolen */
    CHECK_STR(json_string_value(items[0].result), "0x1");
    CHECK_STR(json_string_value(items[1].result), "0x2");
    json_t *req = json_loads(srv.last_request, 0, NULL);
    CHECK(json_is_array(req));
    CHECK_INT(json_array_size(req), 2);
    CHECK_STR(json_string_value(json_object_get(json_array_get(req, 1), "method")),
              "eth_getBalance");
    json_decref(req);
    batch_free(items, 2);
    /* Limits are checked before sending; params are still consumed. */
    items = batch_items(RPC_BATCH_CALLS_MAX + 1);
    for (size_t i = 0; i < RPC_BATCH_CALLS_MAX + 1; i++) {
        items[i].method = "eth_chainId";
        items[i].params = json_array();
    }
    srv_set(SRV_BODY, 200, 0, body);
    CHECK_INT(rpc_batch(&c, items, RPC_BATCH_CALLS_MAX + 1, &e), RPC_ERR_BAD_INPUT);
    CHECK_INT(atomic_load(&srv.http.requests), 0);
    for (size_t i = 0; i < RPC_BATCH_CALLS_MAX + 1; i++)
        CHECK(items[i].params == NULL);
    batch_free(items, RPC_BATCH_CALLS_MAX + 1);
    rpc_client_release(&c);
}

static void test_client_init_limits(void)
{
    struct rpc_client c;
    struct err e = {0};
    struct rpc_options opt;
    CHECK_INT(rpc_client_init(&c, "ftp://x/", NULL, &e), RPC_ERR_BAD_INPUT);
    CHECK_STR(e.msg, "rpc url must start with http:// or https://");
    rpc_options_default(&opt);
    opt.response_bytes_max = RPC_RESPONSE_BYTES_MAX + 1;
    CHECK_INT(rpc_client_init(&c, "http://127.0.0.1:1/", &opt, &e), RPC_ERR_BAD_INPUT);
    rpc_options_default(&opt);
    opt.retries_max = RPC_RETRIES_MAX + 1;
    CHECK_INT(rpc_client_init(&c, "http://127.0.0.1:1/", &opt, &e), RPC_ERR_BAD_INPUT);
    rpc_options_default(&opt);
    opt.total_timeout_ms = 0;
    CHECK_INT(rpc_client_init(&c, "http://127.0.0.1:1/", &opt, &e), RPC_ERR_BAD_INPUT);
    static char url[RPC_URL_BYTES_MAX + 10];
    memset(url, 'a', sizeof url - 1);
    memcpy(url, "http://", 7);
    CHECK_INT(rpc_client_init(&c, url, NULL, &e), RPC_ERR_BAD_INPUT);
    rpc_client_release(&c);
    /* A later timeout change has the same range; a refused one changes nothing. */
    CHECK_INT(rpc_client_init(&c, "http://127.0.0.1:1/", NULL, &e), RPC_OK);
    CHECK_INT(rpc_client_set_timeout_ms(&c, 0, &e), RPC_ERR_BAD_INPUT);
    CHECK_INT(rpc_client_set_timeout_ms(&c, RPC_TIMEOUT_MS_MAX + 1u, &e), RPC_ERR_BAD_INPUT);
    CHECK_INT(c.opt.total_timeout_ms, RPC_TOTAL_TIMEOUT_MS_DEFAULT);
    CHECK_INT(rpc_client_set_timeout_ms(&c, RPC_TIMEOUT_MS_MAX, &e), RPC_OK);
    CHECK_INT(c.opt.total_timeout_ms, RPC_TIMEOUT_MS_MAX);
    rpc_client_release(&c);
}

int main(void)
{
    struct err e = {0};
    if (rpc_global_init(&e) != RPC_OK)
        return 1;
    RUN(test_parse_ok);
    RUN(test_parse_errors);
    RUN(test_parse_remote_details);
    RUN(test_parse_execution_reverted);
    RUN(test_parse_reverted_message_with_nul);
    RUN(test_parse_limits);
    RUN(test_parse_quantity);
    RUN(test_parse_batch);
    RUN(test_parse_receipt);
    http_fixture_start(&srv.http, srv_handle, NULL);
    RUN(test_transport_ok);
    RUN(test_transport_too_large);
    RUN(test_transport_timeout);
    RUN(test_transport_timeout_changed);
    RUN(test_transport_retry_then_ok);
    RUN(test_transport_remote_error_not_retried);
    RUN(test_transport_view_word);
    RUN(test_transport_connect_refused);
    RUN(test_transport_batch);
    RUN(test_client_init_limits);
    http_fixture_stop(&srv.http);
    return harness_finish();
}
