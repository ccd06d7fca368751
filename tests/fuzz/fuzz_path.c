/*
 * fuzz_path.c - path_parse_media() and the checks of path_open_at() on
 * arbitrary decoded paths.
 *
 * Input: byte 0 is the mode; bit 0 puts a valid stream id and '/' in front
 * of the rest (so mutants reach the rendition and name checks); the rest is
 * the path. Properties:
 *   - the result is PATH_OK or a documented validation code, with e set to it
 *     and *out untouched on error; e == NULL gives the same result;
 *   - an accepted path is safe: at most PATH_REL_BYTES_MAX bytes of
 *     [A-Za-z0-9._/-], not absolute, no empty, "." or ".." component, no
 *     component starting with '.', no ".." even inside a name, no NUL, '%'
 *     or '\'; it splits into exactly stream id / [rendition /] name, each
 *     valid, the kind agrees with path_classify_name() and
 *     path_content_type() knows the name;
 *   - path_open_at() on a bad directory fd never succeeds: it returns the
 *     same validation code as the generic checks, or PATH_ERR_IO (EBADF) for
 *     a path they accept, and *fd_out is -1.
 */
#include "fuzz.h"
#include "path.h"

#include <fcntl.h>

#define FUZZ_PATH_ID "0f8e2a4c-1b3d-4e5f-8a9b-0c1d2e3f4a5b/"
#define FUZZ_PATH_FILL 0x5a

static bool fuzz_path_safe(const char *p, size_t len);
static bool fuzz_path_generic_code(enum path_result r);
static void fuzz_path_check_parts(const struct path_media *m, const char *p, size_t len);
static void fuzz_path_parse(const char *p, size_t len);
static void fuzz_path_open(const char *p, size_t len);

/* The safety property, checked without path.c's code. */
static bool fuzz_path_safe(const char *p, size_t len)
{
    if (len == 0 || len > PATH_REL_BYTES_MAX || p[0] == '/' || p[len - 1] == '/')
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = p[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '-' || c == '.' || c == '/';
        if (!ok)
            return false;
        bool starts_component = i == 0 || p[i - 1] == '/';
        if (starts_component && (c == '.' || c == '/'))
            return false; /* ".", "..", ".hidden" or "//" */
    }
    return true;
}

/* The codes of the checks path_open_at() shares with path_parse_media(). */
static bool fuzz_path_generic_code(enum path_result r)
{
    return r == PATH_ERR_TOO_LONG || r == PATH_ERR_EMPTY || r == PATH_ERR_ABSOLUTE ||
           r == PATH_ERR_DOT || r == PATH_ERR_BAD_CHAR || r == PATH_ERR_TOO_DEEP;
}

static void fuzz_path_check_parts(const struct path_media *m, const char *p, size_t len)
{
    FUZZ_CHECK(fuzz_path_safe(p, len));
    FUZZ_CHECK(memmem(p, len, "..", 2) == NULL); /* not even inside a name */
    FUZZ_CHECK(strlen(m->rel) == len && memcmp(m->rel, p, len) == 0);
    FUZZ_CHECK(path_is_stream_id(m->stream_id, strlen(m->stream_id)));
    char joined[PATH_REL_BYTES_MAX + 8];
    int n = m->rendition[0] != '\0'
                ? snprintf(joined, sizeof joined, "%s/%s/%s", m->stream_id, m->rendition, m->name)
                : snprintf(joined, sizeof joined, "%s/%s", m->stream_id, m->name);
    FUZZ_CHECK(n > 0 && (size_t)n == len && memcmp(joined, p, len) == 0);
    size_t name_len = strlen(m->name);
    FUZZ_CHECK(path_content_type(m->name, name_len) != NULL);
    if (m->kind == PATH_KIND_MASTER) {
        FUZZ_CHECK(m->rendition[0] == '\0' && strcmp(m->name, "master.m3u8") == 0);
        return;
    }
    FUZZ_CHECK(path_is_rendition(m->rendition, strlen(m->rendition)));
    FUZZ_CHECK(m->kind == path_classify_name(m->name, name_len));
    FUZZ_CHECK(m->kind == PATH_KIND_MEDIA_PLAYLIST || m->kind == PATH_KIND_SEGMENT ||
               m->kind == PATH_KIND_INIT);
}

static void fuzz_path_parse(const char *p, size_t len)
{
    struct path_media m;
    memset(&m, FUZZ_PATH_FILL, sizeof m);
    struct err e;
    fuzz_err_prime(&e);
    enum path_result r = path_parse_media(&m, p, len, &e);
    if (r == PATH_OK) {
        FUZZ_CHECK(fuzz_err_is_untouched(&e));
        fuzz_path_check_parts(&m, p, len);
    } else if (fuzz_path_generic_code(r) || r == PATH_ERR_BAD_STREAM_ID ||
               r == PATH_ERR_BAD_RENDITION || r == PATH_ERR_BAD_NAME) {
        FUZZ_CHECK(fuzz_err_is_set(&e, (int)r));
        const unsigned char *bytes = (const unsigned char *)&m;
        for (size_t i = 0; i < sizeof m; i++)
            FUZZ_CHECK(bytes[i] == FUZZ_PATH_FILL);
    } else {
        FUZZ_FAIL("path_parse_media returned an undocumented code");
    }
    struct path_media m2;
    FUZZ_CHECK(path_parse_media(&m2, p, len, NULL) == r);
}

static void fuzz_path_open(const char *p, size_t len)
{
    int fd = 12345;
    struct err e;
    fuzz_err_prime(&e);
    enum path_result r = path_open_at(&fd, NULL, -1, p, len, &e);
    FUZZ_CHECK(fd == -1);
    FUZZ_CHECK(r != PATH_OK);
    FUZZ_CHECK(fuzz_err_is_set(&e, (int)r));
    /* PATH_ERR_IO (EBADF) means the generic checks passed: the model must agree */
    if (r == PATH_ERR_IO)
        FUZZ_CHECK(fuzz_path_safe(p, len));
    else if (!fuzz_path_generic_code(r))
        FUZZ_FAIL("path_open_at returned an unexpected code");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    uint8_t mode = data[0];
    size_t prefix = (mode & 1) ? strlen(FUZZ_PATH_ID) : 0;
    size_t len = prefix + size - 1;
    char *p = malloc(len > 0 ? len : 1); /* exactly sized, no NUL: ASan sees an over-read */
    FUZZ_CHECK(p != NULL);
    memcpy(p, FUZZ_PATH_ID, prefix);
    memcpy(p + prefix, data + 1, size - 1);
    fuzz_path_parse(p, len);
    fuzz_path_open(p, len);
    free(p);
    return 0;
}
