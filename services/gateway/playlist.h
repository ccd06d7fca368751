/*
 * playlist.h - bounded HLS playlist handling (RFC 8216): parsing what an
 * encoder uploads (media and master playlists) and rewriting a playlist for a
 * viewer with a token on every URI.
 *
 * Text rules shared by every function: the input has an explicit length and
 * at most PLAYLIST_BYTES_MAX bytes; its first line is exactly "#EXTM3U";
 * lines end in LF or CR LF (the last line may have no terminator), hold at
 * most PLAYLIST_LINE_BYTES_MAX bytes and number at most PLAYLIST_LINES_MAX;
 * no byte is a control character (0x00-0x1f, 0x7f) other than that CR and LF.
 * A line is blank, a tag ("#EXT..."), a comment (any other "#...") or a URI.
 * Attribute lists follow RFC 8216 4.2 strictly: NAME=value pairs joined by
 * ',', NAME in [A-Z0-9-], value a "quoted string" or a non-empty run without
 * ',' or '"'.
 *
 * Numbers: durations are decimal text "<int>[.<frac>]" turned into
 * microseconds with integer arithmetic only (digits past the sixth fraction
 * digit are dropped: 1.0000009 is 1000000 us). No floating point anywhere.
 *
 * Ownership: the caller allocates every output (segment and variant arrays,
 * the struct buf); nothing here allocates except through buf_append().
 * Thread safety: reentrant, no state.
 */
#ifndef GATEWAY_PLAYLIST_H
#define GATEWAY_PLAYLIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "check.h"
#include "err.h"
#include "path.h"

#define PLAYLIST_BYTES_MAX ((size_t)1 << 20)
#define PLAYLIST_LINES_MAX 131072
#define PLAYLIST_LINE_BYTES_MAX 4096
#define PLAYLIST_SEGMENTS_MAX 32768 /* EXTINF entries in one playlist */
#define PLAYLIST_VARIANTS_MAX 32    /* renditions in one master playlist */
#define PLAYLIST_TOKEN_BYTES_MAX 512
#define PLAYLIST_TARGET_DURATION_S_MAX 86400
#define PLAYLIST_DURATION_US_MAX (86400ULL * 1000000ULL) /* one #EXTINF */
#define PLAYLIST_MEDIA_SEQUENCE_MAX ((uint64_t)1 << 62)

/* Stable result codes; numbers are never reused. */
enum playlist_result {
    PLAYLIST_OK = 0,
    PLAYLIST_ERR_TOO_BIG = 1,           /* input over PLAYLIST_BYTES_MAX */
    PLAYLIST_ERR_TOO_MANY_LINES = 2,    /* over PLAYLIST_LINES_MAX */
    PLAYLIST_ERR_LINE_TOO_LONG = 3,     /* a line over PLAYLIST_LINE_BYTES_MAX */
    PLAYLIST_ERR_TOO_MANY_SEGMENTS = 4, /* over the caller's array or the named maximum */
    PLAYLIST_ERR_NOT_M3U = 5,           /* first line is not "#EXTM3U" (or the input is empty) */
    PLAYLIST_ERR_BAD_CHAR = 6,          /* a control byte, NUL or a CR not before LF */
    PLAYLIST_ERR_BAD_TAG = 7,           /* a known tag with a malformed value */
    PLAYLIST_ERR_BAD_ATTRS = 8,         /* a malformed attribute list, or URI= not quoted */
    PLAYLIST_ERR_BAD_URI = 9,           /* a URI not in the media allow-list (path.h) */
    PLAYLIST_ERR_ABSOLUTE_URI = 10,     /* a URI with a scheme or a leading '/' or '\' */
    PLAYLIST_ERR_MISSING_TAG = 11,      /* required tag absent: TARGETDURATION, EXTINF before a
                                           URI, STREAM-INF before a URI, no variant at all */
    PLAYLIST_ERR_MISSING_URI = 12,      /* EXTINF or STREAM-INF not followed by its URI */
    PLAYLIST_ERR_WRONG_KIND = 13,       /* master tags in a media playlist or the reverse */
    PLAYLIST_ERR_DUPLICATE = 14,        /* a tag that may appear once appears again; a
                                           rendition listed under two names */
    PLAYLIST_ERR_ORDER = 15,            /* MEDIA-SEQUENCE after an EXTINF; a segment after
                                           ENDLIST */
    PLAYLIST_ERR_UNSUPPORTED = 16,      /* byte ranges, encryption, a second different
                                           EXT-X-MAP, I-frame playlists (ingest only) */
    PLAYLIST_ERR_BAD_TOKEN = 17,        /* token empty, too long or not URL-safe */
    PLAYLIST_ERR_OUT_TOO_BIG = 18,      /* the output buffer's maximum was reached */
    PLAYLIST_ERR_NOMEM = 19
};

/* ---- media playlists (ingest) ---------------------------------------------- */

struct playlist_segment {
    uint64_t media_sequence;
    uint64_t duration_us; /* #EXTINF, at most PLAYLIST_DURATION_US_MAX */
    char name[PATH_NAME_BYTES_MAX + 1];
};

struct playlist_media {
    uint64_t target_duration_s;
    uint64_t media_sequence_first; /* #EXT-X-MEDIA-SEQUENCE, 0 when absent */
    bool ended;                    /* #EXT-X-ENDLIST seen */
    bool has_map;
    char map_name[PATH_NAME_BYTES_MAX + 1]; /* #EXT-X-MAP URI, "" without one */
    struct playlist_segment *segments;      /* the caller's array */
    size_t segment_count;
};

/* Parses an uploaded media playlist into *out, whose segments point into the
 * caller's segs[0..segs_cap) (at most PLAYLIST_SEGMENTS_MAX are used).
 * Requires #EXT-X-TARGETDURATION (integer seconds); #EXT-X-MEDIA-SEQUENCE,
 * if present, comes before the first #EXTINF and numbers that segment; each #EXTINF
 * is followed (maybe after other tags) by one URI, which must be a bare
 * segment file name that path_classify_name() calls PATH_KIND_SEGMENT
 * ("index3.ts"; no '/', no "..", no query, no scheme). #EXT-X-MAP needs a
 * quoted URI of PATH_KIND_INIT and no BYTERANGE; a repeat must name the same
 * file. Unsupported for ingest: #EXT-X-BYTERANGE, #EXT-X-KEY other than
 * METHOD=NONE. Other tags (VERSION, PLAYLIST-TYPE, PROGRAM-DATE-TIME,
 * DISCONTINUITY, ...) and comments are ignored. *out is meaningful only on
 * PLAYLIST_OK. Returns PLAYLIST_OK or the first error (e gets a message with
 * the line number). */
WUR enum playlist_result playlist_parse_media(struct playlist_media *out,
                                              struct playlist_segment *segs, size_t segs_cap,
                                              const char *text, size_t text_len, struct err *e);

/* ---- master playlists (ingest) --------------------------------------------- */

enum playlist_variant_kind {
    PLAYLIST_VARIANT_STREAM = 1, /* #EXT-X-STREAM-INF + URI line */
    PLAYLIST_VARIANT_MEDIA = 2   /* #EXT-X-MEDIA with a URI attribute (alternate audio...) */
};

/* One rendition of a master playlist. Offsets point into the parsed text. */
struct playlist_variant {
    enum playlist_variant_kind kind;
    char rendition[PATH_RENDITION_BYTES_MAX + 1]; /* "0", "720p" */
    char name[PATH_NAME_BYTES_MAX + 1];           /* "index.m3u8" */
    size_t uri_off, uri_len;                      /* the URI as written, e.g. "0/index.m3u8" */
    size_t attrs_off, attrs_len;                  /* the tag's attribute list, kept as written */
    uint64_t bandwidth;                           /* BANDWIDTH= of a STREAM-INF, else 0 */
};

struct playlist_master {
    struct playlist_variant *variants; /* the caller's array, in master order */
    size_t variant_count;
};

/* Parses a master playlist: every URI, in order, must be
 * "[./]<rendition>/<name>.m3u8" (rendition per path_is_rendition(), the name
 * a PATH_KIND_MEDIA_PLAYLIST); a URI seen before (ffmpeg lists an audio
 * group's playlist both in EXT-X-MEDIA and as a variant) adds nothing, and
 * one rendition under two names is PLAYLIST_ERR_DUPLICATE, so
 * variants[i].rendition is the rendition with index i, in first-seen order. A STREAM-INF needs a
 * valid attribute list (BANDWIDTH, when present, a decimal integer) and is
 * followed by its URI line (blank lines and comments may come between).
 * #EXT-X-I-FRAME-STREAM-INF is PLAYLIST_ERR_UNSUPPORTED; media-playlist tags
 * (EXTINF, TARGETDURATION, MEDIA-SEQUENCE, MAP, ENDLIST) are
 * PLAYLIST_ERR_WRONG_KIND. At least one variant is required. Uses at most
 * min(vars_cap, PLAYLIST_VARIANTS_MAX) entries. */
WUR enum playlist_result playlist_parse_master(struct playlist_master *out,
                                               struct playlist_variant *vars, size_t vars_cap,
                                               const char *text, size_t text_len, struct err *e);

/* ---- rewriting for viewers (origin) ---------------------------------------- */

enum playlist_verdict {
    PLAYLIST_KEEP = 0,    /* list the segment */
    PLAYLIST_DROP = 1,    /* leave out its #EXTINF line through its URI line; later
                             segments move up, so players number them differently */
    PLAYLIST_TRUNCATE = 2 /* end the output before this segment's #EXTINF (everything
                             after, #EXT-X-ENDLIST included, is left out) */
};

/* Called once per segment (a URI line after #EXTINF) with its media sequence
 * and its URI as written. */
struct playlist_filter {
    enum playlist_verdict (*verdict)(void *ctx, uint64_t media_sequence, const char *uri,
                                     size_t uri_len);
    void *ctx;
};

/* True when token[0..token_len) is 1..PLAYLIST_TOKEN_BYTES_MAX bytes of
 * [A-Za-z0-9._~-] (RFC 3986 unreserved: needs no escaping in a query). */
bool playlist_token_ok(const char *token, size_t token_len);

/* Appends to `out` the playlist text[0..text_len) (media or master) with
 * "token=<token>" added to every URI line and to the value of every URI="..."
 * attribute of EXT-X-MAP, -MEDIA, -KEY, -SESSION-KEY, -SESSION-DATA,
 * -I-FRAME-STREAM-INF, -PART, -PRELOAD-HINT and -RENDITION-REPORT: "?token=" or,
 * when the URI already has a query, "&token=", inserted before any '#'
 * fragment. Every other byte, line terminators included, is copied
 * unchanged. Absolute URIs are refused (PLAYLIST_ERR_ABSOLUTE_URI) so a token
 * never leaves this origin; an empty URI="" is PLAYLIST_ERR_BAD_URI.
 * filter (NULL: keep everything) decides per segment, see playlist_verdict;
 * #EXT-X-MEDIA-SEQUENCE (checked like playlist_parse_media) numbers them. A
 * dropped segment's URI is still checked, so a filter never changes the
 * result code except by PLAYLIST_TRUNCATE, after which nothing is read.
 * On error out->len is restored to its value at the call (the data past it
 * is unspecified). Returns PLAYLIST_OK, a text-rule code,
 * PLAYLIST_ERR_BAD_TOKEN, PLAYLIST_ERR_BAD_ATTRS, PLAYLIST_ERR_BAD_TAG,
 * PLAYLIST_ERR_ORDER, PLAYLIST_ERR_DUPLICATE, PLAYLIST_ERR_MISSING_URI,
 * PLAYLIST_ERR_TOO_MANY_SEGMENTS, PLAYLIST_ERR_BAD_URI,
 * PLAYLIST_ERR_ABSOLUTE_URI, PLAYLIST_ERR_OUT_TOO_BIG or PLAYLIST_ERR_NOMEM. */
WUR enum playlist_result playlist_rewrite(struct buf *out, const char *text, size_t text_len,
                                          const char *token, size_t token_len,
                                          const struct playlist_filter *filter, struct err *e);

/* ---- numbers ---------------------------------------------------------------- */

/* Parses a decimal duration "<digits>[.<digits>]" (no sign, no exponent, the
 * integer part at most PLAYLIST_DURATION_US_MAX / 1e6) into microseconds,
 * dropping fraction digits past the sixth. Returns false for anything else. */
bool playlist_duration_us(uint64_t *us_out, const char *text, size_t text_len);

#endif
