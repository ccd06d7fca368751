/*
 * test_settlement_api.c - a real settlement service (service.h: st_open/
 * st_start on 127.0.0.1:0, in this process) against the runner's PostgreSQL
 * (a fresh database st_api_<pid>, migrated, dropped at the end) and anvil,
 * driven over HTTP with libcurl:
 *   - SIWE sign-in through GET /v1/auth/nonce and POST /v1/auth/siwe with
 *     EIP-4361 messages signed here (sig.h) with anvil keys; and a session
 *     issued by an in-process gateway sharing AUTH_SECRET_FILE works here;
 *   - POST /v1/creators, GET /v1/creators/{id}; PUT/GET splits and history
 *     (effective_from_block = head + 1, versions immutable and increasing);
 *     POST streams (passes registered to the creator, ingest key stored as
 *     sha256); GET /v1/chain; /healthz and /metrics;
 *   - every bad-input class with its exact status and the state unchanged
 *     (row counts): no session 401, malformed JSON 400, oversized body 413,
 *     unknown field 422, each split violation 422 with split_validate's
 *     message, non-owner 403, unknown or non-UUID ids 404;
 *   - Idempotency-Key: replay returns the first answer and writes nothing;
 *     the same key with another body is 422; 8 concurrent requests with one
 *     key make exactly one creator;
 *   - GET /v1/creators (public): walks with limits 1, 2, 5, the exact count,
 *     500 and the default list every creator of the database exactly once,
 *     in id order, each with the database's name, owner, creator_key and
 *     created_at, full pages but the last, next_cursor null only on the
 *     last; a creator made during a walk leaves every earlier one listed
 *     exactly once; bad limits and cursors are 400 problems.
 *
 * Environment: DATABASE_URL, ETH_RPC_URL (anvil 31337), TEST_TMPDIR; run
 * from the repository root. Accounts: 5 owns the creator, 6 is a stranger,
 * 7 signs in at the gateway.
 */
#include <curl/curl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "api_client.h"
#include "crypto.h"
#include "ids.h"
#include "pg_fixture.h"
#include "server.h"
#include "service.h"
#include "siwe.h"
#include "vault_fixture.h"

#define ACCT_OWNER 5
#define ACCT_STRANGER 6
#define ACCT_GW_USER 7
#define DOMAIN "localhost:8080"
#define PATH_BYTES 512
#define RACERS 8
#define LIST_EXTRA 9  /* creators made for the list's pages */
#define LIST_MAX 64   /* creators this program makes, at most */
#define LIST_PAGES 64 /* pages of one walk, at most */

static struct st_server st;
static struct gw_server gw;
static struct app_config cfg;
static struct api_client api = {.siwe_domain = DOMAIN, .chain = &chain}; /* .port set later */
static struct api_db fresh;
static char dir[PATH_BYTES];
static FILE *svc_log;
static uint16_t st_port, gw_port;
static char creator[IDS_UUID_SIZE];
static const char missing[] = "00000000-0000-4000-8000-000000000000";
static const char vault_text[] = "0x00000000000000000000000000000000000000AA";
static struct address pass_addr; /* a pass registered to `creator` (seeded) */

/* ---- database ---------------------------------------------------------------------- */

/* The single integer of a query without parameters, -1 on failure. */
static long count_rows(const char *sql)
{
    return api_count_rows(&fresh.session, sql);
}

#define STATE_SQL                                                                                  \
    "SELECT (SELECT count(*) FROM creators) * 1000000 + (SELECT count(*) FROM split_versions) * "  \
    "10000 + (SELECT count(*) FROM streams) * 100 + (SELECT count(*) FROM stream_passes)"

/* The last reply is a problem+json of `status`. */
static void check_problem(long status, const char *what)
{
    api_check_problem(&api, status, what);
}

/* ---- services ------------------------------------------------------------------------ */

static bool load_config(void)
{
    char secret[PATH_BYTES + 16];
    if (!api_make_dir(dir, sizeof dir, "st_api", secret, sizeof secret, "services.log", "service",
                      &svc_log) ||
        !api_load_config(&cfg, fresh.url, vault_text, secret, dir, DOMAIN, "6"))
        return false;
    snprintf(cfg.settlement_listen, sizeof cfg.settlement_listen, "127.0.0.1:0");
    snprintf(cfg.gateway_listen, sizeof cfg.gateway_listen, "127.0.0.1:0");
    return true;
}

static bool start_services(void)
{
    struct err e = {0};
    if (!st_open(&st, &cfg, svc_log, &e) || !st_start(&st, &e)) {
        printf("# settlement: %s\n", e.msg);
        return false;
    }
    st_port = api.port = http_server_port(st.http);
    if (!gw_open(&gw, &cfg, svc_log, &e) || !gw_start(&gw, &e)) {
        printf("# gateway: %s\n", e.msg);
        return false;
    }
    gw_port = http_server_port(gw.http);
    return true;
}

/* ---- tests ----------------------------------------------------------------------------- */

static long post_json(const char *method, const char *path, size_t acct, const char *idem,
                      const char *body)
{
    return api_request_key(&api, method, path, acct < CHAIN_DEV_KEYS ? api.tokens[acct] : NULL,
                           idem, body, strlen(body));
}

static void test_signin(void)
{
    CHECK(api_sign_in(&api, ACCT_OWNER));
    CHECK(api_sign_in(&api, ACCT_STRANGER));
}

static void test_gateway_session_works_here(void)
{
    api.port = gw_port;
    bool ok = api_sign_in(&api, ACCT_GW_USER);
    api.port = st_port;
    CHECK(ok);
    long before = count_rows("SELECT count(*) FROM creators");
    CHECK_INT(post_json("POST", "/v1/creators", ACCT_GW_USER, NULL, "{\"name\":\"From gateway\"}"),
              201);
    json_t *j = api_reply_json(&api);
    char a[ADDRESS_TEXT_SIZE];
    address_format_checksum(a, &chain.addr[ACCT_GW_USER]);
    CHECK_STR(api_str_at(j, "owner"), a);
    json_decref(j);
    CHECK_INT(count_rows("SELECT count(*) FROM creators"), before + 1);
    /* A tampered token is refused. */
    char bad[TOKEN_TEXT_SIZE];
    snprintf(bad, sizeof bad, "%s", api.tokens[ACCT_GW_USER]);
    size_t n = strlen(bad);
    bad[n - 1] = bad[n - 1] == '0' ? '1' : '0';
    api_request(&api, "POST", "/v1/creators", bad, "{\"name\":\"x\"}", 12);
    check_problem(401, "tampered token");
    CHECK_INT(count_rows("SELECT count(*) FROM creators"), before + 1);
}

static void test_creator_create_and_get(void)
{
    CHECK_INT(post_json("POST", "/v1/creators", ACCT_OWNER, NULL, "{\"name\":\"Alice\"}"), 201);
    json_t *j = api_reply_json(&api);
    const char *id = api_str_at(j, "id");
    CHECK(id != NULL && ids_uuid_valid(id, strlen(id)));
    snprintf(creator, sizeof creator, "%s", id != NULL ? id : "");
    uint8_t key[32];
    char key_hex[67], a[ADDRESS_TEXT_SIZE], path[PATH_BYTES];
    if (id != NULL) {
        ids_key_of(key, id);
        ASSERT(hex_encode_0x(key_hex, sizeof key_hex, key, 32) == 0);
        CHECK_STR(api_str_at(j, "creator_key"), key_hex);
    }
    address_format_checksum(a, &chain.addr[ACCT_OWNER]);
    CHECK_STR(api_str_at(j, "owner"), a);
    json_decref(j);
    snprintf(path, sizeof path, "/v1/creators/%s", creator);
    CHECK_INT(api_request(&api, "GET", path, NULL, NULL, 0), 200);
    j = api_reply_json(&api);
    CHECK_STR(api_str_at(j, "id"), creator);
    CHECK_STR(api_str_at(j, "owner"), a);
    CHECK_STR(api_str_at(j, "name"), "Alice");
    json_decref(j);
    /* Seed a pass registered to this creator (POST .../passes is not built yet). */
    memset(pass_addr.bytes, 0x42, ADDRESS_BYTES);
    char contract[PG_BYTEA_TEXT_SIZE];
    pg_bytea_text(contract, pass_addr.bytes, 20);
    const char *p[2] = {contract, creator};
    CHECK(pg_exec(&fresh.session, NULL,
                  "INSERT INTO passes (contract, creator_id, name, symbol, price_wei, max_supply, "
                  "royalty_bps) VALUES ($1::bytea, $2::uuid, 'Pass', 'P', 1000, 10, 500)",
                  p, 2, NULL) == PG_OK);
}

static void test_creator_bad_inputs(void)
{
    long state = count_rows(STATE_SQL);
    char big[ST_CREATOR_BODY_BYTES_MAX + 64];
    memset(big, 'a', sizeof big);
    memcpy(big, "{\"name\":\"", 9);
    memcpy(big + sizeof big - 3, "\"}", 3);
    static const struct {
        const char *body;
        long status;
        const char *what;
    } cases[] = {
        {"{\"name\":", 400, "malformed JSON"},
        {"[1]", 400, "not an object"},
        {"{\"name\":\"a\",\"name\":\"b\"}", 400, "duplicate key"},
        {"{}", 422, "missing name"},
        {"{\"name\":\"\"}", 422, "empty name"},
        {"{\"name\":5}", 422, "wrong type"},
        {"{\"name\":\"a\",\"x\":1}", 422, "unknown field"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        post_json("POST", "/v1/creators", ACCT_OWNER, NULL, cases[i].body);
        check_problem(cases[i].status, cases[i].what);
    }
    api_request(&api, "POST", "/v1/creators", api.tokens[ACCT_OWNER], big, strlen(big));
    check_problem(413, "oversized body");
    api_request(&api, "POST", "/v1/creators", NULL, "{\"name\":\"a\"}", 12);
    check_problem(401, "no session");
    api_request(&api, "GET",
                "/v1/creators/"
                "00000000-0000-4000-8000-000000000000",
                NULL, NULL, 0);
    check_problem(404, "unknown creator");
    api_request(&api, "GET", "/v1/creators/not-a-uuid", NULL, NULL, 0);
    check_problem(404, "not a uuid");
    api_request(&api, "GET", "/v1/creators/4C1E2A3B-5D6F-4A7B-8C9D-0E1F2A3B4C5D", NULL, NULL, 0);
    check_problem(404, "uppercase uuid");
    CHECK_INT(count_rows(STATE_SQL), state);
}

static const char split5[] =
    "{\"shares\":["
    "{\"payee\":\"0x1111111111111111111111111111111111111111\",\"role\":\"artist\",\"bps\":3500},"
    "{\"payee\":\"0x2222222222222222222222222222222222222222\",\"role\":\"producer\",\"bps\":2500},"
    "{\"payee\":\"0x3333333333333333333333333333333333333333\",\"role\":\"editor\",\"bps\":1500},"
    "{\"payee\":\"0x4444444444444444444444444444444444444444\",\"role\":\"mod\",\"bps\":1000},"
    "{\"payee\":\"0x5555555555555555555555555555555555555555\",\"role\":\"dao\",\"bps\":1500}]}";

static void test_splits(void)
{
    char path[PATH_BYTES], hist[PATH_BYTES];
    snprintf(path, sizeof path, "/v1/creators/%s/splits", creator);
    snprintf(hist, sizeof hist, "/v1/creators/%s/splits/history", creator);
    api_request(&api, "GET", path, NULL, NULL, 0);
    check_problem(404, "no split yet");
    uint64_t h = chain_head(&chain);
    CHECK_INT(post_json("PUT", path, ACCT_OWNER, NULL, split5), 201);
    json_t *j = api_reply_json(&api);
    CHECK_INT(json_integer_value(json_object_get(j, "version")), 1);
    int64_t from1 = json_integer_value(json_object_get(j, "effective_from_block"));
    CHECK_MSG(from1 == (int64_t)h + 1, "effective_from_block %" PRId64 " head %" PRIu64, from1, h);
    CHECK_INT(json_array_size(json_object_get(j, "shares")), 5);
    CHECK_STR(api_str_at(json_array_get(json_object_get(j, "shares"), 0), "role"), "artist");
    json_decref(j);
    /* A second version in the same block starts one block later. */
    CHECK_INT(post_json("PUT", path, ACCT_OWNER, NULL,
                        "{\"shares\":[{\"payee\":\"0x1111111111111111111111111111111111111111\","
                        "\"role\":\"all\",\"bps\":10000}]}"),
              201);
    j = api_reply_json(&api);
    CHECK_INT(json_integer_value(json_object_get(j, "version")), 2);
    CHECK(json_integer_value(json_object_get(j, "effective_from_block")) > from1);
    json_decref(j);
    CHECK_INT(api_request(&api, "GET", path, NULL, NULL, 0), 200);
    j = api_reply_json(&api);
    CHECK_INT(json_integer_value(json_object_get(j, "version")), 2);
    json_decref(j);
    CHECK_INT(api_request(&api, "GET", hist, NULL, NULL, 0), 200);
    j = api_reply_json(&api);
    json_t *v = json_object_get(j, "versions");
    CHECK_INT(json_array_size(v), 2);
    CHECK_INT(json_integer_value(json_object_get(json_array_get(v, 0), "version")), 1);
    CHECK_INT(json_array_size(json_object_get(json_array_get(v, 0), "shares")), 5);
    json_decref(j);
    api_request(&api, "GET", "/v1/creators/00000000-0000-4000-8000-000000000000/splits/history",
                NULL, NULL, 0);
    check_problem(404, "history of unknown creator");
}

/* A split body of `n` shares of payees 0x..01.., each `bps`, `role`. */
static void split_body(char *out, size_t size, size_t n, unsigned bps, const char *role, bool dup)
{
    size_t len = (size_t)snprintf(out, size, "{\"shares\":[");
    for (size_t i = 0; i < n; i++)
        len += (size_t)snprintf(out + len, size - len,
                                "%s{\"payee\":\"0x%040zx\",\"role\":\"%s\",\"bps\":%u}",
                                i ? "," : "", dup ? (size_t)1 : i + 1, role, bps);
    snprintf(out + len, size - len, "]}");
}

static void test_splits_bad_inputs(void)
{
    char path[PATH_BYTES], body[32768], role65[66];
    snprintf(path, sizeof path, "/v1/creators/%s/splits", creator);
    memset(role65, 'r', 65);
    role65[65] = '\0';
    long state = count_rows(STATE_SQL);
    const struct {
        size_t n;
        unsigned bps;
        const char *role;
        bool dup;
        long status;
        const char *detail; /* a part of the expected message */
    } cases[] = {
        {0, 0, "r", false, 422, "payee"},
        {101, 99, "r", false, 422, "at most 100"},
        {2, 5000, "r", true, 422, "0x0000000000000000000000000000000000000001"},
        {2, 4000, "r", false, 422, "10000"},
        {1, 0, "r", false, 422, "0x0000000000000000000000000000000000000001"},
        {1, 10001, "r", false, 422, "0x0000000000000000000000000000000000000001"},
        {1, 10000, role65, false, 422, "role"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        split_body(body, sizeof body, cases[i].n, cases[i].bps, cases[i].role, cases[i].dup);
        post_json("PUT", path, ACCT_OWNER, NULL, body);
        check_problem(cases[i].status, "bad split");
        CHECK_MSG(strstr(api.rep.body, cases[i].detail) != NULL, "case %zu: %s", i, api.rep.body);
    }
    post_json("PUT", path, ACCT_OWNER, NULL,
              "{\"shares\":[{\"payee\":\"0x0000000000000000000000000000000000000000\",\"role\":"
              "\"r\",\"bps\":10000}]}");
    check_problem(422, "zero payee");
    post_json("PUT", path, ACCT_OWNER, NULL,
              "{\"shares\":[{\"payee\":\"0x1111111111111111111111111111111111111111\",\"role\":"
              "\"r\",\"bps\":-1}]}");
    check_problem(422, "negative bps");
    post_json("PUT", path, ACCT_OWNER, NULL,
              "{\"shares\":[{\"payee\":\"0xAaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\",\"role\":"
              "\"r\",\"bps\":10000}]}");
    check_problem(422, "bad checksum");
    post_json("PUT", path, ACCT_OWNER, NULL, "{\"shares\":[");
    check_problem(400, "malformed JSON");
    static char big[ST_SPLITS_BODY_BYTES_MAX + 2]; /* one byte over the limit */
    memset(big, ' ', sizeof big);
    big[0] = '{';
    big[sizeof big - 2] = '}';
    big[sizeof big - 1] = '\0';
    post_json("PUT", path, ACCT_OWNER, NULL, big);
    check_problem(413, "oversized splits body");
    post_json("PUT", path, ACCT_STRANGER, NULL, split5);
    check_problem(403, "non-owner");
    post_json("PUT", "/v1/creators/00000000-0000-4000-8000-000000000000/splits", ACCT_OWNER, NULL,
              split5);
    check_problem(404, "unknown creator");
    api_request(&api, "PUT", path, NULL, split5, strlen(split5));
    check_problem(401, "no session");
    CHECK_INT(count_rows(STATE_SQL), state);
}

static void test_streams(void)
{
    char path[PATH_BYTES], body[1024], pa[ADDRESS_TEXT_SIZE];
    snprintf(path, sizeof path, "/v1/creators/%s/streams", creator);
    address_format_checksum(pa, &pass_addr);
    snprintf(body, sizeof body,
             "{\"title\":\"Live\",\"access\":{\"passes\":[{\"contract\":\"%s\",\"min_balance\":"
             "\"1\"}],\"tip_min_wei\":\"5000\"}}",
             pa);
    CHECK_INT(post_json("POST", path, ACCT_OWNER, NULL, body), 201);
    json_t *j = api_reply_json(&api);
    const char *id = api_str_at(j, "id"), *ingest = api_str_at(j, "ingest_key");
    CHECK(id != NULL && ids_uuid_valid(id, strlen(id)));
    CHECK(ingest != NULL && strlen(ingest) == 64);
    if (id != NULL && ingest != NULL) {
        uint8_t skey[32], khash[32];
        char sk[67], kh[72];
        ids_key_of(skey, id);
        ASSERT(hex_encode_0x(sk, sizeof sk, skey, 32) == 0);
        CHECK_STR(api_str_at(j, "stream_key"), sk);
        ASSERT(crypto_sha256(khash, ingest, strlen(ingest), NULL) == CRYPTO_OK);
        pg_bytea_text(kh, khash, 32);
        const char *p[2] = {id, kh};
        PGresult *res = NULL;
        CHECK(pg_exec(&fresh.session, &res,
                      "SELECT tip_min_wei::text, (SELECT count(*) FROM stream_passes WHERE "
                      "stream_id = $1::uuid) FROM streams WHERE id = $1::uuid AND "
                      "ingest_key_hash = $2::bytea",
                      p, 2, NULL) == PG_OK &&
              PQntuples(res) == 1);
        if (res != NULL && PQntuples(res) == 1) {
            CHECK_STR(PQgetvalue(res, 0, 0), "5000");
            CHECK_STR(PQgetvalue(res, 0, 1), "1");
        }
        PQclear(res);
        /* The gateway accepts the key (GET /ingest/{id}: 204). */
        char ipath[PATH_BYTES];
        snprintf(ipath, sizeof ipath, "/ingest/%s", id);
        api.port = gw_port;
        CHECK_INT(api_request(&api, "GET", ipath, ingest, NULL, 0), 204);
        api.port = st_port;
    }
    json_decref(j);
    CHECK_INT(post_json("POST", path, ACCT_OWNER, NULL,
                        "{\"title\":\"Free\",\"access\":{\"tip_min_wei\":null}}"),
              201);
}

static void test_streams_bad_inputs(void)
{
    char path[PATH_BYTES];
    snprintf(path, sizeof path, "/v1/creators/%s/streams", creator);
    long state = count_rows(STATE_SQL);
    static const struct {
        const char *body;
        long status;
    } cases[] = {
        {"{\"title\":\"x\"", 400},
        {"{\"title\":\"x\"}", 422},
        {"{\"title\":\"\",\"access\":{}}", 422},
        {"{\"title\":\"x\",\"access\":{\"tip_min_wei\":\"0\"}}", 422},
        {"{\"title\":\"x\",\"access\":{\"tip_min_wei\":\"01\"}}", 422},
        {"{\"title\":\"x\",\"access\":{\"tip_min_wei\":5}}", 422},
        {"{\"title\":\"x\",\"access\":{\"passes\":[{\"contract\":"
         "\"0x4242424242424242424242424242424242424242\",\"min_balance\":\"0\"}]}}",
         422},
        {"{\"title\":\"x\",\"access\":{\"passes\":[{\"contract\":"
         "\"0x4242424242424242424242424242424242424242\",\"min_balance\":\"1\"},{\"contract\":"
         "\"0x4242424242424242424242424242424242424242\",\"min_balance\":\"1\"}]}}",
         422},
        {"{\"title\":\"x\",\"access\":{\"passes\":[{\"contract\":"
         "\"0x9999999999999999999999999999999999999999\",\"min_balance\":\"1\"}]}}",
         422},
        {"{\"title\":\"x\",\"access\":{},\"extra\":1}", 422},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        post_json("POST", path, ACCT_OWNER, NULL, cases[i].body);
        check_problem(cases[i].status, cases[i].body);
    }
    CHECK(strstr(api.rep.body, "extra") != NULL);
    post_json("POST", path, ACCT_OWNER, NULL,
              "{\"title\":\"x\",\"access\":{\"passes\":[{\"contract\":"
              "\"0x9999999999999999999999999999999999999999\",\"min_balance\":\"1\"}]}}");
    CHECK(strstr(api.rep.body, "not registered") != NULL);
    char big[ST_STREAM_BODY_BYTES_MAX + 2]; /* one byte over the limit */
    memset(big, ' ', sizeof big);
    big[0] = '{';
    big[sizeof big - 2] = '}';
    big[sizeof big - 1] = '\0';
    post_json("POST", path, ACCT_OWNER, NULL, big);
    check_problem(413, "oversized stream body");
    post_json("POST", path, ACCT_STRANGER, NULL, "{\"title\":\"x\",\"access\":{}}");
    check_problem(403, "non-owner stream");
    post_json("POST", "/v1/creators/00000000-0000-4000-8000-000000000000/streams", ACCT_OWNER, NULL,
              "{\"title\":\"x\",\"access\":{}}");
    check_problem(404, "unknown creator stream");
    api_request(&api, "POST", path, NULL, "{\"title\":\"x\",\"access\":{}}", 26);
    check_problem(401, "no session stream");
    CHECK_INT(count_rows(STATE_SQL), state);
}

static void test_idempotency(void)
{
    char path[PATH_BYTES], first[4096];
    snprintf(path, sizeof path, "/v1/creators/%s/streams", creator);
    const char *b = "{\"title\":\"Once\",\"access\":{}}";
    long state = count_rows(STATE_SQL);
    CHECK_INT(post_json("POST", path, ACCT_OWNER, "k-stream-1", b), 201);
    snprintf(first, sizeof first, "%.4095s", api.rep.body);
    CHECK_INT(count_rows(STATE_SQL), state + 100);
    CHECK_INT(post_json("POST", path, ACCT_OWNER, "k-stream-1", b), 201);
    CHECK_STR(api.rep.body, first);
    CHECK_INT(count_rows(STATE_SQL), state + 100);
    post_json("POST", path, ACCT_OWNER, "k-stream-1", "{\"title\":\"Twice\",\"access\":{}}");
    check_problem(422, "same key, other body");
    /* The same key on another path is another request too. */
    post_json("POST", "/v1/creators", ACCT_OWNER, "k-stream-1", b);
    check_problem(422, "same key, other path");
    /* A stored 403 is replayed as well; keys are per signed-in address. */
    post_json("POST", path, ACCT_STRANGER, "k-stream-1", b);
    check_problem(403, "stranger, own key space");
    post_json("POST", path, ACCT_OWNER, "bad key with spaces", b);
    check_problem(400, "malformed key");
    /* Splits: replay gives the same version. */
    char spath[PATH_BYTES];
    snprintf(spath, sizeof spath, "/v1/creators/%s/splits", creator);
    CHECK_INT(post_json("PUT", spath, ACCT_OWNER, "k-split-1", split5), 201);
    snprintf(first, sizeof first, "%.4095s", api.rep.body);
    CHECK_INT(post_json("PUT", spath, ACCT_OWNER, "k-split-1", split5), 201);
    CHECK_STR(api.rep.body, first);
    CHECK_INT(count_rows(STATE_SQL), state + 100 + 10000);
}

struct racer {
    pthread_t t;
    long status;
    char body[512];
};

static void *race_main(void *arg)
{
    struct racer *r = arg;
    char url[128], auth[TOKEN_TEXT_SIZE + 32];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/v1/creators", (unsigned)st_port);
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", api.tokens[ACCT_OWNER]);
    CURL *c = curl_easy_init();
    ASSERT(c != NULL);
    struct curl_slist *h = curl_slist_append(NULL, auth);
    h = curl_slist_append(h, "Idempotency-Key: race-1");
    struct api_reply *rp = calloc(1, sizeof *rp);
    ASSERT(rp != NULL);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, "{\"name\":\"Racer\"}");
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, api_on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, rp);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 15000L);
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    snprintf(r->body, sizeof r->body, "%.511s", rp->body);
    free(rp);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    return NULL;
}

static void test_idempotency_concurrent(void)
{
    static struct racer racers[RACERS];
    long before = count_rows("SELECT count(*) FROM creators WHERE name = 'Racer'");
    for (size_t i = 0; i < RACERS; i++)
        ASSERT(pthread_create(&racers[i].t, NULL, race_main, &racers[i]) == 0);
    for (size_t i = 0; i < RACERS; i++)
        pthread_join(racers[i].t, NULL);
    for (size_t i = 0; i < RACERS; i++) {
        CHECK_INT(racers[i].status, 201);
        CHECK_STR(racers[i].body, racers[0].body);
    }
    CHECK_INT(count_rows("SELECT count(*) FROM creators WHERE name = 'Racer'"), before + 1);
}

static void test_chain_health_metrics(void)
{
    uint64_t h = chain_head(&chain);
    CHECK_INT(api_request(&api, "GET", "/v1/chain", NULL, NULL, 0), 200);
    json_t *j = api_reply_json(&api);
    CHECK_INT(json_integer_value(json_object_get(j, "chain_id")), 31337);
    CHECK_STR(api_str_at(j, "vault"), vault_text);
    CHECK(json_is_null(json_object_get(j, "operator")));
    /* the worker indexes VAULT_ADDRESS: null before its first poll, then at most the head */
    json_t *indexed = json_object_get(j, "indexed_block");
    CHECK(json_is_null(indexed) ||
          (json_is_integer(indexed) && json_integer_value(indexed) >= 0 &&
           json_integer_value(indexed) <= json_integer_value(json_object_get(j, "head_block"))));
    CHECK_INT(json_integer_value(json_object_get(j, "confirmations")), 6);
    CHECK((uint64_t)json_integer_value(json_object_get(j, "head_block")) >= h);
    json_decref(j);
    CHECK_INT(api_request(&api, "GET", "/healthz", NULL, NULL, 0), 200);
    j = api_reply_json(&api);
    CHECK_STR(api_str_at(j, "status"), "ok");
    json_decref(j);
    CHECK_INT(api_request(&api, "GET", "/metrics", NULL, NULL, 0), 200);
    CHECK(strstr(api.rep.body, "settlement_idempotent_replays_total") != NULL);
    CHECK(strstr(api.rep.body, "auth_signins_total") != NULL);
    api_request(&api, "DELETE", "/v1/creators", NULL, NULL, 0);
    check_problem(405, "wrong method");
}

/* ---- GET /v1/creators ---------------------------------------------------------------- */

struct listed {
    char id[IDS_UUID_SIZE], owner[ADDRESS_TEXT_SIZE], name[64], created_at[32];
};

/* Every creator of the database in id order; the count, or -1. */
static int db_creators(struct listed *out, size_t cap)
{
    PGresult *res = NULL;
    int n = -1;
    if (pg_exec(&fresh.session, &res,
                "SELECT id::text, encode(owner, 'hex'), name, to_char(created_at AT TIME ZONE "
                "'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') FROM creators ORDER BY id",
                NULL, 0, NULL) == PG_OK &&
        (size_t)PQntuples(res) <= cap) {
        n = PQntuples(res);
        for (int i = 0; i < n; i++) {
            struct address a;
            const char *hex = PQgetvalue(res, i, 1);
            ASSERT(hex_decode_exact(a.bytes, ADDRESS_BYTES, hex, strlen(hex), NULL) == HEX_OK);
            snprintf(out[i].id, sizeof out[i].id, "%s", PQgetvalue(res, i, 0));
            address_format_checksum(out[i].owner, &a);
            snprintf(out[i].name, sizeof out[i].name, "%s", PQgetvalue(res, i, 2));
            snprintf(out[i].created_at, sizeof out[i].created_at, "%s", PQgetvalue(res, i, 3));
        }
    }
    PQclear(res);
    return n;
}

/* One listed creator is exactly `want` (its five fields, the key keccak256(id)). */
static void check_listed(const json_t *item, const struct listed *want)
{
    uint8_t key[32];
    char key_hex[67];
    ids_key_of(key, want->id);
    ASSERT(hex_encode_0x(key_hex, sizeof key_hex, key, 32) == 0);
    CHECK_INT(json_object_size(item), 5);
    CHECK_STR(api_str_at(item, "id"), want->id);
    CHECK_STR(api_str_at(item, "owner"), want->owner);
    CHECK_STR(api_str_at(item, "name"), want->name);
    CHECK_STR(api_str_at(item, "creator_key"), key_hex);
    CHECK_STR(api_str_at(item, "created_at"), want->created_at);
}

/* GET /v1/creators page by page with `limit` (0: none given) and
 * `token` (NULL: no session); every listed item is appended to `all`.
 * Every page but the last is full and its next_cursor is its last id; the
 * last has next_cursor null. mid() runs after the first page (NULL:
 * nothing). Returns the number of pages, or -1 when a page is wrong. */
static int walk_creators(json_t *all, unsigned limit, const char *token, void (*mid)(void))
{
    char path[PATH_BYTES], cursor[IDS_UUID_SIZE] = "";
    size_t page_max = limit == 0 ? ST_CREATORS_LIMIT_DEFAULT : limit;
    for (int page = 0; page < LIST_PAGES; page++) {
        int len = snprintf(path, sizeof path, "/v1/creators");
        if (limit != 0)
            len += snprintf(path + len, sizeof path - (size_t)len, "?limit=%u", limit);
        if (page > 0)
            snprintf(path + len, sizeof path - (size_t)len, "%scursor=%s", limit ? "&" : "?",
                     cursor);
        long status = api_request(&api, "GET", path, token, NULL, 0);
        json_t *j = api_reply_json(&api);
        json_t *list = json_object_get(j, "creators");
        const json_t *next = json_object_get(j, "next_cursor");
        size_t n = json_array_size(list);
        bool last = json_is_null(next);
        bool ok = status == 200 && json_is_array(list) && json_object_size(j) == 2 &&
                  (last || (json_is_string(next) && n == page_max &&
                            strcmp(json_string_value(next),
                                   api_str_at(json_array_get(list, n - 1), "id")) == 0)) &&
                  n <= page_max && json_array_extend(all, list) == 0;
        CHECK_MSG(ok, "%s: %ld %s", path, status, api.rep.body);
        CHECK_STR(api.rep.content_type, "application/json");
        if (ok && !last)
            snprintf(cursor, sizeof cursor, "%s", json_string_value(next));
        json_decref(j);
        if (!ok)
            return -1;
        if (last)
            return page + 1;
        if (page == 0 && mid != NULL)
            mid();
    }
    CHECK_MSG(false, "more than %d pages", LIST_PAGES);
    return -1;
}

/* A walk with `limit` lists exactly the database's creators, in id order,
 * in `pages` pages. */
static void check_walk(unsigned limit, const char *token, int pages)
{
    static struct listed want[LIST_MAX];
    int n = db_creators(want, LIST_MAX);
    json_t *all = json_array();
    ASSERT(all != NULL);
    int got_pages = walk_creators(all, limit, token, NULL);
    CHECK_MSG(n > 0 && json_array_size(all) == (size_t)n && got_pages == pages,
              "limit %u: %zu listed in %d pages, %d in the database (%d pages)", limit,
              json_array_size(all), got_pages, n, pages);
    for (size_t i = 0; n > 0 && i < json_array_size(all) && i < (size_t)n; i++)
        check_listed(json_array_get(all, i), &want[i]);
    json_decref(all);
}

/* Made during a walk (walk_creators' mid). */
static void make_creator_mid_walk(void)
{
    CHECK_INT(post_json("POST", "/v1/creators", ACCT_STRANGER, NULL, "{\"name\":\"Mid walk\"}"),
              201);
}

static void test_creator_list(void)
{
    for (int i = 0; i < LIST_EXTRA; i++) {
        char body[64];
        snprintf(body, sizeof body, "{\"name\":\"Listed %d\"}", i);
        CHECK_INT(post_json("POST", "/v1/creators", i % 2 ? ACCT_STRANGER : ACCT_OWNER, NULL, body),
                  201);
    }
    long total = count_rows("SELECT count(*) FROM creators");
    CHECK_MSG(total >= LIST_EXTRA + 2 && total < LIST_MAX, "%ld creators", total);
    int t = (int)total;
    check_walk(1, NULL, t);
    check_walk(2, NULL, (t + 1) / 2);
    check_walk(5, api.tokens[ACCT_STRANGER], (t + 4) / 5);
    check_walk((unsigned)t, NULL, 1); /* exactly one full page: no empty page after it */
    check_walk((unsigned)t - 1, NULL, 2);
    check_walk(ST_CREATORS_LIMIT_MAX, NULL, 1);
    check_walk(0, NULL, 1); /* the default, 100 */

    /* A creator made during a walk: every earlier one exactly once, in order. */
    static struct listed before[LIST_MAX];
    int n = db_creators(before, LIST_MAX);
    json_t *all = json_array();
    ASSERT(all != NULL);
    CHECK(walk_creators(all, 3, NULL, make_creator_mid_walk) > 1);
    CHECK_INT(count_rows("SELECT count(*) FROM creators"), total + 1);
    size_t k = 0;
    for (size_t i = 0; i < json_array_size(all); i++) {
        const char *id = api_str_at(json_array_get(all, i), "id");
        CHECK(id != NULL &&
              (i == 0 || strcmp(api_str_at(json_array_get(all, i - 1), "id"), id) < 0));
        if (id != NULL && (int)k < n && strcmp(id, before[k].id) == 0)
            k++;
    }
    CHECK_MSG((int)k == n && json_array_size(all) <= (size_t)n + 1,
              "%zu of %d earlier listed, %zu in all", k, n, json_array_size(all));
    json_decref(all);

    /* A cursor after every id: an empty last page. */
    CHECK_INT(api_request(&api, "GET", "/v1/creators?cursor=ffffffff-ffff-ffff-ffff-ffffffffffff",
                          NULL, NULL, 0),
              200);
    CHECK_STR(api.rep.body, "{\"creators\":[],\"next_cursor\":null}");
    /* Empty values count as absent. */
    CHECK_INT(api_request(&api, "GET", "/v1/creators?limit=&cursor=", NULL, NULL, 0), 200);
    json_t *j = api_reply_json(&api);
    CHECK_INT(json_array_size(json_object_get(j, "creators")), total + 1);
    json_decref(j);
}

static void test_creator_list_bad_inputs(void)
{
    long state = count_rows(STATE_SQL);
    static const struct {
        const char *query, *detail; /* detail: the parameter the problem names */
    } bad[] = {
        {"limit=0", "limit"},
        {"limit=501", "limit"},
        {"limit=-1", "limit"},
        {"limit=01", "limit"},
        {"limit=1x", "limit"},
        {"limit=%201", "limit"},
        {"limit=99999999999999999999999", "limit"},
        {"cursor=zz", "cursor"},
        {"cursor=1", "cursor"},
        {"cursor=4C1E2A3B-5D6F-4A7B-8C9D-0E1F2A3B4C5D", "cursor"},
        {"cursor=4c1e2a3b5d6f4a7b8c9d0e1f2a3b4c5d", "cursor"},
        {"cursor=4c1e2a3b-5d6f-4a7b-8c9d-0e1f2a3b4c5d0", "cursor"},
        {"limit=2&cursor=x", "cursor"},
        {"limit=0&cursor=4c1e2a3b-5d6f-4a7b-8c9d-0e1f2a3b4c5d", "limit"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char path[PATH_BYTES];
        snprintf(path, sizeof path, "/v1/creators?%s", bad[i].query);
        api_request(&api, "GET", path, NULL, NULL, 0);
        check_problem(400, bad[i].query);
        CHECK_MSG(strstr(api.rep.body, bad[i].detail) != NULL, "%s: %s", bad[i].query,
                  api.rep.body);
    }
    CHECK_INT(count_rows(STATE_SQL), state);
}

static bool ready; /* test_setup passed: the other tests may run */

static void test_setup(void)
{
    ready = pg_fixture_init("st_api") && api_db_create(&fresh, "st_api") && load_config() &&
            start_services();
    CHECK(ready);
}

int main(void)
{
    if (!api_chain_open(&chain))
        return 1;
    RUN(test_setup);
    if (ready) {
        RUN(test_signin);
        RUN(test_gateway_session_works_here);
        RUN(test_creator_create_and_get);
        RUN(test_creator_bad_inputs);
        RUN(test_splits);
        RUN(test_splits_bad_inputs);
        RUN(test_streams);
        RUN(test_streams_bad_inputs);
        RUN(test_idempotency);
        RUN(test_idempotency_concurrent);
        RUN(test_creator_list);
        RUN(test_creator_list_bad_inputs);
        RUN(test_chain_health_metrics);
    }
    gw_stop(&gw);
    st_stop(&st);
    if (svc_log != NULL)
        fclose(svc_log);
    api_db_drop(&fresh);
    chain_close(&chain);
    (void)missing;
    return harness_finish();
}
