/* test_path.c - the media path allow-list (every accepted shape, every
 * rejection with its exact code, exhaustive over single bytes) and file
 * access under a real temporary directory: openat without following
 * symlinks anywhere, regular files only, atomic writes that leave no
 * temporary file and a complete final file. */
#include "harness.h"
#include "path.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#define ID "0f8e2a4c-1b3d-4e5f-8a9b-0c1d2e3f4a5b"
#define ID2 "11111111-2222-4333-8444-555555555555"

static char test_dir[512];
static int test_dir_fd = -1;
static uint64_t test_seed;

static enum path_result test_parse(struct path_media *m, const char *text, size_t len);
static void test_reject(const char *text, size_t len, enum path_result want);
static void test_make_file(const char *rel, const char *content);
static size_t test_count_dot_files(const char *rel_dir);
static bool test_file_equals(const char *rel, const uint8_t *data, size_t len);

static enum path_result test_parse(struct path_media *m, const char *text, size_t len)
{
    struct err e = {0};
    enum path_result r = path_parse_media(m, text, len, &e);
    if (r != PATH_OK)
        CHECK_MSG(e.code == (int)r && e.msg[0] != '\0', "no message for code %d", (int)r);
    return r;
}

static void test_reject(const char *text, size_t len, enum path_result want)
{
    struct path_media m;
    memset(&m, 0xa5, sizeof m);
    struct err e = {0};
    enum path_result r = path_parse_media(&m, text, len, &e);
    CHECK_MSG(r == want, "'%.*s' (%zu bytes): got %d (%s), want %d", (int)len, text, len, (int)r,
              e.msg, (int)want);
    CHECK_MSG(e.code == (int)want && e.msg[0] != '\0', "'%.*s': message", (int)len, text);
    CHECK_INT(((unsigned char *)&m)[0], 0xa5); /* *out untouched */
    CHECK_INT(path_parse_media(&m, text, len, NULL), want);
}

static void test_accepts(void)
{
    struct path_media m;
    CHECK_INT(test_parse(&m, ID "/master.m3u8", strlen(ID "/master.m3u8")), PATH_OK);
    CHECK_INT(m.kind, PATH_KIND_MASTER);
    CHECK_STR(m.stream_id, ID);
    CHECK_STR(m.rendition, "");
    CHECK_STR(m.name, "master.m3u8");
    CHECK_STR(m.rel, ID "/master.m3u8");
    static const struct {
        const char *path, *rendition, *name;
        enum path_kind kind;
    } ok[] = {
        {ID "/0/index.m3u8", "0", "index.m3u8", PATH_KIND_MEDIA_PLAYLIST},
        {ID "/720p/index.m3u8", "720p", "index.m3u8", PATH_KIND_MEDIA_PLAYLIST},
        {ID "/0/other_list-2.m3u8", "0", "other_list-2.m3u8", PATH_KIND_MEDIA_PLAYLIST},
        {ID "/0/master.m3u8", "0", "master.m3u8", PATH_KIND_MEDIA_PLAYLIST},
        {ID "/0/index0.ts", "0", "index0.ts", PATH_KIND_SEGMENT},
        {ID "/hi_Q-1/seg_00042.m4s", "hi_Q-1", "seg_00042.m4s", PATH_KIND_SEGMENT},
        {ID "/0/part.mp4", "0", "part.mp4", PATH_KIND_SEGMENT},
        {ID "/a/x.aac", "a", "x.aac", PATH_KIND_SEGMENT},
        {ID "/a/x.m4a", "a", "x.m4a", PATH_KIND_SEGMENT},
        {ID "/subs/x.vtt", "subs", "x.vtt", PATH_KIND_SEGMENT},
        {ID "/0/init.mp4", "0", "init.mp4", PATH_KIND_INIT},
        {ID "/0/init_0.mp4", "0", "init_0.mp4", PATH_KIND_INIT},
        {ID "/0/init.m4s", "0", "init.m4s", PATH_KIND_SEGMENT},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        CHECK_INT(test_parse(&m, ok[i].path, strlen(ok[i].path)), PATH_OK);
        CHECK_INT(m.kind, ok[i].kind);
        CHECK_STR(m.stream_id, ID);
        CHECK_STR(m.rendition, ok[i].rendition);
        CHECK_STR(m.name, ok[i].name);
        CHECK_STR(m.rel, ok[i].path);
    }
    /* the text has an explicit length: what follows it is not read */
    CHECK_INT(test_parse(&m, ID "/0/index.m3u8/../../x", strlen(ID "/0/index.m3u8")), PATH_OK);
    CHECK_STR(m.rel, ID "/0/index.m3u8");
}

static void test_limits(void)
{
    struct path_media m;
    char buf[PATH_REL_BYTES_MAX + 8];
    /* rendition: 32 ok, 33 not */
    int n =
        snprintf(buf, sizeof buf, ID "/%.32s/a.ts", "rrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrr");
    CHECK_INT(test_parse(&m, buf, (size_t)n), PATH_OK);
    n = snprintf(buf, sizeof buf, ID "/%.33s/a.ts", "rrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrr");
    test_reject(buf, (size_t)n, PATH_ERR_BAD_RENDITION);
    /* stem: 64 ok, 65 not; the longest valid path is exactly PATH_REL_BYTES_MAX */
    char stem[70];
    memset(stem, 's', sizeof stem);
    n = snprintf(buf, sizeof buf, ID "/%.32s/%.64s.m3u8", stem, stem);
    CHECK_INT(n, PATH_REL_BYTES_MAX);
    CHECK_INT(test_parse(&m, buf, (size_t)n), PATH_OK);
    CHECK_INT(m.kind, PATH_KIND_MEDIA_PLAYLIST);
    n = snprintf(buf, sizeof buf, ID "/r/%.65s.ts", stem);
    test_reject(buf, (size_t)n, PATH_ERR_BAD_NAME);
    /* overlong input: anything past the maximum, whatever it holds */
    n = snprintf(buf, sizeof buf, ID "/%.32s/%.64s.m3u8x", stem, stem);
    CHECK_INT(n, PATH_REL_BYTES_MAX + 1);
    test_reject(buf, (size_t)n, PATH_ERR_TOO_LONG);
    memset(buf, '/', sizeof buf);
    test_reject(buf, sizeof buf, PATH_ERR_TOO_LONG);
}

static void test_rejects(void)
{
    static const struct {
        const char *path;
        enum path_result want;
    } bad[] = {
        {"", PATH_ERR_EMPTY},
        {"/" ID "/master.m3u8", PATH_ERR_ABSOLUTE},
        {"/etc/passwd", PATH_ERR_ABSOLUTE},
        {"//" ID "/master.m3u8", PATH_ERR_ABSOLUTE},
        {ID "//0/index.m3u8", PATH_ERR_EMPTY},
        {ID "/0//index.m3u8", PATH_ERR_EMPTY},
        {ID "/", PATH_ERR_EMPTY},
        {ID "/0/", PATH_ERR_EMPTY},
        {"..", PATH_ERR_DOT},
        {".", PATH_ERR_DOT},
        {ID "/..", PATH_ERR_DOT},
        {ID "/../" ID "/master.m3u8", PATH_ERR_DOT},
        {ID "/./master.m3u8", PATH_ERR_DOT},
        {ID "/0/..", PATH_ERR_DOT},
        {ID "/0/.index.m3u8", PATH_ERR_DOT},
        {"../../etc/passwd", PATH_ERR_DOT},
        {ID "/%2e%2e/master.m3u8", PATH_ERR_BAD_CHAR}, /* encoded twice: '%' is left */
        {ID "/0/index%00.ts", PATH_ERR_BAD_CHAR},
        {ID "\\..\\master.m3u8", PATH_ERR_BAD_CHAR},
        {ID "/0\\index.m3u8", PATH_ERR_BAD_CHAR},
        {ID "/0/index 1.ts", PATH_ERR_BAD_CHAR},
        {ID "/0/index.ts?x=1", PATH_ERR_BAD_CHAR},
        {ID "/0/inde\xc3\xa9.ts", PATH_ERR_BAD_CHAR},
        {ID "/0/index.ts\n", PATH_ERR_BAD_CHAR},
        {"C:/" ID "/master.m3u8", PATH_ERR_BAD_CHAR},
        {ID "/0/a/index.ts", PATH_ERR_TOO_DEEP},
        {ID "/0/1/2/3.ts", PATH_ERR_TOO_DEEP},
        {"0F8E2A4C-1B3D-4E5F-8A9B-0C1D2E3F4A5B/master.m3u8", PATH_ERR_BAD_STREAM_ID},
        {"0f8e2a4c1b3d4e5f8a9b0c1d2e3f4a5b/master.m3u8", PATH_ERR_BAD_STREAM_ID},
        {"0f8e2a4c-1b3d-4e5f-8a9b-0c1d2e3f4a5/master.m3u8", PATH_ERR_BAD_STREAM_ID},
        {"0f8e2a4c-1b3d-4e5f-8a9b-0c1d2e3f4a5bb/master.m3u8", PATH_ERR_BAD_STREAM_ID},
        {"0f8e2a4c-1b3d-4e5f-8a9b-0c1d2e3f4a5g/master.m3u8", PATH_ERR_BAD_STREAM_ID},
        {"0f8e2a4c-1b3d-4e5f_8a9b-0c1d2e3f4a5b/master.m3u8", PATH_ERR_BAD_STREAM_ID},
        {"stream/master.m3u8", PATH_ERR_BAD_STREAM_ID},
        {ID "/0.1/index.m3u8", PATH_ERR_BAD_RENDITION},
        {ID "/master.m3u8/index.m3u8", PATH_ERR_BAD_RENDITION},
        {ID, PATH_ERR_BAD_NAME},
        {ID "/index.m3u8", PATH_ERR_BAD_NAME},
        {ID "/0", PATH_ERR_BAD_NAME},
        {ID "/0/index", PATH_ERR_BAD_NAME},
        {ID "/0/index.", PATH_ERR_BAD_NAME},
        {ID "/0/.ts", PATH_ERR_DOT},
        {ID "/0/index.exe", PATH_ERR_BAD_NAME},
        {ID "/0/index.TS", PATH_ERR_BAD_NAME},
        {ID "/0/index.ts.ts", PATH_ERR_BAD_NAME},
        {ID "/0/index.m3u8.bak", PATH_ERR_BAD_NAME},
        {ID "/0/index..ts", PATH_ERR_BAD_NAME},
        {ID "/0/index.ts.", PATH_ERR_BAD_NAME},
        {ID "/MASTER.M3U8", PATH_ERR_BAD_NAME},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        test_reject(bad[i].path, strlen(bad[i].path), bad[i].want);
    /* a NUL inside the explicit length */
    static const char nul[] = ID "/0/index.ts\0.m3u8";
    test_reject(nul, sizeof nul - 1, PATH_ERR_BAD_CHAR);
    static const char nul2[] = ID "/master.m3u8\0";
    test_reject(nul2, sizeof nul2 - 1, PATH_ERR_BAD_CHAR);
    /* messages quote the subject */
    struct path_media m;
    struct err e;
    CHECK_INT(path_parse_media(&m, ID "/../x", strlen(ID "/../x"), &e), PATH_ERR_DOT);
    CHECK_STR(e.msg, "dot path component '..'");
    CHECK_INT(path_parse_media(&m, ID "/0/a\\b.ts", strlen(ID "/0/a\\b.ts"), &e),
              PATH_ERR_BAD_CHAR);
    CHECK_STR(e.msg, "invalid character '\\x5c' at offset 40 in path");
}

/* Every byte value in the middle of a stem: exactly [A-Za-z0-9_-] passes. */
static void test_every_byte(void)
{
    for (int b = 0; b < 256; b++) {
        char buf[64];
        int n = snprintf(buf, sizeof buf, ID "/0/ab");
        buf[n++] = (char)b;
        memcpy(buf + n, "cd.ts", 5);
        n += 5;
        struct path_media m;
        enum path_result r = path_parse_media(&m, buf, (size_t)n, NULL);
        bool allowed = (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') || (b >= '0' && b <= '9') ||
                       b == '_' || b == '-';
        enum path_result want = allowed    ? PATH_OK
                                : b == '/' ? PATH_ERR_TOO_DEEP
                                : b == '.' ? PATH_ERR_BAD_NAME
                                           : PATH_ERR_BAD_CHAR;
        CHECK_MSG(r == want, "byte 0x%02x: got %d want %d", b, (int)r, (int)want);
    }
}

static void test_helpers(void)
{
    CHECK(path_is_stream_id(ID, strlen(ID)));
    CHECK(!path_is_stream_id(ID, strlen(ID) - 1));
    CHECK(path_is_rendition("a", 1));
    CHECK(!path_is_rendition("", 0));
    CHECK(!path_is_rendition("a.b", 3));
    CHECK_INT(path_classify_name("index.m3u8", 10), PATH_KIND_MEDIA_PLAYLIST);
    CHECK_INT(path_classify_name("init.mp4", 8), PATH_KIND_INIT);
    CHECK_INT(path_classify_name("initial.mp4", 11), PATH_KIND_INIT);
    CHECK_INT(path_classify_name("in.mp4", 6), PATH_KIND_SEGMENT);
    CHECK_INT(path_classify_name("../a.ts", 7), PATH_KIND_NONE);
    CHECK_INT(path_classify_name("a/b.ts", 6), PATH_KIND_NONE);
    CHECK_INT(path_classify_name("a.ts", 3), PATH_KIND_NONE); /* "a.t" */
    CHECK_STR(path_content_type("index.m3u8", 10), "application/vnd.apple.mpegurl");
    CHECK_STR(path_content_type("a.ts", 4), "video/mp2t");
    CHECK_STR(path_content_type("a.m4s", 5), "video/iso.segment");
    CHECK_STR(path_content_type("init.mp4", 8), "video/mp4");
    CHECK_STR(path_content_type("a.aac", 5), "audio/aac");
    CHECK_STR(path_content_type("a.m4a", 5), "audio/mp4");
    CHECK_STR(path_content_type("a.vtt", 5), "text/vtt");
    CHECK(path_content_type("a.html", 6) == NULL);
}

/* ---- files -------------------------------------------------------------------- */

static void test_make_file(const char *rel, const char *content)
{
    int fd = openat(test_dir_fd, rel, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        abort();
    size_t len = strlen(content);
    if (write(fd, content, len) != (ssize_t)len)
        abort();
    close(fd);
}

/* Entries starting with '.' (temporary files) in test_dir/rel_dir, "." and ".." aside. */
static size_t test_count_dot_files(const char *rel_dir)
{
    int fd = openat(test_dir_fd, rel_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (d == NULL)
        return (size_t)-1;
    size_t n = 0;
    for (struct dirent *de; (de = readdir(d)) != NULL;)
        if (de->d_name[0] == '.' && strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
            n++;
    closedir(d);
    return n;
}

static bool test_file_equals(const char *rel, const uint8_t *data, size_t len)
{
    int fd = openat(test_dir_fd, rel, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return false;
    uint8_t *got = malloc(len + 1);
    size_t have = 0;
    ssize_t n;
    while (got != NULL && (n = read(fd, got + have, len + 1 - have)) > 0)
        have += (size_t)n;
    close(fd);
    bool eq = got != NULL && have == len && (len == 0 || memcmp(got, data, len) == 0);
    free(got);
    return eq;
}

static void test_fs_setup(void)
{
    if (mkdirat(test_dir_fd, ID, 0755) != 0 || mkdirat(test_dir_fd, ID "/0", 0755) != 0 ||
        mkdirat(test_dir_fd, ID "/0/dir.ts", 0755) != 0 ||
        mkfifoat(test_dir_fd, ID "/0/fifo.ts", 0644) != 0 ||
        symlinkat("index0.ts", test_dir_fd, ID "/0/link.ts") != 0 ||
        symlinkat("0", test_dir_fd, ID "/1") != 0 ||
        symlinkat("/etc/passwd", test_dir_fd, ID "/0/passwd.ts") != 0 ||
        symlinkat(ID, test_dir_fd, ID2) != 0)
        abort();
    test_make_file(ID "/0/index0.ts", "segment");
    test_make_file(ID "/master.m3u8", "#EXTM3U\n");
}

static void test_open_at(void)
{
    int fd = 7;
    struct stat st;
    struct err e;
    const char *rel = ID "/0/index0.ts";
    CHECK_INT(path_open_at(&fd, &st, test_dir_fd, rel, strlen(rel), &e), PATH_OK);
    CHECK(fd >= 0);
    CHECK_INT(st.st_size, 7);
    CHECK_INT(fcntl(fd, F_GETFL) & O_NONBLOCK, 0);
    CHECK((fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0);
    char got[16] = {0};
    CHECK_INT(read(fd, got, sizeof got), 7);
    CHECK_STR(got, "segment");
    close(fd);
    CHECK_INT(
        path_open_at(&fd, NULL, test_dir_fd, ID "/master.m3u8", strlen(ID "/master.m3u8"), &e),
        PATH_OK);
    close(fd);
    static const struct {
        const char *rel;
        enum path_result want;
    } bad[] = {
        {ID "/0/missing.ts", PATH_ERR_NOT_FOUND},
        {ID "/2/index0.ts", PATH_ERR_NOT_FOUND},
        {ID "/master.m3u8/x.ts", PATH_ERR_NOT_FOUND}, /* a file used as a directory */
        {ID "/0/link.ts", PATH_ERR_SYMLINK},          /* symlink file */
        {ID "/0/passwd.ts", PATH_ERR_SYMLINK},        /* symlink out of the tree */
        {ID "/1/index0.ts", PATH_ERR_SYMLINK},        /* symlink rendition directory */
        {ID2 "/0/index0.ts", PATH_ERR_SYMLINK},       /* symlink stream directory */
        {ID "/0/dir.ts", PATH_ERR_NOT_REGULAR},
        {ID "/0/fifo.ts", PATH_ERR_NOT_REGULAR}, /* and no hang opening it */
        {ID "/0", PATH_ERR_NOT_REGULAR},
        {"../etc/passwd", PATH_ERR_DOT},
        {"/etc/passwd", PATH_ERR_ABSOLUTE},
        {ID "//0/index0.ts", PATH_ERR_EMPTY},
        {ID "/0/index0.ts/", PATH_ERR_EMPTY},
        {ID "/0/.hidden", PATH_ERR_DOT},
        {ID "/0/a%2f", PATH_ERR_BAD_CHAR},
        {ID "/0/x/y.ts", PATH_ERR_TOO_DEEP},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        fd = 7;
        enum path_result r =
            path_open_at(&fd, &st, test_dir_fd, bad[i].rel, strlen(bad[i].rel), &e);
        CHECK_MSG(r == bad[i].want, "%s: got %d (%s) want %d", bad[i].rel, (int)r, e.msg,
                  (int)bad[i].want);
        CHECK_INT(e.code, bad[i].want);
        CHECK_INT(fd, -1);
    }
    static const char nul[] = ID "/0/index0.ts\0";
    CHECK_INT(path_open_at(&fd, NULL, test_dir_fd, nul, sizeof nul - 1, NULL), PATH_ERR_BAD_CHAR);
}

static void test_write_atomic(void)
{
    struct err e;
    const char *rel = ID "/7/index0.ts";
    static const uint8_t one[] = "first version";
    CHECK_INT(path_write_atomic(test_dir_fd, rel, strlen(rel), one, sizeof one - 1, &e), PATH_OK);
    CHECK(test_file_equals(rel, one, sizeof one - 1));
    struct stat st;
    CHECK(fstatat(test_dir_fd, rel, &st, AT_SYMLINK_NOFOLLOW) == 0);
    CHECK_INT(st.st_mode & 07777, 0644);
    CHECK(S_ISREG(st.st_mode));
    CHECK(fstatat(test_dir_fd, ID "/7", &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode));
    CHECK_INT(st.st_mode & 07777, 0755);
    CHECK_INT(test_count_dot_files(ID "/7"), 0);
    /* replace with a larger random body: complete, no temporary left */
    size_t big_len = (size_t)3 << 20;
    uint8_t *big = malloc(big_len);
    uint64_t s = test_seed;
    for (size_t i = 0; i < big_len; i++)
        big[i] = (uint8_t)harness_rand(&s);
    CHECK_INT(path_write_atomic(test_dir_fd, rel, strlen(rel), big, big_len, &e), PATH_OK);
    CHECK(test_file_equals(rel, big, big_len));
    CHECK_INT(test_count_dot_files(ID "/7"), 0);
    free(big);
    /* zero bytes, and both new directories at once */
    const char *fresh = "22222222-3333-4444-8555-666666666666/a/b.ts";
    CHECK_INT(path_write_atomic(test_dir_fd, fresh, strlen(fresh), NULL, 0, &e), PATH_OK);
    CHECK(test_file_equals(fresh, NULL, 0));
    /* the master playlist at the top of a stream */
    const char *master = ID "/master.m3u8";
    CHECK_INT(path_write_atomic(test_dir_fd, master, strlen(master), one, 5, &e), PATH_OK);
    CHECK(test_file_equals(master, one, 5));
    CHECK_INT(test_count_dot_files(ID), 0);
}

static void test_write_refusals(void)
{
    struct err e;
    static const uint8_t body[] = "evil";
    /* through a symlinked rendition or stream directory: refused, target untouched */
    const char *via = ID "/1/index0.ts";
    CHECK_INT(path_write_atomic(test_dir_fd, via, strlen(via), body, 4, &e), PATH_ERR_SYMLINK);
    CHECK(test_file_equals(ID "/0/index0.ts", (const uint8_t *)"segment", 7));
    const char *via2 = ID2 "/0/new.ts";
    CHECK_INT(path_write_atomic(test_dir_fd, via2, strlen(via2), body, 4, &e), PATH_ERR_SYMLINK);
    CHECK_INT(faccessat(test_dir_fd, ID "/0/new.ts", F_OK, AT_SYMLINK_NOFOLLOW), -1);
    /* the final name a symlink: the link itself is replaced, its target untouched */
    const char *link = ID "/0/link.ts";
    CHECK_INT(path_write_atomic(test_dir_fd, link, strlen(link), body, 4, &e), PATH_OK);
    CHECK(test_file_equals(link, body, 4));
    CHECK(test_file_equals(ID "/0/index0.ts", (const uint8_t *)"segment", 7));
    /* the final name a directory: an I/O error and no temporary left */
    const char *dir = ID "/0/dir.ts";
    CHECK_INT(path_write_atomic(test_dir_fd, dir, strlen(dir), body, 4, &e), PATH_ERR_IO);
    CHECK_INT(test_count_dot_files(ID "/0"), 0);
    /* a file where a directory must be */
    const char *under = ID "/master.m3u8/x.ts";
    CHECK_INT(path_write_atomic(test_dir_fd, under, strlen(under), body, 4, &e),
              PATH_ERR_NOT_FOUND);
    /* validation first */
    CHECK_INT(path_write_atomic(test_dir_fd, "../x.ts", 7, body, 4, &e), PATH_ERR_DOT);
    CHECK_INT(path_write_atomic(test_dir_fd, "/tmp/x.ts", 9, body, 4, &e), PATH_ERR_ABSOLUTE);
    CHECK_INT(path_write_atomic(test_dir_fd, "a\\b", 3, body, 4, &e), PATH_ERR_BAD_CHAR);
    CHECK_INT(faccessat(test_dir_fd, "a\\b", F_OK, AT_SYMLINK_NOFOLLOW), -1);
}

int main(void)
{
    test_seed = harness_seed();
    umask(022);
    const char *base = getenv("TEST_TMPDIR");
    snprintf(test_dir, sizeof test_dir, "%s/test_path_XXXXXX",
             base != NULL && base[0] != '\0' ? base : "/tmp");
    if (mkdtemp(test_dir) == NULL)
        abort();
    test_dir_fd = open(test_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (test_dir_fd < 0)
        abort();
    test_fs_setup();
    RUN(test_accepts);
    RUN(test_limits);
    RUN(test_rejects);
    RUN(test_every_byte);
    RUN(test_helpers);
    RUN(test_open_at);
    RUN(test_write_atomic);
    RUN(test_write_refusals);
    close(test_dir_fd);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", test_dir);
    if (system(cmd) != 0)
        fprintf(stdout, "# could not remove %s\n", test_dir);
    return harness_finish();
}
