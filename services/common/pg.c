/* pg.c - see pg.h. */
#include "pg.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "clock.h"
#include "hex.h"

static enum pg_code pg_fail_result(struct pg_session *pc, const PGresult *res, const char *what,
                                   struct err *e);
static void pg_first_line(char *out, size_t out_size, const char *text);
static unsigned pg_jitter_ms(void);
static void pg_notice_discard(void *arg, const char *message);
static enum pg_code pg_simple(struct pg_session *pc, const char *sql, struct err *e);
static enum pg_code pg_session_bound(struct pg_session *pc, struct err *e);

enum pg_code pg_classify_sqlstate(const char *sqlstate)
{
    if (sqlstate == NULL || strlen(sqlstate) != 5)
        return PG_ERR_QUERY;
    if (strcmp(sqlstate, "40001") == 0 || strcmp(sqlstate, "40P01") == 0)
        return PG_ERR_SERIALIZATION;
    if (strcmp(sqlstate, "23505") == 0)
        return PG_ERR_UNIQUE;
    if (strncmp(sqlstate, "08", 2) == 0 || strcmp(sqlstate, "57P01") == 0 ||
        strcmp(sqlstate, "57P02") == 0 || strcmp(sqlstate, "57P03") == 0)
        return PG_ERR_CONNECTION;
    return PG_ERR_QUERY;
}

/* libpq messages end with a newline and may continue with DETAIL lines. */
static void pg_first_line(char *out, size_t out_size, const char *text)
{
    size_t n = 0;
    if (text == NULL)
        text = "";
    while (text[n] != '\0' && text[n] != '\n' && n + 1 < out_size)
        n++;
    memcpy(out, text, n);
    out[n] = '\0';
}

/* Server NOTICE/WARNING messages would otherwise be printed raw on stderr,
 * breaking the logfmt stream; errors are reported through results instead. */
static void pg_notice_discard(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

/* 0..7 ms so that two retrying transactions drift apart. */
static unsigned pg_jitter_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (unsigned)(ts.tv_nsec % 8);
}

/* The PG_KEEPALIVES_* and timeout literals as libpq/set_config strings. */

enum pg_code pg_connect(struct pg_session *pc, const char *conninfo, unsigned connect_timeout_s,
                        struct err *e)
{
    ASSERT(pc != NULL && conninfo != NULL);
    pc->conn = NULL;
    pc->sqlstate[0] = '\0';
    size_t len = strnlen(conninfo, PG_CONNINFO_BYTES_MAX + 1);
    if (len == 0 || len > PG_CONNINFO_BYTES_MAX)
        return err_set(e, PG_ERR_BAD_INPUT, "database conninfo must be 1..%d bytes",
                       PG_CONNINFO_BYTES_MAX);
    if (connect_timeout_s < 1 || connect_timeout_s > PG_CONNECT_TIMEOUT_S_MAX)
        return err_set(e, PG_ERR_BAD_INPUT, "connect timeout %u s outside 1..%d", connect_timeout_s,
                       PG_CONNECT_TIMEOUT_S_MAX);
    char timeout[16];
    snprintf(timeout, sizeof timeout, "%u", connect_timeout_s);
    /* libpq applies the keys in order, and conninfo expands where "dbname"
     * stands: what follows it overrides anything conninfo says. */
    const char *const keys[] = {"dbname",           "connect_timeout",  "fallback_application_name",
                                "keepalives",       "keepalives_idle",  "keepalives_interval",
                                "keepalives_count", "tcp_user_timeout", NULL};
    const char *const vals[] = {conninfo,
                                timeout,
                                "rights",
                                "1",
                                MACRO_TEXT(PG_KEEPALIVES_IDLE_S),
                                MACRO_TEXT(PG_KEEPALIVES_INTERVAL_S),
                                MACRO_TEXT(PG_KEEPALIVES_COUNT),
                                MACRO_TEXT(PG_TCP_USER_TIMEOUT_MS),
                                NULL};
    _Static_assert(sizeof keys == sizeof vals, "one value per libpq key");
    PGconn *conn = PQconnectdbParams(keys, vals, 1);
    if (conn == NULL)
        return err_set(e, PG_ERR_CONNECT, "cannot connect to postgresql: out of memory");
    if (PQstatus(conn) != CONNECTION_OK) {
        char msg[160];
        pg_first_line(msg, sizeof msg, PQerrorMessage(conn));
        PQfinish(conn);
        return err_set(e, PG_ERR_CONNECT, "cannot connect to postgresql: %s", msg);
    }
    PQsetNoticeProcessor(conn, pg_notice_discard, NULL);
    pc->conn = conn;
    struct err be = {0};
    if (pg_session_bound(pc, &be) != PG_OK) {
        pg_release(pc);
        return err_set(e, PG_ERR_CONNECT, "cannot set postgresql session timeouts: %s", be.msg);
    }
    return PG_OK;
}

/* The server's half of the bounds, in one round trip: statement_timeout,
 * and keepalives on the server's end of the socket so that it notices a
 * client that vanished while holding locks (ignored on a unix socket). */
static enum pg_code pg_session_bound(struct pg_session *pc, struct err *e)
{
    const char *const params[] = {
        MACRO_TEXT(PG_STATEMENT_TIMEOUT_MS_DEFAULT), MACRO_TEXT(PG_KEEPALIVES_IDLE_S),
        MACRO_TEXT(PG_KEEPALIVES_INTERVAL_S), MACRO_TEXT(PG_KEEPALIVES_COUNT),
        MACRO_TEXT(PG_TCP_USER_TIMEOUT_MS)};
    return pg_exec(pc, NULL,
                   "SELECT set_config('statement_timeout', $1, false), "
                   "set_config('tcp_keepalives_idle', $2, false), "
                   "set_config('tcp_keepalives_interval', $3, false), "
                   "set_config('tcp_keepalives_count', $4, false), "
                   "set_config('tcp_user_timeout', $5, false)",
                   params, (int)(sizeof params / sizeof params[0]), e);
}

enum pg_code pg_set_statement_timeout(struct pg_session *pc, unsigned timeout_ms, struct err *e)
{
    ASSERT(pc != NULL && pc->conn != NULL);
    if (timeout_ms < 1 || timeout_ms > PG_STATEMENT_TIMEOUT_MS_MAX)
        return err_set(e, PG_ERR_BAD_INPUT, "statement timeout %u ms outside 1..%d", timeout_ms,
                       PG_STATEMENT_TIMEOUT_MS_MAX);
    char value[16];
    snprintf(value, sizeof value, "%u", timeout_ms);
    const char *const params[1] = {value};
    return pg_exec(pc, NULL, "SELECT set_config('statement_timeout', $1, false)", params, 1, e);
}

void pg_release(struct pg_session *pc)
{
    if (pc == NULL)
        return;
    if (pc->conn != NULL)
        PQfinish(pc->conn);
    pc->conn = NULL;
}

/* Classifies a failed (or missing) result and writes the message. */
static enum pg_code pg_fail_result(struct pg_session *pc, const PGresult *res, const char *what,
                                   struct err *e)
{
    const char *state = res != NULL ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    char msg[160];
    if (state == NULL) {
        pc->sqlstate[0] = '\0';
        pg_first_line(msg, sizeof msg, PQerrorMessage(pc->conn));
        enum pg_code r =
            PQstatus(pc->conn) == CONNECTION_BAD || res == NULL ? PG_ERR_CONNECTION : PG_ERR_QUERY;
        return err_set(e, r, "%s failed: %s", what, msg[0] != '\0' ? msg : "no result");
    }
    snprintf(pc->sqlstate, sizeof pc->sqlstate, "%s", state);
    pg_first_line(msg, sizeof msg, PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY));
    enum pg_code r = pg_classify_sqlstate(pc->sqlstate);
    if (r == PG_ERR_QUERY && PQstatus(pc->conn) == CONNECTION_BAD)
        r = PG_ERR_CONNECTION;
    return err_set(e, r, "%s failed: %s (sqlstate %s)", what, msg, pc->sqlstate);
}

enum pg_code pg_exec_params(struct pg_session *pc, PGresult **res_out, const char *sql,
                            const char *const *params, const int *lengths, const int *formats,
                            int params_len, struct err *e)
{
    ASSERT(pc != NULL && pc->conn != NULL && sql != NULL);
    ASSERT(params != NULL || params_len == 0);
    if (res_out != NULL)
        *res_out = NULL;
    pc->sqlstate[0] = '\0';
    if (params_len < 0 || params_len > PG_PARAMS_MAX)
        return err_set(e, PG_ERR_BAD_INPUT, "query has %d parameters (max %d)", params_len,
                       PG_PARAMS_MAX);
    size_t sql_len = strnlen(sql, PG_SQL_BYTES_MAX + 1);
    if (sql_len == 0 || sql_len > PG_SQL_BYTES_MAX)
        return err_set(e, PG_ERR_BAD_INPUT, "query text must be 1..%d bytes", PG_SQL_BYTES_MAX);
    PGresult *res = PQexecParams(pc->conn, sql, params_len, NULL, params, lengths, formats, 0);
    ExecStatusType st = res != NULL ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        enum pg_code r = pg_fail_result(pc, res, "query", e);
        PQclear(res);
        return r;
    }
    if (res_out != NULL)
        *res_out = res;
    else
        PQclear(res);
    return PG_OK;
}

enum pg_code pg_exec(struct pg_session *pc, PGresult **res_out, const char *sql,
                     const char *const *params, int params_len, struct err *e)
{
    return pg_exec_params(pc, res_out, sql, params, NULL, NULL, params_len, e);
}

enum pg_code pg_exec_script(struct pg_session *pc, const char *sql, struct err *e)
{
    ASSERT(pc != NULL && pc->conn != NULL && sql != NULL);
    pc->sqlstate[0] = '\0';
    size_t len = strnlen(sql, PG_SCRIPT_BYTES_MAX + 1);
    if (len > PG_SCRIPT_BYTES_MAX)
        return err_set(e, PG_ERR_BAD_INPUT, "script larger than %d bytes", PG_SCRIPT_BYTES_MAX);
    PGresult *res = PQexec(pc->conn, sql); /* result of the last statement */
    ExecStatusType st = res != NULL ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    enum pg_code r = PG_OK;
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK && st != PGRES_EMPTY_QUERY)
        r = pg_fail_result(pc, res, "script", e);
    PQclear(res);
    return r;
}

static enum pg_code pg_simple(struct pg_session *pc, const char *sql, struct err *e)
{
    return pg_exec(pc, NULL, sql, NULL, 0, e);
}

enum pg_code pg_begin(struct pg_session *pc, enum pg_isolation isolation, struct err *e)
{
    switch (isolation) {
    case PG_READ_COMMITTED:
        return pg_simple(pc, "BEGIN ISOLATION LEVEL READ COMMITTED", e);
    case PG_REPEATABLE_READ:
        return pg_simple(pc, "BEGIN ISOLATION LEVEL REPEATABLE READ", e);
    case PG_SERIALIZABLE:
        return pg_simple(pc, "BEGIN ISOLATION LEVEL SERIALIZABLE", e);
    }
    return err_set(e, PG_ERR_BAD_INPUT, "unknown isolation level %d", (int)isolation);
}

enum pg_code pg_commit(struct pg_session *pc, struct err *e)
{
    PGresult *res = NULL;
    enum pg_code r = pg_exec(pc, &res, "COMMIT", NULL, 0, e);
    if (r != PG_OK)
        return r;
    /* COMMIT of an aborted transaction succeeds with the tag ROLLBACK. */
    bool committed = strcmp(PQcmdStatus(res), "COMMIT") == 0;
    PQclear(res);
    if (!committed)
        return err_set(e, PG_ERR_QUERY,
                       "commit failed: the transaction had already failed and "
                       "was rolled back");
    return PG_OK;
}

enum pg_code pg_rollback(struct pg_session *pc, struct err *e)
{
    return pg_simple(pc, "ROLLBACK", e);
}

enum pg_code pg_run_tx(struct pg_session *pc, enum pg_isolation isolation, unsigned attempts_max,
                       enum pg_code (*fn)(struct pg_session *pc, void *ctx, struct err *e),
                       void *ctx, unsigned *attempts_out, struct err *e)
{
    ASSERT(pc != NULL && fn != NULL);
    if (attempts_out != NULL)
        *attempts_out = 0;
    if (attempts_max < 1 || attempts_max > PG_TX_ATTEMPTS_MAX)
        return err_set(e, PG_ERR_BAD_INPUT, "transaction attempts %u outside 1..%d", attempts_max,
                       PG_TX_ATTEMPTS_MAX);
    enum pg_code r = PG_OK;
    for (unsigned attempt = 1; attempt <= attempts_max; attempt++) {
        if (attempts_out != NULL)
            *attempts_out = attempt;
        r = pg_begin(pc, isolation, e);
        if (r != PG_OK)
            return r;
        r = fn(pc, ctx, e);
        if (r == PG_OK) {
            r = pg_commit(pc, e); /* a failed COMMIT has ended the transaction */
        } else {
            char state[PG_SQLSTATE_SIZE];
            memcpy(state, pc->sqlstate, sizeof state);
            struct err rb = {0};
            enum pg_code rr = pg_rollback(pc, &rb);
            memcpy(pc->sqlstate, state, sizeof state); /* report fn's failure, not ROLLBACK's */
            if (rr != PG_OK && rb.code == PG_ERR_CONNECTION)
                return r;
        }
        if (r != PG_ERR_SERIALIZATION)
            return r;
        clock_sleep_ms(attempt * 5u + pg_jitter_ms());
    }
    return err_set(e, PG_ERR_RETRIES_EXHAUSTED,
                   "transaction gave up after %u attempts: serialization failures (sqlstate %s)",
                   attempts_max, pc->sqlstate);
}

/* ---- values -------------------------------------------------------------------------- */

void pg_bytea_text(char out[PG_BYTEA_TEXT_SIZE], const uint8_t *bytes, size_t len)
{
    ASSERT(len <= PG_VALUE_BYTES_MAX);
    out[0] = '\\';
    out[1] = 'x';
    ASSERT(hex_encode(out + 2, PG_BYTEA_TEXT_SIZE - 2, bytes, len) == 0);
}

void pg_hex_text(char out[PG_HEX_TEXT_SIZE], const uint8_t *bytes, size_t len)
{
    ASSERT(len <= PG_VALUE_BYTES_MAX && hex_encode(out, PG_HEX_TEXT_SIZE, bytes, len) == 0);
}

void pg_u64_text(char out[PG_U64_TEXT_SIZE], uint64_t v)
{
    int n = snprintf(out, PG_U64_TEXT_SIZE, "%" PRIu64, v);
    ASSERT(n > 0 && n < PG_U64_TEXT_SIZE);
}

bool pg_get_bytea(uint8_t *out, size_t len, const PGresult *res, int row, int col)
{
    const char *v = PQgetvalue(res, row, col);
    return !PQgetisnull(res, row, col) && v[0] == '\\' && v[1] == 'x' &&
           hex_decode_exact(out, len, v + 2, strlen(v + 2), NULL) == HEX_OK;
}

bool pg_get_hex(uint8_t *out, size_t len, const PGresult *res, int row, int col)
{
    const char *v = PQgetvalue(res, row, col);
    return !PQgetisnull(res, row, col) && hex_decode_exact(out, len, v, strlen(v), NULL) == HEX_OK;
}

bool pg_get_u256(struct u256 *out, const PGresult *res, int row, int col)
{
    const char *v = PQgetvalue(res, row, col);
    return !PQgetisnull(res, row, col) && u256_from_dec(out, v, strlen(v), NULL) == U256_OK;
}

bool pg_get_u64(uint64_t *out, const PGresult *res, int row, int col)
{
    struct u256 v;
    return pg_get_u256(&v, res, row, col) && u256_to_u64(out, &v);
}
