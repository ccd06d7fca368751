/*
 * api_client.h - shared helpers for integration tests that drive a real
 * service (gateway or settlement) over HTTP with libcurl: one request with
 * an optional bearer token, Idempotency-Key and JSON body into a reply
 * buffer (status, body, Content-Type, Retry-After); the reply as JSON; the
 * SIWE sign-in (GET /v1/auth/nonce, an EIP-4361 message built here, signed
 * EIP-191 with an anvil dev key, POST /v1/auth/siwe); and a fresh database
 * <prefix>_<pid> created beside DATABASE_URL's, migrated, and dropped at the
 * end; a scratch directory with an auth secret and a log, and the
 * service configuration built from it; the checks of a bad-input test (the
 * reply is a problem+json of a status; a row count before and after). Used
 * only by tests/integration/test_*.c.
 *
 * Environment: DATABASE_URL through pg_fixture.h (pg_fixture_init() first);
 * run from the repository root (migrations/). The services listen on
 * 127.0.0.1.
 *
 * Ownership: `struct api_client` is caller-allocated, one per test program
 * (file-level static: the reply buffer is large); the caller sets `port`
 * (the service the requests go to, may be switched between requests),
 * `siwe_domain` (the SIWE_DOMAIN the service is configured with) and
 * `chain` (an opened chain_fixture.h chain for the dev keys). Every request
 * overwrites `rep`; sign-ins fill `tokens[acct]`. Not thread-safe: a thread
 * needs its own `struct api_reply` and its own curl handle (api_on_body and
 * api_on_header may be used with it). `struct api_db` is caller-allocated
 * too: api_db_create() fills it and connects `session` to the new database,
 * api_db_drop() releases the session and drops the database (safe after a
 * failed create: it checks `name`). api_make_dir() leaves the directory and
 * the log's FILE to the caller.
 *
 * Limits: reply bodies are truncated at API_REPLY_BYTES_MAX bytes, paths at
 * API_PATH_BYTES, SIWE messages API_TEXT_BYTES, nonces API_NONCE_SIZE,
 * tokens TOKEN_TEXT_SIZE, idempotency keys 280 bytes, a request times out
 * after 15 s.
 */
#ifndef TESTS_API_CLIENT_H
#define TESTS_API_CLIENT_H

#include <curl/curl.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "address.h"
#include "chain_fixture.h"
#include "config.h"
#include "crypto.h"
#include "err.h"
#include "harness.h"
#include "hex.h"
#include "migrate.h"
#include "pg.h"
#include "pg_fixture.h"
#include "problem.h"
#include "sig.h"
#include "siwe.h"
#include "token.h"

#define API_REPLY_BYTES_MAX ((size_t)256 * 1024)
#define API_PATH_BYTES 512
#define API_TEXT_BYTES 2048
#define API_SIG_HEX_SIZE (SIWE_SIGNATURE_HEX_LEN + 1)
#define API_NONCE_SIZE 80

struct api_reply {
    long status;
    char body[API_REPLY_BYTES_MAX + 1];
    size_t body_len;
    char content_type[128];
    char retry_after[32];
};

struct api_client {
    uint16_t port;                                /* the service the requests go to */
    const char *siwe_domain;                      /* the domain sign_in's messages name */
    const struct chain *chain;                    /* dev keys for signing */
    struct api_reply rep;                         /* the last reply */
    char tokens[CHAIN_DEV_KEYS][TOKEN_TEXT_SIZE]; /* sessions by account */
};

struct api_db {
    struct pg_session session; /* connected to the new database */
    char name[64];
    char url[CONFIG_DATABASE_URL_BYTES_MAX + 1];
};

/* main's environment check: opens `c` (anvil's dev accounts) or prints the
 * TAP failure ("not ok - environment"), after which main returns 1. */
static inline bool api_chain_open(struct chain *c)
{
    struct err e = {0};
    if (chain_open(c, &e))
        return true;
    printf("# %s\nnot ok - environment\n0 passed, 1 failed\n", e.msg);
    return false;
}

/* ---- HTTP client ------------------------------------------------------------------- */

/* CURLOPT_WRITEFUNCTION into a struct api_reply (truncating, always NUL-terminated). */
static inline size_t api_on_body(char *data, size_t size, size_t n, void *ctx)
{
    struct api_reply *r = ctx;
    size_t len = size * n, room = API_REPLY_BYTES_MAX - r->body_len;
    size_t take = len < room ? len : room;
    memcpy(r->body + r->body_len, data, take);
    r->body_len += take;
    r->body[r->body_len] = '\0';
    return len;
}

/* CURLOPT_HEADERFUNCTION into a struct api_reply: keeps Retry-After. */
static inline size_t api_on_header(char *data, size_t size, size_t n, void *ctx)
{
    struct api_reply *r = ctx;
    size_t len = size * n;
    static const char name[] = "retry-after:";
    if (len > sizeof name && strncasecmp(data, name, sizeof name - 1) == 0) {
        size_t v = sizeof name - 1, end = len;
        while (v < end && data[v] == ' ')
            v++;
        while (end > v && (data[end - 1] == '\r' || data[end - 1] == '\n'))
            end--;
        snprintf(r->retry_after, sizeof r->retry_after, "%.*s", (int)(end - v), data + v);
    }
    return len;
}

/* method path [Authorization: Bearer token] [Idempotency-Key] [JSON body]
 * to 127.0.0.1:port -> *rep (the caller's: any thread may use its own); the
 * status (0 when the request failed). */
static inline long api_request_into(struct api_reply *rep, uint16_t port, const char *method,
                                    const char *path, const char *token, const char *idem_key,
                                    const char *body, size_t body_len)
{
    char url[API_PATH_BYTES + 64], auth[TOKEN_TEXT_SIZE + 32], idem[300];
    memset(rep, 0, sizeof *rep);
    snprintf(url, sizeof url, "http://127.0.0.1:%u%s", (unsigned)port, path);
    CURL *c = curl_easy_init();
    ASSERT(c != NULL);
    struct curl_slist *h = NULL;
    if (token != NULL) {
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
        h = curl_slist_append(h, auth);
    }
    if (idem_key != NULL) {
        snprintf(idem, sizeof idem, "Idempotency-Key: %s", idem_key);
        h = curl_slist_append(h, idem);
    }
    if (body != NULL) {
        h = curl_slist_append(h, "Content-Type: application/json");
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
    }
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, api_on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, rep);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, api_on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, rep);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 15000L);
    CURLcode cr = curl_easy_perform(c);
    char *ct = NULL;
    if (cr == CURLE_OK) {
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &rep->status);
        if (curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct) == CURLE_OK && ct != NULL)
            snprintf(rep->content_type, sizeof rep->content_type, "%s", ct);
    } else {
        printf("# %s %s: %s\n", method, path, curl_easy_strerror(cr));
    }
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    return rep->status;
}

/* api_request_into() api->port -> api->rep. */
static inline long api_request_key(struct api_client *api, const char *method, const char *path,
                                   const char *token, const char *idem_key, const char *body,
                                   size_t body_len)
{
    return api_request_into(&api->rep, api->port, method, path, token, idem_key, body, body_len);
}

/* api_request_key without an Idempotency-Key. */
static inline long api_request(struct api_client *api, const char *method, const char *path,
                               const char *token, const char *body, size_t body_len)
{
    return api_request_key(api, method, path, token, NULL, body, body_len);
}

/* The last reply's JSON (a new reference; NULL when it is not JSON). */
static inline json_t *api_reply_json(const struct api_client *api)
{
    return json_loadb(api->rep.body, api->rep.body_len, 0, NULL);
}

static inline const char *api_str_at(const json_t *j, const char *key)
{
    return json_string_value(json_object_get(j, key));
}

/* ---- fresh database ---------------------------------------------------------------- */

/* CREATE DATABASE <prefix>_<pid> next to DATABASE_URL's, connect d->session
 * to it (d->url) and migrate it. */
static inline bool api_db_create(struct api_db *d, const char *prefix)
{
    struct pg_session admin;
    struct err e = {0};
    char sql[128];
    snprintf(d->name, sizeof d->name, "%s_%ld", prefix, (long)getpid());
    snprintf(sql, sizeof sql, "CREATE DATABASE %s", d->name);
    bool ok = pg_connect(&admin, pg_fixture_db_url, PG_FIXTURE_CONNECT_TIMEOUT_S, &e) == PG_OK &&
              pg_exec_script(&admin, sql, &e) == PG_OK;
    pg_release(&admin);
    const char *scheme = strstr(pg_fixture_db_url, "://");
    const char *slash = scheme != NULL ? strchr(scheme + 3, '/') : NULL;
    const char *query = slash != NULL ? strchr(slash, '?') : NULL;
    if (ok && slash == NULL)
        ok = !err_set(&e, 1, "DATABASE_URL has no database path");
    if (ok)
        snprintf(d->url, sizeof d->url, "%.*s/%s%s", (int)(slash - pg_fixture_db_url),
                 pg_fixture_db_url, d->name, query != NULL ? query : "");
    ok = ok && pg_connect(&d->session, d->url, PG_FIXTURE_CONNECT_TIMEOUT_S, &e) == PG_OK &&
         migrate_run(&d->session, "migrations", NULL, &e) == MIGRATE_OK;
    if (!ok)
        printf("# database: %s\n", e.msg);
    return ok;
}

/* Releases d->session and drops the database, if api_db_create named one. */
static inline void api_db_drop(struct api_db *d)
{
    struct pg_session admin;
    char sql[128];
    if (d->name[0] == '\0')
        return;
    pg_release(&d->session);
    snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s", d->name);
    if (pg_connect(&admin, pg_fixture_db_url, PG_FIXTURE_CONNECT_TIMEOUT_S, NULL) != PG_OK ||
        pg_exec_script(&admin, sql, NULL) != PG_OK)
        printf("# could not drop database %s\n", d->name);
    pg_release(&admin);
}

/* ---- scratch directory and configuration
 * ------------------------------------------------------------- */

/* dir = TEST_TMPDIR/<prefix>_<pid> (/tmp when unset) holding a fresh 0600
 * auth secret (its path in secret_path) and the line-buffered log
 * <log_name> (*log, the caller's to fclose; announced as "# <label> log:"). */
static inline bool api_make_dir(char *dir, size_t dir_size, const char *prefix, char *secret_path,
                                size_t secret_size, const char *log_name, const char *label,
                                FILE **log)
{
    const char *base = config_lookup_env(NULL, "TEST_TMPDIR");
    snprintf(dir, dir_size, "%s/%s_%ld", base != NULL && base[0] ? base : "/tmp", prefix,
             (long)getpid());
    snprintf(secret_path, secret_size, "%s/auth.secret", dir);
    uint8_t secret[32];
    char hex[65], log_path[API_PATH_BYTES + 16];
    if (mkdir(dir, 0700) != 0 || crypto_random_bytes(secret, sizeof secret, NULL) != CRYPTO_OK ||
        hex_encode(hex, sizeof hex, secret, sizeof secret) != 0)
        return false;
    int fd = open(secret_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    bool ok = fd >= 0 && write(fd, hex, 64) == 64;
    if (fd >= 0)
        close(fd);
    snprintf(log_path, sizeof log_path, "%s/%s", dir, log_name);
    *log = fopen(log_path, "w");
    if (*log != NULL)
        setvbuf(*log, NULL, _IOLBF, 0);
    printf("# %s log: %s\n", label, log_path);
    return ok && *log != NULL;
}

/* cfg from the environment a service would get: DATABASE_URL=db_url, this
 * runner's ETH_RPC_URL, CHAIN_ID 31337, VAULT_ADDRESS=vault,
 * AUTH_SECRET_FILE=secret, SIWE_DOMAIN=domain, MEDIA_DIR=<dir>/media, the
 * gateway's WEB_DIR, LOG_LEVEL debug and, unless NULL, CONFIRMATIONS. The
 * caller sets the listen addresses afterwards. */
static inline bool api_load_config(struct app_config *cfg, const char *db_url, const char *vault,
                                   const char *secret, const char *dir, const char *domain,
                                   const char *confirmations)
{
    const char *names[] = {"DATABASE_URL",
                           "ETH_RPC_URL",
                           "CHAIN_ID",
                           "VAULT_ADDRESS",
                           "AUTH_SECRET_FILE",
                           "SIWE_DOMAIN",
                           "MEDIA_DIR",
                           "WEB_DIR",
                           "LOG_LEVEL",
                           confirmations != NULL ? "CONFIRMATIONS" : NULL,
                           NULL};
    char rpc[CONFIG_URL_BYTES_MAX + 1], e_db[CONFIG_DATABASE_URL_BYTES_MAX + 16],
        e_rpc[sizeof rpc + 16], e_vault[80], e_secret[API_PATH_BYTES + 48],
        e_domain[API_PATH_BYTES], e_media[API_PATH_BYTES + 32], e_conf[64];
    struct err e = {0};
    if (!chain_load_rpc_url(rpc, &e))
        return false;
    snprintf(e_db, sizeof e_db, "DATABASE_URL=%s", db_url);
    snprintf(e_rpc, sizeof e_rpc, "ETH_RPC_URL=%s", rpc);
    snprintf(e_vault, sizeof e_vault, "VAULT_ADDRESS=%s", vault);
    snprintf(e_secret, sizeof e_secret, "AUTH_SECRET_FILE=%s", secret);
    snprintf(e_domain, sizeof e_domain, "SIWE_DOMAIN=%s", domain);
    snprintf(e_media, sizeof e_media, "MEDIA_DIR=%s/media", dir);
    snprintf(e_conf, sizeof e_conf, "CONFIRMATIONS=%s", confirmations != NULL ? confirmations : "");
    const char *envp[] = {e_db,
                          e_rpc,
                          "CHAIN_ID=31337",
                          e_vault,
                          e_secret,
                          e_domain,
                          e_media,
                          "WEB_DIR=services/gateway/web",
                          "LOG_LEVEL=debug",
                          confirmations != NULL ? e_conf : NULL,
                          NULL};
    struct config_errors errs;
    if (config_load_app_names(cfg, names, config_lookup_envp, (void *)envp, &errs) != CONFIG_OK) {
        printf("# config: %s\n", errs.items[0].e.msg);
        return false;
    }
    return true;
}

/* ---- sign-in ----------------------------------------------------------------------- */

/* GET /v1/auth/nonce; out = the nonce ("" on failure, which is a CHECK failure). */
static inline bool api_get_nonce(struct api_client *api, char out[API_NONCE_SIZE])
{
    json_t *j = NULL;
    bool ok = api_request(api, "GET", "/v1/auth/nonce", NULL, NULL, 0) == 200 &&
              (j = api_reply_json(api)) && api_str_at(j, "nonce") != NULL &&
              api_str_at(j, "expires_at") != NULL;
    CHECK_MSG(ok, "nonce: %ld %s", api->rep.status, api->rep.body);
    snprintf(out, API_NONCE_SIZE, "%s", ok ? api_str_at(j, "nonce") : "");
    json_decref(j);
    return ok;
}

/* An EIP-4361 message for `addr`; lines end in `nl` ("\n" or "\r\n"). */
static inline void api_siwe_text(char out[API_TEXT_BYTES], const char *domain,
                                 const struct address *addr, uint64_t chain_id, const char *nonce,
                                 const char *nl)
{
    char a[ADDRESS_TEXT_SIZE], issued[32];
    time_t now = time(NULL);
    struct tm tm;
    ASSERT(gmtime_r(&now, &tm) != NULL && strftime(issued, sizeof issued, "%FT%TZ", &tm) > 0);
    address_format_checksum(a, addr);
    int n =
        snprintf(out, API_TEXT_BYTES,
                 "http://%s wants you to sign in with your Ethereum account:%s%s%s%s"
                 "Sign in to watch.%s%sURI: http://%s/watch%sVersion: 1%sChain ID: "
                 "%" PRIu64 "%sNonce: %s%sIssued At: %s",
                 domain, nl, a, nl, nl, nl, nl, domain, nl, nl, chain_id, nl, nonce, nl, issued);
    ASSERT(n > 0 && n < API_TEXT_BYTES);
}

/* "0x" + r || s || v: personal_sign of `text` by dev account `acct`. */
static inline void api_sign_text(const struct api_client *api, char out[API_SIG_HEX_SIZE],
                                 uint8_t sig[SIG_BYTES], const char *text, size_t acct)
{
    uint8_t hash[32];
    ASSERT(sig_hash_personal_message(hash, (const uint8_t *)text, strlen(text), NULL) == SIG_OK &&
           sig_sign_recoverable(sig, hash, &api->chain->key[acct], NULL) == SIG_OK &&
           hex_encode_0x(out, API_SIG_HEX_SIZE, sig, SIG_BYTES) == 0);
}

/* POST /v1/auth/siwe {message, signature}; the status. */
static inline long api_post_siwe(struct api_client *api, const char *text, const char *sig_hex)
{
    json_t *body = json_pack("{s:s, s:s}", "message", text, "signature", sig_hex);
    char *dump = json_dumps(body, JSON_COMPACT);
    ASSERT(dump != NULL);
    long status = api_request(api, "POST", "/v1/auth/siwe", NULL, dump, strlen(dump));
    free(dump);
    json_decref(body);
    return status;
}

/* Signs `acct` in at api->siwe_domain; api->tokens[acct] = its session. */
static inline bool api_sign_in(struct api_client *api, size_t acct)
{
    char nonce[API_NONCE_SIZE], text[API_TEXT_BYTES], sig[API_SIG_HEX_SIZE],
        addr[ADDRESS_TEXT_SIZE];
    uint8_t raw[SIG_BYTES];
    if (!api_get_nonce(api, nonce))
        return false;
    api_siwe_text(text, api->siwe_domain, &api->chain->addr[acct], CHAIN_ID_ANVIL, nonce, "\n");
    api_sign_text(api, sig, raw, text, acct);
    json_t *j = NULL;
    bool ok = api_post_siwe(api, text, sig) == 200 && (j = api_reply_json(api)) != NULL &&
              api_str_at(j, "token") != NULL && strlen(api_str_at(j, "token")) < TOKEN_TEXT_SIZE;
    CHECK_MSG(ok, "sign-in of account %zu: %ld %s", acct, api->rep.status, api->rep.body);
    address_format_checksum(addr, &api->chain->addr[acct]);
    if (ok) {
        CHECK_STR(api_str_at(j, "address"), addr);
        snprintf(api->tokens[acct], TOKEN_TEXT_SIZE, "%s", api_str_at(j, "token"));
    }
    json_decref(j);
    return ok;
}

/* ---- checks ------------------------------------------------------------------------ */

/* CHECKs that the last reply is a problem+json of `status`; `what` names
 * the case in the failure message. */
static inline void api_check_problem(const struct api_client *api, long status, const char *what)
{
    CHECK_MSG(api->rep.status == status, "%s: %ld (want %ld) %s", what, api->rep.status, status,
              api->rep.body);
    CHECK_MSG(strcmp(api->rep.content_type, PROBLEM_CONTENT_TYPE) == 0, "%s: content type '%s'",
              what, api->rep.content_type);
}

/* The single integer of a query without parameters on `pc`, -1 on failure
 * (row counts before and after a rejected request). */
static inline long api_count_rows(struct pg_session *pc, const char *sql)
{
    PGresult *res = NULL;
    long n = -1;
    if (pg_exec(pc, &res, sql, NULL, 0, NULL) == PG_OK && PQntuples(res) == 1)
        n = strtol(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    return n;
}

#endif
