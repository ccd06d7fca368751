/*
 * u256.c - unsigned 256-bit arithmetic on four uint64 limbs (see u256.h).
 *
 * Every operation computes into locals and copies to the output only on
 * success, which gives both "output unchanged on failure" and aliasing.
 * Products use unsigned __int128; division is Knuth's algorithm D (TAOCP
 * vol. 2, 4.3.1) on 64-bit digits, shared by u256_divmod (256/256) and
 * u256_mul_div_floor (512/256).
 */
#include "u256.h"

#include "hex.h"

#include <string.h>

#include "check.h"

__extension__ typedef unsigned __int128 u256_u128;

/* Largest dividend handled by the division helpers, in limbs (a 512-bit product). */
#define U256_WIDE_LIMBS 8
/* Output budget when quoting rejected text in error messages. */
#define U256_QUOTE_SIZE 96
#define U256_TEN_POW_19 10000000000000000000ULL

static size_t limbs_len(const uint64_t *x, size_t n);
static uint64_t limbs_shl(uint64_t *out, const uint64_t *in, size_t n, unsigned s);
static void limbs_shr(uint64_t *out, const uint64_t *in, size_t n, unsigned s);
static void limbs_mul(uint64_t *p, const uint64_t *a, size_t a_n, const uint64_t *b, size_t b_n);
static uint64_t limbs_mul_small_add(uint64_t *x, size_t n, uint64_t mul, uint64_t add);
static uint64_t limbs_div_small(uint64_t *q, const uint64_t *u, size_t n, uint64_t v);
static uint64_t knuth_estimate(const uint64_t *uj, const uint64_t *vn, size_t n);
static bool knuth_mul_sub(uint64_t *uj, const uint64_t *vn, size_t n, uint64_t qhat);
static void knuth_add_back(uint64_t *uj, const uint64_t *vn, size_t n);
static void knuth_divide(uint64_t *q, uint64_t *r, const uint64_t *u, size_t m, const uint64_t *v,
                         size_t n);
static void limbs_divmod(uint64_t q[U256_WIDE_LIMBS], uint64_t r[4], const uint64_t *u, size_t m,
                         const uint64_t v[4]);

/* ---- limb helpers ------------------------------------------------------- */

/* Number of significant limbs (0 for zero). */
static size_t limbs_len(const uint64_t *x, size_t n)
{
    while (n > 0 && x[n - 1] == 0)
        n--;
    return n;
}

/* out[0..n) = in[0..n) << s for 0 <= s < 64; returns the bits shifted out. */
static uint64_t limbs_shl(uint64_t *out, const uint64_t *in, size_t n, unsigned s)
{
    uint64_t carry = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t x = in[i];
        out[i] = s == 0 ? x : (x << s) | carry;
        carry = s == 0 ? 0 : x >> (64 - s);
    }
    return carry;
}

/* out[0..n) = in[0..n+1) >> s for 0 <= s < 64 (in has one extra high limb). */
static void limbs_shr(uint64_t *out, const uint64_t *in, size_t n, unsigned s)
{
    for (size_t i = 0; i < n; i++)
        out[i] = s == 0 ? in[i] : (in[i] >> s) | (in[i + 1] << (64 - s));
}

/* p[0..a_n+b_n) = a * b, schoolbook. */
static void limbs_mul(uint64_t *p, const uint64_t *a, size_t a_n, const uint64_t *b, size_t b_n)
{
    memset(p, 0, (a_n + b_n) * sizeof *p);
    for (size_t i = 0; i < a_n; i++) {
        uint64_t carry = 0;
        for (size_t j = 0; j < b_n; j++) {
            u256_u128 t = (u256_u128)a[i] * b[j] + p[i + j] + carry;
            p[i + j] = (uint64_t)t;
            carry = (uint64_t)(t >> 64);
        }
        p[i + b_n] = carry;
    }
}

/* x = x * mul + add in place; returns the limb carried out (0 if it fit). */
static uint64_t limbs_mul_small_add(uint64_t *x, size_t n, uint64_t mul, uint64_t add)
{
    uint64_t carry = add;
    for (size_t i = 0; i < n; i++) {
        u256_u128 t = (u256_u128)x[i] * mul + carry;
        x[i] = (uint64_t)t;
        carry = (uint64_t)(t >> 64);
    }
    return carry;
}

/* q[0..n) = u / v, returns u % v; v != 0; q may alias u. */
static uint64_t limbs_div_small(uint64_t *q, const uint64_t *u, size_t n, uint64_t v)
{
    ASSERT(v != 0);
    u256_u128 rem = 0;
    for (size_t i = n; i-- > 0;) {
        u256_u128 cur = (rem << 64) | u[i];
        q[i] = (uint64_t)(cur / v);
        rem = cur % v;
    }
    return (uint64_t)rem;
}

/* ---- Knuth algorithm D ---------------------------------------------------- */

/* Step D3: estimate the quotient digit from the top two digits of the current
 * remainder window uj[0..n] and the top digit of the normalised divisor, then
 * refine with the second divisor digit. The result is exact or one too big. */
static uint64_t knuth_estimate(const uint64_t *uj, const uint64_t *vn, size_t n)
{
    u256_u128 num = ((u256_u128)uj[n] << 64) | uj[n - 1];
    u256_u128 qhat = num / vn[n - 1];
    u256_u128 rhat = num % vn[n - 1];
    for (int k = 0; k < 2; k++) { /* Knuth: at most two corrections */
        if ((qhat >> 64) == 0 && qhat * vn[n - 2] <= ((rhat << 64) | uj[n - 2]))
            break;
        qhat--;
        rhat += vn[n - 1];
        if ((rhat >> 64) != 0)
            break;
    }
    ASSERT((qhat >> 64) == 0);
    return (uint64_t)qhat;
}

/* Step D4: uj[0..n] -= qhat * vn[0..n); returns true if the result went negative. */
static bool knuth_mul_sub(uint64_t *uj, const uint64_t *vn, size_t n, uint64_t qhat)
{
    uint64_t carry = 0, borrow = 0;
    for (size_t i = 0; i < n; i++) {
        u256_u128 p = (u256_u128)qhat * vn[i] + carry;
        carry = (uint64_t)(p >> 64);
        u256_u128 t = (u256_u128)uj[i] - (uint64_t)p - borrow;
        uj[i] = (uint64_t)t;
        borrow = (t >> 64) != 0;
    }
    u256_u128 t = (u256_u128)uj[n] - carry - borrow;
    uj[n] = (uint64_t)t;
    return (t >> 64) != 0;
}

/* Step D6: uj[0..n] += vn[0..n), dropping the final carry (it cancels the borrow). */
static void knuth_add_back(uint64_t *uj, const uint64_t *vn, size_t n)
{
    uint64_t carry = 0;
    for (size_t i = 0; i < n; i++) {
        u256_u128 t = (u256_u128)uj[i] + vn[i] + carry;
        uj[i] = (uint64_t)t;
        carry = (uint64_t)(t >> 64);
    }
    uj[n] += carry;
}

/* q[0..m-n] = u / v and r[0..n) = u % v, for 2 <= n <= 4, n <= m <= 8, v[n-1] != 0. */
static void knuth_divide(uint64_t *q, uint64_t *r, const uint64_t *u, size_t m, const uint64_t *v,
                         size_t n)
{
    ASSERT(n >= 2 && n <= 4 && m >= n && m <= U256_WIDE_LIMBS && v[n - 1] != 0);
    uint64_t un[U256_WIDE_LIMBS + 1], vn[4];
    unsigned s = (unsigned)__builtin_clzll(v[n - 1]);
    uint64_t out = limbs_shl(vn, v, n, s);
    ASSERT(out == 0);
    un[m] = limbs_shl(un, u, m, s);
    for (size_t j = m - n + 1; j-- > 0;) {
        uint64_t qhat = knuth_estimate(un + j, vn, n);
        if (knuth_mul_sub(un + j, vn, n, qhat)) {
            qhat--;
            knuth_add_back(un + j, vn, n);
        }
        q[j] = qhat;
    }
    ASSERT(un[n] == 0);
    limbs_shr(r, un, n, s);
}

/* q = u / v (m limbs of u, up to 8), r = u % v; v is 4 limbs and nonzero. */
static void limbs_divmod(uint64_t q[U256_WIDE_LIMBS], uint64_t r[4], const uint64_t *u, size_t m,
                         const uint64_t v[4])
{
    memset(q, 0, U256_WIDE_LIMBS * sizeof *q);
    memset(r, 0, 4 * sizeof *r);
    size_t v_n = limbs_len(v, 4), u_n = limbs_len(u, m);
    ASSERT(v_n > 0 && m <= U256_WIDE_LIMBS);
    if (u_n < v_n) {
        memcpy(r, u, u_n * sizeof *r);
        return;
    }
    if (v_n == 1) {
        r[0] = limbs_div_small(q, u, u_n, v[0]);
        return;
    }
    knuth_divide(q, r, u, u_n, v, v_n);
}

/* ---- basic ops ------------------------------------------------------------ */

struct u256 u256_from_u64(uint64_t v)
{
    struct u256 r = {{v, 0, 0, 0}};
    return r;
}

bool u256_is_zero(const struct u256 *a)
{
    return (a->limb[0] | a->limb[1] | a->limb[2] | a->limb[3]) == 0;
}

int u256_cmp(const struct u256 *a, const struct u256 *b)
{
    for (size_t i = 4; i-- > 0;) {
        if (a->limb[i] != b->limb[i])
            return a->limb[i] < b->limb[i] ? -1 : 1;
    }
    return 0;
}

bool u256_to_u64(uint64_t *out, const struct u256 *a)
{
    if ((a->limb[1] | a->limb[2] | a->limb[3]) != 0)
        return false;
    *out = a->limb[0];
    return true;
}

enum u256_result u256_add(struct u256 *out, const struct u256 *a, const struct u256 *b)
{
    struct u256 r;
    uint64_t carry = 0;
    for (size_t i = 0; i < 4; i++) {
        u256_u128 t = (u256_u128)a->limb[i] + b->limb[i] + carry;
        r.limb[i] = (uint64_t)t;
        carry = (uint64_t)(t >> 64);
    }
    if (carry != 0)
        return U256_ERR_OVERFLOW;
    *out = r;
    return U256_OK;
}

enum u256_result u256_sub(struct u256 *out, const struct u256 *a, const struct u256 *b)
{
    struct u256 r;
    uint64_t borrow = 0;
    for (size_t i = 0; i < 4; i++) {
        u256_u128 t = (u256_u128)a->limb[i] - b->limb[i] - borrow;
        r.limb[i] = (uint64_t)t;
        borrow = (t >> 64) != 0;
    }
    if (borrow != 0)
        return U256_ERR_UNDERFLOW;
    *out = r;
    return U256_OK;
}

enum u256_result u256_mul(struct u256 *out, const struct u256 *a, const struct u256 *b)
{
    uint64_t p[8];
    limbs_mul(p, a->limb, 4, b->limb, 4);
    if ((p[4] | p[5] | p[6] | p[7]) != 0)
        return U256_ERR_OVERFLOW;
    memcpy(out->limb, p, sizeof out->limb);
    return U256_OK;
}

enum u256_result u256_divmod(struct u256 *quot, struct u256 *rem, const struct u256 *a,
                             const struct u256 *b)
{
    if (u256_is_zero(b))
        return U256_ERR_DIV_ZERO;
    uint64_t q[U256_WIDE_LIMBS], r[4];
    limbs_divmod(q, r, a->limb, 4, b->limb);
    if (quot != NULL)
        memcpy(quot->limb, q, sizeof quot->limb);
    if (rem != NULL)
        memcpy(rem->limb, r, sizeof rem->limb);
    return U256_OK;
}

enum u256_result u256_mul_div_floor(struct u256 *out, const struct u256 *a, const struct u256 *b,
                                    const struct u256 *d)
{
    if (u256_is_zero(d))
        return U256_ERR_DIV_ZERO;
    uint64_t p[U256_WIDE_LIMBS], q[U256_WIDE_LIMBS], r[4];
    limbs_mul(p, a->limb, 4, b->limb, 4);
    limbs_divmod(q, r, p, U256_WIDE_LIMBS, d->limb);
    if ((q[4] | q[5] | q[6] | q[7]) != 0)
        return U256_ERR_OVERFLOW;
    memcpy(out->limb, q, sizeof out->limb);
    return U256_OK;
}

/* ---- text ----------------------------------------------------------------- */

enum u256_result u256_from_dec(struct u256 *out, const char *text, size_t text_len, struct err *e)
{
    char q[U256_QUOTE_SIZE];
    err_quote(q, sizeof q, text, text_len);
    if (text_len == 0)
        return (enum u256_result)err_set(e, U256_ERR_EMPTY, "empty decimal number ''");
    if (text_len > U256_DEC_DIGITS_MAX)
        return (enum u256_result)err_set(e, U256_ERR_TOO_LONG,
                                         "decimal number too long: %zu digits, maximum %d in '%s'",
                                         text_len, U256_DEC_DIGITS_MAX, q);
    for (size_t i = 0; i < text_len; i++) {
        if (text[i] < '0' || text[i] > '9')
            return (enum u256_result)err_set(e, U256_ERR_BAD_DIGIT,
                                             "invalid decimal digit at offset %zu in '%s'", i, q);
    }
    if (text_len > 1 && text[0] == '0')
        return (enum u256_result)err_set(e, U256_ERR_LEADING_ZERO,
                                         "leading zero in decimal number '%s'", q);
    struct u256 r = u256_zero();
    for (size_t i = 0; i < text_len; i++) {
        if (limbs_mul_small_add(r.limb, 4, 10, (uint64_t)(text[i] - '0')) != 0)
            return (enum u256_result)err_set(e, U256_ERR_OVERFLOW,
                                             "decimal number out of range (>= 2^256) '%s'", q);
    }
    *out = r;
    return U256_OK;
}

void u256_to_dec(char out[U256_DEC_SIZE], const struct u256 *a)
{
    uint64_t x[4];
    memcpy(x, a->limb, sizeof x);
    char rev[U256_DEC_SIZE];
    size_t n = 0;
    for (int chunk = 0; chunk < 5; chunk++) { /* 5 * 19 digits > 78 */
        uint64_t rem = limbs_div_small(x, x, 4, U256_TEN_POW_19);
        bool last = limbs_len(x, 4) == 0;
        for (int k = 0; k < 19 && (!last || rem != 0 || n == 0); k++) {
            ASSERT(n < U256_DEC_DIGITS_MAX);
            rev[n++] = (char)('0' + rem % 10);
            rem /= 10;
        }
        if (last)
            break;
    }
    for (size_t i = 0; i < n; i++)
        out[i] = rev[n - 1 - i];
    out[n] = '\0';
}

void u256_to_be32(uint8_t out[32], const struct u256 *a)
{
    for (size_t i = 0; i < 32; i++)
        out[31 - i] = (uint8_t)(a->limb[i / 8] >> (8 * (i % 8)));
}

struct u256 u256_from_be32(const uint8_t in[32])
{
    struct u256 r = u256_zero();
    for (size_t i = 0; i < 32; i++)
        r.limb[i / 8] |= (uint64_t)in[31 - i] << (8 * (i % 8));
    return r;
}

size_t u256_to_be_min(uint8_t out[32], const struct u256 *a)
{
    uint8_t be[32];
    u256_to_be32(be, a);
    size_t skip = 0;
    while (skip < 32 && be[skip] == 0)
        skip++;
    memcpy(out, be + skip, 32 - skip);
    return 32 - skip;
}

enum u256_result u256_from_hex(struct u256 *out, const char *text, size_t text_len, struct err *e)
{
    char q[U256_QUOTE_SIZE];
    err_quote(q, sizeof q, text, text_len);
    if (text_len == 0)
        return (enum u256_result)err_set(e, U256_ERR_EMPTY, "empty hex quantity ''");
    if (text_len < 2 || text[0] != '0' || text[1] != 'x')
        return (enum u256_result)err_set(e, U256_ERR_BAD_DIGIT,
                                         "missing 0x prefix in hex quantity '%s'", q);
    size_t digits = text_len - 2;
    if (digits == 0)
        return (enum u256_result)err_set(e, U256_ERR_EMPTY, "no digits in hex quantity '%s'", q);
    if (digits > 64)
        return (enum u256_result)err_set(e, U256_ERR_TOO_LONG,
                                         "hex quantity too long: %zu digits, maximum 64 in '%s'",
                                         digits, q);
    struct u256 r = u256_zero();
    for (size_t i = 2; i < text_len; i++) {
        int v = hex_digit_value(text[i]);
        if (v < 0)
            return (enum u256_result)err_set(e, U256_ERR_BAD_DIGIT,
                                             "invalid hex digit at offset %zu in '%s'", i, q);
        uint64_t top = limbs_shl(r.limb, r.limb, 4, 4);
        ASSERT(top == 0);
        r.limb[0] |= (uint64_t)v;
    }
    *out = r;
    return U256_OK;
}

void u256_to_hex(char out[U256_HEX_SIZE], const struct u256 *a)
{
    size_t o = 0;
    out[o++] = '0';
    out[o++] = 'x';
    bool started = false;
    for (size_t i = 64; i-- > 0;) {
        unsigned nibble = (unsigned)(a->limb[i / 16] >> (4 * (i % 16))) & 0x0fu;
        started |= nibble != 0 || i == 0;
        if (started)
            out[o++] = hex_digit_char(nibble);
    }
    out[o] = '\0';
}
