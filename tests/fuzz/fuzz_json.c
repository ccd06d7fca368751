/*
 * fuzz_json.c - json_body_parse() on arbitrary bodies, against jansson as
 * the reference parser and an iterative walk of its tree as the model of the
 * limits.
 *
 * Input: byte 0 picks the mode: bits 0-1 the limits (0 defaults, 1 small,
 * 2 tiny, 3 the hard maxima), bit 2 the field table (0 the typed table
 * below, 1 one unchecked object member "o" plus the typed rows). The rest is
 * the body.
 *
 * Properties (LSan checks that every reference is released):
 *   - the result is a documented code; e is set exactly on failure; *out is
 *     an object exactly on OK; the same result without e;
 *   - TOO_LARGE exactly when the body is above body_bytes_max;
 *   - the model: jansson (JSON_ALLOW_NUL, so that NULs are visible) parses
 *     the body and the walk measures depth, longest string or key, largest
 *     container and NULs. A pre-scan code (TOO_DEEP, STRING_TOO_LONG,
 *     TOO_MANY_ITEMS, NUL) only when the model exceeds that limit or jansson
 *     rejects the text; a body jansson accepts within every limit never gets
 *     one; a body beyond a limit is never OK. UTF8, MALFORMED and
 *     DUPLICATE_KEY only when strict jansson rejects it; NOT_OBJECT only for
 *     a non-object; OK only when strict jansson accepts it, with an equal
 *     tree;
 *   - on OK: every required row is present, every present row's getter
 *     succeeds, no member outside the table, and the compact re-serialisation
 *     parses again to OK with an equal tree (idempotence).
 */
#include "fuzz.h"
#include "json.h"

#define FUZZ_JSON_WALK_MAX 4096 /* jansson nests at most 2048 deep */

struct fuzz_json_model {
    uint32_t depth;
    size_t string_bytes;
    size_t items;
    bool nul;
};

struct fuzz_json_frame {
    json_t *v;
    size_t index;   /* array index, or members done */
    void *iter;     /* object iterator */
    uint32_t depth; /* of this container */
};

static const struct json_body_field fuzz_json_inner[] = {
    {.name = "x", .type = JSON_BODY_BOOL, .required = true},
    {.name = "y", .type = JSON_BODY_STRING, .len_max = 4}};

static const struct json_body_field fuzz_json_rows[] = {
    {.name = "a", .type = JSON_BODY_STRING, .required = true, .len_min = 1, .len_max = 8},
    {.name = "n", .type = JSON_BODY_INTEGER, .int_min = -5, .int_max = 100},
    {.name = "w", .type = JSON_BODY_DECIMAL, .nullable = true},
    {.name = "h", .type = JSON_BODY_HEX, .len_max = 4},
    {.name = "addr", .type = JSON_BODY_ADDRESS},
    {.name = "b", .type = JSON_BODY_BOOL},
    {.name = "l",
     .type = JSON_BODY_ARRAY,
     .len_max = 3,
     .item_type = JSON_BODY_INTEGER,
     .int_min = 0,
     .int_max = 9},
    {.name = "arr",
     .type = JSON_BODY_ARRAY,
     .item_type = JSON_BODY_OBJECT,
     .fields = fuzz_json_inner,
     .fields_len = 2},
    {.name = "obj", .type = JSON_BODY_OBJECT, .fields = fuzz_json_inner, .fields_len = 2},
    {.name = "o", .type = JSON_BODY_OBJECT}};
#define FUZZ_JSON_ROWS_TYPED 9
#define FUZZ_JSON_ROWS_ALL 10

static void fuzz_json_limits(struct json_body_limits *l, unsigned which);
static void fuzz_json_note(struct fuzz_json_model *m, json_t *v, uint32_t depth);
static void fuzz_json_walk(struct fuzz_json_model *m, json_t *root);
static bool fuzz_json_within(const struct fuzz_json_model *m, const struct json_body_limits *l);
static void fuzz_json_check_getters(const json_t *obj, size_t rows);
static void fuzz_json_check_model(enum json_body_result r, const char *body, size_t len,
                                  const struct json_body_limits *l, const json_t *out);
static void fuzz_json_check_roundtrip(const json_t *out, const struct json_body_limits *l,
                                      size_t rows);

static void fuzz_json_limits(struct json_body_limits *l, unsigned which)
{
    json_body_limits_default(l);
    if (which == 1)
        *l = (struct json_body_limits){256, 4, 16, 4};
    else if (which == 2)
        *l = (struct json_body_limits){64, 2, 3, 2};
    else if (which == 3)
        *l = (struct json_body_limits){JSON_BODY_BYTES_MAX, JSON_BODY_DEPTH_MAX,
                                       JSON_BODY_STRING_BYTES_MAX, JSON_BODY_ITEMS_MAX};
}

/* Measures one value at `depth` (containers count themselves). */
static void fuzz_json_note(struct fuzz_json_model *m, json_t *v, uint32_t depth)
{
    if (json_is_string(v)) {
        size_t n = json_string_length(v);
        m->string_bytes = n > m->string_bytes ? n : m->string_bytes;
        m->nul |= memchr(json_string_value(v), '\0', n) != NULL;
        return;
    }
    if (!json_is_array(v) && !json_is_object(v))
        return;
    size_t n = json_is_array(v) ? json_array_size(v) : json_object_size(v);
    m->items = n > m->items ? n : m->items;
    m->depth = depth > m->depth ? depth : m->depth;
}

/* Depth-first over the tree with an explicit stack (no recursion). */
static void fuzz_json_walk(struct fuzz_json_model *m, json_t *root)
{
    static struct fuzz_json_frame stack[FUZZ_JSON_WALK_MAX];
    size_t top = 0;
    memset(m, 0, sizeof *m);
    fuzz_json_note(m, root, 1);
    if (!json_is_array(root) && !json_is_object(root))
        return;
    stack[top++] = (struct fuzz_json_frame){root, 0, json_object_iter(root), 1};
    while (top > 0) {
        struct fuzz_json_frame *f = &stack[top - 1];
        json_t *child = NULL;
        if (json_is_array(f->v) && f->index < json_array_size(f->v)) {
            child = json_array_get(f->v, f->index++);
        } else if (json_is_object(f->v) && f->iter != NULL) {
            const char *key = json_object_iter_key(f->iter);
            size_t key_len = strlen(key); /* jansson keeps keys NUL-free in its API */
            m->string_bytes = key_len > m->string_bytes ? key_len : m->string_bytes;
            child = json_object_iter_value(f->iter);
            f->iter = json_object_iter_next(f->v, f->iter);
        }
        if (child == NULL) {
            top--;
            continue;
        }
        uint32_t depth = f->depth + 1;
        fuzz_json_note(m, child, depth);
        if (json_is_array(child) || json_is_object(child)) {
            FUZZ_CHECK(top < FUZZ_JSON_WALK_MAX);
            stack[top++] = (struct fuzz_json_frame){child, 0, json_object_iter(child), depth};
        }
    }
}

static bool fuzz_json_within(const struct fuzz_json_model *m, const struct json_body_limits *l)
{
    return m->depth <= l->depth_max && m->string_bytes <= l->string_bytes_max &&
           m->items <= l->items_max && !m->nul;
}

/* Every present row's getter works; nothing outside the table. */
static void fuzz_json_check_getters(const json_t *obj, size_t rows)
{
    FUZZ_CHECK(json_object_size(obj) <= rows);
    for (size_t i = 0; i < rows; i++) {
        const struct json_body_field *f = &fuzz_json_rows[i];
        const json_t *v = json_object_get(obj, f->name);
        FUZZ_CHECK(v != NULL || !f->required);
        if (v == NULL || json_is_null(v))
            continue;
        const char *s;
        size_t n;
        struct u256 w;
        int64_t k;
        bool b;
        uint8_t h[4];
        struct address a;
        bool got = f->type == JSON_BODY_STRING    ? json_body_get_string(&s, &n, obj, f->name)
                   : f->type == JSON_BODY_DECIMAL ? json_body_get_u256(&w, obj, f->name)
                   : f->type == JSON_BODY_INTEGER ? json_body_get_int(&k, obj, f->name)
                   : f->type == JSON_BODY_BOOL    ? json_body_get_bool(&b, obj, f->name)
                   : f->type == JSON_BODY_HEX     ? json_body_get_hex(h, sizeof h, &n, obj, f->name)
                   : f->type == JSON_BODY_ADDRESS ? json_body_get_address(&a, obj, f->name)
                   : f->type == JSON_BODY_ARRAY   ? json_body_get_array(obj, f->name) != NULL
                                                  : json_body_get_object(obj, f->name) != NULL;
        FUZZ_CHECK(got);
        if (f->type == JSON_BODY_STRING)
            FUZZ_CHECK(n >= f->len_min && n <= f->len_max && strlen(s) == n);
        if (f->type == JSON_BODY_INTEGER)
            FUZZ_CHECK(k >= f->int_min && k <= f->int_max);
    }
}

static void fuzz_json_check_model(enum json_body_result r, const char *body, size_t len,
                                  const struct json_body_limits *l, const json_t *out)
{
    json_error_t je;
    json_t *strict = json_loadb(body, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &je);
    json_t *loose =
        json_loadb(body, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
    struct fuzz_json_model m = {0};
    if (loose != NULL)
        fuzz_json_walk(&m, loose);
    bool prescan = r == JSON_BODY_ERR_TOO_DEEP || r == JSON_BODY_ERR_STRING_TOO_LONG ||
                   r == JSON_BODY_ERR_TOO_MANY_ITEMS || r == JSON_BODY_ERR_NUL;
    if (r == JSON_BODY_ERR_TOO_DEEP && loose != NULL)
        FUZZ_CHECK(m.depth > l->depth_max);
    if (r == JSON_BODY_ERR_STRING_TOO_LONG && loose != NULL)
        FUZZ_CHECK(m.string_bytes > l->string_bytes_max);
    if (r == JSON_BODY_ERR_TOO_MANY_ITEMS && loose != NULL)
        FUZZ_CHECK(m.items > l->items_max);
    if (r == JSON_BODY_ERR_NUL && loose != NULL)
        FUZZ_CHECK(m.nul);
    if (loose != NULL && fuzz_json_within(&m, l))
        FUZZ_CHECK(!prescan);
    if (loose != NULL && !fuzz_json_within(&m, l))
        FUZZ_CHECK(r != JSON_BODY_OK);
    if (r == JSON_BODY_ERR_UTF8 || r == JSON_BODY_ERR_MALFORMED || r == JSON_BODY_ERR_DUPLICATE_KEY)
        FUZZ_CHECK(strict == NULL);
    if (r == JSON_BODY_ERR_NOT_OBJECT)
        FUZZ_CHECK(strict != NULL && !json_is_object(strict));
    if (r == JSON_BODY_OK)
        FUZZ_CHECK(strict != NULL && json_equal(strict, out));
    json_decref(strict);
    json_decref(loose);
}

/* The compact serialisation of an accepted body is accepted again, equal. */
static void fuzz_json_check_roundtrip(const json_t *out, const struct json_body_limits *l,
                                      size_t rows)
{
    char *text = json_dumps(out, JSON_COMPACT);
    FUZZ_CHECK(text != NULL);
    struct json_body_limits big = *l;
    big.body_bytes_max = JSON_BODY_BYTES_MAX; /* reals may print longer */
    json_t *again = NULL;
    struct err e;
    enum json_body_result r =
        json_body_parse(&again, text, strlen(text), &big, fuzz_json_rows, rows, &e);
    FUZZ_CHECK(r == JSON_BODY_OK && json_equal(again, out));
    json_decref(again);
    free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    struct json_body_limits l;
    fuzz_json_limits(&l, data[0] & 3);
    size_t rows = data[0] & 4 ? FUZZ_JSON_ROWS_ALL : FUZZ_JSON_ROWS_TYPED;
    const char *body = (const char *)data + 1;
    size_t len = size - 1;
    json_t *out = (json_t *)&out; /* must be overwritten */
    struct err e;
    fuzz_err_prime(&e);
    enum json_body_result r = json_body_parse(&out, body, len, &l, fuzz_json_rows, rows, &e);
    FUZZ_CHECK(r >= JSON_BODY_OK && r <= JSON_BODY_ERR_NOMEM);
    FUZZ_CHECK((r == JSON_BODY_OK) == (out != NULL));
    FUZZ_CHECK(r == JSON_BODY_OK ? fuzz_err_is_untouched(&e) : fuzz_err_is_set(&e, (int)r));
    FUZZ_CHECK((r == JSON_BODY_ERR_TOO_LARGE) == (len > l.body_bytes_max));
    json_t *again = NULL;
    FUZZ_CHECK(json_body_parse(&again, body, len, &l, fuzz_json_rows, rows, NULL) == r);
    json_decref(again);
    if (r != JSON_BODY_ERR_TOO_LARGE)
        fuzz_json_check_model(r, body, len, &l, out);
    if (r == JSON_BODY_OK) {
        FUZZ_CHECK(json_is_object(out));
        fuzz_json_check_getters(out, rows);
        fuzz_json_check_roundtrip(out, &l, rows);
    }
    json_decref(out);
    return 0;
}
