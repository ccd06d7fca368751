/*
 * chainwatch.c - the gateway's chain follower thread (gw_chainwatch_main,
 * server.h). It keeps the ownership cache and the tips table in step with
 * the chain through follow.h:
 *   - Transfer(address,address,uint256) of a registered pass contract: the
 *     cache forgets (contract, from) and (contract, to), so a fan who sells
 *     a pass loses playback at the next playlist refresh;
 *   - Tipped(bytes32,bytes32,address,uint256) of the vault: a tips row
 *     (source 'follow'; the same log credited from its receipt counts once);
 *   - other logs are ignored.
 * The pass list is read again from PostgreSQL every CW_ADDRESSES_REFRESH_MS
 * (the settlement service registers passes later). When a contract is
 * added the whole cache is cleared: its Transfers in blocks already walked
 * were not fetched. Confirmations are 0 (invalidation must be fast); reorgs
 * are rolled back instead: on_reorg forgets the tips of the orphaned blocks
 * and clears the cache.
 *
 * One cycle every CW_POLL_MS (the stop flag is read every CW_TICK_MS while
 * waiting; a cycle itself is bounded by the RPC timeouts below):
 *   1. eth_chainId must equal CHAIN_ID. A mismatch halts the thread for good
 *      (chain_halted, error log): it never follows another chain. Checked
 *      again after every failed cycle (the node behind the URL may change).
 *   2. Start: from the cursor "gateway" of follow_cursors for this chain id,
 *      else from max(0, head - CW_START_BACK_BLOCKS): a first run scans the
 *      last 1000 blocks for tips; older tips are credited from their
 *      receipts (POST /v1/streams/{id}/tips).
 *   3. follow_poll(); after a successful poll the cursor is saved.
 * Each cycle holds one pool slot (GW_POOL_SLOTS counts one for this thread)
 * and gives it back before sleeping.
 *
 * Deep reorgs (FOLLOW_ERR_DEEP_REORG: none of the remembered blocks is
 * canonical any more): the thread stops advancing for good (chain_halted,
 * /healthz degraded), logs at error level (again every CW_HALT_REMIND_MS),
 * counts a reorg and an error, and clears the cache. Tips of the orphaned
 * blocks may remain: the operator deletes them (DELETE FROM tips WHERE
 * block_number >= the fork) and restarts.
 *
 * Restarts: only the cursor block's hash is persisted, so a reorg that
 * replaced it while the gateway was stopped looks deep to the resumed
 * follower. When that happens on the first poll after resuming, the tips
 * of the last CW_WINDOW blocks are forgotten and those blocks walked again,
 * in one transaction (tippers keep their access throughout): a reorg at
 * most that deep is repaired; a deeper one (or the one that halted a
 * previous run) is not seen, hence the operator's step above.
 *
 * Not rolled back: a tip credited from its receipt (POST) in a block the
 * follower had not reached yet, when that block is reorged out before the
 * follower reaches it (a window of about one poll).
 *
 * Failures: chain_ok is 1 after a successful cycle, 0 otherwise, and
 * chain_polled 1 once the first cycle has ended (until then /healthz asks
 * the node itself: server.c gw_health); failures count in chain_errors and
 * are logged at warn once per state change, the recovery at info. A
 * PostgreSQL failure in a callback leaves the cursor where it was
 * (follow.h delivers the block again) and reports the slot's session
 * (respool_pg_failed), so the next cycle reconnects first.
 */
#include <stdlib.h>
#include <string.h>

#include "abi.h"
#include "clock.h"
#include "follow.h"
#include "server.h"
#include "store.h"

#define CW_POLL_MS 500
#define CW_TICK_MS 50
#define CW_ADDRESSES_REFRESH_MS 3000
#define CW_HALT_REMIND_MS 600000
#define CW_START_BACK_BLOCKS 1000
#define CW_WINDOW FOLLOW_WINDOW_DEFAULT
#define CW_BLOCKS_PER_POLL 2000
#define CW_SLOT_WAIT_MS 100
#define CW_RPC_CONNECT_TIMEOUT_MS 1000
#define CW_RPC_TOTAL_TIMEOUT_MS 3000
#define CW_CURSOR_NAME "gateway"
#define CW_TRANSFER_SIG "Transfer(address,address,uint256)"
#define CW_TIPPED_SIG "Tipped(bytes32,bytes32,address,uint256)"

enum cw_phase {
    CW_VERIFY = 0, /* check eth_chainId next */
    CW_START = 1,  /* set the follower up (cursor or head - 1000) */
    CW_FOLLOW = 2, /* poll */
    CW_HALTED = 3  /* wrong chain or deep reorg: idle until stopped */
};

struct cw {
    struct gw *g;
    struct rpc_client rpc;
    bool rpc_ready;
    struct follow f;
    bool following; /* f is set up */
    bool resumed;   /* f resumed from the stored cursor; no poll confirmed it yet */
    enum cw_phase phase;
    struct address addresses[FOLLOW_ADDRESSES_MAX]; /* vault first, then passes */
    size_t addresses_len;
    bool addresses_truncated;
    uint64_t addresses_at_ms;
    struct follow_block saved; /* the cursor last written */
    bool saved_set;
    struct respool_slot *slot; /* this cycle's; NULL between cycles */
    struct pg_session *pc;
    struct err cb_err; /* why a callback refused */
    int cb_pg_code;
    bool failing;
    uint64_t halted_logged_ms;
    uint8_t topic_transfer[32], topic_tipped[32];
};

static bool cw_stopping(const struct gw_server *s);
static void cw_sleep_until(const struct gw_server *s, uint64_t until_ms);
static void cw_db_failed(struct cw *w, const struct err *why);
static bool cw_on_log(void *ctx, const struct follow_log *log);
static bool cw_on_tip(struct cw *w, const struct follow_log *log);
static void cw_on_transfer(struct cw *w, const struct follow_log *log);
static bool cw_on_reorg(void *ctx, uint64_t first_orphaned_block);
static bool cw_slot_take(struct cw *w, struct err *e);
static void cw_slot_give(struct cw *w);
static bool cw_verify_chain(struct cw *w, struct err *e);
static bool cw_refresh_addresses(struct cw *w, uint64_t now_ms, struct err *e);
static bool cw_follow_init(struct cw *w, uint64_t start_block, struct err *e);
static bool cw_start(struct cw *w, struct err *e);
static void cw_poll_done(struct cw *w, const struct follow_poll_report *rep, enum follow_result r,
                         struct err *e);
static bool cw_rewind(struct cw *w, struct err *e);
static void cw_halt(struct cw *w, const char *why_msg, const struct err *why);
static bool cw_poll(struct cw *w, struct err *e);
static bool cw_save_cursor(struct cw *w, struct err *e);
static bool cw_cycle(struct cw *w, uint64_t now_ms, struct err *e);
static void cw_report(struct cw *w, bool ok, const struct err *why);

static bool cw_stopping(const struct gw_server *s)
{
    return __atomic_load_n(&s->follower_stop, __ATOMIC_ACQUIRE) != 0;
}

/* Sleeps in CW_TICK_MS steps until until_ms or the stop flag. */
static void cw_sleep_until(const struct gw_server *s, uint64_t until_ms)
{
    for (uint64_t now = clock_now_ms(); now < until_ms && !cw_stopping(s); now = clock_now_ms())
        clock_sleep_ms(until_ms - now < CW_TICK_MS ? (uint32_t)(until_ms - now) : CW_TICK_MS);
}

/* A store call failed: keep why, for the cycle's report and the pool. */
static void cw_db_failed(struct cw *w, const struct err *why)
{
    w->cb_err = *why;
    w->cb_pg_code = why->code;
}

static void cw_on_transfer(struct cw *w, const struct follow_log *log)
{
    static const uint8_t zero[12];
    if (log->topics_len < 3 || memcmp(log->topics[1], zero, 12) != 0 ||
        memcmp(log->topics[2], zero, 12) != 0)
        return; /* not an ERC-721/ERC-20 Transfer: nothing to forget */
    struct address from, to;
    memcpy(from.bytes, log->topics[1] + 12, ADDRESS_BYTES);
    memcpy(to.bytes, log->topics[2] + 12, ADDRESS_BYTES);
    owncache_invalidate(&w->g->owners, &log->address, &from);
    owncache_invalidate(&w->g->owners, &log->address, &to);
}

/* Tipped(creatorKey, streamKey, from) amount -> a tips row. A malformed or
 * zero tip (the vault emits neither) is skipped with a warning. */
static bool cw_on_tip(struct cw *w, const struct follow_log *log)
{
    static const uint8_t zero[12];
    struct store_tip t = {.chain_id = w->g->cfg.chain_id,
                          .log_index = (uint32_t)log->log_index,
                          .block_number = log->block_number,
                          .from_follower = true};
    bool shaped = log->topics_len == 4 && log->data_len == 32 &&
                  memcmp(log->topics[3], zero, 12) == 0 && log->log_index <= INT32_MAX;
    if (shaped)
        t.amount_wei = u256_from_be32(log->data);
    if (!shaped || u256_is_zero(&t.amount_wei)) {
        log_write(&w->g->log, LOG_WARN, "ignored a malformed Tipped log",
                  LOG_KVS(log_u64("block", log->block_number), log_u64("log", log->log_index)));
        return true;
    }
    memcpy(t.tx_hash, log->tx_hash, 32);
    memcpy(t.block_hash, log->block_hash, 32);
    memcpy(t.creator_key, log->topics[1], 32);
    memcpy(t.stream_key, log->topics[2], 32);
    memcpy(t.from.bytes, log->topics[3] + 12, ADDRESS_BYTES);
    bool inserted = false;
    struct err e = {0};
    if (store_tip_insert(&inserted, w->pc, &t, &e) != STORE_OK) {
        cw_db_failed(w, &e);
        return false;
    }
    if (inserted && w->g->m.tips_credited != NULL)
        http_metric_add(w->g->m.tips_credited, 1);
    return true;
}

static bool cw_on_log(void *ctx, const struct follow_log *log)
{
    struct cw *w = ctx;
    if (log->topics_len == 0)
        return true;
    if (address_eq(&log->address, &w->g->vault))
        return memcmp(log->topics[0], w->topic_tipped, 32) != 0 || cw_on_tip(w, log);
    if (memcmp(log->topics[0], w->topic_transfer, 32) == 0)
        cw_on_transfer(w, log);
    return true;
}

static bool cw_on_reorg(void *ctx, uint64_t first_orphaned_block)
{
    struct cw *w = ctx;
    struct err e = {0};
    if (store_tips_forget_from(w->pc, w->g->cfg.chain_id, first_orphaned_block, &e) != STORE_OK) {
        cw_db_failed(w, &e);
        return false;
    }
    owncache_clear(&w->g->owners);
    log_write(&w->g->log, LOG_WARN, "chain reorg: rolled back tips and ownership cache",
              LOG_KVS(log_u64("first_orphaned_block", first_orphaned_block)));
    return true;
}

/* This cycle's pool slot and its (re)connected session. */
static bool cw_slot_take(struct cw *w, struct err *e)
{
    struct respool *pool = &w->g->pool;
    if (respool_acquire(&w->slot, pool, CW_SLOT_WAIT_MS, e) != RESPOOL_OK) {
        w->slot = NULL;
        return false;
    }
    if (respool_pg(&w->pc, w->slot, pool, e) != RESPOOL_OK) {
        cw_slot_give(w);
        return false;
    }
    return true;
}

static void cw_slot_give(struct cw *w)
{
    if (w->slot != NULL)
        respool_release(&w->g->pool, w->slot);
    w->slot = NULL;
    w->pc = NULL;
}

/* The node must be on CHAIN_ID; a mismatch halts for good. */
static bool cw_verify_chain(struct cw *w, struct err *e)
{
    if (!w->rpc_ready) {
        struct rpc_options opt;
        rpc_options_default(&opt);
        opt.connect_timeout_ms = CW_RPC_CONNECT_TIMEOUT_MS;
        opt.total_timeout_ms = CW_RPC_TOTAL_TIMEOUT_MS;
        opt.retries_max = 1;
        if (rpc_client_init(&w->rpc, w->g->cfg.eth_rpc_url, &opt, e) != RPC_OK)
            return false;
        w->rpc_ready = true;
    }
    uint64_t chain_id = 0;
    if (rpc_chain_id(&w->rpc, &chain_id, e) != RPC_OK)
        return false;
    if (chain_id != w->g->cfg.chain_id) {
        err_set(e, 1, "the node is on chain %llu, not CHAIN_ID %llu", (unsigned long long)chain_id,
                (unsigned long long)w->g->cfg.chain_id);
        cw_halt(w, "chain id mismatch: not following this node", e);
        return false;
    }
    w->phase = w->following ? CW_FOLLOW : CW_START;
    return true;
}

/* addresses = the vault and every registered pass (at most
 * FOLLOW_ADDRESSES_MAX - 1 of them); applied to the follower when it runs,
 * clearing the cache when a contract is new. */
static bool cw_refresh_addresses(struct cw *w, uint64_t now_ms, struct err *e)
{
    struct address list[FOLLOW_ADDRESSES_MAX], passes[FOLLOW_ADDRESSES_MAX];
    size_t passes_len = 0, n = 0;
    if (store_pass_contracts(passes, FOLLOW_ADDRESSES_MAX, &passes_len, w->pc, e) != STORE_OK) {
        respool_pg_failed(w->slot, (enum pg_code)e->code);
        return false;
    }
    list[n++] = w->g->vault;
    bool added = false;
    for (size_t i = 0; i < passes_len && n < FOLLOW_ADDRESSES_MAX; i++) {
        if (address_eq(&passes[i], &w->g->vault))
            continue;
        bool known = false;
        for (size_t k = 0; k < w->addresses_len && !known; k++)
            known = address_eq(&w->addresses[k], &passes[i]);
        added = added || !known;
        list[n++] = passes[i];
    }
    bool truncated = passes_len == FOLLOW_ADDRESSES_MAX && n == FOLLOW_ADDRESSES_MAX;
    if (truncated && !w->addresses_truncated)
        log_write(&w->g->log, LOG_ERROR, "too many pass contracts: some are not followed",
                  LOG_KVS(log_u64("followed", n - 1)));
    w->addresses_truncated = truncated;
    w->addresses_at_ms = now_ms;
    if (n == w->addresses_len && !added)
        return true;
    if (w->following && follow_set_addresses(&w->f, list, n, e) != FOLLOW_OK)
        return false;
    if (w->following && added)
        owncache_clear(&w->g->owners);
    memcpy(w->addresses, list, n * sizeof list[0]);
    w->addresses_len = n;
    return true;
}

static bool cw_follow_init(struct cw *w, uint64_t start_block, struct err *e)
{
    uint8_t topics[2][32];
    struct follow_config fc;
    follow_config_default(&fc);
    memcpy(topics[0], w->topic_transfer, 32);
    memcpy(topics[1], w->topic_tipped, 32);
    fc.addresses = w->addresses;
    fc.addresses_len = w->addresses_len;
    fc.topic0 = (const uint8_t(*)[32])topics; /* copied by follow_init */
    fc.topic0_len = 2;
    fc.start_block = start_block;
    fc.confirmations = 0;
    fc.window = CW_WINDOW;
    fc.blocks_per_poll_max = CW_BLOCKS_PER_POLL;
    fc.on_log = cw_on_log;
    fc.on_reorg = cw_on_reorg;
    fc.ctx = w;
    w->following = follow_init(&w->f, &w->rpc, &fc, e) == FOLLOW_OK;
    return w->following;
}

/* From the stored cursor (resumed), else from max(0, head - 1000). */
static bool cw_start(struct cw *w, struct err *e)
{
    struct follow_block cursor = {0};
    enum store_result sr =
        store_cursor_get(&cursor.number, cursor.hash, w->pc, CW_CURSOR_NAME, w->g->cfg.chain_id, e);
    if (sr != STORE_OK && sr != STORE_ERR_NOT_FOUND) {
        respool_pg_failed(w->slot, (enum pg_code)e->code);
        return false;
    }
    uint64_t start = cursor.number, head = 0;
    if (sr == STORE_ERR_NOT_FOUND) {
        if (rpc_block_number(&w->rpc, &head, e) != RPC_OK)
            return false;
        start = head > CW_START_BACK_BLOCKS ? head - CW_START_BACK_BLOCKS : 0;
    }
    if (!cw_follow_init(w, start, e))
        return false;
    if (sr == STORE_OK && follow_resume(&w->f, &cursor, 1, e) != FOLLOW_OK) {
        w->following = false;
        return false;
    }
    w->resumed = sr == STORE_OK;
    w->saved = cursor;
    w->saved_set = sr == STORE_OK;
    w->phase = CW_FOLLOW;
    log_write(&w->g->log, LOG_INFO, "chain follower started",
              LOG_KVS(log_u64("from_block", w->resumed ? start + 1 : start),
                      log_bool("resumed", w->resumed), log_u64("addresses", w->addresses_len)));
    return true;
}

/* Metrics of one poll: head and followed block gauges, reorgs. A refused
 * callback is reported to the pool and named in e. */
static void cw_poll_done(struct cw *w, const struct follow_poll_report *rep, enum follow_result r,
                         struct err *e)
{
    struct follow_block cursor;
    if (rep->head > 0 && w->g->m.chain_head != NULL)
        http_metric_set(w->g->m.chain_head, (int64_t)rep->head);
    if (follow_cursor(&w->f, &cursor) && w->g->m.chain_block != NULL)
        http_metric_set(w->g->m.chain_block, (int64_t)cursor.number);
    if (rep->reorgs > 0 && w->g->m.chain_reorgs != NULL)
        http_metric_add(w->g->m.chain_reorgs, rep->reorgs);
    if (r == FOLLOW_ERR_CALLBACK) {
        struct err cause = w->cb_err;
        respool_pg_failed(w->slot, (enum pg_code)w->cb_pg_code);
        err_set(e, FOLLOW_ERR_CALLBACK, "database: %s", cause.msg);
    }
}

/* The cursor block was replaced while the gateway was stopped: in one
 * transaction, forget the tips of the last CW_WINDOW blocks and walk them
 * again (so tippers keep their access throughout). On failure nothing
 * changed and the next cycle starts over from the stored cursor. */
static bool cw_rewind(struct cw *w, struct err *e)
{
    struct follow_block cursor;
    struct follow_poll_report rep;
    bool resumed = follow_cursor(&w->f, &cursor);
    ASSERT(resumed);
    uint64_t from = cursor.number >= CW_WINDOW - 1 ? cursor.number - (CW_WINDOW - 1) : 0;
    log_write(&w->g->log, LOG_WARN, "the stored cursor block was reorged away: walking again",
              LOG_KVS(log_u64("cursor", cursor.number), log_u64("from_block", from)));
    enum follow_result r = FOLLOW_ERR_BAD_INPUT;
    bool ok = pg_exec(w->pc, NULL, "BEGIN", NULL, 0, e) == PG_OK &&
              store_tips_forget_from(w->pc, w->g->cfg.chain_id, from, e) == STORE_OK &&
              cw_follow_init(w, from, e);
    if (ok) {
        r = follow_poll(&w->f, &rep, e);
        cw_poll_done(w, &rep, r, e);
        ok = r == FOLLOW_OK && follow_next_block(&w->f) > cursor.number;
        if (r == FOLLOW_OK && !ok)
            err_set(e, FOLLOW_ERR_BAD_INPUT, "walking again stopped before block %llu",
                    (unsigned long long)cursor.number);
    }
    ok = ok && pg_exec(w->pc, NULL, "COMMIT", NULL, 0, e) == PG_OK;
    if (!ok) {
        if (w->pc != NULL && pg_exec(w->pc, NULL, "ROLLBACK", NULL, 0, NULL) != PG_OK)
            respool_pg_failed(w->slot, PG_ERR_CONNECTION);
        w->following = false; /* start over: read the cursor, resume, rewind */
        return false;
    }
    owncache_clear(&w->g->owners);
    if (w->g->m.chain_reorgs != NULL)
        http_metric_add(w->g->m.chain_reorgs, 1);
    w->resumed = false;
    w->saved_set = false;
    return true;
}

static void cw_halt(struct cw *w, const char *why_msg, const struct err *why)
{
    w->phase = CW_HALTED;
    __atomic_store_n(&w->g->chain_halted, 1, __ATOMIC_RELEASE);
    __atomic_store_n(&w->g->chain_ok, 0, __ATOMIC_RELEASE);
    owncache_clear(&w->g->owners);
    w->halted_logged_ms = clock_now_ms();
    log_write(
        &w->g->log, LOG_ERROR, why_msg,
        LOG_KVS(log_str("error", why->msg),
                log_str("action", "operator: check the node, delete orphaned tips, restart")));
}

static bool cw_poll(struct cw *w, struct err *e)
{
    struct follow_poll_report rep;
    memset(&w->cb_err, 0, sizeof w->cb_err);
    w->cb_pg_code = PG_OK;
    enum follow_result r = follow_poll(&w->f, &rep, e);
    cw_poll_done(w, &rep, r, e);
    if (r == FOLLOW_OK)
        w->resumed = false;
    if (r == FOLLOW_ERR_DEEP_REORG && w->resumed)
        return cw_rewind(w, e);
    if (r == FOLLOW_ERR_DEEP_REORG) {
        if (w->g->m.chain_reorgs != NULL)
            http_metric_add(w->g->m.chain_reorgs, 1);
        cw_halt(w, "CHAIN REORG DEEPER THAN THE FOLLOWER WINDOW: following halted", e);
    }
    return r == FOLLOW_OK;
}

/* Writes the follower's cursor when it moved. */
static bool cw_save_cursor(struct cw *w, struct err *e)
{
    struct follow_block c;
    if (!follow_cursor(&w->f, &c) ||
        (w->saved_set && c.number == w->saved.number && memcmp(c.hash, w->saved.hash, 32) == 0))
        return true;
    if (store_cursor_set(w->pc, CW_CURSOR_NAME, w->g->cfg.chain_id, c.number, c.hash, e) !=
        STORE_OK) {
        respool_pg_failed(w->slot, (enum pg_code)e->code);
        return false;
    }
    w->saved = c;
    w->saved_set = true;
    return true;
}

static bool cw_cycle(struct cw *w, uint64_t now_ms, struct err *e)
{
    bool ok = cw_slot_take(w, e);
    if (ok && w->phase == CW_VERIFY)
        ok = cw_verify_chain(w, e);
    if (ok && (w->phase == CW_START || now_ms - w->addresses_at_ms >= CW_ADDRESSES_REFRESH_MS))
        ok = cw_refresh_addresses(w, now_ms, e);
    if (ok && w->phase == CW_START)
        ok = cw_start(w, e);
    if (ok && w->phase == CW_FOLLOW)
        ok = cw_poll(w, e);
    if (ok && w->phase == CW_FOLLOW)
        ok = cw_save_cursor(w, e);
    cw_slot_give(w);
    if (!ok && w->phase == CW_FOLLOW)
        w->phase = CW_VERIFY; /* the node may have changed: check its chain id first */
    return ok;
}

/* chain_ok, chain_errors, and a log line when the state changes (a halt
 * logged its own error). */
static void cw_report(struct cw *w, bool ok, const struct err *why)
{
    struct gw *g = w->g;
    __atomic_store_n(&g->chain_ok, ok ? 1 : 0, __ATOMIC_RELEASE);
    __atomic_store_n(&g->chain_polled, 1, __ATOMIC_RELEASE);
    if (!ok && g->m.chain_errors != NULL)
        http_metric_add(g->m.chain_errors, 1);
    if (!ok && !w->failing && w->phase != CW_HALTED) {
        log_write(&g->log, LOG_WARN, "chain follower failing (retrying every poll)",
                  LOG_KVS(log_str("error", why->msg)));
    } else if (ok && w->failing) {
        log_write(&g->log, LOG_INFO, "chain follower recovered", NULL, 0);
    }
    w->failing = !ok;
}

void *gw_chainwatch_main(void *arg)
{
    struct gw_server *s = arg;
    struct cw *w = calloc(1, sizeof *w);
    if (w == NULL) {
        log_write(&s->g.log, LOG_ERROR, "chain follower: out of memory", NULL, 0);
        return NULL;
    }
    w->g = &s->g;
    w->phase = CW_VERIFY;
    abi_event_topic(w->topic_transfer, CW_TRANSFER_SIG);
    abi_event_topic(w->topic_tipped, CW_TIPPED_SIG);
    while (!cw_stopping(s)) {
        uint64_t start_ms = clock_now_ms();
        struct err e = {0};
        if (w->phase != CW_HALTED) {
            cw_report(w, cw_cycle(w, start_ms, &e), &e);
        } else if (start_ms - w->halted_logged_ms >= CW_HALT_REMIND_MS) {
            w->halted_logged_ms = start_ms;
            log_write(&w->g->log, LOG_ERROR, "chain follower still halted", NULL, 0);
        }
        cw_sleep_until(s, start_ms + CW_POLL_MS);
    }
    if (w->rpc_ready)
        rpc_client_release(&w->rpc);
    free(w);
    return NULL;
}
