/* api_idem.c - idempotent writes (service.h st_write) and the shared
 * handler helpers of the settlement API. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "hex.h"
#include "service.h"

struct idem_tx {
    struct st *s;
    const struct address *caller;
    const char *key; /* NULL: no Idempotency-Key */
    uint8_t request_sha256[32];
    st_effect_fn *effect;
    void *effect_ctx;
    struct st_answer answer;
    /* a stored answer found instead of inserting */
    bool found, mismatch;
    int found_status;
    char found_type[HTTP_CONTENT_TYPE_BYTES_MAX + 1];
    char *found_body; /* malloc'd */
};

static bool idem_key_valid(const char *key);
static bool idem_request_hash(uint8_t out[32], const struct http_request *req);
static enum pg_code idem_tx_run(struct pg_session *pc, void *ctx, struct err *e);
static enum pg_code idem_read_stored(struct idem_tx *t, struct pg_session *pc, const char *owner,
                                     struct err *e);
static enum pg_code idem_store_answer(struct idem_tx *t, struct pg_session *pc, const char *owner,
                                      struct err *e);
static void idem_reply_answer(struct http_response *resp, const struct st_answer *a);

/* 1..ST_IDEM_KEY_BYTES_MAX printable ASCII bytes without space. */
static bool idem_key_valid(const char *key)
{
    size_t n = strlen(key);
    if (n == 0 || n > ST_IDEM_KEY_BYTES_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)key[i] < 0x21 || (unsigned char)key[i] > 0x7e)
            return false;
    return true;
}

/* sha256(method "\n" path "\n" body). */
static bool idem_request_hash(uint8_t out[32], const struct http_request *req)
{
    struct crypto_sha256 h;
    memset(&h, 0, sizeof h);
    bool ok = crypto_sha256_init(&h, NULL) == CRYPTO_OK &&
              crypto_sha256_update(&h, req->method, strlen(req->method), NULL) == CRYPTO_OK &&
              crypto_sha256_update(&h, "\n", 1, NULL) == CRYPTO_OK &&
              crypto_sha256_update(&h, req->path, strlen(req->path), NULL) == CRYPTO_OK &&
              crypto_sha256_update(&h, "\n", 1, NULL) == CRYPTO_OK &&
              crypto_sha256_update(&h, req->body, req->body_len, NULL) == CRYPTO_OK &&
              crypto_sha256_final(&h, out, NULL) == CRYPTO_OK;
    crypto_sha256_release(&h);
    return ok;
}

void st_answer_problem(struct st_answer *out, enum problem_kind kind, const char *detail_fmt, ...)
{
    struct problem p;
    va_list ap;
    va_start(ap, detail_fmt);
    problem_vinit_kind(&p, kind, detail_fmt, ap);
    va_end(ap);
    json_decref(out->body);
    out->body = problem_to_json(&p);
    out->status = p.status;
    out->problem = true;
    problem_release(&p);
}

bool st_slot_pg(struct respool_slot **slot_out, struct pg_session **pc_out,
                struct http_response *resp, struct st *s)
{
    struct err e = {0};
    *slot_out = NULL;
    if (respool_acquire(slot_out, &s->pool, ST_POOL_WAIT_MS, &e) == RESPOOL_OK) {
        if (respool_pg(pc_out, *slot_out, &s->pool, &e) == RESPOOL_OK)
            return true;
        respool_release(&s->pool, *slot_out);
        *slot_out = NULL;
        log_write(&s->log, LOG_ERROR, "database unavailable", LOG_KVS(log_str("error", e.msg)));
    }
    http_reply_header(resp, "Retry-After", ST_RETRY_AFTER_S);
    http_reply_error(resp, PROBLEM_UNAVAILABLE, "the database is unavailable; retry");
    return false;
}

/* The row of (caller, key) that another request committed: replay or 422. */
static enum pg_code idem_read_stored(struct idem_tx *t, struct pg_session *pc, const char *owner,
                                     struct err *e)
{
    PGresult *res = NULL;
    const char *params[2] = {owner, t->key};
    enum pg_code r = pg_exec(pc, &res,
                             "SELECT encode(request_sha256, 'hex'), status, content_type, response "
                             "FROM idempotency_keys WHERE owner = $1::bytea AND key = $2",
                             params, 2, e);
    if (r != PG_OK)
        return r;
    if (PQntuples(res) != 1) { /* the first request rolled back meanwhile: try again */
        PQclear(res);
        return PG_ERR_SERIALIZATION;
    }
    uint8_t stored[32];
    const char *hash_hex = PQgetvalue(res, 0, 0);
    ASSERT(hex_decode_exact(stored, 32, hash_hex, strlen(hash_hex), NULL) == HEX_OK);
    t->found = true;
    t->mismatch = !crypto_equal_ct(stored, t->request_sha256, 32);
    t->found_status = (int)strtol(PQgetvalue(res, 0, 1), NULL, 10);
    snprintf(t->found_type, sizeof t->found_type, "%s", PQgetvalue(res, 0, 2));
    free(t->found_body);
    t->found_body = strdup(PQgetvalue(res, 0, 3));
    PQclear(res);
    ASSERT(t->found_status >= 200 && t->found_status <= 499);
    return t->found_body != NULL ? PG_OK : PG_ERR_CALLBACK;
}

static enum pg_code idem_store_answer(struct idem_tx *t, struct pg_session *pc, const char *owner,
                                      struct err *e)
{
    char *dump = json_dumps(t->answer.body, JSON_COMPACT);
    if (dump == NULL)
        return (enum pg_code)err_set(e, PG_ERR_CALLBACK, "cannot serialise the answer");
    char status[16];
    snprintf(status, sizeof status, "%d", t->answer.status);
    const char *params[5] = {owner, t->key, status,
                             t->answer.problem ? PROBLEM_CONTENT_TYPE : HTTP_JSON_CONTENT_TYPE,
                             dump};
    enum pg_code r = pg_exec(pc, NULL,
                             "UPDATE idempotency_keys SET status = $3::integer, content_type = $4, "
                             "response = $5 WHERE owner = $1::bytea AND key = $2",
                             params, 5, e);
    free(dump);
    return r;
}

static enum pg_code idem_tx_run(struct pg_session *pc, void *ctx, struct err *e)
{
    struct idem_tx *t = ctx;
    char owner[PG_BYTEA_TEXT_SIZE], hash[PG_BYTEA_TEXT_SIZE];
    pg_bytea_text(owner, t->caller->bytes, ADDRESS_BYTES);
    pg_bytea_text(hash, t->request_sha256, 32);
    json_decref(t->answer.body);
    t->answer = (struct st_answer){0};
    t->found = t->mismatch = false;
    if (t->key != NULL) {
        /* Waits for a concurrent holder of the key, then inserts nothing. */
        PGresult *res = NULL;
        const char *params[3] = {owner, t->key, hash};
        enum pg_code r = pg_exec(pc, &res,
                                 "INSERT INTO idempotency_keys (owner, key, request_sha256, "
                                 "status, content_type, response) VALUES ($1::bytea, $2, "
                                 "$3::bytea, 200, 'pending', '') ON CONFLICT DO NOTHING "
                                 "RETURNING 1",
                                 params, 3, e);
        if (r != PG_OK)
            return r;
        bool inserted = PQntuples(res) == 1;
        PQclear(res);
        if (!inserted)
            return idem_read_stored(t, pc, owner, e);
    }
    enum pg_code r = t->effect(&t->answer, pc, t->caller, t->effect_ctx, e);
    if (r != PG_OK)
        return r;
    ASSERT(t->answer.body != NULL);
    if (t->answer.status >= 500)
        return (enum pg_code)err_set(e, PG_ERR_CALLBACK, "write failed: %d", t->answer.status);
    return t->key != NULL ? idem_store_answer(t, pc, owner, e) : PG_OK;
}

static void idem_reply_answer(struct http_response *resp, const struct st_answer *a)
{
    char *dump = json_dumps(a->body, JSON_COMPACT);
    if (dump == NULL) {
        http_reply_error(resp, PROBLEM_INTERNAL, "cannot serialise the answer");
        return;
    }
    http_reply_bytes(resp, a->status, a->problem ? PROBLEM_CONTENT_TYPE : HTTP_JSON_CONTENT_TYPE,
                     dump, strlen(dump));
    free(dump);
}

void st_write(struct http_response *resp, const struct http_request *req, struct st *s,
              const struct address *caller, st_effect_fn *effect, void *ctx)
{
    const char *key = http_request_header(req, "Idempotency-Key");
    if (key != NULL && !idem_key_valid(key)) {
        http_reply_error(resp, PROBLEM_BAD_REQUEST,
                         "Idempotency-Key must be 1..%d printable ASCII characters",
                         ST_IDEM_KEY_BYTES_MAX);
        return;
    }
    struct idem_tx t = {.s = s, .caller = caller, .key = key, .effect = effect, .effect_ctx = ctx};
    if (!idem_request_hash(t.request_sha256, req)) {
        http_reply_error(resp, PROBLEM_INTERNAL, "cannot hash the request");
        return;
    }
    struct respool_slot *slot = NULL;
    struct pg_session *pc = NULL;
    if (!st_slot_pg(&slot, &pc, resp, s))
        return;
    struct err e = {0};
    enum pg_code r = pg_run_tx(pc, PG_READ_COMMITTED, ST_TX_ATTEMPTS, idem_tx_run, &t, NULL, &e);
    if (r == PG_ERR_CONNECTION)
        respool_pg_failed(slot, r);
    respool_release(&s->pool, slot);
    if (r == PG_OK && t.found && t.mismatch) {
        if (s->m.idem_mismatches != NULL)
            http_metric_add(s->m.idem_mismatches, 1);
        http_reply_error(resp, PROBLEM_UNPROCESSABLE,
                         "Idempotency-Key already used for a different request");
    } else if (r == PG_OK && t.found) {
        if (s->m.idem_replays != NULL)
            http_metric_add(s->m.idem_replays, 1);
        http_reply_header(resp, "Idempotent-Replayed", "true");
        http_reply_bytes(resp, t.found_status, t.found_type, t.found_body, strlen(t.found_body));
    } else if (r == PG_OK) {
        idem_reply_answer(resp, &t.answer);
    } else if (t.answer.body != NULL && t.answer.status >= 500) {
        idem_reply_answer(resp, &t.answer);
    } else {
        log_write(&s->log, LOG_ERROR, "write failed",
                  LOG_KVS(log_str("req", req->request_id), log_str("error", e.msg)));
        http_reply_header(resp, "Retry-After", ST_RETRY_AFTER_S);
        http_reply_error(resp, PROBLEM_UNAVAILABLE, "the write failed; retry");
    }
    json_decref(t.answer.body);
    free(t.found_body);
}
