/*
 * split.c - the royalty split engine (see split.h for the rule, the exact
 * method and why the remainder is below the number of shares).
 */
#include "split.h"

#include <inttypes.h>
#include <string.h>

#include "check.h"

static enum split_result split_check_share(const struct split_share *shares, size_t i,
                                           struct err *e);
static enum split_result split_fill_floor(struct u256 *parts_wei, const struct split_share *shares,
                                          size_t shares_len, const struct u256 *amount_wei,
                                          struct err *e);
static void split_assert_sum(const struct u256 *parts_wei, size_t parts_len,
                             const struct u256 *amount_wei);

/* The per-share checks of split_validate() for shares[i], in documented order. The payee's
 * text (a Keccak hash for the checksum) is made only for a message. */
static enum split_result split_check_share(const struct split_share *shares, size_t i,
                                           struct err *e)
{
    const struct split_share *s = &shares[i];
    size_t dup = i;
    for (size_t j = 0; j < i && dup == i; j++)
        if (address_eq(&shares[j].payee, &s->payee))
            dup = j;
    enum split_result r = address_is_zero(&s->payee)       ? SPLIT_ERR_ZERO_PAYEE
                          : s->share_bps == 0              ? SPLIT_ERR_ZERO_BPS
                          : s->share_bps > SPLIT_BPS_TOTAL ? SPLIT_ERR_BPS_TOO_LARGE
                          : dup != i                       ? SPLIT_ERR_DUPLICATE_PAYEE
                                                           : SPLIT_OK;
    if (r == SPLIT_OK || e == NULL)
        return r;
    char payee[ADDRESS_TEXT_SIZE];
    address_format_checksum(payee, &s->payee);
    switch (r) {
    case SPLIT_ERR_ZERO_PAYEE:
        err_set(e, r, "invalid payee at share %zu: '%s' is the zero address", i, payee);
        break;
    case SPLIT_ERR_DUPLICATE_PAYEE:
        err_set(e, r, "duplicate payee '%s': shares %zu and %zu", payee, dup, i);
        break;
    default: /* zero or too large */
        err_set(e, r, "invalid bps for payee '%s': %" PRIu32 " (must be 1..%u)", payee,
                s->share_bps, SPLIT_BPS_TOTAL);
        break;
    }
    return r;
}

enum split_result split_validate(size_t *bad_share, const struct split_share *shares,
                                 size_t shares_len, struct err *e)
{
    if (bad_share != NULL)
        *bad_share = SPLIT_SHARE_NONE;
    if (shares_len == 0)
        return (enum split_result)err_set(e, SPLIT_ERR_NO_PAYEES,
                                          "empty split: at least one payee is required");
    if (shares_len > SPLIT_PAYEES_MAX)
        return (enum split_result)err_set(e, SPLIT_ERR_TOO_MANY_PAYEES,
                                          "too many payees in split: %zu (max %d)", shares_len,
                                          SPLIT_PAYEES_MAX);
    uint32_t sum_bps = 0; /* each share_bps <= 10000 once checked: at most 1,000,000 */
    for (size_t i = 0; i < shares_len; i++) {
        enum split_result r = split_check_share(shares, i, e);
        if (r != SPLIT_OK) {
            if (bad_share != NULL)
                *bad_share = i;
            return r;
        }
        sum_bps += shares[i].share_bps;
    }
    if (sum_bps != SPLIT_BPS_TOTAL)
        return (enum split_result)err_set(e, SPLIT_ERR_BPS_SUM,
                                          "invalid bps sum: %" PRIu32 " (must be exactly %u)",
                                          sum_bps, SPLIT_BPS_TOTAL);
    return SPLIT_OK;
}

size_t split_remainder_share(const struct split_share *shares, size_t shares_len)
{
    ASSERT(shares_len >= 1);
    size_t best = 0;
    for (size_t i = 1; i < shares_len; i++) {
        const struct split_share *s = &shares[i], *b = &shares[best];
        if (s->share_bps > b->share_bps ||
            (s->share_bps == b->share_bps &&
             memcmp(s->payee.bytes, b->payee.bytes, ADDRESS_BYTES) < 0))
            best = i;
    }
    return best;
}

/* parts_wei[i] = q * bps_i + floor(r * bps_i / 10000) where amount = q * 10000 + r. */
static enum split_result split_fill_floor(struct u256 *parts_wei, const struct split_share *shares,
                                          size_t shares_len, const struct u256 *amount_wei,
                                          struct err *e)
{
    const struct u256 total = u256_from_u64(SPLIT_BPS_TOTAL);
    struct u256 q, r;
    uint64_t r_small = 0;
    if (u256_divmod(&q, &r, amount_wei, &total) != U256_OK || !u256_to_u64(&r_small, &r))
        return (enum split_result)err_set(e, SPLIT_ERR_OVERFLOW, "split arithmetic failed: divmod");
    for (size_t i = 0; i < shares_len; i++) {
        const struct u256 bps = u256_from_u64(shares[i].share_bps);
        /* r_small < 10000 and share_bps <= 10000: the product is below 10^8. */
        const struct u256 low = u256_from_u64(r_small * shares[i].share_bps / SPLIT_BPS_TOTAL);
        struct u256 high;
        if (u256_mul(&high, &q, &bps) != U256_OK || u256_add(&parts_wei[i], &high, &low) != U256_OK)
            return (enum split_result)err_set(e, SPLIT_ERR_OVERFLOW,
                                              "split arithmetic overflowed at share %zu", i);
    }
    return SPLIT_OK;
}

/* ASSERTs that the parts add up to *amount_wei exactly (without wrapping). */
static void split_assert_sum(const struct u256 *parts_wei, size_t parts_len,
                             const struct u256 *amount_wei)
{
    struct u256 sum = u256_zero();
    for (size_t i = 0; i < parts_len; i++)
        ASSERT(u256_add(&sum, &sum, &parts_wei[i]) == U256_OK);
    ASSERT(u256_cmp(&sum, amount_wei) == 0);
}

enum split_result split_compute(struct u256 *parts_wei, const struct split_share *shares,
                                size_t shares_len, const struct u256 *amount_wei, struct err *e)
{
    enum split_result r = split_validate(NULL, shares, shares_len, e);
    if (r != SPLIT_OK)
        return r;
    struct u256 parts[SPLIT_PAYEES_MAX]; /* parts_wei is written only on success */
    r = split_fill_floor(parts, shares, shares_len, amount_wei, e);
    if (r != SPLIT_OK)
        return r;

    struct u256 floor_sum = u256_zero(), rest;
    for (size_t i = 0; i < shares_len; i++)
        ASSERT(u256_add(&floor_sum, &floor_sum, &parts[i]) == U256_OK);
    /* Each floor part is at most its exact share, so the sum never exceeds the amount. */
    ASSERT(u256_sub(&rest, amount_wei, &floor_sum) == U256_OK);
    const struct u256 bound = u256_from_u64(shares_len);
    ASSERT(u256_cmp(&rest, &bound) < 0); /* split.h: remainder < number of shares */

    size_t winner = split_remainder_share(shares, shares_len);
    ASSERT(u256_add(&parts[winner], &parts[winner], &rest) == U256_OK);
    split_assert_sum(parts, shares_len, amount_wei);
    memcpy(parts_wei, parts, shares_len * sizeof parts[0]);
    return SPLIT_OK;
}
