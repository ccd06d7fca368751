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
 *             starts serving on cfg.settlement_listen (port 0: ephemeral),
 *             then starts the background worker (jobs.h: the chain indexer,
 *             leader or standby; s.tune may be changed before this call).
 * st_stop():  stops the worker (joined; its leader lock released), then
 *             the server (requests in flight finish), frees everything
 *             st_open() made. Idempotent.
 *
 * /healthz checks: "postgres" (down: 503), "rpc" (degraded when the node
 * does not answer), "indexer" (jobs.h states: "ok", "standby: ..." and
 * "starting" are ok; "off: VAULT_ADDRESS ...", "failing: <why>",
 * "invalid: <why>" and "halted: <why>" are degraded).
 *
 * Routes (api_creators.c unless noted; docs/architecture.md "The settlement
 * API as built"):
 *   GET  /v1/auth/nonce                  POST /v1/auth/siwe      (auth.c)
 *   GET  /v1/chain
 *   POST /v1/creators                    GET  /v1/creators/{id}
 *   PUT  /v1/creators/{id}/splits        GET  /v1/creators/{id}/splits
 *   GET  /v1/creators/{id}/splits/history
 *   POST /v1/creators/{id}/streams
 *   GET  /v1/creators                    (public, paginated: every creator by id)
 *   GET  /v1/creators/{id}/revenue       GET  /v1/creators/{id}/balances
 *                                        (api_revenue.c)
 *   POST /v1/creators/{id}/passes        (api_passes.c)
 *   GET  /v1/recordings/{stream_id}      GET  /v1/recordings/{stream_id}/evidence
 *                                        (api_recordings.c; public)
 *   POST /v1/creators/{id}/settlements   GET  /v1/creators/{id}/settlements
 *   GET  /v1/settlements/{id}            GET  /v1/settlements/{id}/proofs/{payee}
 *                                        (api_settlements.c; reads public)
 *   GET  /healthz, /metrics              (built into http.c)
 * Every write honours Idempotency-Key (api_idem.c).
 *
 * Ownership: `struct st_server` is caller-allocated (large: static or
 * heap); st_open() fills it, st_stop() releases it; both from one thread.
 * Handlers share `struct st` read-only, except the pool, the metrics and
 * indexer_status, which are thread-safe.
 */
#ifndef SETTLEMENT_SERVICE_H
#define SETTLEMENT_SERVICE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "address.h"
#include "artifact.h"
#include "auth.h"
#include "config.h"
#include "http.h"
#include "jobs.h"
#include "log.h"
#include "respool.h"
#include "sig.h"
#include "token.h"
#include "txmgr.h"

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
    /* the indexer job (jobs.h "Metrics") */
    struct http_metric *ix_halted, *ix_leader, *ix_head, *ix_indexed, *ix_confirmed;
    struct http_metric *ix_polls, *ix_errors, *ix_reorgs;
    struct http_metric *ix_revenue_seen, *ix_revenue_confirmed, *ix_revenue_orphaned;
    struct http_metric *ix_chain_seen, *ix_chain_confirmed, *ix_chain_orphaned;
};

struct st {
    struct app_config cfg;
    struct logger log;
    struct token_keys keys;
    struct respool pool;
    struct auth auth;
    struct st_metrics m;
    struct address vault; /* valid when cfg.vault_address_set */
    struct jobs_tuning tune;                   /* the worker's intervals (jobs.h) */
    struct jobs_indexer_status indexer_status; /* written by the worker, read by /healthz */
    /* The operator (api_passes.c st_operator_open): chain writes via txmgr. */
    bool operator_ready;                 /* the key loaded: txmgr and pass_artifact valid */
    struct sig_private_key operator_key; /* wiped by st_operator_close() */
    struct txmgr txmgr;                  /* txmgr.from: the operator's address */
    struct artifact pass_artifact;       /* RightsPass creation code */
};

struct st_server {
    struct st s;
    struct http_server *http;
    struct jobs jobs; /* the background worker (jobs.h), run from st_start to st_stop */
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

/* ---- the creator list (api_creators.c: order, cursor, errors) ------------------ */
#define ST_CREATORS_LIMIT_DEFAULT 100
#define ST_CREATORS_LIMIT_MAX 500
void st_handle_creators_list(struct http_response *resp, const struct http_request *req, void *ctx);

/* ---- the query of every paginated list (api_creators.c) ----------------------
 * GET /v1/creators, .../revenue and .../settlements read ?limit= and
 * ?cursor= alike; an empty value counts as absent.
 *   limit: canonical decimal text (st_text_u64) from 1 to limit_max;
 *          absent: limit_default;
 *   cursor: absent: the first page (`cursor` untouched, parse not called);
 *          else parse(cursor, text) decodes the endpoint's own next_cursor
 *          into the caller's `cursor` (false: not one of its cursors).
 * false after answering 400 (a bad limit or cursor). */
typedef bool (*st_cursor_parse_fn)(void *cursor, const char *text);
WUR bool st_page_query(uint32_t *limit, void *cursor, st_cursor_parse_fn parse,
                       struct http_response *resp, const struct http_request *req,
                       uint32_t limit_default, uint32_t limit_max);

/* `text` is canonical decimal (u256.h: digits only, no leading zero) of a
 * number in min..max: *out set; false otherwise (*out untouched). */
WUR bool st_text_u64(uint64_t *out, const char *text, uint64_t min, uint64_t max);

/* A request to creator {id}: the signed-in caller and a well-formed id
 * (a lowercase UUID), or false after answering 401 or 404 (api_creators.c). */
WUR bool st_signed_in_creator(struct address *caller, const char **creator_id,
                              struct http_response *resp, const struct http_request *req,
                              const struct st *s);

/* ---- revenue and balances (api_revenue.c: limits, order, cursor, who reads) -- */
#define ST_REVENUE_LIMIT_DEFAULT 100
#define ST_REVENUE_LIMIT_MAX 500
#define ST_BALANCES_PAYEES_MAX 4096 /* distinct payees of all of a creator's versions */
void st_handle_revenue_get(struct http_response *resp, const struct http_request *req, void *ctx);
void st_handle_balances_get(struct http_response *resp, const struct http_request *req, void *ctx);

/* ---- recordings and their evidence (api_recordings.c; anchor.h) -------------- */
void st_handle_recording_get(struct http_response *resp, const struct http_request *req,
                             void *ctx);
void st_handle_recording_evidence(struct http_response *resp, const struct http_request *req,
                                  void *ctx);
#define ST_ANCHOR_JOB_MS 1000u      /* between rounds of the anchor job */
#define ST_ANCHOR_JOB_OFF_MS 60000u /* without operator key or VAULT_ADDRESS */
/* The anchor job for jobs.c's table: anchor_job_tick() every ST_ANCHOR_JOB_MS
 * (submits ended recordings, confirms submitted anchors); off without the
 * operator or the vault. */
extern const struct jobs_module st_job_anchors;

/* ---- settlement batches (api_settlements.c: access, errors; batch.h) ---------- */
#define ST_SETTLE_BODY_BYTES_MAX 64 /* POST .../settlements: empty or {} */
#define ST_SETTLEMENTS_LIMIT_DEFAULT 100
#define ST_SETTLEMENTS_LIMIT_MAX 500
#define ST_BATCH_JOB_MS 1000u       /* between rounds of the batch job */
#define ST_BATCH_JOB_OFF_MS 60000u  /* without operator key or VAULT_ADDRESS */
void st_handle_settlement_post(struct http_response *resp, const struct http_request *req,
                               void *ctx);
void st_handle_settlement_get(struct http_response *resp, const struct http_request *req,
                              void *ctx);
void st_handle_settlement_proof(struct http_response *resp, const struct http_request *req,
                                void *ctx);
void st_handle_settlements_list(struct http_response *resp, const struct http_request *req,
                                void *ctx);
/* The batch job for jobs.c's table: batch_job_tick() every ST_BATCH_JOB_MS
 * with the operator's txmgr (off without an operator key or VAULT_ADDRESS). */
extern const struct jobs_module st_job_batches;

/* ---- passes and the operator (api_passes.c: fields, purpose, errors) ---------- */
#define ST_PASS_BODY_BYTES_MAX 2048
#define ST_PASS_NAME_BYTES_MAX 100  /* passes.name: 1..100 characters */
#define ST_PASS_SYMBOL_BYTES_MAX 20 /* passes.symbol: 1..20 characters */
#define ST_PASS_SUPPLY_MAX 1000000000
#define ST_PASS_ROYALTY_BPS_MAX 10000 /* ERC-2981's fee denominator */
#define ST_PASS_ARTIFACT "contracts-abi/RightsPass.json" /* relative to the working directory */
void st_handle_pass_post(struct http_response *resp, const struct http_request *req, void *ctx);

/* Loads the operator key of cfg.operator_key_file into s (txmgr, pass
 * artifact); a path that is empty or names no file leaves the service
 * without an operator (s->operator_ready false, a warning logged). false (e
 * says why) on a malformed or unreadable key file, a bad MAX_FEE_PER_GAS_WEI
 * or a missing ST_PASS_ARTIFACT; then nothing is left loaded. */
WUR bool st_operator_open(struct st *s, struct err *e);

/* Wipes the key and frees the artifact. Idempotent. */
void st_operator_close(struct st *s);

/* The worker's txmgr job (jobs.c's table): txmgr_tick() of s->txmgr every
 * ST_TXMGR_JOB_MS (broadcasts, bumps, receipts of every chain write), or
 * nothing but a look every ST_TXMGR_JOB_OFF_MS without an operator key. */
#define ST_TXMGR_JOB_MS 1000u
#define ST_TXMGR_JOB_OFF_MS 60000u
extern const struct jobs_module st_job_txmgr;

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

/* The indexer's last indexed block as stored by whichever process leads
 * (indexer_read_progress with the service's cursor), using the slot's
 * session; false without VAULT_ADDRESS, before the first poll, or when
 * PostgreSQL fails (logged). */
bool st_indexed_block(uint64_t *out, struct st *s, struct respool_slot *slot);

/* A pool slot with its PostgreSQL session, or false after answering 503. */
WUR bool st_slot_pg(struct respool_slot **slot_out, struct pg_session **pc_out,
                    struct http_response *resp, struct st *s);

/* Inside a write's transaction: locks the creator row `id` and checks that
 * `caller` owns it; *ok false after setting a 404 or 403 answer in `out`
 * (api_creators.c). */
WUR enum pg_code st_owned_creator(struct st_answer *out, bool *ok, struct pg_session *pc,
                                  const char *id, const struct address *caller, struct err *e);

#endif
