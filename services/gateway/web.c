/* web.c - the fan page: GET / (index.html), GET /watch/{id} (watch.html,
 * the same file for every stream: app.js reads the id from the URL) and
 * GET /static/{path*} (app.js, style.css, favicon.svg, and the npm-pinned
 * hls.js as /static/vendor/hls.min.js).
 *
 * Files are opened relative to directory fds taken at startup, one
 * component, O_NOFOLLOW (path_open_at), from an allow-list of names. Every
 * answer carries a Content-Security-Policy that allows only this origin
 * (plus blob: media, which hls.js plays through MediaSource), nosniff, and
 * "Referrer-Policy: no-referrer" because playback URLs carry tokens. */
#include <string.h>

#include "gateway.h"
#include "ids.h"
#include "path.h"

#define WEB_NAME_BYTES_MAX 64
#define WEB_CSP                                                                                    \
    "default-src 'self'; media-src 'self' blob:; img-src 'self' data:; object-src 'none'; "        \
    "base-uri 'none'; frame-ancestors 'none'; form-action 'self'"

static const char *web_content_type(const char *name);
static void web_send(struct http_response *resp, struct gw *g, int dir_fd, const char *name,
                     const char *cache_control);

/* The type of an allowed static name, [a-z0-9_-][a-z0-9_.-]* ending in
 * .js, .css, .svg or .html, else NULL. */
static const char *web_content_type(const char *name)
{
    static const struct {
        const char *ext, *type;
    } types[] = {{".js", "text/javascript; charset=utf-8"},
                 {".css", "text/css; charset=utf-8"},
                 {".svg", "image/svg+xml"},
                 {".html", "text/html; charset=utf-8"}};
    size_t len = strnlen(name, WEB_NAME_BYTES_MAX + 1);
    if (len == 0 || len > WEB_NAME_BYTES_MAX || name[0] == '.')
        return NULL;
    for (size_t i = 0; i < len; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.'))
            return NULL;
    }
    const char *ext = strrchr(name, '.');
    for (size_t i = 0; ext != NULL && ext != name && i < sizeof types / sizeof types[0]; i++)
        if (strcmp(ext, types[i].ext) == 0)
            return types[i].type;
    return NULL;
}

static void web_send(struct http_response *resp, struct gw *g, int dir_fd, const char *name,
                     const char *cache_control)
{
    const char *type = web_content_type(name);
    int fd = -1;
    struct err e = {0};
    if (type == NULL || dir_fd < 0 ||
        path_open_at(&fd, NULL, dir_fd, name, strlen(name), &e) != PATH_OK) {
        if (dir_fd < 0 || (type != NULL && e.code != PATH_ERR_NOT_FOUND))
            log_write(&g->log, LOG_WARN, "web file unavailable",
                      LOG_KVS(log_str("name", name), log_str("error", e.msg)));
        http_reply_error(resp, PROBLEM_NOT_FOUND, "no such file");
        return;
    }
    http_reply_file(resp, fd, type);
    http_reply_header(resp, "Cache-Control", cache_control);
    http_reply_header(resp, "Content-Security-Policy", WEB_CSP);
    http_reply_header(resp, "X-Content-Type-Options", "nosniff");
    http_reply_header(resp, "Referrer-Policy", "no-referrer");
}

void gw_handle_index(struct http_response *resp, const struct http_request *req, void *ctx)
{
    (void)req;
    struct gw *g = ctx;
    web_send(resp, g, g->web_dir_fd, "index.html", "no-cache");
}

void gw_handle_watch(struct http_response *resp, const struct http_request *req, void *ctx)
{
    struct gw *g = ctx;
    const char *id = http_request_param(req, "id");
    if (id == NULL || !ids_uuid_valid(id, strlen(id))) {
        http_reply_error(resp, PROBLEM_NOT_FOUND, "stream ids are lowercase UUIDs");
        return;
    }
    web_send(resp, g, g->web_dir_fd, "watch.html", "no-cache");
}

void gw_handle_static(struct http_response *resp, const struct http_request *req, void *ctx)
{
    struct gw *g = ctx;
    const char *path = http_request_param(req, "path");
    if (path != NULL && strcmp(path, "vendor/hls.min.js") == 0)
        web_send(resp, g, g->web_vendor_fd, "hls.min.js", "public, max-age=3600");
    else if (path != NULL && strchr(path, '/') == NULL)
        web_send(resp, g, g->web_static_fd, path, "public, max-age=300");
    else
        http_reply_error(resp, PROBLEM_NOT_FOUND, "no such file");
}
