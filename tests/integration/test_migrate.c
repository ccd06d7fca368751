/* test_migrate.c - the migration runner against a real PostgreSQL.
 *
 * Environment: DATABASE_URL (required, provided by the runner; the test fails
 * without it). Every test works in a fresh schema test_mig_<pid>_<n> (the
 * runner's schema_migrations lands there through search_path) with fixture
 * files in a fresh temp dir. The repository's own migrations/ directory is
 * found relative to this source file, so run the binary from the repo root. */
#define _XOPEN_SOURCE 700
#include "harness.h"
#include "migrate.h"
#include "pg.h"
#include "pg_fixture.h"

#include <ftw.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ---- temp dirs --------------------------------------------------------------------- */

static void make_dir(char *dir, size_t dir_size)
{
    snprintf(dir, dir_size, "/tmp/test_migrate_XXXXXX");
    if (mkdtemp(dir) == NULL)
        abort();
}

static void write_file(const char *dir, const char *name, const char *text)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (f == NULL || fputs(text, f) < 0 || fclose(f) != 0)
        abort();
}

static void remove_file(const char *dir, const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (unlink(path) != 0)
        abort();
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void remove_dir(const char *dir)
{
    if (nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS) != 0)
        fprintf(stdout, "# could not remove %s\n", dir);
}

/* ---- tests ---------------------------------------------------------------------------- */

static void test_parse_name(void)
{
    struct migrate_file f;
    struct err e = {0};
    CHECK_INT(migrate_parse_name(&f, "0001_init.sql", &e), MIGRATE_OK);
    CHECK_INT(f.version, 1);
    CHECK_STR(f.name, "init");
    CHECK_STR(f.file, "0001_init.sql");
    CHECK_INT(migrate_parse_name(&f, "9999_a_b_2.sql", &e), MIGRATE_OK);
    CHECK_INT(f.version, 9999);
    CHECK_STR(f.name, "a_b_2");
    const char *bad[] = {"001_init.sql",  "00001_init.sql", "0001-init.sql", "0001_Init.sql",
                         "0001_.sql",     "0001_init.SQL",  "0001_init.txt", "0001_in it.sql",
                         "abcd_init.sql", "0001_init.sql~", "README.md"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK_MSG(migrate_parse_name(&f, bad[i], &e) == MIGRATE_ERR_BAD_NAME, "%s", bad[i]);
    CHECK_INT(migrate_parse_name(&f, "0001-init.sql", &e), MIGRATE_ERR_BAD_NAME);
    CHECK_STR(e.msg, "invalid migration file name '0001-init.sql': want NNNN_name.sql with name of "
                     "[a-z0-9_]");
    CHECK_INT(migrate_parse_name(&f, "0000_zero.sql", &e), MIGRATE_ERR_BAD_NAME);
    CHECK_STR(e.msg, "invalid migration file name '0000_zero.sql': versions start at 0001");
    char name[MIGRATE_FILE_NAME_BYTES_MAX + 2];
    memset(name, 'a', sizeof name);
    memcpy(name, "0001_", 5);
    memcpy(name + 5 + MIGRATE_NAME_BYTES_MAX, ".sql", 5); /* exactly the maximum */
    CHECK_INT(migrate_parse_name(&f, name, &e), MIGRATE_OK);
    memcpy(name + 5 + MIGRATE_NAME_BYTES_MAX, "a.sql", 6); /* one over */
    CHECK_INT(migrate_parse_name(&f, name, &e), MIGRATE_ERR_BAD_NAME);
}

static void test_apply_and_rerun(void)
{
    struct pg_session pc;
    char schema[64], dir[64];
    if (!pg_fixture_fresh_schema(&pc, schema, sizeof schema)) {
        CHECK(!"fresh schema");
        return;
    }
    make_dir(dir, sizeof dir);
    write_file(dir, "0001_create_a.sql", "CREATE TABLE a (id int PRIMARY KEY);\n");
    write_file(dir, "0002_seed_a.sql", "INSERT INTO a VALUES (1);\nINSERT INTO a VALUES (2);\n");
    write_file(dir, "0003_create_b.sql", "-- comments are fine\nCREATE TABLE b (x text);\n");
    write_file(dir, ".gitkeep", "");
    struct err e = {0};
    size_t applied = 99;
    CHECK_INT(migrate_run(&pc, dir, &applied, &e), MIGRATE_OK);
    CHECK_INT(applied, 3);
    CHECK_STR(pg_fixture_query_value(
                  &pc, "SELECT string_agg(version || ':' || name, ',' ORDER BY version) "
                       "FROM schema_migrations"),
              "1:create_a,2:seed_a,3:create_b");
    CHECK_STR(pg_fixture_query_value(
                  &pc, "SELECT count(*) FROM schema_migrations WHERE applied_at IS NULL"),
              "0");
    CHECK_STR(pg_fixture_query_value(&pc, "SELECT count(*) FROM a"), "2");
    /* Re-running applies nothing and changes nothing. */
    CHECK_INT(migrate_run(&pc, dir, &applied, &e), MIGRATE_OK);
    CHECK_INT(applied, 0);
    CHECK_STR(pg_fixture_query_value(&pc, "SELECT count(*) FROM a"), "2");
    CHECK_STR(pg_fixture_query_value(&pc, "SELECT count(*) FROM schema_migrations"), "3");
    /* A new file is applied on the next run. */
    write_file(dir, "0004_seed_b.sql", "INSERT INTO b VALUES ('x');");
    CHECK_INT(migrate_run(&pc, dir, &applied, &e), MIGRATE_OK);
    CHECK_INT(applied, 1);
    CHECK_STR(pg_fixture_query_value(&pc, "SELECT count(*) FROM b"), "1");
    /* The advisory lock was released: another session can take it at once. */
    struct pg_session other;
    CHECK(pg_fixture_join_schema(&other, schema));
    CHECK_STR(pg_fixture_query_value(&other, "SELECT pg_try_advisory_lock(8244234291206384999)"),
              "t");
    CHECK_STR(pg_fixture_query_value(&other, "SELECT pg_advisory_unlock(8244234291206384999)"),
              "t");
    pg_release(&other);
    remove_dir(dir);
    pg_fixture_drop_schema(&pc, schema);
}

static void test_failing_migration_rolls_back(void)
{
    struct pg_session pc;
    char schema[64], dir[64];
    if (!pg_fixture_fresh_schema(&pc, schema, sizeof schema)) {
        CHECK(!"fresh schema");
        return;
    }
    make_dir(dir, sizeof dir);
    write_file(dir, "0001_ok.sql", "CREATE TABLE a (id int);");
    write_file(dir, "0002_broken.sql",
               "CREATE TABLE c (id int);\nINSERT INTO c VALUES (1);\n"
               "SELECT 1 / 0;\n");
    write_file(dir, "0003_later.sql", "CREATE TABLE d (id int);");
    struct err e = {0};
    size_t applied = 99;
    CHECK_INT(migrate_run(&pc, dir, &applied, &e), MIGRATE_ERR_APPLY);
    CHECK_INT(applied, 1);
    CHECK_STR(e.msg, "migration '0002_broken.sql' failed and was rolled back: script failed: "
                     "division by zero (sqlstate 22012)");
    CHECK_STR(
        pg_fixture_query_value(&pc, "SELECT string_agg(version::text, ',') FROM schema_migrations"),
        "1");
    CHECK_STR(pg_fixture_query_value(&pc, "SELECT to_regclass('c') IS NULL"), "t");
    CHECK_STR(pg_fixture_query_value(&pc, "SELECT to_regclass('d') IS NULL"), "t");
    CHECK_STR(pg_fixture_query_value(&pc, "SELECT to_regclass('a') IS NULL"), "f");
    /* Fixed file: the run resumes at 0002. */
    write_file(dir, "0002_broken.sql", "CREATE TABLE c (id int);\nINSERT INTO c VALUES (1);\n");
    CHECK_INT(migrate_run(&pc, dir, &applied, &e), MIGRATE_OK);
    CHECK_INT(applied, 2);
    CHECK_STR(pg_fixture_query_value(&pc, "SELECT count(*) FROM c"), "1");
    CHECK_STR(pg_fixture_query_value(&pc, "SELECT count(*) FROM schema_migrations"), "3");
    remove_dir(dir);
    pg_fixture_drop_schema(&pc, schema);
}

struct runner {
    const char *schema;
    const char *dir;
    pthread_barrier_t *barrier;
    enum migrate_result result;
    size_t applied;
    char msg[ERR_MSG_MAX];
};

static void *run_thread(void *arg)
{
    struct runner *r = arg;
    struct pg_session pc;
    bool joined = pg_fixture_join_schema(&pc, r->schema);
    pthread_barrier_wait(r->barrier);
    if (!joined) {
        r->result = MIGRATE_ERR_DB;
        return NULL;
    }
    struct err e = {0};
    r->result = migrate_run(&pc, r->dir, &r->applied, &e);
    snprintf(r->msg, sizeof r->msg, "%s", e.msg);
    pg_release(&pc);
    return NULL;
}

static void test_concurrent_runs(void)
{
    struct pg_session pc;
    char schema[64], dir[64];
    if (!pg_fixture_fresh_schema(&pc, schema, sizeof schema)) {
        CHECK(!"fresh schema");
        return;
    }
    make_dir(dir, sizeof dir);
    write_file(dir, "0001_log.sql", "CREATE TABLE log (n int NOT NULL);");
    write_file(dir, "0002_slow.sql", "SELECT pg_sleep(0.3);\nINSERT INTO log VALUES (2);");
    write_file(dir, "0003_more.sql", "INSERT INTO log VALUES (3);");
    enum { RUNNERS = 4 };
    pthread_barrier_t barrier;
    pthread_barrier_init(&barrier, NULL, RUNNERS);
    struct runner runners[RUNNERS];
    pthread_t threads[RUNNERS];
    for (int i = 0; i < RUNNERS; i++) {
        runners[i] = (struct runner){schema, dir, &barrier, MIGRATE_ERR_DB, 0, ""};
        pthread_create(&threads[i], NULL, run_thread, &runners[i]);
    }
    size_t total = 0, appliers = 0;
    for (int i = 0; i < RUNNERS; i++) {
        pthread_join(threads[i], NULL);
        CHECK_MSG(runners[i].result == MIGRATE_OK, "runner %d: %s", i, runners[i].msg);
        total += runners[i].applied;
        appliers += runners[i].applied > 0;
    }
    pthread_barrier_destroy(&barrier);
    CHECK_INT(total, 3);    /* each migration exactly once */
    CHECK_INT(appliers, 1); /* the lock holder applied all three */
    CHECK_STR(pg_fixture_query_value(&pc, "SELECT string_agg(n::text, ',' ORDER BY n) FROM log"),
              "2,3");
    CHECK_STR(pg_fixture_query_value(&pc, "SELECT count(*) FROM schema_migrations"), "3");
    remove_dir(dir);
    pg_fixture_drop_schema(&pc, schema);
}

/* A run waits for a session that holds the migration lock: the holder sees
 * the run blocked on the advisory lock with nothing applied, and only then
 * unlocks. Bounded polling, no timing assertions. */
struct lock_holder {
    struct pg_session *pc;
    bool saw_waiter;        /* another session tried the migration lock */
    bool table_absent_held; /* nothing applied while we held the lock */
};

static void *hold_lock_thread(void *arg)
{
    struct lock_holder *h = arg;
    for (int i = 0; i < 1000 && !h->saw_waiter; i++) { /* at most ~10 s */
        /* the runner polls with pg_try_advisory_lock; its session's last
         * query stays visible in pg_stat_activity */
        const char *v =
            pg_fixture_query_value(h->pc, "SELECT count(*) > 0 FROM pg_stat_activity "
                                          "WHERE pid <> pg_backend_pid() AND query LIKE "
                                          "'%pg_try_advisory_lock%'");
        h->saw_waiter = strcmp(v, "t") == 0;
        if (!h->saw_waiter)
            usleep(10000);
    }
    const char *absent = pg_fixture_query_value(h->pc, "SELECT to_regclass('a') IS NULL");
    h->table_absent_held = strcmp(absent, "t") == 0;
    if (pg_exec(h->pc, NULL, "SELECT pg_advisory_unlock(8244234291206384999)", NULL, 0, NULL) !=
        PG_OK)
        fprintf(stdout, "# unlock failed\n");
    return NULL;
}

static void test_waits_for_lock(void)
{
    struct pg_session pc, holder;
    char schema[64], dir[64];
    if (!pg_fixture_fresh_schema(&pc, schema, sizeof schema) ||
        !pg_fixture_join_schema(&holder, schema)) {
        CHECK(!"fresh schema");
        return;
    }
    make_dir(dir, sizeof dir);
    write_file(dir, "0001_a.sql", "CREATE TABLE a (id int);");
    CHECK_STR(pg_fixture_query_value(&holder, "SELECT pg_try_advisory_lock(8244234291206384999)"),
              "t");
    struct lock_holder h = {.pc = &holder};
    pthread_t th;
    pthread_create(&th, NULL, hold_lock_thread, &h);
    struct err e = {0};
    size_t applied = 0;
    CHECK_INT(migrate_run(&pc, dir, &applied, &e), MIGRATE_OK);
    pthread_join(th, NULL);
    CHECK(h.saw_waiter);
    CHECK(h.table_absent_held);
    CHECK_INT(applied, 1);
    CHECK_STR(pg_fixture_query_value(&pc, "SELECT to_regclass('a') IS NOT NULL"), "t");
    pg_release(&holder);
    remove_dir(dir);
    pg_fixture_drop_schema(&pc, schema);
}

/* Directory problems are found before the database is touched. */
static void test_bad_directories(void)
{
    struct pg_session pc;
    char schema[64];
    if (!pg_fixture_fresh_schema(&pc, schema, sizeof schema)) {
        CHECK(!"fresh schema");
        return;
    }
    struct {
        const char *files[3];
        int code;
        const char *msg;
    } cases[] = {
        {{"0001_a.sql", "002_b.sql", NULL},
         MIGRATE_ERR_BAD_NAME,
         "invalid migration file name '002_b.sql': want NNNN_name.sql with name of [a-z0-9_]"},
        {{"0001_a.sql", "notes.txt", NULL}, MIGRATE_ERR_BAD_NAME, NULL},
        {{"0001_a.sql", "0001_b.sql", NULL},
         MIGRATE_ERR_DUPLICATE,
         "migrations '0001_a.sql' and '0001_b.sql' share version 0001"},
        {{"0001_a.sql", "0003_c.sql", NULL},
         MIGRATE_ERR_GAP,
         "migration 0002 is missing (next file is '0003_c.sql')"},
        {{"0002_b.sql", NULL, NULL},
         MIGRATE_ERR_GAP,
         "migration 0001 is missing (next file is '0002_b.sql')"},
    };
    struct err e = {0};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char dir[64];
        make_dir(dir, sizeof dir);
        for (size_t k = 0; k < 3 && cases[i].files[k] != NULL; k++)
            write_file(dir, cases[i].files[k], "SELECT 1;");
        size_t applied = 99;
        enum migrate_result r = migrate_run(&pc, dir, &applied, &e);
        CHECK_MSG((int)r == cases[i].code, "case %zu: got %d (%s)", i, r, e.msg);
        if (cases[i].msg != NULL) {
            /* duplicate order depends on readdir; accept either order */
            if (cases[i].code != MIGRATE_ERR_DUPLICATE ||
                strcmp(e.msg, "migrations '0001_b.sql' and '0001_a.sql' share version 0001") != 0)
                CHECK_STR(e.msg, cases[i].msg);
        }
        CHECK_INT(applied, 0);
        remove_dir(dir);
    }
    CHECK_STR(pg_fixture_query_value(&pc, "SELECT to_regclass('schema_migrations') IS NULL"), "t");
    CHECK_INT(migrate_run(&pc, "/nonexistent/migrations", NULL, &e), MIGRATE_ERR_DIR);
    CHECK_STR(e.msg, "cannot open migrations directory '/nonexistent/migrations': No such file or "
                     "directory");
    pg_fixture_drop_schema(&pc, schema);
}

static void test_history_mismatch(void)
{
    struct pg_session pc;
    char schema[64], dir[64];
    if (!pg_fixture_fresh_schema(&pc, schema, sizeof schema)) {
        CHECK(!"fresh schema");
        return;
    }
    make_dir(dir, sizeof dir);
    write_file(dir, "0001_create_a.sql", "CREATE TABLE a (id int);");
    write_file(dir, "0002_create_b.sql", "CREATE TABLE b (id int);");
    struct err e = {0};
    size_t applied = 0;
    CHECK_INT(migrate_run(&pc, dir, &applied, &e), MIGRATE_OK);
    /* Renamed after being applied. */
    remove_file(dir, "0001_create_a.sql");
    write_file(dir, "0001_make_a.sql", "CREATE TABLE a (id int);");
    CHECK_INT(migrate_run(&pc, dir, &applied, &e), MIGRATE_ERR_NAME_CHANGED);
    CHECK_STR(e.msg, "migration 0001 was applied as 'create_a' but the file is now "
                     "'0001_make_a.sql'");
    remove_file(dir, "0001_make_a.sql");
    write_file(dir, "0001_create_a.sql", "CREATE TABLE a (id int);");
    /* Applied but deleted. */
    remove_file(dir, "0002_create_b.sql");
    CHECK_INT(migrate_run(&pc, dir, &applied, &e), MIGRATE_ERR_UNKNOWN_VERSION);
    CHECK_STR(e.msg, "database has migration 0002 'create_b' but there is no file for it");
    /* A hole in the recorded history. */
    write_file(dir, "0002_create_b.sql", "CREATE TABLE b (id int);");
    write_file(dir, "0003_create_c.sql", "CREATE TABLE c (id int);");
    CHECK_INT(pg_exec(&pc, NULL, "DELETE FROM schema_migrations WHERE version = 1", NULL, 0, &e),
              PG_OK);
    CHECK_INT(migrate_run(&pc, dir, &applied, &e), MIGRATE_ERR_GAP);
    CHECK_STR(e.msg, "database has migration 0002 applied but 0001 is not");
    CHECK_INT(applied, 0);
    CHECK_STR(pg_fixture_query_value(&pc, "SELECT to_regclass('c') IS NULL"), "t");
    remove_dir(dir);
    pg_fixture_drop_schema(&pc, schema);
}

static void test_file_limits(void)
{
    struct pg_session pc;
    char schema[64], dir[64];
    if (!pg_fixture_fresh_schema(&pc, schema, sizeof schema)) {
        CHECK(!"fresh schema");
        return;
    }
    struct err e = {0};
    size_t applied = 0;
    /* Exactly at the size limit works; one byte more does not. */
    make_dir(dir, sizeof dir);
    static char big[MIGRATE_FILE_BYTES_MAX + 2];
    memset(big, ' ', sizeof big - 1);
    memcpy(big, "SELECT 1;", 9);
    big[MIGRATE_FILE_BYTES_MAX] = '\0';
    write_file(dir, "0001_big.sql", big);
    CHECK_INT(migrate_run(&pc, dir, &applied, &e), MIGRATE_OK);
    CHECK_INT(applied, 1);
    big[MIGRATE_FILE_BYTES_MAX] = ' ';
    write_file(dir, "0002_too_big.sql", big);
    CHECK_INT(migrate_run(&pc, dir, &applied, &e), MIGRATE_ERR_TOO_BIG);
    CHECK_STR(e.msg, "migration '0002_too_big.sql' is larger than 1048576 bytes");
    write_file(dir, "0002_too_big.sql", "");
    CHECK_INT(migrate_run(&pc, dir, &applied, &e), MIGRATE_ERR_EMPTY);
    CHECK_STR(e.msg, "migration '0002_too_big.sql' is empty");
    char path[128];
    snprintf(path, sizeof path, "%s/0002_too_big.sql", dir);
    FILE *f = fopen(path, "w");
    fwrite("SELECT 1;\0DROP TABLE x;", 1, 23, f);
    fclose(f);
    CHECK_INT(migrate_run(&pc, dir, &applied, &e), MIGRATE_ERR_BAD_CONTENT);
    CHECK_STR(pg_fixture_query_value(&pc, "SELECT count(*) FROM schema_migrations"), "1");
    remove_dir(dir);
    /* More than MIGRATE_FILES_MAX files. */
    make_dir(dir, sizeof dir);
    for (int i = 1; i <= MIGRATE_FILES_MAX + 1; i++) {
        char name[32];
        snprintf(name, sizeof name, "%04d_m.sql", i);
        write_file(dir, name, "SELECT 1;");
    }
    CHECK_INT(migrate_run(&pc, dir, &applied, &e), MIGRATE_ERR_TOO_MANY);
    remove_dir(dir);
    pg_fixture_drop_schema(&pc, schema);
}

/* The repository's own migrations apply cleanly and give a working schema. */
static void test_repo_migrations(void)
{
    char dir[512];
    const char *src = __FILE__;
    const char *tail = strstr(src, "tests/integration/test_migrate.c");
    snprintf(dir, sizeof dir, "%.*smigrations", tail != NULL ? (int)(tail - src) : 0, src);
    struct pg_session pc;
    char schema[64];
    if (!pg_fixture_fresh_schema(&pc, schema, sizeof schema)) {
        CHECK(!"fresh schema");
        return;
    }
    struct err e = {0};
    size_t applied = 0;
    CHECK_MSG(migrate_run(&pc, dir, &applied, &e) == MIGRATE_OK, "%s", e.msg);
    CHECK(applied >= 1);
    CHECK_STR(pg_fixture_query_value(&pc, "SELECT name FROM schema_migrations WHERE version = 1"),
              "init");
    const char *params[1] = {"abcdEFGH1234"};
    CHECK_INT(pg_exec(&pc, NULL,
                      "INSERT INTO auth_nonces (nonce, expires_at) "
                      "VALUES ($1, now() + interval '10 minutes')",
                      params, 1, &e),
              PG_OK);
    CHECK_INT(pg_exec(&pc, NULL,
                      "INSERT INTO auth_nonces (nonce, expires_at) "
                      "VALUES ($1, now() + interval '10 minutes')",
                      params, 1, &e),
              PG_ERR_UNIQUE);
    /* Single use: only the first consumption updates a row. */
    const char *use = "UPDATE auth_nonces SET used_at = now() "
                      "WHERE nonce = $1 AND used_at IS NULL AND expires_at > now()";
    PGresult *res = NULL;
    CHECK_INT(pg_exec(&pc, &res, use, params, 1, &e), PG_OK);
    CHECK_STR(PQcmdTuples(res), "1");
    PQclear(res);
    CHECK_INT(pg_exec(&pc, &res, use, params, 1, &e), PG_OK);
    CHECK_STR(PQcmdTuples(res), "0");
    PQclear(res);
    const char *short_nonce[1] = {"abc"};
    CHECK_INT(pg_exec(&pc, NULL,
                      "INSERT INTO auth_nonces (nonce, expires_at) VALUES ($1, now() + interval "
                      "'1 minute')",
                      short_nonce, 1, &e),
              PG_ERR_QUERY);
    CHECK_STR(pc.sqlstate, "23514");
    CHECK_INT(migrate_run(&pc, dir, &applied, &e), MIGRATE_OK);
    CHECK_INT(applied, 0);
    pg_fixture_drop_schema(&pc, schema);
}

int main(void)
{
    if (!pg_fixture_init("test_mig"))
        return 1;
    RUN(test_parse_name);
    RUN(test_apply_and_rerun);
    RUN(test_failing_migration_rolls_back);
    RUN(test_concurrent_runs);
    RUN(test_waits_for_lock);
    RUN(test_bad_directories);
    RUN(test_history_mismatch);
    RUN(test_file_limits);
    RUN(test_repo_migrations);
    return harness_finish();
}
