/* cmd_audit.c - `rightsctl audit --api URL [--rpc URL] [--creator ID]...
 * [--vault ADDR] [--from-block N] [--cancel --guardian-key FILE]`: audits the
 * settlement API's batches against the chain without trusting the service
 * or its database: it trusts the chain (the vault's logs and views, audit.h)
 * and its own recomputation only.
 *
 * What is audited (coverage):
 *   - creators: every --creator ID; without --creator, every creator the API
 *     lists (GET /v1/creators?limit=&cursor= -> {creators:[{id}],
 *     next_cursor}). An API without that list (404/405) is one discrepancy
 *     ("cannot list the creators") and then no creator is audited: ids
 *     cannot be recovered from the creator keys on chain (keccak256);
 *   - settlements: all of each creator's batches (GET /v1/creators/{id}/
 *     settlements, every page), each read in full with its leaves (GET
 *     /v1/settlements/{id});
 *   - the chain: every SettlementAnchored, SettlementCancelled,
 *     SettlementReclaimed and Claimed log of the vault from --from-block
 *     (default 0; it must not be after the vault's first settlement) to the
 *     head, and the views at that block B. An on-chain batch of an audited
 *     creator (or of any creator, when the API listed them all) whose key
 *     is no API settlement's is flagged: a settle the service did not make,
 *     e.g. with a stolen operator key. Batches of creators outside the
 *     audit are counted in a note.
 *   - the vault: --vault ADDR, else the one GET /v1/chain names (then the
 *     header says so); the node's chain id must be the API's chain_id.
 *
 * Checks, each failure one line naming the settlement id and batch key (and
 * the payee, with expected and actual values):
 *   1. batch_key = keccak256(id); creator_id is the creator listed;
 *   2. the leaves: distinct payees, amounts > 0, their sum = total_wei; the
 *      OpenZeppelin StandardMerkleTree root of (payee, amount_wei) with types
 *      ["address","uint256"] (merkle.h) = merkle_root;
 *   3. on chain (anchored, claimable, cancelled and reclaimed batches must
 *      be; a failed one must not be): the SettlementAnchored log's root,
 *      total, creatorKey (= keccak256(creator id)), claimableAt and block
 *      equal the API's; when the leaves do not give the anchored root, the
 *      one leaf whose amount, set to what the anchored total leaves for it,
 *      gives that root is named (batches of up to AUDIT_LOCATE_LEAVES_MAX
 *      leaves), e.g. an amount altered in the database;
 *   4. the views at B (settlementRoot, settlementTotal, settlementCreator,
 *      claimableAt) equal the log; settlementRemaining = total - claimed (0
 *      once cancelled or reclaimed), for every batch on chain;
 *   5. the status agrees with SettlementCancelled / SettlementReclaimed;
 *   6. claims: every Claimed log of the batch is a leaf's payee with exactly
 *      its amount, once; claimed(batchKey, payee) agrees with the logs for
 *      every leaf; the API's `claimed` agrees with the chain;
 *   7. per creator key: the logs' allocation (anchored totals - cancelled -
 *      reclaimed) <= receivedOf and = receivedOf - unallocatedOf (the latter
 *      from block 0 only); per audited creator, the API's settled batches
 *      (not cancelled or failed; minus what was reclaimed) <= receivedOf.
 * The API runs behind the chain: a claim, cancel or reclaim in a block the
 * API has not confirmed yet (after GET /v1/chain's indexed_block minus
 * confirmations) is not a discrepancy.
 *
 * --cancel --guardian-key FILE: every batch with a discrepancy that is live
 * on chain (anchored, not cancelled or reclaimed) is vetoed with
 * cancelSettlement(batchKey), signed by the guardian key (txsend.h; fee
 * capped by MAX_FEE_PER_GAS_WEI, CHAIN_ID must be the node's) while the
 * latest block's time is before its claimableAt; those past it are
 * reported. An unknown batch the guardian already cancelled is a note, not
 * a discrepancy: no wei can leave the vault for it.
 *
 * Output, on stdout: a header (API, chain, vault, blocks); per creator (in
 * id order), per settlement (newest first) one "ok   settlement <id> (batch
 * <key>): ..." line or its "FAIL ..." lines; the chain's lines in batch key
 * order (unknown batches, views); one "ok   creator <id>: ..." line per
 * creator (settled against received) or its FAIL; "note ..." lines; with
 * --cancel one "veto batch <key>: ..." line per bad live batch and a count;
 * last "audit passed: ..." or "AUDIT FAILED: N discrepancies". Progress on
 * stderr when it is a terminal. Exit 0 when no discrepancy, 1 on any (or
 * when the audit could not be completed: API or node unreachable), 2 on bad
 * flags or configuration (ETH_RPC_URL, CHAIN_ID, MAX_FEE_PER_GAS_WEI,
 * LOG_LEVEL; the guardian key file must be mode 0600).
 *
 * Limits: AUDIT_CREATOR_FLAGS_MAX --creator flags, AUDIT_CREATORS_MAX listed
 * creators, AUDIT_PAGES_MAX pages per list,
 * AUDIT_SETTLEMENTS_MAX settlements per creator, AUDIT_LEAVES_MAX
 * leaves per settlement, AUDIT_BODY_BYTES_MAX per API answer,
 * AUDIT_HTTP_TIMEOUT_S per request, audit.h's for the chain. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "address.h"
#include "buf.h"
#include "crypto.h"
#include "hex.h"
#include "ids.h"
#include "merkle.h"
#include "rightsctl.h"
#include "rpc.h"
#include "sig.h"
#include "u256.h"

#include "audit.h"

#define AUDIT_CREATOR_FLAGS_MAX 64
#define AUDIT_CREATORS_MAX ((size_t)100000)
#define AUDIT_SETTLEMENTS_MAX ((size_t)1000000)
#define AUDIT_LEAVES_MAX ((size_t)100000)
#define AUDIT_PAGE_LIMIT 500  /* the API's maximum page */
#define AUDIT_PAGES_MAX 10000 /* pages of one list */
#define AUDIT_BODY_BYTES_MAX ((size_t)32 << 20)
#define AUDIT_URL_BYTES_MAX 1024
#define AUDIT_CURSOR_BYTES_MAX 128
#define AUDIT_HTTP_TIMEOUT_S 60L
#define AUDIT_LOCATE_LEAVES_MAX ((size_t)2048)
#define AUDIT_LABEL_SIZE 160
#define AUDIT_HEX32_SIZE 67

enum audit_status {
    AUDIT_ST_PENDING = 0,
    AUDIT_ST_SUBMITTED,
    AUDIT_ST_ANCHORED,
    AUDIT_ST_CLAIMABLE,
    AUDIT_ST_CANCELLED,
    AUDIT_ST_RECLAIMED,
    AUDIT_ST_FAILED,
    AUDIT_ST_COUNT
};

static const char *const audit_status_names[AUDIT_ST_COUNT] = {
    "pending", "submitted", "anchored", "claimable", "cancelled", "reclaimed", "failed"};

struct audit_args {
    const char *api, *rpc, *guardian_key;
    const char *creators[AUDIT_CREATOR_FLAGS_MAX];
    size_t creators_len;
    bool has_vault, cancel;
    struct address vault;
    uint64_t from_block;
};

/* The settlement API over one keep-alive connection. */
struct audit_http {
    CURL *curl;
    char base[AUDIT_URL_BYTES_MAX + 1]; /* without a trailing '/' */
    struct buf body;
};

/* GET /v1/chain. */
struct audit_api_chain {
    uint64_t chain_id;
    bool has_vault;
    struct address vault;
    bool has_seen;       /* indexed_block >= confirmations */
    uint64_t seen_block; /* facts up to here are expected in the API */
};

struct audit_creator {
    char id[IDS_UUID_SIZE];
    uint8_t key[AUDIT_KEY_BYTES];
    size_t settlements;
    struct u256 api_settled_wei; /* not cancelled or failed, minus reclaimed */
    bool api_settled_bad;        /* overflowed */
};

struct audit_leaf {
    struct address payee;
    struct u256 amount_wei;
    bool claimed;
};

/* GET /v1/settlements/{id}, parsed (strings point into json). */
struct audit_settlement {
    json_t *json;
    const char *id, *creator_id;
    enum audit_status status;
    uint8_t batch_key[AUDIT_KEY_BYTES], merkle_root[32], root_of_leaves[32];
    struct u256 total_wei, leaves_sum_wei;
    bool leaves_sum_ok, has_block, has_claimable_at;
    uint64_t block_number, claimable_at;
    struct audit_leaf *leaves; /* sorted by payee once checked */
    size_t n;
    char label[AUDIT_LABEL_SIZE]; /* "settlement <id> (batch 0x..)" */
};

struct audit_run {
    struct audit_args args;
    unsigned failures, notes;
    bool progress;
    struct audit_http http;
    struct audit_api_chain api;
    struct rpc_client rpc;
    struct audit_chain chain;
    struct audit_creator *creators;
    size_t creators_len;
    bool complete;                          /* the API listed every creator */
    uint8_t (*scope_keys)[AUDIT_KEY_BYTES]; /* the creators' keys, sorted */
    size_t settlements, leaves, out_of_scope;
};

static bool audit_parse_args(struct audit_args *a, int argc, char **argv, struct err *e);
static bool audit_url_ok(const char *text, bool query_ok);
static void audit_line(struct audit_run *r, const char *kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static const char *audit_hex32(char out[AUDIT_HEX32_SIZE], const uint8_t in[32]);
static const char *audit_dec(char out[U256_DEC_SIZE], const struct u256 *v);
static bool audit_http_init(struct audit_http *h, const char *base, struct err *e);
static size_t audit_http_write(char *data, size_t size, size_t n, void *ctx);
static bool audit_http_get(json_t **out, long *status, struct audit_http *h, const char *path,
                           struct err *e);
static void audit_http_release(struct audit_http *h);
static bool audit_json_hex(uint8_t *out, size_t len, const json_t *v);
static bool audit_json_u64(uint64_t *out, const json_t *v);
static bool audit_json_wei(struct u256 *out, const json_t *v);
static bool audit_get_chain(struct audit_run *r, struct err *e);
static bool audit_add_creator(struct audit_run *r, size_t cap, const char *id, struct err *e);
static int audit_creator_cmp(const void *a, const void *b);
static int audit_key_cmp(const void *a, const void *b);
static bool audit_scope_init(struct audit_run *r, struct err *e);
static bool audit_list_creators(struct audit_run *r, struct err *e);
static bool audit_next_cursor(char out[AUDIT_CURSOR_BYTES_MAX + 1], bool *more, const json_t *page);
static bool audit_list_settlements(char (**ids)[IDS_UUID_SIZE], size_t *n, long *status,
                                   struct audit_run *r, const struct audit_creator *cr,
                                   struct err *e);
static bool audit_parse_settlement(struct audit_settlement *s, json_t *json, struct err *e);
static bool audit_parse_leaves(struct audit_settlement *s, struct err *e);
static void audit_settlement_release(struct audit_settlement *s);
static int audit_leaf_cmp(const void *a, const void *b);
static const struct audit_leaf *audit_leaf_of(const struct audit_settlement *s,
                                              const struct address *payee);
static bool audit_lagging(const struct audit_run *r, uint64_t block);
static uint8_t (*audit_leaf_hashes(const struct audit_settlement *s))[MERKLE_HASH_BYTES];
static bool audit_tree_root(uint8_t root[32], const uint8_t (*hashes)[MERKLE_HASH_BYTES], size_t n);
static void audit_check_leaves(struct audit_run *r, struct audit_settlement *s);
static void audit_locate_leaf(struct audit_run *r, const struct audit_settlement *s,
                              const struct audit_batch *b);
static void audit_check_anchor(struct audit_run *r, const struct audit_settlement *s,
                               const struct audit_batch *b);
static void audit_check_status(struct audit_run *r, const struct audit_settlement *s,
                               const struct audit_batch *b);
static void audit_check_claims(struct audit_run *r, const struct audit_settlement *s,
                               const struct audit_batch *b);
static void audit_check_claim_views(struct audit_run *r, const struct audit_settlement *s,
                                    const struct audit_batch *b);
static void audit_check_settlement(struct audit_run *r, struct audit_creator *cr,
                                   struct audit_settlement *s);
static void audit_creator_settled(struct audit_creator *cr, const struct audit_settlement *s,
                                  const struct audit_batch *b);
static void audit_check_creator(struct audit_run *r, struct audit_creator *cr);
static void audit_check_views(struct audit_run *r, const struct audit_batch *b);
static void audit_check_chain(struct audit_run *r);
static void audit_check_funds(struct audit_run *r);
static bool audit_in_scope(const struct audit_run *r, const uint8_t creator_key[AUDIT_KEY_BYTES]);
static void audit_veto(struct audit_run *r, const struct sig_private_key *key, uint64_t chain_id,
                       uint64_t max_fee_per_gas_wei);
static bool audit_prepare(struct audit_run *r, struct err *e);
static void audit_run_release(struct audit_run *r);

static const char *const audit_config_names[] = {"ETH_RPC_URL", "CHAIN_ID", "LOG_LEVEL",
                                                 "MAX_FEE_PER_GAS_WEI", NULL};

/* ---- flags ----------------------------------------------------------------------------- */

/* http:// or https://, then printable bytes without '#' or spaces (nor
 * '?' unless query_ok: the API's paths are appended). */
static bool audit_url_ok(const char *text, bool query_ok)
{
    size_t len = strnlen(text, AUDIT_URL_BYTES_MAX + 1), skip = 0;
    if (strncmp(text, "http://", 7) == 0)
        skip = 7;
    else if (strncmp(text, "https://", 8) == 0)
        skip = 8;
    if (skip == 0 || len <= skip || len > AUDIT_URL_BYTES_MAX / 2)
        return false;
    for (const char *p = text + skip; *p != '\0'; p++)
        if (*p <= ' ' || *p >= 0x7f || *p == '#' || (*p == '?' && !query_ok))
            return false;
    return true;
}

static bool audit_parse_args(struct audit_args *a, int argc, char **argv, struct err *e)
{
    memset(a, 0, sizeof *a);
    char quoted[80];
    for (int i = 0; i < argc; i++) {
        const char *flag = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(flag, "--cancel") == 0) {
            a->cancel = true;
            continue;
        }
        bool known = strcmp(flag, "--api") == 0 || strcmp(flag, "--rpc") == 0 ||
                     strcmp(flag, "--creator") == 0 || strcmp(flag, "--vault") == 0 ||
                     strcmp(flag, "--from-block") == 0 || strcmp(flag, "--guardian-key") == 0;
        err_quote(quoted, sizeof quoted, flag, strlen(flag));
        if (!known)
            return !err_set(e, 1, "unknown argument '%s'", quoted);
        if (val == NULL)
            return !err_set(e, 1, "%s needs a value", flag);
        i++;
        const char **slot = strcmp(flag, "--api") == 0            ? &a->api
                            : strcmp(flag, "--rpc") == 0          ? &a->rpc
                            : strcmp(flag, "--guardian-key") == 0 ? &a->guardian_key
                                                                  : NULL;
        err_quote(quoted, sizeof quoted, val, strlen(val));
        if (slot != NULL && *slot != NULL)
            return !err_set(e, 1, "%s given twice", flag);
        if (slot != NULL) {
            *slot = val;
        } else if (strcmp(flag, "--creator") == 0) {
            if (!ids_uuid_valid(val, strnlen(val, IDS_UUID_SIZE)))
                return !err_set(e, 1, "--creator: '%s' is not a lowercase UUID", quoted);
            if (a->creators_len == AUDIT_CREATOR_FLAGS_MAX)
                return !err_set(e, 1, "at most %d --creator flags", AUDIT_CREATOR_FLAGS_MAX);
            a->creators[a->creators_len++] = val;
        } else if (strcmp(flag, "--vault") == 0) {
            if (a->has_vault || address_parse(&a->vault, val, strlen(val), NULL) != ADDRESS_OK)
                return !err_set(e, 1, "--vault: '%s' is not an address (or given twice)", quoted);
            a->has_vault = true;
        } else {
            struct u256 v;
            size_t len = strnlen(val, 21);
            if (len == 0 || len > 20 || u256_from_dec(&v, val, len, NULL) != U256_OK ||
                !u256_to_u64(&a->from_block, &v) || a->from_block > INT64_MAX)
                return !err_set(e, 1, "--from-block: '%s' is not a block number", quoted);
        }
    }
    if (a->api == NULL || !audit_url_ok(a->api, false))
        return !err_set(e, 1, "--api URL (http:// or https://, no query) is required");
    if (a->rpc != NULL && !audit_url_ok(a->rpc, true))
        return !err_set(e, 1, "--rpc: not an http:// or https:// URL");
    if (a->cancel != (a->guardian_key != NULL))
        return !err_set(e, 1, "--cancel and --guardian-key FILE go together");
    return true;
}

/* ---- report ---------------------------------------------------------------------------- */

static void audit_line(struct audit_run *r, const char *kind, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (r->progress)
        fprintf(stderr, "\r\033[K");
    printf("%-4s ", kind);
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    fflush(stdout);
    if (strcmp(kind, "FAIL") == 0)
        r->failures++;
    else if (strcmp(kind, "note") == 0)
        r->notes++;
}

static const char *audit_hex32(char out[AUDIT_HEX32_SIZE], const uint8_t in[32])
{
    ASSERT(hex_encode_0x(out, AUDIT_HEX32_SIZE, in, 32) == 0);
    return out;
}

static const char *audit_dec(char out[U256_DEC_SIZE], const struct u256 *v)
{
    u256_to_dec(out, v);
    return out;
}

/* ---- the API over HTTP ----------------------------------------------------------------- */

static bool audit_http_init(struct audit_http *h, const char *base, struct err *e)
{
    memset(h, 0, sizeof *h);
    size_t len = strlen(base);
    while (len > 0 && base[len - 1] == '/')
        len--;
    memcpy(h->base, base, len); /* audit_url_ok: len <= AUDIT_URL_BYTES_MAX / 2 */
    buf_init(&h->body, AUDIT_BODY_BYTES_MAX);
    if ((h->curl = curl_easy_init()) == NULL)
        return !err_set(e, 1, "cannot start an HTTP client");
    curl_easy_setopt(h->curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h->curl, CURLOPT_TIMEOUT, AUDIT_HTTP_TIMEOUT_S);
    curl_easy_setopt(h->curl, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(h->curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h->curl, CURLOPT_WRITEFUNCTION, audit_http_write);
    curl_easy_setopt(h->curl, CURLOPT_WRITEDATA, &h->body);
    return true;
}

static size_t audit_http_write(char *data, size_t size, size_t n, void *ctx)
{
    return buf_append(ctx, data, size * n) == BUF_OK ? size * n : 0;
}

/* GET base+path. true with *status and, for a JSON object body, *out (a new
 * reference; NULL otherwise); false when no answer came. */
static bool audit_http_get(json_t **out, long *status, struct audit_http *h, const char *path,
                           struct err *e)
{
    char url[AUDIT_URL_BYTES_MAX + 256];
    int len = snprintf(url, sizeof url, "%s%s", h->base, path);
    ASSERT(len > 0 && (size_t)len < sizeof url);
    *out = NULL;
    *status = 0;
    buf_reset(&h->body);
    curl_easy_setopt(h->curl, CURLOPT_URL, url);
    CURLcode rc = curl_easy_perform(h->curl);
    if (rc != CURLE_OK)
        return !err_set(e, 1, "GET %s failed: %s", path, curl_easy_strerror(rc));
    curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, status);
    json_t *j = json_loadb((const char *)h->body.data, h->body.len, JSON_REJECT_DUPLICATES, NULL);
    if (json_is_object(j))
        *out = j;
    else
        json_decref(j);
    return true;
}

static void audit_http_release(struct audit_http *h)
{
    if (h->curl != NULL)
        curl_easy_cleanup(h->curl);
    buf_release(&h->body);
    memset(h, 0, sizeof *h);
}

/* ---- JSON values ----------------------------------------------------------------------- */

/* "0x" + exactly 2*len hex digits. */
static bool audit_json_hex(uint8_t *out, size_t len, const json_t *v)
{
    const char *s = json_string_value(v);
    return s != NULL && strncmp(s, "0x", 2) == 0 &&
           hex_decode_exact(out, len, s + 2, strlen(s + 2), NULL) == HEX_OK;
}

static bool audit_json_u64(uint64_t *out, const json_t *v)
{
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return false;
    *out = (uint64_t)json_integer_value(v);
    return true;
}

/* A decimal string of wei. */
static bool audit_json_wei(struct u256 *out, const json_t *v)
{
    const char *s = json_string_value(v);
    size_t len = s == NULL ? 0 : strlen(s);
    return len > 0 && len < U256_DEC_SIZE && u256_from_dec(out, s, len, NULL) == U256_OK;
}

/* ---- the API's data -------------------------------------------------------------------- */

static bool audit_get_chain(struct audit_run *r, struct err *e)
{
    json_t *j = NULL;
    long status = 0;
    if (!audit_http_get(&j, &status, &r->http, "/v1/chain", e))
        return false;
    const json_t *vault = json_object_get(j, "vault"),
                 *indexed = json_object_get(j, "indexed_block");
    const char *vault_text = json_string_value(vault);
    uint64_t confirmations = 0, indexed_block = 0;
    bool ok = status == 200 && audit_json_u64(&r->api.chain_id, json_object_get(j, "chain_id")) &&
              audit_json_u64(&confirmations, json_object_get(j, "confirmations")) &&
              (json_is_null(indexed) || audit_json_u64(&indexed_block, indexed)) &&
              (json_is_null(vault) ||
               (vault_text != NULL &&
                address_parse(&r->api.vault, vault_text, strlen(vault_text), NULL) == ADDRESS_OK));
    r->api.has_vault = ok && !json_is_null(vault);
    r->api.has_seen = ok && !json_is_null(indexed) && indexed_block >= confirmations;
    r->api.seen_block = r->api.has_seen ? indexed_block - confirmations : 0;
    json_decref(j);
    if (!ok)
        return !err_set(e, 1,
                        "GET /v1/chain answered %ld without {chain_id, vault, "
                        "confirmations, indexed_block}",
                        status);
    return true;
}

/* Appends a creator (duplicates are dropped by audit_scope_init). */
static bool audit_add_creator(struct audit_run *r, size_t cap, const char *id, struct err *e)
{
    if (r->creators_len == cap)
        return !err_set(e, 1, "more than %zu creators", cap);
    struct audit_creator *cr = &r->creators[r->creators_len++];
    memset(cr, 0, sizeof *cr);
    memcpy(cr->id, id, IDS_UUID_SIZE);
    ids_key_of(cr->key, cr->id);
    return true;
}

/* A page's next_cursor: null (last page) or a short string of URL-safe bytes. */
static bool audit_next_cursor(char out[AUDIT_CURSOR_BYTES_MAX + 1], bool *more, const json_t *page)
{
    const json_t *next = json_object_get(page, "next_cursor");
    const char *s = json_string_value(next);
    size_t len = s == NULL ? 0 : strlen(s);
    *more = s != NULL;
    if (json_is_null(next))
        return true;
    if (s == NULL || len == 0 || len > AUDIT_CURSOR_BYTES_MAX ||
        strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~") != len)
        return false;
    memcpy(out, s, len + 1);
    return true;
}

/* Every creator of GET /v1/creators (pages). r->complete unless the API has
 * no such list (404/405), which is reported. */
static bool audit_list_creators(struct audit_run *r, struct err *e)
{
    r->creators = calloc(AUDIT_CREATORS_MAX, sizeof *r->creators);
    if (r->creators == NULL)
        return !err_set(e, 1, "out of memory for the creators");
    char cursor[AUDIT_CURSOR_BYTES_MAX + 1] = "", path[AUDIT_CURSOR_BYTES_MAX + 64];
    bool more = true;
    for (size_t page = 0; more; page++) {
        json_t *j = NULL;
        long status = 0;
        if (page == AUDIT_PAGES_MAX)
            return !err_set(e, 1, "GET /v1/creators: more than %d pages", AUDIT_PAGES_MAX);
        snprintf(path, sizeof path, "/v1/creators?limit=%d%s%s", AUDIT_PAGE_LIMIT,
                 page == 0 ? "" : "&cursor=", page == 0 ? "" : cursor);
        if (!audit_http_get(&j, &status, &r->http, path, e))
            return false;
        if (page == 0 && (status == 404 || status == 405)) {
            json_decref(j);
            audit_line(r, "FAIL",
                       "cannot list the creators: GET /v1/creators answered %ld; on-chain "
                       "settlements cannot be matched to the API (name creators with --creator ID)",
                       status);
            return true;
        }
        const json_t *list = json_object_get(j, "creators");
        bool ok = status == 200 && json_is_array(list) && audit_next_cursor(cursor, &more, j);
        for (size_t i = 0; ok && i < json_array_size(list); i++) {
            const char *id = json_string_value(json_object_get(json_array_get(list, i), "id"));
            ok = id != NULL && ids_uuid_valid(id, strlen(id)) &&
                 audit_add_creator(r, AUDIT_CREATORS_MAX, id, e);
        }
        json_decref(j);
        if (!ok)
            return e->msg[0] != '\0' ? false
                                     : !err_set(e, 1,
                                                "GET /v1/creators answered %ld without "
                                                "{creators:[{id}], next_cursor}",
                                                status);
    }
    r->complete = true;
    return true;
}

/* The ids of a creator's settlements (every page). *status: the first
 * page's HTTP status; not 200 returns true with *n = 0. */
static bool audit_list_settlements(char (**ids)[IDS_UUID_SIZE], size_t *n, long *status,
                                   struct audit_run *r, const struct audit_creator *cr,
                                   struct err *e)
{
    char cursor[AUDIT_CURSOR_BYTES_MAX + 1] = "", path[AUDIT_CURSOR_BYTES_MAX + 128];
    bool more = true, ok = true;
    size_t cap = 0;
    *ids = NULL;
    *n = 0;
    for (size_t page = 0; ok && more; page++) {
        json_t *j = NULL;
        long st = 0;
        if (page == AUDIT_PAGES_MAX)
            return !err_set(e, 1, "GET /v1/creators/%s/settlements: more than %d pages", cr->id,
                            AUDIT_PAGES_MAX);
        snprintf(path, sizeof path, "/v1/creators/%s/settlements?limit=%d%s%s", cr->id,
                 AUDIT_PAGE_LIMIT, page == 0 ? "" : "&cursor=", page == 0 ? "" : cursor);
        if (!audit_http_get(&j, &st, &r->http, path, e))
            return false;
        if (page == 0)
            *status = st;
        const json_t *list = json_object_get(j, "settlements");
        size_t k = json_array_size(list);
        ok = st == 200 && json_is_array(list) && audit_next_cursor(cursor, &more, j) &&
             *n + k <= AUDIT_SETTLEMENTS_MAX;
        if (ok && *n + k > cap) {
            cap = (*n + k) * 2;
            char(*grown)[IDS_UUID_SIZE] = realloc(*ids, cap * IDS_UUID_SIZE);
            ok = grown != NULL;
            if (ok)
                *ids = grown;
        }
        for (size_t i = 0; ok && i < k; i++) {
            const char *id = json_string_value(json_object_get(json_array_get(list, i), "id"));
            ok = id != NULL && ids_uuid_valid(id, strlen(id));
            if (ok)
                memcpy((*ids)[(*n)++], id, IDS_UUID_SIZE);
        }
        json_decref(j);
        if (page == 0 && st != 200)
            return true;
    }
    if (!ok)
        return !err_set(e, 1,
                        "GET /v1/creators/%s/settlements: not {settlements:[{id}], next_cursor} "
                        "(or above %zu settlements)",
                        cr->id, AUDIT_SETTLEMENTS_MAX);
    return true;
}

static bool audit_parse_settlement(struct audit_settlement *s, json_t *json, struct err *e)
{
    s->json = json;
    const char *status = json_string_value(json_object_get(json, "status"));
    const json_t *block = json_object_get(json, "block_number"),
                 *at = json_object_get(json, "claimable_at");
    s->id = json_string_value(json_object_get(json, "id"));
    s->creator_id = json_string_value(json_object_get(json, "creator_id"));
    size_t st = 0;
    while (status != NULL && st < AUDIT_ST_COUNT && strcmp(status, audit_status_names[st]) != 0)
        st++;
    s->status = (enum audit_status)st;
    s->has_block = !json_is_null(block);
    s->has_claimable_at = !json_is_null(at);
    if (s->id == NULL || !ids_uuid_valid(s->id, strlen(s->id)) || s->creator_id == NULL ||
        !ids_uuid_valid(s->creator_id, strlen(s->creator_id)) || status == NULL ||
        st == AUDIT_ST_COUNT ||
        !audit_json_hex(s->batch_key, AUDIT_KEY_BYTES, json_object_get(json, "batch_key")) ||
        !audit_json_hex(s->merkle_root, 32, json_object_get(json, "merkle_root")) ||
        !audit_json_wei(&s->total_wei, json_object_get(json, "total_wei")) ||
        (s->has_block && !audit_json_u64(&s->block_number, block)) ||
        (s->has_claimable_at && !audit_json_u64(&s->claimable_at, at)))
        return !err_set(e, 1,
                        "not {id, creator_id, batch_key, status, merkle_root, total_wei, "
                        "block_number, claimable_at, leaves}");
    return audit_parse_leaves(s, e);
}

static bool audit_parse_leaves(struct audit_settlement *s, struct err *e)
{
    const json_t *leaves = json_object_get(s->json, "leaves");
    size_t n = json_array_size(leaves);
    if (!json_is_array(leaves) || n > AUDIT_LEAVES_MAX)
        return !err_set(e, 1, "'leaves' is not an array of at most %zu leaves", AUDIT_LEAVES_MAX);
    if ((s->leaves = calloc(n == 0 ? 1 : n, sizeof *s->leaves)) == NULL)
        return !err_set(e, 1, "out of memory for %zu leaves", n);
    for (size_t i = 0; i < n; i++) {
        const json_t *l = json_array_get(leaves, i), *claimed = json_object_get(l, "claimed");
        const char *payee = json_string_value(json_object_get(l, "payee"));
        if (payee == NULL ||
            address_parse(&s->leaves[i].payee, payee, strlen(payee), NULL) != ADDRESS_OK ||
            !audit_json_wei(&s->leaves[i].amount_wei, json_object_get(l, "amount_wei")) ||
            !json_is_boolean(claimed))
            return !err_set(e, 1, "leaf %zu is not {payee, amount_wei, claimed}", i);
        s->leaves[i].claimed = json_is_true(claimed);
    }
    s->n = n;
    return true;
}

static void audit_settlement_release(struct audit_settlement *s)
{
    json_decref(s->json);
    free(s->leaves);
    memset(s, 0, sizeof *s);
}

/* ---- checks of one settlement ----------------------------------------------------------- */

static int audit_leaf_cmp(const void *a, const void *b)
{
    return memcmp(((const struct audit_leaf *)a)->payee.bytes,
                  ((const struct audit_leaf *)b)->payee.bytes, ADDRESS_BYTES);
}

static const struct audit_leaf *audit_leaf_of(const struct audit_settlement *s,
                                              const struct address *payee)
{
    /* payee is the first member of struct audit_leaf */
    return s->n == 0 ? NULL : bsearch(payee, s->leaves, s->n, sizeof *s->leaves, audit_leaf_cmp);
}

/* A fact of `block` that the API has not confirmed yet. */
static bool audit_lagging(const struct audit_run *r, uint64_t block)
{
    return !r->api.has_seen || block > r->api.seen_block;
}

/* The leaf hashes of s's leaves (malloc'd; NULL when out of memory). */
static uint8_t (*audit_leaf_hashes(const struct audit_settlement *s))[MERKLE_HASH_BYTES]
{
    uint8_t(*hashes)[MERKLE_HASH_BYTES] = malloc((s->n == 0 ? 1 : s->n) * MERKLE_HASH_BYTES);
    for (size_t i = 0; hashes != NULL && i < s->n; i++) {
        uint8_t word[32];
        u256_to_be32(word, &s->leaves[i].amount_wei);
        merkle_leaf_settlement(hashes[i], s->leaves[i].payee.bytes, word);
    }
    return hashes;
}

static bool audit_tree_root(uint8_t root[32], const uint8_t (*hashes)[MERKLE_HASH_BYTES], size_t n)
{
    struct merkle_tree t = {0};
    bool ok = merkle_tree_build(&t, hashes, n, NULL) == MERKLE_OK;
    if (ok)
        merkle_tree_root(root, &t);
    merkle_tree_release(&t);
    return ok;
}

/* Check 2: distinct payees, amounts, sum, root of the leaves. */
static void audit_check_leaves(struct audit_run *r, struct audit_settlement *s)
{
    char a[U256_DEC_SIZE], b[U256_DEC_SIZE], h1[AUDIT_HEX32_SIZE], h2[AUDIT_HEX32_SIZE];
    char who[ADDRESS_TEXT_SIZE];
    qsort(s->leaves, s->n, sizeof *s->leaves, audit_leaf_cmp);
    s->leaves_sum_ok = true;
    s->leaves_sum_wei = u256_zero();
    for (size_t i = 0; i < s->n; i++) {
        address_format_checksum(who, &s->leaves[i].payee);
        if (i > 0 && address_eq(&s->leaves[i - 1].payee, &s->leaves[i].payee))
            audit_line(r, "FAIL", "%s payee %s: two leaves", s->label, who);
        if (u256_is_zero(&s->leaves[i].amount_wei))
            audit_line(r, "FAIL", "%s payee %s: a leaf of 0 wei", s->label, who);
        s->leaves_sum_ok = s->leaves_sum_ok && u256_add(&s->leaves_sum_wei, &s->leaves_sum_wei,
                                                        &s->leaves[i].amount_wei) == U256_OK;
    }
    if (!s->leaves_sum_ok || u256_cmp(&s->leaves_sum_wei, &s->total_wei) != 0)
        audit_line(r, "FAIL", "%s: the leaves sum to %s wei, total_wei is %s wei", s->label,
                   s->leaves_sum_ok ? audit_dec(a, &s->leaves_sum_wei) : "more than 2^256",
                   audit_dec(b, &s->total_wei));
    uint8_t(*hashes)[MERKLE_HASH_BYTES] = audit_leaf_hashes(s);
    bool built =
        hashes != NULL && audit_tree_root(s->root_of_leaves, (const uint8_t(*)[32])hashes, s->n);
    free(hashes);
    if (!built)
        memset(s->root_of_leaves, 0, 32);
    if (!built || memcmp(s->root_of_leaves, s->merkle_root, 32) != 0)
        audit_line(r, "FAIL", "%s: the root of its %zu leaves is %s, not merkle_root %s", s->label,
                   s->n, built ? audit_hex32(h1, s->root_of_leaves) : "(no tree)",
                   audit_hex32(h2, s->merkle_root));
}

/* The leaves do not give the anchored root: find the one leaf whose amount,
 * set to what the anchored total leaves for it, gives that root. */
static void audit_locate_leaf(struct audit_run *r, const struct audit_settlement *s,
                              const struct audit_batch *b)
{
    char h[AUDIT_HEX32_SIZE], want[U256_DEC_SIZE], got[U256_DEC_SIZE], who[ADDRESS_TEXT_SIZE];
    if (s->n == 0 || s->n > AUDIT_LOCATE_LEAVES_MAX || !s->leaves_sum_ok) {
        audit_line(r, "FAIL", "%s: its %zu leaves do not give the anchored root %s", s->label, s->n,
                   audit_hex32(h, b->root));
        return;
    }
    uint8_t(*hashes)[MERKLE_HASH_BYTES] = audit_leaf_hashes(s);
    for (size_t i = 0; hashes != NULL && i < s->n; i++) {
        struct u256 others, amount;
        uint8_t word[32], saved[32], root[32];
        if (u256_sub(&others, &s->leaves_sum_wei, &s->leaves[i].amount_wei) != U256_OK ||
            u256_sub(&amount, &b->total_wei, &others) != U256_OK || u256_is_zero(&amount) ||
            u256_cmp(&amount, &s->leaves[i].amount_wei) == 0)
            continue;
        memcpy(saved, hashes[i], 32);
        u256_to_be32(word, &amount);
        merkle_leaf_settlement(hashes[i], s->leaves[i].payee.bytes, word);
        bool found = audit_tree_root(root, (const uint8_t(*)[32])hashes, s->n) &&
                     memcmp(root, b->root, 32) == 0;
        memcpy(hashes[i], saved, 32);
        if (!found)
            continue;
        address_format_checksum(who, &s->leaves[i].payee);
        audit_line(
            r, "FAIL", "%s payee %s: the API's leaf is %s wei, the anchored root holds %s wei",
            s->label, who, audit_dec(got, &s->leaves[i].amount_wei), audit_dec(want, &amount));
        free(hashes);
        return;
    }
    free(hashes);
    audit_line(r, "FAIL",
               "%s: its %zu leaves do not give the anchored root %s, and no single altered "
               "amount explains it",
               s->label, s->n, audit_hex32(h, b->root));
}

/* Check 3 (SettlementAnchored against the API). */
static void audit_check_anchor(struct audit_run *r, const struct audit_settlement *s,
                               const struct audit_batch *b)
{
    char h1[AUDIT_HEX32_SIZE], h2[AUDIT_HEX32_SIZE], a[U256_DEC_SIZE], c[U256_DEC_SIZE];
    uint8_t creator_key[AUDIT_KEY_BYTES];
    ids_key_of(creator_key, s->creator_id);
    if (b->anchored_logs > 1)
        audit_line(r, "FAIL", "%s: %u SettlementAnchored logs for one batch key", s->label,
                   b->anchored_logs);
    if (memcmp(s->merkle_root, b->root, 32) != 0)
        audit_line(r, "FAIL", "%s: merkle_root %s is not the anchored root %s (block %" PRIu64 ")",
                   s->label, audit_hex32(h1, s->merkle_root), audit_hex32(h2, b->root),
                   b->block_number);
    if (memcmp(s->root_of_leaves, b->root, 32) != 0)
        audit_locate_leaf(r, s, b);
    if (u256_cmp(&s->total_wei, &b->total_wei) != 0)
        audit_line(r, "FAIL", "%s: total_wei %s wei is not the anchored total %s wei", s->label,
                   audit_dec(a, &s->total_wei), audit_dec(c, &b->total_wei));
    if (memcmp(creator_key, b->creator_key, AUDIT_KEY_BYTES) != 0)
        audit_line(r, "FAIL", "%s: anchored for creator key %s, not keccak256(creator id) %s",
                   s->label, audit_hex32(h1, b->creator_key), audit_hex32(h2, creator_key));
    if (s->has_claimable_at && s->claimable_at != b->claimable_at)
        audit_line(r, "FAIL", "%s: claimable_at %" PRIu64 ", the anchored claimableAt is %" PRIu64,
                   s->label, s->claimable_at, b->claimable_at);
    if (s->has_block && s->status != AUDIT_ST_FAILED && s->block_number != b->block_number)
        audit_line(r, "FAIL",
                   "%s: block_number %" PRIu64 ", SettlementAnchored is in block %" PRIu64,
                   s->label, s->block_number, b->block_number);
}

/* Check 5: the status against the chain's end of the batch. */
static void audit_check_status(struct audit_run *r, const struct audit_settlement *s,
                               const struct audit_batch *b)
{
    const char *st = audit_status_names[s->status];
    if (s->status == AUDIT_ST_FAILED)
        audit_line(r, "FAIL",
                   "%s: status failed, yet anchored on chain in block %" PRIu64
                   " (its amounts were returned to the ledger: they would be paid twice)",
                   s->label, b->block_number);
    if (b->end_logs > 1)
        audit_line(r, "FAIL", "%s: %u SettlementCancelled/SettlementReclaimed logs", s->label,
                   b->end_logs);
    if (b->cancelled.seen && s->status != AUDIT_ST_CANCELLED &&
        !audit_lagging(r, b->cancelled.block_number))
        audit_line(r, "FAIL", "%s: status %s, yet cancelled on chain in block %" PRIu64, s->label,
                   st, b->cancelled.block_number);
    if (b->reclaimed.seen && s->status != AUDIT_ST_RECLAIMED &&
        !audit_lagging(r, b->reclaimed.block_number))
        audit_line(r, "FAIL", "%s: status %s, yet reclaimed on chain in block %" PRIu64, s->label,
                   st, b->reclaimed.block_number);
    if ((s->status == AUDIT_ST_CANCELLED && !b->cancelled.seen) ||
        (s->status == AUDIT_ST_RECLAIMED && !b->reclaimed.seen))
        audit_line(r, "FAIL",
                   "%s: status %s, yet %s on chain (its amounts were returned to the ledger: "
                   "they would be paid twice)",
                   s->label, st,
                   b->cancelled.seen   ? "cancelled"
                   : b->reclaimed.seen ? "reclaimed"
                                       : "live");
}

/* Check 6, the logs: every Claimed log is a leaf with exactly its amount. */
static void audit_check_claims(struct audit_run *r, const struct audit_settlement *s,
                               const struct audit_batch *b)
{
    char got[U256_DEC_SIZE], want[U256_DEC_SIZE], who[ADDRESS_TEXT_SIZE];
    for (size_t i = 0; i < b->claims_len; i++) {
        const struct audit_claim *cl = &r->chain.claims[b->claims_first + i];
        const struct audit_leaf *l = audit_leaf_of(s, &cl->account);
        address_format_checksum(who, &cl->account);
        if (l == NULL)
            audit_line(r, "FAIL",
                       "%s: account %s claimed %s wei on chain (block %" PRIu64 ") but has no leaf",
                       s->label, who, audit_dec(got, &cl->amount_wei), cl->block_number);
        else if (u256_cmp(&l->amount_wei, &cl->amount_wei) != 0)
            audit_line(r, "FAIL",
                       "%s payee %s: claimed %s wei on chain (block %" PRIu64
                       "), the API's leaf is %s wei",
                       s->label, who, audit_dec(got, &cl->amount_wei), cl->block_number,
                       audit_dec(want, &l->amount_wei));
    }
    if (b->duplicate_claim)
        audit_line(r, "FAIL", "%s: one account has two Claimed logs", s->label);
    if (b->claimed_overflow || u256_cmp(&b->claimed_wei, &b->total_wei) > 0)
        audit_line(r, "FAIL", "%s: its claims add up to more than its total %s wei", s->label,
                   audit_dec(want, &b->total_wei));
    audit_check_claim_views(r, s, b);
}

/* Check 6, per leaf: claimed(batchKey, payee) and the API's flag agree
 * with the Claimed logs. No claim can precede claimableAt: a batch not yet
 * claimable at B without Claimed logs needs no views. */
static void audit_check_claim_views(struct audit_run *r, const struct audit_settlement *s,
                                    const struct audit_batch *b)
{
    char who[ADDRESS_TEXT_SIZE];
    bool *views = calloc(s->n == 0 ? 1 : s->n, sizeof *views);
    struct address *payees = calloc(s->n == 0 ? 1 : s->n, sizeof *payees);
    struct err e = {0};
    ASSERT(views != NULL && payees != NULL);
    for (size_t i = 0; i < s->n; i++)
        payees[i] = s->leaves[i].payee;
    bool need = s->n > 0 && (b->claims_len > 0 || r->chain.block_timestamp >= b->claimable_at);
    if (need && !audit_chain_claimed(views, &r->rpc, &r->chain, b->batch_key, payees, s->n, &e)) {
        audit_line(r, "FAIL", "%s: vault.claimed() could not be read: %s", s->label, e.msg);
        need = false;
    }
    for (size_t i = 0; i < s->n; i++) {
        const struct audit_claim *cl = audit_chain_claim_of(&r->chain, b, &payees[i]);
        address_format_checksum(who, &payees[i]);
        if (need && views[i] != (cl != NULL))
            audit_line(r, "FAIL", "%s payee %s: vault.claimed is %s, the Claimed logs say %s",
                       s->label, who, views[i] ? "true" : "false", cl ? "claimed" : "unclaimed");
        if (s->leaves[i].claimed && cl == NULL)
            audit_line(r, "FAIL", "%s payee %s: the API says claimed, the chain has no claim",
                       s->label, who);
        else if (!s->leaves[i].claimed && cl != NULL && !audit_lagging(r, cl->block_number))
            audit_line(r, "FAIL",
                       "%s payee %s: claimed on chain in block %" PRIu64 ", the API says unclaimed",
                       s->label, who, cl->block_number);
    }
    free(views);
    free(payees);
}

/* What the API's batch adds to its creator's settled revenue. */
static void audit_creator_settled(struct audit_creator *cr, const struct audit_settlement *s,
                                  const struct audit_batch *b)
{
    if (s->status == AUDIT_ST_CANCELLED || s->status == AUDIT_ST_FAILED)
        return;
    struct u256 net = s->total_wei;
    bool ok = b == NULL || !b->reclaimed.seen ||
              u256_sub(&net, &net, &b->reclaimed.amount_wei) == U256_OK;
    ok = ok && u256_add(&cr->api_settled_wei, &cr->api_settled_wei, &net) == U256_OK;
    cr->api_settled_bad = cr->api_settled_bad || !ok;
}

static void audit_check_settlement(struct audit_run *r, struct audit_creator *cr,
                                   struct audit_settlement *s)
{
    char h1[AUDIT_HEX32_SIZE], h2[AUDIT_HEX32_SIZE], total[U256_DEC_SIZE];
    unsigned before = r->failures;
    uint8_t key[AUDIT_KEY_BYTES];
    ids_key_of(key, s->id);
    if (memcmp(key, s->batch_key, AUDIT_KEY_BYTES) != 0)
        audit_line(r, "FAIL", "%s: batch_key is not keccak256(id) %s", s->label,
                   audit_hex32(h1, key));
    if (strcmp(s->creator_id, cr->id) != 0)
        audit_line(r, "FAIL", "%s: creator_id is %.40s, listed under creator %s", s->label,
                   s->creator_id, cr->id);
    audit_check_leaves(r, s);
    struct audit_batch *b = audit_chain_batch(&r->chain, key); /* the id's, not batch_key */
    bool on_chain = b != NULL && b->anchored_logs > 0;
    bool must = s->status == AUDIT_ST_ANCHORED || s->status == AUDIT_ST_CLAIMABLE ||
                s->status == AUDIT_ST_CANCELLED || s->status == AUDIT_ST_RECLAIMED;
    if (b != NULL) {
        b->known = true;
        snprintf(b->settlement_id, sizeof b->settlement_id, "%s", s->id);
    }
    if (!on_chain && must)
        audit_line(r, "FAIL",
                   "%s: status %s, yet no SettlementAnchored log (blocks %" PRIu64 "..%" PRIu64 ")",
                   s->label, audit_status_names[s->status], r->chain.from_block, r->chain.block);
    for (size_t i = 0; !on_chain && i < s->n; i++)
        if (s->leaves[i].claimed) {
            audit_line(r, "FAIL",
                       "%s: the API says leaves are claimed, yet the batch is not on chain",
                       s->label);
            break;
        }
    if (on_chain) {
        audit_check_anchor(r, s, b);
        audit_check_status(r, s, b);
        audit_check_claims(r, s, b);
        b->bad = b->bad || r->failures > before;
    }
    audit_creator_settled(cr, s, b);
    if (r->failures == before)
        audit_line(r, "ok", "%s: %s, %zu leaves, %s wei, root %s%s", s->label,
                   audit_status_names[s->status], s->n, audit_dec(total, &s->total_wei),
                   audit_hex32(h2, s->root_of_leaves),
                   on_chain ? " = the anchored root; claims match the leaves" : " (not on chain)");
}

/* All settlements of one creator. */
static void audit_check_creator(struct audit_run *r, struct audit_creator *cr)
{
    char(*ids)[IDS_UUID_SIZE] = NULL;
    size_t n = 0;
    long status = 0;
    struct err e = {0};
    bool listed = audit_list_settlements(&ids, &n, &status, r, cr, &e);
    if (!listed || status != 200) {
        if (listed)
            err_set(&e, 1, "GET /v1/creators/%s/settlements answered %ld", cr->id, status);
        audit_line(r, "FAIL", "creator %s: its settlements cannot be listed: %s", cr->id, e.msg);
        free(ids);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        struct audit_settlement s = {0};
        char path[64], h[AUDIT_HEX32_SIZE];
        uint8_t key[AUDIT_KEY_BYTES];
        json_t *j = NULL;
        long st = 0;
        ids_key_of(key, ids[i]);
        snprintf(s.label, sizeof s.label, "settlement %s (batch %s)", ids[i], audit_hex32(h, key));
        snprintf(path, sizeof path, "/v1/settlements/%s", ids[i]);
        err_clear(&e);
        bool got = audit_http_get(&j, &st, &r->http, path, &e);
        if (got && (st != 200 || !audit_parse_settlement(&s, j, &e) || strcmp(s.id, ids[i]) != 0)) {
            char why[sizeof e.msg];
            snprintf(why, sizeof why, "%s", e.msg[0] ? e.msg : "another settlement");
            if (s.json == NULL)
                json_decref(j);
            got = !err_set(&e, 1, "GET %s answered %ld: %s", path, st, why);
        }
        if (!got) {
            audit_line(r, "FAIL", "%s: %s", s.label, e.msg);
            struct audit_batch *b = audit_chain_batch(&r->chain, key);
            if (b != NULL) {
                b->known = b->bad = true;
                snprintf(b->settlement_id, sizeof b->settlement_id, "%s", ids[i]);
            }
        } else {
            audit_check_settlement(r, cr, &s);
            r->leaves += s.n;
        }
        audit_settlement_release(&s);
        cr->settlements++;
        r->settlements++;
        if (r->progress)
            fprintf(stderr, "\r\033[Kchecking creator %s: %zu of %zu settlements", cr->id, i + 1,
                    n);
    }
    if (r->progress)
        fprintf(stderr, "\r\033[K");
    free(ids);
}

/* ---- checks of the chain ---------------------------------------------------------------- */

static int audit_creator_cmp(const void *a, const void *b)
{
    return strcmp(((const struct audit_creator *)a)->id, ((const struct audit_creator *)b)->id);
}

static int audit_key_cmp(const void *a, const void *b)
{
    return memcmp(a, b, AUDIT_KEY_BYTES);
}

/* The creators sorted by id without duplicates, and their keys sorted. */
static bool audit_scope_init(struct audit_run *r, struct err *e)
{
    qsort(r->creators, r->creators_len, sizeof *r->creators, audit_creator_cmp);
    size_t unique = 0;
    for (size_t i = 0; i < r->creators_len; i++)
        if (unique == 0 || strcmp(r->creators[unique - 1].id, r->creators[i].id) != 0)
            r->creators[unique++] = r->creators[i];
    r->creators_len = unique;
    r->scope_keys = malloc((unique == 0 ? 1 : unique) * AUDIT_KEY_BYTES);
    if (r->scope_keys == NULL)
        return !err_set(e, 1, "out of memory for %zu creator keys", unique);
    for (size_t i = 0; i < unique; i++)
        memcpy(r->scope_keys[i], r->creators[i].key, AUDIT_KEY_BYTES);
    qsort(r->scope_keys, unique, AUDIT_KEY_BYTES, audit_key_cmp);
    return true;
}

static bool audit_in_scope(const struct audit_run *r, const uint8_t creator_key[AUDIT_KEY_BYTES])
{
    return r->complete ||
           (r->creators_len > 0 && bsearch(creator_key, r->scope_keys, r->creators_len,
                                           AUDIT_KEY_BYTES, audit_key_cmp) != NULL);
}

/* Check 4: the views of a batch against its logs. */
static void audit_check_views(struct audit_run *r, const struct audit_batch *b)
{
    char label[AUDIT_LABEL_SIZE], h1[AUDIT_HEX32_SIZE], h2[AUDIT_HEX32_SIZE];
    char a[U256_DEC_SIZE], c[U256_DEC_SIZE];
    struct u256 remaining = u256_zero();
    if (!b->cancelled.seen && !b->reclaimed.seen && !b->claimed_overflow &&
        u256_sub(&remaining, &b->total_wei, &b->claimed_wei) != U256_OK)
        remaining = u256_zero(); /* claims above the total: reported by the claims check */
    if (b->known)
        snprintf(label, sizeof label, "settlement %s (batch %s)", b->settlement_id,
                 audit_hex32(h1, b->batch_key));
    else
        snprintf(label, sizeof label, "batch %s", audit_hex32(h1, b->batch_key));
    if (memcmp(b->view_root, b->root, 32) != 0)
        audit_line(r, "FAIL", "%s: vault.settlementRoot is %s, its SettlementAnchored log says %s",
                   label, audit_hex32(h1, b->view_root), audit_hex32(h2, b->root));
    if (u256_cmp(&b->view_total_wei, &b->total_wei) != 0)
        audit_line(r, "FAIL", "%s: vault.settlementTotal is %s wei, its log says %s wei", label,
                   audit_dec(a, &b->view_total_wei), audit_dec(c, &b->total_wei));
    if (memcmp(b->view_creator, b->creator_key, 32) != 0)
        audit_line(r, "FAIL", "%s: vault.settlementCreator is %s, its log says %s", label,
                   audit_hex32(h1, b->view_creator), audit_hex32(h2, b->creator_key));
    if (!b->view_claimable_at_ok || b->view_claimable_at != b->claimable_at)
        audit_line(r, "FAIL", "%s: vault.claimableAt is %" PRIu64 ", its log says %" PRIu64, label,
                   b->view_claimable_at, b->claimable_at);
    if (u256_cmp(&b->view_remaining_wei, &remaining) != 0)
        audit_line(r, "FAIL",
                   "%s: vault.settlementRemaining is %s wei, its logs leave %s wei "
                   "(total - claims, 0 once cancelled or reclaimed)",
                   label, audit_dec(a, &b->view_remaining_wei), audit_dec(c, &remaining));
}

/* Unknown batches, logs without an anchor, malformed logs, the views. */
static void audit_check_chain(struct audit_run *r)
{
    char h1[AUDIT_HEX32_SIZE], h2[AUDIT_HEX32_SIZE], h3[AUDIT_HEX32_SIZE], h4[AUDIT_HEX32_SIZE];
    char a[U256_DEC_SIZE], c[U256_DEC_SIZE];
    if (r->chain.malformed_logs > 0)
        audit_line(r, "FAIL", "%zu settlement logs of the vault do not decode",
                   r->chain.malformed_logs);
    for (size_t i = 0; i < r->chain.batches_len; i++) {
        struct audit_batch *b = &r->chain.batches[i];
        if (b->anchored_logs == 0) {
            audit_line(r, "FAIL",
                       "batch %s: cancel, reclaim or claim logs without a SettlementAnchored "
                       "log (is --from-block after its anchor?)",
                       audit_hex32(h1, b->batch_key));
            continue;
        }
        audit_check_views(r, b);
        if (b->known)
            continue;
        if (!audit_in_scope(r, b->creator_key)) {
            r->out_of_scope++;
            continue;
        }
        if (b->cancelled.seen) {
            audit_line(r, "note",
                       "batch %s (creator key %s): unknown to the API, anchored in block %" PRIu64
                       " and cancelled on chain in block %" PRIu64 ": nothing was paid",
                       audit_hex32(h1, b->batch_key), audit_hex32(h2, b->creator_key),
                       b->block_number, b->cancelled.block_number);
            continue;
        }
        b->bad = true;
        audit_line(r, "FAIL",
                   "batch %s (creator key %s): anchored on chain in block %" PRIu64
                   " (tx %s) with root %s, total %s wei, claimable at %" PRIu64
                   ", claimed %s wei%s, yet unknown to the API",
                   audit_hex32(h1, b->batch_key), audit_hex32(h2, b->creator_key), b->block_number,
                   audit_hex32(h3, b->tx_hash), audit_hex32(h4, b->root),
                   audit_dec(a, &b->total_wei), b->claimable_at, audit_dec(c, &b->claimed_wei),
                   b->reclaimed.seen ? ", reclaimed" : "");
    }
}

/* Check 7. */
static void audit_check_funds(struct audit_run *r)
{
    char h[AUDIT_HEX32_SIZE], a[U256_DEC_SIZE], c[U256_DEC_SIZE], u[U256_DEC_SIZE];
    for (size_t i = 0; i < r->chain.funds_len; i++) {
        const struct audit_funds *f = &r->chain.funds[i];
        struct u256 vault_allocated;
        audit_hex32(h, f->creator_key);
        if (f->allocated_bad)
            audit_line(r, "FAIL", "creator key %s: its settlement logs do not add up", h);
        else if (u256_cmp(&f->allocated_wei, &f->received_wei) > 0)
            audit_line(r, "FAIL",
                       "creator key %s: its live settlements hold %s wei, more than the %s wei "
                       "it received",
                       h, audit_dec(a, &f->allocated_wei), audit_dec(c, &f->received_wei));
        bool sub_ok = u256_sub(&vault_allocated, &f->received_wei, &f->unallocated_wei) == U256_OK;
        if (r->chain.from_block == 0 && !f->allocated_bad &&
            (!sub_ok || u256_cmp(&vault_allocated, &f->allocated_wei) != 0))
            audit_line(r, "FAIL",
                       "creator key %s: the vault allocates receivedOf %s - unallocatedOf %s "
                       "wei, its logs add up to %s wei",
                       h, audit_dec(c, &f->received_wei), audit_dec(u, &f->unallocated_wei),
                       audit_dec(a, &f->allocated_wei));
    }
    for (size_t i = 0; i < r->creators_len; i++) {
        const struct audit_creator *cr = &r->creators[i];
        const struct audit_funds *f = audit_chain_funds(&r->chain, cr->key);
        ASSERT(f != NULL);
        if (cr->api_settled_bad || u256_cmp(&cr->api_settled_wei, &f->received_wei) > 0)
            audit_line(r, "FAIL",
                       "creator %s: the API's settled batches hold %s wei, more than the %s wei "
                       "received on chain",
                       cr->id,
                       cr->api_settled_bad ? "above 2^256" : audit_dec(a, &cr->api_settled_wei),
                       audit_dec(c, &f->received_wei));
        else
            audit_line(r, "ok",
                       "creator %s: %zu settlements; %s wei settled of %s wei received on chain, "
                       "%s wei unallocated",
                       cr->id, cr->settlements, audit_dec(a, &cr->api_settled_wei),
                       audit_dec(c, &f->received_wei), audit_dec(u, &f->unallocated_wei));
    }
}

/* ---- the veto --------------------------------------------------------------------------- */

static void audit_veto(struct audit_run *r, const struct sig_private_key *key, uint64_t chain_id,
                       uint64_t max_fee_per_gas_wei)
{
    char h1[AUDIT_HEX32_SIZE], h2[AUDIT_HEX32_SIZE];
    size_t bad = 0, cancelled = 0;
    for (size_t i = 0; i < r->chain.batches_len; i++) {
        const struct audit_batch *b = &r->chain.batches[i];
        if (!b->bad || b->anchored_logs == 0 || b->cancelled.seen || b->reclaimed.seen)
            continue;
        bad++;
        uint64_t number = 0, now = 0;
        struct err e = {0};
        audit_hex32(h1, b->batch_key);
        if (!audit_chain_latest(&number, &now, &r->rpc, &e)) {
            audit_line(r, "veto", "batch %s: NOT cancelled: %s", h1, e.msg);
            continue;
        }
        if (now >= b->claimable_at) {
            audit_line(r, "veto",
                       "batch %s: NOT cancelled: its audit window closed at %" PRIu64
                       " (the latest block's time is %" PRIu64 ")",
                       h1, b->claimable_at, now);
            continue;
        }
        struct txsend_outcome out = {0};
        if (audit_chain_cancel(&out, &r->rpc, chain_id, key, max_fee_per_gas_wei, &r->chain.vault,
                               b->batch_key, &e) == TXSEND_OK) {
            cancelled++;
            audit_line(r, "veto",
                       "batch %s: cancelled by the guardian in tx %s (block %" PRIu64 ")", h1,
                       audit_hex32(h2, out.tx_hash), out.receipt.block_number);
        } else {
            audit_line(r, "veto", "batch %s: NOT cancelled: %s%s%s", h1, e.msg,
                       out.revert_data_hex[0] ? "; revert data " : "", out.revert_data_hex);
        }
        txsend_outcome_release(&out);
    }
    audit_line(r, "veto", "%zu of %zu bad batches live on chain cancelled", cancelled, bad);
}

/* ---- the command ------------------------------------------------------------------------ */

/* The API's chain and vault, the node, the chain scan, the creators, the views. */
static bool audit_prepare(struct audit_run *r, struct err *e)
{
    char vault[ADDRESS_TEXT_SIZE];
    uint64_t node_chain_id = 0;
    if (!audit_get_chain(r, e) || rpc_chain_id(&r->rpc, &node_chain_id, e) != RPC_OK)
        return false;
    if (node_chain_id != r->api.chain_id)
        return !err_set(e, 1, "the node is on chain %" PRIu64 ", the API on chain %" PRIu64,
                        node_chain_id, r->api.chain_id);
    if (!r->args.has_vault && !r->api.has_vault)
        return !err_set(e, 1, "the API names no vault: give --vault ADDR");
    const struct address *v = r->args.has_vault ? &r->args.vault : &r->api.vault;
    if (!audit_chain_scan(&r->chain, &r->rpc, v, r->args.from_block, e))
        return false;
    address_format_checksum(vault, v);
    printf("audit of %s against chain %" PRIu64 ", vault %s (%s), blocks %" PRIu64 "..%" PRIu64
           "\n",
           r->http.base, node_chain_id, vault, r->args.has_vault ? "--vault" : "named by the API",
           r->chain.from_block, r->chain.block);
    if (r->args.has_vault && r->api.has_vault && !address_eq(&r->args.vault, &r->api.vault)) {
        address_format_checksum(vault, &r->api.vault);
        audit_line(r, "FAIL", "the API names vault %s, not --vault", vault);
    }
    if (r->args.creators_len > 0) {
        r->creators = calloc(AUDIT_CREATOR_FLAGS_MAX, sizeof *r->creators);
        if (r->creators == NULL)
            return !err_set(e, 1, "out of memory");
        for (size_t i = 0; i < r->args.creators_len; i++)
            if (!audit_add_creator(r, AUDIT_CREATOR_FLAGS_MAX, r->args.creators[i], e))
                return false;
    } else if (!audit_list_creators(r, e)) {
        return false;
    }
    return audit_scope_init(r, e) &&
           audit_chain_read_views(&r->chain, &r->rpc, (const uint8_t(*)[32])r->scope_keys,
                                  r->creators_len, e);
}

static void audit_run_release(struct audit_run *r)
{
    audit_http_release(&r->http);
    rpc_client_release(&r->rpc);
    audit_chain_release(&r->chain);
    free(r->creators);
    free(r->scope_keys);
}

int cmd_audit(struct rightsctl *ctl, int argc, char **argv)
{
    struct audit_run *r = calloc(1, sizeof *r);
    struct err e = {0};
    struct sig_private_key key = {0};
    uint8_t raw[32] = {0};
    size_t raw_len = 0;
    if (r == NULL)
        return RIGHTSCTL_EXIT_FAIL;
    if (!audit_parse_args(&r->args, argc, argv, &e) ||
        (r->args.cancel &&
         (config_read_key_file(raw, &raw_len, 32, 32, r->args.guardian_key, &e) != CONFIG_OK ||
          sig_private_key_from_bytes(&key, raw, &e) != SIG_OK))) {
        crypto_wipe(raw, sizeof raw);
        sig_private_key_wipe(&key);
        log_printf(&ctl->log, LOG_ERROR, "audit: %s", e.msg);
        free(r);
        return RIGHTSCTL_EXIT_USAGE;
    }
    crypto_wipe(raw, sizeof raw);
    if (!rightsctl_load_config(ctl, audit_config_names)) {
        sig_private_key_wipe(&key);
        free(r);
        return RIGHTSCTL_EXIT_USAGE;
    }
    log_set_level(&ctl->log, ctl->cfg.log_level);
    r->progress = r->chain.progress = isatty(STDERR_FILENO) == 1;
    bool ready = audit_http_init(&r->http, r->args.api, &e) &&
                 rpc_client_init(&r->rpc, r->args.rpc ? r->args.rpc : ctl->cfg.eth_rpc_url, NULL,
                                 &e) == RPC_OK &&
                 audit_prepare(r, &e);
    if (ready && r->args.cancel && r->api.chain_id != ctl->cfg.chain_id)
        ready = !err_set(&e, 1, "CHAIN_ID is %" PRIu64 ", the chain is %" PRIu64, ctl->cfg.chain_id,
                         r->api.chain_id);
    if (!ready) {
        audit_line(r, "FAIL", "the audit could not be completed: %s", e.msg);
    } else {
        for (size_t i = 0; i < r->creators_len; i++)
            audit_check_creator(r, &r->creators[i]);
        audit_check_chain(r);
        audit_check_funds(r);
        if (r->out_of_scope > 0)
            audit_line(r, "note",
                       "%zu on-chain batches of creators outside this audit were not matched "
                       "with the API",
                       r->out_of_scope);
        if (r->args.cancel)
            audit_veto(r, &key, ctl->cfg.chain_id, ctl->cfg.max_fee_per_gas_wei);
    }
    if (r->failures == 0)
        printf("audit passed: %zu creators, %zu settlements, %zu leaves, %zu batches on chain "
               "at block %" PRIu64 ", %u notes\n",
               r->creators_len, r->settlements, r->leaves, r->chain.batches_len, r->chain.block,
               r->notes);
    else
        printf("AUDIT FAILED: %u discrepanc%s\n", r->failures, r->failures == 1 ? "y" : "ies");
    int rc = r->failures == 0 ? RIGHTSCTL_EXIT_OK : RIGHTSCTL_EXIT_FAIL;
    sig_private_key_wipe(&key);
    audit_run_release(r);
    free(r);
    return rc;
}
