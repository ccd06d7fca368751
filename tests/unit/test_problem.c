/* test_problem.c - RFC 9457 bodies: exact serialisation, the shared kinds,
 * extension members and every rejection, text sanitising, size limits. */
#include "harness.h"
#include "problem.h"

#include <stdlib.h>
#include <string.h>

static void test_dump(char *out, size_t out_size, const struct problem *p);

/* Serialises p into out (a failed dump is a failed check and ""). */
static void test_dump(char *out, size_t out_size, const struct problem *p)
{
    char *body = NULL;
    size_t len = 0;
    struct err e = {0};
    enum problem_result rc = problem_dumps(&body, &len, p, &e);
    CHECK_MSG(rc == PROBLEM_OK, "dump failed: %s", e.msg);
    out[0] = '\0';
    if (rc != PROBLEM_OK)
        return;
    CHECK_INT(len, strlen(body));
    CHECK(len < out_size);
    snprintf(out, out_size, "%s", body);
    free(body);
}

static void test_kind_exact(void)
{
    struct problem p;
    problem_init_kind(&p, PROBLEM_NOT_FOUND, "no stream '%s'", "abc");
    char got[1024];
    test_dump(got, sizeof got, &p);
    CHECK_STR(got,
              "{\"type\":\"https://rights.example/problems/not-found\",\"title\":\"Not found\","
              "\"status\":404,\"detail\":\"no stream 'abc'\"}");
    CHECK_INT(p.status, 404);
    CHECK(p.extra == NULL);
    problem_release(&p);
    problem_init_kind(&p, PROBLEM_BODY_TOO_LARGE, "body above %d bytes", 1024);
    test_dump(got, sizeof got, &p);
    CHECK_STR(got, "{\"type\":\"https://rights.example/problems/body-too-large\","
                   "\"title\":\"Request body too large\",\"status\":413,"
                   "\"detail\":\"body above 1024 bytes\"}");
    problem_release(&p);
}

static void test_custom_and_blank(void)
{
    struct problem p;
    problem_init(&p, 402, "access-denied", "Access denied", "hold a pass or tip %s wei", "100");
    CHECK_STR(p.type, "https://rights.example/problems/access-denied");
    CHECK_STR(p.title, "Access denied");
    CHECK_STR(p.detail, "hold a pass or tip 100 wei");
    problem_release(&p);
    problem_init(&p, 503, NULL, NULL, "rpc down");
    CHECK_STR(p.type, "about:blank");
    CHECK_STR(p.title, "Service Unavailable");
    CHECK_INT(p.status, 503);
    problem_release(&p);
    problem_init(&p, 418, NULL, NULL, "x");
    CHECK_STR(p.title, "Error");
    problem_release(&p);
    problem_init(&p, 400, NULL, "Custom title", "x");
    CHECK_STR(p.type, "about:blank");
    CHECK_STR(p.title, "Custom title");
    problem_release(&p);
    CHECK_STR(problem_status_title(413), "Content Too Large");
    CHECK_STR(problem_status_title(599), "Error");
}

/* Every shared kind: an error status, a distinct valid slug under the base,
 * and a body that parses back with the four core members. */
static void test_every_kind(void)
{
    char types[PROBLEM_KIND_COUNT][PROBLEM_TYPE_BYTES_MAX + 1];
    for (int k = 0; k < PROBLEM_KIND_COUNT; k++) {
        struct problem p;
        problem_init_kind(&p, (enum problem_kind)k, "kind %d", k);
        CHECK(p.status >= 400 && p.status <= 599);
        CHECK_INT(p.status, problem_kind_status((enum problem_kind)k));
        CHECK(strncmp(p.type, PROBLEM_TYPE_BASE, strlen(PROBLEM_TYPE_BASE)) == 0);
        const char *slug = p.type + strlen(PROBLEM_TYPE_BASE);
        CHECK(strlen(slug) > 0 &&
              strspn(slug, "abcdefghijklmnopqrstuvwxyz0123456789-") == strlen(slug));
        CHECK(p.title[0] != '\0');
        memcpy(types[k], p.type, sizeof types[k]);
        for (int j = 0; j < k; j++)
            CHECK_MSG(strcmp(types[j], p.type) != 0, "kinds %d and %d share %s", j, k, p.type);
        char got[1024];
        test_dump(got, sizeof got, &p);
        json_t *o = json_loads(got, 0, NULL);
        CHECK(o != NULL && json_object_size(o) == 4);
        CHECK_STR(json_string_value(json_object_get(o, "type")), p.type);
        CHECK_STR(json_string_value(json_object_get(o, "title")), p.title);
        CHECK_INT(json_integer_value(json_object_get(o, "status")), p.status);
        CHECK_STR(json_string_value(json_object_get(o, "detail")), p.detail);
        json_decref(o);
        problem_release(&p);
    }
}

static void test_members(void)
{
    struct problem p;
    struct err e = {0};
    problem_init_kind(&p, PROBLEM_PAYMENT_REQUIRED, "pay");
    json_t *req = json_pack("{s:s, s:[]}", "tip_min_wei", "1000", "passes");
    CHECK_INT(problem_set_member(&p, "requirements", req, &e), PROBLEM_OK);
    CHECK_INT(problem_set_member(&p, "allowed", json_false(), &e), PROBLEM_OK);
    char got[1024];
    test_dump(got, sizeof got, &p);
    CHECK_STR(got, "{\"type\":\"https://rights.example/problems/payment-required\","
                   "\"title\":\"Payment required\",\"status\":402,\"detail\":\"pay\","
                   "\"requirements\":{\"tip_min_wei\":\"1000\",\"passes\":[]},\"allowed\":false}");
    /* replacing keeps one member */
    CHECK_INT(problem_set_member(&p, "allowed", json_true(), &e), PROBLEM_OK);
    CHECK_INT(json_object_size(p.extra), 2);
    CHECK(json_is_true(json_object_get(p.extra, "allowed")));
    json_t *o = problem_to_json(&p);
    CHECK(o != NULL && json_object_size(o) == 6);
    const char *first_key = json_object_iter_key(json_object_iter(o));
    CHECK_STR(first_key, "type");
    json_decref(o);
    problem_release(&p);
    CHECK(p.extra == NULL);
    problem_release(&p); /* idempotent */
}

static void test_member_rejections(void)
{
    struct problem p;
    struct err e = {0};
    problem_init_kind(&p, PROBLEM_BAD_REQUEST, "x");
    const char *bad[] = {
        "type",   "title",
        "status", "detail",
        "",       "1a",
        "a-b",    "a b",
        "_x",     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err_clear(&e);
        /* the value is stolen on failure too: ASan's leak check holds us to it */
        CHECK_INT(problem_set_member(&p, bad[i], json_string("v"), &e), PROBLEM_ERR_BAD_NAME);
        CHECK_INT(e.code, PROBLEM_ERR_BAD_NAME);
        CHECK(strstr(e.msg, "invalid problem member name") != NULL);
    }
    CHECK(p.extra == NULL);
    CHECK_INT(problem_set_member(&p, "ok", NULL, &e), PROBLEM_ERR_NOMEM);
    char name[16];
    for (int i = 0; i < PROBLEM_MEMBERS_MAX; i++) {
        snprintf(name, sizeof name, "m%d", i);
        CHECK_INT(problem_set_member(&p, name, json_integer(i), &e), PROBLEM_OK);
    }
    CHECK_INT(problem_set_member(&p, "one_more", json_integer(1), &e), PROBLEM_ERR_TOO_MANY);
    CHECK_INT(json_object_size(p.extra), PROBLEM_MEMBERS_MAX);
    CHECK_INT(problem_set_member(&p, "m0", json_integer(7), &e), PROBLEM_OK); /* replace fits */
    CHECK_INT(json_integer_value(json_object_get(p.extra, "m0")), 7);
    problem_release(&p);
}

static void test_text_sanitised_and_cut(void)
{
    struct problem p;
    problem_init(&p, 400, "bad-input", "T\x01itle\xc3\xa9", "line\nbreak \"q\" \x7f\xff end");
    CHECK_STR(p.title, "T?itle??");
    CHECK_STR(p.detail, "line?break \"q\" ?? end");
    char got[1024];
    test_dump(got, sizeof got, &p);
    CHECK(strstr(got, "\"detail\":\"line?break \\\"q\\\" ?? end\"") != NULL);
    problem_release(&p);
    char long_text[PROBLEM_DETAIL_BYTES_MAX * 2];
    memset(long_text, 'd', sizeof long_text - 1);
    long_text[sizeof long_text - 1] = '\0';
    problem_init(&p, 500, NULL, NULL, "%s", long_text);
    CHECK_INT(strlen(p.detail), PROBLEM_DETAIL_BYTES_MAX);
    problem_release(&p);
}

static void test_body_too_large(void)
{
    struct problem p;
    struct err e = {0};
    problem_init_kind(&p, PROBLEM_UNPROCESSABLE, "x");
    size_t n = PROBLEM_BODY_BYTES_MAX;
    char *big = malloc(n + 1);
    CHECK(big != NULL);
    if (big == NULL)
        return;
    memset(big, 'b', n);
    big[n] = '\0';
    CHECK_INT(problem_set_member(&p, "big", json_string(big), &e), PROBLEM_OK);
    free(big);
    char *body = (char *)"untouched";
    size_t len = 99;
    CHECK_INT(problem_dumps(&body, &len, &p, &e), PROBLEM_ERR_TOO_LARGE);
    CHECK(body == NULL && len == 0);
    CHECK(strstr(e.msg, "above the maximum") != NULL);
    problem_release(&p);
}

int main(void)
{
    RUN(test_kind_exact);
    RUN(test_custom_and_blank);
    RUN(test_every_kind);
    RUN(test_members);
    RUN(test_member_rejections);
    RUN(test_text_sanitised_and_cut);
    RUN(test_body_too_large);
    return harness_finish();
}
