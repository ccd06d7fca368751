/* migrate.c - see migrate.h. */
#include "migrate.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clock.h"

#define MIGRATE_LOCK_POLL_MS 50

static int migrate_cmp(const void *a, const void *b);
static enum migrate_result migrate_check_sequence(const struct migrate_plan *plan, struct err *e);
static enum migrate_result migrate_list(struct migrate_plan *plan, DIR *d, const char *dir,
                                        struct err *e);
static enum migrate_result migrate_read_file(char **sql_out, const char *dir,
                                             const struct migrate_file *f, struct err *e);
static enum migrate_result migrate_lock(struct pg_session *pc, struct err *e);
static void migrate_unlock(struct pg_session *pc);
static enum migrate_result migrate_load_applied(struct pg_session *pc,
                                                const struct migrate_plan *plan,
                                                size_t *applied_count_out, struct err *e);
static enum migrate_result migrate_apply_one(struct pg_session *pc, const char *dir,
                                             const struct migrate_file *f, struct err *e);

enum migrate_result migrate_parse_name(struct migrate_file *out, const char *file_name,
                                       struct err *e)
{
    ASSERT(out != NULL && file_name != NULL);
    size_t len = strnlen(file_name, MIGRATE_FILE_NAME_BYTES_MAX + 1);
    if (len > MIGRATE_FILE_NAME_BYTES_MAX)
        return err_set(e, MIGRATE_ERR_BAD_NAME,
                       "migration file name '%.40s...' too long: name part max %d bytes", file_name,
                       MIGRATE_NAME_BYTES_MAX);
    bool ok = len >= 10 && file_name[4] == '_' && memcmp(file_name + len - 4, ".sql", 4) == 0;
    unsigned version = 0;
    for (size_t i = 0; ok && i < 4; i++) {
        ok = file_name[i] >= '0' && file_name[i] <= '9';
        version = version * 10 + (unsigned)(file_name[i] - '0');
    }
    for (size_t i = 5; ok && i < len - 4; i++) {
        char c = file_name[i];
        ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
    }
    if (!ok)
        return err_set(e, MIGRATE_ERR_BAD_NAME,
                       "invalid migration file name '%.80s': want NNNN_name.sql with name of "
                       "[a-z0-9_]",
                       file_name);
    if (version == 0)
        return err_set(e, MIGRATE_ERR_BAD_NAME,
                       "invalid migration file name '%.80s': versions start at 0001", file_name);
    out->version = version;
    memcpy(out->name, file_name + 5, len - 9);
    out->name[len - 9] = '\0';
    memcpy(out->file, file_name, len + 1);
    return MIGRATE_OK;
}

static int migrate_cmp(const void *a, const void *b)
{
    unsigned va = ((const struct migrate_file *)a)->version;
    unsigned vb = ((const struct migrate_file *)b)->version;
    return va < vb ? -1 : va > vb ? 1 : 0;
}

static enum migrate_result migrate_check_sequence(const struct migrate_plan *plan, struct err *e)
{
    for (size_t i = 0; i < plan->count; i++) {
        const struct migrate_file *f = &plan->files[i];
        if (i > 0 && f->version == plan->files[i - 1].version)
            return err_set(e, MIGRATE_ERR_DUPLICATE, "migrations '%s' and '%s' share version %04u",
                           plan->files[i - 1].file, f->file, f->version);
        if (f->version != i + 1)
            return err_set(e, MIGRATE_ERR_GAP, "migration %04zu is missing (next file is '%s')",
                           i + 1, f->file);
    }
    return MIGRATE_OK;
}

static enum migrate_result migrate_list(struct migrate_plan *plan, DIR *d, const char *dir,
                                        struct err *e)
{
    for (size_t seen = 0;; seen++) {
        if (seen > MIGRATE_DIR_ENTRIES_MAX)
            return err_set(e, MIGRATE_ERR_TOO_MANY,
                           "migrations directory '%s' has more than %d entries", dir,
                           MIGRATE_DIR_ENTRIES_MAX);
        errno = 0;
        struct dirent *ent = readdir(d);
        if (ent == NULL && errno != 0)
            return err_set(e, MIGRATE_ERR_DIR, "cannot read migrations directory '%s': %s", dir,
                           strerror(errno));
        if (ent == NULL)
            return MIGRATE_OK;
        if (ent->d_name[0] == '.')
            continue; /* ".", "..", ".gitkeep", editor files */
        if (plan->count == MIGRATE_FILES_MAX)
            return err_set(e, MIGRATE_ERR_TOO_MANY, "more than %d migrations in '%s'",
                           MIGRATE_FILES_MAX, dir);
        enum migrate_result r = migrate_parse_name(&plan->files[plan->count], ent->d_name, e);
        if (r != MIGRATE_OK)
            return r;
        plan->count++;
    }
}

enum migrate_result migrate_scan_dir(struct migrate_plan *plan, const char *dir, struct err *e)
{
    ASSERT(plan != NULL && dir != NULL);
    plan->files = NULL;
    plan->count = 0;
    if (strnlen(dir, MIGRATE_DIR_BYTES_MAX + 1) > MIGRATE_DIR_BYTES_MAX)
        return err_set(e, MIGRATE_ERR_DIR, "migrations directory path longer than %d bytes",
                       MIGRATE_DIR_BYTES_MAX);
    DIR *d = opendir(dir);
    if (d == NULL)
        return err_set(e, MIGRATE_ERR_DIR, "cannot open migrations directory '%s': %s", dir,
                       strerror(errno));
    plan->files = calloc(MIGRATE_FILES_MAX, sizeof *plan->files);
    enum migrate_result r;
    if (plan->files == NULL)
        r = err_set(e, MIGRATE_ERR_NOMEM, "out of memory listing migrations");
    else
        r = migrate_list(plan, d, dir, e);
    closedir(d);
    if (r == MIGRATE_OK) {
        qsort(plan->files, plan->count, sizeof *plan->files, migrate_cmp);
        r = migrate_check_sequence(plan, e);
    }
    if (r != MIGRATE_OK)
        migrate_plan_release(plan);
    return r;
}

void migrate_plan_release(struct migrate_plan *plan)
{
    if (plan == NULL)
        return;
    free(plan->files);
    plan->files = NULL;
    plan->count = 0;
}

static enum migrate_result migrate_read_file(char **sql_out, const char *dir,
                                             const struct migrate_file *f, struct err *e)
{
    char path[MIGRATE_DIR_BYTES_MAX + MIGRATE_FILE_NAME_BYTES_MAX + 2];
    int n = snprintf(path, sizeof path, "%s/%s", dir, f->file);
    ASSERT(n > 0 && (size_t)n < sizeof path);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return err_set(e, MIGRATE_ERR_READ, "cannot open migration '%s': %s", f->file,
                       strerror(errno));
    char *sql = malloc(MIGRATE_FILE_BYTES_MAX + 2);
    size_t len = 0;
    enum migrate_result r = MIGRATE_OK;
    if (sql == NULL)
        r = err_set(e, MIGRATE_ERR_NOMEM, "out of memory reading '%s'", f->file);
    for (int i = 0; r == MIGRATE_OK && i < 100000 && len <= MIGRATE_FILE_BYTES_MAX; i++) {
        ssize_t got = read(fd, sql + len, MIGRATE_FILE_BYTES_MAX + 1 - len);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            r = err_set(e, MIGRATE_ERR_READ, "cannot read migration '%s': %s", f->file,
                        strerror(errno));
        else if (got == 0)
            break;
        else
            len += (size_t)got;
    }
    close(fd);
    if (r == MIGRATE_OK && len > MIGRATE_FILE_BYTES_MAX)
        r = err_set(e, MIGRATE_ERR_TOO_BIG, "migration '%s' is larger than %d bytes", f->file,
                    MIGRATE_FILE_BYTES_MAX);
    else if (r == MIGRATE_OK && len == 0)
        r = err_set(e, MIGRATE_ERR_EMPTY, "migration '%s' is empty", f->file);
    else if (r == MIGRATE_OK && memchr(sql, '\0', len) != NULL)
        r = err_set(e, MIGRATE_ERR_BAD_CONTENT, "migration '%s' contains a NUL byte", f->file);
    if (r != MIGRATE_OK) {
        free(sql);
        return r;
    }
    sql[len] = '\0';
    *sql_out = sql;
    return MIGRATE_OK;
}

static enum migrate_result migrate_lock(struct pg_session *pc, struct err *e)
{
    char key[24];
    snprintf(key, sizeof key, "%" PRId64, MIGRATE_LOCK_KEY);
    const char *params[1] = {key};
    for (int i = 0; i <= MIGRATE_LOCK_WAIT_MS_MAX / MIGRATE_LOCK_POLL_MS; i++) {
        PGresult *res = NULL;
        struct err pe = {0};
        if (pg_exec(pc, &res, "SELECT pg_try_advisory_lock($1::bigint)", params, 1, &pe) != PG_OK)
            return err_set(e, MIGRATE_ERR_DB, "migration lock: %s", pe.msg);
        bool got = PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 0), "t") == 0;
        PQclear(res);
        if (got)
            return MIGRATE_OK;
        clock_sleep_ms(MIGRATE_LOCK_POLL_MS);
    }
    return err_set(e, MIGRATE_ERR_LOCK_TIMEOUT,
                   "migration lock %" PRId64 " still held by another session after %d ms",
                   MIGRATE_LOCK_KEY, MIGRATE_LOCK_WAIT_MS_MAX);
}

static void migrate_unlock(struct pg_session *pc)
{
    char key[24];
    snprintf(key, sizeof key, "%" PRId64, MIGRATE_LOCK_KEY);
    const char *params[1] = {key};
    /* Failure means the connection is gone, and the lock with it. */
    enum pg_code unlocked =
        pg_exec(pc, NULL, "SELECT pg_advisory_unlock($1::bigint)", params, 1, NULL);
    (void)unlocked;
}

static enum migrate_result migrate_load_applied(struct pg_session *pc,
                                                const struct migrate_plan *plan,
                                                size_t *applied_count_out, struct err *e)
{
    struct err pe = {0};
    PGresult *res = NULL;
    if (pg_exec(pc, NULL,
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " version integer PRIMARY KEY CHECK (version > 0),"
                " name text NOT NULL,"
                " applied_at timestamptz NOT NULL DEFAULT now())",
                NULL, 0, &pe) != PG_OK ||
        pg_exec(pc, &res,
                "SELECT version, name FROM schema_migrations ORDER BY version LIMIT 10001", NULL, 0,
                &pe) != PG_OK)
        return err_set(e, MIGRATE_ERR_DB, "reading schema_migrations: %s", pe.msg);
    enum migrate_result r = MIGRATE_OK;
    size_t rows = (size_t)PQntuples(res);
    for (size_t k = 0; k < rows && r == MIGRATE_OK; k++) {
        long version = strtol(PQgetvalue(res, (int)k, 0), NULL, 10);
        const char *name = PQgetvalue(res, (int)k, 1);
        if (version < 1 || (size_t)version > plan->count)
            r = err_set(e, MIGRATE_ERR_UNKNOWN_VERSION,
                        "database has migration %04ld '%.64s' but there is no file for it", version,
                        name);
        else if ((size_t)version != k + 1)
            r = err_set(e, MIGRATE_ERR_GAP, "database has migration %04ld applied but %04zu is not",
                        version, k + 1);
        else if (strcmp(plan->files[k].name, name) != 0)
            r = err_set(e, MIGRATE_ERR_NAME_CHANGED,
                        "migration %04ld was applied as '%.64s' but the file is now '%s'", version,
                        name, plan->files[k].file);
    }
    PQclear(res);
    *applied_count_out = rows;
    return r;
}

static enum migrate_result migrate_apply_one(struct pg_session *pc, const char *dir,
                                             const struct migrate_file *f, struct err *e)
{
    char *sql = NULL;
    enum migrate_result r = migrate_read_file(&sql, dir, f, e);
    if (r != MIGRATE_OK)
        return r;
    char version[8];
    snprintf(version, sizeof version, "%u", f->version);
    const char *params[2] = {version, f->name};
    struct err pe = {0};
    enum pg_code pr = pg_begin(pc, PG_READ_COMMITTED, &pe);
    if (pr == PG_OK)
        pr = pg_exec_script(pc, sql, &pe);
    if (pr == PG_OK)
        pr = pg_exec(pc, NULL, "INSERT INTO schema_migrations (version, name) VALUES ($1::int, $2)",
                     params, 2, &pe);
    if (pr == PG_OK)
        pr = pg_commit(pc, &pe);
    free(sql);
    if (pr == PG_OK)
        return MIGRATE_OK;
    /* The statement's own error is the one to report; after a failed COMMIT
     * this ROLLBACK only finds no transaction. */
    enum pg_code rolled_back = pg_rollback(pc, NULL);
    (void)rolled_back;
    return err_set(e, MIGRATE_ERR_APPLY, "migration '%s' failed and was rolled back: %s", f->file,
                   pe.msg);
}

enum migrate_result migrate_run(struct pg_session *pc, const char *dir, size_t *applied_out,
                                struct err *e)
{
    ASSERT(pc != NULL && pc->conn != NULL && dir != NULL);
    if (applied_out != NULL)
        *applied_out = 0;
    struct migrate_plan plan;
    enum migrate_result r = migrate_scan_dir(&plan, dir, e);
    if (r != MIGRATE_OK)
        return r;
    bool locked = false;
    size_t done = 0;
    r = migrate_lock(pc, e);
    if (r != MIGRATE_OK)
        goto out;
    locked = true;
    r = migrate_load_applied(pc, &plan, &done, e);
    for (size_t i = done; r == MIGRATE_OK && i < plan.count; i++) {
        r = migrate_apply_one(pc, dir, &plan.files[i], e);
        if (r == MIGRATE_OK && applied_out != NULL)
            (*applied_out)++;
    }
out:
    if (locked)
        migrate_unlock(pc);
    migrate_plan_release(&plan);
    return r;
}
