/*
 * keccak.h - Keccak-256 as used by Ethereum (original Keccak padding 0x01,
 * not the FIPS-202 SHA3-256 padding 0x06, which Debian's OpenSSL provides).
 *
 * Ownership: `struct keccak` is caller-allocated and holds no heap memory.
 * Limits: none on input length (streams of any size); output is 32 bytes.
 */
#ifndef COMMON_KECCAK_H
#define COMMON_KECCAK_H

#include <stddef.h>
#include <stdint.h>

#define KECCAK256_BYTES 32
#define KECCAK256_RATE_BYTES 136

struct keccak {
    uint64_t state[25];
    uint8_t buf[KECCAK256_RATE_BYTES];
    size_t buf_len;
};

void keccak_init(struct keccak *k);
void keccak_update(struct keccak *k, const void *data, size_t data_len);
/* Writes the 32-byte digest to `out`; `k` must be re-initialised to reuse. */
void keccak_final(struct keccak *k, uint8_t out[KECCAK256_BYTES]);

/* One-shot: out = keccak256(data). */
void keccak256(uint8_t out[KECCAK256_BYTES], const void *data, size_t data_len);

#endif
