/* http.c - see http.h. libmicrohttpd calls, per request: the URI callback
 * (http_on_uri: the exchange is allocated, the clock starts), the access
 * handler (http_on_access: first with the headers, then with body chunks,
 * then once more with none: routing, the body, the handler), and the
 * completion callback (http_on_completed: metrics, access log, free). */
#include "http.h"

#include "buf.h"
#include "clock.h"
#include "config.h"
#include "crypto.h"
#include "hex.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#define HTTP_HIST_BUCKETS 14
#define HTTP_BUILTINS 2 /* /healthz and /metrics, first in the table */
#define HTTP_DRAIN_POLL_MS 10
#define HTTP_MHD_LOG_BYTES_MAX 256
#define HTTP_CONTENT_RANGE_BYTES_MAX 80
#define HTTP_UNMATCHED "unmatched"

_Static_assert(HTTP_LISTEN_BYTES_MAX >= CONFIG_HOSTPORT_BYTES_MAX,
               "a listen address read by config.h fits http_config.listen");

/* Upper bounds of the latency buckets, in microseconds and as exported. */
static const uint64_t http_hist_bounds_us[HTTP_HIST_BUCKETS] = {
    500,    1000,   2500,   5000,    10000,   25000,   50000,
    100000, 250000, 500000, 1000000, 2500000, 5000000, 10000000};
static const char *const http_hist_bounds_text[HTTP_HIST_BUCKETS] = {
    "0.0005", "0.001", "0.0025", "0.005", "0.01", "0.025", "0.05",
    "0.1",    "0.25",  "0.5",    "1",     "2.5",  "5",     "10"};

struct http_status_slot {
    _Atomic int status; /* 0 = free; claimed once with a compare-exchange */
    _Atomic uint64_t count;
};

struct http_stats {
    struct http_status_slot statuses[HTTP_ROUTE_STATUSES_MAX];
    _Atomic uint64_t status_other;
    _Atomic uint64_t buckets[HTTP_HIST_BUCKETS + 1]; /* not cumulative; last = above all */
    _Atomic uint64_t sum_us;
};

struct http_segment {
    uint16_t off; /* in the pattern */
    uint16_t len;
    bool param;
};

struct http_route_entry {
    char method[HTTP_METHOD_BYTES_MAX + 1];
    char pattern[HTTP_ROUTE_PATTERN_BYTES_MAX + 1];
    http_handler_fn *handler;
    void *ctx; /* app.ctx, or the server for the built-ins */
    size_t body_bytes_max;
    size_t segs_len; /* segments before the tail */
    bool tail;
    struct http_segment segs[HTTP_ROUTE_SEGMENTS_MAX];
    size_t params_len; /* the tail included */
    char param_names[HTTP_ROUTE_PARAMS_MAX][HTTP_PARAM_NAME_BYTES_MAX + 1];
    struct http_stats stats;
};

struct http_metric {
    enum http_metric_type type;
    char name[HTTP_METRIC_NAME_BYTES_MAX + 1];
    char labels[HTTP_METRIC_LABELS_BYTES_MAX + 1];
    char help[HTTP_METRIC_HELP_BYTES_MAX + 1];
    _Atomic uint64_t counter;
    _Atomic int64_t gauge;
};

struct http_server {
    struct http_config cfg;
    void *app_ctx;
    http_health_fn *health;
    const struct logger *log;
    struct sockaddr_storage addr;
    bool ipv6;
    struct MHD_Daemon *daemon;
    uint16_t port;
    bool stopped;
    _Atomic int64_t requests_active;
    _Atomic uint64_t id_fallback;
    _Atomic uint64_t mhd_log_second;
    _Atomic uint32_t mhd_log_lines;
    size_t routes_len;
    struct http_route_entry routes[HTTP_BUILTINS + HTTP_ROUTES_MAX];
    struct http_stats unmatched;
    pthread_mutex_t metrics_mu; /* guards metrics_len and registration */
    size_t metrics_len;
    struct http_metric metrics[HTTP_METRICS_SERIES_MAX];
};

enum http_body_kind { HTTP_BODY_NONE = 0, HTTP_BODY_MEM = 1, HTTP_BODY_FILE = 2 };
enum http_phase { HTTP_PHASE_HEADERS = 0, HTTP_PHASE_BODY = 1, HTTP_PHASE_DONE = 2 };
enum http_decode { HTTP_DECODE_OK = 0, HTTP_DECODE_BAD = 1, HTTP_DECODE_NOMEM = 2 };

struct http_response {
    struct http_exchange *x;
    int status;
    bool set;    /* a reply function ran */
    bool failed; /* a reply went wrong: send a 500 instead */
    char failure[ERR_MSG_MAX];
    enum http_body_kind kind;
    char *mem; /* malloc'd, handed to libmicrohttpd (MHD_RESPMEM_MUST_FREE) */
    size_t mem_len;
    int fd; /* owned until handed to libmicrohttpd; -1 = none */
    uint64_t file_offset;
    uint64_t file_len;
    char content_type[HTTP_CONTENT_TYPE_BYTES_MAX + 1];
    char content_type_override[HTTP_CONTENT_TYPE_BYTES_MAX + 1];
    char content_range[HTTP_CONTENT_RANGE_BYTES_MAX];
    bool close; /* Connection: close */
    size_t headers_len;
    char header_names[HTTP_RESPONSE_HEADERS_MAX][HTTP_HEADER_NAME_BYTES_MAX + 1];
    char *header_values[HTTP_RESPONSE_HEADERS_MAX]; /* malloc'd */
};

struct http_exchange {
    struct http_server *s;
    struct MHD_Connection *conn;
    uint64_t start_us;
    enum http_phase phase;
    struct http_route_entry *route; /* NULL: unmatched */
    bool url_too_long;
    char *path_raw; /* as received, without the query; NULL when too long */
    char *path;     /* decoded; one allocation with segs_buf */
    char *segs_buf; /* decoded, every '/' a NUL */
    size_t segs_len;
    size_t seg_off[HTTP_ROUTE_SEGMENTS_MAX]; /* first segments' offsets in path/segs_buf */
    struct http_param params[HTTP_ROUTE_PARAMS_MAX];
    size_t params_len;
    char method[HTTP_METHOD_BYTES_MAX + 1]; /* for the log; cut */
    bool head;
    char request_id[HTTP_REQUEST_ID_BYTES_MAX + 1];
    char peer_ip[HTTP_PEER_IP_BYTES_MAX + 1];
    struct buf body;
    bool body_too_large;
    uint64_t body_drained_bytes;
    const char *abort_reason; /* static text for end= */
    int status_sent;          /* 0 until a response is queued */
    uint64_t bytes_sent;
    struct http_response resp;
};

/* Sticky-error text output for /metrics. */
struct http_text {
    struct buf b;
    bool failed;
};

static uint64_t http_now_us(void);
static bool http_config_check(const struct http_config *cfg, struct err *e);
static enum http_result http_listen_resolve(struct http_server *s, const char *listen,
                                            struct err *e);
static enum http_result http_routes_compile(struct http_server *s, const struct http_app *app,
                                            struct err *e);
static enum http_result http_route_compile(struct http_route_entry *r, const struct http_route *src,
                                           size_t body_default, struct err *e);
static bool http_route_segment(struct http_route_entry *r, size_t off, size_t len, bool last);
static bool http_name_valid(const char *s, size_t len, size_t len_max);
static void http_builtin_healthz(struct http_response *resp, const struct http_request *req,
                                 void *ctx);
static void http_builtin_metrics(struct http_response *resp, const struct http_request *req,
                                 void *ctx);
static void *http_on_uri(void *cls, const char *uri, struct MHD_Connection *conn);
static enum MHD_Result http_on_access(void *cls, struct MHD_Connection *conn, const char *url,
                                      const char *method, const char *version,
                                      const char *upload_data, size_t *upload_data_size,
                                      void **req_cls);
static void http_on_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
                              enum MHD_RequestTerminationCode toe);
static void http_on_mhd_log(void *cls, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
static enum MHD_Result http_begin(struct http_exchange *x, const char *method);
static enum MHD_Result http_take_body(struct http_exchange *x, const char *data, size_t *data_len);
static enum MHD_Result http_finish(struct http_exchange *x);
static enum MHD_Result http_send(struct http_exchange *x);
static enum MHD_Result http_send_unrouted(struct http_exchange *x, const char *method,
                                          bool path_known);
static enum http_decode http_path_decode(struct http_exchange *x);
static bool http_path_byte_ok(unsigned char c);
static struct http_route_entry *http_route_find(struct http_exchange *x, const char *method,
                                                bool *path_known_out);
static bool http_route_match(const struct http_route_entry *r, const struct http_exchange *x);
static void http_route_fill_params(struct http_exchange *x);
static bool http_content_length_over(struct MHD_Connection *conn, size_t max);
static void http_request_id_pick(struct http_exchange *x);
static void http_request_id_random(struct http_server *s, char *out, size_t out_size);
static void http_peer_ip(char *out, size_t out_size, struct MHD_Connection *conn);
static void http_exchange_free(struct http_exchange *x);
static void http_response_clear_body(struct http_response *r);
static void http_response_fail(struct http_response *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void http_response_replace_500(struct http_exchange *x);
static struct MHD_Response *http_mhd_response(struct http_response *r);
static bool http_mhd_headers(struct MHD_Response *m, const struct http_exchange *x);
static void http_stats_record(struct http_stats *st, int status, uint64_t dur_us);
static void http_access_log(const struct http_exchange *x, enum MHD_RequestTerminationCode toe,
                            uint64_t dur_us);
static const char *http_termination_name(enum MHD_RequestTerminationCode toe);
static void http_text_printf(struct http_text *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void http_render_statuses(struct http_text *t, const char *method, const char *route,
                                 struct http_stats *st);
static void http_render_histogram(struct http_text *t, const char *method, const char *route,
                                  struct http_stats *st);
static void http_render_app(struct http_text *t, struct http_server *s);
static bool http_metric_name_valid(const char *name);
static bool http_metric_labels_valid(const char *labels);
static bool http_text_printable(const char *s, size_t len_max, const char *forbidden);
static bool http_parse_digits(const char **p, uint64_t *value_out);

/* ---- server lifecycle --------------------------------------------------------- */

void http_config_default(struct http_config *cfg)
{
    ASSERT(cfg != NULL);
    *cfg = (struct http_config){
        .listen = HTTP_LISTEN_DEFAULT,
        .threads = HTTP_THREADS_DEFAULT,
        .connection_timeout_s = HTTP_CONNECTION_TIMEOUT_S_DEFAULT,
        .connections_max = HTTP_CONNECTIONS_DEFAULT,
        .connections_per_ip_max = HTTP_CONNECTIONS_PER_IP_DEFAULT,
        .connection_memory_bytes = HTTP_CONNECTION_MEMORY_BYTES_DEFAULT,
        .url_bytes_max = HTTP_URL_BYTES_DEFAULT,
        .body_bytes_max = HTTP_BODY_BYTES_DEFAULT,
        .drain_ms = HTTP_DRAIN_MS_DEFAULT,
    };
}

enum http_result http_server_new(struct http_server **server_out, const struct http_config *cfg,
                                 const struct http_app *app, struct err *e)
{
    ASSERT(server_out != NULL && cfg != NULL && app != NULL);
    *server_out = NULL;
    if (app->log == NULL)
        return (enum http_result)err_set(e, HTTP_ERR_BAD_CONFIG, "no logger for the server");
    if (!http_config_check(cfg, e))
        return HTTP_ERR_BAD_CONFIG;
    struct http_server *s = calloc(1, sizeof *s);
    if (s == NULL)
        return (enum http_result)err_set(e, HTTP_ERR_NOMEM, "out of memory");
    s->cfg = *cfg;
    s->app_ctx = app->ctx;
    s->health = app->health;
    s->log = app->log;
    enum http_result rc = http_listen_resolve(s, cfg->listen, e);
    if (rc == HTTP_OK)
        rc = http_routes_compile(s, app, e);
    if (rc == HTTP_OK && pthread_mutex_init(&s->metrics_mu, NULL) != 0)
        rc = (enum http_result)err_set(e, HTTP_ERR_NOMEM, "cannot create the metrics mutex");
    if (rc != HTTP_OK) {
        free(s);
        return rc;
    }
    *server_out = s;
    return HTTP_OK;
}

enum http_result http_server_start(struct http_server *s, struct err *e)
{
    ASSERT(s != NULL);
    if (s->daemon != NULL || s->stopped)
        return (enum http_result)err_set(e, HTTP_ERR_STATE, "server already %s",
                                         s->stopped ? "stopped" : "started");
    unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC |
                         MHD_USE_ERROR_LOG | (s->ipv6 ? MHD_USE_IPv6 : 0);
    /* The port argument only names the port in libmicrohttpd's messages
     * (SOCK_ADDR binds); the logger goes first so that every message of the
     * start reaches it. */
    uint16_t port = ntohs(s->ipv6 ? ((struct sockaddr_in6 *)&s->addr)->sin6_port
                                  : ((struct sockaddr_in *)&s->addr)->sin_port);
    s->daemon = MHD_start_daemon(
        flags, port, NULL, NULL, http_on_access, s, MHD_OPTION_EXTERNAL_LOGGER, http_on_mhd_log, s,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&s->addr, MHD_OPTION_THREAD_POOL_SIZE,
        (unsigned int)s->cfg.threads, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned int)s->cfg.connection_timeout_s, MHD_OPTION_CONNECTION_LIMIT,
        (unsigned int)s->cfg.connections_max, MHD_OPTION_PER_IP_CONNECTION_LIMIT,
        (unsigned int)s->cfg.connections_per_ip_max, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
        s->cfg.connection_memory_bytes, MHD_OPTION_URI_LOG_CALLBACK, http_on_uri, s,
        MHD_OPTION_NOTIFY_COMPLETED, http_on_completed, s, MHD_OPTION_END);
    if (s->daemon == NULL)
        return (enum http_result)err_set(e, HTTP_ERR_START, "cannot start the HTTP server on '%s'",
                                         s->cfg.listen);
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
    s->port = info != NULL ? info->port : 0;
    log_write(s->log, LOG_INFO, "listening",
              LOG_KVS(log_str("listen", s->cfg.listen), log_u64("port", s->port),
                      log_u64("threads", s->cfg.threads)));
    return HTTP_OK;
}

uint16_t http_server_port(const struct http_server *s)
{
    ASSERT(s != NULL);
    return s->daemon != NULL ? s->port : 0;
}

void http_server_stop(struct http_server *s)
{
    if (s == NULL || s->stopped)
        return;
    s->stopped = true;
    if (s->daemon == NULL)
        return;
    MHD_socket listen_fd = MHD_quiesce_daemon(s->daemon);
    uint64_t deadline_ms = clock_now_ms() + s->cfg.drain_ms;
    for (uint32_t i = 0; i <= s->cfg.drain_ms / HTTP_DRAIN_POLL_MS; i++) {
        if (atomic_load(&s->requests_active) <= 0 || clock_now_ms() >= deadline_ms)
            break;
        clock_sleep_ms(HTTP_DRAIN_POLL_MS);
    }
    MHD_stop_daemon(s->daemon);
    s->daemon = NULL;
    if (listen_fd != MHD_INVALID_SOCKET)
        close(listen_fd);
    log_write(s->log, LOG_INFO, "stopped", LOG_KVS(log_str("listen", s->cfg.listen)));
}

void http_server_free(struct http_server *s)
{
    if (s == NULL)
        return;
    http_server_stop(s);
    pthread_mutex_destroy(&s->metrics_mu);
    free(s);
}

static uint64_t http_now_us(void)
{
    /* clock_now_ms() is too coarse for the latency histogram. */
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* Every field against its range; the message names the first bad one. */
static bool http_config_check(const struct http_config *cfg, struct err *e)
{
    struct {
        const char *name;
        uint64_t value, min, max;
    } checks[] = {
        {"threads", cfg->threads, 1, HTTP_THREADS_MAX},
        {"connection_timeout_s", cfg->connection_timeout_s, 1, HTTP_CONNECTION_TIMEOUT_S_MAX},
        {"connections_max", cfg->connections_max, cfg->threads, HTTP_CONNECTIONS_MAX},
        {"connections_per_ip_max", cfg->connections_per_ip_max, 1, cfg->connections_max},
        {"connection_memory_bytes", cfg->connection_memory_bytes, HTTP_CONNECTION_MEMORY_BYTES_MIN,
         HTTP_CONNECTION_MEMORY_BYTES_MAX},
        {"url_bytes_max", cfg->url_bytes_max, HTTP_URL_BYTES_MIN, cfg->connection_memory_bytes / 2},
        {"body_bytes_max", cfg->body_bytes_max, 0, HTTP_BODY_BYTES_MAX},
        {"drain_ms", cfg->drain_ms, 0, HTTP_DRAIN_MS_MAX},
    };
    for (size_t i = 0; i < sizeof checks / sizeof checks[0]; i++) {
        if (checks[i].value < checks[i].min || checks[i].value > checks[i].max) {
            err_set(e, HTTP_ERR_BAD_CONFIG,
                    "http %s out of range: %" PRIu64 " (%" PRIu64 "..%" PRIu64 ")", checks[i].name,
                    checks[i].value, checks[i].min, checks[i].max);
            return false;
        }
    }
    return true;
}

/* "host:port" or "[v6]:port" -> s->addr (the first address getaddrinfo gives). */
static enum http_result http_listen_resolve(struct http_server *s, const char *listen,
                                            struct err *e)
{
    char quoted[80];
    size_t len = strnlen(listen, HTTP_LISTEN_BYTES_MAX + 1);
    err_quote(quoted, sizeof quoted, listen, len);
    const char *colon = memrchr(listen, ':', len);
    if (len > HTTP_LISTEN_BYTES_MAX || colon == NULL || colon == listen)
        return (enum http_result)err_set(e, HTTP_ERR_BAD_LISTEN,
                                         "listen address '%s' is not host:port", quoted);
    char host[HTTP_LISTEN_BYTES_MAX + 1];
    size_t host_len = (size_t)(colon - listen);
    if (listen[0] == '[' && host_len >= 2 && listen[host_len - 1] == ']') {
        memcpy(host, listen + 1, host_len - 2);
        host[host_len - 2] = '\0';
    } else {
        memcpy(host, listen, host_len);
        host[host_len] = '\0';
    }
    const char *port_text = colon + 1;
    uint64_t port = 0;
    if (!http_parse_digits(&port_text, &port) || *port_text != '\0' || port > 65535)
        return (enum http_result)err_set(e, HTTP_ERR_BAD_LISTEN,
                                         "listen address '%s' has no port 0..65535", quoted);
    struct addrinfo hints = {
        .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
    struct addrinfo *res = NULL;
    int gai = getaddrinfo(host, colon + 1, &hints, &res);
    if (gai != 0 || res == NULL || res->ai_addrlen > sizeof s->addr) {
        if (res != NULL)
            freeaddrinfo(res);
        return (enum http_result)err_set(e, HTTP_ERR_BAD_LISTEN,
                                         "cannot resolve listen address '%s': %s", quoted,
                                         gai != 0 ? gai_strerror(gai) : "no address");
    }
    memcpy(&s->addr, res->ai_addr, res->ai_addrlen);
    s->ipv6 = res->ai_family == AF_INET6;
    freeaddrinfo(res);
    return HTTP_OK;
}

/* The built-ins first (so no pattern can shadow them), then the app's. */
static enum http_result http_routes_compile(struct http_server *s, const struct http_app *app,
                                            struct err *e)
{
    if (app->routes_len > HTTP_ROUTES_MAX || (app->routes_len > 0 && app->routes == NULL))
        return (enum http_result)err_set(e, HTTP_ERR_BAD_ROUTE,
                                         "bad route table: %zu routes (max %d)", app->routes_len,
                                         HTTP_ROUTES_MAX);
    const struct http_route builtins[HTTP_BUILTINS] = {
        {"GET", "/healthz", http_builtin_healthz, 0},
        {"GET", "/metrics", http_builtin_metrics, 0},
    };
    for (size_t i = 0; i < HTTP_BUILTINS + app->routes_len; i++) {
        const struct http_route *src =
            i < HTTP_BUILTINS ? &builtins[i] : &app->routes[i - HTTP_BUILTINS];
        struct http_route_entry *r = &s->routes[i];
        enum http_result rc = http_route_compile(r, src, s->cfg.body_bytes_max, e);
        if (rc != HTTP_OK)
            return rc;
        r->ctx = i < HTTP_BUILTINS ? (void *)s : app->ctx;
        for (size_t j = 0; j < i; j++) {
            bool builtin = j < HTTP_BUILTINS;
            if (strcmp(s->routes[j].pattern, r->pattern) == 0 &&
                (builtin || strcmp(s->routes[j].method, r->method) == 0))
                return (enum http_result)err_set(e, HTTP_ERR_BAD_ROUTE, "route %s %s is %s",
                                                 r->method, r->pattern,
                                                 builtin ? "built in" : "listed twice");
        }
    }
    s->routes_len = HTTP_BUILTINS + app->routes_len;
    return HTTP_OK;
}

static enum http_result http_route_compile(struct http_route_entry *r, const struct http_route *src,
                                           size_t body_default, struct err *e)
{
    char quoted[80];
    const char *pattern = src->pattern != NULL ? src->pattern : "";
    size_t len = strnlen(pattern, HTTP_ROUTE_PATTERN_BYTES_MAX + 1);
    err_quote(quoted, sizeof quoted, pattern, len);
    const char *method = src->method != NULL ? src->method : "";
    size_t method_len = strnlen(method, HTTP_METHOD_BYTES_MAX + 1);
    bool method_ok = method_len >= 1 && method_len <= HTTP_METHOD_BYTES_MAX &&
                     strspn(method, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") == method_len;
    if (!method_ok || src->handler == NULL || src->body_bytes_max > HTTP_BODY_BYTES_MAX)
        return (enum http_result)err_set(e, HTTP_ERR_BAD_ROUTE,
                                         "route '%s': bad method, handler or body maximum", quoted);
    if (len == 0 || len > HTTP_ROUTE_PATTERN_BYTES_MAX || pattern[0] != '/')
        return (enum http_result)err_set(e, HTTP_ERR_BAD_ROUTE,
                                         "route pattern '%s' must start with '/'", quoted);
    memset(r, 0, sizeof *r);
    memcpy(r->method, method, method_len + 1);
    memcpy(r->pattern, pattern, len + 1);
    r->handler = src->handler;
    r->body_bytes_max = src->body_bytes_max != 0 ? src->body_bytes_max : body_default;
    size_t start = 1;
    for (size_t i = 1; i <= len; i++) {
        if (i < len && pattern[i] != '/')
            continue;
        if (!http_route_segment(r, start, i - start, i == len))
            return (enum http_result)err_set(e, HTTP_ERR_BAD_ROUTE,
                                             "route pattern '%s': bad segment at offset %zu",
                                             quoted, start);
        start = i + 1;
    }
    return HTTP_OK;
}

/* Adds pattern[off..off+len) as the next segment. False when malformed. */
static bool http_route_segment(struct http_route_entry *r, size_t off, size_t len, bool last)
{
    const char *seg = r->pattern + off;
    if (r->tail || r->segs_len + 1 > HTTP_ROUTE_SEGMENTS_MAX)
        return false;
    if (len == 0 && !(off == 1 && last)) /* only the pattern "/" has an empty segment */
        return false;
    bool param = len >= 2 && seg[0] == '{' && seg[len - 1] == '}';
    if (!param) {
        static const char literal[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                      "0123456789._~!$&'()+,;=:@-";
        for (size_t i = 0; i < len; i++) {
            if (seg[i] == '\0' || strchr(literal, seg[i]) == NULL)
                return false;
        }
        r->segs[r->segs_len++] = (struct http_segment){(uint16_t)off, (uint16_t)len, false};
        return true;
    }
    bool tail = seg[len - 2] == '*';
    size_t name_len = len - 2 - (tail ? 1 : 0);
    if ((tail && !last) || r->params_len >= HTTP_ROUTE_PARAMS_MAX ||
        !http_name_valid(seg + 1, name_len, HTTP_PARAM_NAME_BYTES_MAX))
        return false;
    for (size_t i = 0; i < r->params_len; i++) {
        if (strlen(r->param_names[i]) == name_len &&
            memcmp(r->param_names[i], seg + 1, name_len) == 0)
            return false;
    }
    memcpy(r->param_names[r->params_len], seg + 1, name_len);
    r->param_names[r->params_len++][name_len] = '\0';
    if (tail)
        r->tail = true;
    else
        r->segs[r->segs_len++] = (struct http_segment){(uint16_t)off, (uint16_t)len, true};
    return true;
}

/* [a-z_][a-z0-9_]* of 1..len_max bytes (route parameters). */
static bool http_name_valid(const char *s, size_t len, size_t len_max)
{
    if (len == 0 || len > len_max)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        bool ok = (c >= 'a' && c <= 'z') || c == '_' || (i > 0 && c >= '0' && c <= '9');
        if (!ok)
            return false;
    }
    return true;
}

/* ---- built-in routes -------------------------------------------------------- */

static void http_builtin_healthz(struct http_response *resp, const struct http_request *req,
                                 void *ctx)
{
    (void)req;
    struct http_server *s = ctx;
    static const char *const names[] = {"ok", "degraded", "down"};
    http_reply_header(resp, "Cache-Control", "no-store");
    json_t *checks = json_object();
    if (checks == NULL) {
        http_response_fail(resp, "out of memory");
        return;
    }
    enum http_health h = s->health != NULL ? s->health(checks, s->app_ctx) : HTTP_HEALTH_OK;
    if ((unsigned)h > HTTP_HEALTH_DOWN)
        h = HTTP_HEALTH_DOWN;
    json_t *body = json_pack("{s:s, s:o}", "status", names[h], "checks", checks);
    http_reply_json(resp, h == HTTP_HEALTH_DOWN ? 503 : 200, body);
}

static void http_builtin_metrics(struct http_response *resp, const struct http_request *req,
                                 void *ctx)
{
    (void)req;
    struct http_server *s = ctx;
    struct http_text t = {.failed = false};
    buf_init(&t.b, HTTP_METRICS_BODY_BYTES_MAX);
    http_text_printf(&t, "# HELP http_requests_total Requests answered, by method, route pattern "
                         "and status.\n# TYPE http_requests_total counter\n");
    for (size_t i = 0; i < s->routes_len; i++)
        http_render_statuses(&t, s->routes[i].method, s->routes[i].pattern, &s->routes[i].stats);
    http_render_statuses(&t, "any", HTTP_UNMATCHED, &s->unmatched);
    http_text_printf(&t, "# HELP http_request_duration_seconds From the request line to the "
                         "last byte sent, by method and route pattern.\n"
                         "# TYPE http_request_duration_seconds histogram\n");
    for (size_t i = 0; i < s->routes_len; i++)
        http_render_histogram(&t, s->routes[i].method, s->routes[i].pattern, &s->routes[i].stats);
    http_render_histogram(&t, "any", HTTP_UNMATCHED, &s->unmatched);
    http_render_app(&t, s);
    http_reply_header(resp, "Cache-Control", "no-store");
    if (t.failed)
        http_response_fail(resp, "metrics text above %zu bytes or out of memory",
                           (size_t)HTTP_METRICS_BODY_BYTES_MAX);
    else
        http_reply_bytes(resp, 200, HTTP_METRICS_CONTENT_TYPE, t.b.data, t.b.len);
    buf_release(&t.b);
}

/* ---- libmicrohttpd callbacks ------------------------------------------------ */

static void *http_on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
    struct http_server *s = cls;
    struct http_exchange *x = calloc(1, sizeof *x);
    if (x == NULL)
        return NULL;
    x->s = s;
    x->conn = conn;
    x->start_us = http_now_us();
    x->resp.x = x;
    x->resp.fd = -1;
    buf_init(&x->body, 0);
    size_t n = strnlen(uri, s->cfg.url_bytes_max + 1);
    if (n > s->cfg.url_bytes_max)
        x->url_too_long = true;
    else
        x->path_raw = strndup(uri, strcspn(uri, "?#"));
    http_request_id_random(s, x->request_id, sizeof x->request_id);
    http_peer_ip(x->peer_ip, sizeof x->peer_ip, conn);
    atomic_fetch_add(&s->requests_active, 1);
    return x;
}

static enum MHD_Result http_on_access(void *cls, struct MHD_Connection *conn, const char *url,
                                      const char *method, const char *version,
                                      const char *upload_data, size_t *upload_data_size,
                                      void **req_cls)
{
    (void)cls;
    (void)url; /* libmicrohttpd's decoded copy; routing decodes path_raw itself */
    (void)version;
    struct http_exchange *x = *req_cls;
    if (x == NULL)
        return MHD_NO; /* the URI callback ran out of memory */
    x->conn = conn;
    switch (x->phase) {
    case HTTP_PHASE_HEADERS:
        return http_begin(x, method);
    case HTTP_PHASE_BODY:
        if (*upload_data_size > 0)
            return http_take_body(x, upload_data, upload_data_size);
        return http_finish(x);
    case HTTP_PHASE_DONE:
        break;
    }
    *upload_data_size = 0; /* an answer is queued already: ignore what still comes */
    return MHD_YES;
}

static void http_on_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
                              enum MHD_RequestTerminationCode toe)
{
    struct http_server *s = cls;
    (void)conn;
    struct http_exchange *x = *req_cls;
    if (x == NULL)
        return;
    *req_cls = NULL;
    uint64_t dur_us = http_now_us() - x->start_us;
    if (x->status_sent != 0)
        http_stats_record(x->route != NULL ? &x->route->stats : &s->unmatched, x->status_sent,
                          dur_us);
    http_access_log(x, toe, dur_us);
    http_exchange_free(x);
    atomic_fetch_sub(&s->requests_active, 1);
}

/* libmicrohttpd's own messages, at most HTTP_MHD_LOG_LINES_PER_S a second
 * (a flood of refused connections must not flood the log). */
static void http_on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    struct http_server *s = cls;
    if (!log_enabled(s->log, LOG_WARN))
        return;
    uint64_t second = clock_now_ms() / 1000;
    uint64_t seen = atomic_load(&s->mhd_log_second);
    if (seen != second && atomic_compare_exchange_strong(&s->mhd_log_second, &seen, second))
        atomic_store(&s->mhd_log_lines, 0);
    if (atomic_fetch_add(&s->mhd_log_lines, 1) >= HTTP_MHD_LOG_LINES_PER_S)
        return;
    char text[HTTP_MHD_LOG_BYTES_MAX];
    if (vsnprintf(text, sizeof text, fmt, ap) < 0)
        return;
    size_t n = strlen(text);
    while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == '\r'))
        text[--n] = '\0';
    log_write(s->log, LOG_WARN, "libmicrohttpd", LOG_KVS(log_str("detail", text)));
}

/* ---- one request ------------------------------------------------------------ */

/* First call, headers complete: checks and routes; answers at once when the
 * request cannot reach a handler. */
static enum MHD_Result http_begin(struct http_exchange *x, const char *method)
{
    size_t method_len = strnlen(method, HTTP_METHOD_BYTES_MAX);
    memcpy(x->method, method, method_len);
    x->method[method_len] = '\0';
    x->head = strcmp(method, "HEAD") == 0;
    http_request_id_pick(x);
    x->phase = HTTP_PHASE_DONE;
    if (x->url_too_long) {
        http_reply_error(&x->resp, PROBLEM_URI_TOO_LONG, "request URL above %zu bytes",
                         x->s->cfg.url_bytes_max);
        return http_send(x);
    }
    enum http_decode d = x->path_raw != NULL ? http_path_decode(x) : HTTP_DECODE_NOMEM;
    if (d == HTTP_DECODE_NOMEM)
        return MHD_NO;
    if (d == HTTP_DECODE_BAD) {
        http_reply_error(&x->resp, PROBLEM_BAD_PATH,
                         "the path has a bad escape, an encoded NUL or '/', a control byte or "
                         "a dot segment");
        return http_send(x);
    }
    bool path_known = false;
    x->route = http_route_find(x, method, &path_known);
    if (x->route == NULL)
        return http_send_unrouted(x, method, path_known);
    http_route_fill_params(x);
    if (http_content_length_over(x->conn, x->route->body_bytes_max)) {
        http_reply_error(&x->resp, PROBLEM_BODY_TOO_LARGE, "request body above %zu bytes",
                         x->route->body_bytes_max);
        x->resp.close = true;
        return http_send(x);
    }
    buf_init(&x->body, x->route->body_bytes_max);
    x->phase = HTTP_PHASE_BODY;
    return MHD_YES;
}

/* A body chunk: kept while it fits, then counted and discarded. */
static enum MHD_Result http_take_body(struct http_exchange *x, const char *data, size_t *data_len)
{
    size_t n = *data_len;
    *data_len = 0;
    if (!x->body_too_large) {
        enum buf_result br = buf_append(&x->body, data, n);
        if (br == BUF_OK)
            return MHD_YES;
        if (br == BUF_ERR_NOMEM) {
            x->abort_reason = "out_of_memory";
            return MHD_NO;
        }
        x->body_too_large = true;
        buf_release(&x->body);
    }
    x->body_drained_bytes += n;
    if (x->body_drained_bytes > HTTP_BODY_DRAIN_BYTES_MAX) {
        x->abort_reason = "body_too_large";
        return MHD_NO; /* closes the connection */
    }
    return MHD_YES;
}

/* Last call: the body is complete. Runs the handler and queues its answer. */
static enum MHD_Result http_finish(struct http_exchange *x)
{
    x->phase = HTTP_PHASE_DONE;
    struct http_route_entry *r = x->route;
    if (x->body_too_large) {
        http_reply_error(&x->resp, PROBLEM_BODY_TOO_LARGE, "request body above %zu bytes",
                         r->body_bytes_max);
        x->resp.close = true;
        return http_send(x);
    }
    struct http_request req = {
        .method = x->head ? "HEAD" : r->method,
        .path = x->path,
        .route = r->pattern,
        .request_id = x->request_id,
        .peer_ip = x->peer_ip,
        .body = x->body.data != NULL ? x->body.data : (const uint8_t *)"",
        .body_len = x->body.len,
        .params = x->params,
        .params_len = x->params_len,
        .conn = x->conn,
    };
    r->handler(&x->resp, &req, r->ctx);
    return http_send(x);
}

/* 404, or 405 with Allow listing the methods of every pattern that matches. */
static enum MHD_Result http_send_unrouted(struct http_exchange *x, const char *method,
                                          bool path_known)
{
    struct http_server *s = x->s;
    if (!path_known) {
        http_reply_error(&x->resp, PROBLEM_NOT_FOUND, "no route for this path");
        return http_send(x);
    }
    char allow[HTTP_HEADER_VALUE_BYTES_MAX + 1] = "";
    size_t used = 0;
    for (size_t i = 0; i < s->routes_len; i++) {
        const struct http_route_entry *r = &s->routes[i];
        bool seen = false;
        for (size_t j = 0; j < i && !seen; j++)
            seen =
                strcmp(s->routes[j].method, r->method) == 0 && http_route_match(&s->routes[j], x);
        if (seen || !http_route_match(r, x))
            continue;
        bool get = strcmp(r->method, "GET") == 0;
        int n = snprintf(allow + used, sizeof allow - used, "%s%s%s", used > 0 ? ", " : "",
                         r->method, get ? ", HEAD" : "");
        if (n < 0 || (size_t)n >= sizeof allow - used) {
            allow[used] = '\0'; /* no half method */
            break;
        }
        used += (size_t)n;
    }
    char quoted[HTTP_METHOD_BYTES_MAX + 8];
    err_quote(quoted, sizeof quoted, method, strnlen(method, HTTP_METHOD_BYTES_MAX));
    http_reply_error(&x->resp, PROBLEM_METHOD_NOT_ALLOWED,
                     "method '%s' not allowed here; allowed: %s", quoted, allow);
    http_reply_header(&x->resp, "Allow", allow);
    return http_send(x);
}

/* Queues the response (a 500 when the reply is missing or failed). */
static enum MHD_Result http_send(struct http_exchange *x)
{
    struct http_response *r = &x->resp;
    if (!r->set || r->failed)
        http_response_replace_500(x);
    uint64_t body_bytes = r->kind == HTTP_BODY_MEM    ? r->mem_len
                          : r->kind == HTTP_BODY_FILE ? r->file_len
                                                      : 0;
    struct MHD_Response *m = http_mhd_response(r);
    if (m == NULL) {
        x->abort_reason = "out_of_memory";
        return MHD_NO;
    }
    if (!http_mhd_headers(m, x)) {
        MHD_destroy_response(m);
        x->abort_reason = "bad_header";
        return MHD_NO;
    }
    x->status_sent = r->status;
    x->bytes_sent = x->head ? 0 : body_bytes;
    enum MHD_Result q = MHD_queue_response(x->conn, (unsigned int)r->status, m);
    MHD_destroy_response(m);
    return q;
}

/* Decodes x->path_raw into x->path (same separators) and x->segs_buf (each
 * '/' a NUL), recording where the segments start. */
static enum http_decode http_path_decode(struct http_exchange *x)
{
    const char *raw = x->path_raw;
    size_t n = strlen(raw);
    if (n == 0 || raw[0] != '/')
        return HTTP_DECODE_BAD;
    char *mem = malloc(2 * n + 2);
    if (mem == NULL)
        return HTTP_DECODE_NOMEM;
    x->path = mem;
    x->segs_buf = mem + n + 1;
    size_t o = 0, seg_start = 1;
    x->path[o++] = '/';
    x->segs_len = 0;
    for (size_t i = 1; i <= n; i++) {
        if (i == n || raw[i] == '/') {
            size_t seg_len = o - seg_start;
            const char *seg = x->path + seg_start;
            if ((seg_len == 1 && seg[0] == '.') || (seg_len == 2 && memcmp(seg, "..", 2) == 0))
                return HTTP_DECODE_BAD;
            if (x->segs_len < HTTP_ROUTE_SEGMENTS_MAX)
                x->seg_off[x->segs_len] = seg_start;
            x->segs_len++;
            if (i < n)
                x->path[o++] = '/';
            seg_start = o;
            continue;
        }
        unsigned char c = (unsigned char)raw[i];
        if (c == '%') {
            int hi = hex_digit_value(raw[i + 1]); /* raw[i + 1] is at most the NUL */
            int lo = hi >= 0 ? hex_digit_value(raw[i + 2]) : -1;
            if (lo < 0)
                return HTTP_DECODE_BAD;
            c = (unsigned char)(hi * 16 + lo);
            i += 2;
            if (c == '/')
                return HTTP_DECODE_BAD;
        }
        if (!http_path_byte_ok(c))
            return HTTP_DECODE_BAD;
        x->path[o++] = (char)c;
    }
    x->path[o] = '\0';
    for (size_t i = 0; i <= o; i++)
        x->segs_buf[i] = x->path[i] == '/' ? '\0' : x->path[i];
    return HTTP_DECODE_OK;
}

/* No NUL, control byte or DEL in a decoded path. */
static bool http_path_byte_ok(unsigned char c)
{
    return c >= 0x20 && c != 0x7f;
}

static struct http_route_entry *http_route_find(struct http_exchange *x, const char *method,
                                                bool *path_known_out)
{
    struct http_server *s = x->s;
    *path_known_out = false;
    for (size_t i = 0; i < s->routes_len; i++) {
        struct http_route_entry *r = &s->routes[i];
        if (!http_route_match(r, x))
            continue;
        *path_known_out = true;
        if (strcmp(r->method, method) == 0 || (x->head && strcmp(r->method, "GET") == 0))
            return r;
    }
    return NULL;
}

/* True when the decoded path has r's shape: same literals, non-empty
 * parameters, and a non-empty tail when r has one. */
static bool http_route_match(const struct http_route_entry *r, const struct http_exchange *x)
{
    if (r->tail ? x->segs_len <= r->segs_len : x->segs_len != r->segs_len)
        return false;
    for (size_t i = 0; i < r->segs_len; i++) {
        const char *seg = x->segs_buf + x->seg_off[i];
        size_t len = strlen(seg);
        const struct http_segment *ps = &r->segs[i];
        if (ps->param ? len == 0 : (len != ps->len || memcmp(seg, r->pattern + ps->off, len) != 0))
            return false;
    }
    return !r->tail || x->path[x->seg_off[r->segs_len]] != '\0';
}

static void http_route_fill_params(struct http_exchange *x)
{
    const struct http_route_entry *r = x->route;
    size_t p = 0;
    for (size_t i = 0; i < r->segs_len; i++) {
        if (!r->segs[i].param)
            continue;
        x->params[p].name = r->param_names[p];
        x->params[p].value = x->segs_buf + x->seg_off[i];
        p++;
    }
    if (r->tail) {
        x->params[p].name = r->param_names[p];
        x->params[p].value = x->path + x->seg_off[r->segs_len];
        p++;
    }
    ASSERT(p == r->params_len);
    x->params_len = p;
}

/* True when Content-Length announces more than `max` bytes. A malformed
 * value is libmicrohttpd's to refuse; the streaming check still holds. */
static bool http_content_length_over(struct MHD_Connection *conn, size_t max)
{
    const char *v =
        MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (v == NULL)
        return false;
    uint64_t n = 0;
    if (!http_parse_digits(&v, &n))
        return false;
    return n > max;
}

static void http_request_id_pick(struct http_exchange *x)
{
    const char *v = MHD_lookup_connection_value(x->conn, MHD_HEADER_KIND, "X-Request-Id");
    if (v == NULL)
        return;
    size_t n = strnlen(v, HTTP_REQUEST_ID_BYTES_MAX + 1);
    static const char safe[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._:-";
    if (n == 0 || n > HTTP_REQUEST_ID_BYTES_MAX || strspn(v, safe) != n)
        return; /* keep the random one */
    memcpy(x->request_id, v, n + 1);
}

/* 16 random hex digits; a counter mixed with the clock if the CSPRNG fails
 * (an id must exist, it need not be secret). */
static void http_request_id_random(struct http_server *s, char *out, size_t out_size)
{
    uint8_t rnd[HTTP_REQUEST_ID_RANDOM_BYTES];
    if (crypto_random_bytes(rnd, sizeof rnd, NULL) != CRYPTO_OK) {
        uint64_t v = (atomic_fetch_add(&s->id_fallback, 1) << 32) ^ http_now_us();
        for (size_t i = 0; i < sizeof rnd; i++)
            rnd[i] = (uint8_t)(v >> (8 * i));
    }
    int rc = hex_encode(out, out_size, rnd, sizeof rnd);
    ASSERT(rc == 0);
}

static void http_peer_ip(char *out, size_t out_size, struct MHD_Connection *conn)
{
    out[0] = '\0';
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (ci == NULL || ci->client_addr == NULL)
        return;
    const struct sockaddr *sa = ci->client_addr;
    const void *addr = NULL;
    if (sa->sa_family == AF_INET)
        addr = &((const struct sockaddr_in *)(const void *)sa)->sin_addr;
    else if (sa->sa_family == AF_INET6)
        addr = &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
    if (addr == NULL || inet_ntop(sa->sa_family, addr, out, (socklen_t)out_size) == NULL)
        out[0] = '\0';
}

static void http_exchange_free(struct http_exchange *x)
{
    struct http_response *r = &x->resp;
    http_response_clear_body(r);
    for (size_t i = 0; i < r->headers_len; i++)
        free(r->header_values[i]);
    buf_release(&x->body);
    free(x->path_raw);
    free(x->path);
    free(x);
}

/* ---- request lookups -------------------------------------------------------- */

const char *http_request_param(const struct http_request *req, const char *name)
{
    ASSERT(req != NULL && name != NULL);
    for (size_t i = 0; i < req->params_len; i++) {
        if (strcmp(req->params[i].name, name) == 0)
            return req->params[i].value;
    }
    return NULL;
}

const char *http_request_query(const struct http_request *req, const char *name)
{
    ASSERT(req != NULL && name != NULL);
    return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);
}

const char *http_request_header(const struct http_request *req, const char *name)
{
    ASSERT(req != NULL && name != NULL);
    return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

const char *http_request_bearer(const struct http_request *req)
{
    const char *v = http_request_header(req, MHD_HTTP_HEADER_AUTHORIZATION);
    if (v == NULL || strncasecmp(v, "Bearer ", 7) != 0)
        return NULL;
    const char *t = v + 7;
    t += strspn(t, " ");
    static const char b64token[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                   "0123456789-._~+/";
    size_t n = strnlen(t, HTTP_BEARER_BYTES_MAX + 1);
    size_t body = strspn(t, b64token);
    size_t pad = strspn(t + body, "=");
    if (body == 0 || n > HTTP_BEARER_BYTES_MAX || body + pad != n)
        return NULL;
    return t;
}

/* ---- replies ---------------------------------------------------------------- */

static void http_response_clear_body(struct http_response *r)
{
    free(r->mem);
    r->mem = NULL;
    r->mem_len = 0;
    if (r->fd >= 0)
        close(r->fd);
    r->fd = -1;
    r->kind = HTTP_BODY_NONE;
    r->content_type[0] = '\0';
    r->content_range[0] = '\0';
}

/* Marks the reply failed (the first reason is kept); http_send turns it
 * into a 500. */
static void http_response_fail(struct http_response *r, const char *fmt, ...)
{
    if (!r->failed) {
        va_list ap;
        va_start(ap, fmt);
        if (vsnprintf(r->failure, sizeof r->failure, fmt, ap) < 0)
            r->failure[0] = '\0';
        va_end(ap);
    }
    r->failed = true;
}

/* Logs why and replaces the reply (headers included) by a 500 problem. */
static void http_response_replace_500(struct http_exchange *x)
{
    struct http_response *r = &x->resp;
    log_write(x->s->log, LOG_ERROR, "reply failed",
              LOG_KVS(log_str("req", x->request_id),
                      log_str("route", x->route != NULL ? x->route->pattern : HTTP_UNMATCHED),
                      log_str("error", r->failed ? r->failure : "the handler set no reply")));
    for (size_t i = 0; i < r->headers_len; i++)
        free(r->header_values[i]);
    r->headers_len = 0;
    r->content_type_override[0] = '\0';
    r->failed = false;
    http_reply_error(r, PROBLEM_INTERNAL, "internal error (request %s)", x->request_id);
    if (r->failed) { /* even the problem could not be built */
        http_response_clear_body(r);
        r->status = 500;
    }
}

void http_reply_json(struct http_response *resp, int status, json_t *body)
{
    ASSERT(resp != NULL && status >= 200 && status <= 599);
    http_response_clear_body(resp);
    resp->set = true;
    resp->status = status;
    if (body == NULL) {
        http_response_fail(resp, "no JSON body (a json_* call failed)");
        return;
    }
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    if (text == NULL) {
        http_response_fail(resp, "cannot serialise the JSON body");
        return;
    }
    resp->kind = HTTP_BODY_MEM;
    resp->mem = text;
    resp->mem_len = strlen(text);
    memcpy(resp->content_type, HTTP_JSON_CONTENT_TYPE, sizeof HTTP_JSON_CONTENT_TYPE);
}

void http_reply_problem(struct http_response *resp, struct problem *p)
{
    ASSERT(resp != NULL && p != NULL);
    http_response_clear_body(resp);
    resp->set = true;
    resp->status = p->status;
    struct err e = {0};
    char *text = NULL;
    size_t len = 0;
    enum problem_result rc = problem_dumps(&text, &len, p, &e);
    problem_release(p);
    if (rc != PROBLEM_OK) {
        http_response_fail(resp, "%s", e.msg);
        return;
    }
    resp->kind = HTTP_BODY_MEM;
    resp->mem = text;
    resp->mem_len = len;
    memcpy(resp->content_type, PROBLEM_CONTENT_TYPE, sizeof PROBLEM_CONTENT_TYPE);
}

void http_reply_error(struct http_response *resp, enum problem_kind kind, const char *detail_fmt,
                      ...)
{
    struct problem p;
    va_list ap;
    va_start(ap, detail_fmt);
    problem_vinit_kind(&p, kind, detail_fmt, ap);
    va_end(ap);
    http_reply_problem(resp, &p);
}

void http_reply_bytes(struct http_response *resp, int status, const char *content_type,
                      const void *data, size_t data_len)
{
    ASSERT(resp != NULL && content_type != NULL && status >= 200 && status <= 599);
    ASSERT(data != NULL || data_len == 0);
    http_response_clear_body(resp);
    resp->set = true;
    resp->status = status;
    size_t ct_len = strnlen(content_type, HTTP_CONTENT_TYPE_BYTES_MAX + 1);
    if (ct_len > HTTP_CONTENT_TYPE_BYTES_MAX ||
        !http_text_printable(content_type, HTTP_CONTENT_TYPE_BYTES_MAX, "")) {
        http_response_fail(resp, "bad content type");
        return;
    }
    memcpy(resp->content_type, content_type, ct_len + 1);
    if (data_len == 0)
        return;
    resp->mem = malloc(data_len);
    if (resp->mem == NULL) {
        http_response_fail(resp, "out of memory for a %zu-byte body", data_len);
        return;
    }
    memcpy(resp->mem, data, data_len);
    resp->mem_len = data_len;
    resp->kind = HTTP_BODY_MEM;
}

void http_reply_empty(struct http_response *resp, int status)
{
    ASSERT(resp != NULL && status >= 200 && status <= 599);
    http_response_clear_body(resp);
    resp->set = true;
    resp->status = status;
}

void http_reply_file(struct http_response *resp, int fd, const char *content_type)
{
    ASSERT(resp != NULL && content_type != NULL);
    http_reply_empty(resp, 200);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        if (fd >= 0)
            close(fd);
        http_response_fail(resp, "file reply without a regular file");
        return;
    }
    uint64_t size = (uint64_t)st.st_size;
    const struct http_request req = {.conn = resp->x->conn};
    const char *range = http_request_header(&req, MHD_HTTP_HEADER_RANGE);
    if (http_request_header(&req, MHD_HTTP_HEADER_IF_RANGE) != NULL)
        range = NULL; /* no validators here: the whole file is always right */
    uint64_t first = 0, last = 0;
    enum http_range_result rr = http_range_parse(&first, &last, range, size);
    if (rr == HTTP_RANGE_UNSATISFIABLE) {
        close(fd);
        http_reply_error(resp, PROBLEM_RANGE_NOT_SATISFIABLE,
                         "range outside the %" PRIu64 " bytes of the file", size);
        snprintf(resp->content_range, sizeof resp->content_range, "bytes */%" PRIu64, size);
        return;
    }
    http_reply_bytes(resp, rr == HTTP_RANGE_OK ? 206 : 200, content_type, NULL, 0);
    if (rr == HTTP_RANGE_OK)
        snprintf(resp->content_range, sizeof resp->content_range,
                 "bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64, first, last, size);
    resp->file_offset = rr == HTTP_RANGE_OK ? first : 0;
    resp->file_len = rr == HTTP_RANGE_OK ? last - first + 1 : size;
    if (resp->failed || resp->file_len == 0) {
        close(fd);
        return;
    }
    resp->kind = HTTP_BODY_FILE;
    resp->fd = fd;
}

void http_reply_header(struct http_response *resp, const char *name, const char *value)
{
    ASSERT(resp != NULL && name != NULL && value != NULL);
    size_t name_len = strnlen(name, HTTP_HEADER_NAME_BYTES_MAX + 1);
    size_t value_len = strnlen(value, HTTP_HEADER_VALUE_BYTES_MAX + 1);
    static const char token[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-";
    bool name_ok =
        name_len > 0 && name_len <= HTTP_HEADER_NAME_BYTES_MAX && strspn(name, token) == name_len;
    bool value_ok = value_len <= HTTP_HEADER_VALUE_BYTES_MAX &&
                    http_text_printable(value, HTTP_HEADER_VALUE_BYTES_MAX, "");
    if (!name_ok || !value_ok) {
        http_response_fail(resp, "malformed response header '%.64s'", name_ok ? name : "?");
        return;
    }
    if (strcasecmp(name, "Content-Length") == 0 || strcasecmp(name, "Transfer-Encoding") == 0 ||
        strcasecmp(name, "X-Request-Id") == 0) {
        http_response_fail(resp, "response header '%s' belongs to the server", name);
        return;
    }
    if (strcasecmp(name, "Content-Type") == 0) {
        if (value_len > HTTP_CONTENT_TYPE_BYTES_MAX)
            http_response_fail(resp, "content type above %d bytes", HTTP_CONTENT_TYPE_BYTES_MAX);
        else
            memcpy(resp->content_type_override, value, value_len + 1);
        return;
    }
    if (resp->headers_len >= HTTP_RESPONSE_HEADERS_MAX) {
        http_response_fail(resp, "more than %d response headers", HTTP_RESPONSE_HEADERS_MAX);
        return;
    }
    char *copy = strndup(value, value_len);
    if (copy == NULL) {
        http_response_fail(resp, "out of memory");
        return;
    }
    memcpy(resp->header_names[resp->headers_len], name, name_len + 1);
    resp->header_values[resp->headers_len++] = copy;
}

/* The libmicrohttpd response for r's body; the body moves into it. */
static struct MHD_Response *http_mhd_response(struct http_response *r)
{
    struct MHD_Response *m = NULL;
    if (r->kind == HTTP_BODY_FILE) {
        m = MHD_create_response_from_fd_at_offset64(r->file_len, r->fd, r->file_offset);
        if (m != NULL)
            r->fd = -1;
    } else if (r->kind == HTTP_BODY_MEM) {
        m = MHD_create_response_from_buffer(r->mem_len, r->mem, MHD_RESPMEM_MUST_FREE);
        if (m != NULL)
            r->mem = NULL;
    } else {
        m = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
    }
    return m;
}

static bool http_mhd_headers(struct MHD_Response *m, const struct http_exchange *x)
{
    const struct http_response *r = &x->resp;
    const char *ct =
        r->content_type_override[0] != '\0' ? r->content_type_override : r->content_type;
    bool ok = MHD_add_response_header(m, "X-Request-Id", x->request_id) == MHD_YES;
    if (ct[0] != '\0')
        ok = ok && MHD_add_response_header(m, MHD_HTTP_HEADER_CONTENT_TYPE, ct) == MHD_YES;
    if (r->kind == HTTP_BODY_FILE || r->content_range[0] != '\0' || r->status == 206)
        ok = ok && MHD_add_response_header(m, MHD_HTTP_HEADER_ACCEPT_RANGES, "bytes") == MHD_YES;
    if (r->content_range[0] != '\0')
        ok = ok &&
             MHD_add_response_header(m, MHD_HTTP_HEADER_CONTENT_RANGE, r->content_range) == MHD_YES;
    if (r->close)
        ok = ok && MHD_add_response_header(m, MHD_HTTP_HEADER_CONNECTION, "close") == MHD_YES;
    for (size_t i = 0; i < r->headers_len && ok; i++)
        ok = MHD_add_response_header(m, r->header_names[i], r->header_values[i]) == MHD_YES;
    return ok;
}

/* ---- byte ranges ------------------------------------------------------------ */

enum http_range_result http_range_parse(uint64_t *first_out, uint64_t *last_out, const char *header,
                                        uint64_t size)
{
    ASSERT(first_out != NULL && last_out != NULL);
    if (header == NULL || strncasecmp(header, "bytes=", 6) != 0)
        return HTTP_RANGE_NONE;
    const char *p = header + 6;
    uint64_t a = 0, b = 0;
    bool has_a = http_parse_digits(&p, &a);
    if (*p != '-')
        return HTTP_RANGE_NONE;
    p++;
    bool has_b = http_parse_digits(&p, &b);
    if (*p != '\0' || (!has_a && !has_b) || (has_a && has_b && b < a))
        return HTTP_RANGE_NONE; /* malformed, or several ranges */
    if (!has_a) {               /* suffix: the last b bytes */
        if (b == 0 || size == 0)
            return HTTP_RANGE_UNSATISFIABLE;
        *first_out = b >= size ? 0 : size - b;
        *last_out = size - 1;
        return HTTP_RANGE_OK;
    }
    if (a >= size)
        return HTTP_RANGE_UNSATISFIABLE;
    *first_out = a;
    *last_out = !has_b || b >= size ? size - 1 : b;
    return HTTP_RANGE_OK;
}

/* Reads [0-9]+ at *p (advancing it), saturating at UINT64_MAX. False when
 * there is no digit. Bounded by the NUL of the header it reads. */
static bool http_parse_digits(const char **p, uint64_t *value_out)
{
    const char *s = *p;
    uint64_t v = 0;
    size_t i = 0;
    for (; s[i] >= '0' && s[i] <= '9'; i++) {
        uint64_t d = (uint64_t)(s[i] - '0');
        v = v > (UINT64_MAX - d) / 10 ? UINT64_MAX : v * 10 + d;
    }
    *p = s + i;
    *value_out = v;
    return i > 0;
}

/* ---- metrics ---------------------------------------------------------------- */

static void http_stats_record(struct http_stats *st, int status, uint64_t dur_us)
{
    bool counted = false;
    for (size_t i = 0; i < HTTP_ROUTE_STATUSES_MAX && !counted; i++) {
        struct http_status_slot *slot = &st->statuses[i];
        int cur = atomic_load(&slot->status);
        if (cur == 0) {
            int expected = 0;
            cur = atomic_compare_exchange_strong(&slot->status, &expected, status) ? status
                                                                                   : expected;
        }
        if (cur == status) {
            atomic_fetch_add(&slot->count, 1);
            counted = true;
        }
    }
    if (!counted)
        atomic_fetch_add(&st->status_other, 1);
    size_t b = 0;
    while (b < HTTP_HIST_BUCKETS && dur_us > http_hist_bounds_us[b])
        b++;
    atomic_fetch_add(&st->buckets[b], 1);
    atomic_fetch_add(&st->sum_us, dur_us);
}

static void http_text_printf(struct http_text *t, const char *fmt, ...)
{
    if (t->failed)
        return;
    va_list ap;
    va_start(ap, fmt);
    char line[HTTP_METRIC_NAME_BYTES_MAX + HTTP_METRIC_LABELS_BYTES_MAX +
              HTTP_METRIC_HELP_BYTES_MAX + HTTP_ROUTE_PATTERN_BYTES_MAX + 128];
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    t->failed = n < 0 || (size_t)n >= sizeof line || buf_append(&t->b, line, (size_t)n) != BUF_OK;
}

static void http_render_statuses(struct http_text *t, const char *method, const char *route,
                                 struct http_stats *st)
{
    for (size_t i = 0; i < HTTP_ROUTE_STATUSES_MAX; i++) {
        int status = atomic_load(&st->statuses[i].status);
        if (status == 0)
            continue;
        http_text_printf(
            t, "http_requests_total{method=\"%s\",route=\"%s\",status=\"%d\"} %" PRIu64 "\n",
            method, route, status, atomic_load(&st->statuses[i].count));
    }
    uint64_t other = atomic_load(&st->status_other);
    if (other > 0)
        http_text_printf(
            t, "http_requests_total{method=\"%s\",route=\"%s\",status=\"other\"} %" PRIu64 "\n",
            method, route, other);
}

static void http_render_histogram(struct http_text *t, const char *method, const char *route,
                                  struct http_stats *st)
{
    uint64_t counts[HTTP_HIST_BUCKETS + 1], total = 0;
    for (size_t b = 0; b <= HTTP_HIST_BUCKETS; b++) {
        counts[b] = atomic_load(&st->buckets[b]);
        total += counts[b];
    }
    if (total == 0)
        return;
    const char *h = "http_request_duration_seconds";
    uint64_t cumulative = 0;
    for (size_t b = 0; b < HTTP_HIST_BUCKETS; b++) {
        cumulative += counts[b];
        http_text_printf(t, "%s_bucket{method=\"%s\",route=\"%s\",le=\"%s\"} %" PRIu64 "\n", h,
                         method, route, http_hist_bounds_text[b], cumulative);
    }
    uint64_t sum_us = atomic_load(&st->sum_us);
    http_text_printf(t, "%s_bucket{method=\"%s\",route=\"%s\",le=\"+Inf\"} %" PRIu64 "\n", h,
                     method, route, total);
    http_text_printf(t, "%s_sum{method=\"%s\",route=\"%s\"} %" PRIu64 ".%06" PRIu64 "\n", h, method,
                     route, sum_us / 1000000u, sum_us % 1000000u);
    http_text_printf(t, "%s_count{method=\"%s\",route=\"%s\"} %" PRIu64 "\n", h, method, route,
                     total);
}

/* The application's series, grouped by name in registration order. */
static void http_render_app(struct http_text *t, struct http_server *s)
{
    pthread_mutex_lock(&s->metrics_mu);
    for (size_t i = 0; i < s->metrics_len; i++) {
        const struct http_metric *m = &s->metrics[i];
        bool seen = false;
        for (size_t j = 0; j < i && !seen; j++)
            seen = strcmp(s->metrics[j].name, m->name) == 0;
        if (seen)
            continue;
        http_text_printf(t, "# HELP %s %s\n# TYPE %s %s\n", m->name, m->help, m->name,
                         m->type == HTTP_METRIC_COUNTER ? "counter" : "gauge");
        for (size_t k = i; k < s->metrics_len; k++) {
            const struct http_metric *q = &s->metrics[k];
            if (strcmp(q->name, m->name) != 0)
                continue;
            bool braces = q->labels[0] != '\0';
            if (q->type == HTTP_METRIC_COUNTER)
                http_text_printf(t, "%s%s%s%s %" PRIu64 "\n", q->name, braces ? "{" : "", q->labels,
                                 braces ? "}" : "", atomic_load(&q->counter));
            else
                http_text_printf(t, "%s%s%s%s %" PRId64 "\n", q->name, braces ? "{" : "", q->labels,
                                 braces ? "}" : "", atomic_load(&q->gauge));
        }
    }
    pthread_mutex_unlock(&s->metrics_mu);
}

enum http_result http_metric_register(struct http_metric **metric_out, struct http_server *s,
                                      enum http_metric_type type, const char *name,
                                      const char *labels, const char *help, struct err *e)
{
    ASSERT(metric_out != NULL && s != NULL && name != NULL);
    *metric_out = NULL;
    labels = labels != NULL ? labels : "";
    help = help != NULL ? help : "";
    if ((type != HTTP_METRIC_COUNTER && type != HTTP_METRIC_GAUGE) ||
        !http_metric_name_valid(name) || !http_metric_labels_valid(labels) ||
        !http_text_printable(help, HTTP_METRIC_HELP_BYTES_MAX, "\\"))
        return (enum http_result)err_set(e, HTTP_ERR_BAD_METRIC,
                                         "malformed metric '%.64s' (type, name, labels or help)",
                                         http_metric_name_valid(name) ? name : "?");
    enum http_result rc = HTTP_OK;
    pthread_mutex_lock(&s->metrics_mu);
    for (size_t i = 0; i < s->metrics_len && rc == HTTP_OK; i++) {
        const struct http_metric *m = &s->metrics[i];
        if (strcmp(m->name, name) == 0 && (m->type != type || strcmp(m->labels, labels) == 0))
            rc = (enum http_result)err_set(e, HTTP_ERR_METRIC_CONFLICT,
                                           "metric %s{%s} already registered%s", name, labels,
                                           m->type != type ? " with another type" : "");
    }
    if (rc == HTTP_OK && s->metrics_len >= HTTP_METRICS_SERIES_MAX)
        rc = (enum http_result)err_set(e, HTTP_ERR_METRICS_FULL, "metric %s: already %d series",
                                       name, HTTP_METRICS_SERIES_MAX);
    if (rc == HTTP_OK) {
        struct http_metric *m = &s->metrics[s->metrics_len];
        memset(m, 0, sizeof *m);
        m->type = type;
        memcpy(m->name, name, strlen(name) + 1);
        memcpy(m->labels, labels, strlen(labels) + 1);
        memcpy(m->help, help, strlen(help) + 1);
        s->metrics_len++;
        *metric_out = m;
    }
    pthread_mutex_unlock(&s->metrics_mu);
    return rc;
}

void http_metric_add(struct http_metric *m, uint64_t delta)
{
    ASSERT(m != NULL && m->type == HTTP_METRIC_COUNTER);
    atomic_fetch_add(&m->counter, delta);
}

void http_metric_set(struct http_metric *m, int64_t value)
{
    ASSERT(m != NULL && m->type == HTTP_METRIC_GAUGE);
    atomic_store(&m->gauge, value);
}

void http_metric_adjust(struct http_metric *m, int64_t delta)
{
    ASSERT(m != NULL && m->type == HTTP_METRIC_GAUGE);
    atomic_fetch_add(&m->gauge, delta);
}

int64_t http_metric_value(const struct http_metric *m)
{
    ASSERT(m != NULL);
    if (m->type == HTTP_METRIC_GAUGE)
        return atomic_load(&m->gauge);
    uint64_t v = atomic_load(&m->counter);
    return v > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)v;
}

/* [a-zA-Z_:][a-zA-Z0-9_:]{0,63}, not a built-in's prefix. */
static bool http_metric_name_valid(const char *name)
{
    size_t n = strnlen(name, HTTP_METRIC_NAME_BYTES_MAX + 1);
    static const char first[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_:";
    static const char rest[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_:0123456789";
    if (n == 0 || n > HTTP_METRIC_NAME_BYTES_MAX || strchr(first, name[0]) == NULL ||
        strspn(name, rest) != n)
        return false;
    return strncmp(name, "http_request", 12) != 0;
}

/* "" or k="v"(,k="v")*: k [a-zA-Z_][a-zA-Z0-9_]*, v printable without '"' and '\'. */
static bool http_metric_labels_valid(const char *labels)
{
    size_t n = strnlen(labels, HTTP_METRIC_LABELS_BYTES_MAX + 1);
    if (n > HTTP_METRIC_LABELS_BYTES_MAX)
        return false;
    static const char key[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_0123456789";
    size_t i = 0;
    while (i < n) {
        size_t k = strspn(labels + i, key);
        if (k == 0 || (labels[i] >= '0' && labels[i] <= '9'))
            return false;
        i += k;
        if (labels[i] != '=' || labels[i + 1] != '"')
            return false;
        i += 2;
        while (i < n && labels[i] != '"') {
            unsigned char c = (unsigned char)labels[i];
            if (c < 0x20 || c >= 0x7f || c == '\\')
                return false;
            i++;
        }
        if (i >= n)
            return false; /* no closing quote */
        i++;
        if (i < n && (labels[i] != ',' || i + 1 >= n))
            return false;
        if (i < n)
            i++;
    }
    return true;
}

/* Printable ASCII (tab allowed) of at most len_max bytes, none of `forbidden`. */
static bool http_text_printable(const char *s, size_t len_max, const char *forbidden)
{
    size_t n = strnlen(s, len_max + 1);
    if (n > len_max)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c < 0x20 && c != '\t') || c >= 0x7f || strchr(forbidden, (char)c) != NULL)
            return false;
    }
    return true;
}

/* ---- access log ------------------------------------------------------------- */

static void http_access_log(const struct http_exchange *x, enum MHD_RequestTerminationCode toe,
                            uint64_t dur_us)
{
    const struct logger *lg = x->s->log;
    if (!log_enabled(lg, LOG_INFO))
        return;
    char dur_ms[32];
    snprintf(dur_ms, sizeof dur_ms, "%" PRIu64 ".%03" PRIu64, dur_us / 1000u, dur_us % 1000u);
    struct log_kv kvs[9];
    size_t n = 0;
    kvs[n++] = log_str("req", x->request_id);
    kvs[n++] = log_str("method", x->method);
    kvs[n++] = log_str("route", x->route != NULL ? x->route->pattern : HTTP_UNMATCHED);
    kvs[n++] = log_str("path", x->path_raw != NULL ? x->path_raw : "");
    kvs[n++] = log_i64("status", x->status_sent);
    kvs[n++] = log_u64("bytes", x->bytes_sent);
    kvs[n++] = log_str("dur_ms", dur_ms);
    kvs[n++] = log_str("ip", x->peer_ip);
    const char *end = x->abort_reason != NULL ? x->abort_reason : http_termination_name(toe);
    if (end != NULL)
        kvs[n++] = log_str("end", end);
    log_write(lg, LOG_INFO, "request", kvs, n);
}

/* NULL for a normal completion. */
static const char *http_termination_name(enum MHD_RequestTerminationCode toe)
{
    switch (toe) {
    case MHD_REQUEST_TERMINATED_COMPLETED_OK:
        return NULL;
    case MHD_REQUEST_TERMINATED_WITH_ERROR:
        return "error";
    case MHD_REQUEST_TERMINATED_TIMEOUT_REACHED:
        return "timeout";
    case MHD_REQUEST_TERMINATED_DAEMON_SHUTDOWN:
        return "shutdown";
    case MHD_REQUEST_TERMINATED_READ_ERROR:
        return "read_error";
    case MHD_REQUEST_TERMINATED_CLIENT_ABORT:
        return "client_abort";
    }
    return "unknown";
}
