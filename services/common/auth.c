/* auth.c - see auth.h. */
#include "auth.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto.h"
#include "hex.h"
#include "httpjson.h"
#include "json.h"
#include "siwe.h"

static bool auth_time_text(char out[32], int64_t unix_s);
static bool auth_pg(struct pg_session **pc_out, struct respool_slot **slot_out,
                    struct http_response *resp, struct auth *a);
static void auth_count(struct http_metric *m);
static void auth_reply_siwe_failure(struct http_response *resp, enum siwe_result r,
                                    const struct err *why);
static enum siwe_result auth_verify(struct siwe_message *m, const json_t *body, struct auth *a,
                                    int64_t now_s, struct err *e);
static int auth_consume_nonce(struct pg_session *pc, const char *nonce, struct err *e);

static const struct json_body_field auth_siwe_fields[] = {
    {.name = "message",
     .type = JSON_BODY_STRING,
     .required = true,
     .len_min = 1,
     .len_max = SIWE_MESSAGE_BYTES_MAX},
    {.name = "signature",
     .type = JSON_BODY_STRING,
     .required = true,
     .len_min = 1,
     .len_max = 2 + 2 * 1024},
};

const char *auth_scheme_for_domain(const char *domain)
{
    static const char *const loopback[] = {"localhost", "127.", "[::1]"};
    for (size_t i = 0; i < sizeof loopback / sizeof loopback[0]; i++)
        if (strncmp(domain, loopback[i], strlen(loopback[i])) == 0)
            return "http";
    return "https";
}

/* RFC 3339 UTC with seconds: "2026-11-29T04:00:00Z". */
static bool auth_time_text(char out[32], int64_t unix_s)
{
    time_t t = (time_t)unix_s;
    struct tm tm;
    return gmtime_r(&t, &tm) != NULL && strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 20;
}

/* A pool slot with a connected session, or false after answering 503. */
static bool auth_pg(struct pg_session **pc_out, struct respool_slot **slot_out,
                    struct http_response *resp, struct auth *a)
{
    struct err e = {0};
    *slot_out = NULL;
    if (respool_acquire(slot_out, a->pool, AUTH_POOL_WAIT_MS, &e) != RESPOOL_OK) {
        http_reply_header(resp, "Retry-After", "1");
        http_reply_error(resp, PROBLEM_UNAVAILABLE, "the service is busy; retry");
        return false;
    }
    if (respool_pg(pc_out, *slot_out, a->pool, &e) != RESPOOL_OK) {
        log_write(a->log, LOG_ERROR, "database unavailable", LOG_KVS(log_str("error", e.msg)));
        respool_release(a->pool, *slot_out);
        *slot_out = NULL;
        http_reply_header(resp, "Retry-After", "1");
        http_reply_error(resp, PROBLEM_UNAVAILABLE, "the database is unavailable; retry");
        return false;
    }
    return true;
}

static void auth_count(struct http_metric *m)
{
    if (m != NULL)
        http_metric_add(m, 1);
}

void auth_handle_nonce(struct http_response *resp, const struct http_request *req, struct auth *a)
{
    static const char insert[] =
        "INSERT INTO auth_nonces (nonce, expires_at) VALUES ($1, now() + make_interval(secs => "
        "$2::int)) RETURNING extract(epoch FROM expires_at)::bigint";
    static const char purge[] =
        "DELETE FROM auth_nonces WHERE nonce IN (SELECT nonce FROM auth_nonces WHERE "
        "expires_at < now() - interval '1 hour' LIMIT " MACRO_TEXT(AUTH_NONCE_PURGE_ROWS) ")";
    (void)req;
    uint8_t raw[AUTH_NONCE_HEX_LEN / 2];
    char nonce[AUTH_NONCE_HEX_LEN + 1], expires[32];
    struct err e = {0};
    if (crypto_random_bytes(raw, sizeof raw, &e) != CRYPTO_OK ||
        hex_encode(nonce, sizeof nonce, raw, sizeof raw) != 0) {
        http_reply_error(resp, PROBLEM_INTERNAL, "no randomness");
        return;
    }
    struct respool_slot *slot = NULL;
    struct pg_session *pc = NULL;
    if (!auth_pg(&pc, &slot, resp, a))
        return;
    const char *params[2] = {nonce, MACRO_TEXT(AUTH_NONCE_TTL_S)};
    PGresult *res = NULL;
    enum pg_code r = pg_exec(pc, &res, insert, params, 2, &e);
    int64_t expires_s = r == PG_OK ? strtoll(PQgetvalue(res, 0, 0), NULL, 10) : 0;
    PQclear(res);
    if (r == PG_OK && pg_exec(pc, NULL, purge, NULL, 0, &e) != PG_OK) /* best effort */
        log_write(a->log, LOG_WARN, "nonce purge failed", LOG_KVS(log_str("error", e.msg)));
    if (r != PG_OK)
        respool_pg_failed(slot, r);
    respool_release(a->pool, slot);
    if (r != PG_OK || !auth_time_text(expires, expires_s)) {
        log_write(a->log, LOG_ERROR, "nonce not stored", LOG_KVS(log_str("error", e.msg)));
        http_reply_header(resp, "Retry-After", "1");
        http_reply_error(resp, PROBLEM_UNAVAILABLE, "could not store a nonce; retry");
        return;
    }
    http_reply_header(resp, "Cache-Control", "no-store");
    http_reply_json(resp, 200, json_pack("{s:s, s:s}", "nonce", nonce, "expires_at", expires));
}

/* Grammar failures and malformed signatures (length, v, r, s, high-s) are
 * 400: the client sent something that is not a valid sign-in. What says
 * "not you, not here, not now" (domain, chain, times, signer) is 401; an
 * unreachable chain 503. */
static void auth_reply_siwe_failure(struct http_response *resp, enum siwe_result r,
                                    const struct err *why)
{
    if (r == SIWE_ERR_RPC) {
        http_reply_header(resp, "Retry-After", "2");
        http_reply_error(resp, PROBLEM_UNAVAILABLE, "cannot check the contract wallet: %s",
                         why->msg);
    } else if (r == SIWE_ERR_INTERNAL) {
        http_reply_error(resp, PROBLEM_INTERNAL, "signature check failed");
    } else if (r <= SIWE_ERR_EXTRA_LINE ||
               (r >= SIWE_ERR_SIGNATURE_ENCODING && r <= SIWE_ERR_SIGNATURE_HIGH_S)) {
        http_reply_error(resp, PROBLEM_BAD_REQUEST, "siwe %s: %s", siwe_result_slug(r), why->msg);
    } else {
        http_reply_header(resp, "WWW-Authenticate", "Bearer");
        http_reply_error(resp, PROBLEM_UNAUTHORIZED, "siwe %s: %s", siwe_result_slug(r), why->msg);
    }
}

/* siwe_verify of the body's message and signature. A contract wallet is
 * asked (EIP-1271, one bounded call) only when the signature does not
 * recover to the message's address, so an ordinary sign-in never touches
 * the chain. */
static enum siwe_result auth_verify(struct siwe_message *m, const json_t *body, struct auth *a,
                                    int64_t now_s, struct err *e)
{
    const char *message = NULL, *signature = NULL;
    size_t message_len = 0, signature_len = 0;
    ASSERT(json_body_get_string(&message, &message_len, body, "message") &&
           json_body_get_string(&signature, &signature_len, body, "signature"));
    struct siwe_expect x = {.domain = a->siwe_domain,
                            .scheme = a->siwe_scheme,
                            .chain_id = a->chain_id,
                            .now_s = now_s};
    enum siwe_signer signer = SIWE_SIGNER_NONE;
    enum siwe_result r =
        siwe_verify(m, &signer, message, message_len, signature, signature_len, &x, NULL, e);
    if (r != SIWE_ERR_SIGNER_MISMATCH || a->rpc_url == NULL)
        return r;
    struct siwe_message parsed;
    uint8_t sig[SIG_BYTES];
    struct rpc_options opt;
    struct rpc_client rpc;
    siwe_eip1271_rpc_options(&opt, a->eip1271_timeout_ms);
    if (siwe_parse(&parsed, message, message_len, NULL) != SIWE_OK ||
        siwe_signature_parse(sig, signature, signature_len, NULL) != SIWE_OK)
        return r;
    if (rpc_client_init(&rpc, a->rpc_url, &opt, NULL) != RPC_OK)
        return (enum siwe_result)err_set(e, SIWE_ERR_RPC,
                                         "no client for the contract wallet check");
    r = siwe_verify_signature(&signer, message, message_len, &parsed.address, sig, &rpc, e);
    rpc_client_release(&rpc);
    if (r == SIWE_OK)
        *m = parsed;
    return r;
}

/* 1 when this request consumed the nonce, 0 when it is unknown, used or
 * expired, -1 when the query failed. */
static int auth_consume_nonce(struct pg_session *pc, const char *nonce, struct err *e)
{
    static const char sql[] = "UPDATE auth_nonces SET used_at = now() WHERE nonce = $1 "
                              "AND used_at IS NULL AND expires_at > now() RETURNING 1";
    const char *params[1] = {nonce};
    PGresult *res = NULL;
    if (pg_exec(pc, &res, sql, params, 1, e) != PG_OK)
        return -1;
    int n = PQntuples(res);
    PQclear(res);
    return n == 1 ? 1 : 0;
}

void auth_handle_siwe(struct http_response *resp, const struct http_request *req, struct auth *a)
{
    struct err e = {0};
    json_t *body = NULL;
    if (!httpjson_read_body(&body, resp, req, auth_siwe_fields,
                            sizeof auth_siwe_fields / sizeof auth_siwe_fields[0], 0))
        return;
    int64_t now_s = (int64_t)time(NULL);
    struct siwe_message m;
    enum siwe_result sr = auth_verify(&m, body, a, now_s, &e);
    if (sr != SIWE_OK) {
        json_decref(body);
        auth_count(a->signins_denied);
        log_write(a->log, LOG_INFO, "sign-in refused",
                  LOG_KVS(log_str("req", req->request_id), log_str("why", siwe_result_slug(sr))));
        auth_reply_siwe_failure(resp, sr, &e);
        return;
    }
    struct respool_slot *slot = NULL;
    struct pg_session *pc = NULL;
    int consumed = -1;
    if (auth_pg(&pc, &slot, resp, a)) {
        consumed = auth_consume_nonce(pc, m.nonce, &e);
        if (consumed < 0)
            respool_pg_failed(slot, PG_ERR_CONNECTION);
        respool_release(a->pool, slot);
    } else {
        json_decref(body);
        return;
    }
    json_decref(body); /* m's spans pointed into it: done with them */
    if (consumed <= 0) {
        auth_count(a->signins_denied);
        if (consumed < 0) {
            http_reply_header(resp, "Retry-After", "1");
            http_reply_error(resp, PROBLEM_UNAVAILABLE, "could not check the nonce; retry");
        } else {
            http_reply_header(resp, "WWW-Authenticate", "Bearer");
            http_reply_error(resp, PROBLEM_UNAUTHORIZED, "nonce is unknown, used or expired");
        }
        return;
    }
    char token[TOKEN_TEXT_SIZE], addr[ADDRESS_TEXT_SIZE], expires[32];
    int64_t expires_s = 0;
    if (token_session_issue(token, &expires_s, a->keys, &m.address, now_s, &e) != TOKEN_OK ||
        !auth_time_text(expires, expires_s)) {
        http_reply_error(resp, PROBLEM_INTERNAL, "could not issue a session");
        return;
    }
    address_format_checksum(addr, &m.address);
    auth_count(a->signins_ok);
    log_write(a->log, LOG_INFO, "signed in",
              LOG_KVS(log_str("req", req->request_id), log_str("address", addr)));
    http_reply_header(resp, "Cache-Control", "no-store");
    http_reply_json(
        resp, 200,
        json_pack("{s:s, s:s, s:s}", "token", token, "address", addr, "expires_at", expires));
    crypto_wipe(token, sizeof token);
}

bool auth_require_session(struct address *out, struct http_response *resp,
                          const struct http_request *req, const struct token_keys *keys,
                          int64_t now_s)
{
    const char *bearer = http_request_bearer(req);
    struct token_session s;
    struct err e = {0};
    if (bearer == NULL) {
        http_reply_header(resp, "WWW-Authenticate", "Bearer");
        http_reply_error(resp, PROBLEM_UNAUTHORIZED,
                         "sign in first: Authorization: Bearer <session token>");
        return false;
    }
    enum token_result r = token_session_verify(&s, keys, bearer, strlen(bearer), now_s, &e);
    if (r != TOKEN_OK) {
        http_reply_header(resp, "WWW-Authenticate", "Bearer error=\"invalid_token\"");
        http_reply_error(resp, PROBLEM_UNAUTHORIZED, "%s",
                         r == TOKEN_ERR_EXPIRED ? "session expired: sign in again"
                                                : "invalid session token");
        return false;
    }
    *out = s.address;
    return true;
}

bool auth_register_metrics(struct auth *a, struct http_server *s, struct err *e)
{
    return http_metric_register(&a->signins_ok, s, HTTP_METRIC_COUNTER, "auth_signins_total",
                                "outcome=\"ok\"", "SIWE sign-ins by outcome", e) == HTTP_OK &&
           http_metric_register(&a->signins_denied, s, HTTP_METRIC_COUNTER, "auth_signins_total",
                                "outcome=\"denied\"", "SIWE sign-ins by outcome", e) == HTTP_OK;
}
