/*
 * err.h - caller-owned error reports shared by every module of libcommon.
 *
 * Ownership: a `struct err` is always allocated by the caller (usually on the
 * stack) and filled by the callee on failure. Callers may pass NULL when they
 * only need the result code. Each module defines its own result enum whose
 * numbers are stable and never reused; `code` holds that enum's value.
 *
 * Messages are lowercase, say what failed first and quote the subject:
 *   "invalid hex digit 'g' at offset 3"
 */
#ifndef COMMON_ERR_H
#define COMMON_ERR_H

#include <stddef.h>

#define ERR_MSG_MAX 200

struct err {
    int code;
    char msg[ERR_MSG_MAX];
};

/* Fill `e` (if non-NULL) with `code` and a printf-style message, truncating
 * safely. Returns `code` so callers can write `return err_set(e, X, "...")`. */
int err_set(struct err *e, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Copies untrusted text[0..text_len) into out[0..out_size) as a printable
 * string for an error message: quotes, backslashes and non-ASCII/control
 * bytes become \xNN, and text that does not fit ends in "...". out_size must
 * be at least 8. Always NUL-terminates. */
void err_quote(char *out, size_t out_size, const char *text, size_t text_len);

/* Reset `e` to code 0 and an empty message. NULL is allowed. */
void err_clear(struct err *e);

#endif
