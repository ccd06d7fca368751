/* test_json.c - the bounded JSON body reader: one test per limit (at the
 * limit passes, one above fails with its own code) and per rejection, the
 * exact message naming the field, the getters, the HTTP status mapping, and
 * a seeded random test of the pre-scan against a model of generated
 * documents. */
#include "harness.h"
#include "json.h"

#include <stdlib.h>
#include <string.h>

#define ADDR_LOWER "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed"
#define ADDR_EIP55 "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"
#define HASH_HEX "0xabababababababababababababababababababababababababababababababab"
#define RANDOM_DOCS 3000
#define RANDOM_DOC_BYTES_MAX 4096
#define RANDOM_DEPTH_MAX 6

static const struct json_body_field share_fields[] = {
    {.name = "payee", .type = JSON_BODY_ADDRESS, .required = true},
    {.name = "role", .type = JSON_BODY_STRING, .required = true, .len_min = 1, .len_max = 32},
    {.name = "bps", .type = JSON_BODY_INTEGER, .required = true, .int_min = 1, .int_max = 10000}};

static const struct json_body_field fields[] = {
    {.name = "name", .type = JSON_BODY_STRING, .required = true, .len_min = 1, .len_max = 16},
    {.name = "price_wei", .type = JSON_BODY_DECIMAL, .required = true},
    {.name = "max_supply", .type = JSON_BODY_INTEGER, .int_min = 1, .int_max = 1000000},
    {.name = "public", .type = JSON_BODY_BOOL},
    {.name = "tx_hash", .type = JSON_BODY_HEX, .len_min = 32, .len_max = 32},
    {.name = "tip_min_wei", .type = JSON_BODY_DECIMAL, .nullable = true},
    {.name = "shares",
     .type = JSON_BODY_ARRAY,
     .len_min = 1,
     .len_max = 3,
     .item_type = JSON_BODY_OBJECT,
     .fields = share_fields,
     .fields_len = 3},
    {.name = "tags", .type = JSON_BODY_ARRAY, .item_type = JSON_BODY_STRING},
    {.name = "meta", .type = JSON_BODY_OBJECT}};
#define FIELDS_LEN (sizeof fields / sizeof fields[0])

/* Parses text against `fields` with the defaults, or with `limits`. */
static enum json_body_result parse_with(json_t **out, const char *text,
                                        const struct json_body_limits *limits, struct err *e)
{
    return json_body_parse(out, text, strlen(text), limits, fields, FIELDS_LEN, e);
}

/* Expects text to fail with `code` and, when msg is not NULL, that exact message. */
static void expect_fail(const char *text, const struct json_body_limits *limits,
                        enum json_body_result code, const char *msg)
{
    json_t *j = (json_t *)&j;
    struct err e = {0};
    enum json_body_result r = parse_with(&j, text, limits, &e);
    CHECK_MSG(r == code, "'%.60s': result %d, expected %d (%s)", text, (int)r, (int)code, e.msg);
    CHECK(j == NULL);
    CHECK_INT(e.code, code);
    if (msg != NULL)
        CHECK_STR(e.msg, msg);
}

static void expect_ok(const char *text, const struct json_body_limits *limits)
{
    json_t *j = NULL;
    struct err e = {0};
    enum json_body_result r = parse_with(&j, text, limits, &e);
    CHECK_MSG(r == JSON_BODY_OK, "'%.60s': %s", text, e.msg);
    CHECK(r != JSON_BODY_OK || json_is_object(j));
    json_decref(j);
}

/* A body with the two required fields and `extra` members after them. */
static char *body_with(const char *extra)
{
    size_t n = strlen(extra) + 64;
    char *s = malloc(n);
    ASSERT(s != NULL);
    int k = snprintf(s, n, "{\"name\":\"x\",\"price_wei\":\"1\"%s%s}", extra[0] ? "," : "", extra);
    ASSERT(k > 0 && (size_t)k < n);
    return s;
}

/* body_with(extra) under `limits` (NULL: defaults) fails with code/msg. */
static void fail_under(const struct json_body_limits *limits, const char *extra,
                       enum json_body_result code, const char *msg)
{
    char *s = body_with(extra);
    expect_fail(s, limits, code, msg);
    free(s);
}

static void ok_under(const struct json_body_limits *limits, const char *extra)
{
    char *s = body_with(extra);
    expect_ok(s, limits);
    free(s);
}

static void expect_fail_with(const char *extra, enum json_body_result code, const char *msg)
{
    fail_under(NULL, extra, code, msg);
}

static void expect_ok_with(const char *extra)
{
    ok_under(NULL, extra);
}

static void limits_small(struct json_body_limits *l)
{
    json_body_limits_default(l);
    l->depth_max = 3;
    l->string_bytes_max = 10; /* "price_wei" is 9 */
    l->items_max = 4;
}

/* ---- a valid body and the getters ---------------------------------------------------- */

static void test_valid_body_and_getters(void)
{
    const char *text =
        "{\"name\":\"caf\\u00e9\",\"price_wei\":"
        "\"115792089237316195423570985008687907853269984665640564039457584007913129639935\","
        "\"max_supply\":1000000,\"public\":false,\"tx_hash\":\"" HASH_HEX "\","
        "\"tip_min_wei\":null,\"shares\":[{\"payee\":\"" ADDR_EIP55 "\",\"role\":\"composer\","
        "\"bps\":10000}],\"tags\":[\"a\",\"b\"],\"meta\":{\"anything\":[1,{\"x\":null}]}}";
    json_t *j = NULL;
    struct err e = {0};
    CHECK_INT(parse_with(&j, text, NULL, &e), JSON_BODY_OK);
    const char *s = NULL;
    size_t n = 0;
    CHECK(json_body_get_string(&s, &n, j, "name"));
    CHECK_INT(n, 5);
    CHECK_STR(s, "caf\xc3\xa9");
    uint8_t ones[32];
    memset(ones, 0xff, sizeof ones);
    struct u256 v, max = u256_from_be32(ones);
    CHECK(json_body_get_u256(&v, j, "price_wei") && u256_cmp(&v, &max) == 0);
    int64_t i = 0;
    CHECK(json_body_get_int(&i, j, "max_supply"));
    CHECK_INT(i, 1000000);
    bool b = true;
    CHECK(json_body_get_bool(&b, j, "public") && !b);
    uint8_t h[32], want[32];
    memset(want, 0xab, sizeof want);
    CHECK(json_body_get_hex(h, sizeof h, &n, j, "tx_hash") && n == 32);
    CHECK_MEM(h, want, 32);
    CHECK(!json_body_get_u256(&v, j, "tip_min_wei")); /* null: absent */
    const json_t *shares = json_body_get_array(j, "shares");
    CHECK(shares != NULL && json_array_size(shares) == 1);
    struct address a, a_want;
    CHECK(address_parse(&a_want, ADDR_LOWER, strlen(ADDR_LOWER), NULL) == ADDRESS_OK);
    CHECK(json_body_get_address(&a, json_array_get(shares, 0), "payee") && address_eq(&a, &a_want));
    CHECK(json_body_get_object(j, "meta") != NULL);
    /* Wrong getter for the member's type, or an absent member: false, output untouched. */
    CHECK(!json_body_get_int(&i, j, "name") && i == 1000000);
    CHECK(!json_body_get_string(&s, &n, j, "max_supply"));
    CHECK(!json_body_get_bool(&b, j, "absent"));
    CHECK(!json_body_get_hex(h, 16, &n, j, "tx_hash")); /* does not fit the caller's buffer */
    CHECK(json_body_get_array(j, "meta") == NULL && json_body_get_object(j, "shares") == NULL);
    json_decref(j);
}

static void test_optional_fields_absent(void)
{
    expect_ok("{\"name\":\"n\",\"price_wei\":\"0\"}", NULL);
    expect_ok_with("\"tip_min_wei\":null");
    expect_ok_with("\"tip_min_wei\":\"5\"");
}

/* ---- limits: at the limit passes, one above fails ---------------------------------- */

static void test_limit_body_bytes(void)
{
    const char *text = "{\"name\":\"abc\",\"price_wei\":\"1\"}";
    struct json_body_limits l;
    json_body_limits_default(&l);
    l.body_bytes_max = strlen(text);
    expect_ok(text, &l);
    l.body_bytes_max = strlen(text) - 1;
    char msg[64];
    snprintf(msg, sizeof msg, "body is larger than %zu bytes", l.body_bytes_max);
    expect_fail(text, &l, JSON_BODY_ERR_TOO_LARGE, msg);
}

static void test_limit_depth(void)
{
    struct json_body_limits l;
    limits_small(&l); /* depth 3 */
    ok_under(&l, "\"meta\":{\"a\":[1]}");
    fail_under(&l, "\"meta\":{\"a\":[[1]]}", JSON_BODY_ERR_TOO_DEEP,
               "json nested deeper than 3 at byte offset 41");
    /* Brackets inside strings are text, not nesting. */
    ok_under(&l, "\"meta\":{\"a\":[\"[[[{{{\"]}");
    /* Far deeper than jansson would recurse: refused by the pre-scan, no stack growth. */
    size_t n = 200000;
    char *deep = malloc(n + 1);
    ASSERT(deep != NULL);
    memset(deep, '[', n);
    deep[n] = '\0';
    l.body_bytes_max = JSON_BODY_BYTES_MAX;
    expect_fail(deep, &l, JSON_BODY_ERR_TOO_DEEP, "json nested deeper than 3 at byte offset 3");
    free(deep);
}

static void test_limit_string_bytes(void)
{
    struct json_body_limits l;
    limits_small(&l); /* 10 bytes */
    ok_under(&l, "\"tags\":[\"1234567890\"]");
    fail_under(&l, "\"tags\":[\"12345678901\"]", JSON_BODY_ERR_STRING_TOO_LONG,
               "string at byte offset 36 is longer than 10 bytes");
    /* Counted once unescaped: \u00e9 is 2 bytes, a surrogate pair 4, \n and \" 1 each. */
    ok_under(&l, "\"tags\":[\"ab\\u00e9\\ud83d\\ude00\\n\\\"\"]"); /* 2 + 2 + 4 + 1 + 1 */
    fail_under(&l, "\"tags\":[\"abc\\u00e9\\ud83d\\ude00\\n\\\"\"]", JSON_BODY_ERR_STRING_TOO_LONG,
               NULL);
    /* Keys count too. */
    fail_under(&l, "\"meta\":{\"12345678901\":1}", JSON_BODY_ERR_STRING_TOO_LONG, NULL);
}

static void test_limit_items(void)
{
    struct json_body_limits l;
    limits_small(&l); /* 4 items */
    ok_under(&l, "\"meta\":{\"a\":[1,2,3,4]}");
    fail_under(&l, "\"meta\":{\"a\":[1,2,3,4,5]}", JSON_BODY_ERR_TOO_MANY_ITEMS,
               "array near byte offset 48 has more than 4 items");
    ok_under(&l, "\"meta\":{\"a\":1,\"b\":2,\"c\":3,\"d\":4}");
    fail_under(&l, "\"meta\":{\"a\":1,\"b\":2,\"c\":3,\"d\":4,\"e\":5}",
               JSON_BODY_ERR_TOO_MANY_ITEMS, "object near byte offset 59 has more than 4 members");
    /* The top-level object's members count as well: 2 required + 3 = 5. */
    fail_under(&l, "\"public\":true,\"tags\":[],\"meta\":{}", JSON_BODY_ERR_TOO_MANY_ITEMS, NULL);
    expect_ok("{\"name\":\"x\",\"price_wei\":\"1\",\"tags\":[],\"meta\":{}}", &l);
}

/* ---- rejections of the text --------------------------------------------------------- */

static void test_reject_invalid_utf8(void)
{
    static const char *const bad[] = {
        "{\"name\":\"\xff\",\"price_wei\":\"1\"}",             /* never valid */
        "{\"name\":\"\xc0\x80\",\"price_wei\":\"1\"}",         /* overlong NUL */
        "{\"name\":\"\xe0\x80\xaf\",\"price_wei\":\"1\"}",     /* overlong '/' */
        "{\"name\":\"\xed\xa0\x80\",\"price_wei\":\"1\"}",     /* UTF-16 surrogate */
        "{\"name\":\"\xf4\x90\x80\x80\",\"price_wei\":\"1\"}", /* above U+10FFFF */
        "{\"name\":\"\xe2\x82\",\"price_wei\":\"1\"}",         /* truncated sequence */
        "{\"name\":\"x\",\"price_wei\":\"1\"}\x80",            /* outside a string */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        expect_fail(bad[i], NULL, JSON_BODY_ERR_UTF8, NULL);
    expect_fail(bad[0], NULL, JSON_BODY_ERR_UTF8, "invalid utf-8 at byte offset 9");
    expect_ok("{\"name\":\"\xf0\x9f\x98\x80\xe2\x82\xac\",\"price_wei\":\"1\"}", NULL);
}

static void test_reject_nul(void)
{
    expect_fail("{\"name\":\"a\\u0000b\",\"price_wei\":\"1\"}", NULL, JSON_BODY_ERR_NUL,
                "string at byte offset 8 contains \\u0000");
    expect_fail("{\"name\":\"a\",\"price_wei\":\"1\",\"meta\":{\"k\\u0000\":1}}", NULL,
                JSON_BODY_ERR_NUL, NULL);
    /* A raw NUL byte is not JSON at all. */
    json_t *j = NULL;
    struct err e = {0};
    const char raw[] = "{\"name\":\"a\0b\",\"price_wei\":\"1\"}";
    CHECK_INT(json_body_parse(&j, raw, sizeof raw - 1, NULL, fields, FIELDS_LEN, &e),
              JSON_BODY_ERR_MALFORMED);
    CHECK(j == NULL);
}

static void test_reject_duplicate_key(void)
{
    expect_fail("{\"name\":\"a\",\"price_wei\":\"1\",\"name\":\"b\"}", NULL,
                JSON_BODY_ERR_DUPLICATE_KEY, "duplicate key 'name' at line 1 column 34");
    expect_fail_with("\"meta\":{\"x\":1,\"x\":1}", JSON_BODY_ERR_DUPLICATE_KEY, NULL);
    /* The same key spelt with an escape is the same key. */
    expect_fail_with("\"meta\":{\"ab\":1,\"a\\u0062\":1}", JSON_BODY_ERR_DUPLICATE_KEY, NULL);
}

static void test_reject_not_object(void)
{
    static const char *const texts[] = {"[]", "[{\"name\":\"a\"}]", "\"x\"", "1", "null", "true"};
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++)
        expect_fail(texts[i], NULL, JSON_BODY_ERR_NOT_OBJECT, "body is not a json object");
}

static void test_reject_malformed(void)
{
    expect_fail("", NULL, JSON_BODY_ERR_MALFORMED, "body is empty");
    static const char *const texts[] = {
        "{",
        "{\"name\":\"a\",}",
        "{\"name\":\"a\"} x",
        "{\"name\":\"unterminated}",
        "{'name':'a'}",
        "{\"name\":\"\\ud800\",\"price_wei\":\"1\"}", /* lone surrogate */
        "{\"name\":\"a\tb\"}",                        /* raw control */
        "{\"max_supply\":99999999999999999999}",      /* too big */
    };
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++)
        expect_fail(texts[i], NULL, JSON_BODY_ERR_MALFORMED, NULL);
    expect_fail("{", NULL, JSON_BODY_ERR_MALFORMED,
                "malformed json at line 1 column 1: string or '}' expected near end of file");
}

/* ---- rejections by the field table ------------------------------------------------- */

static void test_reject_unknown_field(void)
{
    expect_fail_with("\"nmae\":\"typo\"", JSON_BODY_ERR_UNKNOWN_FIELD, "unknown field 'nmae'");
    expect_fail_with("\"shares\":[{\"payee\":\"" ADDR_LOWER "\",\"role\":\"r\",\"bps\":1,"
                     "\"extra\":0}]",
                     JSON_BODY_ERR_UNKNOWN_FIELD, "unknown field 'shares[0].extra'");
    /* Untrusted names are quoted. */
    expect_fail_with("\"a\\\"b\\n\":1", JSON_BODY_ERR_UNKNOWN_FIELD, "unknown field 'a\"b\\x0a'");
    /* An object without a nested table takes any member. */
    expect_ok_with("\"meta\":{\"nmae\":1}");
}

static void test_reject_missing_field(void)
{
    expect_fail("{\"name\":\"a\"}", NULL, JSON_BODY_ERR_MISSING_FIELD,
                "field 'price_wei' is missing");
    expect_fail_with("\"shares\":[{\"payee\":\"" ADDR_LOWER "\",\"role\":\"r\",\"bps\":1},"
                     "{\"payee\":\"" ADDR_LOWER "\",\"role\":\"r\"}]",
                     JSON_BODY_ERR_MISSING_FIELD, "field 'shares[1].bps' is missing");
    /* null is not "present" for a required, non-nullable field: it is the wrong type. */
    expect_fail("{\"name\":null,\"price_wei\":\"1\"}", NULL, JSON_BODY_ERR_WRONG_TYPE,
                "field 'name' is not a string");
}

static void test_reject_wrong_type(void)
{
    expect_fail_with("\"shares\":{}", JSON_BODY_ERR_WRONG_TYPE, "field 'shares' is not an array");
    expect_fail_with("\"max_supply\":\"5\"", JSON_BODY_ERR_WRONG_TYPE,
                     "field 'max_supply' is not an integer");
    expect_fail_with("\"max_supply\":5.0", JSON_BODY_ERR_WRONG_TYPE,
                     "field 'max_supply' is not an integer");
    expect_fail_with("\"public\":1", JSON_BODY_ERR_WRONG_TYPE, "field 'public' is not a boolean");
    expect_fail("{\"name\":\"a\",\"price_wei\":1}", NULL, JSON_BODY_ERR_WRONG_TYPE,
                "field 'price_wei' is not a decimal string");
    expect_fail_with("\"meta\":[]", JSON_BODY_ERR_WRONG_TYPE, "field 'meta' is not an object");
    expect_fail_with("\"tx_hash\":7", JSON_BODY_ERR_WRONG_TYPE,
                     "field 'tx_hash' is not a hex string");
    expect_fail_with("\"tags\":[\"a\",2]", JSON_BODY_ERR_WRONG_TYPE,
                     "field 'tags[1]' is not a string");
    expect_fail_with("\"shares\":[7]", JSON_BODY_ERR_WRONG_TYPE,
                     "field 'shares[0]' is not an object");
    expect_fail_with("\"shares\":[{\"payee\":1,\"role\":\"r\",\"bps\":1}]",
                     JSON_BODY_ERR_WRONG_TYPE, "field 'shares[0].payee' is not an address string");
}

static void test_reject_bad_value_strings(void)
{
    expect_fail("{\"name\":\"\",\"price_wei\":\"1\"}", NULL, JSON_BODY_ERR_BAD_VALUE,
                "field 'name' is shorter than 1 bytes");
    expect_ok("{\"name\":\"0123456789abcdef\",\"price_wei\":\"1\"}", NULL);
    expect_fail("{\"name\":\"0123456789abcdefg\",\"price_wei\":\"1\"}", NULL,
                JSON_BODY_ERR_BAD_VALUE, "field 'name' is longer than 16 bytes");
    static const char *const decimals[] = {"\"\"",
                                           "\"01\"",
                                           "\"-1\"",
                                           "\"1e3\"",
                                           "\" 1\"",
                                           "\"0x10\"",
                                           "\"115792089237316195423570985008687907853269984665640"
                                           "564039457584007913129639936\""};
    for (size_t i = 0; i < sizeof decimals / sizeof decimals[0]; i++) {
        char text[160];
        snprintf(text, sizeof text, "{\"name\":\"a\",\"price_wei\":%s}", decimals[i]);
        expect_fail(text, NULL, JSON_BODY_ERR_BAD_VALUE,
                    "field 'price_wei' is not a decimal integer below 2^256 without leading zeros");
    }
    expect_fail_with("\"shares\":[{\"payee\":\"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD\","
                     "\"role\":\"r\",\"bps\":1}]",
                     JSON_BODY_ERR_BAD_VALUE,
                     "field 'shares[0].payee' is not a 0x address (lowercase or EIP-55)");
}

static void test_reject_bad_value_hex(void)
{
    const char *msg = "field 'tx_hash' is not 0x-prefixed hex of at most 32 bytes";
    expect_fail_with("\"tx_hash\":\"" HASH_HEX "ab\"", JSON_BODY_ERR_BAD_VALUE, msg);
    expect_fail_with("\"tx_hash\":\"" HASH_HEX "a\"", JSON_BODY_ERR_BAD_VALUE, msg);
    expect_fail_with("\"tx_hash\":\"0xzz\"", JSON_BODY_ERR_BAD_VALUE, msg);
    expect_fail_with("\"tx_hash\":\"0x0x00\"", JSON_BODY_ERR_BAD_VALUE, msg);
    expect_fail_with("\"tx_hash\":\"abab\"", JSON_BODY_ERR_BAD_VALUE, msg);
    expect_fail_with("\"tx_hash\":\"0xabab\"", JSON_BODY_ERR_BAD_VALUE,
                     "field 'tx_hash' is shorter than 32 bytes");
}

static void test_reject_bad_value_numbers_and_arrays(void)
{
    expect_fail_with("\"max_supply\":0", JSON_BODY_ERR_BAD_VALUE,
                     "field 'max_supply' is not between 1 and 1000000");
    expect_fail_with("\"max_supply\":1000001", JSON_BODY_ERR_BAD_VALUE, NULL);
    expect_fail_with("\"max_supply\":-9223372036854775808", JSON_BODY_ERR_BAD_VALUE, NULL);
    expect_ok_with("\"max_supply\":1");
    expect_fail_with("\"shares\":[]", JSON_BODY_ERR_BAD_VALUE,
                     "field 'shares' has fewer than 1 items");
    const char *share = "{\"payee\":\"" ADDR_LOWER "\",\"role\":\"r\",\"bps\":1}";
    char extra[512];
    snprintf(extra, sizeof extra, "\"shares\":[%s,%s,%s]", share, share, share);
    expect_ok_with(extra);
    snprintf(extra, sizeof extra, "\"shares\":[%s,%s,%s,%s]", share, share, share, share);
    expect_fail_with(extra, JSON_BODY_ERR_BAD_VALUE, "field 'shares' has more than 3 items");
    expect_fail_with("\"shares\":[{\"payee\":\"" ADDR_LOWER "\",\"role\":\"r\",\"bps\":10001}]",
                     JSON_BODY_ERR_BAD_VALUE, "field 'shares[0].bps' is not between 1 and 10000");
}

/* ---- nested checks, status mapping ---------------------------------------------------- */

static void test_check_fields_with_path(void)
{
    json_t *item = json_pack("{s:s,s:s}", "payee", ADDR_LOWER, "role", "r");
    struct err e = {0};
    CHECK_INT(json_body_check_fields(item, share_fields, 3, NULL, "splits[4]", &e),
              JSON_BODY_ERR_MISSING_FIELD);
    CHECK_STR(e.msg, "field 'splits[4].bps' is missing");
    json_object_set_new(item, "bps", json_integer(5));
    CHECK_INT(json_body_check_fields(item, share_fields, 3, NULL, NULL, &e), JSON_BODY_OK);
    json_t *arr = json_array();
    CHECK_INT(json_body_check_fields(arr, share_fields, 3, NULL, "x", &e),
              JSON_BODY_ERR_NOT_OBJECT);
    CHECK_STR(e.msg, "field 'x' is not a json object");
    CHECK_INT(json_body_check_fields(arr, share_fields, 3, NULL, NULL, &e),
              JSON_BODY_ERR_NOT_OBJECT);
    CHECK_STR(e.msg, "value is not a json object");
    json_decref(arr);
    json_decref(item);
}

static void test_long_path_is_cut(void)
{
    static const struct json_body_field inner[] = {
        {.name = "a_rather_long_member_name_that_goes_on_and_on_and_on_and_on",
         .type = JSON_BODY_BOOL,
         .required = true}};
    static const struct json_body_field outer[] = {
        {.name = "another_long_member_name_that_also_goes_on_and_on_and_on",
         .type = JSON_BODY_OBJECT,
         .required = true,
         .fields = inner,
         .fields_len = 1}};
    json_t *j = NULL;
    struct err e = {0};
    const char *text = "{\"another_long_member_name_that_also_goes_on_and_on_and_on\":{}}";
    CHECK_INT(json_body_parse(&j, text, strlen(text), NULL, outer, 1, &e),
              JSON_BODY_ERR_MISSING_FIELD);
    CHECK(strstr(e.msg, "...' is missing") != NULL);
    CHECK(strlen(e.msg) < JSON_BODY_PATH_BYTES_MAX + 32);
}

static void test_http_status(void)
{
    CHECK_INT(json_body_http_status(JSON_BODY_OK), 200);
    CHECK_INT(json_body_http_status(JSON_BODY_ERR_TOO_LARGE), 413);
    static const enum json_body_result bad_request[] = {JSON_BODY_ERR_MALFORMED,
                                                        JSON_BODY_ERR_UTF8,
                                                        JSON_BODY_ERR_NUL,
                                                        JSON_BODY_ERR_TOO_DEEP,
                                                        JSON_BODY_ERR_STRING_TOO_LONG,
                                                        JSON_BODY_ERR_TOO_MANY_ITEMS,
                                                        JSON_BODY_ERR_DUPLICATE_KEY,
                                                        JSON_BODY_ERR_NOT_OBJECT};
    for (size_t i = 0; i < sizeof bad_request / sizeof bad_request[0]; i++)
        CHECK_INT(json_body_http_status(bad_request[i]), 400);
    CHECK_INT(json_body_http_status(JSON_BODY_ERR_UNKNOWN_FIELD), 422);
    CHECK_INT(json_body_http_status(JSON_BODY_ERR_MISSING_FIELD), 422);
    CHECK_INT(json_body_http_status(JSON_BODY_ERR_WRONG_TYPE), 422);
    CHECK_INT(json_body_http_status(JSON_BODY_ERR_BAD_VALUE), 422);
    CHECK_INT(json_body_http_status(JSON_BODY_ERR_NOMEM), 500);
}

/* ---- random documents against a model ---------------------------------------------------- */

/* What the generator knows about the document it wrote. */
struct doc_model {
    uint32_t depth;      /* deepest nesting ({} is 1) */
    size_t string_bytes; /* longest string, unescaped */
    size_t items;        /* most items/members of one container */
};

struct doc {
    char text[RANDOM_DOC_BYTES_MAX];
    size_t len;
    bool full;
    uint64_t rng;
    struct doc_model m;
};

static void doc_put(struct doc *d, const char *s)
{
    size_t n = strlen(s);
    if (d->len + n >= sizeof d->text) {
        d->full = true;
        return;
    }
    memcpy(d->text + d->len, s, n);
    d->len += n;
}

/* A string of random pieces: plain ASCII, escapes, 2- and 4-byte UTF-8, pairs. */
static void doc_string(struct doc *d, unsigned salt)
{
    static const char *const pieces[] = {
        "a",    "\\n",     "\\u00e9", "\xc3\xa9", "\\ud83d\\ude00", "\xf0\x9f\x98\x80",
        "\\\"", "\\u4e2d", "[{"};
    static const size_t bytes[] = {1, 1, 2, 2, 4, 4, 1, 3, 2};
    size_t n = harness_rand(&d->rng) % 12, total = 0;
    char key[16];
    snprintf(key, sizeof key, "\"k%u", salt); /* keys unique within an object */
    doc_put(d, salt != 0 ? key : "\"");
    total += salt != 0 ? strlen(key) - 1 : 0;
    for (size_t i = 0; i < n; i++) {
        size_t p = harness_rand(&d->rng) % (sizeof pieces / sizeof pieces[0]);
        doc_put(d, pieces[p]);
        total += bytes[p];
    }
    doc_put(d, "\"");
    if (total > d->m.string_bytes)
        d->m.string_bytes = total;
}

static void doc_value(struct doc *d, uint32_t depth)
{
    uint64_t pick = harness_rand(&d->rng) % 6;
    if (depth >= RANDOM_DEPTH_MAX || pick >= 3) {
        static const char *const scalars[] = {"1", "-2.5e3", "true", "null"};
        if (pick == 5)
            doc_string(d, 0);
        else
            doc_put(d, scalars[harness_rand(&d->rng) % 4]);
        return;
    }
    bool array = pick == 0;
    size_t n = harness_rand(&d->rng) % 7;
    if (depth + 1 > d->m.depth)
        d->m.depth = depth + 1;
    if (n > d->m.items)
        d->m.items = n;
    doc_put(d, array ? "[ " : "{");
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            doc_put(d, " ,");
        if (!array) {
            doc_string(d, (unsigned)i + 1);
            doc_put(d, ": ");
        }
        doc_value(d, depth + 1);
    }
    doc_put(d, array ? "]" : " }");
}

/* The document is {"meta": <value>}: only the pre-scan limits can fail it. */
static void test_random_documents_against_model(void)
{
    static const struct json_body_field meta_only[] = {{.name = "meta", .type = JSON_BODY_OBJECT}};
    uint64_t seed = harness_seed(), rng = seed;
    size_t checked = 0, by_code[JSON_BODY_ERR_NOMEM + 1] = {0};
    for (int t = 0; t < RANDOM_DOCS; t++) {
        struct doc *d = calloc(1, sizeof *d);
        ASSERT(d != NULL);
        d->rng = harness_rand(&rng);
        d->m = (struct doc_model){.depth = 2, .string_bytes = 4, .items = 1}; /* "meta" */
        doc_put(d, "{\"meta\":{\"v\":");
        doc_value(d, 2);
        doc_put(d, "}}");
        struct json_body_limits l;
        json_body_limits_default(&l);
        /* Each limit either fits or is one below what the document needs. */
        l.depth_max = d->m.depth - (harness_rand(&rng) % 4 == 0 && d->m.depth > 1);
        l.string_bytes_max = d->m.string_bytes + (harness_rand(&rng) % 4 == 0 ? 0 : 1);
        if (l.string_bytes_max > d->m.string_bytes && harness_rand(&rng) % 3 == 0)
            l.string_bytes_max = d->m.string_bytes; /* exactly at the limit */
        l.string_bytes_max -= l.string_bytes_max > 1 && harness_rand(&rng) % 4 == 0;
        l.items_max = d->m.items - (harness_rand(&rng) % 4 == 0 && d->m.items > 1);
        bool deep = d->m.depth > l.depth_max, long_str = d->m.string_bytes > l.string_bytes_max,
             many = d->m.items > l.items_max;
        json_t *j = NULL;
        struct err e = {0};
        enum json_body_result r =
            d->full ? JSON_BODY_OK : json_body_parse(&j, d->text, d->len, &l, meta_only, 1, &e);
        json_decref(j);
        bool full = d->full;
        free(d);
        if (full)
            continue;
        checked++;
        by_code[r]++;
        if (!deep && !long_str && !many)
            CHECK_MSG(r == JSON_BODY_OK, "doc %d: %s", t, e.msg);
        else
            CHECK_MSG((r == JSON_BODY_ERR_TOO_DEEP && deep) ||
                          (r == JSON_BODY_ERR_STRING_TOO_LONG && long_str) ||
                          (r == JSON_BODY_ERR_TOO_MANY_ITEMS && many),
                      "doc %d: result %d (%s), model deep=%d long=%d many=%d", t, (int)r, e.msg,
                      deep, long_str, many);
    }
    fprintf(stdout, "# %zu documents: %zu ok, %zu too deep, %zu long strings, %zu many items\n",
            checked, by_code[0], by_code[JSON_BODY_ERR_TOO_DEEP],
            by_code[JSON_BODY_ERR_STRING_TOO_LONG], by_code[JSON_BODY_ERR_TOO_MANY_ITEMS]);
    CHECK(checked > RANDOM_DOCS / 2 && by_code[0] > 0 && by_code[JSON_BODY_ERR_TOO_DEEP] > 0 &&
          by_code[JSON_BODY_ERR_STRING_TOO_LONG] > 0 && by_code[JSON_BODY_ERR_TOO_MANY_ITEMS] > 0);
}

int main(void)
{
    RUN(test_valid_body_and_getters);
    RUN(test_optional_fields_absent);
    RUN(test_limit_body_bytes);
    RUN(test_limit_depth);
    RUN(test_limit_string_bytes);
    RUN(test_limit_items);
    RUN(test_reject_invalid_utf8);
    RUN(test_reject_nul);
    RUN(test_reject_duplicate_key);
    RUN(test_reject_not_object);
    RUN(test_reject_malformed);
    RUN(test_reject_unknown_field);
    RUN(test_reject_missing_field);
    RUN(test_reject_wrong_type);
    RUN(test_reject_bad_value_strings);
    RUN(test_reject_bad_value_hex);
    RUN(test_reject_bad_value_numbers_and_arrays);
    RUN(test_check_fields_with_path);
    RUN(test_long_path_is_cut);
    RUN(test_http_status);
    RUN(test_random_documents_against_model);
    return harness_finish();
}
