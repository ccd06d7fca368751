/*
 * hls_fixture.h - real HLS output from the real ffmpeg, for the unit tests of
 * the gateway's media modules (test_playlist.c, test_media.c).
 *
 * hls_fixture_make() creates a scratch directory (under TEST_TMPDIR when set,
 * else /tmp) and runs ffmpeg twice, as an encoder pushing to the gateway
 * would, with 1-second segments (GOP of 10 frames at 10 fps) of a test
 * pattern and a sine tone, 3 seconds long:
 *   <dir>/ts/master.m3u8, <dir>/ts/{0,1}/index.m3u8 + index{0,1,2}.ts
 *       two renditions (160x120 and 96x72), MPEG-TS segments;
 *   <dir>/fm/master.m3u8, <dir>/fm/0/index.m3u8 + init.mp4 + index{0,1,2}.m4s
 *       one rendition, fMP4 segments.
 * The video encoder is libx264 when ffmpeg has it, else mpeg4. Failing to
 * run ffmpeg is a broken test machine: the fixture prints why and aborts.
 *
 * Ownership: hls_fixture_read() returns malloc()ed bytes (NUL-terminated, not
 * counted) that the caller frees; hls_fixture_remove() deletes the directory.
 */
#ifndef TESTS_HLS_FIXTURE_H
#define TESTS_HLS_FIXTURE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define HLS_FIXTURE_PATH_BYTES_MAX 512
#define HLS_FIXTURE_CMD_BYTES_MAX 2048
#define HLS_FIXTURE_FILE_BYTES_MAX ((size_t)64 << 20)
#define HLS_FIXTURE_SEGMENTS 3
#define HLS_FIXTURE_SEGMENT_US 1000000ULL

struct hls_fixture {
    char dir[HLS_FIXTURE_PATH_BYTES_MAX];
    const char *video_codec; /* "libx264" or "mpeg4" */
};

static inline void hls_fixture_run(const char *cmd)
{
    int rc = system(cmd);
    if (rc != 0) {
        fprintf(stdout, "# hls_fixture: command failed (status %d): %s\n", rc, cmd);
        fflush(stdout);
        abort();
    }
}

/* Runs "ffmpeg -nostdin -hide_banner -loglevel error <args>" in the fixture
 * directory, args formatted printf-style. */
static inline void hls_fixture_ffmpeg(const struct hls_fixture *f, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static inline void hls_fixture_ffmpeg(const struct hls_fixture *f, const char *fmt, ...)
{
    char args[HLS_FIXTURE_CMD_BYTES_MAX],
        cmd[HLS_FIXTURE_CMD_BYTES_MAX + HLS_FIXTURE_PATH_BYTES_MAX];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof args)
        abort();
    n = snprintf(cmd, sizeof cmd, "cd '%s' && ffmpeg -nostdin -hide_banner -loglevel error %s",
                 f->dir, args);
    if (n < 0 || (size_t)n >= sizeof cmd)
        abort();
    hls_fixture_run(cmd);
}

/* Makes the scratch directory and both ladders described above, and prints
 * where they are. */
static inline void hls_fixture_make(struct hls_fixture *f, const char *tag)
{
    const char *base = getenv("TEST_TMPDIR");
    snprintf(f->dir, sizeof f->dir, "%s/%s_XXXXXX", base != NULL && base[0] != '\0' ? base : "/tmp",
             tag);
    if (mkdtemp(f->dir) == NULL) {
        fprintf(stdout, "# hls_fixture: mkdtemp %s failed\n", f->dir);
        abort();
    }
    f->video_codec = system("ffmpeg -hide_banner -encoders 2>/dev/null | grep -q libx264") == 0
                         ? "libx264"
                         : "mpeg4";
    static const char *const sources = "-f lavfi -i testsrc=size=160x120:rate=10 "
                                       "-f lavfi -i sine=frequency=440:sample_rate=44100 -t 3";
    hls_fixture_ffmpeg(f,
                       "%s -map 0:v -map 1:a -map 0:v -map 1:a -c:v %s -g 10 -c:a aac "
                       "-s:v:1 96x72 -f hls -hls_time 1 -hls_playlist_type event "
                       "-master_pl_name master.m3u8 -var_stream_map 'v:0,a:0 v:1,a:1' "
                       "ts/%%v/index.m3u8",
                       sources, f->video_codec);
    hls_fixture_ffmpeg(f,
                       "%s -c:v %s -g 10 -c:a aac -f hls -hls_time 1 -hls_playlist_type event "
                       "-hls_segment_type fmp4 -master_pl_name master.m3u8 "
                       "-var_stream_map 'v:0,a:0' fm/%%v/index.m3u8",
                       sources, f->video_codec);
    fprintf(stdout, "# video encoder %s, fixtures in %s\n", f->video_codec, f->dir);
}

/* dir + "/" + rel into out; aborts when it does not fit. */
static inline void hls_fixture_path(char *out, size_t out_size, const struct hls_fixture *f,
                                    const char *rel)
{
    int n = snprintf(out, out_size, "%s/%s", f->dir, rel);
    if (n < 0 || (size_t)n >= out_size)
        abort();
}

/* Reads <dir>/<rel> whole; NULL (with *len_out 0) when it cannot. */
static inline unsigned char *hls_fixture_read(const struct hls_fixture *f, const char *rel,
                                              size_t *len_out)
{
    char path[HLS_FIXTURE_PATH_BYTES_MAX + 64];
    hls_fixture_path(path, sizeof path, f, rel);
    *len_out = 0;
    FILE *fp = fopen(path, "rb");
    if (fp == NULL)
        return NULL;
    unsigned char *data = malloc(HLS_FIXTURE_FILE_BYTES_MAX + 1);
    size_t n = data != NULL ? fread(data, 1, HLS_FIXTURE_FILE_BYTES_MAX + 1, fp) : 0;
    fclose(fp);
    if (data == NULL || n > HLS_FIXTURE_FILE_BYTES_MAX) {
        free(data);
        return NULL;
    }
    unsigned char *shrunk = realloc(data, n + 1);
    data = shrunk != NULL ? shrunk : data;
    data[n] = '\0';
    *len_out = n;
    return data;
}

static inline void hls_fixture_remove(const struct hls_fixture *f)
{
    char cmd[HLS_FIXTURE_PATH_BYTES_MAX + 16];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    if (system(cmd) != 0)
        fprintf(stdout, "# hls_fixture: could not remove %s\n", f->dir);
}

#endif
