/* ingest.c - HLS ingest from an encoder (gateway.h):
 *   PUT /ingest/{id}/{path*}  with "Authorization: Bearer <ingest key>"
 *   GET /ingest/{id}          the same key check alone: 204, side-effect free
 *                             (ffmpeg 5.1 ignores PUT error statuses, so
 *                             `rightsctl publish` checks the key first)
 * as `ffmpeg -f hls -method PUT -master_pl_name master.m3u8
 * -var_stream_map "v:0,a:0 v:1,a:1" http://HOST/ingest/ID/%v/index.m3u8`
 * sends it: per rendition a segment, then the media playlist listing it
 * (ffmpeg may also upload a playlist before the segment it lists: such a
 * playlist is accepted), and the master playlist once every rendition has
 * its first segment.
 *
 * Authorization: the stream must exist (404, also without a key) and
 * sha256(key) must equal streams.ingest_key_hash, compared in constant time
 * (store_ingest_key_check); a missing or wrong key is the same 401. Then
 * "{id}/{path}" must pass path_parse_media() (400).
 *
 * By kind, each checked completely before anything is written:
 *   master.m3u8     playlist_parse_master(); its renditions, in master
 *                   order, become the recording's rendition indexes
 *                   (fixed once set: other ones are 409). A rendition named
 *                   as a decimal 0..31 must sit at that index (409).
 *   <r>/<n>.m3u8    playlist_parse_media() (it may list segments not
 *                   uploaded yet); stored as is, unless the stored version
 *                   is newer (lists segments further on, or as far and
 *                   ended): ffmpeg does not wait for answers, so versions
 *                   race, and an older one is 409. Updates of a stream's
 *                   playlists are serialized by flock on its directory.
 *   <r>/<n>.<ext>   a segment: its media sequence is the decimal number
 *                   ending the name's stem (ffmpeg: index0.ts, index1.ts,
 *                   ...; a name without one is 400); libavformat must
 *                   demux it (media_check_segment: 400 otherwise; a .m4s
 *                   together with the rendition's one init*.mp4, waited
 *                   for up to INGEST_INIT_WAIT_MS because ffmpeg finishes
 *                   the init upload concurrently with the first .m4s; none
 *                   by then, or several, is 409); then it is
 *                   recorded in PostgreSQL (sha256, bytes, duration;
 *                   store_segment_record: other content at the same place
 *                   is 409) BEFORE its file is written, so no viewer can
 *                   fetch an unrecorded segment.
 *   <r>/init*.mp4   media_check_init(); at most INGEST_INIT_BYTES_MAX;
 *                   stored, not recorded; once stored it never changes
 *                   (other bytes: 409).
 * The rendition index of a playlist, segment or init segment: its place in
 * the recording's renditions (store_rendition_index) or, while the master
 * playlist has not arrived, the rendition name read as a decimal 0..31
 * (ffmpeg's %v); any other rendition is 409, so encoders that name their
 * renditions (var_stream_map name:) must not upload before the master.
 * Every upload opens the recording (store_recording_open: the stream goes
 * live); one that arrives after the recording ended is 409.
 *
 * The end: #EXT-X-ENDLIST marks a rendition's last playlist, and the
 * recording ends (store_recording_end) once every rendition of the stored
 * master has its playlist stored with #EXT-X-ENDLIST and every segment those
 * playlists list stored. ffmpeg ends its renditions one after the other and
 * uploads a final playlist concurrently with (often before) the last segment
 * it lists, so whichever upload completes the set ends the recording: each
 * stored playlist with ENDLIST and each stored segment checks. Without a
 * stored master the upload's rendition is taken alone, with every media
 * playlist in its directory. A final playlist whose segments never all
 * arrive leaves the recording open.
 *
 * Answers: 201 when the file is new, 204 when it replaced one; every
 * rejection is a problem+json, logged (ffmpeg does not report statuses) and
 * counted in gateway_ingest_rejected_total. Files are written atomically
 * (path_write_atomic). The key is never logged. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clock.h"
#include "crypto.h"
#include "gateway.h"
#include "ids.h"
#include "media.h"
#include "playlist.h"
#include "store.h"

#define INGEST_INIT_BYTES_MAX ((size_t)1 << 20)
#define INGEST_DIR_ENTRIES_MAX 100000 /* read from a rendition directory (init, playlists) */
#define INGEST_SEQUENCE_DIGITS_MAX 18 /* below PLAYLIST_MEDIA_SEQUENCE_MAX */
#define INGEST_PLAYLISTS_MAX 8        /* media playlists of a rendition without a master */
#define INGEST_INIT_WAIT_MS 5000u     /* a .m4s waits this long for its init segment */
#define INGEST_INIT_POLL_MS 20u

/* One upload being handled. */
struct ingest {
    struct gw *g;
    struct http_response *resp;
    const struct http_request *req;
    struct respool_slot *slot; /* held from the key check to the end */
    struct pg_session *pc;
    struct path_media pm;
};

/* Scratch space of the completion check (ingest_complete). */
struct ingest_scratch {
    struct playlist_segment *segs; /* PLAYLIST_SEGMENTS_MAX of them */
    struct buf text;
};

static bool ingest_fail(struct ingest *x, enum problem_kind kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static bool ingest_store_fail(struct ingest *x, enum store_result r, const struct err *e);
static enum problem_kind ingest_playlist_kind(enum playlist_result r);
static bool ingest_authorize(struct ingest *x);
static bool ingest_master_stored(const struct ingest *x);
static bool ingest_index(uint32_t *out, struct ingest *x);
static bool ingest_open_recording(struct ingest *x);
static bool ingest_write(struct ingest *x);
static bool ingest_master(struct ingest *x);
static void ingest_scan(char (*found)[PATH_NAME_BYTES_MAX + 1], size_t cap, size_t *count,
                        const struct ingest *x, enum path_kind kind);
static bool ingest_playlist_done(bool *done, struct ingest *x, struct ingest_scratch *s,
                                 const char *rendition, const char *name, struct err *e);
static bool ingest_complete(bool *done, struct ingest *x, struct ingest_scratch *s, struct err *e);
static bool ingest_end_if_complete(struct ingest *x);
static int ingest_lock_stream(const struct ingest *x);
static bool ingest_playlist_stale(struct ingest *x, const struct playlist_media *pl,
                                  struct playlist_segment *segs);
static bool ingest_store_playlist(struct ingest *x, const struct playlist_media *pl,
                                  struct playlist_segment *segs);
static bool ingest_media_playlist(struct ingest *x);
static bool ingest_load_init(struct buf *out, struct ingest *x);
static bool ingest_check_segment(struct media_info *info, struct ingest *x);
static bool ingest_record(struct ingest *x, uint32_t index, uint64_t sequence,
                          const struct media_info *info);
static bool ingest_segment(struct ingest *x);
static bool ingest_init(struct ingest *x);

bool gw_ingest_sequence_of_name(uint64_t *out, const char *name, size_t name_len)
{
    const char *dot = memchr(name, '.', name_len);
    size_t stem = dot != NULL ? (size_t)(dot - name) : name_len, digits = 0;
    while (digits < stem && digits <= INGEST_SEQUENCE_DIGITS_MAX &&
           name[stem - 1 - digits] >= '0' && name[stem - 1 - digits] <= '9')
        digits++;
    if (digits == 0 || digits > INGEST_SEQUENCE_DIGITS_MAX)
        return false;
    uint64_t v = 0;
    for (size_t i = stem - digits; i < stem; i++)
        v = v * 10 + (uint64_t)(name[i] - '0');
    *out = v;
    return true;
}

bool gw_ingest_rendition_of_name(uint32_t *out, const char *rendition, size_t rendition_len)
{
    if (rendition_len == 0 || rendition_len > 2 || (rendition_len == 2 && rendition[0] == '0'))
        return false;
    uint32_t v = 0;
    for (size_t i = 0; i < rendition_len; i++) {
        if (rendition[i] < '0' || rendition[i] > '9')
            return false;
        v = v * 10 + (uint32_t)(rendition[i] - '0');
    }
    if (v >= STORE_RENDITIONS_MAX)
        return false;
    *out = v;
    return true;
}

/* Answers the problem, logs it (the detail names no secret); false. */
static bool ingest_fail(struct ingest *x, enum problem_kind kind, const char *fmt, ...)
{
    struct problem p;
    va_list ap;
    va_start(ap, fmt);
    problem_vinit_kind(&p, kind, fmt, ap);
    va_end(ap);
    log_write(&x->g->log, p.status >= 500 ? LOG_ERROR : LOG_WARN, "ingest refused",
              LOG_KVS(log_str("req", x->req->request_id), log_str("path", x->req->path),
                      log_i64("status", p.status), log_str("detail", p.detail)));
    http_reply_problem(x->resp, &p);
    return false;
}

/* A failed store call: 409 for a conflict, 503 (retry) for the database. */
static bool ingest_store_fail(struct ingest *x, enum store_result r, const struct err *e)
{
    if (r == STORE_ERR_CONFLICT)
        return ingest_fail(x, PROBLEM_CONFLICT, "%s", e->msg);
    if (r == STORE_ERR_DB) {
        respool_pg_failed(x->slot, PG_ERR_CONNECTION);
        log_write(&x->g->log, LOG_ERROR, "ingest database error",
                  LOG_KVS(log_str("req", x->req->request_id), log_str("error", e->msg)));
        http_reply_header(x->resp, "Retry-After", GW_RETRY_AFTER_S);
        return ingest_fail(x, PROBLEM_UNAVAILABLE, "the database is unavailable; retry");
    }
    return ingest_fail(x, PROBLEM_INTERNAL, "stored data unusable: %s", e->msg);
}

static enum problem_kind ingest_playlist_kind(enum playlist_result r)
{
    return r == PLAYLIST_ERR_TOO_BIG ? PROBLEM_BODY_TOO_LARGE : PROBLEM_BAD_REQUEST;
}

/* The stream of {id} exists and the Bearer key is its ingest key; takes a
 * pool slot (x->slot, x->pc) that the caller releases. */
static bool ingest_authorize(struct ingest *x)
{
    const char *id = http_request_param(x->req, "id");
    if (id == NULL || !ids_uuid_valid(id, strlen(id)))
        return ingest_fail(x, PROBLEM_NOT_FOUND, "stream ids are lowercase UUIDs");
    if (!gw_slot_pg(&x->slot, &x->pc, x->resp, x->g))
        return false;
    const char *key = http_request_bearer(x->req);
    uint8_t key_hash[CRYPTO_SHA256_BYTES];
    bool matches = false;
    struct err e = {0};
    if (crypto_sha256(key_hash, key != NULL ? key : "", key != NULL ? strlen(key) : 0, &e) !=
        CRYPTO_OK)
        return ingest_fail(x, PROBLEM_INTERNAL, "cannot hash the ingest key");
    enum store_result r = store_ingest_key_check(&matches, x->pc, id, key_hash, &e);
    if (r == STORE_ERR_NOT_FOUND)
        return ingest_fail(x, PROBLEM_NOT_FOUND, "no stream '%s'", id);
    if (r != STORE_OK)
        return ingest_store_fail(x, r, &e);
    if (key == NULL || !matches) {
        http_reply_header(x->resp, "WWW-Authenticate", "Bearer realm=\"ingest\"");
        return ingest_fail(x, PROBLEM_UNAUTHORIZED,
                           "the stream's ingest key is required: Authorization: Bearer <key>");
    }
    return true;
}

/* Whether <id>/master.m3u8 is stored (an unreadable one counts as stored). */
static bool ingest_master_stored(const struct ingest *x)
{
    char rel[PATH_REL_BYTES_MAX + 1];
    int fd = -1;
    int n = snprintf(rel, sizeof rel, "%s/master.m3u8", x->pm.stream_id);
    ASSERT(n > 0 && (size_t)n < sizeof rel);
    enum path_result r = path_open_at(&fd, NULL, x->g->media_dir_fd, rel, (size_t)n, NULL);
    if (fd >= 0)
        close(fd);
    return r != PATH_ERR_NOT_FOUND;
}

/* The rendition index of x->pm.rendition (see the file comment); false after
 * answering 409 or 503. */
static bool ingest_index(uint32_t *out, struct ingest *x)
{
    const char *rendition = x->pm.rendition;
    struct err e = {0};
    enum store_result r = store_rendition_index(out, x->pc, x->pm.stream_id, rendition, &e);
    if (r == STORE_OK)
        return true;
    if (r != STORE_ERR_NOT_FOUND)
        return ingest_store_fail(x, r, &e);
    /* Not among the recording's renditions: the master playlist has not
     * arrived, or it does not list this rendition. Its file is written
     * after its renditions are committed, so once the file is there a
     * second look is the answer (the master may have landed in between). */
    if (ingest_master_stored(x)) {
        r = store_rendition_index(out, x->pc, x->pm.stream_id, rendition, &e);
        if (r == STORE_OK)
            return true;
        if (r != STORE_ERR_NOT_FOUND)
            return ingest_store_fail(x, r, &e);
        return ingest_fail(x, PROBLEM_CONFLICT, "rendition '%s' is not in the master playlist",
                           rendition);
    }
    if (gw_ingest_rendition_of_name(out, rendition, strlen(rendition)))
        return true;
    return ingest_fail(x, PROBLEM_CONFLICT,
                       "rendition '%s' has no index before the master playlist arrives: "
                       "name renditions 0..31 (ffmpeg's %%v) or upload master.m3u8 first",
                       rendition);
}

/* store_recording_open, tried twice on a conflict: when two first uploads
 * race, the one whose INSERT waited for the other's sees neither its own
 * row nor (its statement snapshot predates the commit) the other's, and is
 * told "ended"; a second statement sees the committed row. */
static bool ingest_open_recording(struct ingest *x)
{
    struct err e = {0};
    enum store_result r = store_recording_open(x->pc, x->pm.stream_id, &e);
    if (r == STORE_ERR_CONFLICT)
        r = store_recording_open(x->pc, x->pm.stream_id, &e);
    return r == STORE_OK || ingest_store_fail(x, r, &e);
}

/* Stores the body at x->pm.rel atomically and answers 201 (new) or 204. */
static bool ingest_write(struct ingest *x)
{
    const char *rel = x->pm.rel;
    int fd = -1;
    struct err e = {0};
    bool existed = path_open_at(&fd, NULL, x->g->media_dir_fd, rel, strlen(rel), NULL) == PATH_OK;
    if (fd >= 0)
        close(fd);
    if (path_write_atomic(x->g->media_dir_fd, rel, strlen(rel), x->req->body, x->req->body_len,
                          &e) != PATH_OK) {
        log_write(&x->g->log, LOG_ERROR, "ingest write failed",
                  LOG_KVS(log_str("path", rel), log_str("error", e.msg)));
        return ingest_fail(x, PROBLEM_INTERNAL, "cannot store the upload");
    }
    if (x->g->m.ingest_bytes != NULL)
        http_metric_add(x->g->m.ingest_bytes, x->req->body_len);
    http_reply_empty(x->resp, existed ? 204 : 201);
    return true;
}

static bool ingest_master(struct ingest *x)
{
    struct playlist_variant vars[PLAYLIST_VARIANTS_MAX];
    struct playlist_master m;
    struct err e = {0};
    enum playlist_result pr = playlist_parse_master(
        &m, vars, PLAYLIST_VARIANTS_MAX, (const char *)x->req->body, x->req->body_len, &e);
    if (pr != PLAYLIST_OK)
        return ingest_fail(x, ingest_playlist_kind(pr), "master playlist refused: %s", e.msg);
    ASSERT(m.variant_count >= 1 && m.variant_count <= STORE_RENDITIONS_MAX);
    const char *names[PLAYLIST_VARIANTS_MAX];
    for (size_t i = 0; i < m.variant_count; i++) {
        uint32_t own = 0;
        names[i] = vars[i].rendition;
        if (gw_ingest_rendition_of_name(&own, names[i], strlen(names[i])) && own != i)
            return ingest_fail(x, PROBLEM_CONFLICT,
                               "rendition '%s' is listed at index %zu: a rendition named as a "
                               "number must be listed at that index",
                               names[i], i);
    }
    if (!ingest_open_recording(x))
        return false;
    enum store_result r =
        store_recording_set_renditions(x->pc, x->pm.stream_id, names, m.variant_count, &e);
    if (r != STORE_OK)
        return ingest_store_fail(x, r, &e);
    return ingest_write(x);
}

/* Up to cap names of `kind` in the upload's rendition directory into found;
 * *count = how many there are among its first INGEST_DIR_ENTRIES_MAX
 * entries (0 when the directory is missing). */
static void ingest_scan(char (*found)[PATH_NAME_BYTES_MAX + 1], size_t cap, size_t *count,
                        const struct ingest *x, enum path_kind kind)
{
    *count = 0;
    int fd = gw_media_dir_open(x->g->media_dir_fd, x->pm.stream_id, x->pm.rendition);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (d == NULL) {
        if (fd >= 0)
            close(fd);
        return;
    }
    for (size_t i = 0; i < INGEST_DIR_ENTRIES_MAX; i++) {
        const struct dirent *de = readdir(d);
        if (de == NULL)
            break;
        size_t len = strnlen(de->d_name, PATH_NAME_BYTES_MAX + 1);
        if (len > PATH_NAME_BYTES_MAX || path_classify_name(de->d_name, len) != kind)
            continue;
        if (*count < cap)
            memcpy(found[*count], de->d_name, len + 1);
        (*count)++;
    }
    closedir(d);
}

/* *done = <rendition>/<name> is stored with #EXT-X-ENDLIST and every segment
 * it lists is stored. False when it cannot be read or parsed (e says why). */
static bool ingest_playlist_done(bool *done, struct ingest *x, struct ingest_scratch *s,
                                 const char *rendition, const char *name, struct err *e)
{
    char rel[PATH_REL_BYTES_MAX + 1];
    struct playlist_media pl;
    int n = snprintf(rel, sizeof rel, "%s/%s/%s", x->pm.stream_id, rendition, name);
    ASSERT(n > 0 && (size_t)n < sizeof rel);
    *done = false;
    buf_reset(&s->text);
    enum path_result r = gw_media_read(&s->text, x->g->media_dir_fd, rel, PLAYLIST_BYTES_MAX, e);
    if (r == PATH_ERR_NOT_FOUND)
        return true;
    if (r != PATH_OK ||
        playlist_parse_media(&pl, s->segs, PLAYLIST_SEGMENTS_MAX, (const char *)s->text.data,
                             s->text.len, e) != PLAYLIST_OK)
        return false;
    if (!pl.ended)
        return true;
    int dir_fd = gw_media_dir_open(x->g->media_dir_fd, x->pm.stream_id, rendition);
    if (dir_fd < 0)
        return !err_set(e, 1, "cannot open rendition '%s': %s", rendition, strerror(errno));
    size_t stored = 0;
    for (struct stat st; stored < pl.segment_count; stored++)
        if (fstatat(dir_fd, s->segs[stored].name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
            !S_ISREG(st.st_mode))
            break;
    close(dir_fd);
    *done = stored == pl.segment_count;
    return true;
}

/* *done = the recording is complete: every rendition of the stored master
 * (the upload's own first) is done, or without a master every media
 * playlist of the upload's rendition. */
static bool ingest_complete(bool *done, struct ingest *x, struct ingest_scratch *s, struct err *e)
{
    char rel[PATH_REL_BYTES_MAX + 1], names[INGEST_PLAYLISTS_MAX][PATH_NAME_BYTES_MAX + 1];
    struct playlist_variant vars[PLAYLIST_VARIANTS_MAX];
    struct playlist_master m = {0};
    int n = snprintf(rel, sizeof rel, "%s/master.m3u8", x->pm.stream_id);
    ASSERT(n > 0 && (size_t)n < sizeof rel);
    buf_reset(&s->text);
    enum path_result r = gw_media_read(&s->text, x->g->media_dir_fd, rel, PLAYLIST_BYTES_MAX, e);
    if (r == PATH_OK) {
        if (playlist_parse_master(&m, vars, PLAYLIST_VARIANTS_MAX, (const char *)s->text.data,
                                  s->text.len, e) != PLAYLIST_OK)
            return false;
        *done = true; /* vars hold copies of the names: s->text may be reused */
        for (int pass = 0; pass < 2; pass++)
            for (size_t i = 0; *done && i < m.variant_count; i++)
                if ((strcmp(vars[i].rendition, x->pm.rendition) == 0) == (pass == 0) &&
                    !ingest_playlist_done(done, x, s, vars[i].rendition, vars[i].name, e))
                    return false;
        return true;
    }
    if (r != PATH_ERR_NOT_FOUND)
        return false;
    size_t count = 0;
    ingest_scan(names, INGEST_PLAYLISTS_MAX, &count, x, PATH_KIND_MEDIA_PLAYLIST);
    *done = count >= 1 && count <= INGEST_PLAYLISTS_MAX;
    for (size_t i = 0; *done && i < count; i++)
        if (!ingest_playlist_done(done, x, s, x->pm.rendition, names[i], e))
            return false;
    return true;
}

/* After an upload was stored: ends the recording once it is complete. A
 * stored playlist that cannot be read is logged, not answered (the upload
 * itself is stored); false after answering 503 when the end cannot be
 * recorded. */
static bool ingest_end_if_complete(struct ingest *x)
{
    struct ingest_scratch s = {.segs =
                                   calloc(PLAYLIST_SEGMENTS_MAX, sizeof(struct playlist_segment))};
    struct err e = {0};
    bool done = false;
    buf_init(&s.text, PLAYLIST_BYTES_MAX);
    bool ok = s.segs != NULL && ingest_complete(&done, x, &s, &e);
    free(s.segs);
    buf_release(&s.text);
    if (!ok) {
        log_write(&x->g->log, LOG_ERROR, "recording end undecided",
                  LOG_KVS(log_str("stream", x->pm.stream_id), log_str("error", e.msg)));
        return true;
    }
    if (!done)
        return true;
    enum store_result r = store_recording_end(x->pc, x->pm.stream_id, &e);
    if (r != STORE_OK)
        return ingest_store_fail(x, r, &e);
    log_write(&x->g->log, LOG_INFO, "recording ended", LOG_KVS(log_str("stream", x->pm.stream_id)));
    return true;
}

/* The stream's directory, created when missing, opened O_NOFOLLOW and
 * locked (flock LOCK_EX, released by closing the fd): serializes the
 * playlist updates of a stream across threads and gateway processes. -1
 * when it cannot. */
static int ingest_lock_stream(const struct ingest *x)
{
    if (mkdirat(x->g->media_dir_fd, x->pm.stream_id, PATH_DIR_MODE) == 0)
        (void)fsync(x->g->media_dir_fd);
    else if (errno != EEXIST)
        return -1;
    int fd = gw_media_dir_open(x->g->media_dir_fd, x->pm.stream_id, "");
    if (fd >= 0 && flock(fd, LOCK_EX) != 0) {
        close(fd);
        fd = -1;
    }
    return fd;
}

/* Whether the stored media playlist at x->pm.rel is newer than pl: it
 * lists segments further on, or as far with #EXT-X-ENDLIST when pl has
 * none. A stored playlist that cannot be read or parsed is not newer. */
static bool ingest_playlist_stale(struct ingest *x, const struct playlist_media *pl,
                                  struct playlist_segment *segs)
{
    uint64_t end = pl->media_sequence_first + pl->segment_count;
    bool ended = pl->ended, stale = false;
    struct playlist_media old;
    struct buf text;
    buf_init(&text, PLAYLIST_BYTES_MAX);
    if (gw_media_read(&text, x->g->media_dir_fd, x->pm.rel, PLAYLIST_BYTES_MAX, NULL) == PATH_OK &&
        playlist_parse_media(&old, segs, PLAYLIST_SEGMENTS_MAX, (const char *)text.data, text.len,
                             NULL) == PLAYLIST_OK) {
        uint64_t old_end = old.media_sequence_first + old.segment_count;
        stale = end < old_end || (end == old_end && old.ended && !ended);
    }
    buf_release(&text);
    return stale;
}

/* Opens the recording and stores the media playlist, unless a newer version
 * is stored: ffmpeg does not wait for answers, so two versions of a playlist
 * can be in flight at once and the older must not land last (nor count as
 * an upload after the end). */
static bool ingest_store_playlist(struct ingest *x, const struct playlist_media *pl,
                                  struct playlist_segment *segs)
{
    int lock_fd = ingest_lock_stream(x);
    if (lock_fd < 0)
        return ingest_fail(x, PROBLEM_INTERNAL, "cannot lock the stream's directory");
    bool ok = !ingest_playlist_stale(x, pl, segs)
                  ? ingest_open_recording(x) && ingest_write(x)
                  : ingest_fail(x, PROBLEM_CONFLICT,
                                "a newer version of this playlist is stored: this one is older");
    close(lock_fd);
    return ok;
}

static bool ingest_media_playlist(struct ingest *x)
{
    struct playlist_segment *segs = calloc(PLAYLIST_SEGMENTS_MAX, sizeof *segs);
    if (segs == NULL)
        return ingest_fail(x, PROBLEM_INTERNAL, "out of memory");
    struct playlist_media pl;
    struct err e = {0};
    uint32_t index = 0;
    enum playlist_result pr = playlist_parse_media(
        &pl, segs, PLAYLIST_SEGMENTS_MAX, (const char *)x->req->body, x->req->body_len, &e);
    bool ok = pr == PLAYLIST_OK ||
              ingest_fail(x, ingest_playlist_kind(pr), "media playlist refused: %s", e.msg);
    ok = ok && ingest_index(&index, x) && ingest_store_playlist(x, &pl, segs);
    if (ok && pl.ended)
        ok = ingest_end_if_complete(x);
    free(segs);
    return ok;
}

/* The rendition's one stored init*.mp4 (for its .m4s segments) into out;
 * false after answering 409 (none, several, unreadable). */
static bool ingest_load_init(struct buf *out, struct ingest *x)
{
    char found[1][PATH_NAME_BYTES_MAX + 1], rel[PATH_REL_BYTES_MAX + 1];
    size_t count = 0;
    struct err e = {0};
    /* ffmpeg finishes uploading the init segment concurrently with the
     * first .m4s: give it a moment. */
    for (uint32_t waited_ms = 0;; waited_ms += INGEST_INIT_POLL_MS) {
        ingest_scan(found, 1, &count, x, PATH_KIND_INIT);
        if (count > 0 || waited_ms >= INGEST_INIT_WAIT_MS)
            break;
        clock_sleep_ms(INGEST_INIT_POLL_MS);
    }
    if (count != 1)
        return ingest_fail(x, PROBLEM_CONFLICT, "%s",
                           count == 0 ? "upload the rendition's init segment (EXT-X-MAP) first"
                                      : "the rendition has several init segments");
    int n = snprintf(rel, sizeof rel, "%s/%s/%s", x->pm.stream_id, x->pm.rendition, found[0]);
    ASSERT(n > 0 && (size_t)n < sizeof rel);
    if (gw_media_read(out, x->g->media_dir_fd, rel, INGEST_INIT_BYTES_MAX, &e) != PATH_OK)
        return ingest_fail(x, PROBLEM_CONFLICT, "the rendition's init segment is unreadable");
    return true;
}

/* libavformat must demux the body (with its init segment for .m4s). */
static bool ingest_check_segment(struct media_info *info, struct ingest *x)
{
    const char *name = x->pm.name;
    size_t len = strlen(name);
    bool fragment = len > 4 && strcmp(name + len - 4, ".m4s") == 0;
    struct buf init;
    struct err e = {0};
    buf_init(&init, INGEST_INIT_BYTES_MAX);
    bool ok = !fragment || ingest_load_init(&init, x);
    enum media_result mr = MEDIA_OK;
    if (ok)
        mr = media_check_segment(info, init.len > 0 ? init.data : NULL, init.len, x->req->body,
                                 x->req->body_len, &e);
    buf_release(&init);
    if (ok && mr != MEDIA_OK)
        ok = ingest_fail(x, mr == MEDIA_ERR_TOO_BIG ? PROBLEM_BODY_TOO_LARGE : PROBLEM_BAD_REQUEST,
                         "not a media segment: %s", e.msg);
    return ok;
}

/* Records the segment (sha256 of the body) in PostgreSQL. */
static bool ingest_record(struct ingest *x, uint32_t index, uint64_t sequence,
                          const struct media_info *info)
{
    struct store_segment s;
    struct err e = {0};
    memset(&s, 0, sizeof s);
    snprintf(s.stream_id, sizeof s.stream_id, "%s", x->pm.stream_id);
    snprintf(s.rendition, sizeof s.rendition, "%s", x->pm.rendition);
    snprintf(s.name, sizeof s.name, "%s", x->pm.name);
    s.rendition_index = index;
    s.media_sequence = sequence;
    s.bytes = x->req->body_len;
    s.duration_us = info->duration_us;
    if (crypto_sha256(s.sha256, x->req->body, x->req->body_len, &e) != CRYPTO_OK)
        return ingest_fail(x, PROBLEM_INTERNAL, "cannot hash the segment");
    enum store_result r = store_segment_record(x->pc, &s, &e);
    return r == STORE_OK || ingest_store_fail(x, r, &e);
}

static bool ingest_segment(struct ingest *x)
{
    uint64_t sequence = 0;
    uint32_t index = 0;
    struct media_info info;
    if (!gw_ingest_sequence_of_name(&sequence, x->pm.name, strlen(x->pm.name)))
        return ingest_fail(x, PROBLEM_BAD_REQUEST,
                           "segment name '%s' does not end in its media sequence number "
                           "(<stem><N>.<ext>, as ffmpeg's index<N>.ts)",
                           x->pm.name);
    bool ok = ingest_check_segment(&info, x) && ingest_index(&index, x) &&
              ingest_open_recording(x) && ingest_record(x, index, sequence, &info) &&
              ingest_write(x);
    if (ok && x->g->m.ingest_segments != NULL)
        http_metric_add(x->g->m.ingest_segments, 1);
    return ok && ingest_end_if_complete(x); /* it may be the last one a final playlist lists */
}

static bool ingest_init(struct ingest *x)
{
    const uint8_t *body = x->req->body;
    size_t len = x->req->body_len;
    struct media_info info;
    struct err e = {0};
    uint32_t index = 0;
    if (len > INGEST_INIT_BYTES_MAX)
        return ingest_fail(x, PROBLEM_BODY_TOO_LARGE, "init segments are at most %zu bytes",
                           INGEST_INIT_BYTES_MAX);
    enum media_result mr = media_check_init(&info, body, len, &e);
    if (mr != MEDIA_OK)
        return ingest_fail(x, PROBLEM_BAD_REQUEST, "not an init segment: %s", e.msg);
    if (!ingest_index(&index, x))
        return false;
    struct buf old;
    buf_init(&old, INGEST_INIT_BYTES_MAX);
    enum path_result r = gw_media_read(&old, x->g->media_dir_fd, x->pm.rel, len, &e);
    bool differs = r != PATH_ERR_NOT_FOUND &&
                   (r != PATH_OK || old.len != len || memcmp(old.data, body, len) != 0);
    buf_release(&old);
    if (differs)
        return ingest_fail(x, PROBLEM_CONFLICT, "init segment '%s' is stored with other content",
                           x->pm.name);
    return ingest_open_recording(x) && ingest_write(x);
}

void gw_handle_ingest(struct http_response *resp, const struct http_request *req, void *ctx)
{
    struct ingest x = {.g = ctx, .resp = resp, .req = req};
    bool ok = ingest_authorize(&x);
    if (ok && !gw_media_path(&x.pm, resp, req)) {
        log_write(&x.g->log, LOG_WARN, "ingest refused",
                  LOG_KVS(log_str("req", req->request_id), log_str("path", req->path),
                          log_i64("status", 400)));
        ok = false;
    }
    if (ok) {
        enum path_kind k = x.pm.kind;
        ASSERT(k != PATH_KIND_NONE); /* path_parse_media allowed one of the four */
        ok = k == PATH_KIND_MASTER           ? ingest_master(&x)
             : k == PATH_KIND_MEDIA_PLAYLIST ? ingest_media_playlist(&x)
             : k == PATH_KIND_SEGMENT        ? ingest_segment(&x)
                                             : ingest_init(&x);
    }
    if (x.slot != NULL)
        respool_release(&x.g->pool, x.slot);
    if (!ok && x.g->m.ingest_rejected != NULL)
        http_metric_add(x.g->m.ingest_rejected, 1);
}

void gw_handle_ingest_check(struct http_response *resp, const struct http_request *req, void *ctx)
{
    struct ingest x = {.g = ctx, .resp = resp, .req = req};
    bool ok = ingest_authorize(&x);
    if (x.slot != NULL)
        respool_release(&x.g->pool, x.slot);
    if (ok) {
        http_reply_header(resp, "Cache-Control", "no-store");
        http_reply_empty(resp, 204);
    }
}
