/* playlist.c - see playlist.h. */
#include "playlist.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define PL_QUOTE_BYTES 64
#define PL_US_PER_S 1000000ULL
#define PL_FRACTION_DIGITS 6

/* The line reader: text[pos..len) is still to read. */
struct pl_reader {
    const char *text;
    size_t len;
    size_t pos;
    size_t line_no;
};

enum pl_tag {
    PL_TAG_OTHER,
    PL_TAG_TARGETDURATION,
    PL_TAG_MEDIA_SEQUENCE,
    PL_TAG_EXTINF,
    PL_TAG_ENDLIST,
    PL_TAG_BYTERANGE,
    PL_TAG_MAP,
    PL_TAG_KEY,
    PL_TAG_STREAM_INF,
    PL_TAG_MEDIA,
    PL_TAG_IFRAME,
    PL_TAG_URI_OTHER /* another tag whose attribute list may hold URI= */
};

struct pl_tag_info {
    const char *name;
    enum pl_tag tag;
    bool uri_attr; /* its attribute list may carry URI="..." */
};

static const struct pl_tag_info pl_tags[] = {
    {"#EXT-X-TARGETDURATION", PL_TAG_TARGETDURATION, false},
    {"#EXT-X-MEDIA-SEQUENCE", PL_TAG_MEDIA_SEQUENCE, false},
    {"#EXTINF", PL_TAG_EXTINF, false},
    {"#EXT-X-ENDLIST", PL_TAG_ENDLIST, false},
    {"#EXT-X-BYTERANGE", PL_TAG_BYTERANGE, false},
    {"#EXT-X-MAP", PL_TAG_MAP, true},
    {"#EXT-X-KEY", PL_TAG_KEY, true},
    {"#EXT-X-STREAM-INF", PL_TAG_STREAM_INF, false},
    {"#EXT-X-MEDIA", PL_TAG_MEDIA, true},
    {"#EXT-X-I-FRAME-STREAM-INF", PL_TAG_IFRAME, true},
    {"#EXT-X-SESSION-KEY", PL_TAG_URI_OTHER, true},
    {"#EXT-X-SESSION-DATA", PL_TAG_URI_OTHER, true},
    {"#EXT-X-PART", PL_TAG_URI_OTHER, true},
    {"#EXT-X-PRELOAD-HINT", PL_TAG_URI_OTHER, true},
    {"#EXT-X-RENDITION-REPORT", PL_TAG_URI_OTHER, true},
};

/* A tag line split: its table entry (NULL for an unknown tag) and value. */
struct pl_tagged {
    const struct pl_tag_info *info;
    enum pl_tag tag;
    const char *value; /* after ':'; points at the line end when there is none */
    size_t value_len;
};

enum pl_class { PL_BLANK, PL_COMMENT, PL_TAG, PL_URI };

/* One line: p[0..len) without its terminator (term_len bytes: 0-2), and its class. */
struct pl_line {
    const char *p;
    size_t len;
    size_t term_len;
    size_t no;
    enum pl_class cls;
    struct pl_tagged tag; /* PL_TAG lines only */
};

/* One attribute of a list: name and value (without quotes) inside the list. */
struct pl_attr {
    const char *name;
    size_t name_len;
    const char *value;
    size_t value_len;
    bool quoted;
};

enum pl_attr_step { PL_ATTR_END, PL_ATTR_GOT, PL_ATTR_BAD };

/* Segment numbering, shared by the media parser and the rewrite. */
struct pl_seq {
    bool have_seq; /* #EXT-X-MEDIA-SEQUENCE seen */
    bool pending;  /* an #EXTINF waits for its URI */
    uint64_t next; /* media sequence of the next segment */
    size_t extinfs;
};

/* Walks the lines of a playlist: on_line gets each one (the "#EXTM3U" line
 * as PL_BLANK) until it fails or *stop becomes true. */
struct pl_walk {
    enum playlist_result (*on_line)(void *ctx, const struct pl_line *l, struct err *e);
    void *ctx;
    const bool *stop; /* may be NULL */
    struct pl_line last;
};

struct pl_media_state {
    struct playlist_media *out;
    struct playlist_segment *segs;
    size_t cap;
    bool have_target;
    struct pl_seq seq;
    uint64_t pending_us;
};

struct pl_master_state {
    struct playlist_master *out;
    struct playlist_variant *vars;
    size_t cap;
    const char *text;
    bool pending; /* a STREAM-INF waits for its URI */
    size_t attrs_off, attrs_len;
    uint64_t bandwidth;
};

struct pl_rewrite {
    struct buf *out;
    const char *token;
    size_t token_len;
    const struct playlist_filter *filter;
    struct pl_seq seq;
    size_t mark;  /* out->len before the pending #EXTINF line */
    bool stopped; /* PLAYLIST_TRUNCATE */
};

static enum playlist_result pl_err(struct err *e, enum playlist_result code,
                                   const struct pl_line *l, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static enum playlist_result pl_begin(struct pl_reader *r, const char *text, size_t text_len,
                                     struct err *e);
static enum playlist_result pl_next(struct pl_reader *r, struct pl_line *l, bool *done,
                                    struct err *e);
static enum pl_class pl_classify(const struct pl_line *l);
static enum playlist_result pl_walk_text(struct pl_walk *w, const char *text, size_t text_len,
                                         struct err *e);
static void pl_tag_split(struct pl_tagged *t, const struct pl_line *l);
static enum pl_attr_step pl_attr_next(struct pl_attr *a, const char *list, size_t len, size_t *pos);
static enum playlist_result pl_attrs_check(const struct pl_line *l, const struct pl_tagged *t,
                                           struct err *e);
static bool pl_attr_find(struct pl_attr *a, const char *list, size_t len, const char *name);
static bool pl_parse_u64(uint64_t *out, const char *s, size_t len, uint64_t max);
static bool pl_uri_absolute(const char *u, size_t len);
static enum playlist_result pl_uri_relative(const struct pl_line *l, const char *u, size_t len,
                                            struct err *e);
static enum playlist_result pl_uri_name(const struct pl_line *l, const char *u, size_t len,
                                        enum path_kind want, struct err *e);
static enum playlist_result pl_seq_sequence(struct pl_seq *q, const struct pl_line *l,
                                            const struct pl_tagged *t, struct err *e);
static enum playlist_result pl_seq_extinf(struct pl_seq *q, const struct pl_line *l, struct err *e);
static enum playlist_result pl_seq_take(struct pl_seq *q, uint64_t *seq_out,
                                        const struct pl_line *l, struct err *e);
static enum playlist_result pl_media_tag(struct pl_media_state *st, const struct pl_line *l,
                                         struct err *e);
static enum playlist_result pl_media_map(struct pl_media_state *st, const struct pl_line *l,
                                         const struct pl_tagged *t, struct err *e);
static enum playlist_result pl_media_extinf(struct pl_media_state *st, const struct pl_line *l,
                                            const struct pl_tagged *t, struct err *e);
static enum playlist_result pl_media_uri(struct pl_media_state *st, const struct pl_line *l,
                                         struct err *e);
static enum playlist_result pl_media_line(void *ctx, const struct pl_line *l, struct err *e);
static enum playlist_result pl_master_tag(struct pl_master_state *st, const struct pl_line *l,
                                          struct err *e);
static enum playlist_result pl_master_add(struct pl_master_state *st, const struct pl_line *l,
                                          enum playlist_variant_kind kind, const char *uri,
                                          size_t uri_len, struct err *e);
static enum playlist_result pl_master_line(void *ctx, const struct pl_line *l, struct err *e);
static enum playlist_result pl_out(struct pl_rewrite *rw, const void *p, size_t len, struct err *e);
static enum playlist_result pl_out_uri(struct pl_rewrite *rw, const struct pl_line *l,
                                       const char *u, size_t len, struct err *e);
static enum playlist_result pl_rewrite_attrs(struct pl_rewrite *rw, const struct pl_line *l,
                                             const struct pl_tagged *t, struct err *e);
static enum playlist_result pl_rewrite_tag(struct pl_rewrite *rw, const struct pl_line *l,
                                           struct err *e);
static enum playlist_result pl_rewrite_uri(struct pl_rewrite *rw, const struct pl_line *l,
                                           struct err *e);
static enum playlist_result pl_rewrite_line(void *ctx, const struct pl_line *l, struct err *e);

/* ---- reading ------------------------------------------------------------------ */

/* Like err_set(), with "line N: " in front when there is a line. */
static enum playlist_result pl_err(struct err *e, enum playlist_result code,
                                   const struct pl_line *l, const char *fmt, ...)
{
    if (e == NULL)
        return code;
    e->code = (int)code;
    int at = l != NULL ? snprintf(e->msg, sizeof e->msg, "line %zu: ", l->no) : 0;
    if (at < 0 || (size_t)at >= sizeof e->msg)
        at = 0;
    va_list ap;
    va_start(ap, fmt);
    if (vsnprintf(e->msg + at, sizeof e->msg - (size_t)at, fmt, ap) < 0)
        e->msg[at] = '\0';
    va_end(ap);
    return code;
}

static enum playlist_result pl_begin(struct pl_reader *r, const char *text, size_t text_len,
                                     struct err *e)
{
    r->text = text;
    r->len = text_len;
    r->pos = 0;
    r->line_no = 0;
    if (text_len > PLAYLIST_BYTES_MAX)
        return pl_err(e, PLAYLIST_ERR_TOO_BIG, NULL, "playlist too big: %zu bytes (max %zu)",
                      text_len, PLAYLIST_BYTES_MAX);
    static const char magic[] = "#EXTM3U";
    size_t m = sizeof magic - 1;
    bool ok = text_len >= m && memcmp(text, magic, m) == 0 &&
              (text_len == m || text[m] == '\n' ||
               (text[m] == '\r' && text_len > m + 1 && text[m + 1] == '\n'));
    if (!ok)
        return pl_err(e, PLAYLIST_ERR_NOT_M3U, NULL, "playlist does not start with #EXTM3U");
    return PLAYLIST_OK;
}

/* Reads the next line into *l, or sets *done at the end of the text. */
static enum playlist_result pl_next(struct pl_reader *r, struct pl_line *l, bool *done,
                                    struct err *e)
{
    *done = r->pos >= r->len;
    if (*done)
        return PLAYLIST_OK;
    l->no = ++r->line_no;
    if (l->no > PLAYLIST_LINES_MAX)
        return pl_err(e, PLAYLIST_ERR_TOO_MANY_LINES, l, "more than %d lines", PLAYLIST_LINES_MAX);
    const char *p = r->text + r->pos;
    size_t rest = r->len - r->pos;
    size_t look = rest < PLAYLIST_LINE_BYTES_MAX + 2 ? rest : PLAYLIST_LINE_BYTES_MAX + 2;
    const char *nl = memchr(p, '\n', look);
    size_t len = nl != NULL ? (size_t)(nl - p) : rest;
    size_t term = nl != NULL ? 1 : 0;
    if (len > 0 && p[len - 1] == '\r' && nl != NULL) {
        len--;
        term++;
    }
    if (len > PLAYLIST_LINE_BYTES_MAX)
        return pl_err(e, PLAYLIST_ERR_LINE_TOO_LONG, l, "line longer than %d bytes",
                      PLAYLIST_LINE_BYTES_MAX);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c < 0x20 || c == 0x7f)
            return pl_err(e, PLAYLIST_ERR_BAD_CHAR, l, "control byte 0x%02x at column %zu", c,
                          i + 1);
    }
    l->p = p;
    l->len = len;
    l->term_len = term;
    l->cls = l->no == 1 ? PL_BLANK : pl_classify(l);
    if (l->cls == PL_TAG)
        pl_tag_split(&l->tag, l);
    r->pos += len + term;
    return PLAYLIST_OK;
}

static enum pl_class pl_classify(const struct pl_line *l)
{
    if (l->len == 0)
        return PL_BLANK;
    if (l->p[0] != '#')
        return PL_URI;
    return l->len >= 4 && memcmp(l->p, "#EXT", 4) == 0 ? PL_TAG : PL_COMMENT;
}

static enum playlist_result pl_walk_text(struct pl_walk *w, const char *text, size_t text_len,
                                         struct err *e)
{
    struct pl_reader rd;
    enum playlist_result r = pl_begin(&rd, text, text_len, e);
    memset(&w->last, 0, sizeof w->last);
    for (bool done = false; r == PLAYLIST_OK;) { /* bounded by PLAYLIST_LINES_MAX */
        if (w->stop != NULL && *w->stop)
            break;
        r = pl_next(&rd, &w->last, &done, e);
        if (r != PLAYLIST_OK || done)
            break;
        r = w->on_line(w->ctx, &w->last, e);
    }
    return r;
}

static void pl_tag_split(struct pl_tagged *t, const struct pl_line *l)
{
    const char *colon = memchr(l->p, ':', l->len);
    size_t name_len = colon != NULL ? (size_t)(colon - l->p) : l->len;
    t->value = colon != NULL ? colon + 1 : l->p + l->len;
    t->value_len = l->len - (size_t)(t->value - l->p);
    t->info = NULL;
    t->tag = PL_TAG_OTHER;
    for (size_t i = 0; i < sizeof pl_tags / sizeof pl_tags[0]; i++) {
        if (strlen(pl_tags[i].name) == name_len && memcmp(pl_tags[i].name, l->p, name_len) == 0) {
            t->info = &pl_tags[i];
            t->tag = pl_tags[i].tag;
            return;
        }
    }
}

/* RFC 8216 4.2: NAME=value[,NAME=value]... */
static enum pl_attr_step pl_attr_next(struct pl_attr *a, const char *list, size_t len, size_t *pos)
{
    size_t i = *pos;
    if (i >= len)
        return PL_ATTR_END;
    a->name = list + i;
    while (i < len && ((list[i] >= 'A' && list[i] <= 'Z') || (list[i] >= '0' && list[i] <= '9') ||
                       list[i] == '-'))
        i++;
    a->name_len = (size_t)(list + i - a->name);
    if (a->name_len == 0 || i >= len || list[i] != '=')
        return PL_ATTR_BAD;
    i++;
    a->quoted = i < len && list[i] == '"';
    if (a->quoted) {
        const char *close = memchr(list + i + 1, '"', len - i - 1);
        if (close == NULL)
            return PL_ATTR_BAD;
        a->value = list + i + 1;
        a->value_len = (size_t)(close - a->value);
        i = (size_t)(close - list) + 1;
    } else {
        a->value = list + i;
        while (i < len && list[i] != ',' && list[i] != '"')
            i++;
        a->value_len = (size_t)(list + i - a->value);
        if (a->value_len == 0 || (i < len && list[i] == '"'))
            return PL_ATTR_BAD;
    }
    if (i < len && (list[i] != ',' || i + 1 == len))
        return PL_ATTR_BAD;
    *pos = i < len ? i + 1 : i;
    return PL_ATTR_GOT;
}

/* The whole list is well-formed and any URI attribute is quoted. */
static enum playlist_result pl_attrs_check(const struct pl_line *l, const struct pl_tagged *t,
                                           struct err *e)
{
    size_t pos = 0;
    struct pl_attr a;
    for (;;) { /* bounded: each step consumes >= 2 bytes of the line */
        enum pl_attr_step s = pl_attr_next(&a, t->value, t->value_len, &pos);
        if (s == PL_ATTR_END)
            return PLAYLIST_OK;
        if (s == PL_ATTR_BAD)
            return pl_err(e, PLAYLIST_ERR_BAD_ATTRS, l, "malformed attribute list at column %zu",
                          (size_t)(t->value - l->p) + pos + 1);
        if (a.name_len == 3 && memcmp(a.name, "URI", 3) == 0 && !a.quoted)
            return pl_err(e, PLAYLIST_ERR_BAD_ATTRS, l, "URI attribute is not a quoted string");
    }
}

/* Finds attribute `name` in a list already checked by pl_attrs_check(). */
static bool pl_attr_find(struct pl_attr *a, const char *list, size_t len, const char *name)
{
    size_t pos = 0, name_len = strlen(name);
    while (pl_attr_next(a, list, len, &pos) == PL_ATTR_GOT)
        if (a->name_len == name_len && memcmp(a->name, name, name_len) == 0)
            return true;
    return false;
}

static bool pl_parse_u64(uint64_t *out, const char *s, size_t len, uint64_t max)
{
    if (len == 0 || len > 20)
        return false;
    uint64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        unsigned d = (unsigned)(s[i] - '0');
        if (d > max || v > (max - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *out = v;
    return true;
}

bool playlist_duration_us(uint64_t *us_out, const char *text, size_t text_len)
{
    const char *dot = memchr(text, '.', text_len);
    size_t int_len = dot != NULL ? (size_t)(dot - text) : text_len;
    uint64_t secs = 0;
    if (!pl_parse_u64(&secs, text, int_len, PLAYLIST_DURATION_US_MAX / PL_US_PER_S))
        return false;
    uint64_t frac = 0;
    if (dot != NULL) {
        size_t frac_len = text_len - int_len - 1;
        if (frac_len == 0)
            return false;
        for (size_t i = 0; i < frac_len; i++) {
            char c = dot[1 + i];
            if (c < '0' || c > '9')
                return false;
            if (i < PL_FRACTION_DIGITS)
                frac = frac * 10 + (uint64_t)(c - '0');
        }
        for (size_t i = frac_len; i < PL_FRACTION_DIGITS; i++)
            frac *= 10;
    }
    uint64_t us = secs * PL_US_PER_S + frac;
    if (us > PLAYLIST_DURATION_US_MAX)
        return false;
    *us_out = us;
    return true;
}

/* A scheme ("x:" before any '/', '?' or '#') or a leading '/' or '\'. */
static bool pl_uri_absolute(const char *u, size_t len)
{
    if (len > 0 && (u[0] == '/' || u[0] == '\\'))
        return true;
    for (size_t i = 0; i < len; i++) {
        char c = u[i];
        if (c == ':')
            return i > 0;
        bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
        bool scheme_char =
            alpha || (i > 0 && ((c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.'));
        if (!scheme_char)
            return false;
    }
    return false;
}

/* An ingest URI must be a bare file name of kind `want`. */
static enum playlist_result pl_uri_name(const struct pl_line *l, const char *u, size_t len,
                                        enum path_kind want, struct err *e)
{
    char q[PL_QUOTE_BYTES];
    err_quote(q, sizeof q, u, len);
    if (pl_uri_absolute(u, len))
        return pl_err(e, PLAYLIST_ERR_ABSOLUTE_URI, l, "absolute uri '%s'", q);
    if (path_classify_name(u, len) != want)
        return pl_err(e, PLAYLIST_ERR_BAD_URI, l, "uri '%s' is not an allowed %s name", q,
                      want == PATH_KIND_INIT ? "init segment" : "segment");
    return PLAYLIST_OK;
}

/* A URI that may carry a token: not empty, not absolute. */
static enum playlist_result pl_uri_relative(const struct pl_line *l, const char *u, size_t len,
                                            struct err *e)
{
    if (len == 0)
        return pl_err(e, PLAYLIST_ERR_BAD_URI, l, "empty uri");
    if (!pl_uri_absolute(u, len))
        return PLAYLIST_OK;
    char q[PL_QUOTE_BYTES];
    err_quote(q, sizeof q, u, len);
    return pl_err(e, PLAYLIST_ERR_ABSOLUTE_URI, l, "absolute uri '%s'", q);
}

/* ---- segment numbering ---------------------------------------------------------- */

static enum playlist_result pl_seq_sequence(struct pl_seq *q, const struct pl_line *l,
                                            const struct pl_tagged *t, struct err *e)
{
    if (q->have_seq)
        return pl_err(e, PLAYLIST_ERR_DUPLICATE, l, "second #EXT-X-MEDIA-SEQUENCE");
    if (q->extinfs > 0)
        return pl_err(e, PLAYLIST_ERR_ORDER, l, "#EXT-X-MEDIA-SEQUENCE after an #EXTINF");
    if (!pl_parse_u64(&q->next, t->value, t->value_len, PLAYLIST_MEDIA_SEQUENCE_MAX))
        return pl_err(e, PLAYLIST_ERR_BAD_TAG, l, "bad #EXT-X-MEDIA-SEQUENCE value");
    q->have_seq = true;
    return PLAYLIST_OK;
}

static enum playlist_result pl_seq_extinf(struct pl_seq *q, const struct pl_line *l, struct err *e)
{
    if (q->pending)
        return pl_err(e, PLAYLIST_ERR_MISSING_URI, l, "#EXTINF follows an #EXTINF without uri");
    if (q->extinfs >= PLAYLIST_SEGMENTS_MAX)
        return pl_err(e, PLAYLIST_ERR_TOO_MANY_SEGMENTS, l, "more than %d segments",
                      PLAYLIST_SEGMENTS_MAX);
    q->extinfs++;
    q->pending = true;
    return PLAYLIST_OK;
}

/* The pending #EXTINF got its URI: hands out its media sequence. */
static enum playlist_result pl_seq_take(struct pl_seq *q, uint64_t *seq_out,
                                        const struct pl_line *l, struct err *e)
{
    ASSERT(q->pending);
    q->pending = false;
    if (q->next > PLAYLIST_MEDIA_SEQUENCE_MAX)
        return pl_err(e, PLAYLIST_ERR_BAD_TAG, l, "media sequence above %llu",
                      (unsigned long long)PLAYLIST_MEDIA_SEQUENCE_MAX);
    *seq_out = q->next++;
    return PLAYLIST_OK;
}

/* ---- media playlists ---------------------------------------------------------- */

static enum playlist_result pl_media_map(struct pl_media_state *st, const struct pl_line *l,
                                         const struct pl_tagged *t, struct err *e)
{
    struct pl_attr a;
    if (pl_attr_find(&a, t->value, t->value_len, "BYTERANGE"))
        return pl_err(e, PLAYLIST_ERR_UNSUPPORTED, l, "#EXT-X-MAP with BYTERANGE");
    if (!pl_attr_find(&a, t->value, t->value_len, "URI"))
        return pl_err(e, PLAYLIST_ERR_BAD_ATTRS, l, "#EXT-X-MAP without URI");
    enum playlist_result r = pl_uri_name(l, a.value, a.value_len, PATH_KIND_INIT, e);
    if (r != PLAYLIST_OK)
        return r;
    struct playlist_media *m = st->out;
    if (m->has_map) {
        if (strlen(m->map_name) != a.value_len || memcmp(m->map_name, a.value, a.value_len) != 0)
            return pl_err(e, PLAYLIST_ERR_UNSUPPORTED, l, "a second, different #EXT-X-MAP");
        return PLAYLIST_OK;
    }
    memcpy(m->map_name, a.value, a.value_len);
    m->map_name[a.value_len] = '\0';
    m->has_map = true;
    return PLAYLIST_OK;
}

static enum playlist_result pl_media_extinf(struct pl_media_state *st, const struct pl_line *l,
                                            const struct pl_tagged *t, struct err *e)
{
    enum playlist_result r = pl_seq_extinf(&st->seq, l, e);
    if (r != PLAYLIST_OK)
        return r;
    if (st->out->ended)
        return pl_err(e, PLAYLIST_ERR_ORDER, l, "#EXTINF after #EXT-X-ENDLIST");
    const char *comma = memchr(t->value, ',', t->value_len);
    size_t len = comma != NULL ? (size_t)(comma - t->value) : t->value_len;
    if (!playlist_duration_us(&st->pending_us, t->value, len))
        return pl_err(e, PLAYLIST_ERR_BAD_TAG, l, "bad #EXTINF duration");
    return PLAYLIST_OK;
}

static enum playlist_result pl_media_tag(struct pl_media_state *st, const struct pl_line *l,
                                         struct err *e)
{
    struct pl_tagged t = l->tag;
    enum playlist_result r = PLAYLIST_OK;
    if (t.info != NULL && t.info->uri_attr && (r = pl_attrs_check(l, &t, e)) != PLAYLIST_OK)
        return r;
    struct pl_attr a;
    switch (t.tag) {
    case PL_TAG_TARGETDURATION:
        if (st->have_target)
            return pl_err(e, PLAYLIST_ERR_DUPLICATE, l, "second #EXT-X-TARGETDURATION");
        if (!pl_parse_u64(&st->out->target_duration_s, t.value, t.value_len,
                          PLAYLIST_TARGET_DURATION_S_MAX))
            return pl_err(e, PLAYLIST_ERR_BAD_TAG, l, "bad #EXT-X-TARGETDURATION value");
        st->have_target = true;
        return PLAYLIST_OK;
    case PL_TAG_MEDIA_SEQUENCE:
        r = pl_seq_sequence(&st->seq, l, &t, e);
        st->out->media_sequence_first = st->seq.next;
        return r;
    case PL_TAG_EXTINF:
        return pl_media_extinf(st, l, &t, e);
    case PL_TAG_ENDLIST:
        if (st->out->ended)
            return pl_err(e, PLAYLIST_ERR_DUPLICATE, l, "second #EXT-X-ENDLIST");
        st->out->ended = true;
        return PLAYLIST_OK;
    case PL_TAG_MAP:
        return pl_media_map(st, l, &t, e);
    case PL_TAG_BYTERANGE:
        return pl_err(e, PLAYLIST_ERR_UNSUPPORTED, l, "#EXT-X-BYTERANGE segments");
    case PL_TAG_KEY:
        if (pl_attr_find(&a, t.value, t.value_len, "METHOD") && a.value_len == 4 &&
            memcmp(a.value, "NONE", 4) == 0)
            return PLAYLIST_OK;
        return pl_err(e, PLAYLIST_ERR_UNSUPPORTED, l, "encrypted segments (#EXT-X-KEY)");
    case PL_TAG_STREAM_INF:
    case PL_TAG_MEDIA:
    case PL_TAG_IFRAME:
        return pl_err(e, PLAYLIST_ERR_WRONG_KIND, l, "master playlist tag in a media playlist");
    default:
        return PLAYLIST_OK;
    }
}

static enum playlist_result pl_media_uri(struct pl_media_state *st, const struct pl_line *l,
                                         struct err *e)
{
    struct playlist_media *m = st->out;
    if (m->ended)
        return pl_err(e, PLAYLIST_ERR_ORDER, l, "segment after #EXT-X-ENDLIST");
    if (!st->seq.pending)
        return pl_err(e, PLAYLIST_ERR_MISSING_TAG, l, "uri without #EXTINF");
    enum playlist_result r = pl_uri_name(l, l->p, l->len, PATH_KIND_SEGMENT, e);
    if (r != PLAYLIST_OK)
        return r;
    if (m->segment_count >= st->cap)
        return pl_err(e, PLAYLIST_ERR_TOO_MANY_SEGMENTS, l, "more than %zu segments", st->cap);
    struct playlist_segment *s = &st->segs[m->segment_count];
    r = pl_seq_take(&st->seq, &s->media_sequence, l, e);
    if (r != PLAYLIST_OK)
        return r;
    m->segment_count++;
    s->duration_us = st->pending_us;
    memcpy(s->name, l->p, l->len);
    s->name[l->len] = '\0';
    return PLAYLIST_OK;
}

static enum playlist_result pl_media_line(void *ctx, const struct pl_line *l, struct err *e)
{
    if (l->cls == PL_TAG)
        return pl_media_tag(ctx, l, e);
    if (l->cls == PL_URI)
        return pl_media_uri(ctx, l, e);
    return PLAYLIST_OK;
}

enum playlist_result playlist_parse_media(struct playlist_media *out, struct playlist_segment *segs,
                                          size_t segs_cap, const char *text, size_t text_len,
                                          struct err *e)
{
    memset(out, 0, sizeof *out);
    out->segments = segs;
    struct pl_media_state st = {.out = out, .segs = segs, .cap = segs_cap};
    struct pl_walk w = {.on_line = pl_media_line, .ctx = &st};
    enum playlist_result r = pl_walk_text(&w, text, text_len, e);
    if (r != PLAYLIST_OK)
        return r;
    if (st.seq.pending)
        return pl_err(e, PLAYLIST_ERR_MISSING_URI, &w.last, "#EXTINF without uri at the end");
    if (!st.have_target)
        return pl_err(e, PLAYLIST_ERR_MISSING_TAG, NULL, "no #EXT-X-TARGETDURATION");
    return PLAYLIST_OK;
}

/* ---- master playlists --------------------------------------------------------- */

static enum playlist_result pl_master_add(struct pl_master_state *st, const struct pl_line *l,
                                          enum playlist_variant_kind kind, const char *uri,
                                          size_t uri_len, struct err *e)
{
    char q[PL_QUOTE_BYTES];
    err_quote(q, sizeof q, uri, uri_len);
    if (pl_uri_absolute(uri, uri_len))
        return pl_err(e, PLAYLIST_ERR_ABSOLUTE_URI, l, "absolute uri '%s'", q);
    size_t skip = uri_len >= 2 && uri[0] == '.' && uri[1] == '/' ? 2 : 0;
    const char *rend = uri + skip, *slash = memchr(rend, '/', uri_len - skip);
    size_t rend_len = slash != NULL ? (size_t)(slash - rend) : 0;
    size_t name_len = slash != NULL ? uri_len - skip - rend_len - 1 : 0;
    if (slash == NULL || !path_is_rendition(rend, rend_len) ||
        path_classify_name(slash + 1, name_len) != PATH_KIND_MEDIA_PLAYLIST)
        return pl_err(e, PLAYLIST_ERR_BAD_URI, l, "variant uri '%s' is not <rendition>/<name>.m3u8",
                      q);
    struct playlist_master *m = st->out;
    for (size_t i = 0; i < m->variant_count; i++) {
        const struct playlist_variant *o = &st->vars[i];
        if (strlen(o->rendition) != rend_len || memcmp(o->rendition, rend, rend_len) != 0)
            continue;
        if (strlen(o->name) == name_len && memcmp(o->name, slash + 1, name_len) == 0)
            return PLAYLIST_OK; /* the same playlist again (ffmpeg's audio groups) */
        return pl_err(e, PLAYLIST_ERR_DUPLICATE, l, "rendition of '%s' listed twice", q);
    }
    if (m->variant_count >= st->cap || m->variant_count >= PLAYLIST_VARIANTS_MAX)
        return pl_err(e, PLAYLIST_ERR_TOO_MANY_SEGMENTS, l, "too many variants");
    struct playlist_variant *v = &st->vars[m->variant_count++];
    v->kind = kind;
    memcpy(v->rendition, rend, rend_len);
    v->rendition[rend_len] = '\0';
    memcpy(v->name, slash + 1, name_len);
    v->name[name_len] = '\0';
    v->uri_off = (size_t)(uri - st->text);
    v->uri_len = uri_len;
    v->attrs_off = st->attrs_off;
    v->attrs_len = st->attrs_len;
    v->bandwidth = kind == PLAYLIST_VARIANT_STREAM ? st->bandwidth : 0;
    return PLAYLIST_OK;
}

static enum playlist_result pl_master_tag(struct pl_master_state *st, const struct pl_line *l,
                                          struct err *e)
{
    struct pl_tagged t = l->tag;
    if (st->pending)
        return pl_err(e, PLAYLIST_ERR_MISSING_URI, l, "#EXT-X-STREAM-INF not followed by its uri");
    enum playlist_result r = PLAYLIST_OK;
    bool attrs = t.tag == PL_TAG_STREAM_INF || (t.info != NULL && t.info->uri_attr);
    if (attrs && (r = pl_attrs_check(l, &t, e)) != PLAYLIST_OK)
        return r;
    st->attrs_off = (size_t)(t.value - st->text);
    st->attrs_len = t.value_len;
    struct pl_attr a;
    switch (t.tag) {
    case PL_TAG_STREAM_INF:
        st->bandwidth = 0;
        if (pl_attr_find(&a, t.value, t.value_len, "BANDWIDTH") &&
            !pl_parse_u64(&st->bandwidth, a.value, a.value_len, UINT64_MAX))
            return pl_err(e, PLAYLIST_ERR_BAD_ATTRS, l, "bad BANDWIDTH");
        st->pending = true;
        return PLAYLIST_OK;
    case PL_TAG_MEDIA:
        if (!pl_attr_find(&a, t.value, t.value_len, "URI"))
            return PLAYLIST_OK;
        return pl_master_add(st, l, PLAYLIST_VARIANT_MEDIA, a.value, a.value_len, e);
    case PL_TAG_IFRAME:
        return pl_err(e, PLAYLIST_ERR_UNSUPPORTED, l, "#EXT-X-I-FRAME-STREAM-INF");
    case PL_TAG_EXTINF:
    case PL_TAG_TARGETDURATION:
    case PL_TAG_MEDIA_SEQUENCE:
    case PL_TAG_MAP:
    case PL_TAG_ENDLIST:
    case PL_TAG_BYTERANGE:
        return pl_err(e, PLAYLIST_ERR_WRONG_KIND, l, "media playlist tag in a master playlist");
    default:
        return PLAYLIST_OK;
    }
}

static enum playlist_result pl_master_line(void *ctx, const struct pl_line *l, struct err *e)
{
    struct pl_master_state *st = ctx;
    if (l->cls == PL_TAG)
        return pl_master_tag(st, l, e);
    if (l->cls != PL_URI)
        return PLAYLIST_OK;
    if (!st->pending)
        return pl_err(e, PLAYLIST_ERR_MISSING_TAG, l, "uri without #EXT-X-STREAM-INF");
    st->pending = false;
    return pl_master_add(st, l, PLAYLIST_VARIANT_STREAM, l->p, l->len, e);
}

enum playlist_result playlist_parse_master(struct playlist_master *out,
                                           struct playlist_variant *vars, size_t vars_cap,
                                           const char *text, size_t text_len, struct err *e)
{
    out->variants = vars;
    out->variant_count = 0;
    struct pl_master_state st = {.out = out, .vars = vars, .cap = vars_cap, .text = text};
    struct pl_walk w = {.on_line = pl_master_line, .ctx = &st};
    enum playlist_result r = pl_walk_text(&w, text, text_len, e);
    if (r != PLAYLIST_OK)
        return r;
    if (st.pending)
        return pl_err(e, PLAYLIST_ERR_MISSING_URI, &w.last,
                      "#EXT-X-STREAM-INF without uri at the end");
    if (out->variant_count == 0)
        return pl_err(e, PLAYLIST_ERR_MISSING_TAG, NULL, "master playlist lists no variant");
    return PLAYLIST_OK;
}

/* ---- rewriting ---------------------------------------------------------------- */

bool playlist_token_ok(const char *token, size_t token_len)
{
    if (token_len == 0 || token_len > PLAYLIST_TOKEN_BYTES_MAX)
        return false;
    for (size_t i = 0; i < token_len; i++) {
        char c = token[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '.' || c == '_' || c == '~';
        if (!ok)
            return false;
    }
    return true;
}

static enum playlist_result pl_out(struct pl_rewrite *rw, const void *p, size_t len, struct err *e)
{
    enum buf_result b = buf_append(rw->out, p, len);
    if (b == BUF_OK)
        return PLAYLIST_OK;
    if (b == BUF_ERR_TOO_BIG)
        return pl_err(e, PLAYLIST_ERR_OUT_TOO_BIG, NULL, "rewritten playlist over %zu bytes",
                      rw->out->len_max);
    return pl_err(e, PLAYLIST_ERR_NOMEM, NULL, "out of memory rewriting a playlist");
}

/* Writes the URI u[0..len) with the token inserted before any '#'. */
static enum playlist_result pl_out_uri(struct pl_rewrite *rw, const struct pl_line *l,
                                       const char *u, size_t len, struct err *e)
{
    enum playlist_result r = pl_uri_relative(l, u, len, e);
    if (r != PLAYLIST_OK)
        return r;
    const char *hash = memchr(u, '#', len);
    size_t at = hash != NULL ? (size_t)(hash - u) : len;
    const char *sep = memchr(u, '?', at) != NULL ? "&token=" : "?token=";
    r = pl_out(rw, u, at, e);
    if (r == PLAYLIST_OK)
        r = pl_out(rw, sep, strlen(sep), e);
    if (r == PLAYLIST_OK)
        r = pl_out(rw, rw->token, rw->token_len, e);
    if (r == PLAYLIST_OK)
        r = pl_out(rw, u + at, len - at, e);
    return r;
}

/* Copies a tag line, tokening every URI="..." value. */
static enum playlist_result pl_rewrite_attrs(struct pl_rewrite *rw, const struct pl_line *l,
                                             const struct pl_tagged *t, struct err *e)
{
    enum playlist_result r = pl_attrs_check(l, t, e);
    const char *copied = l->p;
    size_t pos = 0;
    struct pl_attr a;
    while (r == PLAYLIST_OK && pl_attr_next(&a, t->value, t->value_len, &pos) == PL_ATTR_GOT) {
        if (a.name_len != 3 || memcmp(a.name, "URI", 3) != 0)
            continue;
        r = pl_out(rw, copied, (size_t)(a.value - copied), e);
        if (r == PLAYLIST_OK)
            r = pl_out_uri(rw, l, a.value, a.value_len, e);
        copied = a.value + a.value_len;
    }
    if (r == PLAYLIST_OK)
        r = pl_out(rw, copied, (size_t)(l->p + l->len + l->term_len - copied), e);
    return r;
}

static enum playlist_result pl_rewrite_tag(struct pl_rewrite *rw, const struct pl_line *l,
                                           struct err *e)
{
    struct pl_tagged t = l->tag;
    enum playlist_result r = PLAYLIST_OK;
    if (t.tag == PL_TAG_MEDIA_SEQUENCE) {
        r = pl_seq_sequence(&rw->seq, l, &t, e);
    } else if (t.tag == PL_TAG_EXTINF) {
        r = pl_seq_extinf(&rw->seq, l, e);
        rw->mark = rw->out->len;
    } else if (t.info != NULL && t.info->uri_attr) {
        return pl_rewrite_attrs(rw, l, &t, e);
    }
    if (r == PLAYLIST_OK)
        r = pl_out(rw, l->p, l->len + l->term_len, e);
    return r;
}

/* A URI line: a segment when an #EXTINF waits (the filter may drop it or
 * end the output there), else a variant of a master playlist. */
static enum playlist_result pl_rewrite_uri(struct pl_rewrite *rw, const struct pl_line *l,
                                           struct err *e)
{
    enum playlist_result r = pl_uri_relative(l, l->p, l->len, e); /* dropped ones too */
    if (r == PLAYLIST_OK && rw->seq.pending) {
        uint64_t seq = 0;
        r = pl_seq_take(&rw->seq, &seq, l, e);
        enum playlist_verdict v = PLAYLIST_KEEP;
        if (r == PLAYLIST_OK && rw->filter != NULL)
            v = rw->filter->verdict(rw->filter->ctx, seq, l->p, l->len);
        if (r == PLAYLIST_OK && v != PLAYLIST_KEEP) {
            rw->out->len = rw->mark;
            if (rw->out->data != NULL)
                rw->out->data[rw->mark] = '\0';
            rw->stopped = v == PLAYLIST_TRUNCATE;
            return PLAYLIST_OK;
        }
    }
    if (r == PLAYLIST_OK)
        r = pl_out_uri(rw, l, l->p, l->len, e);
    if (r == PLAYLIST_OK)
        r = pl_out(rw, l->p + l->len, l->term_len, e);
    return r;
}

static enum playlist_result pl_rewrite_line(void *ctx, const struct pl_line *l, struct err *e)
{
    if (l->cls == PL_TAG)
        return pl_rewrite_tag(ctx, l, e);
    if (l->cls == PL_URI)
        return pl_rewrite_uri(ctx, l, e);
    return pl_out(ctx, l->p, l->len + l->term_len, e);
}

enum playlist_result playlist_rewrite(struct buf *out, const char *text, size_t text_len,
                                      const char *token, size_t token_len,
                                      const struct playlist_filter *filter, struct err *e)
{
    if (!playlist_token_ok(token, token_len))
        return pl_err(e, PLAYLIST_ERR_BAD_TOKEN, NULL,
                      "token must be 1 to %d bytes of [A-Za-z0-9._~-]", PLAYLIST_TOKEN_BYTES_MAX);
    size_t start = out->len;
    struct pl_rewrite rw = {.out = out, .token = token, .token_len = token_len, .filter = filter};
    struct pl_walk w = {.on_line = pl_rewrite_line, .ctx = &rw, .stop = &rw.stopped};
    enum playlist_result r = pl_walk_text(&w, text, text_len, e);
    if (r == PLAYLIST_OK && rw.seq.pending)
        r = pl_err(e, PLAYLIST_ERR_MISSING_URI, &w.last, "#EXTINF without uri at the end");
    if (r != PLAYLIST_OK) {
        out->len = start;
        if (out->data != NULL)
            out->data[start] = '\0';
    }
    return r;
}
