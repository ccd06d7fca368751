/*
 * gateway.h - the streaming gateway's shared state and its HTTP handlers.
 *
 * One `struct gw` per process, built by main.c at startup and borrowed (as
 * the HTTP app context) by every handler; it outlives the server. The parts
 * handlers touch concurrently are thread-safe: the resource pool (one
 * PostgreSQL session and JSON-RPC client per request), the ownership cache,
 * and the metrics; everything else is read-only after startup.
 *
 * Handlers by module:
 *   api.c     GET /v1/streams/{id}, GET /v1/streams/{id}/access,
 *             POST /v1/streams/{id}/tips
 *   hls.c     GET /hls/{id}/master.m3u8, /hls/{id}/{rendition}/index.m3u8,
 *             /hls/{id}/{rendition}/{segment}
 *   ingest.c  PUT /ingest/{id}/{path*}, GET /ingest/{id} (key check)
 *   web.c     GET /, /watch/{id}, /static/{path*}
 *   auth.c    (services/common) GET /v1/auth/nonce, POST /v1/auth/siwe
 * chainwatch.c runs the chain follower thread that keeps the ownership cache
 * and the tips table in step with the chain.
 */
#ifndef GATEWAY_GATEWAY_H
#define GATEWAY_GATEWAY_H

#include <stdbool.h>
#include <stdint.h>

#include "address.h"
#include "auth.h"
#include "buf.h"
#include "config.h"
#include "http.h"
#include "log.h"
#include "owncache.h"
#include "path.h"
#include "respool.h"
#include "token.h"

#define GW_POOL_WAIT_MS 2000
#define GW_PLAYBACK_TOKEN_S 60 /* at most TOKEN_PLAYBACK_LIFETIME_S_MAX */
#define GW_OWNCACHE_ENTRIES 65536
#define GW_OWNCACHE_TTL_MS 300000 /* Transfer logs invalidate sooner */
#define GW_TIP_BODY_BYTES_MAX 1024
#define GW_RETRY_AFTER_S "2"

struct gw_metrics {
    struct http_metric *access_pass, *access_tip, *access_owner, *access_denied;
    struct http_metric *access_unavailable;
    struct http_metric *cache_hits, *cache_misses;
    struct http_metric *ingest_bytes, *ingest_segments, *ingest_rejected;
    struct http_metric *tips_credited;
    struct http_metric *chain_head, *chain_block, *chain_reorgs, *chain_errors;
};

struct gw {
    struct app_config cfg;
    struct logger log;
    struct token_keys keys;
    struct respool pool;
    struct owncache owners;
    struct auth auth;
    struct gw_metrics m;
    struct address vault;
    int media_dir_fd;  /* MEDIA_DIR, opened O_DIRECTORY|O_NOFOLLOW */
    int web_dir_fd;    /* WEB_DIR: index.html, watch.html */
    int web_static_fd; /* WEB_DIR/static */
    int web_vendor_fd; /* WEB_DIR/node_modules/hls.js/dist (npm, lockfile-pinned) */
    /* Written by the chain follower thread, read by /healthz (atomic). */
    int chain_polled; /* 1 once its first cycle has ended (either way) */
    int chain_ok;     /* 1 when the last poll succeeded */
    int chain_halted; /* 1 after a reorg deeper than the follower's window */
};

/* api.c */
void gw_handle_stream(struct http_response *resp, const struct http_request *req, void *ctx);
void gw_handle_access(struct http_response *resp, const struct http_request *req, void *ctx);
void gw_handle_tip(struct http_response *resp, const struct http_request *req, void *ctx);

/* hls.c */
void gw_handle_hls(struct http_response *resp, const struct http_request *req, void *ctx);

/* hls.c: media file helpers, shared with ingest.c. */

/* Route parameters {id} and {path*} joined as "<id>/<path>" and validated
 * with path_parse_media() into *out; false after answering 400 (bad-path). */
WUR bool gw_media_path(struct path_media *out, struct http_response *resp,
                       const struct http_request *req);

/* Appends the whole regular file dir_fd/rel (opened with path_open_at: no
 * symlink anywhere) to `out`. Returns PATH_OK, path_open_at()'s codes, or
 * PATH_ERR_IO when the file holds more than bytes_max bytes or a read
 * fails (then out->len is unchanged). */
WUR enum path_result gw_media_read(struct buf *out, int dir_fd, const char *rel, size_t bytes_max,
                                   struct err *e);

/* The directory MEDIA_DIR/<stream_id> (rendition "") or
 * MEDIA_DIR/<stream_id>/<rendition>, each component opened
 * O_DIRECTORY|O_NOFOLLOW; -1 (errno set) when missing or a symlink. The names
 * must come from a validated struct path_media. The caller closes the fd. */
int gw_media_dir_open(int media_dir_fd, const char *stream_id, const char *rendition);

/* ingest.c */
void gw_handle_ingest(struct http_response *resp, const struct http_request *req, void *ctx);
void gw_handle_ingest_check(struct http_response *resp, const struct http_request *req, void *ctx);

/* Ingest naming rules (pure). The media sequence of a segment is the
 * decimal number ending its file name's stem, as ffmpeg names segments
 * (index0.ts, index1.ts, ...; leading zeros allowed, 1..18 digits): false
 * when the stem does not end in a digit. */
WUR bool gw_ingest_sequence_of_name(uint64_t *out, const char *name, size_t name_len);

/* The rendition index a rendition name stands for before the master
 * playlist arrives: a decimal 0..31 without leading zeros (ffmpeg's %v of
 * -var_stream_map), else false. */
WUR bool gw_ingest_rendition_of_name(uint32_t *out, const char *rendition, size_t rendition_len);

/* web.c */
void gw_handle_index(struct http_response *resp, const struct http_request *req, void *ctx);
void gw_handle_watch(struct http_response *resp, const struct http_request *req, void *ctx);
void gw_handle_static(struct http_response *resp, const struct http_request *req, void *ctx);

/* Shared by the handlers (api.c): a pool slot with its PostgreSQL session,
 * or false after answering 503 with Retry-After. */
WUR bool gw_slot_pg(struct respool_slot **slot_out, struct pg_session **pc_out,
                    struct http_response *resp, struct gw *g);

/* The stream of route parameter {id}, or false after answering 404 (not a
 * UUID, or no such stream) or 503. */
struct store_stream;
WUR bool gw_load_stream(struct store_stream *out, struct http_response *resp,
                        const struct http_request *req, struct pg_session *pc,
                        struct respool_slot *slot, struct gw *g);

/* gw_slot_pg() then gw_load_stream(): on false the slot is released and the
 * answer set. */
WUR bool gw_slot_stream(struct respool_slot **slot_out, struct pg_session **pc_out,
                        struct store_stream *out, struct http_response *resp,
                        const struct http_request *req, struct gw *g);

/* access_decide() with the slot's RPC client (none if it cannot be made):
 * reports a broken session to the pool, logs an undecided answer, and
 * counts the decision (gateway_access_total) and the ownership cache. */
struct access_decision;
WUR int gw_decide(struct access_decision *d, struct gw *g, struct respool_slot *slot,
                  struct pg_session *pc, const struct store_stream *s, const struct address *viewer,
                  const char *request_id);

/* A fresh playback token for (stream, viewer): *expires_s_out its expiry. */
WUR bool gw_playback_token(char out[TOKEN_TEXT_SIZE], int64_t *expires_s_out, const struct gw *g,
                           const char *stream_id, const struct address *viewer, int64_t now_s);

/* The metric of an access decision's outcome. */
void gw_count_access(struct gw *g, int via, bool unavailable);

#endif
