/* test_log.c - exact logfmt output: escaping, level filtering, limits. */
#include "harness.h"
#include "log.h"

#include <string.h>
#include <unistd.h>

static void test_clock(struct timespec *now);
static size_t test_read_all(FILE *f, char *out, size_t out_cap);
static FILE *test_logger(struct logger *lg, enum log_level level_min);

/* 2026-01-02T03:04:05.678Z */
static void test_clock(struct timespec *now)
{
    now->tv_sec = 1767323045;
    now->tv_nsec = 678999999;
}

static size_t test_read_all(FILE *f, char *out, size_t out_cap)
{
    fflush(f);
    rewind(f);
    size_t n = fread(out, 1, out_cap - 1, f);
    out[n] = '\0';
    rewind(f);
    if (ftruncate(fileno(f), 0) != 0)
        abort();
    return n;
}

static FILE *test_logger(struct logger *lg, enum log_level level_min)
{
    FILE *f = tmpfile();
    if (f == NULL)
        abort();
    log_init(lg, f, "gateway", level_min);
    lg->clock_fn = test_clock;
    return f;
}

#define TS "ts=2026-01-02T03:04:05.678Z "

static void test_basic_line(void)
{
    struct logger lg;
    FILE *f = test_logger(&lg, LOG_DEBUG);
    char got[LOG_LINE_BYTES_MAX * 2];
    log_write(&lg, LOG_INFO, "listening",
              LOG_KVS(log_str("addr", "127.0.0.1:8080"), log_u64("port", 8080),
                      log_i64("delta", -5), log_bool("tls", false), log_bool("ok", true),
                      log_u64("max", UINT64_MAX), log_i64("min", INT64_MIN)));
    test_read_all(f, got, sizeof got);
    CHECK_STR(got, TS "level=info svc=gateway msg=\"listening\" addr=127.0.0.1:8080 port=8080 "
                      "delta=-5 tls=false ok=true max=18446744073709551615 "
                      "min=-9223372036854775808\n");
    log_write(&lg, LOG_ERROR, "no pairs", NULL, 0);
    test_read_all(f, got, sizeof got);
    CHECK_STR(got, TS "level=error svc=gateway msg=\"no pairs\"\n");
    log_printf(&lg, LOG_WARN, "block %d of %s", 7, "chain");
    test_read_all(f, got, sizeof got);
    CHECK_STR(got, TS "level=warn svc=gateway msg=\"block 7 of chain\"\n");
    fclose(f);
}

static void test_escaping(void)
{
    struct logger lg;
    FILE *f = test_logger(&lg, LOG_DEBUG);
    char got[LOG_LINE_BYTES_MAX * 2];
    log_write(&lg, LOG_INFO, "esc",
              LOG_KVS(log_str("space", "a b"), log_str("quote", "say \"hi\""), log_str("eq", "k=v"),
                      log_str("bs", "c:\\dir"), log_str("nl", "l1\nl2"),
                      log_str("ctl", "\r\t\x01\x1f\x7f"), log_str("empty", ""),
                      log_str("null", NULL), log_str("utf8", "caf\xc3\xa9"),
                      log_str("bad", "x\xff\xc3"), log_str("plain", "0xAbC-1.2_3/4:5")));
    test_read_all(f, got, sizeof got);
    CHECK_STR(got, TS "level=info svc=gateway msg=\"esc\" space=\"a b\" quote=\"say \\\"hi\\\"\" "
                      "eq=\"k=v\" bs=\"c:\\\\dir\" nl=\"l1\\nl2\" "
                      "ctl=\"\\r\\t\\u0001\\u001f\\u007f\" empty=\"\" null=\"\" "
                      "utf8=\"caf\xc3\xa9\" bad=\"x\\xff\\xc3\" plain=0xAbC-1.2_3/4:5\n");
    /* A message cannot inject a second line or a fake pair. */
    log_write(&lg, LOG_WARN, "x\" level=error fake=\"1\nts=", NULL, 0);
    test_read_all(f, got, sizeof got);
    CHECK_STR(got, TS "level=warn svc=gateway msg=\"x\\\" level=error fake=\\\"1\\nts=\"\n");
    /* Overlong and surrogate UTF-8 encodings are escaped byte by byte. */
    log_write(&lg, LOG_INFO, "u",
              LOG_KVS(log_str("overlong", "\xc0\xaf"), log_str("surrogate", "\xed\xa0\x80"),
                      log_str("four", "\xf0\x9f\x98\x80")));
    test_read_all(f, got, sizeof got);
    CHECK_STR(got, TS "level=info svc=gateway msg=\"u\" overlong=\"\\xc0\\xaf\" "
                      "surrogate=\"\\xed\\xa0\\x80\" four=\"\xf0\x9f\x98\x80\"\n");
    fclose(f);
}

static void test_keys_and_svc(void)
{
    struct logger lg;
    FILE *f = test_logger(&lg, LOG_DEBUG);
    log_init(&lg, f, "my svc", LOG_DEBUG);
    lg.clock_fn = test_clock;
    char got[LOG_LINE_BYTES_MAX * 2];
    log_write(&lg, LOG_DEBUG, "k",
              LOG_KVS(log_str("bad key=\"x\"", "v"), log_str("", "w"), log_u64("a.b-c_d", 1)));
    test_read_all(f, got, sizeof got);
    CHECK_STR(got, TS "level=debug svc=\"my svc\" msg=\"k\" bad_key__x_=v _=w a.b-c_d=1\n");
    fclose(f);
}

static void test_level_filtering(void)
{
    struct logger lg;
    FILE *f = test_logger(&lg, LOG_WARN);
    char got[LOG_LINE_BYTES_MAX * 2];
    CHECK(!log_enabled(&lg, LOG_DEBUG));
    CHECK(!log_enabled(&lg, LOG_INFO));
    CHECK(log_enabled(&lg, LOG_WARN));
    CHECK(log_enabled(&lg, LOG_ERROR));
    log_write(&lg, LOG_DEBUG, "d", NULL, 0);
    log_write(&lg, LOG_INFO, "i", LOG_KVS(log_str("k", "v")));
    log_printf(&lg, LOG_INFO, "i %d", 1);
    log_write(&lg, LOG_WARN, "w", NULL, 0);
    log_printf(&lg, LOG_ERROR, "e %d", 2);
    test_read_all(f, got, sizeof got);
    CHECK_STR(got,
              TS "level=warn svc=gateway msg=\"w\"\n" TS "level=error svc=gateway msg=\"e 2\"\n");
    log_set_level(&lg, LOG_DEBUG);
    log_write(&lg, LOG_DEBUG, "d", NULL, 0);
    test_read_all(f, got, sizeof got);
    CHECK_STR(got, TS "level=debug svc=gateway msg=\"d\"\n");
    log_set_level(&lg, LOG_ERROR);
    log_write(&lg, LOG_WARN, "w", NULL, 0);
    CHECK_INT(test_read_all(f, got, sizeof got), 0);
    fclose(f);
}

static void test_level_parse(void)
{
    enum log_level lv = LOG_ERROR;
    struct err e = {0};
    CHECK_INT(log_level_parse(&lv, "debug", &e), LOG_OK);
    CHECK_INT(lv, LOG_DEBUG);
    CHECK_INT(log_level_parse(&lv, "warn", &e), LOG_OK);
    CHECK_INT(lv, LOG_WARN);
    CHECK_INT(log_level_parse(&lv, "error", &e), LOG_OK);
    CHECK_INT(lv, LOG_ERROR);
    CHECK_INT(log_level_parse(&lv, "info", &e), LOG_OK);
    CHECK_INT(lv, LOG_INFO);
    CHECK_INT(log_level_parse(&lv, "INFO", &e), LOG_ERR_BAD_LEVEL);
    CHECK_INT(e.code, LOG_ERR_BAD_LEVEL);
    CHECK_STR(e.msg, "invalid log level 'INFO': want debug|info|warn|error");
    CHECK_INT(log_level_parse(&lv, "", &e), LOG_ERR_BAD_LEVEL);
    CHECK_INT(lv, LOG_INFO); /* unchanged on failure */
    CHECK_STR(log_level_name(LOG_WARN), "warn");
}

static void test_value_limit(void)
{
    struct logger lg;
    FILE *f = test_logger(&lg, LOG_DEBUG);
    static char big[LOG_VALUE_BYTES_MAX + 10];
    memset(big, 'v', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    static char got[LOG_LINE_BYTES_MAX * 2];
    log_write(&lg, LOG_INFO, "m", LOG_KVS(log_str("big", big), log_u64("after", 1)));
    size_t n = test_read_all(f, got, sizeof got);
    char want[LOG_LINE_BYTES_MAX * 2];
    int m = snprintf(want, sizeof want,
                     TS "level=info svc=gateway msg=\"m\" big=%.*s after=1 truncated=true\n",
                     LOG_VALUE_BYTES_MAX, big);
    CHECK(m > 0);
    CHECK_STR(got, want);
    CHECK_INT(n, (size_t)m);
    /* A printf message longer than the value limit is cut and marked. */
    log_printf(&lg, LOG_INFO, "%s", big);
    test_read_all(f, got, sizeof got);
    snprintf(want, sizeof want, TS "level=info svc=gateway msg=\"%.*s\" truncated=true\n",
             LOG_VALUE_BYTES_MAX, big);
    CHECK_STR(got, want);
    fclose(f);
}

static void test_line_limit(void)
{
    struct logger lg;
    FILE *f = test_logger(&lg, LOG_DEBUG);
    static char val[LOG_VALUE_BYTES_MAX + 1];
    memset(val, '"', sizeof val - 1); /* every byte escapes to two */
    val[sizeof val - 1] = '\0';
    struct log_kv kvs[8];
    for (size_t i = 0; i < 8; i++)
        kvs[i] = log_str("k", val);
    static char got[LOG_LINE_BYTES_MAX * 4];
    log_write(&lg, LOG_INFO, "m", kvs, 8);
    size_t n = test_read_all(f, got, sizeof got);
    CHECK(n <= LOG_LINE_BYTES_MAX);
    CHECK(n > LOG_LINE_BYTES_MAX - 32);
    const char *tail = "\" truncated=true\n";
    CHECK(n > strlen(tail) && strcmp(got + n - strlen(tail), tail) == 0);
    CHECK(strchr(got, '\n') == got + n - 1);
    /* The cut never splits an escape: the byte before the closing quote is a
     * complete \" pair. */
    CHECK(got[n - strlen(tail) - 1] == '"' && got[n - strlen(tail) - 2] == '\\');
    fclose(f);
}

static void test_kvs_limit(void)
{
    struct logger lg;
    FILE *f = test_logger(&lg, LOG_DEBUG);
    struct log_kv kvs[LOG_KVS_MAX + 1];
    for (size_t i = 0; i < LOG_KVS_MAX + 1; i++)
        kvs[i] = log_u64("n", i);
    static char got[LOG_LINE_BYTES_MAX * 2];
    log_write(&lg, LOG_INFO, "m", kvs, LOG_KVS_MAX);
    test_read_all(f, got, sizeof got);
    CHECK(strstr(got, " n=31\n") != NULL);
    CHECK(strstr(got, "truncated") == NULL);
    log_write(&lg, LOG_INFO, "m", kvs, LOG_KVS_MAX + 1);
    test_read_all(f, got, sizeof got);
    CHECK(strstr(got, " n=31 truncated=true\n") != NULL);
    CHECK(strstr(got, "n=32") == NULL);
    fclose(f);
}

int main(void)
{
    RUN(test_basic_line);
    RUN(test_escaping);
    RUN(test_keys_and_svc);
    RUN(test_level_filtering);
    RUN(test_level_parse);
    RUN(test_value_limit);
    RUN(test_line_limit);
    RUN(test_kvs_limit);
    return harness_finish();
}
