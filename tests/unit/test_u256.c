/*
 * test_u256.c - u256 against two reference models, plus every error path and
 * the boundary values.
 *
 * Model 1: values that fit in unsigned __int128 are checked against the
 * compiler's 128-bit arithmetic.
 * Model 2: full 256-bit values are checked against a big-decimal model written
 * here (base-10^9 chunks, schoolbook add/sub/mul, no binary shortcuts), and
 * mul_div_floor against the defining inequality
 *     floor(a*b/d)*d <= a*b < (floor(a*b/d)+1)*d
 * evaluated in 512 bits with test-side 32-bit-digit arithmetic.
 * Each op family runs CASES random cases per model, with a seeded PRNG that
 * favours edge limbs (0, 1, 2^63, 2^64-1, ...) and random bit lengths.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>

#include "harness.h"
#include "u256.h"

__extension__ typedef unsigned __int128 u128;

#define CASES 100000
#define DEC_CHUNKS_MAX 24 /* 216 digits: room for 512-bit products */
#define DEC_BASE 1000000000u
#define DEC_TEXT_MAX (DEC_CHUNKS_MAX * 9 + 1)

static const char *const max_dec =
    "115792089237316195423570985008687907853269984665640564039457584007913129639935";
static const char *const max_plus_one_dec =
    "115792089237316195423570985008687907853269984665640564039457584007913129639936";

static uint64_t rng;

/* ---- random values --------------------------------------------------------- */

static uint64_t rand_limb(void)
{
    static const uint64_t edge[] = {0,
                                    1,
                                    2,
                                    UINT64_MAX,
                                    UINT64_MAX - 1,
                                    (uint64_t)1 << 63,
                                    ((uint64_t)1 << 63) - 1,
                                    ((uint64_t)1 << 63) + 1,
                                    (uint64_t)1 << 32,
                                    UINT32_MAX};
    uint64_t pick = harness_rand(&rng) % 16;
    if (pick < sizeof edge / sizeof edge[0])
        return edge[pick];
    return harness_rand(&rng);
}

/* A value below 2^bits (bits 0..256), usually with its top bit set. */
static struct u256 rand_bits(unsigned bits)
{
    struct u256 x;
    for (unsigned i = 0; i < 4; i++) {
        x.limb[i] = rand_limb();
        if (bits <= 64 * i)
            x.limb[i] = 0;
        else if (bits < 64 * (i + 1))
            x.limb[i] &= ((uint64_t)1 << (bits - 64 * i)) - 1;
    }
    if (bits > 0 && harness_rand(&rng) % 4 != 0)
        x.limb[(bits - 1) / 64] |= (uint64_t)1 << ((bits - 1) % 64);
    return x;
}

static unsigned rand_below(unsigned n)
{
    return (unsigned)(harness_rand(&rng) % n);
}

static struct u256 rand_any(void)
{
    return rand_bits(rand_below(257));
}

static struct u256 rand_nonzero_bits(unsigned bits)
{
    struct u256 x = rand_bits(bits);
    if ((x.limb[0] | x.limb[1] | x.limb[2] | x.limb[3]) == 0)
        x.limb[0] = 1;
    return x;
}

static struct u256 from128(u128 v)
{
    struct u256 x = {{(uint64_t)v, (uint64_t)(v >> 64), 0, 0}};
    return x;
}

static u128 to128(const struct u256 *x)
{
    return ((u128)x->limb[1] << 64) | x->limb[0];
}

static struct u256 sentinel(void)
{
    struct u256 s = {{0x5151515151515151u, 0xa1, 0xb2, 0xc3}};
    return s;
}

static int u256_same(const struct u256 *a, const struct u256 *b)
{
    return memcmp(a->limb, b->limb, sizeof a->limb) == 0;
}

/* ---- decimal model: base 10^9 chunks, least significant first ------------ */

struct dec {
    uint32_t c[DEC_CHUNKS_MAX];
    size_t n; /* no high zero chunks; zero has n == 0 */
};

static void dec_trim(struct dec *a)
{
    while (a->n > 0 && a->c[a->n - 1] == 0)
        a->n--;
}

static void dec_need(size_t n)
{
    if (n > DEC_CHUNKS_MAX) {
        fprintf(stdout, "# decimal model overflow\n");
        abort();
    }
}

static struct dec dec_small(uint64_t v)
{
    struct dec r = {{0}, 0};
    while (v > 0) {
        r.c[r.n++] = (uint32_t)(v % DEC_BASE);
        v /= DEC_BASE;
    }
    return r;
}

static int dec_cmp(const struct dec *a, const struct dec *b)
{
    if (a->n != b->n)
        return a->n < b->n ? -1 : 1;
    for (size_t i = a->n; i-- > 0;)
        if (a->c[i] != b->c[i])
            return a->c[i] < b->c[i] ? -1 : 1;
    return 0;
}

static struct dec dec_add(const struct dec *a, const struct dec *b)
{
    struct dec r = {{0}, 0};
    size_t n = a->n > b->n ? a->n : b->n;
    dec_need(n + 1);
    uint32_t carry = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t t = (i < a->n ? a->c[i] : 0) + (i < b->n ? b->c[i] : 0) + carry;
        carry = t >= DEC_BASE;
        r.c[i] = carry ? t - DEC_BASE : t;
    }
    r.c[n] = carry;
    r.n = n + 1;
    dec_trim(&r);
    return r;
}

/* a - b, requires a >= b. */
static struct dec dec_sub(const struct dec *a, const struct dec *b)
{
    struct dec r = {{0}, a->n};
    int64_t borrow = 0;
    for (size_t i = 0; i < a->n; i++) {
        int64_t t = (int64_t)a->c[i] - (i < b->n ? b->c[i] : 0) - borrow;
        borrow = t < 0;
        r.c[i] = (uint32_t)(t < 0 ? t + DEC_BASE : t);
    }
    if (borrow != 0)
        abort();
    dec_trim(&r);
    return r;
}

static struct dec dec_mul(const struct dec *a, const struct dec *b)
{
    struct dec r = {{0}, 0};
    if (a->n == 0 || b->n == 0)
        return r;
    dec_need(a->n + b->n);
    uint64_t acc[2 * DEC_CHUNKS_MAX] = {0};
    for (size_t i = 0; i < a->n; i++) {
        uint64_t carry = 0;
        for (size_t j = 0; j < b->n; j++) {
            uint64_t t = acc[i + j] + (uint64_t)a->c[i] * b->c[j] + carry;
            acc[i + j] = t % DEC_BASE;
            carry = t / DEC_BASE;
        }
        acc[i + b->n] += carry;
    }
    r.n = a->n + b->n;
    for (size_t i = 0; i < r.n; i++)
        r.c[i] = (uint32_t)acc[i];
    dec_trim(&r);
    return r;
}

/* The model's own binary-to-decimal conversion: Horner over 32-bit halves. */
static struct dec dec_of(const struct u256 *x)
{
    struct dec r = {{0}, 0}, two32 = dec_small((uint64_t)1 << 32);
    for (size_t i = 8; i-- > 0;) {
        struct dec half = dec_small((uint32_t)(x->limb[i / 2] >> (32 * (i % 2))));
        struct dec shifted = dec_mul(&r, &two32);
        r = dec_add(&shifted, &half);
    }
    return r;
}

static void dec_str(char out[DEC_TEXT_MAX], const struct dec *a)
{
    if (a->n == 0) {
        memcpy(out, "0", 2);
        return;
    }
    int o = snprintf(out, DEC_TEXT_MAX, "%u", a->c[a->n - 1]);
    for (size_t i = a->n - 1; i-- > 0;)
        o += snprintf(out + o, (size_t)(DEC_TEXT_MAX - o), "%09u", a->c[i]);
}

/* Trusted literal digits only (test constants). */
static struct dec dec_parse(const char *s)
{
    struct dec r = {{0}, 0}, ten = dec_small(10);
    for (; *s; s++) {
        struct dec d = dec_small((uint64_t)(*s - '0')), m = dec_mul(&r, &ten);
        r = dec_add(&m, &d);
    }
    return r;
}

static struct dec model_max(void)
{
    return dec_parse(max_dec);
}

static void check_dec_eq(const struct u256 *got, const struct dec *want)
{
    struct dec g = dec_of(got);
    if (dec_cmp(&g, want) != 0) {
        char a[DEC_TEXT_MAX], b[DEC_TEXT_MAX];
        dec_str(a, &g);
        dec_str(b, want);
        CHECK_MSG(0, "got %s want %s", a, b);
    }
}

/* ---- 512-bit test-side arithmetic on 32-bit digits ----------------------- */

static void w_of(uint32_t out[8], const struct u256 *x)
{
    for (size_t i = 0; i < 8; i++)
        out[i] = (uint32_t)(x->limb[i / 2] >> (32 * (i % 2)));
}

static void w_mul(uint32_t p[16], const uint32_t a[8], const uint32_t b[8])
{
    memset(p, 0, 16 * sizeof *p);
    for (size_t i = 0; i < 8; i++) {
        uint64_t carry = 0;
        for (size_t j = 0; j < 8; j++) {
            uint64_t t = (uint64_t)a[i] * b[j] + p[i + j] + carry;
            p[i + j] = (uint32_t)t;
            carry = t >> 32;
        }
        p[i + 8] = (uint32_t)carry;
    }
}

static int w_cmp(const uint32_t *a, const uint32_t *b, size_t n)
{
    for (size_t i = n; i-- > 0;)
        if (a[i] != b[i])
            return a[i] < b[i] ? -1 : 1;
    return 0;
}

/* a[0..16) += b[0..8); returns the carry out of the top digit. */
static uint32_t w_add8(uint32_t a[16], const uint32_t b[8])
{
    uint64_t carry = 0;
    for (size_t i = 0; i < 16; i++) {
        uint64_t t = (uint64_t)a[i] + (i < 8 ? b[i] : 0) + carry;
        a[i] = (uint32_t)t;
        carry = t >> 32;
    }
    return (uint32_t)carry;
}

/* ---- helpers for exact error checks --------------------------------------- */

static void check_err(const struct err *e, enum u256_result code, const char *needle)
{
    CHECK_INT(e->code, code);
    CHECK_MSG(e->msg[0] != '\0' && !isupper((unsigned char)e->msg[0]), "msg \"%s\"", e->msg);
    CHECK_MSG(strstr(e->msg, needle) != NULL, "\"%s\" lacks \"%s\"", e->msg, needle);
}

static void dec_fail(const char *text, size_t len, enum u256_result code, const char *needle)
{
    struct u256 out = sentinel(), s = sentinel();
    struct err e;
    err_clear(&e);
    enum u256_result r = u256_from_dec(&out, text, len, &e);
    CHECK_MSG(r == code, "'%.*s': got %d want %d", (int)(len < 80 ? len : 80), text, (int)r,
              (int)code);
    check_err(&e, code, needle);
    CHECK(u256_same(&out, &s));
    CHECK_INT(u256_from_dec(&out, text, len, NULL), code);
}

static void hex_fail(const char *text, size_t len, enum u256_result code, const char *needle)
{
    struct u256 out = sentinel(), s = sentinel();
    struct err e;
    err_clear(&e);
    enum u256_result r = u256_from_hex(&out, text, len, &e);
    CHECK_MSG(r == code, "'%.*s': got %d want %d", (int)(len < 80 ? len : 80), text, (int)r,
              (int)code);
    check_err(&e, code, needle);
    CHECK(u256_same(&out, &s));
}

static struct u256 dec_ok(const char *text)
{
    struct u256 out = sentinel();
    struct err e;
    err_clear(&e);
    enum u256_result r = u256_from_dec(&out, text, strlen(text), &e);
    CHECK_MSG(r == U256_OK, "'%s': %d %s", text, (int)r, e.msg);
    return out;
}

/* Constants, built without the code under test. */
static struct u256 c_max(void)
{
    struct u256 x = {{UINT64_MAX, UINT64_MAX, UINT64_MAX, UINT64_MAX}};
    return x;
}

static struct u256 c_pow2(unsigned k)
{
    struct u256 x = u256_zero();
    x.limb[k / 64] = (uint64_t)1 << (k % 64);
    return x;
}

/* Mostly-wide values so that 256-bit overflow is common. */
static struct u256 rand_wide(void)
{
    unsigned pick = rand_below(4);
    return pick == 0 ? rand_any() : rand_bits(257 - pick);
}

static unsigned clamp_bits(int bits, int lo)
{
    return (unsigned)(bits < lo ? lo : bits > 256 ? 256 : bits);
}

/* ---- model 1: 128-bit values against unsigned __int128 --------------------- */

static void test_add_sub_128(void)
{
    for (int t = 0; t < CASES; t++) {
        struct u256 a = rand_bits(rand_below(129)), b = rand_bits(rand_below(129));
        struct u256 out = sentinel(), x = a, y = b;
        u128 A = to128(&a), B = to128(&b), S = A + B;
        struct u256 sum = from128(S);
        sum.limb[2] = S < A; /* the carry lands in limb 2 */
        CHECK_INT(u256_add(&out, &a, &b), U256_OK);
        CHECK(u256_same(&out, &sum));
        CHECK_INT(u256_add(&x, &x, &b), U256_OK);
        CHECK(u256_same(&x, &sum));
        CHECK_INT(u256_add(&y, &a, &y), U256_OK);
        CHECK(u256_same(&y, &sum));
        CHECK_INT(u256_cmp(&a, &b), A < B ? -1 : A > B);
        out = sentinel();
        x = a;
        if (A >= B) {
            struct u256 diff = from128(A - B);
            CHECK_INT(u256_sub(&out, &a, &b), U256_OK);
            CHECK(u256_same(&out, &diff));
            CHECK_INT(u256_sub(&x, &x, &b), U256_OK);
            CHECK(u256_same(&x, &diff));
        } else {
            struct u256 s = sentinel();
            CHECK_INT(u256_sub(&out, &a, &b), U256_ERR_UNDERFLOW);
            CHECK(u256_same(&out, &s));
            CHECK_INT(u256_sub(&x, &x, &b), U256_ERR_UNDERFLOW);
            CHECK(u256_same(&x, &a));
        }
    }
}

static void test_mul_128(void)
{
    for (int t = 0; t < CASES; t++) {
        unsigned la = rand_below(129);
        struct u256 a = rand_bits(la), b = rand_bits(rand_below(129 - la));
        u128 A = to128(&a), B = to128(&b);
        struct u256 want = from128(A * B), out = sentinel(), x = a, y = b;
        CHECK(B == 0 || (A * B) / B == A); /* the model itself did not wrap */
        CHECK_INT(u256_mul(&out, &a, &b), U256_OK);
        CHECK(u256_same(&out, &want));
        CHECK_INT(u256_mul(&x, &x, &b), U256_OK);
        CHECK(u256_same(&x, &want));
        CHECK_INT(u256_mul(&y, &a, &y), U256_OK);
        CHECK(u256_same(&y, &want));
        x = a;
        struct u256 sq = from128(A * A);
        if (la <= 64) {
            CHECK_INT(u256_mul(&x, &x, &x), U256_OK);
            CHECK(u256_same(&x, &sq));
        }
    }
}

static void test_divmod_128(void)
{
    for (int t = 0; t < CASES; t++) {
        struct u256 a = rand_bits(rand_below(129));
        struct u256 b = rand_nonzero_bits(1 + rand_below(128));
        u128 A = to128(&a), B = to128(&b);
        struct u256 wq = from128(A / B), wr = from128(A % B);
        struct u256 q = sentinel(), r = sentinel(), x = a, y = b;
        CHECK_INT(u256_divmod(&q, &r, &a, &b), U256_OK);
        CHECK(u256_same(&q, &wq));
        CHECK(u256_same(&r, &wr));
        CHECK_INT(u256_divmod(&x, &y, &x, &y), U256_OK); /* both outputs alias inputs */
        CHECK(u256_same(&x, &wq));
        CHECK(u256_same(&y, &wr));
        x = a;
        CHECK_INT(u256_divmod(NULL, &x, &x, &b), U256_OK);
        CHECK(u256_same(&x, &wr));
        y = b;
        CHECK_INT(u256_divmod(&y, NULL, &a, &y), U256_OK);
        CHECK(u256_same(&y, &wq));
    }
}

static void test_mul_div_128(void)
{
    for (int t = 0; t < CASES; t++) {
        unsigned la = rand_below(129);
        struct u256 a = rand_bits(la), b = rand_bits(rand_below(129 - la));
        struct u256 d = rand_nonzero_bits(1 + rand_below(128));
        u128 A = to128(&a), B = to128(&b), D = to128(&d);
        struct u256 want = from128(A * B / D), out = sentinel(), x = a, y = b, z = d;
        CHECK_INT(u256_mul_div_floor(&out, &a, &b, &d), U256_OK);
        CHECK(u256_same(&out, &want));
        CHECK_INT(u256_mul_div_floor(&x, &x, &b, &d), U256_OK);
        CHECK(u256_same(&x, &want));
        CHECK_INT(u256_mul_div_floor(&y, &a, &y, &d), U256_OK);
        CHECK(u256_same(&y, &want));
        CHECK_INT(u256_mul_div_floor(&z, &a, &b, &z), U256_OK);
        CHECK(u256_same(&z, &want));
    }
}

/* ---- model 2: full 256-bit values against the decimal / 512-bit models ----- */

static void test_add_sub_256(void)
{
    struct dec max = model_max();
    long overflows = 0, underflows = 0;
    for (int t = 0; t < CASES; t++) {
        struct u256 a = rand_wide(), b = rand_wide(), out = sentinel(), x = a, s = sentinel();
        struct dec da = dec_of(&a), db = dec_of(&b), sum = dec_add(&da, &db);
        CHECK_INT(u256_cmp(&a, &b), dec_cmp(&da, &db));
        if (dec_cmp(&sum, &max) > 0) {
            overflows++;
            CHECK_INT(u256_add(&out, &a, &b), U256_ERR_OVERFLOW);
            CHECK(u256_same(&out, &s));
            CHECK_INT(u256_add(&x, &x, &b), U256_ERR_OVERFLOW);
            CHECK(u256_same(&x, &a));
        } else {
            CHECK_INT(u256_add(&out, &a, &b), U256_OK);
            check_dec_eq(&out, &sum);
            CHECK_INT(u256_sub(&x, &out, &b), U256_OK); /* (a + b) - b == a */
            CHECK(u256_same(&x, &a));
        }
        out = sentinel();
        x = b;
        if (dec_cmp(&da, &db) >= 0) {
            struct dec diff = dec_sub(&da, &db);
            CHECK_INT(u256_sub(&out, &a, &b), U256_OK);
            check_dec_eq(&out, &diff);
            CHECK_INT(u256_add(&x, &out, &x), U256_OK); /* (a - b) + b == a */
            CHECK(u256_same(&x, &a));
        } else {
            underflows++;
            CHECK_INT(u256_sub(&out, &a, &b), U256_ERR_UNDERFLOW);
            CHECK(u256_same(&out, &s));
            CHECK_INT(u256_sub(&x, &a, &x), U256_ERR_UNDERFLOW);
            CHECK(u256_same(&x, &b));
        }
    }
    fprintf(stdout, "# add/sub 256: %d cases, %ld overflows, %ld underflows\n", CASES, overflows,
            underflows);
    CHECK(overflows > CASES / 20 && underflows > CASES / 20);
}

static void test_mul_256(void)
{
    struct dec max = model_max();
    long overflows = 0;
    for (int t = 0; t < CASES; t++) {
        unsigned la = rand_below(257);
        int lb = rand_below(2) ? (int)rand_below(257) : 256 - (int)la + (int)rand_below(17) - 8;
        struct u256 a = rand_bits(la), b = rand_bits(clamp_bits(lb, 0));
        struct u256 out = sentinel(), x = a, s = sentinel();
        struct dec da = dec_of(&a), db = dec_of(&b), prod = dec_mul(&da, &db);
        if (dec_cmp(&prod, &max) > 0) {
            overflows++;
            CHECK_INT(u256_mul(&out, &a, &b), U256_ERR_OVERFLOW);
            CHECK(u256_same(&out, &s));
            CHECK_INT(u256_mul(&x, &x, &b), U256_ERR_OVERFLOW);
            CHECK(u256_same(&x, &a));
            continue;
        }
        CHECK_INT(u256_mul(&out, &a, &b), U256_OK);
        check_dec_eq(&out, &prod);
        CHECK_INT(u256_mul(&x, &b, &x), U256_OK);
        CHECK(u256_same(&x, &out));
        if ((b.limb[0] | b.limb[1] | b.limb[2] | b.limb[3]) != 0) { /* (a*b)/b == a */
            struct u256 q, r;
            CHECK_INT(u256_divmod(&q, &r, &out, &b), U256_OK);
            CHECK(u256_same(&q, &a));
            CHECK(r.limb[0] == 0 && r.limb[1] == 0 && r.limb[2] == 0 && r.limb[3] == 0);
        }
    }
    fprintf(stdout, "# mul 256: %d cases, %ld overflows\n", CASES, overflows);
    CHECK(overflows > CASES / 20 && overflows < CASES - CASES / 20);
}

static void test_divmod_256(void)
{
    for (int t = 0; t < CASES; t++) {
        struct u256 a = rand_wide();
        struct u256 b = rand_nonzero_bits(1 + rand_below(256));
        struct u256 q = sentinel(), r = sentinel(), x = a, y = b;
        CHECK_INT(u256_divmod(&q, &r, &a, &b), U256_OK);
        struct dec da = dec_of(&a), db = dec_of(&b), dq = dec_of(&q), dr = dec_of(&r);
        struct dec qb = dec_mul(&dq, &db), back = dec_add(&qb, &dr);
        CHECK_MSG(dec_cmp(&back, &da) == 0, "q*b + r != a at case %d", t);
        CHECK_MSG(dec_cmp(&dr, &db) < 0, "r >= b at case %d", t);
        CHECK_INT(u256_divmod(&x, &y, &x, &y), U256_OK);
        CHECK(u256_same(&x, &q) && u256_same(&y, &r));
        x = a;
        CHECK_INT(u256_divmod(&x, NULL, &x, &b), U256_OK);
        CHECK(u256_same(&x, &q));
    }
}

/* floor(a*b/d) checked by floor*d <= a*b < floor*d + d in 512 bits; overflow
 * exactly when the high 256 bits of a*b are >= d. */
static void test_mul_div_256(void)
{
    long overflows = 0;
    for (int t = 0; t < CASES; t++) {
        unsigned la = rand_below(257), lb = rand_below(257);
        int ld = rand_below(2) ? 1 + (int)rand_below(256)
                               : (int)(la + lb) - 256 + (int)rand_below(9) - 4;
        struct u256 a = rand_bits(la), b = rand_bits(lb), d = rand_nonzero_bits(clamp_bits(ld, 1));
        struct u256 out = sentinel(), x = a, s = sentinel();
        uint32_t wa[8], wb[8], wd[8], wq[8], p[16], qd[16];
        w_of(wa, &a);
        w_of(wb, &b);
        w_of(wd, &d);
        w_mul(p, wa, wb);
        enum u256_result r = u256_mul_div_floor(&out, &a, &b, &d);
        if (w_cmp(p + 8, wd, 8) >= 0) {
            overflows++;
            CHECK_INT(r, U256_ERR_OVERFLOW);
            CHECK(u256_same(&out, &s));
            CHECK_INT(u256_mul_div_floor(&x, &x, &b, &d), U256_ERR_OVERFLOW);
            CHECK(u256_same(&x, &a));
            continue;
        }
        CHECK_INT(r, U256_OK);
        w_of(wq, &out);
        w_mul(qd, wq, wd);
        CHECK_MSG(w_cmp(qd, p, 16) <= 0, "floor*d > a*b at case %d", t);
        CHECK_INT(w_add8(qd, wd), 0);
        CHECK_MSG(w_cmp(qd, p, 16) > 0, "(floor+1)*d <= a*b at case %d", t);
        CHECK_INT(u256_mul_div_floor(&x, &x, &b, &d), U256_OK);
        CHECK(u256_same(&x, &out));
    }
    fprintf(stdout, "# mul_div_floor 256: %d cases, %ld overflows\n", CASES, overflows);
    CHECK(overflows > CASES / 20 && overflows < CASES - CASES / 20);
}

/* u256_to_dec equals the model's own conversion; from_dec inverts it. */
static void test_dec_round_trip(void)
{
    for (int t = 0; t < CASES; t++) {
        struct u256 x = rand_any(), back = sentinel();
        char got[U256_DEC_SIZE], want[DEC_TEXT_MAX];
        struct dec dx = dec_of(&x);
        dec_str(want, &dx);
        u256_to_dec(got, &x);
        CHECK_STR(got, want);
        CHECK(strlen(got) <= U256_DEC_DIGITS_MAX);
        CHECK_INT(u256_from_dec(&back, want, strlen(want), NULL), U256_OK);
        CHECK(u256_same(&back, &x));
    }
}

/* Test-side big-endian bytes and hex text of x. */
static void ref_be32(uint8_t out[32], const struct u256 *x)
{
    for (size_t i = 0; i < 4; i++)
        for (size_t j = 0; j < 8; j++)
            out[8 * (3 - i) + j] = (uint8_t)(x->limb[i] >> (56 - 8 * j));
}

static void ref_hex(char out[U256_HEX_SIZE], const struct u256 *x)
{
    char full[65];
    snprintf(full, sizeof full, "%016llx%016llx%016llx%016llx", (unsigned long long)x->limb[3],
             (unsigned long long)x->limb[2], (unsigned long long)x->limb[1],
             (unsigned long long)x->limb[0]);
    size_t skip = 0;
    while (skip < 63 && full[skip] == '0')
        skip++;
    snprintf(out, U256_HEX_SIZE, "0x%s", full + skip);
}

static void test_hex_and_bytes_round_trip(void)
{
    for (int t = 0; t < CASES; t++) {
        struct u256 x = rand_any(), back = sentinel();
        char got[U256_HEX_SIZE], want[U256_HEX_SIZE], padded[67];
        uint8_t be[32], ref[32], min[32];
        ref_hex(want, &x);
        u256_to_hex(got, &x);
        CHECK_STR(got, want);
        CHECK_INT(u256_from_hex(&back, got, strlen(got), NULL), U256_OK);
        CHECK(u256_same(&back, &x));
        snprintf(padded, sizeof padded, "0x%016llX%016llx%016llX%016llx",
                 (unsigned long long)x.limb[3], (unsigned long long)x.limb[2],
                 (unsigned long long)x.limb[1], (unsigned long long)x.limb[0]);
        back = sentinel();
        CHECK_INT(u256_from_hex(&back, padded, 66, NULL), U256_OK);
        CHECK(u256_same(&back, &x));
        ref_be32(ref, &x);
        u256_to_be32(be, &x);
        CHECK_MEM(be, ref, 32);
        back = u256_from_be32(ref);
        CHECK(u256_same(&back, &x));
        size_t skip = 0;
        while (skip < 32 && ref[skip] == 0)
            skip++;
        CHECK_INT(u256_to_be_min(min, &x), 32 - skip);
        CHECK_MEM(min, ref + skip, 32 - skip);
    }
}

/* ---- boundaries and error paths ------------------------------------------- */

static void test_basic_helpers(void)
{
    struct u256 z = u256_zero(), one = u256_from_u64(1), m64 = u256_from_u64(UINT64_MAX);
    struct u256 p64 = c_pow2(64), max = c_max();
    uint64_t v = 42;
    CHECK(u256_is_zero(&z));
    CHECK(!u256_is_zero(&one));
    for (unsigned k = 0; k < 256; k += 37) {
        struct u256 p = c_pow2(k);
        CHECK(!u256_is_zero(&p));
    }
    CHECK(one.limb[0] == 1 && one.limb[1] == 0 && one.limb[2] == 0 && one.limb[3] == 0);
    CHECK(u256_to_u64(&v, &m64) && v == UINT64_MAX);
    CHECK(u256_to_u64(&v, &z) && v == 0);
    v = 42;
    CHECK(!u256_to_u64(&v, &p64));
    CHECK(!u256_to_u64(&v, &max));
    struct u256 top = c_pow2(255);
    CHECK(!u256_to_u64(&v, &top));
    CHECK_INT(v, 42);
    CHECK_INT(u256_cmp(&z, &z), 0);
    CHECK_INT(u256_cmp(&z, &one), -1);
    CHECK_INT(u256_cmp(&max, &m64), 1);
    CHECK_INT(u256_cmp(&p64, &m64), 1); /* a higher limb outweighs a lower one */
    struct u256 hi = c_pow2(192), lo = {{UINT64_MAX, UINT64_MAX, UINT64_MAX, 0}};
    CHECK_INT(u256_cmp(&lo, &hi), -1);
    CHECK_INT(u256_cmp(&hi, &lo), 1);
}

static void test_add_sub_boundaries(void)
{
    struct u256 z = u256_zero(), one = u256_from_u64(1), max = c_max(), out = sentinel();
    struct u256 s = sentinel(), m64 = u256_from_u64(UINT64_MAX), p64 = c_pow2(64);
    CHECK_INT(u256_add(&out, &max, &one), U256_ERR_OVERFLOW);
    CHECK(u256_same(&out, &s));
    CHECK_INT(u256_add(&out, &one, &max), U256_ERR_OVERFLOW);
    CHECK_INT(u256_add(&out, &max, &max), U256_ERR_OVERFLOW);
    CHECK(u256_same(&out, &s));
    CHECK_INT(u256_add(&out, &max, &z), U256_OK);
    CHECK(u256_same(&out, &max));
    CHECK_INT(u256_add(&out, &m64, &one), U256_OK); /* carry across a limb */
    CHECK(u256_same(&out, &p64));
    struct u256 low3 = {{UINT64_MAX, UINT64_MAX, UINT64_MAX, 0}}, p192 = c_pow2(192);
    CHECK_INT(u256_add(&out, &low3, &one), U256_OK); /* carry through three limbs */
    CHECK(u256_same(&out, &p192));
    out = sentinel();
    CHECK_INT(u256_sub(&out, &z, &one), U256_ERR_UNDERFLOW);
    CHECK(u256_same(&out, &s));
    CHECK_INT(u256_sub(&out, &p192, &max), U256_ERR_UNDERFLOW);
    CHECK(u256_same(&out, &s));
    CHECK_INT(u256_sub(&out, &p192, &one), U256_OK); /* borrow through three limbs */
    CHECK(u256_same(&out, &low3));
    CHECK_INT(u256_sub(&out, &max, &max), U256_OK);
    CHECK(u256_is_zero(&out));
    struct u256 x = max;
    CHECK_INT(u256_add(&x, &x, &x), U256_ERR_OVERFLOW);
    CHECK(u256_same(&x, &max));
    CHECK_INT(u256_sub(&x, &x, &x), U256_OK);
    CHECK(u256_is_zero(&x));
}

static void test_mul_boundaries(void)
{
    struct u256 one = u256_from_u64(1), two = u256_from_u64(2), max = c_max(), out = sentinel();
    struct u256 s = sentinel(), p128 = c_pow2(128), p255 = c_pow2(255), z = u256_zero();
    struct u256 m64 = u256_from_u64(UINT64_MAX);
    CHECK_INT(u256_mul(&out, &max, &one), U256_OK);
    CHECK(u256_same(&out, &max));
    CHECK_INT(u256_mul(&out, &max, &z), U256_OK);
    CHECK(u256_is_zero(&out));
    out = sentinel();
    CHECK_INT(u256_mul(&out, &max, &two), U256_ERR_OVERFLOW);
    CHECK(u256_same(&out, &s));
    CHECK_INT(u256_mul(&out, &p128, &p128), U256_ERR_OVERFLOW); /* exactly 2^256 */
    CHECK_INT(u256_mul(&out, &p255, &two), U256_ERR_OVERFLOW);
    CHECK_INT(u256_mul(&out, &max, &max), U256_ERR_OVERFLOW);
    CHECK(u256_same(&out, &s));
    struct u256 p127 = c_pow2(127);
    CHECK_INT(u256_mul(&out, &p127, &two), U256_OK);
    CHECK(u256_same(&out, &p128));
    struct u256 sq = {{1, UINT64_MAX - 1, 0, 0}}; /* (2^64-1)^2 = 2^128 - 2^65 + 1 */
    CHECK_INT(u256_mul(&out, &m64, &m64), U256_OK);
    CHECK(u256_same(&out, &sq));
    struct u256 m128 = {{UINT64_MAX, UINT64_MAX, 0, 0}};
    struct u256 want = {{0, 0, UINT64_MAX, UINT64_MAX}}; /* (2^128-1) * 2^128 */
    CHECK_INT(u256_mul(&out, &m128, &p128), U256_OK);
    CHECK(u256_same(&out, &want));
}

static void test_div_boundaries(void)
{
    struct u256 z = u256_zero(), one = u256_from_u64(1), max = c_max(), s = sentinel();
    struct u256 q = sentinel(), r = sentinel(), x = max;
    CHECK_INT(u256_divmod(&q, &r, &max, &z), U256_ERR_DIV_ZERO);
    CHECK(u256_same(&q, &s) && u256_same(&r, &s));
    CHECK_INT(u256_divmod(&x, NULL, &x, &z), U256_ERR_DIV_ZERO);
    CHECK(u256_same(&x, &max));
    CHECK_INT(u256_divmod(NULL, NULL, &z, &z), U256_ERR_DIV_ZERO);
    CHECK_INT(u256_divmod(&q, &r, &max, &max), U256_OK);
    CHECK(u256_same(&q, &one) && u256_is_zero(&r));
    CHECK_INT(u256_divmod(&q, &r, &max, &one), U256_OK);
    CHECK(u256_same(&q, &max) && u256_is_zero(&r));
    CHECK_INT(u256_divmod(&q, &r, &one, &max), U256_OK);
    CHECK(u256_is_zero(&q) && u256_same(&r, &one));
    CHECK_INT(u256_divmod(&q, &r, &z, &max), U256_OK);
    CHECK(u256_is_zero(&q) && u256_is_zero(&r));
    struct u256 p128 = c_pow2(128), m128 = {{UINT64_MAX, UINT64_MAX, 0, 0}}, p128p1 = p128;
    p128p1.limb[0] = 1;
    CHECK_INT(u256_divmod(&q, &r, &max, &p128), U256_OK); /* (2^256-1) / 2^128 */
    CHECK(u256_same(&q, &m128) && u256_same(&r, &m128));
    CHECK_INT(u256_divmod(&q, &r, &max, &p128p1), U256_OK); /* = 2^128-1 rem 0 */
    CHECK(u256_same(&q, &m128) && u256_is_zero(&r));
}

static void test_mul_div_boundaries(void)
{
    struct u256 z = u256_zero(), one = u256_from_u64(1), two = u256_from_u64(2), max = c_max();
    struct u256 out = sentinel(), s = sentinel(), mm1 = max;
    mm1.limb[0]--;
    CHECK_INT(u256_mul_div_floor(&out, &max, &max, &z), U256_ERR_DIV_ZERO);
    CHECK(u256_same(&out, &s));
    CHECK_INT(u256_mul_div_floor(&out, &z, &z, &z), U256_ERR_DIV_ZERO);
    CHECK_INT(u256_mul_div_floor(&out, &max, &two, &one), U256_ERR_OVERFLOW);
    CHECK(u256_same(&out, &s));
    /* max*max/(max-1) = max + 1 + 1/(max-1): just over the top. */
    CHECK_INT(u256_mul_div_floor(&out, &max, &max, &mm1), U256_ERR_OVERFLOW);
    CHECK(u256_same(&out, &s));
    CHECK_INT(u256_mul_div_floor(&out, &max, &max, &max), U256_OK);
    CHECK(u256_same(&out, &max));
    CHECK_INT(u256_mul_div_floor(&out, &max, &mm1, &max), U256_OK);
    CHECK(u256_same(&out, &mm1));
    CHECK_INT(u256_mul_div_floor(&out, &max, &two, &two), U256_OK); /* a*b > 2^256, fits */
    CHECK(u256_same(&out, &max));
    CHECK_INT(u256_mul_div_floor(&out, &max, &max, &one), U256_ERR_OVERFLOW);
    /* Split math: 10^18 * 3500 bps / 10000. */
    struct u256 wei = u256_from_u64(1000000000000000000u), bps = u256_from_u64(3500);
    struct u256 den = u256_from_u64(10000), want = u256_from_u64(350000000000000000u);
    CHECK_INT(u256_mul_div_floor(&out, &wei, &bps, &den), U256_OK);
    CHECK(u256_same(&out, &want));
    struct u256 seven = u256_from_u64(7), three = u256_from_u64(3);
    CHECK_INT(u256_mul_div_floor(&out, &seven, &one, &three), U256_OK); /* floors */
    CHECK(u256_same(&out, &two));
}

/* Divisions whose first quotient-digit estimate is one too big even after
 * refinement, forcing Knuth's rare "add back" step (values checked in Python). */
static void test_div_add_back(void)
{
    struct u256 a1 = {{1, 0x7fffffffffffffffu, 1, 0x8000000000000000u}};
    struct u256 b1 = {{0x463aba2d17c90193u, 0x8000000000000001u, 1, 0x8000000000000000u}};
    struct u256 a2 = {{1, 0xffffffffu, 0, 0x340b4856976279f2u}};
    struct u256 b2 = {{0x5d3076f0f32bf981u, 0, 0x4000000000000000u, 0}};
    struct u256 q2 = {{0xd02d215a5d89e7c7u, 0, 0, 0}};
    struct u256 r2 = {{0xd06aaabfe7a4a5bau, 0xb43831b42da5d7f8u, 0x3fffffffffffffffu, 0}};
    struct u256 q = sentinel(), r = sentinel();
    CHECK_INT(u256_divmod(&q, &r, &a1, &b1), U256_OK);
    CHECK(u256_is_zero(&q) && u256_same(&r, &a1));
    CHECK_INT(u256_divmod(&q, &r, &a2, &b2), U256_OK);
    CHECK(u256_same(&q, &q2) && u256_same(&r, &r2));
}

static void test_dec_boundaries(void)
{
    struct {
        const char *text;
        struct u256 value;
    } cases[] = {
        {"0", u256_zero()},
        {"1", u256_from_u64(1)},
        {"18446744073709551615", u256_from_u64(UINT64_MAX)},
        {"18446744073709551616", c_pow2(64)},
        {"340282366920938463463374607431768211456", c_pow2(128)},
        {max_dec, c_max()},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char out[U256_DEC_SIZE];
        struct u256 got = dec_ok(cases[i].text);
        CHECK_MSG(u256_same(&got, &cases[i].value), "parse %s", cases[i].text);
        u256_to_dec(out, &cases[i].value);
        CHECK_STR(out, cases[i].text);
    }
    CHECK_INT(strlen(max_dec), U256_DEC_DIGITS_MAX);
    struct dec m = model_max(), mo = dec_parse(max_plus_one_dec), onem = dec_small(1);
    struct dec sum = dec_add(&m, &onem);
    CHECK_INT(dec_cmp(&sum, &mo), 0); /* the model agrees the constants differ by one */
    struct u256 max = c_max();
    check_dec_eq(&max, &m);
    /* text_len is honoured: no NUL needed, trailing bytes ignored. */
    struct u256 got = sentinel(), want = u256_from_u64(123);
    CHECK_INT(u256_from_dec(&got, "123abc", 3, NULL), U256_OK);
    CHECK(u256_same(&got, &want));
}

static void test_dec_errors(void)
{
    char long_text[200];
    dec_fail("", 0, U256_ERR_EMPTY, "empty decimal number");
    dec_fail(max_plus_one_dec, 78, U256_ERR_OVERFLOW, "'115792089237316195423570985008687907");
    dec_fail("999999999999999999999999999999999999999999999999999999999999999999999999999999", 78,
             U256_ERR_OVERFLOW, "out of range");
    dec_fail("200000000000000000000000000000000000000000000000000000000000000000000000000000", 78,
             U256_ERR_OVERFLOW, "out of range");
    memset(long_text, '1', sizeof long_text);
    dec_fail(long_text, 79, U256_ERR_TOO_LONG, "79 digits, maximum 78");
    dec_fail(long_text, sizeof long_text, U256_ERR_TOO_LONG, "...'"); /* quote truncated */
    memset(long_text, '0', 79);
    dec_fail(long_text, 79, U256_ERR_TOO_LONG, "too long");
    dec_fail("00", 2, U256_ERR_LEADING_ZERO, "leading zero in decimal number '00'");
    dec_fail("007", 3, U256_ERR_LEADING_ZERO, "'007'");
    dec_fail("-1", 2, U256_ERR_BAD_DIGIT, "invalid decimal digit at offset 0 in '-1'");
    dec_fail("+1", 2, U256_ERR_BAD_DIGIT, "offset 0");
    dec_fail("-0", 2, U256_ERR_BAD_DIGIT, "offset 0");
    dec_fail(" 1", 2, U256_ERR_BAD_DIGIT, "offset 0");
    dec_fail("1 ", 2, U256_ERR_BAD_DIGIT, "offset 1 in '1 '");
    dec_fail("1.0", 3, U256_ERR_BAD_DIGIT, "offset 1");
    dec_fail("1e3", 3, U256_ERR_BAD_DIGIT, "offset 1");
    dec_fail("0x10", 4, U256_ERR_BAD_DIGIT, "offset 1");
    dec_fail("1\0", 2, U256_ERR_BAD_DIGIT, "'1\\x00'");
    dec_fail("1'2", 3, U256_ERR_BAD_DIGIT, "'1\\x272'");
    dec_fail("\xd9\xa1", 2, U256_ERR_BAD_DIGIT, "'\\xd9\\xa1'"); /* Arabic-Indic one */
    dec_fail("01x", 3, U256_ERR_BAD_DIGIT, "offset 2");          /* digits are checked first */
    dec_fail("1:", 2, U256_ERR_BAD_DIGIT, "offset 1");           /* the neighbours of '0'..'9' */
    dec_fail("/1", 2, U256_ERR_BAD_DIGIT, "offset 0");
}

static void test_hex_boundaries(void)
{
    struct {
        const char *text;
        struct u256 value;
    } cases[] = {
        {"0x0", u256_zero()},
        {"0x1", u256_from_u64(1)},
        {"0xffffffffffffffff", u256_from_u64(UINT64_MAX)},
        {"0x10000000000000000", c_pow2(64)},
        {"0x100000000000000000000000000000000", c_pow2(128)},
        {"0xffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff", c_max()},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char out[U256_HEX_SIZE];
        struct u256 got = sentinel();
        CHECK_INT(u256_from_hex(&got, cases[i].text, strlen(cases[i].text), NULL), U256_OK);
        CHECK_MSG(u256_same(&got, &cases[i].value), "parse %s", cases[i].text);
        u256_to_hex(out, &cases[i].value);
        CHECK_STR(out, cases[i].text);
    }
    struct u256 got = sentinel(), want = u256_from_u64(0xabcdef);
    CHECK_INT(u256_from_hex(&got, "0x00ABcdEf", 10, NULL), U256_OK); /* zeros, any case */
    CHECK(u256_same(&got, &want));
    uint8_t min[32];
    struct u256 z = u256_zero(), v256 = u256_from_u64(256);
    CHECK_INT(u256_to_be_min(min, &z), 0);
    CHECK_INT(u256_to_be_min(min, &v256), 2);
    CHECK(min[0] == 1 && min[1] == 0);
}

static void test_hex_errors(void)
{
    char long_text[70];
    hex_fail("", 0, U256_ERR_EMPTY, "empty hex quantity");
    hex_fail("0x", 2, U256_ERR_EMPTY, "no digits in hex quantity '0x'");
    hex_fail("12", 2, U256_ERR_BAD_DIGIT, "missing 0x prefix in hex quantity '12'");
    hex_fail("0", 1, U256_ERR_BAD_DIGIT, "missing 0x prefix");
    hex_fail("0X12", 4, U256_ERR_BAD_DIGIT, "missing 0x prefix");
    hex_fail("0x1g", 4, U256_ERR_BAD_DIGIT, "invalid hex digit at offset 3 in '0x1g'");
    hex_fail("0x-1", 4, U256_ERR_BAD_DIGIT, "offset 2");
    hex_fail("0x 1", 4, U256_ERR_BAD_DIGIT, "offset 2");
    static const char *const neighbours[] = {"0x/", "0x:", "0x@", "0xG", "0x`", "0xg"};
    for (size_t i = 0; i < sizeof neighbours / sizeof neighbours[0]; i++)
        hex_fail(neighbours[i], 3, U256_ERR_BAD_DIGIT, "offset 2");
    memcpy(long_text, "0x", 2);
    memset(long_text + 2, '0', sizeof long_text - 2);
    hex_fail(long_text, 67, U256_ERR_TOO_LONG, "65 digits, maximum 64");
    long_text[66] = '1';
    struct u256 got = sentinel(), one = u256_from_u64(1);
    CHECK_INT(u256_from_hex(&got, long_text, 67, NULL), U256_ERR_TOO_LONG);
    CHECK_INT(u256_from_hex(&got, long_text + 1, 66, NULL), U256_ERR_BAD_DIGIT); /* "x0.." */
    long_text[1] = '0';
    long_text[2] = 'x';
    CHECK_INT(u256_from_hex(&got, long_text + 1, 66, NULL), U256_OK); /* 64 digits */
    CHECK(u256_same(&got, &one));
}

int main(void)
{
    rng = harness_seed();
    RUN(test_basic_helpers);
    RUN(test_add_sub_boundaries);
    RUN(test_mul_boundaries);
    RUN(test_div_boundaries);
    RUN(test_mul_div_boundaries);
    RUN(test_div_add_back);
    RUN(test_dec_boundaries);
    RUN(test_dec_errors);
    RUN(test_hex_boundaries);
    RUN(test_hex_errors);
    RUN(test_add_sub_128);
    RUN(test_mul_128);
    RUN(test_divmod_128);
    RUN(test_mul_div_128);
    RUN(test_add_sub_256);
    RUN(test_mul_256);
    RUN(test_divmod_256);
    RUN(test_mul_div_256);
    RUN(test_dec_round_trip);
    RUN(test_hex_and_bytes_round_trip);
    return harness_finish();
}
