/* test_config.c - the config table: defaults, every type's parse errors with
 * exact codes, bounds, all bad variables reported at once, key files. */
#include "config.h"
#include "harness.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char test_dir[256];

static void test_make_dir(void);
static void test_write_file(const char *path, const char *text, mode_t mode);

static void test_make_dir(void)
{
    snprintf(test_dir, sizeof test_dir, "/tmp/test_config_XXXXXX");
    if (mkdtemp(test_dir) == NULL)
        abort();
}

static void test_write_file(const char *path, const char *text, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0)
        abort();
    size_t len = strlen(text);
    if (write(fd, text, len) != (ssize_t)len)
        abort();
    if (fchmod(fd, mode) != 0)
        abort();
    close(fd);
}

/* ---- the project table ------------------------------------------------------ */

static void test_app_defaults(void)
{
    char *env[] = {"DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres", "UNRELATED=1",
                   NULL};
    struct app_config cfg;
    struct config_errors errs;
    CHECK_INT(config_load_app(&cfg, config_lookup_envp, env, &errs), CONFIG_OK);
    CHECK_INT(errs.count, 0);
    CHECK_STR(cfg.database_url, "postgresql://postgres@127.0.0.1:5432/postgres");
    CHECK_STR(cfg.eth_rpc_url, "http://127.0.0.1:8545");
    CHECK_INT(cfg.chain_id, 31337);
    CHECK(!cfg.vault_address_set);
    CHECK_STR(cfg.operator_key_file, "var/operator.key");
    CHECK_STR(cfg.auth_secret_file, "var/auth.secret");
    CHECK_STR(cfg.siwe_domain, "localhost:8080");
    CHECK_INT(cfg.confirmations, 2);
    CHECK_STR(cfg.media_dir, "var/media");
    CHECK_STR(cfg.gateway_listen, "127.0.0.1:8080");
    CHECK_STR(cfg.settlement_listen, "127.0.0.1:8081");
    CHECK_INT(cfg.log_level, LOG_INFO);
    CHECK_INT(cfg.max_fee_per_gas_wei, 500000000000ULL); /* 500 gwei */
    CHECK_INT(cfg.max_fee_per_gas_wei, CONFIG_MAX_FEE_PER_GAS_WEI_DEFAULT);
}

static void test_app_all_set(void)
{
    char *env[] = {"DATABASE_URL=host=/tmp dbname=rights",
                   "ETH_RPC_URL=https://rpc.example.org/v1?key=abc",
                   "CHAIN_ID=9007199254740992",
                   "VAULT_ADDRESS=0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
                   "OPERATOR_KEY_FILE=/run/secrets/op",
                   "AUTH_SECRET_FILE=/run/secrets/auth",
                   "SIWE_DOMAIN=example.org",
                   "CONFIRMATIONS=1000",
                   "MEDIA_DIR=/srv/media",
                   "GATEWAY_LISTEN=0.0.0.0:80",
                   "SETTLEMENT_LISTEN=[::1]:65535",
                   "LOG_LEVEL=debug",
                   "MAX_FEE_PER_GAS_WEI=123000000001",
                   NULL};
    struct app_config cfg;
    struct config_errors errs;
    CHECK_INT(config_load_app(&cfg, config_lookup_envp, env, &errs), CONFIG_OK);
    CHECK_INT(errs.count, 0);
    CHECK_STR(cfg.database_url, "host=/tmp dbname=rights");
    CHECK_STR(cfg.eth_rpc_url, "https://rpc.example.org/v1?key=abc");
    CHECK_INT(cfg.chain_id, 9007199254740992ULL);
    CHECK(cfg.vault_address_set);
    const uint8_t want[20] = {0xf3, 0x9f, 0xd6, 0xe5, 0x1a, 0xad, 0x88, 0xf6, 0xf4, 0xce,
                              0x6a, 0xb8, 0x82, 0x72, 0x79, 0xcf, 0xff, 0xb9, 0x22, 0x66};
    CHECK_MEM(cfg.vault_address, want, 20);
    CHECK_STR(cfg.operator_key_file, "/run/secrets/op");
    CHECK_STR(cfg.auth_secret_file, "/run/secrets/auth");
    CHECK_STR(cfg.siwe_domain, "example.org");
    CHECK_INT(cfg.confirmations, 1000);
    CHECK_STR(cfg.media_dir, "/srv/media");
    CHECK_STR(cfg.gateway_listen, "0.0.0.0:80");
    CHECK_STR(cfg.settlement_listen, "[::1]:65535");
    CHECK_INT(cfg.log_level, LOG_DEBUG);
    CHECK_INT(cfg.max_fee_per_gas_wei, 123000000001ULL);
}

static void test_app_missing_and_empty(void)
{
    char *env_none[] = {NULL};
    char *env_empty[] = {"DATABASE_URL=", NULL};
    struct app_config cfg;
    struct config_errors errs;
    CHECK_INT(config_load_app(&cfg, config_lookup_envp, env_none, &errs), CONFIG_ERR_INVALID);
    CHECK_INT(errs.count, 1);
    CHECK_STR(errs.items[0].name, "DATABASE_URL");
    CHECK_INT(errs.items[0].e.code, CONFIG_ERR_MISSING);
    CHECK_STR(errs.items[0].e.msg, "missing required variable DATABASE_URL");
    /* An empty value counts as unset. */
    CHECK_INT(config_load_app(&cfg, config_lookup_envp, env_empty, &errs), CONFIG_ERR_INVALID);
    CHECK_INT(errs.count, 1);
    CHECK_INT(errs.items[0].e.code, CONFIG_ERR_MISSING);
    /* The other variables still got their defaults. */
    CHECK_INT(cfg.chain_id, 31337);
}

/* Only the named variables are read: an unset DATABASE_URL is no error when
 * it is not asked for, a bad CHAIN_ID is, and the rest stay zero. */
static void test_app_names(void)
{
    char *env[] = {"CHAIN_ID=5", "WEB_DIR=/srv/web", "LOG_LEVEL=nonsense", NULL};
    char *env_bad[] = {"CHAIN_ID=0", NULL};
    static const char *const names[] = {"CHAIN_ID", "WEB_DIR", "MEDIA_DIR", NULL};
    struct app_config cfg;
    struct config_errors errs;
    CHECK_INT(config_load_app_names(&cfg, names, config_lookup_envp, env, &errs), CONFIG_OK);
    CHECK_INT(cfg.chain_id, 5);
    CHECK_STR(cfg.web_dir, "/srv/web");
    CHECK_STR(cfg.media_dir, "var/media"); /* its default */
    CHECK_STR(cfg.database_url, "");       /* not asked for */
    CHECK_INT(config_load_app_names(&cfg, names, config_lookup_envp, env_bad, &errs),
              CONFIG_ERR_INVALID);
    CHECK_INT(errs.count, 1);
    CHECK_STR(errs.items[0].name, "CHAIN_ID");
    char *env_none[] = {NULL};
    CHECK_INT(config_load_app(&cfg, config_lookup_envp, env_none, &errs), CONFIG_ERR_INVALID);
    CHECK_STR(cfg.web_dir, "services/gateway/web");
}

static void test_app_bounds(void)
{
    struct {
        const char *var;
        int code;
        const char *msg;
    } cases[] = {
        {"CHAIN_ID=0", CONFIG_ERR_OUT_OF_RANGE, "invalid CHAIN_ID '0': below minimum 1"},
        {"CHAIN_ID=1", CONFIG_OK, ""},
        {"CHAIN_ID=9007199254740992", CONFIG_OK, ""},
        {"CHAIN_ID=9007199254740993", CONFIG_ERR_OUT_OF_RANGE,
         "invalid CHAIN_ID '9007199254740993': above maximum 9007199254740992"},
        {"CHAIN_ID=18446744073709551616", CONFIG_ERR_OUT_OF_RANGE,
         "invalid CHAIN_ID '18446744073709551616': does not fit in 64 bits"},
        {"CHAIN_ID=0x7a69", CONFIG_ERR_NOT_NUMBER,
         "invalid CHAIN_ID '0x7a69': not a decimal integer"},
        {"CONFIRMATIONS=0", CONFIG_OK, ""},
        {"CONFIRMATIONS=1000", CONFIG_OK, ""},
        {"CONFIRMATIONS=1001", CONFIG_ERR_OUT_OF_RANGE,
         "invalid CONFIRMATIONS '1001': above maximum 1000"},
        {"CONFIRMATIONS=-1", CONFIG_ERR_NOT_NUMBER,
         "invalid CONFIRMATIONS '-1': not a decimal integer"},
        {"GATEWAY_LISTEN=127.0.0.1:0", CONFIG_ERR_BAD_HOSTPORT,
         "invalid GATEWAY_LISTEN '127.0.0.1:0': port must be 1..65535"},
        {"GATEWAY_LISTEN=127.0.0.1:65536", CONFIG_ERR_BAD_HOSTPORT,
         "invalid GATEWAY_LISTEN '127.0.0.1:65536': port must be 1..65535"},
        {"GATEWAY_LISTEN=8080", CONFIG_ERR_BAD_HOSTPORT,
         "invalid GATEWAY_LISTEN '8080': want host:port"},
        {"GATEWAY_LISTEN=:8080", CONFIG_ERR_BAD_HOSTPORT,
         "invalid GATEWAY_LISTEN ':8080': host must be 1..253 bytes"},
        {"GATEWAY_LISTEN=a_b:1", CONFIG_ERR_BAD_HOSTPORT,
         "invalid GATEWAY_LISTEN 'a_b:1': bad character in host"},
        {"ETH_RPC_URL=ws://127.0.0.1:8545", CONFIG_ERR_BAD_SCHEME,
         "invalid ETH_RPC_URL 'ws://127.0.0.1:8545': scheme 'ws' not allowed"},
        {"LOG_LEVEL=verbose", CONFIG_ERR_BAD_LOG_LEVEL,
         "invalid LOG_LEVEL 'verbose': want debug|info|warn|error"},
        {"VAULT_ADDRESS=0xF39FD6E51AAD88F6F4CE6AB8827279CFFFB92266", CONFIG_OK, ""},
        {"VAULT_ADDRESS=0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266", CONFIG_OK, ""},
        {"VAULT_ADDRESS=0xF39fd6e51aad88F6F4ce6aB8827279cffFb92266", CONFIG_ERR_BAD_CHECKSUM,
         "invalid VAULT_ADDRESS '0xF39fd6e51aad88F6F4ce6aB8827279cffFb92266': mixed-case address "
         "fails the eip-55 checksum"},
        {"MAX_FEE_PER_GAS_WEI=1", CONFIG_OK, ""},
        {"MAX_FEE_PER_GAS_WEI=1000000000000000", CONFIG_OK, ""},
        {"MAX_FEE_PER_GAS_WEI=0", CONFIG_ERR_OUT_OF_RANGE,
         "invalid MAX_FEE_PER_GAS_WEI '0': below minimum 1"},
        {"MAX_FEE_PER_GAS_WEI=1000000000000001", CONFIG_ERR_OUT_OF_RANGE,
         "invalid MAX_FEE_PER_GAS_WEI '1000000000000001': above maximum 1000000000000000"},
        {"MAX_FEE_PER_GAS_WEI=500gwei", CONFIG_ERR_NOT_NUMBER,
         "invalid MAX_FEE_PER_GAS_WEI '500gwei': not a decimal integer"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *env[] = {"DATABASE_URL=x", (char *)cases[i].var, NULL};
        struct app_config cfg;
        struct config_errors errs;
        enum config_result r = config_load_app(&cfg, config_lookup_envp, env, &errs);
        CHECK_MSG(r == (cases[i].code == CONFIG_OK ? CONFIG_OK : CONFIG_ERR_INVALID), "case %s",
                  cases[i].var);
        if (cases[i].code == CONFIG_OK) {
            CHECK_INT(errs.count, 0);
            continue;
        }
        CHECK_INT(errs.count, 1);
        CHECK_MSG(errs.items[0].e.code == cases[i].code, "case %s: code %d", cases[i].var,
                  errs.items[0].e.code);
        CHECK_STR(errs.items[0].e.msg, cases[i].msg);
    }
}

/* Every bad variable is reported in one pass, in table order. */
static void test_app_many_bad_at_once(void)
{
    char *env[] = {"CHAIN_ID=abc",
                   "VAULT_ADDRESS=0x1234",
                   "CONFIRMATIONS=5000",
                   "ETH_RPC_URL=ftp://host/x",
                   "SETTLEMENT_LISTEN=localhost",
                   "LOG_LEVEL=loud",
                   "MEDIA_DIR=/srv/media",
                   NULL};
    struct app_config cfg;
    struct config_errors errs;
    CHECK_INT(config_load_app(&cfg, config_lookup_envp, env, &errs), CONFIG_ERR_INVALID);
    CHECK_INT(errs.count, 7);
    const char *names[] = {"DATABASE_URL",  "ETH_RPC_URL",       "CHAIN_ID", "VAULT_ADDRESS",
                           "CONFIRMATIONS", "SETTLEMENT_LISTEN", "LOG_LEVEL"};
    const int codes[] = {CONFIG_ERR_MISSING,      CONFIG_ERR_BAD_SCHEME,   CONFIG_ERR_NOT_NUMBER,
                         CONFIG_ERR_BAD_ADDRESS,  CONFIG_ERR_OUT_OF_RANGE, CONFIG_ERR_BAD_HOSTPORT,
                         CONFIG_ERR_BAD_LOG_LEVEL};
    for (size_t i = 0; i < 7 && i < errs.count; i++) {
        CHECK_STR(errs.items[i].name, names[i]);
        CHECK_INT(errs.items[i].e.code, codes[i]);
    }
    CHECK_STR(errs.items[3].e.msg, "invalid VAULT_ADDRESS '0x1234': want 0x and 40 hex digits");
    CHECK_STR(cfg.media_dir, "/srv/media"); /* valid entries are still stored */
    CHECK(!cfg.vault_address_set);

    /* config_errors_log writes one logfmt line per error. */
    FILE *f = tmpfile();
    struct logger lg;
    log_init(&lg, f, "test", LOG_INFO);
    config_errors_log(&errs, &lg);
    fflush(f);
    rewind(f);
    char line[512];
    int lines = 0;
    while (fgets(line, sizeof line, f) != NULL) {
        lines++;
        CHECK(strstr(line, " level=error svc=test msg=\"invalid configuration\" var=") != NULL);
    }
    CHECK_INT(lines, 7);
    fclose(f);
}

/* A secret entry never echoes its value. */
static void test_secret_not_quoted(void)
{
    char *env[] = {"DATABASE_URL=postgresql://u:hunter2@h/db\x01", NULL};
    struct app_config cfg;
    struct config_errors errs;
    CHECK_INT(config_load_app(&cfg, config_lookup_envp, env, &errs), CONFIG_ERR_INVALID);
    CHECK_INT(errs.count, 1);
    CHECK_INT(errs.items[0].e.code, CONFIG_ERR_BAD_CHAR);
    CHECK_STR(errs.items[0].e.msg,
              "invalid DATABASE_URL (value hidden): contains a control character");
    CHECK(strstr(errs.items[0].e.msg, "hunter2") == NULL);

    /* nor a part of it, such as a disallowed URL scheme */
    static const char *const schemes[] = {"http", "https"};
    char url[65];
    struct config_entry t = {.name = "SECRET_URL", .type = CONFIG_URL, .secret = true,
                             .max = {.u = 64}, .schemes = schemes, .schemes_len = 2,
                             .dest = url, .dest_size = sizeof url};
    char *env2[] = {"SECRET_URL=hunter2://host/x", NULL};
    CHECK_INT(config_load(&t, 1, config_lookup_envp, env2, &errs), CONFIG_ERR_INVALID);
    CHECK_INT(errs.items[0].e.code, CONFIG_ERR_BAD_SCHEME);
    CHECK(strstr(errs.items[0].e.msg, "hunter2") == NULL);
}

/* ---- every type through a custom table --------------------------------------- */

struct test_dests {
    char str[9];
    int64_t i;
    uint64_t u;
    char url[65];
    char path[33];
    uint8_t addr[20];
    bool b;
    uint64_t dur;
    char hp[65];
    enum log_level lvl;
    bool addr_set;
};

static size_t test_table(struct config_entry *t, struct test_dests *d)
{
    static const char *const schemes[] = {"http", "https"};
    size_t n = 0;
    t[n++] = (struct config_entry){.name = "S",
                                   .type = CONFIG_STRING,
                                   .min.u = 2,
                                   .max.u = 8,
                                   .dest = d->str,
                                   .dest_size = sizeof d->str};
    t[n++] = (struct config_entry){.name = "I",
                                   .type = CONFIG_INT,
                                   .min.i = -100,
                                   .max.i = 100,
                                   .dest = &d->i,
                                   .dest_size = sizeof d->i};
    t[n++] = (struct config_entry){.name = "U",
                                   .type = CONFIG_U64,
                                   .min.u = 10,
                                   .max.u = 20,
                                   .dest = &d->u,
                                   .dest_size = sizeof d->u};
    t[n++] = (struct config_entry){.name = "URL",
                                   .type = CONFIG_URL,
                                   .min.u = 1,
                                   .max.u = 64,
                                   .schemes = schemes,
                                   .schemes_len = 2,
                                   .dest = d->url,
                                   .dest_size = sizeof d->url};
    t[n++] = (struct config_entry){.name = "P",
                                   .type = CONFIG_PATH,
                                   .min.u = 1,
                                   .max.u = 32,
                                   .dest = d->path,
                                   .dest_size = sizeof d->path};
    t[n++] = (struct config_entry){.name = "A",
                                   .type = CONFIG_ADDRESS,
                                   .dest = d->addr,
                                   .dest_size = sizeof d->addr,
                                   .is_set_out = &d->addr_set};
    t[n++] = (struct config_entry){
        .name = "B", .type = CONFIG_BOOL, .dest = &d->b, .dest_size = sizeof d->b};
    t[n++] = (struct config_entry){.name = "D",
                                   .type = CONFIG_DURATION_MS,
                                   .min.u = 1,
                                   .max.u = 86400000,
                                   .dest = &d->dur,
                                   .dest_size = sizeof d->dur};
    t[n++] = (struct config_entry){.name = "H",
                                   .type = CONFIG_HOSTPORT,
                                   .min.u = 3,
                                   .max.u = 64,
                                   .dest = d->hp,
                                   .dest_size = sizeof d->hp};
    t[n++] = (struct config_entry){
        .name = "L", .type = CONFIG_LOG_LEVEL, .dest = &d->lvl, .dest_size = sizeof d->lvl};
    return n;
}

/* Loads one assignment into the custom table; returns the error code (0 = ok). */
static int test_one(const char *assignment, struct test_dests *d, char *msg, size_t msg_size)
{
    struct config_entry t[16];
    size_t n = test_table(t, d);
    char *env[] = {(char *)assignment, NULL};
    struct config_errors errs;
    enum config_result r = config_load(t, n, config_lookup_envp, env, &errs);
    if (r == CONFIG_OK)
        return 0;
    if (errs.count != 1)
        return -1;
    snprintf(msg, msg_size, "%s", errs.items[0].e.msg);
    return errs.items[0].e.code;
}

static void test_types_ok(void)
{
    struct test_dests d;
    memset(&d, 0, sizeof d);
    char msg[ERR_MSG_MAX];
    CHECK_INT(test_one("S=abcdefgh", &d, msg, sizeof msg), 0);
    CHECK_STR(d.str, "abcdefgh");
    CHECK_INT(test_one("I=-100", &d, msg, sizeof msg), 0);
    CHECK_INT(d.i, -100);
    CHECK_INT(test_one("I=100", &d, msg, sizeof msg), 0);
    CHECK_INT(d.i, 100);
    CHECK_INT(test_one("U=20", &d, msg, sizeof msg), 0);
    CHECK_INT(d.u, 20);
    CHECK_INT(test_one("URL=http://[::1]:8545/", &d, msg, sizeof msg), 0);
    CHECK_STR(d.url, "http://[::1]:8545/");
    CHECK_INT(test_one("P=relative/dir name", &d, msg, sizeof msg), 0);
    CHECK_STR(d.path, "relative/dir name");
    CHECK(!d.addr_set);
    CHECK_INT(test_one("A=0x00000000000000000000000000000000000000ff", &d, msg, sizeof msg), 0);
    CHECK(d.addr_set);
    CHECK_INT(d.addr[19], 0xff);
    const char *bools[] = {"B=true", "B=1", "B=yes", "B=on"};
    for (size_t i = 0; i < 4; i++) {
        d.b = false;
        CHECK_INT(test_one(bools[i], &d, msg, sizeof msg), 0);
        CHECK(d.b);
    }
    CHECK_INT(test_one("B=off", &d, msg, sizeof msg), 0);
    CHECK(!d.b);
    struct {
        const char *in;
        uint64_t ms;
    } durs[] = {{"D=1500", 1500},
                {"D=250ms", 250},
                {"D=30s", 30000},
                {"D=5m", 300000},
                {"D=24h", 86400000}};
    for (size_t i = 0; i < 5; i++) {
        CHECK_INT(test_one(durs[i].in, &d, msg, sizeof msg), 0);
        CHECK_INT(d.dur, durs[i].ms);
    }
    CHECK_INT(test_one("H=db.internal:5432", &d, msg, sizeof msg), 0);
    CHECK_STR(d.hp, "db.internal:5432");
    CHECK_INT(test_one("L=error", &d, msg, sizeof msg), 0);
    CHECK_INT(d.lvl, LOG_ERROR);
}

static void test_types_errors(void)
{
    struct {
        const char *in;
        int code;
        const char *msg;
    } cases[] = {
        {"S=abcdefghi", CONFIG_ERR_TOO_LONG, "invalid S 'abcdefghi': 9 bytes, maximum 8"},
        {"S=a", CONFIG_ERR_TOO_SHORT, "invalid S 'a': 1 bytes, minimum 2"},
        {"S=a\tb", CONFIG_ERR_BAD_CHAR, "invalid S 'a?b': contains a control character"},
        {"I=12a", CONFIG_ERR_NOT_NUMBER, "invalid I '12a': not a decimal integer"},
        {"I=+5", CONFIG_ERR_NOT_NUMBER, "invalid I '+5': not a decimal integer"},
        {"I=-", CONFIG_ERR_NOT_NUMBER, "invalid I '-': not a decimal integer"},
        {"I= 5", CONFIG_ERR_NOT_NUMBER, "invalid I ' 5': not a decimal integer"},
        {"I=-101", CONFIG_ERR_OUT_OF_RANGE, "invalid I '-101': below minimum -100"},
        {"I=101", CONFIG_ERR_OUT_OF_RANGE, "invalid I '101': above maximum 100"},
        {"I=9223372036854775808", CONFIG_ERR_OUT_OF_RANGE,
         "invalid I '9223372036854775808': does not fit in 64 bits"},
        {"U=9", CONFIG_ERR_OUT_OF_RANGE, "invalid U '9': below minimum 10"},
        {"U=21", CONFIG_ERR_OUT_OF_RANGE, "invalid U '21': above maximum 20"},
        {"U=1.5", CONFIG_ERR_NOT_NUMBER, "invalid U '1.5': not a decimal integer"},
        {"URL=localhost:8545", CONFIG_ERR_BAD_URL,
         "invalid URL 'localhost:8545': want scheme://host... with a lowercase scheme"},
        {"URL=HTTP://x", CONFIG_ERR_BAD_URL,
         "invalid URL 'HTTP://x': want scheme://host... with a lowercase scheme"},
        {"URL=http:///path", CONFIG_ERR_BAD_URL,
         "invalid URL 'http:///path': missing host after '://'"},
        {"URL=http://a b", CONFIG_ERR_BAD_URL, "invalid URL 'http://a b': contains a space"},
        {"URL=file://host/etc/passwd", CONFIG_ERR_BAD_SCHEME,
         "invalid URL 'file://host/etc/passwd': scheme 'file' not allowed"},
        {"P=/tmp/\x1b[31m", CONFIG_ERR_BAD_CHAR,
         "invalid P '/tmp/?[31m': contains a control character"},
        {"P=/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", CONFIG_ERR_TOO_LONG,
         "invalid P '/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa': 37 bytes, maximum 32"},
        {"A=f39fd6e51aad88f6f4ce6ab8827279cfffb92266", CONFIG_ERR_BAD_ADDRESS,
         "invalid A 'f39fd6e51aad88f6f4ce6ab8827279cfffb92266': want 0x and 40 hex digits"},
        {"A=0xg39fd6e51aad88f6f4ce6ab8827279cfffb92266", CONFIG_ERR_BAD_ADDRESS,
         "invalid A '0xg39fd6e51aad88f6f4ce6ab8827279cfffb92266': want 0x and 40 hex digits"},
        {"A=0xF39fd6e51aad88F6F4ce6aB8827279cffFb92266", CONFIG_ERR_BAD_CHECKSUM,
         "invalid A '0xF39fd6e51aad88F6F4ce6aB8827279cffFb92266': mixed-case address fails the "
         "eip-55 checksum"},
        {"B=TRUE", CONFIG_ERR_BAD_BOOL, "invalid B 'TRUE': want true|false|1|0|yes|no|on|off"},
        {"B=2", CONFIG_ERR_BAD_BOOL, "invalid B '2': want true|false|1|0|yes|no|on|off"},
        {"D=10x", CONFIG_ERR_BAD_DURATION,
         "invalid D '10x': want an integer with optional unit ms|s|m|h"},
        {"D=s", CONFIG_ERR_BAD_DURATION,
         "invalid D 's': want an integer with optional unit ms|s|m|h"},
        {"D=0", CONFIG_ERR_OUT_OF_RANGE, "invalid D '0': below minimum 1"},
        {"D=25h", CONFIG_ERR_OUT_OF_RANGE, "invalid D '25h': above maximum 86400000"},
        {"D=9999999999999999h", CONFIG_ERR_OUT_OF_RANGE,
         "invalid D '9999999999999999h': does not fit in 64 bits"},
        {"H=[::1:80", CONFIG_ERR_BAD_HOSTPORT, "invalid H '[::1:80': bad character in host"},
        {"H=host:http", CONFIG_ERR_BAD_HOSTPORT, "invalid H 'host:http': port must be 1..65535"},
        {"L=Debug", CONFIG_ERR_BAD_LOG_LEVEL, "invalid L 'Debug': want debug|info|warn|error"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct test_dests d;
        memset(&d, 0, sizeof d);
        char msg[ERR_MSG_MAX] = "";
        int code = test_one(cases[i].in, &d, msg, sizeof msg);
        CHECK_MSG(code == cases[i].code, "case %s: got %d want %d", cases[i].in, code,
                  cases[i].code);
        CHECK_STR(msg, cases[i].msg);
        /* A failed entry leaves its destination untouched. */
        struct test_dests zero;
        memset(&zero, 0, sizeof zero);
        CHECK_MSG(memcmp(&d, &zero, sizeof d) == 0, "case %s wrote its destination", cases[i].in);
    }
}

static void test_value_limits(void)
{
    static char big[CONFIG_VALUE_BYTES_MAX + 8];
    memcpy(big, "S=", 2);
    memset(big + 2, 'x', CONFIG_VALUE_BYTES_MAX + 1);
    struct test_dests d;
    memset(&d, 0, sizeof d);
    char msg[ERR_MSG_MAX];
    CHECK_INT(test_one(big, &d, msg, sizeof msg), CONFIG_ERR_TOO_LONG);
    /* The message quotes at most 64 bytes of the value. */
    CHECK(strstr(msg, "...': longer than 4096 bytes") != NULL);
    CHECK(strlen(msg) < 120);
}

static void test_lookup_env(void)
{
    CHECK(setenv("TEST_CONFIG_VAR", "17", 1) == 0);
    uint64_t v = 0;
    struct config_entry t[1] = {{.name = "TEST_CONFIG_VAR",
                                 .type = CONFIG_U64,
                                 .required = true,
                                 .min.u = 0,
                                 .max.u = 100,
                                 .dest = &v,
                                 .dest_size = sizeof v}};
    struct config_errors errs;
    CHECK_INT(config_load(t, 1, config_lookup_env, NULL, &errs), CONFIG_OK);
    CHECK_INT(v, 17);
    CHECK(unsetenv("TEST_CONFIG_VAR") == 0);
    CHECK_INT(config_load(t, 1, config_lookup_env, NULL, &errs), CONFIG_ERR_INVALID);
    CHECK_INT(errs.items[0].e.code, CONFIG_ERR_MISSING);
}

/* ---- key files ------------------------------------------------------------------ */

static const char test_key_hex[] =
    "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";

static void test_key_file_ok(void)
{
    char path[320];
    snprintf(path, sizeof path, "%s/ok.key", test_dir);
    uint8_t key[32];
    size_t key_len = 0;
    struct err e = {0};
    char text[100];
    snprintf(text, sizeof text, "0x%s\n", test_key_hex);
    test_write_file(path, text, 0600);
    CHECK_INT(config_read_key_file(key, &key_len, 32, 32, path, &e), CONFIG_OK);
    CHECK_INT(key_len, 32);
    CHECK_INT(key[0], 0xac);
    CHECK_INT(key[31], 0x80);
    test_write_file(path, test_key_hex, 0400); /* stricter is fine, no 0x fine */
    CHECK_INT(config_read_key_file(key, &key_len, 32, 32, path, &e), CONFIG_OK);
    CHECK_INT(key[1], 0x09);
    /* A variable-length secret (the HMAC key) within [min, max]. */
    uint8_t secret[64];
    test_write_file(path, "  00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff \n",
                    0600);
    CHECK_INT(config_read_key_file(secret, &key_len, 16, 64, path, &e), CONFIG_OK);
    CHECK_INT(key_len, 32);
    CHECK_INT(secret[31], 0xff);
}

static void test_key_file_errors(void)
{
    static char big_hex[CONFIG_KEY_FILE_BYTES_MAX + 1]; /* the largest file: all digits */
    memset(big_hex, 'a', CONFIG_KEY_FILE_BYTES_MAX);
    char path[320], msg[512];
    snprintf(path, sizeof path, "%s/bad.key", test_dir);
    uint8_t key[32], zero[32];
    memset(zero, 0, sizeof zero);
    size_t key_len = 0;
    struct err e = {0};
    struct {
        const char *text;
        mode_t mode;
        int code;
        const char *msg_fmt;
    } cases[] = {
        {test_key_hex, 0644, CONFIG_ERR_KEY_MODE,
         "key file '%s' has mode 0644: group/other must have no access (chmod 600)"},
        {test_key_hex, 0640, CONFIG_ERR_KEY_MODE,
         "key file '%s' has mode 0640: group/other must have no access (chmod 600)"},
        {test_key_hex, 0604, CONFIG_ERR_KEY_MODE,
         "key file '%s' has mode 0604: group/other must have no access (chmod 600)"},
        {test_key_hex, 0620, CONFIG_ERR_KEY_MODE,
         "key file '%s' has mode 0620: group/other must have no access (chmod 600)"},
        {"zz0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80", 0600,
         CONFIG_ERR_KEY_FORMAT, "key file '%s': not hex"},
        {"ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff8", 0600,
         CONFIG_ERR_KEY_FORMAT, "key file '%s': odd number of hex digits"},
        {"ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff", 0600,
         CONFIG_ERR_KEY_LENGTH, "key file '%s' holds 31 bytes: want 32..32"},
        {"", 0600, CONFIG_ERR_KEY_LENGTH, "key file '%s' holds 0 bytes: want 32..32"},
        {"0Xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff8000", 0600,
         CONFIG_ERR_KEY_LENGTH, "key file '%s' holds 33 bytes: want 32..32"},
        {"0x0x0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80", 0600,
         CONFIG_ERR_KEY_FORMAT, "key file '%s': not hex"},
        {big_hex, 0600, CONFIG_ERR_KEY_LENGTH, "key file '%s' holds 2048 bytes: want 32..32"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        test_write_file(path, cases[i].text, cases[i].mode);
        memset(key, 0x77, sizeof key);
        CHECK_INT(config_read_key_file(key, &key_len, 32, 32, path, &e), cases[i].code);
        CHECK_INT(e.code, cases[i].code);
        snprintf(msg, sizeof msg, cases[i].msg_fmt, path);
        CHECK_STR(e.msg, msg);
        CHECK_MEM(key, zero, sizeof key); /* wiped on failure */
        CHECK(strstr(e.msg, "bec39a17") == NULL);
    }
    /* Missing file. */
    snprintf(path, sizeof path, "%s/missing.key", test_dir);
    CHECK_INT(config_read_key_file(key, &key_len, 32, 32, path, &e), CONFIG_ERR_KEY_OPEN);
    snprintf(msg, sizeof msg, "cannot open key file '%s': No such file or directory", path);
    CHECK_STR(e.msg, msg);
    /* A directory. */
    CHECK_INT(config_read_key_file(key, &key_len, 32, 32, test_dir, &e),
              CONFIG_ERR_KEY_NOT_REGULAR);
    /* Over the size limit, even if the start is a valid key. */
    static char big[CONFIG_KEY_FILE_BYTES_MAX + 2];
    memset(big, ' ', sizeof big - 1);
    memcpy(big, test_key_hex, 64);
    big[sizeof big - 1] = '\0';
    snprintf(path, sizeof path, "%s/big.key", test_dir);
    test_write_file(path, big, 0600);
    CHECK_INT(config_read_key_file(key, &key_len, 32, 32, path, &e), CONFIG_ERR_KEY_SIZE);
    snprintf(msg, sizeof msg, "key file '%s' is too large: 4097 bytes (max 4096)", path);
    CHECK_STR(e.msg, msg);
    /* Exactly at the limit is accepted. */
    big[sizeof big - 2] = '\0';
    test_write_file(path, big, 0600);
    CHECK_INT(config_read_key_file(key, &key_len, 32, 32, path, &e), CONFIG_OK);
}

int main(void)
{
    test_make_dir();
    RUN(test_app_defaults);
    RUN(test_app_all_set);
    RUN(test_app_missing_and_empty);
    RUN(test_app_names);
    RUN(test_app_bounds);
    RUN(test_app_many_bad_at_once);
    RUN(test_secret_not_quoted);
    RUN(test_types_ok);
    RUN(test_types_errors);
    RUN(test_value_limits);
    RUN(test_lookup_env);
    RUN(test_key_file_ok);
    RUN(test_key_file_errors);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", test_dir);
    if (system(cmd) != 0)
        fprintf(stdout, "# could not remove %s\n", test_dir);
    return harness_finish();
}
