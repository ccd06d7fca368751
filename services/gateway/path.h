/*
 * path.h - the allow-list for media paths under /hls/{id}/... and
 * /ingest/{id}/..., and file access under MEDIA_DIR that never follows a
 * symlink.
 *
 * Media layout (relative to MEDIA_DIR):
 *   <stream_id>/master.m3u8                 the master playlist
 *   <stream_id>/<rendition>/<stem>.m3u8     a media playlist (index.m3u8)
 *   <stream_id>/<rendition>/<stem>.<ext>    a segment, ext ts|m4s|mp4|aac|m4a|vtt
 *   <stream_id>/<rendition>/init<...>.mp4   an fMP4 init segment (EXT-X-MAP)
 * where stream_id is a lowercase UUID (8-4-4-4-12 hex digits), rendition is
 * [A-Za-z0-9_-]{1,32} and stem is [A-Za-z0-9_-]{1,64}.
 *
 * Validation runs on the path AFTER the HTTP layer percent-decoded it, so the
 * text has an explicit length: a NUL byte inside is an error like any other
 * byte outside the allow-list. A '%' left after decoding ("%2e%2e" decoded
 * once is "..", twice-encoded input leaves '%'), '\', '.' and '..'
 * components, empty components ("a//b", a trailing '/'), absolute paths and
 * anything longer than PATH_REL_BYTES_MAX are rejected, each with its own
 * code. Everything that validates is canonical: the text is its own
 * relative path under MEDIA_DIR.
 *
 * File access: path_open_at() and path_write_atomic() walk a relative path one
 * component at a time with openat(O_NOFOLLOW), so a symlink anywhere is
 * refused (PATH_ERR_SYMLINK), and they re-check every component (no '.'-
 * leading names, same charset), so they are safe even when a caller forgets
 * path_parse_media(). Temporary files of the atomic write start with '.', a
 * name no request can reach.
 *
 * Thread safety: every function is reentrant; nothing here keeps state.
 */
#ifndef GATEWAY_PATH_H
#define GATEWAY_PATH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "check.h"
#include "err.h"

#define PATH_STREAM_ID_LEN 36
#define PATH_RENDITION_BYTES_MAX 32
#define PATH_STEM_BYTES_MAX 64
#define PATH_NAME_BYTES_MAX (PATH_STEM_BYTES_MAX + 5) /* stem + ".m3u8" */
/* "<id>/<rendition>/<name>": the longest path that can validate (139). */
#define PATH_REL_BYTES_MAX                                                                         \
    (PATH_STREAM_ID_LEN + 1 + PATH_RENDITION_BYTES_MAX + 1 + PATH_NAME_BYTES_MAX)
#define PATH_DEPTH_MAX 3 /* components of a media path */
#define PATH_FILE_MODE 0644
#define PATH_DIR_MODE 0755

/* Stable result codes; numbers are never reused. */
enum path_result {
    PATH_OK = 0,
    PATH_ERR_TOO_LONG = 1,      /* longer than PATH_REL_BYTES_MAX */
    PATH_ERR_EMPTY = 2,         /* empty path or component: "", "a//b", "a/" */
    PATH_ERR_ABSOLUTE = 3,      /* starts with '/' */
    PATH_ERR_DOT = 4,           /* a "." or ".." component, or a name starting with '.' */
    PATH_ERR_BAD_CHAR = 5,      /* NUL, '%', '\', control or any byte outside the allow-list */
    PATH_ERR_BAD_STREAM_ID = 6, /* first component is not a lowercase UUID */
    PATH_ERR_TOO_DEEP = 7,      /* more components than the layout has */
    PATH_ERR_BAD_RENDITION = 8, /* rendition not [A-Za-z0-9_-]{1,32} */
    PATH_ERR_BAD_NAME = 9,      /* file name not in the allow-list for its place */
    PATH_ERR_NOT_FOUND = 10,    /* open: a component does not exist (ENOENT/ENOTDIR) */
    PATH_ERR_SYMLINK = 11,      /* open/write: a component is a symlink (ELOOP) */
    PATH_ERR_NOT_REGULAR = 12,  /* open: the file is a directory, FIFO, device... */
    PATH_ERR_IO = 13            /* any other system call failure (message has errno text) */
};

enum path_kind {
    PATH_KIND_NONE = 0,           /* not an allowed name */
    PATH_KIND_MASTER = 1,         /* <id>/master.m3u8 */
    PATH_KIND_MEDIA_PLAYLIST = 2, /* <id>/<rendition>/<stem>.m3u8 */
    PATH_KIND_SEGMENT = 3,        /* <id>/<rendition>/<stem>.(ts|m4s|mp4|aac|m4a|vtt) */
    PATH_KIND_INIT = 4            /* <id>/<rendition>/init<rest>.mp4 */
};

/* A validated media path, split. All strings are NUL-terminated copies. */
struct path_media {
    enum path_kind kind;
    char stream_id[PATH_STREAM_ID_LEN + 1];
    char rendition[PATH_RENDITION_BYTES_MAX + 1]; /* "" for the master playlist */
    char name[PATH_NAME_BYTES_MAX + 1];           /* last component */
    char rel[PATH_REL_BYTES_MAX + 1];             /* the whole path, for path_open_at() */
};

/* True when s[0..len) is a lowercase UUID "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx". */
bool path_is_stream_id(const char *s, size_t len);

/* True when s[0..len) is a rendition name [A-Za-z0-9_-]{1,32}. */
bool path_is_rendition(const char *s, size_t len);

/* What a file name inside a rendition directory is: PATH_KIND_MEDIA_PLAYLIST,
 * PATH_KIND_SEGMENT, PATH_KIND_INIT, or PATH_KIND_NONE when the name is not
 * in the allow-list ("master.m3u8" here is a media playlist name like any
 * other; only path_parse_media() knows the top level). */
enum path_kind path_classify_name(const char *name, size_t name_len);

/* The Content-Type for an allowed file name ("application/vnd.apple.mpegurl",
 * "video/mp2t", "video/iso.segment", "video/mp4", "audio/aac", "audio/mp4",
 * "text/vtt"), or NULL when the name is not allowed. A static string. */
const char *path_content_type(const char *name, size_t name_len);

/* Validates the decoded path that follows "/hls/" or "/ingest/", e.g.
 * "<id>/master.m3u8" or "<id>/0/index3.ts", into *out (written only on
 * success). Returns PATH_OK or the first problem found, checked in this
 * order: PATH_ERR_TOO_LONG, PATH_ERR_EMPTY (whole path), PATH_ERR_ABSOLUTE,
 * PATH_ERR_BAD_CHAR, PATH_ERR_EMPTY (a component), PATH_ERR_DOT,
 * PATH_ERR_TOO_DEEP, PATH_ERR_BAD_STREAM_ID, PATH_ERR_BAD_RENDITION,
 * PATH_ERR_BAD_NAME. `e` (may be NULL) gets the code and a message. */
WUR enum path_result path_parse_media(struct path_media *out, const char *text, size_t text_len,
                                      struct err *e);

/* Opens dir_fd/rel read-only: every directory component with
 * openat(O_RDONLY|O_DIRECTORY|O_NOFOLLOW|O_CLOEXEC), the file with
 * openat(O_RDONLY|O_NOFOLLOW|O_CLOEXEC|O_NONBLOCK|O_NOCTTY), then fstat()
 * must show a regular file. rel[0..rel_len) is re-checked like a media path
 * (at most PATH_DEPTH_MAX components of [A-Za-z0-9._-], none empty or
 * '.'-leading). On success *fd_out is an fd the caller closes (blocking mode)
 * and *st_out (may be NULL) its fstat. On failure *fd_out is -1 and nothing
 * stays open. Returns PATH_OK, a validation code, PATH_ERR_NOT_FOUND,
 * PATH_ERR_SYMLINK, PATH_ERR_NOT_REGULAR or PATH_ERR_IO. */
WUR enum path_result path_open_at(int *fd_out, struct stat *st_out, int dir_fd, const char *rel,
                                  size_t rel_len, struct err *e);

/* Stores data[0..data_len) at dir_fd/rel atomically: creates missing
 * directories (mkdirat PATH_DIR_MODE, then opened O_DIRECTORY|O_NOFOLLOW; the
 * parent is fsynced after a creation), writes a temporary ".<name>.<random>"
 * (O_CREAT|O_EXCL|O_NOFOLLOW, PATH_FILE_MODE) in the final directory, fsyncs
 * it, renameat()s it over the final name and fsyncs the directory. A reader
 * sees the old file or the complete new one, never a part. On failure the
 * temporary file is removed and the final name is untouched (directories
 * created on the way stay). rel is checked as for path_open_at(). Returns
 * PATH_OK, a validation code, PATH_ERR_SYMLINK, PATH_ERR_NOT_FOUND (a
 * directory component exists but is not a directory) or PATH_ERR_IO (the
 * final name is a directory, a full disk...). */
WUR enum path_result path_write_atomic(int dir_fd, const char *rel, size_t rel_len,
                                       const uint8_t *data, size_t data_len, struct err *e);

#endif
