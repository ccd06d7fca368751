/* test_media.c - segment validation with libavformat: real ffmpeg segments
 * (MPEG-TS, fMP4 with its init segment, ADTS AAC) are accepted with the
 * right container, streams and duration; empty, oversized, garbage, text,
 * m3u8, PNG, WebVTT, truncated and re-framed bodies are rejected with their
 * exact codes; several threads validate at once. */
#include "harness.h"
#include "hls_fixture.h"
#include "media.h"

#include <pthread.h>

#define TEST_DURATION_SLACK_US 50000 /* video span vs #EXTINF: one 10 fps frame is 100 ms */
#define TEST_THREADS 4
#define TEST_THREAD_ROUNDS 3

static struct hls_fixture fx;
static uint64_t test_seed;

struct test_blob {
    unsigned char *data;
    size_t len;
};

static struct test_blob test_load(const char *rel);
static void test_expect(enum media_result want, const uint8_t *init, size_t init_len,
                        const uint8_t *data, size_t data_len, const char *what);
static void *test_thread_main(void *arg);
static void test_check_duration(const struct media_info *info, const char *what);
static void test_check_info(const struct media_info *info, const char *container, unsigned video,
                            unsigned audio);

static struct test_blob test_load(const char *rel)
{
    struct test_blob b;
    b.data = hls_fixture_read(&fx, rel, &b.len);
    if (b.data == NULL) {
        fprintf(stdout, "# cannot read fixture %s\n", rel);
        abort();
    }
    return b;
}

static void test_expect(enum media_result want, const uint8_t *init, size_t init_len,
                        const uint8_t *data, size_t data_len, const char *what)
{
    struct media_info info;
    struct err e = {0};
    enum media_result r = media_check_segment(&info, init, init_len, data, data_len, &e);
    CHECK_MSG(r == want, "%s: got %d (%s), want %d", what, (int)r, e.msg, (int)want);
    if (want != MEDIA_OK && r == want)
        CHECK_MSG(e.code == (int)want && e.msg[0] != '\0', "%s: no error message", what);
}

static void test_check_info(const struct media_info *info, const char *container, unsigned video,
                            unsigned audio)
{
    CHECK_STR(info->container, container);
    CHECK_INT(info->video_count, video);
    CHECK_INT(info->audio_count, audio);
    CHECK_INT(info->stream_count, video + audio);
}

/* The fixture's segments are 1 s long (#EXTINF:1.000000). */
static void test_check_duration(const struct media_info *info, const char *what)
{
    uint64_t d = info->duration_us;
    CHECK_MSG(d + TEST_DURATION_SLACK_US >= HLS_FIXTURE_SEGMENT_US &&
                  d <= HLS_FIXTURE_SEGMENT_US + TEST_DURATION_SLACK_US,
              "%s: duration %llu us", what, (unsigned long long)d);
    fprintf(stdout, "# %s: %llu us, %llu packets\n", what, (unsigned long long)d,
            (unsigned long long)info->packet_count);
}

static void test_ts_segments(void)
{
    static const char *const names[] = {"ts/0/index0.ts", "ts/0/index1.ts", "ts/0/index2.ts",
                                        "ts/1/index0.ts", "ts/1/index1.ts", "ts/1/index2.ts"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        struct test_blob b = test_load(names[i]);
        struct media_info info;
        struct err e = {0};
        CHECK_INT(media_check_segment(&info, NULL, 0, b.data, b.len, &e), MEDIA_OK);
        test_check_info(&info, "mpegts", 1, 1);
        CHECK(info.packet_count > 10);
        test_check_duration(&info, names[i]);
        free(b.data);
    }
}

static void test_fmp4_segments(void)
{
    struct test_blob init = test_load("fm/0/init.mp4");
    struct media_info info;
    struct err e = {0};
    CHECK_INT(media_check_init(&info, init.data, init.len, &e), MEDIA_OK);
    test_check_info(&info, "mov", 1, 1);
    CHECK_INT(info.packet_count, 0);
    /* as a segment the init has no packet */
    test_expect(MEDIA_ERR_NO_PACKETS, NULL, 0, init.data, init.len, "init alone");
    static const char *const names[] = {"fm/0/index0.m4s", "fm/0/index1.m4s", "fm/0/index2.m4s"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        struct test_blob b = test_load(names[i]);
        CHECK_INT(media_check_segment(&info, init.data, init.len, b.data, b.len, &e), MEDIA_OK);
        test_check_info(&info, "mov", 1, 1);
        test_check_duration(&info, names[i]);
        /* cut anywhere inside: the box sizes no longer tile it */
        test_expect(MEDIA_ERR_TRUNCATED, init.data, init.len, b.data, b.len - 1, "m4s cut by 1");
        test_expect(MEDIA_ERR_TRUNCATED, init.data, init.len, b.data, b.len / 2, "m4s halved");
        /* a media segment without its init cannot be demuxed */
        struct media_info alone;
        CHECK(media_check_segment(&alone, NULL, 0, b.data, b.len, &e) != MEDIA_OK);
        free(b.data);
    }
    /* an init cut short */
    test_expect(MEDIA_ERR_TRUNCATED, NULL, 0, init.data, init.len - 7, "init cut");
    CHECK_INT(media_check_init(&info, init.data, init.len - 7, &e), MEDIA_ERR_TRUNCATED);
    free(init.data);
}

static void test_aac_adts(void)
{
    hls_fixture_ffmpeg(&fx, "-f lavfi "
                            "-i sine=sample_rate=44100 -t 1 -c:a aac -f adts tone.aac");
    struct test_blob b = test_load("tone.aac");
    struct media_info info;
    struct err e = {0};
    CHECK_INT(media_check_segment(&info, NULL, 0, b.data, b.len, &e), MEDIA_OK);
    test_check_info(&info, "aac", 0, 1);
    CHECK_MSG(info.duration_us >= 1000000 && info.duration_us <= 1100000, "aac %llu us",
              (unsigned long long)info.duration_us);
    /* an init segment must be mp4 */
    CHECK_INT(media_check_init(&info, b.data, b.len, &e), MEDIA_ERR_FORMAT_NOT_ALLOWED);
    free(b.data);
}

static void test_ts_truncated_and_reframed(void)
{
    struct test_blob b = test_load("ts/0/index1.ts");
    test_expect(MEDIA_ERR_TRUNCATED, NULL, 0, b.data, b.len - 1, "ts cut by 1");
    test_expect(MEDIA_ERR_TRUNCATED, NULL, 0, b.data, b.len - 100, "ts cut by 100");
    test_expect(MEDIA_ERR_TRUNCATED, NULL, 0, b.data, b.len / 2 + 1, "ts cut mid-packet");
    /* a lost sync byte */
    unsigned char *copy = malloc(b.len);
    memcpy(copy, b.data, b.len);
    copy[188 * 3] = 0x00;
    test_expect(MEDIA_ERR_TRUNCATED, NULL, 0, copy, b.len, "ts sync byte");
    /* an init segment in front of a TS is not a thing */
    test_expect(MEDIA_ERR_TRUNCATED, b.data, 188, b.data, b.len, "ts with init");
    /* one packet (the SDT) is too little to recognise */
    test_expect(MEDIA_ERR_UNKNOWN_FORMAT, NULL, 0, b.data, 188, "ts one packet");
    /* SDT, PAT and PMT kept, every PES packet made a null packet: the streams
     * are announced but carry nothing */
    memcpy(copy, b.data, b.len);
    for (size_t off = 3 * 188; off < b.len; off += 188) {
        memset(copy + off, 0xff, 188);
        copy[off] = 0x47;
        copy[off + 1] = 0x1f;
        copy[off + 3] = 0x10;
    }
    test_expect(MEDIA_ERR_NO_PACKETS, NULL, 0, copy, b.len, "ts tables only");
    free(copy);
    free(b.data);
}

static void test_rejects_non_media(void)
{
    test_expect(MEDIA_ERR_EMPTY, NULL, 0, (const uint8_t *)"", 0, "zero length");
    test_expect(MEDIA_ERR_EMPTY, NULL, 0, NULL, 0, "NULL");
    uint64_t st = test_seed;
    size_t len = 64 * 1024;
    uint8_t *garbage = malloc(len);
    for (size_t i = 0; i < len; i++)
        garbage[i] = (uint8_t)harness_rand(&st);
    test_expect(MEDIA_ERR_UNKNOWN_FORMAT, NULL, 0, garbage, len, "random bytes");
    free(garbage);
    static const char text[] = "hello, this is not a video segment at all\n";
    test_expect(MEDIA_ERR_UNKNOWN_FORMAT, NULL, 0, (const uint8_t *)text, sizeof text - 1, "text");
    struct test_blob m3u8 = test_load("ts/0/index.m3u8");
    test_expect(MEDIA_ERR_FORMAT_NOT_ALLOWED, NULL, 0, m3u8.data, m3u8.len, "m3u8");
    free(m3u8.data);
    hls_fixture_ffmpeg(&fx, "-f lavfi "
                            "-i testsrc=size=64x48 -frames:v 1 frame.png");
    struct test_blob png = test_load("frame.png");
    test_expect(MEDIA_ERR_FORMAT_NOT_ALLOWED, NULL, 0, png.data, png.len, "png");
    free(png.data);
    static const char vtt[] = "WEBVTT\n\n00:00.000 --> 00:01.000\nhello\n";
    test_expect(MEDIA_ERR_NO_STREAMS, NULL, 0, (const uint8_t *)vtt, sizeof vtt - 1, "webvtt");
}

static void test_size_cap(void)
{
    uint8_t *big = calloc(1, MEDIA_SEGMENT_BYTES_MAX + 1);
    test_expect(MEDIA_ERR_TOO_BIG, NULL, 0, big, MEDIA_SEGMENT_BYTES_MAX + 1, "over the cap");
    /* init + segment count together */
    test_expect(MEDIA_ERR_TOO_BIG, big, MEDIA_SEGMENT_BYTES_MAX, big, 1, "init + segment");
    free(big);
    /* a real segment padded with whole null TS packets up to exactly the cap is still media */
    struct test_blob b = test_load("ts/0/index0.ts");
    uint8_t *padded = malloc(MEDIA_SEGMENT_BYTES_MAX);
    memcpy(padded, b.data, b.len);
    for (size_t off = b.len; off + 188 <= MEDIA_SEGMENT_BYTES_MAX; off += 188) {
        memset(padded + off, 0xff, 188);
        padded[off] = 0x47;
        padded[off + 1] = 0x1f; /* PID 0x1fff: null packet */
        padded[off + 2] = 0xff;
        padded[off + 3] = 0x10;
    }
    size_t len = MEDIA_SEGMENT_BYTES_MAX - MEDIA_SEGMENT_BYTES_MAX % 188;
    test_expect(MEDIA_OK, NULL, 0, padded, len, "padded to the cap");
    free(padded);
    free(b.data);
}

struct test_thread {
    struct test_blob seg;
    int failures;
};

static void *test_thread_main(void *arg)
{
    struct test_thread *t = arg;
    for (int i = 0; i < TEST_THREAD_ROUNDS; i++) {
        struct media_info info;
        if (media_check_segment(&info, NULL, 0, t->seg.data, t->seg.len, NULL) != MEDIA_OK ||
            info.packet_count == 0)
            t->failures++;
        uint8_t junk[512] = {0};
        if (media_check_segment(&info, NULL, 0, junk, sizeof junk, NULL) == MEDIA_OK)
            t->failures++;
    }
    return NULL;
}

static void test_threads(void)
{
    static const char *const names[TEST_THREADS] = {"ts/0/index0.ts", "ts/0/index1.ts",
                                                    "ts/1/index0.ts", "ts/1/index2.ts"};
    struct test_thread t[TEST_THREADS];
    pthread_t th[TEST_THREADS];
    for (int i = 0; i < TEST_THREADS; i++) {
        t[i].seg = test_load(names[i]);
        t[i].failures = 0;
        CHECK(pthread_create(&th[i], NULL, test_thread_main, &t[i]) == 0);
    }
    for (int i = 0; i < TEST_THREADS; i++) {
        pthread_join(th[i], NULL);
        CHECK_INT(t[i].failures, 0);
        free(t[i].seg.data);
    }
}

int main(void)
{
    test_seed = harness_seed();
    hls_fixture_make(&fx, "test_media");
    RUN(test_ts_segments);
    RUN(test_fmp4_segments);
    RUN(test_aac_adts);
    RUN(test_ts_truncated_and_reframed);
    RUN(test_rejects_non_media);
    RUN(test_size_cap);
    RUN(test_threads);
    hls_fixture_remove(&fx);
    return harness_finish();
}
