/* owncache.c - see owncache.h. Open addressing over a power-of-two table:
 * a key lives within OWNCACHE_PROBES slots of its hash. */
#include "owncache.h"

#include <stdlib.h>
#include <string.h>

#include "keccak.h"

static size_t owncache_home(const struct owncache *c, const struct address *contract,
                            const struct address *holder);
static bool owncache_same(const struct owncache_entry *en, const struct address *contract,
                          const struct address *holder);
static struct owncache_entry *owncache_find(struct owncache *c, const struct address *contract,
                                            const struct address *holder);

/* The keys are addresses chosen by the public (holders), so the slot comes
 * from a hash they cannot aim: keccak of both, not the raw bytes. */
static size_t owncache_home(const struct owncache *c, const struct address *contract,
                            const struct address *holder)
{
    uint8_t both[2 * ADDRESS_BYTES], h[32];
    memcpy(both, contract->bytes, ADDRESS_BYTES);
    memcpy(both + ADDRESS_BYTES, holder->bytes, ADDRESS_BYTES);
    keccak256(h, both, sizeof both);
    uint64_t v = 0;
    for (size_t i = 0; i < 8; i++)
        v = v << 8 | h[i];
    return (size_t)(v & (c->capacity - 1));
}

static bool owncache_same(const struct owncache_entry *en, const struct address *contract,
                          const struct address *holder)
{
    return en->used && address_eq(&en->contract, contract) && address_eq(&en->holder, holder);
}

/* The entry for the key, or NULL. Caller holds the mutex. */
static struct owncache_entry *owncache_find(struct owncache *c, const struct address *contract,
                                            const struct address *holder)
{
    size_t home = owncache_home(c, contract, holder);
    for (size_t i = 0; i < OWNCACHE_PROBES; i++) {
        struct owncache_entry *en = &c->table[(home + i) & (c->capacity - 1)];
        if (owncache_same(en, contract, holder))
            return en;
    }
    return NULL;
}

bool owncache_init(struct owncache *c, size_t capacity, uint64_t ttl_ms, struct err *e)
{
    memset(c, 0, sizeof *c);
    if (capacity < OWNCACHE_CAPACITY_MIN || capacity > OWNCACHE_CAPACITY_MAX)
        return !err_set(e, 1, "ownership cache capacity %zu outside %u..%u", capacity,
                        OWNCACHE_CAPACITY_MIN, OWNCACHE_CAPACITY_MAX);
    size_t cap = OWNCACHE_CAPACITY_MIN;
    while (cap < capacity)
        cap <<= 1;
    c->table = calloc(cap, sizeof *c->table);
    if (c->table == NULL)
        return !err_set(e, 1, "out of memory for %zu cache entries", cap);
    c->capacity = cap;
    c->ttl_ms = ttl_ms;
    ASSERT(pthread_mutex_init(&c->mu, NULL) == 0);
    return true;
}

void owncache_release(struct owncache *c)
{
    if (c->table != NULL) {
        free(c->table);
        pthread_mutex_destroy(&c->mu);
    }
    c->table = NULL;
    c->capacity = 0;
}

enum owncache_lookup owncache_get(struct u256 *balance_out, struct owncache *c,
                                  const struct address *contract, const struct address *holder,
                                  uint64_t now_ms)
{
    enum owncache_lookup r = OWNCACHE_MISS;
    ASSERT(pthread_mutex_lock(&c->mu) == 0);
    struct owncache_entry *en = owncache_find(c, contract, holder);
    if (en != NULL) {
        *balance_out = en->balance;
        r = now_ms - en->fetched_ms <= c->ttl_ms ? OWNCACHE_FRESH : OWNCACHE_STALE;
    }
    if (r == OWNCACHE_FRESH)
        c->hits++;
    else if (r == OWNCACHE_STALE)
        c->stale++;
    else
        c->misses++;
    ASSERT(pthread_mutex_unlock(&c->mu) == 0);
    return r;
}

uint64_t owncache_generation(struct owncache *c)
{
    ASSERT(pthread_mutex_lock(&c->mu) == 0);
    uint64_t g = c->generation;
    ASSERT(pthread_mutex_unlock(&c->mu) == 0);
    return g;
}

bool owncache_put(struct owncache *c, const struct address *contract, const struct address *holder,
                  const struct u256 *balance, uint64_t now_ms, uint64_t generation)
{
    bool stored = false;
    ASSERT(pthread_mutex_lock(&c->mu) == 0);
    if (generation == c->generation) {
        struct owncache_entry *en = owncache_find(c, contract, holder), *oldest = NULL;
        size_t home = owncache_home(c, contract, holder);
        for (size_t i = 0; en == NULL && i < OWNCACHE_PROBES; i++) {
            struct owncache_entry *slot = &c->table[(home + i) & (c->capacity - 1)];
            if (!slot->used)
                en = slot;
            else if (oldest == NULL || slot->fetched_ms < oldest->fetched_ms)
                oldest = slot;
        }
        if (en == NULL) {
            en = oldest;
            c->evictions++;
        }
        en->contract = *contract;
        en->holder = *holder;
        en->balance = *balance;
        en->fetched_ms = now_ms;
        en->used = true;
        stored = true;
    }
    ASSERT(pthread_mutex_unlock(&c->mu) == 0);
    return stored;
}

void owncache_invalidate(struct owncache *c, const struct address *contract,
                         const struct address *holder)
{
    ASSERT(pthread_mutex_lock(&c->mu) == 0);
    struct owncache_entry *en = owncache_find(c, contract, holder);
    if (en != NULL)
        en->used = false;
    c->generation++;
    c->invalidations++;
    ASSERT(pthread_mutex_unlock(&c->mu) == 0);
}

void owncache_clear(struct owncache *c)
{
    ASSERT(pthread_mutex_lock(&c->mu) == 0);
    memset(c->table, 0, c->capacity * sizeof *c->table);
    c->generation++;
    c->invalidations++;
    ASSERT(pthread_mutex_unlock(&c->mu) == 0);
}

void owncache_stats(struct owncache_stats *out, struct owncache *c)
{
    ASSERT(pthread_mutex_lock(&c->mu) == 0);
    out->hits = c->hits;
    out->misses = c->misses;
    out->stale = c->stale;
    out->invalidations = c->invalidations;
    out->evictions = c->evictions;
    out->entries = 0;
    for (size_t i = 0; i < c->capacity; i++)
        out->entries += c->table[i].used ? 1u : 0u;
    ASSERT(pthread_mutex_unlock(&c->mu) == 0);
}
