/* check.c - see check.h. */
#include "check.h"

#include <stdio.h>
#include <stdlib.h>

_Noreturn void check_fail(const char *file, int line, const char *expr)
{
    fprintf(stderr, "level=fatal msg=\"assertion failed\" file=%s line=%d expr=\"%s\"\n", file,
            line, expr);
    fflush(stderr);
    abort();
}
