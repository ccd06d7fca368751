/*
 * keccak.c - Keccak-f[1600] and the Keccak-256 sponge (see keccak.h).
 * Straightforward 64-bit lane implementation, little-endian lane loads.
 */
#include "keccak.h"

#include <string.h>

static void keccak_f1600(uint64_t st[25]);
static uint64_t load64_le(const uint8_t *p);
static void store64_le(uint8_t *p, uint64_t v);

static const uint64_t round_consts[24] = {
    0x0000000000000001ULL, 0x0000000000008082ULL, 0x800000000000808aULL, 0x8000000080008000ULL,
    0x000000000000808bULL, 0x0000000080000001ULL, 0x8000000080008081ULL, 0x8000000000008009ULL,
    0x000000000000008aULL, 0x0000000000000088ULL, 0x0000000080008009ULL, 0x000000008000000aULL,
    0x000000008000808bULL, 0x800000000000008bULL, 0x8000000000008089ULL, 0x8000000000008003ULL,
    0x8000000000008002ULL, 0x8000000000000080ULL, 0x000000000000800aULL, 0x800000008000000aULL,
    0x8000000080008081ULL, 0x8000000000008080ULL, 0x0000000080000001ULL, 0x8000000080008008ULL,
};

static const unsigned rho_offsets[25] = {
    0, 1, 62, 28, 27, 36, 44, 6, 55, 20, 3, 10, 43, 25, 39, 41, 45, 15, 21, 8, 18, 2, 61, 56, 14,
};

static inline uint64_t rotl64(uint64_t x, unsigned n)
{
    return n == 0 ? x : (x << n) | (x >> (64 - n));
}

static void keccak_f1600(uint64_t st[25])
{
    uint64_t c[5], d[5], b[25];
    for (int round = 0; round < 24; round++) {
        for (int x = 0; x < 5; x++)
            c[x] = st[x] ^ st[x + 5] ^ st[x + 10] ^ st[x + 15] ^ st[x + 20];
        for (int x = 0; x < 5; x++)
            d[x] = c[(x + 4) % 5] ^ rotl64(c[(x + 1) % 5], 1);
        for (int i = 0; i < 25; i++)
            st[i] ^= d[i % 5];
        /* rho and pi: b[y, 2x+3y] = rot(a[x,y], r[x,y]) */
        for (int x = 0; x < 5; x++)
            for (int y = 0; y < 5; y++)
                b[y + 5 * ((2 * x + 3 * y) % 5)] = rotl64(st[x + 5 * y], rho_offsets[x + 5 * y]);
        /* chi */
        for (int y = 0; y < 5; y++)
            for (int x = 0; x < 5; x++)
                st[x + 5 * y] =
                    b[x + 5 * y] ^ (~b[(x + 1) % 5 + 5 * y] & b[(x + 2) % 5 + 5 * y]);
        /* iota */
        st[0] ^= round_consts[round];
    }
}

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
