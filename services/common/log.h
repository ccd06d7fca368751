/*
 * log.h - logfmt lines on stderr (or any FILE*), one line per event:
 *
 *   ts=2026-01-02T03:04:05.678Z level=info svc=gateway msg="listening" addr=127.0.0.1:8080
 *
 * Design: there are no globals. Each process creates one `struct logger` at
 * startup (after reading LOG_LEVEL through config.h) and passes a pointer to
 * whatever needs to log. A logger is immutable after log_init() apart from
 * log_set_level(), and may be shared by threads: each line is formatted into
 * a stack buffer and written with one locked fwrite() + fflush(), so lines
 * from different threads never interleave.
 *
 * The level is checked before any formatting: a filtered call costs one
 * comparison (log_write) or one comparison and no vsnprintf (log_printf).
 *
 * Encoding: keys are written as-is except that any byte outside
 * [A-Za-z0-9_.-] becomes '_' (keys come from code). A value is written bare
 * when it is non-empty and made only of printable ASCII other than space,
 * '"', '=' and '\'. Otherwise it is quoted: '"' and '\' are backslash-escaped,
 * \n \r \t are written as such, other control bytes and DEL as \u00XX, valid
 * UTF-8 passes through and invalid bytes become \xNN. msg is always quoted.
 *
 * Limits: one line is at most LOG_LINE_BYTES_MAX bytes including the newline;
 * each value contributes at most LOG_VALUE_BYTES_MAX input bytes; at most
 * LOG_KVS_MAX pairs. Anything cut is marked with a final `truncated=true`.
 *
 * SECRETS: never pass private keys, signatures, auth/playback/session tokens,
 * ingest keys, HMAC secrets or full SIWE messages to the logger. Log an
 * identifier instead (address, request id, token expiry, key file path).
 */
#ifndef COMMON_LOG_H
#define COMMON_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "check.h"
#include "err.h"

#define LOG_LINE_BYTES_MAX 4096
#define LOG_VALUE_BYTES_MAX 1024
#define LOG_KVS_MAX 32
#define LOG_SVC_BYTES_MAX 32

/* Numeric order matters: a logger emits levels >= its level_min. */
enum log_level { LOG_DEBUG = 0, LOG_INFO = 1, LOG_WARN = 2, LOG_ERROR = 3 };
#define LOG_LEVEL_COUNT 4

/* Stable result codes; numbers are never reused. */
enum log_result {
    LOG_OK = 0,
    LOG_ERR_BAD_LEVEL = 1 /* level name is not debug|info|warn|error */
};

enum log_kv_type { LOG_KV_STR = 0, LOG_KV_I64 = 1, LOG_KV_U64 = 2, LOG_KV_BOOL = 3 };

/* One key=value pair. The strings are borrowed for the duration of the call. */
struct log_kv {
    const char *key;
    enum log_kv_type type;
    union {
        const char *s; /* NULL is written as an empty quoted value */
        int64_t i;
        uint64_t u;
        bool b;
    } v;
};

struct logger {
    FILE *out;                /* borrowed; usually stderr */
    enum log_level level_min; /* events below this are dropped */
    char svc[LOG_SVC_BYTES_MAX + 1];
    /* Clock for ts=; NULL means clock_gettime(CLOCK_REALTIME). Tests pin it. */
    void (*clock_fn)(struct timespec *now);
};

/* Initialises `lg` to write to `out` (borrowed, not closed) for service
 * `svc` (copied; longer names are cut at LOG_SVC_BYTES_MAX). */
void log_init(struct logger *lg, FILE *out, const char *svc, enum log_level level_min);

void log_set_level(struct logger *lg, enum log_level level_min);

/* True when an event at `level` would be written; use it to skip costly
 * argument preparation. */
bool log_enabled(const struct logger *lg, enum log_level level);

/* Parses "debug", "info", "warn" or "error" (exactly, lowercase).
 * Returns LOG_OK or LOG_ERR_BAD_LEVEL with a message quoting the text. */
WUR enum log_result log_level_parse(enum log_level *level_out, const char *text, struct err *e);

/* "debug", "info", "warn" or "error". */
const char *log_level_name(enum log_level level);

/* Writes one line: ts, level, svc, msg, then kvs[0..kvs_len) in order.
 * kvs may be NULL when kvs_len is 0. Nothing is formatted when the level is
 * filtered. Write errors on the stream are ignored (logging never fails). */
void log_write(const struct logger *lg, enum log_level level, const char *msg,
               const struct log_kv *kvs, size_t kvs_len);

/* Like log_write with no pairs, msg built with printf formatting (only after
 * the level check). The formatted message is cut at LOG_VALUE_BYTES_MAX. */
void log_printf(const struct logger *lg, enum log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Pair constructors: log_write(lg, LOG_INFO, "paid", LOG_KVS(log_str("tx", h),
 * log_u64("block", n))). */
static inline struct log_kv log_str(const char *key, const char *value)
{
    struct log_kv kv = {.key = key, .type = LOG_KV_STR, .v.s = value};
    return kv;
}
static inline struct log_kv log_i64(const char *key, int64_t value)
{
    struct log_kv kv = {.key = key, .type = LOG_KV_I64, .v.i = value};
    return kv;
}
static inline struct log_kv log_u64(const char *key, uint64_t value)
{
    struct log_kv kv = {.key = key, .type = LOG_KV_U64, .v.u = value};
    return kv;
}
static inline struct log_kv log_bool(const char *key, bool value)
{
    struct log_kv kv = {.key = key, .type = LOG_KV_BOOL, .v.b = value};
    return kv;
}

/* Expands to "array, count" for log_write's last two arguments. */
#define LOG_KVS(...)                                                                               \
    (const struct log_kv[]){__VA_ARGS__},                                                          \
        (sizeof((const struct log_kv[]){__VA_ARGS__}) / sizeof(struct log_kv))

#endif
