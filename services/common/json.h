/*
 * json.h - a bounded JSON request-body reader: explicit limits, a field table
 * per handler, stable result codes and messages that name the field.
 *
 * Names: every function and type is prefixed json_body_ so that nothing
 * clashes with jansson's json_ namespace.
 *
 * What json_body_parse() checks, in this order (the first failure wins):
 *   1. size: body_len <= limits.body_bytes_max (JSON_BODY_ERR_TOO_LARGE);
 *   2. encoding: the whole body is valid UTF-8 (no overlong forms, no
 *      surrogates, nothing above U+10FFFF) (JSON_BODY_ERR_UTF8);
 *   3. a non-recursive pre-scan of the text, before jansson sees it: nesting
 *      depth <= limits.depth_max (JSON_BODY_ERR_TOO_DEEP), every string
 *      (keys too) at most limits.string_bytes_max bytes once unescaped
 *      (JSON_BODY_ERR_STRING_TOO_LONG), no "\u0000" in a string
 *      (JSON_BODY_ERR_NUL), at most limits.items_max items per array and
 *      members per object (JSON_BODY_ERR_TOO_MANY_ITEMS);
 *   4. jansson parses it (JSON_REJECT_DUPLICATES): JSON_BODY_ERR_DUPLICATE_KEY
 *      or JSON_BODY_ERR_MALFORMED (an empty body is malformed);
 *   5. the top level is an object (JSON_BODY_ERR_NOT_OBJECT);
 *   6. its members against the handler's field table (json_body_check_fields):
 *      no member without a table row (JSON_BODY_ERR_UNKNOWN_FIELD), every
 *      required row present (JSON_BODY_ERR_MISSING_FIELD), each value of its
 *      row's type (JSON_BODY_ERR_WRONG_TYPE) and within the row's bounds
 *      (JSON_BODY_ERR_BAD_VALUE). Objects and arrays of objects with a nested
 *      table are checked the same way, and messages give the whole path:
 *        "field 'shares' is not an array"
 *        "field 'shares[2].bps' is missing"
 *        "unknown field 'shares[0].extra'"
 *
 * HTTP: json_body_http_status() maps a result to the status to answer: 413
 * for the size, 400 for what is not well-formed bounded JSON (steps 2-5),
 * 422 for a well-formed body that does not match the table (step 6), 500 for
 * NOMEM. e->msg is meant for the problem+json "detail": it names the field
 * or offset and quotes untrusted text with err_quote().
 *
 * Ownership: on JSON_BODY_OK *out is a new jansson reference owned by the
 * caller (json_decref); on failure *out is NULL. Field tables, names and
 * limits are the caller's (usually static const) and are not kept. The
 * getters return pointers INTO the json_t, valid while the caller holds it.
 *
 * Limits: the caller's struct json_body_limits (NULL = the defaults below),
 * each at most its hard maximum JSON_BODY_*_MAX (a larger or zero limit is a
 * bug: asserted). Nested tables at most JSON_BODY_TABLE_DEPTH_MAX deep,
 * field paths in messages at most JSON_BODY_PATH_BYTES_MAX bytes.
 *
 * Thread-safety: no state; safe from any thread.
 */
#ifndef COMMON_JSON_H
#define COMMON_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "address.h"
#include "check.h"
#include "err.h"
#include "problem.h"
#include "u256.h"

/* Hard maxima for the limits. */
#define JSON_BODY_BYTES_MAX ((size_t)1 << 20)
#define JSON_BODY_DEPTH_MAX 64
#define JSON_BODY_STRING_BYTES_MAX ((size_t)64 * 1024)
#define JSON_BODY_ITEMS_MAX 10000
/* Defaults (json_body_limits_default). */
#define JSON_BODY_BYTES_DEFAULT ((size_t)64 * 1024)
#define JSON_BODY_DEPTH_DEFAULT 16
#define JSON_BODY_STRING_BYTES_DEFAULT ((size_t)8 * 1024)
#define JSON_BODY_ITEMS_DEFAULT 1000

#define JSON_BODY_TABLE_DEPTH_MAX 4  /* nested field tables */
#define JSON_BODY_TABLE_ROWS_MAX 64  /* rows of one table */
#define JSON_BODY_PATH_BYTES_MAX 96  /* "a.b[12].c" in messages */
#define JSON_BODY_HEX_BYTES_MAX 1024 /* decoded bytes of a JSON_BODY_HEX value */

/* Stable result codes; numbers are never reused. */
enum json_body_result {
    JSON_BODY_OK = 0,
    JSON_BODY_ERR_TOO_LARGE = 1,       /* body above limits.body_bytes_max (413) */
    JSON_BODY_ERR_MALFORMED = 2,       /* not JSON (jansson's line/column in the message) */
    JSON_BODY_ERR_UTF8 = 3,            /* invalid UTF-8 (byte offset in the message) */
    JSON_BODY_ERR_NUL = 4,             /* "\u0000" inside a string */
    JSON_BODY_ERR_TOO_DEEP = 5,        /* nesting above limits.depth_max */
    JSON_BODY_ERR_STRING_TOO_LONG = 6, /* a string or key above limits.string_bytes_max */
    JSON_BODY_ERR_TOO_MANY_ITEMS = 7,  /* an array/object above limits.items_max */
    JSON_BODY_ERR_DUPLICATE_KEY = 8,   /* the same key twice in one object */
    JSON_BODY_ERR_NOT_OBJECT = 9,      /* top level (or a tabled value) is not an object */
    JSON_BODY_ERR_UNKNOWN_FIELD = 10,  /* a member the table does not list (422) */
    JSON_BODY_ERR_MISSING_FIELD = 11,  /* a required member is absent (422) */
    JSON_BODY_ERR_WRONG_TYPE = 12,     /* a member of another JSON type (422) */
    JSON_BODY_ERR_BAD_VALUE = 13,      /* right type, outside the row's bounds/format (422) */
    JSON_BODY_ERR_NOMEM = 14
};

/* What a member must be. Numbers are stable. */
enum json_body_type {
    JSON_BODY_ANY = 0,     /* any JSON value (only as an array's item_type) */
    JSON_BODY_STRING = 1,  /* string of len_min..len_max bytes */
    JSON_BODY_DECIMAL = 2, /* string: canonical decimal u256 (wei): "0" or 1-78 digits, no
                              leading zero, at most 2^256-1 */
    JSON_BODY_INTEGER = 3, /* JSON integer (not 1.0) in int_min..int_max */
    JSON_BODY_BOOL = 4,    /* true or false */
    JSON_BODY_OBJECT = 5,  /* object; with `fields`, its members are checked by that table */
    JSON_BODY_ARRAY = 6,   /* array of len_min..len_max items, each of item_type */
    JSON_BODY_HEX = 7,     /* string "0x" + an even number of hex digits (either case) giving
                              len_min..len_max bytes, e.g. a tx hash with both 32 */
    JSON_BODY_ADDRESS = 8  /* string address: lowercase, uppercase or EIP-55 (address_parse) */
};

/* One row of a field table. */
struct json_body_field {
    const char *name;         /* member name, NUL-terminated */
    enum json_body_type type; /* never JSON_BODY_ANY */
    bool required;            /* absent -> JSON_BODY_ERR_MISSING_FIELD */
    bool nullable;            /* JSON null accepted (the getters then report "absent") */
    /* STRING: bytes; ARRAY: items; HEX: decoded bytes. len_max 0 = the
     * limits' string_bytes_max / items_max (HEX: JSON_BODY_HEX_BYTES_MAX).
     * len_min defaults to 0. Ignored for the other types. */
    size_t len_min, len_max;
    int64_t int_min, int_max; /* INTEGER (and INTEGER items): inclusive bounds; set both */
    /* ARRAY only: each item's type (ANY = unchecked). Items have no length
     * bounds of their own: STRING items up to the limits' string maximum,
     * HEX items up to JSON_BODY_HEX_BYTES_MAX; INTEGER items use int_min/max. */
    enum json_body_type item_type;
    /* OBJECT, or ARRAY whose item_type is OBJECT: the nested table (NULL =
     * any members). At most JSON_BODY_TABLE_DEPTH_MAX tables deep. */
    const struct json_body_field *fields;
    size_t fields_len;
};

struct json_body_limits {
    size_t body_bytes_max;   /* 1..JSON_BODY_BYTES_MAX */
    uint32_t depth_max;      /* 1..JSON_BODY_DEPTH_MAX; {} is depth 1 */
    size_t string_bytes_max; /* 1..JSON_BODY_STRING_BYTES_MAX, unescaped bytes */
    size_t items_max;        /* 1..JSON_BODY_ITEMS_MAX, per array / object */
};

void json_body_limits_default(struct json_body_limits *limits);

/* Parses and checks body[0..body_len) (need not be NUL-terminated) as
 * described at the top. limits NULL = defaults. The table
 * fields[0..fields_len) must be valid (names unique and non-empty, types
 * known, bounds ordered: asserted). On JSON_BODY_OK *out is a new reference
 * to the object; otherwise NULL and `e` says what failed. */
WUR enum json_body_result json_body_parse(json_t **out, const char *body, size_t body_len,
                                          const struct json_body_limits *limits,
                                          const struct json_body_field *fields, size_t fields_len,
                                          struct err *e);

/* Step 6 alone, for an object the caller already holds (e.g. an item it
 * validates itself): `obj` against fields[0..fields_len). `path` (may be
 * NULL or "") prefixes member names in messages ("shares[1]" gives
 * "field 'shares[1].bps' ..."). String items without a len_max use
 * `limits` (NULL = defaults). */
WUR enum json_body_result
json_body_check_fields(const json_t *obj, const struct json_body_field *fields, size_t fields_len,
                       const struct json_body_limits *limits, const char *path, struct err *e);

/* 413, 400, 422 or 500 for a failure (see the top); 200 for JSON_BODY_OK. */
int json_body_http_status(enum json_body_result r);

/* The problem kind of that status (body-too-large, bad-request,
 * unprocessable, internal), for answering a failed parse. */
enum problem_kind json_body_problem_kind(enum json_body_result r);

/* ---- getters for members a table has validated ----------------------------
 * Each returns false when the member is absent or null (an optional field),
 * and also when it is not of the getter's type (a caller bug: the field was
 * not in the table). Outputs are written only on true. */

/* *text_out points into obj (NUL-terminated; no NUL inside after
 * validation); *len_out (may be NULL) its length in bytes. */
WUR bool json_body_get_string(const char **text_out, size_t *len_out, const json_t *obj,
                              const char *name);
/* A JSON_BODY_DECIMAL member. */
WUR bool json_body_get_u256(struct u256 *out, const json_t *obj, const char *name);
WUR bool json_body_get_int(int64_t *out, const json_t *obj, const char *name);
WUR bool json_body_get_bool(bool *out, const json_t *obj, const char *name);
/* A JSON_BODY_HEX member into out[0..out_cap); *out_len the decoded length. */
WUR bool json_body_get_hex(uint8_t *out, size_t out_cap, size_t *out_len, const json_t *obj,
                           const char *name);
WUR bool json_body_get_address(struct address *out, const json_t *obj, const char *name);
/* An OBJECT or ARRAY member (borrowed reference), NULL when absent or null. */
const json_t *json_body_get_object(const json_t *obj, const char *name);
const json_t *json_body_get_array(const json_t *obj, const char *name);

#endif
