/* path.c - see path.h. */
#include "path.h"

#include "crypto.h"
#include "hex.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define PATH_TMP_RANDOM_BYTES 8
#define PATH_COMP_BYTES_MAX PATH_REL_BYTES_MAX /* one component of a checked path */
#define PATH_TMP_NAME_BYTES_MAX (1 + PATH_COMP_BYTES_MAX + 1 + 2 * PATH_TMP_RANDOM_BYTES)
#define PATH_TMP_TRIES_MAX 4
#define PATH_QUOTE_BYTES 64

/* One component of a split path: text[off..off+len). */
struct path_comp {
    size_t off;
    size_t len;
};

/* A split, generically checked path. */
struct path_split {
    struct path_comp comps[PATH_DEPTH_MAX];
    size_t count;
};

struct path_ext {
    const char *ext;
    enum path_kind kind;
    const char *content_type;
};

static const struct path_ext path_exts[] = {
    {"m3u8", PATH_KIND_MEDIA_PLAYLIST, "application/vnd.apple.mpegurl"},
    {"ts", PATH_KIND_SEGMENT, "video/mp2t"},
    {"m4s", PATH_KIND_SEGMENT, "video/iso.segment"},
    {"mp4", PATH_KIND_SEGMENT, "video/mp4"},
    {"aac", PATH_KIND_SEGMENT, "audio/aac"},
    {"m4a", PATH_KIND_SEGMENT, "audio/mp4"},
    {"vtt", PATH_KIND_SEGMENT, "text/vtt"},
};

static bool path_is_name_char(char c);
static bool path_is_lower_hex(char c);
static const struct path_ext *path_find_ext(const char *name, size_t name_len, size_t *stem_len);
static enum path_result path_split_check(struct path_split *sp, const char *text, size_t text_len,
                                         struct err *e);
static enum path_result path_split_components(struct path_split *sp, const char *text,
                                              size_t text_len, struct err *e);
static enum path_result path_check_layout(const struct path_split *sp, const char *text,
                                          enum path_kind *kind_out, struct err *e);
static void path_copy(char *out, size_t out_size, const char *text, struct path_comp c);
static enum path_result path_errno(int err_no, const char *what, const char *name, size_t name_len,
                                   struct err *e);
static enum path_result path_open_dir(int *fd_out, int dir_fd, const char *name, size_t name_len,
                                      bool create, struct err *e);
static enum path_result path_walk_parent(int *parent_out, char name[PATH_COMP_BYTES_MAX + 1],
                                         int dir_fd, const char *rel, size_t rel_len, bool create,
                                         struct err *e);
static enum path_result path_write_all(int fd, const uint8_t *data, size_t data_len, struct err *e);
static enum path_result path_create_tmp(int *fd_out, char *tmp, size_t tmp_size, int dir_fd,
                                        const char *name, struct err *e);
static enum path_result path_replace(int dir_fd, const char *name, const uint8_t *data,
                                     size_t data_len, struct err *e);

static bool path_is_name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
}

static bool path_is_lower_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

bool path_is_stream_id(const char *s, size_t len)
{
    if (len != PATH_STREAM_ID_LEN)
        return false;
    for (size_t i = 0; i < len; i++) {
        bool dash_place = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash_place ? s[i] != '-' : !path_is_lower_hex(s[i]))
            return false;
    }
    return true;
}

bool path_is_rendition(const char *s, size_t len)
{
    if (len == 0 || len > PATH_RENDITION_BYTES_MAX)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!path_is_name_char(s[i]))
            return false;
    return true;
}

/* The extension entry of "<stem>.<ext>" with a valid stem, else NULL. */
static const struct path_ext *path_find_ext(const char *name, size_t name_len, size_t *stem_len)
{
    const char *dot = memchr(name, '.', name_len);
    if (dot == NULL)
        return NULL;
    size_t stem = (size_t)(dot - name), ext_len = name_len - stem - 1;
    if (stem == 0 || stem > PATH_STEM_BYTES_MAX)
        return NULL;
    for (size_t i = 0; i < stem; i++)
        if (!path_is_name_char(name[i]))
            return NULL;
    for (size_t i = 0; i < sizeof path_exts / sizeof path_exts[0]; i++) {
        if (strlen(path_exts[i].ext) == ext_len &&
            memcmp(path_exts[i].ext, dot + 1, ext_len) == 0) {
            *stem_len = stem;
            return &path_exts[i];
        }
    }
    return NULL;
}

enum path_kind path_classify_name(const char *name, size_t name_len)
{
    size_t stem = 0;
    const struct path_ext *x = path_find_ext(name, name_len, &stem);
    if (x == NULL)
        return PATH_KIND_NONE;
    if (strcmp(x->ext, "mp4") == 0 && stem >= 4 && memcmp(name, "init", 4) == 0)
        return PATH_KIND_INIT;
    return x->kind;
}

const char *path_content_type(const char *name, size_t name_len)
{
    size_t stem = 0;
    const struct path_ext *x = path_find_ext(name, name_len, &stem);
    return x == NULL ? NULL : x->content_type;
}

/* Generic checks shared by parsing and file access, in the documented order. */
static enum path_result path_split_check(struct path_split *sp, const char *text, size_t text_len,
                                         struct err *e)
{
    if (text_len > PATH_REL_BYTES_MAX)
        return (enum path_result)err_set(e, PATH_ERR_TOO_LONG, "path too long: %zu bytes (max %d)",
                                         text_len, PATH_REL_BYTES_MAX);
    if (text_len == 0)
        return (enum path_result)err_set(e, PATH_ERR_EMPTY, "empty path");
    char q[PATH_QUOTE_BYTES];
    if (text[0] == '/') {
        err_quote(q, sizeof q, text, text_len);
        return (enum path_result)err_set(e, PATH_ERR_ABSOLUTE, "absolute path '%s'", q);
    }
    for (size_t i = 0; i < text_len; i++) {
        if (!path_is_name_char(text[i]) && text[i] != '.' && text[i] != '/') {
            err_quote(q, sizeof q, text + i, 1);
            return (enum path_result)err_set(e, PATH_ERR_BAD_CHAR,
                                             "invalid character '%s' at offset %zu in path", q, i);
        }
    }
    return path_split_components(sp, text, text_len, e);
}

/* Splits on '/' (the text holds only allowed characters by now). */
static enum path_result path_split_components(struct path_split *sp, const char *text,
                                              size_t text_len, struct err *e)
{
    size_t start = 0, count = 0;
    for (size_t i = 0; i <= text_len; i++) {
        if (i < text_len && text[i] != '/')
            continue;
        struct path_comp c = {start, i - start};
        if (c.len == 0)
            return (enum path_result)err_set(e, PATH_ERR_EMPTY,
                                             "empty path component at offset %zu", start);
        if (text[start] == '.') {
            char q[PATH_QUOTE_BYTES];
            err_quote(q, sizeof q, text + start, c.len);
            return (enum path_result)err_set(e, PATH_ERR_DOT, "dot path component '%s'", q);
        }
        if (count == PATH_DEPTH_MAX)
            return (enum path_result)err_set(e, PATH_ERR_TOO_DEEP,
                                             "path has more than %d components", PATH_DEPTH_MAX);
        sp->comps[count++] = c;
        start = i + 1;
    }
    sp->count = count;
    return PATH_OK;
}

/* id, then master.m3u8 alone or rendition/name. */
static enum path_result path_check_layout(const struct path_split *sp, const char *text,
                                          enum path_kind *kind_out, struct err *e)
{
    char q[PATH_QUOTE_BYTES];
    const struct path_comp *c = sp->comps;
    if (!path_is_stream_id(text + c[0].off, c[0].len)) {
        err_quote(q, sizeof q, text + c[0].off, c[0].len);
        return (enum path_result)err_set(e, PATH_ERR_BAD_STREAM_ID,
                                         "stream id '%s' is not a lowercase uuid", q);
    }
    if (sp->count == 2) {
        if (c[1].len == strlen("master.m3u8") &&
            memcmp(text + c[1].off, "master.m3u8", c[1].len) == 0) {
            *kind_out = PATH_KIND_MASTER;
            return PATH_OK;
        }
    } else if (sp->count == 3) {
        if (!path_is_rendition(text + c[1].off, c[1].len)) {
            err_quote(q, sizeof q, text + c[1].off, c[1].len);
            return (enum path_result)err_set(e, PATH_ERR_BAD_RENDITION, "invalid rendition '%s'",
                                             q);
        }
        *kind_out = path_classify_name(text + c[2].off, c[2].len);
        if (*kind_out != PATH_KIND_NONE)
            return PATH_OK;
    }
    const struct path_comp *last = &c[sp->count - 1];
    err_quote(q, sizeof q, text + last->off, last->len);
    return (enum path_result)err_set(e, PATH_ERR_BAD_NAME, "file name '%s' is not allowed here", q);
}

static void path_copy(char *out, size_t out_size, const char *text, struct path_comp c)
{
    ASSERT(c.len < out_size);
    memcpy(out, text + c.off, c.len);
    out[c.len] = '\0';
}

enum path_result path_parse_media(struct path_media *out, const char *text, size_t text_len,
                                  struct err *e)
{
    struct path_split sp;
    enum path_result r = path_split_check(&sp, text, text_len, e);
    if (r != PATH_OK)
        return r;
    enum path_kind kind = PATH_KIND_NONE;
    r = path_check_layout(&sp, text, &kind, e);
    if (r != PATH_OK)
        return r;
    out->kind = kind;
    path_copy(out->stream_id, sizeof out->stream_id, text, sp.comps[0]);
    out->rendition[0] = '\0';
    if (sp.count == 3)
        path_copy(out->rendition, sizeof out->rendition, text, sp.comps[1]);
    path_copy(out->name, sizeof out->name, text, sp.comps[sp.count - 1]);
    path_copy(out->rel, sizeof out->rel, text, (struct path_comp){0, text_len});
    return PATH_OK;
}

static enum path_result path_errno(int err_no, const char *what, const char *name, size_t name_len,
                                   struct err *e)
{
    char q[PATH_QUOTE_BYTES];
    err_quote(q, sizeof q, name, name_len);
    enum path_result r = PATH_ERR_IO;
    if (err_no == ELOOP)
        r = PATH_ERR_SYMLINK;
    else if (err_no == ENOENT || err_no == ENOTDIR)
        r = PATH_ERR_NOT_FOUND;
    if (r == PATH_ERR_SYMLINK)
        return (enum path_result)err_set(e, r, "%s '%s': refusing a symlink", what, q);
    return (enum path_result)err_set(e, r, "%s '%s': %s", what, q, strerror(err_no));
}

/* Opens (creating it first when `create`) the directory dir_fd/name without
 * following a symlink. O_DIRECTORY|O_NOFOLLOW gives ENOTDIR on a symlink, so
 * that case is told apart with fstatat(AT_SYMLINK_NOFOLLOW). */
static enum path_result path_open_dir(int *fd_out, int dir_fd, const char *name, size_t name_len,
                                      bool create, struct err *e)
{
    char comp[PATH_COMP_BYTES_MAX + 1];
    ASSERT(name_len < sizeof comp);
    path_copy(comp, sizeof comp, name, (struct path_comp){0, name_len});
    bool created = false;
    if (create) {
        if (mkdirat(dir_fd, comp, PATH_DIR_MODE) == 0)
            created = true;
        else if (errno != EEXIST)
            return path_errno(errno, "mkdir", name, name_len, e);
    }
    int fd = openat(dir_fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        int err_no = errno;
        struct stat st;
        if (err_no == ENOTDIR && fstatat(dir_fd, comp, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
            S_ISLNK(st.st_mode))
            err_no = ELOOP;
        return path_errno(err_no, "open directory", name, name_len, e);
    }
    if (created && fsync(dir_fd) != 0) {
        int err_no = errno;
        close(fd);
        return path_errno(err_no, "fsync parent of", name, name_len, e);
    }
    *fd_out = fd;
    return PATH_OK;
}

/* Checks rel, opens (creating them first when `create`) its directory
 * components and copies its last component to name. *parent_out is the last
 * directory: dir_fd itself for a one-component path (not to be closed), else
 * an fd the caller closes. */
static enum path_result path_walk_parent(int *parent_out, char name[PATH_COMP_BYTES_MAX + 1],
                                         int dir_fd, const char *rel, size_t rel_len, bool create,
                                         struct err *e)
{
    struct path_split sp;
    enum path_result r = path_split_check(&sp, rel, rel_len, e);
    if (r != PATH_OK)
        return r;
    int cur = dir_fd;
    for (size_t i = 0; i + 1 < sp.count; i++) {
        int next = -1;
        r = path_open_dir(&next, cur, rel + sp.comps[i].off, sp.comps[i].len, create, e);
        if (cur != dir_fd)
            close(cur);
        if (r != PATH_OK)
            return r;
        cur = next;
    }
    path_copy(name, PATH_COMP_BYTES_MAX + 1, rel, sp.comps[sp.count - 1]);
    *parent_out = cur;
    return PATH_OK;
}

enum path_result path_open_at(int *fd_out, struct stat *st_out, int dir_fd, const char *rel,
                              size_t rel_len, struct err *e)
{
    *fd_out = -1;
    int parent = -1;
    char name[PATH_COMP_BYTES_MAX + 1];
    enum path_result r = path_walk_parent(&parent, name, dir_fd, rel, rel_len, false, e);
    if (r != PATH_OK)
        return r;
    int fd = openat(parent, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    int err_no = errno;
    if (parent != dir_fd)
        close(parent);
    if (fd < 0)
        return path_errno(err_no, "open", rel, rel_len, e);
    struct stat st;
    int flags = fstat(fd, &st) == 0 ? fcntl(fd, F_GETFL) : -1;
    if (flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) != 0) {
        err_no = errno;
        close(fd);
        return path_errno(err_no, "stat", rel, rel_len, e);
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        char q[PATH_QUOTE_BYTES];
        err_quote(q, sizeof q, rel, rel_len);
        return (enum path_result)err_set(e, PATH_ERR_NOT_REGULAR, "'%s' is not a regular file", q);
    }
    if (st_out != NULL)
        *st_out = st;
    *fd_out = fd;
    return PATH_OK;
}

static enum path_result path_write_all(int fd, const uint8_t *data, size_t data_len, struct err *e)
{
    size_t done = 0;
    while (done < data_len) { /* bounded: every pass writes >= 1 byte or fails */
        ssize_t n = write(fd, data + done, data_len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return (enum path_result)err_set(e, PATH_ERR_IO, "write: %s",
                                             n < 0 ? strerror(errno) : "no progress");
        done += (size_t)n;
    }
    return PATH_OK;
}

/* Creates ".<name>.<16 random hex>" exclusively in dir_fd; its name goes to tmp. */
static enum path_result path_create_tmp(int *fd_out, char *tmp, size_t tmp_size, int dir_fd,
                                        const char *name, struct err *e)
{
    for (int attempt = 0; attempt < PATH_TMP_TRIES_MAX; attempt++) {
        uint8_t rnd[PATH_TMP_RANDOM_BYTES];
        char hex[2 * PATH_TMP_RANDOM_BYTES + 1];
        struct err sub = {0};
        if (crypto_random_bytes(rnd, sizeof rnd, &sub) != CRYPTO_OK ||
            hex_encode(hex, sizeof hex, rnd, sizeof rnd) != 0)
            return (enum path_result)err_set(e, PATH_ERR_IO, "temporary name: %s", sub.msg);
        int n = snprintf(tmp, tmp_size, ".%s.%s", name, hex);
        ASSERT(n > 0 && (size_t)n < tmp_size);
        int fd = openat(dir_fd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                        PATH_FILE_MODE);
        if (fd >= 0) {
            *fd_out = fd;
            return PATH_OK;
        }
        if (errno != EEXIST)
            return path_errno(errno, "create", tmp, strlen(tmp), e);
    }
    return (enum path_result)err_set(e, PATH_ERR_IO, "create temporary file for '%s': names taken",
                                     name);
}

/* tmp file in dir_fd, write, fsync, rename over `name`, fsync dir_fd. */
static enum path_result path_replace(int dir_fd, const char *name, const uint8_t *data,
                                     size_t data_len, struct err *e)
{
    char tmp[PATH_TMP_NAME_BYTES_MAX + 1];
    int fd = -1;
    enum path_result r = path_create_tmp(&fd, tmp, sizeof tmp, dir_fd, name, e);
    if (r != PATH_OK)
        return r;
    r = path_write_all(fd, data, data_len, e);
    if (r == PATH_OK && fsync(fd) != 0)
        r = path_errno(errno, "fsync", tmp, strlen(tmp), e);
    if (close(fd) != 0 && r == PATH_OK)
        r = path_errno(errno, "close", tmp, strlen(tmp), e);
    if (r == PATH_OK && renameat(dir_fd, tmp, dir_fd, name) != 0)
        r = path_errno(errno, "rename to", name, strlen(name), e);
    if (r != PATH_OK) {
        unlinkat(dir_fd, tmp, 0);
        return r;
    }
    if (fsync(dir_fd) != 0)
        return path_errno(errno, "fsync directory of", name, strlen(name), e);
    return PATH_OK;
}

enum path_result path_write_atomic(int dir_fd, const char *rel, size_t rel_len, const uint8_t *data,
                                   size_t data_len, struct err *e)
{
    int parent = -1;
    char name[PATH_COMP_BYTES_MAX + 1];
    enum path_result r = path_walk_parent(&parent, name, dir_fd, rel, rel_len, true, e);
    if (r != PATH_OK)
        return r;
    r = path_replace(parent, name, data, data_len, e);
    if (parent != dir_fd)
        close(parent);
    return r;
}
