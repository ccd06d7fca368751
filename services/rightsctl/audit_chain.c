/* audit_chain.c - what `rightsctl audit` learns from the chain alone: the
 * vault's settlement logs, folded per batch key, and its views at one block
 * (audit.h). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "abi.h"
#include "buf.h"
#include "follow.h"
#include "hex.h"

#include "audit.h"

#define AUDIT_CALL_BYTES_MAX (4 + 2 * 32) /* a selector and two static words */
#define AUDIT_BATCH_VIEWS 5
#define AUDIT_FUNDS_VIEWS 2
#define AUDIT_TAG_SIZE 24

/* One view call: selector + static words. */
struct audit_call {
    uint8_t data[AUDIT_CALL_BYTES_MAX];
    size_t len;
};

/* The follower's context while scanning. */
struct audit_scan {
    struct audit_chain *c;
    uint8_t topics[4][32]; /* enum audit_event_kind order */
    bool failed;           /* on_log refused: err says why */
    struct err err;
};

static bool audit_on_log(void *ctx, const struct follow_log *log);
static bool audit_on_reorg(void *ctx, uint64_t first_orphaned_block);
static bool audit_decode(struct audit_event *ev, const uint8_t (*topics)[32],
                         const struct follow_log *log);
static bool audit_word_is_small(const uint8_t word[32], size_t high_zero_bytes);
static bool audit_follow(struct audit_chain *c, struct rpc_client *rpc, struct err *e);
static bool audit_block_of(uint64_t *number, uint64_t *timestamp, struct rpc_client *rpc,
                           const char *tag, struct err *e);
static int audit_key_cmp(const void *a, const void *b);
static int audit_claim_cmp(const void *a, const void *b);
static bool audit_fold(struct audit_chain *c, struct err *e);
static void audit_fold_event(struct audit_batch *b, const struct audit_event *ev);
static bool audit_fold_claims(struct audit_chain *c, struct err *e);
static void audit_tag(char out[AUDIT_TAG_SIZE], uint64_t block);
static void audit_call_of(struct audit_call *call, const char *sig, const uint8_t word[32],
                          const struct address *account);
static bool audit_words(uint8_t (*out)[32], struct rpc_client *rpc, const struct audit_chain *c,
                        const struct audit_call *calls, size_t n, struct err *e);
static bool audit_read_batches(struct audit_chain *c, struct rpc_client *rpc, struct err *e);
static bool audit_funds_keys(struct audit_chain *c, const uint8_t (*extra_keys)[AUDIT_KEY_BYTES],
                             size_t extra_len, struct err *e);
static void audit_funds_allocated(struct audit_chain *c);
static bool audit_read_funds(struct audit_chain *c, struct rpc_client *rpc, struct err *e);

/* ---- the scan ------------------------------------------------------------------------ */

static bool audit_word_is_small(const uint8_t word[32], size_t high_zero_bytes)
{
    for (size_t i = 0; i < high_zero_bytes; i++)
        if (word[i] != 0)
            return false;
    return true;
}

/* The log as one of the four events; false when it does not decode. */
static bool audit_decode(struct audit_event *ev, const uint8_t (*topics)[32],
                         const struct follow_log *log)
{
    size_t kind = 0;
    while (kind < 4 && (log->topics_len == 0 || memcmp(log->topics[0], topics[kind], 32) != 0))
        kind++;
    bool anchored = kind == AUDIT_EV_ANCHORED;
    if (kind == 4 || log->topics_len != 3 || log->data_len != (anchored ? 96u : 32u))
        return false;
    memset(ev, 0, sizeof *ev);
    ev->kind = (enum audit_event_kind)kind;
    ev->block_number = log->block_number;
    memcpy(ev->tx_hash, log->tx_hash, 32);
    memcpy(ev->batch_key, log->topics[1], AUDIT_KEY_BYTES);
    if (ev->kind == AUDIT_EV_CLAIMED) {
        if (!audit_word_is_small(log->topics[2], 12))
            return false;
        memcpy(ev->account.bytes, log->topics[2] + 12, ADDRESS_BYTES);
    } else {
        memcpy(ev->creator_key, log->topics[2], AUDIT_KEY_BYTES);
    }
    if (!anchored) {
        ev->amount_wei = u256_from_be32(log->data);
        return true;
    }
    /* root, total, claimableAt (uint64) */
    if (!audit_word_is_small(log->data + 64, 24))
        return false;
    memcpy(ev->root, log->data, 32);
    ev->amount_wei = u256_from_be32(log->data + 32);
    for (size_t i = 88; i < 96; i++)
        ev->claimable_at = ev->claimable_at << 8 | log->data[i];
    return true;
}

static bool audit_on_log(void *ctx, const struct follow_log *log)
{
    struct audit_scan *s = ctx;
    struct audit_chain *c = s->c;
    struct audit_event ev;
    if (!audit_decode(&ev, (const uint8_t(*)[32])s->topics, log)) {
        c->malformed_logs++;
        return true;
    }
    if (c->events_len == c->events_cap) {
        size_t cap = c->events_cap == 0 ? 1024 : c->events_cap * 2;
        if (cap > AUDIT_EVENTS_MAX)
            cap = AUDIT_EVENTS_MAX;
        struct audit_event *grown =
            cap > c->events_cap ? realloc(c->events, cap * sizeof *grown) : NULL;
        if (grown == NULL) {
            s->failed = true;
            err_set(&s->err, 1,
                    cap == c->events_cap ? "the vault has more than %zu settlement logs"
                                         : "out of memory for %zu logs",
                    cap);
            return false;
        }
        c->events = grown;
        c->events_cap = cap;
    }
    c->events[c->events_len++] = ev;
    return true;
}

/* Events arrive in block order: drop the orphaned tail. */
static bool audit_on_reorg(void *ctx, uint64_t first_orphaned_block)
{
    struct audit_chain *c = ((struct audit_scan *)ctx)->c;
    while (c->events_len > 0 && c->events[c->events_len - 1].block_number >= first_orphaned_block)
        c->events_len--;
    return true;
}

static bool audit_follow(struct audit_chain *c, struct rpc_client *rpc, struct err *e)
{
    static const char *const sigs[4] = {AUDIT_SIG_ANCHORED, AUDIT_SIG_CANCELLED,
                                        AUDIT_SIG_RECLAIMED, AUDIT_SIG_CLAIMED};
    struct audit_scan s = {.c = c};
    for (size_t i = 0; i < 4; i++)
        abi_event_topic(s.topics[i], sigs[i]);
    struct follow_config cfg;
    follow_config_default(&cfg);
    cfg.addresses = &c->vault;
    cfg.addresses_len = 1;
    cfg.topic0 = (const uint8_t(*)[32])s.topics;
    cfg.topic0_len = 4;
    cfg.start_block = c->from_block;
    cfg.on_log = audit_on_log;
    cfg.on_reorg = audit_on_reorg;
    cfg.ctx = &s;
    struct follow *f = malloc(sizeof *f); /* large: FOLLOW_LOG_DATA_BYTES_MAX of data */
    if (f == NULL)
        return !err_set(e, 1, "out of memory for the log follower");
    bool ok = follow_init(f, rpc, &cfg, e) == FOLLOW_OK, caught_up = false;
    struct follow_poll_report rep = {0};
    int idle = 0; /* polls in a row that delivered nothing (a node behind) */
    for (int polls = 0; ok && !caught_up && polls < AUDIT_SCAN_POLLS_MAX; polls++) {
        enum follow_result r = follow_poll(f, &rep, e);
        if (r == FOLLOW_ERR_CALLBACK && s.failed)
            *e = s.err;
        ok = r == FOLLOW_OK;
        caught_up = rep.caught_up;
        idle = rep.blocks > 0 || caught_up ? 0 : idle + 1;
        if (ok && idle > AUDIT_SCAN_IDLE_POLLS_MAX)
            ok = !err_set(e, 1, "the node stays behind block %" PRIu64, follow_next_block(f));
        if (ok && idle > 0)
            nanosleep(&(struct timespec){.tv_nsec = AUDIT_SCAN_IDLE_MS * 1000000L}, NULL);
        if (c->progress)
            fprintf(stderr, "\r\033[Kscanning the vault's logs: block %" PRIu64 " of %" PRIu64,
                    follow_next_block(f) == 0 ? 0 : follow_next_block(f) - 1, rep.target);
    }
    if (c->progress)
        fprintf(stderr, "\r\033[K");
    if (ok && !caught_up)
        ok = !err_set(e, 1, "the scan did not reach the head in %d polls", AUDIT_SCAN_POLLS_MAX);
    struct follow_block last;
    c->block = follow_cursor(f, &last) ? last.number : rep.target;
    free(f);
    return ok;
}

static bool audit_block_of(uint64_t *number, uint64_t *timestamp, struct rpc_client *rpc,
                           const char *tag, struct err *e)
{
    json_t *block = NULL;
    bool ok =
        rpc_call(rpc, "eth_getBlockByNumber", json_pack("[s, b]", tag, 0), &block, e) == RPC_OK;
    if (ok &&
        (rpc_parse_quantity_u64(number, json_object_get(block, "number"), NULL) != RPC_OK ||
         rpc_parse_quantity_u64(timestamp, json_object_get(block, "timestamp"), NULL) != RPC_OK))
        ok = !err_set(e, 1, "block %s: no number or timestamp in the node's answer", tag);
    json_decref(block);
    return ok;
}

bool audit_chain_latest(uint64_t *number, uint64_t *timestamp, struct rpc_client *rpc,
                        struct err *e)
{
    return audit_block_of(number, timestamp, rpc, "latest", e);
}

bool audit_chain_scan(struct audit_chain *c, struct rpc_client *rpc, const struct address *vault,
                      uint64_t from_block, struct err *e)
{
    c->vault = *vault;
    c->from_block = from_block;
    char tag[AUDIT_TAG_SIZE];
    uint64_t number = 0;
    if (!audit_follow(c, rpc, e))
        return false;
    audit_tag(tag, c->block);
    if (!audit_block_of(&number, &c->block_timestamp, rpc, tag, e))
        return false;
    if (number != c->block)
        return !err_set(e, 1, "the node answered block %" PRIu64 " for block %" PRIu64, number,
                        c->block);
    return audit_fold(c, e);
}

/* ---- folding ------------------------------------------------------------------------- */

static int audit_key_cmp(const void *a, const void *b)
{
    return memcmp(a, b, AUDIT_KEY_BYTES);
}

static int audit_claim_cmp(const void *a, const void *b)
{
    const struct audit_claim *x = a, *y = b;
    int k = memcmp(x->batch_key, y->batch_key, AUDIT_KEY_BYTES);
    return k != 0 ? k : memcmp(x->account.bytes, y->account.bytes, ADDRESS_BYTES);
}

static void audit_fold_event(struct audit_batch *b, const struct audit_event *ev)
{
    switch (ev->kind) {
    case AUDIT_EV_ANCHORED:
        if (b->anchored_logs++ > 0)
            return;
        memcpy(b->creator_key, ev->creator_key, AUDIT_KEY_BYTES);
        memcpy(b->root, ev->root, 32);
        b->total_wei = ev->amount_wei;
        b->claimable_at = ev->claimable_at;
        b->block_number = ev->block_number;
        memcpy(b->tx_hash, ev->tx_hash, 32);
        return;
    case AUDIT_EV_CANCELLED:
    case AUDIT_EV_RECLAIMED: {
        struct audit_batch_end *end =
            ev->kind == AUDIT_EV_CANCELLED ? &b->cancelled : &b->reclaimed;
        b->end_logs++;
        *end = (struct audit_batch_end){
            .seen = true, .block_number = ev->block_number, .amount_wei = ev->amount_wei};
        return;
    }
    case AUDIT_EV_CLAIMED:
        return; /* audit_fold_claims */
    }
}

/* One batch per key of any event, then the events applied in chain order. */
static bool audit_fold(struct audit_chain *c, struct err *e)
{
    size_t n = c->events_len;
    uint8_t(*keys)[AUDIT_KEY_BYTES] = malloc((n == 0 ? 1 : n) * AUDIT_KEY_BYTES);
    if (keys == NULL)
        return !err_set(e, 1, "out of memory for %zu logs", n);
    for (size_t i = 0; i < n; i++)
        memcpy(keys[i], c->events[i].batch_key, AUDIT_KEY_BYTES);
    qsort(keys, n, AUDIT_KEY_BYTES, audit_key_cmp);
    size_t unique = 0;
    for (size_t i = 0; i < n; i++)
        if (unique == 0 || memcmp(keys[unique - 1], keys[i], AUDIT_KEY_BYTES) != 0)
            memmove(keys[unique++], keys[i], AUDIT_KEY_BYTES);
    c->batches = calloc(unique == 0 ? 1 : unique, sizeof *c->batches);
    if (c->batches == NULL) {
        free(keys);
        return !err_set(e, 1, "out of memory for %zu batches", unique);
    }
    for (size_t i = 0; i < unique; i++)
        memcpy(c->batches[i].batch_key, keys[i], AUDIT_KEY_BYTES);
    c->batches_len = unique;
    free(keys);
    for (size_t i = 0; i < n; i++) {
        struct audit_batch *b = audit_chain_batch(c, c->events[i].batch_key);
        ASSERT(b != NULL);
        audit_fold_event(b, &c->events[i]);
    }
    return audit_fold_claims(c, e);
}

/* The Claimed logs, sorted, attached to their batches and summed. */
static bool audit_fold_claims(struct audit_chain *c, struct err *e)
{
    size_t n = 0;
    for (size_t i = 0; i < c->events_len; i++)
        n += c->events[i].kind == AUDIT_EV_CLAIMED;
    c->claims = calloc(n == 0 ? 1 : n, sizeof *c->claims);
    if (c->claims == NULL)
        return !err_set(e, 1, "out of memory for %zu claims", n);
    for (size_t i = 0; i < c->events_len; i++) {
        const struct audit_event *ev = &c->events[i];
        if (ev->kind != AUDIT_EV_CLAIMED)
            continue;
        struct audit_claim *cl = &c->claims[c->claims_len++];
        memcpy(cl->batch_key, ev->batch_key, AUDIT_KEY_BYTES);
        cl->account = ev->account;
        cl->amount_wei = ev->amount_wei;
        cl->block_number = ev->block_number;
        memcpy(cl->tx_hash, ev->tx_hash, 32);
    }
    qsort(c->claims, c->claims_len, sizeof *c->claims, audit_claim_cmp);
    for (size_t i = 0; i < c->claims_len; i++) {
        struct audit_batch *b = audit_chain_batch(c, c->claims[i].batch_key);
        ASSERT(b != NULL);
        if (b->claims_len == 0)
            b->claims_first = i;
        else if (address_eq(&c->claims[i - 1].account, &c->claims[i].account))
            b->duplicate_claim = true;
        b->claims_len++;
        b->claimed_overflow = b->claimed_overflow || u256_add(&b->claimed_wei, &b->claimed_wei,
                                                              &c->claims[i].amount_wei) != U256_OK;
    }
    return true;
}

struct audit_batch *audit_chain_batch(const struct audit_chain *c,
                                      const uint8_t batch_key[AUDIT_KEY_BYTES])
{
    /* batch_key is the first member: the array sorts and searches as keys */
    return c->batches_len == 0
               ? NULL
               : bsearch(batch_key, c->batches, c->batches_len, sizeof *c->batches, audit_key_cmp);
}

const struct audit_funds *audit_chain_funds(const struct audit_chain *c,
                                            const uint8_t creator_key[AUDIT_KEY_BYTES])
{
    return c->funds_len == 0
               ? NULL
               : bsearch(creator_key, c->funds, c->funds_len, sizeof *c->funds, audit_key_cmp);
}

const struct audit_claim *audit_chain_claim_of(const struct audit_chain *c,
                                               const struct audit_batch *b,
                                               const struct address *account)
{
    struct audit_claim want;
    memcpy(want.batch_key, b->batch_key, AUDIT_KEY_BYTES);
    want.account = *account;
    return b->claims_len == 0 ? NULL
                              : bsearch(&want, c->claims + b->claims_first, b->claims_len,
                                        sizeof *c->claims, audit_claim_cmp);
}

/* ---- views ---------------------------------------------------------------------------- */

static void audit_tag(char out[AUDIT_TAG_SIZE], uint64_t block)
{
    snprintf(out, AUDIT_TAG_SIZE, "0x%" PRIx64, block);
}

static void audit_call_of(struct audit_call *call, const char *sig, const uint8_t word[32],
                          const struct address *account)
{
    memset(call, 0, sizeof *call);
    abi_selector(call->data, sig);
    memcpy(call->data + 4, word, 32);
    call->len = 4 + 32;
    if (account != NULL) {
        memcpy(call->data + 4 + 32 + 12, account->bytes, ADDRESS_BYTES);
        call->len += 32;
    }
}

/* calls[0..n) (n <= RPC_BATCH_CALLS_MAX) in one request at block B; each
 * must answer exactly one word. */
static bool audit_words(uint8_t (*out)[32], struct rpc_client *rpc, const struct audit_chain *c,
                        const struct audit_call *calls, size_t n, struct err *e)
{
    ASSERT(n > 0 && n <= RPC_BATCH_CALLS_MAX);
    struct rpc_batch_item items[RPC_BATCH_CALLS_MAX];
    char vault[ADDRESS_TEXT_SIZE], tag[AUDIT_TAG_SIZE], data[2 + 2 * AUDIT_CALL_BYTES_MAX + 1];
    address_format_lower(vault, &c->vault);
    audit_tag(tag, c->block);
    memset(items, 0, n * sizeof items[0]);
    for (size_t i = 0; i < n; i++) {
        ASSERT(hex_encode_0x(data, sizeof data, calls[i].data, calls[i].len) == 0);
        items[i].method = "eth_call";
        items[i].params = json_pack("[{s:s, s:s}, s]", "to", vault, "data", data, tag);
    }
    bool ok = rpc_batch(rpc, items, n, e) == RPC_OK;
    for (size_t i = 0; i < n; i++) {
        const char *s = json_string_value(items[i].result);
        if (ok && (s == NULL || strncmp(s, "0x", 2) != 0 ||
                   hex_decode_exact(out[i], 32, s + 2, strlen(s + 2), NULL) != HEX_OK))
            ok = !err_set(e, 1, "a vault view at block %" PRIu64 " did not answer one word",
                          c->block);
        json_decref(items[i].result);
    }
    return ok;
}

static bool audit_read_batches(struct audit_chain *c, struct rpc_client *rpc, struct err *e)
{
    static const char *const sigs[AUDIT_BATCH_VIEWS] = {
        "settlementRoot(bytes32)", "settlementTotal(bytes32)", "settlementCreator(bytes32)",
        "claimableAt(bytes32)", "settlementRemaining(bytes32)"};
    enum { PER = RPC_BATCH_CALLS_MAX / AUDIT_BATCH_VIEWS };
    struct audit_call calls[PER * AUDIT_BATCH_VIEWS];
    uint8_t words[PER * AUDIT_BATCH_VIEWS][32];
    for (size_t first = 0; first < c->batches_len; first += PER) {
        size_t k = c->batches_len - first < PER ? c->batches_len - first : PER;
        for (size_t i = 0; i < k; i++)
            for (size_t v = 0; v < AUDIT_BATCH_VIEWS; v++)
                audit_call_of(&calls[i * AUDIT_BATCH_VIEWS + v], sigs[v],
                              c->batches[first + i].batch_key, NULL);
        if (!audit_words(words, rpc, c, calls, k * AUDIT_BATCH_VIEWS, e))
            return false;
        for (size_t i = 0; i < k; i++) {
            struct audit_batch *b = &c->batches[first + i];
            const uint8_t(*w)[32] = (const uint8_t(*)[32])words[i * AUDIT_BATCH_VIEWS];
            memcpy(b->view_root, w[0], 32);
            b->view_total_wei = u256_from_be32(w[1]);
            memcpy(b->view_creator, w[2], 32);
            b->view_claimable_at_ok = audit_word_is_small(w[3], 24);
            b->view_claimable_at = 0;
            for (size_t j = 24; j < 32; j++)
                b->view_claimable_at = b->view_claimable_at << 8 | w[3][j];
            b->view_remaining_wei = u256_from_be32(w[4]);
        }
        if (c->progress)
            fprintf(stderr, "\r\033[Kreading the vault's views: %zu of %zu batches", first + k,
                    c->batches_len);
    }
    if (c->progress)
        fprintf(stderr, "\r\033[K");
    return true;
}

/* funds[]: the creator keys of the anchored batches and extra_keys, sorted, unique. */
static bool audit_funds_keys(struct audit_chain *c, const uint8_t (*extra_keys)[AUDIT_KEY_BYTES],
                             size_t extra_len, struct err *e)
{
    size_t n = extra_len;
    for (size_t i = 0; i < c->batches_len; i++)
        n += c->batches[i].anchored_logs > 0;
    if (n > AUDIT_CREATOR_KEYS_MAX)
        return !err_set(e, 1, "more than %zu creator keys", AUDIT_CREATOR_KEYS_MAX);
    c->funds = calloc(n == 0 ? 1 : n, sizeof *c->funds);
    if (c->funds == NULL)
        return !err_set(e, 1, "out of memory for %zu creator keys", n);
    for (size_t i = 0; i < extra_len; i++)
        memcpy(c->funds[c->funds_len++].creator_key, extra_keys[i], AUDIT_KEY_BYTES);
    for (size_t i = 0; i < c->batches_len; i++)
        if (c->batches[i].anchored_logs > 0)
            memcpy(c->funds[c->funds_len++].creator_key, c->batches[i].creator_key,
                   AUDIT_KEY_BYTES);
    qsort(c->funds, c->funds_len, sizeof *c->funds, audit_key_cmp);
    size_t unique = 0;
    for (size_t i = 0; i < c->funds_len; i++)
        if (unique == 0 ||
            memcmp(c->funds[unique - 1].creator_key, c->funds[i].creator_key, AUDIT_KEY_BYTES) != 0)
            c->funds[unique++] = c->funds[i];
    c->funds_len = unique;
    return true;
}

/* allocated = sum over the creator's batches of total - cancelled - reclaimed. */
static void audit_funds_allocated(struct audit_chain *c)
{
    for (size_t i = 0; i < c->batches_len; i++) {
        const struct audit_batch *b = &c->batches[i];
        if (b->anchored_logs == 0)
            continue;
        struct audit_funds *f = (struct audit_funds *)audit_chain_funds(c, b->creator_key);
        ASSERT(f != NULL);
        struct u256 net = b->total_wei;
        bool ok =
            (!b->cancelled.seen || u256_sub(&net, &net, &b->cancelled.amount_wei) == U256_OK) &&
            (!b->reclaimed.seen || u256_sub(&net, &net, &b->reclaimed.amount_wei) == U256_OK) &&
            u256_add(&f->allocated_wei, &f->allocated_wei, &net) == U256_OK;
        f->allocated_bad = f->allocated_bad || !ok;
    }
}

static bool audit_read_funds(struct audit_chain *c, struct rpc_client *rpc, struct err *e)
{
    enum { PER = RPC_BATCH_CALLS_MAX / AUDIT_FUNDS_VIEWS };
    struct audit_call calls[PER * AUDIT_FUNDS_VIEWS];
    uint8_t words[PER * AUDIT_FUNDS_VIEWS][32];
    for (size_t first = 0; first < c->funds_len; first += PER) {
        size_t k = c->funds_len - first < PER ? c->funds_len - first : PER;
        for (size_t i = 0; i < k; i++) {
            audit_call_of(&calls[2 * i], "receivedOf(bytes32)", c->funds[first + i].creator_key,
                          NULL);
            audit_call_of(&calls[2 * i + 1], "unallocatedOf(bytes32)",
                          c->funds[first + i].creator_key, NULL);
        }
        if (!audit_words(words, rpc, c, calls, 2 * k, e))
            return false;
        for (size_t i = 0; i < k; i++) {
            c->funds[first + i].received_wei = u256_from_be32(words[2 * i]);
            c->funds[first + i].unallocated_wei = u256_from_be32(words[2 * i + 1]);
        }
    }
    return true;
}

bool audit_chain_read_views(struct audit_chain *c, struct rpc_client *rpc,
                            const uint8_t (*extra_keys)[AUDIT_KEY_BYTES], size_t extra_len,
                            struct err *e)
{
    if (!audit_read_batches(c, rpc, e) || !audit_funds_keys(c, extra_keys, extra_len, e))
        return false;
    audit_funds_allocated(c);
    return audit_read_funds(c, rpc, e);
}

bool audit_chain_claimed(bool *out, struct rpc_client *rpc, const struct audit_chain *c,
                         const uint8_t batch_key[AUDIT_KEY_BYTES], const struct address *accounts,
                         size_t n, struct err *e)
{
    struct audit_call calls[RPC_BATCH_CALLS_MAX];
    uint8_t words[RPC_BATCH_CALLS_MAX][32];
    for (size_t first = 0; first < n; first += RPC_BATCH_CALLS_MAX) {
        size_t k = n - first < RPC_BATCH_CALLS_MAX ? n - first : RPC_BATCH_CALLS_MAX;
        for (size_t i = 0; i < k; i++)
            audit_call_of(&calls[i], "claimed(bytes32,address)", batch_key, &accounts[first + i]);
        if (!audit_words(words, rpc, c, calls, k, e))
            return false;
        for (size_t i = 0; i < k; i++) {
            if (!audit_word_is_small(words[i], 31) || words[i][31] > 1)
                return !err_set(e, 1, "claimed() answered a word that is not a bool");
            out[first + i] = words[i][31] == 1;
        }
    }
    return true;
}

/* ---- the veto -------------------------------------------------------------------------- */

enum txsend_result audit_chain_cancel(struct txsend_outcome *out, struct rpc_client *rpc,
                                      uint64_t chain_id, const struct sig_private_key *key,
                                      uint64_t max_fee_per_gas_wei, const struct address *vault,
                                      const uint8_t batch_key[AUDIT_KEY_BYTES], struct err *e)
{
    struct abi_value arg = abi_value_bytes32(batch_key);
    struct buf call;
    buf_init(&call, 4 + 32);
    enum txsend_result r = TXSEND_ERR_BAD_INPUT;
    if (abi_encode_call(&call, AUDIT_SIG_CANCEL, &arg, 1, e) == ABI_OK) {
        struct txsend_request req = {.has_to = true,
                                     .to = *vault,
                                     .data = call.data,
                                     .data_len = call.len,
                                     .max_fee_per_gas_cap_wei = max_fee_per_gas_wei};
        r = txsend_send(out, rpc, chain_id, key, &req, e);
    }
    buf_release(&call);
    return r;
}

void audit_chain_release(struct audit_chain *c)
{
    free(c->events);
    free(c->batches);
    free(c->claims);
    free(c->funds);
    memset(c, 0, sizeof *c);
}
