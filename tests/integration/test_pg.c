/* test_pg.c - pg helpers against a real PostgreSQL.
 *
 * Environment: DATABASE_URL (required, provided by the runner; the test fails
 * without it; a TCP URL, so that the keepalives can be checked). Every test
 * that creates tables works in a fresh schema test_pg_<pid>_<n>, dropped at
 * the end. */
#include "harness.h"
#include "pg.h"
#include "pg_fixture.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* A conninfo that asks for no bounds at all; pg_connect must keep them. */
#define TEST_PG_UNBOUNDED_QUERY                                                                    \
    "keepalives=0&keepalives_idle=7200&keepalives_interval=75&keepalives_count=9&"                 \
    "tcp_user_timeout=0&connect_timeout=0&options=-c%20statement_timeout%3D0"
#define TEST_PG_STUCK_TIMEOUT_MS 300
#define TEST_PG_STUCK_BOUND_MS 5000 /* a stuck statement must end well before this */

static uint64_t test_now_ms(void);
static const char *test_conninfo_value(PGconn *conn, const char *keyword);
static long test_sockopt(int fd, int level, int name);

static uint64_t test_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* The value libpq uses for `keyword` on this connection, "" if unset. Copied
 * into a static buffer that the next call overwrites. */
static const char *test_conninfo_value(PGconn *conn, const char *keyword)
{
    static char out[64];
    PQconninfoOption *opts = PQconninfo(conn);
    snprintf(out, sizeof out, "(no %s)", keyword);
    for (PQconninfoOption *o = opts; o != NULL && o->keyword != NULL; o++)
        if (strcmp(o->keyword, keyword) == 0)
            snprintf(out, sizeof out, "%s", o->val != NULL ? o->val : "");
    PQconninfoFree(opts);
    return out;
}

/* An int socket option as the kernel reports it, -1 when it cannot. */
static long test_sockopt(int fd, int level, int name)
{
    int v = -1;
    socklen_t len = sizeof v;
    return getsockopt(fd, level, name, &v, &len) == 0 ? v : -1;
}

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

/* Every connection carries its bounds, on the client's socket, in libpq and
 * on the server, even when conninfo asks for none of them. */
static void test_session_bounds(void)
{
    static char unbounded[PG_CONNINFO_BYTES_MAX + 1];
    int n = snprintf(unbounded, sizeof unbounded, "%s%s%s", pg_fixture_db_url,
                     strchr(pg_fixture_db_url, '?') != NULL ? "&" : "?", TEST_PG_UNBOUNDED_QUERY);
    CHECK(n > 0 && (size_t)n < sizeof unbounded);
    CHECK_MSG(strncmp(pg_fixture_db_url, "postgresql://", 13) == 0, "DATABASE_URL is not a URL");
    const char *const infos[2] = {pg_fixture_db_url, unbounded};
    for (int i = 0; i < 2; i++) {
        struct pg_session pc;
        struct err e = {0};
        CHECK_INT(pg_connect(&pc, infos[i], 4, &e), PG_OK);
        if (pc.conn == NULL)
            return;
        CHECK_STR(pg_fixture_query_value(&pc, "SHOW statement_timeout"), "30s");
        CHECK_STR(test_conninfo_value(pc.conn, "connect_timeout"), "4");
        CHECK_STR(test_conninfo_value(pc.conn, "keepalives"), "1");
        CHECK_STR(test_conninfo_value(pc.conn, "keepalives_idle"), "30");
        CHECK_STR(test_conninfo_value(pc.conn, "keepalives_interval"), "10");
        CHECK_STR(test_conninfo_value(pc.conn, "keepalives_count"), "3");
        CHECK_STR(test_conninfo_value(pc.conn, "tcp_user_timeout"), "60000");
        /* What the kernel really does with the client's socket (TCP only). */
        int fd = PQsocket(pc.conn);
        struct sockaddr_storage ss;
        socklen_t ss_len = sizeof ss;
        CHECK(getsockname(fd, (struct sockaddr *)&ss, &ss_len) == 0);
        CHECK_MSG(ss.ss_family == AF_INET || ss.ss_family == AF_INET6,
                  "DATABASE_URL must reach the server over TCP");
        CHECK_INT(test_sockopt(fd, SOL_SOCKET, SO_KEEPALIVE), 1);
        CHECK_INT(test_sockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE), PG_KEEPALIVES_IDLE_S);
        CHECK_INT(test_sockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL), PG_KEEPALIVES_INTERVAL_S);
        CHECK_INT(test_sockopt(fd, IPPROTO_TCP, TCP_KEEPCNT), PG_KEEPALIVES_COUNT);
        CHECK_INT(test_sockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT), PG_TCP_USER_TIMEOUT_MS);
        /* The server's end of the same connection. */
        CHECK_STR(pg_fixture_query_value(&pc, "SHOW tcp_keepalives_idle"), "30");
        CHECK_STR(pg_fixture_query_value(&pc, "SHOW tcp_keepalives_interval"), "10");
        CHECK_STR(pg_fixture_query_value(&pc, "SHOW tcp_keepalives_count"), "3");
        CHECK_STR(pg_fixture_query_value(&pc, "SHOW tcp_user_timeout"), "60000");
        pg_release(&pc);
    }
}

static void test_statement_timeout_limits(void)
{
    struct pg_session pc;
    struct err e = {0};
    CHECK_INT(pg_connect(&pc, pg_fixture_db_url, 5, &e), PG_OK);
    if (pc.conn == NULL)
        return;
    CHECK_INT(pg_set_statement_timeout(&pc, 0, &e), PG_ERR_BAD_INPUT);
    CHECK_STR(e.msg, "statement timeout 0 ms outside 1..3600000");
    CHECK_INT(pg_set_statement_timeout(&pc, PG_STATEMENT_TIMEOUT_MS_MAX + 1, &e), PG_ERR_BAD_INPUT);
    CHECK_STR(pg_fixture_query_value(&pc, "SHOW statement_timeout"), "30s");
    CHECK_INT(pg_set_statement_timeout(&pc, PG_STATEMENT_TIMEOUT_MS_MAX, &e), PG_OK);
    CHECK_STR(pg_fixture_query_value(&pc, "SHOW statement_timeout"), "1h");
    CHECK_INT(pg_set_statement_timeout(&pc, 1, &e), PG_OK);
    CHECK_STR(pg_fixture_query_value(&pc, "SHOW statement_timeout"), "1ms");
    pg_release(&pc);
}

/* A statement that would run for 30 s is cancelled at the timeout with a
 * clear error; the session, and a transaction's rollback, still work. */
static void test_statement_timeout_stuck_query(void)
{
    struct pg_session pc;
    struct err e = {0};
    CHECK_INT(pg_connect(&pc, pg_fixture_db_url, 5, &e), PG_OK);
    if (pc.conn == NULL)
        return;
    CHECK_INT(pg_set_statement_timeout(&pc, TEST_PG_STUCK_TIMEOUT_MS, &e), PG_OK);
    CHECK_STR(pg_fixture_query_value(&pc, "SHOW statement_timeout"), "300ms");
    uint64_t t0 = test_now_ms();
    CHECK_INT(pg_exec(&pc, NULL, "SELECT pg_sleep(30)", NULL, 0, &e), PG_ERR_QUERY);
    uint64_t took_ms = test_now_ms() - t0;
    CHECK_MSG(took_ms >= TEST_PG_STUCK_TIMEOUT_MS && took_ms < TEST_PG_STUCK_BOUND_MS,
              "pg_sleep(30) ended after %llu ms", (unsigned long long)took_ms);
    CHECK_INT(e.code, PG_ERR_QUERY);
    CHECK_STR(pc.sqlstate, "57014");
    CHECK_STR(e.msg, "query failed: canceling statement due to statement timeout (sqlstate 57014)");
    CHECK_INT(PQstatus(pc.conn), CONNECTION_OK);
    CHECK_STR(pg_fixture_query_value(&pc, "SELECT 40 + 2"), "42");
    /* Inside a transaction: the timeout aborts it, COMMIT says so, and the
     * session goes on. */
    CHECK_INT(pg_begin(&pc, PG_READ_COMMITTED, &e), PG_OK);
    t0 = test_now_ms();
    CHECK_INT(pg_exec(&pc, NULL, "SELECT pg_sleep(30)", NULL, 0, &e), PG_ERR_QUERY);
    CHECK(test_now_ms() - t0 < TEST_PG_STUCK_BOUND_MS);
    CHECK_STR(pc.sqlstate, "57014");
    CHECK_INT(pg_commit(&pc, &e), PG_ERR_QUERY);
    CHECK_STR(pg_fixture_query_value(&pc, "SELECT 40 + 2"), "42");
    CHECK_STR(pg_fixture_query_value(&pc, "SHOW statement_timeout"), "300ms");
    pg_release(&pc);
}

/* A statement waiting for a row lock that another session holds is
 * cancelled at the timeout; once the lock is gone, the same update works. */
static void test_statement_timeout_lock_wait(void)
{
    struct pg_session holder, waiter;
    char schema[64];
    if (!pg_fixture_fresh_schema(&holder, schema, sizeof schema) ||
        !pg_fixture_join_schema(&waiter, schema)) {
        CHECK(!"fresh schema");
        return;
    }
    struct err e = {0};
    CHECK_INT(pg_exec(&holder, NULL, "CREATE TABLE acct (id int PRIMARY KEY, v int NOT NULL)", NULL,
                      0, &e),
              PG_OK);
    CHECK_INT(pg_exec(&holder, NULL, "INSERT INTO acct VALUES (1, 0)", NULL, 0, &e), PG_OK);
    CHECK_INT(pg_begin(&holder, PG_READ_COMMITTED, &e), PG_OK);
    CHECK_INT(pg_exec(&holder, NULL, "UPDATE acct SET v = 1 WHERE id = 1", NULL, 0, &e), PG_OK);
    CHECK_INT(pg_set_statement_timeout(&waiter, TEST_PG_STUCK_TIMEOUT_MS, &e), PG_OK);
    uint64_t t0 = test_now_ms();
    CHECK_INT(pg_exec(&waiter, NULL, "UPDATE acct SET v = 2 WHERE id = 1", NULL, 0, &e),
              PG_ERR_QUERY);
    uint64_t took_ms = test_now_ms() - t0;
    CHECK_MSG(took_ms >= TEST_PG_STUCK_TIMEOUT_MS && took_ms < TEST_PG_STUCK_BOUND_MS,
              "blocked update ended after %llu ms", (unsigned long long)took_ms);
    CHECK_STR(waiter.sqlstate, "57014");
    CHECK_STR(e.msg, "query failed: canceling statement due to statement timeout (sqlstate 57014)");
    /* Still usable, and it changed nothing. */
    CHECK_STR(pg_fixture_query_value(&waiter, "SELECT v FROM acct WHERE id = 1"), "0");
    CHECK_INT(pg_commit(&holder, &e), PG_OK);
    CHECK_INT(pg_exec(&waiter, NULL, "UPDATE acct SET v = 2 WHERE id = 1", NULL, 0, &e), PG_OK);
    CHECK_STR(pg_fixture_query_value(&holder, "SELECT v FROM acct WHERE id = 1"), "2");
    pg_release(&waiter);
    pg_fixture_drop_schema(&holder, schema);
}

/* The value helpers against the server's own text forms: a bytea parameter
 * round-trips, and the column readers reject NULL, wrong lengths, signs,
 * leading zeros and values above their type. */
static void test_value_text(void)
{
    struct pg_session pc;
    struct err e = {0};
    if (pg_connect(&pc, pg_fixture_db_url, PG_FIXTURE_CONNECT_TIMEOUT_S, &e) != PG_OK) {
        CHECK_MSG(0, "connect: %s", e.msg);
        return;
    }
    uint8_t bytes[PG_VALUE_BYTES_MAX], back[PG_VALUE_BYTES_MAX];
    for (size_t i = 0; i < sizeof bytes; i++)
        bytes[i] = (uint8_t)(0xf1 * i + 7);
    char bytea[PG_BYTEA_TEXT_SIZE], hex[PG_HEX_TEXT_SIZE], u64[PG_U64_TEXT_SIZE];
    pg_bytea_text(bytea, bytes, 20);
    pg_hex_text(hex, bytes, 20);
    CHECK_INT(strlen(bytea), 42);
    CHECK_INT(strncmp(bytea, "\\x", 2), 0);
    CHECK_STR(bytea + 2, hex);
    pg_u64_text(u64, UINT64_MAX);
    CHECK_STR(u64, "18446744073709551615");
    pg_bytea_text(bytea, bytes, sizeof bytes);
    pg_hex_text(hex, bytes, sizeof bytes);
    const char *params[3] = {bytea, hex, u64};
    PGresult *res = NULL;
    CHECK_INT(pg_exec(&pc, &res,
                      "SELECT $1::bytea, encode($1::bytea, 'hex'), decode($2, 'hex') = $1::bytea,"
                      " $3::numeric, ($3::numeric + 1)::text, NULL::text, '-1', '007', 'abcd',"
                      " 9223372036854775807::bigint",
                      params, 3, &e),
              PG_OK);
    ASSERT(res != NULL && PQntuples(res) == 1);
    CHECK_STR(PQgetvalue(res, 0, 0), bytea);
    CHECK(pg_get_bytea(back, sizeof back, res, 0, 0));
    CHECK(memcmp(back, bytes, sizeof bytes) == 0);
    CHECK(!pg_get_bytea(back, sizeof back - 1, res, 0, 0));
    CHECK(!pg_get_bytea(back, sizeof back, res, 0, 1)); /* no "\x" */
    CHECK(!pg_get_bytea(back, 1, res, 0, 5));           /* NULL */
    memset(back, 0, sizeof back);
    CHECK(pg_get_hex(back, sizeof back, res, 0, 1));
    CHECK(memcmp(back, bytes, sizeof bytes) == 0);
    CHECK(!pg_get_hex(back, sizeof back - 1, res, 0, 1));
    CHECK_STR(PQgetvalue(res, 0, 2), "t");
    uint64_t v = 0;
    struct u256 w;
    CHECK(pg_get_u64(&v, res, 0, 3) && v == UINT64_MAX);
    CHECK(!pg_get_u64(&v, res, 0, 4)); /* 2^64 */
    CHECK(pg_get_u256(&w, res, 0, 4) && w.limb[1] == 1 && w.limb[0] == 0);
    CHECK(!pg_get_u64(&v, res, 0, 5) && !pg_get_u256(&w, res, 0, 5)); /* NULL */
    CHECK(!pg_get_hex(back, 1, res, 0, 5));
    CHECK(!pg_get_u64(&v, res, 0, 6) && !pg_get_u64(&v, res, 0, 7)); /* sign, leading zero */
    CHECK(!pg_get_u64(&v, res, 0, 8));
    CHECK(pg_get_hex(back, 2, res, 0, 8) && back[0] == 0xab && back[1] == 0xcd);
    CHECK(pg_get_u64(&v, res, 0, 9) && v == INT64_MAX);
    PQclear(res);
    pg_release(&pc);
}

int main(void)
{
    if (!pg_fixture_init("test_pg"))
        return 1;
    RUN(test_classify_sqlstate);
    RUN(test_connect_errors);
    RUN(test_exec_params);
    RUN(test_value_text);
    RUN(test_errors_and_sqlstate);
    RUN(test_transactions);
    RUN(test_serialization_retry);
    RUN(test_connection_lost);
    RUN(test_session_bounds);
    RUN(test_statement_timeout_limits);
    RUN(test_statement_timeout_stuck_query);
    RUN(test_statement_timeout_lock_wait);
    return harness_finish();
}
