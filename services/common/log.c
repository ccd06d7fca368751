/* log.c - see log.h. Formats one logfmt line into a stack buffer, then writes
 * it with a single fwrite so concurrent lines never interleave. */
#include "log.h"

#include <inttypes.h>
#include <stdarg.h>
#include <string.h>

#define LOG_SUFFIX_TRUNCATED " truncated=true"
/* Bytes kept free at the end of the line for a closing quote, the
 * truncation marker and the newline. */
#define LOG_RESERVE_BYTES (1 + sizeof(LOG_SUFFIX_TRUNCATED) - 1 + 1)

static const char *const log_level_names[LOG_LEVEL_COUNT] = {"debug", "info", "warn", "error"};

struct log_line {
    char buf[LOG_LINE_BYTES_MAX];
    size_t len;
    bool full; /* no more room: every later append is refused */
    bool cut;  /* something was shortened or dropped; add the marker */
};

static bool log_put(struct log_line *l, const char *s, size_t n);
static void log_put_key(struct log_line *l, const char *key);
static void log_put_value(struct log_line *l, const char *s, bool force_quote);
static bool log_needs_quote(const char *s, size_t n);
static size_t log_utf8_len(const uint8_t *p, size_t n);
static void log_put_quoted(struct log_line *l, const char *s, size_t n);
static void log_put_ts(struct log_line *l, const struct logger *lg);
static void log_put_kv(struct log_line *l, const struct log_kv *kv);
static void log_emit(const struct logger *lg, enum log_level level, const char *msg, bool msg_cut,
                     const struct log_kv *kvs, size_t kvs_len);

void log_init(struct logger *lg, FILE *out, const char *svc, enum log_level level_min)
{
    ASSERT(lg != NULL && out != NULL && svc != NULL);
    ASSERT((unsigned)level_min < LOG_LEVEL_COUNT);
    lg->out = out;
    lg->level_min = level_min;
    size_t n = strnlen(svc, LOG_SVC_BYTES_MAX);
    memcpy(lg->svc, svc, n);
    lg->svc[n] = '\0';
    lg->clock_fn = NULL;
}

void log_set_level(struct logger *lg, enum log_level level_min)
{
    ASSERT(lg != NULL && (unsigned)level_min < LOG_LEVEL_COUNT);
    lg->level_min = level_min;
}

bool log_enabled(const struct logger *lg, enum log_level level)
{
    return lg != NULL && level >= lg->level_min;
}

enum log_result log_level_parse(enum log_level *level_out, const char *text, struct err *e)
{
    ASSERT(level_out != NULL && text != NULL);
    for (unsigned i = 0; i < LOG_LEVEL_COUNT; i++) {
        if (strcmp(text, log_level_names[i]) == 0) {
            *level_out = (enum log_level)i;
            return LOG_OK;
        }
    }
    return err_set(e, LOG_ERR_BAD_LEVEL, "invalid log level '%.40s': want debug|info|warn|error",
                   text);
}

const char *log_level_name(enum log_level level)
{
    ASSERT((unsigned)level < LOG_LEVEL_COUNT);
    return log_level_names[level];
}

/* Appends n bytes if they fit before the reserve; otherwise marks the line
 * truncated and refuses this and every later append. */
static bool log_put(struct log_line *l, const char *s, size_t n)
{
    if (l->full || n > sizeof l->buf - LOG_RESERVE_BYTES - l->len) {
        l->full = true;
        l->cut = true;
        return false;
    }
    memcpy(l->buf + l->len, s, n);
    l->len += n;
    return true;
}

static void log_put_key(struct log_line *l, const char *key)
{
    char k[64];
    size_t n = 0;
    for (; key != NULL && key[n] != '\0' && n < sizeof k; n++) {
        unsigned char c = (unsigned char)key[n];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '.' || c == '-';
        k[n] = ok ? (char)c : '_';
    }
    if (n == 0)
        k[n++] = '_';
    log_put(l, " ", 1);
    log_put(l, k, n);
    log_put(l, "=", 1);
}

static bool log_needs_quote(const char *s, size_t n)
{
    if (n == 0)
        return true;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c <= ' ' || c >= 0x7f || c == '"' || c == '=' || c == '\\')
            return true;
    }
    return false;
}

/* Length of a valid UTF-8 sequence at p (2..4), or 0 when invalid. */
static size_t log_utf8_len(const uint8_t *p, size_t n)
{
    uint8_t c = p[0];
    size_t len;
    uint8_t lo = 0x80, hi = 0xbf; /* allowed range of the second byte */
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        lo = c == 0xe0 ? 0xa0 : 0x80;
        hi = c == 0xed ? 0x9f : 0xbf;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        lo = c == 0xf0 ? 0x90 : 0x80;
        hi = c == 0xf4 ? 0x8f : 0xbf;
    } else {
        return 0;
    }
    if (len > n || p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if (p[i] < 0x80 || p[i] > 0xbf)
            return 0;
    return len;
}

static void log_put_quoted(struct log_line *l, const char *s, size_t n)
{
    const uint8_t *p = (const uint8_t *)s;
    log_put(l, "\"", 1);
    for (size_t i = 0; i < n && !l->full;) {
        uint8_t c = p[i];
        char esc[8];
        if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)c;
            log_put(l, esc, 2);
        } else if (c == '\n') {
            log_put(l, "\\n", 2);
        } else if (c == '\r') {
            log_put(l, "\\r", 2);
        } else if (c == '\t') {
            log_put(l, "\\t", 2);
        } else if (c < 0x20 || c == 0x7f) {
            int m = snprintf(esc, sizeof esc, "\\u%04x", (unsigned)c);
            ASSERT(m == 6);
            log_put(l, esc, 6);
        } else if (c < 0x80) {
            log_put(l, (const char *)p + i, 1);
        } else {
            size_t u = log_utf8_len(p + i, n - i);
            if (u > 0) {
                log_put(l, (const char *)p + i, u);
                i += u;
                continue;
            }
            int m = snprintf(esc, sizeof esc, "\\x%02x", (unsigned)c);
            ASSERT(m == 4);
            log_put(l, esc, 4);
        }
        i++;
    }
    /* The closing quote always fits: it comes out of the reserve. */
    ASSERT(l->len < sizeof l->buf);
    l->buf[l->len++] = '"';
}

static void log_put_value(struct log_line *l, const char *s, bool force_quote)
{
    if (s == NULL)
        s = "";
    size_t n = strnlen(s, LOG_VALUE_BYTES_MAX + 1);
    bool cut = n > LOG_VALUE_BYTES_MAX;
    if (cut)
        n = LOG_VALUE_BYTES_MAX;
    if (force_quote || log_needs_quote(s, n))
        log_put_quoted(l, s, n);
    else
        log_put(l, s, n);
    if (cut)
        l->cut = true;
}

static void log_put_ts(struct log_line *l, const struct logger *lg)
{
    struct timespec now = {0, 0};
    if (lg->clock_fn != NULL)
        lg->clock_fn(&now);
    else
        clock_gettime(CLOCK_REALTIME, &now);
    struct tm tm;
    char ts[48];
    size_t n = 0;
    if (gmtime_r(&now.tv_sec, &tm) != NULL)
        n = strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
    int m = snprintf(ts + n, sizeof ts - n, ".%03ldZ", (long)(now.tv_nsec / 1000000));
    ASSERT(m > 0 && (size_t)m < sizeof ts - n);
    log_put(l, "ts=", 3);
    log_put(l, ts, n + (size_t)m);
}

static void log_put_kv(struct log_line *l, const struct log_kv *kv)
{
    char num[32];
    int m = 0;
    log_put_key(l, kv->key);
    switch (kv->type) {
    case LOG_KV_STR:
        log_put_value(l, kv->v.s, false);
        return;
    case LOG_KV_I64:
        m = snprintf(num, sizeof num, "%" PRId64, kv->v.i);
        break;
    case LOG_KV_U64:
        m = snprintf(num, sizeof num, "%" PRIu64, kv->v.u);
        break;
    case LOG_KV_BOOL:
        m = snprintf(num, sizeof num, "%s", kv->v.b ? "true" : "false");
        break;
    default:
        ASSERT(!"unknown log_kv type");
    }
    ASSERT(m > 0 && (size_t)m < sizeof num);
    log_put(l, num, (size_t)m);
}

static void log_emit(const struct logger *lg, enum log_level level, const char *msg, bool msg_cut,
                     const struct log_kv *kvs, size_t kvs_len)
{
    struct log_line l;
    l.len = 0;
    l.full = false;
    l.cut = msg_cut;
    log_put_ts(&l, lg);
    log_put(&l, " level=", 7);
    log_put(&l, log_level_names[level], strlen(log_level_names[level]));
    log_put(&l, " svc=", 5);
    log_put_value(&l, lg->svc, false);
    log_put(&l, " msg=", 5);
    log_put_value(&l, msg, true);
    if (kvs_len > LOG_KVS_MAX) {
        kvs_len = LOG_KVS_MAX;
        l.cut = true;
    }
    for (size_t i = 0; i < kvs_len && !l.full; i++)
        log_put_kv(&l, &kvs[i]);
    if (l.cut) {
        size_t n = sizeof(LOG_SUFFIX_TRUNCATED) - 1;
        ASSERT(l.len + n + 1 <= sizeof l.buf);
        memcpy(l.buf + l.len, LOG_SUFFIX_TRUNCATED, n);
        l.len += n;
    }
    ASSERT(l.len < sizeof l.buf);
    l.buf[l.len++] = '\n';
    (void)fwrite(l.buf, 1, l.len, lg->out);
    (void)fflush(lg->out);
}

void log_write(const struct logger *lg, enum log_level level, const char *msg,
               const struct log_kv *kvs, size_t kvs_len)
{
    ASSERT(lg != NULL);
    ASSERT((unsigned)level < LOG_LEVEL_COUNT);
    ASSERT(kvs != NULL || kvs_len == 0);
    if (level < lg->level_min)
        return;
    log_emit(lg, level, msg, false, kvs, kvs_len);
}

void log_printf(const struct logger *lg, enum log_level level, const char *fmt, ...)
{
    ASSERT(lg != NULL && fmt != NULL);
    ASSERT((unsigned)level < LOG_LEVEL_COUNT);
    if (level < lg->level_min)
        return;
    char msg[LOG_VALUE_BYTES_MAX + 1];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (n < 0)
        msg[0] = '\0';
    log_emit(lg, level, msg, n >= (int)sizeof msg, NULL, 0);
}
