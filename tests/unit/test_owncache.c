/* test_owncache.c - the pass ownership cache: fresh, stale and missing
 * answers, invalidation by a Transfer, the generation rule that keeps a
 * balance fetched before an invalidation out of the cache, eviction when a
 * neighbourhood is full, clearing on a reorg, limits, and concurrent use. */
#include <pthread.h>
#include <string.h>

#include "harness.h"
#include "owncache.h"

static struct address addr_of(uint8_t tag, uint32_t n)
{
    struct address a;
    memset(a.bytes, tag, sizeof a.bytes);
    memcpy(a.bytes, &n, sizeof n);
    return a;
}

static void test_limits(void)
{
    struct owncache c;
    struct err e = {0};
    CHECK(!owncache_init(&c, OWNCACHE_CAPACITY_MIN - 1, 1000, &e));
    CHECK(!owncache_init(&c, (size_t)OWNCACHE_CAPACITY_MAX + 1, 1000, &e));
    CHECK(owncache_init(&c, 100, 1000, &e));
    CHECK_INT(c.capacity, 128); /* rounded up to a power of two */
    owncache_release(&c);
}

static void test_fresh_stale_miss(void)
{
    struct owncache c;
    CHECK(owncache_init(&c, 64, 1000, NULL));
    struct address pass = addr_of(0xaa, 1), fan = addr_of(0xbb, 2), other = addr_of(0xbb, 3);
    struct u256 got = u256_from_u64(99), two = u256_from_u64(2);
    CHECK_INT(owncache_get(&got, &c, &pass, &fan, 5000), OWNCACHE_MISS);
    CHECK(owncache_put(&c, &pass, &fan, &two, 5000, owncache_generation(&c)));
    CHECK_INT(owncache_get(&got, &c, &pass, &fan, 5000), OWNCACHE_FRESH);
    CHECK(u256_cmp(&got, &two) == 0);
    CHECK_INT(owncache_get(&got, &c, &pass, &fan, 6000), OWNCACHE_FRESH); /* ttl inclusive */
    CHECK_INT(owncache_get(&got, &c, &pass, &fan, 6001), OWNCACHE_STALE);
    CHECK(u256_cmp(&got, &two) == 0); /* the last known answer */
    CHECK_INT(owncache_get(&got, &c, &pass, &other, 5000), OWNCACHE_MISS);
    CHECK_INT(owncache_get(&got, &c, &fan, &pass, 5000), OWNCACHE_MISS); /* key order matters */
    struct owncache_stats st;
    owncache_stats(&st, &c);
    CHECK_INT(st.hits, 2);
    CHECK_INT(st.stale, 1);
    CHECK_INT(st.misses, 3);
    CHECK_INT(st.entries, 1);
    owncache_release(&c);
}

/* A Transfer names the holder: the answer is gone at once; a balance read
 * before that invalidation is not stored afterwards. */
static void test_invalidation_and_generation(void)
{
    struct owncache c;
    CHECK(owncache_init(&c, 64, 60000, NULL));
    struct address pass = addr_of(0xaa, 1), fan = addr_of(0xbb, 2);
    struct u256 one = u256_from_u64(1), zero = u256_zero(), got;
    CHECK(owncache_put(&c, &pass, &fan, &one, 10, owncache_generation(&c)));
    uint64_t before = owncache_generation(&c); /* a fetch starts */
    owncache_invalidate(&c, &pass, &fan);      /* the fan sells the pass */
    CHECK_INT(owncache_get(&got, &c, &pass, &fan, 11), OWNCACHE_MISS);
    CHECK(!owncache_put(&c, &pass, &fan, &one, 12, before)); /* the old answer */
    CHECK_INT(owncache_get(&got, &c, &pass, &fan, 13), OWNCACHE_MISS);
    CHECK(owncache_put(&c, &pass, &fan, &zero, 14, owncache_generation(&c)));
    CHECK_INT(owncache_get(&got, &c, &pass, &fan, 15), OWNCACHE_FRESH);
    CHECK(u256_is_zero(&got));
    owncache_clear(&c);
    CHECK_INT(owncache_get(&got, &c, &pass, &fan, 16), OWNCACHE_MISS);
    owncache_release(&c);
}

/* More keys than slots: every put is stored (the oldest neighbour goes),
 * lookups never return another key's balance. */
static void test_eviction_never_mixes_keys(void)
{
    struct owncache c;
    CHECK(owncache_init(&c, 16, 60000, NULL));
    struct address pass = addr_of(0xaa, 1);
    for (uint32_t i = 0; i < 200; i++) {
        struct address fan = addr_of(0xcc, i);
        struct u256 v = u256_from_u64(i);
        CHECK(owncache_put(&c, &pass, &fan, &v, 100 + i, owncache_generation(&c)));
    }
    size_t found = 0;
    for (uint32_t i = 0; i < 200; i++) {
        struct address fan = addr_of(0xcc, i);
        struct u256 got, want = u256_from_u64(i);
        if (owncache_get(&got, &c, &pass, &fan, 400) != OWNCACHE_MISS) {
            found++;
            CHECK(u256_cmp(&got, &want) == 0);
        }
    }
    struct owncache_stats st;
    owncache_stats(&st, &c);
    CHECK(found <= 16 && found == st.entries && st.evictions >= 184);
    owncache_release(&c);
}

static struct owncache shared;

static void *hammer(void *arg)
{
    uint32_t base = *(const uint32_t *)arg;
    struct address pass = addr_of(0xaa, 7);
    for (uint32_t i = 0; i < 20000; i++) {
        struct address fan = addr_of(0xdd, base + i % 64);
        struct u256 v = u256_from_u64(base + i % 64), got;
        if (owncache_get(&got, &shared, &pass, &fan, i) != OWNCACHE_MISS && u256_cmp(&got, &v) != 0)
            return (void *)1;
        if (i % 3 == 0)
            owncache_invalidate(&shared, &pass, &fan);
        else
            (void)owncache_put(&shared, &pass, &fan, &v, i, owncache_generation(&shared));
    }
    return NULL;
}

/* Four threads on overlapping keys: no torn entries (run under ASan/UBSan). */
static void test_concurrent_use(void)
{
    CHECK(owncache_init(&shared, 1024, 1000000, NULL));
    pthread_t t[4];
    uint32_t bases[4] = {0, 32, 0, 32};
    for (size_t i = 0; i < 4; i++)
        CHECK(pthread_create(&t[i], NULL, hammer, &bases[i]) == 0);
    for (size_t i = 0; i < 4; i++) {
        void *bad = NULL;
        CHECK(pthread_join(t[i], &bad) == 0);
        CHECK(bad == NULL);
    }
    owncache_release(&shared);
}

int main(void)
{
    RUN(test_limits);
    RUN(test_fresh_stale_miss);
    RUN(test_invalidation_and_generation);
    RUN(test_eviction_never_mixes_keys);
    RUN(test_concurrent_use);
    return harness_finish();
}
