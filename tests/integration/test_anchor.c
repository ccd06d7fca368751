/*
 * test_anchor.c - recording anchors (services/settlement/anchor.c) against
 * the runner's PostgreSQL and anvil: recordings written exactly as the
 * gateway writes them (services/gateway/store.h: open, renditions,
 * segments, end) in a fresh migrated database, anchored with the anchor
 * job through a real transaction manager (txmgr_submit, then txmgr_tick
 * and mined blocks until CONFIRMED) on a fresh SettlementVault (operator =
 * anvil 1), and served by a real settlement service in this process
 * (GET /v1/recordings/{id} and .../evidence; the service has no operator
 * key, so its own anchor job is off and only this test anchors).
 *
 * Checked: one anchor per recording whatever the retries (rows, chain_txs,
 * RecordingAnchored logs, the vault's recordingRoot), also with two anchor
 * jobs running at once on their own sessions; every evidence field against
 * the chain and an independent rebuild of the tree; segments refused after
 * the end; a recording without segments left alone; a root already on
 * chain (a rogue anchor with the operator key) making the anchor 'failed'
 * with nothing sent; a segment altered in the database behind the
 * triggers' back making the evidence a 500, not a lie; and the API's 400 /
 * 404 answers.
 */
#include <pthread.h>

#include "anchor.h"
#include "api_client.h"
#include "service.h"
#include "store.h"
#include "txmgr.h"
#include "vault_fixture.h"

#define DOMAIN "127.0.0.1:1"
#define PATH_BYTES 512
#define DRIVE_ROUNDS_MAX 12
#define CONCURRENT_RECORDINGS 4
#define FEE_CAP_WEI 500000000000ull

struct recorded {
    char id[IDS_UUID_SIZE];
    struct anchor_leaf leaves[16];
    const char *names[16]; /* segment file names */
    size_t n;
    uint8_t root[32];
};

static struct api_db db;
static struct api_client api;
static struct st_server st;
static struct app_config cfg;
static FILE *svc_log;
static char dir[PATH_BYTES];
static struct address vault;
static char vault_text[ADDRESS_TEXT_SIZE];
static struct txmgr tm;
static struct anchor_job job;
static char creator[IDS_UUID_SIZE];
static bool ready;
static struct recorded main_rec;

static const char *const seg_names[] = {"index0.ts", "index1.ts", "index2.ts", "index3.ts"};

/* ---- helpers ------------------------------------------------------------------------ */

/* The single value of `sql` with one text parameter ("(null)", "rows=N", "error: ..."). */
static const char *value_of(struct pg_session *pc, const char *sql, const char *param)
{
    return pg_fixture_query_value_params(pc, sql, &param, 1);
}

static void hex32(char out[67], const uint8_t b[32])
{
    ASSERT(hex_encode_0x(out, 67, b, 32) == 0);
}

/* A new stream of the test's creator. */
static bool new_stream(char id[IDS_UUID_SIZE])
{
    uint8_t key[32], ingest[32] = {1};
    char key_text[67], ingest_text[67];
    if (!ids_uuid_new(id, NULL))
        return false;
    ids_key_of(key, id);
    snprintf(key_text, sizeof key_text, "\\x");
    ASSERT(hex_encode(key_text + 2, sizeof key_text - 2, key, 32) == 0);
    snprintf(ingest_text, sizeof ingest_text, "\\x");
    ASSERT(hex_encode(ingest_text + 2, sizeof ingest_text - 2, ingest, 32) == 0);
    const char *params[4] = {id, creator, key_text, ingest_text};
    struct err e = {0};
    bool ok = pg_exec(&db.session, NULL,
                      "INSERT INTO streams (id, creator_id, stream_key, title, ingest_key_hash) "
                      "VALUES ($1::uuid, $2::uuid, $3::bytea, 'anchor test', $4::bytea)",
                      params, 4, &e) == PG_OK;
    CHECK_MSG(ok, "stream: %s", e.msg);
    return ok;
}

/* Records `per` segments in each of renditions[0..nr) through the gateway's
 * store (as its ingest does), then ends the recording when `end`. The
 * expected leaves and root go to *r. */
static bool record(struct recorded *r, const char *const *renditions, size_t nr, size_t per,
                   bool end)
{
    struct err e = {0};
    memset(r, 0, sizeof *r);
    if (!new_stream(r->id))
        return false;
    bool ok = store_recording_open(&db.session, r->id, &e) == STORE_OK &&
              store_recording_set_renditions(&db.session, r->id, renditions, nr, &e) == STORE_OK;
    for (size_t k = 0; ok && k < nr; k++) {
        for (size_t q = 0; ok && q < per; q++) {
            struct store_segment s;
            char content[96];
            memset(&s, 0, sizeof s);
            snprintf(s.stream_id, sizeof s.stream_id, "%.36s", r->id);
            snprintf(s.rendition, sizeof s.rendition, "%s", renditions[k]);
            snprintf(s.name, sizeof s.name, "%s", seg_names[q]);
            snprintf(content, sizeof content, "segment %s/%s/%zu", r->id, renditions[k], q);
            ok = store_rendition_index(&s.rendition_index, &db.session, r->id, renditions[k], &e) ==
                     STORE_OK &&
                 crypto_sha256(s.sha256, content, strlen(content), &e) == CRYPTO_OK;
            s.media_sequence = q;
            s.bytes = 1000 + q;
            s.duration_us = 2000000;
            ok = ok && store_segment_record(&db.session, &s, &e) == STORE_OK;
            struct anchor_leaf *l = &r->leaves[r->n];
            l->rendition_index = s.rendition_index;
            l->media_sequence = q;
            memcpy(l->sha256, s.sha256, 32);
            r->names[r->n++] = seg_names[q];
        }
    }
    ok = ok && (!end || store_recording_end(&db.session, r->id, &e) == STORE_OK);
    CHECK_MSG(ok, "record: %s", e.msg);
    if (ok && r->n > 0) { /* the expected root, from leaf hashes computed here */
        uint8_t hashes[16][32];
        struct merkle_tree t;
        for (size_t i = 0; i < r->n; i++)
            merkle_leaf_recording_u64(hashes[i], r->leaves[i].rendition_index,
                                      r->leaves[i].media_sequence, r->leaves[i].sha256);
        ok = merkle_tree_build(&t, (const uint8_t(*)[32])hashes, r->n, NULL) == MERKLE_OK;
        if (ok)
            merkle_tree_root(r->root, &t);
        merkle_tree_release(&t);
    }
    return ok;
}

/* The vault's recordingRoot for stream `id`. */
static void chain_root_of(uint8_t out[32], const char *id)
{
    uint8_t key[32];
    ids_key_of(key, id);
    struct abi_value arg = abi_value_bytes32(key);
    struct abi_value v = view_one(&vault, ABI_TYPE_BYTES32, "recordingRoot(bytes32)", &arg, 1);
    memcpy(out, v.as.bytes32, 32);
}

/* RecordingAnchored logs of the vault for stream `id`, from block 0. */
static size_t anchored_logs(const char *id)
{
    uint8_t key[32], topic0[32];
    char key_hex[67], topic_hex[67], vault_lower[ADDRESS_TEXT_SIZE];
    ids_key_of(key, id);
    keccak256(topic0, "RecordingAnchored(bytes32,bytes32,uint256)",
              strlen("RecordingAnchored(bytes32,bytes32,uint256)"));
    hex32(key_hex, key);
    hex32(topic_hex, topic0);
    address_format_lower(vault_lower, &vault);
    json_t *logs =
        chain_call(&chain, "eth_getLogs",
                   json_pack("[{s:s, s:s, s:s, s:[s, s]}]", "fromBlock", "0x0", "toBlock", "latest",
                             "address", vault_lower, "topics", topic_hex, key_hex));
    size_t n = json_array_size(logs);
    json_decref(logs);
    return n;
}

/* txmgr_tick, one mined block, anchor_job_tick: until `want` anchors were
 * confirmed (or DRIVE_ROUNDS_MAX rounds). Returns the anchors confirmed. */
static uint32_t drive(struct anchor_job *j, struct pg_session *pc, uint32_t want)
{
    uint32_t anchored = 0;
    for (int round = 0; round < DRIVE_ROUNDS_MAX && anchored < want; round++) {
        struct txmgr_tick_report tr;
        struct anchor_job_report ar;
        struct err e = {0};
        CHECK_MSG(txmgr_tick(&tr, &tm, pc, &chain.rpc, &e) == TXMGR_OK, "txmgr_tick: %s", e.msg);
        chain_mine(&chain, 1);
        CHECK_MSG(anchor_job_tick(&ar, j, pc, &chain.rpc, &e) == ANCHOR_OK, "tick: %s", e.msg);
        anchored += ar.anchored;
        CHECK_INT(ar.failed + ar.skipped, 0);
    }
    return anchored;
}

static struct anchor_job_report tick(void)
{
    struct anchor_job_report rep;
    struct err e = {0};
    memset(&rep, 0xee, sizeof rep);
    CHECK_MSG(anchor_job_tick(&rep, &job, &db.session, &chain.rpc, &e) == ANCHOR_OK, "tick: %s",
              e.msg);
    return rep;
}

static long get(const char *fmt, const char *id)
{
    char path[PATH_BYTES];
    snprintf(path, sizeof path, fmt, id);
    return api_request(&api, "GET", path, NULL, NULL, 0);
}

/* The last reply is a problem+json of `status`. */
static void check_problem(long status, const char *what)
{
    api_check_problem(&api, status, what);
}

/* ---- setup --------------------------------------------------------------------------- */

static bool start_service(void)
{
    char secret[PATH_BYTES + 16];
    struct err e = {0};
    if (!api_make_dir(dir, sizeof dir, "anchor", secret, sizeof secret, "service.log", "service",
                      &svc_log) ||
        !api_load_config(&cfg, db.url, vault_text, secret, dir, DOMAIN, "2"))
        return false;
    snprintf(cfg.settlement_listen, sizeof cfg.settlement_listen, "127.0.0.1:0");
    if (!st_open(&st, &cfg, svc_log, &e) || !st_start(&st, &e)) {
        printf("# settlement: %s\n", e.msg);
        return false;
    }
    api.port = http_server_port(st.http);
    api.siwe_domain = DOMAIN;
    api.chain = &chain;
    return true;
}

static void test_setup(void)
{
    struct txmgr_config c;
    struct err e = {0};
    uint8_t creator_key[32];
    char key_text[67], owner_text[43];
    ready = pg_fixture_init("anchor") && api_db_create(&db, "anchor") && deploy_vault(&vault);
    if (!ready) {
        CHECK(ready);
        return;
    }
    address_format_checksum(vault_text, &vault);
    txmgr_config_default(&c);
    c.chain_id = CHAIN_ID_ANVIL;
    c.key = &chain.key[ACCT_OPERATOR];
    c.max_fee_per_gas_cap_wei = FEE_CAP_WEI;
    c.confirmations = 2;
    ready = txmgr_init(&tm, &c, &e) == TXMGR_OK;
    CHECK_MSG(ready, "txmgr_init: %s", e.msg);
    struct anchor_job_config jc = {.chain_id = CHAIN_ID_ANVIL, .vault = vault, .log = NULL};
    anchor_job_init(&job, &jc, &tm);
    ready = ready && ids_uuid_new(creator, NULL);
    ids_key_of(creator_key, creator);
    snprintf(key_text, sizeof key_text, "\\x");
    ASSERT(hex_encode(key_text + 2, sizeof key_text - 2, creator_key, 32) == 0);
    snprintf(owner_text, sizeof owner_text, "\\x");
    ASSERT(hex_encode(owner_text + 2, sizeof owner_text - 2, chain.addr[ACCT_FAN].bytes, 20) == 0);
    const char *params[3] = {creator, owner_text, key_text};
    ready = ready && pg_exec(&db.session, NULL,
                             "INSERT INTO creators (id, owner, creator_key, name) VALUES "
                             "($1::uuid, $2::bytea, $3::bytea, 'anchor creator')",
                             params, 3, &e) == PG_OK;
    CHECK_MSG(ready, "creator: %s", e.msg);
    ready = ready && start_service();
    CHECK(ready);
}

/* ---- tests ----------------------------------------------------------------------------- */

/* Before the end: the recording is served, its evidence is not; bad ids. */
static void test_api_before_anchor(void)
{
    static const char *const one[] = {"0"};
    struct recorded live;
    char none[IDS_UUID_SIZE];
    CHECK(record(&live, one, 1, 2, false));
    CHECK_INT(get("/v1/recordings/%s", live.id), 200);
    json_t *j = api_reply_json(&api);
    char key[67];
    uint8_t k[32];
    ids_key_of(k, live.id);
    hex32(key, k);
    CHECK_STR(api_str_at(j, "stream_id"), live.id);
    CHECK_STR(api_str_at(j, "stream_key"), key);
    CHECK_STR(api_str_at(j, "status"), "recording");
    CHECK_INT(json_integer_value(json_object_get(j, "segment_count")), 2);
    CHECK(json_is_null(json_object_get(j, "merkle_root")));
    CHECK(json_is_null(json_object_get(j, "tx_hash")));
    CHECK(json_is_null(json_object_get(j, "block_number")));
    CHECK(json_is_null(json_object_get(j, "anchor_status")));
    json_decref(j);
    CHECK_INT(get("/v1/recordings/%s/evidence", live.id), 404);
    check_problem(404, "evidence while recording");
    CHECK(strstr(api.rep.body, "is recording") != NULL);

    CHECK_INT(get("/v1/recordings/%s", "not-a-uuid"), 400);
    check_problem(400, "bad id");
    CHECK_INT(get("/v1/recordings/%s/evidence", "5B0F3C1E-8A2D-4F6B-9C7E-1D2A3B4C5D6E"), 400);
    check_problem(400, "uppercase id");
    CHECK(ids_uuid_new(none, NULL));
    CHECK_INT(get("/v1/recordings/%s", none), 404);
    check_problem(404, "unknown stream");
    CHECK_INT(get("/v1/recordings/%s/evidence", none), 404);
    CHECK(new_stream(none)); /* a stream that never recorded */
    CHECK_INT(get("/v1/recordings/%s", none), 404);
    CHECK(strstr(api.rep.body, "has no recording") != NULL);

    /* the job leaves a recording in progress alone */
    struct anchor_job_report rep = tick();
    CHECK_INT(rep.submitted + rep.anchored + rep.failed + rep.skipped, 0);
    CHECK_STR(value_of(&db.session,
                       "SELECT count(*) FROM recording_anchors WHERE stream_id = "
                       "$1::uuid",
                       live.id),
              "0");
}

/* An ended recording: submitted once, confirmed once, whatever the retries. */
static void test_anchor_exactly_once(void)
{
    static const char *const ladder[] = {"720p", "480p"};
    struct recorded *r = &main_rec;
    char purpose[ANCHOR_PURPOSE_SIZE], root_hex[67];
    CHECK(record(r, ladder, 2, 3, true));
    snprintf(purpose, sizeof purpose, "anchor:%.36s", r->id);
    hex32(root_hex, r->root);
    struct anchor_job_report rep = tick();
    CHECK_INT(rep.submitted, 1);
    CHECK_INT(rep.anchored + rep.failed + rep.skipped, 0);
    CHECK_STR(value_of(&db.session,
                       "SELECT status || ' ' || segment_count || ' ' || "
                       "array_to_string(renditions, ',') FROM recording_anchors "
                       "WHERE stream_id = $1::uuid",
                       r->id),
              "submitted 6 720p,480p");
    CHECK_STR(
        value_of(&db.session, "SELECT status FROM recordings WHERE stream_id = $1::uuid", r->id),
        "ended");
    CHECK_INT(get("/v1/recordings/%s", r->id), 200);
    json_t *j = api_reply_json(&api);
    CHECK_STR(api_str_at(j, "status"), "ended");
    CHECK_STR(api_str_at(j, "anchor_status"), "submitted");
    CHECK_STR(api_str_at(j, "merkle_root"), root_hex);
    CHECK(json_is_null(json_object_get(j, "tx_hash")));
    json_decref(j);
    CHECK_INT(get("/v1/recordings/%s/evidence", r->id), 404);
    CHECK(strstr(api.rep.body, "its anchor submitted") != NULL);

    rep = tick(); /* a retry before anything is mined: nothing new */
    CHECK_INT(rep.submitted + rep.anchored + rep.failed + rep.skipped, 0);
    CHECK_STR(value_of(&db.session, "SELECT count(*) FROM chain_txs WHERE purpose = $1", purpose),
              "1");

    CHECK_INT(drive(&job, &db.session, 1), 1);
    uint8_t onchain[32];
    chain_root_of(onchain, r->id);
    CHECK_MEM(onchain, r->root, 32);
    CHECK_INT(anchored_logs(r->id), 1);
    struct txmgr_tx tx;
    char tx_hex[67];
    CHECK_INT(txmgr_get(&tx, &db.session, purpose, NULL), TXMGR_OK);
    CHECK_INT(tx.status, TXMGR_CONFIRMED);
    hex32(tx_hex, tx.tx_hash);
    char want[256];
    snprintf(want, sizeof want, "anchored %s %s %" PRIu64, root_hex + 2, tx_hex + 2,
             tx.block_number);
    CHECK_STR(value_of(&db.session,
                       "SELECT r.status || ' ' || encode(r.merkle_root, 'hex') || "
                       "' ' || encode(r.anchor_tx_hash, 'hex') || ' ' || "
                       "r.anchor_block FROM recordings r WHERE stream_id = $1::uuid",
                       r->id),
              want);
    snprintf(want, sizeof want, "anchored %s %" PRIu64, tx_hex + 2, tx.block_number);
    CHECK_STR(value_of(&db.session,
                       "SELECT status || ' ' || encode(tx_hash, 'hex') || ' ' || "
                       "block_number FROM recording_anchors WHERE stream_id = "
                       "$1::uuid",
                       r->id),
              want);

    for (int i = 0; i < 3; i++) { /* more rounds change nothing */
        struct txmgr_tick_report tr;
        CHECK_INT(txmgr_tick(&tr, &tm, &db.session, &chain.rpc, NULL), TXMGR_OK);
        rep = tick();
        CHECK_INT(rep.submitted + rep.anchored + rep.failed + rep.skipped, 0);
    }
    CHECK_STR(value_of(&db.session, "SELECT count(*) FROM chain_txs WHERE purpose = $1", purpose),
              "1");
    CHECK_INT(anchored_logs(r->id), 1);

    CHECK_INT(get("/v1/recordings/%s", r->id), 200);
    j = api_reply_json(&api);
    CHECK_STR(api_str_at(j, "status"), "anchored");
    CHECK_STR(api_str_at(j, "anchor_status"), "anchored");
    CHECK_INT(json_integer_value(json_object_get(j, "segment_count")), 6);
    CHECK_STR(api_str_at(j, "merkle_root"), root_hex);
    CHECK_STR(api_str_at(j, "tx_hash"), tx_hex);
    CHECK_INT(json_integer_value(json_object_get(j, "block_number")), tx.block_number);
    json_decref(j);
}

/* Every evidence field, from the API and from anchor_evidence() alike. */
static void test_evidence_fields(void)
{
    struct recorded *r = &main_rec;
    char purpose[ANCHOR_PURPOSE_SIZE], hex[67], want_key[67];
    uint8_t k[32];
    struct txmgr_tx tx;
    snprintf(purpose, sizeof purpose, "anchor:%.36s", r->id);
    CHECK_INT(txmgr_get(&tx, &db.session, purpose, NULL), TXMGR_OK);
    ids_key_of(k, r->id);
    hex32(want_key, k);

    CHECK_INT(get("/v1/recordings/%s/evidence", r->id), 200);
    CHECK_STR(api.rep.content_type, "application/json");
    struct buf direct;
    buf_init(&direct, ANCHOR_EVIDENCE_BYTES_MAX);
    CHECK_INT(anchor_evidence(&direct, &db.session, r->id, NULL), ANCHOR_OK);
    CHECK(direct.len == api.rep.body_len && memcmp(direct.data, api.rep.body, direct.len) == 0);
    buf_release(&direct);

    json_t *j = api_reply_json(&api);
    CHECK_INT(json_integer_value(json_object_get(j, "chain_id")), 31337);
    CHECK_STR(api_str_at(j, "vault"), vault_text);
    CHECK_STR(api_str_at(j, "stream_id"), r->id);
    CHECK_STR(api_str_at(j, "stream_key"), want_key);
    hex32(hex, r->root);
    CHECK_STR(api_str_at(j, "root"), hex);
    hex32(hex, tx.tx_hash);
    CHECK_STR(api_str_at(j, "tx_hash"), hex);
    CHECK_INT(json_integer_value(json_object_get(j, "block_number")), tx.block_number);
    char tag[24];
    snprintf(tag, sizeof tag, "0x%" PRIx64, tx.block_number);
    json_t *block = chain_call(&chain, "eth_getBlockByNumber", json_pack("[s, b]", tag, 0));
    uint64_t ts = 0;
    CHECK(rpc_parse_quantity_u64(&ts, json_object_get(block, "timestamp"), NULL) == RPC_OK);
    CHECK_INT(json_integer_value(json_object_get(j, "block_timestamp")), ts);
    json_decref(block);
    json_t *want_renditions = json_pack("[s, s]", "720p", "480p");
    CHECK(json_equal(json_object_get(j, "renditions"), want_renditions));
    json_decref(want_renditions);
    json_t *types = json_pack("[s, s, s]", "uint256", "uint256", "bytes32");
    CHECK(json_equal(json_object_get(j, "leaf_types"), types));

    json_t *leaves = json_object_get(j, "leaves"), *segs = json_object_get(j, "segments");
    CHECK_INT(json_array_size(leaves), r->n);
    CHECK_INT(json_array_size(segs), r->n);
    for (size_t i = 0; i < r->n && i < json_array_size(leaves); i++) { /* 720p 0..2, 480p 0..2 */
        const struct anchor_leaf *l = &r->leaves[i];
        hex32(hex, l->sha256);
        json_t *want_leaf = json_pack("[I, I, s]", (json_int_t)l->rendition_index,
                                      (json_int_t)l->media_sequence, hex);
        CHECK_MSG(json_equal(json_array_get(leaves, i), want_leaf), "leaf %zu", i);
        json_decref(want_leaf);
        json_t *s = json_array_get(segs, i);
        CHECK_INT(json_integer_value(json_object_get(s, "rendition")), l->rendition_index);
        CHECK_INT(json_integer_value(json_object_get(s, "sequence")), l->media_sequence);
        CHECK_STR(api_str_at(s, "name"), r->names[i]);
        CHECK_INT(json_integer_value(json_object_get(s, "bytes")), 1000 + l->media_sequence);
        CHECK_INT(l->rendition_index, i / 3);
    }

    json_t *tree = json_object_get(j, "tree"), *values = json_object_get(tree, "values");
    CHECK_STR(api_str_at(tree, "format"), "standard-v1");
    CHECK(json_equal(json_object_get(tree, "leafEncoding"), types));
    CHECK_INT(json_array_size(json_object_get(tree, "tree")), 2 * r->n - 1);
    hex32(hex, r->root);
    CHECK_STR(json_string_value(json_array_get(json_object_get(tree, "tree"), 0)), hex);
    CHECK_INT(json_array_size(values), r->n);
    hex32(hex, r->leaves[4].sha256);
    json_t *want_value = json_pack("[s, s, s]", "1", "1", hex);
    CHECK(json_equal(json_object_get(json_array_get(values, 4), "value"), want_value));
    json_decref(want_value);
    json_decref(types);
    json_decref(j);
}

struct runner {
    pthread_barrier_t *start;
    struct anchor_job_report rep;
    bool confirm; /* confirm phase: nothing new is expected to be submitted */
    bool ok;
    char error[ERR_MSG_MAX];
};

/* One anchor job on its own session and client, started with the other. */
static void *run_job(void *arg)
{
    struct runner *r = arg;
    struct pg_session pc = {0};
    struct rpc_client rpc = {0};
    struct anchor_job j;
    struct err e = {0};
    char url[CONFIG_URL_BYTES_MAX + 1];
    struct anchor_job_config jc = {.chain_id = CHAIN_ID_ANVIL, .vault = vault, .log = NULL};
    anchor_job_init(&j, &jc, &tm);
    r->ok = pg_connect(&pc, db.url, PG_FIXTURE_CONNECT_TIMEOUT_S, &e) == PG_OK &&
            chain_load_rpc_url(url, &e) && rpc_client_init(&rpc, url, NULL, &e) == RPC_OK;
    pthread_barrier_wait(r->start);
    r->ok = r->ok && anchor_job_tick(&r->rep, &j, &pc, &rpc, &e) == ANCHOR_OK;
    snprintf(r->error, sizeof r->error, "%s", e.msg);
    rpc_client_release(&rpc);
    pg_release(&pc);
    return NULL;
}

/* Runs two anchor jobs at once; the sums of their reports. */
static struct anchor_job_report run_two(void)
{
    pthread_barrier_t start;
    struct runner rs[2];
    pthread_t th[2];
    struct anchor_job_report sum = {0};
    memset(rs, 0, sizeof rs);
    pthread_barrier_init(&start, NULL, 2);
    for (int i = 0; i < 2; i++) {
        rs[i].start = &start;
        CHECK(pthread_create(&th[i], NULL, run_job, &rs[i]) == 0);
    }
    for (int i = 0; i < 2; i++) {
        pthread_join(th[i], NULL);
        CHECK_MSG(rs[i].ok, "job %d: %s", i, rs[i].error);
        sum.submitted += rs[i].rep.submitted;
        sum.anchored += rs[i].rep.anchored;
        sum.failed += rs[i].rep.failed;
        sum.skipped += rs[i].rep.skipped;
    }
    pthread_barrier_destroy(&start);
    return sum;
}

/* Two anchor jobs at once over the same ended recordings: each recording
 * gets one row, one transaction and one on-chain anchor. */
static void test_concurrent_anchor_runs(void)
{
    static const char *const ladder[] = {"0", "1"};
    struct recorded recs[CONCURRENT_RECORDINGS];
    for (size_t i = 0; i < CONCURRENT_RECORDINGS; i++)
        CHECK(record(&recs[i], ladder, 2, 1 + i % 3, true));
    struct anchor_job_report sum = run_two();
    CHECK_INT(sum.submitted, CONCURRENT_RECORDINGS);
    CHECK_INT(sum.failed, 0);
    for (size_t i = 0; i < CONCURRENT_RECORDINGS; i++) {
        char purpose[ANCHOR_PURPOSE_SIZE];
        snprintf(purpose, sizeof purpose, "anchor:%.36s", recs[i].id);
        CHECK_STR(
            value_of(&db.session, "SELECT count(*) FROM chain_txs WHERE purpose = $1", purpose),
            "1");
        CHECK_STR(value_of(&db.session,
                           "SELECT status FROM recording_anchors WHERE stream_id = "
                           "$1::uuid",
                           recs[i].id),
                  "submitted");
    }
    sum = run_two(); /* again, before anything is mined: nothing */
    CHECK_INT(sum.submitted + sum.anchored + sum.failed, 0);

    uint32_t anchored = 0;
    for (int round = 0; round < DRIVE_ROUNDS_MAX && anchored < CONCURRENT_RECORDINGS; round++) {
        struct txmgr_tick_report tr;
        CHECK_INT(txmgr_tick(&tr, &tm, &db.session, &chain.rpc, NULL), TXMGR_OK);
        chain_mine(&chain, 1);
        sum = run_two();
        anchored += sum.anchored;
        CHECK_INT(sum.submitted + sum.failed, 0);
    }
    CHECK_INT(anchored, CONCURRENT_RECORDINGS);
    for (size_t i = 0; i < CONCURRENT_RECORDINGS; i++) {
        uint8_t onchain[32];
        chain_root_of(onchain, recs[i].id);
        CHECK_MEM(onchain, recs[i].root, 32);
        CHECK_INT(anchored_logs(recs[i].id), 1);
        CHECK_STR(value_of(&db.session, "SELECT status FROM recordings WHERE stream_id = $1::uuid",
                           recs[i].id),
                  "anchored");
    }
}

/* After the end no segment joins; an anchor row's fixed fields never change. */
static void test_frozen_after_end(void)
{
    struct recorded *r = &main_rec;
    struct store_segment s;
    struct err e = {0};
    memset(&s, 0, sizeof s);
    snprintf(s.stream_id, sizeof s.stream_id, "%.36s", r->id);
    snprintf(s.rendition, sizeof s.rendition, "720p");
    snprintf(s.name, sizeof s.name, "index3.ts");
    s.media_sequence = 3;
    s.bytes = 5;
    s.duration_us = 1;
    CHECK_INT(store_segment_record(&db.session, &s, &e), STORE_ERR_CONFLICT);
    /* the same segment again is fine (ffmpeg retries) */
    memcpy(s.sha256, r->leaves[0].sha256, 32);
    snprintf(s.name, sizeof s.name, "index0.ts");
    s.media_sequence = 0;
    s.bytes = 1000;
    s.duration_us = 2000000;
    CHECK_INT(store_segment_record(&db.session, &s, &e), STORE_OK);
    /* a direct insert that skips the store's check is skipped by the trigger */
    CHECK_STR(
        value_of(&db.session,
                 "WITH i AS (INSERT INTO segments (stream_id, rendition_index, rendition, "
                 "media_sequence, name, sha256, bytes, duration_us) VALUES ($1::uuid, 0, "
                 "'720p', 9, 'index9.ts', decode(repeat('ab', 32), 'hex'), 1, 1) RETURNING 1) "
                 "SELECT count(*) FROM i",
                 r->id),
        "0");
    CHECK_STR(
        value_of(&db.session, "SELECT count(*) FROM segments WHERE stream_id = $1::uuid", r->id),
        "6");
    CHECK(strstr(value_of(&db.session,
                          "UPDATE recording_anchors SET merkle_root = "
                          "'\\x0000000000000000000000000000000000000000000000000000000"
                          "000000000' WHERE stream_id = $1::uuid RETURNING 1",
                          r->id),
                 "is fixed") != NULL);
    CHECK(strstr(value_of(&db.session,
                          "UPDATE recording_anchors SET status = 'failed', failure = "
                          "'x' WHERE stream_id = $1::uuid RETURNING 1",
                          r->id),
                 "is final") != NULL);
    CHECK(strstr(value_of(&db.session,
                          "DELETE FROM recording_anchors WHERE stream_id = $1::uuid "
                          "RETURNING 1",
                          r->id),
                 "never deleted") != NULL);
}

/* A recording that ended without a segment has nothing to anchor. */
static void test_nothing_to_anchor(void)
{
    static const char *const one[] = {"0"};
    struct recorded empty;
    CHECK(record(&empty, one, 1, 0, true));
    struct anchor_job_report rep = tick();
    CHECK_INT(rep.submitted + rep.anchored + rep.failed + rep.skipped, 0);
    CHECK_STR(
        value_of(&db.session, "SELECT status FROM recordings WHERE stream_id = $1::uuid", empty.id),
        "ended");
    CHECK_STR(value_of(&db.session,
                       "SELECT count(*) FROM recording_anchors WHERE stream_id = "
                       "$1::uuid",
                       empty.id),
              "0");
}

/* A root put on chain outside the service (the operator key used
 * directly): the anchor fails at once and nothing is sent. */
static void test_foreign_root(void)
{
    static const char *const one[] = {"0"};
    struct recorded r;
    char purpose[ANCHOR_PURPOSE_SIZE];
    CHECK(record(&r, one, 1, 2, false));
    uint8_t key[32], rogue[32];
    ids_key_of(key, r.id);
    memset(rogue, 0x5a, 32);
    struct abi_value args[3] = {abi_value_bytes32(key), abi_value_bytes32(rogue), abi_value_u64(7)};
    struct txsend_outcome o;
    CHECK_INT(send_call(&o, ACCT_OPERATOR, &vault, 0, "anchorRecording(bytes32,bytes32,uint256)",
                        args, 3),
              TXSEND_OK);
    txsend_outcome_release(&o);
    struct err e = {0};
    CHECK(store_recording_end(&db.session, r.id, &e) == STORE_OK);
    uint64_t nonce_before = nonce_of(&chain.addr[ACCT_OPERATOR]);
    struct anchor_job_report rep = tick();
    CHECK_INT(rep.failed, 1);
    CHECK_INT(rep.submitted + rep.anchored + rep.skipped, 0);
    CHECK_STR(value_of(&db.session,
                       "SELECT status || ': ' || failure FROM recording_anchors "
                       "WHERE stream_id = $1::uuid",
                       r.id),
              "failed: the vault already holds root 0x5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a"
              "5a5a5a5a5a5a5a5a5a5a5a5a for this stream (anchored outside this service): "
              "nothing sent");
    snprintf(purpose, sizeof purpose, "anchor:%.36s", r.id);
    CHECK_STR(value_of(&db.session, "SELECT count(*) FROM chain_txs WHERE purpose = $1", purpose),
              "0");
    rep = tick();
    CHECK_INT(rep.submitted + rep.anchored + rep.failed + rep.skipped, 0);
    CHECK_INT(nonce_of(&chain.addr[ACCT_OPERATOR]), nonce_before);
    CHECK_INT(get("/v1/recordings/%s", r.id), 200);
    json_t *j = api_reply_json(&api);
    CHECK_STR(api_str_at(j, "status"), "ended");
    CHECK_STR(api_str_at(j, "anchor_status"), "failed");
    json_decref(j);
    CHECK_INT(get("/v1/recordings/%s/evidence", r.id), 404);
    CHECK(strstr(api.rep.body, "its anchor failed") != NULL);
}

/* A segment altered behind the triggers' back (as a superuser): the
 * evidence is refused (500), never served with a wrong leaf. */
static void test_tampered_segment(void)
{
    struct recorded *r = &main_rec;
    struct err e = {0};
    const char *id = r->id;
    CHECK(pg_exec_script(&db.session, "ALTER TABLE segments DISABLE TRIGGER segments_append_only",
                         &e) == PG_OK);
    CHECK(pg_exec(&db.session, NULL,
                  "UPDATE segments SET sha256 = '\\x0000000000000000000000000000000000000000000000"
                  "000000000000000000' WHERE stream_id = $1::uuid AND media_sequence = 1 AND "
                  "rendition_index = 1",
                  &id, 1, &e) == PG_OK);
    CHECK(pg_exec_script(&db.session, "ALTER TABLE segments ENABLE TRIGGER segments_append_only",
                         &e) == PG_OK);
    struct buf out;
    buf_init(&out, ANCHOR_EVIDENCE_BYTES_MAX);
    CHECK_INT(anchor_evidence(&out, &db.session, id, &e), ANCHOR_ERR_CORRUPT);
    CHECK(strstr(e.msg, "no longer give the anchored root") != NULL);
    CHECK_INT(out.len, 0);
    buf_release(&out);
    CHECK_INT(get("/v1/recordings/%s/evidence", id), 500);
    check_problem(500, "tampered evidence");
}

int main(void)
{
    if (!api_chain_open(&chain))
        return 1;
    RUN(test_setup);
    if (ready) {
        RUN(test_api_before_anchor);
        RUN(test_anchor_exactly_once);
        RUN(test_evidence_fields);
        RUN(test_concurrent_anchor_runs);
        RUN(test_frozen_after_end);
        RUN(test_nothing_to_anchor);
        RUN(test_foreign_root);
        RUN(test_tampered_segment);
    }
    st_stop(&st);
    if (svc_log != NULL)
        fclose(svc_log);
    api_db_drop(&db);
    chain_close(&chain);
    return harness_finish();
}
