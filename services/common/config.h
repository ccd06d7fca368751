/*
 * config.h - configuration from the environment through one table.
 *
 * Each variable is described once by a `struct config_entry` {name, type,
 * min, max, default, required, destination}. config_load() looks every entry
 * up, validates it and reports ALL bad variables together in a caller-owned
 * `struct config_errors`, so an operator sees every mistake in one run; the
 * service then logs them (config_errors_log) and exits. This module holds the
 * project's only getenv() call (config_lookup_env); nothing else reads the
 * environment.
 *
 * Rules shared by all types:
 * - An unset variable and an empty one are the same ("FOO=" is unset). Then
 *   the default (parsed by the same rules) is used; with no default a
 *   required entry is CONFIG_ERR_MISSING and an optional one leaves its
 *   destination untouched with *is_set_out = false.
 * - Raw values are at most CONFIG_VALUE_BYTES_MAX bytes.
 * - A destination is written only when its entry is valid.
 * - Error messages quote the value (cut to 64 bytes) unless the entry is
 *   `secret` (DATABASE_URL may hold a password); they never quote key files.
 *
 * Types (min/max meaning; destination type):
 *   CONFIG_STRING      length bytes (.u); char[dest_size]. No control bytes.
 *   CONFIG_INT         value (.i), "-?[0-9]+"; int64_t.
 *   CONFIG_U64         value (.u), "[0-9]+"; uint64_t.
 *   CONFIG_URL         length bytes (.u); char[dest_size]. "scheme://authority..."
 *                      with a lowercase scheme, no spaces or control bytes;
 *                      `schemes` (if non-NULL) lists the allowed schemes.
 *   CONFIG_PATH        length bytes (.u); char[dest_size]. No control bytes.
 *   CONFIG_ADDRESS     unused; uint8_t[20]. "0x" + 40 hex digits; mixed case
 *                      must be a valid EIP-55 checksum.
 *   CONFIG_BOOL        unused; bool. true|false|1|0|yes|no|on|off.
 *   CONFIG_DURATION_MS value in ms (.u); uint64_t. "[0-9]+(ms|s|m|h)?", bare = ms.
 *   CONFIG_HOSTPORT    length bytes (.u); char[dest_size]. "host:port",
 *                      host = name/IPv4 or "[IPv6]", port 1..65535.
 *   CONFIG_LOG_LEVEL   unused; enum log_level. debug|info|warn|error.
 *
 * Key files: config_read_key_file() reads a hex secret from a file that must
 * be a regular file with no group/other permission bits (0600 or stricter).
 */
#ifndef COMMON_CONFIG_H
#define COMMON_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "check.h"
#include "err.h"
#include "log.h"

#define CONFIG_ENTRIES_MAX 64
#define CONFIG_VALUE_BYTES_MAX 4096
#define CONFIG_KEY_FILE_BYTES_MAX 4096
#define CONFIG_URL_BYTES_MAX 2048
#define CONFIG_PATH_BYTES_MAX 1024
#define CONFIG_HOSTPORT_BYTES_MAX 300
#define CONFIG_DATABASE_URL_BYTES_MAX 1024
#define CONFIG_SIWE_DOMAIN_BYTES_MAX 253
#define CONFIG_CHAIN_ID_MAX ((uint64_t)1 << 53) /* JavaScript-safe, per EIP-2294 */
#define CONFIG_CONFIRMATIONS_MAX 1000
#define CONFIG_ADDRESS_BYTES 20
/* MAX_FEE_PER_GAS_WEI: the most the services ever bid per gas (decimal wei).
 * The default (no suffix: it is also the table's default text) is 500 gwei;
 * the maximum, 1,000,000 gwei, only rejects typos. */
#define CONFIG_MAX_FEE_PER_GAS_WEI_DEFAULT 500000000000
#define CONFIG_MAX_FEE_PER_GAS_WEI_MAX ((uint64_t)1000000000000000)

/* Stable result codes; numbers are never reused. */
enum config_result {
    CONFIG_OK = 0,
    CONFIG_ERR_INVALID = 1,      /* config_load: one or more variables are bad */
    CONFIG_ERR_MISSING = 2,      /* required and unset/empty, no default */
    CONFIG_ERR_TOO_LONG = 3,     /* longer than max or CONFIG_VALUE_BYTES_MAX */
    CONFIG_ERR_TOO_SHORT = 4,    /* shorter than min */
    CONFIG_ERR_BAD_CHAR = 5,     /* control byte in a string or path */
    CONFIG_ERR_NOT_NUMBER = 6,   /* not a decimal integer */
    CONFIG_ERR_OUT_OF_RANGE = 7, /* below min, above max, or overflows */
    CONFIG_ERR_BAD_BOOL = 8,
    CONFIG_ERR_BAD_DURATION = 9,
    CONFIG_ERR_BAD_URL = 10,
    CONFIG_ERR_BAD_SCHEME = 11, /* URL scheme not in the entry's list */
    CONFIG_ERR_BAD_ADDRESS = 12,
    CONFIG_ERR_BAD_CHECKSUM = 13, /* mixed-case address failing EIP-55 */
    CONFIG_ERR_BAD_HOSTPORT = 14,
    CONFIG_ERR_BAD_LOG_LEVEL = 15,
    CONFIG_ERR_KEY_OPEN = 16,        /* key file cannot be opened/stat'ed */
    CONFIG_ERR_KEY_NOT_REGULAR = 17, /* key path is not a regular file */
    CONFIG_ERR_KEY_MODE = 18,        /* group/other permission bits set */
    CONFIG_ERR_KEY_SIZE = 19,        /* file larger than CONFIG_KEY_FILE_BYTES_MAX */
    CONFIG_ERR_KEY_FORMAT = 20,      /* not (0x-prefixed) hex with an even digit count */
    CONFIG_ERR_KEY_LENGTH = 21,      /* decoded length outside [min, max] */
    CONFIG_ERR_KEY_READ = 22         /* read(2) failed */
};

enum config_type {
    CONFIG_STRING = 1,
    CONFIG_INT = 2,
    CONFIG_U64 = 3,
    CONFIG_URL = 4,
    CONFIG_PATH = 5,
    CONFIG_ADDRESS = 6,
    CONFIG_BOOL = 7,
    CONFIG_DURATION_MS = 8,
    CONFIG_HOSTPORT = 9,
    CONFIG_LOG_LEVEL = 10
};

union config_bound {
    int64_t i;  /* CONFIG_INT */
    uint64_t u; /* everything else (values or lengths, see above) */
};

struct config_entry {
    const char *name; /* environment variable, e.g. "CHAIN_ID" */
    enum config_type type;
    bool required;            /* unset and no default is an error */
    bool secret;              /* never quote the value in messages */
    const char *default_text; /* NULL = no default */
    union config_bound min;
    union config_bound max;
    const char *const *schemes; /* CONFIG_URL: allowed schemes, NULL = any */
    size_t schemes_len;
    void *dest;       /* typed per enum config_type (see top) */
    size_t dest_size; /* bytes at dest; strings need max.u + 1 */
    bool *is_set_out; /* optional: set to whether a value was stored */
};

struct config_error {
    const char *name; /* borrowed from the table */
    struct err e;     /* e.code is an enum config_result */
};

/* Caller-owned; config_load fills it. Room for one error per entry. */
struct config_errors {
    size_t count;
    struct config_error items[CONFIG_ENTRIES_MAX];
};

/* The project's variables (docs/architecture.md "Configuration"), filled by config_load_app(). */
struct app_config {
    char database_url[CONFIG_DATABASE_URL_BYTES_MAX + 1]; /* required, no default */
    char eth_rpc_url[CONFIG_URL_BYTES_MAX + 1];           /* http://127.0.0.1:8545 */
    uint64_t chain_id;                                    /* 31337, 1..2^53 */
    uint8_t vault_address[CONFIG_ADDRESS_BYTES];          /* optional */
    bool vault_address_set;
    char operator_key_file[CONFIG_PATH_BYTES_MAX + 1];     /* var/operator.key */
    char auth_secret_file[CONFIG_PATH_BYTES_MAX + 1];      /* var/auth.secret */
    char siwe_domain[CONFIG_SIWE_DOMAIN_BYTES_MAX + 1];    /* localhost:8080 */
    uint64_t confirmations;                                /* 2, 0..1000 */
    char media_dir[CONFIG_PATH_BYTES_MAX + 1];             /* var/media */
    char gateway_listen[CONFIG_HOSTPORT_BYTES_MAX + 1];    /* 127.0.0.1:8080 */
    char settlement_listen[CONFIG_HOSTPORT_BYTES_MAX + 1]; /* 127.0.0.1:8081 */
    enum log_level log_level;                              /* info */
    uint64_t max_fee_per_gas_wei; /* 500 gwei, 1..CONFIG_MAX_FEE_PER_GAS_WEI_MAX */
    char web_dir[CONFIG_PATH_BYTES_MAX + 1]; /* services/gateway/web: the fan page's files */
};
#define CONFIG_APP_ENTRIES 14

/* Lookup callbacks: return the value of `name` or NULL when unset. */
/* ctx unused; reads the process environment (the project's only getenv). */
const char *config_lookup_env(void *ctx, const char *name);
/* ctx is a NULL-terminated environ-style array of "NAME=value" strings. */
const char *config_lookup_envp(void *ctx, const char *name);

/* Validates every entry of table[0..table_len) (table_len <=
 * CONFIG_ENTRIES_MAX) and stores the valid ones. `errs` receives one item per
 * bad variable, in table order. Returns CONFIG_OK when errs->count == 0,
 * else CONFIG_ERR_INVALID. A malformed table (NULL dest, bad default, ...) is
 * a bug and asserts. */
WUR enum config_result config_load(const struct config_entry *table, size_t table_len,
                                   const char *(*lookup)(void *ctx, const char *name),
                                   void *lookup_ctx, struct config_errors *errs);

/* Fills table_out[0..CONFIG_APP_ENTRIES) with the project table pointing into
 * `cfg`; table_cap must be >= CONFIG_APP_ENTRIES. Returns the entry count. */
size_t config_build_app_table(struct config_entry *table_out, size_t table_cap,
                              struct app_config *cfg);

/* Zeroes `cfg` and loads the project table. Same result as config_load. */
WUR enum config_result config_load_app(struct app_config *cfg,
                                       const char *(*lookup)(void *ctx, const char *name),
                                       void *lookup_ctx, struct config_errors *errs);

/* Zeroes `cfg` and loads only the variables named in `names` (a
 * NULL-terminated list of names of the project table, each at most once:
 * anything else is a bug). The others stay zero. Same result as
 * config_load. */
WUR enum config_result config_load_app_names(struct app_config *cfg, const char *const *names,
                                             const char *(*lookup)(void *ctx, const char *name),
                                             void *lookup_ctx, struct config_errors *errs);

/* Logs one error line per bad variable: msg="invalid configuration" var=NAME
 * code=N error="...". */
void config_errors_log(const struct config_errors *errs, const struct logger *lg);

/* Reads a hex secret (optional 0x, surrounding whitespace ignored) from
 * `path` into key_out[0..key_len_max). The file must be a regular file of at
 * most CONFIG_KEY_FILE_BYTES_MAX bytes with no group/other permission bits
 * (mode 0600 or stricter); the decoded length must lie in
 * [key_len_min, key_len_max]. Temporaries are wiped; on failure key_out is
 * wiped too. Messages name the path, never the contents. Returns CONFIG_OK or
 * one of the CONFIG_ERR_KEY_* codes. */
WUR enum config_result config_read_key_file(uint8_t *key_out, size_t *key_len_out,
                                            size_t key_len_min, size_t key_len_max,
                                            const char *path, struct err *e);

#endif
