/* json.c - see json.h. Layers: byte checks (UTF-8, the non-recursive
 * pre-scan) -> jansson -> the field-table walk (its recursion follows the
 * caller's tables, at most JSON_BODY_TABLE_DEPTH_MAX deep, never the input's
 * own nesting) -> getters. */
#include "json.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "hex.h"

/* One open array or object during the pre-scan. */
struct json_body_level {
    bool is_array;
    bool fresh;   /* nothing but white space since it opened */
    size_t items; /* items / members seen so far */
};

/* The pre-scan's state: where it is and what is open. */
struct json_body_scan {
    const struct json_body_limits *limits;
    struct json_body_level level[JSON_BODY_DEPTH_MAX + 1];
    uint32_t depth;
};

static void json_body_check_limits(const struct json_body_limits *l);
static void json_body_check_table(const struct json_body_field *fields, size_t fields_len);
static const struct json_body_limits *json_body_prepare(struct json_body_limits *def,
                                                        const struct json_body_limits *limits,
                                                        const struct json_body_field *fields,
                                                        size_t fields_len);
static size_t json_body_utf8_seq(const uint8_t *s, size_t n);
static enum json_body_result json_body_check_utf8(const char *body, size_t len, struct err *e);
static bool json_body_hex4(unsigned *out, const char *s, size_t n);
static size_t json_body_escape(const char *s, size_t n, size_t *decoded, bool *nul);
static enum json_body_result json_body_scan_string(size_t *end_out, const char *s, size_t n,
                                                   size_t start, size_t bytes_max, struct err *e);
static enum json_body_result json_body_scan_item(struct json_body_scan *sc, size_t at, bool comma,
                                                 struct err *e);
static enum json_body_result json_body_prescan(const char *body, size_t len,
                                               const struct json_body_limits *l, struct err *e);
static void json_body_error_text(char *out, size_t out_size, const json_error_t *je);
static void json_body_duplicate_key(char *out, size_t out_size, const json_error_t *je);
static enum json_body_result json_body_load(json_t **out, const char *body, size_t len,
                                            struct err *e);
static void json_body_path_key(char *out, size_t out_size, const char *path, const char *name);
static void json_body_path_index(char *out, size_t out_size, const char *path, size_t index);
static const char *json_body_type_name(enum json_body_type t);
static bool json_body_type_matches(enum json_body_type t, const json_t *v);
static enum json_body_result json_body_check_string_len(const json_t *v, const char *path,
                                                        size_t len_min, size_t len_max,
                                                        struct err *e);
static enum json_body_result json_body_check_text(const struct json_body_field *row,
                                                  const json_t *v, const char *path,
                                                  size_t string_max, struct err *e);
static enum json_body_result json_body_check_array(const struct json_body_field *row,
                                                   const json_t *v, const char *path,
                                                   const struct json_body_limits *l,
                                                   unsigned table_depth, struct err *e);
static enum json_body_result json_body_check_value(const struct json_body_field *row,
                                                   const json_t *v, const char *path,
                                                   const struct json_body_limits *l,
                                                   unsigned table_depth, struct err *e);
static enum json_body_result
json_body_check_members(const json_t *obj, const struct json_body_field *fields, size_t fields_len,
                        const struct json_body_limits *l, const char *path, unsigned table_depth,
                        struct err *e);
static const json_t *json_body_member(const json_t *obj, const char *name);

/* ---- limits -------------------------------------------------------------------------- */

void json_body_limits_default(struct json_body_limits *limits)
{
    limits->body_bytes_max = JSON_BODY_BYTES_DEFAULT;
    limits->depth_max = JSON_BODY_DEPTH_DEFAULT;
    limits->string_bytes_max = JSON_BODY_STRING_BYTES_DEFAULT;
    limits->items_max = JSON_BODY_ITEMS_DEFAULT;
}

/* The limits to use (limits, or the defaults in *def), asserted with the table. */
static const struct json_body_limits *json_body_prepare(struct json_body_limits *def,
                                                        const struct json_body_limits *limits,
                                                        const struct json_body_field *fields,
                                                        size_t fields_len)
{
    if (limits == NULL) {
        json_body_limits_default(def);
        limits = def;
    }
    json_body_check_limits(limits);
    json_body_check_table(fields, fields_len);
    return limits;
}

/* Limits come from code: out of range is a bug. */
static void json_body_check_limits(const struct json_body_limits *l)
{
    ASSERT(l->body_bytes_max >= 1 && l->body_bytes_max <= JSON_BODY_BYTES_MAX);
    ASSERT(l->depth_max >= 1 && l->depth_max <= JSON_BODY_DEPTH_MAX);
    ASSERT(l->string_bytes_max >= 1 && l->string_bytes_max <= JSON_BODY_STRING_BYTES_MAX);
    ASSERT(l->items_max >= 1 && l->items_max <= JSON_BODY_ITEMS_MAX);
}

int json_body_http_status(enum json_body_result r)
{
    switch (r) {
    case JSON_BODY_OK:
        return 200;
    case JSON_BODY_ERR_TOO_LARGE:
        return 413;
    case JSON_BODY_ERR_UNKNOWN_FIELD:
    case JSON_BODY_ERR_MISSING_FIELD:
    case JSON_BODY_ERR_WRONG_TYPE:
    case JSON_BODY_ERR_BAD_VALUE:
        return 422;
    case JSON_BODY_ERR_NOMEM:
        return 500;
    default:
        return 400;
    }
}

enum problem_kind json_body_problem_kind(enum json_body_result r)
{
    switch (json_body_http_status(r)) {
    case 413:
        return PROBLEM_BODY_TOO_LARGE;
    case 422:
        return PROBLEM_UNPROCESSABLE;
    case 500:
        return PROBLEM_INTERNAL;
    default:
        return PROBLEM_BAD_REQUEST;
    }
}

/* ---- bytes: UTF-8 and the pre-scan ---------------------------------------------------- */

/* Length of the valid UTF-8 sequence at s[0..n), 0 if invalid (RFC 3629:
 * no overlong forms, no surrogates, at most U+10FFFF). */
static size_t json_body_utf8_seq(const uint8_t *s, size_t n)
{
    uint8_t c = s[0];
    if (c < 0x80)
        return 1;
    size_t len = c >= 0xc2 && c <= 0xdf   ? 2
                 : c >= 0xe0 && c <= 0xef ? 3
                 : c >= 0xf0 && c <= 0xf4 ? 4
                                          : 0;
    if (len == 0 || len > n)
        return 0;
    for (size_t i = 1; i < len; i++)
        if ((s[i] & 0xc0) != 0x80)
            return 0;
    if ((c == 0xe0 && s[1] < 0xa0) || (c == 0xed && s[1] > 0x9f) || /* overlong, surrogate */
        (c == 0xf0 && s[1] < 0x90) || (c == 0xf4 && s[1] > 0x8f))   /* overlong, > U+10FFFF */
        return 0;
    return len;
}

static enum json_body_result json_body_check_utf8(const char *body, size_t len, struct err *e)
{
    const uint8_t *s = (const uint8_t *)body;
    size_t i = 0;
    while (i < len) {
        size_t k = json_body_utf8_seq(s + i, len - i);
        if (k == 0)
            return err_set(e, JSON_BODY_ERR_UTF8, "invalid utf-8 at byte offset %zu", i);
        i += k;
    }
    return JSON_BODY_OK;
}

static bool json_body_hex4(unsigned *out, const char *s, size_t n)
{
    if (n < 4)
        return false;
    unsigned v = 0;
    for (size_t i = 0; i < 4; i++) {
        int d = hex_digit_value(s[i]);
        if (d < 0)
            return false;
        v = v << 4 | (unsigned)d;
    }
    *out = v;
    return true;
}

/* An escape at s[0] == '\\': returns the bytes it spans (at least 1) and adds
 * to *decoded the UTF-8 bytes it stands for. A malformed escape is left to
 * jansson (counted as one byte). */
static size_t json_body_escape(const char *s, size_t n, size_t *decoded, bool *nul)
{
    unsigned cu = 0, lo = 0;
    if (n < 2)
        return 1;
    if (s[1] != 'u' || !json_body_hex4(&cu, s + 2, n - 2)) {
        *decoded += 1;
        return 2;
    }
    *nul |= cu == 0;
    if (cu >= 0xd800 && cu <= 0xdbff && n >= 12 && s[6] == '\\' && s[7] == 'u' &&
        json_body_hex4(&lo, s + 8, n - 8) && lo >= 0xdc00 && lo <= 0xdfff) {
        *decoded += 4; /* a surrogate pair: one code point above U+FFFF */
        return 12;
    }
    *decoded += cu < 0x80 ? 1 : cu < 0x800 ? 2 : 3;
    return 6;
}

/* The string whose opening quote is s[start]: sets *end_out past its
 * closing quote (or to n when unterminated: jansson reports that). */
static enum json_body_result json_body_scan_string(size_t *end_out, const char *s, size_t n,
                                                   size_t start, size_t bytes_max, struct err *e)
{
    size_t i = start + 1, decoded = 0;
    bool nul = false;
    while (i < n && s[i] != '"') {
        if (s[i] == '\\') {
            i += json_body_escape(s + i, n - i, &decoded, &nul);
        } else {
            decoded++;
            i++;
        }
        if (nul)
            return err_set(e, JSON_BODY_ERR_NUL, "string at byte offset %zu contains \\u0000",
                           start);
        if (decoded > bytes_max)
            return err_set(e, JSON_BODY_ERR_STRING_TOO_LONG,
                           "string at byte offset %zu is longer than %zu bytes", start, bytes_max);
    }
    *end_out = i < n ? i + 1 : n;
    return JSON_BODY_OK;
}

/* A value or member starts (comma false) or a comma follows one (comma
 * true) inside the innermost open container. */
static enum json_body_result json_body_scan_item(struct json_body_scan *sc, size_t at, bool comma,
                                                 struct err *e)
{
    if (sc->depth == 0)
        return JSON_BODY_OK;
    struct json_body_level *lv = &sc->level[sc->depth];
    if (comma)
        lv->items++;
    else if (lv->fresh)
        lv->items = 1;
    lv->fresh = false;
    if (lv->items > sc->limits->items_max)
        return err_set(e, JSON_BODY_ERR_TOO_MANY_ITEMS,
                       "%s near byte offset %zu has more than %zu %s",
                       lv->is_array ? "array" : "object", at, sc->limits->items_max,
                       lv->is_array ? "items" : "members");
    return JSON_BODY_OK;
}

/* Depth, string lengths, NULs and item counts, without recursion and before
 * jansson allocates anything. Not a validator: malformed text is left to
 * jansson, so only the limits are judged here. */
static enum json_body_result json_body_prescan(const char *body, size_t len,
                                               const struct json_body_limits *l, struct err *e)
{
    struct json_body_scan sc = {.limits = l, .depth = 0};
    enum json_body_result r = JSON_BODY_OK;
    size_t i = 0;
    while (i < len && r == JSON_BODY_OK) {
        char c = body[i];
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == ':') {
            i++;
        } else if (c == ',') {
            r = json_body_scan_item(&sc, i++, true, e);
        } else if (c == ']' || c == '}') {
            sc.depth -= sc.depth > 0;
            i++;
        } else if ((r = json_body_scan_item(&sc, i, false, e)) != JSON_BODY_OK) {
            break;
        } else if (c == '"') {
            r = json_body_scan_string(&i, body, len, i, l->string_bytes_max, e);
        } else if (c == '[' || c == '{') {
            if (sc.depth + 1 > l->depth_max)
                return err_set(e, JSON_BODY_ERR_TOO_DEEP,
                               "json nested deeper than %" PRIu32 " at byte offset %zu",
                               l->depth_max, i);
            sc.level[++sc.depth] = (struct json_body_level){c == '[', true, 0};
            i++;
        } else {
            i++; /* inside a number or literal */
        }
    }
    return r;
}

/* jansson's message as plain printable ASCII (it quotes source text). */
static void json_body_error_text(char *out, size_t out_size, const json_error_t *je)
{
    size_t n = strnlen(je->text, sizeof je->text), k = 0;
    for (size_t i = 0; i < n && k + 1 < out_size; i++) {
        unsigned char c = (unsigned char)je->text[i];
        out[k++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
    }
    out[k] = '\0';
}

/* The key of jansson's "duplicate object key near '\"key\"'", quoted. */
static void json_body_duplicate_key(char *out, size_t out_size, const json_error_t *je)
{
    static const char prefix[] = "duplicate object key near '";
    const char *t = je->text;
    size_t n = strnlen(t, sizeof je->text), p = sizeof prefix - 1;
    if (n >= p + 4 && memcmp(t, prefix, p) == 0 && t[p] == '"' && t[n - 2] == '"' &&
        t[n - 1] == '\'') {
        err_quote(out, out_size, t + p + 1, n - p - 3);
        return;
    }
    err_quote(out, out_size, t, n);
}

static enum json_body_result json_body_load(json_t **out, const char *body, size_t len,
                                            struct err *e)
{
    json_error_t je;
    json_t *j = json_loadb(body, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &je);
    if (j != NULL) {
        *out = j;
        return JSON_BODY_OK;
    }
    char text[96];
    if (json_error_code(&je) == json_error_out_of_memory)
        return err_set(e, JSON_BODY_ERR_NOMEM, "out of memory parsing json");
    if (json_error_code(&je) == json_error_duplicate_key) {
        json_body_duplicate_key(text, sizeof text, &je);
        return err_set(e, JSON_BODY_ERR_DUPLICATE_KEY, "duplicate key '%s' at line %d column %d",
                       text, je.line, je.column);
    }
    if (len == 0)
        return err_set(e, JSON_BODY_ERR_MALFORMED, "body is empty");
    json_body_error_text(text, sizeof text, &je);
    return err_set(e, JSON_BODY_ERR_MALFORMED, "malformed json at line %d column %d: %s", je.line,
                   je.column, text);
}

enum json_body_result json_body_parse(json_t **out, const char *body, size_t body_len,
                                      const struct json_body_limits *limits,
                                      const struct json_body_field *fields, size_t fields_len,
                                      struct err *e)
{
    struct json_body_limits def;
    limits = json_body_prepare(&def, limits, fields, fields_len);
    *out = NULL;
    if (body_len > limits->body_bytes_max)
        return err_set(e, JSON_BODY_ERR_TOO_LARGE, "body is larger than %zu bytes",
                       limits->body_bytes_max);
    ASSERT(body != NULL || body_len == 0);
    json_t *root = NULL;
    enum json_body_result r = json_body_check_utf8(body, body_len, e);
    if (r == JSON_BODY_OK)
        r = json_body_prescan(body, body_len, limits, e);
    if (r == JSON_BODY_OK)
        r = json_body_load(&root, body != NULL ? body : "", body_len, e);
    if (r == JSON_BODY_OK && !json_is_object(root))
        r = err_set(e, JSON_BODY_ERR_NOT_OBJECT, "body is not a json object");
    if (r == JSON_BODY_OK)
        r = json_body_check_members(root, fields, fields_len, limits, "", 0, e);
    if (r != JSON_BODY_OK) {
        json_decref(root);
        return r;
    }
    *out = root;
    return JSON_BODY_OK;
}

/* ---- the field table ------------------------------------------------------------------ */

/* "path.name" (or "name") into out; cut paths end in "...". */
static void json_body_path_key(char *out, size_t out_size, const char *path, const char *name)
{
    bool top = path == NULL || path[0] == '\0';
    int n = snprintf(out, out_size, "%s%s%s", top ? "" : path, top ? "" : ".", name);
    if (n < 0 || (size_t)n >= out_size)
        memcpy(out + out_size - 4, "...", 4);
}

static void json_body_path_index(char *out, size_t out_size, const char *path, size_t index)
{
    int n = snprintf(out, out_size, "%s[%zu]", path != NULL ? path : "", index);
    if (n < 0 || (size_t)n >= out_size)
        memcpy(out + out_size - 4, "...", 4);
}

/* Tables come from code: a bad one is a bug. */
static void json_body_check_table(const struct json_body_field *fields, size_t fields_len)
{
    ASSERT(fields != NULL || fields_len == 0);
    ASSERT(fields_len <= JSON_BODY_TABLE_ROWS_MAX);
    for (size_t i = 0; i < fields_len; i++) {
        const struct json_body_field *f = &fields[i];
        ASSERT(f->name != NULL && f->name[0] != '\0');
        ASSERT(f->type >= JSON_BODY_STRING && f->type <= JSON_BODY_ADDRESS);
        ASSERT(f->len_max == 0 || f->len_min <= f->len_max);
        ASSERT(f->type != JSON_BODY_INTEGER || f->int_min <= f->int_max);
        ASSERT(f->type != JSON_BODY_HEX || f->len_max <= JSON_BODY_HEX_BYTES_MAX);
        ASSERT(f->item_type >= JSON_BODY_ANY && f->item_type <= JSON_BODY_ADDRESS);
        ASSERT(f->fields != NULL || f->fields_len == 0);
        for (size_t j = 0; j < i; j++)
            ASSERT(strcmp(fields[j].name, f->name) != 0);
    }
}

static const char *json_body_type_name(enum json_body_type t)
{
    static const char *const names[] = {[JSON_BODY_ANY] = "a value",
                                        [JSON_BODY_STRING] = "a string",
                                        [JSON_BODY_DECIMAL] = "a decimal string",
                                        [JSON_BODY_INTEGER] = "an integer",
                                        [JSON_BODY_BOOL] = "a boolean",
                                        [JSON_BODY_OBJECT] = "an object",
                                        [JSON_BODY_ARRAY] = "an array",
                                        [JSON_BODY_HEX] = "a hex string",
                                        [JSON_BODY_ADDRESS] = "an address string"};
    ASSERT((size_t)t < sizeof names / sizeof names[0]);
    return names[t];
}

static bool json_body_type_matches(enum json_body_type t, const json_t *v)
{
    switch (t) {
    case JSON_BODY_ANY:
        return true;
    case JSON_BODY_INTEGER:
        return json_is_integer(v);
    case JSON_BODY_BOOL:
        return json_is_boolean(v);
    case JSON_BODY_OBJECT:
        return json_is_object(v);
    case JSON_BODY_ARRAY:
        return json_is_array(v);
    default:
        return json_is_string(v);
    }
}

static enum json_body_result json_body_check_string_len(const json_t *v, const char *path,
                                                        size_t len_min, size_t len_max,
                                                        struct err *e)
{
    size_t n = json_string_length(v);
    if (n < len_min)
        return err_set(e, JSON_BODY_ERR_BAD_VALUE, "field '%s' is shorter than %zu bytes", path,
                       len_min);
    if (n > len_max)
        return err_set(e, JSON_BODY_ERR_BAD_VALUE, "field '%s' is longer than %zu bytes", path,
                       len_max);
    return JSON_BODY_OK;
}

/* The string-typed rows: STRING, DECIMAL, HEX, ADDRESS. */
static enum json_body_result json_body_check_text(const struct json_body_field *row,
                                                  const json_t *v, const char *path,
                                                  size_t string_max, struct err *e)
{
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);
    struct u256 amount;
    struct address a;
    uint8_t bytes[JSON_BODY_HEX_BYTES_MAX];
    size_t bytes_len = 0, hex_max = row->len_max != 0 ? row->len_max : JSON_BODY_HEX_BYTES_MAX;
    switch (row->type) {
    case JSON_BODY_STRING:
        return json_body_check_string_len(v, path, row->len_min,
                                          row->len_max != 0 ? row->len_max : string_max, e);
    case JSON_BODY_DECIMAL:
        if (u256_from_dec(&amount, s, n, NULL) != U256_OK)
            return err_set(e, JSON_BODY_ERR_BAD_VALUE,
                           "field '%s' is not a decimal integer below 2^256 without leading "
                           "zeros",
                           path);
        return JSON_BODY_OK;
    case JSON_BODY_ADDRESS:
        if (address_parse(&a, s, n, NULL) != ADDRESS_OK)
            return err_set(e, JSON_BODY_ERR_BAD_VALUE,
                           "field '%s' is not a 0x address (lowercase or EIP-55)", path);
        return JSON_BODY_OK;
    default:
        ASSERT(row->type == JSON_BODY_HEX);
        if (n < 2 || s[0] != '0' || s[1] != 'x' || n - 2 > 2 * hex_max ||
            !hex_is_digits(s + 2, n - 2) ||
            hex_decode(bytes, sizeof bytes, &bytes_len, s + 2, n - 2, NULL) != HEX_OK)
            return err_set(e, JSON_BODY_ERR_BAD_VALUE,
                           "field '%s' is not 0x-prefixed hex of at most %zu bytes", path, hex_max);
        if (bytes_len < row->len_min)
            return err_set(e, JSON_BODY_ERR_BAD_VALUE, "field '%s' is shorter than %zu bytes", path,
                           row->len_min);
        return JSON_BODY_OK;
    }
}

static enum json_body_result json_body_check_array(const struct json_body_field *row,
                                                   const json_t *v, const char *path,
                                                   const struct json_body_limits *l,
                                                   unsigned table_depth, struct err *e)
{
    size_t n = json_array_size(v), n_max = row->len_max != 0 ? row->len_max : l->items_max;
    if (n < row->len_min)
        return err_set(e, JSON_BODY_ERR_BAD_VALUE, "field '%s' has fewer than %zu items", path,
                       row->len_min);
    if (n > n_max)
        return err_set(e, JSON_BODY_ERR_BAD_VALUE, "field '%s' has more than %zu items", path,
                       n_max);
    if (row->item_type == JSON_BODY_ANY)
        return JSON_BODY_OK;
    /* Each item is checked as a row of item_type with the array row's int
     * bounds and nested table, and no length bounds of its own. */
    struct json_body_field item = {.name = row->name,
                                   .type = row->item_type,
                                   .int_min = row->int_min,
                                   .int_max = row->int_max,
                                   .fields = row->fields,
                                   .fields_len = row->fields_len};
    for (size_t i = 0; i < n; i++) {
        char at[JSON_BODY_PATH_BYTES_MAX];
        json_body_path_index(at, sizeof at, path, i);
        enum json_body_result r =
            json_body_check_value(&item, json_array_get(v, i), at, l, table_depth, e);
        if (r != JSON_BODY_OK)
            return r;
    }
    return JSON_BODY_OK;
}

/* One present, non-null value `v` at `path` against `row`. */
static enum json_body_result json_body_check_value(const struct json_body_field *row,
                                                   const json_t *v, const char *path,
                                                   const struct json_body_limits *l,
                                                   unsigned table_depth, struct err *e)
{
    if (!json_body_type_matches(row->type, v))
        return err_set(e, JSON_BODY_ERR_WRONG_TYPE, "field '%s' is not %s", path,
                       json_body_type_name(row->type));
    switch (row->type) {
    case JSON_BODY_ANY:
    case JSON_BODY_BOOL:
        return JSON_BODY_OK;
    case JSON_BODY_INTEGER:
        if (json_integer_value(v) < row->int_min || json_integer_value(v) > row->int_max)
            return err_set(e, JSON_BODY_ERR_BAD_VALUE,
                           "field '%s' is not between %" PRId64 " and %" PRId64, path, row->int_min,
                           row->int_max);
        return JSON_BODY_OK;
    case JSON_BODY_OBJECT:
        if (row->fields == NULL)
            return JSON_BODY_OK;
        ASSERT(table_depth < JSON_BODY_TABLE_DEPTH_MAX);
        json_body_check_table(row->fields, row->fields_len);
        return json_body_check_members(v, row->fields, row->fields_len, l, path, table_depth + 1,
                                       e);
    case JSON_BODY_ARRAY:
        return json_body_check_array(row, v, path, l, table_depth, e);
    default:
        return json_body_check_text(row, v, path, l->string_bytes_max, e);
    }
}

static enum json_body_result
json_body_check_members(const json_t *obj, const struct json_body_field *fields, size_t fields_len,
                        const struct json_body_limits *l, const char *path, unsigned table_depth,
                        struct err *e)
{
    const char *key;
    const json_t *v;
    char at[JSON_BODY_PATH_BYTES_MAX];
    json_object_foreach((json_t *)obj, key, v)
    {
        bool known = false;
        for (size_t i = 0; i < fields_len && !known; i++)
            known = strcmp(fields[i].name, key) == 0;
        if (!known) {
            char quoted[64];
            err_quote(quoted, sizeof quoted, key, strlen(key));
            json_body_path_key(at, sizeof at, path, quoted);
            return err_set(e, JSON_BODY_ERR_UNKNOWN_FIELD, "unknown field '%s'", at);
        }
    }
    for (size_t i = 0; i < fields_len; i++) {
        const struct json_body_field *row = &fields[i];
        json_body_path_key(at, sizeof at, path, row->name);
        v = json_object_get(obj, row->name);
        if (v == NULL || (json_is_null(v) && row->nullable)) {
            if (v == NULL && row->required)
                return err_set(e, JSON_BODY_ERR_MISSING_FIELD, "field '%s' is missing", at);
            continue;
        }
        enum json_body_result r = json_body_check_value(row, v, at, l, table_depth, e);
        if (r != JSON_BODY_OK)
            return r;
    }
    return JSON_BODY_OK;
}

enum json_body_result
json_body_check_fields(const json_t *obj, const struct json_body_field *fields, size_t fields_len,
                       const struct json_body_limits *limits, const char *path, struct err *e)
{
    struct json_body_limits def;
    limits = json_body_prepare(&def, limits, fields, fields_len);
    bool top = path == NULL || path[0] == '\0';
    if (!json_is_object(obj) && top)
        return err_set(e, JSON_BODY_ERR_NOT_OBJECT, "value is not a json object");
    if (!json_is_object(obj))
        return err_set(e, JSON_BODY_ERR_NOT_OBJECT, "field '%s' is not a json object", path);
    return json_body_check_members(obj, fields, fields_len, limits, path, 0, e);
}

/* ---- getters ----------------------------------------------------------------------------- */

/* The member `name` of obj, NULL when absent or JSON null. */
static const json_t *json_body_member(const json_t *obj, const char *name)
{
    const json_t *v = json_is_object(obj) ? json_object_get(obj, name) : NULL;
    return v == NULL || json_is_null(v) ? NULL : v;
}

bool json_body_get_string(const char **text_out, size_t *len_out, const json_t *obj,
                          const char *name)
{
    const json_t *v = json_body_member(obj, name);
    if (!json_is_string(v))
        return false;
    *text_out = json_string_value(v);
    if (len_out != NULL)
        *len_out = json_string_length(v);
    return true;
}

bool json_body_get_u256(struct u256 *out, const json_t *obj, const char *name)
{
    const json_t *v = json_body_member(obj, name);
    return json_is_string(v) &&
           u256_from_dec(out, json_string_value(v), json_string_length(v), NULL) == U256_OK;
}

bool json_body_get_int(int64_t *out, const json_t *obj, const char *name)
{
    const json_t *v = json_body_member(obj, name);
    if (!json_is_integer(v))
        return false;
    *out = (int64_t)json_integer_value(v);
    return true;
}

bool json_body_get_bool(bool *out, const json_t *obj, const char *name)
{
    const json_t *v = json_body_member(obj, name);
    if (!json_is_boolean(v))
        return false;
    *out = json_is_true(v);
    return true;
}

bool json_body_get_hex(uint8_t *out, size_t out_cap, size_t *out_len, const json_t *obj,
                       const char *name)
{
    const json_t *v = json_body_member(obj, name);
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);
    return s != NULL && n >= 2 && s[0] == '0' && s[1] == 'x' && hex_is_digits(s + 2, n - 2) &&
           hex_decode(out, out_cap, out_len, s + 2, n - 2, NULL) == HEX_OK;
}

bool json_body_get_address(struct address *out, const json_t *obj, const char *name)
{
    const json_t *v = json_body_member(obj, name);
    return json_is_string(v) &&
           address_parse(out, json_string_value(v), json_string_length(v), NULL) == ADDRESS_OK;
}

const json_t *json_body_get_object(const json_t *obj, const char *name)
{
    const json_t *v = json_body_member(obj, name);
    return json_is_object(v) ? v : NULL;
}

const json_t *json_body_get_array(const json_t *obj, const char *name)
{
    const json_t *v = json_body_member(obj, name);
    return json_is_array(v) ? v : NULL;
}
