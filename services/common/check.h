/*
 * check.h - ASSERT(): invariant checks that stay on in release builds.
 *
 * ASSERT is for bugs (broken invariants such as "debits equal credits"),
 * never for validating input: input errors are returned as result codes.
 * On failure it writes a logfmt line with file and line to stderr and aborts.
 */
#ifndef COMMON_CHECK_H
#define COMMON_CHECK_H

_Noreturn void check_fail(const char *file, int line, const char *expr);

#define ASSERT(cond)                                                                               \
    do {                                                                                           \
        if (!(cond))                                                                               \
            check_fail(__FILE__, __LINE__, #cond);                                                 \
    } while (0)

#define WUR __attribute__((warn_unused_result))

/* MACRO_TEXT(NAME): the expansion of a numeric macro as a string literal,
 * e.g. a default value kept once as a number and also needed as text. */
#define MACRO_TEXT_(x) #x
#define MACRO_TEXT(x) MACRO_TEXT_(x)

#endif
