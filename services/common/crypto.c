/* crypto.c - see crypto.h. Thin, checked wrappers over OpenSSL 3. */
#include "crypto.h"

#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

static const uint8_t crypto_empty[1] = {0};

static const void *crypto_nonnull(const void *p);

/* OpenSSL rejects NULL pointers even with a zero length in some paths. */
static const void *crypto_nonnull(const void *p)
{
    return p != NULL ? p : crypto_empty;
}

enum crypto_result crypto_sha256(uint8_t out[CRYPTO_SHA256_BYTES], const void *data,
                                 size_t data_len, struct err *e)
{
    ASSERT(out != NULL);
    ASSERT(data != NULL || data_len == 0);
    unsigned int md_len = 0;
    if (EVP_Digest(crypto_nonnull(data), data_len, out, &md_len, EVP_sha256(), NULL) != 1)
        return err_set(e, CRYPTO_ERR_OPENSSL, "sha256 failed: EVP_Digest returned an error");
    ASSERT(md_len == CRYPTO_SHA256_BYTES);
    return CRYPTO_OK;
}

enum crypto_result crypto_sha256_init(struct crypto_sha256 *s, struct err *e)
{
    ASSERT(s != NULL);
    s->md_ctx = EVP_MD_CTX_new();
    if (s->md_ctx == NULL)
        return err_set(e, CRYPTO_ERR_OPENSSL, "sha256 init failed: EVP_MD_CTX_new returned NULL");
    if (EVP_DigestInit_ex(s->md_ctx, EVP_sha256(), NULL) != 1) {
        crypto_sha256_release(s);
        return err_set(e, CRYPTO_ERR_OPENSSL, "sha256 init failed: EVP_DigestInit_ex error");
    }
    return CRYPTO_OK;
}

enum crypto_result crypto_sha256_update(struct crypto_sha256 *s, const void *data, size_t data_len,
                                        struct err *e)
{
    ASSERT(s != NULL);
    ASSERT(data != NULL || data_len == 0);
    if (s->md_ctx == NULL)
        return err_set(e, CRYPTO_ERR_STATE, "sha256 update failed: context not initialised");
    if (data_len == 0)
        return CRYPTO_OK;
    if (EVP_DigestUpdate(s->md_ctx, data, data_len) != 1)
        return err_set(e, CRYPTO_ERR_OPENSSL, "sha256 update failed: EVP_DigestUpdate error");
    return CRYPTO_OK;
}

enum crypto_result crypto_sha256_final(struct crypto_sha256 *s, uint8_t out[CRYPTO_SHA256_BYTES],
                                       struct err *e)
{
    ASSERT(s != NULL);
    ASSERT(out != NULL);
    if (s->md_ctx == NULL)
        return err_set(e, CRYPTO_ERR_STATE, "sha256 final failed: context not initialised");
    unsigned int md_len = 0;
    int ok = EVP_DigestFinal_ex(s->md_ctx, out, &md_len);
    crypto_sha256_release(s);
    if (ok != 1)
        return err_set(e, CRYPTO_ERR_OPENSSL, "sha256 final failed: EVP_DigestFinal_ex error");
    ASSERT(md_len == CRYPTO_SHA256_BYTES);
    return CRYPTO_OK;
}

void crypto_sha256_release(struct crypto_sha256 *s)
{
    if (s == NULL)
        return;
    EVP_MD_CTX_free(s->md_ctx); /* NULL-safe */
    s->md_ctx = NULL;
}

enum crypto_result crypto_hmac_sha256(uint8_t out[CRYPTO_HMAC_SHA256_BYTES], const void *key,
                                      size_t key_len, const void *data, size_t data_len,
                                      struct err *e)
{
    ASSERT(out != NULL);
    ASSERT(key != NULL || key_len == 0);
    ASSERT(data != NULL || data_len == 0);
    if (key_len > CRYPTO_HMAC_KEY_BYTES_MAX)
        return err_set(e, CRYPTO_ERR_TOO_LONG, "hmac key too long: %zu bytes (max %d)", key_len,
                       CRYPTO_HMAC_KEY_BYTES_MAX);
    unsigned int md_len = 0;
    if (HMAC(EVP_sha256(), crypto_nonnull(key), (int)key_len, crypto_nonnull(data), data_len, out,
             &md_len) == NULL)
        return err_set(e, CRYPTO_ERR_OPENSSL, "hmac-sha256 failed: HMAC returned NULL");
    ASSERT(md_len == CRYPTO_HMAC_SHA256_BYTES);
    return CRYPTO_OK;
}

bool crypto_equal_ct(const void *a, const void *b, size_t len)
{
    if (len == 0)
        return true;
    ASSERT(a != NULL && b != NULL);
    return CRYPTO_memcmp(a, b, len) == 0;
}

enum crypto_result crypto_random_bytes(uint8_t *out, size_t out_len, struct err *e)
{
    ASSERT(out != NULL || out_len == 0);
    if (out_len > CRYPTO_RANDOM_BYTES_MAX)
        return err_set(e, CRYPTO_ERR_TOO_LONG, "random request too long: %zu bytes (max %zu)",
                       out_len, CRYPTO_RANDOM_BYTES_MAX);
    if (out_len == 0)
        return CRYPTO_OK;
    if (RAND_bytes(out, (int)out_len) != 1) {
        crypto_wipe(out, out_len);
        return err_set(e, CRYPTO_ERR_RANDOM, "random bytes failed: RAND_bytes error");
    }
    return CRYPTO_OK;
}

void crypto_wipe(void *p, size_t len)
{
    if (p == NULL || len == 0)
        return;
    explicit_bzero(p, len);
}
