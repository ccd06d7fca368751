/*
 * auth.h - Sign-In with Ethereum for both services' HTTP APIs
 * (docs/architecture.md "Both services"):
 *
 *   GET  /v1/auth/nonce  -> 200 {nonce, expires_at}
 *   POST /v1/auth/siwe   {message, signature} -> 200 {token, address, expires_at}
 *
 * A nonce is 32 random hex digits stored in PostgreSQL (auth_nonces, so any
 * gateway or settlement process accepts it), valid AUTH_NONCE_TTL_S, used
 * once. A sign-in parses and checks the EIP-4361 message (siwe.h: domain =
 * SIWE_DOMAIN, scheme, chain id, times), verifies the signature (EOA, or
 * EIP-1271 with a bounded timeout), and only then consumes the nonce in one
 * UPDATE ... WHERE used_at IS NULL AND expires_at > now(): of two requests
 * with the same nonce exactly one signs in. The answer is a session token
 * (token.h) usable on both services as "Authorization: Bearer <token>".
 *
 * Every rejection is a 4xx problem+json and changes nothing: 400 for a
 * malformed body or message, 401 for a bad signature, a wrong domain, chain
 * or time, or an unknown, used or expired nonce; 503 when PostgreSQL (or the
 * chain, for a contract wallet) does not answer. Details name the failed
 * check (siwe_result_slug), never the message, signature or token.
 *
 * Ownership: `struct auth` is filled by the service at startup and borrowed
 * by the handlers; it must outlive the HTTP server. Handlers are
 * thread-safe (per-request pool slots; the keys are read-only).
 */
#ifndef COMMON_AUTH_H
#define COMMON_AUTH_H

#include <stdbool.h>
#include <stdint.h>

#include "address.h"
#include "http.h"
#include "log.h"
#include "respool.h"
#include "token.h"

#define AUTH_NONCE_TTL_S 600
#define AUTH_NONCE_HEX_LEN 32
#define AUTH_BODY_BYTES_MAX 16384 /* {message, signature}: a 4 KiB message, escaped */
#define AUTH_POOL_WAIT_MS 2000
#define AUTH_NONCE_PURGE_ROWS 100 /* expired nonces deleted per issued nonce */

struct auth {
    const struct token_keys *keys;
    struct respool *pool;
    const struct logger *log;
    const char *siwe_domain; /* SIWE_DOMAIN */
    const char *siwe_scheme; /* "http" or "https": see auth_scheme_for_domain */
    uint64_t chain_id;       /* CHAIN_ID */
    const char *rpc_url;     /* ETH_RPC_URL, for EIP-1271; NULL: contract wallets refused */
    uint32_t eip1271_timeout_ms;
    struct http_metric *signins_ok;     /* may be NULL */
    struct http_metric *signins_denied; /* may be NULL */
};

/* The scheme a SIWE message may name for this domain: "http" for a loopback
 * host (localhost, 127.x.y.z, [::1]) as in development, "https" otherwise. */
const char *auth_scheme_for_domain(const char *domain);

/* GET /v1/auth/nonce and POST /v1/auth/siwe; `a` is the struct auth. */
void auth_handle_nonce(struct http_response *resp, const struct http_request *req, struct auth *a);
void auth_handle_siwe(struct http_response *resp, const struct http_request *req, struct auth *a);

/* The signed-in address of a request's "Authorization: Bearer <session>",
 * or false after answering 401 (missing, malformed, tampered or expired
 * token) in `resp`. */
WUR bool auth_require_session(struct address *out, struct http_response *resp,
                              const struct http_request *req, const struct token_keys *keys,
                              int64_t now_s);

/* Registers the sign-in metrics (auth_signins_total{outcome}) on `s`. */
WUR bool auth_register_metrics(struct auth *a, struct http_server *s, struct err *e);

#endif
