/*
 * problem.h - RFC 9457 problem details: the body of every HTTP error answer,
 * served as `application/problem+json`:
 *
 *   {"type":"https://rights.example/problems/body-too-large",
 *    "title":"Request body too large","status":413,
 *    "detail":"body above 1024 bytes", ...extension members}
 *
 * Type URIs: a problem with a slug has the type PROBLEM_TYPE_BASE + slug,
 * e.g. "https://rights.example/problems/not-found". rights.example is a
 * reserved name (RFC 2606) that never resolves: the URI identifies the kind
 * of problem, it is not a page to fetch. A slug is [a-z0-9-]{1,64}; once
 * published it never changes meaning, and clients may switch on it. A
 * problem without a slug has the type "about:blank" and then, as RFC 9457
 * asks, its title is the status's reason phrase (problem_status_title).
 *
 * The kinds every service shares (enum problem_kind) are in one table in
 * problem.c; a module with its own kinds passes its slug and title to
 * problem_init(). Extension members ("requirements" for a 402, "errors" for
 * a validation failure...) are added with problem_set_member().
 *
 * Ownership: `struct problem` is caller-allocated (usually on the stack).
 * It owns the JSON object of its extension members from the first
 * problem_set_member() until problem_release(); release is idempotent and
 * safe on a zeroed struct. Every function that takes a `json_t *value`
 * STEALS that reference, on success and on failure alike.
 *
 * Text: title and detail are ASCII. Any other byte (control bytes, non-ASCII,
 * DEL) is replaced by '?' when stored, so a body is always valid JSON.
 * Callers quote untrusted input into a detail with err_quote() first and
 * never put secrets (tokens, keys, signatures) into one: details go to
 * clients. Title and detail are cut at their maxima.
 *
 * Bugs, asserted: a status outside 400..599, a malformed slug, a NULL
 * title or detail format.
 */
#ifndef COMMON_PROBLEM_H
#define COMMON_PROBLEM_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "check.h"
#include "err.h"

#define PROBLEM_TYPE_BASE "https://rights.example/problems/"
#define PROBLEM_TYPE_BLANK "about:blank"
#define PROBLEM_CONTENT_TYPE "application/problem+json"
#define PROBLEM_SLUG_BYTES_MAX 64
#define PROBLEM_TYPE_BYTES_MAX (sizeof(PROBLEM_TYPE_BASE) - 1 + PROBLEM_SLUG_BYTES_MAX)
#define PROBLEM_TITLE_BYTES_MAX 128
#define PROBLEM_DETAIL_BYTES_MAX 512
#define PROBLEM_MEMBERS_MAX 16             /* extension members per problem */
#define PROBLEM_MEMBER_NAME_BYTES_MAX 64   /* [A-Za-z][A-Za-z0-9_]* */
#define PROBLEM_BODY_BYTES_MAX (64 * 1024) /* serialised, extension members included */

/* Stable result codes; numbers are never reused. */
enum problem_result {
    PROBLEM_OK = 0,
    PROBLEM_ERR_BAD_NAME = 1, /* member name malformed, too long, or a core member */
    PROBLEM_ERR_TOO_MANY = 2, /* more than PROBLEM_MEMBERS_MAX members */
    PROBLEM_ERR_NOMEM = 3,    /* allocation failed, or value is NULL (a failed json_*) */
    PROBLEM_ERR_TOO_LARGE = 4 /* serialised body above PROBLEM_BODY_BYTES_MAX */
};

/* The kinds shared by every service. Numbers are stable; slugs never change.
 *   kind                             status  slug
 *   PROBLEM_BAD_REQUEST              400     bad-request
 *   PROBLEM_BAD_PATH                 400     bad-path (bad escape, NUL, %2F, dot segment)
 *   PROBLEM_UNAUTHORIZED             401     unauthorized
 *   PROBLEM_PAYMENT_REQUIRED         402     payment-required
 *   PROBLEM_FORBIDDEN                403     forbidden
 *   PROBLEM_NOT_FOUND                404     not-found
 *   PROBLEM_METHOD_NOT_ALLOWED       405     method-not-allowed
 *   PROBLEM_CONFLICT                 409     conflict
 *   PROBLEM_BODY_TOO_LARGE           413     body-too-large
 *   PROBLEM_URI_TOO_LONG             414     uri-too-long
 *   PROBLEM_UNSUPPORTED_MEDIA_TYPE   415     unsupported-media-type
 *   PROBLEM_RANGE_NOT_SATISFIABLE    416     range-not-satisfiable
 *   PROBLEM_UNPROCESSABLE            422     unprocessable
 *   PROBLEM_TOO_MANY_REQUESTS        429     too-many-requests
 *   PROBLEM_INTERNAL                 500     internal
 *   PROBLEM_BAD_GATEWAY              502     bad-gateway (an upstream answered badly)
 *   PROBLEM_UNAVAILABLE              503     unavailable (retry later)
 *   PROBLEM_GATEWAY_TIMEOUT          504     gateway-timeout (an upstream timed out) */
enum problem_kind {
    PROBLEM_BAD_REQUEST = 0,
    PROBLEM_BAD_PATH = 1,
    PROBLEM_UNAUTHORIZED = 2,
    PROBLEM_PAYMENT_REQUIRED = 3,
    PROBLEM_FORBIDDEN = 4,
    PROBLEM_NOT_FOUND = 5,
    PROBLEM_METHOD_NOT_ALLOWED = 6,
    PROBLEM_CONFLICT = 7,
    PROBLEM_BODY_TOO_LARGE = 8,
    PROBLEM_URI_TOO_LONG = 9,
    PROBLEM_UNSUPPORTED_MEDIA_TYPE = 10,
    PROBLEM_RANGE_NOT_SATISFIABLE = 11,
    PROBLEM_UNPROCESSABLE = 12,
    PROBLEM_TOO_MANY_REQUESTS = 13,
    PROBLEM_INTERNAL = 14,
    PROBLEM_BAD_GATEWAY = 15,
    PROBLEM_UNAVAILABLE = 16,
    PROBLEM_GATEWAY_TIMEOUT = 17
};
#define PROBLEM_KIND_COUNT 18

struct problem {
    int status;                                /* 400..599 */
    char type[PROBLEM_TYPE_BYTES_MAX + 1];     /* URI, or "about:blank" */
    char title[PROBLEM_TITLE_BYTES_MAX + 1];   /* ASCII */
    char detail[PROBLEM_DETAIL_BYTES_MAX + 1]; /* ASCII */
    json_t *extra; /* owned object of extension members; NULL until the first one */
};

/* Fills *p (any previous content is overwritten, not released). slug NULL
 * means "about:blank", and then title NULL means the reason phrase of
 * `status`; with a slug the title is required. detail_fmt is printf-style
 * and required. */
void problem_init(struct problem *p, int status, const char *slug, const char *title,
                  const char *detail_fmt, ...) __attribute__((format(printf, 5, 6)));

/* problem_init with a va_list. */
void problem_vinit(struct problem *p, int status, const char *slug, const char *title,
                   const char *detail_fmt, va_list ap) __attribute__((format(printf, 5, 0)));

/* problem_init for one of the shared kinds (status, slug and title from the
 * table above). */
void problem_init_kind(struct problem *p, enum problem_kind kind, const char *detail_fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* problem_init_kind with a va_list. */
void problem_vinit_kind(struct problem *p, enum problem_kind kind, const char *detail_fmt,
                        va_list ap) __attribute__((format(printf, 3, 0)));

/* The status of a shared kind. */
int problem_kind_status(enum problem_kind kind);

/* The reason phrase of `status` ("Not Found"), or "Error" for a status
 * without one in the table. Never NULL. */
const char *problem_status_title(int status);

/* Adds (or replaces) the extension member `name` with `value` (STOLEN).
 * Names are [A-Za-z][A-Za-z0-9_]{0,63} and not one of type, title, status,
 * detail. Returns PROBLEM_OK, PROBLEM_ERR_BAD_NAME, PROBLEM_ERR_TOO_MANY or
 * PROBLEM_ERR_NOMEM (also when value is NULL, so a failed json_pack() in the
 * argument is reported, not ignored). On failure the problem is unchanged. */
WUR enum problem_result problem_set_member(struct problem *p, const char *name, json_t *value,
                                           struct err *e);

/* A new object {type, title, status, detail, members...} in that order
 * (caller json_decref()s), or NULL when out of memory. */
json_t *problem_to_json(const struct problem *p);

/* The compact serialisation of problem_to_json() in *body_out, a
 * NUL-terminated string allocated with malloc (the caller free()s it; the
 * HTTP layer hands it to libmicrohttpd, which does), its length without the
 * NUL in *body_len_out. Returns PROBLEM_OK, PROBLEM_ERR_NOMEM or
 * PROBLEM_ERR_TOO_LARGE (extension members too big; nothing allocated). */
WUR enum problem_result problem_dumps(char **body_out, size_t *body_len_out,
                                      const struct problem *p, struct err *e);

/* Drops the extension members; idempotent. */
void problem_release(struct problem *p);

#endif
