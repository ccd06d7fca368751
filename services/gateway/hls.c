/* hls.c - the HLS origin: GET /hls/{id}/{path*} (gateway.h).
 *
 * Paths: "{id}/{path}" must pass path_parse_media() (400 bad-path
 * otherwise; the HTTP layer has already refused bad escapes, encoded NUL
 * and '/', and dot segments). Files are opened relative to MEDIA_DIR one
 * component at a time with O_NOFOLLOW (path_open_at): a symlink, a
 * directory or a missing file is 404.
 *
 * Playlists (master and media):
 *   1. the viewer: a valid "Authorization: Bearer <session>" (the fan page
 *      sends it, because hls.js re-fetches a media playlist at the URL the
 *      master gave, whose token expires after GW_PLAYBACK_TOKEN_S), else a
 *      playback token of this stream in ?token=. Missing, malformed,
 *      tampered or expired: 401; a token of another stream: 403.
 *   2. access is decided again on every fetch (access_decide): denied 402,
 *      the chain down with no cached answer 503 with Retry-After.
 *   3. the stored text (at most PLAYLIST_BYTES_MAX) is rewritten with a
 *      fresh playback token on every URI (playlist_rewrite); a media
 *      playlist ends before the first segment whose file is not stored yet
 *      (the encoder uploads a playlist before the segment it lists, and a
 *      segment file exists only once it is recorded), so a player never sees
 *      an unrecorded segment.
 *   Answered application/vnd.apple.mpegurl, "Cache-Control: no-store" (the
 *   text carries tokens), "Referrer-Policy: no-referrer".
 *
 * Segments and init segments: the ?token= playback token is checked by its
 * MAC and expiry only (no database, no chain), then the file goes out with
 * sendfile and single byte ranges (http_reply_file), its path_content_type()
 * and "Cache-Control: private, max-age=60": a stored segment never changes.
 *
 * Tokens are never logged (the access log drops the query string). */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "access.h"
#include "clock.h"
#include "gateway.h"
#include "playlist.h"
#include "store.h"

#define HLS_PLAYLIST_TYPE "application/vnd.apple.mpegurl"
#define HLS_SEGMENT_CACHE "private, max-age=60"
/* A rewritten playlist: the stored text plus "?token=<token>" per line. */
#define HLS_PLAYLIST_OUT_BYTES_MAX ((size_t)8 << 20)
#define HLS_READ_CHUNK_BYTES 16384

static bool hls_viewer(struct address *out, struct http_response *resp,
                       const struct http_request *req, const struct gw *g, const char *stream_id,
                       bool session_ok, int64_t now_s);
static bool hls_allowed(struct http_response *resp, const struct http_request *req, struct gw *g,
                        const struct address *viewer);
static enum playlist_verdict hls_stored(void *ctx, uint64_t media_sequence, const char *uri,
                                        size_t uri_len);
static bool hls_rewrite(struct buf *out, struct gw *g, const struct path_media *pm,
                        const struct address *viewer, const struct buf *text, struct err *e);
static void hls_playlist(struct http_response *resp, const struct http_request *req, struct gw *g,
                         const struct path_media *pm, int64_t now_s);
static void hls_segment(struct http_response *resp, const struct http_request *req, struct gw *g,
                        const struct path_media *pm, int64_t now_s);
static void hls_not_stored(struct http_response *resp, struct gw *g, enum path_result r,
                           const struct err *e);

bool gw_media_path(struct path_media *out, struct http_response *resp,
                   const struct http_request *req)
{
    const char *id = http_request_param(req, "id"), *tail = http_request_param(req, "path");
    char rel[PATH_REL_BYTES_MAX + 2];
    struct err e = {0};
    int n = snprintf(rel, sizeof rel, "%s/%s", id != NULL ? id : "", tail != NULL ? tail : "");
    if (id == NULL || tail == NULL || n < 0 || (size_t)n >= sizeof rel) {
        http_reply_error(resp, PROBLEM_BAD_PATH, "media paths are at most %d bytes",
                         PATH_REL_BYTES_MAX);
        return false;
    }
    if (path_parse_media(out, rel, (size_t)n, &e) != PATH_OK) {
        http_reply_error(resp, PROBLEM_BAD_PATH, "%s", e.msg);
        return false;
    }
    return true;
}

enum path_result gw_media_read(struct buf *out, int dir_fd, const char *rel, size_t bytes_max,
                               struct err *e)
{
    int fd = -1;
    struct stat st;
    enum path_result r = path_open_at(&fd, &st, dir_fd, rel, strlen(rel), e);
    if (r != PATH_OK)
        return r;
    size_t start = out->len, total = 0;
    bool ok = st.st_size >= 0 && (uint64_t)st.st_size <= bytes_max;
    /* Each pass reads at least one byte or ends: at most bytes_max + 1 passes. */
    for (size_t i = 0; ok && i <= bytes_max; i++) {
        uint8_t chunk[HLS_READ_CHUNK_BYTES];
        ssize_t n = read(fd, chunk, sizeof chunk);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            ok = n == 0;
            break;
        }
        total += (size_t)n;
        ok = total <= bytes_max && buf_append(out, chunk, (size_t)n) == BUF_OK;
    }
    close(fd);
    if (ok)
        return PATH_OK;
    out->len = start;
    if (out->data != NULL)
        out->data[start] = '\0';
    return (enum path_result)err_set(e, PATH_ERR_IO, "cannot read '%s' (at most %zu bytes)", rel,
                                     bytes_max);
}

int gw_media_dir_open(int media_dir_fd, const char *stream_id, const char *rendition)
{
    const int flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
    int id_fd = openat(media_dir_fd, stream_id, flags);
    if (id_fd < 0 || rendition[0] == '\0')
        return id_fd;
    int fd = openat(id_fd, rendition, flags);
    int saved = errno;
    close(id_fd);
    errno = saved;
    return fd;
}

/* The viewer: a session (playlists only) or a playback token of this
 * stream; false after answering 401 or 403. */
static bool hls_viewer(struct address *out, struct http_response *resp,
                       const struct http_request *req, const struct gw *g, const char *stream_id,
                       bool session_ok, int64_t now_s)
{
    const char *bearer = session_ok ? http_request_bearer(req) : NULL;
    struct token_session session;
    if (bearer != NULL &&
        token_session_verify(&session, &g->keys, bearer, strlen(bearer), now_s, NULL) == TOKEN_OK) {
        *out = session.address;
        return true;
    }
    const char *token = http_request_query(req, "token");
    struct token_playback pb;
    enum token_result r = token == NULL ? TOKEN_ERR_MALFORMED
                                        : token_playback_verify(&pb, &g->keys, stream_id, token,
                                                                strlen(token), now_s, NULL);
    if (r == TOKEN_OK) {
        *out = pb.address;
        return true;
    }
    if (r == TOKEN_ERR_STREAM_MISMATCH) {
        http_reply_error(resp, PROBLEM_FORBIDDEN, "the playback token is for another stream");
        return false;
    }
    http_reply_header(resp, "WWW-Authenticate",
                      token == NULL && bearer == NULL ? "Bearer"
                                                      : "Bearer error=\"invalid_token\"");
    http_reply_error(resp, PROBLEM_UNAUTHORIZED, "%s",
                     token == NULL && bearer == NULL ? "a playback token (?token=) is required"
                     : token == NULL                 ? "invalid session token"
                     : r == TOKEN_ERR_EXPIRED ? "playback token expired: fetch the playlist again"
                                              : "invalid playback token");
    return false;
}

/* Decides access for the viewer now; false after answering 402, 404 or 503. */
static bool hls_allowed(struct http_response *resp, const struct http_request *req, struct gw *g,
                        const struct address *viewer)
{
    struct respool_slot *slot = NULL;
    struct pg_session *pc = NULL;
    static struct store_stream s_zero;
    struct store_stream s = s_zero;
    if (!gw_slot_stream(&slot, &pc, &s, resp, req, g))
        return false;
    struct access_decision d = {.via = ACCESS_DENIED};
    enum access_result r =
        (enum access_result)gw_decide(&d, g, slot, pc, &s, viewer, req->request_id);
    respool_release(&g->pool, slot);
    if (r != ACCESS_OK) {
        http_reply_header(resp, "Retry-After", GW_RETRY_AFTER_S);
        http_reply_error(resp, PROBLEM_UNAVAILABLE, "cannot check access right now; retry");
        return false;
    }
    if (d.via == ACCESS_DENIED) {
        http_reply_header(resp, "Cache-Control", "no-store");
        http_reply_error(resp, PROBLEM_PAYMENT_REQUIRED,
                         "no access to stream '%s': GET /v1/streams/%s/access says what unlocks it",
                         s.id, s.id);
        return false;
    }
    return true;
}

/* Playlist filter: keep a segment whose file is stored in the rendition
 * directory (ctx: its fd), end the playlist at the first one that is not. */
static enum playlist_verdict hls_stored(void *ctx, uint64_t media_sequence, const char *uri,
                                        size_t uri_len)
{
    const int *dir_fd = ctx;
    char name[PATH_NAME_BYTES_MAX + 1];
    struct stat st;
    (void)media_sequence;
    if (uri_len == 0 || uri_len > PATH_NAME_BYTES_MAX ||
        path_classify_name(uri, uri_len) != PATH_KIND_SEGMENT)
        return PLAYLIST_TRUNCATE; /* not a bare segment name: never ingested */
    memcpy(name, uri, uri_len);
    name[uri_len] = '\0';
    bool stored = fstatat(*dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode);
    return stored ? PLAYLIST_KEEP : PLAYLIST_TRUNCATE;
}

/* text rewritten into out with a fresh token for the viewer. */
static bool hls_rewrite(struct buf *out, struct gw *g, const struct path_media *pm,
                        const struct address *viewer, const struct buf *text, struct err *e)
{
    char token[TOKEN_TEXT_SIZE];
    int64_t expires_s = 0;
    if (!gw_playback_token(token, &expires_s, g, pm->stream_id, viewer, (int64_t)time(NULL)))
        return !err_set(e, 1, "could not issue a playback token");
    int dir_fd = -1;
    struct playlist_filter filter = {.verdict = hls_stored, .ctx = &dir_fd};
    if (pm->kind == PATH_KIND_MEDIA_PLAYLIST) {
        dir_fd = gw_media_dir_open(g->media_dir_fd, pm->stream_id, pm->rendition);
        if (dir_fd < 0)
            return !err_set(e, 1, "cannot open the rendition directory: %s", strerror(errno));
    }
    enum playlist_result r =
        playlist_rewrite(out, (const char *)text->data, text->len, token, strlen(token),
                         pm->kind == PATH_KIND_MEDIA_PLAYLIST ? &filter : NULL, e);
    if (dir_fd >= 0)
        close(dir_fd);
    return r == PLAYLIST_OK;
}

static void hls_not_stored(struct http_response *resp, struct gw *g, enum path_result r,
                           const struct err *e)
{
    if (r == PATH_ERR_NOT_FOUND || r == PATH_ERR_SYMLINK || r == PATH_ERR_NOT_REGULAR) {
        http_reply_error(resp, PROBLEM_NOT_FOUND, "no such media file");
        return;
    }
    log_write(&g->log, LOG_ERROR, "media file unreadable", LOG_KVS(log_str("error", e->msg)));
    http_reply_error(resp, PROBLEM_INTERNAL, "cannot read the media file");
}

static void hls_playlist(struct http_response *resp, const struct http_request *req, struct gw *g,
                         const struct path_media *pm, int64_t now_s)
{
    struct address viewer;
    if (!hls_viewer(&viewer, resp, req, g, pm->stream_id, true, now_s) ||
        !hls_allowed(resp, req, g, &viewer))
        return;
    struct buf text, out;
    struct err e = {0};
    buf_init(&text, PLAYLIST_BYTES_MAX);
    buf_init(&out, HLS_PLAYLIST_OUT_BYTES_MAX);
    enum path_result r = gw_media_read(&text, g->media_dir_fd, pm->rel, PLAYLIST_BYTES_MAX, &e);
    if (r != PATH_OK) {
        hls_not_stored(resp, g, r, &e);
    } else if (!hls_rewrite(&out, g, pm, &viewer, &text, &e)) {
        log_write(&g->log, LOG_ERROR, "stored playlist not served",
                  LOG_KVS(log_str("path", pm->rel), log_str("error", e.msg)));
        http_reply_error(resp, PROBLEM_INTERNAL, "cannot serve this playlist");
    } else {
        http_reply_bytes(resp, 200, HLS_PLAYLIST_TYPE, out.data, out.len);
        http_reply_header(resp, "Cache-Control", "no-store");
        http_reply_header(resp, "Referrer-Policy", "no-referrer");
        http_reply_header(resp, "X-Content-Type-Options", "nosniff");
    }
    buf_release(&text);
    buf_release(&out);
}

static void hls_segment(struct http_response *resp, const struct http_request *req, struct gw *g,
                        const struct path_media *pm, int64_t now_s)
{
    struct address viewer;
    if (!hls_viewer(&viewer, resp, req, g, pm->stream_id, false, now_s))
        return;
    int fd = -1;
    struct err e = {0};
    enum path_result r = path_open_at(&fd, NULL, g->media_dir_fd, pm->rel, strlen(pm->rel), &e);
    if (r != PATH_OK) {
        hls_not_stored(resp, g, r, &e);
        return;
    }
    const char *type = path_content_type(pm->name, strlen(pm->name));
    ASSERT(type != NULL); /* path_parse_media allowed the name */
    http_reply_file(resp, fd, type);
    http_reply_header(resp, "Cache-Control", HLS_SEGMENT_CACHE);
    http_reply_header(resp, "Referrer-Policy", "no-referrer");
    http_reply_header(resp, "X-Content-Type-Options", "nosniff");
}

void gw_handle_hls(struct http_response *resp, const struct http_request *req, void *ctx)
{
    struct gw *g = ctx;
    struct path_media pm;
    if (!gw_media_path(&pm, resp, req))
        return;
    int64_t now_s = (int64_t)time(NULL);
    if (pm.kind == PATH_KIND_MASTER || pm.kind == PATH_KIND_MEDIA_PLAYLIST)
        hls_playlist(resp, req, g, &pm, now_s);
    else
        hls_segment(resp, req, g, &pm, now_s);
}
