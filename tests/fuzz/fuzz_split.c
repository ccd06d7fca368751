/*
 * fuzz_split.c - split_validate() and split_compute() on arbitrary shares and
 * amounts.
 *
 * Input: byte 0 flags, byte 1 the share count (0..255, so counts above
 * SPLIT_PAYEES_MAX occur), 32 bytes of amount (big-endian; bit 1 inverts
 * them, so short inputs give amounts near 2^256), then 3 bytes per share: a
 * payee selector (0 is the zero address; otherwise byte 0 of the address is
 * (sel >> 4) * 0x11 and byte 19 is sel & 15, so equal selectors are duplicate
 * payees and the bytewise order is not the selector order) and a big-endian
 * 16-bit bps. Bits 2-3 map the bps: raw, raw % 10001, 1 + raw % 100 (room for
 * 100 shares), raw % 3 (zeros and ties). Bit 0 sets the last share's bps to
 * 10000 minus the others when that is positive, so valid splits are common.
 * Properties:
 *   - split_validate() returns exactly the code of a model of the documented
 *     check order, blames the model's share, and fills e on error;
 *   - split_compute() returns the same code; on error the parts are
 *     untouched and e holds the code and a message;
 *   - on success the parts sum to the amount, every part but the remainder
 *     share's is floor(amount * bps / 10000) (u256_mul_div_floor), the
 *     remainder share has the largest bps and, among those, the lowest
 *     address, and its extra is below the share count.
 */
#include "fuzz.h"
#include "split.h"

#define FUZZ_SPLIT_SHARES_MAX 255

static void fuzz_split_read(struct split_share *shares, size_t n, uint8_t flags,
                            struct fuzz_in *in);
static enum split_result fuzz_split_model(size_t *bad, const struct split_share *shares, size_t n);
static void fuzz_split_check_ok(const struct u256 *parts, const struct split_share *shares,
                                size_t n, const struct u256 *amount);

static void fuzz_split_read(struct split_share *shares, size_t n, uint8_t flags, struct fuzz_in *in)
{
    uint32_t others = 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t sel = fuzz_take_byte(in);
        memset(&shares[i].payee, 0, sizeof shares[i].payee);
        if (sel != 0) {
            shares[i].payee.bytes[0] = (uint8_t)((sel >> 4) * 0x11);
            shares[i].payee.bytes[ADDRESS_BYTES - 1] = (uint8_t)(sel & 15);
        }
        uint32_t raw = (uint32_t)fuzz_take_byte(in) << 8;
        raw |= fuzz_take_byte(in);
        static const uint32_t mod[4] = {65536, 10001, 100, 3};
        uint32_t m = mod[(flags >> 2) & 3];
        shares[i].share_bps = (m == 100 ? 1 : 0) + raw % m;
        if (i + 1 < n)
            others += shares[i].share_bps;
    }
    if ((flags & 1) && n > 0 && others < SPLIT_BPS_TOTAL)
        shares[n - 1].share_bps = SPLIT_BPS_TOTAL - others;
}

/* The documented order: count, then per share zero payee, zero bps, bps too large, duplicate
 * of an earlier payee, then the sum. */
static enum split_result fuzz_split_model(size_t *bad, const struct split_share *shares, size_t n)
{
    static const uint8_t zero[ADDRESS_BYTES];
    *bad = SPLIT_SHARE_NONE;
    if (n == 0)
        return SPLIT_ERR_NO_PAYEES;
    if (n > SPLIT_PAYEES_MAX)
        return SPLIT_ERR_TOO_MANY_PAYEES;
    uint64_t sum = 0;
    for (size_t i = 0; i < n; i++) {
        *bad = i;
        if (memcmp(shares[i].payee.bytes, zero, ADDRESS_BYTES) == 0)
            return SPLIT_ERR_ZERO_PAYEE;
        if (shares[i].share_bps == 0)
            return SPLIT_ERR_ZERO_BPS;
        if (shares[i].share_bps > 10000)
            return SPLIT_ERR_BPS_TOO_LARGE;
        for (size_t j = 0; j < i; j++)
            if (memcmp(shares[i].payee.bytes, shares[j].payee.bytes, ADDRESS_BYTES) == 0)
                return SPLIT_ERR_DUPLICATE_PAYEE;
        sum += shares[i].share_bps;
    }
    *bad = SPLIT_SHARE_NONE;
    return sum == 10000 ? SPLIT_OK : SPLIT_ERR_BPS_SUM;
}

static void fuzz_split_check_ok(const struct u256 *parts, const struct split_share *shares,
                                size_t n, const struct u256 *amount)
{
    const struct u256 ten_k = u256_from_u64(10000), count = u256_from_u64(n);
    struct u256 sum = u256_zero();
    size_t extra_shares = 0;
    for (size_t i = 0; i < n; i++) {
        struct u256 bps = u256_from_u64(shares[i].share_bps), floor_part, extra;
        FUZZ_CHECK(u256_mul_div_floor(&floor_part, amount, &bps, &ten_k) == U256_OK);
        FUZZ_CHECK(u256_sub(&extra, &parts[i], &floor_part) == U256_OK);
        FUZZ_CHECK(u256_cmp(&extra, &count) < 0);
        FUZZ_CHECK(u256_add(&sum, &sum, &parts[i]) == U256_OK);
        if (u256_is_zero(&extra))
            continue;
        extra_shares++;
        for (size_t j = 0; j < n; j++) { /* the remainder share beats every other share */
            FUZZ_CHECK(shares[i].share_bps >= shares[j].share_bps);
            FUZZ_CHECK(shares[i].share_bps > shares[j].share_bps ||
                       memcmp(shares[i].payee.bytes, shares[j].payee.bytes, ADDRESS_BYTES) <= 0);
        }
    }
    FUZZ_CHECK(extra_shares <= 1);
    FUZZ_CHECK(u256_cmp(&sum, amount) == 0);
    size_t w = split_remainder_share(shares, n);
    for (size_t j = 0; j < n; j++)
        FUZZ_CHECK(shares[w].share_bps > shares[j].share_bps ||
                   (shares[w].share_bps == shares[j].share_bps &&
                    memcmp(shares[w].payee.bytes, shares[j].payee.bytes, ADDRESS_BYTES) <= 0));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_in in = {data, size};
    uint8_t flags = fuzz_take_byte(&in);
    size_t n = fuzz_take_byte(&in);
    uint8_t be[32];
    fuzz_take_bytes(be, sizeof be, &in);
    for (size_t i = 0; (flags & 2) && i < sizeof be; i++)
        be[i] = (uint8_t)~be[i];
    const struct u256 amount = u256_from_be32(be);
    static struct split_share shares[FUZZ_SPLIT_SHARES_MAX];
    fuzz_split_read(shares, n, flags, &in);

    size_t want_bad, bad = 777;
    enum split_result want = fuzz_split_model(&want_bad, shares, n);
    struct err e;
    fuzz_err_prime(&e);
    enum split_result r = split_validate(&bad, shares, n, &e);
    FUZZ_CHECK(r == want && bad == want_bad);
    FUZZ_CHECK(r == SPLIT_OK ? fuzz_err_is_untouched(&e) : fuzz_err_is_set(&e, (int)r));

    static struct u256 parts[FUZZ_SPLIT_SHARES_MAX], before[FUZZ_SPLIT_SHARES_MAX];
    memset(parts, 0x5c, sizeof parts);
    memcpy(before, parts, sizeof parts);
    fuzz_err_prime(&e);
    FUZZ_CHECK(split_compute(parts, shares, n, &amount, &e) == r);
    if (r != SPLIT_OK) {
        FUZZ_CHECK(fuzz_err_is_set(&e, (int)r));
        FUZZ_CHECK(memcmp(parts, before, sizeof parts) == 0);
        return 0;
    }
    FUZZ_CHECK(memcmp(parts + n, before + n, sizeof parts - n * sizeof parts[0]) == 0);
    fuzz_split_check_ok(parts, shares, n, &amount);
    return 0;
}
