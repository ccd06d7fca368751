/* test_playlist.c - HLS playlists: parsing what the real ffmpeg writes
 * (MPEG-TS and fMP4 ladders, a live sliding window), every error code on
 * hand-written input, every limit, duration arithmetic without floating
 * point, and the viewer rewrite: tokens on every URI, all other bytes
 * identical, filters that drop or cut segments. */
#include "harness.h"
#include "hls_fixture.h"
#include "playlist.h"

#define TOKEN "p1.0f8e2a4c-1b3d-4e5f-8a9b-0c1d2e3f4a5b.abc123.1700000000.deadbeef"
#define TEST_OUT_MAX ((size_t)4 << 20)

static struct hls_fixture fx;

struct test_text {
    char *p;
    size_t len;
};

static struct test_text test_load(const char *rel);
static enum playlist_result test_media(struct playlist_media *m, struct playlist_segment *segs,
                                       size_t cap, const char *text);
static void test_media_rejects(const char *text, enum playlist_result want, const char *what);
static void test_model_rewrite(struct buf *want, const char *text, size_t len);
static void test_rewrite_equals(const char *text, size_t len, const char *want, size_t want_len);

static struct test_text test_load(const char *rel)
{
    struct test_text t;
    t.p = (char *)hls_fixture_read(&fx, rel, &t.len);
    if (t.p == NULL) {
        fprintf(stdout, "# cannot read fixture %s\n", rel);
        abort();
    }
    return t;
}

static enum playlist_result test_media(struct playlist_media *m, struct playlist_segment *segs,
                                       size_t cap, const char *text)
{
    struct err e = {0};
    enum playlist_result r = playlist_parse_media(m, segs, cap, text, strlen(text), &e);
    if (r != PLAYLIST_OK)
        CHECK_MSG(e.code == (int)r && e.msg[0] != '\0', "code %d without message", (int)r);
    return r;
}

static void test_media_rejects(const char *text, enum playlist_result want, const char *what)
{
    struct playlist_segment segs[8];
    struct playlist_media m;
    struct err e = {0};
    enum playlist_result r = playlist_parse_media(&m, segs, 8, text, strlen(text), &e);
    CHECK_MSG(r == want, "%s: got %d (%s), want %d", what, (int)r, e.msg, (int)want);
    CHECK_MSG(e.code == (int)want && e.msg[0] != '\0', "%s: message", what);
}

/* ---- real ffmpeg output --------------------------------------------------------- */

static void test_ffmpeg_media_ts(void)
{
    for (int rendition = 0; rendition < 2; rendition++) {
        struct test_text t = test_load(rendition == 0 ? "ts/0/index.m3u8" : "ts/1/index.m3u8");
        struct playlist_segment segs[8];
        struct playlist_media m;
        CHECK_INT(test_media(&m, segs, 8, t.p), PLAYLIST_OK);
        CHECK_INT(m.target_duration_s, 1);
        CHECK_INT(m.media_sequence_first, 0);
        CHECK(m.ended);
        CHECK(!m.has_map);
        CHECK_INT(m.segment_count, HLS_FIXTURE_SEGMENTS);
        CHECK(m.segments == segs);
        for (size_t i = 0; i < m.segment_count && i < 8; i++) {
            char name[32];
            snprintf(name, sizeof name, "index%zu.ts", i);
            CHECK_STR(segs[i].name, name);
            CHECK_INT(segs[i].media_sequence, i);
            CHECK_INT(segs[i].duration_us, HLS_FIXTURE_SEGMENT_US);
        }
        free(t.p);
    }
}

static void test_ffmpeg_media_fmp4(void)
{
    struct test_text t = test_load("fm/0/index.m3u8");
    struct playlist_segment segs[8];
    struct playlist_media m;
    CHECK_INT(test_media(&m, segs, 8, t.p), PLAYLIST_OK);
    CHECK(m.has_map);
    CHECK_STR(m.map_name, "init.mp4");
    CHECK_INT(m.segment_count, HLS_FIXTURE_SEGMENTS);
    CHECK_STR(segs[2].name, "index2.m4s");
    CHECK_INT(segs[2].media_sequence, 2);
    CHECK_INT(segs[2].duration_us, HLS_FIXTURE_SEGMENT_US);
    /* a media playlist is not a master playlist */
    struct playlist_variant vars[4];
    struct playlist_master mm;
    CHECK_INT(playlist_parse_master(&mm, vars, 4, t.p, t.len, NULL), PLAYLIST_ERR_WRONG_KIND);
    free(t.p);
}

/* A live sliding window: ffmpeg keeps the last 2 segments and no ENDLIST. */
static void test_ffmpeg_live_window(void)
{
    hls_fixture_ffmpeg(&fx, "-f lavfi "
                            "-i testsrc=size=64x48:rate=10 -t 4 -c:v mpeg2video -g 10 -f hls "
                            "-hls_time 1 -hls_list_size 2 -hls_flags omit_endlist live.m3u8");
    struct test_text t = test_load("live.m3u8");
    struct playlist_segment segs[8];
    struct playlist_media m;
    CHECK_INT(test_media(&m, segs, 8, t.p), PLAYLIST_OK);
    CHECK(!m.ended);
    CHECK_INT(m.segment_count, 2);
    CHECK(m.media_sequence_first >= 1);
    CHECK_INT(segs[0].media_sequence, m.media_sequence_first);
    CHECK_INT(segs[1].media_sequence, m.media_sequence_first + 1);
    char name[32];
    snprintf(name, sizeof name, "live%llu.ts", (unsigned long long)m.media_sequence_first);
    CHECK_STR(segs[0].name, name);
    free(t.p);
}

static void test_ffmpeg_master(void)
{
    struct test_text t = test_load("ts/master.m3u8");
    struct playlist_variant vars[4];
    struct playlist_master mm;
    struct err e = {0};
    CHECK_INT(playlist_parse_master(&mm, vars, 4, t.p, t.len, &e), PLAYLIST_OK);
    CHECK_INT(mm.variant_count, 2);
    for (size_t i = 0; i < mm.variant_count && i < 2; i++) {
        const struct playlist_variant *v = &vars[i];
        char want_uri[32];
        snprintf(want_uri, sizeof want_uri, "%zu/index.m3u8", i);
        CHECK_INT(v->kind, PLAYLIST_VARIANT_STREAM);
        CHECK_STR(v->rendition, i == 0 ? "0" : "1");
        CHECK_STR(v->name, "index.m3u8");
        CHECK_INT(v->uri_len, strlen(want_uri));
        CHECK_MEM(t.p + v->uri_off, want_uri, v->uri_len);
        CHECK(v->bandwidth > 0);
        /* the attribute list as written: the rest of the STREAM-INF line */
        CHECK(v->attrs_off >= 18 && memcmp(t.p + v->attrs_off - 18, "#EXT-X-STREAM-INF:", 18) == 0);
        CHECK_INT(t.p[v->attrs_off + v->attrs_len], '\n');
        CHECK(memmem(t.p + v->attrs_off, v->attrs_len, "RESOLUTION=", 11) != NULL);
    }
    /* a master playlist is not a media playlist */
    struct playlist_segment segs[4];
    struct playlist_media m;
    CHECK_INT(playlist_parse_media(&m, segs, 4, t.p, t.len, NULL), PLAYLIST_ERR_WRONG_KIND);
    free(t.p);
    t = test_load("fm/master.m3u8");
    CHECK_INT(playlist_parse_master(&mm, vars, 4, t.p, t.len, &e), PLAYLIST_OK);
    CHECK_INT(mm.variant_count, 1);
    free(t.p);
}

/* An audio group: ffmpeg lists the audio playlist in EXT-X-MEDIA and again as
 * a variant of its own; it is one rendition. */
static void test_ffmpeg_audio_group(void)
{
    hls_fixture_ffmpeg(&fx, "-f lavfi "
                            "-i testsrc=size=64x48:rate=10 -f lavfi -i sine -t 2 -map 0:v -map 1:a "
                            "-c:v mpeg2video -g 10 -c:a aac -f hls -hls_time 1 "
                            "-master_pl_name master.m3u8 "
                            "-var_stream_map 'a:0,agroup:aud,name:audio v:0,agroup:aud,name:360p' "
                            "alt/%%v/index.m3u8");
    struct test_text t = test_load("alt/master.m3u8");
    struct playlist_variant vars[4];
    struct playlist_master mm;
    struct err e = {0};
    CHECK_INT(playlist_parse_master(&mm, vars, 4, t.p, t.len, &e), PLAYLIST_OK);
    CHECK_INT(mm.variant_count, 2);
    CHECK_INT(vars[0].kind, PLAYLIST_VARIANT_MEDIA);
    CHECK_STR(vars[0].rendition, "audio");
    CHECK_INT(vars[1].kind, PLAYLIST_VARIANT_STREAM);
    CHECK_STR(vars[1].rendition, "360p");
    free(t.p);
    t = test_load("alt/audio/index.m3u8");
    struct playlist_segment segs[4];
    struct playlist_media m;
    CHECK_INT(test_media(&m, segs, 4, t.p), PLAYLIST_OK);
    CHECK(m.segment_count >= 2);
    free(t.p);
}

/* ---- hand-written media playlists ------------------------------------------------- */

static void test_media_shapes(void)
{
    struct playlist_segment segs[8];
    struct playlist_media m;
    /* CRLF, comments, blank lines, no final newline, titles, EXTINF without a comma */
    const char *text =
        "#EXTM3U\r\n# a comment\r\n#EXT-X-VERSION:3\r\n\r\n#EXT-X-TARGETDURATION:6\r\n"
        "#EXT-X-MEDIA-SEQUENCE:41\r\n#EXT-X-KEY:METHOD=NONE\r\n"
        "#EXT-X-PROGRAM-DATE-TIME:2024-01-01T00:00:00Z\r\n#EXTINF:5.005,title x\r\n"
        "a_1.ts\r\n#EXT-X-DISCONTINUITY\r\n#EXTINF:6\r\nb-2.ts";
    CHECK_INT(test_media(&m, segs, 8, text), PLAYLIST_OK);
    CHECK_INT(m.target_duration_s, 6);
    CHECK_INT(m.media_sequence_first, 41);
    CHECK(!m.ended);
    CHECK_INT(m.segment_count, 2);
    CHECK_STR(segs[0].name, "a_1.ts");
    CHECK_INT(segs[0].media_sequence, 41);
    CHECK_INT(segs[0].duration_us, 5005000);
    CHECK_STR(segs[1].name, "b-2.ts");
    CHECK_INT(segs[1].media_sequence, 42);
    CHECK_INT(segs[1].duration_us, 6000000);
    /* a repeated identical MAP is fine; no segment at all is fine */
    text = "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-MAP:URI=\"init.mp4\"\n"
           "#EXT-X-MAP:URI=\"init.mp4\"\n#EXT-X-ENDLIST\n";
    CHECK_INT(test_media(&m, segs, 8, text), PLAYLIST_OK);
    CHECK(m.ended && m.has_map && m.segment_count == 0);
    /* the largest media sequence, then one past it */
    text = "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:4611686018427387904\n"
           "#EXTINF:2,\na.ts\n";
    CHECK_INT(test_media(&m, segs, 8, text), PLAYLIST_OK);
    CHECK_INT(segs[0].media_sequence, PLAYLIST_MEDIA_SEQUENCE_MAX);
    test_media_rejects(
        "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:4611686018427387904\n"
        "#EXTINF:2,\na.ts\n#EXTINF:2,\nb.ts\n",
        PLAYLIST_ERR_BAD_TAG, "sequence past the maximum");
    test_media_rejects(
        "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:4611686018427387905\n",
        PLAYLIST_ERR_BAD_TAG, "sequence over the maximum");
}

#define HDR "#EXTM3U\n#EXT-X-TARGETDURATION:2\n"

/* Media playlists and the exact code each gets. */
static const struct {
    const char *text;
    enum playlist_result want;
} test_media_bad[] = {
    {"", PLAYLIST_ERR_NOT_M3U},
    {"#EXTM3U8\n", PLAYLIST_ERR_NOT_M3U},
    {" #EXTM3U\n", PLAYLIST_ERR_NOT_M3U},
    {"\xef\xbb\xbf#EXTM3U\n", PLAYLIST_ERR_NOT_M3U},
    {"#EXT-X-TARGETDURATION:2\n#EXTM3U\n", PLAYLIST_ERR_NOT_M3U},
    {HDR "#EXTINF:2,\ta\n", PLAYLIST_ERR_BAD_CHAR},
    {HDR "#EXTINF:2,\na.ts\r\r\n", PLAYLIST_ERR_BAD_CHAR},
    {HDR "#EXTINF:2,\na\rb.ts\n", PLAYLIST_ERR_BAD_CHAR},
    {HDR "#EXTINF:2,\na.ts\x7f\n", PLAYLIST_ERR_BAD_CHAR},
    {HDR "#EXTINF:2,\na.ts\r", PLAYLIST_ERR_BAD_CHAR},
    {"#EXTM3U\n#EXT-X-TARGETDURATION:1.5\n", PLAYLIST_ERR_BAD_TAG},
    {"#EXTM3U\n#EXT-X-TARGETDURATION:-1\n", PLAYLIST_ERR_BAD_TAG},
    {"#EXTM3U\n#EXT-X-TARGETDURATION:\n", PLAYLIST_ERR_BAD_TAG},
    {"#EXTM3U\n#EXT-X-TARGETDURATION\n", PLAYLIST_ERR_BAD_TAG},
    {"#EXTM3U\n#EXT-X-TARGETDURATION:86401\n", PLAYLIST_ERR_BAD_TAG},
    {HDR "#EXT-X-MEDIA-SEQUENCE:x\n", PLAYLIST_ERR_BAD_TAG},
    {HDR "#EXT-X-MEDIA-SEQUENCE:99999999999999999999999\n", PLAYLIST_ERR_BAD_TAG},
    {HDR "#EXTINF:abc,\na.ts\n", PLAYLIST_ERR_BAD_TAG},
    {HDR "#EXTINF:,\na.ts\n", PLAYLIST_ERR_BAD_TAG},
    {HDR "#EXTINF:-1,\na.ts\n", PLAYLIST_ERR_BAD_TAG},
    {HDR "#EXTINF:1e3,\na.ts\n", PLAYLIST_ERR_BAD_TAG},
    {HDR "#EXTINF:86400.000001,\na.ts\n", PLAYLIST_ERR_BAD_TAG},
    {HDR "#EXT-X-MAP:URI=init.mp4\n", PLAYLIST_ERR_BAD_ATTRS},
    {HDR "#EXT-X-MAP:URI=\"init.mp4\n", PLAYLIST_ERR_BAD_ATTRS},
    {HDR "#EXT-X-MAP:uri=\"init.mp4\"\n", PLAYLIST_ERR_BAD_ATTRS},
    {HDR "#EXT-X-MAP:URI=\"init.mp4\",\n", PLAYLIST_ERR_BAD_ATTRS},
    {HDR "#EXT-X-MAP:URI=\"init.mp4\"X=1\n", PLAYLIST_ERR_BAD_ATTRS},
    {HDR "#EXT-X-MAP:X=1\n", PLAYLIST_ERR_BAD_ATTRS},
    {HDR "#EXTINF:2,\nsub/a.ts\n", PLAYLIST_ERR_BAD_URI},
    {HDR "#EXTINF:2,\n../a.ts\n", PLAYLIST_ERR_BAD_URI},
    {HDR "#EXTINF:2,\n..\n", PLAYLIST_ERR_BAD_URI},
    {HDR "#EXTINF:2,\na.ts?x=1\n", PLAYLIST_ERR_BAD_URI},
    {HDR "#EXTINF:2,\na b.ts\n", PLAYLIST_ERR_BAD_URI},
    {HDR "#EXTINF:2,\n%2e%2e.ts\n", PLAYLIST_ERR_BAD_URI},
    {HDR "#EXTINF:2,\nindex.m3u8\n", PLAYLIST_ERR_BAD_URI},
    {HDR "#EXTINF:2,\ninit.mp4\n", PLAYLIST_ERR_BAD_URI},
    {HDR "#EXT-X-MAP:URI=\"seg.m4s\"\n", PLAYLIST_ERR_BAD_URI},
    {HDR "#EXT-X-MAP:URI=\"../init.mp4\"\n", PLAYLIST_ERR_BAD_URI},
    {HDR "#EXTINF:2,\nhttp://evil.example/a.ts\n", PLAYLIST_ERR_ABSOLUTE_URI},
    {HDR "#EXTINF:2,\n/a.ts\n", PLAYLIST_ERR_ABSOLUTE_URI},
    {HDR "#EXTINF:2,\n//evil.example/a.ts\n", PLAYLIST_ERR_ABSOLUTE_URI},
    {HDR "#EXTINF:2,\n\\a.ts\n", PLAYLIST_ERR_ABSOLUTE_URI},
    {HDR "#EXT-X-MAP:URI=\"https://evil.example/init.mp4\"\n", PLAYLIST_ERR_ABSOLUTE_URI},
    {"#EXTM3U\n#EXTINF:2,\na.ts\n", PLAYLIST_ERR_MISSING_TAG},
    {HDR "a.ts\n", PLAYLIST_ERR_MISSING_TAG},
    {HDR "#EXTINF:2,\n", PLAYLIST_ERR_MISSING_URI},
    {HDR "#EXTINF:2,\n#EXTINF:2,\na.ts\n", PLAYLIST_ERR_MISSING_URI},
    {HDR "#EXT-X-STREAM-INF:BANDWIDTH=1\n0/index.m3u8\n", PLAYLIST_ERR_WRONG_KIND},
    {HDR "#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"a\",NAME=\"a\"\n", PLAYLIST_ERR_WRONG_KIND},
    {HDR "#EXT-X-TARGETDURATION:2\n", PLAYLIST_ERR_DUPLICATE},
    {HDR "#EXT-X-MEDIA-SEQUENCE:1\n#EXT-X-MEDIA-SEQUENCE:1\n", PLAYLIST_ERR_DUPLICATE},
    {HDR "#EXT-X-ENDLIST\n#EXT-X-ENDLIST\n", PLAYLIST_ERR_DUPLICATE},
    {HDR "#EXTINF:2,\na.ts\n#EXT-X-MEDIA-SEQUENCE:1\n", PLAYLIST_ERR_ORDER},
    {HDR "#EXTINF:2,\n#EXT-X-MEDIA-SEQUENCE:1\na.ts\n", PLAYLIST_ERR_ORDER},
    {HDR "#EXT-X-ENDLIST\n#EXTINF:2,\na.ts\n", PLAYLIST_ERR_ORDER},
    {HDR "#EXTINF:2,\n#EXT-X-ENDLIST\na.ts\n", PLAYLIST_ERR_ORDER},
    {HDR "#EXTINF:2,\n#EXT-X-BYTERANGE:100@0\na.ts\n", PLAYLIST_ERR_UNSUPPORTED},
    {HDR "#EXT-X-KEY:METHOD=AES-128,URI=\"k.key\"\n", PLAYLIST_ERR_UNSUPPORTED},
    {HDR "#EXT-X-KEY:URI=\"k.key\"\n", PLAYLIST_ERR_UNSUPPORTED},
    {HDR "#EXT-X-MAP:URI=\"init.mp4\",BYTERANGE=\"100@0\"\n", PLAYLIST_ERR_UNSUPPORTED},
    {HDR "#EXT-X-MAP:URI=\"init.mp4\"\n#EXT-X-MAP:URI=\"init2.mp4\"\n", PLAYLIST_ERR_UNSUPPORTED},
};

static void test_media_errors(void)
{
    for (size_t i = 0; i < sizeof test_media_bad / sizeof test_media_bad[0]; i++) {
        char what[64];
        snprintf(what, sizeof what, "case %zu", i);
        test_media_rejects(test_media_bad[i].text, test_media_bad[i].want, what);
    }
    struct playlist_segment segs[2];
    struct playlist_media m;
    struct err e;
    const char *t = HDR "#EXTINF:2,\n../a.ts\n";
    CHECK_INT(playlist_parse_media(&m, segs, 2, t, strlen(t), &e), PLAYLIST_ERR_BAD_URI);
    CHECK_STR(e.msg, "line 4: uri '../a.ts' is not an allowed segment name");
}

static void test_durations(void)
{
    static const struct {
        const char *text;
        uint64_t us; /* UINT64_MAX: rejected */
    } cases[] = {
        {"2", 2000000},
        {"2.5", 2500000},
        {"0", 0},
        {"0.000001", 1},
        {"1.0000009", 1000000},
        {"9.999999999", 9999999},
        {"007.50", 7500000},
        {"86400", 86400000000},
        {"86400.000000", 86400000000},
        {"86400.0000001", 86400000000},
        {"86400.000001", UINT64_MAX},
        {"86401", UINT64_MAX},
        {".5", UINT64_MAX},
        {"1.", UINT64_MAX},
        {"", UINT64_MAX},
        {"+1", UINT64_MAX},
        {"1.2.3", UINT64_MAX},
        {" 1", UINT64_MAX},
        {"1 ", UINT64_MAX},
        {"0x10", UINT64_MAX},
        {"99999999999999999999999", UINT64_MAX},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint64_t us = 12345;
        bool ok = playlist_duration_us(&us, cases[i].text, strlen(cases[i].text));
        CHECK_MSG(ok == (cases[i].us != UINT64_MAX), "'%s'", cases[i].text);
        CHECK_MSG(!ok || us == cases[i].us, "'%s': %llu", cases[i].text, (unsigned long long)us);
        if (!ok)
            CHECK_INT(us, 12345);
    }
    /* every millisecond value of 0..10 s written with 3 decimals */
    for (unsigned ms = 0; ms <= 10000; ms++) {
        char buf[32];
        int n = snprintf(buf, sizeof buf, "%u.%03u", ms / 1000, ms % 1000);
        uint64_t us = 0;
        CHECK(playlist_duration_us(&us, buf, (size_t)n) && us == (uint64_t)ms * 1000);
    }
}

static void test_limits(void)
{
    size_t cap = PLAYLIST_BYTES_MAX + 64;
    char *big = malloc(cap);
    struct playlist_segment *segs = malloc((PLAYLIST_SEGMENTS_MAX + 1) * sizeof *segs);
    struct playlist_media m;
    /* exactly PLAYLIST_SEGMENTS_MAX segments fit; one more does not */
    size_t n = (size_t)snprintf(big, cap, HDR);
    for (int i = 0; i < PLAYLIST_SEGMENTS_MAX; i++)
        n += (size_t)snprintf(big + n, cap - n, "#EXTINF:2,\n%d.ts\n", i % 10);
    CHECK_INT(playlist_parse_media(&m, segs, PLAYLIST_SEGMENTS_MAX + 1, big, n, NULL), PLAYLIST_OK);
    CHECK_INT(m.segment_count, PLAYLIST_SEGMENTS_MAX);
    CHECK_INT(playlist_parse_media(&m, segs, PLAYLIST_SEGMENTS_MAX - 1, big, n, NULL),
              PLAYLIST_ERR_TOO_MANY_SEGMENTS);
    size_t more = n + (size_t)snprintf(big + n, cap - n, "#EXTINF:2,\nx.ts\n");
    CHECK_INT(playlist_parse_media(&m, segs, PLAYLIST_SEGMENTS_MAX + 1, big, more, NULL),
              PLAYLIST_ERR_TOO_MANY_SEGMENTS);
    /* lines: the header's 2 lines in strlen(HDR) bytes, then one line per '\n' */
    memset(big, '\n', cap);
    memcpy(big, HDR, strlen(HDR));
    size_t lines_max_bytes = PLAYLIST_LINES_MAX - 2 + strlen(HDR);
    CHECK_INT(playlist_parse_media(&m, segs, 1, big, lines_max_bytes, NULL), PLAYLIST_OK);
    CHECK_INT(playlist_parse_media(&m, segs, 1, big, lines_max_bytes + 1, NULL),
              PLAYLIST_ERR_TOO_MANY_LINES);
    /* bytes: over the maximum is refused before anything is read */
    memset(big + strlen(HDR), '#', cap - strlen(HDR));
    CHECK_INT(playlist_parse_media(&m, segs, 1, big, PLAYLIST_BYTES_MAX + 1, NULL),
              PLAYLIST_ERR_TOO_BIG);
    /* a line of PLAYLIST_LINE_BYTES_MAX bytes, then one byte more */
    size_t at = strlen(HDR);
    big[at + PLAYLIST_LINE_BYTES_MAX] = '\n';
    CHECK_INT(playlist_parse_media(&m, segs, 1, big, at + PLAYLIST_LINE_BYTES_MAX + 1, NULL),
              PLAYLIST_OK);
    big[at + PLAYLIST_LINE_BYTES_MAX] = '\r';
    big[at + PLAYLIST_LINE_BYTES_MAX + 1] = '\n';
    CHECK_INT(playlist_parse_media(&m, segs, 1, big, at + PLAYLIST_LINE_BYTES_MAX + 2, NULL),
              PLAYLIST_OK);
    big[at + PLAYLIST_LINE_BYTES_MAX] = '#';
    big[at + PLAYLIST_LINE_BYTES_MAX + 1] = '\n';
    CHECK_INT(playlist_parse_media(&m, segs, 1, big, at + PLAYLIST_LINE_BYTES_MAX + 2, NULL),
              PLAYLIST_ERR_LINE_TOO_LONG);
    CHECK_INT(playlist_parse_media(&m, segs, 1, big, PLAYLIST_BYTES_MAX, NULL),
              PLAYLIST_ERR_LINE_TOO_LONG);
    free(segs);
    free(big);
}

/* ---- master playlists ------------------------------------------------------------ */

#define MHDR "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\n"

static void test_master_shapes(void)
{
    const char *text =
        "#EXTM3U\n#EXT-X-INDEPENDENT-SEGMENTS\n"
        "#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"aud\",NAME=\"audio_0\",DEFAULT=YES,URI=\"audio/"
        "index.m3u8\"\n"
        "#EXT-X-STREAM-INF:BANDWIDTH=2800000,RESOLUTION=1280x720,CODECS=\"avc1.64001f,mp4a.40.2\","
        "AUDIO=\"aud\"\n./720p/index.m3u8\n\n# comment\n"
        "#EXT-X-STREAM-INF:BANDWIDTH=800000\n360p/live.m3u8\n";
    struct playlist_variant vars[4];
    struct playlist_master mm;
    struct err e = {0};
    CHECK_INT(playlist_parse_master(&mm, vars, 4, text, strlen(text), &e), PLAYLIST_OK);
    CHECK_INT(mm.variant_count, 3);
    CHECK_INT(vars[0].kind, PLAYLIST_VARIANT_MEDIA);
    CHECK_STR(vars[0].rendition, "audio");
    CHECK_INT(vars[0].bandwidth, 0);
    CHECK_INT(vars[1].kind, PLAYLIST_VARIANT_STREAM);
    CHECK_STR(vars[1].rendition, "720p");
    CHECK_INT(vars[1].bandwidth, 2800000);
    CHECK_INT(vars[1].uri_len, strlen("./720p/index.m3u8"));
    CHECK_MEM(text + vars[1].uri_off, "./720p/index.m3u8", vars[1].uri_len);
    CHECK_MEM(text + vars[1].attrs_off, "BANDWIDTH=2800000,RESOLUTION", 28);
    CHECK_STR(vars[2].rendition, "360p");
    CHECK_STR(vars[2].name, "live.m3u8");
    CHECK_INT(vars[2].bandwidth, 800000);
    /* the same URI again adds nothing; the same rendition under another name is refused */
    const char *again = MHDR "0/index.m3u8\n#EXT-X-STREAM-INF:BANDWIDTH=2\n./0/index.m3u8\n";
    CHECK_INT(playlist_parse_master(&mm, vars, 4, again, strlen(again), NULL), PLAYLIST_OK);
    CHECK_INT(mm.variant_count, 1);
    CHECK_INT(vars[0].bandwidth, 1);
    /* too few entries in the caller's array */
    CHECK_INT(playlist_parse_master(&mm, vars, 2, text, strlen(text), NULL),
              PLAYLIST_ERR_TOO_MANY_SEGMENTS);
}

static void test_master_errors(void)
{
    static const struct {
        const char *text;
        enum playlist_result want;
    } bad[] = {
        {"#EXTM3U\n", PLAYLIST_ERR_MISSING_TAG},
        {"#EXTM3U\n0/index.m3u8\n", PLAYLIST_ERR_MISSING_TAG},
        {MHDR, PLAYLIST_ERR_MISSING_URI},
        {MHDR "#EXT-X-VERSION:3\n0/index.m3u8\n", PLAYLIST_ERR_MISSING_URI},
        {MHDR "0/index.m3u8\n#EXT-X-STREAM-INF:BANDWIDTH=2\n./0/other.m3u8\n",
         PLAYLIST_ERR_DUPLICATE},
        {MHDR "index.m3u8\n", PLAYLIST_ERR_BAD_URI},
        {MHDR "0/a/index.m3u8\n", PLAYLIST_ERR_BAD_URI},
        {MHDR "../0/index.m3u8\n", PLAYLIST_ERR_BAD_URI},
        {MHDR "0/index.ts\n", PLAYLIST_ERR_BAD_URI},
        {MHDR "0/index.m3u8?x=1\n", PLAYLIST_ERR_BAD_URI},
        {MHDR "./\n", PLAYLIST_ERR_BAD_URI},
        {MHDR "https://cdn.example/0/index.m3u8\n", PLAYLIST_ERR_ABSOLUTE_URI},
        {MHDR "/0/index.m3u8\n", PLAYLIST_ERR_ABSOLUTE_URI},
        {"#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=x\n0/index.m3u8\n", PLAYLIST_ERR_BAD_ATTRS},
        {"#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1,\n0/index.m3u8\n", PLAYLIST_ERR_BAD_ATTRS},
        {"#EXTM3U\n#EXT-X-STREAM-INF:CODECS=\"a\n0/index.m3u8\n", PLAYLIST_ERR_BAD_ATTRS},
        {"#EXTM3U\n#EXT-X-MEDIA:TYPE=AUDIO,URI=\"0/index.m3u8\n", PLAYLIST_ERR_BAD_ATTRS},
        {"#EXTM3U\n#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=1,URI=\"0/i.m3u8\"\n",
         PLAYLIST_ERR_UNSUPPORTED},
        {MHDR "0/index.m3u8\n#EXTINF:2,\n", PLAYLIST_ERR_WRONG_KIND},
        {"#EXTM3U\n#EXT-X-TARGETDURATION:2\n", PLAYLIST_ERR_WRONG_KIND},
        {"#EXTM3U\n#EXT-X-ENDLIST\n", PLAYLIST_ERR_WRONG_KIND},
        {"#EXTM3U\r#EXT-X-STREAM-INF:BANDWIDTH=1\n0/index.m3u8\n", PLAYLIST_ERR_NOT_M3U},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct playlist_variant vars[4];
        struct playlist_master mm;
        struct err e = {0};
        enum playlist_result r =
            playlist_parse_master(&mm, vars, 4, bad[i].text, strlen(bad[i].text), &e);
        CHECK_MSG(r == bad[i].want, "case %zu: got %d (%s), want %d", i, (int)r, e.msg,
                  (int)bad[i].want);
        CHECK_INT(e.code, bad[i].want);
    }
    /* at most PLAYLIST_VARIANTS_MAX even with a larger array */
    struct buf b;
    buf_init(&b, 1 << 20);
    CHECK_INT(buf_append_str(&b, "#EXTM3U\n"), BUF_OK);
    for (int i = 0; i <= PLAYLIST_VARIANTS_MAX; i++)
        CHECK_INT(buf_printf(&b, "#EXT-X-STREAM-INF:BANDWIDTH=%d\nr%d/index.m3u8\n", i + 1, i),
                  BUF_OK);
    struct playlist_variant many[PLAYLIST_VARIANTS_MAX + 4];
    struct playlist_master mm;
    CHECK_INT(playlist_parse_master(&mm, many, PLAYLIST_VARIANTS_MAX + 4, (const char *)b.data,
                                    b.len, NULL),
              PLAYLIST_ERR_TOO_MANY_SEGMENTS);
    buf_release(&b);
}

/* ---- rewriting ------------------------------------------------------------------- */

/* The expected rewrite of simple ffmpeg output, built line by line: a URI
 * line gets "?token=", a URI="x" attribute becomes URI="x?token=". */
static void test_model_rewrite(struct buf *want, const char *text, size_t len)
{
    const char *p = text, *end = text + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t line = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);
        const char *uri = memmem(p, line, "URI=\"", 5);
        if (line > 0 && p[0] != '#') {
            CHECK_INT(buf_append(want, p, line), BUF_OK);
            CHECK_INT(buf_append_str(want, "?token=" TOKEN), BUF_OK);
        } else if (uri != NULL) {
            const char *close = memchr(uri + 5, '"', (size_t)(p + line - uri - 5));
            CHECK(close != NULL);
            CHECK_INT(buf_append(want, p, (size_t)(close - p)), BUF_OK);
            CHECK_INT(buf_append_str(want, "?token=" TOKEN), BUF_OK);
            CHECK_INT(buf_append(want, close, (size_t)(p + line - close)), BUF_OK);
        } else {
            CHECK_INT(buf_append(want, p, line), BUF_OK);
        }
        if (nl != NULL)
            CHECK_INT(buf_append_byte(want, '\n'), BUF_OK);
        p += line + (nl != NULL);
    }
}

static void test_rewrite_equals(const char *text, size_t len, const char *want, size_t want_len)
{
    struct buf out;
    buf_init(&out, TEST_OUT_MAX);
    struct err e = {0};
    CHECK_INT(playlist_rewrite(&out, text, len, TOKEN, strlen(TOKEN), NULL, &e), PLAYLIST_OK);
    CHECK_MSG(out.len == want_len && memcmp(out.data, want, want_len) == 0, "got:\n%s\nwant:\n%.*s",
              out.data, (int)want_len, want);
    buf_release(&out);
}

static void test_rewrite_ffmpeg(void)
{
    static const char *const names[] = {"ts/master.m3u8", "ts/0/index.m3u8", "ts/1/index.m3u8",
                                        "fm/master.m3u8", "fm/0/index.m3u8"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        struct test_text t = test_load(names[i]);
        struct buf want;
        buf_init(&want, TEST_OUT_MAX);
        test_model_rewrite(&want, t.p, t.len);
        test_rewrite_equals(t.p, t.len, (const char *)want.data, want.len);
        buf_release(&want);
        free(t.p);
    }
}

static void test_rewrite_shapes(void)
{
    const char *in =
        "#EXTM3U\r\n# comment URI=\"x\"\r\n"
        "#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"a\",NAME=\"xURI=y\",URI=\"audio/index.m3u8\"\r\n"
        "#EXT-X-MEDIA:TYPE=CLOSED-CAPTIONS,GROUP-ID=\"cc\",NAME=\"c\",INSTREAM-ID=\"CC1\"\n"
        "#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=1,URI=\"0/iframe.m3u8\"\n"
        "#EXT-X-SESSION-KEY:METHOD=AES-128,URI=\"key?id=1\"\n"
        "#EXT-X-STREAM-INF:BANDWIDTH=1,CODECS=\"avc1,mp4a\"\n0/index.m3u8?v=2\n"
        "#EXT-X-MAP:URI=\"init.mp4#frag\"\n#EXT-X-KEY:METHOD=NONE\n"
        "#EXT-X-PROGRAM-DATE-TIME:2024-01-01T00:00:00Z\n#EXTINF:1,\nseg.ts#t=1\n\nlast.ts";
    const char *want =
        "#EXTM3U\r\n# comment URI=\"x\"\r\n"
        "#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"a\",NAME=\"xURI=y\",URI=\"audio/index.m3u8?token=" TOKEN
        "\"\r\n#EXT-X-MEDIA:TYPE=CLOSED-CAPTIONS,GROUP-ID=\"cc\",NAME=\"c\",INSTREAM-ID=\"CC1\"\n"
        "#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=1,URI=\"0/iframe.m3u8?token=" TOKEN "\"\n"
        "#EXT-X-SESSION-KEY:METHOD=AES-128,URI=\"key?id=1&token=" TOKEN "\"\n"
        "#EXT-X-STREAM-INF:BANDWIDTH=1,CODECS=\"avc1,mp4a\"\n0/index.m3u8?v=2&token=" TOKEN "\n"
        "#EXT-X-MAP:URI=\"init.mp4?token=" TOKEN "#frag\"\n#EXT-X-KEY:METHOD=NONE\n"
        "#EXT-X-PROGRAM-DATE-TIME:2024-01-01T00:00:00Z\n#EXTINF:1,\nseg.ts?token=" TOKEN
        "#t=1\n\nlast.ts?token=" TOKEN;
    test_rewrite_equals(in, strlen(in), want, strlen(want));
}

struct test_filter_ctx {
    uint64_t seen[16];
    size_t count;
    uint64_t truncate_at; /* UINT64_MAX: never */
};

static enum playlist_verdict test_verdict(void *ctx, uint64_t seq, const char *uri, size_t len)
{
    struct test_filter_ctx *c = ctx;
    (void)uri;
    (void)len;
    if (c->count < 16)
        c->seen[c->count++] = seq;
    if (seq >= c->truncate_at)
        return PLAYLIST_TRUNCATE;
    return seq % 2 == 0 ? PLAYLIST_DROP : PLAYLIST_KEEP;
}

static void test_rewrite_filter(void)
{
    const char *in = "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:5\n"
                     "#EXT-X-MAP:URI=\"init.mp4\"\n#EXTINF:2,\na5.m4s\n#EXTINF:2,\n"
                     "#EXT-X-BITRATE:5\na6.m4s\n#EXT-X-DISCONTINUITY\n#EXTINF:2,\na7.m4s\n"
                     "#EXTINF:2,\na8.m4s\n#EXTINF:2,\na9.m4s\n#EXT-X-ENDLIST\n";
    struct test_filter_ctx ctx = {.truncate_at = UINT64_MAX};
    struct playlist_filter f = {test_verdict, &ctx};
    struct buf out;
    buf_init(&out, TEST_OUT_MAX);
    struct err e = {0};
    CHECK_INT(playlist_rewrite(&out, in, strlen(in), "t", 1, &f, &e), PLAYLIST_OK);
    CHECK_STR((const char *)out.data,
              "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:5\n"
              "#EXT-X-MAP:URI=\"init.mp4?token=t\"\n#EXTINF:2,\na5.m4s?token=t\n"
              "#EXT-X-DISCONTINUITY\n#EXTINF:2,\na7.m4s?token=t\n#EXTINF:2,\na9.m4s?token=t\n"
              "#EXT-X-ENDLIST\n");
    CHECK_INT(ctx.count, 5);
    for (size_t i = 0; i < ctx.count; i++)
        CHECK_INT(ctx.seen[i], 5 + i);
    /* truncation at 8: a5 kept, a6 dropped, a7 kept, then the end (no ENDLIST) */
    buf_reset(&out);
    ctx = (struct test_filter_ctx){.truncate_at = 8};
    CHECK_INT(playlist_rewrite(&out, in, strlen(in), "t", 1, &f, &e), PLAYLIST_OK);
    CHECK_STR((const char *)out.data,
              "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:5\n"
              "#EXT-X-MAP:URI=\"init.mp4?token=t\"\n#EXTINF:2,\na5.m4s?token=t\n"
              "#EXT-X-DISCONTINUITY\n#EXTINF:2,\na7.m4s?token=t\n");
    CHECK_INT(ctx.count, 4);
    /* a segment the filter drops is still checked: the same error as without a filter */
    const char *abs = "#EXTM3U\n#EXTINF:2,\nhttp://evil.example/a0.ts\n";
    ctx = (struct test_filter_ctx){.truncate_at = UINT64_MAX};
    CHECK_INT(playlist_rewrite(&out, abs, strlen(abs), "t", 1, &f, &e), PLAYLIST_ERR_ABSOLUTE_URI);
    CHECK_INT(ctx.count, 0);
    buf_release(&out);
}

static void test_rewrite_errors(void)
{
    struct buf out;
    buf_init(&out, 4096);
    CHECK_INT(buf_append_str(&out, "kept"), BUF_OK);
    static const char *const bad_tokens[] = {"", "a b", "a&b", "a?b", "a/b", "a%20", "a\"b", "é"};
    const char *ok = "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\n0/index.m3u8\n";
    for (size_t i = 0; i < sizeof bad_tokens / sizeof bad_tokens[0]; i++)
        CHECK_INT(playlist_rewrite(&out, ok, strlen(ok), bad_tokens[i], strlen(bad_tokens[i]), NULL,
                                   NULL),
                  PLAYLIST_ERR_BAD_TOKEN);
    char long_token[PLAYLIST_TOKEN_BYTES_MAX + 1];
    memset(long_token, 'a', sizeof long_token);
    CHECK_INT(playlist_rewrite(&out, ok, strlen(ok), long_token, sizeof long_token, NULL, NULL),
              PLAYLIST_ERR_BAD_TOKEN);
    static const struct {
        const char *text;
        enum playlist_result want;
    } bad[] = {
        {"#EXTM3U\n#EXTINF:1,\nhttp://evil.example/a.ts\n", PLAYLIST_ERR_ABSOLUTE_URI},
        {"#EXTM3U\n#EXTINF:1,\na.ts\n/b.ts\n", PLAYLIST_ERR_ABSOLUTE_URI},
        {"#EXTM3U\n#EXT-X-MAP:URI=\"https://evil.example/i.mp4\"\n", PLAYLIST_ERR_ABSOLUTE_URI},
        {"#EXTM3U\n#EXT-X-KEY:METHOD=AES-128,URI=\"skd://key\"\n", PLAYLIST_ERR_ABSOLUTE_URI},
        {"#EXTM3U\n#EXT-X-MAP:URI=\"\"\n", PLAYLIST_ERR_BAD_URI},
        {"#EXTM3U\n#EXT-X-MAP:URI=init.mp4\n", PLAYLIST_ERR_BAD_ATTRS},
        {"#EXTM3U\n#EXT-X-MEDIA-SEQUENCE:x\n", PLAYLIST_ERR_BAD_TAG},
        {"#EXTM3U\n#EXTINF:1,\na.ts\n#EXT-X-MEDIA-SEQUENCE:3\n", PLAYLIST_ERR_ORDER},
        {"#EXTM3U\n#EXTINF:1,\n#EXT-X-MEDIA-SEQUENCE:3\na.ts\n", PLAYLIST_ERR_ORDER},
        {"#EXTM3U\n#EXTINF:1,\n", PLAYLIST_ERR_MISSING_URI},
        {"#EXTM3U\n#EXTINF:1,\n#EXTINF:1,\na.ts\n", PLAYLIST_ERR_MISSING_URI},
        {"#EXTM3U\na.ts\x01\n", PLAYLIST_ERR_BAD_CHAR},
        {"EXTM3U\n", PLAYLIST_ERR_NOT_M3U},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct err e = {0};
        enum playlist_result r =
            playlist_rewrite(&out, bad[i].text, strlen(bad[i].text), "t", 1, NULL, &e);
        CHECK_MSG(r == bad[i].want, "case %zu: got %d (%s), want %d", i, (int)r, e.msg,
                  (int)bad[i].want);
        CHECK_INT(e.code, bad[i].want);
        CHECK_STR((const char *)out.data, "kept"); /* restored */
    }
    /* the output maximum: exactly enough, then one byte short */
    const char *want = "kept#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\n0/index.m3u8?token=t\n";
    struct buf small;
    buf_init(&small, strlen(want));
    CHECK_INT(buf_append_str(&small, "kept"), BUF_OK);
    CHECK_INT(playlist_rewrite(&small, ok, strlen(ok), "t", 1, NULL, NULL), PLAYLIST_OK);
    CHECK_STR((const char *)small.data, want);
    buf_release(&small);
    buf_init(&small, strlen(want) - 1);
    CHECK_INT(buf_append_str(&small, "kept"), BUF_OK);
    CHECK_INT(playlist_rewrite(&small, ok, strlen(ok), "t", 1, NULL, NULL),
              PLAYLIST_ERR_OUT_TOO_BIG);
    CHECK_INT(small.len, 4);
    CHECK_STR((const char *)small.data, "kept");
    buf_release(&small);
    buf_release(&out);
}

int main(void)
{
    hls_fixture_make(&fx, "test_playlist");
    RUN(test_ffmpeg_media_ts);
    RUN(test_ffmpeg_media_fmp4);
    RUN(test_ffmpeg_live_window);
    RUN(test_ffmpeg_master);
    RUN(test_ffmpeg_audio_group);
    RUN(test_media_shapes);
    RUN(test_media_errors);
    RUN(test_durations);
    RUN(test_limits);
    RUN(test_master_shapes);
    RUN(test_master_errors);
    RUN(test_rewrite_ffmpeg);
    RUN(test_rewrite_shapes);
    RUN(test_rewrite_filter);
    RUN(test_rewrite_errors);
    hls_fixture_remove(&fx);
    return harness_finish();
}
