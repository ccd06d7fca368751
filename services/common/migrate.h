/*
 * migrate.h - schema migrations from `migrations/NNNN_name.sql`.
 *
 * Files: every directory entry not starting with '.' must be named
 * NNNN_name.sql, where NNNN is four digits (0001..9999) and name is 1 to
 * MIGRATE_NAME_BYTES_MAX bytes of [a-z0-9_]. Versions must run 0001, 0002,
 * ... without gaps or duplicates. The directory is checked completely before
 * the database is touched. Files are trusted SQL (run with PQexec) and must
 * not contain transaction control (BEGIN/COMMIT): the runner wraps each one.
 *
 * Bookkeeping: table `schema_migrations(version int primary key, name text,
 * applied_at timestamptz)` in the first schema of the session's search_path.
 * Each pending file runs in its own transaction together with the INSERT of
 * its row, so a failing migration leaves neither its changes nor its row.
 * An applied version whose file is now missing or renamed is an error.
 *
 * Concurrency: migrate_run holds the session advisory lock MIGRATE_LOCK_KEY
 * from before it reads schema_migrations until it returns, so when several
 * processes start at once one applies and the others then see everything
 * applied. It waits for the lock at most MIGRATE_LOCK_WAIT_MS_MAX.
 *
 * Ownership: `struct migrate_plan` owns its heap array until
 * migrate_plan_release(). Limits: MIGRATE_FILES_MAX files of at most
 * MIGRATE_FILE_BYTES_MAX bytes, MIGRATE_DIR_ENTRIES_MAX directory entries,
 * directory path MIGRATE_DIR_BYTES_MAX.
 */
#ifndef COMMON_MIGRATE_H
#define COMMON_MIGRATE_H

#include <stddef.h>
#include <stdint.h>

#include "check.h"
#include "err.h"
#include "pg.h"

#define MIGRATE_FILES_MAX 1000
#define MIGRATE_FILE_BYTES_MAX (1024 * 1024)
#define MIGRATE_NAME_BYTES_MAX 64
#define MIGRATE_FILE_NAME_BYTES_MAX (4 + 1 + MIGRATE_NAME_BYTES_MAX + 4)
#define MIGRATE_DIR_BYTES_MAX 1024
#define MIGRATE_DIR_ENTRIES_MAX 10000
#define MIGRATE_LOCK_KEY INT64_C(8244234291206384999) /* "rightsmg" */
#define MIGRATE_LOCK_WAIT_MS_MAX 120000

/* Stable result codes; numbers are never reused. */
enum migrate_result {
    MIGRATE_OK = 0,
    MIGRATE_ERR_DIR = 1,             /* directory cannot be opened or read */
    MIGRATE_ERR_BAD_NAME = 2,        /* an entry is not NNNN_name.sql */
    MIGRATE_ERR_DUPLICATE = 3,       /* two files share a version */
    MIGRATE_ERR_GAP = 4,             /* versions are not 1..N (files or database) */
    MIGRATE_ERR_TOO_MANY = 5,        /* more than MIGRATE_FILES_MAX files */
    MIGRATE_ERR_TOO_BIG = 6,         /* a file above MIGRATE_FILE_BYTES_MAX */
    MIGRATE_ERR_READ = 7,            /* a file cannot be read */
    MIGRATE_ERR_NAME_CHANGED = 8,    /* applied version recorded under another name */
    MIGRATE_ERR_UNKNOWN_VERSION = 9, /* database has a version with no file */
    MIGRATE_ERR_DB = 10,             /* bookkeeping statement failed */
    MIGRATE_ERR_APPLY = 11,          /* a migration failed and was rolled back */
    MIGRATE_ERR_NOMEM = 12,
    MIGRATE_ERR_EMPTY = 13,       /* a file with no content */
    MIGRATE_ERR_BAD_CONTENT = 14, /* a file containing a NUL byte */
    MIGRATE_ERR_LOCK_TIMEOUT = 15 /* advisory lock not obtained in time */
};

struct migrate_file {
    unsigned version;                           /* 1..9999 */
    char name[MIGRATE_NAME_BYTES_MAX + 1];      /* "init" for 0001_init.sql */
    char file[MIGRATE_FILE_NAME_BYTES_MAX + 1]; /* "0001_init.sql" */
};

struct migrate_plan {
    struct migrate_file *files; /* owned, sorted by version */
    size_t count;
};

/* Pure: parses "NNNN_name.sql". Returns MIGRATE_OK or MIGRATE_ERR_BAD_NAME. */
WUR enum migrate_result migrate_parse_name(struct migrate_file *out, const char *file_name,
                                           struct err *e);

/* Lists and validates `dir` (names, duplicates, gaps, count). On success the
 * caller owns plan (migrate_plan_release); on failure plan is empty. */
WUR enum migrate_result migrate_scan_dir(struct migrate_plan *plan, const char *dir, struct err *e);

void migrate_plan_release(struct migrate_plan *plan);

/* Applies every pending migration of `dir` on `pc` (see top). The session
 * must not be inside a transaction. applied_out (may be NULL) receives the
 * number applied by this call. */
WUR enum migrate_result migrate_run(struct pg_session *pc, const char *dir, size_t *applied_out,
                                    struct err *e);

#endif
