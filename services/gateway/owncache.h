/*
 * owncache.h - the gateway's cache of pass ownership answers: for a pass
 * contract and a holder, the balanceOf() the chain gave, so that the chain
 * is off the hot path of playlist fetches.
 *
 * Freshness: an entry is fresh for ttl_ms after it was fetched, and the
 * chain follower removes it as soon as a Transfer log of that contract names
 * the holder (from or to), so a sold pass stops counting within one block.
 * A stale entry is still returned (OWNCACHE_STALE) so that a caller whose
 * RPC is down can keep serving the last known answer; a caller with a
 * working RPC refreshes it.
 *
 * Races: a balance fetched while a Transfer is being processed must not be
 * cached after the invalidation. owncache_generation() is read before the
 * fetch and passed to owncache_put(), which drops the value if any
 * invalidation happened in between (a global counter: rarely pessimistic,
 * never stale).
 *
 * Threads: every function is thread-safe (one mutex; the critical sections
 * are a few probes). Ownership: caller-allocated struct, owncache_init() /
 * owncache_release(); the table is heap-allocated once.
 *
 * Limits: capacity OWNCACHE_CAPACITY_MIN..OWNCACHE_CAPACITY_MAX entries
 * (rounded up to a power of two); a full neighbourhood evicts its oldest
 * entry. Probes per operation OWNCACHE_PROBES.
 */
#ifndef GATEWAY_OWNCACHE_H
#define GATEWAY_OWNCACHE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "address.h"
#include "check.h"
#include "err.h"
#include "u256.h"

#define OWNCACHE_CAPACITY_MIN 16u
#define OWNCACHE_CAPACITY_MAX (1u << 22)
#define OWNCACHE_PROBES 8u

enum owncache_lookup {
    OWNCACHE_MISS = 0,  /* never fetched, or invalidated */
    OWNCACHE_FRESH = 1, /* within ttl_ms of its fetch */
    OWNCACHE_STALE = 2  /* older: refresh when the chain answers */
};

struct owncache_entry {
    struct address contract;
    struct address holder;
    struct u256 balance;
    uint64_t fetched_ms;
    bool used;
};

struct owncache {
    pthread_mutex_t mu;
    struct owncache_entry *table;
    size_t capacity; /* power of two */
    uint64_t ttl_ms;
    uint64_t generation; /* bumped by every invalidation */
    uint64_t hits, misses, stale, invalidations, evictions;
};

/* Allocates the table. false (e says why) on a bad capacity or no memory. */
WUR bool owncache_init(struct owncache *c, size_t capacity, uint64_t ttl_ms, struct err *e);

void owncache_release(struct owncache *c);

WUR enum owncache_lookup owncache_get(struct u256 *balance_out, struct owncache *c,
                                      const struct address *contract, const struct address *holder,
                                      uint64_t now_ms);

/* The invalidation generation, to read before fetching a balance. */
uint64_t owncache_generation(struct owncache *c);

/* Stores a fetched balance unless an invalidation happened since
 * `generation` was read; returns whether it was stored. */
bool owncache_put(struct owncache *c, const struct address *contract, const struct address *holder,
                  const struct u256 *balance, uint64_t now_ms, uint64_t generation);

/* Forgets (contract, holder): a Transfer log named the holder. */
void owncache_invalidate(struct owncache *c, const struct address *contract,
                         const struct address *holder);

/* Forgets everything (a chain reorg). */
void owncache_clear(struct owncache *c);

/* Counters for /metrics. */
struct owncache_stats {
    uint64_t hits, misses, stale, invalidations, evictions;
    size_t entries;
};
void owncache_stats(struct owncache_stats *out, struct owncache *c);

#endif
