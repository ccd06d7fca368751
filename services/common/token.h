/*
 * token.h - HMAC-signed session and playback tokens (text safe in URLs).
 *
 * Format (docs/architecture.md; "." separates the parts):
 *   session   "s1.<address>.<expiry>.<mac>"
 *   playback  "p1.<stream id>.<address>.<expiry>.<mac>"
 * where <address> is the 40 lowercase hex digits of the signed-in address
 * (no "0x"), <stream id> a lowercase UUID (8-4-4-4-12 hex digits), <expiry>
 * the unix second at which the token stops being valid, in decimal without
 * leading zeros (at most TOKEN_EXPIRY_S_MAX), and <mac> the 64 lowercase hex
 * digits of HMAC-SHA256(subkey, everything before the last "."). The subkeys
 * are HMAC-SHA256(AUTH_SECRET, "rights session v1") and
 * HMAC-SHA256(AUTH_SECRET, "rights playback v1"), so a MAC of one kind never
 * verifies as the other. Any other text (uppercase hex, a leading zero, a
 * missing or extra part, another length) is refused before the MAC is
 * computed; MACs are compared in constant time (crypto_equal_ct).
 *
 * Lifetimes: a session token lasts TOKEN_SESSION_LIFETIME_S (24 h); a
 * playback token at most TOKEN_PLAYBACK_LIFETIME_S_MAX (60 s), enforced when
 * it is issued. A token is valid while now < expiry. `now` is always passed
 * in (unix seconds, >= 0), so the functions are pure and testable.
 *
 * Ownership: `struct token_keys` is caller-allocated and holds the two
 * subkeys; token_keys_release() wipes them (explicit_bzero). Output text goes
 * into caller buffers of TOKEN_TEXT_SIZE bytes. Nothing allocates, logs or
 * quotes a token or key in an error message. Every function is reentrant;
 * a `struct token_keys` may be shared read-only by threads once initialised.
 *
 * Result numbers are stable and never reused.
 */
#ifndef COMMON_TOKEN_H
#define COMMON_TOKEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "address.h"
#include "check.h"
#include "crypto.h"
#include "err.h"
#include "ids.h"

#define TOKEN_SECRET_BYTES_MIN 32
#define TOKEN_SECRET_BYTES_MAX CRYPTO_HMAC_KEY_BYTES_MAX
#define TOKEN_KEY_BYTES CRYPTO_HMAC_SHA256_BYTES
#define TOKEN_SESSION_LIFETIME_S (24 * 3600)
#define TOKEN_PLAYBACK_LIFETIME_S_MAX 60
#define TOKEN_EXPIRY_S_MAX 253402300799LL /* 9999-12-31T23:59:59Z */
#define TOKEN_EXPIRY_DIGITS_MAX 12
#define TOKEN_ADDRESS_HEX_LEN 40
#define TOKEN_STREAM_ID_LEN IDS_UUID_LEN /* lowercase UUID (ids.h) */
#define TOKEN_MAC_HEX_LEN 64
#define TOKEN_SESSION_TEXT_MAX                                                                     \
    (3 + TOKEN_ADDRESS_HEX_LEN + 1 + TOKEN_EXPIRY_DIGITS_MAX + 1 + TOKEN_MAC_HEX_LEN)
#define TOKEN_PLAYBACK_TEXT_MAX (3 + TOKEN_STREAM_ID_LEN + 1 + TOKEN_SESSION_TEXT_MAX - 3)
#define TOKEN_TEXT_SIZE (TOKEN_PLAYBACK_TEXT_MAX + 1) /* either kind plus NUL */

enum token_result {
    TOKEN_OK = 0,
    TOKEN_ERR_SECRET = 1,    /* secret shorter than TOKEN_SECRET_BYTES_MIN or too long */
    TOKEN_ERR_CRYPTO = 2,    /* HMAC failed (OpenSSL) */
    TOKEN_ERR_MALFORMED = 3, /* not the token grammar (lengths, charset, leading zero...) */
    TOKEN_ERR_KIND = 4,      /* a token of the other kind ("p1." for session, "s1." for playback) */
    TOKEN_ERR_BAD_MAC = 5,   /* MAC does not match: tampered, or another secret */
    TOKEN_ERR_EXPIRED = 6,   /* now >= expiry */
    TOKEN_ERR_LIFETIME = 7,  /* issue: lifetime not 1..max, or expiry above TOKEN_EXPIRY_S_MAX */
    TOKEN_ERR_STREAM_MISMATCH = 8, /* playback token for another stream */
    TOKEN_ERR_BAD_STREAM_ID = 9    /* issue/verify: stream id argument is not a lowercase UUID */
};

struct token_keys {
    uint8_t session[TOKEN_KEY_BYTES];
    uint8_t playback[TOKEN_KEY_BYTES];
    bool ready; /* set by token_keys_init(), cleared by release */
};

struct token_session {
    struct address address;
    int64_t expires_at_s;
};

struct token_playback {
    char stream_id[TOKEN_STREAM_ID_LEN + 1]; /* NUL-terminated */
    struct address address;
    int64_t expires_at_s;
};

/* Derives both subkeys from secret[0..secret_len) (the AUTH_SECRET bytes,
 * TOKEN_SECRET_BYTES_MIN..TOKEN_SECRET_BYTES_MAX). The caller wipes its own
 * copy of the secret. On failure *out is wiped and not ready. Returns
 * TOKEN_OK, TOKEN_ERR_SECRET or TOKEN_ERR_CRYPTO. */
WUR enum token_result token_keys_init(struct token_keys *out, const uint8_t *secret,
                                      size_t secret_len, struct err *e);

/* Wipes the subkeys; idempotent, safe on a zeroed struct. */
void token_keys_release(struct token_keys *k);

/* Writes "s1.<address>.<now + TOKEN_SESSION_LIFETIME_S>.<mac>" plus NUL to
 * out and the expiry to *expires_at_s_out (may be NULL). Returns TOKEN_OK,
 * TOKEN_ERR_LIFETIME (expiry above TOKEN_EXPIRY_S_MAX) or TOKEN_ERR_CRYPTO;
 * on failure out is "". */
WUR enum token_result token_session_issue(char out[TOKEN_TEXT_SIZE], int64_t *expires_at_s_out,
                                          const struct token_keys *k, const struct address *address,
                                          int64_t now_s, struct err *e);

/* Checks text[0..text_len): grammar (TOKEN_ERR_KIND for a playback token,
 * else TOKEN_ERR_MALFORMED), then the MAC (TOKEN_ERR_BAD_MAC), then expiry
 * (TOKEN_ERR_EXPIRED). On TOKEN_OK fills *out; otherwise *out is untouched. */
WUR enum token_result token_session_verify(struct token_session *out, const struct token_keys *k,
                                           const char *text, size_t text_len, int64_t now_s,
                                           struct err *e);

/* Writes "p1.<stream_id>.<address>.<now + lifetime_s>.<mac>" plus NUL to out
 * and the expiry to *expires_at_s_out (may be NULL). stream_id is a
 * NUL-terminated lowercase UUID (else TOKEN_ERR_BAD_STREAM_ID); lifetime_s is
 * 1..TOKEN_PLAYBACK_LIFETIME_S_MAX (else TOKEN_ERR_LIFETIME). On failure out
 * is "". */
WUR enum token_result token_playback_issue(char out[TOKEN_TEXT_SIZE], int64_t *expires_at_s_out,
                                           const struct token_keys *k, const char *stream_id,
                                           const struct address *address, int64_t now_s,
                                           uint32_t lifetime_s, struct err *e);

/* Checks text[0..text_len) as a playback token for stream `stream_id` (a
 * NUL-terminated lowercase UUID, else TOKEN_ERR_BAD_STREAM_ID): grammar
 * (TOKEN_ERR_KIND for a session token, else TOKEN_ERR_MALFORMED), MAC
 * (TOKEN_ERR_BAD_MAC), expiry (TOKEN_ERR_EXPIRED), then the stream
 * (TOKEN_ERR_STREAM_MISMATCH). On TOKEN_OK fills *out; otherwise *out is
 * untouched. */
WUR enum token_result token_playback_verify(struct token_playback *out, const struct token_keys *k,
                                            const char *stream_id, const char *text,
                                            size_t text_len, int64_t now_s, struct err *e);

#endif
