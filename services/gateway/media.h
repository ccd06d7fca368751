/*
 * media.h - validation of uploaded HLS segments with libavformat (FFmpeg).
 *
 * A segment is demuxed from memory only: a custom AVIOContext reads and seeks
 * over the caller's bytes; no file, no network (io_open is refused and the
 * protocol whitelist is empty). Detection runs first on at most
 * MEDIA_PROBE_BYTES_MAX bytes and the detected demuxer must be one of
 * MEDIA_FORMATS (so an m3u8 text, which libavformat calls "hls", a PNG or
 * anything else is MEDIA_ERR_FORMAT_NOT_ALLOWED, and bytes it cannot place
 * are MEDIA_ERR_UNKNOWN_FORMAT). Then avformat_find_stream_info() runs with
 * probesize MEDIA_INFO_BYTES_MAX and analyzeduration MEDIA_ANALYZE_US_MAX,
 * at least one audio or video stream is required, and every packet is read
 * (at most MEDIA_PACKETS_MAX): a read error or a packet flagged corrupt
 * rejects the segment. Framing is checked too, so a truncated body is
 * rejected: MPEG-TS must be whole 188-byte packets each starting with 0x47,
 * and MP4/fMP4 top-level boxes must tile the bytes exactly.
 *
 * Duration: from the packets' timestamps, per stream from the first
 * timestamp to the last one plus that packet's duration, rescaled to
 * microseconds with av_rescale_q() (integer arithmetic); the longest video
 * stream wins, else the longest audio stream; with no timestamps at all the
 * container's duration is used, else 0.
 *
 * Logging: libav's own log output is switched off (AV_LOG_QUIET) once per
 * process; the reasons reach the caller in `struct err`.
 * Thread safety: safe to call from several threads at once (each call has
 * its own contexts; the one-time log setup uses pthread_once).
 */
#ifndef GATEWAY_MEDIA_H
#define GATEWAY_MEDIA_H

#include <stddef.h>
#include <stdint.h>

#include "check.h"
#include "err.h"

#define MEDIA_SEGMENT_BYTES_MAX ((size_t)32 << 20) /* init + segment together */
#define MEDIA_PROBE_BYTES_MAX ((size_t)1 << 20)    /* bytes used to detect the format */
#define MEDIA_INFO_BYTES_MAX ((int64_t)5 << 20)    /* probesize for stream info */
#define MEDIA_ANALYZE_US_MAX ((int64_t)10000000)   /* analyzeduration: 10 s */
#define MEDIA_STREAMS_MAX 16
#define MEDIA_PACKETS_MAX 1000000
#define MEDIA_FORMATS "mpegts,mov,aac,webvtt" /* allowed demuxers (short names) */
#define MEDIA_CONTAINER_BYTES_MAX 16

/* Stable result codes; numbers are never reused. */
enum media_result {
    MEDIA_OK = 0,
    MEDIA_ERR_EMPTY = 1,              /* zero bytes */
    MEDIA_ERR_TOO_BIG = 2,            /* over MEDIA_SEGMENT_BYTES_MAX */
    MEDIA_ERR_UNKNOWN_FORMAT = 3,     /* detection recognised nothing (garbage) */
    MEDIA_ERR_FORMAT_NOT_ALLOWED = 4, /* recognised, but not one of MEDIA_FORMATS */
    MEDIA_ERR_TRUNCATED = 5,          /* container framing does not cover the bytes exactly */
    MEDIA_ERR_CORRUPT = 6,            /* the demuxer failed: open, stream info, a read error,
                                         a corrupt packet, too many streams or packets */
    MEDIA_ERR_NO_STREAMS = 7,         /* no audio or video stream */
    MEDIA_ERR_NO_PACKETS = 8,         /* streams but not one packet */
    MEDIA_ERR_NOMEM = 9
};

struct media_info {
    char container[MEDIA_CONTAINER_BYTES_MAX + 1]; /* the MEDIA_FORMATS entry: "mpegts", "mov"... */
    unsigned stream_count;                         /* all streams */
    unsigned video_count;
    unsigned audio_count;
    uint64_t packet_count;
    uint64_t duration_us;
};

/* Validates one media segment data[0..data_len). For an fMP4 segment (.m4s)
 * pass its init segment (the EXT-X-MAP file) as init[0..init_len): the two
 * are demuxed as one stream; otherwise init is NULL and init_len 0. On
 * MEDIA_OK *out describes the segment (packet_count >= 1); on failure *out
 * is unspecified and e (may be NULL) says why. */
WUR enum media_result media_check_segment(struct media_info *out, const uint8_t *init,
                                          size_t init_len, const uint8_t *data, size_t data_len,
                                          struct err *e);

/* Validates an fMP4 init segment (init*.mp4): like media_check_segment() on
 * data alone, but the container must be "mov" and no packet is required
 * (an init segment has none). */
WUR enum media_result media_check_init(struct media_info *out, const uint8_t *data, size_t data_len,
                                       struct err *e);

#endif
