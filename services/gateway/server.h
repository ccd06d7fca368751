/*
 * server.h - assembling a gateway: from a loaded configuration to a serving
 * HTTP server plus the chain follower thread, and back. main.c is a thin
 * shell around these; tests use them to run a real gateway in-process (on
 * an ephemeral port, against the runner's PostgreSQL and anvil).
 *
 * gw_open():  checks the settings that need more than the config table
 *             (VAULT_ADDRESS required, the auth secret file, MEDIA_DIR and
 *             WEB_DIR open as directories), derives the token keys, and
 *             sizes the resource pool and ownership cache. Touches neither
 *             the network nor PostgreSQL.
 * gw_start(): builds the HTTP server (routes below), registers metrics,
 *             starts serving and starts the chain follower thread.
 * gw_stop():  stops the follower, then the server (requests in flight
 *             finish), then frees everything gw_open() made.
 *
 * Routes:
 *   GET  /v1/auth/nonce                 POST /v1/auth/siwe
 *   GET  /v1/streams/{id}               GET  /v1/streams/{id}/access
 *   POST /v1/streams/{id}/tips
 *   GET  /hls/{id}/{path*}              (master, media playlists, segments)
 *   PUT  /ingest/{id}/{path*}           GET  /ingest/{id} (ingest key check)
 *   GET  /, /watch/{id}, /static/{path*}
 *   GET  /healthz, /metrics             (built into http.c)
 *
 * Ownership: `struct gw_server` is caller-allocated (large: static or heap);
 * gw_open() fills it, gw_stop() releases it; both from one thread.
 */
#ifndef GATEWAY_SERVER_H
#define GATEWAY_SERVER_H

#include <pthread.h>
#include <stdbool.h>

#include "gateway.h"
#include "http.h"

#define GW_HTTP_THREADS 8
#define GW_POOL_SLOTS (GW_HTTP_THREADS + 2) /* handlers + follower + health */
#define GW_CONNECTIONS_MAX 4096
#define GW_CONNECTIONS_PER_IP_MAX 512
#define GW_INGEST_BODY_BYTES_MAX ((size_t)32 << 20) /* one segment */
#define GW_RPC_TIMEOUT_MS 5000
#define GW_EIP1271_TIMEOUT_MS 3000

struct gw_server {
    struct gw g;
    struct http_server *http;
    pthread_t follower;
    bool follower_running;
    int follower_stop; /* atomic flag read by the follower between polls */
};

/* Prepares `s` from `cfg` (copied) with logs going to `log_out` as svc
 * "gateway". Returns false (e says why) on a bad setting; then nothing is
 * left open. */
WUR bool gw_open(struct gw_server *s, const struct app_config *cfg, FILE *log_out, struct err *e);

/* Serves on cfg.gateway_listen (port 0: an ephemeral port, see
 * http_server_port(s->http)). false (e says why) leaves `s` open: call
 * gw_stop(). */
WUR bool gw_start(struct gw_server *s, struct err *e);

/* Stops and frees whatever was started and opened. Idempotent. */
void gw_stop(struct gw_server *s);

/* The follower thread's body (chainwatch.c); `arg` is the gw_server. */
void *gw_chainwatch_main(void *arg);

#endif
