/*
 * fuzz_playlist.c - the playlist parsers and the viewer rewrite on arbitrary
 * text.
 *
 * Input: byte 0 is the mode; bits 0-2 the token (TOKENS[]), bits 3-6 the
 * segment array size for the media parser (0..15); the rest is the playlist.
 * Every input goes through all four entry points. Properties:
 *   - every result is PLAYLIST_OK or a code the function documents; an error
 *     sets e to that code and a message, and e == NULL gives the same result;
 *   - rewrite: on success, deleting each inserted "?token=T" / "&token=T"
 *     from the output gives back the input byte for byte, and every output
 *     URI line carries the token; on failure the output is back to the
 *     prefix it had;
 *   - rewrite with a filter that drops every even media sequence: the same
 *     result code, and its output is the unfiltered output minus whole lines;
 *   - parse_media: segments fit the array, are numbered consecutively from
 *     media_sequence_first, have allowed segment names and bounded
 *     durations; the map is an init name; the rewrite of the same text
 *     succeeds (or trips on a URI in a tag the parser ignores) and inserts
 *     at least one token per segment and per map URI;
 *   - parse_master: 1..PLAYLIST_VARIANTS_MAX variants with valid, distinct
 *     renditions whose URI text ends in "<rendition>/<name>"; the rewrite
 *     succeeds likewise with a token per variant at least.
 */
#include "fuzz.h"
#include "playlist.h"

#define FUZZ_PL_OUT_MAX ((size_t)16 << 20) /* more than any input can grow to */
#define FUZZ_PL_PREFIX "prefix"

static const char *const TOKENS[8] = {
    "t",     "p1.0f8e2a4c-1b3d-4e5f-8a9b-0c1d2e3f4a5b.abc.1700000000.ff",
    "token", "a-b_c.d~e",
    "0",     "x.x",
    "TOKEN", "z"};

/* One rewrite: its code and, on success, a copy of what it appended. */
struct fuzz_pl_rw {
    enum playlist_result r;
    char *out; /* malloc()ed, NULL on failure */
    size_t out_len;
};

static size_t fuzz_pl_align(const char *in, size_t in_len, const char *out, size_t out_len,
                            const char *tok);
static bool fuzz_pl_line_subsequence(const char *small, size_t small_len, const char *big,
                                     size_t big_len);
static void fuzz_pl_check_uri_lines(const char *p, size_t len, const char *tok);
static enum playlist_verdict fuzz_pl_drop_even(void *ctx, uint64_t seq, const char *uri,
                                               size_t uri_len);
static struct fuzz_pl_rw fuzz_pl_rewrite(const char *text, size_t len, const char *tok,
                                         bool filtered);
static void fuzz_pl_media(const char *text, size_t len, size_t cap, const char *tok);
static void fuzz_pl_master(const char *text, size_t len, const char *tok);

/* Walks input and output together: equal bytes advance both, anything else
 * must be an inserted "?token=T" or "&token=T". This is exact because the
 * rewrite inserts only where the input holds '\n', '\r', '"', '#' or its end,
 * never '?' or '&'. Returns the number of insertions. */
static size_t fuzz_pl_align(const char *in, size_t in_len, const char *out, size_t out_len,
                            const char *tok)
{
    size_t tok_len = strlen(tok), i = 0, j = 0, inserted = 0;
    while (j < out_len) {
        if (i < in_len && in[i] == out[j]) {
            i++;
            j++;
            continue;
        }
        FUZZ_CHECK(out[j] == '?' || out[j] == '&');
        FUZZ_CHECK(i == in_len || in[i] == '\n' || in[i] == '\r' || in[i] == '"' || in[i] == '#');
        FUZZ_CHECK(out_len - j >= 7 + tok_len && memcmp(out + j + 1, "token=", 6) == 0 &&
                   memcmp(out + j + 7, tok, tok_len) == 0);
        j += 7 + tok_len;
        inserted++;
    }
    FUZZ_CHECK(i == in_len);
    return inserted;
}

/* Every line of small appears in big, in order (small = big minus whole lines). */
static bool fuzz_pl_line_subsequence(const char *small, size_t small_len, const char *big,
                                     size_t big_len)
{
    size_t s = 0, b = 0;
    while (s < small_len) {
        const char *snl = memchr(small + s, '\n', small_len - s);
        size_t sl = snl != NULL ? (size_t)(snl - small) - s + 1 : small_len - s;
        for (;;) {
            if (b >= big_len)
                return false;
            const char *bnl = memchr(big + b, '\n', big_len - b);
            size_t bl = bnl != NULL ? (size_t)(bnl - big) - b + 1 : big_len - b;
            bool same = bl == sl && memcmp(big + b, small + s, sl) == 0;
            b += bl;
            if (same)
                break;
        }
        s += sl;
    }
    return true;
}

/* Every URI line of a rewritten playlist carries "token=<tok>". */
static void fuzz_pl_check_uri_lines(const char *p, size_t len, const char *tok)
{
    char needle[128];
    int n = snprintf(needle, sizeof needle, "token=%s", tok);
    FUZZ_CHECK(n > 0 && (size_t)n < sizeof needle);
    for (size_t i = 0; i < len;) {
        const char *nl = memchr(p + i, '\n', len - i);
        size_t l = nl != NULL ? (size_t)(nl - p) - i : len - i;
        if (l > 0 && p[i] != '#' && p[i] != '\r')
            FUZZ_CHECK(memmem(p + i, l, needle, (size_t)n) != NULL);
        i += l + (nl != NULL);
    }
}

static enum playlist_verdict fuzz_pl_drop_even(void *ctx, uint64_t seq, const char *uri,
                                               size_t uri_len)
{
    (void)ctx;
    FUZZ_CHECK(uri_len > 0 && uri[0] != '#');
    return seq % 2 == 0 ? PLAYLIST_DROP : PLAYLIST_KEEP;
}

static struct fuzz_pl_rw fuzz_pl_rewrite(const char *text, size_t len, const char *tok,
                                         bool filtered)
{
    struct buf out;
    buf_init(&out, FUZZ_PL_OUT_MAX);
    FUZZ_CHECK(buf_append_str(&out, FUZZ_PL_PREFIX) == BUF_OK);
    size_t pre = out.len;
    struct playlist_filter f = {fuzz_pl_drop_even, NULL};
    struct err e;
    fuzz_err_prime(&e);
    struct fuzz_pl_rw res = {0};
    res.r = playlist_rewrite(&out, text, len, tok, strlen(tok), filtered ? &f : NULL, &e);
    if (res.r != PLAYLIST_OK) {
        FUZZ_CHECK(res.r <= PLAYLIST_ERR_NOMEM && res.r != PLAYLIST_ERR_BAD_TOKEN);
        FUZZ_CHECK(res.r != PLAYLIST_ERR_MISSING_TAG && res.r != PLAYLIST_ERR_WRONG_KIND &&
                   res.r != PLAYLIST_ERR_UNSUPPORTED && res.r != PLAYLIST_ERR_OUT_TOO_BIG);
        FUZZ_CHECK(fuzz_err_is_set(&e, (int)res.r));
        FUZZ_CHECK(out.len == pre && memcmp(out.data, FUZZ_PL_PREFIX, pre) == 0);
        buf_release(&out);
        return res;
    }
    FUZZ_CHECK(fuzz_err_is_untouched(&e));
    FUZZ_CHECK(memcmp(out.data, FUZZ_PL_PREFIX, pre) == 0);
    res.out_len = out.len - pre;
    res.out = malloc(res.out_len + 1);
    FUZZ_CHECK(res.out != NULL);
    memcpy(res.out, out.data + pre, res.out_len);
    buf_release(&out);
    fuzz_pl_check_uri_lines(res.out, res.out_len, tok);
    return res;
}

static void fuzz_pl_media(const char *text, size_t len, size_t cap, const char *tok)
{
    struct playlist_segment *segs = malloc((cap > 0 ? cap : 1) * sizeof *segs);
    FUZZ_CHECK(segs != NULL);
    struct playlist_media m;
    struct err e;
    fuzz_err_prime(&e);
    enum playlist_result r = playlist_parse_media(&m, segs, cap, text, len, &e);
    FUZZ_CHECK(r <= PLAYLIST_ERR_UNSUPPORTED);
    FUZZ_CHECK(playlist_parse_media(&m, segs, cap, text, len, NULL) == r);
    if (r != PLAYLIST_OK) {
        FUZZ_CHECK(fuzz_err_is_set(&e, (int)r));
        free(segs);
        return;
    }
    FUZZ_CHECK(fuzz_err_is_untouched(&e));
    FUZZ_CHECK(m.segments == segs && m.segment_count <= cap);
    FUZZ_CHECK(m.target_duration_s <= PLAYLIST_TARGET_DURATION_S_MAX);
    for (size_t i = 0; i < m.segment_count; i++) {
        FUZZ_CHECK(segs[i].media_sequence == m.media_sequence_first + i);
        FUZZ_CHECK(segs[i].duration_us <= PLAYLIST_DURATION_US_MAX);
        FUZZ_CHECK(path_classify_name(segs[i].name, strlen(segs[i].name)) == PATH_KIND_SEGMENT);
    }
    FUZZ_CHECK(!m.has_map || path_classify_name(m.map_name, strlen(m.map_name)) == PATH_KIND_INIT);
    /* The rewrite accepts all the parser does, except URIs in tags the parser
     * ignores (SESSION-DATA, PART...): those may be empty or absolute. With
     * success: a token per segment and per MAP URI at least. */
    struct fuzz_pl_rw rw = fuzz_pl_rewrite(text, len, tok, false);
    FUZZ_CHECK(rw.r == PLAYLIST_OK || rw.r == PLAYLIST_ERR_BAD_URI ||
               rw.r == PLAYLIST_ERR_ABSOLUTE_URI);
    if (rw.r == PLAYLIST_OK)
        FUZZ_CHECK(fuzz_pl_align(text, len, rw.out, rw.out_len, tok) >=
                   m.segment_count + (m.has_map ? 1 : 0));
    free(rw.out);
    free(segs);
}

static void fuzz_pl_master(const char *text, size_t len, const char *tok)
{
    struct playlist_variant vars[PLAYLIST_VARIANTS_MAX];
    struct playlist_master mm;
    struct err e;
    fuzz_err_prime(&e);
    enum playlist_result r = playlist_parse_master(&mm, vars, PLAYLIST_VARIANTS_MAX, text, len, &e);
    FUZZ_CHECK(r <= PLAYLIST_ERR_UNSUPPORTED);
    FUZZ_CHECK(playlist_parse_master(&mm, vars, PLAYLIST_VARIANTS_MAX, text, len, NULL) == r);
    if (r != PLAYLIST_OK) {
        FUZZ_CHECK(fuzz_err_is_set(&e, (int)r));
        return;
    }
    FUZZ_CHECK(mm.variant_count >= 1 && mm.variant_count <= PLAYLIST_VARIANTS_MAX);
    for (size_t i = 0; i < mm.variant_count; i++) {
        const struct playlist_variant *v = &vars[i];
        size_t rl = strlen(v->rendition), nl = strlen(v->name);
        FUZZ_CHECK(path_is_rendition(v->rendition, rl));
        FUZZ_CHECK(path_classify_name(v->name, nl) == PATH_KIND_MEDIA_PLAYLIST);
        FUZZ_CHECK(v->uri_off + v->uri_len <= len && v->attrs_off + v->attrs_len <= len);
        FUZZ_CHECK(v->uri_len == rl + 1 + nl || v->uri_len == rl + 3 + nl);
        const char *u = text + v->uri_off + v->uri_len - nl - 1 - rl;
        FUZZ_CHECK(memcmp(u, v->rendition, rl) == 0 && u[rl] == '/' &&
                   memcmp(u + rl + 1, v->name, nl) == 0);
        for (size_t j = 0; j < i; j++)
            FUZZ_CHECK(strcmp(vars[j].rendition, v->rendition) != 0);
    }
    struct fuzz_pl_rw rw = fuzz_pl_rewrite(text, len, tok, false);
    FUZZ_CHECK(rw.r == PLAYLIST_OK || rw.r == PLAYLIST_ERR_BAD_URI ||
               rw.r == PLAYLIST_ERR_ABSOLUTE_URI);
    if (rw.r == PLAYLIST_OK)
        FUZZ_CHECK(fuzz_pl_align(text, len, rw.out, rw.out_len, tok) >= mm.variant_count);
    free(rw.out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    uint8_t mode = data[0];
    const char *tok = TOKENS[mode & 7];
    size_t cap = (size_t)(mode >> 3) & 15;
    size_t len = size - 1;
    char *text = malloc(len > 0 ? len : 1); /* exactly sized: ASan sees an over-read */
    FUZZ_CHECK(text != NULL);
    if (len > 0)
        memcpy(text, data + 1, len);
    struct fuzz_pl_rw plain = fuzz_pl_rewrite(text, len, tok, false);
    struct fuzz_pl_rw filtered = fuzz_pl_rewrite(text, len, tok, true);
    FUZZ_CHECK(plain.r == filtered.r);
    if (plain.r == PLAYLIST_OK) {
        fuzz_pl_align(text, len, plain.out, plain.out_len, tok);
        FUZZ_CHECK(
            fuzz_pl_line_subsequence(filtered.out, filtered.out_len, plain.out, plain.out_len));
    }
    free(plain.out);
    free(filtered.out);
    fuzz_pl_media(text, len, cap, tok);
    fuzz_pl_master(text, len, tok);
    free(text);
    return 0;
}
