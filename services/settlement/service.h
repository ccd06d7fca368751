/*
 * service.h - the settlement service's HTTP side: from a loaded
 * configuration to a serving HTTP server, and back (as the gateway's
 * server.h). main.c is a thin shell around these; tests run a real service
 * in-process on an ephemeral port against the runner's PostgreSQL and anvil.
 *
 * st_open():  checks the auth secret file, derives the token keys (the same
 *             AUTH_SECRET_FILE as the gateway: sessions of either service
 *             work on both), sizes the resource pool. Touches neither the
 *             network nor PostgreSQL.
 * st_start(): builds the HTTP server (routes below), registers metrics,
 *             starts serving on cfg.settlement_listen (port 0: ephemeral).
 * st_stop():  stops the server (requests in flight finish), frees
 *             everything st_open() made. Idempotent.
 *
 * Routes (api_creators.c unless noted; docs/architecture.md "The settlement
 * API as built"):
 *   GET  /v1/auth/nonce                  POST /v1/auth/siwe      (auth.c)
 *   GET  /v1/chain
 *   POST /v1/creators                    GET  /v1/creators/{id}
 *   PUT  /v1/creators/{id}/splits        GET  /v1/creators/{id}/splits
 *   GET  /v1/creators/{id}/splits/history
 *   POST /v1/creators/{id}/streams
 *   GET  /healthz, /metrics              (built into http.c)
 * Every write honours Idempotency-Key (api_idem.c).
 *
 * Ownership: `struct st_server` is caller-allocated (large: static or
 * heap); st_open() fills it, st_stop() releases it; both from one thread.
 * Handlers share `struct st` read-only, except the pool and the metrics,
 * which are thread-safe.
 */
#ifndef SETTLEMENT_SERVICE_H
#define SETTLEMENT_SERVICE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "address.h"
#include "auth.h"
#include "config.h"
#include "http.h"
#include "log.h"
#include "respool.h"
#include "token.h"

#define ST_HTTP_THREADS 8
#define ST_POOL_SLOTS (ST_HTTP_THREADS + 1) /* handlers + health */
#define ST_CONNECTIONS_MAX 1024
#define ST_CONNECTIONS_PER_IP_MAX 256
#define ST_RPC_TIMEOUT_MS 5000
#define ST_EIP1271_TIMEOUT_MS 3000
#define ST_POOL_WAIT_MS 2000
#define ST_RETRY_AFTER_S "2"
#define ST_CREATOR_BODY_BYTES_MAX 1024
#define ST_SPLITS_BODY_BYTES_MAX (32 * 1024) /* 100 shares of ~150 bytes, with room */
#define ST_STREAM_BODY_BYTES_MAX 8192
#define ST_STREAM_PASSES_MAX 16
#define ST_ROLE_BYTES_MAX 64
#define ST_NAME_BYTES_MAX 200
#define ST_TITLE_BYTES_MAX 200
#define ST_INGEST_KEY_BYTES 32 /* random; shown once as 64 hex digits */
#define ST_IDEM_KEY_BYTES_MAX 255
#define ST_TX_ATTEMPTS 5

struct st_metrics {
    struct http_metric *idem_replays, *idem_mismatches;
};

struct st {
    struct app_config cfg;
    struct logger log;
    struct token_keys keys;
    struct respool pool;
    struct auth auth;
    struct st_metrics m;
    struct address vault; /* valid when cfg.vault_address_set */
};

struct st_server {
    struct st s;
    struct http_server *http;
};

/* Prepares `srv` from `cfg` (copied) with logs going to `log_out` as svc
 * "settlement". Returns false (e says why) on a bad setting; then nothing
 * is left open. */
WUR bool st_open(struct st_server *srv, const struct app_config *cfg, FILE *log_out,
                 struct err *e);

/* Serves on cfg.settlement_listen. false (e says why) leaves `srv` open:
 * call st_stop(). */
WUR bool st_start(struct st_server *srv, struct err *e);

/* Stops and frees whatever was started and opened. Idempotent. */
void st_stop(struct st_server *srv);

/* ---- handlers (api_creators.c) ---------------------------------------------- */
void st_handle_chain(struct http_response *resp, const struct http_request *req, void *ctx);
void st_handle_creator_post(struct http_response *resp, const struct http_request *req, void *ctx);
void st_handle_creator_get(struct http_response *resp, const struct http_request *req, void *ctx);
void st_handle_splits_put(struct http_response *resp, const struct http_request *req, void *ctx);
void st_handle_splits_get(struct http_response *resp, const struct http_request *req, void *ctx);
void st_handle_splits_history(struct http_response *resp, const struct http_request *req,
                              void *ctx);
void st_handle_stream_post(struct http_response *resp, const struct http_request *req, void *ctx);

/* ---- idempotent writes (api_idem.c) ------------------------------------------ */

/* What a write's effect answers: status and body (owned; NULL only for a
 * failure that rolls back). A status >= 500 rolls the transaction back and
 * is never stored. */
struct st_answer {
    int status;
    json_t *body;
    bool problem; /* body is a problem object: application/problem+json */
};

/* The effect of one write, run inside the write's transaction on `pc`.
 * Fills *out; returns PG_OK (commit: the answer is stored when a key was
 * given), a pg_code from a query (rolled back; serialization failures are
 * retried), or PG_ERR_CALLBACK after setting a 5xx answer. */
typedef enum pg_code st_effect_fn(struct st_answer *out, struct pg_session *pc,
                                  const struct address *caller, void *ctx, struct err *e);

/* Answers a write: reads and checks the Idempotency-Key header (400 when
 * malformed), then runs `effect` in one READ COMMITTED transaction together
 * with the key's row (INSERT ... ON CONFLICT DO NOTHING on its primary key):
 * a new key stores the answer with the effect; a key already stored replays
 * its first answer when the request (method, path, body) is the same and
 * answers 422 otherwise. Without the header the effect just runs. */
void st_write(struct http_response *resp, const struct http_request *req, struct st *s,
              const struct address *caller, st_effect_fn *effect, void *ctx);

/* Sets `out` to the problem of `kind` with a detail. */
void st_answer_problem(struct st_answer *out, enum problem_kind kind, const char *detail_fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A pool slot with its PostgreSQL session, or false after answering 503. */
WUR bool st_slot_pg(struct respool_slot **slot_out, struct pg_session **pc_out,
                    struct http_response *resp, struct st *s);

#endif
