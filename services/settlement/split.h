/*
 * split.h - the royalty split engine: divides an amount of wei between the
 * payees of one split version, exactly (docs/architecture.md "Invariants",
 * Splits).
 *
 * A split version is 1..SPLIT_PAYEES_MAX shares {payee, share_bps}. It is
 * valid when every payee is a distinct non-zero address, every share_bps is in
 * 1..SPLIT_BPS_TOTAL and the share_bps add up to exactly SPLIT_BPS_TOTAL
 * (10000 = 100 %).
 *
 * The rule: part_i = floor(amount_wei * share_bps_i / 10000); what is left
 * over (amount_wei - sum of parts) goes to the share with the largest
 * share_bps, on a tie to the one with the lowest payee address (bytewise, as
 * the 20 bytes compare big-endian). The parts always add up to amount_wei.
 *
 * Exactness: amount_wei * share_bps may exceed 2^256, so the engine never
 * forms that product. It splits amount_wei = q * 10000 + r (r < 10000) and
 * computes part_i = q * share_bps_i + floor(r * share_bps_i / 10000), which
 * equals the rule for every u256 amount (q * 10000 * share_bps_i / 10000 is an
 * integer). Each step is checked u256 arithmetic; nothing wraps.
 *
 * Remainder bound: sum(q * share_bps_i) = q * 10000, so the remainder is
 * r - sum(floor(r * share_bps_i / 10000)) = sum(frac_i) where frac_i is the
 * fractional part of r * share_bps_i / 10000, each at most 9999/10000 < 1.
 * Hence the remainder is < the number of shares (at most 99 wei). The engine
 * ASSERTs this and that the parts sum to amount_wei (check.h: always on).
 *
 * Ownership: everything is caller-allocated plain values; nothing allocates,
 * nothing keeps a pointer. Pure functions, safe from any thread.
 */
#ifndef SETTLEMENT_SPLIT_H
#define SETTLEMENT_SPLIT_H

#include <stddef.h>
#include <stdint.h>

#include "address.h"
#include "err.h"
#include "u256.h"

#define SPLIT_PAYEES_MAX 100
#define SPLIT_BPS_TOTAL 10000u
#define SPLIT_SHARE_NONE ((size_t)-1) /* *bad_share when no single share is at fault */

struct split_share {
    struct address payee;
    uint32_t share_bps;
};

/* Stable result codes; numbers are never reused. */
enum split_result {
    SPLIT_OK = 0,
    SPLIT_ERR_NO_PAYEES = 1,       /* zero shares */
    SPLIT_ERR_TOO_MANY_PAYEES = 2, /* more than SPLIT_PAYEES_MAX shares */
    SPLIT_ERR_ZERO_PAYEE = 3,      /* payee is 0x000...0 (nobody could claim) */
    SPLIT_ERR_ZERO_BPS = 4,        /* share_bps is 0 */
    SPLIT_ERR_BPS_TOO_LARGE = 5,   /* share_bps above SPLIT_BPS_TOTAL */
    SPLIT_ERR_DUPLICATE_PAYEE = 6, /* the payee already has an earlier share */
    SPLIT_ERR_BPS_SUM = 7,         /* the share_bps do not add up to SPLIT_BPS_TOTAL */
    SPLIT_ERR_OVERFLOW = 8         /* u256 arithmetic failed (unreachable for valid shares) */
};

/* Checks a split version, in this order: the count (NO_PAYEES,
 * TOO_MANY_PAYEES), then each share from the first: ZERO_PAYEE, ZERO_BPS,
 * BPS_TOO_LARGE, DUPLICATE_PAYEE (against earlier shares); then BPS_SUM.
 * Returns SPLIT_OK or the first violation's code. On failure `e` (may be NULL)
 * gets the code and a message naming the offending payee (EIP-55) and bps,
 * e.g. "invalid bps for payee '0xAb…': 0", and *bad_share (may be NULL) the
 * index of the offending share, or SPLIT_SHARE_NONE for a count or sum
 * violation; on success *bad_share is SPLIT_SHARE_NONE and `e` is not touched. `shares` may be NULL
 * when shares_len is 0. This is the check the REST API applies to a new
 * split version. */
enum split_result split_validate(size_t *bad_share, const struct split_share *shares,
                                 size_t shares_len, struct err *e)
    __attribute__((warn_unused_result));

/* The index of the share that receives the remainder: the largest share_bps,
 * ties to the lowest payee address. shares_len must be at least 1 (asserted);
 * the shares need not be valid otherwise. */
size_t split_remainder_share(const struct split_share *shares, size_t shares_len);

/* Splits *amount_wei between `shares` (validated first, as split_validate()).
 * On SPLIT_OK parts_wei[i] is the part of shares[i] for every i <
 * shares_len; the caller allocates parts_wei with shares_len elements. On
 * failure parts_wei is left untouched and `e` (may be NULL) is filled as by
 * split_validate(). Aborts (ASSERT) if the parts would not add up to the
 * amount or the remainder were not below shares_len: both are bugs. */
enum split_result split_compute(struct u256 *parts_wei, const struct split_share *shares,
                                size_t shares_len, const struct u256 *amount_wei, struct err *e)
    __attribute__((warn_unused_result));

#endif
