/*
 * access.h - the gateway's access policy. A viewer may watch a stream when
 * any of these holds (docs/architecture.md "Gateway"):
 *   - they are the stream's creator (the creator's owner address);
 *   - their tips to this stream (Tipped logs, table tips) total at least the
 *     stream's tip_min_wei, when the stream has one;
 *   - they hold at least min_balance of one of the stream's pass contracts
 *     (ERC-721 balanceOf, answered from the ownership cache when fresh).
 * The cheap local rules are tried first; the chain is asked only for pass
 * balances the cache does not know fresh.
 *
 * Chain outages: a stale cached balance is used when the RPC fails (cached
 * decisions keep working); when a needed balance was never cached and the
 * RPC fails, and no other rule allows, the answer is ACCESS_ERR_CHAIN_DOWN
 * (the HTTP layer answers 503 with Retry-After), never "allowed".
 *
 * Threads: access_decide() is thread-safe given per-thread session and RPC
 * client; the cache is shared (owncache.h).
 */
#ifndef GATEWAY_ACCESS_H
#define GATEWAY_ACCESS_H

#include <stdbool.h>
#include <stdint.h>

#include "address.h"
#include "check.h"
#include "err.h"
#include "owncache.h"
#include "pg.h"
#include "rpc.h"
#include "store.h"
#include "u256.h"

enum access_via {
    ACCESS_DENIED = 0,
    ACCESS_VIA_PASS = 1,
    ACCESS_VIA_TIP = 2,
    ACCESS_VIA_OWNER = 3
};

/* Stable result codes; numbers are never reused. */
enum access_result {
    ACCESS_OK = 0,             /* out->via says the answer */
    ACCESS_ERR_CHAIN_DOWN = 1, /* a balance was needed and the chain did not answer */
    ACCESS_ERR_DB = 2          /* the tips query failed (e has PostgreSQL's message) */
};

struct access_decision {
    enum access_via via;
    struct u256 tipped_wei; /* the viewer's tips to this stream */
    bool used_stale;        /* a stale cached balance decided (RPC down) */
    uint32_t rpc_calls;     /* balanceOf calls made (0 when the cache answered) */
};

/* Decides for `viewer` on stream `s`; only tips on chain `chain_id` count
 * (a database that once followed another chain keeps that chain's rows).
 * `rpc` may be NULL (no chain: only
 * cached balances count). On ACCESS_ERR_DB the session may be broken: the
 * caller reports it to its pool (respool_pg_failed). */
WUR enum access_result access_decide(struct access_decision *out, struct owncache *cache,
                                     struct pg_session *pc, struct rpc_client *rpc,
                                     uint64_t chain_id, const struct store_stream *s,
                                     const struct address *viewer, uint64_t now_ms, struct err *e);

/* "pass", "tip", "owner" or "denied": the API's `via` words. */
const char *access_via_name(enum access_via via);

/* balanceOf(holder) of an ERC-721 contract through eth_call at "latest". */
WUR enum rpc_result access_balance_of(struct u256 *out, struct rpc_client *rpc,
                                      const struct address *contract, const struct address *holder,
                                      struct err *e);

#endif
