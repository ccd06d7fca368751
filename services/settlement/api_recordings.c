/* api_recordings.c - the settlement API's recording endpoints (service.h;
 * docs/architecture.md "Recording anchors"). Both are public: the evidence
 * is for third parties, and nothing here is secret.
 *
 *   GET /v1/recordings/{stream_id}
 *       200 {stream_id, stream_key, status: recording|ended|anchored,
 *            segment_count, merkle_root, tx_hash, block_number,
 *            anchor_status: null|submitted|anchored|failed}
 *       merkle_root is the anchored (or being anchored) root, null before
 *       the anchor is submitted; tx_hash and block_number are the
 *       confirmed anchor transaction's, null until status is anchored.
 *   GET /v1/recordings/{stream_id}/evidence
 *       200 the evidence package (anchor.h "Evidence"), once the anchor is
 *       confirmed; 404 before (the detail says the recording's state).
 * A stream id that is not a lowercase UUID is 400; an unknown stream, or
 * one that never recorded, 404.
 *
 * The anchor job (jobs.c's table) runs anchor_job_tick() with the service's
 * transaction manager every ST_ANCHOR_JOB_MS. */
#include <stdlib.h>
#include <string.h>

#include "anchor.h"
#include "httpjson.h"
#include "ids.h"
#include "jobs.h"
#include "service.h"

#define API_RECORDINGS_CACHE "public, max-age=3600" /* an anchored package never changes */

static bool api_recording_id(const char **id, struct http_response *resp,
                             const struct http_request *req);
static void api_recording_fail(struct http_response *resp, struct st *s, struct respool_slot *slot,
                               struct pg_session *pc, enum anchor_result r, const char *id,
                               const struct err *e);
static json_t *api_hex_or_null(bool has, const uint8_t *bytes, size_t len);
static void api_anchor_job_init(void *state, struct st *s);
static bool api_anchor_job_tick(void *state, struct jobs_env *env, struct err *e);

/* The {stream_id} parameter; false after answering 400. */
static bool api_recording_id(const char **id, struct http_response *resp,
                             const struct http_request *req)
{
    *id = http_request_param(req, "stream_id");
    if (*id != NULL && ids_uuid_valid(*id, strlen(*id)))
        return true;
    http_reply_error(resp, PROBLEM_BAD_REQUEST, "stream ids are lowercase UUIDs");
    return false;
}

/* Answers a failed lookup: 404 (no such recording, no confirmed anchor),
 * 500 (stored rows that do not hold together, a package too large or no
 * memory: logged) or 503 (database). */
static void api_recording_fail(struct http_response *resp, struct st *s, struct respool_slot *slot,
                               struct pg_session *pc, enum anchor_result r, const char *id,
                               const struct err *e)
{
    if (r == ANCHOR_ERR_DB && (pc->conn == NULL || PQstatus(pc->conn) != CONNECTION_OK))
        respool_pg_failed(slot, PG_ERR_CONNECTION);
    respool_release(&s->pool, slot);
    if (r == ANCHOR_ERR_NOT_FOUND || r == ANCHOR_ERR_NOT_ANCHORED) {
        http_reply_error(resp, PROBLEM_NOT_FOUND, "%s%s", e->msg,
                         r == ANCHOR_ERR_NOT_ANCHORED
                             ? ": the evidence is served once the anchor is confirmed"
                             : "");
        return;
    }
    log_write(&s->log, LOG_ERROR, "recording lookup failed",
              LOG_KVS(log_str("stream", id), log_str("error", e->msg)));
    if (r == ANCHOR_ERR_DB) {
        http_reply_header(resp, "Retry-After", ST_RETRY_AFTER_S);
        http_reply_error(resp, PROBLEM_UNAVAILABLE, "could not read the recording; retry");
    } else if (r == ANCHOR_ERR_CORRUPT) {
        http_reply_error(resp, PROBLEM_INTERNAL,
                         "the recording's stored evidence is "
                         "inconsistent; the operator was alerted");
    } else {
        http_reply_error(resp, PROBLEM_INTERNAL, "the evidence could not be built (%s)",
                         r == ANCHOR_ERR_TOO_BIG ? "too large" : "out of memory");
    }
}

static json_t *api_hex_or_null(bool has, const uint8_t *bytes, size_t len)
{
    return has ? httpjson_hex(bytes, len) : json_null();
}

void st_handle_recording_get(struct http_response *resp, const struct http_request *req, void *ctx)
{
    struct st *s = ctx;
    const char *id = NULL;
    struct respool_slot *slot = NULL;
    struct pg_session *pc = NULL;
    struct anchor_recording rec;
    struct err e = {0};
    if (!api_recording_id(&id, resp, req) || !st_slot_pg(&slot, &pc, resp, s))
        return;
    enum anchor_result r = anchor_recording_get(&rec, pc, id, &e);
    if (r != ANCHOR_OK) {
        api_recording_fail(resp, s, slot, pc, r, id, &e);
        return;
    }
    respool_release(&s->pool, slot);
    http_reply_header(resp, "Cache-Control", "no-store");
    http_reply_json(resp, 200,
                    json_pack("{s:s, s:o, s:s, s:I, s:o, s:o, s:o, s:o}", "stream_id",
                              rec.stream_id, "stream_key", httpjson_hex(rec.stream_key, 32),
                              "status", rec.status, "segment_count", (json_int_t)rec.segment_count,
                              "merkle_root", api_hex_or_null(rec.has_root, rec.merkle_root, 32),
                              "tx_hash", api_hex_or_null(rec.has_tx, rec.tx_hash, 32),
                              "block_number",
                              rec.has_tx ? json_integer((json_int_t)rec.block_number) : json_null(),
                              "anchor_status",
                              rec.anchor_status[0] ? json_string(rec.anchor_status) : json_null()));
}

void st_handle_recording_evidence(struct http_response *resp, const struct http_request *req,
                                  void *ctx)
{
    struct st *s = ctx;
    const char *id = NULL;
    struct respool_slot *slot = NULL;
    struct pg_session *pc = NULL;
    struct err e = {0};
    struct buf out;
    if (!api_recording_id(&id, resp, req) || !st_slot_pg(&slot, &pc, resp, s))
        return;
    buf_init(&out, ANCHOR_EVIDENCE_BYTES_MAX);
    enum anchor_result r = anchor_evidence(&out, pc, id, &e);
    if (r != ANCHOR_OK) {
        api_recording_fail(resp, s, slot, pc, r, id, &e);
    } else {
        respool_release(&s->pool, slot);
        http_reply_header(resp, "Cache-Control", API_RECORDINGS_CACHE);
        http_reply_bytes(resp, 200, HTTP_JSON_CONTENT_TYPE, out.data, out.len);
    }
    buf_release(&out);
}

/* ---- the anchor job (jobs.c's table) ------------------------------------------- */

static void api_anchor_job_init(void *state, struct st *s)
{
    struct anchor_job_config cfg = {.chain_id = s->cfg.chain_id, .vault = s->vault, .log = &s->log};
    anchor_job_init(state, &cfg, &s->txmgr);
}

static bool api_anchor_job_tick(void *state, struct jobs_env *env, struct err *e)
{
    struct anchor_job_report rep;
    return anchor_job_tick(&rep, state, env->pc, env->rpc, e) == ANCHOR_OK;
}

const struct jobs_module st_job_anchors = {.round_failed = "anchor job round failed",
                                           .needs_vault = true,
                                           .every_ms = ST_ANCHOR_JOB_MS,
                                           .off_ms = ST_ANCHOR_JOB_OFF_MS,
                                           .state_bytes = sizeof(struct anchor_job),
                                           .init = api_anchor_job_init,
                                           .tick = api_anchor_job_tick};
