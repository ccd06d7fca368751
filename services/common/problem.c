/* problem.c - see problem.h. One table of shared kinds, one of reason
 * phrases; text is made ASCII when stored so serialisation cannot fail on
 * encoding. */
#include "problem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct problem_kind_entry {
    int status;
    const char *slug;
    const char *title;
};

struct problem_reason {
    int status;
    const char *phrase;
};

static const struct problem_kind_entry problem_kinds[PROBLEM_KIND_COUNT] = {
    [PROBLEM_BAD_REQUEST] = {400, "bad-request", "Bad request"},
    [PROBLEM_BAD_PATH] = {400, "bad-path", "Malformed request path"},
    [PROBLEM_UNAUTHORIZED] = {401, "unauthorized", "Authentication required"},
    [PROBLEM_PAYMENT_REQUIRED] = {402, "payment-required", "Payment required"},
    [PROBLEM_FORBIDDEN] = {403, "forbidden", "Forbidden"},
    [PROBLEM_NOT_FOUND] = {404, "not-found", "Not found"},
    [PROBLEM_METHOD_NOT_ALLOWED] = {405, "method-not-allowed", "Method not allowed"},
    [PROBLEM_CONFLICT] = {409, "conflict", "Conflict"},
    [PROBLEM_BODY_TOO_LARGE] = {413, "body-too-large", "Request body too large"},
    [PROBLEM_URI_TOO_LONG] = {414, "uri-too-long", "Request URI too long"},
    [PROBLEM_UNSUPPORTED_MEDIA_TYPE] = {415, "unsupported-media-type", "Unsupported media type"},
    [PROBLEM_RANGE_NOT_SATISFIABLE] = {416, "range-not-satisfiable", "Range not satisfiable"},
    [PROBLEM_UNPROCESSABLE] = {422, "unprocessable", "Unprocessable content"},
    [PROBLEM_TOO_MANY_REQUESTS] = {429, "too-many-requests", "Too many requests"},
    [PROBLEM_INTERNAL] = {500, "internal", "Internal server error"},
    [PROBLEM_BAD_GATEWAY] = {502, "bad-gateway", "Bad gateway"},
    [PROBLEM_UNAVAILABLE] = {503, "unavailable", "Service unavailable"},
    [PROBLEM_GATEWAY_TIMEOUT] = {504, "gateway-timeout", "Gateway timeout"},
};

/* RFC 9110 reason phrases of the 4xx/5xx codes. */
static const struct problem_reason problem_reasons[] = {
    {400, "Bad Request"},
    {401, "Unauthorized"},
    {402, "Payment Required"},
    {403, "Forbidden"},
    {404, "Not Found"},
    {405, "Method Not Allowed"},
    {406, "Not Acceptable"},
    {408, "Request Timeout"},
    {409, "Conflict"},
    {410, "Gone"},
    {411, "Length Required"},
    {412, "Precondition Failed"},
    {413, "Content Too Large"},
    {414, "URI Too Long"},
    {415, "Unsupported Media Type"},
    {416, "Range Not Satisfiable"},
    {417, "Expectation Failed"},
    {421, "Misdirected Request"},
    {422, "Unprocessable Content"},
    {425, "Too Early"},
    {426, "Upgrade Required"},
    {428, "Precondition Required"},
    {429, "Too Many Requests"},
    {431, "Request Header Fields Too Large"},
    {500, "Internal Server Error"},
    {501, "Not Implemented"},
    {502, "Bad Gateway"},
    {503, "Service Unavailable"},
    {504, "Gateway Timeout"},
    {505, "HTTP Version Not Supported"},
};

static const char *const problem_core_names[] = {"type", "title", "status", "detail"};

static bool problem_slug_valid(const char *slug);
static bool problem_member_name_valid(const char *name);
static void problem_copy_ascii(char *out, size_t out_size, const char *text);

void problem_init(struct problem *p, int status, const char *slug, const char *title,
                  const char *detail_fmt, ...)
{
    va_list ap;
    va_start(ap, detail_fmt);
    problem_vinit(p, status, slug, title, detail_fmt, ap);
    va_end(ap);
}

void problem_vinit(struct problem *p, int status, const char *slug, const char *title,
                   const char *detail_fmt, va_list ap)
{
    ASSERT(p != NULL && detail_fmt != NULL);
    ASSERT(status >= 400 && status <= 599);
    p->status = status;
    p->extra = NULL;
    if (slug == NULL) {
        problem_copy_ascii(p->type, sizeof p->type, PROBLEM_TYPE_BLANK);
        problem_copy_ascii(p->title, sizeof p->title,
                           title != NULL ? title : problem_status_title(status));
    } else {
        ASSERT(problem_slug_valid(slug) && title != NULL);
        int n = snprintf(p->type, sizeof p->type, "%s%s", PROBLEM_TYPE_BASE, slug);
        ASSERT(n > 0 && (size_t)n < sizeof p->type);
        problem_copy_ascii(p->title, sizeof p->title, title);
    }
    char raw[PROBLEM_DETAIL_BYTES_MAX + 1];
    if (vsnprintf(raw, sizeof raw, detail_fmt, ap) < 0)
        raw[0] = '\0';
    problem_copy_ascii(p->detail, sizeof p->detail, raw);
}

void problem_init_kind(struct problem *p, enum problem_kind kind, const char *detail_fmt, ...)
{
    va_list ap;
    va_start(ap, detail_fmt);
    problem_vinit_kind(p, kind, detail_fmt, ap);
    va_end(ap);
}

void problem_vinit_kind(struct problem *p, enum problem_kind kind, const char *detail_fmt,
                        va_list ap)
{
    ASSERT((unsigned)kind < PROBLEM_KIND_COUNT);
    const struct problem_kind_entry *k = &problem_kinds[kind];
    problem_vinit(p, k->status, k->slug, k->title, detail_fmt, ap);
}

int problem_kind_status(enum problem_kind kind)
{
    ASSERT((unsigned)kind < PROBLEM_KIND_COUNT);
    return problem_kinds[kind].status;
}

const char *problem_status_title(int status)
{
    for (size_t i = 0; i < sizeof problem_reasons / sizeof problem_reasons[0]; i++) {
        if (problem_reasons[i].status == status)
            return problem_reasons[i].phrase;
    }
    return "Error";
}

enum problem_result problem_set_member(struct problem *p, const char *name, json_t *value,
                                       struct err *e)
{
    ASSERT(p != NULL && name != NULL);
    char quoted[PROBLEM_MEMBER_NAME_BYTES_MAX + 8];
    err_quote(quoted, sizeof quoted, name, strnlen(name, PROBLEM_MEMBER_NAME_BYTES_MAX + 1));
    enum problem_result rc = PROBLEM_OK;
    if (value == NULL) {
        rc = (enum problem_result)err_set(e, PROBLEM_ERR_NOMEM, "no value for member '%s'", quoted);
        goto out;
    }
    if (!problem_member_name_valid(name)) {
        rc = (enum problem_result)err_set(e, PROBLEM_ERR_BAD_NAME,
                                          "invalid problem member name '%s'", quoted);
        goto out;
    }
    if (p->extra == NULL && (p->extra = json_object()) == NULL) {
        rc = (enum problem_result)err_set(e, PROBLEM_ERR_NOMEM, "out of memory");
        goto out;
    }
    if (json_object_get(p->extra, name) == NULL &&
        json_object_size(p->extra) >= PROBLEM_MEMBERS_MAX) {
        rc = (enum problem_result)err_set(e, PROBLEM_ERR_TOO_MANY,
                                          "too many problem members adding '%s': max %d", name,
                                          PROBLEM_MEMBERS_MAX);
        goto out;
    }
    if (json_object_set(p->extra, name, value) != 0)
        rc = (enum problem_result)err_set(e, PROBLEM_ERR_NOMEM, "out of memory");
out:
    json_decref(value);
    return rc;
}

json_t *problem_to_json(const struct problem *p)
{
    ASSERT(p != NULL);
    json_t *o = json_pack("{s:s, s:s, s:i, s:s}", "type", p->type, "title", p->title, "status",
                          p->status, "detail", p->detail);
    if (o == NULL)
        return NULL;
    const char *key;
    json_t *value;
    json_object_foreach(p->extra, key, value)
    {
        if (json_object_set(o, key, value) != 0) {
            json_decref(o);
            return NULL;
        }
    }
    return o;
}

enum problem_result problem_dumps(char **body_out, size_t *body_len_out, const struct problem *p,
                                  struct err *e)
{
    ASSERT(body_out != NULL && body_len_out != NULL);
    *body_out = NULL;
    *body_len_out = 0;
    json_t *o = problem_to_json(p);
    if (o == NULL)
        return (enum problem_result)err_set(e, PROBLEM_ERR_NOMEM, "out of memory");
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (s == NULL)
        return (enum problem_result)err_set(e, PROBLEM_ERR_NOMEM, "out of memory");
    size_t len = strlen(s);
    if (len > PROBLEM_BODY_BYTES_MAX) {
        free(s);
        return (enum problem_result)err_set(e, PROBLEM_ERR_TOO_LARGE,
                                            "problem body of %zu bytes above the maximum %d", len,
                                            PROBLEM_BODY_BYTES_MAX);
    }
    *body_out = s;
    *body_len_out = len;
    return PROBLEM_OK;
}

void problem_release(struct problem *p)
{
    if (p == NULL)
        return;
    json_decref(p->extra);
    p->extra = NULL;
}

static bool problem_slug_valid(const char *slug)
{
    size_t n = strnlen(slug, PROBLEM_SLUG_BYTES_MAX + 1);
    return n > 0 && n <= PROBLEM_SLUG_BYTES_MAX &&
           strspn(slug, "abcdefghijklmnopqrstuvwxyz0123456789-") == n;
}

/* [A-Za-z][A-Za-z0-9_]* of at most PROBLEM_MEMBER_NAME_BYTES_MAX bytes, not a core member. */
static bool problem_member_name_valid(const char *name)
{
    static const char alpha[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    size_t n = strnlen(name, PROBLEM_MEMBER_NAME_BYTES_MAX + 1);
    if (n == 0 || n > PROBLEM_MEMBER_NAME_BYTES_MAX || strchr(alpha, name[0]) == NULL ||
        strspn(name + 1, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") !=
            n - 1)
        return false;
    for (size_t i = 0; i < sizeof problem_core_names / sizeof problem_core_names[0]; i++) {
        if (strcmp(name, problem_core_names[i]) == 0)
            return false;
    }
    return true;
}

/* Copies text, cut to out_size - 1 bytes, with every byte outside
 * printable ASCII (0x20..0x7e) replaced by '?'. */
static void problem_copy_ascii(char *out, size_t out_size, const char *text)
{
    ASSERT(out_size > 0);
    size_t n = strnlen(text, out_size - 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)text[i];
        out[i] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
    }
    out[n] = '\0';
}
