/*
 * crypto.h - SHA-256, HMAC-SHA256, constant-time comparison, secure random
 * bytes and memory wiping, all backed by OpenSSL 3 (EVP, HMAC, RAND_bytes).
 * Keccak-256 lives in keccak.h (OpenSSL has no Ethereum Keccak).
 *
 * Ownership: every output buffer is allocated by the caller. The streaming
 * context `struct crypto_sha256` owns one OpenSSL EVP_MD_CTX from
 * crypto_sha256_init() until crypto_sha256_release(); release is safe on a
 * zeroed or already-released context and must always be called.
 *
 * Limits: HMAC keys are at most CRYPTO_HMAC_KEY_BYTES_MAX bytes; one random
 * request is at most CRYPTO_RANDOM_BYTES_MAX bytes. Hash inputs are unbounded
 * (streams of any size); callers bound what they feed in.
 *
 * Secrets: nothing here logs or copies key material. Callers wipe keys they
 * hold with crypto_wipe() as soon as they are done with them, and compare
 * MACs/tokens only with crypto_equal_ct().
 */
#ifndef COMMON_CRYPTO_H
#define COMMON_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "check.h"
#include "err.h"

#define CRYPTO_SHA256_BYTES 32
#define CRYPTO_HMAC_SHA256_BYTES 32
#define CRYPTO_HMAC_KEY_BYTES_MAX 4096
#define CRYPTO_RANDOM_BYTES_MAX ((size_t)1 << 16)

/* Stable result codes; numbers are never reused. */
enum crypto_result {
    CRYPTO_OK = 0,
    CRYPTO_ERR_OPENSSL = 1,  /* an OpenSSL call failed (message names it) */
    CRYPTO_ERR_TOO_LONG = 2, /* key or request above its named maximum */
    CRYPTO_ERR_RANDOM = 3,   /* RAND_bytes could not produce secure bytes */
    CRYPTO_ERR_STATE = 4     /* streaming context used before init / after final */
};

struct evp_md_ctx_st; /* OpenSSL's EVP_MD_CTX */

/* Streaming SHA-256. Zero-initialise or call crypto_sha256_init() first. */
struct crypto_sha256 {
    struct evp_md_ctx_st *md_ctx; /* owned; NULL when released */
};

/* out = SHA-256(data[0..data_len)). `data` may be NULL when data_len is 0.
 * Returns CRYPTO_OK or CRYPTO_ERR_OPENSSL. */
WUR enum crypto_result crypto_sha256(uint8_t out[CRYPTO_SHA256_BYTES], const void *data,
                                     size_t data_len, struct err *e);

/* Allocates the context and starts a digest. On failure the context is left
 * released. Returns CRYPTO_OK or CRYPTO_ERR_OPENSSL. */
WUR enum crypto_result crypto_sha256_init(struct crypto_sha256 *s, struct err *e);

/* Feeds data_len bytes. Returns CRYPTO_OK, CRYPTO_ERR_STATE (not initialised)
 * or CRYPTO_ERR_OPENSSL. */
WUR enum crypto_result crypto_sha256_update(struct crypto_sha256 *s, const void *data,
                                            size_t data_len, struct err *e);

/* Writes the digest to `out` and releases the context (so init again to reuse).
 * Returns CRYPTO_OK, CRYPTO_ERR_STATE or CRYPTO_ERR_OPENSSL. */
WUR enum crypto_result crypto_sha256_final(struct crypto_sha256 *s,
                                           uint8_t out[CRYPTO_SHA256_BYTES], struct err *e);

/* Frees the OpenSSL context; idempotent. */
void crypto_sha256_release(struct crypto_sha256 *s);

/* out = HMAC-SHA256(key, data). key_len may be 0 (key may then be NULL) and
 * is at most CRYPTO_HMAC_KEY_BYTES_MAX. Returns CRYPTO_OK,
 * CRYPTO_ERR_TOO_LONG or CRYPTO_ERR_OPENSSL. */
WUR enum crypto_result crypto_hmac_sha256(uint8_t out[CRYPTO_HMAC_SHA256_BYTES], const void *key,
                                          size_t key_len, const void *data, size_t data_len,
                                          struct err *e);

/* True when a[0..len) == b[0..len), in time that depends only on len
 * (CRYPTO_memcmp). Use for MACs, tokens and anything secret. */
bool crypto_equal_ct(const void *a, const void *b, size_t len);

/* Fills out[0..out_len) from the OpenSSL CSPRNG. out_len is at most
 * CRYPTO_RANDOM_BYTES_MAX. On failure the buffer is wiped. Returns CRYPTO_OK,
 * CRYPTO_ERR_TOO_LONG or CRYPTO_ERR_RANDOM. */
WUR enum crypto_result crypto_random_bytes(uint8_t *out, size_t out_len, struct err *e);

/* Overwrites p[0..len) with zeros in a way the compiler cannot elide
 * (explicit_bzero). NULL with len 0 is allowed. */
void crypto_wipe(void *p, size_t len);

#endif
