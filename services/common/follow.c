/* follow.c - see follow.h. Layers: the ring of remembered blocks -> pure
 * parsers (headers, logs) -> rpc fetches (batched headers, eth_getLogs with
 * range halving) -> one range step -> reorg handling -> follow_poll(). */
#include "follow.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hex.h"

#define FOLLOW_QUANTITY_BYTES 19     /* "0x" + 16 digits + NUL */
#define FOLLOW_REORGS_PER_POLL_MAX 4 /* then the poll stops: the chain is churning */
#define FOLLOW_HALVINGS_MAX 10       /* 1000 -> 1 */

/* A block header as far as the follower cares. */
struct follow_header {
    bool present; /* false: the node has no such block (chain shorter) */
    uint64_t number;
    uint8_t hash[32];
    uint8_t parent[32];
};

/* A parsed log before delivery; its data is still hex in the JSON answer. */
struct follow_item {
    struct follow_log log;
    const char *data_hex; /* after "0x", 2 * log.data_len digits */
};

/* What the walk back over the remembered blocks found. */
struct follow_ancestry {
    bool found;        /* a remembered block is still canonical */
    uint64_t ancestor; /* the newest such block */
    bool replaced;     /* a remembered block above it has another hash now */
};

/* How a range step ended, besides its result code. */
enum follow_step {
    FOLLOW_STEP_DONE = 0,  /* the range was delivered (maybe cut by a poll bound) */
    FOLLOW_STEP_STALL = 1, /* the node's view moved: stop this poll */
    FOLLOW_STEP_REORG = 2, /* parent hash mismatch at the range's first block */
    FOLLOW_STEP_RETRY = 3  /* the range was halved: try again */
};

static const struct follow_block *follow_ring_at(const struct follow *f, size_t i);
static const struct follow_block *follow_ring_find(const struct follow *f, uint64_t number);
static void follow_ring_push(struct follow *f, uint64_t number, const uint8_t hash[32]);
static void follow_ring_cut(struct follow *f, uint64_t first_removed);
static enum follow_result follow_check_config(const struct follow_config *cfg, struct err *e);
static bool follow_has_address(const struct follow *f, const struct address *a);
static void follow_quantity(char out[FOLLOW_QUANTITY_BYTES], uint64_t v);
static bool follow_hex_exact(uint8_t *out, size_t out_len, const json_t *v);
static enum follow_result follow_parse_header(struct follow_header *out, const json_t *result,
                                              uint64_t number, struct err *e);
static enum follow_result follow_fetch_header_chunk(struct follow *f, struct follow_header *out,
                                                    bool *too_large, uint64_t from, size_t n,
                                                    struct err *e);
static enum follow_result follow_fetch_headers(struct follow *f, struct follow_header *out,
                                               bool *too_large, uint64_t from, uint64_t to,
                                               struct err *e);
static void follow_range_halve(struct follow *f, struct follow_poll_report *report);
static void follow_range_worked(struct follow *f);
static json_t *follow_logs_params(const struct follow *f, uint64_t from, uint64_t to);
static enum follow_result follow_fetch_logs(struct follow *f, json_t **logs_out, bool *halved,
                                            uint64_t from, uint64_t to, struct err *e);
static bool follow_topic0_allowed(const struct follow *f, const struct follow_log *log);
static enum follow_result follow_parse_data(struct follow_item *out, const json_t *data,
                                            struct err *e);
static enum follow_result follow_parse_log_fields(struct follow_item *out, const json_t *log,
                                                  struct err *e);
static enum follow_result follow_parse_log(const struct follow *f, struct follow_item *out,
                                           const json_t *log, uint64_t from, uint64_t to,
                                           struct err *e);
static int follow_item_cmp(const void *a, const void *b);
static enum follow_result follow_parse_logs(const struct follow *f, struct follow_item **items_out,
                                            size_t *n_out, const json_t *logs, uint64_t from,
                                            uint64_t to, struct err *e);
static size_t follow_consistent_count(const struct follow_item *items, size_t n,
                                      const struct follow_header *hdr, size_t hdr_len,
                                      uint64_t from);
static enum follow_result follow_deliver(struct follow *f, struct follow_poll_report *report,
                                         const struct follow_item *items, size_t n,
                                         const struct follow_header *hdr, size_t count,
                                         uint64_t from, struct err *e);
static enum follow_result follow_step_range(struct follow *f, struct follow_poll_report *report,
                                            enum follow_step *step, uint64_t from, uint64_t to,
                                            struct err *e);
static enum follow_result follow_read_head(struct follow *f, uint64_t *head, bool *tip_ok,
                                           struct err *e);
static enum follow_result follow_find_ancestor(struct follow *f, struct follow_ancestry *out,
                                               struct err *e);
static enum follow_result follow_handle_reorg(struct follow *f, struct follow_poll_report *report,
                                              bool *reorged, struct err *e);
static enum follow_result follow_walk(struct follow *f, struct follow_poll_report *report,
                                      struct err *e);

/* ---- remembered blocks ------------------------------------------------------------------ */

/* The i-th remembered block, oldest first. */
static const struct follow_block *follow_ring_at(const struct follow *f, size_t i)
{
    ASSERT(i < f->ring_len);
    return &f->ring[(f->ring_start + i) % f->window];
}

static const struct follow_block *follow_ring_find(const struct follow *f, uint64_t number)
{
    if (f->ring_len == 0)
        return NULL;
    uint64_t oldest = follow_ring_at(f, 0)->number;
    if (number < oldest || number - oldest >= f->ring_len)
        return NULL;
    return follow_ring_at(f, (size_t)(number - oldest));
}

/* Appends the next block (numbers stay contiguous); forgets the oldest when full. */
static void follow_ring_push(struct follow *f, uint64_t number, const uint8_t hash[32])
{
    ASSERT(f->ring_len == 0 || follow_ring_at(f, f->ring_len - 1)->number + 1 == number);
    ASSERT(number == f->next_block && number < UINT64_MAX);
    if (f->ring_len == f->window) {
        f->ring_start = (f->ring_start + 1) % f->window;
        f->ring_len--;
    }
    struct follow_block *b = &f->ring[(f->ring_start + f->ring_len) % f->window];
    b->number = number;
    memcpy(b->hash, hash, 32);
    f->ring_len++;
    f->next_block = number + 1;
}

/* Forgets the blocks >= first_removed; the cursor becomes first_removed - 1. */
static void follow_ring_cut(struct follow *f, uint64_t first_removed)
{
    ASSERT(f->ring_len > 0 && first_removed > follow_ring_at(f, 0)->number);
    while (f->ring_len > 0 && follow_ring_at(f, f->ring_len - 1)->number >= first_removed)
        f->ring_len--;
    f->next_block = first_removed;
    ASSERT(follow_ring_at(f, f->ring_len - 1)->number + 1 == f->next_block);
}

/* ---- setup -------------------------------------------------------------------------------- */

void follow_config_default(struct follow_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->range_max = FOLLOW_RANGE_DEFAULT;
    cfg->window = FOLLOW_WINDOW_DEFAULT;
    cfg->blocks_per_poll_max = FOLLOW_BLOCKS_PER_POLL_DEFAULT;
    cfg->logs_per_poll_max = FOLLOW_LOGS_PER_POLL_DEFAULT;
}

static enum follow_result follow_check_config(const struct follow_config *cfg, struct err *e)
{
    if (cfg->on_log == NULL || cfg->on_reorg == NULL)
        return err_set(e, FOLLOW_ERR_BAD_INPUT, "follow config: on_log and on_reorg are required");
    if (cfg->topic0_len > FOLLOW_TOPIC0_MAX || (cfg->topic0 == NULL && cfg->topic0_len > 0))
        return err_set(e, FOLLOW_ERR_BAD_INPUT, "follow config: more than %d topic0 values",
                       FOLLOW_TOPIC0_MAX);
    if (cfg->confirmations > FOLLOW_CONFIRMATIONS_MAX)
        return err_set(e, FOLLOW_ERR_BAD_INPUT, "follow config: confirmations above %d",
                       FOLLOW_CONFIRMATIONS_MAX);
    if (cfg->range_max < 1 || cfg->range_max > FOLLOW_RANGE_MAX)
        return err_set(e, FOLLOW_ERR_BAD_INPUT, "follow config: range_max %" PRIu32 " not in 1..%d",
                       cfg->range_max, FOLLOW_RANGE_MAX);
    if (cfg->window < 1 || cfg->window > FOLLOW_WINDOW_MAX)
        return err_set(e, FOLLOW_ERR_BAD_INPUT, "follow config: window %" PRIu32 " not in 1..%d",
                       cfg->window, FOLLOW_WINDOW_MAX);
    if (cfg->blocks_per_poll_max < 1 || cfg->blocks_per_poll_max > FOLLOW_BLOCKS_PER_POLL_MAX)
        return err_set(e, FOLLOW_ERR_BAD_INPUT, "follow config: blocks_per_poll_max not in 1..%d",
                       FOLLOW_BLOCKS_PER_POLL_MAX);
    if (cfg->logs_per_poll_max < 1 || cfg->logs_per_poll_max > FOLLOW_LOGS_PER_POLL_MAX)
        return err_set(e, FOLLOW_ERR_BAD_INPUT, "follow config: logs_per_poll_max not in 1..%d",
                       FOLLOW_LOGS_PER_POLL_MAX);
    return FOLLOW_OK;
}

enum follow_result follow_init(struct follow *f, struct rpc_client *rpc,
                               const struct follow_config *cfg, struct err *e)
{
    ASSERT(rpc != NULL);
    enum follow_result r = follow_check_config(cfg, e);
    if (r != FOLLOW_OK)
        return r;
    memset(f, 0, sizeof *f);
    f->rpc = rpc;
    f->confirmations = cfg->confirmations;
    f->range_max = f->range_now = cfg->range_max;
    f->window = cfg->window;
    f->blocks_per_poll_max = cfg->blocks_per_poll_max;
    f->logs_per_poll_max = cfg->logs_per_poll_max;
    f->on_log = cfg->on_log;
    f->on_reorg = cfg->on_reorg;
    f->ctx = cfg->ctx;
    f->next_block = cfg->start_block;
    f->topic0_len = cfg->topic0_len;
    if (cfg->topic0_len > 0)
        memcpy(f->topic0, cfg->topic0, cfg->topic0_len * 32);
    return follow_set_addresses(f, cfg->addresses, cfg->addresses_len, e);
}

static bool follow_has_address(const struct follow *f, const struct address *a)
{
    for (size_t i = 0; i < f->addresses_len; i++)
        if (address_eq(&f->addresses[i], a))
            return true;
    return false;
}

enum follow_result follow_set_addresses(struct follow *f, const struct address *addresses,
                                        size_t addresses_len, struct err *e)
{
    if (addresses_len > FOLLOW_ADDRESSES_MAX || (addresses == NULL && addresses_len > 0))
        return err_set(e, FOLLOW_ERR_BAD_INPUT, "more than %d addresses to follow",
                       FOLLOW_ADDRESSES_MAX);
    for (size_t i = 0; i < addresses_len; i++)
        for (size_t j = 0; j < i; j++)
            if (address_eq(&addresses[i], &addresses[j])) {
                char text[ADDRESS_TEXT_SIZE];
                address_format_checksum(text, &addresses[i]);
                return err_set(e, FOLLOW_ERR_BAD_INPUT, "address '%s' listed twice", text);
            }
    if (addresses_len > 0)
        memmove(f->addresses, addresses, addresses_len * sizeof addresses[0]);
    f->addresses_len = addresses_len;
    return FOLLOW_OK;
}

enum follow_result follow_add_address(struct follow *f, const struct address *address,
                                      struct err *e)
{
    if (follow_has_address(f, address))
        return FOLLOW_OK;
    if (f->addresses_len == FOLLOW_ADDRESSES_MAX)
        return err_set(e, FOLLOW_ERR_BAD_INPUT, "more than %d addresses to follow",
                       FOLLOW_ADDRESSES_MAX);
    f->addresses[f->addresses_len++] = *address;
    return FOLLOW_OK;
}

enum follow_result follow_resume(struct follow *f, const struct follow_block *blocks, size_t n,
                                 struct err *e)
{
    if (n < 1 || n > f->window)
        return err_set(e, FOLLOW_ERR_BAD_INPUT, "resume: %zu blocks, want 1..%" PRIu32, n,
                       f->window);
    for (size_t i = 1; i < n; i++)
        if (blocks[i].number != blocks[i - 1].number + 1)
            return err_set(e, FOLLOW_ERR_BAD_INPUT,
                           "resume: block %" PRIu64 " does not follow block %" PRIu64,
                           blocks[i].number, blocks[i - 1].number);
    if (blocks[n - 1].number == UINT64_MAX)
        return err_set(e, FOLLOW_ERR_BAD_INPUT, "resume: block number out of range");
    f->ring_start = f->ring_len = 0;
    f->next_block = blocks[0].number;
    for (size_t i = 0; i < n; i++)
        follow_ring_push(f, blocks[i].number, blocks[i].hash);
    f->stopped = false;
    err_clear(&f->stop_err);
    return FOLLOW_OK;
}

bool follow_cursor(const struct follow *f, struct follow_block *out)
{
    if (f->ring_len == 0)
        return false;
    *out = *follow_ring_at(f, f->ring_len - 1);
    return true;
}

uint64_t follow_next_block(const struct follow *f)
{
    return f->next_block;
}

size_t follow_recent(const struct follow *f, struct follow_block *out, size_t cap)
{
    for (size_t i = 0; i < f->ring_len && i < cap; i++)
        out[i] = *follow_ring_at(f, i);
    return f->ring_len;
}

uint32_t follow_range_now(const struct follow *f)
{
    return f->range_now;
}

/* ---- parsers ------------------------------------------------------------------------------ */

static void follow_quantity(char out[FOLLOW_QUANTITY_BYTES], uint64_t v)
{
    int n = snprintf(out, FOLLOW_QUANTITY_BYTES, "0x%" PRIx64, v);
    ASSERT(n > 0 && n < FOLLOW_QUANTITY_BYTES);
}

/* A JSON string "0x" + exactly 2 * out_len hex digits. */
static bool follow_hex_exact(uint8_t *out, size_t out_len, const json_t *v)
{
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);
    return s != NULL && n == 2 + 2 * out_len && s[0] == '0' && s[1] == 'x' &&
           hex_decode_exact(out, out_len, s + 2, n - 2, NULL) == HEX_OK;
}

/* An eth_getBlockByNumber result for block `number` (JSON null: absent). */
static enum follow_result follow_parse_header(struct follow_header *out, const json_t *result,
                                              uint64_t number, struct err *e)
{
    memset(out, 0, sizeof *out);
    if (json_is_null(result))
        return FOLLOW_OK;
    if (!json_is_object(result) ||
        rpc_parse_quantity_u64(&out->number, json_object_get(result, "number"), NULL) != RPC_OK ||
        !follow_hex_exact(out->hash, 32, json_object_get(result, "hash")) ||
        !follow_hex_exact(out->parent, 32, json_object_get(result, "parentHash")))
        return err_set(e, FOLLOW_ERR_BAD_RESPONSE,
                       "block %" PRIu64 ": header without number, hash or parentHash", number);
    if (out->number != number)
        return err_set(e, FOLLOW_ERR_BAD_RESPONSE,
                       "asked for block %" PRIu64 ", the node answered block %" PRIu64, number,
                       out->number);
    out->present = true;
    return FOLLOW_OK;
}

/* Headers of blocks from..from+n-1 (n <= FOLLOW_HEADERS_PER_BATCH) in one
 * batch. *too_large (may be NULL) tells an answer above the rpc cap apart. */
static enum follow_result follow_fetch_header_chunk(struct follow *f, struct follow_header *out,
                                                    bool *too_large, uint64_t from, size_t n,
                                                    struct err *e)
{
    ASSERT(n >= 1 && n <= FOLLOW_HEADERS_PER_BATCH && n <= RPC_BATCH_CALLS_MAX);
    struct rpc_batch_item *items = calloc(n, sizeof *items);
    if (items == NULL)
        return err_set(e, FOLLOW_ERR_NOMEM, "out of memory for %zu block headers", n);
    for (size_t i = 0; i < n; i++) {
        char q[FOLLOW_QUANTITY_BYTES];
        follow_quantity(q, from + i);
        items[i].method = "eth_getBlockByNumber";
        items[i].params = json_pack("[sb]", q, 0);
    }
    struct err re = {0};
    enum follow_result r = FOLLOW_OK;
    enum rpc_result rr = rpc_batch(f->rpc, items, n, &re);
    if (too_large != NULL)
        *too_large = rr == RPC_ERR_TOO_LARGE;
    if (rr != RPC_OK)
        r = err_set(e, FOLLOW_ERR_RPC, "headers of blocks %" PRIu64 "..%" PRIu64 ": %s", from,
                    from + n - 1, re.msg);
    for (size_t i = 0; i < n; i++) {
        if (r == FOLLOW_OK)
            r = follow_parse_header(&out[i], items[i].result, from + i, e);
        json_decref(items[i].result);
    }
    free(items);
    return r;
}

/* Headers of from..to into out[0..to-from]; absent blocks have present
 * false. Batches of at most the current range (so that halving the range
 * also shrinks a header batch the rpc cap refused). */
static enum follow_result follow_fetch_headers(struct follow *f, struct follow_header *out,
                                               bool *too_large, uint64_t from, uint64_t to,
                                               struct err *e)
{
    ASSERT(from <= to && to - from < FOLLOW_RANGE_MAX);
    uint64_t chunk =
        f->range_now < FOLLOW_HEADERS_PER_BATCH ? f->range_now : FOLLOW_HEADERS_PER_BATCH;
    for (uint64_t at = from; at <= to; at += chunk) {
        size_t n = (size_t)(to - at + 1 < chunk ? to - at + 1 : chunk);
        enum follow_result r = follow_fetch_header_chunk(f, out + (at - from), too_large, at, n, e);
        if (r != FOLLOW_OK)
            return r;
        if (to - at < chunk)
            break; /* no wrap-around at UINT64_MAX */
    }
    return FOLLOW_OK;
}

/* A node refused a range (or its answer was too large): half as many blocks. */
static void follow_range_halve(struct follow *f, struct follow_poll_report *report)
{
    f->range_now = f->range_now / 2 > 0 ? f->range_now / 2 : 1;
    f->range_streak = 0;
    report->range_halvings++;
}

/* A range was fetched: after FOLLOW_RANGE_REGROW_AFTER in a row, twice as
 * many blocks again (up to range_max), so a passing refusal (a busy node)
 * does not slow the follower for good. */
static void follow_range_worked(struct follow *f)
{
    if (f->range_now == f->range_max || ++f->range_streak < FOLLOW_RANGE_REGROW_AFTER)
        return;
    f->range_now = f->range_now * 2 < f->range_max ? f->range_now * 2 : f->range_max;
    f->range_streak = 0;
}

/* [{fromBlock, toBlock, address: [...], topics: [[topic0...]]}] */
static json_t *follow_logs_params(const struct follow *f, uint64_t from, uint64_t to)
{
    char q_from[FOLLOW_QUANTITY_BYTES], q_to[FOLLOW_QUANTITY_BYTES];
    follow_quantity(q_from, from);
    follow_quantity(q_to, to);
    json_t *addresses = json_array(), *topic0 = json_array();
    for (size_t i = 0; i < f->addresses_len; i++) {
        char text[ADDRESS_TEXT_SIZE];
        address_format_lower(text, &f->addresses[i]);
        json_array_append_new(addresses, json_string(text));
    }
    for (size_t i = 0; i < f->topic0_len; i++) {
        char text[2 + 64 + 1];
        ASSERT(hex_encode_0x(text, sizeof text, f->topic0[i], 32) == 0);
        json_array_append_new(topic0, json_string(text));
    }
    json_t *filter =
        json_pack("{s:s,s:s,s:o}", "fromBlock", q_from, "toBlock", q_to, "address", addresses);
    if (filter != NULL && f->topic0_len > 0)
        json_object_set_new(filter, "topics", json_pack("[O]", topic0));
    json_decref(topic0);
    return filter != NULL ? json_pack("[o]", filter) : NULL;
}

bool follow_is_range_error(enum rpc_result r, const struct rpc_remote_error *remote)
{
    static const char *const rate[] = {"rate", "request count", "capacity", "per second",
                                       "too many requests"};
    static const char *const words[] = {"range",     "limit",     "exceed", "too many",
                                        "too large", "more than", "size",   "results"};
    if (r == RPC_ERR_TOO_LARGE)
        return true;
    if (r != RPC_ERR_REMOTE || remote == NULL)
        return false;
    for (size_t i = 0; i < sizeof rate / sizeof rate[0]; i++)
        if (strcasestr(remote->message, rate[i]) != NULL)
            return false; /* a busy node: fewer blocks would not help */
    if (remote->code == -32005)
        return true;
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (strcasestr(remote->message, words[i]) != NULL)
            return true;
    return false;
}

/* eth_getLogs for from..to. A range error (or too many logs) with more than
 * one block sets *halved instead (no logs then): the range must shrink. */
static enum follow_result follow_fetch_logs(struct follow *f, json_t **logs_out, bool *halved,
                                            uint64_t from, uint64_t to, struct err *e)
{
    *logs_out = NULL;
    *halved = false;
    json_t *params = follow_logs_params(f, from, to);
    if (params == NULL)
        return err_set(e, FOLLOW_ERR_NOMEM, "out of memory for an eth_getLogs request");
    json_t *logs = NULL;
    struct err re = {0};
    enum rpc_result rr = rpc_call(f->rpc, "eth_getLogs", params, &logs, &re);
    bool too_many =
        rr == RPC_OK && json_is_array(logs) && json_array_size(logs) > FOLLOW_RANGE_LOGS_MAX;
    if ((follow_is_range_error(rr, &f->rpc->last_remote) || too_many) && to > from) {
        json_decref(logs);
        *halved = true; /* the caller halves the range */
        return FOLLOW_OK;
    }
    if (rr != RPC_OK)
        return err_set(e, FOLLOW_ERR_RPC, "logs of blocks %" PRIu64 "..%" PRIu64 ": %s", from, to,
                       re.msg);
    if (too_many || !json_is_array(logs)) {
        json_decref(logs);
        return err_set(e, too_many ? FOLLOW_ERR_TOO_MANY_LOGS : FOLLOW_ERR_BAD_RESPONSE,
                       "logs of block %" PRIu64 ": %s", from,
                       too_many ? "more than " MACRO_TEXT(FOLLOW_RANGE_LOGS_MAX) " logs"
                                : "eth_getLogs result is not an array");
    }
    *logs_out = logs;
    return FOLLOW_OK;
}

static bool follow_topic0_allowed(const struct follow *f, const struct follow_log *log)
{
    if (f->topic0_len == 0)
        return true;
    for (size_t i = 0; i < f->topic0_len && log->topics_len > 0; i++)
        if (memcmp(f->topic0[i], log->topics[0], 32) == 0)
            return true;
    return false;
}

/* "0x" + an even number of hex digits, at most FOLLOW_LOG_DATA_BYTES_MAX bytes. */
static enum follow_result follow_parse_data(struct follow_item *out, const json_t *data,
                                            struct err *e)
{
    const char *s = json_string_value(data);
    size_t n = json_string_length(data);
    if (s == NULL || n < 2 || s[0] != '0' || s[1] != 'x' || n % 2 != 0 ||
        !hex_is_digits(s + 2, n - 2))
        return err_set(e, FOLLOW_ERR_BAD_RESPONSE,
                       "block %" PRIu64 " log %" PRIu64 ": data is not 0x-prefixed hex",
                       out->log.block_number, out->log.log_index);
    if ((n - 2) / 2 > FOLLOW_LOG_DATA_BYTES_MAX)
        return err_set(e, FOLLOW_ERR_LOG_TOO_BIG,
                       "block %" PRIu64 " log %" PRIu64 ": data above %d bytes",
                       out->log.block_number, out->log.log_index, FOLLOW_LOG_DATA_BYTES_MAX);
    out->data_hex = s + 2;
    out->log.data_len = (n - 2) / 2;
    return FOLLOW_OK;
}

/* One log object (eth_getLogs entry or receipt log), fields only. */
static enum follow_result follow_parse_log_fields(struct follow_item *out, const json_t *log,
                                                  struct err *e)
{
    memset(out, 0, sizeof *out);
    struct follow_log *l = &out->log;
    const json_t *topics = json_object_get(log, "topics"),
                 *removed = json_object_get(log, "removed");
    if (!json_is_object(log) ||
        rpc_parse_quantity_u64(&l->block_number, json_object_get(log, "blockNumber"), NULL) !=
            RPC_OK ||
        rpc_parse_quantity_u64(&l->log_index, json_object_get(log, "logIndex"), NULL) != RPC_OK ||
        rpc_parse_quantity_u64(&l->tx_index, json_object_get(log, "transactionIndex"), NULL) !=
            RPC_OK ||
        !follow_hex_exact(l->block_hash, 32, json_object_get(log, "blockHash")) ||
        !follow_hex_exact(l->tx_hash, 32, json_object_get(log, "transactionHash")) ||
        !follow_hex_exact(l->address.bytes, ADDRESS_BYTES, json_object_get(log, "address")) ||
        !json_is_array(topics) || json_array_size(topics) > FOLLOW_LOG_TOPICS_MAX ||
        (removed != NULL && !json_is_false(removed)))
        return err_set(e, FOLLOW_ERR_BAD_RESPONSE, "a malformed or removed log");
    l->topics_len = json_array_size(topics);
    for (size_t i = 0; i < l->topics_len; i++)
        if (!follow_hex_exact(l->topics[i], 32, json_array_get(topics, i)))
            return err_set(e, FOLLOW_ERR_BAD_RESPONSE,
                           "block %" PRIu64 " log %" PRIu64 ": topic %zu is not 32 hex bytes",
                           l->block_number, l->log_index, i);
    return follow_parse_data(out, json_object_get(log, "data"), e);
}

/* One eth_getLogs entry, which must lie in from..to and match the filters. */
static enum follow_result follow_parse_log(const struct follow *f, struct follow_item *out,
                                           const json_t *log, uint64_t from, uint64_t to,
                                           struct err *e)
{
    struct err pe = {0};
    enum follow_result r = follow_parse_log_fields(out, log, &pe);
    if (r != FOLLOW_OK)
        return err_set(e, r, "logs of blocks %" PRIu64 "..%" PRIu64 ": %s", from, to, pe.msg);
    const struct follow_log *l = &out->log;
    if (l->block_number < from || l->block_number > to || !follow_has_address(f, &l->address) ||
        !follow_topic0_allowed(f, l))
        return err_set(e, FOLLOW_ERR_BAD_RESPONSE,
                       "block %" PRIu64 " log %" PRIu64 ": outside the requested blocks %" PRIu64
                       "..%" PRIu64 " or filters",
                       l->block_number, l->log_index, from, to);
    return FOLLOW_OK;
}

bool follow_log_from_json(struct follow_log *out, uint8_t *data, size_t data_cap, const json_t *log)
{
    struct follow_item item;
    if (follow_parse_log_fields(&item, log, NULL) != FOLLOW_OK || item.log.data_len > data_cap)
        return false;
    ASSERT(hex_decode_exact(data, item.log.data_len, item.data_hex, 2 * item.log.data_len, NULL) ==
           HEX_OK);
    *out = item.log;
    out->data = item.log.data_len > 0 ? data : NULL;
    return true;
}

static int follow_item_cmp(const void *a, const void *b)
{
    const struct follow_log *x = &((const struct follow_item *)a)->log;
    const struct follow_log *y = &((const struct follow_item *)b)->log;
    if (x->block_number != y->block_number)
        return x->block_number < y->block_number ? -1 : 1;
    return x->log_index < y->log_index ? -1 : x->log_index > y->log_index;
}

/* All logs of the answer, checked, in (block, log index) order, no duplicates. */
static enum follow_result follow_parse_logs(const struct follow *f, struct follow_item **items_out,
                                            size_t *n_out, const json_t *logs, uint64_t from,
                                            uint64_t to, struct err *e)
{
    size_t n = json_array_size(logs);
    ASSERT(n <= FOLLOW_RANGE_LOGS_MAX);
    struct follow_item *items = n > 0 ? calloc(n, sizeof *items) : NULL;
    if (n > 0 && items == NULL)
        return err_set(e, FOLLOW_ERR_NOMEM, "out of memory for %zu logs", n);
    enum follow_result r = FOLLOW_OK;
    for (size_t i = 0; i < n && r == FOLLOW_OK; i++)
        r = follow_parse_log(f, &items[i], json_array_get(logs, i), from, to, e);
    if (r == FOLLOW_OK && n > 1)
        qsort(items, n, sizeof *items, follow_item_cmp);
    for (size_t i = 1; i < n && r == FOLLOW_OK; i++)
        if (follow_item_cmp(&items[i - 1], &items[i]) == 0)
            r = err_set(e, FOLLOW_ERR_BAD_RESPONSE, "block %" PRIu64 ": log %" PRIu64 " twice",
                        items[i].log.block_number, items[i].log.log_index);
    if (r != FOLLOW_OK) {
        free(items);
        return r;
    }
    *items_out = items;
    *n_out = n;
    return FOLLOW_OK;
}

/* How many blocks from `from` on (of hdr_len) are consistent: the header is
 * present, links to its predecessor in the range, and carries the hash
 * that every log of its block names. */
static size_t follow_consistent_count(const struct follow_item *items, size_t n,
                                      const struct follow_header *hdr, size_t hdr_len,
                                      uint64_t from)
{
    size_t count = 0;
    while (count < hdr_len && hdr[count].present &&
           (count == 0 || memcmp(hdr[count].parent, hdr[count - 1].hash, 32) == 0))
        count++;
    for (size_t i = 0; i < n; i++) {
        uint64_t k = items[i].log.block_number - from;
        if (k < count && memcmp(items[i].log.block_hash, hdr[k].hash, 32) != 0) {
            count = (size_t)k;
            break;
        }
    }
    return count;
}

/* ---- delivery and one range --------------------------------------------------------------- */

/* Delivers the `count` consistent blocks from `from` on (see above) and
 * their logs. Stops between blocks at the poll's log bound. */
static enum follow_result follow_deliver(struct follow *f, struct follow_poll_report *report,
                                         const struct follow_item *items, size_t n,
                                         const struct follow_header *hdr, size_t count,
                                         uint64_t from, struct err *e)
{
    size_t i = 0;
    for (size_t k = 0; k < count && report->logs < f->logs_per_poll_max; k++) {
        uint64_t b = from + k;
        for (; i < n && items[i].log.block_number == b; i++) {
            struct follow_log l = items[i].log;
            ASSERT(memcmp(l.block_hash, hdr[k].hash, 32) == 0);
            ASSERT(hex_decode_exact(f->data, l.data_len, items[i].data_hex, 2 * l.data_len, NULL) ==
                   HEX_OK);
            l.data = l.data_len > 0 ? f->data : NULL;
            if (!f->on_log(f->ctx, &l))
                return err_set(e, FOLLOW_ERR_CALLBACK,
                               "block %" PRIu64 " log %" PRIu64 ": on_log refused it", b,
                               l.log_index);
            report->logs++;
        }
        follow_ring_push(f, b, hdr[k].hash);
        report->blocks++;
    }
    return FOLLOW_OK;
}

/* Logs, then headers, of from..to; checks the link to the stored
 * predecessor and delivers what is consistent. */
static enum follow_result follow_step_range(struct follow *f, struct follow_poll_report *report,
                                            enum follow_step *step, uint64_t from, uint64_t to,
                                            struct err *e)
{
    json_t *logs = NULL;
    bool halved = false;
    struct follow_item *items = NULL;
    size_t n = 0;
    *step = FOLLOW_STEP_DONE;
    enum follow_result r =
        f->addresses_len > 0 ? follow_fetch_logs(f, &logs, &halved, from, to, e) : FOLLOW_OK;
    struct follow_header *hdr = NULL;
    if (r == FOLLOW_OK && !halved && (hdr = calloc((size_t)(to - from + 1), sizeof *hdr)) == NULL)
        r = err_set(e, FOLLOW_ERR_NOMEM, "out of memory for %" PRIu64 " headers", to - from + 1);
    if (r == FOLLOW_OK && !halved && logs != NULL)
        r = follow_parse_logs(f, &items, &n, logs, from, to, e);
    if (r == FOLLOW_OK && !halved)
        r = follow_fetch_headers(f, hdr, &halved, from, to, e);
    if (halved && to > from) { /* refused logs, or headers above the rpc cap */
        follow_range_halve(f, report);
        *step = FOLLOW_STEP_RETRY;
        r = FOLLOW_OK;
    } else if (r == FOLLOW_OK) {
        follow_range_worked(f);
    }
    const struct follow_block *prev = from > 0 ? follow_ring_find(f, from - 1) : NULL;
    size_t hdr_len = (size_t)(to - from + 1);
    if (r != FOLLOW_OK || *step == FOLLOW_STEP_RETRY) {
        /* nothing to deliver */
    } else if (hdr[0].present && prev != NULL && memcmp(hdr[0].parent, prev->hash, 32) != 0) {
        *step = FOLLOW_STEP_REORG;
    } else {
        size_t count = follow_consistent_count(items, n, hdr, hdr_len, from);
        r = follow_deliver(f, report, items, n, hdr, count, from, e);
        if (count != hdr_len)
            *step = FOLLOW_STEP_STALL;
    }
    free(items);
    free(hdr);
    json_decref(logs);
    return r;
}

/* ---- head, reorgs, the poll ----------------------------------------------------------------- */

/* eth_blockNumber and, with a cursor, whether the cursor block is still canonical. */
static enum follow_result follow_read_head(struct follow *f, uint64_t *head, bool *tip_ok,
                                           struct err *e)
{
    struct follow_block tip;
    bool has_tip = follow_cursor(f, &tip);
    struct rpc_batch_item items[2];
    memset(items, 0, sizeof items);
    char q[FOLLOW_QUANTITY_BYTES];
    items[0].method = "eth_blockNumber";
    if (has_tip) {
        follow_quantity(q, tip.number);
        items[1].method = "eth_getBlockByNumber";
        items[1].params = json_pack("[sb]", q, 0);
    }
    struct err re = {0};
    struct follow_header h = {0};
    enum follow_result r = FOLLOW_OK;
    if (rpc_batch(f->rpc, items, has_tip ? 2 : 1, &re) != RPC_OK)
        r = err_set(e, FOLLOW_ERR_RPC, "head: %s", re.msg);
    if (r == FOLLOW_OK && rpc_parse_quantity_u64(head, items[0].result, &re) != RPC_OK)
        r = err_set(e, FOLLOW_ERR_BAD_RESPONSE, "head: %s", re.msg);
    if (r == FOLLOW_OK && has_tip)
        r = follow_parse_header(&h, items[1].result, tip.number, e);
    *tip_ok = !has_tip || (h.present && memcmp(h.hash, tip.hash, 32) == 0);
    json_decref(items[0].result);
    json_decref(items[1].result);
    return r;
}

/* Walks the remembered blocks from the newest down (batched headers): the
 * newest one still canonical is the ancestor; `replaced` tells whether a
 * block above it now has another hash (false: the blocks above are only
 * missing, i.e. the node is behind us on the same chain). */
static enum follow_result follow_find_ancestor(struct follow *f, struct follow_ancestry *out,
                                               struct err *e)
{
    struct follow_header hdr[FOLLOW_HEADERS_PER_BATCH];
    memset(out, 0, sizeof *out);
    size_t left = f->ring_len; /* remembered blocks not yet compared, newest last */
    while (left > 0) {
        size_t n = left < FOLLOW_HEADERS_PER_BATCH ? left : FOLLOW_HEADERS_PER_BATCH;
        uint64_t lo = follow_ring_at(f, left - n)->number;
        enum follow_result r = follow_fetch_header_chunk(f, hdr, NULL, lo, n, e);
        if (r != FOLLOW_OK)
            return r;
        for (size_t k = n; k-- > 0;) {
            const struct follow_block *b = follow_ring_at(f, left - n + k);
            bool same = hdr[k].present && memcmp(hdr[k].hash, b->hash, 32) == 0;
            out->replaced |= hdr[k].present && !same;
            if (same) {
                out->ancestor = b->number;
                out->found = true;
                return FOLLOW_OK;
            }
        }
        left -= n;
    }
    return FOLLOW_OK;
}

/* A hash mismatch was seen: finds the ancestor, tells the consumer, cuts
 * the ring. *reorged false when nothing was replaced: the cursor turned
 * out canonical (a race in the node's view) or the node is behind us. */
static enum follow_result follow_handle_reorg(struct follow *f, struct follow_poll_report *report,
                                              bool *reorged, struct err *e)
{
    struct follow_ancestry a;
    *reorged = false;
    ASSERT(f->ring_len > 0);
    enum follow_result r = follow_find_ancestor(f, &a, e);
    if (r != FOLLOW_OK || !a.replaced)
        return r;
    const struct follow_block *oldest = follow_ring_at(f, 0),
                              *newest = follow_ring_at(f, f->ring_len - 1);
    if (!a.found) {
        f->stopped = true;
        err_set(&f->stop_err, FOLLOW_ERR_DEEP_REORG,
                "deep reorg: none of the %zu remembered blocks %" PRIu64 "..%" PRIu64
                " is canonical any more; following stopped at block %" PRIu64,
                f->ring_len, oldest->number, newest->number, newest->number);
        return err_set(e, FOLLOW_ERR_DEEP_REORG, "%s", f->stop_err.msg);
    }
    ASSERT(a.ancestor < newest->number);
    if (!f->on_reorg(f->ctx, a.ancestor + 1))
        return err_set(e, FOLLOW_ERR_CALLBACK, "reorg from block %" PRIu64 ": on_reorg refused it",
                       a.ancestor + 1);
    follow_ring_cut(f, a.ancestor + 1);
    if (report->reorgs == 0 || a.ancestor + 1 < report->first_orphaned)
        report->first_orphaned = a.ancestor + 1;
    report->reorgs++;
    *reorged = true;
    return FOLLOW_OK;
}

/* Walks next_block..target in ranges, within the poll's bounds. */
static enum follow_result follow_walk(struct follow *f, struct follow_poll_report *report,
                                      struct err *e)
{
    uint32_t steps_max = f->blocks_per_poll_max + FOLLOW_HALVINGS_MAX + FOLLOW_REORGS_PER_POLL_MAX;
    for (uint32_t s = 0; s < steps_max && f->next_block <= report->target; s++) {
        uint64_t left = f->blocks_per_poll_max - report->blocks;
        if (left == 0 || report->logs >= f->logs_per_poll_max)
            break;
        uint64_t span = f->range_now < left ? f->range_now : left;
        uint64_t to =
            report->target - f->next_block < span ? report->target : f->next_block + span - 1;
        enum follow_step step = FOLLOW_STEP_DONE;
        enum follow_result r = follow_step_range(f, report, &step, f->next_block, to, e);
        bool reorged = false;
        if (r == FOLLOW_OK && step == FOLLOW_STEP_REORG) {
            if (report->reorgs >= FOLLOW_REORGS_PER_POLL_MAX)
                break;
            r = follow_handle_reorg(f, report, &reorged, e);
            step = reorged ? FOLLOW_STEP_RETRY : FOLLOW_STEP_STALL;
        }
        if (r != FOLLOW_OK)
            return r;
        if (step == FOLLOW_STEP_STALL)
            break;
    }
    return FOLLOW_OK;
}

enum follow_result follow_poll(struct follow *f, struct follow_poll_report *report, struct err *e)
{
    struct follow_poll_report local;
    if (report == NULL)
        report = &local;
    memset(report, 0, sizeof *report);
    if (f->stopped)
        return err_set(e, FOLLOW_ERR_DEEP_REORG, "%s", f->stop_err.msg);
    bool tip_ok = true, reorged = false;
    enum follow_result r = follow_read_head(f, &report->head, &tip_ok, e);
    if (r == FOLLOW_OK && !tip_ok)
        r = follow_handle_reorg(f, report, &reorged, e);
    if (r != FOLLOW_OK)
        return r;
    report->has_target = report->head >= f->confirmations;
    report->target = report->has_target ? report->head - f->confirmations : 0;
    if (report->has_target)
        r = follow_walk(f, report, e);
    /* A node behind our cursor (no reorg found) has yet to catch up with us. */
    bool node_behind = !tip_ok && !reorged && report->head + 1 < f->next_block;
    report->caught_up = !node_behind && (!report->has_target || f->next_block > report->target);
    return r;
}
