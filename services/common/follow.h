/*
 * follow.h - a chain log follower over JSON-RPC with parent-hash reorg
 * detection. The gateway follows pass Transfer and vault Tipped logs with
 * it; the settlement indexer follows the vault's revenue events.
 *
 * What one follow_poll() does:
 *   1. one batch: eth_blockNumber and, once a block was delivered, the
 *      header of that last delivered block (the cursor). When the cursor's
 *      hash changed (or the block is gone), a reorg is handled (below)
 *      before anything else;
 *   2. target = head - confirmations; the blocks next_block..target are
 *      walked in ranges of at most range_max blocks. For each range: the
 *      logs (one eth_getLogs with the address and topic0 filters, skipped
 *      while no address is set), then every block's header (batched
 *      eth_getBlockByNumber, hashes only). The first header's parentHash
 *      must equal the stored hash of its predecessor, else a reorg is
 *      handled; each log must carry its block's header hash, else the
 *      node's view moved between the calls and the poll stops before that
 *      block (the next poll sorts it out);
 *   3. the logs are delivered to on_log in block order, then log-index
 *      order, with block number, block hash, transaction hash, log index,
 *      address, topics and data. A block counts as delivered (its hash is
 *      remembered and the cursor moves to it) only after on_log accepted
 *      every log of it; blocks without logs are delivered silently.
 *
 * Reorgs: the follower remembers the hashes of the last `window` delivered
 * blocks. On a mismatch it walks back over them (batched headers) to the
 * newest block whose hash is still canonical, the common ancestor, and
 * calls on_reorg(ctx, ancestor + 1): the consumer rolls back everything it
 * derived from blocks >= that number. Then the cursor is the ancestor and
 * the new canonical blocks are delivered by the same poll. Nothing from an
 * orphaned block is delivered again: the new blocks are fetched afresh. When
 * no remembered block is canonical any more the reorg is deeper than the
 * window: FOLLOW_ERR_DEEP_REORG, on_reorg is not called, and the follower
 * stops for good: every later poll answers FOLLOW_ERR_DEEP_REORG without
 * touching the chain, until follow_resume() (an operator's decision).
 * A node that is merely behind (remembered blocks missing, none with
 * another hash, e.g. a lagging replica behind a load balancer) is no
 * reorg: the poll waits (caught_up false) until the node has the blocks
 * again; if they then differ, that is the reorg.
 *
 * Delivery is at-least-once: when on_log or on_reorg returns false, the poll
 * stops with FOLLOW_ERR_CALLBACK and the cursor stays where it was (the
 * block whose log failed is delivered again, all of its logs, by the next
 * poll; a refused reorg is detected again). Consumers must be idempotent,
 * e.g. keyed by (tx_hash, log_index) or (block_hash, log_index).
 *
 * Range limits of nodes: when eth_getLogs fails with a range or size error
 * (follow_is_range_error(): RPC_ERR_TOO_LARGE, or a remote error whose
 * message speaks of a range, limit, size or too many results, or code
 * -32005, but not one about a request rate) or returns more than
 * FOLLOW_RANGE_LOGS_MAX logs, or a header batch is above the rpc client's
 * response cap, the range is halved and tried again, down to one block
 * (header batches are never larger than the range). After
 * FOLLOW_RANGE_REGROW_AFTER good ranges in a row it doubles again, up to
 * range_max (follow_range_now() tells the current one). One block that
 * still fails is FOLLOW_ERR_RPC / FOLLOW_ERR_TOO_MANY_LOGS and the cursor
 * stays before it.
 *
 * Cursor and resume: follow_cursor() is the last delivered block (number
 * and hash); follow_recent() lists all remembered ones. A consumer persists
 * them together with what it derived (ideally in the same transaction) and
 * passes them to follow_resume() after a restart. With only the cursor
 * persisted, a reorg that replaces the cursor block is deeper than what the
 * follower knows: FOLLOW_ERR_DEEP_REORG, never a silent divergence.
 *
 * Addresses can change at runtime (follow_set_addresses/follow_add_address),
 * e.g. when a pass contract is registered: the new list applies from
 * next_block on; logs of an added contract in blocks already delivered are
 * not fetched (read them separately if needed). An empty list fetches no
 * logs (eth_getLogs without an address would match every contract) but
 * still tracks blocks and reorgs.
 *
 * Ownership and threads: `struct follow` is caller-allocated and holds no
 * heap memory between calls (nothing to release); the rpc client is
 * borrowed and must outlive it. A poll allocates its per-range buffers and
 * frees them before returning. One follower per thread, with its own rpc
 * client (rpc.h clients are not thread-safe either). Callbacks run on the
 * polling thread; `struct follow_log` and its data are valid only during
 * on_log. Callbacks must not call back into the follower.
 *
 * Limits: FOLLOW_ADDRESSES_MAX addresses, FOLLOW_TOPIC0_MAX topic0 values,
 * range_max <= FOLLOW_RANGE_MAX blocks, window <= FOLLOW_WINDOW_MAX hashes,
 * confirmations <= FOLLOW_CONFIRMATIONS_MAX, at most FOLLOW_RANGE_LOGS_MAX
 * logs per eth_getLogs answer, FOLLOW_LOG_TOPICS_MAX topics and
 * FOLLOW_LOG_DATA_BYTES_MAX data bytes per log, blocks_per_poll_max and
 * logs_per_poll_max per poll (a poll stops between blocks once a bound is
 * reached; report.caught_up tells whether it reached the target).
 *
 * Errors: stable codes below; messages name the block and what failed, and
 * keep rpc's message as the cause.
 */
#ifndef COMMON_FOLLOW_H
#define COMMON_FOLLOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "address.h"
#include "check.h"
#include "err.h"
#include "rpc.h"

#define FOLLOW_ADDRESSES_MAX 256
#define FOLLOW_TOPIC0_MAX 16
#define FOLLOW_RANGE_MAX 1000
#define FOLLOW_RANGE_DEFAULT 1000
#define FOLLOW_WINDOW_MAX 128
#define FOLLOW_WINDOW_DEFAULT 128
#define FOLLOW_CONFIRMATIONS_MAX 1000
#define FOLLOW_RANGE_LOGS_MAX 10000
#define FOLLOW_LOG_TOPICS_MAX 4
#define FOLLOW_LOG_DATA_BYTES_MAX 4096
#define FOLLOW_BLOCKS_PER_POLL_MAX 100000
#define FOLLOW_BLOCKS_PER_POLL_DEFAULT 10000
#define FOLLOW_LOGS_PER_POLL_MAX 100000
#define FOLLOW_LOGS_PER_POLL_DEFAULT 10000
#define FOLLOW_HEADERS_PER_BATCH 100 /* <= RPC_BATCH_CALLS_MAX */
#define FOLLOW_RANGE_REGROW_AFTER 32 /* good ranges in a row before the range doubles */

/* Stable result codes; numbers are never reused. */
enum follow_result {
    FOLLOW_OK = 0,
    FOLLOW_ERR_BAD_INPUT = 1,     /* config, address list or resume blocks out of range */
    FOLLOW_ERR_RPC = 2,           /* transport or remote error (rpc's message kept) */
    FOLLOW_ERR_BAD_RESPONSE = 3,  /* malformed or impossible answer (log outside the filter...) */
    FOLLOW_ERR_CALLBACK = 4,      /* on_log or on_reorg returned false: retried next poll */
    FOLLOW_ERR_DEEP_REORG = 5,    /* reorg beyond the window: stopped, see above */
    FOLLOW_ERR_TOO_MANY_LOGS = 6, /* one block has more than FOLLOW_RANGE_LOGS_MAX logs */
    FOLLOW_ERR_LOG_TOO_BIG = 7,   /* a log above FOLLOW_LOG_DATA_BYTES_MAX or topics max */
    FOLLOW_ERR_NOMEM = 8
};

struct follow_block {
    uint64_t number;
    uint8_t hash[32];
};

/* One log, as delivered to on_log (valid during the call only). */
struct follow_log {
    uint64_t block_number;
    uint8_t block_hash[32];
    uint8_t tx_hash[32];
    uint64_t tx_index;
    uint64_t log_index; /* position in the block */
    struct address address;
    uint8_t topics[FOLLOW_LOG_TOPICS_MAX][32];
    size_t topics_len;
    const uint8_t *data; /* NULL when data_len is 0 */
    size_t data_len;
};

/* Return false to refuse (see "Delivery" above). */
typedef bool (*follow_log_fn)(void *ctx, const struct follow_log *log);
/* Blocks >= first_orphaned_block are no longer canonical. */
typedef bool (*follow_reorg_fn)(void *ctx, uint64_t first_orphaned_block);

struct follow_config {
    const struct address *addresses; /* copied; may be NULL when addresses_len is 0 */
    size_t addresses_len;            /* 0..FOLLOW_ADDRESSES_MAX, no duplicates */
    const uint8_t (*topic0)[32];     /* copied; topic0 filter, NULL/0 = any event */
    size_t topic0_len;               /* 0..FOLLOW_TOPIC0_MAX */
    uint64_t start_block;            /* first block when nothing is resumed */
    uint32_t confirmations;          /* 0 = follow the head; ..FOLLOW_CONFIRMATIONS_MAX */
    uint32_t range_max;              /* blocks per eth_getLogs, 1..FOLLOW_RANGE_MAX */
    uint32_t window;                 /* remembered hashes, 1..FOLLOW_WINDOW_MAX */
    uint32_t blocks_per_poll_max;    /* 1..FOLLOW_BLOCKS_PER_POLL_MAX */
    uint32_t logs_per_poll_max;      /* 1..FOLLOW_LOGS_PER_POLL_MAX */
    follow_log_fn on_log;            /* required */
    follow_reorg_fn on_reorg;        /* required */
    void *ctx;                       /* passed to both */
};

/* What one poll did. */
struct follow_poll_report {
    uint64_t head;           /* eth_blockNumber */
    bool has_target;         /* head >= confirmations */
    uint64_t target;         /* head - confirmations: the last block this poll may deliver */
    uint64_t blocks;         /* blocks delivered (with or without logs) */
    uint64_t logs;           /* logs accepted by on_log */
    uint32_t reorgs;         /* reorgs handled (on_reorg calls that returned true) */
    uint64_t first_orphaned; /* the lowest first_orphaned_block reported, when reorgs > 0 */
    uint32_t range_halvings; /* eth_getLogs range halvings during this poll */
    bool caught_up;          /* the cursor reached the target */
};

/* The follower. Fields are private: use the functions below. */
struct follow {
    struct rpc_client *rpc; /* borrowed */
    struct address addresses[FOLLOW_ADDRESSES_MAX];
    size_t addresses_len;
    uint8_t topic0[FOLLOW_TOPIC0_MAX][32];
    size_t topic0_len;
    uint32_t confirmations, range_max, range_now, window, blocks_per_poll_max, logs_per_poll_max;
    uint32_t range_streak; /* ranges fetched in a row since range_now last changed */
    follow_log_fn on_log;
    follow_reorg_fn on_reorg;
    void *ctx;
    struct follow_block ring[FOLLOW_WINDOW_MAX]; /* delivered blocks, contiguous numbers */
    size_t ring_start, ring_len;                 /* oldest at ring[ring_start] */
    uint64_t next_block;                         /* first block not delivered yet */
    bool stopped;                                /* deep reorg seen */
    struct err stop_err;                         /* its report, repeated by later polls */
    uint8_t data[FOLLOW_LOG_DATA_BYTES_MAX];     /* the delivered log's data */
};

/* Fills defaults: no addresses, any topic, start 0, confirmations 0,
 * FOLLOW_RANGE_DEFAULT, FOLLOW_WINDOW_DEFAULT, the per-poll defaults, no
 * callbacks. */
void follow_config_default(struct follow_config *cfg);

/* Checks cfg and sets f up to deliver from cfg->start_block. Returns
 * FOLLOW_OK or FOLLOW_ERR_BAD_INPUT naming the setting. No rpc call. */
WUR enum follow_result follow_init(struct follow *f, struct rpc_client *rpc,
                                   const struct follow_config *cfg, struct err *e);

/* Replaces the address list (0..FOLLOW_ADDRESSES_MAX, no duplicates).
 * FOLLOW_ERR_BAD_INPUT leaves the old list. */
WUR enum follow_result follow_set_addresses(struct follow *f, const struct address *addresses,
                                            size_t addresses_len, struct err *e);

/* Adds one address; already present is FOLLOW_OK (no change); a full list
 * is FOLLOW_ERR_BAD_INPUT. */
WUR enum follow_result follow_add_address(struct follow *f, const struct address *address,
                                          struct err *e);

/* Sets the remembered blocks to blocks[0..n) (1..window, ascending,
 * contiguous numbers, e.g. from follow_recent() of an earlier run): the
 * cursor becomes the last of them and delivery continues after it. Clears a
 * deep-reorg stop. FOLLOW_ERR_BAD_INPUT leaves f unchanged. */
WUR enum follow_result follow_resume(struct follow *f, const struct follow_block *blocks, size_t n,
                                     struct err *e);

/* The last delivered block; false when none yet (then follow_next_block()
 * is the start block). */
bool follow_cursor(const struct follow *f, struct follow_block *out);

/* The first block not delivered yet. */
uint64_t follow_next_block(const struct follow *f);

/* Copies the remembered blocks, oldest first, into out[0..cap); returns how
 * many there are (at most the window; copies min(that, cap)). */
size_t follow_recent(const struct follow *f, struct follow_block *out, size_t cap);

/* The eth_getLogs range in use (range_max until a node refused a range). */
uint32_t follow_range_now(const struct follow *f);

/* One poll, as described at the top. *report (may be NULL) is filled
 * whatever the result, so partial progress is visible on errors. */
WUR enum follow_result follow_poll(struct follow *f, struct follow_poll_report *report,
                                   struct err *e);

/* Pure: one log object as found in eth_getLogs answers and receipts'
 * "logs" (e.g. rpc_receipt.logs, to credit a tip from its receipt at once)
 * into *out, its data decoded into data[0..data_cap) (out->data points
 * there, NULL when empty). False when the object is malformed, marked
 * removed, has more than FOLLOW_LOG_TOPICS_MAX topics or data above
 * min(data_cap, FOLLOW_LOG_DATA_BYTES_MAX) bytes. */
WUR bool follow_log_from_json(struct follow_log *out, uint8_t *data, size_t data_cap,
                              const json_t *log);

/* Pure: whether an eth_getLogs failure means "ask for fewer blocks". */
bool follow_is_range_error(enum rpc_result r, const struct rpc_remote_error *remote);

#endif
