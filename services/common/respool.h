/*
 * respool.h - a fixed pool of per-request resources for a service's HTTP
 * handler threads. Neither a PostgreSQL session nor a JSON-RPC client is
 * thread-safe, so each slot holds one of each and is lent to one thread at a
 * time: a handler acquires a slot, uses it, and releases it.
 *
 * Connections are made lazily and remade after a failure: respool_pg()
 * reconnects a session that libpq reports broken (a PostgreSQL restart), so
 * a restart costs the requests in flight at that moment and nothing after.
 * A caller that got PG_ERR_CONNECTION from a query reports it with
 * respool_pg_failed(), so the next user of the slot reconnects first.
 *
 * Ownership: `struct respool` is caller-allocated (it is large: keep it in
 * static or heap storage); respool_init() copies the URLs; respool_free()
 * closes every connection and must not race with users. A slot pointer is
 * valid from respool_acquire() until respool_release().
 *
 * Limits: RESPOOL_SLOTS_MAX slots, acquisition wait at most
 * RESPOOL_WAIT_MS_MAX, PostgreSQL connect timeout RESPOOL_PG_CONNECT_TIMEOUT_S.
 */
#ifndef COMMON_RESPOOL_H
#define COMMON_RESPOOL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "check.h"
#include "config.h"
#include "err.h"
#include "pg.h"
#include "rpc.h"

#define RESPOOL_SLOTS_MAX 64
#define RESPOOL_WAIT_MS_MAX 60000u
#define RESPOOL_PG_CONNECT_TIMEOUT_S 3u

/* Stable result codes; numbers are never reused. */
enum respool_result {
    RESPOOL_OK = 0,
    RESPOOL_ERR_BAD_INPUT = 1, /* size or wait out of range, URL too long */
    RESPOOL_ERR_BUSY = 2,      /* no slot became free within the wait */
    RESPOOL_ERR_PG = 3,        /* could not (re)connect to PostgreSQL */
    RESPOOL_ERR_RPC = 4        /* could not set up the JSON-RPC client */
};

struct respool_slot {
    struct pg_session pg; /* pg.conn NULL until first used */
    bool pg_broken;       /* set by respool_pg_failed(): reconnect first */
    struct rpc_client rpc;
    bool rpc_ready;
};

struct respool {
    pthread_mutex_t mu;
    pthread_cond_t freed;
    size_t size;
    bool busy[RESPOOL_SLOTS_MAX];
    struct respool_slot slots[RESPOOL_SLOTS_MAX];
    char database_url[CONFIG_DATABASE_URL_BYTES_MAX + 1];
    char rpc_url[CONFIG_URL_BYTES_MAX + 1];
    uint32_t rpc_timeout_ms; /* per JSON-RPC request, for every slot's client */
};

/* Prepares `size` (1..RESPOOL_SLOTS_MAX) empty slots. rpc_url may be NULL
 * for a pool without JSON-RPC. rpc_timeout_ms 0 keeps rpc.h's default.
 * Connects nothing. */
WUR enum respool_result respool_init(struct respool *p, size_t size, const char *database_url,
                                     const char *rpc_url, uint32_t rpc_timeout_ms, struct err *e);

/* Waits up to wait_ms (<= RESPOOL_WAIT_MS_MAX) for a free slot. */
WUR enum respool_result respool_acquire(struct respool_slot **out, struct respool *p,
                                        uint32_t wait_ms, struct err *e);

void respool_release(struct respool *p, struct respool_slot *s);

/* The slot's PostgreSQL session, connected (again) if it is not. */
WUR enum respool_result respool_pg(struct pg_session **out, struct respool_slot *s,
                                   const struct respool *p, struct err *e);

/* The slot's JSON-RPC client, created on first use. RESPOOL_ERR_BAD_INPUT
 * when the pool has no RPC URL. */
WUR enum respool_result respool_rpc(struct rpc_client **out, struct respool_slot *s,
                                    const struct respool *p, struct err *e);

/* Records a query failure: PG_ERR_CONNECTION makes the next respool_pg()
 * reconnect. Other codes change nothing. */
void respool_pg_failed(struct respool_slot *s, enum pg_code code);

/* Closes every connection. */
void respool_free(struct respool *p);

#endif
