/*
 * pg_fixture.h - shared PostgreSQL fixture for the integration tests that
 * talk to a real server (test_pg.c, test_migrate.c): read DATABASE_URL, open
 * a session in a fresh empty schema (optionally with migrations/ applied),
 * join that schema from a second session, drop it again, and read the
 * single value of a query. Used only by
 * tests/integration/test_*.c.
 *
 * Environment: DATABASE_URL (required, read through config.h, the project's
 * only getenv). The runner (tests/run.sh) provides it; without it the test
 * binary fails, it does not skip.
 *
 * State: one fixture per test binary. pg_fixture_init() fills the file-level
 * pg_fixture_db_url (tests may connect with it directly) and the schema name
 * prefix; schemas are named <prefix>_<pid>_<n> with n counting up from 1, so
 * concurrent test binaries and repeated tests never share one.
 *
 * Ownership: `struct pg_session` is caller-allocated. pg_fixture_fresh_schema()
 * and pg_fixture_join_schema() connect it; the caller releases a joined
 * session with pg_release() and a fresh one with pg_fixture_drop_schema(),
 * which drops the schema and releases the session.
 *
 * Limits: DATABASE_URL CONFIG_DATABASE_URL_BYTES_MAX bytes, query values
 * PG_FIXTURE_VALUE_BYTES (longer values are truncated), connect timeout
 * PG_FIXTURE_CONNECT_TIMEOUT_S seconds.
 */
#ifndef TESTS_PG_FIXTURE_H
#define TESTS_PG_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <unistd.h>

#include "config.h"
#include "err.h"
#include "migrate.h"
#include "pg.h"

#define PG_FIXTURE_VALUE_BYTES 256
#define PG_FIXTURE_CONNECT_TIMEOUT_S 5

static char pg_fixture_db_url[CONFIG_DATABASE_URL_BYTES_MAX + 1];
static const char *pg_fixture_schema_prefix = "test";
static int pg_fixture_schema_count;

/* Reads DATABASE_URL into pg_fixture_db_url and sets the schema name prefix
 * (a static string, e.g. "test_pg"). Returns true, or false after printing
 * the reason and a failing summary line ("0 passed, 1 failed"): main() then
 * returns 1 without running any test. */
static inline bool pg_fixture_init(const char *schema_prefix)
{
    struct config_entry t[1] = {{.name = "DATABASE_URL",
                                 .type = CONFIG_STRING,
                                 .required = true,
                                 .secret = true,
                                 .min.u = 1,
                                 .max.u = CONFIG_DATABASE_URL_BYTES_MAX,
                                 .dest = pg_fixture_db_url,
                                 .dest_size = sizeof pg_fixture_db_url}};
    struct config_errors errs;
    pg_fixture_schema_prefix = schema_prefix;
    if (config_load(t, 1, config_lookup_env, NULL, &errs) != CONFIG_OK) {
        fprintf(stdout, "# %s (the runner must export DATABASE_URL)\n", errs.items[0].e.msg);
        fprintf(stdout, "not ok - environment\n0 passed, 1 failed\n");
        return false;
    }
    return true;
}

/* Connects `pc` and moves the session into a new empty schema, whose name
 * goes to schema[0..schema_size). Returns true, or false after printing why
 * (the caller then fails its test); on false `pc` may still hold an open
 * connection, which pg_release() or pg_fixture_drop_schema() closes. */
static inline bool pg_fixture_fresh_schema(struct pg_session *pc, char *schema, size_t schema_size)
{
    struct err e = {0};
    if (pg_connect(pc, pg_fixture_db_url, PG_FIXTURE_CONNECT_TIMEOUT_S, &e) != PG_OK) {
        fprintf(stdout, "# %s\n", e.msg);
        return false;
    }
    snprintf(schema, schema_size, "%s_%ld_%d", pg_fixture_schema_prefix, (long)getpid(),
             ++pg_fixture_schema_count);
    const char *params[1] = {schema};
    PGresult *res = NULL;
    bool ok =
        pg_exec(pc, &res, "SELECT format('CREATE SCHEMA %I', $1::text)", params, 1, &e) == PG_OK;
    ok = ok && pg_exec_script(pc, PQgetvalue(res, 0, 0), &e) == PG_OK;
    PQclear(res);
    ok = ok &&
         pg_exec(pc, NULL, "SELECT set_config('search_path', $1, false)", params, 1, &e) == PG_OK;
    if (!ok)
        fprintf(stdout, "# %s\n", e.msg);
    return ok;
}

/* pg_fixture_fresh_schema() with every migration of migrations/ applied
 * (run from the repository root). Returns true, or false after printing why. */
static inline bool pg_fixture_migrated_schema(struct pg_session *pc, char *schema,
                                              size_t schema_size)
{
    struct err e = {0};
    if (!pg_fixture_fresh_schema(pc, schema, schema_size))
        return false;
    if (migrate_run(pc, "migrations", NULL, &e) != MIGRATE_OK) {
        fprintf(stdout, "# migrations: %s\n", e.msg);
        return false;
    }
    return true;
}

/* Connects `pc` as a second session in the existing `schema`. Returns true or
 * false; the caller releases `pc` with pg_release() either way. */
static inline bool pg_fixture_join_schema(struct pg_session *pc, const char *schema)
{
    struct err e = {0};
    const char *params[1] = {schema};
    return pg_connect(pc, pg_fixture_db_url, PG_FIXTURE_CONNECT_TIMEOUT_S, &e) == PG_OK &&
           pg_exec(pc, NULL, "SELECT set_config('search_path', $1, false)", params, 1, &e) == PG_OK;
}

/* Drops `schema` with everything in it (when the session is still up) and
 * releases `pc`. A failed drop is printed, not fatal. */
static inline void pg_fixture_drop_schema(struct pg_session *pc, const char *schema)
{
    const char *params[1] = {schema};
    PGresult *res = NULL;
    if (pc->conn != NULL && PQstatus(pc->conn) == CONNECTION_OK &&
        pg_exec(pc, &res, "SELECT format('DROP SCHEMA %I CASCADE', $1::text)", params, 1, NULL) ==
            PG_OK) {
        if (pg_exec_script(pc, PQgetvalue(res, 0, 0), NULL) != PG_OK)
            fprintf(stdout, "# could not drop schema %s\n", schema);
        PQclear(res);
    }
    pg_release(pc);
}

/* The text value of a one-row, one-column query with text parameters
 * params[0..n), for CHECK_STR(): "(null)" for NULL, "rows=N" when the query
 * gave N != 1 rows, "error: <msg>" when it failed. Returns a static buffer
 * that the next call overwrites (not thread-safe: one caller thread at a
 * time). */
static inline const char *pg_fixture_query_value_params(struct pg_session *pc, const char *sql,
                                                        const char *const *params, int n)
{
    static char out[PG_FIXTURE_VALUE_BYTES];
    PGresult *res = NULL;
    struct err e = {0};
    if (pg_exec(pc, &res, sql, params, n, &e) != PG_OK) {
        snprintf(out, sizeof out, "error: %s", e.msg);
        return out;
    }
    if (PQntuples(res) != 1)
        snprintf(out, sizeof out, "rows=%d", PQntuples(res));
    else if (PQgetisnull(res, 0, 0))
        snprintf(out, sizeof out, "(null)");
    else
        snprintf(out, sizeof out, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    return out;
}

/* pg_fixture_query_value_params() of a query without parameters. */
static inline const char *pg_fixture_query_value(struct pg_session *pc, const char *sql)
{
    return pg_fixture_query_value_params(pc, sql, NULL, 0);
}

#endif
