/*
 * http.h - the HTTP server of both services, on libmicrohttpd 0.9.75: a route
 * table with named path parameters, request ids, a logfmt access log,
 * explicit limits, problem+json errors (problem.h), files sent with
 * sendfile(2) and single byte ranges, and the built-in GET /healthz and
 * GET /metrics (Prometheus text, with the application's own series).
 *
 * Threads: libmicrohttpd runs `threads` internal threads, each with its own
 * epoll loop (MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL,
 * MHD_OPTION_THREAD_POOL_SIZE). A handler runs on the thread that owns the
 * connection and may block (PostgreSQL, JSON-RPC): it delays only that
 * thread's other connections. Handlers run concurrently, so whatever
 * application state they share must be thread-safe. Metric updates are
 * atomic; the route table is read-only once the server exists.
 *
 * Lifecycle: http_server_new() validates the config and the routes and
 * allocates; application metrics are registered any time after it;
 * http_server_start() binds and serves; http_server_stop() stops accepting,
 * lets requests in flight finish (up to config.drain_ms), then joins the
 * threads; http_server_free() stops if needed and frees. start, stop and
 * free belong to one thread (main), never to a handler.
 *
 * A request, in order:
 *  1. The request line arrives: a request id is made, the clock starts.
 *     A URL longer than url_bytes_max is answered 414.
 *  2. The path (without the query) is percent-decoded segment by segment. A
 *     bad escape, an encoded NUL or '/', a control byte, or a "." or ".."
 *     segment is answered 400 (bad-path): a route never sees them.
 *  3. Routing: the routes are tried in table order and the first whose
 *     method and pattern match wins (HEAD matches a GET route; libmicrohttpd
 *     then sends the headers only). A path that matches some pattern but no
 *     method is 405 with an Allow header; no pattern, 404.
 *  4. The body: a Content-Length above the route's body_bytes_max is
 *     answered 413 at once, before any body byte is read (the connection is
 *     then closed). A chunked body is buffered while it fits; past the
 *     maximum the rest is read and discarded (never stored), and the answer
 *     is 413 with "Connection: close" - or, when more than
 *     HTTP_BODY_DRAIN_BYTES_MAX bytes would have to be discarded, the
 *     connection is closed without an answer.
 *  5. The handler runs with the whole body in memory and fills the response
 *     through the http_reply_* functions. A handler that sets nothing, or
 *     whose reply failed (out of memory, a malformed header), yields a 500
 *     problem and an error log line naming the request id.
 *  6. The answer carries "X-Request-Id"; after it is sent (or the
 *     connection ends) one access log line is written and the metrics count it.
 *
 * Patterns: "/" or "/seg/seg/...": a segment is a literal of
 * [A-Za-z0-9._~!$&'()+,;=:@-], a parameter "{name}" (one non-empty
 * segment), or, as the last segment only, a tail "{name*}" (one or more
 * segments: the rest of the path, slashes included, never empty). Names are
 * [a-z_][a-z0-9_]{0,31}. At most HTTP_ROUTE_SEGMENTS_MAX segments and
 * HTTP_ROUTE_PARAMS_MAX parameters per pattern. Literal segments compare with
 * the decoded path. "/healthz" and "/metrics" are built in (GET and HEAD)
 * and may not be in the table; a (method, pattern) pair may appear once.
 *
 * Request ids: a client's X-Request-Id of 1..HTTP_REQUEST_ID_BYTES_MAX bytes
 * of [A-Za-z0-9._:-] is kept; anything else is replaced by 16 random hex
 * digits (crypto_random_bytes). The id is echoed in the response header
 * X-Request-Id, passed to the handler and written as req= in the log.
 *
 * Access log (LOG_INFO, msg="request"), one line per request:
 *   req=<id> method=GET route=/hls/{id}/{path*} path=/hls/abc/0/seg1.ts
 *   status=206 bytes=1024 dur_ms=0.412 ip=127.0.0.1 [end=timeout]
 * route= is the pattern, or "unmatched" (400/404/405/414). path= is the
 * path as received WITHOUT the query string: tokens travel in query strings
 * and are never logged; neither are Authorization or any other header.
 * bytes= is the body size sent (0 for HEAD). status=0 means no answer left
 * this layer (the client went away, timed out, or libmicrohttpd answered a
 * malformed request itself); end= names the reason when the exchange did
 * not complete normally. libmicrohttpd's own messages are logged at
 * LOG_WARN, at most HTTP_MHD_LOG_LINES_PER_S per second.
 *
 * Metrics (GET /metrics, "text/plain; version=0.0.4"):
 *   http_requests_total{method,route,status}      counter
 *   http_request_duration_seconds{method,route}   histogram, request line to
 *                                                 the last byte sent
 * Unrouted requests are counted under method="any",route="unmatched". A
 * route has room for HTTP_ROUTE_STATUSES_MAX distinct statuses; further ones
 * are counted as status="other". A histogram appears once its route has
 * answered. Then every application series (http_metric_register), grouped
 * by name with one HELP and TYPE line per name, in registration order.
 *
 * Health (GET /healthz): {"status":"ok"|"degraded"|"down","checks":{...}}
 * with "checks" filled by the application's callback (none: always ok).
 * 200 for ok and degraded, 503 for down only. Both built-ins send
 * "Cache-Control: no-store".
 *
 * Ownership: the server owns copies of the config and routes; the logger
 * and app.ctx are borrowed and must outlive the server. A request and its
 * strings (params, headers, query values, body) are valid only during the
 * handler call. Reply functions take ownership as each one says (json_t
 * values and file descriptors are STOLEN, byte buffers are copied).
 */
#ifndef COMMON_HTTP_H
#define COMMON_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "check.h"
#include "err.h"
#include "log.h"
#include "problem.h"

/* ---- limits of the config (defaults and maxima) ---------------------------- */
#define HTTP_LISTEN_BYTES_MAX 300 /* "host:port", as CONFIG_HOSTPORT_BYTES_MAX */
#define HTTP_LISTEN_DEFAULT "127.0.0.1:0"
#define HTTP_THREADS_DEFAULT 4
#define HTTP_THREADS_MAX 64
#define HTTP_CONNECTION_TIMEOUT_S_DEFAULT 30 /* idle seconds before a connection is closed */
#define HTTP_CONNECTION_TIMEOUT_S_MAX 3600
#define HTTP_CONNECTIONS_DEFAULT 1024 /* at least `threads`: shared between them */
#define HTTP_CONNECTIONS_MAX 65536
/* One address may hold this many connections: raise it for a load test from one host. */
#define HTTP_CONNECTIONS_PER_IP_DEFAULT 64
#define HTTP_CONNECTION_MEMORY_BYTES_DEFAULT (32 * 1024) /* request line + headers */
#define HTTP_CONNECTION_MEMORY_BYTES_MIN (8 * 1024)
#define HTTP_CONNECTION_MEMORY_BYTES_MAX (1024 * 1024)
#define HTTP_URL_BYTES_DEFAULT 4096 /* at most connection_memory_bytes / 2 */
#define HTTP_URL_BYTES_MIN 64
#define HTTP_URL_BYTES_MAX (64 * 1024)
#define HTTP_BODY_BYTES_DEFAULT (64 * 1024)
#define HTTP_BODY_BYTES_MAX ((size_t)256 << 20)
#define HTTP_DRAIN_MS_DEFAULT 2000 /* http_server_stop: wait for requests in flight */
#define HTTP_DRAIN_MS_MAX 60000

/* ---- fixed limits ----------------------------------------------------------- */
#define HTTP_ROUTES_MAX 64
#define HTTP_ROUTE_PATTERN_BYTES_MAX 256
#define HTTP_ROUTE_SEGMENTS_MAX 16
#define HTTP_ROUTE_PARAMS_MAX 8
#define HTTP_PARAM_NAME_BYTES_MAX 32
#define HTTP_METHOD_BYTES_MAX 16 /* [A-Z]{1,16} in a route */
#define HTTP_REQUEST_ID_BYTES_MAX 64
#define HTTP_REQUEST_ID_RANDOM_BYTES 8 /* 16 hex digits */
#define HTTP_PEER_IP_BYTES_MAX 46      /* INET6_ADDRSTRLEN - 1 */
#define HTTP_BEARER_BYTES_MAX 2048
#define HTTP_CONTENT_TYPE_BYTES_MAX 128
#define HTTP_RESPONSE_HEADERS_MAX 16
#define HTTP_HEADER_NAME_BYTES_MAX 64
#define HTTP_HEADER_VALUE_BYTES_MAX 1024
#define HTTP_BODY_DRAIN_BYTES_MAX ((uint64_t)1 << 20)
#define HTTP_ROUTE_STATUSES_MAX 16
#define HTTP_METRICS_SERIES_MAX 64 /* application series */
#define HTTP_METRIC_NAME_BYTES_MAX 64
#define HTTP_METRIC_LABELS_BYTES_MAX 160
#define HTTP_METRIC_HELP_BYTES_MAX 160
#define HTTP_METRICS_BODY_BYTES_MAX ((size_t)1 << 20)
#define HTTP_MHD_LOG_LINES_PER_S 10
#define HTTP_JSON_CONTENT_TYPE "application/json"
#define HTTP_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* Stable result codes; numbers are never reused. */
enum http_result {
    HTTP_OK = 0,
    HTTP_ERR_BAD_CONFIG = 1, /* a config field out of its range (message names it) */
    HTTP_ERR_BAD_LISTEN = 2, /* listen is not host:port, or the host does not resolve */
    HTTP_ERR_BAD_ROUTE = 3,  /* a route is malformed, duplicated or built in */
    HTTP_ERR_START = 4,      /* libmicrohttpd could not start (port in use...) */
    HTTP_ERR_NOMEM = 5,
    HTTP_ERR_STATE = 6,           /* started twice, or started after stop */
    HTTP_ERR_BAD_METRIC = 7,      /* metric name, labels or help malformed */
    HTTP_ERR_METRIC_CONFLICT = 8, /* series registered twice, or a name with two types */
    HTTP_ERR_METRICS_FULL = 9     /* HTTP_METRICS_SERIES_MAX series already */
};

struct http_config {
    char listen[HTTP_LISTEN_BYTES_MAX + 1]; /* "host:port", "[v6]:port"; port 0 = ephemeral */
    uint32_t threads;                       /* 1..HTTP_THREADS_MAX */
    uint32_t connection_timeout_s;          /* 1..HTTP_CONNECTION_TIMEOUT_S_MAX */
    uint32_t connections_max;               /* threads..HTTP_CONNECTIONS_MAX */
    uint32_t connections_per_ip_max;        /* 1..connections_max */
    size_t connection_memory_bytes;         /* HTTP_CONNECTION_MEMORY_BYTES_MIN.._MAX */
    size_t url_bytes_max;                   /* HTTP_URL_BYTES_MIN..connection_memory_bytes/2 */
    size_t body_bytes_max;                  /* routes with 0; 0..HTTP_BODY_BYTES_MAX */
    uint32_t drain_ms;                      /* 0..HTTP_DRAIN_MS_MAX */
};

/* One decoded path parameter: both strings NUL-terminated. */
struct http_param {
    const char *name;
    const char *value;
};

struct MHD_Connection;
struct http_exchange;

/* What a handler sees. Read-only; valid during the handler call only. */
struct http_request {
    const char *method;     /* the request's: a route's method, or "HEAD" on a GET route */
    const char *path;       /* percent-decoded, no query string */
    const char *route;      /* the matched pattern */
    const char *request_id; /* as echoed in X-Request-Id */
    const char *peer_ip;    /* "127.0.0.1", "::1" */
    const uint8_t *body;    /* body_len bytes plus a NUL (not counted); never NULL */
    size_t body_len;
    const struct http_param *params; /* in pattern order */
    size_t params_len;
    struct MHD_Connection *conn; /* private: use the lookups below */
};

/* Filled by the handler through http_reply_*; opaque. */
struct http_response;

/* A handler: fills `resp` for `req`. ctx is http_app.ctx. */
typedef void http_handler_fn(struct http_response *resp, const struct http_request *req, void *ctx);

struct http_route {
    const char *method;  /* "GET", "POST", "PUT", "DELETE", "PATCH"...: [A-Z]{1,16} */
    const char *pattern; /* see "Patterns" above */
    http_handler_fn *handler;
    size_t body_bytes_max; /* 0 = config.body_bytes_max; at most HTTP_BODY_BYTES_MAX */
};

enum http_health { HTTP_HEALTH_OK = 0, HTTP_HEALTH_DEGRADED = 1, HTTP_HEALTH_DOWN = 2 };

/* Health callback: adds one member per component to `checks` (a JSON
 * object, e.g. "postgres":"ok", "rpc":"down") and says the overall state.
 * Runs on a pool thread like a handler; keep it quick and bounded. */
typedef enum http_health http_health_fn(json_t *checks, void *ctx);

struct http_app {
    const struct http_route *routes; /* copied by http_server_new */
    size_t routes_len;               /* 0..HTTP_ROUTES_MAX */
    void *ctx;                       /* borrowed; passed to handlers and health */
    http_health_fn *health;          /* NULL: /healthz is always ok */
    const struct logger *log;        /* borrowed; required */
};

struct http_server;
struct http_metric;

enum http_metric_type { HTTP_METRIC_COUNTER = 1, HTTP_METRIC_GAUGE = 2 };

/* ---- server ----------------------------------------------------------------- */

/* Fills *cfg with the defaults above (listen HTTP_LISTEN_DEFAULT). */
void http_config_default(struct http_config *cfg);

/* Validates cfg (every field, message naming the first bad one), resolves
 * the listen address and compiles the routes. On HTTP_OK *server_out is a
 * new server, not yet listening, to be freed with http_server_free().
 * Returns HTTP_OK, HTTP_ERR_BAD_CONFIG, HTTP_ERR_BAD_LISTEN,
 * HTTP_ERR_BAD_ROUTE or HTTP_ERR_NOMEM; on failure *server_out is NULL. */
WUR enum http_result http_server_new(struct http_server **server_out, const struct http_config *cfg,
                                     const struct http_app *app, struct err *e);

/* Binds and starts the threads. Returns HTTP_OK, HTTP_ERR_STATE (already
 * started, or stopped) or HTTP_ERR_START (the reason is in the preceding
 * libmicrohttpd log line, e.g. the address in use). */
WUR enum http_result http_server_start(struct http_server *s, struct err *e);

/* The bound port (the ephemeral one for port 0); 0 when not started. */
uint16_t http_server_port(const struct http_server *s);

/* Stops accepting, waits up to config.drain_ms for requests in flight,
 * closes every connection and joins the threads. Idempotent; a server that
 * never started is just marked stopped. Must not be called from a handler. */
void http_server_stop(struct http_server *s);

/* Stops (if needed) and frees everything, metrics included; NULL is allowed. */
void http_server_free(struct http_server *s);

/* ---- request lookups (valid during the handler call) ------------------------ */

/* The decoded value of path parameter `name`, or NULL when the route has none. */
const char *http_request_param(const struct http_request *req, const char *name);

/* The decoded value of query argument `name` ("+" is a space), or NULL when
 * absent or given without "=". The first one when repeated. */
const char *http_request_query(const struct http_request *req, const char *name);

/* The value of header `name` (case-insensitive), or NULL. */
const char *http_request_header(const struct http_request *req, const char *name);

/* The token of "Authorization: Bearer <token>" (scheme case-insensitive),
 * or NULL when the header is absent, uses another scheme, or the token is
 * empty, longer than HTTP_BEARER_BYTES_MAX, or outside the RFC 6750
 * b64token characters [A-Za-z0-9._~+/-]+=*. Never log it. */
const char *http_request_bearer(const struct http_request *req);

/* ---- replies (each replaces any earlier body and status) -------------------- */

/* `status` (200..599) with `body` (STOLEN) serialised compactly as
 * application/json. A NULL body (a failed json_pack) becomes a 500. */
void http_reply_json(struct http_response *resp, int status, json_t *body);

/* The problem `p` as application/problem+json with its status. The
 * problem is released by the call (its members are taken). */
void http_reply_problem(struct http_response *resp, struct problem *p);

/* A problem of a shared kind, detail printf-style. */
void http_reply_error(struct http_response *resp, enum problem_kind kind, const char *detail_fmt,
                      ...) __attribute__((format(printf, 3, 4)));

/* `status` with data[0..data_len) (copied; data may be NULL when data_len is
 * 0) and `content_type` (at most HTTP_CONTENT_TYPE_BYTES_MAX bytes). */
void http_reply_bytes(struct http_response *resp, int status, const char *content_type,
                      const void *data, size_t data_len);

/* `status` without a body (201, 204, 302...). */
void http_reply_empty(struct http_response *resp, int status);

/* The regular file open on `fd` (STOLEN: closed by the server once sent, or
 * at once on any failure; opened blocking and read-only), sent with
 * sendfile(2) as `content_type`, with "Accept-Ranges: bytes". A single
 * byte range from the request's Range header (see http_range_parse) gives
 * 206 with Content-Range; an unsatisfiable one gives a 416 problem with
 * the unsatisfied Content-Range (RFC 9110: "bytes ", a star, a slash and
 * the size); a Range with an If-Range, or
 * with several ranges, gives the whole file (200). A descriptor that is not
 * a regular file becomes a 500. */
void http_reply_file(struct http_response *resp, int fd, const char *content_type);

/* Adds a response header (Cache-Control, Retry-After, Location, ...); name
 * [A-Za-z0-9-]{1,64}, value printable ASCII (tab allowed) of at most
 * HTTP_HEADER_VALUE_BYTES_MAX bytes. "Content-Type" replaces the reply's
 * content type. Content-Length, Transfer-Encoding and X-Request-Id belong to
 * the server. Headers survive a later reply call, but not the 500 that
 * replaces a failed reply. A bad or extra (over HTTP_RESPONSE_HEADERS_MAX)
 * header is a bug and turns the reply into a 500. */
void http_reply_header(struct http_response *resp, const char *name, const char *value);

/* ---- byte ranges ------------------------------------------------------------ */

enum http_range_result {
    HTTP_RANGE_NONE = 0,         /* no usable Range: send the whole representation */
    HTTP_RANGE_OK = 1,           /* send bytes first..last (inclusive) */
    HTTP_RANGE_UNSATISFIABLE = 2 /* answer 416 */
};

/* Pure: the single range of `header` ("bytes=0-9", "bytes=10-", "bytes=-5";
 * unit case-insensitive) over a representation of `size` bytes. NULL, a
 * malformed header, several ranges, or last < first give HTTP_RANGE_NONE.
 * A first position at or past the end, a suffix of 0, or any range of an
 * empty representation is HTTP_RANGE_UNSATISFIABLE. A last position past
 * the end is clamped; a suffix longer than the size is the whole. */
enum http_range_result http_range_parse(uint64_t *first_out, uint64_t *last_out, const char *header,
                                        uint64_t size);

/* ---- application metrics ---------------------------------------------------- */

/* Registers one series `name{labels}` of `type`, exported by /metrics until
 * http_server_free(); *metric_out stays valid as long. name is
 * [a-zA-Z_:][a-zA-Z0-9_:]{0,63} and not one of the http_request* built-ins;
 * labels is "" or `k="v"` pairs joined by ',' (k [a-zA-Z_][a-zA-Z0-9_]*,
 * v printable ASCII without '"' and '\'), at most
 * HTTP_METRIC_LABELS_BYTES_MAX bytes; help (printable ASCII, no '\') is the
 * name's first registration's. Thread-safe. Returns HTTP_OK,
 * HTTP_ERR_BAD_METRIC, HTTP_ERR_METRIC_CONFLICT or HTTP_ERR_METRICS_FULL. */
WUR enum http_result http_metric_register(struct http_metric **metric_out, struct http_server *s,
                                          enum http_metric_type type, const char *name,
                                          const char *labels, const char *help, struct err *e);

/* Counter: adds delta (atomic, any thread). */
void http_metric_add(struct http_metric *m, uint64_t delta);

/* Gauge: sets the value / adds a signed delta (atomic, any thread). */
void http_metric_set(struct http_metric *m, int64_t value);
void http_metric_adjust(struct http_metric *m, int64_t delta);

/* The current value (a counter's as int64, saturated), for tests. */
int64_t http_metric_value(const struct http_metric *m);

#endif
