/*
 * test_split.c - the royalty split engine against two reference models,
 * fixed examples, and every validation error with its exact code.
 *
 * Model 1 (small totals): unsigned __int128, part = total * bps / 10000
 * computed directly (no divmod trick), the remainder owner picked by comparing
 * the payees' lowercase hex text with strcmp().
 * Model 2 (any u256): 32-bit-digit schoolbook arithmetic written here
 * (amount * bps in 288 bits, then long division by 10000), no u256 calls.
 * Exhaustive: every total 0..EXHAUSTIVE_TOTAL_MAX for each bps vector in
 * split_vectors[] (1- to 5-way, with ties) in its listed order, and every
 * permutation of payee order for totals 0..PERMUTED_TOTAL_MAX. Random: amounts
 * near 2^256 with random 1..100-way splits (seeded; TEST_SEED replays).
 */
#include <stdint.h>
#include <stdlib.h>

#include "harness.h"
#include "split.h"

__extension__ typedef unsigned __int128 u128;

#define EXHAUSTIVE_TOTAL_MAX 50000
#define PERMUTED_TOTAL_MAX 1200
#define RANDOM_CASES 4000
#define VECTOR_SHARES_MAX 5
#define BIG_DIGITS 9 /* 32-bit digits: room for a 256-bit amount times 10000 */

static const char *const max_dec =
    "115792089237316195423570985008687907853269984665640564039457584007913129639935";

struct split_vector {
    size_t n;
    uint32_t bps[VECTOR_SHARES_MAX];
};

static const struct split_vector split_vectors[] = {
    {1, {10000}},
    {2, {5000, 5000}},
    {2, {1, 9999}},
    {2, {6667, 3333}},
    {3, {3333, 3333, 3334}},
    {3, {3334, 3333, 3333}},
    {3, {1, 1, 9998}},
    {3, {2500, 5000, 2500}},
    {4, {2500, 2500, 2500, 2500}},
    {4, {1, 2, 3, 9994}},
    {4, {2499, 2501, 2500, 2500}},
    {5, {3500, 2500, 1500, 1000, 1500}},
    {5, {2000, 2000, 2000, 2000, 2000}},
    {5, {1, 1, 1, 1, 9996}},
    {4, {3333, 3333, 3333, 1}},
    {5, {1999, 2001, 2000, 2000, 2000}},
    {5, {7, 11, 13, 17, 9952}},
};

/* Five payees whose bytewise order differs from their order here and from
 * any order by one byte alone: 2 < 1 < 0 differ only late, 3 is lowest. */
static struct address vector_payee(size_t i)
{
    static const uint8_t first[] = {0x80, 0x7f, 0x80, 0x00, 0xff};
    static const uint8_t fill[] = {0x00, 0xff, 0x00, 0x00, 0xff};
    static const uint8_t last[] = {0x02, 0xff, 0x01, 0x02, 0xff};
    struct address a;
    memset(a.bytes, fill[i], sizeof a.bytes);
    a.bytes[0] = first[i];
    a.bytes[ADDRESS_BYTES - 1] = last[i];
    return a;
}

/* ---- model 1: __int128 and hex text ----------------------------------------------------- */

static void ref_hex(char out[2 * ADDRESS_BYTES + 1], const struct address *a)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < ADDRESS_BYTES; i++) {
        out[2 * i] = digits[a->bytes[i] >> 4];
        out[2 * i + 1] = digits[a->bytes[i] & 15];
    }
    out[2 * ADDRESS_BYTES] = '\0';
}

/* Largest bps, then the smallest lowercase hex text. */
static size_t ref_winner(const struct split_share *shares, size_t n)
{
    size_t best = 0;
    char best_hex[2 * ADDRESS_BYTES + 1], hex[2 * ADDRESS_BYTES + 1];
    ref_hex(best_hex, &shares[0].payee);
    for (size_t i = 1; i < n; i++) {
        ref_hex(hex, &shares[i].payee);
        int c = strcmp(hex, best_hex);
        if (shares[i].share_bps < shares[best].share_bps ||
            (shares[i].share_bps == shares[best].share_bps && c > 0))
            continue;
        best = i;
        memcpy(best_hex, hex, sizeof hex);
    }
    return best;
}

/* The winner is model 1's ref_winner(), computed once per split by the caller. */
static void ref_small(u128 *parts, const struct split_share *shares, size_t n, size_t winner,
                      u128 total)
{
    u128 sum = 0;
    for (size_t i = 0; i < n; i++) {
        parts[i] = total * shares[i].share_bps / 10000;
        sum += parts[i];
    }
    parts[winner] += total - sum;
}

static bool u256_eq_u128(const struct u256 *a, u128 v)
{
    return a->limb[0] == (uint64_t)v && a->limb[1] == (uint64_t)(v >> 64) && a->limb[2] == 0 &&
           a->limb[3] == 0;
}

/* ---- model 2: 32-bit digits ------------------------------------------------------------- */

struct big {
    uint32_t d[BIG_DIGITS]; /* little-endian */
};

static struct big big_from(const struct u256 *a)
{
    struct big b = {{0}};
    for (size_t i = 0; i < 8; i++)
        b.d[i] = (uint32_t)(a->limb[i / 2] >> (32 * (i % 2)));
    return b;
}

static struct u256 big_to(const struct big *b)
{
    struct u256 a = u256_zero();
    for (size_t i = 0; i < 8; i++)
        a.limb[i / 2] |= (uint64_t)b->d[i] << (32 * (i % 2));
    return a;
}

/* floor(a * m / 10000) */
static struct big big_mul_div(const struct big *a, uint32_t m)
{
    struct big p = {{0}}, q = {{0}};
    uint64_t carry = 0;
    for (size_t i = 0; i < BIG_DIGITS; i++) {
        uint64_t t = (uint64_t)a->d[i] * m + carry;
        p.d[i] = (uint32_t)t;
        carry = t >> 32;
    }
    uint64_t rem = 0;
    for (size_t i = BIG_DIGITS; i-- > 0;) {
        uint64_t cur = (rem << 32) | p.d[i];
        q.d[i] = (uint32_t)(cur / 10000);
        rem = cur % 10000;
    }
    return q;
}

/* a += b (or a -= b when sub), over all digits, ignoring the final carry. */
static void big_add_sub(struct big *a, const struct big *b, bool sub)
{
    int64_t carry = 0;
    for (size_t i = 0; i < BIG_DIGITS; i++) {
        int64_t t = (int64_t)a->d[i] + (sub ? -(int64_t)b->d[i] : (int64_t)b->d[i]) + carry;
        a->d[i] = (uint32_t)((uint64_t)t & 0xffffffffu);
        carry = t < 0 ? -1 : (t >> 32);
    }
}

static void ref_big(struct u256 *parts, const struct split_share *shares, size_t n,
                    const struct u256 *amount)
{
    struct big a = big_from(amount), rest = a, p[SPLIT_PAYEES_MAX];
    for (size_t i = 0; i < n; i++) {
        p[i] = big_mul_div(&a, shares[i].share_bps);
        big_add_sub(&rest, &p[i], true);
    }
    size_t w = ref_winner(shares, n);
    big_add_sub(&p[w], &rest, false);
    for (size_t i = 0; i < n; i++)
        parts[i] = big_to(&p[i]);
}

/* ---- helpers ---------------------------------------------------------------------------- */

static void shares_from_vector(struct split_share *shares, const struct split_vector *v,
                               const size_t *order)
{
    for (size_t i = 0; i < v->n; i++) {
        shares[i].payee = vector_payee(order[i]);
        shares[i].share_bps = v->bps[order[i]];
    }
}

/* Lexicographic next permutation of idx[0..n); false after the last one. */
static bool next_perm(size_t *idx, size_t n)
{
    size_t i = n - 1;
    while (i > 0 && idx[i - 1] >= idx[i])
        i--;
    if (i == 0)
        return false;
    size_t j = n - 1;
    while (idx[j] <= idx[i - 1])
        j--;
    size_t t = idx[i - 1];
    idx[i - 1] = idx[j];
    idx[j] = t;
    for (size_t a = i, b = n - 1; a < b; a++, b--) {
        t = idx[a];
        idx[a] = idx[b];
        idx[b] = t;
    }
    return true;
}

/* Splits totals 0..total_max and compares with model 1; false at the first mismatch. */
static bool check_totals(const struct split_share *shares, size_t n, uint64_t total_max)
{
    struct u256 parts[SPLIT_PAYEES_MAX];
    u128 want[SPLIT_PAYEES_MAX];
    size_t winner = ref_winner(shares, n);
    for (uint64_t t = 0; t <= total_max; t++) {
        struct u256 amount = u256_from_u64(t);
        struct err e;
        if (split_compute(parts, shares, n, &amount, &e) != SPLIT_OK) {
            CHECK_MSG(false, "total %" PRIu64 ": %s", t, e.msg);
            return false;
        }
        ref_small(want, shares, n, winner, t);
        for (size_t i = 0; i < n; i++)
            if (!u256_eq_u128(&parts[i], want[i])) {
                CHECK_MSG(false, "total %" PRIu64 " n %zu share %zu: got %" PRIu64 " want %" PRIu64,
                          t, n, i, parts[i].limb[0], (uint64_t)want[i]);
                return false;
            }
    }
    return true;
}

/* Compares split_compute() with model 2 and the identities; false at a mismatch. */
static bool check_big(const struct split_share *shares, size_t n, const struct u256 *amount)
{
    struct u256 parts[SPLIT_PAYEES_MAX], want[SPLIT_PAYEES_MAX], sum = u256_zero();
    char dec[U256_DEC_SIZE];
    u256_to_dec(dec, amount);
    if (split_compute(parts, shares, n, amount, NULL) != SPLIT_OK) {
        CHECK_MSG(false, "amount %s n %zu: split failed", dec, n);
        return false;
    }
    ref_big(want, shares, n, amount);
    size_t w = ref_winner(shares, n);
    const struct u256 ten_k = u256_from_u64(10000);
    for (size_t i = 0; i < n; i++) {
        struct u256 bps = u256_from_u64(shares[i].share_bps), floor_part, extra;
        bool ok = u256_cmp(&parts[i], &want[i]) == 0 &&
                  u256_mul_div_floor(&floor_part, amount, &bps, &ten_k) == U256_OK &&
                  u256_sub(&extra, &parts[i], &floor_part) == U256_OK &&
                  (i == w ? extra.limb[0] < n && extra.limb[1] == 0 : u256_is_zero(&extra)) &&
                  u256_add(&sum, &sum, &parts[i]) == U256_OK;
        if (!ok) {
            CHECK_MSG(false, "amount %s n %zu share %zu (winner %zu) disagrees", dec, n, i, w);
            return false;
        }
    }
    CHECK_MSG(u256_cmp(&sum, amount) == 0, "amount %s: parts do not sum", dec);
    return u256_cmp(&sum, amount) == 0;
}

static struct u256 dec(const char *text)
{
    struct u256 v = u256_zero();
    CHECK(u256_from_dec(&v, text, strlen(text), NULL) == U256_OK);
    return v;
}

static size_t vector_count(void)
{
    return sizeof split_vectors / sizeof split_vectors[0];
}

static void vector_shares(struct split_share *shares, size_t k)
{
    size_t order[VECTOR_SHARES_MAX] = {0, 1, 2, 3, 4};
    shares_from_vector(shares, &split_vectors[k], order);
}

/* ---- tests ------------------------------------------------------------------------------ */

static void test_exhaustive_small_totals(void)
{
    for (size_t k = 0; k < vector_count(); k++) {
        struct split_share shares[VECTOR_SHARES_MAX];
        vector_shares(shares, k);
        if (!check_totals(shares, split_vectors[k].n, EXHAUSTIVE_TOTAL_MAX))
            return;
    }
}

static void test_exhaustive_permutations(void)
{
    size_t perms = 0;
    for (size_t k = 0; k < vector_count(); k++) {
        const struct split_vector *v = &split_vectors[k];
        size_t order[VECTOR_SHARES_MAX] = {0, 1, 2, 3, 4};
        do {
            struct split_share shares[VECTOR_SHARES_MAX];
            shares_from_vector(shares, v, order);
            if (!check_totals(shares, v->n, PERMUTED_TOTAL_MAX))
                return;
            perms++;
        } while (next_perm(order, v->n));
    }
    fprintf(stdout, "# %zu payee orders x totals 0..%d\n", perms, PERMUTED_TOTAL_MAX);
    CHECK(perms > 500);
}

/* The example: 35/25/15/10/15, with parts worked out by hand. */
static void test_example_35_25_15_10_15(void)
{
    struct split_share shares[5];
    vector_shares(shares, 11);
    struct u256 parts[5];
    struct u256 amount = u256_from_u64(10000000000000000ULL); /* 0.01 ETH */
    const uint64_t exact[5] = {3500000000000000ULL, 2500000000000000ULL, 1500000000000000ULL,
                               1000000000000000ULL, 1500000000000000ULL};
    CHECK_INT(split_compute(parts, shares, 5, &amount, NULL), SPLIT_OK);
    for (size_t i = 0; i < 5; i++)
        CHECK(u256_eq_u128(&parts[i], exact[i]));

    /* 1234567 = 123 * 10000 + 4567: floors 432098 308641 185185 123456 185185, remainder 2 */
    const uint64_t odd[5] = {432100, 308641, 185185, 123456, 185185};
    amount = u256_from_u64(1234567);
    CHECK_INT(split_compute(parts, shares, 5, &amount, NULL), SPLIT_OK);
    for (size_t i = 0; i < 5; i++)
        CHECK(u256_eq_u128(&parts[i], odd[i]));

    /* 2^256 - 1 (python: (2**256-1)*bps//10000, remainder 2 to the 35 %) */
    const char *const top[5] = {
        "40527231233060668398249844753040767748644494632974197413810154402769595373979",
        "28948022309329048855892746252171976963317496166410141009864396001978282409983",
        "17368813385597429313535647751303186177990497699846084605918637601186969445990",
        "11579208923731619542357098500868790785326998466564056403945758400791312963993",
        "17368813385597429313535647751303186177990497699846084605918637601186969445990"};
    amount = dec(max_dec);
    CHECK_INT(split_compute(parts, shares, 5, &amount, NULL), SPLIT_OK);
    for (size_t i = 0; i < 5; i++) {
        char got[U256_DEC_SIZE];
        u256_to_dec(got, &parts[i]);
        CHECK_STR(got, top[i]);
    }
}

static void test_one_wei(void)
{
    struct split_share shares[5];
    struct u256 parts[5], one = u256_from_u64(1);
    vector_shares(shares, 11); /* 35 % at index 0 takes it */
    CHECK_INT(split_compute(parts, shares, 5, &one, NULL), SPLIT_OK);
    for (size_t i = 0; i < 5; i++)
        CHECK_INT(parts[i].limb[0], i == 0 ? 1 : 0);
    /* 5 x 20 %: all tie, payee 3 (0x00...02) is the lowest address */
    vector_shares(shares, 12);
    CHECK_INT(split_compute(parts, shares, 5, &one, NULL), SPLIT_OK);
    for (size_t i = 0; i < 5; i++)
        CHECK_INT(parts[i].limb[0], i == 3 ? 1 : 0);
    /* 50/50 between 0x80..02 and 0x7fff..ff: the second wins though its last byte is larger */
    vector_shares(shares, 1);
    CHECK_INT(split_compute(parts, shares, 2, &one, NULL), SPLIT_OK);
    CHECK_INT(parts[0].limb[0], 0);
    CHECK_INT(parts[1].limb[0], 1);
    CHECK_INT(split_remainder_share(shares, 2), 1);
}

static void test_prime_totals(void)
{
    static const char *const primes[] = {
        "2", "3", "7", "9973", "10007", "1000003", "2305843009213693951" /* 2^61-1 */,
        "170141183460469231731687303715884105727" /* 2^127-1 */,
        "57896044618658097711785492504343953926634992332820282019728792003956564819949",
        /* 2^255-19 */
        "115792089237316195423570985008687907853269984665640564039457584007913129639747"
        /* 2^256-189, the largest 256-bit prime */};
    for (size_t p = 0; p < sizeof primes / sizeof primes[0]; p++) {
        struct u256 amount = dec(primes[p]);
        for (size_t k = 0; k < vector_count(); k++) {
            struct split_share shares[VECTOR_SHARES_MAX];
            vector_shares(shares, k);
            if (!check_big(shares, split_vectors[k].n, &amount))
                return;
        }
    }
}

static uint64_t rng;

/* Random distinct payees; often sharing a long common prefix so late bytes decide. */
static void random_payees(struct split_share *shares, size_t n)
{
    uint8_t prefix[ADDRESS_BYTES];
    for (size_t b = 0; b < ADDRESS_BYTES; b++)
        prefix[b] = (uint8_t)harness_rand(&rng);
    size_t common = (size_t)(harness_rand(&rng) % ADDRESS_BYTES); /* 0..19 shared bytes */
    for (size_t i = 0; i < n; i++) {
        bool dup = true;
        for (int tries = 0; dup && tries < 10000; tries++) {
            memcpy(shares[i].payee.bytes, prefix, common);
            for (size_t b = common; b < ADDRESS_BYTES; b++)
                shares[i].payee.bytes[b] = (uint8_t)harness_rand(&rng);
            dup = address_is_zero(&shares[i].payee);
            for (size_t j = 0; j < i && !dup; j++)
                dup = address_eq(&shares[j].payee, &shares[i].payee);
        }
        CHECK(!dup);
    }
}

/* Random bps, each >= 1, summing to 10000: equal (ties) or randomly lumped. */
static void random_bps(struct split_share *shares, size_t n)
{
    uint32_t left = 10000 - (uint32_t)n;
    bool equal = harness_rand(&rng) % 3 == 0;
    for (size_t i = 0; i < n; i++)
        shares[i].share_bps = 1 + (equal ? left / (uint32_t)n : 0);
    if (equal)
        left %= (uint32_t)n;
    for (int steps = 0; left > 0 && steps < 20000; steps++) {
        uint32_t chunk = 1 + (uint32_t)(harness_rand(&rng) % left);
        shares[harness_rand(&rng) % n].share_bps += chunk;
        left -= chunk;
    }
    CHECK_INT(left, 0);
}

static struct u256 random_amount_near_max(void)
{
    struct u256 a;
    for (size_t i = 0; i < 4; i++)
        a.limb[i] = harness_rand(&rng);
    switch (harness_rand(&rng) % 4) {
    case 0: /* 2^256 - 1 - small */
        a.limb[0] = UINT64_MAX - a.limb[0] % 100000;
        a.limb[1] = a.limb[2] = a.limb[3] = UINT64_MAX;
        break;
    case 1: /* 2^256 - 1 - a 64-bit value */
        a.limb[1] = a.limb[2] = a.limb[3] = UINT64_MAX;
        break;
    case 2: /* top limb all ones */
        a.limb[3] = UINT64_MAX;
        break;
    default: /* top bit set */
        a.limb[3] |= (uint64_t)1 << 63;
        break;
    }
    return a;
}

static void test_random_near_max(void)
{
    struct split_share shares[SPLIT_PAYEES_MAX];
    for (int c = 0; c < RANDOM_CASES; c++) {
        uint64_t pick = harness_rand(&rng) % 4;
        size_t n = pick == 0   ? 1 + (size_t)(harness_rand(&rng) % 5)
                   : pick == 1 ? SPLIT_PAYEES_MAX
                               : 1 + (size_t)(harness_rand(&rng) % SPLIT_PAYEES_MAX);
        random_payees(shares, n);
        random_bps(shares, n);
        struct u256 amount = random_amount_near_max();
        if (!check_big(shares, n, &amount))
            return;
    }
}

static void test_hundred_payees(void)
{
    struct split_share shares[SPLIT_PAYEES_MAX];
    for (size_t i = 0; i < SPLIT_PAYEES_MAX; i++) {
        memset(shares[i].payee.bytes, 0x11, ADDRESS_BYTES);
        shares[i].payee.bytes[ADDRESS_BYTES - 1] = (uint8_t)(200 - i); /* lowest is the last */
        shares[i].share_bps = 100;
    }
    struct u256 parts[SPLIT_PAYEES_MAX], amount = u256_from_u64(99); /* the largest remainder */
    CHECK_INT(split_compute(parts, shares, SPLIT_PAYEES_MAX, &amount, NULL), SPLIT_OK);
    for (size_t i = 0; i < SPLIT_PAYEES_MAX; i++)
        CHECK_INT(parts[i].limb[0], i == SPLIT_PAYEES_MAX - 1 ? 99 : 0);
    amount = u256_from_u64(199); /* 1 each, then 99 more to the last */
    CHECK_INT(split_compute(parts, shares, SPLIT_PAYEES_MAX, &amount, NULL), SPLIT_OK);
    for (size_t i = 0; i < SPLIT_PAYEES_MAX; i++)
        CHECK_INT(parts[i].limb[0], i == SPLIT_PAYEES_MAX - 1 ? 100 : 1);
    CHECK(check_totals(shares, SPLIT_PAYEES_MAX, 3000));
    amount = dec(max_dec);
    CHECK(check_big(shares, SPLIT_PAYEES_MAX, &amount));
    for (size_t i = 0; i < SPLIT_PAYEES_MAX; i++)
        shares[i].share_bps = i < 99 ? 1 : 9901;
    CHECK(check_totals(shares, SPLIT_PAYEES_MAX, 3000));
    CHECK(check_big(shares, SPLIT_PAYEES_MAX, &amount));
}

/* The order of the shares never changes who gets what. */
static void test_remainder_share_order_free(void)
{
    struct split_share shares[VECTOR_SHARES_MAX];
    for (size_t k = 0; k < vector_count(); k++) {
        size_t order[VECTOR_SHARES_MAX] = {0, 1, 2, 3, 4};
        vector_shares(shares, k);
        struct address want = shares[split_remainder_share(shares, split_vectors[k].n)].payee;
        while (next_perm(order, split_vectors[k].n)) {
            shares_from_vector(shares, &split_vectors[k], order);
            size_t w = split_remainder_share(shares, split_vectors[k].n);
            CHECK(address_eq(&shares[w].payee, &want));
            CHECK_INT(w, ref_winner(shares, split_vectors[k].n));
        }
    }
}

/* split_validate() and split_compute() both refuse with `code`, blaming share `bad`, with a
 * message containing `needle` (and `needle2` if not NULL), leaving the parts untouched. */
static void expect_invalid(const struct split_share *shares, size_t n, enum split_result code,
                           size_t bad, const char *needle, const char *needle2)
{
    struct err e;
    size_t bad_share = 12345;
    CHECK_INT(split_validate(&bad_share, shares, n, &e), code);
    CHECK_INT(e.code, code);
    CHECK_INT(bad_share, bad);
    CHECK_MSG(strstr(e.msg, needle) != NULL, "'%s' not in \"%s\"", needle, e.msg);
    if (needle2 != NULL)
        CHECK_MSG(strstr(e.msg, needle2) != NULL, "'%s' not in \"%s\"", needle2, e.msg);
    CHECK_INT(split_validate(NULL, shares, n, NULL), code);

    static struct u256 parts[SPLIT_PAYEES_MAX + 1], before[SPLIT_PAYEES_MAX + 1];
    memset(parts, 0xa5, sizeof parts);
    memcpy(before, parts, sizeof parts);
    struct u256 amount = u256_from_u64(1000000);
    struct err e2;
    CHECK_INT(split_compute(parts, shares, n, &amount, &e2), code);
    CHECK_INT(e2.code, code);
    CHECK_STR(e2.msg, e.msg);
    CHECK_MEM(parts, before, sizeof parts);
}

static void test_validation_errors(void)
{
    static struct split_share shares[SPLIT_PAYEES_MAX + 1];
    for (size_t i = 0; i <= SPLIT_PAYEES_MAX; i++) {
        memset(shares[i].payee.bytes, 0x22, ADDRESS_BYTES);
        shares[i].payee.bytes[0] = (uint8_t)(i + 1);
        shares[i].share_bps = 100;
    }
    size_t none = SPLIT_SHARE_NONE;
    expect_invalid(NULL, 0, SPLIT_ERR_NO_PAYEES, none, "empty split", NULL);
    expect_invalid(shares, SPLIT_PAYEES_MAX + 1, SPLIT_ERR_TOO_MANY_PAYEES, none, "101", "max 100");
    size_t bad;
    CHECK_INT(split_validate(&bad, shares, SPLIT_PAYEES_MAX, NULL), SPLIT_OK);
    CHECK_INT(bad, none);

    struct split_share s[5];
    vector_shares(s, 11); /* 3500 2500 1500 1000 1500 */
    char text[ADDRESS_TEXT_SIZE];
    address_format_checksum(text, &s[2].payee);
    s[2].share_bps = 0;
    expect_invalid(s, 5, SPLIT_ERR_ZERO_BPS, 2, text, "': 0");
    s[2].share_bps = 10001;
    expect_invalid(s, 5, SPLIT_ERR_BPS_TOO_LARGE, 2, text, "10001");
    s[2].share_bps = UINT32_MAX;
    expect_invalid(s, 5, SPLIT_ERR_BPS_TOO_LARGE, 2, text, "4294967295");
    s[2].share_bps = 1499;
    expect_invalid(s, 5, SPLIT_ERR_BPS_SUM, none, "9999", NULL);
    s[2].share_bps = 1501;
    expect_invalid(s, 5, SPLIT_ERR_BPS_SUM, none, "10001", NULL);
    s[2].share_bps = 1500;

    struct address keep = s[3].payee;
    s[3].payee = s[1].payee; /* duplicate: reported at the later share, naming both */
    address_format_checksum(text, &s[1].payee);
    expect_invalid(s, 5, SPLIT_ERR_DUPLICATE_PAYEE, 3, text, "shares 1 and 3");
    s[3].payee = keep;
    memset(&s[4].payee, 0, sizeof s[4].payee);
    expect_invalid(s, 5, SPLIT_ERR_ZERO_PAYEE, 4, "0x0000000000000000000000000000000000000000",
                   "zero address");
    s[4].payee = vector_payee(4);

    /* one share of exactly 10000 is valid; a single share of 9999 is a sum error */
    vector_shares(s, 0);
    CHECK_INT(split_validate(NULL, s, 1, NULL), SPLIT_OK);
    s[0].share_bps = 9999;
    expect_invalid(s, 1, SPLIT_ERR_BPS_SUM, none, "9999", NULL);
    /* the first violation wins: zero bps at share 1 before the duplicate at share 4 */
    vector_shares(s, 11);
    s[1].share_bps = 0;
    s[4].payee = s[0].payee;
    expect_invalid(s, 5, SPLIT_ERR_ZERO_BPS, 1, "invalid bps", NULL);
}

int main(void)
{
    rng = harness_seed();
    RUN(test_example_35_25_15_10_15);
    RUN(test_one_wei);
    RUN(test_validation_errors);
    RUN(test_remainder_share_order_free);
    RUN(test_hundred_payees);
    RUN(test_prime_totals);
    RUN(test_exhaustive_small_totals);
    RUN(test_exhaustive_permutations);
    RUN(test_random_near_max);
    return harness_finish();
}
