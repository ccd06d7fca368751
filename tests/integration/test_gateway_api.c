/*
 * test_gateway_api.c - a real gateway (server.h: gw_open/gw_start on
 * 127.0.0.1:0, in this process) against the runner's PostgreSQL and anvil,
 * driven over HTTP with libcurl:
 *   - SIWE sign-in through GET /v1/auth/nonce and POST /v1/auth/siwe with
 *     EIP-4361 messages built here and signed (EIP-191) with anvil keys:
 *     every refusal has its exact status, issues no session and leaves the
 *     nonce unused; a used, unknown or expired nonce is 401;
 *   - GET /v1/streams/{id} (shape), GET /v1/streams/{id}/access (401, 402
 *     with the requirements, 200 by pass, tip or owner) and POST
 *     /v1/streams/{id}/tips (credited at once from the receipt, once);
 *   - the chain follower (chainwatch.c): a tip without POST shows up, a sold
 *     pass stops counting, a reorg takes a tip back (also one that happened
 *     while the follower was stopped), a reorg deeper than the window halts
 *     it (healthz degraded);
 *   - /healthz (also "starting", ok, before the follower's first cycle)
 *     and /metrics; every database session killed (as by a PostgreSQL
 *     restart): served again, no tip lost; and a second gateway whose RPC
 *     is a closed port: degraded, owners and tippers still served, an
 *     uncached pass holder 503 with Retry-After, never 200.
 *
 * The follower is stopped and started again by hand (follower_pause and
 * follower_resume, as gw_stop/gw_start do) where a test needs the POST to
 * be the only writer, or a reorg to happen while it is stopped.
 *
 * Environment: DATABASE_URL (a fresh database gw_api_<pid> is created
 * beside it, migrated, and dropped at the end), ETH_RPC_URL (anvil 31337),
 * TEST_TMPDIR (auth secret, media dir and the gateway's log), run from the
 * repository root. The whole program runs inside one evm_snapshot reverted
 * at the end; the reorg tests revert their own. Account 9 is never used.
 *
 * Accounts: 0 deploys (admin), 1 tips and is reorged away, 2 buys the pass
 * and sells it to 4, 3 tips with POST, 5 owns the creator (and tips 5 wei),
 * 6 tips below the minimum without POST, 7 has nothing.
 */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "api_client.h"
#include "clock.h"
#include "follow.h"
#include "ids.h"
#include "pg_fixture.h"
#include "server.h"
#include "siwe.h"
#include "vault_fixture.h"

#define ACCT_REORG_TIPPER 1
#define ACCT_SELLER ACCT_FAN
#define ACCT_TIPPER 3
#define ACCT_BUYER 4
#define ACCT_OWNER 5
#define ACCT_LOW_TIPPER 6
#define ACCT_NOBODY 7
#define TIP_MIN_WEI 1000
#define WAIT_MS_MAX 20000
#define WAIT_STEP_MS 100
#define DOMAIN "localhost:8080"
#define PATH_BYTES 512

static struct gw_server gw, gw_down;
static struct app_config cfg;
static struct api_client api = {.siwe_domain = DOMAIN, .chain = &chain}; /* .port set later */
static struct api_db fresh;
static char dir[PATH_BYTES];
static FILE *gw_log;
static struct address vault, pass;
static const char creator[] = "4c1e2a3b-5d6f-4a7b-8c9d-0e1f2a3b4c5d";
static const char stream[] = "8d9e0f1a-2b3c-4d5e-9f6a-7b8c9d0e1f2a";
static const char stream_free[] = "9e0f1a2b-3c4d-4e5f-8a6b-7c8d9e0f1a2b"; /* no tip rule, no pass */
static const char missing[] = "00000000-0000-4000-8000-000000000000";

/* ---- database ---------------------------------------------------------------------- */

static bool db_exec(const char *sql, const char *const *params, int n)
{
    struct err e = {0};
    bool ok = pg_exec(&fresh.session, NULL, sql, params, n, &e) == PG_OK;
    CHECK_MSG(ok, "%s", e.msg);
    return ok;
}

/* The single value of a one-parameter query, "" when there is none. */
static const char *db_value(const char *sql, const char *param)
{
    static char out[256];
    PGresult *res = NULL;
    out[0] = '\0';
    if (pg_exec(&fresh.session, &res, sql, &param, 1, NULL) == PG_OK && PQntuples(res) == 1)
        snprintf(out, sizeof out, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    return out;
}

/* The creator (owner: account 5), its pass, the gated stream (pass or 1000
 * wei of tips) and a free-form stream with neither rule. */
static bool seed_rows(void)
{
    uint8_t ckey[32], skey[32], fkey[32], khash[32] = {1};
    ids_key_of(ckey, creator);
    ids_key_of(skey, stream);
    ids_key_of(fkey, stream_free);
    char owner[PG_BYTEA_TEXT_SIZE], contract[PG_BYTEA_TEXT_SIZE], ck[PG_BYTEA_TEXT_SIZE],
        sk[PG_BYTEA_TEXT_SIZE], fk[PG_BYTEA_TEXT_SIZE], kh[PG_BYTEA_TEXT_SIZE];
    pg_bytea_text(owner, chain.addr[ACCT_OWNER].bytes, 20);
    pg_bytea_text(contract, pass.bytes, 20);
    pg_bytea_text(ck, ckey, 32);
    pg_bytea_text(sk, skey, 32);
    pg_bytea_text(fk, fkey, 32);
    pg_bytea_text(kh, khash, 32);
    const char *c[3] = {creator, owner, ck}, *p[2] = {contract, creator};
    const char *s[4] = {stream, creator, sk, kh}, *f[4] = {stream_free, creator, fk, kh};
    const char *sp[2] = {stream, contract};
    return db_exec("INSERT INTO creators (id, owner, creator_key, name) "
                   "VALUES ($1, $2::bytea, $3::bytea, 'Creator')",
                   c, 3) &&
           db_exec("INSERT INTO passes (contract, creator_id, name, symbol, price_wei, max_supply, "
                   "royalty_bps) VALUES ($1::bytea, $2, 'Pass', 'P', 25000000000000007, 10, 500)",
                   p, 2) &&
           db_exec("INSERT INTO streams (id, creator_id, stream_key, title, tip_min_wei, "
                   "ingest_key_hash) VALUES ($1, $2, $3::bytea, 'Live', " MACRO_TEXT(
                       TIP_MIN_WEI) ", $4::bytea)",
                   s, 4) &&
           db_exec("INSERT INTO streams (id, creator_id, stream_key, title, ingest_key_hash) "
                   "VALUES ($1, $2, $3::bytea, 'Free', $4::bytea)",
                   f, 4) &&
           db_exec("INSERT INTO stream_passes (stream_id, contract, min_balance) "
                   "VALUES ($1, $2::bytea, 1)",
                   sp, 2);
}

/* ---- gateway ----------------------------------------------------------------------- */

/* cfg from the environment the gateway would get, listening on port 0. */
static bool load_config(void)
{
    char secret[PATH_BYTES + 16], addr[ADDRESS_TEXT_SIZE];
    if (!api_make_dir(dir, sizeof dir, "gw_api", secret, sizeof secret, "gateway.log", "gateway",
                      &gw_log))
        return false;
    address_format_checksum(addr, &vault);
    if (!api_load_config(&cfg, fresh.url, addr, secret, dir, DOMAIN, NULL))
        return false;
    snprintf(cfg.gateway_listen, sizeof cfg.gateway_listen, "127.0.0.1:0");
    return true;
}

static bool start_gateway(struct gw_server *s, const struct app_config *c)
{
    struct err e = {0};
    if (!gw_open(s, c, gw_log, &e) || !gw_start(s, &e)) {
        printf("# gateway: %s\n", e.msg);
        gw_stop(s);
        return false;
    }
    api.port = http_server_port(s->http);
    return true;
}

/* Stops the follower thread of `gw` (as gw_stop does) / starts a new one,
 * which resumes from the stored cursor. */
static void follower_pause(void)
{
    __atomic_store_n(&gw.follower_stop, 1, __ATOMIC_RELEASE);
    pthread_join(gw.follower, NULL);
    gw.follower_running = false;
}

static void follower_resume(void)
{
    __atomic_store_n(&gw.follower_stop, 0, __ATOMIC_RELEASE);
    ASSERT(pthread_create(&gw.follower, NULL, gw_chainwatch_main, &gw) == 0);
    gw.follower_running = true;
}

/* ---- chain ------------------------------------------------------------------------- */

static json_t *rpc(const char *method, json_t *params)
{
    json_t *res = NULL;
    struct err e = {0};
    CHECK_MSG(rpc_call(&chain.rpc, method, params, &res, &e) == RPC_OK, "%s: %s", method, e.msg);
    return res;
}

static void snapshot(char id[32])
{
    json_t *res = rpc("evm_snapshot", NULL);
    snprintf(id, 32, "%s", json_string_value(res) != NULL ? json_string_value(res) : "");
    json_decref(res);
}

static void revert_to(const char *id)
{
    json_t *res = rpc("evm_revert", json_pack("[s]", id));
    CHECK_MSG(json_is_true(res), "evm_revert %s", id);
    json_decref(res);
}

static void mine(unsigned blocks)
{
    char count[24];
    snprintf(count, sizeof count, "0x%x", blocks);
    json_decref(rpc("anvil_mine", json_pack("[s]", count)));
}

static uint64_t head(void)
{
    uint64_t n = 0;
    CHECK(rpc_block_number(&chain.rpc, &n, NULL) == RPC_OK);
    return n;
}

/* vault.tip(creatorKey, streamKey) of the gated stream from `acct`. */
static bool send_tip(uint8_t tx_hash[32], size_t acct, uint64_t amount_wei)
{
    uint8_t ckey[32], skey[32];
    ids_key_of(ckey, creator);
    ids_key_of(skey, stream);
    struct abi_value args[2] = {abi_value_bytes32(ckey), abi_value_bytes32(skey)};
    struct txsend_outcome o;
    enum txsend_result r = send_call(&o, acct, &vault, amount_wei, "tip(bytes32,bytes32)", args, 2);
    CHECK_INT(r, TXSEND_OK);
    if (r == TXSEND_OK)
        memcpy(tx_hash, o.receipt.transaction_hash, 32);
    txsend_outcome_release(&o);
    return r == TXSEND_OK;
}

/* ---- sign-in ----------------------------------------------------------------------- */

/* The last reply is the refusal `status`: problem+json, no session. */
static void check_refused(long status, const char *what)
{
    json_t *j = api_reply_json(&api);
    CHECK_MSG(api.rep.status == status, "%s: %ld, expected %ld: %s", what, api.rep.status, status,
              api.rep.body);
    CHECK_MSG(strncmp(api.rep.content_type, "application/problem+json", 24) == 0, "%s: type %s",
              what, api.rep.content_type);
    CHECK_MSG(j != NULL && json_object_get(j, "token") == NULL, "%s: %s", what, api.rep.body);
    json_decref(j);
}

static void test_signin_and_nonce_single_use(void)
{
    static const size_t accts[] = {ACCT_REORG_TIPPER, ACCT_SELLER,     ACCT_TIPPER, ACCT_BUYER,
                                   ACCT_OWNER,        ACCT_LOW_TIPPER, ACCT_NOBODY};
    for (size_t i = 0; i < sizeof accts / sizeof accts[0]; i++)
        CHECK(api_sign_in(&api, accts[i]));
    char nonce[API_NONCE_SIZE], text[API_TEXT_BYTES], sig[API_SIG_HEX_SIZE];
    uint8_t raw[SIG_BYTES];
    if (!api_get_nonce(&api, nonce))
        return;
    api_siwe_text(text, DOMAIN, &chain.addr[ACCT_NOBODY], CHAIN_ID_ANVIL, nonce, "\n");
    api_sign_text(&api, sig, raw, text, ACCT_NOBODY);
    CHECK_INT(api_post_siwe(&api, text, sig), 200);
    CHECK_INT(api_post_siwe(&api, text, sig), 401); /* the same message again */
    check_refused(401, "used nonce");
    CHECK_STR(db_value("SELECT used_at IS NOT NULL FROM auth_nonces WHERE nonce = $1", nonce), "t");
    api_siwe_text(text, DOMAIN, &chain.addr[ACCT_NOBODY], CHAIN_ID_ANVIL, "abcdef0123456789", "\n");
    api_sign_text(&api, sig, raw, text, ACCT_NOBODY);
    api_post_siwe(&api, text, sig);
    check_refused(401, "unknown nonce");
    if (!api_get_nonce(&api, nonce))
        return;
    CHECK(db_exec("UPDATE auth_nonces SET created_at = now() - interval '20 minutes', "
                  "expires_at = now() - interval '10 minutes' WHERE nonce = $1",
                  (const char *const[]){nonce}, 1));
    api_siwe_text(text, DOMAIN, &chain.addr[ACCT_NOBODY], CHAIN_ID_ANVIL, nonce, "\n");
    api_sign_text(&api, sig, raw, text, ACCT_NOBODY);
    api_post_siwe(&api, text, sig);
    check_refused(401, "expired nonce");
}

/* Signs `text` by `acct`, refused with `status`: the message and the
 * signature are those of a valid sign-in but for what `what` names. */
static void check_refused_text(const char *text, size_t acct, long status, const char *what)
{
    char sig[API_SIG_HEX_SIZE];
    uint8_t raw[SIG_BYTES];
    api_sign_text(&api, sig, raw, text, acct);
    api_post_siwe(&api, text, sig);
    check_refused(status, what);
}

/* Malformed signatures of a valid message: 64 bytes, v 29, high s. */
static void check_refused_signatures(const char *text)
{
    static const uint8_t n[32] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                  0xff, 0xff, 0xff, 0xff, 0xfe, 0xba, 0xae, 0xdc, 0xe6, 0xaf, 0x48,
                                  0xa0, 0x3b, 0xbf, 0xd2, 0x5e, 0x8c, 0xd0, 0x36, 0x41, 0x41};
    char sig[API_SIG_HEX_SIZE];
    uint8_t raw[SIG_BYTES];
    api_sign_text(&api, sig, raw, text, ACCT_NOBODY);
    sig[API_SIG_HEX_SIZE - 3] = '\0'; /* 64 bytes */
    api_post_siwe(&api, text, sig);
    check_refused(400, "short signature");
    raw[64] = 29;
    ASSERT(hex_encode_0x(sig, sizeof sig, raw, SIG_BYTES) == 0);
    api_post_siwe(&api, text, sig);
    check_refused(400, "v 29");
    /* high s: s' = n - s with the other v recovers the same key */
    api_sign_text(&api, sig, raw, text, ACCT_NOBODY);
    struct u256 order = u256_from_be32(n), s = u256_from_be32(raw + 32), high;
    ASSERT(u256_sub(&high, &order, &s) == U256_OK);
    u256_to_be32(raw + 32, &high);
    raw[64] = raw[64] == 27 ? 28 : 27;
    ASSERT(hex_encode_0x(sig, sizeof sig, raw, SIG_BYTES) == 0);
    api_post_siwe(&api, text, sig);
    check_refused(400, "high s");
}

/* Each bad message or signature with one nonce: refused, nothing issued,
 * and the nonce is still unused (a good sign-in with it works after). */
static void test_signin_refusals(void)
{
    char nonce[API_NONCE_SIZE], text[API_TEXT_BYTES], sig[API_SIG_HEX_SIZE];
    uint8_t raw[SIG_BYTES];
    const struct address *me = &chain.addr[ACCT_NOBODY];
    int64_t denied = http_metric_value(gw.g.auth.signins_denied);
    if (!api_get_nonce(&api, nonce))
        return;
    api_siwe_text(text, "evil.example:8080", me, CHAIN_ID_ANVIL, nonce, "\n");
    check_refused_text(text, ACCT_NOBODY, 401, "wrong domain");
    api_siwe_text(text, DOMAIN, me, 1, nonce, "\n");
    check_refused_text(text, ACCT_NOBODY, 401, "wrong chain id");
    api_siwe_text(text, DOMAIN, me, CHAIN_ID_ANVIL, nonce, "\r\n");
    check_refused_text(text, ACCT_NOBODY, 400, "crlf");
    api_siwe_text(text, DOMAIN, me, CHAIN_ID_ANVIL, nonce, "\n");
    check_refused_text(text, ACCT_LOW_TIPPER, 401, "signer mismatch");
    check_refused_signatures(text);
    CHECK_INT(http_metric_value(gw.g.auth.signins_denied), denied + 7);
    CHECK_STR(db_value("SELECT used_at IS NULL FROM auth_nonces WHERE nonce = $1", nonce), "t");
    api_sign_text(&api, sig, raw, text, ACCT_NOBODY);
    CHECK_INT(api_post_siwe(&api, text, sig), 200);
}

static void test_signin_bad_bodies(void)
{
    static char big[AUTH_BODY_BYTES_MAX + 64];
    static const char malformed[] = "{\"message\": \"x\", ";
    static const char unknown[] = "{\"message\": \"x\", \"signature\": \"0x00\", \"extra\": 1}";
    static const char missing_sig[] = "{\"message\": \"x\"}";
    api_request(&api, "POST", "/v1/auth/siwe", NULL, malformed, strlen(malformed));
    check_refused(400, "malformed json");
    api_request(&api, "POST", "/v1/auth/siwe", NULL, unknown, strlen(unknown));
    check_refused(422, "unknown field");
    api_request(&api, "POST", "/v1/auth/siwe", NULL, missing_sig, strlen(missing_sig));
    check_refused(422, "missing field");
    memset(big, ' ', sizeof big);
    memcpy(big, "{\"message\": \"", 13);
    api_request(&api, "POST", "/v1/auth/siwe", NULL, big, sizeof big);
    CHECK_INT(api.rep.status, 413);
    CHECK(strstr(api.rep.body, "\"token\"") == NULL);
}

/* ---- streams and access ------------------------------------------------------------ */

static void check_key(const json_t *j, const char *key, const char *id)
{
    uint8_t k[32];
    char want[2 + 64 + 1];
    ids_key_of(k, id);
    ASSERT(hex_encode_0x(want, sizeof want, k, 32) == 0);
    CHECK_STR(api_str_at(j, key), want);
}

static void check_address(const json_t *j, const char *key, const struct address *a)
{
    char want[ADDRESS_TEXT_SIZE];
    address_format_checksum(want, a);
    CHECK_STR(api_str_at(j, key), want);
}

static void test_stream_shape(void)
{
    char path[PATH_BYTES];
    snprintf(path, sizeof path, "/v1/streams/%s", stream);
    CHECK_INT(api_request(&api, "GET", path, NULL, NULL, 0), 200);
    json_t *j = api_reply_json(&api), *access = json_object_get(j, "access");
    json_t *rule = json_array_get(json_object_get(access, "passes"), 0);
    CHECK_STR(api_str_at(j, "id"), stream);
    CHECK_STR(api_str_at(j, "creator_id"), creator);
    CHECK_STR(api_str_at(j, "title"), "Live");
    CHECK_STR(api_str_at(j, "status"), "created");
    check_key(j, "creator_key", creator);
    check_key(j, "stream_key", stream);
    CHECK_INT(json_array_size(json_object_get(access, "passes")), 1);
    check_address(rule, "contract", &pass);
    CHECK_STR(api_str_at(rule, "min_balance"), "1");
    CHECK_STR(api_str_at(rule, "price_wei"), "25000000000000007");
    CHECK_STR(api_str_at(access, "tip_min_wei"), MACRO_TEXT(TIP_MIN_WEI));
    check_address(access, "vault", &vault);
    json_decref(j);
    snprintf(path, sizeof path, "/v1/streams/%s", stream_free);
    CHECK_INT(api_request(&api, "GET", path, NULL, NULL, 0), 200);
    j = api_reply_json(&api);
    access = json_object_get(j, "access");
    CHECK(json_is_null(json_object_get(access, "tip_min_wei")));
    CHECK_INT(json_array_size(json_object_get(access, "passes")), 0);
    json_decref(j);
    static const char *const bad[] = {missing, "not-a-uuid",
                                      "8D9E0F1A-2B3C-4D5E-9F6A-7B8C9D0E1F2A"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(path, sizeof path, "/v1/streams/%s", bad[i]);
        api_request(&api, "GET", path, NULL, NULL, 0);
        check_refused(404, bad[i]);
    }
}

/* GET access of the gated stream as `acct` (NULL token: none). */
static long get_access(const char *token)
{
    char path[PATH_BYTES];
    snprintf(path, sizeof path, "/v1/streams/%s/access", stream);
    return api_request(&api, "GET", path, token, NULL, 0);
}

/* tipped_wei of an access reply (200 or 402), "" when absent. */
static const char *reply_tipped(void)
{
    static char out[U256_DEC_SIZE];
    json_t *j = api_reply_json(&api);
    const json_t *where = api.rep.status == 402 ? json_object_get(j, "requirements") : j;
    snprintf(out, sizeof out, "%s",
             api_str_at(where, "tipped_wei") != NULL ? api_str_at(where, "tipped_wei") : "");
    json_decref(j);
    return out;
}

/* A 200 access reply names `via` and a playback URL of the stream. */
static void check_allowed(const char *via)
{
    char prefix[PATH_BYTES];
    json_t *j = api_reply_json(&api);
    snprintf(prefix, sizeof prefix, "/hls/%s/master.m3u8?token=p1.%s.", stream, stream);
    CHECK_MSG(api.rep.status == 200, "%ld %s", api.rep.status, api.rep.body);
    CHECK(json_is_true(json_object_get(j, "allowed")));
    CHECK_STR(api_str_at(j, "via"), via);
    const char *url = api_str_at(j, "playback_url");
    CHECK_MSG(url != NULL && strncmp(url, prefix, strlen(prefix)) == 0, "%s", api.rep.body);
    CHECK(api_str_at(j, "expires_at") != NULL && strlen(api_str_at(j, "expires_at")) == 20);
    json_decref(j);
}

static void test_access_gates(void)
{
    get_access(NULL);
    check_refused(401, "no token");
    get_access("s1.0000000000000000000000000000000000000000.99999999999.00");
    check_refused(401, "bad token");
    get_access(api.tokens[ACCT_NOBODY]);
    check_refused(402, "nothing held");
    json_t *j = api_reply_json(&api), *req = json_object_get(j, "requirements");
    CHECK(json_is_false(json_object_get(j, "allowed")));
    CHECK_INT(json_array_size(json_object_get(req, "passes")), 1);
    check_address(json_array_get(json_object_get(req, "passes"), 0), "contract", &pass);
    CHECK_STR(api_str_at(req, "tip_min_wei"), MACRO_TEXT(TIP_MIN_WEI));
    CHECK_STR(api_str_at(req, "tipped_wei"), "0");
    check_address(req, "vault", &vault);
    check_key(req, "creator_key", creator);
    check_key(req, "stream_key", stream);
    json_decref(j);
    get_access(api.tokens[ACCT_SELLER]);
    check_allowed("pass");
    get_access(api.tokens[ACCT_OWNER]);
    check_allowed("owner");
}

/* ---- tips -------------------------------------------------------------------------- */

/* Waits until the metric is at least `at_least`; false after WAIT_MS_MAX. */
static bool wait_metric(const struct http_metric *m, int64_t at_least)
{
    for (uint64_t t0 = clock_now_ms(); clock_now_ms() - t0 < WAIT_MS_MAX;) {
        if (http_metric_value(m) >= at_least)
            return true;
        clock_sleep_ms(WAIT_STEP_MS);
    }
    return false;
}

static long post_tip(size_t acct, const uint8_t tx_hash[32])
{
    char path[PATH_BYTES], hex[2 + 64 + 1], body[128];
    snprintf(path, sizeof path, "/v1/streams/%s/tips", stream);
    ASSERT(hex_encode_0x(hex, sizeof hex, tx_hash, 32) == 0);
    snprintf(body, sizeof body, "{\"tx_hash\": \"%s\"}", hex);
    return api_request(&api, "POST", path, api.tokens[acct], body, strlen(body));
}

static void check_credit(const char *credited, const char *total, bool allowed)
{
    json_t *j = api_reply_json(&api);
    CHECK_MSG(api.rep.status == 200, "%ld %s", api.rep.status, api.rep.body);
    CHECK_STR(api_str_at(j, "credited_wei"), credited);
    CHECK_STR(api_str_at(j, "total_wei"), total);
    CHECK(json_is_boolean(json_object_get(j, "allowed")) &&
          json_is_true(json_object_get(j, "allowed")) == allowed);
    json_decref(j);
}

/* With the follower stopped, only the POST can credit the tip: at once,
 * once. A follower started afterwards resumes from its cursor and finds
 * the same log: still counted once. */
static void test_tip_credited_from_receipt(void)
{
    uint8_t tx[32], unknown[32];
    char path[PATH_BYTES], hex[2 + 64 + 1];
    follower_pause();
    bool sent = send_tip(tx, ACCT_TIPPER, TIP_MIN_WEI);
    if (sent) {
        post_tip(ACCT_TIPPER, tx);
        check_credit(MACRO_TEXT(TIP_MIN_WEI), MACRO_TEXT(TIP_MIN_WEI), true);
        post_tip(ACCT_TIPPER, tx);
        check_credit("0", MACRO_TEXT(TIP_MIN_WEI), true);
        post_tip(ACCT_NOBODY, tx);
        check_refused(422, "someone else's tip");
        memset(unknown, 0x5a, sizeof unknown);
        post_tip(ACCT_TIPPER, unknown);
        check_refused(409, "unknown transaction");
        CHECK(api.rep.retry_after[0] != '\0');
    }
    snprintf(path, sizeof path, "/v1/streams/%s/tips", stream);
    static const char short_hash[] = "{\"tx_hash\": \"0x12\"}", cut[] = "{\"tx_hash\": ";
    api_request(&api, "POST", path, api.tokens[ACCT_TIPPER], short_hash, strlen(short_hash));
    check_refused(422, "short tx hash");
    api_request(&api, "POST", path, api.tokens[ACCT_TIPPER], cut, strlen(cut));
    check_refused(400, "malformed body");
    api_request(&api, "POST", path, NULL, "{}", 2);
    check_refused(401, "tip without session");
    follower_resume();
    if (!sent)
        return;
    get_access(api.tokens[ACCT_TIPPER]);
    check_allowed("tip");
    ASSERT(hex_encode_0x(hex, sizeof hex, tx, 32) == 0);
    /* the new follower walks past the tip's block: seen again, not counted */
    CHECK(wait_metric(gw.g.m.chain_block, (int64_t)head()));
    CHECK_STR(db_value("SELECT string_agg(source, ',') FROM tips WHERE tx_hash = "
                       "decode(substr($1, 3), 'hex')",
                       hex),
              "receipt");
    get_access(api.tokens[ACCT_TIPPER]);
    CHECK_STR(reply_tipped(), MACRO_TEXT(TIP_MIN_WEI));
}

/* Polls the access of `acct` until its status is `status` and (unless
 * NULL) tipped_wei is `tipped`; false after WAIT_MS_MAX. */
static bool wait_access(size_t acct, long status, const char *tipped)
{
    for (uint64_t t0 = clock_now_ms(); clock_now_ms() - t0 < WAIT_MS_MAX;) {
        if (get_access(api.tokens[acct]) == status &&
            (tipped == NULL || strcmp(reply_tipped(), tipped) == 0))
            return true;
        clock_sleep_ms(WAIT_STEP_MS);
    }
    CHECK_MSG(false, "account %zu: still %ld %s", acct, api.rep.status, api.rep.body);
    return false;
}

static void test_follower_credits_tip(void)
{
    uint8_t tx[32];
    char hex[2 + 64 + 1];
    if (!send_tip(tx, ACCT_LOW_TIPPER, TIP_MIN_WEI - 1))
        return;
    CHECK(wait_access(ACCT_LOW_TIPPER, 402, MACRO_TEXT(999)));
    ASSERT(hex_encode_0x(hex, sizeof hex, tx, 32) == 0);
    CHECK_STR(db_value("SELECT source FROM tips WHERE tx_hash = decode(substr($1, 3), 'hex')", hex),
              "follow");
}

static void test_sold_pass_stops_counting(void)
{
    CHECK_INT(get_access(api.tokens[ACCT_SELLER]), 200); /* cached */
    get_access(api.tokens[ACCT_BUYER]);
    check_refused(402, "buyer before");
    struct abi_value args[3] = {abi_value_address(&chain.addr[ACCT_SELLER]),
                                abi_value_address(&chain.addr[ACCT_BUYER]), abi_value_u64(1)};
    struct txsend_outcome o;
    enum txsend_result r =
        send_call(&o, ACCT_SELLER, &pass, 0, "transferFrom(address,address,uint256)", args, 3);
    txsend_outcome_release(&o);
    CHECK_INT(r, TXSEND_OK);
    CHECK(wait_access(ACCT_SELLER, 402, NULL));
    check_refused(402, "seller after");
    CHECK(wait_access(ACCT_BUYER, 200, NULL));
    check_allowed("pass");
}

/* A tip the follower credited goes away when its block is reorged out. */
static void test_reorg_forgets_tip(void)
{
    char snap[32];
    uint8_t tx[32];
    int64_t reorgs = http_metric_value(gw.g.m.chain_reorgs);
    snapshot(snap);
    if (send_tip(tx, ACCT_REORG_TIPPER, TIP_MIN_WEI) &&
        wait_access(ACCT_REORG_TIPPER, 200, MACRO_TEXT(TIP_MIN_WEI)))
        check_allowed("tip");
    revert_to(snap);
    mine(3);
    CHECK(wait_access(ACCT_REORG_TIPPER, 402, "0"));
    CHECK(http_metric_value(gw.g.m.chain_reorgs) > reorgs);
    CHECK_INT(__atomic_load_n(&gw.g.chain_halted, __ATOMIC_ACQUIRE), 0);
}

/* The cursor block is reorged away while the follower is stopped: resumed
 * with one stored hash, it cannot tell how deep, so it walks the last
 * window again: the orphaned tip goes, the others stay, no halt. */
static void test_reorg_while_stopped(void)
{
    char snap[32];
    uint8_t tx[32];
    int64_t reorgs = http_metric_value(gw.g.m.chain_reorgs);
    snapshot(snap);
    if (send_tip(tx, ACCT_REORG_TIPPER, TIP_MIN_WEI))
        CHECK(wait_access(ACCT_REORG_TIPPER, 200, MACRO_TEXT(TIP_MIN_WEI)));
    CHECK(wait_metric(gw.g.m.chain_block, (int64_t)head()));
    follower_pause(); /* its last cycle saved the cursor: the tip's block */
    revert_to(snap);
    mine(3);
    follower_resume();
    CHECK(wait_access(ACCT_REORG_TIPPER, 402, "0"));
    CHECK(wait_metric(gw.g.m.chain_reorgs, reorgs + 1));
    CHECK_INT(__atomic_load_n(&gw.g.chain_halted, __ATOMIC_ACQUIRE), 0);
    get_access(api.tokens[ACCT_TIPPER]);
    check_allowed("tip");
    get_access(api.tokens[ACCT_LOW_TIPPER]);
    CHECK_STR(reply_tipped(), MACRO_TEXT(999));
}

/* ---- operations -------------------------------------------------------------------- */

/* Whether /healthz answers 200 {status, checks: {postgres: "ok", rpc:
 * starting with rpc_check}}. */
static bool health_is(const char *status, const char *rpc_check)
{
    json_t *j =
        api_request(&api, "GET", "/healthz", NULL, NULL, 0) == 200 ? api_reply_json(&api) : NULL;
    const json_t *checks = json_object_get(j, "checks");
    const char *got = api_str_at(j, "status"), *pg = api_str_at(checks, "postgres"),
               *rpc_got = api_str_at(checks, "rpc");
    bool ok = got != NULL && strcmp(got, status) == 0 && pg != NULL && strcmp(pg, "ok") == 0 &&
              rpc_got != NULL && strncmp(rpc_got, rpc_check, strlen(rpc_check)) == 0;
    json_decref(j);
    return ok;
}

/* Polls /healthz (a pool slot whose session died answers "down" once) until
 * it is as expected; fails after WAIT_MS_MAX. */
static void check_health(const char *status, const char *rpc_check)
{
    for (uint64_t t0 = clock_now_ms(); clock_now_ms() - t0 < WAIT_MS_MAX;) {
        if (health_is(status, rpc_check))
            return;
        clock_sleep_ms(WAIT_STEP_MS);
    }
    CHECK_MSG(false, "healthz: %ld %s", api.rep.status, api.rep.body);
}

/* Every session of the gateway is killed, as a PostgreSQL restart would:
 * the follower reconnects and loses nothing (a tip sent right after is
 * credited), requests are served again. */
static void test_database_sessions_killed(void)
{
    uint8_t tx[32];
    CHECK_STR(db_value("SELECT count(*) > 0 FROM (SELECT pg_terminate_backend(pid) FROM "
                       "pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()) k",
                       fresh.name),
              "t");
    if (send_tip(tx, ACCT_OWNER, 5))
        CHECK(wait_access(ACCT_OWNER, 200, "5"));
    check_allowed("owner");
    check_health("ok", "ok");
}

static void test_health_and_metrics(void)
{
    check_health("ok", "ok");
    CHECK_INT(api_request(&api, "GET", "/metrics", NULL, NULL, 0), 200);
    CHECK(strstr(api.rep.body, "gateway_access_total{via=\"pass\"}") != NULL);
    CHECK(strstr(api.rep.body, "gateway_access_total{via=\"denied\"}") != NULL);
    CHECK(strstr(api.rep.body, "auth_signins_total{outcome=\"ok\"}") != NULL);
    CHECK(strstr(api.rep.body, "auth_signins_total{outcome=\"denied\"}") != NULL);
    CHECK(strstr(api.rep.body, "gateway_chain_followed_block ") != NULL);
    CHECK(http_metric_value(gw.g.m.chain_head) >= http_metric_value(gw.g.m.chain_block));
    CHECK(http_metric_value(gw.g.m.chain_block) > 0);
}

/* Before the follower's first cycle has ended (its state as at start, the
 * thread held), /healthz asks the node itself: it answers on CHAIN_ID, so
 * rpc is "starting" and the gateway ok, not "down". A new follower's first
 * cycle then reports "ok". */
static void test_health_while_starting(void)
{
    follower_pause();
    __atomic_store_n(&gw.g.chain_ok, 0, __ATOMIC_RELEASE);
    __atomic_store_n(&gw.g.chain_polled, 0, __ATOMIC_RELEASE);
    CHECK_MSG(health_is("ok", "starting"), "healthz: %ld %s", api.rep.status, api.rep.body);
    CHECK(health_is("ok", "starting")); /* asking changes nothing */
    follower_resume();
    check_health("ok", "ok");
    CHECK_INT(__atomic_load_n(&gw.g.chain_polled, __ATOMIC_ACQUIRE), 1);
}

/* 130 blocks followed, then replaced by 140 others: more than the window
 * (128) is gone, so the follower halts and /healthz says so. */
static void test_deep_reorg_halts(void)
{
    char snap[32];
    snapshot(snap);
    mine(FOLLOW_WINDOW_DEFAULT + 2);
    uint64_t top = head();
    CHECK(wait_metric(gw.g.m.chain_block, (int64_t)top));
    int64_t reorgs = http_metric_value(gw.g.m.chain_reorgs);
    revert_to(snap);
    /* Empty blocks re-mined in the same second as the first ones would be
     * the same blocks (same parent, time and contents: no reorg at all):
     * move the clock so the replacement chain really differs. */
    json_decref(rpc("evm_increaseTime", json_pack("[i]", 7)));
    mine(FOLLOW_WINDOW_DEFAULT + 12);
    CHECK(wait_metric(gw.g.m.chain_reorgs, reorgs + 1));
    CHECK_INT(__atomic_load_n(&gw.g.chain_halted, __ATOMIC_ACQUIRE), 1);
    check_health("degraded", "halted");
    CHECK(http_metric_value(gw.g.m.chain_reorgs) == reorgs + 1);
    CHECK_INT(http_metric_value(gw.g.m.chain_block), top); /* stopped advancing */
    CHECK(wait_access(ACCT_OWNER, 200, NULL));             /* still serving */
}

/* A free port nobody listens on. */
static uint16_t closed_port(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ASSERT(fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
           getsockname(fd, (struct sockaddr *)&a, &len) == 0);
    close(fd);
    return ntohs(a.sin_port);
}

/* A second gateway whose node is down: degraded, not down; the owner and a
 * tipper (no chain needed) are served; a pass holder it never cached gets
 * 503 with Retry-After, never 200. */
static void test_chain_down(void)
{
    struct app_config down = cfg;
    snprintf(down.eth_rpc_url, sizeof down.eth_rpc_url, "http://127.0.0.1:%u",
             (unsigned)closed_port());
    if (!start_gateway(&gw_down, &down)) {
        CHECK(false);
        return;
    }
    check_health("degraded", "down");
    CHECK(wait_metric(gw_down.g.m.chain_errors, 1));
    check_health("degraded", "down");
    CHECK(api_sign_in(&api, ACCT_NOBODY)); /* an account key needs no chain */
    get_access(api.tokens[ACCT_OWNER]);
    check_allowed("owner");
    get_access(api.tokens[ACCT_TIPPER]);
    check_allowed("tip");
    CHECK_INT(get_access(api.tokens[ACCT_BUYER]), 503);
    check_refused(503, "uncached pass holder");
    CHECK(api.rep.retry_after[0] != '\0');
    get_access(api.tokens[ACCT_NOBODY]);
    check_refused(503, "nobody, chain down");
    CHECK(http_metric_value(gw_down.g.m.chain_errors) > 0);
    CHECK_INT(__atomic_load_n(&gw_down.g.chain_halted, __ATOMIC_ACQUIRE), 0);
    gw_stop(&gw_down);
}

static bool setup(void)
{
    uint8_t ckey[32];
    ids_key_of(ckey, creator);
    if (!pg_fixture_init("gw_api") || !api_db_create(&fresh, "gw_api") || !deploy_vault(&vault) ||
        !deploy_pass(&pass, &vault, ckey, 10, 500))
        return false;
    struct txsend_outcome o;
    enum txsend_result r = send_call(&o, ACCT_SELLER, &pass, PASS_PRICE_WEI, "mint()", NULL, 0);
    txsend_outcome_release(&o);
    return r == TXSEND_OK && seed_rows() && load_config() && start_gateway(&gw, &cfg);
}

static bool ready;

static void test_setup(void)
{
    ready = setup();
    CHECK(ready);
}

int main(void)
{
    char whole[32];
    if (!api_chain_open(&chain))
        return 1;
    snapshot(whole);
    RUN(test_setup);
    if (ready) {
        RUN(test_signin_and_nonce_single_use);
        RUN(test_signin_refusals);
        RUN(test_signin_bad_bodies);
        RUN(test_stream_shape);
        RUN(test_access_gates);
        RUN(test_tip_credited_from_receipt);
        RUN(test_follower_credits_tip);
        RUN(test_sold_pass_stops_counting);
        RUN(test_reorg_forgets_tip);
        RUN(test_reorg_while_stopped);
        RUN(test_health_and_metrics);
        RUN(test_health_while_starting);
        RUN(test_database_sessions_killed);
        RUN(test_deep_reorg_halts);
    }
    gw_stop(&gw);
    if (ready)
        RUN(test_chain_down);
    if (gw_log != NULL)
        fclose(gw_log);
    api_db_drop(&fresh);
    revert_to(whole);
    chain_close(&chain);
    return harness_finish();
}
