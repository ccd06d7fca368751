/*
 * bench_gateway.c - the C side of the gateway benchmarks that
 * tests/bench/gateway.sh runs against a real gateway (build/bin/gateway), a
 * real PostgreSQL and a real anvil during `make bench`. One program, one
 * subcommand per job:
 *
 *   seed     deploys a RightsPass (anvil's dev accounts, our own signer),
 *            mints one pass to the viewer (anvil account 1), inserts the
 *            creator (owner: anvil account 2), the pass, a live stream with a
 *            tip rule and the pass rule, and BENCH_NOISE_TIPS tips
 *            (migrations/0002_gateway.sql), writes the media files under
 *            MEDIA_DIR (a media playlist of about BENCH_PLAYLIST_BYTES bytes
 *            and its segments of BENCH_SEGMENT_BYTES each, hard links of one
 *            file) and prints KEY=value lines for the script.
 *   token    prints a fresh playback token (token.h) for --stream/--viewer,
 *            keyed from AUTH_SECRET_FILE like the gateway's own.
 *   signin   SIWE sign-ins per second through POST /v1/auth/siwe of a running
 *            gateway: messages for BENCH_SIGNIN_KEYS keys, each with its own
 *            nonce (inserted into auth_nonces first: "pre-issued"), signed
 *            before the clock starts; --conns keep-alive connections post
 *            them; every answer must be 200. Compared with the raw
 *            libsecp256k1 recover rate that bench_crypto measured earlier in
 *            the same run (--ref-best, --ref-median). --name names the row;
 *            --context yes prints it without a target.
 *   access   warm access_decide() latency, in process, against the real
 *            PostgreSQL: a pass holder whose balance is in the ownership
 *            cache (fetched once from anvil), so each decision is the tips
 *            query plus a cache probe; then the playlist path's whole
 *            database work (store_stream_get + access_decide).
 *   viewers  --conns concurrent keep-alive connections from --sources
 *            loopback addresses (the gateway caps connections per address),
 *            each fetching the media playlist and a segment in turn for
 *            --seconds, while the gateway's VmRSS is sampled from /proc.
 *
 * Settings from the environment through config.h (the project's only
 * getenv): DATABASE_URL, ETH_RPC_URL, CHAIN_ID, VAULT_ADDRESS,
 * AUTH_SECRET_FILE, SIWE_DOMAIN, MEDIA_DIR - each subcommand loads the ones
 * it needs. Everything else comes from the command line.
 *
 * Output: logfmt records on stdout in bench_crypto's format, read by
 * tests/bench/run.sh:
 *   bench group=ID name=NAME unit=UNIT ours=BEST ref=BEST ratio=R ours_median=M
 *         ref_median=M ratio_median=R reps=N target=T|none target_text="..."
 *   measure group=ID name=NAME unit=UNIT value=V target_max=T|none
 *         target_text="..." detail="..."
 * (a measure is lower-is-better: a latency or a size). Progress and the
 * per-repetition numbers go to stderr.
 *
 * Not a test: nothing here judges time. The exit status is non-zero only
 * when the benchmark cannot run or an answer is wrong (a sign-in refused, an
 * access decision that is not "pass" or needed the chain, a viewer request
 * that is not 200): a fast wrong answer is not a measurement.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "access.h"
#include "address.h"
#include "clock.h"
#include "config.h"
#include "crypto.h"
#include "gateway.h"
#include "hex.h"
#include "ids.h"
#include "integration/chain_fixture.h"
#include "keccak.h"
#include "owncache.h"
#include "pg.h"
#include "sig.h"
#include "siwe.h"
#include "store.h"
#include "token.h"

#define BENCH_SEGMENT_BYTES ((size_t)2 << 20) /* 2 MiB */
#define BENCH_PLAYLIST_BYTES 1000             /* the playlist grows to at least this */
#define BENCH_PLAYLIST_SEGMENTS_MAX 64
#define BENCH_NOISE_TIPS 1000                    /* tips of other viewers to the stream */
#define BENCH_VIEWER_TIPS 3                      /* the viewer's own tips, below tip_min_wei */
#define BENCH_PASS_PRICE_WEI 1000000000000000ULL /* 0.001 ether */
#define BENCH_TIP_MIN_WEI "1000000000000000000"  /* 1 ether: the viewer's tips stay below */
#define BENCH_PASS_ARTIFACT "contracts-abi/RightsPass.json"
#define BENCH_ACCT_VIEWER 1
#define BENCH_ACCT_OWNER 2
#define BENCH_ACCT_ADMIN 9
#define BENCH_PATH_MAX 4096
#define BENCH_MB 1e6 /* MB means 10^6 bytes */

#define BENCH_SIGNIN_KEYS 256
#define BENCH_SIGNIN_CONNS_MAX 64
#define BENCH_SIGNIN_PER_REP_MIN 1000
#define BENCH_SIGNIN_PER_REP_MAX 400000
#define BENCH_SIGNIN_CALIBRATE 2000
#define BENCH_SIGNIN_REPS_MAX 9
#define BENCH_NONCE_HEX_LEN 32
#define BENCH_NONCE_BATCH 2000 /* nonces per INSERT */

#define BENCH_ACCESS_DECISIONS_MAX 1000000
#define BENCH_ACCESS_WARMUP 500

#define BENCH_VIEWERS_MAX 10000
#define BENCH_SOURCES_MAX 64
#define BENCH_HTTP_HEAD_MAX 8192
#define BENCH_HTTP_REQ_MAX 1024
#define BENCH_HTTP_BODY_KEEP 1024 /* body bytes kept for checks (sign-in answers) */
#define BENCH_SAMPLE_MS 100       /* RSS sampling period */
#define BENCH_RECV_BYTES (256 * 1024)

/* ---- small helpers ---------------------------------------------------------------------- */

static _Noreturn void bench_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static double bench_now_s(void);
static int bench_cmp_double(const void *a, const void *b);
static void bench_config(struct app_config *cfg, const char *const *names);
static const char *bench_arg(int argc, char **argv, const char *name, const char *def);
static uint64_t bench_arg_u64(int argc, char **argv, const char *name, uint64_t def, uint64_t min,
                              uint64_t max);
static double bench_arg_double(int argc, char **argv, const char *name);
static void bench_write_file(const char *path, const void *data, size_t len);
static void bench_mkdir(const char *path);
static void bench_path(char out[BENCH_PATH_MAX], const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void bench_print_ratio(const char *group, const char *name, const char *unit,
                              double ours_best, double ref_best, double ours_median,
                              double ref_median, int reps, double target, const char *target_text);

/* ---- HTTP/1.1 client pieces (keep-alive, Content-Length answers only) ------------------ */

struct hc_conn {
    int fd;
    char head[BENCH_HTTP_HEAD_MAX + 1];
    size_t head_len;
    int status;
    size_t body_left;
    char body[BENCH_HTTP_BODY_KEEP + 1];
    size_t body_len;
};

static int hc_socket(const char *src_ip, const char *dst_ip, uint16_t port, bool nonblocking);
static bool hc_send_all(int fd, const char *data, size_t len);
static int hc_parse_head(struct hc_conn *c, size_t *extra_out);
static bool hc_read_response(struct hc_conn *c);

/* ---- subcommands -------------------------------------------------------------------------- */

static int cmd_seed(int argc, char **argv);
static int cmd_token(int argc, char **argv);
static int cmd_signin(int argc, char **argv);
static int cmd_access(int argc, char **argv);
static int cmd_viewers(int argc, char **argv);

static _Noreturn void bench_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("bench_gateway: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

static double bench_now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int bench_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Loads the named project settings from the environment, or exits saying
 * which are bad. */
static void bench_config(struct app_config *cfg, const char *const *names)
{
    struct config_errors errs;
    if (config_load_app_names(cfg, names, config_lookup_env, NULL, &errs) != CONFIG_OK) {
        for (size_t i = 0; i < errs.count; i++)
            fprintf(stderr, "bench_gateway: %s: %s\n", errs.items[i].name, errs.items[i].e.msg);
        exit(2);
    }
}

/* The value after "--name" in argv, or def. */
static const char *bench_arg(int argc, char **argv, const char *name, const char *def)
{
    for (int i = 2; i + 1 < argc; i++)
        if (strcmp(argv[i], name) == 0)
            return argv[i + 1];
    return def;
}

static uint64_t bench_arg_u64(int argc, char **argv, const char *name, uint64_t def, uint64_t min,
                              uint64_t max)
{
    const char *v = bench_arg(argc, argv, name, NULL);
    if (v == NULL)
        return def;
    char *end = NULL;
    errno = 0;
    unsigned long long n = strtoull(v, &end, 10);
    if (errno != 0 || end == v || *end != '\0' || v[0] == '-' || n < min || n > max)
        bench_fail("%s must be a number in %llu..%llu, not '%s'", name, (unsigned long long)min,
                   (unsigned long long)max, v);
    return (uint64_t)n;
}

static double bench_arg_double(int argc, char **argv, const char *name)
{
    const char *v = bench_arg(argc, argv, name, NULL);
    if (v == NULL)
        bench_fail("%s is required", name);
    char *end = NULL;
    double d = strtod(v, &end);
    if (end == v || *end != '\0' || !(d > 0.0))
        bench_fail("%s must be a positive number, not '%s'", name, v);
    return d;
}

static void bench_write_file(const char *path, const void *data, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        bench_fail("cannot create '%s': %s", path, strerror(errno));
    const uint8_t *p = data;
    for (size_t done = 0; done < len;) {
        ssize_t n = write(fd, p + done, len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            bench_fail("write to '%s' failed: %s", path, strerror(errno));
        done += (size_t)n;
    }
    if (close(fd) != 0)
        bench_fail("close of '%s' failed: %s", path, strerror(errno));
}

/* Formats a path into out, or exits when it does not fit. */
static void bench_path(char out[BENCH_PATH_MAX], const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(out, BENCH_PATH_MAX, fmt, ap);
    va_end(ap);
    if (n < 0 || n >= BENCH_PATH_MAX)
        bench_fail("path too long: %s", out);
}

static void bench_mkdir(const char *path)
{
    if (mkdir(path, 0755) != 0 && errno != EEXIST)
        bench_fail("cannot create directory '%s': %s", path, strerror(errno));
}

static void bench_print_ratio(const char *group, const char *name, const char *unit,
                              double ours_best, double ref_best, double ours_median,
                              double ref_median, int reps, double target, const char *target_text)
{
    printf("bench group=%s name=%s unit=%s ours=%.3f ref=%.3f ratio=%.4f ours_median=%.3f "
           "ref_median=%.3f ratio_median=%.4f reps=%d",
           group, name, unit, ours_best, ref_best, ours_best / ref_best, ours_median, ref_median,
           ours_median / ref_median, reps);
    if (target > 0.0)
        printf(" target=%.2f target_text=\"%s\"\n", target, target_text);
    else
        printf(" target=none target_text=\"\"\n");
}

/* ---- HTTP client ------------------------------------------------------------------------- */

/* A TCP socket from src_ip (NULL: any) connected (or connecting, when
 * nonblocking) to dst_ip:port; -1 when that fails. */
static int hc_socket(const char *src_ip, const char *dst_ip, uint16_t port, bool nonblocking)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | (nonblocking ? SOCK_NONBLOCK : 0), 0);
    if (fd < 0)
        return -1;
    int one = 1;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
    if (src_ip != NULL) {
        struct sockaddr_in src = {.sin_family = AF_INET, .sin_port = 0};
        if (inet_pton(AF_INET, src_ip, &src.sin_addr) != 1 ||
            bind(fd, (struct sockaddr *)&src, sizeof src) != 0) {
            close(fd);
            return -1;
        }
    }
    if (inet_pton(AF_INET, dst_ip, &sa.sin_addr) != 1) {
        close(fd);
        return -1;
    }
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0 &&
        !(nonblocking && errno == EINPROGRESS)) {
        close(fd);
        return -1;
    }
    return fd;
}

static bool hc_send_all(int fd, const char *data, size_t len)
{
    for (size_t done = 0; done < len;) {
        ssize_t n = send(fd, data + done, len - done, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        done += (size_t)n;
    }
    return true;
}

/* When c->head holds a whole header block: sets c->status and c->body_left,
 * *extra_out = the body bytes already read past the headers; returns 1.
 * 0 when more is needed, -1 when the answer is not one we can read (no
 * Content-Length, a malformed status line, headers over the maximum). */
static int hc_parse_head(struct hc_conn *c, size_t *extra_out)
{
    c->head[c->head_len] = '\0';
    char *end = strstr(c->head, "\r\n\r\n");
    if (end == NULL)
        return c->head_len >= BENCH_HTTP_HEAD_MAX ? -1 : 0;
    size_t head_bytes = (size_t)(end - c->head) + 4;
    if (strncmp(c->head, "HTTP/1.1 ", 9) != 0 || c->head[9] < '1' || c->head[9] > '5')
        return -1;
    c->status = (c->head[9] - '0') * 100 + (c->head[10] - '0') * 10 + (c->head[11] - '0');
    long long length = -1;
    for (char *line = strstr(c->head, "\r\n"); line != NULL && line < end;
         line = strstr(line + 2, "\r\n")) {
        if (strncasecmp(line + 2, "Content-Length:", 15) == 0) {
            char *num_end = NULL;
            length = strtoll(line + 2 + 15, &num_end, 10);
            if (num_end == line + 2 + 15 || length < 0)
                return -1;
        }
    }
    if (length < 0)
        return -1;
    c->body_left = (size_t)length;
    *extra_out = c->head_len - head_bytes;
    /* Keep the first body bytes for the caller's check. */
    size_t keep = *extra_out < BENCH_HTTP_BODY_KEEP ? *extra_out : BENCH_HTTP_BODY_KEEP;
    memcpy(c->body, c->head + head_bytes, keep);
    c->body_len = keep;
    c->body[keep] = '\0';
    return 1;
}

/* Reads one whole answer on a blocking socket (no pipelining, so nothing
 * follows it). false on a closed connection or an unreadable answer. */
static bool hc_read_response(struct hc_conn *c)
{
    c->head_len = 0;
    c->body_len = 0;
    size_t extra = 0;
    int parsed = 0;
    while (parsed == 0) {
        ssize_t n = recv(c->fd, c->head + c->head_len, BENCH_HTTP_HEAD_MAX - c->head_len, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        c->head_len += (size_t)n;
        parsed = hc_parse_head(c, &extra);
    }
    if (parsed < 0 || extra > c->body_left)
        return false;
    c->body_left -= extra;
    char sink[16384];
    while (c->body_left > 0) {
        size_t want = c->body_left < sizeof sink ? c->body_left : sizeof sink;
        ssize_t n = recv(c->fd, sink, want, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        size_t keep = BENCH_HTTP_BODY_KEEP - c->body_len;
        if (keep > (size_t)n)
            keep = (size_t)n;
        memcpy(c->body + c->body_len, sink, keep);
        c->body_len += keep;
        c->body[c->body_len] = '\0';
        c->body_left -= (size_t)n;
    }
    return true;
}

/* ---- seed ----------------------------------------------------------------------------------- */

static void seed_sql(struct pg_session *pc, const char *sql, const char *const *params, int n);
static void seed_bytea(char *out, size_t out_size, const uint8_t *bytes, size_t len);
static void seed_chain(struct address *pass_out, struct chain *ch, const struct address *vault,
                       const uint8_t creator_key[32]);
static void seed_rows(struct pg_session *pc, const char *creator_id, const char *stream_id,
                      const struct address *owner, const struct address *viewer,
                      const struct address *pass);
static size_t seed_media(const char *media_dir, const char *stream_id, size_t *segments_out);

static void seed_sql(struct pg_session *pc, const char *sql, const char *const *params, int n)
{
    struct err e = {0};
    if (pg_exec(pc, NULL, sql, params, n, &e) != PG_OK)
        bench_fail("seed: %s", e.msg);
}

/* "\x<hex>" text for a bytea parameter. */
static void seed_bytea(char *out, size_t out_size, const uint8_t *bytes, size_t len)
{
    ASSERT(out_size >= 2 * len + 3);
    out[0] = '\\';
    out[1] = 'x';
    if (hex_encode(out + 2, out_size - 2, bytes, len) < 0)
        bench_fail("seed: hex encoding failed");
}

/* Deploys the pass from the admin account and mints one to the viewer. */
static void seed_chain(struct address *pass_out, struct chain *ch, const struct address *vault,
                       const uint8_t creator_key[32])
{
    static const char name[] = "Bench Pass", symbol[] = "BNCH";
    struct err e = {0};
    struct u256 price = u256_from_u64(BENCH_PASS_PRICE_WEI);
    struct abi_value ctor[8] = {abi_value_string(name, strlen(name)),
                                abi_value_string(symbol, strlen(symbol)),
                                abi_value_uint256(&price),
                                abi_value_u64(1000),
                                abi_value_u64(500),
                                abi_value_address(vault),
                                abi_value_bytes32(creator_key),
                                abi_value_address(&ch->addr[BENCH_ACCT_OWNER])};
    if (!chain_deploy(pass_out, NULL, ch, BENCH_ACCT_ADMIN, BENCH_PASS_ARTIFACT, ctor, 8, &e))
        bench_fail("seed: deploy RightsPass: %s", e.msg);
    struct txsend_outcome o;
    enum txsend_result r =
        chain_send_call(&o, ch, BENCH_ACCT_VIEWER, pass_out, &price, "mint()", NULL, 0, 0, &e);
    txsend_outcome_release(&o);
    if (r != TXSEND_OK)
        bench_fail("seed: mint a pass to the viewer: %s", e.msg);
}

static void seed_rows(struct pg_session *pc, const char *creator_id, const char *stream_id,
                      const struct address *owner, const struct address *viewer,
                      const struct address *pass)
{
    uint8_t creator_key[32], stream_key[32], ingest_hash[32] = {0};
    char owner_hex[48], creator_key_hex[72], stream_key_hex[72], pass_hex[48], viewer_hex[48],
        ingest_hex[72], price[32];
    ids_key_of(creator_key, creator_id);
    ids_key_of(stream_key, stream_id);
    seed_bytea(owner_hex, sizeof owner_hex, owner->bytes, ADDRESS_BYTES);
    seed_bytea(viewer_hex, sizeof viewer_hex, viewer->bytes, ADDRESS_BYTES);
    seed_bytea(pass_hex, sizeof pass_hex, pass->bytes, ADDRESS_BYTES);
    seed_bytea(creator_key_hex, sizeof creator_key_hex, creator_key, 32);
    seed_bytea(stream_key_hex, sizeof stream_key_hex, stream_key, 32);
    seed_bytea(ingest_hex, sizeof ingest_hex, ingest_hash, 32);
    snprintf(price, sizeof price, "%llu", (unsigned long long)BENCH_PASS_PRICE_WEI);
    const char *c[3] = {creator_id, owner_hex, creator_key_hex};
    seed_sql(pc,
             "INSERT INTO creators (id, owner, creator_key, name) "
             "VALUES ($1::uuid, $2::bytea, $3::bytea, 'Bench creator')",
             c, 3);
    const char *p[3] = {pass_hex, creator_id, price};
    seed_sql(pc,
             "INSERT INTO passes (contract, creator_id, name, symbol, price_wei, max_supply, "
             "royalty_bps) VALUES ($1::bytea, $2::uuid, 'Bench Pass', 'BNCH', $3::numeric, "
             "1000, 500)",
             p, 3);
    const char *s[4] = {stream_id, creator_id, stream_key_hex, ingest_hex};
    seed_sql(pc,
             "INSERT INTO streams (id, creator_id, stream_key, title, status, tip_min_wei, "
             "ingest_key_hash) VALUES ($1::uuid, $2::uuid, $3::bytea, 'Bench stream', "
             "'live', " BENCH_TIP_MIN_WEI ", $4::bytea)",
             s, 4);
    const char *sp[2] = {stream_id, pass_hex};
    seed_sql(pc,
             "INSERT INTO stream_passes (stream_id, contract, min_balance) "
             "VALUES ($1::uuid, $2::bytea, 1)",
             sp, 2);
    /* Tips: BENCH_NOISE_TIPS from other addresses, BENCH_VIEWER_TIPS small
     * ones from the viewer (under tip_min_wei, so the pass decides). Hashes
     * and addresses are md5-derived: distinct and deterministic. */
    const char *t[4] = {creator_key_hex, stream_key_hex, viewer_hex, NULL};
    seed_sql(
        pc,
        "INSERT INTO tips (chain_id, tx_hash, log_index, block_number, block_hash, "
        "creator_key, stream_key, from_address, amount_wei, source) "
        "SELECT 31337, decode(md5('tx' || i) || md5('tx2' || i), 'hex'), 0, i, "
        "decode(md5('b' || i) || md5('b2' || i), 'hex'), $1::bytea, $2::bytea, "
        "CASE WHEN i <= " MACRO_TEXT(
            BENCH_VIEWER_TIPS) " THEN $3::bytea "
                               "ELSE substring(decode(md5('from' || i), 'hex') || "
                               "decode(md5('from2' || i), 'hex') from 1 for 20) END, "
                               "1000000000::numeric * i, 'follow' FROM "
                               "generate_series(1, " MACRO_TEXT(BENCH_NOISE_TIPS) " + " MACRO_TEXT(
                                   BENCH_VIEWER_TIPS) ") AS i",
        t, 3);
    seed_sql(pc, "ANALYZE", NULL, 0);
}

/* MEDIA_DIR/<stream>/0/index.m3u8 (at least BENCH_PLAYLIST_BYTES) and its
 * segments: index0.ts with BENCH_SEGMENT_BYTES pseudo-random bytes, the
 * others hard links of it. Returns the playlist size. */
static size_t seed_media(const char *media_dir, const char *stream_id, size_t *segments_out)
{
    char dir[BENCH_PATH_MAX], path[BENCH_PATH_MAX], first[BENCH_PATH_MAX];
    bench_path(dir, "%s/%s", media_dir, stream_id);
    bench_mkdir(media_dir);
    bench_mkdir(dir);
    bench_path(dir, "%s/%s/0", media_dir, stream_id);
    bench_mkdir(dir);
    uint8_t *seg = malloc(BENCH_SEGMENT_BYTES);
    if (seg == NULL)
        bench_fail("out of memory for a segment");
    uint64_t x = 0x9e3779b97f4a7c15ULL;
    for (size_t i = 0; i < BENCH_SEGMENT_BYTES; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        seg[i] = (uint8_t)x;
    }
    for (size_t i = 0; i < BENCH_SEGMENT_BYTES; i += 188)
        seg[i] = 0x47; /* MPEG-TS sync bytes, for looks */
    bench_path(first, "%s/index0.ts", dir);
    bench_write_file(first, seg, BENCH_SEGMENT_BYTES);
    free(seg);

    char text[8192];
    size_t len = (size_t)snprintf(text, sizeof text,
                                  "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n"
                                  "#EXT-X-MEDIA-SEQUENCE:0\n");
    size_t n = 0;
    while (len < BENCH_PLAYLIST_BYTES && n < BENCH_PLAYLIST_SEGMENTS_MAX) {
        len +=
            (size_t)snprintf(text + len, sizeof text - len, "#EXTINF:2.000000,\nindex%zu.ts\n", n);
        if (n > 0) {
            bench_path(path, "%s/index%zu.ts", dir, n);
            if (link(first, path) != 0 && errno != EEXIST)
                bench_fail("cannot link '%s': %s", path, strerror(errno));
        }
        n++;
    }
    bench_path(path, "%s/index.m3u8", dir);
    bench_write_file(path, text, len);
    *segments_out = n;
    return len;
}

static int cmd_seed(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    static const char *const names[] = {"DATABASE_URL", "ETH_RPC_URL", "VAULT_ADDRESS", "MEDIA_DIR",
                                        NULL};
    struct app_config cfg;
    bench_config(&cfg, names);
    if (!cfg.vault_address_set)
        bench_fail("seed: VAULT_ADDRESS is required");
    struct err e = {0};
    struct chain ch;
    if (!chain_open(&ch, &e))
        bench_fail("seed: %s", e.msg);
    char creator_id[IDS_UUID_SIZE], stream_id[IDS_UUID_SIZE];
    if (!ids_uuid_new(creator_id, &e) || !ids_uuid_new(stream_id, &e))
        bench_fail("seed: %s", e.msg);
    uint8_t creator_key[32];
    ids_key_of(creator_key, creator_id);
    struct address vault, pass;
    memcpy(vault.bytes, cfg.vault_address, ADDRESS_BYTES);
    seed_chain(&pass, &ch, &vault, creator_key);

    struct pg_session pc = {0};
    if (pg_connect(&pc, cfg.database_url, 5, &e) != PG_OK)
        bench_fail("seed: %s", e.msg);
    seed_rows(&pc, creator_id, stream_id, &ch.addr[BENCH_ACCT_OWNER], &ch.addr[BENCH_ACCT_VIEWER],
              &pass);
    pg_release(&pc);
    size_t segments = 0;
    size_t playlist_bytes = seed_media(cfg.media_dir, stream_id, &segments);

    char viewer[ADDRESS_TEXT_SIZE], owner[ADDRESS_TEXT_SIZE], pass_text[ADDRESS_TEXT_SIZE];
    address_format_checksum(viewer, &ch.addr[BENCH_ACCT_VIEWER]);
    address_format_checksum(owner, &ch.addr[BENCH_ACCT_OWNER]);
    address_format_checksum(pass_text, &pass);
    printf("SEED_STREAM=%s\nSEED_CREATOR=%s\nSEED_VIEWER=%s\nSEED_OWNER=%s\nSEED_PASS=%s\n"
           "SEED_PLAYLIST=%s/0/index.m3u8\nSEED_PLAYLIST_BYTES=%zu\nSEED_SEGMENT=%s/0/index0.ts\n"
           "SEED_SEGMENT_BYTES=%zu\nSEED_SEGMENTS=%zu\nSEED_TIPS=%d\n",
           stream_id, creator_id, viewer, owner, pass_text, stream_id, playlist_bytes, stream_id,
           BENCH_SEGMENT_BYTES, segments, BENCH_NOISE_TIPS + BENCH_VIEWER_TIPS);
    chain_close(&ch);
    return 0;
}

/* ---- token ---------------------------------------------------------------------------------- */

static void bench_token_keys(struct token_keys *keys);
static void bench_parse_address(struct address *out, const char *text);

static void bench_token_keys(struct token_keys *keys)
{
    static const char *const names[] = {"AUTH_SECRET_FILE", NULL};
    struct app_config cfg;
    bench_config(&cfg, names);
    uint8_t secret[TOKEN_SECRET_BYTES_MAX];
    size_t len = 0;
    struct err e = {0};
    if (config_read_key_file(secret, &len, TOKEN_SECRET_BYTES_MIN, sizeof secret,
                             cfg.auth_secret_file, &e) != CONFIG_OK ||
        token_keys_init(keys, secret, len, &e) != TOKEN_OK)
        bench_fail("token keys: %s", e.msg);
    crypto_wipe(secret, sizeof secret);
}

static void bench_parse_address(struct address *out, const char *text)
{
    struct err e = {0};
    if (text == NULL || address_parse(out, text, strlen(text), &e) != ADDRESS_OK)
        bench_fail("bad address: %s", text == NULL ? "(missing)" : e.msg);
}

static int cmd_token(int argc, char **argv)
{
    const char *stream = bench_arg(argc, argv, "--stream", NULL);
    struct address viewer;
    bench_parse_address(&viewer, bench_arg(argc, argv, "--viewer", NULL));
    uint64_t lifetime = bench_arg_u64(argc, argv, "--lifetime", TOKEN_PLAYBACK_LIFETIME_S_MAX, 1,
                                      TOKEN_PLAYBACK_LIFETIME_S_MAX);
    struct token_keys keys;
    bench_token_keys(&keys);
    char token[TOKEN_TEXT_SIZE];
    struct err e = {0};
    if (stream == NULL ||
        token_playback_issue(token, NULL, &keys, stream, &viewer, (int64_t)time(NULL),
                             (uint32_t)lifetime, &e) != TOKEN_OK)
        bench_fail("token: %s", stream == NULL ? "--stream is required" : e.msg);
    printf("%s\n", token);
    token_keys_release(&keys);
    return 0;
}

/* ---- signin --------------------------------------------------------------------------------- */

struct signin_keys {
    struct sig_private_key key[BENCH_SIGNIN_KEYS];
    char addr[BENCH_SIGNIN_KEYS][ADDRESS_TEXT_SIZE]; /* EIP-55 */
};

/* One repetition's requests and the workers' shared state. */
struct signin_run {
    char **requests; /* whole HTTP requests, headers and body */
    size_t *request_len;
    size_t count;
    atomic_size_t next;
    atomic_size_t ok;
    atomic_size_t failed;
    double deadline_s;
    const char *host;
    uint16_t port;
    char first_failure[BENCH_HTTP_BODY_KEEP + 64];
    pthread_mutex_t mu;
};

static void signin_keys_make(struct signin_keys *k);
static void signin_store_nonces(struct pg_session *pc, const char *nonces, size_t count);
static void signin_build(struct signin_run *run, size_t count, const struct signin_keys *k,
                         struct pg_session *pc, const struct app_config *cfg, const char *host,
                         uint16_t port);
static void signin_free(struct signin_run *run);
static void signin_note_failure(struct signin_run *run, const struct hc_conn *c, const char *why);
static void *signin_worker(void *arg);
static double signin_rep(struct signin_run *run, size_t conns, double seconds_max);

static void signin_keys_make(struct signin_keys *k)
{
    struct err e = {0};
    for (int i = 0; i < BENCH_SIGNIN_KEYS; i++) {
        char seed[64];
        uint8_t bytes[SIG_PRIVATE_KEY_BYTES];
        int n = snprintf(seed, sizeof seed, "bench signin key %d", i);
        keccak256(bytes, seed, (size_t)n);
        struct address a;
        if (sig_private_key_from_bytes(&k->key[i], bytes, &e) != SIG_OK ||
            sig_private_key_address(&a, &k->key[i], &e) != SIG_OK)
            bench_fail("signin keys: %s", e.msg);
        address_format_checksum(k->addr[i], &a);
        crypto_wipe(bytes, sizeof bytes);
    }
}

/* Inserts nonces[0..count) (BENCH_NONCE_HEX_LEN + 1 bytes each) into
 * auth_nonces, valid for ten minutes, as GET /v1/auth/nonce would. */
static void signin_store_nonces(struct pg_session *pc, const char *nonces, size_t count)
{
    size_t stride = BENCH_NONCE_HEX_LEN + 1;
    char *array = malloc(BENCH_NONCE_BATCH * stride + 3);
    if (array == NULL)
        bench_fail("out of memory for nonces");
    for (size_t start = 0; start < count; start += BENCH_NONCE_BATCH) {
        size_t end = start + BENCH_NONCE_BATCH < count ? start + BENCH_NONCE_BATCH : count;
        size_t len = 0;
        array[len++] = '{';
        for (size_t i = start; i < end; i++) {
            memcpy(array + len, nonces + i * stride, BENCH_NONCE_HEX_LEN);
            len += BENCH_NONCE_HEX_LEN;
            array[len++] = i + 1 < end ? ',' : '}';
        }
        array[len] = '\0';
        const char *params[1] = {array};
        struct err e = {0};
        if (pg_exec(pc, NULL,
                    "INSERT INTO auth_nonces (nonce, expires_at) "
                    "SELECT unnest($1::text[]), now() + interval '10 minutes'",
                    params, 1, &e) != PG_OK)
            bench_fail("storing nonces: %s", e.msg);
    }
    free(array);
}

/* Builds `count` signed sign-in requests, each with a fresh nonce (stored). */
static void signin_build(struct signin_run *run, size_t count, const struct signin_keys *k,
                         struct pg_session *pc, const struct app_config *cfg, const char *host,
                         uint16_t port)
{
    size_t stride = BENCH_NONCE_HEX_LEN + 1;
    char *nonces = malloc(count * stride);
    run->requests = calloc(count, sizeof *run->requests);
    run->request_len = calloc(count, sizeof *run->request_len);
    if (nonces == NULL || run->requests == NULL || run->request_len == NULL)
        bench_fail("out of memory for %zu sign-ins", count);
    struct err e = {0};
    for (size_t i = 0; i < count; i++) {
        uint8_t raw[BENCH_NONCE_HEX_LEN / 2];
        if (crypto_random_bytes(raw, sizeof raw, &e) != CRYPTO_OK ||
            hex_encode(nonces + i * stride, stride, raw, sizeof raw) < 0)
            bench_fail("nonce: %s", e.msg);
    }
    signin_store_nonces(pc, nonces, count);
    char issued[32];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(issued, sizeof issued, "%Y-%m-%dT%H:%M:%SZ", &tm);
    for (size_t i = 0; i < count; i++) {
        size_t ki = i % BENCH_SIGNIN_KEYS;
        char msg[1024], sig_hex[SIWE_SIGNATURE_HEX_LEN + 1];
        int mlen = snprintf(msg, sizeof msg,
                            "%s wants you to sign in with your Ethereum account:\n%s\n\n"
                            "Sign in to watch.\n\nURI: http://%s/\nVersion: 1\nChain ID: %llu\n"
                            "Nonce: %s\nIssued At: %s",
                            cfg->siwe_domain, k->addr[ki], cfg->siwe_domain,
                            (unsigned long long)cfg->chain_id, nonces + i * stride, issued);
        uint8_t hash[SIG_HASH_BYTES], sig[SIG_BYTES];
        if (mlen < 0 || (size_t)mlen >= sizeof msg ||
            sig_hash_personal_message(hash, (const uint8_t *)msg, (size_t)mlen, &e) != SIG_OK ||
            sig_sign_recoverable(sig, hash, &k->key[ki], &e) != SIG_OK ||
            hex_encode_0x(sig_hex, sizeof sig_hex, sig, sizeof sig) < 0)
            bench_fail("signing a sign-in message: %s", e.msg);
        json_t *body = json_pack("{s:s, s:s}", "message", msg, "signature", sig_hex);
        char *text = body != NULL ? json_dumps(body, JSON_COMPACT) : NULL;
        json_decref(body);
        if (text == NULL)
            bench_fail("out of memory for a sign-in body");
        size_t body_len = strlen(text);
        size_t cap = body_len + 256;
        run->requests[i] = malloc(cap);
        if (run->requests[i] == NULL)
            bench_fail("out of memory for a sign-in request");
        int n = snprintf(run->requests[i], cap,
                         "POST /v1/auth/siwe HTTP/1.1\r\nHost: %s:%u\r\n"
                         "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
                         host, (unsigned)port, body_len, text);
        free(text);
        if (n < 0 || (size_t)n >= cap)
            bench_fail("sign-in request too long");
        run->request_len[i] = (size_t)n;
    }
    free(nonces);
    run->count = count;
}

static void signin_free(struct signin_run *run)
{
    for (size_t i = 0; i < run->count; i++)
        free(run->requests[i]);
    free(run->requests);
    free(run->request_len);
    run->requests = NULL;
    run->request_len = NULL;
    run->count = 0;
}

static void signin_note_failure(struct signin_run *run, const struct hc_conn *c, const char *why)
{
    atomic_fetch_add(&run->failed, 1);
    pthread_mutex_lock(&run->mu);
    if (run->first_failure[0] == '\0')
        snprintf(run->first_failure, sizeof run->first_failure, "%s (status %d): %.200s", why,
                 c->status, c->body);
    pthread_mutex_unlock(&run->mu);
}

static void *signin_worker(void *arg)
{
    struct signin_run *run = arg;
    struct hc_conn *c = calloc(1, sizeof *c);
    if (c == NULL)
        bench_fail("out of memory for a connection");
    c->fd = hc_socket(NULL, run->host, run->port, false);
    if (c->fd < 0) {
        signin_note_failure(run, c, "connect failed");
        free(c);
        return NULL;
    }
    for (;;) {
        if (bench_now_s() >= run->deadline_s)
            break;
        size_t i = atomic_fetch_add(&run->next, 1);
        if (i >= run->count)
            break;
        c->status = 0;
        c->body[0] = '\0';
        if (!hc_send_all(c->fd, run->requests[i], run->request_len[i]) || !hc_read_response(c)) {
            signin_note_failure(run, c, "connection failed");
            break;
        }
        if (c->status == 200 && strstr(c->body, "\"token\"") != NULL)
            atomic_fetch_add(&run->ok, 1);
        else
            signin_note_failure(run, c, "sign-in refused");
    }
    close(c->fd);
    free(c);
    return NULL;
}

/* Runs one repetition on `conns` connections; returns sign-ins per second. */
static double signin_rep(struct signin_run *run, size_t conns, double seconds_max)
{
    pthread_t threads[BENCH_SIGNIN_CONNS_MAX];
    atomic_store(&run->next, 0);
    atomic_store(&run->ok, 0);
    atomic_store(&run->failed, 0);
    double t0 = bench_now_s();
    run->deadline_s = t0 + seconds_max;
    for (size_t i = 0; i < conns; i++)
        if (pthread_create(&threads[i], NULL, signin_worker, run) != 0)
            bench_fail("cannot start a client thread");
    for (size_t i = 0; i < conns; i++)
        pthread_join(threads[i], NULL);
    double t = bench_now_s() - t0;
    if (atomic_load(&run->failed) != 0)
        bench_fail("signin: %zu sign-ins failed; first: %s", atomic_load(&run->failed),
                   run->first_failure);
    return (double)atomic_load(&run->ok) / t;
}

static int cmd_signin(int argc, char **argv)
{
    static const char *const names[] = {"DATABASE_URL", "SIWE_DOMAIN", "CHAIN_ID", NULL};
    struct app_config cfg;
    bench_config(&cfg, names);
    const char *host = bench_arg(argc, argv, "--host", "127.0.0.1");
    uint16_t port = (uint16_t)bench_arg_u64(argc, argv, "--port", 0, 1, 65535);
    size_t conns = bench_arg_u64(argc, argv, "--conns", 16, 1, BENCH_SIGNIN_CONNS_MAX);
    int reps = (int)bench_arg_u64(argc, argv, "--reps", 3, 1, BENCH_SIGNIN_REPS_MAX);
    double rep_seconds = (double)bench_arg_u64(argc, argv, "--rep-ms", 2000, 100, 60000) / 1e3;
    double ref_best = bench_arg_double(argc, argv, "--ref-best");
    double ref_median = bench_arg_double(argc, argv, "--ref-median");
    const char *name = bench_arg(argc, argv, "--name", "siwe_signin_http");
    bool context = bench_arg(argc, argv, "--context", NULL) != NULL;
    if (port == 0)
        bench_fail("--port is required");
    struct err e = {0};
    if (sig_context_init(&e) != SIG_OK)
        bench_fail("%s", e.msg);
    struct signin_keys *k = calloc(1, sizeof *k);
    struct signin_run *run = calloc(1, sizeof *run);
    if (k == NULL || run == NULL)
        bench_fail("out of memory");
    pthread_mutex_init(&run->mu, NULL);
    run->host = host;
    run->port = port;
    signin_keys_make(k);
    struct pg_session pc = {0};
    if (pg_connect(&pc, cfg.database_url, 5, &e) != PG_OK)
        bench_fail("signin: %s", e.msg);

    /* Calibration (also the warm-up): sizes the repetitions so that each
     * lasts about rep_seconds without running out of nonces. */
    signin_build(run, BENCH_SIGNIN_CALIBRATE, k, &pc, &cfg, host, port);
    double rate = signin_rep(run, conns, 60.0);
    signin_free(run);
    fprintf(stderr, "bench_gateway: signin warm-up %.0f/s\n", rate);
    double want = rate * rep_seconds * 1.5;
    size_t per_rep = want < BENCH_SIGNIN_PER_REP_MIN   ? BENCH_SIGNIN_PER_REP_MIN
                     : want > BENCH_SIGNIN_PER_REP_MAX ? BENCH_SIGNIN_PER_REP_MAX
                                                       : (size_t)want;
    double rates[BENCH_SIGNIN_REPS_MAX];
    for (int r = 0; r < reps; r++) {
        signin_build(run, per_rep, k, &pc, &cfg, host, port);
        rates[r] = signin_rep(run, conns, rep_seconds);
        fprintf(stderr, "bench_gateway: signin rep %d: %.0f sign-ins/s (%zu done of %zu)\n", r + 1,
                rates[r], atomic_load(&run->ok), per_rep);
        signin_free(run);
    }
    pg_release(&pc);
    qsort(rates, (size_t)reps, sizeof rates[0], bench_cmp_double);
    double best = rates[reps - 1], median = rates[reps / 2];
    bench_print_ratio("signin", name, "sign-ins/s", best, ref_best, median, ref_median, reps,
                      context ? 0.0 : 0.90, "SIWE sign-ins vs raw recover, one core");
    for (int i = 0; i < BENCH_SIGNIN_KEYS; i++)
        sig_private_key_wipe(&k->key[i]);
    free(k);
    pthread_mutex_destroy(&run->mu);
    free(run);
    return 0;
}

/* ---- access --------------------------------------------------------------------------------- */

static void access_print(const char *name, double *samples_s, size_t n, double target_ms,
                         const char *target_text, const char *what);

/* p50/p99/p99.9/max/mean of samples[0..n) in ms (sorted in place). */
static void access_print(const char *name, double *samples_s, size_t n, double target_ms,
                         const char *target_text, const char *what)
{
    qsort(samples_s, n, sizeof samples_s[0], bench_cmp_double);
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += samples_s[i];
    double p50 = samples_s[n / 2] * 1e3, p99 = samples_s[(n * 99) / 100] * 1e3,
           p999 = samples_s[(n * 999) / 1000] * 1e3, max = samples_s[n - 1] * 1e3;
    printf("measure group=access name=%s unit=ms value=%.4f", name, p99);
    if (target_ms > 0)
        printf(" target_max=%.3f target_text=\"%s\"", target_ms, target_text);
    else
        printf(" target_max=none target_text=\"\"");
    printf(" detail=\"p99 of %zu %s; p50 %.4f ms, p99.9 %.4f ms, max %.4f ms, mean %.4f ms\"\n", n,
           what, p50, p999, max, sum / (double)n * 1e3);
}

static int cmd_access(int argc, char **argv)
{
    static const char *const names[] = {"DATABASE_URL", "ETH_RPC_URL", "CHAIN_ID", NULL};
    struct app_config cfg;
    bench_config(&cfg, names);
    const char *stream_id = bench_arg(argc, argv, "--stream", NULL);
    struct address viewer;
    bench_parse_address(&viewer, bench_arg(argc, argv, "--viewer", NULL));
    size_t count = bench_arg_u64(argc, argv, "--count", 10000, 100, BENCH_ACCESS_DECISIONS_MAX);
    if (stream_id == NULL)
        bench_fail("--stream is required");
    struct err e = {0};
    struct pg_session pc = {0};
    struct rpc_client rpc;
    struct owncache cache;
    static struct store_stream s;
    if (pg_connect(&pc, cfg.database_url, 5, &e) != PG_OK || rpc_global_init(&e) != RPC_OK ||
        rpc_client_init(&rpc, cfg.eth_rpc_url, NULL, &e) != RPC_OK ||
        !owncache_init(&cache, GW_OWNCACHE_ENTRIES, GW_OWNCACHE_TTL_MS, &e) ||
        store_stream_get(&s, &pc, stream_id, &e) != STORE_OK)
        bench_fail("access: %s", e.msg);
    if (s.passes_len == 0)
        bench_fail("access: the stream has no pass rule");

    /* Cold: the balance comes from anvil once and is cached. */
    struct access_decision d;
    if (access_decide(&d, &cache, &pc, &rpc, cfg.chain_id, &s, &viewer, clock_now_ms(), &e) !=
            ACCESS_OK ||
        d.via != ACCESS_VIA_PASS || d.rpc_calls != 1)
        bench_fail("access: the cold decision was not 'pass' after one balanceOf: via=%s "
                   "rpc_calls=%u %s",
                   access_via_name(d.via), d.rpc_calls, e.msg);
    double *samples = calloc(count, sizeof *samples);
    if (samples == NULL)
        bench_fail("out of memory for samples");
    for (int pass = 0; pass < 2; pass++) {
        bool with_stream = pass == 1; /* the playlist path: stream row + decision */
        for (size_t i = 0; i < BENCH_ACCESS_WARMUP + count; i++) {
            double t0 = bench_now_s();
            if (with_stream && store_stream_get(&s, &pc, stream_id, &e) != STORE_OK)
                bench_fail("access: %s", e.msg);
            enum access_result r =
                access_decide(&d, &cache, &pc, &rpc, cfg.chain_id, &s, &viewer, clock_now_ms(), &e);
            double t = bench_now_s() - t0;
            if (r != ACCESS_OK || d.via != ACCESS_VIA_PASS || d.rpc_calls != 0 || d.used_stale)
                bench_fail("access: a warm decision was not a cached 'pass': via=%s rpc_calls=%u "
                           "%s",
                           access_via_name(d.via), d.rpc_calls, e.msg);
            if (i >= BENCH_ACCESS_WARMUP)
                samples[i - BENCH_ACCESS_WARMUP] = t;
        }
        if (!with_stream)
            access_print("access_decide_warm", samples, count, 1.0,
                         "warm access decision p99 <= 1 ms",
                         "access_decide() calls: tips query + cached pass balance");
        else
            access_print("playlist_access_path", samples, count, 0.0, "",
                         "store_stream_get() + access_decide(), the database work of a "
                         "playlist fetch");
    }
    struct owncache_stats st;
    owncache_stats(&st, &cache);
    fprintf(stderr, "bench_gateway: access cache hits=%llu misses=%llu\n",
            (unsigned long long)st.hits, (unsigned long long)st.misses);
    free(samples);
    owncache_release(&cache);
    rpc_client_release(&rpc);
    pg_release(&pc);
    return 0;
}

/* ---- viewers -------------------------------------------------------------------------------- */

enum viewer_state { VIEWER_CONNECTING, VIEWER_SENDING, VIEWER_HEAD, VIEWER_BODY };

struct viewer {
    struct hc_conn c;
    enum viewer_state state;
    bool want_segment; /* the next request is the segment (else the playlist) */
    size_t sent;
    uint64_t done; /* answers completed */
    bool open;
};

struct viewers_run {
    struct viewer *v;
    size_t n;
    int ep;
    const char *req[2]; /* playlist, segment */
    size_t req_len[2];
    size_t expect_len[2];
    uint64_t done[2];
    size_t open_now, open_max;
    uint8_t *sink;
};

/* Memory of a process from /proc/PID/status, in kB. */
struct viewers_mem {
    uint64_t rss, hwm, anon, file;
};

static bool viewers_rss(struct viewers_mem *out, long pid);
static double viewers_mb(uint64_t kb);
static void viewers_watch(struct viewers_run *r, size_t i, uint32_t events);
static _Noreturn void viewers_fail(const struct viewer *v, const char *why);
static void viewers_next(struct viewers_run *r, size_t i);
static void viewers_readable(struct viewers_run *r, size_t i);
static void viewers_writable(struct viewers_run *r, size_t i);
static char *viewers_request(const char *host, uint16_t port, const char *path, const char *token,
                             size_t *len_out);

/* false when the process is gone. */
static bool viewers_rss(struct viewers_mem *out, long pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%ld/status", pid);
    FILE *f = fopen(path, "re");
    if (f == NULL)
        return false;
    memset(out, 0, sizeof *out);
    while (fgets(line, sizeof line, f) != NULL) {
        if (strncmp(line, "VmRSS:", 6) == 0)
            out->rss = strtoull(line + 6, NULL, 10);
        else if (strncmp(line, "VmHWM:", 6) == 0)
            out->hwm = strtoull(line + 6, NULL, 10);
        else if (strncmp(line, "RssAnon:", 8) == 0)
            out->anon = strtoull(line + 8, NULL, 10);
        else if (strncmp(line, "RssFile:", 8) == 0)
            out->file = strtoull(line + 8, NULL, 10);
    }
    fclose(f);
    return out->rss > 0;
}

static double viewers_mb(uint64_t kb)
{
    return (double)kb * 1024 / BENCH_MB;
}

static void viewers_watch(struct viewers_run *r, size_t i, uint32_t events)
{
    struct epoll_event ev = {.events = events, .data.u64 = i};
    if (epoll_ctl(r->ep, EPOLL_CTL_MOD, r->v[i].c.fd, &ev) != 0)
        bench_fail("epoll_ctl: %s", strerror(errno));
}

static _Noreturn void viewers_fail(const struct viewer *v, const char *why)
{
    bench_fail("viewers: connection %d: %s (status %d) %.200s", v->c.fd, why, v->c.status,
               v->c.body);
}

/* An answer ended: check it, then send the next request. */
static void viewers_next(struct viewers_run *r, size_t i)
{
    struct viewer *v = &r->v[i];
    int kind = v->want_segment ? 1 : 0;
    if (v->c.status != 200)
        viewers_fail(v, "answer is not 200");
    r->done[kind]++;
    v->done++;
    v->want_segment = !v->want_segment;
    v->state = VIEWER_SENDING;
    v->sent = 0;
    viewers_watch(r, i, EPOLLOUT);
}

static void viewers_readable(struct viewers_run *r, size_t i)
{
    struct viewer *v = &r->v[i];
    for (;;) {
        if (v->state == VIEWER_HEAD) {
            ssize_t n =
                recv(v->c.fd, v->c.head + v->c.head_len, BENCH_HTTP_HEAD_MAX - v->c.head_len, 0);
            if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return;
            if (n <= 0)
                viewers_fail(v, "connection closed by the gateway");
            v->c.head_len += (size_t)n;
            size_t extra = 0;
            int parsed = hc_parse_head(&v->c, &extra);
            if (parsed < 0 || (parsed == 1 && extra > v->c.body_left))
                viewers_fail(v, "unreadable answer");
            if (parsed == 0)
                continue;
            int kind = v->want_segment ? 1 : 0;
            if (r->expect_len[kind] != 0 && v->c.status == 200 &&
                v->c.body_left != r->expect_len[kind])
                viewers_fail(v, "answer of an unexpected length");
            v->c.body_left -= extra;
            v->state = VIEWER_BODY;
        }
        if (v->c.body_left == 0) {
            viewers_next(r, i);
            return;
        }
        size_t want = v->c.body_left < BENCH_RECV_BYTES ? v->c.body_left : BENCH_RECV_BYTES;
        ssize_t n = recv(v->c.fd, r->sink, want, 0);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            return;
        if (n <= 0)
            viewers_fail(v, "connection closed mid-answer");
        v->c.body_left -= (size_t)n;
    }
}

static void viewers_writable(struct viewers_run *r, size_t i)
{
    struct viewer *v = &r->v[i];
    if (v->state == VIEWER_CONNECTING) {
        int err = 0;
        socklen_t len = sizeof err;
        if (getsockopt(v->c.fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0)
            bench_fail("viewers: connect failed: %s", strerror(err));
        v->open = true;
        if (++r->open_now > r->open_max)
            r->open_max = r->open_now;
        v->state = VIEWER_SENDING;
        v->sent = 0;
    }
    int kind = v->want_segment ? 1 : 0;
    while (v->sent < r->req_len[kind]) {
        ssize_t n = send(v->c.fd, r->req[kind] + v->sent, r->req_len[kind] - v->sent, MSG_NOSIGNAL);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            return;
        if (n <= 0)
            viewers_fail(v, "send failed");
        v->sent += (size_t)n;
    }
    v->state = VIEWER_HEAD;
    v->c.head_len = 0;
    v->c.status = 0;
    v->c.body_len = 0;
    viewers_watch(r, i, EPOLLIN);
}

static char *viewers_request(const char *host, uint16_t port, const char *path, const char *token,
                             size_t *len_out)
{
    char *req = malloc(BENCH_HTTP_REQ_MAX);
    if (req == NULL)
        bench_fail("out of memory");
    int n = snprintf(req, BENCH_HTTP_REQ_MAX,
                     "GET /hls/%s?token=%s HTTP/1.1\r\nHost: %s:%u\r\nUser-Agent: bench-viewer\r\n"
                     "\r\n",
                     path, token, host, (unsigned)port);
    if (n < 0 || n >= BENCH_HTTP_REQ_MAX)
        bench_fail("request too long");
    *len_out = (size_t)n;
    return req;
}

static int cmd_viewers(int argc, char **argv)
{
    const char *host = bench_arg(argc, argv, "--host", "127.0.0.1");
    uint16_t port = (uint16_t)bench_arg_u64(argc, argv, "--port", 0, 1, 65535);
    size_t n = bench_arg_u64(argc, argv, "--conns", 1000, 1, BENCH_VIEWERS_MAX);
    size_t sources = bench_arg_u64(argc, argv, "--sources", 4, 1, BENCH_SOURCES_MAX);
    double seconds = (double)bench_arg_u64(argc, argv, "--ms", 10000, 100, 600000) / 1e3;
    long pid = (long)bench_arg_u64(argc, argv, "--pid", 0, 1, 1u << 30);
    const char *playlist = bench_arg(argc, argv, "--playlist", NULL);
    const char *segment = bench_arg(argc, argv, "--segment", NULL);
    const char *token = bench_arg(argc, argv, "--token", NULL);
    size_t segment_bytes = bench_arg_u64(argc, argv, "--segment-bytes", 0, 0, 1u << 30);
    if (port == 0 || playlist == NULL || segment == NULL || token == NULL)
        bench_fail("viewers: --port, --pid, --playlist, --segment and --token are required");

    static struct viewers_run r;
    r.v = calloc(n, sizeof *r.v);
    r.sink = malloc(BENCH_RECV_BYTES);
    r.n = n;
    r.ep = epoll_create1(EPOLL_CLOEXEC);
    if (r.v == NULL || r.sink == NULL || r.ep < 0)
        bench_fail("viewers: setup failed");
    r.req[0] = viewers_request(host, port, playlist, token, &r.req_len[0]);
    r.req[1] = viewers_request(host, port, segment, token, &r.req_len[1]);
    r.expect_len[1] = segment_bytes;

    struct viewers_mem before, now_mem, peak = {0};
    if (!viewers_rss(&before, pid))
        bench_fail("viewers: no process %ld", pid);
    for (size_t i = 0; i < n; i++) {
        char src[32];
        snprintf(src, sizeof src, "127.0.0.%zu", 1 + i % sources);
        struct viewer *v = &r.v[i];
        v->want_segment = i % 2 == 1; /* half start with the segment */
        v->c.fd = hc_socket(src, host, port, true);
        if (v->c.fd < 0)
            bench_fail("viewers: socket %zu from %s: %s", i, src, strerror(errno));
        v->state = VIEWER_CONNECTING;
        struct epoll_event ev = {.events = EPOLLOUT, .data.u64 = i};
        if (epoll_ctl(r.ep, EPOLL_CTL_ADD, v->c.fd, &ev) != 0)
            bench_fail("epoll_ctl: %s", strerror(errno));
    }
    double t0 = bench_now_s(), next_sample = t0;
    struct epoll_event evs[256];
    for (;;) {
        double now = bench_now_s();
        if (now >= next_sample) {
            if (!viewers_rss(&now_mem, pid))
                bench_fail("viewers: the gateway (pid %ld) is gone", pid);
            if (now_mem.rss > peak.rss)
                peak = now_mem;
            next_sample = now + BENCH_SAMPLE_MS / 1e3;
        }
        if (now - t0 >= seconds)
            break;
        int k = epoll_wait(r.ep, evs, 256, BENCH_SAMPLE_MS / 4);
        if (k < 0 && errno != EINTR)
            bench_fail("epoll_wait: %s", strerror(errno));
        for (int j = 0; j < k; j++) {
            size_t i = (size_t)evs[j].data.u64;
            if (evs[j].events & (EPOLLERR | EPOLLHUP) && r.v[i].state != VIEWER_CONNECTING)
                viewers_fail(&r.v[i], "connection error");
            if (r.v[i].state == VIEWER_CONNECTING || r.v[i].state == VIEWER_SENDING)
                viewers_writable(&r, i);
            else
                viewers_readable(&r, i);
        }
    }
    double elapsed = bench_now_s() - t0;
    if (!viewers_rss(&now_mem, pid))
        bench_fail("viewers: the gateway (pid %ld) is gone", pid);
    if (now_mem.rss > peak.rss)
        peak = now_mem;
    size_t idle = 0;
    for (size_t i = 0; i < n; i++) {
        if (r.v[i].done == 0)
            idle++;
        close(r.v[i].c.fd);
    }
    if (r.open_max != n || idle != 0)
        bench_fail("viewers: only %zu of %zu connections were open at once, %zu got no answer",
                   r.open_max, n, idle);
    printf("measure group=memory name=gateway_rss_%zu_viewers unit=MB value=%.1f target_max=32 "
           "target_text=\"gateway RSS with 1,000 concurrent viewers\" "
           "detail=\"peak RSS (VmHWM) of the gateway process. Before the viewers: VmRSS %.1f MB "
           "(RssAnon %.1f, RssFile %.1f: mapped library and program pages). Highest VmRSS sampled "
           "every %d ms: %.1f MB (RssAnon %.1f, RssFile %.1f). %zu connections open at once from "
           "%zu loopback addresses for %.1f s, each alternating the media playlist and a "
           "%zu-byte segment: %llu playlists and %llu segments, all 200\"\n",
           n, viewers_mb(now_mem.hwm), viewers_mb(before.rss), viewers_mb(before.anon),
           viewers_mb(before.file), BENCH_SAMPLE_MS, viewers_mb(peak.rss), viewers_mb(peak.anon),
           viewers_mb(peak.file), r.open_max, sources, elapsed, segment_bytes,
           (unsigned long long)r.done[0], (unsigned long long)r.done[1]);
    close(r.ep);
    free(r.v);
    free(r.sink);
    free((void *)r.req[0]);
    free((void *)r.req[1]);
    return 0;
}

/* ---- main ----------------------------------------------------------------------------------- */

int main(int argc, char **argv)
{
    static const struct {
        const char *name;
        int (*run)(int argc, char **argv);
    } cmds[] = {{"seed", cmd_seed},
                {"token", cmd_token},
                {"signin", cmd_signin},
                {"access", cmd_access},
                {"viewers", cmd_viewers}};
    setvbuf(stdout, NULL, _IOLBF, 0);
    for (size_t i = 0; argc >= 2 && i < sizeof cmds / sizeof cmds[0]; i++)
        if (strcmp(argv[1], cmds[i].name) == 0)
            return cmds[i].run(argc, argv);
    fprintf(stderr, "usage: bench_gateway seed|token|signin|access|viewers [--option value]...\n"
                    "  (see the comment at the top of tests/bench/bench_gateway.c)\n");
    return 2;
}
