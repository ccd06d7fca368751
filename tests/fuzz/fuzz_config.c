/*
 * fuzz_config.c - config_load() through config_lookup_envp() on arbitrary values.
 *
 * Input: byte 0 bit 0 picks the table: a test table with one entry of every
 * type (plus secret ones), or the project's own (config_load_app). The rest
 * is an environment, one "NAME=value" per line. Properties:
 *   - config_lookup_envp() returns the first "NAME=" line's value (model);
 *   - config_load() returns OK exactly when errs->count is 0, else INVALID;
 *     at most one error per entry, in table order, each with a code that the
 *     entry's type can give (MISSING only for required entries) and a
 *     non-empty NUL-terminated message; a secret entry's message never
 *     quotes the value ("invalid NAME (value hidden): ...");
 *   - a destination is written only when its entry is valid (the rest keep
 *     their fill pattern) and *is_set_out says whether it was;
 *   - stored values agree with the value text: strings are copied exactly
 *     within [min, max] without control bytes; integers equal a decimal
 *     model and lie in [min, max]; an address is accepted exactly when
 *     address_parse() accepts it (a checksum failure on both sides), with the
 *     same bytes; booleans, durations and log levels follow their tables.
 */
#include <ctype.h>
#include <inttypes.h>

#include "address.h"
#include "config.h"
#include "fuzz.h"

#define CFG_FUZZ_LINES_MAX 64
#define CFG_FUZZ_FILL 0x5c
#define CFG_FUZZ_ENTRIES 13

struct cfg_dest {
    char str[17];
    int64_t i;
    uint64_t u;
    char url[65];
    char path[33];
    uint8_t addr[CONFIG_ADDRESS_BYTES];
    bool b;
    uint64_t dur;
    char hostport[41];
    enum log_level level;
    char secret[33];
    char secret_url[65];
    uint64_t u_req;
};

static const char *const cfg_schemes[] = {"http", "https"};

static size_t cfg_build_table(struct config_entry *t, struct cfg_dest *d, bool *is_set);
static size_t cfg_split_env(char **envp, char *text);
static const char *cfg_model_lookup(char *const *envp, const char *name);
static bool cfg_code_fits(const struct config_entry *ent, int code);
static bool cfg_parse_dec(uint64_t *out, const char *s, size_t len);
static void cfg_check_valid(const struct config_entry *ent, const char *value);
static void cfg_check_errors(const struct config_entry *t, size_t n,
                             const struct config_errors *errs, char *const *envp);
static void cfg_check_address(const struct config_entry *ent, const char *value, bool ok, int code);
static void fuzz_config_table(char *const *envp);
static void fuzz_config_app(char *const *envp);

#define CFG_ENTRY(nm, ty, req, sec, def, lo, hi, field)                                            \
    (struct config_entry)                                                                          \
    {                                                                                              \
        .name = (nm), .type = (ty), .required = (req), .secret = (sec), .default_text = (def),     \
        .min.u = (lo), .max.u = (hi), .dest = &(field), .dest_size = sizeof(field)                 \
    }

static size_t cfg_build_table(struct config_entry *t, struct cfg_dest *d, bool *is_set)
{
    size_t n = 0;
    t[n++] = CFG_ENTRY("S", CONFIG_STRING, false, false, NULL, 2, 16, d->str);
    t[n] = CFG_ENTRY("I", CONFIG_INT, false, false, "-5", 0, 0, d->i);
    t[n].min.i = -1000;
    t[n++].max.i = 1000;
    t[n++] = CFG_ENTRY("U", CONFIG_U64, false, false, NULL, 1, (uint64_t)1 << 53, d->u);
    t[n] = CFG_ENTRY("URL", CONFIG_URL, false, false, "http://x", 1, 64, d->url);
    t[n].schemes = cfg_schemes;
    t[n++].schemes_len = 2;
    t[n++] = CFG_ENTRY("P", CONFIG_PATH, false, false, NULL, 1, 32, d->path);
    t[n++] = CFG_ENTRY("A", CONFIG_ADDRESS, false, false, NULL, 0, 0, d->addr);
    t[n++] = CFG_ENTRY("B", CONFIG_BOOL, false, false, "off", 0, 0, d->b);
    t[n++] = CFG_ENTRY("D", CONFIG_DURATION_MS, false, false, NULL, 1, 3600000, d->dur);
    t[n++] = CFG_ENTRY("H", CONFIG_HOSTPORT, false, false, NULL, 3, 40, d->hostport);
    t[n++] = CFG_ENTRY("L", CONFIG_LOG_LEVEL, false, false, NULL, 0, 0, d->level);
    t[n++] = CFG_ENTRY("SEC", CONFIG_STRING, false, true, NULL, 4, 32, d->secret);
    t[n] = CFG_ENTRY("SECURL", CONFIG_URL, false, true, NULL, 1, 64, d->secret_url);
    t[n].schemes = cfg_schemes;
    t[n++].schemes_len = 2;
    t[n++] = CFG_ENTRY("REQ", CONFIG_U64, true, false, NULL, 0, 10, d->u_req);
    FUZZ_CHECK(n == CFG_FUZZ_ENTRIES);
    for (size_t i = 0; i < n; i++)
        t[i].is_set_out = &is_set[i];
    return n;
}

/* Cuts text at newlines into NUL-terminated "NAME=value" strings. */
static size_t cfg_split_env(char **envp, char *text)
{
    size_t n = 0;
    char *line = text;
    while (n < CFG_FUZZ_LINES_MAX) {
        envp[n++] = line;
        char *nl = strchr(line, '\n');
        if (nl == NULL)
            break;
        *nl = '\0';
        line = nl + 1;
    }
    envp[n] = NULL;
    return n;
}

static const char *cfg_model_lookup(char *const *envp, const char *name)
{
    size_t k = strlen(name);
    for (size_t i = 0; envp[i] != NULL; i++)
        if (strncmp(envp[i], name, k) == 0 && envp[i][k] == '=')
            return envp[i] + k + 1;
    return NULL;
}

/* Codes config.h lists for each type. */
static bool cfg_code_fits(const struct config_entry *ent, int code)
{
    if (code == CONFIG_ERR_MISSING)
        return ent->required;
    if (code == CONFIG_ERR_TOO_LONG)
        return true; /* CONFIG_VALUE_BYTES_MAX, any type */
    switch (ent->type) {
    case CONFIG_STRING:
    case CONFIG_PATH:
        return code == CONFIG_ERR_TOO_SHORT || code == CONFIG_ERR_BAD_CHAR;
    case CONFIG_URL:
        return code == CONFIG_ERR_TOO_SHORT || code == CONFIG_ERR_BAD_CHAR ||
               code == CONFIG_ERR_BAD_URL || code == CONFIG_ERR_BAD_SCHEME;
    case CONFIG_HOSTPORT:
        return code == CONFIG_ERR_TOO_SHORT || code == CONFIG_ERR_BAD_CHAR ||
               code == CONFIG_ERR_BAD_HOSTPORT;
    case CONFIG_INT:
    case CONFIG_U64:
        return code == CONFIG_ERR_NOT_NUMBER || code == CONFIG_ERR_OUT_OF_RANGE;
    case CONFIG_DURATION_MS:
        return code == CONFIG_ERR_BAD_DURATION || code == CONFIG_ERR_OUT_OF_RANGE;
    case CONFIG_ADDRESS:
        return code == CONFIG_ERR_BAD_ADDRESS || code == CONFIG_ERR_BAD_CHECKSUM;
    case CONFIG_BOOL:
        return code == CONFIG_ERR_BAD_BOOL;
    case CONFIG_LOG_LEVEL:
        return code == CONFIG_ERR_BAD_LOG_LEVEL;
    }
    return false;
}

/* "[0-9]+" into *out; false when not a number or above 2^64 - 1. */
static bool cfg_parse_dec(uint64_t *out, const char *s, size_t len)
{
    uint64_t v = 0;
    if (len == 0)
        return false;
    for (size_t i = 0; i < len; i++) {
        if (!isdigit((unsigned char)s[i]))
            return false;
        if (__builtin_mul_overflow(v, 10, &v) ||
            __builtin_add_overflow(v, (uint64_t)(s[i] - '0'), &v))
            return false;
    }
    *out = v;
    return true;
}

/* A valid entry: its destination holds what the value text says. */
static void cfg_check_valid(const struct config_entry *ent, const char *value)
{
    size_t len = strlen(value);
    uint64_t u = 0;
    switch (ent->type) {
    case CONFIG_STRING:
    case CONFIG_URL:
    case CONFIG_PATH:
    case CONFIG_HOSTPORT:
        FUZZ_CHECK(len >= ent->min.u && len <= ent->max.u && strcmp(ent->dest, value) == 0);
        for (size_t i = 0; i < len; i++)
            FUZZ_CHECK((unsigned char)value[i] >= 0x20 && value[i] != 0x7f);
        if (ent->type == CONFIG_URL)
            FUZZ_CHECK(strncmp(value, "http://", 7) == 0 || strncmp(value, "https://", 8) == 0);
        return;
    case CONFIG_INT: {
        size_t sign = value[0] == '-' ? 1 : 0;
        FUZZ_CHECK(cfg_parse_dec(&u, value + sign, len - sign));
        FUZZ_CHECK(u <= 1000); /* the table's range, so the negation below is safe */
        int64_t want = sign ? -(int64_t)u : (int64_t)u;
        FUZZ_CHECK(*(int64_t *)ent->dest == want);
        FUZZ_CHECK(want >= ent->min.i && want <= ent->max.i);
        return;
    }
    case CONFIG_U64:
        FUZZ_CHECK(cfg_parse_dec(&u, value, len) && *(uint64_t *)ent->dest == u);
        FUZZ_CHECK(u >= ent->min.u && u <= ent->max.u);
        return;
    case CONFIG_DURATION_MS: {
        size_t digits = 0;
        while (isdigit((unsigned char)value[digits]))
            digits++;
        const char *unit = value + digits;
        uint64_t mult = strcmp(unit, "") == 0 || strcmp(unit, "ms") == 0 ? 1
                        : strcmp(unit, "s") == 0                         ? 1000
                        : strcmp(unit, "m") == 0                         ? 60000
                        : strcmp(unit, "h") == 0                         ? 3600000
                                                                         : 0;
        FUZZ_CHECK(mult != 0 && cfg_parse_dec(&u, value, digits));
        FUZZ_CHECK(u <= UINT64_MAX / mult && *(uint64_t *)ent->dest == u * mult);
        FUZZ_CHECK(u * mult >= ent->min.u && u * mult <= ent->max.u);
        return;
    }
    case CONFIG_ADDRESS:
        return; /* cfg_check_address */
    case CONFIG_BOOL: {
        bool yes = strcmp(value, "true") == 0 || strcmp(value, "1") == 0 ||
                   strcmp(value, "yes") == 0 || strcmp(value, "on") == 0;
        bool no = strcmp(value, "false") == 0 || strcmp(value, "0") == 0 ||
                  strcmp(value, "no") == 0 || strcmp(value, "off") == 0;
        FUZZ_CHECK((yes || no) && *(bool *)ent->dest == yes);
        return;
    }
    case CONFIG_LOG_LEVEL:
        FUZZ_CHECK(strcmp(value, log_level_name(*(enum log_level *)ent->dest)) == 0);
        return;
    }
    FUZZ_FAIL("unknown config type");
}

/* CONFIG_ADDRESS and address_parse() agree on every value. */
static void cfg_check_address(const struct config_entry *ent, const char *value, bool ok, int code)
{
    struct address a;
    enum address_result r = address_parse(&a, value, strlen(value), NULL);
    if (strlen(value) > CONFIG_VALUE_BYTES_MAX)
        return;
    FUZZ_CHECK(ok == (r == ADDRESS_OK));
    if (ok)
        FUZZ_CHECK(memcmp(ent->dest, a.bytes, CONFIG_ADDRESS_BYTES) == 0);
    else
        FUZZ_CHECK((code == CONFIG_ERR_BAD_CHECKSUM) == (r == ADDRESS_ERR_CHECKSUM));
}

static void cfg_check_errors(const struct config_entry *t, size_t n,
                             const struct config_errors *errs, char *const *envp)
{
    FUZZ_CHECK(errs->count <= n);
    size_t k = 0; /* next error to match */
    for (size_t i = 0; i < n; i++) {
        const struct config_entry *ent = &t[i];
        const char *value = config_lookup_envp((void *)envp, ent->name);
        FUZZ_CHECK(value == cfg_model_lookup(envp, ent->name));
        bool is_default = value == NULL || value[0] == '\0';
        if (is_default)
            value = ent->default_text;
        bool failed = k < errs->count && errs->items[k].name == ent->name;
        if (failed) {
            const struct err *e = &errs->items[k++].e;
            FUZZ_CHECK(fuzz_err_is_set(e, e->code) && cfg_code_fits(ent, e->code));
            FUZZ_CHECK((e->code == CONFIG_ERR_MISSING) == (value == NULL));
            char hidden[64];
            snprintf(hidden, sizeof hidden, "invalid %s%s (value hidden): ", ent->name,
                     is_default ? " (default)" : "");
            if (ent->secret && value != NULL)
                FUZZ_CHECK(strncmp(e->msg, hidden, strlen(hidden)) == 0);
        }
        FUZZ_CHECK(*ent->is_set_out == (!failed && value != NULL));
        if (ent->type == CONFIG_ADDRESS && value != NULL)
            cfg_check_address(ent, value, !failed, failed ? errs->items[k - 1].e.code : 0);
        if (!failed && value != NULL) {
            cfg_check_valid(ent, value);
            continue;
        }
        for (size_t b = 0; b < ent->dest_size; b++)
            FUZZ_CHECK(((const uint8_t *)ent->dest)[b] == CFG_FUZZ_FILL);
    }
    FUZZ_CHECK(k == errs->count);
}

static void fuzz_config_table(char *const *envp)
{
    struct cfg_dest d;
    memset(&d, CFG_FUZZ_FILL, sizeof d);
    bool is_set[CFG_FUZZ_ENTRIES];
    memset(is_set, 1, sizeof is_set);
    struct config_entry t[CFG_FUZZ_ENTRIES];
    size_t n = cfg_build_table(t, &d, is_set);
    struct config_errors *errs = malloc(sizeof *errs);
    FUZZ_CHECK(errs != NULL);
    memset(errs, FUZZ_ERR_FILL, sizeof *errs);
    for (size_t i = 0; i < CONFIG_ENTRIES_MAX; i++)
        fuzz_err_prime(&errs->items[i].e);
    enum config_result r = config_load(t, n, config_lookup_envp, (void *)envp, errs);
    FUZZ_CHECK(r == CONFIG_OK || r == CONFIG_ERR_INVALID);
    FUZZ_CHECK((r == CONFIG_OK) == (errs->count == 0));
    cfg_check_errors(t, n, errs, envp);
    free(errs);
}

static void fuzz_config_app(char *const *envp)
{
    struct app_config *cfg = malloc(sizeof *cfg);
    struct config_errors *errs = malloc(sizeof *errs);
    FUZZ_CHECK(cfg != NULL && errs != NULL);
    enum config_result r = config_load_app(cfg, config_lookup_envp, (void *)envp, errs);
    FUZZ_CHECK(r == CONFIG_OK || r == CONFIG_ERR_INVALID);
    FUZZ_CHECK((r == CONFIG_OK) == (errs->count == 0) && errs->count <= CONFIG_APP_ENTRIES);
    bool db_failed = false;
    for (size_t i = 0; i < errs->count; i++) {
        const struct err *e = &errs->items[i].e;
        FUZZ_CHECK(fuzz_err_is_set(e, e->code));
        FUZZ_CHECK(e->code >= CONFIG_ERR_MISSING && e->code <= CONFIG_ERR_BAD_LOG_LEVEL);
        FUZZ_CHECK(i == 0 || strcmp(errs->items[i].name, errs->items[i - 1].name) != 0);
        if (strcmp(errs->items[i].name, "DATABASE_URL") == 0) {
            db_failed = true;
            FUZZ_CHECK(strncmp(e->msg, "invalid DATABASE_URL (value hidden): ", 37) == 0 ||
                       strcmp(e->msg, "missing required variable DATABASE_URL") == 0);
        }
    }
    if (!db_failed) {
        const char *db = config_lookup_envp((void *)envp, "DATABASE_URL");
        FUZZ_CHECK(db != NULL && strcmp(cfg->database_url, db) == 0);
    }
    if (r == CONFIG_OK) {
        FUZZ_CHECK(cfg->chain_id >= 1 && cfg->chain_id <= CONFIG_CHAIN_ID_MAX);
        FUZZ_CHECK(cfg->confirmations <= CONFIG_CONFIRMATIONS_MAX);
        FUZZ_CHECK(memchr(cfg->eth_rpc_url, '\0', sizeof cfg->eth_rpc_url) != NULL);
        FUZZ_CHECK(memchr(cfg->gateway_listen, '\0', sizeof cfg->gateway_listen) != NULL);
        FUZZ_CHECK((unsigned)cfg->log_level <= LOG_ERROR);
    }
    free(errs);
    free(cfg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    char *text = malloc(size); /* the rest plus a NUL */
    FUZZ_CHECK(text != NULL);
    memcpy(text, data + 1, size - 1);
    text[size - 1] = '\0';
    char *envp[CFG_FUZZ_LINES_MAX + 1];
    cfg_split_env(envp, text);
    if (data[0] & 1)
        fuzz_config_app(envp);
    else
        fuzz_config_table(envp);
    free(text);
    return 0;
}
