/*
 * pg.h - PostgreSQL helpers over libpq: connect with a timeout, parameterised
 * execution only, transactions, and a retry loop for serialization failures.
 *
 * Naming: libpq already owns the tags `pg_result` and `pg_conn`, so the result
 * enum is `enum pg_code` and the connection wrapper `struct pg_session`.
 *
 * Ownership: `struct pg_session` is caller-allocated and owns its PGconn from
 * pg_connect() until pg_release(). A connection is not thread-safe; use one
 * per thread. Every `PGresult **res_out` receives a result owned by the
 * caller (PQclear); pass NULL when the rows are not needed.
 *
 * SQL: queries go through PQexecParams with $n parameters, never SQL built
 * from strings. pg_exec_script() (PQexec, several statements) exists for
 * trusted files only (migrations) and must never see user input.
 *
 * Errors: a server error's SQLSTATE is kept in pc->sqlstate and appended to
 * the message ("... (sqlstate 23505)"). 40001/40P01 map to
 * PG_ERR_SERIALIZATION (retry the whole transaction: pg_run_tx), 23505 to
 * PG_ERR_UNIQUE (idempotency rests on UNIQUE keys), class 08 and lost
 * connections to PG_ERR_CONNECTION. Server NOTICE/WARNING messages are
 * discarded (libpq would print them raw on stderr, outside logfmt).
 *
 * Values: parameters and results are text. pg_bytea_text()/pg_hex_text()/
 * pg_u64_text() write a parameter into a caller buffer (bytea as "\x" +
 * hex for $n::bytea, bare hex for decode($n, 'hex')); the pg_get_*() column
 * readers check a result's text (NULL, length and digits) instead of
 * trusting it.
 *
 * Limits: conninfo PG_CONNINFO_BYTES_MAX, SQL PG_SQL_BYTES_MAX (scripts
 * PG_SCRIPT_BYTES_MAX), PG_PARAMS_MAX parameters, connect timeout
 * 1..PG_CONNECT_TIMEOUT_S_MAX seconds, statement timeout
 * 1..PG_STATEMENT_TIMEOUT_MS_MAX ms, PG_TX_ATTEMPTS_MAX attempts.
 *
 * Nothing waits forever. Every connection has a statement_timeout
 * (PG_STATEMENT_TIMEOUT_MS_DEFAULT unless pg_set_statement_timeout() changes
 * it), so a slow query or one blocked on a lock is cancelled by the server.
 * TCP keepalives on both ends (PG_KEEPALIVES_*) and PG_TCP_USER_TIMEOUT_MS
 * notice a peer that vanished: a dead server within about a minute, instead
 * of a wait on a silent socket, and a dead client before its locks are held
 * for hours. Keepalives do not apply to unix-socket connections.
 */
#ifndef COMMON_PG_H
#define COMMON_PG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "check.h"
#include "err.h"
#include "u256.h"

#define PG_CONNINFO_BYTES_MAX 1024
#define PG_CONNECT_TIMEOUT_S_DEFAULT 5
#define PG_CONNECT_TIMEOUT_S_MAX 300
#define PG_STATEMENT_TIMEOUT_MS_MAX 3600000 /* one hour, for migrations */
/* Set on every connection. Plain literals: pg.c also passes them to libpq
 * and set_config() as strings. A silent peer is declared dead after
 * IDLE + INTERVAL * COUNT = 60 s, unacknowledged data after
 * PG_TCP_USER_TIMEOUT_MS. */
#define PG_STATEMENT_TIMEOUT_MS_DEFAULT 30000
#define PG_KEEPALIVES_IDLE_S 30
#define PG_KEEPALIVES_INTERVAL_S 10
#define PG_KEEPALIVES_COUNT 3
#define PG_TCP_USER_TIMEOUT_MS 60000
#define PG_SQL_BYTES_MAX (64 * 1024)
#define PG_SCRIPT_BYTES_MAX (1024 * 1024)
#define PG_PARAMS_MAX 64
#define PG_TX_ATTEMPTS_MAX 20
#define PG_SQLSTATE_SIZE 6 /* five characters + NUL */
/* Text forms of a parameter value: at most PG_VALUE_BYTES_MAX bytes as hex. */
#define PG_VALUE_BYTES_MAX 32
#define PG_HEX_TEXT_SIZE (2 * PG_VALUE_BYTES_MAX + 1)       /* digits + NUL */
#define PG_BYTEA_TEXT_SIZE (2 + 2 * PG_VALUE_BYTES_MAX + 1) /* "\x" + digits + NUL */
#define PG_U64_TEXT_SIZE 21                                 /* 20 digits + NUL */

/* Stable result codes; numbers are never reused. */
enum pg_code {
    PG_OK = 0,
    PG_ERR_CONNECT = 1,           /* could not connect */
    PG_ERR_QUERY = 2,             /* server rejected the statement (see sqlstate) */
    PG_ERR_SERIALIZATION = 3,     /* 40001 serialization failure or 40P01 deadlock */
    PG_ERR_UNIQUE = 4,            /* 23505 unique violation */
    PG_ERR_CONNECTION = 5,        /* connection lost or broken (class 08, no result) */
    PG_ERR_BAD_INPUT = 6,         /* argument above a limit or invalid */
    PG_ERR_RETRIES_EXHAUSTED = 7, /* pg_run_tx: every attempt hit a serialization failure */
    PG_ERR_CALLBACK = 8           /* pg_run_tx callback failed for its own reason (see e) */
};

enum pg_isolation { PG_READ_COMMITTED = 0, PG_REPEATABLE_READ = 1, PG_SERIALIZABLE = 2 };

struct pg_session {
    PGconn *conn;                    /* owned; NULL when released */
    char sqlstate[PG_SQLSTATE_SIZE]; /* SQLSTATE of the last failure, "" if none */
};

/* Maps a SQLSTATE to a result (PG_ERR_SERIALIZATION, PG_ERR_UNIQUE,
 * PG_ERR_CONNECTION or PG_ERR_QUERY). Pure. */
enum pg_code pg_classify_sqlstate(const char *sqlstate);

/* Connects with `conninfo` (URL or key=value form) and connect_timeout
 * 1..PG_CONNECT_TIMEOUT_S_MAX seconds, then bounds the session: libpq TCP
 * keepalives (keepalives=1, PG_KEEPALIVES_IDLE_S, PG_KEEPALIVES_INTERVAL_S,
 * PG_KEEPALIVES_COUNT, tcp_user_timeout PG_TCP_USER_TIMEOUT_MS), the same
 * keepalives on the server's end of the socket, and statement_timeout
 * PG_STATEMENT_TIMEOUT_MS_DEFAULT. All of these, connect_timeout included,
 * override any value in conninfo (options=-c statement_timeout=... too), so
 * no connection string can remove a bound; change the statement timeout
 * with pg_set_statement_timeout(). Returns PG_OK, PG_ERR_BAD_INPUT or
 * PG_ERR_CONNECT; on failure pc is released. The message never contains the
 * password. */
WUR enum pg_code pg_connect(struct pg_session *pc, const char *conninfo, unsigned connect_timeout_s,
                            struct err *e);

/* Sets the session's statement_timeout to timeout_ms
 * (1..PG_STATEMENT_TIMEOUT_MS_MAX; there is no "unbounded"). A statement that
 * runs longer, including one waiting for a lock, is cancelled by the server:
 * pg_exec() then returns PG_ERR_QUERY with pc->sqlstate "57014" and the
 * message "query failed: canceling statement due to statement timeout
 * (sqlstate 57014)". The session stays usable; a transaction it was in is
 * aborted (roll it back). Call it outside a transaction: a rollback would
 * undo it. Returns PG_OK, PG_ERR_BAD_INPUT or a pg_exec() error. */
WUR enum pg_code pg_set_statement_timeout(struct pg_session *pc, unsigned timeout_ms,
                                          struct err *e);

/* Closes the connection; idempotent. */
void pg_release(struct pg_session *pc);

/* Executes one statement with text parameters params[0..params_len) (NULL
 * entries are SQL NULL). On PG_OK and res_out != NULL, *res_out is the
 * caller's result; on failure *res_out is NULL. */
WUR enum pg_code pg_exec(struct pg_session *pc, PGresult **res_out, const char *sql,
                         const char *const *params, int params_len, struct err *e);

/* Like pg_exec with per-parameter lengths and formats (1 = binary, for
 * bytea); lengths/formats may be NULL for all-text. Results are text. */
WUR enum pg_code pg_exec_params(struct pg_session *pc, PGresult **res_out, const char *sql,
                                const char *const *params, const int *lengths, const int *formats,
                                int params_len, struct err *e);

/* Runs trusted multi-statement SQL (migration files) with PQexec. At most
 * PG_SCRIPT_BYTES_MAX bytes. Never pass user input. */
WUR enum pg_code pg_exec_script(struct pg_session *pc, const char *sql, struct err *e);

WUR enum pg_code pg_begin(struct pg_session *pc, enum pg_isolation isolation, struct err *e);

/* COMMIT. A transaction that had already failed ends in ROLLBACK: that is
 * reported as PG_ERR_QUERY, never as success. */
WUR enum pg_code pg_commit(struct pg_session *pc, struct err *e);

WUR enum pg_code pg_rollback(struct pg_session *pc, struct err *e);

/* Runs fn inside BEGIN (isolation) ... COMMIT, retrying the whole
 * transaction after PG_ERR_SERIALIZATION (from fn or from COMMIT), at most
 * attempts_max (1..PG_TX_ATTEMPTS_MAX) times with a short growing backoff.
 * fn returns PG_OK, a pg_result from a helper, or PG_ERR_CALLBACK with its
 * own message in e; anything but PG_OK rolls back. attempts_out (may be NULL)
 * receives the attempts made. Returns PG_OK, fn's/COMMIT's error, or
 * PG_ERR_RETRIES_EXHAUSTED. */
WUR enum pg_code pg_run_tx(struct pg_session *pc, enum pg_isolation isolation,
                           unsigned attempts_max,
                           enum pg_code (*fn)(struct pg_session *pc, void *ctx, struct err *e),
                           void *ctx, unsigned *attempts_out, struct err *e);

/* ---- values -------------------------------------------------------------------------- */

/* out = "\x" + lowercase hex of bytes[0..len): PostgreSQL's text form of a
 * bytea (a $n::bytea parameter). len <= PG_VALUE_BYTES_MAX (asserted). */
void pg_bytea_text(char out[PG_BYTEA_TEXT_SIZE], const uint8_t *bytes, size_t len);

/* out = lowercase hex of bytes[0..len) without a prefix (a decode($n, 'hex')
 * parameter). len <= PG_VALUE_BYTES_MAX (asserted). */
void pg_hex_text(char out[PG_HEX_TEXT_SIZE], const uint8_t *bytes, size_t len);

/* out = v in decimal (a $n::bigint or numeric parameter). */
void pg_u64_text(char out[PG_U64_TEXT_SIZE], uint64_t v);

/* Column readers: false when the value is NULL or malformed (out unspecified).
 * pg_get_bytea: a bytea column as PostgreSQL writes it ("\x" + hex) of
 * exactly `len` bytes. pg_get_hex: a column selected as encode(x, 'hex')
 * (an optional "0x" is accepted) of exactly `len` bytes. pg_get_u256:
 * canonical decimal (numeric(78,0), bigint >= 0). pg_get_u64: the same
 * within uint64. */
WUR bool pg_get_bytea(uint8_t *out, size_t len, const PGresult *res, int row, int col);
WUR bool pg_get_hex(uint8_t *out, size_t len, const PGresult *res, int row, int col);
WUR bool pg_get_u256(struct u256 *out, const PGresult *res, int row, int col);
WUR bool pg_get_u64(uint64_t *out, const PGresult *res, int row, int col);

#endif
