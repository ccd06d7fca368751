/*
 * keccak.c - Keccak-f[1600] and the Keccak-256 sponge (see keccak.h).
 *
 * The permutation keeps all 25 lanes in local variables so the compiler can
 * hold them in registers, and runs two rounds per loop iteration: round one
 * reads lanes a.. and writes lanes e.., round two reads e.. and writes a..,
 * so no lane is copied between rounds. Rho and pi are folded into constant
 * rotations and a fixed choice of input lane per output lane.
 *
 * Lane names are <prefix><y><x>: row y, column x, which is state[5 * y + x].
 * Lanes are little-endian in memory; a big-endian host takes the portable
 * byte-by-byte path in load64_le/store64_le.
 */
#include "keccak.h"

#include <string.h>

static void keccak_f1600(uint64_t st[25]);
static uint64_t load64_le(const uint8_t *p);
static void store64_le(uint8_t *p, uint64_t v);
static void absorb_block(uint64_t st[25], const uint8_t *block);

static const uint64_t round_consts[24] = {
    0x0000000000000001ULL, 0x0000000000008082ULL, 0x800000000000808aULL, 0x8000000080008000ULL,
    0x000000000000808bULL, 0x0000000080000001ULL, 0x8000000080008081ULL, 0x8000000000008009ULL,
    0x000000000000008aULL, 0x0000000000000088ULL, 0x0000000080008009ULL, 0x000000008000000aULL,
    0x000000008000808bULL, 0x800000000000008bULL, 0x8000000000008089ULL, 0x8000000000008003ULL,
    0x8000000000008002ULL, 0x8000000000000080ULL, 0x000000000000800aULL, 0x800000008000000aULL,
    0x8000000080008081ULL, 0x8000000000008080ULL, 0x0000000080000001ULL, 0x8000000080008008ULL,
};

/* n must be in 1..63: a shift by 64 is undefined. Compiles to one rotate. */
#define ROTL64(x, n) (((x) << (n)) | ((x) >> (64 - (n))))

/* theta: column parities c0..c4 of lanes A, then the per-column masks d0..d4 */
#define KECCAK_THETA(A)                                                                            \
    do {                                                                                           \
        c0 = A##00 ^ A##10 ^ A##20 ^ A##30 ^ A##40;                                                \
        c1 = A##01 ^ A##11 ^ A##21 ^ A##31 ^ A##41;                                                \
        c2 = A##02 ^ A##12 ^ A##22 ^ A##32 ^ A##42;                                                \
        c3 = A##03 ^ A##13 ^ A##23 ^ A##33 ^ A##43;                                                \
        c4 = A##04 ^ A##14 ^ A##24 ^ A##34 ^ A##44;                                                \
        d0 = c4 ^ ROTL64(c1, 1);                                                                   \
        d1 = c0 ^ ROTL64(c2, 1);                                                                   \
        d2 = c1 ^ ROTL64(c3, 1);                                                                   \
        d3 = c2 ^ ROTL64(c4, 1);                                                                   \
        d4 = c3 ^ ROTL64(c0, 1);                                                                   \
    } while (0)

/* chi: combine b0..b4 (one row after rho and pi) into output row y of E */
#define KECCAK_CHI_ROW(E, y)                                                                       \
    do {                                                                                           \
        E##y##0 = b0 ^ (~b1 & b2);                                                                 \
        E##y##1 = b1 ^ (~b2 & b3);                                                                 \
        E##y##2 = b2 ^ (~b3 & b4);                                                                 \
        E##y##3 = b3 ^ (~b4 & b0);                                                                 \
        E##y##4 = b4 ^ (~b0 & b1);                                                                 \
    } while (0)

/*
 * One full round from lanes A into lanes E. Output (x', y') takes input lane
 * (x, y) = ((x' + 3y') mod 5, x') after theta, rotated by its rho offset;
 * each group of five b = ... lines below is one output row y'.
 */
#define KECCAK_ROUND(A, E, rc)                                                                     \
    do {                                                                                           \
        KECCAK_THETA(A);                                                                           \
        b0 = A##00 ^ d0; /* lane (0,0) has rho offset 0 */                                         \
        b1 = ROTL64(A##11 ^ d1, 44);                                                               \
        b2 = ROTL64(A##22 ^ d2, 43);                                                               \
        b3 = ROTL64(A##33 ^ d3, 21);                                                               \
        b4 = ROTL64(A##44 ^ d4, 14);                                                               \
        KECCAK_CHI_ROW(E, 0);                                                                      \
        E##00 ^= (rc); /* iota */                                                                  \
        b0 = ROTL64(A##03 ^ d3, 28);                                                               \
        b1 = ROTL64(A##14 ^ d4, 20);                                                               \
        b2 = ROTL64(A##20 ^ d0, 3);                                                                \
        b3 = ROTL64(A##31 ^ d1, 45);                                                               \
        b4 = ROTL64(A##42 ^ d2, 61);                                                               \
        KECCAK_CHI_ROW(E, 1);                                                                      \
        b0 = ROTL64(A##01 ^ d1, 1);                                                                \
        b1 = ROTL64(A##12 ^ d2, 6);                                                                \
        b2 = ROTL64(A##23 ^ d3, 25);                                                               \
        b3 = ROTL64(A##34 ^ d4, 8);                                                                \
        b4 = ROTL64(A##40 ^ d0, 18);                                                               \
        KECCAK_CHI_ROW(E, 2);                                                                      \
        b0 = ROTL64(A##04 ^ d4, 27);                                                               \
        b1 = ROTL64(A##10 ^ d0, 36);                                                               \
        b2 = ROTL64(A##21 ^ d1, 10);                                                               \
        b3 = ROTL64(A##32 ^ d2, 15);                                                               \
        b4 = ROTL64(A##43 ^ d3, 56);                                                               \
        KECCAK_CHI_ROW(E, 3);                                                                      \
        b0 = ROTL64(A##02 ^ d2, 62);                                                               \
        b1 = ROTL64(A##13 ^ d3, 55);                                                               \
        b2 = ROTL64(A##24 ^ d4, 39);                                                               \
        b3 = ROTL64(A##30 ^ d0, 41);                                                               \
        b4 = ROTL64(A##41 ^ d1, 2);                                                                \
        KECCAK_CHI_ROW(E, 4);                                                                      \
    } while (0)

/* The 24-round permutation; st[5 * y + x] is lane (x, y). */
static void keccak_f1600(uint64_t st[25])
{
    uint64_t a00 = st[0], a01 = st[1], a02 = st[2], a03 = st[3], a04 = st[4];
    uint64_t a10 = st[5], a11 = st[6], a12 = st[7], a13 = st[8], a14 = st[9];
    uint64_t a20 = st[10], a21 = st[11], a22 = st[12], a23 = st[13], a24 = st[14];
    uint64_t a30 = st[15], a31 = st[16], a32 = st[17], a33 = st[18], a34 = st[19];
    uint64_t a40 = st[20], a41 = st[21], a42 = st[22], a43 = st[23], a44 = st[24];
    uint64_t e00, e01, e02, e03, e04, e10, e11, e12, e13, e14, e20, e21, e22, e23, e24;
    uint64_t e30, e31, e32, e33, e34, e40, e41, e42, e43, e44;
    uint64_t b0, b1, b2, b3, b4, c0, c1, c2, c3, c4, d0, d1, d2, d3, d4;

    for (int round = 0; round < 24; round += 2) {
        KECCAK_ROUND(a, e, round_consts[round]);
        KECCAK_ROUND(e, a, round_consts[round + 1]);
    }

    st[0] = a00, st[1] = a01, st[2] = a02, st[3] = a03, st[4] = a04;
    st[5] = a10, st[6] = a11, st[7] = a12, st[8] = a13, st[9] = a14;
    st[10] = a20, st[11] = a21, st[12] = a22, st[13] = a23, st[14] = a24;
    st[15] = a30, st[16] = a31, st[17] = a32, st[18] = a33, st[19] = a34;
    st[20] = a40, st[21] = a41, st[22] = a42, st[23] = a43, st[24] = a44;
}

#if defined(__BYTE_ORDER__) && defined(__ORDER_LITTLE_ENDIAN__) &&                                 \
    __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
/* Little-endian host: a lane is its bytes as-is; memcpy handles alignment. */
static uint64_t load64_le(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

static void store64_le(uint8_t *p, uint64_t v)
{
    memcpy(p, &v, sizeof v);
}
#else
/* Portable fallback for big-endian (or unknown) hosts. */
static uint64_t load64_le(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static void store64_le(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}
#endif

/* XOR one rate-sized block into the state, then permute. */
static void absorb_block(uint64_t st[25], const uint8_t *block)
{
    for (int i = 0; i < KECCAK256_RATE_BYTES / 8; i++)
        st[i] ^= load64_le(block + 8 * i);
    keccak_f1600(st);
}

void keccak_init(struct keccak *k)
{
    memset(k, 0, sizeof *k);
}

void keccak_update(struct keccak *k, const void *data, size_t data_len)
{
    const uint8_t *p = data;
    if (data_len == 0)
        return;
    if (k->buf_len > 0) {
        size_t take = KECCAK256_RATE_BYTES - k->buf_len;
        if (take > data_len)
            take = data_len;
        memcpy(k->buf + k->buf_len, p, take);
        k->buf_len += take;
        p += take;
        data_len -= take;
        if (k->buf_len < KECCAK256_RATE_BYTES)
            return;
        absorb_block(k->state, k->buf);
        k->buf_len = 0;
    }
    while (data_len >= KECCAK256_RATE_BYTES) {
        absorb_block(k->state, p);
        p += KECCAK256_RATE_BYTES;
        data_len -= KECCAK256_RATE_BYTES;
    }
    if (data_len > 0) {
        memcpy(k->buf, p, data_len);
        k->buf_len = data_len;
    }
}

void keccak_final(struct keccak *k, uint8_t out[KECCAK256_BYTES])
{
    memset(k->buf + k->buf_len, 0, KECCAK256_RATE_BYTES - k->buf_len);
    k->buf[k->buf_len] ^= 0x01;
    k->buf[KECCAK256_RATE_BYTES - 1] ^= 0x80;
    absorb_block(k->state, k->buf);
    for (int i = 0; i < KECCAK256_BYTES / 8; i++)
        store64_le(out + 8 * i, k->state[i]);
    memset(k, 0, sizeof *k);
}

void keccak256(uint8_t out[KECCAK256_BYTES], const void *data, size_t data_len)
{
    struct keccak k;
    keccak_init(&k);
    keccak_update(&k, data, data_len);
    keccak_final(&k, out);
}
