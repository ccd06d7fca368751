/* test_gateway_media.c - HLS ingest and the HLS origin of a real gateway run
 * in-process (server.h) against the runner's PostgreSQL (a fresh schema with
 * the migrations), anvil (a vault and a RightsPass the fan mints) and the
 * real ffmpeg.
 *
 * Publishing: the issue's ffmpeg command (-f hls -method PUT -headers
 * "Authorization: Bearer KEY" -master_pl_name master.m3u8 -var_stream_map
 * "v:0,a:0 v:1,a:1" .../ingest/ID/%v/index.m3u8), two renditions, 3 seconds,
 * through a recording proxy (put_recorder.h), so what the gateway stores and
 * serves is compared with the bytes ffmpeg really sent: segments rows with
 * the sha256 of those bytes and of the stored files, rendition indexes, the
 * recording ended, no upload refused; a fan with a pass gets every playlist
 * with a fresh token on every URI and otherwise byte-identical, every
 * segment byte-identical, byte ranges. Then every refusal with its exact
 * status and nothing changed: tokens (missing, tampered, expired, of another
 * stream, a session as a playback token), a viewer without access (402),
 * path traversal (.., %2e%2e, %00, backslash, absolute, planted symlinks),
 * ingest with a wrong or no key, garbage segments and playlists, a changed
 * segment, renditions without an index, an older version of a playlist, a
 * PUT after the recording ended; a media playlist listing a segment not
 * uploaded yet is served cut before it, and that segment's arrival ends the
 * recording; an fMP4 publish (init segment + .m4s). ffmpeg does not wait for
 * answers, so the tests wait for the recording to end and read the
 * gateway's log for refusals. Logs never hold a key or token. */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "crypto.h"
#include "harness.h"
#include "ids.h"
#include "migrate.h"
#include "pg_fixture.h"
#include "put_recorder.h"
#include "server.h"
#include "vault_fixture.h"

#define ACCT_OWNER 5
#define ACCT_NOBODY 7
#define S1 "6c1f0e2a-3b4d-4e5f-8a9b-1c2d3e4f5a6b" /* ffmpeg MPEG-TS publish */
#define S2 "7d2a1b3c-4e5f-4a6b-9c7d-2e3f4a5b6c7d" /* ingest refusals, by hand */
#define S3 "8e3b2c4d-5f6a-4b7c-8d9e-3f4a5b6c7d8e" /* ffmpeg fMP4 publish */
#define S4 "9f4c3d5e-6a7b-4c8d-9e0f-4a5b6c7d8e9f" /* no row: a symlinked directory */
#define CREATOR "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d"
#define REPLY_BYTES_MAX ((size_t)64 << 20)
#define HEADERS_BYTES_MAX 8192
#define PATH_BYTES 1024
#define CMD_BYTES 4096

struct reply {
    long status;
    struct buf body;
    char headers[HEADERS_BYTES_MAX];
    size_t headers_len;
};

static struct pg_session db;
static char schema[64];
static struct gw_server server;
static struct put_recorder rec;
static struct token_keys keys;
static struct address vault, pass;
static char tmp_dir[512], media_dir[600], log_path[600], rpc_url[CONFIG_URL_BYTES_MAX + 1];
static const char *video_codec = "mpeg4";
static uint16_t port;
static FILE *log_fp;
static const char *const ingest_keys[3] = {"Kx7_q-Zt3Lw9Pm2Rv8Nc4Hb6-one",
                                           "Kx7_q-Zt3Lw9Pm2Rv8Nc4Hb6-two",
                                           "Kx7_q-Zt3Lw9Pm2Rv8Nc4Hb6-three"};
static const char *const stream_ids[3] = {S1, S2, S3};

/* ---- HTTP client ------------------------------------------------------------------- */

static size_t on_body(char *p, size_t size, size_t n, void *ctx)
{
    struct reply *r = ctx;
    return buf_append(&r->body, p, size * n) == BUF_OK ? size * n : 0;
}

static size_t on_header(char *p, size_t size, size_t n, void *ctx)
{
    struct reply *r = ctx;
    size_t len = size * n;
    if (r->headers_len + len < sizeof r->headers) {
        memcpy(r->headers + r->headers_len, p, len);
        r->headers_len += len;
        r->headers[r->headers_len] = '\0';
    }
    return len;
}

/* method path (sent as is: no dot-segment cleanup) with an optional Bearer,
 * one optional extra header and an optional body. */
static void request(struct reply *r, const char *method, const char *path, const char *bearer,
                    const char *header, const void *body, size_t body_len)
{
    char url[PATH_BYTES + 64], auth[HTTP_BEARER_BYTES_MAX + 32];
    memset(r, 0, sizeof *r);
    buf_init(&r->body, REPLY_BYTES_MAX);
    snprintf(url, sizeof url, "http://127.0.0.1:%u%s", port, path);
    struct curl_slist *h = NULL;
    if (bearer != NULL) {
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", bearer);
        h = curl_slist_append(h, auth);
    }
    if (header != NULL)
        h = curl_slist_append(h, header);
    CURL *c = curl_easy_init();
    ASSERT(c != NULL);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
    if (body != NULL) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
    }
    CURLcode rc = curl_easy_perform(c);
    CHECK_MSG(rc == CURLE_OK, "%s %s: %s", method, path, curl_easy_strerror(rc));
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    curl_easy_cleanup(c);
    curl_slist_free_all(h);
}

static void reply_release(struct reply *r)
{
    buf_release(&r->body);
}

/* The value of response header `name` ("" when absent), in a static buffer. */
static const char *reply_header(const struct reply *r, const char *name)
{
    static char value[1024];
    size_t name_len = strlen(name);
    value[0] = '\0';
    for (const char *line = r->headers; line != NULL && *line != '\0';) {
        const char *end = strstr(line, "\r\n");
        if (strncasecmp(line, name, name_len) == 0 && line[name_len] == ':') {
            const char *v = line + name_len + 1;
            while (*v == ' ')
                v++;
            size_t len = end != NULL ? (size_t)(end - v) : strlen(v);
            snprintf(value, sizeof value, "%.*s", (int)len, v);
        }
        line = end != NULL ? end + 2 : NULL;
    }
    return value;
}

/* GET path, answered `status` with a problem+json of that status. */
static void expect_problem(const char *method, const char *path, const char *bearer, long status)
{
    struct reply r;
    request(&r, method, path, bearer, NULL, NULL, 0);
    CHECK_MSG(r.status == status, "%s %s: %ld, want %ld: %s", method, path, r.status, status,
              r.body.data != NULL ? (const char *)r.body.data : "");
    CHECK_STR(reply_header(&r, "Content-Type"), "application/problem+json");
    char want[32];
    snprintf(want, sizeof want, "\"status\":%ld", status);
    CHECK(r.body.data != NULL && strstr((const char *)r.body.data, want) != NULL);
    reply_release(&r);
}

static long put_status(const char *path, const char *key, const void *body, size_t len)
{
    struct reply r;
    request(&r, "PUT", path, key, NULL, body, len);
    long status = r.status;
    reply_release(&r);
    return status;
}

/* ---- tokens, files, rows ----------------------------------------------------------- */

static void session_of(char out[TOKEN_TEXT_SIZE], size_t acct)
{
    ASSERT(token_session_issue(out, NULL, &keys, &chain.addr[acct], (int64_t)time(NULL), NULL) ==
           TOKEN_OK);
}

static void playback_of(char out[TOKEN_TEXT_SIZE], const char *stream, size_t acct, int64_t now)
{
    ASSERT(token_playback_issue(out, NULL, &keys, stream, &chain.addr[acct], now, 60, NULL) ==
           TOKEN_OK);
}

/* MEDIA_DIR/rel whole (NULL when missing); *len_out its size. Caller frees. */
static uint8_t *media_file(const char *rel, size_t *len_out)
{
    char path[PATH_BYTES];
    snprintf(path, sizeof path, "%s/%s", media_dir, rel);
    *len_out = 0;
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    uint8_t *data = malloc(REPLY_BYTES_MAX);
    size_t n = data != NULL ? fread(data, 1, REPLY_BYTES_MAX, f) : 0;
    fclose(f);
    *len_out = n;
    return data;
}

static bool media_exists(const char *rel)
{
    char path[PATH_BYTES];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", media_dir, rel);
    return lstat(path, &st) == 0;
}

static void sha_hex(char out[65], const void *data, size_t len)
{
    uint8_t h[32];
    ASSERT(crypto_sha256(h, data, len, NULL) == CRYPTO_OK);
    ASSERT(hex_encode(out, 65, h, 32) == 0);
}

/* The single value of a query with one text parameter, as text. */
static const char *query1(const char *sql, const char *param)
{
    static char out[256];
    PGresult *res = NULL;
    struct err e = {0};
    const char *params[1] = {param};
    if (pg_exec(&db, &res, sql, params, param != NULL ? 1 : 0, &e) != PG_OK) {
        snprintf(out, sizeof out, "error: %s", e.msg);
        return out;
    }
    snprintf(out, sizeof out, "%s",
             PQntuples(res) == 1 && !PQgetisnull(res, 0, 0) ? PQgetvalue(res, 0, 0) : "(none)");
    PQclear(res);
    return out;
}

/* ---- setup ------------------------------------------------------------------------- */

/* The creator with its pass, and streams S1..S3 gated by it, each with its
 * ingest key's sha256; bytea travel as hex text. */
static bool seed_rows(void)
{
    uint8_t ckey[32];
    char owner[41], contract[41], ck[65];
    struct err e = {0};
    ids_key_of(ckey, CREATOR);
    ASSERT(hex_encode(owner, sizeof owner, chain.addr[ACCT_OWNER].bytes, 20) == 0 &&
           hex_encode(contract, sizeof contract, pass.bytes, 20) == 0 &&
           hex_encode(ck, sizeof ck, ckey, 32) == 0);
    const char *c[4] = {CREATOR, owner, ck, contract};
    bool ok = pg_exec(&db, NULL,
                      "WITH c AS (INSERT INTO creators (id, owner, creator_key, name) VALUES "
                      "($1, decode($2, 'hex'), decode($3, 'hex'), 'Creator') RETURNING id) "
                      "INSERT INTO passes (contract, creator_id, name, symbol, price_wei, "
                      "max_supply, royalty_bps) SELECT decode($4, 'hex'), id, 'Pass', 'P', "
                      "25000000000000007, 10, 500 FROM c",
                      c, 4, &e) == PG_OK;
    for (size_t i = 0; ok && i < 3; i++) {
        uint8_t skey[32], khash[32];
        char sk[65], kh[65];
        ids_key_of(skey, stream_ids[i]);
        ASSERT(crypto_sha256(khash, ingest_keys[i], strlen(ingest_keys[i]), NULL) == CRYPTO_OK);
        ASSERT(hex_encode(sk, sizeof sk, skey, 32) == 0 &&
               hex_encode(kh, sizeof kh, khash, 32) == 0);
        const char *sv[5] = {stream_ids[i], CREATOR, sk, kh, contract};
        ok = pg_exec(&db, NULL,
                     "WITH s AS (INSERT INTO streams (id, creator_id, stream_key, title, "
                     "ingest_key_hash) VALUES ($1, $2, decode($3, 'hex'), 'Live', "
                     "decode($4, 'hex')) RETURNING id) INSERT INTO stream_passes (stream_id, "
                     "contract, min_balance) SELECT id, decode($5, 'hex'), 1 FROM s",
                     sv, 5, &e) == PG_OK;
    }
    CHECK_MSG(ok, "%s", e.msg);
    return ok;
}

/* TEST_TMPDIR/gwmedia_XXXXXX with media/, the log and auth.secret (0600). */
static bool make_files(char *secret_path, size_t size)
{
    uint8_t secret[32];
    char hex[65];
    const char *base = getenv("TEST_TMPDIR");
    snprintf(tmp_dir, sizeof tmp_dir, "%s/gwmedia_XXXXXX", base != NULL ? base : "/tmp");
    if (mkdtemp(tmp_dir) == NULL)
        return false;
    snprintf(media_dir, sizeof media_dir, "%s/media", tmp_dir);
    snprintf(log_path, sizeof log_path, "%s/gateway.log", tmp_dir);
    snprintf(secret_path, size, "%s/auth.secret", tmp_dir);
    ASSERT(crypto_random_bytes(secret, sizeof secret, NULL) == CRYPTO_OK);
    ASSERT(hex_encode(hex, sizeof hex, secret, sizeof secret) == 0);
    int fd = open(secret_path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    bool ok = fd >= 0 && write(fd, hex, 64) == 64;
    if (fd >= 0)
        close(fd);
    ok = ok && token_keys_init(&keys, secret, sizeof secret, NULL) == TOKEN_OK;
    crypto_wipe(secret, sizeof secret);
    log_fp = fopen(log_path, "w+");
    return ok && log_fp != NULL;
}

/* "NAME=value" into out; aborts when it does not fit. */
static void env_var(char *out, size_t size, const char *name, const char *value)
{
    int n = snprintf(out, size, "%s=%s", name, value);
    ASSERT(n > 0 && (size_t)n < size);
}

/* The gateway's configuration through the project's own table. */
static bool start_gateway(const char *secret_path)
{
    char db_url[CONFIG_DATABASE_URL_BYTES_MAX + 1], vault_hex[ADDRESS_TEXT_SIZE];
    static char vars[8][CONFIG_URL_BYTES_MAX + 64];
    address_format_checksum(vault_hex, &vault);
    int n = snprintf(db_url, sizeof db_url, "%s%coptions=-csearch_path%%3D%s", pg_fixture_db_url,
                     strchr(pg_fixture_db_url, '?') != NULL ? '&' : '?', schema);
    ASSERT(n > 0 && (size_t)n < sizeof db_url);
    env_var(vars[0], sizeof vars[0], "DATABASE_URL", db_url);
    env_var(vars[1], sizeof vars[1], "ETH_RPC_URL", rpc_url);
    env_var(vars[2], sizeof vars[2], "VAULT_ADDRESS", vault_hex);
    env_var(vars[3], sizeof vars[3], "AUTH_SECRET_FILE", secret_path);
    env_var(vars[4], sizeof vars[4], "MEDIA_DIR", media_dir);
    env_var(vars[5], sizeof vars[5], "GATEWAY_LISTEN", "127.0.0.1:9"); /* then port 0 */
    env_var(vars[6], sizeof vars[6], "WEB_DIR", "services/gateway/web");
    env_var(vars[7], sizeof vars[7], "CHAIN_ID", "31337");
    const char *envp[9] = {vars[0], vars[1], vars[2], vars[3], vars[4],
                           vars[5], vars[6], vars[7], NULL};
    struct app_config cfg;
    struct config_errors errs;
    struct err e = {0};
    if (config_load_app(&cfg, config_lookup_envp, envp, &errs) != CONFIG_OK) {
        printf("# config: %s\n", errs.items[0].e.msg);
        return false;
    }
    snprintf(cfg.gateway_listen, sizeof cfg.gateway_listen, "127.0.0.1:0"); /* ephemeral */
    if (!gw_open(&server, &cfg, log_fp, &e) || !gw_start(&server, &e)) {
        printf("# gateway: %s\n", e.msg);
        return false;
    }
    port = http_server_port(server.http);
    return port != 0;
}

/* A fresh schema with the migrations, the contracts (the fan holds a
 * pass), the rows, the files and a serving gateway. */
static bool setup(void)
{
    struct err e = {0};
    char secret_path[700];
    uint8_t ckey[32];
    ids_key_of(ckey, CREATOR);
    bool db_ok = pg_fixture_fresh_schema(&db, schema, sizeof schema) &&
                 migrate_run(&db, "migrations", NULL, &e) == MIGRATE_OK;
    CHECK_MSG(db_ok, "schema: %s", e.msg);
    bool chain_ok = db_ok && chain_load_rpc_url(rpc_url, &e) && deploy_vault(&vault) &&
                    deploy_pass(&pass, &vault, ckey, 10, 500);
    struct txsend_outcome o;
    chain_ok =
        chain_ok && send_call(&o, ACCT_FAN, &pass, PASS_PRICE_WEI, "mint()", NULL, 0) == TXSEND_OK;
    txsend_outcome_release(&o);
    if (system("ffmpeg -hide_banner -encoders 2>/dev/null | grep -q libx264") == 0)
        video_codec = "libx264";
    return chain_ok && seed_rows() && make_files(secret_path, sizeof secret_path) &&
           start_gateway(secret_path);
}

/* ---- publishing with ffmpeg -------------------------------------------------------- */

/* Prints the gateway's log lines holding `needle` (diagnostics). */
static void print_log(const char *needle)
{
    char line[2048];
    fflush(log_fp);
    FILE *f = fopen(log_path, "r");
    for (int i = 0; f != NULL && i < 100000 && fgets(line, sizeof line, f) != NULL; i++)
        if (strstr(line, needle) != NULL)
            printf("# %s", line);
    if (f != NULL)
        fclose(f);
}

/* The gateway's "ingest refused" lines for `stream`, without the refusals
 * of an older version of a playlist (ffmpeg has several in flight). */
static int count_refusals(const char *stream)
{
    char line[2048];
    int n = 0;
    fflush(log_fp);
    FILE *f = fopen(log_path, "r");
    for (int i = 0; f != NULL && i < 100000 && fgets(line, sizeof line, f) != NULL; i++)
        n += strstr(line, "msg=\"ingest refused\"") != NULL && strstr(line, stream) != NULL &&
             strstr(line, "this one is older") == NULL;
    if (f != NULL)
        fclose(f);
    return n;
}

/* ffmpeg does not wait for the answers to its uploads: wait (at most
 * 20 s) until the gateway has ended the recording of `stream`. */
static bool wait_ended(const char *stream)
{
    for (int i = 0; i < 200; i++) {
        if (strcmp(query1("SELECT status FROM recordings WHERE stream_id = $1", stream), "ended") ==
            0)
            return true;
        clock_sleep_ms(100);
    }
    print_log(stream);
    return false;
}

/* The issue's command: two renditions (v:0,a:0 and v:1,a:1), 1 s segments,
 * 3 s of test pattern and tone, pushed to port with the stream's key. */
static int publish(uint16_t to_port, const char *stream, const char *key, const char *extra,
                   const char *var_stream_map, const char *maps)
{
    char cmd[CMD_BYTES];
    int n = snprintf(cmd, sizeof cmd,
                     "ffmpeg -nostdin -hide_banner -loglevel error -re "
                     "-f lavfi -i testsrc=size=160x120:rate=10 "
                     "-f lavfi -i sine=frequency=440:sample_rate=44100 -t 3 %s "
                     "-c:v %s -g 10 -c:a aac %s "
                     "-f hls -method PUT -headers 'Authorization: Bearer %s' -hls_time 1 "
                     "-master_pl_name master.m3u8 -var_stream_map '%s' "
                     "http://127.0.0.1:%u/ingest/%s/%%v/index.m3u8",
                     maps, video_codec, extra, key, var_stream_map, to_port, stream);
    ASSERT(n > 0 && (size_t)n < sizeof cmd);
    return system(cmd);
}

static void test_publish_ffmpeg(void)
{
    put_recorder_start(&rec, port);
    int rc = publish(rec.port, S1, ingest_keys[0], "", "v:0,a:0 v:1,a:1",
                     "-map 0:v -map 1:a -map 0:v -map 1:a -s:v:1 96x72");
    CHECK_INT(rc, 0);
    CHECK(wait_ended(S1));
    put_recorder_stop(&rec);
    printf("# ffmpeg made %zu requests on %zu connections\n", rec.request_count, rec.conn_count);
    CHECK(rec.request_count >= 10);
    for (size_t i = 0; i < rec.request_count; i++) {
        CHECK_STR(rec.requests[i].method, "PUT");
        CHECK(strncmp(rec.requests[i].path, "/ingest/" S1 "/", 45) == 0);
    }
    CHECK(put_recorder_last(&rec, "PUT", "/ingest/" S1 "/master.m3u8") != NULL);
    CHECK_INT(count_refusals(S1), 0); /* no upload of ffmpeg was refused */
    if (count_refusals(S1) != 0)
        print_log("msg=\"ingest refused\"");
}

/* One segments row against the bytes ffmpeg sent and the stored file. */
static void check_segment_row(PGresult *res, int row)
{
    const char *index = PQgetvalue(res, row, 0), *rendition = PQgetvalue(res, row, 1);
    const char *seq = PQgetvalue(res, row, 2), *name = PQgetvalue(res, row, 3);
    const char *sha = PQgetvalue(res, row, 4);
    uint64_t bytes = strtoull(PQgetvalue(res, row, 5), NULL, 10);
    uint64_t dur = strtoull(PQgetvalue(res, row, 6), NULL, 10), want_seq = 0;
    char path[PATH_BYTES], rel[PATH_BYTES], got[65];
    snprintf(path, sizeof path, "/ingest/" S1 "/%s/%s", rendition, name);
    snprintf(rel, sizeof rel, S1 "/%s/%s", rendition, name);
    const struct put_recorder_request *q = put_recorder_last(&rec, "PUT", path);
    CHECK_MSG(q != NULL, "no upload of %s", path);
    if (q == NULL)
        return;
    CHECK_STR(index, rendition); /* renditions "0", "1" sit at their own index */
    CHECK(gw_ingest_sequence_of_name(&want_seq, name, strlen(name)));
    CHECK_INT(strtoull(seq, NULL, 10), want_seq);
    sha_hex(got, q->body, q->body_len);
    CHECK_STR(sha, got);
    CHECK_INT(bytes, q->body_len);
    CHECK_MSG(dur > 0 && dur <= 1500000, "%s duration %llu us", path, (unsigned long long)dur);
    size_t len = 0;
    uint8_t *stored = media_file(rel, &len);
    CHECK(stored != NULL && len == q->body_len && memcmp(stored, q->body, len) == 0);
    free(stored);
}

static void test_recorded_segments(void)
{
    PGresult *res = NULL;
    struct err e = {0};
    const char *params[1] = {S1};
    CHECK(pg_exec(&db, &res,
                  "SELECT rendition_index, rendition, media_sequence, name, encode(sha256, 'hex'), "
                  "bytes, duration_us FROM segments WHERE stream_id = $1 ORDER BY 1, 3",
                  params, 1, &e) == PG_OK);
    int rows = res != NULL ? PQntuples(res) : 0;
    size_t uploads = 0;
    for (size_t i = 0; i < rec.request_count; i++) {
        const char *p = rec.requests[i].path;
        size_t len = strlen(p);
        bool dup = put_recorder_last(&rec, "PUT", p) != &rec.requests[i];
        uploads += !dup && len > 3 && strcmp(p + len - 3, ".ts") == 0;
    }
    printf("# %d segments recorded\n", rows);
    CHECK(rows >= 6);
    CHECK_INT(rows, uploads);
    for (int i = 0; i < rows; i++)
        check_segment_row(res, i);
    PQclear(res);
    CHECK_INT(http_metric_value(server.g.m.ingest_segments), rows);
    CHECK_STR(query1("SELECT status FROM recordings WHERE stream_id = $1", S1), "ended");
    CHECK_STR(query1("SELECT renditions::text FROM recordings WHERE stream_id = $1", S1), "{0,1}");
    CHECK_STR(query1("SELECT status FROM streams WHERE id = $1", S1), "ended");
}

/* ---- the origin -------------------------------------------------------------------- */

/* The token of the first "?token=" in text (NUL-terminated), verified as a
 * fresh playback token of `stream` for `acct`. */
static bool served_token(char out[TOKEN_TEXT_SIZE], const char *text, const char *stream,
                         size_t acct)
{
    const char *t = strstr(text, "?token=");
    if (t == NULL)
        return false;
    t += 7;
    size_t len = strcspn(t, "\r\n\"&#");
    if (len == 0 || len >= TOKEN_TEXT_SIZE)
        return false;
    memcpy(out, t, len);
    out[len] = '\0';
    struct token_playback pb;
    int64_t now = (int64_t)time(NULL);
    return token_playback_verify(&pb, &keys, stream, out, len, now, NULL) == TOKEN_OK &&
           address_eq(&pb.address, &chain.addr[acct]) && pb.expires_at_s <= now + 60;
}

/* The ingested playlist with "?token=<token>" after every URI line. */
static void tokenized(struct buf *out, const uint8_t *text, size_t len, const char *token)
{
    buf_init(out, REPLY_BYTES_MAX);
    for (size_t at = 0; at < len;) {
        const uint8_t *nl = memchr(text + at, '\n', len - at);
        size_t end = nl != NULL ? (size_t)(nl - text) + 1 : len, body = end - at;
        while (body > 0 && (text[at + body - 1] == '\n' || text[at + body - 1] == '\r'))
            body--;
        ASSERT(buf_append(out, text + at, body) == BUF_OK);
        if (body > 0 && text[at] != '#')
            ASSERT(buf_printf(out, "?token=%s", token) == BUF_OK);
        ASSERT(buf_append(out, text + at + body, end - at - body) == BUF_OK);
        at = end;
    }
}

/* GET path must be the playlist ffmpeg last uploaded at ingest_path with a
 * fresh token on every URI; *token_out the token served. */
static void check_playlist(char token_out[TOKEN_TEXT_SIZE], const char *path,
                           const char *ingest_path, const char *bearer)
{
    struct reply r;
    struct buf want;
    const struct put_recorder_request *q = put_recorder_last(&rec, "PUT", ingest_path);
    CHECK_MSG(q != NULL, "no upload of %s", ingest_path);
    request(&r, "GET", path, bearer, NULL, NULL, 0);
    CHECK_MSG(r.status == 200, "GET %s: %ld", path, r.status);
    CHECK_STR(reply_header(&r, "Content-Type"), "application/vnd.apple.mpegurl");
    CHECK_STR(reply_header(&r, "Cache-Control"), "no-store");
    CHECK_STR(reply_header(&r, "Referrer-Policy"), "no-referrer");
    bool ok = q != NULL && r.body.data != NULL &&
              served_token(token_out, (const char *)r.body.data, S1, ACCT_FAN);
    CHECK_MSG(ok, "no fresh token in %s", path);
    if (ok) {
        tokenized(&want, q->body, q->body_len, token_out);
        CHECK_MSG(want.len == r.body.len && memcmp(want.data, r.body.data, want.len) == 0,
                  "%s differs:\n%s\nwant:\n%s", path, (const char *)r.body.data,
                  (const char *)want.data);
        buf_release(&want);
    }
    reply_release(&r);
}

/* Every segment a served media playlist lists, byte-identical to ffmpeg's. */
static void check_segments_of(const char *rendition, const char *token)
{
    char path[PATH_BYTES], ingest[PATH_BYTES];
    size_t served = 0;
    for (size_t i = 0; i < rec.request_count; i++) {
        const struct put_recorder_request *q = &rec.requests[i];
        snprintf(ingest, sizeof ingest, "/ingest/" S1 "/%s/", rendition);
        size_t plen = strlen(ingest), len = strlen(q->path);
        if (strncmp(q->path, ingest, plen) != 0 || strcmp(q->path + len - 3, ".ts") != 0 ||
            put_recorder_last(&rec, "PUT", q->path) != q)
            continue;
        snprintf(path, sizeof path, "/hls/" S1 "/%s/%s?token=%s", rendition, q->path + plen, token);
        struct reply r;
        request(&r, "GET", path, NULL, NULL, NULL, 0);
        CHECK_MSG(r.status == 200, "GET %s: %ld", q->path + plen, r.status);
        CHECK(r.body.len == q->body_len && memcmp(r.body.data, q->body, q->body_len) == 0);
        CHECK_STR(reply_header(&r, "Content-Type"), "video/mp2t");
        CHECK_STR(reply_header(&r, "Cache-Control"), "private, max-age=60");
        CHECK_STR(reply_header(&r, "Accept-Ranges"), "bytes");
        reply_release(&r);
        served++;
    }
    CHECK(served >= 3);
}

/* The fan's path: /access with a session, then the playback URL. */
static void test_origin_serves_ingested(void)
{
    char session[TOKEN_TEXT_SIZE], token[TOKEN_TEXT_SIZE], path[PATH_BYTES];
    struct reply r;
    session_of(session, ACCT_FAN);
    request(&r, "GET", "/v1/streams/" S1 "/access", session, NULL, NULL, 0);
    CHECK_INT(r.status, 200);
    json_t *j = json_loadb((const char *)r.body.data, r.body.len, 0, NULL);
    const char *url = json_string_value(json_object_get(j, "playback_url"));
    CHECK(url != NULL && strncmp(url, "/hls/" S1 "/master.m3u8?token=", 5 + 36 + 19) == 0);
    if (url != NULL)
        check_playlist(token, url, "/ingest/" S1 "/master.m3u8", NULL);
    json_decref(j);
    reply_release(&r);
    for (int v = 0; v < 2; v++) {
        char ingest[PATH_BYTES], rendition[16];
        snprintf(rendition, sizeof rendition, "%d", v);
        snprintf(path, sizeof path, "/hls/" S1 "/%d/index.m3u8?token=%s", v, token);
        snprintf(ingest, sizeof ingest, "/ingest/" S1 "/%d/index.m3u8", v);
        char media_token[TOKEN_TEXT_SIZE];
        check_playlist(media_token, path, ingest, NULL);
        check_segments_of(rendition, media_token);
    }
}

static void test_ranges(void)
{
    char token[TOKEN_TEXT_SIZE], path[PATH_BYTES], want_range[64];
    const struct put_recorder_request *q =
        put_recorder_last(&rec, "PUT", "/ingest/" S1 "/0/index0.ts");
    CHECK(q != NULL && q->body_len > 200);
    if (q == NULL || q->body_len <= 200)
        return;
    playback_of(token, S1, ACCT_FAN, (int64_t)time(NULL));
    snprintf(path, sizeof path, "/hls/" S1 "/0/index0.ts?token=%s", token);
    struct reply r;
    request(&r, "GET", path, NULL, "Range: bytes=10-99", NULL, 0);
    CHECK_INT(r.status, 206);
    CHECK(r.body.len == 90 && memcmp(r.body.data, q->body + 10, 90) == 0);
    snprintf(want_range, sizeof want_range, "bytes 10-99/%zu", q->body_len);
    CHECK_STR(reply_header(&r, "Content-Range"), want_range);
    reply_release(&r);
    request(&r, "GET", path, NULL, "Range: bytes=-5", NULL, 0);
    CHECK_INT(r.status, 206);
    CHECK(r.body.len == 5 && memcmp(r.body.data, q->body + q->body_len - 5, 5) == 0);
    reply_release(&r);
    char past[64];
    snprintf(past, sizeof past, "Range: bytes=%zu-", q->body_len);
    request(&r, "GET", path, NULL, past, NULL, 0);
    CHECK_INT(r.status, 416);
    reply_release(&r);
}

/* hls.js re-fetches a media playlist at the master's URL after its token
 * expired: the fan page's session answers for it. */
static void test_session_refreshes_playlist(void)
{
    char session[TOKEN_TEXT_SIZE], old[TOKEN_TEXT_SIZE], path[PATH_BYTES];
    session_of(session, ACCT_FAN);
    playback_of(old, S1, ACCT_FAN, (int64_t)time(NULL) - 120);
    snprintf(path, sizeof path, "/hls/" S1 "/1/index.m3u8?token=%s", old);
    expect_problem("GET", path, NULL, 401);
    char token[TOKEN_TEXT_SIZE];
    check_playlist(token, path, "/ingest/" S1 "/1/index.m3u8", session);
    check_playlist(token, "/hls/" S1 "/1/index.m3u8", "/ingest/" S1 "/1/index.m3u8", session);
    expect_problem("GET", "/hls/" S1 "/1/index.m3u8", "s1.not-a-session", 401);
    /* a session is no segment token */
    expect_problem("GET", "/hls/" S1 "/1/index0.ts", session, 401);
}

static void test_token_refusals(void)
{
    char fan[TOKEN_TEXT_SIZE], other[TOKEN_TEXT_SIZE], session[TOKEN_TEXT_SIZE];
    char expired[TOKEN_TEXT_SIZE], path[PATH_BYTES];
    int64_t now = (int64_t)time(NULL);
    playback_of(fan, S1, ACCT_FAN, now);
    playback_of(other, S2, ACCT_FAN, now);
    playback_of(expired, S1, ACCT_FAN, now - 61);
    session_of(session, ACCT_FAN);
    char tampered[TOKEN_TEXT_SIZE];
    memcpy(tampered, fan, sizeof tampered);
    size_t len = strlen(tampered);
    tampered[len - 1] = tampered[len - 1] == '0' ? '1' : '0';
    static const char *const files[2] = {"master.m3u8", "0/index1.ts"};
    for (size_t i = 0; i < 2; i++) {
        snprintf(path, sizeof path, "/hls/" S1 "/%s", files[i]);
        expect_problem("GET", path, NULL, 401);
        snprintf(path, sizeof path, "/hls/" S1 "/%s?token=%s", files[i], tampered);
        expect_problem("GET", path, NULL, 401);
        snprintf(path, sizeof path, "/hls/" S1 "/%s?token=%s", files[i], expired);
        expect_problem("GET", path, NULL, 401);
        snprintf(path, sizeof path, "/hls/" S1 "/%s?token=%s", files[i], session);
        expect_problem("GET", path, NULL, 401);
        snprintf(path, sizeof path, "/hls/" S1 "/%s?token=", files[i]);
        expect_problem("GET", path, NULL, 401);
        snprintf(path, sizeof path, "/hls/" S1 "/%s?token=%s", files[i], other);
        expect_problem("GET", path, NULL, 403);
    }
    snprintf(path, sizeof path, "/hls/" S1 "/0/index1.ts?token=%s", fan);
    struct reply r;
    request(&r, "GET", path, NULL, NULL, NULL, 0);
    CHECK_INT(r.status, 200);
    reply_release(&r);
}

/* Playlists re-check access on every fetch; segments check the MAC only. */
static void test_no_access(void)
{
    char token[TOKEN_TEXT_SIZE], session[TOKEN_TEXT_SIZE], path[PATH_BYTES];
    playback_of(token, S1, ACCT_NOBODY, (int64_t)time(NULL));
    session_of(session, ACCT_NOBODY);
    snprintf(path, sizeof path, "/hls/" S1 "/master.m3u8?token=%s", token);
    expect_problem("GET", path, NULL, 402);
    snprintf(path, sizeof path, "/hls/" S1 "/0/index.m3u8?token=%s", token);
    expect_problem("GET", path, NULL, 402);
    expect_problem("GET", "/hls/" S1 "/0/index.m3u8", session, 402);
    struct reply r;
    session_of(session, ACCT_OWNER); /* the creator needs no pass */
    request(&r, "GET", "/hls/" S1 "/master.m3u8", session, NULL, NULL, 0);
    CHECK_INT(r.status, 200);
    reply_release(&r);
}

static bool plant_symlink(const char *target, const char *rel)
{
    char path[PATH_BYTES];
    snprintf(path, sizeof path, "%s/%s", media_dir, rel);
    return symlink(target, path) == 0;
}

static void test_path_traversal(void)
{
    char token[TOKEN_TEXT_SIZE], s4[TOKEN_TEXT_SIZE], path[PATH_BYTES];
    playback_of(token, S1, ACCT_FAN, (int64_t)time(NULL));
    playback_of(s4, S4, ACCT_FAN, (int64_t)time(NULL));
    static const char *const bad[] = {
        "/hls/" S1 "/../" S1 "/master.m3u8",  "/hls/" S1 "/0/../master.m3u8",
        "/hls/" S1 "/0/%2e%2e/master.m3u8",   "/hls/" S1 "/%2e%2e/%2e%2e/etc/passwd",
        "/hls/" S1 "/0/index0%00.ts",         "/hls/" S1 "/0/index0.ts%00.m3u8",
        "/hls/" S1 "/0%5cindex0.ts",          "/hls/" S1 "/0\\index0.ts",
        "/hls/" S1 "/%5c" S1 "/master.m3u8",  "/hls/" S1 "//etc/passwd",
        "/hls/" S1 "/0/%2fetc%2fpasswd",      "/hls/%2fetc%2fpasswd/x.ts",
        "/hls/" S1 "/%252e%252e/master.m3u8", "/hls/" S1 "/0/.index0.ts",
        "/hls/" S1 "/0/index0.ts.bak",        "/hls/" S1 "/0/1/index0.ts",
        "/hls/" S1 "/0/index.m3u8/x",         "/hls/" S1 "/a.b/index0.ts"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(path, sizeof path, "%s?token=%s", bad[i], token);
        expect_problem("GET", path, NULL, 400);
    }
    /* Symlinks planted in MEDIA_DIR: a file, a rendition directory, a stream
     * directory, a playlist. None is followed. */
    CHECK(plant_symlink("/etc/passwd", S1 "/0/evil0.ts"));
    CHECK(plant_symlink("0", S1 "/9"));
    CHECK(plant_symlink(S1, S4));
    CHECK(plant_symlink("index.m3u8", S1 "/0/link.m3u8"));
    snprintf(path, sizeof path, "/hls/" S1 "/0/evil0.ts?token=%s", token);
    expect_problem("GET", path, NULL, 404);
    snprintf(path, sizeof path, "/hls/" S1 "/9/index0.ts?token=%s", token);
    expect_problem("GET", path, NULL, 404);
    snprintf(path, sizeof path, "/hls/" S4 "/0/index0.ts?token=%s", s4);
    expect_problem("GET", path, NULL, 404);
    snprintf(path, sizeof path, "/hls/" S1 "/0/link.m3u8?token=%s", token);
    expect_problem("GET", path, NULL, 404);
    snprintf(path, sizeof path, "/hls/" S1 "/0/index99.ts?token=%s", token);
    expect_problem("GET", path, NULL, 404);
    /* Ingest refuses the same shapes (with the right key). */
    CHECK_INT(put_status("/ingest/" S2 "/0/../x.ts", ingest_keys[1], "x", 1), 400);
    CHECK_INT(put_status("/ingest/" S2 "/0/%2e%2e/x.ts", ingest_keys[1], "x", 1), 400);
    CHECK_INT(put_status("/ingest/" S2 "/0%5cx0.ts", ingest_keys[1], "x", 1), 400);
    CHECK_INT(put_status("/ingest/" S2 "/0/x0%00.ts", ingest_keys[1], "x", 1), 400);
    CHECK_INT(put_status("/ingest/" S2 "/0/x0.exe", ingest_keys[1], "x", 1), 400);
}

/* ---- ingest refusals --------------------------------------------------------------- */

/* S2 as seeded: no directory, recording or segment; status created. */
static void check_s2_untouched(void)
{
    CHECK(!media_exists(S2));
    CHECK_STR(query1("SELECT count(*) FROM segments WHERE stream_id = $1", S2), "0");
    CHECK_STR(query1("SELECT count(*) FROM recordings WHERE stream_id = $1", S2), "0");
    CHECK_STR(query1("SELECT status FROM streams WHERE id = $1", S2), "created");
}

static const struct put_recorder_request *sent(const char *path)
{
    const struct put_recorder_request *q = put_recorder_last(&rec, "PUT", path);
    ASSERT(q != NULL);
    return q;
}

static void test_ingest_key_check(void)
{
    struct reply r;
    request(&r, "GET", "/ingest/" S2, ingest_keys[1], NULL, NULL, 0);
    CHECK_INT(r.status, 204);
    reply_release(&r);
    expect_problem("GET", "/ingest/" S2, NULL, 401);
    expect_problem("GET", "/ingest/" S2, ingest_keys[0], 401); /* another stream's key */
    expect_problem("GET", "/ingest/" S2, "Kx7_q-Zt3Lw9Pm2Rv8Nc4Hb6-tw", 401);
    expect_problem("GET", "/ingest/" S4, ingest_keys[1], 404);
    expect_problem("GET", "/ingest/" S4, NULL, 404);
    expect_problem("GET", "/ingest/not-a-uuid", ingest_keys[1], 404);
    expect_problem("GET", "/ingest/" S1, "", 401);
    request(&r, "GET", "/ingest/" S1, ingest_keys[0], NULL, NULL, 0); /* ended: still the key */
    CHECK_INT(r.status, 204);
    reply_release(&r);
    check_s2_untouched();
}

static void test_ingest_refusals(void)
{
    const struct put_recorder_request *seg = sent("/ingest/" S1 "/0/index0.ts");
    const struct put_recorder_request *pl = sent("/ingest/" S1 "/0/index.m3u8");
    uint8_t garbage[4096];
    uint64_t state = 42;
    for (size_t i = 0; i < sizeof garbage; i++)
        garbage[i] = (uint8_t)harness_rand(&state);
    int64_t rejected = http_metric_value(server.g.m.ingest_rejected);
    static const char k2[] = "Kx7_q-Zt3Lw9Pm2Rv8Nc4Hb6-two";
    long want[] = {
        put_status("/ingest/" S2 "/0/index0.ts", k2, garbage, sizeof garbage), /* 400 */
        put_status("/ingest/" S2 "/0/index0.ts", k2, seg->body, 1000),         /* truncated */
        put_status("/ingest/" S2 "/0/index0.ts", ingest_keys[0], seg->body, seg->body_len),
        put_status("/ingest/" S2 "/0/index0.ts", NULL, seg->body, seg->body_len),
        put_status("/ingest/" S2 "/0/index0.ts", "wrong", seg->body, seg->body_len),
        put_status("/ingest/" S4 "/0/index0.ts", k2, seg->body, seg->body_len),
        put_status("/ingest/nope/0/index0.ts", k2, seg->body, seg->body_len),
        put_status("/ingest/" S2 "/0/index.ts", k2, seg->body, seg->body_len),
        put_status("/ingest/" S2 "/720p/index0.ts", k2, seg->body, seg->body_len),
        put_status("/ingest/" S2 "/0/index.m3u8", k2, garbage, sizeof garbage),
        put_status("/ingest/" S2 "/0/index.m3u8", k2, seg->body, seg->body_len),
        put_status("/ingest/" S2 "/master.m3u8", k2, pl->body, pl->body_len),
        put_status("/ingest/" S2 "/0/init.mp4", k2, seg->body, seg->body_len),
        put_status("/ingest/" S2 "/0/index0.ts", k2, "", 0),
    };
    static const long expected[] = {400, 400, 401, 401, 401, 404, 404,
                                    400, 409, 400, 400, 400, 400, 400};
    for (size_t i = 0; i < sizeof expected / sizeof expected[0]; i++)
        CHECK_MSG(want[i] == expected[i], "upload %zu: %ld, want %ld", i, want[i], expected[i]);
    CHECK_INT(http_metric_value(server.g.m.ingest_rejected) - rejected, 14);
    check_s2_untouched();
}

/* A media playlist that lists a segment not uploaded yet, a changed
 * segment, renditions without an index, then the end on S2. */
static void test_ingest_by_hand(void)
{
    const struct put_recorder_request *a = sent("/ingest/" S1 "/0/index0.ts");
    const struct put_recorder_request *b = sent("/ingest/" S1 "/1/index0.ts");
    static const char k2[] = "Kx7_q-Zt3Lw9Pm2Rv8Nc4Hb6-two";
    static const char list[] = "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:1\n"
                               "#EXT-X-MEDIA-SEQUENCE:0\n#EXTINF:1.000000,\nindex0.ts\n"
                               "#EXTINF:1.000000,\nindex1.ts\n";
    CHECK_INT(put_status("/ingest/" S2 "/0/index.m3u8", k2, list, strlen(list)), 201);
    CHECK_STR(query1("SELECT status FROM streams WHERE id = $1", S2), "live");
    char session[TOKEN_TEXT_SIZE];
    session_of(session, ACCT_OWNER);
    struct reply r;
    request(&r, "GET", "/hls/" S2 "/0/index.m3u8", session, NULL, NULL, 0);
    CHECK_INT(r.status, 200); /* nothing stored yet: no segment listed */
    CHECK(r.body.data != NULL && strstr((const char *)r.body.data, "index0.ts") == NULL);
    reply_release(&r);
    CHECK_INT(put_status("/ingest/" S2 "/0/index0.ts", k2, a->body, a->body_len), 201);
    request(&r, "GET", "/hls/" S2 "/0/index.m3u8", session, NULL, NULL, 0);
    CHECK(r.body.data != NULL && strstr((const char *)r.body.data, "\nindex0.ts?token=") != NULL &&
          strstr((const char *)r.body.data, "index1.ts") == NULL);
    reply_release(&r);
    CHECK_INT(put_status("/ingest/" S2 "/0/index0.ts", k2, b->body, b->body_len), 409);
    CHECK_INT(put_status("/ingest/" S2 "/0/index00.ts", k2, b->body, b->body_len), 409);
    CHECK_INT(put_status("/ingest/" S2 "/0/index0.ts", k2, a->body, a->body_len), 204);
    size_t len = 0;
    uint8_t *stored = media_file(S2 "/0/index0.ts", &len);
    CHECK(stored != NULL && len == a->body_len && memcmp(stored, a->body, len) == 0);
    free(stored);
    CHECK(!media_exists(S2 "/0/index00.ts"));
    CHECK_STR(query1("SELECT count(*) FROM segments WHERE stream_id = $1", S2), "1");
    static const char swapped[] = "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\n1/index.m3u8\n"
                                  "#EXT-X-STREAM-INF:BANDWIDTH=1\n0/index.m3u8\n";
    static const char one[] = "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\n0/index.m3u8\n";
    CHECK_INT(put_status("/ingest/" S2 "/master.m3u8", k2, swapped, strlen(swapped)), 409);
    CHECK(!media_exists(S2 "/master.m3u8"));
    CHECK_INT(put_status("/ingest/" S2 "/master.m3u8", k2, one, strlen(one)), 201);
    CHECK_STR(query1("SELECT renditions::text FROM recordings WHERE stream_id = $1", S2), "{0}");
    CHECK_INT(put_status("/ingest/" S2 "/1/index1.ts", k2, b->body, b->body_len), 409);
    CHECK(!media_exists(S2 "/1"));
}

/* S2 ends: an older version of its playlist is refused, the final one
 * lists a segment still missing, whose arrival ends the recording. */
static void test_ingest_end_by_hand(void)
{
    const struct put_recorder_request *b = sent("/ingest/" S1 "/1/index0.ts");
    static const char k2[] = "Kx7_q-Zt3Lw9Pm2Rv8Nc4Hb6-two";
    static const char older[] = "#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1.0,\nindex0.ts\n";
    static const char ended[] = "#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1.0,\nindex0.ts\n"
                                "#EXTINF:1.0,\nindex1.ts\n#EXT-X-ENDLIST\n";
    size_t len = 0;
    uint8_t *before = media_file(S2 "/0/index.m3u8", &len);
    CHECK_INT(put_status("/ingest/" S2 "/0/index.m3u8", k2, older, strlen(older)), 409);
    size_t after_len = 0;
    uint8_t *after = media_file(S2 "/0/index.m3u8", &after_len);
    CHECK(before != NULL && after != NULL && len == after_len && memcmp(before, after, len) == 0);
    free(before);
    free(after);
    CHECK_INT(put_status("/ingest/" S2 "/0/index.m3u8", k2, ended, strlen(ended)), 204);
    CHECK_STR(query1("SELECT status FROM recordings WHERE stream_id = $1", S2), "recording");
    CHECK_INT(put_status("/ingest/" S2 "/0/index1.ts", k2, b->body, b->body_len), 201);
    CHECK_STR(query1("SELECT status FROM recordings WHERE stream_id = $1", S2), "ended");
    CHECK_STR(query1("SELECT status FROM streams WHERE id = $1", S2), "ended");
    CHECK_INT(put_status("/ingest/" S2 "/0/index2.ts", k2, b->body, b->body_len), 409);
    CHECK(!media_exists(S2 "/0/index2.ts"));
    CHECK_STR(query1("SELECT count(*) FROM segments WHERE stream_id = $1", S2), "2");
}

static void test_put_after_end(void)
{
    const struct put_recorder_request *seg = sent("/ingest/" S1 "/0/index0.ts");
    const struct put_recorder_request *pl = sent("/ingest/" S1 "/0/index.m3u8");
    const struct put_recorder_request *m = sent("/ingest/" S1 "/master.m3u8");
    const char *count = query1("SELECT count(*) FROM segments WHERE stream_id = $1", S1);
    char before[32];
    snprintf(before, sizeof before, "%s", count);
    CHECK_INT(put_status("/ingest/" S1 "/0/index9.ts", ingest_keys[0], seg->body, seg->body_len),
              409);
    CHECK_INT(put_status("/ingest/" S1 "/0/index.m3u8", ingest_keys[0], pl->body, pl->body_len),
              409);
    CHECK_INT(put_status("/ingest/" S1 "/master.m3u8", ingest_keys[0], m->body, m->body_len), 409);
    CHECK(!media_exists(S1 "/0/index9.ts"));
    CHECK_STR(query1("SELECT count(*) FROM segments WHERE stream_id = $1", S1), before);
    CHECK_STR(query1("SELECT status FROM recordings WHERE stream_id = $1", S1), "ended");
}

/* fMP4: init segment first, .m4s checked together with it. */
static void test_publish_fmp4(void)
{
    static const char k3[] = "Kx7_q-Zt3Lw9Pm2Rv8Nc4Hb6-three";
    CHECK_INT(put_status("/ingest/" S3 "/0/init.mp4", k3, "not an init segment", 19), 400);
    CHECK(!media_exists(S3));
    CHECK_INT(count_refusals(S3), 1); /* the init segment above */
    CHECK_INT(publish(port, S3, k3, "-hls_segment_type fmp4", "v:0,a:0", "-map 0:v -map 1:a"), 0);
    CHECK(wait_ended(S3));
    CHECK_INT(count_refusals(S3), 1);
    if (count_refusals(S3) != 1)
        print_log("msg=\"ingest refused\"");
    CHECK_STR(query1("SELECT status FROM recordings WHERE stream_id = $1", S3), "ended");
    CHECK_STR(query1("SELECT count(*) > 2 FROM segments WHERE stream_id = $1 AND name LIKE "
                     "'%.m4s' AND rendition_index = 0",
                     S3),
              "t");
    char token[TOKEN_TEXT_SIZE], path[PATH_BYTES];
    playback_of(token, S3, ACCT_FAN, (int64_t)time(NULL));
    snprintf(path, sizeof path, "/hls/" S3 "/0/index.m3u8?token=%s", token);
    struct reply r;
    request(&r, "GET", path, NULL, NULL, NULL, 0);
    CHECK_INT(r.status, 200);
    CHECK(r.body.data != NULL &&
          strstr((const char *)r.body.data, "#EXT-X-MAP:URI=\"init.mp4?token=") != NULL &&
          strstr((const char *)r.body.data, "#EXT-X-ENDLIST") != NULL);
    reply_release(&r);
    size_t len = 0;
    uint8_t *init = media_file(S3 "/0/init.mp4", &len);
    snprintf(path, sizeof path, "/hls/" S3 "/0/init.mp4?token=%s", token);
    request(&r, "GET", path, NULL, NULL, NULL, 0);
    CHECK_INT(r.status, 200);
    CHECK_STR(reply_header(&r, "Content-Type"), "video/mp4");
    CHECK(init != NULL && r.body.len == len && memcmp(r.body.data, init, len) == 0);
    reply_release(&r);
    free(init);
    /* A fragment that does not demux with the stored init segment. */
    CHECK_INT(put_status("/ingest/" S3 "/0/index7.m4s", k3, "\0\0\0\x08mdat", 8), 400);
    CHECK(!media_exists(S3 "/0/index7.m4s"));
}

/* Neither ingest keys nor tokens ever reach the log. */
static void test_logs_clean(void)
{
    fflush(log_fp);
    size_t len = 0;
    FILE *f = fopen(log_path, "rb");
    char *text = malloc(REPLY_BYTES_MAX + 1);
    if (f != NULL && text != NULL) {
        len = fread(text, 1, REPLY_BYTES_MAX, f);
        text[len] = '\0';
    }
    if (f != NULL)
        fclose(f);
    CHECK(len > 1000 && strstr(text, "route=/hls/{id}/{path*}") != NULL);
    CHECK(strstr(text, "Kx7_q-Zt3Lw9Pm2Rv8Nc4Hb6") == NULL);
    CHECK(strstr(text, "token=") == NULL);
    CHECK(strstr(text, "p1.") == NULL && strstr(text, "s1.") == NULL);
    free(text);
}

/* Everything setup() and the tests made, released in reverse. */
static void teardown(bool chain_up)
{
    gw_stop(&server);
    put_recorder_free(&rec);
    token_keys_release(&keys);
    if (log_fp != NULL)
        fclose(log_fp);
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp_dir);
    if (tmp_dir[0] != '\0' && system(cmd) != 0)
        printf("# could not remove %s\n", tmp_dir);
    pg_fixture_drop_schema(&db, schema);
    if (chain_up)
        chain_close(&chain);
}

int main(void)
{
    struct err e = {0};
    if (!pg_fixture_init("test_gateway_media"))
        return 1; /* it printed the failing summary */
    bool chain_up = chain_open(&chain, &e), up = chain_up && setup();
    if (!up) {
        printf("# %s\nnot ok - setup\n0 passed, 1 failed\n", chain_up ? "see above" : e.msg);
        teardown(chain_up);
        return 1;
    }
    RUN(test_publish_ffmpeg);
    RUN(test_recorded_segments);
    RUN(test_origin_serves_ingested);
    RUN(test_ranges);
    RUN(test_session_refreshes_playlist);
    RUN(test_token_refusals);
    RUN(test_no_access);
    RUN(test_path_traversal);
    RUN(test_ingest_key_check);
    RUN(test_ingest_refusals);
    RUN(test_ingest_by_hand);
    RUN(test_ingest_end_by_hand);
    RUN(test_put_after_end);
    RUN(test_publish_fmp4);
    RUN(test_logs_clean);
    teardown(true);
    return harness_finish();
}
