/* cmd_publish.c - `rightsctl publish --api URL --stream ID --key KEY
 * [--input FILE|URL|testsrc] [--ladder 720p,480p,360p] [--duration S]
 * [--hls-time S] [--ffmpeg PATH] [--dry-run]`: runs ffmpeg (no shell) to
 * encode an ABR ladder and push it as HLS over HTTP PUT to the gateway's
 * ingest endpoint:
 *
 *   PUT API/ingest/ID/master.m3u8, API/ingest/ID/<i>/index.m3u8 and
 *   API/ingest/ID/<i>/index<n>.ts, each with "Authorization: Bearer KEY",
 *
 * <i> being the rung's index in --ladder order. Every rung is scaled (and
 * letterboxed) to its fixed size at PUBLISH_FPS, encoded with libx264 with a
 * keyframe every hls_time seconds and no scene-cut keyframes (so segments of
 * all renditions line up) plus AAC, all from one decode.
 *
 * The key is never logged; --dry-run prints the command with it redacted.
 * It is on ffmpeg's command line, though, which local users can read in
 * /proc: the usage text says so.
 *
 * The child runs in our process group, so a terminal's Ctrl-C reaches it
 * directly; a SIGINT or SIGTERM sent to rightsctl by another process is
 * forwarded. ffmpeg then closes the playlists with #EXT-X-ENDLIST. Exit
 * status: 0 when ffmpeg succeeds, 128 + N when it was stopped by signal N
 * (sent to it or to us), 1 when it fails or cannot run, 2 on bad flags. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <curl/curl.h>

#include "buf.h"
#include "ids.h"
#include "rightsctl.h"

#define PUBLISH_RUNGS_MAX 5
#define PUBLISH_FPS 30
#define PUBLISH_HLS_LIST_SIZE 6 /* segments in each live playlist */
#define PUBLISH_HLS_TIME_S_DEFAULT 2
#define PUBLISH_HLS_TIME_S_MAX 10
#define PUBLISH_DURATION_S_MAX (7u * 24 * 3600)
#define PUBLISH_IO_TIMEOUT_S 10 /* ffmpeg's socket timeout per HTTP request */
#define PUBLISH_KEY_BYTES_MIN 16
#define PUBLISH_KEY_BYTES_MAX 128
#define PUBLISH_URL_BYTES_MAX 2048
#define PUBLISH_ARGV_MAX 128
#define PUBLISH_ARG_BYTES_MAX 8192
#define PUBLISH_ENCODERS_BYTES_MAX (1u << 20)
#define PUBLISH_ALNUM "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
#define PUBLISH_AUTH_PREFIX "Authorization: Bearer "
#define PUBLISH_AUTH_REDACTED PUBLISH_AUTH_PREFIX "<redacted>\r\n"

struct publish_rung {
    const char *name;
    unsigned width, height, video_kbps, audio_kbps;
};

static const struct publish_rung publish_rungs[] = {
    {"1080p", 1920, 1080, 5000, 192}, {"720p", 1280, 720, 2800, 128}, {"480p", 854, 480, 1400, 128},
    {"360p", 640, 360, 800, 96},      {"240p", 426, 240, 400, 64},
};
#define PUBLISH_RUNGS_KNOWN (sizeof publish_rungs / sizeof publish_rungs[0])

enum publish_input_kind {
    PUBLISH_INPUT_TESTSRC = 0,
    PUBLISH_INPUT_FILE = 1,
    PUBLISH_INPUT_URL = 2
};

enum publish_flag {
    PUBLISH_FLAG_API = 0,
    PUBLISH_FLAG_STREAM,
    PUBLISH_FLAG_KEY,
    PUBLISH_FLAG_INPUT,
    PUBLISH_FLAG_LADDER,
    PUBLISH_FLAG_DURATION,
    PUBLISH_FLAG_HLS_TIME,
    PUBLISH_FLAG_FFMPEG,
    PUBLISH_FLAG_COUNT
};

static const char *const publish_flag_names[PUBLISH_FLAG_COUNT] = {
    "--api", "--stream", "--key", "--input", "--ladder", "--duration", "--hls-time", "--ffmpeg"};

struct publish_args {
    const char *values[PUBLISH_FLAG_COUNT]; /* borrowed from argv; NULL = not given */
    size_t api_len;                         /* --api without trailing slashes */
    enum publish_input_kind input_kind;
    const struct publish_rung *rungs[PUBLISH_RUNGS_MAX];
    size_t rungs_count;
    unsigned duration_s; /* 0: until stopped (or the input ends) */
    unsigned hls_time_s;
    bool dry_run;
};

/* ffmpeg's argv: items are literals or heap strings (owned[i]); a failed add
 * sets `failed` and later adds do nothing, so the builder checks once. */
struct publish_argv {
    char *items[PUBLISH_ARGV_MAX + 1];
    bool owned[PUBLISH_ARGV_MAX];
    size_t count;
    size_t secret_index; /* the Authorization header; 0 = none */
    bool failed;
};

static bool publish_parse_args(struct publish_args *a, int argc, char **argv, struct err *e);
static bool publish_check_values(struct publish_args *a, struct err *e);
static bool publish_is_key(const char *text);
static bool publish_is_stream_id(const char *text);
static bool publish_preflight(const struct publish_args *a, struct err *e);
static size_t publish_discard(char *data, size_t size, size_t n, void *ctx);
static bool publish_check_api(struct publish_args *a, const char *text, struct err *e);
static bool publish_parse_ladder(struct publish_args *a, const char *text, struct err *e);
static bool publish_classify_input(struct publish_args *a, const char *text, struct err *e);
static bool publish_parse_uint(unsigned *out, const char *flag, const char *text, unsigned min,
                               unsigned max, struct err *e);
static void publish_argv_add(struct publish_argv *av, const char *literal);
static void publish_argv_addf(struct publish_argv *av, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void publish_argv_release(struct publish_argv *av);
static bool publish_appendf(char *out, size_t out_size, size_t *len, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void publish_argv_add_input(struct publish_argv *av, const struct publish_args *a);
static void publish_argv_add_ladder(struct publish_argv *av, const struct publish_args *a);
static void publish_argv_add_output(struct publish_argv *av, const struct publish_args *a);
static bool publish_build_argv(struct publish_argv *av, const struct publish_args *a, bool stats);
static void publish_print_arg(FILE *out, const char *arg);
static void publish_print_argv(FILE *out, const struct publish_argv *av);
static bool publish_spawn(pid_t *pid_out, char *const *argv, int stdout_fd, struct err *e);
static bool publish_read_all(struct buf *out, int fd);
static bool publish_check_encoders(const char *ffmpeg, struct err *e);
static bool publish_wait(int *status_out, int *signo_out, pid_t pid, const sigset_t *set,
                         struct err *e);
static int publish_exit_code(const struct rightsctl *ctl, int status, int signo);
static void publish_log_start(const struct rightsctl *ctl, const struct publish_args *a,
                              const struct publish_argv *av);
static int publish_run(struct rightsctl *ctl, const struct publish_args *a,
                       struct publish_argv *av);

/* ---- flags ------------------------------------------------------------------ */

static bool publish_parse_args(struct publish_args *a, int argc, char **argv, struct err *e)
{
    memset(a, 0, sizeof *a);
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--dry-run") == 0) {
            a->dry_run = true;
            continue;
        }
        size_t f = 0;
        while (f < PUBLISH_FLAG_COUNT && strcmp(argv[i], publish_flag_names[f]) != 0)
            f++;
        char quoted[80];
        if (f == PUBLISH_FLAG_COUNT) {
            err_quote(quoted, sizeof quoted, argv[i], strlen(argv[i]));
            return !err_set(e, 1, "unknown argument '%s'", quoted);
        }
        if (i + 1 >= argc)
            return !err_set(e, 1, "%s needs a value", publish_flag_names[f]);
        if (a->values[f] != NULL)
            return !err_set(e, 1, "%s given twice", publish_flag_names[f]);
        a->values[f] = argv[++i];
    }
    static const enum publish_flag required[] = {PUBLISH_FLAG_API, PUBLISH_FLAG_STREAM,
                                                 PUBLISH_FLAG_KEY};
    static const char *const required_text[] = {"--api URL", "--stream ID", "--key KEY"};
    for (size_t r = 0; r < sizeof required / sizeof required[0]; r++)
        if (a->values[required[r]] == NULL)
            return !err_set(e, 1, "%s is required", required_text[r]);
    return publish_check_values(a, e);
}

/* Validates every given value; fills the defaults of the optional ones. */
static bool publish_check_values(struct publish_args *a, struct err *e)
{
    const char *const *v = a->values;
    char quoted[80];
    if (!publish_is_stream_id(v[PUBLISH_FLAG_STREAM])) {
        err_quote(quoted, sizeof quoted, v[PUBLISH_FLAG_STREAM], strlen(v[PUBLISH_FLAG_STREAM]));
        return !err_set(e, 1, "--stream: '%s' is not a lowercase UUID", quoted);
    }
    if (!publish_is_key(v[PUBLISH_FLAG_KEY])) /* never quote the key */
        return !err_set(e, 1, "--key: not %d to %d characters of [A-Za-z0-9_-]",
                        PUBLISH_KEY_BYTES_MIN, PUBLISH_KEY_BYTES_MAX);
    if (!publish_check_api(a, v[PUBLISH_FLAG_API], e) ||
        !publish_parse_ladder(a, v[PUBLISH_FLAG_LADDER] ? v[PUBLISH_FLAG_LADDER] : "720p,480p,360p",
                              e) ||
        !publish_classify_input(a, v[PUBLISH_FLAG_INPUT] ? v[PUBLISH_FLAG_INPUT] : "testsrc", e))
        return false;
    a->hls_time_s = PUBLISH_HLS_TIME_S_DEFAULT;
    if (v[PUBLISH_FLAG_HLS_TIME] != NULL &&
        !publish_parse_uint(&a->hls_time_s, "--hls-time", v[PUBLISH_FLAG_HLS_TIME], 1,
                            PUBLISH_HLS_TIME_S_MAX, e))
        return false;
    if (v[PUBLISH_FLAG_DURATION] != NULL &&
        !publish_parse_uint(&a->duration_s, "--duration", v[PUBLISH_FLAG_DURATION], 1,
                            PUBLISH_DURATION_S_MAX, e))
        return false;
    if (v[PUBLISH_FLAG_FFMPEG] != NULL && v[PUBLISH_FLAG_FFMPEG][0] == '\0')
        return !err_set(e, 1, "--ffmpeg: empty path");
    return true;
}

static bool publish_is_stream_id(const char *text)
{
    return ids_uuid_valid(text, strnlen(text, IDS_UUID_SIZE));
}

static bool publish_is_key(const char *text)
{
    size_t len = strnlen(text, PUBLISH_KEY_BYTES_MAX + 1);
    if (len < PUBLISH_KEY_BYTES_MIN || len > PUBLISH_KEY_BYTES_MAX)
        return false;
    return strspn(text, PUBLISH_ALNUM "_-") == len;
}

/* http:// or https://, a host name or [IPv6], an optional port 1..65535 and
 * an optional base path; no user info, query, fragment or '%' (ffmpeg
 * expands %v and %d in its output name). Records the length without
 * trailing slashes. */
static bool publish_check_api(struct publish_args *a, const char *text, struct err *e)
{
    static const char path_chars[] = PUBLISH_ALNUM "-._~/";
    size_t len = strnlen(text, PUBLISH_URL_BYTES_MAX + 1);
    size_t scheme = strncmp(text, "http://", 7) == 0    ? 7
                    : strncmp(text, "https://", 8) == 0 ? 8
                                                        : 0;
    const char *host = text + scheme;
    size_t host_len = strspn(host, PUBLISH_ALNUM "-._~");
    if (*host == '[') {
        host_len = 1 + strspn(host + 1, "0123456789abcdefABCDEF:.");
        host_len = host[host_len] == ']' && host_len > 2 ? host_len + 1 : 0;
    }
    const char *rest = host + host_len;
    bool ok = scheme != 0 && len <= PUBLISH_URL_BYTES_MAX && host_len > 0;
    if (ok && *rest == ':') {
        size_t digits = strspn(rest + 1, "0123456789");
        ok = digits >= 1 && digits <= 5 && strtoul(rest + 1, NULL, 10) - 1 < 65535;
        rest += 1 + digits;
    }
    if (ok && *rest != '\0')
        ok = *rest == '/' && strspn(rest, path_chars) == strlen(rest);
    if (!ok) {
        char quoted[120];
        err_quote(quoted, sizeof quoted, text, len);
        return !err_set(e, 1,
                        "--api: '%s' is not an http:// or https:// base URL (no user info, "
                        "query or fragment)",
                        quoted);
    }
    while (len > scheme + host_len && text[len - 1] == '/')
        len--;
    a->api_len = len;
    return true;
}

/* A comma-separated list of known rungs, at most PUBLISH_RUNGS_MAX, no duplicates. */
static bool publish_parse_ladder(struct publish_args *a, const char *text, struct err *e)
{
    a->rungs_count = 0;
    const char *p = text;
    for (size_t n = 0; n <= PUBLISH_RUNGS_MAX; n++) {
        size_t len = strcspn(p, ",");
        char quoted[40];
        err_quote(quoted, sizeof quoted, p, len);
        size_t r = 0;
        while (r < PUBLISH_RUNGS_KNOWN && !(strlen(publish_rungs[r].name) == len &&
                                            strncmp(publish_rungs[r].name, p, len) == 0))
            r++;
        if (r == PUBLISH_RUNGS_KNOWN)
            return !err_set(e, 1,
                            "--ladder: unknown rung '%s' (known: 1080p, 720p, 480p, 360p, "
                            "240p)",
                            quoted);
        for (size_t k = 0; k < a->rungs_count; k++)
            if (a->rungs[k] == &publish_rungs[r])
                return !err_set(e, 1, "--ladder: rung '%s' given twice", quoted);
        if (a->rungs_count == PUBLISH_RUNGS_MAX)
            break;
        a->rungs[a->rungs_count++] = &publish_rungs[r];
        if (p[len] == '\0')
            return true;
        p += len + 1;
    }
    return !err_set(e, 1, "--ladder: more than %d rungs", PUBLISH_RUNGS_MAX);
}

/* testsrc, an http(s)/rtmp(s)/srt URL, or a readable regular file. */
static bool publish_classify_input(struct publish_args *a, const char *text, struct err *e)
{
    static const char *const schemes[] = {"http://", "https://", "rtmp://", "rtmps://", "srt://"};
    size_t len = strnlen(text, PUBLISH_URL_BYTES_MAX + 1);
    char quoted[120];
    err_quote(quoted, sizeof quoted, text, len);
    if (strcmp(text, "testsrc") == 0) {
        a->input_kind = PUBLISH_INPUT_TESTSRC;
        return true;
    }
    for (size_t s = 0; s < sizeof schemes / sizeof schemes[0]; s++) {
        size_t slen = strlen(schemes[s]);
        if (strncmp(text, schemes[s], slen) != 0)
            continue;
        bool printable = true;
        for (size_t i = 0; i < len && printable; i++)
            printable = text[i] > ' ' && text[i] < 0x7f;
        if (len <= slen || len > PUBLISH_URL_BYTES_MAX || !printable)
            return !err_set(e, 1, "--input: '%s' is not a valid URL", quoted);
        a->input_kind = PUBLISH_INPUT_URL;
        return true;
    }
    if (strstr(text, "://") != NULL)
        return !err_set(e, 1, "--input: '%s': only http, https, rtmp, rtmps and srt URLs", quoted);
    if (len == 0 || len > PUBLISH_URL_BYTES_MAX)
        return !err_set(e, 1, "--input: the path must have 1 to %d bytes", PUBLISH_URL_BYTES_MAX);
    struct stat st;
    if (stat(text, &st) != 0 || access(text, R_OK) != 0)
        return !err_set(e, 1, "--input: cannot read file '%s': %s", quoted, strerror(errno));
    if (!S_ISREG(st.st_mode))
        return !err_set(e, 1, "--input: '%s' is not a regular file", quoted);
    a->input_kind = PUBLISH_INPUT_FILE;
    return true;
}

/* A decimal number in [min, max], digits only. */
static bool publish_parse_uint(unsigned *out, const char *flag, const char *text, unsigned min,
                               unsigned max, struct err *e)
{
    unsigned long v = 0;
    size_t len = strnlen(text, 12);
    bool ok = len >= 1 && len <= 10 && strspn(text, "0123456789") == len;
    for (size_t i = 0; ok && i < len; i++)
        v = v * 10 + (unsigned long)(text[i] - '0');
    if (!ok || v < min || v > max) {
        char quoted[40];
        err_quote(quoted, sizeof quoted, text, strlen(text));
        return !err_set(e, 1, "%s: '%s' is not a whole number of seconds from %u to %u", flag,
                        quoted, min, max);
    }
    *out = (unsigned)v;
    return true;
}

/* ---- ffmpeg's argv ---------------------------------------------------------- */

static void publish_argv_add(struct publish_argv *av, const char *literal)
{
    if (av->failed || av->count == PUBLISH_ARGV_MAX) {
        av->failed = true;
        return;
    }
    av->owned[av->count] = false;
    av->items[av->count++] = (char *)literal;
    av->items[av->count] = NULL;
}

static void publish_argv_addf(struct publish_argv *av, const char *fmt, ...)
{
    char tmp[PUBLISH_ARG_BYTES_MAX];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    char *copy = n >= 0 && (size_t)n < sizeof tmp ? strdup(tmp) : NULL;
    explicit_bzero(tmp, sizeof tmp); /* may hold the key */
    if (copy == NULL || av->failed || av->count == PUBLISH_ARGV_MAX) {
        free(copy);
        av->failed = true;
        return;
    }
    av->owned[av->count] = true;
    av->items[av->count++] = copy;
    av->items[av->count] = NULL;
}

static void publish_argv_release(struct publish_argv *av)
{
    for (size_t i = 0; i < av->count; i++)
        if (av->owned[i]) {
            explicit_bzero(av->items[i], strlen(av->items[i]));
            free(av->items[i]);
        }
    memset(av, 0, sizeof *av);
}

static void publish_argv_add_input(struct publish_argv *av, const struct publish_args *a)
{
    const char *input = a->values[PUBLISH_FLAG_INPUT];
    if (a->input_kind == PUBLISH_INPUT_TESTSRC) {
        const struct publish_rung *top = a->rungs[0];
        for (size_t i = 1; i < a->rungs_count; i++)
            if (a->rungs[i]->height > top->height)
                top = a->rungs[i];
        publish_argv_add(av, "-re");
        publish_argv_add(av, "-f");
        publish_argv_add(av, "lavfi");
        publish_argv_add(av, "-i");
        publish_argv_addf(av, "testsrc2=size=%ux%u:rate=%d", top->width, top->height, PUBLISH_FPS);
        publish_argv_add(av, "-re");
        publish_argv_add(av, "-f");
        publish_argv_add(av, "lavfi");
        publish_argv_add(av, "-i");
        publish_argv_add(av, "sine=frequency=440:sample_rate=48000");
        return;
    }
    if (a->input_kind == PUBLISH_INPUT_FILE) {
        publish_argv_add(av, "-re");
        publish_argv_add(av, "-i");
        publish_argv_addf(av, "file:%s", input); /* a ':' in the name is no protocol */
        return;
    }
    publish_argv_add(av, "-i");
    publish_argv_add(av, input);
}

/* Appends printf output at out[*len]; false (and *len past the end) once
 * out_size is exceeded, so a chain of calls is checked once at the end. */
static bool publish_appendf(char *out, size_t out_size, size_t *len, const char *fmt, ...)
{
    if (*len >= out_size)
        return false;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(out + *len, out_size - *len, fmt, ap);
    va_end(ap);
    *len = n < 0 ? out_size : *len + (size_t)n;
    return *len < out_size;
}

/* One decode, split into the rungs, each at its fixed size (letterboxed),
 * PUBLISH_FPS and yuv420p; rung i is output video i and output audio i. */
static void publish_argv_add_ladder(struct publish_argv *av, const struct publish_args *a)
{
    char graph[PUBLISH_ARG_BYTES_MAX];
    size_t n = 0;
    publish_appendf(graph, sizeof graph, &n, "[0:v:0]fps=%d,format=yuv420p,split=%zu", PUBLISH_FPS,
                    a->rungs_count);
    for (size_t i = 0; i < a->rungs_count; i++)
        publish_appendf(graph, sizeof graph, &n, "[s%zu]", i);
    for (size_t i = 0; i < a->rungs_count; i++) {
        unsigned rw = a->rungs[i]->width, rh = a->rungs[i]->height;
        publish_appendf(graph, sizeof graph, &n,
                        ";[s%zu]scale=%u:%u:force_original_aspect_ratio=decrease,"
                        "pad=%u:%u:(ow-iw)/2:(oh-ih)/2,setsar=1[v%zu]",
                        i, rw, rh, rw, rh, i);
    }
    if (n >= sizeof graph) {
        av->failed = true;
        return;
    }
    publish_argv_add(av, "-filter_complex");
    publish_argv_addf(av, "%s", graph);
    const char *audio = a->input_kind == PUBLISH_INPUT_TESTSRC ? "1:a:0" : "0:a:0";
    for (size_t i = 0; i < a->rungs_count; i++) {
        publish_argv_add(av, "-map");
        publish_argv_addf(av, "[v%zu]", i);
        publish_argv_add(av, "-map");
        publish_argv_add(av, audio);
    }
    static const char *const video[] = {"-c:v",  "libx264",     "-preset",       "veryfast",
                                        "-tune", "zerolatency", "-sc_threshold", "0"};
    for (size_t i = 0; i < sizeof video / sizeof video[0]; i++)
        publish_argv_add(av, video[i]);
    unsigned gop = PUBLISH_FPS * a->hls_time_s;
    publish_argv_add(av, "-g");
    publish_argv_addf(av, "%u", gop);
    publish_argv_add(av, "-keyint_min");
    publish_argv_addf(av, "%u", gop);
    for (size_t i = 0; i < a->rungs_count; i++) {
        unsigned kbps = a->rungs[i]->video_kbps;
        publish_argv_addf(av, "-b:v:%zu", i);
        publish_argv_addf(av, "%uk", kbps);
        publish_argv_addf(av, "-maxrate:v:%zu", i);
        publish_argv_addf(av, "%uk", kbps);
        publish_argv_addf(av, "-bufsize:v:%zu", i);
        publish_argv_addf(av, "%uk", 2 * kbps);
    }
    static const char *const audio_opts[] = {"-c:a", "aac", "-ar", "48000", "-ac", "2"};
    for (size_t i = 0; i < sizeof audio_opts / sizeof audio_opts[0]; i++)
        publish_argv_add(av, audio_opts[i]);
    for (size_t i = 0; i < a->rungs_count; i++) {
        publish_argv_addf(av, "-b:a:%zu", i);
        publish_argv_addf(av, "%uk", a->rungs[i]->audio_kbps);
    }
}

static void publish_argv_add_output(struct publish_argv *av, const struct publish_args *a)
{
    if (a->duration_s != 0) {
        publish_argv_add(av, "-t");
        publish_argv_addf(av, "%u", a->duration_s);
    }
    static const char *const hls[] = {
        "-f", "hls", "-method", "PUT", "-timeout", MACRO_TEXT(PUBLISH_IO_TIMEOUT_S), "-headers"};
    for (size_t i = 0; i < sizeof hls / sizeof hls[0]; i++)
        publish_argv_add(av, hls[i]);
    av->secret_index = av->count;
    publish_argv_addf(av, PUBLISH_AUTH_PREFIX "%s\r\n", a->values[PUBLISH_FLAG_KEY]);
    publish_argv_add(av, "-hls_time");
    publish_argv_addf(av, "%u", a->hls_time_s);
    publish_argv_add(av, "-hls_list_size");
    publish_argv_add(av, MACRO_TEXT(PUBLISH_HLS_LIST_SIZE));
    publish_argv_add(av, "-hls_flags");
    publish_argv_add(av, "independent_segments");
    publish_argv_add(av, "-master_pl_name");
    publish_argv_add(av, "master.m3u8");
    publish_argv_add(av, "-var_stream_map");
    char map[PUBLISH_RUNGS_MAX * 16];
    size_t n = 0;
    for (size_t i = 0; i < a->rungs_count; i++)
        publish_appendf(map, sizeof map, &n, "%sv:%zu,a:%zu", i ? " " : "", i, i);
    ASSERT(n < sizeof map);
    publish_argv_addf(av, "%s", map);
    publish_argv_addf(av, "%.*s/ingest/%s/%%v/index.m3u8", (int)a->api_len,
                      a->values[PUBLISH_FLAG_API], a->values[PUBLISH_FLAG_STREAM]);
}

/* The whole command; `stats` shows ffmpeg's progress line (a terminal). */
static bool publish_build_argv(struct publish_argv *av, const struct publish_args *a, bool stats)
{
    memset(av, 0, sizeof *av);
    const char *ffmpeg = a->values[PUBLISH_FLAG_FFMPEG] ? a->values[PUBLISH_FLAG_FFMPEG] : "ffmpeg";
    static const char *const head[] = {"-hide_banner", "-nostdin", "-loglevel", "warning"};
    publish_argv_add(av, ffmpeg);
    for (size_t i = 0; i < sizeof head / sizeof head[0]; i++)
        publish_argv_add(av, head[i]);
    publish_argv_add(av, stats ? "-stats" : "-nostats");
    publish_argv_add_input(av, a);
    publish_argv_add_ladder(av, a);
    publish_argv_add_output(av, a);
    ASSERT(av->failed || av->secret_index != 0);
    return !av->failed;
}

/* One argument for a POSIX shell: bare when safe, else '...', or $'...'
 * when it holds control bytes (the header's CRLF). */
static void publish_print_arg(FILE *out, const char *arg)
{
    static const char safe[] = PUBLISH_ALNUM "_./:=,+%@-";
    size_t len = strlen(arg);
    bool control = false;
    for (size_t i = 0; i < len; i++)
        control = control || (unsigned char)arg[i] < ' ' || arg[i] == 0x7f;
    if (len > 0 && strspn(arg, safe) == len) {
        fputs(arg, out);
    } else if (!control) {
        fputc('\'', out);
        for (size_t i = 0; i < len; i++) {
            if (arg[i] == '\'')
                fputs("'\\''", out);
            else
                fputc(arg[i], out);
        }
        fputc('\'', out);
    } else {
        fputs("$'", out);
        for (size_t i = 0; i < len; i++) {
            unsigned char c = (unsigned char)arg[i];
            if (c == '\r' || c == '\n')
                fputs(c == '\r' ? "\\r" : "\\n", out);
            else if (c < ' ' || c == 0x7f || c == '\'' || c == '\\')
                fprintf(out, "\\x%02x", c);
            else
                fputc(c, out);
        }
        fputc('\'', out);
    }
}

/* The command on one line, the key replaced by <redacted>. */
static void publish_print_argv(FILE *out, const struct publish_argv *av)
{
    for (size_t i = 0; i < av->count; i++) {
        if (i > 0)
            fputc(' ', out);
        publish_print_arg(out, i == av->secret_index ? PUBLISH_AUTH_REDACTED : av->items[i]);
    }
    fputc('\n', out);
}

/* ---- running ffmpeg --------------------------------------------------------- */

/* posix_spawnp with stdin from /dev/null, stdout to stdout_fd (-1: ours),
 * and default signal dispositions and an empty mask in the child. */
static bool publish_spawn(pid_t *pid_out, char *const *argv, int stdout_fd, struct err *e)
{
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    sigset_t none, defaults;
    sigemptyset(&none);
    sigemptyset(&defaults);
    sigaddset(&defaults, SIGINT);
    sigaddset(&defaults, SIGTERM);
    sigaddset(&defaults, SIGCHLD);
    sigaddset(&defaults, SIGPIPE);
    int rc = posix_spawn_file_actions_init(&fa);
    if (rc != 0)
        return !err_set(e, 1, "cannot prepare to run ffmpeg: %s", strerror(rc));
    rc = posix_spawnattr_init(&attr);
    if (rc != 0) {
        posix_spawn_file_actions_destroy(&fa);
        return !err_set(e, 1, "cannot prepare to run ffmpeg: %s", strerror(rc));
    }
    rc = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    if (rc == 0 && stdout_fd >= 0)
        rc = posix_spawn_file_actions_adddup2(&fa, stdout_fd, 1);
    if (rc == 0)
        rc = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    if (rc == 0)
        rc = posix_spawnattr_setsigmask(&attr, &none);
    if (rc == 0)
        rc = posix_spawnattr_setsigdefault(&attr, &defaults);
    if (rc == 0)
        rc = posix_spawnp(pid_out, argv[0], &fa, &attr, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    if (rc != 0) {
        char quoted[120];
        err_quote(quoted, sizeof quoted, argv[0], strlen(argv[0]));
        return !err_set(e, 1, "cannot run ffmpeg '%s': %s (install ffmpeg or pass --ffmpeg PATH)",
                        quoted, strerror(rc));
    }
    return true;
}

/* Reads fd to EOF into out; false when it holds more than out's maximum. */
static bool publish_read_all(struct buf *out, int fd)
{
    char chunk[4096];
    for (;;) {
        ssize_t got = read(fd, chunk, sizeof chunk);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            return got == 0;
        if (buf_append(out, chunk, (size_t)got) != BUF_OK)
            return false;
    }
}

/* Runs `FFMPEG -hide_banner -encoders` and requires libx264 and aac. */
static bool publish_check_encoders(const char *ffmpeg, struct err *e)
{
    char *argv[] = {(char *)ffmpeg, "-hide_banner", "-encoders", NULL};
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0)
        return !err_set(e, 1, "cannot create a pipe: %s", strerror(errno));
    pid_t pid;
    bool ok = publish_spawn(&pid, argv, fds[1], e);
    close(fds[1]);
    struct buf out;
    buf_init(&out, PUBLISH_ENCODERS_BYTES_MAX);
    bool read_ok = ok && publish_read_all(&out, fds[0]);
    close(fds[0]); /* a child still writing gets SIGPIPE */
    int status = 0;
    while (ok && waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    char quoted[120];
    err_quote(quoted, sizeof quoted, ffmpeg, strlen(ffmpeg));
    if (ok && (!read_ok || !WIFEXITED(status) || WEXITSTATUS(status) != 0))
        ok = !err_set(e, 1, "'%s -encoders' failed: is it ffmpeg?", quoted);
    else if (ok && (out.data == NULL || strstr((char *)out.data, " libx264 ") == NULL ||
                    strstr((char *)out.data, " aac ") == NULL))
        ok = !err_set(e, 1, "ffmpeg '%s' has no libx264 or no aac encoder (Debian's has both)",
                      quoted);
    buf_release(&out);
    return ok;
}

/* Waits for `pid` with `set` (SIGINT, SIGTERM, SIGCHLD) blocked. A SIGINT or
 * SIGTERM sent by a process (kill, a supervisor) is forwarded to the child;
 * one from the terminal (si_code SI_KERNEL) reached it already, as both are
 * in the foreground process group. The loop lasts as long as the child. */
static bool publish_wait(int *status_out, int *signo_out, pid_t pid, const sigset_t *set,
                         struct err *e)
{
    *signo_out = 0;
    for (;;) {
        pid_t r = waitpid(pid, status_out, WNOHANG);
        if (r == pid)
            return true;
        if (r < 0 && errno != EINTR)
            return !err_set(e, 1, "cannot wait for ffmpeg: %s", strerror(errno));
        siginfo_t info;
        struct timespec tick = {.tv_sec = 1, .tv_nsec = 0};
        int sig = sigtimedwait(set, &info, &tick);
        if (sig == SIGINT || sig == SIGTERM) {
            *signo_out = sig;
            if (info.si_code != SI_KERNEL)
                kill(pid, sig);
        }
    }
}

static int publish_exit_code(const struct rightsctl *ctl, int status, int signo)
{
    if (WIFSIGNALED(status)) {
        log_write(&ctl->log, LOG_ERROR, "ffmpeg was killed",
                  LOG_KVS(log_i64("signal", WTERMSIG(status))));
        return 128 + WTERMSIG(status);
    }
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 1;
    if (code == 0 && signo == 0) {
        log_write(&ctl->log, LOG_INFO, "publish finished", NULL, 0);
        return RIGHTSCTL_EXIT_OK;
    }
    if (signo != 0 && (code == 0 || code == 255)) { /* 255: ffmpeg stopped on a signal */
        log_write(&ctl->log, LOG_INFO, "publish stopped; playlists closed",
                  LOG_KVS(log_str("signal", signo == SIGINT ? "SIGINT" : "SIGTERM")));
        return 128 + signo;
    }
    log_write(&ctl->log, LOG_ERROR, "ffmpeg failed", LOG_KVS(log_i64("exit_code", code)));
    return RIGHTSCTL_EXIT_FAIL;
}

/* One info line: stream, ingest URL (no key), ladder and input (URLs, which
 * may carry a source's credentials, only as "url"). */
static void publish_log_start(const struct rightsctl *ctl, const struct publish_args *a,
                              const struct publish_argv *av)
{
    char ladder[PUBLISH_RUNGS_MAX * 8];
    size_t n = 0;
    for (size_t i = 0; i < a->rungs_count; i++)
        publish_appendf(ladder, sizeof ladder, &n, "%s%s", i ? "," : "", a->rungs[i]->name);
    ASSERT(n < sizeof ladder);
    const char *input = a->input_kind == PUBLISH_INPUT_FILE  ? a->values[PUBLISH_FLAG_INPUT]
                        : a->input_kind == PUBLISH_INPUT_URL ? "url"
                                                             : "testsrc";
    log_write(&ctl->log, LOG_INFO, "publishing",
              LOG_KVS(log_str("stream", a->values[PUBLISH_FLAG_STREAM]),
                      log_str("ingest", av->items[av->count - 1]), log_str("ladder", ladder),
                      log_str("input", input)));
}

static int publish_run(struct rightsctl *ctl, const struct publish_args *a, struct publish_argv *av)
{
    sigset_t set, old;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGCHLD);
    sigprocmask(SIG_BLOCK, &set, &old);
    /* Taken with sigtimedwait only: an inherited SIG_IGN (bash gives one to
     * `cmd &` for SIGINT) could discard them, and for SIGCHLD reap the child. */
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    signal(SIGCHLD, SIG_DFL);
    struct err e = {0};
    int rc = RIGHTSCTL_EXIT_FAIL, status = 0, signo = 0;
    pid_t pid;
    sigset_t pending;
    if (publish_check_encoders(av->items[0], &e) && publish_preflight(a, &e)) {
        sigpending(&pending); /* stopped already: start nothing (no empty ENDLIST) */
        signo = sigismember(&pending, SIGINT)    ? SIGINT
                : sigismember(&pending, SIGTERM) ? SIGTERM
                                                 : 0;
        if (signo != 0) {
            log_write(&ctl->log, LOG_INFO, "publish stopped before ffmpeg started", NULL, 0);
            rc = 128 + signo;
        } else {
            publish_log_start(ctl, a, av);
            if (publish_spawn(&pid, av->items, -1, &e) &&
                publish_wait(&status, &signo, pid, &set, &e))
                rc = publish_exit_code(ctl, status, signo);
        }
    }
    if (e.msg[0] != '\0')
        log_write(&ctl->log, LOG_ERROR, "publish failed", LOG_KVS(log_str("error", e.msg)));
    sigprocmask(SIG_SETMASK, &old, NULL);
    return rc;
}

static size_t publish_discard(char *data, size_t size, size_t n, void *ctx)
{
    (void)data;
    (void)ctx;
    return size * n;
}

/* ffmpeg's HLS muxer ignores the status of its PUTs, so a wrong key would
 * stream into nothing: ask the gateway first (GET /ingest/{id} with the
 * key: 204 when it is right, 401 or 404 otherwise; nothing is changed). */
static bool publish_preflight(const struct publish_args *a, struct err *e)
{
    char url[PUBLISH_URL_BYTES_MAX + 64], auth[sizeof PUBLISH_AUTH_PREFIX + PUBLISH_KEY_BYTES_MAX];
    snprintf(url, sizeof url, "%.*s/ingest/%s", (int)a->api_len, a->values[PUBLISH_FLAG_API],
             a->values[PUBLISH_FLAG_STREAM]);
    snprintf(auth, sizeof auth, PUBLISH_AUTH_PREFIX "%s", a->values[PUBLISH_FLAG_KEY]);
    CURL *curl = curl_easy_init();
    struct curl_slist *headers = curl != NULL ? curl_slist_append(NULL, auth) : NULL;
    long status = 0;
    CURLcode rc = CURLE_FAILED_INIT;
    if (headers != NULL) {
        curl_easy_setopt(curl, CURLOPT_URL, url);
        curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
        curl_easy_setopt(curl, CURLOPT_NOBODY, 0L);
        curl_easy_setopt(curl, CURLOPT_TIMEOUT, (long)PUBLISH_IO_TIMEOUT_S);
        curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, publish_discard);
        rc = curl_easy_perform(curl);
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    }
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    explicit_bzero(auth, sizeof auth);
    if (rc != CURLE_OK)
        return !err_set(e, 1, "cannot reach the gateway's ingest: %s", curl_easy_strerror(rc));
    if (status == 204)
        return true;
    if (status == 401)
        return !err_set(e, 1, "the gateway refused the ingest key");
    if (status == 404)
        return !err_set(e, 1, "the gateway has no stream '%s'", a->values[PUBLISH_FLAG_STREAM]);
    return !err_set(e, 1, "the gateway's ingest check answered HTTP %ld", status);
}

int cmd_publish(struct rightsctl *ctl, int argc, char **argv)
{
    struct publish_args args;
    struct err e = {0};
    if (!publish_parse_args(&args, argc, argv, &e)) {
        log_printf(&ctl->log, LOG_ERROR, "publish: %s", e.msg);
        return RIGHTSCTL_EXIT_USAGE;
    }
    static const char *const names[] = {"LOG_LEVEL", NULL};
    if (!rightsctl_load_config(ctl, names))
        return RIGHTSCTL_EXIT_USAGE;
    log_set_level(&ctl->log, ctl->cfg.log_level);
    struct publish_argv av;
    if (!publish_build_argv(&av, &args, isatty(STDERR_FILENO) == 1)) {
        log_printf(&ctl->log, LOG_ERROR, "publish: the ffmpeg command is too long");
        publish_argv_release(&av);
        return RIGHTSCTL_EXIT_FAIL;
    }
    int rc = RIGHTSCTL_EXIT_OK;
    if (args.dry_run)
        publish_print_argv(stdout, &av);
    else
        rc = publish_run(ctl, &args, &av);
    publish_argv_release(&av);
    return rc;
}
