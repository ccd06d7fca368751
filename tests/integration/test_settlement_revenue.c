/*
 * test_settlement_revenue.c - the settlement API's money endpoints
 * (api_revenue.c, api_passes.c) on a real service in this process
 * (service.h: st_open/st_start on 127.0.0.1:0) against the runner's
 * PostgreSQL (a fresh database st_rev_<pid>, migrated, dropped at the end)
 * and anvil, driven over HTTP with libcurl:
 *   - GET .../revenue and .../balances: no session 401, a stranger 403, an
 *     unknown or malformed id 404, every bad limit and cursor 400, all with
 *     problem+json and nothing changed;
 *   - pagination over 1,205 stored events of one creator (beside another
 *     creator's and another chain's): every page newest first by (block,
 *     log index, row id), each event exactly once, next_cursor null at the
 *     end, with 500 and with the default 100 per page, and newer events
 *     inserted in the middle of a walk never shown by it; kind, status and
 *     split_version mapped from each stored row;
 *   - balances to the wei after indexing (indexer.h with CONFIRMATIONS 0 on
 *     the same database): pass sales, a royalty, tips and an unattributed tip
 *     under split version 1 (whose two largest shares tie), a version 2 that
 *     drops a payee, renames a role and adds one, more revenue, then a
 *     version 3 whose new payee shows 0; every amount against
 *     revenue_fixture.h's model of the split rule (128-bit integers); the
 *     revenue list agrees; the ledger invariants and the vault's receivedOf
 *     hold (ledger_fixture.h);
 *   - POST .../passes: every bad-input class with its exact status and the
 *     passes, chain_txs and idempotency_keys rows unchanged; 503 from a
 *     second service without OPERATOR_KEY_FILE; Idempotency-Key replay and
 *     mismatch; then the whole flow: 201 {contract, tx_hash}, the passes row
 *     and a signed chain_txs row committed together and nothing broadcast,
 *     txmgr_tick() driven here until the transaction is confirmed, the
 *     receipt's contract address equal to the answer, the contract's price,
 *     supply, owner, royalty, name and symbol as asked, and a fan's mint
 *     through it indexed as the creator's confirmed pass_sale revenue split
 *     to the wei (proving its vault and creatorKey).
 *
 * Environment: DATABASE_URL, ETH_RPC_URL (anvil 31337), TEST_TMPDIR; run
 * from the repository root. Accounts (vault_fixture.h): 0 deploys the vault
 * and a fixture pass, 1 is the service's operator key, 2 the fan, 5 owns
 * the creators, 6 is a stranger.
 */
#include <ctype.h>
#include <curl/curl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "api_client.h"
#include "ids.h"
#include "indexer.h"
#include "ledger_fixture.h"
#include "pg_fixture.h"
#include "revenue_fixture.h"
#include "service.h"
#include "txmgr.h"
#include "vault_fixture.h"

#define ACCT_OWNER 5
#define ACCT_STRANGER 6
#define DOMAIN "localhost:8080"
#define PATH_BYTES 512
#define CONFIRMATIONS_TEXT "2"
#define PAGE_ROWS 1203 /* + 2 at one place: 1205 events of the paged creator */
#define PAGE_BASE_BLOCK 1000000000ull
#define TICKS_MAX 200
#define TICK_WAIT_MS 50
#define SENT_MAX 16
#define ROYALTY_GAS 300000u /* receive() forwards only with >= 100k gas left */

static struct st_server st, st_nokey;
static struct app_config cfg, cfg_nokey;
static struct api_client api = {.siwe_domain = DOMAIN, .chain = &chain}; /* .port set later */
static struct api_db fresh;
static struct pg_session ixdb; /* the indexer's own session */
static struct indexer ix;
static bool ix_live;
static char dir[PATH_BYTES];
static FILE *svc_log;
static uint16_t st_port, nokey_port;
static struct address vault, fixture_pass;
static uint64_t start_block;
static char creator[IDS_UUID_SIZE], paged[IDS_UUID_SIZE], stream[IDS_UUID_SIZE];
static uint8_t creator_key[32], paged_key[32];
static const char missing[] = "00000000-0000-4000-8000-000000000000";

/* ---- the model: what the ledger must hold --------------------------------------------- */

/* The payees, by address: model.payees[i] is payee_hex_of[i]. */
static const char *const payee_hex_of[REV_PAYEES] = {
    "0x1111111111111111111111111111111111111111", "0x2222222222222222222222222222222222222222",
    "0x3333333333333333333333333333333333333333", "0x4444444444444444444444444444444444444444",
    "0x5555555555555555555555555555555555555555"};

struct api_share {
    size_t payee; /* index into payee_hex_of */
    const char *role;
    uint32_t bps;
};

/* Version 1 ties its two largest shares (the remainder goes to the lower
 * address); version 2 drops 0x33.., renames 0x11.. and adds 0x44..; version
 * 3 adds 0x55.., which has no posting until the last mint. */
static const struct api_share shares_v1[] = {
    {0, "artist", 4000}, {1, "producer", 4000}, {2, "editor", 2000}};
static const struct api_share shares_v2[] = {
    {0, "lead artist", 6000}, {1, "producer", 2500}, {3, "newcomer", 1500}};
static const struct api_share shares_v3[] = {
    {0, "lead artist", 5000}, {1, "producer", 2500}, {3, "newcomer", 1500}, {4, "intern", 1000}};
static const struct {
    const struct api_share *shares;
    size_t n;
} api_versions[3] = {{shares_v1, 3}, {shares_v2, 3}, {shares_v3, 4}};

static struct rev_world model; /* payees and split versions: rev_split() gives the parts */
static rev_u128 earned[REV_PAYEES];
static uint64_t claimed[REV_PAYEES]; /* the confirmed Claimed logs of the creator's batches */

/* What the test sent to the vault for `creator`, oldest first. */
struct sent {
    const char *kind; /* pass_sale, royalty, tip */
    bool attributed;
    uint64_t amount_wei;
    uint64_t block;
    uint8_t tx_hash[32];
    struct address source; /* the pass, for pass_sale and royalty */
    int version;           /* the split version in force (attributed only) */
};
static struct sent sent[SENT_MAX];
static size_t sent_len;

/* ---- helpers ------------------------------------------------------------------------------- */

static long count_rows(const char *sql)
{
    return api_count_rows(&fresh.session, sql);
}

static bool db_exec(const char *sql, const char *const *params, int n)
{
    struct err e = {0};
    bool ok = pg_exec(&fresh.session, NULL, sql, params, n, &e) == PG_OK;
    CHECK_MSG(ok, "%s", e.msg);
    return ok;
}

/* The last reply is a problem+json of `status`. */
static void check_problem(long status, const char *what)
{
    api_check_problem(&api, status, what);
}

static long call(const char *method, const char *path, size_t acct, const char *idem,
                 const char *body)
{
    return api_request_key(&api, method, path, acct < CHAIN_DEV_KEYS ? api.tokens[acct] : NULL,
                           idem, body, body != NULL ? strlen(body) : 0);
}

static void hex32(char out[67], const uint8_t b[32])
{
    ASSERT(hex_encode_0x(out, 67, b, 32) == 0);
}

/* The cursor format of api_revenue.c: block, log index, row id in hex. */
static void cursor_text(char out[48], uint64_t block, uint32_t log_index, uint64_t id)
{
    snprintf(out, 48, "%016" PRIx64 "%08" PRIx32 "%016" PRIx64, block, log_index, id);
}

/* ---- services ------------------------------------------------------------------------------- */

static bool load_config(void)
{
    char secret[PATH_BYTES + 16], vault_text[ADDRESS_TEXT_SIZE];
    address_format_checksum(vault_text, &vault);
    if (!api_make_dir(dir, sizeof dir, "st_rev", secret, sizeof secret, "services.log", "service",
                      &svc_log) ||
        !api_load_config(&cfg, fresh.url, vault_text, secret, dir, DOMAIN, CONFIRMATIONS_TEXT))
        return false;
    snprintf(cfg.settlement_listen, sizeof cfg.settlement_listen, "127.0.0.1:0");
    cfg.max_fee_per_gas_wei = CONFIG_MAX_FEE_PER_GAS_WEI_DEFAULT;
    cfg_nokey = cfg;
    snprintf(cfg.operator_key_file, sizeof cfg.operator_key_file, "%s/operator.key", dir);
    return chain_write_key_file(cfg.operator_key_file, &chain.key[ACCT_OPERATOR]);
}

static bool start_services(void)
{
    struct err e = {0};
    if (!st_open(&st, &cfg, svc_log, &e) || !st_start(&st, &e) ||
        !st_open(&st_nokey, &cfg_nokey, svc_log, &e) || !st_start(&st_nokey, &e)) {
        printf("# settlement: %s\n", e.msg);
        return false;
    }
    st_port = api.port = http_server_port(st.http);
    nokey_port = http_server_port(st_nokey.http);
    return st.s.operator_ready && address_eq(&st.s.txmgr.from, &chain.addr[ACCT_OPERATOR]) &&
           !st_nokey.s.operator_ready;
}

static bool start_indexer(void)
{
    struct indexer_config ic;
    struct err e = {0};
    indexer_config_default(&ic);
    ic.chain_id = CHAIN_ID_ANVIL;
    ic.vault = vault;
    ic.start_block = start_block;
    ic.confirmations = 0; /* name and lock: the defaults, so the services' workers stand by */
    bool ok = pg_connect(&ixdb, fresh.url, PG_FIXTURE_CONNECT_TIMEOUT_S, &e) == PG_OK &&
              indexer_init(&ix, &ixdb, &chain.rpc, &ic, &e) == INDEXER_OK;
    if (!ok)
        printf("# indexer: %s\n", e.msg);
    ix_live = ok;
    return ok;
}

static void index_to_head(void)
{
    CHECK(ix_live && lfx_poll_to_head(&ix, NULL) == INDEXER_OK);
}

/* Records a send: block and hash from its receipt; the model's split. */
static void record(const struct txsend_outcome *o, const char *kind, bool attributed,
                   uint64_t amount_wei, const struct address *source)
{
    ASSERT(sent_len < SENT_MAX);
    struct sent *s = &sent[sent_len++];
    *s = (struct sent){.kind = kind, .attributed = attributed, .amount_wei = amount_wei};
    s->block = o->receipt.block_number;
    memcpy(s->tx_hash, o->receipt.transaction_hash, 32);
    if (source != NULL)
        s->source = *source;
    if (attributed) {
        const struct rev_version *v = rev_version_at(&model, s->block);
        rev_u128 parts[REV_PAYEES];
        rev_split(parts, &model, v, amount_wei);
        for (size_t i = 0; i < REV_PAYEES; i++)
            earned[i] += parts[i];
        s->version = (int)(v - model.versions) + 1;
    }
}

/* ---- chain actions -----------------------------------------------------------------------------
 */

static void mint(const struct address *pass, uint64_t price_wei)
{
    struct txsend_outcome o;
    CHECK_INT(send_call(&o, ACCT_FAN, pass, price_wei, "mint()", NULL, 0), TXSEND_OK);
    record(&o, "pass_sale", true, price_wei, pass);
    txsend_outcome_release(&o);
}

static void tip(const char *stream_uuid, bool attributed, uint64_t amount_wei)
{
    uint8_t skey[32];
    ids_key_of(skey, stream_uuid);
    struct abi_value args[2] = {abi_value_bytes32(creator_key), abi_value_bytes32(skey)};
    struct txsend_outcome o;
    CHECK_INT(send_call(&o, ACCT_FAN, &vault, amount_wei, "tip(bytes32,bytes32)", args, 2),
              TXSEND_OK);
    record(&o, "tip", attributed, amount_wei, NULL);
    txsend_outcome_release(&o);
}

/* A marketplace paying a royalty to the pass with enough gas to forward it. */
static void royalty(const struct address *pass, uint64_t amount_wei)
{
    struct txsend_outcome o;
    struct u256 v = wei(amount_wei);
    struct err e = {0};
    CHECK_INT(chain_send(&o, &chain, ACCT_FAN, pass, &v, NULL, 0, ROYALTY_GAS, &e), TXSEND_OK);
    record(&o, "royalty", true, amount_wei, pass);
    txsend_outcome_release(&o);
}

/* ---- tests ------------------------------------------------------------------------------------
 */

static bool ready; /* test_setup passed: the other tests may run */

static void test_setup(void)
{
    for (size_t i = 0; i < REV_PAYEES; i++)
        ASSERT(address_parse(&model.payees[i], payee_hex_of[i], strlen(payee_hex_of[i]), NULL) ==
               ADDRESS_OK);
    ready = pg_fixture_init("st_rev") && api_db_create(&fresh, "st_rev") && deploy_vault(&vault);
    start_block = chain_head(&chain);
    ready = ready && load_config() && start_indexer() && start_services();
    CHECK(ready);
}

static void test_signin_and_creators(void)
{
    CHECK(api_sign_in(&api, ACCT_OWNER));
    CHECK(api_sign_in(&api, ACCT_STRANGER));
    char *ids[2] = {creator, paged};
    uint8_t *keys[2] = {creator_key, paged_key};
    for (size_t i = 0; i < 2; i++) {
        CHECK_INT(call("POST", "/v1/creators", ACCT_OWNER, NULL, "{\"name\":\"Rev\"}"), 201);
        json_t *j = api_reply_json(&api);
        const char *id = api_str_at(j, "id");
        CHECK(id != NULL && ids_uuid_valid(id, strlen(id)));
        snprintf(ids[i], IDS_UUID_SIZE, "%s", id != NULL ? id : missing);
        ids_key_of(keys[i], ids[i]);
        json_decref(j);
    }
}

/* PUT splits of version `v` (1-based) of api_versions; the model follows. */
static void put_version(size_t v)
{
    char path[PATH_BYTES], body[2048];
    size_t len = (size_t)snprintf(body, sizeof body, "{\"shares\":[");
    struct rev_version *mv = &model.versions[v - 1];
    memset(mv, 0, sizeof *mv);
    for (size_t i = 0; i < api_versions[v - 1].n; i++) {
        const struct api_share *sh = &api_versions[v - 1].shares[i];
        len += (size_t)snprintf(body + len, sizeof body - len,
                                "%s{\"payee\":\"%s\",\"role\":\"%s\",\"bps\":%u}", i ? "," : "",
                                payee_hex_of[sh->payee], sh->role, sh->bps);
        mv->bps[sh->payee] = sh->bps;
    }
    snprintf(body + len, sizeof body - len, "]}");
    snprintf(path, sizeof path, "/v1/creators/%s/splits", creator);
    CHECK_INT(call("PUT", path, ACCT_OWNER, NULL, body), 201);
    json_t *j = api_reply_json(&api);
    CHECK_INT(json_integer_value(json_object_get(j, "version")), v);
    mv->from_block = (uint64_t)json_integer_value(json_object_get(j, "effective_from_block"));
    model.versions_len = v;
    json_decref(j);
}

#define READ_STATE_SQL                                                                             \
    "SELECT (SELECT count(*) FROM creators) * 1000000 + (SELECT count(*) FROM revenue_events) * "  \
    "100 + (SELECT count(*) FROM idempotency_keys)"

static void test_read_bad_inputs(void)
{
    static const char *const ends[2] = {"revenue", "balances"};
    char path[PATH_BYTES];
    long state = count_rows(READ_STATE_SQL);
    for (size_t i = 0; i < 2; i++) {
        snprintf(path, sizeof path, "/v1/creators/%s/%s", creator, ends[i]);
        call("GET", path, CHAIN_DEV_KEYS, NULL, NULL);
        check_problem(401, "no session");
        api_request(&api, "GET", path, "not-a-token", NULL, 0);
        check_problem(401, "bad token");
        call("GET", path, ACCT_STRANGER, NULL, NULL);
        check_problem(403, "stranger");
        snprintf(path, sizeof path, "/v1/creators/%s/%s", missing, ends[i]);
        call("GET", path, ACCT_OWNER, NULL, NULL);
        check_problem(404, "unknown creator");
        snprintf(path, sizeof path, "/v1/creators/NOT-A-UUID/%s", ends[i]);
        call("GET", path, ACCT_OWNER, NULL, NULL);
        check_problem(404, "malformed id");
        snprintf(path, sizeof path, "/v1/creators/%s/%s", creator, ends[i]);
        call("POST", path, ACCT_OWNER, NULL, "{}");
        check_problem(405, "wrong method");
    }
    static const char *const bad_limits[] = {
        "0",   "501", "abc", "-1", "1.5", "01", "+5", "%205", "5%20", "99999999999999999999999",
        "0x10"};
    for (size_t i = 0; i < sizeof bad_limits / sizeof bad_limits[0]; i++) {
        snprintf(path, sizeof path, "/v1/creators/%s/revenue?limit=%s", creator, bad_limits[i]);
        call("GET", path, ACCT_OWNER, NULL, NULL);
        check_problem(400, bad_limits[i]);
        CHECK_MSG(strstr(api.rep.body, "limit") != NULL, "%s: %s", bad_limits[i], api.rep.body);
    }
    char bad_cursors[9][48];
    cursor_text(bad_cursors[0], 0x3b9aca00, 0, 0xa1);
    bad_cursors[0][39] = '\0'; /* 39 digits */
    cursor_text(bad_cursors[1], 0x3b9aca00, 0, 0xa1);
    bad_cursors[1][40] = '1'; /* 41 digits */
    bad_cursors[1][41] = '\0';
    cursor_text(bad_cursors[2], 0x3b9aca00, 0, 0xa1);
    for (char *c = bad_cursors[2]; *c != '\0'; c++)
        *c = (char)toupper((unsigned char)*c); /* uppercase */
    cursor_text(bad_cursors[3], 0x3b9aca00, 0, 0xa1);
    bad_cursors[3][20] = 'g';                                          /* not hex */
    cursor_text(bad_cursors[4], 0x3b9aca00, 0, 0);                     /* row id 0 */
    cursor_text(bad_cursors[5], 0x8000000000000000ull, 0, 1);          /* block > INT64_MAX */
    cursor_text(bad_cursors[6], 0x3b9aca00, 0x80000000u, 1);           /* log index > INT32_MAX */
    cursor_text(bad_cursors[7], 0x3b9aca00, 0, 0x8000000000000001ull); /* id > INT64_MAX */
    snprintf(bad_cursors[8], sizeof bad_cursors[8], "zz");
    for (size_t i = 0; i < 9; i++) {
        snprintf(path, sizeof path, "/v1/creators/%s/revenue?cursor=%s", creator, bad_cursors[i]);
        call("GET", path, ACCT_OWNER, NULL, NULL);
        check_problem(400, bad_cursors[i]);
        CHECK_MSG(strstr(api.rep.body, "cursor") != NULL, "%s: %s", bad_cursors[i], api.rep.body);
    }
    /* Empty values are absent values. */
    snprintf(path, sizeof path, "/v1/creators/%s/revenue?cursor=&limit=", creator);
    CHECK_INT(call("GET", path, ACCT_OWNER, NULL, NULL), 200);
    CHECK_STR(api.rep.body, "{\"events\":[],\"next_cursor\":null}");
    snprintf(path, sizeof path, "/v1/creators/%s/balances", creator);
    CHECK_INT(call("GET", path, ACCT_OWNER, NULL, NULL), 200);
    char want[128];
    snprintf(want, sizeof want, "{\"creator_id\":\"%s\",\"balances\":[]}", creator);
    CHECK_STR(api.rep.body, want);
    CHECK_INT(count_rows(READ_STATE_SQL), state);
}

/* ---- pagination
 * ----------------------------------------------------------------------------------- */

/* Stored row g (0..PAGE_ROWS) of the paged creator: block PAGE_BASE_BLOCK + g / 3, log index
 * g % 3; kind by g % 3 (pass_sale, royalty, tip); status by g % 4 (pending, confirmed or,
 * without a split version, unattributed, confirmed unattributed, orphaned). */
static bool insert_paged_rows(const uint8_t key[32], uint64_t chain_id, long first, long last,
                              uint64_t base_block)
{
    char k[65], chain_text[24], f[24], l[24], b[24];
    ASSERT(hex_encode(k, sizeof k, key, 32) == 0);
    snprintf(chain_text, sizeof chain_text, "%" PRIu64, chain_id);
    snprintf(f, sizeof f, "%ld", first);
    snprintf(l, sizeof l, "%ld", last);
    snprintf(b, sizeof b, "%" PRIu64, base_block);
    const char *p[5] = {k, chain_text, f, l, b};
    return db_exec(
        "INSERT INTO revenue_events (chain_id, tx_hash, log_index, block_number, block_hash,"
        " event, creator_key, source, kind, stream_key, payer, amount_wei, attribution, status,"
        " split_version)"
        " SELECT $2::bigint, decode(lpad(to_hex(g), 64, '0'), 'hex'), g % 3, $5::bigint + g / 3,"
        "  decode(repeat('ab', 32), 'hex'),"
        "  CASE WHEN g % 3 = 2 THEN 'tipped' ELSE 'revenue_received' END, decode($1, 'hex'),"
        "  CASE WHEN g % 3 = 2 THEN NULL ELSE decode(repeat('42', 20), 'hex') END,"
        "  CASE WHEN g % 3 = 2 THEN NULL ELSE g % 3 + 1 END,"
        "  CASE WHEN g % 3 = 2 THEN decode(repeat('55', 32), 'hex') END,"
        "  decode(repeat('66', 20), 'hex'), g + 1,"
        "  CASE WHEN g % 4 = 2 THEN 'unattributed' ELSE 'creator' END,"
        "  CASE g % 4 WHEN 0 THEN 'pending' WHEN 3 THEN 'orphaned' ELSE 'confirmed' END,"
        "  CASE WHEN g % 8 = 1 THEN 1 END"
        " FROM generate_series($3::bigint, $4::bigint) AS g ORDER BY g",
        p, 5);
}

/* The event of stored row g, as the API must show it. */
static void check_paged_event(const json_t *ev, long g, uint64_t base_block)
{
    static const char *const kinds[3] = {"pass_sale", "royalty", "tip"};
    static const char *const statuses[8] = {"pending", "confirmed",    "unattributed", "orphaned",
                                            "pending", "unattributed", "unattributed", "orphaned"};
    char tx[67], amount[24];
    snprintf(tx, sizeof tx, "0x%064lx", (unsigned long)g);
    snprintf(amount, sizeof amount, "%ld", g + 1);
    const char *kind = api_str_at(ev, "kind"), *status = api_str_at(ev, "status");
    bool ok = kind != NULL && strcmp(kind, kinds[g % 3]) == 0 && status != NULL &&
              strcmp(status, statuses[g % 8]) == 0 && strcmp(api_str_at(ev, "tx_hash"), tx) == 0 &&
              json_integer_value(json_object_get(ev, "log_index")) == g % 3 &&
              (uint64_t)json_integer_value(json_object_get(ev, "block_number")) ==
                  base_block + (uint64_t)g / 3 &&
              strcmp(api_str_at(ev, "amount_wei"), amount) == 0 &&
              strcmp(api_str_at(ev, "payer"), "0x6666666666666666666666666666666666666666") == 0 &&
              (g % 3 == 2 ? json_is_null(json_object_get(ev, "source"))
                          : strcmp(api_str_at(ev, "source"),
                                   "0x4242424242424242424242424242424242424242") == 0) &&
              (g % 8 == 1 ? json_integer_value(json_object_get(ev, "split_version")) == 1
                          : json_is_null(json_object_get(ev, "split_version"))) &&
              json_object_size(ev) == 9;
    char *dump = json_dumps(ev, JSON_COMPACT);
    CHECK_MSG(ok, "row %ld shown as %s", g, dump != NULL ? dump : "?");
    free(dump);
}

/* Walks the paged creator from the start with `limit` (0: the default);
 * expects the rows want[0..want_len) in that order. `mid_walk` runs once
 * after the first page. Returns the number of pages. */
static size_t walk(unsigned limit, const long *want, size_t want_len, void (*mid_walk)(void))
{
    char path[PATH_BYTES], cursor[64] = "";
    size_t seen = 0, pages = 0, per_page = limit ? limit : ST_REVENUE_LIMIT_DEFAULT;
    for (size_t guard = 0; guard < 64; guard++) {
        int n = snprintf(path, sizeof path, "/v1/creators/%s/revenue?", paged);
        if (limit)
            n += snprintf(path + n, sizeof path - (size_t)n, "limit=%u&", limit);
        if (cursor[0])
            snprintf(path + n, sizeof path - (size_t)n, "cursor=%s", cursor);
        if (call("GET", path, ACCT_OWNER, NULL, NULL) != 200) {
            CHECK_MSG(false, "page %zu: %ld %s", pages, api.rep.status, api.rep.body);
            return pages;
        }
        pages++;
        json_t *j = api_reply_json(&api);
        const json_t *events = json_object_get(j, "events"),
                     *next = json_object_get(j, "next_cursor");
        size_t n_ev = json_array_size(events);
        bool last = seen + n_ev >= want_len;
        CHECK_MSG(n_ev == (last ? want_len - seen : per_page), "page %zu has %zu events", pages,
                  n_ev);
        for (size_t i = 0; i < n_ev && seen < want_len; i++)
            if (want[seen] >= 0 && want[seen] <= PAGE_ROWS + 1)
                check_paged_event(json_array_get(events, i), want[seen++], PAGE_BASE_BLOCK);
            else
                seen++; /* a row of another shape, checked by the caller */
        CHECK_MSG(last ? json_is_null(next) : json_is_string(next), "page %zu next_cursor", pages);
        snprintf(cursor, sizeof cursor, "%s", json_is_string(next) ? json_string_value(next) : "");
        json_decref(j);
        if (pages == 1 && mid_walk != NULL)
            mid_walk();
        if (cursor[0] == '\0')
            break;
    }
    CHECK_INT(seen, want_len);
    return pages;
}

static void insert_newer_rows(void)
{
    /* 7 rows at blocks above every walked one: a walk under way never shows them. */
    CHECK(insert_paged_rows(paged_key, CHAIN_ID_ANVIL, 5000, 5006, 2 * PAGE_BASE_BLOCK));
}

static void test_pagination(void)
{
    static long want[PAGE_ROWS + 2];
    uint8_t other[32];
    ids_key_of(other, missing);
    /* Two rows at one place above the rest: the orphaned one (lower id) second. */
    char k[65];
    ASSERT(hex_encode(k, sizeof k, paged_key, 32) == 0);
    const char *p[1] = {k};
    CHECK(insert_paged_rows(paged_key, CHAIN_ID_ANVIL, 0, PAGE_ROWS - 1, PAGE_BASE_BLOCK));
    CHECK(insert_paged_rows(other, CHAIN_ID_ANVIL, 100000, 100049, PAGE_BASE_BLOCK));
    CHECK(insert_paged_rows(paged_key, 1, 0, 4, PAGE_BASE_BLOCK));
    CHECK(db_exec("INSERT INTO revenue_events (chain_id, tx_hash, log_index, block_number,"
                  " block_hash, event, creator_key, stream_key, payer, amount_wei, attribution,"
                  " status) SELECT 31337, decode(repeat(t, 32), 'hex'), 0, 1000000500,"
                  " decode(repeat('cd', 32), 'hex'), 'tipped', decode($1, 'hex'),"
                  " decode(repeat('55', 32), 'hex'), decode(repeat('66', 20), 'hex'), 7,"
                  " 'creator', s FROM (VALUES ('e1', 'orphaned', 1), ('e2', 'pending', 2))"
                  " AS v(t, s, o) ORDER BY o",
                  p, 1));
    want[0] = -1; /* e2, pending */
    want[1] = -2; /* e1, orphaned */
    for (long g = 0; g < PAGE_ROWS; g++)
        want[2 + g] = PAGE_ROWS - 1 - g;
    CHECK_INT(walk(ST_REVENUE_LIMIT_MAX, want, PAGE_ROWS + 2, insert_newer_rows), 3);
    /* The first two events, checked here. */
    char path[PATH_BYTES];
    snprintf(path, sizeof path, "/v1/creators/%s/revenue?limit=2", paged);
    CHECK_INT(call("GET", path, ACCT_OWNER, NULL, NULL), 200);
    json_t *j = api_reply_json(&api);
    const json_t *ev = json_object_get(j, "events");
    char e2[67], e1[67];
    snprintf(e2, sizeof e2, "0x%s",
             "e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2");
    snprintf(e1, sizeof e1, "0x%s",
             "e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1");
    /* After insert_newer_rows: 7 newer rows come first; ask past them. */
    json_decref(j);
    snprintf(path, sizeof path, "/v1/creators/%s/revenue?limit=9", paged);
    CHECK_INT(call("GET", path, ACCT_OWNER, NULL, NULL), 200);
    j = api_reply_json(&api);
    ev = json_object_get(j, "events");
    CHECK_INT(json_array_size(ev), 9);
    CHECK_STR(api_str_at(json_array_get(ev, 0), "tx_hash"),
              "0x000000000000000000000000000000000000000000000000000000000000138e");
    CHECK_STR(api_str_at(json_array_get(ev, 7), "tx_hash"), e2);
    CHECK_STR(api_str_at(json_array_get(ev, 7), "status"), "pending");
    CHECK_STR(api_str_at(json_array_get(ev, 7), "kind"), "tip");
    CHECK_STR(api_str_at(json_array_get(ev, 8), "tx_hash"), e1);
    CHECK_STR(api_str_at(json_array_get(ev, 8), "status"), "orphaned");
    CHECK_INT(json_integer_value(json_object_get(json_array_get(ev, 8), "block_number")),
              1000000500);
    json_decref(j);
    /* A fresh walk with the default page size sees the 7 newer rows first. */
    static long want2[PAGE_ROWS + 9];
    for (long i = 0; i < 7; i++)
        want2[i] = -3; /* not of the paged shape: skipped by walk() */
    want2[7] = -1;
    want2[8] = -2;
    for (long g = 0; g < PAGE_ROWS; g++)
        want2[9 + g] = PAGE_ROWS - 1 - g;
    CHECK_INT(walk(0, want2, PAGE_ROWS + 9, NULL), 13);
    /* 1,212 = 12 x 101: the last page is full and still the last. */
    CHECK_INT(walk(101, want2, PAGE_ROWS + 9, NULL), 12);
    /* limit=1: one event and a cursor. */
    snprintf(path, sizeof path, "/v1/creators/%s/revenue?limit=1", paged);
    CHECK_INT(call("GET", path, ACCT_OWNER, NULL, NULL), 200);
    j = api_reply_json(&api);
    CHECK_INT(json_array_size(json_object_get(j, "events")), 1);
    CHECK(json_is_string(json_object_get(j, "next_cursor")));
    json_decref(j);
    /* The rows were never the ledger's: remove them. */
    CHECK(db_exec("DELETE FROM revenue_events WHERE creator_key = decode($1, 'hex')"
                  " OR block_number >= 1000000000",
                  p, 1));
    CHECK_INT(count_rows("SELECT count(*) FROM revenue_events"), 0);
}

/* ---- balances after indexing ------------------------------------------------------------------
 */

/* GET balances equals the model: payees[0..n) (indexes of payee_hex_of) in
 * that order with their roles; earned = unsettled, settled 0, claimed[]. */
static void check_balances(const size_t *payees, const char *const *roles, size_t n)
{
    char path[PATH_BYTES];
    snprintf(path, sizeof path, "/v1/creators/%s/balances", creator);
    CHECK_INT(call("GET", path, ACCT_OWNER, NULL, NULL), 200);
    json_t *j = api_reply_json(&api);
    CHECK_STR(api_str_at(j, "creator_id"), creator);
    const json_t *list = json_object_get(j, "balances");
    CHECK_INT(json_array_size(list), n);
    for (size_t i = 0; i < n && i < json_array_size(list); i++) {
        const json_t *b = json_array_get(list, i);
        char want[REV_U128_DEC_SIZE], a[ADDRESS_TEXT_SIZE];
        rev_u128_dec(want, earned[payees[i]]);
        address_format_checksum(a, &model.payees[payees[i]]);
        CHECK_STR(api_str_at(b, "payee"), a); /* EIP-55 */
        CHECK_STR(api_str_at(b, "role"), roles[i]);
        CHECK_STR(api_str_at(b, "earned_wei"), want);
        CHECK_STR(api_str_at(b, "unsettled_wei"), want);
        CHECK_STR(api_str_at(b, "settled_wei"), "0");
        snprintf(want, sizeof want, "%" PRIu64, claimed[payees[i]]);
        CHECK_STR(api_str_at(b, "claimed_wei"), want);
        CHECK_INT(json_object_size(b), 6);
    }
    json_decref(j);
}

/* GET revenue (one page) equals sent[] newest first. */
static void check_revenue(void)
{
    char path[PATH_BYTES];
    snprintf(path, sizeof path, "/v1/creators/%s/revenue?limit=%d", creator, ST_REVENUE_LIMIT_MAX);
    CHECK_INT(call("GET", path, ACCT_OWNER, NULL, NULL), 200);
    json_t *j = api_reply_json(&api);
    const json_t *events = json_object_get(j, "events");
    CHECK_INT(json_array_size(events), sent_len);
    CHECK(json_is_null(json_object_get(j, "next_cursor")));
    char fan[ADDRESS_TEXT_SIZE];
    address_format_checksum(fan, &chain.addr[ACCT_FAN]);
    for (size_t i = 0; i < sent_len && i < json_array_size(events); i++) {
        const struct sent *s = &sent[sent_len - 1 - i];
        const json_t *ev = json_array_get(events, i);
        char tx[67], amount[24], src[ADDRESS_TEXT_SIZE];
        hex32(tx, s->tx_hash);
        snprintf(amount, sizeof amount, "%" PRIu64, s->amount_wei);
        CHECK_STR(api_str_at(ev, "kind"), s->kind);
        CHECK_STR(api_str_at(ev, "tx_hash"), tx);
        CHECK_INT(json_integer_value(json_object_get(ev, "block_number")), s->block);
        CHECK_STR(api_str_at(ev, "amount_wei"), amount);
        CHECK_STR(api_str_at(ev, "status"), s->attributed ? "confirmed" : "unattributed");
        CHECK_STR(api_str_at(ev, "payer"), fan);
        if (strcmp(s->kind, "tip") == 0) {
            CHECK(json_is_null(json_object_get(ev, "source")));
        } else {
            address_format_checksum(src, &s->source);
            CHECK_STR(api_str_at(ev, "source"), src);
        }
        if (s->attributed)
            CHECK_INT(json_integer_value(json_object_get(ev, "split_version")), s->version);
        else
            CHECK(json_is_null(json_object_get(ev, "split_version")));
    }
    json_decref(j);
}

/* claimed_wei: the confirmed Claimed logs of the vault in batches whose
 * confirmed SettlementAnchored names the creator (rows written here as the
 * indexer writes them, then removed). */
static void check_claimed(const size_t *payees, const char *const *roles)
{
    char vault_hex[41], key_hex[67], other_hex[67];
    uint8_t other[32];
    ids_key_of(other, missing);
    ASSERT(hex_encode(vault_hex, sizeof vault_hex, vault.bytes, ADDRESS_BYTES) == 0);
    hex32(key_hex, creator_key);
    hex32(other_hex, other);
    const char *p[3] = {vault_hex, key_hex, other_hex};
    CHECK(db_exec(
        "INSERT INTO chain_events (chain_id, tx_hash, log_index, block_number, block_hash,"
        " contract, event, args, status)"
        " SELECT 31337, decode(lpad(to_hex(n), 64, 'f'), 'hex'), 0, 2000000000 + n,"
        "  decode(repeat('ee', 32), 'hex'), CASE WHEN n = 8 THEN decode(repeat('99', 20), 'hex')"
        "  ELSE decode($1, 'hex') END, ev, jsonb_build_object('batchKey', '0x' || repeat(bk, 32),"
        "  'creatorKey', CASE WHEN bk = 'b2' THEN $3::text ELSE $2::text END, 'account', '0x' || "
        "repeat(acct, "
        "20),"
        "  'amount', amt), st"
        " FROM (VALUES (1, 'SettlementAnchored', 'b1', '00', '0', 'confirmed'),"
        "  (2, 'Claimed', 'b1', '11', '5', 'confirmed'), (3, 'Claimed', 'b1', '11', '7', "
        "'confirmed'),"
        "  (4, 'Claimed', 'b1', '22', '100', 'pending'),"
        "  (5, 'SettlementAnchored', 'b2', '00', '0', 'confirmed'),"
        "  (6, 'Claimed', 'b2', '22', '1000', 'confirmed'),"
        "  (7, 'SettlementAnchored', 'b3', '00', '0', 'pending'),"
        "  (8, 'Claimed', 'b1', '22', '10000', 'confirmed'),"
        "  (9, 'Claimed', 'b3', '22', '100000', 'confirmed'))"
        " AS v(n, ev, bk, acct, amt, st)",
        p, 3));
    claimed[0] = 12; /* 0x11..: 5 + 7; nothing else counts */
    check_balances(payees, roles, 5);
    CHECK(db_exec("DELETE FROM chain_events WHERE block_number >= 2000000000", NULL, 0));
    claimed[0] = 0;
    check_balances(payees, roles, 5);
}

static void test_balances_indexed(void)
{
    static const size_t p4[4] = {0, 1, 2, 3}, p5[5] = {0, 1, 2, 3, 4};
    static const char *const r5[5] = {"lead artist", "producer", "editor", "newcomer", "intern"};
    char path[PATH_BYTES], contract[48];
    CHECK(deploy_pass(&fixture_pass, &vault, creator_key, 100, 500));
    ASSERT(hex_encode(contract, sizeof contract, fixture_pass.bytes, ADDRESS_BYTES) == 0);
    const char *p[2] = {contract, creator};
    CHECK(db_exec("INSERT INTO passes (contract, creator_id, name, symbol, price_wei, max_supply,"
                  " royalty_bps) VALUES (decode($1, 'hex'), $2::uuid, 'Backstage Pass', 'BKST',"
                  " 25000000000000007, 100, 500)",
                  p, 2));
    snprintf(path, sizeof path, "/v1/creators/%s/streams", creator);
    CHECK_INT(call("POST", path, ACCT_OWNER, NULL, "{\"title\":\"Live\",\"access\":{}}"), 201);
    json_t *j = api_reply_json(&api);
    snprintf(stream, sizeof stream, "%s", api_str_at(j, "id") ? api_str_at(j, "id") : missing);
    json_decref(j);
    put_version(1);
    mint(&fixture_pass, PASS_PRICE_WEI);
    mint(&fixture_pass, PASS_PRICE_WEI);
    tip(stream, true, 1234567);
    tip(missing, false, 999); /* not one of the creator's streams */
    royalty(&fixture_pass, 77777);
    put_version(2);
    mint(&fixture_pass, PASS_PRICE_WEI);
    tip(stream, true, 3333);
    index_to_head();
    check_balances(p4, r5, 4); /* 0x33.. keeps its balance and its last role */
    check_revenue();
    put_version(3); /* a payee without postings yet shows zeros */
    check_balances(p5, r5, 5);
    check_claimed(p5, r5);
    /* Reading changed nothing, and the ledger holds. */
    CHECK(lfx_check_invariants(&fresh.session));
    CHECK(lfx_check_received_all(&fresh.session, &chain.rpc, &vault, "indexer"));
}

/* ---- POST passes ----------------------------------------------------------------------------- */

#define PASS_STATE_SQL                                                                             \
    "SELECT (SELECT count(*) FROM passes) * 1000000 + (SELECT count(*) FROM chain_txs) * 1000 + "  \
    "(SELECT count(*) FROM idempotency_keys)"

static const char pass_body[] = "{\"name\":\"Gold \\u00e9 Pass\",\"symbol\":\"GOLD\","
                                "\"price_wei\":\"31337000000000123\",\"max_supply\":\"250\","
                                "\"royalty_bps\":750}";

static void test_pass_bad_inputs(void)
{
    char path[PATH_BYTES], name101[256], sym21[160];
    snprintf(path, sizeof path, "/v1/creators/%s/passes", creator);
    long state = count_rows(PASS_STATE_SQL);
    char long_name[101];
    memset(long_name, 'n', 101);
    long_name[100] = '\0';
    snprintf(name101, sizeof name101,
             "{\"name\":\"%sx\",\"symbol\":\"S\",\"price_wei\":\"1\",\"max_supply\":\"1\","
             "\"royalty_bps\":0}",
             long_name);
    snprintf(sym21, sizeof sym21,
             "{\"name\":\"N\",\"symbol\":\"%s\",\"price_wei\":\"1\",\"max_supply\":\"1\","
             "\"royalty_bps\":0}",
             "SSSSSSSSSSSSSSSSSSSSS");
    const struct {
        const char *body;
        long status;
        const char *detail;
    } cases[] = {
        {"{\"name\":", 400, NULL},
        {"[]", 400, NULL},
        {"{\"name\":\"a\",\"name\":\"b\"}", 400, NULL},
        {"{}", 422, "name"},
        {"{\"symbol\":\"S\",\"price_wei\":\"1\",\"max_supply\":\"1\",\"royalty_bps\":0}", 422,
         "name"},
        {"{\"name\":\"\",\"symbol\":\"S\",\"price_wei\":\"1\",\"max_supply\":\"1\","
         "\"royalty_bps\":0}",
         422, "name"},
        {name101, 422, "name"},
        {sym21, 422, "symbol"},
        {"{\"name\":\"a\\u0001\",\"symbol\":\"S\",\"price_wei\":\"1\",\"max_supply\":\"1\","
         "\"royalty_bps\":0}",
         422, "control"},
        {"{\"name\":\"N\",\"symbol\":\"S\\n\",\"price_wei\":\"1\",\"max_supply\":\"1\","
         "\"royalty_bps\":0}",
         422, "symbol"},
        {"{\"name\":\"N\",\"symbol\":\"S\",\"price_wei\":\"0\",\"max_supply\":\"1\","
         "\"royalty_bps\":0}",
         422, "price_wei"},
        {"{\"name\":\"N\",\"symbol\":\"S\",\"price_wei\":\"-1\",\"max_supply\":\"1\","
         "\"royalty_bps\":0}",
         422, "price_wei"},
        {"{\"name\":\"N\",\"symbol\":\"S\",\"price_wei\":1,\"max_supply\":\"1\","
         "\"royalty_bps\":0}",
         422, "price_wei"},
        {"{\"name\":\"N\",\"symbol\":\"S\",\"price_wei\":\"1e3\",\"max_supply\":\"1\","
         "\"royalty_bps\":0}",
         422, "price_wei"},
        {"{\"name\":\"N\",\"symbol\":\"S\",\"price_wei\":\"01\",\"max_supply\":\"1\","
         "\"royalty_bps\":0}",
         422, "price_wei"},
        {"{\"name\":\"N\",\"symbol\":\"S\",\"price_wei\":"
         "\"115792089237316195423570985008687907853269984665640564039457584007913129639936\","
         "\"max_supply\":\"1\",\"royalty_bps\":0}",
         422, "price_wei"},
        {"{\"name\":\"N\",\"symbol\":\"S\",\"price_wei\":\"1\",\"max_supply\":\"0\","
         "\"royalty_bps\":0}",
         422, "max_supply"},
        {"{\"name\":\"N\",\"symbol\":\"S\",\"price_wei\":\"1\",\"max_supply\":\"1000000001\","
         "\"royalty_bps\":0}",
         422, "max_supply"},
        {"{\"name\":\"N\",\"symbol\":\"S\",\"price_wei\":\"1\",\"max_supply\":10,"
         "\"royalty_bps\":0}",
         422, "max_supply"},
        {"{\"name\":\"N\",\"symbol\":\"S\",\"price_wei\":\"1\",\"max_supply\":\"1\","
         "\"royalty_bps\":10001}",
         422, "royalty_bps"},
        {"{\"name\":\"N\",\"symbol\":\"S\",\"price_wei\":\"1\",\"max_supply\":\"1\","
         "\"royalty_bps\":-1}",
         422, "royalty_bps"},
        {"{\"name\":\"N\",\"symbol\":\"S\",\"price_wei\":\"1\",\"max_supply\":\"1\","
         "\"royalty_bps\":\"5\"}",
         422, "royalty_bps"},
        {"{\"name\":\"N\",\"symbol\":\"S\",\"price_wei\":\"1\",\"max_supply\":\"1\","
         "\"royalty_bps\":1.5}",
         422, "royalty_bps"},
        {"{\"name\":\"N\",\"symbol\":\"S\",\"price_wei\":\"1\",\"max_supply\":\"1\","
         "\"royalty_bps\":0,\"owner\":\"0x1111111111111111111111111111111111111111\"}",
         422, "owner"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        call("POST", path, ACCT_OWNER, NULL, cases[i].body);
        check_problem(cases[i].status, cases[i].body);
        if (cases[i].detail != NULL)
            CHECK_MSG(strstr(api.rep.body, cases[i].detail) != NULL, "case %zu: %s", i,
                      api.rep.body);
    }
    static char big[ST_PASS_BODY_BYTES_MAX + 2]; /* one byte over the limit */
    memset(big, ' ', sizeof big);
    big[0] = '{';
    big[sizeof big - 2] = '}';
    big[sizeof big - 1] = '\0';
    call("POST", path, ACCT_OWNER, NULL, big);
    check_problem(413, "oversized body");
    call("POST", path, CHAIN_DEV_KEYS, NULL, pass_body);
    check_problem(401, "no session");
    call("POST", path, ACCT_STRANGER, NULL, pass_body);
    check_problem(403, "stranger");
    call("POST", path, ACCT_STRANGER, "k-stranger", pass_body);
    check_problem(403, "stranger with a key"); /* stored: its own key space */
    snprintf(path, sizeof path, "/v1/creators/%s/passes", missing);
    call("POST", path, ACCT_OWNER, NULL, pass_body);
    check_problem(404, "unknown creator");
    call("POST", "/v1/creators/not-a-uuid/passes", ACCT_OWNER, NULL, pass_body);
    check_problem(404, "malformed id");
    snprintf(path, sizeof path, "/v1/creators/%s/passes", creator);
    call("POST", path, ACCT_OWNER, "bad key", pass_body);
    check_problem(400, "malformed Idempotency-Key");
    api.port = nokey_port;
    call("POST", path, ACCT_OWNER, "k-nokey", pass_body);
    api.port = st_port;
    check_problem(503, "no operator key");
    CHECK(strstr(api.rep.body, "operator key not configured") != NULL);
    /* Nothing changed but the stranger's stored 403. */
    CHECK_INT(count_rows(PASS_STATE_SQL), state + 1);
    CHECK_INT(count_rows("SELECT count(*) FROM idempotency_keys WHERE key = 'k-stranger'"
                         " AND status = 403"),
              1);
}

/* Drives the service's transaction manager until `purpose` is final (or
 * TICKS_MAX rounds); its row in *out. The service's worker ticks too: a
 * round where it holds the sender's lock waits TICK_WAIT_MS. */
static bool tick_until_final(struct txmgr_tx *out, const char *purpose)
{
    struct err e = {0};
    for (int i = 0; i < TICKS_MAX; i++) {
        struct txmgr_tick_report rep;
        memset(&rep, 0, sizeof rep);
        if (txmgr_tick(&rep, &st.s.txmgr, &fresh.session, &chain.rpc, &e) != TXMGR_OK ||
            txmgr_get(out, &fresh.session, purpose, &e) != TXMGR_OK) {
            CHECK_MSG(false, "tick: %s", e.msg);
            return false;
        }
        if (out->status == TXMGR_CONFIRMED || out->status == TXMGR_REVERTED)
            return true;
        if (out->status == TXMGR_MINED)
            chain_mine(&chain, 1);
        else if (rep.not_leader)
            usleep(TICK_WAIT_MS * 1000);
    }
    CHECK_MSG(false, "'%s' is still %s after %d ticks", purpose, txmgr_status_name(out->status),
              TICKS_MAX);
    return false;
}

/* A view of `pass` returning one string, into out. */
static bool view_string(char *out, size_t cap, const struct address *pass, const char *sig)
{
    uint8_t ret[CHAIN_VIEW_BYTES_MAX];
    size_t ret_len = 0;
    struct err e = {0};
    struct abi_value v = abi_value_of_type(ABI_TYPE_STRING);
    bool ok = rpc_view(&chain.rpc, ret, sizeof ret, &ret_len, pass->bytes, sig, NULL, 0, "latest",
                       &e) == RPC_OK &&
              abi_decode(&v, 1, ret, ret_len, &e) == ABI_OK && v.as.bytes.len < cap;
    CHECK_MSG(ok, "%s: %s", sig, e.msg);
    if (ok) {
        memcpy(out, v.as.bytes.data, v.as.bytes.len);
        out[v.as.bytes.len] = '\0';
    }
    return ok;
}

static void check_pass_contract(const struct address *pass)
{
    struct abi_value args[2] = {abi_value_u64(1), abi_value_u64(10000)};
    struct abi_value royalty_out[2] = {abi_value_of_type(ABI_TYPE_ADDRESS),
                                       abi_value_of_type(ABI_TYPE_UINT256)};
    struct err e = {0};
    struct u256 price;
    ASSERT(u256_from_dec(&price, "31337000000000123", 17, NULL) == U256_OK);
    CHECK_U256(view_u256_noargs(pass, "price()"), price);
    CHECK_U256(view_u256_noargs(pass, "maxSupply()"), wei(250));
    CHECK_U256(view_u256_noargs(pass, "totalMinted()"), wei(0));
    struct abi_value owner = view_one(pass, ABI_TYPE_ADDRESS, "owner()", NULL, 0);
    CHECK(address_eq(&owner.as.address, &chain.addr[ACCT_OWNER]));
    CHECK(chain_view(royalty_out, 2, &chain, pass, "royaltyInfo(uint256,uint256)", args, 2, &e));
    CHECK(address_eq(&royalty_out[0].as.address, pass));
    CHECK_U256(royalty_out[1].as.uint256, wei(750));
    char text[128];
    CHECK(view_string(text, sizeof text, pass, "name()"));
    CHECK_STR(text, "Gold \xc3\xa9 Pass");
    CHECK(view_string(text, sizeof text, pass, "symbol()"));
    CHECK_STR(text, "GOLD");
}

static void test_pass_deploy(void)
{
    char path[PATH_BYTES], first[1024];
    snprintf(path, sizeof path, "/v1/creators/%s/passes", creator);
    long state = count_rows(PASS_STATE_SQL);
    uint64_t operator_nonce = nonce_of(&chain.addr[ACCT_OPERATOR]),
             head_before = chain_head(&chain);
    CHECK_INT(call("POST", path, ACCT_OWNER, "k-pass-1", pass_body), 201);
    snprintf(first, sizeof first, "%.1023s", api.rep.body);
    uint64_t head_after = chain_head(&chain);
    json_t *j = api_reply_json(&api);
    const char *c = api_str_at(j, "contract"), *h = api_str_at(j, "tx_hash");
    struct address pass;
    uint8_t tx_hash[32];
    bool parsed =
        c != NULL && h != NULL && address_parse(&pass, c, strlen(c), NULL) == ADDRESS_OK &&
        hex_decode_exact(tx_hash, 32, h, strlen(h), NULL) == HEX_OK && json_object_size(j) == 2;
    CHECK_MSG(parsed, "answer %s", api.rep.body);
    char checksum[ADDRESS_TEXT_SIZE];
    if (parsed) {
        address_format_checksum(checksum, &pass);
        CHECK_STR(c, checksum); /* EIP-55 */
    }
    json_decref(j);
    if (!parsed)
        return;
    /* Committed together: the passes row and its transaction. */
    CHECK_INT(count_rows(PASS_STATE_SQL), state + 1000000 + 1000 + 1);
    char lower[ADDRESS_TEXT_SIZE], purpose[TXMGR_PURPOSE_BYTES_MAX + 1] = "";
    uint64_t deploy_block = 0;
    address_format_lower(lower, &pass);
    const char *pp[2] = {lower + 2, creator};
    PGresult *res = NULL;
    CHECK(pg_exec(&fresh.session, &res,
                  "SELECT name, symbol, price_wei::text, max_supply::text, royalty_bps::text,"
                  " deploy_block FROM passes WHERE contract = decode($1, 'hex')"
                  " AND creator_id = $2::uuid",
                  pp, 2, NULL) == PG_OK &&
          PQntuples(res) == 1);
    if (res != NULL && PQntuples(res) == 1) {
        CHECK_STR(PQgetvalue(res, 0, 0), "Gold \xc3\xa9 Pass");
        CHECK_STR(PQgetvalue(res, 0, 1), "GOLD");
        CHECK_STR(PQgetvalue(res, 0, 2), "31337000000000123");
        CHECK_STR(PQgetvalue(res, 0, 3), "250");
        CHECK_STR(PQgetvalue(res, 0, 4), "750");
        deploy_block = strtoull(PQgetvalue(res, 0, 5), NULL, 10);
        /* the head at the submission minus CONFIRMATIONS_TEXT */
        CHECK(deploy_block + 2 >= head_before && deploy_block + 2 <= head_after);
    }
    PQclear(res);
    res = NULL;
    CHECK(pg_exec(&fresh.session, &res, "SELECT purpose FROM chain_txs", NULL, 0, NULL) == PG_OK &&
          PQntuples(res) == 1);
    if (res != NULL && PQntuples(res) == 1)
        snprintf(purpose, sizeof purpose, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    /* deploy_pass:<creator>:<first 16 bytes of sha256(caller || Idempotency-Key)> */
    char want_purpose[TXMGR_PURPOSE_BYTES_MAX + 1], suffix[33];
    uint8_t in[ADDRESS_BYTES + 8], digest[32];
    memcpy(in, chain.addr[ACCT_OWNER].bytes, ADDRESS_BYTES);
    memcpy(in + ADDRESS_BYTES, "k-pass-1", 8);
    ASSERT(crypto_sha256(digest, in, sizeof in, NULL) == CRYPTO_OK &&
           hex_encode(suffix, sizeof suffix, digest, 16) == 0);
    snprintf(want_purpose, sizeof want_purpose, "deploy_pass:%s:%s", creator, suffix);
    CHECK_STR(purpose, want_purpose);
    struct txmgr_tx tx;
    struct err e = {0};
    CHECK(txmgr_get(&tx, &fresh.session, purpose, &e) == TXMGR_OK);
    CHECK(tx.is_creation && address_eq(&tx.contract, &pass) && tx.nonce == operator_nonce);
    CHECK(address_eq(&tx.from, &chain.addr[ACCT_OPERATOR]));
    CHECK_MEM(tx.tx_hash, tx_hash, 32);
    /* Replay: the first answer, nothing new; another body with the key: 422. */
    CHECK_INT(call("POST", path, ACCT_OWNER, "k-pass-1", pass_body), 201);
    CHECK_STR(api.rep.body, first);
    call("POST", path, ACCT_OWNER, "k-pass-1",
         "{\"name\":\"Other\",\"symbol\":\"GOLD\",\"price_wei\":\"1\",\"max_supply\":\"1\","
         "\"royalty_bps\":0}");
    check_problem(422, "same key, other body");
    CHECK_INT(count_rows(PASS_STATE_SQL), state + 1000000 + 1000 + 1);
    /* The worker's job, done here: broadcast, mined, confirmed. */
    if (!tick_until_final(&tx, purpose))
        return;
    CHECK_INT(tx.status, TXMGR_CONFIRMED);
    struct rpc_receipt rc;
    memset(&rc, 0, sizeof rc);
    CHECK(rpc_get_transaction_receipt(&chain.rpc, &rc, tx_hash, &e) == RPC_OK);
    CHECK(rc.status == 1 && rc.has_contract_address &&
          memcmp(rc.contract_address, pass.bytes, ADDRESS_BYTES) == 0);
    CHECK(memcmp(rc.from, chain.addr[ACCT_OPERATOR].bytes, ADDRESS_BYTES) == 0);
    CHECK(rc.block_number > deploy_block && rc.block_number == tx.block_number);
    rpc_receipt_release(&rc);
    check_pass_contract(&pass);
    /* A fan's mint through it is the creator's pass_sale revenue (vault and creatorKey). */
    struct abi_value key_arg = abi_value_bytes32(creator_key);
    struct u256 before = view_u256(&vault, "receivedOf(bytes32)", &key_arg, 1);
    mint(&pass, 31337000000000123ull);
    struct u256 after = view_u256(&vault, "receivedOf(bytes32)", &key_arg, 1);
    CHECK_U256(after, add_wei(before, wei(31337000000000123ull)));
    index_to_head();
    check_revenue(); /* newest: the pass_sale of `pass`, confirmed by version 3 */
    CHECK_STR(sent[sent_len - 1].kind, "pass_sale");
    CHECK_INT(sent[sent_len - 1].version, 3);
    static const size_t p5[5] = {0, 1, 2, 3, 4};
    static const char *const r5[5] = {"lead artist", "producer", "editor", "newcomer", "intern"};
    check_balances(p5, r5, 5);
    /* The replay still answers the first answer. */
    CHECK_INT(call("POST", path, ACCT_OWNER, "k-pass-1", pass_body), 201);
    CHECK_STR(api.rep.body, first);
    CHECK(lfx_check_invariants(&fresh.session));
    CHECK(lfx_check_received_all(&fresh.session, &chain.rpc, &vault, "indexer"));
}

static void test_chain_operator(void)
{
    char op[ADDRESS_TEXT_SIZE];
    address_format_checksum(op, &chain.addr[ACCT_OPERATOR]);
    CHECK_INT(call("GET", "/v1/chain", CHAIN_DEV_KEYS, NULL, NULL), 200);
    json_t *j = api_reply_json(&api);
    CHECK_STR(api_str_at(j, "operator"), op);
    json_decref(j);
    api.port = nokey_port;
    CHECK_INT(call("GET", "/v1/chain", CHAIN_DEV_KEYS, NULL, NULL), 200);
    api.port = st_port;
    j = api_reply_json(&api);
    CHECK(json_is_null(json_object_get(j, "operator")));
    json_decref(j);
}

int main(void)
{
    if (!api_chain_open(&chain))
        return 1;
    RUN(test_setup);
    if (ready) {
        RUN(test_signin_and_creators);
        RUN(test_read_bad_inputs);
        RUN(test_pagination);
        RUN(test_balances_indexed);
        RUN(test_pass_bad_inputs);
        RUN(test_pass_deploy);
        RUN(test_chain_operator);
    }
    if (ix_live)
        indexer_release(&ix);
    pg_release(&ixdb);
    st_stop(&st_nokey);
    st_stop(&st);
    if (svc_log != NULL)
        fclose(svc_log);
    api_db_drop(&fresh);
    chain_close(&chain);
    return harness_finish();
}
