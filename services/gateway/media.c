/* media.c - see media.h. */
#include "media.h"

#include <libavformat/avformat.h>
#include <libavutil/avstring.h>
#include <libavutil/avutil.h>
#include <libavutil/log.h>
#include <libavutil/mathematics.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define MEDIA_AVIO_BUFFER_BYTES 32768
#define MEDIA_TS_PACKET_BYTES 188
#define MEDIA_TS_SYNC 0x47
#define MEDIA_MP4_BOX_HEADER_BYTES 8
#define MEDIA_MP4_BOXES_MAX 100000

/* The bytes to demux: a[0..a_len) then b[0..b_len), read from pos. */
struct media_src {
    const uint8_t *a;
    size_t a_len;
    const uint8_t *b;
    size_t b_len;
    size_t pos;
};

/* Timestamps of one stream, in its time base. */
struct media_span {
    bool seen;
    int64_t first;
    int64_t end;
};

/* What one check does with libav; released by media_job_release(). */
struct media_job {
    struct media_src src;
    const char *container; /* the MEDIA_FORMATS entry detected */
    const AVInputFormat *fmt;
    AVIOContext *avio;
    AVFormatContext *ctx;
    AVPacket *pkt;
    struct media_span spans[MEDIA_STREAMS_MAX];
};

static pthread_once_t media_log_once = PTHREAD_ONCE_INIT;

static void media_log_quiet(void);
static size_t media_src_len(const struct media_src *s);
static void media_src_copy(uint8_t *out, const struct media_src *s, size_t off, size_t n);
static int media_read(void *opaque, uint8_t *buf, int buf_size);
static int64_t media_seek(void *opaque, int64_t offset, int whence);
static int media_io_open_refused(AVFormatContext *s, AVIOContext **pb, const char *url, int flags,
                                 AVDictionary **options);
static enum media_result media_av_err(struct err *e, enum media_result code, const char *what,
                                      int av_err);
static enum media_result media_detect(struct media_job *job, struct err *e);
static bool media_ts_framed(const uint8_t *p, size_t len);
static bool media_mp4_framed(const uint8_t *p, size_t len);
static enum media_result media_check_framing(const struct media_job *job, struct err *e);
static enum media_result media_open(struct media_job *job, struct err *e);
static enum media_result media_count_streams(struct media_info *out, const AVFormatContext *ctx,
                                             struct err *e);
static void media_span_add(struct media_span *sp, const AVPacket *pkt);
static enum media_result media_read_packets(struct media_info *out, struct media_job *job,
                                            struct err *e);
static uint64_t media_duration_us(const struct media_job *job);
static void media_job_release(struct media_job *job);
static enum media_result media_check(struct media_info *out, struct media_job *job,
                                     bool want_packets, struct err *e);

static void media_log_quiet(void)
{
    av_log_set_level(AV_LOG_QUIET);
}

static size_t media_src_len(const struct media_src *s)
{
    return s->a_len + s->b_len;
}

/* Copies n bytes at offset off of the concatenation a || b. */
static void media_src_copy(uint8_t *out, const struct media_src *s, size_t off, size_t n)
{
    ASSERT(off <= media_src_len(s) && n <= media_src_len(s) - off);
    if (off < s->a_len) {
        size_t k = n < s->a_len - off ? n : s->a_len - off;
        memcpy(out, s->a + off, k);
        out += k;
        off += k;
        n -= k;
    }
    if (n > 0)
        memcpy(out, s->b + (off - s->a_len), n);
}

static int media_read(void *opaque, uint8_t *buf, int buf_size)
{
    struct media_src *s = opaque;
    size_t total = media_src_len(s);
    if (s->pos >= total || buf_size <= 0)
        return AVERROR_EOF;
    size_t n = total - s->pos < (size_t)buf_size ? total - s->pos : (size_t)buf_size;
    media_src_copy(buf, s, s->pos, n);
    s->pos += n;
    return (int)n;
}

static int64_t media_seek(void *opaque, int64_t offset, int whence)
{
    struct media_src *s = opaque;
    int64_t total = (int64_t)media_src_len(s), base = 0;
    switch (whence & ~AVSEEK_FORCE) {
    case AVSEEK_SIZE:
        return total;
    case SEEK_SET:
        base = 0;
        break;
    case SEEK_CUR:
        base = (int64_t)s->pos;
        break;
    case SEEK_END:
        base = total;
        break;
    default:
        return AVERROR(EINVAL);
    }
    if ((offset < 0 && offset < -base) || (offset > 0 && offset > total - base))
        return AVERROR(EINVAL);
    s->pos = (size_t)(base + offset);
    return base + offset;
}

/* Demuxers that would open another resource (mov references, playlists) get nothing. */
static int media_io_open_refused(AVFormatContext *s, AVIOContext **pb, const char *url, int flags,
                                 AVDictionary **options)
{
    (void)s;
    (void)pb;
    (void)url;
    (void)flags;
    (void)options;
    return AVERROR(EPERM);
}

static enum media_result media_av_err(struct err *e, enum media_result code, const char *what,
                                      int av_err)
{
    char msg[AV_ERROR_MAX_STRING_SIZE] = "";
    if (av_strerror(av_err, msg, sizeof msg) != 0)
        snprintf(msg, sizeof msg, "libav error %d", av_err);
    return (enum media_result)err_set(e, code, "%s: %s", what, msg);
}

/* Detects the format on the first MEDIA_PROBE_BYTES_MAX bytes; it must be allowed. */
static enum media_result media_detect(struct media_job *job, struct err *e)
{
    size_t total = media_src_len(&job->src);
    size_t n = total < MEDIA_PROBE_BYTES_MAX ? total : MEDIA_PROBE_BYTES_MAX;
    uint8_t *buf = calloc(1, n + AVPROBE_PADDING_SIZE);
    if (buf == NULL)
        return (enum media_result)err_set(e, MEDIA_ERR_NOMEM, "out of memory probing a segment");
    media_src_copy(buf, &job->src, 0, n);
    AVProbeData pd = {.filename = "", .buf = buf, .buf_size = (int)n, .mime_type = NULL};
    int score = 0;
    const AVInputFormat *fmt = av_probe_input_format3(&pd, 1, &score);
    free(buf);
    if (fmt == NULL || score <= AVPROBE_SCORE_RETRY)
        return (enum media_result)err_set(e, MEDIA_ERR_UNKNOWN_FORMAT,
                                          "segment is not in a recognised media format");
    static const char *const allowed[] = {"mpegts", "mov", "aac", "webvtt"};
    for (size_t i = 0; i < sizeof allowed / sizeof allowed[0]; i++) {
        if (av_match_name(allowed[i], fmt->name)) {
            job->container = allowed[i];
            job->fmt = fmt;
            return MEDIA_OK;
        }
    }
    return (enum media_result)err_set(e, MEDIA_ERR_FORMAT_NOT_ALLOWED,
                                      "segment format '%.40s' is not allowed", fmt->name);
}

static bool media_ts_framed(const uint8_t *p, size_t len)
{
    if (len == 0 || len % MEDIA_TS_PACKET_BYTES != 0)
        return false;
    for (size_t off = 0; off < len; off += MEDIA_TS_PACKET_BYTES)
        if (p[off] != MEDIA_TS_SYNC)
            return false;
    return true;
}

/* Top-level ISO BMFF boxes (32-bit size, 64-bit largesize, 0 = to the end) tile p exactly. */
static bool media_mp4_framed(const uint8_t *p, size_t len)
{
    size_t off = 0;
    for (int i = 0; i < MEDIA_MP4_BOXES_MAX && off < len; i++) {
        if (len - off < MEDIA_MP4_BOX_HEADER_BYTES)
            return false;
        uint64_t size = ((uint64_t)p[off] << 24) | ((uint64_t)p[off + 1] << 16) |
                        ((uint64_t)p[off + 2] << 8) | p[off + 3];
        if (size == 1) {
            if (len - off < 16)
                return false;
            size = 0;
            for (int k = 0; k < 8; k++)
                size = (size << 8) | p[off + 8 + (size_t)k];
            if (size < 16)
                return false;
        } else if (size == 0) {
            size = len - off;
        } else if (size < MEDIA_MP4_BOX_HEADER_BYTES) {
            return false;
        }
        if (size > len - off)
            return false;
        off += (size_t)size;
    }
    return off == len;
}

static enum media_result media_check_framing(const struct media_job *job, struct err *e)
{
    const struct media_src *s = &job->src;
    bool ok = true;
    if (strcmp(job->container, "mpegts") == 0)
        ok = s->a_len == 0 && media_ts_framed(s->b, s->b_len);
    else if (strcmp(job->container, "mov") == 0)
        ok =
            (s->a_len == 0 || media_mp4_framed(s->a, s->a_len)) && media_mp4_framed(s->b, s->b_len);
    if (ok)
        return MEDIA_OK;
    return (enum media_result)err_set(e, MEDIA_ERR_TRUNCATED,
                                      "%s segment of %zu bytes is truncated or not framed",
                                      job->container, s->b_len);
}

static enum media_result media_open(struct media_job *job, struct err *e)
{
    uint8_t *iobuf = av_malloc(MEDIA_AVIO_BUFFER_BYTES);
    if (iobuf != NULL)
        job->avio = avio_alloc_context(iobuf, MEDIA_AVIO_BUFFER_BYTES, 0, &job->src, media_read,
                                       NULL, media_seek);
    if (job->avio == NULL)
        av_free(iobuf);
    job->ctx = job->avio != NULL ? avformat_alloc_context() : NULL;
    job->pkt = job->ctx != NULL ? av_packet_alloc() : NULL;
    if (job->pkt == NULL)
        return (enum media_result)err_set(e, MEDIA_ERR_NOMEM, "out of memory opening a segment");
    job->ctx->pb = job->avio;
    job->ctx->flags |= AVFMT_FLAG_CUSTOM_IO;
    job->ctx->io_open = media_io_open_refused;
    AVDictionary *opts = NULL;
    av_dict_set(&opts, "format_whitelist", MEDIA_FORMATS, 0);
    av_dict_set(&opts, "protocol_whitelist", "", 0);
    av_dict_set_int(&opts, "probesize", MEDIA_INFO_BYTES_MAX, 0);
    av_dict_set_int(&opts, "analyzeduration", MEDIA_ANALYZE_US_MAX, 0);
    av_dict_set_int(&opts, "max_streams", MEDIA_STREAMS_MAX, 0);
    int rc = avformat_open_input(&job->ctx, "", job->fmt, &opts);
    av_dict_free(&opts);
    if (rc < 0) /* the context is freed and NULL; the custom AVIO stays ours */
        return media_av_err(e, MEDIA_ERR_CORRUPT, "cannot open segment", rc);
    rc = avformat_find_stream_info(job->ctx, NULL);
    if (rc < 0)
        return media_av_err(e, MEDIA_ERR_CORRUPT, "cannot read stream info", rc);
    return MEDIA_OK;
}

static enum media_result media_count_streams(struct media_info *out, const AVFormatContext *ctx,
                                             struct err *e)
{
    if (ctx->nb_streams > MEDIA_STREAMS_MAX)
        return (enum media_result)err_set(e, MEDIA_ERR_CORRUPT, "segment has %u streams (max %d)",
                                          ctx->nb_streams, MEDIA_STREAMS_MAX);
    out->stream_count = ctx->nb_streams;
    for (unsigned i = 0; i < ctx->nb_streams; i++) {
        enum AVMediaType t = ctx->streams[i]->codecpar->codec_type;
        out->video_count += t == AVMEDIA_TYPE_VIDEO;
        out->audio_count += t == AVMEDIA_TYPE_AUDIO;
    }
    if (out->video_count + out->audio_count == 0)
        return (enum media_result)err_set(e, MEDIA_ERR_NO_STREAMS,
                                          "segment has no audio or video stream");
    return MEDIA_OK;
}

static void media_span_add(struct media_span *sp, const AVPacket *pkt)
{
    int64_t ts = pkt->pts != AV_NOPTS_VALUE ? pkt->pts : pkt->dts;
    if (ts == AV_NOPTS_VALUE)
        return;
    int64_t dur = pkt->duration > 0 ? pkt->duration : 0;
    int64_t end = ts > INT64_MAX - dur ? INT64_MAX : ts + dur;
    if (!sp->seen || ts < sp->first)
        sp->first = ts;
    if (!sp->seen || end > sp->end)
        sp->end = end;
    sp->seen = true;
}

static enum media_result media_read_packets(struct media_info *out, struct media_job *job,
                                            struct err *e)
{
    for (;;) { /* bounded by MEDIA_PACKETS_MAX */
        int rc = av_read_frame(job->ctx, job->pkt);
        if (rc == AVERROR_EOF)
            return MEDIA_OK;
        if (rc < 0)
            return media_av_err(e, MEDIA_ERR_CORRUPT, "cannot read a packet", rc);
        int corrupt = job->pkt->flags & AV_PKT_FLAG_CORRUPT;
        int idx = job->pkt->stream_index;
        if (idx >= 0 && idx < MEDIA_STREAMS_MAX)
            media_span_add(&job->spans[idx], job->pkt);
        av_packet_unref(job->pkt);
        if (corrupt)
            return (enum media_result)err_set(e, MEDIA_ERR_CORRUPT, "packet %llu is corrupt",
                                              (unsigned long long)out->packet_count);
        if (++out->packet_count > MEDIA_PACKETS_MAX)
            return (enum media_result)err_set(e, MEDIA_ERR_CORRUPT, "more than %d packets",
                                              MEDIA_PACKETS_MAX);
    }
}

/* Longest video span, else longest audio span, else the container's duration. */
static uint64_t media_duration_us(const struct media_job *job)
{
    int64_t best[2] = {-1, -1}; /* video, audio */
    for (unsigned i = 0; i < job->ctx->nb_streams && i < MEDIA_STREAMS_MAX; i++) {
        const AVStream *st = job->ctx->streams[i];
        const struct media_span *sp = &job->spans[i];
        enum AVMediaType t = st->codecpar->codec_type;
        if (!sp->seen || (t != AVMEDIA_TYPE_VIDEO && t != AVMEDIA_TYPE_AUDIO))
            continue;
        if (sp->first < 0 && sp->end > INT64_MAX + sp->first)
            continue;
        int64_t us = av_rescale_q(sp->end - sp->first, st->time_base, AV_TIME_BASE_Q);
        int k = t == AVMEDIA_TYPE_VIDEO ? 0 : 1;
        if (us >= 0 && us > best[k])
            best[k] = us;
    }
    if (best[0] >= 0)
        return (uint64_t)best[0];
    if (best[1] >= 0)
        return (uint64_t)best[1];
    return job->ctx->duration > 0 ? (uint64_t)job->ctx->duration : 0;
}

static void media_job_release(struct media_job *job)
{
    av_packet_free(&job->pkt);
    avformat_close_input(&job->ctx); /* frees a NULL context too; never the custom AVIO */
    if (job->avio != NULL)
        av_freep(&job->avio->buffer);
    avio_context_free(&job->avio);
}

static enum media_result media_check(struct media_info *out, struct media_job *job,
                                     bool want_packets, struct err *e)
{
    pthread_once(&media_log_once, media_log_quiet);
    memset(out, 0, sizeof *out);
    size_t total = media_src_len(&job->src);
    if (job->src.b_len == 0)
        return (enum media_result)err_set(e, MEDIA_ERR_EMPTY, "empty segment");
    if (total > MEDIA_SEGMENT_BYTES_MAX)
        return (enum media_result)err_set(e, MEDIA_ERR_TOO_BIG,
                                          "segment too big: %zu bytes (max %zu)", total,
                                          MEDIA_SEGMENT_BYTES_MAX);
    enum media_result r = media_detect(job, e);
    if (r == MEDIA_OK)
        r = media_check_framing(job, e);
    if (r == MEDIA_OK)
        r = media_open(job, e);
    if (r == MEDIA_OK)
        r = media_count_streams(out, job->ctx, e);
    if (r == MEDIA_OK)
        r = media_read_packets(out, job, e);
    if (r == MEDIA_OK && want_packets && out->packet_count == 0)
        r = (enum media_result)err_set(e, MEDIA_ERR_NO_PACKETS, "segment has no packet");
    if (r == MEDIA_OK) {
        out->duration_us = media_duration_us(job);
        snprintf(out->container, sizeof out->container, "%s", job->container);
    }
    media_job_release(job);
    return r;
}

enum media_result media_check_segment(struct media_info *out, const uint8_t *init, size_t init_len,
                                      const uint8_t *data, size_t data_len, struct err *e)
{
    struct media_job job = {.src = {.a = init,
                                    .a_len = init != NULL ? init_len : 0,
                                    .b = data,
                                    .b_len = data != NULL ? data_len : 0}};
    return media_check(out, &job, true, e);
}

enum media_result media_check_init(struct media_info *out, const uint8_t *data, size_t data_len,
                                   struct err *e)
{
    struct media_job job = {.src = {.b = data, .b_len = data != NULL ? data_len : 0}};
    enum media_result r = media_check(out, &job, false, e);
    if (r == MEDIA_OK && strcmp(out->container, "mov") != 0)
        return (enum media_result)err_set(e, MEDIA_ERR_FORMAT_NOT_ALLOWED,
                                          "init segment is '%s', not mp4", out->container);
    return r;
}
