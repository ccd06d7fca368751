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

/* rho rotation amounts and pi lane order, walked as one 24-step cycle */
static const unsigned rho_rot[24] = {1,  3,  6,  10, 15, 21, 28, 36, 45, 55, 2,  14,
                                     27, 41, 56, 8,  25, 43, 62, 18, 39, 61, 20, 44};
static const unsigned pi_lane[24] = {10, 7,  11, 17, 18, 3, 5,  16, 8,  21, 24, 4,
                                     15, 23, 19, 13, 12, 2, 20, 14, 22, 9,  6,  1};

#define ROTL64(x, n) (((x) << (n)) | ((x) >> (64 - (n))))

static void keccak_f1600(uint64_t st[25])
{
    uint64_t bc0, bc1, bc2, bc3, bc4, t;
    for (int round = 0; round < 24; round++) {
        /* theta */
        bc0 = st[0] ^ st[5] ^ st[10] ^ st[15] ^ st[20];
        bc1 = st[1] ^ st[6] ^ st[11] ^ st[16] ^ st[21];
        bc2 = st[2] ^ st[7] ^ st[12] ^ st[17] ^ st[22];
        bc3 = st[3] ^ st[8] ^ st[13] ^ st[18] ^ st[23];
        bc4 = st[4] ^ st[9] ^ st[14] ^ st[19] ^ st[24];
        uint64_t d0 = bc4 ^ ROTL64(bc1, 1), d1 = bc0 ^ ROTL64(bc2, 1), d2 = bc1 ^ ROTL64(bc3, 1),
                 d3 = bc2 ^ ROTL64(bc4, 1), d4 = bc3 ^ ROTL64(bc0, 1);
        for (int j = 0; j < 25; j += 5) {
            st[j] ^= d0;
            st[j + 1] ^= d1;
            st[j + 2] ^= d2;
            st[j + 3] ^= d3;
            st[j + 4] ^= d4;
        }
        /* rho and pi */
        t = st[1];
        for (int i = 0; i < 24; i++) {
            unsigned j = pi_lane[i];
            uint64_t next = st[j];
            st[j] = ROTL64(t, rho_rot[i]);
            t = next;
        }
        /* chi */
        for (int j = 0; j < 25; j += 5) {
            bc0 = st[j];
            bc1 = st[j + 1];
            bc2 = st[j + 2];
            bc3 = st[j + 3];
            bc4 = st[j + 4];
            st[j] = bc0 ^ (~bc1 & bc2);
            st[j + 1] = bc1 ^ (~bc2 & bc3);
            st[j + 2] = bc2 ^ (~bc3 & bc4);
            st[j + 3] = bc3 ^ (~bc4 & bc0);
            st[j + 4] = bc4 ^ (~bc0 & bc1);
        }
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
