/* cmd_verify.c - `rightsctl verify-recording --stream ID (--api URL |
 * --evidence FILE) [--media DIR|URL] [--rpc URL] [--vault ADDR]`: checks a
 * recording's evidence package (GET /v1/recordings/{id}/evidence of the
 * settlement API, or a saved copy) without trusting the service that made
 * it:
 *
 *   1. the package is for --stream, and stream_key = keccak256(stream id);
 *   2. the OpenZeppelin StandardMerkleTree root of its leaves (rendition,
 *      sequence, sha256) of types ["uint256","uint256","bytes32"] is its
 *      root, and its `tree` (the "standard-v1" dump) is exactly that tree:
 *      the same nodes, and every value's leaf at its treeIndex;
 *   3. with --media: every segment file is re-hashed (sha256) and compared
 *      with its leaf; the root is rebuilt from the files' hashes. Files are
 *      DIR/<stream id>/<rendition name>/<segment name> (the gateway's
 *      MEDIA_DIR layout), or, for an http(s) URL, URL/<rendition name>/
 *      <segment name> with the URL's query string (e.g. a playback token)
 *      repeated on each. Names come from the package's `segments` (aligned
 *      with `leaves`) and `renditions`;
 *   4. on the chain (--rpc, else ETH_RPC_URL): the node's chain id is the
 *      package's; the vault's recordingRoot(streamKey) is the root; the
 *      anchor transaction's receipt succeeded in the package's block with
 *      the vault's RecordingAnchored(streamKey, root, leaf count) log; the
 *      block's timestamp is the package's. --vault ADDR, when given, must
 *      be the package's vault (so the package cannot name another one).
 *
 * Output: a report on stdout, one "ok" or "FAIL" line per check and one
 * line per mismatching segment naming its rendition, sequence and file;
 * then "verified" or "FAILED: N discrepancies". Progress goes to stderr
 * when it is a terminal. Exit 0 when everything holds, 1 on any
 * discrepancy or when a check could not be made (unreadable package, node
 * unreachable), 2 on bad flags.
 *
 * Limits: VERIFY_EVIDENCE_BYTES_MAX bytes of package, VERIFY_LEAVES_MAX
 * leaves, VERIFY_SEGMENT_BYTES_MAX bytes per segment file, VERIFY_RENDITIONS_MAX
 * renditions, VERIFY_HTTP_TIMEOUT_S per HTTP request. JSON is parsed by
 * jansson (duplicate keys refused; its nesting limit applies). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "abi.h"
#include "address.h"
#include "buf.h"
#include "crypto.h"
#include "hex.h"
#include "ids.h"
#include "keccak.h"
#include "merkle.h"
#include "rightsctl.h"
#include "rpc.h"

#define VERIFY_EVIDENCE_BYTES_MAX ((size_t)64 << 20)
#define VERIFY_LEAVES_MAX 100000 /* the service's ANCHOR_SEGMENTS_MAX */
#define VERIFY_RENDITIONS_MAX 32
#define VERIFY_NAME_BYTES_MAX 69
#define VERIFY_SEGMENT_BYTES_MAX ((uint64_t)256 << 20)
#define VERIFY_URL_BYTES_MAX 2048
#define VERIFY_PATH_BYTES_MAX 4096
#define VERIFY_HTTP_TIMEOUT_S 30L
#define VERIFY_READ_CHUNK 65536
#define VERIFY_PROGRESS_EVERY 16
#define VERIFY_SEGMENT_SIG "RecordingAnchored(bytes32,bytes32,uint256)"
#define VERIFY_ROOT_VIEW_SIG "recordingRoot(bytes32)"

enum verify_flag {
    VERIFY_FLAG_STREAM = 0,
    VERIFY_FLAG_API,
    VERIFY_FLAG_EVIDENCE,
    VERIFY_FLAG_MEDIA,
    VERIFY_FLAG_RPC,
    VERIFY_FLAG_VAULT,
    VERIFY_FLAG_COUNT
};

static const char *const verify_flag_names[VERIFY_FLAG_COUNT] = {"--stream", "--api", "--evidence",
                                                                 "--media",  "--rpc", "--vault"};

struct verify_args {
    const char *values[VERIFY_FLAG_COUNT]; /* borrowed from argv; NULL = not given */
    bool media_is_url;
    bool has_vault;
    struct address vault;
};

struct verify_leaf {
    uint32_t rendition;
    uint64_t sequence;
    uint8_t sha256[32];
    const char *name; /* into the package's JSON; NULL without `segments` */
};

/* The package, parsed and type-checked (strings point into `json`). */
struct verify_evidence {
    json_t *json; /* owned */
    uint64_t chain_id, block_number, block_timestamp;
    struct address vault;
    uint8_t stream_key[32], root[32], tx_hash[32];
    const char *renditions[VERIFY_RENDITIONS_MAX];
    size_t renditions_len;
    struct verify_leaf *leaves; /* owned */
    size_t n;
    bool has_names; /* `segments` present and aligned with `leaves` */
};

/* The running report. */
struct verify_report {
    unsigned failures;
    bool progress; /* stderr is a terminal */
};

static bool verify_parse_args(struct verify_args *a, int argc, char **argv, struct err *e);
static bool verify_check_url(const char *flag, const char *text, struct err *e);
static void verify_line(struct verify_report *rep, bool ok, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static size_t verify_write_buf(char *data, size_t size, size_t n, void *ctx);
static size_t verify_write_sha(char *data, size_t size, size_t n, void *ctx);
static bool verify_http_get(long *status, const char *url, void *sink,
                            size_t (*write)(char *, size_t, size_t, void *), struct err *e);
static bool verify_load(struct buf *text, const struct verify_args *a, struct err *e);
static bool verify_hex_exact(uint8_t *out, size_t len, const json_t *v);
static bool verify_u64_of(uint64_t *out, const json_t *v);
static bool verify_parse(struct verify_evidence *ev, const struct buf *text, struct err *e);
static bool verify_parse_head(struct verify_evidence *ev, struct err *e);
static bool verify_parse_leaves(struct verify_evidence *ev, struct err *e);
static bool verify_parse_names(struct verify_evidence *ev, struct err *e);
static void verify_evidence_release(struct verify_evidence *ev);
static bool verify_build(struct merkle_tree *t, uint8_t root[32], const struct verify_leaf *leaves,
                         size_t n, struct err *e);
static void verify_check_package(struct verify_report *rep, const struct verify_evidence *ev,
                                 const char *stream_id, struct merkle_tree *t);
static bool verify_tree_value(uint8_t leaf[32], const json_t *value);
static void verify_check_dump(struct verify_report *rep, const struct verify_evidence *ev,
                              const struct merkle_tree *t);
static bool verify_segment_path(char *out, size_t size, const struct verify_args *a,
                                const struct verify_evidence *ev, const struct verify_leaf *l);
static bool verify_hash_file(uint8_t out[32], const char *path, struct err *e);
static bool verify_hash_url(uint8_t out[32], const char *url, struct err *e);
static void verify_check_media(struct verify_report *rep, const struct verify_args *a,
                               const struct verify_evidence *ev);
static bool verify_anchor_log(const json_t *logs, const struct verify_evidence *ev);
static void verify_check_receipt(struct verify_report *rep, struct rpc_client *rpc,
                                 const struct verify_evidence *ev);
static void verify_check_chain(struct verify_report *rep, const char *rpc_url,
                               const struct verify_evidence *ev);

static const char *const verify_config_names[] = {"ETH_RPC_URL", "LOG_LEVEL", NULL};

/* ---- flags -------------------------------------------------------------------- */

static bool verify_parse_args(struct verify_args *a, int argc, char **argv, struct err *e)
{
    memset(a, 0, sizeof *a);
    for (int i = 0; i < argc; i++) {
        size_t f = 0;
        while (f < VERIFY_FLAG_COUNT && strcmp(argv[i], verify_flag_names[f]) != 0)
            f++;
        char quoted[80];
        if (f == VERIFY_FLAG_COUNT) {
            err_quote(quoted, sizeof quoted, argv[i], strlen(argv[i]));
            return !err_set(e, 1, "unknown argument '%s'", quoted);
        }
        if (i + 1 >= argc)
            return !err_set(e, 1, "%s needs a value", verify_flag_names[f]);
        if (a->values[f] != NULL)
            return !err_set(e, 1, "%s given twice", verify_flag_names[f]);
        a->values[f] = argv[++i];
    }
    const char *const *v = a->values;
    char quoted[80];
    if (v[VERIFY_FLAG_STREAM] == NULL)
        return !err_set(e, 1, "--stream ID is required");
    if (!ids_uuid_valid(v[VERIFY_FLAG_STREAM], strnlen(v[VERIFY_FLAG_STREAM], IDS_UUID_SIZE))) {
        err_quote(quoted, sizeof quoted, v[VERIFY_FLAG_STREAM], strlen(v[VERIFY_FLAG_STREAM]));
        return !err_set(e, 1, "--stream: '%s' is not a lowercase UUID", quoted);
    }
    if ((v[VERIFY_FLAG_API] == NULL) == (v[VERIFY_FLAG_EVIDENCE] == NULL))
        return !err_set(e, 1, "give exactly one of --api URL and --evidence FILE");
    if ((v[VERIFY_FLAG_API] != NULL && !verify_check_url("--api", v[VERIFY_FLAG_API], e)) ||
        (v[VERIFY_FLAG_RPC] != NULL && !verify_check_url("--rpc", v[VERIFY_FLAG_RPC], e)))
        return false;
    const char *media = v[VERIFY_FLAG_MEDIA];
    a->media_is_url = media != NULL && strstr(media, "://") != NULL;
    if (a->media_is_url && !verify_check_url("--media", media, e))
        return false;
    if (media != NULL && (media[0] == '\0' || strlen(media) > VERIFY_PATH_BYTES_MAX / 2))
        return !err_set(e, 1, "--media: the directory must have 1 to %d bytes",
                        VERIFY_PATH_BYTES_MAX / 2);
    const char *vault = v[VERIFY_FLAG_VAULT];
    if (vault != NULL && address_parse(&a->vault, vault, strlen(vault), NULL) != ADDRESS_OK) {
        err_quote(quoted, sizeof quoted, vault, strlen(vault));
        return !err_set(e, 1, "--vault: '%s' is not an address", quoted);
    }
    a->has_vault = vault != NULL;
    return true;
}

/* http:// or https://, printable, at most VERIFY_URL_BYTES_MAX / 2 bytes
 * (segment paths are appended to --media). */
static bool verify_check_url(const char *flag, const char *text, struct err *e)
{
    size_t len = strnlen(text, VERIFY_URL_BYTES_MAX);
    bool ok = (strncmp(text, "http://", 7) == 0 && len > 7) ||
              (strncmp(text, "https://", 8) == 0 && len > 8);
    for (size_t i = 0; ok && i < len; i++)
        ok = text[i] > ' ' && text[i] < 0x7f && text[i] != '#';
    if (ok && len <= VERIFY_URL_BYTES_MAX / 2)
        return true;
    char quoted[120];
    err_quote(quoted, sizeof quoted, text, len);
    return !err_set(e, 1, "%s: '%s' is not an http:// or https:// URL", flag, quoted);
}

/* ---- report --------------------------------------------------------------------- */

static void verify_line(struct verify_report *rep, bool ok, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("%s ", ok ? "ok  " : "FAIL");
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    fflush(stdout);
    if (!ok)
        rep->failures++;
}

/* ---- HTTP ------------------------------------------------------------------------ */

static size_t verify_write_buf(char *data, size_t size, size_t n, void *ctx)
{
    return buf_append(ctx, data, size * n) == BUF_OK ? size * n : 0;
}

/* Streams a body into a sha256 with a byte count (capped). */
struct verify_sha_sink {
    struct crypto_sha256 sha;
    uint64_t bytes;
    bool failed;
};

static size_t verify_write_sha(char *data, size_t size, size_t n, void *ctx)
{
    struct verify_sha_sink *s = ctx;
    s->bytes += size * n;
    if (s->bytes > VERIFY_SEGMENT_BYTES_MAX ||
        crypto_sha256_update(&s->sha, data, size * n, NULL) != CRYPTO_OK) {
        s->failed = true;
        return 0;
    }
    return size * n;
}

static bool verify_http_get(long *status, const char *url, void *sink,
                            size_t (*write)(char *, size_t, size_t, void *), struct err *e)
{
    CURL *curl = curl_easy_init();
    if (curl == NULL)
        return !err_set(e, 1, "cannot start an HTTP client");
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, VERIFY_HTTP_TIMEOUT_S);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, write);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, sink);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    CURLcode rc = curl_easy_perform(curl);
    *status = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, status);
    curl_easy_cleanup(curl);
    if (rc != CURLE_OK)
        return !err_set(e, 1, "GET failed: %s", curl_easy_strerror(rc));
    return true;
}

/* The package's text, from --evidence FILE or the API. */
static bool verify_load(struct buf *text, const struct verify_args *a, struct err *e)
{
    const char *path = a->values[VERIFY_FLAG_EVIDENCE];
    char quoted[120];
    if (path != NULL) {
        FILE *f = fopen(path, "rb");
        err_quote(quoted, sizeof quoted, path, strlen(path));
        if (f == NULL)
            return !err_set(e, 1, "cannot read evidence file '%s': %s", quoted, strerror(errno));
        char chunk[VERIFY_READ_CHUNK];
        size_t got = 0;
        bool ok = true;
        while (ok && (got = fread(chunk, 1, sizeof chunk, f)) > 0)
            ok = buf_append(text, chunk, got) == BUF_OK;
        ok = ok && !ferror(f);
        fclose(f);
        if (!ok)
            return !err_set(e, 1, "evidence file '%s': unreadable or above %zu bytes", quoted,
                            VERIFY_EVIDENCE_BYTES_MAX);
        return true;
    }
    const char *api = a->values[VERIFY_FLAG_API];
    size_t api_len = strlen(api);
    while (api_len > 0 && api[api_len - 1] == '/')
        api_len--;
    char url[VERIFY_URL_BYTES_MAX + 64];
    snprintf(url, sizeof url, "%.*s/v1/recordings/%s/evidence", (int)api_len, api,
             a->values[VERIFY_FLAG_STREAM]);
    long status = 0;
    if (!verify_http_get(&status, url, text, verify_write_buf, e))
        return false;
    if (status != 200) {
        json_t *problem = json_loadb((const char *)text->data, text->len, 0, NULL);
        const char *detail = json_string_value(json_object_get(problem, "detail"));
        err_quote(quoted, sizeof quoted, detail ? detail : "", detail ? strlen(detail) : 0);
        err_set(e, 1, "the API answered %ld for the evidence: %s", status, quoted);
        json_decref(problem);
        return false;
    }
    return true;
}

/* ---- the package ------------------------------------------------------------------ */

/* "0x" + exactly 2*len hex digits. */
static bool verify_hex_exact(uint8_t *out, size_t len, const json_t *v)
{
    const char *s = json_string_value(v);
    return s != NULL && s[0] == '0' && s[1] == 'x' &&
           hex_decode_exact(out, len, s + 2, strlen(s + 2), NULL) == HEX_OK;
}

/* A JSON integer >= 0. */
static bool verify_u64_of(uint64_t *out, const json_t *v)
{
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return false;
    *out = (uint64_t)json_integer_value(v);
    return true;
}

static bool verify_parse(struct verify_evidence *ev, const struct buf *text, struct err *e)
{
    json_error_t jerr;
    memset(ev, 0, sizeof *ev);
    ev->json = json_loadb((const char *)text->data, text->len, JSON_REJECT_DUPLICATES, &jerr);
    if (ev->json == NULL || !json_is_object(ev->json)) {
        char quoted[120];
        err_quote(quoted, sizeof quoted, jerr.text, strnlen(jerr.text, sizeof jerr.text));
        return !err_set(e, 1, "the evidence is not a JSON object (line %d: %s)", jerr.line,
                        ev->json == NULL ? quoted : "not an object");
    }
    return verify_parse_head(ev, e) && verify_parse_leaves(ev, e) && verify_parse_names(ev, e);
}

static bool verify_parse_head(struct verify_evidence *ev, struct err *e)
{
    const json_t *o = ev->json;
    const char *vault = json_string_value(json_object_get(o, "vault"));
    const json_t *names = json_object_get(o, "renditions");
    if (!verify_u64_of(&ev->chain_id, json_object_get(o, "chain_id")) || ev->chain_id == 0)
        return !err_set(e, 1, "evidence: 'chain_id' is not a positive integer");
    if (vault == NULL || address_parse(&ev->vault, vault, strlen(vault), NULL) != ADDRESS_OK)
        return !err_set(e, 1, "evidence: 'vault' is not an address");
    if (!verify_hex_exact(ev->stream_key, 32, json_object_get(o, "stream_key")) ||
        !verify_hex_exact(ev->root, 32, json_object_get(o, "root")) ||
        !verify_hex_exact(ev->tx_hash, 32, json_object_get(o, "tx_hash")))
        return !err_set(e, 1,
                        "evidence: 'stream_key', 'root' or 'tx_hash' is not 32 bytes of "
                        "0x hex");
    if (!verify_u64_of(&ev->block_number, json_object_get(o, "block_number")) ||
        !verify_u64_of(&ev->block_timestamp, json_object_get(o, "block_timestamp")))
        return !err_set(e, 1, "evidence: 'block_number' or 'block_timestamp' is not an integer");
    if (!json_is_array(names) || json_array_size(names) == 0 ||
        json_array_size(names) > VERIFY_RENDITIONS_MAX)
        return !err_set(e, 1, "evidence: 'renditions' is not an array of 1 to %d names",
                        VERIFY_RENDITIONS_MAX);
    ev->renditions_len = json_array_size(names);
    for (size_t i = 0; i < ev->renditions_len; i++) {
        const char *n = json_string_value(json_array_get(names, i));
        size_t len = n == NULL ? 0 : strlen(n);
        if (n == NULL || len > 32 ||
            strspn(n, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-") != len)
            return !err_set(e, 1, "evidence: rendition %zu is not a name of [A-Za-z0-9_-]", i);
        ev->renditions[i] = n;
    }
    const json_t *types = json_object_get(o, "leaf_types");
    static const char *const want[3] = {"uint256", "uint256", "bytes32"};
    bool types_ok = json_is_array(types) && json_array_size(types) == 3;
    for (size_t i = 0; types_ok && i < 3; i++)
        types_ok = json_string_value(json_array_get(types, i)) != NULL &&
                   strcmp(json_string_value(json_array_get(types, i)), want[i]) == 0;
    if (!types_ok)
        return !err_set(e, 1,
                        "evidence: 'leaf_types' is not [\"uint256\",\"uint256\",\"bytes32\"]");
    return true;
}

static bool verify_parse_leaves(struct verify_evidence *ev, struct err *e)
{
    const json_t *leaves = json_object_get(ev->json, "leaves");
    size_t n = json_array_size(leaves);
    if (!json_is_array(leaves) || n == 0 || n > VERIFY_LEAVES_MAX)
        return !err_set(e, 1, "evidence: 'leaves' is not an array of 1 to %d leaves",
                        VERIFY_LEAVES_MAX);
    ev->leaves = calloc(n, sizeof *ev->leaves);
    if (ev->leaves == NULL)
        return !err_set(e, 1, "out of memory for %zu leaves", n);
    for (size_t i = 0; i < n; i++) {
        const json_t *l = json_array_get(leaves, i);
        uint64_t rendition = 0;
        if (!json_is_array(l) || json_array_size(l) != 3 ||
            !verify_u64_of(&rendition, json_array_get(l, 0)) || rendition >= ev->renditions_len ||
            !verify_u64_of(&ev->leaves[i].sequence, json_array_get(l, 1)) ||
            !verify_hex_exact(ev->leaves[i].sha256, 32, json_array_get(l, 2)))
            return !err_set(e, 1,
                            "evidence: leaf %zu is not [rendition index below %zu, "
                            "sequence, \"0x<sha256>\"]",
                            i, ev->renditions_len);
        ev->leaves[i].rendition = (uint32_t)rendition;
    }
    ev->n = n;
    return true;
}

/* `segments` (optional): [{rendition, sequence, name, ...}] aligned with leaves. */
static bool verify_parse_names(struct verify_evidence *ev, struct err *e)
{
    const json_t *segs = json_object_get(ev->json, "segments");
    if (segs == NULL)
        return true;
    if (!json_is_array(segs) || json_array_size(segs) != ev->n)
        return !err_set(e, 1, "evidence: 'segments' is not an array of %zu entries", ev->n);
    for (size_t i = 0; i < ev->n; i++) {
        const json_t *s = json_array_get(segs, i);
        const char *name = json_string_value(json_object_get(s, "name"));
        uint64_t r = 0, seq = 0;
        size_t len = name == NULL ? 0 : strlen(name);
        if (!verify_u64_of(&r, json_object_get(s, "rendition")) ||
            !verify_u64_of(&seq, json_object_get(s, "sequence")) || r != ev->leaves[i].rendition ||
            seq != ev->leaves[i].sequence || len == 0 || len > VERIFY_NAME_BYTES_MAX ||
            strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-.") !=
                len ||
            name[0] == '.')
            return !err_set(e, 1,
                            "evidence: segment %zu does not match leaf %zu or has no "
                            "plain file name",
                            i, i);
        ev->leaves[i].name = name;
    }
    ev->has_names = true;
    return true;
}

static void verify_evidence_release(struct verify_evidence *ev)
{
    json_decref(ev->json);
    free(ev->leaves);
    memset(ev, 0, sizeof *ev);
}

/* ---- trees ------------------------------------------------------------------------ */

static bool verify_build(struct merkle_tree *t, uint8_t root[32], const struct verify_leaf *leaves,
                         size_t n, struct err *e)
{
    uint8_t(*hashes)[MERKLE_HASH_BYTES] = malloc(n * MERKLE_HASH_BYTES);
    if (hashes == NULL)
        return !err_set(e, 1, "out of memory for %zu leaves", n);
    for (size_t i = 0; i < n; i++)
        merkle_leaf_recording_u64(hashes[i], leaves[i].rendition, leaves[i].sequence,
                                  leaves[i].sha256);
    bool ok = merkle_tree_build(t, (const uint8_t(*)[MERKLE_HASH_BYTES])hashes, n, e) == MERKLE_OK;
    if (ok)
        merkle_tree_root(root, t);
    free(hashes);
    return ok;
}

/* Checks 1 and 2 of the top, on the package alone. */
static void verify_check_package(struct verify_report *rep, const struct verify_evidence *ev,
                                 const char *stream_id, struct merkle_tree *t)
{
    const char *id = json_string_value(json_object_get(ev->json, "stream_id"));
    uint8_t key[32], root[32];
    char hex[67];
    ids_key_of(key, stream_id);
    verify_line(rep,
                id != NULL && strcmp(id, stream_id) == 0 && memcmp(key, ev->stream_key, 32) == 0,
                "the package is for stream %s (stream_key = keccak256(id))", stream_id);
    struct err e = {0};
    if (!verify_build(t, root, ev->leaves, ev->n, &e)) {
        verify_line(rep, false, "the leaves make no tree: %s", e.msg);
        return;
    }
    ASSERT(hex_encode_0x(hex, sizeof hex, root, 32) == 0);
    verify_line(rep, memcmp(root, ev->root, 32) == 0,
                "the root of the %zu leaves is the package's root (%s)", ev->n, hex);
    verify_check_dump(rep, ev, t);
}

/* The leaf hash of a dump value ["r","s","0x.."] (decimal strings or integers). */
static bool verify_tree_value(uint8_t leaf[32], const json_t *value)
{
    uint8_t words[2][32], sha[32];
    for (size_t k = 0; k < 2; k++) {
        const json_t *v = json_array_get(value, k);
        const char *s = json_string_value(v);
        struct u256 x;
        if (json_is_integer(v) && json_integer_value(v) >= 0)
            x = u256_from_u64((uint64_t)json_integer_value(v));
        else if (s == NULL || strlen(s) == 0 || strlen(s) >= U256_DEC_SIZE ||
                 u256_from_dec(&x, s, strlen(s), NULL) != U256_OK)
            return false;
        u256_to_be32(words[k], &x);
    }
    if (!json_is_array(value) || json_array_size(value) != 3 ||
        !verify_hex_exact(sha, 32, json_array_get(value, 2)))
        return false;
    merkle_leaf_recording(leaf, words[0], words[1], sha);
    return true;
}

/* The package's `tree` is the OZ "standard-v1" dump of exactly this tree. */
static void verify_check_dump(struct verify_report *rep, const struct verify_evidence *ev,
                              const struct merkle_tree *t)
{
    const json_t *tree = json_object_get(ev->json, "tree");
    const json_t *nodes = json_object_get(tree, "tree"), *values = json_object_get(tree, "values");
    const char *format = json_string_value(json_object_get(tree, "format"));
    bool ok = format != NULL && strcmp(format, MERKLE_DUMP_FORMAT) == 0 &&
              json_equal(json_object_get(tree, "leafEncoding"),
                         json_object_get(ev->json, "leaf_types")) &&
              json_array_size(nodes) == t->node_count && json_array_size(values) == ev->n;
    for (size_t i = 0; ok && i < t->node_count; i++) {
        uint8_t node[32];
        ok = verify_hex_exact(node, 32, json_array_get(nodes, i)) &&
             memcmp(node, t->nodes[i], 32) == 0;
    }
    uint8_t *seen = ok ? calloc(t->node_count, 1) : NULL;
    ok = ok && seen != NULL;
    for (size_t i = 0; ok && i < ev->n; i++) {
        const json_t *v = json_array_get(values, i);
        uint64_t index = 0;
        uint8_t leaf[32];
        ok = verify_u64_of(&index, json_object_get(v, "treeIndex")) && index >= ev->n - 1 &&
             index < t->node_count && !seen[index] &&
             verify_tree_value(leaf, json_object_get(v, "value")) &&
             memcmp(leaf, t->nodes[index], 32) == 0;
        if (ok)
            seen[index] = 1;
    }
    free(seen);
    verify_line(rep, ok,
                "the package's tree is the OpenZeppelin StandardMerkleTree dump "
                "(standard-v1) of these leaves");
}

/* ---- media ------------------------------------------------------------------------- */

static bool verify_segment_path(char *out, size_t size, const struct verify_args *a,
                                const struct verify_evidence *ev, const struct verify_leaf *l)
{
    const char *media = a->values[VERIFY_FLAG_MEDIA];
    const char *rendition = ev->renditions[l->rendition];
    int n = 0;
    if (!a->media_is_url) {
        n = snprintf(out, size, "%s/%s/%s/%s", media, a->values[VERIFY_FLAG_STREAM], rendition,
                     l->name);
    } else {
        size_t base = strcspn(media, "?"); /* the query goes after the file name */
        while (base > 0 && media[base - 1] == '/')
            base--;
        n = snprintf(out, size, "%.*s/%s/%s%s", (int)base, media, rendition, l->name,
                     media + strcspn(media, "?"));
    }
    return n > 0 && (size_t)n < size;
}

static bool verify_hash_file(uint8_t out[32], const char *path, struct err *e)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return !err_set(e, 1, "%s", strerror(errno));
    struct verify_sha_sink s = {0};
    bool ok = crypto_sha256_init(&s.sha, e) == CRYPTO_OK;
    char chunk[VERIFY_READ_CHUNK];
    ssize_t got = 0;
    while (ok && (got = read(fd, chunk, sizeof chunk)) > 0)
        ok = verify_write_sha(chunk, 1, (size_t)got, &s) == (size_t)got;
    if (ok && got < 0)
        ok = !err_set(e, 1, "%s", strerror(errno));
    else if (!ok && s.failed)
        err_set(e, 1, "above %" PRIu64 " bytes", VERIFY_SEGMENT_BYTES_MAX);
    close(fd);
    ok = ok && crypto_sha256_final(&s.sha, out, e) == CRYPTO_OK;
    crypto_sha256_release(&s.sha);
    return ok;
}

static bool verify_hash_url(uint8_t out[32], const char *url, struct err *e)
{
    struct verify_sha_sink s = {0};
    long status = 0;
    bool ok = crypto_sha256_init(&s.sha, e) == CRYPTO_OK &&
              verify_http_get(&status, url, &s, verify_write_sha, e);
    if (ok && status != 200)
        ok = !err_set(e, 1, "HTTP status %ld", status);
    ok = ok && crypto_sha256_final(&s.sha, out, e) == CRYPTO_OK;
    crypto_sha256_release(&s.sha);
    return ok;
}

/* Check 3: every file re-hashed; each mismatch named; the root rebuilt. */
static void verify_check_media(struct verify_report *rep, const struct verify_args *a,
                               const struct verify_evidence *ev)
{
    if (!ev->has_names) {
        verify_line(rep, false,
                    "the package has no 'segments' (file names): the files cannot "
                    "be re-hashed");
        return;
    }
    struct verify_leaf *hashed = calloc(ev->n, sizeof *hashed);
    if (hashed == NULL) {
        verify_line(rep, false, "out of memory for %zu segments", ev->n);
        return;
    }
    size_t bad = 0;
    for (size_t i = 0; i < ev->n; i++) {
        const struct verify_leaf *l = &ev->leaves[i];
        char where[VERIFY_PATH_BYTES_MAX], got[67], want[67];
        struct err e = {0};
        hashed[i] = *l;
        bool read = verify_segment_path(where, sizeof where, a, ev, l) &&
                    (a->media_is_url ? verify_hash_url(hashed[i].sha256, where, &e)
                                     : verify_hash_file(hashed[i].sha256, where, &e));
        if (rep->progress && (i % VERIFY_PROGRESS_EVERY == 0 || i + 1 == ev->n))
            fprintf(stderr, "\rhashing segments: %zu/%zu", i + 1, ev->n);
        if (read && memcmp(hashed[i].sha256, l->sha256, 32) == 0)
            continue;
        bad++;
        ASSERT(hex_encode_0x(want, sizeof want, l->sha256, 32) == 0);
        ASSERT(hex_encode_0x(got, sizeof got, hashed[i].sha256, 32) == 0);
        if (rep->progress)
            fprintf(stderr, "\r\033[K");
        if (read)
            verify_line(rep, false,
                        "segment rendition %" PRIu32 " (%s) sequence %" PRIu64
                        " file %s: sha256 %s, the leaf says %s",
                        l->rendition, ev->renditions[l->rendition], l->sequence, where, got, want);
        else
            verify_line(rep, false,
                        "segment rendition %" PRIu32 " (%s) sequence %" PRIu64
                        " file %s: cannot read it: %s",
                        l->rendition, ev->renditions[l->rendition], l->sequence, where, e.msg);
    }
    if (rep->progress)
        fprintf(stderr, "\r\033[K");
    struct merkle_tree t = {0};
    uint8_t root[32];
    struct err e = {0};
    bool built = verify_build(&t, root, hashed, ev->n, &e);
    verify_line(rep, bad == 0 && built && memcmp(root, ev->root, 32) == 0,
                "%zu segment files re-hashed under %s: %zu differ; the root rebuilt from the "
                "files %s the package's root",
                ev->n, a->values[VERIFY_FLAG_MEDIA], bad,
                built && memcmp(root, ev->root, 32) == 0 ? "equals" : "is NOT");
    merkle_tree_release(&t);
    free(hashed);
}

/* ---- chain -------------------------------------------------------------------------- */

/* The receipt's logs hold the vault's RecordingAnchored(streamKey, root, n). */
static bool verify_anchor_log(const json_t *logs, const struct verify_evidence *ev)
{
    uint8_t topic0[32], want_data[64] = {0}, data[64], t[32];
    struct address emitter;
    keccak256(topic0, VERIFY_SEGMENT_SIG, strlen(VERIFY_SEGMENT_SIG));
    memcpy(want_data, ev->root, 32);
    struct u256 count = u256_from_u64((uint64_t)ev->n);
    u256_to_be32(want_data + 32, &count);
    for (size_t i = 0; i < json_array_size(logs); i++) {
        const json_t *log = json_array_get(logs, i), *topics = json_object_get(log, "topics");
        const char *addr = json_string_value(json_object_get(log, "address"));
        if (addr == NULL || address_parse(&emitter, addr, strlen(addr), NULL) != ADDRESS_OK ||
            !address_eq(&emitter, &ev->vault) || json_array_size(topics) != 2 ||
            !verify_hex_exact(t, 32, json_array_get(topics, 0)) || memcmp(t, topic0, 32) != 0 ||
            !verify_hex_exact(t, 32, json_array_get(topics, 1)) ||
            memcmp(t, ev->stream_key, 32) != 0)
            continue;
        return verify_hex_exact(data, 64, json_object_get(log, "data")) &&
               memcmp(data, want_data, 64) == 0;
    }
    return false;
}

/* The anchor transaction: succeeded, in the package's block, with the log;
 * the block's timestamp. */
static void verify_check_receipt(struct verify_report *rep, struct rpc_client *rpc,
                                 const struct verify_evidence *ev)
{
    struct rpc_receipt r = {0};
    struct err e = {0};
    char hex[67];
    ASSERT(hex_encode_0x(hex, sizeof hex, ev->tx_hash, 32) == 0);
    if (rpc_get_transaction_receipt(rpc, &r, ev->tx_hash, &e) != RPC_OK) {
        verify_line(rep, false, "the anchor transaction %s has no receipt: %s", hex, e.msg);
        return;
    }
    verify_line(
        rep, r.status == 1 && r.block_number == ev->block_number && verify_anchor_log(r.logs, ev),
        "the anchor transaction %s succeeded in block %" PRIu64
        " with the vault's RecordingAnchored(streamKey, root, %zu)",
        hex, ev->block_number, ev->n);
    char tag[24];
    json_t *block = NULL;
    uint64_t ts = 0;
    snprintf(tag, sizeof tag, "0x%" PRIx64, r.block_number);
    bool got =
        rpc_call(rpc, "eth_getBlockByNumber", json_pack("[s, b]", tag, 0), &block, &e) == RPC_OK &&
        rpc_parse_quantity_u64(&ts, json_object_get(block, "timestamp"), NULL) == RPC_OK;
    uint8_t hash[32];
    bool same = got && verify_hex_exact(hash, 32, json_object_get(block, "hash")) &&
                memcmp(hash, r.block_hash, 32) == 0;
    verify_line(rep, same && ts == ev->block_timestamp,
                "block %" PRIu64 " has timestamp %" PRIu64 " (the package says %" PRIu64 ")",
                r.block_number, ts, ev->block_timestamp);
    json_decref(block);
    rpc_receipt_release(&r);
}

/* Check 4. */
static void verify_check_chain(struct verify_report *rep, const char *rpc_url,
                               const struct verify_evidence *ev)
{
    struct rpc_client rpc = {0};
    struct err e = {0};
    uint64_t chain_id = 0;
    uint8_t root[32], zero[32] = {0};
    char vault[ADDRESS_TEXT_SIZE], hex[67];
    address_format_checksum(vault, &ev->vault);
    if (rpc_client_init(&rpc, rpc_url, NULL, &e) != RPC_OK ||
        rpc_chain_id(&rpc, &chain_id, &e) != RPC_OK) {
        verify_line(rep, false, "the chain cannot be asked: %s", e.msg);
        rpc_client_release(&rpc);
        return;
    }
    verify_line(rep, chain_id == ev->chain_id,
                "the node is on chain %" PRIu64 " (the package says %" PRIu64 ")", chain_id,
                ev->chain_id);
    struct abi_value key = abi_value_bytes32(ev->stream_key);
    if (rpc_view_word(&rpc, root, ev->vault.bytes, VERIFY_ROOT_VIEW_SIG, &key, 1, "latest", &e) !=
        RPC_OK) {
        verify_line(rep, false, "vault %s: recordingRoot(streamKey) failed: %s", vault, e.msg);
    } else {
        ASSERT(hex_encode_0x(hex, sizeof hex, root, 32) == 0);
        verify_line(rep, memcmp(root, ev->root, 32) == 0,
                    "vault %s: recordingRoot(streamKey) on chain is %s%s", vault, hex,
                    memcmp(root, zero, 32) == 0       ? " (never anchored)"
                    : memcmp(root, ev->root, 32) == 0 ? ", the package's root"
                                                      : ", NOT the package's root");
    }
    verify_check_receipt(rep, &rpc, ev);
    rpc_client_release(&rpc);
}

/* ---- the command ------------------------------------------------------------------- */

int cmd_verify_recording(struct rightsctl *ctl, int argc, char **argv)
{
    struct verify_args a;
    struct err e = {0};
    if (!verify_parse_args(&a, argc, argv, &e)) {
        log_printf(&ctl->log, LOG_ERROR, "verify-recording: %s", e.msg);
        return RIGHTSCTL_EXIT_USAGE;
    }
    if (!rightsctl_load_config(ctl, verify_config_names))
        return RIGHTSCTL_EXIT_USAGE;
    log_set_level(&ctl->log, ctl->cfg.log_level);
    const char *rpc_url =
        a.values[VERIFY_FLAG_RPC] ? a.values[VERIFY_FLAG_RPC] : ctl->cfg.eth_rpc_url;
    struct buf text;
    struct verify_evidence ev = {0};
    struct merkle_tree t = {0};
    struct verify_report rep = {.progress = isatty(STDERR_FILENO) == 1};
    buf_init(&text, VERIFY_EVIDENCE_BYTES_MAX);
    bool loaded = verify_load(&text, &a, &e) && verify_parse(&ev, &text, &e);
    buf_release(&text);
    printf("verify-recording %s (evidence from %s)\n", a.values[VERIFY_FLAG_STREAM],
           a.values[VERIFY_FLAG_API] ? a.values[VERIFY_FLAG_API] : a.values[VERIFY_FLAG_EVIDENCE]);
    if (!loaded) {
        verify_line(&rep, false, "the evidence package: %s", e.msg);
    } else {
        char vault[ADDRESS_TEXT_SIZE];
        address_format_checksum(vault, &ev.vault);
        if (a.has_vault)
            verify_line(&rep, address_eq(&a.vault, &ev.vault),
                        "the package names vault %s "
                        "(--vault)",
                        vault);
        verify_check_package(&rep, &ev, a.values[VERIFY_FLAG_STREAM], &t);
        if (a.values[VERIFY_FLAG_MEDIA] != NULL)
            verify_check_media(&rep, &a, &ev);
        verify_check_chain(&rep, rpc_url, &ev);
    }
    if (rep.failures == 0)
        printf("verified: %zu segments anchored on chain %" PRIu64 " in block %" PRIu64 "%s\n",
               ev.n, ev.chain_id, ev.block_number,
               a.values[VERIFY_FLAG_MEDIA] ? ", every file matches" : " (files not checked)");
    else
        printf("FAILED: %u discrepanc%s\n", rep.failures, rep.failures == 1 ? "y" : "ies");
    merkle_tree_release(&t);
    verify_evidence_release(&ev);
    return rep.failures == 0 ? RIGHTSCTL_EXIT_OK : RIGHTSCTL_EXIT_FAIL;
}
