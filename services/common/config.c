/* config.c - see config.h. Table-driven parsing of environment variables;
 * collects every error instead of stopping at the first. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "address.h"
#include "check.h"
#include "hex.h"

#define CONFIG_SHOWN_BYTES_MAX 64
#define CONFIG_WHY_BYTES 120

_Static_assert(CONFIG_ADDRESS_BYTES == ADDRESS_BYTES, "config addresses are address.h addresses");

static const char *const config_http_schemes[] = {"http", "https"};

static void config_check_entry(const struct config_entry *ent);
static enum config_result config_load_one(const struct config_entry *ent, const char *value,
                                          char *why, size_t why_size);
static void config_add_error(struct config_errors *errs, const struct config_entry *ent,
                             const char *value, bool is_default, enum config_result code,
                             const char *why);
static enum config_result config_why(char *why, size_t why_size, enum config_result code,
                                     const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static enum config_result config_parse_u64(uint64_t *out, const char *s, size_t len);
static bool config_has_control(const char *s, size_t len);
static enum config_result config_store_text(const struct config_entry *ent, const char *v,
                                            size_t len, char *why, size_t why_size);
static enum config_result config_check_url(const struct config_entry *ent, const char *v,
                                           size_t len, char *why, size_t why_size);
static enum config_result config_check_hostport(const char *v, size_t len, char *why,
                                                size_t why_size);
static enum config_result config_parse_int(const struct config_entry *ent, const char *v,
                                           size_t len, char *why, size_t why_size);
static enum config_result config_parse_unsigned(const struct config_entry *ent, const char *v,
                                                size_t len, char *why, size_t why_size);
static enum config_result config_parse_duration(uint64_t *out_ms, const char *v, size_t len,
                                                char *why, size_t why_size);
static enum config_result config_parse_bool(bool *out, const char *v, char *why, size_t why_size);
static enum config_result config_parse_address(uint8_t out[CONFIG_ADDRESS_BYTES], const char *v,
                                               size_t len, char *why, size_t why_size);
static enum config_result config_decode_key(uint8_t *key_out, size_t *key_len_out,
                                            size_t key_len_min, size_t key_len_max,
                                            const char *text, size_t text_len, const char *path,
                                            struct err *e);

/* ---- lookups ------------------------------------------------------------ */

const char *config_lookup_env(void *ctx, const char *name)
{
    (void)ctx;
    return getenv(name); /* the project's only getenv() */
}

const char *config_lookup_envp(void *ctx, const char *name)
{
    char *const *envp = ctx;
    size_t name_len = strlen(name);
    for (size_t i = 0; envp != NULL && envp[i] != NULL && i < 100000; i++) {
        if (strncmp(envp[i], name, name_len) == 0 && envp[i][name_len] == '=')
            return envp[i] + name_len + 1;
    }
    return NULL;
}

/* ---- helpers ------------------------------------------------------------ */

static enum config_result config_why(char *why, size_t why_size, enum config_result code,
                                     const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(why, why_size, fmt, ap);
    va_end(ap);
    if (n < 0)
        why[0] = '\0';
    return code;
}

static void config_check_entry(const struct config_entry *ent)
{
    ASSERT(ent->name != NULL && ent->name[0] != '\0');
    ASSERT(ent->dest != NULL);
    switch (ent->type) {
    case CONFIG_STRING:
    case CONFIG_URL:
    case CONFIG_PATH:
    case CONFIG_HOSTPORT:
        ASSERT(ent->min.u <= ent->max.u && ent->max.u <= CONFIG_VALUE_BYTES_MAX);
        ASSERT(ent->dest_size > ent->max.u);
        break;
    case CONFIG_INT:
        ASSERT(ent->min.i <= ent->max.i && ent->dest_size == sizeof(int64_t));
        break;
    case CONFIG_U64:
    case CONFIG_DURATION_MS:
        ASSERT(ent->min.u <= ent->max.u && ent->dest_size == sizeof(uint64_t));
        break;
    case CONFIG_ADDRESS:
        ASSERT(ent->dest_size == CONFIG_ADDRESS_BYTES);
        break;
    case CONFIG_BOOL:
        ASSERT(ent->dest_size == sizeof(bool));
        break;
    case CONFIG_LOG_LEVEL:
        ASSERT(ent->dest_size == sizeof(enum log_level));
        break;
    default:
        ASSERT(!"unknown config type");
    }
}

static void config_add_error(struct config_errors *errs, const struct config_entry *ent,
                             const char *value, bool is_default, enum config_result code,
                             const char *why)
{
    ASSERT(errs->count < CONFIG_ENTRIES_MAX);
    struct config_error *item = &errs->items[errs->count++];
    item->name = ent->name;
    if (code == CONFIG_ERR_MISSING) {
        err_set(&item->e, code, "missing required variable %s", ent->name);
        return;
    }
    const char *origin = is_default ? " (default)" : "";
    if (ent->secret) {
        err_set(&item->e, code, "invalid %s%s (value hidden): %s", ent->name, origin, why);
        return;
    }
    char shown[CONFIG_SHOWN_BYTES_MAX + 4];
    size_t n = strnlen(value, CONFIG_SHOWN_BYTES_MAX + 1);
    bool cut = n > CONFIG_SHOWN_BYTES_MAX;
    if (cut)
        n = CONFIG_SHOWN_BYTES_MAX;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)value[i];
        shown[i] = c < 0x20 || c == 0x7f ? '?' : (char)c;
    }
    memcpy(shown + n, cut ? "..." : "", cut ? 4 : 1);
    err_set(&item->e, code, "invalid %s%s '%s': %s", ent->name, origin, shown, why);
}

/* Strict decimal: one or more digits, nothing else; overflow reported. */
static enum config_result config_parse_u64(uint64_t *out, const char *s, size_t len)
{
    if (len == 0)
        return CONFIG_ERR_NOT_NUMBER;
    uint64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return CONFIG_ERR_NOT_NUMBER;
        uint64_t d = (uint64_t)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return CONFIG_ERR_OUT_OF_RANGE;
        v = v * 10 + d;
    }
    *out = v;
    return CONFIG_OK;
}

static bool config_has_control(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f)
            return true;
    }
    return false;
}

/* ---- per-type parsers: each writes `why` and returns a code ---------------- */

static enum config_result config_store_text(const struct config_entry *ent, const char *v,
                                            size_t len, char *why, size_t why_size)
{
    if (len > ent->max.u)
        return config_why(why, why_size, CONFIG_ERR_TOO_LONG, "%zu bytes, maximum %" PRIu64, len,
                          ent->max.u);
    if (len < ent->min.u)
        return config_why(why, why_size, CONFIG_ERR_TOO_SHORT, "%zu bytes, minimum %" PRIu64, len,
                          ent->min.u);
    if (config_has_control(v, len))
        return config_why(why, why_size, CONFIG_ERR_BAD_CHAR, "contains a control character");
    enum config_result r = CONFIG_OK;
    if (ent->type == CONFIG_URL)
        r = config_check_url(ent, v, len, why, why_size);
    else if (ent->type == CONFIG_HOSTPORT)
        r = config_check_hostport(v, len, why, why_size);
    if (r != CONFIG_OK)
        return r;
    memcpy(ent->dest, v, len);
    ((char *)ent->dest)[len] = '\0';
    return CONFIG_OK;
}

static enum config_result config_check_url(const struct config_entry *ent, const char *v,
                                           size_t len, char *why, size_t why_size)
{
    size_t i = 0;
    while (i < len &&
           ((v[i] >= 'a' && v[i] <= 'z') ||
            (i > 0 && ((v[i] >= '0' && v[i] <= '9') || v[i] == '+' || v[i] == '-' || v[i] == '.'))))
        i++;
    if (i == 0 || len - i < 3 || memcmp(v + i, "://", 3) != 0)
        return config_why(why, why_size, CONFIG_ERR_BAD_URL,
                          "want scheme://host... with a lowercase scheme");
    size_t scheme_len = i;
    size_t auth = i + 3, auth_end = auth;
    while (auth_end < len && v[auth_end] != '/' && v[auth_end] != '?' && v[auth_end] != '#')
        auth_end++;
    if (auth_end == auth)
        return config_why(why, why_size, CONFIG_ERR_BAD_URL, "missing host after '://'");
    for (size_t k = 0; k < len; k++)
        if (v[k] == ' ')
            return config_why(why, why_size, CONFIG_ERR_BAD_URL, "contains a space");
    if (ent->schemes == NULL)
        return CONFIG_OK;
    for (size_t k = 0; k < ent->schemes_len; k++)
        if (strlen(ent->schemes[k]) == scheme_len && memcmp(ent->schemes[k], v, scheme_len) == 0)
            return CONFIG_OK;
    if (ent->secret)
        return config_why(why, why_size, CONFIG_ERR_BAD_SCHEME, "scheme not allowed");
    return config_why(why, why_size, CONFIG_ERR_BAD_SCHEME, "scheme '%.*s' not allowed",
                      (int)(scheme_len > 16 ? 16 : scheme_len), v);
}

static enum config_result config_check_hostport(const char *v, size_t len, char *why,
                                                size_t why_size)
{
    const char *colon = NULL;
    for (size_t i = len; i > 0; i--) {
        if (v[i - 1] == ':') {
            colon = v + i - 1;
            break;
        }
    }
    if (colon == NULL)
        return config_why(why, why_size, CONFIG_ERR_BAD_HOSTPORT, "want host:port");
    size_t host_len = (size_t)(colon - v);
    const char *port = colon + 1;
    size_t port_len = len - host_len - 1;
    uint64_t port_num = 0;
    if (config_parse_u64(&port_num, port, port_len) != CONFIG_OK || port_num < 1 ||
        port_num > 65535)
        return config_why(why, why_size, CONFIG_ERR_BAD_HOSTPORT, "port must be 1..65535");
    bool bracketed = host_len >= 2 && v[0] == '[' && v[host_len - 1] == ']';
    size_t from = bracketed ? 1 : 0, to = bracketed ? host_len - 1 : host_len;
    if (to <= from || to - from > 253)
        return config_why(why, why_size, CONFIG_ERR_BAD_HOSTPORT, "host must be 1..253 bytes");
    for (size_t i = from; i < to; i++) {
        char c = v[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '-' || (bracketed && c == ':');
        if (!ok)
            return config_why(why, why_size, CONFIG_ERR_BAD_HOSTPORT, "bad character in host");
    }
    return CONFIG_OK;
}

static enum config_result config_parse_int(const struct config_entry *ent, const char *v,
                                           size_t len, char *why, size_t why_size)
{
    bool neg = len > 0 && v[0] == '-';
    uint64_t mag = 0;
    enum config_result r = config_parse_u64(&mag, v + (neg ? 1 : 0), len - (neg ? 1 : 0));
    if (r == CONFIG_ERR_NOT_NUMBER)
        return config_why(why, why_size, r, "not a decimal integer");
    uint64_t limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    if (r != CONFIG_OK || mag > limit)
        return config_why(why, why_size, CONFIG_ERR_OUT_OF_RANGE, "does not fit in 64 bits");
    int64_t val = neg ? (mag == limit ? INT64_MIN : -(int64_t)mag) : (int64_t)mag;
    if (val < ent->min.i)
        return config_why(why, why_size, CONFIG_ERR_OUT_OF_RANGE, "below minimum %" PRId64,
                          ent->min.i);
    if (val > ent->max.i)
        return config_why(why, why_size, CONFIG_ERR_OUT_OF_RANGE, "above maximum %" PRId64,
                          ent->max.i);
    *(int64_t *)ent->dest = val;
    return CONFIG_OK;
}

static enum config_result config_parse_unsigned(const struct config_entry *ent, const char *v,
                                                size_t len, char *why, size_t why_size)
{
    uint64_t val = 0;
    enum config_result r;
    if (ent->type == CONFIG_DURATION_MS) {
        r = config_parse_duration(&val, v, len, why, why_size);
        if (r != CONFIG_OK)
            return r;
    } else {
        r = config_parse_u64(&val, v, len);
        if (r == CONFIG_ERR_NOT_NUMBER)
            return config_why(why, why_size, r, "not a decimal integer");
        if (r != CONFIG_OK)
            return config_why(why, why_size, r, "does not fit in 64 bits");
    }
    if (val < ent->min.u)
        return config_why(why, why_size, CONFIG_ERR_OUT_OF_RANGE, "below minimum %" PRIu64,
                          ent->min.u);
    if (val > ent->max.u)
        return config_why(why, why_size, CONFIG_ERR_OUT_OF_RANGE, "above maximum %" PRIu64,
                          ent->max.u);
    *(uint64_t *)ent->dest = val;
    return CONFIG_OK;
}

static enum config_result config_parse_duration(uint64_t *out_ms, const char *v, size_t len,
                                                char *why, size_t why_size)
{
    size_t digits = 0;
    while (digits < len && v[digits] >= '0' && v[digits] <= '9')
        digits++;
    const char *unit = v + digits;
    size_t unit_len = len - digits;
    uint64_t mult = 0;
    if (unit_len == 0 || (unit_len == 2 && memcmp(unit, "ms", 2) == 0))
        mult = 1;
    else if (unit_len == 1 && unit[0] == 's')
        mult = 1000;
    else if (unit_len == 1 && unit[0] == 'm')
        mult = 60000;
    else if (unit_len == 1 && unit[0] == 'h')
        mult = 3600000;
    uint64_t n = 0;
    if (digits == 0 || mult == 0)
        return config_why(why, why_size, CONFIG_ERR_BAD_DURATION,
                          "want an integer with optional unit ms|s|m|h");
    if (config_parse_u64(&n, v, digits) != CONFIG_OK || n > UINT64_MAX / mult)
        return config_why(why, why_size, CONFIG_ERR_OUT_OF_RANGE, "does not fit in 64 bits");
    *out_ms = n * mult;
    return CONFIG_OK;
}

static enum config_result config_parse_bool(bool *out, const char *v, char *why, size_t why_size)
{
    static const char *const yes[] = {"true", "1", "yes", "on"};
    static const char *const no[] = {"false", "0", "no", "off"};
    for (size_t i = 0; i < 4; i++) {
        if (strcmp(v, yes[i]) == 0) {
            *out = true;
            return CONFIG_OK;
        }
        if (strcmp(v, no[i]) == 0) {
            *out = false;
            return CONFIG_OK;
        }
    }
    return config_why(why, why_size, CONFIG_ERR_BAD_BOOL, "want true|false|1|0|yes|no|on|off");
}

static enum config_result config_parse_address(uint8_t out[CONFIG_ADDRESS_BYTES], const char *v,
                                               size_t len, char *why, size_t why_size)
{
    struct address a;
    enum address_result r = address_parse(&a, v, len, NULL);
    if (r == ADDRESS_ERR_CHECKSUM)
        return config_why(why, why_size, CONFIG_ERR_BAD_CHECKSUM,
                          "mixed-case address fails the eip-55 checksum");
    if (r != ADDRESS_OK)
        return config_why(why, why_size, CONFIG_ERR_BAD_ADDRESS, "want 0x and 40 hex digits");
    memcpy(out, a.bytes, CONFIG_ADDRESS_BYTES);
    return CONFIG_OK;
}

static enum config_result config_load_one(const struct config_entry *ent, const char *value,
                                          char *why, size_t why_size)
{
    size_t len = strnlen(value, CONFIG_VALUE_BYTES_MAX + 1);
    if (len > CONFIG_VALUE_BYTES_MAX)
        return config_why(why, why_size, CONFIG_ERR_TOO_LONG, "longer than %d bytes",
                          CONFIG_VALUE_BYTES_MAX);
    switch (ent->type) {
    case CONFIG_STRING:
    case CONFIG_URL:
    case CONFIG_PATH:
    case CONFIG_HOSTPORT:
        return config_store_text(ent, value, len, why, why_size);
    case CONFIG_INT:
        return config_parse_int(ent, value, len, why, why_size);
    case CONFIG_U64:
    case CONFIG_DURATION_MS:
        return config_parse_unsigned(ent, value, len, why, why_size);
    case CONFIG_ADDRESS:
        return config_parse_address(ent->dest, value, len, why, why_size);
    case CONFIG_BOOL:
        return config_parse_bool(ent->dest, value, why, why_size);
    case CONFIG_LOG_LEVEL:
        if (log_level_parse(ent->dest, value, NULL) != LOG_OK)
            return config_why(why, why_size, CONFIG_ERR_BAD_LOG_LEVEL,
                              "want debug|info|warn|error");
        return CONFIG_OK;
    }
    ASSERT(!"unknown config type");
    return CONFIG_ERR_INVALID;
}

enum config_result config_load(const struct config_entry *table, size_t table_len,
                               const char *(*lookup)(void *ctx, const char *name), void *lookup_ctx,
                               struct config_errors *errs)
{
    ASSERT(table != NULL && lookup != NULL && errs != NULL);
    ASSERT(table_len <= CONFIG_ENTRIES_MAX);
    errs->count = 0;
    for (size_t i = 0; i < table_len; i++) {
        const struct config_entry *ent = &table[i];
        config_check_entry(ent);
        if (ent->is_set_out != NULL)
            *ent->is_set_out = false;
        const char *value = lookup(lookup_ctx, ent->name);
        bool is_default = value == NULL || value[0] == '\0';
        if (is_default)
            value = ent->default_text;
        if (value == NULL) {
            if (ent->required)
                config_add_error(errs, ent, "", false, CONFIG_ERR_MISSING, "");
            continue;
        }
        char why[CONFIG_WHY_BYTES];
        why[0] = '\0';
        enum config_result r = config_load_one(ent, value, why, sizeof why);
        if (r != CONFIG_OK) {
            config_add_error(errs, ent, value, is_default, r, why);
            continue;
        }
        if (ent->is_set_out != NULL)
            *ent->is_set_out = true;
    }
    return errs->count == 0 ? CONFIG_OK : CONFIG_ERR_INVALID;
}

/* ---- the project table ----------------------------------------------------- */

/* `field` is the destination lvalue (array or scalar) inside the app_config. */
#define CONFIG_ENTRY(nm, ty, req, sec, def, lo, hi, field)                                         \
    (struct config_entry)                                                                          \
    {                                                                                              \
        .name = (nm), .type = (ty), .required = (req), .secret = (sec), .default_text = (def),     \
        .min.u = (lo), .max.u = (hi), .dest = &(field), .dest_size = sizeof(field)                 \
    }

size_t config_build_app_table(struct config_entry *table_out, size_t table_cap,
                              struct app_config *cfg)
{
    ASSERT(table_out != NULL && cfg != NULL && table_cap >= CONFIG_APP_ENTRIES);
    size_t n = 0;
    struct config_entry *t = table_out;
    t[n++] = CONFIG_ENTRY("DATABASE_URL", CONFIG_STRING, true, true, NULL, 1,
                          CONFIG_DATABASE_URL_BYTES_MAX, cfg->database_url);
    t[n] = CONFIG_ENTRY("ETH_RPC_URL", CONFIG_URL, false, false, "http://127.0.0.1:8545", 1,
                        CONFIG_URL_BYTES_MAX, cfg->eth_rpc_url);
    t[n].schemes = config_http_schemes;
    t[n++].schemes_len = 2;
    t[n++] = CONFIG_ENTRY("CHAIN_ID", CONFIG_U64, false, false, "31337", 1, CONFIG_CHAIN_ID_MAX,
                          cfg->chain_id);
    t[n] =
        CONFIG_ENTRY("VAULT_ADDRESS", CONFIG_ADDRESS, false, false, NULL, 0, 0, cfg->vault_address);
    t[n++].is_set_out = &cfg->vault_address_set;
    t[n++] = CONFIG_ENTRY("OPERATOR_KEY_FILE", CONFIG_PATH, false, false, "var/operator.key", 1,
                          CONFIG_PATH_BYTES_MAX, cfg->operator_key_file);
    t[n++] = CONFIG_ENTRY("AUTH_SECRET_FILE", CONFIG_PATH, false, false, "var/auth.secret", 1,
                          CONFIG_PATH_BYTES_MAX, cfg->auth_secret_file);
    t[n++] = CONFIG_ENTRY("SIWE_DOMAIN", CONFIG_STRING, false, false, "localhost:8080", 1,
                          CONFIG_SIWE_DOMAIN_BYTES_MAX, cfg->siwe_domain);
    t[n++] = CONFIG_ENTRY("CONFIRMATIONS", CONFIG_U64, false, false, "2", 0,
                          CONFIG_CONFIRMATIONS_MAX, cfg->confirmations);
    t[n++] = CONFIG_ENTRY("MEDIA_DIR", CONFIG_PATH, false, false, "var/media", 1,
                          CONFIG_PATH_BYTES_MAX, cfg->media_dir);
    t[n++] = CONFIG_ENTRY("GATEWAY_LISTEN", CONFIG_HOSTPORT, false, false, "127.0.0.1:8080", 3,
                          CONFIG_HOSTPORT_BYTES_MAX, cfg->gateway_listen);
    t[n++] = CONFIG_ENTRY("SETTLEMENT_LISTEN", CONFIG_HOSTPORT, false, false, "127.0.0.1:8081", 3,
                          CONFIG_HOSTPORT_BYTES_MAX, cfg->settlement_listen);
    t[n++] =
        CONFIG_ENTRY("LOG_LEVEL", CONFIG_LOG_LEVEL, false, false, "info", 0, 0, cfg->log_level);
    t[n++] = CONFIG_ENTRY("MAX_FEE_PER_GAS_WEI", CONFIG_U64, false, false,
                          MACRO_TEXT(CONFIG_MAX_FEE_PER_GAS_WEI_DEFAULT), 1,
                          CONFIG_MAX_FEE_PER_GAS_WEI_MAX, cfg->max_fee_per_gas_wei);
    t[n++] = CONFIG_ENTRY("WEB_DIR", CONFIG_PATH, false, false, "services/gateway/web", 1,
                          CONFIG_PATH_BYTES_MAX, cfg->web_dir);
    ASSERT(n == CONFIG_APP_ENTRIES);
    return n;
}

enum config_result config_load_app(struct app_config *cfg,
                                   const char *(*lookup)(void *ctx, const char *name),
                                   void *lookup_ctx, struct config_errors *errs)
{
    ASSERT(cfg != NULL);
    memset(cfg, 0, sizeof *cfg);
    struct config_entry table[CONFIG_APP_ENTRIES];
    size_t n = config_build_app_table(table, CONFIG_APP_ENTRIES, cfg);
    return config_load(table, n, lookup, lookup_ctx, errs);
}

enum config_result config_load_app_names(struct app_config *cfg, const char *const *names,
                                         const char *(*lookup)(void *ctx, const char *name),
                                         void *lookup_ctx, struct config_errors *errs)
{
    ASSERT(cfg != NULL && names != NULL);
    memset(cfg, 0, sizeof *cfg);
    struct config_entry all[CONFIG_APP_ENTRIES], pick[CONFIG_APP_ENTRIES];
    size_t n_all = config_build_app_table(all, CONFIG_APP_ENTRIES, cfg), n_pick = 0;
    for (const char *const *nm = names; *nm != NULL; nm++) {
        size_t i = 0;
        while (i < n_all && strcmp(all[i].name, *nm) != 0)
            i++;
        ASSERT(i < n_all && n_pick < CONFIG_APP_ENTRIES); /* a name of the table, once */
        pick[n_pick++] = all[i];
    }
    return config_load(pick, n_pick, lookup, lookup_ctx, errs);
}

void config_errors_log(const struct config_errors *errs, const struct logger *lg)
{
    ASSERT(errs != NULL && lg != NULL);
    for (size_t i = 0; i < errs->count && i < CONFIG_ENTRIES_MAX; i++) {
        const struct config_error *it = &errs->items[i];
        log_write(lg, LOG_ERROR, "invalid configuration",
                  LOG_KVS(log_str("var", it->name), log_i64("code", it->e.code),
                          log_str("error", it->e.msg)));
    }
}

/* ---- key files ------------------------------------------------------------- */

static enum config_result config_decode_key(uint8_t *key_out, size_t *key_len_out,
                                            size_t key_len_min, size_t key_len_max,
                                            const char *text, size_t text_len, const char *path,
                                            struct err *e)
{
    size_t a = 0, b = text_len;
    while (a < b && (text[a] == ' ' || text[a] == '\t' || text[a] == '\n' || text[a] == '\r'))
        a++;
    while (b > a && (text[b - 1] == ' ' || text[b - 1] == '\t' || text[b - 1] == '\n' ||
                     text[b - 1] == '\r'))
        b--;
    uint8_t bytes[CONFIG_KEY_FILE_BYTES_MAX / 2];
    size_t n = 0;
    enum config_result r = CONFIG_OK;
    enum hex_result h = hex_decode(bytes, sizeof bytes, &n, text + a, b - a, NULL);
    if (h == HEX_ERR_ODD_LENGTH)
        r = err_set(e, CONFIG_ERR_KEY_FORMAT, "key file '%s': odd number of hex digits", path);
    else if (h != HEX_OK) /* a bad digit; `bytes` holds half of the largest file */
        r = err_set(e, CONFIG_ERR_KEY_FORMAT, "key file '%s': not hex", path);
    else if (n < key_len_min || n > key_len_max)
        r = err_set(e, CONFIG_ERR_KEY_LENGTH, "key file '%s' holds %zu bytes: want %zu..%zu", path,
                    n, key_len_min, key_len_max);
    if (r == CONFIG_OK) {
        memcpy(key_out, bytes, n);
        *key_len_out = n;
    }
    explicit_bzero(bytes, sizeof bytes);
    return r;
}

enum config_result config_read_key_file(uint8_t *key_out, size_t *key_len_out, size_t key_len_min,
                                        size_t key_len_max, const char *path, struct err *e)
{
    ASSERT(key_out != NULL && key_len_out != NULL && path != NULL);
    ASSERT(key_len_min <= key_len_max && key_len_max > 0);
    char text[CONFIG_KEY_FILE_BYTES_MAX + 1];
    size_t text_len = 0;
    enum config_result r = CONFIG_OK;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return err_set(e, CONFIG_ERR_KEY_OPEN, "cannot open key file '%s': %s", path,
                       strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        r = err_set(e, CONFIG_ERR_KEY_OPEN, "cannot stat key file '%s': %s", path, strerror(errno));
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        r = err_set(e, CONFIG_ERR_KEY_NOT_REGULAR, "key file '%s' is not a regular file", path);
        goto out;
    }
    if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
        r = err_set(e, CONFIG_ERR_KEY_MODE,
                    "key file '%s' has mode %04o: group/other must have no access (chmod 600)",
                    path, (unsigned)(st.st_mode & 07777));
        goto out;
    }
    if (st.st_size > CONFIG_KEY_FILE_BYTES_MAX) {
        r = err_set(e, CONFIG_ERR_KEY_SIZE, "key file '%s' is too large: %lld bytes (max %d)", path,
                    (long long)st.st_size, CONFIG_KEY_FILE_BYTES_MAX);
        goto out;
    }
    /* Read up to max+1 bytes so a file that grew after fstat is still caught. */
    for (int i = 0; i < 64 && text_len < sizeof text; i++) {
        ssize_t got = read(fd, text + text_len, sizeof text - text_len);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            r = err_set(e, CONFIG_ERR_KEY_READ, "cannot read key file '%s': %s", path,
                        strerror(errno));
            goto out;
        }
        if (got == 0)
            break;
        text_len += (size_t)got;
    }
    if (text_len > CONFIG_KEY_FILE_BYTES_MAX) {
        r = err_set(e, CONFIG_ERR_KEY_SIZE, "key file '%s' is too large (max %d bytes)", path,
                    CONFIG_KEY_FILE_BYTES_MAX);
        goto out;
    }
    r = config_decode_key(key_out, key_len_out, key_len_min, key_len_max, text, text_len, path, e);
out:
    explicit_bzero(text, sizeof text);
    close(fd);
    if (r != CONFIG_OK)
        explicit_bzero(key_out, key_len_max);
    return r;
}
