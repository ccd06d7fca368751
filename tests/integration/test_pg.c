/* test_pg.c - pg helpers against a real PostgreSQL.
 *
 * Environment: DATABASE_URL (required, provided by the runner; the test fails
 * without it). Every test works in a fresh schema test_pg_<pid>_<n>, dropped
 * at the end. */
#include "harness.h"
#include "pg.h"
#include "pg_fixture.h"

#include <string.h>
#include <time.h>
#include <unistd.h>

static void test_classify_sqlstate(void)
{
    CHECK_INT(pg_classify_sqlstate("40001"), PG_ERR_SERIALIZATION);
    CHECK_INT(pg_classify_sqlstate("40P01"), PG_ERR_SERIALIZATION);
    CHECK_INT(pg_classify_sqlstate("23505"), PG_ERR_UNIQUE);
    CHECK_INT(pg_classify_sqlstate("23503"), PG_ERR_QUERY);
    CHECK_INT(pg_classify_sqlstate("08006"), PG_ERR_CONNECTION);
    CHECK_INT(pg_classify_sqlstate("57P01"), PG_ERR_CONNECTION);
    CHECK_INT(pg_classify_sqlstate("42601"), PG_ERR_QUERY);
    CHECK_INT(pg_classify_sqlstate(""), PG_ERR_QUERY);
    CHECK_INT(pg_classify_sqlstate(NULL), PG_ERR_QUERY);
}

static void test_connect_errors(void)
{
    struct pg_session pc;
    struct err e = {0};
    static char long_info[PG_CONNINFO_BYTES_MAX + 2];
    memset(long_info, 'a', sizeof long_info - 1);
    CHECK_INT(pg_connect(&pc, long_info, 5, &e), PG_ERR_BAD_INPUT);
    CHECK_STR(e.msg, "database conninfo must be 1..1024 bytes");
    CHECK_INT(pg_connect(&pc, pg_fixture_db_url, 0, &e), PG_ERR_BAD_INPUT);
    CHECK_INT(pg_connect(&pc, pg_fixture_db_url, PG_CONNECT_TIMEOUT_S_MAX + 1, &e),
              PG_ERR_BAD_INPUT);
    time_t t0 = time(NULL);
    CHECK_INT(pg_connect(&pc, "postgresql://postgres:s3cret@127.0.0.1:1/postgres", 2, &e),
              PG_ERR_CONNECT);
    CHECK(time(NULL) - t0 <= 3);
    CHECK(strncmp(e.msg, "cannot connect to postgresql: ", 30) == 0);
    CHECK(strstr(e.msg, "s3cret") == NULL);
    CHECK(pc.conn == NULL);
    pg_release(&pc);
    CHECK_INT(pg_connect(&pc, pg_fixture_db_url, 5, &e), PG_OK);
    CHECK_STR(pg_fixture_query_value(&pc, "SELECT current_setting('application_name')"), "rights");
    pg_release(&pc);
    pg_release(&pc);
}

static void test_exec_params(void)
{
    struct pg_session pc;
    char schema[64];
    if (!pg_fixture_fresh_schema(&pc, schema, sizeof schema)) {
        CHECK(!"fresh schema");
        return;
    }
    struct err e = {0};
    CHECK_INT(pg_exec(&pc, NULL, "CREATE TABLE t (id int PRIMARY KEY, name text, note text)", NULL,
                      0, &e),
              PG_OK);
    const char *hostile = "O'Brien'); DROP TABLE t; --";
    const char *params[3] = {"1", hostile, NULL};
    PGresult *res = NULL;
    CHECK_INT(pg_exec(&pc, &res, "INSERT INTO t (id, name, note) VALUES ($1, $2, $3) RETURNING id",
                      params, 3, &e),
              PG_OK);
    CHECK_INT(PQntuples(res), 1);
    CHECK_STR(PQgetvalue(res, 0, 0), "1");
    PQclear(res);
    const char *one[1] = {"1"};
    CHECK_INT(pg_exec(&pc, &res, "SELECT name, note FROM t WHERE id = $1", one, 1, &e), PG_OK);
    CHECK_INT(PQntuples(res), 1);
    CHECK_STR(PQgetvalue(res, 0, 0), hostile);
    CHECK(PQgetisnull(res, 0, 1));
    PQclear(res);
    CHECK_STR(pg_fixture_query_value(&pc, "SELECT count(*) FROM t"), "1");
    /* Binary bytea parameter with embedded NUL. */
    CHECK_INT(pg_exec(&pc, NULL, "CREATE TABLE blobs (b bytea NOT NULL)", NULL, 0, &e), PG_OK);
    const char bytes[4] = {0x00, (char)0xff, 0x10, (char)0xaa};
    const char *bparams[1] = {bytes};
    const int lengths[1] = {4}, formats[1] = {1};
    CHECK_INT(pg_exec_params(&pc, NULL, "INSERT INTO blobs (b) VALUES ($1)", bparams, lengths,
                             formats, 1, &e),
              PG_OK);
    CHECK_STR(pg_fixture_query_value(&pc, "SELECT encode(b, 'hex') FROM blobs"), "00ff10aa");
    pg_fixture_drop_schema(&pc, schema);
}

static void test_errors_and_sqlstate(void)
{
    struct pg_session pc;
    char schema[64];
    if (!pg_fixture_fresh_schema(&pc, schema, sizeof schema)) {
        CHECK(!"fresh schema");
        return;
    }
    struct err e = {0};
    CHECK_INT(pg_exec(&pc, NULL, "CREATE TABLE t (id int PRIMARY KEY)", NULL, 0, &e), PG_OK);
    const char *params[1] = {"7"};
    CHECK_INT(pg_exec(&pc, NULL, "INSERT INTO t (id) VALUES ($1)", params, 1, &e), PG_OK);
    PGresult *res = (PGresult *)1;
    CHECK_INT(pg_exec(&pc, &res, "INSERT INTO t (id) VALUES ($1)", params, 1, &e), PG_ERR_UNIQUE);
    CHECK(res == NULL);
    CHECK_INT(e.code, PG_ERR_UNIQUE);
    CHECK_STR(pc.sqlstate, "23505");
    CHECK_STR(e.msg,
              "query failed: duplicate key value violates unique constraint \"t_pkey\" (sqlstate "
              "23505)");
    /* The session is still usable and the state is cleared by the next call. */
    CHECK_STR(pg_fixture_query_value(&pc, "SELECT count(*) FROM t"), "1");
    CHECK_STR(pc.sqlstate, "");
    CHECK_INT(pg_exec(&pc, NULL, "SELEC 1", NULL, 0, &e), PG_ERR_QUERY);
    CHECK_STR(pc.sqlstate, "42601");
    CHECK_INT(pg_exec(&pc, NULL, "SELECT 1 / 0", NULL, 0, &e), PG_ERR_QUERY);
    CHECK_STR(pc.sqlstate, "22012");
    CHECK_STR(e.msg, "query failed: division by zero (sqlstate 22012)");
    /* Two statements are refused by the parameterised path. */
    CHECK_INT(pg_exec(&pc, NULL, "SELECT 1; SELECT 2", NULL, 0, &e), PG_ERR_QUERY);
    CHECK_STR(pc.sqlstate, "42601");
    /* Limits. */
    const char *many[PG_PARAMS_MAX + 1];
    for (int i = 0; i <= PG_PARAMS_MAX; i++)
        many[i] = "1";
    CHECK_INT(pg_exec(&pc, NULL, "SELECT 1", many, PG_PARAMS_MAX + 1, &e), PG_ERR_BAD_INPUT);
    CHECK_STR(e.msg, "query has 65 parameters (max 64)");
    static char big_sql[PG_SQL_BYTES_MAX + 16];
    memset(big_sql, ' ', sizeof big_sql - 1);
    memcpy(big_sql, "SELECT 1", 8);
    CHECK_INT(pg_exec(&pc, NULL, big_sql, NULL, 0, &e), PG_ERR_BAD_INPUT);
    CHECK_INT(pg_exec(&pc, NULL, "", NULL, 0, &e), PG_ERR_BAD_INPUT);
    pg_fixture_drop_schema(&pc, schema);
}

static void test_transactions(void)
{
    struct pg_session pc;
    char schema[64];
    if (!pg_fixture_fresh_schema(&pc, schema, sizeof schema)) {
        CHECK(!"fresh schema");
        return;
    }
    struct err e = {0};
    CHECK_INT(pg_exec(&pc, NULL, "CREATE TABLE t (id int PRIMARY KEY)", NULL, 0, &e), PG_OK);
    CHECK_INT(pg_begin(&pc, PG_READ_COMMITTED, &e), PG_OK);
    CHECK_INT(pg_exec(&pc, NULL, "INSERT INTO t VALUES (2)", NULL, 0, &e), PG_OK);
    CHECK_INT(pg_rollback(&pc, &e), PG_OK);
    CHECK_STR(pg_fixture_query_value(&pc, "SELECT count(*) FROM t"), "0");
    CHECK_INT(pg_begin(&pc, PG_REPEATABLE_READ, &e), PG_OK);
    CHECK_STR(pg_fixture_query_value(&pc, "SHOW transaction_isolation"), "repeatable read");
    CHECK_INT(pg_exec(&pc, NULL, "INSERT INTO t VALUES (3)", NULL, 0, &e), PG_OK);
    CHECK_INT(pg_commit(&pc, &e), PG_OK);
    CHECK_STR(pg_fixture_query_value(&pc, "SELECT count(*) FROM t WHERE id = 3"), "1");
    CHECK_INT(pg_begin(&pc, PG_SERIALIZABLE, &e), PG_OK);
    CHECK_STR(pg_fixture_query_value(&pc, "SHOW transaction_isolation"), "serializable");
    CHECK_INT(pg_exec(&pc, NULL, "INSERT INTO t VALUES (4)", NULL, 0, &e), PG_OK);
    /* A failed statement poisons the transaction: COMMIT must not report success. */
    CHECK_INT(pg_exec(&pc, NULL, "INSERT INTO t VALUES (3)", NULL, 0, &e), PG_ERR_UNIQUE);
    CHECK_INT(pg_commit(&pc, &e), PG_ERR_QUERY);
    CHECK_STR(e.msg, "commit failed: the transaction had already failed and was rolled back");
    CHECK_STR(pg_fixture_query_value(&pc, "SELECT count(*) FROM t WHERE id = 4"), "0");
    pg_fixture_drop_schema(&pc, schema);
}

/* ---- serialization retries ------------------------------------------------------- */

struct conflict_ctx {
    struct pg_session *other; /* a second session that commits a conflicting write */
    int interfere_left;       /* how many attempts to sabotage */
    int calls;
    enum pg_code final; /* what fn returns when not conflicting (PG_OK or a test error) */
};

/* Reads the row (taking the snapshot), lets `other` update and commit it,
 * then updates it too: 40001 under REPEATABLE READ / SERIALIZABLE. */
static enum pg_code conflict_fn(struct pg_session *pc, void *arg, struct err *e)
{
    struct conflict_ctx *cx = arg;
    cx->calls++;
    PGresult *res = NULL;
    enum pg_code r = pg_exec(pc, &res, "SELECT v FROM acct WHERE id = 1", NULL, 0, e);
    PQclear(res);
    if (r != PG_OK)
        return r;
    if (cx->interfere_left > 0) {
        cx->interfere_left--;
        struct err oe = {0};
        if (pg_exec(cx->other, NULL, "UPDATE acct SET v = v + 1 WHERE id = 1", NULL, 0, &oe) !=
            PG_OK)
            return err_set(e, PG_ERR_CALLBACK, "interference failed: %s", oe.msg);
    }
    r = pg_exec(pc, NULL, "UPDATE acct SET v = v + 10 WHERE id = 1", NULL, 0, e);
    if (r != PG_OK)
        return r;
    if (cx->final == PG_ERR_UNIQUE)
        return pg_exec(pc, NULL, "INSERT INTO acct (id, v) VALUES (1, 0)", NULL, 0, e);
    if (cx->final == PG_ERR_CALLBACK)
        return err_set(e, PG_ERR_CALLBACK, "callback refused");
    return PG_OK;
}

/* Write skew: read the sum, let `other` run a whole serializable transaction
 * that reads and inserts, then insert: SSI aborts one side with 40001. */
static enum pg_code skew_fn(struct pg_session *pc, void *arg, struct err *e)
{
    struct conflict_ctx *cx = arg;
    cx->calls++;
    PGresult *res = NULL;
    enum pg_code r = pg_exec(pc, &res, "SELECT count(*) FROM oncall WHERE on_duty", NULL, 0, e);
    PQclear(res);
    if (r != PG_OK)
        return r;
    if (cx->interfere_left > 0) {
        cx->interfere_left--;
        struct err oe = {0};
        PGresult *ores = NULL;
        bool ok = pg_begin(cx->other, PG_SERIALIZABLE, &oe) == PG_OK &&
                  pg_exec(cx->other, &ores, "SELECT count(*) FROM oncall WHERE on_duty", NULL, 0,
                          &oe) == PG_OK &&
                  pg_exec(cx->other, NULL, "UPDATE oncall SET on_duty = false WHERE id = 2", NULL,
                          0, &oe) == PG_OK &&
                  pg_commit(cx->other, &oe) == PG_OK;
        PQclear(ores);
        if (!ok)
            return err_set(e, PG_ERR_CALLBACK, "interference failed: %s", oe.msg);
    }
    return pg_exec(pc, NULL, "UPDATE oncall SET on_duty = false WHERE id = 1", NULL, 0, e);
}

static void test_serialization_retry(void)
{
    struct pg_session pc, other;
    char schema[64];
    if (!pg_fixture_fresh_schema(&pc, schema, sizeof schema) ||
        !pg_fixture_join_schema(&other, schema)) {
        CHECK(!"fresh schema");
        return;
    }
    struct err e = {0};
    CHECK_INT(
        pg_exec(&pc, NULL, "CREATE TABLE acct (id int PRIMARY KEY, v int NOT NULL)", NULL, 0, &e),
        PG_OK);
    CHECK_INT(pg_exec(&pc, NULL, "INSERT INTO acct VALUES (1, 0)", NULL, 0, &e), PG_OK);

    /* One provoked conflict: retried once, then committed. */
    struct conflict_ctx cx = {&other, 1, 0, PG_OK};
    unsigned attempts = 0;
    CHECK_INT(pg_run_tx(&pc, PG_SERIALIZABLE, 5, conflict_fn, &cx, &attempts, &e), PG_OK);
    CHECK_INT(attempts, 2);
    CHECK_INT(cx.calls, 2);
    CHECK_STR(pg_fixture_query_value(&pc, "SELECT v FROM acct WHERE id = 1"), "11");

    /* Conflict on every attempt: bounded, and the failed attempts left no trace. */
    cx = (struct conflict_ctx){&other, 100, 0, PG_OK};
    CHECK_INT(pg_run_tx(&pc, PG_REPEATABLE_READ, 3, conflict_fn, &cx, &attempts, &e),
              PG_ERR_RETRIES_EXHAUSTED);
    CHECK_INT(attempts, 3);
    CHECK_INT(cx.calls, 3);
    CHECK_STR(e.msg, "transaction gave up after 3 attempts: serialization failures (sqlstate "
                     "40001)");
    CHECK_STR(pg_fixture_query_value(&pc, "SELECT v FROM acct WHERE id = 1"), "14");

    /* Other errors are not retried and roll back. */
    cx = (struct conflict_ctx){&other, 0, 0, PG_ERR_UNIQUE};
    CHECK_INT(pg_run_tx(&pc, PG_SERIALIZABLE, 5, conflict_fn, &cx, &attempts, &e), PG_ERR_UNIQUE);
    CHECK_INT(attempts, 1);
    CHECK_STR(pg_fixture_query_value(&pc, "SELECT v FROM acct WHERE id = 1"), "14");
    cx = (struct conflict_ctx){&other, 0, 0, PG_ERR_CALLBACK};
    CHECK_INT(pg_run_tx(&pc, PG_SERIALIZABLE, 5, conflict_fn, &cx, &attempts, &e), PG_ERR_CALLBACK);
    CHECK_STR(e.msg, "callback refused");
    CHECK_INT(attempts, 1);
    CHECK_STR(pg_fixture_query_value(&pc, "SELECT v FROM acct WHERE id = 1"), "14");
    CHECK_INT(pg_run_tx(&pc, PG_SERIALIZABLE, 0, conflict_fn, &cx, &attempts, &e),
              PG_ERR_BAD_INPUT);
    CHECK_INT(
        pg_run_tx(&pc, PG_SERIALIZABLE, PG_TX_ATTEMPTS_MAX + 1, conflict_fn, &cx, &attempts, &e),
        PG_ERR_BAD_INPUT);

    /* SSI write skew between two serializable transactions. */
    CHECK_INT(pg_exec(&pc, NULL, "CREATE TABLE oncall (id int PRIMARY KEY, on_duty bool NOT NULL)",
                      NULL, 0, &e),
              PG_OK);
    CHECK_INT(pg_exec(&pc, NULL, "INSERT INTO oncall VALUES (1, true), (2, true)", NULL, 0, &e),
              PG_OK);
    cx = (struct conflict_ctx){&other, 1, 0, PG_OK};
    CHECK_INT(pg_run_tx(&pc, PG_SERIALIZABLE, 5, skew_fn, &cx, &attempts, &e), PG_OK);
    CHECK_INT(attempts, 2);
    CHECK_STR(pg_fixture_query_value(&pc, "SELECT count(*) FROM oncall WHERE on_duty"), "0");
    pg_release(&other);
    pg_fixture_drop_schema(&pc, schema);
}

static void test_connection_lost(void)
{
    struct pg_session a, b;
    struct err e = {0};
    CHECK_INT(pg_connect(&a, pg_fixture_db_url, 5, &e), PG_OK);
    CHECK_INT(pg_connect(&b, pg_fixture_db_url, 5, &e), PG_OK);
    char pid[16];
    snprintf(pid, sizeof pid, "%d", PQbackendPID(a.conn));
    const char *params[1] = {pid};
    CHECK_INT(pg_exec(&b, NULL, "SELECT pg_terminate_backend($1::int)", params, 1, &e), PG_OK);
    usleep(100000);
    CHECK_INT(pg_exec(&a, NULL, "SELECT 1", NULL, 0, &e), PG_ERR_CONNECTION);
    CHECK_INT(e.code, PG_ERR_CONNECTION);
    pg_release(&a);
    pg_release(&b);
}

int main(void)
{
    if (!pg_fixture_init("test_pg"))
        return 1;
    RUN(test_classify_sqlstate);
    RUN(test_connect_errors);
    RUN(test_exec_params);
    RUN(test_errors_and_sqlstate);
    RUN(test_transactions);
    RUN(test_serialization_retry);
    RUN(test_connection_lost);
    return harness_finish();
}
